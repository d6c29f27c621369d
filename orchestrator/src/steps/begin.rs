//! Step 2, `begin`: the failover job is accepted. Nothing on the clusters changes.

use crate::ctx::{RunCtx, StepDone, StepError};
use crate::plan::StepInstance;

pub(crate) async fn run(ctx: &RunCtx, _inst: &StepInstance) -> Result<StepDone, StepError> {
    Ok(StepDone::unchanged(format!(
        "run {} accepted: {} {} → {}, {} policies",
        ctx.run_id,
        ctx.plan.spec.mode.as_str(),
        ctx.plan.spec.from,
        ctx.plan.spec.to,
        ctx.plan.policies.len()
    )))
}
