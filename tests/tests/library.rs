//! Every scenario in `scenarios/library/` runs in-process and meets its `expect` with all
//! checked invariants holding; and the specific skip/retry behaviours the walking skeleton
//! promises are asserted directly on the reports.
//!
//! The library as a matrix, mode × case (each also has a golden trace in `golden.rs`,
//! except where noted in that file):
//!
//! | case | SyncIQ | DFS | Access Zone | IP Pool |
//! |---|---|---|---|---|
//! | happy | synciq-happy-3 | dfs-happy | az-happy-dual, az-happy-single | ippool-happy |
//! | skip: sync fails | synciq-sync-fails | dfs-sync-fails | az-zone-gate-clients | ippool-zone-gate |
//! | zone gate | — (a) | — (a) | az-zone-gate-clients | ippool-zone-gate |
//! | skip: allow-write fails | synciq-allow-write-fails | dfs-allow-write-fails | az-allow-write-fails | ippool-allow-write-fails |
//! | skip: resync-prep fails | synciq-resync-prep-fails | dfs-resync-prep-fails | az-zone-quotas-resync-prep-fails | ippool-resync-prep-fails |
//! | S1 | synciq-quota-copy-fails | dfs-quota-copy-fails | az-zone-quota-copy-fails, az-zone-quotas | ippool-quota-copy-fails |
//! | S2 | synciq-auto-spn-removal-fails, synciq-auto-sync-fails-names-stay | — (b) | az-source-rename-fails, az-ad-unreachable | ippool-spn-removal-fails |
//! | S3 | — (c) | — (c) | az-networking-fails-rollback, az-source-rename-fails | ippool-spn-removal-fails |
//! | S4 | — (d) | dfs-sync-config-fails, dfs-target-rename-fails | az-dfs-target-rename-fails, az-dfs-shares | ippool-dfs-target-rename-fails |
//! | S5 | synciq-policy-rollback, synciq-policy-failure-hold | dfs-allow-write-fails, dfs-sync-fails | az-allow-write-fails, az-dfs-target-rename-fails | ippool-allow-write-fails, ippool-other-pool-stays |
//! | uncontrolled, cached config | synciq-uncontrolled-cached-config | dfs-uncontrolled | az-uncontrolled-cached-config | ippool-uncontrolled-cached-config |
//! | block on warning (3a) | synciq-quota-scan-blocks, synciq-parity-drift-blocks | dfs-quota-scan-blocks | az-quota-scan-blocks | ippool-quota-scan-blocks |
//! | validation error | synciq-validation-blocks | dfs-validation-blocks | az-target-path-outside-zone, az-spn-collision | ippool-validation-blocks |
//! | config replication | synciq-config-replication | — (e) | — (e) | — (e) |
//! | failback after uncontrolled | synciq-failback-after-uncontrolled, synciq-failback-after-uncontrolled-resync-fails | dfs-failback-after-uncontrolled | az-failback-after-uncontrolled, az-dfs-failback-after-uncontrolled | ippool-failback-after-uncontrolled |
//! | pre-sync fails (option presync) | synciq-presync-fails | — (f) | — (f) | — (f) |
//!
//! Where a rule cannot apply in a mode:
//! * (a) The zone cut-over gate exists only in Access Zone / IP Pool mode (DESIGN §2): in
//!   SyncIQ and DFS mode every policy cuts over on its own, and a failed sync is the
//!   per-policy skip rule (the "sync fails" row).
//! * (b) S2 (names follow writable data) is about client-facing SmartConnect names, SPNs
//!   and DNS. DFS mode moves none (its networking steps are `not_applicable`: DFS clients
//!   follow referrals); the DFS equivalent, never referring clients to a copy that cannot
//!   serve them, is S4.
//! * (c) S3 (a zone cut-over is all or nothing until data is writable) needs networking
//!   that runs before `allow_write`, which only zone modes have. In SyncIQ mode networking
//!   runs after the allow-writes (S2 keeps the names home when one failed); DFS mode has no
//!   networking.
//! * (d) S4 is about DFS shares: SyncIQ mode has no DFS rename step (`not_applicable`).
//! * (e) Config replication (`dr config-sync`) runs the same per-policy jobs in every mode;
//!   its scenario is mode-independent, and step 5 of every mode's scenarios runs it.
//! * (f) The pre-sync runs the same step in every mode (before the lock, its failure skips
//!   nothing); every controlled failover and failback of the library runs it, on by
//!   default, and the chaos generator injects `syncjob_fail` into it in every mode.

use orchestrator::{Outcome, SkipReason, StepId, StepStatus};
use tests::{assert_passed, library_files, load, run};

#[test]
fn every_library_scenario_passes() {
    let files = library_files();
    assert!(files.len() >= 8, "library has {} scenarios", files.len());
    for f in files {
        let scn = scenarios::Scenario::load(&f).unwrap_or_else(|e| panic!("{e}"));
        let r = run(&scn);
        assert_passed(&r);
    }
}

#[test]
fn happy_path_all_steps_succeed() {
    let r = run(&load("synciq-happy-3"));
    assert_passed(&r);
    assert_eq!(r.report.outcome, Outcome::Succeeded);
    assert!(r
        .report
        .steps
        .iter()
        .all(|s| s.status == StepStatus::Succeeded
            || matches!(s.status, StepStatus::NotApplicable { .. })));
    // S6: every seed step is in the report, the ones with nothing to do with their reason.
    let na = |id: StepId| {
        r.report.steps.iter().any(|s| {
            s.step == id
                && matches!(&s.status, StepStatus::NotApplicable { reason } if !reason.is_empty())
        })
    };
    assert!(na(StepId::DfsRenameShares) && na(StepId::DataIntegrityLock));
    for p in ["eng", "hr", "ops"] {
        for step in [
            StepId::CacheSchedules,
            StepId::SyncData,
            StepId::AllowWrite,
            StepId::ResyncPrep,
            StepId::RestoreSchedule,
            StepId::RunMirror,
        ] {
            assert!(
                r.report.find(step, Some(p)).is_some(),
                "{step}[{p}] planned"
            );
        }
    }
    // 1b cached the schedules and 11 put them on the mirrors.
    assert_eq!(r.report.cached_schedules["eng"], "every 15 minutes");
    assert_eq!(r.report.cached_schedules["ops"], "");
}

#[test]
fn sync_failure_skips_only_that_policy() {
    let r = run(&load("synciq-sync-fails"));
    assert_passed(&r);
    assert_eq!(r.report.outcome, Outcome::Partial);
    for s in &r.report.steps {
        // Every hr step after the failed sync is downstream of it in hr's chain.
        // (The pre-sync ran before the lock, upstream of everything.)
        let downstream = !matches!(
            s.step,
            StepId::Presync | StepId::CacheSchedules | StepId::SyncData
        ) && !s.step.is_rollback();
        match s.policy.as_deref() {
            Some("hr") if downstream => assert_eq!(
                s.status,
                StepStatus::Skipped {
                    reason: SkipReason::UpstreamFailed {
                        step: StepId::SyncData,
                        policy: "hr".into()
                    }
                },
                "{:?}",
                s
            ),
            Some("hr") if s.step == StepId::SyncData => {
                assert!(matches!(s.status, StepStatus::Failed { .. }))
            }
            _ if matches!(s.status, StepStatus::NotApplicable { .. }) => {}
            // S5: hr's preparation comes off the source, which still serves it.
            _ if s.step.is_rollback() => {
                assert_eq!(s.policy.as_deref(), Some("hr"));
                assert_eq!(s.status, StepStatus::Succeeded, "{:?}", s);
            }
            _ => assert_eq!(s.status, StepStatus::Succeeded, "{:?}", s),
        }
    }
}

#[test]
fn allow_write_failure_skips_downstream_of_that_policy() {
    let r = run(&load("synciq-allow-write-fails"));
    assert_passed(&r);
    let eng_resync = r.report.find(StepId::ResyncPrep, Some("eng")).unwrap();
    assert_eq!(
        eng_resync.status,
        StepStatus::Skipped {
            reason: SkipReason::UpstreamFailed {
                step: StepId::AllowWrite,
                policy: "eng".into()
            }
        }
    );
    assert_eq!(
        r.report.find(StepId::RunMirror, Some("hr")).unwrap().status,
        StepStatus::Succeeded
    );
}

#[test]
fn retries_carry_a_503_burst() {
    let r = run(&load("synciq-503-burst"));
    assert_passed(&r);
    assert_eq!(r.report.outcome, Outcome::Succeeded);
    // The faults really fired: the audit log records injected 503s.
    let injected = r
        .audit
        .iter()
        .filter(|a| a.action == "fault.inject")
        .count();
    assert!(
        injected >= 4,
        "expected the 503 faults to fire, saw {injected}"
    );
}

#[test]
fn validation_failure_blocks_and_rolls_back() {
    let r = run(&load("synciq-validation-blocks"));
    assert_passed(&r);
    assert_eq!(r.report.outcome, Outcome::Blocked);
    // No SyncIQ job ran but the pre-syncs before the lock (what a scheduled sync does:
    // the target copy stays read-only, users see no change).
    assert!(r
        .audit
        .iter()
        .filter(|a| a.action == "sync.job.start")
        .all(|a| a.step.as_deref() == Some("presync")));
    // The cached schedule went back on the source policy.
    assert!(r
        .report
        .steps
        .iter()
        .any(|s| s.step == StepId::RollbackSchedules && s.status == StepStatus::Succeeded));
}

#[test]
fn the_normative_examples_pass_unchanged() {
    let dir = tests::repo_root().parent().unwrap().join("shared/examples");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        // The examples live beside the repository checkout (../shared); CI runs them too.
        eprintln!("skipping: {} not present", dir.display());
        return;
    };
    let mut n = 0;
    for e in entries.flatten() {
        let path = e.path();
        if path.extension().is_some_and(|x| x == "yaml") {
            let scn = scenarios::Scenario::load(&path).unwrap_or_else(|e| panic!("{e}"));
            assert_passed(&run(&scn));
            n += 1;
        }
    }
    assert!(n >= 2, "expected the normative examples, found {n}");
}

/// Uncontrolled zone-mode failover: the source rename is skipped as source_unreachable, the
/// source's SPNs come off its machine account through the target cluster's AD provider
/// (audited on the target, naming the source's account), the names move, and the report
/// says the returned source would still answer them.
#[test]
fn uncontrolled_zone_modes_move_names_with_the_source_down() {
    for name in ["az-uncontrolled", "ippool-uncontrolled"] {
        let r = run(&load(name));
        assert_passed(&r);
        let find = |id: StepId| r.report.steps.iter().find(|s| s.step == id).unwrap();
        assert_eq!(
            find(StepId::RenameSourceSmartconnect).status,
            StepStatus::Skipped {
                reason: SkipReason::SourceUnreachable
            },
            "{name}"
        );
        let spns = find(StepId::RemoveSourceSpns);
        assert!(spns.status == StepStatus::Succeeded && spns.acted, "{name}");
        let from = r.report.from.clone();
        assert!(
            r.audit.iter().any(|a| a.action == "ad.spns.update"
                && a.cluster == r.report.to
                && a.step.as_deref() == Some("remove_source_spns")
                && a.detail["account"] == serde_json::json!(from)
                && a.detail["removed"]
                    .as_array()
                    .is_some_and(|x| !x.is_empty())),
            "{name}: the source account's SPNs edited through the target"
        );
        assert_eq!(
            find(StepId::MoveSmartconnectToTarget).status,
            StepStatus::Succeeded
        );
        assert!(
            r.report
                .warnings
                .iter()
                .any(|w| w.contains("still carries") && w.contains(&from)),
            "{name}: {:?}",
            r.report.warnings
        );
    }
}

/// Uncontrolled DFS failover: the target's inactive copy becomes the active share although
/// the source's cannot be renamed.
#[test]
fn uncontrolled_dfs_activates_the_target_share() {
    let r = run(&load("dfs-uncontrolled"));
    assert_passed(&r);
    let dfs = r
        .report
        .find(StepId::DfsRenameShares, Some("projects"))
        .unwrap();
    assert!(dfs.status == StepStatus::Succeeded && dfs.acted);
    assert!(r.audit.iter().any(|a| a.cluster == "dr"
        && a.step.as_deref() == Some("dfs_rename_shares")
        && a.result == "ok"));
    assert!(!r
        .audit
        .iter()
        .any(|a| a.cluster == "prod" && a.step.as_deref() == Some("dfs_rename_shares")));
}

#[test]
fn zone_quotas_follow_only_the_data_that_failed_over() {
    // Access Zone mode moves quotas per zone; the per-policy quota steps do not apply.
    let r = run(&load("az-zone-quotas"));
    assert_passed(&r);
    let na = |id: StepId| {
        r.report
            .steps
            .iter()
            .any(|s| s.step == id && matches!(s.status, StepStatus::NotApplicable { .. }))
    };
    assert!(na(StepId::FailoverQuotas) && na(StepId::RemoveSourceQuotas));
    assert_eq!(
        r.report.removed_config.len(),
        4,
        "{:?}",
        r.report.removed_config
    );
    // One policy's resync-prep failed: its quota stays on the source (which still serves
    // its data); the other policy's quota still follows its data.
    let r = run(&load("az-zone-quotas-resync-prep-fails"));
    assert_passed(&r);
    let removed: Vec<&str> = r
        .report
        .removed_config
        .iter()
        .map(|c| c.path.as_str())
        .collect();
    assert_eq!(removed, ["/ifs/finance/ledger"]);
    // S1: no copy read back, nothing removed.
    let r = run(&load("az-zone-quota-copy-fails"));
    assert_passed(&r);
    assert!(r.report.removed_config.is_empty());
    let q = r
        .report
        .steps
        .iter()
        .find(|s| s.step == StepId::FailoverZoneQuotas)
        .unwrap();
    assert!(matches!(q.status, StepStatus::Failed { .. }), "{q:?}");
}

/// Failback after an uncontrolled failover, every mode: the plan detects the returned
/// source from the clusters' state (no flag in the run spec), fences it first, makes each
/// mirror with resync-prep there, and ends as a controlled failback does: each original
/// policy re-enabled on the returned source with the schedule the fence held.
#[test]
fn failback_after_uncontrolled_every_mode() {
    for (name, to, policies) in [
        (
            "synciq-failback-after-uncontrolled",
            "boston",
            &["eng", "hr"][..],
        ),
        ("dfs-failback-after-uncontrolled", "prod", &["projects"][..]),
        (
            "az-failback-after-uncontrolled",
            "prod",
            &["finance-ledger"][..],
        ),
        (
            "ippool-failback-after-uncontrolled",
            "boston",
            &["eng-artifacts"][..],
        ),
    ] {
        let scn = load(name);
        assert!(
            scn.run.controlled,
            "{name}: the failback itself is an ordinary (controlled) run"
        );
        let r = run(&scn);
        assert_passed(&r);
        assert_eq!(r.report.outcome, Outcome::Succeeded, "{name}");
        let returned = r.plan.returned.as_ref().expect("returned source detected");
        assert_eq!(returned.cluster, to, "{name}");
        assert!(r
            .plan
            .render()
            .contains("returned after an uncontrolled failover"));
        assert!(r
            .report
            .warnings
            .iter()
            .any(|w| w.contains("returned after an uncontrolled failover")));
        // The fence is the first instance and everything waits for it.
        assert_eq!(r.plan.steps[0].step, StepId::FenceReturnedSource, "{name}");
        assert!(r
            .plan
            .steps
            .iter()
            .skip(1)
            .filter(|s| s.not_applicable.is_none())
            .all(|s| r.plan.ancestors(s.idx).contains(&0)));
        for orig in policies {
            let mirror = format!("{orig}_mirror");
            assert_eq!(returned.original_of(&mirror), Some(*orig));
            for step in [
                StepId::ReturnedResyncPrep,
                StepId::SyncData,
                StepId::AllowWrite,
                StepId::ResyncPrep,
                StepId::RestoreSchedule,
                StepId::RunMirror,
            ] {
                let s = r.report.find(step, Some(&mirror)).expect("planned");
                assert_eq!(s.status, StepStatus::Succeeded, "{name}: {step}[{mirror}]");
            }
            // The fence held the original's schedule; the failback put it back on it.
            let held = &r.report.cached_schedules[*orig];
            assert!(!held.is_empty(), "{name}: {orig}'s schedule held");
            let restore = r
                .report
                .find(StepId::RestoreSchedule, Some(&mirror))
                .unwrap();
            assert!(
                restore
                    .detail
                    .as_deref()
                    .is_some_and(|d| d.contains(held.as_str())),
                "{name}: {restore:?}"
            );
        }
    }
}

/// Skip semantics: the returned source's resync-prep fails for hr; every later step of
/// hr_mirror is skipped for it, eng fails back.
#[test]
fn failed_returned_resync_prep_skips_only_its_policy() {
    let r = run(&load("synciq-failback-after-uncontrolled-resync-fails"));
    assert_passed(&r);
    assert_eq!(r.report.outcome, Outcome::Partial);
    for s in r.report.steps.iter().filter(|s| !s.step.is_rollback()) {
        match s.policy.as_deref() {
            Some("hr_mirror")
                if s.step != StepId::ReturnedResyncPrep && s.step != StepId::CacheSchedules =>
            {
                assert_eq!(
                    s.status,
                    StepStatus::Skipped {
                        reason: SkipReason::UpstreamFailed {
                            step: StepId::ReturnedResyncPrep,
                            policy: "hr_mirror".into()
                        }
                    },
                    "{s:?}"
                )
            }
            Some("eng_mirror") => assert_eq!(s.status, StepStatus::Succeeded, "{s:?}"),
            _ => {}
        }
    }
}

/// The fence is a gate: if the returned source cannot be fenced, nothing else runs (its
/// names would be answered by two clusters, its stale copy could take writes).
#[test]
fn failed_fence_blocks_the_failback() {
    let mut scn = load("az-failback-after-uncontrolled");
    scn.faults = yaml_serde::from_str(
        "- when: {step: fence_returned_source}\n  effect: {http: {status: 500, count: 100}}\n",
    )
    .unwrap();
    scn.expect = Default::default();
    let r = run(&scn);
    assert!(
        r.invariants.iter().all(|i| !i.is_violated()),
        "{:?}",
        r.invariants
    );
    assert_eq!(r.report.outcome, Outcome::Blocked);
    let fence = r.report.find(StepId::FenceReturnedSource, None).unwrap();
    assert!(matches!(fence.status, StepStatus::Failed { .. }));
    let resync = r
        .report
        .find(StepId::ReturnedResyncPrep, Some("finance-ledger_mirror"))
        .unwrap();
    assert_eq!(
        resync.status,
        StepStatus::Skipped {
            reason: SkipReason::ValidationFailed {
                step: StepId::FenceReturnedSource
            }
        }
    );
}

/// Why a DFS client's writes were lost in a failback after an uncontrolled failover: a DFS
/// client takes the first referral target whose share answers, so once prod is back with
/// its share still active (the uncontrolled failover could not rename it) the client
/// writes to prod's stale copy, and resync-prep on prod discards those writes. The fence
/// closes that from the run's start; a source that returns earlier, while clients run, has
/// those writes lost before any run began — and the judge (I4) says so.
#[test]
fn dfs_writes_on_an_unfenced_returned_source_are_flagged() {
    let mut scn = load("dfs-failback-after-uncontrolled");
    assert_passed(&run(&scn));
    scn.prelude_faults.extend(
        yaml_serde::from_str::<Vec<sim_onefs::FaultRule>>(
            "- when: {at: 3s, cluster: prod}\n  effect: cluster_up\n",
        )
        .unwrap(),
    );
    let early = run(&scn);
    let i4 = early.invariants.iter().find(|i| i.id == "I4").unwrap();
    assert!(i4.is_violated(), "{i4:?}");
}

/// Access Zone failback after an uncontrolled failover with DFS data in the zone: the fence
/// hides every share of the returned source that the failed-over side also serves (a zone's
/// DFS shares cannot be told from its ordinary ones once the uncontrolled failover activated
/// the target's copies), so the DFS client, whose first referral target is the returned
/// source, writes nothing there until the failback's own DFS switch brings the share home.
#[test]
fn zone_mode_fence_hides_the_returned_sources_dfs_shares() {
    let r = run(&load("az-dfs-failback-after-uncontrolled"));
    assert_passed(&r);
    let fence = r.report.find(StepId::FenceReturnedSource, None).unwrap();
    let detail = fence.detail.clone().unwrap_or_default();
    for hidden in [
        "prod:projects → igls-dfs-projects",
        "prod:ledger → igls-dfs-ledger",
    ] {
        assert!(detail.contains(hidden), "{hidden} not in {detail}");
    }
    // Sim times of the fence's and the DFS switch's last changes (audit log).
    let last_change = |step: &str, policy: Option<&str>| {
        r.audit
            .iter()
            .filter(|a| a.step.as_deref() == Some(step) && a.policy.as_deref() == policy)
            .map(|a| a.t_ms)
            .max()
            .unwrap_or_else(|| panic!("{step} changed nothing"))
    };
    let fenced_ms = last_change("fence_returned_source", None);
    let switched_ms = last_change("dfs_rename_shares", Some("finance-projects_mirror"));
    // The DFS client kept trying while prod was fenced (dr's lock refuses it), and no
    // write of it was taken by prod, whose share answered first before the fence.
    let tries: Vec<_> = r
        .clients
        .iter()
        .filter(|e| e.client == "ws-201" && e.t_ms > fenced_ms && e.t_ms < switched_ms)
        .collect();
    assert!(
        !tries.is_empty(),
        "the DFS client did not try to write while prod was fenced"
    );
    assert!(
        tries
            .iter()
            .all(|e| !(e.ok && e.cluster.as_deref() == Some("prod"))),
        "a DFS write reached the fenced returned source: {tries:?}"
    );
}

/// `verify_test_access`'s own SPN check (not the AD read error of
/// `az-rehearsal-test-alias-spn-fails`): the domain answers throughout, but the target
/// refuses the SPN write of `add_test_alias`, so the alias resolves and the SPN is simply
/// missing. Test access must not be reported as verified.
#[test]
fn rehearsal_verify_fails_when_the_test_alias_spn_is_missing() {
    let mut scn = load("az-rehearsal-test-alias-spn-fails");
    scn.faults = yaml_serde::from_str(
        "- when: {step: add_test_alias, cluster: dr, method: PUT, route: auth/providers/ads}\n  effect: {http: {status: 500, count: 100}}\n",
    )
    .unwrap();
    let r = run(&scn);
    assert_passed(&r);
    let verify = r
        .report
        .steps
        .iter()
        .find(|s| s.step == StepId::VerifyTestAccess)
        .unwrap();
    match &verify.status {
        StepStatus::Failed { error } => {
            assert!(error.contains("is not registered on"), "{error}")
        }
        other => panic!("verify_test_access {other:?}"),
    }
}

/// A zone's DFS share has its inactive copy `igls-dfs-X` on the target: readiness must not
/// call that config drift, or block-on-warning would refuse every zone failover with DFS
/// data inside the zone.
#[test]
fn zone_dfs_inactive_copies_are_not_parity_drift() {
    let mut scn = load("az-dfs-shares");
    scn.run.options.block_on_warning = true;
    let r = run(&scn);
    assert_passed(&r);
    assert_eq!(r.report.outcome, Outcome::Succeeded);
    assert!(
        r.report
            .warnings
            .iter()
            .all(|w| !w.contains("parity drift")),
        "{:?}",
        r.report.warnings
    );
}

/// DESIGN §8, option `presync`: a failed pre-sync skips nothing. The policy's final sync
/// after the lock carries all its changes and the policy fails over; the report records the
/// pre-sync `failed` and warns, naming the policy and the longer outage; the outcome is
/// that of the rest of the run.
#[test]
fn failed_presync_skips_nothing_and_warns() {
    let r = run(&load("synciq-presync-fails"));
    assert_passed(&r);
    assert_eq!(r.report.outcome, Outcome::Succeeded);
    let status = |id: StepId, p: &str| {
        r.report
            .steps
            .iter()
            .find(|s| s.step == id && s.policy.as_deref() == Some(p))
            .map(|s| s.status.clone())
            .unwrap_or_else(|| panic!("{id}[{p}] missing"))
    };
    assert!(matches!(
        status(StepId::Presync, "hr"),
        StepStatus::Failed { .. }
    ));
    assert!(!r
        .report
        .steps
        .iter()
        .any(|s| matches!(s.status, StepStatus::Skipped { .. })));
    for id in [StepId::SyncData, StepId::AllowWrite, StepId::RunMirror] {
        assert_eq!(status(id, "hr"), StepStatus::Succeeded, "{id}[hr]");
    }
    assert!(
        r.report
            .warnings
            .iter()
            .any(|w| w.contains("pre-sync of hr failed") && w.contains("outage")),
        "{:?}",
        r.report.warnings
    );
}

/// DESIGN §8: with a backlog of unsynced data at the start, the clients' outage window
/// (virtual time, from their last good write on the source to their first on the target)
/// is shorter with the pre-sync than without it: the final sync after the lock moves only
/// what was written while the pre-sync ran.
#[test]
fn presync_shortens_the_outage_of_a_world_with_a_backlog() {
    let outage = |presync: bool| {
        let mut scn = load("synciq-presync-fails");
        scn.faults.clear();
        scn.expect.steps.clear();
        scn.run.options.presync = presync;
        let r = run(&scn);
        assert_passed(&r);
        let n = r
            .report
            .steps
            .iter()
            .filter(|s| s.step == StepId::Presync && s.status == StepStatus::Succeeded)
            .count();
        assert_eq!(n, if presync { 2 } else { 0 });
        let windows: Vec<u64> = r.outages.iter().filter_map(|o| o.window_ms).collect();
        assert_eq!(windows.len(), 2, "every client has an outage window");
        windows.into_iter().max().unwrap_or(0)
    };
    let (with, without) = (outage(true), outage(false));
    assert!(
        with < without,
        "outage with pre-sync {with} ms, without {without} ms"
    );
}
