//! Simulated Active Directory domain: machine accounts and their service principal names.
//!
//! The failover steps `remove_source_spns` and `add_target_spns` move the SmartConnect SPNs
//! (`HOST/<short>`, `HOST/<fqdn>`) from the source cluster's machine account to the target's.
//! What matters for clients is the AD rule that an SPN must map to exactly one account: when
//! two accounts carry the same SPN the KDC cannot pick the key to encrypt the service ticket
//! with, and Kerberos to that name fails (`KRB_AP_ERR_MODIFIED` on real clients). Invariant I6
//! is checked against [`Domain::collisions`].
//!
//! Names compare case-insensitively, as in AD: account names (sAMAccountName) and SPNs. The
//! stored spelling is the one first written, so reports show what the caller wrote.
//!
//! Reachability: a domain can be made unreachable (fault `ad_unreachable`). Every *client*
//! call (reads, writes, Kerberos) then fails. The observer methods [`Domain::owners`] and
//! [`Domain::collisions`] do not, because the invariant checker is omniscient and must be able
//! to look at the directory whatever the simulated network does.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::spec::AdSpec;

/// Errors of directory operations (LDAP-like calls made by a cluster's AD provider).
#[derive(Debug, Clone, PartialEq, Eq, Error, Serialize, Deserialize)]
pub enum AdError {
    /// The domain controllers cannot be reached (fault `ad_unreachable`).
    #[error("domain {domain} is unreachable")]
    Unreachable { domain: String },
    /// No machine account with that name.
    #[error("no machine account {account}")]
    NoSuchAccount { account: String },
    /// `add_account` for a name that exists already.
    #[error("machine account {account} already exists")]
    AccountExists { account: String },
    /// An SPN must look like `service/host[:port][/name]`.
    #[error("invalid SPN {spn:?}")]
    InvalidSpn { spn: String },
    /// A checked add found the SPN on another account (what a 2012 R2+ DC or `setspn -S` says).
    #[error("SPN {spn} is already registered on {owner}")]
    DuplicateSpn { spn: String, owner: String },
}

/// Why a client could not get a service ticket for an SPN.
#[derive(Debug, Clone, PartialEq, Eq, Error, Serialize, Deserialize)]
pub enum KerberosError {
    /// No account carries the SPN (`KDC_ERR_S_PRINCIPAL_UNKNOWN`); clients fall back to NTLM.
    #[error("no account has SPN {spn}")]
    NoSuchSpn { spn: String },
    /// More than one account carries the SPN (`KRB_AP_ERR_MODIFIED` on the client).
    #[error("SPN {spn} is on more than one account: {accounts:?}")]
    Duplicate { spn: String, accounts: Vec<String> },
    /// The KDC cannot be reached.
    #[error("domain {domain} is unreachable")]
    Unreachable { domain: String },
}

/// A computer (machine) account, e.g. the one a OneFS cluster joins the domain with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MachineAccount {
    /// Account name as written when created.
    pub name: String,
    /// Service principal names (servicePrincipalName attribute). Never holds two entries
    /// that differ only in case.
    pub spns: BTreeSet<String>,
}

impl MachineAccount {
    /// The stored spelling of `spn` on this account, if any (case-insensitive match).
    fn find_spn(&self, spn: &str) -> Option<&String> {
        self.spns.iter().find(|s| s.eq_ignore_ascii_case(spn))
    }
}

/// An Active Directory domain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Domain {
    /// DNS name of the domain, e.g. `corp.example`.
    pub name: String,
    /// Accounts keyed by lower-cased name (AD names are case-insensitive).
    pub accounts: BTreeMap<String, MachineAccount>,
    /// Whether clients and clusters can reach a domain controller.
    pub reachable: bool,
}

/// The SPNs a SmartConnect name needs: `HOST/<short>` and `HOST/<fqdn>` (short = first
/// label). Lower-cased so that the add and remove steps compare the same strings. A name
/// without a dot yields one SPN.
pub fn smartconnect_spns(name: &str) -> Vec<String> {
    let fqdn = name.trim().trim_end_matches('.').to_ascii_lowercase();
    let short = fqdn.split('.').next().unwrap_or_default().to_string();
    let mut out = vec![format!("HOST/{short}")];
    if short != fqdn {
        out.push(format!("HOST/{fqdn}"));
    }
    out
}

/// Minimal SPN syntax check: `service/instance...` with both parts non-empty and no spaces.
/// Real AD is looser, but rejecting obvious garbage catches caller bugs early.
fn validate_spn(spn: &str) -> Result<(), AdError> {
    let ok = match spn.split_once('/') {
        Some((svc, rest)) => {
            !svc.is_empty() && !rest.is_empty() && !spn.chars().any(char::is_whitespace)
        }
        None => false,
    };
    if ok {
        Ok(())
    } else {
        Err(AdError::InvalidSpn {
            spn: spn.to_string(),
        })
    }
}

impl Domain {
    /// An empty, reachable domain.
    pub fn new(name: impl Into<String>) -> Self {
        Domain {
            name: name.into(),
            accounts: BTreeMap::new(),
            reachable: true,
        }
    }

    /// Build a domain from the scenario's `world.ad`. When the spec lists no accounts, one
    /// machine account per name in `default_accounts` (the cluster names) is created, which is
    /// what joining each cluster to the domain does.
    pub fn from_spec<'a>(
        spec: &AdSpec,
        default_accounts: impl IntoIterator<Item = &'a str>,
    ) -> Result<Self, AdError> {
        let mut d = Domain::new(spec.domain.clone());
        if spec.accounts.is_empty() {
            for name in default_accounts {
                d.add_account(name)?;
            }
        } else {
            for acc in &spec.accounts {
                d.add_account(&acc.name)?;
                for spn in &acc.spns {
                    // Scenario SPNs are planted as written: a scenario may want a collision.
                    d.add_spn(&acc.name, spn)?;
                }
            }
        }
        Ok(d)
    }

    fn check_reachable(&self) -> Result<(), AdError> {
        if self.reachable {
            Ok(())
        } else {
            Err(AdError::Unreachable {
                domain: self.name.clone(),
            })
        }
    }

    fn account_mut(&mut self, account: &str) -> Result<&mut MachineAccount, AdError> {
        self.check_reachable()?;
        self.accounts
            .get_mut(&account.to_ascii_lowercase())
            .ok_or_else(|| AdError::NoSuchAccount {
                account: account.to_string(),
            })
    }

    /// Make the domain (un)reachable. This is the switch itself, so it always works.
    pub fn set_reachable(&mut self, reachable: bool) {
        self.reachable = reachable;
    }

    /// Create a machine account with no SPNs.
    pub fn add_account(&mut self, name: &str) -> Result<(), AdError> {
        self.check_reachable()?;
        let key = name.to_ascii_lowercase();
        if self.accounts.contains_key(&key) {
            return Err(AdError::AccountExists {
                account: name.to_string(),
            });
        }
        self.accounts.insert(
            key,
            MachineAccount {
                name: name.to_string(),
                spns: BTreeSet::new(),
            },
        );
        Ok(())
    }

    /// Look an account up by name (case-insensitive).
    pub fn account(&self, name: &str) -> Result<&MachineAccount, AdError> {
        self.check_reachable()?;
        self.accounts
            .get(&name.to_ascii_lowercase())
            .ok_or_else(|| AdError::NoSuchAccount {
                account: name.to_string(),
            })
    }

    /// The account's SPNs, sorted.
    pub fn spns(&self, account: &str) -> Result<Vec<String>, AdError> {
        Ok(self.account(account)?.spns.iter().cloned().collect())
    }

    /// Replace the account's whole SPN list (what PAPI's PUT on the AD provider does).
    /// Entries equal but for case collapse to the first one given.
    pub fn set_spns(&mut self, account: &str, spns: Vec<String>) -> Result<(), AdError> {
        for spn in &spns {
            validate_spn(spn)?;
        }
        let acc = self.account_mut(account)?;
        let mut new = BTreeSet::new();
        for spn in spns {
            if !new.iter().any(|s: &String| s.eq_ignore_ascii_case(&spn)) {
                new.insert(spn);
            }
        }
        acc.spns = new;
        Ok(())
    }

    /// Add one SPN without checking other accounts (a plain LDAP attribute write, as older
    /// DCs allow; this is how collisions arise). Returns false if the account already had it.
    pub fn add_spn(&mut self, account: &str, spn: &str) -> Result<bool, AdError> {
        validate_spn(spn)?;
        let acc = self.account_mut(account)?;
        if acc.find_spn(spn).is_some() {
            return Ok(false);
        }
        acc.spns.insert(spn.to_string());
        Ok(true)
    }

    /// Add one SPN, refusing if another account has it (`setspn -S`, or a DC that enforces
    /// forest-wide uniqueness). Returns false if the account already had it.
    pub fn add_spn_checked(&mut self, account: &str, spn: &str) -> Result<bool, AdError> {
        validate_spn(spn)?;
        self.check_reachable()?;
        let me = account.to_ascii_lowercase();
        if let Some((_, other)) = self
            .accounts
            .iter()
            .find(|(k, a)| **k != me && a.find_spn(spn).is_some())
        {
            return Err(AdError::DuplicateSpn {
                spn: spn.to_string(),
                owner: other.name.clone(),
            });
        }
        self.add_spn(account, spn)
    }

    /// Remove one SPN (case-insensitive). Returns false if the account did not have it, so a
    /// retried step can tell "already done" from "done now".
    pub fn remove_spn(&mut self, account: &str, spn: &str) -> Result<bool, AdError> {
        let acc = self.account_mut(account)?;
        match acc.find_spn(spn).cloned() {
            Some(stored) => {
                acc.spns.remove(&stored);
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// Names of the accounts carrying `spn` (case-insensitive), sorted. Observer view: works
    /// while the domain is unreachable.
    pub fn owners(&self, spn: &str) -> Vec<String> {
        self.accounts
            .values()
            .filter(|a| a.find_spn(spn).is_some())
            .map(|a| a.name.clone())
            .collect()
    }

    /// Every SPN found on more than one account, keyed by its lower-cased form, with the
    /// owning account names. Empty means invariant I6 holds. Observer view.
    pub fn collisions(&self) -> BTreeMap<String, Vec<String>> {
        let mut by_spn: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for acc in self.accounts.values() {
            for spn in &acc.spns {
                by_spn
                    .entry(spn.to_ascii_lowercase())
                    .or_default()
                    .push(acc.name.clone());
            }
        }
        by_spn.retain(|_, owners| owners.len() > 1);
        by_spn
    }

    /// What a client's ticket request for `spn` gets: the one account whose key the ticket is
    /// encrypted with, or why there is none.
    pub fn kerberos(&self, spn: &str) -> Result<String, KerberosError> {
        if !self.reachable {
            return Err(KerberosError::Unreachable {
                domain: self.name.clone(),
            });
        }
        let mut owners = self.owners(spn);
        match owners.len() {
            0 => Err(KerberosError::NoSuchSpn {
                spn: spn.to_string(),
            }),
            1 => Ok(owners.remove(0)),
            _ => Err(KerberosError::Duplicate {
                spn: spn.to_string(),
                accounts: owners,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn domain() -> Domain {
        let mut d = Domain::new("corp.example");
        d.add_account("prod").unwrap();
        d.add_account("dr").unwrap();
        d
    }

    #[test]
    fn smartconnect_spns_short_and_fqdn() {
        assert_eq!(
            smartconnect_spns("Finance.Corp.Example."),
            vec!["HOST/finance", "HOST/finance.corp.example"]
        );
        assert_eq!(smartconnect_spns("files"), vec!["HOST/files"]);
    }

    #[test]
    fn spn_move_keeps_kerberos_working() {
        let mut d = domain();
        let spns = smartconnect_spns("finance.corp.example");
        d.set_spns("prod", spns.clone()).unwrap();
        assert_eq!(d.kerberos("host/FINANCE").unwrap(), "prod");
        // AZ-mode order: remove from source, then add on target: never two owners.
        for s in &spns {
            assert!(d.remove_spn("prod", s).unwrap());
            assert!(
                !d.remove_spn("prod", s).unwrap(),
                "second removal is a no-op"
            );
            assert!(d.add_spn_checked("dr", s).unwrap());
            assert!(d.collisions().is_empty());
        }
        assert_eq!(d.kerberos("HOST/finance.corp.example").unwrap(), "dr");
        assert!(d.spns("prod").unwrap().is_empty());
    }

    #[test]
    fn spn_collision_breaks_kerberos_and_is_reported() {
        let mut d = domain();
        d.add_spn("prod", "HOST/finance").unwrap();
        // Differs only in case: AD treats it as the same SPN.
        d.add_spn("dr", "host/FINANCE").unwrap();
        assert_eq!(
            d.kerberos("HOST/finance"),
            Err(KerberosError::Duplicate {
                spn: "HOST/finance".into(),
                accounts: vec!["dr".into(), "prod".into()]
            })
        );
        let c = d.collisions();
        assert_eq!(c.len(), 1);
        assert_eq!(c["host/finance"], vec!["dr", "prod"]);
        assert_eq!(d.owners("Host/Finance"), vec!["dr", "prod"]);
        // The checked add refuses to make it worse.
        d.add_account("third").unwrap();
        assert!(matches!(
            d.add_spn_checked("third", "HOST/finance"),
            Err(AdError::DuplicateSpn { .. })
        ));
        // Clearing one side resolves it.
        d.set_spns("dr", vec![]).unwrap();
        assert!(d.collisions().is_empty());
        assert_eq!(d.kerberos("HOST/finance").unwrap(), "prod");
        assert!(matches!(
            d.kerberos("HOST/nothing"),
            Err(KerberosError::NoSuchSpn { .. })
        ));
    }

    #[test]
    fn unreachable_domain_fails_every_client_call() {
        let mut d = domain();
        d.add_spn("prod", "HOST/finance").unwrap();
        d.set_reachable(false);
        let unreachable = AdError::Unreachable {
            domain: "corp.example".into(),
        };
        assert_eq!(d.spns("prod"), Err(unreachable.clone()));
        assert_eq!(d.account("prod").err(), Some(unreachable.clone()));
        assert_eq!(d.add_account("x"), Err(unreachable.clone()));
        assert_eq!(d.set_spns("prod", vec![]), Err(unreachable.clone()));
        assert_eq!(d.add_spn("dr", "HOST/a"), Err(unreachable.clone()));
        assert_eq!(d.add_spn_checked("dr", "HOST/a"), Err(unreachable.clone()));
        assert_eq!(d.remove_spn("prod", "HOST/finance"), Err(unreachable));
        assert!(matches!(
            d.kerberos("HOST/finance"),
            Err(KerberosError::Unreachable { .. })
        ));
        // Nothing changed, and the observer still sees the state.
        assert_eq!(d.owners("HOST/finance"), vec!["prod"]);
        d.set_reachable(true);
        assert_eq!(d.spns("prod").unwrap(), vec!["HOST/finance"]);
    }

    #[test]
    fn set_spns_replaces_and_dedups_case_insensitively() {
        let mut d = domain();
        d.add_spn("prod", "HOST/old").unwrap();
        d.set_spns(
            "PROD",
            vec!["HOST/a".into(), "host/A".into(), "HOST/b".into()],
        )
        .unwrap();
        assert_eq!(d.spns("prod").unwrap(), vec!["HOST/a", "HOST/b"]);
        assert!(matches!(
            d.set_spns("prod", vec!["not an spn".into()]),
            Err(AdError::InvalidSpn { .. })
        ));
        assert!(matches!(
            d.spns("nobody"),
            Err(AdError::NoSuchAccount { .. })
        ));
        assert!(matches!(
            d.add_account("Prod"),
            Err(AdError::AccountExists { .. })
        ));
    }

    #[test]
    fn from_spec_defaults_to_one_account_per_cluster() {
        let spec = AdSpec {
            domain: "corp.example".into(),
            accounts: vec![],
        };
        let d = Domain::from_spec(&spec, ["prod", "dr"]).unwrap();
        assert_eq!(d.accounts.len(), 2);
        let json = serde_json::to_string(&d).unwrap();
        let back: Domain = serde_json::from_str(&json).unwrap();
        assert_eq!(back, d);
    }
}
