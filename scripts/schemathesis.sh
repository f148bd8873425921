#!/usr/bin/env bash
# Runs schemathesis (pip install schemathesis) against a real sigap-server
# on a fresh database: it reads the API description from
# /api/openapi.json, sends generated requests (valid and invalid) to every
# operation and fails on any 5xx, any status the description does not
# list, and any answer that does not fit its documented schema.
#
#   scripts/schemathesis.sh            (files in a new temporary folder)
#   scripts/schemathesis.sh DIR        (files kept in DIR: server log, reports)
#
# SIGAP_ST_EXAMPLES (default 100) bounds the examples per operation and
# phase; SIGAP_ST_SEED makes a run repeatable; SIGAP_ST names the `st`
# command to use. Python 3.11.7's parser crashes inside hypothesis while
# schemathesis builds its cases ("AST constructor recursion depth
# mismatch"): install schemathesis for Python 3.12 or newer.
set -euo pipefail
cd "$(dirname "$0")/.."

st=${SIGAP_ST:-st}
if ! command -v "$st" >/dev/null; then
  echo "schemathesis is not installed: pip install schemathesis (Python 3.12 or newer)" >&2
  exit 2
fi

cargo build --quiet -p sigap-server --bin sigap-server
bin=target/debug/sigap-server
dir=${1:-$(mktemp -d)}
mkdir -p "$dir"
rm -f "$dir"/server.db*
export SIGAP_SERVER_DB="$dir/server.db"
examples=${SIGAP_ST_EXAMPLES:-100}
seed=()
[[ -n "${SIGAP_ST_SEED:-}" ]] && seed=(--seed "$SIGAP_ST_SEED")

# Tokens for each role, a baseline and a target.
admin=$("$bin" token create --role admin --name st-admin 2>/dev/null)
supervisor=$("$bin" token create --role supervisor --name st-sari --area 33.72 2>/dev/null)
agent=$("$bin" token create --role agent --name st-budi --area 33.72.01 2>/dev/null)
agent2=$("$bin" token create --role agent --name st-rina --area 33.72.01 2>/dev/null)
year=$(date -u +%Y)
"$bin" baseline set --area 33.72 --year "$year" --working-population 262376 >/dev/null
"$bin" target set --area 33.72 --year "$year" --percent 57.02 >/dev/null

# The server, on a free port. Sign-in failures are not limited: the
# generated requests include bad tokens on purpose, and a 429 after the
# twentieth would hide what the other operations answer.
"$bin" serve --listen 127.0.0.1:0 --auth-failures-per-minute 0 \
  > "$dir/serve.out" 2> "$dir/server.log" &
server_pid=$!
trap 'kill $server_pid 2>/dev/null || true' EXIT
for _ in $(seq 100); do grep -q "listening on" "$dir/serve.out" 2>/dev/null && break; sleep 0.1; done
url=$(sed -n 's/.*listening on //p' "$dir/serve.out")
[[ -n "$url" ]] || { echo "sigap-server did not start; see $dir/server.log" >&2; exit 1; }

# A registration pushed by each of two agents for the same NIK under two
# names: one person, and an identity conflict for a supervisor.
uuid() { python3 -c 'import uuid; print(uuid.uuid4())'; }
# The protocol this build speaks (a push of another is refused with 426).
protocol=$(sed -n 's/^pub const PROTOCOL_VERSION: u32 = \([0-9]*\);/\1/p' shared/src/wire.rs)
push() { # token name
  local device change millis
  device=$(uuid)
  change=$(uuid)
  millis=$(($(date +%s) * 1000))
  curl -sf -X POST "$url/api/v1/sync/push" \
    -H "Authorization: Bearer $1" -H 'Content-Type: application/json' \
    -d '{"protocol":'"$protocol"',"device_id":"'"$device"'","changes":[{"id":"'"$change"'",
      "device_id":"'"$device"'","device_seq":1,"nik":"3372011203850001",
      "hlc":{"millis":'"$millis"',"counter":0,"device":"'"$device"'"},"kind":"register",
      "fields":{"name":"'"$2"'","birth_date":"1985-03-12","sex":"L",
      "kelurahan":"33.72.01.1001","rw":3,"rt":5,"category":"bpu","occupation":"pedagang",
      "programs":["jkk","jkm"],"status":"registered"}}]}' >/dev/null
}
push "$agent" "Budi Santoso"
push "$agent2" "Bambang Wijaya"
conflicts=$(curl -sf -H "Authorization: Bearer $admin" "$url/api/v1/conflicts")
[[ "$conflicts" == *'"status":"open"'* ]] || { echo "no conflict was made: $conflicts" >&2; exit 1; }

# 5xx, undocumented statuses, wrong content types and answers that do not
# fit their schema all fail the run.
checks=not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance
run() { # name token tags...
  local name=$1 token=$2
  shift 2
  echo "== schemathesis as $name: $*"
  # From DIR, where schemathesis keeps its example database.
  (cd "$dir" && "$st" run "$url/api/openapi.json" \
    --header "Authorization: Bearer $token" \
    --checks "$checks" \
    --max-examples "$examples" \
    "${seed[@]}" \
    --workers 2 \
    --no-color \
    --report junit --report-dir "$dir/report-$name" \
    "$@")
}
status=0
run admin "$admin" --include-tag supervision --include-tag meta || status=1
run supervisor "$supervisor" --include-tag supervision || status=1
run agent "$agent" --include-tag sync || status=1
if [[ $status -ne 0 ]]; then
  echo "schemathesis found failures; server log in $dir/server.log" >&2
fi
exit $status
