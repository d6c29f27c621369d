//! The step × fault-kind coverage matrix of a campaign.
//!
//! A pair (step, kind) is *hit* when a run's audit log has a `fault.inject` entry of that
//! kind carrying that step in its request context (the orchestrator's `x-dr-step` header).
//! Rows are the steps that appeared in at least one run's plan; columns are every fault kind
//! of the simulator ([`super::gen::EFFECT_KINDS`]). Pairs that never were hit are listed, so
//! a campaign says what it did *not* test.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use sim_onefs::AuditEntry;

use super::gen::{job_fault_steps, EFFECT_KINDS, HARNESS_EFFECT_KINDS, NO_PAPI_STEPS};

/// (step, fault kind) pairs hit by one run.
pub fn hits(audit: &[AuditEntry]) -> BTreeSet<(String, String)> {
    audit
        .iter()
        .filter(|e| e.action == "fault.inject")
        .filter_map(|e| {
            let step = e.step.clone()?;
            let kind = e.object.rsplit('/').next()?.to_string();
            Some((step, kind))
        })
        .collect()
}

/// The matrix: counts of runs that hit each pair.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Coverage {
    /// Steps seen in any plan (rows).
    pub steps: BTreeSet<String>,
    /// step → kind → number of runs that hit the pair.
    pub hits: BTreeMap<String, BTreeMap<String, u64>>,
    /// kind → number of generated rules of that kind (hit or not).
    pub generated: BTreeMap<String, u64>,
}

/// Why a pair was never hit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Uncovered {
    pub step: String,
    pub kind: String,
    /// `never_hit`, `not_applicable` (a job fault at a step that posts no such job, or any
    /// cluster fault at a step that makes no PAPI call) or
    /// `harness_kind` (consumed outside the cluster model, no `fault.inject` entry yet).
    pub why: String,
}

impl Coverage {
    /// Add one run.
    pub fn add_run(
        &mut self,
        plan_steps: impl IntoIterator<Item = String>,
        hits: &BTreeSet<(String, String)>,
        generated_kinds: impl IntoIterator<Item = String>,
    ) {
        self.steps.extend(plan_steps);
        for (s, k) in hits {
            *self
                .hits
                .entry(s.clone())
                .or_default()
                .entry(k.clone())
                .or_insert(0) += 1;
        }
        for k in generated_kinds {
            *self.generated.entry(k).or_insert(0) += 1;
        }
    }

    /// Merge another matrix in.
    pub fn merge(&mut self, other: &Coverage) {
        self.steps.extend(other.steps.iter().cloned());
        for (s, m) in &other.hits {
            for (k, n) in m {
                *self
                    .hits
                    .entry(s.clone())
                    .or_default()
                    .entry(k.clone())
                    .or_insert(0) += n;
            }
        }
        for (k, n) in &other.generated {
            *self.generated.entry(k.clone()).or_insert(0) += n;
        }
    }

    /// Pairs (over seen steps × all kinds) never hit, with the reason.
    pub fn uncovered(&self) -> Vec<Uncovered> {
        let mut out = Vec::new();
        for s in &self.steps {
            for k in EFFECT_KINDS {
                let hit = self
                    .hits
                    .get(s)
                    .and_then(|m| m.get(k))
                    .copied()
                    .unwrap_or(0);
                if hit > 0 {
                    continue;
                }
                let why = if HARNESS_EFFECT_KINDS.contains(&k) {
                    "harness_kind"
                } else if NO_PAPI_STEPS.iter().any(|x| x.as_str() == s)
                    || job_fault_steps(k).is_some_and(|st| !st.iter().any(|x| x.as_str() == s))
                {
                    "not_applicable"
                } else {
                    "never_hit"
                };
                out.push(Uncovered {
                    step: s.clone(),
                    kind: k.to_string(),
                    why: why.to_string(),
                });
            }
        }
        out
    }

    /// Number of (step, kind) pairs hit at least once.
    pub fn pairs_hit(&self) -> usize {
        self.hits
            .values()
            .map(|m| m.values().filter(|n| **n > 0).count())
            .sum()
    }

    /// A text table: one row per step, one column per kind, `·` = never hit.
    pub fn render(&self) -> String {
        let short: Vec<String> = EFFECT_KINDS
            .iter()
            .map(|k| k.split('_').map(|w| &w[..1]).collect::<String>())
            .collect();
        // Wide enough for the longest step id (the S3 rollbacks' are long).
        let width = self
            .steps
            .iter()
            .map(|st| st.len() + 1)
            .max()
            .unwrap_or(0)
            .max(28);
        let mut s = format!("{:<width$}", "step \\ fault");
        for k in &short {
            s.push_str(&format!("{k:>6}"));
        }
        s.push('\n');
        for st in &self.steps {
            s.push_str(&format!("{st:<width$}"));
            for k in EFFECT_KINDS {
                let n = self
                    .hits
                    .get(st)
                    .and_then(|m| m.get(k))
                    .copied()
                    .unwrap_or(0);
                if n == 0 {
                    s.push_str(&format!("{:>6}", "·"));
                } else {
                    s.push_str(&format!("{n:>6}"));
                }
            }
            s.push('\n');
        }
        s.push_str("columns: ");
        s.push_str(
            &EFFECT_KINDS
                .iter()
                .zip(&short)
                .map(|(k, sh)| format!("{sh}={k}"))
                .collect::<Vec<_>>()
                .join(" "),
        );
        s.push('\n');
        s
    }
}
