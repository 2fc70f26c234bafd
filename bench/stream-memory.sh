#!/usr/bin/env bash
# Memory under streaming: 16 clients each download a 1 GB range of a make-large.sh file at once
# while the server's RSS is sampled. Loopback only; stops by itself.
#
#   bench/stream-memory.sh [DATA_DIR]      # DATA_DIR holds large.bam (default: ./large)
#
# Make the data with: OUT=$PWD/large SCALE=1 ../shared/tools/make-large.sh
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${1:-$PWD/large}
CLIENTS=${CLIENTS:-16}
LIMIT_MB=${LIMIT_MB:-100}
PORT=${PORT:-18181}
[ -f "$DATA/large.bam" ] || { echo "no $DATA/large.bam: run make-large.sh first" >&2; exit 1; }
SIZE=$(stat -c %s "$DATA/large.bam")
END=$(( SIZE < 1073741824 ? SIZE - 1 : 1073741823 ))

cargo build --release -q -p htsget-server
RUST_LOG=warn ./target/release/htsget-server --data "$DATA" --bind 127.0.0.1:$PORT &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$PORT/reads/service-info" >/dev/null && break; sleep 0.1; done

rss() { awk '/VmRSS/ {print $2}' /proc/$SERVER/status; }
echo "idle RSS: $(( $(rss) / 1024 )) MB"

start=$(date +%s.%N)
pids=()
for i in $(seq "$CLIENTS"); do
  curl -sf -H "Range: bytes=0-$END" "http://127.0.0.1:$PORT/data/large.bam" -o /dev/null &
  pids+=($!)
done

max=0
while kill -0 "${pids[@]}" 2>/dev/null; do
  r=$(rss); [ "$r" -gt "$max" ] && max=$r
  sleep 0.2
done
for p in "${pids[@]}"; do wait "$p"; done
secs=$(echo "$(date +%s.%N) - $start" | bc)
total=$(( (END + 1) * CLIENTS ))

echo "clients: $CLIENTS x $(( (END + 1) >> 20 )) MiB; wall: ${secs}s; aggregate: $(echo "scale=2; $total / $secs / 1073741824" | bc) GiB/s"
echo "peak RSS while streaming: $(( max / 1024 )) MB (limit $LIMIT_MB MB); after: $(( $(rss) / 1024 )) MB"
[ $(( max / 1024 )) -lt "$LIMIT_MB" ] || { echo "FAIL: RSS over the limit" >&2; exit 1; }
echo "PASS"
