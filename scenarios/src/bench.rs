//! `drill bench`: every performance figure the lab has a target for, measured side by side in
//! one run, each printed with its target and whether it was met (a table, or `--json`).
//!
//! * **Failover wall time** per failover and per policy on generated worlds of (by default)
//!   10, 100 and 1000 policies — the fastest of repeated runs (three at least, until a
//!   second is spent, ten at most) —, and the per-policy ratio of the largest size to the one
//!   before it (flat = linear). The worlds are skewed (file sets spanning three orders of
//!   magnitude, 16 KiB .. 16 MiB files), every policy has a report history (so the scheduler
//!   orders jobs longest-expected-first), the clusters have few job slots (contention), the
//!   policies' shares sit in one access zone behind a mapped pool with automatic networking,
//!   and a few SMB clients write throughout (the outage windows).
//! * **Peak RSS** of each failover (`VmHWM` from `/proc/self/status`, reset before each run
//!   through `/proc/self/clear_refs`; where the reset is refused, the process's peak so far).
//! * **Campaign throughput**: a chaos campaign of 10-policy worlds with faults on `--jobs`
//!   workers (the `cargo bench -p scenarios --bench campaign` figure).
//! * **Scheduler quality** from the largest run's report: makespan over the lower bound and
//!   pipelined over the barrier baseline (`orchestrator::makespan`).
//! * **Outage**: the longest client outage window with `presync` off and on, and their
//!   ratio, on the smallest world made with an hourly backlog ([`Backlog::Hourly`]: the same
//!   world with 64× larger files, up to tens of GiB changed per policy since its last sync).
//!   The throughput worlds' backlogs (megabytes) sync in seconds, less than the fixed
//!   cut-over steps after the lock (allow-write, resync-prep, the mirror's first run,
//!   networking: about 45 s), so no pre-sync could shorten their outage much; their
//!   ratio is printed beside it, without a target.
//! * **Simulator request rate**: requests per second of the simulated PAPI over loopback HTTP
//!   against a bare axum handler serving the same bytes ([`sim_rps_ratio`]).
//!
//! Timings are printed, never asserted: tests check the output's shape only.

use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::chaos::{run_campaign, CampaignConfig, GenConfig};
use crate::runner::{run_scenario, DrillOptions};
use crate::scenario::Scenario;

/// What to measure and how much.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// World sizes (policies) of the failover runs.
    pub sizes: Vec<usize>,
    /// Seeds of the campaign (0 = skip it).
    pub campaign_seeds: u64,
    /// Campaign worker threads.
    pub jobs: usize,
    /// Seconds of each request-rate measurement (0 = skip it).
    pub rps_secs: f64,
    /// Concurrent requests of the request-rate measurement.
    pub rps_concurrency: usize,
    /// The clusters' SyncIQ `max_concurrent_jobs` (few: the jobs contend for slots).
    pub job_slots: u32,
    /// Seed of the generated worlds.
    pub seed: u64,
}

impl Default for BenchOptions {
    fn default() -> Self {
        BenchOptions {
            sizes: vec![10, 100, 1000],
            campaign_seeds: 300,
            jobs: 2,
            rps_secs: 2.0,
            rps_concurrency: 8,
            job_slots: 8,
            seed: 1,
        }
    }
}

/// `drill bench` could not measure.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("generated bench world of {0} policies: {1}")]
    World(usize, String),
    #[error("failover of {0} policies: {1}")]
    Run(usize, String),
    #[error("request-rate measurement: {0}")]
    Rps(String),
}

/// One generated failover.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FailoverRun {
    pub policies: usize,
    pub presync: bool,
    /// The fastest of [`FailoverRun::runs`] runs.
    pub wall_ms: f64,
    pub per_policy_ms: f64,
    /// How many times the failover ran for the figure (see `MEASURE_MIN_RUNS`).
    #[serde(default)]
    pub runs: u32,
    /// Peak resident set during the run (KiB), see the module doc.
    pub peak_rss_kib: Option<u64>,
    pub outcome: String,
    /// Every invariant held and the run ended as expected.
    pub passed: bool,
    pub step_instances: usize,
    pub makespan_ms: u64,
    pub lower_bound_ms: Option<u64>,
    pub makespan_over_lower_bound: Option<f64>,
    pub barrier_baseline_ms: Option<u64>,
    pub pipelined_over_barrier: Option<f64>,
    pub estimated_ms: Option<u64>,
    /// The longest client outage window (virtual ms), when a client had one.
    pub max_outage_ms: Option<u64>,
    /// Instances of the `presync` step the run planned (not `not_applicable`; 0: the build
    /// plans none, whatever `options.presync` says).
    pub presync_steps: usize,
    /// The world's backlog since the policies' last sync.
    #[serde(default)]
    pub backlog: Backlog,
}

/// How much each generated policy changed since its last sync.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Backlog {
    /// 16 KiB–16 MiB files, 5–50 % of them changed: megabytes per policy, kept small so the
    /// 1000-policy world measures the orchestrator, not job polling.
    #[default]
    Throughput,
    /// The same world with 64× larger files (1 MiB–1 GiB): what a busy share changes
    /// between hourly syncs, up to tens of GiB per policy, minutes of transfer at 1 GbE.
    Hourly,
}

impl Backlog {
    /// log2 of the factor on every file size.
    fn size_shift(self) -> u32 {
        match self {
            Backlog::Throughput => 0,
            Backlog::Hourly => 6,
        }
    }
}

/// The campaign's throughput.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CampaignFigures {
    pub seeds: u64,
    pub jobs: usize,
    pub wall_s: f64,
    pub scenarios_per_minute: f64,
    pub violations: u64,
    /// CPU time (user + system, every worker) the campaign took, where `/proc` has it. On a
    /// shared machine the wall-time figure moves with the neighbours' load; this one says
    /// what a scenario costs.
    #[serde(default)]
    pub cpu_s: Option<f64>,
}

/// The simulator's request rate against a bare handler.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RpsFigures {
    pub sim_rps: f64,
    pub bare_rps: f64,
    pub ratio: f64,
}

/// One line of the table: a figure, its target, met or not.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Figure {
    pub id: String,
    pub what: String,
    /// `None`: not measured in this run (`note` says why).
    pub value: Option<f64>,
    pub unit: String,
    /// The target, as text (`< 1 s`, `≥ 20000`, …); empty when the figure has none.
    pub target: String,
    /// `None` when there is no target or no value.
    pub met: Option<bool>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
}

/// Everything `drill bench` measured.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BenchReport {
    pub runs: Vec<FailoverRun>,
    pub campaign: Option<CampaignFigures>,
    pub rps: Option<RpsFigures>,
    pub figures: Vec<Figure>,
}

/// YAML of the bench world: `policies` policies (one share each under one access zone behind
/// a mapped pool) with skewed sizes and report history, `slots` job slots per cluster, SMB
/// clients on the first shares, a controlled SyncIQ-mode failover with the data-integrity
/// lock and automatic networking. `backlog` scales every file (the same random draws, so
/// the same world shape).
pub fn world_yaml(
    policies: usize,
    seed: u64,
    slots: u32,
    presync: bool,
    backlog: Backlog,
) -> String {
    use rand::{Rng, SeedableRng};
    use std::fmt::Write as _;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut y = String::new();
    let (mut shares, mut files, mut pols, mut clients) =
        (String::new(), String::new(), String::new(), String::new());
    for i in 0..policies {
        let name = format!("p{i:04}");
        let count: u64 = rng.random_range(10..=100);
        // 16 KiB .. 16 MiB: three orders of magnitude between the smallest and largest.
        let size: u64 = 1u64 << (rng.random_range(14..=24) + backlog.size_shift());
        let unsynced = f64::from(rng.random_range(5..=50)) / 100.0;
        let pending = (count as f64 * unsynced).round() as u64 * size;
        let past: Vec<String> = (0..4)
            .map(|_| {
                let jitter: f64 = rng.random_range(0.7..=1.3);
                format!("{{bytes: {}}}", (pending as f64 * jitter).round() as u64)
            })
            .collect();
        let _ = writeln!(
            shares,
            "        - {{name: {name}, path: /ifs/data/{name}, zone: data}}"
        );
        let _ = writeln!(
            files,
            "        - {{root: /ifs/data/{name}, count: {count}, size_bytes: {size}, unsynced_fraction: {unsynced}}}"
        );
        let _ = writeln!(
            pols,
            "    - {{name: {name}, source: boston, target: denver, source_path: /ifs/data/{name}, target_path: /ifs/data/{name}, schedule: every 1 hours, past_syncs: [{}]}}",
            past.join(", ")
        );
        if i < 3 {
            let _ = writeln!(
                clients,
                "  - {{name: ws{i}, protocol: smb, path: '\\\\data.corp.example\\{name}', writes_per_minute: 30}}"
            );
        }
    }
    let _ = writeln!(
        y,
        "# drill bench: {policies} policies, skewed sizes, {slots} job slots."
    );
    let _ = writeln!(y, "name: bench-{policies}");
    let _ = writeln!(y, "seed: {seed}");
    let _ = writeln!(y, "world:");
    let _ = writeln!(
        y,
        "  link: {{bandwidth_bytes_per_s: 125000000, latency_ms: 5}}"
    );
    let _ = writeln!(y, "  clusters:");
    let _ = writeln!(y, "    - name: boston");
    let _ = writeln!(y, "      max_concurrent_jobs: {slots}");
    let _ = writeln!(y, "      zones: [{{name: data, base_path: /ifs/data}}]");
    let _ = writeln!(y, "      pools: [{{id: groupnet0.subnet0.data, zone: data, sc_dns_zone: data.corp.example, ssip: 10.1.3.10}}]");
    let _ = writeln!(y, "      smb_shares:");
    y.push_str(&shares);
    let _ = writeln!(y, "      files:");
    y.push_str(&files);
    let _ = writeln!(y, "    - name: denver");
    let _ = writeln!(y, "      max_concurrent_jobs: {slots}");
    let _ = writeln!(y, "      zones: [{{name: data, base_path: /ifs/data}}]");
    let _ = writeln!(y, "      pools: [{{id: groupnet0.subnet0.data-dr, zone: data, sc_dns_zone: data-dr.corp.example, ssip: 10.2.3.10}}]");
    let _ = writeln!(y, "  policies:");
    y.push_str(&pols);
    let _ = writeln!(y, "  ad: {{domain: corp.example}}");
    let _ = writeln!(y, "  dns: {{delegation: dual}}");
    let _ = writeln!(y, "  pool_mappings:");
    let _ = writeln!(
        y,
        "    - {{source: boston/groupnet0.subnet0.data, target: denver/groupnet0.subnet0.data-dr}}"
    );
    let _ = writeln!(y, "clients:");
    y.push_str(&clients);
    let _ = writeln!(y, "run:");
    let _ = writeln!(y, "  kind: failover");
    let _ = writeln!(y, "  mode: synciq-policy");
    let _ = writeln!(y, "  from: boston");
    let _ = writeln!(y, "  to: denver");
    let _ = writeln!(
        y,
        "  options: {{data_integrity: true, networking: auto, presync: {presync}}}"
    );
    let _ = writeln!(y, "expect:");
    let _ = writeln!(y, "  outcome: succeeded");
    let _ = writeln!(y, "  invariants: all");
    y
}

/// Reset the process's peak RSS (`VmHWM`) to its current RSS; false when refused.
fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// CPU time the process has used so far (user + system, all threads, live and ended; in
/// seconds), from `/proc/self/stat`, where `/proc` has it.
pub fn process_cpu_s() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/self/stat").ok()?;
    cpu_s_of_stat(&s)
}

/// `utime + stime` of a `/proc/<pid>/stat` line, in seconds. The fields are counted after the
/// command name's closing parenthesis (the name itself may hold spaces and parentheses);
/// times are in `USER_HZ` ticks, 100 per second on Linux whatever the kernel's own tick
/// (`proc(5)`: the ABI fixes it).
fn cpu_s_of_stat(stat: &str) -> Option<f64> {
    const USER_HZ: f64 = 100.0;
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_ascii_whitespace();
    // After the name: state (3), ppid … cmajflt (4..=12), utime (14), stime (15).
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some((utime + stime) as f64 / USER_HZ)
}

/// The process's peak RSS (`VmHWM`, KiB), where `/proc` has it.
pub fn peak_rss_kib() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    s.lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Wall time a failover figure spends repeating its run (after [`MEASURE_MIN_RUNS`]): the
/// figure is the fastest run.
const MEASURE_MIN_MS: f64 = 1000.0;
/// Fewest runs of one failover figure, whatever they cost. The first run of a size in the
/// process takes its memory fresh from the kernel, which zeroes every page on first touch:
/// on a cold 1000-policy run that is a third of the profile (`clear_page_erms` in
/// `perf record`, 0.3 s), a cost of the machine's page supply, not of the failover, and one
/// the smaller sizes never show because their figure is the fastest of several runs. Every
/// size gets at least this many, so the per-policy ratio compares like with like.
const MEASURE_MIN_RUNS: u32 = 3;
/// Most runs of one failover figure.
const MEASURE_MAX_RUNS: u32 = 10;

/// Run one bench failover.
pub fn failover(
    policies: usize,
    opts: &BenchOptions,
    presync: bool,
    backlog: Backlog,
) -> Result<FailoverRun, BenchError> {
    let yaml = world_yaml(policies, opts.seed, opts.job_slots, presync, backlog);
    let scn = Scenario::parse(&yaml, "<bench>")
        .map_err(|e| BenchError::World(policies, e.to_string()))?;
    let reset = reset_peak_rss();
    // The fastest of several runs: a 100-policy failover takes about 50 ms, and one
    // scheduling hiccup of a shared machine doubles a single measurement (and with it the
    // per-policy ratio). Runs are deterministic, so every run gives the same report.
    let (mut wall_ms, mut spent_ms, mut runs) = (f64::INFINITY, 0.0, 0);
    let r = loop {
        let t = Instant::now();
        let r = run_scenario(&scn, &DrillOptions::default())
            .map_err(|e| BenchError::Run(policies, e.to_string()))?;
        let ms = t.elapsed().as_secs_f64() * 1000.0;
        wall_ms = wall_ms.min(ms);
        spent_ms += ms;
        runs += 1;
        if (spent_ms >= MEASURE_MIN_MS && runs >= MEASURE_MIN_RUNS) || runs >= MEASURE_MAX_RUNS {
            break r;
        }
    };
    let perf = r.report.performance.as_ref();
    Ok(FailoverRun {
        policies,
        presync,
        wall_ms,
        per_policy_ms: wall_ms / policies.max(1) as f64,
        runs,
        peak_rss_kib: if reset { peak_rss_kib() } else { None },
        outcome: r.report.outcome.as_str().to_string(),
        passed: r.passed(),
        step_instances: r.report.steps.len(),
        makespan_ms: r.report.makespan_ms,
        lower_bound_ms: perf.map(|p| p.lower_bound_ms),
        makespan_over_lower_bound: perf.and_then(|p| p.makespan_over_lower_bound),
        barrier_baseline_ms: perf.map(|p| p.barrier_baseline_ms),
        pipelined_over_barrier: perf.and_then(|p| p.pipelined_over_barrier),
        estimated_ms: perf.and_then(|p| p.estimated_ms),
        max_outage_ms: r.outages.iter().filter_map(|o| o.window_ms).max(),
        presync_steps: r
            .report
            .steps
            .iter()
            .filter(|s| {
                s.step.as_str() == "presync"
                    && !matches!(s.status, orchestrator::StepStatus::NotApplicable { .. })
            })
            .count(),
        backlog,
    })
}

/// Requests per second of `GET /platform/N/sync/policies` (100 policies) served by the
/// simulator over loopback HTTP, and of a bare axum handler returning the same bytes, each
/// measured for `secs` (rounded up to whole seconds) with `conc` concurrent requests: the
/// simulator's own measurement (`sim_onefs::bench`, also printed by
/// `cargo bench -p sim-onefs --bench papi_rps`).
pub fn sim_rps_ratio(secs: f64, conc: usize) -> Result<RpsFigures, BenchError> {
    let secs = secs.max(1.0).ceil() as u64;
    let r = sim_onefs::bench::papi_rps_detail(secs, conc.max(1))
        .map_err(|e| BenchError::Rps(e.to_string()))?;
    Ok(RpsFigures {
        sim_rps: r.sim_rps,
        bare_rps: r.bare_rps,
        ratio: if r.bare_rps > 0.0 {
            r.sim_rps / r.bare_rps
        } else {
            0.0
        },
    })
}

fn figure(
    id: &str,
    what: &str,
    value: Option<f64>,
    unit: &str,
    target: &str,
    met: Option<bool>,
) -> Figure {
    Figure {
        id: id.into(),
        what: what.into(),
        value,
        unit: unit.into(),
        target: target.into(),
        met: value.and(met),
        note: String::new(),
    }
}

/// Measure everything `opts` asks for.
pub fn run(opts: &BenchOptions) -> Result<BenchReport, BenchError> {
    let mut runs = Vec::new();
    for &n in &opts.sizes {
        runs.push(failover(n, opts, false, Backlog::Throughput)?);
    }
    // Outage with pre-sync, on the smallest world (the clients write on its first shares):
    // as generated, and with an hourly backlog, each without and with pre-sync.
    if let Some(&n) = opts.sizes.iter().min() {
        runs.push(failover(n, opts, true, Backlog::Throughput)?);
        runs.push(failover(n, opts, false, Backlog::Hourly)?);
        runs.push(failover(n, opts, true, Backlog::Hourly)?);
    }
    let campaign = (opts.campaign_seeds > 0).then(|| {
        let cpu_before = process_cpu_s();
        let s = run_campaign(&CampaignConfig {
            seeds: 0..opts.campaign_seeds,
            jobs: opts.jobs.max(1),
            gen: GenConfig::fixed(10),
            shrink_budget: 0,
            out_dir: None,
            progress: false,
            ..CampaignConfig::default()
        });
        CampaignFigures {
            seeds: s.runs,
            jobs: opts.jobs.max(1),
            wall_s: s.wall_s,
            scenarios_per_minute: s.scenarios_per_minute,
            violations: s.violation_count(),
            cpu_s: cpu_before
                .zip(process_cpu_s())
                .map(|(before, after)| after - before),
        }
    });
    let rps = if opts.rps_secs > 0.0 {
        Some(sim_rps_ratio(opts.rps_secs, opts.rps_concurrency)?)
    } else {
        None
    };
    let figures = figures(&runs, campaign.as_ref(), rps.as_ref());
    Ok(BenchReport {
        runs,
        campaign,
        rps,
        figures,
    })
}

/// The table's figures from the measurements, each with its target.
pub fn figures(
    runs: &[FailoverRun],
    campaign: Option<&CampaignFigures>,
    rps: Option<&RpsFigures>,
) -> Vec<Figure> {
    let plain: Vec<&FailoverRun> = runs
        .iter()
        .filter(|r| !r.presync && r.backlog == Backlog::Throughput)
        .collect();
    let mut out = Vec::new();
    let largest = plain.iter().max_by_key(|r| r.policies).copied();
    for r in &plain {
        let big = Some(r.policies) == largest.map(|l| l.policies) && r.policies >= 1000;
        out.push(figure(
            &format!("failover_wall_s_{}", r.policies),
            &format!("failover of {} policies, wall time", r.policies),
            Some(r.wall_ms / 1000.0),
            "s",
            if big { "< 1" } else { "" },
            big.then_some(r.wall_ms < 1000.0),
        ));
        out.push(figure(
            &format!("per_policy_ms_{}", r.policies),
            &format!("failover of {} policies, wall time per policy", r.policies),
            Some(r.per_policy_ms),
            "ms",
            "",
            None,
        ));
        out.push(figure(
            &format!("peak_rss_mib_{}", r.policies),
            &format!("failover of {} policies, peak RSS", r.policies),
            r.peak_rss_kib.map(|k| k as f64 / 1024.0),
            "MiB",
            if big { "≤ 200" } else { "" },
            big.then_some(r.peak_rss_kib.is_some_and(|k| k as f64 / 1024.0 <= 200.0)),
        ));
    }
    // Per-policy time of the largest size over the one before it.
    let mut sizes: Vec<&&FailoverRun> = plain.iter().collect();
    sizes.sort_by_key(|r| r.policies);
    if let [.., a, b] = sizes.as_slice() {
        let v = b.per_policy_ms / a.per_policy_ms.max(f64::MIN_POSITIVE);
        out.push(figure(
            "per_policy_ratio",
            &format!("time per policy at {} / at {}", b.policies, a.policies),
            Some(v),
            "×",
            "≤ 1.5",
            Some(v <= 1.5),
        ));
    }
    if let Some(c) = campaign {
        let mut f = figure(
            "campaign_per_min",
            &format!(
                "chaos campaign, 10-policy worlds with faults, --jobs {}",
                c.jobs
            ),
            Some(c.scenarios_per_minute),
            "scenarios/min",
            "≥ 20000",
            Some(c.scenarios_per_minute >= 20_000.0),
        );
        if c.violations > 0 {
            f.note = format!("{} failing seeds", c.violations);
        }
        out.push(f);
        let runs = c.seeds.max(1) as f64;
        out.push(figure(
            "campaign_cpu_ms_per_scenario",
            "chaos campaign, CPU time per scenario (all workers)",
            c.cpu_s.map(|cpu| cpu * 1000.0 / runs),
            "ms",
            "",
            None,
        ));
    } else {
        out.push(Figure {
            note: "not measured (--campaign-seeds 0)".into(),
            ..figure(
                "campaign_per_min",
                "chaos campaign",
                None,
                "scenarios/min",
                "≥ 20000",
                None,
            )
        });
    }
    if let Some(l) = largest {
        let what = |s: &str| format!("{s} ({} policies)", l.policies);
        out.push(figure(
            "makespan_over_lower_bound",
            &what("makespan / lower bound"),
            l.makespan_over_lower_bound,
            "×",
            "≤ 1.10",
            l.makespan_over_lower_bound.map(|v| v <= 1.10),
        ));
        out.push(figure(
            "pipelined_over_barrier",
            &what("pipelined / barrier baseline"),
            l.pipelined_over_barrier,
            "×",
            "≤ 0.80",
            l.pipelined_over_barrier.map(|v| v <= 0.80),
        ));
    }
    let smallest = plain.iter().min_by_key(|r| r.policies).copied();
    let find = |presync: bool, backlog: Backlog| {
        runs.iter()
            .find(|r| r.presync == presync && r.backlog == backlog)
    };
    let ratio_of = |on: &FailoverRun, off: &FailoverRun| match (on.max_outage_ms, off.max_outage_ms)
    {
        (Some(a), Some(b)) if b > 0 => Some(a as f64 / b as f64),
        _ => None,
    };
    let no_step = |on: &FailoverRun, f: &mut Figure| {
        if on.presync_steps == 0 {
            f.note =
                "the plan has no presync step: options.presync has no effect in this build".into();
        }
    };
    if let (Some(off), Some(on)) = (find(false, Backlog::Hourly), find(true, Backlog::Hourly)) {
        out.push(figure(
            "outage_without_presync_s",
            &format!(
                "longest client outage, {} policies, hourly backlog, no pre-sync",
                off.policies
            ),
            off.max_outage_ms.map(|m| m as f64 / 1000.0),
            "s (virtual)",
            "",
            None,
        ));
        out.push(figure(
            "outage_with_presync_s",
            &format!(
                "longest client outage, {} policies, hourly backlog, pre-sync",
                on.policies
            ),
            on.max_outage_ms.map(|m| m as f64 / 1000.0),
            "s (virtual)",
            "",
            None,
        ));
        let ratio = ratio_of(on, off);
        let mut f = figure(
            "outage_presync_ratio",
            "outage with pre-sync / without (hourly backlog)",
            ratio,
            "×",
            "≤ 0.2",
            ratio.map(|v| v <= 0.2),
        );
        no_step(on, &mut f);
        out.push(f);
    }
    if let (Some(off), Some(on)) = (smallest, find(true, Backlog::Throughput)) {
        let ratio = ratio_of(on, off);
        let mut f = figure(
            "outage_presync_ratio_throughput_world",
            &format!(
                "outage with pre-sync / without ({} policies as generated: {} / {} s)",
                on.policies,
                on.max_outage_ms
                    .map_or("—".into(), |m| format!("{:.0}", m as f64 / 1000.0)),
                off.max_outage_ms
                    .map_or("—".into(), |m| format!("{:.0}", m as f64 / 1000.0)),
            ),
            ratio,
            "×",
            "",
            None,
        );
        no_step(on, &mut f);
        out.push(f);
    }
    match rps {
        Some(r) => out.push(figure(
            "sim_rps_ratio",
            &format!(
                "simulated PAPI req/s / bare axum ({:.0} / {:.0})",
                r.sim_rps, r.bare_rps
            ),
            Some(r.ratio),
            "×",
            "≥ 0.6",
            Some(r.ratio >= 0.6),
        )),
        None => out.push(Figure {
            note: "not measured (--rps-secs 0)".into(),
            ..figure(
                "sim_rps_ratio",
                "simulated PAPI req/s / bare axum",
                None,
                "×",
                "≥ 0.6",
                None,
            )
        }),
    }
    out
}

impl BenchReport {
    /// The table: one line per figure.
    pub fn render(&self) -> String {
        use std::fmt::Write as _;
        let mut s = String::new();
        let _ = writeln!(
            s,
            "{:<62} {:>12} {:<14} {:<9} met",
            "figure", "value", "unit", "target"
        );
        for f in &self.figures {
            let value = f.value.map_or("—".to_string(), |v| {
                if v >= 100.0 {
                    format!("{v:.0}")
                } else {
                    format!("{v:.3}")
                }
            });
            let met = match f.met {
                Some(true) => "met",
                Some(false) => "MISSED",
                None => "",
            };
            let _ = writeln!(
                s,
                "{:<62} {:>12} {:<14} {:<9} {}{}",
                f.what,
                value,
                f.unit,
                f.target,
                met,
                if f.note.is_empty() {
                    String::new()
                } else {
                    format!("  ({})", f.note)
                }
            );
        }
        for r in &self.runs {
            if !r.passed {
                let _ = writeln!(
                    s,
                    "note: the {}-policy run{}{} ended {} and did not pass its checks",
                    r.policies,
                    if r.presync { " with pre-sync" } else { "" },
                    if r.backlog == Backlog::Hourly {
                        " (hourly backlog)"
                    } else {
                        ""
                    },
                    r.outcome
                );
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_time_is_utime_plus_stime_after_the_name() {
        // A command name with spaces and parentheses must not shift the fields.
        let stat = "4242 (drill (x) y) R 1 4242 4242 0 -1 4194304 900 0 3 0 250 35 0 0 20 0 3 0";
        assert_eq!(cpu_s_of_stat(stat), Some(2.85));
        assert_eq!(cpu_s_of_stat("4242 (drill) R 1 2"), None);
        assert_eq!(cpu_s_of_stat("no parenthesis"), None);
    }

    #[test]
    fn this_process_has_a_cpu_time() {
        if std::path::Path::new("/proc/self/stat").exists() {
            assert!(process_cpu_s().is_some_and(|s| s >= 0.0));
        }
    }
}
