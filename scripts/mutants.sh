#!/usr/bin/env bash
# Mutation testing of the judge (issue: "measure the judge with mutation testing").
#
# cargo-mutants mutates the orchestrator code that encodes step order, skip semantics,
# gates, rollbacks and the safety rules, and runs the library scenarios plus a short chaos
# campaign (`cargo test -p tests --test library --test chaos_campaign`) against each mutant.
# A mutant the tests still pass is one the judge cannot see.
#
# Not run by CI: about an hour on 2 cores for ~270 mutants (~5 s incremental build and
# 3-12 s of tests each). It mutates TREE in place (cargo-mutants
# --in-place, restoring each file after), so point it at a scratch worktree
# (`git worktree add ../mutants-tree HEAD`), never at a tree you are editing. Usage:
#   scripts/mutants.sh [TREE] [OUT_DIR]
# MUTANTS_SHARD=k/n runs every n-th mutant only (round-robin), a uniform sample.
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
# --cargo-arg (not trailing args) so the build phase compiles only the two test binaries
# as well: with trailing args cargo-mutants builds every test target of the workspace
# (~20 s per mutant instead of ~5 s). The second `--` passes --skip to the test binaries:
# the phase-share test checks the generator, not the judge.
# Baseline by hand: cargo-mutants' own baseline builds with `--package=orchestrator`, where
# the test targets named below do not exist. The same command, unmutated, must pass.
cargo test -p tests --test library --test chaos_campaign -- --skip seeds_are_spent_past_validation
cargo mutants --baseline=skip --no-shuffle --output "$out" --timeout 300 \
  --in-place --test-workspace=true "${args[@]}" --re "$re" \
  ${MUTANTS_SHARD:+--shard "$MUTANTS_SHARD" --sharding round-robin} \
  --cargo-arg=--test=library --cargo-arg=--test=chaos_campaign \
  -- -- --skip seeds_are_spent_past_validation || true
echo "summary:"; grep -c . "$out/mutants.out/caught.txt" 2>/dev/null | sed 's/^/  caught: /' || true
grep -c . "$out/mutants.out/missed.txt" 2>/dev/null | sed 's/^/  missed: /' || true
grep -c . "$out/mutants.out/timeout.txt" 2>/dev/null | sed 's/^/  timeout: /' || true
grep -c . "$out/mutants.out/unviable.txt" 2>/dev/null | sed 's/^/  unviable: /' || true
