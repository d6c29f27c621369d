//! `GET /platform/latest`, `cluster/identity`, `cluster/config`.

use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};

use super::collection::{cfg, cfg_mut, merge_object};
use super::objects::{audit, str_field};
use super::{json_object, no_content, ApiError, ApiResult, ApiState, Caller, MAX_API_VERSION};

/// Highest API version of a release, e.g. 9.5 → 16, 9.10 → 21 (capped at the simulator's max).
fn api_version(release: &str) -> u32 {
    let mut it = release.split('.').map(|x| x.parse::<u32>().unwrap_or(0));
    let (major, minor) = (it.next().unwrap_or(9), it.next().unwrap_or(0));
    if major >= 9 {
        (11 + minor + (major - 9) * 12).min(MAX_API_VERSION)
    } else {
        10
    }
}

pub(super) async fn latest(State(st): State<ApiState>) -> Response {
    let release = st
        .sim
        .with_world_read(|w| w.cluster(&st.cluster).map(|c| c.release.clone()))
        .unwrap_or_default();
    Json(json!({"latest": api_version(&release).to_string()})).into_response()
}

/// The cluster's display name: `PUT cluster/identity` may rename it (the simulator keeps
/// addressing it by its spec name).
fn display_name(name: &str, identity: &Map<String, Value>) -> String {
    str_field(identity, "name").unwrap_or(name).to_string()
}

pub(super) async fn identity(State(st): State<ApiState>) -> ApiResult {
    let (name, ident) = st
        .sim
        .with_world_read(|w| {
            w.cluster(&st.cluster)
                .map(|c| (c.name.clone(), c.cfg.identity.clone()))
        })
        .ok_or_else(|| ApiError::not_found("cluster"))?;
    let mut v = json!({
        "description": "",
        "logon": {"motd": "", "motd_header": ""},
        "mttdl_level_msg": "none",
        "name": display_name(&name, &ident),
    });
    if let Value::Object(m) = &mut v {
        for (k, x) in &ident {
            if k == "logon" {
                if let (Some(Value::Object(l)), Value::Object(n)) = (m.get_mut("logon"), x) {
                    l.extend(n.clone());
                }
            } else {
                m.insert(k.clone(), x.clone());
            }
        }
    }
    super::objects::fill_defaults("cluster_identity", &mut v);
    Ok(Json(v).into_response())
}

/// OneFS cluster names: 1-40 characters, a letter first, then letters, digits and hyphens.
fn cluster_name_ok(n: &str) -> bool {
    n.len() <= 40
        && n.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

/// Validate a `ClusterIdentityExtended` body.
fn check_identity(m: &Map<String, Value>) -> Result<(), ApiError> {
    for (k, v) in m {
        match (k.as_str(), v) {
            ("name", Value::String(n)) => {
                if !cluster_name_ok(n) {
                    return Err(ApiError::bad_request(format!(
                        "Field: name: `{n}` must be 1-40 characters, a letter followed by letters, digits or hyphens"
                    )));
                }
            }
            ("description", Value::String(d)) => {
                if d.chars().count() > 255 {
                    return Err(ApiError::bad_request(
                        "Field: description must be at most 255 characters",
                    ));
                }
            }
            ("logon", Value::Object(l)) => {
                for (lk, lv) in l {
                    if !matches!(lk.as_str(), "motd" | "motd_header") {
                        return Err(ApiError::bad_request(format!(
                            "Field: logon.{lk} is not a valid field for this request"
                        )));
                    }
                    if !lv.is_string() {
                        return Err(ApiError::bad_request(format!(
                            "Field: logon.{lk} must be a string"
                        )));
                    }
                }
            }
            ("name" | "description", _) => {
                return Err(ApiError::bad_request(format!(
                    "Field: {k} must be a string"
                )))
            }
            ("logon", _) => {
                return Err(ApiError::bad_request(
                    "Field: logon must be an object with motd and motd_header",
                ))
            }
            _ => {
                return Err(ApiError::bad_request(format!(
                    "Field: {k} is not a valid field for this request"
                )))
            }
        }
    }
    Ok(())
}

/// `PUT cluster/identity`: name, description and the login message.
pub(super) async fn identity_update(Caller { st, ctx }: Caller, body: Bytes) -> ApiResult {
    let m = json_object(&body)?;
    check_identity(&m)?;
    st.sim.with_world(|w| {
        let before = cfg(w, &st)?.identity.clone();
        let ident = &mut cfg_mut(w, &st)?.identity;
        for (k, v) in &m {
            if k == "logon" {
                merge_object(ident, k, v);
            } else {
                ident.insert(k.clone(), v.clone());
            }
        }
        let name = st.cluster.clone();
        audit(
            w,
            &st,
            &ctx,
            "cluster.identity.update",
            &name,
            json!({"changes": m, "before": before}),
        );
        Ok(no_content())
    })
}

pub(super) async fn config(State(st): State<ApiState>) -> ApiResult {
    let (name, guid, release) = st
        .sim
        .with_world_read(|w| {
            w.cluster(&st.cluster).map(|c| {
                (
                    display_name(&c.name, &c.cfg.identity),
                    c.guid.clone(),
                    c.release.clone(),
                )
            })
        })
        .ok_or_else(|| ApiError::not_found("cluster"))?;
    let parts: Vec<u64> = release.split('.').map(|x| x.parse().unwrap_or(0)).collect();
    let part = |i: usize| parts.get(i).copied().unwrap_or(0) & 0xff;
    let revision = (part(0) << 56) | (part(1) << 48) | (part(2) << 40) | (part(3) << 32);
    let build = format!("B_{}(RELEASE)", release.replace('.', "_"));
    let mut v = json!({
        "availability_zone": "",
        "description": st.sim.with_world_read(|w| {
            w.cluster(&st.cluster)
                .and_then(|c| str_field(&c.cfg.identity, "description").map(str::to_string))
                .unwrap_or_default()
        }),
        "devices": [{"devid": 1, "guid": guid, "is_up": true, "lnn": 1}],
        "encoding": "utf-8",
        "guid": guid,
        "has_quorum": true,
        "is_compliance": false,
        "is_virtual": true,
        "is_vonefs": false,
        "join_mode": "manual",
        "local_devid": 1,
        "local_lnn": 1,
        "local_serial": format!("SIM-{}-1", st.cluster),
        "name": name,
        "onefs_version": {
            "build": build,
            "copyright": "Copyright (c) simulated",
            "reldate": 0,
            "release": release,
            "revision": revision.to_string(),
            "type": "Isilon OneFS",
            "version": format!("Isilon OneFS v{release} {build}"),
        },
        "timezone": {"abbreviation": "UTC", "custom": "", "name": "UTC", "path": "UTC"},
        "upgrade_type": null,
        "is_powerscale_ve": false,
        "node_id": "1",
        "region": "",
    });
    super::objects::fill_defaults("cluster_config", &mut v);
    Ok(Json(v).into_response())
}
