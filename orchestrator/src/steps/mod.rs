//! Step implementations, one file per step, and what they share.
//!
//! Every step reads the current state first and acts only when the work is not done yet,
//! so a retried or resumed step that already took effect succeeds without acting twice
//! (DESIGN.md §2). A step returns [`StepDone`] (with `acted` telling whether it changed
//! anything) or a [`StepError`] whose message is what the report shows.

mod begin;
mod cache_schedules;
pub mod job;
mod manual;
mod restore_schedule;
mod resync_prep;
mod rollback_schedules;
mod run_mirror;
mod sync_data;
mod validate;

mod allow_write;

use crate::exec::RunCtx;
use crate::papi::{CallCtx, PapiClient, PapiError};
use crate::plan::{StepId, StepInstance};

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
    match inst.step {
        StepId::CacheSchedules => cache_schedules::run(ctx, inst).await,
        StepId::Begin => begin::run(ctx, inst).await,
        StepId::Validate => validate::run(ctx, inst).await,
        StepId::BlockOnWarning => validate::block_on_warning(ctx, inst).await,
        StepId::SyncData => sync_data::run(ctx, inst).await,
        StepId::AllowWrite => allow_write::run(ctx, inst).await,
        StepId::ResyncPrep => resync_prep::run(ctx, inst).await,
        StepId::RestoreSchedule => restore_schedule::run(ctx, inst).await,
        StepId::RunMirror => run_mirror::run(ctx, inst).await,
        StepId::RollbackSchedules => rollback_schedules::run(ctx, inst).await,
        s if s.is_networking() => manual::run(ctx, inst).await,
        other => Err(StepError(format!(
            "step {other} is not implemented in this build"
        ))),
    }
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

    /// The policy name a per-policy step acts on.
    pub fn policy_of<'a>(&self, inst: &'a StepInstance) -> Result<&'a str, StepError> {
        inst.policy
            .as_deref()
            .ok_or_else(|| StepError(format!("{} needs a policy", inst.step)))
    }
}

/// Name of the mirror policy resync-prep creates for `policy`.
pub fn mirror_name(policy: &str) -> String {
    format!("{policy}_mirror")
}
