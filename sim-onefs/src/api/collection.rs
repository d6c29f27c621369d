//! The one resource pattern of the configuration routes: a generic collection of stored PAPI
//! objects (`ConfigState` maps of [`Obj`]) with list (`resume` paging), get, create, update
//! and delete, each writing its audit entry. A resource is a type implementing [`Resource`]
//! (one module per resource under `api/resources/`) and a route table entry
//! ([`list_routes`] / [`item_routes`]).
//!
//! Every operation runs the same steps in the same order, so errors take the same precedence
//! everywhere: path parameters, query ([`Resource::query`]), body (`json_object`, field-table
//! validation, [`Resource::check_body`]), then inside the world the scope
//! ([`Resource::scope`], e.g. the `?zone=` access zone), the object ([`Resource::find`]) and
//! the resource's own rules.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get as get_route, MethodRouter};
use axum::Json;
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Value};

use super::cache::{cached_bytes, cached_json};
use super::objects::{
    self, audit, check_query, list_page, list_page_bytes, list_query, page_bounds, validate, QueryR,
};
use super::{
    json_object, no_content, single_envelope_value, ApiError, ApiResult, ApiState, Caller,
};
use crate::audit::ReqCtx;
use crate::config::{ConfigState, Obj};
use crate::model::{Cluster, WorldState};

/// The operation a request performs on a collection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    List,
    Get,
    Create,
    Update,
    Delete,
}

/// What a request addresses: its path parameters, its (effective) query and list offset.
#[derive(Debug, Default)]
pub(crate) struct Req {
    pub params: BTreeMap<String, String>,
    pub query: BTreeMap<String, String>,
    pub offset: usize,
}

impl Req {
    /// Path parameter `k` (empty when absent).
    pub fn param(&self, k: &str) -> String {
        self.params.get(k).cloned().unwrap_or_default()
    }
    /// The `{id}` path parameter as the client wrote it.
    pub fn id(&self) -> String {
        self.param("id")
    }
}

/// A new object: where it is stored, what the audit entry says, the `id` the client gets.
pub(crate) struct Created<K> {
    pub key: K,
    pub obj: Obj,
    pub object: String,
    pub detail: Value,
    pub id: Value,
}

impl<K> Created<K> {
    /// `obj` stored at `key`, audited as `object` with the object as detail; 201 `{"id": id}`.
    pub fn new(key: K, object: impl ToString, id: Value, obj: Obj) -> Created<K> {
        Created {
            key,
            object: object.to_string(),
            detail: Value::Object(obj.clone()),
            obj,
            id,
        }
    }
}

/// What a resource's rules may touch inside the world: the cluster's configuration, the
/// world's random source (ids) and the request's scope.
pub(crate) struct Ctx<'a> {
    pub c: &'a mut ConfigState,
    pub rng: &'a mut ChaCha8Rng,
    pub scope: &'a Scope,
    /// The cluster's directories (read-only), for checks that a path exists.
    pub dirs: Dirs<'a>,
    /// The request's query arguments (`force`, `ignore_conflicts`, …).
    pub query: &'a BTreeMap<String, String>,
}

/// Which directories exist on a cluster. The model keeps files, not directories, so a
/// directory exists when OneFS would have it: `/ifs`, the path of a file or any of its
/// ancestors, a zone base path, anything under a SyncIQ policy's source root or a target
/// record's path (replication creates the whole tree, empty directories too), or the path of
/// a share or export already configured.
#[derive(Clone, Copy)]
pub(crate) struct Dirs<'a> {
    files: &'a BTreeMap<String, crate::model::FileEntry>,
    synciq: &'a crate::synciq::SyncIqState,
}

impl Dirs<'_> {
    pub fn exists(&self, c: &ConfigState, path: &str) -> bool {
        let path = path.trim_end_matches('/');
        if path == "/ifs" {
            return true;
        }
        let prefix = format!("{path}/");
        let has_file = self
            .files
            .range::<str, _>((
                std::ops::Bound::Included(prefix.as_str()),
                std::ops::Bound::Unbounded,
            ))
            .next()
            .is_some_and(|(k, _)| k.starts_with(&prefix))
            || self.files.contains_key(path);
        has_file
            || self
                .synciq
                .policies
                .values()
                .any(|p| crate::model::is_under(path, &p.source_root_path))
            || self.synciq.target_policies.covering(path).next().is_some()
            || c.configured_paths().any(|p| p == path)
    }
}

/// The static description of a resource (its row in the resource table).
pub(crate) struct Spec {
    /// Field table (`papi_fields.json`) of bodies and rendered objects.
    pub kind: &'static str,
    /// Envelope key of lists and single GETs.
    pub plural: &'static str,
    /// Audit action prefix (`<audit>.create|update|<delete>`).
    pub audit: &'static str,
    /// Audit action suffix of a delete.
    pub delete: &'static str,
    /// Fields a create body must have.
    pub required: &'static [&'static str],
    /// Fields a body may not set.
    pub read_only: &'static [&'static str],
    /// `/ifs` path fields of create and update bodies.
    pub create_paths: &'static [&'static str],
    pub update_paths: &'static [&'static str],
    /// Every request is scoped by `?zone=` (and reads its query).
    pub zoned: bool,
    /// Update/delete audit entries name the object as the client wrote its id (not its key).
    pub raw_id: bool,
    /// Audit action of `DELETE <collection>` (`/` + the whole action) and its query arguments.
    pub bulk: &'static str,
    pub bulk_args: &'static [&'static str],
    /// Zoned objects are keyed `zone␟name`.
    pub zone_keyed: bool,
}

impl Spec {
    pub const fn new(kind: &'static str, plural: &'static str, audit: &'static str) -> Spec {
        Spec {
            kind,
            plural,
            audit,
            delete: "delete",
            required: &[],
            read_only: &[],
            create_paths: &[],
            update_paths: &[],
            zoned: false,
            raw_id: false,
            bulk: "delete_all",
            bulk_args: &[],
            zone_keyed: false,
        }
    }
    pub const fn required(mut self, f: &'static [&'static str]) -> Spec {
        self.required = f;
        self
    }
    pub const fn read_only(mut self, f: &'static [&'static str]) -> Spec {
        self.read_only = f;
        self
    }
    /// Path fields of creates and updates.
    pub const fn paths(mut self, f: &'static [&'static str]) -> Spec {
        self.create_paths = f;
        self.update_paths = f;
        self
    }
    /// Path fields of creates only.
    pub const fn create_paths(mut self, f: &'static [&'static str]) -> Spec {
        self.create_paths = f;
        self
    }
    pub const fn zoned(mut self) -> Spec {
        self.zoned = true;
        self.raw_id = true;
        self
    }
    /// Zoned, and keyed `zone␟name`.
    pub const fn zone_keyed(mut self) -> Spec {
        self.zone_keyed = true;
        self.zoned()
    }
    /// `DELETE <collection>`: its audit action and query arguments.
    pub const fn bulk(mut self, action: &'static str, args: &'static [&'static str]) -> Spec {
        self.bulk = action;
        self.bulk_args = args;
        self
    }
    pub const fn raw_id(mut self) -> Spec {
        self.raw_id = true;
        self
    }
    pub const fn delete_action(mut self, a: &'static str) -> Spec {
        self.delete = a;
        self
    }
}

/// A request's query arguments.
pub(crate) type Query = BTreeMap<String, String>;

pub(crate) type PathR = Result<Path<BTreeMap<String, String>>, PathRejection>;

/// Path parameters (none on a route without any).
pub(crate) fn params(p: PathR) -> Result<BTreeMap<String, String>, ApiError> {
    match p {
        Ok(Path(m)) => Ok(m),
        Err(PathRejection::MissingPathParams(_)) => Ok(BTreeMap::new()),
        Err(e) => Err(ApiError::bad_request(e.body_text())),
    }
}

pub(crate) fn cluster<'a>(w: &'a WorldState, st: &ApiState) -> Result<&'a Cluster, ApiError> {
    w.cluster(&st.cluster)
        .ok_or_else(|| ApiError::not_found("cluster"))
}

pub(crate) fn cfg<'a>(w: &'a WorldState, st: &ApiState) -> Result<&'a ConfigState, ApiError> {
    Ok(&cluster(w, st)?.cfg)
}

pub(crate) fn cluster_mut<'a>(
    w: &'a mut WorldState,
    st: &ApiState,
) -> Result<&'a mut Cluster, ApiError> {
    w.cluster_mut(&st.cluster)
        .ok_or_else(|| ApiError::not_found("cluster"))
}

pub(crate) fn cfg_mut<'a>(
    w: &'a mut WorldState,
    st: &ApiState,
) -> Result<&'a mut ConfigState, ApiError> {
    Ok(&mut cluster_mut(w, st)?.cfg)
}

/// The access zone of a request: `?zone=` (default `System`), which must exist.
pub(crate) fn zone_arg(c: &ConfigState, q: &BTreeMap<String, String>) -> Result<String, ApiError> {
    let z = q.get("zone").cloned().unwrap_or_else(|| "System".into());
    c.zone_name(&z)
        .ok_or_else(|| ApiError::not_found(format!("Zone {z} not found")))
}

/// Whether a `zone␟name` key is in the scope's zone.
pub(crate) fn in_zone(scope: &Scope, key: &str) -> bool {
    key.strip_prefix(scope.zone())
        .is_some_and(|rest| rest.starts_with(crate::config::KEY_SEP))
}

/// `o[k]` (an object) extended by the fields of `v` (an object).
pub(crate) fn merge_object(o: &mut Obj, k: &str, v: &Value) {
    let mut t = o
        .get(k)
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    if let Value::Object(n) = v {
        t.extend(n.clone());
    }
    o.insert(k.to_string(), Value::Object(t));
}

/// Merge the fields of `m` (but `skip`) into `o`.
pub(crate) fn merge(o: &mut Obj, m: &Obj, skip: &[&str]) {
    for (k, v) in m {
        if !skip.contains(&k.as_str()) {
            o.insert(k.clone(), v.clone());
        }
    }
}

/// Move the object at `old` to `new`, merging `m` (but `skip`) into it.
pub(crate) fn merge_rekey<K: Ord>(
    map: &mut BTreeMap<K, Obj>,
    old: &K,
    new: K,
    m: &Obj,
    skip: &[&str],
) {
    if let Some(mut o) = map.remove(old) {
        merge(&mut o, m, skip);
        map.insert(new, o);
    }
}

/// What a request is scoped to, resolved in the world.
#[derive(Debug, Default)]
pub(crate) struct Scope {
    /// The `?zone=` access zone (zoned resources).
    pub zone: Option<String>,
    /// The parent object named by the path (e.g. a pool's subnet).
    pub parent: Option<String>,
}

impl Scope {
    pub fn zone(&self) -> &str {
        self.zone.as_deref().unwrap_or_default()
    }
}

/// `type Key = …; fn map…; fn map_mut…` of a resource stored in a `ConfigState` field.
macro_rules! stored_in {
    ($key:ty, $field:ident) => {
        type Key = $key;
        fn map(c: &crate::config::ConfigState) -> &std::collections::BTreeMap<$key, Obj> {
            &c.$field
        }
        fn map_mut(
            c: &mut crate::config::ConfigState,
        ) -> &mut std::collections::BTreeMap<$key, Obj> {
            &mut c.$field
        }
    };
}
pub(crate) use stored_in;

/// A kind of stored PAPI object and its rules.
pub(crate) trait Resource: 'static {
    /// Map key in `ConfigState`.
    type Key: Ord + Clone + ToString;
    const SPEC: Spec;

    fn map(c: &ConfigState) -> &BTreeMap<Self::Key, Obj>;
    fn map_mut(c: &mut ConfigState) -> &mut BTreeMap<Self::Key, Obj>;

    /// The effective query and list offset (default: lists and zoned resources read it).
    fn query(op: Op, _params: &BTreeMap<String, String>, q: QueryR) -> Result<Req, ApiError> {
        if op == Op::List || Self::SPEC.zoned {
            let (query, offset) = list_query(q)?;
            Ok(Req {
                query,
                offset,
                ..Req::default()
            })
        } else {
            Ok(Req::default())
        }
    }
    /// The parent object named by the path, which must exist.
    fn parent(_c: &ConfigState, _req: &Req) -> Result<Option<String>, ApiError> {
        Ok(None)
    }
    /// Whether a stored object is in a list response.
    fn listed(_scope: &Scope, _req: &Req, _key: &Self::Key, _o: &Obj) -> bool {
        true
    }
    /// Order a list response (default: by key).
    fn sort(_req: &Req, _items: &mut [Value]) -> Result<(), ApiError> {
        Ok(())
    }
    /// Whether [`Resource::sort`] reorders items (lists of such resources are rendered as
    /// `Value`s, to be sorted).
    const SORTS: bool = false;
    /// For a resource whose [`Resource::render`] is `objects::render(kind, o, computed)`:
    /// the kind and the computed fields, so a list can write each item's bytes directly
    /// ([`objects::render_to_vec`]). None (the default): the list serialises `render`.
    fn plain_parts(
        _cl: &Cluster,
        _scope: &Scope,
        _key: &Self::Key,
        _o: &Obj,
    ) -> Option<(&'static str, Value)> {
        None
    }
    /// A list item's bytes written directly: by default from [`Resource::plain_parts`];
    /// a resource with a cheaper way overrides it (None: the list serialises `render`).
    fn plain_bytes(cl: &Cluster, scope: &Scope, key: &Self::Key, o: &Obj) -> Option<Vec<u8>> {
        Self::plain_parts(cl, scope, key, o)
            .map(|(kind, computed)| objects::render_to_vec(kind, o, &computed))
    }
    fn find(c: &ConfigState, scope: &Scope, req: &Req) -> Result<Self::Key, ApiError>;
    fn render(cl: &Cluster, scope: &Scope, key: &Self::Key, o: &Obj) -> Value;
    /// Checks and normalisation of a body that need no world (after field validation).
    fn check_body(_op: Op, _req: &mut Req, _m: &mut Obj) -> Result<(), ApiError> {
        Ok(())
    }
    /// Check a create body against the world and build the object.
    fn create(_cx: Ctx<'_>, _m: Obj) -> Result<Created<Self::Key>, ApiError> {
        Err(ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            format!("{} cannot be created", Self::SPEC.plural),
        ))
    }
    /// Apply an update body (default: merge its fields); returns the audit detail.
    fn update(cx: Ctx<'_>, key: &Self::Key, m: Obj) -> Result<Value, ApiError> {
        if let Some(o) = Self::map_mut(cx.c).get_mut(key) {
            merge(o, &m, &[]);
        }
        Ok(Value::Object(m))
    }
    /// Checks of a `DELETE <collection>` query beyond its argument names.
    fn check_bulk(_q: &Query) -> Result<(), ApiError> {
        Ok(())
    }
    /// `DELETE <collection>`: delete what the query selects; the audit object and detail.
    fn delete_matching(_cx: Ctx<'_>, _q: &Query) -> Result<(String, Value), ApiError> {
        Err(ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            format!("{} cannot be deleted in bulk", Self::SPEC.plural),
        ))
    }
    /// Delete (default: remove it; the audit detail is `null`).
    fn delete(c: &mut ConfigState, _req: &Req, key: &Self::Key) -> Result<Value, ApiError> {
        Self::map_mut(c).remove(key);
        Ok(Value::Null)
    }
}

fn scope<R: Resource>(c: &ConfigState, req: &Req) -> Result<Scope, ApiError> {
    let zone = if R::SPEC.zoned {
        Some(zone_arg(c, &req.query)?)
    } else {
        None
    };
    Ok(Scope {
        zone,
        parent: R::parent(c, req)?,
    })
}

fn request<R: Resource>(op: Op, p: PathR, q: QueryR) -> Result<Req, ApiError> {
    let params = params(p)?;
    let mut req = R::query(op, &params, q)?;
    req.params = params;
    Ok(req)
}

/// The request and validated body of a create or update.
fn body_of<R: Resource>(op: Op, p: PathR, q: QueryR, body: &Bytes) -> Result<(Req, Obj), ApiError> {
    let mut req = request::<R>(op, p, q)?;
    let mut m = json_object(body)?;
    let (required, paths) = match op {
        Op::Create => (R::SPEC.required, R::SPEC.create_paths),
        _ => (&[][..], R::SPEC.update_paths),
    };
    validate(R::SPEC.kind, &m, required, R::SPEC.read_only, paths)?;
    R::check_body(op, &mut req, &mut m)?;
    Ok((req, m))
}

fn ctx_of<'a>(
    w: &'a mut WorldState,
    st: &ApiState,
    scope: &'a Scope,
    query: &'a BTreeMap<String, String>,
) -> Result<Ctx<'a>, ApiError> {
    let WorldState { clusters, rng, .. } = w;
    let cl = clusters
        .get_mut(&*st.cluster)
        .ok_or_else(|| ApiError::not_found("cluster"))?;
    let dirs = Dirs {
        files: &cl.files,
        synciq: &cl.synciq,
    };
    Ok(Ctx {
        c: &mut cl.cfg,
        rng,
        scope,
        dirs,
        query,
    })
}

fn audit_op<R: Resource>(
    w: &mut WorldState,
    st: &ApiState,
    ctx: &ReqCtx,
    scope: &Scope,
    op: &str,
    object: &str,
    detail: Value,
) {
    let mut ctx = ctx.clone();
    if let Some(z) = &scope.zone {
        ctx.zone.get_or_insert(z.clone());
    }
    let action = match op.strip_prefix('/') {
        Some(whole) => whole.to_string(),
        None => format!("{}.{op}", R::SPEC.audit),
    };
    audit(w, st, &ctx, &action, object, detail);
}

/// The object named by a request, with its scope.
fn locate<R: Resource>(
    w: &WorldState,
    st: &ApiState,
    req: &Req,
) -> Result<(Scope, R::Key), ApiError> {
    let c = cfg(w, st)?;
    let scope = scope::<R>(c, req)?;
    let key = R::find(c, &scope, req)?;
    Ok((scope, key))
}

fn audit_name<R: Resource>(req: &Req, key: &R::Key) -> String {
    if R::SPEC.raw_id {
        req.id()
    } else {
        key.to_string()
    }
}

/// `GET <collection>`: `{"<plural>": [...], "resume", "total"}`.
pub(crate) async fn list<R: Resource>(
    State(st): State<ApiState>,
    uri: http::Uri,
    p: PathR,
    q: QueryR,
) -> ApiResult {
    let req = request::<R>(Op::List, p, q)?;
    if !R::SORTS {
        // Each item written straight to bytes; the same body as below.
        return cached_bytes(&st, &uri, |w| {
            let cl = cluster(w, &st)?;
            let scope = scope::<R>(&cl.cfg, &req)?;
            let items: Vec<Bytes> = R::map(&cl.cfg)
                .iter()
                .filter(|(k, _)| !R::SPEC.zone_keyed || in_zone(&scope, &k.to_string()))
                .filter(|(k, o)| R::listed(&scope, &req, k, o))
                .map(|(k, o)| {
                    Bytes::from(match R::plain_bytes(cl, &scope, k, o) {
                        Some(b) => b,
                        None => {
                            serde_json::to_vec(&R::render(cl, &scope, k, o)).unwrap_or_default()
                        }
                    })
                })
                .collect();
            let (start, end, resume) = page_bounds(items.len(), &req.query, req.offset)?;
            Ok(list_page_bytes(
                R::SPEC.plural,
                &items[start..end],
                items.len(),
                &resume,
            ))
        });
    }
    // Configuration objects render from state alone (no clock): cacheable.
    cached_json(&st, &uri, |w| {
        let cl = cluster(w, &st)?;
        let scope = scope::<R>(&cl.cfg, &req)?;
        let mut items: Vec<Value> = R::map(&cl.cfg)
            .iter()
            .filter(|(k, _)| !R::SPEC.zone_keyed || in_zone(&scope, &k.to_string()))
            .filter(|(k, o)| R::listed(&scope, &req, k, o))
            .map(|(k, o)| R::render(cl, &scope, k, o))
            .collect();
        R::sort(&req, &mut items)?;
        list_page(R::SPEC.plural, items, &req.query, req.offset)
    })
}

/// `GET <collection>/{id}`: the plural key with a one-element list.
pub(crate) async fn get<R: Resource>(
    State(st): State<ApiState>,
    uri: http::Uri,
    p: PathR,
    q: QueryR,
) -> ApiResult {
    let req = request::<R>(Op::Get, p, q)?;
    cached_json(&st, &uri, |w| {
        let (scope, key) = locate::<R>(w, &st, &req)?;
        let cl = cluster(w, &st)?;
        let item = R::render(cl, &scope, &key, &R::map(&cl.cfg)[&key]);
        Ok(single_envelope_value(R::SPEC.plural, item))
    })
}

/// `POST <collection>`: 201 `{"id"}`.
pub(crate) async fn create<R: Resource>(call: Caller, p: PathR, q: QueryR, b: Bytes) -> ApiResult {
    let Caller { st, ctx } = call;
    let (req, m) = body_of::<R>(Op::Create, p, q, &b)?;
    st.sim.with_world(|w| {
        let scope = scope::<R>(cfg(w, &st)?, &req)?;
        let made = R::create(ctx_of(w, &st, &scope, &req.query)?, m)?;
        R::map_mut(cfg_mut(w, &st)?).insert(made.key, made.obj);
        audit_op::<R>(w, &st, &ctx, &scope, "create", &made.object, made.detail);
        Ok((StatusCode::CREATED, Json(json!({ "id": made.id }))).into_response())
    })
}

/// Find the object a request names, let `f` change it, audit `<audit>.<op>`: 204.
fn modify<R: Resource>(
    call: Caller,
    req: &Req,
    op: &str,
    f: impl FnOnce(Ctx<'_>, &R::Key) -> Result<Value, ApiError>,
) -> ApiResult {
    let Caller { st, ctx } = call;
    st.sim.with_world(|w| {
        let (scope, key) = locate::<R>(w, &st, req)?;
        let detail = f(ctx_of(w, &st, &scope, &req.query)?, &key)?;
        let object = audit_name::<R>(req, &key);
        audit_op::<R>(w, &st, &ctx, &scope, op, &object, detail);
        Ok(no_content())
    })
}

/// `PUT <collection>/{id}`: 204.
pub(crate) async fn update<R: Resource>(call: Caller, p: PathR, q: QueryR, b: Bytes) -> ApiResult {
    let (req, m) = body_of::<R>(Op::Update, p, q, &b)?;
    modify::<R>(call, &req, "update", |cx, key| R::update(cx, key, m))
}

/// `DELETE <collection>/{id}`: 204.
pub(crate) async fn delete<R: Resource>(call: Caller, p: PathR, q: QueryR) -> ApiResult {
    let req = request::<R>(Op::Delete, p, q)?;
    modify::<R>(call, &req, R::SPEC.delete, |cx, key| {
        R::delete(cx.c, &req, key)
    })
}

/// `DELETE <collection>` of the resources that have one: delete every object the query
/// selects ([`Resource::delete_matching`]), audited as one `Spec::bulk` entry.
pub(crate) async fn delete_all<R: Resource>(call: Caller, q: QueryR) -> ApiResult {
    let Caller { st, ctx } = call;
    let (query, _) = list_query(q)?;
    check_query(&query, R::SPEC.bulk_args)?;
    R::check_bulk(&query)?;
    let req = Req {
        query,
        ..Req::default()
    };
    st.sim.with_world(|w| {
        let scope = scope::<R>(cfg(w, &st)?, &req)?;
        let (object, detail) = R::delete_matching(ctx_of(w, &st, &scope, &req.query)?, &req.query)?;
        audit_op::<R>(w, &st, &ctx, &scope, R::SPEC.bulk, &object, detail);
        Ok(no_content())
    })
}

/// `GET` (list) and `POST` (create) of a collection route.
pub(crate) fn list_routes<R: Resource>() -> MethodRouter<ApiState> {
    get_route(list::<R>).post(create::<R>)
}

/// `GET`, `PUT` and `DELETE` of an item route.
pub(crate) fn item_routes<R: Resource>() -> MethodRouter<ApiState> {
    get_route(get::<R>).put(update::<R>).delete(delete::<R>)
}
