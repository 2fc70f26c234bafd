#!/usr/bin/env bash
# The README's test command: installs what the test suite needs where it is missing, then runs
# `cargo test --workspace` (with this script's arguments) with those tools on PATH.
#
# - Debian packages, with apt-get as root, else with sudo, else it stops with the list to
#   install: samtools, bcftools, tabix (the oracles, and htslib clients of the server);
#   chromium-headless-shell (igv.js runs in it); npm (it fetches igv.js); nginx (the load
#   balancer of the scale-out test, and a store that fails); openssl (the access tests' test CA); python3-venv where the
#   system's python lacks it.
# - Python tools, in a virtual environment at TARGET/test-tools/venv (never the system's
#   python): the htsget client, PyJWT with cryptography (they mint the access tests' tokens),
#   crypt4gh (the Crypt4GH oracle), moto with boto3 (a real S3 server).
# - igv.js (npm package `igv`), unpacked in TARGET/test-tools/igv-VERSION.
# - oidc-provider (npm), the access tests' real OpenID provider, in
#   TARGET/test-tools/oidc-provider-VERSION.
#
# TARGET is cargo's target folder (`CARGO_TARGET_DIR`, or `target/`). A second run finds it
# all there and installs nothing. `tests/run.sh --install-only` installs and stops (CI does so
# before its fuzz seeds, which use python crypt4gh too).
set -euo pipefail
cd "$(dirname "$0")/.."

say() { echo "tests/run.sh: $*" >&2; }
installed=false

# nginx is in sbin, which a user's PATH may not have.
export PATH="$PATH:/usr/sbin:/sbin"

# The Debian packages missing, by the command each provides.
packages=()
for pair in samtools:samtools bcftools:bcftools tabix:tabix bgzip:tabix nginx:nginx \
  openssl:openssl python3:python3 npm:npm; do
  command -v "${pair%%:*}" >/dev/null || packages+=("${pair#*:}")
done
command -v chromium-headless-shell >/dev/null || command -v chromium >/dev/null ||
  packages+=(chromium-headless-shell)
if command -v python3 >/dev/null && ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
  packages+=(python3-venv)
fi
if [ ${#packages[@]} -gt 0 ]; then
  mapfile -t packages < <(printf '%s\n' "${packages[@]}" | sort -u)
  apt=(env DEBIAN_FRONTEND=noninteractive apt-get)
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null; then
      apt=(sudo "${apt[@]}")
    else
      apt=()
    fi
  fi
  if [ ${#apt[@]} -eq 0 ] || ! command -v apt-get >/dev/null; then
    say "the tests need these Debian packages; install them, then run this again:"
    say "  apt-get install ${packages[*]}"
    exit 1
  fi
  say "installing the Debian packages ${packages[*]}"
  "${apt[@]}" update -qq
  "${apt[@]}" install -y -qq "${packages[@]}" >/dev/null
  installed=true
fi

target=$(cargo metadata --no-deps --format-version 1 |
  sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
tools="$target/test-tools"
mkdir -p "$tools"

# The python tools, in a virtual environment; the stamp records what it holds.
venv="$tools/venv"
requirements=(htsget==0.2.6 crypt4gh==1.8.6 'moto[server]' boto3 PyJWT cryptography)
if [ ! -x "$venv/bin/python3" ] || [ "$(cat "$tools/venv.stamp" 2>/dev/null)" != "${requirements[*]}" ]; then
  say "installing ${requirements[*]} into $venv"
  rm -f "$tools/venv.stamp"
  python3 -m venv --clear "$venv"
  "$venv/bin/python3" -m pip install --quiet --disable-pip-version-check "${requirements[@]}"
  echo "${requirements[*]}" >"$tools/venv.stamp"
  installed=true
fi

# igv.js, the version tests/igv.rs loads.
igv_version=$(sed -n 's/^const IGV_VERSION: &str = "\(.*\)";/\1/p' tests/igv.rs)
igv="$tools/igv-$igv_version"
if [ ! -f "$igv/package/dist/igv.min.js" ]; then
  say "installing igv.js $igv_version into $igv"
  rm -rf "$igv" && mkdir -p "$igv"
  (cd "$igv" && npm pack "igv@$igv_version" --silent >/dev/null)
  tar xzf "$igv/igv-$igv_version.tgz" -C "$igv"
  installed=true
fi
# oidc-provider, the real OpenID provider of tests/access/federation.rs.
op_version=$(sed -n 's/^const OIDC_PROVIDER_VERSION: &str = "\(.*\)";/\1/p' tests/access/federation.rs)
op="$tools/oidc-provider-$op_version"
if [ ! -f "$op/node_modules/oidc-provider/package.json" ]; then
  say "installing oidc-provider $op_version into $op"
  rm -rf "$op" && mkdir -p "$op"
  (cd "$op" && npm install --silent --no-audit --no-fund "oidc-provider@$op_version" >/dev/null)
  installed=true
fi
if $installed; then
  say "installed in ${SECONDS} s"
else
  say "nothing to install (the tools are in $tools)"
fi

if [ "${1:-}" = --install-only ]; then
  exit 0
fi

# The venv first: its python3 has the modules.
export PATH="$venv/bin:$PATH"
exec cargo test --workspace "$@"
