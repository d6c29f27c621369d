//! `rollback_protocols` (undo of step 1's option): SMB/NFS are turned back on, only those
//! `disable_protocols` turned off.

use crate::ctx::{RunCtx, StepDone, StepError};
use crate::plan::StepInstance;

pub(crate) async fn run(ctx: &RunCtx, inst: &StepInstance) -> Result<StepDone, StepError> {
    let src = ctx.source(inst)?;
    let protos = ctx.with_state(|s| s.protocols_disabled.clone());
    let mut turned_on = Vec::new();
    for proto in &protos {
        if !src.protocol_settings(proto).await?.service {
            src.set_protocol_service(proto, true).await?;
            turned_on.push(proto.clone());
        }
    }
    ctx.with_state(|s| s.protocols_disabled.clear());
    Ok(StepDone::from_changes(
        &turned_on,
        ", ",
        "nothing to turn back on",
        |l| format!("turned {l} back on"),
    ))
}
