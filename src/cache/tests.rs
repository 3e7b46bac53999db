//! The cache serves fresh entries, refreshes stale ones in the background, and coalesces
//! concurrent misses for one key into one fetch.

use super::*;
use std::sync::atomic::AtomicUsize;

impl Weigh for u32 {
    fn weigh(&self) -> usize {
        4
    }
}

fn cache(ttl_ms: u64, stale_ms: u64) -> Arc<CapabilityCache<u32, u32, String>> {
    CapabilityCache::new(
        CachePolicy {
            ttl: Duration::from_millis(ttl_ms),
            stale_for: Duration::from_millis(stale_ms),
        },
        1 << 20,
    )
}

/// A fetch that counts its calls and the keys asked for, answering `key * 10` for keys < 100.
fn counting(
    calls: Arc<AtomicUsize>,
    delay: Duration,
) -> impl Fn(Vec<u32>) -> BoxFuture<'static, Result<HashMap<u32, u32>, String>> + Clone {
    move |keys: Vec<u32>| {
        let calls = calls.clone();
        async move {
            calls.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(delay).await;
            Ok(keys
                .into_iter()
                .filter(|k| *k < 100)
                .map(|k| (k, k * 10))
                .collect())
        }
        .boxed()
    }
}

#[tokio::test]
async fn a_fresh_hit_makes_no_call_and_unknown_keys_are_remembered_as_absent() {
    let c = cache(60_000, 0);
    let calls = Arc::new(AtomicUsize::new(0));
    let f = counting(calls.clone(), Duration::ZERO);
    let first = c.get_many(&[1, 2, 500], f.clone()).await.unwrap();
    assert_eq!(first, HashMap::from([(1, 10), (2, 20)]));
    let again = c.get_many(&[1, 2, 500], f).await.unwrap();
    assert_eq!(again, first);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(c.stats.hits.load(Ordering::SeqCst), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_misses_for_one_key_make_one_upstream_call() {
    let c = cache(60_000, 0);
    let calls = Arc::new(AtomicUsize::new(0));
    let f = counting(calls.clone(), Duration::from_millis(50));
    let all: Vec<_> = (0..1000).map(|_| c.get_many(&[7], f.clone())).collect();
    for r in futures::future::join_all(all).await {
        assert_eq!(r.unwrap(), HashMap::from([(7, 70)]));
    }
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(c.stats.coalesced.load(Ordering::SeqCst), 999);
}

#[tokio::test]
async fn a_stale_entry_is_served_and_refreshed_in_the_background() {
    let c = cache(20, 60_000);
    let calls = Arc::new(AtomicUsize::new(0));
    let f = counting(calls.clone(), Duration::ZERO);
    c.get_many(&[3], f.clone()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(40)).await;
    assert_eq!(
        c.get_many(&[3], f.clone()).await.unwrap(),
        HashMap::from([(3, 30)]),
        "served stale"
    );
    assert_eq!(c.stats.stale.load(Ordering::SeqCst), 1);
    for _ in 0..100 {
        if calls.load(Ordering::SeqCst) == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(
        calls.load(Ordering::SeqCst),
        2,
        "refreshed once in the background"
    );
    c.get_many(&[3], f).await.unwrap();
    assert_eq!(
        c.stats.hits.load(Ordering::SeqCst),
        1,
        "fresh again after the refresh"
    );
}

#[tokio::test]
async fn a_failed_fetch_is_not_cached_and_a_zero_ttl_turns_the_cache_off() {
    let c = cache(60_000, 0);
    let failing =
        |_keys: Vec<u32>| async { Err::<HashMap<u32, u32>, _>("down".to_owned()) }.boxed();
    assert_eq!(c.get_many(&[1], failing).await.unwrap_err(), "down");
    let calls = Arc::new(AtomicUsize::new(0));
    c.get_many(&[1], counting(calls.clone(), Duration::ZERO))
        .await
        .unwrap();
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "the failure left nothing behind"
    );

    let off = cache(0, 0);
    let calls = Arc::new(AtomicUsize::new(0));
    for _ in 0..3 {
        off.get_many(&[1], counting(calls.clone(), Duration::ZERO))
            .await
            .unwrap();
    }
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn a_failing_upstream_gets_the_stale_entry_with_its_age_until_the_bound_then_an_error() {
    let c = cache(20, 300);
    let calls = Arc::new(AtomicUsize::new(0));
    c.get_many(&[4], counting(calls.clone(), Duration::ZERO))
        .await
        .unwrap();
    let failed = Arc::new(AtomicUsize::new(0));
    let failing = {
        let failed = failed.clone();
        move |_keys: Vec<u32>| {
            failed.fetch_add(1, Ordering::SeqCst);
            async { Err::<HashMap<u32, u32>, _>("down".to_owned()) }.boxed()
        }
    };
    tokio::time::sleep(Duration::from_millis(40)).await;
    let (got, stale) = c.get_many_aged(&[4], failing.clone()).await.unwrap();
    assert_eq!(got, HashMap::from([(4, 40)]), "served stale, not an error");
    assert_eq!(stale.len(), 1);
    assert_eq!(stale[0].0, 4);
    assert!(
        stale[0].1 >= Duration::from_millis(40),
        "the age counts from the fetch: {:?}",
        stale[0].1
    );
    // The background refresh fails; the stale entry stays servable.
    for _ in 0..100 {
        if failed.load(Ordering::SeqCst) >= 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(failed.load(Ordering::SeqCst), 1, "one background refresh");
    let (got, stale) = c.get_many_aged(&[4], failing.clone()).await.unwrap();
    assert_eq!(got, HashMap::from([(4, 40)]));
    assert_eq!(stale.len(), 1);
    // Past ttl + stale_for the entry is gone: the failure is the answer.
    tokio::time::sleep(Duration::from_millis(320)).await;
    assert_eq!(c.get_many_aged(&[4], failing).await.unwrap_err(), "down");
    // A fresh entry is not stale.
    let (_, stale) = c
        .get_many_aged(&[5], counting(calls, Duration::ZERO))
        .await
        .unwrap();
    assert!(stale.is_empty());
}
