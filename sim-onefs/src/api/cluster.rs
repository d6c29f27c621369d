//! `GET /platform/latest`, `cluster/identity`, `cluster/config`.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use super::{ApiError, ApiResult, ApiState, MAX_API_VERSION};

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
        .with_world(|w| w.cluster(&st.cluster).map(|c| c.release.clone()))
        .unwrap_or_default();
    Json(json!({"latest": api_version(&release).to_string()})).into_response()
}

pub(super) async fn identity(State(st): State<ApiState>) -> ApiResult {
    let name = st
        .sim
        .with_world(|w| w.cluster(&st.cluster).map(|c| c.name.clone()))
        .ok_or_else(|| ApiError::not_found("cluster"))?;
    let mut v = json!({
        "description": "",
        "logon": {"motd": "", "motd_header": ""},
        "mttdl_level_msg": "none",
        "name": name,
    });
    super::fill_defaults("cluster_identity", &mut v);
    Ok(Json(v).into_response())
}

pub(super) async fn config(State(st): State<ApiState>) -> ApiResult {
    let (name, guid, release) = st
        .sim
        .with_world(|w| {
            w.cluster(&st.cluster)
                .map(|c| (c.name.clone(), c.guid.clone(), c.release.clone()))
        })
        .ok_or_else(|| ApiError::not_found("cluster"))?;
    let parts: Vec<u64> = release.split('.').map(|x| x.parse().unwrap_or(0)).collect();
    let part = |i: usize| parts.get(i).copied().unwrap_or(0) & 0xff;
    let revision = (part(0) << 56) | (part(1) << 48) | (part(2) << 40) | (part(3) << 32);
    let build = format!("B_{}(RELEASE)", release.replace('.', "_"));
    let mut v = json!({
        "availability_zone": "",
        "description": "",
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
        "local_serial": format!("SIM-{name}-1"),
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
    super::fill_defaults("cluster_config", &mut v);
    Ok(Json(v).into_response())
}
