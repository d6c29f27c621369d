//! The makespan lower bound and the barrier baseline of a run (DESIGN.md §8): one job —
//! given the run's DAG and each step instance's duration, say how far the actual makespan is
//! from what any schedule could reach, and what a phased ("barrier") tool would have taken.
//!
//! * **Critical path**: the longest chain of durations along the DAG's edges.
//! * **Job slots**: per cluster, the total work of the instances that hold one of its
//!   SyncIQ job slots (`StepInstance::job_slot`: in the plan `sync_data` and `run_mirror`,
//!   the `run` jobs that the cluster's `max_concurrent_jobs` bounds; `allow_write` and
//!   `resync_prep` jobs take no slot) divided by its slots, rounded up.
//! * **Lower bound** = the larger of those; no schedule that keeps the edges and the slots
//!   ends earlier.
//! * **Tight lower bound**: also a cluster's job bound with its head and tail added (the
//!   earliest any of its jobs can start, the shortest chain after the last one): still a
//!   lower bound, closer to what a run can reach when the jobs are followed by long chains
//!   (allow_write → resync_prep → run_mirror). Reported beside the DESIGN's bound.
//! * **Barrier baseline**: the instances grouped by step id (one phase per step id, phases in
//!   dependency order — step ids whose instances depend on each other both ways share a
//!   phase); a phase starts when the previous one has fully ended; within a phase jobs are
//!   limited by their cluster's slots (list schedule, longest first), other instances start
//!   as soon as their predecessors within the phase ended.
//!
//! **Durations are the ones measured in this run** (`end_ms - start_ms` of each instance's
//! record; skipped and not-applicable instances take 0, an instance still running when the
//! report was made runs to its end), so the bound, the baseline and the actual makespan
//! compare the same work. The simulator's job durations do not depend on how many jobs run
//! at once, so the barrier baseline with measured durations is what the same jobs would
//! have taken phased; on a real cluster sharing bandwidth it is an estimate.
//!
//! The generic core ([`Task`], [`critical_path`], [`slot_bounds`], [`list_schedule`],
//! [`barrier`]) works on indices; [`analyse`] maps a run's instances and records onto it.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};

use crate::plan::{StepId, StepInstance};
use crate::report::{Performance, SlotLoad, StepRecord};

/// One node of the DAG as the bound sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Task {
    /// Instances that must end before this one starts (indices into the task list).
    pub deps: Vec<usize>,
    pub duration_ms: u64,
    /// Index of the cluster whose job slot it holds while it runs, if any.
    pub cluster: Option<usize>,
    /// Its phase key in the barrier baseline (the step id's index).
    pub group: usize,
}

/// A topological order of `tasks` (instances on a cycle, which a checked plan never has,
/// are left out).
fn topo_order(tasks: &[Task]) -> Vec<usize> {
    let mut indeg: Vec<usize> = tasks.iter().map(|t| t.deps.len()).collect();
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); tasks.len()];
    for (i, t) in tasks.iter().enumerate() {
        for &d in &t.deps {
            children[d].push(i);
        }
    }
    let mut order: Vec<usize> = (0..tasks.len()).filter(|&i| indeg[i] == 0).collect();
    let mut k = 0;
    while k < order.len() {
        let i = order[k];
        k += 1;
        for &c in &children[i] {
            indeg[c] -= 1;
            if indeg[c] == 0 {
                order.push(c);
            }
        }
    }
    order
}

/// Length of the longest chain of durations along the edges.
pub fn critical_path(tasks: &[Task]) -> u64 {
    let mut finish = vec![0u64; tasks.len()];
    for i in topo_order(tasks) {
        let ready = tasks[i].deps.iter().map(|&d| finish[d]).max().unwrap_or(0);
        finish[i] = ready + tasks[i].duration_ms;
    }
    finish.into_iter().max().unwrap_or(0)
}

/// Per cluster: total job work, and that work over its slots rounded up (a slot count of 0
/// counts as 1, as the executor does).
pub fn slot_bounds(tasks: &[Task], slots: &[u32]) -> Vec<(u64, u64)> {
    let mut work = vec![0u64; slots.len()];
    for t in tasks {
        if let Some(c) = t.cluster {
            work[c] += t.duration_ms;
        }
    }
    work.iter()
        .zip(slots)
        .map(|(&w, &s)| (w, w.div_ceil(u64::from(s.max(1)))))
        .collect()
}

/// Per cluster with job work: the bound of its jobs with their *head* and *tail* added —
/// the earliest any of them can start (longest chain before it) plus their work over the
/// slots plus the shortest chain that must follow the last of them. Every job starts at or
/// after the head, the work needs `work / slots` of slot time after it, and whichever job
/// ends last still has its successors to run: a valid, tighter lower bound than the
/// DESIGN's `work / slots` (0 for a cluster without job work).
pub fn slot_bounds_with_tails(tasks: &[Task], slots: &[u32]) -> Vec<u64> {
    let order = topo_order(tasks);
    let mut head = vec![0u64; tasks.len()];
    for &i in &order {
        head[i] = tasks[i]
            .deps
            .iter()
            .map(|&d| head[d] + tasks[d].duration_ms)
            .max()
            .unwrap_or(0);
    }
    let mut tail = vec![0u64; tasks.len()];
    for &i in order.iter().rev() {
        for &d in &tasks[i].deps {
            tail[d] = tail[d].max(tasks[i].duration_ms + tail[i]);
        }
    }
    slot_bounds(tasks, slots)
        .into_iter()
        .enumerate()
        .map(|(c, (work, bound))| {
            let jobs = || {
                (0..tasks.len())
                    .filter(move |&i| tasks[i].cluster == Some(c) && tasks[i].duration_ms > 0)
            };
            match (jobs().map(|i| head[i]).min(), jobs().map(|i| tail[i]).min()) {
                (Some(h), Some(t)) if work > 0 => h + bound + t,
                _ => 0,
            }
        })
        .collect()
}

/// The lower bound and the term that set it: `None` = the critical path, `Some(c)` = the
/// job slots of cluster `c` (ties go to the critical path).
pub fn lower_bound(tasks: &[Task], slots: &[u32]) -> (u64, Option<usize>) {
    let mut best = (critical_path(tasks), None);
    for (c, (_, b)) in slot_bounds(tasks, slots).into_iter().enumerate() {
        if b > best.0 {
            best = (b, Some(c));
        }
    }
    best
}

/// List-schedule `members` (indices into `tasks`, each once) from time `release`: an
/// instance is ready when its predecessors among `members` ended (the others are taken as
/// ended by `release`); ready jobs start longest first while their cluster has a free slot,
/// other instances start at once. Returns each member's start time, in `members` order.
pub fn list_schedule(tasks: &[Task], members: &[usize], release: u64, slots: &[u32]) -> Vec<u64> {
    let mut pos: Vec<Option<usize>> = vec![None; tasks.len()];
    for (p, &i) in members.iter().enumerate() {
        pos[i] = Some(p);
    }
    let mut waiting = vec![0usize; members.len()];
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); members.len()];
    for (p, &i) in members.iter().enumerate() {
        for d in &tasks[i].deps {
            if let Some(q) = pos.get(*d).copied().flatten() {
                children[q].push(p);
                waiting[p] += 1;
            }
        }
    }
    let mut start = vec![release; members.len()];
    let mut used = vec![0u32; slots.len()];
    // Ready jobs wait in one heap per cluster (longest first, then lowest index), so an
    // event costs a log per job it touches rather than a sort of every waiting job: the
    // order is the one a full sort of the ready list would give, because clusters do not
    // share slots and every non-job instance starts at once.
    let mut ready: Vec<BinaryHeap<(u64, Reverse<usize>, usize)>> =
        (0..slots.len()).map(|_| BinaryHeap::new()).collect();
    let mut running: BinaryHeap<Reverse<(u64, usize)>> = BinaryHeap::new();
    let mut now = release;
    let mut fresh: Vec<usize> = (0..members.len()).filter(|&p| waiting[p] == 0).collect();
    loop {
        for p in fresh.drain(..) {
            let t = &tasks[members[p]];
            match t.cluster {
                Some(c) => ready[c].push((t.duration_ms, Reverse(members[p]), p)),
                None => {
                    start[p] = now;
                    running.push(Reverse((now + t.duration_ms, p)));
                }
            }
        }
        for (c, heap) in ready.iter_mut().enumerate() {
            while used[c] < slots[c].max(1) {
                let Some((d, _, p)) = heap.pop() else { break };
                used[c] += 1;
                start[p] = now;
                running.push(Reverse((now + d, p)));
            }
        }
        let Some(Reverse((end, _))) = running.peek().copied() else {
            break;
        };
        now = end;
        while let Some(Reverse((e, p))) = running.peek().copied() {
            if e != now {
                break;
            }
            running.pop();
            if let Some(c) = tasks[members[p]].cluster {
                used[c] -= 1;
            }
            for &q in &children[p] {
                waiting[q] -= 1;
                if waiting[q] == 0 {
                    fresh.push(q);
                }
            }
        }
    }
    start
}

/// The phases of the barrier baseline: groups in dependency order, each a list of task
/// indices in plan order. Groups that reach each other through edges both ways (a cycle
/// between step ids) form one phase.
pub fn phases(tasks: &[Task]) -> Vec<Vec<usize>> {
    let n = tasks.iter().map(|t| t.group + 1).max().unwrap_or(0);
    // reach[a][b]: some instance of group a is (transitively) before one of group b.
    let mut reach = vec![vec![false; n]; n];
    for t in tasks {
        for &d in &t.deps {
            reach[tasks[d].group][t.group] = true;
        }
    }
    for k in 0..n {
        let via = reach[k].clone();
        for row in reach.iter_mut().filter(|row| row[k]) {
            for (x, &y) in row.iter_mut().zip(&via) {
                *x |= y;
            }
        }
    }
    let mut first = vec![usize::MAX; n];
    for (i, t) in tasks.iter().enumerate() {
        first[t.group] = first[t.group].min(i);
    }
    // A phase = a class of mutually reaching groups, named by its lowest member. Ordered by
    // the number of groups at or before it (strictly more for a later class), then by
    // where it first appears in the plan.
    let class: Vec<usize> = (0..n)
        .map(|a| {
            (0..n)
                .find(|&b| b == a || (reach[a][b] && reach[b][a]))
                .unwrap_or(a)
        })
        .collect();
    let before = |a: usize| (0..n).filter(|&g| g == a || reach[g][a]).count();
    let mut keys: Vec<(usize, usize, usize)> = Vec::new();
    for g in (0..n).filter(|&g| first[g] != usize::MAX) {
        let c = class[g];
        if let Some(k) = keys.iter_mut().find(|k| k.2 == c) {
            k.1 = k.1.min(first[g]);
        } else {
            keys.push((before(g), first[g], c));
        }
    }
    keys.sort();
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (i, t) in tasks.iter().enumerate() {
        members[class[t.group]].push(i);
    }
    keys.iter()
        .map(|&(_, _, c)| std::mem::take(&mut members[c]))
        .collect()
}

/// Makespan of the barrier baseline: each phase list-scheduled from the end of the one
/// before.
pub fn barrier(tasks: &[Task], slots: &[u32]) -> u64 {
    let mut t = 0;
    for members in phases(tasks) {
        let starts = list_schedule(tasks, &members, t, slots);
        t = members
            .iter()
            .zip(starts)
            .map(|(&i, s)| s + tasks[i].duration_ms)
            .max()
            .unwrap_or(t)
            .max(t);
    }
    t
}

/// `a / b` to three decimals; `None` when `b` is 0.
fn ratio(a: u64, b: u64) -> Option<f64> {
    (b > 0).then(|| (a as f64 / b as f64 * 1000.0).round() / 1000.0)
}

/// The report's performance figures for a run: its instances (rollbacks included), their
/// records (measured start/end), each cluster's job slots and the actual makespan.
pub fn analyse(
    steps: &[StepInstance],
    records: &[StepRecord],
    slots: &BTreeMap<String, u32>,
    makespan_ms: u64,
) -> Performance {
    let mut clusters: Vec<String> = slots.keys().cloned().collect();
    for s in steps {
        if let Some(c) = &s.job_slot {
            if !clusters.contains(c) {
                clusters.push(c.clone());
            }
        }
    }
    let slot_counts: Vec<u32> = clusters
        .iter()
        .map(|c| slots.get(c).copied().unwrap_or(1).max(1))
        .collect();
    let mut groups: BTreeMap<StepId, usize> = BTreeMap::new();
    let tasks: Vec<Task> = steps
        .iter()
        .zip(records)
        .map(|(s, r)| {
            let n = groups.len();
            Task {
                deps: s.deps.clone(),
                duration_ms: match (r.start_ms, r.end_ms) {
                    (Some(a), Some(b)) => b.saturating_sub(a),
                    (Some(a), None) => makespan_ms.saturating_sub(a),
                    _ => 0,
                },
                cluster: s
                    .job_slot
                    .as_ref()
                    .and_then(|c| clusters.iter().position(|x| x == c)),
                group: *groups.entry(s.step).or_insert(n),
            }
        })
        .collect();
    let critical_path_ms = critical_path(&tasks);
    let (lower_bound_ms, term) = lower_bound(&tasks, &slot_counts);
    let barrier_baseline_ms = barrier(&tasks, &slot_counts);
    let with_tails = slot_bounds_with_tails(&tasks, &slot_counts);
    let job_slots: BTreeMap<String, SlotLoad> = slot_bounds(&tasks, &slot_counts)
        .into_iter()
        .enumerate()
        .filter(|(_, (w, _))| *w > 0)
        .map(|(c, (job_work_ms, bound_ms))| {
            (
                clusters[c].clone(),
                SlotLoad {
                    job_work_ms,
                    slots: slot_counts[c],
                    bound_ms,
                    with_head_and_tail_ms: with_tails[c],
                },
            )
        })
        .collect();
    let tight_lower_bound_ms = with_tails.iter().copied().fold(lower_bound_ms, u64::max);
    Performance {
        lower_bound_ms,
        lower_bound_term: match term {
            None => "critical_path".into(),
            Some(c) => format!("job_slots({})", clusters[c]),
        },
        critical_path_ms,
        job_slots,
        makespan_over_lower_bound: ratio(makespan_ms, lower_bound_ms),
        tight_lower_bound_ms,
        makespan_over_tight_lower_bound: ratio(makespan_ms, tight_lower_bound_ms),
        barrier_baseline_ms,
        pipelined_over_barrier: ratio(makespan_ms, barrier_baseline_ms),
        estimated_ms: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn t(deps: &[usize], d: u64, cluster: Option<usize>, group: usize) -> Task {
        Task {
            deps: deps.to_vec(),
            duration_ms: d,
            cluster,
            group,
        }
    }

    /// prep(10) → three policies' sync (jobs 100, 60, 40 on cluster 0, one slot) →
    /// allow_write (5, 5, 50) → done(1).
    fn three_policies() -> Vec<Task> {
        vec![
            t(&[], 10, None, 0),
            t(&[0], 100, Some(0), 1),
            t(&[0], 60, Some(0), 1),
            t(&[0], 40, Some(0), 1),
            t(&[1], 5, None, 2),
            t(&[2], 5, None, 2),
            t(&[3], 50, None, 2),
            t(&[4, 5, 6], 1, None, 3),
        ]
    }

    #[test]
    fn hand_built_dag() {
        let tasks = three_policies();
        // Longest chain: 10 + 100 + 5 + 1.
        assert_eq!(critical_path(&tasks), 116);
        // One slot: 200 of job work; two slots: 100.
        assert_eq!(slot_bounds(&tasks, &[1]), vec![(200, 200)]);
        assert_eq!(slot_bounds(&tasks, &[2]), vec![(200, 100)]);
        assert_eq!(slot_bounds(&tasks, &[3]), vec![(200, 67)]);
        assert_eq!(lower_bound(&tasks, &[1]), (200, Some(0)));
        assert_eq!(lower_bound(&tasks, &[3]), (116, None));
        // Heads and tails: every sync starts after prep (10); after the last one at least
        // an allow_write (5) and done (1) follow.
        assert_eq!(slot_bounds_with_tails(&tasks, &[1]), vec![10 + 200 + 6]);
        assert_eq!(slot_bounds_with_tails(&tasks, &[2]), vec![10 + 100 + 6]);
        // Phases: prep | syncs | allow_writes | done.
        assert_eq!(
            phases(&tasks),
            vec![vec![0], vec![1, 2, 3], vec![4, 5, 6], vec![7]]
        );
        // One slot: 10 + 200 + 50 + 1. Two slots: 10 + (100 ‖ 60+40) + 50 + 1.
        assert_eq!(barrier(&tasks, &[1]), 261);
        assert_eq!(barrier(&tasks, &[2]), 161);
        // Three slots: 10 + 100 + 50 + 1, while pipelined the 50 overlaps the 100.
        assert_eq!(barrier(&tasks, &[3]), 161);
    }

    #[test]
    fn list_schedule_starts_longest_job_first_within_slots() {
        let tasks = three_policies();
        // Syncs only, one slot, from t=10: 100 first, then 60, then 40.
        assert_eq!(
            list_schedule(&tasks, &[1, 2, 3], 10, &[1]),
            vec![10, 110, 170]
        );
        // Whole DAG, two slots.
        let all: Vec<usize> = (0..tasks.len()).collect();
        let s = list_schedule(&tasks, &all, 0, &[2]);
        assert_eq!(s, vec![0, 10, 10, 70, 110, 70, 110, 160]);
    }

    #[test]
    fn step_ids_that_depend_both_ways_share_a_phase() {
        // a0 → b0 → a1: groups 0 and 1 form one phase; c after both.
        let tasks = vec![
            t(&[], 1, None, 0),
            t(&[0], 2, None, 1),
            t(&[1], 3, None, 0),
            t(&[2], 4, None, 2),
        ];
        assert_eq!(phases(&tasks), vec![vec![0, 1, 2], vec![3]]);
        assert_eq!(barrier(&tasks, &[]), 10);
        assert_eq!(critical_path(&tasks), 10);
    }

    #[test]
    fn empty_run() {
        assert_eq!(critical_path(&[]), 0);
        assert_eq!(barrier(&[], &[1]), 0);
        assert_eq!(ratio(5, 0), None);
        assert_eq!(ratio(3, 2), Some(1.5));
    }

    /// A random DAG: edges to earlier tasks only, a few groups, up to three clusters.
    fn dag() -> impl Strategy<Value = (Vec<Task>, Vec<u32>)> {
        (1usize..4, 1usize..30).prop_flat_map(|(n_clusters, n)| {
            let slots = proptest::collection::vec(0u32..4, n_clusters);
            let tasks = (0..n)
                .map(|i| {
                    (
                        proptest::collection::vec(0..i.max(1), 0..3),
                        0u64..200,
                        proptest::option::of(0..n_clusters),
                        0usize..6,
                    )
                        .prop_map(move |(deps, d, c, g)| {
                            let mut deps: Vec<usize> =
                                deps.into_iter().filter(|&x| x < i).collect();
                            deps.sort();
                            deps.dedup();
                            t(&deps, d, c, g)
                        })
                })
                .collect::<Vec<_>>();
            (tasks, slots)
        })
    }

    /// Check that `start` is a valid schedule (edges and slots kept) and return its makespan.
    fn valid_makespan(tasks: &[Task], start: &[u64], slots: &[u32]) -> u64 {
        for (i, t) in tasks.iter().enumerate() {
            for &d in &t.deps {
                assert!(start[i] >= start[d] + tasks[d].duration_ms, "edge {d}→{i}");
            }
            if let Some(c) = t.cluster {
                // Jobs on c running at the moment i starts (i included).
                let at = start[i];
                let busy = tasks
                    .iter()
                    .enumerate()
                    .filter(|(j, u)| {
                        u.cluster == Some(c) && start[*j] <= at && at < start[*j] + u.duration_ms
                    })
                    .count();
                assert!(
                    busy as u32 <= slots[c].max(1),
                    "slots of {c} exceeded at {at}"
                );
            }
        }
        tasks
            .iter()
            .zip(start)
            .map(|(t, s)| s + t.duration_ms)
            .max()
            .unwrap_or(0)
    }

    /// The list schedule as first written (the whole ready list sorted at every event):
    /// the per-cluster heaps must give the same start times.
    fn list_schedule_by_sorting(
        tasks: &[Task],
        members: &[usize],
        release: u64,
        slots: &[u32],
    ) -> Vec<u64> {
        let pos: BTreeMap<usize, usize> =
            members.iter().enumerate().map(|(p, &i)| (i, p)).collect();
        let mut waiting = vec![0usize; members.len()];
        let mut children: Vec<Vec<usize>> = vec![Vec::new(); members.len()];
        for (p, &i) in members.iter().enumerate() {
            for d in &tasks[i].deps {
                if let Some(&q) = pos.get(d) {
                    children[q].push(p);
                    waiting[p] += 1;
                }
            }
        }
        let mut start = vec![release; members.len()];
        let mut used = vec![0u32; slots.len()];
        let mut ready: Vec<usize> = (0..members.len()).filter(|&p| waiting[p] == 0).collect();
        let mut running: BinaryHeap<Reverse<(u64, usize)>> = BinaryHeap::new();
        let mut now = release;
        loop {
            ready.sort_by_key(|&p| (Reverse(tasks[members[p]].duration_ms), members[p]));
            let mut blocked = Vec::new();
            for p in ready.drain(..) {
                if let Some(c) = tasks[members[p]].cluster {
                    if used[c] >= slots[c].max(1) {
                        blocked.push(p);
                        continue;
                    }
                    used[c] += 1;
                }
                start[p] = now;
                running.push(Reverse((now + tasks[members[p]].duration_ms, p)));
            }
            ready = blocked;
            let Some(Reverse((end, _))) = running.peek().copied() else {
                break;
            };
            now = end;
            while let Some(Reverse((e, p))) = running.peek().copied() {
                if e != now {
                    break;
                }
                running.pop();
                if let Some(c) = tasks[members[p]].cluster {
                    used[c] -= 1;
                }
                for &q in &children[p] {
                    waiting[q] -= 1;
                    if waiting[q] == 0 {
                        ready.push(q);
                    }
                }
            }
        }
        start
    }

    proptest! {
        #[test]
        fn heap_list_schedule_equals_the_sorting_one((tasks, slots) in dag(), release in 0u64..1000) {
            let all: Vec<usize> = (0..tasks.len()).collect();
            prop_assert_eq!(
                list_schedule(&tasks, &all, release, &slots),
                list_schedule_by_sorting(&tasks, &all, release, &slots)
            );
            for members in phases(&tasks) {
                prop_assert_eq!(
                    list_schedule(&tasks, &members, release, &slots),
                    list_schedule_by_sorting(&tasks, &members, release, &slots)
                );
            }
        }

        #[test]
        fn lower_bound_is_below_every_schedule((tasks, slots) in dag(), prio in any::<u64>()) {
            let (lb, _) = lower_bound(&tasks, &slots);
            prop_assert!(lb >= critical_path(&tasks));
            // The barrier baseline is a valid schedule: the bound is below it.
            let mut start = vec![0u64; tasks.len()];
            let mut t0 = 0;
            for members in phases(&tasks) {
                for (&i, s) in members.iter().zip(list_schedule(&tasks, &members, t0, &slots)) {
                    start[i] = s;
                }
                t0 = members.iter().map(|&i| start[i] + tasks[i].duration_ms).max().unwrap_or(t0).max(t0);
            }
            let b = barrier(&tasks, &slots);
            prop_assert_eq!(valid_makespan(&tasks, &start, &slots), b);
            prop_assert!(lb <= b, "lower bound {} > barrier {}", lb, b);
            for (c, tight) in slot_bounds_with_tails(&tasks, &slots).into_iter().enumerate() {
                prop_assert!(tight <= b, "cluster {} bound with tails {} > barrier {}", c, tight, b);
            }
            // So is a pipelined list schedule of the whole DAG, with durations permuted so
            // the priority order differs from run to run.
            let mut shuffled = tasks.clone();
            let n = shuffled.len() as u64;
            for (i, t) in shuffled.iter_mut().enumerate() {
                t.duration_ms = tasks[((i as u64 + prio) % n) as usize].duration_ms;
            }
            let (lb2, _) = lower_bound(&shuffled, &slots);
            let all: Vec<usize> = (0..shuffled.len()).collect();
            let s = list_schedule(&shuffled, &all, 0, &slots);
            let m = valid_makespan(&shuffled, &s, &slots);
            prop_assert!(lb2 <= m, "lower bound {} > pipelined {}", lb2, m);
            for tight in slot_bounds_with_tails(&shuffled, &slots) {
                prop_assert!(tight <= m, "bound with tails {} > pipelined {}", tight, m);
            }
        }
    }
}
