//! Step implementations: `steps/<step id>.rs` implements the step of that id (its `run`);
//! [`catalogue`] lists them with everything else known about each step, and is the only
//! dispatch. A few files hold what a family of steps shares: `job.rs` (SyncIQ jobs),
//! `spns.rs` (SPN lists), `quotas.rs`, `config_jobs.rs`, `rollback_networking.rs` (the S3
//! undo order and helpers) and `manual.rs` (SyncIQ-mode networking with `networking: manual`).
//!
//! Every step reads the current state first and acts only when the work is not done yet,
//! so a retried or resumed step that already took effect succeeds without acting twice
//! (DESIGN.md §2). A step returns [`StepDone`] (with `acted` telling whether it changed
//! anything) or a [`StepError`] whose message is what the report shows. Steps depend on
//! [`crate::ctx`], never on the executor.

mod add_target_spns;
mod add_test_alias;
mod allow_write;
mod allow_write_revert;
mod begin;
mod block_on_warning;
mod cache_schedules;
pub(crate) mod catalogue;
mod check_open_files;
mod config_jobs;
mod data_integrity_lock;
mod data_loss;
mod dfs_rename_shares;
mod disable_config_jobs;
mod disable_protocols;
mod enable_config_jobs;
mod failover_quotas;
mod failover_zone_quotas;
mod fence_returned_source;
mod job;
mod job_poll;
mod manual;
mod move_smartconnect_to_target;
pub(crate) mod presync;
mod quotas;
mod refresh_clients;
mod remove_source_quotas;
mod remove_source_spns;
mod remove_test_alias;
mod rename_source_smartconnect;
mod repoint_dns;
mod restore_schedule;
mod resync_prep;
mod returned_resync_prep;
mod rollback_add_target_spns;
mod rollback_config_jobs;
mod rollback_dfs_rename_shares;
mod rollback_lock;
mod rollback_move_smartconnect_to_target;
mod rollback_networking;
mod rollback_protocols;
mod rollback_remove_source_spns;
mod rollback_rename_source_smartconnect;
mod rollback_repoint_dns;
mod rollback_schedules;
mod run_mirror;
mod smartconnect;
mod spns;
mod sync_config;
mod sync_data;
mod test_alias;
mod validate;
mod verify_test_access;
pub(crate) mod zone_gate;

use crate::ctx::{RunCtx, StepDone, StepError};
use crate::papi::{PapiClient, SmbShare};
use crate::plan::StepInstance;
use crate::run_spec::{Mode, Networking};

use crate::naming::{path_under, Trees};
use catalogue::ActFn;

/// Run one acting step instance with its catalogue function (SyncIQ-mode networking with
/// `networking: manual` prints the operator's checklist item instead).
pub(crate) async fn act(
    ctx: &RunCtx,
    inst: &StepInstance,
    run: ActFn,
) -> Result<StepDone, StepError> {
    let manual_networking = ctx.plan.spec.mode == Mode::SynciqPolicy
        && ctx.plan.spec.options.networking == Networking::Manual;
    if manual_networking && inst.step.is_networking() {
        manual::run(ctx, inst).await
    } else {
        run(ctx, inst).await
    }
}

/// The SyncIQ policy `policy` on the source (`src`); an error when it is not there.
pub(crate) async fn source_policy(
    ctx: &RunCtx,
    src: &PapiClient,
    policy: &str,
) -> Result<crate::papi::SyncPolicy, StepError> {
    src.get_policy(policy).await?.ok_or_else(|| {
        StepError::Failed(format!(
            "policy {policy} not found on {}",
            ctx.plan.spec.from
        ))
    })
}

/// SMB shares of the source (all its zones) under the path of `inst`'s policy.
pub(crate) async fn policy_shares(
    ctx: &RunCtx,
    inst: &StepInstance,
    src: &PapiClient,
) -> Result<Vec<(String, SmbShare)>, StepError> {
    let p = ctx.policy_info(inst)?;
    shares_under(
        ctx,
        src,
        &ctx.plan.spec.from,
        std::slice::from_ref(&p.source_path),
    )
    .await
}

/// SMB shares of `cluster` (all its zones) whose path lies under one of `paths`.
pub(crate) async fn shares_under(
    ctx: &RunCtx,
    client: &PapiClient,
    cluster: &str,
    paths: &[String],
) -> Result<Vec<(String, SmbShare)>, StepError> {
    // Many paths (the lock asks with every policy's) are looked up by component, not
    // scanned for each share: 1000 policies over 1000 shares were a million comparisons.
    let trees = (paths.len() > 8).then(|| Trees::new(paths.iter().map(String::as_str)));
    let under = |p: &str| match &trees {
        Some(t) => t.covers(p),
        None => paths.iter().any(|b| path_under(p, b)),
    };
    let mut out = Vec::new();
    for z in ctx.inventory.zones.get(cluster).into_iter().flatten() {
        for share in client.smb_shares(&z.name).await? {
            if under(&share.path) {
                out.push((z.name.clone(), share));
            }
        }
    }
    Ok(out)
}
