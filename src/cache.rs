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
//! With a shared Redis (`[redis]`), a [`SecondLevel`] sits behind the in-process cache: a miss
//! here asks Redis before the vendor, and what the vendor answered is written there for the
//! other replicas, fresh for the rest of its `ttl` (the age travels with the value).
//!
//! Misses of concurrent requests are batched: a capability makes at most `concurrent_fetches`
//! vendor calls at once, and the misses that arrive while those are out wait together and go
//! in one call (up to [`MAX_JOINED_KEYS`] keys) when a slot frees, if they share the request
//! context that call is made in ([`BatchGroup`]). Under light load nothing waits; under heavy
//! load a vendor with a small concurrency limit sees a few large calls instead of a queue of
//! small ones. This holds with the cache off (`ttl = "0s"`), which then only coalesces and
//! batches.
//!
//! Keys carry exactly the parts of the request context that change the answer (see
//! `graph::loaders`). Customer-private data (customers, orders) is not cached here: it must never
//! be shared across callers.

use crate::replicas::Redis;
use futures::future::{BoxFuture, FutureExt, Shared};
use samlet_connector::trace::{current_tags, tagged, CallTags};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
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

/// The most keys other requests add to a batch that waits for a fetch slot (a request's own
/// keys always go in one call, however many).
pub const MAX_JOINED_KEYS: usize = 100;

/// Keys whose fetches may share one vendor call: the fetch a request makes answers another
/// request's key only when both keys carry the same request context (channel, currency, ...).
pub trait BatchGroup {
    /// The part of a key taken from the request context.
    type Group: Hash + Eq + Clone + Send + Sync + 'static;
    /// This key's part.
    fn group(&self) -> Self::Group;
}

/// A batch waiting for a fetch slot, open to other requests' keys until it gets one.
struct Open<K, V, E> {
    id: u64,
    keys: Arc<Mutex<Vec<K>>>,
    batch: SharedBatch<K, V, E>,
}

/// Hit and miss counts, for metrics.
#[derive(Debug, Default)]
pub struct CacheStats {
    /// Answers served fresh from the cache.
    pub hits: AtomicU64,
    /// Keys that joined another request's batch waiting for a fetch slot.
    pub batched: AtomicU64,
    /// Answers served stale while a refresh runs.
    pub stale: AtomicU64,
    /// Keys that had to be fetched.
    pub misses: AtomicU64,
    /// Keys that joined a fetch already in flight for another request.
    pub coalesced: AtomicU64,
}

/// A cache for one capability.
pub struct CapabilityCache<K: BatchGroup, V, E> {
    policy: CachePolicy,
    entries: moka::sync::Cache<K, Entry<V>>,
    /// Keys being fetched now, with the id of their batch and the batch itself.
    in_flight: Mutex<HashMap<K, InFlight<K, V, E>>>,
    /// Per request-context group, the batch waiting for a fetch slot.
    open: Mutex<HashMap<K::Group, Open<K, V, E>>>,
    /// Fetch slots: vendor calls this cache makes at once.
    slots: Arc<tokio::sync::Semaphore>,
    next_batch: AtomicU64,
    /// The level shared with other replicas, if any.
    second: Option<SecondLevel<K, V>>,
    /// Counts.
    pub stats: CacheStats,
}

/// The second level of a [`CapabilityCache`]: entries shared with the other replicas through
/// Redis, under `kind` (e.g. `prices`). A value is stored with the time it was fetched, so a
/// replica that takes it over knows how much of its `ttl` is left.
pub struct SecondLevel<K, V> {
    redis: Arc<Redis>,
    kind: &'static str,
    key: fn(&K) -> Option<String>,
    encode: fn(&Option<V>) -> Option<Vec<u8>>,
    decode: fn(&[u8]) -> Option<Option<V>>,
}

impl<K: Serialize, V: Serialize + DeserializeOwned> SecondLevel<K, V> {
    /// Keys and values as JSON in `redis`, under `kind`.
    pub fn json(redis: Arc<Redis>, kind: &'static str) -> SecondLevel<K, V> {
        SecondLevel {
            redis,
            kind,
            key: |k| serde_json::to_string(k).ok(),
            encode: |v| serde_json::to_vec(v).ok(),
            decode: |b| serde_json::from_slice(b).ok(),
        }
    }

    /// [`SecondLevel::json`] when there is a Redis.
    pub fn json_opt(redis: Option<&Arc<Redis>>, kind: &'static str) -> Option<SecondLevel<K, V>> {
        redis.map(|r| SecondLevel::json(r.clone(), kind))
    }
}

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

impl<K, V> SecondLevel<K, V> {
    fn full_key(&self, k: &K) -> Option<String> {
        (self.key)(k).map(|k| self.redis.key(self.kind, &k))
    }

    /// The entries Redis holds for `keys` that are younger than `ttl`, with their age.
    async fn get(&self, keys: &[K], ttl: Duration) -> Vec<(usize, Option<V>, Duration)> {
        let (idx, full): (Vec<usize>, Vec<String>) = keys
            .iter()
            .enumerate()
            .filter_map(|(i, k)| Some((i, self.full_key(k)?)))
            .unzip();
        let Some(found) = self.redis.get_many(&full).await else {
            return Vec::new();
        };
        let now = unix_ms();
        idx.into_iter()
            .zip(found)
            .filter_map(|(i, bytes)| {
                let bytes = bytes?;
                // 8 bytes of fetch time (unix ms, big-endian), then the value.
                let (at, body) = bytes.split_first_chunk::<8>()?;
                let age = Duration::from_millis(now.saturating_sub(u64::from_be_bytes(*at)));
                let value = (self.decode)(body)?;
                (age < ttl).then_some((i, value, age))
            })
            .collect()
    }

    /// Stores what the vendor answered for `keys`, fresh for `ttl`.
    async fn put(&self, keys: &[K], found: &HashMap<K, V>, ttl: Duration)
    where
        K: Hash + Eq,
        V: Clone,
    {
        let at = unix_ms().to_be_bytes();
        let entries = keys
            .iter()
            .filter_map(|k| {
                let mut bytes = at.to_vec();
                bytes.extend((self.encode)(&found.get(k).cloned())?);
                Some((self.full_key(k)?, bytes))
            })
            .collect();
        self.redis.put_many(entries, ttl).await;
    }
}

/// Vendor calls one capability's cache makes at once unless configured.
pub const DEFAULT_CONCURRENT_FETCHES: usize = 2;

impl<K, V, E> CapabilityCache<K, V, E>
where
    K: BatchGroup + Hash + Eq + Clone + Send + Sync + 'static,
    V: Weigh + Clone + Send + Sync + 'static,
    E: Clone + Send + Sync + 'static,
{
    /// A cache holding at most `max_bytes` (estimated) under `policy`.
    pub fn new(policy: CachePolicy, max_bytes: u64) -> Arc<Self> {
        Self::configured(policy, max_bytes, DEFAULT_CONCURRENT_FETCHES, None)
    }

    /// Like [`CapabilityCache::new`], making at most `concurrent_fetches` vendor calls at once,
    /// backed by `second` when given.
    pub fn configured(
        policy: CachePolicy,
        max_bytes: u64,
        concurrent_fetches: usize,
        second: Option<SecondLevel<K, V>>,
    ) -> Arc<Self> {
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
            open: Mutex::new(HashMap::new()),
            slots: Arc::new(tokio::sync::Semaphore::new(concurrent_fetches.max(1))),
            next_batch: AtomicU64::new(0),
            second,
            stats: CacheStats::default(),
        })
    }

    /// Forgets `key` (e.g. after a webhook said it changed), here and in the second level.
    pub fn invalidate(&self, key: &K) {
        self.entries.invalidate(key);
        if let Some(full) = self.second.as_ref().and_then(|s| s.full_key(key)) {
            let redis = self.second.as_ref().map(|s| s.redis.clone());
            if let (Some(redis), Ok(rt)) = (redis, tokio::runtime::Handle::try_current()) {
                rt.spawn(async move { redis.delete(&[full]).await });
            }
        }
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
            // Nothing kept; concurrent misses are still coalesced and batched.
            return Ok((self.fetch_coalesced(keys, fetch, "off").await?, Vec::new()));
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

    /// Loads `keys` from the second level, then the rest from the vendor (its calls traced
    /// with `tags`), and caches both.
    async fn load<F, Fut>(
        self: &Arc<Self>,
        keys: Vec<K>,
        fetch: F,
        tags: CallTags,
    ) -> Result<HashMap<K, V>, E>
    where
        F: Fn(Vec<K>) -> Fut + Clone + Send + Sync + 'static,
        Fut: Future<Output = Result<HashMap<K, V>, E>> + Send + 'static,
    {
        let mut out = HashMap::new();
        let mut rest = keys;
        let keep = self.policy.enabled();
        if let Some(second) = self.second.as_ref().filter(|_| keep) {
            let now = Instant::now();
            let shared = second.get(&rest, self.policy.ttl).await;
            let mut taken = vec![false; rest.len()];
            for (i, value, age) in shared {
                taken[i] = true;
                let k = rest[i].clone();
                if let Some(v) = &value {
                    out.insert(k.clone(), v.clone());
                }
                let fetched = now.checked_sub(age).unwrap_or(now);
                self.entries.insert(k, Entry { value, fetched });
            }
            let mut taken = taken.into_iter();
            rest.retain(|_| !taken.next().unwrap_or(false));
        }
        if rest.is_empty() {
            return Ok(out);
        }
        let found = tagged(tags, fetch(rest.clone())).await?;
        if !keep {
            out.extend(found);
            return Ok(out);
        }
        let fetched = Instant::now();
        for k in &rest {
            self.entries.insert(
                k.clone(),
                Entry {
                    value: found.get(k).cloned(),
                    fetched,
                },
            );
        }
        if let Some(second) = &self.second {
            second.put(&rest, &found, self.policy.ttl).await;
        }
        out.extend(found);
        Ok(out)
    }

    /// A batch of `group` that waits for a fetch slot, taking other requests' keys meanwhile,
    /// then loads all of them in one call.
    fn open_batch<F, Fut>(
        self: &Arc<Self>,
        id: u64,
        group: K::Group,
        keys: Arc<Mutex<Vec<K>>>,
        fetch: F,
        tags: CallTags,
    ) -> SharedBatch<K, V, E>
    where
        F: Fn(Vec<K>) -> Fut + Clone + Send + Sync + 'static,
        Fut: Future<Output = Result<HashMap<K, V>, E>> + Send + 'static,
    {
        let this = self.clone();
        async move {
            let slot = this.slots.clone().acquire_owned().await;
            // Closed to joiners from here on.
            let batch_keys = {
                let mut open = this.open.lock().unwrap_or_else(|e| e.into_inner());
                if open.get(&group).is_some_and(|o| o.id == id) {
                    open.remove(&group);
                }
                std::mem::take(&mut *keys.lock().unwrap_or_else(|e| e.into_inner()))
            };
            let result = this.load(batch_keys, fetch, tags).await;
            drop(slot);
            this.in_flight
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .retain(|_, (b, _)| *b != id);
            result.map(Arc::new)
        }
        .boxed()
        .shared()
    }

    /// Fetches `keys`, joining fetches already in flight for some of them. `why` (`miss`,
    /// `refresh` or `off`) is told to the upstream calls' trace spans.
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
        // Lock order: in_flight, then open, then a batch's keys.
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
            // A request's own keys, by the request context their fetch is made in.
            let mut groups: HashMap<K::Group, Vec<K>> = HashMap::new();
            for k in own {
                groups.entry(k.group()).or_default().push(k);
            }
            let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
            for (group, ks) in groups {
                // Join the batch of this context waiting for a slot, if it has room.
                if let Some(o) = open.get(&group) {
                    let mut waiting = o.keys.lock().unwrap_or_else(|e| e.into_inner());
                    if waiting.len() + ks.len() <= MAX_JOINED_KEYS {
                        self.stats
                            .batched
                            .fetch_add(ks.len() as u64, Ordering::Relaxed);
                        waiting.extend(ks.iter().cloned());
                        for k in &ks {
                            flying.insert(k.clone(), (o.id, o.batch.clone()));
                        }
                        waits.push((ks, o.batch.clone()));
                        continue;
                    }
                }
                let id = self.next_batch.fetch_add(1, Ordering::Relaxed);
                let keys = Arc::new(Mutex::new(ks.clone()));
                let tags = CallTags {
                    cache: Some(why),
                    ..current_tags()
                };
                let batch = self.open_batch(id, group.clone(), keys.clone(), fetch.clone(), tags);
                for k in &ks {
                    flying.insert(k.clone(), (id, batch.clone()));
                }
                waits.push((ks, batch.clone()));
                open.insert(group, Open { id, keys, batch });
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
