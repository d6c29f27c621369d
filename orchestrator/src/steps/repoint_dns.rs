//! Networking step (seed 10 / 18), `repoint_dns`.
//!
//! Dual delegation (the name's NS hosts include the target pool's SmartConnect service IP,
//! read from their glue): nothing to change — verify that each moved name now resolves to
//! the target pool.
//! Single delegation (NS points at the source only): one RFC 2136 update (TSIG-signed when
//! a key is configured) replaces the name's NS RRset with the target pool's service IPs'
//! host names (`ssip-<a-b-c-d>.<zone>`, [`crate::dns::ssip_host`], in the zone holding
//! the delegation, the name's parent) and adds their glue A records where the zone lacks
//! them; then verify the same way. The NS hosts it replaced are journaled first, for the S3
//! undo (`rollback_repoint_dns`).

use std::net::Ipv4Addr;

use crate::ctx::{RunCtx, StepDone, StepError};
use crate::dns::{ssip_host, DnsClient};
use crate::plan::StepInstance;

/// The target pool's service IPs as addresses (PAPI gives them as text).
pub(crate) fn ssip_addrs(pool: &str, ssips: &[String]) -> Result<Vec<Ipv4Addr>, StepError> {
    if ssips.is_empty() {
        return Err(StepError::Failed(format!(
            "target pool {pool} has no SmartConnect service IP"
        )));
    }
    ssips
        .iter()
        .map(|s| {
            s.trim().parse::<Ipv4Addr>().map_err(|_| {
                StepError::Failed(format!(
                    "SmartConnect service IP {s:?} of target pool {pool} is not an IPv4 address"
                ))
            })
        })
        .collect()
}

/// The zone that holds the delegation of `name`: its parent.
pub(crate) fn parent_zone(name: &str) -> &str {
    name.split_once('.').map(|x| x.1).unwrap_or(name)
}

/// The NS hosts for `ssips` in `zone`, and the glue records the zone still needs. A host
/// name that already holds other addresses is not taken over.
async fn hosts_and_glue(
    dns: &DnsClient,
    zone: &str,
    ssips: &[Ipv4Addr],
) -> Result<(Vec<String>, Vec<(String, Ipv4Addr)>), StepError> {
    let mut hosts = Vec::new();
    let mut glue = Vec::new();
    for ip in ssips {
        let host = ssip_host(*ip, zone);
        let have = dns
            .a_records(&host)
            .await
            .map_err(|e| StepError::Failed(format!("looking up {host}: {e}")))?;
        if have.is_empty() {
            glue.push((host.clone(), *ip));
        } else if !have.contains(ip) {
            return Err(StepError::Failed(format!(
                "{host} already has address(es) {have:?}, not SmartConnect service IP {ip}"
            )));
        }
        hosts.push(host);
    }
    Ok((hosts, glue))
}

pub(crate) async fn run(ctx: &RunCtx, inst: &StepInstance) -> Result<StepDone, StepError> {
    let dns = ctx.dns_client("repoint or verify DNS")?;
    let naming = &ctx.plan.spec.options.naming;
    let mut updated = Vec::new();
    let mut verified = 0;
    for m in &ctx.zone_plan(inst)?.mappings {
        let target_ssips = ssip_addrs(&m.target_pool.id, &m.target_pool.ssips)?;
        for name in m.names(naming) {
            let ns = dns
                .ns_targets(&name)
                .await
                .map_err(|e| StepError::Failed(e.to_string()))?;
            let dual = ns
                .iter()
                .any(|t| t.addrs.iter().any(|a| target_ssips.contains(a)));
            if !dual {
                let zone = parent_zone(&name);
                let (hosts, glue) = hosts_and_glue(dns, zone, &target_ssips).await?;
                // Write-ahead: the delegation as it was, for an S3 undo.
                ctx.with_state(|s| {
                    s.saved_ns
                        .entry(name.clone())
                        .or_insert_with(|| ns.iter().map(|t| t.host.clone()).collect());
                });
                ctx.checkpoint()?;
                dns.replace_ns(zone, &name, &hosts, &glue)
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
