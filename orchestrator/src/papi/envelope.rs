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
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let env = Seed {
        key,
        item: PhantomData,
    }
    .deserialize(&mut de)?;
    de.end()?;
    Ok(env)
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
        while let Some(k) = m.next_key::<String>()? {
            if k == self.key {
                env.items = Some(m.next_value::<Vec<T>>()?);
            } else if k == "resume" {
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

    #[test]
    fn not_an_object_or_trailing_garbage_is_an_error() {
        assert!(decode::<Item>("jobs", b"[1]").is_err());
        assert!(decode::<Item>("jobs", b"{\"jobs\": []} x").is_err());
        assert!(decode::<Item>("jobs", b"{\"jobs\": null}").is_err());
    }
}
