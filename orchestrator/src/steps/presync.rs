//! Option `presync` (seed `1p`), `presync[P]`: run the policy's SyncIQ job on the source once
//! *before* the lock (and the protocol switch), while clients still write. The final
//! `sync_data[P]` after the lock then transfers only what changed since this job's
//! snapshot — a short delta — so the time clients cannot write (DESIGN §8, the outage
//! window) no longer holds the whole backlog since the last scheduled sync.
//!
//! A failure here changes nothing a user relies on: the final sync after the lock still
//! carries every change, only the outage is longer. So the step is not a chain step and no
//! gate (the catalogue row), nothing waits for it to *succeed*, and its failure is reported
//! truthfully as `failed` with a run warning naming the policy and that consequence. The
//! policy's `failed` last job state it leaves behind is this run's own: validation does not
//! warn about it (with `block_on_warning` it would otherwise block the run).

use crate::ctx::{RunCtx, StepDone, StepError};
use crate::papi::JobAction;
use crate::plan::StepInstance;

use super::job::run_job;

pub(crate) async fn run(ctx: &RunCtx, inst: &StepInstance) -> Result<StepDone, StepError> {
    let policy = ctx.policy_of(inst)?;
    let result = async {
        let src = ctx.source(inst)?;
        run_job(ctx, &src, policy, JobAction::Run, Some("presync")).await
    }
    .await;
    match result {
        Ok(report) => Ok(StepDone::acted(format!(
            "pre-sync job finished in {} s; the final sync after the lock carries only the changes since",
            report.duration.unwrap_or(0)
        ))),
        Err(e) => {
            let w = format!(
                "{} ({e}): nothing is skipped — its final sync_data after the lock carries all the changes, so the clients' outage for {policy} is longer (the whole backlog since its last sync)",
                warning_head(policy)
            );
            // A resumed run may attempt it again: one warning per policy and error.
            ctx.with_state(|s| {
                s.presync_failed.insert(policy.to_string());
                s.warn_once(w);
            });
            Err(e)
        }
    }
}

/// How a failed pre-sync's warning starts.
fn warning_head(policy: &str) -> String {
    format!("pre-sync of {policy} failed")
}

/// Whether run warning `w` is the warning of a failed pre-sync of this run (`failed`: the
/// run state's `presync_failed`). Step 3a does not block on it: a failed pre-sync blocks
/// nothing.
pub(crate) fn is_own_warning(w: &str, failed: &std::collections::BTreeSet<String>) -> bool {
    failed.iter().any(|p| w.starts_with(&warning_head(p)))
}
