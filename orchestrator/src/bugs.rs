//! Deliberately wrong orchestrator variants, compiled only with the `planted-bugs` feature.
//!
//! The chaos harness proves its worth by catching each of these: a campaign run against a
//! variant must report invariant violations. The default build contains none of this code
//! (every hook is behind `#[cfg(feature = "planted-bugs")]`), and a scenario that names a
//! planted bug is rejected as an unknown option there.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// One planted bug, selected by `run.options.planted_bug`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum PlantedBug {
    /// The per-policy skip rule is off: downstream steps of a failed SyncIQ step still run.
    SkipLogicOff,
    /// resync_prep is ordered before allow_write.
    ResyncPrepBeforeAllowWrite,
    /// The zone cut-over gate is ignored (zone modes).
    ZoneGateIgnored,
    /// Config jobs are re-enabled for every policy, whatever resync_prep did.
    ConfigJobsAlwaysEnabled,
    /// Source quotas are removed before allow_write.
    QuotaRemovalBeforeAllowWrite,
    /// SyncIQ-mode networking does not depend on the mapping's policies' allow_write (S2).
    NetworkingIgnoresAllowWrite,
    /// add_target_spns (and the rest of the networking chain) runs after a failed networking
    /// step such as remove_source_spns (S2).
    SpnsAddedAfterFailedRemoval,
    /// remove_source_quotas runs although failover_quotas failed (S1).
    QuotaRemovalAfterFailedCopy,
    /// dfs_rename_shares hides the source share without confirming the target share (S4).
    DfsRenameWithoutTargetShare,
    /// No per-policy rollback when a chain fails before allow_write (S5).
    NoPolicyRollback,
    /// The plan misses the resync_prep → restore_schedule edge.
    MissingOrderEdge,
}

impl PlantedBug {
    /// Every variant.
    pub const ALL: [PlantedBug; 11] = [
        PlantedBug::SkipLogicOff,
        PlantedBug::ResyncPrepBeforeAllowWrite,
        PlantedBug::ZoneGateIgnored,
        PlantedBug::ConfigJobsAlwaysEnabled,
        PlantedBug::QuotaRemovalBeforeAllowWrite,
        PlantedBug::NetworkingIgnoresAllowWrite,
        PlantedBug::SpnsAddedAfterFailedRemoval,
        PlantedBug::QuotaRemovalAfterFailedCopy,
        PlantedBug::DfsRenameWithoutTargetShare,
        PlantedBug::NoPolicyRollback,
        PlantedBug::MissingOrderEdge,
    ];
}
