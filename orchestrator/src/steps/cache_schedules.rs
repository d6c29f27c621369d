//! Step 1b, `cache_schedules`: remember the policy's schedule and set it to manual, so the
//! policy does not start on its own while it is being failed over.

use crate::ctx::{RunCtx, StepDone, StepError};
use serde_json::json;

use crate::plan::StepInstance;

use super::source_policy;

pub(crate) async fn run(ctx: &RunCtx, inst: &StepInstance) -> Result<StepDone, StepError> {
    let policy = ctx.policy_of(inst)?;
    let src = ctx.source(inst)?;
    let returned = ctx
        .plan
        .returned
        .as_ref()
        .and_then(|r| r.original_of(policy));
    if let Some(orig) = returned {
        // Failback after an uncontrolled failover: the mirror is made later (by
        // `returned_resync_prep`, with a manual schedule); the original's schedule was held
        // by the fence, and `restore_schedule` puts it back on the original.
        if src.get_policy(policy).await?.is_none() {
            ctx.with_state(|s| {
                s.cached_schedules.entry(policy.to_string()).or_default();
            });
            return Ok(StepDone::unchanged(format!(
                "{policy} does not exist yet; {orig}'s schedule is held on {}",
                ctx.plan.spec.to
            )));
        }
    }
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
