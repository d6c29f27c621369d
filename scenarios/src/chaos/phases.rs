//! How far a run got: the phases of a failover, derived from the report's step records only
//! (the published report schema), so a campaign can say how many of its seeds tested
//! anything after validation.
//!
//! | phase | reached when |
//! |---|---|
//! | `planned` | the orchestrator discovered, planned and ran (a report exists) |
//! | `validated` | `validate` succeeded and `block_on_warning` did not stop the run |
//! | `synced` | some policy's `sync_data` succeeded (uncontrolled: was skipped because the source is down) |
//! | `cut_over` | some `allow_write` instance was started |
//! | `resync_prepped` | some `resync_prep` succeeded |
//! | `completed` | the run outcome is `succeeded` |
//!
//! A run *meant* to stop before the cut-over — the generator aimed a fault at a gate
//! ([`super::gen::Hold`]) — and that did stop there is `held_as_intended`; together with
//! `cut_over` it is the share of seeds that spent themselves on what they were generated for.

use orchestrator::{Outcome, Report, SkipReason, StepId, StepStatus};
use serde::{Deserialize, Serialize};

use super::gen::Hold;

/// The phases, in run order.
pub const PHASES: [&str; 6] = [
    "planned",
    "validated",
    "synced",
    "cut_over",
    "resync_prepped",
    "completed",
];

/// The phase a run never reaches because it did not start (discovery or planning failed).
pub const NOT_STARTED: &str = "not_started";

/// The phases of [`PHASES`] a run reached.
pub fn reached(report: &Report) -> Vec<&'static str> {
    let any = |step: StepId, f: &dyn Fn(&StepStatus) -> bool| {
        report.steps.iter().any(|r| r.step == step && f(&r.status))
    };
    let all = |step: StepId, f: &dyn Fn(&StepStatus) -> bool| {
        report
            .steps
            .iter()
            .filter(|r| r.step == step)
            .all(|r| f(&r.status))
    };
    let mut out = vec!["planned"];
    let validated = any(StepId::Validate, &|s| *s == StepStatus::Succeeded)
        && all(StepId::BlockOnWarning, &|s| s.is_ok());
    if validated {
        out.push("validated");
    }
    if any(StepId::SyncData, &|s| {
        s.is_ok()
            || matches!(
                s,
                StepStatus::Skipped {
                    reason: SkipReason::SourceUnreachable
                }
            )
    }) {
        out.push("synced");
    }
    let started = report.steps.iter().any(|r| {
        r.step == StepId::AllowWrite
            && (r.start_seq.is_some()
                || r.start_ms.is_some()
                || matches!(
                    r.status,
                    StepStatus::Running | StepStatus::Succeeded | StepStatus::Failed { .. }
                ))
    });
    if started {
        out.push("cut_over");
    }
    if any(StepId::ResyncPrep, &|s| *s == StepStatus::Succeeded) {
        out.push("resync_prepped");
    }
    if report.outcome == Outcome::Succeeded {
        out.push("completed");
    }
    out
}

/// Whether the run stopped where the generator aimed it: before any `allow_write` started,
/// at the gate `hold` names.
pub fn held_as_intended(report: &Report, hold: Hold) -> bool {
    let failed = |steps: &[StepId]| {
        report
            .steps
            .iter()
            .any(|r| steps.contains(&r.step) && matches!(r.status, StepStatus::Failed { .. }))
    };
    let cut_over = reached(report).contains(&"cut_over");
    !cut_over
        && match hold {
            Hold::Validation => failed(&[
                StepId::Validate,
                StepId::BlockOnWarning,
                StepId::DataIntegrityLock,
                StepId::DisableProtocols,
            ]),
            Hold::ZoneGate => failed(&[StepId::ZoneGate]),
            Hold::Networking => failed(&[
                StepId::RenameSourceSmartconnect,
                StepId::RemoveSourceSpns,
                StepId::MoveSmartconnectToTarget,
                StepId::AddTargetSpns,
                StepId::RepointDns,
            ]),
        }
}

/// Runs per phase, and the shares they make of all runs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PhaseStats {
    /// Runs counted (every seed of the campaign, started or not).
    pub runs: u64,
    /// Runs that reached each phase (`not_started` counts the runs that never started).
    pub reached: std::collections::BTreeMap<String, u64>,
    /// `reached / runs`, per phase, in percent (one decimal).
    pub share_pct: std::collections::BTreeMap<String, f64>,
    /// Runs that did not cut over because a targeted fault held them at a gate, as the
    /// generator meant.
    pub held_as_intended: u64,
    /// Runs that reached the cut-over or were held as intended, in percent of all runs.
    pub cut_over_or_held_pct: f64,
}

impl PhaseStats {
    /// Count one run: the phases it reached (empty when it did not start) and whether it was
    /// held as intended.
    pub fn add(&mut self, phases: &[String], held: bool) {
        self.runs += 1;
        if phases.is_empty() {
            *self.reached.entry(NOT_STARTED.to_string()).or_insert(0) += 1;
        }
        for p in phases {
            *self.reached.entry(p.clone()).or_insert(0) += 1;
        }
        if held {
            self.held_as_intended += 1;
        }
        self.finish();
    }

    fn pct(&self, n: u64) -> f64 {
        if self.runs == 0 {
            0.0
        } else {
            (n as f64 * 1000.0 / self.runs as f64).round() / 10.0
        }
    }

    fn finish(&mut self) {
        self.share_pct = PHASES
            .iter()
            .chain(std::iter::once(&NOT_STARTED))
            .map(|p| {
                let n = self.reached.get(*p).copied().unwrap_or(0);
                (p.to_string(), self.pct(n))
            })
            .collect();
        let cut = self.reached.get("cut_over").copied().unwrap_or(0);
        self.cut_over_or_held_pct = self.pct(cut + self.held_as_intended);
    }

    /// Share (percent) of runs that reached `phase`.
    pub fn share(&self, phase: &str) -> f64 {
        self.share_pct.get(phase).copied().unwrap_or(0.0)
    }

    /// One line: `phases: planned 95.0% validated 80.1% ...`.
    pub fn render(&self) -> String {
        let mut s = String::from("phases reached (share of runs):");
        for p in PHASES {
            s.push_str(&format!(" {p} {:.1}%", self.share(p)));
        }
        s.push_str(&format!("   not_started {:.1}%", self.share(NOT_STARTED)));
        s.push('\n');
        s.push_str(&format!(
            "cut-over reached or held at a gate as intended: {:.1}% ({} held as intended)\n",
            self.cut_over_or_held_pct, self.held_as_intended
        ));
        s
    }
}
