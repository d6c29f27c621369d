//! Generators: proptest strategies for worlds, runs and fault plans, and the pure function
//! that turns one generated [`ChaosCase`] into a scenario file.
//!
//! Design choices that keep shrinking useful and seeds stable:
//! * A case is a tree of small parameter structs, generated independently (no `flat_map`).
//!   Cross references are *indices* resolved modulo the list they point into when the
//!   scenario is built (a fault's policy index, a client's policy, the step of a fault), so
//!   proptest can drop policies or faults and every smaller case is still a valid world.
//! * The scenario is built as a JSON value, written as YAML text and parsed back with
//!   [`Scenario::parse`], so a generated scenario is exactly a file `drill run` replays, and
//!   new optional keys other engineers add to the format do not break the generator.
//! * Everything that grows as the project grows is data: [`MODES`] (the run modes the plan
//!   builder supports), [`EFFECT_KINDS`] (every fault effect of `sim-onefs`), the steps each
//!   mode plans ([`mode_steps`]) and the steps a job fault can hit ([`job_fault_steps`]).
//!
//! Seed N always gives the same case: [`case_for_seed`] samples the strategy with a
//! `TestRunner` whose RNG is ChaCha seeded from N.
//!
//! **How seeds are spent** (issue 10): a seed that ends `blocked` at validation or never
//! starts tests nothing after step 3, so most cases are built to reach the cut-over (some
//! `allow_write` starts), and the cases that stop before it are *meant* to, by a targeted
//! fault ([`Focus`], [`intended_hold`]):
//! * every case has a [`Focus`]: `Free` (background faults only) or a targeted failure — one
//!   policy's chain fails before its `allow_write` (S5 per-policy rollback; in zone modes the
//!   zone gate), validation blocks (a readiness defect or a fault at a gate step), a
//!   networking step fails (zone modes: the S3 rollback), or a step after the cut-over fails
//!   (S1 quotas, resync-prep, mirror, schedule). Focused cases that produce rollback
//!   instances also aim cluster faults (http, drop_connection, delay) at them
//!   ([`RollbackFault`]), and force the options that make the rollback exist (the lock for
//!   `rollback_lock`, protocols off for `rollback_protocols`, a schedule for
//!   `rollback_schedules`);
//! * readiness defects (a disabled policy, SyncIQ off, a warning with `block_on_warning`)
//!   are focus `ValidationBlock` only: a `block_on_warning` run of another focus gets a world
//!   without warnings (dual delegation, no failed last job), and an uncontrolled run never
//!   blocks on its own warning unless that is the defect;
//! * background faults at a *gate input* (a step whose failure stops the whole run, or in
//!   zone modes the zone, before any `allow_write`: [`gate_inputs`]) are softened to a fault
//!   the retries absorb, unless the fault is drawn `hard_at_gate`; route and probabilistic
//!   faults mostly carry a "not before" time, so they rarely hit discovery (a run that never
//!   starts); job faults always name a policy;
//! * uncontrolled runs (`controlled: false`, the source down from t=0) in the modes that
//!   support them ([`UNCONTROLLED_MODES`]);
//! * failbacks after an uncontrolled failover: a third of the uncontrolled cases become the
//!   failback that follows one ([`failback_after_uncontrolled`]): the uncontrolled failover
//!   is the prelude (the source down in `prelude_faults`), the run fails back through the
//!   mirrors with the case's faults aimed at them.

use std::fmt::Write as _;

use orchestrator::{Mode, StepId};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use serde_json::{json, Map, Value};

use crate::scenario::{Scenario, ScenarioError};

/// Run modes the generator picks (all four). The world has everything they need (zones,
/// pools, pool mappings, shares, exports, quotas, clients) and [`build_scenario`] fills in
/// `run.zone` / `run.pool` / `world.dfs` per mode.
pub const MODES: &[Mode] = &[
    Mode::SynciqPolicy,
    Mode::Dfs,
    Mode::AccessZone,
    Mode::IpPool,
];

/// Modes whose runs may be uncontrolled (`controlled: false`, DESIGN §2 "Other runs"): all
/// four (zone modes take the dead source's pools from the pool mappings' recorded names).
pub const UNCONTROLLED_MODES: &[Mode] = &[
    Mode::SynciqPolicy,
    Mode::Dfs,
    Mode::AccessZone,
    Mode::IpPool,
];

/// Every fault effect kind of `sim-onefs` (DESIGN §9), by its scenario name.
pub const EFFECT_KINDS: [&str; 13] = [
    "http",
    "delay",
    "drop_connection",
    "syncjob_fail",
    "allow_write_fail",
    "resync_prep_fail",
    "cluster_down",
    "cluster_up",
    "link_partition",
    "link_heal",
    "ad_unreachable",
    "spn_collision",
    "orchestrator_crash",
];

/// Effect kinds consumed outside the cluster model (AD simulator, crash/resume harness). They
/// are generated so scenarios carry them, but may be inert until those parts land.
pub const HARNESS_EFFECT_KINDS: [&str; 3] =
    ["ad_unreachable", "spn_collision", "orchestrator_crash"];

/// Seed steps 1 to 3b, in every mode: the preparation and validation before any sync.
const PREPARATION: [StepId; 8] = [
    StepId::CheckOpenFiles,
    StepId::DisableProtocols,
    StepId::DataIntegrityLock,
    StepId::CacheSchedules,
    StepId::Begin,
    StepId::Validate,
    StepId::BlockOnWarning,
    StepId::DisableConfigJobs,
];

/// The steps a plan of `mode` can contain (failover runs), in seed order.
pub fn mode_steps(mode: Mode) -> Vec<StepId> {
    use StepId::*;
    let mut v = PREPARATION.to_vec();
    // The pre-sync before the lock (option `presync`): no gate input, its failure skips
    // nothing.
    v.push(Presync);
    v.extend([SyncData, SyncConfig]);
    match mode {
        Mode::SynciqPolicy => {}
        Mode::Dfs => v.push(DfsRenameShares),
        Mode::AccessZone | Mode::IpPool => v.push(DfsRenameShares),
    }
    if mode != Mode::Dfs {
        v.extend([
            RenameSourceSmartconnect,
            RemoveSourceSpns,
            MoveSmartconnectToTarget,
            AddTargetSpns,
            RepointDns,
        ]);
    }
    v.extend([AllowWrite, ResyncPrep, RestoreSchedule]);
    if matches!(mode, Mode::AccessZone | Mode::IpPool) {
        v.push(FailoverZoneQuotas);
    } else {
        v.extend([FailoverQuotas, RemoveSourceQuotas]);
    }
    v.extend([
        RunMirror,
        EnableConfigJobs,
        RefreshClients,
        RollbackSchedules,
    ]);
    v
}

/// The steps at which a job fault kind can take effect (it acts on a `POST sync/jobs` of the
/// matching action); `None` for kinds that are not job faults.
/// Steps that make no PAPI call at all (they decide, or act on the orchestrator's own state,
/// or speak DNS): no cluster fault can hit them, so their pairs are not applicable.
pub const NO_PAPI_STEPS: [StepId; 9] = [
    StepId::Begin,
    StepId::BlockOnWarning,
    StepId::ZoneGate,
    StepId::DisableConfigJobs,
    StepId::EnableConfigJobs,
    StepId::RollbackConfigJobs,
    StepId::RefreshClients,
    StepId::RepointDns,
    StepId::RollbackRepointDns,
];

/// The steps whose failure stops the whole run (zone modes: the zone) before any
/// `allow_write`: preparation and validation in every mode; in zone modes also the zone
/// policies' syncs (the zone gate) and the networking chain (S3). Background faults there are
/// softened unless drawn `hard_at_gate`; targeted ones come from [`Focus`].
pub fn gate_inputs(mode: Mode) -> Vec<StepId> {
    use StepId::*;
    let mut v = PREPARATION.to_vec();
    if matches!(mode, Mode::AccessZone | Mode::IpPool) {
        v.extend([SyncData, SyncConfig, DfsRenameShares, ZoneGate]);
        v.extend(NETWORKING_STEPS);
        v.push(RepointDns);
    }
    v
}

/// The networking steps a cluster fault can fail (each acts over PAPI), in chain order;
/// `repoint_dns` speaks DNS only.
pub const NETWORKING_STEPS: [StepId; 4] = [
    StepId::RenameSourceSmartconnect,
    StepId::RemoveSourceSpns,
    StepId::MoveSmartconnectToTarget,
    StepId::AddTargetSpns,
];

/// The S3 rollbacks of [`NETWORKING_STEPS`], index for index.
pub const NETWORKING_ROLLBACKS: [StepId; 4] = [
    StepId::RollbackRenameSourceSmartconnect,
    StepId::RollbackRemoveSourceSpns,
    StepId::RollbackMoveSmartconnectToTarget,
    StepId::RollbackAddTargetSpns,
];

/// The rollbacks of the preparation that act over PAPI (a failed gate, S5 for one policy,
/// S3 after the zone's networking). `rollback_config_jobs` acts on the orchestrator's own
/// jobs only, so no cluster fault can hit it.
pub const PREPARATION_ROLLBACKS: [StepId; 3] = [
    StepId::RollbackLock,
    StepId::RollbackSchedules,
    StepId::RollbackProtocols,
];

/// The cluster a step talks to (for a fault's `cluster` condition); `None` when it talks to
/// both.
pub fn acting_side(step: StepId) -> Option<Side> {
    use StepId::*;
    match step {
        CheckOpenFiles
        | Presync
        | DisableProtocols
        | DataIntegrityLock
        | CacheSchedules
        | SyncData
        | RenameSourceSmartconnect
        | RemoveSourceSpns
        | RemoveSourceQuotas
        | RollbackLock
        | RollbackSchedules
        | RollbackProtocols
        | RollbackRenameSourceSmartconnect
        | RollbackRemoveSourceSpns => Some(Side::Source),
        MoveSmartconnectToTarget
        | AddTargetSpns
        | AllowWrite
        | RestoreSchedule
        | FailoverQuotas
        | RunMirror
        | RollbackMoveSmartconnectToTarget
        | RollbackAddTargetSpns
        | FenceReturnedSource
        | ReturnedResyncPrep => Some(Side::Target),
        _ => None,
    }
}

pub fn job_fault_steps(kind: &str) -> Option<&'static [StepId]> {
    match kind {
        // The pre-sync's job too (DESIGN §8): its failure must skip nothing.
        "syncjob_fail" => Some(&[StepId::SyncData, StepId::RunMirror, StepId::Presync]),
        "allow_write_fail" => Some(&[StepId::AllowWrite]),
        "resync_prep_fail" => Some(&[StepId::ResyncPrep]),
        _ => None,
    }
}

const CLUSTER_PAIRS: [(&str, &str); 3] = [("boston", "denver"), ("prod", "dr"), ("east", "west")];
const ZONES: [&str; 3] = ["finance", "eng", "media"];
const SCHEDULES: [&str; 6] = [
    "",
    "every 15 minutes",
    "every 1 hours",
    "every 1 days at 02:00",
    "when-source-modified",
    "every 1 weeks on sunday at 01:00",
];
const ROUTES: [&str; 7] = [
    "sync/jobs",
    "sync/policies",
    "sync/target/policies",
    "sync/reports",
    "sync/settings",
    "cluster/identity",
    "cluster/config",
];
const METHODS: [&str; 4] = ["GET", "POST", "PUT", "DELETE"];

/// Knobs of the generators (not of a single case).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct GenConfig {
    /// Smallest and largest number of policies failed over (1..=200 in the issue).
    pub min_policies: usize,
    pub max_policies: usize,
    /// Most fault rules per scenario.
    pub max_faults: usize,
    /// Weight (against 4) of cases without background faults (a `Free` focus then makes a
    /// fault-free run, the happy path).
    pub no_fault_weight: u32,
}

impl Default for GenConfig {
    fn default() -> Self {
        GenConfig {
            min_policies: 1,
            max_policies: 200,
            max_faults: 6,
            no_fault_weight: 1,
        }
    }
}

impl GenConfig {
    /// Small worlds (at most 8 policies): for property tests that must stay fast.
    pub fn small() -> Self {
        GenConfig {
            max_policies: 8,
            ..GenConfig::default()
        }
    }

    /// Exactly `n` policies per world (benchmarks).
    pub fn fixed(n: usize) -> Self {
        GenConfig {
            min_policies: n,
            max_policies: n,
            ..GenConfig::default()
        }
    }
}

/// One generated policy.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyParams {
    pub zone: u8,
    pub files: u32,
    pub size_log2: u8,
    pub unsynced_pct: u8,
    pub schedule: u8,
    /// Last job failed before the run (a validation warning; cleared in `block_on_warning`
    /// runs unless the warning is the focus).
    pub last_failed: bool,
    pub share: bool,
    pub export: bool,
    pub quota: bool,
}

/// A policy that is not part of the run (a third cluster's, or one replicating backwards).
#[derive(Debug, Clone, PartialEq)]
pub struct ExtraPolicy {
    pub from_witness: bool,
    pub files: u32,
}

/// A simulated client of one policy's data.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientParams {
    pub policy: usize,
    /// 0 = SMB, 1 = NFS, 2 = DFS.
    pub protocol: u8,
    pub writes_per_minute: u32,
}

/// The generated world.
#[derive(Debug, Clone, PartialEq)]
pub struct WorldParams {
    pub names: u8,
    pub zones: u8,
    pub max_jobs_src: u32,
    pub max_jobs_tgt: u32,
    pub bandwidth: u64,
    pub latency_ms: u64,
    /// job_start_latency, allow_write, resync_prep, papi_latency (ms).
    pub costs: Option<(u64, u64, u64, u64)>,
    pub policies: Vec<PolicyParams>,
    pub extra: Vec<ExtraPolicy>,
    pub clients: Vec<ClientParams>,
    pub single_delegation: bool,
    pub alias: bool,
    pub extra_users: bool,
}

/// Where a case is meant to stop before any `allow_write`: the generator aimed a fault (or a
/// readiness defect) at this gate, so a run held there did what it was generated for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Hold {
    /// Validation (or block-on-warning) stops the run: outcome `blocked`, preparation
    /// rolled back.
    Validation,
    /// Zone modes: a zone policy's sync fails, the zone gate holds, preparation rolled back.
    ZoneGate,
    /// Zone modes: a networking step fails, the zone's networking is undone (S3).
    Networking,
}

/// Who confirms manual steps.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum OperatorParams {
    Immediate,
    ConfirmAfterMs(u64),
    Absent,
}

/// The generated run (mode and every option).
#[derive(Debug, Clone, PartialEq)]
pub struct RunParams {
    pub mode: u8,
    pub subset: Option<Vec<usize>>,
    pub zone: u8,
    pub controlled: bool,
    pub data_integrity: bool,
    pub disable_protocols: bool,
    pub block_on_warning: bool,
    pub quotas: bool,
    pub presync: bool,
    pub parallel: bool,
    pub networking_manual: bool,
    /// `on_policy_failure: hold` (else `rollback`, the default).
    pub on_policy_failure_hold: bool,
    /// `remove_source_quotas: true` (matters with `quotas: false`).
    pub remove_source_quotas: bool,
    pub poll_ms: u64,
    pub job_timeout_ms: Option<u64>,
    pub operator: OperatorParams,
}

/// Which cluster a fault names.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Side {
    Source,
    Target,
}

/// Where/when a fault strikes.
#[derive(Debug, Clone, PartialEq)]
pub enum Placement {
    /// At a step boundary: `when: {step, policy?, cluster?}`.
    Step {
        step: usize,
        policy: Option<usize>,
        side: Option<Side>,
        nth: Option<u64>,
    },
    /// At a virtual time: `when: {at, cluster?}`.
    Time { at_ms: u64, side: Option<Side> },
    /// On a route: `when: {method?, route, cluster?, nth?, at?}`. `after_ms` (`at`, "not
    /// before") keeps most route faults off discovery; without it the fault may stop the
    /// run before it starts.
    Route {
        method: Option<usize>,
        route: usize,
        side: Option<Side>,
        nth: Option<u64>,
        after_ms: Option<u64>,
    },
    /// Probabilistic, on a step or a route: `when: {probability, step | route, at?}`.
    Probabilistic {
        probability_pct: u8,
        step: Option<usize>,
        route: usize,
        after_ms: Option<u64>,
    },
}

/// A fault effect with its parameters (indices into small value sets).
#[derive(Debug, Clone, PartialEq)]
pub struct EffectParams {
    /// Index into [`EFFECT_KINDS`].
    pub kind: usize,
    pub a: u64,
    pub b: u64,
    pub side: Option<Side>,
    /// Keep the effect as drawn when it lands on a gate input ([`gate_inputs`]); otherwise
    /// it is softened there to one the retries absorb.
    pub hard_at_gate: bool,
}

/// One fault rule.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultParams {
    pub placement: Placement,
    pub effect: EffectParams,
}

/// A cluster fault aimed at a rollback instance the case's [`Focus`] produces.
#[derive(Debug, Clone, PartialEq)]
pub struct RollbackFault {
    /// Index into the rollback steps of the focus ([`focus_rollback_steps`]).
    pub step: usize,
    /// 0 = `http {status, count}`, 1 = `drop_connection`, 2 = `delay {ms}`.
    pub effect: u8,
    pub a: u64,
    pub b: u64,
    /// Name the cluster the rollback acts on (`when.cluster`).
    pub cluster: bool,
}

/// What a case is built to exercise. Policy indices are taken modulo the run's policies.
#[derive(Debug, Clone, PartialEq)]
pub enum Focus {
    /// Background faults only.
    Free,
    /// One policy's chain fails before its `allow_write` succeeded: `stage` 0 = `sync_data`
    /// (syncjob_fail), 1 = `sync_config` (http), 2 = `dfs_rename_shares` in DFS mode (else
    /// `sync_config`), 3 = `allow_write` (allow_write_fail). SyncIQ/DFS modes: S5, the
    /// policy's lock, schedule and config job are rolled back; zone modes: a sync failure
    /// holds the zone gate. Uncontrolled runs fail `allow_write` (the source-side steps are
    /// skipped).
    PolicyFailure {
        policy: usize,
        stage: u8,
        a: u64,
        rollback: Vec<RollbackFault>,
    },
    /// Validation stops the run (outcome `blocked`, the preparation rolled back). `defect`:
    /// 0 = a run policy disabled on the source, 1 = SyncIQ off on the target, 2 = SyncIQ off
    /// on the source, 3 = a failed last job with `block_on_warning`, 4 = single DNS
    /// delegation with `block_on_warning` (networking modes; else 3), 5 = an http error at
    /// `validate`, 6 = an http error at `data_integrity_lock`, 7 = an http error at
    /// `disable_protocols`, 8 = an uncontrolled run with `block_on_warning` (SyncIQ/DFS
    /// modes; else 5).
    ValidationBlock {
        defect: u8,
        policy: usize,
        side: Side,
        a: u64,
        rollback: Vec<RollbackFault>,
    },
    /// A networking step fails ([`NETWORKING_STEPS`]`[step]`; networking forced `auto`). Zone
    /// modes: the zone's networking and preparation are rolled back (S3); SyncIQ mode: the
    /// names stay home (S2); DFS mode (no networking): the policy's `dfs_rename_shares`
    /// fails instead (S4).
    NetworkingFailure {
        step: u8,
        policy: usize,
        a: u64,
        rollback: Vec<RollbackFault>,
    },
    /// A step after the cut-over fails for one policy: `stage` 0 = `failover_quotas` (S1:
    /// the source quotas stay), 1 = `remove_source_quotas`, 2 = `resync_prep`, 3 =
    /// `run_mirror`, 4 = `restore_schedule`, 5 = `quotas: false` with
    /// `remove_source_quotas: true` and a retried error on the removal.
    AfterCutover { policy: usize, stage: u8, a: u64 },
}

/// A whole generated case.
#[derive(Debug, Clone, PartialEq)]
pub struct ChaosCase {
    pub seed: u64,
    pub world: WorldParams,
    pub run: RunParams,
    /// Background faults.
    pub faults: Vec<FaultParams>,
    pub focus: Focus,
}

fn side() -> impl Strategy<Value = Side> {
    prop_oneof![Just(Side::Source), Just(Side::Target)]
}

fn policy_params() -> impl Strategy<Value = PolicyParams> {
    (
        (
            0u8..3,
            1u32..=200,
            10u8..=24,
            0u8..=60,
            0u8..SCHEDULES.len() as u8,
        ),
        (
            prop::bool::weighted(0.05),
            prop::bool::weighted(0.4),
            prop::bool::weighted(0.3),
            prop::bool::weighted(0.4),
        ),
    )
        .prop_map(
            |(
                (zone, files, size_log2, unsynced_pct, schedule),
                (last_failed, share, export, quota),
            )| {
                PolicyParams {
                    zone,
                    files,
                    size_log2,
                    unsynced_pct,
                    schedule,
                    last_failed,
                    share,
                    export,
                    quota,
                }
            },
        )
}

/// Policy counts lean small (most bugs need few policies, and small worlds are fast) but
/// reach the configured maximum.
fn policy_count(cfg: &GenConfig) -> BoxedStrategy<usize> {
    let lo = cfg.min_policies.max(1);
    let hi = cfg.max_policies.max(lo);
    if lo == hi {
        return Just(lo).boxed();
    }
    let small_hi = hi.min(lo.max(8));
    let mid_hi = hi.min(lo.max(40));
    let mut arms: Vec<(u32, BoxedStrategy<usize>)> = vec![(14, (lo..=small_hi).boxed())];
    if mid_hi > small_hi {
        arms.push((4, (small_hi + 1..=mid_hi).boxed()));
    }
    if hi > mid_hi {
        arms.push((1, (mid_hi + 1..=hi).boxed()));
    }
    prop::strategy::Union::new_weighted(arms).boxed()
}

/// Strategy for worlds.
pub fn world_strategy(cfg: &GenConfig) -> impl Strategy<Value = WorldParams> {
    let policies =
        policy_count(cfg).prop_flat_map(|n| prop::collection::vec(policy_params(), n..=n));
    let costs = prop::option::weighted(
        0.3,
        (
            prop::sample::select(vec![1_000u64, 5_000, 30_000]),
            prop::sample::select(vec![1_000u64, 10_000, 60_000]),
            prop::sample::select(vec![2_000u64, 20_000, 120_000]),
            prop::sample::select(vec![0u64, 5, 50]),
        ),
    );
    let extra = prop::collection::vec(
        (any::<bool>(), 1u32..50).prop_map(|(from_witness, files)| ExtraPolicy {
            from_witness,
            files,
        }),
        0..=2,
    );
    let clients = prop::collection::vec(
        (0usize..1000, 0u8..3, 0u32..120).prop_map(|(policy, protocol, writes_per_minute)| {
            ClientParams {
                policy,
                protocol,
                writes_per_minute,
            }
        }),
        0..=4,
    );
    (
        (
            0u8..CLUSTER_PAIRS.len() as u8,
            1u8..=3,
            prop::sample::select(vec![1u32, 2, 4, 16, 50]),
            prop::sample::select(vec![1u32, 2, 4, 16, 50]),
            prop::sample::select(vec![10_000_000u64, 125_000_000, 1_250_000_000]),
            prop::sample::select(vec![1u64, 5, 20, 80]),
        ),
        (costs, policies, extra, clients),
        (any::<bool>(), any::<bool>(), prop::bool::weighted(0.1)),
    )
        .prop_map(
            |(
                (names, zones, max_jobs_src, max_jobs_tgt, bandwidth, latency_ms),
                (costs, policies, extra, clients),
                (single_delegation, alias, extra_users),
            )| WorldParams {
                names,
                zones,
                max_jobs_src,
                max_jobs_tgt,
                bandwidth,
                latency_ms,
                costs,
                policies,
                extra,
                clients,
                single_delegation,
                alias,
                extra_users,
            },
        )
}

/// Strategy for runs: every mode in [`MODES`] and every option.
pub fn run_strategy() -> impl Strategy<Value = RunParams> {
    let operator = prop_oneof![
        6 => Just(OperatorParams::Immediate),
        2 => prop::sample::select(vec![60_000u64, 600_000]).prop_map(OperatorParams::ConfirmAfterMs),
        1 => Just(OperatorParams::Absent),
    ];
    (
        (
            0u8..MODES.len() as u8,
            prop::option::weighted(0.2, prop::collection::vec(0usize..1000, 1..4)),
            0u8..3,
            // Uncontrolled in [`UNCONTROLLED_MODES`] only (a quarter of their runs).
            prop::bool::weighted(0.75),
        ),
        (
            any::<bool>(),
            prop::bool::weighted(0.2),
            prop::bool::weighted(0.3),
            prop::bool::weighted(0.8),
            prop::bool::weighted(0.3),
            prop::bool::weighted(0.8),
            prop::bool::weighted(0.3),
            prop::bool::weighted(0.25),
            prop::bool::weighted(0.25),
        ),
        (
            prop::sample::select(vec![1_000u64, 5_000, 30_000]),
            prop::option::weighted(
                0.1,
                prop::sample::select(vec![60_000u64, 300_000, 1_800_000]),
            ),
            operator,
        ),
    )
        .prop_map(
            |(
                (mode, subset, zone, controlled),
                (
                    data_integrity,
                    disable_protocols,
                    block_on_warning,
                    quotas,
                    presync,
                    parallel,
                    networking_manual,
                    on_policy_failure_hold,
                    remove_source_quotas,
                ),
                (poll_ms, job_timeout_ms, operator),
            )| RunParams {
                mode,
                subset,
                zone,
                controlled,
                data_integrity,
                disable_protocols,
                block_on_warning,
                quotas,
                presync,
                parallel,
                networking_manual,
                on_policy_failure_hold,
                remove_source_quotas,
                poll_ms,
                job_timeout_ms,
                operator,
            },
        )
}

fn placement() -> impl Strategy<Value = Placement> {
    let nth = prop::option::weighted(0.25, 1u64..=3);
    // "Not before" for route faults: most start after discovery (a fault there stops the run
    // before it starts, which a few cases still test).
    let after =
        || prop::option::weighted(0.85, prop::sample::select(vec![5_000u64, 30_000, 120_000]));
    prop_oneof![
        5 => (0usize..64, prop::option::weighted(0.7, 0usize..1000), prop::option::of(side()), nth.clone())
            .prop_map(|(step, policy, side, nth)| Placement::Step { step, policy, side, nth }),
        1 => (prop::sample::select(vec![1_000u64, 10_000, 30_000, 90_000, 300_000, 1_800_000]), prop::option::of(side()))
            .prop_map(|(at_ms, side)| Placement::Time { at_ms, side }),
        2 => (prop::option::of(0usize..METHODS.len()), 0usize..ROUTES.len(), prop::option::of(side()), nth, after())
            .prop_map(|(method, route, side, nth, after_ms)| Placement::Route { method, route, side, nth, after_ms }),
        1 => (prop::sample::select(vec![10u8, 30, 50, 90]), prop::option::of(0usize..64), 0usize..ROUTES.len(), after())
            .prop_map(|(probability_pct, step, route, after_ms)| Placement::Probabilistic { probability_pct, step, route, after_ms }),
    ]
}

fn effect() -> impl Strategy<Value = EffectParams> {
    // Weights favour the kinds that exercise skip semantics.
    let kinds: Vec<(u32, usize)> = vec![
        (6, 0),  // http
        (2, 1),  // delay
        (2, 2),  // drop_connection
        (5, 3),  // syncjob_fail
        (4, 4),  // allow_write_fail
        (4, 5),  // resync_prep_fail
        (1, 6),  // cluster_down
        (1, 7),  // cluster_up
        (1, 8),  // link_partition
        (1, 9),  // link_heal
        (1, 10), // ad_unreachable
        (1, 11), // spn_collision
        (1, 12), // orchestrator_crash
    ];
    let kind = prop::strategy::Union::new_weighted(
        kinds
            .into_iter()
            .map(|(w, k)| (w, Just(k).boxed()))
            .collect(),
    );
    (
        kind,
        0u64..1000,
        0u64..1000,
        prop::option::of(side()),
        prop::bool::weighted(0.1),
    )
        .prop_map(|(kind, a, b, side, hard_at_gate)| EffectParams {
            kind,
            a,
            b,
            side,
            hard_at_gate,
        })
}

/// Strategy for background fault plans (every kind, at step boundaries, times, routes,
/// probabilistic).
pub fn faults_strategy(cfg: &GenConfig) -> impl Strategy<Value = Vec<FaultParams>> {
    let max = cfg.max_faults;
    let fault =
        (placement(), effect()).prop_map(|(placement, effect)| FaultParams { placement, effect });
    let some = prop::collection::vec(fault, 1..=max.max(1));
    prop_oneof![
        cfg.no_fault_weight => Just(Vec::new()),
        4 => some,
    ]
}

fn rollback_faults() -> impl Strategy<Value = Vec<RollbackFault>> {
    let fault = (
        0usize..64,
        prop::sample::select(vec![0u8, 0, 0, 1, 2]),
        0u64..1000,
        0u64..1000,
        prop::bool::weighted(0.75),
    )
        .prop_map(|(step, effect, a, b, cluster)| RollbackFault {
            step,
            effect,
            a,
            b,
            cluster,
        });
    prop::collection::vec(fault, 0..=2)
}

/// Strategy for a case's [`Focus`]. Weights: about half the cases have background faults
/// only; the rest aim at a policy failure (S5 / zone gate), a validation block, a
/// networking failure (S3) or a step after the cut-over.
pub fn focus_strategy() -> impl Strategy<Value = Focus> {
    prop_oneof![
        45 => Just(Focus::Free),
        17 => (0usize..1000, 0u8..4, 0u64..1000, rollback_faults())
            .prop_map(|(policy, stage, a, rollback)| Focus::PolicyFailure { policy, stage, a, rollback }),
        8 => (0usize..1000, 0u8..9, side(), 0u64..1000, rollback_faults())
            .prop_map(|(policy, defect, side, a, rollback)| Focus::ValidationBlock { defect, policy, side, a, rollback }),
        15 => (0u8..4, 0usize..1000, 0u64..1000, rollback_faults())
            .prop_map(|(step, policy, a, rollback)| Focus::NetworkingFailure { step, policy, a, rollback }),
        15 => (0usize..1000, 0u8..6, 0u64..1000)
            .prop_map(|(policy, stage, a)| Focus::AfterCutover { policy, stage, a }),
    ]
}

/// Strategy for whole cases.
pub fn case_strategy(cfg: &GenConfig) -> impl Strategy<Value = ChaosCase> {
    (
        0u64..1_000_000,
        world_strategy(cfg),
        run_strategy(),
        faults_strategy(cfg),
        focus_strategy(),
    )
        .prop_map(|(seed, world, run, faults, focus)| ChaosCase {
            seed,
            world,
            run,
            faults,
            focus,
        })
}

/// The value tree of seed `seed`: deterministic (ChaCha seeded from the seed number).
pub fn tree_for_seed(cfg: &GenConfig, seed: u64) -> Box<dyn ValueTree<Value = ChaosCase>> {
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    bytes[8..16].copy_from_slice(b"failover");
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &bytes);
    let mut runner = TestRunner::new_with_rng(Config::default(), rng);
    let strategy = case_strategy(cfg).prop_map(move |mut c| {
        c.seed = seed;
        c
    });
    Box::new(
        strategy
            .new_tree(&mut runner)
            .expect("case strategies never reject"),
    )
}

/// The case of seed `seed`.
pub fn case_for_seed(cfg: &GenConfig, seed: u64) -> ChaosCase {
    tree_for_seed(cfg, seed).current()
}

/// Cluster names of a case: (source, target).
pub fn cluster_names(case: &ChaosCase) -> (&'static str, &'static str) {
    CLUSTER_PAIRS[case.world.names as usize % CLUSTER_PAIRS.len()]
}

fn policy_name(i: usize) -> String {
    format!("p{i:03}")
}

fn zone_of(case: &ChaosCase, p: &PolicyParams) -> &'static str {
    ZONES[(p.zone % case.world.zones.max(1)) as usize]
}

fn duration(ms: u64) -> String {
    if ms.is_multiple_of(60_000) {
        format!("{}m", ms / 60_000)
    } else if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

/// The world's policies: name, zone, path.
pub fn policies_of(case: &ChaosCase) -> Vec<(String, &'static str, String)> {
    case.world
        .policies
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let zone = zone_of(case, p);
            (
                policy_name(i),
                zone,
                format!("/ifs/{zone}/{}", policy_name(i)),
            )
        })
        .collect()
}

/// A client's protocol in a run of `mode`: 0 = SMB, 1 = NFS (by SmartConnect name),
/// 2 = DFS. DFS mode moves no SmartConnect name (DESIGN.md §2: steps 14–18 are not part of
/// it; clients follow DFS referrals), so its clients reach their data through the
/// namespace; the other modes move the names, so their clients use them.
pub fn client_protocol(mode: Mode, c: &ClientParams) -> u8 {
    if mode == Mode::Dfs {
        2
    } else {
        c.protocol % 2
    }
}

/// The zone a zone-mode run (Access Zone / IP Pool) fails over: `run.zone` picks among the
/// zones that can start a run — at least one policy whose source path is under the zone's
/// base path (`/ifs/<zone>`), and a pool mapping for the zone's pool (every generated zone
/// has one, naming the zone's policies). A world always has a policy, so there is always
/// such a zone.
pub fn run_zone_of(case: &ChaosCase) -> &'static str {
    let used = &ZONES[..case.world.zones.clamp(1, 3) as usize];
    let with_policies: Vec<&'static str> = used
        .iter()
        .copied()
        .filter(|z| case.world.policies.iter().any(|p| zone_of(case, p) == *z))
        .collect();
    let cands = if with_policies.is_empty() {
        used.to_vec()
    } else {
        with_policies
    };
    cands[case.run.zone as usize % cands.len()]
}

/// Whether `mode` fails over a zone (Access Zone / IP Pool).
fn zone_mode(mode: Mode) -> bool {
    matches!(mode, Mode::AccessZone | Mode::IpPool)
}

/// The world indices of the policies the run fails over: the run zone's (its pool's) in
/// zone modes, `run.policies` (or all) in SyncIQ/DFS modes.
pub fn run_policy_indices(case: &ChaosCase) -> Vec<usize> {
    let n = case.world.policies.len();
    if n == 0 {
        return Vec::new();
    }
    if zone_mode(mode_of(case)) {
        let zone = run_zone_of(case);
        return (0..n)
            .filter(|&i| zone_of(case, &case.world.policies[i]) == zone)
            .collect();
    }
    match &case.run.subset {
        Some(s) => {
            let mut v: Vec<usize> = s.iter().map(|i| i % n).collect();
            v.sort();
            v.dedup();
            v
        }
        None => (0..n).collect(),
    }
}

/// Statuses of the targeted "hard" http faults: none is retried by the orchestrator except
/// 503, which `count: 4` outlasts (3 tries).
const HARD_STATUS: [u16; 3] = [500, 400, 503];

fn http_hard(a: u64) -> Value {
    json!({"http": {"status": HARD_STATUS[(a % HARD_STATUS.len() as u64) as usize], "count": 4}})
}

fn rule(when: Value, effect: Value) -> Value {
    json!({"when": when, "effect": effect})
}

/// A case's focus resolved against its mode and run: what it forces in the world and the
/// options, the targeted fault rules it adds, and where it means the run to stop.
struct Applied {
    controlled: bool,
    data_integrity: bool,
    disable_protocols: bool,
    block_on_warning: bool,
    quotas: bool,
    remove_source_quotas: bool,
    networking_manual: bool,
    on_policy_failure_hold: bool,
    single_delegation: bool,
    /// SyncIQ service off on this side (a readiness defect).
    service_off: Option<Side>,
    /// Per world policy.
    share: Vec<bool>,
    quota: Vec<bool>,
    /// A schedule is forced (so `rollback_schedules` / `restore_schedule` have one).
    schedule: Vec<bool>,
    disabled: Vec<bool>,
    last_failed: Vec<bool>,
    /// Targeted rules: the focus's fault, its rollback faults, an uncontrolled run's
    /// `cluster_down` of the source.
    faults: Vec<Value>,
    hold: Option<Hold>,
}

fn apply_focus(case: &ChaosCase) -> Applied {
    let mode = mode_of(case);
    let zm = zone_mode(mode);
    let r = &case.run;
    let w = &case.world;
    let (src, tgt) = cluster_names(case);
    let side_name = |s: Side| match s {
        Side::Source => src,
        Side::Target => tgt,
    };
    let pols = policies_of(case);
    let run = run_policy_indices(case);
    let mut a = Applied {
        controlled: r.controlled || !UNCONTROLLED_MODES.contains(&mode),
        data_integrity: r.data_integrity,
        disable_protocols: r.disable_protocols,
        block_on_warning: r.block_on_warning,
        quotas: r.quotas,
        remove_source_quotas: r.remove_source_quotas,
        networking_manual: r.networking_manual,
        on_policy_failure_hold: r.on_policy_failure_hold,
        single_delegation: w.single_delegation,
        service_off: None,
        share: w.policies.iter().map(|p| p.share).collect(),
        quota: w.policies.iter().map(|p| p.quota).collect(),
        schedule: vec![false; w.policies.len()],
        disabled: vec![false; w.policies.len()],
        last_failed: w.policies.iter().map(|p| p.last_failed).collect(),
        faults: Vec::new(),
        hold: None,
    };
    // The focus policy (world index) and its name.
    let pick = |i: usize| -> Option<(usize, String)> {
        (!run.is_empty()).then(|| {
            let p = run[i % run.len()];
            (p, pols[p].0.clone())
        })
    };
    let mut rollback_steps: Vec<StepId> = Vec::new();
    let mut rollback_faults: &[RollbackFault] = &[];
    // Whether the rollbacks are S5's (per policy), which `on_policy_failure: hold` turns off.
    let mut per_policy = false;
    let mut focus_policy: Option<(usize, String)> = None;
    match &case.focus {
        Focus::Free => {}
        Focus::PolicyFailure {
            policy,
            stage,
            a: x,
            rollback,
        } => {
            let Some((p, name)) = pick(*policy) else {
                return finish(a, src);
            };
            let stage = match *stage {
                _ if !a.controlled => 3,
                2 if mode != Mode::Dfs => 1,
                s => s.min(3),
            };
            let effect_side = if x % 2 == 0 { tgt } else { src };
            a.faults.push(match stage {
                0 => rule(
                    json!({"step": "sync_data", "policy": name}),
                    json!({"syncjob_fail": {"at_progress": (x % 10) as f64 / 10.0}}),
                ),
                1 => rule(json!({"step": "sync_config", "policy": name}), http_hard(*x)),
                2 => {
                    a.share[p] = true;
                    rule(
                        json!({"step": "dfs_rename_shares", "policy": name, "cluster": effect_side}),
                        http_hard(*x / 2),
                    )
                }
                _ => rule(
                    json!({"step": "allow_write", "policy": name}),
                    json!("allow_write_fail"),
                ),
            });
            if zm && stage < 3 {
                a.hold = Some(Hold::ZoneGate);
            } else {
                per_policy = true;
            }
            rollback_steps = PREPARATION_ROLLBACKS.to_vec();
            if stage == 2 {
                // S4: the source rename undone.
                rollback_steps.push(StepId::RollbackDfsRenameShares);
            }
            rollback_faults = rollback;
            focus_policy = Some((p, name));
        }
        Focus::ValidationBlock {
            defect,
            policy,
            side,
            a: x,
            rollback,
        } => {
            let Some((p, _)) = pick(*policy) else {
                return finish(a, src);
            };
            a.controlled = true;
            a.hold = Some(Hold::Validation);
            // Validation checks the moved names' delegation in zone modes and SyncIQ mode
            // with automatic networking (every generated zone has a pool mapping).
            let mut d = *defect % 9;
            if d == 4 && mode == Mode::Dfs {
                d = 3;
            }
            if d == 8 && !UNCONTROLLED_MODES.contains(&mode) {
                d = 5;
            }
            match d {
                0 => a.disabled[p] = true,
                1 => a.service_off = Some(Side::Target),
                2 => a.service_off = Some(Side::Source),
                3 => {
                    a.last_failed[p] = true;
                    a.block_on_warning = true;
                }
                4 => {
                    a.single_delegation = true;
                    a.networking_manual = false;
                    a.block_on_warning = true;
                }
                5 => a.faults.push(rule(
                    json!({"step": "validate", "cluster": side_name(*side)}),
                    http_hard(*x),
                )),
                6 => {
                    a.data_integrity = true;
                    a.share[p] = true;
                    a.faults.push(rule(
                        json!({"step": "data_integrity_lock", "cluster": src}),
                        http_hard(*x),
                    ));
                }
                7 => {
                    a.disable_protocols = true;
                    a.faults.push(rule(
                        json!({"step": "disable_protocols", "cluster": src}),
                        http_hard(*x),
                    ));
                }
                _ => {
                    a.controlled = false;
                    a.block_on_warning = true;
                }
            }
            rollback_steps = PREPARATION_ROLLBACKS.to_vec();
            rollback_faults = rollback;
            focus_policy = pick(*policy);
        }
        Focus::NetworkingFailure {
            step,
            policy,
            a: x,
            rollback,
        } => {
            let Some((p, name)) = pick(*policy) else {
                return finish(a, src);
            };
            a.controlled = true;
            if mode == Mode::Dfs {
                // No networking in DFS mode: the DFS rename fails instead (S4), one side.
                a.share[p] = true;
                if x % 3 == 2 {
                    // S4's worst case: the target cannot confirm its copy, and the source
                    // refuses a second rename (the undo of a rename made without that
                    // confirmation). Only confirming first keeps the DFS clients' target.
                    a.faults.push(rule(
                        json!({"step": "dfs_rename_shares", "policy": name, "cluster": tgt, "method": "GET"}),
                        http_hard(*x / 2),
                    ));
                    a.faults.push(rule(
                        json!({"step": "dfs_rename_shares", "policy": name, "cluster": src, "method": "PUT", "nth": 2}),
                        http_hard(*x / 2),
                    ));
                } else {
                    let side = if x % 2 == 0 { tgt } else { src };
                    a.faults.push(rule(
                        json!({"step": "dfs_rename_shares", "policy": name, "cluster": side}),
                        http_hard(*x / 2),
                    ));
                }
                per_policy = true;
                rollback_steps = PREPARATION_ROLLBACKS.to_vec();
                rollback_steps.push(StepId::RollbackDfsRenameShares);
            } else {
                a.networking_manual = false;
                let k = *step as usize % NETWORKING_STEPS.len();
                let st = NETWORKING_STEPS[k];
                let mut when = json!({"step": st.as_str()});
                if let Some(s) = acting_side(st) {
                    when["cluster"] = json!(side_name(s));
                }
                a.faults.push(rule(when, http_hard(*x)));
                if zm {
                    a.hold = Some(Hold::Networking);
                    rollback_steps = NETWORKING_ROLLBACKS[..=k].to_vec();
                    rollback_steps.extend(PREPARATION_ROLLBACKS);
                }
            }
            rollback_faults = rollback;
            focus_policy = Some((p, name));
        }
        Focus::AfterCutover {
            policy,
            stage,
            a: x,
        } => {
            let Some((p, name)) = pick(*policy) else {
                return finish(a, src);
            };
            // Zone modes move quotas per zone (`failover_zone_quotas`, no policy header):
            // its calls to the target (the copies) or to the source (reads and removals).
            let zq = zone_mode(mode_of(case));
            let quota_when = |step: &str, cluster: &str| {
                if zq {
                    json!({"step": "failover_zone_quotas", "cluster": cluster})
                } else {
                    json!({"step": step, "policy": name, "cluster": cluster})
                }
            };
            a.faults.push(match stage % 6 {
                0 => {
                    a.quotas = true;
                    a.quota[p] = true;
                    rule(quota_when("failover_quotas", tgt), http_hard(*x))
                }
                1 => {
                    a.quotas = true;
                    a.quota[p] = true;
                    rule(quota_when("remove_source_quotas", src), http_hard(*x))
                }
                2 => rule(
                    json!({"step": "resync_prep", "policy": name}),
                    json!("resync_prep_fail"),
                ),
                3 => rule(
                    json!({"step": "run_mirror", "policy": name}),
                    json!({"syncjob_fail": {"at_progress": (x % 10) as f64 / 10.0}}),
                ),
                4 => {
                    a.schedule[p] = true;
                    rule(
                        json!({"step": "restore_schedule", "policy": name, "cluster": tgt}),
                        http_hard(*x),
                    )
                }
                _ => {
                    a.quotas = false;
                    a.remove_source_quotas = true;
                    a.quota[p] = true;
                    rule(
                        quota_when("remove_source_quotas", src),
                        json!({"http": {"status": 503, "count": 2}}),
                    )
                }
            });
        }
    }
    // Cluster faults on the rollback instances the focus produces; the options that make
    // each rollback exist are forced.
    if let (false, Some((p, name))) = (rollback_steps.is_empty(), &focus_policy) {
        for f in rollback_faults {
            let st = rollback_steps[f.step % rollback_steps.len()];
            match st {
                StepId::RollbackLock => {
                    a.data_integrity = true;
                    a.share[*p] = true;
                }
                StepId::RollbackProtocols => a.disable_protocols = true,
                StepId::RollbackSchedules => a.schedule[*p] = true,
                _ => {}
            }
            if per_policy {
                a.on_policy_failure_hold = false;
            }
            let mut when = json!({"step": st.as_str()});
            if st == StepId::RollbackSchedules {
                when["policy"] = json!(name);
            }
            if let (true, Some(s)) = (f.cluster, acting_side(st)) {
                when["cluster"] = json!(side_name(s));
            }
            let effect = match f.effect % 3 {
                0 => json!({"http": {
                    "status": ([500u16, 503, 429, 409, 404, 400][(f.a % 6) as usize]),
                    "count": 1 + f.b % 4,
                }}),
                1 => json!("drop_connection"),
                _ => json!({"delay": {"ms": ([500u64, 5_000, 60_000][(f.a % 3) as usize])}}),
            };
            a.faults.push(rule(when, effect));
        }
    }
    finish(a, src)
}

/// Warnings block a `block_on_warning` run only where that is the focus; an uncontrolled
/// run's source is down from the start.
fn finish(mut a: Applied, src: &str) -> Applied {
    if a.block_on_warning && a.hold != Some(Hold::Validation) {
        a.single_delegation = false;
        a.last_failed.iter_mut().for_each(|f| *f = false);
        if !a.controlled {
            // An uncontrolled run always warns that both sides may become writable.
            a.block_on_warning = false;
        }
    }
    if !a.controlled {
        a.faults.push(rule(
            json!({"at": "0s", "cluster": src}),
            json!("cluster_down"),
        ));
    }
    a
}

/// Where the case is meant to stop before any `allow_write` (a targeted fault or readiness
/// defect at a gate), if it is. A rehearsal has no cut-over to hold.
pub fn intended_hold(case: &ChaosCase) -> Option<Hold> {
    if is_rehearsal(case) {
        return None;
    }
    apply_focus(case).hold
}

/// Whether the case is a rehearsal (DESIGN §2 "Other runs") rather than a failover: every
/// eighth seed whose focus keeps the source up (a rehearsal tests the target while the
/// source keeps serving, so it has no uncontrolled form). Taken from the seed, not drawn,
/// so adding rehearsals left every other seed's case as it was.
pub fn is_rehearsal(case: &ChaosCase) -> bool {
    case.seed % 8 == 5 && apply_focus(case).controlled
}

/// The run mode of a case.
pub fn mode_of(case: &ChaosCase) -> Mode {
    MODES[case.run.mode as usize % MODES.len()]
}

/// Build the scenario's JSON value. `planted_bug` (snake_case name) is written into
/// `run.options.planted_bug`; only a `planted-bugs` build accepts it.
pub fn scenario_value(case: &ChaosCase, planted_bug: Option<&str>) -> Value {
    let w = &case.world;
    let (src, tgt) = cluster_names(case);
    let side_name = |s: Side| match s {
        Side::Source => src,
        Side::Target => tgt,
    };
    let zones_used: Vec<&str> = ZONES[..w.zones.clamp(1, 3) as usize].to_vec();
    let pols = policies_of(case);
    let n = pols.len().max(1);
    let ap = apply_focus(case);

    // Shares/exports: what the policy asks for (or its focus needs), plus what its clients
    // need.
    let mut share = ap.share.clone();
    let mut export: Vec<bool> = w.policies.iter().map(|p| p.export).collect();
    let mode = mode_of(case);
    if is_rehearsal(case) {
        // A rehearsal verifies what test clients can use: a zone none of whose policies is
        // shared or exported has nothing to test, and its verify step fails by design (not
        // a fault the campaign means to inject). Every rehearsed policy gets a share.
        share.iter_mut().for_each(|s| *s = true);
    }
    for c in &w.clients {
        if pols.is_empty() {
            break;
        }
        match client_protocol(mode, c) {
            1 => export[c.policy % n] = true,
            _ => share[c.policy % n] = true,
        }
    }

    let mut src_files = Vec::new();
    let mut shares = Vec::new();
    let mut exports = Vec::new();
    let mut quotas = Vec::new();
    let mut policies = Vec::new();
    for (i, ((name, zone, path), p)) in pols.iter().zip(&w.policies).enumerate() {
        src_files.push(json!({
            "root": path,
            "count": p.files,
            "size_bytes": 1u64 << p.size_log2,
            "unsynced_fraction": p.unsynced_pct as f64 / 100.0,
        }));
        if share[i] {
            shares.push(json!({"name": name, "path": path, "zone": zone}));
        }
        if export[i] {
            exports.push(json!({"paths": [path], "zone": zone, "clients": ["10.9.0.0/16"]}));
        }
        if ap.quota[i] {
            quotas.push(json!({"path": path, "type": "directory", "hard_bytes": (p.files as u64) << (p.size_log2 + 1)}));
        }
        let mut schedule = SCHEDULES[p.schedule as usize % SCHEDULES.len()];
        if ap.schedule[i] && schedule.is_empty() {
            schedule = "every 1 hours";
        }
        let mut pol = json!({
            "name": name, "source": src, "target": tgt,
            "source_path": path, "target_path": path,
            "schedule": schedule,
        });
        if ap.disabled[i] {
            pol["enabled"] = json!(false);
        }
        if ap.last_failed[i] {
            pol["last_job_state"] = json!("failed");
        }
        policies.push(pol);
    }
    let mut tgt_files = Vec::new();
    let mut witness_files = Vec::new();
    for (i, e) in w.extra.iter().enumerate() {
        let (from, to, files) = if e.from_witness {
            ("witness", tgt, &mut witness_files)
        } else {
            (tgt, src, &mut tgt_files)
        };
        let path = format!("/ifs/other/x{i}");
        files.push(json!({"root": path, "count": e.files, "size_bytes": 65536}));
        policies.push(json!({
            "name": format!("x{i}"), "source": from, "target": to,
            "source_path": path, "target_path": path, "schedule": "every 1 hours",
        }));
    }

    let zone_specs: Vec<Value> = zones_used
        .iter()
        .map(|z| json!({"name": z, "base_path": format!("/ifs/{z}")}))
        .collect();
    let pools = |suffix: &str, net: u8| -> Vec<Value> {
        zones_used
            .iter()
            .enumerate()
            .map(|(k, z)| {
                let mut p = json!({
                    "id": format!("groupnet0.subnet0.{z}{suffix}"),
                    "zone": z,
                    "sc_dns_zone": format!("{z}{suffix}.corp.example"),
                    "ssip": format!("10.{net}.0.{}", 10 + k),
                });
                if w.alias && suffix.is_empty() {
                    p["aliases"] = json!([format!("{z}-alias.corp.example")]);
                }
                p
            })
            .collect()
    };
    let mut source = json!({
        "name": src,
        "max_concurrent_jobs": w.max_jobs_src,
        "zones": zone_specs,
        "pools": pools("", 1),
        "smb_shares": shares,
        "nfs_exports": exports,
        "quotas": quotas,
        "files": src_files,
    });
    let mut target = json!({
        "name": tgt,
        "max_concurrent_jobs": w.max_jobs_tgt,
        "zones": zone_specs,
        "pools": pools("-dr", 2),
        "files": tgt_files,
    });
    let rehearsal = is_rehearsal(case);
    if rehearsal || (!ap.controlled && (self::zone_mode(mode) || mode == Mode::Dfs)) {
        // An uncontrolled run cannot replicate the dead source's config: the target holds
        // what the config jobs copied before the disaster (DFS mode: the inactive
        // `igls-dfs-` copies of the shares). A rehearsal copies no configuration, and test
        // clients need the target's shares and exports: config replication made them.
        let dfs = mode == Mode::Dfs;
        let copies: Vec<Value> = shares
            .iter()
            .map(|sh| {
                let mut c = sh.clone();
                if dfs {
                    c["name"] = json!(format!("igls-dfs-{}", sh["name"].as_str().unwrap_or("")));
                }
                c
            })
            .collect();
        target["smb_shares"] = json!(copies);
        target["nfs_exports"] = json!(exports.clone());
    }
    if w.extra_users {
        source["users"] = json!([
            {"name": "admin", "password": "Chaos-Adm1n!", "role": "admin"},
            {"name": "auditor", "password": "Chaos-Aud1t!", "role": "read-only"},
        ]);
    }
    match ap.service_off {
        Some(Side::Source) => source["synciq_service"] = json!(false),
        Some(Side::Target) => target["synciq_service"] = json!(false),
        None => {}
    }
    let mut clusters = vec![source, target];
    if w.extra.iter().any(|e| e.from_witness) {
        clusters.push(json!({"name": "witness", "files": witness_files}));
    }
    // An uncontrolled SyncIQ/DFS-mode run has no pool mapping, so its names are moved by
    // hand (SyncIQ mode: networking `not_applicable`); a zone-mode run needs its mappings
    // (the dead source's pools are resolved from the names recorded with them).
    let mapped: &[&str] = if ap.controlled || zone_mode(mode) {
        &zones_used
    } else {
        &[]
    };
    let pool_mappings: Vec<Value> = mapped
        .iter()
        .map(|z| {
            let members: Vec<&String> = pols
                .iter()
                .filter(|(_, pz, _)| pz == z)
                .map(|(n, _, _)| n)
                .collect();
            json!({
                "source": format!("{src}/groupnet0.subnet0.{z}"),
                "target": format!("{tgt}/groupnet0.subnet0.{z}-dr"),
                "policies": members,
            })
        })
        .collect();
    let mut world = json!({
        "link": {"bandwidth_bytes_per_s": w.bandwidth, "latency_ms": w.latency_ms},
        "clusters": clusters,
        "policies": policies,
        "ad": {"domain": "corp.example"},
        "dns": {"delegation": if ap.single_delegation { "single" } else { "dual" }},
        "pool_mappings": pool_mappings,
    });
    if let Some((start, aw, rp, papi)) = w.costs {
        world["costs"] = json!({
            "job_start_latency_ms": start, "allow_write_ms": aw,
            "resync_prep_ms": rp, "papi_latency_ms": papi,
        });
    }
    if mode == Mode::Dfs {
        let dfs: Vec<Value> = pols
            .iter()
            .enumerate()
            .filter(|(i, _)| share[*i])
            .map(|(_, (name, _, _))| {
                json!({
                    "namespace": format!("\\\\corp.example\\dfs\\{name}"),
                    "targets": [format!("\\\\{src}\\{name}"), format!("\\\\{tgt}\\{name}")],
                })
            })
            .collect();
        world["dfs"] = json!(dfs);
    }

    // Clients only use data the run fails over (a client of a policy left behind would
    // rightly not reach its data on the target), and DFS paths only in DFS mode.
    let r = &case.run;
    let zone_mode = zone_mode(mode);
    let run_zone = run_zone_of(case);
    // Zone modes fail over the zone's (or the pool's) policies: `run.policies` is refused
    // by the plan builder in Access Zone mode and ignored for a pool with assigned policies.
    let subset: Option<Vec<usize>> = if zone_mode {
        None
    } else {
        r.subset.as_ref().map(|s| s.iter().map(|i| i % n).collect())
    };
    let in_run = |i: usize| -> bool {
        let zone_ok = !zone_mode || pols[i].1 == run_zone;
        zone_ok && subset.as_ref().is_none_or(|s| s.contains(&i))
    };
    let mut clients: Vec<Value> = w
        .clients
        .iter()
        .enumerate()
        .filter(|(_, c)| !pols.is_empty() && in_run(c.policy % n))
        .map(|(k, c)| {
            let (name, zone, path) = &pols[c.policy % n];
            let (protocol, p) = match client_protocol(mode, c) {
                0 => ("smb", format!("\\\\{zone}.corp.example\\{name}")),
                1 => ("nfs", format!("{zone}.corp.example:{path}")),
                _ => ("dfs", format!("\\\\corp.example\\dfs\\{name}")),
            };
            json!({"name": format!("client-{k}"), "protocol": protocol, "path": p, "writes_per_minute": c.writes_per_minute})
        })
        .collect();

    // A rehearsal's test clients: one per mapped zone of the run (DESIGN §2: "verify with
    // test clients through a test alias"), on the target's copy of a run policy's share or
    // export of that zone, by the test alias of the zone's target pool. Not in DFS mode,
    // whose target copies are the inactive `igls-dfs-` shares.
    if rehearsal && mode != Mode::Dfs {
        for (k, z) in mapped.iter().enumerate() {
            let pick = (0..pols.len())
                .filter(|&i| pols[i].1 == *z && in_run(i))
                .find(|&i| share[i] || export[i]);
            let Some(i) = pick else { continue };
            let (name, zone, path) = &pols[i];
            let alias = format!("igls-test.{zone}-dr.corp.example");
            let (protocol, p) = if share[i] {
                ("smb", format!("\\\\{alias}\\{name}"))
            } else {
                ("nfs", format!("{alias}:{path}"))
            };
            clients.push(json!({"name": format!("test-{k}"), "protocol": protocol, "path": p, "writes_per_minute": 12, "test": true}));
        }
    }

    let mut options = Map::new();
    options.insert("data_integrity".into(), json!(ap.data_integrity));
    options.insert("disable_protocols".into(), json!(ap.disable_protocols));
    options.insert("block_on_warning".into(), json!(ap.block_on_warning));
    options.insert("quotas".into(), json!(ap.quotas));
    options.insert(
        "remove_source_quotas".into(),
        json!(ap.remove_source_quotas),
    );
    options.insert(
        "on_policy_failure".into(),
        json!(if ap.on_policy_failure_hold {
            "hold"
        } else {
            "rollback"
        }),
    );
    options.insert("presync".into(), json!(r.presync));
    options.insert("parallel".into(), json!(r.parallel));
    options.insert(
        "networking".into(),
        // An uncontrolled run has no pool mapping (see above), so the simulated operator
        // could not tell which pools' names its checklist moves: automatic networking then
        // marks the steps not applicable and the report lists the data as unavailable.
        json!(if ap.networking_manual && ap.controlled {
            "manual"
        } else {
            "auto"
        }),
    );
    options.insert("job_poll_interval_ms".into(), json!(r.poll_ms));
    if let Some(t) = r.job_timeout_ms {
        options.insert("job_timeout_ms".into(), json!(t));
    }
    if let Some(b) = planted_bug {
        options.insert("planted_bug".into(), json!(b));
    }
    let mut run = json!({
        "kind": if rehearsal { "rehearsal" } else { "failover" },
        "mode": mode.as_str(),
        "from": src,
        "to": tgt,
        "controlled": ap.controlled,
        "options": Value::Object(options),
    });
    if let Some(subset) = &subset {
        let mut names: Vec<String> = subset.iter().map(|&i| policy_name(i)).collect();
        names.sort();
        names.dedup();
        run["policies"] = json!(names);
    }
    match mode {
        Mode::AccessZone => run["zone"] = json!(run_zone),
        Mode::IpPool => run["pool"] = json!(format!("groupnet0.subnet0.{run_zone}")),
        _ => {}
    }

    let steps = mode_steps(mode);
    let gates = gate_inputs(mode);
    let mut faults: Vec<Value> = case
        .faults
        .iter()
        .map(|f| fault_value(f, &steps, &gates, &pols, src, tgt, &side_name))
        .collect();
    if !ap.controlled && (self::zone_mode(mode) || mode == Mode::Dfs) {
        // The dead source coming back during the run would answer the names (or DFS
        // shares) the run moved to the target: the hazard the report warns about, kept
        // away by the admin, who brings it back only for the failback. So a background
        // `cluster_up` of the source is aimed at the target instead (a no-op there).
        for f in &mut faults {
            if f["effect"]["cluster_up"]["cluster"] == json!(src) {
                f["effect"]["cluster_up"]["cluster"] = json!(tgt);
            }
        }
    }
    faults.extend(ap.faults);

    let operator = match r.operator {
        OperatorParams::Immediate => json!("immediate"),
        OperatorParams::ConfirmAfterMs(ms) => json!({"confirm_after": duration(ms)}),
        OperatorParams::Absent => json!("absent"),
    };
    let mut v = json!({
        "name": format!("chaos-{}", case.seed),
        "seed": case.seed,
        "world": world,
        "clients": clients,
        "run": run,
        "faults": faults,
        "operator": operator,
        "expect": {"invariants": "all"},
    });
    // The prelude must succeed: no readiness defect of the case's (SyncIQ off, a disabled
    // policy) may be in its way.
    let defect_free = ap.service_off.is_none() && !ap.disabled.iter().any(|d| *d);
    if !ap.controlled && case.seed.is_multiple_of(3) && defect_free && prelude_can_succeed(&v, src)
    {
        failback_after_uncontrolled(&mut v, src, tgt);
    }
    v
}

/// Whether the uncontrolled failover of `v` can be a prelude (which must succeed): in DFS
/// and zone modes its DFS rename steps act with the source down and fail for a policy
/// without a share, so every policy (of the zone) needs one.
fn prelude_can_succeed(v: &Value, src: &str) -> bool {
    if v["run"]["mode"] == json!(Mode::SynciqPolicy.as_str()) {
        return true;
    }
    let shared: Vec<&str> = v["world"]["clusters"][0]["smb_shares"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["path"].as_str())
        .collect();
    let named: Option<Vec<&str>> = v["run"]["policies"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect());
    v["world"]["policies"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p["source"] == json!(src))
        .filter(|p| {
            named
                .as_ref()
                .is_none_or(|n| n.contains(&p["name"].as_str().unwrap_or_default()))
        })
        .all(|p| shared.contains(&p["source_path"].as_str().unwrap_or_default()))
}

/// Turn an uncontrolled failover scenario into the failback after it (DESIGN §2 "Other
/// runs"): the uncontrolled failover becomes the prelude (plain options, so it succeeds;
/// the source down from its start in `prelude_faults`), the run fails back from the target
/// to the returned source, and the case's faults are aimed at the failback: policy names
/// become their mirrors' (the run's policies), the source-down rule is dropped (the source
/// is back), and cluster and link faults are dropped (a cluster going down mid-failback is
/// another scenario), as are the clients (see below). The failback's own steps (`fence_returned_source`,
/// `returned_resync_prep`) are left to the library scenarios and the case's job faults.
pub fn failback_after_uncontrolled(v: &mut Value, src: &str, tgt: &str) {
    let run = v["run"].clone();
    let mut prelude = json!({
        "kind": "failover",
        "mode": run["mode"],
        "from": src,
        "to": tgt,
        "controlled": false,
        "options": {"networking": run["options"]["networking"]},
    });
    let mirror = |n: &Value| json!(format!("{}_mirror", n.as_str().unwrap_or_default()));
    for k in ["zone", "pool", "policies"] {
        if let Some(x) = run.get(k) {
            prelude[k] = x.clone();
        }
    }
    let mut back = run.clone();
    back["kind"] = json!("failback");
    back["from"] = json!(tgt);
    back["to"] = json!(src);
    back["controlled"] = json!(true);
    if let Some(ps) = run.get("policies").and_then(Value::as_array) {
        back["policies"] = json!(ps.iter().map(mirror).collect::<Vec<_>>());
    }
    if let Some(pool) = run.get("pool").and_then(Value::as_str) {
        back["pool"] = json!(format!("{pool}-dr"));
    }
    // An uncontrolled run forces its own options; the failback takes them without the
    // one that would block on the returned source's warnings.
    back["options"]["block_on_warning"] = json!(false);
    let faults: Vec<Value> = v["faults"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|f| {
            let e = &f["effect"];
            let name = e
                .as_str()
                .map(str::to_string)
                .or_else(|| e.as_object().and_then(|o| o.keys().next().cloned()));
            !matches!(
                name.as_deref(),
                Some("cluster_down" | "cluster_up" | "link_partition" | "link_heal")
            )
        })
        .map(|mut f| {
            if let Some(p) = f["when"].get("policy").cloned() {
                f["when"]["policy"] = mirror(&p);
            }
            f
        })
        .collect();
    // A client that reaches the returned source writes there in the instant between its
    // return and the fence, and resync-prep discards those writes: the report states that
    // loss and the judge notes it (judge/data.rs). After the fence, the returned copy must
    // be unreachable, which is judged, except in SyncIQ mode with manual networking or no
    // pool mapping: the fence cannot rename names it has no mapping for, the report tells
    // the operator to take them off the returned source, and its clients would keep writing
    // there, so such cases carry no clients.
    let names_fenced = run["mode"] != json!(Mode::SynciqPolicy.as_str())
        || (run["options"]["networking"] == json!("auto")
            && v["world"]["pool_mappings"]
                .as_array()
                .is_some_and(|m| !m.is_empty()));
    if !names_fenced {
        v["clients"] = json!([]);
    }
    v["prelude"] = json!([prelude]);
    v["prelude_faults"] = json!([{"when": {"at": "0s", "cluster": src}, "effect": "cluster_down"}]);
    v["run"] = back;
    v["faults"] = json!(faults);
}

/// A background fault's effect where it lands on a gate input and is not `hard_at_gate`:
/// one the orchestrator's retries absorb (a single 503, a short delay, one dropped
/// connection), so the run still reaches the cut-over.
fn soft_effect(e: &EffectParams) -> Value {
    match e.a % 3 {
        0 => json!({"http": {"status": 503, "count": 1}}),
        1 => json!({"delay": {"ms": 500}}),
        _ => json!("drop_connection"),
    }
}

fn fault_value(
    f: &FaultParams,
    steps: &[StepId],
    gates: &[StepId],
    pols: &[(String, &'static str, String)],
    src: &str,
    tgt: &str,
    side_name: &dyn Fn(Side) -> &'static str,
) -> Value {
    let kind = EFFECT_KINDS[f.effect.kind % EFFECT_KINDS.len()];
    let e = &f.effect;
    let soften = !e.hard_at_gate;
    // The step a fault names: job faults only at the steps that post their job (and, unless
    // hard at a gate, not at a gate input: a failed sync holds a zone's gate).
    let step_at = |i: usize| -> StepId {
        match job_fault_steps(kind) {
            Some(s) => {
                let open: Vec<StepId> = s
                    .iter()
                    .copied()
                    .filter(|st| !(soften && gates.contains(st)))
                    .collect();
                let s: &[StepId] = if open.is_empty() { s } else { &open };
                s[i % s.len()]
            }
            None => steps[i % steps.len()],
        }
    };
    let mut when = Map::new();
    let policy =
        |i: usize| -> Option<&str> { pols.get(i % pols.len().max(1)).map(|p| p.0.as_str()) };
    // The step the fault is confined to, if any (for softening at gates).
    let mut at_step: Option<StepId> = None;
    match &f.placement {
        Placement::Step {
            step,
            policy: p,
            side,
            nth,
        } => {
            let st = step_at(*step);
            at_step = Some(st);
            when.insert("step".into(), json!(st.as_str()));
            if let Some(name) = p.and_then(policy) {
                when.insert("policy".into(), json!(name));
            }
            if let Some(s) = side {
                when.insert("cluster".into(), json!(side_name(*s)));
            }
            if let Some(n) = nth {
                when.insert("nth".into(), json!(n));
            }
        }
        Placement::Time { at_ms, side } => {
            when.insert("at".into(), json!(duration(*at_ms)));
            if let Some(s) = side {
                when.insert("cluster".into(), json!(side_name(*s)));
            }
        }
        // A job fault only acts on `POST sync/jobs`: on a route it is pinned to that route.
        Placement::Route {
            method: _,
            route: _,
            side,
            nth,
            after_ms,
        } if job_fault_steps(kind).is_some() => {
            when.insert("method".into(), json!("POST"));
            when.insert("route".into(), json!("sync/jobs"));
            if let Some(s) = side {
                when.insert("cluster".into(), json!(side_name(*s)));
            }
            if let Some(n) = nth {
                when.insert("nth".into(), json!(n));
            }
            if let Some(ms) = after_ms {
                when.insert("at".into(), json!(duration(*ms)));
            }
        }
        Placement::Route {
            method,
            route,
            side,
            nth,
            after_ms,
        } => {
            if let Some(m) = method {
                when.insert("method".into(), json!(METHODS[m % METHODS.len()]));
            }
            when.insert("route".into(), json!(ROUTES[route % ROUTES.len()]));
            if let Some(s) = side {
                when.insert("cluster".into(), json!(side_name(*s)));
            }
            if let Some(n) = nth {
                when.insert("nth".into(), json!(n));
            }
            if let Some(ms) = after_ms {
                when.insert("at".into(), json!(duration(*ms)));
            }
        }
        Placement::Probabilistic {
            probability_pct,
            step,
            route,
            after_ms,
        } => {
            when.insert("probability".into(), json!(*probability_pct as f64 / 100.0));
            match step {
                Some(s) => {
                    let st = step_at(*s);
                    at_step = Some(st);
                    when.insert("step".into(), json!(st.as_str()));
                }
                None if job_fault_steps(kind).is_none() => {
                    when.insert("route".into(), json!(ROUTES[route % ROUTES.len()]));
                }
                None => {}
            }
            if let Some(ms) = after_ms {
                when.insert("at".into(), json!(duration(*ms)));
            }
        }
    }
    // A job fault that names no policy fails every job it matches (every policy's sync):
    // background job faults name one; and one that names no step is kept off the job steps
    // that are gate inputs (a zone's syncs) unless drawn hard there.
    if job_fault_steps(kind).is_some() {
        if !when.contains_key("policy") {
            if let Some(name) = policy(e.b as usize) {
                when.insert("policy".into(), json!(name));
            }
        }
        let all = job_fault_steps(kind).unwrap_or(&[]);
        if !when.contains_key("step") && soften && all.iter().any(|s| gates.contains(s)) {
            let st = step_at(e.b as usize);
            when.insert("step".into(), json!(st.as_str()));
        }
    }
    // Cluster/link effects with only time conditions must say which cluster.
    let cluster_param =
        e.side
            .map(side_name)
            .unwrap_or(if e.a.is_multiple_of(2) { src } else { tgt });
    let effect = match kind {
        _ if soften
            && job_fault_steps(kind).is_none()
            && kind != "orchestrator_crash"
            && at_step.is_some_and(|s| gates.contains(&s)) =>
        {
            soft_effect(e)
        }
        "http" => json!({"http": {
            "status": ([500u16, 503, 503, 429, 401, 404, 409][(e.a % 7) as usize]),
            "count": 1 + e.b % 4,
        }}),
        "delay" => {
            json!({"delay": {"ms": ([10u64, 500, 5_000, 60_000, 600_000][(e.a % 5) as usize])}})
        }
        "syncjob_fail" => json!({"syncjob_fail": {"at_progress": (e.a % 11) as f64 / 10.0}}),
        "cluster_down" => json!({"cluster_down": {"cluster": cluster_param}}),
        "cluster_up" => json!({"cluster_up": {"cluster": cluster_param}}),
        "spn_collision" => {
            let zone = pols
                .get(e.b as usize % pols.len().max(1))
                .map_or("finance", |p| p.1);
            json!({"spn_collision": {"spn": format!("HOST/{zone}.corp.example"), "account": tgt}})
        }
        other => json!(other),
    };
    json!({"when": Value::Object(when), "effect": effect})
}

/// The scenario as YAML text (with a comment header naming the seed), ready to replay.
pub fn scenario_yaml(case: &ChaosCase, planted_bug: Option<&str>, header: &str) -> String {
    let v = scenario_value(case, planted_bug);
    let mut y = String::new();
    for line in header.lines() {
        let _ = writeln!(y, "# {line}");
    }
    y.push_str(&yaml_serde::to_string(&v).unwrap_or_default());
    y
}

/// The scenario of a case without its YAML text: what [`build_scenario`] parses, built from
/// the same JSON value (the campaign writes the text only for a failing seed).
pub fn scenario_of(case: &ChaosCase, planted_bug: Option<&str>) -> Result<Scenario, ScenarioError> {
    Scenario::from_value(
        scenario_value(case, planted_bug),
        &format!("<chaos seed {}>", case.seed),
    )
}

/// Build the scenario of a case: YAML text, parsed back exactly as `drill run` would.
pub fn build_scenario(
    case: &ChaosCase,
    planted_bug: Option<&str>,
) -> Result<(String, Scenario), ScenarioError> {
    let text = scenario_yaml(
        case,
        planted_bug,
        &format!("Generated by the chaos generator (seed {}).", case.seed),
    );
    let scn = Scenario::parse(&text, &format!("<chaos seed {}>", case.seed))?;
    Ok((text, scn))
}
