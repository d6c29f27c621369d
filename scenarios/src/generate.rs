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
    /// Give every policy a history of incremental syncs ([`HISTORY_SYNCS`] of them, each
    /// transferring about what its pending changes hold, ±30 %): the report history a real
    /// policy has after weeks of schedules, which the scheduler and `dr plan --estimate`
    /// learn from. Off: the initial full sync is each policy's only report.
    pub history: bool,
}

/// Past incremental syncs per policy with [`GenParams::history`].
pub const HISTORY_SYNCS: usize = 4;

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
    // A stream of its own, so worlds without history stay what they were.
    let mut hist_rng = ChaCha8Rng::seed_from_u64(p.seed ^ 0x6869_7374_6f72_7900);
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
        let history = if p.history {
            let pending = (count as f64 * unsynced).round() as u64 * size;
            let syncs: Vec<String> = (0..HISTORY_SYNCS)
                .map(|_| {
                    let jitter: f64 = hist_rng.random_range(0.7..=1.3);
                    format!("{{bytes: {}}}", (pending as f64 * jitter).round() as u64)
                })
                .collect();
            format!(", past_syncs: [{}]", syncs.join(", "))
        } else {
            String::new()
        };
        let _ = writeln!(
            policies,
            "    - {{name: {name}, source: src, target: dst, source_path: /ifs/data/{name}, target_path: /ifs/data/{name}, schedule: \"{schedule}\"{history}}}"
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
