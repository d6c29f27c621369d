//! `dr discover --dump FILE`: a versioned, documented inventory of both clusters, read with
//! GET requests only (a read-only PAPI role is enough), for plan verification on a copy of
//! the real estate (DESIGN §11): `drill import` turns it into a scenario world.
//!
//! The file is JSON: `{"format": "failover-lab-inventory", "version": 1, "discovered_at",
//! "clusters": [...], "dns": {...}}`; its JSON Schema is [`schema`] (`dr discover --schema`).
//! Every object is copied field by field into the types below — never as the raw PAPI body —
//! so nothing the clusters return beyond these fields (credentials of a SyncIQ policy, an AD
//! join account) can reach the file. The DNS delegation of every SmartConnect name is read
//! with a DNS query (NS records and their glue), not taken from the clusters' own view.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::dns::{DnsClient, DnsClientError};
use crate::papi::{enc, PapiClient, PapiError, SettingsEnvelope};

/// `format` of every inventory file.
pub const FORMAT: &str = "failover-lab-inventory";
/// The version this build writes and reads.
pub const VERSION: u32 = 1;

/// The whole inventory file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InventoryDump {
    /// Always `failover-lab-inventory`.
    pub format: String,
    /// Schema version (this is version 1).
    pub version: u32,
    /// When discovery ran (RFC 3339, UTC).
    pub discovered_at: String,
    /// The tool that wrote the file (`dr <version>`).
    #[serde(default)]
    pub generator: String,
    /// The clusters of the `dr` config, in name order.
    pub clusters: Vec<ClusterDump>,
    /// The DNS delegation of every SmartConnect name and alias.
    #[serde(default)]
    pub dns: DnsDump,
    /// Pool mappings the admin gave for the plan (`--pool-mapping`); not read from a cluster.
    #[serde(default)]
    pub pool_mappings: Vec<PoolMappingDump>,
}

/// A source pool → target pool mapping, `cluster/groupnet.subnet.pool` each.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PoolMappingDump {
    pub source: String,
    pub target: String,
    /// IP Pool mode: the policies assigned to the source pool (fail over with it).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub policies: Vec<String>,
}

/// One cluster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ClusterDump {
    /// The cluster's name in the `dr` config.
    pub name: String,
    /// False when the cluster did not answer (then everything below is empty).
    pub reachable: bool,
    /// Name, GUID and OneFS release (`cluster/config`).
    pub identity: IdentityDump,
    /// Names policies may use for it in `target_host` (config name, cluster name, `hosts`).
    #[serde(default)]
    pub hosts: Vec<String>,
    #[serde(default)]
    pub zones: Vec<ZoneDump>,
    #[serde(default)]
    pub groupnets: Vec<GroupnetDump>,
    #[serde(default)]
    pub subnets: Vec<SubnetDump>,
    #[serde(default)]
    pub pools: Vec<PoolDump>,
    #[serde(default)]
    pub smb_shares: Vec<ShareDump>,
    #[serde(default)]
    pub nfs_exports: Vec<ExportDump>,
    #[serde(default)]
    pub nfs_aliases: Vec<AliasDump>,
    #[serde(default)]
    pub quotas: Vec<QuotaDump>,
    #[serde(default)]
    pub snapshot_schedules: Vec<SnapshotScheduleDump>,
    #[serde(default)]
    pub dedupe: DedupeDump,
    /// AD providers and their SPNs.
    #[serde(default)]
    pub ads: Vec<AdsDump>,
    #[serde(default)]
    pub synciq: SynciqDump,
}

/// `cluster/config`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IdentityDump {
    pub name: String,
    pub guid: String,
    /// OneFS release, e.g. `9.10.0.0`.
    pub release: String,
}

/// An access zone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ZoneDump {
    pub name: String,
    /// Base path.
    pub path: String,
}

/// A groupnet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupnetDump {
    pub name: String,
}

/// An address range `low..=high`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RangeDump {
    pub low: String,
    pub high: String,
}

/// A subnet with its SmartConnect service addresses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SubnetDump {
    pub groupnet: String,
    pub name: String,
    pub sc_service_addrs: Vec<RangeDump>,
}

/// A SmartConnect pool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PoolDump {
    /// `groupnet.subnet.pool`.
    pub id: String,
    pub access_zone: String,
    pub sc_dns_zone: String,
    pub sc_dns_zone_aliases: Vec<String>,
    pub ranges: Vec<RangeDump>,
}

/// An SMB share permission entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PermissionDump {
    /// `full`, `change` or `read`.
    pub permission: String,
    /// `allow` or `deny`.
    pub permission_type: String,
    pub trustee_id: String,
    #[serde(default)]
    pub trustee_name: Option<String>,
    #[serde(default)]
    pub trustee_type: Option<String>,
}

/// An SMB share.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ShareDump {
    pub zone: String,
    pub name: String,
    pub path: String,
    pub permissions: Vec<PermissionDump>,
    #[serde(default)]
    pub description: Option<String>,
}

/// An NFS export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExportDump {
    pub zone: String,
    pub paths: Vec<String>,
    pub clients: Vec<String>,
    pub root_clients: Vec<String>,
    pub read_only: bool,
    #[serde(default)]
    pub description: Option<String>,
}

/// An NFS alias.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AliasDump {
    pub zone: String,
    pub name: String,
    pub path: String,
}

/// A quota, with its usage (what `drill import` sizes file trees from).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QuotaDump {
    pub path: String,
    /// `directory`, `user`, `group`, `default-user`, `default-group`.
    #[serde(rename = "type")]
    pub quota_type: String,
    #[serde(default)]
    pub enforced: Option<bool>,
    #[serde(default)]
    pub hard_bytes: Option<u64>,
    #[serde(default)]
    pub soft_bytes: Option<u64>,
    #[serde(default)]
    pub advisory_bytes: Option<u64>,
    /// Logical bytes used under the path.
    #[serde(default)]
    pub usage_bytes: Option<u64>,
    /// Files (inodes) under the path.
    #[serde(default)]
    pub usage_files: Option<u64>,
}

/// A snapshot schedule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SnapshotScheduleDump {
    pub name: String,
    pub path: String,
    #[serde(default)]
    pub pattern: String,
    #[serde(default)]
    pub schedule: String,
    /// Retention, seconds.
    #[serde(default)]
    pub duration: Option<u64>,
}

/// Dedupe settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DedupeDump {
    /// False when the cluster has no dedupe settings (not licensed).
    #[serde(default)]
    pub present: bool,
    #[serde(default)]
    pub paths: Vec<String>,
    #[serde(default)]
    pub assess_paths: Vec<String>,
}

/// An AD provider and the SPNs of its machine account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AdsDump {
    /// Domain name.
    pub name: String,
    pub machine_account: String,
    pub spns: Vec<String>,
}

/// SyncIQ on one cluster.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SynciqDump {
    pub settings: SyncSettingsDump,
    pub policies: Vec<PolicyDump>,
    pub target_policies: Vec<TargetPolicyDump>,
    /// Reports of finished jobs, newest first per policy (at most `--report-limit` each).
    pub reports: Vec<ReportDump>,
}

/// `sync/settings`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SyncSettingsDump {
    /// `on`, `off` or `paused`.
    pub service: String,
    #[serde(default)]
    pub max_concurrent_jobs: Option<u32>,
}

/// A SyncIQ policy on its source cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyDump {
    pub name: String,
    pub enabled: bool,
    /// `sync` or `copy`.
    #[serde(default)]
    pub action: String,
    pub source_root_path: String,
    pub target_host: String,
    pub target_path: String,
    /// `""` = manual.
    pub schedule: String,
    #[serde(default)]
    pub last_job_state: Option<String>,
    /// The cluster (config name) `target_host` resolves to, if it is one of the dump's.
    #[serde(default)]
    pub target_cluster: Option<String>,
}

/// A SyncIQ target policy (a policy replicating into this cluster).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TargetPolicyDump {
    pub name: String,
    pub source_host: String,
    pub target_path: String,
    pub failover_failback_state: String,
    #[serde(default)]
    pub last_job_state: Option<String>,
}

/// A finished SyncIQ job's report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportDump {
    pub policy_name: String,
    /// `run`, `allow_write`, `resync_prep`, …
    pub action: String,
    pub state: String,
    #[serde(default)]
    pub start_time: Option<i64>,
    #[serde(default)]
    pub end_time: Option<i64>,
    /// Seconds.
    #[serde(default)]
    pub duration_s: Option<i64>,
    #[serde(default)]
    pub total_files: Option<u64>,
    #[serde(default)]
    pub files_transferred: Option<u64>,
    #[serde(default)]
    pub total_data_bytes: Option<u64>,
    #[serde(default)]
    pub bytes_transferred: Option<u64>,
}

/// The DNS view of the SmartConnect names.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DnsDump {
    /// The server asked (`ip:port`), if one was configured.
    #[serde(default)]
    pub server: Option<String>,
    pub names: Vec<DelegationDump>,
}

/// How one SmartConnect name is delegated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DelegationDump {
    /// The name (a pool's zone name or alias), lower-case.
    pub name: String,
    /// The pool that carries it: `cluster/groupnet.subnet.pool`.
    pub pool: String,
    /// `dual` (NS to service IPs of two or more clusters), `single` (one cluster),
    /// `none` (no NS records or no cluster's service IP), `unknown` (the query failed or
    /// no DNS server was configured).
    pub mode: String,
    pub targets: Vec<NsTargetDump>,
    /// Why the query failed (`mode: unknown`).
    #[serde(default)]
    pub error: Option<String>,
}

/// One NS target of a delegation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NsTargetDump {
    pub host: String,
    pub addrs: Vec<String>,
    /// The cluster whose SmartConnect service IP this is, if one of the dump's.
    #[serde(default)]
    pub cluster: Option<String>,
    /// Its subnet there (`groupnet.subnet`).
    #[serde(default)]
    pub subnet: Option<String>,
}

/// The JSON Schema of the inventory file.
pub fn schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(InventoryDump)).unwrap_or_default()
}

/// Discovery could not complete.
#[derive(Debug, thiserror::Error)]
pub enum DumpError {
    #[error(transparent)]
    Papi(#[from] PapiError),
}

/// Progress of a dump: one `read` per PAPI list or DNS query (so a large estate shows it
/// moving); `total` grows as discovery learns how much there is.
pub trait Progress {
    fn total(&self, _reads: u64) {}
    fn read(&self, _what: &str) {}
}

/// No progress output.
pub struct Quiet;
impl Progress for Quiet {}

/// What [`discover_dump`] needs besides the clients.
#[derive(Debug, Clone, Default)]
pub struct DumpOptions {
    /// Extra `target_host` names per cluster (the config's `hosts`).
    pub hosts: BTreeMap<String, Vec<String>>,
    /// Reports kept per policy, newest first (0 = all).
    pub report_limit: usize,
    /// `discovered_at` (Unix seconds; the caller's clock).
    pub now_unix_s: i64,
    /// The DNS server's address, recorded in the file.
    pub dns_server: Option<String>,
    /// The admin's pool mappings, recorded in the file.
    pub pool_mappings: Vec<PoolMappingDump>,
}

/// `discovered_at` text: RFC 3339 UTC of Unix seconds.
pub fn rfc3339(unix_s: i64) -> String {
    let days = unix_s.div_euclid(86_400);
    let secs = unix_s.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

// ----- lenient PAPI shapes read here (only the fields the dump keeps) ---------------------

#[derive(Deserialize)]
struct RawGroupnet {
    #[serde(default)]
    name: String,
}

#[derive(Deserialize)]
struct RawSubnet {
    #[serde(default)]
    name: String,
    #[serde(default)]
    groupnet: String,
    #[serde(default)]
    sc_service_addrs: Vec<RangeDump>,
}

#[derive(Deserialize, Default)]
struct RawThresholds {
    #[serde(default)]
    hard: Option<u64>,
    #[serde(default)]
    soft: Option<u64>,
    #[serde(default)]
    advisory: Option<u64>,
}

#[derive(Deserialize, Default)]
struct RawUsage {
    #[serde(default)]
    fslogical: Option<u64>,
    #[serde(default)]
    logical: Option<u64>,
    #[serde(default)]
    inodes: Option<u64>,
}

#[derive(Deserialize)]
struct RawQuota {
    path: String,
    #[serde(rename = "type")]
    quota_type: String,
    #[serde(default)]
    enforced: Option<bool>,
    #[serde(default)]
    thresholds: Option<RawThresholds>,
    #[serde(default)]
    usage: Option<RawUsage>,
}

#[derive(Deserialize)]
struct RawSchedule {
    #[serde(default)]
    name: String,
    #[serde(default)]
    path: String,
    #[serde(default)]
    pattern: Option<String>,
    #[serde(default)]
    schedule: Option<String>,
    #[serde(default)]
    duration: Option<u64>,
}

#[derive(Deserialize, Default)]
struct RawDedupe {
    #[serde(default)]
    paths: Vec<String>,
    #[serde(default)]
    assess_paths: Vec<String>,
}

#[derive(Deserialize)]
struct RawPolicy {
    name: String,
    #[serde(default = "yes")]
    enabled: bool,
    #[serde(default)]
    action: Option<String>,
    #[serde(default)]
    source_root_path: String,
    #[serde(default)]
    target_host: String,
    #[serde(default)]
    target_path: String,
    #[serde(default)]
    schedule: Option<String>,
    #[serde(default)]
    last_job_state: Option<String>,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
struct RawReport {
    #[serde(default)]
    policy_name: Option<String>,
    #[serde(default)]
    action: Option<String>,
    #[serde(default)]
    state: String,
    #[serde(default)]
    start_time: Option<i64>,
    #[serde(default)]
    end_time: Option<i64>,
    #[serde(default)]
    duration: Option<i64>,
    #[serde(default)]
    total_files: Option<u64>,
    #[serde(default)]
    files_transferred: Option<u64>,
    #[serde(default)]
    total_data_bytes: Option<u64>,
    #[serde(default)]
    bytes_transferred: Option<u64>,
}

fn dedup_push(v: &mut Vec<String>, s: &str) {
    if !s.is_empty() && !v.iter().any(|x| x.eq_ignore_ascii_case(s)) {
        v.push(s.to_string());
    }
}

/// Read one cluster (GET requests only).
async fn read_cluster(
    name: &str,
    c: &PapiClient,
    extra_hosts: &[String],
    report_limit: usize,
    progress: &dyn Progress,
) -> Result<ClusterDump, PapiError> {
    let mut out = ClusterDump {
        name: name.to_string(),
        reachable: true,
        identity: IdentityDump::default(),
        hosts: vec![name.to_string()],
        zones: vec![],
        groupnets: vec![],
        subnets: vec![],
        pools: vec![],
        smb_shares: vec![],
        nfs_exports: vec![],
        nfs_aliases: vec![],
        quotas: vec![],
        snapshot_schedules: vec![],
        dedupe: DedupeDump::default(),
        ads: vec![],
        synciq: SynciqDump::default(),
    };
    progress.read(&format!("{name}: cluster/config"));
    let cfg = match c.cluster_config().await {
        Ok(cfg) => cfg,
        Err(e) if e.is_unreachable() => {
            tracing::warn!(cluster = %name, error = %e, "cluster unreachable: recorded as such");
            out.reachable = false;
            return Ok(out);
        }
        Err(e) => return Err(e),
    };
    out.identity = IdentityDump {
        name: cfg.name.clone(),
        guid: cfg.guid.clone(),
        release: cfg.onefs_version.release.clone(),
    };
    dedup_push(&mut out.hosts, &cfg.name);
    for h in extra_hosts {
        dedup_push(&mut out.hosts, h);
    }

    progress.read(&format!("{name}: zones"));
    out.zones = c
        .zones()
        .await?
        .into_iter()
        .map(|z| ZoneDump {
            name: z.name,
            path: z.path,
        })
        .collect();
    progress.read(&format!("{name}: network"));
    out.groupnets = c
        .list_or_empty::<RawGroupnet>("network/groupnets", "groupnets")
        .await?
        .into_iter()
        .map(|g| GroupnetDump { name: g.name })
        .collect();
    out.subnets = c
        .list_or_empty::<RawSubnet>("network/subnets", "subnets")
        .await?
        .into_iter()
        .map(|s| SubnetDump {
            groupnet: s.groupnet,
            name: s.name,
            sc_service_addrs: s.sc_service_addrs,
        })
        .collect();
    out.pools = c
        .pools()
        .await?
        .into_iter()
        .map(|p| PoolDump {
            id: p.id,
            access_zone: p.access_zone,
            sc_dns_zone: p.sc_dns_zone,
            sc_dns_zone_aliases: p.sc_dns_zone_aliases,
            ranges: p
                .ranges
                .into_iter()
                .map(|r| RangeDump {
                    low: r.low,
                    high: r.high,
                })
                .collect(),
        })
        .collect();
    progress.total(6 + 3 * out.zones.len() as u64);

    for z in out.zones.clone() {
        progress.read(&format!("{name}: SMB shares of zone {}", z.name));
        for s in c.smb_shares(&z.name).await? {
            out.smb_shares.push(ShareDump {
                zone: z.name.clone(),
                name: s.name,
                path: s.path,
                permissions: s
                    .permissions
                    .into_iter()
                    .map(|p| PermissionDump {
                        permission: p.permission,
                        permission_type: p.permission_type,
                        trustee_id: p.trustee.id,
                        trustee_name: p.trustee.name,
                        trustee_type: p.trustee.trustee_type,
                    })
                    .collect(),
                description: s.description.filter(|d| !d.is_empty()),
            });
        }
        progress.read(&format!("{name}: NFS exports of zone {}", z.name));
        for e in c.nfs_exports(&z.name).await? {
            out.nfs_exports.push(ExportDump {
                zone: z.name.clone(),
                paths: e.paths,
                clients: e.clients,
                root_clients: e.root_clients,
                read_only: e.read_only,
                description: e.description.filter(|d| !d.is_empty()),
            });
        }
        progress.read(&format!("{name}: NFS aliases of zone {}", z.name));
        for a in c.nfs_aliases(&z.name).await? {
            out.nfs_aliases.push(AliasDump {
                zone: z.name.clone(),
                name: a.name,
                path: a.path,
            });
        }
    }

    // Quotas, snapshots and dedupe are licensed features: a 404 is "not licensed", none.
    progress.read(&format!("{name}: quotas"));
    out.quotas = c
        .list_or_empty::<RawQuota>("quota/quotas", "quotas")
        .await?
        .into_iter()
        .map(|q| {
            let th = q.thresholds.unwrap_or_default();
            let usage = q.usage.unwrap_or_default();
            QuotaDump {
                path: q.path,
                quota_type: q.quota_type,
                enforced: q.enforced,
                hard_bytes: th.hard,
                soft_bytes: th.soft,
                advisory_bytes: th.advisory,
                usage_bytes: usage.fslogical.or(usage.logical),
                usage_files: usage.inodes,
            }
        })
        .collect();
    progress.read(&format!("{name}: snapshot schedules"));
    out.snapshot_schedules = c
        .list_or_empty::<RawSchedule>("snapshot/schedules", "schedules")
        .await?
        .into_iter()
        .map(|s| SnapshotScheduleDump {
            name: s.name,
            path: s.path,
            pattern: s.pattern.unwrap_or_default(),
            schedule: s.schedule.unwrap_or_default(),
            duration: s.duration,
        })
        .collect();
    progress.read(&format!("{name}: dedupe settings"));
    match c
        .get_json::<SettingsEnvelope<RawDedupe>>("dedupe/settings")
        .await
    {
        Ok(s) => {
            out.dedupe = DedupeDump {
                present: true,
                paths: s.settings.paths,
                assess_paths: s.settings.assess_paths,
            }
        }
        Err(e) if e.status() == Some(404) => {}
        Err(e) => return Err(e),
    }
    progress.read(&format!("{name}: AD providers"));
    out.ads = c
        .ads_providers()
        .await?
        .into_iter()
        .map(|a| AdsDump {
            name: a.name,
            machine_account: a.machine_account,
            spns: a.spns,
        })
        .collect();

    progress.read(&format!("{name}: SyncIQ"));
    let settings = c.sync_settings().await?;
    out.synciq.settings = SyncSettingsDump {
        service: settings.service,
        max_concurrent_jobs: settings.max_concurrent_jobs,
    };
    let policies = c
        .list_or_empty::<RawPolicy>("sync/policies", "policies")
        .await?;
    progress.total(policies.len() as u64);
    for p in policies {
        progress.read(&format!("{name}: reports of {}", p.name));
        // With a limit, only that many newest reports are asked for: a policy keeps up to
        // 2000 (OneFS's `report_max_count`); the sort and truncation below still apply.
        let window = if report_limit > 0 {
            format!("&reports_per_policy={report_limit}")
        } else {
            String::new()
        };
        let mut reports: Vec<RawReport> = c
            .list_or_empty(
                &format!("sync/reports?policy_name={}{window}", enc(&p.name)),
                "reports",
            )
            .await?;
        reports.retain(|r| r.policy_name.as_deref().is_none_or(|n| n == p.name));
        reports.sort_by_key(|r| std::cmp::Reverse(r.end_time.unwrap_or(0)));
        if report_limit > 0 {
            reports.truncate(report_limit);
        }
        out.synciq
            .reports
            .extend(reports.into_iter().map(|r| ReportDump {
                policy_name: p.name.clone(),
                action: r.action.unwrap_or_else(|| "run".into()),
                state: r.state,
                start_time: r.start_time,
                end_time: r.end_time,
                duration_s: r.duration,
                total_files: r.total_files,
                files_transferred: r.files_transferred,
                total_data_bytes: r.total_data_bytes,
                bytes_transferred: r.bytes_transferred,
            }));
        out.synciq.policies.push(PolicyDump {
            name: p.name,
            enabled: p.enabled,
            action: p.action.unwrap_or_else(|| "sync".into()),
            source_root_path: p.source_root_path,
            target_host: p.target_host,
            target_path: p.target_path,
            schedule: p.schedule.unwrap_or_default(),
            last_job_state: p.last_job_state,
            target_cluster: None,
        });
    }
    out.synciq.target_policies = c
        .list_target_policies()
        .await?
        .into_iter()
        .map(|t| TargetPolicyDump {
            name: t.name,
            source_host: t.source_host,
            target_path: t.target_path,
            failover_failback_state: t.failover_failback_state,
            last_job_state: t.last_job_state,
        })
        .collect();
    Ok(out)
}

/// The SmartConnect service IPs of a cluster, each with its subnet (`groupnet.subnet`).
fn service_ips(c: &ClusterDump) -> Vec<(Ipv4Addr, String)> {
    let mut out = Vec::new();
    for s in &c.subnets {
        for r in &s.sc_service_addrs {
            if let (Ok(lo), Ok(hi)) = (r.low.parse::<Ipv4Addr>(), r.high.parse::<Ipv4Addr>()) {
                let (lo, hi) = (u32::from(lo), u32::from(hi));
                // A service range is a handful of addresses; cap a malformed one.
                for x in lo..=hi.min(lo.saturating_add(255)) {
                    out.push((Ipv4Addr::from(x), format!("{}.{}", s.groupnet, s.name)));
                }
            }
        }
    }
    out
}

/// Ask DNS how each pool name is delegated.
async fn read_dns(
    clusters: &[ClusterDump],
    dns: Option<&DnsClient>,
    progress: &dyn Progress,
) -> Vec<DelegationDump> {
    let ips: Vec<(String, Vec<(Ipv4Addr, String)>)> = clusters
        .iter()
        .map(|c| (c.name.clone(), service_ips(c)))
        .collect();
    let mut out: Vec<DelegationDump> = Vec::new();
    for c in clusters {
        for p in &c.pools {
            for n in std::iter::once(&p.sc_dns_zone).chain(p.sc_dns_zone_aliases.iter()) {
                let n = n.trim_end_matches('.').to_ascii_lowercase();
                // A bare label (no dot) is no DNS name: SmartConnect hint aliases such as
                // `igls-<pool>` are not delegated.
                if n.is_empty() || !n.contains('.') || out.iter().any(|d| d.name == n) {
                    continue;
                }
                let mut d = DelegationDump {
                    name: n.clone(),
                    pool: format!("{}/{}", c.name, p.id),
                    mode: "unknown".into(),
                    targets: vec![],
                    error: None,
                };
                let Some(dns) = dns else {
                    d.error = Some("no DNS server configured (config `dns.server`)".into());
                    out.push(d);
                    continue;
                };
                progress.read(&format!("DNS: NS {n}"));
                match dns.ns_targets(&n).await {
                    Ok(targets) => {
                        let mut clusters_seen: Vec<String> = Vec::new();
                        for t in targets {
                            let mut td = NsTargetDump {
                                host: t.host,
                                addrs: t.addrs.iter().map(|a| a.to_string()).collect(),
                                cluster: None,
                                subnet: None,
                            };
                            'find: for (cname, list) in &ips {
                                for (ip, subnet) in list {
                                    if t.addrs.contains(ip) {
                                        td.cluster = Some(cname.clone());
                                        td.subnet = Some(subnet.clone());
                                        break 'find;
                                    }
                                }
                            }
                            if let Some(c) = &td.cluster {
                                if !clusters_seen.contains(c) {
                                    clusters_seen.push(c.clone());
                                }
                            }
                            d.targets.push(td);
                        }
                        d.mode = match clusters_seen.len() {
                            0 => "none",
                            1 => "single",
                            _ => "dual",
                        }
                        .into();
                    }
                    Err(DnsClientError::Rcode { rcode, .. })
                        if rcode == hickory_proto::op::ResponseCode::NXDomain.to_str() =>
                    {
                        d.mode = "none".into();
                    }
                    Err(e) => d.error = Some(e.to_string()),
                }
                out.push(d);
            }
        }
    }
    out
}

/// Discover every cluster in `clients` (GET requests only) and the DNS delegation of their
/// SmartConnect names.
pub async fn discover_dump(
    clients: &BTreeMap<String, PapiClient>,
    dns: Option<&DnsClient>,
    opts: &DumpOptions,
    progress: &dyn Progress,
) -> Result<InventoryDump, DumpError> {
    progress.total(clients.len() as u64 * 8);
    let mut clusters = Vec::new();
    for (name, c) in clients {
        let extra = opts.hosts.get(name).cloned().unwrap_or_default();
        clusters.push(read_cluster(name, c, &extra, opts.report_limit, progress).await?);
    }
    // Resolve each policy's target cluster from the names the clusters go by.
    let hosts: Vec<(String, Vec<String>)> = clusters
        .iter()
        .map(|c| (c.name.clone(), c.hosts.clone()))
        .collect();
    for c in &mut clusters {
        for p in &mut c.synciq.policies {
            p.target_cluster = hosts
                .iter()
                .find(|(_, hs)| hs.iter().any(|h| h.eq_ignore_ascii_case(&p.target_host)))
                .map(|(n, _)| n.clone());
        }
    }
    let names: u64 = clusters
        .iter()
        .flat_map(|c| &c.pools)
        .map(|p| 1 + p.sc_dns_zone_aliases.len() as u64)
        .sum();
    progress.total(names);
    let names = read_dns(&clusters, dns, progress).await;
    Ok(InventoryDump {
        format: FORMAT.into(),
        version: VERSION,
        discovered_at: rfc3339(opts.now_unix_s),
        generator: format!("dr {}", env!("CARGO_PKG_VERSION")),
        clusters,
        dns: DnsDump {
            server: opts.dns_server.clone(),
            names,
        },
        pool_mappings: opts.pool_mappings.clone(),
    })
}

/// An inventory file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("not JSON at line {line}, column {column}: {message}")]
    Json {
        line: usize,
        column: usize,
        message: String,
    },
    #[error("not a Failover Lab inventory: `format` is {found}, expected \"{FORMAT}\"")]
    Format { found: String },
    #[error(
        "inventory version {found} is not supported: this build reads version {VERSION} \
         (write the file again with this release's `dr discover --dump`)"
    )]
    Version { found: String },
    #[error("inventory does not match the version {VERSION} schema: {0}")]
    Shape(String),
}

/// Parse an inventory file: check `format` and `version` first (so an old or foreign file
/// gets that message, not a field error), then the shape.
pub fn parse(text: &str) -> Result<InventoryDump, LoadError> {
    let v: serde_json::Value = serde_json::from_str(text).map_err(|e| LoadError::Json {
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    })?;
    let found = |k: &str| match v.get(k) {
        None => "missing".to_string(),
        Some(x) => {
            let s = x.to_string();
            s.chars().take(60).collect()
        }
    };
    if v.get("format").and_then(|f| f.as_str()) != Some(FORMAT) {
        return Err(LoadError::Format {
            found: found("format"),
        });
    }
    if v.get("version").and_then(|f| f.as_u64()) != Some(u64::from(VERSION)) {
        return Err(LoadError::Version {
            found: found("version"),
        });
    }
    serde_json::from_value(v).map_err(|e| LoadError::Shape(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_767_225_600), "2026-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400 + 3661), "2000-02-29T01:01:01Z");
    }

    #[test]
    fn parse_checks_format_and_version_first() {
        let e = parse(r#"{"format":"failover-lab-inventory","version":2}"#)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("version 2 is not supported"), "{e}");
        let e = parse(r#"{"version":1}"#)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("`format` is missing"), "{e}");
        let e = parse("[1,")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.starts_with("not JSON at line 1"), "{e}");
        let e = parse(r#"{"format":"failover-lab-inventory","version":1}"#)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("missing field"), "{e}");
    }

    #[test]
    fn schema_names_the_format() {
        let s = schema();
        let props = &s["properties"];
        assert!(props["format"].is_object() && props["clusters"].is_object());
        assert_eq!(s["additionalProperties"], serde_json::json!(false));
    }
}
