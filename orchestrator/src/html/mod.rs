//! The report people read: one self-contained HTML file per run, rendered from the JSON
//! [`Report`] (DESIGN §10).
//!
//! Sections: summary (mode, outcome, estimated vs actual duration, performance, per-client
//! outage window and RPO loss when a drill supplies them), the readiness tree (when the
//! report carries one), the step tree (seed numbers, statuses, reasons), a Gantt-style
//! timeline ([`timeline`]), and for every failed or skipped step its impact, data-loss risk
//! and recovery, taken from the step catalogue ([`guidance`]), never written per run.
//! `drill` adds its invariant results; `drill verify` adds the sweep matrix
//! ([`SweepMatrix`]).
//!
//! Guarantees the checks rely on:
//! * Self-contained: inline CSS and SVG, no script, no external URL (so it opens offline
//!   and leaks nothing when opened).
//! * Every string from the report or the extras is escaped ([`esc`]).
//! * Stable hooks: `<tr data-idx data-step data-policy data-zone data-status>` per step
//!   instance in `#steps`, `<svg id="timeline">` with one `<rect data-step …>` per executed
//!   instance, `#guidance` cards with `data-step`, `#sweep` cells with `data-step`,
//!   `data-fault`, `data-outcome`.

pub mod timeline;

use std::collections::BTreeMap;
use std::fmt::Write;

use serde::{Deserialize, Serialize};

use crate::plan::StepId;
use crate::report::{Report, StepRecord, StepStatus};

/// What the step catalogue says about a step's failure or skip.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Guidance {
    /// What users see (what is where, which side is writable).
    pub impact: &'static str,
    /// What data could be lost.
    pub data_loss_risk: &'static str,
    /// What an admin does about it.
    pub recovery: &'static str,
}

/// The catalogue's guidance for `id`.
pub fn guidance(id: StepId) -> Guidance {
    let s = crate::steps::catalogue::spec(id);
    Guidance {
        impact: s.impact,
        data_loss_risk: s.data_loss_risk,
        recovery: s.recovery,
    }
}

/// Optional sections beside the report.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Extras {
    /// Page title (default: the run id).
    #[serde(default)]
    pub title: Option<String>,
    /// The predicted duration of the run (`dr plan --estimate`, a drill's cost model).
    #[serde(default)]
    pub estimated_ms: Option<u64>,
    /// A drill's judgement and client figures.
    #[serde(default)]
    pub drill: Option<DrillSection>,
    /// A fault sweep's step × fault matrix.
    #[serde(default)]
    pub sweep: Option<SweepMatrix>,
}

/// What a drill knows beyond the report: its invariants and simulated clients.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DrillSection {
    pub scenario: String,
    pub seed: u64,
    pub passed: bool,
    pub invariants: Vec<InvariantRow>,
    /// `expect` mismatches.
    #[serde(default)]
    pub expect_failures: Vec<String>,
    pub clients: Vec<ClientFigures>,
}

/// One invariant's verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvariantRow {
    pub id: String,
    /// `ok`, `violated` or `not_judged`.
    pub verdict: String,
    /// Violations or the reason it was not judged.
    #[serde(default)]
    pub detail: Vec<String>,
}

/// One client's outage window and lost writes (RPO loss).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientFigures {
    pub client: String,
    pub last_source_ok_ms: Option<u64>,
    pub first_target_ok_ms: Option<u64>,
    pub window_ms: Option<u64>,
    pub writes_ok: u64,
    pub writes_failed: u64,
    /// Writes acknowledged on the source that are not on the target after the run.
    pub lost_writes: u64,
    /// When the client reached its cap of writes during the run (it wrote again only
    /// after the run, so its outage window is not known).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub write_cap_reached_ms: Option<u64>,
}

/// A fault sweep: each step × each fault kind, what the run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SweepMatrix {
    /// Row labels (step ids), in order.
    pub steps: Vec<String>,
    /// Column labels (fault kinds), in order.
    pub faults: Vec<String>,
    /// The cells that ran; a missing (step, fault) pair is drawn as "not run".
    pub cells: Vec<SweepCell>,
}

/// One sweep case.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SweepCell {
    pub step: String,
    pub fault: String,
    /// The run's outcome (`succeeded`, `partial`, `blocked`, …) or the verdict.
    pub outcome: String,
    /// Whether every invariant held.
    pub passed: bool,
    /// A relative path to the case's replay file (scenario YAML), for failing cases.
    #[serde(default)]
    pub replay: Option<String>,
}

/// Escape text for HTML element content and quoted attribute values.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            _ => o.push(c),
        }
    }
    o
}

/// `1234` → `1.234 s`, `75000` → `1 min 15.000 s`, `3_720_000` → `1 h 2 min 0.000 s`.
pub fn fmt_ms(ms: u64) -> String {
    let h = ms / 3_600_000;
    let m = ms / 60_000 % 60;
    let s = ms % 60_000;
    let secs = format!("{}.{:03} s", s / 1000, s % 1000);
    match (h, m) {
        (0, 0) => secs,
        (0, m) => format!("{m} min {secs}"),
        (h, m) => format!("{h} h {m} min {secs}"),
    }
}

/// Fill colour of a status (timeline bars and badges).
pub(crate) fn status_color(status: &str) -> &'static str {
    match status {
        "succeeded" => "#2e7d32",
        "failed" => "#c62828",
        "skipped" => "#ef6c00",
        "running" => "#1565c0",
        "manual" => "#6a1b9a",
        "not_applicable" => "#9e9e9e",
        _ => "#bdbdbd",
    }
}

/// The reason text of a status (error, skip reason, manual instructions, …).
pub fn reason(r: &StepRecord) -> String {
    let mut s = match &r.status {
        StepStatus::Failed { error } => error.clone(),
        StepStatus::Skipped { reason } => reason.short(),
        StepStatus::Manual {
            instructions,
            confirmed,
        } => format!(
            "{}{instructions}",
            if *confirmed {
                "confirmed: "
            } else {
                "waiting: "
            }
        ),
        StepStatus::NotApplicable { reason } => reason.clone(),
        StepStatus::Pending | StepStatus::Running | StepStatus::Succeeded => String::new(),
    };
    if r.indeterminate {
        s.push_str(if s.is_empty() { "" } else { "; " });
        s.push_str("indeterminate: contact was lost after it may have acted");
    }
    if let Some(d) = &r.detail {
        s.push_str(if s.is_empty() { "" } else { "; " });
        s.push_str(d);
    }
    s
}

const CSS: &str = r#"
body{font:14px/1.4 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#222;max-width:1300px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
table{border-collapse:collapse;margin:6px 0}td,th{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f5f5f5}.num{text-align:right;font-variant-numeric:tabular-nums}
.badge{display:inline-block;padding:0 7px;border-radius:9px;color:#fff;font-size:12px}
tr.group th{background:#eef2f7}tr.inst td:first-child{padding-left:22px}
.card{border:1px solid #ddd;border-left:5px solid #c62828;padding:6px 12px;margin:8px 0;border-radius:3px}
.card.skipped{border-left-color:#ef6c00}.card dt{font-weight:600}.card dd{margin:0 0 6px 0}
.tree ul{list-style:none;padding-left:18px}.tree li{margin:2px 0}.muted{color:#666}
.cell-ok{background:#e8f5e9}.cell-bad{background:#ffebee}.cell-none{background:#fafafa;color:#999}
svg text{font-family:system-ui,sans-serif}pre{background:#f7f7f7;padding:6px;overflow:auto}
"#;

fn badge(status: &str) -> String {
    format!(
        r#"<span class="badge" style="background:{}">{}</span>"#,
        status_color(status),
        esc(status)
    )
}

/// Render the report (and the extras) as one self-contained HTML document.
pub fn render(report: &Report, extras: &Extras) -> String {
    let mut h = String::with_capacity(16 * 1024 + report.steps.len() * 600);
    let title = extras
        .title
        .clone()
        .unwrap_or_else(|| format!("DR run {}", report.run_id));
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\"><title>{}</title><style>{CSS}</style></head>\n<body data-run-id=\"{}\" data-outcome=\"{}\">\n",
        esc(&title),
        esc(&report.run_id),
        report.outcome.as_str()
    );
    let _ = writeln!(h, "<h1>{}</h1>", esc(&title));
    summary(&mut h, report, extras);
    if let Some(d) = &extras.drill {
        drill(&mut h, d);
    }
    readiness(&mut h, report);
    steps(&mut h, report);
    h.push_str("<h2>Timeline</h2>\n<p class=\"muted\">One bar per executed step instance, in start order; hover a bar for its times.</p>\n");
    h.push_str(&timeline::render(report));
    h.push('\n');
    guidance_section(&mut h, report);
    if let Some(m) = &extras.sweep {
        sweep(&mut h, m);
    }
    extra_lists(&mut h, report);
    h.push_str("</body></html>\n");
    h
}

fn summary(h: &mut String, r: &Report, extras: &Extras) {
    h.push_str("<h2>Summary</h2>\n<table id=\"summary\">\n");
    let mut row = |k: &str, v: String| {
        let _ = writeln!(h, "<tr><th>{}</th><td>{v}</td></tr>", esc(k));
    };
    row("run", esc(&r.run_id));
    row(
        "kind / mode",
        format!(
            "{} / {}",
            esc(&format!("{:?}", r.kind).to_lowercase()),
            esc(r.mode.as_str())
        ),
    );
    row("from → to", format!("{} → {}", esc(&r.from), esc(&r.to)));
    row(
        "outcome",
        format!(
            "<span id=\"outcome\" data-outcome=\"{}\">{}</span>{}",
            r.outcome.as_str(),
            badge(r.outcome.as_str()),
            r.outcome_detail
                .as_deref()
                .map(|d| format!(" {}", esc(d)))
                .unwrap_or_default()
        ),
    );
    row("policies", esc(&r.policies.join(", ")));
    row(
        "duration (actual)",
        format!(
            "<span data-actual-ms=\"{}\">{}</span>",
            r.makespan_ms,
            esc(&fmt_ms(r.makespan_ms))
        ),
    );
    row(
        "duration (estimated)",
        match extras
            .estimated_ms
            .or(r.performance.as_ref().and_then(|p| p.estimated_ms))
        {
            Some(e) => {
                let diff = r.makespan_ms as i128 - e as i128;
                format!(
                    "<span data-estimated-ms=\"{e}\">{}</span> (actual {}{})",
                    esc(&fmt_ms(e)),
                    if diff >= 0 { "+" } else { "−" },
                    esc(&fmt_ms(diff.unsigned_abs() as u64))
                )
            }
            None => "<span class=\"muted\">no estimate supplied</span>".into(),
        },
    );
    if let Some(p) = &r.performance {
        row("performance", esc(&p.summary(r.makespan_ms)));
    }
    let counts = r
        .status_counts()
        .into_iter()
        .map(|(k, n)| format!("{} {n}", badge(k)))
        .collect::<Vec<_>>()
        .join(" ");
    row("step instances", format!("{} — {counts}", r.steps.len()));
    h.push_str("</table>\n");
    if !r.warnings.is_empty() {
        h.push_str("<p><b>Warnings</b></p><ul id=\"warnings\">");
        for w in &r.warnings {
            let _ = write!(h, "<li>{}</li>", esc(w));
        }
        h.push_str("</ul>\n");
    }
    if !r.unavailable.is_empty() {
        h.push_str("<p><b>Data left unavailable</b></p><ul id=\"unavailable\">");
        for u in &r.unavailable {
            let _ = write!(
                h,
                "<li data-policy=\"{}\">{}: {}</li>",
                esc(&u.policy),
                esc(&u.policy),
                esc(&u.reason)
            );
        }
        h.push_str("</ul>\n");
    }
}

fn opt_ms(v: Option<u64>) -> String {
    v.map(|x| esc(&fmt_ms(x)))
        .unwrap_or_else(|| "<span class=\"muted\">—</span>".into())
}

fn drill(h: &mut String, d: &DrillSection) {
    let _ = writeln!(
        h,
        "<h2>Drill</h2>\n<p id=\"drill\" data-passed=\"{}\">scenario <b>{}</b>, seed {}: {}</p>",
        d.passed,
        esc(&d.scenario),
        d.seed,
        if d.passed {
            badge("succeeded").replace(">succeeded<", ">passed<")
        } else {
            badge("failed").replace(">failed<", ">FAILED<")
        }
    );
    if !d.clients.is_empty() {
        h.push_str("<p><b>Clients: outage window and RPO loss</b></p>\n<table id=\"clients\"><tr><th>client</th><th>last write on source</th><th>first write on target</th><th>outage window</th><th>writes ok</th><th>writes failed</th><th>lost writes (RPO)</th></tr>\n");
        for c in &d.clients {
            let _ = writeln!(
                h,
                "<tr data-client=\"{}\" data-window-ms=\"{}\" data-lost-writes=\"{}\"><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
                esc(&c.client),
                c.window_ms.map(|v| v.to_string()).unwrap_or_default(),
                c.lost_writes,
                esc(&c.client),
                opt_ms(c.last_source_ok_ms),
                opt_ms(c.first_target_ok_ms),
                match c.write_cap_reached_ms {
                    Some(t) => format!("not known (write cap reached at {})", opt_ms(Some(t))),
                    None => opt_ms(c.window_ms),
                },
                c.writes_ok,
                c.writes_failed,
                c.lost_writes
            );
        }
        h.push_str("</table>\n");
    }
    if !d.invariants.is_empty() {
        h.push_str("<p><b>Invariants</b></p>\n<table id=\"invariants\"><tr><th>id</th><th>verdict</th><th>detail</th></tr>\n");
        for i in &d.invariants {
            let colour = match i.verdict.as_str() {
                "ok" => "succeeded",
                "violated" => "failed",
                _ => "pending",
            };
            let _ = writeln!(
                h,
                "<tr data-invariant=\"{}\" data-verdict=\"{}\"><td>{}</td><td><span class=\"badge\" style=\"background:{}\">{}</span></td><td>{}</td></tr>",
                esc(&i.id),
                esc(&i.verdict),
                esc(&i.id),
                status_color(colour),
                esc(&i.verdict),
                i.detail.iter().map(|x| esc(x)).collect::<Vec<_>>().join("<br>")
            );
        }
        h.push_str("</table>\n");
    }
    if !d.expect_failures.is_empty() {
        h.push_str("<p><b>Expectations not met</b></p><ul id=\"expect-failures\">");
        for e in &d.expect_failures {
            let _ = write!(h, "<li>{}</li>", esc(e));
        }
        h.push_str("</ul>\n");
    }
}

/// The report's optional `readiness` field, drawn as a generic tree: each node's name,
/// status, message and fix, and its children (any list of objects under it).
fn readiness(h: &mut String, r: &Report) {
    let Ok(v) = serde_json::to_value(r) else {
        return;
    };
    let Some(tree) = v.get("readiness").filter(|t| !t.is_null()) else {
        return;
    };
    h.push_str("<h2>Readiness</h2>\n<div id=\"readiness\" class=\"tree\"><ul>");
    tree_node(h, tree, 0);
    h.push_str("</ul></div>\n");
}

/// Deepest readiness level drawn (a malformed report cannot recurse without bound).
const TREE_DEPTH: usize = 12;

fn tree_node(h: &mut String, v: &serde_json::Value, depth: usize) {
    use serde_json::Value;
    if depth > TREE_DEPTH {
        return;
    }
    match v {
        Value::Array(items) => {
            for i in items {
                tree_node(h, i, depth + 1);
            }
        }
        Value::Object(m) => {
            let text = |k: &str| m.get(k).and_then(Value::as_str).map(str::to_string);
            let name = ["name", "label", "title", "check", "id", "node"]
                .iter()
                .find_map(|k| text(k))
                .unwrap_or_else(|| "readiness".into());
            let status = ["status", "verdict", "state", "level"]
                .iter()
                .find_map(|k| text(k))
                .or_else(|| {
                    m.get("ok").and_then(Value::as_bool).map(|b| {
                        if b {
                            "ok".into()
                        } else {
                            "failed".into()
                        }
                    })
                });
            let _ = write!(
                h,
                "<li data-node=\"{}\" data-status=\"{}\"><b>{}</b>",
                esc(&name),
                esc(status.as_deref().unwrap_or("")),
                esc(&name)
            );
            if let Some(s) = &status {
                let colour = match s.as_str() {
                    "ok" | "pass" | "passed" | "ready" | "succeeded" => "succeeded",
                    "warn" | "warning" => "skipped",
                    "fail" | "failed" | "blocked" | "error" | "not_ready" => "failed",
                    _ => "pending",
                };
                let _ = write!(
                    h,
                    " <span class=\"badge\" style=\"background:{}\">{}</span>",
                    status_color(colour),
                    esc(s)
                );
            }
            for (k, label) in [("message", ""), ("detail", ""), ("fix", "fix: ")] {
                if let Some(t) = text(k) {
                    let _ = write!(h, " <span class=\"{k}\">{}{}</span>", label, esc(&t));
                }
            }
            let kids: Vec<&Value> = m
                .values()
                .filter(|c| matches!(c, Value::Array(a) if a.iter().any(Value::is_object)))
                .collect();
            if !kids.is_empty() {
                h.push_str("<ul>");
                for c in kids {
                    tree_node(h, c, depth + 1);
                }
                h.push_str("</ul>");
            }
            h.push_str("</li>");
        }
        _ => {}
    }
}

fn steps(h: &mut String, r: &Report) {
    h.push_str("<h2>Steps</h2>\n<table id=\"steps\"><thead><tr><th>seed</th><th>step / instance</th><th>status</th><th>reason</th><th class=\"num\">start</th><th class=\"num\">end</th><th class=\"num\">duration</th></tr></thead>\n");
    // Group instances by step id, groups in order of their first instance.
    let mut order: Vec<StepId> = Vec::new();
    let mut groups: BTreeMap<StepId, Vec<&StepRecord>> = BTreeMap::new();
    for s in &r.steps {
        if !groups.contains_key(&s.step) {
            order.push(s.step);
        }
        groups.entry(s.step).or_default().push(s);
    }
    for id in order {
        let insts = &groups[&id];
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for i in insts {
            *counts.entry(i.status.name()).or_default() += 1;
        }
        let _ = writeln!(
            h,
            "<tbody data-step-group=\"{}\"><tr class=\"group\"><th>{}</th><th colspan=\"6\">{} <span class=\"muted\">({} instance{})</span> {}</th></tr>",
            esc(id.as_str()),
            esc(&insts[0].seed_no),
            esc(id.as_str()),
            insts.len(),
            if insts.len() == 1 { "" } else { "s" },
            counts
                .iter()
                .map(|(k, n)| format!("{} {n}", badge(k)))
                .collect::<Vec<_>>()
                .join(" ")
        );
        for s in insts {
            let scope = match (&s.policy, &s.zone) {
                (Some(p), _) => format!("policy {}", esc(p)),
                (None, Some(z)) => format!("zone {}", esc(z)),
                (None, None) => "run".into(),
            };
            let dur = match (s.start_ms, s.end_ms) {
                (Some(a), Some(b)) => esc(&fmt_ms(b.saturating_sub(a))),
                _ => String::new(),
            };
            let _ = writeln!(
                h,
                "<tr class=\"inst\" data-idx=\"{}\" data-step=\"{}\" data-policy=\"{}\" data-zone=\"{}\" data-status=\"{}\"><td>{}</td><td>{scope}{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{dur}</td></tr>",
                s.idx,
                esc(s.step.as_str()),
                esc(s.policy.as_deref().unwrap_or("")),
                esc(s.zone.as_deref().unwrap_or("")),
                s.status.name(),
                esc(&s.seed_no),
                if s.acted { "" } else if s.status.name() == "succeeded" { " <span class=\"muted\">(already done)</span>" } else { "" },
                badge(s.status.name()),
                esc(&reason(s)),
                s.start_ms.map(|v| esc(&fmt_ms(v))).unwrap_or_default(),
                s.end_ms.map(|v| esc(&fmt_ms(v))).unwrap_or_default(),
            );
        }
        h.push_str("</tbody>\n");
    }
    h.push_str("</table>\n");
}

/// For every failed or skipped step: one card per (step id, status) with the catalogue's
/// impact, data-loss risk and recovery, listing the affected instances and their reasons.
fn guidance_section(h: &mut String, r: &Report) {
    let mut cards: Vec<((StepId, &'static str), Vec<&StepRecord>)> = Vec::new();
    for s in &r.steps {
        let st = s.status.name();
        if st != "failed" && st != "skipped" {
            continue;
        }
        match cards.iter_mut().find(|(k, _)| *k == (s.step, st)) {
            Some((_, v)) => v.push(s),
            None => cards.push(((s.step, st), vec![s])),
        }
    }
    h.push_str("<h2>Failed and skipped steps: impact, data-loss risk, recovery</h2>\n<div id=\"guidance\">\n");
    if cards.is_empty() {
        h.push_str("<p class=\"muted\">No step failed or was skipped.</p>\n");
    }
    for ((id, st), insts) in cards {
        let g = guidance(id);
        let _ = write!(
            h,
            "<div class=\"card {st}\" data-step=\"{}\" data-status=\"{st}\"><b>{} {}</b> {} <span class=\"muted\">({} instance{})</span>\n<dl><dt>Impact</dt><dd class=\"impact\">{}</dd><dt>Data-loss risk</dt><dd class=\"data-loss-risk\">{}</dd><dt>Recovery</dt><dd class=\"recovery\">{}</dd></dl><ul>",
            esc(id.as_str()),
            esc(&insts[0].seed_no),
            esc(id.as_str()),
            badge(st),
            insts.len(),
            if insts.len() == 1 { "" } else { "s" },
            esc(g.impact),
            esc(g.data_loss_risk),
            esc(g.recovery)
        );
        for s in insts {
            let who = s
                .policy
                .as_deref()
                .map(|p| format!("policy {p}"))
                .or_else(|| s.zone.as_deref().map(|z| format!("zone {z}")))
                .unwrap_or_else(|| "run".into());
            let _ = write!(
                h,
                "<li data-idx=\"{}\" data-policy=\"{}\" data-zone=\"{}\">{}: {}</li>",
                s.idx,
                esc(s.policy.as_deref().unwrap_or("")),
                esc(s.zone.as_deref().unwrap_or("")),
                esc(&who),
                esc(&reason(s))
            );
        }
        h.push_str("</ul></div>\n");
    }
    h.push_str("</div>\n");
}

fn sweep(h: &mut String, m: &SweepMatrix) {
    h.push_str("<h2>Fault sweep</h2>\n<p class=\"muted\">Each step × each fault kind: the run's outcome; a failing case links to its replay file.</p>\n<table id=\"sweep\"><tr><th>step \\ fault</th>");
    for f in &m.faults {
        let _ = write!(h, "<th>{}</th>", esc(f));
    }
    h.push_str("</tr>\n");
    let cells: BTreeMap<(&str, &str), &SweepCell> = m
        .cells
        .iter()
        .map(|c| ((c.step.as_str(), c.fault.as_str()), c))
        .collect();
    for s in &m.steps {
        let _ = write!(h, "<tr data-step=\"{}\"><th>{}</th>", esc(s), esc(s));
        for f in &m.faults {
            match cells.get(&(s.as_str(), f.as_str())) {
                None => {
                    let _ = write!(
                        h,
                        "<td class=\"cell-none\" data-step=\"{}\" data-fault=\"{}\" data-outcome=\"\">not run</td>",
                        esc(s),
                        esc(f)
                    );
                }
                Some(c) => {
                    let link = match c.replay.as_deref() {
                        // Only local files: the report never points anywhere else.
                        Some(p) if !p.contains("://") && !p.starts_with("//") => {
                            format!(" <a href=\"{}\">replay</a>", esc(p))
                        }
                        _ => String::new(),
                    };
                    let _ = write!(
                        h,
                        "<td class=\"{}\" data-step=\"{}\" data-fault=\"{}\" data-outcome=\"{}\" data-passed=\"{}\">{}{link}</td>",
                        if c.passed { "cell-ok" } else { "cell-bad" },
                        esc(s),
                        esc(f),
                        esc(&c.outcome),
                        c.passed,
                        esc(&c.outcome)
                    );
                }
            }
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</table>\n");
}

fn extra_lists(h: &mut String, r: &Report) {
    if !r.removed_config.is_empty() {
        h.push_str("<h2>Configuration removed by the run</h2>\n<table id=\"removed-config\"><tr><th>cluster</th><th>kind</th><th>path</th><th>policy</th><th>definition</th></tr>\n");
        for c in &r.removed_config {
            let def = serde_json::to_string_pretty(&c.definition).unwrap_or_default();
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><details><summary>definition</summary><pre>{}</pre></details></td></tr>",
                esc(&c.cluster),
                esc(&c.kind),
                esc(&c.path),
                esc(c.policy.as_deref().unwrap_or("")),
                esc(&def)
            );
        }
        h.push_str("</table>\n");
    }
    if !r.cached_schedules.is_empty() || !r.config_jobs.is_empty() {
        h.push_str("<h2>Schedules and config jobs</h2>\n<table id=\"policies\"><tr><th>policy</th><th>cached schedule</th><th>config job</th></tr>\n");
        let mut names: Vec<&String> = r
            .cached_schedules
            .keys()
            .chain(r.config_jobs.keys())
            .collect();
        names.sort();
        names.dedup();
        for p in names {
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(p),
                esc(r.cached_schedules.get(p).map(String::as_str).unwrap_or("")),
                esc(r.config_jobs.get(p).map(String::as_str).unwrap_or(""))
            );
        }
        h.push_str("</table>\n");
    }
}

/// Write the HTML report to `path`.
pub fn write_file(path: &std::path::Path, report: &Report, extras: &Extras) -> std::io::Result<()> {
    std::fs::write(path, render(report, extras))
}

#[cfg(test)]
mod tests;
