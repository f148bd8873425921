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
