//! Seeded campaigns: run a range of seeds (sharded, on N worker threads), judge every run with
//! the judge (`crate::judge`: invariants I1–I12, with the documented-rules reference model), write failing seeds out as replayable scenario files
//! (shrunk to a minimal case), and summarise outcomes, violations and fault coverage.
//!
//! Each worker thread runs its seeds one after another, each on a fresh current-thread tokio
//! runtime with a paused clock — exactly what `drill run` does — so a failing seed written
//! out replays byte for byte.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use super::coverage::{self, Coverage, Uncovered};
use super::gen::{self, ChaosCase, GenConfig, EFFECT_KINDS};
use super::known;
use super::phases::{self, PhaseStats};
use crate::judge;
use crate::runner::{run_scenario, DrillError, DrillOptions, DrillResult};
use crate::scenario::Scenario;

/// `i/n`: this process runs the seeds `s` of the range with `s % n == i`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    pub index: u64,
    pub count: u64,
}

impl std::str::FromStr for Shard {
    type Err = String;
    fn from_str(s: &str) -> Result<Shard, String> {
        let (i, n) = s
            .split_once('/')
            .ok_or_else(|| format!("shard {s:?}: expected i/n, e.g. 0/8"))?;
        let index: u64 = i
            .trim()
            .parse()
            .map_err(|_| format!("shard {s:?}: bad index"))?;
        let count: u64 = n
            .trim()
            .parse()
            .map_err(|_| format!("shard {s:?}: bad count"))?;
        if count == 0 || index >= count {
            return Err(format!("shard {s:?}: need 0 <= i < n"));
        }
        Ok(Shard { index, count })
    }
}

/// Parse `A..B` (B exclusive) or `A..=B`.
pub fn parse_seed_range(s: &str) -> Result<std::ops::Range<u64>, String> {
    let bad = || format!("seed range {s:?}: expected A..B (e.g. 0..1000) or A..=B");
    if let Some((a, b)) = s.split_once("..=") {
        let a: u64 = a.trim().parse().map_err(|_| bad())?;
        let b: u64 = b.trim().parse().map_err(|_| bad())?;
        return Ok(a..b.saturating_add(1));
    }
    let (a, b) = s.split_once("..").ok_or_else(bad)?;
    let a: u64 = a.trim().parse().map_err(|_| bad())?;
    let b: u64 = b.trim().parse().map_err(|_| bad())?;
    if b < a {
        return Err(bad());
    }
    Ok(a..b)
}

/// What to run.
#[derive(Debug, Clone)]
pub struct CampaignConfig {
    pub seeds: std::ops::Range<u64>,
    pub jobs: usize,
    pub shard: Shard,
    pub gen: GenConfig,
    /// Write failing seeds (and their shrunk form) here.
    pub out_dir: Option<PathBuf>,
    /// Shrink failing seeds (at most this many extra runs per seed; 0 = off).
    pub shrink_budget: usize,
    /// `run.options.planted_bug` for every scenario (a `planted-bugs` build only).
    pub planted_bug: Option<String>,
    /// Stop after this many failing seeds.
    pub max_failures: Option<usize>,
    /// Show a progress bar on stderr.
    pub progress: bool,
}

impl Default for CampaignConfig {
    fn default() -> Self {
        CampaignConfig {
            seeds: 0..100,
            jobs: 1,
            shard: Shard { index: 0, count: 1 },
            gen: GenConfig::default(),
            out_dir: None,
            shrink_budget: 150,
            planted_bug: None,
            max_failures: None,
            progress: false,
        }
    }
}

/// One violated check of one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Violation {
    /// `I1`…`I12`, `panic`, `generator` or `expect`.
    pub check: String,
    pub messages: Vec<String>,
}

/// The result of one seed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeedOutcome {
    pub seed: u64,
    pub policies: usize,
    pub faults: usize,
    /// Run outcome, or `not_started` (the orchestrator refused to start: discovery or
    /// planning failed, e.g. a cluster was down from t=0).
    pub outcome: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub violations: Vec<Violation>,
    /// Invariants the judge judged (not `not_judged`).
    pub checked: Vec<String>,
    #[serde(skip)]
    pub hits: BTreeSet<(String, String)>,
    #[serde(skip)]
    pub plan_steps: BTreeSet<String>,
    #[serde(skip)]
    pub generated_kinds: Vec<String>,
    /// Phases the run reached ([`phases::PHASES`]); empty when it did not start.
    #[serde(default)]
    pub phases: Vec<String>,
    /// The run stopped before the cut-over where the generator aimed it ([`gen::Hold`]).
    #[serde(default)]
    pub held_as_intended: bool,
    pub wall_ms: u64,
}

impl SeedOutcome {
    /// Any violation at all.
    pub fn failed(&self) -> bool {
        !self.violations.is_empty()
    }

    /// Known issue ids, if *every* violation message matches one (see [`super::known`]).
    pub fn known_issues(&self) -> Option<BTreeSet<&'static str>> {
        let mut ids = BTreeSet::new();
        for v in &self.violations {
            for m in &v.messages {
                ids.insert(known::classify(&v.check, m)?.id);
            }
        }
        (!ids.is_empty()).then_some(ids)
    }

    /// A violation that is not a known issue.
    pub fn new_failure(&self) -> bool {
        self.failed() && self.known_issues().is_none()
    }
}

/// Run and judge one case.
pub fn run_case(case: &ChaosCase, planted_bug: Option<&str>) -> SeedOutcome {
    let started = Instant::now();
    let mut out = SeedOutcome {
        seed: case.seed,
        policies: case.world.policies.len(),
        faults: case.faults.len(),
        outcome: String::new(),
        error: None,
        violations: Vec::new(),
        checked: Vec::new(),
        hits: BTreeSet::new(),
        plan_steps: BTreeSet::new(),
        generated_kinds: case
            .faults
            .iter()
            .map(|f| EFFECT_KINDS[f.effect.kind % EFFECT_KINDS.len()].to_string())
            .collect(),
        phases: Vec::new(),
        held_as_intended: false,
        wall_ms: 0,
    };
    let scn = match gen::scenario_of(case, planted_bug) {
        Ok(s) => s,
        Err(e) => {
            out.outcome = "invalid_scenario".into();
            out.violations.push(Violation {
                check: "generator".into(),
                messages: vec![e.to_string()],
            });
            return out;
        }
    };
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        run_scenario(&scn, &DrillOptions::default())
    }));
    match result {
        Err(p) => {
            let msg = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "panic".into());
            out.outcome = "panic".into();
            out.violations.push(Violation {
                check: "panic".into(),
                messages: vec![msg],
            });
        }
        Ok(Err(DrillError::World(e))) => {
            out.outcome = "invalid_world".into();
            out.violations.push(Violation {
                check: "generator".into(),
                messages: vec![format!("the simulator rejects the generated world: {e}")],
            });
        }
        Ok(Err(e)) => {
            out.outcome = "not_started".into();
            out.error = Some(e.to_string());
            if scn.faults.is_empty() {
                out.violations.push(Violation {
                    check: "generator".into(),
                    messages: vec![format!("a fault-free run could not start: {e}")],
                });
            }
        }
        Ok(Ok(r)) => {
            judge(&scn, &r, &mut out);
            record_phases(case, &r, &mut out);
        }
    }
    out.wall_ms = started.elapsed().as_millis() as u64;
    out
}

/// Judge a finished run: the judge's invariants (its reference model of the documented
/// rules is I1/I2/I3) and the scenario's `expect`.
pub fn judge(_scn: &Scenario, r: &DrillResult, out: &mut SeedOutcome) {
    out.outcome = r.report.outcome.as_str().to_string();
    out.checked = r
        .invariants
        .iter()
        .filter(|i| i.is_judged())
        .map(|i| i.id.clone())
        .collect();
    for inv in &r.invariants {
        if inv.is_violated() {
            out.violations.push(Violation {
                check: inv.id.clone(),
                messages: inv.violations().to_vec(),
            });
        }
    }
    if !r.expect_failures.is_empty() {
        out.violations.push(Violation {
            check: "expect".into(),
            messages: r.expect_failures.clone(),
        });
    }
    // Only the fault injections are built (not the whole log).
    out.hits = coverage::hits(&r.audit.entries_where(|a| {
        if a == "fault.inject" {
            sim_onefs::Keep::Brief
        } else {
            sim_onefs::Keep::Skip
        }
    }));
    out.plan_steps = r
        .report
        .steps
        .iter()
        .map(|s| s.step.as_str().to_string())
        .collect();
}

/// How far the run got ([`phases`]), and whether it stopped where the generator aimed it.
pub fn record_phases(case: &ChaosCase, r: &DrillResult, out: &mut SeedOutcome) {
    out.phases = phases::reached(&r.report)
        .into_iter()
        .map(str::to_string)
        .collect();
    out.held_as_intended =
        gen::intended_hold(case).is_some_and(|h| phases::held_as_intended(&r.report, h));
}

/// A failing seed as written out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FailingSeed {
    pub seed: u64,
    pub checks: Vec<String>,
    pub first_message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub minimal_file: Option<String>,
    /// Policies and faults of the shrunk case.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub minimal_size: Option<(usize, usize)>,
    /// Known issue ids when every violation of the seed is a known issue.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub known: Vec<String>,
}

/// The campaign summary (`--json` prints it).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub seeds: String,
    pub shard: String,
    pub gen: Option<GenConfig>,
    pub planted_bug: Option<String>,
    pub runs: u64,
    pub outcomes: BTreeMap<String, u64>,
    /// The share of runs that reached each phase of a failover (planned, validated, synced,
    /// cut_over, resync_prepped, completed; not_started), from the reports' step records.
    #[serde(default)]
    pub phases: PhaseStats,
    /// Invariants checked by this build (from the checker's results).
    pub checked_invariants: BTreeSet<String>,
    /// Failing runs per check id.
    pub violations: BTreeMap<String, u64>,
    pub failing_seeds: Vec<FailingSeed>,
    /// Seeds whose violations are all known issues, by issue id.
    pub known_issues: BTreeMap<String, u64>,
    /// `not_started` runs by error message (first 80 characters).
    pub not_started: BTreeMap<String, u64>,
    pub coverage: Coverage,
    pub uncovered: Vec<Uncovered>,
    pub wall_s: f64,
    pub scenarios_per_minute: f64,
    pub stopped_early: bool,
}

impl Summary {
    /// Failing seeds that are not (entirely) known issues.
    pub fn violation_count(&self) -> u64 {
        self.failing_seeds
            .iter()
            .filter(|f| f.known.is_empty())
            .count() as u64
    }

    /// Failing seeds including known issues.
    pub fn violation_count_strict(&self) -> u64 {
        self.failing_seeds.len() as u64
    }

    /// Human-readable summary.
    pub fn render(&self) -> String {
        let mut s = String::new();
        s.push_str(&format!(
            "campaign: seeds {} shard {}{}\n",
            self.seeds,
            self.shard,
            self.planted_bug
                .as_deref()
                .map(|b| format!(" planted_bug={b}"))
                .unwrap_or_default()
        ));
        s.push_str(&format!(
            "runs: {}   wall: {:.1} s   throughput: {:.0} scenarios/min{}\n",
            self.runs,
            self.wall_s,
            self.scenarios_per_minute,
            if self.stopped_early {
                "   (stopped early)"
            } else {
                ""
            }
        ));
        s.push_str("outcomes:");
        for (k, v) in &self.outcomes {
            s.push_str(&format!(" {k}={v}"));
        }
        s.push('\n');
        s.push_str(&self.phases.render());
        s.push_str(&format!(
            "judged invariants: {}\n",
            self.checked_invariants
                .iter()
                .cloned()
                .collect::<Vec<_>>()
                .join(" ")
        ));
        if self.violations.is_empty() {
            s.push_str("violations: none\n");
        } else {
            s.push_str("violations (failing runs per check):");
            for (k, v) in &self.violations {
                s.push_str(&format!(" {k}={v}"));
            }
            s.push('\n');
            for f in &self.failing_seeds {
                s.push_str(&format!(
                    "  seed {} [{}]{} {}\n",
                    f.seed,
                    f.checks.join(","),
                    if f.known.is_empty() {
                        String::new()
                    } else {
                        format!(" (known: {})", f.known.join(","))
                    },
                    f.first_message
                ));
                if let Some(m) = &f.minimal_file {
                    s.push_str(&format!("    replay: drill run {m}\n"));
                } else if let Some(m) = &f.file {
                    s.push_str(&format!("    replay: drill run {m}\n"));
                }
            }
        }
        if !self.known_issues.is_empty() {
            s.push_str(
                "known issues (seeds whose every violation is a reported bug, see chaos/known.rs):",
            );
            for (k, v) in &self.known_issues {
                s.push_str(&format!(" {k}={v}"));
            }
            s.push('\n');
        }
        s.push_str(&format!(
            "new violations: {} failing seeds\n",
            self.violation_count()
        ));
        if !self.not_started.is_empty() {
            s.push_str("not started (orchestrator refused; not a violation):\n");
            for (k, v) in &self.not_started {
                s.push_str(&format!("  {v} × {k}\n"));
            }
        }
        s.push_str(&format!(
            "coverage: {} step × fault pairs hit; {} never hit, {} not applicable, {} harness-only\n",
            self.coverage.pairs_hit(),
            self.uncovered.iter().filter(|u| u.why == "never_hit").count(),
            self.uncovered.iter().filter(|u| u.why == "not_applicable").count(),
            self.uncovered.iter().filter(|u| u.why == "harness_kind").count(),
        ));
        s.push_str(&self.coverage.render());
        let never: Vec<String> = self
            .uncovered
            .iter()
            .filter(|u| u.why == "never_hit")
            .map(|u| format!("{}×{}", u.step, u.kind))
            .collect();
        if !never.is_empty() {
            s.push_str(&format!("never hit: {}\n", never.join(" ")));
        }
        s
    }
}

/// The seeds of a range that belong to a shard.
pub fn shard_seeds(seeds: std::ops::Range<u64>, shard: Shard) -> Vec<u64> {
    seeds.filter(|s| s % shard.count == shard.index).collect()
}

/// Shrink a failing seed: walk proptest's value tree (simplify while it still fails,
/// complicate when it stops failing), within `budget` runs. Returns the smallest case that
/// still has a violation that is not a known issue.
pub fn shrink(cfg: &GenConfig, seed: u64, planted_bug: Option<&str>, budget: usize) -> ChaosCase {
    let mut tree = gen::tree_for_seed(cfg, seed);
    let mut best = tree.current();
    let mut runs = 0;
    if !tree.simplify() {
        return best;
    }
    loop {
        if runs >= budget {
            break;
        }
        runs += 1;
        let case = tree.current();
        let fails = run_case(&case, planted_bug).new_failure();
        let more = if fails {
            best = case;
            tree.simplify()
        } else {
            tree.complicate()
        };
        if !more {
            break;
        }
    }
    best
}

fn write_case(
    dir: &std::path::Path,
    file: &str,
    case: &ChaosCase,
    planted: Option<&str>,
    header: &str,
) -> Option<String> {
    let path = dir.join(file);
    let text = gen::scenario_yaml(case, planted, header);
    std::fs::create_dir_all(dir).ok()?;
    std::fs::write(&path, text).ok()?;
    Some(path.display().to_string())
}

/// Run a campaign.
pub fn run_campaign(cfg: &CampaignConfig) -> Summary {
    let seeds = shard_seeds(cfg.seeds.clone(), cfg.shard);
    let started = Instant::now();
    let next = AtomicUsize::new(0);
    let failures = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let results: Mutex<Vec<SeedOutcome>> = Mutex::new(Vec::new());
    let bar = if cfg.progress {
        let b = indicatif::ProgressBar::new(seeds.len() as u64);
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "{elapsed_precise} [{bar:40}] {pos}/{len} seeds  {per_sec}  {msg}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        b
    } else {
        indicatif::ProgressBar::hidden()
    };
    let planted = cfg.planted_bug.as_deref();
    std::thread::scope(|scope| {
        for _ in 0..cfg.jobs.max(1) {
            scope.spawn(|| {
                // The orchestrator logs every failed step; a campaign reports them itself.
                let _quiet =
                    tracing::subscriber::set_default(tracing::subscriber::NoSubscriber::default());
                loop {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(&seed) = seeds.get(i) else { break };
                    let case = gen::case_for_seed(&cfg.gen, seed);
                    let out = run_case(&case, planted);
                    if out.new_failure() {
                        let n = failures.fetch_add(1, Ordering::Relaxed) + 1;
                        bar.set_message(format!("{n} failing"));
                        if cfg.max_failures.is_some_and(|m| n >= m) {
                            stop.store(true, Ordering::Relaxed);
                        }
                    }
                    bar.inc(1);
                    results.lock().unwrap_or_else(|p| p.into_inner()).push(out);
                }
            });
        }
    });
    bar.finish_and_clear();
    let mut results = results.into_inner().unwrap_or_else(|p| p.into_inner());
    results.sort_by_key(|r| r.seed);
    let wall = started.elapsed().as_secs_f64();

    let mut sum = Summary {
        seeds: format!("{}..{}", cfg.seeds.start, cfg.seeds.end),
        shard: format!("{}/{}", cfg.shard.index, cfg.shard.count),
        gen: Some(cfg.gen.clone()),
        planted_bug: cfg.planted_bug.clone(),
        runs: results.len() as u64,
        wall_s: wall,
        scenarios_per_minute: if wall > 0.0 {
            results.len() as f64 * 60.0 / wall
        } else {
            0.0
        },
        stopped_early: stop.load(Ordering::Relaxed),
        ..Summary::default()
    };
    for r in &results {
        *sum.outcomes.entry(r.outcome.clone()).or_insert(0) += 1;
        sum.phases.add(&r.phases, r.held_as_intended);
        sum.checked_invariants.extend(r.checked.iter().cloned());
        if let Some(e) = &r.error {
            let key: String = e.chars().take(80).collect();
            *sum.not_started.entry(key).or_insert(0) += 1;
        }
        sum.coverage.add_run(
            r.plan_steps.iter().cloned(),
            &r.hits,
            r.generated_kinds.iter().cloned(),
        );
        let checks: BTreeSet<&str> = r.violations.iter().map(|v| v.check.as_str()).collect();
        for c in &checks {
            *sum.violations.entry(c.to_string()).or_insert(0) += 1;
        }
        if r.failed() {
            let first = r
                .violations
                .first()
                .and_then(|v| v.messages.first().map(|m| format!("{}: {m}", v.check)))
                .unwrap_or_default();
            let mut f = FailingSeed {
                seed: r.seed,
                checks: checks.iter().map(|c| c.to_string()).collect(),
                first_message: first.clone(),
                file: None,
                minimal_file: None,
                minimal_size: None,
                known: r
                    .known_issues()
                    .map(|k| k.into_iter().map(str::to_string).collect())
                    .unwrap_or_default(),
            };
            for k in &f.known {
                *sum.known_issues.entry(k.clone()).or_insert(0) += 1;
            }
            if let Some(dir) = &cfg.out_dir {
                let case = gen::case_for_seed(&cfg.gen, r.seed);
                let header = format!(
                    "Failing chaos seed {} ({}).\n{}\nReplay: drill run <this file>",
                    r.seed,
                    f.checks.join(", "),
                    first
                );
                f.file = write_case(
                    dir,
                    &format!("seed-{}.yaml", r.seed),
                    &case,
                    planted,
                    &header,
                );
                if cfg.shrink_budget > 0 && f.known.is_empty() {
                    let min = shrink(&cfg.gen, r.seed, planted, cfg.shrink_budget);
                    let again = run_case(&min, planted);
                    let header = format!(
                        "Failing chaos seed {}, shrunk ({} policies, {} faults).\n{}\nReplay: drill run <this file>",
                        r.seed,
                        min.world.policies.len(),
                        min.faults.len(),
                        again
                            .violations
                            .first()
                            .and_then(|v| v.messages.first().map(|m| format!("{}: {m}", v.check)))
                            .unwrap_or_default()
                    );
                    f.minimal_size = Some((min.world.policies.len(), min.faults.len()));
                    f.minimal_file = write_case(
                        dir,
                        &format!("seed-{}.min.yaml", r.seed),
                        &min,
                        planted,
                        &header,
                    );
                }
            }
            sum.failing_seeds.push(f);
        }
    }
    if sum.checked_invariants.is_empty() {
        sum.checked_invariants = judge::JUDGED_IN_A_RUN
            .iter()
            .map(|s| s.to_string())
            .collect();
    }
    sum.uncovered = sum.coverage.uncovered();
    sum
}
