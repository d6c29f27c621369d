//! The OpenAPI 3.1 document, generated with utoipa from the handlers' annotations. The
//! `RunSpec` schema is the same JSON Schema that `drill schema` publishes for a scenario's
//! `run:` section (schemars), merged into the document's components.

use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::inventory::ClusterItem;
use super::runs::{ConfirmRequest, RunAccepted, StreamEvent};
use super::{ErrorBody, ErrorDetail};

struct Bearer;

impl Modify for Bearer {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let comps = doc.components.get_or_insert_with(Default::default);
        comps.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "dr serve", description = "Failover orchestrator REST API. Bearer tokens: role `viewer` may read, `operator` may also start, resume and confirm runs."),
    paths(
        super::inventory::list_clusters,
        super::inventory::discover,
        super::plans::plan,
        super::plans::estimate,
        super::plans::readiness,
        super::runs::start,
        super::runs::start_failover,
        super::runs::start_failback,
        super::runs::start_rehearsal,
        super::runs::list,
        super::runs::get_run,
        super::runs::get_plan,
        super::runs::get_report,
        super::runs::events,
        super::runs::confirm,
        super::runs::resume,
        super::config_sync::sync,
        super::config_sync::jobs,
    ),
    components(schemas(ErrorBody, ErrorDetail, ClusterItem, RunAccepted, ConfirmRequest, StreamEvent,
        crate::config_repl::SyncRequest, crate::config_repl::SyncSummary,
        crate::config_repl::SyncResult, crate::config_repl::Job, crate::config_repl::JobState)),
    modifiers(&Bearer),
)]
struct ApiDoc;

/// The document as JSON (with the `RunSpec` schema merged in).
pub fn document() -> serde_json::Value {
    let mut v = serde_json::to_value(ApiDoc::openapi()).unwrap_or_default();
    let mut spec =
        serde_json::to_value(schemars::schema_for!(crate::run_spec::RunSpec)).unwrap_or_default();
    let defs = spec
        .as_object_mut()
        .and_then(|o| o.remove("$defs"))
        .unwrap_or_default();
    if let Some(o) = spec.as_object_mut() {
        o.remove("$schema");
    }
    // schemars refers to `#/$defs/X`; in the document they live in components/schemas.
    let fix = |v: serde_json::Value| -> serde_json::Value {
        let s = serde_json::to_string(&v).unwrap_or_default();
        serde_json::from_str(&s.replace("#/$defs/", "#/components/schemas/")).unwrap_or_default()
    };
    if let Some(schemas) = v
        .pointer_mut("/components/schemas")
        .and_then(|s| s.as_object_mut())
    {
        schemas.insert("RunSpec".into(), fix(spec));
        if let serde_json::Value::Object(d) = defs {
            for (k, x) in d {
                schemas.entry(k).or_insert(fix(x));
            }
        }
    }
    v
}

/// `GET /openapi.json`.
pub async fn serve_doc() -> Json<serde_json::Value> {
    Json(document())
}
