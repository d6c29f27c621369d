//! `dr plan --estimate` against the simulated run: on generated worlds of 10, 100 and 1000
//! policies (sizes spanning three orders of magnitude, pending changes 0–50 %, a report
//! history of incremental syncs per policy, fewer job slots than policies), estimate the
//! failover before it runs — from the inventory the orchestrator discovers over PAPI, as
//! `dr plan --estimate` does — then run it and compare with the simulated makespan.
//! Prints a table; no assertions (the target is within 10 % at every size).
//!
//! ```sh
//! cargo bench -p scenarios --bench estimate
//! ```

use std::time::Instant;

use orchestrator::estimate::{estimate, fmt_ms, CostDefaults};
use scenarios::generate::{self, GenParams};
use scenarios::runner::{in_process_clients, world_mappings};
use scenarios::world::World;
use scenarios::{run_scenario, DrillOptions};

fn main() {
    println!(
        "{:>8} {:>6} {:>12} {:>12} {:>8} {:>10}",
        "policies", "slots", "estimate", "simulated", "error", "wall"
    );
    for (policies, slots) in [(10usize, 4u32), (100, 16), (1000, 16)] {
        let scn = generate::synciq(&GenParams {
            policies,
            seed: 7,
            max_concurrent_jobs: slots,
            history: true,
        })
        .expect("generated scenario parses");
        let t = Instant::now();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .expect("runtime");
        let est = rt.block_on(async {
            let world = World::build(&scn.world, scn.seed).expect("world");
            let clients = in_process_clients(&world.sim).expect("clients");
            let inv = orchestrator::runner::discover(&clients)
                .await
                .expect("discovery");
            let mut spec = scn.run.clone();
            if spec.pool_mappings.is_empty() {
                spec.pool_mappings = world_mappings(&scn);
            }
            let plan = orchestrator::build_plan(&spec, &inv).expect("plan");
            // What an admin puts in the `estimate:` section: the times their clusters'
            // allow-write and resync-prep took in earlier failovers (here: the world's).
            let c = &scn.world.costs;
            let defaults = CostDefaults {
                allow_write_ms: c.allow_write_ms,
                allow_write_revert_ms: c.allow_write_revert_ms,
                resync_prep_ms: c.resync_prep_ms,
                ..CostDefaults::default()
            };
            estimate(&plan, &inv, &defaults)
        });
        let r = run_scenario(&scn, &DrillOptions::default()).expect("runs");
        let actual = r.report.makespan_ms;
        let err = (est.total_ms as f64 - actual as f64) / actual.max(1) as f64 * 100.0;
        println!(
            "{:>8} {:>6} {:>12} {:>12} {:>+7.1}% {:>9.2}s",
            policies,
            slots,
            fmt_ms(est.total_ms),
            fmt_ms(actual),
            err,
            t.elapsed().as_secs_f64()
        );
    }
}
