//! The PAPI objects the orchestrator reads, with only the fields it uses.
//!
//! Unknown fields are ignored and optional ones default, so the orchestrator keeps working
//! against OneFS releases that add fields.

use serde::{Deserialize, Serialize};
use strum::{AsRefStr, Display, EnumString, IntoStaticStr};

/// `{"settings": {...}}`.
#[derive(Debug, Clone, Deserialize)]
pub struct SettingsEnvelope<T> {
    pub settings: T,
}

/// `GET /cluster/config`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct ClusterConfig {
    #[serde(default)]
    pub guid: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub onefs_version: OnefsVersion,
}

/// Release information in the cluster config.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
pub struct OnefsVersion {
    #[serde(default)]
    pub release: String,
}

/// `GET /sync/settings`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct SyncSettings {
    #[serde(default)]
    pub service: String,
    #[serde(default)]
    pub max_concurrent_jobs: Option<u32>,
}

/// A SyncIQ policy on its source cluster.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct SyncPolicy {
    pub id: String,
    pub name: String,
    #[serde(default = "yes")]
    pub enabled: bool,
    #[serde(default)]
    pub source_root_path: String,
    #[serde(default)]
    pub target_host: String,
    #[serde(default)]
    pub target_path: String,
    #[serde(default)]
    pub schedule: String,
    #[serde(default)]
    pub last_job_state: Option<String>,
}

fn yes() -> bool {
    true
}

/// A SyncIQ target policy on the target cluster.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct SyncTargetPolicy {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub source_host: String,
    /// GUID of the cluster replicating into this target policy.
    #[serde(default)]
    pub source_cluster_guid: String,
    #[serde(default)]
    pub target_path: String,
    #[serde(default)]
    pub failover_failback_state: String,
    #[serde(default)]
    pub last_job_state: Option<String>,
}

/// A running or queued SyncIQ job.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct SyncJob {
    pub id: String,
    #[serde(default)]
    pub policy_name: Option<String>,
    #[serde(default)]
    pub action: Option<String>,
    pub state: String,
    /// Bytes sent so far (a `run` job's progress; see `steps::job_poll`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes_transferred: Option<u64>,
    /// Bytes the job has to send in all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_data_bytes: Option<u64>,
}

/// A finished job's report.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct SyncReport {
    pub id: String,
    #[serde(default)]
    pub policy_name: Option<String>,
    #[serde(default)]
    pub action: Option<String>,
    pub state: String,
    #[serde(default)]
    pub start_time: Option<i64>,
    #[serde(default)]
    pub end_time: Option<i64>,
    #[serde(default)]
    pub duration: Option<i64>,
    #[serde(default)]
    pub errors: Vec<String>,
    #[serde(default)]
    pub bytes_transferred: Option<u64>,
    /// `initial` (the first, full sync), `incremental`, …
    #[serde(default)]
    pub sync_type: Option<String>,
}

/// SyncIQ job actions; `as_ref()` / `to_string()` give the PAPI spelling (`allow_write`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Display, AsRefStr, IntoStaticStr, EnumString)]
#[strum(serialize_all = "snake_case")]
pub enum JobAction {
    Run,
    AllowWrite,
    AllowWriteRevert,
    ResyncPrep,
}

/// An access zone.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct AccessZone {
    pub name: String,
    /// Base path.
    #[serde(default)]
    pub path: String,
}

/// A `{low, high}` address range.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct IpRange {
    pub low: String,
    pub high: String,
}

/// A network pool (flat `/network/pools` listing).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct NetworkPool {
    /// `groupnet0.subnet0.pool0`.
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub groupnet: String,
    #[serde(default)]
    pub subnet: String,
    #[serde(default)]
    pub access_zone: String,
    #[serde(default)]
    pub sc_dns_zone: String,
    #[serde(default)]
    pub sc_dns_zone_aliases: Vec<String>,
    #[serde(default)]
    pub ranges: Vec<IpRange>,
}

/// A subnet (for its SmartConnect service addresses).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct Subnet {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub sc_service_addrs: Vec<IpRange>,
}

/// The trustee of an SMB permission entry.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct Trustee {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default, rename = "type")]
    pub trustee_type: Option<String>,
}

/// One SMB share permission entry.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct SmbPermission {
    pub permission: String,
    pub permission_type: String,
    pub trustee: Trustee,
}

impl SmbPermission {
    /// The Deny-Everyone entry of the data-integrity lock (trustee SID S-1-1-0).
    pub fn deny_everyone() -> Self {
        SmbPermission {
            permission: "full".into(),
            permission_type: "deny".into(),
            trustee: Trustee {
                id: "SID:S-1-1-0".into(),
                name: Some("Everyone".into()),
                trustee_type: Some("wellknown".into()),
            },
        }
    }

    /// Whether this is a Deny-Everyone entry.
    pub fn is_deny_everyone(&self) -> bool {
        self.permission_type == "deny" && self.trustee.id == "SID:S-1-1-0"
    }
}

/// An SMB share.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct SmbShare {
    pub name: String,
    pub path: String,
    #[serde(default)]
    pub permissions: Vec<SmbPermission>,
    #[serde(default)]
    pub description: Option<String>,
}

/// An SMB open file.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct SmbOpenFile {
    #[serde(default)]
    pub id: serde_json::Value,
    pub file: String,
    #[serde(default)]
    pub user: Option<String>,
}

/// An NFS export.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct NfsExport {
    #[serde(default)]
    pub id: serde_json::Value,
    pub paths: Vec<String>,
    #[serde(default)]
    pub clients: Vec<String>,
    #[serde(default)]
    pub root_clients: Vec<String>,
    #[serde(default)]
    pub read_only: bool,
    #[serde(default)]
    pub zone: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
}

/// An NFS alias.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct NfsAlias {
    pub name: String,
    pub path: String,
    #[serde(default)]
    pub zone: Option<String>,
}

/// Quota thresholds (bytes).
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
pub struct QuotaThresholds {
    #[serde(default)]
    pub hard: Option<u64>,
    #[serde(default)]
    pub soft: Option<u64>,
    #[serde(default)]
    pub advisory: Option<u64>,
    /// Grace period of the soft threshold, seconds. PAPI requires it with a soft
    /// threshold, so a copy without it is refused: it is carried with the thresholds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub soft_grace: Option<u64>,
}

/// A quota.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct Quota {
    pub id: String,
    pub path: String,
    #[serde(rename = "type")]
    pub quota_type: String,
    #[serde(default)]
    pub enforced: Option<bool>,
    #[serde(default)]
    pub include_snapshots: Option<bool>,
    #[serde(default)]
    pub thresholds: QuotaThresholds,
    #[serde(default)]
    pub persona: Option<serde_json::Value>,
    /// False while the quota's accounting waits on a QuotaScan job (absent: ready).
    #[serde(default)]
    pub ready: Option<bool>,
}

/// An Active Directory provider of a cluster.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct AdsProvider {
    #[serde(default)]
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub machine_account: String,
    #[serde(default)]
    pub spns: Vec<String>,
    /// With `?check_duplicates=true`: SPNs of this account that another account also holds.
    #[serde(default)]
    pub dup_spns: Vec<String>,
}

impl AdsProvider {
    /// The id PAPI addresses the provider by (`id`, or its name where a release has none).
    pub fn key(&self) -> &str {
        if self.id.is_empty() {
            &self.name
        } else {
            &self.id
        }
    }
}

/// SMB or NFS global settings (`service` on/off).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct ProtocolSettings {
    #[serde(default)]
    pub service: bool,
}

/// A snapshot schedule (`snapshot/schedules`).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct SnapshotSchedule {
    #[serde(default)]
    pub id: serde_json::Value,
    pub name: String,
    pub path: String,
    /// When snapshots are taken, e.g. `every 1 days at 10:00`.
    #[serde(default)]
    pub schedule: String,
    /// Snapshot name pattern, e.g. `hourly-%Y-%m-%d_%H-%M`.
    #[serde(default)]
    pub pattern: String,
    /// How long each snapshot is kept, in seconds.
    #[serde(default)]
    pub duration: Option<u64>,
    /// Alias name pointing at the newest snapshot.
    #[serde(default)]
    pub alias: Option<String>,
}

/// `dedupe/settings`: the directories deduplicated.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
pub struct DedupeSettings {
    #[serde(default)]
    pub paths: Vec<String>,
    #[serde(default)]
    pub assess_paths: Vec<String>,
}
