//! Step 1a, `data_integrity_lock`: put a Deny-Everyone entry on every SMB share under the
//! failed-over paths on the source, saving the original permissions first, so no SMB client
//! can write to the source during the failover. `rollback_lock` restores the originals.
//!
//! The originals are what config replication (step 5) copies to the target, so the target's
//! shares open with the permissions users had, not with the lock.

use serde_json::json;

use crate::exec::RunCtx;
use crate::papi::{SmbPermission, SmbShare};
use crate::plan::StepInstance;

use super::{shares_under, StepDone, StepError};

pub async fn run(ctx: &RunCtx, inst: &StepInstance) -> Result<StepDone, StepError> {
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
            for (zone, share) in &to_lock {
                s.saved_share_permissions
                    .entry(format!("{zone}/{}", share.name))
                    .or_insert_with(|| share.permissions.clone());
            }
        });
        ctx.checkpoint();
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

/// Put the saved permissions back: on every locked share after a failed gate, or on the
/// shares under one policy's path (`rollback_lock[P]`, safety rule S5) when that policy's
/// chain failed before allow-write and the source still serves its users.
pub async fn rollback(ctx: &RunCtx, inst: &StepInstance) -> Result<StepDone, StepError> {
    let src = ctx.source(inst)?;
    let mut saved = ctx.with_state(|s| s.saved_share_permissions.clone());
    if inst.policy.is_some() {
        let p = ctx.policy_info(inst)?;
        let mine: Vec<String> = shares_under(
            ctx,
            &src,
            &ctx.plan.spec.from,
            std::slice::from_ref(&p.source_path),
        )
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
