//! Step 13b, `enable_config_jobs[P]`: the policy's config job is enabled again. It waits for
//! the policy's `resync_prep`, so it runs only when that succeeded (the skip rule).

use super::config_jobs::*;
use crate::ctx::{RunCtx, StepDone, StepError};
use crate::plan::StepInstance;

pub(crate) async fn run(ctx: &RunCtx, inst: &StepInstance) -> Result<StepDone, StepError> {
    let policy = ctx.policy_of(inst)?.to_string();
    #[cfg(feature = "planted-bugs")]
    if matches!(
        ctx.plan.spec.options.planted_bug,
        Some(crate::bugs::PlantedBug::ConfigJobsAlwaysEnabled)
    ) {
        // Wrong on purpose: enable every policy's job, whatever its resync_prep did.
        ctx.with_state(|s| {
            for p in &ctx.plan.policies {
                s.config_jobs.insert(p.name.clone(), ENABLED.to_string());
            }
        });
    }
    let changed = ctx.with_state(|s| {
        let prev = s.config_jobs.insert(policy.clone(), ENABLED.to_string());
        prev.as_deref() != Some(ENABLED)
    });
    Ok(StepDone::new(
        changed,
        format!("config job of {policy} enabled"),
    ))
}
