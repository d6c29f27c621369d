//! The reference model of the documented rules: which step instances a run must have, what
//! each waits for, when a step must be skipped and why, which rollbacks a failure adds, and
//! the outcome. Written from DESIGN.md §2 ("Order", "Skip semantics", "Safety rules") and
//! docs/safety-rules.md, one rule per line, never from the orchestrator's plan: the report's
//! `deps` are not read. Zones, zone gates and networking chains are computed from the
//! scenario's world and the report's statuses ([`Facts`]).

use std::collections::{BTreeMap, BTreeSet};

use super::facts::Facts;
use super::report::{Skip, Status, StepView};

#[cfg(test)]
pub(crate) mod reference;

/// An instance key: step id × policy × zone.
pub type Key = (String, Option<String>, Option<String>);

fn key(step: &str, policy: Option<&str>, zone: Option<&str>) -> Key {
    (
        step.to_string(),
        policy.map(str::to_string),
        zone.map(str::to_string),
    )
}

/// Label of a key for messages.
pub fn label(k: &Key) -> String {
    match (&k.1, &k.2) {
        (Some(p), _) => format!("{}[{p}]", k.0),
        (None, Some(z)) => format!("{}[zone {z}]", k.0),
        _ => k.0.clone(),
    }
}

/// Zone modes' quota step (seed 16+17 of the Access Zone column), one per zone.
pub const ZONE_QUOTAS: &str = "failover_zone_quotas";

/// Networking steps 6→10 / 14→18, in order (DESIGN §2 table).
pub const NETWORKING: [&str; 5] = [
    "rename_source_smartconnect",
    "remove_source_spns",
    "move_smartconnect_to_target",
    "add_target_spns",
    "repoint_dns",
];

/// A policy's steps in the order each waits for the ones before it (safety-rules.md,
/// Instances: sync_config after sync_data, DFS rename after it, allow_write after it,
/// resync_prep after allow_write, restore_schedule after resync_prep, quotas after
/// restore_schedule, removal after the copy, run_mirror after the removal, config jobs last).
/// A failback after an uncontrolled failover starts each chain with the resync-prep on the
/// returned source (DESIGN §2 "Other runs"), which makes the mirror the chain runs.
pub const POLICY_ORDER: [&str; 11] = [
    "returned_resync_prep",
    "sync_data",
    "sync_config",
    "dfs_rename_shares",
    "allow_write",
    "resync_prep",
    "restore_schedule",
    "failover_quotas",
    "remove_source_quotas",
    "run_mirror",
    "enable_config_jobs",
];

/// Chain steps whose failure skips what waits for them (safety-rules.md, per-policy chain).
/// A failed `failover_quotas` skips only `remove_source_quotas` (safety-rules.md, S1).
pub const CHAIN: [&str; 6] = [
    "returned_resync_prep",
    "sync_data",
    "sync_config",
    "dfs_rename_shares",
    "allow_write",
    "resync_prep",
];

/// Gates whose failure blocks the run: validation and the protections asked for
/// (safety-rules.md, Validation gate). The fence of a returned source is one: if it fails
/// nothing runs (DESIGN §2 safety rule: a name answered by two clusters).
pub const VALIDATION_GATES: [&str; 5] = [
    "fence_returned_source",
    "validate",
    "block_on_warning",
    "data_integrity_lock",
    "disable_protocols",
];

/// Rollback steps (added by the executor, never planned).
pub const ROLLBACKS: [&str; 10] = [
    "rollback_dfs_rename_shares",
    "rollback_lock",
    "rollback_schedules",
    "rollback_config_jobs",
    "rollback_protocols",
    "rollback_repoint_dns",
    "rollback_add_target_spns",
    "rollback_move_smartconnect_to_target",
    "rollback_remove_source_spns",
    "rollback_rename_source_smartconnect",
];

pub fn is_rollback(step: &str) -> bool {
    ROLLBACKS.contains(&step)
}

pub fn is_networking(step: &str) -> bool {
    NETWORKING.contains(&step)
}

fn net_pos(step: &str) -> Option<usize> {
    NETWORKING.iter().position(|s| *s == step)
}

fn policy_pos(step: &str) -> Option<usize> {
    POLICY_ORDER.iter().position(|s| *s == step)
}

/// A rehearsal's per-zone test-alias steps, in order.
pub const TEST_ALIAS_STEPS: [&str; 3] =
    ["add_test_alias", "verify_test_access", "remove_test_alias"];

/// Position in DESIGN §2's global order (0: the fence of a returned source), 1 (and the
/// pre-sync 1p beside it, DESIGN §8), 1(opt), 1a, 1b, 2, 3, 3a, 3b; every other step comes
/// after all of them.
pub fn global_pos(step: &str) -> u8 {
    match step {
        "fence_returned_source" => 0,
        "check_open_files" | "presync" => 1,
        "disable_protocols" => 2,
        "data_integrity_lock" => 3,
        "cache_schedules" => 4,
        "begin" => 5,
        "validate" => 6,
        "block_on_warning" => 7,
        "disable_config_jobs" => 8,
        _ => 9,
    }
}

/// Steps that act on (or read from) the source and so cannot run when it is unreachable
/// (DESIGN §2 "acts on" column: src, src+tgt, src AD; `sync_config` and `failover_quotas`
/// copy the source's objects).
pub fn acts_on_source(step: &str) -> bool {
    matches!(
        step,
        "check_open_files"
            | "presync"
            | "disable_protocols"
            | "data_integrity_lock"
            | "cache_schedules"
            | "sync_data"
            | "sync_config"
            | "dfs_rename_shares"
            | "rename_source_smartconnect"
            | "remove_source_spns"
            | "resync_prep"
            | "failover_quotas"
            | "remove_source_quotas"
            | "failover_zone_quotas"
    )
}

/// Source-side steps that still act with the source down (DESIGN §2 "Other runs",
/// uncontrolled failover): the DFS rename activates the target's share (DFS clients fall
/// through to it while the source answers nothing), and the source's SPNs come off its
/// machine account through the target's AD provider (the domain is up; the seed's
/// "proxied through target cluster"), and `sync_config` applies the configuration the
/// policy's config job cached on its last run (or warns that there is none).
pub fn acts_without_source(step: &str) -> bool {
    matches!(
        step,
        "dfs_rename_shares" | "remove_source_spns" | "sync_config"
    )
}

/// What the model expects of a planned instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Planned {
    /// Attempted (or skipped by a rule).
    Run,
    /// A bare `not_applicable` instance (S6).
    NotApplicable,
}

/// A rollback instance the rules call for, and what must end before it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RollbackWant {
    pub key: Key,
    pub after: Vec<Key>,
    /// The rule that calls for it (for messages).
    pub why: String,
    /// The docs leave it open whether the executor adds it: accepted, not required.
    pub optional: bool,
}

/// A documented predecessor of an instance ([`Model::predecessor_groups`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pred {
    /// One instance.
    One(Key),
    /// For every run policy by name (only those whose zone is `zone`, when given), its
    /// instance of each of `steps`, in that order.
    Policies {
        steps: &'static [&'static str],
        zone: Option<String>,
    },
}

/// The model over one run.
pub struct Model<'f, 'a> {
    pub f: &'f Facts<'a>,
    by_key: BTreeMap<Key, &'f StepView>,
    /// [`Model::failed_validation_gate`], found once (the skip rules ask it per instance).
    failed_gate: Option<&'f StepView>,
    /// [`Model::zone_gate_failures`] of every zone that has run policies, found in one pass
    /// over the policies (the skip rules ask it per instance: a scan of the zone's policies
    /// each time is quadratic in a 1000-policy zone).
    gate_failures: BTreeMap<String, Vec<String>>,
}

impl<'f, 'a> Model<'f, 'a> {
    pub fn new(f: &'f Facts<'a>) -> Self {
        let mut by_key = BTreeMap::new();
        for s in &f.report.steps {
            by_key
                .entry(key(&s.step, s.policy.as_deref(), s.zone.as_deref()))
                .or_insert(s);
        }
        let failed_gate = f
            .report
            .steps
            .iter()
            .filter(|s| VALIDATION_GATES.contains(&s.step.as_str()) && s.status.failed())
            .min_by_key(|s| global_pos(&s.step));
        let mut m = Model {
            f,
            by_key,
            failed_gate,
            gate_failures: BTreeMap::new(),
        };
        let mut gate_failures: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for q in f.policies.values() {
            if !m.synced_for_gate(&q.name) {
                gate_failures
                    .entry(q.zone.clone())
                    .or_default()
                    .push(q.name.clone());
            }
        }
        m.gate_failures = gate_failures;
        m
    }

    /// Instances the executor adds when something fails (rollbacks; in zone modes the
    /// `refresh_clients[Z]` after an S3 undo), as opposed to planned ones.
    pub fn is_added(&self, s: &StepView) -> bool {
        is_rollback(&s.step)
            || (self.f.run.zone_mode() && s.step == "refresh_clients" && s.zone.is_some())
    }

    /// The report's instance for a key.
    pub fn get(&self, k: &Key) -> Option<&'f StepView> {
        self.by_key.get(k).copied()
    }

    fn status(&self, step: &str, policy: Option<&str>, zone: Option<&str>) -> Option<&'f Status> {
        self.get(&key(step, policy, zone)).map(|s| &s.status)
    }

    fn policies(&self) -> impl Iterator<Item = &String> {
        self.f.policies.keys()
    }

    fn quotas(&self) -> bool {
        self.f.run.options.quotas
    }

    /// `remove_source_quotas` is per policy with quotas on, or with the removal option.
    fn removes_quotas(&self) -> bool {
        self.quotas() || self.f.run.options.remove_source_quotas
    }

    /// Networking instances are per zone (zone modes; SyncIQ auto with a mapping), bare
    /// (SyncIQ manual checklist) or a bare `not_applicable` (DFS; SyncIQ auto unmapped).
    fn networking_zoned(&self) -> bool {
        self.f.run.zone_mode() || (self.f.run.synciq() && !self.f.run.manual_networking())
    }

    fn networking_applicable(&self) -> bool {
        if self.f.run.dfs() {
            return false; // DFS clients follow referrals (safety-rules.md, S6)
        }
        self.f.run.zone_mode() || self.f.run.manual_networking() || !self.f.zones.is_empty()
    }

    /// The documented instances of a failover or failback (safety-rules.md, Instances).
    /// Rehearsals are not in the table: `None`.
    pub fn planned(&self) -> Option<BTreeMap<Key, Planned>> {
        if self.f.run.rehearsal() {
            return Some(self.planned_rehearsal());
        }
        let o = &self.f.run.options;
        let mut m = BTreeMap::new();
        let bare = |m: &mut BTreeMap<Key, Planned>, step: &str, on: bool| {
            let p = if on {
                Planned::Run
            } else {
                Planned::NotApplicable
            };
            m.insert(key(step, None, None), p);
        };
        if !self.f.returned.is_empty() {
            bare(&mut m, "fence_returned_source", true);
        }
        bare(&mut m, "check_open_files", true);
        // DESIGN §8, option `presync`: one per policy before the lock, where the source is up
        // and the policy exists before validation (not after an uncontrolled failover).
        if o.presync && self.f.run.controlled && self.f.returned.is_empty() {
            for p in self.policies() {
                m.insert(key("presync", Some(p), None), Planned::Run);
            }
        } else {
            bare(&mut m, "presync", false);
        }
        bare(&mut m, "disable_protocols", o.disable_protocols);
        bare(&mut m, "data_integrity_lock", o.data_integrity);
        bare(&mut m, "begin", true);
        bare(&mut m, "validate", true);
        bare(&mut m, "block_on_warning", o.block_on_warning);
        bare(&mut m, "disable_config_jobs", true);
        let per_policy = |m: &mut BTreeMap<Key, Planned>, step: &str| {
            for p in self.policies() {
                m.insert(key(step, Some(p), None), Planned::Run);
            }
        };
        for p in &self.f.returned {
            m.insert(key("returned_resync_prep", Some(p), None), Planned::Run);
        }
        for step in [
            "cache_schedules",
            "sync_data",
            "sync_config",
            "allow_write",
            "resync_prep",
            "restore_schedule",
            "run_mirror",
            "enable_config_jobs",
        ] {
            per_policy(&mut m, step);
        }
        // DFS mode, and zone modes for the zone's DFS shares (seed step 6's note).
        if self.f.run.dfs() || self.f.run.zone_mode() {
            per_policy(&mut m, "dfs_rename_shares");
        } else {
            bare(&mut m, "dfs_rename_shares", false);
        }
        if self.f.run.zone_mode() {
            // Seed 16+17 in the Access Zone column: quotas fail over per zone; the
            // per-policy quota steps are not applicable there.
            bare(&mut m, "failover_quotas", false);
            bare(&mut m, "remove_source_quotas", false);
            if self.removes_quotas() {
                for z in &self.f.zones {
                    m.insert(key(ZONE_QUOTAS, None, Some(z)), Planned::Run);
                }
            } else {
                bare(&mut m, ZONE_QUOTAS, false);
            }
        } else {
            if self.quotas() {
                per_policy(&mut m, "failover_quotas");
            } else {
                bare(&mut m, "failover_quotas", false);
            }
            if self.removes_quotas() {
                per_policy(&mut m, "remove_source_quotas");
            } else {
                bare(&mut m, "remove_source_quotas", false);
            }
        }
        if self.f.run.zone_mode() {
            for z in &self.f.zones {
                m.insert(key("zone_gate", None, Some(z)), Planned::Run);
            }
        }
        if !self.networking_applicable() {
            for s in NETWORKING {
                bare(&mut m, s, false);
            }
        } else if self.networking_zoned() {
            for z in &self.f.zones {
                for s in NETWORKING {
                    m.insert(key(s, None, Some(z)), Planned::Run);
                }
            }
        } else {
            for s in NETWORKING {
                bare(&mut m, s, true);
            }
        }
        // DESIGN §2 table: refresh_clients runs in DFS mode ("auto": DFS clients follow
        // referrals by themselves). safety-rules.md's S6 list calls it not applicable there;
        // the design wins (reported to the lead).
        if self.f.run.synciq() && !self.f.run.manual_networking() && !self.f.zones.is_empty() {
            // One per mapped zone (safety-rules.md, Instances).
            for z in &self.f.zones {
                m.insert(key("refresh_clients", None, Some(z)), Planned::Run);
            }
        } else {
            bare(
                &mut m,
                "refresh_clients",
                self.networking_applicable() || self.f.run.dfs(),
            );
        }
        Some(m)
    }

    /// The documented instances of a rehearsal (safety-rules.md, Rehearsal): per policy
    /// `cache_schedules`, `sync_data`, `allow_write`, `allow_write_revert` (and the added
    /// `rollback_schedules`); `begin`, `validate`; per zone with a mapped pool the three
    /// test-alias steps, or each as a bare `not_applicable` when no zone has one.
    fn planned_rehearsal(&self) -> BTreeMap<Key, Planned> {
        let mut m = BTreeMap::new();
        // No lock, production keeps running: nothing for a pre-sync to shorten.
        m.insert(key("presync", None, None), Planned::NotApplicable);
        for step in ["begin", "validate"] {
            m.insert(key(step, None, None), Planned::Run);
        }
        for p in self.policies() {
            for step in [
                "cache_schedules",
                "sync_data",
                "allow_write",
                "allow_write_revert",
            ] {
                m.insert(key(step, Some(p), None), Planned::Run);
            }
        }
        for step in TEST_ALIAS_STEPS {
            if self.f.zones.is_empty() {
                m.insert(key(step, None, None), Planned::NotApplicable);
            }
            for z in &self.f.zones {
                m.insert(key(step, None, Some(z)), Planned::Run);
            }
        }
        m
    }

    /// The documented predecessors of an instance (safety-rules.md, "waits for"), as keys.
    /// Only keys; the caller ignores those the report does not have or that are not
    /// applicable. [`Model::predecessor_groups`] is the same list, with the per-policy parts
    /// kept as groups.
    pub fn predecessors(&self, s: &StepView) -> Vec<Key> {
        let mut out = Vec::new();
        for pred in self.predecessor_groups(s) {
            match pred {
                Pred::One(k) => out.push(k),
                Pred::Policies { steps, zone } => {
                    for q in self.group_policies(zone.as_deref()) {
                        out.extend(steps.iter().map(|st| key(st, Some(q), None)));
                    }
                }
            }
        }
        out
    }

    /// The run policies of a [`Pred::Policies`] group, by name: all, or those of `zone`.
    pub fn group_policies<'s>(&'s self, zone: Option<&'s str>) -> impl Iterator<Item = &'s str> {
        self.f
            .policies
            .values()
            .filter(move |p| zone.is_none_or(|z| p.zone == z))
            .map(|p| p.name.as_str())
    }

    /// The documented predecessors of an instance (safety-rules.md, "waits for"), in their
    /// order, with "every run policy's X" (or every zone policy's) as one [`Pred::Policies`]
    /// rather than a key per policy: a step that waits for 1,000 policies' steps is then
    /// judged against their latest end (`steps::i1_order`), not 1,000 keys.
    pub fn predecessor_groups(&self, s: &StepView) -> Vec<Pred> {
        let p = s.policy.as_deref();
        let z = s.zone.as_deref();
        let one = |step: &str, policy: Option<&str>, zone: Option<&str>| {
            Pred::One(key(step, policy, zone))
        };
        let bare = |step: &str| one(step, None, None);
        let of = |step: &str| one(step, p, None);
        let all = |steps: &'static [&'static str]| Pred::Policies { steps, zone: None };
        let zone_all = |steps: &'static [&'static str], zone: &str| Pred::Policies {
            steps,
            zone: Some(zone.to_string()),
        };
        let prep = || {
            vec![
                bare("check_open_files"),
                bare("disable_protocols"),
                bare("data_integrity_lock"),
            ]
        };
        if self.f.run.rehearsal() {
            // DESIGN §2 "Rehearsal": allow-write on the target, then its revert; the
            // schedules held meanwhile are put back after the revert.
            return match s.step.as_str() {
                "begin" => vec![all(&["cache_schedules"])],
                "validate" => vec![bare("begin")],
                "sync_data" => vec![bare("validate")],
                "allow_write" => vec![of("sync_data")],
                // The test window of a zone: its alias after validation, the check after the
                // alias and every zone policy's allow-write, the alias removal after the
                // check, and each zone policy's revert after the alias removal.
                "add_test_alias" => vec![bare("validate")],
                "verify_test_access" => {
                    let z = z.unwrap_or_default();
                    vec![
                        one("add_test_alias", None, Some(z)),
                        zone_all(&["allow_write"], z),
                    ]
                }
                "remove_test_alias" => vec![one("verify_test_access", None, z)],
                "allow_write_revert" => {
                    let mut v = vec![of("allow_write")];
                    if let Some(zone) = p.and_then(|p| self.f.zone_of_policy(p)) {
                        if self.f.zones.iter().any(|x| x == zone) {
                            v.push(one("remove_test_alias", None, Some(zone)));
                        }
                    }
                    v
                }
                "rollback_schedules" if p.is_some() => {
                    vec![of("allow_write_revert"), of("cache_schedules")]
                }
                _ => vec![],
            };
        }
        // A returned source is fenced before anything else (DESIGN §2 "Other runs").
        let fence = || -> Vec<Pred> {
            if !self.f.returned.is_empty() {
                vec![bare("fence_returned_source")]
            } else {
                vec![]
            }
        };
        match s.step.as_str() {
            "fence_returned_source" => vec![],
            "check_open_files" => fence(),
            // DESIGN §8: the pre-syncs end before the lock (and the protocol switch), and
            // so before the preparation that follows it.
            "presync" => fence(),
            "disable_protocols" => vec![bare("check_open_files"), all(&["presync"])],
            "data_integrity_lock" => vec![
                bare("check_open_files"),
                bare("disable_protocols"),
                all(&["presync"]),
            ],
            "cache_schedules" => [prep(), fence(), vec![all(&["presync"])]].concat(),
            "begin" => [prep(), vec![all(&["cache_schedules"])]].concat(),
            "validate" => vec![bare("begin")],
            "block_on_warning" => vec![bare("validate")],
            "disable_config_jobs" => vec![bare("validate"), bare("block_on_warning")],
            "returned_resync_prep" => vec![bare("disable_config_jobs")],
            "sync_data" if p.is_some_and(|p| self.f.returned.contains(p)) => {
                vec![bare("disable_config_jobs"), of("returned_resync_prep")]
            }
            "sync_data" => vec![bare("disable_config_jobs")],
            "sync_config" => vec![of("sync_data")],
            // Zone modes: also after the zone gate (a held gate leaves nothing to undo).
            "dfs_rename_shares" => {
                let mut v = vec![of("sync_config")];
                if self.f.run.zone_mode() {
                    if let Some(zone) = p.and_then(|p| self.f.zone_of_policy(p)) {
                        v.push(one("zone_gate", None, Some(zone)));
                    }
                }
                v
            }
            "zone_gate" => vec![zone_all(
                &["sync_data", "sync_config"],
                z.unwrap_or_default(),
            )],
            n if is_networking(n) => {
                let k = net_pos(n).unwrap_or(0);
                let mut v = Vec::new();
                if k > 0 {
                    v.push(one(NETWORKING[k - 1], None, z));
                    if self.f.run.zone_mode() {
                        return v;
                    }
                }
                // SyncIQ mode: each also waits for every enable_config_jobs and the
                // allow_write of every policy of its zone (bare: of every policy) (S2).
                match z {
                    // Zone modes: the zone gate and the zone's DFS renames first
                    // (safety-rules.md).
                    Some(z) if self.f.run.zone_mode() => {
                        v.push(one("zone_gate", None, Some(z)));
                        v.push(zone_all(&["dfs_rename_shares"], z));
                    }
                    // SyncIQ mode, mapped: every zone policy's allow_write (S2).
                    Some(z) => {
                        v.push(all(&["enable_config_jobs"]));
                        v.push(zone_all(&["allow_write"], z));
                    }
                    // SyncIQ manual checklist: after every policy chain and every
                    // allow_write (S2: it moves the names of all the run's paths).
                    None => {
                        v.push(all(&["enable_config_jobs"]));
                        v.push(all(&["allow_write"]));
                    }
                }
                v
            }
            "allow_write" => {
                let mut v = vec![of("sync_config")];
                if self.f.run.dfs() || self.f.run.zone_mode() {
                    v.push(of("dfs_rename_shares"));
                }
                if self.f.run.zone_mode() {
                    if let Some(zone) = p.and_then(|p| self.f.zone_of_policy(p)) {
                        v.push(one("repoint_dns", None, Some(zone)));
                    }
                }
                v
            }
            "resync_prep" => vec![of("allow_write")],
            "restore_schedule" => vec![of("resync_prep"), of("cache_schedules")],
            "failover_quotas" => vec![of("allow_write"), of("restore_schedule")],
            "remove_source_quotas" if self.quotas() => vec![of("failover_quotas")],
            "remove_source_quotas" => vec![of("allow_write"), of("restore_schedule")],
            "run_mirror" => {
                let mut v = vec![
                    of("resync_prep"),
                    of("restore_schedule"),
                    of("remove_source_quotas"),
                ];
                // Zone modes: after its zone's quota step (no quota on a SyncIQ target
                // directory when the mirror writes into it).
                if self.f.run.zone_mode() {
                    if let Some(zone) = p.and_then(|p| self.f.zone_of_policy(p)) {
                        v.push(one(ZONE_QUOTAS, None, Some(zone)));
                    }
                }
                v
            }
            // Zone modes: after the zone gate and every zone policy's allow_write,
            // resync_prep and restore_schedule.
            ZONE_QUOTAS => {
                let z = z.unwrap_or_default();
                vec![
                    one("zone_gate", None, Some(z)),
                    zone_all(&["allow_write", "resync_prep", "restore_schedule"], z),
                ]
            }
            "enable_config_jobs" => vec![of("resync_prep"), of("run_mirror")],
            // Every chain end, and its zone's networking (bare: every networking instance).
            "refresh_clients" => {
                let mut v = vec![all(&["enable_config_jobs"])];
                v.extend(
                    self.f
                        .report
                        .steps
                        .iter()
                        .filter(|x| {
                            is_networking(&x.step) && (z.is_none() || x.zone.as_deref() == z)
                        })
                        .map(|x| one(&x.step, None, x.zone.as_deref())),
                );
                v
            }
            _ => vec![],
        }
    }

    /// A failed S3 undo stops its partner (safety-rules.md, Other rules):
    /// `rollback_remove_source_spns[Z]` is skipped when `rollback_add_target_spns[Z]` failed
    /// or was skipped (one SPN on two accounts), `rollback_rename_source_smartconnect[Z]` when
    /// `rollback_move_smartconnect_to_target[Z]` did (two clusters answering one name), each
    /// with `networking_failed{step: <the partner undo>, zone: Z}`. No other undo failure
    /// skips anything.
    pub fn undo_skip(&self, s: &StepView) -> Option<Skip> {
        let z = s.zone.as_deref()?;
        if s.policy.is_some() || !self.is_added(s) {
            return None;
        }
        let partner = match s.step.as_str() {
            "rollback_remove_source_spns" => "rollback_add_target_spns",
            "rollback_rename_source_smartconnect" => "rollback_move_smartconnect_to_target",
            _ => return None,
        };
        self.status(partner, None, Some(z))
            .filter(|st| st.failed() || st.skip().is_some())
            .map(|_| Skip::NetworkingFailed {
                step: partner.to_string(),
                zone: z.to_string(),
            })
    }

    /// The validation gate that failed, if any (safety-rules.md: only one can).
    pub fn failed_validation_gate(&self) -> Option<&'f StepView> {
        self.failed_gate
    }

    /// The zone policies whose `sync_data` or `sync_config` did not succeed: the zone gate
    /// fails iff there is one (safety-rules.md, Zone gate), sorted by name.
    pub fn zone_gate_failures(&self, zone: &str) -> Vec<String> {
        self.gate_failures.get(zone).cloned().unwrap_or_default()
    }

    /// Whether run policy `q` synced its data and config as far as the zone gate asks.
    fn synced_for_gate(&self, q: &str) -> bool {
        // Uncontrolled: a final sync skipped for the dead source does not hold the gate
        // (the zone cuts over to the last good sync).
        let synced = |step: &str| {
            self.f.report.succeeded(step, q)
                || (!self.f.run.controlled
                    && self
                        .status(step, Some(q), None)
                        .is_some_and(|s| matches!(s, Status::Skipped(Skip::SourceUnreachable))))
        };
        synced("sync_data") && synced("sync_config")
    }

    /// The earliest failed networking instance of a zone (`None` = the bare checklist).
    pub fn networking_failure(&self, zone: Option<&str>, before: usize) -> Option<&'static str> {
        NETWORKING[..before.min(NETWORKING.len())]
            .iter()
            .copied()
            .find(|n| self.status(n, None, zone).is_some_and(Status::failed))
    }

    /// Zone modes, S3: every allow_write of the zone is over, none succeeded, and at least
    /// one failed or was skipped for its own chain (the names moved, nothing became
    /// writable behind them).
    pub fn no_allow_write_succeeded(&self, zone: &str) -> bool {
        let aws: Vec<&Status> = self
            .f
            .zone_policies(zone)
            .iter()
            .filter_map(|p| self.status("allow_write", Some(p), None))
            .collect();
        !aws.is_empty()
            && aws.iter().all(|s| s.terminal() && !s.succeeded())
            && aws.iter().any(|s| {
                matches!(
                    s,
                    Status::Failed { .. } | Status::Skipped(Skip::UpstreamFailed { .. })
                )
            })
    }

    /// Zone modes: the zone's cut-over was rolled back as a whole (S3): a networking step
    /// of the zone failed, or none of its allow_writes succeeded.
    pub fn zone_rolled_back(&self, zone: &str) -> bool {
        self.f.run.zone_mode()
            && self.zone_gate_failures(zone).is_empty()
            && (self
                .networking_failure(Some(zone), NETWORKING.len())
                .is_some()
                || self.no_allow_write_succeeded(zone))
    }

    /// The earliest failed chain step of `policy` that `step` waits for.
    fn chain_failure(&self, policy: &str, step: &str) -> Option<&'static str> {
        let me = policy_pos(step)?;
        POLICY_ORDER[..me]
            .iter()
            .copied()
            // S1: a failed quota copy stops the source quotas' removal, and nothing else.
            .filter(|c| {
                CHAIN.contains(c) || (*c == "failover_quotas" && step == "remove_source_quotas")
            })
            .find(|c| {
                self.status(c, Some(policy), None)
                    .is_some_and(Status::failed)
            })
    }

    /// The reason a networking chain (a zone's, or the bare checklist) passes on to what
    /// waits for it: its first failure (`networking_failed`), else the S2 `upstream_failed`
    /// its instances were skipped with (safety-rules.md, Networking chain).
    fn chain_reason(&self, zone: Option<&str>) -> Option<Skip> {
        if let Some(n) = self.networking_failure(zone, NETWORKING.len()) {
            return Some(Skip::NetworkingFailed {
                step: n.to_string(),
                zone: zone.unwrap_or_default().to_string(),
            });
        }
        if self.f.run.synciq() {
            return self.s2_reason(zone);
        }
        None
    }

    /// S2, SyncIQ mode: the reason a zone's networking (`zone`), or the bare manual
    /// checklist (`None`: every run policy), is skipped for its policies' `allow_write`: the
    /// first such policy by name whose `allow_write` failed or was skipped gives
    /// `allow_write`, else the step its own skip names.
    fn s2_reason(&self, zone: Option<&str>) -> Option<Skip> {
        let policies = match zone {
            Some(z) => self.f.zone_policies(z),
            None => self.policies().cloned().collect(),
        };
        for q in policies {
            match self.status("allow_write", Some(&q), None) {
                Some(Status::Failed { .. }) => {
                    return Some(Skip::UpstreamFailed {
                        step: "allow_write".into(),
                        policy: q,
                    })
                }
                Some(Status::Skipped(r)) => {
                    let step = match r {
                        Skip::UpstreamFailed { step, .. } => step.clone(),
                        _ => "allow_write".into(),
                    };
                    return Some(Skip::UpstreamFailed { step, policy: q });
                }
                _ => {}
            }
        }
        None
    }

    /// The reasons `refresh_clients` may be skipped with when a networking chain it waits
    /// for failed or was skipped (any one of them: the docs do not order the chains).
    pub fn refresh_reasons(&self) -> Vec<Skip> {
        if !self.networking_applicable() {
            return vec![];
        }
        let chains: Vec<Option<&str>> = if self.networking_zoned() {
            self.f.zones.iter().map(|z| Some(z.as_str())).collect()
        } else {
            vec![None]
        };
        chains
            .into_iter()
            .filter_map(|z| self.chain_reason(z))
            .collect()
    }

    /// The zone an instance belongs to for the zone-level rules.
    fn zone_of(&self, s: &StepView) -> Option<String> {
        if let Some(z) = &s.zone {
            return Some(z.clone());
        }
        if let Some(p) = &s.policy {
            return self.f.zone_of_policy(p).map(str::to_string);
        }
        if s.step == "refresh_clients" && self.f.run.zone_mode() {
            return self.f.zones.first().cloned();
        }
        None
    }

    /// Steps of a policy behind its `allow_write` (what follows the cut-over).
    fn from_allow_write_on(step: &str) -> bool {
        policy_pos(step).is_some_and(|i| i >= 4)
    }

    /// The documented skip reason of an instance, if it must be skipped (safety-rules.md,
    /// "Skip rules", in their precedence).
    pub fn expected_skip(&self, s: &StepView) -> Option<Skip> {
        let step = s.step.as_str();
        if self.is_added(s) {
            return None;
        }
        if self.f.run.rehearsal() {
            return self.rehearsal_skip(s);
        }
        // 1. Validation gate: every later non-rollback step.
        if let Some(g) = self.failed_validation_gate() {
            if global_pos(step) > global_pos(&g.step) {
                return Some(Skip::ValidationFailed {
                    step: g.step.clone(),
                });
            }
        }
        // 2. Uncontrolled: steps acting on the source, and what waits for resync_prep[P].
        if !self.f.run.controlled {
            if acts_on_source(step) && !acts_without_source(step) {
                return Some(Skip::SourceUnreachable);
            }
            if s.policy.is_some() && policy_pos(step).is_some_and(|i| i > 5) {
                return Some(Skip::SourceUnreachable);
            }
        }
        let zone = self.zone_of(s);
        let zone_mode = self.f.run.zone_mode();
        // 3. Zone gate (zone modes): networking, allow_write and after, refresh_clients.
        let behind_gate = is_networking(step)
            || step == ZONE_QUOTAS
            || (s.policy.is_some()
                && (Self::from_allow_write_on(step) || step == "dfs_rename_shares"))
            || step == "refresh_clients";
        if zone_mode && behind_gate {
            if let Some(z) = &zone {
                let failed = self.zone_gate_failures(z);
                if !failed.is_empty() {
                    return Some(Skip::ZoneGate {
                        zone: z.clone(),
                        failed_policies: failed,
                    });
                }
            }
        }
        // 4. Networking chain (S2, S3): later networking of the zone, refresh_clients; in
        // zone modes also its allow_writes and what follows them.
        if step == "refresh_clients" {
            return match &s.zone {
                Some(z) => self.chain_reason(Some(z)),
                None => self.refresh_reasons().into_iter().next(),
            };
        }
        if let Some(k) = net_pos(step) {
            if let Some(n) = self.networking_failure(s.zone.as_deref(), k) {
                return Some(Skip::NetworkingFailed {
                    step: n.to_string(),
                    zone: s.zone.clone().unwrap_or_default(),
                });
            }
        } else if zone_mode && behind_gate && step != "dfs_rename_shares" {
            // (The zone's DFS renames come before its networking.)
            if let Some(z) = &zone {
                if let Some(n) = self.networking_failure(Some(z), NETWORKING.len()) {
                    return Some(Skip::NetworkingFailed {
                        step: n.to_string(),
                        zone: z.clone(),
                    });
                }
            }
        }
        // 5. S2, SyncIQ mode: a zone's networking waits for its policies' allow_write.
        if self.f.run.synciq() && is_networking(step) {
            if let Some(r) = self.s2_reason(s.zone.as_deref()) {
                return Some(r);
            }
        }
        // 6. Zone modes, the zone's quota step: it moves the quotas of the zone policies that
        // failed over, so it is skipped only when none did (no zone policy's resync_prep
        // succeeded), with the first such policy's (by name) reason: its resync_prep failed,
        // or the reason that skipped it.
        if step == ZONE_QUOTAS {
            let z = s.zone.as_deref()?;
            let mut qs = self.f.zone_policies(z);
            qs.sort();
            if qs.iter().any(|q| self.f.report.succeeded("resync_prep", q)) {
                return None;
            }
            let q = qs.first()?;
            return match self.status("resync_prep", Some(q), None)? {
                Status::Failed { .. } => Some(Skip::UpstreamFailed {
                    step: "resync_prep".into(),
                    policy: q.clone(),
                }),
                Status::Skipped(r) => Some(r.clone()),
                _ => None,
            };
        }
        // 7. The policy's chain: the earliest failed chain step it waits for.
        let p = s.policy.as_deref()?;
        self.chain_failure(p, step).map(|c| Skip::UpstreamFailed {
            step: c.to_string(),
            policy: p.to_string(),
        })
    }

    /// Rehearsal: a failed validation skips the rest; a failed sync or allow-write skips
    /// the policy's later steps (DESIGN §2; the revert-and-restore step always runs).
    fn rehearsal_skip(&self, s: &StepView) -> Option<Skip> {
        if let Some(g) = self.failed_validation_gate() {
            if global_pos(&s.step) > global_pos(&g.step) {
                return Some(Skip::ValidationFailed {
                    step: g.step.clone(),
                });
            }
        }
        let p = s.policy.as_deref()?;
        let order = ["sync_data", "allow_write", "allow_write_revert"];
        let me = order.iter().position(|x| *x == s.step)?;
        order[..me]
            .iter()
            .find(|c| self.status(c, Some(p), None).is_some_and(Status::failed))
            .map(|c| Skip::UpstreamFailed {
                step: c.to_string(),
                policy: p.to_string(),
            })
    }

    /// The rollback instances the rules call for (safety-rules.md, Rollbacks), with what
    /// must end before each starts. Rehearsals: none beyond their plan.
    pub fn rollbacks(&self) -> Vec<RollbackWant> {
        let mut out: Vec<RollbackWant> = Vec::new();
        if self.f.run.rehearsal() {
            return out;
        }
        let ok_or_failed = |step: &str| {
            self.status(step, None, None)
                .is_some_and(|s| s.succeeded() || s.failed())
        };
        let did =
            |step: &str, p: Option<&str>| self.status(step, p, None).is_some_and(Status::succeeded);
        // Policies whose schedule cache_schedules set aside (a non-empty schedule).
        let had_schedule = |p: &str| {
            did("cache_schedules", Some(p))
                && self
                    .f
                    .report
                    .cached_schedules
                    .get(p)
                    .is_some_and(|s| !s.is_empty())
        };
        let prep = |cause: Vec<Key>, why: &str, out: &mut Vec<RollbackWant>| {
            let mut push = |k: Key| {
                out.push(RollbackWant {
                    key: k,
                    after: cause.clone(),
                    why: why.to_string(),
                    optional: false,
                })
            };
            // A lock or protocol shutdown that failed half-way may have acted: undone too.
            if ok_or_failed("data_integrity_lock") {
                push(key("rollback_lock", None, None));
            }
            for p in self.policies() {
                if had_schedule(p) {
                    push(key("rollback_schedules", Some(p), None));
                }
            }
            if did("disable_config_jobs", None) {
                push(key("rollback_config_jobs", None, None));
            }
            if ok_or_failed("disable_protocols") {
                push(key("rollback_protocols", None, None));
            }
        };
        // Gate failed (validation gate, or a zone gate): the preparation is rolled back.
        if let Some(g) = self.failed_validation_gate() {
            let cause = vec![key(&g.step, None, None)];
            prep(cause, &format!("{} failed", g.step), &mut out);
            return out;
        }
        if self.f.run.zone_mode() {
            for z in &self.f.zones {
                if !self.zone_gate_failures(z).is_empty() {
                    let cause = vec![key("zone_gate", None, Some(z))];
                    prep(cause, &format!("zone gate of {z} held"), &mut out);
                    continue;
                }
                // S3: a networking step failed (undo after it, then refresh the clients), or
                // every allow_write ended without success (undo after all of them).
                let (why, first_after) = match self.networking_failure(Some(z), NETWORKING.len()) {
                    Some(n) => (
                        format!("S3: {n}[zone {z}] failed"),
                        vec![key(n, None, Some(z))],
                    ),
                    None if self.no_allow_write_succeeded(z) => (
                        format!("S3: no allow_write of zone {z} succeeded"),
                        self.f
                            .zone_policies(z)
                            .iter()
                            .map(|p| key("allow_write", Some(p), None))
                            .collect(),
                    ),
                    None => continue,
                };
                let mut prev = first_after;
                for step in NETWORKING.iter().rev() {
                    let acted = self
                        .status(step, None, Some(z))
                        .is_some_and(|s| s.succeeded() || s.failed());
                    if acted {
                        let k = key(&format!("rollback_{step}"), None, Some(z));
                        out.push(RollbackWant {
                            key: k.clone(),
                            after: prev.clone(),
                            why: why.clone(),
                            optional: false,
                        });
                        prev = vec![k];
                    }
                }
                // S4: the zone's switched DFS shares go back to the source as well, after
                // the last networking undo (safety-rules.md, Rollbacks).
                for p in self.f.zone_policies(z) {
                    let switched = self
                        .status("dfs_rename_shares", Some(&p), None)
                        .is_some_and(|s| s.succeeded() || s.failed());
                    if switched {
                        out.push(RollbackWant {
                            key: key("rollback_dfs_rename_shares", Some(&p), None),
                            after: prev.clone(),
                            why: why.clone(),
                            optional: false,
                        });
                    }
                }
                // Clients that reconnected while the names pointed at the target reconnect
                // to the names now home: after any S3 undo, `refresh_clients[Z]` waits for
                // the last undo instance (safety-rules.md, Rollbacks).
                out.push(RollbackWant {
                    key: key("refresh_clients", None, Some(z)),
                    after: prev.clone(),
                    why: why.clone(),
                    optional: false,
                });
                prep(prev, &why, &mut out);
            }
        }
        // Zones rolled back as a whole (gate held, S3): no per-policy S5 rollbacks for their
        // policies; elsewhere S5 applies, each only if the global rollback of the same kind
        // is not there already (safety-rules.md, S5).
        let whole: BTreeSet<String> = if self.f.run.zone_mode() {
            self.f
                .zones
                .iter()
                .filter(|z| !self.zone_gate_failures(z).is_empty() || self.zone_rolled_back(z))
                .cloned()
                .collect()
        } else {
            BTreeSet::new()
        };
        let global: BTreeSet<Key> = out.iter().map(|r| r.key.clone()).collect();
        // S5: a policy whose allow_write failed, or was skipped for its own chain.
        let hold = self.f.run.hold();
        for p in self.policies() {
            let cut_failed = matches!(
                self.status("allow_write", Some(p), None),
                Some(Status::Failed { .. } | Status::Skipped(Skip::UpstreamFailed { .. }))
            );
            if !cut_failed || hold {
                continue;
            }
            if self.f.zone_of_policy(p).is_some_and(|z| whole.contains(z)) {
                continue;
            }
            let cause = vec![key("allow_write", Some(p), None)];
            let why = format!("S5: allow_write[{p}] did not succeed for its own chain");
            let mut push = |step: &str| {
                let same_kind = if step == "rollback_schedules" {
                    key(step, Some(p), None)
                } else {
                    key(step, None, None)
                };
                if global.contains(&same_kind) {
                    return;
                }
                out.push(RollbackWant {
                    key: key(step, Some(p), None),
                    after: cause.clone(),
                    why: why.clone(),
                    optional: false,
                })
            };
            if ok_or_failed("data_integrity_lock") {
                push("rollback_lock");
            }
            if had_schedule(p) {
                push("rollback_schedules");
            }
            if did("disable_config_jobs", None) {
                push("rollback_config_jobs");
            }
            // S4/S5: DFS shares switched to the target would send P's DFS clients to a
            // read-only copy; the switch is undone (safety-rules.md, S5, DFS mode).
            if (self.f.run.dfs() || self.f.run.zone_mode())
                && self
                    .status("dfs_rename_shares", Some(p), None)
                    .is_some_and(|s| s.succeeded() || s.failed())
            {
                push("rollback_dfs_rename_shares");
            }
        }
        // Protocols (S5): back on once nothing can split writes — every allow_write and
        // resync_prep over, some allow_write not succeeded, and every policy that was cut
        // over has its source copy read-only (its resync_prep succeeded).
        let of_all = |step: &str| -> Vec<&StepView> {
            self.policies()
                .filter_map(|p| self.get(&key(step, Some(p), None)))
                .collect()
        };
        let (allows, resyncs) = (of_all("allow_write"), of_all("resync_prep"));
        let over = allows
            .iter()
            .chain(resyncs.iter())
            .all(|a| a.status.terminal());
        let some_not_cut = allows.iter().any(|a| !a.status.succeeded());
        let fenced = self
            .policies()
            .filter(|p| self.f.report.succeeded("allow_write", p))
            .all(|p| self.f.report.succeeded("resync_prep", p));
        let have_protocols = out
            .iter()
            .any(|r| r.key == key("rollback_protocols", None, None));
        if !hold
            && !have_protocols
            && over
            && some_not_cut
            && fenced
            && ok_or_failed("disable_protocols")
        {
            out.push(RollbackWant {
                key: key("rollback_protocols", None, None),
                after: allows
                    .iter()
                    .chain(resyncs.iter())
                    .map(|a| key(&a.step, a.policy.as_deref(), None))
                    .collect(),
                why: "S5: protocols back on once no write can split (safety-rules.md, Protocols)"
                    .into(),
                optional: false,
            });
        }
        out
    }

    /// The outcome the statuses give (safety-rules.md, Outcome).
    pub fn outcome(&self) -> &'static str {
        let steps = &self.f.report.steps;
        if self.failed_validation_gate().is_some() {
            return "blocked";
        }
        let waiting = steps
            .iter()
            .any(|s| !s.status.terminal() || s.status.skip() == Some(&Skip::WaitingForOperator));
        if waiting {
            return "paused";
        }
        // A failed pre-sync costs outage time only (the final sync carries its changes;
        // DESIGN §8): it does not make the run partial.
        let fine = |s: &StepView| {
            s.status.ok()
                || s.status.skip() == Some(&Skip::SourceUnreachable)
                || (s.step == "presync" && s.status.failed())
        };
        if steps.iter().all(fine) {
            return "succeeded";
        }
        if steps
            .iter()
            .any(|s| s.step == "allow_write" && s.status.succeeded())
        {
            "partial"
        } else {
            "failed"
        }
    }

    /// The run's expected policy set when the scenario fixes it (DESIGN §9: `run.policies`,
    /// else every policy between the clusters; Access Zone: the zone's by base path; IP
    /// Pool: the pool's assigned ones, else the named ones, else the zone's). `None` when a
    /// prelude created policies the scenario cannot name (mirrors).
    pub fn expected_policies(&self) -> Option<BTreeSet<String>> {
        let scn = self.f.ev.scenario;
        if !scn.prelude.is_empty() {
            return None;
        }
        let (from, to) = (&self.f.report.from, &self.f.report.to);
        let between: Vec<&sim_onefs::PolicySpec> = scn
            .world
            .policies
            .iter()
            .filter(|p| &p.source == from && &p.target == to)
            .collect();
        let named = |names: &[String]| names.iter().cloned().collect::<BTreeSet<_>>();
        let zone_base = |zone: &str| {
            self.f
                .source_zones
                .get(zone)
                .cloned()
                .filter(|b| b.trim_end_matches('/') != "/ifs")
        };
        let in_zone = |zone: &str| -> BTreeSet<String> {
            match zone_base(zone) {
                Some(base) => between
                    .iter()
                    .filter(|p| crate::lab::path_under(&p.source_path, &base))
                    .map(|p| p.name.clone())
                    .collect(),
                None => BTreeSet::new(),
            }
        };
        let run = &self.f.run;
        Some(match run.mode.as_str() {
            "access-zone" => in_zone(run.zone.as_deref().unwrap_or_default()),
            "ip-pool" => {
                let pool = run.pool.as_deref().unwrap_or_default();
                let m = self.f.mappings.iter().find(|m| {
                    m.source_pool == pool
                        || self
                            .f
                            .source_pools
                            .get(&m.source_pool)
                            .is_some_and(|sp| sp.name == pool)
                });
                match m {
                    Some(m) if !m.policies.is_empty() => named(&m.policies),
                    _ if !run.policies.is_empty() => named(&run.policies),
                    Some(m) => in_zone(&m.zone),
                    None => return None,
                }
            }
            _ if !run.policies.is_empty() => named(&run.policies),
            _ => between.iter().map(|p| p.name.clone()).collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::judge::{facts::Facts, Evidence};
    use serde_json::json;

    const SCN: &str = r#"
name: model
world:
  clusters:
    - name: a
      zones: [{name: fin, base_path: /ifs/fin}]
      pools: [{id: groupnet0.subnet0.fin, zone: fin, sc_dns_zone: fin.corp.example, ssip: 10.1.0.10}]
    - name: b
      zones: [{name: fin, base_path: /ifs/fin}]
      pools: [{id: groupnet0.subnet0.fin-b, zone: fin, sc_dns_zone: fin-b.corp.example, ssip: 10.2.0.10}]
  policies:
    - {name: p, source: a, target: b, source_path: /ifs/fin/p, target_path: /ifs/fin/p, schedule: every 1 hours}
    - {name: q, source: a, target: b, source_path: /ifs/fin/q, target_path: /ifs/fin/q}
  pool_mappings: [{source: a/groupnet0.subnet0.fin, target: b/groupnet0.subnet0.fin-b}]
run: {mode: synciq-policy, from: a, to: b}
"#;

    fn step(
        idx: usize,
        step: &str,
        policy: Option<&str>,
        zone: Option<&str>,
        status: serde_json::Value,
    ) -> serde_json::Value {
        let mut v = json!({"idx": idx, "seed_no": "", "step": step, "deps": [], "acted": false});
        if let Some(p) = policy {
            v["policy"] = json!(p);
        }
        if let Some(z) = zone {
            v["zone"] = json!(z);
        }
        for (k, x) in status.as_object().unwrap() {
            v[k] = x.clone();
        }
        v
    }

    #[test]
    fn a_failed_sync_skips_its_chain_and_the_zone_networking_and_rolls_its_policy_back() {
        let scn = crate::Scenario::parse(SCN, "<model>").unwrap();
        let ok = json!({"status": "succeeded"});
        let mut steps = vec![
            step(0, "disable_config_jobs", None, None, ok.clone()),
            step(1, "cache_schedules", Some("p"), None, ok.clone()),
            step(
                2,
                "sync_data",
                Some("p"),
                None,
                json!({"status": "failed", "error": "boom"}),
            ),
            step(
                3,
                "allow_write",
                Some("p"),
                None,
                json!({"status": "skipped", "reason": {"kind": "upstream_failed", "step": "sync_data", "policy": "p"}}),
            ),
            step(4, "allow_write", Some("q"), None, ok.clone()),
            step(
                5,
                "rename_source_smartconnect",
                None,
                Some("fin"),
                json!({"status": "pending"}),
            ),
            step(6, "run_mirror", Some("q"), None, ok.clone()),
        ];
        steps.push(step(
            7,
            "refresh_clients",
            None,
            Some("fin"),
            json!({"status": "pending"}),
        ));
        let report = json!({"run_id": "r", "kind": "failover", "mode": "synciq-policy", "from": "a",
            "to": "b", "policies": ["p", "q"], "outcome": "partial", "steps": steps,
            "cached_schedules": {"p": "every 1 hours", "q": ""}});
        let report = serde_json::to_vec(&report).unwrap();
        let ev = Evidence {
            report: &report,
            audit: &[],
            run_offset_ms: None,
            returned_at_ms: None,
            scenario: &scn,
            world: None,
            clients: &[],
            samples: None,
            config_store: None,
        };
        let f = Facts::new(&ev).unwrap();
        assert_eq!(f.zones, vec!["fin".to_string()]);
        assert_eq!(
            f.zone_policies("fin"),
            vec!["p".to_string(), "q".to_string()]
        );
        let m = Model::new(&f);
        let s = &f.report.steps;
        let up = |step: &str| {
            Some(Skip::UpstreamFailed {
                step: step.into(),
                policy: "p".into(),
            })
        };
        assert_eq!(m.expected_skip(&s[3]), up("sync_data"));
        assert_eq!(m.expected_skip(&s[4]), None);
        // S2: the zone's names wait for every zone policy's allow_write; p's was skipped
        // for its sync, and the networking passes that reason on to refresh_clients[fin].
        assert_eq!(m.expected_skip(&s[5]), up("sync_data"));
        assert_eq!(m.expected_skip(&s[7]), up("sync_data"));
        assert!(m
            .predecessors(&s[5])
            .contains(&key("allow_write", Some("q"), None)));
        // S5: p's schedule and config job come back; q had no schedule.
        let want: Vec<String> = m.rollbacks().iter().map(|r| label(&r.key)).collect();
        assert_eq!(
            want,
            vec![
                "rollback_schedules[p]".to_string(),
                "rollback_config_jobs[p]".to_string()
            ]
        );
        assert_eq!(m.outcome(), "paused");
    }
}
