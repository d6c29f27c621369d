//! Human-readable output of a drill: the step table, the invariants and the verdict.

use std::fmt::Write as _;

use crate::judge::Verdict;
use crate::runner::DrillResult;
use orchestrator::StepStatus;

/// `h:mm:ss.mmm` of virtual (or wall) milliseconds.
pub fn fmt_ms(ms: u64) -> String {
    let h = ms / 3_600_000;
    let m = (ms / 60_000) % 60;
    let s = (ms / 1000) % 60;
    let milli = ms % 1000;
    format!("{h}:{m:02}:{s:02}.{milli:03}")
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

/// The step table.
pub fn step_table(r: &DrillResult) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<5} {:<5} {:<28} {:<20} {:<10} {:>13} {:>13}  detail",
        "#", "seed", "step", "policy/zone", "status", "start", "end"
    );
    for s in &r.report.steps {
        let target = s
            .policy
            .clone()
            .or_else(|| s.zone.as_ref().map(|z| format!("zone:{z}")))
            .unwrap_or_else(|| "-".into());
        let detail = match &s.status {
            StepStatus::Failed { error } => error.clone(),
            StepStatus::Skipped { reason } => reason.short(),
            StepStatus::Manual {
                instructions,
                confirmed,
            } => format!(
                "{}{}",
                if *confirmed {
                    "confirmed: "
                } else {
                    "WAITING: "
                },
                instructions
            ),
            _ => s.detail.clone().unwrap_or_default(),
        };
        let _ = writeln!(
            out,
            "{:<5} {:<5} {:<28} {:<20} {:<10} {:>13} {:>13}  {}",
            s.idx,
            s.seed_no,
            s.step.as_str(),
            truncate(&target, 20),
            s.status.name(),
            s.start_ms.map(fmt_ms).unwrap_or_else(|| "-".into()),
            s.end_ms.map(fmt_ms).unwrap_or_else(|| "-".into()),
            truncate(&detail, 100)
        );
    }
    out
}

/// Step table, outcome, invariants and expectations.
pub fn render(r: &DrillResult) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "scenario {} (seed {}), {} {} {} → {}, {} policies, transport {:?}\n",
        r.scenario,
        r.seed,
        r.report.mode.as_str(),
        format!("{:?}", r.report.kind).to_lowercase(),
        r.report.from,
        r.report.to,
        r.report.policies.len(),
        r.transport
    );
    out.push_str(&step_table(r));
    let counts: Vec<String> = r
        .report
        .status_counts()
        .iter()
        .map(|(k, v)| format!("{v} {k}"))
        .collect();
    let _ = writeln!(
        out,
        "\noutcome: {}   makespan: {} (virtual)   steps: {}",
        r.report.outcome.as_str(),
        fmt_ms(r.report.makespan_ms),
        counts.join(", ")
    );
    if let Some(p) = &r.report.performance {
        let _ = writeln!(out, "performance: {}", p.summary(r.report.makespan_ms));
    }
    for w in &r.report.warnings {
        let _ = writeln!(out, "warning: {w}");
    }
    if !r.outages.is_empty() {
        let _ = writeln!(
            out,
            "\nclients (virtual time; outage = last good write on {} → first good write on {}):",
            r.report.from, r.report.to
        );
        let _ = writeln!(
            out,
            "  {:<14} {:>13} {:>13} {:>10} {:>7} {:>7} {:>5}",
            "client", "last source", "first target", "outage", "ok", "failed", "lost"
        );
        for o in &r.outages {
            let opt = |v: Option<u64>| v.map(fmt_ms).unwrap_or_else(|| "-".into());
            let _ = writeln!(
                out,
                "  {:<14} {:>13} {:>13} {:>10} {:>7} {:>7} {:>5}",
                truncate(&o.client, 14),
                opt(o.last_source_ok_ms),
                opt(o.first_target_ok_ms),
                o.window_ms
                    .map(|w| format!("{:.1} s", w as f64 / 1000.0))
                    .unwrap_or_else(|| "-".into()),
                o.writes_ok,
                o.writes_failed,
                o.lost_writes
            );
        }
        for o in r
            .outages
            .iter()
            .filter(|o| o.write_cap_reached_ms.is_some())
        {
            let _ = writeln!(
                out,
                "  ({} reached its cap of {} writes at {} and wrote again only after the run)",
                o.client,
                crate::clients::MAX_WRITES_PER_CLIENT,
                o.write_cap_reached_ms.map(fmt_ms).unwrap_or_default()
            );
        }
    }
    let _ = writeln!(out, "\ninvariants:");
    for i in &r.invariants {
        match &i.verdict {
            Verdict::Ok => {
                let _ = writeln!(out, "  {:<4} ok", i.id);
            }
            Verdict::NotJudged { reason } => {
                let _ = writeln!(out, "  {:<4} not judged: {reason}", i.id);
            }
            Verdict::Violated { violations } => {
                let _ = writeln!(out, "  {:<4} VIOLATED ({})", i.id, violations.len());
                for v in violations.iter().take(20) {
                    let _ = writeln!(out, "       - {v}");
                }
            }
        }
        for n in i.notes.iter().take(20) {
            let _ = writeln!(out, "       ({n})");
        }
    }
    if r.expect_failures.is_empty() {
        let _ = writeln!(out, "\nexpect: met");
    } else {
        let _ = writeln!(out, "\nexpect: NOT met");
        for f in &r.expect_failures {
            let _ = writeln!(out, "  - {f}");
        }
    }
    let ids = |judged: bool| -> String {
        let v: Vec<&str> = r
            .invariants
            .iter()
            .filter(|i| i.is_judged() == judged)
            .map(|i| i.id.as_str())
            .collect();
        if v.is_empty() {
            "-".into()
        } else {
            v.join(" ")
        }
    };
    let _ = writeln!(
        out,
        "\nresult: {}  (judged: {}; not judged: {})",
        if r.passed() { "PASS" } else { "FAIL" },
        ids(true),
        ids(false)
    );
    out
}
