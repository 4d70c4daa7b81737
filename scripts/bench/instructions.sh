#!/bin/bash
# Instructions bastion executes per request, counted by valgrind's callgrind:
# two checkouts, each serving FEW and then MANY keep-alive GETs of a 2 KiB
# page (scripts/bench/keepalive_client.ts) under callgrind; the difference
# over MANY - FEW is the cost of one request, startup left out. Unlike req/s,
# the count barely moves with the machine's load, so it shows a change of a
# few percent that a noisy `deno task bench` cannot (docs/performance.md).
#
#   BASE=/path/to/old/checkout [NEW=...] [ROUNDS=2] scripts/bench/instructions.sh
# Loopback only; needs valgrind (Debian package); each run takes about 30 s.
set -u
export DENO_TLS_CA_STORE=${DENO_TLS_CA_STORE:-system} NO_COLOR=1
BASE=${BASE:?set BASE to the old checkout}; NEW=${NEW:-$(cd "$(dirname "$0")/../.." && pwd)}
FEW=${FEW:-200}; MANY=${MANY:-1200}
CLIENT="$NEW/scripts/bench/keepalive_client.ts"
DENO=$(readlink -f "$(command -v deno)")
ROOT=$(mktemp -d); OUT=$(mktemp -d)
head -c 1536 /dev/urandom | base64 -w0 >"$ROOT/page.html"
trap 'rm -rf "$ROOT" "$OUT"' EXIT

# count CHECKOUT REQUESTS PORT: instructions of the whole server process.
count() {
  (cd "$1" && exec valgrind --tool=callgrind --callgrind-out-file="$OUT/cg.%p" "$DENO" run \
    --unstable-net --v8-flags=--max-semi-space-size=8 --allow-net --allow-read="$ROOT" \
    main.ts --root "$ROOT" --port "$3" --read-only --max-requests-per-connection 1000000 \
    >/dev/null 2>&1) &
  local server=$!
  for _ in $(seq 1 240); do
    (exec 3<>"/dev/tcp/127.0.0.1/$3") 2>/dev/null && break
    sleep 0.5
  done
  deno run --allow-net=127.0.0.1 "$CLIENT" "$3" "$2" >/dev/null
  kill -TERM "$server"; wait "$server"
  awk '/^(summary|totals):/ {print $2; exit}' "$OUT"/cg.*
  rm -f "$OUT"/cg.*
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

for side in BASE NEW; do
  dir=${!side}; few=(); many=()
  for round in $(seq 1 "${ROUNDS:-2}"); do
    few+=("$(count "$dir" "$FEW" 18401)"); many+=("$(count "$dir" "$MANY" 18401)")
  done
  f=$(printf '%s\n' "${few[@]}" | median); m=$(printf '%s\n' "${many[@]}" | median)
  echo "$side $(cd "$dir" && git rev-parse --short HEAD): $FEW requests ${few[*]}; $MANY requests ${many[*]}; per request $(((m - f) / (MANY - FEW)))"
done
