#!/usr/bin/env bash
# Drive whole failovers through `dr serve` with curl alone, against `drill serve` worlds, the
# way the README's "Running dr serve with curl" section shows: a SyncIQ-policy failover and an
# Access Zone failover (SmartConnect names, SPNs and the DNS delegation move; the DNS update
# goes over real UDP to the world's DNS server on loopback). Also checks that a viewer token
# cannot start a run and that a malformed body is a 400.
#
# Usage: tests/curl/walkthrough.sh [DIR_WITH_drill_AND_dr]   (default: target/release)
# Exit 0 when both runs end `succeeded` and every check holds.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${1:-target/release}
WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
fail() { echo "walkthrough: $*" >&2; exit 1; }

export DR_OPERATOR_TOKEN=walkthrough-operator-$RANDOM$RANDOM$RANDOM
export DR_VIEWER_TOKEN=walkthrough-viewer-$RANDOM$RANDOM$RANDOM

# One world per run: serve it, write dr.yaml from the printed lines, start dr serve.
# Args: scenario file, API port. Sets API and the cluster names in C1/C2.
start_world() {
  local scn=$1 port=$2 dir=$WORK/$2
  mkdir -p "$dir"
  "$BIN/drill" serve "$scn" --port $((port + 10)) >"$dir/serve.out" 2>"$dir/serve.err" &
  PIDS+=($!)
  for _ in $(seq 1 100); do
    grep -q '^dns ' "$dir/serve.out" 2>/dev/null && break
    sleep 0.1
  done
  grep -q '^dns ' "$dir/serve.out" || fail "drill serve $scn did not start: $(cat "$dir/serve.err")"
  {
    echo "clusters:"
    while read -r name url user pass; do
      [ "$name" = dns ] && continue
      local var
      var="PW_$(echo "$name" | tr 'a-z-' 'A-Z_')"
      export "$var=${pass#password=}"
      echo "  - {name: $name, url: \"$url\", user: ${user#user=}, password_env: $var}"
    done <"$dir/serve.out"
    echo "dns: {server: \"$(awk '/^dns /{print $2}' "$dir/serve.out")\"}"
    echo "api:"
    echo "  tokens:"
    echo "    - {name: ops, role: operator, token_env: DR_OPERATOR_TOKEN}"
    echo "    - {name: dash, role: viewer, token_env: DR_VIEWER_TOKEN}"
  } >"$dir/dr.yaml"
  "$BIN/dr" --config "$dir/dr.yaml" --journal "$dir/journal.sqlite" serve --listen "127.0.0.1:$port" \
    >"$dir/dr.out" 2>"$dir/dr.err" &
  PIDS+=($!)
  API=http://127.0.0.1:$port/api/v1
  for _ in $(seq 1 100); do
    curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break
    sleep 0.1
  done
  curl -sf "http://127.0.0.1:$port/healthz" >/dev/null || fail "dr serve did not start: $(cat "$dir/dr.err")"
}

# Start a run with BODY, follow its event stream to the end, and require outcome WANT.
run_to_end() {
  local body=$1 want=$2 T="Authorization: Bearer $DR_OPERATOR_TOKEN"
  local acc outcome
  acc=$(curl -s -H "$T" -H 'Content-Type: application/json' -d "$body" "$API/failover")
  run=$(echo "$acc" | json 'd["id"]') || fail "failover not accepted: $acc"
  # The SSE stream ends with an `end` event when the run stops.
  timeout 120 curl -s -N -H "$T" "$API/runs/$run/events" | grep -m1 -q '"type":"end"' \
    || fail "no end event for $run"
  outcome=$(curl -s -H "$T" "$API/runs/$run/report" | json 'd["outcome"]')
  echo "$run: $outcome"
  [ "$outcome" = "$want" ] || {
    curl -s -H "$T" "$API/runs/$run" >&2
    fail "$run ended $outcome"
  }
}

# 1. SyncIQ-policy mode.
start_world scenarios/library/synciq-http-fast.yaml 18700
V="Authorization: Bearer $DR_VIEWER_TOKEN"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "$V" -H 'Content-Type: application/json' \
  -d '{"from":"boston","to":"denver"}' "$API/failover")
[ "$code" = 403 ] || fail "a viewer token started a run (HTTP $code)"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $DR_OPERATOR_TOKEN" \
  -H 'Content-Type: application/json' -d '{"from":' "$API/failover")
[ "$code" = 400 ] || fail "a malformed body gave HTTP $code"
curl -sf "${API%/api/v1}/openapi.json" | json 'd["openapi"]' >/dev/null || fail "no OpenAPI document"
# The world injects a sync failure for policy hr: the run is partial, hr's downstream steps
# are skipped and the other policies complete (the per-policy skip rule).
run_to_end '{"from":"boston","to":"denver","options":{"job_poll_interval_ms":200}}' partial
steps=$(curl -s -H "Authorization: Bearer $DR_VIEWER_TOKEN" "$API/runs/$run/report" |
  json '" ".join(sorted(s["step"]+":"+(s.get("policy") or "-")+":"+s["status"] for s in d["steps"]))')
for want in sync_data:hr:failed allow_write:hr:skipped run_mirror:eng:succeeded run_mirror:ops:succeeded; do
  [[ " $steps " == *" $want "* ]] || fail "expected $want in: $steps"
done

# 2. Access Zone mode: names, SPNs and the DNS delegation move to dr.
start_world scenarios/library/az-http-fast.yaml 18720
run_to_end '{"from":"prod","to":"dr","mode":"access-zone","zone":"finance",
  "options":{"job_poll_interval_ms":200,"data_integrity":true},
  "pool_mappings":[{"source":"prod/groupnet0.subnet0.finance","target":"dr/groupnet0.subnet0.finance-dr"}]}' succeeded
steps=$(curl -s -H "Authorization: Bearer $DR_VIEWER_TOKEN" "$API/runs/$run/report" |
  json '" ".join(sorted(s["step"]+":"+s["status"] for s in d["steps"]))')
for want in repoint_dns:succeeded add_target_spns:succeeded move_smartconnect_to_target:succeeded; do
  [[ " $steps " == *" $want "* ]] || fail "expected $want in: $steps"
done

echo "walkthrough: both failovers driven with curl ended as expected"
