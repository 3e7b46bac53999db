//! Shared upstream HTTP plumbing: one pooled client per connector instance, deadlines, typed
//! errors for transport failures and HTTP statuses, retries for idempotent reads that honour
//! `Retry-After`, an OAuth token cache, and a [`Secret`] type that never prints itself.

use crate::error::{ConnectorError, ErrorKind};
use crate::ids::ConnectorName;
use crate::policy::{Breaker, BreakerPolicy, BreakerState, Quota};
use bytes::Bytes;
use governor::clock::{Clock, DefaultClock};
use governor::state::{InMemoryState, NotKeyed};
use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::StatusCode;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A credential. `Debug` and `Display` print `[redacted]`; only [`Secret::expose`] reveals it.
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a credential.
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }
    /// The credential itself, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl schemars::JsonSchema for Secret {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Secret".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "A credential. Write `${NAME}` to read it from the environment variable NAME rather than keeping it in the file.",
        })
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// How the gateway treats one upstream: deadlines, retries, breaker, bulkhead and quota.
#[derive(Debug, Clone)]
pub struct UpstreamPolicy {
    /// Deadline for one attempt, from sending the request to the last byte of the body.
    pub timeout: Duration,
    /// Budget for a whole call: every attempt, back-off and wait. Nothing outlives it.
    pub deadline: Duration,
    /// Extra attempts for idempotent reads after a retryable failure.
    pub retries: u32,
    /// First back-off; doubles per attempt, with jitter.
    pub backoff: Duration,
    /// The longest `Retry-After` (or quota wait) the gateway waits for inside one call; a
    /// longer one fails the call as rate limited at once, carrying the wait.
    pub max_retry_after: Duration,
    /// Calls in flight to this upstream at most (the bulkhead); further calls wait for a slot
    /// within their deadline.
    pub max_concurrent: usize,
    /// The vendor's request quota, if it publishes one.
    pub quota: Option<Quota>,
    /// When to stop calling a failing upstream.
    pub breaker: BreakerPolicy,
    /// Where the gateway watches this upstream (set by the gateway; `None` in tests).
    pub monitor: Option<Arc<crate::telemetry::UpstreamMonitor>>,
    /// The quota store shared with the other replicas, if any (set by the gateway); `quota`
    /// then holds across all of them.
    pub shared_quota: Option<Arc<dyn crate::policy::SharedQuota>>,
}

impl Default for UpstreamPolicy {
    fn default() -> Self {
        UpstreamPolicy {
            timeout: Duration::from_secs(10),
            deadline: Duration::from_secs(15),
            retries: 2,
            backoff: Duration::from_millis(50),
            max_retry_after: Duration::from_secs(2),
            max_concurrent: 64,
            quota: None,
            breaker: BreakerPolicy::default(),
            monitor: None,
            shared_quota: None,
        }
    }
}

/// A whole upstream answer: status, headers and body.
#[derive(Debug, Clone)]
pub struct Reply {
    /// HTTP status.
    pub status: StatusCode,
    /// Response headers.
    pub headers: HeaderMap,
    /// The body, fully read.
    pub body: Bytes,
}

impl Reply {
    /// Decodes the body as JSON. A body that does not fit `T` becomes an
    /// [`ErrorKind::InvalidResponse`] naming `what` and the position of the fault.
    pub fn json<T: DeserializeOwned>(
        &self,
        connector: &ConnectorName,
        what: &str,
    ) -> Result<T, ConnectorError> {
        serde_json::from_slice(&self.body).map_err(|e| {
            ConnectorError::new(
                ErrorKind::InvalidResponse,
                connector,
                format!(
                    "{what}: malformed body at line {} column {}: {e}",
                    e.line(),
                    e.column()
                ),
            )
        })
    }

    /// The `Retry-After` header as a duration (seconds form only; HTTP dates are rare in APIs).
    pub fn retry_after(&self) -> Option<Duration> {
        retry_after(&self.headers)
    }

    /// The body as text, cut to `max` characters, for error messages.
    pub fn snippet(&self, max: usize) -> String {
        String::from_utf8_lossy(&self.body)
            .chars()
            .take(max)
            .collect()
    }
}

/// Parses `Retry-After: <seconds>`.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let v = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    v.parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(Duration::from_secs_f64)
}

/// The error kind an HTTP status stands for.
pub fn kind_for_status(status: StatusCode) -> ErrorKind {
    match status.as_u16() {
        401 | 403 => ErrorKind::Unauthorized,
        404 | 410 => ErrorKind::NotFound,
        409 | 412 => ErrorKind::Conflict,
        429 => ErrorKind::RateLimited,
        408 | 504 => ErrorKind::Timeout,
        500..=599 => ErrorKind::Unavailable,
        _ => ErrorKind::BadRequest,
    }
}

/// An error for a non-success reply, with the vendor's own message (already extracted from its
/// error body by the caller) and any `Retry-After`.
pub fn status_error(
    connector: &ConnectorName,
    reply: &Reply,
    vendor_message: &str,
) -> ConnectorError {
    ConnectorError::new(
        kind_for_status(reply.status),
        connector,
        format!("HTTP {}: {vendor_message}", reply.status.as_u16()),
    )
    .with_retry_after(reply.retry_after())
}

/// One connector instance's HTTP client: pooled, with keep-alive, deadlines, retries, and the
/// per-upstream breaker, bulkhead and quota. Clones share all of it.
#[derive(Debug, Clone)]
pub struct Upstream {
    name: ConnectorName,
    client: reqwest::Client,
    policy: UpstreamPolicy,
    guard: Arc<Guard>,
}

type Limiter = governor::RateLimiter<NotKeyed, InMemoryState, DefaultClock>;

impl Guard {
    pub(crate) fn stats(&self) -> UpstreamStats {
        let breaker = self
            .breaker
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .state(Instant::now());
        UpstreamStats {
            breaker,
            in_flight: self.slots - self.bulkhead.available_permits(),
            calls: self.calls.load(Ordering::Relaxed),
            failures: self.failures.load(Ordering::Relaxed),
            quota_waits: self.quota_waits.load(Ordering::Relaxed),
        }
    }
}

/// State shared by every call to one upstream.
#[derive(Debug)]
pub(crate) struct Guard {
    breaker: Mutex<Breaker>,
    bulkhead: tokio::sync::Semaphore,
    slots: usize,
    limiter: Option<Limiter>,
    calls: AtomicU64,
    failures: AtomicU64,
    quota_waits: AtomicU64,
}

/// What an upstream has been doing, for metrics and dashboards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UpstreamStats {
    /// The breaker's state now.
    pub breaker: BreakerState,
    /// Calls in flight now.
    pub in_flight: usize,
    /// Attempts that went out to the vendor.
    pub calls: u64,
    /// Attempts that failed (unavailable, timed out, rate limited) or were refused by the breaker.
    pub failures: u64,
    /// Attempts that waited for (or were refused by) the quota.
    pub quota_waits: u64,
}

impl Upstream {
    /// A client for connector `name` under `policy`.
    pub fn new(name: ConnectorName, policy: UpstreamPolicy) -> Result<Upstream, ConnectorError> {
        let client = reqwest::Client::builder()
            .timeout(policy.timeout)
            .connect_timeout(policy.timeout.min(Duration::from_secs(5)))
            .pool_idle_timeout(Duration::from_secs(60))
            .user_agent(concat!("samlet/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| {
                ConnectorError::new(ErrorKind::Unavailable, &name, "cannot build HTTP client")
                    .with_source(e)
            })?;
        let limiter = policy.quota.map(|q| {
            governor::RateLimiter::direct(
                governor::Quota::per_second(q.per_second).allow_burst(q.burst),
            )
        });
        let guard = Arc::new(Guard {
            breaker: Mutex::new(Breaker::new(policy.breaker)),
            bulkhead: tokio::sync::Semaphore::new(policy.max_concurrent.max(1)),
            slots: policy.max_concurrent.max(1),
            limiter,
            calls: AtomicU64::new(0),
            failures: AtomicU64::new(0),
            quota_waits: AtomicU64::new(0),
        });
        if let Some(m) = &policy.monitor {
            m.register(&guard);
        }
        Ok(Upstream {
            name,
            client,
            policy,
            guard,
        })
    }

    /// What this upstream has been doing.
    pub fn stats(&self) -> UpstreamStats {
        let breaker = self
            .guard
            .breaker
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .state(Instant::now());
        UpstreamStats {
            breaker,
            in_flight: self.policy.max_concurrent.max(1) - self.guard.bulkhead.available_permits(),
            calls: self.guard.calls.load(Ordering::Relaxed),
            failures: self.guard.failures.load(Ordering::Relaxed),
            quota_waits: self.guard.quota_waits.load(Ordering::Relaxed),
        }
    }

    /// The connector instance's name, for error construction.
    pub fn name(&self) -> &ConnectorName {
        &self.name
    }

    /// The policy in force.
    pub fn policy(&self) -> &UpstreamPolicy {
        &self.policy
    }

    /// Sends the request `build` makes and reads the whole body. Transport failures become
    /// typed errors. When `idempotent`, retryable failures (transport errors, 429, 5xx) are
    /// retried with exponential back-off, honouring `Retry-After` up to the policy's bound.
    /// Non-success statuses that are not retried are returned as a [`Reply`] for the vendor
    /// client to turn into its own error message (see [`status_error`]).
    pub async fn send(
        &self,
        idempotent: bool,
        build: impl Fn(&reqwest::Client) -> reqwest::RequestBuilder,
    ) -> Result<Reply, ConnectorError> {
        match tokio::time::timeout(self.policy.deadline, self.attempts(idempotent, &build)).await {
            Ok(outcome) => outcome,
            Err(_) => Err(ConnectorError::new(
                ErrorKind::Timeout,
                &self.name,
                format!(
                    "no answer within the call's deadline of {:?}",
                    self.policy.deadline
                ),
            )),
        }
    }

    async fn attempts(
        &self,
        idempotent: bool,
        build: &impl Fn(&reqwest::Client) -> reqwest::RequestBuilder,
    ) -> Result<Reply, ConnectorError> {
        let attempts = if idempotent {
            self.policy.retries + 1
        } else {
            1
        };
        let mut backoff = self.policy.backoff;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let outcome = self.guarded(build).await;
            let last = attempt >= attempts;
            let wait = match &outcome {
                Ok(reply) if reply.status.is_success() || last => return outcome,
                Ok(reply) => {
                    let kind = kind_for_status(reply.status);
                    if !matches!(
                        kind,
                        ErrorKind::RateLimited | ErrorKind::Unavailable | ErrorKind::Timeout
                    ) {
                        return outcome;
                    }
                    match reply.retry_after() {
                        Some(after) if after > self.policy.max_retry_after => return outcome,
                        Some(after) => after,
                        None => jitter(backoff, attempt),
                    }
                }
                // A refusal by the breaker or the quota carries its wait and is final here.
                Err(e) if e.is_retryable() && !last && e.retry_after.is_none() => {
                    jitter(backoff, attempt)
                }
                Err(_) => return outcome,
            };
            tracing::debug!(connector = %self.name, attempt, ?wait, "retrying upstream call");
            tokio::time::sleep(wait).await;
            backoff *= 2;
        }
    }

    /// One attempt through the breaker, the bulkhead and the quota.
    async fn guarded(
        &self,
        build: &impl Fn(&reqwest::Client) -> reqwest::RequestBuilder,
    ) -> Result<Reply, ConnectorError> {
        let admitted = self
            .guard
            .breaker
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .admit(Instant::now());
        if let Err(reopens_in) = admitted {
            self.guard.failures.fetch_add(1, Ordering::Relaxed);
            return Err(ConnectorError::new(
                ErrorKind::Unavailable,
                &self.name,
                "circuit open after repeated failures; not calling the upstream",
            )
            .with_retry_after(Some(reopens_in)));
        }
        let Ok(_permit) = self.guard.bulkhead.acquire().await else {
            return Err(ConnectorError::new(
                ErrorKind::Unavailable,
                &self.name,
                "upstream closed",
            ));
        };
        // Across replicas when a shared store answers; else this replica's own limiter.
        let shared_wait = match (&self.policy.shared_quota, self.policy.quota) {
            (Some(shared), Some(q)) => {
                shared
                    .reserve(self.name.as_str(), q, self.policy.max_retry_after)
                    .await
            }
            _ => None,
        };
        if let Some(wait) = shared_wait {
            if !wait.is_zero() {
                self.guard.quota_waits.fetch_add(1, Ordering::Relaxed);
                if wait > self.policy.max_retry_after {
                    self.guard
                        .breaker
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .release_probe();
                    return Err(ConnectorError::new(
                        ErrorKind::RateLimited,
                        &self.name,
                        "the replicas' shared quota for this upstream is used up",
                    )
                    .with_retry_after(Some(wait)));
                }
                tokio::time::sleep(wait).await;
            }
        } else if let Some(limiter) = &self.guard.limiter {
            if let Err(not_until) = limiter.check() {
                self.guard.quota_waits.fetch_add(1, Ordering::Relaxed);
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                if wait > self.policy.max_retry_after {
                    // Not the vendor's fault: release a probe slot without judging the vendor.
                    self.guard
                        .breaker
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .release_probe();
                    return Err(ConnectorError::new(
                        ErrorKind::RateLimited,
                        &self.name,
                        "the gateway's quota for this upstream is used up",
                    )
                    .with_retry_after(Some(wait)));
                }
                limiter.until_ready().await;
            }
        }
        self.guard.calls.fetch_add(1, Ordering::Relaxed);
        let started = Instant::now();
        let outcome = self.once(build).await;
        let vendor_failed = match &outcome {
            Ok(reply) => matches!(
                kind_for_status(reply.status),
                ErrorKind::Unavailable | ErrorKind::Timeout
            ),
            Err(e) => matches!(e.kind, ErrorKind::Unavailable | ErrorKind::Timeout),
        };
        let rate_limited = matches!(&outcome, Ok(r) if r.status == StatusCode::TOO_MANY_REQUESTS);
        if vendor_failed || rate_limited {
            self.guard.failures.fetch_add(1, Ordering::Relaxed);
        }
        if let Some(m) = &self.policy.monitor {
            m.record(started.elapsed(), vendor_failed || rate_limited);
        }
        let mut breaker = self.guard.breaker.lock().unwrap_or_else(|e| e.into_inner());
        if vendor_failed {
            breaker.on_failure(Instant::now());
        } else {
            breaker.on_success();
        }
        outcome
    }

    async fn once(
        &self,
        build: &impl Fn(&reqwest::Client) -> reqwest::RequestBuilder,
    ) -> Result<Reply, ConnectorError> {
        let request = build(&self.client)
            .build()
            .map_err(|e| self.transport_error(e))?;
        if let (Some(m), Some(host)) = (&self.policy.monitor, request.url().host_str()) {
            m.saw_authority(host, request.url().port_or_known_default().unwrap_or(443));
        }
        let resp = self
            .client
            .execute(request)
            .await
            .map_err(|e| self.transport_error(e))?;
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = resp.bytes().await.map_err(|e| self.transport_error(e))?;
        Ok(Reply {
            status,
            headers,
            body,
        })
    }

    fn transport_error(&self, e: reqwest::Error) -> ConnectorError {
        // reqwest errors print the URL, which may carry query parameters; keep only the kind.
        let (kind, what) = if e.is_timeout() {
            (
                ErrorKind::Timeout,
                format!("no answer within {:?}", self.policy.timeout),
            )
        } else if e.is_connect() {
            (ErrorKind::Unavailable, "cannot connect".to_owned())
        } else if e.is_body() || e.is_decode() {
            (
                ErrorKind::Unavailable,
                "connection broke while reading the body".to_owned(),
            )
        } else {
            (ErrorKind::Unavailable, "request failed".to_owned())
        };
        ConnectorError::new(kind, &self.name, what).with_source(e.without_url())
    }
}

/// `base` varied by up to a quarter either way, so retries from many callers spread out.
fn jitter(base: Duration, attempt: u32) -> Duration {
    use std::hash::{BuildHasher, Hasher};
    let nanos = base.as_nanos() as u64;
    if nanos == 0 {
        return base;
    }
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(attempt);
    let spread = h.finish() % (nanos / 2 + 1);
    Duration::from_nanos(nanos - nanos / 4 + spread)
}

/// An access token and when it stops working.
#[derive(Debug, Clone)]
pub struct Token {
    /// The bearer token.
    pub access_token: Secret,
    /// When to stop using it (the vendor's expiry less a safety margin).
    pub expires_at: Instant,
    /// Vendors such as Salesforce return the base URL for API calls with the token.
    pub instance_url: Option<String>,
}

/// Caches one OAuth token and refreshes it shortly before it expires. Concurrent callers that
/// find it stale wait for one refresh instead of each fetching a token.
#[derive(Debug, Default)]
pub struct TokenCache {
    token: tokio::sync::Mutex<Option<Token>>,
}

impl TokenCache {
    /// The cached token, or a new one from `fetch`.
    pub async fn get<F, Fut>(&self, fetch: F) -> Result<Token, ConnectorError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Token, ConnectorError>>,
    {
        let mut slot = self.token.lock().await;
        if let Some(t) = slot.as_ref().filter(|t| t.expires_at > Instant::now()) {
            return Ok(t.clone());
        }
        let fresh = fetch().await?;
        *slot = Some(fresh.clone());
        Ok(fresh)
    }

    /// Forgets the token, e.g. after the vendor answered 401 to it.
    pub async fn invalidate(&self) {
        *self.token.lock().await = None;
    }
}

/// Converts an OAuth `expires_in` (seconds) into an expiry instant with a one-minute margin
/// (or a tenth of the lifetime for short-lived tokens).
pub fn token_expiry(expires_in_secs: u64) -> Instant {
    let life = Duration::from_secs(expires_in_secs);
    let margin = Duration::from_secs(60).min(life / 10);
    Instant::now() + life - margin
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?} {s}"), "[redacted] [redacted]");
        assert_eq!(s.expose(), "hunter2");
    }

    #[test]
    fn statuses_map_to_kinds() {
        assert_eq!(
            kind_for_status(StatusCode::UNAUTHORIZED),
            ErrorKind::Unauthorized
        );
        assert_eq!(
            kind_for_status(StatusCode::TOO_MANY_REQUESTS),
            ErrorKind::RateLimited
        );
        assert_eq!(
            kind_for_status(StatusCode::BAD_GATEWAY),
            ErrorKind::Unavailable
        );
        assert_eq!(
            kind_for_status(StatusCode::GATEWAY_TIMEOUT),
            ErrorKind::Timeout
        );
        assert_eq!(kind_for_status(StatusCode::CONFLICT), ErrorKind::Conflict);
        assert_eq!(
            kind_for_status(StatusCode::UNPROCESSABLE_ENTITY),
            ErrorKind::BadRequest
        );
    }

    #[test]
    fn retry_after_reads_seconds() {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, "3".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_secs(3)));
        h.insert(RETRY_AFTER, "soon".parse().unwrap());
        assert_eq!(retry_after(&h), None);
    }
}
