//! `zones`, `network/groupnets[/subnets[/pools]]`, flat `network/pools`, and
//! `auth/providers/ads` (SPNs live in the world's `sim_ad_dns::Domain`).

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::State;
use axum::Extension;
use serde_json::{json, Map, Value};

use super::objects::{
    audit, check_query, list_paged, list_query, query_bool, render, sort_items, str_field,
    validate, QueryR,
};
use super::protocols::{cfg, cfg_mut, params, PathR};
use super::*;
use crate::config::{ConfigState, KEY_SEP};

// ------------------------------------------------------------------------- zones

fn zone_json(name: &str, o: &Map<String, Value>) -> Value {
    render(
        "zone",
        o,
        json!({"id": name, "name": name, "system": name == "System"}),
    )
}

const ZONE_RO: &[&str] = &["id", "zone_id", "system"];

pub(super) async fn zone_list(State(st): State<ApiState>, q: QueryR) -> ApiResult {
    let (q, off) = list_query(q)?;
    st.sim.with_world(|w| {
        let c = cfg(w, &st)?;
        let items = c.zones.iter().map(|(n, o)| zone_json(n, o)).collect();
        list_paged("zones", items, &q, off)
    })
}

pub(super) async fn zone_get(State(st): State<ApiState>, p: PathR) -> ApiResult {
    let id = params(p)?.remove("id").unwrap_or_default();
    st.sim.with_world(|w| {
        let c = cfg(w, &st)?;
        let n = c
            .zone_name(&id)
            .ok_or_else(|| ApiError::not_found(format!("Zone {id} not found")))?;
        Ok(single_envelope("zones", zone_json(&n, &c.zones[&n])))
    })
}

pub(super) async fn zone_create(
    State(st): State<ApiState>,
    Extension(ctx): Extension<ReqCtx>,
    body: Bytes,
) -> ApiResult {
    let m = json_object(&body)?;
    validate("zone", &m, &["name", "path"], ZONE_RO, &["path"])?;
    let name = str_field(&m, "name").unwrap_or_default().to_string();
    if name.is_empty() || name.contains(KEY_SEP) || name.contains('/') {
        return Err(ApiError::bad_request("Field: name: invalid zone name"));
    }
    st.sim.with_world(|w| {
        if cfg(w, &st)?.zones.contains_key(&name) {
            return Err(ApiError::conflict(format!("Zone {name} already exists")));
        }
        let c = cfg_mut(w, &st)?;
        let path = str_field(&m, "path").unwrap_or_default().to_string();
        let id = c.add_zone(&name, &path);
        let z = c.zones.get_mut(&name).expect("added");
        for (k, v) in &m {
            if k != "create_path" && k != "force_overlap" {
                z.insert(k.clone(), v.clone());
            }
        }
        audit(w, &st, &ctx, "zone.create", &name, Value::Object(m));
        Ok((StatusCode::CREATED, Json(json!({"id": id.to_string()}))).into_response())
    })
}

pub(super) async fn zone_update(
    State(st): State<ApiState>,
    Extension(ctx): Extension<ReqCtx>,
    p: PathR,
    body: Bytes,
) -> ApiResult {
    let id = params(p)?.remove("id").unwrap_or_default();
    let m = json_object(&body)?;
    validate("zone", &m, &[], ZONE_RO, &["path"])?;
    st.sim.with_world(|w| {
        let c = cfg(w, &st)?;
        let n = c
            .zone_name(&id)
            .ok_or_else(|| ApiError::not_found(format!("Zone {id} not found")))?;
        if let Some(new) = str_field(&m, "name") {
            if n == "System" && new != "System" {
                return Err(ApiError::bad_request(
                    "Field: name: the System zone cannot be renamed",
                ));
            }
            if new != n && c.zones.contains_key(new) {
                return Err(ApiError::conflict(format!("Zone {new} already exists")));
            }
            if new.is_empty() || new.contains(KEY_SEP) || new.contains('/') {
                return Err(ApiError::bad_request("Field: name: invalid zone name"));
            }
        }
        if n == "System" && str_field(&m, "path").is_some_and(|p| p != "/ifs") {
            return Err(ApiError::bad_request(
                "Field: path: the System zone's base path is /ifs",
            ));
        }
        let c = cfg_mut(w, &st)?;
        let mut z = c.zones.remove(&n).expect("exists");
        for (k, v) in &m {
            z.insert(k.clone(), v.clone());
        }
        let new = str_field(&z, "name").unwrap_or(&n).to_string();
        if new != n {
            rename_zone_refs(c, &n, &new);
        }
        c.zones.insert(new, z);
        audit(w, &st, &ctx, "zone.update", &n, Value::Object(m));
        Ok(no_content())
    })
}

fn rename_zone_refs(c: &mut ConfigState, old: &str, new: &str) {
    for p in c.pools.values_mut() {
        if str_field(p, "access_zone") == Some(old) {
            p.insert("access_zone".into(), json!(new));
        }
    }
    let prefix = format!("{old}{KEY_SEP}");
    for map in [&mut c.smb_shares, &mut c.nfs_aliases] {
        let keys: Vec<String> = map
            .keys()
            .filter(|k| k.starts_with(&prefix))
            .cloned()
            .collect();
        for k in keys {
            if let Some(o) = map.remove(&k) {
                map.insert(format!("{new}{KEY_SEP}{}", &k[prefix.len()..]), o);
            }
        }
    }
    for e in c.nfs_exports.values_mut() {
        if str_field(e, "zone") == Some(old) {
            e.insert("zone".into(), json!(new));
        }
    }
}

pub(super) async fn zone_delete(
    State(st): State<ApiState>,
    Extension(ctx): Extension<ReqCtx>,
    p: PathR,
) -> ApiResult {
    let id = params(p)?.remove("id").unwrap_or_default();
    st.sim.with_world(|w| {
        let c = cfg(w, &st)?;
        let n = c
            .zone_name(&id)
            .ok_or_else(|| ApiError::not_found(format!("Zone {id} not found")))?;
        if n == "System" {
            return Err(ApiError::bad_request("The System zone cannot be deleted"));
        }
        if let Some((k, _)) = c
            .pools
            .iter()
            .find(|(_, p)| str_field(p, "access_zone") == Some(n.as_str()))
        {
            return Err(ApiError::conflict(format!(
                "Zone {n} is in use by network pool {k}"
            )));
        }
        let c = cfg_mut(w, &st)?;
        c.zones.remove(&n);
        let prefix = format!("{n}{KEY_SEP}");
        c.smb_shares.retain(|k, _| !k.starts_with(&prefix));
        c.nfs_aliases.retain(|k, _| !k.starts_with(&prefix));
        c.nfs_exports
            .retain(|_, e| str_field(e, "zone") != Some(n.as_str()));
        audit(w, &st, &ctx, "zone.delete", &n, Value::Null);
        Ok(no_content())
    })
}

// ------------------------------------------------------------------------- network

fn groupnet_json(c: &ConfigState, name: &str, o: &Map<String, Value>) -> Value {
    let subnets: Vec<&str> = c
        .subnets
        .values()
        .filter(|s| str_field(s, "groupnet") == Some(name))
        .filter_map(|s| str_field(s, "name"))
        .collect();
    render(
        "groupnet",
        o,
        json!({"id": name, "name": name, "subnets": subnets}),
    )
}

fn subnet_json(c: &ConfigState, key: &str, o: &Map<String, Value>) -> Value {
    let pools: Vec<&str> = c
        .pools
        .iter()
        .filter(|(k, _)| k.starts_with(&format!("{key}.")))
        .filter_map(|(_, p)| str_field(p, "name"))
        .collect();
    render("subnet", o, json!({"id": key, "pools": pools}))
}

fn pool_json(key: &str, o: &Map<String, Value>) -> Value {
    render("pool", o, json!({"id": key}))
}

fn dns_name_ok(s: &str) -> bool {
    s.is_empty()
        || (s.len() <= 2048
            && s.split('.').next().is_some_and(|l| !l.is_empty())
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.'))
}

fn check_net_name(m: &Map<String, Value>) -> Result<(), ApiError> {
    if let Some(n) = str_field(m, "name") {
        if n.is_empty()
            || n.len() > 32
            || !n
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(ApiError::bad_request(format!(
                "Field: name: `{n}` must be 1-32 characters of [0-9a-zA-Z_-]"
            )));
        }
    }
    Ok(())
}

fn check_ranges(m: &Map<String, Value>, field: &str) -> Result<(), ApiError> {
    let Some(v) = m.get(field) else {
        return Ok(());
    };
    let bad = || {
        ApiError::bad_request(format!(
            "Field: {field} must be a list of {{low, high}} IPv4 address ranges"
        ))
    };
    for r in v.as_array().ok_or_else(bad)? {
        let o = r.as_object().ok_or_else(bad)?;
        let ip = |k: &str| {
            str_field(o, k)
                .and_then(|s| s.parse::<std::net::Ipv4Addr>().ok())
                .ok_or_else(bad)
        };
        if u32::from(ip("low")?) > u32::from(ip("high")?) {
            return Err(ApiError::bad_request(format!(
                "Field: {field}: low must not be above high"
            )));
        }
    }
    Ok(())
}

fn check_pool(c: &ConfigState, m: &Map<String, Value>) -> Result<(), ApiError> {
    check_net_name(m)?;
    check_ranges(m, "ranges")?;
    if let Some(z) = str_field(m, "access_zone") {
        if !c.zones.contains_key(z) {
            return Err(ApiError::bad_request(format!(
                "Field: access_zone: zone `{z}` does not exist"
            )));
        }
    }
    if let Some(z) = str_field(m, "sc_dns_zone") {
        if !dns_name_ok(z) {
            return Err(ApiError::bad_request(format!(
                "Field: sc_dns_zone: `{z}` is not a valid DNS name"
            )));
        }
    }
    if let Some(Value::Array(a)) = m.get("sc_dns_zone_aliases") {
        for x in a {
            if !x.as_str().is_some_and(|s| !s.is_empty() && dns_name_ok(s)) {
                return Err(ApiError::bad_request(format!(
                    "Field: sc_dns_zone_aliases: {x} is not a valid DNS name"
                )));
            }
        }
    }
    Ok(())
}

fn int_in(m: &Map<String, Value>, f: &str, lo: u64, hi: u64) -> Result<(), ApiError> {
    match m.get(f) {
        None | Some(Value::Null) => Ok(()),
        Some(v) if v.as_u64().is_some_and(|n| (lo..=hi).contains(&n)) => Ok(()),
        Some(v) => Err(ApiError::bad_request(format!(
            "Field: {f}: {v} is out of range {lo}..{hi}"
        ))),
    }
}

fn check_description(m: &Map<String, Value>) -> Result<(), ApiError> {
    if str_field(m, "description").is_some_and(|d| d.chars().count() > 128) {
        return Err(ApiError::bad_request(
            "Field: description must be at most 128 characters",
        ));
    }
    Ok(())
}

/// Groupnet body: name, description, `dns_servers` (IP addresses).
fn check_groupnet(m: &Map<String, Value>) -> Result<(), ApiError> {
    check_net_name(m)?;
    check_description(m)?;
    if let Some(Value::Array(a)) = m.get("dns_servers") {
        for x in a {
            let ip = x.as_str().and_then(|s| s.parse::<std::net::IpAddr>().ok());
            if ip.is_none() {
                return Err(ApiError::bad_request(format!(
                    "Field: dns_servers: {x} is not an IP address"
                )));
            }
        }
    }
    Ok(())
}

/// Subnet body, checked against the merged result (`o` = stored fields + changes):
/// prefix length for the address family, MTU, VLAN, gateway and base address, and that the
/// gateway and SmartConnect service addresses lie inside the subnet.
fn check_subnet(m: &Map<String, Value>, o: &Map<String, Value>) -> Result<(), ApiError> {
    check_description(m)?;
    check_ranges(m, "sc_service_addrs")?;
    int_in(m, "mtu", 576, 9000)?;
    int_in(m, "vlan_id", 1, 4094)?;
    int_in(m, "gateway_priority", 1, 2_147_483_647)?;
    let v6 = str_field(o, "addr_family") == Some("ipv6");
    int_in(o, "prefixlen", 1, if v6 { 128 } else { 32 })?;
    let ip = |f: &str| -> Result<Option<std::net::IpAddr>, ApiError> {
        match str_field(o, f) {
            None | Some("") => Ok(None),
            Some(a) => match a.parse::<std::net::IpAddr>() {
                Ok(x) if x.is_ipv6() == v6 => Ok(Some(x)),
                _ => Err(ApiError::bad_request(format!(
                    "Field: {f}: `{a}` is not an {} address",
                    if v6 { "IPv6" } else { "IPv4" }
                ))),
            },
        }
    };
    let gateway = ip("gateway")?;
    let base = ip("base_addr")?;
    if let (Some(std::net::IpAddr::V4(b)), Some(plen)) =
        (base, o.get("prefixlen").and_then(Value::as_u64))
    {
        let mask = u32::MAX.checked_shl(32 - plen.min(32) as u32).unwrap_or(0);
        let inside = |a: std::net::Ipv4Addr| u32::from(a) & mask == u32::from(b) & mask;
        if let Some(std::net::IpAddr::V4(g)) = gateway {
            if !inside(g) {
                return Err(ApiError::bad_request(format!(
                    "Field: gateway: {g} is not within {b}/{plen}"
                )));
            }
        }
        if let Some(Value::Array(a)) = o.get("sc_service_addrs") {
            for r in a.iter().filter_map(Value::as_object) {
                for k in ["low", "high"] {
                    if let Some(x) = str_field(r, k).and_then(|x| x.parse().ok()) {
                        if !inside(x) {
                            return Err(ApiError::bad_request(format!(
                                "Field: sc_service_addrs: {x} is not within {b}/{plen}"
                            )));
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

const NET_RO: &[&str] = &[
    "id",
    "groupnet",
    "subnet",
    "subnets",
    "pools",
    "addr_family_ro",
];

pub(super) async fn groupnet_list(State(st): State<ApiState>, q: QueryR) -> ApiResult {
    let (q, off) = list_query(q)?;
    st.sim.with_world(|w| {
        let c = cfg(w, &st)?;
        let items = c
            .groupnets
            .iter()
            .map(|(n, o)| groupnet_json(c, n, o))
            .collect();
        list_paged("groupnets", items, &q, off)
    })
}

pub(super) async fn groupnet_get(State(st): State<ApiState>, p: PathR) -> ApiResult {
    let g = params(p)?.remove("g").unwrap_or_default();
    st.sim.with_world(|w| {
        let c = cfg(w, &st)?;
        let o = c
            .groupnets
            .get(&g)
            .ok_or_else(|| ApiError::not_found(format!("Groupnet {g} not found")))?;
        Ok(single_envelope("groupnets", groupnet_json(c, &g, o)))
    })
}

pub(super) async fn groupnet_create(
    State(st): State<ApiState>,
    Extension(ctx): Extension<ReqCtx>,
    body: Bytes,
) -> ApiResult {
    let m = json_object(&body)?;
    validate("groupnet", &m, &["name"], NET_RO, &[])?;
    check_groupnet(&m)?;
    let name = str_field(&m, "name").unwrap_or_default().to_string();
    st.sim.with_world(|w| {
        let c = cfg_mut(w, &st)?;
        if c.groupnets.contains_key(&name) {
            return Err(ApiError::conflict(format!(
                "Groupnet {name} already exists"
            )));
        }
        c.groupnets.insert(name.clone(), m.clone());
        audit(
            w,
            &st,
            &ctx,
            "network.groupnet.create",
            &name,
            Value::Object(m),
        );
        Ok(created(&name))
    })
}

pub(super) async fn groupnet_update(
    State(st): State<ApiState>,
    Extension(ctx): Extension<ReqCtx>,
    p: PathR,
    body: Bytes,
) -> ApiResult {
    let g = params(p)?.remove("g").unwrap_or_default();
    let m = json_object(&body)?;
    validate("groupnet", &m, &[], NET_RO, &[])?;
    check_groupnet(&m)?;
    if m.contains_key("name") && str_field(&m, "name") != Some(g.as_str()) {
        return Err(ApiError::bad_request(
            "Field: name: groupnets cannot be renamed here",
        ));
    }
    st.sim.with_world(|w| {
        let o = cfg_mut(w, &st)?
            .groupnets
            .get_mut(&g)
            .ok_or_else(|| ApiError::not_found(format!("Groupnet {g} not found")))?;
        for (k, v) in &m {
            o.insert(k.clone(), v.clone());
        }
        audit(
            w,
            &st,
            &ctx,
            "network.groupnet.update",
            &g,
            Value::Object(m),
        );
        Ok(no_content())
    })
}

pub(super) async fn groupnet_delete(
    State(st): State<ApiState>,
    Extension(ctx): Extension<ReqCtx>,
    p: PathR,
) -> ApiResult {
    let g = params(p)?.remove("g").unwrap_or_default();
    st.sim.with_world(|w| {
        let c = cfg_mut(w, &st)?;
        if !c.groupnets.contains_key(&g) {
            return Err(ApiError::not_found(format!("Groupnet {g} not found")));
        }
        if c.subnets
            .values()
            .any(|s| str_field(s, "groupnet") == Some(g.as_str()))
        {
            return Err(ApiError::conflict(format!("Groupnet {g} has subnets")));
        }
        if let Some(z) = c
            .zones
            .iter()
            .find(|(_, z)| str_field(z, "groupnet").unwrap_or("groupnet0") == g)
        {
            return Err(ApiError::conflict(format!(
                "Groupnet {g} is used by access zone {}",
                z.0
            )));
        }
        if c.ads
            .as_ref()
            .is_some_and(|a| str_field(a, "groupnet").unwrap_or("groupnet0") == g)
        {
            return Err(ApiError::conflict(format!(
                "Groupnet {g} is used by the Active Directory provider"
            )));
        }
        c.groupnets.remove(&g);
        audit(w, &st, &ctx, "network.groupnet.delete", &g, Value::Null);
        Ok(no_content())
    })
}

fn need_groupnet(c: &ConfigState, g: &str) -> Result<(), ApiError> {
    if c.groupnets.contains_key(g) {
        Ok(())
    } else {
        Err(ApiError::not_found(format!("Groupnet {g} not found")))
    }
}

fn need_subnet(c: &ConfigState, g: &str, s: &str) -> Result<String, ApiError> {
    need_groupnet(c, g)?;
    let k = format!("{g}.{s}");
    if c.subnets.contains_key(&k) {
        Ok(k)
    } else {
        Err(ApiError::not_found(format!("Subnet {k} not found")))
    }
}

pub(super) async fn subnet_list(State(st): State<ApiState>, p: PathR, q: QueryR) -> ApiResult {
    let g = params(p)?.remove("g").unwrap_or_default();
    let (q, off) = list_query(q)?;
    st.sim.with_world(|w| {
        let c = cfg(w, &st)?;
        need_groupnet(c, &g)?;
        let items = c
            .subnets
            .iter()
            .filter(|(_, s)| str_field(s, "groupnet") == Some(g.as_str()))
            .map(|(k, s)| subnet_json(c, k, s))
            .collect();
        list_paged("subnets", items, &q, off)
    })
}

/// Flat `GET network/subnets[?groupnet=&sort=&dir=&limit=&resume=]`.
pub(super) async fn subnet_list_flat(State(st): State<ApiState>, q: QueryR) -> ApiResult {
    let (q, off) = list_query(q)?;
    check_query(&q, &["groupnet", "sort", "dir", "limit", "resume"])?;
    st.sim.with_world(|w| {
        let c = cfg(w, &st)?;
        let mut items: Vec<Value> = c
            .subnets
            .iter()
            .filter(|(_, s)| {
                q.get("groupnet")
                    .is_none_or(|g| str_field(s, "groupnet") == Some(g.as_str()))
            })
            .map(|(k, s)| subnet_json(c, k, s))
            .collect();
        sort_items(&mut items, &q)?;
        list_paged("subnets", items, &q, off)
    })
}

pub(super) async fn subnet_get(State(st): State<ApiState>, p: PathR) -> ApiResult {
    let mut pp = params(p)?;
    let (g, s) = (
        pp.remove("g").unwrap_or_default(),
        pp.remove("s").unwrap_or_default(),
    );
    st.sim.with_world(|w| {
        let c = cfg(w, &st)?;
        let k = need_subnet(c, &g, &s)?;
        Ok(single_envelope(
            "subnets",
            subnet_json(c, &k, &c.subnets[&k]),
        ))
    })
}

pub(super) async fn subnet_create(
    State(st): State<ApiState>,
    Extension(ctx): Extension<ReqCtx>,
    p: PathR,
    body: Bytes,
) -> ApiResult {
    let g = params(p)?.remove("g").unwrap_or_default();
    let mut m = json_object(&body)?;
    validate(
        "subnet",
        &m,
        &["name", "addr_family", "prefixlen"],
        NET_RO,
        &[],
    )?;
    check_net_name(&m)?;
    check_subnet(&m, &m)?;
    let name = str_field(&m, "name").unwrap_or_default().to_string();
    st.sim.with_world(|w| {
        let c = cfg_mut(w, &st)?;
        need_groupnet(c, &g)?;
        let k = format!("{g}.{name}");
        if c.subnets.contains_key(&k) {
            return Err(ApiError::conflict(format!("Subnet {k} already exists")));
        }
        m.insert("groupnet".into(), json!(g));
        c.subnets.insert(k.clone(), m.clone());
        audit(w, &st, &ctx, "network.subnet.create", &k, Value::Object(m));
        Ok(created(&name))
    })
}

pub(super) async fn subnet_update(
    State(st): State<ApiState>,
    Extension(ctx): Extension<ReqCtx>,
    p: PathR,
    body: Bytes,
) -> ApiResult {
    let mut pp = params(p)?;
    let (g, s) = (
        pp.remove("g").unwrap_or_default(),
        pp.remove("s").unwrap_or_default(),
    );
    let m = json_object(&body)?;
    validate("subnet", &m, &[], NET_RO, &[])?;
    if m.contains_key("name") && str_field(&m, "name") != Some(s.as_str()) {
        return Err(ApiError::bad_request(
            "Field: name: subnets cannot be renamed here",
        ));
    }
    st.sim.with_world(|w| {
        let k = need_subnet(cfg(w, &st)?, &g, &s)?;
        let mut merged = cfg(w, &st)?.subnets[&k].clone();
        merged.extend(m.clone());
        check_subnet(&m, &merged)?;
        let o = cfg_mut(w, &st)?.subnets.get_mut(&k).expect("exists");
        for (f, v) in &m {
            o.insert(f.clone(), v.clone());
        }
        audit(w, &st, &ctx, "network.subnet.update", &k, Value::Object(m));
        Ok(no_content())
    })
}

pub(super) async fn subnet_delete(
    State(st): State<ApiState>,
    Extension(ctx): Extension<ReqCtx>,
    p: PathR,
    q: QueryR,
) -> ApiResult {
    let mut pp = params(p)?;
    let (g, s) = (
        pp.remove("g").unwrap_or_default(),
        pp.remove("s").unwrap_or_default(),
    );
    let (q, _) = list_query(q)?;
    check_query(&q, &["force"])?;
    let force = query_bool(&q, "force")?.unwrap_or(false);
    st.sim.with_world(|w| {
        let k = need_subnet(cfg(w, &st)?, &g, &s)?;
        let c = cfg_mut(w, &st)?;
        if c.pools.keys().any(|p| p.starts_with(&format!("{k}."))) {
            return Err(ApiError::conflict(format!("Subnet {k} has pools")));
        }
        if !force {
            if let Some((pk, _)) = c.pools.iter().find(|(_, p)| {
                str_field(p, "groupnet") == Some(g.as_str())
                    && str_field(p, "sc_subnet") == Some(s.as_str())
            }) {
                return Err(ApiError::conflict(format!(
                    "Pool {pk} uses subnet {k} for SmartConnect; delete with force=true"
                )));
            }
        }
        c.subnets.remove(&k);
        audit(w, &st, &ctx, "network.subnet.delete", &k, Value::Null);
        Ok(no_content())
    })
}

fn pool_filter(q: &BTreeMap<String, String>, p: &Map<String, Value>) -> bool {
    ["access_zone", "groupnet", "subnet"].iter().all(|k| {
        q.get(*k)
            .is_none_or(|v| str_field(p, k) == Some(v.as_str()))
    })
}

pub(super) async fn pool_list(State(st): State<ApiState>, p: PathR, q: QueryR) -> ApiResult {
    let mut pp = params(p)?;
    let (g, s) = (
        pp.remove("g").unwrap_or_default(),
        pp.remove("s").unwrap_or_default(),
    );
    let (q, off) = list_query(q)?;
    st.sim.with_world(|w| {
        let c = cfg(w, &st)?;
        let k = need_subnet(c, &g, &s)?;
        let items = c
            .pools
            .iter()
            .filter(|(pk, p)| pk.starts_with(&format!("{k}.")) && pool_filter(&q, p))
            .map(|(pk, p)| pool_json(pk, p))
            .collect();
        list_paged("pools", items, &q, off)
    })
}

pub(super) async fn pool_list_flat(State(st): State<ApiState>, q: QueryR) -> ApiResult {
    let (q, off) = list_query(q)?;
    st.sim.with_world(|w| {
        let c = cfg(w, &st)?;
        let items = c
            .pools
            .iter()
            .filter(|(_, p)| pool_filter(&q, p))
            .map(|(pk, p)| pool_json(pk, p))
            .collect();
        list_paged("pools", items, &q, off)
    })
}

/// Pool key from nested (`g`, `s`, `p`) or flat (`id` = `g.s.p`) path parameters.
fn pool_key(c: &ConfigState, pp: &BTreeMap<String, String>) -> Result<String, ApiError> {
    let k = match pp.get("id") {
        Some(id) => id.clone(),
        None => {
            let g = pp.get("g").cloned().unwrap_or_default();
            let s = pp.get("s").cloned().unwrap_or_default();
            let sk = need_subnet(c, &g, &s)?;
            format!("{sk}.{}", pp.get("p").cloned().unwrap_or_default())
        }
    };
    if c.pools.contains_key(&k) {
        Ok(k)
    } else {
        Err(ApiError::not_found(format!("Pool {k} not found")))
    }
}

pub(super) async fn pool_get(State(st): State<ApiState>, p: PathR) -> ApiResult {
    let pp = params(p)?;
    st.sim.with_world(|w| {
        let c = cfg(w, &st)?;
        let k = pool_key(c, &pp)?;
        Ok(single_envelope("pools", pool_json(&k, &c.pools[&k])))
    })
}

pub(super) async fn pool_create(
    State(st): State<ApiState>,
    Extension(ctx): Extension<ReqCtx>,
    p: PathR,
    body: Bytes,
) -> ApiResult {
    let mut pp = params(p)?;
    let (g, s) = (
        pp.remove("g").unwrap_or_default(),
        pp.remove("s").unwrap_or_default(),
    );
    let mut m = json_object(&body)?;
    validate("pool", &m, &["name"], NET_RO, &[])?;
    st.sim.with_world(|w| {
        let c = cfg(w, &st)?;
        let sk = need_subnet(c, &g, &s)?;
        check_pool(c, &m)?;
        let name = str_field(&m, "name").unwrap_or_default().to_string();
        let k = format!("{sk}.{name}");
        if c.pools.contains_key(&k) {
            return Err(ApiError::conflict(format!("Pool {k} already exists")));
        }
        m.insert("groupnet".into(), json!(g));
        m.insert("subnet".into(), json!(s));
        if !m.contains_key("access_zone") {
            m.insert("access_zone".into(), json!("System"));
        }
        if !m.contains_key("sc_subnet") {
            m.insert("sc_subnet".into(), json!(s));
        }
        cfg_mut(w, &st)?.pools.insert(k.clone(), m.clone());
        audit(w, &st, &ctx, "network.pool.create", &k, Value::Object(m));
        Ok(created(&k))
    })
}

pub(super) async fn pool_update(
    State(st): State<ApiState>,
    Extension(ctx): Extension<ReqCtx>,
    p: PathR,
    body: Bytes,
) -> ApiResult {
    let pp = params(p)?;
    let m = json_object(&body)?;
    validate("pool", &m, &[], NET_RO, &[])?;
    st.sim.with_world(|w| {
        let c = cfg(w, &st)?;
        let k = pool_key(c, &pp)?;
        check_pool(c, &m)?;
        let new_key = match str_field(&m, "name") {
            Some(n) => {
                let base = k.rsplit_once('.').map(|(a, _)| a).unwrap_or_default();
                let nk = format!("{base}.{n}");
                if nk != k && c.pools.contains_key(&nk) {
                    return Err(ApiError::conflict(format!("Pool {nk} already exists")));
                }
                nk
            }
            None => k.clone(),
        };
        let c = cfg_mut(w, &st)?;
        let mut o = c.pools.remove(&k).expect("exists");
        let before = json!({"sc_dns_zone": o.get("sc_dns_zone"),
                            "sc_dns_zone_aliases": o.get("sc_dns_zone_aliases"),
                            "access_zone": o.get("access_zone")});
        for (f, v) in &m {
            o.insert(f.clone(), v.clone());
        }
        c.pools.insert(new_key, o);
        audit(
            w,
            &st,
            &ctx,
            "network.pool.update",
            &k,
            json!({"changes": m, "before": before}),
        );
        Ok(no_content())
    })
}

pub(super) async fn pool_delete(
    State(st): State<ApiState>,
    Extension(ctx): Extension<ReqCtx>,
    p: PathR,
) -> ApiResult {
    let pp = params(p)?;
    st.sim.with_world(|w| {
        let k = pool_key(cfg(w, &st)?, &pp)?;
        cfg_mut(w, &st)?.pools.remove(&k);
        audit(w, &st, &ctx, "network.pool.delete", &k, Value::Null);
        Ok(no_content())
    })
}

// ------------------------------------------------------------------------- AD provider

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

pub(super) async fn ads_list(State(st): State<ApiState>, q: QueryR) -> ApiResult {
    let (q, off) = list_query(q)?;
    let dups = q.get("check_duplicates").is_some_and(|v| v == "true");
    st.sim.with_world(|w| {
        let o = cfg(w, &st)?.ads.clone();
        let items = match o {
            Some(o) => vec![ads_json(w, &st.cluster, &o, dups)?],
            None => vec![],
        };
        list_paged("ads", items, &q, off)
    })
}

pub(super) async fn ads_get(State(st): State<ApiState>, p: PathR, q: QueryR) -> ApiResult {
    let id = params(p)?.remove("id").unwrap_or_default();
    let (q, _) = list_query(q)?;
    let dups = q.get("check_duplicates").is_some_and(|v| v == "true");
    st.sim.with_world(|w| {
        let o = cfg(w, &st)?
            .ads
            .clone()
            .filter(|o| ads_matches(o, &id))
            .ok_or_else(|| ApiError::not_found(format!("AD provider {id} not found")))?;
        Ok(single_envelope("ads", ads_json(w, &st.cluster, &o, dups)?))
    })
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

pub(super) async fn ads_update(
    State(st): State<ApiState>,
    Extension(ctx): Extension<ReqCtx>,
    p: PathR,
    body: Bytes,
) -> ApiResult {
    let id = params(p)?.remove("id").unwrap_or_default();
    let m = json_object(&body)?;
    validate("ads", &m, &[], ADS_RO, &[])?;
    if m.contains_key("name") {
        return Err(ApiError::bad_request("Field: name may not be changed"));
    }
    st.sim.with_world(|w| {
        let o = cfg(w, &st)?
            .ads
            .clone()
            .filter(|o| ads_matches(o, &id))
            .ok_or_else(|| ApiError::not_found(format!("AD provider {id} not found")))?;
        let account = str_field(&o, "account").unwrap_or(&st.cluster).to_string();
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

pub(super) async fn ads_create(
    State(st): State<ApiState>,
    Extension(ctx): Extension<ReqCtx>,
    body: Bytes,
) -> ApiResult {
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
            .unwrap_or_else(|| st.cluster.clone());
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

pub(super) async fn ads_delete(
    State(st): State<ApiState>,
    Extension(ctx): Extension<ReqCtx>,
    p: PathR,
) -> ApiResult {
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
