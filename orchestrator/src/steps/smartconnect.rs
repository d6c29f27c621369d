//! What the SmartConnect steps (`rename_source_smartconnect`, `move_smartconnect_to_target`)
//! and their S3 undos share: reading a mapped pool, rewriting its zone name and aliases, and
//! writing them back only when they changed.

use serde_json::json;

use crate::ctx::{RunCtx, StepDone, StepError};
use crate::papi::{NetworkPool, PapiClient};
use crate::plan::StepInstance;
use crate::run_spec::Naming;

/// New names for one mapped pool: its aliases, its zone name when that changes too, and the
/// report lines saying what changed.
pub(super) struct NewNames {
    pub zone: Option<String>,
    pub aliases: Vec<String>,
    pub details: Vec<String>,
}

/// One mapped pool to rename, for the `rename` of [`rename_pools`].
pub(super) struct PoolEdit<'a> {
    /// A failback over a mapping configured in the other direction ([`NetMapping::reverse`]).
    pub reverse: bool,
    /// The pool as it is now.
    pub pool: &'a NetworkPool,
    /// The client-facing names the mapping moves ([`NetMapping::names`]).
    pub names: Vec<String>,
    pub naming: &'a Naming,
}

/// Which cluster's pools a SmartConnect step edits.
#[derive(Clone, Copy, PartialEq)]
pub(super) enum Side {
    Source,
    Target,
}

impl NewNames {
    /// New aliases only (the zone name stays), with one report line.
    pub fn aliases(aliases: Vec<String>, detail: String) -> Self {
        NewNames {
            zone: None,
            aliases,
            details: vec![detail],
        }
    }

    /// A new zone name and aliases, `(zone, aliases)`; `detail(zone)` is the report line.
    pub fn renamed(names: (String, Vec<String>), detail: impl FnOnce(&str) -> String) -> Self {
        let (zone, aliases) = names;
        NewNames {
            details: vec![detail(&zone)],
            zone: Some(zone),
            aliases,
        }
    }
}

/// For each pool mapping of `inst`'s zone: read the mapped pool on the `side` cluster, ask
/// `rename` for its new names and write them when they
/// differ. The step is done with the report lines of what changed (`nothing` when nothing
/// did).
pub(super) async fn rename_pools(
    ctx: &RunCtx,
    inst: &StepInstance,
    side: Side,
    nothing: &str,
    rename: impl Fn(PoolEdit<'_>) -> NewNames,
) -> Result<StepDone, StepError> {
    let client = match side {
        Side::Source => ctx.source(inst)?,
        Side::Target => ctx.target(inst)?,
    };
    let naming = &ctx.plan.spec.options.naming;
    let mut changes = Vec::new();
    for m in &ctx.zone_plan(inst)?.mappings {
        let mapped = match side {
            Side::Source => &m.source_pool,
            Side::Target => &m.target_pool,
        };
        let pool = pool(&client, &mapped.id).await?;
        let new = rename(PoolEdit {
            reverse: m.reverse,
            pool: &pool,
            names: m.names(naming),
            naming,
        });
        if set_names(&client, &pool, new.zone.as_deref(), &new.aliases).await? {
            changes.extend(new.details);
        }
    }
    Ok(StepDone::from_changes(&changes, "; ", nothing, |l| l))
}

/// The pool `id` on `client`'s cluster; an error naming both when it is not there.
pub(super) async fn pool(client: &PapiClient, id: &str) -> Result<NetworkPool, StepError> {
    client
        .pool(id)
        .await?
        .ok_or_else(|| StepError::Failed(format!("pool {id} not found on {}", client.cluster())))
}

/// The pool's zone name and aliases, each passed through `f`.
pub(super) fn mapped(pool: &NetworkPool, f: impl Fn(&str) -> String) -> (String, Vec<String>) {
    (
        f(&pool.sc_dns_zone),
        pool.sc_dns_zone_aliases.iter().map(|a| f(a)).collect(),
    )
}

/// The pool's zone name and aliases with each of `names` prefixed again.
pub(super) fn renamed_away(
    pool: &NetworkPool,
    names: &[String],
    prefix: &str,
) -> (String, Vec<String>) {
    mapped(pool, |n| {
        if names.iter().any(|x| x.eq_ignore_ascii_case(n)) {
            format!("{prefix}{n}")
        } else {
            n.to_string()
        }
    })
}

/// `list` without any of `names` (case-insensitive).
pub(super) fn without(list: &[String], names: &[String]) -> Vec<String> {
    list.iter()
        .filter(|a| !names.iter().any(|n| n.eq_ignore_ascii_case(a)))
        .cloned()
        .collect()
}

/// `list` with each of `names` that is neither `zone` nor in it already (case-insensitive).
pub(super) fn with(list: &[String], zone: &str, names: &[String]) -> Vec<String> {
    let mut out = list.to_vec();
    for n in names {
        if !n.eq_ignore_ascii_case(zone) && !out.iter().any(|a| a.eq_ignore_ascii_case(n)) {
            out.push(n.clone());
        }
    }
    out
}

/// Write the pool's aliases — and its zone name, when `zone` is given — if they differ from
/// what it has; whether anything was written.
pub(super) async fn set_names(
    client: &PapiClient,
    pool: &NetworkPool,
    zone: Option<&str>,
    aliases: &[String],
) -> Result<bool, StepError> {
    let zone_changed = zone.is_some_and(|z| z != pool.sc_dns_zone);
    if !zone_changed && aliases == pool.sc_dns_zone_aliases.as_slice() {
        return Ok(false);
    }
    let body = match zone {
        Some(z) => json!({"sc_dns_zone": z, "sc_dns_zone_aliases": aliases}),
        None => json!({"sc_dns_zone_aliases": aliases}),
    };
    client.update_pool(&pool.id, &body).await?;
    Ok(true)
}
