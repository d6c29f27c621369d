//! [`StepId`], every step's stable name, and the questions the plan, the executor and the
//! report ask about a step id. The answers are rows of the step catalogue
//! (`steps/catalogue.rs`); the names come from the enum itself (strum, snake_case, the same
//! spelling serde uses).

use serde::{Deserialize, Serialize};
use strum::{AsRefStr, Display, EnumIter, EnumString, IntoEnumIterator, IntoStaticStr};

use crate::run_spec::Mode;
use crate::steps::catalogue::{self, StepSpec};

/// Every step id (DESIGN.md §2). Stable snake_case names used in reports, the journal,
/// scenario faults and golden traces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[derive(Display, EnumString, AsRefStr, IntoStaticStr, EnumIter)]
#[strum(serialize_all = "snake_case")]
pub enum StepId {
    CheckOpenFiles,
    /// Option `presync` (seed `1p`): the policy's SyncIQ job runs once before the lock, so
    /// the final `sync_data` after it carries only what changed meanwhile (a short delta)
    /// and the clients' outage window stays small (DESIGN §8). Its failure skips nothing:
    /// the final sync still carries every change, only the outage is longer.
    Presync,
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
    /// Access Zone / IP Pool mode, seed 16+17 per zone: the quotas under every zone policy
    /// that failed over are copied to the target and read back, then the source's removed
    /// (S1); replaces the per-policy `failover_quotas` / `remove_source_quotas` there.
    FailoverZoneQuotas,
    RunMirror,
    EnableConfigJobs,
    RefreshClients,
    /// Failback after an uncontrolled failover: the returned source stops answering the
    /// production names (SmartConnect names renamed, SPNs off, DFS shares renamed) and its
    /// policies' schedules are held, before anything else runs.
    FenceReturnedSource,
    /// Failback after an uncontrolled failover: resync-prep of the original policy on the
    /// returned source, which rolls its copy back to the last good sync and creates the
    /// mirror policy on the failed-over side that the failback then runs.
    ReturnedResyncPrep,
    AllowWriteRevert,
    /// Rehearsal: a test alias (never a production name) on the mapped target pool, with
    /// its SPNs on the target's account, for test clients only.
    AddTestAlias,
    /// Rehearsal: the test alias resolves to the target and the zone's target copies are
    /// writable with their shares/exports in place — what test clients need.
    VerifyTestAccess,
    /// Rehearsal: the test alias and its SPNs come off the target again.
    RemoveTestAlias,
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
    /// All ids, in seed order (then the zone gate and the rollbacks): the catalogue's rows.
    pub const ALL: [StepId; catalogue::STEP_COUNT] = {
        let mut out = [StepId::CheckOpenFiles; catalogue::STEP_COUNT];
        let mut i = 0;
        while i < catalogue::STEP_COUNT {
            out[i] = catalogue::ROWS[i].id;
            i += 1;
        }
        out
    };

    /// All ids, in the same order as [`StepId::ALL`].
    pub fn all() -> impl Iterator<Item = StepId> {
        StepId::iter()
    }

    /// The snake_case id.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// Parse a snake_case id.
    pub fn parse(s: &str) -> Option<StepId> {
        s.parse().ok()
    }

    /// The catalogue row of this step.
    pub(crate) fn spec(self) -> &'static StepSpec {
        catalogue::spec(self)
    }

    /// The seed table's number for this step in `mode` (networking and quota steps are
    /// numbered differently in SyncIQ/DFS and Access Zone/IP Pool modes).
    pub fn seed_no(self, mode: Mode) -> &'static str {
        self.spec().seed_no(mode)
    }

    /// Steps whose failure for policy P skips every instance of P that waits for them
    /// (docs/safety-rules.md): the SyncIQ chain, plus config sync and the DFS renames, whose
    /// failure would leave the target unable to serve P's users. (`failover_quotas` skips
    /// only `remove_source_quotas`: see the executor.)
    pub fn stops_policy_chain(self) -> bool {
        self.spec().stops_chain
    }

    /// The S3 undo steps of the networking chain.
    pub fn is_networking_rollback(self) -> bool {
        self.spec().networking_undo
    }

    /// The rollback instance that undoes a networking step (S3).
    pub fn networking_rollback(self) -> Option<StepId> {
        let spec = self.spec();
        spec.rollback.filter(|_| spec.networking)
    }

    /// Steps that run a SyncIQ job and report through `sync.job.finish`.
    pub fn runs_job(self) -> bool {
        self.spec().runs_job
    }

    /// Steps that occupy one of a cluster's SyncIQ job slots while they run.
    pub fn uses_job_slot(self) -> bool {
        self.spec().job_slot
    }

    /// Gate steps: when one fails, the run stops before cutting anything over and the
    /// preparation is rolled back.
    pub fn is_gate(self) -> bool {
        self.spec().gate
    }

    /// Gates whose failure means the run was blocked before any cut-over: validation, and
    /// the protections the operator asked for (a failover without the requested lock or
    /// protocol shutdown could lose writes, so it does not go on without them).
    pub fn is_validation_gate(self) -> bool {
        self.spec().validation_gate
    }

    /// Rollback steps, added by the executor when a gate fails.
    pub fn is_rollback(self) -> bool {
        self.spec().rollback_step
    }

    /// Steps that act on the source cluster and so cannot run when it is unreachable
    /// (uncontrolled failover).
    pub fn needs_source(self) -> bool {
        self.spec().needs_source
    }

    /// Networking steps (seed 6–10 in zone modes, 14–18 in SyncIQ mode).
    pub fn is_networking(self) -> bool {
        self.spec().networking
    }

    /// What users see when this step fails (one sentence, for reports).
    pub fn impact(self) -> &'static str {
        self.spec().impact
    }

    /// How to recover when this step fails (one sentence, for reports).
    pub fn recovery(self) -> &'static str {
        self.spec().recovery
    }
}
