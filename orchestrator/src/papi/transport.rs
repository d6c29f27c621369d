//! Transports carry PAPI requests to a cluster and bring the response back.
//!
//! The client code above them is the same for every transport, so a scenario that passes
//! in-process exercises the exact requests a real cluster would receive:
//!
//! * [`HttpTransport`] — reqwest over rustls, certificate verification on by default.
//! * [`ServiceTransport`] — calls a `tower::Service` (an axum `Router`) in-process with
//!   `oneshot`. No sockets and no reqwest timers, so a whole failover can run under tokio's
//!   paused clock.

use std::fmt;
use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use futures::future::BoxFuture;
use http_body_util::BodyExt;
use tower::util::BoxCloneSyncService;
use tower::ServiceExt;

/// Boxed error type used by in-process services.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The in-process service a [`ServiceTransport`] calls.
pub type ClusterService = BoxCloneSyncService<
    http::Request<axum::body::Body>,
    http::Response<axum::body::Body>,
    BoxError,
>;

/// Upper bound on a response body we accept (a 100k-policy listing is ~200 MB; a cluster
/// answering more than this is misbehaving, and we would rather fail than exhaust memory).
pub const MAX_RESPONSE_BYTES: usize = 256 * 1024 * 1024;

/// What went wrong below HTTP: the request may or may not have reached the cluster.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// The connection could not be made or was dropped before a response arrived.
    #[error("connection to {target} failed: {detail}")]
    Connection { target: String, detail: String },
    /// No response within the request timeout.
    #[error("no response from {target} within {timeout_ms} ms")]
    Timeout { target: String, timeout_ms: u64 },
    /// TLS handshake or certificate verification failed.
    #[error("TLS error talking to {target}: {detail} (trust the cluster's CA with --ca-cert FILE, or pass --insecure to skip verification)")]
    Tls { target: String, detail: String },
    /// The transport could not be set up (bad URL, unreadable CA file, ...).
    #[error("transport setup: {0}")]
    Setup(String),
}

impl TransportError {
    /// Whether retrying the same request may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            TransportError::Connection { .. } | TransportError::Timeout { .. }
        )
    }
}

/// What [`Transport::send`] returns: the response, when one came.
pub type Sent<'a> = BoxFuture<'a, Result<http::Response<Bytes>, TransportError>>;

/// Sends one HTTP request (path and query relative to the cluster's base URL).
pub trait Transport: Send + Sync + fmt::Debug {
    /// Send `req`; its URI holds only path and query (e.g. `/platform/14/sync/policies`).
    fn send(&self, req: http::Request<Bytes>) -> Sent<'_>;
    /// A short description for messages (`https://10.1.0.5:8080` or `in-process:prod`).
    fn describe(&self) -> String;
}

/// TLS settings for [`HttpTransport`].
#[derive(Debug, Clone, Default)]
pub struct TlsOptions {
    /// Extra CA certificate (PEM) to trust, e.g. the cluster's self-signed CA.
    pub ca_cert_pem: Option<Vec<u8>>,
    /// Skip certificate verification. Only when the operator asked for it explicitly.
    pub insecure: bool,
}

impl TlsOptions {
    /// Read a PEM CA certificate from `path`.
    pub fn with_ca_file(path: &Path) -> Result<Self, TransportError> {
        let pem = std::fs::read(path).map_err(|e| {
            TransportError::Setup(format!(
                "cannot read CA certificate {}: {e}",
                path.display()
            ))
        })?;
        Ok(TlsOptions {
            ca_cert_pem: Some(pem),
            insecure: false,
        })
    }
}

/// Real HTTP(S) to a cluster.
pub struct HttpTransport {
    base_url: String,
    client: reqwest::Client,
    timeout_ms: u64,
}

impl fmt::Debug for HttpTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpTransport")
            .field("base_url", &self.base_url)
            .field("timeout_ms", &self.timeout_ms)
            .finish()
    }
}

impl HttpTransport {
    /// `base_url` like `https://cluster.example:8080` (no trailing path).
    pub fn new(base_url: &str, tls: &TlsOptions, timeout_ms: u64) -> Result<Self, TransportError> {
        let base_url = base_url.trim_end_matches('/').to_string();
        if !(base_url.starts_with("https://") || base_url.starts_with("http://")) {
            return Err(TransportError::Setup(format!(
                "cluster URL {base_url:?} must start with https:// (or http:// for a plain-HTTP simulator)"
            )));
        }
        let mut builder = reqwest::Client::builder()
            .use_rustls_tls()
            .connect_timeout(Duration::from_millis(timeout_ms.min(30_000)))
            .timeout(Duration::from_millis(timeout_ms))
            .pool_max_idle_per_host(8)
            .redirect(reqwest::redirect::Policy::none());
        if let Some(pem) = &tls.ca_cert_pem {
            let cert = reqwest::Certificate::from_pem(pem).map_err(|e| {
                TransportError::Setup(format!("CA certificate is not valid PEM: {e}"))
            })?;
            builder = builder.add_root_certificate(cert);
        }
        if tls.insecure {
            tracing::warn!(url = %base_url, "TLS certificate verification is OFF for this cluster (--insecure)");
            builder = builder.danger_accept_invalid_certs(true);
        }
        let client = builder
            .build()
            .map_err(|e| TransportError::Setup(format!("HTTP client: {e}")))?;
        Ok(HttpTransport {
            base_url,
            client,
            timeout_ms,
        })
    }
}

fn classify_reqwest(target: &str, timeout_ms: u64, e: reqwest::Error) -> TransportError {
    if e.is_timeout() {
        return TransportError::Timeout {
            target: target.to_string(),
            timeout_ms,
        };
    }
    // reqwest folds TLS failures into connect errors; look for them in the source chain so the
    // operator is told about --ca-cert rather than about an unreachable host.
    let mut chain = String::new();
    let mut src: Option<&dyn std::error::Error> = Some(&e);
    while let Some(s) = src {
        chain.push_str(&s.to_string());
        chain.push_str(": ");
        src = s.source();
    }
    let lower = chain.to_lowercase();
    if lower.contains("certificate") || lower.contains("tls") || lower.contains("handshake") {
        return TransportError::Tls {
            target: target.to_string(),
            detail: chain.trim_end_matches(": ").to_string(),
        };
    }
    TransportError::Connection {
        target: target.to_string(),
        detail: chain.trim_end_matches(": ").to_string(),
    }
}

impl Transport for HttpTransport {
    fn send(&self, req: http::Request<Bytes>) -> Sent<'_> {
        Box::pin(async move {
            let (parts, body) = req.into_parts();
            let path = parts
                .uri
                .path_and_query()
                .map(|p| p.as_str())
                .unwrap_or("/");
            let url = format!("{}{}", self.base_url, path);
            let mut rb = self
                .client
                .request(parts.method, &url)
                .headers(parts.headers);
            if !body.is_empty() {
                rb = rb.body(body);
            }
            let resp = rb
                .send()
                .await
                .map_err(|e| classify_reqwest(&self.base_url, self.timeout_ms, e))?;
            let status = resp.status();
            let headers = resp.headers().clone();
            if let Some(len) = resp.content_length() {
                if len as usize > MAX_RESPONSE_BYTES {
                    return Err(TransportError::Connection {
                        target: self.base_url.clone(),
                        detail: format!(
                            "response of {len} bytes exceeds the {MAX_RESPONSE_BYTES}-byte limit"
                        ),
                    });
                }
            }
            let bytes = resp
                .bytes()
                .await
                .map_err(|e| classify_reqwest(&self.base_url, self.timeout_ms, e))?;
            let mut out = http::Response::new(bytes);
            *out.status_mut() = status;
            *out.headers_mut() = headers;
            Ok(out)
        })
    }

    fn describe(&self) -> String {
        self.base_url.clone()
    }
}

/// In-process transport: the request goes straight into a `tower::Service`.
#[derive(Clone)]
pub struct ServiceTransport {
    name: String,
    service: ClusterService,
}

impl fmt::Debug for ServiceTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceTransport")
            .field("name", &self.name)
            .finish()
    }
}

impl ServiceTransport {
    /// Wrap a service; `name` is used in messages only.
    pub fn new(name: impl Into<String>, service: ClusterService) -> Self {
        ServiceTransport {
            name: name.into(),
            service,
        }
    }

    /// Wrap an axum `Router` (whose error type is `Infallible`).
    pub fn from_router(name: impl Into<String>, router: axum::Router) -> Self {
        let service = ServiceExt::<http::Request<axum::body::Body>>::map_err(
            router,
            |never: std::convert::Infallible| -> BoxError { match never {} },
        );
        ServiceTransport::new(name, BoxCloneSyncService::new(service))
    }
}

impl Transport for ServiceTransport {
    fn send(&self, req: http::Request<Bytes>) -> Sent<'_> {
        Box::pin(async move {
            let req = req.map(axum::body::Body::from);
            let resp = self.service.clone().oneshot(req).await.map_err(|e| {
                TransportError::Connection {
                    target: self.describe(),
                    detail: e.to_string(),
                }
            })?;
            let (parts, body) = resp.into_parts();
            let limited = http_body_util::Limited::new(body, MAX_RESPONSE_BYTES);
            let bytes = limited
                .collect()
                .await
                .map_err(|e| TransportError::Connection {
                    target: self.describe(),
                    detail: format!("reading response body: {e}"),
                })?
                .to_bytes();
            Ok(http::Response::from_parts(parts, bytes))
        })
    }

    fn describe(&self) -> String {
        format!("in-process:{}", self.name)
    }
}
