//! S3 undo `rollback_add_target_spns[zone]`: the moved names' SPNs come off the target's
//! machine account. See `rollback_networking.rs` for the order.

use crate::ctx::{RunCtx, StepDone, StepError};
use crate::plan::StepInstance;

use super::spns::remove_spns;

/// Take the moved names' SPNs off the target's machine account.
pub(crate) async fn run(ctx: &RunCtx, inst: &StepInstance) -> Result<StepDone, StepError> {
    remove_spns(
        ctx,
        inst,
        &ctx.target(inst)?,
        "no moved SPN on the target account",
    )
    .await
}
