//! The executor: runs a plan's DAG concurrently and records every step instance's status.
//!
//! Rules it keeps (DESIGN.md §2), each enforced here and checked again by the harness:
//! * **Order (I1).** An instance starts only after all its predecessors ended.
//! * **Skip (I2).** When a SyncIQ chain step (`sync_data`, `allow_write`, `resync_prep`) of
//!   policy P fails, every instance downstream of it *for P* is `skipped{upstream_failed}`
//!   without being attempted; other policies go on. Other steps failing are recorded and do
//!   not skip anything (a failed `presync[P]` among them: the lock and everything after it
//!   wait for it to *end*, and the final sync carries its changes). When a gate step (`validate`, `block_on_warning`) fails, everything
//!   downstream is skipped and the preparation (schedules cached by 1b) is rolled back.
//! * **Job slots.** Steps that run a SyncIQ job take one of their cluster's
//!   `max_concurrent_jobs` slots; when slots are short the longest expected jobs start first.
//! * **Serial mode.** `parallel: false` runs one instance at a time, in plan order.
//!
//! The executor is a single future (no spawned tasks): with tokio's paused clock on a
//! current-thread runtime the interleaving, and so the report, is the same for the same seed.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use futures::future::BoxFuture;
use futures::stream::{FuturesUnordered, StreamExt};

use crate::plan::{Plan, StepId, StepInstance};
use crate::ready::Ready;
use crate::report::{Outcome, Report, SkipReason, StepRecord, StepStatus};
use crate::rollback_facts::{chain_failed, failed, may_have_acted, Facts};
use crate::run_spec::Mode;
use crate::steps::catalogue::{self, Run};
use crate::steps::{self, zone_gate};

pub use crate::ctx::{Observer, RunCtx, RunEvent, RunState};
use crate::ctx::{StepDone, StepError};

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
    let (mut steps, mut records, _rolled_back, time_offset_ms) = match resume {
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
    // The graph invariants (`plan::check_graph`: checked for a new plan and for one read
    // back from a journal): positions are indices, edges point to earlier instances.
    for (i, s) in steps.iter().enumerate() {
        assert!(
            s.idx == i && s.deps.iter().all(|&d| d < steps.len() && d != i),
            "plan invariant broken at #{i} ({})",
            s.label()
        );
    }
    assert_eq!(records.len(), steps.len(), "one record per instance");
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
    // Whether a status changed since the rollback check last looked (a rollback is decided
    // from statuses only, so nothing else can make one due).
    let mut statuses_changed = true;
    ctx.checkpoint_to(observer.clone());
    let emit = |ev: RunEvent| {
        if let Some(o) = &observer {
            o(&ev)
        }
    };

    let mut running: FuturesUnordered<BoxFuture<'static, (usize, Finished)>> =
        FuturesUnordered::new();

    // What the rollback check looks up on every status change, built once: the instances
    // the run starts with by (step, policy, zone) (instances added later are indexed per
    // check: they come after these, and the first of a key counts), and the run's policies
    // (added instances are rollbacks, never `cache_schedules`).
    let base_steps: Vec<StepInstance> = steps.clone();
    let decide = |s: &StepInstance| matches!(catalogue::spec(s.step).run, Run::Decide(_));
    let mut ready = Ready::new(max_parallel == 1);
    ready.add(&steps, &records, 0, &decide);
    let base_index = Index::new(&base_steps);
    let policies = spec_policies(&base_steps);
    // What the rollback check reads of the statuses, kept as instances end.
    let mut facts = Facts::default();
    facts.add(&steps, &records);
    // Per zone: its policies' allow-writes (the plan's; rollbacks add none).
    let zone_aws: Vec<Vec<usize>> = ctx
        .plan
        .zones
        .iter()
        .map(|z| {
            z.policies
                .iter()
                .filter_map(|p| base_index.get(StepId::AllowWrite, Some(p), None))
                .collect()
        })
        .collect();
    // Job slots by the cluster numbers `ready` gives (grown as instances are added).
    let mut slots_used: Vec<u32> = Vec::new();
    let mut slots_limit: Vec<u32> = Vec::new();
    let grow_slots = |ready: &Ready, used: &mut Vec<u32>, limit: &mut Vec<u32>| {
        for c in &ready.clusters()[limit.len()..] {
            limit.push(slot_limit.get(c).copied().unwrap_or(1));
            used.push(0);
        }
    };
    grow_slots(&ready, &mut slots_used, &mut slots_limit);

    loop {
        // 1. Settle skips until nothing changes (a skip can make its dependents decidable).
        // A pass visits the open instances in index order, as a scan of all would: one that
        // opens behind the pass's position is visited in this pass, one before it in the next.
        loop {
            let mut changed = false;
            let mut next = 0;
            while let Some(i) = ready.next_unsettled(next) {
                next = i + 1;
                if !matches!(records[i].status, StepStatus::Pending) {
                    continue;
                }
                if let Some(reason) = &steps[i].not_applicable {
                    seq += 1;
                    records[i].status = StepStatus::NotApplicable {
                        reason: reason.clone(),
                    };
                    records[i].end_ms = Some(now_ms());
                    records[i].end_seq = Some(seq);
                    ready.over(&steps, &records, i);
                    emit(RunEvent::StepEnded(records[i].clone()));
                    changed = true;
                    continue;
                }
                if ready.unmet(i) != 0 || ready.is_cleared(i) {
                    continue;
                }
                let reason = skip_reason(
                    &steps[i],
                    &steps,
                    &records,
                    ctx.plan.spec.controlled,
                    #[cfg(feature = "planted-bugs")]
                    ctx.plan.spec.options.planted_bug,
                );
                if reason.is_none() && skip_is_final(&steps[i]) {
                    // An open instance waiting for a slot was asked again on every pass
                    // (a pass per event): N waiting job steps made the run quadratic.
                    ready.clear(i);
                }
                if let Some(reason) = reason {
                    seq += 1;
                    let t = now_ms();
                    records[i].status = StepStatus::Skipped { reason };
                    records[i].end_ms = Some(t);
                    records[i].end_seq = Some(seq);
                    ready.over(&steps, &records, i);
                    emit(RunEvent::StepEnded(records[i].clone()));
                    changed = true;
                    statuses_changed = true;
                }
            }
            if !changed {
                break;
            }
        }

        // 2. Add the rollback instances the statuses now call for (each once).
        if statuses_changed {
            statuses_changed = false;
            for i in ready.take_ended() {
                facts.ended(&steps, &records, i);
            }
            let added = ctx.with_state(|s| {
                rollbacks_needed(
                    &steps,
                    &records,
                    Known {
                        index: &base_index,
                        len: base_steps.len(),
                        policies: &policies,
                        facts: &facts,
                        zone_aws: &zone_aws,
                    },
                    &s.cached_schedules,
                    &ctx.plan.spec,
                    &ctx.plan.zones,
                )
            });
            if !added.is_empty() {
                let first = steps.len();
                for mut inst in added.iter().cloned() {
                    inst.idx = steps.len();
                    records.push(StepRecord::pending(&inst, mode));
                    steps.push(inst);
                }
                ready.add(&steps, &records, first, &decide);
                facts.add(&steps, &records);
                grow_slots(&ready, &mut slots_used, &mut slots_limit);
                emit(RunEvent::StepsAdded(
                    steps[steps.len() - added.len()..].to_vec(),
                ));
                continue;
            }
        }

        // 3. Start what is ready, longest expected jobs first, within slots and parallelism.
        // (`ready` walks the instances ready now in that order, and does not enter a
        // cluster's queue while its slots are all taken: each would be passed over. Once
        // nothing more may run, the next action ends the pass wherever it waits.)
        let mut pass = ready.begin_pass();
        loop {
            let full = running.len() >= max_parallel;
            let Some(i) = ready.next(&mut pass, &|c| match c {
                None => true,
                Some(c) => full || slots_used[c] < slots_limit[c],
            }) else {
                break;
            };
            // Write-ahead: nothing starts once the journal could not be written.
            if ctx.halt.reason().is_some() {
                break;
            }
            let run = match catalogue::spec(steps[i].step).run {
                Run::Act(run) => run,
                Run::Decide(decide) => {
                    // The executor's own decision, from its predecessors' statuses: it
                    // starts and ends at the same instant.
                    seq += 1;
                    let t = now_ms();
                    records[i].start_ms = Some(t);
                    records[i].start_seq = Some(seq);
                    emit(RunEvent::StepStarted(records[i].clone()));
                    statuses_changed = true;
                    seq += 1;
                    records[i].end_ms = Some(t);
                    records[i].end_seq = Some(seq);
                    records[i].status = match decide(&steps[i], &steps, &records) {
                        Ok(done) => {
                            records[i].detail = done.detail;
                            StepStatus::Succeeded
                        }
                        Err(e) => StepStatus::Failed {
                            error: e.to_string(),
                        },
                    };
                    ready.over(&steps, &records, i);
                    emit(RunEvent::StepEnded(records[i].clone()));
                    continue;
                }
            };
            if running.len() >= max_parallel {
                break;
            }
            if let Some(c) = ready.slot(i) {
                if slots_used[c] >= slots_limit[c] {
                    continue;
                }
                slots_used[c] += 1;
            }
            seq += 1;
            records[i].status = StepStatus::Running;
            ready.start(&steps, i);
            records[i].start_ms = Some(now_ms());
            records[i].start_seq = Some(seq);
            emit(RunEvent::StepStarted(records[i].clone()));
            if ctx.halt.reason().is_some() {
                // Its intent is not on disk: it must not act. It never started.
                records[i].status = StepStatus::Pending;
                records[i].start_ms = None;
                records[i].start_seq = None;
                ready.unstart(&steps, i);
                if let Some(c) = ready.slot(i) {
                    slots_used[c] = slots_used[c].saturating_sub(1);
                }
                break;
            }
            let inst = steps[i].clone();
            let ctx2 = ctx.clone();
            let op = operator.clone();
            running.push(Box::pin(async move {
                tracing::info!(step = %inst.label(), "step started");
                let result = steps::act(&ctx2, &inst, run).await;
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
        let halted = ctx.halt.reason().is_some();
        ready.end_pass(&steps, &records);
        if running.is_empty() && !halted && ready.any_startable() {
            continue;
        }
        let Some((i, fin)) = running.next().await else {
            break;
        };
        if let Some(c) = ready.slot(i) {
            assert!(
                slots_used[c] > 0,
                "a job step ended without holding a slot on {}",
                ready.clusters()[c]
            );
            slots_used[c] -= 1;
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
                records[i].status = StepStatus::Failed {
                    error: e.to_string(),
                };
            }
        }
        if records[i].status.is_terminal() {
            ready.over(&steps, &records, i);
        }
        // Rollbacks follow failures, skips and allow-write outcomes only.
        statuses_changed |= !matches!(records[i].status, StepStatus::Succeeded)
            || matches!(steps[i].step, StepId::AllowWrite | StepId::ResyncPrep);
        emit(RunEvent::StepEnded(records[i].clone()));
        // Only steps that change the shared state need it journaled (cloning it after every
        // step is quadratic on large runs).
        if catalogue::spec(steps[i].step).changes_state {
            if let Some(o) = &observer {
                ctx.emit_state(o);
            }
        }
    }

    let (outcome, outcome_detail) = match ctx.halt.reason() {
        // The journal stopped the run: what ran is in the records, the rest is pending.
        Some(why) => (
            Outcome::Aborted,
            Some(format!(
                "stopped: the journal cannot be written ({why}); no step started after that — resume the run once the journal is writable"
            )),
        ),
        None => (
            outcome_of(&steps, &records),
            outcome_detail(&steps, &records),
        ),
    };
    let unavailable = unavailable_data(&ctx.plan, &steps, &records);
    if !ctx.plan.spec.controlled {
        ctx.with_state(|s| {
            s.warn_once(format!(
                "uncontrolled failover: {from} was unreachable, so its copy was not made read-only; both {from} and {to} may be writable when {from} returns — fail back with resync-prep on {from} before clients reach it",
                from = ctx.plan.spec.from,
                to = ctx.plan.spec.to
            ));
            if let Some(w) = source_names_warning(&ctx.plan, &steps, &records) {
                s.warn_once(w);
            }
        });
    }
    let ended = now_ms();
    let state = ctx.with_state(|s| s.clone());
    let mut performance = crate::makespan::analyse(&steps, &records, &slot_limit, ended);
    // Made once at plan time (`runner::plan_run`), with the run's cost model.
    performance.estimated_ms = ctx.plan.estimated_ms;
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
        config_cache: state.config_cache,
        outcome_detail,
        removed_config: state.removed_config,
        unavailable,
        performance: Some(performance),
        readiness: state.readiness,
    }
}

/// Why `inst` must be skipped, given its (all terminal) predecessors
/// (docs/safety-rules.md "Skip rules", in that precedence).
///
/// Gates first (validation, then the zone gate): a failed gate, or a predecessor skipped
/// because of one, skips everything downstream with that reason. Then a failed networking
/// step skips the rest of its zone's networking (and, in zone modes, the zone's cut-over).
/// Then the names-follow-data rule (S2) and the per-policy chain rule.
/// Whether `skip_reason` answering `None` for `inst` (its predecessors all over) stays
/// `None`: it reads only its predecessors' statuses, which are final once over, and the run
/// mode — except the run-wide clients' refresh, which looks at every networking step.
fn skip_is_final(inst: &StepInstance) -> bool {
    !(inst.step == StepId::RefreshClients && inst.zone.is_none())
}

pub fn skip_reason(
    inst: &StepInstance,
    steps: &[StepInstance],
    records: &[StepRecord],
    controlled: bool,
    #[cfg(feature = "planted-bugs")] planted: Option<crate::bugs::PlantedBug>,
) -> Option<SkipReason> {
    let deps = || inst.deps.iter().map(|&d| (&steps[d], &records[d].status));
    for (dep, status) in deps() {
        if matches!(status, StepStatus::Failed { .. })
            && dep.step.is_validation_gate()
            && !inst.step.is_rollback()
        {
            return Some(SkipReason::ValidationFailed { step: dep.step });
        }
    }
    // A blocked run stops everything after the gate, before any other rule (an
    // uncontrolled run blocked at validation must not make the target writable).
    if !inst.step.is_rollback() {
        for (_, status) in deps() {
            if let StepStatus::Skipped {
                reason: r @ SkipReason::ValidationFailed { .. },
            } = status
            {
                return Some(r.clone());
            }
        }
    }
    // Uncontrolled failover: nothing can act on the source.
    if !controlled && inst.step.needs_source() && !acts_without_source(inst.step) {
        return Some(SkipReason::SourceUnreachable);
    }
    // S3's undo stops at a failed undo, the mirror of S2 going forward: undoing the target's
    // SPN removal after the target kept them would put one SPN on two accounts, and giving
    // the source its names back while the target still answers for them would have two
    // clusters answer one name.
    let partner = match inst.step {
        StepId::RollbackRemoveSourceSpns => Some(StepId::RollbackAddTargetSpns),
        StepId::RollbackRenameSourceSmartconnect => Some(StepId::RollbackMoveSmartconnectToTarget),
        _ => None,
    };
    if let Some(partner) = partner {
        for (dep, status) in deps().filter(|(d, _)| d.step == partner) {
            if matches!(
                status,
                StepStatus::Failed { .. } | StepStatus::Skipped { .. }
            ) {
                return Some(SkipReason::NetworkingFailed {
                    step: dep.step,
                    zone: dep.zone.clone().unwrap_or_default(),
                });
            }
        }
    }
    if inst.step.is_rollback() {
        return None;
    }
    for (dep, status) in deps() {
        match status {
            StepStatus::Failed { .. } if dep.step == StepId::ZoneGate => {
                return Some(SkipReason::ZoneGate {
                    zone: dep.zone.clone().unwrap_or_default(),
                    failed_policies: zone_gate::failures(dep, steps, records),
                });
            }
            StepStatus::Skipped {
                reason: r @ SkipReason::ZoneGate { .. },
            } => return Some(r.clone()),
            _ => {}
        }
    }
    #[allow(unused_mut)]
    let mut networking_rule = true;
    #[cfg(feature = "planted-bugs")]
    if matches!(
        planted,
        Some(crate::bugs::PlantedBug::SpnsAddedAfterFailedRemoval)
    ) {
        networking_rule = false; // Wrong on purpose: the chain goes on after a failure.
    }
    // S2/S3: a failed networking step stops what comes after it in its zone. (The S3 undo
    // steps' own failures stop only their partner undo, above; what follows the undo —
    // the clients' refresh — runs whatever they did.)
    for (dep, status) in deps()
        .filter(|_| networking_rule)
        .filter(|(d, _)| !d.step.is_networking_rollback())
    {
        match status {
            StepStatus::Failed { .. } if dep.step.is_networking() => {
                return Some(SkipReason::NetworkingFailed {
                    step: dep.step,
                    zone: dep.zone.clone().unwrap_or_default(),
                });
            }
            StepStatus::Skipped {
                reason: r @ SkipReason::NetworkingFailed { .. },
            } => return Some(r.clone()),
            _ => {}
        }
    }
    // The clients' refresh tells clients that names moved. After a failed networking step
    // (S2; in zone modes the cut-over is undone, S3) they did not, and the chain ends it
    // waits for may carry another skip reason that hides this (`source_unreachable` in an
    // uncontrolled run), so it looks at the networking steps themselves.
    if inst.step == StepId::RefreshClients && inst.zone.is_none() && networking_rule {
        if let Some(s) = steps.iter().find(|s| {
            s.step.is_networking() && matches!(records[s.idx].status, StepStatus::Failed { .. })
        }) {
            return Some(SkipReason::NetworkingFailed {
                step: s.step,
                zone: s.zone.clone().unwrap_or_default(),
            });
        }
    }
    // S2: a zone-level networking step (and what waits for the networking) inherits the
    // skip of a networking step before it, and SyncIQ-mode networking waits for the zone
    // policies' allow-write: names follow writable data.
    if inst.policy.is_none() {
        for (dep, status) in deps() {
            match status {
                StepStatus::Skipped {
                    reason: r @ SkipReason::UpstreamFailed { .. },
                } if dep.step.is_networking() => return Some(r.clone()),
                StepStatus::Failed { .. }
                    if dep.step == StepId::AllowWrite && inst.step.is_networking() =>
                {
                    return Some(SkipReason::UpstreamFailed {
                        step: StepId::AllowWrite,
                        policy: dep.policy.clone().unwrap_or_default(),
                    })
                }
                StepStatus::Skipped {
                    reason: r @ SkipReason::UpstreamFailed { .. },
                } if dep.step == StepId::AllowWrite && inst.step.is_networking() => {
                    return Some(r.clone())
                }
                _ => {}
            }
        }
    }
    #[cfg(feature = "planted-bugs")]
    if matches!(planted, Some(crate::bugs::PlantedBug::SkipLogicOff)) {
        return None;
    }
    #[allow(unused_mut)]
    let mut quota_bug = false;
    #[cfg(feature = "planted-bugs")]
    if matches!(
        planted,
        Some(crate::bugs::PlantedBug::QuotaRemovalAfterFailedCopy)
    ) {
        quota_bug = true; // Wrong on purpose: the originals go although no copy exists.
    }
    // Zone modes, seed 16+17: the zone's quota step runs when some zone policy failed over
    // (its resync-prep succeeded; the step moves only those policies' quotas), and is
    // skipped when none did, with the reason of the first such policy by name.
    if inst.step == StepId::FailoverZoneQuotas {
        let mut preps: Vec<(&StepInstance, &StepStatus)> = deps()
            .filter(|(d, _)| d.step == StepId::ResyncPrep)
            .collect();
        preps.sort_by(|a, b| a.0.policy.cmp(&b.0.policy));
        if preps
            .iter()
            .any(|(_, st)| matches!(st, StepStatus::Succeeded))
        {
            return None;
        }
        return preps.first().and_then(|(d, st)| match st {
            StepStatus::Failed { .. } => Some(SkipReason::UpstreamFailed {
                step: StepId::ResyncPrep,
                policy: d.policy.clone().unwrap_or_default(),
            }),
            StepStatus::Skipped { reason } => Some(reason.clone()),
            _ => None,
        });
    }
    let policy = inst.policy.as_ref()?;
    for (dep, status) in deps() {
        if dep.policy.as_ref() != Some(policy) {
            continue;
        }
        match status {
            // Without resync-prep there is no mirror policy to schedule, run or replicate for.
            StepStatus::Skipped {
                reason: SkipReason::SourceUnreachable,
            } if dep.step == StepId::ResyncPrep => return Some(SkipReason::SourceUnreachable),
            // S1: a failed quota copy keeps the source's quotas, and nothing else.
            StepStatus::Failed { .. }
                if dep.step == StepId::FailoverQuotas
                    && inst.step == StepId::RemoveSourceQuotas
                    && !quota_bug =>
            {
                return Some(SkipReason::UpstreamFailed {
                    step: dep.step,
                    policy: policy.clone(),
                });
            }
            StepStatus::Failed { .. } if dep.step == StepId::FailoverQuotas => {}
            StepStatus::Failed { .. } if dep.step.stops_policy_chain() => {
                return Some(SkipReason::UpstreamFailed {
                    step: dep.step,
                    policy: policy.clone(),
                })
            }
            StepStatus::Skipped {
                reason:
                    SkipReason::UpstreamFailed {
                        step: StepId::FailoverQuotas,
                        ..
                    },
            } => {}
            StepStatus::Skipped {
                reason: r @ SkipReason::UpstreamFailed { .. },
            } => return Some(r.clone()),
            _ => {}
        }
    }
    None
}

/// Uncontrolled failover: the names (SmartConnect zone names and aliases, DFS shares) that
/// moved to the target while the source's own copies of them could not be renamed. The
/// source answers nothing while it is down, but it would answer them again when it comes
/// back: two clusters serving one name. The admin keeps it off the client network and
/// renames them there before anything else.
fn source_names_warning(
    plan: &Plan,
    steps: &[StepInstance],
    records: &[StepRecord],
) -> Option<String> {
    let ok = |i: usize| matches!(records[i].status, StepStatus::Succeeded);
    let naming = &plan.spec.options.naming;
    let mut names: Vec<String> = Vec::new();
    for s in steps {
        match s.step {
            StepId::MoveSmartconnectToTarget if ok(s.idx) => {
                let zone = plan.zones.iter().find(|z| Some(&z.name) == s.zone.as_ref());
                for m in zone.into_iter().flat_map(|z| &z.mappings) {
                    names.extend(m.names(naming));
                }
            }
            StepId::DfsRenameShares if ok(s.idx) => {
                if let Some(p) = &s.policy {
                    names.push(format!("the DFS shares of {p}"));
                }
            }
            _ => {}
        }
    }
    if names.is_empty() {
        return None;
    }
    names.dedup();
    Some(format!(
        "uncontrolled failover: {to} now serves {list}, but {from} still carries them and will answer them again when it returns — keep {from} off the client network when it returns, rename them there first (SmartConnect zone names and aliases to {orig}<name>, DFS shares to {dfs}<share>), then run resync-prep of each failed-over policy on {from} before failing back",
        from = plan.spec.from,
        to = plan.spec.to,
        list = names.join(", "),
        orig = naming.original_prefix,
        dfs = naming.dfs_prefix
    ))
}

/// Source-side steps that still have work with the source down (uncontrolled failover):
/// `dfs_rename_shares` renames the target's `igls-dfs-X` to `X` (the source's `X` is
/// unreachable, so DFS clients fall through to the target), and `remove_source_spns` edits
/// the source's machine account through the target cluster's AD provider (the domain is
/// up; the seed's "proxied through target cluster"), and so does its S3 undo.
pub(crate) fn acts_without_source(step: StepId) -> bool {
    matches!(
        step,
        StepId::DfsRenameShares | StepId::RemoveSourceSpns | StepId::RollbackRemoveSourceSpns
    )
}

/// A run's instances by (step, policy, zone), built once per call where a rule looks
/// instances up per policy or zone (a run has at most one of each; the first counts).
struct Index<'a>(BTreeMap<(StepId, Option<&'a str>, Option<&'a str>), usize>);

impl<'a> Index<'a> {
    fn new(steps: &'a [StepInstance]) -> Self {
        let mut m = BTreeMap::new();
        for s in steps {
            m.entry((s.step, s.policy.as_deref(), s.zone.as_deref()))
                .or_insert(s.idx);
        }
        Index(m)
    }

    fn get(&self, step: StepId, policy: Option<&str>, zone: Option<&str>) -> Option<usize> {
        self.0.get(&(step, policy, zone)).copied()
    }
}

/// What the executor knows about a run's first `len` instances, built once per run: their
/// [`Index`] and the run's policies ([`spec_policies`]).
#[derive(Clone, Copy)]
struct Known<'k, 'a> {
    index: &'k Index<'a>,
    len: usize,
    policies: &'k [String],
    /// The status facts, up to date.
    facts: &'k Facts,
    /// Per zone of the plan: its policies' allow-writes.
    zone_aws: &'k [Vec<usize>],
}

/// The rollback instances the statuses call for and the run does not have yet
/// (docs/safety-rules.md "Rollbacks"): after a failed gate, after a failed networking step
/// in a zone mode (S3), and per policy whose chain failed before its allow-write (S5).
fn rollbacks_needed(
    steps: &[StepInstance],
    records: &[StepRecord],
    known: Known<'_, '_>,
    cached_schedules: &BTreeMap<String, String>,
    spec: &crate::run_spec::RunSpec,
    zones: &[crate::plan::ZonePlan],
) -> Vec<StepInstance> {
    let mut out: Vec<StepInstance> = Vec::new();
    // The instances the run has already, by (step, policy, zone): this runs after every
    // status change, so the index of the run's first instances is the executor's, and only
    // the instances added since are indexed here (the first of a key counts, and those come
    // first).
    let added = Index::new(&steps[known.len..]);
    let index = Lookup {
        known: known.index,
        added: &added,
    };
    let have = |out: &Vec<StepInstance>, step: StepId, policy: Option<&str>, zone: Option<&str>| {
        index.get(step, policy, zone).is_some()
            || out.iter().any(|s| {
                s.step == step && s.policy.as_deref() == policy && s.zone.as_deref() == zone
            })
    };
    let mk = |step: StepId, policy: Option<&str>, zone: Option<&str>, deps: Vec<usize>| {
        let actor = catalogue::spec(step).actor;
        StepInstance {
            idx: 0,
            step,
            policy: policy.map(str::to_string),
            zone: zone.map(str::to_string),
            actor,
            deps,
            job_slot: None,
            expected_ms: 0,
            not_applicable: None,
        }
    };
    let facts = known.facts;
    let had_schedule = |p: &str| {
        facts.cached.contains(p) && cached_schedules.get(p).is_some_and(|s| !s.is_empty())
    };
    let lock_done = facts.lock_done;
    let cfg_off = facts.cfg_off;
    let protocols_off = facts.protocols_off;
    let policies = known.policies;
    // Put back what the preparation changed, for every policy, after `cause`.
    let prep_rollback = |out: &mut Vec<StepInstance>, cause: usize| {
        if lock_done && !have(out, StepId::RollbackLock, None, None) {
            out.push(mk(StepId::RollbackLock, None, None, vec![cause]));
        }
        for p in policies {
            if had_schedule(p) && !have(out, StepId::RollbackSchedules, Some(p), None) {
                out.push(mk(StepId::RollbackSchedules, Some(p), None, vec![cause]));
            }
        }
        if cfg_off && !have(out, StepId::RollbackConfigJobs, None, None) {
            out.push(mk(StepId::RollbackConfigJobs, None, None, vec![cause]));
        }
        if protocols_off && !have(out, StepId::RollbackProtocols, None, None) {
            out.push(mk(StepId::RollbackProtocols, None, None, vec![cause]));
        }
    };

    // A failed gate: nothing was cut over; put the preparation back.
    if let Some(&gate) = facts.failed_gates.first() {
        prep_rollback(&mut out, gate);
    }

    // S3: a zone cut-over is all or nothing until data is writable. In zone modes the
    // zone's networking is undone in reverse, then the preparation, when a networking step
    // failed (no allow-write has run: they wait for the networking), or when the networking
    // went through but every zone policy's allow-write failed (nothing became writable
    // behind the moved names).
    let zone_mode = matches!(spec.mode, Mode::AccessZone | Mode::IpPool);
    let chain_failed = |i: usize| chain_failed(&records[i]);
    // Zones whose allow-writes are all over, and whether the zone was undone as a whole.
    let mut zone_undone: BTreeMap<&str, bool> = BTreeMap::new();
    if zone_mode {
        let mut undo: Vec<(Option<&str>, Vec<usize>)> = facts
            .failed_networking
            .iter()
            .map(|&f| (steps[f].zone.as_deref(), vec![f]))
            .collect();
        for (z, aws) in zones.iter().zip(known.zone_aws) {
            let aws = aws.clone();
            if aws.is_empty() || !aws.iter().all(|&i| records[i].status.is_terminal()) {
                continue;
            }
            let none_writable = aws
                .iter()
                .all(|&i| records[i].status != StepStatus::Succeeded);
            let whole = none_writable && aws.iter().any(|&i| chain_failed(i));
            zone_undone.insert(z.name.as_str(), whole);
            if whole && !undo.iter().any(|(zn, _)| *zn == Some(z.name.as_str())) {
                undo.push((Some(z.name.as_str()), aws));
            }
        }
        for (zone, cause) in undo {
            let done: Vec<&StepInstance> = facts
                .networking
                .iter()
                .map(|&i| &steps[i])
                .filter(|s| s.zone.as_deref() == zone)
                .filter(|s| may_have_acted(&records[s.idx]))
                .collect();
            let mut prev = cause;
            for s in done.iter().rev() {
                let Some(undo) = s.step.networking_rollback() else {
                    continue;
                };
                if let Some(existing) = index.get(undo, None, zone) {
                    prev.push(existing);
                    continue;
                }
                if out
                    .iter()
                    .any(|x| x.step == undo && x.zone.as_deref() == zone)
                {
                    continue;
                }
                out.push(mk(undo, None, zone, prev.clone()));
                // Instances added in this call get their indices in order after the
                // existing ones; the next one waits for this one and the ones before (the
                // skip rule looks at an undo's partner among them).
                prev.push(steps.len() + out.len() - 1);
            }
            // Clients that reconnected while the names pointed at the target (an NFS mount
            // stays where it was made) reconnect again, to the names now home.
            let last = prev.iter().copied().max().unwrap_or(0);
            // S4 in zone modes: the zone's switched DFS shares go back to the source too,
            // or DFS clients would be referred to the read-only target copy.
            for z in zones.iter().filter(|z| Some(z.name.as_str()) == zone) {
                for p in &z.policies {
                    let switched = index
                        .get(StepId::DfsRenameShares, Some(p), None)
                        .is_some_and(|i| may_have_acted(&records[i]));
                    if switched && !have(&out, StepId::RollbackDfsRenameShares, Some(p), None) {
                        out.push(mk(
                            StepId::RollbackDfsRenameShares,
                            Some(p),
                            None,
                            vec![last],
                        ));
                    }
                }
            }
            let refreshed = have(&out, StepId::RefreshClients, None, zone);
            if zone.is_some() && !refreshed {
                out.push(mk(StepId::RefreshClients, None, zone, vec![last]));
            }
            prep_rollback(&mut out, last);
        }
    }

    // S5: a policy whose chain failed before its allow-write: the source still serves its
    // users, so its own preparation comes off.
    #[allow(unused_mut)]
    let mut per_policy =
        spec.options.on_policy_failure == crate::run_spec::OnPolicyFailure::Rollback;
    #[cfg(feature = "planted-bugs")]
    if matches!(
        spec.options.planted_bug,
        Some(crate::bugs::PlantedBug::NoPolicyRollback)
    ) {
        per_policy = false; // Wrong on purpose.
    }
    if per_policy {
        for aw in facts.chain_failed_aws.iter().map(|&i| &steps[i]) {
            let Some(p) = aw.policy.as_deref().filter(|_| chain_failed(aw.idx)) else {
                continue;
            };
            // Zone modes decide per zone once all its allow-writes are over: a zone undone
            // as a whole has had its whole preparation rolled back already.
            if zone_mode {
                let zone = zones.iter().find(|z| z.policies.iter().any(|x| x == p));
                match zone.and_then(|z| zone_undone.get(z.name.as_str())) {
                    Some(false) => {}
                    _ => continue,
                }
            }
            if lock_done
                && !have(&out, StepId::RollbackLock, None, None)
                && !have(&out, StepId::RollbackLock, Some(p), None)
            {
                out.push(mk(StepId::RollbackLock, Some(p), None, vec![aw.idx]));
            }
            if had_schedule(p) && !have(&out, StepId::RollbackSchedules, Some(p), None) {
                out.push(mk(StepId::RollbackSchedules, Some(p), None, vec![aw.idx]));
            }
            if cfg_off
                && !have(&out, StepId::RollbackConfigJobs, None, None)
                && !have(&out, StepId::RollbackConfigJobs, Some(p), None)
            {
                out.push(mk(StepId::RollbackConfigJobs, Some(p), None, vec![aw.idx]));
            }
            // DFS mode: switched DFS shares would send clients to the read-only copy.
            let switched = index
                .get(StepId::DfsRenameShares, Some(p), None)
                .is_some_and(|i| may_have_acted(&records[i]));
            if switched && !have(&out, StepId::RollbackDfsRenameShares, Some(p), None) {
                out.push(mk(
                    StepId::RollbackDfsRenameShares,
                    Some(p),
                    None,
                    vec![aw.idx],
                ));
            }
        }
    }

    // S5 for the cluster-wide protocol switch: when a policy's chain failed before its
    // allow-write, the source still serves it, so SMB/NFS come back on — once every
    // allow-write and resync-prep is over, and only if no failed-over policy's source copy
    // is still writable (resync-prep succeeded for each), which would invite split brain.
    // Asked only when the protocols are off: this check runs after every allow-write and
    // resync-prep, and its scans of every policy made large runs quadratic for nothing.
    if !(protocols_off && per_policy) || have(&out, StepId::RollbackProtocols, None, None) {
        return out;
    }
    let chain = || {
        let mut c: Vec<usize> = facts.of(StepId::AllowWrite).to_vec();
        c.extend_from_slice(facts.of(StepId::ResyncPrep));
        c.sort_unstable();
        c
    };
    let status_of =
        |step: StepId, p: &str| index.get(step, Some(p), None).map(|i| &records[i].status);
    let any_chain =
        !facts.of(StepId::AllowWrite).is_empty() || !facts.of(StepId::ResyncPrep).is_empty();
    let all_over = || facts.chain_open == 0;
    let stayed = || {
        policies.iter().any(|p| {
            status_of(StepId::AllowWrite, p).is_some_and(|st| *st != StepStatus::Succeeded)
        })
    };
    let source_read_only = || {
        policies.iter().all(|p| {
            status_of(StepId::AllowWrite, p) != Some(&StepStatus::Succeeded)
                || status_of(StepId::ResyncPrep, p) == Some(&StepStatus::Succeeded)
        })
    };
    if any_chain && all_over() && stayed() && source_read_only() {
        out.push(mk(StepId::RollbackProtocols, None, None, chain()));
    }
    out
}

/// The policies of a run, in plan order (from its per-policy instances).
fn spec_policies(steps: &[StepInstance]) -> Vec<String> {
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    steps
        .iter()
        .filter(|s| s.step == StepId::CacheSchedules)
        .filter_map(|s| s.policy.as_deref())
        .filter(|p| seen.insert(p))
        .map(str::to_string)
        .collect()
}

/// An [`Index`] of a run's first instances and one of the instances added after them.
struct Lookup<'k, 'a, 'b> {
    known: &'k Index<'a>,
    added: &'k Index<'b>,
}

impl Lookup<'_, '_, '_> {
    fn get(&self, step: StepId, policy: Option<&str>, zone: Option<&str>) -> Option<usize> {
        self.known
            .get(step, policy, zone)
            .or_else(|| self.added.get(step, policy, zone))
    }
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
    // In an uncontrolled failover the source-side steps are skipped by design. A failed
    // pre-sync costs outage time, not data or a cut-over (the final sync carries its
    // changes): the report says so in a warning, and the outcome is that of the rest.
    let expected_skip = |r: &StepRecord| {
        matches!(
            r.status,
            StepStatus::Skipped {
                reason: SkipReason::SourceUnreachable
            }
        ) || (r.step == StepId::Presync && matches!(r.status, StepStatus::Failed { .. }))
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

/// What the statuses alone do not say about the outcome: a zone whose cut-over was held or
/// rolled back (S3).
fn outcome_detail(steps: &[StepInstance], records: &[StepRecord]) -> Option<String> {
    let mut parts = Vec::new();
    for f in steps
        .iter()
        .filter(|s| s.step.is_networking() && s.zone.is_some() && failed(&records[s.idx]))
    {
        let zone = f.zone.as_deref().unwrap_or_default();
        let undone = steps
            .iter()
            .filter(|s| s.zone.as_deref() == Some(zone) && s.step.is_rollback())
            .all(|s| records[s.idx].status == StepStatus::Succeeded);
        let rolled = steps
            .iter()
            .any(|s| s.zone.as_deref() == Some(zone) && s.step.is_rollback());
        if rolled {
            parts.push(format!(
                "zone {zone} rolled back{}: {} failed",
                if undone {
                    ""
                } else {
                    " (not completely: see the rollback steps)"
                },
                f.step
            ));
        } else {
            parts.push(format!(
                "zone {zone}: {} failed; later networking steps skipped",
                f.step
            ));
        }
    }
    // Zones undone because no allow-write succeeded behind the moved names.
    for z in steps
        .iter()
        .filter(|s| {
            s.step == StepId::RollbackMoveSmartconnectToTarget
                || s.step == StepId::RollbackRenameSourceSmartconnect
        })
        .filter_map(|s| s.zone.as_deref())
        .collect::<BTreeSet<_>>()
    {
        let net_failed = steps.iter().any(|s| {
            s.step.is_networking() && s.zone.as_deref() == Some(z) && failed(&records[s.idx])
        });
        if !net_failed {
            let undone = steps
                .iter()
                .filter(|s| s.zone.as_deref() == Some(z) && s.step.is_rollback())
                .all(|s| records[s.idx].status == StepStatus::Succeeded);
            parts.push(format!(
                "zone {z} rolled back{}: no allow_write succeeded",
                if undone {
                    ""
                } else {
                    " (not completely: see the rollback steps)"
                }
            ));
        }
    }
    for g in steps
        .iter()
        .filter(|s| s.step == StepId::ZoneGate && failed(&records[s.idx]))
    {
        parts.push(format!(
            "zone {} not cut over: zone gate held, preparation rolled back",
            g.zone.as_deref().unwrap_or_default()
        ));
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}

/// Each policy's zone: the first zone listing it, as a scan of the zones for each policy
/// finds (looked up instead: a zone of 1000 policies was half a million comparisons).
fn zones_by_policy(zones: &[crate::plan::ZonePlan]) -> BTreeMap<&str, &crate::plan::ZonePlan> {
    let mut m = BTreeMap::new();
    for z in zones {
        for x in &z.policies {
            m.entry(x.as_str()).or_insert(z);
        }
    }
    m
}

/// Data the run leaves without a writable copy reachable by its clients' names, and why
/// (DESIGN §6 I7: the report must name it). Per policy P:
/// * failed over, but its names still lead to the source (networking not done);
/// * not failed over, but its names lead to the target (where its copy is read-only);
/// * not failed over and the source unreachable (uncontrolled run);
/// * not failed over, and the source still locked or its protocols still off.
fn unavailable_data(
    plan: &crate::plan::Plan,
    steps: &[StepInstance],
    records: &[StepRecord],
) -> Vec<crate::report::Unavailable> {
    use crate::plan::Actor;
    let spec = &plan.spec;
    if spec.kind == crate::run_spec::RunKind::Rehearsal {
        return Vec::new(); // production never left the source
    }
    let (from, to) = (&spec.from, &spec.to);
    let index = Index::new(steps);
    let find = |step: StepId, policy: Option<&str>, zone: Option<&str>| {
        index.get(step, policy, zone).map(|i| &records[i].status)
    };
    // Zones whose S3 undo stopped at an instance that did not succeed.
    let undo_stopped_in: BTreeSet<&str> = steps
        .iter()
        .filter(|s| {
            s.step.is_networking_rollback()
                && !matches!(records[s.idx].status, StepStatus::Succeeded)
        })
        .filter_map(|s| s.zone.as_deref())
        .collect();
    let ok = |st: Option<&StepStatus>| st.is_some_and(StepStatus::is_ok);
    let done = |step: StepId, policy: Option<&str>, zone: Option<&str>| {
        ok(find(step, policy, zone))
            && find(step, policy, zone)
                .is_some_and(|s| !matches!(s, StepStatus::NotApplicable { .. }))
    };
    let manual = steps.iter().any(|s| {
        s.step == StepId::MoveSmartconnectToTarget
            && s.zone.is_none()
            && s.actor == Actor::Target
            && s.not_applicable.is_none()
    });
    let lock_on = steps.iter().any(|s| {
        s.step == StepId::DataIntegrityLock
            && s.not_applicable.is_none()
            && may_have_acted(&records[s.idx])
    });
    let protocols_off = steps.iter().any(|s| {
        s.step == StepId::DisableProtocols
            && s.not_applicable.is_none()
            && may_have_acted(&records[s.idx])
    }) && !done(StepId::RollbackProtocols, None, None);
    let zone_of = zones_by_policy(&plan.zones);
    let mut out = Vec::new();
    for p in plan.policies.iter().map(|p| p.name.as_str()) {
        let failed_over = done(StepId::AllowWrite, Some(p), None);
        // Where P's client-facing names lead at the end: Some(true) = the target.
        let zone = zone_of.get(p).copied();
        let names_moved: Option<bool> = match spec.mode {
            Mode::Dfs => Some(
                done(StepId::DfsRenameShares, Some(p), None)
                    && !done(StepId::RollbackDfsRenameShares, Some(p), None),
            ),
            _ if manual => Some(done(StepId::MoveSmartconnectToTarget, None, None)),
            _ => zone.map(|z| {
                let z = Some(z.name.as_str());
                done(StepId::MoveSmartconnectToTarget, None, z)
                    && !done(StepId::RollbackMoveSmartconnectToTarget, None, z)
            }),
        };
        // Whether clients can use the moved names: the target took the SPNs and the DNS
        // leads there too (Kerberos fails without the SPNs).
        let usable = match spec.mode {
            Mode::Dfs => names_moved,
            _ if manual => names_moved.map(|m| {
                m && done(StepId::AddTargetSpns, None, None) && done(StepId::RepointDns, None, None)
            }),
            _ => zone.map(|z| {
                let z = Some(z.name.as_str());
                names_moved == Some(true)
                    && done(StepId::AddTargetSpns, None, z)
                    && done(StepId::RepointDns, None, z)
            }),
        };
        // An S3 undo that stopped half-way leaves the zone's names in between.
        let undo_stopped = zone.is_some_and(|z| undo_stopped_in.contains(z.name.as_str()));
        let why = if undo_stopped {
            Some(format!(
                "the undo of its zone's networking stopped at a failed step: its names may lead to neither {from} nor {to}; finish the rollback by hand (see the rollback steps)"
            ))
        } else if failed_over {
            match usable {
                Some(true) => None,
                Some(false) => Some(format!(
                    "writable only on {to}, but its client names still lead to {from}: the networking steps did not complete (see the report)"
                )),
                None => Some(format!(
                    "writable only on {to}; no pool mapping moves its names: point clients at {to} by hand"
                )),
            }
        } else if names_moved == Some(true) {
            Some(format!(
                "its client names lead to {to}, where allow_write did not succeed: read-only there"
            ))
        } else if !spec.controlled {
            Some(format!(
                "{from} is unreachable and allow_write on {to} did not succeed: no writable copy"
            ))
        } else if lock_on
            && !done(StepId::RollbackLock, None, None)
            && !done(StepId::RollbackLock, Some(p), None)
        {
            Some(format!(
                "its SMB shares on {from} still carry the data-integrity lock (Deny Everyone): lift it by hand or resume the run"
            ))
        } else if protocols_off {
            Some(format!(
                "SMB/NFS are still off on {from} (cluster-wide): turn them on by hand once no failed-over policy's source copy is writable"
            ))
        } else {
            None
        };
        if let Some(reason) = why {
            out.push(crate::report::Unavailable {
                policy: p.to_string(),
                reason,
            });
        }
    }
    out
}

#[cfg(test)]
mod zones_by_policy_tests {
    use super::zones_by_policy;
    use crate::plan::ZonePlan;
    use proptest::prelude::*;

    proptest! {
        /// The map gives the zone the scan's `find` gave (the first listing the policy).
        #[test]
        fn agrees_with_the_scan(
            lists in proptest::collection::vec(proptest::collection::vec(0u8..6, 0..5), 0..5),
            asked in 0u8..7,
        ) {
            let zones: Vec<ZonePlan> = lists
                .iter()
                .enumerate()
                .map(|(i, l)| ZonePlan {
                    name: format!("z{i}"),
                    base_path: String::new(),
                    mappings: vec![],
                    policies: l.iter().map(|n| format!("p{n}")).collect(),
                })
                .collect();
            let p = format!("p{asked}");
            let scan = zones.iter().find(|z| z.policies.contains(&p));
            let map = zones_by_policy(&zones);
            prop_assert_eq!(map.get(p.as_str()).map(|z| &z.name), scan.map(|z| &z.name));
        }
    }
}
