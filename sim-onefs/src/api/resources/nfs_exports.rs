//! `protocols/nfs/exports[/{id}]?zone=`: NFS exports, keyed by their numeric id.
//!
//! As on OneFS, several exports may share a path when their client lists differ (an export
//! "applies only to the clients it names"; one without clients applies to all); creating an
//! export whose paths *and* clients overlap an existing one is a conflict unless
//! `force=true` or `ignore_conflicts=true`. A path that does not exist is refused unless
//! `ignore_bad_paths=true` (the SDK's documented query arguments).

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

/// The clients an export applies to; `None` = all clients (no client list at all).
fn export_clients(o: &Obj) -> Option<std::collections::BTreeSet<String>> {
    let set: std::collections::BTreeSet<String> = CLIENT_FIELDS
        .iter()
        .filter_map(|f| o.get(*f).and_then(Value::as_array))
        .flatten()
        .filter_map(|x| x.as_str().map(|s| s.to_ascii_lowercase()))
        .collect();
    (!set.is_empty()).then_some(set)
}

const CLIENT_FIELDS: [&str; 4] = [
    "clients",
    "root_clients",
    "read_only_clients",
    "read_write_clients",
];

/// Two exports on the same paths conflict when they would answer the same client.
fn clients_overlap(
    a: &Option<std::collections::BTreeSet<String>>,
    b: &Option<std::collections::BTreeSet<String>>,
) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => !a.is_disjoint(b),
        _ => false,
    }
}

fn query_flag(q: &std::collections::BTreeMap<String, String>, k: &str) -> Result<bool, ApiError> {
    Ok(super::super::objects::query_bool(q, k)?.unwrap_or(false))
}

/// Every path of the body exists on the cluster, unless `ignore_bad_paths`.
fn check_paths_exist(cx: &Ctx<'_>, m: &Obj) -> Result<(), ApiError> {
    if query_flag(cx.query, "ignore_bad_paths")? {
        return Ok(());
    }
    for p in export_paths(m) {
        if !cx.dirs.exists(cx.c, &p) {
            return Err(ApiError::bad_request(format!(
                "Field: paths: `{p}` does not exist (create the directory first, or pass ignore_bad_paths=true)"
            )));
        }
    }
    Ok(())
}

fn export_zone(o: &Obj) -> &str {
    str_field(o, "zone").unwrap_or("System")
}

/// The write-stability fields of an export and the OneFS default of each. Their values are one
/// of [`WRITE_STABILITY`] (Dell's PAPI schema enumerates them; the generated field table only
/// knows they are strings).
const WRITE_STABILITY_DEFAULTS: [(&str, &str); 6] = [
    ("write_datasync_action", "DATASYNC"),
    ("write_datasync_reply", "DATASYNC"),
    ("write_filesync_action", "FILESYNC"),
    ("write_filesync_reply", "FILESYNC"),
    ("write_unstable_action", "UNSTABLE"),
    ("write_unstable_reply", "UNSTABLE"),
];
const WRITE_STABILITY: [&str; 3] = ["DATASYNC", "FILESYNC", "UNSTABLE"];

fn check_write_stability(m: &Obj) -> Result<(), ApiError> {
    for (f, _) in WRITE_STABILITY_DEFAULTS {
        if let Some(v) = m.get(f).filter(|v| !v.is_null()) {
            if !v.as_str().is_some_and(|s| WRITE_STABILITY.contains(&s)) {
                return Err(ApiError::bad_request(format!(
                    "Field: {f} must be one of {}",
                    WRITE_STABILITY.join(", ")
                )));
            }
        }
    }
    Ok(())
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
        render_export(key, o)
    }
    fn plain_parts(
        _cl: &Cluster,
        _scope: &Scope,
        key: &u64,
        o: &Obj,
    ) -> Option<(&'static str, Value)> {
        Some(("nfs_export", export_computed(key, o)))
    }
    fn check_body(op: Op, req: &mut Req, m: &mut Obj) -> Result<(), ApiError> {
        check_write_stability(m)?;
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
        let zone = cx.scope.zone();
        check_export_paths(cx.c, zone, &m)?;
        check_paths_exist(&cx, &m)?;
        let allow_conflict =
            query_flag(cx.query, "force")? || query_flag(cx.query, "ignore_conflicts")?;
        let Ctx { c, .. } = cx;
        m.insert("zone".into(), json!(zone));
        let paths = export_paths(&m);
        let clients = export_clients(&m);
        if let Some((other, _)) = c.nfs_exports.iter().find(|(_, o)| {
            export_zone(o) == zone
                && export_paths(o) == paths
                && clients_overlap(&export_clients(o), &clients)
        }) {
            if !allow_conflict {
                return Err(ApiError::conflict(format!(
                    "Export rules conflict: export {other} already exports {} to the same clients (give this export other clients, or pass force=true)",
                    paths.join(", ")
                )));
            }
        }
        let id = c.next_export_id;
        c.next_export_id += 1;
        Ok(Created::new(id, id, json!(id), m))
    }
    fn update(cx: Ctx<'_>, key: &u64, m: Obj) -> Result<Value, ApiError> {
        check_export_paths(cx.c, cx.scope.zone(), &m)?;
        if m.contains_key("paths") {
            check_paths_exist(&cx, &m)?;
        }
        let Ctx { c, .. } = cx;
        if let Some(o) = c.nfs_exports.get_mut(key) {
            merge(o, &m, &[]);
        }
        Ok(Value::Object(m))
    }
}

/// An export as `GET protocols/nfs/exports` shows it: the write-stability fields it lacks
/// filled in, and its id.
fn render_export(key: &u64, o: &Obj) -> Value {
    let mut o = o.clone();
    for (f, default) in WRITE_STABILITY_DEFAULTS {
        if o.get(f).is_none_or(Value::is_null) {
            o.insert(f.into(), json!(default));
        }
    }
    render("nfs_export", &o, json!({"id": key}))
}

/// [`render_export`] as computed fields over the stored export, for
/// [`super::super::objects::render_to_vec`]: a filled-in field lands where the copy put it
/// (in place of a null, after the export's own fields when missing), then the id.
fn export_computed(key: &u64, o: &Obj) -> Value {
    let mut c = serde_json::Map::new();
    for (f, default) in WRITE_STABILITY_DEFAULTS {
        if o.get(f).is_none_or(Value::is_null) {
            c.insert(f.into(), json!(default));
        }
    }
    c.insert("id".into(), json!(key));
    Value::Object(c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::objects::render_to_vec;

    /// The computed-fields form writes the bytes of the copied-and-filled rendering, with
    /// the write-stability fields missing, null, set, or some of each.
    #[test]
    fn export_computed_renders_as_the_filled_copy() {
        let cases = [
            json!({"paths": ["/ifs/a"], "zone": "System"}),
            json!({"paths": ["/ifs/a"], "write_datasync_action": null, "zone": "z"}),
            json!({"write_unstable_reply": "FILESYNC", "paths": ["/ifs/b"], "id": 9}),
            json!({"write_datasync_action": "DATASYNC", "write_datasync_reply": null,
                   "write_filesync_action": "UNSTABLE", "clients": ["10.0.0.0/8"]}),
            json!({}),
        ];
        for (i, c) in cases.iter().enumerate() {
            let o = c.as_object().cloned().unwrap_or_default();
            let key = i as u64 + 1;
            let want = serde_json::to_vec(&render_export(&key, &o)).unwrap();
            let got = render_to_vec("nfs_export", &o, &export_computed(&key, &o));
            assert_eq!(
                String::from_utf8(got).unwrap(),
                String::from_utf8(want).unwrap()
            );
        }
    }
}
