# Kesalahan dan awalannya, apa pun perintahnya.

error-line = kesalahan: { $message }
error-cause = penyebab: { $message }
warning-line = peringatan: { $message }
note-line = catatan: { $message }
lang-unknown = bahasa "{ $value }" (dari { $source }) tidak tersedia: pakai id (Bahasa Indonesia) atau en (English)
error-local-database = basis data lokal: { $detail }
error-unreadable-data = basis data lokal berisi data yang tidak terbaca: { $detail }
error-not-saved = { $what } tidak disimpan:
what-registration = pendaftaran ini
what-change = perubahan ini
docs-cannot-write-completions = skrip pelengkapan tidak dapat ditulis ke keluaran standar
docs-cannot-render-man = halaman manual tidak dapat dibuat
docs-cannot-write-man = halaman manual tidak dapat ditulis ke keluaran standar
docs-man-notes = CATATAN
docs-man-commands = PERINTAH

store-no-data-folder = folder data untuk basis data tidak ditemukan (tidak ada folder rumah); berikan --db PATH
store-in-use = basis data sedang dipakai proses sigap lain
store-cannot-open = basis data { $path } tidak dapat dibuka: { $what }: { $detail }
store-cannot-create-folder = folder { $folder } tidak dapat dibuat
store-held = perintah sigap lain sudah memakainya selama { $seconds } detik
store-try-again = coba lagi setelah perintah itu selesai
store-not-a-database = tidak dapat ditulis atau bukan basis data
store-not-set-up = perangkat ini belum disiapkan: jalankan dulu `sigap init --server URL --device-name NAMA`
docs-man-name = NAMA
docs-man-synopsis = RINGKASAN
docs-man-description = DESKRIPSI
docs-man-options = OPSI
docs-man-version = VERSI
store-broken-references = tabel { $table } merujuk baris yang tidak ada
store-cannot-sync-folder = foldernya tidak dapat disinkronkan ke disk
damaged-kind = jenis perubahan tersimpan "{ $kind }" rusak
damaged-change = perubahan { $seq } di kotak keluar rusak pada { $what }
damaged-nik = NIK tersimpan "{ $nik }" rusak: { $detail }
damaged-record = catatan tersimpan NIK { $nik } rusak ({ $what }); perubahannya tetap disimpan dan `sigap sync` tetap mengirimnya, jadi tidak ada yang hilang: minta salinan server untuk orang ini ke supervisor Anda
damaged-stamps = cap waktu tersimpan rusak: { $detail }
damaged-nik-stamps = cap waktu tersimpan NIK { $nik } rusak: { $detail }
damaged-replica = { $what } pada replika rusak; `sigap sync --full` mengambilnya lagi
damaged-device-id = id perangkat tersimpan "{ $id }" rusak: { $detail }

# Kesalahan baris perintah.
usage-unknown-argument = opsi { $arg } tidak dikenal
usage-unknown-command = perintah "{ $command }" tidak dikenal
usage-value-required = { $arg } memerlukan nilai
usage-invalid-value = "{ $value }" bukan nilai yang sah untuk { $arg }; pakai salah satu dari: { $valid }
usage-value-validation = "{ $value }" bukan nilai yang sah untuk { $arg }: { $detail }
usage-missing-argument = belum diberikan: { $arg }
usage-conflict = { $arg } tidak dapat dipakai bersama { $other }
usage-missing-command = berikan sebuah perintah
usage-suggest = { "; " }mungkin maksud Anda { $suggestion }?
usage-see-help = lihat `sigap --help`, atau `sigap PERINTAH --help`

# Langkah membuka, mengenkripsi atau mencadangkan basis data, disebut dalam
# "basis data … tidak dapat dibuka: { $what }: …".
step-create = membuat berkas
step-open = membuka
step-key = memasang kunci
step-settings = pengaturan
step-journal-mode = mode jurnal
step-wal-refused = WAL ditolak ({ $mode })
step-schema = skema
step-read = membaca
step-attach = melampirkan
step-copy = menyalin
step-detach = melepas
step-sync = menyimpan ke disk
step-rename = mengganti nama
step-sync-folder = menyimpan folder ke disk

# Bagian baris tersimpan yang bisa rusak (damaged-change, damaged-record,
# damaged-replica, damaged-visit).
part-id = id
part-timestamp = cap waktu
part-kind = jenis
part-sequence = nomor urut
part-fields = isian
part-no-fields = tanpa isian
part-bad-timestamp = cap waktu rusak
part-no-timestamps = tanpa cap waktu
part-category = kategori
part-status = status
part-date = tanggal
damaged-visit = kunjungan { $row } di basis data lokal punya { $what } yang tidak terbaca
damaged-replica-key = kunci replika tersimpan rusak; `sigap sync --full` mengambilnya lagi
