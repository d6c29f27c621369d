//! Networking step (seed 8 / 16), `move_smartconnect_to_target`: add the moved names as
//! SmartConnect aliases of the mapped target pool, so the target answers for them.

use serde_json::json;

use crate::exec::RunCtx;
use crate::plan::StepInstance;

use super::{StepDone, StepError};

pub async fn run(ctx: &RunCtx, inst: &StepInstance) -> Result<StepDone, StepError> {
    let tgt = ctx.target(inst)?;
    let naming = &ctx.plan.spec.options.naming;
    let mut added = Vec::new();
    for m in &ctx.zone_plan(inst)?.mappings {
        let pool = tgt.pool(&m.target_pool.id).await?.ok_or_else(|| {
            StepError(format!(
                "pool {} not found on {}",
                m.target_pool.id,
                tgt.cluster()
            ))
        })?;
        if m.reverse {
            // Failback: the target's own names were renamed `igls-original-…`; restore them.
            let orig = |n: &str| {
                n.strip_prefix(&naming.original_prefix)
                    .unwrap_or(n)
                    .to_string()
            };
            let zone = orig(&pool.sc_dns_zone);
            let aliases: Vec<String> = pool.sc_dns_zone_aliases.iter().map(|a| orig(a)).collect();
            if zone != pool.sc_dns_zone || aliases != pool.sc_dns_zone_aliases {
                tgt.update_pool(
                    &pool.id,
                    &json!({"sc_dns_zone": zone, "sc_dns_zone_aliases": aliases}),
                )
                .await?;
                added.push(format!("{}: names restored ({zone})", pool.id));
            }
            continue;
        }
        let mut aliases = pool.sc_dns_zone_aliases.clone();
        let mut changed = false;
        for n in m.names(naming) {
            if n != pool.sc_dns_zone && !aliases.iter().any(|a| a.eq_ignore_ascii_case(&n)) {
                aliases.push(n.clone());
                added.push(format!("{n} → {}", pool.id));
                changed = true;
            }
        }
        if changed {
            tgt.update_pool(&pool.id, &json!({"sc_dns_zone_aliases": aliases}))
                .await?;
        }
    }
    Ok(if added.is_empty() {
        StepDone::unchanged("target pools already carry the names")
    } else {
        StepDone::acted(added.join("; "))
    })
}
