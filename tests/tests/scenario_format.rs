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

/// `GOOD` with an `expect` section: `outcome` on line 12, the steps on lines 14 and 15.
fn with_expect(outcome: &str, status: &str) -> String {
    format!(
        "{GOOD}expect:\n  outcome: {outcome}\n  steps:\n    - {{step: sync_data, policy: p, status: succeeded}}\n    - {{step: allow_write, policy: p, status: {status}}}\n"
    )
}

#[test]
fn expect_with_every_status_and_outcome_parses() {
    for outcome in [
        "succeeded",
        "partial",
        "failed",
        "blocked",
        "aborted",
        "paused",
    ] {
        for status in [
            "pending",
            "running",
            "succeeded",
            "failed",
            "skipped",
            "manual",
            "not_applicable",
        ] {
            let scn = Scenario::parse(&with_expect(outcome, status), "good.yaml").unwrap();
            assert_eq!(scn.expect.outcome.unwrap().as_str(), outcome);
            assert_eq!(scn.expect.steps[1].status.as_str(), status);
        }
    }
}

#[test]
fn misspelt_status_names_value_allowed_values_and_position() {
    let text = with_expect("failed", "suceeded");
    let err = Scenario::parse(&text, "bad.yaml").unwrap_err().to_string();
    assert_eq!(
        err,
        "bad.yaml:15:46: expect.steps[1].status: unknown variant `suceeded`, expected one of \
         `pending`, `running`, `succeeded`, `failed`, `skipped`, `manual`, `not_applicable`"
    );
    // The position is the bad word's.
    let line = text.lines().nth(14).unwrap();
    assert_eq!(&line[45..53], "suceeded");
}

#[test]
fn misspelt_outcome_names_value_allowed_values_and_position() {
    let err = Scenario::parse(&with_expect("partiall", "failed"), "bad.yaml")
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "bad.yaml:12:12: expect.outcome: unknown variant `partiall`, expected one of \
         `succeeded`, `partial`, `failed`, `blocked`, `aborted`, `paused`"
    );
}

#[test]
fn unknown_step_in_expect_points_at_it() {
    let bad = format!("{GOOD}expect:\n  steps:\n    - {{step: allow_writes, status: failed}}\n");
    let err = Scenario::parse(&bad, "bad.yaml").unwrap_err().to_string();
    assert!(
        err.starts_with(
            "bad.yaml:13:14: expect.steps[0].step: unknown step id `allow_writes`, expected one \
             of `check_open_files`, "
        ),
        "{err}"
    );
    assert!(err.contains("`allow_write`,"), "{err}");
}

#[test]
fn unknown_step_in_a_fault_points_at_it() {
    let bad = format!(
        "{GOOD}faults:\n  - when: {{policy: p}}\n    effect: drop_connection\n  - when: {{step: sync_dat, policy: p}}\n    effect: drop_connection\n"
    );
    let err = Scenario::parse(&bad, "bad.yaml").unwrap_err().to_string();
    assert!(
        err.starts_with(
            "bad.yaml:14:18: faults[1].when.step: unknown step id `sync_dat`, expected one of "
        ),
        "{err}"
    );
    // A good fault step still parses.
    let good = bad.replace("sync_dat,", "sync_data,");
    Scenario::parse(&good, "good.yaml").unwrap();
    // Other errors keep their own message when a fault step is fine.
    let other = good.replace("to: b}", "to: c}");
    let err = Scenario::parse(&other, "bad.yaml").unwrap_err().to_string();
    assert!(err.contains("run.to names cluster \"c\""), "{err}");
}

#[test]
fn unknown_invariants_point_at_them() {
    let err = Scenario::parse(
        &format!("{GOOD}expect:\n  invariants: [I1, I13]\n"),
        "bad.yaml",
    )
    .unwrap_err()
    .to_string();
    assert_eq!(
        err,
        "bad.yaml:12:20: expect.invariants[1]: unknown invariant id `I13`, expected one of \
         `I1`, `I2`, `I3`, `I4`, `I5`, `I6`, `I7`, `I8`, `I9`, `I10`, `I11`, `I12`"
    );
    let err = Scenario::parse(&format!("{GOOD}expect:\n  invariants: al\n"), "bad.yaml")
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("bad.yaml:12:15: expect.invariants: unknown invariant selection `al`"),
        "{err}"
    );
    for ok in ["all", "none", "[I1, I3]", "[]"] {
        Scenario::parse(&format!("{GOOD}expect:\n  invariants: {ok}\n"), "good.yaml").unwrap();
    }
}

#[test]
fn unknown_operator_points_at_it() {
    let err = Scenario::parse(&format!("{GOOD}operator: abesnt\n"), "bad.yaml")
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "bad.yaml:11:11: operator: unknown operator `abesnt`, expected `immediate`, `absent` \
         or `{confirm_after: <duration>}`"
    );
    let err = Scenario::parse(
        &format!("{GOOD}operator: {{confirm_afer: 10m}}\n"),
        "bad.yaml",
    )
    .unwrap_err()
    .to_string();
    assert!(err.starts_with("bad.yaml:11:"), "{err}");
    assert!(err.contains("confirm_afer"), "{err}");
    for ok in ["immediate", "absent", "{confirm_after: 10m}"] {
        Scenario::parse(&format!("{GOOD}operator: {ok}\n"), "good.yaml").unwrap();
    }
}
