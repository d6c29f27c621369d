//! S3 undo `rollback_remove_source_spns[zone]`: the source's machine account gets the SPNs
//! back. See `rollback_networking.rs` for the order.

use crate::ctx::{RunCtx, StepDone, StepError};
use crate::plan::StepInstance;

use super::spns::add_spns;

/// Register the moved names' SPNs on the source's machine account again. Refuses, like
/// `add_target_spns`, to create a duplicate: if another account still holds one, the
/// rollback stops there and says so.
pub(crate) async fn run(ctx: &RunCtx, inst: &StepInstance) -> Result<StepDone, StepError> {
    if !ctx.plan.spec.controlled {
        // The source is down; its account is edited through the target's AD provider.
        return super::spns::restore_spns_via_target(ctx, inst).await;
    }
    add_spns(ctx, inst, &ctx.source(inst)?, false, |added, account| {
        (
            "source account already has the SPNs",
            format!("registered {added} SPN(s) on {account} again"),
        )
    })
    .await
}
