//! Failback after an uncontrolled failover, `returned_resync_prep[P_mirror]`: SyncIQ
//! resync-prep of the original policy `P` on the returned source (the run's target). OneFS
//! rolls the returned copy back to the last good sync (what the failed-over side's
//! allow-write restored; writes the source took after it are the uncontrolled failover's
//! RPO loss), makes it read-only (a local target record for `P_mirror`), disables `P`, and
//! creates `P_mirror` on the failed-over side — the policy the rest of the failback runs.
//! A failure skips only this policy's chain (`upstream_failed`).

use crate::ctx::{RunCtx, StepDone, StepError};
use crate::papi::JobAction;
use crate::plan::StepInstance;

use super::job::run_job;

pub(crate) async fn run(ctx: &RunCtx, inst: &StepInstance) -> Result<StepDone, StepError> {
    let mirror = ctx.policy_of(inst)?;
    let orig = ctx
        .plan
        .returned
        .as_ref()
        .and_then(|r| r.original_of(mirror))
        .ok_or_else(|| {
            StepError::Failed(format!(
                "{mirror} is not a policy of a failback after an uncontrolled failover"
            ))
        })?
        .to_string();
    let (from, to) = (&ctx.plan.spec.from, &ctx.plan.spec.to);
    let src = ctx.source(inst)?;
    let tgt = ctx.target(inst)?;
    let p = tgt
        .get_policy(&orig)
        .await?
        .ok_or_else(|| StepError::Failed(format!("policy {orig} not found on {to}")))?;
    if !p.enabled && src.get_policy(mirror).await?.is_some() {
        return Ok(StepDone::unchanged(format!(
            "{mirror} already exists on {from}, {orig} disabled on {to}"
        )));
    }
    run_job(ctx, &tgt, &orig, JobAction::ResyncPrep, None).await?;
    // The job finished: the step has acted; a failed confirming read leaves the outcome
    // indeterminate (a resume re-checks it), never a plain failure.
    let confirmed = src.get_policy(mirror).await.map_err(|e| {
        StepError::indeterminate(format!(
            "resync-prep of {orig} on {to} finished, but reading {mirror} on {from} failed: {e}"
        ))
    })?;
    if confirmed.is_none() {
        return Err(StepError::indeterminate(format!(
            "resync-prep of {orig} on {to} finished but {mirror} does not exist on {from}"
        )));
    }
    Ok(StepDone::acted(format!(
        "{orig} on {to} rolled back to its last good sync and read-only; {mirror} created on {from}"
    )))
}
