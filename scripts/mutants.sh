#!/usr/bin/env bash
# Mutation testing of the judge (issue: "measure the judge with mutation testing").
#
# cargo-mutants mutates the orchestrator code that encodes step order, skip semantics,
# gates, rollbacks and the safety rules, and runs the library scenarios plus a short chaos
# campaign (`cargo test -p tests --test library --test chaos_campaign`) against each mutant.
# A mutant the tests still pass is one the judge cannot see.
#
# Not run by CI: it takes hours on 2 cores. It mutates TREE in place (cargo-mutants
# --in-place, restoring each file after), so point it at a scratch worktree
# (`git worktree add ../mutants-tree HEAD`), never at a tree you are editing. Usage:
#   scripts/mutants.sh [TREE] [OUT_DIR]
# TREE defaults to this repository (run it on an older checkout to compare scores);
# the summary is OUT_DIR/mutants.out/outcomes.json and caught.txt/missed.txt beside it.
set -euo pipefail
tree=${1:-$(cd "$(dirname "$0")/.." && pwd)}
out=${2:-$tree/target/mutants}
command -v cargo-mutants >/dev/null || cargo install cargo-mutants --locked
mkdir -p "$out"
cd "$tree"
files=(
  orchestrator/src/plan.rs
  orchestrator/src/exec.rs
  orchestrator/src/steps/quotas.rs
  orchestrator/src/steps/dfs_rename_shares.rs
  orchestrator/src/steps/spns.rs
)
# The functions that decide order, skips, gates, rollbacks and the S-rules (old and new
# names, so the same script scores older checkouts).
re='skip_reason|zone_gate_failures|rollback|outcome_of|failed_gate|is_synciq_chain|stops_policy_chain|is_validation_gate|is_gate|needs_source|networking_rollback| in build$|remove_source|failover|missing_copies|confirm_target|activate_target|add_target'
args=()
for f in "${files[@]}"; do [ -f "$f" ] && args+=(--file "$f"); done
cargo mutants --no-shuffle --output "$out" \
  --in-place --test-workspace=true "${args[@]}" --re "$re" \
  -- --test library --test chaos_campaign || true
echo "summary:"; grep -c . "$out/mutants.out/caught.txt" 2>/dev/null | sed 's/^/  caught: /' || true
grep -c . "$out/mutants.out/missed.txt" 2>/dev/null | sed 's/^/  missed: /' || true
grep -c . "$out/mutants.out/timeout.txt" 2>/dev/null | sed 's/^/  timeout: /' || true
grep -c . "$out/mutants.out/unviable.txt" 2>/dev/null | sed 's/^/  unviable: /' || true
