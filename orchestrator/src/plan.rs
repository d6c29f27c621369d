//! The plan builder: (inventory, run spec) → a DAG of step instances.
//!
//! This is the one place that encodes the step order of DESIGN.md §2 and the seed table.
//! Where the seed's Access Zone column is garbled (it lists 13a/13b before resync-prep, which
//! creates the mirror policy 13a runs, and leaves allow-write out) we order by dependency:
//! networking, then allow_write → resync_prep → restore_schedule → quotas → run_mirror →
//! enable_config_jobs. Changing that interpretation is an edit here and nowhere else.
//!
//! A step instance is a step id × (policy | zone | nothing). Edges are "must end before".
//! Per-policy chains are independent of each other, which is what lets the executor run them
//! concurrently (the seed footnote's "parallel step mode").

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::inventory::{Inventory, PolicyInfo};
use crate::run_spec::{Mode, Networking, RunKind, RunSpec};

/// Every step id (DESIGN.md §2). Stable snake_case names used in reports, the journal,
/// scenario faults and golden traces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepId {
    CheckOpenFiles,
    DisableProtocols,
    DataIntegrityLock,
    CacheSchedules,
    Begin,
    Validate,
    BlockOnWarning,
    DisableConfigJobs,
    SyncData,
    SyncConfig,
    DfsRenameShares,
    RenameSourceSmartconnect,
    RemoveSourceSpns,
    MoveSmartconnectToTarget,
    AddTargetSpns,
    RepointDns,
    AllowWrite,
    ResyncPrep,
    RestoreSchedule,
    FailoverQuotas,
    RemoveSourceQuotas,
    RunMirror,
    EnableConfigJobs,
    RefreshClients,
    AllowWriteRevert,
    /// Rollback of 1b: the cached schedule is put back on the source policy.
    RollbackSchedules,
}

impl StepId {
    /// All ids, in seed order.
    pub const ALL: [StepId; 26] = [
        StepId::CheckOpenFiles,
        StepId::DisableProtocols,
        StepId::DataIntegrityLock,
        StepId::CacheSchedules,
        StepId::Begin,
        StepId::Validate,
        StepId::BlockOnWarning,
        StepId::DisableConfigJobs,
        StepId::SyncData,
        StepId::SyncConfig,
        StepId::DfsRenameShares,
        StepId::RenameSourceSmartconnect,
        StepId::RemoveSourceSpns,
        StepId::MoveSmartconnectToTarget,
        StepId::AddTargetSpns,
        StepId::RepointDns,
        StepId::AllowWrite,
        StepId::ResyncPrep,
        StepId::RestoreSchedule,
        StepId::FailoverQuotas,
        StepId::RemoveSourceQuotas,
        StepId::RunMirror,
        StepId::EnableConfigJobs,
        StepId::RefreshClients,
        StepId::AllowWriteRevert,
        StepId::RollbackSchedules,
    ];

    /// The snake_case id.
    pub fn as_str(self) -> &'static str {
        match self {
            StepId::CheckOpenFiles => "check_open_files",
            StepId::DisableProtocols => "disable_protocols",
            StepId::DataIntegrityLock => "data_integrity_lock",
            StepId::CacheSchedules => "cache_schedules",
            StepId::Begin => "begin",
            StepId::Validate => "validate",
            StepId::BlockOnWarning => "block_on_warning",
            StepId::DisableConfigJobs => "disable_config_jobs",
            StepId::SyncData => "sync_data",
            StepId::SyncConfig => "sync_config",
            StepId::DfsRenameShares => "dfs_rename_shares",
            StepId::RenameSourceSmartconnect => "rename_source_smartconnect",
            StepId::RemoveSourceSpns => "remove_source_spns",
            StepId::MoveSmartconnectToTarget => "move_smartconnect_to_target",
            StepId::AddTargetSpns => "add_target_spns",
            StepId::RepointDns => "repoint_dns",
            StepId::AllowWrite => "allow_write",
            StepId::ResyncPrep => "resync_prep",
            StepId::RestoreSchedule => "restore_schedule",
            StepId::FailoverQuotas => "failover_quotas",
            StepId::RemoveSourceQuotas => "remove_source_quotas",
            StepId::RunMirror => "run_mirror",
            StepId::EnableConfigJobs => "enable_config_jobs",
            StepId::RefreshClients => "refresh_clients",
            StepId::AllowWriteRevert => "allow_write_revert",
            StepId::RollbackSchedules => "rollback_schedules",
        }
    }

    /// Parse a snake_case id.
    pub fn parse(s: &str) -> Option<StepId> {
        StepId::ALL.iter().copied().find(|id| id.as_str() == s)
    }

    /// The seed table's number for this step in `mode` (networking and quota steps are
    /// numbered differently in SyncIQ/DFS and Access Zone/IP Pool modes).
    pub fn seed_no(self, mode: Mode) -> &'static str {
        let zone_mode = matches!(mode, Mode::AccessZone | Mode::IpPool);
        match self {
            StepId::CheckOpenFiles | StepId::DisableProtocols => "1",
            StepId::DataIntegrityLock => "1a",
            StepId::CacheSchedules => "1b",
            StepId::Begin => "2",
            StepId::Validate => "3",
            StepId::BlockOnWarning => "3a",
            StepId::DisableConfigJobs => "3b",
            StepId::SyncData => "4",
            StepId::SyncConfig => "5",
            StepId::DfsRenameShares => "6",
            StepId::RenameSourceSmartconnect => {
                if zone_mode {
                    "6"
                } else {
                    "14"
                }
            }
            StepId::RemoveSourceSpns => {
                if zone_mode {
                    "7"
                } else {
                    "15"
                }
            }
            StepId::MoveSmartconnectToTarget => {
                if zone_mode {
                    "8"
                } else {
                    "16"
                }
            }
            StepId::AddTargetSpns => {
                if zone_mode {
                    "9"
                } else {
                    "17"
                }
            }
            StepId::RepointDns => {
                if zone_mode {
                    "10"
                } else {
                    "18"
                }
            }
            StepId::AllowWrite => "9",
            StepId::ResyncPrep => {
                if zone_mode {
                    "14"
                } else {
                    "10"
                }
            }
            StepId::RestoreSchedule => {
                if zone_mode {
                    "15"
                } else {
                    "11"
                }
            }
            StepId::FailoverQuotas => {
                if zone_mode {
                    "16"
                } else {
                    "12"
                }
            }
            StepId::RemoveSourceQuotas => {
                if zone_mode {
                    "17"
                } else {
                    "13"
                }
            }
            StepId::RunMirror => "13a",
            StepId::EnableConfigJobs => "13b",
            StepId::RefreshClients => "19",
            StepId::AllowWriteRevert => "R",
            StepId::RollbackSchedules => "1b↺",
        }
    }

    /// SyncIQ steps whose failure skips everything downstream of them for the same policy
    /// (the footnote's rule). Other steps failing are recorded and the run goes on.
    pub fn is_synciq_chain(self) -> bool {
        matches!(
            self,
            StepId::SyncData | StepId::AllowWrite | StepId::ResyncPrep
        )
    }

    /// Steps that occupy one of a cluster's SyncIQ job slots while they run.
    pub fn uses_job_slot(self) -> bool {
        matches!(self, StepId::SyncData | StepId::RunMirror)
    }

    /// Gate steps: when one fails, the run stops before cutting anything over and the
    /// preparation is rolled back.
    pub fn is_gate(self) -> bool {
        matches!(self, StepId::Validate | StepId::BlockOnWarning)
    }

    /// Networking steps (seed 6–10 in zone modes, 14–18 in SyncIQ mode).
    pub fn is_networking(self) -> bool {
        matches!(
            self,
            StepId::RenameSourceSmartconnect
                | StepId::RemoveSourceSpns
                | StepId::MoveSmartconnectToTarget
                | StepId::AddTargetSpns
                | StepId::RepointDns
        )
    }
}

impl fmt::Display for StepId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which cluster a step instance acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Actor {
    Source,
    Target,
    Both,
    Orchestrator,
    Dns,
    Clients,
}

/// One node of the DAG.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepInstance {
    /// Index in [`Plan::steps`]; also the instance's stable id within a run.
    pub idx: usize,
    pub step: StepId,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zone: Option<String>,
    pub actor: Actor,
    /// Instances that must end before this one starts.
    pub deps: Vec<usize>,
    /// The cluster whose SyncIQ job slot this instance takes, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_slot: Option<String>,
    /// Expected runtime (ms) used to start the longest jobs first.
    pub expected_ms: u64,
}

impl StepInstance {
    /// `step`, `step[policy]` or `step[zone]` — for messages.
    pub fn label(&self) -> String {
        match (&self.policy, &self.zone) {
            (Some(p), _) => format!("{}[{p}]", self.step),
            (None, Some(z)) => format!("{}[zone {z}]", self.step),
            _ => self.step.to_string(),
        }
    }
}

/// The DAG for one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub spec: RunSpec,
    /// The policies the run covers, in name order.
    pub policies: Vec<PolicyInfo>,
    pub steps: Vec<StepInstance>,
}

/// The plan could not be built.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum PlanError {
    #[error("unknown cluster {0:?}; known clusters: {1}")]
    UnknownCluster(String, String),
    #[error("policy {0:?} does not exist on {1}; policies there replicating to {2}: {3}")]
    UnknownPolicy(String, String, String, String),
    #[error("no SyncIQ policy replicates from {0} to {1}; nothing to fail over")]
    NoPolicies(String, String),
    #[error("`from` and `to` are both {0:?}; a failover needs two clusters")]
    SameCluster(String),
    #[error("{0}")]
    Unsupported(String),
}

struct Builder {
    steps: Vec<StepInstance>,
}

impl Builder {
    fn add(
        &mut self,
        step: StepId,
        policy: Option<&str>,
        zone: Option<&str>,
        actor: Actor,
        deps: Vec<usize>,
    ) -> usize {
        let idx = self.steps.len();
        let deps: BTreeSet<usize> = deps.into_iter().collect();
        self.steps.push(StepInstance {
            idx,
            step,
            policy: policy.map(str::to_string),
            zone: zone.map(str::to_string),
            actor,
            deps: deps.into_iter().collect(),
            job_slot: None,
            expected_ms: 0,
        });
        idx
    }
}

/// Build the DAG for `spec` over `inv`.
pub fn build(spec: &RunSpec, inv: &Inventory) -> Result<Plan, PlanError> {
    let known = || inv.clusters.keys().cloned().collect::<Vec<_>>().join(", ");
    for c in [&spec.from, &spec.to] {
        if !inv.clusters.contains_key(c) {
            return Err(PlanError::UnknownCluster(c.clone(), known()));
        }
    }
    if spec.from == spec.to {
        return Err(PlanError::SameCluster(spec.from.clone()));
    }
    if spec.kind != RunKind::Failover {
        return Err(PlanError::Unsupported(format!(
            "run kind {:?} is not implemented yet; only failover runs can be planned",
            spec.kind
        )));
    }
    if spec.mode != Mode::SynciqPolicy {
        return Err(PlanError::Unsupported(format!(
            "mode {} is not implemented yet; only synciq-policy can be planned",
            spec.mode.as_str()
        )));
    }
    let candidates = inv.policies_between(&spec.from, &spec.to);
    let policies: Vec<PolicyInfo> = if spec.policies.is_empty() {
        candidates.into_iter().cloned().collect()
    } else {
        let mut out = Vec::new();
        let mut names: Vec<&String> = spec.policies.iter().collect();
        names.sort();
        names.dedup();
        for name in names {
            match candidates.iter().find(|p| &p.name == name) {
                Some(p) => out.push((*p).clone()),
                None => {
                    return Err(PlanError::UnknownPolicy(
                        name.clone(),
                        spec.from.clone(),
                        spec.to.clone(),
                        candidates
                            .iter()
                            .map(|p| p.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", "),
                    ))
                }
            }
        }
        out
    };
    if policies.is_empty() {
        return Err(PlanError::NoPolicies(spec.from.clone(), spec.to.clone()));
    }

    let mut b = Builder { steps: Vec::new() };
    let names: Vec<&str> = policies.iter().map(|p| p.name.as_str()).collect();

    // 1b: per policy, no predecessors.
    let cache: Vec<usize> = names
        .iter()
        .map(|p| b.add(StepId::CacheSchedules, Some(p), None, Actor::Source, vec![]))
        .collect();
    // 2, 3, 3a: one each, after all preparation.
    let begin = b.add(
        StepId::Begin,
        None,
        None,
        Actor::Orchestrator,
        cache.clone(),
    );
    let mut gate = b.add(
        StepId::Validate,
        None,
        None,
        Actor::Orchestrator,
        vec![begin],
    );
    if spec.options.block_on_warning {
        gate = b.add(
            StepId::BlockOnWarning,
            None,
            None,
            Actor::Orchestrator,
            vec![gate],
        );
    }

    // Per-policy SyncIQ chains.
    let mut chain_ends = Vec::new();
    for (i, p) in policies.iter().enumerate() {
        let name = Some(p.name.as_str());
        let sync = b.add(StepId::SyncData, name, None, Actor::Source, vec![gate]);
        b.steps[sync].job_slot = Some(p.source.clone());
        b.steps[sync].expected_ms = p.expected_job_ms;
        let allow = b.add(StepId::AllowWrite, name, None, Actor::Target, vec![sync]);
        let resync = b.add(StepId::ResyncPrep, name, None, Actor::Source, vec![allow]);
        #[cfg(feature = "planted-bugs")]
        if spec.options.planted_bug == Some(crate::bugs::PlantedBug::ResyncPrepBeforeAllowWrite) {
            // Wrong on purpose: resync_prep right after the sync, allow_write after it.
            b.steps[resync].deps = vec![sync];
            b.steps[allow].deps = vec![resync];
        }
        let restore = b.add(
            StepId::RestoreSchedule,
            name,
            None,
            Actor::Target,
            vec![resync, cache[i]],
        );
        let mirror = b.add(
            StepId::RunMirror,
            name,
            None,
            Actor::Target,
            vec![resync, restore],
        );
        b.steps[mirror].job_slot = Some(spec.to.clone());
        b.steps[mirror].expected_ms = p.expected_job_ms;
        chain_ends.push(mirror);
    }

    // SyncIQ mode networking (14–18): manual checklist, or automatic when pools are mapped.
    // Without a pool mapping there is nothing the orchestrator can move automatically, so in
    // auto mode the steps are left out of the plan.
    if spec.options.networking == Networking::Manual {
        let mut prev = chain_ends.clone();
        for step in [
            StepId::RenameSourceSmartconnect,
            StepId::RemoveSourceSpns,
            StepId::MoveSmartconnectToTarget,
            StepId::AddTargetSpns,
            StepId::RepointDns,
        ] {
            let actor = match step {
                StepId::RenameSourceSmartconnect | StepId::RemoveSourceSpns => Actor::Source,
                StepId::RepointDns => Actor::Dns,
                _ => Actor::Target,
            };
            let i = b.add(step, None, None, actor, prev);
            prev = vec![i];
        }
    }

    Ok(Plan {
        spec: spec.clone(),
        policies,
        steps: b.steps,
    })
}

impl Plan {
    /// Instances that depend on `idx`, directly or not.
    pub fn descendants(&self, idx: usize) -> BTreeSet<usize> {
        let mut out = BTreeSet::new();
        let mut frontier = vec![idx];
        while let Some(n) = frontier.pop() {
            for s in &self.steps {
                if s.deps.contains(&n) && out.insert(s.idx) {
                    frontier.push(s.idx);
                }
            }
        }
        out
    }

    /// Instances `idx` depends on, directly or not.
    pub fn ancestors(&self, idx: usize) -> BTreeSet<usize> {
        let mut out = BTreeSet::new();
        let mut frontier = vec![idx];
        while let Some(n) = frontier.pop() {
            for &d in &self.steps[n].deps {
                if out.insert(d) {
                    frontier.push(d);
                }
            }
        }
        out
    }

    /// Human-readable DAG listing (for `dr plan`).
    pub fn render(&self) -> String {
        let mut s = String::new();
        for st in &self.steps {
            let deps: Vec<String> = st.deps.iter().map(|d| format!("#{d}")).collect();
            s.push_str(&format!(
                "#{:<4} {:<4} {:<32} {:<10} after {}\n",
                st.idx,
                st.step.seed_no(self.spec.mode),
                st.label(),
                format!("{:?}", st.actor).to_lowercase(),
                if deps.is_empty() {
                    "-".to_string()
                } else {
                    deps.join(",")
                }
            ));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::ClusterInfo;
    use crate::run_spec::RunOptions;

    fn inv(n: usize) -> Inventory {
        let mut inv = Inventory::default();
        for c in ["a", "b"] {
            inv.clusters.insert(
                c.into(),
                ClusterInfo {
                    name: c.into(),
                    guid: String::new(),
                    release: "9.5.0.0".into(),
                    hosts: vec![c.into()],
                    max_concurrent_jobs: 50,
                    synciq_service: "on".into(),
                },
            );
        }
        for i in 0..n {
            let name = format!("p{i}");
            inv.policies.insert(
                name.clone(),
                PolicyInfo {
                    name: name.clone(),
                    id: format!("{i:032}"),
                    source: "a".into(),
                    target: Some("b".into()),
                    source_path: format!("/ifs/{name}"),
                    target_path: format!("/ifs/{name}"),
                    schedule: String::new(),
                    enabled: true,
                    last_job_state: None,
                    expected_job_ms: 0,
                },
            );
        }
        inv
    }

    fn spec() -> RunSpec {
        RunSpec {
            kind: RunKind::Failover,
            mode: Mode::SynciqPolicy,
            from: "a".into(),
            to: "b".into(),
            policies: vec![],
            zone: None,
            pool: None,
            controlled: true,
            options: RunOptions::default(),
        }
    }

    #[test]
    fn chain_order_per_policy() {
        let plan = build(&spec(), &inv(2)).unwrap();
        let find = |step: StepId, p: &str| {
            plan.steps
                .iter()
                .find(|s| s.step == step && s.policy.as_deref() == Some(p))
                .unwrap()
                .idx
        };
        let anc = plan.ancestors(find(StepId::RunMirror, "p0"));
        for s in [
            StepId::SyncData,
            StepId::AllowWrite,
            StepId::ResyncPrep,
            StepId::RestoreSchedule,
            StepId::CacheSchedules,
        ] {
            assert!(anc.contains(&find(s, "p0")), "{s} before run_mirror");
        }
        // Chains are independent: nothing of p1 is upstream of p0's chain after validate.
        assert!(!anc.contains(&find(StepId::SyncData, "p1")));
        assert!(!anc.contains(&find(StepId::AllowWrite, "p1")));
    }

    #[test]
    fn dag_is_topologically_ordered() {
        let plan = build(&spec(), &inv(5)).unwrap();
        for s in &plan.steps {
            assert!(s.deps.iter().all(|&d| d < s.idx));
        }
    }

    #[test]
    fn unknown_policy_is_named() {
        let mut sp = spec();
        sp.policies = vec!["nope".into()];
        let err = build(&sp, &inv(1)).unwrap_err();
        assert!(err.to_string().contains("\"nope\""), "{err}");
        assert!(err.to_string().contains("p0"), "{err}");
    }

    #[test]
    fn manual_networking_adds_checklist_after_chains() {
        let mut sp = spec();
        sp.options.networking = Networking::Manual;
        let plan = build(&sp, &inv(2)).unwrap();
        let net: Vec<_> = plan
            .steps
            .iter()
            .filter(|s| s.step.is_networking())
            .collect();
        assert_eq!(net.len(), 5);
        let anc = plan.ancestors(net[0].idx);
        assert!(plan
            .steps
            .iter()
            .filter(|s| s.step == StepId::RunMirror)
            .all(|s| anc.contains(&s.idx)));
    }

    #[test]
    fn step_ids_round_trip() {
        for id in StepId::ALL {
            assert_eq!(StepId::parse(id.as_str()), Some(id));
            let json = serde_json::to_string(&id).unwrap();
            assert_eq!(json, format!("\"{}\"", id.as_str()));
        }
    }
}
