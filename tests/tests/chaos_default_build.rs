//! The default build contains no planted orchestrator bug: a scenario that names one is
//! rejected as an unknown option (issue 6, item 5). The `tests` crate must never enable the
//! `planted-bugs` feature (feature unification would put the bugs into the default binaries).

use scenarios::chaos::{gen, GenConfig};
use scenarios::Scenario;

#[test]
fn default_build_rejects_planted_bug() {
    let text = "name: planted\nworld:\n  clusters: [{name: a}, {name: b}]\nrun:\n  from: a\n  to: b\n  options: {planted_bug: skip_logic_off}\n";
    let err = Scenario::parse(text, "planted.yaml")
        .unwrap_err()
        .to_string();
    assert!(err.contains("planted_bug"), "{err}");
    assert!(err.starts_with("planted.yaml:7:"), "{err}");

    let case = gen::case_for_seed(&GenConfig::small(), 1);
    assert!(gen::build_scenario(&case, Some("skip_logic_off")).is_err());
    assert!(gen::build_scenario(&case, None).is_ok());
}

#[test]
fn default_build_has_no_planted_bug_in_its_schema() {
    let schema = serde_json::to_string(&schemars::schema_for!(Scenario)).unwrap();
    assert!(!schema.contains("planted_bug"));
}
