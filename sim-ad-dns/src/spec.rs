//! Scenario `world:` keys owned by this crate: `ad`, `dns` and `dfs`.
//!
//! These are the serde/JSON-Schema types the `scenarios` crate embeds in its world spec.
//! `deny_unknown_fields` everywhere so that a typo in a scenario file is an error with a
//! location rather than a silently ignored key.
//!
//! `world.dns.tsig` holds a TSIG secret ([`TsigSecret`]): it is checked as base64 while the
//! file is read (the error names the key, never the text), and its `Debug` prints
//! `<redacted>`.

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::dns::Delegation;
use crate::wire::TsigKey;

/// `world.ad`: the Active Directory domain the clusters are joined to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AdSpec {
    /// DNS name of the domain, e.g. `corp.example`.
    pub domain: String,
    /// Machine accounts. Default: one per cluster, named after it (created by the caller,
    /// see `Domain::from_spec`). Listing accounts with SPNs plants existing registrations.
    #[serde(default)]
    pub accounts: Vec<AccountSpec>,
}

/// One machine account in `world.ad.accounts`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountSpec {
    /// Account name (case-insensitive in AD).
    pub name: String,
    /// SPNs registered on it at the start, e.g. `HOST/finance`.
    #[serde(default)]
    pub spns: Vec<String>,
}

/// `world.dns`: how SmartConnect names are delegated.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DnsSpec {
    /// `dual` (NS to both clusters' SSIPs, no DNS change at failover) or `single` (NS to the
    /// serving cluster's SSIP; failover updates NS). Default `dual`.
    #[serde(default)]
    pub delegation: Delegation,
    /// The TSIG key (hmac-sha256) RFC 2136 updates must be signed with. When set, the site
    /// DNS refuses unsigned or wrongly signed updates, and `drill run` gives the
    /// orchestrator the same key. `drill serve --tsig-key NAME:BASE64` overrides it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tsig: Option<TsigSpec>,
}

/// `world.dns.tsig`: `{name: dr-update., secret_base64: ...}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TsigSpec {
    /// Key name, as configured on both sides (e.g. `dr-update.`).
    pub name: String,
    /// The shared secret, base64 (as `tsig-keygen` prints it). Never printed.
    #[schemars(with = "String")]
    pub secret_base64: TsigSecret,
}

impl TsigSpec {
    /// The key the DNS server verifies with.
    pub fn key(&self) -> TsigKey {
        TsigKey::new(self.name.clone(), self.secret_base64.0.clone())
    }
}

/// A TSIG secret read from base64; `Debug` does not print it. Serialised back as base64
/// (a scenario written out must replay), so only ever serialise it into a scenario file.
#[derive(Clone, PartialEq, Eq)]
pub struct TsigSecret(pub Vec<u8>);

impl TsigSecret {
    /// Decode base64 text (standard alphabet, padded, surrounding blanks ignored). The error
    /// says what is wrong without repeating the text.
    pub fn from_base64(text: &str) -> Result<Self, String> {
        let bytes = decode_base64(text.trim()).ok_or_else(|| {
            "the TSIG secret is not valid base64 (the text is not shown)".to_string()
        })?;
        if bytes.is_empty() {
            return Err("the TSIG secret is empty".into());
        }
        Ok(TsigSecret(bytes))
    }

    /// The secret as base64.
    pub fn to_base64(&self) -> String {
        encode_base64(&self.0)
    }
}

impl fmt::Debug for TsigSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl Serialize for TsigSecret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_base64())
    }
}

impl<'de> Deserialize<'de> for TsigSecret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = TsigSecret;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a base64 TSIG secret")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<TsigSecret, E> {
                TsigSecret::from_base64(v).map_err(E::custom)
            }
        }
        d.deserialize_str(V)
    }
}

fn encode_base64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Standard, padded base64; `None` for anything else.
fn decode_base64(text: &str) -> Option<Vec<u8>> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.decode(text).ok()
}

/// One entry of `world.dfs`: a DFS namespace folder and its referral targets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DfsSpec {
    /// Namespace path, `\\domain\root\folder`.
    pub namespace: String,
    /// Referral targets in priority order, `\\host\share`.
    pub targets: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct World {
        ad: AdSpec,
        dns: DnsSpec,
        #[serde(default)]
        dfs: Vec<DfsSpec>,
    }

    #[test]
    fn example_keys_parse() {
        // The shape used by shared/examples/az-zone-gate.yaml.
        let w: World = yaml_serde::from_str(
            "ad:\n  domain: corp.example\ndns:\n  delegation: dual          # dual | single\n",
        )
        .unwrap();
        assert_eq!(w.ad.domain, "corp.example");
        assert!(w.ad.accounts.is_empty());
        assert_eq!(w.dns.delegation, Delegation::Dual);

        let w: World = yaml_serde::from_str(
            r#"
ad:
  domain: corp.example
  accounts:
    - {name: prod, spns: [HOST/finance]}
    - {name: dr}
dns: {delegation: single}
dfs:
  - {namespace: '\\corp.example\root\finance', targets: ['\\prod\ledger', '\\dr\igls-dfs-ledger']}
"#,
        )
        .unwrap();
        assert_eq!(w.dns.delegation, Delegation::Single);
        assert_eq!(w.ad.accounts[0].spns, vec!["HOST/finance"]);
        assert!(w.ad.accounts[1].spns.is_empty());
        assert_eq!(w.dfs[0].targets.len(), 2);
    }

    #[test]
    fn defaults_and_unknown_keys() {
        let d: DnsSpec = yaml_serde::from_str("{}").unwrap();
        assert_eq!(d.delegation, Delegation::Dual);
        assert!(yaml_serde::from_str::<DnsSpec>("delegation: triple").is_err());
        assert!(yaml_serde::from_str::<AdSpec>("domain: x\nacounts: []").is_err());
        assert!(yaml_serde::from_str::<DfsSpec>("namespace: x\ntargets: []\nextra: 1").is_err());
    }

    #[test]
    fn tsig_key_is_base64_checked_and_never_printed() {
        let d: DnsSpec = yaml_serde::from_str(
            "delegation: single\ntsig: {name: dr-update., secret_base64: 'AAECAwQFBgcICQoLDA0ODw=='}\n",
        )
        .unwrap();
        let t = d.tsig.as_ref().unwrap();
        assert_eq!(t.secret_base64.0, (0u8..16).collect::<Vec<u8>>());
        assert_eq!(t.key().name, "dr-update.");
        assert!(!format!("{d:?}").contains("AAECAwQF"));
        // Round trip (a scenario written out replays).
        let back: DnsSpec = yaml_serde::from_str(&yaml_serde::to_string(&d).unwrap()).unwrap();
        assert_eq!(back, d);
        for bad in ["'not base64!'", "'QQ'", "''", "'QQ==QUJD'"] {
            let text = format!("tsig: {{name: k., secret_base64: {bad}}}");
            let Err(e) = yaml_serde::from_str::<DnsSpec>(&text) else {
                panic!("{bad} accepted");
            };
            let e = e.to_string();
            assert!(e.contains("TSIG secret"), "{e}");
            assert!(!e.contains("base64!") && !e.contains("QQ=="), "{e}");
        }
        for (bytes, text) in [
            (&b""[..], ""),
            (b"f", "Zg=="),
            (b"fo", "Zm8="),
            (b"foo", "Zm9v"),
            (b"foob", "Zm9vYg=="),
        ] {
            assert_eq!(encode_base64(bytes), text);
            assert_eq!(decode_base64(text).unwrap(), bytes);
        }
        assert!(
            yaml_serde::from_str::<TsigSpec>("name: k.\nsecret_base64: Zm9v\nsecret: x").is_err()
        );
    }

    #[test]
    fn schema_generates() {
        let s = serde_json::to_string(&schemars::schema_for!(DnsSpec)).unwrap();
        assert!(s.contains("single") && s.contains("dual") && s.contains("secret_base64"));
        let _ = schemars::schema_for!(AdSpec);
        let _ = schemars::schema_for!(DfsSpec);
    }
}
