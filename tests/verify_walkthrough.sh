#!/usr/bin/env bash
# Run the README's "Verify your own plan" section as written: `drill serve` stands in for the
# estate, `dr.yaml` is written from what it prints, then `dr discover --dump`, `dr readiness`,
# `dr plan --estimate`, `drill import`, `drill run` and `drill verify` (on the inventory and on
# the imported scenario; a small --max-cases keeps it short). Checks every exit code and the
# files and outputs each step promises.
#
# Usage: tests/verify_walkthrough.sh [DIR_WITH_drill_AND_dr]   (default: target/release)
# Exit 0 when every command behaves as the README says.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$(cd "${1:-target/release}" && pwd)
SCN=$PWD/scenarios/library/az-happy-dual.yaml
WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
cd "$WORK"

fail() { echo "verify_walkthrough: $*" >&2; exit 1; }
json() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"; }
# Run a command, require exit code $1, keep its output in out.txt.
expect_rc() {
  local want=$1; shift
  set +e
  "$@" >out.txt 2>err.txt
  local rc=$?
  set -e
  [ "$rc" = "$want" ] || fail "$* exited $rc, expected $want: $(tail -5 err.txt) $(tail -5 out.txt)"
}

# 1. Stand-in clusters.
"$BIN/drill" serve "$SCN" >serve.out 2>serve.err &
PIDS+=($!)
for _ in $(seq 1 150); do
  grep -q '^dns ' serve.out 2>/dev/null && break
  sleep 0.1
done
grep -q '^dns ' serve.out || fail "drill serve did not start: $(cat serve.err)"
grep -q '^prod http://127.0.0.1:[0-9]* user=admin password=' serve.out || fail "no prod line: $(cat serve.out)"
grep -q '^dr http://127.0.0.1:[0-9]* user=admin password=' serve.out || fail "no dr line: $(cat serve.out)"

# 2. Config: passwords from the environment, never inline.
url() { awk -v c="$1" '$1 == c {print $2}' serve.out; }
pw() { awk -v c="$1" '$1 == c {sub("password=", "", $4); print $4}' serve.out; }
cat >dr.yaml <<EOF
clusters:
  - {name: prod, url: "$(url prod)", user: admin, password_env: PROD_PW}
  - {name: dr, url: "$(url dr)", user: admin, password_env: DR_PW}
dns: {server: "$(awk '/^dns /{print $2}' serve.out)"}
EOF
PROD_PW=$(pw prod)
DR_PW=$(pw dr)
export PROD_PW DR_PW
grep -q "$PROD_PW" dr.yaml && fail "a password is in dr.yaml"

# 3. Discover (GET requests only).
expect_rc 0 "$BIN/dr" --config dr.yaml discover --dump estate.json
[ "$(json estate.json 'd["format"], d["version"]')" = "failover-lab-inventory 1" ] || fail "estate.json format"
[ "$(json estate.json 'sorted(c["name"] for c in d["clusters"])')" = "['dr', 'prod']" ] || fail "estate.json clusters"
[ "$(json estate.json 'any(n["mode"] == "dual" for n in d["dns"]["names"])')" = True ] || fail "no dual delegation found"
grep -q "$PROD_PW" estate.json && fail "a password is in estate.json"
expect_rc 0 "$BIN/dr" discover --schema
grep -q '"\$schema"' out.txt || fail "dr discover --schema printed no schema"

# 4. Readiness and estimate against the clusters themselves.
# Exit 6, ready with warnings: dr.yaml maps no pool, so zone finance's names would stay.
expect_rc 6 "$BIN/dr" --config dr.yaml readiness --from prod --to dr
grep -q "pool_mapped.*no pool mapping" out.txt || fail "readiness exit 6 without the pool warning: $(cat out.txt)"
expect_rc 0 "$BIN/dr" --config dr.yaml plan --from prod --to dr --estimate
grep -qi 'estimate\|total' out.txt || fail "dr plan --estimate printed no estimate: $(cat out.txt)"

# 5. Import and run in the lab.
expect_rc 0 "$BIN/drill" import estate.json -o estate.yaml --mode access-zone
grep -q 'mode: access-zone' estate.yaml || fail "estate.yaml has no access-zone run"
expect_rc 0 "$BIN/drill" run estate.yaml --report estate.html
[ -s estate.html ] || fail "no estate.html"

# 6. Verify, on the inventory and on the imported scenario.
expect_rc 0 "$BIN/drill" verify estate.json --out verdict --max-cases 6 --jobs 2
grep -q '^verdict: PASS' out.txt || fail "drill verify estate.json: $(cat out.txt)"
for f in verdict/verdict.html verdict/verdict.json; do [ -s "$f" ] || fail "no $f"; done
[ "$(json verdict/verdict.json 'd["format"], d["version"], d["passed"]')" = "failover-lab-verdict 1 True" ] \
  || fail "verdict.json header"
[ "$(json verdict/verdict.json "0 < d['sweep']['cases'] <= 6")" = True ] || fail "sweep cases: $(cat out.txt)"
ls verdict/runs/*.html >/dev/null || fail "no run reports"
expect_rc 0 "$BIN/drill" verify estate.yaml --out verdict2 --max-cases 6 --jobs 2
grep -q '^verdict: PASS' out.txt || fail "drill verify estate.yaml: $(cat out.txt)"
[ "$(json verdict2/verdict.json 'd["runs"][0]["mode"]')" = access-zone ] || fail "main mode of estate.yaml"
# Bad input is exit 2.
expect_rc 2 "$BIN/drill" verify nope.json --out verdict3
[ -e verdict3 ] && fail "bad input wrote a verdict"
echo "verify_walkthrough: ok"
