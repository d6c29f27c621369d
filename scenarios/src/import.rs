//! `drill import FILE`: a scenario whose world is an estate discovered with `dr discover
//! --dump` (DESIGN §11), so an admin can rehearse a failover plan on a copy of production.
//!
//! What the world gets, and from where:
//! * clusters (release, job slots, SyncIQ service), zones, pools (SmartConnect name,
//!   aliases, the subnet's first service IP), SMB shares with their permissions, NFS
//!   exports, NFS aliases, quotas, SyncIQ policies (schedule, enabled, last job state):
//!   copied;
//! * AD: the domain of the first AD provider, one machine account per cluster holding the
//!   SPNs discovered on it;
//! * DNS delegation mode: `dual` if any SmartConnect name is delegated to two clusters'
//!   service IPs, else `single` if any was found delegated, else the world's default;
//! * pool mappings: the ones recorded in the dump (`--pool-mapping` of `dr discover`, with
//!   the policies assigned to the pool in IP Pool mode), plus
//!   every dual delegation (a name delegated to its own pool and to another cluster's subnet
//!   maps its pool to that subnet's pool, preferring the same access zone), plus `--pool-mapping`
//!   here. Target-pool alias hints (`igls-<pool>`) stay aliases: the orchestrator reads them;
//! * file trees (deterministic): under each policy's source path, `total_files` files holding
//!   `total_data_bytes` bytes of its newest successful run report (else the quota usage of
//!   that path); under every other quota path of a cluster that is no policy's target, the
//!   quota's usage. Sizes are split so that both the count and the byte total are exact;
//! * job costs: the link bandwidth and job start latency fitted (least squares) to the run
//!   reports' bytes and durations; allow-write and resync-prep durations the median of their
//!   reports;
//! * `run:` a controlled failover in `--mode` (default SyncIQ policy mode) between the
//!   cluster pair with the most policies; `clients:` one SMB client per share and one NFS
//!   client per export under a failed-over path, by the share zone's SmartConnect name.
//!
//! Not in the dump, so not in the world: file contents and changes since the last sync
//! (the world starts fully synced), failover state (every target policy starts
//! `writes_disabled`), users and passwords (the world makes its own admin), DFS namespaces.

use std::collections::BTreeMap;

use orchestrator::dump::{self, ClusterDump, InventoryDump};
use orchestrator::run_spec::{Mode, RunKind, RunOptions, RunSpec};
use sim_ad_dns::dns::Delegation;
use sim_ad_dns::spec::{AccountSpec, AdSpec, DnsSpec};
use sim_onefs::spec::{
    ClusterSpec, CostSpec, FilesSpec, LinkSpec, NfsAliasSpec, NfsExportSpec, PastSyncSpec,
    PolicySpec, PoolMappingSpec, PoolSpec, QuotaSpec, SharePermission, SharePermissionSpec,
    SharePermissionType, SmbShareSpec, SnapshotScheduleSpec, ZoneSpec,
};
use sim_onefs::WorldSpec;

use crate::scenario::{ClientSpec, Expect, OperatorSpec, Protocol, Scenario};

/// Choices of [`import`].
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// Scenario name (default `imported`).
    pub name: Option<String>,
    pub seed: u64,
    pub mode: Mode,
    pub from: Option<String>,
    pub to: Option<String>,
    /// Access Zone mode: the zone (default: the zone holding most of the policies).
    pub zone: Option<String>,
    /// IP Pool mode: the source pool (default: the first mapped pool of `from`).
    pub pool: Option<String>,
    /// Extra pool mappings (`cluster/pool` each).
    pub pool_mappings: Vec<(String, String)>,
    /// Client write rate.
    pub writes_per_minute: u32,
}

/// The dump cannot be made into a scenario.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error(transparent)]
    Load(#[from] dump::LoadError),
    #[error("{0}")]
    Invalid(String),
}

/// At most this many inferred clients (a large estate has thousands of shares).
pub const MAX_CLIENTS: usize = 32;

/// Parse an inventory file and import it.
pub fn import_text(text: &str, opts: &ImportOptions) -> Result<Scenario, ImportError> {
    let d = dump::parse(text)?;
    import(&d, opts)
}

/// `root` is `path` or an ancestor of it.
fn under(path: &str, root: &str) -> bool {
    let root = root.trim_end_matches('/');
    path == root || (path.starts_with(root) && path.as_bytes().get(root.len()) == Some(&b'/'))
}

/// `count` files holding `bytes` bytes in all under `root`: exact count and total.
fn files_for(root: &str, count: u64, bytes: u64) -> Vec<FilesSpec> {
    if count == 0 {
        return vec![];
    }
    let q = bytes / count;
    let r = bytes % count;
    let mut out = vec![FilesSpec {
        root: root.to_string(),
        count: count - r,
        size_bytes: q,
        unsynced_fraction: 0.0,
    }];
    if r > 0 {
        out.push(FilesSpec {
            root: format!("{root}/imported-rest"),
            count: r,
            size_bytes: q + 1,
            unsynced_fraction: 0.0,
        });
    }
    out.retain(|f| f.count > 0);
    out
}

/// Least-squares fit `duration_ms = latency_ms + bytes / bandwidth`; `(bandwidth bytes/s,
/// latency ms)`, or `None` without a usable point.
fn fit_costs(points: &[(u64, u64)]) -> Option<(u64, u64)> {
    let pts: Vec<(f64, f64)> = points
        .iter()
        .filter(|(b, d)| *b > 0 && *d > 0)
        .map(|&(b, d)| (b as f64, d as f64))
        .collect();
    if pts.is_empty() {
        return None;
    }
    let n = pts.len() as f64;
    let mb = pts.iter().map(|p| p.0).sum::<f64>() / n;
    let md = pts.iter().map(|p| p.1).sum::<f64>() / n;
    let var: f64 = pts.iter().map(|p| (p.0 - mb).powi(2)).sum();
    let cov: f64 = pts.iter().map(|p| (p.0 - mb) * (p.1 - md)).sum();
    let default_latency = CostSpec::default().job_start_latency_ms as f64;
    let (slope, latency) = if var > 0.0 && cov > 0.0 {
        let s = cov / var;
        (s, (md - s * mb).max(0.0))
    } else {
        // One size only: the latency cannot be told from the transfer; take the default
        // latency when the jobs were longer than it, else half of their duration.
        let lat = if md > default_latency {
            default_latency
        } else {
            md / 2.0
        };
        ((md - lat).max(1.0) / mb, lat)
    };
    if !(slope.is_finite() && slope > 0.0) {
        return None;
    }
    let bw = (1000.0 / slope).round().clamp(1.0, 1e15) as u64;
    Some((bw, latency.round() as u64))
}

fn median(mut v: Vec<u64>) -> Option<u64> {
    if v.is_empty() {
        return None;
    }
    v.sort_unstable();
    Some(v[v.len() / 2])
}

/// The subnet (`groupnet.subnet`) of a pool id.
fn subnet_of(pool_id: &str) -> String {
    let mut it = pool_id.splitn(3, '.');
    format!(
        "{}.{}",
        it.next().unwrap_or_default(),
        it.next().unwrap_or_default()
    )
}

/// A share's ACL entry from the dump; an entry the world cannot express is an error (dropping
/// a `deny` would make the copy more permissive than the estate).
fn share_permission(
    cluster: &str,
    share: &str,
    p: &dump::PermissionDump,
) -> Result<SharePermissionSpec, ImportError> {
    let bad = |what: &str, v: &str| {
        ImportError::Invalid(format!(
            "cluster `{cluster}` share `{share}`: permission entry for `{}` has {what} `{v}`",
            p.trustee_id
        ))
    };
    let permission = match p.permission.as_str() {
        "full" => SharePermission::Full,
        "change" => SharePermission::Change,
        "read" => SharePermission::Read,
        other => return Err(bad("permission", other)),
    };
    let permission_type = match p.permission_type.as_str() {
        "allow" => SharePermissionType::Allow,
        "deny" => SharePermissionType::Deny,
        other => return Err(bad("permission_type", other)),
    };
    Ok(SharePermissionSpec {
        permission,
        permission_type,
        trustee_id: p.trustee_id.clone(),
        trustee_name: p.trustee_name.clone(),
        trustee_type: p.trustee_type.clone(),
    })
}

fn cluster_spec(c: &ClusterDump, files: Vec<FilesSpec>) -> Result<ClusterSpec, ImportError> {
    // A pool's service IP: of its subnet's, the one just below the pool's first address
    // when there is one (a common layout, and the lab's), else the subnet's first.
    let ssip = |pool: &dump::PoolDump| -> Option<String> {
        let sn = subnet_of(&pool.id);
        let addrs: Vec<&str> = c
            .subnets
            .iter()
            .filter(|s| format!("{}.{}", s.groupnet, s.name) == sn)
            .flat_map(|s| &s.sc_service_addrs)
            .map(|r| r.low.as_str())
            .collect();
        let below = pool
            .ranges
            .first()
            .and_then(|r| r.low.parse::<std::net::Ipv4Addr>().ok())
            .and_then(|a| u32::from(a).checked_sub(1))
            .map(|x| std::net::Ipv4Addr::from(x).to_string());
        below
            .filter(|b| addrs.contains(&b.as_str()))
            .or_else(|| addrs.first().map(|a| a.to_string()))
    };
    Ok(ClusterSpec {
        name: c.name.clone(),
        release: if c.identity.release.is_empty() {
            "9.10.0.0".into()
        } else {
            c.identity.release.clone()
        },
        max_concurrent_jobs: c.synciq.settings.max_concurrent_jobs.unwrap_or(50).max(1),
        users: vec![],
        zones: c
            .zones
            .iter()
            .filter(|z| z.name != "System")
            .map(|z| ZoneSpec {
                name: z.name.clone(),
                base_path: z.path.clone(),
            })
            .collect(),
        pools: c
            .pools
            .iter()
            .filter_map(|p| {
                Some(PoolSpec {
                    id: p.id.clone(),
                    zone: p.access_zone.clone(),
                    sc_dns_zone: p.sc_dns_zone.clone(),
                    aliases: p.sc_dns_zone_aliases.clone(),
                    ssip: ssip(p)?,
                })
            })
            .collect(),
        smb_shares: c
            .smb_shares
            .iter()
            .map(|s| {
                Ok(SmbShareSpec {
                    name: s.name.clone(),
                    path: s.path.clone(),
                    zone: s.zone.clone(),
                    permissions: Some(
                        s.permissions
                            .iter()
                            .map(|p| share_permission(&c.name, &s.name, p))
                            .collect::<Result<_, _>>()?,
                    ),
                })
            })
            .collect::<Result<_, ImportError>>()?,
        nfs_exports: c
            .nfs_exports
            .iter()
            .map(|e| NfsExportSpec {
                paths: e.paths.clone(),
                zone: e.zone.clone(),
                clients: e.clients.clone(),
                read_only: e.read_only,
            })
            .collect(),
        nfs_aliases: c
            .nfs_aliases
            .iter()
            .map(|a| NfsAliasSpec {
                name: a.name.clone(),
                path: a.path.clone(),
                zone: a.zone.clone(),
            })
            .collect(),
        quotas: c
            .quotas
            .iter()
            .map(|q| QuotaSpec {
                path: q.path.clone(),
                quota_type: q.quota_type.clone(),
                hard_bytes: q.hard_bytes,
                soft_bytes: q.soft_bytes,
                advisory_bytes: q.advisory_bytes,
                // The dump's quotas are in use; a pending QuotaScan is not recorded.
                ready: true,
            })
            .collect(),
        snapshot_schedules: c
            .snapshot_schedules
            .iter()
            .map(|s| SnapshotScheduleSpec {
                name: s.name.clone(),
                path: s.path.clone(),
                schedule: s.schedule.clone(),
                pattern: (!s.pattern.is_empty()).then(|| s.pattern.clone()),
                duration: s.duration,
            })
            .collect(),
        dedupe_paths: if c.dedupe.present {
            c.dedupe.paths.clone()
        } else {
            Vec::new()
        },
        files,
        open_files: vec![],
        synciq_service: c.synciq.settings.service == "on" || c.synciq.settings.service.is_empty(),
    })
}

/// Synthesized file trees of one cluster.
fn synthesize_files(c: &ClusterDump, d: &InventoryDump) -> Vec<FilesSpec> {
    let mut roots: Vec<(String, u64, u64)> = Vec::new();
    for p in &c.synciq.policies {
        // Reports are newest first per policy; the newest successful run sized the tree.
        let from_report = c
            .synciq
            .reports
            .iter()
            .filter(|r| r.policy_name == p.name && r.action == "run" && r.state == "finished")
            .find_map(|r| Some((r.total_files?, r.total_data_bytes?)));
        let from_quota = c
            .quotas
            .iter()
            .find(|q| q.path == p.source_root_path)
            .and_then(|q| Some((q.usage_files?, q.usage_bytes?)));
        if let Some((n, b)) = from_report.or(from_quota) {
            if !roots.iter().any(|r| under(&p.source_root_path, &r.0)) {
                roots.push((p.source_root_path.clone(), n, b));
            }
        }
    }
    // A cluster's copies as target come from the initial sync of the world's policies.
    let target_paths: Vec<&str> = d
        .clusters
        .iter()
        .flat_map(|x| &x.synciq.policies)
        .filter(|p| p.target_cluster.as_deref() == Some(c.name.as_str()))
        .map(|p| p.target_path.as_str())
        .collect();
    for q in &c.quotas {
        let (Some(n), Some(b)) = (q.usage_files, q.usage_bytes) else {
            continue;
        };
        let overlaps = roots
            .iter()
            .any(|r| under(&q.path, &r.0) || under(&r.0, &q.path))
            || target_paths
                .iter()
                .any(|t| under(&q.path, t) || under(t, &q.path));
        if !overlaps && q.quota_type == "directory" && n > 0 {
            roots.push((q.path.clone(), n, b));
        }
    }
    roots.sort();
    roots
        .iter()
        .flat_map(|(root, n, b)| files_for(root, *n, *b))
        .collect()
}

/// Pool mappings from dual delegations: `(source, target)` as `cluster/pool`.
fn dual_mappings(d: &InventoryDump) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for n in d.dns.names.iter().filter(|n| n.mode == "dual") {
        let Some((src_cluster, src_pool)) = n.pool.split_once('/') else {
            continue;
        };
        let src_zone = d
            .clusters
            .iter()
            .find(|c| c.name == src_cluster)
            .and_then(|c| c.pools.iter().find(|p| p.id == src_pool))
            .map(|p| p.access_zone.clone())
            .unwrap_or_default();
        for t in &n.targets {
            let (Some(tc), Some(ts)) = (&t.cluster, &t.subnet) else {
                continue;
            };
            if tc == src_cluster {
                continue;
            }
            let Some(cl) = d.clusters.iter().find(|c| &c.name == tc) else {
                continue;
            };
            let in_subnet: Vec<_> = cl
                .pools
                .iter()
                .filter(|p| &subnet_of(&p.id) == ts)
                .collect();
            let pick = in_subnet
                .iter()
                .find(|p| p.access_zone == src_zone)
                .or(in_subnet.first());
            if let Some(p) = pick {
                let m = (n.pool.clone(), format!("{tc}/{}", p.id));
                if !out.contains(&m) {
                    out.push(m);
                }
            }
        }
    }
    out
}

/// A policy's incremental syncs from its report history, oldest first: every finished
/// `run` but the oldest, which the world's initial full sync stands for. They keep their
/// measured bytes and durations, so the imported world's history calibrates the scheduler
/// and `dr plan --estimate` as the estate's does.
fn past_syncs(c: &ClusterDump, policy: &str) -> Vec<PastSyncSpec> {
    let mut runs: Vec<&dump::ReportDump> = c
        .synciq
        .reports
        .iter()
        .filter(|r| r.policy_name == policy && r.action == "run" && r.state == "finished")
        .collect();
    runs.sort_by_key(|r| r.end_time.unwrap_or(0));
    runs.iter()
        .skip(1)
        .map(|r| PastSyncSpec {
            bytes: r.bytes_transferred.or(r.total_data_bytes).unwrap_or(0),
            duration_ms: r
                .duration_s
                .and_then(|d| u64::try_from(d).ok())
                .map(|d| d.saturating_mul(1000)),
        })
        .collect()
}

/// Make a scenario of a discovered estate.
pub fn import(d: &InventoryDump, opts: &ImportOptions) -> Result<Scenario, ImportError> {
    let reachable: Vec<&ClusterDump> = d.clusters.iter().filter(|c| c.reachable).collect();
    if reachable.len() < 2 {
        return Err(ImportError::Invalid(format!(
            "the inventory has {} reachable cluster(s); a failover world needs two (discover \
             both clusters of the pair)",
            reachable.len()
        )));
    }
    let names: Vec<&str> = reachable.iter().map(|c| c.name.as_str()).collect();
    let clusters: Vec<ClusterSpec> = reachable
        .iter()
        .map(|c| cluster_spec(c, synthesize_files(c, d)))
        .collect::<Result<_, _>>()?;

    let mut policies = Vec::new();
    for c in &reachable {
        for p in &c.synciq.policies {
            let Some(t) = p.target_cluster.as_deref().filter(|t| names.contains(t)) else {
                continue;
            };
            policies.push(PolicySpec {
                name: p.name.clone(),
                source: c.name.clone(),
                target: t.to_string(),
                source_path: p.source_root_path.clone(),
                target_path: p.target_path.clone(),
                schedule: p.schedule.clone(),
                enabled: p.enabled,
                last_job_state: p.last_job_state.clone(),
                past_syncs: past_syncs(c, &p.name),
            });
        }
    }
    policies.sort_by(|a, b| a.name.cmp(&b.name));

    // Costs from the report history.
    let reports = reachable.iter().flat_map(|c| &c.synciq.reports);
    let runs: Vec<(u64, u64)> = reports
        .clone()
        .filter(|r| r.action == "run" && r.state == "finished")
        .filter_map(|r| {
            let bytes = r.bytes_transferred.or(r.total_data_bytes)?;
            let ms = u64::try_from(r.duration_s?).ok()?.checked_mul(1000)?;
            Some((bytes, ms))
        })
        .collect();
    let mut link = LinkSpec::default();
    let mut costs = CostSpec::default();
    if let Some((bw, lat)) = fit_costs(&runs) {
        link.bandwidth_bytes_per_s = bw;
        costs.job_start_latency_ms = lat;
    }
    let action_ms = |action: &str| {
        median(
            reports
                .clone()
                .filter(|r| r.action == action && r.state == "finished")
                .filter_map(|r| u64::try_from(r.duration_s?).ok()?.checked_mul(1000))
                .collect(),
        )
    };
    if let Some(ms) = action_ms("allow_write") {
        costs.allow_write_ms = ms;
    }
    if let Some(ms) = action_ms("resync_prep") {
        costs.resync_prep_ms = ms;
    }

    // AD: one account per cluster with what was discovered on it.
    let ad = reachable
        .iter()
        .find_map(|c| c.ads.first())
        .map(|first| AdSpec {
            domain: first.name.to_ascii_lowercase(),
            accounts: reachable
                .iter()
                .map(|c| AccountSpec {
                    name: c.name.clone(),
                    spns: c.ads.iter().flat_map(|a| a.spns.clone()).collect(),
                })
                .collect(),
        });
    let delegation = if d.dns.names.iter().any(|n| n.mode == "dual") {
        Some(Delegation::Dual)
    } else if d.dns.names.iter().any(|n| n.mode == "single") {
        Some(Delegation::Single)
    } else {
        None
    };

    let mut mappings: Vec<(String, String)> = d
        .pool_mappings
        .iter()
        .map(|m| (m.source.clone(), m.target.clone()))
        .collect();
    // The policies the admin assigned to each recorded mapping's pool (IP Pool mode).
    let assigned: BTreeMap<&str, &Vec<String>> = d
        .pool_mappings
        .iter()
        .map(|m| (m.source.as_str(), &m.policies))
        .collect();
    for m in dual_mappings(d)
        .into_iter()
        .chain(opts.pool_mappings.clone())
    {
        if !mappings.iter().any(|x| x.0 == m.0) {
            mappings.push(m);
        }
    }

    let world = WorldSpec {
        clusters,
        policies,
        link,
        costs,
        ad,
        dns: delegation.map(|delegation| DnsSpec {
            delegation,
            tsig: None,
        }),
        pool_mappings: mappings
            .iter()
            .map(|(s, t)| PoolMappingSpec {
                source: s.clone(),
                target: t.clone(),
                policies: assigned
                    .get(s.as_str())
                    .map(|p| p.to_vec())
                    .unwrap_or_default(),
            })
            .collect(),
        dfs: vec![],
        start_epoch_s: None,
    };

    let run = default_run(d, &world, opts)?;
    let clients = infer_clients(&reachable, &world, &run, opts);
    let scn = Scenario {
        name: opts.name.clone().unwrap_or_else(|| "imported".into()),
        description: Some(format!(
            "Imported from a `dr discover --dump` inventory taken at {}.",
            d.discovered_at
        )),
        seed: opts.seed,
        world,
        clients,
        run,
        prelude: vec![],
        config_sync_before: false,
        prelude_faults: vec![],
        faults: vec![],
        operator: OperatorSpec::default(),
        expect: Expect::default(),
    };
    // What is written must load: validate through the scenario format and a world build.
    let text = to_yaml(&scn)?;
    let back = Scenario::parse(&text, "imported scenario")
        .map_err(|e| ImportError::Invalid(format!("the imported scenario does not load: {e}")))?;
    crate::world::World::build(&back.world, back.seed)
        .map_err(|e| ImportError::Invalid(format!("the imported world does not build: {e}")))?;
    Ok(back)
}

/// The scenario as YAML text.
pub fn to_yaml(scn: &Scenario) -> Result<String, ImportError> {
    yaml_serde::to_string(scn).map_err(|e| ImportError::Invalid(format!("cannot write YAML: {e}")))
}

fn default_run(
    d: &InventoryDump,
    world: &WorldSpec,
    opts: &ImportOptions,
) -> Result<RunSpec, ImportError> {
    let mut pairs: BTreeMap<(String, String), usize> = BTreeMap::new();
    for p in &world.policies {
        *pairs
            .entry((p.source.clone(), p.target.clone()))
            .or_default() += 1;
    }
    let best = pairs
        .iter()
        .filter(|((s, t), _)| {
            opts.from.as_ref().is_none_or(|f| f == s) && opts.to.as_ref().is_none_or(|x| x == t)
        })
        .max_by(|a, b| a.1.cmp(b.1).then_with(|| b.0.cmp(a.0)))
        .map(|(k, _)| k.clone());
    let (from, to) = match (best, &opts.from, &opts.to) {
        (Some(p), _, _) => p,
        (None, Some(f), Some(t)) => (f.clone(), t.clone()),
        _ => {
            return Err(ImportError::Invalid(
                "no SyncIQ policy replicates between the discovered clusters (give --from and \
                 --to to import anyway)"
                    .into(),
            ))
        }
    };
    let mut spec = RunSpec {
        kind: RunKind::Failover,
        mode: opts.mode,
        from: from.clone(),
        to: to.clone(),
        policies: vec![],
        zone: None,
        pool: None,
        pool_mappings: vec![],
        controlled: true,
        options: RunOptions::default(),
    };
    let src = d.clusters.iter().find(|c| c.name == from);
    match opts.mode {
        Mode::AccessZone => {
            let zone = match &opts.zone {
                Some(z) => z.clone(),
                None => {
                    // The zone (not System) whose base path holds most of the pair's policies.
                    let mut count: BTreeMap<String, usize> = BTreeMap::new();
                    for c in src.into_iter() {
                        for z in c.zones.iter().filter(|z| z.name != "System") {
                            let n = world
                                .policies
                                .iter()
                                .filter(|p| {
                                    p.source == from
                                        && p.target == to
                                        && under(&p.source_path, &z.path)
                                })
                                .count();
                            if n > 0 {
                                count.insert(z.name.clone(), n);
                            }
                        }
                    }
                    count
                        .iter()
                        .max_by(|a, b| a.1.cmp(b.1).then_with(|| b.0.cmp(a.0)))
                        .map(|(z, _)| z.clone())
                        .ok_or_else(|| {
                            ImportError::Invalid(format!(
                                "access-zone mode: no zone of {from} holds a policy to {to} \
                                 (give --zone)"
                            ))
                        })?
                }
            };
            spec.zone = Some(zone);
        }
        Mode::IpPool => {
            let pool = match &opts.pool {
                Some(p) => p.clone(),
                None => world
                    .pool_mappings
                    .iter()
                    .find_map(|m| {
                        let (c, p) = m.source.split_once('/')?;
                        (c == from).then(|| p.to_string())
                    })
                    .ok_or_else(|| {
                        ImportError::Invalid(format!(
                            "ip-pool mode: no pool of {from} is mapped (give --pool and \
                             --pool-mapping)"
                        ))
                    })?,
            };
            spec.pool = Some(pool);
        }
        Mode::SynciqPolicy | Mode::Dfs => {}
    }
    Ok(spec)
}

/// One SMB client per share and one NFS client per export under a path the run fails over,
/// reaching it by its zone's SmartConnect name (or the cluster's name without a pool).
fn infer_clients(
    reachable: &[&ClusterDump],
    world: &WorldSpec,
    run: &RunSpec,
    opts: &ImportOptions,
) -> Vec<ClientSpec> {
    let Some(src) = reachable.iter().find(|c| c.name == run.from) else {
        return vec![];
    };
    // IP Pool mode: the pool failing over, and the policies assigned to it (only their
    // paths fail over; clients reach them by that pool's name).
    let is_pool = |id: &str, pool: &str| id == pool || id.rsplit('.').next() == Some(pool);
    let pool = (run.mode == Mode::IpPool)
        .then_some(run.pool.as_deref())
        .flatten();
    let assigned: Option<&Vec<String>> = pool.and_then(|pool| {
        world
            .pool_mappings
            .iter()
            .find(|m| {
                m.source
                    .split_once('/')
                    .is_some_and(|(c, id)| c == run.from && is_pool(id, pool))
            })
            .map(|m| &m.policies)
            .filter(|p| !p.is_empty())
    });
    let roots: Vec<&str> = world
        .policies
        .iter()
        .filter(|p| p.source == run.from && p.target == run.to)
        .filter(|p| assigned.is_none_or(|a| a.contains(&p.name)))
        .map(|p| p.source_path.as_str())
        .collect();
    let host = |zone: &str| -> String {
        let in_zone = |p: &&dump::PoolDump| p.access_zone == zone && !p.sc_dns_zone.is_empty();
        src.pools
            .iter()
            .filter(in_zone)
            .find(|p| pool.is_some_and(|pool| is_pool(&p.id, pool)))
            .or_else(|| src.pools.iter().find(in_zone))
            .map(|p| p.sc_dns_zone.clone())
            .unwrap_or_else(|| src.name.clone())
    };
    let rate = if opts.writes_per_minute == 0 {
        6
    } else {
        opts.writes_per_minute
    };
    let mut out = Vec::new();
    for s in &src.smb_shares {
        if roots.iter().any(|r| under(&s.path, r)) {
            out.push(ClientSpec {
                name: format!("smb-{}", s.name),
                protocol: Protocol::Smb,
                path: format!("\\\\{}\\{}", host(&s.zone), s.name),
                writes_per_minute: rate,
                test: false,
            });
        }
    }
    for (i, e) in src.nfs_exports.iter().enumerate() {
        if let Some(p) = e.paths.iter().find(|p| roots.iter().any(|r| under(p, r))) {
            out.push(ClientSpec {
                name: format!("nfs-{}", i + 1),
                protocol: Protocol::Nfs,
                path: format!("{}:{p}", host(&e.zone)),
                writes_per_minute: rate,
                test: false,
            });
        }
    }
    out.truncate(MAX_CLIENTS);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_trees_keep_count_and_bytes() {
        for (n, b) in [(1u64, 0u64), (7, 100), (500, 524_288_000), (3, 2)] {
            let f = files_for("/ifs/x", n, b);
            assert_eq!(f.iter().map(|x| x.count).sum::<u64>(), n);
            assert_eq!(f.iter().map(|x| x.count * x.size_bytes).sum::<u64>(), b);
        }
        assert!(files_for("/ifs/x", 0, 10).is_empty());
    }

    #[test]
    fn costs_fit_a_line() {
        // 5 s latency, 100 MB/s.
        let pts: Vec<(u64, u64)> = [1u64, 4, 10]
            .iter()
            .map(|gb| {
                let b = gb * 1_000_000_000;
                (b, 5_000 + b / 100_000)
            })
            .collect();
        assert_eq!(fit_costs(&pts), Some((100_000_000, 5_000)));
        assert_eq!(fit_costs(&[]), None);
        let (bw, lat) = fit_costs(&[(1_000_000_000, 15_000)]).unwrap_or_default();
        assert_eq!((bw, lat), (100_000_000, 5_000));
    }
}
