//! Step 1 (option), `disable_protocols`: turn SMB and NFS off cluster-wide on the source, so
//! no client can write there during the failover. `rollback_protocols` turns back on what
//! this step turned off.

use crate::ctx::{RunCtx, StepDone, StepError};
use crate::plan::StepInstance;

pub(crate) async fn run(ctx: &RunCtx, inst: &StepInstance) -> Result<StepDone, StepError> {
    let src = ctx.source(inst)?;
    let mut turned_off = Vec::new();
    for proto in ["smb", "nfs"] {
        if src.protocol_settings(proto).await?.service {
            // Record it before turning it off (write-ahead): the rollback turns back on only
            // what is recorded, and a crash right after the change must not lose the record.
            ctx.with_state(|s| {
                if !s.protocols_disabled.iter().any(|p| p == proto) {
                    s.protocols_disabled.push(proto.to_string());
                }
            });
            ctx.checkpoint()?;
            src.set_protocol_service(proto, false).await?;
            turned_off.push(proto.to_string());
        }
    }
    Ok(StepDone::from_changes(
        &turned_off,
        ", ",
        "SMB and NFS already off",
        |l| format!("turned off {l}"),
    ))
}
