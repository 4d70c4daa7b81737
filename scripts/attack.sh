#!/usr/bin/env bash
# scripts/attack.sh: slow-HTTP attacks against a local bastion, with an honest client watching.
#
# For each of slowhttptest's slowloris (-H), slow-body (-B) and slow-read (-X) modes it:
#   1. starts a fresh bastion on 127.0.0.1 (free port, DEFAULT limits) over a temporary copy of
#      resources/ plus a 1 MiB file, so nothing is written into the repository;
#   2. runs slowhttptest against it for a bounded time (ATTACK_SECONDS, default 40 s);
#   3. meanwhile sends one honest `curl` GET / per second from 127.0.0.2, so the per-address
#      limits (256 connections, bans) hit the attacker on 127.0.0.1 and not the probe;
#   4. prints one summary line: probes answered 200 / sent, median and max latency,
#      slowhttptest's own verdict, and what bastion logged (408s, 503s, bans, errors).
# A fresh instance per mode keeps one attack's ban of 127.0.0.1 from skewing the next one.
# slowhttptest's own "service available" probe comes from 127.0.0.1 too, and it counts any
# answer (a 503 from the per-address cap included) as available: the 127.0.0.2 probe is the
# measure that matters.
#
# Run:  bash scripts/attack.sh          (Linux, loopback only; ~2.5 minutes)
# Env:  DENO (default: npx --yes deno@<.deno-version>), ATTACK_SECONDS (default 40),
#       ATTACK_CONNECTIONS (default 1000), ATTACK_RATE (default 200/s), KEEP_LOGS=1 keeps the
#       temporary directory (logs, slowhttptest CSV/HTML) and prints its path.
# Installs slowhttptest and curl with apt-get when they are missing (needs root).
set -euo pipefail

cd "$(dirname "$0")/.."
REPO=$(pwd)
DENO=${DENO:-"npx --yes deno@$(cat "$REPO/.deno-version")"}
ATTACK_SECONDS=${ATTACK_SECONDS:-40}
ATTACK_CONNECTIONS=${ATTACK_CONNECTIONS:-1000}
ATTACK_RATE=${ATTACK_RATE:-200}
PROBE_FROM=127.0.0.2
TARGET_HOST=127.0.0.1

if ((ATTACK_SECONDS < 5 || ATTACK_SECONDS > 45)); then
  echo "attack.sh: ATTACK_SECONDS must be 5..45" >&2
  exit 2
fi

# ---------------------------------------------------------------------------------------------
# Tools
missing=()
command -v slowhttptest >/dev/null 2>&1 || missing+=(slowhttptest)
command -v curl >/dev/null 2>&1 || missing+=(curl)
if ((${#missing[@]} > 0)); then
  echo "attack.sh: installing ${missing[*]}: apt-get update && apt-get install -y ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
else
  echo "attack.sh: slowhttptest and curl already installed, nothing to install"
fi
st_version=$( (slowhttptest -h 2>&1 || true) | grep -m1 -o 'version [0-9.]*' || true)
echo "attack.sh: slowhttptest ${st_version:-version unknown}, $(curl --version | head -1 | cut -d' ' -f1-2)"

# slowhttptest needs one descriptor per connection; bastion inherits the same limit.
hard=$(ulimit -Hn)
if [[ $hard == unlimited ]] || ((hard >= 8192)); then ulimit -n 8192; else ulimit -n "$hard"; fi

# ---------------------------------------------------------------------------------------------
# Processes and clean-up
WORK=$(mktemp -d "${TMPDIR:-/tmp}/bastion-attack.XXXXXX")
BASTION_PID=""
ATTACK_PID=""
PROBE_PIDS=()

stop_bastion() {
  [[ -n $BASTION_PID ]] || return 0
  # bastion runs in its own session (setsid): its process group id is BASTION_PID, which
  # covers npx and the deno it starts. SIGTERM = graceful shutdown; SIGKILL if it lingers.
  kill -TERM -- "-$BASTION_PID" 2>/dev/null || true
  for _ in $(seq 1 60); do
    kill -0 -- "-$BASTION_PID" 2>/dev/null || break
    sleep 0.25
  done
  kill -KILL -- "-$BASTION_PID" 2>/dev/null || true
  wait "$BASTION_PID" 2>/dev/null || true
  BASTION_PID=""
}

cleanup() {
  local rc=$?
  for pid in "${PROBE_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  if [[ -n $ATTACK_PID ]]; then
    kill "$ATTACK_PID" 2>/dev/null || true
    wait "$ATTACK_PID" 2>/dev/null || true
  fi
  stop_bastion
  if [[ ${KEEP_LOGS:-} == 1 ]]; then
    echo "attack.sh: logs kept in $WORK"
  else
    rm -rf "$WORK"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------------------------------------
# Web root: a temporary copy of resources/ plus a 1 MiB file for the slow-read attack.
ROOT="$WORK/root"
cp -R "$REPO/resources" "$ROOT"
find "$ROOT/uploads" -type f ! -name .gitkeep -delete
mkdir -p "$ROOT/uploads"
head -c 1048576 /dev/zero | tr '\0' 'a' >"$ROOT/big.html"
ROOT=$(cd "$ROOT" && pwd -P)

# shellcheck disable=SC2206 # DENO is a command line on purpose (e.g. "npx --yes deno@2.9.6")
DENO_CMD=($DENO)
BASTION_CMD=("${DENO_CMD[@]}" run --unstable-net --allow-net "--allow-read=$ROOT"
  "--allow-write=$ROOT/uploads" main.ts --root "$ROOT" --host "$TARGET_HOST" --port 0)
echo "attack.sh: bastion command: ${BASTION_CMD[*]}"

start_bastion() { # $1 = log file; sets BASTION_PID and PORT
  local log=$1
  setsid "${BASTION_CMD[@]}" >"$log" 2>&1 </dev/null &
  BASTION_PID=$!
  PORT=""
  for _ in $(seq 1 240); do
    PORT=$(grep -m1 -o 'listening on http://127\.0\.0\.1:[0-9]*/' "$log" 2>/dev/null |
      sed 's/.*:\([0-9]*\)\//\1/' || true)
    [[ -n $PORT ]] && break
    if ! kill -0 "$BASTION_PID" 2>/dev/null; then
      echo "attack.sh: bastion exited before listening:" >&2
      cat "$log" >&2
      exit 1
    fi
    sleep 0.25
  done
  if [[ -z $PORT ]]; then
    echo "attack.sh: no banner from bastion within 60 s:" >&2
    cat "$log" >&2
    exit 1
  fi
  # The honest path must work before the attack starts.
  local code
  code=$(curl --interface "$PROBE_FROM" -s -o /dev/null -w '%{http_code}' --max-time 5 \
    "http://$TARGET_HOST:$PORT/" || true)
  if [[ $code != 200 ]]; then
    echo "attack.sh: sanity probe before the attack got '$code', not 200" >&2
    cat "$log" >&2
    exit 1
  fi
}

stats() { # stdin: one latency (seconds) a line -> "median max" in ms, or "- -"
  sort -n | awk '{ v[NR] = $1 } END {
    if (NR == 0) { print "- -"; exit }
    m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
    printf "%.0fms %.0fms\n", m * 1000, v[NR] * 1000
  }'
}

SUMMARY=()

run_attack() { # $1 = name, $2... = slowhttptest mode options
  local name=$1
  shift
  local dir="$WORK/$name"
  mkdir -p "$dir/probes"
  echo
  echo "=== $name ==="
  start_bastion "$dir/bastion.log"
  local url_path=/
  local -a opts=("$@")
  case $name in
    slow-body) url_path=/upload ;;
    slow-read) url_path=/big.html ;;
  esac
  local -a attack=(slowhttptest "${opts[@]}" -c "$ATTACK_CONNECTIONS" -r "$ATTACK_RATE"
    -l "$ATTACK_SECONDS" -u "http://$TARGET_HOST:$PORT$url_path" -g -o "$dir/report")
  echo "bastion pid $BASTION_PID on port $PORT"
  echo "attack: ${attack[*]}"
  local started=$SECONDS
  # timeout bounds slowhttptest even if it ignores -l; it runs in the background so that
  # the probe below keeps a one-per-second cadence.
  timeout --kill-after=5 $((ATTACK_SECONDS + 10)) "${attack[@]}" >"$dir/slowhttptest.out" 2>&1 \
    </dev/null &
  ATTACK_PID=$!
  local n=0
  PROBE_PIDS=()
  while kill -0 "$ATTACK_PID" 2>/dev/null && ((SECONDS - started < ATTACK_SECONDS + 10)); do
    n=$((n + 1))
    curl --interface "$PROBE_FROM" -s -o /dev/null --max-time 10 \
      -w '%{http_code} %{time_total}\n' "http://$TARGET_HOST:$PORT/" >"$dir/probes/$n" 2>&1 &
    PROBE_PIDS+=($!)
    sleep 1
  done
  wait "$ATTACK_PID" 2>/dev/null && attack_rc=0 || attack_rc=$?
  ATTACK_PID=""
  local attack_secs=$((SECONDS - started))
  for pid in "${PROBE_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  PROBE_PIDS=()

  # One more honest request after the attack, then stop bastion (SIGTERM) and read its log.
  local after
  after=$(curl --interface "$PROBE_FROM" -s -o /dev/null --max-time 5 \
    -w '%{http_code} in %{time_total}s' "http://$TARGET_HOST:$PORT/" || true)
  stop_bastion

  local total ok
  total=$n
  ok=$(cat "$dir"/probes/* 2>/dev/null | awk '$1 == 200' | wc -l || true)
  local lat
  lat=$(cat "$dir"/probes/* 2>/dev/null | awk '$1 == 200 { print $2 }' | stats || true)
  local other
  other=$(cat "$dir"/probes/* 2>/dev/null | awk '$1 != 200 { print $1 }' | sort | uniq -c |
    awk '{ printf "%s%sx%s", sep, $1, $2; sep = "," }' || true)
  local verdict
  verdict=$(tr '\r' '\n' <"$dir/slowhttptest.out" | grep -E 'service available|Exit status' |
    tail -2 | sed 's/\x1b\[[0-9;]*m//g; s/^[[:space:]]*//' | paste -sd';' - || true)
  local log="$dir/bastion.log"
  local statuses reasons errors stack stopped
  # Access-log statuses per client address, e.g. "127.0.0.1:503x744".
  statuses=$(grep -E '^[0-9TZ:.-]+ INFO w[0-9]+#c[0-9]+ ' "$log" |
    awk '{ for (i = 5; i <= NF; i++) if ($i ~ /HTTP\/1\.[01]"$|^"-"$/) { print $4 ":" $(i + 1); break } }' |
    sort | uniq -c | awk '{ printf "%s%sx%s", sep, $2, $1; sep = " " }' || true)
  reasons=$(grep ' WARN ' "$log" | grep -o 'reason=[a-z]*' | sort | uniq -c |
    awk '{ printf "%s%s=%s", sep, substr($2, 8), $1; sep = " " }' || true)
  errors=$(grep -Eci ' ERROR |uncaught|panic|exception' "$log" || true)
  stack=$(grep -Ec '^[[:space:]]+at ' "$log" || true)
  stopped=$(grep -q 'bastion stopped' "$log" && echo yes || echo no)

  echo "slowhttptest exit code $attack_rc; last lines of its output:"
  tr '\r' '\n' <"$dir/slowhttptest.out" | sed 's/\x1b\[[0-9;]*m//g' | grep -v '^[[:space:]]*$' |
    tail -6 | sed 's/^/  | /' || true
  if [[ -f $dir/report.csv ]]; then
    echo "slowhttptest CSV (seconds,closed,pending,connected,service available), last 3 rows:"
    tail -3 "$dir/report.csv" | sed 's/^/  | /'
  fi
  echo "bastion log: $(wc -l <"$log") lines; error-like lines: $errors; stack-trace lines: $stack"
  echo "  access log (client:status x count): ${statuses:-none}"
  echo "  security events (WARN reason=count): ${reasons:-none}"
  echo "bastion log, first security alerts and any error lines:"
  grep -Ei 'alert|ban|error|uncaught|panic|exception|^[[:space:]]+at |connections [0-9]+/' "$log" |
    head -8 | cut -c1-220 | sed 's/^/  | /' || true
  echo "bastion log, last 3 lines:"
  tail -3 "$log" | cut -c1-220 | sed 's/^/  | /'
  echo "after the attack: GET / from $PROBE_FROM -> ${after:-no answer}; graceful stop logged: $stopped"
  # shellcheck disable=SC2086 # two words on purpose
  set -- $lat
  SUMMARY+=("$(printf '%-10s %4ss  probes %3s/%-3s ok  median %-7s max %-7s  %s  slowhttptest: %s' \
    "$name" "$attack_secs" "$ok" "$total" "$1" "$2" "${other:+other: $other }" \
    "${verdict:-no verdict line}")")
  echo "SUMMARY ${SUMMARY[-1]}"
}

# ---------------------------------------------------------------------------------------------
# The three attacks. -i 5: follow-up data every 5 s (slowhttptest's default is 10 s).
run_attack slowloris -H -i 5
run_attack slow-body -B -i 5 -s 8192
run_attack slow-read -X -w 1 -y 2 -n 5 -z 32 -k 3

echo
echo "=== summary (honest probe: GET / from $PROBE_FROM once a second; attacker on $TARGET_HOST) ==="
printf '%s\n' "${SUMMARY[@]}"
