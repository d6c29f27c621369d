//! Rehearsal step `add_test_alias[zone]`: the test alias goes onto each mapped target pool
//! as a SmartConnect alias, and its `HOST/` SPN onto the target's machine account, so test
//! clients can reach the target copy by a name no production client uses (see
//! `test_alias.rs`). Idempotent: what is there already is left alone.

use crate::ctx::{RunCtx, StepDone, StepError};
use crate::plan::StepInstance;

use super::smartconnect::{pool, set_names, with};
use super::test_alias::{aliases, edit_spns};

pub(crate) async fn run(ctx: &RunCtx, inst: &StepInstance) -> Result<StepDone, StepError> {
    let tgt = ctx.target(inst)?;
    let mut changes = Vec::new();
    let mut names = Vec::new();
    for (m, alias) in aliases(ctx, inst)? {
        let p = pool(&tgt, &m.target_pool.id).await?;
        let list = with(
            &p.sc_dns_zone_aliases,
            &p.sc_dns_zone,
            std::slice::from_ref(&alias),
        );
        if set_names(&tgt, &p, None, &list).await? {
            changes.push(format!("{alias} → {}", p.id));
        }
        names.push(alias);
    }
    let (added, account) = edit_spns(ctx, &tgt, &names, true).await?;
    if added > 0 {
        changes.push(format!("added {added} SPN(s) to {account}"));
    }
    Ok(StepDone::from_changes(
        &changes,
        "; ",
        "the target pools already carry the test alias",
        |l| l,
    ))
}
