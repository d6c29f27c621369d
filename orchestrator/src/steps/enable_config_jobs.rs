//! Step 13b, `enable_config_jobs[P]`: the policy's config job is enabled again in the
//! config store. It waits for the policy's `resync_prep`, so it runs only when that
//! succeeded (the skip rule).

use super::config_jobs::*;
use crate::config_repl::JobState;
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
        set_jobs(
            ctx,
            Jobs::All,
            JobState::Enabled,
            "enabled after resync-prep",
        )?;
    }
    let changed = set_jobs(
        ctx,
        Jobs::Only(&policy),
        JobState::Enabled,
        "enabled after resync-prep",
    )?;
    Ok(StepDone::new(
        changed > 0,
        format!("config job of {policy} enabled"),
    ))
}
