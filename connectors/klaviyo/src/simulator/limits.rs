//! Klaviyo's rate limits: per account and per endpoint, fixed windows of one second (burst)
//! and one minute (steady), with the numbers of each operation's `x-klaviyo-ratelimit`.
//! Admitted responses carry `RateLimit-Limit/Remaining/Reset` for the steady window; a
//! throttled request gets 429 with `Retry-After` and none of those headers.

use axum::http::{HeaderMap, HeaderValue};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// One operation's limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    /// Requests per one-second window.
    pub burst: u32,
    /// Requests per one-minute window.
    pub steady: u32,
}

/// `GET /api/profiles` and `GET /api/profiles/{id}`: `75/s`, `750/m`.
pub const PROFILES: Limit = Limit {
    burst: 75,
    steady: 750,
};
/// `POST /api/events` and `GET /api/events`: `350/s`, `3500/m`.
pub const EVENTS: Limit = Limit {
    burst: 350,
    steady: 3500,
};

/// `GET /api/coupon-codes`, `GET` and `PATCH /api/coupon-codes/{id}`: `350/s`, `3500/m`.
pub const COUPON_CODES: Limit = Limit {
    burst: 350,
    steady: 3500,
};

const BURST: Duration = Duration::from_secs(1);
const STEADY: Duration = Duration::from_secs(60);

#[derive(Debug)]
struct Window {
    start: Instant,
    count: u32,
}

impl Window {
    fn roll(&mut self, now: Instant, len: Duration) {
        if now.duration_since(self.start) >= len {
            self.start = now;
            self.count = 0;
        }
    }

    fn secs_left(&self, now: Instant, len: Duration) -> u64 {
        let left = len.saturating_sub(now.duration_since(self.start));
        left.as_secs() + u64::from(left.subsec_nanos() > 0)
    }
}

/// The outcome of admitting one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Admission {
    /// Go ahead; these are the steady window's headers.
    Admitted {
        limit: u32,
        remaining: u32,
        reset: u64,
    },
    /// 429: come back after this many seconds.
    Throttled { retry_after: u64 },
}

impl Admission {
    /// Adds the `RateLimit-*` headers of an admitted request.
    pub(crate) fn apply(&self, headers: &mut HeaderMap) {
        if let Admission::Admitted {
            limit,
            remaining,
            reset,
        } = self
        {
            headers.insert("ratelimit-limit", HeaderValue::from(*limit));
            headers.insert("ratelimit-remaining", HeaderValue::from(*remaining));
            headers.insert("ratelimit-reset", HeaderValue::from(*reset));
        }
    }
}

/// Counts requests per operation; enforces only when `enforce` is set.
#[derive(Debug)]
pub(crate) struct Limiter {
    enforce: bool,
    buckets: Mutex<HashMap<&'static str, (Window, Window)>>,
}

impl Limiter {
    pub(crate) fn new(enforce: bool) -> Limiter {
        Limiter {
            enforce,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Admits one request to operation `op` with `limit`, or says when to come back.
    pub(crate) fn admit(&self, op: &'static str, limit: Limit) -> Admission {
        self.admit_at(op, limit, Instant::now())
    }

    fn admit_at(&self, op: &'static str, limit: Limit, now: Instant) -> Admission {
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let (burst, steady) = buckets.entry(op).or_insert_with(|| {
            (
                Window {
                    start: now,
                    count: 0,
                },
                Window {
                    start: now,
                    count: 0,
                },
            )
        });
        burst.roll(now, BURST);
        steady.roll(now, STEADY);
        if self.enforce {
            if steady.count >= limit.steady {
                return Admission::Throttled {
                    retry_after: steady.secs_left(now, STEADY).max(1),
                };
            }
            if burst.count >= limit.burst {
                return Admission::Throttled {
                    retry_after: burst.secs_left(now, BURST).max(1),
                };
            }
        }
        burst.count += 1;
        steady.count += 1;
        Admission::Admitted {
            limit: limit.steady,
            remaining: limit.steady.saturating_sub(steady.count),
            reset: steady.secs_left(now, STEADY),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TINY: Limit = Limit {
        burst: 2,
        steady: 3,
    };

    #[test]
    fn the_burst_window_throttles_then_reopens() {
        let l = Limiter::new(true);
        let t0 = Instant::now();
        assert!(matches!(
            l.admit_at("p", TINY, t0),
            Admission::Admitted { remaining: 2, .. }
        ));
        assert!(matches!(
            l.admit_at("p", TINY, t0),
            Admission::Admitted { .. }
        ));
        assert_eq!(
            l.admit_at("p", TINY, t0 + Duration::from_millis(300)),
            Admission::Throttled { retry_after: 1 }
        );
        // Other operations have their own quota.
        assert!(matches!(
            l.admit_at("e", TINY, t0),
            Admission::Admitted { .. }
        ));
        let t1 = t0 + Duration::from_millis(1001);
        assert!(matches!(
            l.admit_at("p", TINY, t1),
            Admission::Admitted { remaining: 0, .. }
        ));
        // The steady window is now full until the minute is over.
        assert_eq!(
            l.admit_at("p", TINY, t0 + Duration::from_secs(5)),
            Admission::Throttled { retry_after: 55 }
        );
    }

    #[test]
    fn without_enforcement_everything_is_admitted() {
        let l = Limiter::new(false);
        let t0 = Instant::now();
        for _ in 0..10 {
            assert!(matches!(
                l.admit_at("p", TINY, t0),
                Admission::Admitted { .. }
            ));
        }
    }
}
