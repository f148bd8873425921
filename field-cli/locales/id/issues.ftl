# Temuan validasi, satu per kode tetap: issue-<kode>. Nilainya dari temuan
# itu (tanggal sudah ditulis dalam bahasa ini).

issue-missing_name = nama wajib diisi
issue-invalid_name = { $reason ->
    [too_long] nama lebih dari 100 karakter
   *[characters] nama "{ $name }" berisi angka atau karakter kendali
}
issue-birth_date_mismatch = tanggal lahir { $birth_date } tidak cocok dengan NIK, yang menyebut { $nik_birth_date }; periksa keduanya
issue-sex_mismatch = jenis kelamin { $sex } tidak cocok dengan NIK, yang menyebut { $nik_sex } (pada perempuan tanggal lahir ditambah 40)
issue-birth_date_in_future = tanggal lahir { $birth_date } ada di masa depan
issue-too_young = lahir { $birth_date } berarti berumur { $age } tahun pada { $on_date }; peserta harus berumur { $min_age } tahun atau lebih
issue-invalid_phone = nomor telepon "{ $phone }" tidak sah; tulis seperti 081234567890 atau +6281234567890
issue-too_long = { $field } panjangnya { $length } karakter; persingkat menjadi paling banyak { $max }
issue-invalid_kelurahan = { $code } adalah kode { $level }; berikan kode kelurahan seperti 33.72.01.1001
issue-invalid_rw_rt = { $field } "{ $value }" tidak sah: harus bilangan bulat 1 sampai 999
issue-nik_other_kecamatan = NIK diterbitkan di kecamatan { $issued_in } tetapi alamatnya di { $address }; tetap disimpan (orang bisa pindah)
issue-unknown_kelurahan = kelurahan { $kelurahan } tidak ada dalam tabel wilayah
issue-missing_occupation = pekerjaan wajib diisi (mis. pedagang, buruh, ojek)
issue-missing_employer = pemberi kerja wajib untuk kategori pu (penerima upah); berikan --employer, atau pakai bpu untuk pekerja informal
issue-missing_program = kategori { $category } mewajibkan { $required }; tambahkan { $missing }
issue-program_not_allowed = kategori { $category } hanya boleh memuat { $allowed }; hapus { $refused }
issue-missing_void_reason = pembatalan harus disertai alasan
issue-incomplete_registration = baru sebagian pendaftaran yang tiba (kurang: { $missing }); agen yang mendaftarkan harus sinkronisasi, atau daftarkan orang ini selengkapnya

# Isian agen yang tidak dapat dibaca.
issue-invalid_nik_length = NIK harus 16 digit, ini { $digits } digit (NIK "{ $nik }")
issue-invalid_nik_digits = NIK hanya boleh berisi angka (spasi, titik, dan tanda hubung diabaikan); ada "{ $found }" (NIK "{ $nik }")
issue-invalid_nik_province = kode provinsi { $code } bukan provinsi (harus 11 sampai 99) (NIK "{ $nik }")
issue-invalid_nik_regency = kode kabupaten/kota { $code } tidak boleh (00) (NIK "{ $nik }")
issue-invalid_nik_district = kode kecamatan { $code } tidak boleh (00) (NIK "{ $nik }")
issue-invalid_nik_birth_date = tanggal lahir { $digits } bukan tanggal (DDMMYY, pada perempuan tanggal ditambah 40) (NIK "{ $nik }")
issue-invalid_nik_serial = nomor urut { $code } tidak boleh (harus 0001 atau lebih) (NIK "{ $nik }")
issue-invalid_area_code = kode wilayah "{ $value }" tidak sah; contohnya 33.72 (kota), 33.72.01 (kecamatan), 33.72.01.1001 (kelurahan), 33.72.01.1001/3 (RW) atau 33.72.01.1001/3/5 (RT)
issue-not_kelurahan_code = { $value } bukan kode kelurahan (harus empat bagian, seperti 33.72.01.1001)
issue-ambiguous_kelurahan = kelurahan "{ $text }" cocok dengan { $count } tempat: { $candidates }; ketik lebih banyak dari namanya atau berikan kodenya
issue-unknown_place = tidak ada kelurahan di Kota Surakarta bernama "{ $text }": periksa ejaannya, ketik sebagian nama (mis. "paja" untuk Pajang, "kp baru" untuk Kampungbaru) atau berikan kode dari kantor kelurahan (mis. 33.72.01.1001)
issue-empty_kelurahan = kelurahan kosong: ketik namanya (mis. pajang) atau kodenya (mis. 33.72.01.1001)
issue-invalid_choice = { $what ->
    [sex] jenis kelamin
    [category] kategori
    [programme] program
   *[other] { $what }
} "{ $value }" tidak sah; pakai salah satu dari: { $allowed }
issue-invalid_birth_date = tanggal lahir "{ $text }" bukan tanggal; tulis sebagai YYYY-MM-DD (1985-03-12) atau DD-MM-YYYY (12-03-1985)
issue-required = { $field } wajib diisi

# Penolakan server, menurut kodenya (reject-<kode>).
reject-clock_ahead = waktu perubahan terlalu jauh di depan jam server: atur tanggal dan jam laptop dengan benar, lalu jalankan `sigap sync` lagi; perubahan tetap tersimpan dan diberi waktu ulang
reject-invalid_timestamp = cap waktu perubahan melebihi yang dapat disimpan server; jam atau basis data laptop rusak: hubungi dukungan
reject-device_mismatch = perubahan diberi cap oleh perangkat lain; perangkat hanya boleh memberi cap pada perubahannya sendiri
reject-area_not_assigned = kelurahan orang ini tidak termasuk wilayah Anda; minta admin menugaskannya, atau minta supervisor memindahkan orang ini
reject-incomplete_registration = pendaftaran harus memuat semua isian wajib; kirim pendaftaran selengkapnya
reject-seq_conflict = server menyimpan perubahan lain dengan nomor perubahan ini; jalankan `sigap sync --verify` dan tunjukkan hasilnya ke supervisor Anda
reject-id_reused = server menyimpan id perubahan ini untuk perubahan lain; `sigap sync` berikutnya mengirimnya dengan id baru
reject-missing_name = nama wajib diisi
reject-invalid_name = nama terlalu panjang atau berisi angka
reject-birth_date_mismatch = tanggal lahir tidak cocok dengan NIK
reject-sex_mismatch = jenis kelamin tidak cocok dengan NIK
reject-birth_date_in_future = tanggal lahir ada di masa depan
reject-too_young = orang ini lebih muda dari batas umur peserta
reject-invalid_phone = nomor telepon tidak sah
reject-too_long = sebuah isian lebih panjang dari yang diizinkan; persingkat
reject-invalid_kelurahan = kode kelurahan tidak sah
reject-invalid_rw_rt = RW atau RT tidak sah: harus 1 sampai 999
reject-missing_occupation = pekerjaan wajib diisi
reject-missing_employer = pemberi kerja wajib untuk kategori pu
reject-missing_program = kategorinya mewajibkan program yang tidak ada dalam perubahan ini
reject-program_not_allowed = perubahan ini memuat program yang tidak diizinkan untuk kategorinya
reject-missing_void_reason = pembatalan harus disertai alasan
