//! S3 undo `rollback_move_smartconnect_to_target[zone]`: the moved names come off the target
//! pools' aliases. See `rollback_networking.rs` for the order.

use crate::ctx::{RunCtx, StepDone, StepError};
use crate::plan::StepInstance;

use super::smartconnect::{rename_pools, renamed_away, without, NewNames, PoolEdit, Side};

/// Take the moved names off the mapped target pools' aliases (a failback's forward step
/// restored the target pool's own names instead: those are renamed away again).
pub(crate) async fn run(ctx: &RunCtx, inst: &StepInstance) -> Result<StepDone, StepError> {
    let nothing = "target pools carry none of the moved names";
    rename_pools(ctx, inst, Side::Target, nothing, |e: PoolEdit| {
        let pool = e.pool;
        if e.reverse {
            let away = renamed_away(pool, &e.names, &e.naming.original_prefix);
            return NewNames::renamed(away, |_| format!("{}: names renamed away again", pool.id));
        }
        let detail = format!("{}: {} removed", pool.id, e.names.join(", "));
        NewNames::aliases(without(&pool.sc_dns_zone_aliases, &e.names), detail)
    })
    .await
}
