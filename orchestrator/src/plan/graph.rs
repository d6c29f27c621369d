//! Graph construction: the step instances of a run and their "must end before" edges, for
//! the policies and zones `select.rs` chose. This is the one place that encodes the step
//! order (DESIGN.md §2, docs/safety-rules.md); [`check`] asserts the invariants the executor
//! relies on where the graph is built.

use std::collections::{BTreeMap, BTreeSet};

use super::{Actor, PlanError, StepId, StepInstance, ZonePlan, NO_POOL_MAPPING};
use crate::inventory::{JobSample, PolicyInfo};
use crate::run_spec::{Mode, Networking, RunSpec};

struct Builder {
    steps: Vec<StepInstance>,
}

impl Builder {
    fn add(
        &mut self,
        step: StepId,
        policy: Option<&str>,
        zone: Option<&str>,
        deps: Vec<usize>,
    ) -> usize {
        let idx = self.steps.len();
        let deps: BTreeSet<usize> = deps.into_iter().collect();
        self.steps.push(StepInstance {
            idx,
            step,
            policy: policy.map(str::to_string),
            zone: zone.map(str::to_string),
            actor: step.spec().actor,
            deps: deps.into_iter().collect(),
            job_slot: None,
            expected_ms: 0,
            not_applicable: None,
        });
        idx
    }

    /// The networking chain of `zone` (or the run's manual checklist): the first step waits
    /// for `start` and `data`, each next one for the one before and `data` (in an
    /// uncontrolled run the source-side items are skipped, and S2 must still hold for the
    /// target-side ones). Returns what the next instance must wait for.
    fn net_chain(&mut self, zone: Option<&str>, start: Vec<usize>, data: &[usize]) -> Vec<usize> {
        let mut prev = start;
        prev.extend(data.iter().copied());
        for step in NET_STEPS {
            let i = self.add(step, None, zone, prev);
            prev = vec![i];
            prev.extend(data.iter().copied());
        }
        prev
    }

    /// 13a and 13b of policy `p`: the mirror run (after `before_mirror`), then its config
    /// job back on (after `resync` too). Returns the chain's end.
    fn mirror_and_config_jobs(
        &mut self,
        spec: &RunSpec,
        p: &PolicyInfo,
        resync: usize,
        before_mirror: Vec<usize>,
    ) -> usize {
        let name = Some(p.name.as_str());
        let mirror = self.add(StepId::RunMirror, name, None, before_mirror);
        self.steps[mirror].job_slot = Some(spec.to.clone());
        self.steps[mirror].expected_ms = p.expected_job_ms;
        self.add(StepId::EnableConfigJobs, name, None, vec![resync, mirror])
    }

    /// A bare instance of `step` that does not apply to this run, and why.
    fn not_applicable(&mut self, step: StepId, reason: &str) {
        let i = self.add(step, None, None, vec![]);
        self.steps[i].actor = Actor::Orchestrator;
        self.steps[i].not_applicable = Some(reason.to_string());
    }
}

/// Why the per-policy quota steps are `not_applicable` in zone modes.
const ZONE_QUOTAS: &str =
    "Access Zone / IP Pool mode: quotas fail over per zone (failover_zone_quotas)";

/// The networking chain, in order.
const NET_STEPS: [StepId; 5] = [
    StepId::RenameSourceSmartconnect,
    StepId::RemoveSourceSpns,
    StepId::MoveSmartconnectToTarget,
    StepId::AddTargetSpns,
    StepId::RepointDns,
];

/// The instances of a failover or failback of `policies` (and `zones`) under `spec`.
///
/// A failback after an uncontrolled failover (`returned`) starts with
/// `fence_returned_source`, which everything waits for (a validation gate: if the returned
/// source cannot be fenced, nothing runs), and puts `returned_resync_prep[P]` between
/// `disable_config_jobs` and `sync_data[P]` (after validation, so a blocked run changes
/// nothing on the returned source's data; a failure there skips only P's chain).
pub(super) fn failover(
    spec: &RunSpec,
    policies: &[PolicyInfo],
    zones: &[ZonePlan],
    returned: Option<&super::Returned>,
) -> Vec<StepInstance> {
    let zone_mode = matches!(spec.mode, Mode::AccessZone | Mode::IpPool);
    let o = &spec.options;
    let mut b = Builder { steps: Vec::new() };

    // 0: fence the returned source before anything else.
    let fence = returned.map(|_| b.add(StepId::FenceReturnedSource, None, None, vec![]));
    // 1, (1), 1a, 1b: preparation on the source.
    let mut prep = vec![b.add(
        StepId::CheckOpenFiles,
        None,
        None,
        fence.into_iter().collect(),
    )];
    if !o.disable_protocols {
        b.not_applicable(StepId::DisableProtocols, "option disable_protocols is off");
    }
    if !o.data_integrity {
        b.not_applicable(StepId::DataIntegrityLock, "option data_integrity is off");
    }
    if !o.block_on_warning {
        b.not_applicable(StepId::BlockOnWarning, "option block_on_warning is off");
    }
    if spec.mode != Mode::Dfs && !zone_mode {
        b.not_applicable(
            StepId::DfsRenameShares,
            "not DFS mode: no DFS shares to redirect",
        );
    }
    if zone_mode {
        // Quotas fail over per zone here (seed 16+17, `failover_zone_quotas`).
        for step in [StepId::FailoverQuotas, StepId::RemoveSourceQuotas] {
            b.not_applicable(step, ZONE_QUOTAS);
        }
        if !o.quotas && !o.remove_source_quotas {
            b.not_applicable(
                StepId::FailoverZoneQuotas,
                "option quotas is off: source quotas stay (set remove_source_quotas to delete them)",
            );
        }
    } else if !o.quotas {
        b.not_applicable(StepId::FailoverQuotas, "option quotas is off");
        if !o.remove_source_quotas {
            b.not_applicable(
                StepId::RemoveSourceQuotas,
                "option quotas is off: source quotas stay (set remove_source_quotas to delete them)",
            );
        }
    }
    // 1p, option `presync`: every policy's sync job once before the lock, beside the
    // open-files check. Only where the source is up and the policy exists before
    // validation; a rehearsal takes no lock (see `rehearsal`).
    let presync_off = if !o.presync {
        Some("option presync is off")
    } else if !spec.controlled {
        Some("uncontrolled failover: the source is unreachable, there is nothing to pre-sync from")
    } else if returned.is_some() {
        Some("failback after an uncontrolled failover: the mirror policy to pre-sync is made by returned_resync_prep, which runs after validation")
    } else {
        None
    };
    let presyncs: Vec<usize> = match presync_off {
        Some(why) => {
            b.not_applicable(StepId::Presync, why);
            Vec::new()
        }
        None => policies
            .iter()
            .map(|p| {
                let i = b.add(StepId::Presync, Some(&p.name), None, vec![]);
                b.steps[i].job_slot = Some(p.source.clone());
                b.steps[i].expected_ms = p.expected_job_ms;
                i
            })
            .collect(),
    };
    // Everything from the protocol switch and the lock on waits for every pre-sync (its
    // failure skips nothing: the skip rules ignore it).
    let after_presync = |first: usize| {
        let mut d = vec![first];
        d.extend(presyncs.iter().copied());
        d
    };
    if o.disable_protocols {
        prep.push(b.add(StepId::DisableProtocols, None, None, after_presync(prep[0])));
    }
    if o.data_integrity {
        let last = *prep.last().unwrap_or(&0);
        prep.push(b.add(StepId::DataIntegrityLock, None, None, after_presync(last)));
    }
    let after_prep = *prep.last().unwrap_or(&0);
    let cache: Vec<usize> = policies
        .iter()
        .map(|p| {
            b.add(
                StepId::CacheSchedules,
                Some(&p.name),
                None,
                after_presync(after_prep),
            )
        })
        .collect();
    // 2, 3, 3a, 3b.
    let mut begin_deps = cache.clone();
    begin_deps.push(after_prep);
    let begin = b.add(StepId::Begin, None, None, begin_deps);
    let mut gate = b.add(StepId::Validate, None, None, vec![begin]);
    if o.block_on_warning {
        gate = b.add(StepId::BlockOnWarning, None, None, vec![gate]);
    }
    let cfg_off = b.add(StepId::DisableConfigJobs, None, None, vec![gate]);

    // 4, 5 (and 6 in DFS mode) per policy.
    let mut pre_cut: BTreeMap<String, usize> = BTreeMap::new();
    let mut syncs: BTreeMap<String, usize> = BTreeMap::new();
    for p in policies {
        let name = Some(p.name.as_str());
        let mut sync_deps = vec![cfg_off];
        if returned.is_some_and(|r| r.original_of(&p.name).is_some()) {
            sync_deps = vec![b.add(StepId::ReturnedResyncPrep, name, None, vec![cfg_off])];
        }
        let sync = b.add(StepId::SyncData, name, None, sync_deps);
        b.steps[sync].job_slot = Some(p.source.clone());
        // After a pre-sync the final sync moves only what was written while it ran.
        b.steps[sync].expected_ms = if presyncs.is_empty() {
            p.expected_job_ms
        } else {
            let f = JobSample::presync_delta_fraction(&p.history, p.expected_job_ms);
            (p.expected_job_ms as f64 * f).round() as u64
        };
        let cfg = b.add(StepId::SyncConfig, name, None, vec![sync]);
        let mut last = cfg;
        if spec.mode == Mode::Dfs {
            last = b.add(StepId::DfsRenameShares, name, None, vec![cfg]);
        }
        syncs.insert(p.name.clone(), sync);
        pre_cut.insert(p.name.clone(), last);
    }

    // Zone modes: the cut-over gate, then networking 6→10, before allow-write.
    let mut cut_deps: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    if zone_mode {
        for z in zones {
            let mut deps: Vec<usize> = z
                .policies
                .iter()
                .filter_map(|p| pre_cut.get(p).copied())
                .collect();
            deps.extend(z.policies.iter().filter_map(|p| syncs.get(p).copied()));
            let g = b.add(StepId::ZoneGate, None, Some(&z.name), deps);
            // 6 (seed note): the zone's DFS shares switch per policy once the gate holds
            // (nothing to undo when it does not), before the names move; a policy whose
            // rename failed has its allow-write skipped (S4), the others go on.
            let mut first = vec![g];
            for p in &z.policies {
                let Some(&cfg) = pre_cut.get(p) else { continue };
                let dfs = b.add(StepId::DfsRenameShares, Some(p), None, vec![g, cfg]);
                pre_cut.insert(p.clone(), dfs);
                first.push(dfs);
            }
            let mut prev = first;
            for step in NET_STEPS {
                prev = vec![b.add(step, None, Some(&z.name), prev)];
            }
            let prev = prev[0];
            #[allow(unused_mut)]
            let mut cut = vec![g, prev];
            #[cfg(feature = "planted-bugs")]
            if matches!(
                spec.options.planted_bug,
                Some(crate::bugs::PlantedBug::ZoneGateIgnored)
            ) {
                // Wrong on purpose: allow-write waits only for the policy's own steps (its
                // config sync), not for the gate, the networking or the zone's DFS switch.
                cut = vec![];
                for p in &z.policies {
                    if let Some(&dfs) = pre_cut.get(p) {
                        // The switch's deps are kept sorted: take the one that is not the
                        // gate (the policy's config sync).
                        let cfg = b.steps[dfs].deps.iter().copied().find(|&d| d != g);
                        pre_cut.insert(p.clone(), cfg.expect("the switch has its config sync"));
                    }
                }
            }
            for p in &z.policies {
                cut_deps.insert(p.clone(), cut.clone());
            }
        }
    }

    // 9, 10, 11, 12, 13, 13a, 13b per policy.
    let mut chain_ends = Vec::new();
    let mut allows: BTreeMap<String, usize> = BTreeMap::new();
    let mut zone_tail: Vec<(usize, usize, usize)> = Vec::new();
    for (i, p) in policies.iter().enumerate() {
        let name = Some(p.name.as_str());
        let mut deps = vec![pre_cut[&p.name]];
        deps.extend(cut_deps.get(&p.name).cloned().unwrap_or_default());
        let allow = b.add(StepId::AllowWrite, name, None, deps);
        allows.insert(p.name.clone(), allow);
        let resync = b.add(StepId::ResyncPrep, name, None, vec![allow]);
        #[cfg(feature = "planted-bugs")]
        if matches!(
            spec.options.planted_bug,
            Some(crate::bugs::PlantedBug::ResyncPrepBeforeAllowWrite)
        ) {
            // Wrong on purpose: resync_prep right after the sync, allow_write after it.
            let pre = b.steps[allow].deps.clone();
            b.steps[resync].deps = pre;
            b.steps[allow].deps = vec![resync];
        }
        #[allow(unused_mut)]
        let mut restore_deps = vec![resync, cache[i]];
        #[cfg(feature = "planted-bugs")]
        if matches!(
            spec.options.planted_bug,
            Some(crate::bugs::PlantedBug::MissingOrderEdge)
        ) {
            // Wrong on purpose: the schedule goes onto a mirror that may not exist yet.
            restore_deps = vec![cache[i]];
        }
        let restore = b.add(StepId::RestoreSchedule, name, None, restore_deps);
        if zone_mode {
            // The zone's quota step waits for every zone policy up to here (below).
            zone_tail.push((i, resync, restore));
            continue;
        }
        let mut before_mirror = vec![resync, restore];
        // S1: a source quota goes only after its copy on the target was confirmed
        // (failover_quotas reads it back), or when the admin asked for the removal with
        // the quota option off.
        let rm_deps = if o.quotas {
            Some(vec![b.add(
                StepId::FailoverQuotas,
                name,
                None,
                vec![allow, restore],
            )])
        } else if o.remove_source_quotas {
            Some(vec![allow, restore])
        } else {
            None
        };
        if let Some(rm_deps) = rm_deps {
            #[allow(unused_mut)]
            let mut rm_deps = rm_deps;
            #[cfg(feature = "planted-bugs")]
            if matches!(
                spec.options.planted_bug,
                Some(crate::bugs::PlantedBug::QuotaRemovalBeforeAllowWrite)
            ) {
                // Wrong on purpose: source quotas go before the target is writable.
                rm_deps = vec![pre_cut[&p.name]];
            }
            let rm = b.add(StepId::RemoveSourceQuotas, name, None, rm_deps);
            before_mirror.push(rm);
        }
        chain_ends.push(b.mirror_and_config_jobs(spec, p, resync, before_mirror));
    }
    // Zone modes, seed 16+17: one quota step per zone, after the gate and every zone
    // policy's allow-write, resync-prep and schedule (S1 inside the step; which policies'
    // quotas it moves is decided there, from the clusters). Each policy's mirror then waits
    // for it, as for the per-policy removal: no quota on a SyncIQ target directory when
    // the mirror writes into it.
    let mut zone_quotas: BTreeMap<String, usize> = BTreeMap::new();
    if zone_mode && (o.quotas || o.remove_source_quotas) {
        for z in zones {
            let mut deps: Vec<usize> = b
                .steps
                .iter()
                .filter(|s| s.step == StepId::ZoneGate && s.zone.as_deref() == Some(&z.name))
                .map(|s| s.idx)
                .collect();
            for p in &z.policies {
                deps.extend(allows.get(p).copied());
                if let Some(&(_, resync, restore)) =
                    zone_tail.iter().find(|(i, _, _)| &policies[*i].name == p)
                {
                    deps.extend([resync, restore]);
                }
            }
            let q = b.add(StepId::FailoverZoneQuotas, None, Some(&z.name), deps);
            for p in &z.policies {
                zone_quotas.insert(p.clone(), q);
            }
        }
    }
    for (i, resync, restore) in zone_tail {
        let p = &policies[i];
        let mut before_mirror = vec![resync, restore];
        before_mirror.extend(zone_quotas.get(&p.name).copied());
        chain_ends.push(b.mirror_and_config_jobs(spec, p, resync, before_mirror));
    }

    // SyncIQ mode networking 14–18: automatic per mapped zone, or a manual checklist.
    let mut tail = chain_ends.clone();
    let no_net = |b: &mut Builder, reason: &str| {
        for step in NET_STEPS {
            b.not_applicable(step, reason);
        }
    };
    // S2: SyncIQ-mode networking waits for the allow-writes `data` (names follow data).
    #[allow(unused_mut)]
    let mut follow_data = true;
    #[cfg(feature = "planted-bugs")]
    if matches!(
        spec.options.planted_bug,
        Some(crate::bugs::PlantedBug::NetworkingIgnoresAllowWrite)
    ) {
        follow_data = false; // Wrong on purpose.
    }
    let writable_first = |data: Vec<usize>| if follow_data { data } else { Vec::new() };
    match spec.mode {
        Mode::Dfs => no_net(
            &mut b,
            "DFS mode: clients follow DFS referrals, no SmartConnect name moves",
        ),
        Mode::SynciqPolicy if spec.options.networking == Networking::Manual => {
            // S2: the checklist moves the names of every run path, so it waits for (and is
            // skipped unless) every policy's allow-write.
            let data = writable_first(allows.values().copied().collect());
            tail = b.net_chain(None, chain_ends.clone(), &data);
        }
        Mode::SynciqPolicy if zones.is_empty() => {
            no_net(&mut b, NO_POOL_MAPPING);
        }
        Mode::SynciqPolicy => {
            for z in zones {
                // S2: names follow writable data — the zone's names move only after every
                // policy of the zone was made writable on the target.
                let data = writable_first(
                    z.policies
                        .iter()
                        .filter_map(|p| allows.get(p).copied())
                        .collect(),
                );
                let prev = b.net_chain(Some(&z.name), chain_ends.clone(), &data);
                // 19 per zone: one zone's failed networking must not keep the clients of
                // another zone, whose names moved, from reconnecting.
                let mut deps = prev;
                deps.extend(chain_ends.iter().copied());
                b.add(StepId::RefreshClients, None, Some(&z.name), deps);
            }
            tail = Vec::new();
        }
        Mode::AccessZone | Mode::IpPool => {}
    }
    // 19: only where clients have a name to move to (or DFS referrals to follow).
    let per_zone_refresh = spec.mode == Mode::SynciqPolicy
        && spec.options.networking == Networking::Auto
        && !zones.is_empty();
    if per_zone_refresh {
        // added per zone above
    } else if zone_mode || spec.mode == Mode::Dfs || spec.options.networking == Networking::Manual {
        let mut deps = tail;
        deps.extend(chain_ends.iter().copied());
        b.add(StepId::RefreshClients, None, None, deps);
    } else {
        b.not_applicable(StepId::RefreshClients, NO_POOL_MAPPING);
    }

    b.steps
}

/// A rehearsal (non-disruptive test), in every mode: make the target copies writable for
/// test clients, reach them through a test alias on the mapped target pool, prove it, then
/// put everything back. Production on the source is never touched, except that the
/// policies' schedules are held (a scheduled run would fail against a writable target) and
/// put back after. No production name, SPN or DNS record moves (S2): the test alias is a
/// name of its own.
///
/// Per policy: `sync_data → allow_write → allow_write_revert → rollback_schedules`; per
/// zone with a pool mapping: `add_test_alias` (after `validate`), `verify_test_access`
/// (after the alias and every zone policy's `allow_write`), `remove_test_alias` (after the
/// verification); each zone policy's `allow_write_revert` waits for its zone's
/// `remove_test_alias`, so test clients lose the name before the target turns read-only.
/// Without a mapping (DFS mode, or SyncIQ mode with no pool mapped) the three test-alias
/// steps are `not_applicable`.
pub(super) fn rehearsal(policies: &[PolicyInfo], zones: &[ZonePlan]) -> Vec<StepInstance> {
    let mut b = Builder { steps: Vec::new() };
    b.not_applicable(
        StepId::Presync,
        "rehearsal: no lock and no cut-over, production keeps running on the source",
    );
    let cache: Vec<usize> = policies
        .iter()
        .map(|p| b.add(StepId::CacheSchedules, Some(&p.name), None, vec![]))
        .collect();
    if zones.is_empty() {
        for step in [
            StepId::AddTestAlias,
            StepId::VerifyTestAccess,
            StepId::RemoveTestAlias,
        ] {
            b.not_applicable(
                step,
                "no pool mapping: test clients reach the target by its own names",
            );
        }
    }
    let begin = b.add(StepId::Begin, None, None, cache.clone());
    let gate = b.add(StepId::Validate, None, None, vec![begin]);
    let mut allows: BTreeMap<String, usize> = BTreeMap::new();
    for p in policies {
        let name = Some(p.name.as_str());
        let sync = b.add(StepId::SyncData, name, None, vec![gate]);
        b.steps[sync].job_slot = Some(p.source.clone());
        b.steps[sync].expected_ms = p.expected_job_ms;
        allows.insert(
            p.name.clone(),
            b.add(StepId::AllowWrite, name, None, vec![sync]),
        );
    }
    let mut window_end: BTreeMap<String, usize> = BTreeMap::new();
    for z in zones {
        let zone = Some(z.name.as_str());
        let add = b.add(StepId::AddTestAlias, None, zone, vec![gate]);
        let mut deps = vec![add];
        deps.extend(z.policies.iter().filter_map(|p| allows.get(p).copied()));
        let verify = b.add(StepId::VerifyTestAccess, None, zone, deps);
        let remove = b.add(StepId::RemoveTestAlias, None, zone, vec![verify]);
        for p in &z.policies {
            window_end.insert(p.clone(), remove);
        }
    }
    for (i, p) in policies.iter().enumerate() {
        let name = Some(p.name.as_str());
        let mut deps = vec![allows[&p.name]];
        deps.extend(window_end.get(&p.name).copied());
        let revert = b.add(StepId::AllowWriteRevert, name, None, deps);
        b.add(
            StepId::RollbackSchedules,
            name,
            None,
            vec![revert, cache[i]],
        );
    }
    b.steps
}

/// The invariants the executor relies on, asserted where the graph is built: every
/// instance's index is its position, its edges point to earlier instances (so the graph is
/// acyclic and plan order is a topological order), no step id appears twice for the same
/// policy and zone, and a `not_applicable` instance has no edges either way.
pub(super) fn check(spec: &RunSpec, steps: &[StepInstance]) -> Result<(), PlanError> {
    let broken = |what: String| Err(PlanError::Invalid(format!("internal plan error: {what}")));
    #[allow(unused_mut)]
    let mut ordered = true;
    #[cfg(feature = "planted-bugs")]
    if spec.options.planted_bug.is_some() {
        ordered = false; // a planted ordering bug may point an edge forward (acyclic still)
    }
    let mut seen = BTreeSet::new();
    for (i, s) in steps.iter().enumerate() {
        if s.idx != i {
            return broken(format!("{} has index {} at position {i}", s.label(), s.idx));
        }
        if !seen.insert((s.step, s.policy.as_deref(), s.zone.as_deref())) {
            return broken(format!("{} appears twice", s.label()));
        }
        if let Some(&d) = s.deps.iter().find(|&&d| d >= steps.len() || d == i) {
            return broken(format!("{} waits for #{d}", s.label()));
        }
        if ordered && s.deps.iter().any(|&d| d > i) {
            return broken(format!("{} waits for a later instance", s.label()));
        }
        if s.not_applicable.is_some() && !s.deps.is_empty() {
            return broken(format!("not-applicable {} has edges", s.label()));
        }
        if let Some(&d) = s.deps.iter().find(|&&d| steps[d].not_applicable.is_some()) {
            return broken(format!("{} waits for not-applicable #{d}", s.label()));
        }
    }
    // Acyclic (Kahn): only a forward edge could close a cycle.
    let mut indegree: Vec<usize> = steps.iter().map(|s| s.deps.len()).collect();
    let mut ready: Vec<usize> = (0..steps.len()).filter(|&i| indegree[i] == 0).collect();
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); steps.len()];
    for s in steps {
        for &d in &s.deps {
            dependents[d].push(s.idx);
        }
    }
    let mut visited = 0;
    while let Some(n) = ready.pop() {
        visited += 1;
        for &m in &dependents[n] {
            indegree[m] -= 1;
            if indegree[m] == 0 {
                ready.push(m);
            }
        }
    }
    if visited != steps.len() {
        return broken("the step graph has a cycle".into());
    }
    let _ = spec;
    Ok(())
}
