//! Voyado's rate limit: 200 requests per second per API key, above which the API answers
//! 429 Too Many Requests. Voyado documents no rate-limit headers, so none are sent on admitted
//! requests; a throttled one gets `Retry-After` (seconds to the next window) as a courtesy of
//! the simulator. Enforcement is opt-in ([`super::SimOptions`]): 200/s is more than a test
//! suite needs and would only get in the way of throughput benchmarks.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Requests per second per API key before Voyado answers 429.
pub const PER_SECOND: u32 = 200;

const WINDOW: Duration = Duration::from_secs(1);

/// A fixed one-second window (the simulator has one API key, so one window).
#[derive(Debug)]
pub(crate) struct Limiter {
    enforce: bool,
    limit: u32,
    window: Mutex<(Instant, u32)>,
}

impl Limiter {
    pub(crate) fn new(enforce: bool, limit: u32) -> Limiter {
        Limiter {
            enforce,
            limit,
            window: Mutex::new((Instant::now(), 0)),
        }
    }

    /// `Ok` to go ahead, or `Err(retry_after_secs)`.
    pub(crate) fn admit(&self) -> Result<(), u64> {
        self.admit_at(Instant::now())
    }

    fn admit_at(&self, now: Instant) -> Result<(), u64> {
        if !self.enforce {
            return Ok(());
        }
        let mut w = self.window.lock().unwrap_or_else(|e| e.into_inner());
        if now.duration_since(w.0) >= WINDOW {
            *w = (now, 0);
        }
        if w.1 >= self.limit {
            let left = WINDOW.saturating_sub(now.duration_since(w.0));
            return Err((left.as_secs() + u64::from(left.subsec_nanos() > 0)).max(1));
        }
        w.1 += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_throttles_then_reopens() {
        let l = Limiter::new(true, 2);
        let t0 = Instant::now();
        assert_eq!(l.admit_at(t0), Ok(()));
        assert_eq!(l.admit_at(t0), Ok(()));
        assert_eq!(l.admit_at(t0 + Duration::from_millis(300)), Err(1));
        assert_eq!(l.admit_at(t0 + Duration::from_millis(1000)), Ok(()));
    }

    #[test]
    fn without_enforcement_everything_is_admitted() {
        let l = Limiter::new(false, 1);
        for _ in 0..10 {
            assert_eq!(l.admit(), Ok(()));
        }
    }
}
