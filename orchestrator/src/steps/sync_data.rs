//! Step 4, `sync_data`: run the policy's SyncIQ job on the source and wait for it, so the
//! target holds everything written before the failover.

use crate::ctx::{RunCtx, StepDone, StepError};
use crate::papi::JobAction;
use crate::plan::StepInstance;

use super::job::run_job;

pub(crate) async fn run(ctx: &RunCtx, inst: &StepInstance) -> Result<StepDone, StepError> {
    let policy = ctx.policy_of(inst)?;
    let src = ctx.source(inst)?;
    let report = run_job(ctx, &src, policy, JobAction::Run, None).await?;
    Ok(StepDone::acted(format!(
        "sync job finished in {} s",
        report.duration.unwrap_or(0)
    )))
}
