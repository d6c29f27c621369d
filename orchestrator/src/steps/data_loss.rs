//! The data-loss risk of each step's failure or skip, one sentence per [`StepId`]: what
//! client data could be lost or left without a current copy if this step did not complete.
//! The catalogue row of a step takes its text from here ([`risk`] is an exhaustive match,
//! so a new step id does not compile until its risk is written); the HTML report shows it
//! beside the row's impact and recovery for every failed or skipped step (DESIGN §10).

use crate::plan::StepId;

/// The data-loss risk of `id` not completing.
pub(crate) const fn risk(id: StepId) -> &'static str {
    use StepId as S;
    match id {
        S::CheckOpenFiles => {
            "low: writes in files left open on the source after the final sync are not on the target"
        }
        S::Presync => {
            "none: the final sync after the lock carries every change; only the clients' outage is longer"
        }
        S::DisableProtocols => {
            "none: nothing was cut over and the source keeps serving and writing its data"
        }
        S::DataIntegrityLock => {
            "none if nothing is cut over; SMB writes made on the source after the final sync would not reach the target"
        }
        S::CacheSchedules => {
            "low: a scheduled sync during the cut-over can fail and leave the target copy older than the last source write"
        }
        S::Begin | S::Validate | S::BlockOnWarning => {
            "none: the run stopped before any cut-over; the source keeps its data and stays writable"
        }
        S::DisableConfigJobs => {
            "none for file data; a config job may overwrite shares or exports on the other side"
        }
        S::SyncData => {
            "none while users stay on the source; writes since the last successful sync exist only on the source"
        }
        S::SyncConfig => {
            "none for file data (already synced); clients cannot reach it on the target until the configuration exists"
        }
        S::DfsRenameShares => {
            "low: DFS clients that keep writing to the source share after the final sync write where the target will not see it"
        }
        S::RenameSourceSmartconnect
        | S::RemoveSourceSpns
        | S::MoveSmartconnectToTarget
        | S::AddTargetSpns
        | S::RepointDns => {
            "none for stored data; clients cannot reach it by name (an outage) until the names are moved or rolled back"
        }
        S::AllowWrite => {
            "none: the target copy stays read-only and the source keeps the data; clients cannot write until one side is writable"
        }
        S::ResyncPrep => {
            "high: without a mirror policy writes on the target are not protected, and a writable source lets two copies diverge"
        }
        S::RestoreSchedule => {
            "medium: target writes are not replicated back on schedule; a target loss loses them since the last mirror run"
        }
        S::FailoverQuotas | S::RemoveSourceQuotas | S::FailoverZoneQuotas => {
            "none for stored data; writes over a missing quota are not limited, writes under a stale one may be refused"
        }
        S::RunMirror => {
            "medium: the source is not a current copy of the target; losing the target loses writes since the cut-over"
        }
        S::EnableConfigJobs | S::RollbackConfigJobs => {
            "none for file data; configuration changes are not replicated until the job is enabled"
        }
        S::RefreshClients => {
            "low: clients writing through stale DNS answers or mounts get errors until they reconnect; acknowledged writes are kept"
        }
        S::FenceReturnedSource => {
            "high: clients that reach the returned source by a production name write to a copy whose writes since its last good sync the failback's resync-prep discards"
        }
        S::ReturnedResyncPrep => {
            "medium: the policy stays on the failed-over side (its data is kept there); the returned source's copy stays unprotected and is not resynced"
        }
        S::AllowWriteRevert => {
            "medium: writes made on the rehearsal's writable target are discarded when the next sync or revert runs"
        }
        S::AddTestAlias | S::RemoveTestAlias => {
            "none: the test alias carries no production name; production clients keep using the source"
        }
        S::VerifyTestAccess => {
            "none: test writes on the target are discarded by the revert; production data stays on the source"
        }
        S::ZoneGate => {
            "none: the zone stays on the source, which keeps serving and writing its data"
        }
        S::RollbackSchedules => {
            "medium: with its schedule held the policy stops syncing; the target falls behind the source's writes"
        }
        S::RollbackLock | S::RollbackProtocols => {
            "none for stored data; the source refuses writes (an outage) until access is given back"
        }
        S::RollbackRepointDns
        | S::RollbackAddTargetSpns
        | S::RollbackMoveSmartconnectToTarget
        | S::RollbackRemoveSourceSpns
        | S::RollbackRenameSourceSmartconnect
        | S::RollbackDfsRenameShares => {
            "none for stored data; clients reach a read-only copy or no copy by name (an outage) until the rollback is finished"
        }
    }
}
