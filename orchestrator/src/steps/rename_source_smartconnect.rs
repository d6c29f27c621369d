//! Networking step (seed 6 / 14), `rename_source_smartconnect`: rename the source pools'
//! SmartConnect zone names and aliases to `igls-original-<name>`, so the source stops
//! answering for them (with dual delegation that alone moves the names away from it).

use crate::ctx::{RunCtx, StepDone, StepError};
use crate::plan::StepInstance;

use super::smartconnect::{mapped, rename_pools, without, NewNames, PoolEdit, Side};

pub(crate) async fn run(ctx: &RunCtx, inst: &StepInstance) -> Result<StepDone, StepError> {
    let nothing = "source names already renamed";
    rename_pools(ctx, inst, Side::Source, nothing, |e: PoolEdit| {
        let (pool, prefix) = (e.pool, &e.naming.original_prefix);
        if e.reverse {
            // Failback: the source carries the moved names as aliases; take them off.
            let detail = format!("{}: aliases {} removed", pool.id, e.names.join(", "));
            return NewNames::aliases(without(&pool.sc_dns_zone_aliases, &e.names), detail);
        }
        let renamed = mapped(pool, |n| {
            if n.is_empty() || n.starts_with(prefix) || n.starts_with(&e.naming.ignore_prefix) {
                n.to_string()
            } else {
                format!("{prefix}{n}")
            }
        });
        NewNames::renamed(renamed, |z| {
            format!("{}: {} → {z}", pool.id, pool.sc_dns_zone)
        })
    })
    .await
}
