//! Virtual time, and the one wall clock PAPI bodies and the HTTP `Date` header share.
//!
//! The simulator never runs timers of its own: it reads tokio's clock, which is virtual under a
//! paused runtime (tests, `drill run`) and real otherwise (`drill serve`). All model times are
//! milliseconds since the world was created. An [`Epoch`] anchors virtual time 0 to a Unix
//! time: the world's `start_epoch_s` (default [`EPOCH_UNIX_S`], so reports are byte-identical
//! across runs), or the wall clock when `drill serve` starts ([`Epoch::wall_clock_at`]), so a
//! client computing RPO as `now − last_success` from the `Date` header gets a real figure
//! (DESIGN §3 "Times in PAPI bodies").

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::time::Instant;

/// Unix time (seconds) that virtual time 0 maps to by default: 2026-01-01T00:00:00Z.
pub const EPOCH_UNIX_S: i64 = 1_767_225_600;

/// Origin and rate of one world's virtual time.
///
/// Virtual time runs `speed`× tokio's clock (1 everywhere but `drill serve --speed N`, where a
/// 30-minute failover is demonstrated in about `30/N` minutes). A change of speed re-bases the
/// origin, so virtual time never jumps or runs backwards.
#[derive(Debug)]
pub struct Clock {
    /// When the world started: virtual time 0 while the speed has never changed.
    start: Instant,
    /// Set once the speed has been changed: from then on `state` holds the rate. Until then
    /// (always, except under `drill serve --speed`) virtual time is just tokio's time since
    /// `start`, read without the lock: every world access reads the clock.
    rebased: AtomicBool,
    state: std::sync::Mutex<Rate>,
}

#[derive(Clone, Copy, Debug)]
struct Rate {
    origin: Instant,
    /// Virtual milliseconds at `origin`.
    base_ms: u64,
    speed: u32,
}

/// Upper limit of `--speed`: beyond it a second of real time would be over a day virtual.
pub const MAX_SPEED: u32 = 100_000;

impl Clock {
    pub fn start() -> Clock {
        let start = Instant::now();
        Clock {
            start,
            rebased: AtomicBool::new(false),
            state: std::sync::Mutex::new(Rate {
                origin: start,
                base_ms: 0,
                speed: 1,
            }),
        }
    }

    fn rate(&self) -> Rate {
        *self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Milliseconds since the world was created.
    pub fn now_ms(&self) -> u64 {
        // Before any speed change the rate is (origin = start, base 0, speed 1): the same
        // figure as the general formula below. A reader racing the first `set_speed` sees
        // either rate; both give the same time at the moment of the change (no jump).
        if !self.rebased.load(Ordering::Acquire) {
            return u64::try_from(Instant::now().duration_since(self.start).as_millis())
                .unwrap_or(u64::MAX);
        }
        let r = self.rate();
        let real =
            u64::try_from(Instant::now().duration_since(r.origin).as_millis()).unwrap_or(u64::MAX);
        r.base_ms
            .saturating_add(real.saturating_mul(u64::from(r.speed)))
    }

    /// How many virtual milliseconds pass per real millisecond.
    pub fn speed(&self) -> u32 {
        self.rate().speed
    }

    /// Run virtual time `speed`× real time from now on (1 ..= [`MAX_SPEED`]).
    pub fn set_speed(&self, speed: u32) -> Result<(), String> {
        if !(1..=MAX_SPEED).contains(&speed) {
            return Err(format!("speed {speed} is outside 1 ..= {MAX_SPEED}"));
        }
        let now = self.now_ms();
        let mut r = self.state.lock().unwrap_or_else(|e| e.into_inner());
        *r = Rate {
            origin: Instant::now(),
            base_ms: now,
            speed,
        };
        self.rebased.store(true, Ordering::Release);
        Ok(())
    }
}

/// The Unix time of virtual time 0, in milliseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Epoch {
    unix_ms: i64,
}

impl Default for Epoch {
    fn default() -> Self {
        Epoch::from_unix_s(EPOCH_UNIX_S)
    }
}

impl Epoch {
    pub fn from_unix_s(s: i64) -> Epoch {
        Epoch {
            unix_ms: s.saturating_mul(1000),
        }
    }

    /// The epoch that makes virtual time `now_ms` equal to the wall clock now.
    pub fn wall_clock_at(now_ms: u64) -> Epoch {
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        Epoch {
            unix_ms: wall.saturating_sub(i64::try_from(now_ms).unwrap_or(i64::MAX)),
        }
    }

    /// Virtual milliseconds (negative for history before the world started) → Unix seconds.
    pub fn unix_s(self, ms: i64) -> i64 {
        self.unix_ms.saturating_add(ms).div_euclid(1000)
    }

    /// Virtual milliseconds → the `SystemTime` an HTTP `Date` header states.
    pub fn system_time(self, ms: u64) -> SystemTime {
        let unix_ms = self
            .unix_ms
            .saturating_add(i64::try_from(ms).unwrap_or(i64::MAX));
        UNIX_EPOCH + Duration::from_millis(u64::try_from(unix_ms).unwrap_or(0))
    }

    /// The `Date` header value for virtual time `ms` (RFC 9110 IMF-fixdate).
    pub fn http_date(self, ms: u64) -> String {
        httpdate::fmt_http_date(self.system_time(ms))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn speed_scales_virtual_time_without_jumps() {
        let c = Clock::start();
        tokio::time::sleep(std::time::Duration::from_millis(1000)).await;
        assert_eq!(c.now_ms(), 1000);
        c.set_speed(60).unwrap();
        assert_eq!(c.now_ms(), 1000, "no jump when the speed changes");
        tokio::time::sleep(std::time::Duration::from_millis(1000)).await;
        assert_eq!(c.now_ms(), 61_000);
        assert_eq!(c.speed(), 60);
        assert!(c.set_speed(0).is_err());
        assert!(c.set_speed(MAX_SPEED + 1).is_err());
        assert_eq!(c.now_ms(), 61_000, "a refused speed changes nothing");
    }

    #[test]
    fn default_epoch_maps_zero_to_2026() {
        let e = Epoch::default();
        assert_eq!(e.unix_s(0), EPOCH_UNIX_S);
        assert_eq!(e.unix_s(-1), EPOCH_UNIX_S - 1, "history rounds down");
        assert_eq!(e.http_date(1500), "Thu, 01 Jan 2026 00:00:01 GMT");
    }

    #[test]
    fn wall_clock_epoch_agrees_with_the_system_clock() {
        let e = Epoch::wall_clock_at(60_000);
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        assert!((e.unix_s(60_000) - now).abs() <= 1);
        let date = httpdate::parse_http_date(&e.http_date(60_000)).unwrap();
        let d = date.duration_since(UNIX_EPOCH).unwrap().as_secs() as i64;
        assert!((d - now).abs() <= 1);
    }
}
