//! `quota/quotas[/{id}]`: quotas, keyed by their 32-character id; usage is computed from the
//! cluster's files. Also the bulk `DELETE quota/quotas?…`.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use super::super::collection::{
    merge_object, stored_in, zone_arg, Created, Ctx, Op, Query, Req, Resource, Scope, Spec,
};
use super::super::objects::{enum_values, query_bool, render, str_field};
use super::super::ApiError;
use crate::config::{ConfigState, Obj};
use crate::model::{is_under, random_hex, valid_ifs_path, Cluster, FileEntry};

pub(crate) struct Quotas;

/// The threshold fields OneFS sends on every quota, unset ones as `null` (Dell's PAPI schema
/// and the isilon-sdk models list them), in their order.
const THRESHOLD_KEYS: [&str; 6] = [
    "hard",
    "soft",
    "advisory",
    "soft_grace",
    "percent_advisory",
    "percent_soft",
];

/// Create arguments that are not stored.
const TRANSIENT: &[&str] = &[
    "force",
    "ignore_limit_checks",
    "thresholds_include_overhead",
];

fn check_thresholds(m: &Map<String, Value>) -> Result<(), ApiError> {
    let Some(t) = m.get("thresholds") else {
        return Ok(());
    };
    let t = t
        .as_object()
        .ok_or_else(|| ApiError::bad_request("Field: thresholds must be an object"))?;
    for (k, v) in t {
        let ok_key = matches!(
            k.as_str(),
            "hard" | "soft" | "advisory" | "soft_grace" | "percent_advisory" | "percent_soft"
        );
        if !ok_key {
            return Err(ApiError::bad_request(format!(
                "Field: thresholds.{k} is not a valid field"
            )));
        }
        if !(v.is_null() || v.is_u64() || (k.starts_with("percent") && v.is_number())) {
            return Err(ApiError::bad_request(format!(
                "Field: thresholds.{k} must be a non-negative integer"
            )));
        }
    }
    let g = |k: &str| t.get(k).and_then(Value::as_u64);
    if g("soft").is_some() && g("soft_grace").is_none() {
        return Err(ApiError::bad_request(
            "Field: thresholds.soft_grace is required with a soft threshold",
        ));
    }
    for lower in ["soft", "advisory"] {
        if let (Some(s), Some(h)) = (g(lower), g("hard")) {
            if s > h {
                return Err(ApiError::bad_request(format!(
                    "Field: thresholds.{lower} must not exceed thresholds.hard"
                )));
            }
        }
    }
    Ok(())
}

fn persona_key(o: &Map<String, Value>) -> String {
    o.get("persona")
        .and_then(Value::as_object)
        .map(|p| {
            str_field(p, "id")
                .or_else(|| str_field(p, "name"))
                .unwrap_or_default()
                .to_string()
        })
        .unwrap_or_default()
}

fn quota_json(cl: &Cluster, id: &str, o: &Obj) -> Value {
    render("quota", o, quota_computed(cl, id, o))
}

/// The fields a quota's JSON computes (usage from the cluster's files, every threshold
/// field, …) over its stored ones: [`quota_json`] is `render("quota", o, computed)`, so a
/// list writes each item straight to bytes ([`Resource::plain_parts`]).
fn quota_computed(cl: &Cluster, id: &str, o: &Obj) -> Value {
    let (bytes, files, ready) = usage_of(cl, o);
    let usage = json!({
        "applogical": bytes, "applogical_ready": ready, "fslogical": bytes, "fslogical_ready": ready,
        "fsphysical": bytes, "fsphysical_ready": ready, "inodes": files, "inodes_ready": ready,
        "physical": bytes, "physical_data": bytes, "physical_data_ready": ready,
        "physical_protection": 0, "physical_protection_ready": ready, "physical_ready": ready,
        "shadow_refs": 0, "shadow_refs_ready": ready,
    });
    // Unset thresholds are `null` (OneFS sends every threshold field, as Dell's PAPI schema
    // and the isilon-sdk models list them).
    let mut th = Map::new();
    for k in THRESHOLD_KEYS {
        th.insert(k.into(), Value::Null);
    }
    if let Some(Value::Object(t)) = o.get("thresholds") {
        for (k, v) in t {
            th.insert(k.clone(), v.clone());
        }
    }
    for k in ["hard", "soft", "advisory"] {
        th.insert(format!("{k}_exceeded"), json!(false));
        th.insert(format!("{k}_last_exceeded"), Value::Null);
    }
    th.insert("soft_exceeded".into(), json!(false));
    let mut computed = json!({"id": id, "usage": usage, "ready": ready, "notifications": "default",
                              "thresholds": th, "linked": false});
    // A directory quota has no persona: `null`, not absent (Dell's PAPI schema requires it).
    if o.get("persona").is_none() {
        computed["persona"] = Value::Null;
    }
    computed
}

/// Bytes and files under the quota's path, and whether its accounting is ready.
fn usage_of(cl: &Cluster, o: &Obj) -> (u64, u64, bool) {
    let path = str_field(o, "path").unwrap_or_default();
    let (bytes, files) = usage_under(&cl.files, path);
    // `ready: false` = the accounting waits on a QuotaScan job (set by the world's spec).
    let ready = o.get("ready").and_then(Value::as_bool).unwrap_or(true);
    (bytes, files, ready)
}

/// Total bytes and number of the files `k` with `k.starts_with(path) && is_under(k, path)`
/// (the files under the quota's path, `path` itself included when it names a file).
///
/// Why not a filtered scan: every quota render asked this, and comparing each key under
/// the path twice (prefix, then `is_under`) was most of a quota list. The keys under a
/// directory `r` are `r` itself and the range `r/ ..< r0` (`'0'` is the byte after `'/'`),
/// so two searches bound the range and its walk compares no key.
fn usage_under(files: &BTreeMap<String, FileEntry>, path: &str) -> (u64, u64) {
    use std::ops::Bound::{Excluded, Included};
    let root = path.trim_end_matches('/');
    let sum = |lo: &str, hi: &str| {
        files
            .range::<str, _>((Included(lo), Excluded(hi)))
            .fold((0u64, 0u64), |(b, n), (_, f)| (b + f.size_bytes, n + 1))
    };
    if root.len() == path.len() {
        // `root` itself, then everything below `root/`.
        let (b, n) = sum(&[root, "/"].concat(), &[root, "0"].concat());
        match files.get(root) {
            Some(f) => (b + f.size_bytes, n + 1),
            None => (b, n),
        }
    } else {
        // `path` ends in `/`: every key starting with it is under `root`.
        let stem = &path[..path.len() - 1];
        sum(path, &[stem, "0"].concat())
    }
}

/// The simple scan [`usage_under`] replaces (kept for its test).
#[cfg(test)]
fn usage_under_scan(files: &BTreeMap<String, FileEntry>, path: &str) -> (u64, u64) {
    files
        .range::<str, _>((std::ops::Bound::Included(path), std::ops::Bound::Unbounded))
        .take_while(|(k, _)| k.starts_with(path))
        .filter(|(k, _)| is_under(k, path))
        .fold((0u64, 0u64), |(b, n), (_, f)| (b + f.size_bytes, n + 1))
}

/// A list item's bytes: [`render_to_vec`](super::super::objects::render_to_vec) of
/// [`quota_computed`], with its `usage` and `thresholds` objects written straight to
/// bytes in the same key order (`usage` is the same 16 keys for every quota;
/// `thresholds` is the six threshold fields, the stored ones over them, then the
/// `*_exceeded` flags).
///
/// Why: quotas are listed on every config-replication read, and building those two maps
/// (a string key and a hash per field) per quota per request was most of such a list.
fn quota_bytes(cl: &Cluster, id: &str, o: &Obj) -> Vec<u8> {
    use super::super::objects::Part;
    let (bytes, files, ready) = usage_of(cl, o);
    let mut usage = Vec::with_capacity(512);
    let b = bytes.to_string();
    let r: &str = if ready { "true" } else { "false" };
    usage.push(b'{');
    for (i, (k, v)) in [
        ("applogical", b.as_str()),
        ("applogical_ready", r),
        ("fslogical", &b),
        ("fslogical_ready", r),
        ("fsphysical", &b),
        ("fsphysical_ready", r),
        ("inodes", &files.to_string()),
        ("inodes_ready", r),
        ("physical", &b),
        ("physical_data", &b),
        ("physical_data_ready", r),
        ("physical_protection", "0"),
        ("physical_protection_ready", r),
        ("physical_ready", r),
        ("shadow_refs", "0"),
        ("shadow_refs_ready", r),
    ]
    .iter()
    .enumerate()
    {
        if i > 0 {
            usage.push(b',');
        }
        usage.push(b'"');
        usage.extend_from_slice(k.as_bytes());
        usage.extend_from_slice(b"\":");
        usage.extend_from_slice(v.as_bytes());
    }
    usage.push(b'}');

    // The thresholds map as `quota_computed` builds it: insertion order, a later insert of
    // a key replacing its value in place.
    let null = Part::Raw(b"null");
    let fals = Part::Raw(b"false");
    let mut th: Vec<(&str, Part<'_>)> = THRESHOLD_KEYS.iter().map(|&k| (k, null)).collect();
    fn set<'a>(th: &mut Vec<(&'a str, Part<'a>)>, k: &'a str, v: Part<'a>) {
        match th.iter_mut().find(|(x, _)| *x == k) {
            Some(slot) => slot.1 = v,
            None => th.push((k, v)),
        }
    }
    if let Some(Value::Object(t)) = o.get("thresholds") {
        for (k, v) in t {
            set(&mut th, k.as_str(), Part::Json(v));
        }
    }
    for (e, l) in [
        ("hard_exceeded", "hard_last_exceeded"),
        ("soft_exceeded", "soft_last_exceeded"),
        ("advisory_exceeded", "advisory_last_exceeded"),
    ] {
        set(&mut th, e, fals);
        set(&mut th, l, null);
    }
    set(&mut th, "soft_exceeded", fals);
    let mut thresholds = Vec::with_capacity(512);
    thresholds.push(b'{');
    for (i, (k, v)) in th.iter().enumerate() {
        if i > 0 {
            thresholds.push(b',');
        }
        // Writing into a `Vec` cannot fail.
        let _ = serde_json::to_writer(&mut thresholds, k);
        thresholds.push(b':');
        match v {
            Part::Json(v) => {
                let _ = serde_json::to_writer(&mut thresholds, v);
            }
            Part::Raw(b) => thresholds.extend_from_slice(b),
        }
    }
    thresholds.push(b'}');

    let id_json = serde_json::to_vec(id).unwrap_or_default();
    let mut parts: Vec<(&str, Part<'_>)> = vec![
        ("id", Part::Raw(&id_json)),
        ("usage", Part::Raw(&usage)),
        ("ready", Part::Raw(r.as_bytes())),
        ("notifications", Part::Raw(b"\"default\"")),
        ("thresholds", Part::Raw(&thresholds)),
        ("linked", fals),
    ];
    // A directory quota has no persona: `null`, not absent (Dell's PAPI schema requires it).
    if o.get("persona").is_none() {
        parts.push(("persona", null));
    }
    super::super::objects::render_parts_to_vec("quota", o, &parts)
}

impl Resource for Quotas {
    const SPEC: Spec = Spec::new("quota", "quotas", "quota")
        .required(&["path", "type"])
        .read_only(&[
            "id",
            "usage",
            "ready",
            "linked",
            "notifications",
            "efficiency_ratio",
            "reduction_ratio",
        ])
        .create_paths(&["path"])
        .bulk("/quota.delete_matching", QUOTA_DELETE_ARGS);

    stored_in!(String, quotas);
    fn listed(_scope: &Scope, req: &Req, _key: &String, o: &Obj) -> bool {
        ["path", "type"]
            .iter()
            .all(|f| req.query.get(*f).is_none_or(|v| str_field(o, f) == Some(v)))
    }
    fn find(c: &ConfigState, _scope: &Scope, req: &Req) -> Result<String, ApiError> {
        let id = req.id();
        if c.quotas.contains_key(&id) {
            Ok(id)
        } else {
            Err(ApiError::not_found(format!("Quota {id} not found")))
        }
    }
    fn render(cl: &Cluster, _scope: &Scope, key: &String, o: &Obj) -> Value {
        quota_json(cl, key, o)
    }
    fn plain_parts(
        cl: &Cluster,
        _scope: &Scope,
        key: &String,
        o: &Obj,
    ) -> Option<(&'static str, Value)> {
        Some(("quota", quota_computed(cl, key, o)))
    }
    fn plain_bytes(cl: &Cluster, _scope: &Scope, key: &String, o: &Obj) -> Option<Vec<u8>> {
        Some(quota_bytes(cl, key, o))
    }
    fn check_body(op: Op, _req: &mut Req, m: &mut Obj) -> Result<(), ApiError> {
        if op == Op::Update {
            for k in ["path", "type", "persona", "include_snapshots"] {
                if m.contains_key(k) {
                    return Err(ApiError::bad_request(format!(
                        "Field: {k} may not be changed on an existing quota"
                    )));
                }
            }
            return check_thresholds(m);
        }
        check_thresholds(m)?;
        let ty = str_field(m, "type").unwrap_or_default();
        if matches!(ty, "user" | "group") && persona_key(m).is_empty() {
            return Err(ApiError::bad_request(format!(
                "Field: persona is required for {ty} quotas"
            )));
        }
        for k in TRANSIENT {
            m.remove(*k);
        }
        Ok(())
    }
    fn create(cx: Ctx<'_>, m: Obj) -> Result<Created<String>, ApiError> {
        let Ctx { c, rng, .. } = cx;
        let path = str_field(&m, "path").unwrap_or_default();
        let ty = str_field(&m, "type").unwrap_or_default();
        let pk = persona_key(&m);
        if c.quotas.values().any(|o| {
            str_field(o, "path") == Some(path)
                && str_field(o, "type") == Some(ty)
                && persona_key(o) == pk
        }) {
            return Err(ApiError::conflict(format!(
                "A {ty} quota already exists on {path}"
            )));
        }
        let id = random_hex(rng, 32);
        Ok(Created::new(id.clone(), &id, json!(id), m))
    }
    fn update(cx: Ctx<'_>, key: &String, m: Obj) -> Result<Value, ApiError> {
        let Ctx { c, .. } = cx;
        let Some(o) = c.quotas.get_mut(key) else {
            return Ok(Value::Object(m));
        };
        for (k, v) in &m {
            if k == "thresholds" {
                merge_object(o, k, v);
            } else if !TRANSIENT.contains(&k.as_str()) {
                o.insert(k.clone(), v.clone());
            }
        }
        Ok(Value::Object(m))
    }
    fn delete(c: &mut ConfigState, _req: &Req, key: &String) -> Result<Value, ApiError> {
        let o = c.quotas.remove(key).unwrap_or_default();
        Ok(json!({"path": o.get("path")}))
    }
    /// Query checks of `DELETE quota/quotas[?path=&recurse_path_children=&type=&persona=…]`.
    fn check_bulk(q: &Query) -> Result<(), ApiError> {
        for k in [
            "enforced",
            "include_snapshots",
            "recurse_path_children",
            "recurse_path_parents",
        ] {
            query_bool(q, k)?;
        }
        if let Some(p) = q.get("path") {
            if !valid_ifs_path(p) {
                return Err(ApiError::bad_request(format!(
                    "Query argument path: `{p}` must be an absolute path under /ifs"
                )));
            }
        }
        if let Some(t) = q.get("type") {
            let ok = enum_values("quota", "type").is_none_or(|a| a.contains(&t.as_str()));
            if !ok {
                return Err(ApiError::bad_request(format!(
                    "Query argument type: invalid value `{t}`"
                )));
            }
        }
        if q.contains_key("persona") && !q.get("type").is_some_and(|t| t == "user" || t == "group")
        {
            return Err(ApiError::bad_request(
                "Query argument persona must be used with type=user or type=group",
            ));
        }
        Ok(())
    }
    /// Delete every quota matching the query (absent arguments match all).
    fn delete_matching(cx: Ctx<'_>, q: &Query) -> Result<(String, Value), ApiError> {
        let c = cx.c;
        if q.contains_key("zone") {
            zone_arg(c, q)?;
        }
        let enforced = query_bool(q, "enforced")?;
        let snaps = query_bool(q, "include_snapshots")?;
        let ids: Vec<String> = c
            .quotas
            .iter()
            .filter(|(_, o)| quota_matches(o, q, enforced, snaps))
            .map(|(id, _)| id.clone())
            .collect();
        let mut deleted = Vec::new();
        for id in &ids {
            if let Some(o) = c.quotas.remove(id) {
                deleted.push(json!({"id": id, "path": o.get("path")}));
            }
        }
        Ok(("quotas".into(), json!({"query": q, "deleted": deleted})))
    }
}

const QUOTA_DELETE_ARGS: &[&str] = &[
    "enforced",
    "include_snapshots",
    "path",
    "persona",
    "recurse_path_children",
    "recurse_path_parents",
    "type",
    "zone",
];

/// Whether a quota matches the `DELETE quota/quotas` query (absent arguments match all).
fn quota_matches(
    o: &Map<String, Value>,
    q: &BTreeMap<String, String>,
    enforced: Option<bool>,
    snaps: Option<bool>,
) -> bool {
    let opath = str_field(o, "path").unwrap_or_default();
    let flag = |k: &str| {
        q.get(k)
            .is_some_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
    };
    let path_ok = q.get("path").is_none_or(|p| {
        opath == p
            || (flag("recurse_path_children") && is_under(opath, p))
            || (flag("recurse_path_parents") && is_under(p, opath))
    });
    let persona_ok = q.get("persona").is_none_or(|want| {
        let have = persona_key(o);
        let bare = want.split_once(':').map_or(want.as_str(), |(_, v)| v);
        !have.is_empty() && (have.eq_ignore_ascii_case(want) || have.eq_ignore_ascii_case(bare))
    });
    let bool_ok = |want: Option<bool>, k: &str| {
        want.is_none_or(|e| o.get(k).and_then(Value::as_bool).unwrap_or(false) == e)
    };
    path_ok
        && persona_ok
        && q.get("type")
            .is_none_or(|t| str_field(o, "type") == Some(t))
        && bool_ok(enforced, "enforced")
        && bool_ok(snaps, "include_snapshots")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::objects::render_to_vec;

    mod usage {
        use super::super::{usage_under, usage_under_scan};
        use crate::model::FileEntry;
        use proptest::prelude::*;
        use std::collections::BTreeMap;

        /// Paths that sit next to each other in key order: a directory, its children, a
        /// sibling sharing its prefix (`d-x`, `d0`, `d.`), doubled and trailing slashes.
        fn path() -> impl Strategy<Value = String> {
            let part = prop::sample::select(vec!["d", "d-x", "d0", "d.", "x", "", "d/"]);
            prop::collection::vec(part, 0..4).prop_map(|ps| {
                let mut p = String::from("/ifs");
                for x in ps {
                    p.push('/');
                    p.push_str(x);
                }
                p
            })
        }

        proptest! {
            /// Over random file sets, quota paths (with or without a trailing `/`, the
            /// empty path, `/`) and random inserts/removes between reads, the bounded
            /// ranges count exactly the files the filtered scan counted.
            #[test]
            fn usage_under_is_the_scan(
                files in prop::collection::btree_map(path(), 0u64..1000, 0..40),
                edits in prop::collection::vec((path(), prop::option::of(0u64..1000)), 0..20),
                quotas in prop::collection::vec(
                    prop_oneof![path(), Just(String::new()), Just("/".to_string()),
                                path().prop_map(|p| p + "/")], 1..6),
            ) {
                let entry = |size_bytes| FileEntry { version: 1, size_bytes, mtime_ms: 0 };
                let mut files: BTreeMap<String, FileEntry> =
                    files.into_iter().map(|(k, b)| (k, entry(b))).collect();
                for (k, size) in edits {
                    for q in &quotas {
                        prop_assert_eq!(usage_under(&files, q), usage_under_scan(&files, q));
                    }
                    match size {
                        Some(b) => { files.insert(k, entry(b)); }
                        None => { files.remove(&k); }
                    }
                }
                for q in &quotas {
                    prop_assert_eq!(usage_under(&files, q), usage_under_scan(&files, q));
                }
            }
        }
    }

    /// A list item written from the computed fields is the bytes of the rendered quota:
    /// directory and user quotas, thresholds set or not, accounting ready or not, files
    /// under the quota or not.
    #[test]
    fn quota_computed_renders_as_quota_json() {
        let spec: crate::WorldSpec = serde_json::from_value(json!({
            "clusters": [{"name": "boston",
                "users": [{"name": "admin", "password": "pw", "role": "admin"}],
                "quotas": [{"path": "/ifs/data/eng", "hard_bytes": 10},
                           {"path": "/ifs/data/eng/sub", "soft_bytes": 5, "ready": false},
                           {"path": "/ifs/data/empty"}],
                "files": [{"root": "/ifs/data/eng", "count": 5, "size_bytes": 100},
                          {"root": "/ifs/data/eng/sub", "count": 3, "size_bytes": 7}]}]
        }))
        .unwrap();
        let w = crate::model::WorldState::from_spec(&spec, 7).unwrap();
        let mut cl = w.cluster("boston").unwrap().clone();
        let extra = [
            json!({"path": "/ifs/data/eng", "type": "user", "persona": {"id": "UID:1"},
                   "thresholds": {"hard": 100, "soft": 50, "soft_grace": 60}, "enforced": true}),
            json!({"path": "/ifs/data/eng", "type": "group", "persona": {"name": "g"},
                   "thresholds": {"advisory": null}, "ready": true, "id": "stale",
                   "usage": {"x": 1}, "linked": true, "zz_unknown": [1, 2]}),
            json!({"type": "directory"}),
        ];
        for (i, e) in extra.iter().enumerate() {
            cl.cfg
                .quotas
                .insert(format!("x{i}"), e.as_object().cloned().unwrap());
        }
        assert!(cl.cfg.quotas.len() >= 6);
        for (id, o) in &cl.cfg.quotas {
            let want = serde_json::to_vec(&quota_json(&cl, id, o)).unwrap();
            let got = render_to_vec("quota", o, &quota_computed(&cl, id, o));
            assert_eq!(
                String::from_utf8(got).unwrap(),
                String::from_utf8(want.clone()).unwrap()
            );
            let direct = quota_bytes(&cl, id, o);
            assert_eq!(
                String::from_utf8(direct).unwrap(),
                String::from_utf8(want).unwrap()
            );
        }
    }
}
