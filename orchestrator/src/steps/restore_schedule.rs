//! Step 11, `restore_schedule`: put the schedule cached in step 1b on the mirror policy, so
//! replication continues in the new direction as it ran before.

use crate::ctx::{RunCtx, StepDone, StepError};
use serde_json::json;

use crate::plan::StepInstance;

use crate::naming::mirror_name;

pub(crate) async fn run(ctx: &RunCtx, inst: &StepInstance) -> Result<StepDone, StepError> {
    let policy = ctx.policy_of(inst)?;
    let tgt = ctx.target(inst)?;
    let mirror = mirror_name(policy);
    // Failback after an uncontrolled failover: the fence held the original's schedule
    // (cached under the original's name, which is this policy's mirror).
    let held = ctx
        .plan
        .returned
        .as_ref()
        .filter(|r| r.original_of(policy).is_some())
        .and_then(|_| ctx.with_state(|s| s.cached_schedules.get(&mirror).cloned()))
        .filter(|s| !s.is_empty());
    let cached = ctx.with_state(|s| s.cached_schedules.get(policy).cloned());
    let schedule = match held.or(cached) {
        Some(s) => s,
        // 1b failed or never ran: the source policy still carries its schedule. Not found
        // there, its schedule is unknown: setting the mirror to manual would silently stop
        // the failed-back direction's replication.
        None => {
            super::source_policy(ctx, &ctx.source(inst)?, policy)
                .await?
                .schedule
        }
    };
    let m = tgt.get_policy(&mirror).await?.ok_or_else(|| {
        StepError::Failed(format!(
            "mirror policy {mirror} not found on {}",
            ctx.plan.spec.to
        ))
    })?;
    if m.schedule == schedule {
        return Ok(StepDone::unchanged(format!(
            "{mirror} schedule already {schedule:?}"
        )));
    }
    tgt.update_policy(&mirror, &json!({"schedule": schedule}))
        .await?;
    Ok(StepDone::acted(format!(
        "{mirror} schedule set to {schedule:?}"
    )))
}
