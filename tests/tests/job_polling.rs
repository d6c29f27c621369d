//! Adaptive job polling (`orchestrator/src/steps/job_poll.rs`) against the simulated
//! cluster: a long sync is polled a handful of times, not once per `job_poll_interval_ms`,
//! and its end is still seen within one interval of when fixed polling sees it.

mod counting;

use orchestrator::{Outcome, StepId};
use scenarios::Scenario;

/// `GET …/sync/jobs/<id>`: a poll of one job.
fn job_poll(method: &http::Method, uri: &http::Uri) -> bool {
    method == http::Method::GET && uri.path().contains("/sync/jobs/")
}

/// One policy whose final sync moves 400 MiB over a 1 MB/s link (about 7 minutes).
fn world(max_interval_ms: u64) -> Scenario {
    let yaml = format!(
        r#"
name: long-sync
seed: 3
world:
  link: {{bandwidth_bytes_per_s: 1000000, latency_ms: 10}}
  clusters:
    - name: boston
      files:
        - {{root: /ifs/data/eng, count: 400, size_bytes: 1048576, unsynced_fraction: 1.0}}
    - name: denver
  policies:
    - {{name: eng, source: boston, target: denver, source_path: /ifs/data/eng, target_path: /ifs/data/eng, schedule: ""}}
run:
  kind: failover
  mode: synciq-policy
  from: boston
  to: denver
  options: {{presync: false, job_poll_interval_ms: 5000, job_poll_max_interval_ms: {max_interval_ms}}}
"#
    );
    Scenario::parse(&yaml, "<long-sync>").unwrap()
}

/// Run the failover; return the polls of jobs made and the `sync_data` step's end.
async fn run(max_interval_ms: u64) -> (usize, u64) {
    let (report, polls) = counting::run(&world(max_interval_ms), job_poll).await;
    assert_eq!(report.outcome, Outcome::Succeeded, "{report:?}");
    let sync = report
        .steps
        .iter()
        .find(|s| s.step == StepId::SyncData)
        .unwrap();
    let took_ms = sync.end_ms.unwrap() - sync.start_ms.unwrap();
    assert!(took_ms > 400_000, "the sync took {took_ms} ms");
    (polls, sync.end_ms.unwrap())
}

#[tokio::test(start_paused = true)]
async fn a_long_sync_is_polled_a_few_times_and_its_end_seen_as_soon() {
    let (fixed_polls, fixed_end) = run(5_000).await;
    let (adaptive_polls, adaptive_end) = run(60_000).await;
    eprintln!("polls: fixed {fixed_polls}, adaptive {adaptive_polls}; sync_data end: fixed {fixed_end} ms, adaptive {adaptive_end} ms");
    // Fixed polling: one look every 5 s of a ~7-minute sync, and more for the other jobs.
    assert!(fixed_polls >= 84, "fixed polling made {fixed_polls} polls");
    assert!(
        adaptive_polls * 4 <= fixed_polls,
        "adaptive polling made {adaptive_polls} polls against {fixed_polls} fixed"
    );
    // The end is seen within one base interval of when fixed polling sees it.
    assert!(
        adaptive_end <= fixed_end + 5_000,
        "sync_data ended at {adaptive_end} ms against {fixed_end} ms with fixed polling"
    );
}
