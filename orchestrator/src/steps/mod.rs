//! Step implementations, one file per step, and what they share.
//!
//! Every step reads the current state first and acts only when the work is not done yet,
//! so a retried or resumed step that already took effect succeeds without acting twice
//! (DESIGN.md §2). A step returns [`StepDone`] (with `acted` telling whether it changed
//! anything) or a [`StepError`] whose message is what the report shows.

mod allow_write;
mod begin;
mod cache_schedules;
mod check_open_files;
pub mod config_jobs;
mod data_integrity_lock;
mod dfs_rename_shares;
mod disable_protocols;
pub mod job;
mod manual;
mod move_smartconnect_to_target;
mod quotas;
mod refresh_clients;
mod rename_source_smartconnect;
mod repoint_dns;
mod restore_schedule;
mod resync_prep;
mod rollback_networking;
mod rollback_schedules;
mod run_mirror;
pub mod spns;
mod sync_config;
mod sync_data;
mod validate;

use crate::exec::RunCtx;
use crate::inventory::PolicyInfo;
use crate::papi::{CallCtx, PapiClient, PapiError, SmbShare};
use crate::plan::{StepId, StepInstance, ZonePlan};
use crate::run_spec::{Mode, Networking};

/// A step finished without error.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StepDone {
    /// Whether the step changed anything on a cluster.
    pub acted: bool,
    /// One line for the report.
    pub detail: Option<String>,
    /// Set for manual steps: what the operator must do and confirm.
    pub manual: Option<String>,
}

impl StepDone {
    /// The step changed something.
    pub fn acted(detail: impl Into<String>) -> Self {
        StepDone {
            acted: true,
            detail: Some(detail.into()),
            manual: None,
        }
    }

    /// The work was already done (or the step only reads).
    pub fn unchanged(detail: impl Into<String>) -> Self {
        StepDone {
            acted: false,
            detail: Some(detail.into()),
            manual: None,
        }
    }
}

/// A step failed; the message is shown in the report.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct StepError(pub String);

/// Marker text of a failure whose effect is unknown: the step lost contact with the cluster
/// after it had acted (Jepsen's "info" outcome). The report flags such steps so neither
/// an operator nor the checker reads "failed" as "did not happen".
pub const INDETERMINATE: &str = "outcome unknown";

impl StepError {
    /// A failure after the step may have taken effect.
    pub fn indeterminate(msg: impl std::fmt::Display) -> Self {
        StepError(format!("{INDETERMINATE}: {msg}"))
    }

    /// Whether the failure left the step's effect unknown.
    pub fn is_indeterminate(&self) -> bool {
        self.0.starts_with(INDETERMINATE)
    }
}

impl From<PapiError> for StepError {
    fn from(e: PapiError) -> Self {
        StepError(e.to_string())
    }
}

impl From<String> for StepError {
    fn from(s: String) -> Self {
        StepError(s)
    }
}

impl From<&str> for StepError {
    fn from(s: &str) -> Self {
        StepError(s.to_string())
    }
}

/// Run one step instance.
pub async fn execute(ctx: &RunCtx, inst: &StepInstance) -> Result<StepDone, StepError> {
    let manual_networking = ctx.plan.spec.mode == Mode::SynciqPolicy
        && ctx.plan.spec.options.networking == Networking::Manual;
    match inst.step {
        StepId::CheckOpenFiles => check_open_files::run(ctx, inst).await,
        StepId::DisableProtocols => disable_protocols::run(ctx, inst).await,
        StepId::DataIntegrityLock => data_integrity_lock::run(ctx, inst).await,
        StepId::CacheSchedules => cache_schedules::run(ctx, inst).await,
        StepId::Begin => begin::run(ctx, inst).await,
        StepId::Validate => validate::run(ctx, inst).await,
        StepId::BlockOnWarning => validate::block_on_warning(ctx, inst).await,
        StepId::DisableConfigJobs => config_jobs::disable(ctx, inst).await,
        StepId::SyncData => sync_data::run(ctx, inst).await,
        StepId::SyncConfig => sync_config::run(ctx, inst).await,
        StepId::DfsRenameShares => dfs_rename_shares::run(ctx, inst).await,
        s if s.is_networking() && manual_networking => manual::run(ctx, inst).await,
        StepId::RenameSourceSmartconnect => rename_source_smartconnect::run(ctx, inst).await,
        StepId::RemoveSourceSpns => spns::remove_source(ctx, inst).await,
        StepId::MoveSmartconnectToTarget => move_smartconnect_to_target::run(ctx, inst).await,
        StepId::AddTargetSpns => spns::add_target(ctx, inst).await,
        StepId::RepointDns => repoint_dns::run(ctx, inst).await,
        StepId::AllowWrite => allow_write::run(ctx, inst).await,
        StepId::AllowWriteRevert => allow_write::revert(ctx, inst).await,
        StepId::ResyncPrep => resync_prep::run(ctx, inst).await,
        StepId::RestoreSchedule => restore_schedule::run(ctx, inst).await,
        StepId::FailoverQuotas => quotas::failover(ctx, inst).await,
        StepId::RemoveSourceQuotas => quotas::remove_source(ctx, inst).await,
        StepId::RunMirror => run_mirror::run(ctx, inst).await,
        StepId::EnableConfigJobs => config_jobs::enable(ctx, inst).await,
        StepId::RefreshClients => refresh_clients::run(ctx, inst).await,
        StepId::RollbackSchedules => rollback_schedules::run(ctx, inst).await,
        StepId::RollbackLock => data_integrity_lock::rollback(ctx, inst).await,
        StepId::RollbackConfigJobs => config_jobs::rollback(ctx, inst).await,
        StepId::RollbackProtocols => disable_protocols::rollback(ctx, inst).await,
        StepId::RollbackRepointDns => rollback_networking::repoint_dns(ctx, inst).await,
        StepId::RollbackAddTargetSpns => rollback_networking::add_target_spns(ctx, inst).await,
        StepId::RollbackMoveSmartconnectToTarget => {
            rollback_networking::move_smartconnect_to_target(ctx, inst).await
        }
        StepId::RollbackRemoveSourceSpns => {
            rollback_networking::remove_source_spns(ctx, inst).await
        }
        StepId::RollbackRenameSourceSmartconnect => {
            rollback_networking::rename_source_smartconnect(ctx, inst).await
        }
        StepId::RollbackDfsRenameShares => dfs_rename_shares::rollback(ctx, inst).await,
        StepId::ZoneGate => Err(StepError(
            "zone_gate is decided by the executor, not run as a step".into(),
        )),
    }
}

/// SMB shares of `cluster` (all its zones) whose path lies under one of `paths`.
pub async fn shares_under(
    ctx: &RunCtx,
    client: &PapiClient,
    cluster: &str,
    paths: &[String],
) -> Result<Vec<(String, SmbShare)>, StepError> {
    let mut out = Vec::new();
    for z in ctx.inventory.zones.get(cluster).into_iter().flatten() {
        for share in client.smb_shares(&z.name).await? {
            if paths.iter().any(|p| path_under(&share.path, p)) {
                out.push((z.name.clone(), share));
            }
        }
    }
    Ok(out)
}

impl RunCtx {
    /// The client for `cluster`, tagged with this run and step.
    pub fn client_for(&self, cluster: &str, inst: &StepInstance) -> Result<PapiClient, StepError> {
        let c = self.clusters.get(cluster).ok_or_else(|| {
            StepError(format!("no connection configured for cluster {cluster:?}"))
        })?;
        Ok(c.with_ctx(CallCtx {
            run: Some(self.run_id.clone()),
            step: Some(inst.step.as_str().to_string()),
            policy: inst.policy.clone(),
            zone: inst.zone.clone(),
        }))
    }

    /// Source cluster client for `inst`.
    pub fn source(&self, inst: &StepInstance) -> Result<PapiClient, StepError> {
        self.client_for(&self.plan.spec.from, inst)
    }

    /// Target cluster client for `inst`.
    pub fn target(&self, inst: &StepInstance) -> Result<PapiClient, StepError> {
        self.client_for(&self.plan.spec.to, inst)
    }

    /// The plan's record of the policy a per-policy step acts on.
    pub fn policy_info(&self, inst: &StepInstance) -> Result<&PolicyInfo, StepError> {
        let name = self.policy_of(inst)?;
        self.plan
            .policies
            .iter()
            .find(|p| p.name == name)
            .ok_or_else(|| StepError(format!("policy {name} is not in the plan")))
    }

    /// The zone part of the plan a zone-level step acts on.
    pub fn zone_plan(&self, inst: &StepInstance) -> Result<&ZonePlan, StepError> {
        let zone = inst
            .zone
            .as_deref()
            .ok_or_else(|| StepError(format!("{} needs a zone", inst.step)))?;
        self.plan
            .zones
            .iter()
            .find(|z| z.name == zone)
            .ok_or_else(|| StepError(format!("zone {zone} is not in the plan")))
    }

    /// The policy name a per-policy step acts on.
    pub fn policy_of<'a>(&self, inst: &'a StepInstance) -> Result<&'a str, StepError> {
        inst.policy
            .as_deref()
            .ok_or_else(|| StepError(format!("{} needs a policy", inst.step)))
    }
}

/// Name of the mirror policy resync-prep creates for `policy`. Failing back a mirror
/// resyncs onto the original policy, so `eng_mirror`'s mirror is `eng`.
pub fn mirror_name(policy: &str) -> String {
    match policy.strip_suffix("_mirror") {
        Some(orig) if !orig.is_empty() => orig.to_string(),
        _ => format!("{policy}_mirror"),
    }
}

/// Whether `path` is `base` or below it (path-component aware: `/ifs/a` is not under
/// `/ifs/ab`).
pub fn path_under(path: &str, base: &str) -> bool {
    let base = base.trim_end_matches('/');
    if base.is_empty() {
        return path.starts_with('/');
    }
    path == base || (path.starts_with(base) && path.as_bytes().get(base.len()) == Some(&b'/'))
}

/// Map `path` under `from_root` to the same place under `to_root`.
pub fn map_path(path: &str, from_root: &str, to_root: &str) -> Option<String> {
    if !path_under(path, from_root) {
        return None;
    }
    let rest = &path[from_root.trim_end_matches('/').len()..];
    Some(format!("{}{}", to_root.trim_end_matches('/'), rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        assert!(path_under("/ifs/a/b", "/ifs/a"));
        assert!(path_under("/ifs/a", "/ifs/a/"));
        assert!(!path_under("/ifs/ab", "/ifs/a"));
        assert_eq!(
            map_path("/ifs/a/x/y", "/ifs/a", "/ifs/b").as_deref(),
            Some("/ifs/b/x/y")
        );
        assert_eq!(map_path("/ifs/c", "/ifs/a", "/ifs/b"), None);
        assert_eq!(mirror_name("eng"), "eng_mirror");
        assert_eq!(mirror_name("eng_mirror"), "eng");
    }
}
