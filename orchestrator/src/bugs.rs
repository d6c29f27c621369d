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
}

impl PlantedBug {
    /// Every variant.
    pub const ALL: [PlantedBug; 5] = [
        PlantedBug::SkipLogicOff,
        PlantedBug::ResyncPrepBeforeAllowWrite,
        PlantedBug::ZoneGateIgnored,
        PlantedBug::ConfigJobsAlwaysEnabled,
        PlantedBug::QuotaRemovalBeforeAllowWrite,
    ];
}
