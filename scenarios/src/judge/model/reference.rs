//! The judge's I1 order check (and the zone gate's failures) as they were before they were
//! made near-linear in the number of step instances (a 1000-policy run asked for millions
//! of predecessor keys), kept verbatim for the property test that checks the new ones give
//! the same findings (`steps::tests`).

use super::*;
use crate::judge::facts::Facts;
use crate::judge::report::{Skip, Status, StepView};
use crate::judge::Finding;

fn k(s: &StepView) -> Key {
    (s.step.clone(), s.policy.clone(), s.zone.clone())
}

impl Model<'_, '_> {
    /// `Model::zone_gate_failures` as it was (a scan of the zone's policies per call).
    pub fn zone_gate_failures_reference(&self, zone: &str) -> Vec<String> {
        self.f
            .zone_policies(zone)
            .into_iter()
            .filter(|q| {
                // Uncontrolled: a final sync skipped for the dead source does not hold the
                // gate (the zone cuts over to the last good sync).
                let synced = |step: &str| {
                    self.f.report.succeeded(step, q)
                        || (!self.f.run.controlled
                            && self.status(step, Some(q), None).is_some_and(|s| {
                                matches!(s, Status::Skipped(Skip::SourceUnreachable))
                            }))
                };
                !synced("sync_data") || !synced("sync_config")
            })
            .collect()
    }

    /// `Model::predecessors` as it was, verbatim.
    pub fn predecessors_reference(&self, s: &StepView) -> Vec<Key> {
        let p = s.policy.as_deref();
        let z = s.zone.as_deref();
        let bare = |step: &str| key(step, None, None);
        let of = |step: &str| key(step, p, None);
        let all = |step: &str| -> Vec<Key> {
            self.policies().map(|q| key(step, Some(q), None)).collect()
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
                "begin" => all("cache_schedules"),
                "validate" => vec![bare("begin")],
                "sync_data" => vec![bare("validate")],
                "allow_write" => vec![of("sync_data")],
                // The test window of a zone: its alias after validation, the check after the
                // alias and every zone policy's allow-write, the alias removal after the
                // check, and each zone policy's revert after the alias removal.
                "add_test_alias" => vec![bare("validate")],
                "verify_test_access" => {
                    let z = z.unwrap_or_default();
                    let mut v = vec![key("add_test_alias", None, Some(z))];
                    v.extend(
                        self.f
                            .zone_policies(z)
                            .iter()
                            .map(|q| key("allow_write", Some(q), None)),
                    );
                    v
                }
                "remove_test_alias" => vec![key("verify_test_access", None, z)],
                "allow_write_revert" => {
                    let mut v = vec![of("allow_write")];
                    if let Some(zone) = p.and_then(|p| self.f.zone_of_policy(p)) {
                        if self.f.zones.iter().any(|x| x == zone) {
                            v.push(key("remove_test_alias", None, Some(zone)));
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
        let fence = || -> Vec<Key> {
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
            "disable_protocols" => [vec![bare("check_open_files")], all("presync")].concat(),
            "data_integrity_lock" => [
                vec![bare("check_open_files"), bare("disable_protocols")],
                all("presync"),
            ]
            .concat(),
            "cache_schedules" => [prep(), fence(), all("presync")].concat(),
            "begin" => [prep(), all("cache_schedules")].concat(),
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
                        v.push(key("zone_gate", None, Some(zone)));
                    }
                }
                v
            }
            "zone_gate" => {
                let z = z.unwrap_or_default();
                self.f
                    .zone_policies(z)
                    .iter()
                    .flat_map(|q| {
                        [
                            key("sync_data", Some(q), None),
                            key("sync_config", Some(q), None),
                        ]
                    })
                    .collect()
            }
            n if is_networking(n) => {
                let k = net_pos(n).unwrap_or(0);
                let mut v = Vec::new();
                if k > 0 {
                    v.push(key(NETWORKING[k - 1], None, z));
                    if self.f.run.zone_mode() {
                        return v;
                    }
                }
                // SyncIQ mode: each also waits for every enable_config_jobs and the
                // allow_write of every policy of its zone (bare: of every policy) (S2).
                v.extend(match z {
                    // Zone modes: the zone gate and the zone's DFS renames first
                    // (safety-rules.md).
                    Some(z) if self.f.run.zone_mode() => {
                        let mut v = vec![key("zone_gate", None, Some(z))];
                        v.extend(
                            self.f
                                .zone_policies(z)
                                .iter()
                                .map(|q| key("dfs_rename_shares", Some(q), None)),
                        );
                        v
                    }
                    // SyncIQ mode, mapped: every zone policy's allow_write (S2).
                    Some(z) => [
                        all("enable_config_jobs"),
                        self.f
                            .zone_policies(z)
                            .iter()
                            .map(|q| key("allow_write", Some(q), None))
                            .collect(),
                    ]
                    .concat(),
                    // SyncIQ manual checklist: after every policy chain and every
                    // allow_write (S2: it moves the names of all the run's paths).
                    None => [all("enable_config_jobs"), all("allow_write")].concat(),
                });
                v
            }
            "allow_write" => {
                let mut v = vec![of("sync_config")];
                if self.f.run.dfs() || self.f.run.zone_mode() {
                    v.push(of("dfs_rename_shares"));
                }
                if self.f.run.zone_mode() {
                    if let Some(zone) = p.and_then(|p| self.f.zone_of_policy(p)) {
                        v.push(key("repoint_dns", None, Some(zone)));
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
                        v.push(key(ZONE_QUOTAS, None, Some(zone)));
                    }
                }
                v
            }
            // Zone modes: after the zone gate and every zone policy's allow_write,
            // resync_prep and restore_schedule.
            ZONE_QUOTAS => {
                let z = z.unwrap_or_default();
                let mut v = vec![key("zone_gate", None, Some(z))];
                for q in self.f.zone_policies(z) {
                    for step in ["allow_write", "resync_prep", "restore_schedule"] {
                        v.push(key(step, Some(&q), None));
                    }
                }
                v
            }
            "enable_config_jobs" => vec![of("resync_prep"), of("run_mirror")],
            // Every chain end, and its zone's networking (bare: every networking instance).
            "refresh_clients" => {
                let mut v = all("enable_config_jobs");
                v.extend(
                    self.f
                        .report
                        .steps
                        .iter()
                        .filter(|x| {
                            is_networking(&x.step) && (z.is_none() || x.zone.as_deref() == z)
                        })
                        .map(|x| key(&x.step, None, x.zone.as_deref())),
                );
                v
            }
            _ => vec![],
        }
    }
}

/// `steps::i1_order` as it was, verbatim but for the predecessors' name.
pub fn i1_order_reference(f: &Facts<'_>) -> Finding {
    let m = Model::new(f);
    let mut out = Finding::default();
    let rollbacks = m.rollbacks();
    let steps = &f.report.steps;
    let cfg_off = f
        .report
        .find("disable_config_jobs", None, None)
        .and_then(|s| s.end_seq);
    for s in steps {
        let Some(start) = s.start_seq else { continue };
        out.judged += 1;
        let preds: Vec<Key> = if m.is_added(s) && !f.run.rehearsal() {
            rollbacks
                .iter()
                .find(|r| r.key == k(s))
                .map(|r| r.after.clone())
                .unwrap_or_default()
        } else {
            m.predecessors_reference(s)
        };
        for p in preds {
            let Some(pr) = m.get(&p) else { continue };
            if matches!(pr.status, Status::NotApplicable { .. }) {
                continue;
            }
            match pr.end_seq {
                Some(end) if end < start => {}
                Some(end) => out.violations.push(format!(
                    "{} started (event {start}) before {} ended (event {end}); the design orders {} first",
                    s.label(),
                    pr.label(),
                    label(&p)
                )),
                None => out.violations.push(format!(
                    "{} started although {} never ended; the design orders it first",
                    s.label(),
                    pr.label()
                )),
            }
        }
        // DESIGN §2 Order: 1 … 3b, then everything else.
        if !m.is_added(s)
            && global_pos(&s.step) > global_pos("disable_config_jobs")
            && !f.run.rehearsal()
        {
            if let Some(end) = cfg_off {
                if start < end {
                    out.violations.push(format!(
                        "{} started (event {start}) before disable_config_jobs ended (event {end})",
                        s.label()
                    ));
                }
            }
        }
        // Every audit entry the step caused lies within its window.
        if let (Some(a0), Some(b0)) = (s.start_ms, s.end_ms) {
            if let (Some(off), Some(lo), Some(hi)) =
                (f.ev.run_offset_ms, f.sim_ms(a0), f.sim_ms(b0))
            {
                for a in f.audit.of(&s.step, s.policy.as_deref(), s.zone.as_deref()) {
                    if a.action == "fs.write" {
                        continue;
                    }
                    // A step that lost contact may leave its job running past its end.
                    if a.t_ms < lo || (a.t_ms > hi && !s.indeterminate) {
                        out.violations.push(format!(
                            "{}: audit entry #{} ({} {}) at {} ms lies outside the step's window {a0}..{b0} ms",
                            s.label(),
                            a.seq,
                            a.action,
                            a.object,
                            a.t_ms.saturating_sub(off)
                        ));
                    }
                }
            }
        }
    }
    if out.judged == 0 {
        out.not_judged = Some("no step started".into());
    }
    out
}
