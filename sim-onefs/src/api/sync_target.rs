//! `sync/target/policies[/{id|name}]`: the target-side records of policies replicating here.

use serde_json::json;

use super::collection::PathR;
use super::objects::{check_query, list_query, query_bool, QueryR};
use super::sync_common::{get_of, list_of, synciq, target_policy_id};
use super::sync_render::target_policy_json;
use super::*;
use crate::synciq::JobState;

pub(super) async fn list(State(st): State<ApiState>, uri: http::Uri, q: QueryR) -> ApiResult {
    // State alone decides these bodies (no clock): cacheable.
    list_of(&st, Some(&uri), q, "policies", |s, now| {
        s.target_policies
            .values()
            .map(|tp| target_policy_json(tp, now.ep))
            .collect()
    })
}

pub(super) async fn get_one(State(st): State<ApiState>, uri: http::Uri, p: PathR) -> ApiResult {
    get_of(&st, Some(&uri), p, "policies", |s, key, now| {
        Ok(target_policy_json(
            &s.target_policies[&target_policy_id(s, key)?],
            now.ep,
        ))
    })
}

/// `DELETE sync/target/policies/{id}[?force=true]`: break the target association. The target
/// directory is no longer protected (writable); the source's next run re-establishes the
/// association. A job in progress for the policy (a source run toward this cluster or an
/// allow_write job here) is a conflict unless `force` (a source run then fails, a local job
/// is canceled).
pub(super) async fn delete_one(Caller { st, ctx }: Caller, p: PathR, q: QueryR) -> ApiResult {
    let key = path_id(&collection::params(p)?);
    let (q, _) = list_query(q)?;
    check_query(&q, &["force"])?;
    let force = query_bool(&q, "force")?.unwrap_or(false);
    st.sim.with_world(|w| {
        let now = w.now_ms;
        let s = synciq(w, &st)?;
        let id = target_policy_id(s, &key)?;
        let tp = s.target_policies[&id].clone();
        let local_job = s.jobs.contains_key(&id);
        let source = tp.source_host.clone();
        let source_job = w.cluster(&source).is_some_and(|c| {
            c.synciq
                .jobs
                .get(&id)
                .is_some_and(|j| *j.target == *st.cluster)
        });
        if (local_job || source_job) && !force {
            return Err(ApiError::conflict(format!(
                "Target policy {} has a job in progress; retry when it ends or use force=true",
                tp.name
            )));
        }
        if local_job {
            let why = format!("target association broken by {}", ctx.actor);
            w.end_job(&st.cluster, &id, JobState::Canceled, Some(why), now);
        }
        if source_job {
            let why = format!("target association broken on {}", st.cluster);
            w.end_job(&source, &id, JobState::Failed, Some(why), now);
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
