//! Step 9, `allow_write`: make the target directory writable (SyncIQ allow-write on the
//! target cluster) and wait until the target policy says `writes_enabled`. Rehearsals undo it
//! with `allow_write_revert` ([`revert`]).

use crate::ctx::{RunCtx, StepDone, StepError};
use crate::papi::JobAction;
use crate::plan::StepInstance;

use super::job::run_job;

pub(crate) async fn run(ctx: &RunCtx, inst: &StepInstance) -> Result<StepDone, StepError> {
    move_target(ctx, inst, JobAction::AllowWrite, "writes_enabled").await
}

/// Run `action` on the target policy unless it is already in state `want`, then confirm the
/// state.
pub(super) async fn move_target(
    ctx: &RunCtx,
    inst: &StepInstance,
    action: JobAction,
    want: &str,
) -> Result<StepDone, StepError> {
    let policy = ctx.policy_of(inst)?;
    let tgt = ctx.target(inst)?;
    let to = &ctx.plan.spec.to;
    let tp = tgt
        .get_target_policy(policy)
        .await?
        .ok_or_else(|| StepError::Failed(format!("target policy {policy} not found on {to}")))?;
    if tp.failover_failback_state == want {
        return Ok(StepDone::unchanged(format!("target already {want}")));
    }
    // Past allow-write already: resync-prep has moved the target's record on (DESIGN §3), and
    // the target copy is writable.
    if action == JobAction::AllowWrite
        && matches!(
            tp.failover_failback_state.as_str(),
            "creating_resync_policy" | "resync_policy_created"
        )
    {
        return Ok(StepDone::unchanged(format!(
            "target already writable ({}: resync-prep has run)",
            tp.failover_failback_state
        )));
    }
    run_job(ctx, &tgt, policy, action, None).await?;
    // The job has finished, so the step has acted: a failed confirming read leaves the
    // outcome indeterminate (a resume re-checks it) rather than claiming nothing changed.
    let tp = tgt
        .get_target_policy(policy)
        .await
        .map_err(|e| {
            StepError::indeterminate(format!(
                "the job finished, but reading target policy {policy} on {to} failed: {e}"
            ))
        })?
        .ok_or_else(|| {
            StepError::indeterminate(format!(
                "the job finished, but target policy {policy} is not found on {to}"
            ))
        })?;
    if tp.failover_failback_state != want {
        return Err(StepError::Failed(format!(
            "{} finished but target policy {policy} is {}",
            action.as_ref().replace('_', "-"),
            tp.failover_failback_state
        )));
    }
    Ok(StepDone::acted(format!("target {want}")))
}
