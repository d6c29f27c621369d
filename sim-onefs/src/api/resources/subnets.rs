//! `network/groupnets/{g}/subnets[/{s}]` and flat `network/subnets`: subnets, keyed by
//! `groupnet.subnet`.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde_json::{json, Value};

use super::super::collection::{merge, stored_in, Created, Ctx, Op, Req, Resource, Scope, Spec};
use super::super::objects::{
    check_query, list_query, query_bool, render, sort_items, str_field, QueryR,
};
use super::super::ApiError;
use super::{check_description, check_net_name, need_groupnet, need_subnet, NET_RO};
use crate::config::{ConfigState, Obj};
use crate::model::Cluster;

pub(crate) struct Subnets;

/// `{field}` must be a list of `{low, high}` IPv4 ranges with low ≤ high.
pub(super) fn check_ranges(m: &Obj, field: &str) -> Result<(), ApiError> {
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

fn int_in(m: &Obj, f: &str, lo: u64, hi: u64) -> Result<(), ApiError> {
    match m.get(f) {
        None | Some(Value::Null) => Ok(()),
        Some(v) if v.as_u64().is_some_and(|n| (lo..=hi).contains(&n)) => Ok(()),
        Some(v) => Err(ApiError::bad_request(format!(
            "Field: {f}: {v} is out of range {lo}..{hi}"
        ))),
    }
}

/// Subnet body, checked against the merged result (`o` = stored fields + changes):
/// prefix length for the address family, MTU, VLAN, gateway and base address, and that the
/// gateway and SmartConnect service addresses lie inside the subnet.
fn check_subnet(m: &Obj, o: &Obj) -> Result<(), ApiError> {
    check_description(m)?;
    check_ranges(m, "sc_service_addrs")?;
    int_in(m, "mtu", 576, 9000)?;
    int_in(m, "vlan_id", 1, 4094)?;
    int_in(m, "gateway_priority", 1, 2_147_483_647)?;
    let v6 = str_field(o, "addr_family") == Some("ipv6");
    int_in(o, "prefixlen", 1, if v6 { 128 } else { 32 })?;
    let ip = |f: &str| -> Result<Option<IpAddr>, ApiError> {
        match str_field(o, f) {
            None | Some("") => Ok(None),
            Some(a) => match a.parse::<IpAddr>() {
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
    let (Some(IpAddr::V4(b)), Some(plen)) = (base, o.get("prefixlen").and_then(Value::as_u64))
    else {
        return Ok(());
    };
    let mask = u32::MAX.checked_shl(32 - plen.min(32) as u32).unwrap_or(0);
    let inside = |a: std::net::Ipv4Addr| u32::from(a) & mask == u32::from(b) & mask;
    if let Some(IpAddr::V4(g)) = gateway {
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
    Ok(())
}

impl Resource for Subnets {
    const SPEC: Spec = Spec::new("subnet", "subnets", "network.subnet")
        .required(&["name", "addr_family", "prefixlen"])
        .read_only(NET_RO);

    stored_in!(String, subnets);
    /// Flat lists take `groupnet`, `sort`, `dir`, `limit`, `resume`; a delete takes `force`.
    fn query(op: Op, params: &BTreeMap<String, String>, q: QueryR) -> Result<Req, ApiError> {
        let allowed: &[&str] = match op {
            Op::List if !params.contains_key("g") => {
                &["groupnet", "sort", "dir", "limit", "resume"]
            }
            Op::List => &[],
            Op::Delete => &["force"],
            _ => return Ok(Req::default()),
        };
        let (query, offset) = list_query(q)?;
        if op == Op::Delete || !allowed.is_empty() {
            check_query(&query, allowed)?;
        }
        if op == Op::Delete {
            query_bool(&query, "force")?;
        }
        Ok(Req {
            query,
            offset,
            ..Req::default()
        })
    }
    fn parent(c: &ConfigState, req: &Req) -> Result<Option<String>, ApiError> {
        let Some(g) = req.params.get("g") else {
            return Ok(None);
        };
        need_groupnet(c, g)?;
        Ok(Some(g.clone()))
    }
    fn listed(scope: &Scope, req: &Req, _key: &String, s: &Obj) -> bool {
        let g = scope.parent.as_ref().or(req.query.get("groupnet"));
        g.is_none_or(|g| str_field(s, "groupnet") == Some(g.as_str()))
    }
    const SORTS: bool = true;
    fn sort(req: &Req, items: &mut [Value]) -> Result<(), ApiError> {
        if req.params.contains_key("g") {
            return Ok(());
        }
        sort_items(items, &req.query)
    }
    fn find(c: &ConfigState, _scope: &Scope, req: &Req) -> Result<String, ApiError> {
        need_subnet(c, &req.param("g"), &req.param("s"))
    }
    fn render(cl: &Cluster, _scope: &Scope, key: &String, o: &Obj) -> Value {
        let pools: Vec<&str> = cl
            .cfg
            .pools
            .iter()
            .filter(|(k, _)| k.starts_with(&format!("{key}.")))
            .filter_map(|(_, p)| str_field(p, "name"))
            .collect();
        render("subnet", o, json!({"id": key, "pools": pools}))
    }
    fn check_body(op: Op, req: &mut Req, m: &mut Obj) -> Result<(), ApiError> {
        if op == Op::Create {
            check_net_name(m)?;
            return check_subnet(m, m);
        }
        let s = req.param("s");
        if m.contains_key("name") && str_field(m, "name") != Some(s.as_str()) {
            return Err(ApiError::bad_request(
                "Field: name: subnets cannot be renamed here",
            ));
        }
        Ok(())
    }
    fn create(cx: Ctx<'_>, mut m: Obj) -> Result<Created<String>, ApiError> {
        let Ctx { c, scope, .. } = cx;
        let g = scope.parent.clone().unwrap_or_default();
        let name = str_field(&m, "name").unwrap_or_default().to_string();
        let k = format!("{g}.{name}");
        if c.subnets.contains_key(&k) {
            return Err(ApiError::conflict(format!("Subnet {k} already exists")));
        }
        m.insert("groupnet".into(), json!(g));
        Ok(Created::new(k.clone(), &k, json!(name), m))
    }
    fn update(cx: Ctx<'_>, k: &String, m: Obj) -> Result<Value, ApiError> {
        let Ctx { c, .. } = cx;
        let mut merged = c.subnets.get(k).cloned().unwrap_or_default();
        merged.extend(m.clone());
        check_subnet(&m, &merged)?;
        if let Some(o) = c.subnets.get_mut(k) {
            merge(o, &m, &[]);
        }
        Ok(Value::Object(m))
    }
    fn delete(c: &mut ConfigState, req: &Req, k: &String) -> Result<Value, ApiError> {
        let (g, s) = (req.param("g"), req.param("s"));
        if c.pools.keys().any(|p| p.starts_with(&format!("{k}."))) {
            return Err(ApiError::conflict(format!("Subnet {k} has pools")));
        }
        let force = query_bool(&req.query, "force")?.unwrap_or(false);
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
        c.subnets.remove(k);
        Ok(Value::Null)
    }
}
