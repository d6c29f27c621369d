//! The zone cut-over gate, `zone_gate[zone]` (zone modes): it holds when any zone policy's
//! final `sync_data` or `sync_config` did not succeed, so the zone is not cut over and its
//! preparation is rolled back (a sync skipped because the source is unreachable does not
//! hold it: an uncontrolled run cuts over to the last good sync). The executor decides it itself from its predecessors'
//! statuses, at the instant they are all over (it does not act on a cluster).

use crate::ctx::{StepDone, StepError};
use crate::plan::{StepId, StepInstance};
use crate::report::{SkipReason, StepRecord, StepStatus};

/// Pass the gate when every zone policy synced, else hold it naming the policies.
pub(crate) fn decide(
    gate: &StepInstance,
    steps: &[StepInstance],
    records: &[StepRecord],
) -> Result<StepDone, StepError> {
    let failed = failures(gate, steps, records);
    if failed.is_empty() {
        Ok(StepDone::unchanged("all zone policies synced"))
    } else {
        Err(StepError::Failed(format!(
            "zone gate held: final sync failed for {}; the zone is not cut over",
            failed.join(", ")
        )))
    }
}

/// The zone policies whose final sync or config sync did not succeed, for a zone gate.
pub(crate) fn failures(
    gate: &StepInstance,
    steps: &[StepInstance],
    records: &[StepRecord],
) -> Vec<String> {
    let mut out: Vec<String> = gate
        .deps
        .iter()
        .filter(|&&d| {
            // An uncontrolled run skips the final sync (the source is down): the target
            // holds the last good sync, which is what it cuts over to.
            matches!(steps[d].step, StepId::SyncData | StepId::SyncConfig)
                && !matches!(
                    records[d].status,
                    StepStatus::Succeeded
                        | StepStatus::Skipped {
                            reason: SkipReason::SourceUnreachable
                        }
                )
        })
        .filter_map(|&d| steps[d].policy.clone())
        .collect();
    out.sort();
    out.dedup();
    out
}
