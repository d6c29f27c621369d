//! Step 13/17, `remove_source_quotas[P]`: source quotas under the policy path are deleted,
//! each only when its copy is on the target and after its definition was journaled (S1).
//! Shared quota helpers: `quotas.rs`.

use super::quotas::*;
use crate::ctx::{RunCtx, StepDone, StepError};
use crate::papi::Quota;
use crate::plan::StepInstance;
use crate::report::RemovedConfig;

pub(crate) async fn run(ctx: &RunCtx, inst: &StepInstance) -> Result<StepDone, StepError> {
    let p = ctx.policy_info(inst)?;
    let policy = p.name.clone();
    let src = ctx.source(inst)?;
    let under = quotas_under(&src, p).await?;
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
    ctx.checkpoint()?;
    for q in &removable {
        src.delete_quota(&q.id).await?;
    }
    if !missing.is_empty() {
        return Err(StepError::Failed(format!(
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
