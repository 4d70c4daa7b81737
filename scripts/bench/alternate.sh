#!/bin/bash
# Two checkouts of bastion side by side, 1 worker each, driven by wrk in
# alternating 4 s runs, 4 rounds per row; prints the mean req/s of each.
# For comparing a change with the code before it on a noisy machine, where
# two separate `deno task bench` runs differ by more than the change.
#
#   BASE=/path/to/old/checkout NEW=/path/to/new/checkout scripts/bench/alternate.sh
#   SPECS="50 50close 16big" ...   (rows: N connections; "close": Connection: close;
#                                    "big": a 1 MiB file instead of a 2 KiB page)
# Loopback only; needs wrk; stops both servers at the end.
set -u
export DENO_TLS_CA_STORE=${DENO_TLS_CA_STORE:-system} NO_COLOR=1
ulimit -n 20000 2>/dev/null
BASE=${BASE:?set BASE to the old checkout}; NEW=${NEW:-$(cd "$(dirname "$0")/../.." && pwd)}
ROOT=$(mktemp -d)
head -c 1536 /dev/urandom | base64 -w0 >"$ROOT/page.html"
head -c 1048576 /dev/urandom >"$ROOT/big.bin"
start() {
  (cd "$1" && exec deno run --unstable-net --v8-flags=--max-semi-space-size=8 --allow-net \
    --allow-read="$ROOT" main.ts --root "$ROOT" --port "$2" --read-only --rate-limit off \
    --ban off --log-level warn --max-connections-per-ip 100000 >/dev/null 2>&1) &
}
start "$BASE" 18301
start "$NEW" 18302
sleep 3
for spec in ${SPECS:-1 50 256 50close 16big}; do
  c=${spec%close}; c=${c%big}; hdr=(); path=/page.html
  [[ $spec == *close ]] && hdr=(-H "Connection: close")
  [[ $spec == *big ]] && path=/big.bin
  for round in 1 2 3 4; do
    for port in 18301 18302; do
      rps=$(wrk -t1 -c"$c" -d4s "${hdr[@]}" "http://127.0.0.1:$port$path" | awk '/Requests\/sec/{print $2}')
      echo "$spec $port $rps"
    done
  done
done | awk '{k=$1" "($2==18301?"base":"new"); s[k]+=$3; n[k]++} END{for(k in s) printf "%s %.0f\n", k, s[k]/n[k]}' | sort
pkill -f "port 1830[12]"
rm -rf "$ROOT"
