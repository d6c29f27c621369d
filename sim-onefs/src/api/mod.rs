//! PAPI front end: the axum `Router` of one cluster.
//!
//! Every request goes through [`papi_middleware`], in this order: cluster down → dropped
//! connection; `papi_latency_ms` sleep; `/platform/N` version check; HTTP Basic auth and role
//! check; fault rules (delay / HTTP error / dropped connection / cluster and link effects);
//! then the handler. Handlers lock the world only inside synchronous closures
//! ([`crate::Sim::with_world`]), never across an `.await`.
//!
//! Envelopes and errors follow `reference/onefs-papi.md`: lists are
//! `{"<plural>": [...], "resume": null, "total": N}`, single GETs a one-element list,
//! create 201 `{"id"}`, update/delete 204, errors `{"errors": [{"code", "message"}]}`.

mod cluster;
mod objects;
mod protocols;
mod session;
mod sync_jobs;
mod sync_policies;
mod sync_reports;
mod sync_settings;
mod sync_target;
#[cfg(test)]
mod tests;
mod zones_net;

pub(crate) use objects::fill_defaults;
pub(crate) use session::SessionStore;

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use serde_json::{json, Map, Value};

use crate::audit::ReqCtx;
use crate::faults::RequestInfo;
use crate::spec::Role;
use crate::synciq::SyncError;
use crate::{ConnectionDropped, Sim};

/// Per-router state: the world handle and which cluster this router serves.
#[derive(Clone)]
pub(crate) struct ApiState {
    pub sim: Sim,
    pub cluster: String,
}

/// Highest API version number the simulator accepts.
pub const MAX_API_VERSION: u32 = 22;

pub(crate) fn router(sim: Sim, cluster: &str) -> Router {
    let st = ApiState {
        sim,
        cluster: cluster.to_string(),
    };
    let v = |p: &str| format!("/platform/{{ver}}/{p}");
    Router::new()
        .route("/platform/latest", get(cluster::latest))
        .route(
            &v("cluster/identity"),
            get(cluster::identity).put(cluster::identity_update),
        )
        .route(&v("cluster/config"), get(cluster::config))
        .route(
            &v("sync/policies"),
            get(sync_policies::list)
                .post(sync_policies::create)
                .delete(sync_policies::delete_all),
        )
        .route(
            &v("sync/policies/{id}"),
            get(sync_policies::get_one)
                .put(sync_policies::update)
                .delete(sync_policies::delete),
        )
        .route(&v("sync/policies/{id}/reset"), post(sync_policies::reset))
        .route(
            &v("sync/jobs"),
            get(sync_jobs::list)
                .post(sync_jobs::create)
                .delete(sync_jobs::cancel_all),
        )
        .route(
            &v("sync/jobs/{id}"),
            get(sync_jobs::get_one).put(sync_jobs::update),
        )
        .route(&v("sync/reports"), get(sync_reports::list))
        .route(&v("sync/reports/{id}"), get(sync_reports::get_one))
        .route(&v("sync/target/policies"), get(sync_target::list))
        .route(
            &v("sync/target/policies/{id}"),
            get(sync_target::get_one).delete(sync_target::delete_one),
        )
        .route(
            &v("sync/settings"),
            get(sync_settings::get).put(sync_settings::update),
        )
        .route(
            &v("protocols/smb/shares"),
            get(protocols::smb_share_list)
                .post(protocols::smb_share_create)
                .delete(protocols::smb_share_delete_all),
        )
        .route(
            &v("protocols/smb/shares/{id}"),
            get(protocols::smb_share_get)
                .put(protocols::smb_share_update)
                .delete(protocols::smb_share_delete),
        )
        .route(
            &v("protocols/smb/openfiles"),
            get(protocols::openfiles_list),
        )
        .route(
            &v("protocols/smb/openfiles/{id}"),
            axum::routing::delete(protocols::openfile_delete),
        )
        .route(
            &v("protocols/smb/settings/global"),
            get(protocols::smb_settings_get).put(protocols::smb_settings_put),
        )
        .route(
            &v("protocols/nfs/settings/global"),
            get(protocols::nfs_settings_get).put(protocols::nfs_settings_put),
        )
        .route(
            &v("protocols/nfs/exports"),
            get(protocols::nfs_export_list).post(protocols::nfs_export_create),
        )
        .route(
            &v("protocols/nfs/exports/{id}"),
            get(protocols::nfs_export_get)
                .put(protocols::nfs_export_update)
                .delete(protocols::nfs_export_delete),
        )
        .route(
            &v("protocols/nfs/aliases"),
            get(protocols::nfs_alias_list).post(protocols::nfs_alias_create),
        )
        .route(
            &v("protocols/nfs/aliases/{id}"),
            get(protocols::nfs_alias_get)
                .put(protocols::nfs_alias_update)
                .delete(protocols::nfs_alias_delete),
        )
        .route(
            &v("quota/quotas"),
            get(protocols::quota_list)
                .post(protocols::quota_create)
                .delete(protocols::quota_delete_matching),
        )
        .route(
            &v("quota/quotas/{id}"),
            get(protocols::quota_get)
                .put(protocols::quota_update)
                .delete(protocols::quota_delete),
        )
        .route(
            &v("snapshot/schedules"),
            get(protocols::schedule_list)
                .post(protocols::schedule_create)
                .delete(protocols::schedule_delete_all),
        )
        .route(
            &v("snapshot/schedules/{id}"),
            get(protocols::schedule_get)
                .put(protocols::schedule_update)
                .delete(protocols::schedule_delete),
        )
        .route(
            &v("dedupe/settings"),
            get(protocols::dedupe_get).put(protocols::dedupe_put),
        )
        .route(
            &v("zones"),
            get(zones_net::zone_list).post(zones_net::zone_create),
        )
        .route(
            &v("zones/{id}"),
            get(zones_net::zone_get)
                .put(zones_net::zone_update)
                .delete(zones_net::zone_delete),
        )
        .route(
            &v("network/groupnets"),
            get(zones_net::groupnet_list).post(zones_net::groupnet_create),
        )
        .route(
            &v("network/groupnets/{g}"),
            get(zones_net::groupnet_get)
                .put(zones_net::groupnet_update)
                .delete(zones_net::groupnet_delete),
        )
        .route(
            &v("network/groupnets/{g}/subnets"),
            get(zones_net::subnet_list).post(zones_net::subnet_create),
        )
        .route(
            &v("network/groupnets/{g}/subnets/{s}"),
            get(zones_net::subnet_get)
                .put(zones_net::subnet_update)
                .delete(zones_net::subnet_delete),
        )
        .route(
            &v("network/groupnets/{g}/subnets/{s}/pools"),
            get(zones_net::pool_list).post(zones_net::pool_create),
        )
        .route(
            &v("network/groupnets/{g}/subnets/{s}/pools/{p}"),
            get(zones_net::pool_get)
                .put(zones_net::pool_update)
                .delete(zones_net::pool_delete),
        )
        .route(&v("network/subnets"), get(zones_net::subnet_list_flat))
        .route(&v("network/pools"), get(zones_net::pool_list_flat))
        .route(
            &v("network/pools/{id}"),
            get(zones_net::pool_get).put(zones_net::pool_update),
        )
        .route(
            &v("auth/providers/ads"),
            get(zones_net::ads_list).post(zones_net::ads_create),
        )
        .route(
            &v("auth/providers/ads/{id}"),
            get(zones_net::ads_get)
                .put(zones_net::ads_update)
                .delete(zones_net::ads_delete),
        )
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(st.clone(), papi_middleware))
        .with_state(st)
}

async fn not_found(req: Request) -> Response {
    ApiError::new(
        StatusCode::NOT_FOUND,
        format!("Path not found: {}", req.uri().path()),
    )
    .into_response()
}

// ------------------------------------------------------------------------- errors

/// A PAPI error response.
#[derive(Debug, Clone)]
pub(crate) struct ApiError {
    pub status: StatusCode,
    pub message: String,
}

/// The AEC code OneFS uses for a status.
pub(crate) fn aec_code(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "AEC_BAD_REQUEST",
        401 => "AEC_UNAUTHORIZED",
        403 => "AEC_FORBIDDEN",
        404 => "AEC_NOT_FOUND",
        409 => "AEC_CONFLICT",
        s if s >= 500 => "AEC_SYSTEM_INTERNAL_ERROR",
        _ => "AEC_BAD_REQUEST",
    }
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
        }
    }
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, message)
    }
    pub fn conflict(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::CONFLICT, message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({"errors": [{"code": aec_code(self.status), "message": self.message}]});
        let mut r = (self.status, Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Basic realm=\"isi_papi\""),
            );
        }
        r
    }
}

impl From<SyncError> for ApiError {
    fn from(e: SyncError) -> ApiError {
        match e {
            SyncError::NotFound(m) => ApiError::not_found(m),
            SyncError::Conflict(m) => ApiError::conflict(m),
            SyncError::BadRequest(m) => ApiError::bad_request(m),
        }
    }
}

pub(crate) type ApiResult = Result<Response, ApiError>;

/// Single-object GET: the plural key with a one-element list.
pub(crate) fn single_envelope(key: &str, item: Value) -> Response {
    let mut m = Map::new();
    m.insert(key.to_string(), Value::Array(vec![item]));
    Json(Value::Object(m)).into_response()
}

pub(crate) fn created(id: &str) -> Response {
    (StatusCode::CREATED, Json(json!({ "id": id }))).into_response()
}

pub(crate) fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

// ------------------------------------------------------------------------- bodies

/// Parse a request body as a JSON object.
pub(crate) fn json_object(body: &Bytes) -> Result<Map<String, Value>, ApiError> {
    if body.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(ApiError::bad_request(
            "request body is required (a JSON object)",
        ));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(ApiError::bad_request("request body must be a JSON object")),
        Err(e) => Err(ApiError::bad_request(format!("malformed JSON body: {e}"))),
    }
}

/// Reject keys not in `allowed`.
pub(crate) fn check_keys(m: &Map<String, Value>, allowed: &[&str]) -> Result<(), ApiError> {
    match m.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(ApiError::bad_request(format!(
            "Field: {k} is not a valid field for this request"
        ))),
        None => Ok(()),
    }
}

pub(crate) fn opt_str(m: &Map<String, Value>, f: &str) -> Result<Option<String>, ApiError> {
    match m.get(f) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(ApiError::bad_request(format!(
            "Field: {f} must be a string"
        ))),
    }
}

pub(crate) fn req_str(m: &Map<String, Value>, f: &str) -> Result<String, ApiError> {
    opt_str(m, f)?.ok_or_else(|| ApiError::bad_request(format!("Field: {f} is required")))
}

pub(crate) fn opt_bool(m: &Map<String, Value>, f: &str) -> Result<Option<bool>, ApiError> {
    match m.get(f) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(ApiError::bad_request(format!(
            "Field: {f} must be a boolean"
        ))),
    }
}

pub(crate) fn opt_u64(m: &Map<String, Value>, f: &str) -> Result<Option<u64>, ApiError> {
    match m.get(f) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v.as_u64().map(Some).ok_or_else(|| {
            ApiError::bad_request(format!("Field: {f} must be a non-negative integer"))
        }),
    }
}

/// The `{id}` path parameter (axum has already percent-decoded it).
pub(crate) fn path_id(p: &BTreeMap<String, String>) -> String {
    p.get("id").cloned().unwrap_or_default()
}

// ------------------------------------------------------------------------- middleware

fn dropped() -> Response {
    let mut r = (StatusCode::BAD_GATEWAY, "connection dropped").into_response();
    r.extensions_mut().insert(ConnectionDropped);
    r
}

fn header_str(h: &HeaderMap, name: &str) -> Option<String> {
    h.get(name)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.to_string())
        .filter(|s| !s.is_empty())
}

/// Decode `Authorization: Basic …` into (user, password).
fn basic_credentials(h: &HeaderMap) -> Option<(String, String)> {
    let v = h.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, rest) = v.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let raw = base64::engine::general_purpose::STANDARD
        .decode(rest.trim())
        .ok()?;
    let s = String::from_utf8(raw).ok()?;
    let (u, p) = s.split_once(':')?;
    Some((u.to_string(), p.to_string()))
}

/// Split `/platform/N/rest` into the version token and `rest`.
fn split_platform(path: &str) -> Option<(&str, &str)> {
    let rest = path.strip_prefix("/platform/")?;
    Some(rest.split_once('/').unwrap_or((rest, "")))
}

fn version_ok(v: &str) -> bool {
    v == "latest"
        || v.parse::<u32>()
            .is_ok_and(|n| (1..=MAX_API_VERSION).contains(&n))
}

async fn papi_middleware(State(st): State<ApiState>, mut req: Request, next: Next) -> Response {
    let (up, papi_latency) = st.sim.with_world(|w| {
        (
            w.cluster(&st.cluster).is_some_and(|c| c.up),
            w.costs.papi_latency_ms,
        )
    });
    if !up {
        return dropped();
    }
    if papi_latency > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(papi_latency)).await;
    }
    let path = req.uri().path().to_string();
    let method = req.method().clone();

    // Sessions: login / whoami / logout need no prior authentication.
    if path.trim_end_matches('/') == "/session/1/session" {
        let users = st.sim.users(&st.cluster);
        let secure = req
            .headers()
            .get("x-forwarded-proto")
            .is_some_and(|v| v.as_bytes() == b"https");
        let h = req.headers().clone();
        let body = match axum::body::to_bytes(req.into_body(), 1 << 20).await {
            Ok(b) => b,
            Err(_) => return ApiError::bad_request("request body too large").into_response(),
        };
        return st
            .sim
            .sessions()
            .handle(&st.cluster, &users, &method, &h, &body, secure);
    }

    // Authentication and authorisation come before anything that reveals the API surface.
    let users = st.sim.users(&st.cluster);
    // Basic first; a client that sends both (isilon-sdk does) may rely on its session.
    let basic_user = basic_credentials(req.headers()).and_then(|(u, p)| {
        users
            .iter()
            .find(|x| x.name == u && x.password == p)
            .cloned()
    });
    let user = match basic_user {
        Some(u) => Some(u),
        None => match st
            .sim
            .sessions()
            .authenticate(&st.cluster, req.headers(), &method)
        {
            session::SessionAuth::Ok(name) => users.into_iter().find(|x| x.name == name),
            session::SessionAuth::Invalid(msg) => {
                return ApiError::new(StatusCode::UNAUTHORIZED, msg).into_response()
            }
            session::SessionAuth::None => None,
        },
    };
    let Some(user) = user else {
        return ApiError::new(StatusCode::UNAUTHORIZED, "Authorization required").into_response();
    };
    let (ver, route) = match split_platform(&path) {
        Some(("latest", "")) => ("latest", ""),
        Some((v, r)) if version_ok(v) && !r.is_empty() => (v, r),
        _ => return ApiError::not_found(format!("Path not found: {path}")).into_response(),
    };
    let _ = ver;
    let route = route.trim_end_matches('/').to_string();
    let read_like = method == Method::GET || method == Method::HEAD;
    match user.role {
        Role::ReadOnly if !read_like => {
            return ApiError::new(
                StatusCode::FORBIDDEN,
                format!(
                    "User {} has the read-only role and may not {} {path}",
                    user.name, method
                ),
            )
            .into_response();
        }
        Role::SynciqOperator
            if !route.is_empty() && !route.starts_with("sync/") && route != "sync" =>
        {
            return ApiError::new(
                StatusCode::FORBIDDEN,
                format!(
                    "User {} (synciq-operator) lacks the privilege for {path}",
                    user.name
                ),
            )
            .into_response();
        }
        _ => {}
    }

    let h = req.headers();
    let ctx = ReqCtx {
        actor: user.name.clone(),
        run: header_str(h, "x-dr-run"),
        step: header_str(h, "x-dr-step"),
        policy: header_str(h, "x-dr-policy"),
        zone: header_str(h, "x-dr-zone"),
    };
    let decision = st.sim.with_world(|w| {
        let now = w.now_ms;
        w.eval_request_faults(&RequestInfo {
            cluster: &st.cluster,
            method: method.as_str(),
            route: &route,
            ctx: &ctx,
            now_ms: now,
            job_policy: None,
        })
    });
    if decision.delay_ms > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(decision.delay_ms)).await;
    }
    // A fault may have taken this very cluster down (or it went down during the delay).
    let up = st
        .sim
        .with_world(|w| w.cluster(&st.cluster).is_some_and(|c| c.up));
    if decision.drop || !up {
        return dropped();
    }
    if let Some(status) = decision.http_status {
        let s = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        return ApiError::new(s, format!("injected fault: HTTP {status}")).into_response();
    }
    req.extensions_mut().insert(ctx);
    let resp = next.run(req).await;
    if resp.status() == StatusCode::METHOD_NOT_ALLOWED {
        return ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            format!("Method {method} is not supported on {path}"),
        )
        .into_response();
    }
    resp
}
