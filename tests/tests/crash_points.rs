//! I9 (convergence): crash the orchestrator at every step boundary and during every PAPI call
//! of each library scenario the orchestrator can run, resume from the journal on the same
//! world, and require the final world and report to equal those of an uninterrupted run.
//!
//! Scenarios whose plan build says "not implemented" are skipped with a notice, so new modes
//! are covered as they land. Prints how many crash points were tried.

use std::collections::BTreeMap;
use std::path::PathBuf;

use scenarios::crash;
use scenarios::Scenario;

fn library() -> Vec<PathBuf> {
    tests::library_files()
}

/// Upper bound on crash points per scenario, so the test stays fast as scenarios grow
/// (`CRASH_POINTS_MAX=0` = no bound). Every point of the library today is far below it.
fn bound() -> Option<usize> {
    match std::env::var("CRASH_POINTS_MAX")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        Some(0) => None,
        Some(n) => Some(n),
        None => Some(2_000),
    }
}

/// What checking one scenario's crash points gives.
type CheckResult = Result<crash::ScenarioCrashReport, Result<crash::Unsupported, String>>;

#[test]
fn every_crash_point_of_the_library_converges() {
    let mut tried_total = 0usize;
    let mut per_mode: BTreeMap<String, usize> = BTreeMap::new();
    let mut failures = Vec::new();
    let only = std::env::var("CRASH_SCENARIO").ok();
    // Scenarios are independent: check them on two threads (one paused runtime per point).
    let paths: Vec<PathBuf> = library();
    let results: Vec<(Scenario, CheckResult)> = std::thread::scope(|sc| {
        let workers: Vec<_> = (0..2)
            .map(|w| {
                let paths = &paths;
                let only = only.clone();
                sc.spawn(move || {
                    let mut out = Vec::new();
                    for path in paths.iter().skip(w).step_by(2) {
                        let scn = Scenario::load(path).unwrap_or_else(|e| panic!("{e}"));
                        if only.as_deref().is_some_and(|o| !scn.name.contains(o)) {
                            continue;
                        }
                        let r = crash::check_scenario(&scn, bound());
                        out.push((scn, r));
                    }
                    out
                })
            })
            .collect();
        let mut all: Vec<_> = workers
            .into_iter()
            .flat_map(|w| w.join().expect("worker"))
            .collect();
        all.sort_by(|a, b| a.0.name.cmp(&b.0.name));
        all
    });
    for (scn, result) in results {
        let mode = scn.run.mode.as_str().to_string();
        match result {
            Ok(r) => {
                println!(
                    "{:<36} {:<14} {:>4} crash points, {} diverged, {} redid a finished SyncIQ job",
                    scn.name,
                    mode,
                    r.tried,
                    r.divergences.len(),
                    r.points_with_repeated_jobs
                );
                tried_total += r.tried;
                *per_mode.entry(mode).or_default() += r.tried;
                for d in r.divergences.iter() {
                    failures.push(format!("{} {}: {}", scn.name, d.point, d.what));
                }
            }
            Err(Ok(crash::Unsupported(msg))) => {
                println!("{:<36} {:<14} skipped: {msg}", scn.name, mode)
            }
            Err(Err(e)) => failures.push(format!("{}: {e}", scn.name)),
        }
    }
    println!("crash points tried: {tried_total} ({per_mode:?})");
    assert!(tried_total > 0, "no crash point was tried");
    if only.is_none() {
        assert!(
            per_mode.contains_key("synciq-policy"),
            "no synciq-policy scenario was crash-tested"
        );
    }
    assert!(failures.is_empty(), "diverged:\n{}", failures.join("\n"));
}
