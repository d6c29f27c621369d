//! The configuration a config replication job copies, as plain definitions: SMB shares
//! (with permissions), NFS exports, NFS aliases, quotas, snapshot schedules and dedupe
//! paths under one directory tree. [`ConfigSet`] is also the cached copy of a source's
//! configuration (JSON in the store), so its serde form is a stored format: fields are only
//! ever added, with defaults.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::naming::{hits, order_by, path_under};
use crate::papi::{PapiClient, PapiError, QuotaThresholds, SmbPermission};

/// Object types a job copies (all by default). A failover's step 5 leaves quotas to steps
/// 12/13, which own them (the `quotas` option, S1 removal on the source).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Kinds {
    pub shares: bool,
    pub exports: bool,
    pub aliases: bool,
    pub quotas: bool,
    pub snapshot_schedules: bool,
    pub dedupe_paths: bool,
}

impl Kinds {
    /// Every object type.
    pub const ALL: Kinds = Kinds {
        shares: true,
        exports: true,
        aliases: true,
        quotas: true,
        snapshot_schedules: true,
        dedupe_paths: true,
    };

    /// Every object type except quotas.
    pub const WITHOUT_QUOTAS: Kinds = Kinds {
        quotas: false,
        ..Kinds::ALL
    };
}

/// An SMB share of a zone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShareDef {
    pub zone: String,
    pub name: String,
    pub path: String,
    #[serde(default)]
    pub permissions: Vec<SmbPermission>,
    /// Other copied settings as the cluster returned them (description, browsable, ...).
    #[serde(default)]
    pub fields: BTreeMap<String, Value>,
}

/// An NFS export of a zone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportDef {
    pub zone: String,
    /// The cluster's id for it (used only to update or delete it on that cluster).
    #[serde(default)]
    pub id: String,
    pub paths: Vec<String>,
    #[serde(default)]
    pub clients: Vec<String>,
    #[serde(default)]
    pub root_clients: Vec<String>,
    #[serde(default)]
    pub read_only: bool,
    #[serde(default)]
    pub description: Option<String>,
}

/// An NFS alias of a zone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AliasDef {
    pub zone: String,
    pub name: String,
    pub path: String,
}

/// A quota.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuotaDef {
    #[serde(default)]
    pub id: String,
    pub path: String,
    #[serde(rename = "type")]
    pub quota_type: String,
    #[serde(default)]
    pub persona: Option<Value>,
    #[serde(default)]
    pub thresholds: QuotaThresholds,
    #[serde(default)]
    pub enforced: Option<bool>,
    #[serde(default)]
    pub include_snapshots: Option<bool>,
}

/// A snapshot schedule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScheduleDef {
    #[serde(default)]
    pub id: String,
    pub name: String,
    pub path: String,
    pub schedule: String,
    #[serde(default)]
    pub pattern: String,
    #[serde(default)]
    pub duration: Option<u64>,
    #[serde(default)]
    pub alias: Option<String>,
}

/// The configuration of one cluster under one directory tree.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ConfigSet {
    /// The tree it was read under.
    pub base: String,
    #[serde(default)]
    pub shares: Vec<ShareDef>,
    #[serde(default)]
    pub exports: Vec<ExportDef>,
    #[serde(default)]
    pub aliases: Vec<AliasDef>,
    #[serde(default)]
    pub quotas: Vec<QuotaDef>,
    #[serde(default)]
    pub schedules: Vec<ScheduleDef>,
    /// Deduplicated directories under `base`.
    #[serde(default)]
    pub dedupe_paths: Vec<String>,
    /// The cluster's whole dedupe list (PAPI replaces the list: a target update keeps the
    /// paths outside `base`). Not part of what is copied.
    #[serde(default)]
    pub dedupe_all: Vec<String>,
}

impl ConfigSet {
    /// Objects per type: `[shares, exports, aliases, quotas, schedules, dedupe paths]`.
    pub fn counts(&self) -> BTreeMap<&'static str, usize> {
        BTreeMap::from([
            ("smb_share", self.shares.len()),
            ("nfs_export", self.exports.len()),
            ("nfs_alias", self.aliases.len()),
            ("quota", self.quotas.len()),
            ("snapshot_schedule", self.schedules.len()),
            ("dedupe_path", self.dedupe_paths.len()),
        ])
    }
}

/// Share settings copied as they are (ids and zone ids are the target's own).
pub(crate) const SHARE_FIELDS: [&str; 8] = [
    "description",
    "browsable",
    "access_based_enumeration",
    "ca_timeout",
    "continuously_available",
    "file_create_mask",
    "directory_create_mask",
    "oplocks",
];

fn id_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Read the configuration of `client` under `base`, in `zones` (shares, exports and aliases
/// live in access zones). Every read that fails is an error: a failed read is never "none".
pub async fn read(
    client: &PapiClient,
    zones: &[String],
    base: &str,
    kinds: Kinds,
) -> Result<ConfigSet, PapiError> {
    Ok(read_all(client, zones, kinds).await?.under(base))
}

/// Read all the configuration of `client` of the types in `kinds`, in `zones`: what
/// [`ConfigSet::under`] then narrows to one policy's tree. PAPI lists a zone's shares,
/// exports and aliases (and the cluster's quotas and schedules) without a path filter, so
/// a cluster with many policies is read once for all of them
/// ([`super::reads::ConfigReads`]), not once per policy.
pub async fn read_all(
    client: &PapiClient,
    zones: &[String],
    kinds: Kinds,
) -> Result<ConfigSet, PapiError> {
    let mut set = ConfigSet {
        base: "/".to_string(),
        ..ConfigSet::default()
    };
    for zone in zones {
        if kinds.shares {
            for w in client.smb_shares_as::<ShareWire>(zone).await? {
                set.shares.push(w.into_def(zone));
            }
        }
        if kinds.exports {
            for e in client.nfs_exports(zone).await? {
                set.exports.push(export_def(zone, e));
            }
        }
        if kinds.aliases {
            for a in client.nfs_aliases(zone).await? {
                set.aliases.push(alias_def(zone, a));
            }
        }
    }
    if kinds.quotas {
        set.quotas = client.quotas().await?.into_iter().map(quota_def).collect();
    }
    if kinds.snapshot_schedules {
        set.schedules = client
            .snapshot_schedules()
            .await?
            .into_iter()
            .map(schedule_def)
            .collect();
    }
    if kinds.dedupe_paths {
        let d = client.dedupe_settings().await?;
        set.dedupe_paths = d.paths.clone();
        set.dedupe_all = d.paths;
    }
    Ok(set)
}

/// A listed share, only the fields config replication copies: a listing of a big zone is
/// decoded straight into these (a `Value` per share, then a copy of each field, was most
/// of a cluster read). A share the listing cannot decode fails the read: skipping it
/// would make its target copy look orphaned, to be deleted.
#[derive(Clone, Deserialize)]
struct ShareWire {
    name: String,
    path: String,
    #[serde(default)]
    permissions: Vec<SmbPermission>,
    // SHARE_FIELDS, each kept when present and not null.
    #[serde(default)]
    description: Option<Value>,
    #[serde(default)]
    browsable: Option<Value>,
    #[serde(default)]
    access_based_enumeration: Option<Value>,
    #[serde(default)]
    ca_timeout: Option<Value>,
    #[serde(default)]
    continuously_available: Option<Value>,
    #[serde(default)]
    file_create_mask: Option<Value>,
    #[serde(default)]
    directory_create_mask: Option<Value>,
    #[serde(default)]
    oplocks: Option<Value>,
}

impl ShareWire {
    fn into_def(self, zone: &str) -> ShareDef {
        let fields: [(&str, Option<Value>); 8] = [
            ("description", self.description),
            ("browsable", self.browsable),
            ("access_based_enumeration", self.access_based_enumeration),
            ("ca_timeout", self.ca_timeout),
            ("continuously_available", self.continuously_available),
            ("file_create_mask", self.file_create_mask),
            ("directory_create_mask", self.directory_create_mask),
            ("oplocks", self.oplocks),
        ];
        ShareDef {
            zone: zone.to_string(),
            name: self.name,
            path: self.path,
            permissions: self.permissions,
            fields: fields
                .into_iter()
                .filter_map(|(k, v)| v.map(|v| (k.to_string(), v)))
                .collect(),
        }
    }
}

/// A share as PAPI lists it (`raw`, every field) as a definition; `None` when it is not a
/// share (no name or path).
pub(crate) fn share_def(zone: &str, raw: &Value) -> Option<ShareDef> {
    let sh = crate::papi::SmbShare::deserialize(raw).ok()?;
    let fields = SHARE_FIELDS
        .iter()
        .filter_map(|f| {
            raw.get(*f)
                .filter(|v| !v.is_null())
                .map(|v| (f.to_string(), v.clone()))
        })
        .collect();
    Some(ShareDef {
        zone: zone.to_string(),
        name: sh.name,
        path: sh.path,
        permissions: sh.permissions,
        fields,
    })
}

/// An export as a definition (its paths sorted: the order PAPI lists them in is not part
/// of its identity).
pub(crate) fn export_def(zone: &str, e: crate::papi::NfsExport) -> ExportDef {
    let mut paths = e.paths;
    paths.sort();
    ExportDef {
        zone: zone.to_string(),
        id: id_string(&e.id),
        paths,
        clients: e.clients,
        root_clients: e.root_clients,
        read_only: e.read_only,
        description: e.description,
    }
}

pub(crate) fn alias_def(zone: &str, a: crate::papi::NfsAlias) -> AliasDef {
    AliasDef {
        zone: zone.to_string(),
        name: a.name,
        path: a.path,
    }
}

pub(crate) fn quota_def(q: crate::papi::Quota) -> QuotaDef {
    QuotaDef {
        id: q.id,
        path: q.path,
        quota_type: q.quota_type,
        persona: q.persona,
        thresholds: q.thresholds,
        enforced: q.enforced,
        include_snapshots: q.include_snapshots,
    }
}

pub(crate) fn schedule_def(s: crate::papi::SnapshotSchedule) -> ScheduleDef {
    ScheduleDef {
        id: id_string(&s.id),
        name: s.name,
        path: s.path,
        schedule: s.schedule,
        pattern: s.pattern,
        duration: s.duration,
        alias: s.alias,
    }
}

impl ConfigSet {
    /// The objects of this set that lie under `base` (an export only when all its paths
    /// do), with `base` as the set's tree; the whole dedupe list is kept beside the paths
    /// under `base` (PAPI replaces the list as a whole).
    pub fn under(&self, base: &str) -> ConfigSet {
        let under = |p: &str| path_under(p, base);
        ConfigSet {
            base: base.to_string(),
            shares: self
                .shares
                .iter()
                .filter(|s| under(&s.path))
                .cloned()
                .collect(),
            exports: self
                .exports
                .iter()
                .filter(|e| !e.paths.is_empty() && e.paths.iter().all(|p| under(p)))
                .cloned()
                .collect(),
            aliases: self
                .aliases
                .iter()
                .filter(|a| under(&a.path))
                .cloned()
                .collect(),
            quotas: self
                .quotas
                .iter()
                .filter(|q| under(&q.path))
                .cloned()
                .collect(),
            schedules: self
                .schedules
                .iter()
                .filter(|s| under(&s.path))
                .cloned()
                .collect(),
            dedupe_paths: self
                .dedupe_all
                .iter()
                .filter(|p| under(p))
                .cloned()
                .collect(),
            dedupe_all: self.dedupe_all.clone(),
        }
    }
}

/// A read's objects ordered by path, so that one policy's part of a cluster-wide read
/// ([`PathIndex::under`]) is a range query instead of [`ConfigSet::under`]'s scan: the
/// shared read of a 1000-policy failover holds a thousand shares, asked for once per job.
///
/// Each list holds positions in the set's vectors, sorted by path (then position,
/// [`order_by`]); the objects `path_under(p, base)` keeps are two ranges of that order
/// ([`hits`], [`crate::naming::under_ranges`]), put back in the set's order, so the result
/// is what `under` gives, object for object and in the same order (the proptest below
/// compares them).
#[derive(Debug, Clone, Default)]
pub(crate) struct PathIndex {
    shares: Vec<usize>,
    /// By each export's first path: an export is kept only when all its paths are under
    /// the base, so its first one is; the others are checked on the hits.
    exports: Vec<usize>,
    aliases: Vec<usize>,
    quotas: Vec<usize>,
    schedules: Vec<usize>,
    dedupe: Vec<usize>,
}

impl PathIndex {
    /// The index of `set` (which must not change while the index is used with it).
    pub(crate) fn new(set: &ConfigSet) -> Self {
        PathIndex {
            shares: order_by(set.shares.len(), |i| &set.shares[i].path),
            exports: order_by(set.exports.len(), |i| first_path(&set.exports[i])),
            aliases: order_by(set.aliases.len(), |i| &set.aliases[i].path),
            quotas: order_by(set.quotas.len(), |i| &set.quotas[i].path),
            schedules: order_by(set.schedules.len(), |i| &set.schedules[i].path),
            dedupe: order_by(set.dedupe_all.len(), |i| &set.dedupe_all[i]),
        }
    }

    /// `set.under(base)`, with `set` the set this index was built from.
    pub(crate) fn under(&self, set: &ConfigSet, base: &str) -> ConfigSet {
        fn take<T: Clone>(items: &[T], at: Vec<usize>) -> Vec<T> {
            at.into_iter().map(|i| items[i].clone()).collect()
        }
        let exports = hits(&self.exports, |i| first_path(&set.exports[i]), base)
            .into_iter()
            .filter(|i| {
                let e = &set.exports[*i];
                !e.paths.is_empty() && e.paths.iter().all(|p| path_under(p, base))
            })
            .collect();
        ConfigSet {
            base: base.to_string(),
            shares: take(
                &set.shares,
                hits(&self.shares, |i| &set.shares[i].path, base),
            ),
            exports: take(&set.exports, exports),
            aliases: take(
                &set.aliases,
                hits(&self.aliases, |i| &set.aliases[i].path, base),
            ),
            quotas: take(
                &set.quotas,
                hits(&self.quotas, |i| &set.quotas[i].path, base),
            ),
            schedules: take(
                &set.schedules,
                hits(&self.schedules, |i| &set.schedules[i].path, base),
            ),
            dedupe_paths: take(
                &set.dedupe_all,
                hits(&self.dedupe, |i| &set.dedupe_all[i], base),
            ),
            dedupe_all: set.dedupe_all.clone(),
        }
    }
}

/// An export's first path (`""` for none: never under any base, see [`PathIndex`]).
fn first_path(e: &ExportDef) -> &str {
    e.paths.first().map_or("", String::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn field() -> impl Strategy<Value = Option<Value>> {
        prop_oneof![
            Just(None),
            Just(Some(Value::Null)),
            any::<bool>().prop_map(|b| Some(Value::Bool(b))),
            any::<u16>().prop_map(|n| Some(Value::from(n))),
            "[a-z ]{0,8}".prop_map(|s| Some(Value::String(s))),
        ]
    }

    proptest! {
        /// The listing's decoder keeps exactly what the one-share reader keeps.
        #[test]
        fn a_listed_share_is_the_same_definition_as_one_read_alone(
            fields in proptest::collection::vec(field(), SHARE_FIELDS.len()),
            extra in proptest::option::of("[a-z]{1,6}"),
            deny in any::<bool>(),
        ) {
            let mut raw = serde_json::json!({"name": "s", "path": "/ifs/data/s", "id": "s", "zid": 1});
            if deny {
                raw["permissions"] = serde_json::json!([{"permission": "full", "permission_type": "deny",
                    "trustee": {"id": "SID:S-1-1-0", "name": "Everyone", "type": "wellknown"}}]);
            }
            for (k, v) in SHARE_FIELDS.iter().zip(&fields) {
                if let Some(v) = v {
                    raw[*k] = v.clone();
                }
            }
            if let Some(x) = extra {
                raw[x.as_str()] = Value::from(1);
            }
            // `description` is a string to the one-share reader's type.
            prop_assume!(raw.get("description").is_none_or(|d| d.is_string() || d.is_null()));
            let alone = share_def("z", &raw).expect("a share");
            let listed: ShareWire = serde_json::from_value(raw).unwrap();
            prop_assert_eq!(listed.into_def("z"), alone);
        }
    }

    use crate::naming::tests::apath;

    fn set_of(paths: &[String], export_paths: &[Vec<String>]) -> ConfigSet {
        let mut set = ConfigSet::default();
        for (n, p) in paths.iter().enumerate() {
            let name = format!("o{n}");
            set.shares.push(ShareDef {
                zone: "z".into(),
                name: name.clone(),
                path: p.clone(),
                permissions: vec![],
                fields: BTreeMap::new(),
            });
            set.aliases.push(AliasDef {
                zone: "z".into(),
                name: name.clone(),
                path: p.clone(),
            });
            set.quotas.push(QuotaDef {
                id: name.clone(),
                path: p.clone(),
                quota_type: "directory".into(),
                persona: None,
                thresholds: QuotaThresholds::default(),
                enforced: None,
                include_snapshots: None,
            });
            set.schedules.push(ScheduleDef {
                id: name.clone(),
                name,
                path: p.clone(),
                schedule: String::new(),
                pattern: String::new(),
                duration: None,
                alias: None,
            });
            set.dedupe_all.push(p.clone());
        }
        set.dedupe_paths = set.dedupe_all.clone();
        for (n, ps) in export_paths.iter().enumerate() {
            set.exports.push(ExportDef {
                zone: "z".into(),
                id: n.to_string(),
                paths: ps.clone(),
                clients: vec![],
                root_clients: vec![],
                read_only: false,
                description: None,
            });
        }
        set
    }

    proptest! {
        /// The index gives what the scan gives, object for object and in the same order.
        #[test]
        fn the_path_index_agrees_with_the_scan(
            paths in proptest::collection::vec(apath(), 0..16),
            exports in proptest::collection::vec(proptest::collection::vec(apath(), 0..3), 0..8),
            bases in proptest::collection::vec(apath(), 1..8),
        ) {
            let set = set_of(&paths, &exports);
            let index = PathIndex::new(&set);
            for b in &bases {
                prop_assert_eq!(index.under(&set, b), set.under(b), "base {:?}", b);
            }
        }
    }

    #[test]
    fn the_path_index_keeps_components_apart() {
        let p = |s: &str| s.to_string();
        let set = set_of(
            &[
                p("/ifs/ab"),
                p("/ifs/a/x"),
                p("/ifs/a"),
                p("/ifs/a-b"),
                p("/ifs/a/"),
                p("/ifs/a.b"),
            ],
            &[vec![p("/ifs/a/x"), p("/ifs/b")], vec![p("/ifs/a/y")]],
        );
        let index = PathIndex::new(&set);
        for b in ["/ifs/a", "/ifs/a/", "/ifs", "/", "", "/ifs/ab", "/ifs/a/x"] {
            assert_eq!(index.under(&set, b), set.under(b), "base {b:?}");
        }
        let got: Vec<String> = index
            .under(&set, "/ifs/a")
            .shares
            .into_iter()
            .map(|s| s.path)
            .collect();
        assert_eq!(got, ["/ifs/a/x", "/ifs/a", "/ifs/a/"]);
    }
}
