# `sigap sync`, `sigap sync --verify` and the connection to the server.

sync-report = sync with { $server }: sent { $sent } (applied { $applied }, merged into existing persons { $merged }, duplicates { $duplicates }, rejected { $rejected }{ $superseded }), received { $received }
sync-superseded-count = , superseded { $count }
sync-restamped = { $count } change(s) stamped again by the corrected clock (same ids and numbers)
sync-new-ids = { $count } change(s) sent again under a new id (the server held their old id elsewhere)
sync-erased = { $count } person(s) registered on this laptop had their personal data erased on the server (at a personal data request): their name, phone, occupation, employer and void reason were overwritten here too; see `sigap show NIK`
sync-rejected-line = rejected #{ $seq } { $nik }: { $reason } ({ $code })
sync-superseded-line = #{ $seq } { $nik }: { $fields } held differently on the server (changed by { $by }); see `sigap show { $nik }`
sync-not-taken-line = not taken #{ $seq } { $nik }: { $reason } ({ $code })
sync-rejected-left = { $count } rejected change(s) to correct: see `sigap status`, fix with `sigap edit NIK --FIELD VALUE`, then `sigap sync`
sync-not-taken-left-clock = { $count } change(s) not taken by the server stay on this laptop (see `sigap status`); fix the laptop's clock (date, time and time zone), then run `sigap sync`: it stamps them again with the right time and sends them
sync-not-taken-left = { $count } change(s) not taken by the server stay on this laptop (see `sigap status`); run `sigap sync` again to repair and send them; if they are refused again, run `sigap sync --verify` and show the result to your supervisor
sync-waiting-left = { $count } change(s) still waiting for earlier ones: they stay on this laptop and go with the next `sigap sync` once the earlier ones are taken
sync-pending-left = { $count } change(s) still pending: run `sigap sync` again
sync-clock-warning = this laptop's clock is { $differs } the server's: fix the laptop's clock (date, time and time zone); the server refuses changes stamped too far ahead of its clock (a day by default) until it is right
clock-ahead = { $duration } ahead of
clock-behind = { $duration } behind
duration-days = { $days } day(s) { $hours } h
duration-hours = { $hours } h { $minutes } min
duration-minutes = { $minutes } min

verify-ok = verified: the server holds { $count } change(s) from this device, hash matches
verify-differs = differences found: the server holds { $server } change(s) from this device, this device counts { $local } answered

push-bar = sending
push-thread-failed = the push thread failed
push-none-answered = the server answered none of the { $count } change(s) sent; nothing was lost, try `sigap sync` later
pull-stuck = the server says there is more to pull but sent nothing; try `sigap sync` later
pull-inconsistent = the server sent a page whose cursor ({ $body }) is not the one its header gave ({ $header }); nothing of it was saved: run `sigap sync` again, and if it says so again, tell the server's administrator
pull-bar = receiving

client-no-server = no server is set: run `sigap init --server URL`
client-no-token = no token is set: ask your supervisor for one and run `sigap init --token TOKEN`
client-no-http = cannot start the HTTP client: { $detail }
client-reading-answer = reading the answer to { $what }: { $detail }
client-unreachable = could not reach { $server }: { $detail } (tried { $attempts } times); your changes are safe on this device, run `sigap sync` again when connected
client-server-newer = the server speaks SIGAP protocol { $server_protocol } and this sigap speaks { $protocol }: upgrade sigap
client-server-older = the server is older (SIGAP protocol { $server_protocol }; this sigap speaks { $protocol }): ask the office to upgrade sigap-server
client-unreadable-answer = the answer of { $server } to { $what } could not be read ({ $detail }); is it a SIGAP server?
client-refused-too-new = the server is older than this sigap ({ $detail }); ask the office to upgrade sigap-server
client-refused-too-old = this sigap is too old for the server ({ $detail }): upgrade sigap
client-refused-token = the server refused the token ({ $detail }): ask your supervisor for a new token and run `sigap init --token …`
client-refused-device = the server refused this device ({ $detail }): it is enrolled under another agent's token; ask your supervisor or an admin which token this laptop syncs with (or to move it to yours), then run `sigap init --token …`
client-refused-forbidden = the server refused this request ({ $detail }); ask your supervisor to check your areas and role
client-refused-protocol = the server speaks SIGAP protocol { $server_protocol }, this sigap speaks { $protocol } ({ $detail })
client-refused = the server refused the request ({ $detail })

# What a request to the server is for, named in its errors
# ("reading the answer to { $what }").
request-push = push
request-pull = pull
request-visits = visits
request-device-status = device status
request-replica-key = replica key
request-device-changes = device changes
request-token = token
request-coverage = coverage
request-coverage-history = coverage history
request-agents = agents
request-conflicts = conflicts
request-resolve = resolve
request-health = health
client-no-endpoint = { $server } has no endpoint for { $what }
client-bad-replica-key = the server sent a replica key that is not one ({ $detail }); ask its operator to check the server

verify-receipt-shrank = the server holds { $count } change(s) but its receipt of { $at } said { $receipt }
verify-seq-conflict-sent = change { $seq }: the server holds id { $server_id } but this device sent { $id } (sequence conflict)
verify-answer-lost = change { $seq } reached the server but its answer did not reach this device; the next `sigap sync` confirms it
verify-seq-conflict-held = change { $seq }: the server holds id { $server_id } but this device has { $id } (sequence conflict)
verify-unknown-change = the server holds change { $seq } ({ $id }) that this device does not know
verify-missing = the server does not hold { $count } change(s) this device sent (#{ $seqs }); they are queued again: run `sigap sync`
verify-hash-differs = counts or hashes differ (server { $server_count } / { $server_hash }, device { $local_count } / { $local_hash })

restore-none-renumbered = no unsent change needed a new number
restore-renumbered = { $count } unsent change(s) renumbered after #{ $after }
restore-found = this laptop's database is older than what the server holds from it (restored from a backup?): { $what }; every person of your areas is pulled again
sync-visits-sent = { $count } RT visit(s) sent
sync-visits-kept = { $count } RT visit(s) stay on this laptop: the server is older and does not take visits yet (ask the office to upgrade sigap-server)
sync-visit-refused = visit refused by the server: { $reason }
sync-server-lost = the server holds fewer of this laptop's changes than it had accepted (restored from a backup?): { $count } change(s) sent again, and every person of your areas is pulled again

tls-plain-http = { $url } is plain http: the token and the people's data would cross the network unencrypted. Use the server's https:// address, or, on a network you trust, add --insecure to `sigap init`
tls-insecure-warning = WARNING: { $url } is plain http (allowed by --insecure): the token and personal data cross the network unencrypted
tls-ca-unreadable = --ca-cert { $file }: cannot read it ({ $detail }); give the office's CA certificate file (PEM)
tls-ca-not-pem = --ca-cert { $file } is not a PEM certificate ({ $detail }); give the office's CA certificate file, which starts with -----BEGIN CERTIFICATE-----
tls-failed = { $server } did not prove who it is: its certificate is not trusted ({ $detail }). If the office runs its own certificate authority, give its certificate with `sigap init --ca-cert FILE` (or SIGAP_CA_CERT); check that the address is the server's own name
