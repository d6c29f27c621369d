//! Networking step (seed 8 / 16), `move_smartconnect_to_target`: add the moved names as
//! SmartConnect aliases of the mapped target pool, so the target answers for them.

use crate::ctx::{RunCtx, StepDone, StepError};
use crate::plan::StepInstance;

use super::smartconnect::{mapped, rename_pools, with, NewNames, PoolEdit, Side};

pub(crate) async fn run(ctx: &RunCtx, inst: &StepInstance) -> Result<StepDone, StepError> {
    let nothing = "target pools already carry the names";
    rename_pools(ctx, inst, Side::Target, nothing, |e: PoolEdit| {
        let prefix = &e.naming.original_prefix;
        if e.reverse {
            // Failback: the target's own names were renamed `igls-original-…`; restore them.
            let restored = mapped(e.pool, |n| n.strip_prefix(prefix).unwrap_or(n).to_string());
            return NewNames::renamed(restored, |z| format!("{}: names restored ({z})", e.pool.id));
        }
        let zone = &e.pool.sc_dns_zone;
        let moved: Vec<String> = e.names.into_iter().filter(|n| n != zone).collect();
        let before = &e.pool.sc_dns_zone_aliases;
        let aliases = with(before, "", &moved);
        let details = aliases[before.len()..]
            .iter()
            .map(|n| format!("{n} → {}", e.pool.id))
            .collect();
        NewNames {
            zone: None,
            aliases,
            details,
        }
    })
    .await
}
