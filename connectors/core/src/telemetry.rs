//! What the gateway can see of each upstream without asking the vendor: per-minute call counts,
//! errors and latency over the last 15 minutes, cumulative latency histograms for Prometheus,
//! the breaker state, and the address last called (for connection probes that cost no quota).
//!
//! The gateway creates one [`UpstreamMonitor`] per connector instance and hands it to the
//! connector inside its [`crate::http::UpstreamPolicy`]; every [`crate::http::Upstream`] built
//! with that policy reports into it. Connectors need no code of their own for this.

use crate::http::Guard;
use crate::policy::BreakerState;
use std::collections::VecDeque;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Minutes of history kept.
pub const WINDOW_MINUTES: usize = 15;
/// Upper bounds (seconds) of the cumulative latency histogram exported as metrics.
pub const HISTOGRAM_BOUNDS: [f64; 12] = [
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Fine latency buckets for percentiles: 50 µs growing by 30 % per bucket, up to ~11 s.
const FINE_BUCKETS: usize = 48;

fn fine_bucket(d: Duration) -> usize {
    let us = d.as_secs_f64() * 1e6;
    if us <= 50.0 {
        return 0;
    }
    (((us / 50.0).ln() / 1.3f64.ln()).ceil() as usize).min(FINE_BUCKETS - 1)
}

fn fine_upper_ms(i: usize) -> f64 {
    0.05 * 1.3f64.powi(i as i32)
}

#[derive(Clone)]
struct Minute {
    minute: u64,
    calls: u64,
    errors: u64,
    latency: [u32; FINE_BUCKETS],
}

impl Minute {
    fn new(minute: u64) -> Minute {
        Minute {
            minute,
            calls: 0,
            errors: 0,
            latency: [0; FINE_BUCKETS],
        }
    }
}

fn percentile(hist: &[u32; FINE_BUCKETS], q: f64) -> Option<f64> {
    let total: u64 = hist.iter().map(|&c| c as u64).sum();
    if total == 0 {
        return None;
    }
    let rank = (q * total as f64).ceil().max(1.0) as u64;
    let mut seen = 0u64;
    for (i, &c) in hist.iter().enumerate() {
        seen += c as u64;
        if seen >= rank {
            return Some(fine_upper_ms(i));
        }
    }
    Some(fine_upper_ms(FINE_BUCKETS - 1))
}

/// A point-in-time view of one upstream.
#[derive(Debug, Clone, PartialEq)]
pub struct MonitorSnapshot {
    /// The worst breaker state among the connector's clients.
    pub breaker: BreakerState,
    /// Calls in flight now.
    pub in_flight: usize,
    /// Calls since start.
    pub calls: u64,
    /// Failed calls since start.
    pub errors: u64,
    /// Quota waits or refusals since start.
    pub quota_waits: u64,
    /// Retried attempts since start.
    pub retries: u64,
    /// `429 Too Many Requests` answers from the vendor since start.
    pub rate_limited: u64,
    /// Median latency over the last 5 minutes, in ms.
    pub p50_ms: Option<f64>,
    /// 99th percentile latency over the last 5 minutes, in ms.
    pub p99_ms: Option<f64>,
    /// Failed share of calls over the last 5 minutes.
    pub error_rate: f64,
    /// Calls in the last 60 seconds' minute buckets (the current and previous minute).
    pub calls_last_minute: u64,
    /// Per minute, oldest first: calls, errors, p99 (ms).
    pub series: Vec<(u64, u64, Option<f64>)>,
    /// Cumulative histogram counts per [`HISTOGRAM_BOUNDS`] (plus +Inf last), and the sum in s.
    pub histogram: (Vec<u64>, f64),
}

/// Everything observed about one connector instance's upstream calls.
pub struct UpstreamMonitor {
    minutes: Mutex<VecDeque<Minute>>,
    cumulative: [AtomicU64; HISTOGRAM_BOUNDS.len() + 1],
    sum_micros: AtomicU64,
    calls: AtomicU64,
    errors: AtomicU64,
    guards: Mutex<Vec<Weak<Guard>>>,
    authority: Mutex<Option<(String, u16)>>,
}

impl fmt::Debug for UpstreamMonitor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UpstreamMonitor")
            .field("calls", &self.calls.load(Ordering::Relaxed))
            .finish()
    }
}

impl Default for UpstreamMonitor {
    fn default() -> Self {
        UpstreamMonitor {
            minutes: Mutex::new(VecDeque::with_capacity(WINDOW_MINUTES + 1)),
            cumulative: std::array::from_fn(|_| AtomicU64::new(0)),
            sum_micros: AtomicU64::new(0),
            calls: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            guards: Mutex::new(Vec::new()),
            authority: Mutex::new(None),
        }
    }
}

fn minute_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() / 60)
}

impl UpstreamMonitor {
    /// A new monitor, to put in a connector's [`crate::http::UpstreamPolicy`].
    pub fn new() -> Arc<UpstreamMonitor> {
        Arc::new(UpstreamMonitor::default())
    }

    pub(crate) fn register(&self, guard: &Arc<Guard>) {
        let mut g = self.guards.lock().unwrap_or_else(|e| e.into_inner());
        g.retain(|w| w.strong_count() > 0);
        g.push(Arc::downgrade(guard));
    }

    pub(crate) fn saw_authority(&self, host: &str, port: u16) {
        let mut a = self.authority.lock().unwrap_or_else(|e| e.into_inner());
        if a.as_ref().is_none_or(|(h, p)| h != host || *p != port) {
            *a = Some((host.to_owned(), port));
        }
    }

    /// The host and port last called, for a connection probe.
    pub fn authority(&self) -> Option<(String, u16)> {
        self.authority
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Records one attempt.
    pub fn record(&self, latency: Duration, failed: bool) {
        self.calls.fetch_add(1, Ordering::Relaxed);
        if failed {
            self.errors.fetch_add(1, Ordering::Relaxed);
        }
        let secs = latency.as_secs_f64();
        let slot = HISTOGRAM_BOUNDS
            .iter()
            .position(|b| secs <= *b)
            .unwrap_or(HISTOGRAM_BOUNDS.len());
        self.cumulative[slot].fetch_add(1, Ordering::Relaxed);
        self.sum_micros
            .fetch_add(latency.as_micros() as u64, Ordering::Relaxed);
        let now = minute_now();
        let mut m = self.minutes.lock().unwrap_or_else(|e| e.into_inner());
        if m.back().is_none_or(|b| b.minute != now) {
            m.push_back(Minute::new(now));
            while m.len() > WINDOW_MINUTES {
                m.pop_front();
            }
        }
        if let Some(b) = m.back_mut() {
            b.calls += 1;
            if failed {
                b.errors += 1;
            }
            b.latency[fine_bucket(latency)] += 1;
        }
    }

    /// The monitor's view now.
    pub fn snapshot(&self) -> MonitorSnapshot {
        let now = minute_now();
        let minutes: Vec<Minute> = self
            .minutes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .cloned()
            .collect();
        let mut series = Vec::with_capacity(WINDOW_MINUTES);
        let mut recent = [0u32; FINE_BUCKETS];
        let (mut recent_calls, mut recent_errors, mut last_minute) = (0u64, 0u64, 0u64);
        for back in (0..WINDOW_MINUTES as u64).rev() {
            let want = now.saturating_sub(back);
            match minutes.iter().find(|m| m.minute == want) {
                Some(m) => {
                    series.push((m.calls, m.errors, percentile(&m.latency, 0.99)));
                    if back < 5 {
                        for (r, c) in recent.iter_mut().zip(m.latency.iter()) {
                            *r += c;
                        }
                        recent_calls += m.calls;
                        recent_errors += m.errors;
                    }
                    if back < 2 {
                        last_minute += m.calls;
                    }
                }
                None => series.push((0, 0, None)),
            }
        }
        let guards: Vec<Arc<Guard>> = self
            .guards
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter_map(Weak::upgrade)
            .collect();
        let states: Vec<_> = guards.iter().map(|g| g.stats()).collect();
        let breaker = states
            .iter()
            .map(|s| s.breaker)
            .max_by_key(|b| match b {
                BreakerState::Closed => 0,
                BreakerState::HalfOpen => 1,
                BreakerState::Open => 2,
            })
            .unwrap_or(BreakerState::Closed);
        MonitorSnapshot {
            breaker,
            in_flight: states.iter().map(|s| s.in_flight).sum(),
            calls: self.calls.load(Ordering::Relaxed),
            errors: self.errors.load(Ordering::Relaxed),
            quota_waits: states.iter().map(|s| s.quota_waits).sum(),
            retries: states.iter().map(|s| s.retries).sum(),
            rate_limited: states.iter().map(|s| s.rate_limited).sum(),
            p50_ms: percentile(&recent, 0.5),
            p99_ms: percentile(&recent, 0.99),
            error_rate: if recent_calls == 0 {
                0.0
            } else {
                recent_errors as f64 / recent_calls as f64
            },
            calls_last_minute: last_minute,
            series,
            histogram: (
                self.cumulative
                    .iter()
                    .map(|c| c.load(Ordering::Relaxed))
                    .collect(),
                self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6,
            ),
        }
    }
}

/// Whether something answers at `host:port` within `timeout` (a TCP connect: no request, no
/// quota used).
pub async fn probe(host: &str, port: u16, timeout: Duration) -> bool {
    matches!(
        tokio::time::timeout(timeout, tokio::net::TcpStream::connect((host, port))).await,
        Ok(Ok(_))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_come_from_the_recent_minutes() {
        let m = UpstreamMonitor::default();
        for _ in 0..98 {
            m.record(Duration::from_millis(2), false);
        }
        m.record(Duration::from_millis(400), true);
        m.record(Duration::from_millis(400), false);
        let s = m.snapshot();
        assert_eq!(s.calls, 100);
        assert_eq!(s.errors, 1);
        assert!((s.error_rate - 0.01).abs() < 1e-9);
        let p50 = s.p50_ms.unwrap();
        assert!((2.0..2.7).contains(&p50), "{p50}");
        let p99 = s.p99_ms.unwrap();
        assert!((400.0..520.0).contains(&p99), "{p99}");
        assert_eq!(s.series.len(), WINDOW_MINUTES);
        assert_eq!(s.series.last().unwrap().0, 100);
        assert_eq!(s.histogram.0.iter().sum::<u64>(), 100);
    }
}
