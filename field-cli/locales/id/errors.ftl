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
