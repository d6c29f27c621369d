//! `drill verify FILE`: prove an admin's failover plan on a copy of their estate (DESIGN §11).
//!
//! FILE is a `dr discover --dump` inventory (imported with [`crate::import`]) or a scenario.
//! On that world the verifier runs, all judged by the invariant checker:
//! * a controlled failover in every mode the world supports (SyncIQ policy always; Access
//!   Zone and IP Pool when a pool of the failing-over cluster is mapped; DFS when the world
//!   has DFS namespaces), each expected to succeed;
//! * a failback (the main failover as prelude, then the failback) and a rehearsal in the
//!   main mode;
//! * the prediction (`dr plan --estimate`) of the main failover, set against its simulated
//!   duration;
//! * a **fault sweep**: every step instance of the main failover's plan × every fault kind
//!   that applies to it, one judged run each. A case where an invariant is violated is a
//!   *finding*; its scenario (the world, the run and the one fault) is written as a replay
//!   file that `drill run` reproduces. The `orchestrator_crash` column kills the
//!   orchestrator during the step's first call and resumes it from its journal on the same
//!   world ([`crate::crash`]); the case is judged on convergence (I9: the same final world
//!   and report as the uninterrupted run).
//!
//! The verdict is `verdict.html` (the main failover's report with the drill section, the
//! estimate and the sweep matrix), `verdict.json` ([`Verdict`]) and a text summary.
//! Every run is in-process under the paused clock, so the same file and sweep seed give the
//! same verdict.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use orchestrator::estimate::{estimate, CostDefaults};
use orchestrator::html::{Extras, SweepCell, SweepMatrix};
use orchestrator::{Actor, Mode, Plan, RunKind, RunSpec, StepId, StepInstance};
use serde::{Deserialize, Serialize};
use sim_onefs::{FaultEffect, FaultMatch, FaultRule};

use crate::clients::Outage;
use crate::judge::Verdict as InvariantVerdict;
use crate::runner::{in_process_clients, world_mappings, DrillError, DrillResult};
use crate::scenario::{Expect, ExpectedOutcome, InvariantKeyword, InvariantSelection};
use crate::world::World;
use crate::{run_scenario, DrillOptions, Scenario};

/// Default most sweep cases.
pub const DEFAULT_MAX_CASES: usize = 200;

/// The `format` of `verdict.json`.
pub const VERDICT_FORMAT: &str = "failover-lab-verdict";

/// Choices of [`verify`].
#[derive(Clone)]
pub struct VerifyOptions {
    /// Verify only this mode (default: every mode the world supports).
    pub mode: Option<Mode>,
    /// Where `verdict.html`, `verdict.json`, `runs/` and `replay/` go.
    pub out_dir: PathBuf,
    /// Seeds which policies' steps are swept when there are more cases than `max_cases`.
    pub sweep_seed: u64,
    /// Most sweep cases (0 = no sweep).
    pub max_cases: usize,
    /// Worker threads.
    pub jobs: usize,
    /// Show a progress bar on stderr (callers pass "stderr is a terminal").
    pub progress: bool,
    /// Options of every run (test hooks; the transport is always in-process).
    pub drill: DrillOptions,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        VerifyOptions {
            mode: None,
            out_dir: PathBuf::from("verdict"),
            sweep_seed: 0,
            max_cases: DEFAULT_MAX_CASES,
            jobs: 1,
            progress: false,
            drill: DrillOptions::default(),
        }
    }
}

/// The verification could not be made.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// FILE or an option is wrong (exit 2).
    #[error("{0}")]
    Input(String),
    /// The verdict files could not be written.
    #[error("cannot write {path}: {err}")]
    Write { path: String, err: std::io::Error },
}

/// Read FILE: a `dr discover --dump` inventory (imported in `mode`, default SyncIQ policy)
/// or a scenario YAML.
pub fn load_input(path: &Path, mode: Option<Mode>) -> Result<Scenario, VerifyError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| VerifyError::Input(format!("cannot read {}: {e}", path.display())))?;
    let is_dump = text.trim_start().starts_with('{')
        && serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| v.get("format").and_then(|f| f.as_str()).map(str::to_owned))
            .is_some_and(|f| f == "failover-lab-inventory");
    if is_dump {
        let opts = crate::import::ImportOptions {
            mode: mode.unwrap_or_default(),
            seed: 1,
            ..Default::default()
        };
        crate::import::import_text(&text, &opts)
            .map_err(|e| VerifyError::Input(format!("{}: {e}", path.display())))
    } else {
        Scenario::parse(&text, &path.display().to_string())
            .map_err(|e| VerifyError::Input(e.to_string()))
    }
}

/// One judged run of the verdict.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RunSummary {
    /// `failover`, `failback` or `rehearsal`.
    pub kind: String,
    pub mode: String,
    pub from: String,
    pub to: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pool: Option<String>,
    /// The report's outcome, or `not_started` / `panic`.
    pub outcome: String,
    /// Succeeded and every invariant held.
    pub passed: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub makespan_ms: Option<u64>,
    /// Violated invariants, `I3: what`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub violations: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expect_failures: Vec<String>,
    /// Failed or skipped steps with their detail.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
    /// Why the run could not start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The run's HTML report, relative to the verdict directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report: Option<String>,
    /// A run that did not pass: its scenario (expecting success, judged on every
    /// invariant), relative to the verdict directory; `drill run` reproduces the failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replay: Option<String>,
}

/// The readiness tree of the main failover, summarised.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ReadinessSummary {
    /// `ok`, `warning` or `error`.
    pub status: String,
    pub ok: usize,
    pub warning: usize,
    pub error: usize,
    /// Every warning and error: `node: message (fix: …)` — what would block.
    pub problems: Vec<String>,
}

/// Predicted against simulated duration of the main failover.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EstimateSummary {
    pub estimated_ms: u64,
    pub simulated_ms: u64,
    /// (estimated − simulated) / simulated, in percent.
    pub error_pct: f64,
}

/// A sweep case where an invariant was violated.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Finding {
    /// The step instance (`step`, `step[policy]`, `step[zone z]`).
    pub step: String,
    pub fault: String,
    pub outcome: String,
    pub violations: Vec<String>,
    /// The replay scenario, relative to the verdict directory.
    pub replay: String,
}

/// The fault sweep, summarised.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct SweepSummary {
    pub seed: u64,
    pub max_cases: usize,
    /// Step instances of the main plan that act on a cluster (the sweep's rows).
    pub step_instances: usize,
    /// The instances swept (fewer than `step_instances` when sampled).
    pub instances_swept: usize,
    /// Cases run.
    pub cases: usize,
    /// Fault kinds used (the matrix's columns).
    pub faults: Vec<String>,
    /// Fault kinds not swept, with why.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub not_swept: BTreeMap<String, String>,
    /// Cases by run outcome.
    pub by_outcome: BTreeMap<String, usize>,
    pub findings: Vec<Finding>,
    /// Every case: step instance, fault, outcome, whether the invariants held, replay.
    pub cells: Vec<SweepCell>,
}

/// `verdict.json`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Verdict {
    pub format: String,
    pub version: u32,
    pub scenario: String,
    pub seed: u64,
    pub clusters: usize,
    pub policies: usize,
    /// Every run passed its judgement and the sweep found no invariant violation.
    pub passed: bool,
    /// The main failover first, then the other modes' failovers, the failback, the rehearsal.
    pub runs: Vec<RunSummary>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub readiness: Option<ReadinessSummary>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimate: Option<EstimateSummary>,
    /// Client outage windows and lost writes of the main failover.
    pub outages: Vec<Outage>,
    pub sweep: SweepSummary,
    /// Notes on choices made (modes not applicable, estimate unavailable, …).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl Verdict {
    /// The short text summary `drill verify` prints.
    pub fn render(&self, out_dir: &Path) -> String {
        use std::fmt::Write;
        let mut s = String::new();
        let _ = writeln!(
            s,
            "verify {} (seed {}): {} clusters, {} policies",
            self.scenario, self.seed, self.clusters, self.policies
        );
        for r in &self.runs {
            let _ = writeln!(
                s,
                "  {:<9} {:<13} {} → {}  {:<11} {}{}",
                r.kind,
                r.mode,
                r.from,
                r.to,
                r.outcome,
                if r.passed { "passed" } else { "FAILED" },
                r.makespan_ms
                    .map(|m| format!("  {}", fmt_ms(m)))
                    .unwrap_or_default()
            );
            for v in r
                .violations
                .iter()
                .chain(&r.expect_failures)
                .chain(&r.error)
            {
                let _ = writeln!(s, "      {v}");
            }
        }
        if let Some(r) = &self.readiness {
            let _ = writeln!(
                s,
                "readiness: {} ({} ok, {} warnings, {} errors)",
                r.status, r.ok, r.warning, r.error
            );
            for p in r.problems.iter().take(10) {
                let _ = writeln!(s, "  {p}");
            }
        }
        if let Some(e) = &self.estimate {
            let _ = writeln!(
                s,
                "duration: estimated {}, simulated {} ({:+.1}%)",
                fmt_ms(e.estimated_ms),
                fmt_ms(e.simulated_ms),
                e.error_pct
            );
        }
        for o in &self.outages {
            let _ = writeln!(
                s,
                "client {}: outage {}, {} lost writes",
                o.client,
                o.window_ms.map(fmt_ms).unwrap_or_else(|| "none".into()),
                o.lost_writes
            );
        }
        let sw = &self.sweep;
        let outcomes: Vec<String> = sw
            .by_outcome
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        let _ = writeln!(
            s,
            "sweep: {} cases ({} of {} step instances × {} fault kinds, seed {}): {}; {} findings",
            sw.cases,
            sw.instances_swept,
            sw.step_instances,
            sw.faults.len(),
            sw.seed,
            outcomes.join(", "),
            sw.findings.len()
        );
        for f in &sw.findings {
            let _ = writeln!(
                s,
                "  FINDING {} × {}: {}; replay {}",
                f.step,
                f.fault,
                f.violations.join("; "),
                out_dir.join(&f.replay).display()
            );
        }
        let _ = writeln!(
            s,
            "verdict: {} ({}, {})",
            if self.passed { "PASS" } else { "FAIL" },
            out_dir.join("verdict.html").display(),
            out_dir.join("verdict.json").display()
        );
        s
    }
}

fn fmt_ms(ms: u64) -> String {
    let s = ms / 1000;
    if s >= 3600 {
        format!("{}h{:02}m{:02}s", s / 3600, s / 60 % 60, s % 60)
    } else if s >= 60 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{}.{:03}s", s, ms % 1000)
    }
}

/// One fault kind of the sweep.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Fault {
    /// `http {status: 503, count: 2}`: a busy-cluster burst the orchestrator retries through.
    Http503Burst,
    /// `http {status: 500}`: every call of the step fails.
    Http500,
    DropConnection,
    SyncjobFail,
    AllowWriteFail,
    ResyncPrepFail,
    AdUnreachable,
    /// The orchestrator dies during the step's first call and is resumed from its journal
    /// (the crash harness, [`crate::crash`]); judged on convergence (I9): the world and
    /// report must equal those of the uninterrupted run.
    OrchestratorCrash,
}

impl Fault {
    const ALL: [Fault; 8] = [
        Fault::Http503Burst,
        Fault::Http500,
        Fault::DropConnection,
        Fault::SyncjobFail,
        Fault::AllowWriteFail,
        Fault::ResyncPrepFail,
        Fault::AdUnreachable,
        Fault::OrchestratorCrash,
    ];

    fn name(self) -> &'static str {
        match self {
            Fault::Http503Burst => "http 503 ×2",
            Fault::Http500 => "http 500",
            Fault::DropConnection => "drop_connection",
            Fault::SyncjobFail => "syncjob_fail",
            Fault::AllowWriteFail => "allow_write_fail",
            Fault::ResyncPrepFail => "resync_prep_fail",
            Fault::AdUnreachable => "ad_unreachable",
            Fault::OrchestratorCrash => "orchestrator_crash",
        }
    }

    fn file_name(self) -> &'static str {
        match self {
            Fault::Http503Burst => "http503x2",
            Fault::Http500 => "http500",
            _ => self.name(),
        }
    }

    fn effect(self) -> FaultEffect {
        match self {
            Fault::Http503Burst => FaultEffect::Http {
                status: 503,
                count: Some(2),
            },
            Fault::Http500 => FaultEffect::Http {
                status: 500,
                count: None,
            },
            Fault::DropConnection => FaultEffect::DropConnection,
            Fault::SyncjobFail => FaultEffect::SyncjobFail { at_progress: 0.5 },
            Fault::AllowWriteFail => FaultEffect::AllowWriteFail,
            Fault::ResyncPrepFail => FaultEffect::ResyncPrepFail,
            Fault::AdUnreachable => FaultEffect::AdUnreachable,
            Fault::OrchestratorCrash => FaultEffect::OrchestratorCrash,
        }
    }

    /// Whether the fault can fire on `inst`'s calls.
    fn applies(self, inst: &StepInstance) -> bool {
        match self {
            Fault::Http503Burst
            | Fault::Http500
            | Fault::DropConnection
            | Fault::OrchestratorCrash => true,
            Fault::SyncjobFail => inst.job_slot.is_some(),
            Fault::AllowWriteFail => inst.step == StepId::AllowWrite,
            Fault::ResyncPrepFail => inst.step == StepId::ResyncPrep,
            Fault::AdUnreachable => {
                matches!(inst.step, StepId::RemoveSourceSpns | StepId::AddTargetSpns)
            }
        }
    }
}

/// The step instances a sweep targets: they run in this plan and make PAPI calls (faults
/// are matched on the calls' step headers; orchestrator-only and DNS steps make none).
fn sweepable(plan: &Plan) -> Vec<&StepInstance> {
    plan.steps
        .iter()
        .filter(|s| s.not_applicable.is_none())
        .filter(|s| matches!(s.actor, Actor::Source | Actor::Target | Actor::Both))
        .collect()
}

/// A deterministic 64-bit mix (splitmix64) for seeded sampling.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

fn hash_str(seed: u64, s: &str) -> u64 {
    s.bytes().fold(mix(seed), |h, b| mix(h ^ u64::from(b)))
}

/// The sweep's cases, at most `max_cases`: every step id is covered before a second
/// instance (policy) of any step is; within a step, instances are taken in an order drawn
/// from `seed`. Returns the cases (plan index, fault) in plan order.
fn plan_cases(plan: &Plan, seed: u64, max_cases: usize) -> Vec<(usize, Fault)> {
    let mut by_step: BTreeMap<StepId, Vec<&StepInstance>> = BTreeMap::new();
    for s in sweepable(plan) {
        by_step.entry(s.step).or_default().push(s);
    }
    for v in by_step.values_mut() {
        v.sort_by_key(|s| (hash_str(seed, &s.label()), s.idx));
    }
    let mut chosen = Vec::new();
    let mut round = 0;
    'outer: loop {
        let mut any = false;
        for insts in by_step.values() {
            let Some(inst) = insts.get(round) else {
                continue;
            };
            any = true;
            let faults: Vec<Fault> = Fault::ALL.into_iter().filter(|f| f.applies(inst)).collect();
            if chosen.len() + faults.len() > max_cases {
                break 'outer;
            }
            chosen.extend(faults.into_iter().map(|f| (inst.idx, f)));
        }
        if !any {
            break;
        }
        round += 1;
    }
    chosen.sort();
    chosen
}

/// The main failover and the other modes' failovers the world supports.
fn mode_runs(scn: &Scenario, only: Option<Mode>) -> Result<Vec<RunSpec>, VerifyError> {
    let base = RunSpec {
        kind: RunKind::Failover,
        controlled: true,
        ..scn.run.clone()
    };
    let from = base.from.clone();
    // The failing-over cluster's mapped pools: (pool id, zone).
    let mapped: Vec<(String, String)> = scn
        .world
        .pool_mappings
        .iter()
        .filter_map(|m| {
            let (c, id) = m.source.split_once('/')?;
            if c != from {
                return None;
            }
            let pool = scn
                .world
                .clusters
                .iter()
                .find(|x| x.name == c)?
                .pools
                .iter()
                .find(|p| p.id == id || p.id.rsplit('.').next() == Some(id))?;
            Some((id.to_string(), pool.zone.clone()))
        })
        .collect();
    let same = |m: Mode| scn.run.mode == m && scn.run.kind == RunKind::Failover;
    let mut runs = Vec::new();
    for mode in [
        Mode::SynciqPolicy,
        Mode::AccessZone,
        Mode::IpPool,
        Mode::Dfs,
    ] {
        if only.is_some_and(|o| o != mode) {
            continue;
        }
        let mut r = base.clone();
        r.mode = mode;
        if !same(mode) {
            r.policies.clear();
            r.zone = None;
            r.pool = None;
        }
        let applies = match mode {
            // Shares behind DFS namespaces fail over in DFS mode: SyncIQ mode would leave
            // both copies reachable through the namespace (the judge's I12).
            Mode::SynciqPolicy => scn.world.dfs.is_empty() || only.is_some(),
            Mode::AccessZone => {
                if r.zone.is_none() {
                    r.zone = mapped.first().map(|(_, z)| z.clone());
                }
                r.zone
                    .as_ref()
                    .is_some_and(|z| mapped.iter().any(|(_, mz)| mz == z))
            }
            Mode::IpPool => {
                if r.pool.is_none() {
                    r.pool = mapped.first().map(|(p, _)| p.clone());
                }
                r.pool.is_some()
            }
            Mode::Dfs => !scn.world.dfs.is_empty(),
        };
        if applies {
            runs.push(r);
        } else if only.is_some() {
            return Err(VerifyError::Input(format!(
                "--mode {}: the world has nothing for it ({})",
                mode.as_str(),
                match mode {
                    Mode::Dfs => "no DFS namespaces",
                    _ => "no pool mapping of the failing-over cluster's pools",
                }
            )));
        }
    }
    // The scenario's own mode leads (the admin's plan), else SyncIQ policy.
    if let Some(i) = runs.iter().position(|r| r.mode == scn.run.mode) {
        let main = runs.remove(i);
        runs.insert(0, main);
    }
    Ok(runs)
}

/// A judged scenario of `run` on the world of `scn`: no faults, expected to succeed.
fn judged(scn: &Scenario, run: RunSpec, prelude: Vec<RunSpec>, tag: &str) -> Scenario {
    Scenario {
        name: format!("{}-{tag}", scn.name),
        run,
        prelude,
        faults: Vec::new(),
        expect: Expect {
            outcome: Some(ExpectedOutcome::Succeeded),
            steps: Vec::new(),
            invariants: InvariantSelection::Keyword(InvariantKeyword::All),
        },
        ..scn.clone()
    }
}

/// The failback of a failover: the same mode, the other way, after it. In IP Pool mode the
/// pool failing back is the mapped target pool of the failover's pool.
fn failback_of(scn: &Scenario, main: &RunSpec) -> RunSpec {
    let pool = main.pool.as_ref().map(|p| {
        scn.world
            .pool_mappings
            .iter()
            .find_map(|m| {
                let (c, id) = m.source.split_once('/')?;
                let (tc, tid) = m.target.split_once('/')?;
                (c == main.from && tc == main.to && (id == p || id.rsplit('.').next() == Some(p)))
                    .then(|| tid.to_string())
            })
            .unwrap_or_else(|| p.clone())
    });
    RunSpec {
        kind: RunKind::Failback,
        from: main.to.clone(),
        to: main.from.clone(),
        policies: Vec::new(),
        pool,
        ..main.clone()
    }
}

/// The outcome of one run (judged or swept).
enum Ran {
    Done(Box<DrillResult>),
    /// A crash case: the resumed run's outcome and, if it did not converge with the
    /// uninterrupted run, how (an I9 violation).
    Crashed {
        outcome: String,
        divergence: Option<String>,
    },
    NotStarted(String),
    Panic(String),
}

impl Ran {
    fn outcome(&self) -> String {
        match self {
            Ran::Done(r) => r.report.outcome.as_str().to_string(),
            Ran::Crashed { outcome, .. } => outcome.clone(),
            Ran::NotStarted(_) => "not_started".into(),
            Ran::Panic(_) => "panic".into(),
        }
    }

    fn violations(&self) -> Vec<String> {
        match self {
            Ran::Done(r) => violations(r),
            Ran::Crashed { divergence, .. } => divergence
                .iter()
                .map(|d| format!("I9: resumed after the crash, {d}"))
                .collect(),
            Ran::NotStarted(_) => Vec::new(),
            Ran::Panic(m) => vec![format!("panic: {m}")],
        }
    }
}

/// The crash point of a sweep case: its `orchestrator_crash` rule's match, if it has one.
fn crash_match(scn: &Scenario) -> Option<FaultMatch> {
    scn.faults
        .iter()
        .find(|f| f.effect == FaultEffect::OrchestratorCrash)
        .map(|f| f.when.clone())
}

/// Crash `scn`'s run during the first call matching `m`, resume it from the journal on the
/// same world, and compare with `baseline` (the uninterrupted run of the same world).
fn run_crash(scn: &Scenario, m: FaultMatch, baseline: Option<&crate::crash::Ending>) -> Ran {
    let body = || -> Ran {
        let rt = match tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
        {
            Ok(rt) => rt,
            Err(e) => return Ran::NotStarted(e.to_string()),
        };
        let point = crate::crash::CrashPoint::Matching(m);
        match rt.block_on(crate::crash::run_with_crash(scn, Some(point))) {
            Ok(end) => Ran::Crashed {
                outcome: end.report.outcome.clone(),
                divergence: match baseline {
                    // The step made no matching call: nothing crashed, nothing to judge.
                    _ if !end.crashed => None,
                    Some(b) => crate::crash::compare(b, &end),
                    None => Some("no uninterrupted run to compare with".into()),
                },
            },
            Err(Ok(crate::crash::Unsupported(m))) => Ran::NotStarted(m),
            Err(Err(e)) => Ran::Crashed {
                outcome: "not_resumed".into(),
                divergence: Some(e),
            },
        }
    };
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(body)) {
        Ok(r) => r,
        Err(p) => Ran::Panic(
            p.downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "panic".into()),
        ),
    }
}

fn violations(r: &DrillResult) -> Vec<String> {
    r.invariants
        .iter()
        .filter_map(|i| match &i.verdict {
            InvariantVerdict::Violated { violations } => Some(format!(
                "{}: {}",
                i.id,
                violations.first().cloned().unwrap_or_default()
            )),
            _ => None,
        })
        .collect()
}

fn run_one(scn: &Scenario, opts: &DrillOptions) -> Ran {
    let opts = DrillOptions {
        transport: crate::TransportKind::InProcess,
        observer: None,
        ..opts.clone()
    };
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run_scenario(scn, &opts))) {
        Ok(Ok(r)) => Ran::Done(Box::new(r)),
        Ok(Err(e)) => Ran::NotStarted(e.to_string()),
        Err(p) => Ran::Panic(
            p.downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "panic".into()),
        ),
    }
}

/// Run `scns` on `jobs` worker threads (each run on its own runtime), results in order.
/// A scenario with an `orchestrator_crash` rule is a crash case, compared with `baseline`.
fn run_all(
    scns: &[Scenario],
    opts: &VerifyOptions,
    baseline: Option<&crate::crash::Ending>,
) -> Vec<Ran> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Ran>>> = Mutex::new((0..scns.len()).map(|_| None).collect());
    let bar = if opts.progress {
        let b = indicatif::ProgressBar::new(scns.len() as u64);
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "{elapsed_precise} [{bar:40}] {pos}/{len} runs  {msg}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        b
    } else {
        indicatif::ProgressBar::hidden()
    };
    let findings = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..opts.jobs.clamp(1, 64) {
            scope.spawn(|| {
                // Failed steps are the point of a sweep; the verdict reports them itself.
                let _quiet =
                    tracing::subscriber::set_default(tracing::subscriber::NoSubscriber::default());
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(scn) = scns.get(i) else { break };
                    let ran = match crash_match(scn) {
                        Some(m) => run_crash(scn, m, baseline),
                        None => run_one(scn, &opts.drill),
                    };
                    if !ran.violations().is_empty() {
                        let n = findings.fetch_add(1, Ordering::Relaxed) + 1;
                        bar.set_message(format!("{n} with violations"));
                    }
                    results.lock().unwrap_or_else(|p| p.into_inner())[i] = Some(ran);
                    bar.inc(1);
                }
            });
        }
    });
    bar.finish_and_clear();
    results
        .into_inner()
        .unwrap_or_else(|p| p.into_inner())
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Ran::NotStarted("not run".into())))
        .collect()
}

/// Discover the world, plan the main failover and estimate it (as `dr plan --estimate`).
fn plan_and_estimate(scn: &Scenario) -> Result<(Plan, u64), String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(async {
        let world = World::build(&scn.world, scn.seed)?;
        crate::runner::run_preludes(scn, &world).await?;
        crate::runner::return_clusters(scn, &world);
        let clients = in_process_clients(&world.sim).map_err(|e: DrillError| e.to_string())?;
        let inv = orchestrator::runner::discover(&clients)
            .await
            .map_err(|e| e.to_string())?;
        let mut spec = scn.run.clone();
        if spec.pool_mappings.is_empty() {
            spec.pool_mappings = world_mappings(scn);
        }
        let plan = orchestrator::build_plan(&spec, &inv).map_err(|e| e.to_string())?;
        let c = &scn.world.costs;
        let defaults = CostDefaults {
            allow_write_ms: c.allow_write_ms,
            allow_write_revert_ms: c.allow_write_revert_ms,
            resync_prep_ms: c.resync_prep_ms,
            ..CostDefaults::default()
        };
        let est = estimate(&plan, &inv, &defaults);
        Ok((plan, est.total_ms))
    })
}

fn summary(spec: &RunSpec, ran: &Ran) -> RunSummary {
    let mut s = RunSummary {
        kind: format!("{:?}", spec.kind).to_lowercase(),
        mode: spec.mode.as_str().to_string(),
        from: spec.from.clone(),
        to: spec.to.clone(),
        zone: spec.zone.clone(),
        pool: spec.pool.clone(),
        outcome: ran.outcome(),
        passed: false,
        makespan_ms: None,
        violations: ran.violations(),
        expect_failures: Vec::new(),
        problems: Vec::new(),
        error: None,
        report: None,
        replay: None,
    };
    match ran {
        Ran::Done(r) => {
            s.passed = r.passed();
            s.makespan_ms = Some(r.report.makespan_ms);
            s.expect_failures = r.expect_failures.clone();
            s.problems = r
                .report
                .steps
                .iter()
                .filter_map(|st| {
                    let label = match (&st.policy, &st.zone) {
                        (Some(p), _) => format!("{}[{p}]", st.step),
                        (None, Some(z)) => format!("{}[zone {z}]", st.step),
                        _ => st.step.to_string(),
                    };
                    match &st.status {
                        orchestrator::StepStatus::Failed { error } => {
                            Some(format!("{label} failed: {error}"))
                        }
                        orchestrator::StepStatus::Skipped { reason } => Some(format!(
                            "{label} skipped: {}",
                            serde_json::to_string(reason).unwrap_or_default()
                        )),
                        _ => None,
                    }
                })
                .take(50)
                .collect();
        }
        Ran::Crashed { divergence, .. } => {
            s.passed = divergence.is_none();
            s.error = divergence.clone();
        }
        Ran::NotStarted(e) | Ran::Panic(e) => s.error = Some(e.clone()),
    }
    s
}

fn readiness_summary(r: &orchestrator::readiness::Readiness) -> ReadinessSummary {
    let status_name = |s: orchestrator::readiness::CheckStatus| {
        serde_json::to_value(s)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    };
    let problems = r
        .checks()
        .into_iter()
        .filter(|(_, c)| c.status != orchestrator::readiness::CheckStatus::Ok)
        .map(|(n, c)| {
            format!(
                "{} {}: {} {}{}",
                status_name(c.status),
                n.name,
                c.id,
                c.message,
                c.fix
                    .as_ref()
                    .map(|f| format!(" (fix: {f})"))
                    .unwrap_or_default()
            )
        })
        .collect();
    ReadinessSummary {
        status: status_name(r.status),
        ok: r.counts.ok,
        warning: r.counts.warning,
        error: r.counts.error,
        problems,
    }
}

fn write(path: &Path, text: &str) -> Result<(), VerifyError> {
    if let Some(d) = path.parent() {
        std::fs::create_dir_all(d).map_err(|err| VerifyError::Write {
            path: d.display().to_string(),
            err,
        })?;
    }
    std::fs::write(path, text).map_err(|err| VerifyError::Write {
        path: path.display().to_string(),
        err,
    })
}

fn safe(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Verify `scn` and write the verdict into `opts.out_dir`.
pub fn verify(scn: &Scenario, opts: &VerifyOptions) -> Result<Verdict, VerifyError> {
    let modes = mode_runs(scn, opts.mode)?;
    let main_spec = modes
        .first()
        .cloned()
        .ok_or_else(|| VerifyError::Input("no failover mode applies to the world".into()))?;
    let mut notes = Vec::new();
    for m in [
        Mode::SynciqPolicy,
        Mode::AccessZone,
        Mode::IpPool,
        Mode::Dfs,
    ] {
        if opts.mode.is_none() && !modes.iter().any(|r| r.mode == m) {
            notes.push(format!(
                "{} mode not run: {}",
                m.as_str(),
                match m {
                    Mode::Dfs => "the world has no DFS namespaces",
                    Mode::SynciqPolicy => {
                        "the world's shares are behind DFS namespaces (DFS mode fails them over)"
                    }
                    _ => "no pool of the failing-over cluster is mapped",
                }
            ));
        }
    }
    let main = judged(scn, main_spec.clone(), Vec::new(), "failover");

    // The plan of the main failover (the sweep's rows) and its prediction.
    let planned = plan_and_estimate(&main);
    let (plan, estimated_ms) = match planned {
        Ok((p, e)) => (Some(p), Some(e)),
        Err(e) => {
            notes.push(format!("the main failover could not be planned: {e}"));
            (None, None)
        }
    };

    // The judged runs: every mode's failover, then the failback and rehearsal of the main.
    let mut specs: Vec<(RunSpec, Scenario)> = modes
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let s = if i == 0 {
                main.clone()
            } else {
                judged(
                    scn,
                    r.clone(),
                    Vec::new(),
                    &format!("failover-{}", r.mode.as_str()),
                )
            };
            (r.clone(), s)
        })
        .collect();
    let fb = failback_of(scn, &main_spec);
    specs.push((
        fb.clone(),
        judged(scn, fb, vec![main_spec.clone()], "failback"),
    ));
    let rh = RunSpec {
        kind: RunKind::Rehearsal,
        ..main_spec.clone()
    };
    // A rehearsal gives test clients the target's copies through their shares and exports:
    // the scheduled config replication keeps those on the target, so one config sync runs
    // first (as `dr config-sync --once` would).
    let mut rehearsal = judged(scn, rh.clone(), Vec::new(), "rehearsal");
    rehearsal.config_sync_before = true;
    specs.push((rh, rehearsal));

    // The sweep cases: the main failover with one fault each, judged on the invariants only
    // (a fault may well make the run partial or failed; that is not a finding).
    let cases = plan
        .as_ref()
        .map(|p| plan_cases(p, opts.sweep_seed, opts.max_cases))
        .unwrap_or_default();
    let case_scn: Vec<Scenario> = cases
        .iter()
        .enumerate()
        .filter_map(|(n, &(idx, fault))| {
            let inst = plan.as_ref()?.steps.get(idx)?;
            Some(Scenario {
                name: format!("{}-sweep-{n}", scn.name),
                description: Some(format!(
                    "drill verify sweep case: {} with fault {}",
                    inst.label(),
                    fault.name()
                )),
                faults: vec![FaultRule {
                    when: FaultMatch {
                        step: Some(inst.step.to_string()),
                        policy: inst.policy.clone(),
                        zone: if inst.policy.is_none() {
                            inst.zone.clone()
                        } else {
                            None
                        },
                        ..FaultMatch::default()
                    },
                    effect: fault.effect(),
                }],
                expect: Expect::default(),
                ..main.clone()
            })
        })
        .collect();

    let mut all: Vec<Scenario> = specs.iter().map(|(_, s)| s.clone()).collect();
    all.extend(case_scn.iter().cloned());
    // The uninterrupted journaled run the crash cases must converge to (I9).
    let crash_baseline = if cases.iter().any(|c| c.1 == Fault::OrchestratorCrash) {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .ok()
            .and_then(|rt| rt.block_on(crate::crash::run_with_crash(&main, None)).ok())
    } else {
        None
    };
    let ran = run_all(&all, opts, crash_baseline.as_ref());
    let (judged_ran, sweep_ran) = ran.split_at(specs.len());

    let out = &opts.out_dir;
    std::fs::create_dir_all(out).map_err(|err| VerifyError::Write {
        path: out.display().to_string(),
        err,
    })?;

    // Every judged run's own report.
    let mut runs = Vec::new();
    for (i, ((spec, run_scn), r)) in specs.iter().zip(judged_ran).enumerate() {
        let mut s = summary(spec, r);
        if let Ran::Done(res) = r {
            let rel = format!("runs/{i}-{}-{}.html", s.kind, s.mode);
            write(&out.join(&rel), &crate::html::render(res))?;
            s.report = Some(rel);
        }
        if !s.passed {
            // The world's own problem (a blocked plan, a skipped policy, a violated
            // invariant): the judged scenario as a file `drill run` fails the same way.
            let rel = format!("replay/run-{i}-{}-{}.yaml", s.kind, s.mode);
            let yaml =
                crate::import::to_yaml(run_scn).map_err(|e| VerifyError::Input(e.to_string()))?;
            let why: Vec<String> = s
                .violations
                .iter()
                .chain(&s.expect_failures)
                .chain(&s.problems)
                .chain(&s.error)
                .take(5)
                .cloned()
                .collect();
            let text = format!(
                "# drill verify: the {} ({}) ended {}, expected succeeded: {}\n# Reproduce: drill run {rel}\n{yaml}",
                s.kind,
                s.mode,
                s.outcome,
                why.join("; ").replace('\n', " ")
            );
            write(&out.join(&rel), &text)?;
            s.replay = Some(rel);
        }
        runs.push(s);
    }

    // The sweep matrix and findings.
    let mut sweep = SweepSummary {
        seed: opts.sweep_seed,
        max_cases: opts.max_cases,
        cases: cases.len(),
        ..SweepSummary::default()
    };
    if let Some(p) = &plan {
        sweep.step_instances = sweepable(p).len();
    }
    let swept: BTreeSet<usize> = cases.iter().map(|c| c.0).collect();
    sweep.instances_swept = swept.len();
    let mut faults_used: BTreeSet<Fault> = BTreeSet::new();
    let mut cells = Vec::new();
    let mut rows: Vec<String> = Vec::new();
    for (n, (&(idx, fault), r)) in cases.iter().zip(sweep_ran).enumerate() {
        let Some(inst) = plan.as_ref().and_then(|p| p.steps.get(idx)) else {
            continue;
        };
        faults_used.insert(fault);
        let label = inst.label();
        if rows.last() != Some(&label) {
            rows.push(label.clone());
        }
        let outcome = r.outcome();
        *sweep.by_outcome.entry(outcome.clone()).or_insert(0) += 1;
        let v = r.violations();
        let mut replay = None;
        if !v.is_empty() {
            let rel = format!(
                "replay/{n:04}-{}-{}.yaml",
                safe(&label),
                safe(fault.file_name())
            );
            let yaml = crate::import::to_yaml(&case_scn[n])
                .map_err(|e| VerifyError::Input(e.to_string()))?;
            let how = if fault == Fault::OrchestratorCrash {
                // `drill run` runs without a journal; the crash harness crashes at the rule's
                // match and resumes (scenarios::crash::run_with_crash).
                format!("the crash harness on {rel} (crash at the orchestrator_crash rule, resume from the journal, compare with the uninterrupted run)")
            } else {
                format!("drill run {rel}")
            };
            let text = format!(
                "# drill verify finding: {label} with fault {}: {}\n# Reproduce: {how}\n{yaml}",
                fault.name(),
                v.join("; ").replace('\n', " ")
            );
            write(&out.join(&rel), &text)?;
            sweep.findings.push(Finding {
                step: label.clone(),
                fault: fault.name().into(),
                outcome: outcome.clone(),
                violations: v.clone(),
                replay: rel.clone(),
            });
            replay = Some(rel);
        }
        cells.push(SweepCell {
            step: label,
            fault: fault.name().into(),
            outcome,
            passed: v.is_empty(),
            replay,
        });
    }
    sweep.faults = faults_used.iter().map(|f| f.name().to_string()).collect();
    sweep.cells = cells;

    // The main failover's figures.
    let main_res = match &judged_ran[0] {
        Ran::Done(r) => Some(r),
        _ => None,
    };
    let readiness = main_res
        .and_then(|r| r.report.readiness.as_ref())
        .map(readiness_summary);
    let estimate = match (estimated_ms, main_res) {
        (Some(e), Some(r)) => Some(EstimateSummary {
            estimated_ms: e,
            simulated_ms: r.report.makespan_ms,
            error_pct: if r.report.makespan_ms > 0 {
                ((e as f64 - r.report.makespan_ms as f64) / r.report.makespan_ms as f64 * 1000.0)
                    .round()
                    / 10.0
            } else {
                0.0
            },
        }),
        _ => None,
    };
    let verdict = Verdict {
        format: VERDICT_FORMAT.into(),
        version: 1,
        scenario: scn.name.clone(),
        seed: scn.seed,
        clusters: scn.world.clusters.len(),
        policies: scn.world.policies.len(),
        passed: runs.iter().all(|r| r.passed) && sweep.findings.is_empty(),
        runs,
        readiness,
        estimate,
        outages: main_res.map(|r| r.outages.clone()).unwrap_or_default(),
        sweep,
        notes,
    };

    // verdict.html: the main failover's report with the drill section, estimate and sweep.
    if let Some(r) = main_res {
        let mut extras: Extras = crate::html::extras(r);
        extras.title = Some(format!(
            "Verdict {}: {} — {} {} → {}",
            scn.name,
            if verdict.passed { "PASS" } else { "FAIL" },
            main_spec.mode.as_str(),
            main_spec.from,
            main_spec.to
        ));
        extras.estimated_ms = estimated_ms;
        extras.sweep = Some(SweepMatrix {
            steps: rows,
            faults: verdict.sweep.faults.clone(),
            cells: verdict.sweep.cells.clone(),
        });
        write(
            &out.join("verdict.html"),
            &orchestrator::html::render(&r.report, &extras),
        )?;
    }
    let json = serde_json::to_string_pretty(&verdict).map_err(|e| VerifyError::Write {
        path: "verdict.json".into(),
        err: std::io::Error::other(e),
    })?;
    write(&out.join("verdict.json"), &json)?;
    Ok(verdict)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn library(name: &str) -> Scenario {
        let p = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("library")
            .join(name);
        Scenario::load(&p).unwrap()
    }

    #[test]
    fn modes_follow_what_the_world_has() {
        let names = |s: &Scenario| -> Vec<&'static str> {
            mode_runs(s, None)
                .unwrap()
                .iter()
                .map(|r| r.mode.as_str())
                .collect()
        };
        assert_eq!(names(&library("synciq-happy-3.yaml")), ["synciq-policy"]);
        let az = library("az-happy-dual.yaml");
        assert_eq!(names(&az), ["access-zone", "synciq-policy", "ip-pool"]);
        let runs = mode_runs(&az, None).unwrap();
        assert_eq!(runs[0].zone.as_deref(), Some("finance"));
        assert!(runs[2].pool.is_some() && runs[2].zone.is_none());
        assert_eq!(names(&library("dfs-happy.yaml"))[0], "dfs");
        let e = mode_runs(&library("synciq-happy-3.yaml"), Some(Mode::Dfs)).unwrap_err();
        assert!(e.to_string().contains("no DFS namespaces"), "{e}");
    }

    #[test]
    fn sampling_covers_every_step_first_and_is_seeded() {
        let scn = crate::generate::synciq(&crate::generate::GenParams {
            policies: 20,
            seed: 3,
            max_concurrent_jobs: 16,
            history: false,
        })
        .unwrap();
        let (plan, _) = plan_and_estimate(&scn).unwrap();
        let steps: BTreeSet<StepId> = sweepable(&plan).iter().map(|s| s.step).collect();
        // Every step has at least four cells (three HTTP-level faults and the crash).
        let cases = plan_cases(&plan, 1, 60);
        assert!(cases.len() <= 60 && cases.len() > 45, "{}", cases.len());
        let covered: BTreeSet<StepId> = cases.iter().map(|c| plan.steps[c.0].step).collect();
        assert_eq!(covered, steps);
        assert_eq!(cases, plan_cases(&plan, 1, 60));
        assert_ne!(cases, plan_cases(&plan, 2, 60));
        // Unbounded: every instance × every applicable fault.
        let all = plan_cases(&plan, 1, usize::MAX);
        let expect: usize = sweepable(&plan)
            .iter()
            .map(|s| Fault::ALL.iter().filter(|f| f.applies(s)).count())
            .sum();
        assert_eq!(all.len(), expect);
    }
}
