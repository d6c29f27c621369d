//! Benchmark (not a test): requests per second of `GET /platform/18/sync/policies` (100
//! policies) served by the simulator over loopback HTTP, against a bare axum handler that
//! returns the same bytes, measured in the same run.
//!
//! `cargo bench -p sim-onefs --bench papi_rps` (env: `BENCH_SECS`, default 5;
//! `BENCH_CONCURRENCY`, default 8).

use std::time::{Duration, Instant};

use axum::routing::get;
use axum::Router;
use base64::Engine;
use sim_onefs::{Sim, WorldSpec};

fn world() -> WorldSpec {
    let mut policies = Vec::new();
    for i in 0..100 {
        policies.push(serde_json::json!({
            "name": format!("p{i:03}"), "source": "src", "target": "tgt",
            "source_path": format!("/ifs/data/p{i:03}"), "target_path": format!("/ifs/data/p{i:03}"),
            "schedule": "every 1 hours"}));
    }
    serde_json::from_value(serde_json::json!({
        "clusters": [
            {"name": "src", "users": [{"name": "admin", "password": "pw", "role": "admin"}]},
            {"name": "tgt", "users": [{"name": "admin", "password": "pw", "role": "admin"}]}],
        "policies": policies,
    }))
    .expect("world")
}

async fn serve(router: Router) -> String {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = l.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(l, router).await;
    });
    format!("http://{addr}/platform/18/sync/policies")
}

async fn measure(url: &str, auth: &str, secs: u64, conc: usize) -> (f64, u64) {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(conc)
        .build()
        .expect("client");
    let deadline = Instant::now() + Duration::from_secs(secs);
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..conc {
        let (c, u, a) = (client.clone(), url.to_string(), auth.to_string());
        tasks.push(tokio::spawn(async move {
            let mut n = 0u64;
            while Instant::now() < deadline {
                let r = c
                    .get(&u)
                    .header("authorization", &a)
                    .send()
                    .await
                    .expect("send");
                assert!(r.status().is_success(), "status {}", r.status());
                let b = r.bytes().await.expect("body");
                assert!(b.len() > 1000);
                n += 1;
            }
            n
        }));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await.expect("task");
    }
    (total as f64 / start.elapsed().as_secs_f64(), total)
}

fn main() {
    let secs: u64 = std::env::var("BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let conc: usize = std::env::var("BENCH_CONCURRENCY")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(8);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("rt");
    rt.block_on(async {
        let sim = Sim::new(&world(), 1).expect("sim");
        let auth = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode("admin:pw")
        );
        let sim_url = serve(sim.router("src").expect("router")).await;
        let body = reqwest::Client::new()
            .get(&sim_url)
            .header("authorization", &auth)
            .send()
            .await
            .expect("get")
            .bytes()
            .await
            .expect("bytes");
        let v: serde_json::Value = serde_json::from_slice(&body).expect("json");
        assert_eq!(v["policies"].as_array().map(Vec::len), Some(100));
        let bare_body = body.clone();
        let bare = Router::new().route(
            "/platform/18/sync/policies",
            get(move || {
                let b = bare_body.clone();
                async move { ([("content-type", "application/json")], b) }
            }),
        );
        let bare_url = serve(bare).await;
        // Warm up both.
        measure(&sim_url, &auth, 1, conc).await;
        measure(&bare_url, &auth, 1, conc).await;
        let (sim_rps, sim_n) = measure(&sim_url, &auth, secs, conc).await;
        let (bare_rps, bare_n) = measure(&bare_url, &auth, secs, conc).await;
        println!("GET /platform/18/sync/policies (100 policies, {} bytes), {secs} s each, concurrency {conc}, one current-thread runtime", body.len());
        println!("sim-onefs:  {sim_rps:>10.0} req/s ({sim_n} requests)");
        println!("bare axum:  {bare_rps:>10.0} req/s ({bare_n} requests)");
        println!("ratio sim/bare: {:.3}", sim_rps / bare_rps);
    });
}
