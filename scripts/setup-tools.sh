#!/usr/bin/env bash
# Installs, idempotently, every tool the build and the tests need, at pinned versions.
# Called by `make run`, `make test` and `make bench`; safe to run again (it only installs
# what is missing or of the wrong version). Needs network access to the package
# registries only (crates.io, Debian, npm; `make test`'s Schemathesis comes from PyPI).
#
#   scripts/setup-tools.sh build   # what `make run` needs: wasm target, trunk, wasm-bindgen, wasm-opt,
#                                  # zopfli
#   scripts/setup-tools.sh test    # plus Chromium, chromedriver, a CJK font, Mosquitto,
#                                  # PostgreSQL, curl and Python's venv (for Schemathesis)
#   scripts/setup-tools.sh bench   # plus Leaflet, the peer measured side by side
set -euo pipefail

TRUNK_VERSION=0.21.14
BINARYEN_VERSION=132.0.0
LEAFLET_VERSION=1.9.4
here="$(cd "$(dirname "$0")/.." && pwd)"
# wasm-bindgen-cli must equal the wasm-bindgen crate in Cargo.lock (pinned by app/Cargo.toml).
WASM_BINDGEN_VERSION="$(awk '/^name = "wasm-bindgen"$/ {getline; gsub(/version = |"/, ""); print; exit}' "$here/Cargo.lock")"
if ! grep -q "^wasm_bindgen = \"$WASM_BINDGEN_VERSION\"" "$here/Trunk.toml"; then
  echo "setup: Trunk.toml's wasm_bindgen differs from Cargo.lock's wasm-bindgen $WASM_BINDGEN_VERSION" >&2
  exit 1
fi
tools="$here/tools"
mode="${1:-build}"

say() { printf '\033[1msetup:\033[0m %s\n' "$*"; }
apt_install() {
  say "installing Debian packages: $*"
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends "$@" >/dev/null \
    || { $SUDO apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends "$@" >/dev/null; }
}

# --- Rust target -----------------------------------------------------------------------
if ! rustup target list --installed | grep -x wasm32-unknown-unknown >/dev/null; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

# --- trunk (0.22 needs a newer rustc than this machine has) ----------------------------
if ! trunk --version 2>/dev/null | grep -q " $TRUNK_VERSION\$"; then
  say "installing trunk $TRUNK_VERSION (takes ~6 minutes once)"
  cargo install trunk --version "$TRUNK_VERSION" --locked
fi

# --- wasm-bindgen-cli: must equal the wasm-bindgen in Cargo.lock -----------------------
# Installed without --locked: its own lock file wants a crate version the index lacks.
if ! wasm-bindgen --version 2>/dev/null | grep -q " $WASM_BINDGEN_VERSION\$"; then
  say "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (takes ~2 minutes once)"
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
fi

# --- wasm-opt from npm binaryen (Debian's older binaryen breaks the Wasm silently) ------
npm_has() { grep -q "\"version\": \"$2\"" "$tools/node_modules/$1/package.json" 2>/dev/null; }
npm_tools() {
  say "installing $1 from npm into tools/"
  command -v npm >/dev/null || apt_install nodejs npm
  (cd "$tools" && npm install --no-audit --no-fund --silent)
}
if [ ! -x "$tools/node_modules/.bin/wasm-opt" ] || ! npm_has binaryen "$BINARYEN_VERSION"; then
  npm_tools "wasm-opt (binaryen@$BINARYEN_VERSION)"
fi

# --- zopfli: `make app` gzips each asset with it for the server to send as is ----------
command -v zopfli >/dev/null || apt_install zopfli

[ "$mode" = test ] || [ "$mode" = bench ] || exit 0


missing=()
command -v chromium >/dev/null || missing+=(chromium)
command -v chromedriver >/dev/null || missing+=(chromium-driver)
fc-list : family 2>/dev/null | grep -i "noto sans cjk" >/dev/null || missing+=(fonts-noto-cjk)
# The MQTT tests start their own broker on a free port: they need the program only.
[ -x /usr/sbin/mosquitto ] || command -v mosquitto >/dev/null || missing+=(mosquitto)
# The server's suite runs again on a private PostgreSQL (scripts/private-postgres.sh):
# it needs the programs (initdb, postgres, psql), not a running server.
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null || missing+=(postgresql)
command -v psql >/dev/null || missing+=(postgresql-client)
# The TLS test makes the broker's certificate with it.
command -v openssl >/dev/null || missing+=(openssl)
command -v curl >/dev/null || missing+=(curl)
command -v python3 >/dev/null || missing+=(python3)
python3 -c 'import ensurepip, venv' 2>/dev/null || missing+=(python3-venv)
[ ${#missing[@]} -eq 0 ] || apt_install "${missing[@]}"

[ "$mode" = bench ] || exit 0
npm_has leaflet "$LEAFLET_VERSION" || npm_tools "leaflet@$LEAFLET_VERSION"
exit 0
