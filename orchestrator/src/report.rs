//! The run report: one record per step instance plus the run outcome. Its JSON form is a
//! stable schema (field names do not change; new fields may be added).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::plan::{StepId, StepInstance};
use crate::run_spec::{Mode, RunKind};

/// Why a step was not attempted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SkipReason {
    /// A SyncIQ step of the same policy failed upstream.
    UpstreamFailed { step: StepId, policy: String },
    /// Validation (or block-on-warning) stopped the run before any cut-over.
    ValidationFailed { step: StepId },
    /// The zone cut-over gate held: some zone policies' final sync failed.
    ZoneGate {
        zone: String,
        failed_policies: Vec<String>,
    },
    /// Uncontrolled failover: the source cannot be reached.
    SourceUnreachable,
    /// The run was paused waiting for an operator and this step never became ready.
    WaitingForOperator,
    /// A networking step of the zone failed before it (safety rule S2: a failed source
    /// rename or SPN removal never lets the target take the same name). In zone modes the
    /// zone's cut-over was rolled back (S3) and its `allow_write`s are skipped with this too.
    NetworkingFailed { step: StepId, zone: String },
}

impl SkipReason {
    /// Short text for tables.
    pub fn short(&self) -> String {
        match self {
            SkipReason::UpstreamFailed { step, policy } => {
                format!("upstream_failed({step}[{policy}])")
            }
            SkipReason::ValidationFailed { step } => format!("validation_failed({step})"),
            SkipReason::ZoneGate {
                zone,
                failed_policies,
            } => format!("zone_gate({zone}: {})", failed_policies.join(",")),
            SkipReason::SourceUnreachable => "source_unreachable".into(),
            SkipReason::WaitingForOperator => "waiting_for_operator".into(),
            SkipReason::NetworkingFailed { step, zone } => {
                format!("networking_failed({step}[zone {zone}])")
            }
        }
    }
}

/// A step instance's status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum StepStatus {
    Pending,
    Running,
    Succeeded,
    Failed {
        error: String,
    },
    Skipped {
        reason: SkipReason,
    },
    Manual {
        instructions: String,
        confirmed: bool,
    },
    /// The step has nothing to do in this run (mode, option, no mapping); the reason says
    /// why, so every seed step appears in every report (safety rule S6).
    NotApplicable {
        reason: String,
    },
}

impl StepStatus {
    /// The bare status name (`succeeded`, `skipped`, ...), as scenario `expect` uses it.
    pub fn name(&self) -> &'static str {
        match self {
            StepStatus::Pending => "pending",
            StepStatus::Running => "running",
            StepStatus::Succeeded => "succeeded",
            StepStatus::Failed { .. } => "failed",
            StepStatus::Skipped { .. } => "skipped",
            StepStatus::Manual { .. } => "manual",
            StepStatus::NotApplicable { .. } => "not_applicable",
        }
    }

    /// Whether the step is over (nothing more will happen to it in this run).
    pub fn is_terminal(&self) -> bool {
        !matches!(self, StepStatus::Pending | StepStatus::Running)
            && !matches!(
                self,
                StepStatus::Manual {
                    confirmed: false,
                    ..
                }
            )
    }

    /// Whether the step counts as done well.
    pub fn is_ok(&self) -> bool {
        matches!(
            self,
            StepStatus::Succeeded
                | StepStatus::NotApplicable { .. }
                | StepStatus::Manual {
                    confirmed: true,
                    ..
                }
        )
    }
}

/// One step instance in the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepRecord {
    pub idx: usize,
    pub seed_no: String,
    pub step: StepId,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zone: Option<String>,
    pub deps: Vec<usize>,
    #[serde(flatten)]
    pub status: StepStatus,
    /// Virtual (or wall) ms since the run started.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_ms: Option<u64>,
    /// Position of the start/end event in the run's event order (ties in time broken).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_seq: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_seq: Option<u64>,
    /// Whether the step changed anything (false when it found the work already done).
    pub acted: bool,
    /// A failed step lost contact after it may have acted: its effect is unknown.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub indeterminate: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl StepRecord {
    /// A fresh pending record for a plan instance.
    pub fn pending(inst: &StepInstance, mode: Mode) -> Self {
        StepRecord {
            idx: inst.idx,
            seed_no: inst.step.seed_no(mode).to_string(),
            step: inst.step,
            policy: inst.policy.clone(),
            zone: inst.zone.clone(),
            deps: inst.deps.clone(),
            status: StepStatus::Pending,
            start_ms: None,
            end_ms: None,
            start_seq: None,
            end_seq: None,
            acted: false,
            indeterminate: false,
            detail: None,
        }
    }
}

/// How the run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Every step succeeded (or was confirmed / not applicable).
    Succeeded,
    /// Some policies failed over, some steps failed or were skipped.
    Partial,
    /// Nothing was failed over.
    Failed,
    /// Validation stopped the run; preparation was rolled back.
    Blocked,
    /// Stopped by an operator or a crash and not resumed.
    Aborted,
    /// Waiting for an operator to confirm manual steps.
    Paused,
}

impl Outcome {
    /// snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Succeeded => "succeeded",
            Outcome::Partial => "partial",
            Outcome::Failed => "failed",
            Outcome::Blocked => "blocked",
            Outcome::Aborted => "aborted",
            Outcome::Paused => "paused",
        }
    }
}

/// The whole report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub schema: u32,
    pub run_id: String,
    pub kind: RunKind,
    pub mode: Mode,
    pub from: String,
    pub to: String,
    pub policies: Vec<String>,
    pub outcome: Outcome,
    pub started_ms: u64,
    pub ended_ms: u64,
    /// `ended_ms - started_ms`.
    pub makespan_ms: u64,
    pub steps: Vec<StepRecord>,
    /// Schedules cached by step 1b, by policy.
    pub cached_schedules: BTreeMap<String, String>,
    /// Validation warnings (and other non-fatal findings).
    pub warnings: Vec<String>,
    /// The orchestrator's config replication jobs at the end, by policy (`enabled`,
    /// `user_disabled`).
    #[serde(default)]
    pub config_jobs: BTreeMap<String, String>,
    /// Policies whose configuration came from the config job's cache (the source could not
    /// be read: uncontrolled failover), with the cache's age; `available: false` when there
    /// was none and nothing was copied.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub config_cache: BTreeMap<String, CachedConfig>,
    /// Why the run ended as it did, when the statuses alone do not say it (e.g. "zone
    /// finance rolled back: rename_source_smartconnect failed").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome_detail: Option<String>,
    /// Config objects the run deliberately removed, with their full definitions (safety
    /// rule S1: a removed object's definition is journaled before it is deleted and
    /// reported here, so nothing exists nowhere without a record).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub removed_config: Vec<RemovedConfig>,
    /// Data the run left without a writable copy reachable by its clients' names, and why
    /// (DESIGN §6 I7: a run may leave data unavailable only if it says so).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unavailable: Vec<Unavailable>,
    /// The makespan against its lower bound and the barrier baseline (DESIGN §8; computed
    /// by `makespan.rs` from the durations measured in this run). Absent in reports written
    /// before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub performance: Option<Performance>,
    /// The readiness tree of step 3 (`validate`): cluster → zone → pool → policy, every
    /// check `ok | warning | error` with what to fix (see `readiness`). Absent when the run
    /// never validated, and in reports written before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub readiness: Option<crate::readiness::Readiness>,
}

/// How the run's makespan compares with what any schedule could reach and with a phased
/// run (DESIGN §8). All durations are the ones measured in this run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Performance {
    /// max(critical path, every cluster's job work / its job slots).
    pub lower_bound_ms: u64,
    /// The term that set the bound: `critical_path` or `job_slots(<cluster>)`.
    pub lower_bound_term: String,
    /// The longest chain of measured durations along the DAG's edges.
    pub critical_path_ms: u64,
    /// Per cluster with job work: the work of the instances holding one of its SyncIQ job
    /// slots, its slots, and the work over the slots (rounded up).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub job_slots: BTreeMap<String, SlotLoad>,
    /// `makespan_ms / lower_bound_ms` (3 decimals; absent when the bound is 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub makespan_over_lower_bound: Option<f64>,
    /// A tighter valid bound: the lower bound, or a cluster's job bound with the head
    /// before and the tail after its jobs (`SlotLoad::with_head_and_tail_ms`), if larger.
    #[serde(default)]
    pub tight_lower_bound_ms: u64,
    /// `makespan_ms / tight_lower_bound_ms` (3 decimals; absent when the bound is 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub makespan_over_tight_lower_bound: Option<f64>,
    /// The same instances and durations run phase by phase (every instance of one step id,
    /// then the next), jobs within their slots.
    pub barrier_baseline_ms: u64,
    /// `makespan_ms / barrier_baseline_ms` (3 decimals; absent when the baseline is 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pipelined_over_barrier: Option<f64>,
    /// What `dr plan --estimate` predicts for this run's plan before it ran (the default
    /// cost model, calibrated by the clusters' report history in the run's inventory).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimated_ms: Option<u64>,
}

/// One cluster's SyncIQ job load in a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlotLoad {
    pub job_work_ms: u64,
    pub slots: u32,
    /// `job_work_ms / slots`, rounded up.
    pub bound_ms: u64,
    /// `bound_ms` plus the longest chain before the earliest of these jobs and the shortest
    /// chain after any of them: no schedule ends before it.
    #[serde(default)]
    pub with_head_and_tail_ms: u64,
}

impl Performance {
    /// One line for humans: makespan over bound, pipelined over barrier.
    pub fn summary(&self, makespan_ms: u64) -> String {
        let r = |v: Option<f64>| v.map(|x| format!("{x:.3}")).unwrap_or_else(|| "-".into());
        format!(
            "makespan {} ms / lower bound {} ms ({}) = {} (tight bound {} ms: {}); pipelined / barrier {} ms = {}",
            makespan_ms,
            self.lower_bound_ms,
            self.lower_bound_term,
            r(self.makespan_over_lower_bound),
            self.tight_lower_bound_ms,
            r(self.makespan_over_tight_lower_bound),
            self.barrier_baseline_ms,
            r(self.pipelined_over_barrier)
        ) + &self
            .estimated_ms
            .map(|e| format!("; estimated {e} ms"))
            .unwrap_or_default()
    }
}

/// Data of one policy that the run left unavailable to its clients.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unavailable {
    pub policy: String,
    pub reason: String,
}

/// How step 5 got a policy's configuration when the source could not be read
/// (uncontrolled failover): from the config job's cache, or not at all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CachedConfig {
    /// Whether a cached copy existed (and was applied to the target).
    pub available: bool,
    /// Its age when applied, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub age_s: Option<u64>,
}

/// A config object the run removed on purpose (S1), e.g. a source quota after its copy on
/// the target was read back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RemovedConfig {
    /// The cluster it was removed from.
    pub cluster: String,
    /// `quota`, `smb_share`, `nfs_export`, ...
    pub kind: String,
    /// Its path on that cluster.
    pub path: String,
    /// The policy whose step removed it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    /// The object as the cluster returned it before the removal.
    pub definition: serde_json::Value,
}

impl Report {
    /// Status of one step instance, by step id and policy/zone.
    pub fn find(&self, step: StepId, policy: Option<&str>) -> Option<&StepRecord> {
        self.steps
            .iter()
            .find(|r| r.step == step && r.policy.as_deref() == policy)
    }

    /// Counts by status name.
    pub fn status_counts(&self) -> BTreeMap<&'static str, usize> {
        let mut m = BTreeMap::new();
        for r in &self.steps {
            *m.entry(r.status.name()).or_insert(0) += 1;
        }
        m
    }
}
