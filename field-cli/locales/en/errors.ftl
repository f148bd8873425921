# Errors and their prefixes, whatever the command.

error-line = error: { $message }
error-cause = caused by: { $message }
warning-line = warning: { $message }
note-line = note: { $message }
lang-unknown = language "{ $value }" (from { $source }) is not available: use id (Bahasa Indonesia) or en (English)
error-local-database = local database: { $detail }
error-unreadable-data = local database holds unreadable data: { $detail }
error-not-saved = { $what } was not saved:
what-registration = the registration
what-change = the change
docs-cannot-write-completions = could not write the completion script to standard output
docs-cannot-render-man = could not render the man page
docs-cannot-write-man = could not write the man page to standard output
docs-man-notes = NOTES
docs-man-commands = COMMANDS

store-no-data-folder = cannot find a data folder for the database (no home directory); give --db PATH
store-in-use = the database is in use by another sigap process
store-cannot-open = cannot open the database { $path }: { $what }: { $detail }
store-cannot-create-folder = cannot create folder { $folder }
store-held = another sigap command has held it for { $seconds } s
store-try-again = try again when it has ended
store-not-a-database = not writable or not a database
store-not-set-up = this device is not set up yet: run `sigap init --server URL --device-name NAME` first
docs-man-name = NAME
docs-man-synopsis = SYNOPSIS
docs-man-description = DESCRIPTION
docs-man-options = OPTIONS
docs-man-version = VERSION
store-broken-references = table { $table } has references to rows that do not exist
store-cannot-sync-folder = cannot sync its folder
damaged-kind = stored change kind "{ $kind }" is damaged
damaged-change = change { $seq } in the outbox has a damaged { $what }
damaged-nik = stored NIK "{ $nik }" is damaged: { $detail }
damaged-record = the stored record of NIK { $nik } is damaged ({ $what }); its changes are kept and `sigap sync` still sends them, so nothing is lost: ask your supervisor for the server's copy of this person
damaged-stamps = stored timestamps are damaged: { $detail }
damaged-nik-stamps = stored timestamps of NIK { $nik } are damaged: { $detail }
damaged-replica = the replica's { $what } is damaged; `sigap sync --full` pulls it again
damaged-device-id = stored device id "{ $id }" is damaged: { $detail }

# The command line's own errors.
usage-unknown-argument = unknown option { $arg }
usage-unknown-command = unknown command "{ $command }"
usage-value-required = { $arg } needs a value
usage-invalid-value = "{ $value }" is not a valid value for { $arg }; use one of: { $valid }
usage-value-validation = "{ $value }" is not a valid value for { $arg }: { $detail }
usage-missing-argument = missing: { $arg }
usage-conflict = { $arg } cannot be used with { $other }
usage-missing-command = give a command
usage-suggest = { "; " }did you mean { $suggestion }?
usage-see-help = see `sigap --help`, or `sigap COMMAND --help`

# Steps of opening, encrypting or backing up the database, named in
# "cannot open the database …: { $what }: …".
step-create = create
step-open = open
step-key = key
step-settings = settings
step-journal-mode = journal mode
step-wal-refused = WAL refused ({ $mode })
step-schema = schema
step-read = read
step-attach = attach
step-copy = copy
step-detach = detach
step-sync = sync
step-rename = rename
step-sync-folder = sync folder

# Parts of a stored row that may be damaged (damaged-change, damaged-record,
# damaged-replica, damaged-visit).
part-id = id
part-timestamp = timestamp
part-kind = kind
part-sequence = sequence
part-fields = fields
part-no-fields = no fields
part-bad-timestamp = a bad timestamp
part-no-timestamps = no timestamps
part-category = category
part-status = status
part-date = date
damaged-visit = visit { $row } in the local database has an unreadable { $what }
damaged-replica-key = the stored replica key is damaged; `sigap sync --full` fetches it again
