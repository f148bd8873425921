# `sigap --help`, `sigap PERINTAH --help` dan `sigap man`.
# help-<perintah> ringkasan perintah, help-<perintah>-long paragraf
# sesudahnya, help-<perintah>-<arg> bantuan satu argumen, help-arg-<arg>
# bantuan argumen yang dipakai beberapa perintah.

help-heading-usage = Pemakaian:
help-heading-commands = Perintah
help-heading-options = Opsi
help-heading-arguments = Argumen
help-command-value = PERINTAH

help-sigap = Alat lapangan SIGAP: daftarkan pekerja ke BPJS Ketenagakerjaan tanpa koneksi, lalu sinkronkan dengan server kantor cabang.
help-arg-db = Berkas basis data [bawaan: sigap.db di folder data Anda; atau SIGAP_DB].
help-arg-json = Cetak JSON untuk skrip, bukan tabel dan kalimat.
help-arg-lang = Bahasa pesan dan bantuan: id (Bahasa Indonesia) atau en (English) [bawaan: dari SIGAP_LANG, jika tidak dari locale sistem, jika tidak id].
help-arg-help = Tampilkan bantuan.
help-arg-version = Tampilkan versi.

help-after =
    Sehari di lapangan:
      sigap init --server https://sigap.example --device-name laptop-budi --token TOKEN
                                      (sekali: juga menetapkan kata sandi basis data)
      sigap unlock                    (menanyakan kata sandi; terbuka 8 jam)
      sigap register                  (menanyakan tiap isian di terminal)
      sigap list --kelurahan 33.72.01.1001 --rw 3
      sigap visit --kelurahan 33.72.01.1001 --rw 3 --rt 5 --households 40
      sigap status
      sigap sync                      (kembali di kantor, ada koneksi)

    Semua disimpan dulu di perangkat ini; tidak ada yang butuh koneksi kecuali
    `sigap sync`. Sinkronisasi yang terputus tidak menghilangkan apa pun: jalankan lagi.

    Kode keluar:
      0  selesai
      1  selesai sebagian: ada baris CSV yang ditolak, ada perubahan yang masih
         tertunda atau ditolak server setelah sinkronisasi, atau `sync --verify`
         menemukan perbedaan
      2  masukan salah (NIK tidak sah, tanggal salah, isian kurang…): tidak ada
         yang disimpan
      3  basis data lokal atau sebuah berkas tidak dapat dibaca atau ditulis
      4  server tidak dapat dihubungi (perubahan Anda aman; sinkronkan lagi nanti)
      5  server menolak: token tidak diterima (401/403), perangkat ini terdaftar
         dengan token agen lain, atau versi protokol berbeda (perbarui sigap)
      6  basis data tetap terkunci: kata sandi salah (wrong passphrase), atau tidak
         diberikan padahal tidak ada yang bisa ditanya (isi SIGAP_PASSPHRASE atau
         jalankan di terminal)

    Variabel lingkungan:
      SIGAP_LANG           bahasa: id (Bahasa Indonesia) atau en (English), sama dengan --lang
      SIGAP_DB             berkas basis data (sama dengan --db)
      SIGAP_PASSPHRASE     kata sandi basis data, untuk skrip (jika tidak, ditanyakan
                           di terminal, atau disimpan sementara oleh `sigap unlock`)
      SIGAP_NEW_PASSPHRASE kata sandi baru untuk `sigap passphrase`, untuk skrip
      SIGAP_TOKEN          token akses (sama dengan --token pada `sigap init`)
      SIGAP_RETRY_LIMIT    jumlah percobaan per permintaan saat sinkronisasi (bawaan 5)
      SIGAP_RETRY_BASE_MS  jeda percobaan ulang pertama dalam milidetik (bawaan 500)

help-help = Tampilkan pesan ini atau bantuan perintah yang disebut.
help-help-subcommand = Perintah yang ingin dijelaskan.

help-init = Siapkan perangkat ini: server tujuan sinkronisasi, nama perangkat, dan token.
help-init-long = Jalankan sekali sebelum mendaftarkan. Jalankan lagi untuk mengganti server, nama, atau token; id perangkat tetap sama.
help-init-server = Alamat server, mis. https://sigap.kantor-solo.example
help-init-device_name = Nama perangkat ini, mis. laptop-budi.
help-init-token = Token akses dari supervisor Anda (atau SIGAP_TOKEN).

help-register = Daftarkan seorang pekerja. Isian yang belum diberikan ditanyakan di terminal.
help-register-nik = NIK 16 digit dari KTP.
help-register-force = Tetap daftarkan walaupun sinkronisasi terakhir menyebut orang ini sudah didaftarkan pihak lain (server menggabungkan keduanya menjadi satu orang).
help-register-no_input = Jangan bertanya; gagal dengan daftar isian yang kurang.

help-arg-name = Nama lengkap sesuai KTP.
help-arg-birth_date = Tanggal lahir: YYYY-MM-DD atau DD-MM-YYYY.
help-arg-sex = Jenis kelamin: L (laki-laki) atau P (perempuan).
help-arg-kelurahan = Kelurahan: namanya atau sebagian namanya (pajang, "kp baru"), atau kodenya (33.72.01.1001).
help-arg-rw = Nomor RW.
help-arg-rt = Nomor RT.
help-arg-category = pu (penerima upah), bpu (bukan penerima upah/informal), jakon (jasa konstruksi), pmi (pekerja migran).
help-arg-occupation = Pekerjaan, mis. pedagang, buruh, ojek.
help-arg-employer = Pemberi kerja (wajib untuk pu).
help-arg-phone = Nomor telepon, mis. 081234567890.
help-arg-programs = Program, mis. jkk,jkm,jht [bawaan: yang diwajibkan kategorinya].

help-list = Daftar orang yang didaftarkan di perangkat ini.
help-list-kelurahan = Hanya kelurahan ini (nama atau kode).
help-list-rw = Hanya RW ini.
help-list-rt = Hanya RT ini.
help-list-pending = Hanya orang yang perubahannya belum diterima server.

help-show = Tampilkan pendaftaran satu orang (dan riwayatnya dengan --history).
help-show-nik = NIK-nya.
help-show-history = Tampilkan juga setiap perubahan atas orang ini di perangkat ini.

help-edit = Ubah isian sebuah pendaftaran (juga untuk memperbaiki perubahan yang ditolak).
help-edit-nik = NIK pendaftaran yang diubah.

help-void = Batalkan sebuah pendaftaran, dengan alasan. Tetap tercatat dalam riwayat.
help-void-nik = NIK pendaftaran yang dibatalkan.
help-void-reason = Alasannya, mis. "formulir ganda" atau "pindah".

help-import = Impor pendaftaran yang diketik dari formulir kertas (CSV).
help-import-file = Berkas CSV dengan baris judul: nik,name,birth_date,sex,kelurahan,rw,rt,category,occupation,employer,phone,programs (kelurahan: nama atau kode)
help-import-strict = Jangan simpan apa pun jika ada baris yang ditolak.
help-import-delimiter = Pemisah kolom: ';' (atau semicolon), seperti CSV dari Excel berbahasa Indonesia, atau ',' (atau comma). Bawaan: dikenali dari baris judul.

help-export = Ekspor pendaftaran ke CSV (kolomnya sama dengan impor).
help-export-file = Berkas CSV tujuan, atau - untuk layar.

help-visit = Catat kunjungan ke sebuah RT (jumlah rumah tangga), untuk kemajuan per RT.
help-visit-kelurahan = Kelurahan: nama atau kodenya.
help-visit-rw = Nomor RW.
help-visit-rt = Nomor RT.
help-visit-households = Berapa rumah tangga yang Anda kunjungi.
help-visit-note = Catatan, mis. "ketua RT tidak ada, kembali Jumat".

help-progress = Tampilkan kemajuan per RT: rumah tangga yang dikunjungi dan orang yang didaftarkan.
help-progress-kelurahan = Hanya kelurahan ini (nama atau kode).

help-status = Isi perangkat ini: pendaftaran, perubahan yang tertunda dan ditolak, sinkronisasi terakhir.

help-sync = Kirim perubahan yang tertunda ke server dan ambil orang-orang di wilayah Anda.
help-sync-verify = Periksa ke server bahwa semua perubahan yang dikirim dari sini sudah ada di sana.
help-sync-full = Ambil lagi semua orang di wilayah Anda dari awal, termasuk pendaftaran Anda sendiri (setelah perangkat dipulihkan dari cadangan, atau jika replika rusak).

help-lookup = Apakah NIK ini sudah terdaftar? Dijawab tanpa koneksi dari sinkronisasi terakhir.
help-lookup-nik = NIK yang dicari.

help-completions = Cetak skrip pelengkapan Tab untuk sebuah shell (tanpa basis data).
help-completions-long =
    bash: sigap completions bash > ~/.local/share/bash-completion/completions/sigap

    zsh: sigap completions zsh > ~/.zfunc/_sigap (folder yang ada di $fpath Anda)

    fish: sigap completions fish > ~/.config/fish/completions/sigap.fish

    Lalu buka terminal baru.
help-completions-shell = Shell yang dilengkapi: bash, zsh, fish, powershell atau elvish.

help-man = Cetak halaman manual (roff) sigap (tanpa basis data).
help-man-long = Pasang dengan `sigap man > ~/.local/share/man/man1/sigap.1`, lalu baca dengan `man sigap`.

help-report = Supervisor: cakupan, agen dan kemajuan dari server, sebagai tabel, JSON, CSV atau Excel.
help-report-area = Kode wilayah [bawaan: wilayah pertama token].
help-report-year = Tahun angka-angkanya [bawaan: tahun ini].
help-report-depth = Tingkat wilayah di bawahnya dengan --by area (0 sampai 4) [bawaan: 1].
help-report-by = Satu baris per wilayah, kategori, agen atau hari [bawaan: area].
help-report-history = Cakupan dari waktu ke waktu, per minggu (per hari dengan --by day).
help-report-csv = Tulis juga tabelnya ke berkas CSV ini.
help-report-xlsx = Tulis juga tabelnya ke buku kerja Excel ini (.xlsx).

help-conflicts = Supervisor: konflik identitas yang perlu diputuskan, kedua sisi berdampingan.
help-conflicts-status = Konflik mana yang ditampilkan.

help-resolve = Supervisor: putuskan konflik dengan memilih nilai yang disimpan.
help-resolve-id = Nomor konflik (dari `sigap conflicts`).
help-resolve-keep = Nilai yang disimpan: name=TEKS, birth_date=YYYY-MM-DD atau sex=NILAI. Satu --keep per isian.
help-resolve-note = Alasannya, disimpan bersama keputusan.

help-unlock = Buka basis data untuk sementara: menanyakan kata sandi sekali dan menyimpan kuncinya di keyring sistem.
help-unlock-how_long = Berapa lama kunci disimpan: 30m, 8h, 2d (paling lama 7d). Setelah itu basis data terkunci lagi.
help-lock = Kunci basis data sekarang: lupakan kunci yang disimpan `sigap unlock`.
help-passphrase = Ganti kata sandi basis data (menanyakan yang lama dulu).
help-init-ca_cert = Otoritas sertifikat kantor sendiri (berkas PEM), dipercaya untuk sertifikat server selain milik sistem.
help-init-insecure = Izinkan http:// biasa ke server yang bukan laptop ini: token dan data pribadi lalu melintasi jaringan tanpa enkripsi.
help-backup = Salin basis data (tetap terenkripsi) dan pengaturan kuncinya ke FILE dan FILE.salt: simpan keduanya untuk memulihkan pekerjaan laptop ini.
help-backup-file = Tempat menulis salinan; belum boleh ada (FILE.salt ditulis di sampingnya).
help-doctor = Periksa laptop ini: basis data, perubahan yang ditolak, umur replika, server, HTTPS dan jam, dengan kesimpulan.
