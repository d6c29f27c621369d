//! Step 0 of a failback after an uncontrolled failover, `fence_returned_source`: before
//! anything else, the returned source (the run's target) stops answering production names
//! and stops replicating, because its copy holds stale data that its resync-prep will roll
//! back:
//!
//! * its policies' schedules are held (set to manual, the old schedule cached under the
//!   original policy's name so `restore_schedule` can put it on the original at the end) —
//!   a scheduled run would try to push stale data over the failed-over copy;
//! * the mapped pools' SmartConnect names (zone modes; SyncIQ mode with automatic
//!   networking) are renamed `igls-original-<name>`, exactly as `rename_source_smartconnect`
//!   leaves them after a controlled failover, so the failback's own networking steps bring
//!   them home unchanged; their `HOST/` SPNs come off the returned source's account if the
//!   failover could not remove them;
//! * in DFS mode its shares under the policy paths are renamed `igls-dfs-<share>`, as
//!   `dfs_rename_shares` leaves them, so DFS clients keep using the failed-over side's
//!   referral target (a DFS client takes the first target whose share answers; without
//!   this, clients write to the returned copy and resync-prep discards those writes); in
//!   zone modes the same for every share the failed-over side also serves (the zone's DFS
//!   shares cannot be told from the others any more, see [`hide_returned_shares`]).
//!
//! The step is a validation gate: if any of this fails, nothing else runs (a name answered
//! by two clusters, or writes about to be discarded, is worse than no failback).

use std::collections::BTreeMap;

use serde_json::json;

use crate::ctx::{RunCtx, StepDone, StepError};
use crate::plan::StepInstance;
use crate::run_spec::{Mode, Networking};

use super::smartconnect::{pool, renamed_away, set_names};
use super::spns::remove_from_account;

pub(crate) async fn run(ctx: &RunCtx, inst: &StepInstance) -> Result<StepDone, StepError> {
    let plan = &ctx.plan;
    let returned = plan.returned.as_ref().ok_or_else(|| {
        StepError::Failed(
            "fence_returned_source runs only in a failback after an uncontrolled failover".into(),
        )
    })?;
    let tgt = ctx.target(inst)?;
    let naming = &plan.spec.options.naming;
    let mut done: Vec<String> = Vec::new();

    // Schedules first: nothing may start a stale sync while the names are being moved.
    for (_, orig) in &returned.policies {
        let p = tgt.get_policy(orig).await?.ok_or_else(|| {
            StepError::Failed(format!("policy {orig} not found on {}", returned.cluster))
        })?;
        if p.schedule.is_empty() {
            ctx.with_state(|s| {
                s.cached_schedules.entry(orig.clone()).or_default();
            });
            continue;
        }
        ctx.with_state(|s| s.cached_schedules.insert(orig.clone(), p.schedule.clone()));
        ctx.checkpoint()?;
        tgt.update_policy(orig, &json!({"schedule": ""})).await?;
        done.push(format!("{orig}: schedule {:?} held (manual)", p.schedule));
    }

    // SmartConnect names of the mapped pools, and their SPNs.
    let names_move = matches!(plan.spec.mode, Mode::AccessZone | Mode::IpPool)
        || (plan.spec.mode == Mode::SynciqPolicy
            && plan.spec.options.networking == Networking::Auto);
    let mut spns: Vec<String> = Vec::new();
    if names_move {
        for m in plan.zones.iter().flat_map(|z| &z.mappings) {
            // The returned cluster's pool is the mapping's target pool in a failback.
            let names = m.names(naming);
            let pl = pool(&tgt, &m.target_pool.id).await?;
            let (zone, aliases) = renamed_away(&pl, &names, &naming.original_prefix);
            if set_names(&tgt, &pl, Some(&zone), &aliases).await? {
                done.push(format!("{}: {} → {zone}", pl.id, pl.sc_dns_zone));
            }
            for n in &names {
                for s in crate::naming::spns_for(n) {
                    if !spns.contains(&s) {
                        spns.push(s);
                    }
                }
            }
        }
    }
    if plan.spec.mode == Mode::SynciqPolicy && (!names_move || plan.zones.is_empty()) {
        let warning = format!(
            "{} returned after an uncontrolled failover and no pool mapping moves its names: make sure its pools no longer answer the production names before clients reconnect",
            returned.cluster
        );
        ctx.with_state(|s| s.warn_once(warning));
    }
    if !spns.is_empty() && !tgt.ads_providers().await?.is_empty() {
        done.extend(remove_from_account(ctx, &tgt, &spns).await?);
    }

    // The returned copy's shares stop being DFS referral targets.
    if plan.spec.mode != Mode::SynciqPolicy {
        hide_returned_shares(ctx, inst, returned, &mut done).await?;
    }

    let warning = format!(
        "{}; the failback fenced it first, and resync-prep there discards what it wrote after its last good sync (the uncontrolled failover's RPO loss)",
        returned.why
    );
    ctx.with_state(|s| s.warn_once(warning));
    Ok(StepDone::from_changes(
        &done,
        "; ",
        "returned source already fenced",
        |l| l,
    ))
}

/// Rename the returned cluster's shares under the returned policies' paths `igls-dfs-<X>`,
/// as `dfs_rename_shares` leaves a failed-over source, so DFS clients keep using the
/// failed-over side's referral target; the failback's own `dfs_rename_shares` brings them
/// home.
///
/// DFS mode hides every such share. In Access Zone / IP Pool mode a zone's DFS shares are
/// known by their inactive copy `igls-dfs-X` on one side, and the uncontrolled failover,
/// which could not reach the source, activated the target's copy without hiding the
/// source's: both sides now hold `X`, and nothing tells a DFS share from an ordinary one.
/// So every share `X` the failed-over side also serves is hidden. For an ordinary share that
/// costs nothing (its clients follow the SmartConnect names, which this step has already
/// moved away, and the failback switches it back like a DFS share), whereas a DFS client
/// that wrote to the stale copy would lose those writes at resync-prep. A share the
/// failed-over side does not serve stays: hiding it would leave its data without a name
/// after the failback.
async fn hide_returned_shares(
    ctx: &RunCtx,
    inst: &StepInstance,
    returned: &crate::plan::Returned,
    done: &mut Vec<String>,
) -> Result<(), StepError> {
    let plan = &ctx.plan;
    let tgt = ctx.target(inst)?;
    let prefix = &plan.spec.options.naming.dfs_prefix;
    let paths: Vec<String> = plan
        .policies
        .iter()
        .filter(|p| returned.original_of(&p.name).is_some())
        .map(|p| p.target_path.clone())
        .collect();
    let zone_mode = plan.spec.mode != Mode::Dfs;
    let mut served: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (zone, share) in super::shares_under(ctx, &tgt, &returned.cluster, &paths).await? {
        if share.name.starts_with(prefix.as_str()) {
            continue;
        }
        if zone_mode {
            if !served.contains_key(&zone) {
                let src = ctx.source(inst)?;
                let names = src.smb_shares(&zone).await?.into_iter().map(|s| s.name);
                served.insert(zone.clone(), names.collect());
            }
            if !served[&zone]
                .iter()
                .any(|n| n.eq_ignore_ascii_case(&share.name))
            {
                continue;
            }
        }
        let hidden = format!("{prefix}{}", share.name);
        tgt.update_smb_share(&zone, &share.name, &json!({ "name": hidden }))
            .await?;
        done.push(format!("{}:{} → {hidden}", returned.cluster, share.name));
    }
    Ok(())
}
