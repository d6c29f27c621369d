//! The executor's view of which instances could be decided or started, kept up to date as
//! statuses change instead of recomputed from every instance after every event.
//!
//! Why: on a 1000-policy run a thousand job steps wait for a few SyncIQ job slots at a
//! time; the executor rebuilt, sorted and walked that whole waiting list (looking every
//! entry's cluster up by name) after each of the ~15 000 events, and its skip pass walked
//! it too. Here the work per event is proportional to what changed:
//! * the settle pass walks only the open instances the skip rules may still skip
//!   (`unsettled`), in index order as before;
//! * the start pass walks per-queue ordered sets (one for instances without a job slot,
//!   one per cluster for job steps), merging them in the old global order, and does not
//!   enter a cluster's queue while its slots are all taken (every entry there would only
//!   have been passed over).
//!
//! The start order is exactly the old one: longest expected first, then plan order
//! (plan order alone in serial mode), over the instances ready when the pass began.

use std::collections::BTreeSet;

use crate::plan::StepInstance;
use crate::report::{StepRecord, StepStatus};

/// A start-order key: smaller starts first.
type Key = (u64, usize);

/// The queue of instances that take no job slot (and of decisions, which never do).
const FREE: usize = 0;

/// Ready sets of one run (see the module doc).
pub(crate) struct Ready {
    /// Serial mode: plan order only.
    serial: bool,
    /// Per instance: how many of its predecessors are not over.
    unmet: Vec<usize>,
    /// Per instance: the instances that wait for it.
    dependents: Vec<Vec<usize>>,
    /// Per instance: the skip rules answered "run it" for good (no settle pass asks again).
    cleared: Vec<bool>,
    /// The open instances (pending, predecessors all over, or pending `not_applicable`)
    /// that are not cleared: what a settle pass visits.
    unsettled: BTreeSet<usize>,
    /// Per instance: its queue ([`FREE`] or 1 + its cluster's number).
    queue_of: Vec<usize>,
    /// Per instance: the cluster (number) whose job slot it takes, if any.
    slot: Vec<Option<usize>>,
    /// Per queue: its pending instances whose predecessors are all over, by start key.
    queues: Vec<BTreeSet<Key>>,
    /// The job-slot clusters by number.
    clusters: Vec<String>,
    /// During a start pass, instances that open wait here (the pass visits the instances
    /// ready when it began, as the old snapshot did).
    frozen: bool,
    deferred: Vec<usize>,
    /// The instances that ended since [`Ready::take_ended`] last took them.
    ended: Vec<usize>,
}

/// Where a start pass is in each queue.
pub(crate) struct Pass {
    after: Vec<Option<Key>>,
}

impl Ready {
    pub(crate) fn new(serial: bool) -> Self {
        Ready {
            serial,
            unmet: Vec::new(),
            dependents: Vec::new(),
            cleared: Vec::new(),
            unsettled: BTreeSet::new(),
            queue_of: Vec::new(),
            slot: Vec::new(),
            queues: vec![BTreeSet::new()],
            clusters: Vec::new(),
            frozen: false,
            deferred: Vec::new(),
            ended: Vec::new(),
        }
    }

    fn key(&self, steps: &[StepInstance], i: usize) -> Key {
        if self.serial {
            (0, i)
        } else {
            (u64::MAX - steps[i].expected_ms, i)
        }
    }

    /// Take in the instances from `first` on (new, or read back from a journal).
    /// `decide`: whether an instance is the executor's own decision (it takes no slot).
    pub(crate) fn add(
        &mut self,
        steps: &[StepInstance],
        records: &[StepRecord],
        first: usize,
        decide: &dyn Fn(&StepInstance) -> bool,
    ) {
        self.dependents.resize(steps.len(), Vec::new());
        self.cleared.resize(steps.len(), false);
        for s in &steps[first..] {
            let i = s.idx;
            let unmet = s
                .deps
                .iter()
                .filter(|&&d| !records[d].status.is_terminal())
                .count();
            self.unmet.push(unmet);
            for &d in &s.deps {
                self.dependents[d].push(i);
            }
            let slot =
                s.job_slot
                    .as_ref()
                    .map(|c| match self.clusters.iter().position(|x| x == c) {
                        Some(n) => n,
                        None => {
                            self.clusters.push(c.clone());
                            self.queues.push(BTreeSet::new());
                            self.clusters.len() - 1
                        }
                    });
            self.slot.push(slot);
            self.queue_of.push(match slot {
                Some(n) if !decide(s) => n + 1,
                _ => FREE,
            });
            if matches!(records[i].status, StepStatus::Pending) {
                if unmet == 0 || s.not_applicable.is_some() {
                    self.unsettled.insert(i);
                }
                if unmet == 0 {
                    let k = self.key(steps, i);
                    self.queues[self.queue_of[i]].insert(k);
                }
            }
        }
    }

    /// The job-slot clusters, by the numbers [`Ready::slot`] gives.
    pub(crate) fn clusters(&self) -> &[String] {
        &self.clusters
    }

    /// The cluster (number) whose job slot instance `i` takes.
    pub(crate) fn slot(&self, i: usize) -> Option<usize> {
        self.slot[i]
    }

    /// How many of `i`'s predecessors are not over.
    pub(crate) fn unmet(&self, i: usize) -> usize {
        self.unmet[i]
    }

    /// The first instance from `from` on that a settle pass visits.
    pub(crate) fn next_unsettled(&self, from: usize) -> Option<usize> {
        self.unsettled.range(from..).next().copied()
    }

    /// The skip rules will not skip `i` (it still waits to start).
    pub(crate) fn clear(&mut self, i: usize) {
        self.cleared[i] = true;
        self.unsettled.remove(&i);
    }

    pub(crate) fn is_cleared(&self, i: usize) -> bool {
        self.cleared[i]
    }

    fn open(&mut self, steps: &[StepInstance], j: usize) {
        if !self.cleared[j] {
            self.unsettled.insert(j);
        }
        if self.frozen {
            self.deferred.push(j);
        } else {
            let k = self.key(steps, j);
            self.queues[self.queue_of[j]].insert(k);
        }
    }

    /// Instance `i` is over: it leaves the ready sets and its dependents may open.
    pub(crate) fn over(&mut self, steps: &[StepInstance], records: &[StepRecord], i: usize) {
        self.ended.push(i);
        self.unsettled.remove(&i);
        let k = self.key(steps, i);
        self.queues[self.queue_of[i]].remove(&k);
        for n in 0..self.dependents[i].len() {
            let j = self.dependents[i][n];
            self.unmet[j] -= 1;
            if self.unmet[j] == 0 && matches!(records[j].status, StepStatus::Pending) {
                self.open(steps, j);
            }
        }
    }

    /// The instances that ended since the last call, in the order they ended.
    pub(crate) fn take_ended(&mut self) -> Vec<usize> {
        std::mem::take(&mut self.ended)
    }

    /// Instance `i` started (it is running, no longer ready).
    pub(crate) fn start(&mut self, steps: &[StepInstance], i: usize) {
        self.unsettled.remove(&i);
        let k = self.key(steps, i);
        self.queues[self.queue_of[i]].remove(&k);
    }

    /// Instance `i` did not start after all (it is pending and ready again).
    pub(crate) fn unstart(&mut self, steps: &[StepInstance], i: usize) {
        if !self.cleared[i] {
            self.unsettled.insert(i);
        }
        let k = self.key(steps, i);
        self.queues[self.queue_of[i]].insert(k);
    }

    /// Whether a pending instance has all its predecessors over.
    pub(crate) fn any_startable(&self) -> bool {
        self.queues.iter().any(|q| !q.is_empty())
    }

    /// Begin a start pass: instances that open during it wait for the next one.
    pub(crate) fn begin_pass(&mut self) -> Pass {
        self.frozen = true;
        Pass {
            after: vec![None; self.queues.len()],
        }
    }

    /// The next instance of the pass, in start order, among the queues `enter` lets in
    /// (`None` for the free queue, the cluster number for a job-slot queue).
    pub(crate) fn next(
        &self,
        pass: &mut Pass,
        enter: &dyn Fn(Option<usize>) -> bool,
    ) -> Option<usize> {
        let mut best: Option<(Key, usize)> = None;
        for (q, set) in self.queues.iter().enumerate() {
            if !enter(q.checked_sub(1)) {
                continue;
            }
            let head = match pass.after[q] {
                Some(k) => set
                    .range((std::ops::Bound::Excluded(k), std::ops::Bound::Unbounded))
                    .next(),
                None => set.iter().next(),
            };
            if let Some(&k) = head {
                if best.is_none_or(|(b, _)| k < b) {
                    best = Some((k, q));
                }
            }
        }
        let (k, q) = best?;
        pass.after[q] = Some(k);
        Some(k.1)
    }

    /// End a start pass: the instances that opened during it become ready.
    pub(crate) fn end_pass(&mut self, steps: &[StepInstance], records: &[StepRecord]) {
        self.frozen = false;
        for j in std::mem::take(&mut self.deferred) {
            if self.unmet[j] == 0 && matches!(records[j].status, StepStatus::Pending) {
                let k = self.key(steps, j);
                self.queues[self.queue_of[j]].insert(k);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    //! The incremental sets against the executor's old loop: a snapshot of the open
    //! instances sorted on every event, walked with the slot checks.
    use super::*;
    use crate::plan::{Actor, StepId};
    use crate::report::SkipReason;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    #[derive(Debug, Clone)]
    struct Node {
        deps: Vec<usize>,
        expected: u64,
        slot: Option<u8>,
        decide: bool,
        na: bool,
        /// The skip rules skip it when asked.
        skip: bool,
        /// The skip rules' "run it" is final.
        fin: bool,
    }

    /// A node as drawn: deps, expected, slot, decide, na, skip, fin.
    type Raw = (Vec<usize>, u64, Option<u8>, bool, bool, bool, bool);

    fn node() -> impl Strategy<Value = Raw> {
        (
            prop::collection::vec(0usize..64, 0..3),
            0u64..4,
            prop::option::of(0u8..2),
            prop::bool::weighted(0.15),
            prop::bool::weighted(0.1),
            prop::bool::weighted(0.1),
            any::<bool>(),
        )
    }

    fn build(raw: Vec<Raw>) -> Vec<Node> {
        raw.into_iter()
            .enumerate()
            .map(|(i, (deps, expected, slot, decide, na, skip, fin))| {
                let mut deps: Vec<usize> = if i == 0 || na {
                    Vec::new()
                } else {
                    deps.into_iter().map(|d| d % i).collect()
                };
                deps.sort();
                deps.dedup();
                Node {
                    deps,
                    expected,
                    slot,
                    decide,
                    na,
                    skip,
                    fin,
                }
            })
            .collect()
    }

    fn instances(nodes: &[Node]) -> Vec<StepInstance> {
        nodes
            .iter()
            .enumerate()
            .map(|(i, n)| StepInstance {
                idx: i,
                step: StepId::SyncData,
                policy: None,
                zone: None,
                actor: Actor::Orchestrator,
                deps: n.deps.clone(),
                job_slot: n.slot.map(|c| format!("c{c}")),
                expected_ms: n.expected,
                not_applicable: n.na.then(|| "n/a".to_string()),
            })
            .collect()
    }

    fn pending(n: usize) -> Vec<StepRecord> {
        let steps = instances(&vec![
            Node {
                deps: vec![],
                expected: 0,
                slot: None,
                decide: false,
                na: false,
                skip: false,
                fin: false,
            };
            n
        ]);
        steps
            .iter()
            .map(|s| StepRecord::pending(s, crate::run_spec::Mode::SynciqPolicy))
            .collect()
    }

    /// What a run did, in order.
    #[derive(Debug, PartialEq)]
    enum Ev {
        Na(usize),
        Skip(usize),
        Decide(usize),
        Start(usize),
        End(usize),
    }

    fn done(records: &mut [StepRecord], i: usize) {
        records[i].status = StepStatus::Succeeded;
    }

    fn skipped(records: &mut [StepRecord], i: usize) {
        records[i].status = StepStatus::Skipped {
            reason: SkipReason::UpstreamFailed {
                step: StepId::SyncData,
                policy: "p".into(),
            },
        };
    }

    /// The old executor loop (the sets rebuilt from every instance).
    fn old_run(nodes: &[Node], limits: [u32; 2], serial: bool, picks: &[usize]) -> Vec<Ev> {
        let steps = instances(nodes);
        let mut records = pending(nodes.len());
        let mut unmet: Vec<usize> = nodes.iter().map(|n| n.deps.len()).collect();
        let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); nodes.len()];
        let mut open: BTreeSet<usize> = BTreeSet::new();
        for (i, n) in nodes.iter().enumerate() {
            for &d in &n.deps {
                dependents[d].push(i);
            }
            if n.deps.is_empty() || n.na {
                open.insert(i);
            }
        }
        let over = |i: usize,
                    open: &mut BTreeSet<usize>,
                    unmet: &mut Vec<usize>,
                    records: &[StepRecord]| {
            open.remove(&i);
            for &j in &dependents[i] {
                unmet[j] -= 1;
                if unmet[j] == 0 && records[j].status == StepStatus::Pending {
                    open.insert(j);
                }
            }
        };
        let mut cleared = vec![false; nodes.len()];
        let mut used: BTreeMap<String, u32> = BTreeMap::new();
        let mut running: Vec<usize> = Vec::new();
        let mut ev = Vec::new();
        let mut picks = picks.iter().cycle();
        let max_parallel = if serial { 1 } else { usize::MAX };
        loop {
            loop {
                let mut changed = false;
                let mut next = 0;
                while let Some(&i) = open.range(next..).next() {
                    next = i + 1;
                    if records[i].status != StepStatus::Pending {
                        continue;
                    }
                    if nodes[i].na {
                        records[i].status = StepStatus::NotApplicable {
                            reason: "n/a".into(),
                        };
                        over(i, &mut open, &mut unmet, &records);
                        ev.push(Ev::Na(i));
                        changed = true;
                        continue;
                    }
                    if unmet[i] != 0 || cleared[i] {
                        continue;
                    }
                    if nodes[i].skip {
                        skipped(&mut records, i);
                        over(i, &mut open, &mut unmet, &records);
                        ev.push(Ev::Skip(i));
                        changed = true;
                    } else if nodes[i].fin {
                        cleared[i] = true;
                    }
                }
                if !changed {
                    break;
                }
            }
            let startable =
                |open: &BTreeSet<usize>, records: &[StepRecord], unmet: &[usize]| -> Vec<usize> {
                    open.iter()
                        .copied()
                        .filter(|&i| unmet[i] == 0 && records[i].status == StepStatus::Pending)
                        .collect()
                };
            let mut s = startable(&open, &records, &unmet);
            s.sort_by(|&a, &b| {
                steps[b]
                    .expected_ms
                    .cmp(&steps[a].expected_ms)
                    .then(a.cmp(&b))
            });
            if serial {
                s.sort();
            }
            for i in s {
                if nodes[i].decide {
                    done(&mut records, i);
                    over(i, &mut open, &mut unmet, &records);
                    ev.push(Ev::Decide(i));
                    continue;
                }
                if running.len() >= max_parallel {
                    break;
                }
                if let Some(c) = &steps[i].job_slot {
                    let u = used.get(c).copied().unwrap_or(0);
                    let limit = limits[usize::from(c == "c1")];
                    if u >= limit {
                        continue;
                    }
                    used.insert(c.clone(), u + 1);
                }
                records[i].status = StepStatus::Running;
                open.remove(&i);
                running.push(i);
                ev.push(Ev::Start(i));
            }
            if running.is_empty() && !startable(&open, &records, &unmet).is_empty() {
                continue;
            }
            if running.is_empty() {
                break;
            }
            let i = running.remove(picks.next().copied().unwrap_or(0) % running.len());
            if let Some(c) = &steps[i].job_slot {
                *used.get_mut(c).unwrap() -= 1;
            }
            done(&mut records, i);
            over(i, &mut open, &mut unmet, &records);
            ev.push(Ev::End(i));
        }
        ev
    }

    /// The same loop on [`Ready`].
    fn new_run(nodes: &[Node], limits: [u32; 2], serial: bool, picks: &[usize]) -> Vec<Ev> {
        let steps = instances(nodes);
        let mut records = pending(nodes.len());
        let mut ready = Ready::new(serial);
        ready.add(&steps, &records, 0, &|s| nodes[s.idx].decide);
        let limit: Vec<u32> = ready
            .clusters()
            .iter()
            .map(|c| limits[usize::from(c == "c1")])
            .collect();
        let mut used = vec![0u32; limit.len()];
        let mut running: Vec<usize> = Vec::new();
        let mut ev = Vec::new();
        let mut picks = picks.iter().cycle();
        let max_parallel = if serial { 1 } else { usize::MAX };
        loop {
            loop {
                let mut changed = false;
                let mut next = 0;
                while let Some(i) = ready.next_unsettled(next) {
                    next = i + 1;
                    if records[i].status != StepStatus::Pending {
                        continue;
                    }
                    if nodes[i].na {
                        records[i].status = StepStatus::NotApplicable {
                            reason: "n/a".into(),
                        };
                        ready.over(&steps, &records, i);
                        ev.push(Ev::Na(i));
                        changed = true;
                        continue;
                    }
                    if ready.unmet(i) != 0 || ready.is_cleared(i) {
                        continue;
                    }
                    if nodes[i].skip {
                        skipped(&mut records, i);
                        ready.over(&steps, &records, i);
                        ev.push(Ev::Skip(i));
                        changed = true;
                    } else if nodes[i].fin {
                        ready.clear(i);
                    }
                }
                if !changed {
                    break;
                }
            }
            let mut pass = ready.begin_pass();
            loop {
                let full = running.len() >= max_parallel;
                let Some(i) = ready.next(&mut pass, &|c| match c {
                    None => true,
                    Some(c) => full || used[c] < limit[c],
                }) else {
                    break;
                };
                if nodes[i].decide {
                    done(&mut records, i);
                    ready.over(&steps, &records, i);
                    ev.push(Ev::Decide(i));
                    continue;
                }
                if running.len() >= max_parallel {
                    break;
                }
                if let Some(c) = ready.slot(i) {
                    if used[c] >= limit[c] {
                        continue;
                    }
                    used[c] += 1;
                }
                records[i].status = StepStatus::Running;
                ready.start(&steps, i);
                running.push(i);
                ev.push(Ev::Start(i));
            }
            ready.end_pass(&steps, &records);
            if running.is_empty() && ready.any_startable() {
                continue;
            }
            if running.is_empty() {
                break;
            }
            let i = running.remove(picks.next().copied().unwrap_or(0) % running.len());
            if let Some(c) = ready.slot(i) {
                used[c] -= 1;
            }
            done(&mut records, i);
            ready.over(&steps, &records, i);
            ev.push(Ev::End(i));
        }
        ev
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]
        /// On any DAG, slot limits, mode and order of completions, the incremental sets
        /// make the executor record, skip, decide and start exactly what the old loop did,
        /// in the same order.
        #[test]
        fn same_run_as_the_old_loop(
            raw in prop::collection::vec(node(), 1..40),
            limits in (1u32..3, 1u32..3),
            serial in prop::bool::weighted(0.2),
            picks in prop::collection::vec(0usize..8, 1..20),
        ) {
            let nodes = build(raw);
            let limits = [limits.0, limits.1];
            prop_assert_eq!(
                new_run(&nodes, limits, serial, &picks),
                old_run(&nodes, limits, serial, &picks)
            );
        }
    }
}
