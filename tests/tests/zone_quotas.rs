//! `failover_zone_quotas` decides per policy whether its data failed over by reading the
//! clusters (the source policy disabled, its mirror on the target). A source policy that
//! answers 404 is not "did not fail over": the policy existed at plan time and the run
//! never deletes it. Taking the 404 for "not failed over" kept a failed-over policy's
//! quotas on the source, reported that as correct, and left its writable target copy
//! unlimited (chaos seeds 7008546 and 7006307, I8).

use orchestrator::{StepId, StepStatus};
use scenarios::Scenario;
use tests::{assert_passed, library, run};

/// `az-zone-quotas` (three policies, four quotas in zone `finance`, quotas copied) with
/// `faults` and no expectation but the invariants.
fn zone_quotas_with(faults: &str) -> Scenario {
    let text = std::fs::read_to_string(library("az-zone-quotas")).unwrap();
    let head = &text[..text
        .find("\nexpect:")
        .expect("the library file has an expect")];
    let text = format!("{head}\nfaults:\n{faults}\nexpect: {{invariants: all}}\n");
    Scenario::parse(&text, "<zone-quotas>").unwrap_or_else(|e| panic!("{e}\n{text}"))
}

fn zone_step(r: &scenarios::DrillResult) -> &orchestrator::StepRecord {
    r.report
        .steps
        .iter()
        .find(|s| s.step == StepId::FailoverZoneQuotas)
        .expect("the plan has failover_zone_quotas")
}

/// How many `action` entries (`quota.create`, `quota.delete`) the audit log has on `cluster`.
fn quota_changes(r: &scenarios::DrillResult, cluster: &str, action: &str) -> usize {
    r.audit
        .entries_where(|_| sim_onefs::Keep::Brief)
        .iter()
        .filter(|a| a.cluster == cluster && a.action == action && a.result == "ok")
        .count()
}

#[test]
fn a_404_on_a_source_policy_fails_the_zone_quota_step_and_moves_no_quota() {
    let scn = zone_quotas_with(
        "  - when: {step: failover_zone_quotas, cluster: prod, method: GET, route: sync/policies/finance-ledger}\n    effect: {http: {status: 404, count: 1}}",
    );
    let r = run(&scn);
    let step = zone_step(&r);
    let StepStatus::Failed { error: msg } = &step.status else {
        panic!("{step:?}");
    };
    assert!(
        msg.contains("finance-ledger was not found on prod")
            && msg.contains("finance-ledger_mirror exists on dr")
            && msg.contains("no quota of the zone was moved"),
        "{msg}"
    );
    // No quota was copied or removed: all four stay on the source, and the checks agree.
    assert_eq!(quota_changes(&r, "dr", "quota.create"), 0);
    assert_eq!(quota_changes(&r, "prod", "quota.delete"), 0);
    assert_passed(&r);
}

#[test]
fn without_the_fault_every_quota_moves() {
    let r = run(&zone_quotas_with("  []"));
    assert!(
        matches!(zone_step(&r).status, StepStatus::Succeeded),
        "{:?}",
        zone_step(&r)
    );
    assert_eq!(quota_changes(&r, "dr", "quota.create"), 4);
    assert_eq!(quota_changes(&r, "prod", "quota.delete"), 4);
    assert_passed(&r);
}
