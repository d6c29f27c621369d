//! Step 3, `validate` (readiness). It builds the readiness tree (`crate::readiness`: cluster
//! → zone → pool → policy, every check `ok | warning | error`) and records it in the run
//! state, so the report carries it.
//!
//! Errors stop the run before any cut-over (outcome `blocked`; the preparation is rolled
//! back). Warnings are recorded; step 3a, when enabled, turns them into a stop too.

use crate::ctx::{RunCtx, StepDone, StepError};
use crate::plan::{StepId, StepInstance};
use crate::readiness::{checks, CheckStatus};

pub(crate) async fn run(ctx: &RunCtx, inst: &StepInstance) -> Result<StepDone, StepError> {
    let tree = checks::assess(ctx, inst).await;
    // Step 1 already recorded what it found about open files (the same read): its warning
    // stands for the tree's open-files checks in the flat list.
    let step1 = ctx
        .plan
        .steps
        .iter()
        .any(|s| s.step == StepId::CheckOpenFiles);
    let warnings: Vec<String> = tree
        .checks()
        .into_iter()
        .filter(|(_, c)| c.status == CheckStatus::Warning)
        .filter(|(_, c)| !(step1 && c.id == "open_files"))
        .map(|(_, c)| c.message.clone())
        .collect();
    let errors: Vec<String> = tree
        .with_status(CheckStatus::Error)
        .into_iter()
        .map(|c| c.message.clone())
        .collect();
    let n_warnings = tree.counts.warning;
    ctx.with_state(|s| {
        for w in warnings {
            s.warn_once(w);
        }
        s.readiness = Some(tree);
    });
    if !errors.is_empty() {
        return Err(StepError::Failed(format!(
            "readiness failed: {}",
            errors.join("; ")
        )));
    }
    Ok(StepDone::unchanged(format!(
        "{} policies ready, {} warnings",
        ctx.plan.policies.len(),
        n_warnings
    )))
}
