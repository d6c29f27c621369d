//! S4/S5 undo `rollback_dfs_rename_shares[P]`: a policy whose allow-write failed after its
//! DFS shares were switched gets them switched back (target `X` hidden again, source `X`
//! active). Shares the share listing of `dfs_rename_shares.rs`.

use super::dfs_rename_shares::*;
use crate::ctx::{RunCtx, StepDone, StepError};
use crate::plan::StepInstance;
use serde_json::json;

/// `rollback_dfs_rename_shares[P]`: the policy's allow-write failed after its DFS shares were
/// switched, so the target copy is read-only: hide the target's `X` again (`igls-dfs-X`),
/// then make the source's `X` active, so DFS clients reach the copy that is still writable.
pub(crate) async fn run(ctx: &RunCtx, inst: &StepInstance) -> Result<StepDone, StepError> {
    let (src, tgt, prefix, shares) = dfs_shares(ctx, inst).await?;
    let mut done = Vec::new();
    for (zone, share) in &shares {
        let Some(name) = original_name(&share.name, &prefix) else {
            continue; // active on the source already
        };
        let hidden = format!("{prefix}{name}");
        if tgt.smb_shares(zone).await?.iter().any(|s| s.name == name) {
            tgt.update_smb_share(zone, name, &json!({ "name": hidden }))
                .await?;
            done.push(format!("{}:{name} → {hidden}", tgt.cluster()));
        }
        src.update_smb_share(zone, &hidden, &json!({ "name": name }))
            .await?;
        done.push(format!("{}:{hidden} → {name}", ctx.plan.spec.from));
    }
    Ok(if done.is_empty() {
        StepDone::unchanged("DFS shares already active on the source")
    } else {
        StepDone::acted(done.join("; "))
    })
}
