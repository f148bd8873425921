# `sigap import`, `sigap export`, `sigap init`.

import-columns = malformed CSV line: { $count } columns where the header has { $header }
import-open-quote = a quote (") opened on this line is not closed where its field ends, so the line(s) after it were read into this row ({ $count } columns where the header has { $header }) and none of them was imported; fix the quotes and import those lines again
import-not-utf8 = the file is not UTF-8 text here (saved as Excel's plain "CSV", ANSI or Latin-1?); save it as "CSV UTF-8" and import it again
import-malformed = malformed CSV line: { $detail }
import-cannot-encode = cannot encode the row: { $detail }
import-already-here = NIK { $nik } is already registered on this device
import-known = NIK { $nik } { $known }
import-twice = NIK { $nik } appears twice in this file (first on line { $first })
import-cannot-read = cannot read { $file }: { $detail }
import-bad-header = { $file }: line 1: cannot read the header: { $detail }
import-header-not-utf8 = { $file }: line 1: the file is not UTF-8 text (saved as Excel's plain "CSV", ANSI or Latin-1?); save it as "CSV UTF-8" and import it again
import-unknown-columns = { $file }: line 1: unknown column(s) { $unknown }; the columns are { $known }, separated by ',' or ';' (or say which with --delimiter)
import-missing-columns = { $file }: line 1: missing column(s) { $missing }; the columns are { $known }
import-line = line { $line }: { $field }: { $message }
import-line-whole = line { $line }: { $message }
import-warned = { " " }({ $count } with warnings: see `sigap show NIK`)
import-done = imported { $imported }, rejected { $rejected }{ $warnings }
import-strict = nothing imported (--strict): { $rejected } row(s) rejected; fix them and import again

export-cannot-write = cannot write { $file }: { $detail }
export-done = exported { $count } registration(s) to { $file }

init-flag-server = --server URL
init-flag-device-name = --device-name NAME
init-new-device = this device is new: give { $flags } (e.g. sigap init --server https://sigap.example --device-name laptop-budi)
init-bad-server = --server "{ $url }" is not an address ({ $detail }); write it like https://sigap.example
init-server-scheme = --server "{ $url }" must start with http:// or https://
init-empty-name = --device-name must not be empty
init-set-up = device set up: { $name } ({ $id })
init-updated = device updated: { $name } ({ $id })
init-token-set = token: set
init-token-not-set = token: not set (give --token or SIGAP_TOKEN before syncing)
init-enrolment = enrolment: { $message }
init-enrolled = enrolled: the server knows this device under your token
init-not-yet = not yet: { $server } could not be reached; the first `sigap sync` enrols this device
init-not-enrolled = not enrolled: { $detail }
