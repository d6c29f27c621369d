//! The SQLite journal: locks refuse a second run on the same policies, paused runs resume
//! with exactly the confirmed manual steps, a file journal survives being reopened, and
//! finished runs cannot be resumed.

use std::sync::Arc;

use orchestrator::journal::{Journal, JournalError, JournalOperator};
use orchestrator::runner::{self, RunError};
use orchestrator::AbsentOperator;
use orchestrator::{Outcome, StepStatus};
use scenarios::crash;
use sim_onefs::Sim;

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap()
}

#[test]
fn a_second_run_on_the_same_policies_is_refused_until_the_first_ends() {
    let scn = tests::load("synciq-happy-3");
    rt().block_on(async {
        let sim = Sim::new(&scn.world, scn.seed).unwrap();
        let journal = Journal::in_memory().unwrap();
        let clients = crash::clients(&sim, None).unwrap();
        let (plan, inv) = runner::prepare_journaled(&journal, "first", &clients, &scn.run)
            .await
            .unwrap();
        let err = runner::prepare_journaled(&journal, "second", &clients, &scn.run)
            .await
            .unwrap_err();
        let RunError::Journal(JournalError::Locked { key, run, .. }) = &err else {
            panic!("expected a lock refusal, got {err}");
        };
        assert_eq!(run, "first");
        assert!(key.starts_with("boston/policy/"), "{key}");
        assert!(err.to_string().contains("dr resume first"), "{err}");
        assert_eq!(journal.run("first").unwrap().locks.len(), 6);

        let report = runner::execute_journaled(
            &journal,
            "first",
            (plan, inv),
            clients.clone(),
            None,
            Arc::new(AbsentOperator),
            None,
        )
        .await
        .unwrap();
        assert_eq!(report.outcome, Outcome::Succeeded);
        let d = journal.run("first").unwrap();
        assert_eq!(d.row.status, "succeeded");
        assert!(d.locks.is_empty(), "locks released at the end");
        assert_eq!(d.report.as_ref(), Some(&report));
        // Every instance that ran has an intent, and every instance (not-applicable ones
        // included) a result, in the history.
        let events = journal.events("first").unwrap();
        let intents = events.iter().filter(|(k, _)| k == "intent").count();
        let results = events.iter().filter(|(k, _)| k == "result").count();
        let ran = report
            .steps
            .iter()
            .filter(|s| s.start_seq.is_some())
            .count();
        assert!(ran < report.steps.len(), "not-applicable steps are not run");
        assert_eq!(intents, ran);
        assert_eq!(results, report.steps.len());
        // A finished run cannot be resumed.
        let again = runner::resume(
            &journal,
            "first",
            clients,
            None,
            Arc::new(AbsentOperator),
            None,
        )
        .await
        .unwrap_err();
        assert!(again.to_string().contains("succeeded"), "{again}");
    });
}

#[test]
fn a_paused_run_resumes_with_exactly_the_confirmed_steps() {
    let scn = tests::load("synciq-manual-networking");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.sqlite");
    rt().block_on(async {
        let sim = Sim::new(&scn.world, scn.seed).unwrap();
        let journal = Journal::open(&path).unwrap();
        let (_, report) = runner::run_journaled(
            &journal,
            "net",
            crash::clients(&sim, None).unwrap(),
            None,
            &scn.run,
            Arc::new(AbsentOperator),
            None,
        )
        .await
        .unwrap();
        assert_eq!(report.outcome, Outcome::Paused);
        drop(journal);

        // A new process: reopen the file.
        let journal = Journal::open(&path).unwrap();
        assert_eq!(journal.run("net").unwrap().row.status, "paused");
        assert!(journal
            .confirm("net", &["no_such_step".to_string()])
            .is_err());
        // Confirm the waiting manual steps one at a time; each resume confirms exactly the
        // recorded ones and pauses at the next.
        let mut report = report;
        let mut confirmed_so_far: Vec<String> = Vec::new();
        for _ in 0..20 {
            if report.outcome != Outcome::Paused {
                break;
            }
            let waiting = report
                .steps
                .iter()
                .find(|s| {
                    matches!(
                        s.status,
                        StepStatus::Manual {
                            confirmed: false,
                            ..
                        }
                    )
                })
                .expect("a paused run waits for a manual step");
            let key = orchestrator::journal::confirmation_key(
                waiting.step.as_str(),
                waiting.policy.as_deref().or(waiting.zone.as_deref()),
            );
            journal.confirm("net", std::slice::from_ref(&key)).unwrap();
            confirmed_so_far.push(waiting.step.as_str().to_string());
            let op = JournalOperator::new(journal.confirmations("net").unwrap());
            report = runner::resume(
                &journal,
                "net",
                crash::clients(&sim, None).unwrap(),
                None,
                Arc::new(op),
                None,
            )
            .await
            .unwrap()
            .1;
            let confirmed: Vec<String> = report
                .steps
                .iter()
                .filter(|s| {
                    matches!(
                        s.status,
                        StepStatus::Manual {
                            confirmed: true,
                            ..
                        }
                    )
                })
                .map(|s| s.step.as_str().to_string())
                .collect();
            assert_eq!(confirmed, confirmed_so_far);
        }
        assert_eq!(report.outcome, Outcome::Succeeded);
        assert!(confirmed_so_far.len() >= 5, "{confirmed_so_far:?}");
        let d = journal.run("net").unwrap();
        assert_eq!(d.row.status, "succeeded");
        assert_eq!(d.confirmations.len(), confirmed_so_far.len());
        assert!(d.locks.is_empty());
    });
}

#[test]
fn journaled_run_equals_plain_run() {
    let scn = tests::load("synciq-sync-fails");
    let plain = tests::run(&scn);
    let ending = rt()
        .block_on(crash::run_with_crash(&scn, None))
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(
        crash::ReportSummary::of(&plain.report),
        ending.report,
        "the journal changes nothing about a run"
    );
}
