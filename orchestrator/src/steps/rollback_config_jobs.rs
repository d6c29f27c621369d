//! `rollback_config_jobs` (undo of 3b): the config jobs are enabled again in the config
//! store when the run stops before any cut-over, or one policy's (`rollback_config_jobs[P]`,
//! S5).

use super::config_jobs::*;
use crate::config_repl::JobState;
use crate::ctx::{RunCtx, StepDone, StepError};
use crate::plan::StepInstance;

/// Enable the config jobs again: every run policy's after a failed gate, or one policy's
/// (`rollback_config_jobs[P]`, safety rule S5) when its chain failed before allow-write.
pub(crate) async fn run(ctx: &RunCtx, inst: &StepInstance) -> Result<StepDone, StepError> {
    let n = set_jobs(
        ctx,
        inst.policy.as_deref().map_or(Jobs::All, Jobs::Only),
        JobState::Enabled,
        "enabled again by a rollback",
    )?;
    Ok(StepDone::new(
        n > 0,
        format!("{n} config job(s) enabled again"),
    ))
}
