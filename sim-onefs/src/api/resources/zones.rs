//! `zones[/{name|id}]`: access zones, keyed by name. Renaming a zone re-keys the shares,
//! aliases, exports and pools of the zone; deleting one deletes its shares, aliases and
//! exports.

use serde_json::{json, Value};

use super::super::collection::{merge, stored_in, Created, Ctx, Op, Req, Resource, Scope, Spec};
use super::super::objects::{render, str_field};
use super::super::ApiError;
use crate::config::{ConfigState, Obj, KEY_SEP};
use crate::model::Cluster;

pub(crate) struct Zones;

fn valid_name(n: &str) -> Result<(), ApiError> {
    if n.is_empty() || n.contains(KEY_SEP) || n.contains('/') {
        return Err(ApiError::bad_request("Field: name: invalid zone name"));
    }
    Ok(())
}

fn exists(name: &str) -> ApiError {
    ApiError::conflict(format!("Zone {name} already exists"))
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

impl Resource for Zones {
    const SPEC: Spec = Spec::new("zone", "zones", "zone")
        .required(&["name", "path"])
        .read_only(&["id", "zone_id", "system"])
        .paths(&["path"]);

    stored_in!(String, zones);
    fn find(c: &ConfigState, _scope: &Scope, req: &Req) -> Result<String, ApiError> {
        let id = req.id();
        c.zone_name(&id)
            .ok_or_else(|| ApiError::not_found(format!("Zone {id} not found")))
    }
    fn render(_cl: &Cluster, _scope: &Scope, name: &String, o: &Obj) -> Value {
        render(
            "zone",
            o,
            json!({"id": name, "name": name, "system": name == "System"}),
        )
    }
    fn check_body(op: Op, _req: &mut Req, m: &mut Obj) -> Result<(), ApiError> {
        if op == Op::Create {
            valid_name(str_field(m, "name").unwrap_or_default())?;
        }
        Ok(())
    }
    fn create(cx: Ctx<'_>, m: Obj) -> Result<Created<String>, ApiError> {
        let Ctx { c, .. } = cx;
        let name = str_field(&m, "name").unwrap_or_default().to_string();
        if c.zones.contains_key(&name) {
            return Err(exists(&name));
        }
        let path = str_field(&m, "path").unwrap_or_default();
        let id = c.add_zone(&name, path);
        let mut z = c.zones.get(&name).cloned().unwrap_or_default();
        merge(&mut z, &m, &["create_path", "force_overlap"]);
        Ok(Created {
            key: name.clone(),
            obj: z,
            object: name,
            detail: Value::Object(m),
            id: json!(id.to_string()),
        })
    }
    fn update(cx: Ctx<'_>, n: &String, m: Obj) -> Result<Value, ApiError> {
        let Ctx { c, .. } = cx;
        if let Some(new) = str_field(&m, "name") {
            if n == "System" && new != "System" {
                return Err(ApiError::bad_request(
                    "Field: name: the System zone cannot be renamed",
                ));
            }
            if new != n && c.zones.contains_key(new) {
                return Err(exists(new));
            }
            valid_name(new)?;
        }
        if n == "System" && str_field(&m, "path").is_some_and(|p| p != "/ifs") {
            return Err(ApiError::bad_request(
                "Field: path: the System zone's base path is /ifs",
            ));
        }
        let mut z = c.zones.remove(n).unwrap_or_default();
        merge(&mut z, &m, &[]);
        let new = str_field(&z, "name").unwrap_or(n).to_string();
        if &new != n {
            rename_zone_refs(c, n, &new);
        }
        c.zones.insert(new, z);
        Ok(Value::Object(m))
    }
    fn delete(c: &mut ConfigState, _req: &Req, n: &String) -> Result<Value, ApiError> {
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
        c.zones.remove(n);
        let prefix = format!("{n}{KEY_SEP}");
        c.smb_shares.retain(|k, _| !k.starts_with(&prefix));
        c.nfs_aliases.retain(|k, _| !k.starts_with(&prefix));
        c.nfs_exports
            .retain(|_, e| str_field(e, "zone") != Some(n.as_str()));
        Ok(Value::Null)
    }
}
