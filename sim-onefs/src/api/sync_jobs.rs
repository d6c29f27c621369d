//! `sync/jobs`: start (run / resync_prep / allow_write / allow_write_revert / test), list,
//! get, and pause / resume / cancel.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::Extension;

use super::*;
use crate::synciq::{job_json, JobAction};

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

pub(super) async fn list(State(st): State<ApiState>, q: super::objects::QueryR) -> ApiResult {
    let (q, off) = super::objects::list_query(q)?;
    let items = st.sim.with_world(|w| {
        let now = w.now_ms;
        w.cluster(&st.cluster)
            .map(|c| {
                c.synciq
                    .jobs
                    .values()
                    .map(|j| job_json(j, now))
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
    });
    super::objects::list_paged("jobs", items, &q, off)
}

pub(super) async fn get_one(
    State(st): State<ApiState>,
    p: Result<Path<BTreeMap<String, String>>, PathRejection>,
) -> ApiResult {
    let key = path_id(&p.map_err(|e| ApiError::bad_request(e.body_text()))?.0);
    st.sim.with_world(|w| {
        let now = w.now_ms;
        let s = &w
            .cluster(&st.cluster)
            .ok_or_else(|| ApiError::not_found("cluster"))?
            .synciq;
        let id = s.job_id(&key).ok_or_else(|| {
            ApiError::not_found(format!("No job for policy {key} is in progress"))
        })?;
        Ok(single_envelope("jobs", job_json(&s.jobs[&id], now)))
    })
}

pub(super) async fn create(
    State(st): State<ApiState>,
    Extension(ctx): Extension<ReqCtx>,
    body: Bytes,
) -> ApiResult {
    let m = json_object(&body)?;
    check_keys(&m, CREATE_KEYS)?;
    let key = req_str(&m, "id")?;
    let action = match opt_str(&m, "action")? {
        None => JobAction::Run,
        Some(a) => JobAction::parse(&a).ok_or_else(|| {
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

pub(super) async fn update(
    State(st): State<ApiState>,
    Extension(ctx): Extension<ReqCtx>,
    p: Result<Path<BTreeMap<String, String>>, PathRejection>,
    body: Bytes,
) -> ApiResult {
    let key = path_id(&p.map_err(|e| ApiError::bad_request(e.body_text()))?.0);
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
pub(super) async fn cancel_all(
    State(st): State<ApiState>,
    Extension(ctx): Extension<ReqCtx>,
    q: super::objects::QueryR,
) -> ApiResult {
    let (q, _) = super::objects::list_query(q)?;
    super::objects::check_query(&q, &[])?;
    st.sim.with_world(|w| {
        let now = w.now_ms;
        let ids: Vec<String> = w
            .cluster(&st.cluster)
            .ok_or_else(|| ApiError::not_found("cluster"))?
            .synciq
            .jobs
            .keys()
            .cloned()
            .collect();
        for id in &ids {
            w.end_job(
                &st.cluster,
                id,
                crate::synciq::JobState::Canceled,
                Some(format!("canceled by {}", ctx.actor)),
                now,
            );
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
