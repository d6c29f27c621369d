//! `protocols/smb/shares`, `protocols/smb/openfiles`, `protocols/{smb,nfs}/settings/global`,
//! `protocols/nfs/exports`, `protocols/nfs/aliases`, `dedupe/settings`,
//! `snapshot/schedules`, `quota/quotas`.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::Extension;
use serde_json::{json, Map, Value};

use super::objects::{
    audit, check_query, enum_values, list_paged, list_query, query_bool, render, str_field,
    validate, QueryR,
};
use super::*;
use crate::config::{default_share_permissions, zone_key, ConfigState, KEY_SEP};
use crate::model::{is_under, random_hex, valid_ifs_path, WorldState};

pub(super) type PathR = Result<Path<BTreeMap<String, String>>, PathRejection>;

pub(super) fn params(p: PathR) -> Result<BTreeMap<String, String>, ApiError> {
    Ok(p.map_err(|e| ApiError::bad_request(e.body_text()))?.0)
}

pub(super) fn cfg<'a>(w: &'a WorldState, st: &ApiState) -> Result<&'a ConfigState, ApiError> {
    Ok(&w
        .cluster(&st.cluster)
        .ok_or_else(|| ApiError::not_found("cluster"))?
        .cfg)
}

pub(super) fn cfg_mut<'a>(
    w: &'a mut WorldState,
    st: &ApiState,
) -> Result<&'a mut ConfigState, ApiError> {
    Ok(&mut w
        .cluster_mut(&st.cluster)
        .ok_or_else(|| ApiError::not_found("cluster"))?
        .cfg)
}

/// The access zone of a request: `?zone=` (default `System`), which must exist.
fn zone_arg(c: &ConfigState, q: &BTreeMap<String, String>) -> Result<String, ApiError> {
    let z = q.get("zone").cloned().unwrap_or_else(|| "System".into());
    c.zone_name(&z)
        .ok_or_else(|| ApiError::not_found(format!("Zone {z} not found")))
}

fn check_under_zone(c: &ConfigState, zone: &str, field: &str, path: &str) -> Result<(), ApiError> {
    let base = c.zone_base(zone).unwrap_or_else(|| "/ifs".into());
    if is_under(path, &base) {
        Ok(())
    } else {
        Err(ApiError::bad_request(format!(
            "Field: {field}: `{path}` is not within the base path {base} of zone {zone}"
        )))
    }
}

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

// ------------------------------------------------------------------------- SMB shares

fn share_json(c: &ConfigState, zone: &str, o: &Map<String, Value>) -> Value {
    let name = str_field(o, "name").unwrap_or_default();
    render(
        "smb_share",
        o,
        json!({"id": name, "zid": c.zone_id(zone).unwrap_or(1)}),
    )
}

fn share_key(c: &ConfigState, zone: &str, name: &str) -> Option<String> {
    let k = zone_key(zone, &name.to_lowercase());
    c.smb_shares.contains_key(&k).then_some(k)
}

pub(super) async fn smb_share_list(State(st): State<ApiState>, q: QueryR) -> ApiResult {
    let (q, off) = list_query(q)?;
    st.sim.with_world(|w| {
        let c = cfg(w, &st)?;
        let zone = zone_arg(c, &q)?;
        let prefix = format!("{zone}{KEY_SEP}");
        let items = c
            .smb_shares
            .iter()
            .filter(|(k, _)| k.starts_with(&prefix))
            .map(|(_, o)| share_json(c, &zone, o))
            .collect();
        list_paged("shares", items, &q, off)
    })
}

pub(super) async fn smb_share_get(State(st): State<ApiState>, p: PathR, q: QueryR) -> ApiResult {
    let id = params(p)?.remove("id").unwrap_or_default();
    let (q, _) = list_query(q)?;
    st.sim.with_world(|w| {
        let c = cfg(w, &st)?;
        let zone = zone_arg(c, &q)?;
        let k = share_key(c, &zone, &id)
            .ok_or_else(|| ApiError::not_found(format!("SMB share {id} not found")))?;
        Ok(single_envelope(
            "shares",
            share_json(c, &zone, &c.smb_shares[&k]),
        ))
    })
}

const SHARE_RO: &[&str] = &["id", "zid"];

pub(super) async fn smb_share_create(
    State(st): State<ApiState>,
    Extension(ctx): Extension<ReqCtx>,
    q: QueryR,
    body: Bytes,
) -> ApiResult {
    let (q, _) = list_query(q)?;
    let mut m = json_object(&body)?;
    validate("smb_share", &m, &["name", "path"], SHARE_RO, &["path"])?;
    check_permissions(&m)?;
    let name = str_field(&m, "name").unwrap_or_default().to_string();
    check_share_name(&name)?;
    let body_zone = m
        .remove("zone")
        .and_then(|z| z.as_str().map(str::to_string));
    m.remove("create_path");
    st.sim.with_world(|w| {
        let c = cfg(w, &st)?;
        let mut qz = q.clone();
        if let Some(z) = body_zone {
            qz.insert("zone".into(), z);
        }
        let zone = zone_arg(c, &qz)?;
        check_under_zone(c, &zone, "path", str_field(&m, "path").unwrap_or_default())?;
        if share_key(c, &zone, &name).is_some() {
            return Err(ApiError::conflict(format!(
                "SMB share {name} already exists in zone {zone}"
            )));
        }
        if !m.contains_key("permissions") {
            m.insert("permissions".into(), default_share_permissions());
        }
        let detail = Value::Object(m.clone());
        cfg_mut(w, &st)?
            .smb_shares
            .insert(zone_key(&zone, &name.to_lowercase()), m);
        let mut ctx = ctx.clone();
        ctx.zone.get_or_insert(zone);
        audit(w, &st, &ctx, "smb.share.create", &name, detail);
        Ok(created(&name))
    })
}

pub(super) async fn smb_share_update(
    State(st): State<ApiState>,
    Extension(ctx): Extension<ReqCtx>,
    p: PathR,
    q: QueryR,
    body: Bytes,
) -> ApiResult {
    let id = params(p)?.remove("id").unwrap_or_default();
    let (q, _) = list_query(q)?;
    let m = json_object(&body)?;
    validate("smb_share", &m, &[], SHARE_RO, &["path"])?;
    check_permissions(&m)?;
    if let Some(n) = str_field(&m, "name") {
        check_share_name(n)?;
    }
    st.sim.with_world(|w| {
        let c = cfg(w, &st)?;
        let zone = zone_arg(c, &q)?;
        let k = share_key(c, &zone, &id)
            .ok_or_else(|| ApiError::not_found(format!("SMB share {id} not found")))?;
        if let Some(p) = str_field(&m, "path") {
            check_under_zone(c, &zone, "path", p)?;
        }
        let new_key = match str_field(&m, "name") {
            Some(n) => {
                let nk = zone_key(&zone, &n.to_lowercase());
                if nk != k && c.smb_shares.contains_key(&nk) {
                    return Err(ApiError::conflict(format!(
                        "SMB share {n} already exists in zone {zone}"
                    )));
                }
                nk
            }
            None => k.clone(),
        };
        let c = cfg_mut(w, &st)?;
        let mut o = c.smb_shares.remove(&k).expect("exists");
        for (f, v) in &m {
            if f == "zone" {
                continue;
            }
            o.insert(f.clone(), v.clone());
        }
        c.smb_shares.insert(new_key, o);
        let mut ctx = ctx.clone();
        ctx.zone.get_or_insert(zone);
        audit(w, &st, &ctx, "smb.share.update", &id, Value::Object(m));
        Ok(no_content())
    })
}

pub(super) async fn smb_share_delete(
    State(st): State<ApiState>,
    Extension(ctx): Extension<ReqCtx>,
    p: PathR,
    q: QueryR,
) -> ApiResult {
    let id = params(p)?.remove("id").unwrap_or_default();
    let (q, _) = list_query(q)?;
    st.sim.with_world(|w| {
        let c = cfg(w, &st)?;
        let zone = zone_arg(c, &q)?;
        let k = share_key(c, &zone, &id)
            .ok_or_else(|| ApiError::not_found(format!("SMB share {id} not found")))?;
        cfg_mut(w, &st)?.smb_shares.remove(&k);
        let mut ctx = ctx.clone();
        ctx.zone.get_or_insert(zone);
        audit(w, &st, &ctx, "smb.share.delete", &id, Value::Null);
        Ok(no_content())
    })
}

/// `DELETE protocols/smb/shares[?zone=]`: delete every share of one access zone.
pub(super) async fn smb_share_delete_all(
    State(st): State<ApiState>,
    Extension(ctx): Extension<ReqCtx>,
    q: QueryR,
) -> ApiResult {
    let (q, _) = list_query(q)?;
    check_query(&q, &["zone"])?;
    st.sim.with_world(|w| {
        let zone = zone_arg(cfg(w, &st)?, &q)?;
        let prefix = zone_key(&zone, "");
        let c = cfg_mut(w, &st)?;
        let keys: Vec<String> = c
            .smb_shares
            .keys()
            .filter(|k| k.starts_with(&prefix))
            .cloned()
            .collect();
        let names: Vec<Value> = keys
            .iter()
            .filter_map(|k| c.smb_shares.remove(k))
            .filter_map(|o| o.get("name").cloned())
            .collect();
        let mut ctx = ctx.clone();
        ctx.zone.get_or_insert(zone.clone());
        audit(
            w,
            &st,
            &ctx,
            "smb.shares.delete_all",
            &zone,
            json!({"deleted": names}),
        );
        Ok(no_content())
    })
}

// ------------------------------------------------------------------------- open files

pub(super) async fn openfiles_list(State(st): State<ApiState>, q: QueryR) -> ApiResult {
    let (q, off) = list_query(q)?;
    st.sim.with_world(|w| {
        let c = cfg(w, &st)?;
        let items = c
            .openfiles
            .iter()
            .map(|(id, o)| render("smb_openfile", o, json!({"id": id})))
            .collect();
        list_paged("openfiles", items, &q, off)
    })
}

pub(super) async fn openfile_delete(
    State(st): State<ApiState>,
    Extension(ctx): Extension<ReqCtx>,
    p: PathR,
) -> ApiResult {
    let id = params(p)?.remove("id").unwrap_or_default();
    st.sim.with_world(|w| {
        let n: u64 = id
            .parse()
            .map_err(|_| ApiError::not_found(format!("Open file {id} not found")))?;
        cfg_mut(w, &st)?
            .openfiles
            .remove(&n)
            .ok_or_else(|| ApiError::not_found(format!("Open file {id} not found")))?;
        audit(w, &st, &ctx, "smb.openfile.close", &id, Value::Null);
        Ok(no_content())
    })
}

// ------------------------------------------------------------------------- settings

type Sel = fn(&mut ConfigState) -> &mut Map<String, Value>;

fn settings_get(st: &ApiState, kind: &'static str, sel: Sel) -> ApiResult {
    st.sim.with_world(|w| {
        let o = sel(cfg_mut(w, st)?).clone();
        Ok(Json(json!({"settings": render(kind, &o, Value::Null)})).into_response())
    })
}

fn settings_put(
    st: &ApiState,
    ctx: &ReqCtx,
    body: &Bytes,
    kind: &'static str,
    action: &str,
    sel: Sel,
    paths: &[&str],
) -> ApiResult {
    let m = json_object(body)?;
    validate(kind, &m, &[], &[], paths)?;
    st.sim.with_world(|w| {
        let o = sel(cfg_mut(w, st)?);
        for (k, v) in &m {
            o.insert(k.clone(), v.clone());
        }
        audit(w, st, ctx, action, kind, Value::Object(m));
        Ok(no_content())
    })
}

pub(super) async fn smb_settings_get(State(st): State<ApiState>) -> ApiResult {
    settings_get(&st, "smb_settings", |c| &mut c.smb_settings)
}
pub(super) async fn smb_settings_put(
    State(st): State<ApiState>,
    Extension(ctx): Extension<ReqCtx>,
    body: Bytes,
) -> ApiResult {
    settings_put(
        &st,
        &ctx,
        &body,
        "smb_settings",
        "protocol.settings.update",
        |c| &mut c.smb_settings,
        &[],
    )
}
pub(super) async fn nfs_settings_get(State(st): State<ApiState>) -> ApiResult {
    settings_get(&st, "nfs_settings", |c| &mut c.nfs_settings)
}
pub(super) async fn nfs_settings_put(
    State(st): State<ApiState>,
    Extension(ctx): Extension<ReqCtx>,
    body: Bytes,
) -> ApiResult {
    settings_put(
        &st,
        &ctx,
        &body,
        "nfs_settings",
        "protocol.settings.update",
        |c| &mut c.nfs_settings,
        &[],
    )
}
pub(super) async fn dedupe_get(State(st): State<ApiState>) -> ApiResult {
    settings_get(&st, "dedupe_settings", |c| &mut c.dedupe)
}
pub(super) async fn dedupe_put(
    State(st): State<ApiState>,
    Extension(ctx): Extension<ReqCtx>,
    body: Bytes,
) -> ApiResult {
    settings_put(
        &st,
        &ctx,
        &body,
        "dedupe_settings",
        "dedupe.settings.update",
        |c| &mut c.dedupe,
        &["paths", "assess_paths"],
    )
}

// ------------------------------------------------------------------------- NFS exports

fn export_json(id: u64, o: &Map<String, Value>) -> Value {
    render("nfs_export", o, json!({"id": id}))
}

fn export_paths(o: &Map<String, Value>) -> Vec<String> {
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

fn export_zone(o: &Map<String, Value>) -> &str {
    str_field(o, "zone").unwrap_or("System")
}

fn find_export(c: &ConfigState, id: &str, zone: &str) -> Result<u64, ApiError> {
    id.parse::<u64>()
        .ok()
        .filter(|n| c.nfs_exports.get(n).is_some_and(|o| export_zone(o) == zone))
        .ok_or_else(|| ApiError::not_found(format!("NFS export {id} not found")))
}

const EXPORT_RO: &[&str] = &["id", "conflicting_paths", "unresolved_clients"];

fn check_export_paths(c: &ConfigState, zone: &str, m: &Map<String, Value>) -> Result<(), ApiError> {
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

pub(super) async fn nfs_export_list(State(st): State<ApiState>, q: QueryR) -> ApiResult {
    let (q, off) = list_query(q)?;
    st.sim.with_world(|w| {
        let c = cfg(w, &st)?;
        let zone = zone_arg(c, &q)?;
        let items = c
            .nfs_exports
            .iter()
            .filter(|(_, o)| export_zone(o) == zone)
            .filter(|(_, o)| {
                q.get("path")
                    .is_none_or(|p| export_paths(o).iter().any(|x| x == p))
            })
            .map(|(id, o)| export_json(*id, o))
            .collect();
        list_paged("exports", items, &q, off)
    })
}

pub(super) async fn nfs_export_get(State(st): State<ApiState>, p: PathR, q: QueryR) -> ApiResult {
    let id = params(p)?.remove("id").unwrap_or_default();
    let (q, _) = list_query(q)?;
    st.sim.with_world(|w| {
        let c = cfg(w, &st)?;
        let zone = zone_arg(c, &q)?;
        let n = find_export(c, &id, &zone)?;
        Ok(single_envelope(
            "exports",
            export_json(n, &c.nfs_exports[&n]),
        ))
    })
}

pub(super) async fn nfs_export_create(
    State(st): State<ApiState>,
    Extension(ctx): Extension<ReqCtx>,
    q: QueryR,
    body: Bytes,
) -> ApiResult {
    let (q, _) = list_query(q)?;
    let mut m = json_object(&body)?;
    validate("nfs_export", &m, &["paths"], EXPORT_RO, &["paths"])?;
    st.sim.with_world(|w| {
        let c = cfg(w, &st)?;
        let mut qz = q.clone();
        if let Some(z) = str_field(&m, "zone") {
            qz.insert("zone".into(), z.to_string());
        }
        let zone = zone_arg(c, &qz)?;
        check_export_paths(c, &zone, &m)?;
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
        let c = cfg_mut(w, &st)?;
        let id = c.next_export_id;
        c.next_export_id += 1;
        let detail = Value::Object(m.clone());
        c.nfs_exports.insert(id, m);
        let mut ctx = ctx.clone();
        ctx.zone.get_or_insert(zone);
        audit(w, &st, &ctx, "nfs.export.create", &id.to_string(), detail);
        Ok((StatusCode::CREATED, Json(json!({"id": id}))).into_response())
    })
}

pub(super) async fn nfs_export_update(
    State(st): State<ApiState>,
    Extension(ctx): Extension<ReqCtx>,
    p: PathR,
    q: QueryR,
    body: Bytes,
) -> ApiResult {
    let id = params(p)?.remove("id").unwrap_or_default();
    let (q, _) = list_query(q)?;
    let m = json_object(&body)?;
    validate("nfs_export", &m, &[], EXPORT_RO, &["paths"])?;
    if m.contains_key("zone") {
        return Err(ApiError::bad_request(
            "Field: zone may not be changed; use ?zone= to address the export",
        ));
    }
    st.sim.with_world(|w| {
        let c = cfg(w, &st)?;
        let zone = zone_arg(c, &q)?;
        let n = find_export(c, &id, &zone)?;
        check_export_paths(c, &zone, &m)?;
        let o = cfg_mut(w, &st)?.nfs_exports.get_mut(&n).expect("exists");
        for (k, v) in &m {
            o.insert(k.clone(), v.clone());
        }
        let mut ctx = ctx.clone();
        ctx.zone.get_or_insert(zone);
        audit(w, &st, &ctx, "nfs.export.update", &id, Value::Object(m));
        Ok(no_content())
    })
}

pub(super) async fn nfs_export_delete(
    State(st): State<ApiState>,
    Extension(ctx): Extension<ReqCtx>,
    p: PathR,
    q: QueryR,
) -> ApiResult {
    let id = params(p)?.remove("id").unwrap_or_default();
    let (q, _) = list_query(q)?;
    st.sim.with_world(|w| {
        let c = cfg(w, &st)?;
        let zone = zone_arg(c, &q)?;
        let n = find_export(c, &id, &zone)?;
        cfg_mut(w, &st)?.nfs_exports.remove(&n);
        let mut ctx = ctx.clone();
        ctx.zone.get_or_insert(zone);
        audit(w, &st, &ctx, "nfs.export.delete", &id, Value::Null);
        Ok(no_content())
    })
}

// ------------------------------------------------------------------------- NFS aliases

fn alias_json(zone: &str, o: &Map<String, Value>) -> Value {
    let name = str_field(o, "name").unwrap_or_default();
    render(
        "nfs_alias",
        o,
        json!({"id": name, "zone": zone, "health": "unknown"}),
    )
}

fn check_alias_name(n: &str) -> Result<(), ApiError> {
    if !n.starts_with('/') || n.len() < 2 || n.contains("//") {
        return Err(ApiError::bad_request(format!(
            "Field: name: alias `{n}` must start with / and name a path"
        )));
    }
    Ok(())
}

const ALIAS_RO: &[&str] = &["id", "health"];

pub(super) async fn nfs_alias_list(State(st): State<ApiState>, q: QueryR) -> ApiResult {
    let (q, off) = list_query(q)?;
    st.sim.with_world(|w| {
        let c = cfg(w, &st)?;
        let zone = zone_arg(c, &q)?;
        let prefix = format!("{zone}{KEY_SEP}");
        let items = c
            .nfs_aliases
            .iter()
            .filter(|(k, _)| k.starts_with(&prefix))
            .map(|(_, o)| alias_json(&zone, o))
            .collect();
        list_paged("aliases", items, &q, off)
    })
}

pub(super) async fn nfs_alias_get(State(st): State<ApiState>, p: PathR, q: QueryR) -> ApiResult {
    let id = params(p)?.remove("id").unwrap_or_default();
    let (q, _) = list_query(q)?;
    st.sim.with_world(|w| {
        let c = cfg(w, &st)?;
        let zone = zone_arg(c, &q)?;
        let o = c
            .nfs_aliases
            .get(&zone_key(&zone, &id))
            .ok_or_else(|| ApiError::not_found(format!("NFS alias {id} not found")))?;
        Ok(single_envelope("aliases", alias_json(&zone, o)))
    })
}

pub(super) async fn nfs_alias_create(
    State(st): State<ApiState>,
    Extension(ctx): Extension<ReqCtx>,
    q: QueryR,
    body: Bytes,
) -> ApiResult {
    let (q, _) = list_query(q)?;
    let mut m = json_object(&body)?;
    validate("nfs_alias", &m, &["name", "path"], ALIAS_RO, &["path"])?;
    let name = str_field(&m, "name").unwrap_or_default().to_string();
    check_alias_name(&name)?;
    st.sim.with_world(|w| {
        let c = cfg(w, &st)?;
        let mut qz = q.clone();
        if let Some(z) = m
            .remove("zone")
            .and_then(|z| z.as_str().map(str::to_string))
        {
            qz.insert("zone".into(), z);
        }
        let zone = zone_arg(c, &qz)?;
        check_under_zone(c, &zone, "path", str_field(&m, "path").unwrap_or_default())?;
        let k = zone_key(&zone, &name);
        if c.nfs_aliases.contains_key(&k) {
            return Err(ApiError::conflict(format!(
                "NFS alias {name} already exists in zone {zone}"
            )));
        }
        let detail = Value::Object(m.clone());
        cfg_mut(w, &st)?.nfs_aliases.insert(k, m);
        let mut ctx = ctx.clone();
        ctx.zone.get_or_insert(zone);
        audit(w, &st, &ctx, "nfs.alias.create", &name, detail);
        Ok(created(&name))
    })
}

pub(super) async fn nfs_alias_update(
    State(st): State<ApiState>,
    Extension(ctx): Extension<ReqCtx>,
    p: PathR,
    q: QueryR,
    body: Bytes,
) -> ApiResult {
    let id = params(p)?.remove("id").unwrap_or_default();
    let (q, _) = list_query(q)?;
    let m = json_object(&body)?;
    validate("nfs_alias", &m, &[], ALIAS_RO, &["path"])?;
    if let Some(n) = str_field(&m, "name") {
        check_alias_name(n)?;
    }
    if m.contains_key("zone") {
        return Err(ApiError::bad_request("Field: zone may not be changed"));
    }
    st.sim.with_world(|w| {
        let c = cfg(w, &st)?;
        let zone = zone_arg(c, &q)?;
        let k = zone_key(&zone, &id);
        if !c.nfs_aliases.contains_key(&k) {
            return Err(ApiError::not_found(format!("NFS alias {id} not found")));
        }
        if let Some(p) = str_field(&m, "path") {
            check_under_zone(c, &zone, "path", p)?;
        }
        let nk = str_field(&m, "name").map_or(k.clone(), |n| zone_key(&zone, n));
        if nk != k && c.nfs_aliases.contains_key(&nk) {
            return Err(ApiError::conflict("an alias with that name already exists"));
        }
        let c = cfg_mut(w, &st)?;
        let mut o = c.nfs_aliases.remove(&k).expect("exists");
        for (f, v) in &m {
            o.insert(f.clone(), v.clone());
        }
        c.nfs_aliases.insert(nk, o);
        let mut ctx = ctx.clone();
        ctx.zone.get_or_insert(zone);
        audit(w, &st, &ctx, "nfs.alias.update", &id, Value::Object(m));
        Ok(no_content())
    })
}

pub(super) async fn nfs_alias_delete(
    State(st): State<ApiState>,
    Extension(ctx): Extension<ReqCtx>,
    p: PathR,
    q: QueryR,
) -> ApiResult {
    let id = params(p)?.remove("id").unwrap_or_default();
    let (q, _) = list_query(q)?;
    st.sim.with_world(|w| {
        let c = cfg(w, &st)?;
        let zone = zone_arg(c, &q)?;
        cfg_mut(w, &st)?
            .nfs_aliases
            .remove(&zone_key(&zone, &id))
            .ok_or_else(|| ApiError::not_found(format!("NFS alias {id} not found")))?;
        let mut ctx = ctx.clone();
        ctx.zone.get_or_insert(zone);
        audit(w, &st, &ctx, "nfs.alias.delete", &id, Value::Null);
        Ok(no_content())
    })
}

// ------------------------------------------------------------------------- quotas

const QUOTA_RO: &[&str] = &[
    "id",
    "usage",
    "ready",
    "linked",
    "notifications",
    "efficiency_ratio",
    "reduction_ratio",
];

fn check_thresholds(m: &Map<String, Value>) -> Result<(), ApiError> {
    let Some(t) = m.get("thresholds") else {
        return Ok(());
    };
    let t = t
        .as_object()
        .ok_or_else(|| ApiError::bad_request("Field: thresholds must be an object"))?;
    for (k, v) in t {
        let ok_key = matches!(
            k.as_str(),
            "hard" | "soft" | "advisory" | "soft_grace" | "percent_advisory" | "percent_soft"
        );
        if !ok_key {
            return Err(ApiError::bad_request(format!(
                "Field: thresholds.{k} is not a valid field"
            )));
        }
        if !(v.is_null() || v.is_u64() || (k.starts_with("percent") && v.is_number())) {
            return Err(ApiError::bad_request(format!(
                "Field: thresholds.{k} must be a non-negative integer"
            )));
        }
    }
    let g = |k: &str| t.get(k).and_then(Value::as_u64);
    if g("soft").is_some() && g("soft_grace").is_none() {
        return Err(ApiError::bad_request(
            "Field: thresholds.soft_grace is required with a soft threshold",
        ));
    }
    if let (Some(s), Some(h)) = (g("soft"), g("hard")) {
        if s > h {
            return Err(ApiError::bad_request(
                "Field: thresholds.soft must not exceed thresholds.hard",
            ));
        }
    }
    if let (Some(a), Some(h)) = (g("advisory"), g("hard")) {
        if a > h {
            return Err(ApiError::bad_request(
                "Field: thresholds.advisory must not exceed thresholds.hard",
            ));
        }
    }
    Ok(())
}

fn persona_key(o: &Map<String, Value>) -> String {
    o.get("persona")
        .and_then(Value::as_object)
        .map(|p| {
            str_field(p, "id")
                .or_else(|| str_field(p, "name"))
                .unwrap_or_default()
                .to_string()
        })
        .unwrap_or_default()
}

fn quota_json(w: &WorldState, cluster: &str, id: &str, o: &Map<String, Value>) -> Value {
    let path = str_field(o, "path").unwrap_or_default();
    let (bytes, files) = w
        .cluster(cluster)
        .map(|c| {
            c.files
                .range(path.to_string()..)
                .take_while(|(k, _)| k.starts_with(path))
                .filter(|(k, _)| is_under(k, path))
                .fold((0u64, 0u64), |(b, n), (_, f)| (b + f.size_bytes, n + 1))
        })
        .unwrap_or_default();
    let usage = json!({
        "applogical": bytes, "applogical_ready": true, "fslogical": bytes, "fslogical_ready": true,
        "fsphysical": bytes, "fsphysical_ready": true, "inodes": files, "inodes_ready": true,
        "physical": bytes, "physical_data": bytes, "physical_data_ready": true,
        "physical_protection": 0, "physical_protection_ready": true, "physical_ready": true,
        "shadow_refs": 0, "shadow_refs_ready": true,
    });
    let mut th = Map::new();
    for k in ["hard", "soft", "advisory", "soft_grace"] {
        th.insert(k.into(), Value::Null);
    }
    if let Some(Value::Object(t)) = o.get("thresholds") {
        for (k, v) in t {
            th.insert(k.clone(), v.clone());
        }
    }
    for k in ["hard", "soft", "advisory"] {
        th.insert(format!("{k}_exceeded"), json!(false));
        th.insert(format!("{k}_last_exceeded"), Value::Null);
    }
    th.insert("soft_exceeded".into(), json!(false));
    render(
        "quota",
        o,
        json!({"id": id, "usage": usage, "ready": true, "notifications": "default",
               "thresholds": th, "linked": false}),
    )
}

pub(super) async fn quota_list(State(st): State<ApiState>, q: QueryR) -> ApiResult {
    let (q, off) = list_query(q)?;
    st.sim.with_world(|w| {
        let c = cfg(w, &st)?;
        let items = c
            .quotas
            .iter()
            .filter(|(_, o)| {
                q.get("path")
                    .is_none_or(|p| str_field(o, "path") == Some(p))
            })
            .filter(|(_, o)| {
                q.get("type")
                    .is_none_or(|t| str_field(o, "type") == Some(t))
            })
            .map(|(id, o)| quota_json(w, &st.cluster, id, o))
            .collect();
        list_paged("quotas", items, &q, off)
    })
}

pub(super) async fn quota_get(State(st): State<ApiState>, p: PathR) -> ApiResult {
    let id = params(p)?.remove("id").unwrap_or_default();
    st.sim.with_world(|w| {
        let c = cfg(w, &st)?;
        let o = c
            .quotas
            .get(&id)
            .ok_or_else(|| ApiError::not_found(format!("Quota {id} not found")))?;
        Ok(single_envelope(
            "quotas",
            quota_json(w, &st.cluster, &id, o),
        ))
    })
}

pub(super) async fn quota_create(
    State(st): State<ApiState>,
    Extension(ctx): Extension<ReqCtx>,
    body: Bytes,
) -> ApiResult {
    let mut m = json_object(&body)?;
    validate("quota", &m, &["path", "type"], QUOTA_RO, &["path"])?;
    check_thresholds(&m)?;
    let ty = str_field(&m, "type").unwrap_or_default().to_string();
    if matches!(ty.as_str(), "user" | "group") && persona_key(&m).is_empty() {
        return Err(ApiError::bad_request(format!(
            "Field: persona is required for {ty} quotas"
        )));
    }
    for k in [
        "force",
        "ignore_limit_checks",
        "thresholds_include_overhead",
    ] {
        m.remove(k);
    }
    st.sim.with_world(|w| {
        let c = cfg(w, &st)?;
        let path = str_field(&m, "path").unwrap_or_default();
        let pk = persona_key(&m);
        if c.quotas.values().any(|o| {
            str_field(o, "path") == Some(path)
                && str_field(o, "type") == Some(ty.as_str())
                && persona_key(o) == pk
        }) {
            return Err(ApiError::conflict(format!(
                "A {ty} quota already exists on {path}"
            )));
        }
        let id = random_hex(&mut w.rng, 32);
        let detail = Value::Object(m.clone());
        cfg_mut(w, &st)?.quotas.insert(id.clone(), m);
        audit(w, &st, &ctx, "quota.create", &id, detail);
        Ok(created(&id))
    })
}

pub(super) async fn quota_update(
    State(st): State<ApiState>,
    Extension(ctx): Extension<ReqCtx>,
    p: PathR,
    body: Bytes,
) -> ApiResult {
    let id = params(p)?.remove("id").unwrap_or_default();
    let m = json_object(&body)?;
    validate("quota", &m, &[], QUOTA_RO, &[])?;
    for k in ["path", "type", "persona", "include_snapshots"] {
        if m.contains_key(k) {
            return Err(ApiError::bad_request(format!(
                "Field: {k} may not be changed on an existing quota"
            )));
        }
    }
    check_thresholds(&m)?;
    st.sim.with_world(|w| {
        let o = cfg_mut(w, &st)?
            .quotas
            .get_mut(&id)
            .ok_or_else(|| ApiError::not_found(format!("Quota {id} not found")))?;
        for (k, v) in &m {
            if k == "thresholds" {
                let mut t = o
                    .get("thresholds")
                    .and_then(Value::as_object)
                    .cloned()
                    .unwrap_or_default();
                if let Value::Object(n) = v {
                    for (a, b) in n {
                        t.insert(a.clone(), b.clone());
                    }
                }
                o.insert(k.clone(), Value::Object(t));
            } else if !matches!(
                k.as_str(),
                "force" | "ignore_limit_checks" | "thresholds_include_overhead"
            ) {
                o.insert(k.clone(), v.clone());
            }
        }
        audit(w, &st, &ctx, "quota.update", &id, Value::Object(m));
        Ok(no_content())
    })
}

pub(super) async fn quota_delete(
    State(st): State<ApiState>,
    Extension(ctx): Extension<ReqCtx>,
    p: PathR,
) -> ApiResult {
    let id = params(p)?.remove("id").unwrap_or_default();
    st.sim.with_world(|w| {
        let o = cfg_mut(w, &st)?
            .quotas
            .remove(&id)
            .ok_or_else(|| ApiError::not_found(format!("Quota {id} not found")))?;
        audit(
            w,
            &st,
            &ctx,
            "quota.delete",
            &id,
            json!({"path": o.get("path")}),
        );
        Ok(no_content())
    })
}

const QUOTA_DELETE_ARGS: &[&str] = &[
    "enforced",
    "include_snapshots",
    "path",
    "persona",
    "recurse_path_children",
    "recurse_path_parents",
    "type",
    "zone",
];

/// Whether a quota matches the `DELETE quota/quotas` query (absent arguments match all).
fn quota_matches(
    o: &Map<String, Value>,
    q: &BTreeMap<String, String>,
    enforced: Option<bool>,
    snaps: Option<bool>,
) -> bool {
    let opath = str_field(o, "path").unwrap_or_default();
    let path_ok = q.get("path").is_none_or(|p| {
        opath == p
            || (q
                .get("recurse_path_children")
                .is_some_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
                && is_under(opath, p))
            || (q
                .get("recurse_path_parents")
                .is_some_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
                && is_under(p, opath))
    });
    let persona_ok = q.get("persona").is_none_or(|want| {
        let have = persona_key(o);
        let bare = want.split_once(':').map_or(want.as_str(), |(_, v)| v);
        !have.is_empty() && (have.eq_ignore_ascii_case(want) || have.eq_ignore_ascii_case(bare))
    });
    path_ok
        && persona_ok
        && q.get("type")
            .is_none_or(|t| str_field(o, "type") == Some(t))
        && enforced.is_none_or(|e| o.get("enforced").and_then(Value::as_bool).unwrap_or(false) == e)
        && snaps.is_none_or(|e| {
            o.get("include_snapshots")
                .and_then(Value::as_bool)
                .unwrap_or(false)
                == e
        })
}

/// `DELETE quota/quotas[?path=&recurse_path_children=&type=&persona=&enforced=…]`: delete all
/// matching quotas.
pub(super) async fn quota_delete_matching(
    State(st): State<ApiState>,
    Extension(ctx): Extension<ReqCtx>,
    q: QueryR,
) -> ApiResult {
    let (q, _) = list_query(q)?;
    check_query(&q, QUOTA_DELETE_ARGS)?;
    let enforced = query_bool(&q, "enforced")?;
    let snaps = query_bool(&q, "include_snapshots")?;
    query_bool(&q, "recurse_path_children")?;
    query_bool(&q, "recurse_path_parents")?;
    if let Some(p) = q.get("path") {
        if !valid_ifs_path(p) {
            return Err(ApiError::bad_request(format!(
                "Query argument path: `{p}` must be an absolute path under /ifs"
            )));
        }
    }
    if let Some(t) = q.get("type") {
        let ok = enum_values("quota", "type").is_none_or(|a| a.contains(&t.as_str()));
        if !ok {
            return Err(ApiError::bad_request(format!(
                "Query argument type: invalid value `{t}`"
            )));
        }
    }
    if q.contains_key("persona") && !q.get("type").is_some_and(|t| t == "user" || t == "group") {
        return Err(ApiError::bad_request(
            "Query argument persona must be used with type=user or type=group",
        ));
    }
    st.sim.with_world(|w| {
        if q.contains_key("zone") {
            zone_arg(cfg(w, &st)?, &q)?;
        }
        let c = cfg_mut(w, &st)?;
        let ids: Vec<String> = c
            .quotas
            .iter()
            .filter(|(_, o)| quota_matches(o, &q, enforced, snaps))
            .map(|(id, _)| id.clone())
            .collect();
        let mut deleted = Vec::new();
        for id in &ids {
            if let Some(o) = c.quotas.remove(id) {
                deleted.push(json!({"id": id, "path": o.get("path")}));
            }
        }
        audit(
            w,
            &st,
            &ctx,
            "quota.delete_matching",
            "quotas",
            json!({"query": q, "deleted": deleted}),
        );
        Ok(no_content())
    })
}

// ------------------------------------------------------------------------- snapshot schedules

const SCHED_RO: &[&str] = &["id", "next_run", "next_snapshot"];

fn find_schedule(c: &ConfigState, key: &str) -> Result<u64, ApiError> {
    if let Ok(n) = key.parse::<u64>() {
        if c.snapshot_schedules.contains_key(&n) {
            return Ok(n);
        }
    }
    c.snapshot_schedules
        .iter()
        .find(|(_, o)| str_field(o, "name") == Some(key))
        .map(|(n, _)| *n)
        .ok_or_else(|| ApiError::not_found(format!("Snapshot schedule {key} not found")))
}

fn check_schedule(m: &Map<String, Value>) -> Result<(), ApiError> {
    if let Some(s) = str_field(m, "schedule") {
        let l = s.to_ascii_lowercase();
        let ok = !s.trim().is_empty()
            && (l.starts_with("every") || l.starts_with("the ") || l.starts_with("yearly"));
        if !ok {
            return Err(ApiError::bad_request(format!(
                "Field: schedule: cannot parse `{s}` (e.g. `every 1 days at 10:00`)"
            )));
        }
    }
    if let Some(n) = str_field(m, "name") {
        if n.is_empty() {
            return Err(ApiError::bad_request("Field: name must not be empty"));
        }
    }
    Ok(())
}

pub(super) async fn schedule_list(State(st): State<ApiState>, q: QueryR) -> ApiResult {
    let (q, off) = list_query(q)?;
    st.sim.with_world(|w| {
        let c = cfg(w, &st)?;
        let items = c
            .snapshot_schedules
            .iter()
            .map(|(id, o)| render("snapshot_schedule", o, json!({"id": id})))
            .collect();
        list_paged("schedules", items, &q, off)
    })
}

pub(super) async fn schedule_get(State(st): State<ApiState>, p: PathR) -> ApiResult {
    let id = params(p)?.remove("id").unwrap_or_default();
    st.sim.with_world(|w| {
        let c = cfg(w, &st)?;
        let n = find_schedule(c, &id)?;
        let o = &c.snapshot_schedules[&n];
        Ok(single_envelope(
            "schedules",
            render("snapshot_schedule", o, json!({"id": n})),
        ))
    })
}

pub(super) async fn schedule_create(
    State(st): State<ApiState>,
    Extension(ctx): Extension<ReqCtx>,
    body: Bytes,
) -> ApiResult {
    let m = json_object(&body)?;
    validate(
        "snapshot_schedule",
        &m,
        &["name", "path", "pattern", "schedule"],
        SCHED_RO,
        &["path"],
    )?;
    check_schedule(&m)?;
    st.sim.with_world(|w| {
        let c = cfg(w, &st)?;
        let name = str_field(&m, "name").unwrap_or_default();
        if find_schedule(c, name).is_ok() {
            return Err(ApiError::conflict(format!(
                "Snapshot schedule {name} already exists"
            )));
        }
        let c = cfg_mut(w, &st)?;
        let id = c.next_schedule_id;
        c.next_schedule_id += 1;
        let detail = Value::Object(m.clone());
        c.snapshot_schedules.insert(id, m);
        audit(
            w,
            &st,
            &ctx,
            "snapshot.schedule.create",
            &id.to_string(),
            detail,
        );
        Ok((StatusCode::CREATED, Json(json!({"id": id}))).into_response())
    })
}

pub(super) async fn schedule_update(
    State(st): State<ApiState>,
    Extension(ctx): Extension<ReqCtx>,
    p: PathR,
    body: Bytes,
) -> ApiResult {
    let id = params(p)?.remove("id").unwrap_or_default();
    let m = json_object(&body)?;
    validate("snapshot_schedule", &m, &[], SCHED_RO, &["path"])?;
    check_schedule(&m)?;
    st.sim.with_world(|w| {
        let c = cfg(w, &st)?;
        let n = find_schedule(c, &id)?;
        if let Some(name) = str_field(&m, "name") {
            if find_schedule(c, name).is_ok_and(|o| o != n) {
                return Err(ApiError::conflict(format!(
                    "Snapshot schedule {name} already exists"
                )));
            }
        }
        let o = cfg_mut(w, &st)?
            .snapshot_schedules
            .get_mut(&n)
            .expect("exists");
        for (k, v) in &m {
            o.insert(k.clone(), v.clone());
        }
        audit(
            w,
            &st,
            &ctx,
            "snapshot.schedule.update",
            &n.to_string(),
            Value::Object(m),
        );
        Ok(no_content())
    })
}

pub(super) async fn schedule_delete(
    State(st): State<ApiState>,
    Extension(ctx): Extension<ReqCtx>,
    p: PathR,
) -> ApiResult {
    let id = params(p)?.remove("id").unwrap_or_default();
    st.sim.with_world(|w| {
        let n = find_schedule(cfg(w, &st)?, &id)?;
        cfg_mut(w, &st)?.snapshot_schedules.remove(&n);
        audit(
            w,
            &st,
            &ctx,
            "snapshot.schedule.delete",
            &n.to_string(),
            Value::Null,
        );
        Ok(no_content())
    })
}

/// `DELETE snapshot/schedules`: delete every snapshot schedule.
pub(super) async fn schedule_delete_all(
    State(st): State<ApiState>,
    Extension(ctx): Extension<ReqCtx>,
    q: QueryR,
) -> ApiResult {
    let (q, _) = list_query(q)?;
    check_query(&q, &[])?;
    st.sim.with_world(|w| {
        let c = cfg_mut(w, &st)?;
        let gone: Vec<Value> = std::mem::take(&mut c.snapshot_schedules)
            .into_iter()
            .map(|(id, o)| json!({"id": id, "name": o.get("name")}))
            .collect();
        audit(
            w,
            &st,
            &ctx,
            "snapshot.schedules.delete_all",
            "schedules",
            json!({"deleted": gone}),
        );
        Ok(no_content())
    })
}
