//! S3 undo `rollback_repoint_dns[zone]`: single delegation, the moved names' NS records point
//! at the source again (exactly the journaled NS host names; their glue was never removed).
//! See `rollback_networking.rs` for the order.

use crate::ctx::{RunCtx, StepDone, StepError};
use crate::plan::StepInstance;

/// Single delegation: point the moved names' NS records back at the source pool.
pub(crate) async fn run(ctx: &RunCtx, inst: &StepInstance) -> Result<StepDone, StepError> {
    let dns = ctx.dns_client("put the delegation back")?;
    let naming = &ctx.plan.spec.options.naming;
    let saved = ctx.with_state(|s| s.saved_ns.clone());
    let mut restored = Vec::new();
    for m in &ctx.zone_plan(inst)?.mappings {
        for name in m.names(naming) {
            // Exactly the delegation `repoint_dns` replaced (journaled before it did).
            let Some(before) = saved.get(&name).filter(|b| !b.is_empty()) else {
                continue; // dual delegation, or never repointed
            };
            let ns = dns
                .ns(&name)
                .await
                .map_err(|e| StepError::Failed(e.to_string()))?;
            let mut now = ns.clone();
            now.sort();
            let mut want = before.clone();
            want.sort();
            if now == want {
                continue;
            }
            let zone = super::repoint_dns::parent_zone(&name);
            dns.replace_ns(zone, &name, before, &[])
                .await
                .map_err(|e| StepError::Failed(format!("restoring NS of {name}: {e}")))?;
            restored.push(name);
        }
    }
    Ok(if restored.is_empty() {
        StepDone::unchanged("delegations already point at the source")
    } else {
        StepDone::acted(format!(
            "NS of {} point at the source again",
            restored.join(", ")
        ))
    })
}
