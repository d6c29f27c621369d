//! `sync/settings`: `service` (on/off/paused), `max_concurrent_jobs` and the other settings,
//! which are stored and echoed (a PUT must keep each value's JSON type).

use axum::body::Bytes;
use axum::response::IntoResponse;
use axum::Json;

use super::sync_common::synciq;
use super::sync_render::settings_json;
use super::*;
use crate::audit::AuditEntry;
use crate::synciq::SyncService;

pub(super) async fn get(State(st): State<ApiState>) -> ApiResult {
    st.sim
        .with_world_read(|w| Ok(Json(settings_json(&synciq(w, &st)?.settings)).into_response()))
}

fn same_type(a: &Value, b: &Value) -> bool {
    matches!(
        (a, b),
        (Value::Null, _)
            | (_, Value::Null)
            | (Value::Bool(_), Value::Bool(_))
            | (Value::Number(_), Value::Number(_))
            | (Value::String(_), Value::String(_))
            | (Value::Array(_), Value::Array(_))
            | (Value::Object(_), Value::Object(_))
    )
}

pub(super) async fn update(Caller { st, ctx }: Caller, body: Bytes) -> ApiResult {
    let m = json_object(&body)?;
    let service = match opt_str(&m, "service")? {
        None => None,
        Some(s) => Some(s.parse::<SyncService>().map_err(|_| {
            ApiError::bad_request(format!(
                "Field: service: invalid value `{s}` (expected on, off or paused)"
            ))
        })?),
    };
    let max = opt_u64(&m, "max_concurrent_jobs")?;
    if let Some(n) = max {
        if n == 0 || n > 1000 {
            return Err(ApiError::bad_request(
                "Field: max_concurrent_jobs must be within 1..=1000",
            ));
        }
    }
    st.sim.with_world(|w| {
        let now = w.now_ms;
        let s = &mut &mut collection::cluster_mut(w, &st)?.synciq.settings;
        for (k, v) in &m {
            if k == "service" || k == "max_concurrent_jobs" {
                continue;
            }
            match s.extra.get(k) {
                // Read-only: whether a target password is set.
                _ if k == "password_set" => {
                    return Err(ApiError::bad_request(
                        "Field: password_set is read-only (set `password` instead)",
                    ))
                }
                None => {
                    return Err(ApiError::bad_request(format!(
                        "Field: {k} is not a valid field for this request"
                    )))
                }
                Some(old) if !same_type(old, v) => {
                    return Err(ApiError::bad_request(format!(
                        "Field: {k} has the wrong type"
                    )))
                }
                _ => {}
            }
        }
        for (k, v) in &m {
            if let Some(slot) = s.extra.get_mut(k) {
                *slot = v.clone();
            }
        }
        if let Some(v) = service {
            s.service = v;
        }
        if let Some(n) = max {
            s.max_concurrent_jobs = n as u32;
        }
        let e = AuditEntry::new(
            now,
            &st.cluster,
            &ctx.actor,
            "sync.settings.update",
            "settings",
        )
        .ctx(&ctx)
        .detail(Value::Object(m));
        w.push_audit(e);
        w.start_queued(&st.cluster, now);
        Ok(no_content())
    })
}
