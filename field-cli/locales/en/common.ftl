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
