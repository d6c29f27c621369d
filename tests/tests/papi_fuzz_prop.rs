//! Property: random and malformed JSON bodies and paths sent to every PAPI route never make
//! the simulator panic and never produce a 5xx (no faults are injected here).

use axum::body::Body;
use http::Request;
use http_body_util::BodyExt;
use proptest::prelude::*;
use serde_json::{json, Value};
use sim_onefs::{Sim, WorldSpec};
use tower::ServiceExt;

fn world() -> WorldSpec {
    serde_json::from_value(json!({
        "clusters": [
            {"name": "prod", "users": [{"name": "admin", "password": "pw", "role": "admin"}],
             "zones": [{"name": "finance", "base_path": "/ifs/finance"}],
             "pools": [{"id": "groupnet0.subnet0.finance", "zone": "finance",
                        "sc_dns_zone": "finance.corp.example", "aliases": ["fin.corp.example"], "ssip": "10.1.0.10"}],
             "smb_shares": [{"name": "ledger", "path": "/ifs/finance/ledger", "zone": "finance"}],
             "nfs_exports": [{"paths": ["/ifs/finance/batch"], "zone": "finance"}],
             "quotas": [{"path": "/ifs/finance/ledger", "hard_bytes": 1000}],
             "files": [{"root": "/ifs/finance/ledger", "count": 3, "size_bytes": 10}]},
            {"name": "dr", "users": [{"name": "admin", "password": "pw", "role": "admin"}]}],
        "policies": [{"name": "p", "source": "prod", "target": "dr",
                      "source_path": "/ifs/finance/ledger", "target_path": "/ifs/finance/ledger"}],
        "ad": {"domain": "corp.example"}
    }))
    .unwrap()
}

const ROUTES: &[&str] = &[
    "cluster/identity",
    "cluster/config",
    "sync/policies",
    "sync/policies/{x}",
    "sync/policies/{x}/reset",
    "sync/jobs",
    "sync/jobs/{x}",
    "sync/reports",
    "sync/reports/{x}",
    "sync/target/policies",
    "sync/target/policies/{x}",
    "sync/settings",
    "protocols/smb/shares",
    "protocols/smb/shares/{x}",
    "protocols/smb/openfiles",
    "protocols/smb/openfiles/{x}",
    "protocols/smb/settings/global",
    "protocols/nfs/settings/global",
    "protocols/nfs/exports",
    "protocols/nfs/exports/{x}",
    "protocols/nfs/aliases",
    "protocols/nfs/aliases/{x}",
    "quota/quotas",
    "quota/quotas/{x}",
    "snapshot/schedules",
    "snapshot/schedules/{x}",
    "dedupe/settings",
    "zones",
    "zones/{x}",
    "network/groupnets",
    "network/groupnets/{x}",
    "network/groupnets/groupnet0/subnets",
    "network/groupnets/groupnet0/subnets/{x}",
    "network/groupnets/groupnet0/subnets/subnet0/pools",
    "network/groupnets/groupnet0/subnets/subnet0/pools/{x}",
    "network/subnets",
    "network/pools",
    "network/pools/{x}",
    "auth/providers/ads",
    "auth/providers/ads/{x}",
];

const KEYS: &[&str] = &[
    "name",
    "path",
    "paths",
    "zone",
    "id",
    "action",
    "state",
    "permissions",
    "thresholds",
    "type",
    "spns",
    "sc_dns_zone",
    "sc_dns_zone_aliases",
    "access_zone",
    "ranges",
    "service",
    "schedule",
    "pattern",
    "enabled",
    "target_host",
    "target_path",
    "source_root_path",
    "max_concurrent_jobs",
    "persona",
    "description",
    "read_only",
    "clients",
    "duration",
];

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        "[/a-zA-Z0-9 ._%-]{0,24}".prop_map(Value::from),
        Just(json!("/ifs/finance/x")),
        Just(json!("full")),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map(
                prop::sample::select(KEYS).prop_map(String::from),
                inner,
                0..5
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        json_value().prop_map(|v| v.to_string().into_bytes()),
        prop::collection::vec(any::<u8>(), 0..64),
        Just(b"{".to_vec()),
        Just(Vec::new()),
    ]
}

fn segment() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9._-]{0,12}",
        Just("ledger".to_string()),
        Just("1".to_string()),
        Just("p".to_string()),
        Just("finance".to_string()),
        Just("%2Fx".to_string()),
        Just("%00".to_string()),
        Just("CORP.EXAMPLE".to_string()),
        Just("groupnet0.subnet0.finance".to_string()),
    ]
}

fn query() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("?zone=finance".to_string()),
        Just("?zone=nope".to_string()),
        Just("?limit=1".to_string()),
        Just("?limit=0".to_string()),
        Just("?resume=garbage".to_string()),
        Just("?check_duplicates=true".to_string()),
        "\\?[a-z_]{1,8}=[a-zA-Z0-9%]{0,8}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1500, ..ProptestConfig::default() })]
    #[test]
    fn no_panic_no_5xx(
        route in prop::sample::select(ROUTES),
        seg in segment(),
        method in prop::sample::select(&["GET", "POST", "PUT", "DELETE", "PATCH"][..]),
        ver in prop::sample::select(&["1", "3", "14", "latest", "22", "0", "99", "x"][..]),
        q in query(),
        b in body(),
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let sim = Sim::new(&world(), 1).unwrap();
            let app = sim.router("prod").unwrap();
            let uri = format!("/platform/{ver}/{}{q}", route.replace("{x}", &seg));
            let Ok(req) = Request::builder()
                .method(method)
                .uri(&uri)
                .header("authorization", "Basic YWRtaW46cHc=")
                .header("content-type", "application/json")
                .body(Body::from(b.clone())) else { return; };
            let resp = app.oneshot(req).await.unwrap();
            let status = resp.status();
            let bytes = resp.into_body().collect().await.unwrap().to_bytes();
            assert!(status.as_u16() < 500, "{method} {uri} body {:?} → {status} {}",
                    String::from_utf8_lossy(&b), String::from_utf8_lossy(&bytes));
            if !bytes.is_empty() {
                let v: Value = serde_json::from_slice(&bytes).expect("JSON response");
                if !status.is_success() {
                    assert!(v["errors"][0]["code"].is_string(), "{uri}: {v}");
                }
            }
        });
    }
}
