//! S3 undo `rollback_rename_source_smartconnect[zone]`: the source pools get their zone names
//! and aliases back. See `rollback_networking.rs` for the order.

use crate::ctx::{RunCtx, StepDone, StepError};
use crate::plan::StepInstance;

use super::smartconnect::{mapped, rename_pools, with, NewNames, PoolEdit, Side};

/// Give the source pools their zone names and aliases back (strip `igls-original-` from the
/// moved names; a failback's source gets the names back as aliases).
pub(crate) async fn run(ctx: &RunCtx, inst: &StepInstance) -> Result<StepDone, StepError> {
    let nothing = "source pools already carry their names";
    rename_pools(ctx, inst, Side::Source, nothing, |e: PoolEdit| {
        let (pool, names) = (e.pool, &e.names);
        if e.reverse {
            let detail = format!("{}: aliases {} back", pool.id, names.join(", "));
            return NewNames::aliases(
                with(&pool.sc_dns_zone_aliases, &pool.sc_dns_zone, names),
                detail,
            );
        }
        let restored = mapped(pool, |n| match n.strip_prefix(&e.naming.original_prefix) {
            Some(o) if names.iter().any(|x| x.eq_ignore_ascii_case(o)) => o.to_string(),
            _ => n.to_string(),
        });
        NewNames::renamed(restored, |z| format!("{}: names restored ({z})", pool.id))
    })
    .await
}
