//! Step 3a, `block_on_warning`: when enabled, the warnings `validate` recorded stop the run
//! before any cut-over (outcome `blocked`).

use crate::ctx::{RunCtx, StepDone, StepError};
use crate::plan::StepInstance;

pub(crate) async fn run(ctx: &RunCtx, _inst: &StepInstance) -> Result<StepDone, StepError> {
    let warnings = ctx.with_state(|s| s.warnings.clone());
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
