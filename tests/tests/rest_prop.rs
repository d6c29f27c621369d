//! Property tests of the REST API: random and malformed bodies, ids, methods and paths never
//! panic and never get a 5xx; requests without a valid token are refused (401), and viewer
//! tokens cannot change anything (403).

mod rest_support;

use http::StatusCode;
use proptest::prelude::*;
use rest_support::{app, call, OPERATOR, VIEWER};

fn routes() -> impl Strategy<Value = String> {
    let id = prop_oneof![
        "[a-zA-Z0-9._-]{1,20}",
        ".{0,40}",
        Just("run-1".to_string()),
        Just("%00".to_string()),
        Just("..".to_string()),
    ];
    (
        prop_oneof![
            Just("/api/v1/runs/{}".to_string()),
            Just("/api/v1/runs/{}/plan".to_string()),
            Just("/api/v1/runs/{}/report".to_string()),
            Just("/api/v1/runs/{}/events".to_string()),
            Just("/api/v1/runs/{}/confirm".to_string()),
            Just("/api/v1/runs/{}/resume".to_string()),
            Just("/api/v1/runs".to_string()),
            Just("/api/v1/plans".to_string()),
            Just("/api/v1/failover".to_string()),
            Just("/api/v1/failback".to_string()),
            Just("/api/v1/rehearsal".to_string()),
            Just("/api/v1/{}".to_string()),
            Just("/{}".to_string()),
        ],
        id,
    )
        .prop_map(|(tpl, id)| {
            let enc: String = id
                .bytes()
                .map(|b| {
                    if b.is_ascii_alphanumeric() || b"._-".contains(&b) {
                        (b as char).to_string()
                    } else {
                        format!("%{b:02X}")
                    }
                })
                .collect();
            tpl.replace("{}", &enc)
        })
}

fn bodies() -> impl Strategy<Value = String> {
    let json_leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<f64>().prop_map(|f| serde_json::json!(f)),
        ".{0,12}".prop_map(serde_json::Value::from),
        prop_oneof![
            Just("boston"),
            Just("denver"),
            Just("eng"),
            Just("failover"),
            Just("manual")
        ]
        .prop_map(serde_json::Value::from),
    ];
    let keys = prop_oneof![
        Just("from".to_string()),
        Just("to".to_string()),
        Just("kind".to_string()),
        Just("mode".to_string()),
        Just("policies".to_string()),
        Just("options".to_string()),
        Just("steps".to_string()),
        Just("networking".to_string()),
        Just("job_poll_interval_ms".to_string()),
        Just("job_poll_max_interval_ms".to_string()),
        "[a-z_]{1,8}",
    ];
    let json = json_leaf.prop_recursive(3, 24, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::Array),
            prop::collection::btree_map(keys.clone(), inner, 0..6)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    });
    prop_oneof![
        json.prop_map(|v| v.to_string()),
        ".{0,64}",
        prop::collection::vec(any::<u8>(), 0..64)
            .prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
    ]
}

fn methods() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        Just("GET"),
        Just("POST"),
        Just("PUT"),
        Just("DELETE"),
        Just("PATCH")
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn random_requests_never_panic_or_5xx(
        method in methods(),
        path in routes(),
        body in proptest::option::of(bodies()),
        who in 0u8..4,
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().unwrap();
        rt.block_on(async {
            let scn = tests::load("synciq-happy-3");
            let (_sim, _state, router) = app(&scn, 2);
            let token = match who { 0 => None, 1 => Some("bogus-token-0123456789abcdef"), 2 => Some(VIEWER), _ => Some(OPERATOR) };
            let (st, resp) = call(&router, method, &path, token, body.as_deref()).await;
            prop_assert!(!st.is_server_error(), "{method} {path} {body:?} → {st} {resp}");
            if path.starts_with("/api/") {
                match who {
                    0 | 1 => prop_assert_eq!(st, StatusCode::UNAUTHORIZED),
                    2 if method != "GET" => prop_assert_eq!(st, StatusCode::FORBIDDEN),
                    _ => {}
                }
            }
            if st != StatusCode::OK && st != StatusCode::ACCEPTED && path.starts_with("/api/") {
                prop_assert!(resp["error"]["message"].is_string(), "{st}: {resp}");
            }
            Ok(())
        })?;
    }
}

/// Found by the property above: an `/api` path no route matches (a trailing slash, another
/// version) answered 404 to an anonymous caller, revealing the API's shape before asking for
/// a token. Every `/api` path needs the token first.
#[test]
fn unmatched_api_paths_ask_for_a_token_first() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();
    rt.block_on(async {
        let scn = tests::load("synciq-happy-3");
        let (_sim, _state, router) = app(&scn, 2);
        for path in ["/api/v1/", "/api/v2/runs", "/api", "/api/v1/nope"] {
            let (st, _) = call(&router, "GET", path, None, None).await;
            assert_eq!(st, StatusCode::UNAUTHORIZED, "{path}");
            let (st, _) = call(&router, "GET", path, Some(OPERATOR), None).await;
            assert_eq!(st, StatusCode::NOT_FOUND, "{path}");
        }
    });
}
