//! The scenario file format (DESIGN.md §9): a seeded world, its clients, the run to make,
//! the faults to inject and what to expect. `drill schema` prints its JSON Schema.
//!
//! Unknown keys are errors (a typo must not silently change a drill), and every error names
//! the file, the line and the column. Closed sets of words (statuses, outcomes, step ids,
//! invariant ids, operator keywords) are checked while deserialising, so a misspelt one is
//! reported at its own position with the words allowed there.

use std::fmt;
use std::path::Path;
use std::sync::LazyLock;

use orchestrator::{RunSpec, StepId};
use schemars::JsonSchema;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
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
    /// Run one config sync (`dr config-sync --once`: every policy's config job, all object
    /// types) after the preludes and before faults apply and the run starts, so the
    /// orchestrator's store holds each job's cached source configuration (what an
    /// uncontrolled failover applies when the source is down). DFS runs name the run's
    /// policies as DFS policies. Default false.
    #[serde(default)]
    pub config_sync_before: bool,
    /// Faults active only during the `prelude` runs (same format as `faults`; `at` counts
    /// from the first prelude's start). When the preludes end, every rule is retired, and
    /// any cluster or link they took down comes back when `run` starts: e.g. an
    /// uncontrolled failover prelude (`controlled: false`) with `cluster_down` of its
    /// source, and a failback `run` after the source returned. Default none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub prelude_faults: Vec<FaultRule>,
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
    /// A rehearsal's test client: it reaches the target copy through the test alias
    /// (`\\igls-test.<target zone>\share`), and its writes are expected to fail outside
    /// the test window and to be discarded by `allow_write_revert`. Production clients
    /// (the default) must not be disturbed by a rehearsal.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub test: bool,
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
#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq, Default)]
#[serde(rename_all = "snake_case")]
pub enum OperatorSpec {
    /// Confirms every manual step at once.
    #[default]
    Immediate,
    /// Confirms each manual step after this long (virtual time).
    ConfirmAfter(DurationSpec),
    /// Nobody confirms: the run ends `paused`.
    Absent,
}

/// The one key of the map form of [`OperatorSpec`].
#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "snake_case")]
enum OperatorKey {
    ConfirmAfter,
}

/// The YAML shapes of [`OperatorSpec`]: a bare keyword or a one-key map. (The YAML library
/// wants tags for enum variants with data; operators write plain maps.) Hand-written so that
/// a wrong keyword is reported at its own position.
struct OperatorVisitor;

impl<'de> Visitor<'de> for OperatorVisitor {
    type Value = OperatorSpec;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("`immediate`, `absent` or `{confirm_after: <duration>}`")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<OperatorSpec, E> {
        match v {
            "immediate" => Ok(OperatorSpec::Immediate),
            "absent" => Ok(OperatorSpec::Absent),
            other => Err(E::custom(format_args!(
                "unknown operator `{other}`, expected `immediate`, `absent` or \
                 `{{confirm_after: <duration>}}`"
            ))),
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<OperatorSpec, A::Error> {
        let Some(OperatorKey::ConfirmAfter) = map.next_key()? else {
            return Err(de::Error::missing_field("confirm_after"));
        };
        let d: DurationSpec = map.next_value()?;
        if map.next_key::<OperatorKey>()?.is_some() {
            return Err(de::Error::duplicate_field("confirm_after"));
        }
        Ok(OperatorSpec::ConfirmAfter(d))
    }
}

impl<'de> Deserialize<'de> for OperatorSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(OperatorVisitor)
    }
}

/// What the run must end in.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    #[serde(default)]
    pub outcome: Option<ExpectedOutcome>,
    #[serde(default)]
    pub steps: Vec<ExpectStep>,
    #[serde(default)]
    pub invariants: InvariantSelection,
}

/// One expected step status.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ExpectStep {
    /// A step id (`allow_write`, `sync_data`, ...).
    #[serde(deserialize_with = "step_id")]
    #[schemars(schema_with = "step_id_schema")]
    pub step: String,
    #[serde(default)]
    pub policy: Option<String>,
    #[serde(default)]
    pub zone: Option<String>,
    pub status: ExpectedStatus,
}

/// A run outcome as `expect.outcome` names it (the report's `outcome`).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ExpectedOutcome {
    Succeeded,
    Partial,
    Failed,
    Blocked,
    Aborted,
    Paused,
}

impl ExpectedOutcome {
    /// Every outcome.
    pub const ALL: [ExpectedOutcome; 6] = [
        ExpectedOutcome::Succeeded,
        ExpectedOutcome::Partial,
        ExpectedOutcome::Failed,
        ExpectedOutcome::Blocked,
        ExpectedOutcome::Aborted,
        ExpectedOutcome::Paused,
    ];

    /// The snake_case name, as the report spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            ExpectedOutcome::Succeeded => "succeeded",
            ExpectedOutcome::Partial => "partial",
            ExpectedOutcome::Failed => "failed",
            ExpectedOutcome::Blocked => "blocked",
            ExpectedOutcome::Aborted => "aborted",
            ExpectedOutcome::Paused => "paused",
        }
    }
}

/// A step status as `expect.steps[].status` names it (the report's bare status name).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ExpectedStatus {
    Pending,
    Running,
    Succeeded,
    Failed,
    Skipped,
    Manual,
    NotApplicable,
}

impl ExpectedStatus {
    /// Every status.
    pub const ALL: [ExpectedStatus; 7] = [
        ExpectedStatus::Pending,
        ExpectedStatus::Running,
        ExpectedStatus::Succeeded,
        ExpectedStatus::Failed,
        ExpectedStatus::Skipped,
        ExpectedStatus::Manual,
        ExpectedStatus::NotApplicable,
    ];

    /// The snake_case name, as the report spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            ExpectedStatus::Pending => "pending",
            ExpectedStatus::Running => "running",
            ExpectedStatus::Succeeded => "succeeded",
            ExpectedStatus::Failed => "failed",
            ExpectedStatus::Skipped => "skipped",
            ExpectedStatus::Manual => "manual",
            ExpectedStatus::NotApplicable => "not_applicable",
        }
    }
}

/// Display and comparison with the report's names (`report.outcome.as_str() == expected`).
macro_rules! named {
    ($t:ty) => {
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
        impl PartialEq<$t> for str {
            fn eq(&self, other: &$t) -> bool {
                self == other.as_str()
            }
        }
        impl PartialEq<$t> for &str {
            fn eq(&self, other: &$t) -> bool {
                *self == other.as_str()
            }
        }
    };
}
named!(ExpectedOutcome);
named!(ExpectedStatus);

/// `all`, `none` or a list like `[I1, I3]`.
#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq)]
#[serde(untagged)]
pub enum InvariantSelection {
    Keyword(InvariantKeyword),
    List(#[schemars(schema_with = "invariant_list_schema")] Vec<String>),
}

/// Hand-written so that an unknown id in the list is reported at its own position.
struct InvariantSelectionVisitor;

impl<'de> Visitor<'de> for InvariantSelectionVisitor {
    type Value = InvariantSelection;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("`all`, `none` or a list of invariant ids like `[I1, I3]`")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<InvariantSelection, E> {
        match v {
            "all" => Ok(InvariantSelection::Keyword(InvariantKeyword::All)),
            "none" => Ok(InvariantSelection::Keyword(InvariantKeyword::None)),
            other => Err(E::custom(format_args!(
                "unknown invariant selection `{other}`, expected `all`, `none` or a list of \
                 invariant ids like `[I1, I3]`"
            ))),
        }
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<InvariantSelection, A::Error> {
        let mut ids = Vec::new();
        while let Some(InvariantId(id)) = seq.next_element()? {
            ids.push(id);
        }
        Ok(InvariantSelection::List(ids))
    }
}

impl<'de> Deserialize<'de> for InvariantSelection {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(InvariantSelectionVisitor)
    }
}

/// One of [`crate::judge::ALL_INVARIANTS`].
struct InvariantId(String);

impl<'de> Deserialize<'de> for InvariantId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(OneOf {
            what: "invariant id",
            names: &crate::judge::ALL_INVARIANTS,
        })
        .map(InvariantId)
    }
}

/// A step id, checked against [`StepId`] (the scenario names steps, `sim-onefs` does not
/// know them).
struct StepName(String);

impl<'de> Deserialize<'de> for StepName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(OneOf {
            what: "step id",
            names: step_names(),
        })
        .map(StepName)
    }
}

/// Every step id, in seed order.
fn step_names() -> &'static [&'static str] {
    static NAMES: LazyLock<Vec<&'static str>> =
        LazyLock::new(|| StepId::ALL.iter().map(|s| s.as_str()).collect());
    &NAMES
}

fn step_id<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    StepName::deserialize(d).map(|s| s.0)
}

fn step_id_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({"type": "string", "enum": step_names()})
}

fn invariant_list_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "type": "array",
        "items": {"type": "string", "enum": crate::judge::ALL_INVARIANTS},
    })
}

/// A string from a closed list, checked where it is read so that the error has its position.
struct OneOf {
    what: &'static str,
    names: &'static [&'static str],
}

impl Visitor<'_> for OneOf {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "a {}", self.what)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        if self.names.contains(&v) {
            return Ok(v.to_string());
        }
        let names: Vec<String> = self.names.iter().map(|n| format!("`{n}`")).collect();
        Err(E::custom(format_args!(
            "unknown {} `{v}`, expected one of {}",
            self.what,
            names.join(", ")
        )))
    }
}

/// Just the step ids of `faults[].when`, read again to give a bad one its position: the
/// rules are `sim-onefs` types, which take any string there. (Read only for the check.)
#[derive(Deserialize)]
#[allow(dead_code)]
struct FaultStepsProbe {
    #[serde(default)]
    faults: Vec<FaultProbe>,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct FaultProbe {
    #[serde(default)]
    when: Option<FaultWhenProbe>,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct FaultWhenProbe {
    #[serde(default)]
    step: Option<StepName>,
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
        let parse_error = |e: yaml_serde::Error| {
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
        };
        let invalid = |message| ScenarioError::Invalid {
            path: origin.to_string(),
            message,
        };
        let scn: Scenario = yaml_serde::from_str(text).map_err(parse_error)?;
        scn.check_fault_steps().map_err(|message| {
            // Read the file again for the position of the bad step id.
            match yaml_serde::from_str::<FaultStepsProbe>(text) {
                Err(e) if e.location().is_some() => parse_error(e),
                _ => invalid(message),
            }
        })?;
        scn.check().map_err(invalid)?;
        Ok(scn)
    }

    /// Read a scenario from its JSON form with the same checks as [`Scenario::parse`]. The
    /// chaos campaign builds scenarios as JSON values; a property test proves that this
    /// gives what parsing the YAML text of the same value gives (the replay file).
    pub fn from_value(v: serde_json::Value, origin: &str) -> Result<Scenario, ScenarioError> {
        let invalid = |message| ScenarioError::Invalid {
            path: origin.to_string(),
            message,
        };
        let scn: Scenario = serde_json::from_value(v).map_err(|e| invalid(e.to_string()))?;
        scn.check_fault_steps().map_err(invalid)?;
        scn.check().map_err(invalid)?;
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
        Ok(())
    }

    /// Fault rules are `sim-onefs` types, which take any step id: check them. (`expect`,
    /// statuses, outcome, step and invariant ids, was checked while it was read.)
    fn check_fault_steps(&self) -> Result<(), String> {
        for (i, f) in self.faults.iter().enumerate() {
            if let Some(step) = &f.when.step {
                if StepId::parse(step).is_none() {
                    return Err(format!("faults[{i}].when.step: unknown step id {step:?}"));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use orchestrator::{Outcome, SkipReason, StepStatus};

    use super::*;

    /// `expect` accepts exactly the names the report uses. The matches are exhaustive, so a
    /// new status or outcome in the orchestrator fails to compile here until it is added.
    #[test]
    fn expected_names_are_the_reports() {
        let statuses = [
            StepStatus::Pending,
            StepStatus::Running,
            StepStatus::Succeeded,
            StepStatus::Failed {
                error: String::new(),
            },
            StepStatus::Skipped {
                reason: SkipReason::SourceUnreachable,
            },
            StepStatus::Manual {
                instructions: String::new(),
                confirmed: false,
            },
            StepStatus::NotApplicable {
                reason: String::new(),
            },
        ];
        for s in &statuses {
            match s {
                StepStatus::Pending
                | StepStatus::Running
                | StepStatus::Succeeded
                | StepStatus::Failed { .. }
                | StepStatus::Skipped { .. }
                | StepStatus::Manual { .. }
                | StepStatus::NotApplicable { .. } => {}
            }
        }
        let names: Vec<&str> = statuses.iter().map(StepStatus::name).collect();
        let ours: Vec<&str> = ExpectedStatus::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(names, ours);
        for (s, e) in statuses.iter().zip(ExpectedStatus::ALL) {
            assert!(s.name() == e);
            let parsed: ExpectedStatus = yaml_serde::from_str(s.name()).unwrap();
            assert_eq!(parsed, e);
            assert_eq!(yaml_serde::to_string(&e).unwrap().trim(), s.name());
        }

        let outcomes = [
            Outcome::Succeeded,
            Outcome::Partial,
            Outcome::Failed,
            Outcome::Blocked,
            Outcome::Aborted,
            Outcome::Paused,
        ];
        for o in outcomes {
            match o {
                Outcome::Succeeded
                | Outcome::Partial
                | Outcome::Failed
                | Outcome::Blocked
                | Outcome::Aborted
                | Outcome::Paused => {}
            }
        }
        for (o, e) in outcomes.into_iter().zip(ExpectedOutcome::ALL) {
            assert!(o.as_str() == e);
            let parsed: ExpectedOutcome = yaml_serde::from_str(o.as_str()).unwrap();
            assert_eq!(parsed, e);
            assert_eq!(e.to_string(), o.as_str());
        }
        assert_eq!(outcomes.len(), ExpectedOutcome::ALL.len());
    }

    #[test]
    fn step_ids_are_every_step() {
        assert_eq!(step_names().len(), StepId::ALL.len());
        for id in StepId::ALL {
            let s: StepName = yaml_serde::from_str(id.as_str()).unwrap();
            assert_eq!(s.0, id.as_str());
        }
        let err = yaml_serde::from_str::<StepName>("allow_writes")
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.starts_with("unknown step id `allow_writes`, expected one of `check_open_files`,"),
            "{err}"
        );
    }

    #[test]
    fn operator_and_invariant_shapes() {
        let op = |y: &str| yaml_serde::from_str::<OperatorSpec>(y);
        assert_eq!(op("immediate").unwrap(), OperatorSpec::Immediate);
        assert_eq!(op("absent").unwrap(), OperatorSpec::Absent);
        assert_eq!(
            op("{confirm_after: 10m}").unwrap(),
            OperatorSpec::ConfirmAfter(DurationSpec(600_000))
        );
        for bad in ["abesnt", "{confirm_afer: 10m}", "{}", "[absent]"] {
            assert!(op(bad).is_err(), "{bad}");
        }
        // What Serialize writes reads back.
        for o in [
            OperatorSpec::Immediate,
            OperatorSpec::Absent,
            OperatorSpec::ConfirmAfter(DurationSpec(90_000)),
        ] {
            let json = serde_json::to_string(&o).unwrap();
            assert_eq!(yaml_serde::from_str::<OperatorSpec>(&json).unwrap(), o);
        }

        let inv = |y: &str| yaml_serde::from_str::<InvariantSelection>(y);
        assert_eq!(inv("all").unwrap(), InvariantSelection::default());
        assert_eq!(
            inv("none").unwrap(),
            InvariantSelection::Keyword(InvariantKeyword::None)
        );
        assert_eq!(
            inv("[I1, I12]").unwrap(),
            InvariantSelection::List(vec!["I1".into(), "I12".into()])
        );
        assert_eq!(inv("[]").unwrap(), InvariantSelection::List(vec![]));
        for bad in ["al", "[I1, I13]", "[i1]", "3"] {
            assert!(inv(bad).is_err(), "{bad}");
        }
        let json = serde_json::to_string(&InvariantSelection::List(vec!["I4".into()])).unwrap();
        assert_eq!(
            inv(&json).unwrap(),
            InvariantSelection::List(vec!["I4".into()])
        );
    }
}
