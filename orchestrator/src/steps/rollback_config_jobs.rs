//! `rollback_config_jobs` (undo of 3b): the config jobs are enabled again when the run stops
//! before any cut-over, or one policy's (`rollback_config_jobs[P]`, S5).

use super::config_jobs::*;
use crate::ctx::{RunCtx, StepDone, StepError};
use crate::plan::StepInstance;

/// Enable the config jobs again: every run policy's after a failed gate, or one policy's
/// (`rollback_config_jobs[P]`, safety rule S5) when its chain failed before allow-write.
pub(crate) async fn run(ctx: &RunCtx, inst: &StepInstance) -> Result<StepDone, StepError> {
    let n = ctx.with_state(|s| {
        let mine = |p: &String| inst.policy.as_ref().is_none_or(|only| only == p);
        set_jobs(&mut s.config_jobs, mine, ENABLED)
    });
    Ok(StepDone::new(
        n > 0,
        format!("{n} config job(s) enabled again"),
    ))
}
