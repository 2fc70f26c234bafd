#!/usr/bin/env bash
# Crypt4GH's price, one run, ratios against the plain file: the 1.8 GB BAM of
# ../shared/tools/make-large.sh (made once into ./large), encrypted for the server's key by
# python crypt4gh (once, into ./large-c4gh), served by one server under three prefixes:
# plain/, rekey/ (re-keyed tickets) and pass/ (pass-through); the on-the-fly column asks plain/
# with encryptionScheme=crypt4gh and the client's key. Measures the cold ticket (first
# request after start), the warm ticket rate (wrk -c16) and data throughput at 1 and 16
# connections (wrk on the largest data URL of a 10 Mb region's ticket).
#
#   bench/crypt4gh.sh                # DURATION=8 seconds per wrk run
#
# Needs wrk, curl, python3 with crypt4gh 1.8.6 (pip install crypt4gh==1.8.6).
set -euo pipefail
cd "$(dirname "$0")/.."
TOP=$PWD
SHARED=${SHARED:-$TOP/../shared}
BIG=${BIG:-$TOP/large}
ENC=${ENC:-$TOP/large-c4gh}
DURATION=${DURATION:-8}
PORT=${PORT:-18450}
WORK=$(mktemp -d)
export LC_ALL=C

cleanup() {
  [ -n "${SERVER:-}" ] && kill "$SERVER" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

[ -f "$BIG/large.bam" ] || OUT=$BIG SCALE=1 "$SHARED/tools/make-large.sh"
crypt4gh-keygen --sk "$WORK/server.sec" --pk "$WORK/server.pub" --nocrypt -f >/dev/null 2>&1
crypt4gh-keygen --sk "$WORK/client.sec" --pk "$WORK/client.pub" --nocrypt -f >/dev/null 2>&1
mkdir -p "$ENC"
# The key is made anew each run, so is the encrypted copy (about 20 s).
crypt4gh encrypt --recipient_pk "$WORK/server.pub" <"$BIG/large.bam" >"$ENC/large.bam.c4gh"
cp "$BIG/large.bam.bai" "$ENC/large.bam.bai"

cat >"$WORK/htsget.toml" <<TOML
[[roots]]
prefix = "plain"
data = "$BIG"
[[roots]]
prefix = "rekey"
data = "$ENC"
[[roots]]
prefix = "pass"
data = "$ENC"
c4gh-passthrough = true
TOML

cargo build --release -q -p htsget-server
RUST_LOG=warn target/release/htsget-server --bind 127.0.0.1:$PORT --config "$WORK/htsget.toml" \
  --c4gh-key "$WORK/server.sec" >/dev/null 2>&1 &
SERVER=$!
until curl -s -o /dev/null "http://127.0.0.1:$PORT/reads/service-info"; do sleep 0.05; done

KEY=$(base64 -w0 "$WORK/client.pub")
QUERY="referenceName=chr1&start=7000000&end=7100000"
BIGQUERY="referenceName=chr1&start=5000000&end=15000000"
url() { # COLUMN [QUERY]: the ticket URL (fly: the plain files, encrypted on the fly)
  local prefix=$1 extra="&encryptionScheme=crypt4gh"
  case $1 in plain) extra="" ;; fly) prefix=plain ;; esac
  echo "http://127.0.0.1:$PORT/reads/$prefix/large?${2:-$QUERY}$extra"
}
cold() { curl -s -o /dev/null -w '%{time_total}' -H "Htsget-Context-Public-Key: $KEY" "$(url "$1")" | awk '{printf "%.1f", $1 * 1000}'; }
rate() { # URL [HEADER]: requests/s
  local args=(); [ -n "${2:-}" ] && args=(-H "$2")
  wrk -t2 -c16 -d"${DURATION}s" -H "Htsget-Context-Public-Key: $KEY" "${args[@]}" "$1" | awk '/Requests\/sec/ {printf "%.0f", $2}'
}
throughput() { # CONNECTIONS URL [HEADER]: MiB/s
  local args=(); [ -n "${3:-}" ] && args=(-H "$3")
  wrk -t"$(( $1 < 2 ? 1 : 2 ))" -c"$1" -d"${DURATION}s" "${args[@]}" "$2" |
    awk '/Transfer\/sec/ { v = $2; u = substr(v, length(v) - 1); n = v + 0;
      if (u == "GB") n *= 1024; else if (u == "KB") n /= 1024; printf "%.0f", n }'
}
largest() { # PREFIX: the ticket's largest data URL and its Range header (if any)
  curl -s -H "Htsget-Context-Public-Key: $KEY" "$(url "$1" "$BIGQUERY")" | python3 -c '
import json, sys
best = None
for u in json.load(sys.stdin)["htsget"]["urls"]:
    if not u["url"].startswith("http"): continue
    r = u.get("headers", {}).get("Range", "")
    if r:
        a, b = r[6:].split("-"); size = int(b) - int(a) + 1
    elif "c4=" in u["url"]:
        a, b = u["url"].split("c4=")[1].split("&")[0].split("-"); size = int(b) - int(a)
    elif "span=" in u["url"]:
        a, b = u["url"].split("span=")[1].split("&")[0].split("-"); size = (int(b) >> 16) - (int(a) >> 16)
    else:
        continue
    if best is None or size > best[0]: best = (size, u["url"], r)
print(best[1]); print(best[2]); print(best[0])'
}

COLUMNS=(plain fly rekey pass)
declare -A COLD WARM ONE SIXTEEN SIZE
for p in "${COLUMNS[@]}"; do COLD[$p]=$(cold $p); done
for p in "${COLUMNS[@]}"; do
  WARM[$p]=$(rate "$(url $p)")
  mapfile -t D < <(largest $p)
  header=""; [ -n "${D[1]}" ] && header="Range: ${D[1]}"
  SIZE[$p]=$(( D[2] / 1048576 ))
  ONE[$p]=$(throughput 1 "${D[0]}" "$header")
  SIXTEEN[$p]=$(throughput 16 "${D[0]}" "$header")
done

ratio() { echo "scale=2; $1 / $2" | bc; }
row() { # LABEL ARRAY [ratios]: one line, the encrypted columns with their ratio to plain
  local -n values=$2
  local cells=("${values[plain]}") p
  for p in fly rekey pass; do
    if [ -n "${3:-}" ]; then cells+=("${values[$p]} ($(ratio "${values[$p]}" "${values[plain]}"))")
    else cells+=("${values[$p]}"); fi
  done
  printf '%-30s %10s %14s %14s %14s\n' "$1" "${cells[@]}"
}
printf '%-30s %10s %14s %14s %14s\n' "1.8 GB BAM, one run" plain on-the-fly re-key pass-through
row "cold ticket (ms)" COLD
row "warm tickets/s (16 conn)" WARM ratios
row "largest data URL (MiB)" SIZE
row "data MiB/s, 1 stream" ONE ratios
row "data MiB/s, 16 streams" SIXTEEN ratios
