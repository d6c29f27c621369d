//! Steps 3b and 13b: the orchestrator's own config replication jobs (one per policy).
//!
//! 3b, `disable_config_jobs`, sets every run policy's job to `user_disabled` so a failed step
//! cannot let them copy configuration the wrong way. 13b, `enable_config_jobs`, enables a
//! policy's job again — it depends on that policy's resync_prep, so it runs **only** when
//! resync_prep succeeded (the skip rule does the rest). `rollback_config_jobs` re-enables
//! them when the run stops before any cut-over.

use crate::exec::RunCtx;
use crate::plan::StepInstance;

use super::{StepDone, StepError};

pub const ENABLED: &str = "enabled";
pub const USER_DISABLED: &str = "user_disabled";

pub async fn disable(ctx: &RunCtx, _inst: &StepInstance) -> Result<StepDone, StepError> {
    let n = ctx.with_state(|s| {
        let mut n = 0;
        for p in &ctx.plan.policies {
            let e = s
                .config_jobs
                .entry(p.name.clone())
                .or_insert_with(|| ENABLED.to_string());
            if e != USER_DISABLED {
                *e = USER_DISABLED.to_string();
                n += 1;
            }
        }
        n
    });
    Ok(StepDone {
        acted: n > 0,
        detail: Some(format!("{n} config job(s) set to user_disabled")),
        manual: None,
    })
}

pub async fn enable(ctx: &RunCtx, inst: &StepInstance) -> Result<StepDone, StepError> {
    let policy = ctx.policy_of(inst)?.to_string();
    #[cfg(feature = "planted-bugs")]
    if ctx.plan.spec.options.planted_bug == Some(crate::bugs::PlantedBug::ConfigJobsAlwaysEnabled) {
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
    Ok(StepDone {
        acted: changed,
        detail: Some(format!("config job of {policy} enabled")),
        manual: None,
    })
}

/// Enable the config jobs again: every run policy's after a failed gate, or one policy's
/// (`rollback_config_jobs[P]`, safety rule S5) when its chain failed before allow-write.
pub async fn rollback(ctx: &RunCtx, inst: &StepInstance) -> Result<StepDone, StepError> {
    let n = ctx.with_state(|s| {
        let mut n = 0;
        for (p, v) in s.config_jobs.iter_mut() {
            if inst.policy.as_ref().is_some_and(|only| only != p) {
                continue;
            }
            if v != ENABLED {
                *v = ENABLED.to_string();
                n += 1;
            }
        }
        n
    });
    Ok(StepDone {
        acted: n > 0,
        detail: Some(format!("{n} config job(s) enabled again")),
        manual: None,
    })
}
