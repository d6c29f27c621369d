//! Networking steps 7/15 and 9/17: Kerberos SPNs follow the SmartConnect names.
//!
//! `remove_source_spns` deletes `HOST/<name>` and `HOST/<fqdn>` of every moved name from the
//! source cluster's machine account; `add_target_spns` registers them on the target's. The
//! removal comes first: the same SPN on two accounts breaks Kerberos for that name (I6).
//! PAPI's `PUT /auth/providers/ads/{id}` replaces the whole list, so each step reads the
//! list, edits it, and writes it back, holding the run's SPN edit lock so that concurrent
//! zones do not undo each other's edits. This file holds what the SPN steps and their S3
//! undos (`rollback_add_target_spns`, `rollback_remove_source_spns`) share.

use crate::ctx::{RunCtx, StepDone, StepError};
use crate::papi::PapiClient;
use crate::plan::StepInstance;

/// The SPNs of every name the zone's mappings move.
pub(super) fn spns_wanted(ctx: &RunCtx, inst: &StepInstance) -> Result<Vec<String>, StepError> {
    let naming = &ctx.plan.spec.options.naming;
    let mut out = Vec::new();
    for m in &ctx.zone_plan(inst)?.mappings {
        for n in m.names(naming) {
            for s in crate::naming::spns_for(&n) {
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
            StepError::Failed(format!(
                "{} has no Active Directory provider",
                client.cluster()
            ))
        })
}

pub(super) fn same(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// Take the zone's moved SPNs off `client`'s machine account (read, edit, write back under
/// the run's SPN edit lock); `nothing` is the detail when none was there.
pub(super) async fn remove_spns(
    ctx: &RunCtx,
    inst: &StepInstance,
    client: &PapiClient,
    nothing: &str,
) -> Result<StepDone, StepError> {
    let spns = spns_wanted(ctx, inst)?;
    Ok(match remove_from_account(ctx, client, &spns).await? {
        Some(done) => StepDone::acted(done),
        None => StepDone::unchanged(nothing),
    })
}

/// Take `spns` off `client`'s machine account: read the list, edit it and write it back
/// under the run's SPN edit lock (PAPI replaces the whole list). `Some(what was done)`, or
/// `None` when none of them was there.
pub(super) async fn remove_from_account(
    ctx: &RunCtx,
    client: &PapiClient,
    spns: &[String],
) -> Result<Option<String>, StepError> {
    let _edit = ctx.spn_edit.lock().await;
    let ads = provider(client).await?;
    let keep: Vec<String> = ads
        .spns
        .iter()
        .filter(|s| !spns.iter().any(|w| same(w, s)))
        .cloned()
        .collect();
    if keep.len() == ads.spns.len() {
        return Ok(None);
    }
    client.set_ads_spns(ads.key(), &keep).await?;
    Ok(Some(format!(
        "removed {} SPN(s) from {}",
        ads.spns.len() - keep.len(),
        ads.machine_account
    )))
}

/// Register the zone's moved SPNs on `client`'s machine account (under the run's SPN edit
/// lock). With `refuse_duplicates`, fail instead when another account holds one of them.
/// `words(added, account)` gives the detail when nothing was missing, and when some were.
pub(super) async fn add_spns(
    ctx: &RunCtx,
    inst: &StepInstance,
    client: &PapiClient,
    refuse_duplicates: bool,
    words: impl Fn(usize, &str) -> (&'static str, String),
) -> Result<StepDone, StepError> {
    let spns = spns_wanted(ctx, inst)?;
    let _edit = ctx.spn_edit.lock().await;
    if refuse_duplicates {
        let dups: Vec<String> = client
            .ads_providers_checked()
            .await?
            .into_iter()
            .flat_map(|a| a.dup_spns)
            .filter(|d| spns.iter().any(|w| same(w, d)))
            .collect();
        if !dups.is_empty() {
            return Err(StepError::Failed(format!(
                "{} held by another machine account; not registering them on {} (remove them there first)",
                dups.join(", "),
                client.cluster()
            )));
        }
    }
    let ads = provider(client).await?;
    let mut list = ads.spns.clone();
    let mut added = 0;
    for s in spns {
        if !list.iter().any(|x| same(x, &s)) {
            list.push(s);
            added += 1;
        }
    }
    let (nothing, done) = words(added, &ads.machine_account);
    if added == 0 {
        return Ok(StepDone::unchanged(nothing));
    }
    client.set_ads_spns(ads.key(), &list).await?;
    Ok(StepDone::acted(done))
}

/// The source's machine account: as discovered, else (the source is down) the cluster's
/// name, which OneFS uses for its machine account when joining a domain.
fn source_account(ctx: &RunCtx) -> String {
    let from = &ctx.plan.spec.from;
    ctx.inventory
        .ads
        .get(from)
        .and_then(|a| a.first())
        .map(|a| a.machine_account.clone())
        .filter(|a| !a.is_empty())
        .unwrap_or_else(|| from.clone())
}

/// Uncontrolled failover: take the zone's moved SPNs off the unreachable source's machine
/// account through the target cluster's AD provider (read, edit, write back under the
/// run's SPN edit lock).
pub(super) async fn remove_spns_via_target(
    ctx: &RunCtx,
    inst: &StepInstance,
) -> Result<StepDone, StepError> {
    let spns = spns_wanted(ctx, inst)?;
    let tgt = ctx.target(inst)?;
    let account = source_account(ctx);
    let _edit = ctx.spn_edit.lock().await;
    let (own, theirs) = source_account_spns(&tgt, &account).await?;
    let keep: Vec<String> = theirs
        .spns
        .iter()
        .filter(|s| !spns.iter().any(|w| same(w, s)))
        .cloned()
        .collect();
    if keep.len() == theirs.spns.len() {
        return Ok(StepDone::unchanged(
            "no moved SPN on the source account (read through the target)",
        ));
    }
    tgt.set_account_spns(own.key(), &account, &keep).await?;
    Ok(StepDone::acted(format!(
        "removed {} SPN(s) from {account} through {}'s AD provider ({} is unreachable)",
        theirs.spns.len() - keep.len(),
        tgt.cluster(),
        ctx.plan.spec.from
    )))
}

/// The target's AD provider and the source account's SPNs read through it.
async fn source_account_spns(
    tgt: &PapiClient,
    account: &str,
) -> Result<(crate::papi::AdsProvider, crate::papi::AdsProvider), StepError> {
    let own = provider(tgt).await?;
    let theirs = tgt.account_spns(own.key(), account).await?.ok_or_else(|| {
        StepError::Failed(format!(
            "{} cannot read machine account {account} through its AD provider",
            tgt.cluster()
        ))
    })?;
    Ok((own, theirs))
}

/// Uncontrolled failover, S3 undo: give the unreachable source's machine account its SPNs
/// back through the target cluster's AD provider (the undo of
/// [`remove_spns_via_target`]; its partner undo has taken them off the target first).
pub(super) async fn restore_spns_via_target(
    ctx: &RunCtx,
    inst: &StepInstance,
) -> Result<StepDone, StepError> {
    let spns = spns_wanted(ctx, inst)?;
    let tgt = ctx.target(inst)?;
    let account = source_account(ctx);
    let _edit = ctx.spn_edit.lock().await;
    let (own, theirs) = source_account_spns(&tgt, &account).await?;
    let mut list = theirs.spns.clone();
    for s in spns {
        if !list.iter().any(|x| same(x, &s)) {
            list.push(s);
        }
    }
    let added = list.len() - theirs.spns.len();
    if added == 0 {
        return Ok(StepDone::unchanged("source account already has the SPNs"));
    }
    tgt.set_account_spns(own.key(), &account, &list).await?;
    Ok(StepDone::acted(format!(
        "registered {added} SPN(s) on {account} again through {}'s AD provider ({} is unreachable)",
        tgt.cluster(),
        ctx.plan.spec.from
    )))
}
