//! I1 (order), I2 (skip) and I3 (truthful report): the report's instances, statuses and
//! event order against the reference model ([`Model`]) and the clusters' audit log.
//!
//! * **I1** — every started instance started after each of its *documented* predecessors
//!   ended (event sequence numbers), every rollback after what caused it (and, for the S3
//!   networking rollback, after the one before it), nothing after step 3b before 3b ended;
//!   and every audit entry a step caused lies within that step's run window.
//! * **I2** — the report has exactly the documented instances (the run's policies, bare
//!   `not_applicable` ones where S6 says so); a step is skipped iff the documented rules say
//!   so, with the documented reason; the zone gate holds iff a zone policy's final sync or
//!   config sync did not succeed; the rollbacks are exactly those the rules call for, never
//!   skipped; a skipped or not-applicable step left no trace in the audit log; nothing is
//!   left pending after a run that did not pause.
//! * **I3** — every status agrees with the audit log (a step that says it acted has audit
//!   entries, one that says it did not has none, a job step's result matches its job's, an
//!   allow-write that succeeded made its target writable, every audit entry naming a step
//!   belongs to an instance that ran); the outcome follows from the statuses; a zone rolled
//!   back says so in `outcome_detail`; the cached schedules are the policies' schedules
//!   before the run; a step hit by an unconditional job fault is not reported succeeded; a
//!   healthy world with no faults succeeds.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;
use sim_onefs::FaultEffect;

use super::facts::Facts;
use super::model::{global_pos, label, Key, Model, Planned, Pred};
use super::report::{Skip, Status, StepView};
use super::Finding;
use crate::scenario::OperatorSpec;

fn k(s: &StepView) -> Key {
    (s.step.clone(), s.policy.clone(), s.zone.clone())
}

/// The report's instances of a [`Pred::Policies`] group that I1 judges (present, not
/// `not_applicable`), sorted by end: those that ended before a start are a prefix, so an
/// instance waiting for a group costs a binary search, plus the group's members that did
/// not end before it (each a violation).
struct GroupEnds<'f> {
    /// (never ended, end_seq, position in the group's key order, the instance).
    by_end: Vec<(bool, u64, usize, &'f StepView)>,
}

impl<'f> GroupEnds<'f> {
    fn new(m: &Model<'f, '_>, steps: &[&str], zone: Option<&str>) -> Self {
        let mut by_end = Vec::new();
        let mut pos = 0;
        for q in m.group_policies(zone) {
            for st in steps {
                if let Some(pr) = m.get(&(st.to_string(), Some(q.to_string()), None)) {
                    if !matches!(pr.status, Status::NotApplicable { .. }) {
                        by_end.push((pr.end_seq.is_none(), pr.end_seq.unwrap_or(0), pos, pr));
                    }
                }
                pos += 1;
            }
        }
        by_end.sort_unstable_by_key(|e| (e.0, e.1, e.2));
        GroupEnds { by_end }
    }

    /// The members that did not end before `start`, in the group's key order.
    fn not_ended_before(&self, start: u64) -> Vec<&'f StepView> {
        let first = self.by_end.partition_point(|e| !e.0 && e.1 < start);
        let mut late: Vec<(usize, &'f StepView)> =
            self.by_end[first..].iter().map(|e| (e.2, e.3)).collect();
        late.sort_unstable_by_key(|e| e.0);
        late.into_iter().map(|e| e.1).collect()
    }
}

/// I1's message when `s` started although `pr` (the instance of key `p`) had not ended.
fn order_violation(s: &StepView, start: u64, pr: &StepView, p: &Key) -> Option<String> {
    match pr.end_seq {
        Some(end) if end < start => None,
        Some(end) => Some(format!(
            "{} started (event {start}) before {} ended (event {end}); the design orders {} first",
            s.label(),
            pr.label(),
            label(p)
        )),
        None => Some(format!(
            "{} started although {} never ended; the design orders it first",
            s.label(),
            pr.label()
        )),
    }
}

/// I1: order against the documented predecessors; audit entries inside step windows.
///
/// Near-linear in the number of instances: the rollbacks are looked up by key, and a
/// predecessor "every (zone) policy's X" is one [`GroupEnds`] per group, built once.
pub fn i1_order(f: &Facts<'_>) -> Finding {
    i1_order_in(&Model::new(f))
}

/// [`i1_order`] with the run's model already built (`judge_run` builds it once for
/// I1, I2, I3 and I12: it indexes every instance of the report).
pub fn i1_order_in(m: &Model<'_, '_>) -> Finding {
    let f = m.f;
    let mut out = Finding::default();
    let rollbacks = m.rollbacks();
    // The first rollback the rules call for with each key (as `find` over the list).
    let mut rollback_after: BTreeMap<&Key, &Vec<Key>> = BTreeMap::new();
    for r in &rollbacks {
        rollback_after.entry(&r.key).or_insert(&r.after);
    }
    let mut groups: BTreeMap<(&'static [&'static str], Option<String>), GroupEnds<'_>> =
        BTreeMap::new();
    let steps = &f.report.steps;
    let cfg_off = f
        .report
        .find("disable_config_jobs", None, None)
        .and_then(|s| s.end_seq);
    let rehearsal = f.run.rehearsal();
    for s in steps {
        let Some(start) = s.start_seq else { continue };
        out.judged += 1;
        let preds: Vec<Pred> = if m.is_added(s) && !rehearsal {
            rollback_after
                .get(&k(s))
                .map(|after| after.iter().cloned().map(Pred::One).collect())
                .unwrap_or_default()
        } else {
            m.predecessor_groups(s)
        };
        for pred in preds {
            match pred {
                Pred::One(p) => {
                    let Some(pr) = m.get(&p) else { continue };
                    if matches!(pr.status, Status::NotApplicable { .. }) {
                        continue;
                    }
                    out.violations.extend(order_violation(s, start, pr, &p));
                }
                Pred::Policies { steps: sts, zone } => {
                    let g = groups
                        .entry((sts, zone))
                        .or_insert_with_key(|(sts, zone)| GroupEnds::new(m, sts, zone.as_deref()));
                    for pr in g.not_ended_before(start) {
                        let p = k(pr);
                        out.violations.extend(order_violation(s, start, pr, &p));
                    }
                }
            }
        }
        // DESIGN §2 Order: 1 … 3b, then everything else.
        if !m.is_added(s) && global_pos(&s.step) > global_pos("disable_config_jobs") && !rehearsal {
            if let Some(end) = cfg_off {
                if start < end {
                    out.violations.push(format!(
                        "{} started (event {start}) before disable_config_jobs ended (event {end})",
                        s.label()
                    ));
                }
            }
        }
        // Every audit entry the step caused lies within its window.
        if let (Some(a0), Some(b0)) = (s.start_ms, s.end_ms) {
            if let (Some(off), Some(lo), Some(hi)) =
                (f.ev.run_offset_ms, f.sim_ms(a0), f.sim_ms(b0))
            {
                for a in f.audit.of(&s.step, s.policy.as_deref(), s.zone.as_deref()) {
                    if a.action == "fs.write" {
                        continue;
                    }
                    // A step that lost contact may leave its job running past its end.
                    if a.t_ms < lo || (a.t_ms > hi && !s.indeterminate) {
                        out.violations.push(format!(
                            "{}: audit entry #{} ({} {}) at {} ms lies outside the step's window {a0}..{b0} ms",
                            s.label(),
                            a.seq,
                            a.action,
                            a.object,
                            a.t_ms.saturating_sub(off)
                        ));
                    }
                }
            }
        }
    }
    if out.judged == 0 {
        out.not_judged = Some("no step started".into());
    }
    out
}

fn same_skip(expected: &Skip, actual: &Skip) -> bool {
    match (expected, actual) {
        // The bare (manual) checklist has no zone: any zone the report names is accepted.
        (
            Skip::NetworkingFailed { step: a, zone: za },
            Skip::NetworkingFailed { step: b, zone: _ },
        ) if za.is_empty() => a == b,
        _ => expected == actual,
    }
}

/// I2: instances, skips, the zone gate and rollbacks against the documented rules.
pub fn i2_skip(f: &Facts<'_>) -> Finding {
    i2_skip_in(&Model::new(f))
}

/// [`i2_skip`] with the run's model already built (`judge_run` builds it once for
/// I1, I2, I3 and I12: it indexes every instance of the report).
pub fn i2_skip_in(m: &Model<'_, '_>) -> Finding {
    let f = m.f;
    let mut out = Finding::default();
    let paused = f.report.outcome == "paused";
    let steps = &f.report.steps;
    // The run's policies.
    if let Some(want) = m.expected_policies() {
        let have: BTreeSet<String> = f.report.policies.iter().cloned().collect();
        out.judged += 1;
        if want != have {
            out.violations.push(format!(
                "the run covers policies [{}] but the scenario selects [{}]",
                have.iter().cloned().collect::<Vec<_>>().join(", "),
                want.iter().cloned().collect::<Vec<_>>().join(", ")
            ));
        }
    }
    for p in f.policies.values().filter(|p| !p.known) {
        out.notes.push(format!(
            "{}: the scenario's world does not name this policy (its zone and paths are unknown)",
            p.name
        ));
    }
    // The documented instances (S6: every seed step appears).
    if let Some(planned) = m.planned() {
        let have: BTreeSet<Key> = steps.iter().filter(|s| !m.is_added(s)).map(k).collect();
        for (key, p) in &planned {
            out.judged += 1;
            match (m.get(key), p) {
                (None, _) => out.violations.push(format!(
                    "{} is missing: the documented plan has it{}",
                    label(key),
                    if *p == Planned::NotApplicable {
                        " (as not_applicable)"
                    } else {
                        ""
                    }
                )),
                (Some(s), Planned::NotApplicable) => {
                    if !matches!(s.status, Status::NotApplicable { .. }) {
                        out.violations.push(format!(
                            "{} is {} but has nothing to do in this run: it must be not_applicable (S6)",
                            s.label(),
                            s.status.name()
                        ));
                    } else if s.start_seq.is_some() {
                        out.violations
                            .push(format!("{} is not_applicable but was started", s.label()));
                    }
                }
                (Some(s), Planned::Run) => {
                    if let Status::NotApplicable { reason } = &s.status {
                        out.violations.push(format!(
                            "{} is not_applicable ({reason}) but the documented plan runs it",
                            s.label()
                        ));
                    }
                }
            }
        }
        for key in have.iter().filter(|x| !planned.contains_key(*x)) {
            out.violations.push(format!(
                "{} is in the report but not in the documented plan",
                label(key)
            ));
        }
    }
    // Skip rules.
    for s in steps.iter().filter(|s| !m.is_added(s)) {
        if matches!(s.status, Status::NotApplicable { .. }) {
            continue;
        }
        out.judged += 1;
        let expected = m.expected_skip(s);
        // refresh_clients waits for every networking chain: any chain's reason will do.
        let alternatives = if s.step == "refresh_clients" {
            m.refresh_reasons()
        } else {
            vec![]
        };
        match (&s.status, &expected) {
            (Status::Skipped(Skip::WaitingForOperator), _) if paused => {}
            (Status::Pending, _) if paused => {}
            (Status::Skipped(actual), Some(exp))
                if !same_skip(exp, actual)
                    && !alternatives.iter().any(|a| same_skip(a, actual)) =>
            {
                out.violations.push(format!(
                    "{} skipped for {} but the documented rules give {}",
                    s.label(),
                    actual.short(),
                    exp.short()
                ))
            }
            (Status::Skipped(_), Some(_)) => {}
            (Status::Skipped(actual), None) => out.violations.push(format!(
                "{} skipped ({}) but no documented rule skips it",
                s.label(),
                actual.short()
            )),
            (status, Some(exp)) => out.violations.push(format!(
                "{} is {} but the documented rules skip it ({})",
                s.label(),
                status.name(),
                exp.short()
            )),
            (Status::Pending | Status::Running, None) => out.violations.push(format!(
                "{} is still {} after the run ended: every step must be attempted",
                s.label(),
                s.status.name()
            )),
            _ => {}
        }
        // The zone gate holds iff a zone policy's sync_data or sync_config did not succeed.
        if s.step == "zone_gate" && expected.is_none() {
            let z = s.zone.clone().unwrap_or_default();
            let failed = m.zone_gate_failures(&z);
            match (&s.status, failed.is_empty()) {
                (Status::Succeeded, false) => out.violations.push(format!(
                    "{} passed although {} did not sync (data and config) — the zone gate must hold",
                    s.label(),
                    failed.join(", ")
                )),
                (Status::Failed { error }, true) => out.violations.push(format!(
                    "{} held ({error}) although every zone policy synced its data and config",
                    s.label()
                )),
                _ => {}
            }
        }
    }
    // Rollbacks.
    if !f.run.rehearsal() {
        let want = m.rollbacks();
        let wanted: BTreeSet<&Key> = want.iter().map(|r| &r.key).collect();
        for r in &want {
            out.judged += 1;
            if m.get(&r.key).is_none() && !r.optional {
                out.violations.push(format!(
                    "{} is missing: {} (safety-rules.md, Rollbacks)",
                    label(&r.key),
                    r.why
                ));
            }
        }
        for s in steps.iter().filter(|s| m.is_added(s)) {
            if !wanted.contains(&k(s)) {
                out.violations.push(format!(
                    "{} ran but no documented rule calls for it",
                    s.label()
                ));
            }
        }
    }
    for s in steps.iter().filter(|s| m.is_added(s)) {
        out.judged += 1;
        match &s.status {
            Status::Skipped(Skip::SourceUnreachable)
                if !f.run.controlled && rollback_on_source(&s.step) => {}
            Status::Skipped(Skip::WaitingForOperator) if paused => {}
            // A failed S3 undo stops its partner (safety-rules.md, Other rules).
            Status::Skipped(r) if m.undo_skip(s).as_ref() == Some(r) => {}
            Status::Skipped(r) => out.violations.push(format!(
                "{} skipped ({}) but what a failure adds (a rollback) always runs",
                s.label(),
                r.short()
            )),
            Status::Pending | Status::Running if !paused => out.violations.push(format!(
                "{} never ran to its end although the run ended",
                s.label()
            )),
            st if st.succeeded() || st.failed() => {
                if let Some(r) = m.undo_skip(s) {
                    out.violations.push(format!(
                        "{} ran, but a failed S3 undo stops its partner: it should be skipped ({}) (safety-rules.md)",
                        s.label(),
                        r.short()
                    ));
                }
            }
            _ => {}
        }
    }
    // A skipped or not-applicable step left no trace.
    for s in steps {
        if !matches!(s.status, Status::Skipped(_) | Status::NotApplicable { .. }) {
            continue;
        }
        for a in f.audit.of(&s.step, s.policy.as_deref(), s.zone.as_deref()) {
            out.violations.push(format!(
                "{} was {} but audit entry #{} ({} {} on {}) carries its name",
                s.label(),
                s.status.name(),
                a.seq,
                a.action,
                a.object,
                a.cluster
            ));
        }
    }
    if out.judged == 0 {
        out.not_judged = Some("the report has no step".into());
    }
    out
}

/// Rollbacks that act on the source (they cannot run while it is unreachable). The undo of
/// the source's SPN removal is not one: like the removal, it edits the source's machine
/// account through the target's AD provider.
fn rollback_on_source(step: &str) -> bool {
    matches!(
        step,
        "rollback_lock"
            | "rollback_dfs_rename_shares"
            | "rollback_schedules"
            | "rollback_protocols"
            | "rollback_rename_source_smartconnect"
    )
}

/// Steps that run a SyncIQ job and report through `sync.job.finish`.
fn runs_job(step: &str) -> bool {
    matches!(
        step,
        "presync"
            | "sync_data"
            | "allow_write"
            | "allow_write_revert"
            | "resync_prep"
            | "returned_resync_prep"
            | "run_mirror"
    )
}

/// Steps whose effect is on a cluster, so in its audit log. The others change only the
/// orchestrator's own state (config jobs), read, decide, wait for an operator, or change
/// the site DNS (not a cluster).
fn acts_on_cluster(step: &str) -> bool {
    !matches!(
        step,
        "begin"
            | "validate"
            | "block_on_warning"
            | "check_open_files"
            | "disable_config_jobs"
            | "enable_config_jobs"
            | "rollback_config_jobs"
            | "zone_gate"
            | "refresh_clients"
            | "repoint_dns"
            | "rollback_repoint_dns"
    )
}

/// I3: statuses against the audit log; outcome, detail, cached schedules, fault effects.
pub fn i3_truthful(f: &Facts<'_>) -> Finding {
    i3_truthful_in(&Model::new(f))
}

/// [`i3_truthful`] with the run's model already built (`judge_run` builds it once for
/// I1, I2, I3 and I12: it indexes every instance of the report).
pub fn i3_truthful_in(m: &Model<'_, '_>) -> Finding {
    let f = m.f;
    let mut out = Finding::default();
    let steps = &f.report.steps;
    for s in steps {
        if !acts_on_cluster(&s.step) || matches!(s.status, Status::Manual { .. }) {
            continue;
        }
        let job = runs_job(&s.step);
        let ok_entries = f
            .audit
            .of(&s.step, s.policy.as_deref(), s.zone.as_deref())
            .filter(|a| a.result == "ok" && (!job || a.action == "sync.job.finish"))
            .count();
        let what = if job { "sync.job.finish" } else { "change" };
        if s.start_seq.is_some() {
            out.judged += 1;
        }
        match &s.status {
            Status::Succeeded if s.acted && ok_entries == 0 => out.violations.push(format!(
                "{} reported succeeded (acted) but the audit log has no successful {what} for it",
                s.label()
            )),
            Status::Succeeded if !s.acted && ok_entries > 0 => out.violations.push(format!(
                "{} reported it changed nothing but the audit log has {ok_entries} {what} entries for it",
                s.label()
            )),
            // A step that lost contact after acting reports "outcome unknown": not a lie.
            Status::Failed { .. } if ok_entries > 0 && job && !s.indeterminate => {
                out.violations.push(format!(
                    "{} reported failed but its job finished successfully per the audit log",
                    s.label()
                ))
            }
            _ => {}
        }
        if s.step == "allow_write" && s.status.succeeded() && s.acted {
            let enabled = f.audit.of(&s.step, s.policy.as_deref(), None).any(|a| {
                a.action == "sync.target_policy.state"
                    && a.detail.get("to").and_then(Value::as_str) == Some("writes_enabled")
            });
            if !enabled {
                out.violations.push(format!(
                    "{} reported succeeded but no target policy reached writes_enabled",
                    s.label()
                ));
            }
        }
    }
    // Every audit entry naming a step of this run belongs to an instance that ran.
    let started: BTreeSet<(&str, Option<&str>, Option<&str>)> = steps
        .iter()
        .filter(|s| s.start_seq.is_some())
        .map(|s| (s.step.as_str(), s.policy.as_deref(), s.zone.as_deref()))
        .collect();
    let any_zone: BTreeSet<(&str, Option<&str>)> =
        started.iter().map(|(s, p, _)| (*s, *p)).collect();
    for a in f.ev.audit {
        if a.run.as_deref() != Some(f.report.run_id.as_str()) || a.action == "fault.inject" {
            continue;
        }
        let Some(step) = a.step.as_deref() else {
            continue;
        };
        out.judged += 1;
        let ran = match a.zone.as_deref() {
            Some(z) => {
                started.contains(&(step, a.policy.as_deref(), Some(z)))
                    || started.contains(&(step, a.policy.as_deref(), None))
            }
            None => any_zone.contains(&(step, a.policy.as_deref())),
        };
        if !ran {
            out.violations.push(format!(
                "audit entry #{} ({} {} on {}) names step {step}{} which the report does not show as run",
                a.seq,
                a.action,
                a.object,
                a.cluster,
                a.policy.as_deref().map(|p| format!("[{p}]")).unwrap_or_default()
            ));
        }
    }
    // The outcome follows from the statuses; a zone rolled back says so.
    out.judged += 1;
    let want = m.outcome();
    if f.report.outcome != want {
        out.violations.push(format!(
            "outcome is {} but the statuses give {want}",
            f.report.outcome
        ));
    }
    for z in f.zones.iter().filter(|z| m.zone_rolled_back(z)) {
        let why = m
            .networking_failure(Some(z), 5)
            .map(|n| format!("{n} failed"))
            .unwrap_or_else(|| "no allow_write succeeded".into());
        let detail = f.report.outcome_detail.as_deref().unwrap_or_default();
        if !(detail.contains("rolled back") && detail.contains(z.as_str())) {
            out.violations.push(format!(
                "zone {z} was rolled back ({why}) but outcome_detail {:?} does not say so (S3: \"zone {z} rolled back: {why}\")",
                f.report.outcome_detail
            ));
        }
    }
    // The cached schedules are the policies' schedules before the run.
    if let Some(before) = f.ev.samples.and_then(|s| s.before.as_ref()) {
        for (p, cached) in &f.report.cached_schedules {
            let Some(pol) = before.policies.get(&f.report.from).and_then(|m| m.get(p)) else {
                continue;
            };
            out.judged += 1;
            let was = pol.schedule.as_deref().unwrap_or_default();
            if was != cached {
                out.violations.push(format!(
                    "the report's cached schedule of {p} is {cached:?} but {} had {was:?} before the run",
                    f.report.from
                ));
            }
        }
    }
    fault_effects(f, &mut out);
    healthy_world(f, &mut out);
    readiness(f, &mut out);
    out
}

/// Readiness (S2): `validate` does not pass a run that moves the names of a zone holding a
/// policy from the source to the target that is not in the run. Not judged after a prelude
/// (it may have created policies the scenario cannot name) nor in rehearsals.
fn readiness(f: &Facts<'_>, out: &mut Finding) {
    if f.run.rehearsal() || !f.ev.scenario.prelude.is_empty() {
        return;
    }
    let Some(v) = f.report.find("validate", None, None) else {
        return;
    };
    out.judged += 1;
    let stranded = stranded_policies(f);
    if v.status.succeeded() && !stranded.is_empty() {
        let list: Vec<String> = stranded
            .iter()
            .map(|(p, z)| format!("{p} (zone {z})"))
            .collect();
        out.violations.push(format!(
            "validate passed, but the run moves the names of zones holding policies {} → {} not in the run: {} (safety-rules.md, Readiness)",
            f.report.from,
            f.report.to,
            list.join(", ")
        ));
    }
}

/// A step hit by an unconditional job fault (`syncjob_fail`, `allow_write_fail`,
/// `resync_prep_fail` on that step and policy) cannot have succeeded by acting.
fn fault_effects(f: &Facts<'_>, out: &mut Finding) {
    let scn = f.ev.scenario;
    for (i, rule) in scn.faults.iter().enumerate() {
        let w = &rule.when;
        let unconditional = w.zone.is_none()
            && w.method.is_none()
            && w.route.is_none()
            && w.nth.is_none()
            && w.at.is_none()
            && w.probability.is_none();
        let job_fault = matches!(
            rule.effect,
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
        // The cluster a job is posted to: sync and resync-prep on the source.
        let job_cluster = if matches!(step.as_str(), "presync" | "sync_data" | "resync_prep") {
            &f.report.from
        } else {
            &f.report.to
        };
        if w.cluster.as_ref().is_some_and(|c| c != job_cluster) {
            continue;
        }
        for s in steps_of(f, step, policy) {
            out.judged += 1;
            if s.start_seq.is_some() && s.status.succeeded() && s.acted {
                out.violations.push(format!(
                    "{} succeeded although faults[{i}] ({}) fails every such job",
                    s.label(),
                    rule.effect.name()
                ));
            }
        }
    }
}

fn steps_of<'f>(
    f: &'f Facts<'_>,
    step: &'f str,
    policy: &'f str,
) -> impl Iterator<Item = &'f StepView> {
    f.report
        .steps
        .iter()
        .filter(move |s| s.step == step && s.policy.as_deref() == Some(policy))
}

/// Readiness (S2, safety-rules.md "Other rules"): the policies from the source to the target
/// that are not in the run but sit in a zone whose names the run moves — the mapped zones in
/// SyncIQ mode with automatic networking and in Access Zone mode; with manual networking,
/// the zones holding the run's source paths. A policy's zone is the source zone with the
/// longest base path containing its source path (`System` when no other does). `validate`
/// fails when there is one.
pub fn stranded_policies(f: &Facts<'_>) -> Vec<(String, String)> {
    let run = &f.run;
    let moved: BTreeSet<String> =
        if (run.synciq() && !run.manual_networking()) || run.mode == "access-zone" {
            f.zones.iter().cloned().collect()
        } else if run.manual_networking() {
            f.policies
                .values()
                .filter(|p| p.known)
                .map(|p| p.zone.clone())
                .collect()
        } else {
            BTreeSet::new()
        };
    if moved.is_empty() {
        return vec![];
    }
    let zone_of = |path: &str| -> String {
        f.source_zones
            .iter()
            .filter(|(_, base)| crate::lab::path_under(path, base))
            .max_by_key(|(_, base)| base.trim_end_matches('/').len())
            .map(|(z, _)| z.clone())
            .unwrap_or_else(|| "System".into())
    };
    let (from, to) = (&f.report.from, &f.report.to);
    f.ev.scenario
        .world
        .policies
        .iter()
        .filter(|p| &p.source == from && &p.target == to && !f.policies.contains_key(&p.name))
        .map(|p| (p.name.clone(), zone_of(&p.source_path)))
        .filter(|(_, z)| moved.contains(z))
        .collect()
}

/// A run with no faults in a healthy world ends `succeeded` (or `blocked` by the
/// warnings it was told to block on).
fn healthy_world(f: &Facts<'_>, out: &mut Finding) {
    let scn = f.ev.scenario;
    let collisions_before =
        f.ev.samples
            .and_then(|s| s.before.as_ref())
            .is_some_and(|b| !b.spn_collisions.is_empty());
    let healthy = scn.faults.is_empty()
        && !collisions_before
        && scn.world.clusters.iter().all(|c| c.synciq_service)
        && scn
            .world
            .policies
            .iter()
            .all(|p| p.enabled && p.last_job_state.is_none())
        && f.run.options.job_timeout_ms >= 3_600_000
        && scn.operator != OperatorSpec::Absent;
    // Readiness (S2): a run that would move the names of a zone holding a policy from the
    // source to the target that is not in the run is refused: not a healthy run.
    let strands_a_zone = !stranded_policies(f).is_empty();
    // Readiness (DESIGN §5): a policy whose target path lies outside the base path of the
    // same-named access zone on its target cannot be served from that zone there.
    let outside_zone = scn.world.policies.iter().any(|p| {
        let zone_on = |cluster: &str, path: &str| {
            scn.world
                .clusters
                .iter()
                .find(|c| c.name == cluster)
                .and_then(|c| {
                    c.zones
                        .iter()
                        .filter(|z| crate::lab::path_under(path, &z.base_path))
                        .max_by_key(|z| z.base_path.len())
                        .map(|z| z.name.clone())
                })
        };
        let Some(zone) = zone_on(&p.source, &p.source_path) else {
            return false;
        };
        scn.world
            .clusters
            .iter()
            .find(|c| c.name == p.target)
            .and_then(|c| c.zones.iter().find(|z| z.name == zone))
            .is_some_and(|z| !crate::lab::path_under(&p.target_path, &z.base_path))
    });
    if !healthy || strands_a_zone || outside_zone {
        return;
    }
    out.judged += 1;
    let blocked_by_warning = f.run.options.block_on_warning && !f.report.warnings.is_empty();
    if f.report.outcome == "succeeded" || (blocked_by_warning && f.report.outcome == "blocked") {
        return;
    }
    let bad: BTreeSet<String> = f
        .report
        .steps
        .iter()
        .filter(|s| !s.status.ok())
        .map(|s| match &s.status {
            Status::Failed { error } => format!("{} failed ({error})", s.label()),
            st => format!("{} {}", s.label(), st.name()),
        })
        .collect();
    let n = bad.len();
    let mut shown: Vec<String> = bad.into_iter().take(6).collect();
    if n > shown.len() {
        shown.push(format!("… ({n} steps not ok)"));
    }
    out.violations.push(format!(
        "a healthy world with no faults ended {}: {}",
        f.report.outcome,
        shown.join("; ")
    ));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::judge::model::reference::i1_order_reference;
    use crate::judge::model::ZONE_QUOTAS;
    use crate::judge::Evidence;
    use proptest::prelude::*;
    use serde_json::json;

    const WORLD: &str = r#"
name: i1
world:
  clusters:
    - name: a
      zones: [{name: fin, base_path: /ifs/fin}, {name: eng, base_path: /ifs/eng}]
      pools:
        - {id: groupnet0.subnet0.fin, zone: fin, sc_dns_zone: fin.corp.example, ssip: 10.1.0.10}
        - {id: groupnet0.subnet0.eng, zone: eng, sc_dns_zone: eng.corp.example, ssip: 10.1.0.11}
    - name: b
      zones: [{name: fin, base_path: /ifs/fin}, {name: eng, base_path: /ifs/eng}]
      pools:
        - {id: groupnet0.subnet0.fin-b, zone: fin, sc_dns_zone: fin-b.corp.example, ssip: 10.2.0.10}
        - {id: groupnet0.subnet0.eng-b, zone: eng, sc_dns_zone: eng-b.corp.example, ssip: 10.2.0.11}
  policies:
    - {name: p, source: a, target: b, source_path: /ifs/fin/p, target_path: /ifs/fin/p, schedule: every 1 hours}
    - {name: q, source: a, target: b, source_path: /ifs/fin/q, target_path: /ifs/fin/q}
    - {name: s, source: a, target: b, source_path: /ifs/eng/s, target_path: /ifs/eng/s, schedule: every 1 days}
  pool_mappings:
    - {source: a/groupnet0.subnet0.fin, target: b/groupnet0.subnet0.fin-b}
    - {source: a/groupnet0.subnet0.eng, target: b/groupnet0.subnet0.eng-b}
"#;

    /// The run sections the property test draws from (every mode, rehearsals, manual
    /// networking, options that change the predecessors).
    const RUNS: [&str; 7] = [
        "run: {mode: synciq-policy, from: a, to: b}",
        "run: {mode: synciq-policy, from: a, to: b, options: {networking: manual}}",
        "run: {mode: access-zone, zone: fin, from: a, to: b, options: {quotas: false, remove_source_quotas: true}}",
        "run: {mode: ip-pool, pool: groupnet0.subnet0.eng, from: a, to: b}",
        "run: {mode: dfs, from: a, to: b, options: {quotas: false}}",
        "run: {kind: rehearsal, mode: synciq-policy, from: a, to: b}",
        "run: {mode: synciq-policy, from: a, to: b, controlled: false, options: {data_integrity: true, disable_protocols: true}}",
    ];

    const STEPS: [&str; 40] = [
        "check_open_files",
        "presync",
        "disable_protocols",
        "data_integrity_lock",
        "cache_schedules",
        "begin",
        "validate",
        "block_on_warning",
        "disable_config_jobs",
        "sync_data",
        "sync_config",
        "dfs_rename_shares",
        "allow_write",
        "resync_prep",
        "restore_schedule",
        "failover_quotas",
        "remove_source_quotas",
        "run_mirror",
        "enable_config_jobs",
        "zone_gate",
        ZONE_QUOTAS,
        "rename_source_smartconnect",
        "remove_source_spns",
        "move_smartconnect_to_target",
        "add_target_spns",
        "repoint_dns",
        "refresh_clients",
        "add_test_alias",
        "verify_test_access",
        "remove_test_alias",
        "allow_write_revert",
        "rollback_lock",
        "rollback_schedules",
        "rollback_config_jobs",
        "rollback_protocols",
        "rollback_dfs_rename_shares",
        "rollback_repoint_dns",
        "rollback_add_target_spns",
        "rollback_rename_source_smartconnect",
        "returned_resync_prep",
    ];

    /// One random instance: step, policy (none, p, q, s, or r which the world does not
    /// name), zone (none, fin, eng), status, start and end events.
    type Inst = (usize, u8, u8, u8, Option<u64>, Option<u64>);

    fn report(insts: &[Inst]) -> Vec<u8> {
        let steps: Vec<serde_json::Value> = insts
            .iter()
            .enumerate()
            .map(|(i, (st, p, z, status, a, b))| {
                let mut v = json!({"idx": i, "seed_no": "", "step": STEPS[*st], "deps": [], "acted": false});
                if let Some(p) = [None, Some("p"), Some("q"), Some("s"), Some("r")][*p as usize] {
                    v["policy"] = json!(p);
                }
                if let Some(z) = [None, Some("fin"), Some("eng")][*z as usize] {
                    v["zone"] = json!(z);
                }
                let status = match status {
                    0..=2 => json!({"status": "succeeded"}),
                    3 => json!({"status": "failed", "error": "boom"}),
                    4 => json!({"status": "not_applicable", "reason": "n/a"}),
                    5 => json!({"status": "skipped", "reason": {"kind": "upstream_failed", "step": "sync_data", "policy": "p"}}),
                    6 => json!({"status": "skipped", "reason": {"kind": "source_unreachable"}}),
                    _ => json!({"status": "pending"}),
                };
                for (k, x) in status.as_object().unwrap() {
                    v[k] = x.clone();
                }
                if let Some(a) = a {
                    v["start_seq"] = json!(a);
                }
                if let Some(b) = b {
                    v["end_seq"] = json!(b);
                }
                v
            })
            .collect();
        serde_json::to_vec(&json!({"run_id": "r", "kind": "failover", "mode": "synciq-policy",
            "from": "a", "to": "b", "policies": ["p", "q", "r", "s"], "outcome": "partial",
            "steps": steps, "cached_schedules": {"p": "every 1 hours", "q": "", "s": "every 1 days"}}))
        .unwrap()
    }

    fn inst() -> impl Strategy<Value = Inst> {
        (
            0..STEPS.len(),
            0u8..5,
            0u8..3,
            0u8..8,
            proptest::option::weighted(0.85, 0u64..60),
            proptest::option::weighted(0.85, 0u64..60),
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]
        /// The near-linear I1 (groups, rollbacks by key) finds exactly what the original
        /// (a key per predecessor, rollbacks by scan) found, message for message; the zone
        /// gate's failures found once are those a scan per call finds.
        #[test]
        fn i1_order_agrees_with_the_original(
            run in 0..RUNS.len(),
            insts in proptest::collection::vec(inst(), 0..60),
            dup in proptest::collection::vec(0usize..60, 0..4),
        ) {
            let scn = crate::Scenario::parse(&format!("{WORLD}{}\n", RUNS[run]), "<i1>").unwrap();
            let mut insts = insts;
            // Duplicate instances of one key (the model reads the first).
            for d in dup {
                if let Some(x) = insts.get(d).copied() {
                    insts.push((x.0, x.1, x.2, (x.3 + 3) % 8, x.5, x.4));
                }
            }
            let bytes = report(&insts);
            let ev = Evidence {
                report: &bytes,
                audit: &[],
                run_offset_ms: None,
                returned_at_ms: None,
                scenario: &scn,
                world: None,
                clients: &[],
                samples: None,
                config_store: None,
            };
            let f = Facts::new(&ev).unwrap();
            let m = Model::new(&f);
            for s in &f.report.steps {
                prop_assert_eq!(m.predecessors(s), m.predecessors_reference(s));
            }
            for z in ["fin", "eng", "System", "", "nowhere"] {
                prop_assert_eq!(m.zone_gate_failures(z), m.zone_gate_failures_reference(z));
            }
            prop_assert_eq!(i1_order(&f), i1_order_reference(&f));
        }
    }
}
