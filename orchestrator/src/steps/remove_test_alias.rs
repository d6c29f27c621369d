//! Rehearsal step `remove_test_alias[zone]`: the test alias comes off the mapped target
//! pools and its SPN off the target's machine account, before the target copies turn
//! read-only again (`allow_write_revert` waits for it). Runs whatever the verification
//! found: a rehearsal leaves no name behind.

use crate::ctx::{RunCtx, StepDone, StepError};
use crate::plan::StepInstance;

use super::smartconnect::{pool, set_names, without};
use super::test_alias::{aliases, edit_spns};

pub(crate) async fn run(ctx: &RunCtx, inst: &StepInstance) -> Result<StepDone, StepError> {
    let tgt = ctx.target(inst)?;
    let mut changes = Vec::new();
    let mut names = Vec::new();
    for (m, alias) in aliases(ctx, inst)? {
        let p = pool(&tgt, &m.target_pool.id).await?;
        let list = without(&p.sc_dns_zone_aliases, std::slice::from_ref(&alias));
        if set_names(&tgt, &p, None, &list).await? {
            changes.push(format!("{alias} removed from {}", p.id));
        }
        names.push(alias);
    }
    let (removed, account) = edit_spns(ctx, &tgt, &names, false).await?;
    if removed > 0 {
        changes.push(format!("removed {removed} SPN(s) from {account}"));
    }
    Ok(StepDone::from_changes(
        &changes,
        "; ",
        "no test alias on the target pools",
        |l| l,
    ))
}
