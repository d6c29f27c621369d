//! The drill runner hands the judge only part of the audit log (`judge::audit_wanted`: no
//! client file writes, and the `detail` of a few actions only), because building every entry
//! of every run was a few percent of a chaos campaign. Judged from the whole log instead,
//! every verdict and every outage must come out the same. This is the guard behind that
//! selection: an invariant that starts reading an entry or a detail the selection leaves
//! out makes these runs differ.

use std::sync::Arc;

use scenarios::chaos::{gen, GenConfig};
use scenarios::runner::ReportTamper;
use scenarios::{run_scenario, DrillOptions, DrillResult, Scenario};

/// The verdicts and outages of `scn`, judged from the selected and from the whole log.
fn both_ways(scn: &Scenario, lie: Option<ReportTamper>) -> Option<(String, String)> {
    let judged = |whole: bool| -> Option<DrillResult> {
        run_scenario(
            scn,
            &DrillOptions {
                tamper_report: lie.clone(),
                judge_whole_audit: whole,
                ..DrillOptions::default()
            },
        )
        .ok()
    };
    let (a, b) = (judged(false)?, judged(true)?);
    let text = |r: &DrillResult| {
        serde_json::to_string(&(&r.invariants, &r.outages)).expect("verdicts serialise")
    };
    Some((text(&a), text(&b)))
}

#[test]
fn library_verdicts_do_not_depend_on_the_audit_selection() {
    let mut compared = 0;
    for path in tests::library_files() {
        let text = std::fs::read_to_string(&path).expect("library file");
        let scn = Scenario::parse(&text, &path.display().to_string()).expect("library parses");
        if let Some((selected, whole)) = both_ways(&scn, None) {
            assert_eq!(selected, whole, "{}", path.display());
            compared += 1;
        }
    }
    assert!(compared >= 10, "only {compared} library scenarios ran");
}

#[test]
fn chaos_verdicts_do_not_depend_on_the_audit_selection() {
    let cfg = GenConfig::small();
    let mut compared = 0;
    for seed in 0..40 {
        let scn = gen::scenario_of(&gen::case_for_seed(&cfg, seed), None).expect("generated");
        if let Some((selected, whole)) = both_ways(&scn, None) {
            assert_eq!(selected, whole, "seed {seed}");
            compared += 1;
        }
    }
    assert!(compared >= 30, "only {compared} seeds ran");
}

#[test]
fn violations_do_not_depend_on_the_audit_selection() {
    // A report that claims every step succeeded: the checker must disprove it from the
    // world and the audit log, and say the same whichever part of the log it was given.
    let lie: ReportTamper = Arc::new(|rep: &mut orchestrator::Report| {
        for s in rep.steps.iter_mut() {
            s.status = orchestrator::StepStatus::Succeeded;
        }
    });
    let cfg = GenConfig::small();
    let (mut compared, mut violated) = (0, 0);
    for seed in 0..30 {
        let scn = gen::scenario_of(&gen::case_for_seed(&cfg, seed), None).expect("generated");
        if let Some((selected, whole)) = both_ways(&scn, Some(lie.clone())) {
            assert_eq!(selected, whole, "seed {seed}");
            compared += 1;
            violated += usize::from(selected.contains("\"violated\""));
        }
    }
    assert!(compared >= 20, "only {compared} seeds ran");
    assert!(violated >= 5, "the lie was caught in only {violated} runs");
}
