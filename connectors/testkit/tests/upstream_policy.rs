//! The per-upstream policy in `samlet_connector::http::Upstream`, against a real HTTP server:
//! the breaker opens after repeated failures and closes after a good probe, the bulkhead caps
//! concurrent calls, the quota keeps calls inside the vendor's limit, and the call deadline
//! ends a hung request.

use axum::routing::get;
use axum::Router;
use samlet_connector::http::{Upstream, UpstreamPolicy};
use samlet_connector::ids::ConnectorName;
use samlet_connector::policy::{BreakerPolicy, BreakerState, Quota};
use samlet_connector::ErrorKind;
use samlet_testkit::sim::{FaultPlan, SimServer};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

#[derive(Default)]
struct Gauge {
    now: AtomicUsize,
    max: AtomicUsize,
}

async fn server(gauge: Arc<Gauge>, work: Duration) -> SimServer {
    let router = Router::new().route(
        "/thing",
        get(move || {
            let g = gauge.clone();
            async move {
                let n = g.now.fetch_add(1, Ordering::SeqCst) + 1;
                g.max.fetch_max(n, Ordering::SeqCst);
                tokio::time::sleep(work).await;
                g.now.fetch_sub(1, Ordering::SeqCst);
                "ok"
            }
        }),
    );
    SimServer::start(router, plain_error, 0)
        .await
        .expect("server")
}

fn plain_error(status: axum::http::StatusCode, message: &str) -> axum::response::Response {
    axum::response::IntoResponse::into_response((status, message.to_owned()))
}

async fn get_thing(u: &Upstream, base: &str) -> Result<(), samlet_connector::ConnectorError> {
    let url = format!("{base}/thing");
    let reply = u.send(true, |http| http.get(&url)).await?;
    if reply.status.is_success() {
        Ok(())
    } else {
        Err(samlet_connector::http::status_error(
            u.name(),
            &reply,
            "failed",
        ))
    }
}

#[tokio::test]
async fn the_breaker_opens_after_repeated_failures_and_a_good_probe_closes_it() {
    let sim = server(Arc::default(), Duration::ZERO).await;
    let policy = UpstreamPolicy {
        retries: 0,
        breaker: BreakerPolicy {
            failures: 3,
            open_for: Duration::from_millis(200),
        },
        ..UpstreamPolicy::default()
    };
    let u = Upstream::new(ConnectorName::new("erp"), policy).expect("client");
    sim.control.set_faults(FaultPlan {
        fail_next: 100,
        ..FaultPlan::default()
    });
    for _ in 0..3 {
        assert_eq!(
            get_thing(&u, &sim.base_url()).await.unwrap_err().kind,
            ErrorKind::Unavailable
        );
    }
    assert_eq!(u.stats().breaker, BreakerState::Open);
    let seen = sim.control.stats.total();
    let refused = get_thing(&u, &sim.base_url()).await.unwrap_err();
    assert_eq!(refused.kind, ErrorKind::Unavailable);
    assert!(
        refused.message.contains("circuit open") && refused.retry_after.is_some(),
        "{refused}"
    );
    assert_eq!(
        sim.control.stats.total(),
        seen,
        "an open breaker does not call the upstream"
    );
    // After the pause, one probe goes out; the vendor is healthy again, so the breaker closes.
    sim.control.clear_faults();
    tokio::time::sleep(Duration::from_millis(250)).await;
    get_thing(&u, &sim.base_url())
        .await
        .expect("the probe succeeds");
    assert_eq!(u.stats().breaker, BreakerState::Closed);
    get_thing(&u, &sim.base_url())
        .await
        .expect("calls flow again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bulkhead_caps_concurrent_calls_to_one_upstream() {
    let gauge = Arc::new(Gauge::default());
    let sim = server(gauge.clone(), Duration::from_millis(50)).await;
    let u = Upstream::new(
        ConnectorName::new("pim"),
        UpstreamPolicy {
            max_concurrent: 2,
            ..UpstreamPolicy::default()
        },
    )
    .expect("client");
    let base = sim.base_url();
    let calls: Vec<_> = (0..8).map(|_| get_thing(&u, &base)).collect();
    for r in futures::future::join_all(calls).await {
        r.expect("every call completes");
    }
    assert_eq!(
        gauge.max.load(Ordering::SeqCst),
        2,
        "never more than two in flight"
    );
    assert_eq!(sim.control.stats.total(), 8);
}

#[tokio::test]
async fn the_quota_keeps_calls_inside_the_vendors_limit() {
    let sim = server(Arc::default(), Duration::ZERO).await;
    let quota = Quota {
        per_second: 5.try_into().unwrap(),
        burst: 5.try_into().unwrap(),
    };
    let policy = UpstreamPolicy {
        quota: Some(quota),
        max_retry_after: Duration::ZERO,
        ..UpstreamPolicy::default()
    };
    let u = Upstream::new(ConnectorName::new("marketing"), policy).expect("client");
    let mut limited = 0;
    for _ in 0..12 {
        match get_thing(&u, &sim.base_url()).await {
            Ok(()) => {}
            Err(e) => {
                assert_eq!(e.kind, ErrorKind::RateLimited);
                assert!(e.retry_after.is_some_and(|d| d > Duration::ZERO));
                limited += 1;
            }
        }
    }
    let sent = sim.control.stats.total();
    assert!(
        (5..=6).contains(&sent),
        "the burst of 5 (and at most one refill) reached the vendor: {sent}"
    );
    assert_eq!(limited as u64, 12 - sent);
    assert!(u.stats().quota_waits >= 6);
}

#[tokio::test]
async fn a_hung_upstream_is_cut_at_the_calls_deadline() {
    let sim = server(Arc::default(), Duration::ZERO).await;
    let policy = UpstreamPolicy {
        deadline: Duration::from_millis(300),
        ..UpstreamPolicy::default()
    };
    let u = Upstream::new(ConnectorName::new("crm"), policy).expect("client");
    sim.control.set_faults(FaultPlan {
        hang_next: 10,
        ..FaultPlan::default()
    });
    let e = get_thing(&u, &sim.base_url()).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Timeout);
    assert!(e.message.contains("deadline"), "{e}");
}
