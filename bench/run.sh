#!/usr/bin/env bash
# One command for the speed table: generates the data (once), starts our server and nginx on
# the same files, drives both with wrk on loopback, and prints the table with ratios.
#
#   bench/run.sh                 # data in ./large (SCALE=1) and ./large-0.1 (SCALE=0.1)
#   DURATION=10 bench/run.sh     # seconds per wrk run (default 8)
#
# Installs wrk, nginx, samtools, bcftools, tabix with apt-get if missing. Loopback only.
set -euo pipefail
cd "$(dirname "$0")/.."
TOP=$PWD
SHARED=${SHARED:-$TOP/../shared}
BIG=${BIG:-$TOP/large}
SMALL=${SMALL:-$TOP/large-0.1}
DURATION=${DURATION:-8}
PORT=${PORT:-18300}
NGINX_PORT=${NGINX_PORT:-18301}
WORK=$(mktemp -d)
export LC_ALL=C

need=()
for t in wrk nginx samtools bcftools bgzip curl bc; do command -v $t >/dev/null || need+=("$t"); done
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq
  apt-get install -y -qq wrk nginx-light samtools bcftools tabix curl bc >/dev/null
fi

[ -f "$BIG/large.bam" ] || OUT=$BIG SCALE=1 "$SHARED/tools/make-large.sh"
[ -f "$SMALL/large.bam" ] || OUT=$SMALL SCALE=0.1 NO_CRAM=1 "$SHARED/tools/make-large.sh"

# One data root holding both scales: ids s1/large and s01/large.
ROOT=$WORK/root
mkdir -p "$ROOT"
ln -s "$BIG" "$ROOT/s1"
ln -s "$SMALL" "$ROOT/s01"

cargo build --release -q -p htsget-server
BIN=$TOP/target/release/htsget-server

cleanup() {
  [ -n "${SERVER:-}" ] && kill "$SERVER" 2>/dev/null || true
  [ -f "$WORK/nginx.pid" ] && kill "$(cat "$WORK/nginx.pid")" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

# ---- footprint: binary size, start-up time, idle RSS
SIZE_MB=$(echo "scale=1; $(stat -c %s "$BIN") / 1048576" | bc)
t0=$(date +%s%N)
RUST_LOG=warn "$BIN" --data "$ROOT" --follow-symlinks --bind 127.0.0.1:$PORT >/dev/null 2>&1 &
SERVER=$!
until curl -sf "http://127.0.0.1:$PORT/reads/service-info" >/dev/null; do sleep 0.001; done
STARTUP_MS=$(( ($(date +%s%N) - t0) / 1000000 ))
IDLE_RSS_MB=$(( $(awk '/VmRSS/ {print $2}' /proc/$SERVER/status) / 1024 ))

# ---- cold ticket: the first ticket for the 1.8 GB BAM (index and header not cached)
COLD_MS=$(curl -s -o /dev/null -w '%{time_total}' \
  "http://127.0.0.1:$PORT/reads/s1/large?referenceName=chr1&start=7000000&end=7100000" | awk '{printf "%.1f", $1 * 1000}')

# ---- nginx with sendfile on the same files
mkdir -p "$WORK/ngx"
chmod 755 "$WORK"
NGINX_USER=""
[ "$(id -u)" = 0 ] && NGINX_USER="user root;"
cat > "$WORK/nginx.conf" <<NGX
$NGINX_USER
worker_processes 2;
pid $WORK/nginx.pid;
error_log $WORK/ngx/error.log;
events { worker_connections 1024; }
http {
  access_log off; sendfile on; tcp_nopush on; keepalive_requests 1000000;
  client_body_temp_path $WORK/ngx/b; proxy_temp_path $WORK/ngx/p; fastcgi_temp_path $WORK/ngx/f;
  uwsgi_temp_path $WORK/ngx/u; scgi_temp_path $WORK/ngx/s;
  server { listen 127.0.0.1:$NGINX_PORT; root $ROOT; location / { } }
}
NGX
nginx -c "$WORK/nginx.conf"

# ---- wrk scripts
regions_lua() { # regions_lua FORMAT ID SIZE -> a wrk script asking random SIZE-bp region tickets
  cat <<LUA
local refs = {{"chr1", 69990000}, {"chr2", 49990000}, {"chr3", 29990000}}
math.randomseed(7)
local size = $3
request = function()
  local r = refs[math.random(1, #refs)]
  local len = r[2]
  if size > 0 then
    local s = math.random(10000, math.max(10001, math.floor(len * $SCALE_FACTOR) - size))
    return wrk.format("GET", "/$1/$2?referenceName=" .. r[1] .. "&start=" .. s .. "&end=" .. (s + size))
  end
  return wrk.format("GET", "/$1/$2?referenceName=" .. r[1])
end
LUA
}

rps() { # rps CONNECTIONS SCRIPT|- URL -> requests/s
  local script=()
  [ "$2" != - ] && script=(-s "$2")
  wrk -t2 -c"$1" -d"${DURATION}s" "${script[@]}" "$3" > "$WORK/wrk.out"
  if grep -q "Non-2xx" "$WORK/wrk.out"; then echo "non-2xx responses:" >&2; cat "$WORK/wrk.out" >&2; exit 1; fi
  awk '/Requests\/sec/ {printf "%d", $2}' "$WORK/wrk.out"
}

U=http://127.0.0.1:$PORT
SCALE_FACTOR=1 regions_lua reads s1/large 100000 > "$WORK/bam.lua"
SCALE_FACTOR=1 regions_lua variants s1/large 100000 > "$WORK/vcf.lua"
for s in 1 2; do curl -s "$U/variants/s1/large?referenceName=chr1&start=0&end=10" >/dev/null; done

INFO=$(rps 16 - "$U/reads/service-info")
BAM=$(rps 16 "$WORK/bam.lua" "$U")
VCF=$(rps 16 "$WORK/vcf.lua" "$U")

wrk -t2 -c64 -d"${DURATION}s" --latency -s "$WORK/bam.lua" "$U" > "$WORK/lat.out"
P50=$(awk '$1 == "50%" {print $2}' "$WORK/lat.out")
P99=$(awk '$1 == "99%" {print $2}' "$WORK/lat.out")
LAT_RPS=$(awk '/Requests\/sec/ {printf "%d", $2}' "$WORK/lat.out")

# ---- data: 1 GiB ranges, ours against nginx, 1 and 16 streams, alternating, CPU per GiB
cpu_ticks() { awk '{print $14 + $15}' /proc/$1/stat; }
nginx_ticks() { local t=0; for p in $(pgrep -f "nginx: worker"); do t=$(( t + $(cpu_ticks "$p") )); done; echo $t; }
download() { # download URL N -> GiB/s; fails unless every client got exactly 1 GiB
  local start end
  start=$(date +%s%N)
  for i in $(seq "$2"); do
    curl -s -H "Range: bytes=0-1073741823" -w '%{size_download}\n' "$1" -o /dev/null > "$WORK/dl.$i" &
  done
  wait
  end=$(date +%s%N)
  for i in $(seq "$2"); do
    [ "$(cat "$WORK/dl.$i")" = 1073741824 ] || { echo "short download from $1: $(cat "$WORK/dl.$i")" >&2; exit 1; }
  done
  echo "scale=3; $2 * 1000000000 / ($end - $start)" | bc
}
HZ=$(getconf CLK_TCK)
declare -A GBS CPU
for n in 1 16; do
  for who in ours nginx; do GBS[$who$n]=0; CPU[$who$n]=0; done
  for rep in 1 2 3; do
    for who in ours nginx; do
      if [ $who = ours ]; then url=$U/data/s1/large.bam; before=$(cpu_ticks $SERVER); else url=http://127.0.0.1:$NGINX_PORT/s1/large.bam; before=$(nginx_ticks); fi
      g=$(download "$url" $n)
      if [ $who = ours ]; then after=$(cpu_ticks $SERVER); else after=$(nginx_ticks); fi
      GBS[$who$n]=$(echo "${GBS[$who$n]} + $g / 3" | bc -l)
      CPU[$who$n]=$(echo "${CPU[$who$n]} + ($after - $before) / $HZ / $n / 3" | bc -l)
    done
  done
done
STREAM_RSS_MB=$(( $(awk '/VmRSS/ {print $2}' /proc/$SERVER/status) / 1024 ))

# ---- scaling: ticket rate against region size, for both file sizes
SIZES="1000 10000 100000 1000000 10000000 0"
declare -A SCALING
for scale in s1 s01; do
  f=1; [ $scale = s01 ] && f=0.1
  for size in $SIZES; do
    SCALE_FACTOR=$f regions_lua reads $scale/large $size > "$WORK/scale.lua"
    SCALING[$scale$size]=$(rps 16 "$WORK/scale.lua" "$U")
  done
done

ratio() { echo "scale=2; $1 / $2" | bc -l; }
fmt() { printf "%.2f" "$1"; }
echo
echo "## Speed (wrk on loopback, 2 threads, ${DURATION}s per run; this machine: $(nproc) cores)"
echo
echo "| what | ours | reference | ratio | target |"
echo "|---|---|---|---|---|"
echo "| random 100 kb BAM tickets/s, 16 conn (1.8 GB BAM) | $BAM | service-info $INFO/s | $(ratio "$BAM" "$INFO") | >= 0.50 |"
echo "| random 100 kb VCF.gz tickets/s, 16 conn (1 M variants) | $VCF | service-info $INFO/s | $(ratio "$VCF" "$INFO") | >= 0.50 |"
echo "| 1 GiB range, 1 stream, GiB/s | $(fmt "${GBS[ours1]}") | nginx $(fmt "${GBS[nginx1]}") | $(ratio "${GBS[ours1]}" "${GBS[nginx1]}") | >= 0.90 |"
echo "| 1 GiB range x 16 streams, GiB/s | $(fmt "${GBS[ours16]}") | nginx $(fmt "${GBS[nginx16]}") | $(ratio "${GBS[ours16]}" "${GBS[nginx16]}") | >= 0.90 |"
echo "| server CPU s per GiB, 16 streams | $(fmt "${CPU[ours16]}") | nginx $(fmt "${CPU[nginx16]}") | | |"
echo "| RSS after 16 x 1 GiB streams | ${STREAM_RSS_MB} MB | | | flat |"
echo "| BAM tickets at 64 conn: p50 / p99 | $P50 / $P99 ($LAT_RPS/s) | | | |"
echo "| cold first ticket (index + header not cached), 1.8 GB BAM | ${COLD_MS} ms | | | |"
echo "| release binary | ${SIZE_MB} MB | | | < 10 MB |"
echo "| idle RSS | ${IDLE_RSS_MB} MB | | | < 10 MB |"
echo "| start to first answered request | ${STARTUP_MS} ms | | | < 50 ms |"
echo
echo "### Ticket rate (tickets/s, 16 connections) against region size and file size"
echo
echo "| region | SCALE=1 (1.8 GB BAM) | SCALE=0.1 |"
echo "|---|---|---|"
for size in $SIZES; do
  label=$([ "$size" = 0 ] && echo "whole chromosome" || echo "$size bp")
  echo "| $label | ${SCALING[s1$size]} | ${SCALING[s01$size]} |"
done
