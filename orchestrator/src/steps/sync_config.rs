//! Step 5, `sync_config`: run the policy's config replication job
//! ([`crate::config_repl::job`]): SMB shares (with their original permissions, never the
//! data-integrity lock), NFS exports, NFS aliases, snapshot schedules and dedupe paths under
//! the policy's path are made the same on the target (created, updated, deleted to match,
//! in the same-named access zones), and read back (a cluster that acknowledged a write it
//! did not keep fails the step, so the policy's DFS rename and cut-over do not go ahead
//! without them). Quotas are left to steps 12/13 (`failover_quotas`, optional, and the S1
//! removal on the source). A target object deleted because the source has no such object
//! is journaled first and listed in the report's `removed_config` (S1).
//!
//! In DFS mode a share `X` is created on the target as `igls-dfs-X` (the inactive copy):
//! DFS clients use the first referral target whose share exists, so the target must not
//! offer `X` until step 6 renames it.
//!
//! In an uncontrolled failover the source is not read: the job applies the configuration
//! it cached on its last run (its age goes in the report's `config_cache`). With no cache
//! nothing is copied, and the step says so in a warning (the data still fails over: losing
//! it for want of share definitions would be worse).

use crate::config_repl::{job, JobError, JobSpec, Kinds, Source};
use crate::ctx::{RunCtx, StepDone, StepError};
use crate::plan::StepInstance;
use crate::report::{CachedConfig, RemovedConfig};
use crate::run_spec::Mode;

pub(crate) async fn run(ctx: &RunCtx, inst: &StepInstance) -> Result<StepDone, StepError> {
    let p = ctx.policy_info(inst)?.clone();
    let tgt = ctx.target(inst)?;
    let store = ctx.config_store()?;
    let (from, to) = (&ctx.plan.spec.from, &ctx.plan.spec.to);
    let controlled = ctx.plan.spec.controlled;
    let zones: Vec<String> = ctx
        .inventory
        .zones
        .get(from)
        .into_iter()
        .flatten()
        .map(|z| z.name.clone())
        .collect();
    let target_zones: Vec<String> = ctx
        .inventory
        .zones
        .get(to)
        .into_iter()
        .flatten()
        .map(|z| z.name.clone())
        .collect();
    let spec = JobSpec {
        policy: p.name.clone(),
        source: from.clone(),
        target: to.clone(),
        source_path: p.source_path.clone(),
        target_path: p.target_path.clone(),
        zones,
        target_zones,
        dfs_prefix: (ctx.plan.spec.mode == Mode::Dfs)
            .then(|| ctx.plan.spec.options.naming.dfs_prefix.clone()),
        inactive_prefix: Some(ctx.plan.spec.options.naming.dfs_prefix.clone()),
        kinds: Kinds::WITHOUT_QUOTAS,
        saved_permissions: ctx.with_state(|s| s.saved_share_permissions.clone()),
        trigger: format!("failover:{}", ctx.run_id),
    };
    // S1: a target object goes only after its definition is journaled.
    let before_delete = |c: &crate::config_repl::diff::Change| -> Result<(), String> {
        ctx.with_state(|s| {
            let r = RemovedConfig {
                cluster: to.clone(),
                kind: c.kind.clone(),
                path: c.path.clone(),
                policy: Some(p.name.clone()),
                definition: job::definition(c),
            };
            if !s.removed_config.contains(&r) {
                s.removed_config.push(r);
            }
        });
        ctx.checkpoint().map_err(|e| e.to_string())
    };
    let src_client;
    let source = if controlled {
        src_client = ctx.source(inst)?;
        Source::Live(&src_client)
    } else {
        Source::Cache
    };
    match job::run(
        &store,
        source,
        &tgt,
        &spec,
        &ctx.config_reads,
        &before_delete,
    )
    .await
    {
        Ok(o) => {
            let mut detail = o.summary();
            if let Some(age_ms) = o.cache_age_ms {
                let age_s = (age_ms / 1000).max(0) as u64;
                ctx.with_state(|s| {
                    s.config_cache.insert(
                        p.name.clone(),
                        CachedConfig {
                            available: true,
                            age_s: Some(age_s),
                        },
                    )
                });
                ctx.checkpoint()?;
                detail = format!(
                    "{from} unreachable: applied the configuration cached {} ago: {detail}",
                    age(age_s)
                );
            }
            Ok(StepDone::new(!o.changes.is_empty(), detail))
        }
        Err(e @ JobError::NoCache { .. }) => {
            let w = format!(
                "sync_config[{}]: {from} unreachable and {e}: create the shares, exports, aliases, snapshot schedules and dedupe paths of {} on {to} by hand",
                p.name, p.source_path
            );
            job::record_failure(&store, &spec, "no_cache", &e);
            ctx.with_state(|s| {
                s.config_cache.insert(
                    p.name.clone(),
                    CachedConfig {
                        available: false,
                        age_s: None,
                    },
                );
                s.warn_once(w.clone());
            });
            // Write-ahead: the warning and the cache record survive a crash after this step.
            ctx.checkpoint()?;
            Ok(StepDone::unchanged(format!("WARNING: {w}")))
        }
        Err(e) => {
            job::record_failure(&store, &spec, "failed", &e);
            match &e {
                JobError::Apply { error, .. } if error.is_unreachable() => {
                    Err(StepError::indeterminate(e))
                }
                _ => Err(StepError::Failed(e.to_string())),
            }
        }
    }
}

/// `90` → `1m30s`.
fn age(s: u64) -> String {
    let (h, m, sec) = (s / 3600, (s % 3600) / 60, s % 60);
    let mut out = String::new();
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if m > 0 {
        out.push_str(&format!("{m}m"));
    }
    if sec > 0 || out.is_empty() {
        out.push_str(&format!("{sec}s"));
    }
    out
}
