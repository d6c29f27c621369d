//! The OneFS Platform API client the orchestrator uses for every cluster call.
//!
//! One [`PapiClient`] per cluster. It adds HTTP Basic auth, the request-context headers
//! (`x-dr-run`, `x-dr-step`, `x-dr-policy`, `x-dr-zone`, which a real cluster ignores and which
//! let a simulated cluster attribute every change to a step), a per-request timeout, and retries
//! with exponential backoff for the answers that mean "try again" (503, 429, timeouts, dropped
//! connections). Everything else — 4xx, 500 — is returned at once: a step decides what it means.

pub mod transport;
pub mod types;

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde::Serialize;

pub use transport::{
    BoxError, ClusterService, HttpTransport, ServiceTransport, TlsOptions, Transport,
    TransportError,
};
pub use types::*;

mod envelope;
mod fastjson;
mod memo;

use crate::secret::Secret;

/// Retry policy for transient failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RetryPolicy {
    /// Total tries including the first (DESIGN: 3 by default).
    pub max_attempts: u32,
    /// Delay before the second try; doubles each time.
    pub base_backoff_ms: u64,
    /// Cap on one delay.
    pub max_backoff_ms: u64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 3,
            base_backoff_ms: 1_000,
            max_backoff_ms: 30_000,
        }
    }
}

impl RetryPolicy {
    /// Delay after failed attempt `attempt` (1-based). No jitter: runs must replay exactly,
    /// and one orchestrator per cluster pair does not make a thundering herd.
    pub fn backoff_ms(&self, attempt: u32) -> u64 {
        let shift = attempt.saturating_sub(1).min(20);
        self.base_backoff_ms
            .saturating_mul(1u64 << shift)
            .min(self.max_backoff_ms)
    }
}

/// Which run and step a request belongs to; sent as headers, recorded by simulated clusters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallCtx {
    pub run: Option<String>,
    pub step: Option<String>,
    pub policy: Option<String>,
    pub zone: Option<String>,
}

/// A PAPI call failed.
#[derive(Debug, thiserror::Error)]
pub enum PapiError {
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// The cluster answered with an error status.
    #[error("{cluster}: {method} {path} → HTTP {status}{}: {message}", code.as_deref().map(|c| format!(" {c}")).unwrap_or_default())]
    Status {
        cluster: String,
        method: String,
        path: String,
        status: u16,
        code: Option<String>,
        message: String,
    },
    /// The body did not have the shape the API documents.
    #[error("{cluster}: {method} {path}: unexpected response body: {detail}")]
    Decode {
        cluster: String,
        method: String,
        path: String,
        detail: String,
    },
}

impl PapiError {
    /// HTTP status, when the cluster answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            PapiError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Whether a retry may succeed (503, 429, timeouts, dropped connections).
    pub fn is_retryable(&self) -> bool {
        match self {
            PapiError::Transport(t) => t.is_retryable(),
            PapiError::Status { status, .. } => matches!(status, 503 | 429),
            PapiError::Decode { .. } => false,
        }
    }

    /// Whether the cluster could not be reached at all.
    pub fn is_unreachable(&self) -> bool {
        matches!(
            self,
            PapiError::Transport(TransportError::Connection { .. })
                | PapiError::Transport(TransportError::Timeout { .. })
        )
    }
}

/// Connection settings of one client.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// The `N` in `/platform/N/`. OneFS accepts older versions for the resources we use.
    pub api_version: String,
    /// Per-request timeout (applied on top of the transport's own, so that it also holds
    /// in virtual time).
    pub timeout_ms: u64,
    pub retry: RetryPolicy,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            api_version: "14".to_string(),
            timeout_ms: 60_000,
            retry: RetryPolicy::default(),
        }
    }
}

/// PAPI client for one cluster.
#[derive(Clone)]
pub struct PapiClient {
    cluster: String,
    transport: Arc<dyn Transport>,
    user: String,
    password: Secret,
    opts: ClientOptions,
    ctx: CallCtx,
    /// The `Authorization` value, made once (it was encoded again for every request);
    /// marked sensitive so that `Debug` does not show it.
    auth: http::HeaderValue,
    /// The context headers of `ctx`, made once per context.
    ctx_headers: Arc<[(http::HeaderName, http::HeaderValue)]>,
    /// Configuration writes (shares, exports, aliases, quotas, snapshot schedules, dedupe
    /// settings) sent by this client and its clones, except those of clones made with
    /// [`PapiClient::tracking_config_writes`]: a shared read of the cluster's configuration
    /// ([`crate::config_repl::reads`]) is stale once this moves.
    /// One count per [`CONFIG_PATHS`] entry.
    config_writes: Arc<[std::sync::atomic::AtomicU64; 6]>,
    /// Set on clones whose configuration writes their caller records itself.
    writes_tracked: bool,
    /// The last page decoded per path and type, shared by the clones: a body the cluster
    /// answers again byte for byte is not parsed again ([`memo`]).
    memo: Arc<memo::Memo>,
}

/// What the derived `Debug` showed before the headers were made once (logs print clients):
/// the made headers are left out, the password prints as its [`Secret`] does.
impl std::fmt::Debug for PapiClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PapiClient")
            .field("cluster", &self.cluster)
            .field("transport", &self.transport)
            .field("user", &self.user)
            .field("password", &self.password)
            .field("opts", &self.opts)
            .field("ctx", &self.ctx)
            .finish()
    }
}

/// A request body: `body` as JSON, the bytes that serialising it to a `Value` first wrote
/// (`Value` maps keep insertion order here: `preserve_order`), `null` when it cannot be
/// serialised. Written directly: the `Value` tree was built, and for a `Value` body
/// cloned, for every write.
fn json_body<B: Serialize + ?Sized>(body: &B) -> Bytes {
    match serde_json::to_vec(body) {
        Ok(v) => Bytes::from(v),
        Err(_) => Bytes::from_static(b"null"),
    }
}

/// `Basic base64(user:password)`.
fn basic_auth(user: &str, password: &Secret) -> http::HeaderValue {
    let token =
        base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", user, password.expose()));
    let mut v = http::HeaderValue::from_str(&format!("Basic {token}"))
        .expect("base64 is a valid header value");
    v.set_sensitive(true);
    v
}

/// The request-context headers of `ctx`, in the order they are sent (a value that is not a
/// valid header value is left out).
fn ctx_headers(ctx: &CallCtx) -> Arc<[(http::HeaderName, http::HeaderValue)]> {
    [
        ("x-dr-run", &ctx.run),
        ("x-dr-step", &ctx.step),
        ("x-dr-policy", &ctx.policy),
        ("x-dr-zone", &ctx.zone),
    ]
    .into_iter()
    .filter_map(|(name, value)| {
        let v = http::HeaderValue::from_str(value.as_deref()?).ok()?;
        Some((http::HeaderName::from_static(name), v))
    })
    .collect()
}

impl PapiClient {
    /// A client for `cluster` (a display name) over `transport`.
    pub fn new(
        cluster: impl Into<String>,
        transport: Arc<dyn Transport>,
        user: impl Into<String>,
        password: Secret,
        opts: ClientOptions,
    ) -> Self {
        let user = user.into();
        PapiClient {
            cluster: cluster.into(),
            transport,
            auth: basic_auth(&user, &password),
            ctx_headers: ctx_headers(&CallCtx::default()),
            user,
            password,
            opts,
            ctx: CallCtx::default(),
            config_writes: Arc::default(),
            writes_tracked: false,
            memo: Arc::default(),
        }
    }

    /// Configuration writes sent so far by this client and its clones (not counting the
    /// clones made with [`PapiClient::tracking_config_writes`]), per collection in the
    /// order of [`CONFIG_PATHS`]: shares, exports, aliases, quotas, snapshot schedules,
    /// dedupe settings.
    pub fn untracked_config_writes(&self) -> [u64; 6] {
        std::array::from_fn(|i| self.config_writes[i].load(std::sync::atomic::Ordering::SeqCst))
    }

    /// The same client, for a caller that records each configuration write it makes (the
    /// config jobs mark the paths they change in their shared read): its writes leave
    /// [`PapiClient::untracked_config_writes`] alone.
    pub fn tracking_config_writes(&self) -> PapiClient {
        PapiClient {
            writes_tracked: true,
            ..self.clone()
        }
    }

    /// The cluster's display name.
    pub fn cluster(&self) -> &str {
        &self.cluster
    }

    /// Client options in force.
    pub fn options(&self) -> &ClientOptions {
        &self.opts
    }

    /// The same client, tagging its calls with `ctx`.
    pub fn with_ctx(&self, ctx: CallCtx) -> PapiClient {
        PapiClient {
            ctx_headers: ctx_headers(&ctx),
            ctx,
            ..self.clone()
        }
    }

    fn platform_path(&self, rest: &str) -> String {
        format!(
            "/platform/{}/{}",
            self.opts.api_version,
            rest.trim_start_matches('/')
        )
    }

    fn build_request(
        &self,
        method: &http::Method,
        path: &str,
        body: &Option<Bytes>,
    ) -> http::Request<Bytes> {
        const JSON: http::HeaderValue = http::HeaderValue::from_static("application/json");
        // The request the builder would make (same method, URI, headers appended in the
        // same order), set in place: the builder moves the whole request head through
        // every `.header()` call, a cost paid on every request of a run.
        let mut req = http::Request::new(body.clone().unwrap_or_default());
        *req.method_mut() = method.clone();
        *req.uri_mut() =
            http::Uri::try_from(path).expect("request parts are valid by construction");
        let h = req.headers_mut();
        h.reserve(3 + self.ctx_headers.len());
        h.append(http::header::AUTHORIZATION, self.auth.clone());
        h.append(http::header::ACCEPT, JSON);
        if body.is_some() {
            h.append(http::header::CONTENT_TYPE, JSON);
        }
        for (name, value) in self.ctx_headers.iter() {
            h.append(name.clone(), value.clone());
        }
        req
    }

    /// Send a request with retries; return the raw body of a 2xx answer.
    pub async fn call(
        &self,
        method: http::Method,
        rest: &str,
        body: Option<serde_json::Value>,
    ) -> Result<Bytes, PapiError> {
        let body = body.map(|v| Bytes::from(serde_json::to_vec(&v).unwrap_or_default()));
        self.call_bytes(method, rest, body).await
    }

    /// [`PapiClient::call`] with the body already written.
    async fn call_bytes(
        &self,
        method: http::Method,
        rest: &str,
        body: Option<Bytes>,
    ) -> Result<Bytes, PapiError> {
        let path: &str = &self.platform_path(rest);
        if !self.writes_tracked && method != http::Method::GET {
            if let Some(i) = config_path_index(rest) {
                // Counted before it is sent: a write that fails on the way may still have
                // taken effect.
                self.config_writes[i].fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
        }
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let req = self.build_request(&method, path, &body);
            let result = self.send_once(&method, path, req).await;
            match result {
                Ok(bytes) => return Ok(bytes),
                Err(e) if e.is_retryable() && attempt < self.opts.retry.max_attempts => {
                    let delay = self.opts.retry.backoff_ms(attempt);
                    tracing::debug!(cluster = %self.cluster, %method, path, attempt, delay_ms = delay, error = %e, "retrying PAPI call");
                    tokio::time::sleep(Duration::from_millis(delay)).await;
                }
                Err(e) => return Err(e),
            }
        }
    }

    async fn send_once(
        &self,
        method: &http::Method,
        path: &str,
        req: http::Request<Bytes>,
    ) -> Result<Bytes, PapiError> {
        let timeout = Duration::from_millis(self.opts.timeout_ms);
        let resp = match tokio::time::timeout(timeout, self.transport.send(req)).await {
            Ok(r) => r?,
            Err(_) => {
                return Err(PapiError::Transport(TransportError::Timeout {
                    target: self.transport.describe(),
                    timeout_ms: self.opts.timeout_ms,
                }))
            }
        };
        let status = resp.status();
        let body = resp.into_body();
        if status.is_success() {
            return Ok(body);
        }
        let (code, message) = parse_error_body(&body);
        Err(PapiError::Status {
            cluster: self.cluster.clone(),
            method: method.to_string(),
            path: path.to_string(),
            status: status.as_u16(),
            code,
            message,
        })
    }

    /// GET and decode JSON.
    pub async fn get_json<T: DeserializeOwned>(&self, rest: &str) -> Result<T, PapiError> {
        let bytes = self.call(http::Method::GET, rest, None).await?;
        self.decode(&http::Method::GET, rest, &bytes)
    }

    fn decode<T: DeserializeOwned>(
        &self,
        method: &http::Method,
        rest: &str,
        bytes: &[u8],
    ) -> Result<T, PapiError> {
        envelope::from_slice(bytes).map_err(|e| self.decode_error(method, rest, e))
    }

    /// A body of `method rest` on this client's cluster that could not be read as expected.
    fn decode_error(
        &self,
        method: &http::Method,
        rest: &str,
        detail: impl std::fmt::Display,
    ) -> PapiError {
        PapiError::Decode {
            cluster: self.cluster.clone(),
            method: method.to_string(),
            path: self.platform_path(rest),
            detail: detail.to_string(),
        }
    }

    /// POST `body` to create an object (the response body is not needed: it is checked as
    /// strictly as reading it as a `Value` would, without building one).
    async fn create(&self, rest: &str, body: &serde_json::Value) -> Result<(), PapiError> {
        let _: envelope::Validate = self.post_json(rest, body).await?;
        Ok(())
    }

    /// POST a JSON body; decode the answer.
    pub async fn post_json<B: Serialize, T: DeserializeOwned>(
        &self,
        rest: &str,
        body: &B,
    ) -> Result<T, PapiError> {
        let bytes = self
            .call_bytes(http::Method::POST, rest, Some(json_body(body)))
            .await?;
        if bytes.is_empty() {
            return self.decode(&http::Method::POST, rest, b"{}");
        }
        self.decode(&http::Method::POST, rest, &bytes)
    }

    /// PUT a JSON body (PAPI answers 204).
    pub async fn put_json<B: Serialize>(&self, rest: &str, body: &B) -> Result<(), PapiError> {
        self.call_bytes(http::Method::PUT, rest, Some(json_body(body)))
            .await
            .map(|_| ())
    }

    /// DELETE (PAPI answers 204).
    pub async fn delete(&self, rest: &str) -> Result<(), PapiError> {
        self.call(http::Method::DELETE, rest, None)
            .await
            .map(|_| ())
    }

    // ----- typed calls -------------------------------------------------------------------

    /// `GET /cluster/config`.
    pub async fn cluster_config(&self) -> Result<ClusterConfig, PapiError> {
        self.get_json("cluster/config").await
    }

    /// `GET /sync/settings`.
    pub async fn sync_settings(&self) -> Result<SyncSettings, PapiError> {
        let s: SettingsEnvelope<SyncSettings> = self.get_json("sync/settings").await?;
        Ok(s.settings)
    }

    /// All SyncIQ policies (follows `resume` tokens).
    pub async fn list_policies(&self) -> Result<Vec<SyncPolicy>, PapiError> {
        self.list_all_memo("sync/policies", "policies").await
    }

    /// One policy by name or id; `None` on 404.
    pub async fn get_policy(&self, name: &str) -> Result<Option<SyncPolicy>, PapiError> {
        self.get_one_memo(&format!("sync/policies/{}", enc(name)), "policies")
            .await
    }

    /// `PUT /sync/policies/{name}` with the given fields.
    pub async fn update_policy(
        &self,
        name: &str,
        fields: &serde_json::Value,
    ) -> Result<(), PapiError> {
        self.put_json(&format!("sync/policies/{}", enc(name)), fields)
            .await
    }

    /// One target policy by name or id; `None` on 404.
    pub async fn get_target_policy(
        &self,
        name: &str,
    ) -> Result<Option<SyncTargetPolicy>, PapiError> {
        self.get_one_memo(&format!("sync/target/policies/{}", enc(name)), "policies")
            .await
    }

    /// All target policies (policies replicating into this cluster).
    pub async fn list_target_policies(&self) -> Result<Vec<SyncTargetPolicy>, PapiError> {
        self.list_or_empty("sync/target/policies", "policies").await
    }

    /// The running (or queued) job of a policy; `None` when it has none.
    pub async fn get_job(&self, policy: &str) -> Result<Option<SyncJob>, PapiError> {
        self.get_one(&format!("sync/jobs/{}", enc(policy)), "jobs")
            .await
    }

    /// `POST /sync/jobs {"id": policy, "action": action}`.
    pub async fn start_job(&self, policy: &str, action: JobAction) -> Result<(), PapiError> {
        let body = serde_json::json!({"id": policy, "action": <&str>::from(action)});
        self.create("sync/jobs", &body).await
    }

    /// Reports of a policy's finished jobs, newest first: every report the cluster keeps
    /// (OneFS keeps up to `report_max_count`, 2000 by default, per policy). Prefer
    /// [`PapiClient::recent_reports`] where the newest few are enough.
    pub async fn reports(&self, policy_name: &str) -> Result<Vec<SyncReport>, PapiError> {
        let reports = self
            .list_all_memo(
                &format!("sync/reports?policy_name={}", enc(policy_name)),
                "reports",
            )
            .await?;
        Ok(newest_first(reports))
    }

    /// The `n` most recent reports of a policy (`reports_per_policy=n`), newest first.
    ///
    /// Why not [`PapiClient::reports`]: a job step reads its policy's reports before the job
    /// starts and after it ends, and a policy synced every quarter hour keeps a year of
    /// them; reading them all each time grows with the history, not with the work.
    pub async fn recent_reports(
        &self,
        policy_name: &str,
        n: usize,
    ) -> Result<Vec<SyncReport>, PapiError> {
        let reports = self
            .list_all_memo(
                &format!(
                    "sync/reports?policy_name={}&reports_per_policy={}",
                    enc(policy_name),
                    n.max(1)
                ),
                "reports",
            )
            .await?;
        Ok(newest_first(reports))
    }

    /// A list resource; a 404 (resource not licensed or not present) is an empty list.
    pub async fn list_or_empty<T: DeserializeOwned>(
        &self,
        rest: &str,
        key: &str,
    ) -> Result<Vec<T>, PapiError> {
        match self.list_all(rest, key).await {
            Err(e) if e.status() == Some(404) => Ok(Vec::new()),
            other => other,
        }
    }

    /// Access zones.
    pub async fn zones(&self) -> Result<Vec<AccessZone>, PapiError> {
        self.list_or_empty("zones", "zones").await
    }

    /// All network pools (flat listing).
    pub async fn pools(&self) -> Result<Vec<NetworkPool>, PapiError> {
        self.list_or_empty("network/pools", "pools").await
    }

    /// One subnet (for its SmartConnect service addresses).
    pub async fn subnet(&self, groupnet: &str, subnet: &str) -> Result<Option<Subnet>, PapiError> {
        self.get_one(
            &format!(
                "network/groupnets/{}/subnets/{}",
                enc(groupnet),
                enc(subnet)
            ),
            "subnets",
        )
        .await
    }

    /// One pool by its full id (`groupnet.subnet.pool`).
    pub async fn pool(&self, id: &str) -> Result<Option<NetworkPool>, PapiError> {
        let (g, s, p) = split_pool_id(id);
        self.get_one(
            &format!(
                "network/groupnets/{}/subnets/{}/pools/{}",
                enc(g),
                enc(s),
                enc(p)
            ),
            "pools",
        )
        .await
    }

    /// `PUT` fields of a pool.
    pub async fn update_pool(&self, id: &str, fields: &serde_json::Value) -> Result<(), PapiError> {
        let (g, s, p) = split_pool_id(id);
        self.put_json(
            &format!(
                "network/groupnets/{}/subnets/{}/pools/{}",
                enc(g),
                enc(s),
                enc(p)
            ),
            fields,
        )
        .await
    }

    /// SMB shares of a zone. Unlike discovery lists, a 404 here is an error, not "none":
    /// config replication and the lock must never mistake a failed read for an empty zone.
    pub async fn smb_shares(&self, zone: &str) -> Result<Vec<SmbShare>, PapiError> {
        self.list_all_memo(&in_zone("smb/shares", zone), "shares")
            .await
    }

    /// SMB shares of a zone, each decoded as `T`: a caller's own view of the fields it
    /// needs (the parser skips the others instead of building them). The same requests and
    /// errors as [`PapiClient::smb_shares`].
    pub async fn smb_shares_as<T: DeserializeOwned + Clone + Send + Sync + 'static>(
        &self,
        zone: &str,
    ) -> Result<Vec<T>, PapiError> {
        self.list_all_memo(&in_zone("smb/shares", zone), "shares")
            .await
    }

    /// SMB shares of a zone as raw JSON (every field, for copying to another cluster).
    pub async fn smb_shares_raw(&self, zone: &str) -> Result<Vec<serde_json::Value>, PapiError> {
        self.list_all_memo(&in_zone("smb/shares", zone), "shares")
            .await
    }

    /// A zone's SMB shares as PAPI lists them, only those whose `path` `want` accepts
    /// (the others are skipped by the parser, not built). The same requests and errors as
    /// [`PapiClient::smb_shares_raw`].
    pub async fn smb_shares_raw_where(
        &self,
        zone: &str,
        want: &(dyn Fn(&str) -> bool + Sync),
    ) -> Result<Vec<serde_json::Value>, PapiError> {
        let items: Vec<Option<serde_json::Value>> = self
            .list_all_with(&in_zone("smb/shares", zone), &|bytes| {
                envelope::decode_values_where("shares", bytes, want)
            })
            .await?;
        Ok(items.into_iter().flatten().collect())
    }

    /// Update an SMB share (`{"name": ...}` renames it).
    pub async fn update_smb_share(
        &self,
        zone: &str,
        name: &str,
        fields: &serde_json::Value,
    ) -> Result<(), PapiError> {
        self.update_config(ConfigCollection::SmbShares, Some(zone), name, fields)
            .await
    }

    /// SMB open files (cluster-wide).
    pub async fn smb_open_files(&self) -> Result<Vec<SmbOpenFile>, PapiError> {
        self.list_all("protocols/smb/openfiles", "openfiles").await
    }

    /// SMB or NFS global settings (`proto` = `smb` | `nfs`).
    pub async fn protocol_settings(&self, proto: &str) -> Result<ProtocolSettings, PapiError> {
        let s: SettingsEnvelope<ProtocolSettings> = self
            .get_json(&format!("protocols/{proto}/settings/global"))
            .await?;
        Ok(s.settings)
    }

    /// Turn the SMB or NFS service on or off cluster-wide.
    pub async fn set_protocol_service(&self, proto: &str, on: bool) -> Result<(), PapiError> {
        self.put_json(
            &format!("protocols/{proto}/settings/global"),
            &serde_json::json!({ "service": on }),
        )
        .await
    }

    /// NFS exports of a zone.
    pub async fn nfs_exports(&self, zone: &str) -> Result<Vec<NfsExport>, PapiError> {
        self.list_all_memo(&in_zone("nfs/exports", zone), "exports")
            .await
    }

    /// NFS aliases of a zone.
    pub async fn nfs_aliases(&self, zone: &str) -> Result<Vec<NfsAlias>, PapiError> {
        self.list_all_memo(&in_zone("nfs/aliases", zone), "aliases")
            .await
    }

    /// All quotas.
    pub async fn quotas(&self) -> Result<Vec<Quota>, PapiError> {
        self.list_all_memo("quota/quotas", "quotas").await
    }

    /// Create a quota.
    pub async fn create_quota(&self, body: &serde_json::Value) -> Result<(), PapiError> {
        self.create_config(ConfigCollection::Quotas, None, body)
            .await
    }

    /// Delete a quota by id.
    pub async fn delete_quota(&self, id: &str) -> Result<(), PapiError> {
        self.delete_config(ConfigCollection::Quotas, None, id).await
    }

    /// Create a configuration object in its collection (`zone` for the zoned protocol
    /// objects; ignored for the cluster-wide ones).
    pub async fn create_config(
        &self,
        coll: ConfigCollection,
        zone: Option<&str>,
        body: &serde_json::Value,
    ) -> Result<(), PapiError> {
        self.create(&coll.path(zone, None), body).await
    }

    /// [`PapiClient::create_config`], answering the id the cluster gave the new object
    /// (`None` when its answer has none).
    pub async fn create_config_id(
        &self,
        coll: ConfigCollection,
        zone: Option<&str>,
        body: &serde_json::Value,
    ) -> Result<Option<String>, PapiError> {
        let v: serde_json::Value = self.post_json(&coll.path(zone, None), body).await?;
        Ok(match v.get("id") {
            Some(serde_json::Value::String(s)) => Some(s.clone()),
            Some(n @ serde_json::Value::Number(_)) => Some(n.to_string()),
            _ => None,
        })
    }

    /// One configuration object as PAPI answers it (every field), by id (or name where
    /// PAPI addresses it by name); `None` when the cluster says 404.
    pub async fn config_object(
        &self,
        coll: ConfigCollection,
        zone: Option<&str>,
        id: &str,
    ) -> Result<Option<serde_json::Value>, PapiError> {
        self.get_one_memo(&coll.path(zone, Some(id)), coll.plural())
            .await
    }

    /// Update a configuration object by id (or name, where PAPI addresses it by name).
    pub async fn update_config(
        &self,
        coll: ConfigCollection,
        zone: Option<&str>,
        id: &str,
        fields: &serde_json::Value,
    ) -> Result<(), PapiError> {
        self.put_json(&coll.path(zone, Some(id)), fields).await
    }

    /// Delete a configuration object by id (or name).
    pub async fn delete_config(
        &self,
        coll: ConfigCollection,
        zone: Option<&str>,
        id: &str,
    ) -> Result<(), PapiError> {
        self.delete(&coll.path(zone, Some(id))).await
    }

    /// Snapshot schedules (cluster-wide). A 404 is an error: config replication must not
    /// mistake a failed read for "no schedules".
    pub async fn snapshot_schedules(&self) -> Result<Vec<SnapshotSchedule>, PapiError> {
        self.list_all_memo("snapshot/schedules", "schedules").await
    }

    /// The cluster's dedupe settings (`paths`: the directories deduplicated).
    pub async fn dedupe_settings(&self) -> Result<DedupeSettings, PapiError> {
        let s: SettingsEnvelope<DedupeSettings> = self.get_json("dedupe/settings").await?;
        Ok(s.settings)
    }

    /// Replace the list of deduplicated directories.
    pub async fn set_dedupe_paths(&self, paths: &[String]) -> Result<(), PapiError> {
        self.put_json("dedupe/settings", &serde_json::json!({ "paths": paths }))
            .await
    }

    /// The cluster's AD providers.
    pub async fn ads_providers(&self) -> Result<Vec<AdsProvider>, PapiError> {
        self.list_or_empty("auth/providers/ads", "ads").await
    }

    /// The cluster's AD providers with duplicate-SPN detection (`dup_spns`).
    pub async fn ads_providers_checked(&self) -> Result<Vec<AdsProvider>, PapiError> {
        self.list_or_empty("auth/providers/ads?check_duplicates=true", "ads")
            .await
    }

    /// Replace an AD provider's SPN list (PAPI's PUT replaces the whole list).
    pub async fn set_ads_spns(&self, provider: &str, spns: &[String]) -> Result<(), PapiError> {
        self.put_json(
            &format!("auth/providers/ads/{}", enc(provider)),
            &serde_json::json!({ "spns": spns }),
        )
        .await
    }

    /// Another machine account's SPNs, read through this cluster's AD provider
    /// (`?account=`, as `isi auth ads spn list --account`): how the surviving cluster
    /// reaches a dead cluster's account. `None` when the provider is not there.
    pub async fn account_spns(
        &self,
        provider: &str,
        account: &str,
    ) -> Result<Option<AdsProvider>, PapiError> {
        self.get_one(
            &format!(
                "auth/providers/ads/{}?account={}",
                enc(provider),
                enc(account)
            ),
            "ads",
        )
        .await
    }

    /// Replace another machine account's SPN list through this cluster's AD provider.
    pub async fn set_account_spns(
        &self,
        provider: &str,
        account: &str,
        spns: &[String],
    ) -> Result<(), PapiError> {
        self.put_json(
            &format!(
                "auth/providers/ads/{}?account={}",
                enc(provider),
                enc(account)
            ),
            &serde_json::json!({ "spns": spns }),
        )
        .await
    }

    async fn get_one<T: DeserializeOwned>(
        &self,
        rest: &str,
        key: &str,
    ) -> Result<Option<T>, PapiError> {
        self.get_one_with(rest, key, &|bytes| envelope::decode(key, bytes))
            .await
    }

    /// [`PapiClient::get_one`] through the client's [`memo`]: for objects read again
    /// while they do not change (policies, configuration objects).
    async fn get_one_memo<T: DeserializeOwned + Clone + Send + Sync + 'static>(
        &self,
        rest: &str,
        key: &str,
    ) -> Result<Option<T>, PapiError> {
        self.get_one_with(rest, key, &|bytes| self.memo.decode(key, rest, bytes))
            .await
    }

    /// [`PapiClient::get_one`] with the page decoder given.
    async fn get_one_with<T>(
        &self,
        rest: &str,
        key: &str,
        decode: &PageDecoder<'_, T>,
    ) -> Result<Option<T>, PapiError> {
        match self.call(http::Method::GET, rest, None).await {
            Ok(bytes) => {
                let page =
                    decode(&bytes).map_err(|e| self.decode_error(&http::Method::GET, rest, e))?;
                let mut list: Vec<T> = match page.items {
                    Some(items) => items,
                    None => {
                        return Err(self.decode_error(
                            &http::Method::GET,
                            rest,
                            format_args!("no {key:?} list in the answer"),
                        ))
                    }
                };
                Ok(if list.is_empty() {
                    None
                } else {
                    Some(list.swap_remove(0))
                })
            }
            Err(e) if e.status() == Some(404) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Follow `resume` tokens until the list is complete (bounded, in case a cluster loops).
    async fn list_all<T: DeserializeOwned>(
        &self,
        rest: &str,
        key: &str,
    ) -> Result<Vec<T>, PapiError> {
        self.list_all_with(rest, &|bytes| envelope::decode(key, bytes))
            .await
    }

    /// [`PapiClient::list_all`] through the client's [`memo`]: for lists read again while
    /// they do not change (reports, shares, exports, quotas).
    async fn list_all_memo<T: DeserializeOwned + Clone + Send + Sync + 'static>(
        &self,
        rest: &str,
        key: &str,
    ) -> Result<Vec<T>, PapiError> {
        self.list_all_paged(rest, &|path, bytes| self.memo.decode(key, path, bytes))
            .await
    }

    /// [`PapiClient::list_all`] with the page decoder given.
    async fn list_all_with<T>(
        &self,
        rest: &str,
        decode: &PageDecoder<'_, T>,
    ) -> Result<Vec<T>, PapiError> {
        self.list_all_paged(rest, &|_, bytes| decode(bytes)).await
    }

    /// [`PapiClient::list_all_with`] with a page decoder that is told each page's path.
    async fn list_all_paged<T>(
        &self,
        rest: &str,
        decode: &PathPageDecoder<'_, T>,
    ) -> Result<Vec<T>, PapiError> {
        const MAX_PAGES: usize = 10_000;
        let mut out = Vec::new();
        let mut next = rest.to_string();
        for _ in 0..MAX_PAGES {
            let bytes = self.call(http::Method::GET, &next, None).await?;
            let page: envelope::Envelope<T> = decode(&next, &bytes)
                .map_err(|e| self.decode_error(&http::Method::GET, &next, e))?;
            out.extend(page.items.unwrap_or_default());
            match page.resume {
                Some(token) if !token.is_empty() => {
                    let base = rest.split('?').next().unwrap_or(rest);
                    next = format!("{base}?resume={}", enc(&token));
                }
                _ => return Ok(out),
            }
        }
        Err(self.decode_error(
            &http::Method::GET,
            rest,
            format_args!("more than {MAX_PAGES} pages of results"),
        ))
    }
}

/// How [`PapiClient::list_all_with`] reads one page.
type PageDecoder<'a, T> =
    dyn Fn(&Bytes) -> Result<envelope::Envelope<T>, serde_json::Error> + Sync + 'a;

/// How [`PapiClient::list_all_paged`] reads one page: told its path (after `/platform/N/`).
type PathPageDecoder<'a, T> =
    dyn Fn(&str, &Bytes) -> Result<envelope::Envelope<T>, serde_json::Error> + Sync + 'a;

/// Split `groupnet0.subnet0.pool0` into its parts (missing parts are empty).
pub fn split_pool_id(id: &str) -> (&str, &str, &str) {
    let mut it = id.splitn(3, '.');
    (
        it.next().unwrap_or(""),
        it.next().unwrap_or(""),
        it.next().unwrap_or(""),
    )
}

/// Everything but RFC 3986's unreserved characters (`A-Z a-z 0-9 - _ . ~`) is escaped.
const NOT_UNRESERVED: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// `protocols/<what>?zone=<zone>`: a zone's protocol objects (`smb/shares`, `nfs/exports`,
/// `nfs/aliases`).
fn in_zone(what: &str, zone: &str) -> String {
    format!("protocols/{what}?zone={}", enc(zone))
}

/// The PAPI collections configuration replication writes to: one place that knows each
/// collection's path and whether it is scoped by access zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigCollection {
    /// `protocols/smb/shares` (zoned, addressed by name).
    SmbShares,
    /// `protocols/nfs/exports` (zoned, addressed by id).
    NfsExports,
    /// `protocols/nfs/aliases` (zoned, addressed by name).
    NfsAliases,
    /// `quota/quotas` (cluster-wide, addressed by id).
    Quotas,
    /// `snapshot/schedules` (cluster-wide, addressed by id or name).
    SnapshotSchedules,
}

impl ConfigCollection {
    /// The list key of the collection's envelope.
    fn plural(self) -> &'static str {
        match self {
            ConfigCollection::SmbShares => "shares",
            ConfigCollection::NfsExports => "exports",
            ConfigCollection::NfsAliases => "aliases",
            ConfigCollection::Quotas => "quotas",
            ConfigCollection::SnapshotSchedules => "schedules",
        }
    }

    /// The collection's path, or one item's path with `id`; zoned collections carry
    /// `?zone=` (the `System` zone when none is given, as PAPI assumes).
    fn path(self, zone: Option<&str>, id: Option<&str>) -> String {
        let (base, zoned) = match self {
            ConfigCollection::SmbShares => ("protocols/smb/shares", true),
            ConfigCollection::NfsExports => ("protocols/nfs/exports", true),
            ConfigCollection::NfsAliases => ("protocols/nfs/aliases", true),
            ConfigCollection::Quotas => ("quota/quotas", false),
            ConfigCollection::SnapshotSchedules => ("snapshot/schedules", false),
        };
        let mut out = base.to_string();
        if let Some(id) = id {
            out.push('/');
            out.push_str(&enc(id));
        }
        if zoned {
            out.push_str("?zone=");
            out.push_str(&enc(zone.unwrap_or("System")));
        }
        out
    }
}

/// The configuration collections config replication reads (paths after `/platform/N/`),
/// in the order of [`PapiClient::untracked_config_writes`].
pub const CONFIG_PATHS: [&str; 6] = [
    "protocols/smb/shares",
    "protocols/nfs/exports",
    "protocols/nfs/aliases",
    "quota/quotas",
    "snapshot/schedules",
    "dedupe/settings",
];

/// Which of [`CONFIG_PATHS`] `rest` addresses, if any.
fn config_path_index(rest: &str) -> Option<usize> {
    let rest = rest.trim_start_matches('/');
    CONFIG_PATHS.iter().position(|p| {
        rest.strip_prefix(p)
            .is_some_and(|t| t.is_empty() || t.starts_with(['/', '?']))
    })
}

/// Reports sorted newest first: by end time (a report without one last), then by id, so
/// the order does not depend on the cluster's.
fn newest_first(mut reports: Vec<SyncReport>) -> Vec<SyncReport> {
    reports.sort_by(|a, b| {
        b.end_time
            .unwrap_or(0)
            .cmp(&a.end_time.unwrap_or(0))
            .then_with(|| b.id.cmp(&a.id))
    });
    reports
}

/// Percent-encode one path segment or query value.
pub fn enc(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, NOT_UNRESERVED).to_string()
}

/// Pull `{"errors":[{"code","message"}]}` apart; fall back to the raw text (trimmed).
fn parse_error_body(body: &[u8]) -> (Option<String>, String) {
    #[derive(serde::Deserialize)]
    struct Errs {
        errors: Vec<Err1>,
    }
    #[derive(serde::Deserialize)]
    struct Err1 {
        code: Option<String>,
        message: Option<String>,
    }
    if let Ok(e) = serde_json::from_slice::<Errs>(body) {
        if let Some(first) = e.errors.into_iter().next() {
            return (first.code, first.message.unwrap_or_default());
        }
    }
    let text = String::from_utf8_lossy(body);
    let text: String = text.chars().take(300).collect();
    (None, text.trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        let r = RetryPolicy {
            max_attempts: 5,
            base_backoff_ms: 100,
            max_backoff_ms: 350,
        };
        assert_eq!(r.backoff_ms(1), 100);
        assert_eq!(r.backoff_ms(2), 200);
        assert_eq!(r.backoff_ms(3), 350);
        assert_eq!(r.backoff_ms(60), 350);
    }

    #[test]
    fn error_bodies_are_parsed() {
        let (code, msg) = parse_error_body(
            br#"{"errors":[{"code":"AEC_NOT_FOUND","message":"no such policy"}]}"#,
        );
        assert_eq!(code.as_deref(), Some("AEC_NOT_FOUND"));
        assert_eq!(msg, "no such policy");
        let (code, msg) = parse_error_body(b"  bad gateway ");
        assert_eq!(code, None);
        assert_eq!(msg, "bad gateway");
    }

    #[test]
    fn encoding_escapes_separators() {
        assert_eq!(enc("a b/c"), "a%20b%2Fc");
        assert_eq!(enc("eng_mirror"), "eng_mirror");
    }
}
