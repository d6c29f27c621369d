//! Step 10, `resync_prep`: SyncIQ resync-prep on the source. It creates `<name>_mirror` on the
//! target (replicating back), disables the source policy and makes the source path read-only.

use crate::ctx::{RunCtx, StepDone, StepError};
use crate::papi::JobAction;
use crate::plan::StepInstance;

use super::source_policy;

use super::job::run_job;
use crate::naming::mirror_name;

pub(crate) async fn run(ctx: &RunCtx, inst: &StepInstance) -> Result<StepDone, StepError> {
    let policy = ctx.policy_of(inst)?;
    let src = ctx.source(inst)?;
    let tgt = ctx.target(inst)?;
    let mirror = mirror_name(policy);
    let p = source_policy(ctx, &src, policy).await?;
    if !p.enabled && tgt.get_policy(&mirror).await?.is_some() {
        return Ok(StepDone::unchanged(format!(
            "{mirror} already exists on {}",
            ctx.plan.spec.to
        )));
    }
    run_job(ctx, &src, policy, JobAction::ResyncPrep, None).await?;
    // The job has finished: the step has acted. A failed confirming read must not turn that
    // into a plain failure (the report would claim nothing changed); it leaves the outcome
    // indeterminate, and a resume re-checks it.
    let confirmed = tgt.get_policy(&mirror).await.map_err(|e| {
        StepError::indeterminate(format!(
            "resync-prep job finished, but reading {mirror} on {} failed: {e}",
            ctx.plan.spec.to
        ))
    })?;
    if confirmed.is_none() {
        return Err(StepError::indeterminate(format!(
            "resync-prep finished but {mirror} does not exist on {}",
            ctx.plan.spec.to
        )));
    }
    Ok(StepDone::acted(format!(
        "{mirror} created on {}",
        ctx.plan.spec.to
    )))
}
