//! Benchmark (not a test): requests per second of `GET /platform/18/sync/policies` (100
//! policies) served by the simulator over loopback HTTP, against a bare axum handler that
//! returns the same bytes, measured in the same run (`sim_onefs::bench`).
//!
//! `cargo bench -p sim-onefs --bench papi_rps` (env: `BENCH_SECS`, default 5;
//! `BENCH_CONCURRENCY`, default 8).

fn main() {
    let secs: u64 = std::env::var("BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let conc: usize = std::env::var("BENCH_CONCURRENCY")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(8);
    let r = match sim_onefs::bench::papi_rps_detail(secs, conc) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("papi_rps: {e}");
            std::process::exit(1);
        }
    };
    println!(
        "GET {} (100 policies, {} bytes), {secs} s each, concurrency {conc}, one current-thread runtime",
        sim_onefs::bench::ROUTE,
        r.body_bytes
    );
    println!(
        "sim-onefs:  {:>10.0} req/s ({} requests)",
        r.sim_rps, r.sim_requests
    );
    println!(
        "bare axum:  {:>10.0} req/s ({} requests)",
        r.bare_rps, r.bare_requests
    );
    println!("ratio sim/bare: {:.3}", r.ratio());
}
