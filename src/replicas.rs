//! What gateway replicas share, through an optional Redis (`[redis]`): a second-level cache
//! for catalogue answers (a value one replica fetched is a hit on the others), the persisted
//! query store (a query registered on one replica runs by hash on all), and the vendor quotas
//! (a vendor's published limit holds across every replica, not per replica).
//!
//! Replicas stay stateless: everything here is a cache or a counter that may vanish. When Redis
//! is unreachable each replica goes on alone (its own cache, its own quota limiter) and tries
//! Redis again a second later; no request waits longer than `timeout` for Redis.

use async_graphql::extensions::apollo_persisted_queries::{CacheStorage, LruCacheStorage};
use async_graphql::parser::types::ExecutableDocument;
use redis::aio::ConnectionManager;
use samlet_connector::http::Secret;
use samlet_connector::policy::{Quota, SharedQuota};
use serde::Deserialize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The `[redis]` section.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RedisConfig {
    /// The server, e.g. `"redis://redis:6379/0"` (write `${NAME}` if it carries a password).
    pub url: Secret,
    /// Prefix of every key, so several gateways (or environments) can share one server.
    #[serde(default = "default_prefix")]
    pub prefix: String,
    /// The longest a request waits for Redis before going on without it, e.g. `"50ms"`.
    #[serde(default = "default_timeout", with = "crate::config::duration")]
    #[schemars(schema_with = "crate::config::duration_schema")]
    pub timeout: Duration,
}

fn default_prefix() -> String {
    "samlet:".into()
}

fn default_timeout() -> Duration {
    Duration::from_millis(100)
}

/// Counts, for metrics and tests.
#[derive(Debug, Default)]
pub struct RedisStats {
    /// Second-level cache lookups that found a value.
    pub hits: AtomicU64,
    /// Lookups that found none.
    pub misses: AtomicU64,
    /// Commands that failed or timed out (the replica went on alone).
    pub errors: AtomicU64,
}

/// The connection to the shared Redis.
pub struct Redis {
    client: redis::Client,
    conn: tokio::sync::Mutex<Option<ConnectionManager>>,
    /// After a failed connect, when to try again.
    retry_at: Mutex<Option<Instant>>,
    prefix: String,
    timeout: Duration,
    quota_script: redis::Script,
    /// Counts.
    pub stats: RedisStats,
}

impl std::fmt::Debug for Redis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may carry a password: never printed.
        f.debug_struct("Redis")
            .field("prefix", &self.prefix)
            .finish()
    }
}

/// Generic cell rate algorithm, atomically in Redis, on Redis's own clock (replicas' clocks
/// may differ): reserves the next slot and answers how many microseconds to wait for it; a wait
/// longer than the caller will wait (ARGV[3]) reserves nothing.
const QUOTA_SCRIPT: &str = r#"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local max_wait = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]))
if not tat or tat < now then tat = now end
local wait = tat - tolerance - now
if wait < 0 then wait = 0 end
if wait > max_wait then return wait end
local next_tat = tat + interval
redis.call('SET', KEYS[1], string.format('%d', next_tat), 'PX', math.ceil((next_tat - now) / 1000) + 1000)
return wait
"#;

const RECONNECT_AFTER: Duration = Duration::from_secs(1);

impl Redis {
    /// A handle on the server at `config.url` (connected on first use).
    pub fn new(config: &RedisConfig) -> anyhow::Result<Arc<Redis>> {
        let client = redis::Client::open(config.url.expose()).map_err(|e| {
            // The parser's message does not echo the URL.
            anyhow::anyhow!("[redis] url: {e}")
        })?;
        Ok(Arc::new(Redis {
            client,
            conn: tokio::sync::Mutex::new(None),
            retry_at: Mutex::new(None),
            prefix: config.prefix.clone(),
            timeout: config.timeout,
            quota_script: redis::Script::new(QUOTA_SCRIPT),
            stats: RedisStats::default(),
        }))
    }

    /// `prefix` + `kind` + `:` + `key`.
    pub fn key(&self, kind: &str, key: &str) -> String {
        format!("{}{kind}:{key}", self.prefix)
    }

    /// A connection, unless Redis was unreachable less than a second ago.
    async fn conn(&self) -> Option<ConnectionManager> {
        if self
            .retry_at
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_some_and(|t| Instant::now() < t)
        {
            return None;
        }
        let mut slot = self.conn.lock().await;
        if let Some(c) = slot.as_ref() {
            return Some(c.clone());
        }
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(self.timeout)
            .set_response_timeout(self.timeout)
            .set_number_of_retries(0);
        match tokio::time::timeout(
            self.timeout * 2,
            ConnectionManager::new_with_config(self.client.clone(), config),
        )
        .await
        {
            Ok(Ok(c)) => {
                *slot = Some(c.clone());
                Some(c)
            }
            Ok(Err(e)) => {
                self.failed(&e.to_string());
                None
            }
            Err(_) => {
                self.failed("connect timed out");
                None
            }
        }
    }

    fn failed(&self, why: &str) {
        self.stats.errors.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(
            error = why,
            "Redis unavailable; this replica goes on alone for now"
        );
        *self.retry_at.lock().unwrap_or_else(|e| e.into_inner()) =
            Some(Instant::now() + RECONNECT_AFTER);
    }

    /// Runs `cmd` within the timeout; `None` (and a pause before the next try) on failure.
    async fn run<T: redis::FromRedisValue>(&self, cmd: redis::Cmd) -> Option<T> {
        let mut c = self.conn().await?;
        match tokio::time::timeout(self.timeout, cmd.query_async::<T>(&mut c)).await {
            Ok(Ok(v)) => Some(v),
            Ok(Err(e)) => {
                self.failed(&e.to_string());
                None
            }
            Err(_) => {
                self.failed("command timed out");
                None
            }
        }
    }

    /// The values at `keys` (full keys), `None` for each key Redis does not hold; `None`
    /// altogether when Redis did not answer.
    pub async fn get_many(&self, keys: &[String]) -> Option<Vec<Option<Vec<u8>>>> {
        if keys.is_empty() {
            return Some(Vec::new());
        }
        let mut cmd = redis::cmd("MGET");
        for k in keys {
            cmd.arg(k);
        }
        let found: Vec<Option<Vec<u8>>> = self.run(cmd).await?;
        for f in &found {
            let counter = if f.is_some() {
                &self.stats.hits
            } else {
                &self.stats.misses
            };
            counter.fetch_add(1, Ordering::Relaxed);
        }
        Some(found)
    }

    /// Stores `entries` (full keys) for `ttl`, in one round trip.
    pub async fn put_many(&self, entries: Vec<(String, Vec<u8>)>, ttl: Duration) {
        if entries.is_empty() || ttl.is_zero() {
            return;
        }
        let Some(mut c) = self.conn().await else {
            return;
        };
        let mut pipe = redis::pipe();
        let ms = ttl.as_millis().max(1) as u64;
        for (k, v) in entries {
            pipe.cmd("SET").arg(k).arg(v).arg("PX").arg(ms).ignore();
        }
        match tokio::time::timeout(self.timeout, pipe.query_async::<()>(&mut c)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => self.failed(&e.to_string()),
            Err(_) => self.failed("command timed out"),
        }
    }

    /// Deletes `keys` (full keys).
    pub async fn delete(&self, keys: &[String]) {
        if keys.is_empty() {
            return;
        }
        let mut cmd = redis::cmd("DEL");
        for k in keys {
            cmd.arg(k);
        }
        let _: Option<i64> = self.run(cmd).await;
    }
}

#[async_trait::async_trait]
impl SharedQuota for Redis {
    async fn reserve(&self, upstream: &str, quota: Quota, max_wait: Duration) -> Option<Duration> {
        let interval_us = 1_000_000 / u64::from(quota.per_second.get()).max(1);
        let tolerance_us = interval_us * u64::from(quota.burst.get().saturating_sub(1));
        let max_wait_us = u64::try_from(max_wait.as_micros()).unwrap_or(u64::MAX);
        let mut c = self.conn().await?;
        let mut inv = self.quota_script.key(self.key("quota", upstream));
        inv.arg(interval_us).arg(tolerance_us).arg(max_wait_us);
        match tokio::time::timeout(self.timeout, inv.invoke_async::<u64>(&mut c)).await {
            Ok(Ok(wait_us)) => Some(Duration::from_micros(wait_us)),
            Ok(Err(e)) => {
                self.failed(&e.to_string());
                None
            }
            Err(_) => {
                self.failed("command timed out");
                None
            }
        }
    }
}

/// How long Redis keeps a registered persisted query after its registration.
const PERSISTED_QUERY_TTL: Duration = Duration::from_secs(24 * 3600);

/// The automatic-persisted-query store: parsed documents by hash, kept in this replica (the most
/// recent 1,024) and, with a shared Redis, for a day there, so a query registered on one
/// replica runs by hash on every other.
#[derive(Clone)]
pub struct PersistedQueries {
    local: LruCacheStorage,
    redis: Option<Arc<Redis>>,
}

impl PersistedQueries {
    /// A store, shared through `redis` when given.
    pub fn new(redis: Option<Arc<Redis>>) -> PersistedQueries {
        PersistedQueries {
            local: LruCacheStorage::new(1024),
            redis,
        }
    }
}

#[async_trait::async_trait]
impl CacheStorage for PersistedQueries {
    async fn get(&self, key: String) -> Option<ExecutableDocument> {
        if let Some(doc) = self.local.get(key.clone()).await {
            return Some(doc);
        }
        let redis = self.redis.as_ref()?;
        let stored = redis.get_many(&[redis.key("apq", &key)]).await?.pop()??;
        let doc: ExecutableDocument = serde_json::from_slice(&stored).ok()?;
        self.local.set(key, doc.clone()).await;
        Some(doc)
    }

    async fn set(&self, key: String, doc: ExecutableDocument) {
        if let Some(redis) = &self.redis {
            if let Ok(bytes) = serde_json::to_vec(&doc) {
                redis
                    .put_many(vec![(redis.key("apq", &key), bytes)], PERSISTED_QUERY_TTL)
                    .await;
            }
        }
        self.local.set(key, doc).await;
    }
}
