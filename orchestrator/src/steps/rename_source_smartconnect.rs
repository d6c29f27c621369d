//! Networking step (seed 6 / 14), `rename_source_smartconnect`: rename the source pools'
//! SmartConnect zone names and aliases to `igls-original-<name>`, so the source stops
//! answering for them (with dual delegation that alone moves the names away from it).

use serde_json::json;

use crate::exec::RunCtx;
use crate::plan::StepInstance;

use super::{StepDone, StepError};

pub async fn run(ctx: &RunCtx, inst: &StepInstance) -> Result<StepDone, StepError> {
    let src = ctx.source(inst)?;
    let naming = &ctx.plan.spec.options.naming;
    let mut renamed = Vec::new();
    for m in ctx.zone_plan(inst)?.mappings.iter() {
        let pool = src.pool(&m.source_pool.id).await?.ok_or_else(|| {
            StepError(format!(
                "pool {} not found on {}",
                m.source_pool.id,
                src.cluster()
            ))
        })?;
        if m.reverse {
            // Failback: the source carries the moved names as aliases; take them off.
            let names = m.names(naming);
            let aliases: Vec<String> = pool
                .sc_dns_zone_aliases
                .iter()
                .filter(|a| !names.iter().any(|n| n.eq_ignore_ascii_case(a)))
                .cloned()
                .collect();
            if aliases != pool.sc_dns_zone_aliases {
                src.update_pool(&pool.id, &json!({"sc_dns_zone_aliases": aliases}))
                    .await?;
                renamed.push(format!("{}: aliases {} removed", pool.id, names.join(", ")));
            }
            continue;
        }
        let rename = |n: &str| {
            if n.is_empty()
                || n.starts_with(&naming.original_prefix)
                || n.starts_with(&naming.ignore_prefix)
            {
                n.to_string()
            } else {
                format!("{}{n}", naming.original_prefix)
            }
        };
        let zone = rename(&pool.sc_dns_zone);
        let aliases: Vec<String> = pool.sc_dns_zone_aliases.iter().map(|a| rename(a)).collect();
        if zone == pool.sc_dns_zone && aliases == pool.sc_dns_zone_aliases {
            continue;
        }
        src.update_pool(
            &pool.id,
            &json!({"sc_dns_zone": zone, "sc_dns_zone_aliases": aliases}),
        )
        .await?;
        renamed.push(format!("{}: {} → {zone}", pool.id, pool.sc_dns_zone));
    }
    Ok(if renamed.is_empty() {
        StepDone::unchanged("source names already renamed")
    } else {
        StepDone::acted(renamed.join("; "))
    })
}
