//! `sync/target/policies[/{id|name}]`: the target-side records of policies replicating here.

use std::collections::BTreeMap;

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::Extension;
use serde_json::json;

use super::*;
use crate::synciq::target_policy_json;

pub(super) async fn list(State(st): State<ApiState>, q: super::objects::QueryR) -> ApiResult {
    let (q, off) = super::objects::list_query(q)?;
    let items = st.sim.with_world(|w| {
        w.cluster(&st.cluster)
            .map(|c| {
                c.synciq
                    .target_policies
                    .values()
                    .map(target_policy_json)
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
    });
    super::objects::list_paged("policies", items, &q, off)
}

pub(super) async fn get_one(
    State(st): State<ApiState>,
    p: Result<Path<BTreeMap<String, String>>, PathRejection>,
) -> ApiResult {
    let key = path_id(&p.map_err(|e| ApiError::bad_request(e.body_text()))?.0);
    st.sim.with_world(|w| {
        let s = &w
            .cluster(&st.cluster)
            .ok_or_else(|| ApiError::not_found("cluster"))?
            .synciq;
        let id = s
            .target_policy_id(&key)
            .ok_or_else(|| ApiError::not_found(format!("Target policy {key} not found")))?;
        Ok(single_envelope(
            "policies",
            target_policy_json(&s.target_policies[&id]),
        ))
    })
}

/// `DELETE sync/target/policies/{id}[?force=true]`: break the target association. The target
/// directory is no longer protected (writable); the source's next run re-establishes the
/// association. A job in progress for the policy (a source run toward this cluster or an
/// allow_write job here) is a conflict unless `force` (a source run then fails, a local job
/// is canceled).
pub(super) async fn delete_one(
    State(st): State<ApiState>,
    Extension(ctx): Extension<ReqCtx>,
    p: Result<Path<BTreeMap<String, String>>, PathRejection>,
    q: super::objects::QueryR,
) -> ApiResult {
    let key = path_id(&p.map_err(|e| ApiError::bad_request(e.body_text()))?.0);
    let (q, _) = super::objects::list_query(q)?;
    super::objects::check_query(&q, &["force"])?;
    let force = super::objects::query_bool(&q, "force")?.unwrap_or(false);
    st.sim.with_world(|w| {
        let now = w.now_ms;
        let s = &w
            .cluster(&st.cluster)
            .ok_or_else(|| ApiError::not_found("cluster"))?
            .synciq;
        let id = s
            .target_policy_id(&key)
            .ok_or_else(|| ApiError::not_found(format!("Target policy {key} not found")))?;
        let tp = s.target_policies[&id].clone();
        let local_job = s.jobs.contains_key(&id);
        let source = tp.source_host.clone();
        let source_job = w.cluster(&source).is_some_and(|c| {
            c.synciq
                .jobs
                .get(&id)
                .is_some_and(|j| j.target == st.cluster)
        });
        if (local_job || source_job) && !force {
            return Err(ApiError::conflict(format!(
                "Target policy {} has a job in progress; retry when it ends or use force=true",
                tp.name
            )));
        }
        if local_job {
            w.end_job(
                &st.cluster,
                &id,
                crate::synciq::JobState::Canceled,
                Some(format!("target association broken by {}", ctx.actor)),
                now,
            );
        }
        if source_job {
            w.end_job(
                &source,
                &id,
                crate::synciq::JobState::Failed,
                Some(format!("target association broken on {}", st.cluster)),
                now,
            );
        }
        if let Some(c) = w.cluster_mut(&st.cluster) {
            c.synciq.target_policies.remove(&id);
        }
        let e = crate::audit::AuditEntry::new(
            now,
            &st.cluster,
            &ctx.actor,
            "sync.target.policy.delete",
            &id,
        )
        .ctx(&ctx)
        .detail(json!({"name": tp.name, "source": source,
                       "failover_failback_state": tp.failover_failback_state}));
        w.push_audit(e);
        Ok(no_content())
    })
}
