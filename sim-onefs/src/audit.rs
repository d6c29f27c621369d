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
    /// A client write's `{"version": …, "size_bytes": …}` (most entries of a run with
    /// clients: kept as numbers, read back without parsing).
    FsWrite {
        version: u64,
        size_bytes: u64,
    },
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
    /// Ids [`Interner::id`] answered lately, by [`recent_slot`] of their string: a hit is
    /// checked with one string comparison instead of hashing the string byte by byte. A
    /// client's write interns the same cluster, actor, action and result every time.
    recent: [Option<u32>; RECENT],
}

/// Slots of [`Interner::recent`].
const RECENT: usize = 16;

/// Where [`Interner::recent`] keeps `s`: a cheap mix of its length and last byte (the
/// strings interned per write differ in one or the other).
fn recent_slot(s: &str) -> usize {
    let last = s.as_bytes().last().copied().unwrap_or(0);
    (s.len().wrapping_mul(7) ^ usize::from(last)) % RECENT
}

impl Interner {
    fn id(&mut self, s: &str) -> u32 {
        let slot = recent_slot(s);
        if let Some(id) = self.recent[slot] {
            // Only ids `id` answered are kept, so a string equal to `s` under one is the
            // id `s` is registered under.
            if self.strings.get(id as usize).is_some_and(|t| **t == *s) {
                return id;
            }
        }
        let id = self.lookup(s);
        self.recent[slot] = Some(id);
        id
    }

    /// [`Interner::id`] without the memo of recent answers.
    fn lookup(&mut self, s: &str) -> u32 {
        if let Some(&id) = self.ids.get(s) {
            return id;
        }
        let id = u32::try_from(self.strings.len()).unwrap_or(NONE - 1);
        let s: std::sync::Arc<str> = s.into();
        self.strings.push(s.clone());
        self.ids.insert(s, id);
        id
    }

    /// A new id for `s` without looking it up or recording it for lookups: for strings
    /// seen once (a client write's new file), whose hashing and map entry were most of an
    /// interning. Ids only index `strings`, so a repeated string under two ids reads back
    /// the same.
    fn fresh(&mut self, s: &str) -> u32 {
        let id = u32::try_from(self.strings.len()).unwrap_or(NONE - 1);
        self.strings.push(s.into());
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
    /// Append a client write's entry: what [`AuditLog::push`] stores for
    /// `AuditEntry::new(t_ms, cluster, actor, "fs.write", path)` with detail
    /// `{"version": v, "size_bytes": n}` when `written` is `Ok((v, n))`, or result
    /// `error: <msg>` and no detail when it is `Err(msg)`, without building the entry's
    /// strings and JSON map first. Simulated clients write hundreds of times per scenario,
    /// and building each entry was most of a write's cost.
    pub fn push_fs_write(
        &mut self,
        t_ms: u64,
        cluster: &str,
        actor: &str,
        path: &str,
        written: Result<(u64, u64), &str>,
    ) {
        let s = &mut self.strings;
        let (cluster, actor) = (s.id(cluster), s.id(actor));
        let (action, object) = (s.id("fs.write"), s.fresh(path));
        let (result, detail) = match written {
            Ok((version, size_bytes)) => (
                s.id("ok"),
                Detail::FsWrite {
                    version,
                    size_bytes,
                },
            ),
            Err(msg) => (s.id(&format!("error: {msg}")), Detail::Null),
        };
        let r = Record {
            t_ms,
            cluster,
            actor,
            run: NONE,
            step: NONE,
            policy: NONE,
            zone: NONE,
            action,
            object,
            result,
            detail,
        };
        self.records.push(r);
    }

    /// Append an entry; its `seq` becomes its 1-based position (the one it had is ignored).
    pub fn push(&mut self, mut e: AuditEntry) {
        let detail = match std::mem::take(&mut e.detail) {
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
        self.push_detail(e, detail);
    }

    /// Append `e` (its `detail` ignored) with the detail `text`: what [`AuditLog::push`]
    /// stores for `e` with detail `v` when `text` is `serde_json::to_string(&v)` and `v`
    /// is not `null` and holds no float. Why: a caller that can write its detail's text
    /// directly (a fired fault, several per scenario) skips building a JSON map only to
    /// serialise it here.
    pub fn push_text(&mut self, e: AuditEntry, text: String) {
        self.push_detail(e, Detail::Text(text.into_boxed_str()));
    }

    fn push_detail(&mut self, e: AuditEntry, detail: Detail) {
        let s = &mut self.strings;
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

    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Every entry, in order.
    pub fn entries(&self) -> Vec<AuditEntry> {
        self.records
            .iter()
            .enumerate()
            .map(|(i, r)| self.entry(i, r, true))
            .collect()
    }

    /// The entries `keep` wants (it is asked by action, once per distinct action), in
    /// order, with the `seq` they have in [`AuditLog::entries`]. Only those are built, and
    /// the detail only of those it wants whole: a reader that needs a few kinds of entry
    /// (the drill's judge: no client `fs.write` entry, and the detail of a handful of
    /// actions) does not pay for building every entry's strings and parsing its detail.
    pub fn entries_where(&self, keep: impl Fn(&str) -> Keep) -> Vec<AuditEntry> {
        // Action id → verdict (a run has a few dozen distinct actions).
        let mut verdicts: Vec<(u32, Keep)> = Vec::new();
        let mut out = Vec::new();
        for (i, r) in self.records.iter().enumerate() {
            let kept = match verdicts.iter().find(|(id, _)| *id == r.action) {
                Some(&(_, k)) => k,
                None => {
                    let k = keep(self.strings.get(r.action));
                    verdicts.push((r.action, k));
                    k
                }
            };
            match kept {
                Keep::Skip => {}
                Keep::Brief => out.push(self.entry(i, r, false)),
                Keep::Whole => out.push(self.entry(i, r, true)),
            }
        }
        out
    }

    /// Record `i` as an entry (its detail `Null` unless `detail`).
    fn entry(&self, i: usize, r: &Record, detail: bool) -> AuditEntry {
        let s = &self.strings;
        AuditEntry {
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
                _ if !detail => serde_json::Value::Null,
                Detail::Null => serde_json::Value::Null,
                Detail::FsWrite {
                    version,
                    size_bytes,
                } => serde_json::json!({"version": version, "size_bytes": size_bytes}),
                Detail::Text(text) => serde_json::from_str(text).unwrap_or(serde_json::Value::Null),
                Detail::Value(v) => (**v).clone(),
            },
        }
    }
}

/// How much of an entry a reader of [`AuditLog::entries_where`] wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    /// Not the entry.
    Skip,
    /// The entry with its detail left `Null` (most of the cost of building an entry is
    /// parsing its detail's JSON).
    Brief,
    /// The whole entry.
    Whole,
}

/// A finished run's audit log, handed over by the world ([`crate::Sim::take_audit_log`]):
/// the compact [`AuditLog`], whose entries are built only when first read as a slice
/// (`Deref<Target = [AuditEntry]>`). A chaos campaign judges thousands of runs and reads
/// only a few kinds of entry of each ([`AuditTrail::entries_where`]); building every
/// entry of every run (mostly the clients' file writes) was a few percent of a campaign.
/// Serialises as the list of entries; reads back from one.
#[derive(Default)]
pub struct AuditTrail {
    /// The log, while its entries have not been built (`None` when read back from JSON).
    log: Option<std::sync::Arc<AuditLog>>,
    entries: std::sync::OnceLock<Vec<AuditEntry>>,
}

impl AuditTrail {
    /// The trail of a finished log.
    pub fn new(log: AuditLog) -> AuditTrail {
        AuditTrail {
            log: Some(std::sync::Arc::new(log)),
            entries: std::sync::OnceLock::new(),
        }
    }

    /// [`AuditLog::entries_where`], from the entries when they are built.
    pub fn entries_where(&self, keep: impl Fn(&str) -> Keep) -> Vec<AuditEntry> {
        match (self.entries.get(), &self.log) {
            (None, Some(log)) => log.entries_where(keep),
            _ => self
                .iter()
                .filter_map(|e| match keep(&e.action) {
                    Keep::Skip => None,
                    Keep::Brief => Some(AuditEntry {
                        detail: serde_json::Value::Null,
                        ..e.clone()
                    }),
                    Keep::Whole => Some(e.clone()),
                })
                .collect(),
        }
    }
}

impl From<Vec<AuditEntry>> for AuditTrail {
    fn from(entries: Vec<AuditEntry>) -> AuditTrail {
        AuditTrail {
            log: None,
            entries: std::sync::OnceLock::from(entries),
        }
    }
}

impl std::ops::Deref for AuditTrail {
    type Target = [AuditEntry];

    fn deref(&self) -> &[AuditEntry] {
        self.entries
            .get_or_init(|| self.log.as_ref().map(|l| l.entries()).unwrap_or_default())
    }
}

impl<'a> IntoIterator for &'a AuditTrail {
    type Item = &'a AuditEntry;
    type IntoIter = std::slice::Iter<'a, AuditEntry>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl Clone for AuditTrail {
    fn clone(&self) -> AuditTrail {
        match self.entries.get() {
            Some(e) => AuditTrail::from(e.clone()),
            None => AuditTrail {
                log: self.log.clone(),
                entries: std::sync::OnceLock::new(),
            },
        }
    }
}

impl std::fmt::Debug for AuditTrail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl PartialEq for AuditTrail {
    fn eq(&self, other: &AuditTrail) -> bool {
        **self == **other
    }
}

impl Serialize for AuditTrail {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        (**self).serialize(s)
    }
}

impl<'de> Deserialize<'de> for AuditTrail {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<AuditTrail, D::Error> {
        Vec::<AuditEntry>::deserialize(d).map(AuditTrail::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::{json, Value};

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
        /// The memo of recent answers never changes an id: `id` answers what the plain
        /// lookup answers, and both number the strings alike, with `fresh` strings (which
        /// are never looked up) interleaved.
        #[test]
        fn interner_memo_agrees_with_lookup(
            ops in prop::collection::vec(
                (prop::sample::select(vec![
                    "", "a", "b", "c1", "client:c1", "client:c2", "fs.write", "ok", "ko",
                    "error: x", "é", "e",
                ]), any::<bool>()),
                0..60,
            ),
        ) {
            let (mut memo, mut plain) = (Interner::default(), Interner::default());
            for (s, fresh) in ops {
                if fresh {
                    prop_assert_eq!(memo.fresh(s), plain.fresh(s));
                } else {
                    prop_assert_eq!(memo.id(s), plain.lookup(s));
                }
            }
            prop_assert_eq!(memo.strings, plain.strings);
        }

        /// A client write's entry pushed directly reads back as the entry `push` stores.
        #[test]
        fn fs_write_entry_agrees_with_push(
            t in any::<u64>(),
            (cluster, actor, path) in (name(), name(), name()),
            written in prop_oneof![
                (any::<u64>(), any::<u64>()).prop_map(Ok),
                name().prop_map(Err),
            ],
        ) {
            let mut direct = AuditLog::default();
            let mut plain = AuditLog::default();
            for _ in 0..2 {
                direct.push_fs_write(
                    t,
                    &cluster,
                    &actor,
                    &path,
                    written.as_ref().map(|&(v, n)| (v, n)).map_err(String::as_str),
                );
                let e = AuditEntry::new(t, &cluster, &actor, "fs.write", &path);
                plain.push(match &written {
                    Ok((v, n)) => e.detail(json!({"version": v, "size_bytes": n})),
                    Err(msg) => e.error(msg),
                });
            }
            prop_assert_eq!(direct.entries(), plain.entries());
        }

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
            // Selected by action: skipped, brief (no detail) or whole.
            let keep = |a: &str| match a {
                "ok" => Keep::Skip,
                "b" => Keep::Brief,
                _ => Keep::Whole,
            };
            let selected: Vec<AuditEntry> = want
                .iter()
                .filter(|e| e.action != "ok")
                .map(|e| AuditEntry {
                    detail: if e.action == "b" { Value::Null } else { e.detail.clone() },
                    ..e.clone()
                })
                .collect();
            prop_assert_eq!(log.entries_where(keep), selected.clone());
            prop_assert_eq!(log.entries(), want.clone());
            let trail = AuditTrail::new(log);
            prop_assert_eq!(trail.entries_where(keep), selected.clone());
            prop_assert_eq!(&*trail, &want[..]);
            // Built, it answers the same; a copy holds the same entries.
            prop_assert_eq!(trail.entries_where(keep), selected);
            prop_assert_eq!(&*trail.clone(), &want[..]);
            // It serialises as the list of its entries (a float may not read back
            // bit-equal from JSON, so the text is compared).
            prop_assert_eq!(
                serde_json::to_string(&trail).unwrap(),
                serde_json::to_string(&want).unwrap()
            );
        }
    }
}
