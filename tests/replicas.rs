//! Two gateway replicas sharing one real Redis (a `redis-server` this test starts; `.ci/run`
//! installs it): a vendor quota of N per second holds across both, where without Redis each
//! replica would allow N on its own; a catalogue value one replica fetched is a hit on the other
//! (the vendors see no second call); a persisted query registered on one runs by hash on the
//! other.

#![cfg(feature = "demo")]

mod common;

use common::{free_port, Kill, Running};
use samlet::demo::Stack;
use serde_json::json;
use std::num::NonZeroU32;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A throwaway redis-server on a free port.
async fn redis_server() -> (Kill, String) {
    let port = free_port();
    let child = Command::new("redis-server")
        .args([
            "--port",
            &port.to_string(),
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("redis-server is installed (apt install redis-server; .ci/run does)");
    let kill = Kill(child);
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return (kill, format!("redis://127.0.0.1:{port}/0"));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("redis-server did not start");
}

const PER_SECOND: u32 = 5;

/// The demo stack A with the catalogue cache off, the PIM's quota at 5 per second, and Redis
/// if given.
fn edit(redis: Option<&str>, prefix: &str) -> impl FnOnce(&mut samlet::Config) {
    let redis = redis.map(str::to_owned);
    let prefix = prefix.to_owned();
    move |c: &mut samlet::Config| {
        let off = samlet::cache::CachePolicy {
            ttl: Duration::ZERO,
            stale_for: Duration::ZERO,
        };
        c.cache.products = off;
        c.cache.prices = off;
        c.cache.inventory = off;
        for spec in &mut c.connectors {
            if spec.name.as_str() == "pim" {
                spec.policy.quota = Some(samlet_connector::policy::Quota {
                    per_second: NonZeroU32::new(PER_SECOND).unwrap(),
                    burst: NonZeroU32::new(1).unwrap(),
                });
                spec.policy.max_retry_after = Duration::from_secs(1);
            }
        }
        c.redis = redis.map(|url| {
            toml::from_str(&format!("url = \"{url}\"\nprefix = \"{prefix}\"\n")).unwrap()
        });
    }
}

/// A second gateway over the same simulators (and the same configuration).
async fn second_replica(
    g: &Running,
    config: samlet::Config,
) -> (String, tokio::sync::oneshot::Sender<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        samlet::serve(config, listener, async move {
            let _ = rx.await;
        })
        .await
        .unwrap();
    });
    let _ = g;
    (url, tx)
}

/// Hammers both replicas with product pages for `secs`; returns the PIM requests per second
/// the simulator saw.
async fn pim_rate(g: &Running, other: &str, secs: u64) -> f64 {
    g.reset_counts();
    let skus: Vec<String> = (0..400).map(|i| g.world().skus(i)[0].to_string()).collect();
    let started = Instant::now();
    let until = started + Duration::from_secs(secs);
    let mut tasks = Vec::new();
    for worker in 0..8 {
        let url = if worker % 2 == 0 {
            format!("{}/graphql", g.url)
        } else {
            format!("{other}/graphql")
        };
        let http = g.http.clone();
        let skus = skus.clone();
        tasks.push(tokio::spawn(async move {
            let mut i = worker;
            while Instant::now() < until {
                let _ = http
                    .post(&url)
                    .json(&json!({ "query": "query($s: String!) { product(sku: $s) { name } }", "variables": { "s": skus[i % skus.len()] } }))
                    .send()
                    .await;
                i += 8;
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let elapsed = started.elapsed().as_secs_f64();
    g.data_requests("pim") as f64 / elapsed
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_vendor_quota_holds_across_two_replicas_sharing_redis() {
    let (_redis, url) = redis_server().await;
    let prefix = format!("samlet-test-{}:", std::process::id());
    let g = Running::start_with(Stack::A, edit(Some(&url), &prefix)).await;
    let mut config = g.stack.config().unwrap();
    edit(Some(&url), &prefix)(&mut config);
    let (other, _stop) = second_replica(&g, config).await;
    let shared = pim_rate(&g, &other, 3).await;

    // The same two replicas without Redis: each holds the quota only for itself.
    let alone = Running::start_with(Stack::A, edit(None, &prefix)).await;
    let mut config = alone.stack.config().unwrap();
    edit(None, &prefix)(&mut config);
    let (other_alone, _stop2) = second_replica(&alone, config).await;
    let separate = pim_rate(&alone, &other_alone, 3).await;

    eprintln!(
        "PIM requests per second, quota {PER_SECOND}/s: two replicas sharing Redis {shared:.1}, two replicas alone {separate:.1}"
    );
    // GCRA admits one request per interval after the first, over the whole window.
    assert!(
        shared <= f64::from(PER_SECOND) * 1.25,
        "shared quota exceeded: {shared:.1}/s"
    );
    // ...and wastes no slot on a request that would have waited too long to use it.
    assert!(
        shared >= f64::from(PER_SECOND) * 0.5,
        "shared quota underused: {shared:.1}/s"
    );
    assert!(
        separate > f64::from(PER_SECOND) * 1.5,
        "without Redis the replicas should each spend the quota: {separate:.1}/s"
    );
}

/// Stack A with its default caches, sharing Redis at `url` when given.
fn cached(redis: Option<&str>, prefix: &str) -> impl FnOnce(&mut samlet::Config) {
    let redis = redis.map(str::to_owned);
    let prefix = prefix.to_owned();
    move |c: &mut samlet::Config| {
        // The whole-answer cache is per replica by design; the capability caches are shared.
        c.cache.responses.ttl = Duration::ZERO;
        c.server.dashboard = true;
        c.redis = redis.map(|url| {
            toml::from_str(&format!("url = \"{url}\"\nprefix = \"{prefix}\"\n")).unwrap()
        });
    }
}

const PRODUCT_PAGE: &str = "query($s: String!) { product(sku: $s) { name variants { sku price { amount { amount currencyCode } } stock { locationCode available } } } }";

/// POSTs `body` to `url`; the whole JSON answer.
async fn post(g: &Running, url: &str, body: serde_json::Value) -> serde_json::Value {
    g.http
        .post(format!("{url}/graphql"))
        .json(&body)
        .send()
        .await
        .expect("gateway answers")
        .json()
        .await
        .expect("JSON")
}

/// Asks replica one for a product page, then replica two: the vendor calls replica two made.
async fn second_replica_vendor_calls(redis: Option<&str>, prefix: &str, sku: u32) -> (u64, u64) {
    let g = Running::start_with(Stack::A, cached(redis, prefix)).await;
    let mut config = g.stack.config().unwrap();
    cached(redis, prefix)(&mut config);
    let (other, _stop) = second_replica(&g, config).await;
    let s = g.world().skus(sku)[0].to_string();
    let body = json!({ "query": PRODUCT_PAGE, "variables": { "s": s } });
    let first = post(&g, &g.url, body.clone()).await;
    assert!(first.get("errors").is_none(), "{first:#}");
    g.reset_counts();
    let second = post(&g, &other, body).await;
    assert_eq!(second, first, "both replicas give the same answer");
    let metrics = g
        .http
        .get(format!("{other}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let shared_hits = metrics
        .lines()
        .find_map(|l| l.strip_prefix("samlet_shared_cache_lookups_total{result=\"hit\"} "))
        .map(|n| n.parse::<u64>().unwrap());
    if redis.is_some() {
        // The product, its variants' prices and their stock.
        assert!(shared_hits.unwrap_or(0) >= 3, "{metrics}");
    } else {
        assert_eq!(shared_hits, None, "no Redis, no shared-cache metrics");
    }
    (g.data_requests("pim"), g.data_requests("erp"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_value_cached_by_one_replica_is_a_hit_on_the_other() {
    let (_redis, url) = redis_server().await;
    let prefix = format!("samlet-l2-{}:", std::process::id());
    let shared = second_replica_vendor_calls(Some(&url), &prefix, 7).await;
    assert_eq!(
        shared,
        (0, 0),
        "with Redis, the second replica takes product, prices and stock from the first's fetch"
    );
    // The control: without Redis the second replica has to ask the vendors itself.
    let (pim, erp) = second_replica_vendor_calls(None, &prefix, 7).await;
    assert!(
        pim >= 1 && erp >= 1,
        "alone, the second replica calls the vendors: pim {pim}, erp {erp}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_persisted_query_registered_on_one_replica_runs_by_hash_on_the_other() {
    use sha2::Digest;
    let (_redis, url) = redis_server().await;
    let prefix = format!("samlet-apq-{}:", std::process::id());
    let g = Running::start_with(Stack::A, cached(Some(&url), &prefix)).await;
    let mut config = g.stack.config().unwrap();
    cached(Some(&url), &prefix)(&mut config);
    let (other, _stop) = second_replica(&g, config).await;
    let query = "{ locations { code } }";
    let hash = format!("{:x}", sha2::Sha256::digest(query.as_bytes()));
    let by_hash =
        json!({ "extensions": { "persistedQuery": { "version": 1, "sha256Hash": hash } } });

    // Unknown everywhere at first.
    let unknown = post(&g, &other, by_hash.clone()).await;
    assert_eq!(
        unknown["errors"][0]["message"], "PersistedQueryNotFound",
        "{unknown:#}"
    );
    // Registered on replica one (query and hash)...
    let mut register = by_hash.clone();
    register["query"] = json!(query);
    let registered = post(&g, &g.url, register).await;
    assert!(registered.get("errors").is_none(), "{registered:#}");
    // ...it runs by hash alone on replica two.
    let ran = post(&g, &other, by_hash).await;
    assert!(ran.get("errors").is_none(), "{ran:#}");
    assert_eq!(ran["data"], registered["data"]);
}
