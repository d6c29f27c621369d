//! When to look at a running SyncIQ job next (adaptive polling).
//!
//! Polling a job every `job_poll_interval_ms` costs one PAPI request per interval for the
//! whole job: a 20-minute sync polled every 5 s is 240 requests to a cluster that is busy
//! failing over. Most of them tell nothing. So the wait before the next look at a `run`
//! job is its expected remaining time, less a margin, bounded below by
//! `job_poll_interval_ms` and above by `job_poll_max_interval_ms`. The remaining time comes
//! from the job's own progress: its send rate between two looks that both saw bytes sent
//! (`bytes_transferred` of `total_data_bytes`). The first look that sees bytes does not
//! count from the job's start, because a real job spends a while on its tree walk before
//! it sends anything; a rate measured from the start would be too low and the wait too
//! long. Nothing known (no bytes yet, a paused job, a job that sends no data): the base
//! interval.
//!
//! Jobs that send no data (allow-write, resync-prep, revert) are polled at the base
//! interval. The policy's earlier durations of the action could predict them, but these
//! jobs lie inside the clients' outage window, and one faster than its history (an
//! allow-write with little to revert) would be overslept: a longer outage to save a few
//! requests. For the same reason a `run` never uses its history: a final sync right after
//! a pre-sync moves a small delta and is much faster than the policy's usual syncs.
//!
//! The margin: the next look comes when a quarter of the expected remaining time is left
//! (at least one base interval), so an estimate up to a third too long still sees the job's
//! end within one base interval of it; the looks close in on the end geometrically. When
//! the rate holds, a job's end is seen as late as with fixed polling (at most one base
//! interval), so the plan's estimate (`estimate::polled`) still models it. The price: a
//! sync that speeds up by more than a third, or fails part-way, is seen ended or failed
//! up to `job_poll_max_interval_ms` later instead of within one interval. The
//! step's outcome is the same, but the clients' outage (or, for a failed final sync, the
//! lock before the rollback lifts it) lasts that much longer; a site that would rather
//! see the end sooner lowers the max.

use std::time::Duration;

use tokio::time::Instant;

use crate::papi::SyncJob;

/// Decides the wait before each look at one running job.
#[derive(Debug)]
pub(crate) struct Poller {
    base: Duration,
    max: Duration,
    /// The last look that saw bytes sent: when, and how many.
    seen: Option<(Instant, u64)>,
}

impl Poller {
    /// A poller between `base_ms` and `max_ms` (a max below the base is the base).
    pub(crate) fn new(base_ms: u64, max_ms: u64) -> Self {
        let base = Duration::from_millis(base_ms.max(1));
        Poller {
            base,
            max: Duration::from_millis(max_ms).max(base),
            seen: None,
        }
    }

    /// The wait before the first look: nothing is known yet.
    pub(crate) fn first(&self) -> Duration {
        self.base
    }

    /// The wait before the next look, after a look at `now` found `job` still listed.
    pub(crate) fn next(&mut self, now: Instant, job: &SyncJob) -> Duration {
        if job.state != "running" {
            // Paused, queued or stuck: progress says nothing about the end.
            self.seen = None;
            return self.base;
        }
        let from_rate = match (job.bytes_transferred, job.total_data_bytes) {
            (Some(sent), Some(total)) if sent > 0 && total > 0 => {
                let rem = self
                    .seen
                    .filter(|&(at, before)| sent > before && now > at)
                    .map(|(at, before)| {
                        let per_byte = (now - at).as_secs_f64() / (sent - before) as f64;
                        Duration::from_secs_f64(
                            (per_byte * total.saturating_sub(sent) as f64).min(1e9),
                        )
                    });
                self.seen = Some((now, sent));
                rem
            }
            _ => None,
        };
        self.wait(from_rate)
    }

    /// The wait for an expected remaining time (`None`: unknown).
    fn wait(&self, remaining: Option<Duration>) -> Duration {
        match remaining {
            Some(r) => r
                .saturating_sub((r / 4).max(self.base))
                .clamp(self.base, self.max),
            None => self.base,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn job(state: &str, sent: Option<u64>, total: Option<u64>) -> SyncJob {
        SyncJob {
            id: "p".into(),
            policy_name: Some("p".into()),
            action: Some("run".into()),
            state: state.into(),
            bytes_transferred: sent,
            total_data_bytes: total,
        }
    }

    const S: Duration = Duration::from_secs(1);

    #[tokio::test(start_paused = true)]
    async fn a_run_job_is_polled_at_the_base_interval_until_it_has_a_send_rate() {
        let t0 = Instant::now();
        let mut p = Poller::new(1_000, 600_000);
        assert_eq!(p.first(), S);
        // The first look that sees bytes gives no rate (its bytes include the tree walk).
        assert_eq!(p.next(t0 + S, &job("running", Some(100), Some(10_000))), S);
        // 100 bytes/s, 9,800 bytes left: 98 s left; look again when a quarter is left.
        let w = p.next(t0 + 2 * S, &job("running", Some(200), Some(10_000)));
        assert_eq!(w, Duration::from_secs_f64(98.0 * 0.75));
    }

    #[tokio::test(start_paused = true)]
    async fn waits_are_bounded_by_the_base_and_the_max_interval() {
        let t0 = Instant::now();
        let mut p = Poller::new(1_000, 10_000);
        p.next(t0 + S, &job("running", Some(1), Some(u64::MAX)));
        assert_eq!(
            p.next(t0 + 2 * S, &job("running", Some(2), Some(u64::MAX))),
            Duration::from_secs(10)
        );
        // Almost done: never less than the base interval.
        let mut p = Poller::new(1_000, 10_000);
        p.next(t0 + S, &job("running", Some(1_000), Some(2_001)));
        assert_eq!(
            p.next(t0 + 2 * S, &job("running", Some(2_000), Some(2_001))),
            S
        );
        // A max below the base is the base (fixed polling).
        let p = Poller::new(5_000, 1);
        assert_eq!(p.first(), Duration::from_secs(5));
    }

    #[tokio::test(start_paused = true)]
    async fn a_paused_job_or_one_without_progress_is_polled_at_the_base_interval() {
        let t0 = Instant::now();
        let mut p = Poller::new(1_000, 60_000);
        p.next(t0 + S, &job("running", Some(100), Some(1_000_000)));
        assert_eq!(
            p.next(t0 + 2 * S, &job("paused", Some(100), Some(1_000_000))),
            S
        );
        // After a pause the rate is measured afresh (the pause is not in it).
        assert_eq!(
            p.next(t0 + 60 * S, &job("running", Some(100), Some(1_000_000))),
            S
        );
        assert_eq!(
            p.next(t0 + 61 * S, &job("running", Some(100), Some(1_000_000))),
            S
        );
        assert_eq!(p.next(t0 + 62 * S, &job("running", None, None)), S);
    }

    proptest! {
        /// Whatever the job shows, the wait stays within [base, max].
        #[test]
        fn the_wait_is_always_within_its_bounds(
            base_ms in 1u64..100_000,
            max_ms in 0u64..1_000_000,
            looks in prop::collection::vec(
                (0u64..100_000, prop::option::of(any::<u64>()), prop::option::of(any::<u64>()),
                 prop::bool::ANY),
                1..12),
        ) {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_time().start_paused(true).build().unwrap();
            rt.block_on(async {
                let t0 = Instant::now();
                let base = Duration::from_millis(base_ms);
                let max = Duration::from_millis(max_ms).max(base);
                let mut p = Poller::new(base_ms, max_ms);
                prop_assert!(p.first() >= base && p.first() <= max);
                let mut now = t0;
                for (dt, sent, total, running) in looks {
                    now += Duration::from_millis(dt);
                    let j = job(if running { "running" } else { "paused" }, sent, total);
                    let w = p.next(now, &j);
                    prop_assert!(w >= base && w <= max, "{w:?} outside {base:?}..{max:?}");
                }
                Ok(())
            })?;
        }
    }
}
