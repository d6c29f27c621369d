//! The audit log: every state change in the world, in order, with virtual time and the
//! request context (`x-dr-*` headers) that caused it. The invariant checker reads only this
//! (plus the final state), so entries must be complete and deterministic.

use serde::{Deserialize, Serialize};

/// Request context carried by the orchestrator's `x-dr-*` headers, plus the authenticated actor.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReqCtx {
    pub actor: String,
    pub run: Option<String>,
    pub step: Option<String>,
    pub policy: Option<String>,
    pub zone: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// 1-based position in the log.
    pub seq: u64,
    pub t_ms: u64,
    pub cluster: String,
    /// User name, `syncIQ`, `client:<name>` or `fault`.
    pub actor: String,
    pub run: Option<String>,
    pub step: Option<String>,
    pub policy: Option<String>,
    pub zone: Option<String>,
    pub action: String,
    pub object: String,
    /// `ok` or `error: …`
    pub result: String,
    pub detail: serde_json::Value,
}

impl AuditEntry {
    /// A new `ok` entry without context; `seq` is assigned when it is pushed.
    pub fn new(t_ms: u64, cluster: &str, actor: &str, action: &str, object: &str) -> AuditEntry {
        AuditEntry {
            seq: 0,
            t_ms,
            cluster: cluster.to_string(),
            actor: actor.to_string(),
            run: None,
            step: None,
            policy: None,
            zone: None,
            action: action.to_string(),
            object: object.to_string(),
            result: "ok".to_string(),
            detail: serde_json::Value::Null,
        }
    }

    /// Copy run/step/policy/zone from a request context (the actor is set separately).
    pub fn ctx(mut self, ctx: &ReqCtx) -> AuditEntry {
        self.run = ctx.run.clone();
        self.step = ctx.step.clone();
        self.policy = ctx.policy.clone();
        self.zone = ctx.zone.clone();
        self
    }

    pub fn error(mut self, msg: &str) -> AuditEntry {
        self.result = format!("error: {msg}");
        self
    }

    pub fn detail(mut self, detail: serde_json::Value) -> AuditEntry {
        self.detail = detail;
        self
    }
}

/// The world's audit log, stored compactly.
///
/// Entries are appended while the world runs and read back whole only at the end (the judge
/// and the trace go through [`AuditLog::entries`]), while the log is alive for the whole run:
/// as [`AuditEntry`] values, with about nine small strings and a JSON map each, it was one
/// of the largest parts of a large run's memory. A record here keeps its strings as ids
/// into one table of distinct strings (clusters, actors, run, steps, policies, actions,
/// objects and results repeat across entries) and its detail as its JSON text, so an entry
/// costs a few dozen bytes. [`AuditLog::entries`] gives back exactly the entries pushed
/// (with `seq` assigned), in order.
#[derive(Debug, Default)]
pub struct AuditLog {
    strings: Interner,
    records: Vec<Record>,
}

/// One entry: string fields as [`Interner`] ids (`NONE` for an absent optional field).
#[derive(Debug)]
struct Record {
    t_ms: u64,
    cluster: u32,
    actor: u32,
    run: u32,
    step: u32,
    policy: u32,
    zone: u32,
    action: u32,
    object: u32,
    result: u32,
    detail: Detail,
}

/// An entry's `detail`: its JSON text when that reads back as the same value (always, but
/// for the odd float the parser could round differently), else the value itself. The text
/// is not interned: details are mostly distinct, and hashing each was a large part of a
/// push.
#[derive(Debug)]
enum Detail {
    Null,
    Text(Box<str>),
    Value(Box<serde_json::Value>),
}

/// Whether `v` holds a float anywhere (only a float's text may read back different).
fn has_float(v: &serde_json::Value) -> bool {
    match v {
        serde_json::Value::Number(n) => n.is_f64(),
        serde_json::Value::Array(a) => a.iter().any(has_float),
        serde_json::Value::Object(o) => o.values().any(has_float),
        _ => false,
    }
}

/// FNV-1a: the interned strings are short names (clusters, steps, actions, results), for
/// which SipHash's setup cost was most of a lookup; no input here is chosen by an attacker
/// (the world's own names).
#[derive(Debug, Clone, Copy)]
struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl std::hash::Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
}

const NONE: u32 = u32::MAX;

/// Distinct strings, each stored once, numbered in order of first use (so the numbering,
/// like everything in the world, depends only on the order of events).
#[derive(Debug, Default)]
struct Interner {
    ids: std::collections::HashMap<std::sync::Arc<str>, u32, std::hash::BuildHasherDefault<Fnv>>,
    strings: Vec<std::sync::Arc<str>>,
}

impl Interner {
    fn id(&mut self, s: &str) -> u32 {
        if let Some(&id) = self.ids.get(s) {
            return id;
        }
        let id = u32::try_from(self.strings.len()).unwrap_or(NONE - 1);
        let s: std::sync::Arc<str> = s.into();
        self.strings.push(s.clone());
        self.ids.insert(s, id);
        id
    }

    fn opt_id(&mut self, s: Option<&str>) -> u32 {
        s.map_or(NONE, |s| self.id(s))
    }

    fn get(&self, id: u32) -> &str {
        self.strings.get(id as usize).map_or("", |s| s)
    }

    fn opt(&self, id: u32) -> Option<String> {
        (id != NONE).then(|| self.get(id).to_string())
    }
}

impl AuditLog {
    /// Append an entry; its `seq` becomes its 1-based position (the one it had is ignored).
    pub fn push(&mut self, e: AuditEntry) {
        let s = &mut self.strings;
        let detail = match e.detail {
            serde_json::Value::Null => Detail::Null,
            v => {
                let text = serde_json::to_string(&v).unwrap_or_default();
                // Only a float's text can read back different; without one the check (a
                // parse of every detail) is skipped.
                if !has_float(&v)
                    || serde_json::from_str::<serde_json::Value>(&text).is_ok_and(|back| back == v)
                {
                    Detail::Text(text.into_boxed_str())
                } else {
                    Detail::Value(Box::new(v))
                }
            }
        };
        let r = Record {
            t_ms: e.t_ms,
            cluster: s.id(&e.cluster),
            actor: s.id(&e.actor),
            run: s.opt_id(e.run.as_deref()),
            step: s.opt_id(e.step.as_deref()),
            policy: s.opt_id(e.policy.as_deref()),
            zone: s.opt_id(e.zone.as_deref()),
            action: s.id(&e.action),
            object: s.id(&e.object),
            result: s.id(&e.result),
            detail,
        };
        self.records.push(r);
    }

    /// [`AuditLog::push`] of `AuditEntry::new(t_ms, cluster, actor, action, object)` with
    /// the serialised `detail` (a JSON object without floats), without building the
    /// entry: every simulated client write is audited, and its five owned strings plus a
    /// detail map built only to be serialised here were most of a write's cost.
    pub(crate) fn push_plain(
        &mut self,
        t_ms: u64,
        [cluster, actor, action, object]: [&str; 4],
        detail: String,
    ) {
        let s = &mut self.strings;
        let r = Record {
            t_ms,
            cluster: s.id(cluster),
            actor: s.id(actor),
            run: NONE,
            step: NONE,
            policy: NONE,
            zone: NONE,
            action: s.id(action),
            object: s.id(object),
            result: s.id("ok"),
            detail: Detail::Text(detail.into_boxed_str()),
        };
        self.records.push(r);
    }

    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Every entry, in order.
    pub fn entries(&self) -> Vec<AuditEntry> {
        let s = &self.strings;
        self.records
            .iter()
            .enumerate()
            .map(|(i, r)| AuditEntry {
                seq: i as u64 + 1,
                t_ms: r.t_ms,
                cluster: s.get(r.cluster).to_string(),
                actor: s.get(r.actor).to_string(),
                run: s.opt(r.run),
                step: s.opt(r.step),
                policy: s.opt(r.policy),
                zone: s.opt(r.zone),
                action: s.get(r.action).to_string(),
                object: s.get(r.object).to_string(),
                result: s.get(r.result).to_string(),
                detail: match &r.detail {
                    Detail::Null => serde_json::Value::Null,
                    Detail::Text(text) => {
                        serde_json::from_str(text).unwrap_or(serde_json::Value::Null)
                    }
                    Detail::Value(v) => (**v).clone(),
                },
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::{json, Value};

    /// A plain push is the push of the entry it stands for, interleaved with full ones.
    #[test]
    fn push_plain_is_push_of_the_entry() {
        let (mut plain, mut full) = (AuditLog::default(), AuditLog::default());
        for (i, (c, o)) in [("a", "/ifs/x"), ("b", "/ifs/y"), ("a", "/ifs/x")]
            .into_iter()
            .enumerate()
        {
            let e = AuditEntry::new(i as u64, c, "client:u", "fs.write", o)
                .detail(json!({"version": i, "size_bytes": 10 * i}));
            let text = serde_json::to_string(&e.detail).unwrap();
            full.push(e);
            plain.push_plain(i as u64, [c, "client:u", "fs.write", o], text);
            let other = AuditEntry::new(7, "b", "admin", "sync.x", o).error("no");
            full.push(other.clone());
            plain.push(other);
        }
        assert_eq!(
            serde_json::to_string(&plain.entries()).unwrap(),
            serde_json::to_string(&full.entries()).unwrap()
        );
    }

    /// Strings from a small set, so that repeats (and so shared ids) are common.
    fn name() -> impl Strategy<Value = String> {
        prop::sample::select(vec!["", "a", "b", "sync.job.start", "ok", "error: x", "é"])
            .prop_map(String::from)
    }

    fn detail() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_map(|x| json!(x)),
            (0.0f64..1.0).prop_map(|x| json!(x)),
            name().prop_map(Value::from),
        ];
        leaf.prop_recursive(3, 16, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
                prop::collection::vec((name(), inner), 0..4)
                    .prop_map(|kv| Value::Object(kv.into_iter().collect())),
            ]
        })
    }

    fn entry() -> impl Strategy<Value = AuditEntry> {
        (
            (any::<u64>(), any::<u64>(), name(), name()),
            prop::collection::vec(prop::option::of(name()), 4),
            (name(), name(), name(), detail()),
        )
            .prop_map(
                |((seq, t_ms, cluster, actor), o, (action, object, result, detail))| AuditEntry {
                    seq,
                    t_ms,
                    cluster,
                    actor,
                    run: o[0].clone(),
                    step: o[1].clone(),
                    policy: o[2].clone(),
                    zone: o[3].clone(),
                    action,
                    object,
                    result,
                    detail,
                },
            )
    }

    proptest! {
        /// The compact log gives back exactly what a plain `Vec` of the entries holds,
        /// with `seq` numbered from 1.
        #[test]
        fn audit_log_agrees_with_a_vec(entries in prop::collection::vec(entry(), 0..24)) {
            let mut log = AuditLog::default();
            let mut want = Vec::new();
            for mut e in entries {
                log.push(e.clone());
                e.seq = want.len() as u64 + 1;
                want.push(e);
            }
            prop_assert_eq!(log.len(), want.len());
            prop_assert_eq!(log.entries(), want);
        }
    }
}
