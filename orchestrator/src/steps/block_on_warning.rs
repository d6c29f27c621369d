//! Step 3a, `block_on_warning`: when enabled, the warnings `validate` recorded stop the run
//! before any cut-over (outcome `blocked`) — all but a failed pre-sync's, which blocks
//! nothing.

use crate::ctx::{RunCtx, StepDone, StepError};
use crate::plan::StepInstance;

pub(crate) async fn run(ctx: &RunCtx, _inst: &StepInstance) -> Result<StepDone, StepError> {
    // A failed pre-sync's warning is not one to block on: it blocks nothing (DESIGN §8).
    let warnings: Vec<String> = ctx.with_state(|s| {
        s.warnings
            .iter()
            .filter(|w| !super::presync::is_own_warning(w, &s.presync_failed))
            .cloned()
            .collect()
    });
    if warnings.is_empty() {
        Ok(StepDone::unchanged("no warnings"))
    } else {
        Err(StepError::Failed(format!(
            "blocked on {} warning(s): {}",
            warnings.len(),
            warnings.join("; ")
        )))
    }
}
