//! Config replication: the orchestrator's own jobs, one per SyncIQ policy, that copy the
//! configuration under the policy's path — SMB shares (with permissions), NFS exports, NFS
//! aliases, quotas, snapshot schedules and dedupe paths — from the policy's source cluster
//! to its target (create, update and delete to match; in DFS mode a share `X` lands as
//! `igls-dfs-X`).
//!
//! * [`store`] — the jobs (`enabled | user_disabled | policy_disabled`), their run history
//!   and the cache of the last source configuration each read, in SQLite (the journal's
//!   database file for `dr`; a named in-memory database for `drill`). Its tables are a
//!   published format.
//! * [`model`] — the object definitions and how they are read from a cluster.
//! * [`diff`] — what must change on the target (pure).
//! * [`reads`] — one read of each cluster's configuration shared by the jobs of a failover
//!   or a pass (PAPI lists a zone whole; a read per job made a big zone cost N²).
//! * [`job`] — one job run: read (or take the cache), diff, apply, read back, record.
//! * [`sync_all`] — `dr config-sync` and `POST /api/v1/config-sync`: every enabled job once.
//!
//! A failover drives the same jobs: step 3b sets them `user_disabled`, step 5
//! (`sync_config`) runs each run policy's job (without quotas, which steps 12/13 own), 13b
//! enables a policy's job again after its resync-prep, and the rollbacks re-enable them.

pub mod diff;
pub mod job;
pub mod model;
pub mod reads;
pub mod store;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use job::{JobError, JobOutcome, JobSpec, Source};
pub use model::{ConfigSet, Kinds};
pub use reads::ConfigReads;
pub use store::{Job, JobState, Store, StoreError};

use crate::inventory::Inventory;
use crate::papi::PapiClient;

/// Now, in Unix epoch milliseconds, on the tokio clock: under a paused clock (`drill`)
/// the times a run stores, and the cache ages it reports, are virtual and deterministic;
/// in real use they are wall-clock times.
pub fn now_ms() -> i64 {
    use std::sync::OnceLock;
    static ANCHOR: OnceLock<(i64, std::time::Instant)> = OnceLock::new();
    let (unix_ms, at) = *ANCHOR.get_or_init(|| {
        let unix = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        (unix, tokio::time::Instant::now().into_std())
    });
    let now = tokio::time::Instant::now().into_std();
    let delta = now.saturating_duration_since(at).as_millis() as i64
        - at.saturating_duration_since(now).as_millis() as i64;
    unix_ms + delta
}

/// What `dr config-sync` runs.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SyncRequest {
    /// Only these policies (default: every policy of the configured clusters).
    #[serde(default)]
    pub policies: Vec<String>,
    /// Policies in DFS mode: their shares land on the target as `<dfs_prefix>X`.
    #[serde(default)]
    pub dfs_policies: Vec<String>,
    /// The DFS share prefix (default `igls-dfs-`).
    #[serde(default)]
    pub dfs_prefix: Option<String>,
}

/// What one job did in a `config-sync`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SyncResult {
    pub source: String,
    pub policy: String,
    pub target: String,
    /// The job's state after the pass.
    pub state: JobState,
    /// `succeeded`, `failed` or `skipped`.
    pub result: String,
    pub detail: String,
    /// Changes by object type.
    #[schema(value_type = Object)]
    pub counts: BTreeMap<String, diff::Counts>,
}

/// The outcome of one `config-sync` pass.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SyncSummary {
    pub jobs: Vec<SyncResult>,
}

impl SyncSummary {
    /// Whether every job that ran succeeded.
    pub fn ok(&self) -> bool {
        self.jobs.iter().all(|j| j.result != "failed")
    }
}

/// A `config-sync` pass could not start.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("discovery failed: {0}")]
    Discover(#[from] crate::papi::PapiError),
    #[error("no such policy: {0}")]
    UnknownPolicy(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// One `config-sync` pass: discover the clusters, bring every job's state in line with its
/// SyncIQ policy (a disabled policy's job is `policy_disabled`; an enabled policy's job
/// that was `policy_disabled` is `enabled` again; `user_disabled` stays until an admin or a
/// failover's 13b enables it), and run every enabled job once.
pub async fn sync_all(
    store: &Store,
    clients: &BTreeMap<String, PapiClient>,
    req: &SyncRequest,
) -> Result<SyncSummary, SyncError> {
    let inv = crate::inventory::discover(clients, &BTreeMap::new()).await?;
    sync_with(store, clients, &inv, req).await
}

/// [`sync_all`] with an inventory already discovered.
pub async fn sync_with(
    store: &Store,
    clients: &BTreeMap<String, PapiClient>,
    inv: &Inventory,
    req: &SyncRequest,
) -> Result<SyncSummary, SyncError> {
    for p in &req.policies {
        if !inv.policies.contains_key(p) {
            return Err(SyncError::UnknownPolicy(p.clone()));
        }
    }
    let prefix = req.dfs_prefix.clone().unwrap_or_else(|| "igls-dfs-".into());
    let mut out = SyncSummary::default();
    // One read of each cluster for the pass (the jobs take their trees from it).
    let reads = ConfigReads::default();
    for p in inv.policies.values() {
        if !req.policies.is_empty() && !req.policies.contains(&p.name) {
            continue;
        }
        let target = p.target.clone().unwrap_or_default();
        let mut job = store.ensure(&p.source, &p.name, &target)?;
        let mut result = |state: JobState, result: &str, detail: String, counts| {
            out.jobs.push(SyncResult {
                source: p.source.clone(),
                policy: p.name.clone(),
                target: target.clone(),
                state,
                result: result.into(),
                detail,
                counts,
            })
        };
        if !p.enabled {
            if job.state == JobState::Enabled {
                store.set_state(
                    &p.source,
                    &p.name,
                    &target,
                    JobState::PolicyDisabled,
                    "its SyncIQ policy is disabled",
                )?;
                job.state = JobState::PolicyDisabled;
            }
            result(
                job.state,
                "skipped",
                "the SyncIQ policy is disabled".into(),
                BTreeMap::new(),
            );
            continue;
        }
        if job.state == JobState::PolicyDisabled {
            store.set_state(
                &p.source,
                &p.name,
                &target,
                JobState::Enabled,
                "its SyncIQ policy is enabled again",
            )?;
            job.state = JobState::Enabled;
        }
        if job.state == JobState::UserDisabled {
            result(
                job.state,
                "skipped",
                format!(
                    "user_disabled ({})",
                    job.reason.as_deref().unwrap_or("by an admin")
                ),
                BTreeMap::new(),
            );
            continue;
        }
        let (Some(src), Some(tgt)) = (clients.get(&p.source), clients.get(&target)) else {
            result(
                job.state,
                "failed",
                format!(
                    "no connection configured for the policy's target {:?}",
                    p.target.as_deref().unwrap_or("(unresolved target_host)")
                ),
                BTreeMap::new(),
            );
            continue;
        };
        let zones: Vec<String> = inv
            .zones
            .get(&p.source)
            .into_iter()
            .flatten()
            .map(|z| z.name.clone())
            .collect();
        let target_zones: Vec<String> = inv
            .zones
            .get(&target)
            .into_iter()
            .flatten()
            .map(|z| z.name.clone())
            .collect();
        let spec = JobSpec {
            policy: p.name.clone(),
            source: p.source.clone(),
            target: target.clone(),
            source_path: p.source_path.clone(),
            target_path: p.target_path.clone(),
            zones,
            target_zones,
            dfs_prefix: req.dfs_policies.contains(&p.name).then(|| prefix.clone()),
            inactive_prefix: Some(prefix.clone()),
            kinds: Kinds::ALL,
            saved_permissions: Default::default(),
            trigger: "config-sync".into(),
        };
        match job::run(store, Source::Live(src), tgt, &spec, &reads, &|_| Ok(())).await {
            Ok(o) => result(job.state, "succeeded", o.summary(), o.counts),
            Err(e) => {
                job::record_failure(store, &spec, "failed", &e);
                result(job.state, "failed", e.to_string(), BTreeMap::new())
            }
        }
    }
    Ok(out)
}
