//! Step 12/16, `failover_quotas[P]`: the source's quotas under the policy path are created on
//! the target and read back (S1: every copy confirmed before any original may go). Shared
//! quota helpers: `quotas.rs`.

use super::quotas::*;
use crate::ctx::{RunCtx, StepDone, StepError};
use crate::naming::map_path;
use crate::plan::StepInstance;
use serde_json::json;

pub(crate) async fn run(ctx: &RunCtx, inst: &StepInstance) -> Result<StepDone, StepError> {
    let p = ctx.policy_info(inst)?;
    let src = ctx.source(inst)?;
    let tgt = ctx.target(inst)?;
    let target_quotas = tgt.quotas().await?;
    let mut created = 0;
    let mut updated = 0;
    let source_quotas = quotas_under(&src, p).await?;
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
        return Err(StepError::Failed(format!(
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
