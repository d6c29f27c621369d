//! Safety rule S3: a zone cut-over is all or nothing until data is writable. When a
//! networking step of a zone fails (zone modes run networking before any `allow_write`), the
//! executor adds these instances, in the reverse order of the networking chain, for each
//! networking step that succeeded or failed (a failed step may have half acted):
//!
//! | instance | undoes |
//! |---|---|
//! | `rollback_repoint_dns` | single delegation: the NS records point at the source again |
//! | `rollback_add_target_spns` | the moved names' SPNs come off the target's account |
//! | `rollback_move_smartconnect_to_target` | the moved names come off the target pool's aliases |
//! | `rollback_remove_source_spns` | the source's account gets the SPNs back |
//! | `rollback_rename_source_smartconnect` | the source pool gets its zone name and aliases back |
//!
//! The order matters for the same reasons as the forward chain's: the target lets go of a
//! name (and its SPNs) before the source takes it back, so no name is ever answered by two
//! clusters and no SPN is ever on two accounts. Each step reads first, so a rollback that
//! finds nothing to undo succeeds without acting.

use serde_json::json;

use crate::exec::RunCtx;
use crate::plan::StepInstance;

use super::spns::{provider, spns_wanted};
use super::{StepDone, StepError};

/// Single delegation: point the moved names' NS records back at the source pool.
pub async fn repoint_dns(ctx: &RunCtx, inst: &StepInstance) -> Result<StepDone, StepError> {
    let dns = ctx.dns.as_ref().ok_or_else(|| {
        StepError(
            "no DNS server configured (dns.server in the config); cannot put the delegation back"
                .into(),
        )
    })?;
    let naming = &ctx.plan.spec.options.naming;
    let saved = ctx.with_state(|s| s.saved_ns.clone());
    let mut restored = Vec::new();
    for m in &ctx.zone_plan(inst)?.mappings {
        for name in m.names(naming) {
            // Exactly the delegation `repoint_dns` replaced (journaled before it did).
            let Some(before) = saved.get(&name).filter(|b| !b.is_empty()) else {
                continue; // dual delegation, or never repointed
            };
            let ns = dns.ns(&name).await.map_err(|e| StepError(e.to_string()))?;
            let mut now = ns.clone();
            now.sort();
            let mut want = before.clone();
            want.sort();
            if now == want {
                continue;
            }
            let zone = name.split_once('.').map(|x| x.1).unwrap_or(&name);
            dns.replace_ns(zone, &name, before)
                .await
                .map_err(|e| StepError(format!("restoring NS of {name}: {e}")))?;
            restored.push(name);
        }
    }
    Ok(if restored.is_empty() {
        StepDone::unchanged("delegations already point at the source")
    } else {
        StepDone::acted(format!(
            "NS of {} point at the source again",
            restored.join(", ")
        ))
    })
}

/// Take the moved names' SPNs off the target's machine account.
pub async fn add_target_spns(ctx: &RunCtx, inst: &StepInstance) -> Result<StepDone, StepError> {
    let tgt = ctx.target(inst)?;
    let spns = spns_wanted(ctx, inst)?;
    let _edit = ctx.spn_edit.lock().await;
    let ads = provider(&tgt).await?;
    let keep: Vec<String> = ads
        .spns
        .iter()
        .filter(|s| !spns.iter().any(|w| w.eq_ignore_ascii_case(s)))
        .cloned()
        .collect();
    if keep.len() == ads.spns.len() {
        return Ok(StepDone::unchanged("no moved SPN on the target account"));
    }
    tgt.set_ads_spns(ads.key(), &keep).await?;
    Ok(StepDone::acted(format!(
        "removed {} SPN(s) from {}",
        ads.spns.len() - keep.len(),
        ads.machine_account
    )))
}

/// Take the moved names off the mapped target pools' aliases (a failback's forward step
/// restored the target pool's own names instead: those are renamed away again).
pub async fn move_smartconnect_to_target(
    ctx: &RunCtx,
    inst: &StepInstance,
) -> Result<StepDone, StepError> {
    let tgt = ctx.target(inst)?;
    let naming = &ctx.plan.spec.options.naming;
    let mut removed = Vec::new();
    for m in &ctx.zone_plan(inst)?.mappings {
        let Some(pool) = tgt.pool(&m.target_pool.id).await? else {
            return Err(StepError(format!(
                "pool {} not found on {}",
                m.target_pool.id,
                tgt.cluster()
            )));
        };
        let names = m.names(naming);
        if m.reverse {
            let (zone, aliases) = renamed_away(&pool, &names, &naming.original_prefix);
            if zone != pool.sc_dns_zone || aliases != pool.sc_dns_zone_aliases {
                tgt.update_pool(
                    &pool.id,
                    &json!({"sc_dns_zone": zone, "sc_dns_zone_aliases": aliases}),
                )
                .await?;
                removed.push(format!("{}: names renamed away again", pool.id));
            }
            continue;
        }
        let aliases = without(&pool.sc_dns_zone_aliases, &names);
        if aliases != pool.sc_dns_zone_aliases {
            tgt.update_pool(&pool.id, &json!({"sc_dns_zone_aliases": aliases}))
                .await?;
            removed.push(format!("{}: {} removed", pool.id, names.join(", ")));
        }
    }
    Ok(if removed.is_empty() {
        StepDone::unchanged("target pools carry none of the moved names")
    } else {
        StepDone::acted(removed.join("; "))
    })
}

/// Register the moved names' SPNs on the source's machine account again. Refuses, like
/// `add_target_spns`, to create a duplicate: if another account still holds one, the
/// rollback stops there and says so.
pub async fn remove_source_spns(ctx: &RunCtx, inst: &StepInstance) -> Result<StepDone, StepError> {
    let src = ctx.source(inst)?;
    let spns = spns_wanted(ctx, inst)?;
    let _edit = ctx.spn_edit.lock().await;
    let ads = provider(&src).await?;
    let mut list = ads.spns.clone();
    let mut added = 0;
    for s in spns {
        if !list.iter().any(|x| x.eq_ignore_ascii_case(&s)) {
            list.push(s);
            added += 1;
        }
    }
    if added == 0 {
        return Ok(StepDone::unchanged("source account already has the SPNs"));
    }
    src.set_ads_spns(ads.key(), &list).await?;
    Ok(StepDone::acted(format!(
        "registered {added} SPN(s) on {} again",
        ads.machine_account
    )))
}

/// Give the source pools their zone names and aliases back (strip `igls-original-` from the
/// moved names; a failback's source gets the names back as aliases).
pub async fn rename_source_smartconnect(
    ctx: &RunCtx,
    inst: &StepInstance,
) -> Result<StepDone, StepError> {
    let src = ctx.source(inst)?;
    let naming = &ctx.plan.spec.options.naming;
    let mut restored = Vec::new();
    for m in &ctx.zone_plan(inst)?.mappings {
        let Some(pool) = src.pool(&m.source_pool.id).await? else {
            return Err(StepError(format!(
                "pool {} not found on {}",
                m.source_pool.id,
                src.cluster()
            )));
        };
        let names = m.names(naming);
        if m.reverse {
            let mut aliases = pool.sc_dns_zone_aliases.clone();
            for n in &names {
                if !n.eq_ignore_ascii_case(&pool.sc_dns_zone)
                    && !aliases.iter().any(|a| a.eq_ignore_ascii_case(n))
                {
                    aliases.push(n.clone());
                }
            }
            if aliases != pool.sc_dns_zone_aliases {
                src.update_pool(&pool.id, &json!({"sc_dns_zone_aliases": aliases}))
                    .await?;
                restored.push(format!("{}: aliases {} back", pool.id, names.join(", ")));
            }
            continue;
        }
        let orig = |n: &str| match n.strip_prefix(&naming.original_prefix) {
            Some(o) if names.iter().any(|x| x.eq_ignore_ascii_case(o)) => o.to_string(),
            _ => n.to_string(),
        };
        let zone = orig(&pool.sc_dns_zone);
        let aliases: Vec<String> = pool.sc_dns_zone_aliases.iter().map(|a| orig(a)).collect();
        if zone != pool.sc_dns_zone || aliases != pool.sc_dns_zone_aliases {
            src.update_pool(
                &pool.id,
                &json!({"sc_dns_zone": zone, "sc_dns_zone_aliases": aliases}),
            )
            .await?;
            restored.push(format!("{}: names restored ({zone})", pool.id));
        }
    }
    Ok(if restored.is_empty() {
        StepDone::unchanged("source pools already carry their names")
    } else {
        StepDone::acted(restored.join("; "))
    })
}

fn without(list: &[String], names: &[String]) -> Vec<String> {
    list.iter()
        .filter(|a| !names.iter().any(|n| n.eq_ignore_ascii_case(a)))
        .cloned()
        .collect()
}

/// The pool's zone name and aliases with each of `names` prefixed again.
fn renamed_away(
    pool: &crate::papi::NetworkPool,
    names: &[String],
    prefix: &str,
) -> (String, Vec<String>) {
    let away = |n: &str| {
        if names.iter().any(|x| x.eq_ignore_ascii_case(n)) {
            format!("{prefix}{n}")
        } else {
            n.to_string()
        }
    };
    (
        away(&pool.sc_dns_zone),
        pool.sc_dns_zone_aliases.iter().map(|a| away(a)).collect(),
    )
}
