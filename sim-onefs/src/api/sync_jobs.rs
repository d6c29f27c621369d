//! `sync/jobs`: start (run / resync_prep / allow_write / allow_write_revert / test), list,
//! get, and pause / resume / cancel.

use axum::body::Bytes;

use super::collection::{params, PathR};
use super::objects::{check_query, list_query, QueryR};
use super::sync_common::{list_of, synciq};
use super::sync_render::{job_envelope_bytes, job_json};
use super::*;
use crate::synciq::{JobAction, JobState};

/// Keys of `SyncJobCreateParams` we accept; only `id` and `action` have an effect.
const CREATE_KEYS: &[&str] = &[
    "id",
    "action",
    "source_snapshot",
    "log_level",
    "workers_per_node",
    "allow_copy_fb",
    "skip_move",
];

pub(super) async fn list(State(st): State<ApiState>, q: QueryR) -> ApiResult {
    list_of(&st, None, q, "jobs", |s, now| {
        s.jobs
            .values()
            .map(|j| job_json(j, now.ms, now.ep))
            .collect()
    })
}

/// `GET sync/jobs/{id}`: written straight to bytes (polled by every running step; see
/// [`job_envelope_bytes`]), the same body `get_of` would render.
pub(super) async fn get_one(State(st): State<ApiState>, p: PathR) -> ApiResult {
    let key = path_id(&params(p)?);
    let body = st.sim.with_world_read(|w| {
        let s = synciq(w, &st)?;
        let id = s.job_id(&key).ok_or_else(|| {
            ApiError::not_found(format!("No job for policy {key} is in progress"))
        })?;
        Ok::<_, ApiError>(job_envelope_bytes(&s.jobs[&id], w.now_ms, w.epoch))
    })?;
    Ok(super::cache::json_response(body.into()))
}

pub(super) async fn create(Caller { st, ctx }: Caller, body: Bytes) -> ApiResult {
    let m = json_object(&body)?;
    check_keys(&m, CREATE_KEYS)?;
    let key = req_str(&m, "id")?;
    let action = match opt_str(&m, "action")? {
        None => JobAction::Run,
        Some(a) => a.parse::<JobAction>().map_err(|_| {
            ApiError::bad_request(format!(
                "Field: action: invalid value `{a}` (expected run, resync_prep, allow_write, allow_write_revert or test)"
            ))
        })?,
    };
    st.sim.with_world(|w| {
        let now = w.now_ms;
        let id = w.create_job(&st.cluster, &key, action, &ctx, now)?;
        Ok(created(&id))
    })
}

pub(super) async fn update(Caller { st, ctx }: Caller, p: PathR, body: Bytes) -> ApiResult {
    let key = path_id(&params(p)?);
    let m = json_object(&body)?;
    check_keys(&m, &["state"])?;
    let state = req_str(&m, "state")?;
    st.sim.with_world(|w| {
        let now = w.now_ms;
        w.set_job_state(&st.cluster, &key, &state, &ctx, now)?;
        Ok(no_content())
    })
}

/// `DELETE sync/jobs`: cancel every job of this cluster.
pub(super) async fn cancel_all(Caller { st, ctx }: Caller, q: QueryR) -> ApiResult {
    let (q, _) = list_query(q)?;
    check_query(&q, &[])?;
    st.sim.with_world(|w| {
        let now = w.now_ms;
        let ids: Vec<String> = synciq(w, &st)?.jobs.keys().cloned().collect();
        for id in &ids {
            let why = format!("canceled by {}", ctx.actor);
            w.end_job(&st.cluster, id, JobState::Canceled, Some(why), now);
        }
        let e = crate::audit::AuditEntry::new(
            now,
            &st.cluster,
            &ctx.actor,
            "sync.jobs.cancel_all",
            "jobs",
        )
        .ctx(&ctx)
        .detail(serde_json::json!({"canceled": ids}));
        w.push_audit(e);
        Ok(no_content())
    })
}
