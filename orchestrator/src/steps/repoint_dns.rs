//! Networking step (seed 10 / 18), `repoint_dns`.
//!
//! Dual delegation (the name's NS records list both clusters' SmartConnect service IPs):
//! nothing to change — verify that each moved name now resolves to the target pool.
//! Single delegation (NS points at the source only): replace the NS records with the target
//! pool's service IPs by an RFC 2136 update, then verify the same way.

use crate::ctx::{RunCtx, StepDone, StepError};
use crate::plan::StepInstance;

pub(crate) async fn run(ctx: &RunCtx, inst: &StepInstance) -> Result<StepDone, StepError> {
    let dns = ctx.dns_client("repoint or verify DNS")?;
    let naming = &ctx.plan.spec.options.naming;
    let mut updated = Vec::new();
    let mut verified = 0;
    for m in &ctx.zone_plan(inst)?.mappings {
        let target_ssips = &m.target_pool.ssips;
        if target_ssips.is_empty() {
            return Err(StepError::Failed(format!(
                "target pool {} has no SmartConnect service IP",
                m.target_pool.id
            )));
        }
        for name in m.names(naming) {
            let ns = dns
                .ns(&name)
                .await
                .map_err(|e| StepError::Failed(e.to_string()))?;
            let dual = ns.iter().any(|n| target_ssips.contains(n));
            if !dual {
                // Write-ahead: the delegation as it was, for an S3 undo.
                ctx.with_state(|s| {
                    s.saved_ns.entry(name.clone()).or_insert_with(|| ns.clone());
                });
                ctx.checkpoint()?;
                let zone = name.split_once('.').map(|x| x.1).unwrap_or(&name);
                dns.replace_ns(zone, &name, target_ssips)
                    .await
                    .map_err(|e| StepError::Failed(format!("updating NS of {name}: {e}")))?;
                updated.push(name.clone());
            }
            let addrs = dns.resolve_a(&name).await.map_err(|e| {
                StepError::Failed(format!("{name} does not resolve after the move: {e}"))
            })?;
            if addrs.is_empty() || !addrs.iter().all(|a| m.target_pool.has_addr(*a)) {
                return Err(StepError::Failed(format!(
                    "{name} resolves to {addrs:?}, not to target pool {}",
                    m.target_pool.id
                )));
            }
            verified += 1;
        }
    }
    Ok(if updated.is_empty() {
        StepDone::unchanged(format!(
            "dual delegation: {verified} name(s) resolve to the target"
        ))
    } else {
        StepDone::acted(format!(
            "NS of {} now point at the target; {verified} name(s) verified",
            updated.join(", ")
        ))
    })
}
