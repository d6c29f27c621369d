//! `protocols/nfs/aliases[/{name}]?zone=`: NFS aliases, keyed by zone and name.

use serde_json::{json, Value};

use super::super::collection::{
    merge_rekey, stored_in, Created, Ctx, Op, Req, Resource, Scope, Spec,
};
use super::super::objects::{render, str_field};
use super::super::ApiError;
use super::{body_zone, check_path_in_zone, check_under_zone};
use crate::config::{zone_key, ConfigState, Obj};
use crate::model::Cluster;

pub(crate) struct NfsAliases;

fn check_alias_name(n: &str) -> Result<(), ApiError> {
    if !n.starts_with('/') || n.len() < 2 || n.contains("//") {
        return Err(ApiError::bad_request(format!(
            "Field: name: alias `{n}` must start with / and name a path"
        )));
    }
    Ok(())
}

impl Resource for NfsAliases {
    const SPEC: Spec = Spec::new("nfs_alias", "aliases", "nfs.alias")
        .required(&["name", "path"])
        .read_only(&["id", "health"])
        .paths(&["path"])
        .zone_keyed();

    stored_in!(String, nfs_aliases);
    fn find(c: &ConfigState, scope: &Scope, req: &Req) -> Result<String, ApiError> {
        let id = req.id();
        let k = zone_key(scope.zone(), &id);
        if c.nfs_aliases.contains_key(&k) {
            Ok(k)
        } else {
            Err(ApiError::not_found(format!("NFS alias {id} not found")))
        }
    }
    fn render(cl: &Cluster, scope: &Scope, key: &String, o: &Obj) -> Value {
        let (kind, computed) = Self::plain_parts(cl, scope, key, o).unwrap_or_default();
        render(kind, o, computed)
    }
    fn plain_parts(
        _cl: &Cluster,
        scope: &Scope,
        _key: &String,
        o: &Obj,
    ) -> Option<(&'static str, Value)> {
        let name = str_field(o, "name").unwrap_or_default();
        Some((
            "nfs_alias",
            json!({"id": name, "zone": scope.zone(), "health": "unknown"}),
        ))
    }
    fn check_body(op: Op, req: &mut Req, m: &mut Obj) -> Result<(), ApiError> {
        if op == Op::Create {
            check_alias_name(str_field(m, "name").unwrap_or_default())?;
            body_zone(req, m.remove("zone"));
            return Ok(());
        }
        if let Some(n) = str_field(m, "name") {
            check_alias_name(n)?;
        }
        if m.contains_key("zone") {
            return Err(ApiError::bad_request("Field: zone may not be changed"));
        }
        Ok(())
    }
    fn create(cx: Ctx<'_>, m: Obj) -> Result<Created<String>, ApiError> {
        let Ctx { c, scope, .. } = cx;
        let zone = scope.zone();
        let name = str_field(&m, "name").unwrap_or_default().to_string();
        check_under_zone(c, zone, "path", str_field(&m, "path").unwrap_or_default())?;
        let k = zone_key(zone, &name);
        if c.nfs_aliases.contains_key(&k) {
            return Err(ApiError::conflict(format!(
                "NFS alias {name} already exists in zone {zone}"
            )));
        }
        Ok(Created::new(k, &name, json!(name), m))
    }
    fn update(cx: Ctx<'_>, k: &String, m: Obj) -> Result<Value, ApiError> {
        let Ctx { c, scope, .. } = cx;
        let zone = scope.zone();
        check_path_in_zone(c, zone, &m)?;
        let nk = str_field(&m, "name").map_or(k.clone(), |n| zone_key(zone, n));
        if &nk != k && c.nfs_aliases.contains_key(&nk) {
            return Err(ApiError::conflict("an alias with that name already exists"));
        }
        merge_rekey(&mut c.nfs_aliases, k, nk, &m, &[]);
        Ok(Value::Object(m))
    }
}
