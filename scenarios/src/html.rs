//! A drill's HTML report: the orchestrator's HTML report of the run plus what only a drill
//! knows — the scenario and seed, the invariants' verdicts, and each simulated client's
//! outage window and lost writes (RPO loss). `drill run --report` writes it.

use std::path::{Path, PathBuf};

use orchestrator::html::{ClientFigures, DrillSection, Extras, InvariantRow};

use crate::judge::Verdict;
use crate::DrillResult;

/// The extras section of a drill result.
pub fn extras(r: &DrillResult) -> Extras {
    let invariants = r
        .invariants
        .iter()
        .map(|i| {
            let (verdict, mut detail) = match &i.verdict {
                Verdict::Ok => ("ok", vec![]),
                Verdict::Violated { violations } => ("violated", violations.clone()),
                Verdict::NotJudged { reason } => ("not_judged", vec![reason.clone()]),
            };
            detail.extend(i.notes.iter().map(|n| format!("note: {n}")));
            InvariantRow {
                id: i.id.clone(),
                verdict: verdict.into(),
                detail,
            }
        })
        .collect();
    let clients = r
        .outages
        .iter()
        .map(|o| ClientFigures {
            client: o.client.clone(),
            last_source_ok_ms: o.last_source_ok_ms,
            first_target_ok_ms: o.first_target_ok_ms,
            window_ms: o.window_ms,
            writes_ok: o.writes_ok,
            writes_failed: o.writes_failed,
            lost_writes: o.lost_writes,
            write_cap_reached_ms: o.write_cap_reached_ms,
        })
        .collect();
    Extras {
        title: Some(format!(
            "Drill {} (seed {}): {} {} → {}",
            r.scenario,
            r.seed,
            format!("{:?}", r.report.kind).to_lowercase(),
            r.report.from,
            r.report.to
        )),
        estimated_ms: None,
        drill: Some(DrillSection {
            scenario: r.scenario.clone(),
            seed: r.seed,
            passed: r.passed(),
            invariants,
            expect_failures: r.expect_failures.clone(),
            clients,
        }),
        sweep: None,
    }
}

/// The drill's HTML report.
pub fn render(r: &DrillResult) -> String {
    orchestrator::html::render(&r.report, &extras(r))
}

/// Where `--report PATH` puts the report of `r`: PATH itself for a single scenario (unless
/// PATH is an existing directory), else `PATH/<scenario>-<seed>.html`.
pub fn report_path(path: &Path, scenarios: usize, r: &DrillResult) -> PathBuf {
    if scenarios > 1 || path.is_dir() {
        path.join(format!("{}-{}.html", r.scenario, r.seed))
    } else {
        path.to_path_buf()
    }
}
