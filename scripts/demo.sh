#!/usr/bin/env bash
# SIGAP's main job on one machine, from a fresh checkout: the branch-office
# server on its embedded SQLite file, an admin setting the Kota Surakarta
# baseline and target, a field agent registering two workers offline and
# syncing, and the supervisor's coverage figures, then the address of the
# supervisors' dashboard and a supervisor token to sign in with.
#
#   scripts/demo.sh            (keeps its files in a new temporary folder)
#   scripts/demo.sh DIR        (keeps them in DIR, to look at afterwards)
#   scripts/demo.sh --serve    (then keeps the server running until Ctrl-C)
set -euo pipefail
cd "$(dirname "$0")/.."

serve=no
dir=
for arg in "$@"; do
  case "$arg" in
    --serve) serve=yes ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    -*) echo "demo.sh: unknown option $arg (use --serve or a folder)" >&2; exit 2 ;;
    *) dir=$arg ;;
  esac
done

cargo build --quiet --bins
bin=target/debug
dir=${dir:-$(mktemp -d)}
mkdir -p "$dir"
export SIGAP_SERVER_DB="$dir/server.db" SIGAP_DB="$dir/agent.db"
# The agent's database is encrypted with a passphrase; on a laptop `sigap
# init` asks for it, a script gives it here.
export SIGAP_PASSPHRASE="demo passphrase, not for the field"
say() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }
run() { say "$*"; "$@"; }

# The server, on the SQLite default, on a free port.
"$bin/sigap-server" serve --listen 127.0.0.1:0 > "$dir/serve.out" 2> "$dir/server.log" &
server_pid=$!
trap 'kill $server_pid 2>/dev/null || true' EXIT
for _ in $(seq 100); do grep -q "listening on" "$dir/serve.out" 2>/dev/null && break; sleep 0.1; done
url=$(sed -n 's/.*listening on //p' "$dir/serve.out")
echo "sigap-server is running at $url (database $SIGAP_SERVER_DB)"

# The admin: tokens, baseline, target and the membership roll. Coverage of
# a year counts who was covered by its end, so the agent's registrations
# (made today) count towards this year's target. The figures are Kota
# Surakarta's of December 2024 (227,164 working, 100,512 participants),
# loaded as this year's so the dashboard opens on 44.24% against 57.02%.
year=$(date -u +%Y)
say "sigap-server token create --role agent --name agent-budi --area 33.72.01"
agent_token=$("$bin/sigap-server" token create --role agent --name agent-budi --area 33.72.01 2>/dev/null)
echo "(token shown once: ${agent_token:0:12}…)"
say "sigap-server token create --role supervisor --name spv-sari --area 33.72"
supervisor_token=$("$bin/sigap-server" token create --role supervisor --name spv-sari --area 33.72 2>/dev/null)
run "$bin/sigap-server" baseline set --area 33.72 --year "$year" --working-population 227164
run "$bin/sigap-server" target set --area 33.72 --year "$year" --percent 57.02
# A made-up roll of 100,512 valid NIKs spread over the 54 kelurahan (the
# real roll is personal data and stays at the branch office).
awk -F, 'NR > 1 && $3 == "kelurahan" { kel[n++] = $1 }
  END {
    print "nik,kelurahan,rw,rt,category"
    split("pu bpu jakon pmi", cat, " ")
    for (i = 0; i < 100512; i++) {
      code = kel[i % n]; k = int(i / n)
      kec = substr(code, 1, 8); gsub(/\./, "", kec)
      printf "%s%02d%02d%02d%04d,%s,%d,%d,%s\n", kec, k % 28 + 1, int(k / 28) % 12 + 1,
        60 + int(k / 336) % 40, i % n + 1, code, i % 7 + 1, i % 5 + 1, cat[i % 4 + 1]
    }
  }' shared/data/wilayah-surakarta.csv > "$dir/roll.csv"
run "$bin/sigap-server" participants import "$dir/roll.csv"

# The agent, in the field (no connection needed for any of this).
say "sigap init --server $url --device-name laptop-budi --token <agent-budi's token>"
"$bin/sigap" init --server "$url" --device-name laptop-budi --token "$agent_token"
run "$bin/sigap" register --nik 3372011203850001 --name "Budi Santoso" --birth-date 1985-03-12 --sex L \
  --kelurahan 33.72.01.1001 --rw 3 --rt 5 --category bpu --occupation pedagang
run "$bin/sigap" register --nik 3372015203900002 --name "Siti Aminah" --birth-date 1990-03-12 --sex P \
  --kelurahan 33.72.01.1002 --rw 1 --rt 2 --category pu --occupation buruh --employer "PT Batik Solo" \
  --programs jkk,jkm,jht,jp
run "$bin/sigap" list
run "$bin/sigap" status

# Back at the office.
run "$bin/sigap" sync
run "$bin/sigap" lookup 3372011203850001

# The supervisor's view, over HTTP (JSON) and from the office database.
if command -v curl >/dev/null; then
  say "curl -H 'Authorization: Bearer <spv-sari>' '$url/api/v1/coverage?area=33.72&year=$year'"
  curl -s -H "Authorization: Bearer $supervisor_token" "$url/api/v1/coverage?area=33.72&year=$year"
  echo
fi
run "$bin/sigap-server" coverage show --area 33.72 --year "$year" --depth 1
echo
echo "Files of this run are in $dir."
echo
printf '\033[1mThe supervisors'"'"' dashboard: %s/\033[0m\n' "$url"
echo "Sign in there with the supervisor token of spv-sari (Kota Surakarta):"
echo "  $supervisor_token"
if [ "$serve" = yes ]; then
  echo "The server keeps running; press Ctrl-C to stop it."
  trap 'echo; echo "Stopping the server."; kill $server_pid 2>/dev/null || true; exit 0' INT TERM
  wait $server_pid
else
  echo "The server stops now (scripts/demo.sh --serve keeps it running)."
fi
