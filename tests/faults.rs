//! Fault injection over real HTTP: the gateway serving a demo stack while one vendor's
//! simulator misbehaves (latency spikes, 5xx bursts, dropped connections, malformed and
//! truncated bodies, 429 storms, a hung upstream). Every request is answered (no panic) within
//! the configured request deadline; the healthy vendors' fields are answered; the failing
//! vendor's paths carry typed errors naming it; the circuit breaker opens (the simulator's own
//! request counter stops growing) and closes again once the fault ends.
//!
//! The figures (latencies, counts) are printed with `eprintln!`; run with `--nocapture` to
//! see them. Latencies are printed, never asserted, except against the configured deadline
//! with a wide margin.

#![cfg(feature = "demo")]

mod common;

use common::Running;
use samlet::demo::Stack;
use samlet_testkit::sim::FaultPlan;
use samlet_testkit::world::CustomerSlice;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// The upstream policy every connector gets here: short, so the suite runs in seconds.
const TIMEOUT: Duration = Duration::from_millis(800);
const DEADLINE: Duration = Duration::from_millis(1500);
const BREAKER_FAILURES: u32 = 3;
const BREAKER_OPEN_FOR: Duration = Duration::from_millis(1500);
/// The whole GraphQL request's deadline.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// One stack's fault scenario: which vendor fails, a query touching it and healthy vendors,
/// and a query touching only healthy vendors.
struct Scenario {
    stack: Stack,
    victim: &'static str,
    /// Touches the victim and at least one healthy vendor.
    mixed: String,
    /// Touches healthy vendors only.
    healthy: String,
    /// The path whose field the victim serves in `mixed`.
    victim_path: Value,
}

impl Scenario {
    fn new(g: &Running) -> Scenario {
        let w = g.world();
        let product = w.product(7, "").id.to_string();
        match g.stack.stack {
            // The ERP (prices, stock) fails; the PIM (names) is healthy.
            Stack::A => Scenario {
                stack: Stack::A,
                victim: "erp",
                mixed: format!(
                    r#"{{ product(code: "{product}") {{ code name price {{ amount {{ amount }} }} }} }}"#
                ),
                healthy: format!(r#"{{ product(code: "{product}") {{ code name }} }}"#),
                victim_path: json!(["product", "price"]),
            },
            // The loyalty system fails; the commerce platform (catalogue) and the CRM are
            // healthy.
            Stack::B => {
                let c = (0..w.customer_count())
                    .find(|&i| w.in_slice(CustomerSlice::Marketing, i))
                    .expect("a loyalty member");
                let number = w.customer(c).number.to_string();
                Scenario {
                    stack: Stack::B,
                    victim: "loyalty",
                    mixed: format!(
                        r#"{{ product(code: "{product}") {{ code name price {{ amount {{ amount }} }} }}
                              customer(customerNumber: "{number}") {{ customerNumber email }} }}"#
                    ),
                    healthy: format!(
                        r#"{{ product(code: "{product}") {{ code name price {{ amount {{ amount }} }} }} }}"#
                    ),
                    victim_path: json!(["customer"]),
                }
            }
        }
    }

    /// The healthy vendors' fields in an answer to `mixed` (or `healthy`) are all there.
    fn assert_healthy_parts(&self, v: &Value) {
        let p = &v["data"]["product"];
        assert!(p["code"].is_string(), "product code missing: {v:#}");
        assert!(p["name"].is_string(), "product name missing: {v:#}");
        if self.stack == Stack::B {
            assert!(
                p["price"]["amount"]["amount"].is_string(),
                "commerce price missing: {v:#}"
            );
        }
        if self.stack == Stack::B && v["data"].get("customer").is_some() {
            // The CRM's record is served even when loyalty fails.
            assert!(
                v["data"]["customer"]["customerNumber"].is_string(),
                "CRM customer missing: {v:#}"
            );
        }
    }

    /// An answer to `mixed` with everything (the victim is healthy again).
    fn is_whole(&self, v: &Value) -> bool {
        v.get("errors").is_none()
            && match self.stack {
                Stack::A => v["data"]["product"]["price"]["amount"]["amount"].is_string(),
                Stack::B => v["data"]["customer"]["customerNumber"].is_string(),
            }
    }

    /// The errors of an answer on the victim's path, with their codes; panics on any error
    /// elsewhere or not naming the victim.
    fn victim_errors(&self, v: &Value) -> Vec<String> {
        let errors = v["errors"].as_array().cloned().unwrap_or_default();
        errors
            .iter()
            .map(|e| {
                assert_eq!(
                    e["path"], self.victim_path,
                    "error off the victim's path: {v:#}"
                );
                assert_eq!(
                    e["extensions"]["connector"], self.victim,
                    "error not naming the victim: {v:#}"
                );
                e["extensions"]["code"]
                    .as_str()
                    .unwrap_or_else(|| panic!("no extensions.code: {v:#}"))
                    .to_owned()
            })
            .collect()
    }
}

async fn start(stack: Stack) -> Running {
    let off = samlet::cache::CachePolicy {
        ttl: Duration::ZERO,
        stale_for: Duration::ZERO,
    };
    Running::start_with(stack, |c| {
        c.cache.products = off;
        c.cache.prices = off;
        c.cache.inventory = off;
        c.cache.locations = off;
        c.server.request_timeout = REQUEST_TIMEOUT;
        for s in &mut c.connectors {
            s.policy.timeout = TIMEOUT;
            s.policy.deadline = DEADLINE;
            s.policy.retries = 2;
            s.policy.backoff = Duration::from_millis(10);
            s.policy.max_retry_after = Duration::from_millis(200);
            s.policy.breaker.failures = BREAKER_FAILURES;
            s.policy.breaker.open_for = BREAKER_OPEN_FOR;
        }
    })
    .await
}

/// Sends a query; returns the answer and how long it took. Panics if the gateway does not
/// answer (a panic in the gateway drops the connection) or answers past the request deadline
/// with a wide margin.
async fn timed(g: &Running, q: &str) -> (Value, Duration) {
    let t = Instant::now();
    let v = g.query_with(q, json!({}), &[]).await;
    let took = t.elapsed();
    assert!(
        took < REQUEST_TIMEOUT + Duration::from_secs(2),
        "answered after {took:?}, past the request deadline of {REQUEST_TIMEOUT:?}"
    );
    (v, took)
}

fn faults(g: &Running, victim: &str, plan: FaultPlan) {
    let m = g.stack.member(victim).expect("victim");
    m.simulator.control.set_faults(FaultPlan {
        only_paths: m.api_paths.iter().map(|p| p.to_string()).collect(),
        ..plan
    });
}

fn victim_requests(g: &Running, victim: &str) -> u64 {
    g.data_requests(victim)
}

/// Clears the victim's faults and waits (bounded) until a whole answer comes back: the breaker
/// has let a probe through and closed.
async fn recover(g: &Running, s: &Scenario) -> u32 {
    g.stack
        .member(s.victim)
        .unwrap()
        .simulator
        .control
        .clear_faults();
    for attempt in 1..=60 {
        let (v, _) = timed(g, &s.mixed).await;
        if s.is_whole(&v) {
            return attempt;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the victim never recovered");
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn summary(mut v: Vec<Duration>) -> String {
    v.sort();
    if v.is_empty() {
        return "-".into();
    }
    format!(
        "n={} p50={:.1}ms max={:.1}ms",
        v.len(),
        ms(v[v.len() / 2]),
        ms(*v.last().unwrap())
    )
}

/// Runs `n` mixed queries under `plan` (set once before), checking every answer; returns the
/// error codes seen and the latencies.
async fn under(g: &Running, s: &Scenario, n: usize) -> (Vec<String>, Vec<Duration>) {
    let mut codes = Vec::new();
    let mut took = Vec::new();
    for _ in 0..n {
        let (v, t) = timed(g, &s.mixed).await;
        s.assert_healthy_parts(&v);
        codes.extend(s.victim_errors(&v));
        took.push(t);
    }
    (codes, took)
}

async fn the_suite(stack: Stack) {
    let g = start(stack).await;
    let s = Scenario::new(&g);
    let tag = format!("[faults stack {stack:?}, victim {}]", s.victim);

    // Baseline: everything answers.
    let mut base = Vec::new();
    for _ in 0..10 {
        let (v, t) = timed(&g, &s.mixed).await;
        assert!(s.is_whole(&v), "baseline: {v:#}");
        base.push(t);
    }
    let mut base_healthy = Vec::new();
    for _ in 0..10 {
        base_healthy.push(timed(&g, &s.healthy).await.1);
    }
    eprintln!(
        "{tag} baseline: mixed {}; healthy-only {}",
        summary(base),
        summary(base_healthy)
    );

    // A latency spike under the attempt timeout: slower, whole answers.
    faults(
        &g,
        s.victim,
        FaultPlan {
            latency: Duration::from_millis(300),
            ..FaultPlan::default()
        },
    );
    let (codes, took) = under(&g, &s, 5).await;
    assert!(
        codes.is_empty(),
        "a slow vendor within its timeout is no error: {codes:?}"
    );
    eprintln!("{tag} latency spike 300 ms: {}", summary(took));
    recover(&g, &s).await;

    // A short 5xx burst: the reads are retried, the answer is whole.
    faults(
        &g,
        s.victim,
        FaultPlan {
            fail_next: 2,
            ..FaultPlan::default()
        },
    );
    let (v, _) = timed(&g, &s.mixed).await;
    assert!(s.is_whole(&v), "two 503s are retried away: {v:#}");
    g.stack
        .member(s.victim)
        .unwrap()
        .simulator
        .control
        .clear_faults();

    // Two dropped connections: retried too.
    faults(
        &g,
        s.victim,
        FaultPlan {
            reset_next: 2,
            ..FaultPlan::default()
        },
    );
    let (v, _) = timed(&g, &s.mixed).await;
    assert!(s.is_whole(&v), "two resets are retried away: {v:#}");
    recover(&g, &s).await;

    // Each persistent fault: a typed error on the victim's path, the rest served, within the
    // deadline. (The breaker may open during a case; `recover` waits it out.)
    let cases: Vec<(&str, FaultPlan, &[&str])> = vec![
        (
            "5xx storm",
            FaultPlan {
                fail_next: 10_000,
                ..FaultPlan::default()
            },
            &["UPSTREAM_UNAVAILABLE"],
        ),
        (
            "connection resets",
            FaultPlan {
                reset_next: 10_000,
                ..FaultPlan::default()
            },
            &["UPSTREAM_UNAVAILABLE"],
        ),
        (
            "malformed bodies",
            FaultPlan {
                malformed_next: 10_000,
                ..FaultPlan::default()
            },
            &["UPSTREAM_INVALID_RESPONSE"],
        ),
        (
            "truncated bodies",
            FaultPlan {
                truncate_next: 10_000,
                ..FaultPlan::default()
            },
            &["UPSTREAM_UNAVAILABLE", "UPSTREAM_INVALID_RESPONSE"],
        ),
        (
            "429 storm",
            FaultPlan {
                rate_limit_next: 10_000,
                retry_after_secs: 30,
                ..FaultPlan::default()
            },
            &["RATE_LIMITED"],
        ),
        (
            "hung upstream",
            FaultPlan {
                hang_next: 10_000,
                ..FaultPlan::default()
            },
            &["UPSTREAM_TIMEOUT", "UPSTREAM_UNAVAILABLE"],
        ),
    ];
    for (name, plan, expected) in cases {
        faults(&g, s.victim, plan);
        let (codes, took) = under(&g, &s, 4).await;
        assert!(!codes.is_empty(), "{name}: no error reported");
        for c in &codes {
            assert!(
                expected.contains(&c.as_str()) || c == "UPSTREAM_UNAVAILABLE",
                "{name}: unexpected code {c} (expected {expected:?})"
            );
        }
        let probes = recover(&g, &s).await;
        eprintln!(
            "{tag} {name}: codes {:?}; {}; whole again after {probes} queries",
            dedup(&codes),
            summary(took)
        );
    }

    // A hung victim under concurrent load: the healthy vendors' latency is unaffected (printed)
    // and their fields keep being answered.
    faults(
        &g,
        s.victim,
        FaultPlan {
            hang_next: 10_000,
            ..FaultPlan::default()
        },
    );
    let stuck: Vec<_> = (0..16)
        .map(|_| {
            let (url, http, q) = (g.url.clone(), g.http.clone(), s.mixed.clone());
            let auth = g.default_auth.clone();
            tokio::spawn(async move {
                let t = Instant::now();
                let mut req = http
                    .post(format!("{url}/graphql"))
                    .json(&json!({ "query": q }));
                if let Some(a) = auth {
                    req = req.header("authorization", a);
                }
                let r = req.send().await;
                (r.is_ok(), t.elapsed())
            })
        })
        .collect();
    let mut during = Vec::new();
    for _ in 0..20 {
        let (v, t) = timed(&g, &s.healthy).await;
        assert!(
            v.get("errors").is_none(),
            "healthy-only query failed: {v:#}"
        );
        s.assert_healthy_parts(&v);
        during.push(t);
    }
    let mut stuck_took = Vec::new();
    for h in stuck {
        let (ok, t) = h.await.expect("task");
        assert!(ok, "the gateway answered every concurrent request");
        assert!(t < REQUEST_TIMEOUT + Duration::from_secs(2), "{t:?}");
        stuck_took.push(t);
    }
    eprintln!(
        "{tag} victim hung, 16 concurrent mixed queries: {}; healthy-only meanwhile: {}",
        summary(stuck_took),
        summary(during)
    );
    recover(&g, &s).await;

    // The breaker: persistent 503s open it; while open, calls are short-circuited and the
    // simulator sees none; after the fault ends, a probe closes it.
    faults(
        &g,
        s.victim,
        FaultPlan {
            fail_next: 10_000,
            ..FaultPlan::default()
        },
    );
    // One query makes three failing attempts: the breaker opens.
    let (v, _) = timed(&g, &s.mixed).await;
    assert!(!s.victim_errors(&v).is_empty(), "{v:#}");
    g.reset_counts();
    let t = Instant::now();
    let mut open_took = Vec::new();
    let mut short_circuited = 0;
    for _ in 0..10 {
        let (v, took) = timed(&g, &s.mixed).await;
        s.assert_healthy_parts(&v);
        let codes = s.victim_errors(&v);
        assert_eq!(codes, ["UPSTREAM_UNAVAILABLE"], "{v:#}");
        if v["errors"][0]["extensions"]["retryAfterMs"].is_u64() {
            short_circuited += 1;
        }
        open_took.push(took);
    }
    let seen = victim_requests(&g, s.victim);
    // The queries took far less than the open period (each short-circuits at once), unless
    // the machine is very slow: then a probe may have gone out, and only one at a time.
    if t.elapsed() < BREAKER_OPEN_FOR {
        assert_eq!(seen, 0, "the open breaker let calls through");
        assert_eq!(short_circuited, 10);
    } else {
        assert!(
            seen <= 3,
            "the half-open breaker lets one probe through at a time: {seen}"
        );
    }
    eprintln!(
        "{tag} breaker open: 10 queries short-circuited in {:.1} ms ({}); the simulator saw {seen} requests",
        ms(t.elapsed()),
        summary(open_took)
    );
    g.reset_counts();
    let probes = recover(&g, &s).await;
    assert!(
        victim_requests(&g, s.victim) > 0,
        "the probe reached the vendor"
    );
    let (v, _) = timed(&g, &s.mixed).await;
    assert!(s.is_whole(&v), "closed again: {v:#}");
    eprintln!("{tag} breaker closed again after the fault ended ({probes} queries)");
}

fn dedup(codes: &[String]) -> Vec<String> {
    let mut c = codes.to_vec();
    c.sort();
    c.dedup();
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stack_a_survives_every_fault_of_its_erp() {
    the_suite(Stack::A).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stack_b_survives_every_fault_of_its_loyalty_system() {
    the_suite(Stack::B).await;
}

/// Resets on every attempt of a read exhaust its retries: a typed error on the path, the rest
/// served, and the process keeps serving once the vendor is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resets_past_the_retries_are_reported_and_the_process_keeps_serving() {
    let g = start(Stack::A).await;
    let s = Scenario::new(&g);
    timed(&g, &s.mixed).await;
    faults(
        &g,
        "erp",
        FaultPlan {
            reset_next: 3,
            ..FaultPlan::default()
        },
    );
    let (v, _) = timed(&g, &s.mixed).await;
    let codes = s.victim_errors(&v);
    assert_eq!(codes, ["UPSTREAM_UNAVAILABLE"], "{v:#}");
    s.assert_healthy_parts(&v);
    recover(&g, &s).await;
}

/// A failing vendor behind a cached capability: within `ttl + stale_for` the cached answer is
/// served, not an error, and the response lists the stale fields under `extensions.stale`;
/// past that bound the failure is the answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_vendor_is_answered_from_a_stale_entry_within_the_bound_and_marked() {
    let stale_for = Duration::from_secs(3);
    let g = Running::start_with(Stack::A, |c| {
        c.cache.prices = samlet::cache::CachePolicy {
            ttl: Duration::from_millis(200),
            stale_for,
        };
        for s in &mut c.connectors {
            s.policy.retries = 0;
        }
    })
    .await;
    let s = Scenario::new(&g);
    let warmed = Instant::now();
    let (v, _) = timed(&g, &s.mixed).await;
    assert!(s.is_whole(&v), "{v:#}");
    let price = v["data"]["product"]["price"].clone();
    // Fresh: no marking.
    let (v, _) = timed(&g, &s.mixed).await;
    assert!(
        v.get("extensions").and_then(|e| e.get("stale")).is_none(),
        "{v:#}"
    );

    tokio::time::sleep(Duration::from_millis(300)).await;
    faults(
        &g,
        "erp",
        FaultPlan {
            fail_next: 10_000,
            ..FaultPlan::default()
        },
    );
    let (v, _) = timed(&g, &s.mixed).await;
    assert!(
        v.get("errors").is_none(),
        "served stale, not an error: {v:#}"
    );
    assert_eq!(v["data"]["product"]["price"], price, "the cached price");
    let stale = &v["extensions"]["stale"];
    assert_eq!(
        stale,
        &json!([{ "path": ["product", "price"], "connector": "erp",
                  "ageSeconds": stale[0]["ageSeconds"] }]),
        "{v:#}"
    );
    let age = stale[0]["ageSeconds"].as_u64().expect("ageSeconds");
    assert!(age <= warmed.elapsed().as_secs(), "{age}");
    eprintln!("[stale] vendor down, served stale: {stale}");

    // Past ttl + stale_for the entry is gone: the failure is reported on the path.
    let past = (warmed + Duration::from_millis(200) + stale_for + Duration::from_millis(300))
        .saturating_duration_since(Instant::now());
    tokio::time::sleep(past).await;
    let (v, _) = timed(&g, &s.mixed).await;
    assert_eq!(s.victim_errors(&v), ["UPSTREAM_UNAVAILABLE"], "{v:#}");
    assert_eq!(v["data"]["product"]["price"], Value::Null);
    assert!(
        v.get("extensions").and_then(|e| e.get("stale")).is_none(),
        "{v:#}"
    );
}

/// With `max_concurrent_requests = 1`, a request stuck on a hung vendor holds the only slot:
/// the next GraphQL request waits for it (and is then served), while `/health` answers at once.
#[tokio::test]
async fn requests_past_the_concurrency_limit_wait_their_turn_and_probes_do_not() {
    let g = Running::start_with(Stack::A, |c| {
        c.server.max_concurrent_requests = 1;
        c.cache.locations = samlet::cache::CachePolicy {
            ttl: Duration::ZERO,
            stale_for: Duration::ZERO,
        };
        for s in &mut c.connectors {
            s.policy.timeout = TIMEOUT;
            s.policy.deadline = DEADLINE;
            s.policy.retries = 0;
        }
    })
    .await;
    faults(
        &g,
        "erp",
        FaultPlan {
            hang_next: 1,
            ..FaultPlan::default()
        },
    );
    let stuck = g.query_with("{ locations { code } }", json!({}), &[]);
    let erp = &g.stack.simulator("erp").expect("erp").control.stats;
    let before = erp.total();
    let waiting = async {
        // The stuck request holds the slot once the ERP has its (hanging) call.
        while erp.total() == before {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let health = g.get("/health").await;
        let health_done = Instant::now();
        assert_eq!(health.status(), 200);
        let v = g.query_with("{ locations { code } }", json!({}), &[]).await;
        (health_done, Instant::now(), v)
    };
    let ((stuck_v, stuck_done), (health_done, served, served_v)) = tokio::join!(
        async {
            let v = stuck.await;
            (v, Instant::now())
        },
        waiting
    );
    assert_eq!(
        stuck_v["errors"][0]["extensions"]["connector"], "erp",
        "{stuck_v:#}"
    );
    assert!(health_done < stuck_done, "the probe waited for the slot");
    assert!(served > stuck_done, "the second query ran beside the first");
    assert!(
        served_v["data"]["locations"]
            .as_array()
            .is_some_and(|l| !l.is_empty()),
        "{served_v:#}"
    );
}
