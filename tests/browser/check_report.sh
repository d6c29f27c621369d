#!/usr/bin/env bash
# Render a drill run's HTML report in headless Chromium: a PNG (target/browser/report.png)
# and DOM checks against the run's JSON report (every step instance present with its status,
# the timeline drawn, guidance on every failed or skipped step).
# Usage: tests/browser/check_report.sh [DIR_WITH_drill] [SCENARIO]
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${1:-target/release}
SCN=${2:-scenarios/library/az-zone-gate-clients.yaml}
[ -f "$SCN" ] || SCN=scenarios/library/synciq-happy-3.yaml
bash tests/browser/install.sh
out=target/browser
mkdir -p "$out"
# drill exits 1 when an invariant fails; the report is still written and checked, but the
# check only wants the rendering: the scenarios' own verdicts are CI's other steps.
"$BIN/drill" run --json --report "$out/report.html" "$SCN" >"$out/report.json" || [ $? = 1 ]
node tests/browser/check_report.mjs "$out/report.html" "$out/report.json" "$out/report.png"
