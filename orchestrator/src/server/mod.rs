//! `dr serve`: the orchestrator's REST API (axum).
//!
//! # Code map
//! * `mod.rs` — [`AppState`], [`router`], [`serve`], errors ([`ApiError`]: every error is
//!   `{"error": {"code", "message"}}` with a 4xx status unless the server itself broke), the
//!   validated JSON body extractor ([`JsonBody`]: malformed bodies are a clear 400), limits.
//! * `auth.rs` — bearer tokens (from the config file by reference) and roles: `viewer` may
//!   read, `operator` may also start, resume and confirm runs.
//! * `inventory.rs` — clusters and discovery; `plans.rs` — plan a run without running it.
//! * `runs.rs` — start (failover / failback / rehearsal), list, watch (poll and server-sent
//!   events), report, confirm manual steps, resume.
//! * `config_sync.rs` — config replication: run the config jobs once, list them.
//! * `openapi.rs` — the OpenAPI document (utoipa), served at `/openapi.json`.
//! * `page.rs` — the live page at `/` (runs and the selected run's step tree, over the
//!   event stream; the token stays in the page, never in a URL).
//! * `listen.rs` — the accept loop: connection limit, header-read and idle timeouts, TLS.
//!
//! # Invariants
//! * Runs execute in this process as tokio tasks and are journaled like `dr failover` runs;
//!   a run survives a server restart as an interrupted run (`POST /runs/{id}/resume`).
//! * Bounded: connections, header-read and idle time ([`listen::Limits`]), request bodies
//!   (`api.max_body_bytes`), concurrent runs
//!   (`api.max_concurrent_runs`, more are refused with 429), and each SSE subscriber's queue
//!   (a slow subscriber gets a `lagged` event and should re-poll).
//! * No secret is ever returned: tokens and cluster passwords are [`crate::secret::Secret`]s.

mod auth;
mod config_sync;
mod inventory;
pub mod listen;
pub mod openapi;
mod page;
mod plans;
mod runs;

use std::collections::BTreeMap;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};

use axum::extract::{DefaultBodyLimit, FromRequest, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use serde::Serialize;

pub use auth::Role;

use crate::config::{ApiConfig, ApiToken};
use crate::journal::{Journal, JournalError};
use crate::papi::PapiClient;

/// Capacity of one run's event channel (per subscriber queue).
pub const EVENT_CHANNEL: usize = 256;

/// Server settings.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub tokens: Vec<ApiToken>,
    pub max_concurrent_runs: usize,
    pub max_body_bytes: usize,
    /// What `POST /plans/estimate` assumes where the report history says nothing (the
    /// config file's `estimate:` section).
    pub estimate: crate::estimate::CostDefaults,
}

impl ServerConfig {
    /// From the config file's `api:` section (tokens already resolved).
    pub fn new(api: &ApiConfig, tokens: Vec<ApiToken>) -> Self {
        ServerConfig {
            tokens,
            max_concurrent_runs: api.max_concurrent_runs.max(1),
            max_body_bytes: api.max_body_bytes.max(1024),
            estimate: crate::estimate::CostDefaults::default(),
        }
    }
}

/// Shared state of the API.
pub struct AppState {
    pub(crate) journal: Journal,
    pub(crate) clients: BTreeMap<String, PapiClient>,
    /// DNS client for `repoint_dns` (the config's `dns:` section).
    pub(crate) dns: Option<crate::dns::DnsClient>,
    pub(crate) config: ServerConfig,
    /// Runs executing in this process, with their event channel.
    pub(crate) active: Mutex<BTreeMap<String, tokio::sync::broadcast::Sender<runs::StreamEvent>>>,
    pub(crate) slots: Arc<tokio::sync::Semaphore>,
    pub(crate) seq: AtomicU64,
}

impl AppState {
    /// State over connected clients and an open journal.
    pub fn new(
        journal: Journal,
        clients: BTreeMap<String, PapiClient>,
        config: ServerConfig,
    ) -> Arc<AppState> {
        Self::with_dns(journal, clients, None, config)
    }

    /// The journal the API records runs in (its database also holds the config store).
    pub fn journal(&self) -> &Journal {
        &self.journal
    }

    /// [`AppState::new`] with a DNS client for the DNS steps.
    pub fn with_dns(
        journal: Journal,
        clients: BTreeMap<String, PapiClient>,
        dns: Option<crate::dns::DnsClient>,
        config: ServerConfig,
    ) -> Arc<AppState> {
        Arc::new(AppState {
            journal,
            clients,
            dns,
            slots: Arc::new(tokio::sync::Semaphore::new(config.max_concurrent_runs)),
            config,
            active: Mutex::new(BTreeMap::new()),
            seq: AtomicU64::new(0),
        })
    }
}

/// An API error: status + `{"error": {"code", "message"}}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

/// The error body.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// Error code and message.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// `bad_request`, `unauthorized`, `forbidden`, `not_found`, `conflict`, `too_many_runs`,
    /// `payload_too_large`, `bad_gateway`, `internal`.
    pub code: String,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }
    pub fn bad_request(m: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", m)
    }
    pub fn not_found(m: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", m)
    }
    pub fn conflict(m: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", m)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.to_string(),
                message: self.message,
            },
        };
        let mut resp = (self.status, Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer"),
            );
        }
        resp
    }
}

impl From<JournalError> for ApiError {
    fn from(e: JournalError) -> Self {
        match &e {
            JournalError::UnknownRun(_) => ApiError::not_found(e.to_string()),
            JournalError::Locked { .. }
            | JournalError::DuplicateRun(_)
            | JournalError::Owned { .. }
            | JournalError::NotResumable { .. } => ApiError::conflict(e.to_string()),
            JournalError::Invalid(_) => ApiError::bad_request(e.to_string()),
            JournalError::Db(_)
            | JournalError::Json(_)
            | JournalError::Gone(_)
            | JournalError::OwnerFile { .. } => {
                tracing::error!(error = %e, "journal error");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "the run journal could not be read or written",
                )
            }
        }
    }
}

/// A JSON request body, parsed with a clear 400 on any problem (content type, syntax,
/// unknown or missing fields, wrong types); 413 when over the size limit.
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let ct = req
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        if !ct.starts_with("application/json") {
            return Err(ApiError::bad_request(
                "Content-Type must be application/json",
            ));
        }
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| {
                if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::new(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "payload_too_large",
                        "request body is too large",
                    )
                } else {
                    ApiError::bad_request(format!("cannot read the request body: {e}"))
                }
            })?;
        serde_json::from_slice(&bytes)
            .map(JsonBody)
            .map_err(|e| ApiError::bad_request(format!("invalid request body: {e}")))
    }
}

/// A run id taken from the request path (`/api/v1/runs/{id}…`), checked by
/// [`valid_run_id`]: a handler that takes a `RunId` never sees an invalid one, and a bad
/// one gets the same JSON 400 as any other bad input.
pub(crate) struct RunId(pub String);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for RunId {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, ApiError> {
        let axum::extract::Path(id) =
            axum::extract::Path::<String>::from_request_parts(parts, state)
                .await
                .map_err(|e| ApiError::bad_request(format!("invalid run id: {e}")))?;
        valid_run_id(&id)?;
        Ok(RunId(id))
    }
}

/// Check a run id from a path: 1–128 of `[A-Za-z0-9._-]`.
pub(crate) fn valid_run_id(id: &str) -> Result<(), ApiError> {
    if id.is_empty()
        || id.len() > 128
        || !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    {
        return Err(ApiError::bad_request(
            "invalid run id: use 1-128 letters, digits, '.', '_' or '-'",
        ));
    }
    Ok(())
}

async fn fallback() -> ApiError {
    ApiError::not_found("no such route; see /openapi.json")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this route does not take that method; see /openapi.json",
    )
}

async fn healthz() -> &'static str {
    "ok"
}

/// The whole API.
pub fn router(state: Arc<AppState>) -> Router {
    let api = Router::new()
        .route("/clusters", get(inventory::list_clusters))
        .route("/inventory", get(inventory::discover))
        .route("/plans", post(plans::plan))
        .route("/plans/estimate", post(plans::estimate))
        .route("/readiness", post(plans::readiness))
        .route("/runs", get(runs::list).post(runs::start))
        .route("/failover", post(runs::start_failover))
        .route("/failback", post(runs::start_failback))
        .route("/rehearsal", post(runs::start_rehearsal))
        .route("/runs/{id}", get(runs::get_run))
        .route("/runs/{id}/plan", get(runs::get_plan))
        .route("/runs/{id}/report", get(runs::get_report))
        .route("/runs/{id}/events", get(runs::events))
        .route("/runs/{id}/confirm", post(runs::confirm))
        .route("/runs/{id}/resume", post(runs::resume))
        .route("/config-sync", post(config_sync::sync))
        .route("/config-jobs", get(config_sync::jobs))
        .fallback(fallback)
        .method_not_allowed_fallback(method_not_allowed);
    Router::new()
        .route("/openapi.json", get(openapi::serve_doc))
        .route("/healthz", get(healthz))
        .route("/", get(page::live_page))
        .nest("/api/v1", api)
        .fallback(fallback)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::require_token_under_api,
        ))
        .layer(DefaultBodyLimit::max(state.config.max_body_bytes))
        .with_state(state)
}

/// Serve the API on `listener` until the process ends.
pub async fn serve(listener: tokio::net::TcpListener, state: Arc<AppState>) -> std::io::Result<()> {
    serve_with(
        listener,
        state,
        None,
        listen::Limits::default(),
        std::future::pending(),
    )
    .await
}

/// [`serve`] over TLS (when `tls` is given), within `limits`, until `shutdown` completes.
pub async fn serve_with(
    listener: tokio::net::TcpListener,
    state: Arc<AppState>,
    tls: Option<Arc<rustls::ServerConfig>>,
    limits: listen::Limits,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    listen::serve(listener, router(state), tls, limits, shutdown).await
}
