//! The invariant checker (DESIGN.md §6). It reads only the orchestrator's report and the
//! simulated clusters' audit log, never the orchestrator's internals, so it judges the run
//! the way an auditor with the cluster logs would.
//!
//! Implemented here: I1 (order), I2 (skip semantics and no trace of skipped steps), I3
//! (truthful report against the audit log), I4 (no acknowledged write lost), I5 (no split
//! brain), I6 (SPN uniqueness), I7 (access after failover), I8 (config parity) and I10
//! (config jobs). I9 (convergence after a crash) is checked by the crash harness.

use std::collections::{BTreeMap, BTreeSet};

use orchestrator::{Plan, Report, SkipReason, StepId, StepStatus};
use serde::{Deserialize, Serialize};
use sim_onefs::AuditEntry;

/// Every invariant id of the design.
pub const ALL_INVARIANTS: [&str; 10] =
    ["I1", "I2", "I3", "I4", "I5", "I6", "I7", "I8", "I9", "I10"];

/// The invariants this checker checks (I9 needs two runs: see `crash`).
pub const CHECKED: [&str; 9] = ["I1", "I2", "I3", "I4", "I5", "I6", "I7", "I8", "I10"];

/// Result of one invariant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InvariantResult {
    pub id: String,
    pub checked: bool,
    pub violations: Vec<String>,
    /// What the invariant deliberately did not judge, and why (e.g. "not judged: …").
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// What one invariant found: its violations, and notes on what it left unjudged and why.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Findings {
    pub violations: Vec<String>,
    pub notes: Vec<String>,
}

impl From<Vec<String>> for Findings {
    fn from(violations: Vec<String>) -> Self {
        Findings {
            violations,
            notes: Vec::new(),
        }
    }
}

impl InvariantResult {
    /// Checked and no violation.
    pub fn ok(&self) -> bool {
        self.violations.is_empty()
    }
}

/// What the checker reads.
pub struct Evidence<'a> {
    pub plan: &'a Plan,
    pub report: &'a Report,
    pub audit: &'a [AuditEntry],
    pub run_id: &'a str,
    /// Sim time (ms) at which the report's time 0 happened.
    pub run_offset_ms: Option<u64>,
    /// The scenario (world spec, run) — needed by I4–I8.
    pub scenario: Option<&'a crate::scenario::Scenario>,
    /// The world after the run.
    pub world: Option<&'a crate::world::World>,
    /// Every client write attempt.
    pub clients: &'a [crate::clients::ClientEvent],
    /// SPNs on two accounts before the run started (pre-existing; not the run's doing).
    pub spn_collisions_at_start: &'a BTreeMap<String, Vec<String>>,
    /// SPNs seen on two accounts after any step of the run ended.
    pub spn_collisions_during: &'a BTreeMap<String, Vec<String>>,
}

/// Check the invariants named in `which` (ids; unknown or unimplemented ones are reported as
/// not checked).
pub fn check(ev: &Evidence<'_>, which: &[&str]) -> Vec<InvariantResult> {
    which
        .iter()
        .map(|&id| {
            let findings: Option<Findings> = match id {
                "I1" => Some(i1_order(ev).into()),
                "I2" => Some(i2_skip(ev).into()),
                "I3" => Some(i3_truthful(ev).into()),
                "I4" => crate::invariants::i4_no_data_loss(ev).map(Into::into),
                "I5" => crate::invariants::i5_no_split_brain(ev).map(Into::into),
                "I6" => crate::invariants::i6_spn_unique(ev).map(Into::into),
                "I7" => crate::invariants::i7_access(ev),
                "I8" => crate::invariants::i8_config_parity(ev),
                "I10" => Some(crate::invariants::i10_config_jobs(ev).into()),
                _ => None,
            };
            let checked = findings.is_some();
            let f = findings.unwrap_or_default();
            InvariantResult {
                id: id.to_string(),
                checked,
                violations: f.violations,
                notes: f.notes,
            }
        })
        .collect()
}

fn label(r: &orchestrator::StepRecord) -> String {
    match (&r.policy, &r.zone) {
        (Some(p), _) => format!("#{} {}[{p}]", r.idx, r.step),
        (None, Some(z)) => format!("#{} {}[zone {z}]", r.idx, r.step),
        _ => format!("#{} {}", r.idx, r.step),
    }
}

/// Entries of the audit log made on behalf of a step instance of this run.
/// The run's audit entries by (step, policy), built once: the checks look entries up per
/// step instance, and a linear scan per instance is quadratic on 1000-policy runs.
struct AuditIndex<'a> {
    by_step: BTreeMap<(&'a str, Option<&'a str>), Vec<&'a AuditEntry>>,
}

impl<'a> AuditIndex<'a> {
    fn new(ev: &Evidence<'a>) -> Self {
        let mut by_step: BTreeMap<(&'a str, Option<&'a str>), Vec<&'a AuditEntry>> =
            BTreeMap::new();
        for e in ev.audit {
            if e.run.as_deref() != Some(ev.run_id) || e.action == "fault.inject" {
                continue;
            }
            if let Some(step) = e.step.as_deref() {
                by_step
                    .entry((step, e.policy.as_deref()))
                    .or_default()
                    .push(e);
            }
        }
        AuditIndex { by_step }
    }

    /// Entries made on behalf of a step instance (zone-level instances of the same step,
    /// one per zone, are told apart by zone).
    fn of<'b>(
        &'b self,
        r: &'b orchestrator::StepRecord,
    ) -> impl Iterator<Item = &'a AuditEntry> + 'b {
        self.by_step
            .get(&(r.step.as_str(), r.policy.as_deref()))
            .into_iter()
            .flatten()
            .copied()
            .filter(move |e| r.zone.is_none() || e.zone.is_none() || e.zone == r.zone)
    }
}

/// I1: every executed instance started after all its predecessors ended; and every audit
/// entry a step caused lies within that step's run window.
fn i1_order(ev: &Evidence<'_>) -> Vec<String> {
    let idx = AuditIndex::new(ev);
    let mut v = Vec::new();
    let recs = &ev.report.steps;
    for r in recs {
        let Some(start) = r.start_seq else { continue };
        for &d in &r.deps {
            match recs.get(d).and_then(|p| p.end_seq) {
                Some(end) if end < start => {}
                Some(end) => v.push(format!(
                    "{} started (event {start}) before its predecessor {} ended (event {end})",
                    label(r),
                    label(&recs[d])
                )),
                None => v.push(format!(
                    "{} started although its predecessor {} never ended",
                    label(r),
                    label(&recs[d])
                )),
            }
        }
        if let (Some(offset), Some(s), Some(e)) = (ev.run_offset_ms, r.start_ms, r.end_ms) {
            for a in idx.of(r) {
                if a.action == "fs.write" {
                    continue;
                }
                let t = a.t_ms.saturating_sub(offset);
                // A step that lost contact may leave its job running past its end.
                if t < s || (t > e && !r.indeterminate) {
                    v.push(format!(
                        "{}: audit entry #{} ({} {}) at {t} ms lies outside the step's window {s}..{e} ms",
                        label(r),
                        a.seq,
                        a.action,
                        a.object
                    ));
                }
            }
        }
    }
    v
}

/// What I2 says a step's status must be: skipped (with this reason) or not skipped.
fn expected_skip(ev: &Evidence<'_>, idx: usize) -> Option<SkipReason> {
    let recs = &ev.report.steps;
    let me = &recs[idx];
    // Rollback instances are added by the executor and depend on the failed gate by design.
    if me.step.is_rollback() {
        return None;
    }
    let ancestors = ancestors(recs, idx);
    for &a in &ancestors {
        let r = &recs[a];
        if r.step.is_validation_gate() && matches!(r.status, StepStatus::Failed { .. }) {
            return Some(SkipReason::ValidationFailed { step: r.step });
        }
    }
    // Uncontrolled failover: source-side steps, and what only a mirror policy would allow.
    let uncontrolled = ev.scenario.is_some_and(|s| !s.run.controlled);
    if uncontrolled {
        if me.step.needs_source() {
            return Some(SkipReason::SourceUnreachable);
        }
        if me.policy.is_some()
            && ancestors
                .iter()
                .any(|&a| recs[a].step == StepId::ResyncPrep && recs[a].policy == me.policy)
        {
            return Some(SkipReason::SourceUnreachable);
        }
    }
    for &a in &ancestors {
        let r = &recs[a];
        if r.step == StepId::ZoneGate && matches!(r.status, StepStatus::Failed { .. }) {
            // The gate holds for the zone policies whose final sync did not succeed.
            let mut failed: Vec<String> = r
                .deps
                .iter()
                .map(|&d| &recs[d])
                .filter(|d| d.step == StepId::SyncData && d.status != StepStatus::Succeeded)
                .filter_map(|d| d.policy.clone())
                .collect();
            failed.sort();
            failed.dedup();
            return Some(SkipReason::ZoneGate {
                zone: r.zone.clone().unwrap_or_default(),
                failed_policies: failed,
            });
        }
    }
    if let Some(p) = &me.policy {
        // The earliest failed SyncIQ chain step of the same policy upstream.
        let mut failed: Vec<&orchestrator::StepRecord> = ancestors
            .iter()
            .map(|&a| &recs[a])
            .filter(|r| {
                r.policy.as_ref() == Some(p)
                    && r.step.is_synciq_chain()
                    && matches!(r.status, StepStatus::Failed { .. })
            })
            .collect();
        failed.sort_by_key(|r| r.idx);
        if let Some(f) = failed.first() {
            return Some(SkipReason::UpstreamFailed {
                step: f.step,
                policy: p.clone(),
            });
        }
    }
    None
}

fn ancestors(recs: &[orchestrator::StepRecord], idx: usize) -> BTreeSet<usize> {
    let mut out = BTreeSet::new();
    let mut frontier = vec![idx];
    while let Some(n) = frontier.pop() {
        for &d in &recs[n].deps {
            if d < recs.len() && out.insert(d) {
                frontier.push(d);
            }
        }
    }
    out
}

/// I2: skipped iff an upstream SyncIQ step of the same policy (or a gate) failed, with that
/// reason; a skipped step left no trace in the audit log.
fn i2_skip(ev: &Evidence<'_>) -> Vec<String> {
    let idx = AuditIndex::new(ev);
    let mut v = Vec::new();
    for (i, r) in ev.report.steps.iter().enumerate() {
        let expected = expected_skip(ev, i);
        match (&r.status, &expected) {
            (StepStatus::Skipped { reason }, Some(exp)) => {
                if reason != exp {
                    v.push(format!(
                        "{} skipped for {} but the rule gives {}",
                        label(r),
                        reason.short(),
                        exp.short()
                    ));
                }
            }
            (StepStatus::Skipped { reason }, None) => {
                // Waiting for an operator is not a skip rule; it only ends paused runs.
                if *reason != SkipReason::WaitingForOperator {
                    v.push(format!(
                        "{} skipped ({}) although no SyncIQ step of its policy failed upstream",
                        label(r),
                        reason.short()
                    ))
                }
            }
            (status, Some(exp)) => v.push(format!(
                "{} is {} but must be skipped ({})",
                label(r),
                status.name(),
                exp.short()
            )),
            (_, None) => {}
        }
        if matches!(r.status, StepStatus::Skipped { .. }) {
            for a in idx.of(r) {
                v.push(format!(
                    "{} was skipped but audit entry #{} ({} {} on {}) carries its name",
                    label(r),
                    a.seq,
                    a.action,
                    a.object,
                    a.cluster
                ));
            }
        }
    }
    v
}

/// The audit action that proves a SyncIQ job step took effect.
fn job_completion(step: StepId) -> bool {
    step.runs_job()
}

/// Steps whose effect is on a cluster (and so in its audit log). The others change only the
/// orchestrator's own state (config jobs), read, decide, or wait for an operator.
fn acts_on_cluster(step: StepId) -> bool {
    !matches!(
        step,
        StepId::Begin
            | StepId::Validate
            | StepId::BlockOnWarning
            | StepId::CheckOpenFiles
            | StepId::DisableConfigJobs
            | StepId::EnableConfigJobs
            | StepId::RollbackConfigJobs
            | StepId::ZoneGate
            | StepId::RefreshClients
            | StepId::RepointDns
    )
}

/// I3: every status in the report agrees with the audit log.
fn i3_truthful(ev: &Evidence<'_>) -> Vec<String> {
    let idx = AuditIndex::new(ev);
    let mut v = Vec::new();
    let recs = &ev.report.steps;
    for r in recs {
        if !acts_on_cluster(r.step) || matches!(r.status, StepStatus::Manual { .. }) {
            continue;
        }
        let ok_entries = idx
            .of(r)
            .filter(|a| {
                a.result == "ok" && (!job_completion(r.step) || a.action == "sync.job.finish")
            })
            .count();
        let action = if job_completion(r.step) {
            "sync.job.finish"
        } else {
            "change"
        };
        match &r.status {
            StepStatus::Succeeded if r.acted && ok_entries == 0 => v.push(format!(
                "{} reported succeeded (acted) but the audit log has no successful {action} for it",
                label(r)
            )),
            StepStatus::Succeeded if !r.acted && ok_entries > 0 => v.push(format!(
                "{} reported it changed nothing but the audit log has {ok_entries} {action} entries for it",
                label(r)
            )),
            // A step that lost contact after acting reports "outcome unknown": not a lie.
            StepStatus::Failed { .. }
                if ok_entries > 0 && job_completion(r.step) && !r.indeterminate =>
            {
                v.push(format!(
                    "{} reported failed but its job finished successfully per the audit log",
                    label(r)
                ))
            }
            _ => {}
        }
        if r.step == StepId::AllowWrite && r.status == StepStatus::Succeeded && r.acted {
            let enabled = idx.of(r).any(|a| {
                a.action == "sync.target_policy.state"
                    && a.detail.get("to").and_then(|t| t.as_str()) == Some("writes_enabled")
            });
            if !enabled {
                v.push(format!(
                    "{} reported succeeded but no target policy reached writes_enabled",
                    label(r)
                ));
            }
        }
    }
    // Every audit entry that names a step of this run must belong to an instance that ran.
    let started: BTreeSet<(&str, Option<&str>, Option<&str>)> = recs
        .iter()
        .filter(|r| r.start_seq.is_some())
        .map(|r| (r.step.as_str(), r.policy.as_deref(), r.zone.as_deref()))
        .collect();
    let any_zone_started: BTreeSet<(&str, Option<&str>)> =
        started.iter().map(|(s, p, _)| (*s, *p)).collect();
    for a in ev.audit {
        if a.run.as_deref() != Some(ev.run_id) || a.action == "fault.inject" {
            continue;
        }
        let Some(step) = a.step.as_deref() else {
            continue;
        };
        let ran = match a.zone.as_deref() {
            Some(z) => {
                started.contains(&(step, a.policy.as_deref(), Some(z)))
                    || started.contains(&(step, a.policy.as_deref(), None))
            }
            None => any_zone_started.contains(&(step, a.policy.as_deref())),
        };
        if !ran {
            v.push(format!(
                "audit entry #{} ({} {} on {}) names step {step}{} which the report does not show as run",
                a.seq,
                a.action,
                a.object,
                a.cluster,
                a.policy.as_deref().map(|p| format!("[{p}]")).unwrap_or_default()
            ));
        }
    }
    let _ = ev.plan;
    v
}

pub use crate::invariants::client_outages;
