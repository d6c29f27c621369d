//! The PAPI objects the orchestrator reads, with only the fields it uses.
//!
//! Unknown fields are ignored and optional ones default, so the orchestrator keeps working
//! against OneFS releases that add fields.

use serde::{Deserialize, Serialize};

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
}

/// SyncIQ job actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobAction {
    Run,
    AllowWrite,
    AllowWriteRevert,
    ResyncPrep,
}

impl JobAction {
    /// The PAPI spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            JobAction::Run => "run",
            JobAction::AllowWrite => "allow_write",
            JobAction::AllowWriteRevert => "allow_write_revert",
            JobAction::ResyncPrep => "resync_prep",
        }
    }
}
