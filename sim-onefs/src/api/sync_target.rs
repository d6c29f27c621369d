//! `sync/target/policies[/{id|name}]`: the target-side records of policies replicating here.

use std::collections::BTreeMap;

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};

use super::*;
use crate::synciq::target_policy_json;

pub(super) async fn list(State(st): State<ApiState>, q: super::objects::QueryR) -> ApiResult {
    let (q, off) = super::objects::list_query(q)?;
    let items = st.sim.with_world(|w| {
        w.cluster(&st.cluster)
            .map(|c| {
                c.synciq
                    .target_policies
                    .values()
                    .map(target_policy_json)
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
    });
    super::objects::list_paged("policies", items, &q, off)
}

pub(super) async fn get_one(
    State(st): State<ApiState>,
    p: Result<Path<BTreeMap<String, String>>, PathRejection>,
) -> ApiResult {
    let key = path_id(&p.map_err(|e| ApiError::bad_request(e.body_text()))?.0);
    st.sim.with_world(|w| {
        let s = &w
            .cluster(&st.cluster)
            .ok_or_else(|| ApiError::not_found("cluster"))?
            .synciq;
        let id = s
            .target_policy_id(&key)
            .ok_or_else(|| ApiError::not_found(format!("Target policy {key} not found")))?;
        Ok(single_envelope(
            "policies",
            target_policy_json(&s.target_policies[&id]),
        ))
    })
}
