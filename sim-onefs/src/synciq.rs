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
use std::sync::{Mutex, OnceLock};

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::audit::{AuditEntry, ReqCtx};
use crate::clock::Epoch;
use crate::faults::RequestInfo;
use crate::model::{
    random_hex, replace_subtree, subtree, subtree_shared, SharedSnapshot, Snapshot, WorldState,
};
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

/// Derives of the SyncIQ state enums: serde and strum names are the PAPI strings.
macro_rules! papi_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $v:ident),+ $(,)? }) => {
        $(#[$m])*
        #[derive(
            Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize,
            strum::EnumString, strum::IntoStaticStr, strum::Display,
        )]
        #[serde(rename_all = "snake_case")]
        #[strum(serialize_all = "snake_case")]
        pub enum $name { $($(#[$vm])* $v),+ }

        impl $name {
            pub fn as_str(self) -> &'static str {
                self.into()
            }
        }
    };
}

papi_enum! {
    /// `sync/settings` `service`.
    SyncService { On, Off, Paused }
}

papi_enum! {
    /// A target policy's `failover_failback_state`.
    FailoverFailbackState {
        WritesDisabled,
        EnablingWrites,
        WritesEnabled,
        DisablingWrites,
        CreatingResyncPolicy,
        ResyncPolicyCreated,
    }
}

impl FailoverFailbackState {
    /// Whether clients may write to the directory this record covers: writes were allowed,
    /// and after resync-prep this side is the mirror's source (`creating_resync_policy`,
    /// `resync_policy_created`), so it stays writable.
    pub fn accepts_client_writes(self) -> bool {
        matches!(
            self,
            FailoverFailbackState::WritesEnabled
                | FailoverFailbackState::CreatingResyncPolicy
                | FailoverFailbackState::ResyncPolicyCreated
        )
    }

    /// Whether the directory is writable or about to be: a sync into it would overwrite
    /// failed-over data, so a source policy's run is refused.
    pub fn is_writable(self) -> bool {
        self.accepts_client_writes() || self == FailoverFailbackState::EnablingWrites
    }
}

/// Whether `host` is a syntactically valid `target_host`: an IPv4/IPv6 literal, or a DNS
/// host name (RFC 1123 labels of letters, digits and hyphens, at most 253 characters).
pub fn valid_target_host(host: &str) -> bool {
    if host.parse::<std::net::IpAddr>().is_ok() {
        return true;
    }
    let h = host.strip_suffix('.').unwrap_or(host);
    !h.is_empty()
        && h.len() <= 253
        && h.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// A `target_host` that names the local cluster (a local target: another directory on the
/// same cluster).
pub fn is_local_host(host: &str) -> bool {
    let h = host.strip_suffix('.').unwrap_or(host);
    h.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|a| a.is_loopback())
}

/// A target policy state, or `none` where there is no target policy.
pub fn state_name(s: Option<FailoverFailbackState>) -> &'static str {
    s.map_or("none", FailoverFailbackState::as_str)
}

#[derive(Clone, Debug, Serialize)]
pub struct SyncSettings {
    pub service: SyncService,
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
    pub last_job_state: JobState,
    /// Virtual time the last job started / the last successful run started (its snapshot).
    pub last_started_ms: Option<i64>,
    pub last_success_ms: Option<i64>,
    pub conflicted: bool,
    /// Source files as copied by the last successful run (relative to `source_root_path`).
    #[serde(serialize_with = "crate::model::ser_shared")]
    pub synced: SharedSnapshot,
}

#[derive(Clone, Debug, Serialize)]
pub struct TargetPolicy {
    pub id: String,
    pub name: String,
    pub source_cluster_guid: String,
    pub source_host: String,
    pub target_path: String,
    pub last_job_state: JobState,
    pub failover_failback_state: FailoverFailbackState,
    pub last_update_ms: u64,
    /// Target contents after the last successful sync (relative to `target_path`).
    #[serde(serialize_with = "crate::model::ser_shared")]
    pub last_good: SharedSnapshot,
}

papi_enum! {
    /// `sync/jobs` `action`.
    JobAction { Run, Test, ResyncPrep, AllowWrite, AllowWriteRevert }
}

impl JobAction {
    /// Whether the job takes a `max_concurrent_jobs` slot.
    fn uses_slot(self) -> bool {
        matches!(self, JobAction::Run | JobAction::Test)
    }
}

papi_enum! {
    /// A job's `state`, and a policy's `last_job_state`.
    JobState {
        Scheduled,
        Running,
        Paused,
        Finished,
        Failed,
        Canceled,
        NeedsAttention,
        Skipped,
        Pending,
        Unknown,
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
    #[serde(serialize_with = "crate::model::ser_shared")]
    pub snapshot: SharedSnapshot,
    pub total_files: u64,
    pub total_bytes: u64,
    pub changed_files: u64,
    pub changed_bytes: u64,
    pub ctx: ReqCtx,
    /// State-machine jobs: the target policy state before the job (restored on failure;
    /// `Some(None)`: there was no target policy); None = the job changes no state (e.g.
    /// allow_write on an already writable target).
    #[serde(serialize_with = "ser_prev_state")]
    pub prev_tp_state: Option<Option<FailoverFailbackState>>,
    /// resync_prep: id of the mirror policy and whether it already existed.
    pub mirror_id: Option<String>,
    pub mirror_existing: bool,
}

/// `prev_tp_state` as the state dump has always shown it (`""` for "no target policy").
fn ser_prev_state<S: serde::Serializer>(
    v: &Option<Option<FailoverFailbackState>>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match v {
        None => s.serialize_none(),
        Some(p) => s.serialize_str(p.map_or("", FailoverFailbackState::as_str)),
    }
}

/// A change of a target policy's state, for the audit log.
struct TpChange {
    cluster: String,
    tp: String,
    from: Option<FailoverFailbackState>,
    to: Option<FailoverFailbackState>,
}

impl TpChange {
    fn new(
        cluster: &str,
        tp: &str,
        from: Option<FailoverFailbackState>,
        to: Option<FailoverFailbackState>,
    ) -> TpChange {
        TpChange {
            cluster: cluster.to_string(),
            tp: tp.to_string(),
            from,
            to,
        }
    }
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
    /// The cluster that ran the job (a target report names it as `source_host`).
    pub source_host: String,
    pub total_files: u64,
    pub files_transferred: u64,
    pub total_data_bytes: u64,
    pub bytes_transferred: u64,
    pub errors: Vec<String>,
    /// The policy's first, full sync (`sync_type: initial`); every later run is
    /// incremental.
    pub initial: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct SyncIqState {
    pub settings: SyncSettings,
    /// Keyed by policy id.
    pub policies: crate::policy_index::Policies,
    /// Keyed by id (= the source policy's id).
    pub target_policies: crate::target_index::TargetPolicies,
    /// Keyed by policy / target policy id.
    pub jobs: BTreeMap<String, Job>,
    /// Reports of the jobs this cluster ran (`sync/reports`).
    pub reports: ReportLog,
    /// Reports of jobs that replicated into this cluster (`sync/target/reports`): the target
    /// side's record of each run, with its error text when it failed.
    pub target_reports: ReportLog,
    pub next_job_id: u64,
    pub next_seq: u64,
}

/// Reports, oldest first, indexed by policy name so that a policy's reports are read
/// without scanning every report on the cluster (the orchestrator reads them around each of
/// its jobs). Appending is the only change, through [`ReportLog::push`], so the index
/// cannot drift. Serialised as the plain list.
///
/// A report never changes once written, so its PAPI JSON is rendered once and kept
/// ([`ReportLog::rendered`]): the orchestrator lists a policy's reports around each of its
/// jobs, and rendering them every time was the simulator's largest cost on large runs.
///
/// Kept bodies share their common end: a report body is mostly the same defaults, in the
/// same order, after the report's own fields, and kept whole they were one of the largest
/// parts of a large run's memory. A body is kept as its own beginning plus a shared end
/// ([`Kept`]) and put together again when served (a copy, far cheaper than rendering).
#[derive(Debug, Default)]
pub struct ReportLog {
    items: Vec<Report>,
    by_policy: BTreeMap<String, Vec<usize>>,
    /// The rendered body of `items[i]` and the epoch it was rendered for.
    rendered: Vec<OnceLock<(Epoch, Kept)>>,
    /// The end the kept bodies share, as far as the bodies so far have one: it only ever
    /// gets shorter (the common end of itself and a body that does not end with it).
    tail: Mutex<Bytes>,
}

/// A kept body: whole, or its beginning followed by `tail`.
#[derive(Clone, Debug)]
enum Kept {
    Whole(Bytes),
    Split { head: Bytes, tail: Bytes },
}

/// Shorter shared ends are not worth keeping apart (each split body is joined when served).
const MIN_SHARED_TAIL: usize = 256;

impl Kept {
    fn body(&self) -> Bytes {
        match self {
            Kept::Whole(b) => b.clone(),
            Kept::Split { head, tail } => {
                let mut v = Vec::with_capacity(head.len() + tail.len());
                v.extend_from_slice(head);
                v.extend_from_slice(tail);
                v.into()
            }
        }
    }
}

impl Clone for ReportLog {
    fn clone(&self) -> ReportLog {
        ReportLog {
            items: self.items.clone(),
            by_policy: self.by_policy.clone(),
            rendered: self.rendered.clone(),
            tail: Mutex::new(self.shared_tail()),
        }
    }
}

impl ReportLog {
    pub fn push(&mut self, r: Report) {
        self.by_policy
            .entry(r.policy_name.clone())
            .or_default()
            .push(self.items.len());
        self.items.push(r);
        self.rendered.push(OnceLock::new());
    }

    /// The positions of `policy`'s reports, oldest first.
    pub fn positions_of_policy(&self, policy: &str) -> &[usize] {
        self.by_policy.get(policy).map_or(&[][..], Vec::as_slice)
    }

    /// The body `render` makes of report `i` for epoch `ep`, rendered at most once per
    /// report (a body rendered for another epoch is not reused).
    pub fn rendered(&self, i: usize, ep: Epoch, render: impl Fn(&Report, Epoch) -> Bytes) -> Bytes {
        let r = &self.items[i];
        let (at, kept) = self.rendered[i].get_or_init(|| (ep, self.keep(&render(r, ep))));
        if *at == ep {
            kept.body()
        } else {
            render(r, ep)
        }
    }

    fn shared_tail(&self) -> Bytes {
        self.tail
            .lock()
            .map_or_else(|e| e.into_inner().clone(), |t| t.clone())
    }

    /// How `body` is kept: copied at its exact length (a serialiser's buffer grows by
    /// doubling, so a body kept as rendered held up to twice its size), split off the
    /// shared end when it has it. The first body sets the shared end; a body without it
    /// shortens it to their common end.
    fn keep(&self, body: &[u8]) -> Kept {
        let mut tail = self.tail.lock().unwrap_or_else(|e| e.into_inner());
        if tail.is_empty() {
            *tail = Bytes::copy_from_slice(body);
            return Kept::Whole(tail.clone());
        }
        if !body.ends_with(&tail) {
            let common = tail
                .iter()
                .rev()
                .zip(body.iter().rev())
                .take_while(|(a, b)| a == b)
                .count();
            if common < MIN_SHARED_TAIL {
                return Kept::Whole(Bytes::copy_from_slice(body));
            }
            *tail = Bytes::copy_from_slice(&tail[tail.len() - common..]);
        }
        if body.len() == tail.len() {
            return Kept::Whole(tail.clone());
        }
        if tail.len() < MIN_SHARED_TAIL {
            return Kept::Whole(Bytes::copy_from_slice(body));
        }
        Kept::Split {
            head: Bytes::copy_from_slice(&body[..body.len() - tail.len()]),
            tail: tail.clone(),
        }
    }

    /// Every report, oldest first.
    pub fn all(&self) -> &[Report] {
        &self.items
    }

    /// `policy`'s reports, oldest first.
    pub fn of_policy<'a>(&'a self, policy: &str) -> impl DoubleEndedIterator<Item = &'a Report> {
        self.by_policy
            .get(policy)
            .map_or(&[][..], Vec::as_slice)
            .iter()
            .map(|&i| &self.items[i])
    }

    pub fn last(&self) -> Option<&Report> {
        self.items.last()
    }
}

impl Serialize for ReportLog {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.items.serialize(s)
    }
}

impl SyncIqState {
    pub fn new(service_on: bool, max_concurrent_jobs: u32) -> SyncIqState {
        let extra: BTreeMap<String, Value> = [
            ("bandwidth_reservation_reserve_absolute", Value::Null),
            ("bandwidth_reservation_reserve_percentage", json!(1)),
            ("cluster_certificate_id", json!("")),
            ("elliptic_curve_list", json!("")),
            ("encryption_cipher_list", json!("")),
            ("encryption_required", json!(false)),
            ("force_interface", json!(false)),
            ("ocsp_address", json!("")),
            ("ocsp_issuer_certificate_id", json!("")),
            ("password_set", json!(false)),
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
                service: if service_on {
                    SyncService::On
                } else {
                    SyncService::Off
                },
                max_concurrent_jobs,
                extra,
            },
            policies: crate::policy_index::Policies::new(),
            target_policies: crate::target_index::TargetPolicies::new(),
            jobs: BTreeMap::new(),
            reports: ReportLog::default(),
            target_reports: ReportLog::default(),
            next_job_id: 1,
            next_seq: 1,
        }
    }

    /// Policy by id or name (by name: the first in id order, from the name index).
    pub fn policy_id(&self, key: &str) -> Option<String> {
        if self.policies.contains_key(key) {
            return Some(key.to_string());
        }
        self.policies.id_named(key).cloned()
    }

    /// Target policy by id or name (by name: the first in id order, from the name index).
    pub fn target_policy_id(&self, key: &str) -> Option<String> {
        if self.target_policies.contains_key(key) {
            return Some(key.to_string());
        }
        self.target_policies.id_named(key).cloned()
    }

    /// Job by id (policy id) or policy name.
    pub fn job_id(&self, key: &str) -> Option<String> {
        by_id_or_name(&self.jobs, key, |j| &j.policy_name)
    }
}

/// The key of the entry that is `key` or whose name is `key`.
fn by_id_or_name<T>(
    m: &BTreeMap<String, T>,
    key: &str,
    name: impl Fn(&T) -> &String,
) -> Option<String> {
    if m.contains_key(key) {
        return Some(key.to_string());
    }
    m.iter()
        .find(|(_, v)| name(v) == key)
        .map(|(k, _)| k.clone())
}

/// Conflict if a job for `id` (a `what` named `name`) is in progress.
fn no_job(s: &SyncIqState, id: &str, what: &str, name: &str) -> Result<(), SyncError> {
    if s.jobs.contains_key(id) {
        return Err(SyncError::Conflict(format!(
            "a job for {what} {name} is already in progress"
        )));
    }
    Ok(())
}

fn bytes_ms(bytes: u64, bw: u64) -> u64 {
    u64::try_from(u128::from(bytes) * 1000 / u128::from(bw.max(1))).unwrap_or(u64::MAX)
}

fn sum_bytes(s: &Snapshot) -> u64 {
    s.values().map(|e| e.size_bytes).sum()
}

impl WorldState {
    /// A policy from the spec, as if its last successful sync ended at t=0: the initial
    /// full sync, then the spec's `past_syncs` (each a report, one
    /// [`PAST_SYNC_INTERVAL_MS`](crate::spec::PAST_SYNC_INTERVAL_MS) apart).
    ///
    /// Returns the snapshot the initial sync copied, for the caller to put under the
    /// target path (see [`WorldState::from_spec`]).
    pub(crate) fn install_initial_policy(&mut self, p: &PolicySpec) -> SharedSnapshot {
        let id = random_hex(&mut self.rng, 32);
        let src = &self.clusters[&p.source];
        let snap = SharedSnapshot::new(subtree(&src.files, &p.source_path));
        let src_guid = src.guid.clone();
        let bytes = sum_bytes(&snap);
        let job_ms = |bytes: u64| {
            (self.costs.job_start_latency_ms + bytes_ms(bytes, self.link.bandwidth_bytes_per_s))
                as i64
        };
        let dur = job_ms(bytes);
        let state = p
            .last_job_state
            .as_deref()
            .and_then(|s| s.parse().ok())
            .unwrap_or(JobState::Finished);
        let tgt = self.clusters.get_mut(&p.target).expect("validated");
        tgt.synciq.target_policies.insert(
            id.clone(),
            TargetPolicy {
                id: id.clone(),
                name: p.name.clone(),
                source_cluster_guid: src_guid,
                source_host: p.source.clone(),
                target_path: p.target_path.clone(),
                last_job_state: state,
                failover_failback_state: FailoverFailbackState::WritesDisabled,
                last_update_ms: 0,
                last_good: snap.clone(),
            },
        );
        // (start, end, bytes, initial) of every report, oldest first.
        let n = p.past_syncs.len() as i64;
        let interval = crate::spec::PAST_SYNC_INTERVAL_MS;
        let mut runs = vec![(-n * interval - dur, -n * interval, bytes, true)];
        for (i, s) in p.past_syncs.iter().enumerate() {
            let end = -(n - 1 - i as i64) * interval;
            let d = s
                .duration_ms
                .map_or_else(|| job_ms(s.bytes), |d| d.min(i64::MAX as u64) as i64);
            runs.push((end - d, end, s.bytes, false));
        }
        let last_start = runs.last().map_or(-dur, |r| r.0);
        for (start_ms, end_ms, bytes, initial) in runs {
            let src = self.clusters.get_mut(&p.source).expect("validated");
            let job_id = src.synciq.next_job_id;
            src.synciq.next_job_id += 1;
            let files = if initial { snap.len() as u64 } else { 0 };
            let report = Report {
                id: format!("{job_id}-{}", p.name),
                job_id,
                policy_id: id.clone(),
                policy_name: p.name.clone(),
                action: JobAction::Run,
                state: JobState::Finished,
                start_ms,
                end_ms,
                source_root_path: p.source_path.clone(),
                target_path: p.target_path.clone(),
                target_host: p.target.clone(),
                source_host: p.source.clone(),
                total_files: snap.len() as u64,
                files_transferred: files,
                total_data_bytes: bytes,
                bytes_transferred: bytes,
                errors: vec![],
                initial,
            };
            src.synciq.reports.push(report.clone());
            let tgt = self.clusters.get_mut(&p.target).expect("validated");
            tgt.synciq.target_reports.push(report);
        }
        let dur = -last_start;
        let src = self.clusters.get_mut(&p.source).expect("validated");
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
                last_started_ms: Some(-dur),
                last_success_ms: Some(-dur),
                conflicted: false,
                synced: snap.clone(),
            },
        );
        snap
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
        if c.synciq.settings.service == SyncService::Off {
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
                no_job(&c.synciq, &id, "policy", &p.name)?;
                let tp_state = self
                    .clusters
                    .get(&p.target_cluster)
                    .filter(|t| t.up)
                    .and_then(|t| t.synciq.target_policies.get(&id))
                    .map(|tp| tp.failover_failback_state);
                if action == JobAction::ResyncPrep {
                    if let Some(s) = tp_state {
                        if s != FailoverFailbackState::WritesEnabled {
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
                    if let Some(s) = tp_state.filter(|s| s.is_writable()) {
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
                no_job(&c.synciq, &id, "target policy", &tp.name)?;
                let st = tp.failover_failback_state;
                let ok = match action {
                    JobAction::AllowWrite => matches!(
                        st,
                        FailoverFailbackState::WritesDisabled
                            | FailoverFailbackState::ResyncPolicyCreated
                            | FailoverFailbackState::WritesEnabled
                    ),
                    _ => st == FailoverFailbackState::WritesEnabled,
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
        let start_now = !action.uses_slot()
            || (c.synciq.settings.service == SyncService::On && has_slot(&c.synciq));
        c.synciq.jobs.insert(id.clone(), job);
        let state = if start_now {
            JobState::Running
        } else {
            JobState::Scheduled
        };
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
            snapshot: SharedSnapshot::default(),
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
        // (cluster holding the record, from, to)
        let mut tp_change: Option<(String, Option<FailoverFailbackState>, FailoverFailbackState)> =
            None;
        match job.action {
            JobAction::Run | JobAction::Test => {
                let c = &self.clusters[cluster];
                let p = &c.synciq.policies[id];
                let snap = subtree_shared(&c.files, &p.source_root_path, &p.synced);
                let changed: Vec<u64> =
                    snap.changed_from(&p.synced).map(|e| e.size_bytes).collect();
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
                let mut p = self
                    .clusters
                    .get_mut(cluster)
                    .expect("exists")
                    .synciq
                    .policies
                    .get_mut(id)
                    .expect("exists");
                p.last_started_ms = Some(t as i64);
                p.last_job_state = JobState::Running;
            }
            JobAction::AllowWrite | JobAction::AllowWriteRevert => {
                job.work_ms = if job.action == JobAction::AllowWrite {
                    costs.allow_write_ms
                } else {
                    costs.allow_write_revert_ms
                };
                let mut tp = self
                    .clusters
                    .get_mut(cluster)
                    .expect("exists")
                    .synciq
                    .target_policies
                    .get_mut(id)
                    .expect("exists");
                let from = tp.failover_failback_state;
                let to = if job.action == JobAction::AllowWrite {
                    FailoverFailbackState::EnablingWrites
                } else {
                    FailoverFailbackState::DisablingWrites
                };
                if !(job.action == JobAction::AllowWrite
                    && from == FailoverFailbackState::WritesEnabled)
                {
                    job.prev_tp_state = Some(Some(from));
                    tp.failover_failback_state = to;
                    tp.last_update_ms = t;
                    tp.last_job_state = JobState::Running;
                    tp_change = Some((cluster.to_string(), Some(from), to));
                }
            }
            JobAction::ResyncPrep => {
                job.work_ms = costs.resync_prep_ms;
                // The mirror is an existing reverse policy on the target, or a new `<name>_mirror`.
                let p = self.clusters[cluster].synciq.policies[id].clone();
                // The route index: a scan of the target's policies per job start was
                // quadratic in a 1000-policy failover.
                let existing = self.clusters.get(&p.target_cluster).and_then(|tc| {
                    tc.synciq
                        .policies
                        .with_route(cluster, &p.target_path, &p.source_root_path)
                        .map(|q| (q.id.clone(), q.name.clone()))
                });
                let mid = match existing {
                    Some((mid, _)) => {
                        job.mirror_existing = true;
                        mid
                    }
                    None => random_hex(&mut self.rng, 32),
                };
                job.mirror_id = Some(mid);
                // The target's record for this policy (B's record for P) starts creating the
                // resync policy; clients such as CoprHD poll exactly this record.
                let creating = FailoverFailbackState::CreatingResyncPolicy;
                if let Some(mut tp) = self
                    .clusters
                    .get_mut(&p.target_cluster)
                    .filter(|tc| tc.up)
                    .and_then(|tc| tc.synciq.target_policies.get_mut(id))
                {
                    let from = tp.failover_failback_state;
                    job.prev_tp_state = Some(Some(from));
                    tp.failover_failback_state = creating;
                    tp.last_update_ms = t;
                    tp_change = Some((p.target_cluster.clone(), Some(from), creating));
                }
                job.id = id.to_string();
            }
        }
        let ctx = job.ctx.clone();
        self.clusters
            .get_mut(cluster)
            .expect("exists")
            .synciq
            .jobs
            .insert(id.to_string(), job);
        if let Some((on, from, to)) = tp_change {
            let e = AuditEntry::new(t, &on, "syncIQ", "sync.target_policy.state", id)
                .ctx(&ctx)
                .detail(json!({"from": state_name(from), "to": to}));
            self.push_audit(e);
        }
    }

    /// Start queued jobs while slots are free (queue order = creation order).
    pub fn start_queued(&mut self, cluster: &str, t: u64) {
        loop {
            let Some(c) = self.clusters.get(cluster) else {
                return;
            };
            if c.synciq.settings.service != SyncService::On || !has_slot(&c.synciq) {
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
                if tgt.is_empty() {
                    // A target host no simulated cluster answers at: OneFS accepts the policy
                    // and fails the job when it cannot connect.
                    let host = self.clusters[cluster]
                        .synciq
                        .policies
                        .get(id)
                        .map_or_else(String::new, |p| p.target_host.clone());
                    let why = format!(
                        "Unable to connect to target cluster {host}: connection refused (no cluster answers at that address)"
                    );
                    self.end_job(cluster, id, JobState::Failed, Some(why), t);
                } else if let Some(why) = self.link_problem(&src, &tgt) {
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
        let mut tp_changes: Vec<TpChange> = Vec::new();
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
                        if tp.failover_failback_state.is_writable() {
                            state = JobState::Failed;
                            why = Some(format!("target directory on {} is writable", job.target));
                        }
                    }
                }
                let src_guid = self.clusters[cluster].guid.clone();
                if let Some(mut p) = self
                    .clusters
                    .get_mut(cluster)
                    .and_then(|c| c.synciq.policies.get_mut(id))
                {
                    p.last_job_state = state;
                    if state == JobState::Finished && job.action == JobAction::Run {
                        p.synced = job.snapshot.clone();
                        p.last_success_ms = job.started_ms.map(|s| s as i64);
                    }
                }
                let tgt_up = self.clusters.get(&job.target).is_some_and(|c| c.up);
                if job.action == JobAction::Run && tgt_up && started {
                    let tc = self.clusters.get_mut(&job.target).expect("exists");
                    if state == JobState::Finished {
                        replace_subtree(&mut tc.files, &job.target_path, &job.snapshot);
                        let mut tp =
                            tc.synciq
                                .target_policies
                                .get_or_insert_with(id, || TargetPolicy {
                                    id: id.to_string(),
                                    name: job.policy_name.clone(),
                                    source_cluster_guid: src_guid,
                                    source_host: cluster.to_string(),
                                    target_path: job.target_path.clone(),
                                    last_job_state: JobState::Finished,
                                    failover_failback_state: FailoverFailbackState::WritesDisabled,
                                    last_update_ms: t,
                                    last_good: SharedSnapshot::default(),
                                });
                        tp.last_good = job.snapshot.clone();
                        tp.last_job_state = JobState::Finished;
                        tp.last_update_ms = t;
                    } else if let Some(mut tp) = tc.synciq.target_policies.get_mut(id) {
                        tp.last_job_state = state;
                        tp.last_update_ms = t;
                    }
                }
            }
            JobAction::AllowWrite | JobAction::AllowWriteRevert => {
                let c = self.clusters.get_mut(cluster).expect("exists");
                if let Some(mut tp) = c.synciq.target_policies.get_mut(id) {
                    tp.last_job_state = state;
                    if let Some(prev) = job.prev_tp_state {
                        let from = tp.failover_failback_state;
                        let to = if state == JobState::Finished {
                            replace_subtree(&mut c.files, &tp.target_path, &tp.last_good);
                            if job.action == JobAction::AllowWrite {
                                FailoverFailbackState::WritesEnabled
                            } else {
                                FailoverFailbackState::WritesDisabled
                            }
                        } else {
                            prev.unwrap_or(from)
                        };
                        tp.failover_failback_state = to;
                        tp.last_update_ms = t;
                        tp_changes.push(TpChange::new(cluster, id, Some(from), Some(to)));
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
                    if tc.synciq.policies.contains_key(&mid) {
                        let mut m = tc.synciq.policies.get_mut(&mid).expect("present");
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
                                last_job_state: JobState::Unknown,
                                last_started_ms: None,
                                last_success_ms: None,
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
                    // Source: rolled back to the common baseline; its local target record for
                    // the mirror makes the path read-only (A is now the mirror's target).
                    let tc = self.clusters.get_mut(&job.target).expect("exists");
                    let tguid = tc.guid.clone();
                    let mname = tc.synciq.policies[&mid].name.clone();
                    if let Some(mut tp) = tc.synciq.target_policies.get_mut(id) {
                        let from = tp.failover_failback_state;
                        let to = FailoverFailbackState::ResyncPolicyCreated;
                        tp.failover_failback_state = to;
                        tp.last_update_ms = t;
                        tp_changes.push(TpChange::new(&job.target, id, Some(from), Some(to)));
                    }
                    let sc = self.clusters.get_mut(cluster).expect("exists");
                    replace_subtree(&mut sc.files, &p.source_root_path, &baseline);
                    let disabled = FailoverFailbackState::WritesDisabled;
                    let before = sc
                        .synciq
                        .target_policies
                        .get(&mid)
                        .map(|r| r.failover_failback_state);
                    let mut rec =
                        sc.synciq
                            .target_policies
                            .get_or_insert_with(&mid, || TargetPolicy {
                                id: mid.clone(),
                                name: mname,
                                source_cluster_guid: tguid,
                                source_host: job.target.clone(),
                                target_path: p.source_root_path.clone(),
                                last_job_state: JobState::Unknown,
                                failover_failback_state: disabled,
                                last_update_ms: t,
                                last_good: SharedSnapshot::default(),
                            });
                    rec.last_good = baseline;
                    rec.failover_failback_state = disabled;
                    rec.last_update_ms = t;
                    tp_changes.push(TpChange::new(cluster, &mid, before, Some(disabled)));
                    if let Some(mut sp) = sc.synciq.policies.get_mut(id) {
                        sp.enabled = false;
                        sp.last_job_state = JobState::Finished;
                        policy_audits.push(
                            AuditEntry::new(t, cluster, "syncIQ", "sync.policy.update", id)
                                .ctx(&job.ctx)
                                .detail(json!({"name": sp.name, "enabled": false})),
                        );
                    }
                } else if started {
                    // Undo the start: the target's record goes back to what it was.
                    if let (Some(Some(prev)), Some(mut tp)) = (
                        job.prev_tp_state,
                        self.clusters
                            .get_mut(&job.target)
                            .and_then(|tc| tc.synciq.target_policies.get_mut(id)),
                    ) {
                        let from = tp.failover_failback_state;
                        tp.failover_failback_state = prev;
                        tp.last_update_ms = t;
                        tp_changes.push(TpChange::new(&job.target, id, Some(from), Some(prev)));
                    }
                    let sc = self.clusters.get_mut(cluster).expect("exists");
                    if let Some(mut sp) = sc.synciq.policies.get_mut(id) {
                        sp.last_job_state = state;
                    }
                }
            }
        }
        // Report (on the cluster that ran the job): the target host as the policy names it.
        let target_host = self.clusters[cluster]
            .synciq
            .policies
            .get(id)
            .filter(|_| matches!(job.action, JobAction::Run | JobAction::Test))
            .map_or_else(|| job.target.clone(), |p| p.target_host.clone());
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
            source_host: cluster.to_string(),
            total_files: job.total_files,
            files_transferred: (job.changed_files as f64 * frac) as u64,
            total_data_bytes: job.changed_bytes,
            bytes_transferred: (job.changed_bytes as f64 * frac) as u64,
            errors: why.iter().cloned().collect(),
            initial: false,
        });
        // The target keeps its own report of a replication that reached it.
        let reached = job.start_checked || !job.needs_link();
        if matches!(job.action, JobAction::Run | JobAction::Test) && started && reached {
            let r = self.clusters[cluster].synciq.reports.last().cloned();
            if let (Some(r), Some(tc)) = (r, self.clusters.get_mut(&job.target)) {
                tc.synciq.target_reports.push(r);
            }
        }
        let mut e = AuditEntry::new(t, cluster, "syncIQ", "sync.job.finish", id)
            .ctx(&job.ctx)
            .detail(json!({"action": job.action.as_str(), "job_state": state.as_str(), "policy_name": job.policy_name}));
        if !done {
            e = e.error(&why.clone().unwrap_or_else(|| state.as_str().to_string()));
        }
        self.push_audit(e);
        for ch in tp_changes {
            let e = AuditEntry::new(t, &ch.cluster, "syncIQ", "sync.target_policy.state", &ch.tp)
                .ctx(&job.ctx)
                .detail(json!({"from": state_name(ch.from), "to": state_name(ch.to)}));
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

#[cfg(test)]
mod report_log_tests {
    use super::*;
    use proptest::prelude::*;

    fn report(job_id: u64) -> Report {
        Report {
            id: format!("{job_id}-p"),
            job_id,
            policy_id: "id".into(),
            policy_name: "p".into(),
            action: JobAction::Run,
            state: JobState::Finished,
            start_ms: 0,
            end_ms: 0,
            source_root_path: "/ifs/a".into(),
            target_path: "/ifs/a".into(),
            target_host: "b".into(),
            source_host: "a".into(),
            total_files: 0,
            files_transferred: 0,
            total_data_bytes: 0,
            bytes_transferred: 0,
            errors: vec![],
            initial: false,
        }
    }

    /// Bodies as reports have them: a short own part, then one of a few long ends that
    /// share their last part (and sometimes a short or empty body).
    fn body() -> impl Strategy<Value = Vec<u8>> {
        let common: Vec<u8> = (0..400u32)
            .map(|i| b"ab,:\"{}0"[(i % 8) as usize])
            .collect();
        (
            prop::collection::vec(prop::sample::select(b"ab,:0".to_vec()), 0..12),
            0usize..4,
        )
            .prop_map(move |(head, kind)| {
                let mut b = head;
                match kind {
                    0 => b.extend_from_slice(&common),
                    1 => {
                        b.extend_from_slice(b"x");
                        b.extend_from_slice(&common[100..]);
                    }
                    2 => b.extend_from_slice(&common[..300]),
                    _ => {}
                }
                b
            })
    }

    proptest! {
        /// Whatever is kept shared, every report is served exactly as it was rendered, in
        /// any order of first reads, again and again; another epoch renders afresh.
        #[test]
        fn report_log_serves_the_rendered_bodies(
            bodies in prop::collection::vec(body(), 1..12),
            order in prop::collection::vec(any::<prop::sample::Index>(), 0..30),
        ) {
            let mut log = ReportLog::default();
            for i in 0..bodies.len() {
                log.push(report(i as u64));
            }
            let render = |r: &Report, ep: Epoch| {
                let mut b = bodies[r.job_id as usize].clone();
                if ep != Epoch::default() {
                    b.push(b'!');
                }
                Bytes::from(b)
            };
            for ix in order {
                let i = ix.index(bodies.len());
                prop_assert_eq!(&log.rendered(i, Epoch::default(), render)[..], &bodies[i][..]);
            }
            let copy = log.clone();
            for (i, b) in bodies.iter().enumerate() {
                prop_assert_eq!(&log.rendered(i, Epoch::default(), render)[..], &b[..]);
                prop_assert_eq!(&copy.rendered(i, Epoch::default(), render)[..], &b[..]);
                let other = Epoch::from_unix_s(1);
                prop_assert_eq!(log.rendered(i, other, render), render(&log.items[i], other));
            }
        }
    }
}
