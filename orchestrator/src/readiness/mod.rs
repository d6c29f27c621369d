//! Readiness (step 3, DESIGN §5): a tree of checks, cluster → zone → pool → policy, each
//! `ok | warning | error` with what to fix. `validate` builds it and records it in the run
//! state and the report; `dr readiness` and `POST /api/v1/readiness` build it alone.
//!
//! The JSON form is part of the report's stable schema: a node is `{kind, name, note?,
//! checks: [{id, status, message, fix?}], children: [node]}`; the tree is `{from, to, mode,
//! status, counts: {ok, warning, error}, nodes}`. Check ids are stable snake_case names.
//!
//! `checks.rs` makes the PAPI and DNS reads (all read-only) and `parity.rs` compares the
//! configuration under a policy's path on both sides; `render.rs` prints the tree.

pub(crate) mod checks;
pub(crate) mod parity;
pub mod render;

use serde::{Deserialize, Serialize};

/// The verdict of one check (ordered: `ok < warning < error`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "snake_case")]
pub enum CheckStatus {
    /// Nothing to do.
    #[default]
    Ok,
    /// The run can go on; step 3a (`block_on_warning`) stops on it.
    Warning,
    /// The run is blocked at step 3 until it is fixed.
    Error,
}

impl CheckStatus {
    /// `ok`, `warning`, `error`.
    pub fn as_str(self) -> &'static str {
        match self {
            CheckStatus::Ok => "ok",
            CheckStatus::Warning => "warning",
            CheckStatus::Error => "error",
        }
    }
}

/// What a node of the tree stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeKind {
    Cluster,
    Zone,
    Pool,
    Policy,
}

impl NodeKind {
    /// `cluster`, `zone`, `pool`, `policy`.
    pub fn as_str(self) -> &'static str {
        match self {
            NodeKind::Cluster => "cluster",
            NodeKind::Zone => "zone",
            NodeKind::Pool => "pool",
            NodeKind::Policy => "policy",
        }
    }
}

/// One check of one node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    /// Stable snake_case id (`reachable`, `synciq_service`, `quota_scan`, ...).
    pub id: String,
    pub status: CheckStatus,
    /// What was found; self-contained (names the cluster, zone or policy), because warnings
    /// and errors are also listed flat in the report.
    pub message: String,
    /// What to do about a warning or an error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl Check {
    /// A passed check.
    pub fn ok(id: &str, message: impl Into<String>) -> Self {
        Check {
            id: id.into(),
            status: CheckStatus::Ok,
            message: message.into(),
            fix: None,
        }
    }

    /// A warning with its fix.
    pub fn warning(id: &str, message: impl Into<String>, fix: impl Into<String>) -> Self {
        Check {
            id: id.into(),
            status: CheckStatus::Warning,
            message: message.into(),
            fix: Some(fix.into()),
        }
    }

    /// An error with its fix.
    pub fn error(id: &str, message: impl Into<String>, fix: impl Into<String>) -> Self {
        Check {
            id: id.into(),
            status: CheckStatus::Error,
            message: message.into(),
            fix: Some(fix.into()),
        }
    }
}

/// A cluster, zone, pool or policy with its checks and the nodes below it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Node {
    pub kind: NodeKind,
    pub name: String,
    /// A short qualifier: `source` / `target` for clusters, `→ <target pool>` for pools.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    #[serde(default)]
    pub checks: Vec<Check>,
    #[serde(default)]
    pub children: Vec<Node>,
}

impl Node {
    /// An empty node.
    pub fn new(kind: NodeKind, name: impl Into<String>) -> Self {
        Node {
            kind,
            name: name.into(),
            note: None,
            checks: Vec::new(),
            children: Vec::new(),
        }
    }

    /// The same node with a note.
    pub fn with_note(mut self, note: impl Into<String>) -> Self {
        self.note = Some(note.into());
        self
    }

    /// The worst status of this node and everything below it.
    pub fn status(&self) -> CheckStatus {
        self.checks
            .iter()
            .map(|c| c.status)
            .chain(self.children.iter().map(Node::status))
            .max()
            .unwrap_or_default()
    }

    /// Every check of this node and below, depth first (a node's own checks before its
    /// children's), with the node it belongs to.
    pub fn walk<'a>(&'a self, out: &mut Vec<(&'a Node, &'a Check)>) {
        for c in &self.checks {
            out.push((self, c));
        }
        for n in &self.children {
            n.walk(out);
        }
    }
}

/// How many checks ended in each status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub ok: usize,
    pub warning: usize,
    pub error: usize,
}

/// The readiness tree of one run (or of a `dr readiness` query).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Readiness {
    /// The cluster failing over.
    pub from: String,
    /// The cluster taking over.
    pub to: String,
    /// The run's mode (`synciq-policy`, `dfs`, `access-zone`, `ip-pool`).
    pub mode: String,
    /// The worst status in the tree.
    pub status: CheckStatus,
    pub counts: Counts,
    /// The source cluster's node (zones, pools and policies below it), then the target's.
    pub nodes: Vec<Node>,
}

impl Readiness {
    /// A tree from its nodes; the status and counts are computed.
    pub fn new(from: &str, to: &str, mode: &str, nodes: Vec<Node>) -> Self {
        let mut r = Readiness {
            from: from.into(),
            to: to.into(),
            mode: mode.into(),
            status: CheckStatus::Ok,
            counts: Counts::default(),
            nodes,
        };
        let mut counts = Counts::default();
        for (_, c) in r.checks() {
            match c.status {
                CheckStatus::Ok => counts.ok += 1,
                CheckStatus::Warning => counts.warning += 1,
                CheckStatus::Error => counts.error += 1,
            }
        }
        r.counts = counts;
        r.status = r.nodes.iter().map(Node::status).max().unwrap_or_default();
        r
    }

    /// Every check in tree order, with its node.
    pub fn checks(&self) -> Vec<(&Node, &Check)> {
        let mut out = Vec::new();
        for n in &self.nodes {
            n.walk(&mut out);
        }
        out
    }

    /// The checks with `status`, in tree order.
    pub fn with_status(&self, status: CheckStatus) -> Vec<&Check> {
        self.checks()
            .into_iter()
            .filter(|(_, c)| c.status == status)
            .map(|(_, c)| c)
            .collect()
    }

    /// The exit code of `dr readiness`: 0 ready, no warnings; 1 not ready (an error, or a
    /// warning when the run blocks on warnings, as step 3a would); 6 ready with warnings.
    pub fn exit_code(&self, block_on_warning: bool) -> u8 {
        match self.status {
            CheckStatus::Ok => 0,
            CheckStatus::Warning if block_on_warning => 1,
            CheckStatus::Warning => 6,
            CheckStatus::Error => 1,
        }
    }

    /// One line: `ready` / `ready with N warning(s)` / `not ready: N error(s)`, and counts.
    pub fn summary(&self) -> String {
        let c = self.counts;
        let head = match self.status {
            CheckStatus::Ok => "ready".to_string(),
            CheckStatus::Warning => format!("ready with {} warning(s)", c.warning),
            CheckStatus::Error => format!("not ready: {} error(s)", c.error),
        };
        format!(
            "{head} — {} ok, {} warning, {} error ({} → {}, {})",
            c.ok, c.warning, c.error, self.from, self.to, self.mode
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> Readiness {
        let mut src = Node::new(NodeKind::Cluster, "boston").with_note("source");
        src.checks.push(Check::ok("reachable", "boston reachable"));
        let mut zone = Node::new(NodeKind::Zone, "finance");
        let mut pol = Node::new(NodeKind::Policy, "eng");
        pol.checks.push(Check::warning(
            "quota_scan",
            "quota not ready",
            "run QuotaScan",
        ));
        zone.children.push(pol);
        src.children.push(zone);
        let mut tgt = Node::new(NodeKind::Cluster, "denver").with_note("target");
        tgt.checks.push(Check::ok("reachable", "denver reachable"));
        Readiness::new("boston", "denver", "synciq-policy", vec![src, tgt])
    }

    #[test]
    fn status_and_counts_roll_up() {
        let t = tree();
        assert_eq!(t.status, CheckStatus::Warning);
        assert_eq!(
            t.counts,
            Counts {
                ok: 2,
                warning: 1,
                error: 0
            }
        );
        assert_eq!(t.nodes[0].status(), CheckStatus::Warning);
        assert_eq!(t.nodes[1].status(), CheckStatus::Ok);
        assert_eq!(t.with_status(CheckStatus::Warning)[0].id, "quota_scan");
        assert!(t.summary().starts_with("ready with 1 warning(s)"));
        // Exit codes of `dr readiness`.
        assert_eq!(t.exit_code(false), 6);
        assert_eq!(t.exit_code(true), 1);
        let ok = Readiness::new("a", "b", "dfs", vec![t.nodes[1].clone()]);
        assert_eq!(ok.exit_code(true), 0);
        let mut bad = t.nodes[1].clone();
        bad.checks
            .push(Check::error("synciq_service", "off", "turn it on"));
        assert_eq!(
            Readiness::new("a", "b", "dfs", vec![bad]).exit_code(false),
            1
        );
    }

    #[test]
    fn json_shape_is_stable_and_round_trips() {
        let t = tree();
        let v = serde_json::to_value(&t).unwrap();
        assert_eq!(v["status"], "warning");
        assert_eq!(v["counts"]["warning"], 1);
        assert_eq!(v["nodes"][0]["kind"], "cluster");
        assert_eq!(v["nodes"][0]["note"], "source");
        let q = &v["nodes"][0]["children"][0]["children"][0]["checks"][0];
        assert_eq!(q["id"], "quota_scan");
        assert_eq!(q["status"], "warning");
        assert_eq!(q["fix"], "run QuotaScan");
        // An ok check carries no fix.
        assert!(v["nodes"][1]["checks"][0].get("fix").is_none());
        let back: Readiness = serde_json::from_value(v).unwrap();
        assert_eq!(back, t);
    }
}
