//! `sync/reports[/{id}]`: finished jobs, newest first.
//! Query: `policy_name`, `newer_than` (days, as in OneFS), `limit`, `state`, `action`.

use std::collections::BTreeMap;

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};

use super::*;
use crate::clock::unix_s;
use crate::synciq::report_json;

pub(super) async fn list(
    State(st): State<ApiState>,
    q: Result<Query<BTreeMap<String, String>>, QueryRejection>,
) -> ApiResult {
    let (q, off) = super::objects::list_query(q)?;
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
        let c = w
            .cluster(&st.cluster)
            .ok_or_else(|| ApiError::not_found("cluster"))?;
        let items: Vec<_> = c
            .synciq
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
        super::objects::list_paged("reports", items, &q, off)
    })
}

pub(super) async fn get_one(
    State(st): State<ApiState>,
    p: Result<Path<BTreeMap<String, String>>, PathRejection>,
) -> ApiResult {
    let key = path_id(&p.map_err(|e| ApiError::bad_request(e.body_text()))?.0);
    st.sim.with_world(|w| {
        let c = w
            .cluster(&st.cluster)
            .ok_or_else(|| ApiError::not_found("cluster"))?;
        let r = c
            .synciq
            .reports
            .iter()
            .find(|r| r.id == key)
            .ok_or_else(|| ApiError::not_found(format!("Report {key} not found")))?;
        Ok(single_envelope("reports", report_json(r)))
    })
}
