//! Bearer-token authentication and roles.
//!
//! Tokens come from the config file by reference (`api.tokens[].token_env | token_file`).
//! `GET`/`HEAD` need any valid token (role `viewer` or `operator`); every other method needs
//! `operator`. Missing or unknown tokens get 401 (with `WWW-Authenticate: Bearer`), a viewer
//! trying to change something gets 403. Tokens are compared in constant time.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;

use super::{ApiError, AppState};
use crate::config::ApiRole;

/// A caller's role.
pub type Role = ApiRole;

/// The role of a bearer token, if it is one of ours.
pub fn role_of(state: &AppState, header: Option<&str>) -> Option<Role> {
    let token = header?.strip_prefix("Bearer ")?.trim();
    if token.is_empty() {
        return None;
    }
    let mut found = None;
    for t in &state.config.tokens {
        if bool::from(t.token.expose().as_bytes().ct_eq(token.as_bytes())) {
            found = Some(t.role);
        }
    }
    found
}

/// Middleware on the whole router: every path under `/api/` needs a token — also one that
/// no route matches (`/api/v1/`, `/api/v2/x`), so the API's shape is not revealed to an
/// anonymous caller (401 before 404).
pub async fn require_token_under_api(
    state: State<Arc<AppState>>,
    req: Request,
    next: Next,
) -> Response {
    if req.uri().path().starts_with("/api/") || req.uri().path() == "/api" {
        require_token(state, req, next).await
    } else {
        next.run(req).await
    }
}

/// Authenticate and authorize one `/api` request.
pub async fn require_token(
    State(state): State<Arc<AppState>>,
    req: Request,
    next: Next,
) -> Response {
    let header = req
        .headers()
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let Some(role) = role_of(&state, header) else {
        return ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "missing or invalid bearer token (Authorization: Bearer <token>)",
        )
        .into_response();
    };
    let read_only = matches!(*req.method(), Method::GET | Method::HEAD);
    if !read_only && role != Role::Operator {
        return ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "this token has the viewer role; starting, resuming or confirming runs needs an operator token",
        )
        .into_response();
    }
    next.run(req).await
}
