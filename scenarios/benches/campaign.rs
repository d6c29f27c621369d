//! Campaign throughput and large-failover benchmark (issue 6, item 6). Prints figures; no
//! assertions. Run with:
//!
//! ```sh
//! cargo bench -p scenarios --bench campaign              # defaults: 300 seeds, 1000 policies
//! BENCH_SEEDS=1000 BENCH_POLICIES=1000 cargo bench -p scenarios --bench campaign
//! ```

use std::time::Instant;

use scenarios::chaos::{run_campaign, CampaignConfig, GenConfig};
use scenarios::generate::{self, GenParams};
use scenarios::{run_scenario, DrillOptions};

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    // Cargo passes `--bench`; ignore arguments.
    let seeds = env("BENCH_SEEDS", 300);
    let jobs = env("BENCH_JOBS", 2) as usize;
    let cfg = CampaignConfig {
        seeds: 0..seeds,
        jobs,
        gen: GenConfig::fixed(10),
        shrink_budget: 0,
        ..CampaignConfig::default()
    };
    let s = run_campaign(&cfg);
    println!(
        "campaign: {} scenarios of 10-policy worlds (with faults), --jobs {jobs}: {:.1} s wall, {:.0} scenarios/min; outcomes {:?}",
        s.runs, s.wall_s, s.scenarios_per_minute, s.outcomes
    );

    let policies = env("BENCH_POLICIES", 1000) as usize;
    let scn = generate::synciq(&GenParams {
        policies,
        seed: 1,
        max_concurrent_jobs: 16,
        history: false,
    })
    .expect("generated scenario parses");
    let t = Instant::now();
    let r = run_scenario(&scn, &DrillOptions::default()).expect("runs");
    let wall = t.elapsed();
    println!(
        "failover: {policies} policies in-process: {:.2} s wall, {} step instances, outcome {}, makespan {:.0} s virtual, passed {}",
        wall.as_secs_f64(),
        r.report.steps.len(),
        r.report.outcome.as_str(),
        r.report.makespan_ms as f64 / 1000.0,
        r.passed()
    );
}
