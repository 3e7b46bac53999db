//! The gateway's own counters, held in memory with bounded windows (nothing of record is
//! stored): per connector instance what its upstream monitor saw plus a connection probe, and
//! per channel what the storefronts did over the last hour. The same figures feed `/metrics`
//! (Prometheus text) and the dashboard's `/dashboard/data`.

use crate::gateway::Gateway;
use samlet_connector::capability::Capability;
use samlet_connector::context::Channel;
use samlet_connector::ids::{ConnectorName, CustomerNumber};
use samlet_connector::policy::{BreakerState, Quota};
use samlet_connector::telemetry::{probe, UpstreamMonitor, HISTOGRAM_BOUNDS};
use serde_json::{json, Value};
use std::collections::{HashSet, VecDeque};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Minutes of channel history kept.
pub const CHANNEL_MINUTES: usize = 60;

/// One connector instance, as telemetry sees it.
pub struct SystemMonitor {
    /// Instance name.
    pub name: ConnectorName,
    /// Vendor kind.
    pub kind: &'static str,
    /// What it serves.
    pub capabilities: Vec<Capability>,
    /// Its upstream calls.
    pub monitor: Arc<UpstreamMonitor>,
    /// The configured quota, if any.
    pub quota: Option<Quota>,
    /// Last probe: 0 not yet probed, 1 reachable, 2 unreachable.
    reachable: AtomicU8,
}

impl SystemMonitor {
    /// A monitor for one instance.
    pub fn new(
        name: ConnectorName,
        kind: &'static str,
        capabilities: Vec<Capability>,
        monitor: Arc<UpstreamMonitor>,
        quota: Option<Quota>,
    ) -> SystemMonitor {
        SystemMonitor {
            name,
            kind,
            capabilities,
            monitor,
            quota,
            reachable: AtomicU8::new(0),
        }
    }

    fn reachable(&self) -> Option<bool> {
        match self.reachable.load(Ordering::Relaxed) {
            1 => Some(true),
            2 => Some(false),
            _ => None,
        }
    }
}

/// Events the channels chart besides requests (recorded by the journeys' mutations).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelEvent {
    /// A product added to a wishlist.
    WishlistAdd,
    /// An offer composed (store to home).
    OfferCreated,
    /// An offer converted to an order.
    OfferConverted,
    /// Stock reserved for click and collect.
    ClickAndCollectReservation,
    /// An order placed.
    OrderPlaced,
}

const EVENTS: [(ChannelEvent, &str); 5] = [
    (ChannelEvent::WishlistAdd, "wishlist_adds"),
    (ChannelEvent::OfferCreated, "offers_created"),
    (ChannelEvent::OfferConverted, "offers_converted"),
    (
        ChannelEvent::ClickAndCollectReservation,
        "click_and_collect_reservations",
    ),
    (ChannelEvent::OrderPlaced, "orders_placed"),
];

#[derive(Clone, Default)]
struct ChannelMinute {
    minute: u64,
    requests: u64,
    recognised_requests: u64,
    customers: HashSet<CustomerNumber>,
    events: [u64; EVENTS.len()],
}

fn minute_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() / 60)
}

/// Everything the gateway counts.
pub struct Telemetry {
    /// Per connector instance.
    pub systems: Vec<SystemMonitor>,
    channels: Mutex<Vec<(Channel, VecDeque<ChannelMinute>)>>,
    /// How often connections are probed.
    pub probe_interval: Duration,
}

impl Telemetry {
    /// Telemetry over these systems.
    pub fn new(systems: Vec<SystemMonitor>, probe_interval: Duration) -> Telemetry {
        Telemetry {
            systems,
            channels: Mutex::new(Channel::ALL.iter().map(|c| (*c, VecDeque::new())).collect()),
            probe_interval,
        }
    }

    fn with_minute(&self, channel: Channel, f: impl FnOnce(&mut ChannelMinute)) {
        let now = minute_now();
        let mut all = self.channels.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, minutes)) = all.iter_mut().find(|(c, _)| *c == channel) {
            if minutes.back().is_none_or(|m| m.minute != now) {
                minutes.push_back(ChannelMinute {
                    minute: now,
                    ..ChannelMinute::default()
                });
                while minutes.len() > CHANNEL_MINUTES {
                    minutes.pop_front();
                }
            }
            if let Some(m) = minutes.back_mut() {
                f(m);
            }
        }
    }

    /// Counts one GraphQL request and the customers it recognised.
    pub fn record_request(&self, channel: Channel, recognised: &[CustomerNumber]) {
        self.with_minute(channel, |m| {
            m.requests += 1;
            if !recognised.is_empty() {
                m.recognised_requests += 1;
                m.customers.extend(recognised.iter().cloned());
            }
        });
    }

    /// Counts a journey event in a channel.
    pub fn record_event(&self, channel: Channel, event: ChannelEvent) {
        let i = EVENTS.iter().position(|(e, _)| *e == event).unwrap_or(0);
        self.with_minute(channel, |m| m.events[i] += 1);
    }

    /// Probes every system whose address is known, once.
    pub async fn probe_once(&self) {
        let timeout = self.probe_interval.min(Duration::from_secs(2));
        let probes = self.systems.iter().map(|s| async move {
            if let Some((host, port)) = s.monitor.authority() {
                let ok = probe(&host, port, timeout).await;
                s.reachable.store(if ok { 1 } else { 2 }, Ordering::Relaxed);
            }
        });
        futures::future::join_all(probes).await;
    }

    /// Probes forever at the configured interval.
    pub async fn probe_loop(self: Arc<Self>) {
        let mut tick = tokio::time::interval(self.probe_interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            self.probe_once().await;
        }
    }

    fn status(&self, s: &SystemMonitor, breaker: BreakerState, error_rate: f64) -> &'static str {
        if s.reachable() == Some(false) || breaker == BreakerState::Open {
            "down"
        } else if breaker == BreakerState::HalfOpen || error_rate > 0.05 {
            "degraded"
        } else {
            "up"
        }
    }

    fn cache_ratio(gw: &Gateway, caps: &[Capability]) -> Option<f64> {
        let stats: Vec<&crate::cache::CacheStats> = caps
            .iter()
            .flat_map(|c| -> Vec<&crate::cache::CacheStats> {
                match c {
                    Capability::Products => {
                        vec![
                            &gw.caches.products.stats,
                            &gw.caches.products_by_sku.stats,
                            &gw.caches.categories.stats,
                        ]
                    }
                    Capability::Prices => vec![&gw.caches.prices.stats],
                    Capability::Inventory => vec![&gw.caches.stock.stats],
                    Capability::Locations => vec![&gw.caches.locations.stats],
                    _ => vec![],
                }
            })
            .collect();
        let (hits, total) = stats.iter().fold((0u64, 0u64), |(h, t), s| {
            let hit = s.hits.load(Ordering::Relaxed)
                + s.stale.load(Ordering::Relaxed)
                + s.coalesced.load(Ordering::Relaxed);
            (h + hit, t + hit + s.misses.load(Ordering::Relaxed))
        });
        (total > 0).then(|| hits as f64 / total as f64)
    }

    /// The dashboard's data (see `src/dashboard/dashboard.js` for how it is shown).
    pub fn dashboard(&self, gw: &Gateway) -> Value {
        let systems: Vec<Value> = self
            .systems
            .iter()
            .map(|s| {
                let snap = s.monitor.snapshot();
                let headroom = s.quota.map(|q| {
                    let per_minute = q.per_second.get() as f64 * 60.0;
                    (1.0 - snap.calls_last_minute as f64 / (2.0 * per_minute)).clamp(0.0, 1.0)
                });
                json!({
                    "name": s.name.as_str(),
                    "kind": s.kind,
                    "capabilities": s.capabilities.iter().map(|c| c.as_str()).collect::<Vec<_>>(),
                    "status": self.status(s, snap.breaker, snap.error_rate),
                    "breaker": snap.breaker.as_str(),
                    "latency_ms": snap.p50_ms.map(|p50| json!({ "p50": p50, "p99": snap.p99_ms })),
                    "error_rate": snap.error_rate,
                    "calls": snap.calls,
                    "errors": snap.errors,
                    "in_flight": snap.in_flight,
                    "quota_per_second": s.quota.map(|q| q.per_second.get()),
                    "rate_limit_headroom": headroom,
                    "cache_hit_ratio": Self::cache_ratio(gw, &s.capabilities),
                    "series": {
                        "calls": snap.series.iter().map(|x| x.0).collect::<Vec<_>>(),
                        "errors": snap.series.iter().map(|x| x.1).collect::<Vec<_>>(),
                        "p99_ms": snap.series.iter().map(|x| x.2).collect::<Vec<_>>(),
                    },
                })
            })
            .collect();
        let now = minute_now();
        let all = self.channels.lock().unwrap_or_else(|e| e.into_inner());
        let (mut offers_created, mut offers_converted) = (0u64, 0u64);
        let channels: Vec<Value> = all
            .iter()
            .map(|(channel, minutes)| {
                let window: Vec<Option<&ChannelMinute>> = (0..CHANNEL_MINUTES as u64)
                    .rev()
                    .map(|back| {
                        minutes
                            .iter()
                            .find(|m| m.minute == now.saturating_sub(back))
                    })
                    .collect();
                let series = |f: &dyn Fn(&ChannelMinute) -> u64| -> Vec<u64> {
                    window.iter().map(|m| m.map_or(0, f)).collect()
                };
                let sum = |f: &dyn Fn(&ChannelMinute) -> u64| -> u64 {
                    window.iter().flatten().map(|m| f(m)).sum()
                };
                let customers: HashSet<&CustomerNumber> = window
                    .iter()
                    .flatten()
                    .flat_map(|m| m.customers.iter())
                    .collect();
                let requests = sum(&|m| m.requests);
                let recognised = sum(&|m| m.recognised_requests);
                let mut v = json!({
                    "channel": channel.as_str(),
                    "requests": requests,
                    "recognised_requests": recognised,
                    "anonymous_requests": requests - recognised,
                    "recognised_customers": customers.len(),
                    "series": {
                        "requests": series(&|m| m.requests),
                        "recognised_customers": series(&|m| m.customers.len() as u64),
                    },
                });
                for (i, (event, key)) in EVENTS.iter().enumerate() {
                    let total = sum(&|m| m.events[i]);
                    match event {
                        ChannelEvent::OfferCreated => offers_created += total,
                        ChannelEvent::OfferConverted => offers_converted += total,
                        _ => {}
                    }
                    v[*key] = json!(total);
                    v["series"][*key] = json!(series(&|m| m.events[i]));
                }
                v
            })
            .collect();
        json!({
            "generated_at": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "probe_interval_seconds": self.probe_interval.as_secs_f64(),
            "systems": systems,
            "channels": channels,
            "journeys": {
                "offers_created": offers_created,
                "offers_converted": offers_converted,
                "store_to_home_conversion": (offers_created > 0).then(|| offers_converted as f64 / offers_created as f64),
            },
        })
    }

    /// Prometheus text exposition of the same figures.
    pub fn prometheus(&self, gw: &Gateway) -> String {
        let mut out = String::with_capacity(8 * 1024);
        let mut family = |name: &str, kind: &str, help: &str| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        };
        family(
            "samlet_upstream_requests_total",
            "counter",
            "Upstream call attempts per connector instance.",
        );
        family(
            "samlet_upstream_errors_total",
            "counter",
            "Failed upstream call attempts (unavailable, timed out, rate limited).",
        );
        family(
            "samlet_upstream_quota_waits_total",
            "counter",
            "Calls that waited for or were refused by the gateway's quota.",
        );
        family(
            "samlet_upstream_in_flight",
            "gauge",
            "Upstream calls in flight.",
        );
        family(
            "samlet_upstream_breaker_open",
            "gauge",
            "1 when the circuit breaker is open or half-open.",
        );
        family(
            "samlet_upstream_up",
            "gauge",
            "1 when the last connection probe succeeded.",
        );
        family(
            "samlet_upstream_request_duration_seconds",
            "histogram",
            "Upstream call latency.",
        );
        family(
            "samlet_cache_lookups_total",
            "counter",
            "Cache lookups per capability and result.",
        );
        family(
            "samlet_graphql_requests_last_hour",
            "gauge",
            "GraphQL requests per channel in the last hour.",
        );
        for s in &self.systems {
            let snap = s.monitor.snapshot();
            let l = format!("connector=\"{}\",kind=\"{}\"", s.name, s.kind);
            let _ = writeln!(out, "samlet_upstream_requests_total{{{l}}} {}", snap.calls);
            let _ = writeln!(out, "samlet_upstream_errors_total{{{l}}} {}", snap.errors);
            let _ = writeln!(
                out,
                "samlet_upstream_quota_waits_total{{{l}}} {}",
                snap.quota_waits
            );
            let _ = writeln!(out, "samlet_upstream_in_flight{{{l}}} {}", snap.in_flight);
            let _ = writeln!(
                out,
                "samlet_upstream_breaker_open{{{l}}} {}",
                u8::from(snap.breaker != BreakerState::Closed)
            );
            if let Some(up) = s.reachable() {
                let _ = writeln!(out, "samlet_upstream_up{{{l}}} {}", u8::from(up));
            }
            let (counts, sum) = &snap.histogram;
            let mut cumulative = 0;
            for (i, bound) in HISTOGRAM_BOUNDS.iter().enumerate() {
                cumulative += counts[i];
                let _ = writeln!(out, "samlet_upstream_request_duration_seconds_bucket{{{l},le=\"{bound}\"}} {cumulative}");
            }
            cumulative += counts[HISTOGRAM_BOUNDS.len()];
            let _ = writeln!(
                out,
                "samlet_upstream_request_duration_seconds_bucket{{{l},le=\"+Inf\"}} {cumulative}"
            );
            let _ = writeln!(
                out,
                "samlet_upstream_request_duration_seconds_sum{{{l}}} {sum}"
            );
            let _ = writeln!(
                out,
                "samlet_upstream_request_duration_seconds_count{{{l}}} {cumulative}"
            );
        }
        let caches = [
            ("products", &gw.caches.products.stats),
            ("products_by_sku", &gw.caches.products_by_sku.stats),
            ("products_in_category", &gw.caches.categories.stats),
            ("prices", &gw.caches.prices.stats),
            ("inventory", &gw.caches.stock.stats),
            ("locations", &gw.caches.locations.stats),
        ];
        for (cap, st) in caches {
            for (result, n) in [
                ("hit", &st.hits),
                ("stale", &st.stale),
                ("miss", &st.misses),
                ("coalesced", &st.coalesced),
                ("batched", &st.batched),
            ] {
                let _ = writeln!(
                    out,
                    "samlet_cache_lookups_total{{capability=\"{cap}\",result=\"{result}\"}} {}",
                    n.load(Ordering::Relaxed)
                );
            }
        }
        let all = self.channels.lock().unwrap_or_else(|e| e.into_inner());
        for (channel, minutes) in all.iter() {
            let total: u64 = minutes.iter().map(|m| m.requests).sum();
            let _ = writeln!(
                out,
                "samlet_graphql_requests_last_hour{{channel=\"{channel}\"}} {total}"
            );
        }
        drop(all);
        if let Some(r) = &gw.redis {
            let mut family = |name: &str, help: &str| {
                let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
            };
            family(
                "samlet_shared_cache_lookups_total",
                "Second-level (Redis) lookups by result: values and persisted queries other replicas stored.",
            );
            family(
                "samlet_redis_errors_total",
                "Redis commands that failed or timed out (the replica went on alone).",
            );
            for (result, n) in [("hit", &r.stats.hits), ("miss", &r.stats.misses)] {
                let _ = writeln!(
                    out,
                    "samlet_shared_cache_lookups_total{{result=\"{result}\"}} {}",
                    n.load(Ordering::Relaxed)
                );
            }
            let _ = writeln!(
                out,
                "samlet_redis_errors_total {}",
                r.stats.errors.load(Ordering::Relaxed)
            );
        }
        out
    }
}
