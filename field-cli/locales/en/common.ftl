# Words several commands show.

state-pending = pending
state-rejected = rejected
state-synced = synced
date-unknown = an unknown date
never = never
none = (none)
replica-unknown-kelurahan = unknown kelurahan
replica-another-agent = another agent
replica-no-reason = no reason given
replica-participant = is already a participant (membership roll), { $who }
replica-voided = was registered by { $by } on { $registered }, then voided on { $voided } ({ $reason })
replica-covered = is already covered: registered by { $by } on { $registered } ({ $who })
list-and = { " and " }
init-reader-token = { $role } token "{ $name }": no device enrolment; use sigap report, sigap conflicts and sigap resolve
backup-exists = { $file } already exists; choose a new name (a backup never overwrites)
backup-no-salt = cannot write the key settings { $file } ({ $detail }); no backup was kept
backup-written = backup written: { $file } and { $salt } ({ $records } records, { $changes } changes), encrypted with this database's passphrase; keep both files together
doctor-db-ok = database: intact
doctor-db-bad = database: damaged ({ $detail }); copy it aside with `sigap backup FILE` and ask the office
doctor-changes-ok = changes: { $pending } waiting to be sent, none refused
doctor-changes-rejected = changes: { $rejected } refused by the server to correct (see `sigap status`), { $pending } waiting to be sent
doctor-replica-ok = people known from the server: pulled { $days } day(s) ago
doctor-replica-stale = people known from the server: pulled { $days } day(s) ago; run `sigap sync` before going out, or lookups miss recent registrations
doctor-replica-never = people known from the server: never pulled; run `sigap sync` before going out
doctor-no-server = server: not set; run `sigap init --server URL`
doctor-tls-ok = connection to { $server }: encrypted (or this laptop itself)
doctor-tls-plain = connection to { $server }: plain http, the token and personal data cross the network unencrypted; use its https:// address
doctor-server-ok = server { $server }: answers
doctor-server-unreachable = server { $server }: not reachable now ({ $detail }); your work is safe on this laptop
doctor-clock-ok = clock: agrees with the server's
doctor-clock-off = clock: this laptop's clock is { $differs } the server's; fix the date, time and time zone
doctor-verdict-ok = verdict: ready
doctor-verdict-bad = verdict: something needs attention (✗ above)

# The database key: unlock, lock, passphrase, encryption.

unlock-done = unlocked for { $duration }: commands will not ask for the passphrase until then, or until `sigap lock`
lock-done = locked: the next command asks for the passphrase
lock-was-not-unlocked = locked (it was not unlocked)
passphrase-no-settings = the key settings beside the database are missing
passphrase-choose-new = choose the new passphrase
passphrase-changed = passphrase changed: use the new one from now on
unlock-no-keyring = no OS keyring to keep the key in ({ $detail }); every command asks for the passphrase (or set { $env })
unlock-not-read-back = the key kept cannot be read back
passphrase-no-one-to-ask = { $what }: set { $env }, run on a terminal, or `sigap unlock` first
passphrase-unreadable = could not read the passphrase: { $detail }
passphrase-db-locked = the database { $db } is locked (terkunci)
passphrase-prompt = Passphrase
passphrase-new-no-terminal = { $why }: set { $env }, or run on a terminal to choose one
passphrase-new-ask = { $why } (at least { $min } characters).
passphrase-new-prompt = New passphrase
passphrase-again-prompt = Again
passphrase-differ = the two passphrases differ; nothing was changed
passphrase-too-short = the passphrase is too short: use at least { $min } characters
passphrase-settings-missing = { $file } is missing: the database { $db } cannot be opened without it; restore both from the same backup
unlock-for-not-duration = { $text } is not a duration; write it like 8h, 30m or 2d
unlock-for-unit = { $text }: the unit must be m, h or d, e.g. 8h
unlock-for-range = { $text } must be between 1m and 7d, e.g. 8h
kdf-cannot-read = cannot read { $file }: { $detail }
kdf-damaged = { $file } is damaged ({ $detail }); without it the database cannot be opened: restore it from the backup the database came from
kdf-cannot-write = cannot write { $file }: { $detail }
kdf-settings-damaged = the key settings of the database are damaged: { $detail }
kdf-unknown = unknown key derivation { $kdf }
db-cannot-read = cannot read the database { $db }: { $detail }
db-wrong-passphrase = wrong passphrase (passphrase salah) for the database { $db }; nothing was changed
db-cannot-encrypt = cannot encrypt the database { $db }: { $what }: { $detail }
db-in-use-maybe = in use by another sigap process? try again
db-in-use-other = another sigap process has it open; try again when it has ended
db-cannot-backup = cannot write the backup { $file }: { $what }: { $detail }
db-in-use = another sigap process has the database open; try again when it has ended

# Supervisors: report, conflicts, resolve.

report-bad-area = --area { $text }: { $detail }; give a code such as 33.72.01
report-bad-year = --year { $year } is not valid; give a year like 2025
report-written = written: { $file }
report-token-every-area = token { $name } covers every area: give one with --area, e.g. --area 33.72
report-coverage-unreadable = the coverage answer could not be read: { $detail }
report-title-area = Coverage by area
report-title-category = Coverage by category
report-title-day = Coverage per day
report-title-week = Coverage per week
report-title-agents = Agents
report-col-code = Code
report-col-name = Name
report-col-covered = Covered
report-col-working-population = Working population
report-col-coverage = Coverage
report-col-target = Target
report-col-gap = Gap (points)
report-col-still-needed = Still needed
report-col-category = Category
report-col-share = Share of covered
report-col-date = Date
report-col-week = Week
report-col-registrations = Registrations
report-col-agent = Agent
report-col-edits = Edits
report-col-voids = Voids
report-col-merged = Merged
report-col-rejections = Rejections
report-col-rt-visits = RT visits
report-col-last-sync = Last sync
report-col-pending = Pending
report-total = Total
sheet-cannot-write = cannot write { $file }: { $detail }; check the folder exists and is writable
conflicts-none = no { $status } conflicts
conflicts-count = { $count } conflict(s); resolve one with: sigap resolve ID --keep FIELD=VALUE [--note TEXT]
resolve-no-keep = say which values to keep, e.g. --keep name="Budi Santoso" --keep birth_date=1985-03-12
resolve-keep-form = --keep { $keep } must be FIELD=VALUE, e.g. --keep name="Budi Santoso"
resolve-keep-field = --keep { $field }: a conflict is about identity; keep one of { $fields }
resolve-done = conflict { $id } resolved by { $by }: { $values }

# Setting up the database; the kind of token.

setup-no-database = no database at { $db }: this device is not set up yet: run `sigap init --server URL --device-name NAME` first
setup-choose-passphrase = choose a passphrase for the new database (it encrypts everything on this device)
setup-cannot-create-folder = cannot open the database { $db }: cannot create folder { $folder }: { $detail }
setup-not-encrypted = the database { $db } is not encrypted yet: choose its passphrase
setup-encrypted-now = the database { $db } is encrypted now: keep the passphrase, nothing can be read without it
setup-not-set-up-supervisor = this device is not set up: run `sigap init --server URL --device-name NAME --token TOKEN` with your supervisor token
setup-reader-token = this device is set up with a { $role } token: a { $role } reads reports (sigap report, sigap conflicts, sigap resolve) and does not register or sync; to register, run `sigap init --token TOKEN` with an agent's token
visits-none-answered = the server answered none of the { $count } visit(s) sent; they stay on this device, try `sigap sync` later
progress-importing = importing
progress-importing-rows = importing: { $count } row(s)
progress-exporting = exporting
