#!/usr/bin/env bash
# Access control's price: the warm ticket rate with auth off, then on (a passport of three
# visas, a plain ES256 token, and an access token whose passport comes from its AAI's userinfo
# endpoint — tests/access/federation.py over https with a test CA — each verified once and its
# verdict cached by the token's hash), and the rate of signed data-URL fetches against unsigned
# ones, with wrk on loopback in one run. Prints the rates, the on/off ratios (goal for
# tickets: >= 0.8) and how many userinfo calls the userinfo run made (goal: 1, the cold token).
#
#   bench/access.sh                 # DURATION=8 seconds per wrk run
#
# Needs wrk, curl, openssl, python3 with PyJWT and cryptography (pip install PyJWT cryptography).
set -euo pipefail
cd "$(dirname "$0")/.."
TOP=$PWD
DATA=${HTSGET_TEST_DATA:-$TOP/../shared/data}
DURATION=${DURATION:-8}
PORT=${PORT:-18350}
WORK=$(mktemp -d)
export LC_ALL=C

cargo build --release -q -p htsget-server
BIN=$TOP/target/release/htsget-server

cleanup() {
  [ -n "${SERVER:-}" ] && kill "$SERVER" 2>/dev/null || true
  [ -n "${FEDERATION:-}" ] && kill "$FEDERATION" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

python3 tests/access/mint.py "$WORK"
token() { python3 -c "import json,sys; print(json.load(open('$WORK/tokens.json'))[sys.argv[1]])" "$1"; }
cat > "$WORK/htsget.toml" <<TOML
[[access]]
ids = "bam/*"
grants = ["https://datasets.example/bam"]
TOML

start() {
  RUST_LOG=warn "$BIN" --data "$DATA" --bind 127.0.0.1:$PORT "$@" >>"$WORK/server.log" 2>&1 &
  SERVER=$!
  until curl -s -o /dev/null "http://127.0.0.1:$PORT/reads/service-info"; do sleep 0.01; done
}
stop() { kill "$SERVER"; wait "$SERVER" 2>/dev/null || true; SERVER=; }

TICKET="http://127.0.0.1:$PORT/reads/bam/htsnexus_test_NA12878?referenceName=11&start=4999999&end=5050000"

# rate URL [HEADER...]: requests per second of wrk -t2 -c16 on URL.
rate() {
  local url=$1; shift
  local args=()
  for h in "$@"; do args+=(-H "$h"); done
  wrk -t2 -c16 -d"${DURATION}s" "${args[@]}" "$url" | awk '/Requests\/sec/ {printf "%.0f", $2}'
}

# A data URL of a ticket, with its Range header: the first byte range (32 KiB of reads).
data_url() {
  curl -s "${@}" "$TICKET" | python3 -c '
import json, sys
for u in json.load(sys.stdin)["htsget"]["urls"]:
    if u["url"].startswith("http") and "Range" in u.get("headers", {}):
        print(u["url"]); print(u["headers"]["Range"]); break'
}

start
OFF=$(rate "$TICKET")
mapfile -t D < <(data_url)
DATA_OFF=$(rate "${D[0]}" "Range: ${D[1]}")
stop

start --config "$WORK/htsget.toml" --auth-jwks "$WORK/jwks.json" \
  --auth-issuer https://issuer.example --auth-issuer https://visas.example \
  --auth-audience htsget-test --auth-grants-claim datasets
PASSPORT=$(token passport)
ES256=$(token es256)
ON_PASSPORT=$(rate "$TICKET" "Authorization: Bearer $PASSPORT")
ON_ES256=$(rate "$TICKET" "Authorization: Bearer $ES256")
mapfile -t D < <(data_url -H "Authorization: Bearer $ES256")
DATA_ON=$(rate "${D[0]}" "Range: ${D[1]}")
stop

# The federation: a test CA and a certificate for 127.0.0.1, then federation.py with them.
(
  cd "$WORK"
  ec=(-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes)
  openssl req -x509 "${ec[@]}" -keyout ca.key -out ca.pem -days 1 -subj "/CN=bench CA" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign 2>/dev/null
  openssl req "${ec[@]}" -keyout server.key -out server.csr -subj /CN=localhost 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >server.ext
  openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem \
    -days 1 -extfile server.ext 2>/dev/null
)
mkdir "$WORK/federation"
python3 tests/access/federation.py "$WORK/federation" "$WORK/server.pem" "$WORK/server.key" &
FEDERATION=$!
until [ -f "$WORK/federation/port" ]; do sleep 0.05; done
FED="https://127.0.0.1:$(cat "$WORK/federation/port")"
cat > "$WORK/federation.toml" <<TOML
[[issuers]]
iss = "$FED/aai"
[[issuers]]
iss = "$FED/rems-a"
jwks = "$FED/rems-a/jwks"
issues = ["visas"]
jku = ["$FED/rems-a/jwks"]
[[issuers]]
iss = "$FED/rems-b"
jwks = "$FED/rems-b/jwks"
issues = ["visas"]
jku = ["$FED/rems-b/jwks"]
[[access]]
ids = "bam/*"
grants = ["https://datasets.example/bam"]
TOML
SSL_CERT_FILE="$WORK/ca.pem" start --config "$WORK/federation.toml" --auth-audience htsget-test
USERINFO_TOKEN=$(python3 -c "import json; print(json.load(open('$WORK/federation/tokens.json'))['userinfo_alice'])")
ON_USERINFO=$(rate "$TICKET" "Authorization: Bearer $USERINFO_TOKEN")
CALLS=$(python3 -c "import json; print(json.load(open('$WORK/federation/counts.json')).get('/aai/userinfo', 0))")
stop

ratio() { echo "scale=2; $1 / $2" | bc; }
printf '%-44s %10s %8s\n' "what (wrk -t2 -c16, ${DURATION}s)" "req/s" "vs off"
printf '%-44s %10s %8s\n' "ticket, auth off" "$OFF" "1.00"
printf '%-44s %10s %8s\n' "ticket, passport (3 visas), cached verdict" "$ON_PASSPORT" "$(ratio "$ON_PASSPORT" "$OFF")"
printf '%-44s %10s %8s\n' "ticket, ES256 token, cached verdict" "$ON_ES256" "$(ratio "$ON_ES256" "$OFF")"
printf '%-44s %10s %8s\n' "ticket, userinfo passport, cached verdict" "$ON_USERINFO" "$(ratio "$ON_USERINFO" "$OFF")"
printf '%-44s %10s %8s\n' "data URL (${D[1]}), unsigned" "$DATA_OFF" "1.00"
printf '%-44s %10s %8s\n' "data URL, signed" "$DATA_ON" "$(ratio "$DATA_ON" "$DATA_OFF")"
echo "userinfo calls during the userinfo run (one token, wrk -c16): $CALLS"
