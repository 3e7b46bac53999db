//! The shared cache in front of catalogue capabilities (products, prices, stock, locations):
//! bounded in bytes, a time to live and a stale-while-revalidate window per capability, and
//! request coalescing, so many concurrent misses for one key make one upstream call.
//!
//! A stale answer is served only within `ttl + stale_for` of its fetch, whether the refresh
//! behind it succeeds or the upstream is down; [`CapabilityCache::get_many_aged`] says which
//! keys were served stale and how old they are, so the response can be marked (the
//! `extensions.stale` list, see `graph::loaders::StaleLog`). Past that bound the entry is gone
//! and a failing upstream is an error on the field.
//!
//! Keys carry exactly the parts of the request context that change the answer (see
//! `graph::loaders`). Customer-private data (customers, orders) is not cached here: it must never
//! be shared across callers.

use futures::future::{BoxFuture, FutureExt, Shared};
use samlet_connector::trace::{current_tags, tagged, CallTags};
use serde::Deserialize;
use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tracing::Instrument as _;

/// One capability's cache settings (`[cache.prices]` and so on).
#[derive(Debug, Clone, Copy, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CachePolicy {
    /// How long an answer is fresh, e.g. `"30s"`; `"0s"` turns this cache off.
    #[serde(with = "crate::config::duration")]
    #[schemars(schema_with = "crate::config::duration_schema")]
    pub ttl: Duration,
    /// How long after that a stale answer is still served while it is refreshed in the
    /// background, e.g. `"30s"`.
    #[serde(default, with = "crate::config::duration")]
    #[schemars(schema_with = "crate::config::duration_schema")]
    pub stale_for: Duration,
}

impl CachePolicy {
    fn enabled(&self) -> bool {
        !self.ttl.is_zero()
    }
}

/// Estimated heap size of a cached value, for the byte bound.
pub trait Weigh {
    /// Bytes, roughly.
    fn weigh(&self) -> usize;
}

#[derive(Clone)]
struct Entry<V> {
    /// `None` caches "the vendor does not know this key".
    value: Option<V>,
    fetched: Instant,
}

/// What one batch fetch shares with every request waiting on one of its keys.
type SharedBatch<K, V, E> = Shared<BoxFuture<'static, Result<Arc<HashMap<K, V>>, E>>>;

/// A batch in flight, with its id (to group the keys that join it).
type InFlight<K, V, E> = (u64, SharedBatch<K, V, E>);

/// Hit and miss counts, for metrics.
#[derive(Debug, Default)]
pub struct CacheStats {
    /// Answers served fresh from the cache.
    pub hits: AtomicU64,
    /// Answers served stale while a refresh runs.
    pub stale: AtomicU64,
    /// Keys that had to be fetched.
    pub misses: AtomicU64,
    /// Keys that joined a fetch already in flight for another request.
    pub coalesced: AtomicU64,
}

/// A cache for one capability.
pub struct CapabilityCache<K, V, E> {
    policy: CachePolicy,
    entries: moka::sync::Cache<K, Entry<V>>,
    /// Keys being fetched now, with the id of their batch and the batch itself.
    in_flight: Mutex<HashMap<K, InFlight<K, V, E>>>,
    next_batch: AtomicU64,
    /// Counts.
    pub stats: CacheStats,
}

impl<K, V, E> CapabilityCache<K, V, E>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Weigh + Clone + Send + Sync + 'static,
    E: Clone + Send + Sync + 'static,
{
    /// A cache holding at most `max_bytes` (estimated) under `policy`.
    pub fn new(policy: CachePolicy, max_bytes: u64) -> Arc<Self> {
        let entries = moka::sync::Cache::builder()
            .max_capacity(max_bytes)
            .weigher(|_k: &K, e: &Entry<V>| {
                let bytes = 64 + e.value.as_ref().map_or(0, Weigh::weigh);
                u32::try_from(bytes).unwrap_or(u32::MAX)
            })
            .time_to_live(policy.ttl + policy.stale_for)
            .build();
        Arc::new(CapabilityCache {
            policy,
            entries,
            in_flight: Mutex::new(HashMap::new()),
            next_batch: AtomicU64::new(0),
            stats: CacheStats::default(),
        })
    }

    /// Forgets `key` (e.g. after a webhook said it changed).
    pub fn invalidate(&self, key: &K) {
        self.entries.invalidate(key);
    }

    /// Forgets everything.
    pub fn clear(&self) {
        self.entries.invalidate_all();
    }

    /// The values for `keys`: fresh or stale-but-servable entries from the cache, the rest from
    /// `fetch` (one call for all misses; keys already being fetched for another request join
    /// that fetch instead). Stale entries are refreshed in the background.
    pub async fn get_many<F, Fut>(
        self: &Arc<Self>,
        keys: &[K],
        fetch: F,
    ) -> Result<HashMap<K, V>, E>
    where
        F: Fn(Vec<K>) -> Fut + Clone + Send + Sync + 'static,
        Fut: Future<Output = Result<HashMap<K, V>, E>> + Send + 'static,
    {
        Ok(self.get_many_aged(keys, fetch).await?.0)
    }

    /// Like [`CapabilityCache::get_many`], and also the keys answered from stale entries
    /// (past their `ttl`, within `ttl + stale_for`), each with the age of its entry.
    pub async fn get_many_aged<F, Fut>(
        self: &Arc<Self>,
        keys: &[K],
        fetch: F,
    ) -> Result<(HashMap<K, V>, Vec<(K, Duration)>), E>
    where
        F: Fn(Vec<K>) -> Fut + Clone + Send + Sync + 'static,
        Fut: Future<Output = Result<HashMap<K, V>, E>> + Send + 'static,
    {
        if !self.policy.enabled() {
            crate::trace::record_cache(false, 0, 0, keys.len());
            let tags = CallTags {
                cache: Some("off"),
                ..current_tags()
            };
            return Ok((tagged(tags, fetch(keys.to_vec())).await?, Vec::new()));
        }
        let now = Instant::now();
        let mut out = HashMap::with_capacity(keys.len());
        let mut missing = Vec::new();
        let mut stale = Vec::new();
        for k in keys {
            let entry = self.entries.get(k);
            let age = entry
                .as_ref()
                .map(|e| now.saturating_duration_since(e.fetched));
            match (entry, age) {
                (Some(e), Some(age)) if age <= self.policy.ttl => {
                    self.stats.hits.fetch_add(1, Ordering::Relaxed);
                    if let Some(v) = e.value {
                        out.insert(k.clone(), v);
                    }
                }
                (Some(e), Some(age)) if age <= self.policy.ttl + self.policy.stale_for => {
                    self.stats.stale.fetch_add(1, Ordering::Relaxed);
                    stale.push((k.clone(), age));
                    if let Some(v) = e.value {
                        out.insert(k.clone(), v);
                    }
                }
                _ => missing.push(k.clone()),
            }
        }
        let hits = keys.len() - stale.len() - missing.len();
        crate::trace::record_cache(true, hits, stale.len(), missing.len());
        if !stale.is_empty() {
            // Refreshed in the background: a failure leaves the stale entry to be served until
            // its bound.
            let this = self.clone();
            let fetch = fetch.clone();
            let keys: Vec<K> = stale.iter().map(|(k, _)| k.clone()).collect();
            let tags = current_tags();
            tokio::spawn(
                tagged(tags, async move {
                    let _ = this.fetch_coalesced(&keys, fetch, "refresh").await;
                })
                .in_current_span(),
            );
        }
        if !missing.is_empty() {
            self.stats
                .misses
                .fetch_add(missing.len() as u64, Ordering::Relaxed);
            let fetched = self.fetch_coalesced(&missing, fetch, "miss").await?;
            out.extend(fetched);
        }
        Ok((out, stale))
    }

    /// Fetches `keys`, joining fetches already in flight for some of them. `why` (`miss` or
    /// `refresh`) is told to the upstream calls' trace spans.
    async fn fetch_coalesced<F, Fut>(
        self: &Arc<Self>,
        keys: &[K],
        fetch: F,
        why: &'static str,
    ) -> Result<HashMap<K, V>, E>
    where
        F: Fn(Vec<K>) -> Fut + Clone + Send + Sync + 'static,
        Fut: Future<Output = Result<HashMap<K, V>, E>> + Send + 'static,
    {
        let mut waits: Vec<(Vec<K>, SharedBatch<K, V, E>)> = Vec::new();
        let mut own = Vec::new();
        {
            let mut flying = self.in_flight.lock().unwrap_or_else(|e| e.into_inner());
            // Keys grouped by the batch they join.
            #[allow(clippy::type_complexity)]
            let mut joined: HashMap<u64, (Vec<K>, SharedBatch<K, V, E>)> = HashMap::new();
            for k in keys {
                match flying.get(k) {
                    Some((id, batch)) => {
                        self.stats.coalesced.fetch_add(1, Ordering::Relaxed);
                        joined
                            .entry(*id)
                            .or_insert_with(|| (Vec::new(), batch.clone()))
                            .0
                            .push(k.clone());
                    }
                    None => own.push(k.clone()),
                }
            }
            if !own.is_empty() {
                let id = self.next_batch.fetch_add(1, Ordering::Relaxed);
                let this = self.clone();
                let batch_keys = own.clone();
                let tags = CallTags {
                    cache: Some(why),
                    ..current_tags()
                };
                let batch: SharedBatch<K, V, E> = async move {
                    let result = tagged(tags, fetch(batch_keys.clone())).await;
                    if let Ok(found) = &result {
                        let fetched = Instant::now();
                        for k in &batch_keys {
                            this.entries.insert(
                                k.clone(),
                                Entry {
                                    value: found.get(k).cloned(),
                                    fetched,
                                },
                            );
                        }
                    }
                    this.in_flight
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .retain(|_, (b, _)| *b != id);
                    result.map(Arc::new)
                }
                .boxed()
                .shared();
                for k in &own {
                    flying.insert(k.clone(), (id, batch.clone()));
                }
                waits.push((own, batch));
            }
            waits.extend(joined.into_values());
        }
        let mut out = HashMap::new();
        for (ks, batch) in waits {
            let found = batch.await?;
            for k in ks {
                if let Some(v) = found.get(&k) {
                    out.insert(k, v.clone());
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests;

mod weights {
    //! Rough heap sizes of the cached model values.
    use super::Weigh;
    use samlet_connector::model::{LocalizedText, Location, Price, Product, StockLevel};
    use std::sync::Arc;

    fn text(t: &LocalizedText) -> usize {
        t.0.iter()
            .map(|(l, v)| l.as_str().len() + v.len() + 48)
            .sum()
    }

    impl Weigh for Arc<Product> {
        fn weigh(&self) -> usize {
            let attrs = |a: &[samlet_connector::model::Attribute]| -> usize {
                a.iter().map(|a| a.code.len() + text(&a.value) + 32).sum()
            };
            let media = |m: &[samlet_connector::model::Media]| -> usize {
                m.iter().map(|m| m.url.len() + m.code.len() + 48).sum()
            };
            256 + text(&self.name)
                + text(&self.description)
                + self.categories.iter().map(|c| c.len() + 24).sum::<usize>()
                + attrs(&self.attributes)
                + media(&self.media)
                + self
                    .variants
                    .iter()
                    .map(|v| {
                        96 + v.sku.as_str().len()
                            + text(&v.name)
                            + attrs(&v.attributes)
                            + media(&v.media)
                    })
                    .sum::<usize>()
        }
    }

    impl Weigh for Arc<Vec<Arc<Product>>> {
        fn weigh(&self) -> usize {
            32 + self.iter().map(Weigh::weigh).sum::<usize>()
        }
    }

    impl Weigh for Price {
        fn weigh(&self) -> usize {
            std::mem::size_of::<Price>()
        }
    }

    impl Weigh for Arc<Vec<StockLevel>> {
        fn weigh(&self) -> usize {
            32 + self
                .iter()
                .map(|s| std::mem::size_of::<StockLevel>() + s.location.as_str().len())
                .sum::<usize>()
        }
    }

    impl Weigh for Arc<Vec<Location>> {
        fn weigh(&self) -> usize {
            32 + self.len() * 512
        }
    }
}
