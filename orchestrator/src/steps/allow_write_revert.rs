//! Rehearsal step `allow_write_revert[P]` (9↺): the target goes back to `writes_disabled`,
//! discarding what test clients wrote there. Shares the job logic of `allow_write.rs`.

use super::allow_write::*;
use crate::ctx::{RunCtx, StepDone, StepError};
use crate::papi::JobAction;
use crate::plan::StepInstance;

/// Rehearsal: `allow_write_revert` puts the target back to `writes_disabled`, discarding what
/// test clients wrote there (the target returns to the last sync).
pub(crate) async fn run(ctx: &RunCtx, inst: &StepInstance) -> Result<StepDone, StepError> {
    move_target(ctx, inst, JobAction::AllowWriteRevert, "writes_disabled").await
}
