//! Unit tests of the HTML report: every instance present, escaping, the timeline's bars,
//! the catalogue's guidance on failed/skipped steps, self-containment, the sweep matrix.

use super::*;
use crate::report::{Outcome, SkipReason};
use crate::run_spec::{Mode, RunKind};

fn rec(idx: usize, step: StepId, policy: Option<&str>, status: StepStatus) -> StepRecord {
    let ran = !matches!(
        status,
        StepStatus::Pending | StepStatus::Skipped { .. } | StepStatus::NotApplicable { .. }
    );
    StepRecord {
        idx,
        seed_no: step.seed_no(Mode::SynciqPolicy).to_string(),
        step,
        policy: policy.map(str::to_string),
        zone: None,
        deps: vec![],
        status,
        start_ms: ran.then_some(idx as u64 * 1000),
        end_ms: ran.then_some(idx as u64 * 1000 + 1500),
        start_seq: ran.then_some(idx as u64 * 2),
        end_seq: ran.then_some(idx as u64 * 2 + 1),
        acted: ran,
        indeterminate: false,
        detail: None,
    }
}

/// A small partial failover: p1 fails its sync (so its allow_write is skipped), p2 runs.
pub(crate) fn sample(p1: &str) -> Report {
    let steps = vec![
        rec(0, StepId::Validate, None, StepStatus::Succeeded),
        rec(
            1,
            StepId::SyncData,
            Some(p1),
            StepStatus::Failed {
                error: "job failed: <target unreachable>".into(),
            },
        ),
        rec(2, StepId::SyncData, Some("p2"), StepStatus::Succeeded),
        rec(
            3,
            StepId::AllowWrite,
            Some(p1),
            StepStatus::Skipped {
                reason: SkipReason::UpstreamFailed {
                    step: StepId::SyncData,
                    policy: p1.into(),
                },
            },
        ),
        rec(4, StepId::AllowWrite, Some("p2"), StepStatus::Succeeded),
        rec(
            5,
            StepId::RefreshClients,
            None,
            StepStatus::NotApplicable {
                reason: "no clients configured".into(),
            },
        ),
    ];
    Report {
        schema: 1,
        run_id: "run-1".into(),
        kind: RunKind::Failover,
        mode: Mode::SynciqPolicy,
        from: "boston".into(),
        to: "denver".into(),
        policies: vec![p1.into(), "p2".into()],
        outcome: Outcome::Partial,
        started_ms: 0,
        ended_ms: 6500,
        makespan_ms: 6500,
        steps,
        cached_schedules: Default::default(),
        warnings: vec![],
        config_jobs: Default::default(),
        outcome_detail: None,
        removed_config: vec![],
        unavailable: vec![],
        performance: None,
        readiness: None,
        config_cache: Default::default(),
    }
}

#[test]
fn every_instance_is_a_row_with_its_status() {
    let r = sample("p1");
    let html = render(&r, &Extras::default());
    for s in &r.steps {
        let row = format!(
            "data-idx=\"{}\" data-step=\"{}\" data-policy=\"{}\" data-zone=\"\" data-status=\"{}\"",
            s.idx,
            s.step.as_str(),
            s.policy.as_deref().unwrap_or(""),
            s.status.name()
        );
        assert!(
            html.contains(&format!("<tr class=\"inst\" {row}")),
            "missing {row}"
        );
    }
    assert_eq!(html.matches("<tr class=\"inst\"").count(), r.steps.len());
}

#[test]
fn timeline_has_one_bar_per_executed_instance() {
    let r = sample("p1");
    let svg = timeline::render(&r);
    let executed = r
        .steps
        .iter()
        .filter(|s| s.start_ms.is_some() && s.end_ms.is_some())
        .count();
    assert_eq!(executed, 4);
    assert_eq!(svg.matches("<rect ").count(), executed);
    assert!(svg.starts_with("<svg id=\"timeline\""));
    assert!(svg.contains(
        "data-step=\"sync_data\" data-policy=\"p1\" data-zone=\"\" data-status=\"failed\""
    ));
    // The skipped and not-applicable instances have no bar.
    assert!(!svg.contains("data-status=\"skipped\""));
}

#[test]
fn strings_from_the_report_are_escaped() {
    let evil = "<script>alert(1)</script>\"'&";
    let mut r = sample(evil);
    r.warnings.push("<img src=x onerror=alert(2)>".into());
    r.outcome_detail = Some("<b>bold</b>".into());
    let html = render(
        &r,
        &Extras {
            title: Some("<i>t</i>".into()),
            ..Default::default()
        },
    );
    assert!(!html.contains("<script"), "unescaped script tag");
    assert!(!html.contains("<img"), "unescaped img tag");
    assert!(!html.contains("<b>bold"), "unescaped outcome detail");
    assert!(!html.contains("<i>t"), "unescaped title");
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&amp;"));
    assert!(html.contains("job failed: &lt;target unreachable&gt;"));
}

#[test]
fn failed_and_skipped_steps_carry_the_catalogues_guidance() {
    let r = sample("p1");
    let html = render(&r, &Extras::default());
    for id in [StepId::SyncData, StepId::AllowWrite] {
        let g = guidance(id);
        for text in [g.impact, g.data_loss_risk, g.recovery] {
            assert!(html.contains(&esc(text)), "{id}: missing {text}");
        }
    }
    assert!(
        html.contains("<div class=\"card failed\" data-step=\"sync_data\" data-status=\"failed\">")
    );
    assert!(html.contains(
        "<div class=\"card skipped\" data-step=\"allow_write\" data-status=\"skipped\">"
    ));
    // Succeeded steps get no card.
    assert!(!html.contains("class=\"card succeeded\""));
    assert!(!html.contains(&esc(guidance(StepId::Validate).impact)));
}

#[test]
fn every_step_has_a_data_loss_risk() {
    for i in 0..crate::steps::catalogue::STEP_COUNT {
        let s = &crate::steps::catalogue::CATALOGUE[i];
        assert!(!guidance(s.id).data_loss_risk.is_empty(), "{}", s.id);
    }
}

#[test]
fn the_page_is_self_contained() {
    let mut r = sample("p1");
    r.outcome_detail = Some("see the job report".into());
    let html = render(
        &r,
        &Extras {
            sweep: Some(SweepMatrix {
                steps: vec!["sync_data".into()],
                faults: vec!["papi_500".into()],
                cells: vec![SweepCell {
                    step: "sync_data".into(),
                    fault: "papi_500".into(),
                    outcome: "partial".into(),
                    passed: true,
                    replay: Some("https://example.invalid/x.yaml".into()),
                }],
            }),
            ..Default::default()
        },
    );
    for banned in [
        "http://", "https://", "src=", "<script", "<link", "@import", "url(",
    ] {
        assert!(!html.contains(banned), "found {banned}");
    }
}

#[test]
fn no_secret_reaches_the_page() {
    // Nothing in a report is a secret, but a secret-looking value in an error must not be
    // widened into anything else; the renderer only prints what the report holds.
    let r = sample("p1");
    let html = render(&r, &Extras::default());
    for word in ["password", "token", "Bearer"] {
        assert!(
            !html.to_lowercase().contains(&word.to_lowercase()),
            "{word}"
        );
    }
}

#[test]
fn sweep_matrix_links_failing_cases_to_their_replay_file() {
    let r = sample("p1");
    let m = SweepMatrix {
        steps: vec!["sync_data".into(), "allow_write".into()],
        faults: vec!["papi_500".into(), "timeout".into()],
        cells: vec![
            SweepCell {
                step: "sync_data".into(),
                fault: "papi_500".into(),
                outcome: "partial".into(),
                passed: true,
                replay: None,
            },
            SweepCell {
                step: "allow_write".into(),
                fault: "timeout".into(),
                outcome: "violated I7".into(),
                passed: false,
                replay: Some("failures/allow_write-timeout.yaml".into()),
            },
        ],
    };
    let html = render(
        &r,
        &Extras {
            sweep: Some(m),
            ..Default::default()
        },
    );
    assert!(html.contains("<table id=\"sweep\">"));
    assert_eq!(html.matches("data-fault=").count(), 4);
    assert!(html.contains("<a href=\"failures/allow_write-timeout.yaml\">replay</a>"));
    assert_eq!(html.matches("class=\"cell-none\"").count(), 2);
}

#[test]
fn drill_section_shows_outage_windows_and_lost_writes() {
    let r = sample("p1");
    let html = render(
        &r,
        &Extras {
            estimated_ms: Some(5000),
            drill: Some(DrillSection {
                scenario: "s".into(),
                seed: 7,
                passed: false,
                invariants: vec![InvariantRow {
                    id: "I7".into(),
                    verdict: "violated".into(),
                    detail: vec!["hr unavailable".into()],
                }],
                expect_failures: vec![],
                clients: vec![ClientFigures {
                    client: "c1".into(),
                    last_source_ok_ms: Some(1000),
                    first_target_ok_ms: Some(4000),
                    window_ms: Some(3000),
                    writes_ok: 10,
                    writes_failed: 2,
                    lost_writes: 1,
                    write_cap_reached_ms: None,
                }],
            }),
            ..Default::default()
        },
    );
    assert!(html.contains("data-client=\"c1\" data-window-ms=\"3000\" data-lost-writes=\"1\""));
    assert!(html.contains("data-invariant=\"I7\" data-verdict=\"violated\""));
    assert!(html.contains("data-estimated-ms=\"5000\""));
    assert!(html.contains("(actual +1.500 s)"));
}

#[test]
fn readiness_tree_is_drawn_generically() {
    let mut v = serde_json::to_value(sample("p1")).unwrap();
    v["readiness"] = serde_json::json!({
        "name": "failover boston → denver", "status": "blocked",
        "children": [
            {"name": "licences", "status": "ok"},
            {"name": "policy hr", "status": "failed", "message": "<no target>", "fix": "create it"}
        ]
    });
    // The report type may not have the field yet: render through a report that does by
    // checking the generic tree renderer directly.
    let mut h = String::new();
    tree_node(&mut h, &v["readiness"], 0);
    assert_eq!(h.matches("<li data-node=").count(), 3);
    assert!(h.contains("data-node=\"policy hr\" data-status=\"failed\""));
    assert!(h.contains("&lt;no target&gt;"));
    assert!(h.contains("fix: create it"));
}

#[test]
fn durations_read_as_people_write_them() {
    assert_eq!(fmt_ms(1234), "1.234 s");
    assert_eq!(fmt_ms(75_000), "1 min 15.000 s");
    assert_eq!(fmt_ms(3_720_000), "1 h 2 min 0.000 s");
}
