//! Request-rate measurement of the simulator's PAPI front end (a benchmark, not a test):
//! `GET /platform/18/sync/policies` of a 100-policy world served by [`crate::Sim::router`]
//! over loopback HTTP, against a bare axum handler returning the same bytes, measured in the
//! same run with the same client. `benches/papi_rps.rs` and `drill bench` print it.
//!
//! The ratio sim/bare says how much of a request's cost is the simulator's own (auth,
//! fault rules, rendering) rather than HTTP's; wall-clock figures depend on the machine and
//! its load, the ratio much less so.
//!
//! Where the time went (`perf record -g`, self time during the simulator's phase): before
//! the rendered-body cache, ratio 0.05 — building the 100 policies as `serde_json::Value`
//! maps (IndexMap inserts, SipHash, rehashing) ≈ 35 %, malloc/free ≈ 25 %, serialising the
//! 192 KB body ≈ 17 %, the rest kernel socket copies; the middleware (auth, fault rules,
//! locks) did not register. After (ratio 0.74–0.87 on a loaded 2-core machine): kernel copies
//! of the body and hyper, as for the bare handler; no simulator function above 1 %.

use std::time::{Duration, Instant};

use axum::routing::get;
use axum::Router;
use base64::Engine;

use crate::{Sim, WorldSpec};

/// The route measured.
pub const ROUTE: &str = "/platform/18/sync/policies";

/// The measurement could not be made.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("benchmark setup: {0}")]
    Setup(String),
    #[error("benchmark request failed: {0}")]
    Request(String),
}

/// One measurement.
#[derive(Debug, Clone, PartialEq)]
pub struct PapiRps {
    /// Requests per second served by the simulator.
    pub sim_rps: f64,
    /// Requests per second served by the bare handler.
    pub bare_rps: f64,
    pub sim_requests: u64,
    pub bare_requests: u64,
    /// Size of the response body.
    pub body_bytes: usize,
    pub secs: u64,
    pub concurrency: usize,
}

impl PapiRps {
    /// sim / bare (the figure the simulator is held to).
    pub fn ratio(&self) -> f64 {
        if self.bare_rps > 0.0 {
            self.sim_rps / self.bare_rps
        } else {
            0.0
        }
    }
}

/// The measured world: 100 policies between two clusters.
pub fn world() -> WorldSpec {
    let policies: Vec<crate::PolicySpec> = (0..100)
        .map(|i| crate::PolicySpec {
            name: format!("p{i:03}"),
            source: "src".into(),
            target: "tgt".into(),
            source_path: format!("/ifs/data/p{i:03}"),
            target_path: format!("/ifs/data/p{i:03}"),
            schedule: "every 1 hours".into(),
            enabled: true,
            last_job_state: None,
            past_syncs: Vec::new(),
        })
        .collect();
    let cluster = |name: &str| crate::ClusterSpec {
        name: name.into(),
        release: "9.10.0.0".into(),
        max_concurrent_jobs: 50,
        users: vec![crate::UserSpec {
            name: "admin".into(),
            password: "pw".into(),
            role: crate::Role::Admin,
        }],
        zones: vec![],
        pools: vec![],
        smb_shares: vec![],
        nfs_exports: vec![],
        nfs_aliases: vec![],
        quotas: vec![],
        snapshot_schedules: vec![],
        dedupe_paths: vec![],
        files: vec![],
        open_files: vec![],
        synciq_service: true,
    };
    WorldSpec {
        clusters: vec![cluster("src"), cluster("tgt")],
        policies,
        link: Default::default(),
        costs: Default::default(),
        ad: None,
        dns: None,
        pool_mappings: vec![],
        dfs: vec![],
        start_epoch_s: None,
    }
}

async fn serve(router: Router) -> Result<String, BenchError> {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| BenchError::Setup(format!("bind: {e}")))?;
    let addr = l
        .local_addr()
        .map_err(|e| BenchError::Setup(e.to_string()))?;
    tokio::spawn(async move {
        let _ = axum::serve(l, router).await;
    });
    Ok(format!("http://{addr}{ROUTE}"))
}

/// `conc` clients issuing GETs back to back for `secs`: (requests per second, requests).
async fn measure(url: &str, auth: &str, secs: u64, conc: usize) -> Result<(f64, u64), BenchError> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(conc)
        .build()
        .map_err(|e| BenchError::Setup(e.to_string()))?;
    let deadline = Instant::now() + Duration::from_secs(secs);
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..conc.max(1) {
        let (c, u, a) = (client.clone(), url.to_string(), auth.to_string());
        tasks.push(tokio::spawn(async move {
            let mut n = 0u64;
            while Instant::now() < deadline {
                let r = c
                    .get(&u)
                    .header("authorization", &a)
                    .send()
                    .await
                    .map_err(|e| BenchError::Request(e.to_string()))?;
                if !r.status().is_success() {
                    return Err(BenchError::Request(format!("status {}", r.status())));
                }
                let b = r
                    .bytes()
                    .await
                    .map_err(|e| BenchError::Request(e.to_string()))?;
                if b.len() < 1000 {
                    return Err(BenchError::Request(format!(
                        "short body ({} bytes)",
                        b.len()
                    )));
                }
                n += 1;
            }
            Ok(n)
        }));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await.map_err(|e| BenchError::Request(e.to_string()))??;
    }
    Ok((total as f64 / start.elapsed().as_secs_f64(), total))
}

async fn run(secs: u64, conc: usize) -> Result<PapiRps, BenchError> {
    let sim = Sim::new(&world(), 1).map_err(|e| BenchError::Setup(e.to_string()))?;
    let auth = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("admin:pw")
    );
    let router = sim
        .router("src")
        .ok_or_else(|| BenchError::Setup("no cluster `src`".into()))?;
    let sim_url = serve(router).await?;
    let body = reqwest::Client::new()
        .get(&sim_url)
        .header("authorization", &auth)
        .send()
        .await
        .map_err(|e| BenchError::Request(e.to_string()))?
        .bytes()
        .await
        .map_err(|e| BenchError::Request(e.to_string()))?;
    let v: serde_json::Value =
        serde_json::from_slice(&body).map_err(|e| BenchError::Request(e.to_string()))?;
    if v["policies"].as_array().map(Vec::len) != Some(100) {
        return Err(BenchError::Request("expected 100 policies".into()));
    }
    let bare_body = body.clone();
    let bare = Router::new().route(
        ROUTE,
        get(move || {
            let b = bare_body.clone();
            async move { ([("content-type", "application/json")], b) }
        }),
    );
    let bare_url = serve(bare).await?;
    // Warm up both (connections, allocator, the simulator's caches).
    measure(&sim_url, &auth, 1, conc).await?;
    measure(&bare_url, &auth, 1, conc).await?;
    let (sim_rps, sim_requests) = measure(&sim_url, &auth, secs, conc).await?;
    let (bare_rps, bare_requests) = measure(&bare_url, &auth, secs, conc).await?;
    Ok(PapiRps {
        sim_rps,
        bare_rps,
        sim_requests,
        bare_requests,
        body_bytes: body.len(),
        secs,
        concurrency: conc,
    })
}

/// Measure for `secs` seconds per server with `concurrency` clients, on one current-thread
/// runtime of its own (on its own thread, so callers inside a runtime may call it too).
pub fn papi_rps_detail(secs: u64, concurrency: usize) -> Result<PapiRps, BenchError> {
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| BenchError::Setup(e.to_string()))?;
        rt.block_on(run(secs, concurrency))
    })
    .join()
    .map_err(|_| BenchError::Setup("benchmark thread panicked".into()))?
}

/// `(sim_rps, bare_rps)` of [`papi_rps_detail`].
pub fn papi_rps(secs: u64, concurrency: usize) -> Result<(f64, f64), BenchError> {
    papi_rps_detail(secs, concurrency).map(|r| (r.sim_rps, r.bare_rps))
}
