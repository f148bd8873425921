# Validation findings, one per stable code: issue-<code>. The values come
# from the finding (dates already written in this language).

issue-missing_name = name is required
issue-invalid_name = { $reason ->
    [too_long] name is longer than 100 characters
   *[characters] name "{ $name }" contains digits or control characters
}
issue-birth_date_mismatch = birth date { $birth_date } does not match the NIK, which encodes { $nik_birth_date }; check both
issue-sex_mismatch = sex { $sex } does not match the NIK, which encodes { $nik_sex } (women have 40 added to the birth day)
issue-birth_date_in_future = birth date { $birth_date } is in the future
issue-too_young = born { $birth_date } is { $age } years old on { $on_date }; participants must be { $min_age } or older
issue-invalid_phone = phone "{ $phone }" is not a valid number; write it like 081234567890 or +6281234567890
issue-too_long = { $field } is { $length } characters long; shorten it to at most { $max }
issue-invalid_kelurahan = { $code } is a { $level } code; give a kelurahan code like 33.72.01.1001
issue-invalid_rw_rt = { $field } "{ $value }" is not valid: must be a whole number from 1 to 999
issue-nik_other_kecamatan = the NIK was issued in kecamatan { $issued_in } but the address is in { $address }; kept (people move)
issue-unknown_kelurahan = kelurahan { $kelurahan } is not in the area table
issue-missing_occupation = occupation is required (e.g. pedagang, buruh, ojek)
issue-missing_employer = employer is required for category pu (wage earner); give --employer, or use bpu for informal workers
issue-missing_program = category { $category } requires { $required }; add { $missing }
issue-program_not_allowed = category { $category } may hold only { $allowed }; remove { $refused }
issue-missing_void_reason = a void needs a reason
issue-incomplete_registration = only part of a registration has arrived (missing: { $missing }); the registering agent must sync, or register the person in full

# What the agent typed that does not parse.
issue-invalid_nik_length = NIK must be 16 digits, got { $digits } digits (NIK "{ $nik }")
issue-invalid_nik_digits = NIK may contain only digits (spaces, dots and dashes are ignored); found "{ $found }" (NIK "{ $nik }")
issue-invalid_nik_province = province code { $code } is not a province (must be 11 to 99) (NIK "{ $nik }")
issue-invalid_nik_regency = regency/city code { $code } is not allowed (00) (NIK "{ $nik }")
issue-invalid_nik_district = district (kecamatan) code { $code } is not allowed (00) (NIK "{ $nik }")
issue-invalid_nik_birth_date = birth date { $digits } is not a date (DDMMYY, with 40 added to the day for women) (NIK "{ $nik }")
issue-invalid_nik_serial = serial { $code } is not allowed (must be 0001 or higher) (NIK "{ $nik }")
issue-invalid_area_code = area code "{ $value }" is not valid; expected e.g. 33.72 (kota), 33.72.01 (kecamatan), 33.72.01.1001 (kelurahan), 33.72.01.1001/3 (RW) or 33.72.01.1001/3/5 (RT)
issue-not_kelurahan_code = { $value } is not a kelurahan code (expected four parts, like 33.72.01.1001)
issue-ambiguous_kelurahan = kelurahan "{ $text }" matches { $count } places: { $candidates }; type more of the name or give the code
issue-unknown_place = no kelurahan of Kota Surakarta is called "{ $text }": check the spelling, type part of the name (e.g. "paja" for Pajang, "kp baru" for Kampungbaru) or give the code from the kelurahan office (e.g. 33.72.01.1001)
issue-empty_kelurahan = kelurahan is empty: type its name (e.g. pajang) or its code (e.g. 33.72.01.1001)
issue-invalid_choice = { $what } "{ $value }" is not valid; use one of: { $allowed }
issue-invalid_birth_date = birth date "{ $text }" is not a date; write it as YYYY-MM-DD (1985-03-12) or DD-MM-YYYY (12-03-1985)
issue-required = { $field } is required

# The server's refusals, by code (reject-<code>). In English the server's
# own reason is shown; these stand in when it sent none.
reject-clock_ahead = the change is stamped too far ahead of the server's clock: set the laptop's date and time correctly, then run `sigap sync` again; the change is kept and stamped again
reject-invalid_timestamp = the change's clock stamp is beyond what the server can store; the laptop's clock or database is damaged: contact support
reject-device_mismatch = the change is stamped by another device; a device may only stamp its own changes
reject-area_not_assigned = the person's kelurahan is not in your areas; ask an admin to assign it, or a supervisor to move the person
reject-incomplete_registration = a registration must carry every required field; send the full registration
reject-seq_conflict = the server holds another change under this change's number; run `sigap sync --verify` and show the result to your supervisor
reject-id_reused = the server holds this change's id for another change; the next `sigap sync` sends it under a new id
reject-missing_name = name is required
reject-invalid_name = the name is too long or contains digits
reject-birth_date_mismatch = the birth date does not match the NIK
reject-sex_mismatch = the sex does not match the NIK
reject-birth_date_in_future = the birth date is in the future
reject-too_young = the person is younger than participants may be
reject-invalid_phone = the phone number is not valid
reject-too_long = a text is longer than its field allows; shorten it
reject-invalid_kelurahan = the kelurahan code is not valid
reject-invalid_rw_rt = RW or RT is not valid: must be 1 to 999
reject-missing_occupation = occupation is required
reject-missing_employer = employer is required for category pu
reject-missing_program = the category requires programmes the change lacks
reject-program_not_allowed = the change holds programmes its category does not allow
reject-missing_void_reason = a void needs a reason
