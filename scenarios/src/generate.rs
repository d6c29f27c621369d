//! Generated scenarios: a SyncIQ-policy failover of N policies with varied sizes, change
//! rates and schedules, for benchmarks and large drills (`drill generate`).
//!
//! The generator writes YAML text and parses it back, so a generated scenario is exactly a
//! file a user could have written, and `drill run` replays it.

use std::fmt::Write as _;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::scenario::{Scenario, ScenarioError};

/// Parameters of a generated SyncIQ-mode scenario.
#[derive(Debug, Clone)]
pub struct GenParams {
    pub policies: usize,
    pub seed: u64,
    /// Cluster `max_concurrent_jobs`.
    pub max_concurrent_jobs: u32,
}

const SCHEDULES: [&str; 5] = [
    "",
    "every 15 minutes",
    "every 1 hours",
    "every 1 days at 02:00",
    "when-source-modified",
];

/// YAML text of the scenario.
pub fn synciq_yaml(p: &GenParams) -> String {
    let mut rng = ChaCha8Rng::seed_from_u64(p.seed);
    let mut y = String::new();
    let _ = writeln!(
        y,
        "# Generated: SyncIQ policy failover of {} policies (seed {}).",
        p.policies, p.seed
    );
    let _ = writeln!(y, "name: generated-synciq-{}", p.policies);
    let _ = writeln!(y, "seed: {}", p.seed);
    let _ = writeln!(y, "world:");
    let _ = writeln!(
        y,
        "  link: {{bandwidth_bytes_per_s: 125000000, latency_ms: 5}}"
    );
    let _ = writeln!(y, "  clusters:");
    let _ = writeln!(y, "    - name: src");
    let _ = writeln!(y, "      max_concurrent_jobs: {}", p.max_concurrent_jobs);
    let _ = writeln!(y, "      files:");
    let mut policies = String::new();
    for i in 0..p.policies {
        let name = format!("p{i:04}");
        let count: u64 = rng.random_range(10..=200);
        let size: u64 = 1u64 << rng.random_range(16..=24); // 64 KiB .. 16 MiB
        let unsynced: f64 = (rng.random_range(0..=50) as f64) / 100.0;
        let schedule = SCHEDULES[rng.random_range(0..SCHEDULES.len())];
        let _ = writeln!(
            y,
            "        - {{root: /ifs/data/{name}, count: {count}, size_bytes: {size}, unsynced_fraction: {unsynced}}}"
        );
        let _ = writeln!(
            policies,
            "    - {{name: {name}, source: src, target: dst, source_path: /ifs/data/{name}, target_path: /ifs/data/{name}, schedule: \"{schedule}\"}}"
        );
    }
    let _ = writeln!(y, "    - name: dst");
    let _ = writeln!(y, "      max_concurrent_jobs: {}", p.max_concurrent_jobs);
    let _ = writeln!(y, "  policies:");
    y.push_str(&policies);
    let _ = writeln!(y, "run:");
    let _ = writeln!(y, "  kind: failover");
    let _ = writeln!(y, "  mode: synciq-policy");
    let _ = writeln!(y, "  from: src");
    let _ = writeln!(y, "  to: dst");
    let _ = writeln!(y, "expect:");
    let _ = writeln!(y, "  outcome: succeeded");
    let _ = writeln!(y, "  invariants: all");
    y
}

/// The scenario itself.
pub fn synciq(p: &GenParams) -> Result<Scenario, ScenarioError> {
    Scenario::parse(&synciq_yaml(p), "<generated>")
}
