//! Step 13/17, `remove_source_quotas[P]`: source quotas under the policy path are deleted,
//! each only when its copy is on the target and after its definition was journaled (S1).
//! Shared quota helpers: `quotas.rs`.

use super::quotas::*;
use crate::ctx::{RunCtx, StepDone, StepError};
use crate::plan::StepInstance;

pub(crate) async fn run(ctx: &RunCtx, inst: &StepInstance) -> Result<StepDone, StepError> {
    let p = ctx.policy_info(inst)?;
    let src = ctx.source(inst)?;
    let under = quotas_under(&src, p).await?;
    if under.is_empty() {
        return Ok(StepDone::unchanged(
            "no quotas under the path on the source",
        ));
    }
    // With the quota option on, a source quota goes only when its copy is on the target.
    let target = if ctx.plan.spec.options.quotas {
        Some(ctx.target(inst)?.quotas().await?)
    } else {
        None
    };
    let (removed, missing) = remove_from_source(ctx, &src, &under, target.as_deref(), p).await?;
    if !missing.is_empty() {
        return Err(StepError::Failed(format!(
            "kept {} source quota(s) whose copy is not on {}: {}",
            missing.len(),
            ctx.plan.spec.to,
            missing.join(", ")
        )));
    }
    Ok(StepDone::acted(format!(
        "{removed} quota(s) removed from {} (definitions in the report)",
        ctx.plan.spec.from
    )))
}
