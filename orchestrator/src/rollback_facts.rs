//! What the executor's rollback check (`exec::rollbacks_needed`) reads of a run's statuses,
//! kept up to date as instances end instead of found by scanning every instance.
//!
//! Why: the check runs after every allow-write and resync-prep (and every failure or skip),
//! and each run of it scanned all instances several times over (is the lock done, did a
//! gate fail, which allow-writes failed, are all allow-writes over, ...): quadratic in the
//! number of policies. Every fact here only changes when an instance ends (an ended
//! status is final), so it is updated once per ended instance.

use std::collections::{BTreeMap, BTreeSet};

use crate::plan::{StepId, StepInstance};
use crate::report::{SkipReason, StepRecord, StepStatus};

/// Whether a step may have changed something (so its rollback has work to look for).
pub(crate) fn may_have_acted(r: &StepRecord) -> bool {
    matches!(r.status, StepStatus::Succeeded | StepStatus::Failed { .. })
}

pub(crate) fn failed(r: &StepRecord) -> bool {
    matches!(r.status, StepStatus::Failed { .. })
}

/// A policy's chain broke at this step: it failed, or was skipped because an upstream
/// chain step failed.
pub(crate) fn chain_failed(r: &StepRecord) -> bool {
    matches!(
        &r.status,
        StepStatus::Failed { .. }
            | StepStatus::Skipped {
                reason: SkipReason::UpstreamFailed { .. }
            }
    )
}

/// The facts (see the module doc); each field says the scan it stands for.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Facts {
    /// How many instances were taken in.
    seen: usize,
    /// Instances by step, in index order.
    by_step: BTreeMap<StepId, Vec<usize>>,
    /// Networking instances, in index order.
    pub networking: Vec<usize>,
    /// A cluster-wide `data_integrity_lock` may have acted.
    pub lock_done: bool,
    /// A cluster-wide `disable_config_jobs` succeeded.
    pub cfg_off: bool,
    /// A cluster-wide `disable_protocols` may have acted.
    pub protocols_off: bool,
    /// Failed gates.
    pub failed_gates: BTreeSet<usize>,
    /// Failed networking instances.
    pub failed_networking: BTreeSet<usize>,
    /// Allow-writes whose policy's chain failed ([`chain_failed`]).
    pub chain_failed_aws: BTreeSet<usize>,
    /// Allow-write and resync-prep instances not over.
    pub chain_open: usize,
    /// Policies whose `cache_schedules` succeeded.
    pub cached: BTreeSet<String>,
}

impl Facts {
    /// Take in the instances not seen yet (new, or read back from a journal with their
    /// records).
    pub(crate) fn add(&mut self, steps: &[StepInstance], records: &[StepRecord]) {
        for s in &steps[self.seen..] {
            self.by_step.entry(s.step).or_default().push(s.idx);
            if s.step.is_networking() {
                self.networking.push(s.idx);
            }
            if matches!(s.step, StepId::AllowWrite | StepId::ResyncPrep) {
                self.chain_open += 1;
            }
            if records[s.idx].status.is_terminal() {
                self.ended(steps, records, s.idx);
            }
        }
        self.seen = steps.len();
    }

    /// Instance `i` ended (its status is final).
    pub(crate) fn ended(&mut self, steps: &[StepInstance], records: &[StepRecord], i: usize) {
        let s = &steps[i];
        let r = &records[i];
        let wide = s.policy.is_none();
        match s.step {
            StepId::DataIntegrityLock if wide && may_have_acted(r) => self.lock_done = true,
            StepId::DisableConfigJobs if wide && r.status == StepStatus::Succeeded => {
                self.cfg_off = true
            }
            StepId::DisableProtocols if wide && may_have_acted(r) => self.protocols_off = true,
            StepId::CacheSchedules if r.status == StepStatus::Succeeded => {
                if let Some(p) = &s.policy {
                    self.cached.insert(p.clone());
                }
            }
            _ => {}
        }
        if s.step.is_gate() && failed(r) {
            self.failed_gates.insert(i);
        }
        if s.step.is_networking() && failed(r) {
            self.failed_networking.insert(i);
        }
        if s.step == StepId::AllowWrite && chain_failed(r) {
            self.chain_failed_aws.insert(i);
        }
        if matches!(s.step, StepId::AllowWrite | StepId::ResyncPrep) {
            self.chain_open -= 1;
        }
    }

    /// The instances of `step`, in index order.
    pub(crate) fn of(&self, step: StepId) -> &[usize] {
        self.by_step.get(&step).map_or(&[], Vec::as_slice)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Actor;
    use crate::run_spec::Mode;
    use proptest::prelude::*;
    use strum::IntoEnumIterator;

    /// The facts by scanning every instance, as the rollback check did.
    fn scanned(steps: &[StepInstance], records: &[StepRecord]) -> Facts {
        let any = |step: StepId, pred: &dyn Fn(&StepRecord) -> bool| {
            steps
                .iter()
                .any(|s| s.step == step && s.policy.is_none() && pred(&records[s.idx]))
        };
        let mut by_step: BTreeMap<StepId, Vec<usize>> = BTreeMap::new();
        for s in steps {
            by_step.entry(s.step).or_default().push(s.idx);
        }
        Facts {
            seen: steps.len(),
            by_step,
            networking: steps
                .iter()
                .filter(|s| s.step.is_networking())
                .map(|s| s.idx)
                .collect(),
            lock_done: any(StepId::DataIntegrityLock, &may_have_acted),
            cfg_off: any(StepId::DisableConfigJobs, &|r| {
                r.status == StepStatus::Succeeded
            }),
            protocols_off: any(StepId::DisableProtocols, &may_have_acted),
            failed_gates: steps
                .iter()
                .filter(|s| s.step.is_gate() && failed(&records[s.idx]))
                .map(|s| s.idx)
                .collect(),
            failed_networking: steps
                .iter()
                .filter(|s| s.step.is_networking() && failed(&records[s.idx]))
                .map(|s| s.idx)
                .collect(),
            chain_failed_aws: steps
                .iter()
                .filter(|s| s.step == StepId::AllowWrite && chain_failed(&records[s.idx]))
                .map(|s| s.idx)
                .collect(),
            chain_open: steps
                .iter()
                .filter(|s| matches!(s.step, StepId::AllowWrite | StepId::ResyncPrep))
                .filter(|s| !records[s.idx].status.is_terminal())
                .count(),
            cached: steps
                .iter()
                .filter(|s| {
                    s.step == StepId::CacheSchedules
                        && records[s.idx].status == StepStatus::Succeeded
                })
                .filter_map(|s| s.policy.clone())
                .collect(),
        }
    }

    fn status(n: u8) -> StepStatus {
        match n % 6 {
            0 => StepStatus::Succeeded,
            1 => StepStatus::Failed { error: "e".into() },
            2 => StepStatus::Skipped {
                reason: SkipReason::UpstreamFailed {
                    step: StepId::SyncData,
                    policy: "p".into(),
                },
            },
            3 => StepStatus::Skipped {
                reason: SkipReason::ValidationFailed {
                    step: StepId::Validate,
                },
            },
            4 => StepStatus::NotApplicable { reason: "n".into() },
            _ => StepStatus::Manual {
                instructions: "i".into(),
                confirmed: false,
            },
        }
    }

    proptest! {
        /// Whatever the instances, the order they end in and the statuses they end with
        /// (some taken in already ended, as from a journal, some added later), the facts
        /// kept as instances end are the ones a scan of every instance finds.
        #[test]
        fn agree_with_a_scan(
            raw in prop::collection::vec((0usize..200, prop::option::of(0u8..3), any::<u8>(), any::<bool>()), 1..40),
            order in prop::collection::vec(any::<prop::sample::Index>(), 0..60),
            split in any::<prop::sample::Index>(),
        ) {
            let kinds: Vec<StepId> = StepId::iter().collect();
            let steps: Vec<StepInstance> = raw
                .iter()
                .enumerate()
                .map(|(i, (k, p, _, _))| StepInstance {
                    idx: i,
                    step: kinds[k % kinds.len()],
                    policy: p.map(|p| format!("p{p}")),
                    zone: None,
                    actor: Actor::Orchestrator,
                    deps: Vec::new(),
                    job_slot: None,
                    expected_ms: 0,
                    not_applicable: None,
                })
                .collect();
            let mut records: Vec<StepRecord> = steps
                .iter()
                .map(|s| StepRecord::pending(s, Mode::SynciqPolicy))
                .collect();
            // Instances ended before the run (resumed) have their status when taken in.
            for (i, (_, _, st, pre)) in raw.iter().enumerate() {
                if *pre {
                    records[i].status = status(*st);
                }
            }
            let first = split.index(steps.len()) + 1;
            let mut facts = Facts::default();
            facts.add(&steps[..first], &records[..first]);
            prop_assert_eq!(&facts, &scanned(&steps[..first], &records[..first]));
            facts.add(&steps, &records);
            prop_assert_eq!(&facts, &scanned(&steps, &records));
            for o in order {
                let i = o.index(steps.len());
                if records[i].status.is_terminal() {
                    continue;
                }
                records[i].status = status(raw[i].2);
                if records[i].status.is_terminal() {
                    facts.ended(&steps, &records, i);
                }
                prop_assert_eq!(&facts, &scanned(&steps, &records));
            }
        }
    }
}
