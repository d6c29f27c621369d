//! Step 1b, `cache_schedules`: remember the policy's schedule and set it to manual, so the
//! policy does not start on its own while it is being failed over.

use crate::ctx::{RunCtx, StepDone, StepError};
use serde_json::json;

use crate::plan::StepInstance;

use super::source_policy;

pub(crate) async fn run(ctx: &RunCtx, inst: &StepInstance) -> Result<StepDone, StepError> {
    let policy = ctx.policy_of(inst)?;
    let src = ctx.source(inst)?;
    let p = source_policy(ctx, &src, policy).await?;
    let already = ctx.with_state(|s| s.cached_schedules.get(policy).cloned());
    if p.schedule.is_empty() {
        // Either the policy is manual, or a resumed run already cached and cleared it.
        if already.is_none() {
            ctx.with_state(|s| s.cached_schedules.insert(policy.to_string(), String::new()));
        }
        return Ok(StepDone::unchanged("schedule already manual"));
    }
    ctx.with_state(|s| {
        s.cached_schedules
            .insert(policy.to_string(), p.schedule.clone())
    });
    ctx.checkpoint()?;
    src.update_policy(policy, &json!({"schedule": ""})).await?;
    Ok(StepDone::acted(format!(
        "cached {:?}, set to manual",
        p.schedule
    )))
}
