//! Seed 16+17 of the Access Zone column, `failover_zone_quotas[Z]`: in Access Zone and IP
//! Pool mode quotas fail over per zone, not per policy. After the zone gate held, the names
//! moved and the zone policies' allow-writes ended, every quota under the paths of the
//! zone's failed-over policies is copied to the target and read back, then the source's are
//! removed — each only when its copy was read back, its definition journaled first (S1).
//! Replaces the per-policy `failover_quotas` / `remove_source_quotas` in zone modes.
//!
//! **A zone policy that did not fail over.** The zone is cut over as one, but a policy's own
//! chain can still fail after the gate (its allow-write, its resync-prep). Its data then
//! stays served by the source (S5 rolls its preparation back), so its quotas must stay there
//! too: they are neither copied nor removed. The quotas of the zone's other policies, whose
//! data did fail over, still follow their data — holding them back would leave the target's
//! now-writable copies unlimited and the source (now a SyncIQ target) with quotas on target
//! directories. "Failed over" is read from the clusters, with the same test `resync_prep`
//! uses to find its own work done (source policy disabled, mirror on the target), so a
//! resumed run decides the same; it matches the per-policy rule, where a policy whose
//! `resync_prep` did not succeed has its quota steps skipped. The executor skips this step
//! only when no zone policy's `resync_prep` succeeded.
//!
//! A copy that fails for one policy keeps that policy's source quotas (S1) and the step
//! fails naming it; the other policies' copies and removals still happen.

use super::quotas::*;
use crate::ctx::{RunCtx, StepDone, StepError};
use crate::inventory::PolicyInfo;
use crate::naming::mirror_name;
use crate::papi::PapiClient;
use crate::plan::StepInstance;

/// Whether policy `p` failed over: its source policy is disabled and its mirror exists on
/// the target (what `resync_prep` leaves behind).
///
/// A source policy that is not found is "did not fail over" only where it may really not
/// exist yet: a failback after an uncontrolled failover whose `returned_resync_prep` did
/// not create it (`returned`), and no mirror of it on the target. Anywhere else the policy
/// was read at plan time and nothing in the run deletes it, so a 404 is a read that cannot
/// be trusted (a proxy, a glitch): taking it for "not failed over" would keep the quotas of
/// a failed-over policy on the source, report that as correct, and leave its now-writable
/// target copy unlimited. The step fails instead, before moving any quota of the zone.
async fn failed_over(
    src: &PapiClient,
    tgt: &PapiClient,
    p: &PolicyInfo,
    returned: bool,
) -> Result<bool, StepError> {
    let mirror = mirror_name(&p.name);
    let Some(sp) = src.get_policy(&p.name).await? else {
        let mirrored = tgt.get_policy(&mirror).await?.is_some();
        if returned && !mirrored {
            return Ok(false);
        }
        return Err(StepError::Failed(format!(
            "{} was not found on {}{}: cannot tell whether it failed over, so no quota of the zone was moved",
            p.name,
            src.cluster(),
            if mirrored {
                format!(" though its mirror {mirror} exists on {}", tgt.cluster())
            } else {
                String::new()
            }
        )));
    };
    if sp.enabled {
        return Ok(false);
    }
    // Disabled on the source: resync-prep ran. A mirror that cannot be found then is not
    // "did not fail over" but a read that cannot be trusted; the step fails rather than
    // report the policy's quotas as correctly kept on the source.
    match tgt.get_policy(&mirror).await? {
        Some(_) => Ok(true),
        None => Err(StepError::Failed(format!(
            "{} is disabled on {} but its mirror {mirror} was not found on {}: cannot tell whether it failed over, so no quota of the zone was moved",
            p.name,
            src.cluster(),
            tgt.cluster()
        ))),
    }
}

pub(crate) async fn run(ctx: &RunCtx, inst: &StepInstance) -> Result<StepDone, StepError> {
    let zone = ctx.zone_plan(inst)?;
    let src = ctx.source(inst)?;
    let tgt = ctx.target(inst)?;
    let (from, to) = (&ctx.plan.spec.from, &ctx.plan.spec.to);
    let copy = ctx.plan.spec.options.quotas;
    let mut moved: Vec<&PolicyInfo> = Vec::new();
    let mut kept: Vec<&str> = Vec::new();
    for name in &zone.policies {
        let Some(p) = ctx.plan.policies.iter().find(|p| &p.name == name) else {
            continue;
        };
        let returned = ctx
            .plan
            .returned
            .as_ref()
            .is_some_and(|r| r.original_of(&p.name).is_some());
        if failed_over(&src, &tgt, p, returned).await? {
            moved.push(p);
        } else {
            kept.push(&p.name);
        }
    }
    if moved.is_empty() {
        return Err(StepError::Failed(format!(
            "no policy of zone {} failed over (resync-prep not done on {from}): every quota stays on {from}",
            zone.name
        )));
    }
    // 16: copy and read back, policy by policy; a failed copy keeps that policy's quotas.
    let mut errors: Vec<String> = Vec::new();
    let mut confirmed: Vec<&PolicyInfo> = Vec::new();
    let (mut created, mut updated, mut quotas_seen) = (0, 0, 0);
    for p in &moved {
        if !copy {
            confirmed.push(p);
            continue;
        }
        match copy_to_target(ctx, &src, &tgt, p).await {
            Ok((seen, c, u)) => {
                quotas_seen += seen.len();
                created += c;
                updated += u;
                confirmed.push(p);
            }
            Err(e) => errors.push(format!("{}: {e}; its quotas stay on {from}", p.name)),
        }
    }
    // 17: remove the originals whose copies were read back (S1).
    let mut removed = 0;
    if !confirmed.is_empty() {
        let target = if copy {
            Some(tgt.quotas().await?)
        } else {
            None
        };
        for p in confirmed {
            let under = quotas_under(&src, p).await?;
            if !copy {
                quotas_seen += under.len();
            }
            let (n, missing) = remove_from_source(ctx, &src, &under, target.as_deref(), p).await?;
            removed += n;
            if !missing.is_empty() {
                errors.push(format!(
                    "{}: kept {} source quota(s) whose copy is not on {to}: {}",
                    p.name,
                    missing.len(),
                    missing.join(", ")
                ));
            }
        }
    }
    if !errors.is_empty() {
        return Err(StepError::Failed(errors.join("; ")));
    }
    let mut detail = if copy {
        format!(
            "{created} quota(s) created, {updated} updated on {to} and read back; {removed} removed from {from} (definitions in the report)"
        )
    } else {
        format!("{removed} quota(s) removed from {from} (definitions in the report)")
    };
    if !kept.is_empty() {
        detail.push_str(&format!(
            "; quotas of {} kept on {from}: not failed over, {from} still serves its data",
            kept.join(", ")
        ));
    }
    Ok(if created + updated + removed == 0 {
        if quotas_seen == 0 {
            detail =
                format!("no quota under the paths of the zone's failed-over policies on {from}");
            if !kept.is_empty() {
                detail.push_str(&format!("; {} not failed over", kept.join(", ")));
            }
        }
        StepDone::unchanged(detail)
    } else {
        StepDone::acted(detail)
    })
}
