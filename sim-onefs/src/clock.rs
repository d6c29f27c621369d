//! Virtual time.
//!
//! The simulator never runs timers of its own: it reads tokio's clock, which is virtual under a
//! paused runtime (tests, `drill run`) and real otherwise (`drill serve`). All model times are
//! milliseconds since the world was created; PAPI timestamps are unix seconds counted from a
//! fixed epoch so that reports are byte-identical across runs.

use tokio::time::Instant;

/// Unix time (seconds) that virtual time 0 maps to: 2026-01-01T00:00:00Z.
pub const EPOCH_UNIX_S: i64 = 1_767_225_600;

/// Origin of one world's virtual time.
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    origin: Instant,
}

impl Clock {
    pub fn start() -> Clock {
        Clock {
            origin: Instant::now(),
        }
    }

    /// Milliseconds since the world was created.
    pub fn now_ms(&self) -> u64 {
        u64::try_from(Instant::now().duration_since(self.origin).as_millis()).unwrap_or(u64::MAX)
    }
}

/// Virtual milliseconds (may be negative for history before the world started) → unix seconds.
pub fn unix_s(ms: i64) -> i64 {
    EPOCH_UNIX_S + ms.div_euclid(1000)
}
