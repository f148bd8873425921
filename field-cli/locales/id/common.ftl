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
doctor-db-ok = basis data: utuh
doctor-db-bad = basis data: rusak ({ $detail }); salin dengan `sigap backup FILE` dan hubungi kantor
doctor-changes-ok = perubahan: { $pending } menunggu dikirim, tidak ada yang ditolak
doctor-changes-rejected = perubahan: { $rejected } ditolak server dan perlu diperbaiki (lihat `sigap status`), { $pending } menunggu dikirim
doctor-replica-ok = orang yang dikenal dari server: ditarik { $days } hari lalu
doctor-replica-stale = orang yang dikenal dari server: ditarik { $days } hari lalu; jalankan `sigap sync` sebelum berangkat, atau pencarian melewatkan pendaftaran terbaru
doctor-replica-never = orang yang dikenal dari server: belum pernah ditarik; jalankan `sigap sync` sebelum berangkat
doctor-no-server = server: belum diatur; jalankan `sigap init --server URL`
doctor-tls-ok = sambungan ke { $server }: terenkripsi (atau laptop ini sendiri)
doctor-tls-plain = sambungan ke { $server }: http biasa, token dan data pribadi melintasi jaringan tanpa enkripsi; pakai alamat https://-nya
doctor-server-ok = server { $server }: menjawab
doctor-server-unreachable = server { $server }: tidak dapat dihubungi sekarang ({ $detail }); pekerjaan Anda aman di laptop ini
doctor-clock-ok = jam: sesuai dengan jam server
doctor-clock-off = jam: jam laptop ini { $differs } jam server; perbaiki tanggal, jam, dan zona waktu
doctor-verdict-ok = kesimpulan: siap
doctor-verdict-bad = kesimpulan: ada yang perlu diperhatikan (✗ di atas)

# Kunci basis data: unlock, lock, passphrase, enkripsi.

unlock-done = terbuka selama { $duration }: perintah tidak akan menanyakan kata sandi sampai saat itu, atau sampai `sigap lock`
lock-done = terkunci: perintah berikutnya menanyakan kata sandi
lock-was-not-unlocked = terkunci (sebelumnya memang tidak terbuka)
passphrase-no-settings = pengaturan kunci di samping basis data tidak ada
passphrase-choose-new = pilih kata sandi baru
passphrase-changed = kata sandi diganti: mulai sekarang gunakan yang baru
unlock-no-keyring = tidak ada keyring sistem untuk menyimpan kunci ({ $detail }); setiap perintah menanyakan kata sandi (atau atur { $env })
unlock-not-read-back = kunci yang disimpan tidak dapat dibaca kembali
passphrase-no-one-to-ask = { $what }: atur { $env }, jalankan di terminal, atau jalankan `sigap unlock` dahulu
passphrase-unreadable = tidak dapat membaca kata sandi: { $detail }
passphrase-db-locked = basis data { $db } terkunci
passphrase-prompt = Kata sandi
passphrase-new-no-terminal = { $why }: atur { $env }, atau jalankan di terminal untuk memilihnya
passphrase-new-ask = { $why } (paling sedikit { $min } karakter).
passphrase-new-prompt = Kata sandi baru
passphrase-again-prompt = Ulangi
passphrase-differ = kedua kata sandi berbeda; tidak ada yang diubah
passphrase-too-short = kata sandi terlalu pendek: gunakan paling sedikit { $min } karakter
passphrase-settings-missing = { $file } tidak ada: basis data { $db } tidak dapat dibuka tanpanya; pulihkan keduanya dari cadangan yang sama
unlock-for-not-duration = { $text } bukan lama waktu; tulis seperti 8h, 30m atau 2d
unlock-for-unit = { $text }: satuannya harus m, h atau d, misalnya 8h
unlock-for-range = { $text } harus antara 1m dan 7d, misalnya 8h
kdf-cannot-read = tidak dapat membaca { $file }: { $detail }
kdf-damaged = { $file } rusak ({ $detail }); tanpanya basis data tidak dapat dibuka: pulihkan dari cadangan asal basis data
kdf-cannot-write = tidak dapat menulis { $file }: { $detail }
kdf-settings-damaged = pengaturan kunci basis data rusak: { $detail }
kdf-unknown = penurunan kunci tidak dikenal { $kdf }
db-cannot-read = tidak dapat membaca basis data { $db }: { $detail }
db-wrong-passphrase = kata sandi salah (passphrase salah) untuk basis data { $db }; tidak ada yang diubah
db-cannot-encrypt = tidak dapat mengenkripsi basis data { $db }: { $what }: { $detail }
db-in-use-maybe = sedang dipakai proses sigap lain? coba lagi
db-in-use-other = proses sigap lain sedang membukanya; coba lagi setelah selesai
db-cannot-backup = tidak dapat menulis cadangan { $file }: { $what }: { $detail }
db-in-use = proses sigap lain sedang membuka basis data; coba lagi setelah selesai

# Supervisor: report, conflicts, resolve.

report-bad-area = --area { $text }: { $detail }; berikan kode seperti 33.72.01
report-bad-year = --year { $year } tidak valid; berikan tahun seperti 2025
report-written = ditulis: { $file }
report-token-every-area = token { $name } mencakup semua wilayah: pilih satu dengan --area, misalnya --area 33.72
report-coverage-unreadable = jawaban cakupan dari server tidak dapat dibaca: { $detail }
report-title-area = Cakupan per wilayah
report-title-category = Cakupan per kategori
report-title-day = Cakupan per hari
report-title-week = Cakupan per minggu
report-title-agents = Agen
report-col-code = Kode
report-col-name = Nama
report-col-covered = Tercakup
report-col-working-population = Penduduk bekerja
report-col-coverage = Cakupan
report-col-target = Target
report-col-gap = Selisih (poin)
report-col-still-needed = Masih dibutuhkan
report-col-category = Kategori
report-col-share = Porsi dari tercakup
report-col-date = Tanggal
report-col-week = Minggu
report-col-registrations = Pendaftaran
report-col-agent = Agen
report-col-edits = Perubahan
report-col-voids = Pembatalan
report-col-merged = Digabung
report-col-rejections = Penolakan
report-col-rt-visits = Kunjungan RT
report-col-last-sync = Sinkron terakhir
report-col-pending = Menunggu
report-total = Jumlah
sheet-cannot-write = tidak dapat menulis { $file }: { $detail }; periksa bahwa foldernya ada dan dapat ditulisi
conflicts-none = tidak ada konflik { $status }
conflicts-count = { $count } konflik; selesaikan satu dengan: sigap resolve ID --keep FIELD=VALUE [--note TEXT]
resolve-no-keep = sebutkan nilai yang dipertahankan, misalnya --keep name="Budi Santoso" --keep birth_date=1985-03-12
resolve-keep-form = --keep { $keep } harus berbentuk FIELD=VALUE, misalnya --keep name="Budi Santoso"
resolve-keep-field = --keep { $field }: konflik menyangkut identitas; pertahankan salah satu dari { $fields }
resolve-done = konflik { $id } diselesaikan oleh { $by }: { $values }

# Menyiapkan basis data; jenis token.

setup-no-database = tidak ada basis data di { $db }: perangkat ini belum disiapkan: jalankan dahulu `sigap init --server URL --device-name NAME`
setup-choose-passphrase = pilih kata sandi untuk basis data baru (kata sandi ini mengenkripsi semua isi perangkat ini)
setup-cannot-create-folder = tidak dapat membuka basis data { $db }: tidak dapat membuat folder { $folder }: { $detail }
setup-not-encrypted = basis data { $db } belum terenkripsi: pilih kata sandinya
setup-encrypted-now = basis data { $db } sekarang terenkripsi: simpan kata sandinya, tanpa itu tidak ada yang dapat dibaca
setup-not-set-up-supervisor = perangkat ini belum disiapkan: jalankan `sigap init --server URL --device-name NAME --token TOKEN` dengan token supervisor Anda
setup-reader-token = perangkat ini disiapkan dengan token { $role }: seorang { $role } membaca laporan (sigap report, sigap conflicts, sigap resolve) dan tidak mendaftar atau sinkron; untuk mendaftar, jalankan `sigap init --token TOKEN` dengan token agen
visits-none-answered = server tidak menjawab satu pun dari { $count } kunjungan yang dikirim; kunjungan tetap di perangkat ini, coba `sigap sync` nanti
progress-importing = mengimpor
progress-importing-rows = mengimpor: { $count } baris
progress-exporting = mengekspor
