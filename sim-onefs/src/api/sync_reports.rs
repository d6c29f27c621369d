//! `sync/reports[/{id}]` (jobs this cluster ran) and `sync/target/reports[/{id}]` (jobs that
//! replicated into this cluster, the target side's record with the job's error text), newest
//! first. Query: `policy_name`, `newer_than` (days, as in OneFS), `limit`, `state`, `action`,
//! `reports_per_policy` (the N most recent per policy; as in OneFS it defaults to 1 when the
//! request has no other query argument).

use super::collection::PathR;
use super::objects::{list_paged, list_query, QueryR};
use super::sync_common::{get_of, synciq};
use super::sync_render::{report_json, target_report_json};
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
    st.sim.with_world_read(|w| {
        let ep = w.epoch;
        let now_s = ep.unix_s(w.now_ms as i64);
        let mut seen_per_policy = std::collections::BTreeMap::new();
        let s = synciq(w, &st)?;
        let log = side.reports(s);
        // Newest first; one policy's from its index.
        let newest_first: Box<dyn Iterator<Item = &Report>> = match q.get("policy_name") {
            Some(n) => Box::new(log.of_policy(n).rev()),
            None => Box::new(log.all().iter().rev()),
        };
        let items: Vec<_> = newest_first
            .filter(|r| q.get("state").is_none_or(|s| r.state.as_str() == s))
            .filter(|r| q.get("action").is_none_or(|a| r.action.as_str() == a))
            .filter(|r| {
                newer_than.is_none_or(|d| ep.unix_s(r.start_ms) >= now_s - (d as i64) * 86_400)
            })
            .filter(|r| {
                let Some(n) = per_policy else { return true };
                let seen = seen_per_policy
                    .entry(r.policy_name.as_str())
                    .or_insert(0u64);
                *seen += 1;
                *seen <= n
            })
            .map(|r| side.render(r, ep))
            .collect::<Vec<_>>();
        list_paged("reports", items, &q, off)
    })
}

fn get_side(st: ApiState, p: PathR, side: Side) -> ApiResult {
    get_of(&st, None, p, "reports", |s, key, now| {
        side.reports(s)
            .all()
            .iter()
            .rev()
            .find(|r| r.id == key)
            .map(|r| side.render(r, now.ep))
            .ok_or_else(|| ApiError::not_found(format!("Report {key} not found")))
    })
}
