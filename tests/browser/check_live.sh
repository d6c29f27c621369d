#!/usr/bin/env bash
# The `dr serve` live page in headless Chromium: serve a `drill serve` world, start
# `dr serve` on it, open `/`, start a failover over REST and check the page shows the steps
# changing state (tests/browser/check_live.mjs). Screenshot: target/browser/live.png.
# Usage: tests/browser/check_live.sh [DIR_WITH_drill_AND_dr]   (default: target/release)
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${1:-target/release}
bash tests/browser/install.sh
WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
fail() { echo "check_live: $*" >&2; exit 1; }
export DR_OPERATOR_TOKEN=live-operator-$RANDOM$RANDOM$RANDOM
export DR_VIEWER_TOKEN=live-viewer-$RANDOM$RANDOM$RANDOM
port=18760
"$BIN/drill" serve scenarios/library/synciq-http-fast.yaml --port $((port + 10)) \
  >"$WORK/serve.out" 2>"$WORK/serve.err" &
PIDS+=($!)
for _ in $(seq 1 100); do grep -q '^dns ' "$WORK/serve.out" 2>/dev/null && break; sleep 0.1; done
grep -q '^dns ' "$WORK/serve.out" || fail "drill serve did not start: $(cat "$WORK/serve.err")"
{
  echo "clusters:"
  while read -r name url user pass; do
    [ "$name" = dns ] && continue
    var="PW_$(echo "$name" | tr 'a-z-' 'A-Z_')"
    export "$var=${pass#password=}"
    echo "  - {name: $name, url: \"$url\", user: ${user#user=}, password_env: $var}"
  done <"$WORK/serve.out"
  echo "dns: {server: \"$(awk '/^dns /{print $2}' "$WORK/serve.out")\"}"
  echo "api:"
  echo "  tokens:"
  echo "    - {name: ops, role: operator, token_env: DR_OPERATOR_TOKEN}"
  echo "    - {name: dash, role: viewer, token_env: DR_VIEWER_TOKEN}"
} >"$WORK/dr.yaml"
"$BIN/dr" --config "$WORK/dr.yaml" --journal "$WORK/journal.sqlite" serve --listen "127.0.0.1:$port" \
  >"$WORK/dr.out" 2>"$WORK/dr.err" &
PIDS+=($!)
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
curl -sf "http://127.0.0.1:$port/healthz" >/dev/null || fail "dr serve did not start: $(cat "$WORK/dr.err")"
echo '{"from":"boston","to":"denver","options":{"job_poll_interval_ms":200}}' >"$WORK/body.json"
mkdir -p target/browser
BASE="http://127.0.0.1:$port" node tests/browser/check_live.mjs "$WORK/body.json" target/browser/live.png
