//! A small reference model of the *documented* step order and skip rules (DESIGN.md §2),
//! judged against a run's report.
//!
//! The invariant checker (`check.rs`) re-derives the skip rule from the DAG the report carries,
//! so a wrong plan (an edge missing or reversed) passes it. This oracle does not read the
//! plan's edges: it knows from the design which steps must precede which (per policy, per
//! zone, globally) and what a failure skips, and compares the report's statuses and event
//! order with that. Its checks carry ids of their own:
//!
//! | id | rule |
//! |---|---|
//! | `doc_order` | documented predecessors ended before a step started (e.g. `allow_write` → `resync_prep`, `allow_write` → `remove_source_quotas`) |
//! | `doc_skip` | exactly the documented downstream steps of a failed SyncIQ step (same policy), of a failed gate, or of a held zone gate are skipped, with the documented reason; nothing else is |
//! | `doc_outcome` | the run outcome follows from the statuses |
//! | `config_jobs` | `enable_config_jobs[P]` succeeds iff `resync_prep[P]` succeeded (I10 as far as the report shows it) |
//! | `fault_effect` | a step hit by an unconditional job fault (`syncjob_fail`, `allow_write_fail`, `resync_prep_fail` on that step and policy) is reported failed |
//! | `no_fault_success` | a run with no faults in a healthy world succeeds |

use std::collections::{BTreeMap, BTreeSet};

use orchestrator::{Mode, Outcome, Report, SkipReason, StepId, StepRecord, StepStatus};
use sim_onefs::FaultEffect;

use crate::scenario::{OperatorSpec, Scenario};

/// Ids of the oracle's checks.
pub const ORACLE_CHECKS: [&str; 6] = [
    "doc_order",
    "doc_skip",
    "doc_outcome",
    "config_jobs",
    "fault_effect",
    "no_fault_success",
];

/// Scope of an ordering rule.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Scope {
    /// Instances of the same policy.
    Policy,
    /// Every instance of `before` precedes every instance of `after`.
    All,
    /// Zone modes: instances of the same zone (policy-level ones by the policy's zone).
    Zone,
    /// Same zone, or both without a zone.
    ZoneOrGlobal,
}

/// The documented "must end before" rules for `mode`. Keep in step with DESIGN.md §2.
fn order_rules(mode: Mode) -> Vec<(StepId, StepId, Scope)> {
    use Scope::*;
    use StepId::*;
    let mut r = vec![
        // The SyncIQ chain and what hangs off it.
        (SyncData, AllowWrite, Policy),
        (AllowWrite, ResyncPrep, Policy),
        (ResyncPrep, RestoreSchedule, Policy),
        (ResyncPrep, RunMirror, Policy),
        (ResyncPrep, EnableConfigJobs, Policy),
        (CacheSchedules, RestoreSchedule, Policy),
        (AllowWrite, FailoverQuotas, Policy),
        (AllowWrite, RemoveSourceQuotas, Policy),
        // Preparation, then begin, validate, block-on-warning, then any change.
        (CheckOpenFiles, Begin, All),
        (DisableProtocols, Begin, All),
        (DataIntegrityLock, Begin, All),
        (CacheSchedules, Begin, All),
        (Begin, Validate, All),
        (Validate, BlockOnWarning, All),
    ];
    for gate in [Validate, BlockOnWarning] {
        for after in [
            DisableConfigJobs,
            SyncData,
            SyncConfig,
            DfsRenameShares,
            AllowWrite,
            RenameSourceSmartconnect,
        ] {
            r.push((gate, after, All));
        }
    }
    let net = [
        RenameSourceSmartconnect,
        RemoveSourceSpns,
        MoveSmartconnectToTarget,
        AddTargetSpns,
        RepointDns,
    ];
    for w in net.windows(2) {
        r.push((w[0], w[1], ZoneOrGlobal));
    }
    match mode {
        Mode::SynciqPolicy | Mode::Dfs => {
            // 14–18 after the per-policy chains.
            r.push((RunMirror, RenameSourceSmartconnect, All));
        }
        Mode::AccessZone | Mode::IpPool => {
            // Zone cut-over gate: networking and allow-write wait for every zone policy's
            // final sync; networking precedes allow-write.
            r.push((SyncData, RenameSourceSmartconnect, Zone));
            r.push((SyncData, AllowWrite, Zone));
            r.push((RepointDns, AllowWrite, Zone));
        }
    }
    r
}

/// Steps skipped (same policy) when a SyncIQ chain step fails.
fn downstream_of(step: StepId) -> &'static [StepId] {
    use StepId::*;
    match step {
        SyncData => &[
            SyncConfig,
            DfsRenameShares,
            AllowWrite,
            ResyncPrep,
            RestoreSchedule,
            RunMirror,
            FailoverQuotas,
            RemoveSourceQuotas,
            EnableConfigJobs,
        ],
        AllowWrite => &[
            ResyncPrep,
            RestoreSchedule,
            RunMirror,
            FailoverQuotas,
            RemoveSourceQuotas,
            EnableConfigJobs,
        ],
        // Quotas (12/16, 13/17) come after restore_schedule (11/15) in the documented order.
        ResyncPrep => &[
            RestoreSchedule,
            RunMirror,
            EnableConfigJobs,
            FailoverQuotas,
            RemoveSourceQuotas,
        ],
        _ => &[],
    }
}

/// Position of the preparation and validation steps in the documented global order
/// (1, 1 opt, 1a, 1b, 2, 3, 3a); every other step (except rollbacks) comes after all of them.
fn global_pos(step: StepId) -> u8 {
    use StepId::*;
    match step {
        CheckOpenFiles => 0,
        DisableProtocols => 1,
        DataIntegrityLock => 2,
        CacheSchedules => 3,
        Begin => 4,
        Validate => 5,
        BlockOnWarning => 6,
        _ => 7,
    }
}

/// Gates whose failure blocks the run before any cut-over: validation (3, 3a) and the
/// protections the operator asked for (1 opt, 1a) — the executor does not fail over without
/// them. Everything after such a gate in the global order is skipped with
/// `validation_failed{gate}`; rollbacks run *because* of it.
fn validation_gate_for(step: StepId, recs: &[StepRecord]) -> Option<StepId> {
    if step.is_rollback() {
        return None;
    }
    let mut gates: Vec<StepId> = recs
        .iter()
        .filter(|x| x.step.is_validation_gate() && failed(x))
        .map(|x| x.step)
        .collect();
    gates.sort_by_key(|g| global_pos(*g));
    gates
        .into_iter()
        .find(|g| global_pos(step) > global_pos(*g))
}

/// Zone modes: the steps behind a zone's cut-over gate — the zone's networking, every zone
/// policy's `allow_write` and what hangs off it, and `refresh_clients` (which waits for every
/// policy chain). DESIGN.md §2: networking and allow-write wait for the gate; the per-policy
/// chain waits for allow-write.
fn behind_zone_gate(step: StepId) -> bool {
    use StepId::*;
    step.is_networking()
        || matches!(
            step,
            AllowWrite
                | ResyncPrep
                | RestoreSchedule
                | FailoverQuotas
                | RemoveSourceQuotas
                | RunMirror
                | EnableConfigJobs
                | RefreshClients
        )
}

/// Zone modes: zone → the zone policies whose final sync failed (only zones whose gate is
/// held, i.e. with at least one).
fn held_zones(report: &Report, zones: &BTreeMap<String, String>) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    if !matches!(report.mode, Mode::AccessZone | Mode::IpPool) {
        return out;
    }
    for x in report
        .steps
        .iter()
        .filter(|x| x.step == StepId::SyncData && failed(x))
    {
        if let Some(p) = &x.policy {
            if let Some(z) = zones.get(p) {
                out.entry(z.clone()).or_default().push(p.clone());
            }
        }
    }
    for v in out.values_mut() {
        v.sort();
        v.dedup();
    }
    out
}

fn label(r: &StepRecord) -> String {
    match (&r.policy, &r.zone) {
        (Some(p), _) => format!("{}[{p}]", r.step),
        (None, Some(z)) => format!("{}[zone {z}]", r.step),
        _ => r.step.to_string(),
    }
}

/// What the oracle needs besides the report.
pub struct OracleInput<'a> {
    pub scenario: &'a Scenario,
    pub report: &'a Report,
}

/// Run every oracle check; returns (id, violations) for each id in [`ORACLE_CHECKS`].
pub fn judge(input: &OracleInput<'_>) -> Vec<(&'static str, Vec<String>)> {
    vec![
        ("doc_order", doc_order(input)),
        ("doc_skip", doc_skip(input)),
        ("doc_outcome", doc_outcome(input)),
        ("config_jobs", config_jobs(input)),
        ("fault_effect", fault_effect(input)),
        ("no_fault_success", no_fault_success(input)),
    ]
}

fn policy_zones(scn: &Scenario) -> BTreeMap<String, String> {
    // A policy's zone: the zone whose base path contains its source path on the source.
    let mut out = BTreeMap::new();
    let Some(src) = scn.world.clusters.iter().find(|c| c.name == scn.run.from) else {
        return out;
    };
    for p in &scn.world.policies {
        let zone = src
            .zones
            .iter()
            .filter(|z| {
                p.source_path == z.base_path
                    || p.source_path.starts_with(&format!("{}/", z.base_path))
            })
            .max_by_key(|z| z.base_path.len())
            .map(|z| z.name.clone())
            .unwrap_or_else(|| "System".into());
        out.insert(p.name.clone(), zone);
    }
    out
}

fn doc_order(input: &OracleInput<'_>) -> Vec<String> {
    let recs = &input.report.steps;
    let zones = policy_zones(input.scenario);
    let zone_of = |r: &StepRecord| -> Option<String> {
        r.zone
            .clone()
            .or_else(|| r.policy.as_ref().and_then(|p| zones.get(p).cloned()))
    };
    let mut v = Vec::new();
    for (before, after, scope) in order_rules(input.report.mode) {
        for b in recs.iter().filter(|r| r.step == after) {
            let Some(start) = b.start_seq else { continue };
            for a in recs.iter().filter(|r| r.step == before) {
                let in_scope = match scope {
                    Scope::All => true,
                    Scope::Policy => a.policy.is_some() && a.policy == b.policy,
                    Scope::Zone => zone_of(a).is_some() && zone_of(a) == zone_of(b),
                    Scope::ZoneOrGlobal => a.zone == b.zone,
                };
                if !in_scope {
                    continue;
                }
                match a.end_seq {
                    Some(end) if end < start => {}
                    Some(end) => v.push(format!(
                        "{} started (event {start}) before {} ended (event {end}); the design orders {before} before {after}",
                        label(b),
                        label(a)
                    )),
                    None => v.push(format!(
                        "{} started although {} never ended; the design orders {before} before {after}",
                        label(b),
                        label(a)
                    )),
                }
            }
        }
    }
    v
}

fn failed(r: &StepRecord) -> bool {
    matches!(r.status, StepStatus::Failed { .. })
}

/// The documented skip reason of `r`, if it must be skipped. The rules in the executor's
/// precedence: a failed validation gate first, then a held zone gate, then the per-policy
/// SyncIQ chain.
fn expected_skip(
    report: &Report,
    r: &StepRecord,
    zones: &BTreeMap<String, String>,
    held: &BTreeMap<String, Vec<String>>,
) -> Option<SkipReason> {
    let recs = &report.steps;
    if r.step.is_rollback() {
        return None;
    }
    if let Some(g) = validation_gate_for(r.step, recs) {
        return Some(SkipReason::ValidationFailed { step: g });
    }
    if behind_zone_gate(r.step) {
        let zone = r
            .zone
            .clone()
            .or_else(|| r.policy.as_ref().and_then(|p| zones.get(p).cloned()));
        let held_here = match &zone {
            Some(z) => held.get_key_value(z),
            // refresh_clients waits for every policy of the run (one zone in zone modes).
            None if r.step == StepId::RefreshClients => held.iter().next(),
            None => None,
        };
        if let Some((zone, failed_policies)) = held_here {
            return Some(SkipReason::ZoneGate {
                zone: zone.clone(),
                failed_policies: failed_policies.clone(),
            });
        }
    }
    let p = r.policy.as_ref()?;
    for chain in [StepId::SyncData, StepId::AllowWrite, StepId::ResyncPrep] {
        if !downstream_of(chain).contains(&r.step) {
            continue;
        }
        if let Some(f) = recs
            .iter()
            .find(|x| x.step == chain && x.policy.as_ref() == Some(p))
        {
            if failed(f) {
                return Some(SkipReason::UpstreamFailed {
                    step: chain,
                    policy: p.clone(),
                });
            }
        }
    }
    None
}

/// The rollback instances a failed gate must add (DESIGN.md §2: "the preparation is rolled
/// back (lock lifted, schedules restored, config jobs re-enabled)"; and protocols turned back
/// on): one for each preparation step that took (or may have taken) effect. They run after the gate, are never
/// skipped, and exist only when a gate failed.
fn rollback_checks(report: &Report, paused: bool) -> Vec<String> {
    let recs = &report.steps;
    let gate = recs.iter().find(|x| x.step.is_gate() && failed(x));
    let ok = |x: &StepRecord| x.status == StepStatus::Succeeded;
    let mut want: BTreeSet<(StepId, Option<String>)> = BTreeSet::new();
    if gate.is_some() {
        for x in recs {
            let w = match x.step {
                // A lock or protocol shutdown that failed half-way may have taken effect
                // in part: it is rolled back either way.
                StepId::DataIntegrityLock if ok(x) || failed(x) => {
                    Some((StepId::RollbackLock, None))
                }
                StepId::CacheSchedules if ok(x) && x.acted => {
                    Some((StepId::RollbackSchedules, x.policy.clone()))
                }
                StepId::DisableConfigJobs if ok(x) => Some((StepId::RollbackConfigJobs, None)),
                StepId::DisableProtocols if ok(x) || failed(x) => {
                    Some((StepId::RollbackProtocols, None))
                }
                _ => None,
            };
            want.extend(w);
        }
    }
    let mut v = Vec::new();
    let have: BTreeSet<(StepId, Option<String>)> = recs
        .iter()
        .filter(|x| x.step.is_rollback())
        .map(|x| (x.step, x.policy.clone()))
        .collect();
    for (step, policy) in want.difference(&have) {
        v.push(format!(
            "{step}{} is missing: {} failed, so the preparation it undoes must be rolled back",
            policy
                .as_ref()
                .map(|p| format!("[{p}]"))
                .unwrap_or_default(),
            gate.map(label).unwrap_or_default()
        ));
    }
    for x in recs.iter().filter(|x| x.step.is_rollback()) {
        if !want.contains(&(x.step, x.policy.clone())) {
            v.push(format!(
                "{} ran but {}",
                label(x),
                match gate {
                    None => "no gate failed".to_string(),
                    Some(_) => "the preparation step it undoes did not take effect".to_string(),
                }
            ));
            continue;
        }
        match (&x.status, x.start_seq, gate.and_then(|g| g.end_seq)) {
            (StepStatus::Skipped { reason }, _, _) => v.push(format!(
                "{} skipped ({}) but a rollback always runs",
                label(x),
                reason.short()
            )),
            (_, None, _) if !paused => {
                v.push(format!("{} never started after the gate failed", label(x)))
            }
            (_, Some(start), Some(end)) if start <= end => v.push(format!(
                "{} started (event {start}) before the gate ended (event {end})",
                label(x)
            )),
            _ => {}
        }
    }
    v
}

fn doc_skip(input: &OracleInput<'_>) -> Vec<String> {
    let report = input.report;
    let zones = policy_zones(input.scenario);
    let held = held_zones(report, &zones);
    let paused = report.outcome == Outcome::Paused;
    let mut v = Vec::new();
    // The zone gate itself is held exactly when a zone policy's final sync failed.
    for g in report.steps.iter().filter(|x| x.step == StepId::ZoneGate) {
        let Some(z) = &g.zone else { continue };
        match (held.get(z), &g.status) {
            (Some(ps), StepStatus::Succeeded) => v.push(format!(
                "{} succeeded although the final sync failed for {}",
                label(g),
                ps.join(", ")
            )),
            (None, StepStatus::Failed { error }) => v.push(format!(
                "{} held ({error}) although no zone policy's final sync failed",
                label(g)
            )),
            _ => {}
        }
    }
    v.extend(rollback_checks(report, paused));
    for r in &report.steps {
        if r.step == StepId::ZoneGate {
            // Judged above; a gate behind a failed validation gate is skipped like any step.
            if validation_gate_for(r.step, &report.steps).is_none() {
                continue;
            }
        }
        let exp = expected_skip(report, r, &zones, &held);
        match (&r.status, &exp) {
            (StepStatus::Skipped { reason }, Some(e)) if reason != e => v.push(format!(
                "{} skipped for {} but the design gives {}",
                label(r),
                reason.short(),
                e.short()
            )),
            (StepStatus::Skipped { reason }, None)
                if !(paused && *reason == SkipReason::WaitingForOperator) =>
            {
                v.push(format!(
                    "{} skipped ({}) but nothing the design names failed upstream of it",
                    label(r),
                    reason.short()
                ))
            }
            (StepStatus::Skipped { .. }, Some(_)) => {}
            (status, Some(e)) => v.push(format!(
                "{} is {} but the design says it must be skipped ({})",
                label(r),
                status.name(),
                e.short()
            )),
            (StepStatus::Pending | StepStatus::Running, None) if !paused => v.push(format!(
                "{} is still {} after the run ended: every policy step must be attempted",
                label(r),
                r.status.name()
            )),
            _ => {}
        }
    }
    v
}

fn doc_outcome(input: &OracleInput<'_>) -> Vec<String> {
    let recs = &input.report.steps;
    // Blocked: a validation gate stopped the run before any change. A held zone gate is not
    // a block: the zone's syncs ran; the zone stays on the source and the run failed.
    let gate_failed = recs
        .iter()
        .any(|r| r.step.is_validation_gate() && failed(r));
    let waiting = recs.iter().any(|r| {
        !r.status.is_terminal()
            || matches!(
                r.status,
                StepStatus::Skipped {
                    reason: SkipReason::WaitingForOperator
                }
            )
    });
    let all_ok = recs.iter().all(|r| r.status.is_ok());
    let cut_over = recs
        .iter()
        .any(|r| r.step == StepId::AllowWrite && r.status == StepStatus::Succeeded);
    let want = if gate_failed {
        Outcome::Blocked
    } else if waiting {
        Outcome::Paused
    } else if all_ok {
        Outcome::Succeeded
    } else if cut_over {
        Outcome::Partial
    } else {
        Outcome::Failed
    };
    if input.report.outcome != want {
        vec![format!(
            "outcome is {} but the statuses give {}",
            input.report.outcome.as_str(),
            want.as_str()
        )]
    } else {
        vec![]
    }
}

fn config_jobs(input: &OracleInput<'_>) -> Vec<String> {
    let recs = &input.report.steps;
    let mut v = Vec::new();
    for r in recs.iter().filter(|r| r.step == StepId::EnableConfigJobs) {
        let Some(p) = &r.policy else { continue };
        let resync_ok = recs.iter().any(|x| {
            x.step == StepId::ResyncPrep
                && x.policy.as_ref() == Some(p)
                && x.status == StepStatus::Succeeded
        });
        let enabled = r.status == StepStatus::Succeeded;
        if enabled && !resync_ok {
            v.push(format!(
                "{} succeeded although resync_prep[{p}] did not",
                label(r)
            ));
        }
        if !enabled && resync_ok && input.report.outcome != Outcome::Paused && !failed(r) {
            v.push(format!(
                "{} is {} although resync_prep[{p}] succeeded",
                label(r),
                r.status.name()
            ));
        }
    }
    v
}

fn fault_effect(input: &OracleInput<'_>) -> Vec<String> {
    let mut v = Vec::new();
    for (i, f) in input.scenario.faults.iter().enumerate() {
        let w = &f.when;
        let unconditional = w.zone.is_none()
            && w.method.is_none()
            && w.route.is_none()
            && w.nth.is_none()
            && w.at.is_none()
            && w.probability.is_none();
        let job_fault = matches!(
            f.effect,
            FaultEffect::SyncjobFail { .. }
                | FaultEffect::AllowWriteFail
                | FaultEffect::ResyncPrepFail
        );
        let (Some(step), Some(policy)) = (&w.step, &w.policy) else {
            continue;
        };
        if !unconditional || !job_fault {
            continue;
        }
        // The cluster the job is posted to.
        let job_cluster = match StepId::parse(step) {
            Some(StepId::SyncData | StepId::ResyncPrep) => &input.scenario.run.from,
            _ => &input.scenario.run.to,
        };
        if w.cluster.as_ref().is_some_and(|c| c != job_cluster) {
            continue;
        }
        for r in input
            .report
            .steps
            .iter()
            .filter(|r| r.step.as_str() == step && r.policy.as_deref() == Some(policy.as_str()))
        {
            // Only if the step had a job to start: a started instance that reports success
            // without acting found the work done already (idempotency) — none can here.
            if r.start_seq.is_some() && r.status == StepStatus::Succeeded && r.acted {
                v.push(format!(
                    "{} succeeded although faults[{i}] ({}) fails every such job",
                    label(r),
                    f.effect.name()
                ));
            }
        }
    }
    v
}

fn no_fault_success(input: &OracleInput<'_>) -> Vec<String> {
    let scn = input.scenario;
    let healthy = scn.faults.is_empty()
        && scn.world.clusters.iter().all(|c| c.synciq_service)
        && scn
            .world
            .policies
            .iter()
            .all(|p| p.enabled && p.last_job_state.is_none())
        && scn.run.options.job_timeout_ms >= 3_600_000
        && scn.operator != OperatorSpec::Absent;
    if !healthy {
        return vec![];
    }
    let report = input.report;
    let blocked_by_warning = scn.run.options.block_on_warning && !report.warnings.is_empty();
    let ok = report.outcome == Outcome::Succeeded
        || (blocked_by_warning && report.outcome == Outcome::Blocked);
    if ok {
        return vec![];
    }
    let bad: BTreeSet<String> = report
        .steps
        .iter()
        .filter(|r| !r.status.is_ok())
        .map(|r| {
            format!(
                "{} {}{}",
                label(r),
                r.status.name(),
                match &r.status {
                    StepStatus::Failed { error } => format!(" ({error})"),
                    _ => String::new(),
                }
            )
        })
        .collect();
    vec![format!(
        "a healthy world with no faults ended {}: {}",
        report.outcome.as_str(),
        bad.into_iter().collect::<Vec<_>>().join("; ")
    )]
}
