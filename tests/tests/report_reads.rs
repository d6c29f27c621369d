//! A job step reads its policy's newest reports, not its whole history
//! (`orchestrator/src/steps/job.rs`): on a policy with a long history every report read
//! asks for a bounded number (`reports_per_policy`), and the job's own report is still the
//! one concluded from — a sync that fails fails its step, whatever the history holds.

mod counting;

use orchestrator::{Outcome, StepId, StepStatus};
use scenarios::Scenario;

fn report_read(method: &http::Method, uri: &http::Uri) -> bool {
    method == http::Method::GET && uri.path().ends_with("/sync/reports")
}

/// A read of a policy's reports that sets no bound.
fn unbounded_report_read(method: &http::Method, uri: &http::Uri) -> bool {
    report_read(method, uri)
        && !uri
            .query()
            .unwrap_or_default()
            .split('&')
            .any(|kv| kv.starts_with("reports_per_policy="))
}

/// A read of a policy's newest reports by a job step (the window of `steps/job.rs`).
fn window_report_read(method: &http::Method, uri: &http::Uri) -> bool {
    report_read(method, uri)
        && uri
            .query()
            .unwrap_or_default()
            .split('&')
            .any(|kv| kv == "reports_per_policy=4")
}

/// One policy with 40 hourly syncs of history; `fail_sync` fails its final sync halfway.
fn world(fail_sync: bool) -> Scenario {
    let past: Vec<String> = (0..40)
        .map(|i| format!("{{bytes: {}}}", 1_000_000 + i * 1000))
        .collect();
    let faults = if fail_sync {
        "faults:\n  - when: {step: sync_data, policy: eng}\n    effect: {syncjob_fail: {at_progress: 0.5}}\n"
    } else {
        ""
    };
    let yaml = format!(
        r#"
name: long-history
seed: 11
world:
  clusters:
    - name: boston
      files:
        - {{root: /ifs/data/eng, count: 50, size_bytes: 65536, unsynced_fraction: 0.5}}
    - name: denver
  policies:
    - {{name: eng, source: boston, target: denver, source_path: /ifs/data/eng, target_path: /ifs/data/eng, schedule: every 1 hours, past_syncs: [{}]}}
run:
  kind: failover
  mode: synciq-policy
  from: boston
  to: denver
{faults}"#,
        past.join(", ")
    );
    Scenario::parse(&yaml, "<long-history>").unwrap()
}

async fn run(fail_sync: bool, counted: counting::Counted) -> (orchestrator::Report, usize) {
    counting::run(&world(fail_sync), counted).await
}

fn status(report: &orchestrator::Report, step: StepId) -> &StepStatus {
    &report
        .steps
        .iter()
        .find(|s| s.step == step)
        .unwrap_or_else(|| panic!("no {step:?} in the report"))
        .status
}

#[tokio::test(start_paused = true)]
async fn every_report_read_is_bounded() {
    let (report, unbounded) = run(false, unbounded_report_read).await;
    assert_eq!(report.outcome, Outcome::Succeeded, "{report:?}");
    assert_eq!(unbounded, 0, "a report read asked for the whole history");
    // Each job is bracketed by two window reads (before it starts, after it ends).
    let (_, windowed) = run(false, window_report_read).await;
    assert!(windowed >= 8, "{windowed} window reads for four jobs");
}

#[tokio::test(start_paused = true)]
async fn a_failed_sync_fails_its_step_whatever_the_history() {
    let (report, _) = run(true, report_read).await;
    assert_ne!(report.outcome, Outcome::Succeeded, "{report:?}");
    assert!(
        matches!(status(&report, StepId::SyncData), StepStatus::Failed { .. }),
        "{:?}",
        status(&report, StepId::SyncData)
    );
}
