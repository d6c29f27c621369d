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

use std::collections::BTreeMap;

use crate::inventory::{Inventory, PolicyInfo, PoolInfo};
use crate::run_spec::{Mode, Naming, Networking, PoolMapping, RunKind, RunSpec};

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
    /// Zone cut-over gate: holds when any zone policy's final sync failed.
    ZoneGate,
    /// Rollback of 1b: the cached schedule is put back on the source policy.
    RollbackSchedules,
    /// Rollback of 1a: the shares' original permissions are put back.
    RollbackLock,
    /// Rollback of 3b: the config jobs are enabled again.
    RollbackConfigJobs,
    /// Rollback of step 1's option: SMB/NFS are turned back on.
    RollbackProtocols,
    /// S3 rollback of a zone's networking, in reverse: the DNS delegation back home.
    RollbackRepointDns,
    /// S3: the SPNs the target's account took are removed again.
    RollbackAddTargetSpns,
    /// S3: the source names the target pool took as aliases are removed again.
    RollbackMoveSmartconnectToTarget,
    /// S3: the SPNs removed from the source's account are registered again.
    RollbackRemoveSourceSpns,
    /// S3: the source pool gets its zone name and aliases back.
    RollbackRenameSourceSmartconnect,
    /// S4/S5: a policy whose allow-write failed after its DFS shares were switched gets them
    /// switched back (target `X` hidden again, source `X` active), so DFS clients reach the
    /// copy that is still writable.
    RollbackDfsRenameShares,
}

impl StepId {
    /// All ids, in seed order.
    pub const ALL: [StepId; 36] = [
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
        StepId::ZoneGate,
        StepId::RollbackSchedules,
        StepId::RollbackLock,
        StepId::RollbackConfigJobs,
        StepId::RollbackProtocols,
        StepId::RollbackRepointDns,
        StepId::RollbackAddTargetSpns,
        StepId::RollbackMoveSmartconnectToTarget,
        StepId::RollbackRemoveSourceSpns,
        StepId::RollbackRenameSourceSmartconnect,
        StepId::RollbackDfsRenameShares,
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
            StepId::ZoneGate => "zone_gate",
            StepId::RollbackSchedules => "rollback_schedules",
            StepId::RollbackLock => "rollback_lock",
            StepId::RollbackConfigJobs => "rollback_config_jobs",
            StepId::RollbackProtocols => "rollback_protocols",
            StepId::RollbackRepointDns => "rollback_repoint_dns",
            StepId::RollbackAddTargetSpns => "rollback_add_target_spns",
            StepId::RollbackMoveSmartconnectToTarget => "rollback_move_smartconnect_to_target",
            StepId::RollbackRemoveSourceSpns => "rollback_remove_source_spns",
            StepId::RollbackRenameSourceSmartconnect => "rollback_rename_source_smartconnect",
            StepId::RollbackDfsRenameShares => "rollback_dfs_rename_shares",
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
            StepId::AllowWriteRevert => "9↺",
            StepId::ZoneGate => "G",
            StepId::RollbackSchedules => "1b↺",
            StepId::RollbackLock => "1a↺",
            StepId::RollbackConfigJobs => "3b↺",
            StepId::RollbackProtocols => "1↺",
            StepId::RollbackRepointDns => "10↺",
            StepId::RollbackAddTargetSpns => "9↺",
            StepId::RollbackMoveSmartconnectToTarget => "8↺",
            StepId::RollbackRemoveSourceSpns => "7↺",
            StepId::RollbackRenameSourceSmartconnect => "6↺",
            StepId::RollbackDfsRenameShares => "6↺",
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

    /// Steps whose failure for policy P skips every instance of P that waits for them
    /// (docs/safety-rules.md): the SyncIQ chain, plus config sync and the DFS renames, whose
    /// failure would leave the target unable to serve P's users. (`failover_quotas` skips
    /// only `remove_source_quotas`: see the executor.)
    pub fn stops_policy_chain(self) -> bool {
        matches!(
            self,
            StepId::SyncData
                | StepId::SyncConfig
                | StepId::DfsRenameShares
                | StepId::AllowWrite
                | StepId::ResyncPrep
        )
    }

    /// The S3 undo steps of the networking chain.
    pub fn is_networking_rollback(self) -> bool {
        matches!(
            self,
            StepId::RollbackRepointDns
                | StepId::RollbackAddTargetSpns
                | StepId::RollbackMoveSmartconnectToTarget
                | StepId::RollbackRemoveSourceSpns
                | StepId::RollbackRenameSourceSmartconnect
        )
    }

    /// The rollback instance that undoes a networking step (S3).
    pub fn networking_rollback(self) -> Option<StepId> {
        Some(match self {
            StepId::RenameSourceSmartconnect => StepId::RollbackRenameSourceSmartconnect,
            StepId::RemoveSourceSpns => StepId::RollbackRemoveSourceSpns,
            StepId::MoveSmartconnectToTarget => StepId::RollbackMoveSmartconnectToTarget,
            StepId::AddTargetSpns => StepId::RollbackAddTargetSpns,
            StepId::RepointDns => StepId::RollbackRepointDns,
            _ => return None,
        })
    }

    /// Steps that run a SyncIQ job and report through `sync.job.finish`.
    pub fn runs_job(self) -> bool {
        matches!(
            self,
            StepId::SyncData
                | StepId::AllowWrite
                | StepId::AllowWriteRevert
                | StepId::ResyncPrep
                | StepId::RunMirror
        )
    }

    /// Steps that occupy one of a cluster's SyncIQ job slots while they run.
    pub fn uses_job_slot(self) -> bool {
        matches!(self, StepId::SyncData | StepId::RunMirror)
    }

    /// Gate steps: when one fails, the run stops before cutting anything over and the
    /// preparation is rolled back.
    pub fn is_gate(self) -> bool {
        self.is_validation_gate() || self == StepId::ZoneGate
    }

    /// Gates whose failure means the run was blocked before any cut-over: validation, and
    /// the protections the operator asked for (a failover without the requested lock or
    /// protocol shutdown could lose writes, so it does not go on without them).
    pub fn is_validation_gate(self) -> bool {
        matches!(
            self,
            StepId::Validate
                | StepId::BlockOnWarning
                | StepId::DataIntegrityLock
                | StepId::DisableProtocols
        )
    }

    /// Rollback steps, added by the executor when a gate fails.
    pub fn is_rollback(self) -> bool {
        matches!(
            self,
            StepId::RollbackSchedules
                | StepId::RollbackLock
                | StepId::RollbackConfigJobs
                | StepId::RollbackProtocols
                | StepId::RollbackRepointDns
                | StepId::RollbackAddTargetSpns
                | StepId::RollbackMoveSmartconnectToTarget
                | StepId::RollbackRemoveSourceSpns
                | StepId::RollbackRenameSourceSmartconnect
                | StepId::RollbackDfsRenameShares
        )
    }

    /// Steps that act on the source cluster and so cannot run when it is unreachable
    /// (uncontrolled failover).
    pub fn needs_source(self) -> bool {
        matches!(
            self,
            StepId::CheckOpenFiles
                | StepId::DisableProtocols
                | StepId::DataIntegrityLock
                | StepId::CacheSchedules
                | StepId::SyncData
                | StepId::SyncConfig
                | StepId::DfsRenameShares
                | StepId::RenameSourceSmartconnect
                | StepId::ResyncPrep
                | StepId::FailoverQuotas
                | StepId::RemoveSourceQuotas
                | StepId::RemoveSourceSpns
                | StepId::RollbackSchedules
                | StepId::RollbackLock
                | StepId::RollbackProtocols
                | StepId::RollbackRemoveSourceSpns
                | StepId::RollbackRenameSourceSmartconnect
                | StepId::RollbackDfsRenameShares
        )
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
            not_applicable: None,
        });
        idx
    }

    /// A bare instance of `step` that does not apply to this run, and why.
    fn not_applicable(&mut self, step: StepId, reason: &str) {
        let i = self.add(step, None, None, Actor::Orchestrator, vec![]);
        self.steps[i].not_applicable = Some(reason.to_string());
    }
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
        let mut v = vec![strip(&home.sc_dns_zone, &naming.original_prefix)];
        for a in &home.aliases {
            let a = strip(a, &naming.original_prefix);
            if !a.is_empty() && !a.starts_with(&naming.ignore_prefix) && !v.contains(&a) {
                v.push(a);
            }
        }
        v.retain(|n| !n.is_empty() && !n.starts_with(&naming.hint_prefix));
        v
    }
}

fn strip(name: &str, prefix: &str) -> String {
    name.strip_prefix(prefix).unwrap_or(name).to_string()
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
    if spec.kind == RunKind::Rehearsal && spec.mode != Mode::SynciqPolicy {
        return Err(PlanError::Unsupported(
            "rehearsal runs are planned per SyncIQ policy: use mode synciq-policy (with run.policies to pick the policies of a zone)".into(),
        ));
    }
    if !spec.controlled && matches!(spec.mode, Mode::AccessZone | Mode::IpPool) {
        return Err(PlanError::Unsupported(
            "an uncontrolled failover in access-zone / ip-pool mode needs the unreachable source's pool inventory, which is not kept yet; use synciq-policy or dfs mode".into(),
        ));
    }
    let naming = &spec.options.naming;
    let candidates = inv.policies_between(&spec.from, &spec.to);
    let pick_named = |names: &[String]| -> Result<Vec<PolicyInfo>, PlanError> {
        let mut out = Vec::new();
        let mut names: Vec<&String> = names.iter().collect();
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
        Ok(out)
    };
    let resolve_mapping = |m: &PoolMapping| -> Result<NetMapping, PlanError> {
        let side = |s: &str| -> Result<PoolInfo, PlanError> {
            let (cluster, pool) = PoolMapping::split(s).ok_or_else(|| {
                PlanError::Invalid(format!("pool mapping {s:?} must be <cluster>/<pool-id>"))
            })?;
            inv.pool(cluster, pool).cloned().ok_or_else(|| {
                PlanError::Invalid(format!("pool {pool:?} not found on cluster {cluster:?}"))
            })
        };
        Ok(NetMapping {
            source_pool: side(&m.source)?,
            target_pool: side(&m.target)?,
            reverse: false,
        })
    };
    // Mappings between from and to: explicit ones, then target-pool alias hints
    // (`igls-<source-pool-name>` on a target pool names its source pool).
    let mut mappings: Vec<(NetMapping, Vec<String>)> = Vec::new();
    for m in &spec.pool_mappings {
        let src_cluster = PoolMapping::split(&m.source).map(|x| x.0);
        let tgt_cluster = PoolMapping::split(&m.target).map(|x| x.0);
        if src_cluster == Some(spec.from.as_str()) && tgt_cluster == Some(spec.to.as_str()) {
            mappings.push((resolve_mapping(m)?, m.policies.clone()));
        }
    }
    // Failback over a mapping configured for the failover direction.
    if mappings.is_empty() {
        for m in &spec.pool_mappings {
            let src_cluster = PoolMapping::split(&m.source).map(|x| x.0);
            let tgt_cluster = PoolMapping::split(&m.target).map(|x| x.0);
            if src_cluster == Some(spec.to.as_str()) && tgt_cluster == Some(spec.from.as_str()) {
                let fwd = resolve_mapping(m)?;
                mappings.push((
                    NetMapping {
                        source_pool: fwd.target_pool,
                        target_pool: fwd.source_pool,
                        reverse: true,
                    },
                    m.policies.clone(),
                ));
            }
        }
    }
    for tp in inv.pools.get(&spec.to).into_iter().flatten() {
        for alias in &tp.aliases {
            let Some(src_name) = alias.strip_prefix(&naming.hint_prefix) else {
                continue;
            };
            if src_name.starts_with("original-") || src_name.starts_with("dfs-") {
                continue;
            }
            if let Some(sp) = inv.pool(&spec.from, src_name) {
                if !mappings.iter().any(|(m, _)| m.source_pool.id == sp.id) {
                    mappings.push((
                        NetMapping {
                            source_pool: sp.clone(),
                            target_pool: tp.clone(),
                            reverse: false,
                        },
                        vec![],
                    ));
                }
            }
        }
    }

    let zone_policies = |zone: &str| -> Result<(String, Vec<PolicyInfo>), PlanError> {
        let z = inv.zone(&spec.from, zone).ok_or_else(|| {
            PlanError::Invalid(format!(
                "access zone {zone:?} does not exist on {}",
                spec.from
            ))
        })?;
        if inv.zone(&spec.to, zone).is_none() {
            return Err(PlanError::Invalid(format!(
                "access zone {zone:?} does not exist on {}; create it there first",
                spec.to
            )));
        }
        let ps = candidates
            .iter()
            .filter(|p| crate::steps::path_under(&p.source_path, &z.path) && z.path != "/ifs")
            .map(|p| (*p).clone())
            .collect();
        Ok((z.path.clone(), ps))
    };

    let mut zones: Vec<ZonePlan> = Vec::new();
    let policies: Vec<PolicyInfo> = match spec.mode {
        Mode::SynciqPolicy | Mode::Dfs => {
            let ps: Vec<PolicyInfo> = if spec.policies.is_empty() {
                candidates.iter().map(|p| (*p).clone()).collect()
            } else {
                pick_named(&spec.policies)?
            };
            if spec.mode == Mode::SynciqPolicy && spec.options.networking == Networking::Auto {
                // Automatic networking in SyncIQ mode needs the pool mapping in the plan.
                let mut by_zone: BTreeMap<String, ZonePlan> = BTreeMap::new();
                for (m, _) in &mappings {
                    let z = m.source_pool.access_zone.clone();
                    let base = inv
                        .zone(&spec.from, &z)
                        .map(|x| x.path.clone())
                        .unwrap_or_default();
                    let e = by_zone.entry(z.clone()).or_insert(ZonePlan {
                        name: z,
                        base_path: base,
                        mappings: vec![],
                        policies: vec![],
                    });
                    e.mappings.push(m.clone());
                }
                zones = by_zone.into_values().collect();
                for z in &mut zones {
                    z.policies = ps
                        .iter()
                        .filter(|p| {
                            // A policy's zone: the deepest source zone holding its path.
                            inv.zone_of_path(&spec.from, &p.source_path)
                                .map_or("System", |x| x.name.as_str())
                                == z.name
                        })
                        .map(|p| p.name.clone())
                        .collect();
                }
            }
            ps
        }
        Mode::AccessZone => {
            let zone = spec.zone.as_deref().ok_or_else(|| {
                PlanError::Invalid("access-zone mode needs run.zone (the zone to fail over)".into())
            })?;
            let (base, ps) = zone_policies(zone)?;
            let ms: Vec<NetMapping> = mappings
                .iter()
                .filter(|(m, _)| m.source_pool.access_zone == zone)
                .map(|(m, _)| m.clone())
                .collect();
            if ms.is_empty() {
                return Err(PlanError::Invalid(format!(
                    "no SmartConnect pool of zone {zone:?} on {} is mapped to a pool on {} (add world.pool_mappings / run.pool_mappings, or an alias hint {}<pool> on the target pool)",
                    spec.from, spec.to, naming.hint_prefix
                )));
            }
            if !spec.policies.is_empty() {
                return Err(PlanError::Invalid(
                    "access-zone mode fails over every policy of the zone; remove run.policies"
                        .into(),
                ));
            }
            zones.push(ZonePlan {
                name: zone.to_string(),
                base_path: base,
                mappings: ms,
                policies: ps.iter().map(|p| p.name.clone()).collect(),
            });
            ps
        }
        Mode::IpPool => {
            let pool = spec.pool.as_deref().ok_or_else(|| {
                PlanError::Invalid("ip-pool mode needs run.pool (the source pool id)".into())
            })?;
            let sp = inv.pool(&spec.from, pool).ok_or_else(|| {
                PlanError::Invalid(format!("pool {pool:?} not found on {}", spec.from))
            })?;
            let (m, assigned) = mappings
                .iter()
                .find(|(m, _)| m.source_pool.id == sp.id)
                .cloned()
                .ok_or_else(|| {
                    PlanError::Invalid(format!(
                        "pool {pool:?} is not mapped to a pool on {} (add a pool mapping or the alias hint {}{} on the target pool)",
                        spec.to, naming.hint_prefix, sp.name
                    ))
                })?;
            let zone = sp.access_zone.clone();
            let (base, zone_ps) = zone_policies(&zone)?;
            let ps = if !assigned.is_empty() {
                pick_named(&assigned)?
            } else if !spec.policies.is_empty() {
                pick_named(&spec.policies)?
            } else {
                zone_ps
            };
            zones.push(ZonePlan {
                name: zone,
                base_path: base,
                mappings: vec![m],
                policies: ps.iter().map(|p| p.name.clone()).collect(),
            });
            ps
        }
    };
    if policies.is_empty() {
        return Err(PlanError::NoPolicies(spec.from.clone(), spec.to.clone()));
    }

    if spec.kind == RunKind::Rehearsal {
        return Ok(rehearsal(spec, policies));
    }
    let zone_mode = matches!(spec.mode, Mode::AccessZone | Mode::IpPool);
    let o = &spec.options;
    let mut b = Builder { steps: Vec::new() };

    // 1, (1), 1a, 1b: preparation on the source.
    let mut prep = vec![b.add(StepId::CheckOpenFiles, None, None, Actor::Source, vec![])];
    if !o.disable_protocols {
        b.not_applicable(StepId::DisableProtocols, "option disable_protocols is off");
    }
    if !o.data_integrity {
        b.not_applicable(StepId::DataIntegrityLock, "option data_integrity is off");
    }
    if !o.block_on_warning {
        b.not_applicable(StepId::BlockOnWarning, "option block_on_warning is off");
    }
    if spec.mode != Mode::Dfs {
        b.not_applicable(
            StepId::DfsRenameShares,
            "not DFS mode: no DFS shares to redirect",
        );
    }
    if !o.quotas {
        b.not_applicable(StepId::FailoverQuotas, "option quotas is off");
        if !o.remove_source_quotas {
            b.not_applicable(
                StepId::RemoveSourceQuotas,
                "option quotas is off: source quotas stay (set remove_source_quotas to delete them)",
            );
        }
    }
    if o.disable_protocols {
        prep.push(b.add(
            StepId::DisableProtocols,
            None,
            None,
            Actor::Source,
            vec![prep[0]],
        ));
    }
    if o.data_integrity {
        let last = *prep.last().unwrap_or(&0);
        prep.push(b.add(
            StepId::DataIntegrityLock,
            None,
            None,
            Actor::Source,
            vec![last],
        ));
    }
    let after_prep = *prep.last().unwrap_or(&0);
    let cache: Vec<usize> = policies
        .iter()
        .map(|p| {
            b.add(
                StepId::CacheSchedules,
                Some(&p.name),
                None,
                Actor::Source,
                vec![after_prep],
            )
        })
        .collect();
    // 2, 3, 3a, 3b.
    let mut begin_deps = cache.clone();
    begin_deps.push(after_prep);
    let begin = b.add(StepId::Begin, None, None, Actor::Orchestrator, begin_deps);
    let mut gate = b.add(
        StepId::Validate,
        None,
        None,
        Actor::Orchestrator,
        vec![begin],
    );
    if o.block_on_warning {
        gate = b.add(
            StepId::BlockOnWarning,
            None,
            None,
            Actor::Orchestrator,
            vec![gate],
        );
    }
    let cfg_off = b.add(
        StepId::DisableConfigJobs,
        None,
        None,
        Actor::Orchestrator,
        vec![gate],
    );

    // 4, 5 (and 6 in DFS mode) per policy.
    let mut pre_cut: BTreeMap<String, usize> = BTreeMap::new();
    let mut syncs: BTreeMap<String, usize> = BTreeMap::new();
    for p in &policies {
        let name = Some(p.name.as_str());
        let sync = b.add(StepId::SyncData, name, None, Actor::Source, vec![cfg_off]);
        b.steps[sync].job_slot = Some(p.source.clone());
        b.steps[sync].expected_ms = p.expected_job_ms;
        let cfg = b.add(StepId::SyncConfig, name, None, Actor::Both, vec![sync]);
        let mut last = cfg;
        if spec.mode == Mode::Dfs {
            last = b.add(StepId::DfsRenameShares, name, None, Actor::Both, vec![cfg]);
        }
        syncs.insert(p.name.clone(), sync);
        pre_cut.insert(p.name.clone(), last);
    }

    // Zone modes: the cut-over gate, then networking 6→10, before allow-write.
    let net_steps = [
        (StepId::RenameSourceSmartconnect, Actor::Source),
        (StepId::RemoveSourceSpns, Actor::Source),
        (StepId::MoveSmartconnectToTarget, Actor::Target),
        (StepId::AddTargetSpns, Actor::Target),
        (StepId::RepointDns, Actor::Dns),
    ];
    let mut cut_deps: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    if zone_mode {
        for z in &zones {
            let mut deps: Vec<usize> = z
                .policies
                .iter()
                .filter_map(|p| pre_cut.get(p).copied())
                .collect();
            deps.extend(z.policies.iter().filter_map(|p| syncs.get(p).copied()));
            let g = b.add(
                StepId::ZoneGate,
                None,
                Some(&z.name),
                Actor::Orchestrator,
                deps,
            );
            let mut prev = g;
            for (step, actor) in net_steps {
                prev = b.add(step, None, Some(&z.name), actor, vec![prev]);
            }
            #[allow(unused_mut)]
            let mut cut = vec![g, prev];
            #[cfg(feature = "planted-bugs")]
            if spec.options.planted_bug == Some(crate::bugs::PlantedBug::ZoneGateIgnored) {
                // Wrong on purpose: allow-write waits only for the policy's own steps.
                cut = vec![];
            }
            for p in &z.policies {
                cut_deps.insert(p.clone(), cut.clone());
            }
        }
    }

    // 9, 10, 11, 12, 13, 13a, 13b per policy.
    let mut chain_ends = Vec::new();
    let mut allows: BTreeMap<String, usize> = BTreeMap::new();
    for (i, p) in policies.iter().enumerate() {
        let name = Some(p.name.as_str());
        let mut deps = vec![pre_cut[&p.name]];
        deps.extend(cut_deps.get(&p.name).cloned().unwrap_or_default());
        let allow = b.add(StepId::AllowWrite, name, None, Actor::Target, deps);
        allows.insert(p.name.clone(), allow);
        let resync = b.add(StepId::ResyncPrep, name, None, Actor::Source, vec![allow]);
        #[cfg(feature = "planted-bugs")]
        if spec.options.planted_bug == Some(crate::bugs::PlantedBug::ResyncPrepBeforeAllowWrite) {
            // Wrong on purpose: resync_prep right after the sync, allow_write after it.
            let pre = b.steps[allow].deps.clone();
            b.steps[resync].deps = pre;
            b.steps[allow].deps = vec![resync];
        }
        #[allow(unused_mut)]
        let mut restore_deps = vec![resync, cache[i]];
        #[cfg(feature = "planted-bugs")]
        if spec.options.planted_bug == Some(crate::bugs::PlantedBug::MissingOrderEdge) {
            // Wrong on purpose: the schedule goes onto a mirror that may not exist yet.
            restore_deps = vec![cache[i]];
        }
        let restore = b.add(
            StepId::RestoreSchedule,
            name,
            None,
            Actor::Target,
            restore_deps,
        );
        let mut before_mirror = vec![resync, restore];
        // S1: a source quota goes only after its copy on the target was confirmed
        // (failover_quotas reads it back), or when the admin asked for the removal with
        // the quota option off.
        let rm_deps = if o.quotas {
            Some(vec![b.add(
                StepId::FailoverQuotas,
                name,
                None,
                Actor::Target,
                vec![allow, restore],
            )])
        } else if o.remove_source_quotas {
            Some(vec![allow, restore])
        } else {
            None
        };
        if let Some(rm_deps) = rm_deps {
            #[allow(unused_mut)]
            let mut rm_deps = rm_deps;
            #[cfg(feature = "planted-bugs")]
            if spec.options.planted_bug
                == Some(crate::bugs::PlantedBug::QuotaRemovalBeforeAllowWrite)
            {
                // Wrong on purpose: source quotas go before the target is writable.
                rm_deps = vec![pre_cut[&p.name]];
            }
            let rm = b.add(
                StepId::RemoveSourceQuotas,
                name,
                None,
                Actor::Source,
                rm_deps,
            );
            before_mirror.push(rm);
        }
        let mirror = b.add(StepId::RunMirror, name, None, Actor::Target, before_mirror);
        b.steps[mirror].job_slot = Some(spec.to.clone());
        b.steps[mirror].expected_ms = p.expected_job_ms;
        let cfg_on = b.add(
            StepId::EnableConfigJobs,
            name,
            None,
            Actor::Orchestrator,
            vec![resync, mirror],
        );
        chain_ends.push(cfg_on);
    }

    // SyncIQ mode networking 14–18: automatic per mapped zone, or a manual checklist.
    let mut tail = chain_ends.clone();
    let no_net = |b: &mut Builder, reason: &str| {
        for (step, _) in net_steps {
            b.not_applicable(step, reason);
        }
    };
    match spec.mode {
        Mode::Dfs => no_net(
            &mut b,
            "DFS mode: clients follow DFS referrals, no SmartConnect name moves",
        ),
        Mode::SynciqPolicy if spec.options.networking == Networking::Manual => {
            // S2: the checklist moves the names of every run path, so it waits for (and is
            // skipped unless) every policy's allow-write.
            let mut prev = chain_ends.clone();
            #[allow(unused_mut)]
            let mut follow_data = true;
            #[cfg(feature = "planted-bugs")]
            if spec.options.planted_bug
                == Some(crate::bugs::PlantedBug::NetworkingIgnoresAllowWrite)
            {
                follow_data = false; // Wrong on purpose.
            }
            let data: Vec<usize> = if follow_data {
                allows.values().copied().collect()
            } else {
                Vec::new()
            };
            prev.extend(data.iter().copied());
            for (step, actor) in net_steps {
                let i = b.add(step, None, None, actor, prev);
                // Every checklist item waits for the data (not only the first): in an
                // uncontrolled run the source-side items are skipped, and the rule must
                // still hold for the target-side ones.
                prev = vec![i];
                prev.extend(data.iter().copied());
            }
            tail = prev;
        }
        Mode::SynciqPolicy if zones.is_empty() => {
            no_net(&mut b, NO_POOL_MAPPING);
        }
        Mode::SynciqPolicy => {
            for z in &zones {
                // S2: names follow writable data — the zone's names move only after every
                // policy of the zone was made writable on the target.
                let mut prev = chain_ends.clone();
                #[allow(unused_mut)]
                let mut follow_data = true;
                #[cfg(feature = "planted-bugs")]
                if spec.options.planted_bug
                    == Some(crate::bugs::PlantedBug::NetworkingIgnoresAllowWrite)
                {
                    follow_data = false; // Wrong on purpose.
                }
                let data: Vec<usize> = if follow_data {
                    z.policies
                        .iter()
                        .filter_map(|p| allows.get(p).copied())
                        .collect()
                } else {
                    Vec::new()
                };
                prev.extend(data.iter().copied());
                for (step, actor) in net_steps {
                    let i = b.add(step, None, Some(&z.name), actor, prev);
                    prev = vec![i];
                    prev.extend(data.iter().copied());
                }
                // 19 per zone: one zone's failed networking must not keep the clients of
                // another zone, whose names moved, from reconnecting.
                let mut deps = prev;
                deps.extend(chain_ends.iter().copied());
                b.add(
                    StepId::RefreshClients,
                    None,
                    Some(&z.name),
                    Actor::Clients,
                    deps,
                );
            }
            tail = Vec::new();
        }
        Mode::AccessZone | Mode::IpPool => {}
    }
    // 19: only where clients have a name to move to (or DFS referrals to follow).
    let per_zone_refresh = spec.mode == Mode::SynciqPolicy
        && spec.options.networking == Networking::Auto
        && !zones.is_empty();
    if per_zone_refresh {
        // added per zone above
    } else if zone_mode || spec.mode == Mode::Dfs || spec.options.networking == Networking::Manual {
        let mut deps = tail;
        deps.extend(chain_ends.iter().copied());
        b.add(StepId::RefreshClients, None, None, Actor::Clients, deps);
    } else {
        b.not_applicable(StepId::RefreshClients, NO_POOL_MAPPING);
    }

    Ok(Plan {
        spec: spec.clone(),
        policies,
        zones,
        steps: b.steps,
    })
}

/// A rehearsal (non-disruptive test): make the target writable for test clients, then put
/// it back. Production on the source is never touched, except that the policies' schedules
/// are held (a scheduled run would fail against a writable target) and put back after.
fn rehearsal(spec: &RunSpec, policies: Vec<PolicyInfo>) -> Plan {
    let mut b = Builder { steps: Vec::new() };
    let cache: Vec<usize> = policies
        .iter()
        .map(|p| {
            b.add(
                StepId::CacheSchedules,
                Some(&p.name),
                None,
                Actor::Source,
                vec![],
            )
        })
        .collect();
    let begin = b.add(
        StepId::Begin,
        None,
        None,
        Actor::Orchestrator,
        cache.clone(),
    );
    let gate = b.add(
        StepId::Validate,
        None,
        None,
        Actor::Orchestrator,
        vec![begin],
    );
    for (i, p) in policies.iter().enumerate() {
        let name = Some(p.name.as_str());
        let sync = b.add(StepId::SyncData, name, None, Actor::Source, vec![gate]);
        b.steps[sync].job_slot = Some(p.source.clone());
        b.steps[sync].expected_ms = p.expected_job_ms;
        let allow = b.add(StepId::AllowWrite, name, None, Actor::Target, vec![sync]);
        let revert = b.add(
            StepId::AllowWriteRevert,
            name,
            None,
            Actor::Target,
            vec![allow],
        );
        b.add(
            StepId::RollbackSchedules,
            name,
            None,
            Actor::Source,
            vec![revert, cache[i]],
        );
    }
    Plan {
        spec: spec.clone(),
        policies,
        zones: vec![],
        steps: b.steps,
    }
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
    use crate::papi::AccessZone;
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
        StepId::ALL
            .into_iter()
            .filter(|s| {
                !s.is_rollback() && *s != StepId::ZoneGate && *s != StepId::AllowWriteRevert
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

    #[test]
    fn step_ids_round_trip() {
        for id in StepId::ALL {
            assert_eq!(StepId::parse(id.as_str()), Some(id));
            let json = serde_json::to_string(&id).unwrap();
            assert_eq!(json, format!("\"{}\"", id.as_str()));
        }
    }
}
