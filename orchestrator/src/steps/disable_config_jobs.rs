//! Step 3b, `disable_config_jobs`: every run policy's config replication job is set to
//! `user_disabled` in the config store, so a failed step cannot let them copy configuration
//! the wrong way.

use super::config_jobs::*;
use crate::config_repl::JobState;
use crate::ctx::{RunCtx, StepDone, StepError};
use crate::plan::StepInstance;

pub(crate) async fn run(ctx: &RunCtx, _inst: &StepInstance) -> Result<StepDone, StepError> {
    let n = set_jobs(
        ctx,
        Jobs::All,
        JobState::UserDisabled,
        "disabled by a failover",
    )?;
    Ok(StepDone::new(
        n > 0,
        format!("{n} config job(s) set to user_disabled"),
    ))
}
