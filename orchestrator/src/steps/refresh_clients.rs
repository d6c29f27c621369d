//! Step 19, `refresh_clients`: clients pick up the move. SMB/NFS clients must reconnect or
//! remount (SmartConnect answers with a TTL of 0, so a new session resolves to the target);
//! DFS clients follow referrals by themselves. With manual networking (SyncIQ mode) this is
//! a checklist item the operator confirms.

use crate::ctx::{RunCtx, StepDone, StepError};
use crate::plan::StepInstance;
use crate::run_spec::{Mode, Networking};

pub(crate) async fn run(ctx: &RunCtx, _inst: &StepInstance) -> Result<StepDone, StepError> {
    let spec = &ctx.plan.spec;
    if spec.mode == Mode::SynciqPolicy && spec.options.networking == Networking::Manual {
        return Ok(StepDone {
            acted: false,
            detail: None,
            manual: Some(
                "Remount the NFS exports and reconnect the SMB shares on the clients (SMB clients under the data-integrity lock reconnect by themselves)."
                    .into(),
            ),
        });
    }
    Ok(StepDone::unchanged(match spec.mode {
        Mode::Dfs => "DFS clients follow the referral to the target by themselves",
        _ => "clients reconnect to the moved names on their next session (SmartConnect TTL 0)",
    }))
}
