//! `dr serve` end to end (in-process, paused clock): a whole failover driven through the REST
//! API alone — start, poll the step tree, stream events, fetch the report — plus manual-step
//! confirmation, auth and roles, lock conflicts, body validation and the OpenAPI document.

mod rest_support;

use http::StatusCode;
use rest_support::{app, call, OPERATOR, VIEWER};
use serde_json::json;

async fn wait_stopped(router: &axum::Router, id: &str) -> serde_json::Value {
    for _ in 0..10_000 {
        let (st, run) = call(
            router,
            "GET",
            &format!("/api/v1/runs/{id}"),
            Some(VIEWER),
            None,
        )
        .await;
        assert_eq!(st, StatusCode::OK, "{run}");
        if run["status"] != "running" {
            return run;
        }
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
    panic!("run {id} did not stop");
}

#[tokio::test(start_paused = true)]
async fn a_whole_failover_through_the_api() {
    let scn = tests::load("synciq-happy-3");
    let (sim, _state, router) = app(&scn, 2);

    let (st, clusters) = call(&router, "GET", "/api/v1/clusters", Some(VIEWER), None).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(clusters, json!([{"name": "boston"}, {"name": "denver"}]));
    let (st, inv) = call(&router, "GET", "/api/v1/inventory", Some(VIEWER), None).await;
    assert_eq!(st, StatusCode::OK, "{inv}");
    assert!(inv["policies"]["eng"].is_object(), "{inv}");

    let spec = r#"{"from": "boston", "to": "denver"}"#;
    let (st, plan) = call(&router, "POST", "/api/v1/plans", Some(VIEWER), Some(spec)).await;
    assert_eq!(
        st,
        StatusCode::FORBIDDEN,
        "planning is a POST: operator only ({plan})"
    );
    let (st, plan) = call(&router, "POST", "/api/v1/plans", Some(OPERATOR), Some(spec)).await;
    assert_eq!(st, StatusCode::OK, "{plan}");
    assert!(plan["steps"].as_array().unwrap().len() >= 15);

    let (st, acc) = call(
        &router,
        "POST",
        "/api/v1/failover",
        Some(OPERATOR),
        Some(spec),
    )
    .await;
    assert_eq!(st, StatusCode::ACCEPTED, "{acc}");
    let id = acc["id"].as_str().unwrap().to_string();

    // A second failover of the same policies is refused while the first runs.
    let (st, err) = call(&router, "POST", "/api/v1/runs", Some(OPERATOR), Some(spec)).await;
    assert_eq!(st, StatusCode::CONFLICT, "{err}");
    assert!(
        err["error"]["message"].as_str().unwrap().contains(&id),
        "{err}"
    );

    let run = wait_stopped(&router, &id).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert!(run["steps"]
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["status"] == "succeeded" || s["status"] == "not_applicable"));
    let (st, report) = call(
        &router,
        "GET",
        &format!("/api/v1/runs/{id}/report"),
        Some(VIEWER),
        None,
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(report["outcome"], "succeeded");
    // After resync-prep the target's record says it is the mirror's source (DESIGN §3).
    assert_eq!(
        sim.target_policy_state("denver", "eng").unwrap()["failover_failback_state"],
        "resync_policy_created"
    );
    assert!(sim.is_writable("denver", "/ifs/data/eng/x"));

    // The finished run's event stream: a snapshot and the end.
    let (st, body) = call(
        &router,
        "GET",
        &format!("/api/v1/runs/{id}/events"),
        Some(VIEWER),
        None,
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    let text = body.as_str().unwrap();
    assert!(
        text.contains("event: snapshot") && text.contains("event: end"),
        "{text}"
    );

    let (st, runs) = call(&router, "GET", "/api/v1/runs", Some(VIEWER), None).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(runs.as_array().unwrap().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn events_stream_live_and_manual_steps_are_confirmed_over_the_api() {
    let scn = tests::load("synciq-manual-networking");
    let (_sim, _state, router) = app(&scn, 2);
    let spec = r#"{"kind": "failover", "from": "boston", "to": "denver", "options": {"networking": "manual"}}"#;
    let (st, acc) = call(&router, "POST", "/api/v1/runs", Some(OPERATOR), Some(spec)).await;
    assert_eq!(st, StatusCode::ACCEPTED, "{acc}");
    let id = acc["id"].as_str().unwrap().to_string();

    // Subscribe while it runs: the stream ends by itself when the run pauses.
    let (st, body) = call(
        &router,
        "GET",
        &format!("/api/v1/runs/{id}/events"),
        Some(VIEWER),
        None,
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    let text = body.as_str().unwrap();
    assert!(text.contains("event: step_started"), "{text}");
    assert!(text.contains("event: step_ended"), "{text}");
    assert!(text.contains(r#""status":"paused""#), "{text}");

    let run = wait_stopped(&router, &id).await;
    assert_eq!(run["status"], "paused");
    let (st, err) = call(
        &router,
        "POST",
        &format!("/api/v1/runs/{id}/confirm"),
        Some(OPERATOR),
        Some(r#"{"steps": ["nope"]}"#),
    )
    .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{err}");
    let (st, _) = call(
        &router,
        "POST",
        &format!("/api/v1/runs/{id}/confirm"),
        Some(VIEWER),
        Some(r#"{"steps": ["repoint_dns"]}"#),
    )
    .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    // Confirm every manual step of the plan (networking 14-18 and whatever else is manual).
    let manual: Vec<String> = run["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["status"] == "manual" || s["status"] == "pending")
        .map(|s| s["step"].as_str().unwrap().to_string())
        .collect();
    let body = json!({ "steps": manual }).to_string();
    let (st, acc) = call(
        &router,
        "POST",
        &format!("/api/v1/runs/{id}/confirm"),
        Some(OPERATOR),
        Some(&body),
    )
    .await;
    assert_eq!(st, StatusCode::ACCEPTED, "{acc}");
    let (_, stream) = call(
        &router,
        "GET",
        &format!("/api/v1/runs/{id}/events"),
        Some(VIEWER),
        None,
    )
    .await;
    let run = wait_stopped(&router, &id).await;
    assert_eq!(run["status"], "succeeded", "{stream}");
    let (st, _) = call(
        &router,
        "POST",
        &format!("/api/v1/runs/{id}/resume"),
        Some(OPERATOR),
        None,
    )
    .await;
    assert_eq!(st, StatusCode::CONFLICT, "a finished run is not resumed");
}

#[tokio::test(start_paused = true)]
async fn auth_roles_and_validation() {
    let scn = tests::load("synciq-happy-3");
    let (_sim, _state, router) = app(&scn, 1);
    for (m, p) in [
        ("GET", "/api/v1/runs"),
        ("GET", "/api/v1/clusters"),
        ("POST", "/api/v1/runs"),
    ] {
        let (st, _) = call(&router, m, p, None, None).await;
        assert_eq!(st, StatusCode::UNAUTHORIZED, "{m} {p}");
        let (st, _) = call(&router, m, p, Some("wrong-token-0123456789abc"), None).await;
        assert_eq!(st, StatusCode::UNAUTHORIZED, "{m} {p}");
    }
    let (st, _) = call(
        &router,
        "POST",
        "/api/v1/failover",
        Some(VIEWER),
        Some("{}"),
    )
    .await;
    assert_eq!(st, StatusCode::FORBIDDEN);

    for (body, what) in [
        ("{", "EOF"),
        ("[]", "invalid"),
        (r#"{"from": "boston"}"#, "missing field `to`"),
        (
            r#"{"from": "boston", "to": "denver", "colour": 1}"#,
            "unknown field `colour`",
        ),
        (r#"{"from": "boston", "to": "nowhere"}"#, "unknown cluster"),
        (r#"{"from": "", "to": "denver"}"#, "non-empty"),
        (
            r#"{"from": "boston", "to": "denver", "mode": "teleport"}"#,
            "unknown variant",
        ),
    ] {
        let (st, err) = call(&router, "POST", "/api/v1/runs", Some(OPERATOR), Some(body)).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{body}: {err}");
        let msg = err["error"]["message"].as_str().unwrap();
        assert!(msg.contains(what), "{body}: {msg}");
    }
    let (st, _) = call(
        &router,
        "GET",
        "/api/v1/runs/..%2F..%2Fetc",
        Some(VIEWER),
        None,
    )
    .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    let (st, _) = call(&router, "GET", "/api/v1/runs/nope", Some(VIEWER), None).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let big = format!(r#"{{"from": "{}", "to": "denver"}}"#, "x".repeat(100_000));
    let (st, _) = call(&router, "POST", "/api/v1/runs", Some(OPERATOR), Some(&big)).await;
    assert_eq!(st, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test(start_paused = true)]
async fn openapi_document_lists_every_route() {
    let scn = tests::load("synciq-happy-3");
    let (_sim, _state, router) = app(&scn, 1);
    let (st, doc) = call(&router, "GET", "/openapi.json", None, None).await;
    assert_eq!(st, StatusCode::OK);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    for p in [
        "/api/v1/clusters",
        "/api/v1/inventory",
        "/api/v1/plans",
        "/api/v1/runs",
        "/api/v1/failover",
        "/api/v1/failback",
        "/api/v1/rehearsal",
        "/api/v1/runs/{id}",
        "/api/v1/runs/{id}/plan",
        "/api/v1/runs/{id}/report",
        "/api/v1/runs/{id}/events",
        "/api/v1/runs/{id}/confirm",
        "/api/v1/runs/{id}/resume",
    ] {
        assert!(
            paths.contains_key(p),
            "{p} missing from the OpenAPI document"
        );
    }
    assert!(doc["components"]["schemas"]["RunSpec"]["properties"]["from"].is_object());
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
    let text = doc.to_string();
    assert!(!text.contains("#/$defs/"), "schemars refs rewritten");
}
