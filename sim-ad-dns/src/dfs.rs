//! Simulated DFS namespaces and the referral behaviour DFS-mode failover relies on.
//!
//! A namespace folder (`\\corp.example\root\finance`) has referral targets in priority order
//! (`\\prod\ledger`, `\\dr\ledger`). A DFS client takes the first target whose share exists.
//! DFS-mode failover never touches the namespace: step `dfs_rename_shares` renames the
//! source share `X` → `igls-dfs-X` and the target share `igls-dfs-X` → `X`, so the first
//! target stops existing and clients fall through to the target cluster.
//!
//! Host and share names compare case-insensitively, as SMB does.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::spec::DfsSpec;

/// DFS configuration errors.
#[derive(Debug, Clone, PartialEq, Eq, Error, Serialize, Deserialize)]
pub enum DfsError {
    /// Not a `\\server\share[\path]` UNC path.
    #[error("invalid UNC path {path:?}")]
    InvalidUnc { path: String },
    /// A namespace with the same path (case-insensitive) exists.
    #[error("namespace {path} already exists")]
    Duplicate { path: String },
}

/// Split `\\host\share\rest` into `(host, share, rest)`. `rest` has no leading separator
/// and may be empty. Forward slashes are accepted as separators, as Windows does. Returns
/// `None` unless host and share are both present and non-empty.
pub fn parse_unc(s: &str) -> Option<(String, String, String)> {
    let s = s.trim();
    let body = s.strip_prefix("\\\\").or_else(|| s.strip_prefix("//"))?;
    let mut parts = body.splitn(3, ['\\', '/']);
    let host = parts.next()?;
    let share = parts.next()?;
    if host.is_empty() || share.is_empty() {
        return None;
    }
    let rest: Vec<&str> = parts
        .next()
        .unwrap_or_default()
        .split(['\\', '/'])
        .filter(|c| !c.is_empty())
        .collect();
    Some((host.to_string(), share.to_string(), rest.join("\\")))
}

/// Path components of a UNC path, lower-cased, separators normalised.
fn components(path: &str) -> Option<Vec<String>> {
    let (h, s, rest) = parse_unc(path)?;
    let mut c = vec![h.to_ascii_lowercase(), s.to_ascii_lowercase()];
    c.extend(
        rest.split('\\')
            .filter(|x| !x.is_empty())
            .map(str::to_ascii_lowercase),
    );
    Some(c)
}

/// A namespace folder with its referral targets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Namespace {
    /// `\\domain\root\folder`, as written.
    pub path: String,
    /// `\\host\share`, in priority order.
    pub targets: Vec<String>,
}

impl Namespace {
    /// The first target whose share exists; see [`pick_target`].
    pub fn pick_target(&self, share_exists: impl Fn(&str, &str) -> bool) -> Option<String> {
        pick_target(self, share_exists)
    }
}

/// What a DFS client does with a referral: walk the targets in order and use the first one
/// whose share exists (`share_exists(host, share)`). Malformed targets are skipped.
pub fn pick_target(ns: &Namespace, share_exists: impl Fn(&str, &str) -> bool) -> Option<String> {
    ns.targets
        .iter()
        .find(|t| matches!(parse_unc(t), Some((h, s, _)) if share_exists(&h, &s)))
        .cloned()
}

/// The namespaces of a domain-based DFS root.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DfsRoot {
    /// Keyed by the lower-cased, backslash-normalised path.
    pub namespaces: BTreeMap<String, Namespace>,
}

impl DfsRoot {
    /// No namespaces.
    pub fn new() -> Self {
        Self::default()
    }

    /// Build from the scenario's `world.dfs`.
    pub fn from_specs(specs: &[DfsSpec]) -> Result<Self, DfsError> {
        let mut root = DfsRoot::new();
        for s in specs {
            root.add(Namespace {
                path: s.namespace.clone(),
                targets: s.targets.clone(),
            })?;
        }
        Ok(root)
    }

    /// Add a namespace folder; its path and every target must be valid UNC paths.
    pub fn add(&mut self, ns: Namespace) -> Result<(), DfsError> {
        let key = components(&ns.path)
            .ok_or_else(|| DfsError::InvalidUnc {
                path: ns.path.clone(),
            })?
            .join("\\");
        if let Some(bad) = ns.targets.iter().find(|t| parse_unc(t).is_none()) {
            return Err(DfsError::InvalidUnc { path: bad.clone() });
        }
        if self.namespaces.contains_key(&key) {
            return Err(DfsError::Duplicate { path: ns.path });
        }
        self.namespaces.insert(key, ns);
        Ok(())
    }

    /// The namespace folder that covers `path`: the one with the longest path that is a
    /// component-wise prefix of it (`\\dom\root\finance\q1\x.xlsx` → `\\dom\root\finance`).
    pub fn referral(&self, path: &str) -> Option<&Namespace> {
        let want = components(path)?;
        self.namespaces
            .iter()
            .filter(|(k, _)| {
                let have: Vec<&str> = k.split('\\').collect();
                have.len() <= want.len() && have.iter().zip(&want).all(|(a, b)| *a == b)
            })
            .max_by_key(|(k, _)| k.split('\\').count())
            .map(|(_, ns)| ns)
    }

    /// Full client path resolution: referral, target choice, and the remainder of the path
    /// appended to the chosen target (`\\dom\root\finance\q1` → `\\dr\ledger\q1`).
    pub fn resolve(&self, path: &str, share_exists: impl Fn(&str, &str) -> bool) -> Option<String> {
        let ns = self.referral(path)?;
        let target = pick_target(ns, share_exists)?;
        Self::resolve_via(ns, path, &target)
    }

    /// The end of [`DfsRoot::resolve`] once `ns` (the referral of `path`) and its `target`
    /// are chosen: the remainder of the path appended to the target. A client that writes
    /// through the same path again and again computes this once per target.
    pub fn resolve_via(ns: &Namespace, path: &str, target: &str) -> Option<String> {
        let depth = components(&ns.path)?.len();
        let (h, s, rest) = parse_unc(path)?;
        let mut all: Vec<String> = vec![h, s];
        all.extend(rest.split('\\').filter(|c| !c.is_empty()).map(String::from));
        let tail = &all[depth..];
        let base = target.trim_end_matches(['\\', '/']).to_string();
        Some(if tail.is_empty() {
            base
        } else {
            format!("{base}\\{}", tail.join("\\"))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    /// Shares per host, lower-cased, as a cluster would report them.
    struct Shares(BTreeSet<(String, String)>);

    impl Shares {
        fn new(list: &[(&str, &str)]) -> Self {
            Shares(
                list.iter()
                    .map(|(h, s)| (h.to_ascii_lowercase(), s.to_ascii_lowercase()))
                    .collect(),
            )
        }
        fn rename(&mut self, host: &str, from: &str, to: &str) {
            assert!(self.0.remove(&(host.into(), from.into())));
            self.0.insert((host.into(), to.into()));
        }
        fn exists(&self, h: &str, s: &str) -> bool {
            self.0
                .contains(&(h.to_ascii_lowercase(), s.to_ascii_lowercase()))
        }
    }

    #[test]
    fn parse_unc_forms() {
        assert_eq!(
            parse_unc(r"\\prod\ledger\q1\x.xlsx"),
            Some(("prod".into(), "ledger".into(), r"q1\x.xlsx".into()))
        );
        assert_eq!(
            parse_unc("//prod/ledger/"),
            Some(("prod".into(), "ledger".into(), String::new()))
        );
        assert_eq!(parse_unc(r"\\prod"), None);
        assert_eq!(parse_unc(r"\\prod\"), None);
        assert_eq!(parse_unc(r"\prod\ledger"), None);
        assert_eq!(parse_unc(r"\\\ledger"), None);
        assert_eq!(parse_unc(""), None);
    }

    #[test]
    fn pick_target_follows_share_renames() {
        let mut root = DfsRoot::new();
        root.add(Namespace {
            path: r"\\corp.example\root\finance".into(),
            targets: vec![r"\\prod\ledger".into(), r"\\dr\ledger".into()],
        })
        .unwrap();
        // Before failover the target cluster holds the share under its parked name.
        let mut shares = Shares::new(&[("prod", "ledger"), ("dr", "igls-dfs-ledger")]);
        let ns = root
            .referral(r"\\CORP.example\Root\Finance\q1\x.xlsx")
            .unwrap();
        assert_eq!(
            ns.pick_target(|h, s| shares.exists(h, s)).as_deref(),
            Some(r"\\prod\ledger")
        );

        // dfs_rename_shares: source X -> igls-dfs-X, target igls-dfs-X -> X.
        shares.rename("prod", "ledger", "igls-dfs-ledger");
        shares.rename("dr", "igls-dfs-ledger", "ledger");
        assert_eq!(
            pick_target(ns, |h, s| shares.exists(h, s)).as_deref(),
            Some(r"\\dr\ledger")
        );
        assert_eq!(
            root.resolve(r"\\corp.example\root\finance\q1\x.xlsx", |h, s| shares
                .exists(h, s))
                .as_deref(),
            Some(r"\\dr\ledger\q1\x.xlsx")
        );

        // Half done (source renamed, target not yet): no target, the client sees an error.
        let half = Shares::new(&[("prod", "igls-dfs-ledger"), ("dr", "igls-dfs-ledger")]);
        assert_eq!(ns.pick_target(|h, s| half.exists(h, s)), None);
    }

    #[test]
    fn referral_picks_longest_prefix_and_rejects_bad_input() {
        let mut root = DfsRoot::from_specs(&[
            DfsSpec {
                namespace: r"\\dom\root".into(),
                targets: vec![r"\\a\root".into()],
            },
            DfsSpec {
                namespace: r"\\dom\root\finance".into(),
                targets: vec![r"\\a\fin".into()],
            },
        ])
        .unwrap();
        assert_eq!(
            root.referral(r"\\dom\root\finance\x").unwrap().path,
            r"\\dom\root\finance"
        );
        assert_eq!(root.referral(r"\\dom\root\hr").unwrap().path, r"\\dom\root");
        // "financeX" is not under "finance": matching is by component.
        assert_eq!(
            root.referral(r"\\dom\root\financex").unwrap().path,
            r"\\dom\root"
        );
        assert!(root.referral(r"\\other\root").is_none());
        assert!(root.referral("garbage").is_none());
        assert!(matches!(
            root.add(Namespace {
                path: r"\\DOM\ROOT".into(),
                targets: vec![]
            }),
            Err(DfsError::Duplicate { .. })
        ));
        assert!(matches!(
            root.add(Namespace {
                path: r"\\dom\root\x".into(),
                targets: vec!["nope".into()]
            }),
            Err(DfsError::InvalidUnc { .. })
        ));
    }
}
