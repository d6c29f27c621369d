//! Steps 3b and 13b: the orchestrator's own config replication jobs (one per policy).
//!
//! 3b, `disable_config_jobs`, sets every run policy's job to `user_disabled` so a failed step
//! cannot let them copy configuration the wrong way. 13b, `enable_config_jobs`, enables a
//! policy's job again — it depends on that policy's resync_prep, so it runs **only** when
//! resync_prep succeeded (the skip rule does the rest). `rollback_config_jobs` re-enables
//! them when the run stops before any cut-over. This file holds what the three share (one
//! file per step: `disable_config_jobs.rs`, `enable_config_jobs.rs`,
//! `rollback_config_jobs.rs`).

pub(super) const ENABLED: &str = "enabled";
pub(super) const USER_DISABLED: &str = "user_disabled";

/// Set the jobs of the policies `which` selects to `to`; how many changed.
pub(super) fn set_jobs(
    jobs: &mut std::collections::BTreeMap<String, String>,
    which: impl Fn(&String) -> bool,
    to: &str,
) -> usize {
    let mut n = 0;
    for (_, v) in jobs.iter_mut().filter(|(p, _)| which(p)) {
        if v != to {
            *v = to.to_string();
            n += 1;
        }
    }
    n
}
