//! Step 9, `allow_write`: make the target directory writable (SyncIQ allow-write on the
//! target cluster) and wait until the target policy says `writes_enabled`.

use crate::exec::RunCtx;
use crate::papi::JobAction;
use crate::plan::StepInstance;

use super::job::run_job;
use super::{StepDone, StepError};

pub async fn run(ctx: &RunCtx, inst: &StepInstance) -> Result<StepDone, StepError> {
    let policy = ctx.policy_of(inst)?;
    let tgt = ctx.target(inst)?;
    let tp = tgt.get_target_policy(policy).await?.ok_or_else(|| {
        StepError(format!(
            "target policy {policy} not found on {}",
            ctx.plan.spec.to
        ))
    })?;
    if tp.failover_failback_state == "writes_enabled" {
        return Ok(StepDone::unchanged("target already writes_enabled"));
    }
    run_job(&tgt, policy, JobAction::AllowWrite, &ctx.plan.spec.options).await?;
    // The job has finished, so the step has acted: a failed confirming read leaves the
    // outcome indeterminate (a resume re-checks it) rather than claiming nothing changed.
    let tp = tgt
        .get_target_policy(policy)
        .await
        .map_err(|e| {
            StepError::indeterminate(format!(
                "the job finished, but reading target policy {policy} on {} failed: {e}",
                ctx.plan.spec.to
            ))
        })?
        .ok_or_else(|| {
            StepError::indeterminate(format!(
                "the job finished, but target policy {policy} is not found on {}",
                ctx.plan.spec.to
            ))
        })?;
    if tp.failover_failback_state != "writes_enabled" {
        return Err(StepError(format!(
            "allow-write finished but target policy {policy} is {}",
            tp.failover_failback_state
        )));
    }
    Ok(StepDone::acted("target writes_enabled"))
}

/// Rehearsal: `allow_write_revert` puts the target back to `writes_disabled`, discarding what
/// test clients wrote there (the target returns to the last sync).
pub async fn revert(ctx: &RunCtx, inst: &StepInstance) -> Result<StepDone, StepError> {
    let policy = ctx.policy_of(inst)?;
    let tgt = ctx.target(inst)?;
    let tp = tgt.get_target_policy(policy).await?.ok_or_else(|| {
        StepError(format!(
            "target policy {policy} not found on {}",
            ctx.plan.spec.to
        ))
    })?;
    if tp.failover_failback_state == "writes_disabled" {
        return Ok(StepDone::unchanged("target already writes_disabled"));
    }
    run_job(
        &tgt,
        policy,
        JobAction::AllowWriteRevert,
        &ctx.plan.spec.options,
    )
    .await?;
    // The job has finished, so the step has acted: a failed confirming read leaves the
    // outcome indeterminate (a resume re-checks it) rather than claiming nothing changed.
    let tp = tgt
        .get_target_policy(policy)
        .await
        .map_err(|e| {
            StepError::indeterminate(format!(
                "the job finished, but reading target policy {policy} on {} failed: {e}",
                ctx.plan.spec.to
            ))
        })?
        .ok_or_else(|| {
            StepError::indeterminate(format!(
                "the job finished, but target policy {policy} is not found on {}",
                ctx.plan.spec.to
            ))
        })?;
    if tp.failover_failback_state != "writes_disabled" {
        return Err(StepError(format!(
            "allow-write-revert finished but target policy {policy} is {}",
            tp.failover_failback_state
        )));
    }
    Ok(StepDone::acted("target back to writes_disabled"))
}
