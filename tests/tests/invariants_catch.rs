//! Each world-level invariant has a drill that breaks it on purpose, and the checker must
//! catch it (DESIGN.md §6; issue: "each invariant has a test scenario that breaks it").

use std::sync::Arc;

use scenarios::clients::ClientEvent;
use scenarios::{run_scenario, DrillOptions, DrillResult, Scenario};

fn base_az(extra_faults: &str, options: &str, clients: &str) -> String {
    format!(
        r#"
name: breaker
seed: 5
world:
  clusters:
    - name: prod
      zones: [{{name: finance, base_path: /ifs/finance}}]
      pools:
        - {{id: groupnet0.subnet0.finance, zone: finance, sc_dns_zone: finance.corp.example, ssip: 10.1.0.10}}
      smb_shares: [{{name: ledger, path: /ifs/finance/ledger, zone: finance}}]
      files: [{{root: /ifs/finance/ledger, count: 50, size_bytes: 1048576, unsynced_fraction: 0.5}}]
    - name: dr
      zones: [{{name: finance, base_path: /ifs/finance}}]
      pools:
        - {{id: groupnet0.subnet0.finance-dr, zone: finance, sc_dns_zone: finance-dr.corp.example, ssip: 10.2.0.10}}
  policies:
    - {{name: ledger, source: prod, target: dr, source_path: /ifs/finance/ledger, target_path: /ifs/finance/ledger, schedule: every 1 hours}}
  ad: {{domain: corp.example}}
  dns: {{delegation: dual}}
  pool_mappings:
    - {{source: prod/groupnet0.subnet0.finance, target: dr/groupnet0.subnet0.finance-dr}}
clients:
{clients}
run: {{mode: access-zone, from: prod, to: dr, zone: finance, options: {options}}}
faults:
{extra_faults}
"#
    )
}

const SMB_CLIENT: &str =
    "  - {name: ws-1, protocol: smb, path: '\\\\finance.corp.example\\ledger', writes_per_minute: 30}";

fn run_with(text: &str, tamper: Option<scenarios::runner::Tamper>) -> DrillResult {
    let scn = Scenario::parse(text, "<breaker>").unwrap_or_else(|e| panic!("{e}\n{text}"));
    run_scenario(
        &scn,
        &DrillOptions {
            tamper,
            ..DrillOptions::default()
        },
    )
    .unwrap()
}

fn violated(r: &DrillResult, id: &str) -> Vec<String> {
    r.invariants
        .iter()
        .find(|i| i.id == id)
        .unwrap_or_else(|| panic!("{id} not in the results"))
        .violations()
        .to_vec()
}

#[test]
fn baseline_holds() {
    let r = run_with(
        &base_az("  []", "{data_integrity: true}", SMB_CLIENT)
            .replace("faults:\n  []", "faults: []"),
        None,
    );
    tests::assert_passed(&r);
}

#[test]
fn i4_catches_a_lost_acknowledged_write() {
    // Plant an acknowledged write on prod from before the final sync that dr never got.
    let tamper: scenarios::runner::Tamper = Arc::new(|_w, log: &mut Vec<ClientEvent>| {
        log.insert(
            0,
            ClientEvent {
                t_ms: 1,
                client: "ws-1".into(),
                cluster: Some("prod".into()),
                path: Some("/ifs/finance/ledger/phantom-write".into()),
                ok: true,
                error: None,
            },
        );
    });
    let r = run_with(
        &base_az("  []", "{data_integrity: true}", SMB_CLIENT)
            .replace("faults:\n  []", "faults: []"),
        Some(tamper),
    );
    let v = violated(&r, "I4");
    assert!(v.iter().any(|m| m.contains("phantom-write")), "{v:?}");
}

#[test]
fn i5_catches_writes_to_the_source_after_the_target_is_writable() {
    // Plant an SMB write acknowledged on prod long after dr became writable.
    let tamper: scenarios::runner::Tamper = Arc::new(|w, log: &mut Vec<ClientEvent>| {
        log.push(ClientEvent {
            t_ms: w.sim.now_ms(),
            client: "ws-1".into(),
            cluster: Some("prod".into()),
            path: Some("/ifs/finance/ledger/late-write".into()),
            ok: true,
            error: None,
        });
    });
    let r = run_with(
        &base_az("  []", "{data_integrity: true}", SMB_CLIENT)
            .replace("faults:\n  []", "faults: []"),
        Some(tamper),
    );
    let v = violated(&r, "I5");
    assert!(v.iter().any(|m| m.contains("late-write")), "{v:?}");
}

#[test]
fn a_failed_lock_blocks_the_run() {
    // The operator asked for the data-integrity lock; if it cannot be applied the failover
    // must not go on unprotected.
    let r = run_with(
        &base_az(
            "  - when: {step: data_integrity_lock, method: PUT, route: protocols/smb/shares}\n    effect: {http: {status: 500, count: 100}}",
            "{data_integrity: true}",
            SMB_CLIENT,
        ),
        None,
    );
    assert_eq!(r.report.outcome, orchestrator::Outcome::Blocked);
    tests::assert_passed(&r);
}

#[test]
fn i6_catches_an_spn_on_two_accounts() {
    // Put a moved SPN back on prod's account after the run, as a buggy orchestrator would
    // leave it: HOST/finance.corp.example is then on prod and dr.
    let tamper: scenarios::runner::Tamper = Arc::new(|w, _log: &mut Vec<ClientEvent>| {
        w.sim
            .with_ad(|d| d.add_spn("prod", "HOST/finance.corp.example"))
            .unwrap()
            .unwrap();
    });
    let r = run_with(
        &base_az("  []", "{data_integrity: true}", SMB_CLIENT)
            .replace("faults:\n  []", "faults: []"),
        Some(tamper),
    );
    let v = violated(&r, "I6");
    assert!(
        v.iter()
            .any(|m| m.to_lowercase().contains("host/finance.corp.example")),
        "{v:?}"
    );
}

#[test]
fn orchestrator_refuses_to_create_a_collision() {
    // Another account grabs the SPN while the failover runs: add_target_spns must refuse
    // to register it a second time, and the checker must not blame the run for the plant.
    let r = run_with(
        &base_az(
            "  - when: {step: add_target_spns}\n    effect: {spn_collision: {spn: HOST/finance.corp.example, account: legacy-nas}}",
            "{data_integrity: true}",
            SMB_CLIENT,
        ),
        None,
    );
    let add = r
        .report
        .steps
        .iter()
        .find(|s| s.step == orchestrator::StepId::AddTargetSpns)
        .unwrap();
    assert_eq!(add.status.name(), "failed", "{add:?}");
    assert!(violated(&r, "I6").is_empty());
}

#[test]
fn i7_catches_clients_that_cannot_reach_the_target() {
    // The run reports success, but ws-1's last write (after the refresh) failed on dr, as if
    // the share had never been replicated. (A target taken down by an injected fault after
    // the run is not the run's doing: I7 notes it instead, see harness_fixes.rs.)
    let tamper: scenarios::runner::Tamper = Arc::new(|_w, log: &mut Vec<ClientEvent>| {
        let t_ms = log.last().map_or(0, |e| e.t_ms) + 1;
        log.push(ClientEvent {
            t_ms,
            client: "ws-1".into(),
            cluster: Some("dr".into()),
            path: None,
            ok: false,
            error: Some("share ledger not found on dr".into()),
        });
    });
    let r = run_with(
        &base_az("  []", "{data_integrity: true}", SMB_CLIENT)
            .replace("faults:\n  []", "faults: []"),
        Some(tamper),
    );
    assert_eq!(r.report.outcome, orchestrator::Outcome::Succeeded);
    let v = violated(&r, "I7");
    assert!(
        v.iter()
            .any(|m| m.contains("ws-1") && m.contains("not found on dr")),
        "{v:?}"
    );
}

#[test]
fn i8_catches_a_config_object_missing_on_the_target() {
    // The quota copy fails, but the report claims step 12 succeeded (as a step that
    // swallowed the error would): the quota is owed on dr and missing. (With a truthful
    // `failed` report I8 notes it instead; see tests/harness_fixes.rs. A failed share copy
    // now holds the zone gate, so nothing of the zone would be failed over at all.)
    let text = base_az(
        "  - when: {step: failover_zone_quotas, cluster: dr, method: POST, route: quota/quotas}\n    effect: {http: {status: 500, count: 100}}",
        "{data_integrity: true}",
        SMB_CLIENT,
    );
    let mut scn = Scenario::parse(&text, "<breaker>").unwrap_or_else(|e| panic!("{e}\n{text}"));
    scn.world.clusters[0].quotas.push(sim_onefs::QuotaSpec {
        path: "/ifs/finance/ledger".into(),
        quota_type: "directory".into(),
        hard_bytes: Some(1 << 40),
        soft_bytes: None,
        advisory_bytes: None,
        ready: true,
    });
    let lie: scenarios::runner::ReportTamper = Arc::new(|rep: &mut orchestrator::Report| {
        for s in rep.steps.iter_mut() {
            if s.step == orchestrator::StepId::FailoverZoneQuotas {
                s.status = orchestrator::StepStatus::Succeeded;
            }
        }
    });
    let r = run_scenario(
        &scn,
        &DrillOptions {
            tamper_report: Some(lie),
            ..DrillOptions::default()
        },
    )
    .unwrap();
    let v = violated(&r, "I8");
    assert!(
        v.iter()
            .any(|m| m.contains("/ifs/finance/ledger") && m.contains("missing on dr")),
        "{v:?}"
    );
}

#[test]
fn i11_catches_a_removal_the_report_does_not_record() {
    // The admin turned the quota copy off and asked for the source quotas' removal: S1
    // allows it only with the definitions in the report. A report that drops them leaves
    // the quota existing nowhere.
    let text = base_az(
        "  []",
        "{data_integrity: true, quotas: false, remove_source_quotas: true}",
        SMB_CLIENT,
    )
    .replace("faults:\n  []", "faults: []");
    let mut scn = Scenario::parse(&text, "<breaker>").unwrap_or_else(|e| panic!("{e}\n{text}"));
    scn.world.clusters[0].quotas.push(sim_onefs::QuotaSpec {
        path: "/ifs/finance/ledger".into(),
        quota_type: "directory".into(),
        hard_bytes: Some(1 << 40),
        soft_bytes: None,
        advisory_bytes: None,
        ready: true,
    });
    let honest = run_scenario(&scn, &DrillOptions::default()).unwrap();
    assert!(
        honest
            .report
            .removed_config
            .iter()
            .any(|r| r.path == "/ifs/finance/ledger"),
        "{:?}",
        honest.report.removed_config
    );
    let i11 = honest.invariants.iter().find(|i| i.id == "I11").unwrap();
    assert!(i11.is_ok(), "{i11:?}");
    let forget: scenarios::runner::ReportTamper =
        Arc::new(|rep: &mut orchestrator::Report| rep.removed_config.clear());
    let r = run_scenario(
        &scn,
        &DrillOptions {
            tamper_report: Some(forget),
            ..DrillOptions::default()
        },
    )
    .unwrap();
    let v = violated(&r, "I11");
    assert!(
        v.iter()
            .any(|m| m.contains("/ifs/finance/ledger") && m.contains("exists on neither")),
        "{v:?}"
    );
}
