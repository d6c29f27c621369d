//! Runs: start, list, watch (poll + server-sent events), report, confirm, resume.
//!
//! A started run is discovered, planned and journaled (taking its policy/zone locks) before
//! the request returns, so plan errors are a 400 and lock conflicts a 409; then it executes
//! in a tokio task. Manual steps pause the run; `POST /runs/{id}/confirm` records the
//! confirmations in the journal and resumes it, confirming exactly those steps.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::Json;
use futures::Stream;
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

use super::plans::validate_spec;
use super::{ApiError, AppState, JsonBody, RunId};
use crate::exec::RunEvent;
use crate::journal::{JournalOperator, RunDetail, RunRow};
use crate::report::{Report, StepRecord};
use crate::run_spec::{RunKind, RunSpec};
use crate::runner::{self, RunError};

/// What a started run answers.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RunAccepted {
    pub id: String,
    pub status: String,
    /// Where to poll the step tree.
    pub href: String,
    /// Where to stream events.
    pub events: String,
}

/// Manual steps to confirm: `step` (every instance) or `step:policy`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmRequest {
    pub steps: Vec<String>,
}

/// One event of the stream.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum StreamEvent {
    /// The run's current step records (sent first).
    Snapshot {
        status: String,
        #[schema(value_type = Vec<Object>)]
        steps: Vec<StepRecord>,
    },
    StepStarted {
        #[schema(value_type = Object)]
        step: StepRecord,
    },
    StepEnded {
        #[schema(value_type = Object)]
        step: StepRecord,
    },
    /// Rollback instances were added.
    StepsAdded { count: usize },
    /// The subscriber fell behind; re-poll `GET /runs/{id}`.
    Lagged { missed: u64 },
    /// The run stopped (finished, paused, or failed to continue).
    End { status: String },
}

impl StreamEvent {
    fn name(&self) -> &'static str {
        match self {
            StreamEvent::Snapshot { .. } => "snapshot",
            StreamEvent::StepStarted { .. } => "step_started",
            StreamEvent::StepEnded { .. } => "step_ended",
            StreamEvent::StepsAdded { .. } => "steps_added",
            StreamEvent::Lagged { .. } => "lagged",
            StreamEvent::End { .. } => "end",
        }
    }
}

fn run_error(e: RunError) -> ApiError {
    match e {
        RunError::Discover(e) => ApiError::new(
            StatusCode::BAD_GATEWAY,
            "bad_gateway",
            format!("discovery failed: {e}"),
        ),
        RunError::Plan(e) => ApiError::bad_request(format!("cannot plan the run: {e}")),
        RunError::Journal(e) => e.into(),
        RunError::JournalStopped { .. } => {
            tracing::error!(error = %e, "journal error");
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "the run journal could not be written; the run stopped and can be resumed once it is writable",
            )
        }
    }
}

enum Launch {
    Start(Box<(crate::plan::Plan, crate::inventory::Inventory)>),
    Resume(Vec<String>),
}

/// Execute a journaled run (new or resumed) in a task, broadcasting its events, as `owner`
/// (taken before the request is answered: one executor per run).
fn launch(
    state: &Arc<AppState>,
    run_id: String,
    what: Launch,
    owner: crate::journal::RunOwner,
    permit: tokio::sync::OwnedSemaphorePermit,
) {
    let (tx, _) = broadcast::channel(super::EVENT_CHANNEL);
    crate::ctx::lock(&state.active).insert(run_id.clone(), tx.clone());
    let tx2 = tx.clone();
    let observer: crate::Observer = Arc::new(move |ev: &RunEvent| {
        let out = match ev {
            RunEvent::StepStarted(r) => StreamEvent::StepStarted { step: r.clone() },
            RunEvent::StepEnded(r) => StreamEvent::StepEnded { step: r.clone() },
            RunEvent::StepsAdded(v) => StreamEvent::StepsAdded { count: v.len() },
            RunEvent::State(_) => return,
        };
        let _ = tx2.send(out);
    });
    let state = state.clone();
    tokio::spawn(async move {
        let _permit = permit;
        let clients = state.clients.clone();
        let dns = state.dns.clone();
        let result = match what {
            Launch::Start(b) => runner::execute_owned(
                owner,
                &state.journal,
                &run_id,
                *b,
                clients,
                dns,
                Arc::new(crate::exec::AbsentOperator),
                Some(observer),
            )
            .await
            .map(|r| r.outcome.as_str().to_string()),
            Launch::Resume(confirmed) => runner::resume_owned(
                owner,
                &state.journal,
                &run_id,
                clients,
                dns,
                Arc::new(JournalOperator::new(confirmed)),
                Some(observer),
            )
            .await
            .map(|(_, r)| r.outcome.as_str().to_string()),
        };
        let status = match result {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(run = %run_id, error = %e, "run could not continue");
                format!("error: {e}")
            }
        };
        {
            // Remove only our own entry: a resume may already have registered a new one.
            let mut active = crate::ctx::lock(&state.active);
            if active.get(&run_id).is_some_and(|t| t.same_channel(&tx)) {
                active.remove(&run_id);
            }
        }
        let _ = tx.send(StreamEvent::End { status });
    });
}

fn take_slot(state: &Arc<AppState>) -> Result<tokio::sync::OwnedSemaphorePermit, ApiError> {
    state.slots.clone().try_acquire_owned().map_err(|_| {
        ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_runs",
            format!(
                "{} runs are already executing (api.max_concurrent_runs); try again when one ends",
                state.config.max_concurrent_runs
            ),
        )
    })
}

fn accepted(id: &str, status: &str) -> Json<RunAccepted> {
    Json(RunAccepted {
        id: id.to_string(),
        status: status.to_string(),
        href: format!("/api/v1/runs/{id}"),
        events: format!("/api/v1/runs/{id}/events"),
    })
}

async fn start_with(
    state: Arc<AppState>,
    mut spec: RunSpec,
) -> Result<(StatusCode, Json<RunAccepted>), ApiError> {
    validate_spec(&spec)?;
    // The run's estimate uses the server's cost model unless the request brings its own.
    spec.options
        .estimate
        .get_or_insert_with(|| state.config.estimate.clone());
    let permit = take_slot(&state)?;
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    let id = format!(
        "run-{millis}-{}",
        state.seq.fetch_add(1, Ordering::SeqCst) + 1
    );
    let (plan, inv) = runner::prepare_journaled(&state.journal, &id, &state.clients, &spec)
        .await
        .map_err(run_error)?;
    let owner = match state.journal.own(&id) {
        Ok(o) => o,
        Err(e) => {
            // Recorded but never started: release its locks rather than leave it dangling.
            let _ = state.journal.abort_run(&id);
            return Err(e.into());
        }
    };
    launch(
        &state,
        id.clone(),
        Launch::Start(Box::new((plan, inv))),
        owner,
        permit,
    );
    Ok((StatusCode::ACCEPTED, accepted(&id, "running")))
}

/// Start a run (failover, failback or rehearsal, by the spec's `kind`).
#[utoipa::path(post, path = "/api/v1/runs", tag = "runs",
    request_body(content = Object, description = "A RunSpec (see components/schemas/RunSpec)"),
    responses((status = 202, body = RunAccepted),
              (status = 400, description = "Malformed body or the run cannot be planned", body = super::ErrorBody),
              (status = 403, body = super::ErrorBody),
              (status = 409, description = "A policy or zone is locked by another run", body = super::ErrorBody),
              (status = 429, body = super::ErrorBody)),
    security(("bearer" = [])))]
pub async fn start(
    State(state): State<Arc<AppState>>,
    JsonBody(spec): JsonBody<RunSpec>,
) -> Result<(StatusCode, Json<RunAccepted>), ApiError> {
    start_with(state, spec).await
}

async fn start_kind(
    state: Arc<AppState>,
    mut body: serde_json::Value,
    kind: RunKind,
) -> Result<(StatusCode, Json<RunAccepted>), ApiError> {
    let obj = body
        .as_object_mut()
        .ok_or_else(|| ApiError::bad_request("the body must be a JSON object (a RunSpec)"))?;
    let want = serde_json::to_value(kind).unwrap_or_default();
    match obj.get("kind") {
        Some(k) if *k != want => {
            return Err(ApiError::bad_request(format!(
                "kind {k} does not match this route ({want})"
            )))
        }
        _ => {
            obj.insert("kind".into(), want);
        }
    }
    let spec: RunSpec = serde_json::from_value(body)
        .map_err(|e| ApiError::bad_request(format!("invalid request body: {e}")))?;
    start_with(state, spec).await
}

/// A `POST /api/v1/<kind>` handler that starts a run of that kind (the RunSpec's `kind` may
/// be left out).
macro_rules! start_handler {
    ($name:ident, $path:literal, $kind:expr, $doc:literal) => {
        #[doc = $doc]
        #[utoipa::path(post, path = $path, tag = "runs",
            request_body(content = Object, description = "A RunSpec"),
            responses((status = 202, body = RunAccepted), (status = 400, body = super::ErrorBody)),
            security(("bearer" = [])))]
        pub async fn $name(
            State(state): State<Arc<AppState>>,
            JsonBody(body): JsonBody<serde_json::Value>,
        ) -> Result<(StatusCode, Json<RunAccepted>), ApiError> {
            start_kind(state, body, $kind).await
        }
    };
}

start_handler!(
    start_failover,
    "/api/v1/failover",
    RunKind::Failover,
    "Start a failover (the RunSpec's `kind` may be left out)."
);
start_handler!(
    start_failback,
    "/api/v1/failback",
    RunKind::Failback,
    "Start a failback."
);
start_handler!(
    start_rehearsal,
    "/api/v1/rehearsal",
    RunKind::Rehearsal,
    "Start a rehearsal (non-disruptive test)."
);

/// All runs in the journal, newest first.
#[utoipa::path(get, path = "/api/v1/runs", tag = "runs",
    responses((status = 200, description = "Run rows (id, spec, status, created_ms, updated_ms)", body = [Object])),
    security(("bearer" = [])))]
pub async fn list(State(state): State<Arc<AppState>>) -> Result<Json<Vec<RunRow>>, ApiError> {
    Ok(Json(state.journal.list_runs()?))
}

/// One run: status, every step instance with its latest record, confirmations, locks.
#[utoipa::path(get, path = "/api/v1/runs/{id}", tag = "runs",
    params(("id" = String, Path, description = "Run id")),
    responses((status = 200, description = "The run and its step tree", body = Object),
              (status = 400, body = super::ErrorBody), (status = 404, body = super::ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_run(
    State(state): State<Arc<AppState>>,
    RunId(id): RunId,
) -> Result<Json<RunDetail>, ApiError> {
    Ok(Json(state.journal.run(&id)?))
}

/// The run's plan (step DAG).
#[utoipa::path(get, path = "/api/v1/runs/{id}/plan", tag = "runs",
    params(("id" = String, Path, description = "Run id")),
    responses((status = 200, body = Object), (status = 404, body = super::ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_plan(
    State(state): State<Arc<AppState>>,
    RunId(id): RunId,
) -> Result<Json<crate::plan::Plan>, ApiError> {
    Ok(Json(state.journal.run(&id)?.plan))
}

/// The run's report (once it has stopped: finished or paused).
#[utoipa::path(get, path = "/api/v1/runs/{id}/report", tag = "runs",
    params(("id" = String, Path, description = "Run id")),
    responses((status = 200, description = "The JSON report (stable schema)", body = Object),
              (status = 404, body = super::ErrorBody),
              (status = 409, description = "The run has not stopped yet", body = super::ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_report(
    State(state): State<Arc<AppState>>,
    RunId(id): RunId,
) -> Result<Json<Report>, ApiError> {
    let d = state.journal.run(&id)?;
    d.report.map(Json).ok_or_else(|| {
        ApiError::conflict(format!(
            "run {id} is {} and has no report yet",
            d.row.status
        ))
    })
}

fn is_active(state: &AppState, id: &str) -> bool {
    crate::ctx::lock(&state.active).contains_key(id)
}

/// Confirm manual steps of a paused run and resume it.
#[utoipa::path(post, path = "/api/v1/runs/{id}/confirm", tag = "runs",
    params(("id" = String, Path, description = "Run id")),
    request_body = ConfirmRequest,
    responses((status = 202, body = RunAccepted),
              (status = 400, description = "Unknown step or malformed body", body = super::ErrorBody),
              (status = 404, body = super::ErrorBody),
              (status = 409, description = "The run is executing or finished", body = super::ErrorBody)),
    security(("bearer" = [])))]
pub async fn confirm(
    State(state): State<Arc<AppState>>,
    RunId(id): RunId,
    JsonBody(req): JsonBody<ConfirmRequest>,
) -> Result<(StatusCode, Json<RunAccepted>), ApiError> {
    if req.steps.is_empty() || req.steps.len() > 1000 {
        return Err(ApiError::bad_request(
            "`steps` must list 1 to 1000 step names",
        ));
    }
    if req.steps.iter().any(|s| s.is_empty() || s.len() > 300) {
        return Err(ApiError::bad_request(
            "step names must be 1 to 300 characters",
        ));
    }
    let detail = state.journal.run(&id)?;
    if detail.row.status != "paused" || is_active(&state, &id) {
        return Err(ApiError::conflict(format!(
            "run {id} is {}; only a paused run waits for confirmations",
            detail.row.status
        )));
    }
    state.journal.confirm(&id, &req.steps)?;
    resume_inner(state, id).await
}

/// Resume an interrupted (or paused) run from the journal.
#[utoipa::path(post, path = "/api/v1/runs/{id}/resume", tag = "runs",
    params(("id" = String, Path, description = "Run id")),
    responses((status = 202, body = RunAccepted),
              (status = 404, body = super::ErrorBody),
              (status = 409, description = "The run is executing or finished", body = super::ErrorBody)),
    security(("bearer" = [])))]
pub async fn resume(
    State(state): State<Arc<AppState>>,
    RunId(id): RunId,
) -> Result<(StatusCode, Json<RunAccepted>), ApiError> {
    resume_inner(state, id).await
}

async fn resume_inner(
    state: Arc<AppState>,
    id: String,
) -> Result<(StatusCode, Json<RunAccepted>), ApiError> {
    if is_active(&state, &id) {
        return Err(ApiError::conflict(format!("run {id} is executing")));
    }
    let detail = state.journal.run(&id)?;
    if !matches!(detail.row.status.as_str(), "running" | "paused") {
        return Err(ApiError::conflict(format!(
            "run {id} is {}; only running or paused runs can be resumed",
            detail.row.status
        )));
    }
    let permit = take_slot(&state)?;
    let owner = state.journal.own(&id)?;
    launch(
        &state,
        id.clone(),
        Launch::Resume(detail.confirmations),
        owner,
        permit,
    );
    Ok((StatusCode::ACCEPTED, accepted(&id, "running")))
}

/// Server-sent events of a run: a `snapshot`, then `step_started` / `step_ended` /
/// `steps_added` as they happen, and `end` when the run stops.
#[utoipa::path(get, path = "/api/v1/runs/{id}/events", tag = "runs",
    params(("id" = String, Path, description = "Run id")),
    responses((status = 200, description = "text/event-stream of StreamEvent", content_type = "text/event-stream", body = StreamEvent),
              (status = 404, body = super::ErrorBody)),
    security(("bearer" = [])))]
pub async fn events(
    State(state): State<Arc<AppState>>,
    RunId(id): RunId,
) -> Result<Sse<impl Stream<Item = Result<Event, std::convert::Infallible>>>, ApiError> {
    // Subscribe before the snapshot so nothing falls between them.
    let rx = crate::ctx::lock(&state.active)
        .get(&id)
        .map(|tx| tx.subscribe());
    let d = state.journal.run(&id)?;
    let snapshot = StreamEvent::Snapshot {
        status: d.row.status.clone(),
        steps: d.steps,
    };
    let first: Vec<StreamEvent> = match &rx {
        Some(_) => vec![snapshot],
        None => vec![
            snapshot,
            StreamEvent::End {
                status: d.row.status,
            },
        ],
    };
    let to_event = |e: &StreamEvent| {
        Ok(Event::default()
            .event(e.name())
            .data(serde_json::to_string(e).unwrap_or_default()))
    };
    let head = futures::stream::iter(first.iter().map(to_event).collect::<Vec<_>>());
    let tail = futures::stream::unfold((rx, false), move |(rx, done)| async move {
        let mut rx = rx?;
        if done {
            return None;
        }
        let ev = match rx.recv().await {
            Ok(ev) => ev,
            Err(broadcast::error::RecvError::Lagged(n)) => StreamEvent::Lagged { missed: n },
            Err(broadcast::error::RecvError::Closed) => return None,
        };
        let end = matches!(ev, StreamEvent::End { .. });
        Some((to_event(&ev), (Some(rx), end)))
    });
    use futures::StreamExt;
    Ok(Sse::new(head.chain(tail)).keep_alive(KeepAlive::default()))
}
