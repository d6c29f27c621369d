//! The step catalogue: one [`StepSpec`] row per [`StepId`], in seed order, holding every fact
//! about a step that does not depend on the run — its seed numbers, the cluster it acts on,
//! its role in the skip, gate and rollback rules, whether it takes a SyncIQ job slot or
//! changes the journaled run state, its undo, what a failure means for users and how to
//! recover, and the function that runs it.
//!
//! The row of `x` is implemented in `steps/x.rs` (a function named `run`), so an id in a
//! report is one hop from its code. The table is indexed by the id's discriminant and
//! checked at compile time, so a step without a row — or without an implementation — does
//! not compile.

use futures::future::BoxFuture;

use crate::ctx::{RunCtx, StepDone, StepError};
use crate::plan::{Actor, StepId, StepInstance};
use crate::report::StepRecord;
use crate::run_spec::Mode;

use super::*;

/// A step that acts on the clusters (every step but the executor's own decisions).
pub(crate) type ActFn =
    for<'a> fn(&'a RunCtx, &'a StepInstance) -> BoxFuture<'a, Result<StepDone, StepError>>;

/// A step the executor decides itself, synchronously, from the statuses of the run's
/// instances (the zone gate): it starts and ends at the same instant.
pub(crate) type DecideFn =
    fn(&StepInstance, &[StepInstance], &[StepRecord]) -> Result<StepDone, StepError>;

/// How a step runs.
#[derive(Clone, Copy)]
pub(crate) enum Run {
    Act(ActFn),
    Decide(DecideFn),
}

/// Everything the orchestrator knows about one step id.
#[derive(Clone, Copy)]
pub(crate) struct StepSpec {
    pub id: StepId,
    /// Seed table number in SyncIQ-policy / DFS mode and in access-zone / IP-pool mode.
    pub seed: [&'static str; 2],
    /// The cluster (or party) it acts on.
    pub actor: Actor,
    /// Its failure for policy P skips every instance of P that waits for it.
    pub stops_chain: bool,
    /// A validation gate: its failure blocks the run before any cut-over.
    pub validation_gate: bool,
    /// A gate: its failure stops the run before cutting anything over and rolls back the
    /// preparation (the validation gates and the zone gate).
    pub gate: bool,
    /// A networking step (seed 6–10 in zone modes, 14–18 in SyncIQ mode).
    pub networking: bool,
    /// A rollback step, added by the executor.
    pub rollback_step: bool,
    /// An S3 undo of a networking step.
    pub networking_undo: bool,
    /// Acts on the source, so cannot run when it is unreachable.
    pub needs_source: bool,
    /// Runs a SyncIQ job and reports through `sync.job.finish`.
    pub runs_job: bool,
    /// Occupies one of a cluster's SyncIQ job slots while it runs.
    pub job_slot: bool,
    /// Changes the run state (so a journal records it after the step ends).
    pub changes_state: bool,
    /// The step that undoes this one, if any.
    pub rollback: Option<StepId>,
    /// What users see if this step fails.
    pub impact: &'static str,
    /// How to recover from its failure.
    pub recovery: &'static str,
    /// What data could be lost if it does not complete (`data_loss::risk`).
    pub data_loss_risk: &'static str,
    /// Its implementation.
    pub run: Run,
}

impl StepSpec {
    const fn row(id: StepId, seed: [&'static str; 2], actor: Actor, run: Run) -> Self {
        StepSpec {
            id,
            seed,
            actor,
            stops_chain: false,
            validation_gate: false,
            gate: false,
            networking: false,
            rollback_step: false,
            networking_undo: false,
            needs_source: false,
            runs_job: false,
            job_slot: false,
            changes_state: false,
            rollback: None,
            impact: "",
            recovery: "",
            data_loss_risk: super::data_loss::risk(id),
            run,
        }
    }
    const fn text(mut self, impact: &'static str, recovery: &'static str) -> Self {
        self.impact = impact;
        self.recovery = recovery;
        self
    }
    const fn source(mut self) -> Self {
        self.needs_source = true;
        self
    }
    const fn state(mut self) -> Self {
        self.changes_state = true;
        self
    }
    const fn undo(mut self, by: StepId) -> Self {
        self.rollback = Some(by);
        self
    }
    const fn validation_gate(mut self) -> Self {
        self.validation_gate = true;
        self.gate = true;
        self
    }
    const fn chain(mut self) -> Self {
        self.stops_chain = true;
        self
    }
    const fn job(mut self, slot: bool) -> Self {
        self.runs_job = true;
        self.job_slot = slot;
        self
    }
    const fn networking(mut self, undo: StepId) -> Self {
        self.networking = true;
        self.rollback = Some(undo);
        self
    }
    const fn rolls_back(mut self) -> Self {
        self.rollback_step = true;
        self
    }
    const fn net_undo(mut self) -> Self {
        self.rollback_step = true;
        self.networking_undo = true;
        self
    }

    /// The seed table's number in `mode`.
    pub(crate) fn seed_no(&self, mode: Mode) -> &'static str {
        self.seed[usize::from(matches!(mode, Mode::AccessZone | Mode::IpPool))]
    }
}

/// `Run::Act` of module `m`'s `run`.
macro_rules! act {
    ($m:ident) => {{
        fn run<'a>(
            ctx: &'a RunCtx,
            inst: &'a StepInstance,
        ) -> BoxFuture<'a, Result<StepDone, StepError>> {
            Box::pin($m::run(ctx, inst))
        }
        Run::Act(run)
    }};
}

use Actor::{Both, Clients, Dns, Orchestrator, Source, Target};
use StepId as S;

/// Number of step ids.
pub(crate) const STEP_COUNT: usize = 43;

/// The catalogue, in [`StepId`] order (seed order, then the gate and the rollbacks).
pub(crate) static CATALOGUE: [StepSpec; STEP_COUNT] = ROWS;

pub(crate) const ROWS: [StepSpec; STEP_COUNT] = [
    StepSpec::row(S::CheckOpenFiles, ["1", "1"], Source, act!(check_open_files))
        .source()
        .state()
        .text(
            "open files under the failed-over paths are not listed before the cut-over",
            "check the source cluster is reachable and list open files by hand, then resume",
        ),
    // Option `presync`. Seed number `1p`: the seed table has no pre-sync; it runs beside the
    // open-files check (1) and must end before the protocol switch (1, option) and the lock
    // (1a) — "the pre-sync before the lock of 1a" — so it is numbered after 1 without
    // renumbering the seed's own steps. Not a chain step and no gate: its failure leaves
    // every change for the final sync (4) after the lock, only the outage is longer. It
    // takes a job slot like the final sync, and changes the run state (a failure's warning).
    StepSpec::row(S::Presync, ["1p", "1p"], Source, act!(presync))
        .source()
        .state()
        .job(true)
        .text(
            "nothing is skipped: the policy's final sync after the lock carries all its changes, so its clients' outage is longer",
            "nothing to do for this run; fix the SyncIQ job's error (see the job report on the source) before the next failover",
        ),
    StepSpec::row(S::DisableProtocols, ["1", "1"], Source, act!(disable_protocols))
        .source()
        .state()
        .validation_gate()
        .undo(S::RollbackProtocols)
        .text(
            "the run is blocked: SMB/NFS could not be turned off on the source, nothing was cut over",
            "fix the source's protocol settings access and run again; SMB/NFS turned off are turned back on",
        ),
    StepSpec::row(S::DataIntegrityLock, ["1a", "1a"], Source, act!(data_integrity_lock))
        .source()
        .state()
        .validation_gate()
        .undo(S::RollbackLock)
        .text(
            "the run is blocked: the source shares could not be locked, nothing was cut over",
            "fix the share permissions access on the source and run again; locked shares get their permissions back",
        ),
    StepSpec::row(S::CacheSchedules, ["1b", "1b"], Source, act!(cache_schedules))
        .source()
        .state()
        .undo(S::RollbackSchedules)
        .text(
            "the policy's schedule stays on: a scheduled sync may run during the failover",
            "hold the policy's schedule by hand on the source, or resume the run",
        ),
    StepSpec::row(S::Begin, ["2", "2"], Orchestrator, act!(begin)).text(
        "the run does not start its checks",
        "resume the run",
    ),
    StepSpec::row(S::Validate, ["3", "3"], Orchestrator, act!(validate))
        .state()
        .validation_gate()
        .text(
            "the run is blocked before any cut-over: users stay on the source",
            "fix what the validation error names (licences, policies, zones, AD, DNS) and run again",
        ),
    StepSpec::row(S::BlockOnWarning, ["3a", "3a"], Orchestrator, act!(block_on_warning))
        .validation_gate()
        .text(
            "the run is blocked on validation warnings: users stay on the source",
            "resolve the warnings, or run without block_on_warning if they are acceptable",
        ),
    StepSpec::row(S::DisableConfigJobs, ["3b", "3b"], Orchestrator, act!(disable_config_jobs))
        .state()
        .undo(S::RollbackConfigJobs)
        .text(
            "config replication jobs may still copy configuration during the failover",
            "set the policies' config jobs to user_disabled by hand, then resume",
        ),
    StepSpec::row(S::SyncData, ["4", "4"], Source, act!(sync_data))
        .source()
        .chain()
        .job(true)
        .text(
            "the policy's final sync failed: its data stays on the source, which keeps serving it",
            "fix the SyncIQ job's error (see the job report on the source) and run the failover again",
        ),
    // Not `.source()`: in an uncontrolled failover it applies the config job's cache.
    StepSpec::row(S::SyncConfig, ["5", "5"], Both, act!(sync_config))
        .chain()
        .state()
        .text(
            "shares, exports, aliases, snapshot schedules or dedupe paths are missing on the target: the policy is not failed over",
            "create the missing configuration on the target (see the error) and run again",
        ),
    StepSpec::row(S::DfsRenameShares, ["6", "6"], Both, act!(dfs_rename_shares))
        .source()
        .chain()
        .undo(S::RollbackDfsRenameShares)
        .text(
            "DFS clients are not redirected to the target; the source share is renamed back when the target's failed",
            "make sure the target has the share (igls-dfs-X or X), then resume the run",
        ),
    StepSpec::row(S::RenameSourceSmartconnect, ["14", "6"], Source, act!(rename_source_smartconnect))
        .source()
        .networking(S::RollbackRenameSourceSmartconnect)
        .text(
            "the client names stay on the source pool; later networking steps are skipped",
            "rename the source pool's zone name and aliases by hand, or let the zone roll back and run again",
        ),
    StepSpec::row(S::RemoveSourceSpns, ["15", "7"], Source, act!(remove_source_spns))
        .source()
        .networking(S::RollbackRemoveSourceSpns)
        .text(
            "the moved names' SPNs stay on the source account; Kerberos to the target would fail, so later networking steps are skipped",
            "remove the HOST/ SPNs of the moved names from the source's machine account, then resume",
        ),
    StepSpec::row(S::MoveSmartconnectToTarget, ["16", "8"], Target, act!(move_smartconnect_to_target))
        .networking(S::RollbackMoveSmartconnectToTarget)
        .text(
            "the target pool does not answer for the client names: clients cannot reach the target by name",
            "add the moved names as aliases of the target pool by hand, then resume",
        ),
    StepSpec::row(S::AddTargetSpns, ["17", "9"], Target, act!(add_target_spns))
        .networking(S::RollbackAddTargetSpns)
        .text(
            "the target account lacks the SPNs: Kerberos (SMB) to the moved names fails",
            "remove any duplicate SPN from other accounts and register the SPNs on the target's account, then resume",
        ),
    StepSpec::row(S::RepointDns, ["18", "10"], Dns, act!(repoint_dns))
        .networking(S::RollbackRepointDns)
        .text(
            "DNS still delegates the client names to the source: clients do not reach the target",
            "point the names' NS records at the target's SmartConnect service IPs, then resume",
        ),
    StepSpec::row(S::AllowWrite, ["9", "9"], Target, act!(allow_write))
        .chain()
        .job(false)
        .undo(S::AllowWriteRevert)
        .text(
            "the target copy stays read-only: the policy's users stay on (or are sent back to) the source",
            "fix the allow-write job's error on the target and run the failover again",
        ),
    StepSpec::row(S::ResyncPrep, ["10", "14"], Source, act!(resync_prep))
        .source()
        .chain()
        .job(false)
        .text(
            "the source copy may still be writable and no mirror policy exists: there is no way back yet",
            "run resync-prep on the source by hand (it makes the source read-only and creates the mirror)",
        ),
    StepSpec::row(S::RestoreSchedule, ["11", "15"], Target, act!(restore_schedule)).text(
        "the mirror policy has no schedule: changes on the target are not replicated back",
        "set the cached schedule on the mirror policy by hand",
    ),
    StepSpec::row(S::FailoverQuotas, ["12", "16"], Target, act!(failover_quotas))
        .source()
        .text(
            "quotas are missing on the target; the source's quotas are kept",
            "create the missing quotas on the target (see the error), then remove the source's by hand",
        ),
    StepSpec::row(S::RemoveSourceQuotas, ["13", "17"], Source, act!(remove_source_quotas))
        .source()
        .text(
            "quotas stay on the source, now a SyncIQ target",
            "delete the source quotas whose copies are on the target by hand (the report lists them)",
        ),
    // Zone modes only (seed 16+17 of the Access Zone column): one instance per zone.
    StepSpec::row(S::FailoverZoneQuotas, ["12+13", "16+17"], Both, act!(failover_zone_quotas))
        .source()
        .text(
            "quotas of the zone's failed-over policies may be missing on the target; a source quota whose copy was not read back is kept",
            "create the missing quotas on the target (see the error), then delete the source's copies by hand (the report lists those already removed)",
        ),
    StepSpec::row(S::RunMirror, ["13a", "13a"], Target, act!(run_mirror))
        .job(true)
        .text(
            "the mirror policy has not run: the source is not yet a current copy of the target",
            "run the mirror policy on the target by hand",
        ),
    StepSpec::row(S::EnableConfigJobs, ["13b", "13b"], Orchestrator, act!(enable_config_jobs))
        .state()
        .text(
            "the policy's config replication job stays disabled",
            "enable the policy's config job by hand",
        ),
    StepSpec::row(S::RefreshClients, ["19", "19"], Clients, act!(refresh_clients)).text(
        "clients keep stale DNS answers or mounts until they reconnect",
        "have clients flush DNS and reconnect (remount NFS)",
    ),
    // Failback after an uncontrolled failover (DESIGN §2 "Other runs"): the returned source
    // is the run's target. Its fence comes before everything (a validation gate: when it
    // fails nothing runs, or two clusters would answer one name); its resync-prep makes the
    // mirror each policy's chain then runs through.
    StepSpec::row(S::FenceReturnedSource, ["0", "0"], Target, act!(fence_returned_source))
        .state()
        .validation_gate()
        .text(
            "the run is blocked: the returned source may still answer the production names and accept writes its resync-prep would discard",
            "rename the returned source's SmartConnect names (igls-original-<name>) and DFS shares (igls-dfs-<share>), remove their SPNs from its machine account, set its policies' schedules to manual, then run the failback again",
        ),
    StepSpec::row(S::ReturnedResyncPrep, ["0r", "0r"], Target, act!(returned_resync_prep))
        .chain()
        .job(false)
        .text(
            "the policy is not failed back: its data stays writable on the failed-over side, and the returned source's copy is fenced but not resynced",
            "run resync-prep of the original policy on the returned source by hand (it creates <policy>_mirror on the failed-over side), then run the failback again",
        ),
    StepSpec::row(S::AllowWriteRevert, ["9↺", "9↺"], Target, act!(allow_write_revert))
        .job(false)
        .text(
            "the rehearsal's target stays writable: the next scheduled sync will fail",
            "run allow-write-revert on the target by hand",
        ),
    StepSpec::row(S::AddTestAlias, ["9t", "9t"], Target, act!(add_test_alias)).text(
        "test clients cannot reach the target copy by the test alias; production is not affected",
        "add the test alias to the mapped target pool (and its HOST/ SPNs to the target's account) by hand, or fix the error and run the rehearsal again",
    ),
    StepSpec::row(S::VerifyTestAccess, ["9v", "9v"], Target, act!(verify_test_access)).text(
        "the rehearsal did not prove the target copy usable: test clients may not reach a writable copy by the test alias",
        "fix what the error names (test alias DNS delegation, target shares/exports, allow-write) and run the rehearsal again",
    ),
    StepSpec::row(S::RemoveTestAlias, ["9t↺", "9t↺"], Target, act!(remove_test_alias)).text(
        "the target pool keeps answering for the test alias (test clients only; production names are untouched)",
        "remove the test alias from the target pool's aliases and its SPNs from the target's account by hand",
    ),
    StepSpec::row(S::ZoneGate, ["G", "G"], Orchestrator, Run::Decide(zone_gate::decide))
        .text(
            "the zone is not cut over: a zone policy's final sync failed; its users stay on the source",
            "fix the failed syncs named in the error and run the zone failover again",
        )
        .gate(),
    StepSpec::row(S::RollbackSchedules, ["1b↺", "1b↺"], Source, act!(rollback_schedules))
        .source()
        .state()
        .rolls_back()
        .text(
            "the policy's schedule stays held: it no longer syncs on schedule",
            "put the cached schedule (in the report) back on the source policy by hand",
        ),
    StepSpec::row(S::RollbackLock, ["1a↺", "1a↺"], Source, act!(rollback_lock))
        .source()
        .state()
        .rolls_back()
        .text(
            "the source shares keep the Deny-Everyone lock: SMB users cannot write",
            "restore the shares' permissions by hand or resume the run",
        ),
    StepSpec::row(S::RollbackConfigJobs, ["3b↺", "3b↺"], Orchestrator, act!(rollback_config_jobs))
        .state()
        .rolls_back()
        .text(
            "config replication jobs stay disabled",
            "enable the config jobs by hand",
        ),
    StepSpec::row(S::RollbackProtocols, ["1↺", "1↺"], Source, act!(rollback_protocols))
        .source()
        .state()
        .rolls_back()
        .text(
            "SMB/NFS stay off on the source (cluster-wide)",
            "turn SMB/NFS back on on the source once no failed-over copy there is writable",
        ),
    StepSpec::row(S::RollbackRepointDns, ["10↺", "10↺"], Dns, act!(rollback_repoint_dns))
        .net_undo()
        .text(
            "DNS still delegates the zone's names to the target, where data is read-only",
            "put the journaled NS records back by hand, then finish the zone's rollback",
        ),
    StepSpec::row(S::RollbackAddTargetSpns, ["9↺", "9↺"], Target, act!(rollback_add_target_spns))
        .net_undo()
        .text(
            "the target account keeps the SPNs; the source cannot take them back without a duplicate",
            "remove the moved names' SPNs from the target's account, then resume",
        ),
    StepSpec::row(
        S::RollbackMoveSmartconnectToTarget,
        ["8↺", "8↺"],
        Target,
        act!(rollback_move_smartconnect_to_target),
    )
    .net_undo()
    .text(
        "the target pool keeps answering for the zone's names",
        "remove the moved names from the target pool's aliases, then resume",
    ),
    StepSpec::row(S::RollbackRemoveSourceSpns, ["7↺", "7↺"], Source, act!(rollback_remove_source_spns))
        .source()
        .net_undo()
        .text(
            "the source account lacks the SPNs: Kerberos (SMB) to the source's names fails",
            "register the HOST/ SPNs on the source's machine account by hand",
        ),
    StepSpec::row(
        S::RollbackRenameSourceSmartconnect,
        ["6↺", "6↺"],
        Source,
        act!(rollback_rename_source_smartconnect),
    )
    .source()
    .net_undo()
    .text(
        "the source pool does not answer for its names: clients cannot reach the source by name",
        "give the source pool its zone name and aliases back by hand",
    ),
    StepSpec::row(S::RollbackDfsRenameShares, ["6↺", "6↺"], Source, act!(rollback_dfs_rename_shares))
        .source()
        .rolls_back()
        .text(
            "DFS clients are referred to the target's read-only copy",
            "rename the target's X to igls-dfs-X and the source's igls-dfs-X to X by hand",
        ),
];

impl StepSpec {
    const fn gate(mut self) -> Self {
        self.gate = true;
        self
    }
}

/// Every row sits at its id's index, and every text is written.
const _: () = {
    let mut i = 0;
    while i < STEP_COUNT {
        assert!(
            ROWS[i].id as usize == i,
            "catalogue row out of StepId order"
        );
        assert!(!ROWS[i].impact.is_empty() && !ROWS[i].recovery.is_empty());
        assert!(!ROWS[i].data_loss_risk.is_empty());
        i += 1;
    }
};

/// The row of `id`.
pub(crate) fn spec(id: StepId) -> &'static StepSpec {
    &CATALOGUE[id as usize]
}
