//! Step 13a, `run_mirror`: run the mirror policy on the target, replicating the (now active)
//! target back to the source so the pair is protected again in the new direction.

use crate::ctx::{RunCtx, StepDone, StepError};
use crate::papi::JobAction;
use crate::plan::StepInstance;

use super::job::run_job;
use crate::naming::mirror_name;

pub(crate) async fn run(ctx: &RunCtx, inst: &StepInstance) -> Result<StepDone, StepError> {
    let policy = ctx.policy_of(inst)?;
    let tgt = ctx.target(inst)?;
    let mirror = mirror_name(policy);
    let report = run_job(ctx, &tgt, &mirror, JobAction::Run, None).await?;
    Ok(StepDone::acted(format!(
        "{mirror} job finished in {} s",
        report.duration.unwrap_or(0)
    )))
}
