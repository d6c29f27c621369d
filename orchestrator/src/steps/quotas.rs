//! Steps 12 and 13: `failover_quotas` creates the source's quotas under the policy path on
//! the target (after allow-write, so they apply to the now-active copy), and
//! `remove_source_quotas` deletes them on the source, which is now a SyncIQ target (PowerScale
//! best practice: no quotas on SyncIQ target directories).

use serde_json::json;

use crate::exec::RunCtx;
use crate::plan::StepInstance;

use super::{map_path, path_under, StepDone, StepError};

pub async fn failover(ctx: &RunCtx, inst: &StepInstance) -> Result<StepDone, StepError> {
    let p = ctx.policy_info(inst)?;
    let src = ctx.source(inst)?;
    let tgt = ctx.target(inst)?;
    let target_quotas = tgt.quotas().await?;
    let mut created = 0;
    let mut updated = 0;
    for q in src.quotas().await? {
        let Some(tpath) = map_path(&q.path, &p.source_path, &p.target_path) else {
            continue;
        };
        match target_quotas
            .iter()
            .find(|t| t.path == tpath && t.quota_type == q.quota_type && t.persona == q.persona)
        {
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
    Ok(if created + updated == 0 {
        StepDone::unchanged("target quotas already match")
    } else {
        StepDone::acted(format!(
            "{created} quota(s) created, {updated} updated on {}",
            ctx.plan.spec.to
        ))
    })
}

pub async fn remove_source(ctx: &RunCtx, inst: &StepInstance) -> Result<StepDone, StepError> {
    let p = ctx.policy_info(inst)?;
    let src = ctx.source(inst)?;
    let mut removed = 0;
    for q in src.quotas().await? {
        if path_under(&q.path, &p.source_path) {
            src.delete_quota(&q.id).await?;
            removed += 1;
        }
    }
    Ok(if removed == 0 {
        StepDone::unchanged("no quotas under the path on the source")
    } else {
        StepDone::acted(format!(
            "{removed} quota(s) removed from {}",
            ctx.plan.spec.from
        ))
    })
}
