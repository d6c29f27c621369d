//! Config replication over REST: `POST /api/v1/config-sync` runs every enabled config job
//! once (what `dr config-sync --once` does), `GET /api/v1/config-jobs` lists the jobs of the
//! store (the journal's database) with their state and last result.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;

use super::{ApiError, AppState, JsonBody};
use crate::config_repl::{self, Job, SyncError, SyncRequest, SyncSummary};

/// One pass at a time per process: two passes would race on the same targets.
static PASS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn store_error(e: impl std::fmt::Display) -> ApiError {
    tracing::error!(error = %e, "config store error");
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        "the config store could not be read or written",
    )
}

/// Run every enabled config job once (shares, exports, NFS aliases, quotas, snapshot
/// schedules and dedupe paths under each policy's path, source → target).
#[utoipa::path(post, path = "/api/v1/config-sync", tag = "config",
    request_body = SyncRequest,
    responses((status = 200, description = "What each job did; `result` is `failed` for a job that failed", body = SyncSummary),
              (status = 400, description = "Bad body or unknown policy", body = super::ErrorBody),
              (status = 409, description = "A config sync is already running", body = super::ErrorBody),
              (status = 502, description = "A cluster could not be reached", body = super::ErrorBody)),
    security(("bearer" = [])))]
pub async fn sync(
    State(state): State<Arc<AppState>>,
    JsonBody(req): JsonBody<SyncRequest>,
) -> Result<Json<SyncSummary>, ApiError> {
    let _pass = PASS
        .try_lock()
        .map_err(|_| ApiError::conflict("a config sync is already running"))?;
    let store = state.journal.config_store()?;
    config_repl::sync_all(&store, &state.clients, &req)
        .await
        .map(Json)
        .map_err(|e| match e {
            SyncError::UnknownPolicy(_) => ApiError::bad_request(e.to_string()),
            SyncError::Discover(_) => {
                ApiError::new(StatusCode::BAD_GATEWAY, "bad_gateway", e.to_string())
            }
            SyncError::Store(e) => store_error(e),
        })
}

/// The config jobs (one per policy): state, last run and its counts.
#[utoipa::path(get, path = "/api/v1/config-jobs", tag = "config",
    responses((status = 200, body = [Job]), (status = 401, body = super::ErrorBody)),
    security(("bearer" = [])))]
pub async fn jobs(State(state): State<Arc<AppState>>) -> Result<Json<Vec<Job>>, ApiError> {
    let store = state.journal.config_store()?;
    store.jobs().map(Json).map_err(store_error)
}
