//! The cache serves fresh entries, refreshes stale ones in the background, and coalesces
//! concurrent misses for one key into one fetch.

use super::*;
use std::sync::atomic::AtomicUsize;

impl BatchGroup for u32 {
    type Group = ();
    fn group(&self) {}
}

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

/// A cache of `policy` making at most one vendor call at once.
fn one_slot(ttl_ms: u64) -> Arc<CapabilityCache<u32, u32, String>> {
    CapabilityCache::configured(
        CachePolicy {
            ttl: Duration::from_millis(ttl_ms),
            stale_for: Duration::ZERO,
        },
        1 << 20,
        1,
        None,
    )
}

/// Requests for a key each, arriving while the one fetch slot is taken: one for the slot, a
/// full batch, and 35 more.
const CONCURRENT: u32 = 1 + MAX_JOINED_KEYS as u32 + 35;

/// [`CONCURRENT`] requests for a key each, all at once.
async fn all_at_once(
    c: &Arc<CapabilityCache<u32, u32, String>>,
    f: impl Fn(Vec<u32>) -> BoxFuture<'static, Result<HashMap<u32, u32>, String>>
        + Clone
        + Send
        + Sync
        + 'static,
) {
    let all: Vec<_> = (0..CONCURRENT)
        .map(|k| {
            let (c, f) = (c.clone(), f.clone());
            async move { (k, c.get_many(&[k], f).await.unwrap()) }
        })
        .collect();
    for (k, got) in futures::future::join_all(all).await {
        // `counting` knows keys under 100 only.
        let want: HashMap<u32, u32> = (k < 100).then(|| (k, k * 10)).into_iter().collect();
        assert_eq!(got, want, "key {k}");
    }
}

#[tokio::test]
async fn misses_waiting_for_a_fetch_slot_go_in_one_call() {
    let c = one_slot(60_000);
    let calls = Arc::new(AtomicUsize::new(0));
    all_at_once(&c, counting(calls.clone(), Duration::from_millis(50))).await;
    // The first key takes the slot; the next ones wait in one full batch, the last 35 in
    // another.
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    assert_eq!(
        c.stats.batched.load(Ordering::SeqCst),
        (MAX_JOINED_KEYS - 1 + 34) as u64
    );
}

#[tokio::test]
async fn with_the_cache_off_misses_are_still_batched_but_nothing_is_kept() {
    let c = one_slot(0);
    let calls = Arc::new(AtomicUsize::new(0));
    let f = counting(calls.clone(), Duration::from_millis(50));
    all_at_once(&c, f.clone()).await;
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    c.get_many(&[5], f).await.unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 4, "nothing was kept");
}

/// A key made in a request context (`.0`, say a currency): only keys of one context may share
/// a call, since the call is made in the context of the request that opened the batch.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct InContext(u8, u32);

impl BatchGroup for InContext {
    type Group = u8;
    fn group(&self) -> u8 {
        self.0
    }
}

#[tokio::test]
async fn batches_never_mix_request_contexts() {
    let c: Arc<CapabilityCache<InContext, u32, String>> = CapabilityCache::configured(
        CachePolicy {
            ttl: Duration::from_secs(60),
            stale_for: Duration::ZERO,
        },
        1 << 20,
        1,
        None,
    );
    let calls = Arc::new(Mutex::new(Vec::new()));
    let all: Vec<_> = (0..60u32)
        .map(|k| {
            let context = (k % 3) as u8;
            let (c, calls) = (c.clone(), calls.clone());
            // The fetch answers in its own request's context.
            let fetch = move |keys: Vec<InContext>| {
                let calls = calls.clone();
                async move {
                    calls.lock().unwrap().push((context, keys.clone()));
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    Ok::<_, String>(
                        keys.into_iter()
                            .map(|k| {
                                let v = u32::from(context) * 1000 + k.1;
                                (k, v)
                            })
                            .collect(),
                    )
                }
                .boxed()
            };
            async move {
                let key = InContext(context, k);
                let got = c.get_many(std::slice::from_ref(&key), fetch).await.unwrap();
                assert_eq!(got[&key], u32::from(context) * 1000 + k);
            }
        })
        .collect();
    futures::future::join_all(all).await;
    let calls = calls.lock().unwrap();
    for (context, keys) in calls.iter() {
        assert!(keys.iter().all(|k| k.0 == *context), "{context}: {keys:?}");
    }
    // One call for the first key, then one per context.
    assert_eq!(calls.len(), 4, "{calls:?}");
}
