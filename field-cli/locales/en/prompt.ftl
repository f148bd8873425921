# `sigap register` asking field by field on a terminal.

prompt-required = required
prompt-nik = NIK (16 digits)
prompt-already-here = NIK { $nik } is already registered on this device: { $name } ({ $state })
prompt-edit-instead = Edit that registration instead?
prompt-may-register-again = NIK { $nik } { $known }; it may be registered again
prompt-known = NIK { $nik } { $known }
prompt-register-anyway = Register anyway? (the server merges both into one person)
prompt-name = Full name (as on the KTP)
prompt-nik-encodes = the NIK encodes { $nik_birth_date }; check the date or the NIK
prompt-birth-date = Birth date (YYYY-MM-DD)
prompt-sex = Sex
prompt-kelurahan = Kelurahan (name or code, e.g. pajang or 33.72.01.1001)
prompt-kelurahan-chosen = kelurahan { $label }
prompt-kelurahan-unknown = warning: { $code } is not in the area table
prompt-kelurahan-matches = { $count } kelurahan match "{ $text }":
prompt-pick = Number (1-{ $count }) or code
prompt-pick-number = type a number from 1 to { $count }, or a code
prompt-category = Category
prompt-occupation = Occupation (e.g. pedagang, buruh, ojek)
prompt-employer-required = Employer (required for pu)
prompt-employer-optional = Employer (optional, Enter to skip)
prompt-phone-optional = Phone (optional, Enter to skip)
prompt-programs = Programmes ({ $allowed } allowed)
prompt-program-not-allowed = { $program } is not allowed for category { $category }
prompt-edit-name = Full name
prompt-edit-occupation = Occupation
prompt-edit-employer = Employer
prompt-edit-phone = Phone
prompt-edit-programs = Programmes
prompt-nothing-changed = nothing changed for { $nik }

category-pu = wage earner (Penerima Upah)
category-bpu = non-wage / informal worker (Bukan Penerima Upah)
category-jakon = construction worker (Jasa Konstruksi)
category-pmi = migrant worker (Pekerja Migran Indonesia)

prompt-yes-no = [y/n]
prompt-yes-no-default-yes = [Y/n]
prompt-yes-no-default-no = [y/N]
prompt-yes = yes
prompt-no = no
