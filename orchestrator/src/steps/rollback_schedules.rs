//! Rollback of step 1b: put the cached schedule back on the source policy when the run stops
//! before any cut-over (validation blocked it, or the zone gate held).

use serde_json::json;

use crate::exec::RunCtx;
use crate::plan::StepInstance;

use super::{StepDone, StepError};

pub async fn run(ctx: &RunCtx, inst: &StepInstance) -> Result<StepDone, StepError> {
    let policy = ctx.policy_of(inst)?;
    let Some(schedule) = ctx.with_state(|s| s.cached_schedules.get(policy).cloned()) else {
        return Ok(StepDone::unchanged("no cached schedule"));
    };
    let src = ctx.source(inst)?;
    let p = src.get_policy(policy).await?.ok_or_else(|| {
        StepError(format!(
            "policy {policy} not found on {}",
            ctx.plan.spec.from
        ))
    })?;
    if p.schedule == schedule {
        return Ok(StepDone::unchanged("schedule already restored"));
    }
    src.update_policy(policy, &json!({"schedule": schedule}))
        .await?;
    Ok(StepDone::acted(format!(
        "schedule {schedule:?} restored on source"
    )))
}
