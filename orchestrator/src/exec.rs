//! The executor: runs a plan's DAG concurrently and records every step instance's status.
//!
//! Rules it keeps (DESIGN.md §2), each enforced here and checked again by the harness:
//! * **Order (I1).** An instance starts only after all its predecessors ended.
//! * **Skip (I2).** When a SyncIQ chain step (`sync_data`, `allow_write`, `resync_prep`) of
//!   policy P fails, every instance downstream of it *for P* is `skipped{upstream_failed}`
//!   without being attempted; other policies go on. Other steps failing are recorded and do
//!   not skip anything. When a gate step (`validate`, `block_on_warning`) fails, everything
//!   downstream is skipped and the preparation (schedules cached by 1b) is rolled back.
//! * **Job slots.** Steps that run a SyncIQ job take one of their cluster's
//!   `max_concurrent_jobs` slots; when slots are short the longest expected jobs start first.
//! * **Serial mode.** `parallel: false` runs one instance at a time, in plan order.
//!
//! The executor is a single future (no spawned tasks): with tokio's paused clock on a
//! current-thread runtime the interleaving, and so the report, is the same for the same seed.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;
use futures::stream::{FuturesUnordered, StreamExt};

use crate::inventory::Inventory;
use crate::papi::PapiClient;
use crate::plan::{Plan, StepId, StepInstance};
use crate::report::{Outcome, Report, SkipReason, StepRecord, StepStatus};
use crate::steps::{self, StepDone, StepError};

/// Mutable state shared by the steps of one run (journaled, so a resumed run has it too).
#[derive(Debug, Default, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RunState {
    /// Schedules cached by step 1b, by policy.
    pub cached_schedules: BTreeMap<String, String>,
    /// Validation warnings.
    pub warnings: Vec<String>,
    /// Original permissions of the shares the data-integrity lock changed, by `zone/share`.
    #[serde(default)]
    pub saved_share_permissions: BTreeMap<String, Vec<crate::papi::SmbPermission>>,
    /// The orchestrator's config replication jobs, by policy: `enabled`, `user_disabled`.
    #[serde(default)]
    pub config_jobs: BTreeMap<String, String>,
    /// Protocols step 1 turned off on the source (`smb`, `nfs`).
    #[serde(default)]
    pub protocols_disabled: Vec<String>,
}

/// Everything a step may use.
#[derive(Debug)]
pub struct RunCtx {
    pub run_id: String,
    pub plan: Plan,
    pub inventory: Inventory,
    pub clusters: BTreeMap<String, PapiClient>,
    /// DNS client for `repoint_dns` (None: DNS steps fail with a clear message).
    pub dns: Option<crate::dns::DnsClient>,
    state: Mutex<RunState>,
    /// Serialises read-modify-write edits of machine-account SPN lists. PAPI's PUT replaces
    /// the whole list, so two zones' SPN steps editing the same account concurrently would
    /// lose one zone's edit (each puts back what it read).
    pub(crate) spn_edit: tokio::sync::Mutex<()>,
    /// Where [`RunCtx::checkpoint`] sends the run state (the run's observer, e.g. a journal).
    checkpoint_to: CheckpointTo,
}

/// The run's observer, for [`RunCtx::checkpoint`] (not `Debug` itself).
#[derive(Default)]
struct CheckpointTo(Mutex<Option<Observer>>);

impl std::fmt::Debug for CheckpointTo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CheckpointTo")
    }
}

impl RunCtx {
    /// New context for a run.
    pub fn new(
        run_id: impl Into<String>,
        plan: Plan,
        inventory: Inventory,
        clusters: BTreeMap<String, PapiClient>,
    ) -> Self {
        RunCtx {
            run_id: run_id.into(),
            plan,
            inventory,
            clusters,
            dns: None,
            state: Mutex::new(RunState::default()),
            spn_edit: tokio::sync::Mutex::new(()),
            checkpoint_to: CheckpointTo::default(),
        }
    }

    /// Use `dns` for the DNS steps.
    pub fn with_dns(mut self, dns: Option<crate::dns::DnsClient>) -> Self {
        self.dns = dns;
        self
    }

    /// Hand the run state to the observer now. A step that saves what it is about to change
    /// (original share permissions, a schedule, which protocols it turns off) calls this
    /// before it changes it: a crash between the change and the step's end would otherwise
    /// lose the saved originals, and a resumed run could not put them back (write-ahead).
    pub fn checkpoint(&self) {
        let to = self
            .checkpoint_to
            .0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        if let Some(o) = to {
            o(&RunEvent::State(self.with_state(|s| s.clone())));
        }
    }

    /// Read or change the shared run state (never held across an await).
    pub fn with_state<R>(&self, f: impl FnOnce(&mut RunState) -> R) -> R {
        let mut guard = self.state.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut guard)
    }
}

/// Confirms manual steps. `drill` supplies a simulated operator; `dr` pauses the run.
pub trait Operator: Send + Sync {
    /// Wait for the operator to confirm `inst`; `false` = nobody will confirm in this run.
    fn confirm<'a>(&'a self, inst: &'a StepInstance, instructions: &'a str) -> BoxFuture<'a, bool>;
}

/// An operator that never confirms: the run ends `paused` at the first manual step.
pub struct AbsentOperator;

impl Operator for AbsentOperator {
    fn confirm<'a>(&'a self, _: &'a StepInstance, _: &'a str) -> BoxFuture<'a, bool> {
        Box::pin(async { false })
    }
}

/// Progress events.
#[derive(Debug, Clone)]
pub enum RunEvent {
    /// Emitted before the step acts (a journal records the intent here).
    StepStarted(StepRecord),
    /// Emitted after the step's result is known, before anything downstream starts.
    StepEnded(StepRecord),
    /// Instances added during the run (the gate rollback).
    StepsAdded(Vec<StepInstance>),
    /// The shared run state after a step ended (cached schedules, warnings).
    State(RunState),
}

/// Observer of progress events (progress bars, the harness, the REST API).
pub type Observer = Arc<dyn Fn(&RunEvent) + Send + Sync>;

enum Finished {
    Done(StepDone, bool),
    Failed(StepError),
}

/// Where an interrupted run left off (from the journal).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Resume {
    /// Every instance the run had, including rollback instances it added.
    pub steps: Vec<StepInstance>,
    /// Their last recorded status. `running` ones were in flight: they run again (steps are
    /// idempotent), as do unconfirmed manual steps (the operator is asked again).
    pub records: Vec<StepRecord>,
    /// Cached schedules and warnings.
    pub state: RunState,
    /// Whether the gate rollback had been added already.
    pub rolled_back: bool,
}

/// Run the plan to completion (or until it pauses) and return the report.
pub async fn execute(
    ctx: Arc<RunCtx>,
    operator: Arc<dyn Operator>,
    observer: Option<Observer>,
) -> Report {
    execute_resumable(ctx, operator, observer, None).await
}

/// Like [`execute`], continuing from `resume` when given.
pub async fn execute_resumable(
    ctx: Arc<RunCtx>,
    operator: Arc<dyn Operator>,
    observer: Option<Observer>,
    resume: Option<Resume>,
) -> Report {
    let mode = ctx.plan.spec.mode;
    let (mut steps, mut records, mut rolled_back, time_offset_ms) = match resume {
        None => {
            let steps: Vec<StepInstance> = ctx.plan.steps.clone();
            let records = steps.iter().map(|s| StepRecord::pending(s, mode)).collect();
            (steps, records, false, 0)
        }
        Some(r) => {
            ctx.with_state(|s| *s = r.state.clone());
            let offset = r
                .records
                .iter()
                .filter_map(|x| x.end_ms.max(x.start_ms))
                .max()
                .unwrap_or(0);
            let records: Vec<StepRecord> = r
                .records
                .into_iter()
                .map(|mut x| {
                    if matches!(
                        x.status,
                        StepStatus::Running
                            | StepStatus::Manual {
                                confirmed: false,
                                ..
                            }
                    ) {
                        x.status = StepStatus::Pending;
                    }
                    x
                })
                .collect();
            (r.steps, records, r.rolled_back, offset)
        }
    };
    let epoch = tokio::time::Instant::now();
    let now_ms = move || time_offset_ms + epoch.elapsed().as_millis() as u64;
    let mut seq: u64 = records
        .iter()
        .filter_map(|r| r.end_seq.max(r.start_seq))
        .max()
        .unwrap_or(0);
    let max_parallel = if ctx.plan.spec.options.parallel {
        usize::MAX
    } else {
        1
    };
    let slot_limit: BTreeMap<String, u32> = ctx
        .inventory
        .clusters
        .iter()
        .map(|(n, c)| (n.clone(), c.max_concurrent_jobs.max(1)))
        .collect();
    let mut slots_used: BTreeMap<String, u32> = BTreeMap::new();
    // Whether a gate may have failed since the rollback check last looked.
    let mut gate_failed_since_check = true;
    *ctx.checkpoint_to
        .0
        .lock()
        .unwrap_or_else(|p| p.into_inner()) = observer.clone();
    let emit = |ev: RunEvent| {
        if let Some(o) = &observer {
            o(&ev)
        }
    };

    let mut running: FuturesUnordered<BoxFuture<'static, (usize, Finished)>> =
        FuturesUnordered::new();

    loop {
        // 1. Settle skips until nothing changes (a skip can make its dependents decidable).
        loop {
            let mut changed = false;
            for i in 0..steps.len() {
                if !matches!(records[i].status, StepStatus::Pending) {
                    continue;
                }
                if !steps[i]
                    .deps
                    .iter()
                    .all(|&d| records[d].status.is_terminal())
                {
                    continue;
                }
                if let Some(reason) = skip_reason(
                    &steps[i],
                    &steps,
                    &records,
                    ctx.plan.spec.controlled,
                    #[cfg(feature = "planted-bugs")]
                    ctx.plan.spec.options.planted_bug,
                ) {
                    seq += 1;
                    let t = now_ms();
                    records[i].status = StepStatus::Skipped { reason };
                    records[i].end_ms = Some(t);
                    records[i].end_seq = Some(seq);
                    emit(RunEvent::StepEnded(records[i].clone()));
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }

        // 2. Roll back the preparation once if a gate failed.
        if !rolled_back && gate_failed_since_check {
            gate_failed_since_check = false;
            if let Some(gate) = failed_gate(&steps, &records) {
                rolled_back = true;
                let cached = ctx.with_state(|s| s.cached_schedules.clone());
                let added = rollback_instances(&steps, &records, &cached, gate);
                for mut inst in added.iter().cloned() {
                    inst.idx = steps.len();
                    records.push(StepRecord::pending(&inst, mode));
                    steps.push(inst);
                }
                if !added.is_empty() {
                    emit(RunEvent::StepsAdded(
                        steps[steps.len() - added.len()..].to_vec(),
                    ));
                }
            }
        }

        // 3. Start what is ready, longest expected jobs first, within slots and parallelism.
        let mut ready: Vec<usize> = (0..steps.len())
            .filter(|&i| {
                matches!(records[i].status, StepStatus::Pending)
                    && steps[i]
                        .deps
                        .iter()
                        .all(|&d| records[d].status.is_terminal())
            })
            .collect();
        ready.sort_by(|&a, &b| {
            steps[b]
                .expected_ms
                .cmp(&steps[a].expected_ms)
                .then(a.cmp(&b))
        });
        if max_parallel == 1 {
            ready.sort();
        }
        for i in ready {
            if steps[i].step == StepId::ZoneGate {
                // The gate is the executor's own decision, from its predecessors' statuses.
                seq += 1;
                let t = now_ms();
                records[i].start_ms = Some(t);
                records[i].start_seq = Some(seq);
                emit(RunEvent::StepStarted(records[i].clone()));
                let failed = zone_gate_failures(&steps[i], &steps, &records);
                seq += 1;
                records[i].end_ms = Some(t);
                records[i].end_seq = Some(seq);
                records[i].status = if failed.is_empty() {
                    records[i].detail = Some("all zone policies synced".into());
                    StepStatus::Succeeded
                } else {
                    gate_failed_since_check = true;
                    StepStatus::Failed {
                        error: format!(
                            "zone gate held: final sync failed for {}; the zone is not cut over",
                            failed.join(", ")
                        ),
                    }
                };
                emit(RunEvent::StepEnded(records[i].clone()));
                continue;
            }
            if running.len() >= max_parallel {
                break;
            }
            if let Some(cluster) = &steps[i].job_slot {
                let used = slots_used.get(cluster).copied().unwrap_or(0);
                let limit = slot_limit.get(cluster).copied().unwrap_or(1);
                if used >= limit {
                    continue;
                }
                slots_used.insert(cluster.clone(), used + 1);
            }
            seq += 1;
            records[i].status = StepStatus::Running;
            records[i].start_ms = Some(now_ms());
            records[i].start_seq = Some(seq);
            emit(RunEvent::StepStarted(records[i].clone()));
            let inst = steps[i].clone();
            let ctx2 = ctx.clone();
            let op = operator.clone();
            running.push(Box::pin(async move {
                tracing::info!(step = %inst.label(), "step started");
                let result = steps::execute(&ctx2, &inst).await;
                let fin = match result {
                    Ok(done) => {
                        let confirmed = match &done.manual {
                            Some(text) => op.confirm(&inst, text).await,
                            None => true,
                        };
                        Finished::Done(done, confirmed)
                    }
                    Err(e) => Finished::Failed(e),
                };
                (inst.idx, fin)
            }));
        }

        // 4. Wait for the next instance to end (a gate decided above may have made more
        // instances ready: go round again first).
        if running.is_empty() && progress_possible(&steps, &records) {
            continue;
        }
        let Some((i, fin)) = running.next().await else {
            break;
        };
        if let Some(cluster) = &steps[i].job_slot {
            if let Some(u) = slots_used.get_mut(cluster) {
                *u = u.saturating_sub(1);
            }
        }
        seq += 1;
        records[i].end_ms = Some(now_ms());
        records[i].end_seq = Some(seq);
        match fin {
            Finished::Done(done, confirmed) => {
                records[i].acted = done.acted;
                records[i].detail = done.detail;
                records[i].status = match done.manual {
                    Some(instructions) => StepStatus::Manual {
                        instructions,
                        confirmed,
                    },
                    None => StepStatus::Succeeded,
                };
            }
            Finished::Failed(e) => {
                tracing::warn!(step = %steps[i].label(), error = %e, "step failed");
                records[i].indeterminate = e.is_indeterminate();
                gate_failed_since_check |= steps[i].step.is_gate();
                records[i].status = StepStatus::Failed { error: e.0 };
            }
        }
        emit(RunEvent::StepEnded(records[i].clone()));
        // Only steps that change the shared state need it journaled (cloning it after every
        // step is quadratic on large runs).
        if changes_run_state(steps[i].step) {
            emit(RunEvent::State(ctx.with_state(|s| s.clone())));
        }
    }

    let outcome = outcome_of(&steps, &records);
    if !ctx.plan.spec.controlled {
        ctx.with_state(|s| {
            s.warnings.push(format!(
                "uncontrolled failover: {from} was unreachable, so its copy was not made read-only; both {from} and {to} may be writable when {from} returns — fail back with resync-prep on {from} before clients reach it",
                from = ctx.plan.spec.from,
                to = ctx.plan.spec.to
            ))
        });
    }
    let ended = now_ms();
    let state = ctx.with_state(|s| s.clone());
    Report {
        schema: 1,
        run_id: ctx.run_id.clone(),
        kind: ctx.plan.spec.kind,
        mode,
        from: ctx.plan.spec.from.clone(),
        to: ctx.plan.spec.to.clone(),
        policies: ctx.plan.policies.iter().map(|p| p.name.clone()).collect(),
        outcome,
        started_ms: 0,
        ended_ms: ended,
        makespan_ms: ended,
        steps: records,
        cached_schedules: state.cached_schedules,
        warnings: state.warnings,
        config_jobs: state.config_jobs,
    }
}

/// Steps that change [`RunState`] (so a journal must record it after they end).
fn changes_run_state(step: StepId) -> bool {
    matches!(
        step,
        StepId::CheckOpenFiles
            | StepId::DisableProtocols
            | StepId::DataIntegrityLock
            | StepId::CacheSchedules
            | StepId::Validate
            | StepId::DisableConfigJobs
            | StepId::EnableConfigJobs
            | StepId::RollbackSchedules
            | StepId::RollbackLock
            | StepId::RollbackConfigJobs
            | StepId::RollbackProtocols
    )
}

/// Why `inst` must be skipped, given its (all terminal) predecessors.
///
/// Gates first (validation, then the zone gate): a failed gate, or a predecessor skipped
/// because of one, skips everything downstream with that reason. Then the per-policy rule:
/// a failed SyncIQ chain step of the same policy (or a same-policy predecessor skipped for
/// that) skips this instance.
pub fn skip_reason(
    inst: &StepInstance,
    steps: &[StepInstance],
    records: &[StepRecord],
    controlled: bool,
    #[cfg(feature = "planted-bugs")] planted: Option<crate::bugs::PlantedBug>,
) -> Option<SkipReason> {
    for &d in &inst.deps {
        let dep = &steps[d];
        match &records[d].status {
            StepStatus::Failed { .. }
                if dep.step.is_validation_gate() && !inst.step.is_rollback() =>
            {
                return Some(SkipReason::ValidationFailed { step: dep.step });
            }
            _ => {}
        }
    }
    // Uncontrolled failover: nothing can act on the source.
    if !controlled && inst.step.needs_source() {
        return Some(SkipReason::SourceUnreachable);
    }
    if inst.step.is_rollback() {
        return None;
    }
    for &d in &inst.deps {
        let dep = &steps[d];
        match &records[d].status {
            StepStatus::Failed { .. } if dep.step.is_validation_gate() => {
                return Some(SkipReason::ValidationFailed { step: dep.step });
            }
            StepStatus::Skipped {
                reason: r @ SkipReason::ValidationFailed { .. },
            } => return Some(r.clone()),
            _ => {}
        }
    }
    for &d in &inst.deps {
        let dep = &steps[d];
        match &records[d].status {
            StepStatus::Failed { .. } if dep.step == StepId::ZoneGate => {
                return Some(SkipReason::ZoneGate {
                    zone: dep.zone.clone().unwrap_or_default(),
                    failed_policies: zone_gate_failures(dep, steps, records),
                });
            }
            StepStatus::Skipped {
                reason: r @ SkipReason::ZoneGate { .. },
            } => return Some(r.clone()),
            _ => {}
        }
    }
    #[cfg(feature = "planted-bugs")]
    if planted == Some(crate::bugs::PlantedBug::SkipLogicOff) {
        return None;
    }
    let policy = inst.policy.as_ref()?;
    for &d in &inst.deps {
        let dep = &steps[d];
        if dep.policy.as_ref() != Some(policy) {
            continue;
        }
        match &records[d].status {
            // Without resync-prep there is no mirror policy to schedule, run or replicate for.
            StepStatus::Skipped {
                reason: SkipReason::SourceUnreachable,
            } if dep.step == StepId::ResyncPrep => return Some(SkipReason::SourceUnreachable),
            StepStatus::Skipped {
                reason: SkipReason::SourceUnreachable,
            } => {}
            StepStatus::Failed { .. } if dep.step.is_synciq_chain() => {
                return Some(SkipReason::UpstreamFailed {
                    step: dep.step,
                    policy: policy.clone(),
                })
            }
            StepStatus::Skipped {
                reason: r @ SkipReason::UpstreamFailed { .. },
            } => return Some(r.clone()),
            _ => {}
        }
    }
    None
}

/// The zone policies whose final sync (or config sync) did not succeed, for a zone gate.
pub fn zone_gate_failures(
    gate: &StepInstance,
    steps: &[StepInstance],
    records: &[StepRecord],
) -> Vec<String> {
    let mut out: Vec<String> = gate
        .deps
        .iter()
        .filter(|&&d| {
            steps[d].step == StepId::SyncData && !matches!(records[d].status, StepStatus::Succeeded)
        })
        .filter_map(|&d| steps[d].policy.clone())
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Whether some pending instance has all its predecessors over.
fn progress_possible(steps: &[StepInstance], records: &[StepRecord]) -> bool {
    (0..steps.len()).any(|i| {
        matches!(records[i].status, StepStatus::Pending)
            && steps[i]
                .deps
                .iter()
                .all(|&d| records[d].status.is_terminal())
    })
}

/// The rollback instances for a failed gate: put back what the preparation changed.
fn rollback_instances(
    steps: &[StepInstance],
    records: &[StepRecord],
    cached_schedules: &BTreeMap<String, String>,
    gate: usize,
) -> Vec<StepInstance> {
    let did = |step: StepId| {
        steps
            .iter()
            .filter(move |s| s.step == step && records[s.idx].status == StepStatus::Succeeded)
    };
    let mk = |step: StepId, policy: Option<String>| StepInstance {
        idx: 0,
        step,
        policy,
        zone: None,
        actor: crate::plan::Actor::Source,
        deps: vec![gate],
        job_slot: None,
        expected_ms: 0,
    };
    let mut out = Vec::new();
    // A lock that failed half-way may have locked some shares: roll back either way.
    if steps.iter().any(|s| {
        s.step == StepId::DataIntegrityLock
            && matches!(
                records[s.idx].status,
                StepStatus::Succeeded | StepStatus::Failed { .. }
            )
    }) {
        out.push(mk(StepId::RollbackLock, None));
    }
    // Which schedules to put back comes from the cached schedules in the run state, not from
    // the records' `acted`: a `cache_schedules` redone after a crash finds the schedule
    // already cleared and reports `acted: false`, yet the schedule still has to come back.
    let had_schedule = |s: &&StepInstance| {
        s.policy
            .as_ref()
            .and_then(|p| cached_schedules.get(p))
            .is_some_and(|sched| !sched.is_empty())
    };
    for s in did(StepId::CacheSchedules).filter(had_schedule) {
        out.push(mk(StepId::RollbackSchedules, s.policy.clone()));
    }
    if did(StepId::DisableConfigJobs).next().is_some() {
        let mut i = mk(StepId::RollbackConfigJobs, None);
        i.actor = crate::plan::Actor::Orchestrator;
        out.push(i);
    }
    if steps.iter().any(|s| {
        s.step == StepId::DisableProtocols
            && matches!(
                records[s.idx].status,
                StepStatus::Succeeded | StepStatus::Failed { .. }
            )
    }) {
        out.push(mk(StepId::RollbackProtocols, None));
    }
    out
}

fn failed_gate(steps: &[StepInstance], records: &[StepRecord]) -> Option<usize> {
    steps
        .iter()
        .find(|s| s.step.is_gate() && matches!(records[s.idx].status, StepStatus::Failed { .. }))
        .map(|s| s.idx)
}

fn failed_validation(steps: &[StepInstance], records: &[StepRecord]) -> bool {
    steps.iter().any(|s| {
        s.step.is_validation_gate() && matches!(records[s.idx].status, StepStatus::Failed { .. })
    })
}

/// The run outcome from the final statuses (DESIGN.md §2).
pub fn outcome_of(steps: &[StepInstance], records: &[StepRecord]) -> Outcome {
    if failed_validation(steps, records) {
        return Outcome::Blocked;
    }
    if records.iter().any(|r| !r.status.is_terminal()) {
        return Outcome::Paused;
    }
    // In an uncontrolled failover the source-side steps are skipped by design.
    let expected_skip = |r: &StepRecord| {
        matches!(
            r.status,
            StepStatus::Skipped {
                reason: SkipReason::SourceUnreachable
            }
        )
    };
    if records.iter().all(|r| r.status.is_ok() || expected_skip(r)) {
        return Outcome::Succeeded;
    }
    let any_cut_over = records
        .iter()
        .any(|r| r.step == StepId::AllowWrite && r.status == StepStatus::Succeeded);
    if any_cut_over {
        Outcome::Partial
    } else {
        Outcome::Failed
    }
}
