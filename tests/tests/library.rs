//! Every scenario in `scenarios/library/` runs in-process and meets its `expect` with all
//! checked invariants holding; and the specific skip/retry behaviours the walking skeleton
//! promises are asserted directly on the reports.

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
        let downstream =
            s.step != StepId::CacheSchedules && s.step != StepId::SyncData && !s.step.is_rollback();
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
    // No SyncIQ job ran at all.
    assert!(!r.audit.iter().any(|a| a.action == "sync.job.start"));
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
