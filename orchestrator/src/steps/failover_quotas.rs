//! Step 12/16, `failover_quotas[P]`: the source's quotas under the policy path are created on
//! the target and read back (S1: every copy confirmed before any original may go). Shared
//! quota helpers: `quotas.rs`.

use super::quotas::*;
use crate::ctx::{RunCtx, StepDone, StepError};
use crate::plan::StepInstance;

pub(crate) async fn run(ctx: &RunCtx, inst: &StepInstance) -> Result<StepDone, StepError> {
    let p = ctx.policy_info(inst)?;
    let src = ctx.source(inst)?;
    let tgt = ctx.target(inst)?;
    let (source_quotas, created, updated) = copy_to_target(ctx, &src, &tgt, p).await?;
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
