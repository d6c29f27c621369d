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

mod cache;
#[cfg(test)]
mod cache_tests;
mod cluster;
mod collection;
mod objects;
mod resources;
mod session;
mod sync_common;
mod sync_jobs;
mod sync_policies;
mod sync_render;
mod sync_reports;
mod sync_settings;
mod sync_target;
#[cfg(test)]
mod tests;

pub(crate) use cache::BodyCache;
pub(crate) use session::SessionStore;
pub(crate) use sync_render::{job_json, policy_json, report_json, target_policy_json};

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
use collection::{delete, delete_all, item_routes, list, list_routes, update};
use resources::ads;
use resources::groupnets::Groupnets;
use resources::nfs_aliases::NfsAliases;
use resources::nfs_exports::NfsExports;
use resources::openfiles::OpenFiles;
use resources::pools::Pools;
use resources::quotas::Quotas;
use resources::settings::{self, DedupeSettings, NfsSettings, SmbSettings};
use resources::smb_shares::SmbShares;
use resources::snapshot_schedules::SnapshotSchedules;
use resources::subnets::Subnets;
use resources::zones::Zones;

/// Per-router state: the world handle and which cluster this router serves.
#[derive(Clone)]
pub(crate) struct ApiState {
    pub sim: Sim,
    /// Shared, not owned: axum clones the state for the middleware and for every handler's
    /// `State` extractor, several times per request.
    pub cluster: std::sync::Arc<str>,
}

/// The router state and request context of an authenticated request (the context is set by
/// [`papi_middleware`]).
pub(crate) struct Caller {
    pub st: ApiState,
    pub ctx: ReqCtx,
}

impl axum::extract::FromRequestParts<ApiState> for Caller {
    type Rejection = ApiError;
    async fn from_request_parts(
        parts: &mut http::request::Parts,
        st: &ApiState,
    ) -> Result<Caller, ApiError> {
        // Taken, not copied: the context is read once per request, by this extractor (the
        // handlers that read it as `Extension<ReqCtx>` do not also take a `Caller`).
        let ctx = parts.extensions.remove::<ReqCtx>().unwrap_or_default();
        Ok(Caller {
            st: st.clone(),
            ctx,
        })
    }
}

/// Highest API version number the simulator accepts.
pub const MAX_API_VERSION: u32 = 22;

pub(crate) fn router(sim: Sim, cluster: &str) -> Router {
    let st = ApiState {
        sim,
        cluster: cluster.into(),
    };
    // The routes are the same for every cluster and world: built once per process (parsing
    // ~50 paths into the route table cost about as much as a small scenario's requests),
    // then each router gets its own state. A `Router` clone shares the table; no state is
    // shared between worlds.
    static ROUTES: std::sync::OnceLock<Router<ApiState>> = std::sync::OnceLock::new();
    ROUTES
        .get_or_init(routes)
        .clone()
        .layer(middleware::from_fn_with_state(st.clone(), papi_middleware))
        .with_state(st)
}

/// The route table, without state.
fn routes() -> Router<ApiState> {
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
        .route(&v("sync/target/reports"), get(sync_reports::target_list))
        .route(
            &v("sync/target/reports/{id}"),
            get(sync_reports::target_get_one),
        )
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
            list_routes::<SmbShares>().delete(delete_all::<SmbShares>),
        )
        .route(&v("protocols/smb/shares/{id}"), item_routes::<SmbShares>())
        .route(&v("protocols/smb/openfiles"), get(list::<OpenFiles>))
        .route(
            &v("protocols/smb/openfiles/{id}"),
            axum::routing::delete(delete::<OpenFiles>),
        )
        .route(
            &v("protocols/smb/settings/global"),
            settings::routes::<SmbSettings>(),
        )
        .route(
            &v("protocols/nfs/settings/global"),
            settings::routes::<NfsSettings>(),
        )
        .route(&v("protocols/nfs/exports"), list_routes::<NfsExports>())
        .route(
            &v("protocols/nfs/exports/{id}"),
            item_routes::<NfsExports>(),
        )
        .route(&v("protocols/nfs/aliases"), list_routes::<NfsAliases>())
        .route(
            &v("protocols/nfs/aliases/{id}"),
            item_routes::<NfsAliases>(),
        )
        .route(
            &v("quota/quotas"),
            list_routes::<Quotas>().delete(delete_all::<Quotas>),
        )
        .route(&v("quota/quotas/{id}"), item_routes::<Quotas>())
        .route(
            &v("snapshot/schedules"),
            list_routes::<SnapshotSchedules>().delete(delete_all::<SnapshotSchedules>),
        )
        .route(
            &v("snapshot/schedules/{id}"),
            item_routes::<SnapshotSchedules>(),
        )
        .route(&v("dedupe/settings"), settings::routes::<DedupeSettings>())
        .route(&v("zones"), list_routes::<Zones>())
        .route(&v("zones/{id}"), item_routes::<Zones>())
        .route(&v("network/groupnets"), list_routes::<Groupnets>())
        .route(&v("network/groupnets/{g}"), item_routes::<Groupnets>())
        .route(
            &v("network/groupnets/{g}/subnets"),
            list_routes::<Subnets>(),
        )
        .route(
            &v("network/groupnets/{g}/subnets/{s}"),
            item_routes::<Subnets>(),
        )
        .route(
            &v("network/groupnets/{g}/subnets/{s}/pools"),
            list_routes::<Pools>(),
        )
        .route(
            &v("network/groupnets/{g}/subnets/{s}/pools/{p}"),
            item_routes::<Pools>(),
        )
        .route(&v("network/subnets"), get(list::<Subnets>))
        .route(&v("network/pools"), get(list::<Pools>))
        .route(
            &v("network/pools/{id}"),
            get(collection::get::<Pools>).put(update::<Pools>),
        )
        .route(
            &v("auth/providers/ads"),
            get(ads::ads_list).post(ads::ads_create),
        )
        .route(
            &v("auth/providers/ads/{id}"),
            get(ads::ads_get)
                .put(ads::ads_update)
                .delete(ads::ads_delete),
        )
        .fallback(not_found)
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
    Json(single_envelope_value(key, item)).into_response()
}

/// The body of [`single_envelope`].
pub(crate) fn single_envelope_value(key: &str, item: Value) -> Value {
    let mut m = Map::new();
    m.insert(key.to_string(), Value::Array(vec![item]));
    Value::Object(m)
}

pub(crate) fn created(id: &str) -> Response {
    (StatusCode::CREATED, Json(json!({ "id": id }))).into_response()
}

pub(crate) fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

// ------------------------------------------------------------------------- bodies

/// The longest name a OneFS object may have (a path component: 255).
pub(crate) const MAX_NAME_CHARS: usize = 255;

/// Parse a request body as a JSON object.
pub(crate) fn json_object(body: &Bytes) -> Result<Map<String, Value>, ApiError> {
    if body.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(ApiError::bad_request(
            "request body is required (a JSON object)",
        ));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => {
            // OneFS names (policies, shares, zones, pools, aliases…) are path-component
            // sized: longer ones are refused, not stored.
            if let Some(n) = m.get("name").and_then(Value::as_str) {
                if n.chars().count() > MAX_NAME_CHARS {
                    return Err(ApiError::bad_request(format!(
                        "Field: name is {} characters long; the maximum is {MAX_NAME_CHARS}",
                        n.chars().count()
                    )));
                }
            }
            Ok(m)
        }
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

/// An optional body field that `get` reads (absent or `null`: `None`), else a 400 saying it
/// must be `what`.
fn opt_field<T>(
    m: &Map<String, Value>,
    f: &str,
    what: &str,
    get: impl Fn(&Value) -> Option<T>,
) -> Result<Option<T>, ApiError> {
    match m.get(f) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => get(v)
            .map(Some)
            .ok_or_else(|| ApiError::bad_request(format!("Field: {f} must be {what}"))),
    }
}

pub(crate) fn opt_str(m: &Map<String, Value>, f: &str) -> Result<Option<String>, ApiError> {
    opt_field(m, f, "a string", |v| v.as_str().map(str::to_string))
}

pub(crate) fn req_str(m: &Map<String, Value>, f: &str) -> Result<String, ApiError> {
    opt_str(m, f)?.ok_or_else(|| ApiError::bad_request(format!("Field: {f} is required")))
}

pub(crate) fn opt_bool(m: &Map<String, Value>, f: &str) -> Result<Option<bool>, ApiError> {
    opt_field(m, f, "a boolean", Value::as_bool)
}

pub(crate) fn opt_u64(m: &Map<String, Value>, f: &str) -> Result<Option<u64>, ApiError> {
    opt_field(m, f, "a non-negative integer", Value::as_u64)
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

#[cfg(test)]
fn header_str(h: &HeaderMap, name: &str) -> Option<String> {
    h.get(name)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.to_string())
        .filter(|s| !s.is_empty())
}

/// The `x-dr-run`, `x-dr-step`, `x-dr-policy` and `x-dr-zone` headers, each as
/// [`header_str`] reads it (the first value of the name; absent, not visible ASCII or empty:
/// `None`), in one pass over the headers.
///
/// Why: a `HeaderMap::get` by a `&str` name parses and hashes the name first; four of them
/// per request cost more than walking a request's handful of headers once and comparing
/// names.
fn dr_headers(h: &HeaderMap) -> [Option<String>; 4] {
    let mut out: [Option<String>; 4] = Default::default();
    let mut seen = [false; 4];
    for (name, value) in h {
        let i = match name.as_str() {
            "x-dr-run" => 0,
            "x-dr-step" => 1,
            "x-dr-policy" => 2,
            "x-dr-zone" => 3,
            _ => continue,
        };
        // `get` answers the first value of a name; later ones are ignored.
        if std::mem::replace(&mut seen[i], true) {
            continue;
        }
        out[i] = value
            .to_str()
            .ok()
            .filter(|s| !s.is_empty())
            .map(str::to_string);
    }
    out
}

/// Decoded `Authorization: Basic …` credentials: `user:password`, split at `colon`.
#[derive(Clone, PartialEq)]
struct BasicCredentials {
    /// Shared: the decoded header is cached per thread (see [`basic_credentials`]).
    raw: std::sync::Arc<str>,
    colon: usize,
}

/// The password never reaches a log or a test failure message.
impl std::fmt::Debug for BasicCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BasicCredentials")
            .field("user", &self.user())
            .field("password", &"<redacted>")
            .finish()
    }
}

impl BasicCredentials {
    fn user(&self) -> &str {
        &self.raw[..self.colon]
    }
    fn password(&self) -> &str {
        &self.raw[self.colon + 1..]
    }
}

/// Decode `Authorization: Basic …` into (user, password), remembering the last header
/// decoded on this thread.
///
/// Why: every request of a client carries the same header, and decoding it (base64, UTF-8
/// check, a new string) cost about as much as a small handler. The answer depends on
/// nothing but the header's bytes, so a cached answer is the one decoding would give.
fn basic_credentials(h: &HeaderMap) -> Option<BasicCredentials> {
    thread_local! {
        static LAST: std::cell::RefCell<Option<(http::HeaderValue, Option<BasicCredentials>)>> =
            const { std::cell::RefCell::new(None) };
    }
    let v = h.get(header::AUTHORIZATION)?;
    LAST.with(|last| {
        let mut last = last.borrow_mut();
        if let Some((k, c)) = last.as_ref() {
            if k == v {
                return c.clone();
            }
        }
        let c = decode_basic(v);
        *last = Some((v.clone(), c.clone()));
        c
    })
}

/// [`basic_credentials`] without the cache: decode one `Authorization` value.
fn decode_basic(v: &http::HeaderValue) -> Option<BasicCredentials> {
    let v = v.to_str().ok()?;
    let (scheme, rest) = v.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let raw = base64::engine::general_purpose::STANDARD
        .decode(rest.trim())
        .ok()?;
    let raw = String::from_utf8(raw).ok()?;
    let colon = raw.find(':')?;
    Some(BasicCredentials {
        raw: raw.into(),
        colon,
    })
}

/// The `Date` header value of virtual time `ms`, formatted once per Unix second per thread:
/// a run polls many times within one virtual second, and the value depends on nothing but
/// the second (the epoch is folded into the key).
fn date_header(epoch: crate::clock::Epoch, ms: u64) -> Option<http::HeaderValue> {
    thread_local! {
        static LAST: std::cell::RefCell<Option<(i64, http::HeaderValue)>> =
            const { std::cell::RefCell::new(None) };
    }
    let second = epoch.unix_s(i64::try_from(ms).unwrap_or(i64::MAX));
    LAST.with(|last| {
        let mut last = last.borrow_mut();
        if let Some((s, v)) = last.as_ref() {
            if *s == second {
                return Some(v.clone());
            }
        }
        let v = http::HeaderValue::from_str(&epoch.http_date(ms)).ok()?;
        *last = Some((second, v.clone()));
        Some(v)
    })
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

/// Every response states the cluster's time in `Date`, on the same clock as the times in
/// PAPI bodies (DESIGN §3): virtual time under `drill run`, real time under `drill serve`.
async fn papi_middleware(State(st): State<ApiState>, req: Request, next: Next) -> Response {
    let mut resp = papi_request(&st, req, next).await;
    let (epoch, now) = st.sim.with_world_read(|w| (w.epoch, w.now_ms));
    if let Some(v) = date_header(epoch, now) {
        resp.headers_mut().insert(header::DATE, v);
    }
    resp
}

/// What [`papi_request`] reads of the world before the handler runs.
struct Look {
    up: bool,
    papi_latency: u64,
    basic_user: Option<User>,
    has_rules: bool,
}

/// What a request needs of its authenticated user (not the password).
struct User {
    name: String,
    role: Role,
}

async fn papi_request(st: &ApiState, mut req: Request, next: Next) -> Response {
    let find_user = |w: &crate::model::WorldState, ok: &dyn Fn(&crate::spec::UserSpec) -> bool| {
        w.cluster(&st.cluster).and_then(|c| {
            c.users.iter().find(|x| ok(x)).map(|u| User {
                name: u.name.clone(),
                role: u.role,
            })
        })
    };
    // One look at the world for what the request reads of it before its handler: whether
    // the cluster is up, the latency, the Basic user, whether request rules exist. Nothing
    // awaits or writes between the look and those uses, except the latency's sleep (the
    // look is taken again after it) and a rule's evaluation (which reads `up` again). Each
    // look costs a clock read and the world lock; a request took five before.
    let basic = basic_credentials(req.headers());
    let look = |w: &crate::model::WorldState| Look {
        up: w.cluster(&st.cluster).is_some_and(|c| c.up),
        papi_latency: w.costs.papi_latency_ms,
        basic_user: basic
            .as_ref()
            .and_then(|b| find_user(w, &|x| x.name == b.user() && x.password == b.password())),
        has_rules: w
            .faults
            .iter()
            .any(|f| f.rule.kind() == crate::faults::RuleKind::Request),
    };
    let mut seen = st.sim.with_world_read(look);
    if !seen.up {
        return dropped();
    }
    if seen.papi_latency > 0 {
        // Virtual latency, in real time at the world's speed.
        let real_ms = seen.papi_latency / u64::from(st.sim.speed().max(1));
        tokio::time::sleep(std::time::Duration::from_millis(real_ms)).await;
        seen = st.sim.with_world_read(look);
    }
    let Look {
        up: up_now,
        basic_user,
        has_rules,
        ..
    } = seen;
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
    // Basic first; a client that sends both (isilon-sdk does) may rely on its session.
    let user = match basic_user {
        Some(u) => Some(u),
        None => match st
            .sim
            .sessions()
            .authenticate(&st.cluster, req.headers(), &method)
        {
            session::SessionAuth::Ok(name) => st
                .sim
                .with_world_read(|w| find_user(w, &|x| x.name == name)),
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
    let route = route.trim_end_matches('/');
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

    let [run, step, policy, zone] = dr_headers(req.headers());
    let ctx = ReqCtx {
        actor: user.name,
        run,
        step,
        policy,
        zone,
    };
    // Rule bookkeeping (match counts, audit) mutates the world; without request rules there
    // is nothing to evaluate, and a read leaves the rendered-body cache valid.
    let decision = if !has_rules {
        crate::model::RequestFaults::default()
    } else {
        st.sim.with_world(|w| {
            let now = w.now_ms;
            w.eval_request_faults(&RequestInfo {
                cluster: &st.cluster,
                method: method.as_str(),
                route,
                ctx: &ctx,
                now_ms: now,
                job_policy: None,
            })
        })
    };
    if decision.delay_ms > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(decision.delay_ms)).await;
    }
    // A fault may have taken this very cluster down (or it went down during the delay);
    // without rules nothing ran since `up_now` was read.
    let up = if has_rules {
        st.sim
            .with_world_read(|w| w.cluster(&st.cluster).is_some_and(|c| c.up))
    } else {
        up_now
    };
    if decision.drop || !up {
        return dropped();
    }
    if let Some(status) = decision.http_status {
        let s = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        return ApiError::new(s, format!("injected fault: HTTP {status}")).into_response();
    }
    // `lost_write`: the configuration as it was, put back once the write was acknowledged.
    let lost = (decision.lost_write && !read_like)
        .then(|| {
            st.sim
                .with_world(|w| w.cluster(&st.cluster).map(|c| c.cfg.clone()))
        })
        .flatten();
    req.extensions_mut().insert(ctx);
    let resp = next.run(req).await;
    if let Some(cfg) = lost.filter(|_| resp.status().is_success()) {
        st.sim
            .with_world(|w| w.lose_write(&st.cluster, cfg, method.as_str(), route));
    }
    if resp.status() == StatusCode::METHOD_NOT_ALLOWED {
        return ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            format!("Method {method} is not supported on {path}"),
        )
        .into_response();
    }
    // axum's body limit answers in plain text; a cluster answers in PAPI's error format.
    if resp.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("Request body of {method} {path} is too large"),
        )
        .into_response();
    }
    resp
}

#[cfg(test)]
mod date_header_tests {
    use super::date_header;
    use crate::clock::Epoch;

    /// The per-second `Date` cache never answers with another second's or another
    /// epoch's value: each call agrees with formatting afresh.
    #[test]
    fn date_header_follows_the_second_and_the_epoch() {
        let a = Epoch::default();
        let b = Epoch::from_unix_s(1_000_000_000);
        for (ep, ms) in [
            (a, 0),
            (a, 999),
            (a, 1000),
            (b, 1000),
            (a, 1000),
            (a, 61_500),
            (a, 1500),
        ] {
            let got = date_header(ep, ms).expect("valid date");
            assert_eq!(got.to_str().unwrap(), ep.http_date(ms), "{ms} ms");
        }
    }
}

#[cfg(test)]
mod header_tests {
    use super::{basic_credentials, decode_basic, dr_headers, header_str};
    use axum::http::{HeaderMap, HeaderName, HeaderValue};
    use proptest::prelude::*;

    fn value() -> impl Strategy<Value = Vec<u8>> {
        // Empty, visible ASCII, and obs-text bytes (`to_str` refuses those).
        prop::collection::vec(
            prop_oneof![Just(b'a'), Just(b' '), Just(b'/'), Just(0xe9u8)],
            0..4,
        )
    }

    proptest! {
        /// The one-pass read of the `x-dr-*` headers agrees with four `header_str` calls,
        /// whatever the order, repetition, case or content of the headers.
        #[test]
        fn dr_headers_agrees_with_header_str(
            hs in prop::collection::vec((0usize..7, value()), 0..10),
        ) {
            let names = ["x-dr-run", "X-Dr-Step", "x-dr-policy", "x-dr-zone", "x-dr-other",
                         "authorization", "x-dr-run-x"];
            let mut h = HeaderMap::new();
            for (n, v) in &hs {
                let name = HeaderName::from_bytes(names[*n].as_bytes()).expect("valid name");
                h.append(name, HeaderValue::from_bytes(v).expect("valid value"));
            }
            let want = ["x-dr-run", "x-dr-step", "x-dr-policy", "x-dr-zone"]
                .map(|n| header_str(&h, n));
            prop_assert_eq!(dr_headers(&h), want);
        }

        /// The per-thread cache of decoded `Authorization` headers answers what decoding
        /// the header afresh does, across a sequence of repeated and changing headers.
        #[test]
        fn basic_credentials_cache_agrees_with_decoding(
            seq in prop::collection::vec(0usize..6, 1..12),
        ) {
            let auth = [
                None,
                Some("Basic YWRtaW46c2VjcmV0"),     // admin:secret
                Some("basic YWRtaW46b3RoZXI="),     // admin:other
                Some("Basic bm9jb2xvbg=="),         // nocolon
                Some("Bearer abc"),
                Some("Basic !!!"),
            ];
            for i in seq {
                let mut h = HeaderMap::new();
                if let Some(a) = auth[i] {
                    h.insert(axum::http::header::AUTHORIZATION, HeaderValue::from_static(a));
                }
                let want = h.get(axum::http::header::AUTHORIZATION).and_then(decode_basic);
                prop_assert_eq!(basic_credentials(&h), want);
            }
        }
    }

    #[test]
    fn basic_credentials_split_user_and_password() {
        let mut h = HeaderMap::new();
        h.insert(
            axum::http::header::AUTHORIZATION,
            HeaderValue::from_static("Basic YWRtaW46c2VjcmV0"),
        );
        let c = basic_credentials(&h).expect("decodes");
        assert_eq!((c.user(), c.password()), ("admin", "secret"));
        let shown = format!("{c:?}");
        assert!(
            shown.contains("admin") && !shown.contains("secret"),
            "{shown}"
        );
    }
}
