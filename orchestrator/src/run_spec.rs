//! What an operator asks for: the kind of run, the failover mode, the clusters and the options.
//!
//! The same type is the `run:` section of a scenario file and the body of a `dr serve`
//! failover request, so the CLI, the REST API and the harness all mean the same thing.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Failover, failback or rehearsal.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default, PartialOrd, Ord,
)]
#[serde(rename_all = "kebab-case")]
pub enum RunKind {
    #[default]
    Failover,
    Failback,
    Rehearsal,
}

/// The four failover modes of the seed table.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default, PartialOrd, Ord,
)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    #[default]
    SynciqPolicy,
    Dfs,
    AccessZone,
    IpPool,
}

impl Mode {
    /// The scenario/CLI spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::SynciqPolicy => "synciq-policy",
            Mode::Dfs => "dfs",
            Mode::AccessZone => "access-zone",
            Mode::IpPool => "ip-pool",
        }
    }
}

/// How networking steps (SmartConnect, SPNs, DNS) are carried out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Networking {
    /// The orchestrator runs them.
    #[default]
    Auto,
    /// They are printed as a checklist and the run waits for an operator's confirmation.
    Manual,
}

/// Run options (DESIGN.md §2). Defaults are what a careful admin would pick.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct RunOptions {
    /// Step 1a: Deny-Everyone on the SMB shares under the failed-over paths.
    pub data_integrity: bool,
    /// Step 1 (option): turn SMB and NFS off cluster-wide on the source.
    pub disable_protocols: bool,
    /// Step 3a: abort before any change when validation has warnings.
    pub block_on_warning: bool,
    /// Step 12: create the source's quotas on the target.
    pub quotas: bool,
    /// Step 1p: run every policy's SyncIQ job once before the lock (`presync[P]`), so the
    /// final sync after it moves only a short delta and the clients' outage stays small
    /// (DESIGN §8). On by default; a failed pre-sync skips nothing (the final sync carries
    /// every change), it only makes that policy's outage longer. Not planned in uncontrolled
    /// runs, rehearsals, or a failback after an uncontrolled failover.
    pub presync: bool,
    /// Independent policies' chains run concurrently (false = one step at a time).
    pub parallel: bool,
    /// Auto or manual networking steps.
    pub networking: Networking,
    /// How often a running SyncIQ job is polled at most (and when nothing tells how long it
    /// has left): a job's end is seen within this long of it.
    pub job_poll_interval_ms: u64,
    /// The longest wait between two polls of a running SyncIQ job. Between the two bounds
    /// a sync's wait follows its expected remaining time, from its send rate
    /// (`steps/job_poll.rs`), so a long sync costs a few requests, not one per interval;
    /// jobs that send no data are polled at `job_poll_interval_ms`. Set it to
    /// `job_poll_interval_ms` (or lower) for fixed polling.
    pub job_poll_max_interval_ms: u64,
    /// Give up waiting for one SyncIQ job after this long.
    pub job_timeout_ms: u64,
    /// Name prefixes the steps use (sites with another convention keep theirs).
    pub naming: Naming,
    /// What happens to a policy whose chain fails before its `allow_write` succeeded
    /// (safety rule S5): `rollback` (default) lifts its lock, restores its schedule and
    /// re-enables its config job on the source, which still serves its users; `hold` keeps
    /// them for the admin.
    pub on_policy_failure: OnPolicyFailure,
    /// With `quotas: false`, still delete the source's quotas under failed-over paths
    /// (their definitions go into the report). Ignored with `quotas: true`, where source
    /// quotas are removed only after their copies on the target were read back (S1).
    pub remove_source_quotas: bool,
    /// Rehearsal: how long `verify_test_access` keeps the test window open after its
    /// checks passed (test alias up, target copies writable) before the alias is removed
    /// and the copies reverted — the time test clients have to do their checks.
    pub test_window_ms: u64,
    /// Step 5: how old the run's shared read of a cluster's configuration (one listing of
    /// each zone for all its policies) may be before a policy's `sync_config` reads the
    /// cluster again. Writes the orchestrator makes are always seen; this bounds how late
    /// a change made by someone else during the run shows up (the default, five minutes,
    /// is the usual interval of scheduled config replication). 0 reads afresh for every
    /// policy (a zone of N policies then costs N listings of the zone).
    pub config_read_max_age_ms: u64,
    /// The cost model of the run's estimate (DESIGN.md §8), computed once when the run is
    /// planned and carried into its report (`performance.estimated_ms`). Unset: `dr` and
    /// `dr serve` fill in the config's `estimate:` section; elsewhere the defaults.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub estimate: Option<crate::estimate::CostDefaults>,
    /// Test-only: run a deliberately wrong variant (see `bugs.rs`).
    #[cfg(feature = "planted-bugs")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub planted_bug: Option<crate::bugs::PlantedBug>,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            data_integrity: false,
            disable_protocols: false,
            block_on_warning: false,
            quotas: true,
            presync: true,
            parallel: true,
            networking: Networking::Auto,
            job_poll_interval_ms: 5_000,
            job_poll_max_interval_ms: 60_000,
            job_timeout_ms: 24 * 3_600_000,
            naming: Naming::default(),
            on_policy_failure: OnPolicyFailure::Rollback,
            remove_source_quotas: false,
            test_window_ms: 120_000,
            config_read_max_age_ms: crate::config_repl::reads::DEFAULT_MAX_AGE_MS,
            estimate: None,
            #[cfg(feature = "planted-bugs")]
            planted_bug: None,
        }
    }
}

/// Option `on_policy_failure` (safety rule S5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "kebab-case")]
pub enum OnPolicyFailure {
    /// Put the source back in service for that policy: lift its lock, restore its schedule,
    /// re-enable its config job.
    #[default]
    Rollback,
    /// Leave lock, manual schedule and disabled config job for the admin to decide.
    Hold,
}

/// Name prefixes (DESIGN.md §2). Defaults are the conventional `igls-` names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Naming {
    /// Prefix of a renamed source SmartConnect zone/alias: `igls-original-<name>`.
    pub original_prefix: String,
    /// Prefix of names to leave alone.
    pub ignore_prefix: String,
    /// Prefix of the inactive copy of a DFS share: `igls-dfs-<share>`.
    pub dfs_prefix: String,
    /// Target-pool alias hint naming its source pool: `igls-<source-pool-name>`.
    pub hint_prefix: String,
    /// Prefix of a rehearsal's test alias, put before the mapped target pool's own
    /// SmartConnect zone name: `igls-test.<target zone>` (a name below the target's own
    /// delegation, so it resolves to the target whatever the source names' delegation).
    pub test_prefix: String,
}

impl Default for Naming {
    fn default() -> Self {
        Naming {
            original_prefix: "igls-original-".into(),
            ignore_prefix: "igls-ignore-".into(),
            dfs_prefix: "igls-dfs-".into(),
            hint_prefix: "igls-".into(),
            test_prefix: "igls-test.".into(),
        }
    }
}

/// A source pool → target pool mapping (`cluster/pool-id` on each side).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PoolMapping {
    pub source: String,
    pub target: String,
    /// IP Pool mode: the policies assigned to this pool (default: the zone's policies).
    #[serde(default)]
    pub policies: Vec<String>,
    /// The source pool's client-facing SmartConnect names (zone name first, then aliases),
    /// as the admin recorded them with the mapping. Read only when the source cannot be
    /// reached (uncontrolled failover): the names it serves are then not discoverable, and
    /// the networking steps move these. When the source answers, its pool as discovered wins.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub names: Vec<String>,
    /// The source pool's access zone, for the same case (default: the target pool's zone,
    /// which a zone failover requires to have the same name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone: Option<String>,
}

impl PoolMapping {
    /// Split `cluster/pool-id`.
    pub fn split(s: &str) -> Option<(&str, &str)> {
        s.split_once('/')
    }
}

/// A run request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RunSpec {
    #[serde(default)]
    pub kind: RunKind,
    #[serde(default)]
    pub mode: Mode,
    /// The cluster failing over (currently active).
    pub from: String,
    /// The cluster taking over.
    pub to: String,
    /// SyncIQ/DFS modes: the policies to fail over (default: all from `from` to `to`).
    #[serde(default)]
    pub policies: Vec<String>,
    /// Access Zone mode: the zone.
    #[serde(default)]
    pub zone: Option<String>,
    /// IP Pool mode: the source pool id.
    #[serde(default)]
    pub pool: Option<String>,
    /// Pool mappings for the networking steps (a scenario's `world.pool_mappings` is used
    /// when this is empty).
    #[serde(default)]
    pub pool_mappings: Vec<PoolMapping>,
    /// False = uncontrolled failover (source unreachable).
    #[serde(default = "default_true")]
    pub controlled: bool,
    #[serde(default)]
    pub options: RunOptions,
}

fn default_true() -> bool {
    true
}
