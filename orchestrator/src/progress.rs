//! Progress for humans on a terminal: a live step tree drawn with `indicatif` while a run
//! executes (`dr failover`/`failback`/`rehearsal`/`resume`, `drill run`).
//!
//! One header line counts the step instances done / running / failed / skipped; below it,
//! one line per policy (or zone, or `run` for run-wide steps) that has something to show —
//! running steps first, then failures — at most [`MAX_LINES`] of them, so a 200-policy run
//! stays readable. A failed or skipped instance is also printed above the tree, so the
//! scrollback keeps them. It is driven only by the executor's [`RunEvent`]s through an
//! [`Observer`]; it never changes what the run does.
//!
//! Quiet unless asked for and stderr is a terminal ([`StepTree::wanted`]): machine output
//! (`--json`) and pipes get no progress at all.

use std::collections::{BTreeMap, BTreeSet};
use std::io::IsTerminal;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::ctx::{lock, Observer, RunEvent};
use crate::report::StepRecord;

/// Most per-policy lines drawn under the header.
pub const MAX_LINES: usize = 10;

/// Counts of one scope (a policy, a zone, or the run).
#[derive(Debug, Default, Clone)]
struct Scope {
    done: usize,
    failed: usize,
    skipped: usize,
    /// Running instances: index → label.
    running: BTreeMap<usize, String>,
    /// The first failure's label.
    first_failure: Option<String>,
}

#[derive(Debug, Default)]
struct State {
    scopes: BTreeMap<String, Scope>,
    running: BTreeSet<usize>,
    done: usize,
    failed: usize,
    skipped: usize,
}

/// The live step tree.
pub struct StepTree {
    multi: MultiProgress,
    header: ProgressBar,
    lines: Vec<ProgressBar>,
    state: Mutex<State>,
}

fn scope_of(r: &StepRecord) -> String {
    match (&r.policy, &r.zone) {
        (Some(p), _) => p.clone(),
        (None, Some(z)) => format!("zone {z}"),
        (None, None) => "run".into(),
    }
}

fn label(r: &StepRecord) -> String {
    format!("{} {}", r.seed_no, r.step)
}

impl StepTree {
    /// Whether progress should be drawn: not with machine output, and only to a terminal.
    pub fn wanted(json: bool) -> bool {
        !json && std::io::stderr().is_terminal()
    }

    /// A tree drawn on stderr when `show`, else `None` (nothing is drawn or computed).
    pub fn new(show: bool) -> Option<Arc<StepTree>> {
        show.then(|| Arc::new(Self::with_target(ProgressDrawTarget::stderr())))
    }

    /// A tree drawing to `target` (tests use a hidden one).
    pub fn with_target(target: ProgressDrawTarget) -> StepTree {
        let multi = MultiProgress::with_draw_target(target);
        let header = multi.add(ProgressBar::new_spinner());
        header.set_style(
            ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        header.enable_steady_tick(Duration::from_millis(120));
        let line_style = ProgressStyle::with_template("  {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar());
        let lines = (0..MAX_LINES)
            .map(|_| {
                let b = multi.add(ProgressBar::new(1));
                b.set_style(line_style.clone());
                b
            })
            .collect();
        let t = StepTree {
            multi,
            header,
            lines,
            state: Mutex::new(State::default()),
        };
        t.redraw(&State::default());
        t
    }

    /// The observer that feeds this tree.
    pub fn observer(self: &Arc<Self>) -> Observer {
        let me = self.clone();
        Arc::new(move |ev: &RunEvent| me.on_event(ev))
    }

    /// Update from one event.
    pub fn on_event(&self, ev: &RunEvent) {
        let mut st = lock(&self.state);
        match ev {
            RunEvent::StepStarted(r) => {
                st.running.insert(r.idx);
                st.scopes
                    .entry(scope_of(r))
                    .or_default()
                    .running
                    .insert(r.idx, label(r));
            }
            RunEvent::StepEnded(r) => {
                st.running.remove(&r.idx);
                let name = r.status.name();
                let (failed, skipped) = (name == "failed", name == "skipped");
                if failed || skipped {
                    let _ = self.multi.println(format!(
                        "{name}: {}[{}] {}",
                        label(r),
                        scope_of(r),
                        crate::html::reason(r)
                    ));
                }
                st.done += usize::from(!failed && !skipped);
                st.failed += usize::from(failed);
                st.skipped += usize::from(skipped);
                let sc = st.scopes.entry(scope_of(r)).or_default();
                sc.running.remove(&r.idx);
                if failed {
                    sc.failed += 1;
                    sc.first_failure.get_or_insert_with(|| label(r));
                } else if skipped {
                    sc.skipped += 1;
                } else {
                    sc.done += 1;
                }
            }
            RunEvent::StepsAdded(_) | RunEvent::State(_) => return,
        }
        self.redraw(&st);
    }

    /// The header and per-scope lines for `st`.
    fn render(st: &State) -> (String, Vec<String>) {
        let header = format!(
            "steps: {} done · {} running · {} failed · {} skipped",
            st.done,
            st.running.len(),
            st.failed,
            st.skipped
        );
        // Running scopes first, then those with failures, then the rest by name.
        let mut scopes: Vec<(&String, &Scope)> = st
            .scopes
            .iter()
            .filter(|(_, s)| !s.running.is_empty() || s.failed > 0)
            .collect();
        scopes.sort_by_key(|(n, s)| (s.running.is_empty(), s.failed == 0, n.as_str()));
        let shown = scopes.len().min(MAX_LINES);
        let mut lines: Vec<String> = scopes[..shown]
            .iter()
            .enumerate()
            .map(|(i, (name, s))| {
                let last = i + 1 == shown && scopes.len() <= MAX_LINES;
                let mut l = format!("{} {name}: ", if last { "└" } else { "├" });
                if !s.running.is_empty() {
                    let r: Vec<&str> = s.running.values().map(String::as_str).collect();
                    l.push_str(&format!("running {} · ", r.join(", ")));
                }
                l.push_str(&format!("{} done", s.done));
                if s.failed > 0 {
                    l.push_str(&format!(
                        " · {} failed (first: {})",
                        s.failed,
                        s.first_failure.as_deref().unwrap_or("?")
                    ));
                }
                if s.skipped > 0 {
                    l.push_str(&format!(" · {} skipped", s.skipped));
                }
                l
            })
            .collect();
        if scopes.len() > MAX_LINES {
            if let Some(last) = lines.last_mut() {
                *last = format!("{last}\n  └ … {} more", scopes.len() - MAX_LINES);
            }
        }
        (header, lines)
    }

    fn redraw(&self, st: &State) {
        let (header, lines) = Self::render(st);
        self.header.set_message(header);
        for (i, bar) in self.lines.iter().enumerate() {
            bar.set_message(lines.get(i).cloned().unwrap_or_default());
        }
    }

    /// Remove the tree from the terminal (the caller prints the final table).
    pub fn finish(&self) {
        for b in &self.lines {
            b.finish_and_clear();
        }
        self.header.finish_and_clear();
        let _ = self.multi.clear();
    }

    /// The current header and lines (for tests).
    pub fn snapshot(&self) -> (String, Vec<String>) {
        Self::render(&lock(&self.state))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::StepId;
    use crate::report::{SkipReason, StepStatus};

    fn rec(idx: usize, step: StepId, policy: &str, status: StepStatus) -> StepRecord {
        StepRecord {
            idx,
            seed_no: "4".into(),
            step,
            policy: Some(policy.into()),
            zone: None,
            deps: vec![],
            status,
            start_ms: Some(0),
            end_ms: None,
            start_seq: None,
            end_seq: None,
            acted: false,
            indeterminate: false,
            detail: None,
        }
    }

    #[test]
    fn counts_and_per_policy_lines_follow_the_events() {
        let t = StepTree::with_target(ProgressDrawTarget::hidden());
        t.on_event(&RunEvent::StepStarted(rec(
            1,
            StepId::SyncData,
            "p1",
            StepStatus::Running,
        )));
        t.on_event(&RunEvent::StepStarted(rec(
            2,
            StepId::SyncData,
            "p2",
            StepStatus::Running,
        )));
        let (h, lines) = t.snapshot();
        assert_eq!(h, "steps: 0 done · 2 running · 0 failed · 0 skipped");
        assert_eq!(lines.len(), 2);
        assert!(lines[0].contains("p1: running 4 sync_data"), "{lines:?}");
        t.on_event(&RunEvent::StepEnded(rec(
            1,
            StepId::SyncData,
            "p1",
            StepStatus::Succeeded,
        )));
        t.on_event(&RunEvent::StepEnded(rec(
            2,
            StepId::SyncData,
            "p2",
            StepStatus::Failed {
                error: "boom".into(),
            },
        )));
        t.on_event(&RunEvent::StepEnded(rec(
            3,
            StepId::AllowWrite,
            "p2",
            StepStatus::Skipped {
                reason: SkipReason::UpstreamFailed {
                    step: StepId::SyncData,
                    policy: "p2".into(),
                },
            },
        )));
        let (h, lines) = t.snapshot();
        assert_eq!(h, "steps: 1 done · 0 running · 1 failed · 1 skipped");
        // p1 is idle and fine: not shown; p2 failed: shown with its first failure.
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(lines[0].contains("p2: 0 done · 1 failed (first: 4 sync_data) · 1 skipped"));
    }

    #[test]
    fn many_policies_are_capped() {
        let t = StepTree::with_target(ProgressDrawTarget::hidden());
        for i in 0..(MAX_LINES + 5) {
            t.on_event(&RunEvent::StepStarted(rec(
                i,
                StepId::SyncData,
                &format!("p{i:03}"),
                StepStatus::Running,
            )));
        }
        let (_, lines) = t.snapshot();
        assert_eq!(lines.len(), MAX_LINES);
        assert!(lines[MAX_LINES - 1].ends_with("… 5 more"));
    }

    #[test]
    fn not_drawn_for_json_or_a_pipe() {
        assert!(!StepTree::wanted(true));
        assert!(StepTree::new(false).is_none());
    }
}
