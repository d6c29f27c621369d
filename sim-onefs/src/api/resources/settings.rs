//! Singleton settings objects: `protocols/smb/settings/global`,
//! `protocols/nfs/settings/global` and `dedupe/settings` — `{"settings": {...}}` on GET, a
//! PUT merges the validated fields.

use axum::body::Bytes;
use axum::extract::State;
use axum::response::IntoResponse;
use axum::routing::{get as get_route, MethodRouter};
use axum::{Extension, Json};
use serde_json::{json, Value};

use super::super::collection::cfg_mut;
use super::super::objects::{audit, render, validate};
use super::super::{json_object, no_content, ApiResult, ApiState};
use crate::audit::ReqCtx;
use crate::config::{ConfigState, Obj};

/// A settings object: its field table, audit action, path fields and place in the config.
pub(crate) trait Settings: 'static {
    const KIND: &'static str;
    const AUDIT: &'static str;
    const PATHS: &'static [&'static str];
    fn get(c: &mut ConfigState) -> &mut Obj;
}

/// A settings type: name, field table, audit action, path fields, `ConfigState` field.
macro_rules! settings {
    ($name:ident, $kind:literal, $audit:expr, $paths:expr, $field:ident) => {
        pub(crate) struct $name;
        impl Settings for $name {
            const KIND: &'static str = $kind;
            const AUDIT: &'static str = $audit;
            const PATHS: &'static [&'static str] = $paths;
            fn get(c: &mut ConfigState) -> &mut Obj {
                &mut c.$field
            }
        }
    };
}

const PROTOCOL: &str = "protocol.settings.update";
settings!(SmbSettings, "smb_settings", PROTOCOL, &[], smb_settings);
settings!(NfsSettings, "nfs_settings", PROTOCOL, &[], nfs_settings);
settings!(
    DedupeSettings,
    "dedupe_settings",
    "dedupe.settings.update",
    &["paths", "assess_paths"],
    dedupe
);

async fn get<S: Settings>(State(st): State<ApiState>) -> ApiResult {
    st.sim.with_world(|w| {
        let o = S::get(cfg_mut(w, &st)?).clone();
        Ok(Json(json!({"settings": render(S::KIND, &o, Value::Null)})).into_response())
    })
}

async fn put<S: Settings>(
    State(st): State<ApiState>,
    Extension(ctx): Extension<ReqCtx>,
    body: Bytes,
) -> ApiResult {
    let m = json_object(&body)?;
    validate(S::KIND, &m, &[], &[], S::PATHS)?;
    st.sim.with_world(|w| {
        let o = S::get(cfg_mut(w, &st)?);
        for (k, v) in &m {
            o.insert(k.clone(), v.clone());
        }
        audit(w, &st, &ctx, S::AUDIT, S::KIND, Value::Object(m));
        Ok(no_content())
    })
}

/// `GET` and `PUT` of a settings route.
pub(crate) fn routes<S: Settings>() -> MethodRouter<ApiState> {
    get_route(get::<S>).put(put::<S>)
}
