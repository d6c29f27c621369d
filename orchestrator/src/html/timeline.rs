//! The report's timeline: a Gantt-style inline SVG with one bar (`<rect data-step=…>`) per
//! executed step instance (one that has both a start and an end time), one row each, in
//! start order, on a shared time axis. Instances that never ran have no bar; the step table
//! lists them.

use std::fmt::Write;

use super::{esc, fmt_ms, status_color};
use crate::report::{Report, StepRecord};

/// Drawing width of the time axis, in SVG units.
const AXIS_W: f64 = 900.0;
/// Width of the label column left of the axis.
const LABEL_W: f64 = 260.0;
/// Height of one row.
const ROW_H: f64 = 16.0;
/// Height of the axis band at the top.
const HEAD_H: f64 = 22.0;
/// Longest label drawn (characters); the bar's tooltip has the whole name.
const LABEL_CHARS: usize = 40;

/// The executed instances, in the order the timeline draws them (start, then index).
pub fn executed(report: &Report) -> Vec<&StepRecord> {
    let mut v: Vec<&StepRecord> = report
        .steps
        .iter()
        .filter(|r| r.start_ms.is_some() && r.end_ms.is_some())
        .collect();
    v.sort_by_key(|r| (r.start_ms, r.start_seq, r.idx));
    v
}

/// A step instance's label: `seed step[policy or zone]`.
pub(super) fn label(r: &StepRecord) -> String {
    let mut s = format!("{} {}", r.seed_no, r.step);
    if let Some(p) = r.policy.as_deref().or(r.zone.as_deref()) {
        let _ = write!(s, "[{p}]");
    }
    s
}

/// Render the SVG (`<svg id="timeline">`).
pub fn render(report: &Report) -> String {
    let rows = executed(report);
    let end = rows
        .iter()
        .filter_map(|r| r.end_ms)
        .max()
        .unwrap_or(0)
        .max(report.makespan_ms)
        .max(1);
    let scale = AXIS_W / end as f64;
    let height = HEAD_H + ROW_H * rows.len() as f64 + 4.0;
    let width = LABEL_W + AXIS_W + 10.0;
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg id="timeline" role="img" aria-label="timeline of executed steps" viewBox="0 0 {width} {height}" width="{width}" height="{height}" data-instances="{}">"#,
        rows.len()
    );
    // Axis: five ticks with their time.
    for i in 0..=5u64 {
        let t = end * i / 5;
        let x = LABEL_W + t as f64 * scale;
        let _ = write!(
            s,
            r##"<line x1="{x:.1}" y1="{HEAD_H}" x2="{x:.1}" y2="{height}" stroke="#ddd"/><text x="{x:.1}" y="14" font-size="11" text-anchor="middle" fill="#555">{}</text>"##,
            esc(&fmt_ms(t))
        );
    }
    for (row, r) in rows.iter().enumerate() {
        let y = HEAD_H + ROW_H * row as f64;
        let start = r.start_ms.unwrap_or(0);
        let stop = r.end_ms.unwrap_or(start).max(start);
        let x = LABEL_W + start as f64 * scale;
        // Instant steps (gates, quick checks) still get a visible sliver.
        let w = ((stop - start) as f64 * scale).max(2.0);
        let full = label(r);
        let short: String = if full.chars().count() > LABEL_CHARS {
            let mut t: String = full.chars().take(LABEL_CHARS - 1).collect();
            t.push('…');
            t
        } else {
            full.clone()
        };
        let _ = write!(
            s,
            r##"<text x="4" y="{ty:.1}" font-size="11" fill="#222">{}</text><rect x="{x:.1}" y="{ry:.1}" width="{w:.1}" height="{rh:.1}" rx="2" fill="{}" data-idx="{}" data-step="{}" data-policy="{}" data-zone="{}" data-status="{}" data-start-ms="{start}" data-end-ms="{stop}"><title>{} — {} ({} → {}, {})</title></rect>"##,
            esc(&short),
            status_color(r.status.name()),
            r.idx,
            esc(r.step.as_str()),
            esc(r.policy.as_deref().unwrap_or("")),
            esc(r.zone.as_deref().unwrap_or("")),
            r.status.name(),
            esc(&full),
            r.status.name(),
            esc(&fmt_ms(start)),
            esc(&fmt_ms(stop)),
            esc(&fmt_ms(stop - start)),
            ty = y + 12.0,
            ry = y + 2.0,
            rh = ROW_H - 4.0,
        );
    }
    s.push_str("</svg>");
    s
}
