//! `sync/policies`: list, create, get, update, delete, reset.

use axum::body::Bytes;
use serde_json::{json, Map, Value};

use super::cache::cached_bytes;
use super::collection::{params, PathR};
use super::objects::{check_query, list_query, query_bool, QueryR};
use super::sync_common::{list_of, policy_id, synciq};
use super::sync_render::{policy_json, policy_rendered};
use super::*;
use crate::audit::AuditEntry;
use crate::model::{is_under, random_hex, valid_ifs_path, WorldState};
use crate::synciq::{JobState, Policy};

const UPDATABLE: &[&str] = &[
    "name",
    "enabled",
    "schedule",
    "description",
    "source_root_path",
    "target_host",
    "target_path",
    "action",
];

pub(super) async fn list(State(st): State<ApiState>, uri: http::Uri, q: QueryR) -> ApiResult {
    // State alone decides these bodies (no clock): cacheable.
    list_of(&st, Some(&uri), q, "policies", |s, now| {
        s.policies
            .values()
            .map(|p| policy_json(p, now.ep))
            .collect()
    })
}

pub(super) async fn get_one(State(st): State<ApiState>, uri: http::Uri, p: PathR) -> ApiResult {
    let key = path_id(&params(p)?);
    // `{"policies":[<policy>]}` around the policy's kept rendering.
    cached_bytes(&st, &uri, |w| {
        let s = synciq(w, &st)?;
        let id = policy_id(s, &key)?;
        let r = s
            .policies
            .rendered(&id, w.epoch, policy_rendered)
            .ok_or_else(|| ApiError::not_found(format!("Policy {key} not found")))?;
        let mut b = Vec::with_capacity(r.len() + 16);
        b.extend_from_slice(b"{\"policies\":[");
        b.extend_from_slice(&r);
        b.extend_from_slice(b"]}");
        Ok(b.into())
    })
}

fn check_path(f: &str, v: &str) -> Result<(), ApiError> {
    if valid_ifs_path(v) {
        Ok(())
    } else {
        Err(ApiError::bad_request(format!(
            "Field: {f}: `{v}` must be an absolute path under /ifs"
        )))
    }
}

fn check_action(m: &Map<String, Value>) -> Result<Option<String>, ApiError> {
    let a = opt_str(m, "action")?;
    if let Some(a) = &a {
        if a != "sync" && a != "copy" {
            return Err(ApiError::bad_request(format!(
                "Field: action: invalid value `{a}` (expected sync or copy)"
            )));
        }
    }
    Ok(a)
}

/// The cluster a `target_host` reaches, as OneFS treats it (DESIGN §3): any syntactically
/// valid host name or address is accepted; `localhost` / `127.0.0.1` / `::1` (or a name of
/// this cluster) is a local target; a host no simulated cluster answers at is stored as is
/// (`""`), and its jobs fail when they cannot connect.
fn resolve_target(w: &WorldState, own: &str, host: &str) -> Result<String, ApiError> {
    if !crate::synciq::valid_target_host(host) {
        return Err(ApiError::bad_request(format!(
            "Field: target_host: `{host}` is not a valid host name or IP address"
        )));
    }
    if crate::synciq::is_local_host(host) {
        return Ok(own.to_string());
    }
    Ok(w.resolve_host(host).unwrap_or_default())
}

/// A local target must not overlap its source: the copy would replicate into itself.
fn check_local_paths(own: &str, target: &str, src: &str, tgt: &str) -> Result<(), ApiError> {
    if target == own && (is_under(src, tgt) || is_under(tgt, src)) {
        return Err(ApiError::bad_request(format!(
            "Field: target_path: `{tgt}` overlaps source_root_path `{src}` on this cluster (local target)"
        )));
    }
    Ok(())
}

pub(super) async fn create(Caller { st, ctx }: Caller, body: Bytes) -> ApiResult {
    let m = json_object(&body)?;
    check_keys(&m, UPDATABLE)?;
    let name = req_str(&m, "name")?;
    let source_root_path = req_str(&m, "source_root_path")?;
    let target_host = req_str(&m, "target_host")?;
    let target_path = req_str(&m, "target_path")?;
    let action = check_action(&m)?.unwrap_or_else(|| "sync".into());
    let enabled = opt_bool(&m, "enabled")?.unwrap_or(true);
    let schedule = opt_str(&m, "schedule")?.unwrap_or_default();
    let description = opt_str(&m, "description")?.unwrap_or_default();
    if name.is_empty() {
        return Err(ApiError::bad_request("Field: name must not be empty"));
    }
    check_path("source_root_path", &source_root_path)?;
    check_path("target_path", &target_path)?;
    st.sim.with_world(|w| {
        let target_cluster = resolve_target(w, &st.cluster, &target_host)?;
        check_local_paths(
            &st.cluster,
            &target_cluster,
            &source_root_path,
            &target_path,
        )?;
        if synciq(w, &st)?.policy_id(&name).is_some() {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                format!("Policy {name} already exists"),
            ));
        }
        let id = random_hex(&mut w.rng, 32);
        let now = w.now_ms;
        let p = Policy {
            id: id.clone(),
            name: name.clone(),
            enabled,
            action,
            source_root_path,
            target_host,
            target_cluster,
            target_path,
            schedule,
            description,
            last_job_state: JobState::Unknown,
            last_started_ms: None,
            last_success_ms: None,
            conflicted: false,
            synced: Default::default(),
        };
        let detail = policy_json(&p, w.epoch);
        w.cluster_mut(&st.cluster)
            .expect("checked")
            .synciq
            .policies
            .insert(id.clone(), p);
        let e = AuditEntry::new(now, &st.cluster, &ctx.actor, "sync.policy.create", &id)
            .ctx(&ctx)
            .detail(detail);
        w.push_audit(e);
        Ok(created(&id))
    })
}

pub(super) async fn update(Caller { st, ctx }: Caller, p: PathR, body: Bytes) -> ApiResult {
    let key = path_id(&params(p)?);
    let m = json_object(&body)?;
    check_keys(&m, UPDATABLE)?;
    let name = opt_str(&m, "name")?;
    let enabled = opt_bool(&m, "enabled")?;
    let schedule = opt_str(&m, "schedule")?;
    let description = opt_str(&m, "description")?;
    let source_root_path = opt_str(&m, "source_root_path")?;
    let target_host = opt_str(&m, "target_host")?;
    let target_path = opt_str(&m, "target_path")?;
    let action = check_action(&m)?;
    if let Some(v) = &source_root_path {
        check_path("source_root_path", v)?;
    }
    if let Some(v) = &target_path {
        check_path("target_path", v)?;
    }
    if name.as_deref() == Some("") {
        return Err(ApiError::bad_request("Field: name must not be empty"));
    }
    st.sim.with_world(|w| {
        let target_cluster = match &target_host {
            Some(h) => Some(resolve_target(w, &st.cluster, h)?),
            None => None,
        };
        let now = w.now_ms;
        let s = &mut collection::cluster_mut(w, &st)?.synciq;
        let id = policy_id(s, &key)?;
        if let Some(n) = &name {
            if s.policies.values().any(|q| &q.name == n && q.id != id) {
                return Err(ApiError::conflict(format!("Policy {n} already exists")));
            }
        }
        let changes_paths =
            source_root_path.is_some() || target_path.is_some() || target_host.is_some();
        if changes_paths && s.jobs.contains_key(&id) {
            return Err(ApiError::conflict(
                "cannot change paths while a job is in progress",
            ));
        }
        {
            let p = &s.policies[&id];
            check_local_paths(
                &st.cluster,
                target_cluster.as_deref().unwrap_or(&p.target_cluster),
                source_root_path.as_deref().unwrap_or(&p.source_root_path),
                target_path.as_deref().unwrap_or(&p.target_path),
            )?;
        }
        let mut p = s.policies.get_mut(&id).expect("exists");
        if let Some(v) = name {
            p.name = v;
        }
        if let Some(v) = enabled {
            p.enabled = v;
        }
        if let Some(v) = schedule {
            p.schedule = v;
        }
        if let Some(v) = description {
            p.description = v;
        }
        if let Some(v) = action {
            p.action = v;
        }
        if changes_paths {
            // A re-pointed policy starts over with a full sync.
            p.synced = Default::default();
        }
        if let Some(v) = source_root_path {
            p.source_root_path = v;
        }
        if let Some(v) = target_path {
            p.target_path = v;
        }
        if let (Some(h), Some(c)) = (target_host, target_cluster) {
            p.target_host = h;
            p.target_cluster = c;
        }
        drop(p);
        let e = AuditEntry::new(now, &st.cluster, &ctx.actor, "sync.policy.update", &id)
            .ctx(&ctx)
            .detail(Value::Object(m));
        w.push_audit(e);
        Ok(no_content())
    })
}

/// Delete one policy: a job in progress is a conflict unless `force` (then it is canceled);
/// unless `local_only`, the target association on the target cluster is removed too (which
/// needs the target cluster reachable).
fn check_deletable(
    w: &WorldState,
    cluster: &str,
    id: &str,
    force: bool,
    local_only: bool,
) -> Result<(), ApiError> {
    let c = w
        .cluster(cluster)
        .ok_or_else(|| ApiError::not_found("cluster"))?;
    let p = &c.synciq.policies[id];
    if c.synciq.jobs.contains_key(id) && !force {
        return Err(ApiError::conflict(format!(
            "Policy {} has a job in progress; cancel it first or delete with force=true",
            p.name
        )));
    }
    if !local_only
        && w.cluster(&p.target_cluster)
            .is_some_and(|t| !t.up && t.synciq.target_policies.contains_key(id))
    {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "Policy {}: cannot reach target cluster {} to remove the target association; retry or delete with local_only=true",
                p.name, p.target_cluster
            ),
        ));
    }
    Ok(())
}

fn delete_policy(
    w: &mut WorldState,
    cluster: &str,
    id: &str,
    local_only: bool,
    ctx: &ReqCtx,
    now: u64,
) {
    if w.cluster(cluster)
        .is_some_and(|c| c.synciq.jobs.contains_key(id))
    {
        w.end_job(
            cluster,
            id,
            JobState::Canceled,
            Some(format!("policy deleted by {}", ctx.actor)),
            now,
        );
    }
    let Some(p) = w
        .cluster_mut(cluster)
        .and_then(|c| c.synciq.policies.remove(id))
    else {
        return;
    };
    let mut target_removed = false;
    if !local_only {
        if let Some(t) = w.cluster_mut(&p.target_cluster).filter(|t| t.up) {
            target_removed = t.synciq.target_policies.remove(id).is_some();
        }
    }
    let e = AuditEntry::new(now, cluster, &ctx.actor, "sync.policy.delete", id)
        .ctx(ctx)
        .detail(
            json!({"name": p.name, "target_association_removed": target_removed,
                       "target": p.target_cluster}),
        );
    w.push_audit(e);
}

/// `force` / `local_only` query arguments of the policy deletes.
fn delete_args(q: QueryR) -> Result<(bool, bool), ApiError> {
    let (q, _) = list_query(q)?;
    check_query(&q, &["force", "local_only"])?;
    Ok((
        query_bool(&q, "force")?.unwrap_or(false),
        query_bool(&q, "local_only")?.unwrap_or(false),
    ))
}

pub(super) async fn delete(Caller { st, ctx }: Caller, p: PathR, q: QueryR) -> ApiResult {
    let key = path_id(&params(p)?);
    let (force, local_only) = delete_args(q)?;
    st.sim.with_world(|w| {
        let now = w.now_ms;
        let id = policy_id(synciq(w, &st)?, &key)?;
        check_deletable(w, &st.cluster, &id, force, local_only)?;
        delete_policy(w, &st.cluster, &id, local_only, &ctx, now);
        Ok(no_content())
    })
}

/// `DELETE sync/policies`: delete every policy of this cluster (all or none).
pub(super) async fn delete_all(Caller { st, ctx }: Caller, q: QueryR) -> ApiResult {
    let (force, local_only) = delete_args(q)?;
    st.sim.with_world(|w| {
        let now = w.now_ms;
        let ids: Vec<String> = synciq(w, &st)?.policies.keys().cloned().collect();
        for id in &ids {
            check_deletable(w, &st.cluster, id, force, local_only)?;
        }
        for id in &ids {
            delete_policy(w, &st.cluster, id, local_only, &ctx, now);
        }
        Ok(no_content())
    })
}

/// Reset: forget the sync baseline (the next run is a full sync) and clear `conflicted`.
pub(super) async fn reset(Caller { st, ctx }: Caller, p: PathR) -> ApiResult {
    let key = path_id(&params(p)?);
    st.sim.with_world(|w| {
        let now = w.now_ms;
        let s = &mut collection::cluster_mut(w, &st)?.synciq;
        let id = policy_id(s, &key)?;
        if s.jobs.contains_key(&id) {
            return Err(ApiError::conflict(format!(
                "Policy {key} has a job in progress"
            )));
        }
        let mut p = s.policies.get_mut(&id).expect("exists");
        p.synced = Default::default();
        p.conflicted = false;
        let name = p.name.clone();
        drop(p);
        let e = AuditEntry::new(now, &st.cluster, &ctx.actor, "sync.policy.reset", &id)
            .ctx(&ctx)
            .detail(json!({"name": name}));
        w.push_audit(e);
        Ok(created(&id))
    })
}
