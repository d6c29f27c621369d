//! `auth/providers/ads[/{id}]`: the cluster's Active Directory provider (a singleton; SPNs
//! live in the world's `sim_ad_dns::Domain`, and a PUT of `spns` replaces the whole list).
//!
//! `GET`/`PUT /auth/providers/ads/{id}?account=<machine account>` read and edit another
//! machine account's SPNs through this cluster's domain connection, as OneFS's
//! `isi auth ads spn list|create|delete --account` does (the cluster's own account when the
//! argument is absent). That is how a DR tool takes a dead cluster's SPNs off its account
//! "proxied through" the surviving cluster.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{json, Map, Value};

use super::super::collection::{cfg, cfg_mut, params, PathR};
use super::super::objects::{audit, list_paged, list_query, render, str_field, validate, QueryR};
use super::super::{
    created, json_object, no_content, single_envelope, ApiError, ApiResult, ApiState, Caller,
};
use crate::config::ConfigState;

fn ad_unavailable(msg: impl std::fmt::Display) -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        format!("Active Directory is unavailable: {msg}"),
    )
}

fn ad_error(e: sim_ad_dns::AdError) -> ApiError {
    match e {
        sim_ad_dns::AdError::Unreachable { .. } => ad_unavailable(e),
        sim_ad_dns::AdError::NoSuchAccount { .. } => ApiError::not_found(e.to_string()),
        other => ApiError::bad_request(format!("Field: spns: {other}")),
    }
}

fn ads_matches(o: &Map<String, Value>, id: &str) -> bool {
    str_field(o, "name").is_some_and(|n| n.eq_ignore_ascii_case(id))
}

/// The provider named `id` (case-insensitively).
fn find_ads(c: &ConfigState, id: &str) -> Result<Map<String, Value>, ApiError> {
    c.ads
        .clone()
        .filter(|o| ads_matches(o, id))
        .ok_or_else(|| ApiError::not_found(format!("AD provider {id} not found")))
}

/// The provider JSON, reading SPNs from the domain.
fn ads_json(
    w: &crate::model::WorldState,
    cluster: &str,
    o: &Map<String, Value>,
    check_dups: bool,
) -> Result<Value, ApiError> {
    let d = w.ad.as_ref().ok_or_else(|| ad_unavailable("no domain"))?;
    let account = str_field(o, "account").unwrap_or(cluster).to_string();
    let spns = d.spns(&account).map_err(ad_error)?;
    let c = w
        .cluster(cluster)
        .ok_or_else(|| ApiError::not_found("cluster"))?;
    let domain = d.name.to_ascii_lowercase();
    let host = cluster.to_ascii_lowercase();
    let mut rec = vec![format!("HOST/{host}"), format!("HOST/{host}.{domain}")];
    for p in c.cfg.pools.values() {
        for n in ConfigState::pool_names(p) {
            rec.extend(sim_ad_dns::smartconnect_spns(&n));
        }
    }
    rec.sort();
    rec.dedup();
    let mut extra = Map::new();
    if check_dups {
        let mut dups: Vec<String> = spns
            .iter()
            .chain(rec.iter())
            .filter(|s| {
                d.owners(s)
                    .iter()
                    .any(|a| !a.eq_ignore_ascii_case(&account))
            })
            .cloned()
            .collect();
        dups.sort();
        dups.dedup();
        extra.insert("dup_spns".into(), json!(dups));
    }
    let name = str_field(o, "name").unwrap_or_default();
    let mut shown = o.clone();
    shown.remove("account");
    let mut computed = json!({
        "id": name, "name": name, "spns": spns, "recommended_spns": rec,
        "status": "online", "primary_domain": name, "forest": name.to_ascii_lowercase(),
        "hostname": format!("{host}.{domain}"), "netbios_domain": name.split('.').next().unwrap_or("AD").chars().take(15).collect::<String>(),
        "site": "Default-First-Site-Name", "groupnet": "groupnet0", "zone_name": "System",
    });
    if let Value::Object(cm) = &mut computed {
        cm.extend(extra);
    }
    Ok(render("ads", &shown, computed))
}

pub(in super::super) async fn ads_list(State(st): State<ApiState>, q: QueryR) -> ApiResult {
    let (q, off) = list_query(q)?;
    let dups = q.get("check_duplicates").is_some_and(|v| v == "true");
    st.sim.with_world_read(|w| {
        let o = cfg(w, &st)?.ads.clone();
        let items = match o {
            Some(o) => vec![ads_json(w, &st.cluster, &o, dups)?],
            None => vec![],
        };
        list_paged("ads", items, &q, off)
    })
}

pub(in super::super) async fn ads_get(
    State(st): State<ApiState>,
    p: PathR,
    q: QueryR,
) -> ApiResult {
    let id = params(p)?.remove("id").unwrap_or_default();
    let (q, _) = list_query(q)?;
    let dups = q.get("check_duplicates").is_some_and(|v| v == "true");
    st.sim.with_world_read(|w| {
        let mut o = find_ads(cfg(w, &st)?, &id)?;
        if let Some(a) = other_account(&q)? {
            o.insert("account".into(), json!(a));
            o.insert(
                "machine_account".into(),
                json!(format!("{}$", a.to_ascii_uppercase())),
            );
        }
        Ok(single_envelope("ads", ads_json(w, &st.cluster, &o, dups)?))
    })
}

/// The `account` query argument: a machine account (`NAME` or `NAME$`) to act on instead
/// of the cluster's own.
fn other_account(
    q: &std::collections::BTreeMap<String, String>,
) -> Result<Option<String>, ApiError> {
    match q.get("account").map(|a| a.trim().trim_end_matches('$')) {
        None => Ok(None),
        Some("") => Err(ApiError::bad_request("Query argument account is empty")),
        Some(a) => Ok(Some(a.to_ascii_lowercase())),
    }
}

const ADS_RO: &[&str] = &[
    "id",
    "recommended_spns",
    "dup_spns",
    "status",
    "primary_domain",
    "forest",
    "hostname",
    "netbios_domain",
    "system",
    "zone_name",
];

pub(in super::super) async fn ads_update(
    Caller { st, ctx }: Caller,
    p: PathR,
    q: QueryR,
    b: Bytes,
) -> ApiResult {
    let id = params(p)?.remove("id").unwrap_or_default();
    let (q, _) = list_query(q)?;
    let other = other_account(&q)?;
    let m = json_object(&b)?;
    if other.is_some() && m.keys().any(|k| k != "spns") {
        return Err(ApiError::bad_request(
            "Query argument account is valid only for an spns update",
        ));
    }
    validate("ads", &m, &[], ADS_RO, &[])?;
    if m.contains_key("name") {
        return Err(ApiError::bad_request("Field: name may not be changed"));
    }
    st.sim.with_world(|w| {
        let o = find_ads(cfg(w, &st)?, &id)?;
        let own = str_field(&o, "account").unwrap_or(&st.cluster).to_string();
        let account = other.clone().unwrap_or(own);
        let d = w.ad.as_mut().ok_or_else(|| ad_unavailable("no domain"))?;
        let mut detail = Value::Null;
        if let Some(Value::Array(a)) = m.get("spns") {
            let new: Vec<String> = a
                .iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect();
            let old = d.spns(&account).map_err(ad_error)?;
            d.set_spns(&account, new.clone()).map_err(ad_error)?;
            let added: Vec<&String> = new.iter().filter(|s| !old.contains(s)).collect();
            let removed: Vec<&String> = old.iter().filter(|s| !new.contains(s)).collect();
            detail = json!({"account": account, "added": added, "removed": removed});
        } else if !d.reachable {
            return Err(ad_unavailable(format!("domain {} is unreachable", d.name)));
        }
        if other.is_some() {
            audit(w, &st, &ctx, "ad.spns.update", &id, detail);
            return Ok(no_content());
        }
        let mut o2 = o;
        for (k, v) in &m {
            if !matches!(k.as_str(), "spns" | "password" | "user") {
                o2.insert(k.clone(), v.clone());
            }
        }
        cfg_mut(w, &st)?.ads = Some(o2);
        if m.contains_key("spns") {
            audit(w, &st, &ctx, "ad.spns.update", &id, detail);
        } else {
            audit(w, &st, &ctx, "ad.provider.update", &id, Value::Null);
        }
        Ok(no_content())
    })
}

pub(in super::super) async fn ads_create(Caller { st, ctx }: Caller, body: Bytes) -> ApiResult {
    let m = json_object(&body)?;
    validate("ads", &m, &["name", "user", "password"], ADS_RO, &[])?;
    let name = str_field(&m, "name").unwrap_or_default().to_string();
    st.sim.with_world(|w| {
        if cfg(w, &st)?.ads.is_some() {
            return Err(ApiError::conflict(
                "The cluster is already joined to a domain",
            ));
        }
        let d = w.ad.as_mut().ok_or_else(|| ad_unavailable("no domain"))?;
        if !d.reachable {
            return Err(ad_unavailable(format!("domain {} is unreachable", d.name)));
        }
        if !d.name.eq_ignore_ascii_case(&name) {
            return Err(ApiError::bad_request(format!(
                "Field: name: domain {name} cannot be found"
            )));
        }
        let account = str_field(&m, "machine_account")
            .map(|a| a.trim_end_matches('$').to_string())
            .unwrap_or_else(|| st.cluster.to_string());
        if d.account(&account).is_err() {
            d.add_account(&account).map_err(ad_error)?;
        }
        let o = json!({"name": name.to_ascii_uppercase(),
                       "machine_account": format!("{}$", account.to_ascii_uppercase()),
                       "account": account});
        cfg_mut(w, &st)?.ads = o.as_object().cloned();
        audit(w, &st, &ctx, "ad.provider.create", &name, Value::Null);
        Ok(created(&name.to_ascii_uppercase()))
    })
}

pub(in super::super) async fn ads_delete(Caller { st, ctx }: Caller, p: PathR) -> ApiResult {
    let id = params(p)?.remove("id").unwrap_or_default();
    st.sim.with_world(|w| {
        let c = cfg_mut(w, &st)?;
        if !c.ads.as_ref().is_some_and(|o| ads_matches(o, &id)) {
            return Err(ApiError::not_found(format!("AD provider {id} not found")));
        }
        c.ads = None;
        audit(w, &st, &ctx, "ad.provider.delete", &id, Value::Null);
        Ok(no_content())
    })
}
