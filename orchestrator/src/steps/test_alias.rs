//! What a rehearsal's test-alias steps (`add_test_alias`, `verify_test_access`,
//! `remove_test_alias`) share: the test alias of each mapped target pool and its SPN.
//!
//! The test alias is `<test_prefix><target pool's own SmartConnect zone>`
//! (`igls-test.eng-dr.corp.example`): a name below the target pool's own delegation, so it
//! resolves to the target whether the production names are dual- or single-delegated, and
//! never a production name (S2: production clients keep reaching the source). Only its
//! fully qualified `HOST/` SPN is registered: a short `HOST/igls-test` would be one name for
//! every zone.

use crate::ctx::{RunCtx, StepError};
use crate::naming::strip_prefix;
use crate::papi::PapiClient;
use crate::plan::{NetMapping, StepInstance};

use super::spns::{provider, same};

/// The test alias of one mapping's target pool.
pub(super) fn alias_of(ctx: &RunCtx, m: &NetMapping) -> Result<String, StepError> {
    let naming = &ctx.plan.spec.options.naming;
    let own = strip_prefix(&m.target_pool.sc_dns_zone, &naming.original_prefix);
    if own.is_empty() {
        return Err(StepError::Failed(format!(
            "target pool {} has no SmartConnect zone name to put a test alias under",
            m.target_pool.id
        )));
    }
    Ok(format!("{}{own}", naming.test_prefix).to_ascii_lowercase())
}

/// `(mapping, test alias)` for every mapping of `inst`'s zone.
pub(super) fn aliases<'a>(
    ctx: &'a RunCtx,
    inst: &StepInstance,
) -> Result<Vec<(&'a NetMapping, String)>, StepError> {
    ctx.zone_plan(inst)?
        .mappings
        .iter()
        .map(|m| Ok((m, alias_of(ctx, m)?)))
        .collect()
}

/// The SPN of a test alias.
pub(super) fn spn_of(alias: &str) -> String {
    format!("HOST/{alias}")
}

/// Add (`add`) or remove the SPNs of `aliases` on the target's machine account, under the
/// run's SPN edit lock. Adding refuses an SPN another account holds (a duplicate breaks
/// Kerberos for that name). Returns the number changed and the account.
pub(super) async fn edit_spns(
    ctx: &RunCtx,
    tgt: &PapiClient,
    aliases: &[String],
    add: bool,
) -> Result<(usize, String), StepError> {
    let wanted: Vec<String> = aliases.iter().map(|a| spn_of(a)).collect();
    let _edit = ctx.spn_edit.lock().await;
    if add {
        let dups: Vec<String> = tgt
            .ads_providers_checked()
            .await?
            .into_iter()
            .flat_map(|a| a.dup_spns)
            .filter(|d| wanted.iter().any(|w| same(w, d)))
            .collect();
        if !dups.is_empty() {
            return Err(StepError::Failed(format!(
                "{} held by another machine account; not registering the test alias on {}",
                dups.join(", "),
                tgt.cluster()
            )));
        }
    }
    let ads = provider(tgt).await?;
    let list: Vec<String> = if add {
        let mut l = ads.spns.clone();
        for w in &wanted {
            if !l.iter().any(|x| same(x, w)) {
                l.push(w.clone());
            }
        }
        l
    } else {
        ads.spns
            .iter()
            .filter(|s| !wanted.iter().any(|w| same(w, s)))
            .cloned()
            .collect()
    };
    let changed = list.len().abs_diff(ads.spns.len());
    if changed > 0 {
        tgt.set_ads_spns(ads.key(), &list).await?;
    }
    Ok((changed, ads.machine_account))
}
