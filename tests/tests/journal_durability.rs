//! The journal keeps its write-ahead promise under real faults, and a run has one executor:
//! * a journal that cannot be written mid-run (locked by another connection, or deleted)
//!   stops the run — no step acts after the failure, every step that acted had its intent on
//!   disk — and `resume` continues it once the journal is writable again;
//! * a second executor (`resume` in another process or task) is refused while the first is
//!   alive, and takes the run over once the owner died (`kill -9` of a lock holder);
//! * a SyncIQ job that finished while the orchestrator was down is adopted from its report on
//!   resume, not run a second time.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use orchestrator::journal::{Journal, JournalError};
use orchestrator::runner::{self, RunError};
use orchestrator::{AbsentOperator, Observer, Outcome, RunEvent, StepId, StepRecord};
use scenarios::crash::{self, CrashPoint};
use sim_onefs::{FaultMatch, Sim};

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap()
}

type Key = (String, Option<String>);

/// (step, policy) of every intent the journal holds for `run`.
fn intents(journal: &Journal, run: &str) -> BTreeSet<Key> {
    journal
        .events(run)
        .unwrap()
        .into_iter()
        .filter(|(k, _)| k == "intent")
        .map(|(_, p)| {
            let r: StepRecord = serde_json::from_str(&p).unwrap();
            (r.step.as_str().to_string(), r.policy)
        })
        .collect()
}

/// (step, policy) of every change the clusters' audit logs attribute to `run`.
fn acted(sim: &Sim, run: &str) -> BTreeSet<Key> {
    sim.audit_log()
        .into_iter()
        .filter(|a| a.run.as_deref() == Some(run) && a.actor != "fault")
        .filter_map(|a| a.step.map(|s| (s, a.policy)))
        .collect()
}

/// How many SyncIQ jobs each (policy, action) ran, per the audit log.
fn job_starts(sim: &Sim) -> Vec<(String, usize)> {
    let mut n: std::collections::BTreeMap<String, usize> = Default::default();
    for a in sim.audit_log() {
        if a.action == "sync.job.start" {
            // Per step: the pre-sync and the final sync each run one `run` job of a policy.
            let step = a.step.as_deref().unwrap_or("-");
            *n.entry(format!("{step} {} {}", a.object, a.detail))
                .or_default() += 1;
        }
    }
    n.into_iter().filter(|(_, c)| *c > 1).collect()
}

/// Stop the run in the middle: `break_journal` runs once, from the observer, right after the
/// journal recorded the intent of the first `allow_write`.
fn stops_when(
    scn_name: &str,
    break_journal: impl Fn(&std::path::Path) + Send + Sync + 'static,
    repair: impl FnOnce(&std::path::Path),
) {
    let scn = tests::load(scn_name);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.sqlite");
    rt().block_on(async {
        let sim = Sim::new(&scn.world, scn.seed).unwrap();
        let journal = Journal::open(&path).unwrap();
        let done = Arc::new(Mutex::new(false));
        let (d2, p2) = (done.clone(), path.clone());
        let observer: Observer = Arc::new(move |ev: &RunEvent| {
            if let RunEvent::StepStarted(r) = ev {
                let mut d = d2.lock().unwrap();
                if r.step == StepId::AllowWrite && !*d {
                    *d = true;
                    break_journal(&p2);
                }
            }
        });
        let err = runner::run_journaled(
            &journal,
            "dur",
            crash::clients(&sim, None).unwrap(),
            None,
            &scn.run,
            Arc::new(AbsentOperator),
            Some(observer),
        )
        .await
        .unwrap_err();
        let RunError::JournalStopped { report, why, .. } = &err else {
            panic!("expected the journal to stop the run, got {err}");
        };
        assert_eq!(report.outcome, Outcome::Aborted, "{why}");
        assert!(
            err.to_string().contains("dr resume dur"),
            "the error says how to go on: {err}"
        );
        assert!(
            report
                .steps
                .iter()
                .any(|s| s.status == orchestrator::StepStatus::Pending),
            "steps after the failure never started"
        );
        repair(&path);
        // Every change a cluster saw came from a step whose intent is on disk.
        let journal = Journal::open(&path).unwrap();
        let on_disk = intents(&journal, "dur");
        let acted_now = acted(&sim, "dur");
        let unjournaled: Vec<&Key> = acted_now.difference(&on_disk).collect();
        assert!(
            unjournaled.is_empty(),
            "steps acted without an intent on disk: {unjournaled:?}"
        );
        assert_eq!(journal.run("dur").unwrap().row.status, "running");

        // Writable again: the run continues to the end, no finished job run twice.
        let (_, report) = runner::resume(
            &journal,
            "dur",
            crash::clients(&sim, None).unwrap(),
            None,
            Arc::new(AbsentOperator),
            None,
        )
        .await
        .unwrap();
        assert_eq!(report.outcome, Outcome::Succeeded);
        assert_eq!(job_starts(&sim), vec![], "no job ran twice");
    });
}

#[test]
fn a_journal_locked_by_another_connection_stops_the_run_and_resume_continues() {
    let blocker: Arc<Mutex<Option<rusqlite::Connection>>> = Arc::default();
    let b2 = blocker.clone();
    stops_when(
        "synciq-happy-3",
        move |path| {
            // Another process holds the database's write lock (longer than the journal's
            // busy timeout).
            let c = rusqlite::Connection::open(path).unwrap();
            c.execute_batch("BEGIN EXCLUSIVE").unwrap();
            *b2.lock().unwrap() = Some(c);
        },
        move |_| {
            blocker.lock().unwrap().take();
        },
    );
}

#[test]
fn a_journal_deleted_mid_run_stops_the_run() {
    type Saved = Vec<(std::path::PathBuf, Vec<u8>)>;
    let saved: Arc<Mutex<Saved>> = Arc::default();
    let s2 = saved.clone();
    stops_when(
        "synciq-happy-3",
        move |path| {
            // Moved away (an admin's cleanup, a full-disk rotation): keep a copy to restore.
            for ext in ["", "-wal", "-shm"] {
                let p = std::path::PathBuf::from(format!("{}{ext}", path.display()));
                if let Ok(b) = std::fs::read(&p) {
                    s2.lock().unwrap().push((p.clone(), b));
                    std::fs::remove_file(&p).unwrap();
                }
            }
        },
        move |_| {
            for (p, b) in saved.lock().unwrap().drain(..) {
                std::fs::write(p, b).unwrap();
            }
        },
    );
}

#[test]
fn a_run_has_one_executor_and_a_dead_owners_run_is_taken_over() {
    let scn = tests::load("synciq-happy-3");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.sqlite");
    rt().block_on(async {
        let sim = Sim::new(&scn.world, scn.seed).unwrap();
        let journal = Journal::open(&path).unwrap();
        let clients = crash::clients(&sim, None).unwrap();
        let prepared = runner::prepare_journaled(&journal, "one", &clients, &scn.run)
            .await
            .unwrap();
        // The first executor is running the run (a task; its first steps are under way).
        let j1 = journal.clone();
        let c1 = clients.clone();
        let first = tokio::spawn(async move {
            runner::execute_journaled(
                &j1,
                "one",
                prepared,
                c1,
                None,
                Arc::new(AbsentOperator),
                None,
            )
            .await
        });
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        assert!(!first.is_finished());
        // A second executor — another handle on the file, as `dr resume` in another process
        // would open it — is refused.
        let other = Journal::open(&path).unwrap();
        let err = runner::resume(
            &other,
            "one",
            clients.clone(),
            None,
            Arc::new(AbsentOperator),
            None,
        )
        .await
        .unwrap_err();
        let RunError::Journal(JournalError::Owned { owner, .. }) = &err else {
            panic!("expected an ownership refusal, got {err}");
        };
        assert!(
            owner.contains(&format!("pid {}", std::process::id())),
            "{owner}"
        );
        let report = first.await.unwrap().unwrap();
        assert_eq!(report.outcome, Outcome::Succeeded);
        // Ended: the run can be owned again (and is refused only as finished).
        drop(other.own("one").unwrap());
    });

    // An owner that dies (kill -9) releases the run at once: the OS drops its lock.
    let owner_file = dir.path().join("journal.sqlite.two.owner");
    std::fs::write(&owner_file, "pid ? on another host").unwrap();
    // --no-fork: the lock holder is the process we kill (not a child that would keep it).
    let mut holder = std::process::Command::new("flock")
        .arg("--no-fork")
        .arg(&owner_file)
        .args(["sleep", "60"])
        .spawn()
        .expect("flock(1) runs");
    let journal = Journal::open(&path).unwrap();
    let mut refused = false;
    for _ in 0..200 {
        match journal.own("two") {
            Err(JournalError::Owned { .. }) => {
                refused = true;
                break;
            }
            Ok(o) => drop(o), // the holder has not taken the lock yet
            Err(e) => panic!("{e}"),
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert!(refused, "a live owner in another process is refused");
    holder.kill().unwrap(); // SIGKILL
    holder.wait().unwrap();
    journal
        .own("two")
        .expect("a dead owner's run is taken over at once");
}

#[test]
fn a_job_that_finished_while_the_orchestrator_was_down_is_adopted_not_rerun() {
    let scn = tests::load("synciq-happy-3");
    let rt = rt();
    let baseline = rt
        .block_on(crash::run_with_crash(&scn, None))
        .unwrap_or_else(|e| panic!("{e:?}"));
    // Killed while sync_data starts its job; down for two hours, so the job finishes.
    let point = CrashPoint::Matching(FaultMatch {
        step: Some("sync_data".into()),
        method: Some("POST".into()),
        route: Some("sync/jobs".into()),
        ..Default::default()
    });
    let got = rt
        .block_on(crash::run_with_crash_down(&scn, Some(point), 2 * 3_600_000))
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert!(got.crashed);
    assert_eq!(
        got.repeated_jobs, baseline.repeated_jobs,
        "the finished job was run again"
    );
    assert_eq!(crash::compare(&baseline, &got), None);
}
