//! `dr plan --estimate` (DESIGN.md §10): how long each step instance of a plan and the whole
//! run will take, predicted before anything runs.
//!
//! The prediction has three parts, each from what a cluster already tells us:
//!
//! * **A cost model per cluster**, calibrated from its SyncIQ report history (the
//!   inventory's [`JobSample`]s): a least-squares line `duration = start latency + bytes /
//!   bandwidth` through its finished `run` reports, and the mean duration of its
//!   `allow_write` / `resync_prep` reports. Whatever the history cannot give (too few
//!   samples, or a fit that is not a line with positive slope and non-negative intercept)
//!   comes from [`CostDefaults`], which an admin can set in the `dr` config (`estimate:`).
//! * **A job time per instance**: a policy's final sync transfers what changed since its
//!   last sync, predicted as the mean bytes of its incremental syncs (none: nothing changed;
//!   the estimate says so). With a pre-sync (option `presync`) that is the pre-sync's job,
//!   and the final sync after the lock moves only what was written while the pre-sync ran:
//!   the usual bytes times the pre-sync's time over the policy's sync interval (from the
//!   history's report times; an hour when it does not say); allow-write, resync-prep and revert take the cluster's typical
//!   time; the mirror's first run transfers the writes made on the target during the run,
//!   predicted as nothing. The orchestrator sees a job end within `job_poll_interval_ms`
//!   of it (its polls close in on the expected end, `steps/job_poll.rs`), modelled as the
//!   job time rounded up to the next poll.
//!   Steps that run no job take no time (their PAPI calls are milliseconds).
//! * **The schedule**: the plan's DAG list-scheduled the way the executor runs it — an
//!   instance starts when its predecessors ended, jobs longest first within each cluster's
//!   `max_concurrent_jobs` slots, one instance at a time in serial mode
//!   ([`makespan::list_schedule`]). Unlike an average of past failovers, this accounts for
//!   job slots and the DAG.
//!
//! Manual steps (an operator's confirmation) and the time a step spends waiting for
//! retries are not predicted: the estimate is the run without them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::inventory::{Inventory, JobSample};
use crate::makespan::{list_schedule, Task};
use crate::plan::{Plan, StepId};

/// What the estimate assumes where a cluster's history says nothing.
///
/// ```yaml
/// estimate:
///   job_start_latency_ms: 5000
///   bandwidth_bytes_per_s: 125000000
///   allow_write_ms: 10000
///   allow_write_revert_ms: 10000
///   resync_prep_ms: 20000
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct CostDefaults {
    /// Time from a SyncIQ job's start to its first byte (snapshot, connection, treewalk).
    pub job_start_latency_ms: u64,
    /// Replication throughput between the clusters.
    pub bandwidth_bytes_per_s: u64,
    pub allow_write_ms: u64,
    pub allow_write_revert_ms: u64,
    pub resync_prep_ms: u64,
}

impl Default for CostDefaults {
    fn default() -> Self {
        CostDefaults {
            job_start_latency_ms: 5_000,
            // 1 GbE.
            bandwidth_bytes_per_s: 125_000_000,
            allow_write_ms: 10_000,
            allow_write_revert_ms: 10_000,
            resync_prep_ms: 20_000,
        }
    }
}

/// A cluster's cost model as the estimate uses it, and where each figure came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    pub job_start_latency_ms: u64,
    pub bandwidth_bytes_per_s: u64,
    pub allow_write_ms: u64,
    pub allow_write_revert_ms: u64,
    pub resync_prep_ms: u64,
    /// Finished `run` reports the line was fitted through (0: defaults).
    pub run_samples: usize,
    /// `history` (fitted / measured) or `defaults`, per figure.
    pub basis: BTreeMap<String, String>,
}

/// One instance's predicted times, relative to the run's start.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepEstimate {
    pub index: usize,
    pub step: StepId,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zone: Option<String>,
    pub start_ms: u64,
    pub end_ms: u64,
    /// The job time before rounding up to the poll interval (job steps only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_ms: Option<u64>,
    /// Predicted bytes of its job (sync steps only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
}

/// The estimate of a plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    /// Predicted makespan.
    pub total_ms: u64,
    /// Per instance, in plan order.
    pub steps: Vec<StepEstimate>,
    /// The cost model of each cluster that runs a job.
    pub clusters: BTreeMap<String, Calibration>,
    /// What the estimate could not know (policies without incremental history, …).
    pub notes: Vec<String>,
}

/// Least-squares `y = a + b·x` through `(x, y)`; `None` when the xs do not vary.
fn fit_line(points: &[(f64, f64)]) -> Option<(f64, f64)> {
    let n = points.len() as f64;
    if points.len() < 2 {
        return None;
    }
    let mx = points.iter().map(|p| p.0).sum::<f64>() / n;
    let my = points.iter().map(|p| p.1).sum::<f64>() / n;
    let var: f64 = points.iter().map(|p| (p.0 - mx).powi(2)).sum();
    if var <= f64::EPSILON {
        return None;
    }
    let cov: f64 = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let b = cov / var;
    Some((my - b * mx, b))
}

/// The cost model of a cluster from the history of the jobs it ran.
pub fn calibrate<'a>(
    samples: impl IntoIterator<Item = &'a JobSample>,
    defaults: &CostDefaults,
) -> Calibration {
    let samples: Vec<&JobSample> = samples.into_iter().collect();
    let mut basis = BTreeMap::new();
    let runs: Vec<(f64, f64)> = samples
        .iter()
        .filter(|s| s.action == "run")
        .map(|s| (s.bytes as f64, s.duration_ms as f64))
        .collect();
    let (mut latency, mut bandwidth) = (
        defaults.job_start_latency_ms,
        defaults.bandwidth_bytes_per_s.max(1),
    );
    match fit_line(&runs) {
        // Slope in ms per byte; a line through report durations (whole seconds) needs a
        // positive slope and a non-negative intercept to mean latency + bytes / bandwidth.
        Some((a, b)) if b > 0.0 && a >= -500.0 => {
            latency = a.max(0.0).round() as u64;
            bandwidth = ((1000.0 / b).round() as u64).max(1);
            basis.insert("job_start_latency_ms".into(), "history".into());
            basis.insert("bandwidth_bytes_per_s".into(), "history".into());
        }
        _ => {
            basis.insert("job_start_latency_ms".into(), "defaults".into());
            basis.insert("bandwidth_bytes_per_s".into(), "defaults".into());
        }
    }
    let mut mean_of = |action: &str, default: u64| {
        let d: Vec<u64> = samples
            .iter()
            .filter(|s| s.action == action)
            .map(|s| s.duration_ms)
            .collect();
        let key = format!("{action}_ms");
        if d.is_empty() {
            basis.insert(key, "defaults".into());
            default
        } else {
            basis.insert(key, "history".into());
            d.iter().sum::<u64>() / d.len() as u64
        }
    };
    let allow_write_ms = mean_of("allow_write", defaults.allow_write_ms);
    let allow_write_revert_ms = mean_of("allow_write_revert", defaults.allow_write_revert_ms);
    let resync_prep_ms = mean_of("resync_prep", defaults.resync_prep_ms);
    Calibration {
        job_start_latency_ms: latency,
        bandwidth_bytes_per_s: bandwidth,
        allow_write_ms,
        allow_write_revert_ms,
        resync_prep_ms,
        run_samples: runs.len(),
        basis,
    }
}

impl Calibration {
    fn job_ms(&self, bytes: u64) -> u64 {
        let transfer = u128::from(bytes) * 1000 / u128::from(self.bandwidth_bytes_per_s.max(1));
        self.job_start_latency_ms
            .saturating_add(u64::try_from(transfer).unwrap_or(u64::MAX))
    }
}

/// The bytes a policy's next sync is expected to transfer: the mean of its incremental
/// syncs (`None`: no incremental sync known).
pub fn expected_delta_bytes(history: &[JobSample]) -> Option<u64> {
    let d: Vec<u64> = history
        .iter()
        .filter(|s| s.action == "run" && !s.initial)
        .map(|s| s.bytes)
        .collect();
    (!d.is_empty()).then(|| d.iter().sum::<u64>() / d.len() as u64)
}

/// `job_ms` rounded up to the next poll: the orchestrator sees a job end at its first poll
/// after it ended.
fn polled(job_ms: u64, poll_ms: u64) -> u64 {
    let poll = poll_ms.max(1);
    job_ms.div_ceil(poll).max(1) * poll
}

/// Estimate `plan` against what `inv` knows of the clusters.
pub fn estimate(plan: &Plan, inv: &Inventory, defaults: &CostDefaults) -> Estimate {
    // Every cluster's history: the reports of the policies it runs (a report lives on the
    // cluster that ran the job).
    let mut clusters: BTreeMap<String, Calibration> = BTreeMap::new();
    let calibration = |c: &str, clusters: &mut BTreeMap<String, Calibration>| -> Calibration {
        clusters
            .entry(c.to_string())
            .or_insert_with(|| {
                calibrate(
                    inv.policies
                        .values()
                        .filter(|p| p.source == c)
                        .flat_map(|p| &p.history),
                    defaults,
                )
            })
            .clone()
    };
    let poll = plan.spec.options.job_poll_interval_ms;
    let mut notes = Vec::new();
    let mut no_history = Vec::new();
    let mut slot_clusters: Vec<String> = Vec::new();
    let mut steps = Vec::with_capacity(plan.steps.len());
    let mut tasks = Vec::with_capacity(plan.steps.len());
    // By name, so a plan of N policies costs N lookups of log N, not N scans of the list.
    let by_name: BTreeMap<&str, &crate::inventory::PolicyInfo> =
        plan.policies.iter().map(|p| (p.name.as_str(), p)).collect();
    // Policies whose final sync follows a pre-sync (option `presync`, where planned).
    let presynced: std::collections::BTreeSet<&str> = plan
        .steps
        .iter()
        .filter(|s| s.step == StepId::Presync && s.not_applicable.is_none())
        .filter_map(|s| s.policy.as_deref())
        .collect();
    for s in &plan.steps {
        let policy = s.policy.as_ref().and_then(|p| {
            by_name
                .get(p.as_str())
                .copied()
                .or_else(|| inv.policies.get(p))
        });
        let (mut job_ms, mut bytes) = (None, None);
        if s.not_applicable.is_none() {
            if let Some(p) = policy {
                let src = p.source.clone();
                let tgt = p.target.clone().unwrap_or_else(|| src.clone());
                match s.step {
                    StepId::Presync => {
                        let cal = calibration(&src, &mut clusters);
                        let b = expected_delta_bytes(&p.history).unwrap_or_else(|| {
                            no_history.push(p.name.clone());
                            0
                        });
                        bytes = Some(b);
                        job_ms = Some(cal.job_ms(b));
                    }
                    StepId::SyncData => {
                        let cal = calibration(&src, &mut clusters);
                        let b = expected_delta_bytes(&p.history).unwrap_or_else(|| {
                            no_history.push(p.name.clone());
                            0
                        });
                        // After a pre-sync: what was written while it ran (its job time
                        // against the policy's sync interval), not the usual backlog.
                        let b = if presynced.contains(p.name.as_str()) {
                            let pre_ms = polled(cal.job_ms(b), poll);
                            let f = JobSample::presync_delta_fraction(&p.history, pre_ms);
                            (b as f64 * f).round() as u64
                        } else {
                            b
                        };
                        bytes = Some(b);
                        job_ms = Some(cal.job_ms(b));
                    }
                    StepId::RunMirror => {
                        let cal = calibration(&tgt, &mut clusters);
                        bytes = Some(0);
                        job_ms = Some(cal.job_ms(0));
                    }
                    StepId::AllowWrite => {
                        job_ms = Some(calibration(&tgt, &mut clusters).allow_write_ms)
                    }
                    StepId::AllowWriteRevert => {
                        job_ms = Some(calibration(&tgt, &mut clusters).allow_write_revert_ms)
                    }
                    StepId::ResyncPrep => {
                        job_ms = Some(calibration(&src, &mut clusters).resync_prep_ms)
                    }
                    _ => {}
                }
            }
        }
        let cluster = s.job_slot.as_ref().map(|c| {
            slot_clusters
                .iter()
                .position(|x| x == c)
                .unwrap_or_else(|| {
                    slot_clusters.push(c.clone());
                    slot_clusters.len() - 1
                })
        });
        tasks.push(Task {
            deps: s.deps.clone(),
            duration_ms: job_ms.map_or(0, |j| polled(j, poll)),
            cluster,
            group: 0,
        });
        steps.push(StepEstimate {
            index: s.idx,
            step: s.step,
            policy: s.policy.clone(),
            zone: s.zone.clone(),
            start_ms: 0,
            end_ms: 0,
            job_ms,
            bytes,
        });
    }
    let mut slots: Vec<u32> = slot_clusters
        .iter()
        .map(|c| {
            inv.clusters
                .get(c)
                .map_or(1, |c| c.max_concurrent_jobs.max(1))
        })
        .collect();
    if !plan.spec.options.parallel {
        // Serial mode: one instance at a time, as if every instance held one shared slot.
        let all = slots.len();
        slots.push(1);
        for t in &mut tasks {
            t.cluster = Some(all);
        }
    }
    let members: Vec<usize> = (0..tasks.len()).collect();
    let starts = list_schedule(&tasks, &members, 0, &slots);
    let mut total_ms = 0;
    for ((e, t), start) in steps.iter_mut().zip(&tasks).zip(starts) {
        e.start_ms = start;
        e.end_ms = start + t.duration_ms;
        total_ms = total_ms.max(e.end_ms);
    }
    if !no_history.is_empty() {
        no_history.sort();
        no_history.dedup();
        notes.push(format!(
            "{} polic{} without incremental sync history ({}{}): their final sync is estimated as no change since the last sync",
            no_history.len(),
            if no_history.len() == 1 { "y" } else { "ies" },
            no_history.iter().take(5).cloned().collect::<Vec<_>>().join(", "),
            if no_history.len() > 5 { ", …" } else { "" }
        ));
    }
    if plan.spec.options.networking == crate::run_spec::Networking::Manual
        && plan
            .steps
            .iter()
            .any(|s| s.not_applicable.is_none() && s.step.is_networking())
    {
        notes.push("manual steps are estimated as confirmed at once".into());
    }
    Estimate {
        total_ms,
        steps,
        clusters,
        notes,
    }
}

impl Estimate {
    /// A table for people: one line per instance that takes time, then the total.
    pub fn render(&self) -> String {
        use std::fmt::Write as _;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{:<28} {:<24} {:>10} {:>10} {:>10}",
            "step", "policy/zone", "start", "end", "duration"
        );
        for s in self.steps.iter().filter(|s| s.end_ms > s.start_ms) {
            let _ = writeln!(
                out,
                "{:<28} {:<24} {:>10} {:>10} {:>10}",
                s.step.to_string(),
                s.policy.as_deref().or(s.zone.as_deref()).unwrap_or("-"),
                fmt_ms(s.start_ms),
                fmt_ms(s.end_ms),
                fmt_ms(s.end_ms - s.start_ms)
            );
        }
        let _ = writeln!(out, "estimated total: {}", fmt_ms(self.total_ms));
        for (c, cal) in &self.clusters {
            let _ = writeln!(
                out,
                "cost model {c}: job start {} ms, {} bytes/s ({} run reports), allow-write {} ms, resync-prep {} ms",
                cal.job_start_latency_ms,
                cal.bandwidth_bytes_per_s,
                cal.run_samples,
                cal.allow_write_ms,
                cal.resync_prep_ms
            );
        }
        for n in &self.notes {
            let _ = writeln!(out, "note: {n}");
        }
        out
    }
}

/// `1h02m03s`, `4m05s`, `6.5s`.
pub fn fmt_ms(ms: u64) -> String {
    let s = ms / 1000;
    if s >= 3600 {
        format!("{}h{:02}m{:02}s", s / 3600, s / 60 % 60, s % 60)
    } else if s >= 60 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{}.{}s", s, ms % 1000 / 100)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(bytes: u64, duration_ms: u64) -> JobSample {
        JobSample {
            action: "run".into(),
            duration_ms,
            bytes,
            initial: false,
            end_time: 0,
        }
    }

    #[test]
    fn calibration_recovers_latency_and_bandwidth() {
        // 4 s start latency, 100 MB/s.
        let h: Vec<JobSample> = [0u64, 1_000_000_000, 3_000_000_000, 500_000_000]
            .iter()
            .map(|&b| run(b, 4_000 + b / 100_000))
            .collect();
        let c = calibrate(&h, &CostDefaults::default());
        assert_eq!(c.job_start_latency_ms, 4_000);
        assert_eq!(c.bandwidth_bytes_per_s, 100_000_000);
        assert_eq!(c.basis["bandwidth_bytes_per_s"], "history");
        assert_eq!(c.allow_write_ms, 10_000);
        assert_eq!(c.basis["allow_write_ms"], "defaults");
    }

    #[test]
    fn too_little_history_uses_defaults() {
        let d = CostDefaults::default();
        for h in [
            vec![],
            vec![run(5, 6_000)],
            vec![run(5, 9_000), run(5, 3_000)],
        ] {
            let c = calibrate(&h, &d);
            assert_eq!(c.job_start_latency_ms, d.job_start_latency_ms);
            assert_eq!(c.bandwidth_bytes_per_s, d.bandwidth_bytes_per_s);
        }
        // A line with a negative slope is noise, not a cost model.
        let c = calibrate(&[run(0, 9_000), run(1_000_000_000, 3_000)], &d);
        assert_eq!(c.basis["job_start_latency_ms"], "defaults");
    }

    #[test]
    fn delta_is_the_mean_of_incremental_syncs() {
        let mut first = run(1_000_000, 60_000);
        first.initial = true;
        assert_eq!(expected_delta_bytes(std::slice::from_ref(&first)), None);
        assert_eq!(
            expected_delta_bytes(&[first, run(100, 1), run(300, 1)]),
            Some(200)
        );
    }

    #[test]
    fn jobs_are_seen_at_the_next_poll() {
        assert_eq!(polled(5_000, 5_000), 5_000);
        assert_eq!(polled(5_001, 5_000), 10_000);
        assert_eq!(polled(0, 5_000), 5_000);
    }

    #[test]
    fn durations_read_well() {
        assert_eq!(fmt_ms(6_500), "6.5s");
        assert_eq!(fmt_ms(245_000), "4m05s");
        assert_eq!(fmt_ms(3_723_000), "1h02m03s");
    }
}
