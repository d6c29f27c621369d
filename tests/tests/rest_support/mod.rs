//! Shared setup of the REST API tests: a `dr serve` router over in-process clients to a
//! simulated world, with an in-memory journal and one operator and one viewer token.

#![allow(dead_code)]

use std::sync::Arc;

use axum::body::Body;
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use orchestrator::config::{ApiRole, ApiToken};
use orchestrator::journal::Journal;
use orchestrator::secret::Secret;
use orchestrator::server::{self, AppState, ServerConfig};
use scenarios::Scenario;
use sim_onefs::Sim;
use tower::ServiceExt;

pub const OPERATOR: &str = "op-token-0123456789abcdef";
pub const VIEWER: &str = "view-token-0123456789abcdef";

/// Build the world of `scn` and a router serving the API over it.
pub fn app(scn: &Scenario, max_runs: usize) -> (Sim, Arc<AppState>, axum::Router) {
    let sim = Sim::new(&scn.world, scn.seed).unwrap();
    for f in &scn.faults {
        sim.add_fault(f.clone());
    }
    let clients = scenarios::crash::clients(&sim, None).unwrap();
    let state = AppState::new(
        Journal::in_memory().unwrap(),
        clients,
        ServerConfig {
            tokens: vec![
                ApiToken {
                    name: "ops".into(),
                    role: ApiRole::Operator,
                    token: Secret::new(OPERATOR),
                },
                ApiToken {
                    name: "dash".into(),
                    role: ApiRole::Viewer,
                    token: Secret::new(VIEWER),
                },
            ],
            max_concurrent_runs: max_runs,
            max_body_bytes: 64 * 1024,
            estimate: Default::default(),
        },
    );
    let router = server::router(state.clone());
    (sim, state, router)
}

/// One request; returns the status and the body (JSON when it parses, else a string).
pub async fn call(
    router: &axum::Router,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&str>,
) -> (StatusCode, serde_json::Value) {
    let mut b = Request::builder().method(method).uri(path);
    if let Some(t) = token {
        b = b.header("authorization", format!("Bearer {t}"));
    }
    if body.is_some() {
        b = b.header("content-type", "application/json");
    }
    let req = b.body(Body::from(body.unwrap_or("").to_string())).unwrap();
    let resp = router.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    let v = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| serde_json::Value::String(String::from_utf8_lossy(&bytes).into()));
    (status, v)
}
