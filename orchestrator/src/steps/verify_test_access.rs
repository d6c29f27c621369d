//! Rehearsal step `verify_test_access[zone]`: prove what the test clients need, with the
//! same reads a client's path takes — the test alias is on each mapped target pool, DNS
//! resolves it to that pool's addresses, the target's machine account carries the alias's
//! `HOST/` SPN (without it SMB test clients cannot authenticate with Kerberos, so a failed
//! or partial `add_test_alias` is never reported as verified), and for each zone policy the
//! target copy is
//! `writes_enabled` with an SMB share or NFS export over it on the target. It fails when
//! the alias does not lead to the target or no zone policy's copy is usable by test
//! clients; the details name each policy's result (a policy whose allow-write failed is
//! named, not hidden). Then it holds the test window open (`test_window_ms`) for the test
//! clients before the alias goes and the copies are reverted.

use crate::ctx::{RunCtx, StepDone, StepError};
use crate::naming::path_under;
use crate::plan::StepInstance;

use super::shares_under;
use super::smartconnect::pool;
use super::spns::{provider, same};
use super::test_alias::{aliases, spn_of};

pub(crate) async fn run(ctx: &RunCtx, inst: &StepInstance) -> Result<StepDone, StepError> {
    let tgt = ctx.target(inst)?;
    let to = &ctx.plan.spec.to;
    let dns = ctx.dns_client("resolve the rehearsal's test alias")?;
    let mut details = Vec::new();
    let mut spns_wanted = Vec::new();
    for (m, alias) in aliases(ctx, inst)? {
        let p = pool(&tgt, &m.target_pool.id).await?;
        if !p
            .sc_dns_zone_aliases
            .iter()
            .any(|a| a.eq_ignore_ascii_case(&alias))
        {
            return Err(StepError::Failed(format!(
                "target pool {} does not carry the test alias {alias}",
                p.id
            )));
        }
        let addrs = dns
            .a_records(&alias)
            .await
            .map_err(|e| StepError::Failed(format!("resolving test alias {alias}: {e}")))?;
        if addrs.is_empty() {
            return Err(StepError::Failed(format!(
                "test alias {alias} does not resolve (is {} delegated to {}'s SmartConnect service IP?)",
                m.target_pool.sc_dns_zone, to
            )));
        }
        if let Some(a) = addrs.iter().find(|a| !m.target_pool.has_addr(**a)) {
            return Err(StepError::Failed(format!(
                "test alias {alias} resolves to {a}, not an address of target pool {}",
                p.id
            )));
        }
        details.push(format!("{alias} → {}", addrs[0]));
        spns_wanted.push(spn_of(&alias));
    }
    if !spns_wanted.is_empty() {
        let ads = provider(&tgt).await?;
        if let Some(missing) = spns_wanted
            .iter()
            .find(|w| !ads.spns.iter().any(|s| same(s, w)))
        {
            return Err(StepError::Failed(format!(
                "{missing} is not registered on {}'s machine account {}: SMB test clients could not authenticate through the test alias",
                to, ads.machine_account
            )));
        }
    }
    let zone = ctx.zone_plan(inst)?;
    let mut usable = 0;
    for name in &zone.policies {
        let Some(p) = ctx.plan.policies.iter().find(|x| &x.name == name) else {
            continue;
        };
        let state = tgt
            .get_target_policy(name)
            .await?
            .map(|t| t.failover_failback_state)
            .unwrap_or_else(|| "missing".into());
        if state != "writes_enabled" {
            details.push(format!("{name}: target copy not writable ({state})"));
            continue;
        }
        let paths = std::slice::from_ref(&p.target_path);
        let shares = shares_under(ctx, &tgt, to, paths).await?.len();
        let mut exports = 0;
        for z in ctx.inventory.zones.get(to).into_iter().flatten() {
            exports += tgt
                .nfs_exports(&z.name)
                .await?
                .iter()
                .filter(|e| e.paths.iter().any(|x| path_under(x, &p.target_path)))
                .count();
        }
        if shares + exports == 0 {
            details.push(format!(
                "{name}: writable, but no share or export over {} on {to}",
                p.target_path
            ));
            continue;
        }
        usable += 1;
        details.push(format!(
            "{name}: writable, {shares} share(s), {exports} export(s)"
        ));
    }
    if usable == 0 {
        return Err(StepError::Failed(format!(
            "no target copy of zone {} is usable by test clients: {}",
            zone.name,
            details.join("; ")
        )));
    }
    // The test window: test clients work against the writable copies through the alias.
    let window_ms = ctx.plan.spec.options.test_window_ms;
    if window_ms > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(window_ms)).await;
        details.push(format!("test window held {} s", window_ms / 1000));
    }
    Ok(StepDone::unchanged(details.join("; ")))
}
