//! Clusters and their discovered inventory.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Serialize;

use super::{ApiError, AppState};

/// A configured cluster.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ClusterItem {
    pub name: String,
}

/// Configured clusters.
#[utoipa::path(get, path = "/api/v1/clusters", tag = "inventory",
    responses((status = 200, body = [ClusterItem]), (status = 401, body = super::ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_clusters(State(state): State<Arc<AppState>>) -> Json<Vec<ClusterItem>> {
    Json(
        state
            .clients
            .keys()
            .map(|n| ClusterItem { name: n.clone() })
            .collect(),
    )
}

/// Discover every configured cluster (identity, SyncIQ settings, policies).
#[utoipa::path(get, path = "/api/v1/inventory", tag = "inventory",
    responses((status = 200, description = "The inventory (same JSON as `dr discover --dump`)", body = Object),
              (status = 502, description = "A cluster could not be reached", body = super::ErrorBody)),
    security(("bearer" = [])))]
pub async fn discover(
    State(state): State<Arc<AppState>>,
) -> Result<Json<crate::inventory::Inventory>, ApiError> {
    crate::runner::discover(&state.clients)
        .await
        .map(Json)
        .map_err(|e| {
            ApiError::new(
                StatusCode::BAD_GATEWAY,
                "bad_gateway",
                format!("discovery failed: {e}"),
            )
        })
}
