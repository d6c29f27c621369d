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
# MUTANTS_SHARD=k/n runs every n-th mutant only (round-robin), a uniform sample;
# MUTANTS_LIST=1 only lists the mutants in scope.
# TREE defaults to this repository (run it on an older checkout to compare scores);
# the summary is OUT_DIR/mutants.out/outcomes.json and caught.txt/missed.txt beside it.
set -euo pipefail
tree=${1:-$(cd "$(dirname "$0")/.." && pwd)}
out=${2:-$tree/target/mutants}
command -v cargo-mutants >/dev/null || cargo install cargo-mutants --locked
mkdir -p "$out"
cd "$tree"
files=(
  # the tree since the step catalogue (issue 11)
  orchestrator/src/exec.rs
  orchestrator/src/plan/graph.rs
  orchestrator/src/plan/step_id.rs
  orchestrator/src/steps/quotas.rs
  orchestrator/src/steps/failover_quotas.rs
  orchestrator/src/steps/remove_source_quotas.rs
  orchestrator/src/steps/dfs_rename_shares.rs
  orchestrator/src/steps/rollback_dfs_rename_shares.rs
  orchestrator/src/steps/spns.rs
  orchestrator/src/steps/add_target_spns.rs
  orchestrator/src/steps/remove_source_spns.rs
  orchestrator/src/steps/zone_gate.rs
  # older trees (one plan.rs; the steps in family files)
  orchestrator/src/plan.rs
)
# The functions that decide order, skips, gates, rollbacks and the S-rules (old and new
# names, so the same script scores older checkouts).
re='skip_reason|zone_gate_failures|rollback|outcome_of|failed_gate|is_synciq_chain|stops_policy_chain|is_validation_gate|is_gate|needs_source|networking_rollback| in build$|remove_source|failover|missing_copies|confirm_target|activate_target|add_target'
# the tree since the step catalogue: the step files' functions are all called `run`
re+='|steps/(failover_quotas|remove_source_quotas|dfs_rename_shares|add_target_spns|zone_gate)[.]rs|plan/graph[.]rs'
args=()
for f in "${files[@]}"; do [ -f "$f" ] && args+=(--file "$f"); done
# MUTANTS_LIST=1 prints the mutants in scope and stops.
if [ -n "${MUTANTS_LIST:-}" ]; then exec cargo mutants --list "${args[@]}" --re "$re"; fi
# --cargo-arg (not trailing args) so the build phase compiles only the two test binaries
# as well: with trailing args cargo-mutants builds every test target of the workspace
# (~20 s per mutant instead of ~5 s). The second `--` passes --skip to the test binaries:
# the phase-share test checks the generator, not the judge.
# Baseline by hand: cargo-mutants' own baseline builds with `--package=orchestrator`, where
# the test targets named below do not exist. The same command, unmutated, must pass.
cargo test -p tests --test library --test chaos_campaign -- --skip seeds_are_spent_past_validation
cargo mutants --baseline=skip --no-shuffle --output "$out" --timeout 60 \
  --in-place --test-workspace=true "${args[@]}" --re "$re" \
  ${MUTANTS_SHARD:+--shard "$MUTANTS_SHARD" --sharding round-robin} \
  --cargo-arg=--test=library --cargo-arg=--test=chaos_campaign \
  -- -- --skip seeds_are_spent_past_validation || true
echo "summary:"; grep -c . "$out/mutants.out/caught.txt" 2>/dev/null | sed 's/^/  caught: /' || true
grep -c . "$out/mutants.out/missed.txt" 2>/dev/null | sed 's/^/  missed: /' || true
grep -c . "$out/mutants.out/timeout.txt" 2>/dev/null | sed 's/^/  timeout: /' || true
grep -c . "$out/mutants.out/unviable.txt" 2>/dev/null | sed 's/^/  unviable: /' || true
