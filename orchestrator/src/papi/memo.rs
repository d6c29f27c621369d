//! The last decoded page per path, list key and item type of one client (and its clones):
//! when the cluster answers a GET with the very bytes it answered last time, the items
//! decoded then are cloned instead of parsing the body again.
//!
//! Why: the steps read the same policies, reports, shares, exports and quotas again and
//! again while they do not change (readiness checks, config replication, each poll of a
//! report list); parsing those ~100-field bodies was a tenth of a campaign's instructions,
//! comparing a body with the last one costs a `memcmp`. Decoding is a pure function of the
//! bytes, the key and the type, so a hit gives exactly what decoding gives; errors are never
//! kept (a failed decode is decoded again, and fails again, every time).

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use serde::de::DeserializeOwned;

use super::envelope::{self, Envelope};

/// At most this many pages are kept: one per path normally, so a client that pages
/// through resume tokens or reads ever new paths cannot grow it without bound (when full,
/// it is emptied).
///
/// A trade of memory for parsing. A client keeps a few pages per policy (the policy, its
/// report list, each under the types it is decoded as), about four thousand on the source
/// of a 1000-policy failover; with 512 the memo is emptied every hundred-odd policies there,
/// and the report list a job reads before it starts is parsed again (`remember_reports_before`
/// 73k instructions a call at 1000 policies against 34k at 100). Holding the whole working
/// set (16,384 pages) saves 3 % of that run's instructions but keeps every page's body and
/// decoded items alive to the end: +46 MiB of peak RSS, past the 200 MiB the 1000-policy
/// failover is held to (`drill bench`). The small memo keeps what matters most, the
/// campaign's and the polls' repeats of the last few hundred pages.
const MAX_ENTRIES: usize = 512;

/// One kept page.
struct Entry {
    type_id: TypeId,
    key: Box<str>,
    path: Box<str>,
    /// The body as received (shared with the transport's buffer, not copied).
    body: Bytes,
    /// The decoded `Option<Vec<T>>` of [`Envelope::items`].
    items: Arc<dyn Any + Send + Sync>,
    resume: Option<String>,
}

/// The kept pages of a client; see the module doc.
#[derive(Default)]
pub(crate) struct Memo {
    /// Keyed by a hash of (type, key, path); the entry holds them to be checked.
    pages: Mutex<HashMap<u64, Entry>>,
    hasher: std::collections::hash_map::RandomState,
}

impl Memo {
    fn slot(&self, type_id: TypeId, key: &str, path: &str) -> u64 {
        let mut h = self.hasher.build_hasher();
        type_id.hash(&mut h);
        key.hash(&mut h);
        path.hash(&mut h);
        h.finish()
    }

    /// [`envelope::decode`] of `bytes` (the answer to `GET path`), from the kept page when
    /// the same path answered the same bytes last time.
    pub(crate) fn decode<T: DeserializeOwned + Clone + Send + Sync + 'static>(
        &self,
        key: &str,
        path: &str,
        bytes: &Bytes,
    ) -> Result<Envelope<T>, serde_json::Error> {
        let type_id = TypeId::of::<Option<Vec<T>>>();
        let slot = self.slot(type_id, key, path);
        {
            let pages = self.pages.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(e) = pages.get(&slot) {
                if e.type_id == type_id
                    && *e.key == *key
                    && *e.path == *path
                    && e.body[..] == bytes[..]
                {
                    if let Some(items) = e.items.downcast_ref::<Option<Vec<T>>>() {
                        return Ok(Envelope {
                            items: items.clone(),
                            resume: e.resume.clone(),
                        });
                    }
                }
            }
        }
        let env: Envelope<T> = envelope::decode(key, bytes)?;
        let mut pages = self.pages.lock().unwrap_or_else(|e| e.into_inner());
        if pages.len() >= MAX_ENTRIES && !pages.contains_key(&slot) {
            pages.clear();
        }
        pages.insert(
            slot,
            Entry {
                type_id,
                key: key.into(),
                path: path.into(),
                body: bytes.clone(),
                items: Arc::new(env.items.clone()),
                resume: env.resume.clone(),
            },
        );
        Ok(env)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    #[derive(Debug, Clone, PartialEq, serde::Deserialize)]
    struct Item {
        id: String,
    }

    fn plain<T: DeserializeOwned>(
        key: &str,
        b: &Bytes,
    ) -> Result<(Option<Vec<T>>, Option<String>), String> {
        envelope::decode::<T>(key, b)
            .map(|e| (e.items, e.resume))
            .map_err(|e| e.to_string())
    }

    fn memo<T: DeserializeOwned + Clone + Send + Sync + 'static>(
        m: &Memo,
        key: &str,
        path: &str,
        b: &Bytes,
    ) -> Result<(Option<Vec<T>>, Option<String>), String> {
        m.decode::<T>(key, path, b)
            .map(|e| (e.items, e.resume))
            .map_err(|e| e.to_string())
    }

    /// Repeated, changed, bad and differently typed or keyed reads of the same paths give
    /// what decoding each body afresh gives.
    #[test]
    fn agrees_with_decoding_every_time() {
        let bodies: Vec<Bytes> = vec![
            Bytes::from(json!({"items": [{"id": "a"}], "resume": "r"}).to_string()),
            Bytes::from(json!({"items": [{"id": "b"}, {"id": "c"}]}).to_string()),
            Bytes::from(json!({"other": [{"id": "a"}]}).to_string()),
            Bytes::from_static(b"{\"items\": [{\"x\": 1}]}"),
            Bytes::from_static(b"{\"items\": [{\"id\": \"a\"}"),
            Bytes::from(json!({"items": [{"id": "a"}], "resume": "r"}).to_string()),
        ];
        let m = Memo::default();
        // A fixed pseudo-random walk over bodies, paths, keys and types.
        let mut x = 7u32;
        for _ in 0..400 {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            let b = &bodies[(x >> 8) as usize % bodies.len()];
            let path = ["p1", "p2"][(x >> 16) as usize % 2];
            let key = ["items", "other"][(x >> 18) as usize % 2];
            if x & (1 << 20) == 0 {
                assert_eq!(memo::<Item>(&m, key, path, b), plain::<Item>(key, b));
            } else {
                assert_eq!(memo::<Value>(&m, key, path, b), plain::<Value>(key, b));
            }
        }
    }

    #[test]
    fn stays_bounded() {
        let m = Memo::default();
        let b = Bytes::from_static(b"{\"items\": []}");
        for i in 0..(3 * MAX_ENTRIES) {
            memo::<Value>(&m, "items", &format!("p{i}"), &b).unwrap();
        }
        assert!(m.pages.lock().unwrap().len() <= MAX_ENTRIES);
    }
}
