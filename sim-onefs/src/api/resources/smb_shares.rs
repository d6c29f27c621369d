//! `protocols/smb/shares[/{name}]?zone=`: SMB shares, keyed by zone and lower-case name.

use serde_json::{json, Map, Value};

use super::super::collection::{
    in_zone, merge_rekey, stored_in, Created, Ctx, Op, Query, Req, Resource, Scope, Spec,
};
use super::super::objects::{render, str_field};
use super::super::ApiError;
use super::{body_zone, check_path_in_zone, check_under_zone};
use crate::config::{default_share_permissions, zone_key, ConfigState, Obj};
use crate::model::Cluster;

pub(crate) struct SmbShares;

fn check_permissions(m: &Map<String, Value>) -> Result<(), ApiError> {
    let Some(v) = m.get("permissions") else {
        return Ok(());
    };
    let bad = |msg: &str| ApiError::bad_request(format!("Field: permissions: {msg}"));
    for p in v.as_array().ok_or_else(|| bad("must be a list"))? {
        let o = p
            .as_object()
            .ok_or_else(|| bad("each entry must be an object"))?;
        match str_field(o, "permission") {
            Some("full" | "change" | "read") => {}
            _ => return Err(bad("permission must be full, change or read")),
        }
        match str_field(o, "permission_type") {
            Some("allow" | "deny") => {}
            _ => return Err(bad("permission_type must be allow or deny")),
        }
        let t = o
            .get("trustee")
            .and_then(Value::as_object)
            .ok_or_else(|| bad("trustee (an object with id or name) is required"))?;
        let id = str_field(t, "id").unwrap_or_default();
        let name = str_field(t, "name").unwrap_or_default();
        if id.is_empty() && name.is_empty() {
            return Err(bad("trustee needs an id or a name"));
        }
        if let Some(ty) = t.get("type") {
            if !matches!(
                ty.as_str(),
                Some("user" | "group" | "wellknown" | "unknown")
            ) {
                return Err(bad(
                    "trustee.type must be user, group, wellknown or unknown",
                ));
            }
        }
    }
    Ok(())
}

fn check_share_name(n: &str) -> Result<(), ApiError> {
    if n.is_empty() || n.len() > 80 || n.chars().any(|c| "/\\:*?\"<>|".contains(c)) {
        return Err(ApiError::bad_request(format!(
            "Field: name: invalid share name `{n}`"
        )));
    }
    Ok(())
}

fn share_key(c: &ConfigState, zone: &str, name: &str) -> Option<String> {
    let k = zone_key(zone, &name.to_lowercase());
    c.smb_shares.contains_key(&k).then_some(k)
}

fn exists(zone: &str, name: &str) -> ApiError {
    ApiError::conflict(format!("SMB share {name} already exists in zone {zone}"))
}

impl Resource for SmbShares {
    const SPEC: Spec = Spec::new("smb_share", "shares", "smb.share")
        .required(&["name", "path"])
        .read_only(&["id", "zid"])
        .paths(&["path"])
        .zone_keyed()
        .bulk("/smb.shares.delete_all", &["zone"]);

    stored_in!(String, smb_shares);
    fn find(c: &ConfigState, scope: &Scope, req: &Req) -> Result<String, ApiError> {
        let id = req.id();
        share_key(c, scope.zone(), &id)
            .ok_or_else(|| ApiError::not_found(format!("SMB share {id} not found")))
    }
    fn render(cl: &Cluster, scope: &Scope, key: &String, o: &Obj) -> Value {
        let (kind, computed) = Self::parts(cl, scope, key, o);
        render(kind, o, computed)
    }
    fn plain_parts(
        cl: &Cluster,
        scope: &Scope,
        key: &String,
        o: &Obj,
    ) -> Option<(&'static str, Value)> {
        Some(Self::parts(cl, scope, key, o))
    }
    fn check_body(op: Op, req: &mut Req, m: &mut Obj) -> Result<(), ApiError> {
        check_permissions(m)?;
        if op == Op::Create {
            check_share_name(str_field(m, "name").unwrap_or_default())?;
            body_zone(req, m.remove("zone"));
            m.remove("create_path");
        } else if let Some(n) = str_field(m, "name") {
            check_share_name(n)?;
        }
        Ok(())
    }
    fn create(cx: Ctx<'_>, mut m: Obj) -> Result<Created<String>, ApiError> {
        let Ctx { c, scope, .. } = cx;
        let zone = scope.zone();
        let name = str_field(&m, "name").unwrap_or_default().to_string();
        check_under_zone(c, zone, "path", str_field(&m, "path").unwrap_or_default())?;
        if share_key(c, zone, &name).is_some() {
            return Err(exists(zone, &name));
        }
        if !m.contains_key("permissions") {
            m.insert("permissions".into(), default_share_permissions());
        }
        let key = zone_key(zone, &name.to_lowercase());
        Ok(Created::new(key, &name, json!(name), m))
    }
    fn update(cx: Ctx<'_>, k: &String, m: Obj) -> Result<Value, ApiError> {
        let Ctx { c, scope, .. } = cx;
        let zone = scope.zone();
        check_path_in_zone(c, zone, &m)?;
        let new_key = match str_field(&m, "name") {
            Some(n) => {
                let nk = zone_key(zone, &n.to_lowercase());
                if &nk != k && c.smb_shares.contains_key(&nk) {
                    return Err(exists(zone, n));
                }
                nk
            }
            None => k.clone(),
        };
        merge_rekey(&mut c.smb_shares, k, new_key, &m, &["zone"]);
        Ok(Value::Object(m))
    }
    /// `DELETE protocols/smb/shares[?zone=]`: every share of one access zone.
    fn delete_matching(cx: Ctx<'_>, _q: &Query) -> Result<(String, Value), ApiError> {
        let Ctx { c, scope, .. } = cx;
        let keys: Vec<String> = c
            .smb_shares
            .keys()
            .filter(|k| in_zone(scope, k))
            .cloned()
            .collect();
        let names: Vec<Value> = keys
            .iter()
            .filter_map(|k| c.smb_shares.remove(k))
            .filter_map(|o| o.get("name").cloned())
            .collect();
        Ok((scope.zone().to_string(), json!({"deleted": names})))
    }
}

impl SmbShares {
    /// What [`Resource::render`] renders: the kind and the computed fields.
    fn parts(cl: &Cluster, scope: &Scope, _key: &String, o: &Obj) -> (&'static str, Value) {
        let name = str_field(o, "name").unwrap_or_default();
        let zid = cl.cfg.zone_id(scope.zone()).unwrap_or(1);
        ("smb_share", json!({"id": name, "zid": zid}))
    }
}
