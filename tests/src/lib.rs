//! Shared helpers for the workspace's integration tests (the tests live in `tests/tests/`).

use std::path::PathBuf;

use scenarios::{run_scenario, DrillOptions, DrillResult, Scenario, TransportKind};

/// The repository root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// `scenarios/library/<name>.yaml`.
pub fn library(name: &str) -> PathBuf {
    repo_root()
        .join("scenarios/library")
        .join(format!("{name}.yaml"))
}

/// Every scenario file in the library, sorted.
pub fn library_files() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(repo_root().join("scenarios/library"))
        .expect("scenarios/library exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    v.sort();
    v
}

/// Load a library scenario by name.
pub fn load(name: &str) -> Scenario {
    Scenario::load(&library(name)).unwrap_or_else(|e| panic!("{e}"))
}

/// Run a scenario in-process (paused clock).
pub fn run(scn: &Scenario) -> DrillResult {
    run_scenario(scn, &DrillOptions::default()).unwrap_or_else(|e| panic!("{e}"))
}

/// Run a scenario over loopback HTTP.
pub fn run_http(scn: &Scenario) -> DrillResult {
    run_scenario(
        scn,
        &DrillOptions {
            transport: TransportKind::Http,
            ..DrillOptions::default()
        },
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

/// Panic with the rendered drill output unless it passed.
pub fn assert_passed(r: &DrillResult) {
    assert!(r.passed(), "{}", scenarios::table::render(r));
}

/// `(step, policy, status)` triples of a report, for comparisons that ignore timing.
pub fn statuses(r: &DrillResult) -> Vec<(String, Option<String>, String)> {
    r.report
        .steps
        .iter()
        .map(|s| {
            (
                s.step.as_str().to_string(),
                s.policy.clone(),
                s.status.name().to_string(),
            )
        })
        .collect()
}
