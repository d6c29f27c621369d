//! Shared machinery of the configuration routes: the field tables of the official clients'
//! models (`papi_fields.json`, generated from the `isilon-sdk` / `onefs-sdk` models by
//! `conformance/tools/gen.py`), input validation against them, rendering stored objects over
//! their defaults, resume-token pagination, and audit helpers.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, OnceLock};

use axum::extract::rejection::QueryRejection;
use axum::extract::Query;
use base64::Engine;
use serde_json::{json, Map, Value};

use super::{ApiError, ApiState};
use crate::audit::{AuditEntry, ReqCtx};
use crate::model::{valid_ifs_path, WorldState};

static TABLES: OnceLock<Value> = OnceLock::new();

fn tables() -> &'static Value {
    TABLES.get_or_init(|| {
        serde_json::from_str(include_str!("papi_fields.json")).unwrap_or(Value::Null)
    })
}

static EMPTY: OnceLock<Map<String, Value>> = OnceLock::new();

/// Every field the official client models know for `kind`, with a valid default.
pub(crate) fn fields(kind: &str) -> &'static Map<String, Value> {
    tables()["fields"][kind]
        .as_object()
        .unwrap_or_else(|| EMPTY.get_or_init(Map::new))
}

/// Allowed values of enum fields of `kind`.
pub(crate) fn enum_values(kind: &str, field: &str) -> Option<Vec<&'static str>> {
    tables()["enums"][kind][field]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
}

/// Render a stored object: defaults (non-null ones), then `extra`, then the object itself.
pub(crate) fn render(kind: &str, obj: &Map<String, Value>, computed: Value) -> Value {
    let mut m = Map::new();
    for (k, v) in fields(kind) {
        if !v.is_null() {
            m.insert(k.clone(), v.clone());
        }
    }
    for (k, v) in obj {
        m.insert(k.clone(), v.clone());
    }
    if let Value::Object(c) = computed {
        for (k, v) in c {
            m.insert(k, v);
        }
    }
    Value::Object(m)
}

/// [`render`] serialised, written straight from the defaults, the object and `computed`
/// without building the merged map: the same keys in the same order (the non-null
/// defaults in table order, then the object's other keys, then `computed`'s other keys)
/// with the same values (`computed` over the object over the defaults).
///
/// Why: configuration lists (shares above all) are read on most steps of a run, and the
/// body cache rarely holds them (clients' writes move the world's version); cloning every
/// default and field into a fresh map per item, per request, was most of such a read.
pub(crate) fn render_to_vec(kind: &str, obj: &Map<String, Value>, computed: &Value) -> Vec<u8> {
    let parts: Vec<(&str, Part<'_>)> = computed
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.as_str(), Part::Json(v)))
        .collect();
    render_parts_to_vec(kind, obj, &parts)
}

/// A computed field's value for [`render_parts_to_vec`]: a JSON value, or one already
/// serialised (a resource that writes a nested object straight to bytes).
#[derive(Clone, Copy, Debug)]
pub(crate) enum Part<'a> {
    Json(&'a Value),
    Raw(&'a [u8]),
}

impl Part<'_> {
    fn write(self, out: &mut Vec<u8>) {
        match self {
            // Writing into a `Vec` cannot fail.
            Part::Json(v) => {
                let _ = serde_json::to_writer(&mut *out, v);
            }
            Part::Raw(b) => out.extend_from_slice(b),
        }
    }
}

/// [`render_to_vec`] with the computed fields given in order as [`Part`]s (later entries of
/// the same key replace earlier ones in place, as inserting into a map does).
pub(crate) fn render_parts_to_vec(
    kind: &str,
    obj: &Map<String, Value>,
    computed: &[(&str, Part<'_>)],
) -> Vec<u8> {
    let kd = kind_defaults(kind);
    // Which defaults are overridden, and by what (`computed` over the object); the
    // object's other keys in order (their values possibly from `computed`); `computed`'s
    // keys that are neither.
    let mut over: Vec<Option<Part<'_>>> = vec![None; kd.entries.len()];
    let mut rest: Vec<(&str, Part<'_>)> = Vec::new();
    for (k, v) in obj {
        match kd.index.get(k.as_str()) {
            Some(&i) => over[i] = Some(Part::Json(v)),
            None => rest.push((k, Part::Json(v))),
        }
    }
    for &(k, v) in computed {
        if let Some(&i) = kd.index.get(k) {
            over[i] = Some(v);
        } else if let Some(slot) = rest.iter_mut().find(|(rk, _)| *rk == k) {
            slot.1 = v;
        } else {
            rest.push((k, v));
        }
    }
    let mut out = Vec::with_capacity(kd.bytes_hint + 64 * rest.len());
    out.push(b'{');
    // Writing into a `Vec` cannot fail.
    for (i, ((entry, key_len), v)) in kd.entries.iter().zip(&over).enumerate() {
        if i > 0 {
            out.push(b',');
        }
        match v {
            None => out.extend_from_slice(entry),
            Some(v) => {
                out.extend_from_slice(&entry[..*key_len]);
                v.write(&mut out);
            }
        }
    }
    for (i, (k, v)) in rest.iter().enumerate() {
        if i > 0 || !kd.entries.is_empty() {
            out.push(b',');
        }
        let _ = serde_json::to_writer(&mut out, k);
        out.push(b':');
        v.write(&mut out);
    }
    out.push(b'}');
    out
}

/// A kind's non-null defaults as [`render_to_vec`] writes them: in table order, each entry
/// serialised (`"k":v`) with the length of its `"k":` part, and each key's position.
struct KindDefaults {
    entries: Vec<(Vec<u8>, usize)>,
    index: HashMap<&'static str, usize>,
    bytes_hint: usize,
}

fn kind_defaults(kind: &str) -> &'static KindDefaults {
    static ALL: OnceLock<HashMap<&'static str, KindDefaults>> = OnceLock::new();
    static NONE: OnceLock<KindDefaults> = OnceLock::new();
    let all = ALL.get_or_init(|| {
        let mut all = HashMap::new();
        for (kind, f) in tables()["fields"].as_object().into_iter().flatten() {
            let Some(f) = f.as_object() else { continue };
            let mut kd = KindDefaults {
                entries: Vec::new(),
                index: HashMap::new(),
                bytes_hint: 2,
            };
            for (k, d) in f.iter().filter(|(_, d)| !d.is_null()) {
                let mut e = serde_json::to_vec(k).unwrap_or_default();
                e.push(b':');
                let key_len = e.len();
                let _ = serde_json::to_writer(&mut e, d);
                kd.bytes_hint += e.len() + 1;
                kd.index.insert(k.as_str(), kd.entries.len());
                kd.entries.push((e, key_len));
            }
            all.insert(kind.as_str(), kd);
        }
        all
    });
    all.get(kind).unwrap_or_else(|| {
        NONE.get_or_init(|| KindDefaults {
            entries: Vec::new(),
            index: HashMap::new(),
            bytes_hint: 2,
        })
    })
}

/// Add every non-null default of `kind` that `v` lacks (top level only).
pub(crate) fn fill_defaults(kind: &str, v: &mut Value) {
    if let Value::Object(m) = v {
        for (k, d) in missing_defaults(kind, m).list.iter() {
            m.insert((*k).clone(), (*d).clone());
        }
    }
}

/// The non-null defaults of `kind`, in table order, that an object with some key list
/// lacks.
#[derive(Debug)]
struct MissingDefaults {
    list: Vec<(&'static String, &'static Value)>,
}

type Missing = Arc<MissingDefaults>;

/// Most key lists remembered per kind (a renderer has one or two; past this, objects
/// with changing keys are worked out every time).
const MISSING_PER_KIND: usize = 16;

/// [`fill_defaults`]' list, worked out once per kind and key list: each SyncIQ renderer
/// writes the same keys every time, so checking ~90 table fields against the object per
/// rendering (a hash lookup each) was repeated work.
fn missing_defaults(kind: &str, m: &Map<String, Value>) -> Missing {
    type Memo = HashMap<String, Vec<(Vec<String>, Missing)>>;
    static MEMO: OnceLock<Mutex<Memo>> = OnceLock::new();
    let same_keys = |keys: &Vec<String>| {
        keys.len() == m.len() && keys.iter().zip(m.keys()).all(|(a, b)| a == b)
    };
    let memo = MEMO.get_or_init(Mutex::default);
    if let Some((_, found)) = crate::lock(memo)
        .get(kind)
        .and_then(|lists| lists.iter().find(|(keys, _)| same_keys(keys)))
    {
        return found.clone();
    }
    let list: Vec<(&'static String, &'static Value)> = fields(kind)
        .iter()
        .filter(|(k, d)| !d.is_null() && !m.contains_key(*k))
        .collect();
    let missing: Missing = Arc::new(MissingDefaults { list });
    let mut memo = crate::lock(memo);
    let lists = memo.entry(kind.to_string()).or_default();
    if lists.len() < MISSING_PER_KIND {
        lists.push((m.keys().cloned().collect(), missing.clone()));
    }
    missing
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

fn same_type(a: &Value, b: &Value) -> bool {
    matches!(
        (a, b),
        (Value::Null, _)
            | (Value::Bool(_), Value::Bool(_))
            | (Value::Number(_), Value::Number(_))
            | (Value::String(_), Value::String(_))
            | (Value::Array(_), Value::Array(_))
            | (Value::Object(_), Value::Object(_))
    )
}

/// Validate a create/update body against the field table of `kind`: unknown fields, JSON
/// types, enum values, `/ifs` paths (`path_fields`), and required fields.
pub(crate) fn validate(
    kind: &str,
    m: &Map<String, Value>,
    required: &[&str],
    read_only: &[&str],
    path_fields: &[&str],
) -> Result<(), ApiError> {
    let f = fields(kind);
    for (k, v) in m {
        let Some(default) = f.get(k) else {
            return Err(ApiError::bad_request(format!(
                "Field: {k} is not a valid field for this request"
            )));
        };
        if read_only.contains(&k.as_str()) {
            return Err(ApiError::bad_request(format!(
                "Field: {k} is read-only and may not be set"
            )));
        }
        if v.is_null() {
            continue;
        }
        if !same_type(default, v) {
            return Err(ApiError::bad_request(format!(
                "Field: {k} must be {}, got {}",
                json_type(default),
                json_type(v)
            )));
        }
        if let Some(allowed) = enum_values(kind, k) {
            let vals: Vec<&Value> = match v {
                Value::Array(a) => a.iter().collect(),
                other => vec![other],
            };
            for x in vals {
                if !x.as_str().is_some_and(|s| allowed.contains(&s)) {
                    return Err(ApiError::bad_request(format!(
                        "Field: {k}: invalid value {x} (expected one of {})",
                        allowed.join(", ")
                    )));
                }
            }
        }
        if let Value::Array(a) = v {
            if let Value::Array(d) = default {
                if let Some(Value::String(_)) = d.first() {
                    if a.iter().any(|x| !x.is_string()) {
                        return Err(ApiError::bad_request(format!(
                            "Field: {k} must be a list of strings"
                        )));
                    }
                }
            }
        }
        if let Some(n) = v.as_f64() {
            if default.is_u64() && (n < 0.0 || n.fract() != 0.0) {
                return Err(ApiError::bad_request(format!(
                    "Field: {k} must be a non-negative integer"
                )));
            }
        }
        if path_fields.contains(&k.as_str()) {
            let paths: Vec<&Value> = match v {
                Value::Array(a) => a.iter().collect(),
                other => vec![other],
            };
            for p in paths {
                let s = p.as_str().unwrap_or_default();
                if !valid_ifs_path(s) {
                    return Err(ApiError::bad_request(format!(
                        "Field: {k}: `{s}` must be an absolute path under /ifs"
                    )));
                }
            }
        }
    }
    for r in required {
        if m.get(*r).is_none_or(Value::is_null) {
            return Err(ApiError::bad_request(format!("Field: {r} is required")));
        }
    }
    Ok(())
}

pub(crate) fn str_field<'a>(m: &'a Map<String, Value>, k: &str) -> Option<&'a str> {
    m.get(k).and_then(Value::as_str)
}

// ------------------------------------------------------------------------- pagination

pub(crate) type QueryR = Result<Query<BTreeMap<String, String>>, QueryRejection>;

/// The effective query of a list request and the offset to start at. A `resume` token
/// carries the original query (other arguments are ignored, as on OneFS).
pub(crate) fn list_query(q: QueryR) -> Result<(BTreeMap<String, String>, usize), ApiError> {
    let Query(q) = q.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let Some(tok) = q.get("resume") else {
        return Ok((q, 0));
    };
    let bad = || ApiError::bad_request("Invalid resume token");
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(tok.as_bytes())
        .map_err(|_| bad())?;
    let v: Value = serde_json::from_slice(&raw).map_err(|_| bad())?;
    let offset = v["o"].as_u64().ok_or_else(bad)? as usize;
    let query: BTreeMap<String, String> =
        serde_json::from_value(v["q"].clone()).map_err(|_| bad())?;
    Ok((query, offset))
}

/// Reject query arguments not in `allowed` (as OneFS does on the bulk deletes).
pub(crate) fn check_query(q: &BTreeMap<String, String>, allowed: &[&str]) -> Result<(), ApiError> {
    match q.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(ApiError::bad_request(format!(
            "Query argument {k} is not valid for this request"
        ))),
        None => Ok(()),
    }
}

/// A boolean query argument (`true`/`false`, any case, or `1`/`0`).
pub(crate) fn query_bool(q: &BTreeMap<String, String>, k: &str) -> Result<Option<bool>, ApiError> {
    match q.get(k).map(|v| v.to_ascii_lowercase()) {
        None => Ok(None),
        Some(v) if v == "true" || v == "1" => Ok(Some(true)),
        Some(v) if v == "false" || v == "0" => Ok(Some(false)),
        Some(v) => Err(ApiError::bad_request(format!(
            "Query argument {k}: invalid value `{v}` (expected true or false)"
        ))),
    }
}

/// Sort list items by `?sort=<field>` and `?dir=ASC|DESC` (default ascending).
pub(crate) fn sort_items(
    items: &mut [Value],
    q: &BTreeMap<String, String>,
) -> Result<(), ApiError> {
    let desc = match q.get("dir").map(|d| d.to_ascii_uppercase()) {
        None => false,
        Some(d) if d == "ASC" => false,
        Some(d) if d == "DESC" => true,
        Some(d) => {
            return Err(ApiError::bad_request(format!(
                "Query argument dir: invalid value `{d}` (expected ASC or DESC)"
            )))
        }
    };
    if let Some(f) = q.get("sort") {
        if items.first().is_some_and(|i| i.get(f).is_none()) {
            return Err(ApiError::bad_request(format!(
                "Query argument sort: `{f}` is not a field of these items"
            )));
        }
        let key = |v: &Value| match &v[f.as_str()] {
            Value::String(s) => (0.0, s.clone()),
            Value::Number(n) => (n.as_f64().unwrap_or(0.0), String::new()),
            other => (0.0, other.to_string()),
        };
        items.sort_by(|a, b| {
            let (ka, kb) = (key(a), key(b));
            ka.0.total_cmp(&kb.0).then_with(|| ka.1.cmp(&kb.1))
        });
    }
    if desc {
        items.reverse();
    }
    Ok(())
}

/// `{"<key>": [...], "resume": null|token, "total": N}` for one page of `items`.
pub(crate) fn list_paged(
    key: &str,
    items: Vec<Value>,
    q: &BTreeMap<String, String>,
    offset: usize,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    list_page(key, items, q, offset).map(|v| axum::Json(v).into_response())
}

/// The body of [`list_paged`].
pub(crate) fn list_page(
    key: &str,
    items: Vec<Value>,
    q: &BTreeMap<String, String>,
    offset: usize,
) -> Result<Value, ApiError> {
    let (start, end, resume) = page_bounds(items.len(), q, offset)?;
    let total = items.len();
    let page: Vec<Value> = items.into_iter().skip(start).take(end - start).collect();
    let mut m = Map::new();
    m.insert(key.to_string(), Value::Array(page));
    m.insert("resume".into(), resume);
    m.insert("total".into(), json!(total));
    Ok(Value::Object(m))
}

/// The page of `total` items a list request shows: `start..end` and the `resume` token
/// (null on the last page).
pub(crate) fn page_bounds(
    total: usize,
    q: &BTreeMap<String, String>,
    offset: usize,
) -> Result<(usize, usize, Value), ApiError> {
    let limit = match q.get("limit") {
        None => None,
        Some(l) => match l.parse::<usize>() {
            Ok(n) if n >= 1 => Some(n),
            _ => {
                return Err(ApiError::bad_request(format!(
                    "Query argument limit: invalid value `{l}` (expected a positive integer)"
                )))
            }
        },
    };
    let start = offset.min(total);
    let end = limit.map_or(total, |l| start.saturating_add(l).min(total));
    let resume = if end < total {
        let tok = json!({"q": q, "o": end});
        Value::String(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(tok.to_string()))
    } else {
        Value::Null
    };
    Ok((start, end, resume))
}

/// The bytes [`list_page`] serialises to, from items already serialised: the page's
/// items are not rendered again when their bodies are kept.
pub(crate) fn list_page_bytes(
    key: &str,
    page: &[axum::body::Bytes],
    total: usize,
    resume: &Value,
) -> axum::body::Bytes {
    let mut b = Vec::with_capacity(page.iter().map(|i| i.len() + 1).sum::<usize>() + 64);
    // `key` as serde_json writes a map key.
    let _ = serde_json::to_writer(&mut b, &json!({ key: Value::Null }));
    b.truncate(b.len() - "null}".len());
    b.push(b'[');
    for (i, item) in page.iter().enumerate() {
        if i > 0 {
            b.push(b',');
        }
        b.extend_from_slice(item);
    }
    b.extend_from_slice(b"],\"resume\":");
    let _ = serde_json::to_writer(&mut b, resume);
    b.extend_from_slice(b",\"total\":");
    b.extend_from_slice(total.to_string().as_bytes());
    b.push(b'}');
    b.into()
}

// ------------------------------------------------------------------------- audit

pub(crate) fn audit(
    w: &mut WorldState,
    st: &ApiState,
    ctx: &ReqCtx,
    action: &str,
    object: &str,
    detail: Value,
) {
    let e = AuditEntry::new(w.now_ms, &st.cluster, &ctx.actor, action, object)
        .ctx(ctx)
        .detail(detail);
    w.push_audit(e);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The plain version: every non-null default the object lacks, checked field by field.
    fn fill_defaults_plain(kind: &str, v: &mut Value) {
        if let Value::Object(m) = v {
            for (k, d) in fields(kind) {
                if !d.is_null() && !m.contains_key(k) {
                    m.insert(k.clone(), d.clone());
                }
            }
        }
    }

    const KINDS: &[&str] = &["sync_report", "sync_job", "sync_policy", "target_policy"];

    /// Objects with some of the kind's fields and some unknown ones, in any order.
    fn object() -> impl Strategy<Value = (&'static str, Vec<(String, u8)>)> {
        prop::sample::select(KINDS).prop_flat_map(|kind| {
            let names: Vec<String> = fields(kind)
                .keys()
                .cloned()
                .chain(["x", "y"].map(String::from))
                .collect();
            (
                Just(kind),
                prop::collection::vec((prop::sample::select(names), 0u8..3), 0..12),
            )
        })
    }

    proptest! {
        /// The memoised list gives byte for byte what the field-by-field check gives, for
        /// repeated key lists (the memo hit) and new ones alike.
        #[test]
        fn fill_defaults_agrees_with_the_plain_version(objs in prop::collection::vec(object(), 1..6)) {
            for (kind, kv) in objs.iter().chain(objs.iter()) {
                let mut m = Map::new();
                for (k, x) in kv {
                    m.insert(k.clone(), json!(x));
                }
                let mut want = Value::Object(m.clone());
                fill_defaults_plain(kind, &mut want);
                let mut got = Value::Object(m);
                fill_defaults(kind, &mut got);
                prop_assert_eq!(got.to_string(), want.to_string());
            }
        }

        /// Writing a rendering straight to bytes gives the bytes of building it and
        /// serialising, for objects and computed fields that overlap the defaults, each
        /// other, or neither.
        #[test]
        fn render_to_vec_agrees_with_render(
            objs in prop::collection::vec(object(), 1..4),
            computed in prop::collection::vec(("[a-z_]{1,12}", 0u8..3), 0..4),
            computed_is_object in any::<bool>(),
        ) {
            for (kind, kv) in &objs {
                let mut m = Map::new();
                for (k, x) in kv {
                    m.insert(k.clone(), json!(x));
                }
                let mut c = Map::new();
                for (i, (k, x)) in computed.iter().enumerate() {
                    // Also fields of the kind and of the object.
                    let k = match i % 3 {
                        0 => fields(kind).keys().nth(usize::from(*x) * 7).cloned().unwrap_or(k.clone()),
                        1 => kv.first().map(|p| p.0.clone()).unwrap_or(k.clone()),
                        _ => k.clone(),
                    };
                    c.insert(k, json!(format!("c{x}")));
                }
                let c = if computed_is_object { Value::Object(c) } else { json!(3) };
                let want = serde_json::to_vec(&render(kind, &m, c.clone())).unwrap();
                prop_assert_eq!(
                    String::from_utf8(render_to_vec(kind, &m, &c)).unwrap(),
                    String::from_utf8(want).unwrap()
                );
            }
        }

        /// A page assembled from serialised items is the serialisation of `list_page`.
        #[test]
        fn list_page_bytes_agrees_with_list_page(
            n in 0usize..8,
            offset in 0usize..10,
            limit in prop::option::of(1usize..5),
        ) {
            let items: Vec<Value> = (0..n).map(|i| json!({"id": i, "s": format!("r\"{i}")})).collect();
            let mut q = BTreeMap::new();
            if let Some(l) = limit {
                q.insert("limit".to_string(), l.to_string());
            }
            let want = list_page("reports", items.clone(), &q, offset).expect("valid").to_string();
            let (start, end, resume) = page_bounds(items.len(), &q, offset).expect("valid");
            let page: Vec<axum::body::Bytes> = items[start..end]
                .iter()
                .map(|v| v.to_string().into())
                .collect();
            let got = list_page_bytes("reports", &page, items.len(), &resume);
            prop_assert_eq!(std::str::from_utf8(&got).expect("utf-8"), want);
        }
    }
}
