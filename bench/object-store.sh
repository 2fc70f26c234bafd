#!/usr/bin/env bash
# Object storage against local files, in one run: cold ticket latency and store requests, warm
# ticket rate, and data throughput through our server from a real S3 server (moto) against the
# same bytes straight from moto with a presigned URL, and against local files.
#
#   bench/object-store.sh            # data: ./large-0.1 (SCALE=0.1 of make-large.sh; made if missing)
#
# Needs moto_server and boto3 (pip), wrk, curl. Loopback only; everything started is stopped.
set -euo pipefail
cd "$(dirname "$0")/.."
TOP=$PWD
SHARED=${SHARED:-$TOP/../shared}
DATA=${DATA:-$TOP/large-0.1}
DURATION=${DURATION:-6}
WORK=$(mktemp -d)
export LC_ALL=C

[ -f "$DATA/large.bam" ] || OUT=$DATA SCALE=0.1 NO_CRAM=1 "$SHARED/tools/make-large.sh"
cargo build --release -q -p htsget-server
BIN=$TOP/target/release/htsget-server

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT

MOTO=$(free_port)
moto_server -H 127.0.0.1 -p "$MOTO" > "$WORK/moto.log" 2>&1 &
PIDS+=($!)
until curl -sf "http://127.0.0.1:$MOTO/" >/dev/null; do sleep 0.2; done
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1
export AWS_ENDPOINT_URL=http://127.0.0.1:$MOTO AWS_ALLOW_HTTP=true
python3 - "$DATA" <<'PY'
import boto3, os, sys
s3 = boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"])
s3.create_bucket(Bucket="bench")
for f in ("large.bam", "large.bam.bai"):
    s3.upload_file(os.path.join(sys.argv[1], f), "bench", "x/" + f)
PY

start() { # start NAME ARGS... -> port
  local port; port=$(free_port)
  RUST_LOG=warn "$BIN" --bind "127.0.0.1:$port" "${@:2}" > "$WORK/$1.log" 2>&1 &
  PIDS+=($!)
  until curl -sf "http://127.0.0.1:$port/reads/service-info" >/dev/null; do sleep 0.05; done
  echo "$port"
}
LOCAL=$(start local --data "$DATA")
S3=$(start s3 --data s3://bench/x)
DIRECT=$(start direct --data s3://bench/x --urls direct)

Q='referenceName=chr1&start=7000000&end=7100000'
requests() { grep -cE '"(GET|HEAD) ' "$WORK/moto.log" || true; }
cold() { # cold PORT -> "ms requests"
  local before after ms
  before=$(requests)
  ms=$(curl -s -o /dev/null -w '%{time_total}' "http://127.0.0.1:$1/reads/large?$Q" | awk '{printf "%.1f", $1 * 1000}')
  after=$(requests)
  echo "$ms $((after - before))"
}
read -r COLD_LOCAL _ < <(cold "$LOCAL")
read -r COLD_S3 COLD_S3_REQ < <(cold "$S3")
read -r WARM_S3_MS WARM_S3_REQ < <(cold "$S3")

rps() { wrk -t2 -c16 -d"${DURATION}s" "http://127.0.0.1:$1/reads/large?$Q" | awk '/Requests\/sec/ {printf "%d", $2}'; }
RPS_LOCAL=$(rps "$LOCAL")
RPS_S3=$(rps "$S3")

# Data: the body's first byte range of a whole-chromosome ticket (tens of MB), three ways.
TICKET=$(curl -s "http://127.0.0.1:$DIRECT/reads/large?referenceName=chr1")
PRESIGNED=$(python3 -c 'import json,sys; u=[u for u in json.load(sys.stdin)["htsget"]["urls"] if u["url"].startswith("http")]; u=max(u, key=lambda u: int(u["headers"]["Range"].split("-")[1])-int(u["headers"]["Range"].split("=")[1].split("-")[0])); print(u["url"]); print(u["headers"]["Range"]); print(u["headers"].get("If-Match",""))' <<<"$TICKET")
URL=$(sed -n 1p <<<"$PRESIGNED"); RANGE=$(sed -n 2p <<<"$PRESIGNED"); IFM=$(sed -n 3p <<<"$PRESIGNED")
speed() { # speed URL [HEADERS...] -> MB/s, best of 3
  local best=0 s
  for _ in 1 2 3; do
    s=$(curl -s -o /dev/null -w '%{speed_download}' "$@")
    best=$(awk -v a="$best" -v b="$s" 'BEGIN {print (b > a) ? b : a}')
  done
  awk -v b="$best" 'BEGIN {printf "%.0f", b / 1e6}'
}
BYTES=$(awk -F'[=-]' '{print $3 - $2 + 1}' <<<"$RANGE")
MB_PRESIGNED=$(speed "$URL" -H "Range: $RANGE" -H "If-Match: $IFM")
MB_S3=$(speed "http://127.0.0.1:$S3/data/large.bam" -H "Range: $RANGE")
MB_LOCAL=$(speed "http://127.0.0.1:$LOCAL/data/large.bam" -H "Range: $RANGE")

ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
echo "## Object storage (moto on loopback; $(nproc) cores; wrk ${DURATION}s, 16 connections)"
echo
echo "| what | S3 (moto) | local | ratio | goal |"
echo "|---|---|---|---|---|"
echo "| cold ticket, 100 kb of a 180 MB BAM | ${COLD_S3} ms, ${COLD_S3_REQ} store requests | ${COLD_LOCAL} ms | | |"
echo "| the next ticket | ${WARM_S3_MS} ms, ${WARM_S3_REQ} store requests | | | 0 requests |"
echo "| warm tickets/s | $RPS_S3 | $RPS_LOCAL | $(ratio "$RPS_S3" "$RPS_LOCAL") | >= 0.9 |"
echo "| data, ${BYTES} bytes, through our server from moto, MB/s | $MB_S3 | $MB_LOCAL | | |"
echo "| the same bytes straight from moto (presigned), MB/s | $MB_PRESIGNED | | ours/presigned $(ratio "$MB_S3" "$MB_PRESIGNED") | >= 0.9 |"
