//! `dr serve` (and `drill serve`) hold under abuse: a slow header, an idle keep-alive
//! connection and a flood of connections are cut off by the listener's limits
//! (`orchestrator::server::listen`), while real clients are still served — over TLS too.
//! The simulated clusters answer an oversized body with a PAPI error and refuse over-long
//! names. Real sockets, real time (the limits are wall-clock).

use std::time::{Duration, Instant};

use axum::routing::get;
use axum::Router;
use orchestrator::server::listen::{self, Limits};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const LIMITS: Limits = Limits {
    max_connections: 4,
    header_read_timeout_ms: 300,
    idle_timeout_ms: 500,
};

async fn start(tls: Option<std::sync::Arc<rustls::ServerConfig>>) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = Router::new().route("/healthz", get(|| async { "ok" }));
    tokio::spawn(listen::serve(
        listener,
        router,
        tls,
        LIMITS,
        std::future::pending(),
    ));
    addr
}

/// Read until the server closes the connection (or `limit` passes); how long that took.
async fn closed_within(s: &mut TcpStream, limit: Duration) -> Option<Duration> {
    let t = Instant::now();
    let mut buf = [0u8; 1024];
    loop {
        match tokio::time::timeout(limit.saturating_sub(t.elapsed()), s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return Some(t.elapsed()),
            Ok(Ok(_)) => continue,
            Err(_) => return None,
        }
    }
}

async fn healthz(addr: std::net::SocketAddr) -> bool {
    let Ok(mut s) = TcpStream::connect(addr).await else {
        return false;
    };
    let _ = s
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await;
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(2), s.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).starts_with("HTTP/1.1 200")
}

#[tokio::test]
async fn slow_headers_idle_connections_and_floods_are_cut_off() {
    let addr = start(None).await;
    assert!(healthz(addr).await);

    // Slowloris: half a request, then nothing. Closed after the header-read timeout.
    let mut slow = TcpStream::connect(addr).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let took = closed_within(&mut slow, Duration::from_secs(5))
        .await
        .expect("a half-sent request is cut off");
    assert!(took >= Duration::from_millis(250), "{took:?}");

    // An idle keep-alive connection after one good request: closed after the idle timeout.
    let mut idle = TcpStream::connect(addr).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 256];
    let n = idle.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    closed_within(&mut idle, Duration::from_secs(5))
        .await
        .expect("an idle connection is closed");

    // A flood: connections beyond the limit are closed at once, and once the flood's
    // connections time out, clients are served again.
    let mut flood = Vec::new();
    for _ in 0..LIMITS.max_connections {
        let s = TcpStream::connect(addr).await.unwrap();
        flood.push(s);
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    let mut extra = TcpStream::connect(addr).await.unwrap();
    let took = closed_within(&mut extra, Duration::from_millis(250))
        .await
        .expect("a connection over the limit is closed at once");
    assert!(took < Duration::from_millis(250));
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(
        healthz(addr).await,
        "served again after the flood timed out"
    );
}

#[tokio::test]
async fn tls_is_served_with_the_given_certificate() {
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["localhost".to_string()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    let tls = listen::tls_config(cert.pem().as_bytes(), key.serialize_pem().as_bytes()).unwrap();
    let addr = start(Some(tls)).await;
    let client = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(cert.pem().as_bytes()).unwrap())
        .resolve("localhost", addr)
        .build()
        .unwrap();
    let body = client
        .get(format!("https://localhost:{}/healthz", addr.port()))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(body, "ok");
    // Plain HTTP to the TLS port gets nothing.
    assert!(!healthz(addr).await);
}

#[tokio::test]
async fn the_simulator_answers_oversized_bodies_and_long_names_like_a_cluster() {
    let scn = tests::load("synciq-happy-3");
    let handle = scenarios::serve::serve(
        &scn,
        scenarios::serve::ServeOpts {
            port: Some(0),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let c = &handle.clusters[0];
    let client = reqwest::Client::new();
    let url = format!("{}/platform/1/sync/policies", c.url);
    let big = vec![b' '; 10 << 20];
    let r = client
        .post(&url)
        .basic_auth(&c.user, Some(&c.password))
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    let body: serde_json::Value = r.json().await.unwrap();
    assert!(body["errors"][0]["message"].is_string(), "{body}");

    let long = "p".repeat(60_000);
    let r = client
        .post(&url)
        .basic_auth(&c.user, Some(&c.password))
        .json(
            &serde_json::json!({"name": long, "source_root_path": "/ifs/data/x",
            "target_host": "denver", "target_path": "/ifs/data/x", "action": "sync"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let body: serde_json::Value = r.json().await.unwrap();
    let msg = body["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(msg.contains("maximum is 255"), "{msg}");
    handle.shutdown().await;
}
