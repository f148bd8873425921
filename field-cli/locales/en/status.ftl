# `sigap status`, `sigap list`, `sigap show`, `sigap lookup`, `sigap visit`, `sigap progress`.

status-device = device: { $name } ({ $id })
status-server = server: { $server }
status-no-token = token: not set (run `sigap init --token TOKEN`)
status-no-device = device: not set up (run `sigap init --server URL --device-name NAME`)
status-database = database: { $path }
status-records = records: { $count }
status-pending = pending changes: { $count }
status-acked = sent and accepted: { $count }
status-last-sync = last successful sync: { $at }
status-replica = people known from the server: { $count }
status-rejected = rejected changes to correct: { $count }
status-rejected-fix = fix each with `sigap edit NIK --FIELD VALUE` (or `sigap void NIK --reason …`); the next `sigap sync` sends it again
status-not-taken = not taken by the server, kept here to send again: { $count }
status-waiting = waiting for earlier changes: { $count } (sent again by `sigap sync`)
status-clock = at the last sync ({ $at }) this laptop's clock was { $differs } the server's: fix the laptop's clock (date, time and time zone)

list-none = no registrations match
list-count = { $count } registration(s)

show-not-here-known = NIK { $nik } is not registered on this device; it { $known }
show-not-here = NIK { $nik } is not registered on this device
show-changed-by = { " " }(changed by { $by })
show-latest-change = { " " }(the person's latest change: { $by })
show-held-differently = held differently on the server
show-held-differently-as = held differently on the server: { $values }
show-server-keeps = the server keeps what others wrote later for these fields; ask your supervisor if this record is wrong
show-erased = personal data erased on the server on { $date } (a personal data request): name, phone, occupation, employer and void reason were overwritten on this laptop too; changes not yet sent are kept

change-rejected = rejected: { $reason } ({ $code })
change-corrected-by = { $state }; corrected by #{ $seq }
change-sent = sent: { $outcome }
change-not-taken = not taken: { $reason } ({ $code }); sent again by `sigap sync`
change-waiting = pending: waits for earlier changes
outcome-applied = applied
outcome-merged = merged
outcome-duplicate = duplicate
outcome-superseded = superseded
kind-register = register
kind-edit = edit
kind-void = void
status-registered = registered
status-void = void

lookup-here = NIK { $nik } is registered on this device: { $name } ({ $state })
lookup-known = NIK { $nik } { $known }
lookup-unknown = unknown: NIK { $nik } is not registered on this device nor in the last synced data (synced { $synced })

visit-households-zero = --households must be at least 1
visit-saved = saved: visit of { $area }, { $households } households; this RT so far: { $visits } visit(s), { $total } households, { $registered } registered
progress-none = no visits or registrations yet

col-nik = NIK
col-name = Name
col-kelurahan = Kelurahan
col-rw = RW
col-rt = RT
col-category = Category
col-status = Status
col-sync = Sync
col-field = Field
col-value = Value
col-birth-date = Birth date
col-sex = Sex
col-address = Address
col-occupation = Occupation
col-employer = Employer
col-phone = Phone
col-programs = Programmes
col-registered-at = Registered
col-last-change = Last change
col-kind = Kind
col-when = When
col-fields = Fields
col-state = State
col-visits = Visits
col-households = Households
col-registered = Registered
col-last-visit = Last visit
col-id = ID
col-existing = Existing
col-incoming = Incoming
