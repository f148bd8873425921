# `sigap register`, `sigap edit`, `sigap void`.

register-cancelled = dibatalkan: tidak ada yang disimpan
register-missing = belum diberikan: { $flags }; berikan sebagai opsi (lihat `sigap register --help`), atau jalankan di terminal agar ditanyakan
register-saved = tersimpan: { $nik } { $name }, { $area }, { $category }; menunggu `sigap sync`
register-already-here = NIK { $nik } sudah terdaftar di perangkat ini; pakai `sigap edit { $nik } --ISIAN NILAI` untuk mengubahnya (lihat `sigap show { $nik }`)
register-already-here-named = NIK { $nik } sudah terdaftar di perangkat ini ({ $name }, { $state }); pakai `sigap edit { $nik } --ISIAN NILAI` untuk mengubahnya
register-again = NIK { $nik } { $known }; didaftarkan lagi di sini
register-known-elsewhere = NIK { $nik } { $known }; tidak ada yang disimpan. Berikan --force untuk tetap mendaftarkan (server menggabungkan keduanya menjadi satu orang)

edit-nothing = tidak ada yang diubah: berikan paling sedikit satu isian, mis. --occupation pedagang (lihat `sigap edit --help`)
edit-not-here-known = NIK { $nik } tidak didaftarkan di perangkat ini (orang ini { $known }); hanya pendaftaran dari perangkat ini yang dapat diubah di sini
edit-not-here = NIK { $nik } tidak terdaftar di perangkat ini; daftarkan dengan `sigap register --nik { $nik } …`
edit-record-lacks = catatan { $nik } tidak memuat { $missing }
edit-saved = tersimpan: { $nik } { $name } (perubahan { $seq }); menunggu `sigap sync`
edit-voided = dibatalkan: { $nik } { $name } (perubahan { $seq }); menunggu `sigap sync`
edit-corrects = memperbaiki { $count } perubahan yang ditolak: seluruh pendaftaran akan dikirim lagi
void-no-reason = --reason harus menyebut alasan pendaftaran dibatalkan
void-already = NIK { $nik } sudah dibatalkan
