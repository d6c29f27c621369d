//! SyncIQ semantics: policies, target policies, jobs, reports and settings.
//!
//! Job model. A job's id is its policy's id (one job per policy). Work is measured in virtual
//! milliseconds (`work_ms`: start latency + changed bytes / bandwidth for runs, the cost-model
//! duration for allow-write / revert / resync-prep); `worked_ms` accumulates while running, so
//! pause/resume and "fail at progress p" are exact. A running job yields at most one pending
//! event (`next_event`): the start check (after the start latency: are both clusters and the
//! link up?), an injected failure point, or completion. Only `run`/`test` jobs take one of the
//! cluster's `max_concurrent_jobs` slots; the others start at once.
//!
//! Data model. A run copies the snapshot of the source tree taken when the job *starts*; on
//! success the target tree under `target_path` becomes exactly that snapshot and it is recorded
//! as the policy's `synced` baseline and the target policy's `last_good`. Failure leaves both
//! untouched, so "restore to last good" is always `last_good`.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{json, Value};

use crate::audit::{AuditEntry, ReqCtx};
use crate::clock::unix_s;
use crate::faults::RequestInfo;
use crate::model::{random_hex, replace_subtree, subtree, Snapshot, WorldState};
use crate::spec::PolicySpec;

/// Errors of SyncIQ operations; the API maps them to PAPI statuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SyncError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    BadRequest(String),
}

#[derive(Clone, Debug, Serialize)]
pub struct SyncSettings {
    /// `on` | `off` | `paused`
    pub service: String,
    pub max_concurrent_jobs: u32,
    /// Other PAPI settings, stored and echoed.
    pub extra: BTreeMap<String, Value>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Policy {
    pub id: String,
    pub name: String,
    pub enabled: bool,
    pub action: String,
    pub source_root_path: String,
    pub target_host: String,
    /// Cluster name `target_host` resolved to.
    pub target_cluster: String,
    pub target_path: String,
    pub schedule: String,
    pub description: String,
    pub last_job_state: String,
    pub last_started: Option<i64>,
    pub last_success: Option<i64>,
    pub conflicted: bool,
    /// Source files as copied by the last successful run (relative to `source_root_path`).
    pub synced: Snapshot,
}

#[derive(Clone, Debug, Serialize)]
pub struct TargetPolicy {
    pub id: String,
    pub name: String,
    pub source_cluster_guid: String,
    pub source_host: String,
    pub target_path: String,
    pub last_job_state: String,
    pub failover_failback_state: String,
    pub last_update_ms: u64,
    /// Target contents after the last successful sync (relative to `target_path`).
    pub last_good: Snapshot,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JobAction {
    Run,
    Test,
    ResyncPrep,
    AllowWrite,
    AllowWriteRevert,
}

impl JobAction {
    pub fn parse(s: &str) -> Option<JobAction> {
        Some(match s {
            "run" => JobAction::Run,
            "test" => JobAction::Test,
            "resync_prep" => JobAction::ResyncPrep,
            "allow_write" => JobAction::AllowWrite,
            "allow_write_revert" => JobAction::AllowWriteRevert,
            _ => return None,
        })
    }
    pub fn as_str(self) -> &'static str {
        match self {
            JobAction::Run => "run",
            JobAction::Test => "test",
            JobAction::ResyncPrep => "resync_prep",
            JobAction::AllowWrite => "allow_write",
            JobAction::AllowWriteRevert => "allow_write_revert",
        }
    }
    /// Whether the job takes a `max_concurrent_jobs` slot.
    fn uses_slot(self) -> bool {
        matches!(self, JobAction::Run | JobAction::Test)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    Scheduled,
    Running,
    Paused,
    Finished,
    Failed,
    Canceled,
}

impl JobState {
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Scheduled => "scheduled",
            JobState::Running => "running",
            JobState::Paused => "paused",
            JobState::Finished => "finished",
            JobState::Failed => "failed",
            JobState::Canceled => "canceled",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobEvent {
    StartCheck,
    Fail,
    Complete,
}

#[derive(Clone, Debug, Serialize)]
pub struct Job {
    pub id: String,
    pub job_id: u64,
    /// Creation order on the cluster (queue order).
    pub seq: u64,
    pub policy_name: String,
    pub action: JobAction,
    pub state: JobState,
    /// Clusters the job moves data between (equal for target-local jobs).
    pub source: String,
    pub target: String,
    pub source_root_path: String,
    pub target_path: String,
    pub created_ms: u64,
    pub started_ms: Option<u64>,
    pub work_ms: u64,
    pub worked_ms: u64,
    pub running_since: Option<u64>,
    pub start_checked: bool,
    pub fail_at_progress: Option<f64>,
    pub force_fail: Option<String>,
    pub snapshot: Snapshot,
    pub total_files: u64,
    pub total_bytes: u64,
    pub changed_files: u64,
    pub changed_bytes: u64,
    pub ctx: ReqCtx,
    /// State-machine jobs: the target policy state before the job (restored on failure);
    /// None = the job changes no state (e.g. allow_write on an already writable target).
    pub prev_tp_state: Option<String>,
    /// resync_prep: id of the mirror policy and whether it already existed.
    pub mirror_id: Option<String>,
    pub mirror_existing: bool,
}

impl Job {
    fn needs_link(&self) -> bool {
        self.source != self.target
    }

    /// The next event of a running job.
    pub fn next_event(&self, start_latency: u64) -> Option<(u64, JobEvent)> {
        let since = self.running_since?;
        let at = |w: u64| since + w.saturating_sub(self.worked_ms);
        let mut best = (at(self.work_ms), JobEvent::Complete);
        if let Some(p) = self.fail_at_progress {
            let w = (p.clamp(0.0, 1.0) * self.work_ms as f64) as u64;
            if at(w) <= best.0 {
                best = (at(w), JobEvent::Fail);
            }
        }
        if !self.start_checked && self.needs_link() {
            let w = start_latency.min(self.work_ms);
            if at(w) <= best.0 {
                best = (at(w), JobEvent::StartCheck);
            }
        }
        Some(best)
    }

    /// Fraction of the work done as of `now`.
    pub fn progress(&self, now: u64) -> f64 {
        if self.work_ms == 0 {
            return 0.0;
        }
        let w = self.worked_ms + self.running_since.map_or(0, |s| now.saturating_sub(s));
        (w as f64 / self.work_ms as f64).min(1.0)
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub id: String,
    pub job_id: u64,
    pub policy_id: String,
    pub policy_name: String,
    pub action: JobAction,
    pub state: JobState,
    pub start_ms: i64,
    pub end_ms: i64,
    pub source_root_path: String,
    pub target_path: String,
    pub target_host: String,
    pub total_files: u64,
    pub files_transferred: u64,
    pub total_data_bytes: u64,
    pub bytes_transferred: u64,
    pub errors: Vec<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct SyncIqState {
    pub settings: SyncSettings,
    /// Keyed by policy id.
    pub policies: BTreeMap<String, Policy>,
    /// Keyed by id (= the source policy's id).
    pub target_policies: BTreeMap<String, TargetPolicy>,
    /// Keyed by policy / target policy id.
    pub jobs: BTreeMap<String, Job>,
    pub reports: Vec<Report>,
    pub next_job_id: u64,
    pub next_seq: u64,
}

impl SyncIqState {
    pub fn new(service_on: bool, max_concurrent_jobs: u32) -> SyncIqState {
        let extra: BTreeMap<String, Value> = [
            ("bandwidth_reservation_reserve_absolute", Value::Null),
            ("bandwidth_reservation_reserve_percentage", json!(1)),
            ("cluster_certificate_id", json!("")),
            ("encryption_cipher_list", json!("")),
            ("encryption_required", json!(false)),
            ("force_interface", json!(false)),
            ("ocsp_address", json!("")),
            ("ocsp_issuer_certificate_id", json!("")),
            ("preferred_rpo_alert", json!(0)),
            ("renegotiation_period", json!(28800)),
            ("report_email", json!([])),
            ("report_max_age", json!(31_536_000)),
            ("report_max_count", json!(2000)),
            ("restrict_target_network", json!(false)),
            ("rpo_alerts", json!(true)),
            ("service_history_max_age", json!(31_536_000)),
            ("service_history_max_count", json!(2000)),
            ("source_network", Value::Null),
            ("tw_chkpt_interval", Value::Null),
            ("use_workers_per_node", json!(false)),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        SyncIqState {
            settings: SyncSettings {
                service: if service_on { "on" } else { "off" }.to_string(),
                max_concurrent_jobs,
                extra,
            },
            policies: BTreeMap::new(),
            target_policies: BTreeMap::new(),
            jobs: BTreeMap::new(),
            reports: Vec::new(),
            next_job_id: 1,
            next_seq: 1,
        }
    }

    /// Policy by id or name.
    pub fn policy_id(&self, key: &str) -> Option<String> {
        if self.policies.contains_key(key) {
            return Some(key.to_string());
        }
        self.policies
            .values()
            .find(|p| p.name == key)
            .map(|p| p.id.clone())
    }

    /// Target policy by id or name.
    pub fn target_policy_id(&self, key: &str) -> Option<String> {
        if self.target_policies.contains_key(key) {
            return Some(key.to_string());
        }
        self.target_policies
            .values()
            .find(|p| p.name == key)
            .map(|p| p.id.clone())
    }

    /// Job by id (policy id) or policy name.
    pub fn job_id(&self, key: &str) -> Option<String> {
        if self.jobs.contains_key(key) {
            return Some(key.to_string());
        }
        self.jobs
            .values()
            .find(|j| j.policy_name == key)
            .map(|j| j.id.clone())
    }
}

fn bytes_ms(bytes: u64, bw: u64) -> u64 {
    u64::try_from(u128::from(bytes) * 1000 / u128::from(bw.max(1))).unwrap_or(u64::MAX)
}

fn sum_bytes(s: &Snapshot) -> u64 {
    s.values().map(|e| e.size_bytes).sum()
}

impl WorldState {
    /// A policy from the spec, as if it had one successful sync ending at t=0.
    pub(crate) fn install_initial_policy(&mut self, p: &PolicySpec) {
        let id = random_hex(&mut self.rng, 32);
        let src = &self.clusters[&p.source];
        let snap = subtree(&src.files, &p.source_path);
        let src_guid = src.guid.clone();
        let bytes = sum_bytes(&snap);
        let dur = (self.costs.job_start_latency_ms
            + bytes_ms(bytes, self.link.bandwidth_bytes_per_s)) as i64;
        let state = p
            .last_job_state
            .clone()
            .unwrap_or_else(|| "finished".into());
        let tgt = self.clusters.get_mut(&p.target).expect("validated");
        replace_subtree(&mut tgt.files, &p.target_path, &snap);
        tgt.synciq.target_policies.insert(
            id.clone(),
            TargetPolicy {
                id: id.clone(),
                name: p.name.clone(),
                source_cluster_guid: src_guid,
                source_host: p.source.clone(),
                target_path: p.target_path.clone(),
                last_job_state: state.clone(),
                failover_failback_state: "writes_disabled".into(),
                last_update_ms: 0,
                last_good: snap.clone(),
            },
        );
        let src = self.clusters.get_mut(&p.source).expect("validated");
        let job_id = src.synciq.next_job_id;
        src.synciq.next_job_id += 1;
        src.synciq.reports.push(Report {
            id: format!("{job_id}-{}", p.name),
            job_id,
            policy_id: id.clone(),
            policy_name: p.name.clone(),
            action: JobAction::Run,
            state: JobState::Finished,
            start_ms: -dur,
            end_ms: 0,
            source_root_path: p.source_path.clone(),
            target_path: p.target_path.clone(),
            target_host: p.target.clone(),
            total_files: snap.len() as u64,
            files_transferred: snap.len() as u64,
            total_data_bytes: bytes,
            bytes_transferred: bytes,
            errors: vec![],
        });
        src.synciq.policies.insert(
            id.clone(),
            Policy {
                id,
                name: p.name.clone(),
                enabled: p.enabled,
                action: "sync".into(),
                source_root_path: p.source_path.clone(),
                target_host: p.target.clone(),
                target_cluster: p.target.clone(),
                target_path: p.target_path.clone(),
                schedule: p.schedule.clone(),
                description: String::new(),
                last_job_state: state,
                last_started: Some(unix_s(-dur)),
                last_success: Some(unix_s(-dur)),
                conflicted: false,
                synced: snap,
            },
        );
    }

    /// Resolve a `target_host` to a cluster name: a cluster name, or a SmartConnect zone
    /// name / alias of one of its pools.
    pub fn resolve_host(&self, host: &str) -> Option<String> {
        if self.clusters.contains_key(host) {
            return Some(host.to_string());
        }
        self.clusters
            .values()
            .find(|c| {
                let h = host.to_ascii_lowercase();
                c.cfg.pools.iter().any(|(k, p)| {
                    crate::config::ConfigState::pool_names(p).contains(&h)
                        || c.cfg.pool_ssips(k).iter().any(|s| s == host)
                })
            })
            .map(|c| c.name.clone())
    }

    /// `POST sync/jobs`: validate, create the job (running or scheduled) and return its id.
    pub fn create_job(
        &mut self,
        cluster: &str,
        key: &str,
        action: JobAction,
        ctx: &ReqCtx,
        now: u64,
    ) -> Result<String, SyncError> {
        let c = self
            .clusters
            .get(cluster)
            .ok_or_else(|| SyncError::NotFound(format!("unknown cluster {cluster}")))?;
        if c.synciq.settings.service == "off" {
            return Err(SyncError::Conflict(format!(
                "SyncIQ service is off on {cluster}; cannot start a {} job",
                action.as_str()
            )));
        }
        let mut job = match action {
            JobAction::Run | JobAction::Test | JobAction::ResyncPrep => {
                let id = c.synciq.policy_id(key).ok_or_else(|| {
                    SyncError::NotFound(format!("Policy {key} not found on {cluster}"))
                })?;
                let p = &c.synciq.policies[&id];
                if c.synciq.jobs.contains_key(&id) {
                    return Err(SyncError::Conflict(format!(
                        "a job for policy {} is already in progress",
                        p.name
                    )));
                }
                let tp_state = self
                    .clusters
                    .get(&p.target_cluster)
                    .filter(|t| t.up)
                    .and_then(|t| t.synciq.target_policies.get(&id))
                    .map(|tp| tp.failover_failback_state.clone());
                if action == JobAction::ResyncPrep {
                    if let Some(s) = &tp_state {
                        if s != "writes_enabled" {
                            return Err(SyncError::Conflict(format!(
                                "resync_prep of policy {} requires its target policy on {} to be writes_enabled (it is {s}); run allow_write on the target first",
                                p.name, p.target_cluster
                            )));
                        }
                    }
                } else {
                    if !p.enabled {
                        return Err(SyncError::Conflict(format!(
                            "policy {} is disabled; enable it before running",
                            p.name
                        )));
                    }
                    if let Some(s) =
                        tp_state.filter(|s| s == "writes_enabled" || s == "enabling_writes")
                    {
                        return Err(SyncError::Conflict(format!(
                            "policy {}: the target directory {} on {} is writable (target policy state {s}); a sync would overwrite failed-over data",
                            p.name, p.target_path, p.target_cluster
                        )));
                    }
                }
                self.new_job(
                    cluster,
                    &id,
                    &p.name.clone(),
                    action,
                    &p.source_root_path.clone(),
                    &p.target_cluster.clone(),
                    &p.target_path.clone(),
                    ctx,
                    now,
                )
            }
            JobAction::AllowWrite | JobAction::AllowWriteRevert => {
                let id = c.synciq.target_policy_id(key).ok_or_else(|| {
                    SyncError::NotFound(format!(
                        "Target policy {key} not found on {cluster} ({} must be posted to the policy's target cluster)",
                        action.as_str()
                    ))
                })?;
                let tp = &c.synciq.target_policies[&id];
                if c.synciq.jobs.contains_key(&id) {
                    return Err(SyncError::Conflict(format!(
                        "a job for target policy {} is already in progress",
                        tp.name
                    )));
                }
                let st = tp.failover_failback_state.as_str();
                let ok = match action {
                    JobAction::AllowWrite => matches!(
                        st,
                        "writes_disabled" | "resync_policy_created" | "writes_enabled"
                    ),
                    _ => st == "writes_enabled",
                };
                if !ok {
                    return Err(SyncError::Conflict(format!(
                        "cannot {} target policy {} in state {st}",
                        action.as_str(),
                        tp.name
                    )));
                }
                let (name, path) = (tp.name.clone(), tp.target_path.clone());
                self.new_job(cluster, &id, &name, action, &path, cluster, &path, ctx, now)
            }
        };
        let info = RequestInfo {
            cluster,
            method: "POST",
            route: "sync/jobs",
            ctx,
            now_ms: now,
            job_policy: Some(&job.policy_name),
        };
        let jf = self.eval_job_faults(&info, action.as_str());
        job.fail_at_progress = jf.fail_at_progress;
        job.force_fail = jf.force_fail;
        let id = job.id.clone();
        let c = self.clusters.get_mut(cluster).expect("checked");
        // A paused service queues new runs; state-machine jobs never wait for a slot.
        let start_now =
            !action.uses_slot() || (c.synciq.settings.service == "on" && has_slot(&c.synciq));
        c.synciq.jobs.insert(id.clone(), job);
        let state = if start_now { "running" } else { "scheduled" };
        let e = AuditEntry::new(now, cluster, &ctx.actor, "sync.job.start", &id)
            .ctx(ctx)
            .detail(json!({"action": action.as_str(), "job_state": state, "policy_name": self.clusters[cluster].synciq.jobs[&id].policy_name}));
        self.push_audit(e);
        if start_now {
            self.start_job(cluster, &id, now);
        }
        Ok(id)
    }

    #[allow(clippy::too_many_arguments)]
    fn new_job(
        &mut self,
        cluster: &str,
        id: &str,
        name: &str,
        action: JobAction,
        source_root_path: &str,
        target: &str,
        target_path: &str,
        ctx: &ReqCtx,
        now: u64,
    ) -> Job {
        let s = &mut self.clusters.get_mut(cluster).expect("checked").synciq;
        let (job_id, seq) = (s.next_job_id, s.next_seq);
        s.next_job_id += 1;
        s.next_seq += 1;
        Job {
            id: id.to_string(),
            job_id,
            seq,
            policy_name: name.to_string(),
            action,
            state: JobState::Scheduled,
            source: cluster.to_string(),
            target: target.to_string(),
            source_root_path: source_root_path.to_string(),
            target_path: target_path.to_string(),
            created_ms: now,
            started_ms: None,
            work_ms: 0,
            worked_ms: 0,
            running_since: None,
            start_checked: false,
            fail_at_progress: None,
            force_fail: None,
            snapshot: Snapshot::new(),
            total_files: 0,
            total_bytes: 0,
            changed_files: 0,
            changed_bytes: 0,
            ctx: ctx.clone(),
            prev_tp_state: None,
            mirror_id: None,
            mirror_existing: false,
        }
    }

    /// First transition of a job to running: take the snapshot, compute the work, and apply
    /// start-time state changes.
    fn start_job(&mut self, cluster: &str, id: &str, t: u64) {
        let costs = self.costs.clone();
        let bw = self.link.bandwidth_bytes_per_s;
        let Some(job) = self
            .clusters
            .get(cluster)
            .and_then(|c| c.synciq.jobs.get(id))
            .cloned()
        else {
            return;
        };
        let mut job = job;
        job.state = JobState::Running;
        job.started_ms = Some(t);
        job.running_since = Some(t);
        let mut tp_change: Option<(String, String)> = None;
        match job.action {
            JobAction::Run | JobAction::Test => {
                let c = &self.clusters[cluster];
                let p = &c.synciq.policies[id];
                let snap = subtree(&c.files, &p.source_root_path);
                let changed: Vec<u64> = snap
                    .iter()
                    .filter(|(k, e)| p.synced.get(*k).map(|s| s.version) != Some(e.version))
                    .map(|(_, e)| e.size_bytes)
                    .collect();
                job.total_files = snap.len() as u64;
                job.total_bytes = sum_bytes(&snap);
                job.changed_files = changed.len() as u64;
                job.changed_bytes = changed.iter().sum();
                job.work_ms = costs.job_start_latency_ms
                    + if job.action == JobAction::Run {
                        bytes_ms(job.changed_bytes, bw)
                    } else {
                        0
                    };
                job.snapshot = snap;
                let p = self
                    .clusters
                    .get_mut(cluster)
                    .expect("exists")
                    .synciq
                    .policies
                    .get_mut(id)
                    .expect("exists");
                p.last_started = Some(unix_s(t as i64));
                p.last_job_state = "running".into();
            }
            JobAction::AllowWrite | JobAction::AllowWriteRevert => {
                job.work_ms = if job.action == JobAction::AllowWrite {
                    costs.allow_write_ms
                } else {
                    costs.allow_write_revert_ms
                };
                let tp = self
                    .clusters
                    .get_mut(cluster)
                    .expect("exists")
                    .synciq
                    .target_policies
                    .get_mut(id)
                    .expect("exists");
                let from = tp.failover_failback_state.clone();
                let to = if job.action == JobAction::AllowWrite {
                    "enabling_writes"
                } else {
                    "disabling_writes"
                };
                if !(job.action == JobAction::AllowWrite && from == "writes_enabled") {
                    job.prev_tp_state = Some(from.clone());
                    tp.failover_failback_state = to.into();
                    tp.last_update_ms = t;
                    tp.last_job_state = "running".into();
                    tp_change = Some((from, to.into()));
                }
            }
            JobAction::ResyncPrep => {
                job.work_ms = costs.resync_prep_ms;
                // The mirror is an existing reverse policy on the target, or a new `<name>_mirror`.
                let p = self.clusters[cluster].synciq.policies[id].clone();
                let existing = self.clusters.get(&p.target_cluster).and_then(|tc| {
                    tc.synciq
                        .policies
                        .values()
                        .find(|q| {
                            q.target_cluster == cluster
                                && q.source_root_path == p.target_path
                                && q.target_path == p.source_root_path
                        })
                        .map(|q| (q.id.clone(), q.name.clone()))
                });
                let (mid, mname) = match existing {
                    Some(x) => {
                        job.mirror_existing = true;
                        x
                    }
                    None => (random_hex(&mut self.rng, 32), format!("{}_mirror", p.name)),
                };
                job.mirror_id = Some(mid.clone());
                let tguid = self
                    .clusters
                    .get(&p.target_cluster)
                    .map(|c| c.guid.clone())
                    .unwrap_or_default();
                let s = &mut self.clusters.get_mut(cluster).expect("exists").synciq;
                let tp = s
                    .target_policies
                    .entry(mid.clone())
                    .or_insert_with(|| TargetPolicy {
                        id: mid.clone(),
                        name: mname,
                        source_cluster_guid: tguid,
                        source_host: p.target_cluster.clone(),
                        target_path: p.source_root_path.clone(),
                        last_job_state: "unknown".into(),
                        failover_failback_state: String::new(),
                        last_update_ms: t,
                        last_good: p.synced.clone(),
                    });
                let from = tp.failover_failback_state.clone();
                job.prev_tp_state = Some(from.clone());
                tp.failover_failback_state = "creating_resync_policy".into();
                tp.last_update_ms = t;
                let from = if from.is_empty() {
                    "none".to_string()
                } else {
                    from
                };
                tp_change = Some((from, "creating_resync_policy".into()));
                job.id = id.to_string();
            }
        }
        let tp_obj = job.mirror_id.clone().unwrap_or_else(|| id.to_string());
        let ctx = job.ctx.clone();
        self.clusters
            .get_mut(cluster)
            .expect("exists")
            .synciq
            .jobs
            .insert(id.to_string(), job);
        if let Some((from, to)) = tp_change {
            let e = AuditEntry::new(t, cluster, "syncIQ", "sync.target_policy.state", &tp_obj)
                .ctx(&ctx)
                .detail(json!({"from": from, "to": to}));
            self.push_audit(e);
        }
    }

    /// Start queued jobs while slots are free (queue order = creation order).
    pub fn start_queued(&mut self, cluster: &str, t: u64) {
        loop {
            let Some(c) = self.clusters.get(cluster) else {
                return;
            };
            if c.synciq.settings.service != "on" || !has_slot(&c.synciq) {
                return;
            }
            let Some((id, resumed, ctx)) = c
                .synciq
                .jobs
                .values()
                .filter(|j| j.state == JobState::Scheduled)
                .min_by_key(|j| j.seq)
                .map(|j| (j.id.clone(), j.started_ms.is_some(), j.ctx.clone()))
            else {
                return;
            };
            let e = AuditEntry::new(t, cluster, "syncIQ", "sync.job.state", &id)
                .ctx(&ctx)
                .detail(json!({"from": "scheduled", "to": "running"}));
            self.push_audit(e);
            if resumed {
                let j = self
                    .clusters
                    .get_mut(cluster)
                    .expect("exists")
                    .synciq
                    .jobs
                    .get_mut(&id)
                    .expect("exists");
                j.state = JobState::Running;
                j.running_since = Some(t);
            } else {
                self.start_job(cluster, &id, t);
            }
        }
    }

    pub(crate) fn process_job_event(&mut self, cluster: &str, id: &str, kind: JobEvent, t: u64) {
        let Some(j) = self
            .clusters
            .get_mut(cluster)
            .and_then(|c| c.synciq.jobs.get_mut(id))
        else {
            return;
        };
        if let Some(s) = j.running_since {
            j.worked_ms += t.saturating_sub(s);
            j.running_since = Some(t);
        }
        match kind {
            JobEvent::StartCheck => {
                j.start_checked = true;
                let (src, tgt) = (j.source.clone(), j.target.clone());
                if let Some(why) = self.link_problem(&src, &tgt) {
                    self.end_job(cluster, id, JobState::Failed, Some(why), t);
                }
            }
            JobEvent::Fail => {
                let p = j.fail_at_progress.unwrap_or(0.0);
                self.end_job(
                    cluster,
                    id,
                    JobState::Failed,
                    Some(format!("injected fault: syncjob_fail at progress {p}")),
                    t,
                );
            }
            JobEvent::Complete => match j.force_fail.clone() {
                Some(why) => self.end_job(cluster, id, JobState::Failed, Some(why), t),
                None => self.end_job(cluster, id, JobState::Finished, None, t),
            },
        }
    }

    /// End a job: apply its effects (or undo its start effects), write the report and audit,
    /// and let queued jobs take the slot.
    pub fn end_job(
        &mut self,
        cluster: &str,
        id: &str,
        state: JobState,
        why: Option<String>,
        t: u64,
    ) {
        let Some(job) = self
            .clusters
            .get_mut(cluster)
            .and_then(|c| c.synciq.jobs.remove(id))
        else {
            return;
        };
        let mut state = state;
        let mut why = why;
        let started = job.started_ms.is_some();
        let mut tp_changes: Vec<(String, String, String, String)> = Vec::new(); // cluster, tp id, from, to
        let mut policy_audits: Vec<AuditEntry> = Vec::new();
        match job.action {
            JobAction::Run | JobAction::Test => {
                if state == JobState::Finished && job.action == JobAction::Run {
                    if let Some(p) = self.link_problem(&job.source, &job.target) {
                        state = JobState::Failed;
                        why = Some(p);
                    } else if let Some(tp) =
                        self.clusters[&job.target].synciq.target_policies.get(id)
                    {
                        if matches!(
                            tp.failover_failback_state.as_str(),
                            "writes_enabled" | "enabling_writes"
                        ) {
                            state = JobState::Failed;
                            why = Some(format!("target directory on {} is writable", job.target));
                        }
                    }
                }
                let src_guid = self.clusters[cluster].guid.clone();
                if let Some(p) = self
                    .clusters
                    .get_mut(cluster)
                    .and_then(|c| c.synciq.policies.get_mut(id))
                {
                    p.last_job_state = state.as_str().into();
                    if state == JobState::Finished && job.action == JobAction::Run {
                        p.synced = job.snapshot.clone();
                        p.last_success = job.started_ms.map(|s| unix_s(s as i64));
                    }
                }
                let tgt_up = self.clusters.get(&job.target).is_some_and(|c| c.up);
                if job.action == JobAction::Run && tgt_up && started {
                    let tc = self.clusters.get_mut(&job.target).expect("exists");
                    if state == JobState::Finished {
                        replace_subtree(&mut tc.files, &job.target_path, &job.snapshot);
                        let tp = tc
                            .synciq
                            .target_policies
                            .entry(id.to_string())
                            .or_insert_with(|| TargetPolicy {
                                id: id.to_string(),
                                name: job.policy_name.clone(),
                                source_cluster_guid: src_guid,
                                source_host: cluster.to_string(),
                                target_path: job.target_path.clone(),
                                last_job_state: String::new(),
                                failover_failback_state: "writes_disabled".into(),
                                last_update_ms: t,
                                last_good: Snapshot::new(),
                            });
                        tp.last_good = job.snapshot.clone();
                        tp.last_job_state = "finished".into();
                        tp.last_update_ms = t;
                    } else if let Some(tp) = tc.synciq.target_policies.get_mut(id) {
                        tp.last_job_state = state.as_str().into();
                        tp.last_update_ms = t;
                    }
                }
            }
            JobAction::AllowWrite | JobAction::AllowWriteRevert => {
                let c = self.clusters.get_mut(cluster).expect("exists");
                if let Some(tp) = c.synciq.target_policies.get_mut(id) {
                    tp.last_job_state = state.as_str().into();
                    if let Some(prev) = &job.prev_tp_state {
                        let from = tp.failover_failback_state.clone();
                        let to = if state == JobState::Finished {
                            let to = if job.action == JobAction::AllowWrite {
                                "writes_enabled"
                            } else {
                                "writes_disabled"
                            };
                            replace_subtree(&mut c.files, &tp.target_path, &tp.last_good);
                            to.to_string()
                        } else {
                            prev.clone()
                        };
                        tp.failover_failback_state = to.clone();
                        tp.last_update_ms = t;
                        tp_changes.push((cluster.into(), id.into(), from, to));
                    }
                }
            }
            JobAction::ResyncPrep => {
                let mid = job.mirror_id.clone().unwrap_or_default();
                if state == JobState::Finished {
                    if let Some(p) = self.link_problem(&job.source, &job.target) {
                        state = JobState::Failed;
                        why = Some(p);
                    }
                }
                let p = self.clusters[cluster].synciq.policies.get(id).cloned();
                if let (JobState::Finished, Some(p)) = (state, p) {
                    let baseline = self.clusters[&job.target]
                        .synciq
                        .target_policies
                        .get(id)
                        .map(|tp| tp.last_good.clone())
                        .unwrap_or_else(|| p.synced.clone());
                    // Mirror policy on the target cluster, pointing back.
                    let tc = self.clusters.get_mut(&job.target).expect("exists");
                    if let Some(m) = tc.synciq.policies.get_mut(&mid) {
                        m.enabled = true;
                        m.synced = baseline.clone();
                        policy_audits.push(
                            AuditEntry::new(t, &job.target, "syncIQ", "sync.policy.update", &mid)
                                .ctx(&job.ctx)
                                .detail(json!({"name": m.name, "enabled": true})),
                        );
                    } else {
                        let name = format!("{}_mirror", p.name);
                        tc.synciq.policies.insert(
                            mid.clone(),
                            Policy {
                                id: mid.clone(),
                                name: name.clone(),
                                enabled: true,
                                action: "sync".into(),
                                source_root_path: p.target_path.clone(),
                                target_host: cluster.to_string(),
                                target_cluster: cluster.to_string(),
                                target_path: p.source_root_path.clone(),
                                schedule: String::new(),
                                description: format!("mirror of {} created by resync_prep", p.name),
                                last_job_state: "unknown".into(),
                                last_started: None,
                                last_success: None,
                                conflicted: false,
                                synced: baseline.clone(),
                            },
                        );
                        policy_audits.push(
                            AuditEntry::new(t, &job.target, "syncIQ", "sync.policy.create", &mid)
                                .ctx(&job.ctx)
                                .detail(json!({"name": name, "source_root_path": p.target_path, "target_host": cluster, "target_path": p.source_root_path})),
                        );
                    }
                    // Source: rolled back to the common baseline, read-only, original disabled.
                    let sc = self.clusters.get_mut(cluster).expect("exists");
                    replace_subtree(&mut sc.files, &p.source_root_path, &baseline);
                    if let Some(tp) = sc.synciq.target_policies.get_mut(&mid) {
                        tp.last_good = baseline;
                        tp.failover_failback_state = "resync_policy_created".into();
                        tp.last_update_ms = t;
                        tp_changes.push((
                            cluster.into(),
                            mid.clone(),
                            "creating_resync_policy".into(),
                            "resync_policy_created".into(),
                        ));
                    }
                    if let Some(sp) = sc.synciq.policies.get_mut(id) {
                        sp.enabled = false;
                        sp.last_job_state = "finished".into();
                        policy_audits.push(
                            AuditEntry::new(t, cluster, "syncIQ", "sync.policy.update", id)
                                .ctx(&job.ctx)
                                .detail(json!({"name": sp.name, "enabled": false})),
                        );
                    }
                } else if started {
                    let sc = self.clusters.get_mut(cluster).expect("exists");
                    if let Some(tp) = sc.synciq.target_policies.get(&mid) {
                        let from = tp.failover_failback_state.clone();
                        let prev = job.prev_tp_state.clone().unwrap_or_default();
                        if prev.is_empty() {
                            sc.synciq.target_policies.remove(&mid);
                            tp_changes.push((cluster.into(), mid.clone(), from, "none".into()));
                        } else if let Some(tp) = sc.synciq.target_policies.get_mut(&mid) {
                            tp.failover_failback_state = prev.clone();
                            tp_changes.push((cluster.into(), mid.clone(), from, prev));
                        }
                    }
                    if let Some(sp) = sc.synciq.policies.get_mut(id) {
                        sp.last_job_state = state.as_str().into();
                    }
                }
            }
        }
        // Report (on the cluster that ran the job).
        let target_host = job.target.clone();
        let end_ms = t as i64;
        let start_ms = job.started_ms.unwrap_or(t) as i64;
        let done = state == JobState::Finished;
        let frac = if done { 1.0 } else { job.progress(t) };
        let c = self.clusters.get_mut(cluster).expect("exists");
        c.synciq.reports.push(Report {
            id: format!("{}-{}", job.job_id, job.policy_name),
            job_id: job.job_id,
            policy_id: id.to_string(),
            policy_name: job.policy_name.clone(),
            action: job.action,
            state,
            start_ms,
            end_ms,
            source_root_path: job.source_root_path.clone(),
            target_path: job.target_path.clone(),
            target_host,
            total_files: job.total_files,
            files_transferred: (job.changed_files as f64 * frac) as u64,
            total_data_bytes: job.changed_bytes,
            bytes_transferred: (job.changed_bytes as f64 * frac) as u64,
            errors: why.iter().cloned().collect(),
        });
        let mut e = AuditEntry::new(t, cluster, "syncIQ", "sync.job.finish", id)
            .ctx(&job.ctx)
            .detail(json!({"action": job.action.as_str(), "job_state": state.as_str(), "policy_name": job.policy_name}));
        if !done {
            e = e.error(&why.clone().unwrap_or_else(|| state.as_str().to_string()));
        }
        self.push_audit(e);
        for (c, tp, from, to) in tp_changes {
            let e = AuditEntry::new(t, &c, "syncIQ", "sync.target_policy.state", &tp)
                .ctx(&job.ctx)
                .detail(json!({"from": from, "to": to}));
            self.push_audit(e);
        }
        for e in policy_audits {
            self.push_audit(e);
        }
        self.start_queued(cluster, t);
    }

    /// `PUT sync/jobs/{id} {"state": …}`.
    pub fn set_job_state(
        &mut self,
        cluster: &str,
        key: &str,
        to: &str,
        ctx: &ReqCtx,
        now: u64,
    ) -> Result<(), SyncError> {
        let c = self
            .clusters
            .get_mut(cluster)
            .ok_or_else(|| SyncError::NotFound(cluster.to_string()))?;
        let id = c.synciq.job_id(key).ok_or_else(|| {
            SyncError::NotFound(format!("No job for policy {key} is in progress"))
        })?;
        let j = c.synciq.jobs.get_mut(&id).expect("exists");
        let from = j.state;
        match to {
            "canceled" => {
                self.end_job(
                    cluster,
                    &id,
                    JobState::Canceled,
                    Some(format!("canceled by {}", ctx.actor)),
                    now,
                );
                return Ok(());
            }
            "paused" => match from {
                JobState::Running => {
                    if let Some(s) = j.running_since.take() {
                        j.worked_ms += now.saturating_sub(s);
                    }
                    j.state = JobState::Paused;
                }
                JobState::Scheduled => j.state = JobState::Paused,
                _ => return Ok(()),
            },
            "running" => match from {
                JobState::Paused => j.state = JobState::Scheduled,
                _ => return Ok(()),
            },
            other => {
                return Err(SyncError::BadRequest(format!(
                    "field `state`: invalid value `{other}` (expected running, paused or canceled)"
                )))
            }
        }
        let new = j.state;
        let e = AuditEntry::new(now, cluster, &ctx.actor, "sync.job.state", &id)
            .ctx(ctx)
            .detail(json!({"from": from.as_str(), "to": new.as_str()}));
        self.push_audit(e);
        // A resumed state-machine job does not need a slot.
        let c = self.clusters.get_mut(cluster).expect("exists");
        if let Some(j) = c.synciq.jobs.get_mut(&id) {
            if j.state == JobState::Scheduled && !j.action.uses_slot() {
                j.state = JobState::Running;
                j.running_since = Some(now);
            }
        }
        self.start_queued(cluster, now);
        Ok(())
    }
}

fn has_slot(s: &SyncIqState) -> bool {
    let running = s
        .jobs
        .values()
        .filter(|j| j.state == JobState::Running && j.action.uses_slot())
        .count();
    running < s.settings.max_concurrent_jobs as usize
}

// ------------------------------------------------------------------------- PAPI JSON

fn opt_unix(v: Option<i64>) -> Value {
    v.map_or(Value::Null, |x| json!(x))
}

/// A policy as `GET sync/policies` returns it.
pub fn policy_json(p: &Policy) -> Value {
    let mut v = json!({
        "accelerated_failback": false,
        "action": p.action,
        "burst_mode": false,
        "changelist": false,
        "check_integrity": true,
        "cloud_deep_copy": "deny",
        "conflicted": p.conflicted,
        "database_mirrored": false,
        "delete_quotas": true,
        "description": p.description,
        "disable_file_split": false,
        "disable_fofb": false,
        "disable_quota_tmp_dir": false,
        "disable_stf": false,
        "enable_hash_tmpdir": false,
        "enabled": p.enabled,
        "encrypted": false,
        "expected_dataloss": false,
        "file_matching_pattern": {"or_criteria": []},
        "force_interface": false,
        "has_sync_state": p.last_success.is_some(),
        "id": p.id,
        "ignore_recursive_quota": false,
        "job_delay": 0,
        "last_job_state": p.last_job_state,
        "last_started": opt_unix(p.last_started),
        "last_success": opt_unix(p.last_success),
        "linked_service_policies": [],
        "log_level": "notice",
        "log_removed_files": false,
        "name": p.name,
        "next_run": Value::Null,
        "ocsp_address": "",
        "ocsp_issuer_certificate_id": "",
        "password_set": false,
        "priority": 0,
        "report_max_age": 31_536_000,
        "report_max_count": 2000,
        "restrict_target_network": false,
        "rpo_alert": 0,
        "schedule": p.schedule,
        "skip_lookup": false,
        "skip_when_source_unmodified": false,
        "snapshot_sync_existing": false,
        "snapshot_sync_pattern": "*",
        "source_exclude_directories": [],
        "source_include_directories": [],
        "source_network": Value::Null,
        "source_root_path": p.source_root_path,
        "source_snapshot_archive": false,
        "source_snapshot_expiration": 0,
        "source_snapshot_pattern": "",
        "target_certificate_id": "",
        "target_compare_initial_sync": false,
        "target_detect_modifications": true,
        "target_host": p.target_host,
        "target_path": p.target_path,
        "target_snapshot_alias": "SIQ-%{TargetPolicyName}-latest",
        "target_snapshot_archive": false,
        "target_snapshot_expiration": 0,
        "target_snapshot_pattern": "SIQ-%{TargetPolicyName}-%Y-%m-%d_%H-%M-%S",
        "workers_per_node": 3,
    });
    crate::api::fill_defaults("sync_policy", &mut v);
    v
}

pub fn target_policy_json(tp: &TargetPolicy) -> Value {
    let mut v = json!({
        "failover_failback_state": tp.failover_failback_state,
        "id": tp.id,
        "last_job_state": if tp.last_job_state.is_empty() { "unknown" } else { tp.last_job_state.as_str() },
        "last_source_coordinator_ip": "",
        "last_update_from_source": unix_s(tp.last_update_ms as i64),
        "legacy_policy": false,
        "name": tp.name,
        "source_cluster_guid": tp.source_cluster_guid,
        "source_host": tp.source_host,
        "target_path": tp.target_path,
    });
    crate::api::fill_defaults("target_policy", &mut v);
    v
}

fn policy_summary(name: &str, src: &str, host: &str, tpath: &str) -> Value {
    json!({"action": "sync", "file_matching_pattern": {"or_criteria": []}, "name": name, "source_root_path": src, "target_host": host, "target_path": tpath})
}

pub fn job_json(j: &Job, now: u64) -> Value {
    let frac = j.progress(now);
    let start = j.started_ms.map(|s| unix_s(s as i64));
    let duration = j.started_ms.map_or(0, |s| (now.saturating_sub(s)) / 1000);
    let mut v = json!({
        "action": j.action.as_str(),
        "ads_streams_replicated": 0,
        "block_specs_replicated": 0,
        "bytes_recoverable": 0,
        "bytes_transferred": (j.changed_bytes as f64 * frac) as u64,
        "char_specs_replicated": 0,
        "committed_files": 0,
        "corrected_lins": 0,
        "dead_node": false,
        "directories_replicated": 0,
        "dirs_changed": 0,
        "dirs_deleted": 0,
        "dirs_moved": 0,
        "dirs_new": 0,
        "duration": duration,
        "encrypted": false,
        "end_time": Value::Null,
        "error": "",
        "error_checksum_files_skipped": 0,
        "error_io_files_skipped": 0,
        "error_net_files_skipped": 0,
        "errors": [],
        "failed_chunks": 0,
        "fifos_replicated": 0,
        "file_data_bytes": j.changed_bytes,
        "files_changed": j.changed_files,
        "files_linked": 0,
        "files_new": 0,
        "files_selected": j.changed_files,
        "files_transferred": (j.changed_files as f64 * frac) as u64,
        "files_unlinked": 0,
        "files_with_ads_replicated": 0,
        "flipped_lins": 0,
        "hard_links_replicated": 0,
        "hash_exceptions_fixed": 0,
        "hash_exceptions_found": 0,
        "id": j.id,
        "job_id": j.job_id,
        "lins_total": j.total_files,
        "network_bytes_to_source": 0,
        "network_bytes_to_target": (j.changed_bytes as f64 * frac) as u64,
        "new_files_replicated": 0,
        "num_retransmitted_files": 0,
        "phases": [],
        "policy": policy_summary(&j.policy_name, &j.source_root_path, &j.target, &j.target_path),
        "policy_action": "sync",
        "policy_id": j.id,
        "policy_name": j.policy_name,
        "quotas_deleted": 0,
        "regular_files_replicated": 0,
        "resynced_lins": 0,
        "retransmitted_files": [],
        "retry": 0,
        "running_chunks": 0,
        "service_report": [],
        "sockets_replicated": 0,
        "source_bytes_recovered": 0,
        "source_directories_created": 0,
        "source_directories_deleted": 0,
        "source_directories_linked": 0,
        "source_directories_unlinked": 0,
        "source_directories_visited": 0,
        "source_files_deleted": 0,
        "source_files_linked": 0,
        "source_files_unlinked": 0,
        "sparse_data_bytes": 0,
        "start_time": start,
        "state": j.state.as_str(),
        "succeeded_chunks": 0,
        "symlinks_replicated": 0,
        "sync_type": "incremental",
        "target_bytes_recovered": 0,
        "target_directories_created": 0,
        "target_directories_deleted": 0,
        "target_directories_linked": 0,
        "target_directories_unlinked": 0,
        "target_files_deleted": 0,
        "target_files_linked": 0,
        "target_files_unlinked": 0,
        "target_snapshots": [],
        "total_chunks": 0,
        "total_data_bytes": j.changed_bytes,
        "total_exported_services": Value::Null,
        "total_files": j.total_files,
        "total_network_bytes": (j.changed_bytes as f64 * frac) as u64,
        "total_phases": 0,
        "unchanged_data_bytes": j.total_bytes.saturating_sub(j.changed_bytes),
        "up_to_date_files_skipped": j.total_files.saturating_sub(j.changed_files),
        "updated_files_replicated": 0,
        "user_conflict_files_skipped": 0,
        "warnings": [],
        "workers": [],
        "worm_committed_file_conflicts": 0,
    });
    crate::api::fill_defaults("sync_job", &mut v);
    v
}

pub fn report_json(r: &Report) -> Value {
    let start = unix_s(r.start_ms);
    let end = unix_s(r.end_ms);
    let mut v = json!({
        "action": r.action.as_str(),
        "bytes_transferred": r.bytes_transferred,
        "dead_node": false,
        "duration": (end - start).max(0),
        "end_time": end,
        "error": r.errors.first().cloned().unwrap_or_default(),
        "errors": r.errors,
        "file_data_bytes": r.total_data_bytes,
        "files_transferred": r.files_transferred,
        "id": r.id,
        "job_id": r.job_id,
        "network_bytes_to_target": r.bytes_transferred,
        "phases": [],
        "policy": policy_summary(&r.policy_name, &r.source_root_path, &r.target_host, &r.target_path),
        "policy_id": r.policy_id,
        "policy_name": r.policy_name,
        "retransmitted_files": [],
        "service_report": [],
        "start_time": start,
        "state": r.state.as_str(),
        "sync_type": "incremental",
        "total_chunks": 0,
        "total_data_bytes": r.total_data_bytes,
        "total_files": r.total_files,
        "total_network_bytes": r.bytes_transferred,
        "warnings": [],
        "workers": [],
    });
    crate::api::fill_defaults("sync_report", &mut v);
    v
}

pub fn settings_json(s: &SyncSettings) -> Value {
    let mut m = serde_json::Map::new();
    m.insert("max_concurrent_jobs".into(), json!(s.max_concurrent_jobs));
    m.insert("service".into(), json!(s.service));
    for (k, v) in &s.extra {
        m.insert(k.clone(), v.clone());
    }
    json!({ "settings": m })
}
