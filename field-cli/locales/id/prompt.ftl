# `sigap register` yang menanyakan isian satu per satu di terminal.

prompt-required = wajib diisi
prompt-nik = NIK (16 digit)
prompt-already-here = NIK { $nik } sudah terdaftar di perangkat ini: { $name } ({ $state })
prompt-edit-instead = Ubah pendaftaran itu saja?
prompt-may-register-again = NIK { $nik } { $known }; boleh didaftarkan lagi
prompt-known = NIK { $nik } { $known }
prompt-register-anyway = Tetap daftarkan? (server menggabungkan keduanya menjadi satu orang)
prompt-name = Nama lengkap (sesuai KTP)
prompt-nik-encodes = NIK menyebut { $nik_birth_date }; periksa tanggalnya atau NIK-nya
prompt-birth-date = Tanggal lahir (YYYY-MM-DD)
prompt-sex = Jenis kelamin
prompt-kelurahan = Kelurahan (nama atau kode, mis. pajang atau 33.72.01.1001)
prompt-kelurahan-chosen = kelurahan { $label }
prompt-kelurahan-unknown = peringatan: { $code } tidak ada dalam tabel wilayah
prompt-kelurahan-matches = { $count } kelurahan cocok dengan "{ $text }":
prompt-pick = Nomor (1-{ $count }) atau kode
prompt-pick-number = ketik nomor dari 1 sampai { $count }, atau kodenya
prompt-category = Kategori
prompt-occupation = Pekerjaan (mis. pedagang, buruh, ojek)
prompt-employer-required = Pemberi kerja (wajib untuk pu)
prompt-employer-optional = Pemberi kerja (boleh kosong, Enter untuk lewati)
prompt-phone-optional = Telepon (boleh kosong, Enter untuk lewati)
prompt-programs = Program (yang boleh: { $allowed })
prompt-program-not-allowed = { $program } tidak boleh untuk kategori { $category }
prompt-edit-name = Nama lengkap
prompt-edit-occupation = Pekerjaan
prompt-edit-employer = Pemberi kerja
prompt-edit-phone = Telepon
prompt-edit-programs = Program
prompt-nothing-changed = tidak ada yang berubah untuk { $nik }

category-pu = penerima upah (PU)
category-bpu = bukan penerima upah / pekerja informal (BPU)
category-jakon = pekerja jasa konstruksi (Jakon)
category-pmi = pekerja migran Indonesia (PMI)

prompt-yes-no = [y/n] (y = ya, n = tidak)
prompt-yes-no-default-yes = [Y/n] (y = ya, n = tidak)
prompt-yes-no-default-no = [y/N] (y = ya, n = tidak)
prompt-yes = ya
prompt-no = tidak
