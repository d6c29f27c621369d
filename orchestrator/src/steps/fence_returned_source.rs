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
//!   this, clients write to the returned copy and resync-prep discards those writes).
//!
//! The step is a validation gate: if any of this fails, nothing else runs (a name answered
//! by two clusters, or writes about to be discarded, is worse than no failback).

use serde_json::json;

use crate::ctx::{RunCtx, StepDone, StepError};
use crate::plan::StepInstance;
use crate::run_spec::{Mode, Networking};

use super::smartconnect::{pool, renamed_away, set_names};
use super::spns::{provider, same};

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
        ctx.with_state(|s| {
            if !s.warnings.contains(&warning) {
                s.warnings.push(warning)
            }
        });
    }
    if !spns.is_empty() && !tgt.ads_providers().await?.is_empty() {
        let _edit = ctx.spn_edit.lock().await;
        let ads = provider(&tgt).await?;
        let keep: Vec<String> = ads
            .spns
            .iter()
            .filter(|s| !spns.iter().any(|w| same(w, s)))
            .cloned()
            .collect();
        if keep.len() != ads.spns.len() {
            tgt.set_ads_spns(ads.key(), &keep).await?;
            done.push(format!(
                "removed {} SPN(s) from {}",
                ads.spns.len() - keep.len(),
                ads.machine_account
            ));
        }
    }

    // DFS mode: the returned copy's shares stop being a referral target.
    if plan.spec.mode == Mode::Dfs {
        let prefix = &naming.dfs_prefix;
        let paths: Vec<String> = plan
            .policies
            .iter()
            .filter(|p| returned.original_of(&p.name).is_some())
            .map(|p| p.target_path.clone())
            .collect();
        for (zone, share) in super::shares_under(ctx, &tgt, &returned.cluster, &paths).await? {
            if share.name.starts_with(prefix.as_str()) {
                continue;
            }
            let hidden = format!("{prefix}{}", share.name);
            tgt.update_smb_share(&zone, &share.name, &json!({ "name": hidden }))
                .await?;
            done.push(format!("{}:{} → {hidden}", returned.cluster, share.name));
        }
    }

    let warning = format!(
        "{}; the failback fenced it first, and resync-prep there discards what it wrote after its last good sync (the uncontrolled failover's RPO loss)",
        returned.why
    );
    ctx.with_state(|s| {
        if !s.warnings.contains(&warning) {
            s.warnings.push(warning)
        }
    });
    Ok(StepDone::from_changes(
        &done,
        "; ",
        "returned source already fenced",
        |l| l,
    ))
}
