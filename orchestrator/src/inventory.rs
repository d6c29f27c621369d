//! What the orchestrator knows about the clusters before it plans: identities, SyncIQ
//! policies and their expected job runtimes. Built by [`discover`] over PAPI, or loaded from
//! a `dr discover --dump` file.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::papi::{AccessZone, AdsProvider, PapiClient, PapiError};

/// `ClusterInfo::synciq_service` of a cluster that did not answer discovery.
pub const UNREACHABLE: &str = "unreachable";

/// One cluster as discovered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusterInfo {
    pub name: String,
    pub guid: String,
    pub release: String,
    /// Names by which policies may refer to this cluster in `target_host` (its name, FQDN, IPs).
    pub hosts: Vec<String>,
    /// SyncIQ `max_concurrent_jobs` (the job slots the scheduler may use).
    pub max_concurrent_jobs: u32,
    /// SyncIQ service state (`on`, `off`, `paused`).
    pub synciq_service: String,
}

/// One SyncIQ policy as discovered on its source cluster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolicyInfo {
    pub name: String,
    pub id: String,
    /// Source cluster name.
    pub source: String,
    /// Target cluster name (resolved from `target_host`), if known.
    pub target: Option<String>,
    pub source_path: String,
    pub target_path: String,
    pub schedule: String,
    pub enabled: bool,
    pub last_job_state: Option<String>,
    /// Expected runtime of a sync job (0 = unknown): the mean of the incremental syncs in
    /// `history`, or the newest sync's when there is no incremental one.
    pub expected_job_ms: u64,
    /// The policy's finished jobs, newest first (at most [`HISTORY_MAX`]): what the
    /// scheduler and `dr plan --estimate` learn job times from.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<JobSample>,
}

/// How many of a policy's reports the inventory keeps.
pub const HISTORY_MAX: usize = 32;

/// How many of a policy's newest reports discovery reads for its history: room for
/// [`HISTORY_MAX`] finished jobs among failed ones, not the whole history OneFS keeps (up
/// to 2000 reports a policy), which would make discovery grow with the clusters' age.
pub const HISTORY_READ: usize = 2 * HISTORY_MAX;

/// One finished SyncIQ job of a policy, from its report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobSample {
    /// `run`, `allow_write`, `resync_prep`, …
    pub action: String,
    pub duration_ms: u64,
    pub bytes: u64,
    /// The policy's first, full sync.
    #[serde(default)]
    pub initial: bool,
    /// Unix seconds it ended.
    pub end_time: i64,
}

impl JobSample {
    /// Samples from reports (newest first, as `PapiClient::reports` returns them): finished
    /// jobs only, at most [`HISTORY_MAX`].
    pub fn from_reports(reports: &[crate::papi::SyncReport]) -> Vec<JobSample> {
        reports
            .iter()
            .filter(|r| r.state == "finished")
            .filter_map(|r| {
                Some(JobSample {
                    action: r.action.clone().unwrap_or_else(|| "run".into()),
                    duration_ms: (r.duration?.max(0) as u64).saturating_mul(1000),
                    bytes: r.bytes_transferred.unwrap_or(0),
                    initial: r.sync_type.as_deref() == Some("initial"),
                    end_time: r.end_time.unwrap_or(0),
                })
            })
            .take(HISTORY_MAX)
            .collect()
    }

    /// Mean time between the ends of consecutive incremental runs of `history` (ms), when
    /// it has two or more: how often the policy syncs, so how long its usual backlog took
    /// to build up.
    pub fn sync_interval_ms(history: &[JobSample]) -> Option<u64> {
        let ends: Vec<i64> = history
            .iter()
            .filter(|s| s.action == "run" && !s.initial)
            .map(|s| s.end_time)
            .collect();
        let (newest, oldest) = (ends.iter().max()?, ends.iter().min()?);
        let gap = newest.checked_sub(*oldest)?;
        (ends.len() >= 2 && gap > 0).then(|| gap as u64 * 1000 / (ends.len() as u64 - 1))
    }

    /// The share of a usual sync that the final sync after a pre-sync still has to move:
    /// the changes written while a job of `job_ms` ran, against a backlog built over the
    /// policy's sync interval (an hour, a common schedule, when the history does not say),
    /// assuming writes at a steady rate. Between 0 and 1.
    pub fn presync_delta_fraction(history: &[JobSample], job_ms: u64) -> f64 {
        let interval = JobSample::sync_interval_ms(history)
            .unwrap_or(3_600_000)
            .max(1);
        (job_ms as f64 / interval as f64).clamp(0.0, 1.0)
    }

    /// Expected runtime of a sync job from `history`: the mean of its incremental runs, or
    /// the newest run's when there is none (0: no run known).
    pub fn expected_run_ms(history: &[JobSample]) -> u64 {
        let runs = || history.iter().filter(|s| s.action == "run");
        let incremental: Vec<u64> = runs()
            .filter(|s| !s.initial)
            .map(|s| s.duration_ms)
            .collect();
        if incremental.is_empty() {
            runs().next().map_or(0, |s| s.duration_ms)
        } else {
            incremental.iter().sum::<u64>() / incremental.len() as u64
        }
    }
}

/// A SmartConnect pool as discovered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PoolInfo {
    /// Full id, `groupnet0.subnet0.pool0`.
    pub id: String,
    /// The pool's own name (last id part).
    pub name: String,
    pub access_zone: String,
    pub sc_dns_zone: String,
    pub aliases: Vec<String>,
    /// SmartConnect service IPs of the pool's subnet.
    pub ssips: Vec<String>,
    /// The pool's address ranges (`low`..=`high`).
    #[serde(default)]
    pub ranges: Vec<crate::papi::IpRange>,
}

impl PoolInfo {
    /// Whether `addr` is one of the pool's addresses.
    pub fn has_addr(&self, addr: std::net::Ipv4Addr) -> bool {
        self.ranges.iter().any(|r| {
            match (
                r.low.parse::<std::net::Ipv4Addr>(),
                r.high.parse::<std::net::Ipv4Addr>(),
            ) {
                (Ok(lo), Ok(hi)) => addr >= lo && addr <= hi,
                _ => false,
            }
        })
    }
}

/// Everything discovered.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Inventory {
    pub clusters: BTreeMap<String, ClusterInfo>,
    pub policies: BTreeMap<String, PolicyInfo>,
    /// Access zones by cluster.
    #[serde(default)]
    pub zones: BTreeMap<String, Vec<AccessZone>>,
    /// SmartConnect pools by cluster.
    #[serde(default)]
    pub pools: BTreeMap<String, Vec<PoolInfo>>,
    /// AD providers by cluster.
    #[serde(default)]
    pub ads: BTreeMap<String, Vec<AdsProvider>>,
    /// SyncIQ target records by cluster (what replicates into it, and their
    /// failover/failback state): how a failback tells that its target returned after an
    /// uncontrolled failover.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub target_policies: BTreeMap<String, Vec<TargetPolicyInfo>>,
}

/// One SyncIQ target record as discovered on the cluster it replicates into.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetPolicyInfo {
    pub name: String,
    pub source_host: String,
    pub target_path: String,
    /// `writes_disabled`, `writes_enabled`, `resync_policy_created`, …
    pub failover_failback_state: String,
}

impl Inventory {
    /// The access zone of `cluster` whose base path holds `path` most closely.
    pub fn zone_of_path(&self, cluster: &str, path: &str) -> Option<&AccessZone> {
        self.zones
            .get(cluster)?
            .iter()
            .filter(|z| crate::naming::path_under(path, &z.path))
            .max_by_key(|z| z.path.len())
    }

    /// A zone of `cluster` by name.
    pub fn zone(&self, cluster: &str, name: &str) -> Option<&AccessZone> {
        self.zones.get(cluster)?.iter().find(|z| z.name == name)
    }

    /// A pool of `cluster` by full id or by its short name.
    pub fn pool(&self, cluster: &str, id: &str) -> Option<&PoolInfo> {
        self.pools
            .get(cluster)?
            .iter()
            .find(|p| p.id == id || p.name == id)
    }

    /// The target record `name` on `cluster`, if discovered.
    pub fn target_policy(&self, cluster: &str, name: &str) -> Option<&TargetPolicyInfo> {
        self.target_policies
            .get(cluster)?
            .iter()
            .find(|t| t.name == name)
    }

    /// Policies replicating from `from` to `to`, by name.
    pub fn policies_between(&self, from: &str, to: &str) -> Vec<&PolicyInfo> {
        self.policies
            .values()
            .filter(|p| p.source == from && p.target.as_deref() == Some(to))
            .collect()
    }
}

/// Discover the named clusters. `hosts` lists extra names under which each cluster may appear
/// in a policy's `target_host`.
pub async fn discover(
    clients: &BTreeMap<String, PapiClient>,
    hosts: &BTreeMap<String, Vec<String>>,
) -> Result<Inventory, PapiError> {
    let mut inv = Inventory::default();
    let mut unreachable: Vec<String> = Vec::new();
    for (name, client) in clients {
        // An unreachable cluster is recorded, not fatal: validation decides whether the run
        // can go on (an uncontrolled failover expects its source to be down).
        let cfg = match client.cluster_config().await {
            Ok(c) => c,
            Err(e) if e.is_unreachable() => {
                tracing::warn!(cluster = %name, error = %e, "cluster unreachable during discovery");
                unreachable.push(name.clone());
                inv.clusters.insert(
                    name.clone(),
                    ClusterInfo {
                        name: name.clone(),
                        guid: String::new(),
                        release: String::new(),
                        hosts: vec![name.clone()],
                        max_concurrent_jobs: 1,
                        synciq_service: UNREACHABLE.into(),
                    },
                );
                continue;
            }
            Err(e) => return Err(e),
        };
        let settings = client.sync_settings().await?;
        let mut h = vec![name.clone()];
        if !cfg.name.is_empty() && !h.contains(&cfg.name) {
            h.push(cfg.name.clone());
        }
        for extra in hosts.get(name).into_iter().flatten() {
            if !h.contains(extra) {
                h.push(extra.clone());
            }
        }
        inv.clusters.insert(
            name.clone(),
            ClusterInfo {
                name: name.clone(),
                guid: cfg.guid,
                release: cfg.onefs_version.release,
                hosts: h,
                max_concurrent_jobs: settings.max_concurrent_jobs.unwrap_or(50).max(1),
                synciq_service: settings.service,
            },
        );
    }
    for (name, client) in clients {
        if unreachable.contains(name) {
            continue;
        }
        inv.zones.insert(name.clone(), client.zones().await?);
        inv.ads.insert(name.clone(), client.ads_providers().await?);
        let mut pools = Vec::new();
        let mut subnet_ssips: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
        for p in client.pools().await? {
            let (g, s, short) = crate::papi::split_pool_id(&p.id);
            let (g, s, short) = (g.to_string(), s.to_string(), short.to_string());
            let key = (g.clone(), s.clone());
            if !subnet_ssips.contains_key(&key) {
                let ssips = match client.subnet(&g, &s).await? {
                    Some(sub) => sub.sc_service_addrs.iter().map(|r| r.low.clone()).collect(),
                    None => Vec::new(),
                };
                subnet_ssips.insert(key.clone(), ssips);
            }
            pools.push(PoolInfo {
                name: if p.name.is_empty() {
                    short
                } else {
                    p.name.clone()
                },
                id: p.id.clone(),
                access_zone: p.access_zone.clone(),
                sc_dns_zone: p.sc_dns_zone.clone(),
                aliases: p.sc_dns_zone_aliases.clone(),
                ssips: subnet_ssips.get(&key).cloned().unwrap_or_default(),
                ranges: p.ranges.clone(),
            });
        }
        inv.pools.insert(name.clone(), pools);
        let tps = client.list_target_policies().await?;
        inv.target_policies.insert(
            name.clone(),
            tps.into_iter()
                .map(|tp| TargetPolicyInfo {
                    name: tp.name,
                    source_host: tp.source_host,
                    target_path: tp.target_path,
                    failover_failback_state: tp.failover_failback_state,
                })
                .collect(),
        );
        for p in client.list_policies().await? {
            let target = inv
                .clusters
                .values()
                .find(|c| {
                    c.hosts
                        .iter()
                        .any(|h| h.eq_ignore_ascii_case(&p.target_host))
                })
                .map(|c| c.name.clone());
            let history = match client.recent_reports(&p.name, HISTORY_READ).await {
                Ok(reports) => JobSample::from_reports(&reports),
                Err(_) => Vec::new(),
            };
            let expected_job_ms = JobSample::expected_run_ms(&history);
            inv.policies.insert(
                p.name.clone(),
                PolicyInfo {
                    name: p.name.clone(),
                    id: p.id.clone(),
                    source: name.clone(),
                    target,
                    source_path: p.source_root_path.clone(),
                    target_path: p.target_path.clone(),
                    schedule: p.schedule.clone(),
                    enabled: p.enabled,
                    last_job_state: p.last_job_state.clone(),
                    expected_job_ms,
                    history,
                },
            );
        }
    }
    // Policies of an unreachable source, as its targets know them (target policies). The
    // source path is not visible from the target; it is taken to equal the target path.
    for u in &unreachable {
        for (name, client) in clients {
            if unreachable.contains(name) {
                continue;
            }
            for tp in client.list_target_policies().await? {
                if !tp.source_host.eq_ignore_ascii_case(u) || inv.policies.contains_key(&tp.name) {
                    continue;
                }
                inv.policies.insert(
                    tp.name.clone(),
                    PolicyInfo {
                        name: tp.name.clone(),
                        id: tp.id.clone(),
                        source: u.clone(),
                        target: Some(name.clone()),
                        source_path: tp.target_path.clone(),
                        target_path: tp.target_path.clone(),
                        schedule: String::new(),
                        enabled: true,
                        last_job_state: tp.last_job_state.clone(),
                        expected_job_ms: 0,
                        history: Vec::new(),
                    },
                );
            }
        }
    }
    Ok(inv)
}
