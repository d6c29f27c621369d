//! Golden step traces: the exact order, statuses and virtual timings of library scenarios.
//! A change in scheduling, skip logic or the cost model shows up here as a diff to review
//! (`cargo insta review`, or `INSTA_UPDATE=always cargo test -p tests --test golden`).

use tests::{load, run};

fn compact(name: &str) -> String {
    let r = run(&load(name));
    let mut s = format!(
        "outcome: {}  makespan_ms: {}\n",
        r.report.outcome.as_str(),
        r.report.makespan_ms
    );
    if let Some(d) = &r.report.outcome_detail {
        s.push_str(&format!("detail: {d}\n"));
    }
    for u in &r.report.unavailable {
        s.push_str(&format!("unavailable: {}: {}\n", u.policy, u.reason));
    }
    for rc in &r.report.removed_config {
        s.push_str(&format!(
            "removed: {} {} on {}\n",
            rc.kind, rc.path, rc.cluster
        ));
    }
    for st in &r.report.steps {
        s.push_str(&format!(
            "{:>3} {:<4} {:<20} {:<6} {:<10} {:>9} {:>9}  {}\n",
            st.idx,
            st.seed_no,
            st.step.as_str(),
            st.policy
                .clone()
                .or_else(|| st.zone.as_ref().map(|z| format!("@{z}")))
                .unwrap_or_else(|| "-".into()),
            st.status.name(),
            st.start_ms.map(|v| v.to_string()).unwrap_or("-".into()),
            st.end_ms.map(|v| v.to_string()).unwrap_or("-".into()),
            match &st.status {
                orchestrator::StepStatus::Skipped { reason } => reason.short(),
                orchestrator::StepStatus::Failed { error } => error.clone(),
                orchestrator::StepStatus::NotApplicable { reason } => reason.clone(),
                _ => String::new(),
            }
        ));
    }
    s
}

#[test]
fn golden_happy_path() {
    insta::assert_snapshot!(compact("synciq-happy-3"));
}

/// DESIGN §8: a failed pre-sync skips nothing; the final sync carries hr's changes.
#[test]
fn golden_presync_fails() {
    insta::assert_snapshot!(compact("synciq-presync-fails"));
}

#[test]
fn golden_sync_fails() {
    insta::assert_snapshot!(compact("synciq-sync-fails"));
}

#[test]
fn golden_validation_blocks() {
    insta::assert_snapshot!(compact("synciq-validation-blocks"));
}

// Readiness (DESIGN §5): a warning blocks with step 3a, an error blocks at step 3; either
// way nothing is changed and the preparation is rolled back.
#[test]
fn golden_readiness_quota_scan_blocks() {
    insta::assert_snapshot!(compact("synciq-quota-scan-blocks"));
}

#[test]
fn golden_readiness_parity_drift_blocks() {
    insta::assert_snapshot!(compact("synciq-parity-drift-blocks"));
}

#[test]
fn golden_readiness_target_path_outside_zone() {
    insta::assert_snapshot!(compact("az-target-path-outside-zone"));
}

#[test]
fn golden_access_zone_happy_path() {
    insta::assert_snapshot!(compact("az-happy-dual"));
}

#[test]
fn golden_access_zone_gate_holds() {
    insta::assert_snapshot!(compact("az-zone-gate-clients"));
}

#[test]
fn golden_dfs() {
    insta::assert_snapshot!(compact("dfs-happy"));
}

// One golden trace per safety rule (DESIGN §2, docs/safety-rules.md).

#[test]
fn golden_s1_quota_copy_fails() {
    insta::assert_snapshot!(compact("synciq-quota-copy-fails"));
}

#[test]
fn golden_s2_synciq_spn_removal_fails() {
    insta::assert_snapshot!(compact("synciq-auto-spn-removal-fails"));
}

#[test]
fn golden_s2_synciq_names_stay_with_data() {
    insta::assert_snapshot!(compact("synciq-auto-sync-fails-names-stay"));
}

#[test]
fn golden_s3_access_zone_networking_rolled_back() {
    insta::assert_snapshot!(compact("az-networking-fails-rollback"));
}

#[test]
fn golden_s3_ip_pool_spn_removal_rolled_back() {
    insta::assert_snapshot!(compact("ippool-spn-removal-fails"));
}

#[test]
fn golden_s4_dfs_target_rename_fails() {
    insta::assert_snapshot!(compact("dfs-target-rename-fails"));
}

#[test]
fn golden_s4_dfs_sync_config_fails() {
    insta::assert_snapshot!(compact("dfs-sync-config-fails"));
}

#[test]
fn golden_s4_dfs_target_unreadable() {
    insta::assert_snapshot!(compact("dfs-target-unreadable"));
}

#[test]
fn golden_s4_s5_dfs_allow_write_fails() {
    insta::assert_snapshot!(compact("dfs-allow-write-fails"));
}

#[test]
fn golden_s5_policy_rollback() {
    insta::assert_snapshot!(compact("synciq-policy-rollback"));
}

#[test]
fn golden_ip_pool_other_pool_stays() {
    insta::assert_snapshot!(compact("ippool-other-pool-stays"));
}

// Every mode × {uncontrolled, failback after a controlled failover, full cycle}.

#[test]
fn golden_uncontrolled_synciq() {
    insta::assert_snapshot!(compact("synciq-uncontrolled"));
}

#[test]
fn golden_uncontrolled_dfs() {
    insta::assert_snapshot!(compact("dfs-uncontrolled"));
}

#[test]
fn golden_uncontrolled_access_zone() {
    insta::assert_snapshot!(compact("az-uncontrolled"));
}

#[test]
fn golden_uncontrolled_ip_pool() {
    insta::assert_snapshot!(compact("ippool-uncontrolled"));
}

#[test]
fn golden_failback_synciq() {
    insta::assert_snapshot!(compact("synciq-failback"));
}

#[test]
fn golden_failback_dfs() {
    insta::assert_snapshot!(compact("dfs-failback"));
}

#[test]
fn golden_failback_access_zone() {
    insta::assert_snapshot!(compact("az-failback"));
}

#[test]
fn golden_failback_ip_pool() {
    insta::assert_snapshot!(compact("ippool-failback"));
}

#[test]
fn golden_full_cycle_synciq() {
    insta::assert_snapshot!(compact("synciq-full-cycle"));
}

#[test]
fn golden_full_cycle_dfs() {
    insta::assert_snapshot!(compact("dfs-full-cycle"));
}

#[test]
fn golden_full_cycle_access_zone() {
    insta::assert_snapshot!(compact("az-full-cycle"));
}

#[test]
fn golden_full_cycle_ip_pool() {
    insta::assert_snapshot!(compact("ippool-full-cycle"));
}

// Rehearsal in every mode (DESIGN §2 "Other runs").

#[test]
fn golden_rehearsal_synciq() {
    insta::assert_snapshot!(compact("synciq-rehearsal"));
}

#[test]
fn golden_rehearsal_synciq_test_alias() {
    insta::assert_snapshot!(compact("synciq-rehearsal-test-alias"));
}

#[test]
fn golden_rehearsal_dfs() {
    insta::assert_snapshot!(compact("dfs-rehearsal"));
}

#[test]
fn golden_rehearsal_access_zone() {
    insta::assert_snapshot!(compact("az-rehearsal"));
}

#[test]
fn golden_rehearsal_access_zone_allow_write_fails() {
    insta::assert_snapshot!(compact("az-rehearsal-allow-write-fails"));
}

#[test]
fn golden_rehearsal_ip_pool() {
    insta::assert_snapshot!(compact("ippool-rehearsal"));
}

#[test]
fn golden_access_zone_dfs_shares() {
    insta::assert_snapshot!(compact("az-dfs-shares"));
}

// Seed 16+17 in Access Zone mode: quotas fail over per zone (S1 inside the step).
#[test]
fn golden_az_zone_quotas() {
    insta::assert_snapshot!(compact("az-zone-quotas"));
}

#[test]
fn golden_az_zone_quota_copy_fails() {
    insta::assert_snapshot!(compact("az-zone-quota-copy-fails"));
}

#[test]
fn golden_az_zone_quotas_resync_prep_fails() {
    insta::assert_snapshot!(compact("az-zone-quotas-resync-prep-fails"));
}

// The mode x case matrix of the library (see tests/tests/library.rs).
#[test]
fn golden_synciq_uncontrolled_cached_config() {
    insta::assert_snapshot!(compact("synciq-uncontrolled-cached-config"));
}

#[test]
fn golden_synciq_config_replication() {
    insta::assert_snapshot!(compact("synciq-config-replication"));
}

#[test]
fn golden_dfs_sync_fails() {
    insta::assert_snapshot!(compact("dfs-sync-fails"));
}

#[test]
fn golden_dfs_resync_prep_fails() {
    insta::assert_snapshot!(compact("dfs-resync-prep-fails"));
}

#[test]
fn golden_dfs_quota_copy_fails() {
    insta::assert_snapshot!(compact("dfs-quota-copy-fails"));
}

#[test]
fn golden_dfs_quota_scan_blocks() {
    insta::assert_snapshot!(compact("dfs-quota-scan-blocks"));
}

#[test]
fn golden_dfs_validation_blocks() {
    insta::assert_snapshot!(compact("dfs-validation-blocks"));
}

#[test]
fn golden_az_allow_write_fails() {
    insta::assert_snapshot!(compact("az-allow-write-fails"));
}

#[test]
fn golden_az_source_rename_fails() {
    insta::assert_snapshot!(compact("az-source-rename-fails"));
}

#[test]
fn golden_az_uncontrolled_cached_config() {
    insta::assert_snapshot!(compact("az-uncontrolled-cached-config"));
}

#[test]
fn golden_az_quota_scan_blocks() {
    insta::assert_snapshot!(compact("az-quota-scan-blocks"));
}

#[test]
fn golden_ippool_zone_gate() {
    insta::assert_snapshot!(compact("ippool-zone-gate"));
}

#[test]
fn golden_ippool_allow_write_fails() {
    insta::assert_snapshot!(compact("ippool-allow-write-fails"));
}

#[test]
fn golden_ippool_resync_prep_fails() {
    insta::assert_snapshot!(compact("ippool-resync-prep-fails"));
}

#[test]
fn golden_ippool_quota_copy_fails() {
    insta::assert_snapshot!(compact("ippool-quota-copy-fails"));
}

#[test]
fn golden_ippool_uncontrolled_cached_config() {
    insta::assert_snapshot!(compact("ippool-uncontrolled-cached-config"));
}

#[test]
fn golden_ippool_quota_scan_blocks() {
    insta::assert_snapshot!(compact("ippool-quota-scan-blocks"));
}

#[test]
fn golden_ippool_validation_blocks() {
    insta::assert_snapshot!(compact("ippool-validation-blocks"));
}

#[test]
fn golden_az_dfs_target_rename_fails() {
    insta::assert_snapshot!(compact("az-dfs-target-rename-fails"));
}

#[test]
fn golden_ippool_dfs_target_rename_fails() {
    insta::assert_snapshot!(compact("ippool-dfs-target-rename-fails"));
}

// Failback after an uncontrolled failover, every mode, and a failed returned resync-prep.

#[test]
fn golden_failback_after_uncontrolled_synciq() {
    insta::assert_snapshot!(compact("synciq-failback-after-uncontrolled"));
}

#[test]
fn golden_failback_after_uncontrolled_dfs() {
    insta::assert_snapshot!(compact("dfs-failback-after-uncontrolled"));
}

#[test]
fn golden_failback_after_uncontrolled_access_zone() {
    insta::assert_snapshot!(compact("az-failback-after-uncontrolled"));
}

#[test]
fn golden_failback_after_uncontrolled_ip_pool() {
    insta::assert_snapshot!(compact("ippool-failback-after-uncontrolled"));
}

#[test]
fn golden_failback_after_uncontrolled_resync_fails() {
    insta::assert_snapshot!(compact("synciq-failback-after-uncontrolled-resync-fails"));
}

/// Every library scenario has a golden trace: the ones without a named test above get a
/// snapshot named after the scenario (`golden__library-<name>.snap`), so a scenario cannot
/// join the library without its trace (in CI a missing snapshot fails).
#[test]
fn golden_every_other_library_scenario() {
    let src = include_str!("golden.rs");
    let named: std::collections::BTreeSet<&str> = src
        .split("compact(\"")
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .collect();
    let mut covered = 0;
    for path in tests::library_files() {
        let name = path.file_stem().unwrap().to_str().unwrap().to_string();
        if named.contains(name.as_str()) {
            continue;
        }
        insta::assert_snapshot!(format!("library-{name}"), compact(&name));
        covered += 1;
    }
    assert!(covered > 0, "every scenario has a named golden test");
}
