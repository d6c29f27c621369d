//! `sync/reports[/{id}]`: finished jobs, newest first.
//! Query: `policy_name`, `newer_than` (days, as in OneFS), `limit`, `state`, `action`.

use super::collection::PathR;
use super::objects::{list_paged, list_query, QueryR};
use super::sync_common::{get_of, synciq};
use super::sync_render::report_json;
use super::*;
use crate::clock::unix_s;

pub(super) async fn list(State(st): State<ApiState>, q: QueryR) -> ApiResult {
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
    st.sim.with_world(|w| {
        let now_s = unix_s(w.now_ms as i64);
        let items: Vec<_> = synciq(w, &st)?
            .reports
            .iter()
            .rev()
            .filter(|r| q.get("policy_name").is_none_or(|n| &r.policy_name == n))
            .filter(|r| q.get("state").is_none_or(|s| r.state.as_str() == s))
            .filter(|r| q.get("action").is_none_or(|a| r.action.as_str() == a))
            .filter(|r| {
                newer_than.is_none_or(|d| unix_s(r.start_ms) >= now_s - (d as i64) * 86_400)
            })
            .map(report_json)
            .collect::<Vec<_>>();
        list_paged("reports", items, &q, off)
    })
}

pub(super) async fn get_one(State(st): State<ApiState>, p: PathR) -> ApiResult {
    get_of(&st, p, "reports", |s, key, _| {
        s.reports
            .iter()
            .find(|r| r.id == key)
            .map(report_json)
            .ok_or_else(|| ApiError::not_found(format!("Report {key} not found")))
    })
}
