//! The readiness tree (DESIGN §5): step 3 records it in the report (cluster → zone → pool
//! → policy, every check `ok | warning | error`); its errors block the run, its warnings
//! block only with step 3a; `POST /api/v1/readiness` (the JSON `dr readiness --json`
//! prints) builds it alone, changing nothing.

mod rest_support;

use http::StatusCode;
use orchestrator::readiness::{Check, CheckStatus, Readiness};
use orchestrator::{Outcome, StepId, StepStatus};
use rest_support::{app, call, OPERATOR};
use tests::{assert_passed, load, run};

fn tree(r: &scenarios::DrillResult) -> &Readiness {
    r.report
        .readiness
        .as_ref()
        .expect("the report carries the readiness tree")
}

fn check<'a>(t: &'a Readiness, node: &str, id: &str) -> &'a Check {
    t.checks()
        .into_iter()
        .find(|(n, c)| n.name == node && c.id == id)
        .map(|(_, c)| c)
        .unwrap_or_else(|| panic!("no check {id} on {node}: {t:#?}"))
}

#[test]
fn a_happy_run_records_a_tree_without_errors() {
    let r = run(&load("az-happy-dual"));
    assert_passed(&r);
    let t = tree(&r);
    assert_ne!(t.status, CheckStatus::Error, "{t:#?}");
    assert_eq!((t.from.as_str(), t.to.as_str()), ("prod", "dr"));
    // The shape: source cluster → zone → pool / policy; the target cluster.
    let kinds: Vec<(&str, &str)> = t
        .checks()
        .into_iter()
        .map(|(n, _)| (n.kind.as_str(), n.name.as_str()))
        .collect();
    for want in [
        ("cluster", "prod"),
        ("zone", "finance"),
        ("pool", "groupnet0.subnet0.finance"),
        ("policy", "finance-ledger"),
        ("cluster", "dr"),
    ] {
        assert!(kinds.contains(&want), "{want:?} in {kinds:?}");
    }
    for (node, id) in [
        ("prod", "reachable"),
        ("prod", "synciq_service"),
        ("dr", "synciq_service"),
        ("finance", "target_zone"),
        ("finance", "pool_mapped"),
        ("finance", "ad_provider"),
        ("finance", "spn_delegation"),
        ("finance", "duplicate_spns"),
        ("groupnet0.subnet0.finance", "dns_delegation"),
        ("finance-ledger", "source_policy"),
        ("finance-ledger", "target_policy"),
        ("finance-ledger", "target_path_in_zone"),
        ("finance-ledger", "quota_scan"),
        ("finance-ledger", "config_parity"),
    ] {
        assert_eq!(check(t, node, id).status, CheckStatus::Ok, "{node} {id}");
    }
    // The share is not on the target yet: no drift, step 5 copies it.
    assert!(check(t, "finance-ledger", "config_parity")
        .message
        .contains("step 5 copies them"));
}

#[test]
fn a_quota_scan_warning_blocks_only_with_block_on_warning() {
    let r = run(&load("synciq-quota-scan-blocks"));
    assert_passed(&r);
    assert_eq!(r.report.outcome, Outcome::Blocked);
    let t = tree(&r);
    let q = check(t, "eng", "quota_scan");
    assert_eq!(q.status, CheckStatus::Warning);
    assert!(q.message.contains("/ifs/data/eng"), "{}", q.message);
    assert!(q.fix.as_deref().unwrap_or("").contains("QuotaScan"));
    assert_eq!(check(t, "hr", "quota_scan").status, CheckStatus::Ok);
    assert!(r.report.warnings.iter().any(|w| w.contains("quota scan")));
    // Without step 3a the same world fails over.
    let mut scn = load("synciq-quota-scan-blocks");
    scn.run.options.block_on_warning = false;
    scn.expect = Default::default();
    let r = run(&scn);
    assert_eq!(
        r.report.outcome,
        Outcome::Succeeded,
        "{:?}",
        r.report.warnings
    );
}

#[test]
fn parity_drift_names_the_objects_and_blocks_with_block_on_warning() {
    let r = run(&load("synciq-parity-drift-blocks"));
    assert_passed(&r);
    assert_eq!(r.report.outcome, Outcome::Blocked);
    let c = check(tree(&r), "eng", "config_parity");
    assert_eq!(c.status, CheckStatus::Warning);
    assert!(c.message.contains("share eng"), "{}", c.message);
    assert!(
        c.message.contains("export /ifs/data/eng/scratch"),
        "{}",
        c.message
    );
    let b = r.report.find(StepId::BlockOnWarning, None).unwrap();
    assert!(
        matches!(&b.status, StepStatus::Failed { error } if error.contains("config parity drift"))
    );
}

#[test]
fn a_target_path_outside_the_zone_is_an_error_that_blocks() {
    let r = run(&load("az-target-path-outside-zone"));
    assert_passed(&r);
    assert_eq!(r.report.outcome, Outcome::Blocked);
    let t = tree(&r);
    assert_eq!(t.status, CheckStatus::Error);
    let c = check(t, "finance-ledger", "target_path_in_zone");
    assert_eq!(c.status, CheckStatus::Error);
    assert!(c.message.contains("/ifs/replicas/ledger"), "{}", c.message);
    let v = r.report.find(StepId::Validate, None).unwrap();
    assert!(
        matches!(&v.status, StepStatus::Failed { error } if error.contains("outside zone finance"))
    );
}

#[test]
fn validation_errors_are_checks_of_the_tree() {
    let r = run(&load("synciq-validation-blocks"));
    assert_passed(&r);
    let c = check(tree(&r), "denver", "synciq_service");
    assert_eq!(c.status, CheckStatus::Error);
    assert!(c.fix.is_some());
}

#[test]
fn older_reports_without_a_tree_still_load() {
    let r = run(&load("synciq-happy-3"));
    let mut v = serde_json::to_value(&r.report).unwrap();
    v.as_object_mut().unwrap().remove("readiness");
    let back: orchestrator::Report = serde_json::from_value(v).unwrap();
    assert!(back.readiness.is_none());
}

#[tokio::test(start_paused = true)]
async fn the_readiness_route_returns_the_tree_and_changes_nothing() {
    let scn = load("synciq-quota-scan-blocks");
    let (sim, _state, router) = app(&scn, 1);
    let before = sim.state_json();
    let spec = r#"{"from": "boston", "to": "denver"}"#;
    let (st, body) = call(
        &router,
        "POST",
        "/api/v1/readiness",
        Some(OPERATOR),
        Some(spec),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "warning", "{body}");
    assert_eq!(body["counts"]["error"], 0, "{body}");
    assert_eq!(body["nodes"][0]["kind"], "cluster");
    assert_eq!(body["nodes"][0]["name"], "boston");
    assert_eq!(body["nodes"][1]["name"], "denver");
    let t: Readiness = serde_json::from_value(body).unwrap();
    assert_eq!(check(&t, "eng", "quota_scan").status, CheckStatus::Warning);
    // `dr readiness` exits 6 (warnings), or 1 with --block-on-warning.
    assert_eq!(t.exit_code(false), 6);
    assert_eq!(t.exit_code(true), 1);
    assert_eq!(sim.state_json(), before, "readiness changed the world");
    // An unknown policy is bad input.
    let (st, _) = call(
        &router,
        "POST",
        "/api/v1/readiness",
        Some(OPERATOR),
        Some(r#"{"from": "boston", "to": "denver", "policies": ["nope"]}"#),
    )
    .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
}
