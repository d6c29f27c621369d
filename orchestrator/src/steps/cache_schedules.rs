//! Step 1b, `cache_schedules`: remember the policy's schedule and set it to manual, so the
//! policy does not start on its own while it is being failed over.

use serde_json::json;

use crate::exec::RunCtx;
use crate::plan::StepInstance;

use super::{StepDone, StepError};

pub async fn run(ctx: &RunCtx, inst: &StepInstance) -> Result<StepDone, StepError> {
    let policy = ctx.policy_of(inst)?;
    let src = ctx.source(inst)?;
    let p = src.get_policy(policy).await?.ok_or_else(|| {
        StepError(format!(
            "policy {policy} not found on {}",
            ctx.plan.spec.from
        ))
    })?;
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
    ctx.checkpoint();
    src.update_policy(policy, &json!({"schedule": ""})).await?;
    Ok(StepDone::acted(format!(
        "cached {:?}, set to manual",
        p.schedule
    )))
}
