# `sigap register`, `sigap edit`, `sigap void`.

register-cancelled = cancelled: nothing was saved
register-missing = missing { $flags }: give them as flags (see `sigap register --help`), or run on a terminal to be asked
register-saved = saved: { $nik } { $name }, { $area }, { $category }; waiting for `sigap sync`
register-already-here = NIK { $nik } is already registered on this device; use `sigap edit { $nik } --FIELD VALUE` to change it (see `sigap show { $nik }`)
register-already-here-named = NIK { $nik } is already registered on this device ({ $name }, { $state }); use `sigap edit { $nik } --FIELD VALUE` to change it
register-again = NIK { $nik } { $known }; registered again here
register-known-elsewhere = NIK { $nik } { $known }; nothing saved. Give --force to register anyway (the server merges both into one person)

edit-nothing = nothing to change: give at least one field, e.g. --occupation pedagang (see `sigap edit --help`)
edit-not-here-known = NIK { $nik } was not registered on this device (it { $known }); only registrations made here can be changed here
edit-not-here = NIK { $nik } is not registered on this device; register it with `sigap register --nik { $nik } …`
edit-record-lacks = the record of { $nik } lacks { $missing }
edit-saved = saved: { $nik } { $name } (change { $seq }); waiting for `sigap sync`
edit-voided = voided: { $nik } { $name } (change { $seq }); waiting for `sigap sync`
edit-corrects = corrects { $count } rejected change(s): the whole registration will be sent again
void-no-reason = --reason must say why the registration is cancelled
void-already = NIK { $nik } is already void
