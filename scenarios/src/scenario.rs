//! The scenario file format (DESIGN.md §9): a seeded world, its clients, the run to make,
//! the faults to inject and what to expect. `drill schema` prints its JSON Schema.
//!
//! Unknown keys are errors (a typo must not silently change a drill), and every error names
//! the file, the line and the column.

use std::path::Path;

use orchestrator::RunSpec;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sim_onefs::{DurationSpec, FaultRule, WorldSpec};

/// A whole scenario file.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// Seeds every random choice of the world; the same seed replays the same run.
    #[serde(default)]
    pub seed: u64,
    pub world: WorldSpec,
    #[serde(default)]
    pub clients: Vec<ClientSpec>,
    pub run: RunSpec,
    /// Runs made first, which must succeed (e.g. the failover a failback scenario undoes).
    /// Faults, clients and the checks apply to `run` only.
    #[serde(default)]
    pub prelude: Vec<RunSpec>,
    #[serde(default)]
    pub faults: Vec<FaultRule>,
    #[serde(default)]
    pub operator: OperatorSpec,
    #[serde(default)]
    pub expect: Expect,
}

/// A simulated SMB/NFS/DFS client.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ClientSpec {
    pub name: String,
    pub protocol: Protocol,
    /// `\\name\share` (SMB/DFS) or `name:/path` (NFS).
    pub path: String,
    #[serde(default)]
    pub writes_per_minute: u32,
}

/// Client protocol.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Protocol {
    Smb,
    Nfs,
    Dfs,
}

/// Who confirms manual steps in a drill: `immediate` (default), `absent`, or
/// `{confirm_after: 10m}`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Default)]
#[serde(rename_all = "snake_case", try_from = "OperatorRepr")]
pub enum OperatorSpec {
    /// Confirms every manual step at once.
    #[default]
    Immediate,
    /// Confirms each manual step after this long (virtual time).
    ConfirmAfter(DurationSpec),
    /// Nobody confirms: the run ends `paused`.
    Absent,
}

/// The YAML shapes of [`OperatorSpec`]: a bare keyword or a one-key map. (The YAML library
/// wants tags for enum variants with data; operators write plain maps.)
#[derive(Deserialize, JsonSchema)]
#[serde(untagged)]
enum OperatorRepr {
    Keyword(String),
    Map(OperatorMap),
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct OperatorMap {
    confirm_after: DurationSpec,
}

impl TryFrom<OperatorRepr> for OperatorSpec {
    type Error = String;
    fn try_from(r: OperatorRepr) -> Result<Self, String> {
        match r {
            OperatorRepr::Keyword(k) if k == "immediate" => Ok(OperatorSpec::Immediate),
            OperatorRepr::Keyword(k) if k == "absent" => Ok(OperatorSpec::Absent),
            OperatorRepr::Keyword(k) => Err(format!(
                "unknown operator {k:?}: use immediate, absent or {{confirm_after: <duration>}}"
            )),
            OperatorRepr::Map(m) => Ok(OperatorSpec::ConfirmAfter(m.confirm_after)),
        }
    }
}

/// What the run must end in.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    #[serde(default)]
    pub outcome: Option<String>,
    #[serde(default)]
    pub steps: Vec<ExpectStep>,
    #[serde(default)]
    pub invariants: InvariantSelection,
}

/// One expected step status.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ExpectStep {
    pub step: String,
    #[serde(default)]
    pub policy: Option<String>,
    #[serde(default)]
    pub zone: Option<String>,
    pub status: String,
}

/// `all` or a list like `[I1, I3]`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(untagged)]
pub enum InvariantSelection {
    Keyword(InvariantKeyword),
    List(Vec<String>),
}

/// `all` or `none`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum InvariantKeyword {
    All,
    None,
}

impl Default for InvariantSelection {
    fn default() -> Self {
        InvariantSelection::Keyword(InvariantKeyword::All)
    }
}

/// A scenario file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error("cannot read scenario {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}:{line}:{column}: {message}")]
    Parse {
        path: String,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
}

impl Scenario {
    /// Read and parse a scenario file.
    pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
        let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Scenario::parse(&text, &path.display().to_string())
    }

    /// Parse scenario text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Scenario, ScenarioError> {
        let scn: Scenario = yaml_serde::from_str(text).map_err(|e| {
            let (line, column) = e
                .location()
                .map(|l| (l.line(), l.column()))
                .unwrap_or((0, 0));
            // The library appends " at line L column C"; we lead with it instead.
            let message = e.to_string();
            let message = match message.rfind(" at line ") {
                Some(i) => message[..i].to_string(),
                None => message,
            };
            ScenarioError::Parse {
                path: origin.to_string(),
                line,
                column,
                message,
            }
        })?;
        scn.check().map_err(|message| ScenarioError::Invalid {
            path: origin.to_string(),
            message,
        })?;
        Ok(scn)
    }

    /// Cross-field checks serde cannot express.
    fn check(&self) -> Result<(), String> {
        let clusters: Vec<&str> = self
            .world
            .clusters
            .iter()
            .map(|c| c.name.as_str())
            .collect();
        for (what, c) in [("run.from", &self.run.from), ("run.to", &self.run.to)] {
            if !clusters.contains(&c.as_str()) {
                return Err(format!(
                    "{what} names cluster {c:?}, which is not in world.clusters ({})",
                    clusters.join(", ")
                ));
            }
        }
        for (i, e) in self.expect.steps.iter().enumerate() {
            if orchestrator::StepId::parse(&e.step).is_none() {
                return Err(format!("expect.steps[{i}]: unknown step id {:?}", e.step));
            }
            const STATUSES: [&str; 7] = [
                "pending",
                "running",
                "succeeded",
                "failed",
                "skipped",
                "manual",
                "not_applicable",
            ];
            if !STATUSES.contains(&e.status.as_str()) {
                return Err(format!(
                    "expect.steps[{i}]: unknown status {:?} (one of {})",
                    e.status,
                    STATUSES.join(", ")
                ));
            }
        }
        if let Some(o) = &self.expect.outcome {
            const OUTCOMES: [&str; 6] = [
                "succeeded",
                "partial",
                "failed",
                "blocked",
                "aborted",
                "paused",
            ];
            if !OUTCOMES.contains(&o.as_str()) {
                return Err(format!(
                    "expect.outcome: unknown outcome {o:?} (one of {})",
                    OUTCOMES.join(", ")
                ));
            }
        }
        if let InvariantSelection::List(ids) = &self.expect.invariants {
            for id in ids {
                if !crate::judge::ALL_INVARIANTS.contains(&id.as_str()) {
                    return Err(format!(
                        "expect.invariants: unknown invariant {id:?} (I1..I12)"
                    ));
                }
            }
        }
        for (i, f) in self.faults.iter().enumerate() {
            if let Some(step) = &f.when.step {
                if orchestrator::StepId::parse(step).is_none() {
                    return Err(format!("faults[{i}].when.step: unknown step id {step:?}"));
                }
            }
        }
        Ok(())
    }
}
