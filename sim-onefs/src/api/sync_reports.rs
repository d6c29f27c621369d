//! `sync/reports[/{id}]` (jobs this cluster ran) and `sync/target/reports[/{id}]` (jobs that
//! replicated into this cluster, the target side's record with the job's error text), newest
//! first. Query: `policy_name`, `newer_than` (days, as in OneFS), `limit`, `state`, `action`,
//! `reports_per_policy` (the N most recent per policy; as in OneFS it defaults to 1 when the
//! request has no other query argument).

use axum::body::Bytes;

use super::cache::{json_response, to_bytes};
use super::collection::{params, PathR};
use super::objects::{list_page_bytes, list_query, page_bounds, QueryR};
use super::sync_common::synciq;
use super::sync_render::{report_bytes, report_json, target_report_json};
use super::*;
use crate::clock::Epoch;
use crate::synciq::{Report, ReportLog, SyncIqState};

/// Which of a cluster's report collections a route serves.
#[derive(Clone, Copy)]
enum Side {
    Source,
    Target,
}

impl Side {
    fn reports(self, s: &SyncIqState) -> &ReportLog {
        match self {
            Side::Source => &s.reports,
            Side::Target => &s.target_reports,
        }
    }

    fn render(self, r: &Report, ep: Epoch) -> Value {
        match self {
            Side::Source => report_json(r, ep),
            Side::Target => target_report_json(r, ep),
        }
    }

    /// Report `i`'s body, rendered once per report and kept.
    fn rendered(self, log: &ReportLog, i: usize, ep: Epoch) -> Bytes {
        log.rendered(i, ep, |r, ep| match self {
            Side::Source => report_bytes(r, ep).into(),
            Side::Target => to_bytes(&self.render(r, ep)),
        })
    }
}

pub(super) async fn list(State(st): State<ApiState>, q: QueryR) -> ApiResult {
    list_side(st, q, Side::Source)
}

pub(super) async fn get_one(State(st): State<ApiState>, p: PathR) -> ApiResult {
    get_side(st, p, Side::Source)
}

pub(super) async fn target_list(State(st): State<ApiState>, q: QueryR) -> ApiResult {
    list_side(st, q, Side::Target)
}

pub(super) async fn target_get_one(State(st): State<ApiState>, p: PathR) -> ApiResult {
    get_side(st, p, Side::Target)
}

fn list_side(st: ApiState, q: QueryR, side: Side) -> ApiResult {
    let (q, off) = list_query(q)?;
    let num = |k: &str| -> Result<Option<u64>, ApiError> {
        q.get(k)
            .map(|v| {
                v.parse::<u64>().map_err(|_| {
                    ApiError::bad_request(format!(
                        "Query argument {k} must be a non-negative integer"
                    ))
                })
            })
            .transpose()
    };
    let newer_than = num("newer_than")?;
    num("limit")?;
    let per_policy = match num("reports_per_policy")? {
        Some(n) => Some(n),
        None if q.is_empty() => Some(1),
        None => None,
    };
    let body = st.sim.with_world_read(|w| {
        let ep = w.epoch;
        let now_s = ep.unix_s(w.now_ms as i64);
        let mut seen_per_policy = std::collections::BTreeMap::new();
        let s = synciq(w, &st)?;
        let log = side.reports(s);
        // Newest first; one policy's from its index.
        let newest_first: Box<dyn Iterator<Item = usize>> = match q.get("policy_name") {
            Some(n) => Box::new(log.positions_of_policy(n).iter().rev().copied()),
            None => Box::new((0..log.all().len()).rev()),
        };
        let all = log.all();
        let picked: Vec<usize> = newest_first
            .filter(|&i| q.get("state").is_none_or(|s| all[i].state.as_str() == s))
            .filter(|&i| q.get("action").is_none_or(|a| all[i].action.as_str() == a))
            .filter(|&i| {
                newer_than.is_none_or(|d| ep.unix_s(all[i].start_ms) >= now_s - (d as i64) * 86_400)
            })
            .filter(|&i| {
                let Some(n) = per_policy else { return true };
                let seen = seen_per_policy
                    .entry(all[i].policy_name.as_str())
                    .or_insert(0u64);
                *seen += 1;
                *seen <= n
            })
            .collect();
        // Only the page is rendered (each report once: its body is kept).
        let (start, end, resume) = page_bounds(picked.len(), &q, off)?;
        let page: Vec<Bytes> = picked[start..end]
            .iter()
            .map(|&i| side.rendered(log, i, ep))
            .collect();
        Ok::<_, ApiError>(list_page_bytes("reports", &page, picked.len(), &resume))
    })?;
    Ok(json_response(body))
}

fn get_side(st: ApiState, p: PathR, side: Side) -> ApiResult {
    let key = path_id(&params(p)?);
    let item = st.sim.with_world_read(|w| {
        let log = side.reports(synciq(w, &st)?);
        let i = log
            .all()
            .iter()
            .rposition(|r| r.id == key)
            .ok_or_else(|| ApiError::not_found(format!("Report {key} not found")))?;
        Ok::<_, ApiError>(side.rendered(log, i, w.epoch))
    })?;
    // `{"reports": [item]}`, as the single-GET envelope serialises.
    Ok(json_response(list_page_bytes_single("reports", &item)))
}

/// `{"<key>":[item]}` from a serialised item.
fn list_page_bytes_single(key: &str, item: &Bytes) -> Bytes {
    let mut b = Vec::with_capacity(item.len() + key.len() + 8);
    b.extend_from_slice(b"{\"");
    b.extend_from_slice(key.as_bytes());
    b.extend_from_slice(b"\":[");
    b.extend_from_slice(item);
    b.extend_from_slice(b"]}");
    b.into()
}
