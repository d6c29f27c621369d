//! `network/groupnets/{g}/subnets/{s}/pools[/{p}]` and flat `network/pools[/{id}]`: network
//! pools (SmartConnect zones), keyed by `groupnet.subnet.pool`.

use serde_json::{json, Value};

use super::super::collection::{merge_rekey, stored_in, Created, Ctx, Req, Resource, Scope, Spec};
use super::super::objects::{render, str_field};
use super::super::ApiError;
use super::subnets::check_ranges;
use super::{check_net_name, need_subnet, NET_RO};
use crate::config::{ConfigState, Obj};
use crate::model::Cluster;

pub(crate) struct Pools;

fn dns_name_ok(s: &str) -> bool {
    s.is_empty()
        || (s.len() <= 2048
            && s.split('.').next().is_some_and(|l| !l.is_empty())
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.'))
}

fn check_pool(c: &ConfigState, m: &Obj) -> Result<(), ApiError> {
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

fn exists(k: &str) -> ApiError {
    ApiError::conflict(format!("Pool {k} already exists"))
}

impl Resource for Pools {
    const SPEC: Spec = Spec::new("pool", "pools", "network.pool")
        .required(&["name"])
        .read_only(NET_RO);

    stored_in!(String, pools);
    /// The subnet of a nested route.
    fn parent(c: &ConfigState, req: &Req) -> Result<Option<String>, ApiError> {
        match (req.params.get("g"), req.params.get("s")) {
            (Some(g), Some(s)) => need_subnet(c, g, s).map(Some),
            _ => Ok(None),
        }
    }
    fn listed(scope: &Scope, req: &Req, key: &String, p: &Obj) -> bool {
        scope
            .parent
            .as_ref()
            .is_none_or(|sk| key.starts_with(&format!("{sk}.")))
            && ["access_zone", "groupnet", "subnet"].iter().all(|k| {
                req.query
                    .get(*k)
                    .is_none_or(|v| str_field(p, k) == Some(v.as_str()))
            })
    }
    /// Nested (`g`, `s`, `p`) or flat (`id` = `g.s.p`) path parameters.
    fn find(c: &ConfigState, scope: &Scope, req: &Req) -> Result<String, ApiError> {
        let k = match (req.params.get("id"), &scope.parent) {
            (Some(id), _) => id.clone(),
            (None, Some(sk)) => format!("{sk}.{}", req.param("p")),
            (None, None) => need_subnet(c, &req.param("g"), &req.param("s"))?,
        };
        if c.pools.contains_key(&k) {
            Ok(k)
        } else {
            Err(ApiError::not_found(format!("Pool {k} not found")))
        }
    }
    fn render(_cl: &Cluster, _scope: &Scope, key: &String, o: &Obj) -> Value {
        render("pool", o, json!({"id": key}))
    }
    fn plain_parts(
        _cl: &Cluster,
        _scope: &Scope,
        key: &String,
        _o: &Obj,
    ) -> Option<(&'static str, Value)> {
        Some(("pool", json!({"id": key})))
    }
    fn create(cx: Ctx<'_>, mut m: Obj) -> Result<Created<String>, ApiError> {
        let Ctx { c, scope, .. } = cx;
        let sk = scope.parent.clone().unwrap_or_default();
        check_pool(c, &m)?;
        let name = str_field(&m, "name").unwrap_or_default().to_string();
        let k = format!("{sk}.{name}");
        if c.pools.contains_key(&k) {
            return Err(exists(&k));
        }
        let (g, s) = sk.split_once('.').unwrap_or_default();
        m.insert("groupnet".into(), json!(g));
        m.insert("subnet".into(), json!(s));
        if !m.contains_key("access_zone") {
            m.insert("access_zone".into(), json!("System"));
        }
        if !m.contains_key("sc_subnet") {
            m.insert("sc_subnet".into(), json!(s));
        }
        Ok(Created::new(k.clone(), &k, json!(k), m))
    }
    fn update(cx: Ctx<'_>, k: &String, m: Obj) -> Result<Value, ApiError> {
        let Ctx { c, .. } = cx;
        check_pool(c, &m)?;
        let new_key = match str_field(&m, "name") {
            Some(n) => {
                let base = k.rsplit_once('.').map(|(a, _)| a).unwrap_or_default();
                let nk = format!("{base}.{n}");
                if &nk != k && c.pools.contains_key(&nk) {
                    return Err(exists(&nk));
                }
                nk
            }
            None => k.clone(),
        };
        let o = c.pools.get(k).cloned().unwrap_or_default();
        let before = json!({"sc_dns_zone": o.get("sc_dns_zone"),
                            "sc_dns_zone_aliases": o.get("sc_dns_zone_aliases"),
                            "access_zone": o.get("access_zone")});
        merge_rekey(&mut c.pools, k, new_key, &m, &[]);
        Ok(json!({"changes": m, "before": before}))
    }
}
