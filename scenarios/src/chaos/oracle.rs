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

/// Steps that come after the validation gate (skipped when it fails).
fn after_gate(step: StepId) -> bool {
    use StepId::*;
    // Rollback steps run *because* a gate failed.
    !step.as_str().starts_with("rollback_")
        && !matches!(
            step,
            CheckOpenFiles
                | DisableProtocols
                | DataIntegrityLock
                | CacheSchedules
                | Begin
                | Validate
                | RollbackSchedules
        )
        && step != BlockOnWarning
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

/// The documented skip reason of `r`, if it must be skipped.
fn expected_skip(
    report: &Report,
    r: &StepRecord,
    zones: &BTreeMap<String, String>,
) -> Option<SkipReason> {
    let recs = &report.steps;
    if r.step == StepId::RollbackSchedules {
        return None;
    }
    if after_gate(r.step) || (r.step == StepId::BlockOnWarning) {
        // A failed gate upstream of this step (block_on_warning comes after validate).
        for g in [StepId::Validate, StepId::BlockOnWarning] {
            if g == r.step {
                break;
            }
            if recs.iter().any(|x| x.step == g && failed(x)) {
                return Some(SkipReason::ValidationFailed { step: g });
            }
        }
    }
    if matches!(report.mode, Mode::AccessZone | Mode::IpPool)
        && (r.step == StepId::AllowWrite || r.step.is_networking())
    {
        let zone = r
            .zone
            .clone()
            .or_else(|| r.policy.as_ref().and_then(|p| zones.get(p).cloned()));
        if let Some(zone) = zone {
            let mut failed_policies: Vec<String> = recs
                .iter()
                .filter(|x| x.step == StepId::SyncData && failed(x))
                .filter_map(|x| x.policy.clone())
                .filter(|p| zones.get(p) == Some(&zone))
                .collect();
            failed_policies.sort();
            if !failed_policies.is_empty() {
                return Some(SkipReason::ZoneGate {
                    zone,
                    failed_policies,
                });
            }
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
            if let StepStatus::Skipped {
                reason: reason @ (SkipReason::UpstreamFailed { .. } | SkipReason::ZoneGate { .. }),
            } = &f.status
            {
                return Some(reason.clone());
            }
        }
    }
    None
}

fn doc_skip(input: &OracleInput<'_>) -> Vec<String> {
    let report = input.report;
    let zones = policy_zones(input.scenario);
    let paused = report.outcome == Outcome::Paused;
    let mut v = Vec::new();
    for r in &report.steps {
        let exp = expected_skip(report, r, &zones);
        match (&r.status, &exp) {
            // In zone modes a policy whose own final sync failed is also behind the held zone
            // gate; the design allows either reason.
            (StepStatus::Skipped { reason }, Some(e))
                if reason != e && !zone_gate_or_own_sync(reason, e) =>
            {
                v.push(format!(
                    "{} skipped for {} but the design gives {}",
                    label(r),
                    reason.short(),
                    e.short()
                ))
            }
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
    let gate_failed = recs.iter().any(|r| r.step.is_gate() && failed(r));
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

fn zone_gate_or_own_sync(a: &SkipReason, b: &SkipReason) -> bool {
    let ok = |x: &SkipReason| {
        matches!(
            x,
            SkipReason::ZoneGate { .. }
                | SkipReason::UpstreamFailed {
                    step: StepId::SyncData,
                    ..
                }
        )
    };
    ok(a) && ok(b)
}
