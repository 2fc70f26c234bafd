#!/usr/bin/env bash
# Seeds fuzz/corpus/<target>/ (gitignored). index_plan gets the .bai/.csi/.tbi/.crai files of
# the shared test data ($HTSGET_TEST_DATA, or ../shared/data beside the checkout) and the demo
# dataset's own indexes (which match the data files the target uses), each behind its
# selector byte and a zero query-length byte; the other targets get a few hand-written inputs.
set -euo pipefail
cd "$(dirname "$0")"

data=${HTSGET_TEST_DATA:-../../shared/data}
corpus=corpus

# The selector byte of a data format (see FORMATS in src/lib.rs); add 4 for "compress the
# index bytes" (COMPRESS).
selector() {
  case "$1" in
    bam) echo 0 ;;
    vcf) echo 1 ;;
    bcf) echo 2 ;;
    cram) echo 3 ;;
  esac
}

# The data format an index belongs to, from its directory (shared data) or its name (demo).
format_of() {
  case "$1" in
    */bam/* | *.bam.*) echo bam ;;
    */vcf/* | *.vcf.gz.*) echo vcf ;;
    */bcf/* | *.bcf.*) echo bcf ;;
    */cram/* | *.cram.*) echo cram ;;
  esac
}

# seed TARGET NAME BYTES...: writes the concatenated printf-formatted BYTES as one seed.
seed() {
  local target=$1 name=$2
  shift 2
  mkdir -p "$corpus/$target"
  printf '%b' "$@" >"$corpus/$target/$name"
}

# index_seed NAME SELECTOR INDEX [QUERIES]: selector byte, query length byte, index, queries.
index_seed() {
  local name=$1 selector=$2 index=$3 queries=${4:-}
  local len
  len=$(printf '%b' "$queries" | wc -c)
  {
    printf "\\x$(printf %02x "$selector")\\x$(printf %02x "$len")"
    cat "$index"
    printf '%b' "$queries"
  } >"$corpus/index_plan/$name"
}

# add_index FILE [QUERIES]: the index as it is, and (if gzip-compressed) decompressed behind
# the COMPRESS bit, so that the fuzzer can mutate its contents.
add_index() {
  local file=$1 queries=${2:-} name format selector
  name=$(basename "$file")${2:+-queries}
  format=$(format_of "$file")
  [ -n "$format" ] || return 0
  selector=$(selector "$format")
  index_seed "$name" "$selector" "$file" "$queries"
  if [ "$(head -c 2 "$file" | od -An -tx1 | tr -d ' ')" = 1f8b ]; then
    local plain
    plain=$(mktemp)
    gzip -dc <"$file" >"$plain" 2>/dev/null || true
    index_seed "$name-plain" $((selector + 4)) "$plain" "$queries"
    rm -f "$plain"
  fi
}

# Three drawn queries (see `queries` in src/lib.rs): the first reference from 1000 to 5000, the
# second from 30000 on, the first up to 200 (pick, flags, start and end as u32 LE).
DEMO_QUERIES='\x00\x03\xe8\x03\x00\x00\x88\x13\x00\x00'\
'\x01\x01\x30\x75\x00\x00\x00\x00\x00\x00'\
'\x00\x02\x00\x00\x00\x00\xc8\x00\x00\x00'

seed_index_plan() {
  mkdir -p "$corpus/index_plan"
  local found=0
  if [ -d "$data" ]; then
    while IFS= read -r index; do
      add_index "$index"
      found=$((found + 1))
    done < <(find "$data" -type f \( -name '*.bai' -o -name '*.csi' -o -name '*.tbi' -o -name '*.crai' \))
  else
    echo "seed.sh: no test data at $data; index_plan gets the demo indexes only" >&2
  fi

  # The demo indexes come from the index_plan target itself (DEMO_INDEXES_VAR in src/lib.rs):
  # it is built for the fuzzing anyway, and a separate build of the tree costs minutes. The
  # input "\0\0" (a BAM, an empty index) is enough for it to generate the demo dataset.
  local demo input
  demo=$(mktemp -d)
  input=$(mktemp)
  printf '\0\0' >"$input"
  HTSGET_FUZZ_DEMO_INDEXES="$demo" cargo fuzz run --sanitizer none index_plan "$input" \
    >/dev/null 2>&1
  rm -f "$input"
  [ "$(find "$demo" -type f | wc -l)" -eq 4 ] || {
    echo "seed.sh: index_plan wrote no demo indexes to $demo" >&2
    exit 1
  }
  for index in "$demo"/*; do
    add_index "$index"
    add_index "$index" "$DEMO_QUERIES"
  done
  rm -rf "$demo"
  echo "index_plan: $found shared indexes + 4 demo indexes (as they are, and decompressed)"
}

seed_queries() {
  # query_get: first byte even = reads, odd = variants; then the query string.
  seed query_get reads '\x00format=BAM&referenceName=chr1&start=0&end=1000'
  seed query_get unplaced '\x00referenceName=*&class=body'
  seed query_get header '\x00class=header&format=CRAM'
  seed query_get fields '\x00fields=QNAME,FLAG,SEQ&tags=NM&notags=MD&referenceName=1&start=5'
  seed query_get variants '\x01format=VCF&referenceName=chr20&start=100&end=200'
  seed query_get encoded '\x01referenceName=chr%3A1&format=bcf&end=4294967295'

  # query_post: the same endpoint byte, then the JSON body.
  seed query_post regions '\x00{"format":"BAM","regions":[{"referenceName":"chr1","start":0,"end":10},{"referenceName":"*"}]}'
  seed query_post fields '\x00{"fields":["QNAME","SEQ"],"tags":["NM"],"notags":["MD"],"class":"body"}'
  seed query_post variants '\x01{"format":"BCF","regions":[{"referenceName":"chr20","start":5}]}'
  seed query_post empty '\x01{}'

  # range_header: the file size as 8 bytes little-endian (here 100), then the header value.
  local size='\x64\x00\x00\x00\x00\x00\x00\x00'
  seed range_header closed "$size" 'bytes=0-9'
  seed range_header open "$size" 'bytes=95-'
  seed range_header suffix "$size" 'bytes=-10'
  seed range_header past "$size" 'bytes=90-18446744073709551615'
  seed range_header several "$size" 'bytes=0-1, 3-4'
  seed range_header spaces '\xff\xff\xff\xff\xff\xff\xff\xff' ' bytes= 1 - 2 '

  # bearer_token: mode byte 0 (an Authorization value), 1 (token claims, signed by the
  # target), 2 (visa claims, signed, in a signed passport).
  local far=4102444800
  seed bearer_token header '\x00Bearer eyJhbGciOiJFZERTQSIsImtpZCI6ImZ1enoifQ.eyJpc3MiOiJ4In0.c2ln'
  seed bearer_token none '\x00bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.'
  seed bearer_token claims "\\x01{\"iss\":\"https://issuer.example\",\"sub\":\"a\",\"exp\":$far,\"nbf\":1,\"datasets\":[\"https://d/1\",\"x\"],\"ga4gh_passport_v1\":[\"a.b.c\"]}"
  seed bearer_token spaced "\\x01{\"iss\":\"https://issuer.example\",\"exp\":$far,\"datasets\":\"a b  c\"}"
  seed bearer_token visa "\\x02{\"iss\":\"https://issuer.example\",\"sub\":\"a\",\"exp\":$far,\"ga4gh_visa_v1\":{\"type\":\"ControlledAccessGrants\",\"value\":\"https://d/1\",\"source\":\"https://dac\",\"by\":\"dac\",\"asserted\":1,\"conditions\":[]}}"

  # passport: mode byte 0 (visa conditions), 1 (a userinfo answer), 2 (pattern \n text).
  seed passport met '\x00[[{"type":"AffiliationAndRole","value":"pattern:*@uni.example","by":"const:so"}]]'
  seed passport split '\x00[[{"type":"AcceptedTermsAndPolicies","value":"split_pattern:https://terms.example/v?"}],[{"type":"X"}]]'
  seed passport unknown '\x00[[{"type":"AffiliationAndRole","value":"regex:.*"}]]'
  seed passport userinfo '\x01{"sub":"alice","ga4gh_passport_v1":["a.b.c"]}'
  seed passport other '\x01{"sub":"bob","ga4gh_passport_v1":[]}'
  seed passport glob '\x02a*b?c*\naxxbycz'

  # signed_url: start and length (u64 LE each), a newline, then a flip byte and a query.
  seed signed_url range '\x00\x10\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\n\x07v=x&r=0-9&exp=1000060&sig=AAAA'
  seed signed_url span '\x01\x00\x00\x00\x00\x00\x00\x00\xff\xff\xff\xff\xff\xff\xff\xff\n\x21span=5-70000&exp=1&sig=x&span=1-2'
  seed signed_url cut '\x02\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x00\n\x05v=x&span=5-70000&cut=2&k=00112233445566778899aabbccddeeff&exp=1000060&sig=AAAA'
  echo "query_get, query_post, range_header, bearer_token, passport, signed_url: hand-written seeds"
}

# crypt4gh: mode byte 0 + a real file encrypted by python crypt4gh for the target's fixed key
# ([7; 32]), 1 + a private key file, 2 + a public key file, 3 + a header value, 4 + a segment,
# 5 + packet plaintexts (2-byte LE length each): a data key, then a data key and an edit list.
seed_crypt4gh() {
  mkdir -p "$corpus/crypt4gh"
  local key='\x00\x00\x00\x00\x00\x00\x00\x00\x07\x07\x07\x07\x07\x07\x07\x07\x07\x07\x07\x07\x07\x07\x07\x07\x07\x07\x07\x07\x07\x07\x07\x07\x07\x07\x07\x07\x07\x07\x07\x07'
  local edit_list='\x01\x00\x00\x00\x03\x00\x00\x00\x05\x00\x00\x00\x00\x00\x00\x00\x0a\x00\x00\x00\x00\x00\x00\x00\x02\x00\x00\x00\x00\x00\x00\x00'
  seed crypt4gh packet-key "\x05\x28\x00$key"
  seed crypt4gh packets-edits "\x05\x28\x00$key\x20\x00$edit_list"
  if ! command -v crypt4gh >/dev/null; then
    echo "seed.sh: no python crypt4gh; crypt4gh gets a hand-written seed only" >&2
    seed crypt4gh magic '\x00crypt4gh\x01\x00\x00\x00\x01\x00\x00\x00'
    return
  fi
  local tmp
  tmp=$(mktemp -d)
  python3 - "$tmp" <<'PY'
import base64, sys
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives import serialization
d = sys.argv[1]
pub = X25519PrivateKey.from_private_bytes(b"\x07" * 32).public_key().public_bytes(
    serialization.Encoding.Raw, serialization.PublicFormat.Raw)
text = "-----BEGIN CRYPT4GH PUBLIC KEY-----\n%s\n-----END CRYPT4GH PUBLIC KEY-----\n" % base64.b64encode(pub).decode()
open(d + "/fuzz.pub", "w").write(text)
open(d + "/header", "w").write(base64.b64encode(text.encode()).decode())
PY
  head -c 70000 /dev/urandom >"$tmp/plain"
  crypt4gh encrypt --recipient_pk "$tmp/fuzz.pub" <"$tmp/plain" >"$tmp/plain.c4gh"
  crypt4gh-keygen --sk "$tmp/k.sec" --pk "$tmp/k.pub" --nocrypt -f >/dev/null 2>&1
  { printf '\x00'; cat "$tmp/plain.c4gh"; } >"$corpus/crypt4gh/file"
  { printf '\x00'; head -c 124 "$tmp/plain.c4gh"; } >"$corpus/crypt4gh/header"
  { printf '\x01'; cat "$tmp/k.sec"; } >"$corpus/crypt4gh/secret"
  { printf '\x02'; cat "$tmp/k.pub"; } >"$corpus/crypt4gh/public"
  { printf '\x03'; cat "$tmp/header"; } >"$corpus/crypt4gh/value"
  # One segment (65,536 bytes of plaintext, its 12-byte nonce and 16-byte tag) past the 124-byte
  # header. head reads the file itself: `tail | head` would let tail die of SIGPIPE (exit 141
  # under pipefail) whenever head closes the pipe first.
  { printf '\x04'; head -c $((124 + 65564)) "$tmp/plain.c4gh" | tail -c +125; } >"$corpus/crypt4gh/segment"
  rm -rf "$tmp"
  echo "crypt4gh: a python-encrypted file, its header and segment, key files, a header value"
}

seed_queries
seed_crypt4gh
seed_index_plan
