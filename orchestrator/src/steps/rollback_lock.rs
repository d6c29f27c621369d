//! `rollback_lock` (undo of 1a): the SMB shares' saved original permissions are put back.

use super::policy_shares;
use crate::ctx::{RunCtx, StepDone, StepError};
use crate::plan::StepInstance;
use serde_json::json;

/// Put the saved permissions back: on every locked share after a failed gate, or on the
/// shares under one policy's path (`rollback_lock[P]`, safety rule S5) when that policy's
/// chain failed before allow-write and the source still serves its users.
pub(crate) async fn run(ctx: &RunCtx, inst: &StepInstance) -> Result<StepDone, StepError> {
    let src = ctx.source(inst)?;
    let mut saved = ctx.with_state(|s| (*s.saved_share_permissions).clone());
    if inst.policy.is_some() {
        let mine: Vec<String> = policy_shares(ctx, inst, &src)
            .await?
            .into_iter()
            .map(|(zone, share)| {
                let name = share
                    .name
                    .strip_prefix(&ctx.plan.spec.options.naming.dfs_prefix)
                    .unwrap_or(&share.name);
                format!("{zone}/{name}")
            })
            .collect();
        saved.retain(|k, _| mine.contains(k));
    }
    let mut restored = 0;
    // A DFS-mode share may carry the inactive-copy prefix by now (`igls-dfs-X`): the lock
    // saved it under its name at lock time.
    let prefix = &ctx.plan.spec.options.naming.dfs_prefix;
    for (key, perms) in &saved {
        let Some((zone, name)) = key.split_once('/') else {
            continue;
        };
        let current = src.smb_shares(zone).await?;
        let hidden = format!("{prefix}{name}");
        let Some(share) = current
            .iter()
            .find(|s| s.name == name)
            .or_else(|| current.iter().find(|s| s.name == hidden))
        else {
            continue;
        };
        if &share.permissions == perms {
            continue;
        }
        src.update_smb_share(zone, &share.name, &json!({ "permissions": perms }))
            .await?;
        restored += 1;
    }
    Ok(if restored == 0 {
        StepDone::unchanged("no share needed its permissions back")
    } else {
        StepDone::acted(format!(
            "original permissions restored on {restored} share(s)"
        ))
    })
}
