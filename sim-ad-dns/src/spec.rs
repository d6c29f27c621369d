//! Scenario `world:` keys owned by this crate: `ad`, `dns` and `dfs`.
//!
//! These are the serde/JSON-Schema types the `scenarios` crate embeds in its world spec.
//! `deny_unknown_fields` everywhere so that a typo in a scenario file is an error with a
//! location rather than a silently ignored key.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::dns::Delegation;

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
    fn schema_generates() {
        let s = serde_json::to_string(&schemars::schema_for!(DnsSpec)).unwrap();
        assert!(s.contains("single") && s.contains("dual"));
        let _ = schemars::schema_for!(AdSpec);
        let _ = schemars::schema_for!(DfsSpec);
    }
}
