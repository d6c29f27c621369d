//! Step 3b, `disable_config_jobs`: every run policy's config replication job is set to
//! `user_disabled`, so a failed step cannot let them copy configuration the wrong way.

use super::config_jobs::*;
use crate::ctx::{RunCtx, StepDone, StepError};
use crate::plan::StepInstance;

pub(crate) async fn run(ctx: &RunCtx, _inst: &StepInstance) -> Result<StepDone, StepError> {
    let n = ctx.with_state(|s| {
        for p in &ctx.plan.policies {
            s.config_jobs
                .entry(p.name.clone())
                .or_insert_with(|| ENABLED.to_string());
        }
        let run_policy = |p: &String| ctx.plan.policies.iter().any(|x| &x.name == p);
        set_jobs(&mut s.config_jobs, run_policy, USER_DISABLED)
    });
    Ok(StepDone::new(
        n > 0,
        format!("{n} config job(s) set to user_disabled"),
    ))
}
