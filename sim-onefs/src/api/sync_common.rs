//! What the `sync/*` routes share: access to this cluster's SyncIQ state, lookups that turn
//! an id or name into a 404, and the list / single-GET envelopes of SyncIQ collections.

use serde_json::Value;

use super::cache::cached_json;
use super::collection::{cluster, params, PathR};
use super::objects::{list_page, list_query, QueryR};
use super::{path_id, single_envelope_value, ApiError, ApiResult, ApiState};
use crate::clock::Epoch;
use crate::model::WorldState;
use crate::synciq::SyncIqState;

/// The virtual time of a request and the epoch that turns it into Unix time.
#[derive(Clone, Copy, Debug)]
pub(super) struct Now {
    pub ms: u64,
    pub ep: Epoch,
}

impl Now {
    pub(super) fn of(w: &WorldState) -> Now {
        Now {
            ms: w.now_ms,
            ep: w.epoch,
        }
    }
}

/// This cluster's SyncIQ state.
pub(super) fn synciq<'a>(w: &'a WorldState, st: &ApiState) -> Result<&'a SyncIqState, ApiError> {
    Ok(&cluster(w, st)?.synciq)
}

/// A policy's id from its id or name.
pub(super) fn policy_id(s: &SyncIqState, key: &str) -> Result<String, ApiError> {
    s.policy_id(key)
        .ok_or_else(|| ApiError::not_found(format!("Policy {key} not found")))
}

/// A target policy's id from its id or name.
pub(super) fn target_policy_id(s: &SyncIqState, key: &str) -> Result<String, ApiError> {
    s.target_policy_id(key)
        .ok_or_else(|| ApiError::not_found(format!("Target policy {key} not found")))
}

/// `GET sync/<collection>`: the items `f` renders (none if the cluster is gone), paged.
/// With `cache` (the request's URI), the body comes from the rendered-body cache: only for
/// renderings that do not read the clock.
pub(super) fn list_of(
    st: &ApiState,
    cache: Option<&axum::http::Uri>,
    q: QueryR,
    plural: &str,
    f: impl FnOnce(&SyncIqState, Now) -> Vec<Value>,
) -> ApiResult {
    let (q, off) = list_query(q)?;
    let render = |w: &WorldState| {
        let now = Now::of(w);
        let items = w
            .cluster(&st.cluster)
            .map(|c| f(&c.synciq, now))
            .unwrap_or_default();
        list_page(plural, items, &q, off)
    };
    respond(st, cache, render)
}

/// `GET sync/<collection>/{id}`: the object `f` finds for the `{id}` and renders (`cache`
/// as for [`list_of`]).
pub(super) fn get_of(
    st: &ApiState,
    cache: Option<&axum::http::Uri>,
    p: PathR,
    plural: &str,
    f: impl FnOnce(&SyncIqState, &str, Now) -> Result<Value, ApiError>,
) -> ApiResult {
    let key = path_id(&params(p)?);
    let render = |w: &WorldState| {
        let now = Now::of(w);
        let item = f(synciq(w, st)?, &key, now)?;
        Ok(single_envelope_value(plural, item))
    };
    respond(st, cache, render)
}

/// Render under the world lock (read only), through the cache when `cache` is given.
pub(super) fn respond(
    st: &ApiState,
    cache: Option<&axum::http::Uri>,
    render: impl FnOnce(&WorldState) -> Result<Value, ApiError>,
) -> ApiResult {
    match cache {
        Some(uri) => cached_json(st, uri, render),
        None => {
            let v = st.sim.with_world_read(render)?;
            Ok(super::cache::json_response(super::cache::to_bytes(&v)))
        }
    }
}
