//! The readiness checks: read-only PAPI and DNS reads that build the tree (DESIGN §5).
//!
//! Every read that fails is itself a warning or an error, never "nothing there" (safety
//! rule S6). Checks that need the source are left out of an uncontrolled run (its source is
//! down by assumption); the source's node then says so.

use super::parity::{self, ConfigSnapshot};
use super::{Check, Node, NodeKind, Readiness};
use crate::ctx::RunCtx;
use crate::naming::path_under;
use crate::papi::{AdsProvider, PapiClient, PapiError, Quota, SmbOpenFile};
use crate::plan::{StepInstance, ZonePlan};
use crate::run_spec::{Mode, Networking};

/// At most this many objects are named in one message.
const SHOWN: usize = 10;

fn list(items: &[String]) -> String {
    let shown: Vec<&str> = items.iter().take(SHOWN).map(String::as_str).collect();
    let more = if items.len() > SHOWN { ", …" } else { "" };
    format!("{}{more}", shown.join(", "))
}

/// What one cluster answered to the reads several checks share (each read once).
struct Reads {
    open_files: Result<Vec<SmbOpenFile>, String>,
    quotas: Result<Vec<Quota>, String>,
    config: Result<ConfigSnapshot, String>,
}

/// The SMB shares, NFS exports and aliases of every zone of `cluster`, and its quotas.
async fn read_config(
    ctx: &RunCtx,
    client: &PapiClient,
    cluster: &str,
    quotas: &Result<Vec<Quota>, String>,
) -> Result<ConfigSnapshot, String> {
    let mut snap = ConfigSnapshot {
        quotas: quotas.clone()?,
        ..Default::default()
    };
    for z in ctx.inventory.zones.get(cluster).into_iter().flatten() {
        let e = |e: PapiError| e.to_string();
        for s in client.smb_shares(&z.name).await.map_err(e)? {
            snap.shares.push((z.name.clone(), s));
        }
        for x in client.nfs_exports(&z.name).await.map_err(e)? {
            snap.exports.push((z.name.clone(), x));
        }
        for a in client.nfs_aliases(&z.name).await.map_err(e)? {
            snap.aliases.push((z.name.clone(), a));
        }
    }
    Ok(snap)
}

async fn reads(ctx: &RunCtx, client: &PapiClient, cluster: &str, open_files: bool) -> Reads {
    let open_files = if open_files {
        client.smb_open_files().await.map_err(|e| e.to_string())
    } else {
        Ok(Vec::new())
    };
    let quotas = client.quotas().await.map_err(|e| e.to_string());
    let config = read_config(ctx, client, cluster, &quotas).await;
    Reads {
        open_files,
        quotas,
        config,
    }
}

/// `reachable` and `synciq_service` of one cluster; whether it answered.
async fn cluster_checks(role: &str, client: &PapiClient, node: &mut Node) -> bool {
    let c = client.cluster();
    match client.cluster_config().await {
        Ok(cfg) => node.checks.push(Check::ok(
            "reachable",
            format!(
                "{role} {c} reachable and authenticated (OneFS {})",
                if cfg.onefs_version.release.is_empty() {
                    "release unknown"
                } else {
                    &cfg.onefs_version.release
                }
            ),
        )),
        Err(e) if matches!(e.status(), Some(401) | Some(403)) => {
            node.checks.push(Check::error(
                "reachable",
                format!("{role} {c}: authentication failed: {e}"),
                "check the user and the password reference of this cluster in the config file; the user needs a role with SyncIQ and configuration privileges",
            ));
            return false;
        }
        Err(e) => {
            node.checks.push(Check::error(
                "reachable",
                format!("{role} {c} unreachable: {e}"),
                "check the cluster's address in the config file and the network path to its PAPI port (8080)",
            ));
            return false;
        }
    }
    match client.sync_settings().await {
        Ok(s) if s.service == "on" => node.checks.push(Check::ok(
            "synciq_service",
            format!("{role} {c}: SyncIQ service is on"),
        )),
        Ok(s) => node.checks.push(Check::error(
            "synciq_service",
            format!(
                "{role} {c}: SyncIQ service is {:?}, must be \"on\"",
                s.service
            ),
            format!("turn the SyncIQ service on: isi sync settings modify --service on (on {c})"),
        )),
        Err(e) => node.checks.push(Check::error(
            "synciq_service",
            format!("{role} {c} unreachable: {e}"),
            "check that SyncIQ is licensed and the cluster answers sync/settings",
        )),
    }
    true
}

/// The source zone a policy's data lives in (`System` when no zone holds it).
fn zone_of(ctx: &RunCtx, path: &str) -> String {
    ctx.inventory
        .zone_of_path(&ctx.plan.spec.from, path)
        .map_or("System", |z| z.name.as_str())
        .to_string()
}

/// Build the readiness tree of the run in `ctx`. `inst` tags the calls (the `validate`
/// instance).
pub(crate) async fn assess(ctx: &RunCtx, inst: &StepInstance) -> Readiness {
    let spec = &ctx.plan.spec;
    let (from, to) = (spec.from.as_str(), spec.to.as_str());
    let controlled = spec.controlled;
    let mut src_node = Node::new(NodeKind::Cluster, from).with_note("source");
    let mut tgt_node = Node::new(NodeKind::Cluster, to).with_note("target");

    let (src, tgt) = match (ctx.source(inst), ctx.target(inst)) {
        (Ok(s), Ok(t)) => (s, t),
        (s, t) => {
            for (node, r) in [(&mut src_node, s), (&mut tgt_node, t)] {
                if let Err(e) = r {
                    node.checks.push(Check::error(
                        "reachable",
                        e.to_string(),
                        "add the cluster to the config file",
                    ));
                }
            }
            return Readiness::new(from, to, spec.mode.as_str(), vec![src_node, tgt_node]);
        }
    };

    let src_up = if controlled {
        cluster_checks("source", &src, &mut src_node).await
    } else {
        src_node.checks.push(Check::warning(
            "reachable",
            format!(
                "uncontrolled failover: {from} is treated as unreachable; its steps are skipped"
            ),
            format!("fail back with resync-prep on {from} before its clients reach it again"),
        ));
        false
    };
    let tgt_up = cluster_checks("target", &tgt, &mut tgt_node).await;

    // Reads shared by the policy checks.
    // A rehearsal leaves production alone: files open on the source do not matter to it.
    let need_open_files = spec.kind != crate::run_spec::RunKind::Rehearsal;
    let src_reads = if src_up {
        Some(reads(ctx, &src, from, need_open_files).await)
    } else {
        None
    };
    let tgt_reads = if tgt_up && src_up {
        Some(reads(ctx, &tgt, to, false).await)
    } else {
        None
    };

    // Zones holding the run's policies (and the zones the plan cuts over), in order.
    let mut zones: Vec<String> = Vec::new();
    for z in &ctx.plan.zones {
        if !zones.contains(&z.name) {
            zones.push(z.name.clone());
        }
    }
    for p in &ctx.plan.policies {
        let z = zone_of(ctx, &p.source_path);
        if !zones.contains(&z) {
            zones.push(z);
        }
    }

    // AD providers, read once per side, only when names move.
    // A rehearsal moves no production name and no SPN (its zones only get a test alias).
    let rehearsal = spec.kind == crate::run_spec::RunKind::Rehearsal;
    let names_move = controlled && !rehearsal && spec.options.networking == Networking::Auto;
    let (src_ads, tgt_ads) = if names_move && src_up && tgt_up && !ctx.plan.zones.is_empty() {
        (
            Some(src.ads_providers_checked().await),
            Some(tgt.ads_providers().await),
        )
    } else {
        (None, None)
    };

    for z in &zones {
        let zp = ctx.plan.zones.iter().find(|x| &x.name == z);
        let mut zn = Node::new(NodeKind::Zone, z.clone());
        if src_up && tgt_up {
            zone_checks(ctx, z, zp, &mut zn);
        }
        if let (Some(zp), Some(sa), Some(ta)) = (zp, &src_ads, &tgt_ads) {
            ad_checks(ctx, zp, sa, ta, &mut zn);
        }
        // Pools (with their mapping), then policies; in IP Pool mode the policies sit
        // under the pool they are assigned to.
        let mut pools: Vec<Node> = Vec::new();
        for m in zp.map(|x| x.mappings.as_slice()).unwrap_or_default() {
            let mut pn = Node::new(NodeKind::Pool, m.source_pool.id.clone())
                .with_note(format!("→ {to}/{}", m.target_pool.id));
            if names_move {
                dns_checks(ctx, m, &mut pn).await;
            }
            pools.push(pn);
        }
        let mut policies: Vec<Node> = Vec::new();
        for p in ctx
            .plan
            .policies
            .iter()
            .filter(|p| &zone_of(ctx, &p.source_path) == z)
        {
            let mut pn = Node::new(NodeKind::Policy, p.name.clone());
            policy_checks(
                ctx,
                p,
                (&src, &tgt),
                (src_up, tgt_up),
                (src_reads.as_ref(), tgt_reads.as_ref()),
                &mut pn,
            )
            .await;
            policies.push(pn);
        }
        if spec.mode == Mode::IpPool && pools.len() == 1 {
            pools[0].children.append(&mut policies);
        }
        zn.children.extend(pools);
        zn.children.extend(policies);
        src_node.children.push(zn);
    }
    Readiness::new(from, to, spec.mode.as_str(), vec![src_node, tgt_node])
}

/// Zone checks: the same-named zone on the target, a pool mapped, and (S2) no policy of a
/// zone whose names move left out of the run.
fn zone_checks(ctx: &RunCtx, z: &str, zp: Option<&ZonePlan>, zn: &mut Node) {
    let spec = &ctx.plan.spec;
    let (from, to) = (spec.from.as_str(), spec.to.as_str());
    let zone_mode = matches!(spec.mode, Mode::AccessZone | Mode::IpPool);
    let rehearsal = spec.kind == crate::run_spec::RunKind::Rehearsal;
    match ctx.inventory.zone(to, z) {
        Some(tz) => zn.checks.push(Check::ok(
            "target_zone",
            format!("{to} has access zone {z} (base path {})", tz.path),
        )),
        None if zone_mode => zn.checks.push(Check::error(
            "target_zone",
            format!("{to} has no access zone {z}: the zone cannot be failed over"),
            format!("create access zone {z} on {to} with the base path of its policies' target paths"),
        )),
        None => zn.checks.push(Check::warning(
            "target_zone",
            format!("{to} has no access zone {z}: shares and exports of zone {z} cannot be copied there"),
            format!("create access zone {z} on {to}"),
        )),
    }
    // ≥1 pool mapped.
    let has_pools = ctx
        .inventory
        .pools
        .get(from)
        .into_iter()
        .flatten()
        .any(|p| p.access_zone == z);
    let mapped: Vec<String> = zp
        .map(|x| {
            x.mappings
                .iter()
                .map(|m| format!("{} → {}", m.source_pool.id, m.target_pool.id))
                .collect()
        })
        .unwrap_or_default();
    match spec.mode {
        Mode::Dfs => {}
        _ if !mapped.is_empty() => zn.checks.push(Check::ok(
            "pool_mapped",
            format!("zone {z}: pools mapped {}", mapped.join(", ")),
        )),
        Mode::AccessZone | Mode::IpPool => zn.checks.push(Check::error(
            "pool_mapped",
            format!("zone {z}: no SmartConnect pool is mapped to a pool on {to}"),
            "add a pool mapping (source pool → target pool), or an alias hint igls-<source pool> on the target pool",
        )),
        Mode::SynciqPolicy if spec.options.networking == Networking::Manual => {
            zn.checks.push(Check::ok(
                "pool_mapped",
                format!("zone {z}: names are moved by hand through the checklist (steps 14–18)"),
            ))
        }
        Mode::SynciqPolicy if !has_pools => zn.checks.push(Check::ok(
            "pool_mapped",
            format!("zone {z} has no SmartConnect pool on {from}: no names to move"),
        )),
        Mode::SynciqPolicy => zn.checks.push(Check::warning(
            "pool_mapped",
            format!("zone {z}: no pool mapping, so its SmartConnect names, SPNs and DNS stay on {from} (networking steps not applicable): move names by hand"),
            "add a pool mapping for the zone's pool to let the run move its names, or move them by hand after the failover",
        )),
    }
    // S2: a moved name serves every share of its zone.
    let moving = !rehearsal
        && (zp.is_some()
            || (spec.mode == Mode::SynciqPolicy && spec.options.networking == Networking::Manual));
    if moving && spec.mode != Mode::IpPool {
        let left: Vec<&str> = ctx
            .inventory
            .policies_between(from, to)
            .into_iter()
            // The plan's name index, not a scan of the plan for each policy of the cluster.
            .filter(|p| ctx.plan_policy(&p.name).is_none())
            .filter(|p| zone_of(ctx, &p.source_path) == z)
            .map(|p| p.name.as_str())
            .collect();
        if left.is_empty() {
            zn.checks.push(Check::ok(
                "names_follow_data",
                format!("every policy of zone {z} from {from} to {to} is in the run"),
            ));
        } else {
            zn.checks.push(Check::error(
                "names_follow_data",
                format!(
                    "the names of zone {z} would move to {to}, but policies {} of that zone are not in this run (their clients would reach a read-only copy): add them, or move the names by hand (networking: manual)",
                    left.join(", ")
                ),
                "add the zone's other policies to the run, or use networking: manual",
            ));
        }
    }
}

/// AD provider on both sides, SPN delegation possible on the target's machine account, no
/// moved SPN registered on another account.
fn ad_checks(
    ctx: &RunCtx,
    zp: &ZonePlan,
    src_ads: &Result<Vec<AdsProvider>, PapiError>,
    tgt_ads: &Result<Vec<AdsProvider>, PapiError>,
    zn: &mut Node,
) {
    let (from, to) = (&ctx.plan.spec.from, &ctx.plan.spec.to);
    let naming = &ctx.plan.spec.options.naming;
    let names: Vec<String> = zp.mappings.iter().flat_map(|m| m.names(naming)).collect();
    let moved: Vec<String> = names
        .iter()
        .flat_map(|n| crate::naming::spns_for(n))
        .collect();
    match src_ads {
        Ok(ads) if ads.is_empty() => zn.checks.push(Check::warning(
            "ad_provider",
            format!("{from} has no AD provider: no SPNs to move (Kerberos to the moved names needs them)"),
            format!("join {from} to the domain if SMB clients use Kerberos to these names"),
        )),
        Ok(ads) => zn.checks.push(Check::ok(
            "ad_provider",
            format!(
                "{from} AD provider {} (machine account {})",
                ads[0].name, ads[0].machine_account
            ),
        )),
        Err(e) => zn.checks.push(Check::error(
            "ad_provider",
            format!("AD provider of {from}: {e}"),
            "check that the cluster answers auth/providers/ads",
        )),
    }
    let mut dups: Vec<String> = Vec::new();
    if let Ok(ads) = src_ads {
        for a in ads {
            for d in &a.dup_spns {
                if moved.iter().any(|m| m.eq_ignore_ascii_case(d)) {
                    dups.push(format!(
                        "SPN collision: {d} of {} is also registered on another machine account; moving it would break Kerberos for that name",
                        a.machine_account
                    ));
                }
            }
        }
        if dups.is_empty() {
            zn.checks.push(Check::ok(
                "duplicate_spns",
                format!(
                    "none of the {} SPNs of zone {} is registered twice",
                    moved.len(),
                    zp.name
                ),
            ));
        }
        for d in dups {
            zn.checks.push(Check::error(
                "duplicate_spns",
                d,
                "remove the SPN from the other machine account (setspn -D) before the failover",
            ));
        }
    }
    match tgt_ads {
        Ok(ads) if ads.is_empty() => zn.checks.push(Check::error(
            "spn_delegation",
            format!("{to} has no AD provider: SPNs for the moved names cannot be registered there"),
            format!("join {to} to the domain of {from}"),
        )),
        Ok(ads) if ads.iter().all(|a| a.machine_account.is_empty()) => {
            zn.checks.push(Check::error(
                "spn_delegation",
                format!("{to}: the AD provider names no machine account, so SPNs cannot be registered on it"),
                format!("check the AD provider of {to} (isi auth ads view)"),
            ))
        }
        Ok(ads) => zn.checks.push(Check::ok(
            "spn_delegation",
            format!(
                "{to}: SPNs of the moved names can be registered on machine account {}",
                ads.iter()
                    .find(|a| !a.machine_account.is_empty())
                    .map_or("", |a| a.machine_account.as_str())
            ),
        )),
        Err(e) => zn.checks.push(Check::error(
            "spn_delegation",
            format!("AD provider of {to}: {e}"),
            "check that the cluster answers auth/providers/ads",
        )),
    }
}

/// The DNS delegation of every name a mapping moves: dual (ok), single (warning: the NS
/// records are updated at step 18), none or unknown (warning).
async fn dns_checks(ctx: &RunCtx, m: &crate::plan::NetMapping, pn: &mut Node) {
    let names = m.names(&ctx.plan.spec.options.naming);
    let Some(dns) = &ctx.dns else {
        pn.checks.push(Check::warning(
            "dns_delegation",
            format!(
                "DNS delegation of {} unknown: no DNS server configured",
                names.join(", ")
            ),
            "set dns.server in the config file so the delegation can be read (and updated)",
        ));
        return;
    };
    for n in &names {
        match dns.ns_targets(n).await {
            Ok(ns) if ns.len() > 1 => pn.checks.push(Check::ok(
                "dns_delegation",
                format!("{n}: dual delegation ({} SmartConnect service IPs)", ns.len()),
            )),
            Ok(ns) if ns.len() == 1 => pn.checks.push(Check::warning(
                "dns_delegation",
                format!(
                    "{n} is delegated to one SmartConnect service IP only ({} = {:?}): single delegation, DNS will be updated",
                    ns[0].host, ns[0].addrs
                ),
                "delegate the name to both clusters' SmartConnect service IPs (dual delegation) so no DNS update is needed at failover",
            )),
            Ok(_) => pn.checks.push(Check::warning(
                "dns_delegation",
                format!("{n} has no NS delegation"),
                "delegate the SmartConnect name to the clusters' SmartConnect service IPs",
            )),
            Err(e) => pn.checks.push(Check::warning(
                "dns_delegation",
                format!("DNS lookup of {n}: {e}"),
                "check the DNS server in the config file and that it answers for this name",
            )),
        }
    }
}

/// Policy checks: source policy, target policy (matching source, sane state), last job,
/// target path in the target zone, open files, quota scans, config parity.
async fn policy_checks(
    ctx: &RunCtx,
    p: &crate::inventory::PolicyInfo,
    (src, tgt): (&PapiClient, &PapiClient),
    (src_up, tgt_up): (bool, bool),
    (src_reads, tgt_reads): (Option<&Reads>, Option<&Reads>),
    pn: &mut Node,
) {
    let name = p.name.as_str();
    let returned = ctx
        .plan
        .returned
        .as_ref()
        .and_then(|r| r.original_of(name).map(str::to_string));
    if let Some(orig) = returned {
        // Failback after an uncontrolled failover: the mirror does not exist yet
        // (`returned_resync_prep` makes it); what must hold is the state the detection
        // read — the original still enabled on the returned side, its target record on
        // this side writable.
        returned_checks(ctx, &orig, name, (src, tgt), (src_up, tgt_up), pn).await;
    } else {
        pair_checks(ctx, name, (src, tgt), (src_up, tgt_up), pn).await;
    }
    rest_checks(ctx, p, (src_reads, tgt_reads), pn).await;
}

/// A returned policy (failback after an uncontrolled failover): `orig` on the returned
/// side (`to`) and its target record on the failed-over side (`from`).
async fn returned_checks(
    ctx: &RunCtx,
    orig: &str,
    mirror: &str,
    (src, tgt): (&PapiClient, &PapiClient),
    (src_up, tgt_up): (bool, bool),
    pn: &mut Node,
) {
    let spec = &ctx.plan.spec;
    let (from, to) = (spec.from.as_str(), spec.to.as_str());
    if tgt_up {
        match tgt.get_policy(orig).await {
            Ok(Some(op)) => pn.checks.push(Check::ok(
                "returned_policy",
                format!(
                    "{to} returned after an uncontrolled failover: its policy {orig} is {} (returned_resync_prep rolls {} back to the last good sync and creates {mirror} on {from})",
                    if op.enabled { "still enabled" } else { "disabled" },
                    op.source_root_path
                ),
            )),
            Ok(None) => pn.checks.push(Check::error(
                "returned_policy",
                format!("policy {orig} not found on the returned cluster {to}"),
                format!("discover the clusters again; without {orig} on {to} there is nothing to fail back to"),
            )),
            Err(e) => pn.checks.push(Check::error(
                "returned_policy",
                format!("policy {orig} on {to}: {e}"),
                format!("check that {to} answers sync/policies"),
            )),
        }
    }
    if src_up {
        match src.get_target_policy(orig).await {
            Ok(Some(tp)) if tp.failover_failback_state == "writes_enabled" => {
                pn.checks.push(Check::ok(
                    "target_policy",
                    format!("target policy {orig} on {from} is writes_enabled (failed over)"),
                ))
            }
            Ok(Some(tp)) => pn.checks.push(Check::error(
                "target_policy",
                format!(
                    "target policy {orig} on {from} is {} (expected writes_enabled after the uncontrolled failover)",
                    tp.failover_failback_state
                ),
                format!("check the state of {orig} on both clusters before failing back"),
            )),
            Ok(None) => pn.checks.push(Check::error(
                "target_policy",
                format!("target policy {orig} not found on {from}"),
                "discover the clusters again",
            )),
            Err(e) => pn.checks.push(Check::error(
                "target_policy",
                format!("target policy {orig} on {from}: {e}"),
                format!("check that {from} answers sync/target/policies"),
            )),
        }
    }
}

/// The source policy and its target record (every run but a returned failback).
async fn pair_checks(
    ctx: &RunCtx,
    name: &str,
    (src, tgt): (&PapiClient, &PapiClient),
    (src_up, tgt_up): (bool, bool),
    pn: &mut Node,
) {
    let spec = &ctx.plan.spec;
    let (from, to) = (spec.from.as_str(), spec.to.as_str());
    if src_up {
        match src.get_policy(name).await {
            Ok(Some(sp)) => {
                if sp.enabled {
                    pn.checks.push(Check::ok(
                        "source_policy",
                        format!("policy {name} is enabled on {from}"),
                    ));
                } else {
                    pn.checks.push(Check::error(
                        "source_policy",
                        format!("policy {name} is disabled on {from} (already failed over?)"),
                        format!("enable the policy on {from}, or fail back instead if it was failed over"),
                    ));
                }
                // This run's failed pre-sync (DESIGN §8) left that state: the final sync
                // after the lock carries the changes; no warning (it must block nothing).
                let own_presync = ctx.with_state(|s| s.presync_failed.contains(name));
                match sp.last_job_state.as_deref() {
                    Some(s @ "failed") if own_presync => pn.checks.push(Check::ok(
                        "last_job",
                        format!("policy {name}: last job state is {s}: this run's pre-sync failed; its final sync after the lock carries every change"),
                    )),
                    Some(s @ ("failed" | "needs_attention")) => pn.checks.push(Check::warning(
                        "last_job",
                        format!("policy {name}: last job state is {s}"),
                        "look at the policy's last report (isi sync reports list) and run the policy once successfully",
                    )),
                    s => pn.checks.push(Check::ok(
                        "last_job",
                        format!("policy {name}: last job state is {}", s.unwrap_or("unknown (never run)")),
                    )),
                }
            }
            Ok(None) => pn.checks.push(Check::error(
                "source_policy",
                format!("policy {name} not found on {from}"),
                "check the policy name, or discover the clusters again",
            )),
            Err(e) => pn.checks.push(Check::error(
                "source_policy",
                format!("policy {name}: {e}"),
                "check that the source answers sync/policies",
            )),
        }
    }
    if tgt_up {
        match tgt.get_target_policy(name).await {
            Ok(Some(tp)) => {
                let src_info = ctx.inventory.clusters.get(from);
                let by_guid = !tp.source_cluster_guid.is_empty()
                    && src_info
                        .is_some_and(|c| !c.guid.is_empty() && c.guid == tp.source_cluster_guid);
                let by_host = src_info.is_some_and(|c| {
                    c.hosts
                        .iter()
                        .any(|h| h.eq_ignore_ascii_case(&tp.source_host))
                }) || tp.source_host.eq_ignore_ascii_case(from);
                let matches = by_guid || by_host || tp.source_host.is_empty() || !spec.controlled;
                if !matches {
                    pn.checks.push(Check::error(
                        "target_policy",
                        format!(
                            "target policy {name} on {to} replicates from {}, not from {from}",
                            tp.source_host
                        ),
                        "check the policy's target: another cluster replicates into this path",
                    ));
                } else if !spec.controlled {
                    pn.checks.push(Check::ok(
                        "target_policy",
                        format!(
                            "target policy {name} on {to} is {}",
                            tp.failover_failback_state
                        ),
                    ));
                } else {
                    match tp.failover_failback_state.as_str() {
                        "writes_disabled" => pn.checks.push(Check::ok(
                            "target_policy",
                            format!("target policy {name} on {to} replicates from {from}, writes disabled"),
                        )),
                        s @ ("creating_resync_policy" | "resync_policy_created") => {
                            pn.checks.push(Check::error(
                                "target_policy",
                                format!(
                                    "target policy {name} on {to} is {s}: resync-prep has already run, so {to} is the source of its mirror (already failed over?)"
                                ),
                                "fail back with the mirror policy instead",
                            ))
                        }
                        s => pn.checks.push(Check::error(
                            "target_policy",
                            format!("target policy {name} on {to} is {s} (expected writes_disabled)"),
                            format!("revert the target to writes_disabled (allow_write_revert on {to}), or fail back"),
                        )),
                    }
                }
            }
            Ok(None) => pn.checks.push(Check::error(
                "target_policy",
                format!("target policy {name} not found on {to}"),
                "run the policy once so the target knows it",
            )),
            Err(e) => pn.checks.push(Check::error(
                "target_policy",
                format!("target policy {name}: {e}"),
                "check that the target answers sync/target/policies",
            )),
        }
    }
}

/// Zone placement and the reads shared with the other checks (open files, parity).
async fn rest_checks(
    ctx: &RunCtx,
    p: &crate::inventory::PolicyInfo,
    (src_reads, tgt_reads): (Option<&Reads>, Option<&Reads>),
    pn: &mut Node,
) {
    let spec = &ctx.plan.spec;
    let (from, to) = (spec.from.as_str(), spec.to.as_str());
    let name = p.name.as_str();
    // Target path under the base path of the same-named zone on the target.
    let zone = zone_of(ctx, &p.source_path);
    if let Some(tz) = ctx.inventory.zone(to, &zone) {
        if path_under(&p.target_path, &tz.path) {
            pn.checks.push(Check::ok(
                "target_path_in_zone",
                format!(
                    "policy {name}: target path {} is under zone {zone}'s base path {} on {to}",
                    p.target_path, tz.path
                ),
            ));
        } else {
            pn.checks.push(Check::error(
                "target_path_in_zone",
                format!(
                    "policy {name}: target path {} is outside zone {zone}'s base path {} on {to}: its shares and exports cannot be served there",
                    p.target_path, tz.path
                ),
                format!("point the policy's target path under {} on {to}, or change the zone's base path", tz.path),
            ));
        }
    }
    let Some(sr) = src_reads else {
        return;
    };
    // Open files under the policy's path.
    match &sr.open_files {
        Ok(files) => {
            let open: Vec<String> = files
                .iter()
                .filter(|f| path_under(&open_file_path(&f.file), &p.source_path))
                .map(|f| format!("{} ({})", f.file, f.user.as_deref().unwrap_or("?")))
                .collect();
            if open.is_empty() {
                pn.checks.push(Check::ok(
                    "open_files",
                    format!("no open SMB files under {} on {from}", p.source_path),
                ));
            } else {
                pn.checks.push(Check::warning(
                    "open_files",
                    format!(
                        "{} open SMB file(s) under {} on {from}: {}",
                        open.len(),
                        p.source_path,
                        list(&open)
                    ),
                    "ask the users to close them, or use the data-integrity lock (step 1a): writes in flight may be lost",
                ));
            }
        }
        Err(e) => pn.checks.push(Check::warning(
            "open_files",
            format!("open files on {from} could not be listed ({e}): writes in flight may be lost"),
            "check that the source answers protocols/smb/openfiles",
        )),
    }
    // Quotas waiting on a QuotaScan job.
    match &sr.quotas {
        Ok(qs) => {
            let pending: Vec<String> = qs
                .iter()
                .filter(|q| path_under(&q.path, &p.source_path) && q.ready == Some(false))
                .map(|q| format!("{} quota on {}", q.quota_type, q.path))
                .collect();
            if pending.is_empty() {
                pn.checks.push(Check::ok(
                    "quota_scan",
                    format!("quotas under {} on {from} are ready", p.source_path),
                ));
            } else {
                pn.checks.push(Check::warning(
                    "quota_scan",
                    format!(
                        "quota scan required on {from}: {} not ready (accounting waits on a QuotaScan job): {}",
                        pending.len(),
                        list(&pending)
                    ),
                    format!("run the QuotaScan job on {from} (isi job jobs start QuotaScan) and wait for it to finish before failing quotas over"),
                ));
            }
        }
        Err(e) => pn.checks.push(Check::warning(
            "quota_scan",
            format!(
                "quotas of {from} could not be read ({e}): a pending quota scan would go unnoticed"
            ),
            "check that the source answers quota/quotas",
        )),
    }
    // Config parity drift.
    let Some(tr) = tgt_reads else {
        return;
    };
    match (&sr.config, &tr.config) {
        (Ok(s), Ok(t)) => {
            let saved = ctx.with_state(|st| st.saved_share_permissions.clone());
            let d = parity::diff(
                s,
                t,
                &parity::Mapping {
                    source_path: &p.source_path,
                    target_path: &p.target_path,
                    // In every mode: a zone's DFS shares have their inactive copy
                    // `igls-dfs-X` on the target too (seed AZ step 6), as config
                    // replication's `inactive_prefix` recognises them.
                    dfs_prefix: Some(spec.options.naming.dfs_prefix.as_str()),
                    saved_permissions: &saved,
                },
            );
            if d.differs.is_empty() {
                let missing = if d.missing.is_empty() {
                    String::new()
                } else {
                    format!(
                        "; {} not on {to} yet (step 5 copies them): {}",
                        d.missing.len(),
                        list(&d.missing)
                    )
                };
                pn.checks.push(Check::ok(
                    "config_parity",
                    format!("policy {name}: configuration on {to} matches {from}{missing}"),
                ));
            } else {
                pn.checks.push(Check::warning(
                    "config_parity",
                    format!(
                        "config parity drift for policy {name} ({} → {}): {}",
                        p.source_path,
                        p.target_path,
                        list(&d.differs)
                    ),
                    format!("make {to}'s copies match {from} (dr config-sync), and remove objects under {} on {to} that {from} does not have", p.target_path),
                ));
            }
        }
        (Err(e), _) | (_, Err(e)) => pn.checks.push(Check::warning(
            "config_parity",
            format!("config parity of policy {name} could not be checked: {e}"),
            "check that both clusters answer the share, export, alias and quota lists",
        )),
    }
}

/// OneFS lists open files as `C:\ifs\dir\file`; the `/ifs/dir/file` path of one.
fn open_file_path(file: &str) -> String {
    let f = file.replace('\\', "/");
    match f.find("/ifs") {
        Some(i) => f[i..].to_string(),
        None => f,
    }
}
