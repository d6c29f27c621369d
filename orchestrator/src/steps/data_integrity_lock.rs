//! Step 1a, `data_integrity_lock`: put a Deny-Everyone entry on every SMB share under the
//! failed-over paths on the source, saving the original permissions first, so no SMB client
//! can write to the source during the failover. `rollback_lock` restores the originals.
//!
//! The originals are what config replication (step 5) copies to the target, so the target's
//! shares open with the permissions users had, not with the lock.

use crate::ctx::{RunCtx, StepDone, StepError};
use serde_json::json;

use crate::papi::{SmbPermission, SmbShare};
use crate::plan::StepInstance;

use super::shares_under;

pub(crate) async fn run(ctx: &RunCtx, inst: &StepInstance) -> Result<StepDone, StepError> {
    let src = ctx.source(inst)?;
    let paths: Vec<String> = ctx
        .plan
        .policies
        .iter()
        .map(|p| p.source_path.clone())
        .collect();
    let shares = shares_under(ctx, &src, &ctx.plan.spec.from, &paths).await?;
    // Shares not yet locked (a resumed run finds some already locked).
    let to_lock: Vec<&(String, SmbShare)> = shares
        .iter()
        .filter(|(_, share)| {
            !share
                .permissions
                .iter()
                .any(SmbPermission::is_deny_everyone)
        })
        .collect();
    // Save every original before the first change, in one checkpoint (write-ahead).
    if !to_lock.is_empty() {
        ctx.with_state(|s| {
            let saved = std::sync::Arc::make_mut(&mut s.saved_share_permissions);
            for (zone, share) in &to_lock {
                saved
                    .entry(format!("{zone}/{}", share.name))
                    .or_insert_with(|| share.permissions.clone());
            }
        });
        ctx.checkpoint()?;
    }
    for (zone, share) in &to_lock {
        let mut perms = vec![SmbPermission::deny_everyone()];
        perms.extend(share.permissions.iter().cloned());
        src.update_smb_share(zone, &share.name, &json!({ "permissions": perms }))
            .await?;
    }
    let locked = to_lock.len();
    if locked == 0 {
        Ok(StepDone::unchanged(format!(
            "{} share(s) under the paths, none needed the lock",
            shares.len()
        )))
    } else {
        Ok(StepDone::acted(format!(
            "Deny-Everyone on {locked} share(s)"
        )))
    }
}
