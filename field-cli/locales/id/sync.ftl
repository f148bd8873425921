# `sigap sync`, `sigap sync --verify` dan hubungan ke server.

sync-report = sinkronisasi dengan { $server }: terkirim { $sent } (diterapkan { $applied }, digabung ke orang yang sudah ada { $merged }, ganda { $duplicates }, ditolak { $rejected }{ $superseded }), diterima { $received }
sync-superseded-count = , tertimpa { $count }
sync-restamped = { $count } perubahan diberi waktu ulang menurut jam yang sudah dibetulkan (id dan nomor tetap)
sync-new-ids = { $count } perubahan dikirim lagi dengan id baru (server menyimpan id lamanya untuk hal lain)
sync-erased = data pribadi { $count } orang yang didaftarkan di laptop ini dihapus di server (atas permintaan data pribadi): nama, telepon, pekerjaan, pemberi kerja, dan alasan pembatalannya juga ditimpa di sini; lihat `sigap show NIK`
sync-rejected-line = ditolak #{ $seq } { $nik }: { $reason } ({ $code })
sync-superseded-line = #{ $seq } { $nik }: { $fields } tercatat berbeda di server (diubah oleh { $by }); lihat `sigap show { $nik }`
sync-not-taken-line = tidak diambil #{ $seq } { $nik }: { $reason } ({ $code })
sync-rejected-left = { $count } perubahan ditolak perlu diperbaiki: lihat `sigap status`, perbaiki dengan `sigap edit NIK --ISIAN NILAI`, lalu `sigap sync`
sync-not-taken-left-clock = { $count } perubahan yang tidak diambil server tetap di laptop ini (lihat `sigap status`); betulkan jam laptop (tanggal, jam, dan zona waktu), lalu jalankan `sigap sync`: perubahan itu diberi waktu yang benar dan dikirim
sync-not-taken-left = { $count } perubahan yang tidak diambil server tetap di laptop ini (lihat `sigap status`); jalankan `sigap sync` lagi untuk memperbaiki dan mengirimnya; jika ditolak lagi, jalankan `sigap sync --verify` dan tunjukkan hasilnya ke supervisor Anda
sync-waiting-left = { $count } perubahan masih menunggu perubahan sebelumnya: tetap di laptop ini dan ikut `sigap sync` berikutnya setelah yang sebelumnya diambil
sync-pending-left = { $count } perubahan masih tertunda: jalankan `sigap sync` lagi
sync-clock-warning = jam laptop ini { $differs } jam server: betulkan jam laptop (tanggal, jam, dan zona waktu); server menolak perubahan yang waktunya terlalu jauh di depan jamnya (bawaan satu hari) sampai jam laptop benar
clock-ahead = { $duration } lebih cepat dari
clock-behind = { $duration } lebih lambat dari
duration-days = { $days } hari { $hours } jam
duration-hours = { $hours } jam { $minutes } menit
duration-minutes = { $minutes } menit

verify-ok = terverifikasi: server menyimpan { $count } perubahan dari perangkat ini, hash cocok
verify-differs = ada perbedaan: server menyimpan { $server } perubahan dari perangkat ini, perangkat ini menghitung { $local } yang sudah dijawab

push-bar = mengirim
push-thread-failed = proses pengiriman gagal
push-none-answered = server tidak menjawab satu pun dari { $count } perubahan yang dikirim; tidak ada yang hilang, coba `sigap sync` nanti
pull-stuck = server menyebut masih ada data untuk diambil tetapi tidak mengirim apa pun; coba `sigap sync` nanti
pull-inconsistent = server mengirim halaman dengan kursor ({ $body }) yang berbeda dari header-nya ({ $header }); tidak ada yang disimpan dari halaman itu: jalankan `sigap sync` lagi, dan bila pesan ini muncul lagi, beri tahu administrator server
pull-bar = menerima

client-no-server = server belum diatur: jalankan `sigap init --server URL`
client-no-token = token belum diatur: minta token ke supervisor Anda lalu jalankan `sigap init --token TOKEN`
client-no-http = klien HTTP tidak dapat dimulai: { $detail }
client-reading-answer = membaca jawaban untuk { $what }: { $detail }
client-unreachable = { $server } tidak dapat dihubungi: { $detail } (dicoba { $attempts } kali); perubahan Anda aman di perangkat ini, jalankan `sigap sync` lagi saat ada koneksi
client-server-newer = server memakai protokol SIGAP { $server_protocol } dan sigap ini memakai { $protocol }: perbarui sigap
client-server-older = server lebih lama (protokol SIGAP { $server_protocol }; sigap ini memakai { $protocol }): minta kantor memperbarui sigap-server
client-unreadable-answer = jawaban { $server } untuk { $what } tidak dapat dibaca ({ $detail }); apakah itu server SIGAP?
client-refused-too-new = server lebih lama dari sigap ini ({ $detail }); minta kantor memperbarui sigap-server
client-refused-too-old = sigap ini terlalu lama untuk server ({ $detail }): perbarui sigap
client-refused-token = server menolak token ({ $detail }): minta token baru ke supervisor Anda lalu jalankan `sigap init --token …`
client-refused-device = server menolak perangkat ini ({ $detail }): perangkat ini terdaftar dengan token agen lain; tanyakan ke supervisor atau admin token mana yang dipakai laptop ini (atau minta dipindahkan ke token Anda), lalu jalankan `sigap init --token …`
client-refused-forbidden = server menolak permintaan ini ({ $detail }); minta supervisor memeriksa wilayah dan peran Anda
client-refused-protocol = server memakai protokol SIGAP { $server_protocol }, sigap ini memakai { $protocol } ({ $detail })
client-refused = server menolak permintaan ({ $detail })

# Untuk apa sebuah permintaan ke server, disebut dalam pesan kesalahannya
# ("membaca jawaban untuk { $what }").
request-push = pengiriman perubahan
request-pull = penarikan data
request-visits = kunjungan
request-device-status = status perangkat
request-replica-key = kunci replika
request-device-changes = perubahan perangkat
request-token = token
request-coverage = cakupan
request-coverage-history = riwayat cakupan
request-agents = agen
request-conflicts = konflik
request-resolve = penyelesaian konflik
request-health = kesehatan server
client-no-endpoint = { $server } tidak punya endpoint untuk { $what }
client-bad-replica-key = server mengirim kunci replika yang tidak sah ({ $detail }); minta operatornya memeriksa server

verify-receipt-shrank = server menyimpan { $count } perubahan padahal tanda terimanya pada { $at } menyebut { $receipt }
verify-seq-conflict-sent = perubahan { $seq }: server menyimpan id { $server_id } padahal perangkat ini mengirim { $id } (nomor bentrok)
verify-answer-lost = perubahan { $seq } sudah sampai di server tetapi jawabannya tidak sampai di perangkat ini; `sigap sync` berikutnya memastikannya
verify-seq-conflict-held = perubahan { $seq }: server menyimpan id { $server_id } padahal perangkat ini punya { $id } (nomor bentrok)
verify-unknown-change = server menyimpan perubahan { $seq } ({ $id }) yang tidak dikenal perangkat ini
verify-missing = server tidak menyimpan { $count } perubahan yang dikirim perangkat ini (#{ $seqs }); perubahan itu diantrekan lagi: jalankan `sigap sync`
verify-hash-differs = jumlah atau hash berbeda (server { $server_count } / { $server_hash }, perangkat { $local_count } / { $local_hash })

restore-none-renumbered = tidak ada perubahan belum terkirim yang perlu nomor baru
restore-renumbered = { $count } perubahan belum terkirim diberi nomor baru sesudah #{ $after }
restore-found = basis data laptop ini lebih lama dari yang disimpan server darinya (dipulihkan dari cadangan?): { $what }; semua orang di wilayah Anda diambil lagi
sync-visits-sent = { $count } kunjungan RT terkirim
sync-visits-kept = { $count } kunjungan RT tetap di laptop ini: server masih versi lama dan belum menerima kunjungan (minta kantor memperbarui sigap-server)
sync-visit-refused = kunjungan ditolak server: { $reason }
sync-server-lost = server menyimpan lebih sedikit perubahan laptop ini daripada yang pernah diterimanya (dipulihkan dari cadangan?): { $count } perubahan dikirim lagi, dan semua orang di wilayah Anda ditarik ulang

tls-plain-http = { $url } memakai http biasa: token dan data orang akan melintasi jaringan tanpa enkripsi. Pakai alamat https:// server, atau, di jaringan yang Anda percayai, tambahkan --insecure pada `sigap init`
tls-insecure-warning = PERINGATAN: { $url } memakai http biasa (diizinkan oleh --insecure): token dan data pribadi melintasi jaringan tanpa enkripsi
tls-ca-unreadable = --ca-cert { $file }: tidak dapat dibaca ({ $detail }); berikan berkas sertifikat CA kantor (PEM)
tls-ca-not-pem = --ca-cert { $file } bukan sertifikat PEM ({ $detail }); berikan berkas sertifikat CA kantor, yang diawali -----BEGIN CERTIFICATE-----
tls-failed = { $server } tidak dapat membuktikan identitasnya: sertifikatnya tidak dipercaya ({ $detail }). Jika kantor memakai otoritas sertifikat sendiri, berikan sertifikatnya dengan `sigap init --ca-cert FILE` (atau SIGAP_CA_CERT); periksa bahwa alamatnya nama server itu sendiri
