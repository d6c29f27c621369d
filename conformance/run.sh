#!/usr/bin/env bash
# Conformance suite: Dell's official OneFS Python clients (isilon-sdk, onefs-sdk) against
# `drill serve` over TLS. Creates conformance/.venv, installs the pinned clients, builds and
# starts the server on chosen ports, runs pytest, stops the server. Non-interactive.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
cd "$root"

python="${PYTHON:-python3}"
if [ ! -x "$here/.venv/bin/python" ]; then
  "$python" -m venv "$here/.venv"
fi
"$here/.venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$here/requirements.txt"

cargo build --release --locked --quiet --bin drill
drill="$root/target/release/drill"
[ -n "${CARGO_TARGET_DIR:-}" ] && drill="$CARGO_TARGET_DIR/release/drill"

work="$(mktemp -d)"
out="$work/serve.out"
"$drill" serve --tls --ca-out "$work/ca.pem" "$here/world.yaml" >"$out" 2>"$work/serve.err" </dev/null &
pid=$!
cleanup() { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

for _ in $(seq 1 100); do
  [ "$(wc -l <"$out")" -ge 2 ] && break
  if ! kill -0 "$pid" 2>/dev/null; then cat "$work/serve.err" >&2; exit 1; fi
  sleep 0.1
done
[ "$(wc -l <"$out")" -ge 2 ] || { echo "drill serve did not start" >&2; cat "$work/serve.err" >&2; exit 1; }
# Lines: <cluster> <url> user=<name> password=<password>
export CONF_CA="$work/ca.pem"
export CONF_PROD_URL="$(awk '$1=="prod"{print $2}' "$out")"
export CONF_DR_URL="$(awk '$1=="dr"{print $2}' "$out")"
echo "conformance: prod=$CONF_PROD_URL dr=$CONF_DR_URL"
"$here/.venv/bin/python" -m pytest -q -p no:cacheprovider "$here" "$@"
