//! Rendered-body cache of GET responses whose bodies depend only on the world's state.
//!
//! A client polling `GET sync/policies` (the orchestrator does, every few seconds, per
//! cluster) asks for the same bytes until something changes. The world carries a version
//! that moves on every change (`Sim::with_world` bumps it after any mutable access, the
//! event loop after any processed event); a body rendered at version *v* is served again
//! only while the world is still at *v*. The key is the cluster plus the request's path and
//! query, so pagination, filters and resume tokens get their own entries.
//!
//! Only routes whose bodies are a function of state alone use this (policies, target
//! policies, single reports, configuration collections). Bodies that read the clock —
//! job progress, report filters relative to now — are rendered every time: the clock moves
//! without the version moving.
//!
//! Rendering happens under the world lock (it reads the state); serialising does not: the
//! JSON is written once, outside the lock, into a reused per-thread buffer.

use std::cell::RefCell;
use std::collections::HashMap;

use axum::body::Bytes;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::{ApiError, ApiResult, ApiState};
use crate::model::WorldState;

/// Most bodies kept at once; past it the cache starts over (a world serves a handful of
/// polled routes, not thousands).
const MAX_ENTRIES: usize = 256;

/// The bodies rendered at one world version.
#[derive(Debug)]
pub(crate) struct BodyCache {
    pub enabled: bool,
    version: u64,
    bodies: HashMap<String, Bytes>,
}

impl Default for BodyCache {
    fn default() -> Self {
        BodyCache {
            enabled: true,
            version: 0,
            bodies: HashMap::new(),
        }
    }
}

impl BodyCache {
    pub fn clear(&mut self) {
        self.bodies.clear();
    }

    /// Bodies held.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.bodies.len()
    }

    /// The body cached for `key` at `version`, dropping everything older.
    fn get(&mut self, version: u64, key: &str) -> Option<Bytes> {
        if !self.enabled {
            return None;
        }
        if self.version != version {
            self.bodies.clear();
            self.version = version;
        }
        self.bodies.get(key).cloned()
    }

    /// Keep `body` for `key` if the world is still at `version` as far as the cache knows
    /// (a newer version already seen means the body is stale on arrival).
    fn put(&mut self, version: u64, key: String, body: Bytes) {
        if !self.enabled || version < self.version {
            return;
        }
        if version > self.version || self.bodies.len() >= MAX_ENTRIES {
            self.bodies.clear();
            self.version = version;
        }
        self.bodies.insert(key, body);
    }
}

thread_local! {
    /// Serialisation buffer, reused across requests so a large body does not regrow a
    /// fresh vector every time.
    static BUF: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Serialise `v` once into the reused buffer and hand out an immutable copy.
pub(crate) fn to_bytes(v: &Value) -> Bytes {
    BUF.with(|b| {
        let mut buf = b.borrow_mut();
        buf.clear();
        // Writing a `Value` into a `Vec` cannot fail (no I/O, string keys only).
        let _ = serde_json::to_writer(&mut *buf, v);
        Bytes::copy_from_slice(&buf)
    })
}

/// A 200 response with a JSON body.
pub(crate) fn json_response(body: Bytes) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}

/// The cache key of a request: the cluster plus the request's path and query.
fn cache_key(st: &ApiState, uri: &axum::http::Uri) -> String {
    let pq = uri.path_and_query().map_or(uri.path(), |p| p.as_str());
    [&*st.cluster, "\n", pq].concat()
}

/// [`cached_json`] for a body `render` serialises itself (from pieces kept elsewhere).
pub(crate) fn cached_bytes(
    st: &ApiState,
    uri: &axum::http::Uri,
    render: impl FnOnce(&WorldState) -> Result<Bytes, ApiError>,
) -> ApiResult {
    let key = cache_key(st, uri);
    let (body, version, hit) = st.sim.with_world_read(|w| {
        if let Some(b) = crate::lock(st.sim.body_cache()).get(w.version, &key) {
            return Ok::<_, ApiError>((b, w.version, true));
        }
        render(w).map(|b| (b, w.version, false))
    })?;
    if !hit {
        crate::lock(st.sim.body_cache()).put(version, key, body.clone());
    }
    Ok(json_response(body))
}

/// Answer a GET from the cache, or render it with `render` (under the world lock, read
/// only), serialise it outside the lock and keep it for the version it was rendered at.
/// Errors are never cached.
pub(crate) fn cached_json(
    st: &ApiState,
    uri: &axum::http::Uri,
    render: impl FnOnce(&WorldState) -> Result<Value, ApiError>,
) -> ApiResult {
    let key = cache_key(st, uri);
    enum Got {
        Hit(Bytes),
        Miss(Value, u64),
    }
    let got = st.sim.with_world_read(|w| {
        // Looked up under the world lock, so no change can slip between reading the
        // version and reading the body.
        if let Some(b) = crate::lock(st.sim.body_cache()).get(w.version, &key) {
            return Ok(Got::Hit(b));
        }
        render(w).map(|v| Got::Miss(v, w.version))
    })?;
    match got {
        Got::Hit(b) => Ok(json_response(b)),
        Got::Miss(v, version) => {
            let b = to_bytes(&v);
            crate::lock(st.sim.body_cache()).put(version, key, b.clone());
            Ok(json_response(b))
        }
    }
}
