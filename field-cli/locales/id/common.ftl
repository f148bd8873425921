# Kata-kata yang ditampilkan beberapa perintah.

state-pending = tertunda
state-rejected = ditolak
state-synced = tersinkron
date-unknown = tanggal tidak diketahui
never = belum pernah
none = (tidak ada)
replica-unknown-kelurahan = kelurahan tidak diketahui
replica-another-agent = agen lain
replica-no-reason = tanpa alasan
replica-participant = sudah menjadi peserta (daftar kepesertaan), { $who }
replica-voided = didaftarkan oleh { $by } pada { $registered }, lalu dibatalkan pada { $voided } ({ $reason })
replica-covered = sudah terlindungi: didaftarkan oleh { $by } pada { $registered } ({ $who })
list-and = { " dan " }
init-reader-token = token { $role } "{ $name }": perangkat tidak didaftarkan; gunakan sigap report, sigap conflicts dan sigap resolve
backup-exists = { $file } sudah ada; pilih nama baru (cadangan tidak pernah menimpa)
backup-no-salt = tidak dapat menulis pengaturan kunci { $file } ({ $detail }); tidak ada cadangan yang disimpan
backup-written = cadangan ditulis: { $file } dan { $salt } ({ $records } catatan, { $changes } perubahan), terenkripsi dengan kata sandi basis data ini; simpan kedua berkas bersama
