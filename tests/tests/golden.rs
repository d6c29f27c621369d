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
    for st in &r.report.steps {
        s.push_str(&format!(
            "{:>3} {:<4} {:<20} {:<6} {:<10} {:>9} {:>9}  {}\n",
            st.idx,
            st.seed_no,
            st.step.as_str(),
            st.policy.as_deref().unwrap_or("-"),
            st.status.name(),
            st.start_ms.map(|v| v.to_string()).unwrap_or("-".into()),
            st.end_ms.map(|v| v.to_string()).unwrap_or("-".into()),
            match &st.status {
                orchestrator::StepStatus::Skipped { reason } => reason.short(),
                orchestrator::StepStatus::Failed { error } => error.clone(),
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

#[test]
fn golden_sync_fails() {
    insta::assert_snapshot!(compact("synciq-sync-fails"));
}

#[test]
fn golden_validation_blocks() {
    insta::assert_snapshot!(compact("synciq-validation-blocks"));
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
