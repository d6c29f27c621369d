//! The plan: (inventory, run spec) → a DAG of step instances.
//!
//! [`build`] runs in two stages: `select.rs` chooses the policies, zones and pool mappings,
//! `graph.rs` builds the instances and edges — the one place that encodes the step order of
//! DESIGN.md §2 and the seed table — and checks the graph's invariants. Where the seed's
//! Access Zone column is garbled (it lists 13a/13b before resync-prep, which creates the
//! mirror policy 13a runs, and leaves allow-write out) we order by dependency: networking,
//! then allow_write → resync_prep → restore_schedule → quotas → run_mirror →
//! enable_config_jobs. Changing that interpretation is an edit in `graph.rs` and nowhere else.
//!
//! A step instance is a step id × (policy | zone | nothing). Edges are "must end before".
//! Per-policy chains are independent of each other, which is what lets the executor run them
//! concurrently (the seed footnote's "parallel step mode").

mod graph;
mod select;
mod step_id;

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

pub use step_id::StepId;

use crate::inventory::{Inventory, PolicyInfo, PoolInfo};
use crate::naming::strip_prefix;
use crate::run_spec::{Naming, RunKind, RunSpec};

/// Build the DAG for `spec` over `inv`.
pub fn build(spec: &RunSpec, inv: &Inventory) -> Result<Plan, PlanError> {
    let select::Selection {
        policies,
        zones,
        returned,
    } = select::select(spec, inv)?;
    let steps = if spec.kind == RunKind::Rehearsal {
        graph::rehearsal(&policies, &zones)
    } else {
        graph::failover(spec, &policies, &zones, returned.as_ref())
    };
    graph::check(spec, &steps)?;
    Ok(Plan {
        spec: spec.clone(),
        policies,
        zones,
        steps,
        estimated_ms: None,
        returned,
    })
}

/// A failback after an uncontrolled failover, as detected from what the clusters report
/// (never from a flag): the run's target is the source that went down and came back.
/// For each policy of the pair, the original (target → source of this run) is still
/// enabled on the returned cluster, no `<name>_mirror` exists on the failed-over side, and
/// the failed-over side's target record of the original is `writes_enabled` (its
/// allow-write ran, its resync-prep could not). The plan then fences the returned source
/// first and runs `returned_resync_prep` per policy before the normal failback chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Returned {
    /// The returned cluster (the run's `to`).
    pub cluster: String,
    /// (mirror policy the failback runs, original policy on the returned cluster), by
    /// mirror name.
    pub policies: Vec<(String, String)>,
    /// Why the plan believes so, for the plan text and the report.
    pub why: String,
}

impl Returned {
    /// The original policy behind the (not yet created) mirror `mirror`, if it is one.
    pub fn original_of(&self, mirror: &str) -> Option<&str> {
        self.policies
            .iter()
            .find(|(m, _)| m == mirror)
            .map(|(_, o)| o.as_str())
    }
}

/// Check a step graph read back from somewhere (a journal file) against the invariants the
/// executor relies on (see `graph::check`): the executor asserts them.
pub fn check_graph(spec: &RunSpec, steps: &[StepInstance]) -> Result<(), PlanError> {
    graph::check(spec, steps)
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
    /// Set when the step has nothing to do in this run (mode, option, no mapping): the
    /// executor records it `not_applicable{reason}` without running it (safety rule S6:
    /// every seed step appears in every report). Such instances have no edges.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_applicable: Option<String>,
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
    /// Zones cut over (zone modes) or whose names move (SyncIQ mode, automatic networking).
    #[serde(default)]
    pub zones: Vec<ZonePlan>,
    pub steps: Vec<StepInstance>,
    /// What `dr plan --estimate` predicts for this plan (total, ms), computed once when the
    /// run was planned with the run's cost model (`options.estimate`) and stored with it, so
    /// the report carries it without estimating again. `None`: planned without an
    /// estimate (`plan::build` alone).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimated_ms: Option<u64>,
    /// Set when the run is a failback after an uncontrolled failover ([`Returned`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub returned: Option<Returned>,
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
    #[error("{0}")]
    Invalid(String),
}

/// A resolved pool mapping for the networking steps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NetMapping {
    pub source_pool: PoolInfo,
    pub target_pool: PoolInfo,
    /// A failback over a mapping configured in the other direction: the names to move are
    /// the target pool's own (renamed `igls-original-…` by the failover), carried by the
    /// source pool as aliases.
    #[serde(default)]
    pub reverse: bool,
}

impl NetMapping {
    /// The client-facing names that must move, without any rename prefix: the source pool's
    /// zone name and aliases (failover), or the target pool's (failback).
    pub fn names(&self, naming: &Naming) -> Vec<String> {
        let home = if self.reverse {
            &self.target_pool
        } else {
            &self.source_pool
        };
        let mut v = vec![strip_prefix(&home.sc_dns_zone, &naming.original_prefix)];
        for a in &home.aliases {
            let a = strip_prefix(a, &naming.original_prefix);
            if !a.is_empty() && !a.starts_with(&naming.ignore_prefix) && !v.contains(&a) {
                v.push(a);
            }
        }
        v.retain(|n| !n.is_empty() && !n.starts_with(&naming.hint_prefix));
        v
    }
}

/// One zone's part of a plan (zone modes, and SyncIQ mode with automatic networking).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ZonePlan {
    pub name: String,
    /// Base path on the source.
    pub base_path: String,
    pub mappings: Vec<NetMapping>,
    pub policies: Vec<String>,
}

/// Why SyncIQ-mode networking is `not_applicable` without a pool mapping (S6).
pub const NO_POOL_MAPPING: &str = "no pool mapping: move names by hand";

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
        if let Some(r) = &self.returned {
            s.push_str(&format!(
                "# {}\n# so the run fences {} first (fence_returned_source) and makes each mirror with resync-prep there (returned_resync_prep)\n",
                r.why, r.cluster
            ));
        }
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
    use crate::papi::AccessZone;
    use crate::run_spec::RunOptions;
    use crate::run_spec::{Mode, Networking, PoolMapping};

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
                    history: Vec::new(),
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
            pool_mappings: vec![],
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

    /// Option `presync` (DESIGN §8): one `presync[P]` per policy in a controlled failover or
    /// failback, taking a job slot with the full job's expected time, and the protocol
    /// switch, the lock and everything after them wait for every one of them; the final
    /// sync after it expects a delta. Off, uncontrolled, in a rehearsal or a failback after
    /// an uncontrolled failover it is one bare `not_applicable` instance saying why.
    #[test]
    fn presync_is_planned_before_the_lock_where_it_applies() {
        use crate::inventory::JobSample;
        let mut inv = inv(2);
        for p in inv.policies.values_mut() {
            // Incremental syncs of 60 s, an hour apart.
            p.history = (0..3)
                .map(|i| JobSample {
                    action: "run".into(),
                    duration_ms: 60_000,
                    bytes: 1 << 30,
                    initial: false,
                    end_time: 1_000_000 - i * 3_600,
                })
                .collect();
            p.expected_job_ms = JobSample::expected_run_ms(&p.history);
        }
        let mut sp = spec();
        sp.options.data_integrity = true;
        sp.options.disable_protocols = true;
        assert!(sp.options.presync, "on by default");
        for kind in [RunKind::Failover, RunKind::Failback] {
            sp.kind = kind;
            let plan = build(&sp, &inv).unwrap();
            let pre: Vec<&StepInstance> = plan
                .steps
                .iter()
                .filter(|s| s.step == StepId::Presync)
                .collect();
            assert_eq!(pre.len(), 2, "{kind:?}: one per policy");
            for p in &pre {
                assert!(p.not_applicable.is_none() && p.deps.is_empty());
                assert_eq!(p.job_slot.as_deref(), Some("a"));
                assert_eq!(p.expected_ms, 60_000, "the full job");
            }
            for gate in [StepId::DisableProtocols, StepId::DataIntegrityLock] {
                let g = plan.steps.iter().find(|s| s.step == gate).unwrap();
                for p in &pre {
                    assert!(g.deps.contains(&p.idx), "{gate} waits for {}", p.label());
                }
            }
            // And so does everything from the lock on.
            let sync = plan
                .steps
                .iter()
                .find(|s| s.step == StepId::SyncData && s.policy.as_deref() == Some("p0"))
                .unwrap();
            let anc = plan.ancestors(sync.idx);
            assert!(pre.iter().all(|p| anc.contains(&p.idx)));
            // A minute's writes against an hour's backlog: the final sync is a delta.
            assert_eq!(sync.expected_ms, 1_000);
        }
        let bare = |plan: &Plan| -> String {
            let p: Vec<&StepInstance> = plan
                .steps
                .iter()
                .filter(|s| s.step == StepId::Presync)
                .collect();
            assert_eq!(p.len(), 1);
            assert!(p[0].policy.is_none() && p[0].deps.is_empty());
            p[0].not_applicable.clone().expect("not applicable")
        };
        let sync_expected = |plan: &Plan| {
            plan.steps
                .iter()
                .find(|s| s.step == StepId::SyncData)
                .map(|s| s.expected_ms)
        };
        sp.kind = RunKind::Failover;
        let mut off = sp.clone();
        off.options.presync = false;
        let plan = build(&off, &inv).unwrap();
        assert!(bare(&plan).contains("option presync is off"));
        assert_eq!(
            sync_expected(&plan),
            Some(60_000),
            "no pre-sync: the full job"
        );
        let mut unc = sp.clone();
        unc.controlled = false;
        assert!(bare(&build(&unc, &inv).unwrap()).contains("uncontrolled"));
        let mut reh = sp.clone();
        reh.kind = RunKind::Rehearsal;
        assert!(bare(&build(&reh, &inv).unwrap()).contains("rehearsal"));
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

    fn seed_steps() -> Vec<StepId> {
        StepId::all()
            .filter(|s| {
                !s.is_rollback()
                    && !matches!(
                        s,
                        StepId::ZoneGate
                            // The zone-mode form of seed 16+17: in SyncIQ and DFS mode
                            // the per-policy quota steps carry those seed steps (12, 13),
                            // and in zone modes they are there as `not_applicable` beside
                            // it, so every seed step is still in every report.
                            | StepId::FailoverZoneQuotas
                            | StepId::AllowWriteRevert
                            | StepId::AddTestAlias
                            | StepId::VerifyTestAccess
                            | StepId::RemoveTestAlias
                            | StepId::FenceReturnedSource
                            | StepId::ReturnedResyncPrep
                    )
            })
            .collect()
    }

    /// S6: every seed step appears in every report, as an instance or `not_applicable`.
    #[test]
    fn every_seed_step_is_in_every_plan() {
        for (mode, networking, quotas) in [
            (Mode::SynciqPolicy, Networking::Auto, true),
            (Mode::SynciqPolicy, Networking::Manual, false),
            (Mode::Dfs, Networking::Auto, true),
        ] {
            let mut sp = spec();
            sp.mode = mode;
            sp.options.networking = networking;
            sp.options.quotas = quotas;
            let plan = build(&sp, &inv(2)).unwrap();
            for id in seed_steps() {
                assert!(
                    plan.steps.iter().any(|s| s.step == id),
                    "{id} missing from the {mode:?}/{networking:?} plan"
                );
            }
            for s in plan.steps.iter().filter(|s| s.not_applicable.is_some()) {
                assert!(s.deps.is_empty(), "{} has edges", s.label());
                assert!(
                    !plan.steps.iter().any(|x| x.deps.contains(&s.idx)),
                    "something waits for not-applicable {}",
                    s.label()
                );
            }
        }
        let plan = build(&spec(), &inv(1)).unwrap();
        let na = |id: StepId| {
            plan.steps
                .iter()
                .find(|s| s.step == id)
                .and_then(|s| s.not_applicable.clone())
        };
        assert_eq!(
            na(StepId::RenameSourceSmartconnect).as_deref(),
            Some(NO_POOL_MAPPING)
        );
        assert!(na(StepId::DfsRenameShares).is_some());
        assert!(na(StepId::SyncData).is_none());
    }

    /// S1: source quotas go only after the copy; with quotas off only when asked for.
    #[test]
    fn quota_removal_waits_for_the_copy() {
        let plan = build(&spec(), &inv(1)).unwrap();
        let find = |plan: &Plan, step: StepId| {
            plan.steps
                .iter()
                .find(|s| s.step == step && s.policy.as_deref() == Some("p0"))
                .map(|s| (s.idx, s.deps.clone()))
        };
        let (q, _) = find(&plan, StepId::FailoverQuotas).unwrap();
        let (_, rm_deps) = find(&plan, StepId::RemoveSourceQuotas).unwrap();
        assert_eq!(rm_deps, vec![q]);
        let mut sp = spec();
        sp.options.quotas = false;
        let plan = build(&sp, &inv(1)).unwrap();
        assert!(find(&plan, StepId::RemoveSourceQuotas).is_none());
        sp.options.remove_source_quotas = true;
        let plan = build(&sp, &inv(1)).unwrap();
        let (aw, _) = find(&plan, StepId::AllowWrite).unwrap();
        assert!(find(&plan, StepId::RemoveSourceQuotas)
            .unwrap()
            .1
            .contains(&aw));
    }

    /// S2: SyncIQ-mode names move only after the zone's policies are writable on the target.
    #[test]
    fn synciq_networking_waits_for_allow_write() {
        let mut inv = inv(2);
        for (c, ip) in [("a", "10.0.0.1"), ("b", "10.0.0.2")] {
            inv.zones.insert(
                c.into(),
                vec![AccessZone {
                    name: "System".into(),
                    path: "/ifs".into(),
                }],
            );
            inv.pools.insert(
                c.into(),
                vec![PoolInfo {
                    id: format!("groupnet0.subnet0.{c}"),
                    name: c.into(),
                    access_zone: "System".into(),
                    sc_dns_zone: format!("{c}.example"),
                    aliases: vec![],
                    ssips: vec![ip.into()],
                    ranges: vec![],
                }],
            );
        }
        let mut sp = spec();
        sp.pool_mappings = vec![PoolMapping {
            source: "a/groupnet0.subnet0.a".into(),
            target: "b/groupnet0.subnet0.b".into(),
            policies: vec![],
            names: vec![],
            zone: None,
        }];
        let plan = build(&sp, &inv).unwrap();
        assert_eq!(plan.zones[0].policies, vec!["p0", "p1"]);
        let rename = plan
            .steps
            .iter()
            .find(|s| s.step == StepId::RenameSourceSmartconnect)
            .unwrap();
        for p in ["p0", "p1"] {
            let aw = plan
                .steps
                .iter()
                .find(|s| s.step == StepId::AllowWrite && s.policy.as_deref() == Some(p))
                .unwrap();
            assert!(
                rename.deps.contains(&aw.idx),
                "rename waits for allow_write[{p}]"
            );
        }
    }

    /// The graph check refuses a broken DAG (a forward edge, a duplicate instance).
    #[test]
    fn graph_check_refuses_broken_graphs() {
        let sp = spec();
        let plan = build(&sp, &inv(2)).unwrap();
        assert_eq!(graph::check(&sp, &plan.steps), Ok(()));
        let mut forward = plan.steps.clone();
        let last = forward.len() - 1;
        forward[0].deps = vec![last];
        assert!(graph::check(&sp, &forward).is_err());
        let mut twice = plan.steps.clone();
        let mut dup = twice[1].clone();
        dup.idx = twice.len();
        twice.push(dup);
        assert!(graph::check(&sp, &twice).is_err());
    }

    /// Every networking step's undo is a networking rollback, and the catalogue's texts are
    /// there for every id.
    #[test]
    fn catalogue_rows_agree() {
        for id in StepId::all() {
            assert!(!id.impact().is_empty() && !id.recovery().is_empty(), "{id}");
            if let Some(undo) = id.networking_rollback() {
                assert!(id.is_networking() && undo.is_networking_rollback(), "{id}");
            }
            assert_eq!(
                id.is_gate() && id != StepId::ZoneGate,
                id.is_validation_gate()
            );
        }
    }

    #[test]
    fn step_ids_round_trip() {
        for id in StepId::all() {
            assert_eq!(StepId::parse(id.as_str()), Some(id));
            let json = serde_json::to_string(&id).unwrap();
            assert_eq!(json, format!("\"{}\"", id.as_str()));
        }
    }

    /// A failback after an uncontrolled failover is detected from the clusters' state, not
    /// from the run spec: originals still enabled on the returned side, no mirror on the
    /// failed-over side, its target records writes_enabled. The plan fences the returned
    /// source first and makes each mirror before the mirror's chain.
    #[test]
    fn failback_after_uncontrolled_is_detected() {
        use crate::inventory::TargetPolicyInfo;
        let mut inv = inv(2);
        let mut sp = spec();
        sp.kind = RunKind::Failback;
        sp.from = "b".into();
        sp.to = "a".into();
        let tp = |name: &str, state: &str| TargetPolicyInfo {
            name: name.into(),
            source_host: "a".into(),
            target_path: format!("/ifs/{name}"),
            failover_failback_state: state.into(),
        };
        // Nothing failed over: no mirrors, nothing returned, nothing to fail back.
        inv.target_policies.insert(
            "b".into(),
            vec![tp("p0", "writes_disabled"), tp("p1", "writes_disabled")],
        );
        assert!(matches!(build(&sp, &inv), Err(PlanError::NoPolicies(..))));
        // Uncontrolled failover of p0 only (allow-write ran, resync-prep could not).
        inv.target_policies.insert(
            "b".into(),
            vec![tp("p0", "writes_enabled"), tp("p1", "writes_disabled")],
        );
        let plan = build(&sp, &inv).unwrap();
        let r = plan.returned.clone().expect("detected");
        assert_eq!(r.cluster, "a");
        assert_eq!(r.policies, vec![("p0_mirror".into(), "p0".into())]);
        let names: Vec<&str> = plan.policies.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, vec!["p0_mirror"]);
        assert_eq!(plan.steps[0].step, StepId::FenceReturnedSource);
        // No pre-sync: the mirror it would run exists only after returned_resync_prep.
        let pre: Vec<&StepInstance> = plan
            .steps
            .iter()
            .filter(|s| s.step == StepId::Presync)
            .collect();
        assert_eq!(pre.len(), 1);
        assert!(pre[0]
            .not_applicable
            .as_deref()
            .is_some_and(|r| r.contains("returned_resync_prep")));
        let find = |step: StepId| {
            plan.steps
                .iter()
                .find(|s| s.step == step && s.policy.as_deref() == Some("p0_mirror"))
                .unwrap()
                .idx
        };
        let rrp = find(StepId::ReturnedResyncPrep);
        assert!(plan.ancestors(rrp).contains(&0));
        assert!(plan.ancestors(rrp).contains(
            &plan
                .steps
                .iter()
                .find(|s| s.step == StepId::Validate)
                .unwrap()
                .idx
        ));
        assert!(plan.ancestors(find(StepId::SyncData)).contains(&rrp));
        assert!(plan
            .render()
            .contains("returned after an uncontrolled failover"));
        // A controlled failback (the mirror exists) is not a returned one.
        let mut mirror = inv.policies["p0"].clone();
        mirror.name = "p0_mirror".into();
        mirror.source = "b".into();
        mirror.target = Some("a".into());
        inv.policies.insert("p0_mirror".into(), mirror);
        let plan = build(&sp, &inv).unwrap();
        assert!(plan.returned.is_none());
        assert!(!plan
            .steps
            .iter()
            .any(|s| s.step == StepId::FenceReturnedSource));
    }

    /// Uncontrolled zone-mode failover with the source undiscovered (down): the zone comes
    /// from the target, the source pool from the names recorded with the mapping; without
    /// them the plan says what is missing.
    #[test]
    fn uncontrolled_zone_modes_without_source_inventory() {
        let mut inv = inv(2);
        inv.zones.insert(
            "b".into(),
            vec![AccessZone {
                name: "z0".into(),
                path: "/ifs/p0".into(),
            }],
        );
        inv.pools.insert(
            "b".into(),
            vec![PoolInfo {
                id: "groupnet0.subnet0.z0-dr".into(),
                name: "z0-dr".into(),
                access_zone: "z0".into(),
                sc_dns_zone: "z0-dr.example".into(),
                aliases: vec![],
                ssips: vec!["10.0.0.2".into()],
                ranges: vec![],
            }],
        );
        let mut sp = spec();
        sp.mode = Mode::AccessZone;
        sp.zone = Some("z0".into());
        sp.controlled = false;
        sp.pool_mappings = vec![PoolMapping {
            source: "a/groupnet0.subnet0.z0".into(),
            target: "b/groupnet0.subnet0.z0-dr".into(),
            policies: vec![],
            names: vec![],
            zone: None,
        }];
        let err = build(&sp, &inv).unwrap_err().to_string();
        assert!(
            err.contains("unreachable") && err.contains("`names`"),
            "{err}"
        );
        sp.pool_mappings[0].names = vec!["z0.example".into(), "alias.example".into()];
        let plan = build(&sp, &inv).unwrap();
        assert_eq!(plan.zones[0].policies, vec!["p0"]);
        let m = &plan.zones[0].mappings[0];
        assert_eq!(
            m.names(&sp.options.naming),
            vec!["z0.example", "alias.example"]
        );
        assert_eq!(m.source_pool.access_zone, "z0");
        // IP Pool mode: the dead source's pool is the mapping's.
        sp.mode = Mode::IpPool;
        sp.zone = None;
        sp.pool = Some("groupnet0.subnet0.z0".into());
        let plan = build(&sp, &inv).unwrap();
        assert_eq!(plan.zones[0].policies, vec!["p0"]);
        sp.pool = Some("groupnet0.subnet0.other".into());
        let err = build(&sp, &inv).unwrap_err().to_string();
        assert!(err.contains("unreachable"), "{err}");
    }
}
