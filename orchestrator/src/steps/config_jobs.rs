//! Steps 3b and 13b: the orchestrator's own config replication jobs (one per policy, in the
//! config store, [`crate::config_repl::store`]).
//!
//! 3b, `disable_config_jobs`, sets every run policy's job to `user_disabled` so a failed step
//! cannot let them copy configuration the wrong way. 13b, `enable_config_jobs`, enables a
//! policy's job again — it depends on that policy's resync_prep, so it runs **only** when
//! resync_prep succeeded (the skip rule does the rest). `rollback_config_jobs` re-enables
//! them when the run stops before any cut-over. This file holds what the three share (one
//! file per step: `disable_config_jobs.rs`, `enable_config_jobs.rs`,
//! `rollback_config_jobs.rs`).
//!
//! The store is the truth; the run state's `config_jobs` (and so the report's) mirrors the
//! store's state of the run policies after each change. Setting a state the job already has
//! changes nothing, so a resumed step does not act twice.

use crate::config_repl::JobState;
use crate::ctx::{RunCtx, StepError};
use std::sync::atomic::Ordering;

/// Which run policies' jobs [`set_jobs`] sets.
#[derive(Clone, Copy, Debug)]
pub(super) enum Jobs<'a> {
    /// Every run policy's.
    All,
    /// The run policy of this name (none when the run has no such policy).
    Only(&'a str),
}

impl Jobs<'_> {
    fn selects(self, name: &str) -> bool {
        match self {
            Jobs::All => true,
            Jobs::Only(p) => p == name,
        }
    }
}

/// Set the jobs of the run policies `which` selects to `to` in the store; how many changed.
pub(super) fn set_jobs(
    ctx: &RunCtx,
    which: Jobs<'_>,
    to: JobState,
    why: &str,
) -> Result<usize, StepError> {
    let store = ctx.config_store()?;
    let (from, target) = (&ctx.plan.spec.from, &ctx.plan.spec.to);
    let reason = format!("{why} (run {})", ctx.run_id);
    let mut n = 0;
    let mut states = Vec::new();
    // A per-policy step looks its policy up rather than filtering every plan policy (a run
    // of N policies made N such calls).
    let selected: Vec<&crate::inventory::PolicyInfo> = match which {
        Jobs::All => ctx.plan.policies.iter().collect(),
        Jobs::Only(p) => ctx.plan_policy(p).into_iter().collect(),
    };
    for p in &selected {
        if store
            .set_state(from, &p.name, target, to, &reason)
            .map_err(|e| StepError::Failed(e.to_string()))?
        {
            n += 1;
        }
    }
    // The report shows the store's state of every run policy's job. Only the jobs this call
    // set can have changed (the run holds its policies' locks, and nothing else sets a job's
    // state), so those are read back, plus any run policy the state does not show yet (the
    // first call, or a resumed run): a per-policy step reads one job, not every policy's,
    // which made a run of N policies cost N² store reads. Once the state shows every run
    // policy (entries are never removed), the look for missing ones is skipped too.
    let complete = ctx.config_jobs_complete.load(Ordering::Relaxed);
    let read: Vec<&str> = ctx.with_state(|s| {
        if complete {
            return selected.iter().map(|p| p.name.as_str()).collect();
        }
        ctx.plan
            .policies
            .iter()
            .filter(|p| which.selects(&p.name) || !s.config_jobs.contains_key(&p.name))
            .map(|p| p.name.as_str())
            .collect()
    });
    for name in read {
        if let Some(j) = store
            .job(from, name)
            .map_err(|e| StepError::Failed(e.to_string()))?
        {
            states.push((name.to_string(), j.state.as_str().to_string()));
        }
    }
    ctx.with_state(|s| {
        s.config_jobs.extend(states);
        if !complete
            && ctx
                .plan
                .policies
                .iter()
                .all(|p| s.config_jobs.contains_key(&p.name))
        {
            ctx.config_jobs_complete.store(true, Ordering::Relaxed);
        }
    });
    Ok(n)
}
