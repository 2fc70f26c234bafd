#!/usr/bin/env bash
# Bounded load test: CONNECTIONS (64) clients send mixed ticket and data traffic to a release
# server over the shared test data for DURATION (60) seconds, on loopback only, then it stops.
# Fails on any socket error, any non-2xx response (5xx counted apart), an ERROR in the server's
# log, or RSS growth. RSS is printed before (after a WARMUP burst of the same mix, 10 s), at peak,
# after, and at each quarter of the run; the allocator settles at its working size for 64
# connections early in the run, so a leak shows as growth over the run's second half, which may
# be at most RSS_GROWTH_LIMIT_MB (8).
#
#   bench/load-test.sh                  # 60 s over ../shared/data, or $HTSGET_TEST_DATA
#   DURATION=10 bench/load-test.sh      # shorter
#   RELOAD_EVERY=2 bench/load-test.sh   # and a SIGHUP reload every 2 s of the run (none may fail)
#
# The mix: GET tickets over several ids and formats (regions, whole references, class=header),
# a POST with two regions, service-info, and the data URLs of real tickets fetched at start
# (Range requests and deferred ?span= blocks). Installs wrk (Debian package) if missing; needs
# curl and python3.
set -euo pipefail
cd "$(dirname "$0")/.."

DATA=${HTSGET_TEST_DATA:-$PWD/../shared/data}
DURATION=${DURATION:-60}
WARMUP=${WARMUP:-10}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}
PORT=${PORT:-18400}
RSS_GROWTH_LIMIT_MB=${RSS_GROWTH_LIMIT_MB:-8}
BASE=http://127.0.0.1:$PORT
WORK=$(mktemp -d)
SERVER=
SAMPLER=
RELOADER=
RELOAD_EVERY=${RELOAD_EVERY:-}

cleanup() {
  [ -n "$SAMPLER" ] && kill "$SAMPLER" 2>/dev/null || true
  [ -n "$RELOADER" ] && kill "$RELOADER" 2>/dev/null || true
  [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }

[ -f "$DATA/ground_truth.tsv" ] || fail "no test data at $DATA (set HTSGET_TEST_DATA)"
for tool in curl python3; do command -v "$tool" >/dev/null || fail "$tool is needed"; done
if ! command -v wrk >/dev/null; then
  apt-get update -qq && apt-get install -y -qq wrk >/dev/null
fi

# ---------------------------------------------------------------------------------------------
# The server

cargo build --release -q -p htsget-server
RUST_LOG=warn,htsget_server::server=info ./target/release/htsget-server --data "$DATA" \
  --bind "127.0.0.1:$PORT" 2>"$WORK/server.log" &
SERVER=$!
for _ in $(seq 100); do curl -sf "$BASE/reads/service-info" >/dev/null && break; sleep 0.1; done
curl -sf "$BASE/reads/service-info" >/dev/null || fail "the server did not start: $(cat "$WORK/server.log")"

rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$SERVER/status"; }
mb() { echo $(( $1 / 1024 )); }

# ---------------------------------------------------------------------------------------------
# The mix

BAM=/reads/bam/htsnexus_test_NA12878
CRAM=/reads/cram/htsnexus_test_NA12878
VCF=/variants/vcf/sample1-bcbio-cancer
BCF=/variants/bcf/sample1-bcbio-cancer
TICKETS=(
  "$BAM?referenceName=11&start=4999999&end=5050000"
  "$BAM?referenceName=20&start=1000000&end=1100000"
  "$BAM?referenceName=11&start=5000000&end=5001000"
  "$BAM?class=header"
  "$CRAM?format=CRAM&referenceName=11&start=4999999&end=5050000"
  "$CRAM?format=CRAM&referenceName=20"
  "$VCF?referenceName=chrM&start=0&end=4000"
  "$VCF?class=header"
  "$BCF?format=BCF&referenceName=chr22"
  "/reads/bam/range?referenceName=CHROMOSOME_I"
  "/variants/vcf/index_level0?referenceName=1"
  "/reads/service-info"
)
POST_BODY='{"format":"BAM","regions":[{"referenceName":"11","start":4999999,"end":5000500},{"referenceName":"20","start":0,"end":2000000}]}'
# Tickets whose data URLs are replayed.
DATA_TICKETS=(
  "$BAM?referenceName=11&start=4999999&end=5050000"
  "$BAM?referenceName=20&start=0&end=2000000"
  "$CRAM?format=CRAM&referenceName=11&start=4999999&end=5050000"
  "$VCF?referenceName=chrM&start=0&end=4000"
)

lua_request() { # METHOD PATH [HEADER-TABLE [BODY]]
  local headers='{}' body=nil
  [ $# -ge 3 ] && headers=$3
  [ $# -ge 4 ] && body=$4
  printf 'add("%s", [[%s]], %s, %s)\n' "$1" "$2" "$headers" "$body"
}

{
  echo 'local requests = {}'
  echo 'local function add(method, path, headers, body)'
  echo '  requests[#requests + 1] = wrk.format(method, path, headers, body)'
  echo 'end'
  for t in "${TICKETS[@]}"; do lua_request GET "$t"; done
  lua_request POST "$BAM" '{["Content-Type"] = "application/json"}' "[[$POST_BODY]]"

  i=0
  for t in "${DATA_TICKETS[@]}"; do
    curl -sf "$BASE$t" >"$WORK/ticket$i.json" || fail "ticket $t"
    i=$((i + 1))
  done
  python3 - "$BASE" "$WORK"/ticket*.json <<'PY'
import json, sys

base = sys.argv[1]
for name in sys.argv[2:]:
    for url in json.load(open(name))["htsget"]["urls"]:
        if not url["url"].startswith(base + "/data/"):
            continue  # inline data: blocks
        rng = url.get("headers", {}).get("Range")
        headers = '{["Range"] = "%s"}' % rng if rng else "{}"
        print('add("GET", [[%s]], %s, nil)' % (url["url"][len(base):], headers))
PY

  cat <<'LUA'
local threads, started = {}, 0

function setup(thread)
  thread:set("id", started)
  started = started + 1
  table.insert(threads, thread)
end

function init(args)
  at = id * 7 -- threads start at different places of the rotation
  answered, server_errors, other_errors = 0, 0, 0
end

function request()
  at = at % #requests + 1
  return requests[at]
end

function response(status, headers, body)
  answered = answered + 1
  if status >= 500 then
    server_errors = server_errors + 1
  elseif status < 200 or status >= 300 then
    other_errors = other_errors + 1
  end
end

function done(summary, latency, requests)
  local a, s, o = 0, 0, 0
  for _, thread in ipairs(threads) do
    a = a + thread:get("answered")
    s = s + thread:get("server_errors")
    o = o + thread:get("other_errors")
  end
  io.write(string.format("answered: %d; 5xx: %d; other non-2xx: %d\n", a, s, o))
end
LUA
} >"$WORK/mix.lua"

ENTRIES=$(grep -c '^add(' "$WORK/mix.lua")
DATA_ENTRIES=$(grep -c '^add("GET", \[\[/data/' "$WORK/mix.lua")

# Warm up (every entry once, checked) so that "before" has the caches filled.
python3 - "$BASE" "$WORK/mix.lua" <<'PY'
import re, subprocess, sys

base, lua = sys.argv[1], open(sys.argv[2]).read()
for method, path, headers, body in re.findall(
    r'^add\("(\w+)", \[\[(.*?)\]\], (\{.*?\}), (nil|\[\[.*?\]\])\)$', lua, re.M
):
    args = ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", method]
    for name, value in re.findall(r'\["([^"]+)"\] = "([^"]+)"', headers):
        args += ["-H", f"{name}: {value}"]
    if body != "nil":
        args += ["--data-binary", body[2:-2]]
    status = subprocess.run(args + [base + path], capture_output=True, text=True).stdout
    if not status.startswith("2"):
        sys.exit(f"warm-up: {method} {path} {headers}: {status}")
PY

# ---------------------------------------------------------------------------------------------
# The run

load() { # SECONDS OUTPUT
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"$1s" --timeout 10s --latency -s "$WORK/mix.lua" "$BASE" >"$2"
}

idle=$(rss_kb)
echo "warm-up: ${WARMUP}s of the same mix"
load "$WARMUP" "$WORK/warmup.txt"
sleep 2
before=$(rss_kb)
( while kill -0 "$SERVER" 2>/dev/null; do rss_kb; sleep 0.5; done ) >"$WORK/rss" 2>/dev/null &
SAMPLER=$!

echo "load: $CONNECTIONS connections, $THREADS wrk threads, ${DURATION}s on $BASE;" \
  "$ENTRIES requests in rotation ($DATA_ENTRIES data URLs)"
if [ -n "$RELOAD_EVERY" ]; then
  ( while sleep "$RELOAD_EVERY"; do kill -HUP "$SERVER"; done ) &
  RELOADER=$!
fi
load "$DURATION" "$WORK/wrk.txt"
[ -n "$RELOADER" ] && { kill "$RELOADER" 2>/dev/null || true; RELOADER=; }
cat "$WORK/wrk.txt"
[ -n "$RELOAD_EVERY" ] &&
  echo "reloads applied during the run: $(grep -c 'configuration reloaded' "$WORK/server.log")"

kill "$SAMPLER" 2>/dev/null || true
SAMPLER=
sleep 2
after=$(rss_kb)
peak=$(sort -n "$WORK/rss" | tail -1)
peak=${peak:-$after}

# ---------------------------------------------------------------------------------------------
# The verdict

status=0
problem() { echo "FAIL: $*" >&2; status=1; }

# Checks one wrk output: socket errors, non-2xx, and the script's own counts.
check() { # OUTPUT LABEL
  local socket non2xx answered server_errors other_errors
  socket=$(grep -E '^ +Socket errors' "$1" || true)
  non2xx=$(awk '/Non-2xx or 3xx responses/ {print $NF}' "$1")
  read -r answered server_errors other_errors < <(
    sed -nE 's/^answered: ([0-9]+); 5xx: ([0-9]+); other non-2xx: ([0-9]+)$/\1 \2 \3/p' "$1"
  ) || true
  [ -z "$socket" ] || problem "$2:$socket"
  [ -z "$non2xx" ] || problem "$2: $non2xx non-2xx responses"
  [ "${server_errors:-1}" -eq 0 ] || problem "$2: ${server_errors:-?} 5xx responses"
  [ "${other_errors:-1}" -eq 0 ] || problem "$2: ${other_errors:-?} other non-2xx responses"
  [ "${answered:-0}" -gt 0 ] || problem "$2: no response counted"
  echo "$2: $(awk '/^Requests\/sec/ {print $2}' "$1") requests/s; answered ${answered:-?};" \
    "5xx ${server_errors:-?}; other non-2xx ${other_errors:-?}"
}

echo
check "$WORK/warmup.txt" warm-up
check "$WORK/wrk.txt" load
echo "server RSS: idle $(mb "$idle") MB; before (after the warm-up) $(mb "$before") MB;" \
  "peak $(mb "$peak") MB; after $(mb "$after") MB"
read -r quarter half three_quarters end < <(awk '{ v[NR] = $1 }
  END { for (q = 1; q <= 4; q++) { i = int(NR * q / 4); if (i < 1) i = 1; printf "%d ", v[i] }
        print "" }' "$WORK/rss") || true
half=${half:-$before} end=${end:-$after}
echo "server RSS during the run, at 1/4, 1/2, 3/4 and the end:" \
  "$(mb "${quarter:-0}") / $(mb "$half") / $(mb "${three_quarters:-0}") / $(mb "$end") MB"

[ -s "$WORK/rss" ] || problem "no RSS sample was taken during the run"
growth=$(( (end - half) / 1024 ))
[ "$growth" -le "$RSS_GROWTH_LIMIT_MB" ] ||
  problem "RSS grew by $growth MB over the second half of the run (limit $RSS_GROWTH_LIMIT_MB MB)"
kill -0 "$SERVER" 2>/dev/null && curl -sf "$BASE/reads/service-info" >/dev/null ||
  problem "the server is gone after the run"
if grep -q ERROR "$WORK/server.log"; then
  problem "errors in the server log:"
  grep -m 5 ERROR "$WORK/server.log" >&2
fi

[ "$status" -eq 0 ] && echo "PASS"
exit "$status"
