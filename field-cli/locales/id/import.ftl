# `sigap import`, `sigap export`, `sigap init`.

import-columns = baris CSV rusak: { $count } kolom padahal baris judul punya { $header }
import-open-quote = tanda kutip (") yang dibuka di baris ini tidak ditutup di akhir isiannya, sehingga baris berikutnya ikut terbaca sebagai baris ini ({ $count } kolom padahal baris judul punya { $header }) dan tidak ada yang diimpor; perbaiki tanda kutipnya lalu impor lagi baris-baris itu
import-not-utf8 = berkas ini bukan teks UTF-8 di sini (disimpan sebagai "CSV" biasa dari Excel, ANSI atau Latin-1?); simpan sebagai "CSV UTF-8" lalu impor lagi
import-malformed = baris CSV rusak: { $detail }
import-cannot-encode = baris ini tidak dapat dikodekan: { $detail }
import-already-here = NIK { $nik } sudah terdaftar di perangkat ini
import-known = NIK { $nik } { $known }
import-twice = NIK { $nik } muncul dua kali dalam berkas ini (pertama di baris { $first })
import-cannot-read = { $file } tidak dapat dibaca: { $detail }
import-bad-header = { $file }: baris 1: baris judul tidak dapat dibaca: { $detail }
import-header-not-utf8 = { $file }: baris 1: berkas ini bukan teks UTF-8 (disimpan sebagai "CSV" biasa dari Excel, ANSI atau Latin-1?); simpan sebagai "CSV UTF-8" lalu impor lagi
import-unknown-columns = { $file }: baris 1: kolom tidak dikenal: { $unknown }; kolomnya adalah { $known }, dipisah ',' atau ';' (atau sebutkan dengan --delimiter)
import-missing-columns = { $file }: baris 1: kolom tidak ada: { $missing }; kolomnya adalah { $known }
import-line = baris { $line }: { $field }: { $message }
import-line-whole = baris { $line }: { $message }
import-warned = { " " }({ $count } dengan peringatan: lihat `sigap show NIK`)
import-done = diimpor { $imported }, ditolak { $rejected }{ $warnings }
import-strict = tidak ada yang diimpor (--strict): { $rejected } baris ditolak; perbaiki lalu impor lagi

export-cannot-write = { $file } tidak dapat ditulis: { $detail }
export-done = { $count } pendaftaran diekspor ke { $file }

init-flag-server = --server URL
init-flag-device-name = --device-name NAMA
init-new-device = perangkat ini baru: berikan { $flags } (mis. sigap init --server https://sigap.example --device-name laptop-budi)
init-bad-server = --server "{ $url }" bukan alamat ({ $detail }); tulis seperti https://sigap.example
init-server-scheme = --server "{ $url }" harus diawali http:// atau https://
init-empty-name = --device-name tidak boleh kosong
init-set-up = perangkat disiapkan: { $name } ({ $id })
init-updated = perangkat diperbarui: { $name } ({ $id })
init-token-set = token: sudah diatur
init-token-not-set = token: belum diatur (berikan --token atau SIGAP_TOKEN sebelum sinkronisasi)
init-enrolment = pendaftaran perangkat: { $message }
init-enrolled = terdaftar: server mengenal perangkat ini dengan token Anda
init-not-yet = belum: { $server } tidak dapat dihubungi; `sigap sync` pertama mendaftarkan perangkat ini
init-not-enrolled = tidak terdaftar: { $detail }
