//! Step 6 (DFS mode; Access Zone / IP Pool mode for the zone's DFS shares), `dfs_rename_shares`: rename the source share `X` to `igls-dfs-X` and
//! the target's `igls-dfs-X` to `X`, so exactly one DFS referral target (`\\tgt\X`) is
//! reachable and DFS clients move to the target by themselves.
//!
//! The source is renamed first: for a moment no target answers (clients retry) rather than
//! both answering, which could split writes across the two copies.
//!
//! Safety rule S4 (never strand DFS clients): the source share is renamed only after the
//! target's copy is confirmed, and if the target rename then fails the source rename is
//! undone. The plan skips this step for a policy whose `sync_config` failed.
//!
//! Uncontrolled failover (the source is down): only the target side is renamed. The
//! source's `X` answers nobody while the source is down, so DFS clients fall through to the
//! target's `X`; the report's both-writable warning covers the source's return, and the
//! failback renames the source's `X` away before anything else.

use crate::ctx::{RunCtx, StepDone, StepError};
use serde_json::json;

use std::collections::BTreeMap;

use crate::papi::{PapiClient, SmbShare};
use crate::plan::StepInstance;
use crate::run_spec::Mode;

use super::policy_shares;

/// What both DFS rename steps work on: the source and target clients, the inactive-copy
/// prefix, and the source's SMB shares (with their zones) under the policy path.
pub(super) type DfsShares = (PapiClient, PapiClient, String, Vec<(String, SmbShare)>);

/// List what both DFS rename steps work on (one read, shared by the step and its undo).
///
/// In Access Zone / IP Pool mode only the zone's DFS shares are switched (seed step 6's
/// note: DFS data inside a zone failover): a share `X` is a DFS share when one side holds
/// it as the inactive copy `igls-dfs-X` (config replication creates the target's copy of a
/// DFS target share that way). Other shares are left to the SmartConnect names.
pub(super) async fn dfs_shares(ctx: &RunCtx, inst: &StepInstance) -> Result<DfsShares, StepError> {
    let src = ctx.source(inst)?;
    let tgt = ctx.target(inst)?;
    let mut shares = policy_shares(ctx, inst, &src).await?;
    let prefix = ctx.plan.spec.options.naming.dfs_prefix.clone();
    if matches!(ctx.plan.spec.mode, Mode::AccessZone | Mode::IpPool) {
        let mut target: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (zone, _) in &shares {
            if !target.contains_key(zone) {
                let names = tgt.smb_shares(zone).await?.into_iter().map(|s| s.name);
                target.insert(zone.clone(), names.collect());
            }
        }
        shares.retain(|(zone, s)| {
            original_name(&s.name, &prefix).is_some()
                || target
                    .get(zone)
                    .is_some_and(|t| t.iter().any(|n| *n == format!("{prefix}{}", s.name)))
        });
    }
    Ok((src, tgt, prefix, shares))
}

pub(crate) async fn run(ctx: &RunCtx, inst: &StepInstance) -> Result<StepDone, StepError> {
    if !ctx.plan.spec.controlled {
        return run_source_down(ctx, inst).await;
    }
    let (src, tgt, prefix, shares) = dfs_shares(ctx, inst).await?;
    let mut done = Vec::new();
    for (zone, share) in &shares {
        let (name, hidden_here) = match original_name(&share.name, &prefix) {
            Some(orig) => (orig.to_string(), true),
            None => (share.name.clone(), false),
        };
        if !hidden_here {
            // S4: the source share is hidden only once the target's copy is confirmed.
            #[allow(unused_mut)]
            let mut check = true;
            #[cfg(feature = "planted-bugs")]
            if matches!(
                ctx.plan.spec.options.planted_bug,
                Some(crate::bugs::PlantedBug::DfsRenameWithoutTargetShare)
            ) {
                check = false; // Wrong on purpose: hide the source share unchecked.
            }
            if check {
                confirm_target(&tgt, zone, &name, &prefix).await?;
            }
            src.update_smb_share(zone, &name, &json!({"name": format!("{prefix}{name}")}))
                .await?;
            done.push(format!("{}:{name} → {prefix}{name}", ctx.plan.spec.from));
        }
        if let Err(e) = activate_target(&tgt, zone, &name, &prefix, &mut done).await {
            // S4: the target share did not come up; give DFS clients the source back.
            let undo = src
                .update_smb_share(zone, &format!("{prefix}{name}"), &json!({ "name": name }))
                .await;
            return Err(StepError::Failed(match undo {
                Ok(()) => format!(
                    "{e}; source share {name} on {} renamed back, DFS clients stay on the source",
                    ctx.plan.spec.from
                ),
                Err(u) => format!(
                    "{e}; renaming source share {prefix}{name} back to {name} on {} also failed ({u}): DFS clients have no target for it",
                    ctx.plan.spec.from
                ),
            }));
        }
    }
    Ok(if done.is_empty() && shares.is_empty() {
        StepDone::unchanged("no DFS share under the policy path")
    } else if done.is_empty() {
        StepDone::unchanged("shares already renamed")
    } else {
        StepDone::acted(done.join("; "))
    })
}

/// The target must offer the share, active (`X`) or inactive (`igls-dfs-X`), before the
/// source's `X` is hidden.
pub(super) async fn confirm_target(
    tgt: &crate::papi::PapiClient,
    zone: &str,
    name: &str,
    prefix: &str,
) -> Result<(), StepError> {
    let shares = tgt.smb_shares(zone).await?;
    let hidden = format!("{prefix}{name}");
    if shares.iter().any(|s| s.name == name || s.name == hidden) {
        Ok(())
    } else {
        Err(StepError::Failed(format!(
            "target {} has neither {name} nor {hidden} in zone {zone}; source share {name} left as it is (config replication must create the target share first)",
            tgt.cluster()
        )))
    }
}

pub(super) fn original_name<'a>(name: &'a str, prefix: &str) -> Option<&'a str> {
    name.strip_prefix(prefix)
}

pub(super) async fn activate_target(
    tgt: &crate::papi::PapiClient,
    zone: &str,
    name: &str,
    prefix: &str,
    done: &mut Vec<String>,
) -> Result<(), StepError> {
    let shares = tgt.smb_shares(zone).await?;
    if shares.iter().any(|s| s.name == name) {
        return Ok(());
    }
    let hidden = format!("{prefix}{name}");
    if !shares.iter().any(|s| s.name == hidden) {
        return Err(StepError::Failed(format!(
            "target {} has neither {name} nor {hidden} in zone {zone}; config replication must create it first",
            tgt.cluster()
        )));
    }
    tgt.update_smb_share(zone, &hidden, &json!({"name": name}))
        .await?;
    done.push(format!("{}:{hidden} → {name}", tgt.cluster()));
    Ok(())
}

/// Uncontrolled failover: the target's inactive copies `igls-dfs-X` under the policy's
/// target path become `X` (the source cannot be read or renamed).
async fn run_source_down(ctx: &RunCtx, inst: &StepInstance) -> Result<StepDone, StepError> {
    let tgt = ctx.target(inst)?;
    let p = ctx.policy_info(inst)?;
    let prefix = ctx.plan.spec.options.naming.dfs_prefix.clone();
    let shares = super::shares_under(
        ctx,
        &tgt,
        &ctx.plan.spec.to,
        std::slice::from_ref(&p.target_path),
    )
    .await?;
    let mut done = Vec::new();
    let mut active = 0;
    for (zone, share) in &shares {
        match original_name(&share.name, &prefix) {
            Some(name) => activate_target(&tgt, zone, name, &prefix, &mut done).await?,
            None => active += 1,
        }
    }
    Ok(if !done.is_empty() {
        StepDone::acted(format!(
            "{}; {} is unreachable, its shares were not renamed",
            done.join("; "),
            ctx.plan.spec.from
        ))
    } else if active > 0 {
        StepDone::unchanged("target shares already active")
    } else if matches!(ctx.plan.spec.mode, Mode::AccessZone | Mode::IpPool) {
        // Zone modes switch only the zone's DFS shares; a policy without SMB shares (NFS
        // only) has none, and its clients follow the SmartConnect names instead.
        StepDone::unchanged("no DFS share under the policy path")
    } else {
        return Err(StepError::Failed(format!(
            "target {} has no {prefix}<share> under {} to activate; DFS clients have no target (config replication must create the target shares first)",
            tgt.cluster(),
            p.target_path
        )));
    })
}
