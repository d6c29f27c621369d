//! Input types: the `world:` section of a scenario file.
//!
//! These are plain serde/JSON-Schema types with no behaviour beyond defaults. Every struct
//! denies unknown fields so a typo in a scenario is an error with a position, not a silently
//! ignored key. Keys owned by `sim-ad-dns` (`ad`, `dns`, `dfs`) use its spec types.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The simulated world: clusters, SyncIQ policies between them, the link and the cost model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WorldSpec {
    pub clusters: Vec<ClusterSpec>,
    #[serde(default)]
    pub policies: Vec<PolicySpec>,
    #[serde(default)]
    pub link: LinkSpec,
    #[serde(default)]
    pub costs: CostSpec,
    /// The AD domain the clusters are joined to (`sim-ad-dns` type).
    #[serde(default)]
    pub ad: Option<sim_ad_dns::spec::AdSpec>,
    /// SmartConnect delegation mode (`sim-ad-dns` type).
    #[serde(default)]
    pub dns: Option<sim_ad_dns::spec::DnsSpec>,
    #[serde(default)]
    pub pool_mappings: Vec<PoolMappingSpec>,
    /// DFS namespaces (`sim-ad-dns` type).
    #[serde(default)]
    pub dfs: Vec<sim_ad_dns::spec::DfsSpec>,
    /// Unix time (seconds) that the world's virtual time 0 maps to: PAPI times and the HTTP
    /// `Date` header count from it. Default 1767225600 (2026-01-01T00:00:00Z); `drill serve`
    /// anchors at the wall clock instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_epoch_s: Option<i64>,
}

/// Source pool → target pool mapping (IP Pool / Access Zone networking). `policies` are the
/// policies assigned to the pool: in IP Pool mode the ones failing over with it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PoolMappingSpec {
    /// `cluster/pool-id`
    pub source: String,
    /// `cluster/pool-id`
    pub target: String,
    #[serde(default)]
    pub policies: Vec<String>,
}

fn default_release() -> String {
    "9.10.0.0".to_string()
}
fn default_max_jobs() -> u32 {
    50
}
fn default_true() -> bool {
    true
}
fn default_system() -> String {
    "System".to_string()
}
fn default_quota_type() -> String {
    "directory".to_string()
}
fn default_bandwidth() -> u64 {
    125_000_000
}
fn default_latency() -> u64 {
    1
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ClusterSpec {
    pub name: String,
    #[serde(default = "default_release")]
    pub release: String,
    #[serde(default = "default_max_jobs")]
    pub max_concurrent_jobs: u32,
    #[serde(default)]
    pub users: Vec<UserSpec>,
    #[serde(default)]
    pub zones: Vec<ZoneSpec>,
    #[serde(default)]
    pub pools: Vec<PoolSpec>,
    #[serde(default)]
    pub smb_shares: Vec<SmbShareSpec>,
    #[serde(default)]
    pub nfs_exports: Vec<NfsExportSpec>,
    /// NFS aliases (`protocols/nfs/aliases`): a short name clients mount for a path.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nfs_aliases: Vec<NfsAliasSpec>,
    #[serde(default)]
    pub quotas: Vec<QuotaSpec>,
    /// Snapshot schedules (`snapshot/schedules`).
    #[serde(default)]
    pub snapshot_schedules: Vec<SnapshotScheduleSpec>,
    /// Deduplicated directories (`dedupe/settings` `paths`).
    #[serde(default)]
    pub dedupe_paths: Vec<String>,
    #[serde(default)]
    pub files: Vec<FilesSpec>,
    /// SMB files held open by clients when the world starts (`GET protocols/smb/openfiles`).
    #[serde(default)]
    pub open_files: Vec<OpenFileSpec>,
    #[serde(default = "default_true")]
    pub synciq_service: bool,
}

/// An SMB file a client holds open at the start.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenFileSpec {
    pub path: String,
    #[serde(default = "default_open_file_user")]
    pub user: String,
}

fn default_open_file_user() -> String {
    "CORP\\user".into()
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UserSpec {
    pub name: String,
    pub password: String,
    pub role: Role,
}

/// PAPI role of a user. `read-only` may only GET; `synciq-operator` may only use `sync/*`.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    Admin,
    ReadOnly,
    SynciqOperator,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ZoneSpec {
    pub name: String,
    pub base_path: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PoolSpec {
    pub id: String,
    pub zone: String,
    pub sc_dns_zone: String,
    #[serde(default)]
    pub aliases: Vec<String>,
    pub ssip: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SmbShareSpec {
    pub name: String,
    pub path: String,
    #[serde(default = "default_system")]
    pub zone: String,
    /// The share's ACL, in order. Absent: OneFS's default for a new share (Everyone may
    /// read); `[]`: no entry at all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions: Option<Vec<SharePermissionSpec>>,
}

/// One entry of an SMB share's ACL (PAPI `permissions[]`, the trustee flattened).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SharePermissionSpec {
    pub permission: SharePermission,
    #[serde(default)]
    pub permission_type: SharePermissionType,
    /// `SID:S-1-…`, `UID:…`, `GID:…`.
    pub trustee_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trustee_name: Option<String>,
    /// `user`, `group`, `wellknown` (default: `wellknown` for the Everyone SID, else `user`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trustee_type: Option<String>,
}

/// What a share ACL entry grants.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum SharePermission {
    Full,
    Change,
    Read,
}

/// Whether a share ACL entry allows or denies.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum SharePermissionType {
    #[default]
    Allow,
    Deny,
}

/// An NFS alias of an access zone.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NfsAliasSpec {
    /// The alias, starting with `/` (e.g. `/ledger`).
    pub name: String,
    pub path: String,
    #[serde(default = "default_system")]
    pub zone: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NfsExportSpec {
    pub paths: Vec<String>,
    #[serde(default = "default_system")]
    pub zone: String,
    #[serde(default)]
    pub clients: Vec<String>,
    #[serde(default)]
    pub read_only: bool,
}

/// A snapshot schedule of a cluster.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SnapshotScheduleSpec {
    pub name: String,
    pub path: String,
    /// OneFS schedule text, e.g. `every 1 days at 01:00`.
    pub schedule: String,
    /// Snapshot name pattern (default `<name>_%Y-%m-%d_%H-%M`).
    #[serde(default)]
    pub pattern: Option<String>,
    /// Retention in seconds.
    #[serde(default)]
    pub duration: Option<u64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QuotaSpec {
    pub path: String,
    #[serde(rename = "type", default = "default_quota_type")]
    pub quota_type: String,
    #[serde(default)]
    pub hard_bytes: Option<u64>,
    #[serde(default)]
    pub soft_bytes: Option<u64>,
    #[serde(default)]
    pub advisory_bytes: Option<u64>,
    /// False: the quota's accounting waits on a QuotaScan job (PAPI `ready: false`, usage
    /// `*_ready: false`), as after a quota is created on a directory with data in it.
    #[serde(default = "default_true")]
    pub ready: bool,
}

/// `count` files `root/f000000`, `root/f000001`, … of `size_bytes` each.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FilesSpec {
    pub root: String,
    pub count: u64,
    pub size_bytes: u64,
    /// 0..=1: fraction of these files changed on the source since the last sync.
    #[serde(default)]
    pub unsynced_fraction: f64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicySpec {
    pub name: String,
    /// Source cluster name.
    pub source: String,
    /// Target cluster name.
    pub target: String,
    pub source_path: String,
    pub target_path: String,
    #[serde(default)]
    pub schedule: String,
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// Overrides the policy's initial `last_job_state` (default `finished`).
    #[serde(default)]
    pub last_job_state: Option<String>,
    /// Incremental syncs that ran before the world's start, oldest first. Their reports are
    /// the policy's history (what the scheduler and `dr plan --estimate` learn job times
    /// from); the newest ends at the start, one [`PAST_SYNC_INTERVAL_MS`] apart, and the
    /// initial full sync comes before them. Empty (the default): the initial full sync is
    /// the only report and ends at the start.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub past_syncs: Vec<PastSyncSpec>,
}

/// Spacing of a policy's [`PolicySpec::past_syncs`].
pub const PAST_SYNC_INTERVAL_MS: i64 = 3_600_000;

/// One incremental sync in a policy's history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PastSyncSpec {
    /// Bytes it transferred.
    pub bytes: u64,
    /// How long it ran; default: the cost model's job start latency plus the bytes at the
    /// link's bandwidth.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkSpec {
    #[serde(default = "default_bandwidth")]
    pub bandwidth_bytes_per_s: u64,
    #[serde(default = "default_latency")]
    pub latency_ms: u64,
}

impl Default for LinkSpec {
    fn default() -> Self {
        LinkSpec {
            bandwidth_bytes_per_s: default_bandwidth(),
            latency_ms: default_latency(),
        }
    }
}

fn d5000() -> u64 {
    5000
}
fn d10000() -> u64 {
    10_000
}
fn d20000() -> u64 {
    20_000
}

/// Cost model: how long SyncIQ operations take in virtual time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CostSpec {
    #[serde(default = "d5000")]
    pub job_start_latency_ms: u64,
    #[serde(default = "d10000")]
    pub allow_write_ms: u64,
    #[serde(default = "d10000")]
    pub allow_write_revert_ms: u64,
    #[serde(default = "d20000")]
    pub resync_prep_ms: u64,
    /// If > 0, every PAPI request sleeps this long (virtual time) before it is handled.
    #[serde(default)]
    pub papi_latency_ms: u64,
}

impl Default for CostSpec {
    fn default() -> Self {
        CostSpec {
            job_start_latency_ms: d5000(),
            allow_write_ms: d10000(),
            allow_write_revert_ms: d10000(),
            resync_prep_ms: d20000(),
            papi_latency_ms: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `world:` sections of the normative examples (shared/examples/*.yaml), verbatim.
    const AZ_WORLD: &str = r#"
  link:
    bandwidth_bytes_per_s: 125000000   # 1 Gbit/s between the clusters
    latency_ms: 20
  clusters:
    - name: prod
      release: 9.10.0.0
      max_concurrent_jobs: 50
      users:
        - {name: admin, password: "Prod-Adm1n!", role: admin}
        - {name: auditor, password: "Prod-Aud1t!", role: read-only}
      zones:
        - {name: finance, base_path: /ifs/finance}
      pools:
        - id: groupnet0.subnet0.finance
          zone: finance
          sc_dns_zone: finance.corp.example
          aliases: [fin.corp.example]
          ssip: 10.1.0.10
      smb_shares:
        - {name: ledger, path: /ifs/finance/ledger, zone: finance}
      nfs_exports:
        - {paths: [/ifs/finance/batch], zone: finance, clients: [10.9.0.0/16]}
      quotas:
        - {path: /ifs/finance/ledger, type: directory, hard_bytes: 1099511627776}
      files:
        - {root: /ifs/finance/ledger, count: 2000, size_bytes: 1048576}
        - {root: /ifs/finance/batch, count: 500, size_bytes: 10485760}
    - name: dr
      release: 9.10.0.0
      max_concurrent_jobs: 50
      zones:
        - {name: finance, base_path: /ifs/finance}
      pools:
        - id: groupnet0.subnet0.finance-dr
          zone: finance
          sc_dns_zone: finance-dr.corp.example
          ssip: 10.2.0.10
  policies:
    - {name: finance-ledger, source: prod, target: dr, source_path: /ifs/finance/ledger, target_path: /ifs/finance/ledger, schedule: every 1 hours}
    - {name: finance-batch, source: prod, target: dr, source_path: /ifs/finance/batch, target_path: /ifs/finance/batch, schedule: every 1 hours}
  ad:
    domain: corp.example
  dns:
    delegation: dual          # dual | single
  pool_mappings:
    - {source: prod/groupnet0.subnet0.finance, target: dr/groupnet0.subnet0.finance-dr}
"#;

    #[test]
    fn example_worlds_parse_and_build() {
        let w: WorldSpec = yaml_serde::from_str(AZ_WORLD).unwrap();
        assert_eq!(w.clusters[0].quotas[0].quota_type, "directory");
        assert_eq!(w.clusters[1].users.len(), 0);
        assert_eq!(w.costs, CostSpec::default());
        let sim = crate::Sim::new(&w, 7).unwrap();
        assert_eq!(sim.tree("dr", "/ifs/finance/batch").len(), 500);
        assert!(!sim.is_writable("dr", "/ifs/finance/ledger/f000000"));
        assert!(sim.is_writable("prod", "/ifs/finance/ledger/f000000"));
        // Also the files themselves when the shared folder is next to the workspace.
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/examples");
        if let Ok(rd) = std::fs::read_dir(dir) {
            for f in rd.flatten() {
                let doc: serde_json::Value =
                    yaml_serde::from_str(&std::fs::read_to_string(f.path()).unwrap()).unwrap();
                let w: WorldSpec = serde_json::from_value(doc["world"].clone())
                    .unwrap_or_else(|e| panic!("{}: {e}", f.path().display()));
                crate::Sim::new(&w, 1).unwrap();
                let faults: Vec<crate::FaultRule> =
                    serde_json::from_value(doc["faults"].clone()).unwrap();
                assert!(!faults.is_empty());
            }
        }
    }

    #[test]
    fn invalid_specs_are_explained() {
        let bad = |y: &str| {
            let w: WorldSpec = yaml_serde::from_str(y).unwrap();
            crate::Sim::new(&w, 1).err().unwrap().to_string()
        };
        let base = "clusters: [{name: a}, {name: b}]\n";
        assert!(bad(&format!("{base}policies: [{{name: p, source: a, target: c, source_path: /ifs/x, target_path: /ifs/x}}]")).contains("target cluster `c`"));
        assert!(bad(&format!("{base}policies: [{{name: p, source: a, target: b, source_path: /data/x, target_path: /ifs/x}}]")).contains("source_path"));
        assert!(bad("clusters: [{name: a}, {name: a}]").contains("duplicate cluster"));
        assert!(yaml_serde::from_str::<WorldSpec>("clusters: [{name: a, colour: red}]").is_err());
    }
}
