//! The rendered-body cache never serves a stale body: two worlds built from the same spec
//! and seed get the same interleaving of mutations (PAPI writes, jobs, client writes,
//! console changes, faults, the clock moving) and GETs; one answers through the cache,
//! the other renders every GET. Every response, status and bytes, must be the same.

use std::time::Duration;

use axum::body::Body;
use axum::http::Request;
use axum::Router;
use http_body_util::BodyExt;
use proptest::prelude::*;
use serde_json::json;
use tower::ServiceExt;

use crate::{FaultEffect, FaultMatch, FaultRule, Sim, WorldSpec};

fn world() -> WorldSpec {
    serde_json::from_value(json!({
        "clusters": [
            {"name": "boston",
             "users": [{"name": "admin", "password": "pw", "role": "admin"}],
             "zones": [{"name": "eng", "base_path": "/ifs/eng"}],
             "pools": [{"id": "groupnet0.subnet0.eng", "zone": "eng",
                        "sc_dns_zone": "eng.corp.example", "ssip": "10.1.0.10"}],
             "smb_shares": [{"name": "code", "path": "/ifs/eng/code", "zone": "eng",
                             "permissions": [{"permission": "full", "trustee_id": "SID:S-1-5-32-544"}]}],
             "nfs_aliases": [{"name": "/code", "path": "/ifs/eng/code", "zone": "eng"}],
             "files": [{"root": "/ifs/eng/code", "count": 20, "size_bytes": 100000000}]},
            {"name": "denver",
             "users": [{"name": "admin", "password": "pw", "role": "admin"}],
             "zones": [{"name": "eng", "base_path": "/ifs/eng"}]}
        ],
        "policies": [
            {"name": "code", "source": "boston", "target": "denver",
             "source_path": "/ifs/eng/code", "target_path": "/ifs/eng/code"},
            {"name": "docs", "source": "boston", "target": "denver",
             "source_path": "/ifs/eng/docs", "target_path": "/ifs/eng/docs"}
        ]
    }))
    .expect("world")
}

/// Cacheable GETs (and two that are never cached, for contrast).
const GETS: &[(&str, &str)] = &[
    ("boston", "/platform/7/sync/policies"),
    ("boston", "/platform/7/sync/policies?limit=1"),
    ("boston", "/platform/7/sync/policies/code"),
    ("denver", "/platform/7/sync/target/policies"),
    ("denver", "/platform/7/sync/target/policies/code"),
    ("boston", "/platform/7/protocols/smb/shares?zone=eng"),
    ("boston", "/platform/7/protocols/smb/shares/code?zone=eng"),
    ("boston", "/platform/7/protocols/nfs/aliases?zone=eng"),
    ("boston", "/platform/7/network/pools"),
    ("boston", "/platform/7/zones"),
    ("boston", "/platform/7/sync/jobs"),
    ("boston", "/platform/7/sync/reports?policy_name=code"),
];

#[derive(Clone, Debug)]
enum Op {
    Get(usize),
    /// Toggle a policy's `enabled` / change its schedule.
    PolicyUpdate(bool, u8),
    /// Start a sync job of `code` on boston.
    RunJob,
    /// allow_write of `code` on denver.
    AllowWrite,
    ShareCreate(u8),
    ShareDelete(u8),
    AliasCreate(u8),
    PoolAlias(u8),
    ClientWrite(u8),
    /// A fault rule taking denver down at once, and one bringing it back later.
    ClusterBounce,
    /// Let virtual time pass (jobs progress and finish).
    Sleep(u16),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..GETS.len()).prop_map(Op::Get),
        1 => (any::<bool>(), 0u8..4).prop_map(|(e, s)| Op::PolicyUpdate(e, s)),
        1 => Just(Op::RunJob),
        1 => Just(Op::AllowWrite),
        1 => (0u8..3).prop_map(Op::ShareCreate),
        1 => (0u8..3).prop_map(Op::ShareDelete),
        1 => (0u8..3).prop_map(Op::AliasCreate),
        1 => (0u8..3).prop_map(Op::PoolAlias),
        1 => (0u8..5).prop_map(Op::ClientWrite),
        1 => Just(Op::ClusterBounce),
        2 => (1u16..30_000).prop_map(Op::Sleep),
    ]
}

/// (status, body bytes) of one request.
async fn send(r: &Router, method: &str, uri: &str, body: Option<String>) -> (u16, Vec<u8>) {
    use base64::Engine;
    let auth = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("admin:pw")
    );
    let req = Request::builder()
        .method(method)
        .uri(uri)
        .header("authorization", auth)
        .body(body.map_or(Body::empty(), Body::from))
        .expect("request");
    let resp = r.clone().oneshot(req).await.expect("infallible");
    let status = resp.status().as_u16();
    let bytes = resp
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes().to_vec())
        .unwrap_or_default();
    (status, bytes)
}

struct Side {
    sim: Sim,
    boston: Router,
    denver: Router,
}

impl Side {
    fn new(cached: bool) -> Side {
        let sim = Sim::new(&world(), 3).expect("sim");
        sim.set_body_cache(cached);
        Side {
            boston: sim.router("boston").expect("boston"),
            denver: sim.router("denver").expect("denver"),
            sim,
        }
    }

    fn router(&self, cluster: &str) -> &Router {
        if cluster == "denver" {
            &self.denver
        } else {
            &self.boston
        }
    }

    /// Apply `op`; what a client would observe (responses, errors).
    async fn apply(&self, op: &Op) -> Vec<(u16, Vec<u8>)> {
        let b = &self.boston;
        let p = "/platform/7";
        match op {
            Op::Get(i) => {
                let (c, u) = GETS[*i];
                vec![send(self.router(c), "GET", u, None).await]
            }
            Op::PolicyUpdate(enabled, s) => {
                let body =
                    json!({"enabled": enabled, "schedule": format!("every {} hours", s + 1)});
                vec![
                    send(
                        b,
                        "PUT",
                        &format!("{p}/sync/policies/code"),
                        Some(body.to_string()),
                    )
                    .await,
                ]
            }
            Op::RunJob => vec![
                send(
                    b,
                    "POST",
                    &format!("{p}/sync/jobs"),
                    Some(json!({"id": "code"}).to_string()),
                )
                .await,
            ],
            Op::AllowWrite => vec![
                send(
                    &self.denver,
                    "POST",
                    &format!("{p}/sync/jobs"),
                    Some(json!({"id": "code", "action": "allow_write"}).to_string()),
                )
                .await,
            ],
            Op::ShareCreate(n) => {
                let body = json!({"name": format!("s{n}"), "path": format!("/ifs/eng/s{n}")});
                vec![
                    send(
                        b,
                        "POST",
                        &format!("{p}/protocols/smb/shares?zone=eng"),
                        Some(body.to_string()),
                    )
                    .await,
                ]
            }
            Op::ShareDelete(n) => vec![
                send(
                    b,
                    "DELETE",
                    &format!("{p}/protocols/smb/shares/s{n}?zone=eng"),
                    None,
                )
                .await,
            ],
            Op::AliasCreate(n) => {
                let body = json!({"name": format!("/a{n}"), "path": format!("/ifs/eng/a{n}")});
                vec![
                    send(
                        b,
                        "POST",
                        &format!("{p}/protocols/nfs/aliases?zone=eng"),
                        Some(body.to_string()),
                    )
                    .await,
                ]
            }
            Op::PoolAlias(n) => {
                let mut m = serde_json::Map::new();
                m.insert(
                    "sc_dns_zone_aliases".into(),
                    json!([format!("alias{n}.corp.example")]),
                );
                let r =
                    self.sim
                        .console_update_pool("boston", "groupnet0.subnet0.eng", m, "console");
                vec![(u16::from(r.is_ok()), Vec::new())]
            }
            Op::ClientWrite(n) => {
                let r = self.sim.client_write(
                    "boston",
                    &format!("/ifs/eng/code/new{n}"),
                    4096,
                    "client:t",
                );
                vec![(u16::from(r.is_ok()), format!("{r:?}").into_bytes())]
            }
            Op::ClusterBounce => {
                let now = self.sim.now_ms();
                self.sim.add_fault(FaultRule {
                    when: FaultMatch::default(),
                    effect: FaultEffect::ClusterDown {
                        cluster: Some("denver".into()),
                    },
                });
                self.sim.add_fault(FaultRule {
                    when: FaultMatch {
                        at: Some(crate::DurationSpec(now + 20_000)),
                        ..FaultMatch::default()
                    },
                    effect: FaultEffect::ClusterUp {
                        cluster: Some("denver".into()),
                    },
                });
                Vec::new()
            }
            Op::Sleep(ms) => {
                tokio::time::sleep(Duration::from_millis(u64::from(*ms))).await;
                Vec::new()
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn cached_bodies_are_never_stale(ops in proptest::collection::vec(op(), 1..40)) {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .expect("runtime");
        rt.block_on(async {
            let cached = Side::new(true);
            let fresh = Side::new(false);
            for (i, op) in ops.iter().enumerate() {
                let a = cached.apply(op).await;
                let b = fresh.apply(op).await;
                prop_assert_eq!(&a, &b, "op {} {:?}", i, op);
                // After every step, every GET twice (the second from the cache).
                for (c, u) in GETS {
                    for _ in 0..2 {
                        let x = send(cached.router(c), "GET", u, None).await;
                        let y = send(fresh.router(c), "GET", u, None).await;
                        prop_assert_eq!(
                            (x.0, String::from_utf8_lossy(&x.1)),
                            (y.0, String::from_utf8_lossy(&y.1)),
                            "GET {} on {} after op {} {:?}", u, c, i, op
                        );
                    }
                }
            }
            Ok(())
        })?;
    }
}

/// The cache does serve repeated GETs (the proptest above would pass with it off), and a
/// write through PAPI is visible on the very next GET.
#[tokio::test(start_paused = true)]
async fn repeated_gets_hit_the_cache_and_writes_invalidate_it() {
    let side = Side::new(true);
    let u = "/platform/7/sync/policies/code";
    let first = send(&side.boston, "GET", u, None).await;
    let version = side.sim.with_world_read(|w| w.version);
    let second = send(&side.boston, "GET", u, None).await;
    assert_eq!(first, second);
    // Reads on the request path (auth, fault rules, Date) leave the version alone.
    assert_eq!(side.sim.with_world_read(|w| w.version), version);
    assert!(crate::lock(side.sim.body_cache()).len() >= 1);
    let (s, _) = send(
        &side.boston,
        "PUT",
        u,
        Some(json!({"enabled": false}).to_string()),
    )
    .await;
    assert_eq!(s, 204);
    let (_, after) = send(&side.boston, "GET", u, None).await;
    let v: serde_json::Value = serde_json::from_slice(&after).expect("json");
    assert_eq!(v["policies"][0]["enabled"], json!(false));
}
