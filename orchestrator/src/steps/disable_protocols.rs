//! Step 1 (option), `disable_protocols`: turn SMB and NFS off cluster-wide on the source, so
//! no client can write there during the failover. `rollback_protocols` turns back on what
//! this step turned off.

use crate::exec::RunCtx;
use crate::plan::StepInstance;

use super::{StepDone, StepError};

pub async fn run(ctx: &RunCtx, inst: &StepInstance) -> Result<StepDone, StepError> {
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
            ctx.checkpoint();
            src.set_protocol_service(proto, false).await?;
            turned_off.push(proto.to_string());
        }
    }
    if turned_off.is_empty() {
        Ok(StepDone::unchanged("SMB and NFS already off"))
    } else {
        Ok(StepDone::acted(format!(
            "turned off {}",
            turned_off.join(", ")
        )))
    }
}

pub async fn rollback(ctx: &RunCtx, inst: &StepInstance) -> Result<StepDone, StepError> {
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
    if turned_on.is_empty() {
        Ok(StepDone::unchanged("nothing to turn back on"))
    } else {
        Ok(StepDone::acted(format!(
            "turned {} back on",
            turned_on.join(", ")
        )))
    }
}
