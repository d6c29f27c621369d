//! The judge is independent of what it judges (DESIGN.md §6, issue 10): nothing under
//! `scenarios/src/judge/` (nor the lab's own helpers, `scenarios/src/lab.rs`) names the
//! orchestrator crate in code — it reads the report's published JSON through its own types.
//! And it judges against its own model of the documented rules: a report whose order or
//! skips break them is caught even when the report's own DAG (`deps`) agrees with it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use orchestrator::{SkipReason, StepId, StepStatus};
use scenarios::runner::ReportTamper;
use scenarios::{run_scenario, DrillOptions, Scenario};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// A line without its `//` comment (good enough: the judge has no `//` in string literals
/// that precede the word it looks for).
fn code_of(line: &str) -> &str {
    match line.find("//") {
        Some(i) => &line[..i],
        None => line,
    }
}

#[test]
fn the_judge_imports_nothing_from_the_orchestrator() {
    let root = tests::repo_root().join("scenarios/src");
    let mut files = Vec::new();
    rust_files(&root.join("judge"), &mut files);
    assert!(
        files.len() >= 5,
        "the judge is a module of several files: {files:?}"
    );
    files.push(root.join("lab.rs"));
    let mut offences = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        assert!(
            text.starts_with("//!"),
            "{} starts with a module doc",
            f.display()
        );
        for (n, line) in text.lines().enumerate() {
            let code = code_of(line);
            let squeezed: String = code.split_whitespace().collect::<Vec<_>>().join(" ");
            if squeezed.contains("orchestrator::")
                || squeezed.contains("orchestrator ::")
                || squeezed.contains("use orchestrator")
                || squeezed.contains("extern crate orchestrator")
            {
                offences.push(format!("{}:{}: {line}", f.display(), n + 1));
            }
        }
    }
    assert!(
        offences.is_empty(),
        "the judge must not use the orchestrator crate:\n{}",
        offences.join("\n")
    );
}

fn lab(name: &str) -> Scenario {
    tests::load(name)
}

fn drill(scn: &Scenario, tamper: Option<ReportTamper>) -> scenarios::DrillResult {
    run_scenario(
        scn,
        &DrillOptions {
            tamper_report: tamper,
            ..DrillOptions::default()
        },
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

fn violations(r: &scenarios::DrillResult, id: &str) -> Vec<String> {
    r.invariants
        .iter()
        .find(|i| i.id == id)
        .unwrap_or_else(|| panic!("{id} not in the results"))
        .violations()
        .to_vec()
}

#[test]
fn a_reordered_report_is_caught_even_when_its_own_dag_agrees() {
    // resync_prep[eng] "started" before allow_write[eng] ended, and the report's deps were
    // edited to match: a checker that trusts the report's DAG sees nothing wrong.
    let tamper: ReportTamper = Arc::new(|rep: &mut orchestrator::Report| {
        let aw = rep.find(StepId::AllowWrite, Some("eng")).unwrap().clone();
        let rs = rep
            .steps
            .iter_mut()
            .find(|s| s.step == StepId::ResyncPrep && s.policy.as_deref() == Some("eng"))
            .unwrap();
        rs.deps.retain(|d| *d != aw.idx);
        rs.start_seq = aw.start_seq;
    });
    let r = drill(&lab("synciq-happy-3"), Some(tamper));
    let v = violations(&r, "I1");
    assert!(
        v.iter()
            .any(|m| m.starts_with("resync_prep[eng] started") && m.contains("allow_write[eng]")),
        "{v:?}"
    );
}

#[test]
fn a_skip_no_documented_rule_calls_for_is_caught() {
    let tamper: ReportTamper = Arc::new(|rep: &mut orchestrator::Report| {
        for s in rep.steps.iter_mut() {
            if s.step == StepId::RestoreSchedule && s.policy.as_deref() == Some("hr") {
                s.status = StepStatus::Skipped {
                    reason: SkipReason::UpstreamFailed {
                        step: StepId::SyncData,
                        policy: "hr".into(),
                    },
                };
            }
        }
    });
    let r = drill(&lab("synciq-happy-3"), Some(tamper));
    let v = violations(&r, "I2");
    assert!(
        v.iter()
            .any(|m| m.starts_with("restore_schedule[hr] skipped")
                && m.contains("no documented rule")),
        "{v:?}"
    );
    // Its changes are in the audit log: a skipped step may leave none.
    assert!(v.iter().any(|m| m.contains("carries its name")), "{v:?}");
}

#[test]
fn a_missing_instance_is_caught() {
    let tamper: ReportTamper = Arc::new(|rep: &mut orchestrator::Report| {
        rep.steps
            .retain(|s| !(s.step == StepId::RunMirror && s.policy.as_deref() == Some("ops")));
    });
    let r = drill(&lab("synciq-happy-3"), Some(tamper));
    let v = violations(&r, "I2");
    assert!(
        v.iter()
            .any(|m| m.starts_with("run_mirror[ops] is missing")),
        "{v:?}"
    );
}

#[test]
fn expecting_an_invariant_that_was_not_judged_fails_the_scenario() {
    // synciq-happy-3 has no clients: I5 has nothing to judge.
    let mut scn = lab("synciq-happy-3");
    let r = drill(&scn, None);
    tests::assert_passed(&r);
    let i5 = r.invariants.iter().find(|i| i.id == "I5").unwrap();
    assert!(!i5.is_judged(), "{i5:?}");
    assert!(i5.not_judged_reason().is_some());
    scn.expect.invariants =
        scenarios::scenario::InvariantSelection::List(vec!["I1".into(), "I5".into()]);
    let r = drill(&scn, None);
    assert!(!r.passed());
    assert!(
        r.expect_failures
            .iter()
            .any(|f| f.contains("I5") && f.contains("not judged")),
        "{:?}",
        r.expect_failures
    );
    // I9 needs a crash run: naming it in a plain run fails too.
    scn.expect.invariants = scenarios::scenario::InvariantSelection::List(vec!["I9".into()]);
    assert!(!drill(&scn, None).passed());
}
