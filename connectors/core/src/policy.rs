//! Per-upstream protection: a circuit breaker that stops calling a vendor that keeps failing
//! and probes it again after a pause, a bulkhead that caps concurrent calls so one slow vendor
//! cannot take every connection and task, and a quota that keeps the gateway inside the
//! vendor's published rate limit. [`crate::http::Upstream`] applies all three to every call.

use std::num::NonZeroU32;
use std::time::{Duration, Instant};

/// When to open the breaker and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerPolicy {
    /// Consecutive failures (unavailable or timed out) that open the breaker; 0 disables it.
    pub failures: u32,
    /// How long the breaker stays open before one probe is let through.
    pub open_for: Duration,
}

impl Default for BreakerPolicy {
    fn default() -> Self {
        BreakerPolicy {
            failures: 5,
            open_for: Duration::from_secs(5),
        }
    }
}

/// A request quota: a steady rate and the burst allowed above it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    /// Requests per second, sustained.
    pub per_second: NonZeroU32,
    /// Requests allowed at once above the steady rate.
    pub burst: NonZeroU32,
}

/// A quota shared by every replica of the gateway (e.g. kept in Redis), so that a vendor's
/// published limit holds however many replicas call it.
#[async_trait::async_trait]
pub trait SharedQuota: Send + Sync + std::fmt::Debug {
    /// Reserves the next request to `upstream` under `quota` and says how long to wait before
    /// sending it; a wait longer than `max_wait` reserves nothing (the caller will not wait
    /// that long, and a slot nobody uses would be lost to every replica). `None` when the
    /// shared store cannot answer (the replica then falls back to its own limiter).
    async fn reserve(&self, upstream: &str, quota: Quota, max_wait: Duration) -> Option<Duration>;
}

/// The breaker's state, as telemetry shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    /// Calls flow.
    Closed,
    /// Calls are refused until the pause ends.
    Open,
    /// One probe call is in flight; its outcome closes or reopens the breaker.
    HalfOpen,
}

impl BreakerState {
    /// Lower-case name for metrics and dashboards.
    pub fn as_str(self) -> &'static str {
        match self {
            BreakerState::Closed => "closed",
            BreakerState::Open => "open",
            BreakerState::HalfOpen => "half-open",
        }
    }
}

/// The breaker's state machine, driven by explicit instants so it can be tested without time.
#[derive(Debug)]
pub struct Breaker {
    policy: BreakerPolicy,
    consecutive_failures: u32,
    open_until: Option<Instant>,
    probing: bool,
}

impl Breaker {
    /// A closed breaker.
    pub fn new(policy: BreakerPolicy) -> Breaker {
        Breaker {
            policy,
            consecutive_failures: 0,
            open_until: None,
            probing: false,
        }
    }

    /// The state at `now`.
    pub fn state(&self, now: Instant) -> BreakerState {
        match self.open_until {
            None => BreakerState::Closed,
            Some(_) if self.probing => BreakerState::HalfOpen,
            Some(until) if now < until => BreakerState::Open,
            Some(_) => BreakerState::HalfOpen,
        }
    }

    /// Whether a call may go out at `now`; `Err` carries how long until the next probe.
    pub fn admit(&mut self, now: Instant) -> Result<(), Duration> {
        match self.open_until {
            None => Ok(()),
            Some(until) if now < until => Err(until - now),
            Some(_) if self.probing => Err(self.policy.open_for.min(Duration::from_secs(1))),
            Some(_) => {
                self.probing = true;
                Ok(())
            }
        }
    }

    /// Lets a probe slot go without judging the vendor (the call never reached it).
    pub fn release_probe(&mut self) {
        self.probing = false;
    }

    /// Records a call that reached the vendor and got an answer that is not a vendor failure.
    pub fn on_success(&mut self) {
        self.consecutive_failures = 0;
        self.open_until = None;
        self.probing = false;
    }

    /// Records a failure (the vendor was unavailable or timed out) at `now`.
    pub fn on_failure(&mut self, now: Instant) {
        if self.policy.failures == 0 {
            return;
        }
        self.consecutive_failures += 1;
        if self.probing || self.consecutive_failures >= self.policy.failures {
            self.open_until = Some(now + self.policy.open_for);
            self.probing = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn breaker() -> Breaker {
        Breaker::new(BreakerPolicy {
            failures: 3,
            open_for: Duration::from_secs(5),
        })
    }

    #[test]
    fn opens_after_consecutive_failures_and_refuses_calls() {
        let t0 = Instant::now();
        let mut b = breaker();
        for _ in 0..2 {
            assert!(b.admit(t0).is_ok());
            b.on_failure(t0);
        }
        assert_eq!(b.state(t0), BreakerState::Closed);
        b.on_failure(t0);
        assert_eq!(b.state(t0), BreakerState::Open);
        assert_eq!(
            b.admit(t0 + Duration::from_secs(1)),
            Err(Duration::from_secs(4))
        );
    }

    #[test]
    fn a_success_resets_the_failure_count() {
        let t0 = Instant::now();
        let mut b = breaker();
        b.on_failure(t0);
        b.on_failure(t0);
        b.on_success();
        b.on_failure(t0);
        assert_eq!(b.state(t0), BreakerState::Closed);
    }

    #[test]
    fn after_the_pause_one_probe_closes_or_reopens_it() {
        let t0 = Instant::now();
        let mut b = breaker();
        for _ in 0..3 {
            b.on_failure(t0);
        }
        let later = t0 + Duration::from_secs(6);
        assert!(b.admit(later).is_ok(), "the probe goes out");
        assert_eq!(b.state(later), BreakerState::HalfOpen);
        assert!(b.admit(later).is_err(), "only one probe at a time");
        b.on_failure(later);
        assert_eq!(b.state(later), BreakerState::Open, "a failed probe reopens");
        let again = later + Duration::from_secs(6);
        assert!(b.admit(again).is_ok());
        b.on_success();
        assert_eq!(b.state(again), BreakerState::Closed, "a good probe closes");
        assert!(b.admit(again).is_ok());
    }

    #[test]
    fn zero_failures_disables_it() {
        let t0 = Instant::now();
        let mut b = Breaker::new(BreakerPolicy {
            failures: 0,
            open_for: Duration::from_secs(5),
        });
        for _ in 0..100 {
            b.on_failure(t0);
        }
        assert_eq!(b.state(t0), BreakerState::Closed);
    }
}
