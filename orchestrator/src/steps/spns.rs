//! Networking steps 7/15 and 9/17: Kerberos SPNs follow the SmartConnect names.
//!
//! `remove_source_spns` deletes `HOST/<name>` and `HOST/<fqdn>` of every moved name from the
//! source cluster's machine account; `add_target_spns` registers them on the target's. The
//! removal comes first: the same SPN on two accounts breaks Kerberos for that name (I6).
//! PAPI's `PUT /auth/providers/ads/{id}` replaces the whole list, so each step reads the
//! list, edits it, and writes it back, holding the run's SPN edit lock so that concurrent
//! zones do not undo each other's edits.

use crate::exec::RunCtx;
use crate::papi::PapiClient;
use crate::plan::StepInstance;

use super::{StepDone, StepError};

/// `HOST/<short>` and `HOST/<fqdn>` for a SmartConnect name.
pub fn spns_for(name: &str) -> Vec<String> {
    let short = name.split('.').next().unwrap_or(name);
    let mut v = vec![format!("HOST/{short}")];
    if short != name {
        v.push(format!("HOST/{name}"));
    }
    v
}

/// The SPNs of every name the zone's mappings move.
pub(super) fn spns_wanted(ctx: &RunCtx, inst: &StepInstance) -> Result<Vec<String>, StepError> {
    let naming = &ctx.plan.spec.options.naming;
    let mut out = Vec::new();
    for m in &ctx.zone_plan(inst)?.mappings {
        for n in m.names(naming) {
            for s in spns_for(&n) {
                if !out.contains(&s) {
                    out.push(s);
                }
            }
        }
    }
    Ok(out)
}

pub(super) async fn provider(client: &PapiClient) -> Result<crate::papi::AdsProvider, StepError> {
    client
        .ads_providers()
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| {
            StepError(format!(
                "{} has no Active Directory provider",
                client.cluster()
            ))
        })
}

fn same(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

pub async fn remove_source(ctx: &RunCtx, inst: &StepInstance) -> Result<StepDone, StepError> {
    let src = ctx.source(inst)?;
    let spns = spns_wanted(ctx, inst)?;
    let _edit = ctx.spn_edit.lock().await;
    let ads = provider(&src).await?;
    let keep: Vec<String> = ads
        .spns
        .iter()
        .filter(|s| !spns.iter().any(|w| same(w, s)))
        .cloned()
        .collect();
    if keep.len() == ads.spns.len() {
        return Ok(StepDone::unchanged("no moved SPN on the source account"));
    }
    src.set_ads_spns(ads.key(), &keep).await?;
    Ok(StepDone::acted(format!(
        "removed {} SPN(s) from {}",
        ads.spns.len() - keep.len(),
        ads.machine_account
    )))
}

pub async fn add_target(ctx: &RunCtx, inst: &StepInstance) -> Result<StepDone, StepError> {
    let tgt = ctx.target(inst)?;
    let spns = spns_wanted(ctx, inst)?;
    let _edit = ctx.spn_edit.lock().await;
    // Never create a duplicate: if another account (the source's, whose removal failed or
    // could not run, or any other) holds a moved SPN, registering it here would break
    // Kerberos for that name (I6). The target's own duplicate check sees them, since its
    // pool now carries the moved names.
    let dups: Vec<String> = tgt
        .ads_providers_checked()
        .await?
        .into_iter()
        .flat_map(|a| a.dup_spns)
        .filter(|d| spns.iter().any(|w| same(w, d)))
        .collect();
    if !dups.is_empty() {
        return Err(StepError(format!(
            "{} held by another machine account; not registering them on {} (remove them there first)",
            dups.join(", "),
            tgt.cluster()
        )));
    }
    let ads = provider(&tgt).await?;
    let mut list = ads.spns.clone();
    let mut added = 0;
    for s in spns {
        if !list.iter().any(|x| same(x, &s)) {
            list.push(s);
            added += 1;
        }
    }
    if added == 0 {
        return Ok(StepDone::unchanged("target account already has the SPNs"));
    }
    tgt.set_ads_spns(ads.key(), &list).await?;
    Ok(StepDone::acted(format!(
        "added {added} SPN(s) to {}",
        ads.machine_account
    )))
}
