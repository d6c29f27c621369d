//! Decoding of PAPI list envelopes (`{"<plural>": [...], "resume": ..., "total": N, ...}`)
//! straight into the typed items: only the list under the caller's key and the `resume`
//! token are built; every other field is skipped by the parser without allocating.
//!
//! Why: the clients poll jobs and read policies and reports whose bodies carry ~100 fields
//! the orchestrator never reads; parsing them into a `serde_json::Value` tree and cloning
//! the list out of it cost more than everything else a request does.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{DeserializeOwned, DeserializeSeed, IgnoredAny, MapAccess, Visitor};
use serde::Deserializer;

/// Bind `$de` to a deserializer of `$bytes` and evaluate `$body` (a `Result` with
/// `serde_json::Error`): first the [`super::fastjson`] reader when the body is UTF-8; when it
/// declines, a `serde_json` deserializer that reads a `&str` (UTF-8 checked once, here, in
/// one pass); a body that is not UTF-8 goes to one that reads the bytes (so it fails, or
/// passes, exactly as it always did).
///
/// Why: reading bytes, serde_json checks every string it decodes (each key of each object
/// included) as UTF-8 on its own; for the ~100-key job, policy and report bodies those
/// checks were a fifth of the decoding. Read as `&str`, the same values and errors come out
/// with none of them. The fast reader skips the unread fields several times faster still,
/// and whatever it accepts `serde_json` reads the same (its module doc); `$body` runs again
/// from the start when it declines, so it must not have effects.
macro_rules! with_deserializer {
    ($bytes:expr, |$de:ident| $body:expr) => {{
        let bytes: &[u8] = $bytes;
        match std::str::from_utf8(bytes) {
            Ok(s) => {
                let fast = attempt(|| {
                    let mut $de = super::fastjson::Deserializer::new(s);
                    $body
                });
                match fast {
                    Ok(v) => Ok(v),
                    Err(_) => {
                        let mut $de = serde_json::Deserializer::from_str(s);
                        $body
                    }
                }
            }
            Err(_) => {
                let mut $de = serde_json::Deserializer::from_slice(bytes);
                $body
            }
        }
    }};
}

/// Runs `f`: pins the type of a closure whose body uses `?` on `serde_json` errors, so that
/// [`with_deserializer`] can fall back when the fast reader declines.
#[inline(always)]
fn attempt<T>(f: impl FnOnce() -> Result<T, serde_json::Error>) -> Result<T, serde_json::Error> {
    f()
}

/// `serde_json::from_slice`, through [`with_deserializer`].
pub(crate) fn from_slice<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, serde_json::Error> {
    with_deserializer!(bytes, |de| {
        let v = <T as serde::Deserialize>::deserialize(&mut de)?;
        de.end()?;
        Ok(v)
    })
}

/// What a client reads of a list envelope.
#[derive(Debug)]
pub(crate) struct Envelope<T> {
    /// The list under the key; `None` when the body has no such field.
    pub items: Option<Vec<T>>,
    /// The `resume` token when it is a string (anything else means no further page).
    pub resume: Option<String>,
}

/// Decode `bytes` as an envelope whose list is under `key`.
pub(crate) fn decode<T: DeserializeOwned>(
    key: &str,
    bytes: &[u8],
) -> Result<Envelope<T>, serde_json::Error> {
    with_deserializer!(bytes, |de| {
        let env = Seed {
            key,
            item: PhantomData,
        }
        .deserialize(&mut de)?;
        de.end()?;
        Ok(env)
    })
}

struct Seed<'k, T> {
    key: &'k str,
    item: PhantomData<T>,
}

impl<'de, T: DeserializeOwned> DeserializeSeed<'de> for Seed<'_, T> {
    type Value = Envelope<T>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Envelope<T>, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, T: DeserializeOwned> Visitor<'de> for Seed<'_, T> {
    type Value = Envelope<T>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "an object with a {:?} list", self.key)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Envelope<T>, A::Error> {
        let mut env = Envelope {
            items: None,
            resume: None,
        };
        while let Some(k) = m.next_key_seed(KeyIs(self.key))? {
            if k == Key::List {
                env.items = Some(m.next_value::<Vec<T>>()?);
            } else if k == Key::Resume {
                env.resume = m
                    .next_value::<serde_json::Value>()?
                    .as_str()
                    .map(str::to_owned);
            } else {
                m.next_value::<IgnoredAny>()?;
            }
        }
        Ok(env)
    }
}

/// Which top-level key of an envelope was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Key {
    List,
    Resume,
    Other,
}

/// A top-level key read as a `String` is (any string), classified without keeping it: the
/// key was copied for every field of every envelope.
struct KeyIs<'k>(&'k str);

impl<'de> DeserializeSeed<'de> for KeyIs<'_> {
    type Value = Key;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Key, D::Error> {
        d.deserialize_string(self)
    }
}

impl<'de> Visitor<'de> for KeyIs<'_> {
    type Value = Key;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "a string")
    }
    fn visit_str<E>(self, k: &str) -> Result<Key, E> {
        Ok(if k == self.0 {
            Key::List
        } else if k == "resume" {
            Key::Resume
        } else {
            Key::Other
        })
    }
}

/// Decode `bytes` as an envelope of JSON objects under `key`, building as a `Value` only the
/// items whose `path` (a string, the last one when repeated, as a `Value` map keeps it)
/// `want` accepts; the others are `None`. The same items, errors and `resume` as
/// [`decode`] into `Value`s, filtered afterwards.
///
/// Why: PAPI lists a zone's SMB shares without a path filter, so the config replication
/// read every share of the zone (a `Value` tree of ~30 fields each) for each policy,
/// quadratic on a world with many policies; a first pass reads only the paths.
pub(crate) fn decode_values_where(
    key: &str,
    bytes: &[u8],
    want: &dyn Fn(&str) -> bool,
) -> Result<Envelope<Option<serde_json::Value>>, serde_json::Error> {
    // The plain decoder, filtered: for a body the first pass cannot read (its error is
    // then the plain decoder's own) and for one that names the list twice (the last list
    // counts; paths must not be matched to the wrong one).
    let plain = || -> Result<Envelope<Option<serde_json::Value>>, serde_json::Error> {
        let env: Envelope<serde_json::Value> = decode(key, bytes)?;
        Ok(Envelope {
            items: env.items.map(|items| {
                items
                    .into_iter()
                    .map(|v| {
                        let keep = v
                            .get("path")
                            .and_then(serde_json::Value::as_str)
                            .is_some_and(want);
                        keep.then_some(v)
                    })
                    .collect()
            }),
            resume: env.resume,
        })
    };
    let Ok(first) = decode::<PathOnly>(key, bytes) else {
        return plain();
    };
    if count_key(key, bytes)? > 1 {
        return plain();
    }
    let keep: Option<Vec<bool>> = first.items.map(|items| {
        items
            .iter()
            .map(|p| p.0.as_deref().is_some_and(want))
            .collect()
    });
    let items = with_deserializer!(bytes, |de| {
        let items = KeepSeed {
            key,
            keep: keep.as_deref().unwrap_or(&[]),
        }
        .deserialize(&mut de)?;
        de.end()?;
        Ok::<_, serde_json::Error>(items)
    })?;
    Ok(Envelope {
        items,
        resume: first.resume,
    })
}

/// How many times the top-level object names `key`.
fn count_key(key: &str, bytes: &[u8]) -> Result<usize, serde_json::Error> {
    struct Count<'k>(&'k str);
    impl<'de> Visitor<'de> for Count<'_> {
        type Value = usize;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            write!(f, "an object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<usize, A::Error> {
            let mut n = 0;
            while let Some(k) = m.next_key::<String>()? {
                n += usize::from(k == self.0);
                m.next_value::<IgnoredAny>()?;
            }
            Ok(n)
        }
    }
    with_deserializer!(bytes, |de| de.deserialize_map(Count(key)))
}

/// An item's `path` when it is an object whose (last) `path` is a string. The rest of the
/// item is checked as strictly as a `Value` would read it ([`Validate`]), so the first pass
/// fails exactly where building the `Value`s failed.
struct PathOnly(Option<String>);

impl<'de> serde::Deserialize<'de> for PathOnly {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<PathOnly, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = PathOnly;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                write!(f, "any JSON value")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<PathOnly, A::Error> {
                let mut path = None;
                while let Some(is_path) = m.next_key_seed(IsPath)? {
                    if is_path {
                        path = m
                            .next_value::<serde_json::Value>()?
                            .as_str()
                            .map(str::to_owned);
                    } else {
                        m.next_value::<Validate>()?;
                    }
                }
                Ok(PathOnly(path))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, s: A) -> Result<PathOnly, A::Error> {
                ValidateV.visit_seq(s).map(|_| PathOnly(None))
            }
            fn visit_bool<E>(self, _: bool) -> Result<PathOnly, E> {
                Ok(PathOnly(None))
            }
            fn visit_i64<E>(self, _: i64) -> Result<PathOnly, E> {
                Ok(PathOnly(None))
            }
            fn visit_u64<E>(self, _: u64) -> Result<PathOnly, E> {
                Ok(PathOnly(None))
            }
            fn visit_f64<E>(self, _: f64) -> Result<PathOnly, E> {
                Ok(PathOnly(None))
            }
            fn visit_str<E>(self, _: &str) -> Result<PathOnly, E> {
                Ok(PathOnly(None))
            }
            fn visit_unit<E>(self) -> Result<PathOnly, E> {
                Ok(PathOnly(None))
            }
        }
        d.deserialize_any(V)
    }
}

/// A map key: whether it is `path` (read as a `Value` reads keys, without keeping it).
struct IsPath;

impl<'de> DeserializeSeed<'de> for IsPath {
    type Value = bool;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for IsPath {
    type Value = bool;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "a string key")
    }
    fn visit_str<E>(self, k: &str) -> Result<bool, E> {
        Ok(k == "path")
    }
}

/// Any JSON value, read through `deserialize_any` as a `Value` is (numbers range-checked,
/// strings checked as UTF-8) but not built.
pub(crate) struct Validate;

impl<'de> serde::Deserialize<'de> for Validate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Validate, D::Error> {
        d.deserialize_any(ValidateV)
    }
}

struct ValidateV;

impl<'de> Visitor<'de> for ValidateV {
    type Value = Validate;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "any JSON value")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Validate, A::Error> {
        while m.next_key::<Validate>()?.is_some() {
            m.next_value::<Validate>()?;
        }
        Ok(Validate)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut s: A) -> Result<Validate, A::Error> {
        while s.next_element::<Validate>()?.is_some() {}
        Ok(Validate)
    }
    fn visit_bool<E>(self, _: bool) -> Result<Validate, E> {
        Ok(Validate)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Validate, E> {
        Ok(Validate)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Validate, E> {
        Ok(Validate)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Validate, E> {
        Ok(Validate)
    }
    fn visit_str<E>(self, _: &str) -> Result<Validate, E> {
        Ok(Validate)
    }
    fn visit_unit<E>(self) -> Result<Validate, E> {
        Ok(Validate)
    }
}

/// The second pass: the list's kept items as `Value`s, the others skipped.
struct KeepSeed<'a> {
    key: &'a str,
    keep: &'a [bool],
}

impl<'de> DeserializeSeed<'de> for KeepSeed<'_> {
    type Value = Option<Vec<Option<serde_json::Value>>>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for KeepSeed<'_> {
    type Value = Option<Vec<Option<serde_json::Value>>>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "an object with a {:?} list", self.key)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Self::Value, A::Error> {
        let mut items = None;
        while let Some(k) = m.next_key::<String>()? {
            if k == self.key {
                items = Some(m.next_value_seed(KeepList(self.keep))?);
            } else {
                m.next_value::<IgnoredAny>()?;
            }
        }
        Ok(items)
    }
}

struct KeepList<'a>(&'a [bool]);

impl<'de> DeserializeSeed<'de> for KeepList<'_> {
    type Value = Vec<Option<serde_json::Value>>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for KeepList<'_> {
    type Value = Vec<Option<serde_json::Value>>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "a sequence")
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut s: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::with_capacity(self.0.len());
        loop {
            let keep = self.0.get(out.len()).copied().unwrap_or(false);
            if keep {
                match s.next_element::<serde_json::Value>()? {
                    Some(v) => out.push(Some(v)),
                    None => break,
                }
            } else {
                match s.next_element::<IgnoredAny>()? {
                    Some(_) => out.push(None),
                    None => break,
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde::Deserialize;
    use serde_json::{json, Value};

    #[derive(Debug, PartialEq, Deserialize)]
    struct Item {
        id: String,
        #[serde(default)]
        n: Option<u64>,
    }

    /// The old path: parse to a `Value`, take the list, convert it.
    fn via_value(key: &str, bytes: &[u8]) -> Option<(Option<Vec<Item>>, Option<String>)> {
        let v: Value = serde_json::from_slice(bytes).ok()?;
        let items = match v.get(key) {
            Some(items) => Some(serde_json::from_value(items.clone()).ok()?),
            None => None,
        };
        let resume = v.get("resume").and_then(|r| r.as_str()).map(str::to_owned);
        Some((items, resume))
    }

    proptest! {
        /// On any envelope-shaped body, the direct decoder reads what the `Value` path
        /// read, and fails where it failed.
        #[test]
        fn agrees_with_the_value_path(
            ids in prop::collection::vec("[a-z]{0,3}", 0..4),
            with_key in any::<bool>(),
            resume in prop::option::of(prop_oneof![
                Just(json!(null)), Just(json!("")), "[a-z]{1,4}".prop_map(Value::from), Just(json!(3)),
            ]),
            extra in prop::collection::btree_map("[a-z]{1,3}", any::<u32>(), 0..4),
            bad_item in any::<bool>(),
        ) {
            let mut o = serde_json::Map::new();
            for (k, v) in &extra {
                o.insert(k.clone(), json!({"nested": [v, {"x": v}]}));
            }
            if with_key {
                let mut items: Vec<Value> = ids.iter().map(|i| json!({"id": i, "other": [1, 2]})).collect();
                if bad_item {
                    items.push(json!({"n": 1}));
                }
                o.insert("jobs".into(), Value::Array(items));
            }
            if let Some(r) = resume {
                o.insert("resume".into(), r);
            }
            let bytes = serde_json::to_vec(&Value::Object(o)).unwrap();
            let new = decode::<Item>("jobs", &bytes).ok().map(|e| (e.items, e.resume));
            prop_assert_eq!(new, via_value("jobs", &bytes));
        }
    }

    /// [`decode`] as it was: always reading bytes.
    fn decode_bytes(
        key: &str,
        bytes: &[u8],
    ) -> Result<(Option<Vec<Value>>, Option<String>), String> {
        let mut de = serde_json::Deserializer::from_slice(bytes);
        let env: Envelope<Value> = Seed {
            key,
            item: PhantomData,
        }
        .deserialize(&mut de)
        .map_err(|e| e.to_string())?;
        de.end().map_err(|e| e.to_string())?;
        Ok((env.items, env.resume))
    }

    proptest! {
        /// Reading the body as `&str` when it is UTF-8 gives the items, `resume` and error
        /// texts (positions included) of reading it as bytes, on bodies with multi-byte
        /// characters, escapes, a bad byte or a cut.
        #[test]
        fn str_reading_agrees_with_byte_reading(
            names in prop::collection::vec("[a-zé\\\"\u{1F600}]{0,4}", 0..4),
            damage in 0u8..4,
            at in any::<prop::sample::Index>(),
        ) {
            let items: Vec<Value> = names
                .iter()
                .map(|n| json!({"id": n, "x\u{e9}": [n, {"k": 1.5}], "esc": "\u{1}\t"}))
                .collect();
            let mut body =
                serde_json::to_vec(&json!({"jobs": items, "resume": "r", "total": 2})).unwrap();
            match damage {
                1 => body.truncate(at.index(body.len())),
                2 => {
                    let i = at.index(body.len());
                    body[i] = 0xff;
                }
                3 => {
                    let i = at.index(body.len());
                    body.insert(i, b'\\');
                }
                _ => {}
            }
            let got = decode::<Value>("jobs", &body)
                .map(|e| (e.items, e.resume))
                .map_err(|e| e.to_string());
            prop_assert_eq!(got, decode_bytes("jobs", &body));
            let got: Result<Value, String> = from_slice(&body).map_err(|e| e.to_string());
            let want: Result<Value, String> =
                serde_json::from_slice(&body).map_err(|e| e.to_string());
            prop_assert_eq!(got, want);
        }
    }

    #[test]
    fn not_an_object_or_trailing_garbage_is_an_error() {
        assert!(decode::<Item>("jobs", b"[1]").is_err());
        assert!(decode::<Item>("jobs", b"{\"jobs\": []} x").is_err());
        assert!(decode::<Item>("jobs", b"{\"jobs\": null}").is_err());
    }

    /// What a shares read gives: the items (kept or not) and `resume`, or the error text.
    type Read = Result<(Option<Vec<Option<Value>>>, Option<String>), String>;

    /// The old read of a shares list: every item built as a `Value`, then filtered.
    fn values_then_filter(bytes: &[u8], want: &dyn Fn(&str) -> bool) -> Read {
        let env: Envelope<Value> = decode("shares", bytes).map_err(|e| e.to_string())?;
        let items = env.items.map(|items| {
            items
                .into_iter()
                .map(|v| {
                    let keep = v.get("path").and_then(Value::as_str).is_some_and(want);
                    keep.then_some(v)
                })
                .collect()
        });
        Ok((items, env.resume))
    }

    fn item() -> impl Strategy<Value = Value> {
        prop_oneof![
            (
                prop::option::of(prop_oneof![
                    "/ifs/[ab]{0,2}".prop_map(Value::from),
                    Just(json!(7)),
                    Just(json!(null))
                ]),
                prop::collection::vec(("[a-z]{1,3}", any::<u16>()), 0..3),
            )
                .prop_map(|(path, extra)| {
                    let mut o = serde_json::Map::new();
                    for (k, v) in extra {
                        o.insert(k, json!({"n": v, "l": [v, "x\\u00e9"]}));
                    }
                    if let Some(p) = path {
                        o.insert("path".into(), p);
                    }
                    Value::Object(o)
                }),
            Just(json!([1, {"path": "/ifs/a"}])),
            Just(json!("/ifs/a")),
            Just(json!(null)),
        ]
    }

    proptest! {
        /// The two-pass shares read gives the items, `resume` and errors of building
        /// every item and filtering, on well-formed bodies and on bodies cut short,
        /// with a bad byte, an out-of-range number, a repeated path or a repeated list.
        #[test]
        fn shares_where_agrees_with_values_then_filter(
            items in prop::collection::vec(item(), 0..6),
            resume in prop::option::of("[a-z]{0,3}"),
            damage in 0u8..6,
            at in any::<prop::sample::Index>(),
        ) {
            let mut o = serde_json::Map::new();
            o.insert("shares".into(), Value::Array(items));
            if let Some(r) = resume {
                o.insert("resume".into(), Value::from(r));
            }
            o.insert("total".into(), json!(3));
            let mut body = serde_json::to_vec(&Value::Object(o)).unwrap();
            match damage {
                1 => body.truncate(at.index(body.len())),
                2 => {
                    let i = at.index(body.len());
                    body[i] = 0xff;
                }
                3 => {
                    let s = String::from_utf8(body).unwrap();
                    body = s.replacen("\"n\":", "\"n\":1e999,\"m\":", 1).into_bytes();
                }
                4 => {
                    let s = String::from_utf8(body).unwrap();
                    body = s.replacen("\"path\":", "\"path\":\"/ifs/a\",\"path\":", 1).into_bytes();
                }
                5 => {
                    let s = String::from_utf8(body).unwrap();
                    body = s.replacen("{", "{\"shares\":[{\"path\":\"/ifs/a\"}],", 1).into_bytes();
                }
                _ => {}
            }
            let want = |p: &str| p.starts_with("/ifs/a");
            let new = decode_values_where("shares", &body, &want)
                .map(|e| (e.items, e.resume))
                .map_err(|e| e.to_string());
            prop_assert_eq!(new, values_then_filter(&body, &want));
        }
    }
}
