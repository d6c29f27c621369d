//! Rollback of step 1b: put the cached schedule back on the source policy when the run stops
//! before any cut-over (validation blocked it, or the zone gate held).

use crate::ctx::{RunCtx, StepDone, StepError};
use serde_json::json;

use crate::plan::StepInstance;

use super::source_policy;

pub(crate) async fn run(ctx: &RunCtx, inst: &StepInstance) -> Result<StepDone, StepError> {
    let policy = ctx.policy_of(inst)?;
    let Some(schedule) = ctx.with_state(|s| s.cached_schedules.get(policy).cloned()) else {
        return Ok(StepDone::unchanged("no cached schedule"));
    };
    let src = ctx.source(inst)?;
    let p = source_policy(ctx, &src, policy).await?;
    if p.schedule == schedule {
        return Ok(StepDone::unchanged("schedule already restored"));
    }
    src.update_policy(policy, &json!({"schedule": schedule}))
        .await?;
    Ok(StepDone::acted(format!(
        "schedule {schedule:?} restored on source"
    )))
}
