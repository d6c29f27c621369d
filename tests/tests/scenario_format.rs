//! Scenario files: errors point at file, line and column; bad references are named.

use scenarios::Scenario;

const GOOD: &str = r#"
name: t
seed: 1
world:
  clusters:
    - {name: a}
    - {name: b}
  policies:
    - {name: p, source: a, target: b, source_path: /ifs/p, target_path: /ifs/p}
run: {mode: synciq-policy, from: a, to: b}
"#;

#[test]
fn good_file_parses() {
    Scenario::parse(GOOD, "good.yaml").unwrap();
}

#[test]
fn unknown_key_points_at_line_and_column() {
    let bad = GOOD.replace("seed: 1", "seed: 1\nsede: 2");
    let err = Scenario::parse(&bad, "bad.yaml").unwrap_err().to_string();
    assert!(err.starts_with("bad.yaml:4:"), "{err}");
    assert!(err.contains("sede"), "{err}");
}

#[test]
fn wrong_type_points_at_line() {
    let bad = GOOD.replace("seed: 1", "seed: many");
    let err = Scenario::parse(&bad, "bad.yaml").unwrap_err().to_string();
    assert!(err.starts_with("bad.yaml:3:"), "{err}");
}

#[test]
fn unknown_cluster_in_run_is_named() {
    let bad = GOOD.replace("to: b}", "to: c}");
    let err = Scenario::parse(&bad, "bad.yaml").unwrap_err().to_string();
    assert!(
        err.contains("\"c\"") && err.contains("world.clusters"),
        "{err}"
    );
}

#[test]
fn unknown_step_in_expect_is_named() {
    let bad = format!("{GOOD}expect:\n  steps:\n    - {{step: allow_writes, status: failed}}\n");
    let err = Scenario::parse(&bad, "bad.yaml").unwrap_err().to_string();
    assert!(err.contains("allow_writes"), "{err}");
}

#[test]
fn every_library_file_parses() {
    for f in tests::library_files() {
        Scenario::load(&f).unwrap_or_else(|e| panic!("{e}"));
    }
}
