//! The lab's judge: the invariants of DESIGN.md §6 (I1–I12), judged independently of what
//! they judge.
//!
//! The judge reads only the world — the clusters' state and audit log (`sim_onefs`), the AD
//! domain, the site DNS and DFS (`sim_ad_dns`, [`crate::world`]), the clients' log
//! ([`crate::clients`]) and samples of all of these taken while the run went on
//! ([`sample`]) —, the scenario ([`crate::scenario`], its `run:` section read as the scenario
//! format) and the report's **published JSON** ([`report`]). It imports nothing from the
//! orchestrator crate (a test, `tests/tests/judge_independent.rs`, keeps it so), and judges
//! order and skips against its own reference model of the documented rules ([`model`]),
//! not against the DAG the report carries.
//!
//! Every result is `ok`, `violated` or `not_judged{reason}`: an invariant that found
//! nothing to judge says so instead of passing. A scenario whose `expect.invariants` lists
//! an invariant that was not judged fails; `invariants: all` fails on violations only and
//! lists what was not judged.
//!
//! | id | where | judged from |
//! |---|---|---|
//! | I1, I2, I3 | [`steps`] | the report against [`model`] and the audit log |
//! | I4, I5 | [`data`] | the clients' log, the files after the run, the audit log |
//! | I6, I7 | [`access`] | the AD domain, the clients' log, the report's `unavailable` |
//! | I8, I10, I11 | [`config`] | the clusters' configuration before and after the run |
//! | I12 | [`safety`] | world samples at every step end |
//! | I9 | `crate::crash` | a crash run (not judged in a plain run) |

pub mod access;
pub mod config;
pub mod data;
pub mod facts;
pub mod model;
pub mod report;
pub mod safety;
pub mod sample;
pub mod steps;

use serde::{Deserialize, Serialize};
use sim_onefs::AuditEntry;

use crate::clients::{ClientEvent, Outage};
use crate::scenario::Scenario;
use crate::world::World;

pub use sample::{Sampler, Samples, StepEnd};

/// Every invariant id of the design.
pub const ALL_INVARIANTS: [&str; 12] = [
    "I1", "I2", "I3", "I4", "I5", "I6", "I7", "I8", "I9", "I10", "I11", "I12",
];

/// The invariants a plain run can judge (I9 needs a crash run: see `crate::crash`).
pub const JUDGED_IN_A_RUN: [&str; 11] = [
    "I1", "I2", "I3", "I4", "I5", "I6", "I7", "I8", "I10", "I11", "I12",
];

/// The verdict on one invariant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum Verdict {
    /// Judged, and it holds.
    Ok,
    /// Judged, and it does not hold.
    Violated { violations: Vec<String> },
    /// There was nothing to judge, or the judge lacked what it needs.
    NotJudged { reason: String },
}

/// The result of one invariant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvariantResult {
    pub id: String,
    #[serde(flatten)]
    pub verdict: Verdict,
    /// What the invariant deliberately left unjudged within what it judged, and why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl InvariantResult {
    pub fn is_ok(&self) -> bool {
        self.verdict == Verdict::Ok
    }

    pub fn is_violated(&self) -> bool {
        matches!(self.verdict, Verdict::Violated { .. })
    }

    pub fn is_judged(&self) -> bool {
        !matches!(self.verdict, Verdict::NotJudged { .. })
    }

    /// The violations (empty unless violated).
    pub fn violations(&self) -> &[String] {
        match &self.verdict {
            Verdict::Violated { violations } => violations,
            _ => &[],
        }
    }

    /// Why it was not judged.
    pub fn not_judged_reason(&self) -> Option<&str> {
        match &self.verdict {
            Verdict::NotJudged { reason } => Some(reason),
            _ => None,
        }
    }
}

/// What one invariant found while judging.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Finding {
    /// How many things it judged (0 = it had nothing to judge).
    pub judged: usize,
    pub violations: Vec<String>,
    pub notes: Vec<String>,
    /// Why there was nothing to judge (used when `judged` is 0).
    pub not_judged: Option<String>,
}

impl Finding {
    /// Nothing to judge, because …
    pub fn not_judged(reason: impl Into<String>) -> Finding {
        Finding {
            not_judged: Some(reason.into()),
            ..Finding::default()
        }
    }

    fn into_result(self, id: &str) -> InvariantResult {
        let verdict = if !self.violations.is_empty() {
            Verdict::Violated {
                violations: self.violations,
            }
        } else if self.judged == 0 {
            Verdict::NotJudged {
                reason: self.not_judged.unwrap_or_else(|| "nothing to judge".into()),
            }
        } else {
            Verdict::Ok
        };
        InvariantResult {
            id: id.to_string(),
            verdict,
            notes: self.notes,
        }
    }
}

/// What the judge reads.
pub struct Evidence<'a> {
    /// The report's published JSON bytes (`serde_json::to_vec(&report)` at the boundary):
    /// read straight into the judge's own types, never held as a `serde_json::Value` (a
    /// 10,000-step report is ~10 MB of JSON but ~100 MB as a `Value`).
    pub report: &'a [u8],
    /// The clusters' audit log: all of it, or at least what [`audit_wanted`] asks for.
    pub audit: &'a [AuditEntry],
    /// Sim ms at which the report's time 0 happened (`None`: unknown, e.g. real-time HTTP).
    pub run_offset_ms: Option<u64>,
    /// Sim ms at which the clusters `prelude_faults` took down came back, just before the
    /// run's discovery (`None`: no prelude faults, or unknown).
    pub returned_at_ms: Option<u64>,
    pub scenario: &'a Scenario,
    /// The world after the run.
    pub world: Option<&'a World>,
    /// Every client write attempt.
    pub clients: &'a [ClientEvent],
    /// Samples taken while the run went on.
    pub samples: Option<&'a Samples>,
    /// Where the orchestrator's config replication store is (a SQLite file path, or an
    /// in-memory URI opened with `SQLITE_OPEN_URI`): I10 reads its `config_jobs` table,
    /// the store's published format.
    pub config_store: Option<&'a str>,
}

/// What of the audit log the judge reads, by action (the drill runner builds only that
/// from the run's log: [`sim_onefs::audit::AuditLog::entries_where`]). No invariant reads a
/// client's `fs.write` entry (most of a run's log), and only the actions listed here have
/// their `detail` read: an invariant that starts reading another entry's detail must add
/// its action here.
pub fn audit_wanted(action: &str) -> sim_onefs::Keep {
    match action {
        "fs.write" => sim_onefs::Keep::Skip,
        // I3, I4 (`facts::target_records`, `data::last_sync_snapshot_at`), I6, I7, I12
        // (`access::planted_spns`, `access::KerberosFaults`,
        // `safety::s3_zone_home`).
        "sync.target_policy.state"
        | "sync.job.start"
        | "sync.job.state"
        | "ad.spn_plant"
        | "ad.spns.update" => sim_onefs::Keep::Whole,
        _ => sim_onefs::Keep::Brief,
    }
}

/// Judge the invariants named in `which` (unknown ids are `not_judged`).
pub fn judge(ev: &Evidence<'_>, which: &[&str]) -> Vec<InvariantResult> {
    judge_run(ev, which).0
}

/// [`judge`] and [`client_outages`] from one reading of the evidence (the facts are built
/// once: a 1000-policy report takes a noticeable time to read).
pub fn judge_run(ev: &Evidence<'_>, which: &[&str]) -> (Vec<InvariantResult>, Vec<Outage>) {
    let facts = match facts::Facts::new(ev) {
        Ok(f) => f,
        Err(e) => {
            let results = which
                .iter()
                .map(|&id| {
                    let finding = if id == "I3" {
                        Finding {
                            judged: 1,
                            violations: vec![format!("the report cannot be read: {e}")],
                            ..Finding::default()
                        }
                    } else {
                        Finding::not_judged(format!("the report cannot be read: {e}"))
                    };
                    finding.into_result(id)
                })
                .collect();
            return (results, Vec::new());
        }
    };
    // The reference model indexes every instance of the report: built once, when the
    // first of I1, I2, I3, I12 asks, not once per invariant.
    let model = std::cell::OnceCell::new();
    let model = || model.get_or_init(|| model::Model::new(&facts));
    let results = which
        .iter()
        .map(|&id| {
            let finding = match id {
                "I1" => steps::i1_order_in(model()),
                "I2" => steps::i2_skip_in(model()),
                "I3" => steps::i3_truthful_in(model()),
                "I4" => data::i4_no_data_loss(&facts),
                "I5" => data::i5_no_split_brain(&facts),
                "I6" => access::i6_spn_unique(&facts),
                "I7" => access::i7_access(&facts),
                "I8" => config::i8_config_parity(&facts),
                "I9" => Finding::not_judged(
                    "needs a crash run (drill's crash harness, tests/tests/crash_points.rs)",
                ),
                "I10" => config::i10_config_jobs(&facts),
                "I11" => config::i11_conservation(&facts),
                "I12" => safety::i12_safety_in(model()),
                other => Finding::not_judged(format!("{other} is not an invariant of DESIGN §6")),
            };
            finding.into_result(id)
        })
        .collect();
    (results, data::client_outages(&facts))
}

/// Per-client outage windows and lost writes (empty when the report cannot be read).
pub fn client_outages(ev: &Evidence<'_>) -> Vec<Outage> {
    match facts::Facts::new(ev) {
        Ok(f) => data::client_outages(&f),
        Err(_) => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts_serialise_with_a_result_tag() {
        let r = Finding {
            judged: 2,
            ..Finding::default()
        }
        .into_result("I1");
        assert!(r.is_ok());
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["result"], "ok");
        let r = Finding::not_judged("nothing").into_result("I5");
        assert_eq!(r.not_judged_reason(), Some("nothing"));
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["result"], "not_judged");
        assert_eq!(v["reason"], "nothing");
        let back: InvariantResult = serde_json::from_value(v).unwrap();
        assert_eq!(back, r);
        let r = Finding {
            judged: 0,
            violations: vec!["x".into()],
            ..Finding::default()
        }
        .into_result("I2");
        assert!(r.is_violated());
        assert_eq!(r.violations(), ["x".to_string()]);
    }

    #[test]
    fn nothing_judged_is_not_ok() {
        let r = Finding::default().into_result("I4");
        assert!(!r.is_ok() && !r.is_judged());
    }
}
