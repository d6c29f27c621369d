//! Steps 12 and 13: `failover_quotas` creates the source's quotas under the policy path on
//! the target (after allow-write, so they apply to the now-active copy), and
//! `remove_source_quotas` deletes them on the source, which is now a SyncIQ target (PowerScale
//! best practice: no quotas on SyncIQ target directories).
//!
//! Safety rule S1 (nothing exists nowhere): `failover_quotas` reads the target's quotas back
//! after writing them and fails unless every source quota under the path has its copy;
//! `remove_source_quotas` runs only after that succeeded (the plan's edge, the executor's skip
//! rule), deletes a source quota only when it finds its copy on the target, and journals each
//! definition (run state `removed_config`, checkpointed) before the delete, so the report can
//! say what was removed and an admin can recreate it.

use serde_json::json;

use crate::exec::RunCtx;
use crate::papi::Quota;
use crate::plan::StepInstance;
use crate::report::RemovedConfig;

use super::{map_path, path_under, StepDone, StepError};

pub async fn failover(ctx: &RunCtx, inst: &StepInstance) -> Result<StepDone, StepError> {
    let p = ctx.policy_info(inst)?;
    let src = ctx.source(inst)?;
    let tgt = ctx.target(inst)?;
    let target_quotas = tgt.quotas().await?;
    let mut created = 0;
    let mut updated = 0;
    let source_quotas: Vec<Quota> = src
        .quotas()
        .await?
        .into_iter()
        .filter(|q| path_under(&q.path, &p.source_path))
        .collect();
    for q in &source_quotas {
        let Some(tpath) = map_path(&q.path, &p.source_path, &p.target_path) else {
            continue;
        };
        match target_quotas.iter().find(|t| same_quota(t, q, &tpath)) {
            Some(t) if t.thresholds == q.thresholds => {}
            Some(t) => {
                tgt.put_json(
                    &format!("quota/quotas/{}", crate::papi::enc(&t.id)),
                    &json!({"thresholds": q.thresholds}),
                )
                .await?;
                updated += 1;
            }
            None => {
                let mut body = json!({
                    "path": tpath,
                    "type": q.quota_type,
                    "enforced": q.enforced.unwrap_or(true),
                    "include_snapshots": q.include_snapshots.unwrap_or(false),
                    "thresholds": q.thresholds,
                });
                if let Some(persona) = &q.persona {
                    body["persona"] = persona.clone();
                }
                tgt.create_quota(&body).await?;
                created += 1;
            }
        }
    }
    // S1: confirm every copy by reading it back before anyone may remove an original.
    let missing = missing_copies(&source_quotas, &tgt.quotas().await?, p);
    if !missing.is_empty() {
        return Err(StepError(format!(
            "quota copies not found on {} after writing them: {}",
            ctx.plan.spec.to,
            missing.join(", ")
        )));
    }
    Ok(if created + updated == 0 {
        StepDone::unchanged(format!(
            "{} quota(s) already on {} (read back)",
            source_quotas.len(),
            ctx.plan.spec.to
        ))
    } else {
        StepDone::acted(format!(
            "{created} quota(s) created, {updated} updated on {}; all {} read back",
            ctx.plan.spec.to,
            source_quotas.len()
        ))
    })
}

fn same_quota(t: &Quota, q: &Quota, tpath: &str) -> bool {
    t.path == tpath && t.quota_type == q.quota_type && t.persona == q.persona
}

/// Source quotas under the policy path whose copy (same path, type, persona, thresholds) is
/// not among `target`.
fn missing_copies(
    source: &[Quota],
    target: &[Quota],
    p: &crate::inventory::PolicyInfo,
) -> Vec<String> {
    source
        .iter()
        .filter(|q| path_under(&q.path, &p.source_path))
        .filter(|q| {
            let Some(tpath) = map_path(&q.path, &p.source_path, &p.target_path) else {
                return true;
            };
            !target
                .iter()
                .any(|t| same_quota(t, q, &tpath) && t.thresholds == q.thresholds)
        })
        .map(|q| format!("{} ({})", q.path, q.quota_type))
        .collect()
}

pub async fn remove_source(ctx: &RunCtx, inst: &StepInstance) -> Result<StepDone, StepError> {
    let p = ctx.policy_info(inst)?;
    let policy = p.name.clone();
    let src = ctx.source(inst)?;
    let under: Vec<Quota> = src
        .quotas()
        .await?
        .into_iter()
        .filter(|q| path_under(&q.path, &p.source_path))
        .collect();
    if under.is_empty() {
        return Ok(StepDone::unchanged(
            "no quotas under the path on the source",
        ));
    }
    // With the quota option on, a source quota goes only when its copy is on the target.
    let copied = ctx.plan.spec.options.quotas;
    let missing: Vec<String> = if copied {
        missing_copies(&under, &ctx.target(inst)?.quotas().await?, p)
    } else {
        Vec::new()
    };
    let removable: Vec<&Quota> = under
        .iter()
        .filter(|q| !missing.contains(&format!("{} ({})", q.path, q.quota_type)))
        .collect();
    // Journal every definition before the first delete (write-ahead).
    ctx.with_state(|s| {
        for q in &removable {
            let entry = RemovedConfig {
                cluster: ctx.plan.spec.from.clone(),
                kind: "quota".into(),
                path: q.path.clone(),
                policy: Some(policy.clone()),
                definition: serde_json::to_value(q).unwrap_or_default(),
            };
            if !s.removed_config.contains(&entry) {
                s.removed_config.push(entry);
            }
        }
    });
    ctx.checkpoint();
    for q in &removable {
        src.delete_quota(&q.id).await?;
    }
    if !missing.is_empty() {
        return Err(StepError(format!(
            "kept {} source quota(s) whose copy is not on {}: {}",
            missing.len(),
            ctx.plan.spec.to,
            missing.join(", ")
        )));
    }
    Ok(StepDone::acted(format!(
        "{} quota(s) removed from {} (definitions in the report)",
        removable.len(),
        ctx.plan.spec.from
    )))
}
