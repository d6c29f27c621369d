//! The HTTP(S) listener behind `dr serve` (and `drill serve`'s simulated clusters): an accept
//! loop that holds under abuse.
//!
//! * **Connection limit** (`max_connections`): a connection beyond it is closed at once, so
//!   a flood of idle sockets cannot starve `/healthz` or a run's event stream of file
//!   descriptors and tasks.
//! * **Header-read timeout** (`header_read_timeout_ms`): a client that does not finish a
//!   request's headers in time (slowloris) is disconnected; the TLS handshake gets the same
//!   budget.
//! * **Idle timeout** (`idle_timeout_ms`): a connection on which nothing was read or written
//!   for that long is closed. Server-sent event streams stay open: they send a keep-alive
//!   comment every 15 s, well inside the default 60 s.
//! * **TLS** (rustls) when a server config is given; requests then carry
//!   `x-forwarded-proto: https`.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tower::ServiceExt;

/// The listener's limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Open connections at most; more are closed on accept.
    pub max_connections: usize,
    /// Time to send a request's headers (and to finish the TLS handshake).
    pub header_read_timeout_ms: u64,
    /// A connection with no traffic for this long is closed.
    pub idle_timeout_ms: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: 256,
            header_read_timeout_ms: 10_000,
            idle_timeout_ms: 60_000,
        }
    }
}

/// Whether serving on `addr` is acceptable: plain HTTP only on loopback, unless the admin
/// said `insecure_listen` (bearer tokens must not cross a network in clear).
pub fn check_exposure(
    addr: std::net::SocketAddr,
    tls: bool,
    insecure_listen: bool,
) -> Result<(), String> {
    if tls || insecure_listen || addr.ip().is_loopback() {
        return Ok(());
    }
    Err(format!(
        "refusing to serve plain HTTP on {addr}, which is not a loopback address: bearer tokens would cross the network in clear. Give --tls-cert and --tls-key, or --insecure-listen to accept that"
    ))
}

/// Load a PEM certificate chain and private key into a rustls server config (HTTP/1.1).
pub fn tls_config(cert_pem: &[u8], key_pem: &[u8]) -> Result<Arc<rustls::ServerConfig>, String> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs = CertificateDer::pem_slice_iter(cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("the TLS certificate is not PEM: {e}"))?;
    if certs.is_empty() {
        return Err("the TLS certificate file holds no certificate".into());
    }
    let key = PrivateKeyDer::from_pem_slice(key_pem)
        .map_err(|e| format!("the TLS key is not a PEM private key: {e}"))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| format!("the TLS certificate and key do not fit: {e}"))?;
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(cfg))
}

/// Serve `router` on `listener` within `limits` (over TLS with `tls`) until `shutdown`
/// completes.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    tls: Option<Arc<rustls::ServerConfig>>,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let https = tls.is_some();
    let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
    let svc = router.map_request(move |req: axum::http::Request<hyper::body::Incoming>| {
        let mut req = req.map(axum::body::Body::new);
        if https {
            req.headers_mut().insert(
                "x-forwarded-proto",
                axum::http::HeaderValue::from_static("https"),
            );
        }
        req
    });
    let slots = Arc::new(tokio::sync::Semaphore::new(limits.max_connections.max(1)));
    let header = Duration::from_millis(limits.header_read_timeout_ms.max(1));
    let idle = Duration::from_millis(limits.idle_timeout_ms.max(1));
    tokio::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                // Out of file descriptors and the like: back off instead of spinning.
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = &mut shutdown => return Ok(()),
        };
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            tracing::debug!(%peer, "connection limit reached: closing");
            drop(tcp);
            continue;
        };
        let svc = svc.clone();
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let last = Arc::new(AtomicU64::new(0));
            let epoch = tokio::time::Instant::now();
            let serve_io = |io: Pin<Box<dyn Io>>| {
                let io = Tracked {
                    inner: io,
                    last: last.clone(),
                    epoch,
                };
                hyper::server::conn::http1::Builder::new()
                    .timer(TokioTimer::new())
                    .header_read_timeout(header)
                    .keep_alive(true)
                    .serve_connection(TokioIo::new(io), TowerToHyperService::new(svc))
            };
            let io: Pin<Box<dyn Io>> = match acceptor {
                Some(a) => match tokio::time::timeout(header, a.accept(tcp)).await {
                    Ok(Ok(tls)) => Box::pin(tls),
                    _ => return, // a failed or too slow handshake
                },
                None => Box::pin(tcp),
            };
            let conn = serve_io(io);
            tokio::pin!(conn);
            loop {
                tokio::select! {
                    _ = &mut conn => return,
                    _ = tokio::time::sleep(idle) => {
                        let now_ms = epoch.elapsed().as_millis() as u64;
                        let quiet_ms = now_ms.saturating_sub(last.load(Ordering::Relaxed));
                        if quiet_ms >= idle.as_millis() as u64 {
                            tracing::debug!(%peer, "idle connection closed");
                            return;
                        }
                    }
                }
            }
        });
    }
}

/// A byte stream the listener serves (plain TCP or TLS).
trait Io: AsyncRead + AsyncWrite + Send {}
impl<T: AsyncRead + AsyncWrite + Send> Io for T {}

/// A stream that notes when it last moved bytes (for the idle timeout).
struct Tracked {
    inner: Pin<Box<dyn Io>>,
    last: Arc<AtomicU64>,
    epoch: tokio::time::Instant,
}

impl Tracked {
    fn touch(&self) {
        self.last
            .store(self.epoch.elapsed().as_millis() as u64, Ordering::Relaxed);
    }
}

impl AsyncRead for Tracked {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let r = self.inner.as_mut().poll_read(cx, buf);
        if matches!(r, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.touch();
        }
        r
    }
}

impl AsyncWrite for Tracked {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let r = self.inner.as_mut().poll_write(cx, buf);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.touch();
        }
        r
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        self.inner.as_mut().poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        self.inner.as_mut().poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_only_on_loopback_unless_asked() {
        let lo: std::net::SocketAddr = "127.0.0.1:8700".parse().unwrap();
        let lo6: std::net::SocketAddr = "[::1]:8700".parse().unwrap();
        let any: std::net::SocketAddr = "0.0.0.0:8700".parse().unwrap();
        let lan: std::net::SocketAddr = "10.1.2.3:8700".parse().unwrap();
        assert!(check_exposure(lo, false, false).is_ok());
        assert!(check_exposure(lo6, false, false).is_ok());
        for a in [any, lan] {
            let e = check_exposure(a, false, false).unwrap_err();
            assert!(
                e.contains("--tls-cert") && e.contains("--insecure-listen"),
                "{e}"
            );
            assert!(check_exposure(a, true, false).is_ok());
            assert!(check_exposure(a, false, true).is_ok());
        }
    }

    #[test]
    fn bad_tls_material_is_a_clear_error() {
        assert!(tls_config(b"not pem", b"not pem")
            .unwrap_err()
            .contains("no certificate"));
    }
}
