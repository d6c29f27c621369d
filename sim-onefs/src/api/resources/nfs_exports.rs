//! `protocols/nfs/exports[/{id}]?zone=`: NFS exports, keyed by their numeric id.

use serde_json::{json, Value};

use super::super::collection::{merge, stored_in, Created, Ctx, Op, Req, Resource, Scope, Spec};
use super::super::objects::{render, str_field};
use super::super::ApiError;
use super::check_under_zone;
use crate::config::{ConfigState, Obj};
use crate::model::Cluster;

pub(crate) struct NfsExports;

fn export_paths(o: &Obj) -> Vec<String> {
    let mut v: Vec<String> = o
        .get("paths")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

fn export_zone(o: &Obj) -> &str {
    str_field(o, "zone").unwrap_or("System")
}

fn check_export_paths(c: &ConfigState, zone: &str, m: &Obj) -> Result<(), ApiError> {
    if let Some(Value::Array(a)) = m.get("paths") {
        if a.is_empty() {
            return Err(ApiError::bad_request("Field: paths must not be empty"));
        }
        for p in a {
            check_under_zone(c, zone, "paths", p.as_str().unwrap_or_default())?;
        }
    }
    Ok(())
}

impl Resource for NfsExports {
    const SPEC: Spec = Spec::new("nfs_export", "exports", "nfs.export")
        .required(&["paths"])
        .read_only(&["id", "conflicting_paths", "unresolved_clients"])
        .paths(&["paths"])
        .zoned();

    stored_in!(u64, nfs_exports);
    fn listed(scope: &Scope, req: &Req, _key: &u64, o: &Obj) -> bool {
        export_zone(o) == scope.zone()
            && req
                .query
                .get("path")
                .is_none_or(|p| export_paths(o).iter().any(|x| x == p))
    }
    fn find(c: &ConfigState, scope: &Scope, req: &Req) -> Result<u64, ApiError> {
        let id = req.id();
        id.parse::<u64>()
            .ok()
            .filter(|n| {
                c.nfs_exports
                    .get(n)
                    .is_some_and(|o| export_zone(o) == scope.zone())
            })
            .ok_or_else(|| ApiError::not_found(format!("NFS export {id} not found")))
    }
    fn render(_cl: &Cluster, _scope: &Scope, key: &u64, o: &Obj) -> Value {
        render("nfs_export", o, json!({"id": key}))
    }
    fn check_body(op: Op, req: &mut Req, m: &mut Obj) -> Result<(), ApiError> {
        if op == Op::Create {
            if let Some(z) = str_field(m, "zone") {
                req.query.insert("zone".into(), z.to_string());
            }
        } else if m.contains_key("zone") {
            return Err(ApiError::bad_request(
                "Field: zone may not be changed; use ?zone= to address the export",
            ));
        }
        Ok(())
    }
    fn create(cx: Ctx<'_>, mut m: Obj) -> Result<Created<u64>, ApiError> {
        let Ctx { c, scope, .. } = cx;
        let zone = scope.zone();
        check_export_paths(c, zone, &m)?;
        m.insert("zone".into(), json!(zone));
        let paths = export_paths(&m);
        if let Some((other, _)) = c
            .nfs_exports
            .iter()
            .find(|(_, o)| export_zone(o) == zone && export_paths(o) == paths)
        {
            return Err(ApiError::conflict(format!(
                "An export with the same paths already exists (id {other})"
            )));
        }
        let id = c.next_export_id;
        c.next_export_id += 1;
        Ok(Created::new(id, id, json!(id), m))
    }
    fn update(cx: Ctx<'_>, key: &u64, m: Obj) -> Result<Value, ApiError> {
        let Ctx { c, scope, .. } = cx;
        check_export_paths(c, scope.zone(), &m)?;
        if let Some(o) = c.nfs_exports.get_mut(key) {
            merge(o, &m, &[]);
        }
        Ok(Value::Object(m))
    }
}
