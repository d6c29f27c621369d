//! Plan a run (the step DAG) without running it.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;

use super::{ApiError, AppState, JsonBody};
use crate::run_spec::RunSpec;

/// Check what serde cannot: names are non-empty and reasonable.
pub(crate) fn validate_spec(spec: &RunSpec) -> Result<(), ApiError> {
    let name_ok = |s: &str| !s.trim().is_empty() && s.len() <= 256;
    if !name_ok(&spec.from) || !name_ok(&spec.to) {
        return Err(ApiError::bad_request(
            "`from` and `to` must be non-empty cluster names",
        ));
    }
    if spec.policies.iter().any(|p| !name_ok(p)) {
        return Err(ApiError::bad_request("policy names must be non-empty"));
    }
    if spec.options.job_poll_interval_ms == 0 || spec.options.job_timeout_ms == 0 {
        return Err(ApiError::bad_request(
            "options.job_poll_interval_ms and options.job_timeout_ms must be positive",
        ));
    }
    Ok(())
}

/// Build the plan (step DAG) for a run spec; changes nothing.
#[utoipa::path(post, path = "/api/v1/plans", tag = "plans",
    request_body(content = Object, description = "A RunSpec (see components/schemas/RunSpec)"),
    responses((status = 200, description = "The plan", body = Object),
              (status = 400, body = super::ErrorBody),
              (status = 502, body = super::ErrorBody)),
    security(("bearer" = [])))]
pub async fn plan(
    State(state): State<Arc<AppState>>,
    JsonBody(spec): JsonBody<RunSpec>,
) -> Result<Json<crate::plan::Plan>, ApiError> {
    plan_of(&state, &spec).await.map(|(p, _)| Json(p))
}

/// Discover and plan; changes nothing.
async fn plan_of(
    state: &AppState,
    spec: &RunSpec,
) -> Result<(crate::plan::Plan, crate::inventory::Inventory), ApiError> {
    validate_spec(spec)?;
    let inv = crate::runner::discover(&state.clients).await.map_err(|e| {
        ApiError::new(
            StatusCode::BAD_GATEWAY,
            "bad_gateway",
            format!("discovery failed: {e}"),
        )
    })?;
    let plan = crate::plan::build(spec, &inv)
        .map_err(|e| ApiError::bad_request(format!("cannot plan the run: {e}")))?;
    Ok((plan, inv))
}

/// Predict each step's and the run's duration from the clusters' sync report history and
/// the cost model (`dr plan --estimate`); changes nothing.
#[utoipa::path(post, path = "/api/v1/plans/estimate", tag = "plans",
    request_body(content = Object, description = "A RunSpec (see components/schemas/RunSpec)"),
    responses((status = 200, description = "The estimate: total_ms, per-instance start_ms/end_ms, each cluster's cost model, notes", body = Object),
              (status = 400, body = super::ErrorBody),
              (status = 502, body = super::ErrorBody)),
    security(("bearer" = [])))]
pub async fn estimate(
    State(state): State<Arc<AppState>>,
    JsonBody(spec): JsonBody<RunSpec>,
) -> Result<Json<crate::estimate::Estimate>, ApiError> {
    let (plan, inv) = plan_of(&state, &spec).await?;
    Ok(Json(crate::estimate::estimate(
        &plan,
        &inv,
        &state.config.estimate,
    )))
}

/// The readiness tree (step 3's checks) for a run spec, changing nothing: cluster → zone →
/// pool → policy, every check `ok | warning | error` with what to fix (the same JSON as
/// `dr readiness --json` and the report's `readiness` field).
#[utoipa::path(post, path = "/api/v1/readiness", tag = "plans",
    request_body(content = Object, description = "A RunSpec (see components/schemas/RunSpec)"),
    responses((status = 200, description = "The readiness tree", body = Object),
              (status = 400, body = super::ErrorBody),
              (status = 502, body = super::ErrorBody)),
    security(("bearer" = [])))]
pub async fn readiness(
    State(state): State<Arc<AppState>>,
    JsonBody(spec): JsonBody<RunSpec>,
) -> Result<Json<crate::readiness::Readiness>, ApiError> {
    validate_spec(&spec)?;
    let inv = crate::runner::discover(&state.clients).await.map_err(|e| {
        ApiError::new(
            StatusCode::BAD_GATEWAY,
            "bad_gateway",
            format!("discovery failed: {e}"),
        )
    })?;
    let plan = crate::plan::build(&spec, &inv)
        .map_err(|e| ApiError::bad_request(format!("cannot plan the run: {e}")))?;
    crate::runner::readiness(plan, inv, state.clients.clone(), state.dns.clone())
        .await
        .map(Json)
        .map_err(|e| ApiError::bad_request(e.to_string()))
}
