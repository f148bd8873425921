# `sigap status`, `sigap list`, `sigap show`, `sigap lookup`, `sigap visit`, `sigap progress`.

status-device = perangkat: { $name } ({ $id })
status-server = server: { $server }
status-no-token = token: belum diatur (jalankan `sigap init --token TOKEN`)
status-no-device = perangkat: belum disiapkan (jalankan `sigap init --server URL --device-name NAMA`)
status-database = basis data: { $path }
status-records = pendaftaran: { $count }
status-pending = perubahan tertunda: { $count }
status-acked = terkirim dan diterima: { $count }
status-last-sync = sinkronisasi terakhir yang berhasil: { $at }
status-replica = orang yang diketahui dari server: { $count }
status-rejected = perubahan ditolak yang perlu diperbaiki: { $count }
status-rejected-fix = perbaiki masing-masing dengan `sigap edit NIK --ISIAN NILAI` (atau `sigap void NIK --reason …`); `sigap sync` berikutnya mengirimnya lagi
status-not-taken = tidak diambil server, disimpan di sini untuk dikirim lagi: { $count }
status-waiting = menunggu perubahan sebelumnya: { $count } (dikirim lagi oleh `sigap sync`)
status-clock = pada sinkronisasi terakhir ({ $at }) jam laptop ini { $differs } jam server: betulkan jam laptop (tanggal, jam, dan zona waktu)

list-none = tidak ada pendaftaran yang cocok
list-count = { $count } pendaftaran

show-not-here-known = NIK { $nik } tidak terdaftar di perangkat ini; orang ini { $known }
show-not-here = NIK { $nik } tidak terdaftar di perangkat ini
show-changed-by = { " " }(diubah oleh { $by })
show-latest-change = { " " }(perubahan terakhir orang ini: { $by })
show-held-differently = tercatat berbeda di server
show-held-differently-as = tercatat berbeda di server: { $values }
show-server-keeps = server menyimpan isian ini sebagaimana ditulis pihak lain sesudahnya; tanyakan ke supervisor Anda jika catatan ini salah
show-erased = data pribadi dihapus di server pada { $date } (permintaan data pribadi): nama, telepon, pekerjaan, pemberi kerja, dan alasan pembatalan juga ditimpa di laptop ini; perubahan yang belum terkirim tetap disimpan

change-rejected = ditolak: { $reason } ({ $code })
change-corrected-by = { $state }; diperbaiki oleh #{ $seq }
change-sent = terkirim: { $outcome }
change-not-taken = tidak diambil: { $reason } ({ $code }); dikirim lagi oleh `sigap sync`
change-waiting = tertunda: menunggu perubahan sebelumnya
outcome-applied = diterapkan
outcome-merged = digabung
outcome-duplicate = ganda
outcome-superseded = tertimpa
kind-register = daftar
kind-edit = ubah
kind-void = batal
status-registered = terdaftar
status-void = dibatalkan

lookup-here = NIK { $nik } terdaftar di perangkat ini: { $name } ({ $state })
lookup-known = NIK { $nik } { $known }
lookup-unknown = tidak diketahui: NIK { $nik } tidak terdaftar di perangkat ini maupun di data sinkronisasi terakhir (sinkronisasi terakhir: { $synced })

visit-households-zero = --households paling sedikit 1
visit-saved = tersimpan: kunjungan ke { $area }, { $households } rumah tangga; RT ini sejauh ini: { $visits } kunjungan, { $total } rumah tangga, { $registered } terdaftar
progress-none = belum ada kunjungan atau pendaftaran

col-nik = NIK
col-name = Nama
col-kelurahan = Kelurahan
col-rw = RW
col-rt = RT
col-category = Kategori
col-status = Status
col-sync = Sinkron
col-field = Isian
col-value = Nilai
col-birth-date = Tanggal lahir
col-sex = Jenis kelamin
col-address = Alamat
col-occupation = Pekerjaan
col-employer = Pemberi kerja
col-phone = Telepon
col-programs = Program
col-registered-at = Didaftarkan
col-last-change = Perubahan terakhir
col-kind = Jenis
col-when = Waktu
col-fields = Isian
col-state = Keadaan
col-visits = Kunjungan
col-households = Rumah tangga
col-registered = Terdaftar
col-last-visit = Kunjungan terakhir
col-id = ID
col-existing = Yang ada
col-incoming = Yang masuk
