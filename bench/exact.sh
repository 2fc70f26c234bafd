#!/usr/bin/env bash
# Exact payloads' price: the same 10 Mb query of the 1.8 GB BAM (tools/make-large.sh) asked
# with a token granted the whole file (the index cut) and with one granted a region around it
# (exact payloads), in one run: the cold and warm ticket rates (wrk -c16), data throughput
# on the ticket's largest data URL at 1 and 16 connections, and the bytes each payload holds
# against the minimal bytes (samtools view -b of the region, the records alone). Goals:
# tickets >= 0.5, data >= 0.8 of unrestricted.
#
#   BIG=/path/with/large.bam DURATION=6 bench/exact.sh
#
# Needs wrk, curl, samtools, python3 with PyJWT and cryptography.
set -euo pipefail
cd "$(dirname "$0")/.."
TOP=$PWD
SHARED=${SHARED:-$TOP/../shared}
BIG=${BIG:-$TOP/large}
DURATION=${DURATION:-8}
PORT=${PORT:-18550}
WORK=$(mktemp -d)
export LC_ALL=C

cleanup() {
  [ -n "${SERVER:-}" ] && kill "$SERVER" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

[ -f "$BIG/large.bam" ] || OUT=$BIG SCALE=1 "$SHARED/tools/make-large.sh"
python3 tests/access/mint.py "$WORK" >/dev/null
token() { python3 -c "import json,sys; print(json.load(open('$WORK/tokens.json'))[sys.argv[1]])" "$1"; }
cat >"$WORK/htsget.toml" <<TOML
[[access]]
ids = "large"
grants = ["https://datasets.example/bam"]
[[access]]
ids = "large"
grants = ["https://datasets.example/range-11"]
regions = ["chr1:4000000-16000000"]
TOML

cargo build --release -q -p htsget-server
RUST_LOG=warn target/release/htsget-server --bind 127.0.0.1:$PORT --data "$BIG" \
  --config "$WORK/htsget.toml" --auth-jwks "$WORK/jwks.json" \
  --auth-issuer https://issuer.example --auth-issuer https://visas.example \
  --auth-audience htsget-test --auth-grants-claim datasets >/dev/null 2>&1 &
SERVER=$!
until curl -s -o /dev/null "http://127.0.0.1:$PORT/reads/service-info"; do sleep 0.05; done

QUERY="referenceName=chr1&start=5000000&end=15000000"
TICKET="http://127.0.0.1:$PORT/reads/large?$QUERY"
declare -A TOKEN=([whole]="$(token es256)" [region]="$(token restricted)")

cold() { curl -s -o /dev/null -w '%{time_total}' -H "Authorization: Bearer $1" "$TICKET" | awk '{printf "%.1f", $1 * 1000}'; }
rate() { wrk -t2 -c16 -d"${DURATION}s" -H "Authorization: Bearer $1" "$TICKET" | awk '/Requests\/sec/ {printf "%.0f", $2}'; }
throughput() { # CONNECTIONS URL [HEADER]: MiB/s
  local args=(); [ -n "${3:-}" ] && args=(-H "$3")
  wrk -t"$(( $1 < 2 ? 1 : 2 ))" -c"$1" -d"${DURATION}s" "${args[@]}" "$2" |
    awk '/Transfer\/sec/ { v = $2; u = substr(v, length(v) - 1); n = v + 0;
      if (u == "GB") n *= 1024; else if (u == "KB") n /= 1024; printf "%.0f", n }'
}
largest() { # TOKEN: the ticket's largest data URL and its Range header (if any)
  curl -s -H "Authorization: Bearer $1" "$TICKET" | python3 -c '
import json, sys
best = None
for u in json.load(sys.stdin)["htsget"]["urls"]:
    if not u["url"].startswith("http"): continue
    r = u.get("headers", {}).get("Range", "")
    if r:
        a, b = r[6:].split("-"); size = int(b) - int(a) + 1
    elif "span=" in u["url"]:
        a, b = u["url"].split("span=")[1].split("&")[0].split("-"); size = (int(b) >> 16) - (int(a) >> 16)
    else:
        continue
    if best is None or size > best[0]: best = (size, u["url"], r)
print(best[1]); print(best[2])'
}
payload() { # TOKEN FILE: the whole payload, fetched
  curl -s -H "Authorization: Bearer $1" "$TICKET" | python3 -c '
import base64, json, sys, urllib.request
out = open(sys.argv[1], "wb")
for u in json.load(sys.stdin)["htsget"]["urls"]:
    if u["url"].startswith("data:"):
        out.write(base64.b64decode(u["url"].split(",", 1)[1])); continue
    req = urllib.request.Request(u["url"], headers=u.get("headers", {}))
    out.write(urllib.request.urlopen(req).read())' "$2"
}

declare -A COLD WARM ONE SIXTEEN BYTES READS
for k in whole region; do COLD[$k]=$(cold "${TOKEN[$k]}"); done
for k in whole region; do
  WARM[$k]=$(rate "${TOKEN[$k]}")
  mapfile -t D < <(largest "${TOKEN[$k]}")
  header=""; [ -n "${D[1]}" ] && header="Range: ${D[1]}"
  ONE[$k]=$(throughput 1 "${D[0]}" "$header")
  SIXTEEN[$k]=$(throughput 16 "${D[0]}" "$header")
  payload "${TOKEN[$k]}" "$WORK/$k.bam"
  BYTES[$k]=$(stat -c %s "$WORK/$k.bam")
  READS[$k]=$(samtools view -c "$WORK/$k.bam")
done
samtools view -b -o "$WORK/minimal.bam" "$BIG/large.bam" chr1:5000001-15000000
MINIMAL=$(stat -c %s "$WORK/minimal.bam")
MINIMAL_READS=$(samtools view -c "$WORK/minimal.bam")

ratio() { echo "scale=2; $1 / $2" | bc; }
printf '%-34s %14s %20s\n' "chr1:5-15 Mb of the 1.8 GB BAM" "whole-file grant" "region grant (exact)"
printf '%-34s %14s %20s\n' "cold ticket (ms)" "${COLD[whole]}" "${COLD[region]}"
printf '%-34s %14s %20s\n' "warm tickets/s (16 conn)" "${WARM[whole]}" "${WARM[region]} ($(ratio "${WARM[region]}" "${WARM[whole]}"))"
printf '%-34s %14s %20s\n' "data MiB/s, 1 stream" "${ONE[whole]}" "${ONE[region]} ($(ratio "${ONE[region]}" "${ONE[whole]}"))"
printf '%-34s %14s %20s\n' "data MiB/s, 16 streams" "${SIXTEEN[whole]}" "${SIXTEEN[region]} ($(ratio "${SIXTEEN[region]}" "${SIXTEEN[whole]}"))"
printf '%-34s %14s %20s\n' "payload bytes" "${BYTES[whole]}" "${BYTES[region]}"
printf '%-34s %14s %20s\n' "payload reads" "${READS[whole]}" "${READS[region]}"
echo "minimal (samtools view -b of the region): $MINIMAL bytes, $MINIMAL_READS reads; exact payload / minimal: $(ratio "${BYTES[region]}" "$MINIMAL")"
