//! The run report as the judge reads it: its own types, parsed from the report's published
//! JSON (the stable schema of DESIGN.md §10). Step ids, outcomes and modes are plain
//! strings; a status is one of `pending | running | succeeded | failed | skipped | manual |
//! not_applicable`, flattened into the step record with its `error` / `reason` /
//! `instructions` / `confirmed` fields; a skip reason is an object tagged by `kind`.
//!
//! Unknown fields are ignored (the schema may grow); a field of the wrong shape is a
//! [`ReportError`], which the judge reports against I3 (truthful report) rather than
//! guessing.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

/// The report does not follow the published schema.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReportError {
    #[error("the report is not a JSON object of the published schema: {0}")]
    Shape(String),
    #[error("step #{idx} ({step}): unknown status {status:?}")]
    UnknownStatus {
        idx: usize,
        step: String,
        status: String,
    },
    #[error("step #{idx} ({step}): status {status} without its `{field}` field")]
    MissingField {
        idx: usize,
        step: String,
        status: String,
        field: &'static str,
    },
}

/// Why a step was skipped, as the report says it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Skip {
    UpstreamFailed {
        step: String,
        policy: String,
    },
    ValidationFailed {
        step: String,
    },
    ZoneGate {
        zone: String,
        failed_policies: Vec<String>,
    },
    SourceUnreachable,
    WaitingForOperator,
    NetworkingFailed {
        step: String,
        zone: String,
    },
    /// A kind the judge does not know (never documented).
    Other(String),
}

impl Skip {
    /// Short text for messages (the report's own `short()` spelling).
    pub fn short(&self) -> String {
        match self {
            Skip::UpstreamFailed { step, policy } => format!("upstream_failed({step}[{policy}])"),
            Skip::ValidationFailed { step } => format!("validation_failed({step})"),
            Skip::ZoneGate {
                zone,
                failed_policies,
            } => format!("zone_gate({zone}: {})", failed_policies.join(",")),
            Skip::SourceUnreachable => "source_unreachable".into(),
            Skip::WaitingForOperator => "waiting_for_operator".into(),
            Skip::NetworkingFailed { step, zone } => {
                format!("networking_failed({step}[zone {zone}])")
            }
            Skip::Other(k) => format!("{k} (undocumented)"),
        }
    }

    fn parse(v: &Value) -> Skip {
        let s = |k: &str| {
            v.get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        match v.get("kind").and_then(Value::as_str).unwrap_or_default() {
            "upstream_failed" => Skip::UpstreamFailed {
                step: s("step"),
                policy: s("policy"),
            },
            "validation_failed" => Skip::ValidationFailed { step: s("step") },
            "zone_gate" => Skip::ZoneGate {
                zone: s("zone"),
                failed_policies: v
                    .get("failed_policies")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect(),
            },
            "source_unreachable" => Skip::SourceUnreachable,
            "waiting_for_operator" => Skip::WaitingForOperator,
            "networking_failed" => Skip::NetworkingFailed {
                step: s("step"),
                zone: s("zone"),
            },
            other => Skip::Other(other.to_string()),
        }
    }
}

/// A step instance's status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    Pending,
    Running,
    Succeeded,
    Failed { error: String },
    Skipped(Skip),
    Manual { confirmed: bool },
    NotApplicable { reason: String },
}

impl Status {
    /// The bare status name.
    pub fn name(&self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Running => "running",
            Status::Succeeded => "succeeded",
            Status::Failed { .. } => "failed",
            Status::Skipped(_) => "skipped",
            Status::Manual { .. } => "manual",
            Status::NotApplicable { .. } => "not_applicable",
        }
    }

    pub fn failed(&self) -> bool {
        matches!(self, Status::Failed { .. })
    }

    pub fn succeeded(&self) -> bool {
        matches!(self, Status::Succeeded)
    }

    pub fn skip(&self) -> Option<&Skip> {
        match self {
            Status::Skipped(s) => Some(s),
            _ => None,
        }
    }

    /// Done well: succeeded, not applicable or a confirmed manual step (DESIGN §2 outcome).
    pub fn ok(&self) -> bool {
        matches!(
            self,
            Status::Succeeded | Status::NotApplicable { .. } | Status::Manual { confirmed: true }
        )
    }

    /// Nothing more happens to the step in this run.
    pub fn terminal(&self) -> bool {
        !matches!(
            self,
            Status::Pending | Status::Running | Status::Manual { confirmed: false }
        )
    }
}

/// One step instance of the report.
#[derive(Debug, Clone, PartialEq)]
pub struct StepView {
    pub idx: usize,
    pub step: String,
    pub policy: Option<String>,
    pub zone: Option<String>,
    pub status: Status,
    pub start_ms: Option<u64>,
    pub end_ms: Option<u64>,
    pub start_seq: Option<u64>,
    pub end_seq: Option<u64>,
    pub acted: bool,
    pub indeterminate: bool,
}

impl StepView {
    /// `step`, `step[policy]` or `step[zone Z]`.
    pub fn label(&self) -> String {
        match (&self.policy, &self.zone) {
            (Some(p), _) => format!("{}[{p}]", self.step),
            (None, Some(z)) => format!("{}[zone {z}]", self.step),
            _ => self.step.clone(),
        }
    }
}

/// A config object the report says the run removed on purpose (S1).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct RemovedView {
    pub cluster: String,
    pub kind: String,
    pub path: String,
    #[serde(default)]
    pub policy: Option<String>,
    #[serde(default)]
    pub definition: Value,
}

/// Data the report says the run left unavailable.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct UnavailableView {
    pub policy: String,
    #[serde(default)]
    pub reason: String,
}

/// Instance indices by step, then (policy, zone).
type ExactIndex = BTreeMap<String, BTreeMap<(Option<String>, Option<String>), Vec<usize>>>;

/// The report.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportView {
    pub run_id: String,
    pub kind: String,
    pub mode: String,
    pub from: String,
    pub to: String,
    pub policies: Vec<String>,
    pub outcome: String,
    pub outcome_detail: Option<String>,
    pub steps: Vec<StepView>,
    pub cached_schedules: BTreeMap<String, String>,
    pub warnings: Vec<String>,
    pub config_jobs: BTreeMap<String, String>,
    /// Policies whose configuration came from the config job's cache (`true`), or had
    /// none (`false`): uncontrolled runs.
    pub config_cache: BTreeMap<String, bool>,
    pub removed_config: Vec<RemovedView>,
    pub unavailable: Vec<UnavailableView>,
    /// Step id → policy → the first instance of that step for that policy (any zone), so
    /// the per-policy questions the rules ask of every instance are lookups, not scans.
    by_policy: BTreeMap<String, BTreeMap<String, usize>>,
    /// Every instance by step, then policy and zone (exact): [`ReportView::find`] and
    /// [`ReportView::find_all`] were a scan of every instance per question, which a judge
    /// asking per policy made quadratic.
    by_exact: ExactIndex,
}

#[derive(Deserialize)]
struct RawReport {
    run_id: String,
    kind: String,
    mode: String,
    from: String,
    to: String,
    #[serde(default)]
    policies: Vec<String>,
    outcome: String,
    #[serde(default)]
    outcome_detail: Option<String>,
    steps: Vec<RawStep>,
    #[serde(default)]
    cached_schedules: BTreeMap<String, String>,
    #[serde(default)]
    warnings: Vec<String>,
    #[serde(default)]
    config_jobs: BTreeMap<String, String>,
    #[serde(default)]
    config_cache: BTreeMap<String, RawCachedConfig>,
    #[serde(default)]
    removed_config: Vec<RemovedView>,
    #[serde(default)]
    unavailable: Vec<UnavailableView>,
}

#[derive(Deserialize)]
struct RawCachedConfig {
    available: bool,
}

#[derive(Deserialize)]
struct RawStep {
    idx: usize,
    step: String,
    #[serde(default)]
    policy: Option<String>,
    #[serde(default)]
    zone: Option<String>,
    status: String,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    reason: Option<Value>,
    #[serde(default)]
    confirmed: Option<bool>,
    #[serde(default)]
    start_ms: Option<u64>,
    #[serde(default)]
    end_ms: Option<u64>,
    #[serde(default)]
    start_seq: Option<u64>,
    #[serde(default)]
    end_seq: Option<u64>,
    #[serde(default)]
    acted: bool,
    #[serde(default)]
    indeterminate: bool,
}

impl RawStep {
    fn into_view(self) -> Result<StepView, ReportError> {
        let missing = |field: &'static str| ReportError::MissingField {
            idx: self.idx,
            step: self.step.clone(),
            status: self.status.clone(),
            field,
        };
        let status = match self.status.as_str() {
            "pending" => Status::Pending,
            "running" => Status::Running,
            "succeeded" => Status::Succeeded,
            "failed" => Status::Failed {
                error: self.error.clone().ok_or_else(|| missing("error"))?,
            },
            "skipped" => Status::Skipped(Skip::parse(
                self.reason.as_ref().ok_or_else(|| missing("reason"))?,
            )),
            "manual" => Status::Manual {
                confirmed: self.confirmed.ok_or_else(|| missing("confirmed"))?,
            },
            "not_applicable" => Status::NotApplicable {
                reason: self
                    .reason
                    .as_ref()
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .ok_or_else(|| missing("reason"))?,
            },
            other => {
                return Err(ReportError::UnknownStatus {
                    idx: self.idx,
                    step: self.step.clone(),
                    status: other.to_string(),
                })
            }
        };
        Ok(StepView {
            idx: self.idx,
            step: self.step,
            policy: self.policy,
            zone: self.zone,
            status,
            start_ms: self.start_ms,
            end_ms: self.end_ms,
            start_seq: self.start_seq,
            end_seq: self.end_seq,
            acted: self.acted,
            indeterminate: self.indeterminate,
        })
    }
}

impl ReportView {
    /// Read a report from its published JSON, as a value.
    pub fn parse(v: &Value) -> Result<ReportView, ReportError> {
        // Deserialised from the borrowed value: a clone of a 10,000-step report is ~100 MB.
        let raw = RawReport::deserialize(v).map_err(|e| ReportError::Shape(e.to_string()))?;
        Self::from_raw(raw)
    }

    /// Read a report from its published JSON bytes (what the runner hands the judge).
    pub fn parse_slice(bytes: &[u8]) -> Result<ReportView, ReportError> {
        let raw: RawReport =
            serde_json::from_slice(bytes).map_err(|e| ReportError::Shape(e.to_string()))?;
        Self::from_raw(raw)
    }

    fn from_raw(raw: RawReport) -> Result<ReportView, ReportError> {
        let steps = raw
            .steps
            .into_iter()
            .map(RawStep::into_view)
            .collect::<Result<Vec<_>, _>>()?;
        let mut by_policy: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
        let mut by_exact = ExactIndex::new();
        for (i, st) in steps.iter().enumerate() {
            by_exact
                .entry(st.step.clone())
                .or_default()
                .entry((st.policy.clone(), st.zone.clone()))
                .or_default()
                .push(i);
            if let Some(p) = &st.policy {
                by_policy
                    .entry(st.step.clone())
                    .or_default()
                    .entry(p.clone())
                    .or_insert(i);
            }
        }
        Ok(ReportView {
            run_id: raw.run_id,
            kind: raw.kind,
            mode: raw.mode,
            from: raw.from,
            to: raw.to,
            policies: raw.policies,
            outcome: raw.outcome,
            outcome_detail: raw.outcome_detail,
            steps,
            cached_schedules: raw.cached_schedules,
            warnings: raw.warnings,
            config_jobs: raw.config_jobs,
            config_cache: raw
                .config_cache
                .into_iter()
                .map(|(k, v)| (k, v.available))
                .collect(),
            removed_config: raw.removed_config,
            unavailable: raw.unavailable,
            by_policy,
            by_exact,
        })
    }

    /// The instance of `step` for `policy` / `zone` (exact match of both; the first).
    pub fn find(&self, step: &str, policy: Option<&str>, zone: Option<&str>) -> Option<&StepView> {
        self.find_all(step, policy, zone).next()
    }

    /// Every instance of `step` for `policy` / `zone` (exact match of both), in order.
    pub fn find_all<'a>(
        &'a self,
        step: &str,
        policy: Option<&str>,
        zone: Option<&str>,
    ) -> impl Iterator<Item = &'a StepView> + 'a {
        self.by_exact
            .get(step)
            .and_then(|m| m.get(&(policy.map(str::to_string), zone.map(str::to_string))))
            .into_iter()
            .flatten()
            .filter_map(|&i| self.steps.get(i))
    }

    /// Every instance of `step`.
    pub fn all<'a>(&'a self, step: &'a str) -> impl Iterator<Item = &'a StepView> + 'a {
        self.steps.iter().filter(move |s| s.step == step)
    }

    /// The instance of `step` for `policy`, whatever its zone.
    pub fn of_policy(&self, step: &str, policy: &str) -> Option<&StepView> {
        let i = *self.by_policy.get(step)?.get(policy)?;
        self.steps.get(i)
    }

    /// Whether `step[policy]` succeeded.
    pub fn succeeded(&self, step: &str, policy: &str) -> bool {
        self.of_policy(step, policy)
            .is_some_and(|s| s.status.succeeded())
    }

    /// Whether the report names `policy`'s data as unavailable.
    pub fn names_unavailable(&self, policy: &str) -> bool {
        self.unavailable.iter().any(|u| u.policy == policy)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn report(steps: Value) -> Value {
        json!({"schema": 1, "run_id": "r", "kind": "failover", "mode": "synciq-policy",
               "from": "a", "to": "b", "policies": ["p"], "outcome": "partial",
               "started_ms": 0, "ended_ms": 1, "makespan_ms": 1, "steps": steps,
               "cached_schedules": {}, "warnings": [], "future_field": 7})
    }

    #[test]
    fn statuses_and_reasons_are_read() {
        let v = report(json!([
            {"idx": 0, "seed_no": "4", "step": "sync_data", "policy": "p", "deps": [],
             "status": "failed", "error": "boom", "acted": false},
            {"idx": 1, "seed_no": "9", "step": "allow_write", "policy": "p", "deps": [0],
             "status": "skipped", "reason": {"kind": "upstream_failed", "step": "sync_data", "policy": "p"}, "acted": false},
            {"idx": 2, "seed_no": "6", "step": "dfs_rename_shares", "deps": [],
             "status": "not_applicable", "reason": "not DFS mode", "acted": false},
            {"idx": 3, "seed_no": "14", "step": "repoint_dns", "zone": "z", "deps": [],
             "status": "skipped", "reason": {"kind": "networking_failed", "step": "add_target_spns", "zone": "z"}, "acted": false},
        ]));
        let r = ReportView::parse(&v).unwrap();
        assert!(r.steps[0].status.failed());
        assert_eq!(
            r.steps[1].status,
            Status::Skipped(Skip::UpstreamFailed {
                step: "sync_data".into(),
                policy: "p".into()
            })
        );
        assert_eq!(r.steps[2].status.name(), "not_applicable");
        assert!(r.steps[2].status.ok());
        assert_eq!(
            r.steps[3].status.skip().map(Skip::short).unwrap(),
            "networking_failed(add_target_spns[zone z])"
        );
    }

    #[test]
    fn a_bad_report_is_an_error_not_a_panic() {
        assert!(ReportView::parse(&json!([1, 2])).is_err());
        let v = report(json!([{"idx": 0, "step": "x", "status": "exploded", "acted": false}]));
        assert!(matches!(
            ReportView::parse(&v),
            Err(ReportError::UnknownStatus { .. })
        ));
        let v = report(json!([{"idx": 0, "step": "x", "status": "failed", "acted": false}]));
        assert!(matches!(
            ReportView::parse(&v),
            Err(ReportError::MissingField { field: "error", .. })
        ));
    }

    #[test]
    fn exact_lookups_match_a_scan_of_every_instance() {
        let v = report(json!([
            {"idx": 0, "seed_no": "16", "step": "move_smartconnect_to_target", "zone": "z", "deps": [],
             "status": "failed", "error": "boom", "acted": false},
            {"idx": 1, "seed_no": "9", "step": "allow_write", "policy": "p", "deps": [],
             "status": "succeeded", "acted": true},
            {"idx": 2, "seed_no": "16", "step": "move_smartconnect_to_target", "zone": "z", "deps": [],
             "status": "succeeded", "acted": true},
            {"idx": 3, "seed_no": "16", "step": "move_smartconnect_to_target", "deps": [],
             "status": "succeeded", "acted": true},
        ]));
        let r = ReportView::parse(&v).unwrap();
        for (step, policy, zone) in [
            ("move_smartconnect_to_target", None, Some("z")),
            ("move_smartconnect_to_target", None, None),
            ("allow_write", Some("p"), None),
            ("allow_write", Some("p"), Some("z")),
            ("allow_write", Some("q"), None),
            ("nope", None, None),
        ] {
            let scan: Vec<usize> = r
                .steps
                .iter()
                .enumerate()
                .filter(|(_, s)| {
                    s.step == step && s.policy.as_deref() == policy && s.zone.as_deref() == zone
                })
                .map(|(i, _)| i)
                .collect();
            let idx = |s: &StepView| r.steps.iter().position(|x| std::ptr::eq(x, s)).unwrap();
            let all: Vec<usize> = r.find_all(step, policy, zone).map(idx).collect();
            assert_eq!(all, scan, "{step} {policy:?} {zone:?}");
            assert_eq!(r.find(step, policy, zone).map(idx), scan.first().copied());
        }
    }
}
