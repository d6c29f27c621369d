//! PAPI sessions: `POST /session/1/session` (→ 201, `Set-Cookie: isisessid=…` first, then
//! `isicsrf=…`), `GET` (who am I), `DELETE` (logout). A session authenticates later requests
//! through the `isisessid` cookie; state-changing requests must also carry
//! `X-CSRF-Token: <isicsrf>`. Sessions expire after `timeout_inactive` idle seconds or
//! `timeout_absolute` seconds in all (tokio time).
//!
//! Session ids and CSRF tokens come from the OS RNG, not the world's seeded RNG: logging in
//! must not perturb a deterministic world. Passwords are never stored or logged here.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use rand::Rng;
use serde_json::{json, Value};
use tokio::time::Instant;

use super::ApiError;
use crate::spec::UserSpec;

pub const TIMEOUT_ABSOLUTE_S: u64 = 14_400;
pub const TIMEOUT_INACTIVE_S: u64 = 900;

#[derive(Clone, Debug)]
struct Session {
    cluster: String,
    user: String,
    csrf: String,
    services: Vec<String>,
    created: Instant,
    last_used: Instant,
}

/// All sessions of a world, keyed by `isisessid`.
#[derive(Debug, Default)]
pub struct SessionStore {
    sessions: Mutex<BTreeMap<String, Session>>,
}

fn token(n: usize) -> String {
    const CH: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut r = rand::rng();
    (0..n)
        .map(|_| CH[r.random_range(0..CH.len())] as char)
        .collect()
}

fn cookie(h: &HeaderMap, name: &str) -> Option<String> {
    h.get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// Outcome of looking a request's session up.
pub(crate) enum SessionAuth {
    /// No `isisessid` cookie.
    None,
    Invalid(&'static str),
    Ok(String),
}

impl SessionStore {
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Session>> {
        crate::lock(&self.sessions)
    }

    fn expired(s: &Session, now: Instant) -> bool {
        now.duration_since(s.created) > Duration::from_secs(TIMEOUT_ABSOLUTE_S)
            || now.duration_since(s.last_used) > Duration::from_secs(TIMEOUT_INACTIVE_S)
    }

    /// Authenticate a request by its session cookie (and CSRF header when it changes state).
    pub(crate) fn authenticate(
        &self,
        cluster: &str,
        h: &HeaderMap,
        method: &Method,
    ) -> SessionAuth {
        let Some(id) = cookie(h, "isisessid") else {
            return SessionAuth::None;
        };
        let now = Instant::now();
        let mut m = self.lock();
        m.retain(|_, s| !Self::expired(s, now));
        let Some(s) = m.get_mut(&id) else {
            return SessionAuth::Invalid("session expired or invalid");
        };
        if s.cluster != cluster {
            return SessionAuth::Invalid("session expired or invalid");
        }
        let changes = !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS);
        if changes {
            let sent = h
                .get("x-csrf-token")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            if sent != s.csrf {
                return SessionAuth::Invalid("CSRF token missing or invalid");
            }
        }
        s.last_used = now;
        SessionAuth::Ok(s.user.clone())
    }

    /// `/session/1/session[/]` for one cluster.
    pub(crate) fn handle(
        &self,
        cluster: &str,
        users: &[UserSpec],
        method: &Method,
        h: &HeaderMap,
        body: &[u8],
        secure: bool,
    ) -> Response {
        match *method {
            Method::POST => self.login(cluster, users, body, secure),
            Method::GET => {
                let Some(id) = cookie(h, "isisessid") else {
                    return unauthorized("no session");
                };
                let now = Instant::now();
                let mut m = self.lock();
                m.retain(|_, s| !Self::expired(s, now));
                match m.get(&id).filter(|s| s.cluster == cluster) {
                    Some(s) => Json(json!({
                        "username": s.user, "services": s.services,
                        "timeout_absolute": TIMEOUT_ABSOLUTE_S.saturating_sub(now.duration_since(s.created).as_secs()),
                        "timeout_inactive": TIMEOUT_INACTIVE_S,
                    }))
                    .into_response(),
                    None => unauthorized("session expired or invalid"),
                }
            }
            Method::DELETE => {
                let Some(id) = cookie(h, "isisessid") else {
                    return unauthorized("no session");
                };
                let removed = self.lock().remove(&id).is_some();
                if removed {
                    StatusCode::NO_CONTENT.into_response()
                } else {
                    unauthorized("session expired or invalid")
                }
            }
            _ => ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                format!("Method {method} is not supported on /session/1/session"),
            )
            .into_response(),
        }
    }

    fn login(&self, cluster: &str, users: &[UserSpec], body: &[u8], secure: bool) -> Response {
        let v: Value = match serde_json::from_slice(body) {
            Ok(v @ Value::Object(_)) => v,
            _ => {
                return ApiError::bad_request(
                    "request body must be a JSON object with username and password",
                )
                .into_response()
            }
        };
        let (Some(u), Some(p)) = (v["username"].as_str(), v["password"].as_str()) else {
            return ApiError::bad_request("Field: username and password are required")
                .into_response();
        };
        let services: Vec<String> = match &v["services"] {
            Value::Null => vec!["platform".into()],
            Value::Array(a) if a.iter().all(Value::is_string) => a
                .iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect(),
            _ => {
                return ApiError::bad_request("Field: services must be a list of strings")
                    .into_response()
            }
        };
        let Some(user) = users.iter().find(|x| x.name == u && x.password == p) else {
            return unauthorized("Username or password is incorrect");
        };
        let id = token(32);
        let csrf = token(32);
        let now = Instant::now();
        self.lock().insert(
            id.clone(),
            Session {
                cluster: cluster.to_string(),
                user: user.name.clone(),
                csrf: csrf.clone(),
                services: services.clone(),
                created: now,
                last_used: now,
            },
        );
        let sec = if secure { "; Secure" } else { "" };
        let mut r = (
            StatusCode::CREATED,
            Json(json!({
                "services": services,
                "timeout_absolute": TIMEOUT_ABSOLUTE_S,
                "timeout_inactive": TIMEOUT_INACTIVE_S,
                "username": user.name,
            })),
        )
            .into_response();
        let h = r.headers_mut();
        for c in [
            format!("isisessid={id}; path=/; HttpOnly{sec}"),
            format!("isicsrf={csrf}; path=/{sec}"),
        ] {
            if let Ok(v) = HeaderValue::from_str(&c) {
                h.append(header::SET_COOKIE, v);
            }
        }
        r
    }
}

fn unauthorized(msg: &str) -> Response {
    ApiError::new(StatusCode::UNAUTHORIZED, msg).into_response()
}
