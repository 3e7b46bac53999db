//! Plumbing shared by the vendor simulators: each simulator is a real HTTP server on a free
//! loopback port that speaks its vendor's dialect; this module adds what all of them need
//! around the vendor's router: request counting (to prove batching), and fault injection
//! (latency, server errors, rate limiting, malformed and truncated bodies, hung requests, dropped
//! connections, and writes whose answer is lost) for resilience tests.
//!
//! A simulator supplies its vendor's error body through [`VendorErrors`], so an injected 503
//! looks exactly like the vendor's own.
//!
//! [`odata`] holds the OData v4 `$filter` language that the OData simulators share.

pub mod odata;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;

/// Builds the vendor's own error response for an HTTP status and message.
pub type VendorErrors = fn(StatusCode, &str) -> Response;

/// Faults to inject into the next requests. Counters count down per request.
#[derive(Debug, Clone, Default)]
pub struct FaultPlan {
    /// Added to every response.
    pub latency: Duration,
    /// Up to this much more, varied per request.
    pub jitter: Duration,
    /// Answer the next N requests with this status (e.g. 500, 503).
    pub fail_next: u32,
    /// The status for `fail_next` (503 if unset).
    pub fail_status: Option<StatusCode>,
    /// Answer the next N requests with 429 and `Retry-After: retry_after_secs`.
    pub rate_limit_next: u32,
    /// The `Retry-After` for rate-limited answers.
    pub retry_after_secs: u32,
    /// Answer the next N requests with 200 and a truncated JSON body.
    pub malformed_next: u32,
    /// Never answer the next N requests (the client must time out).
    pub hang_next: u32,
    /// Drop the connection of the next N requests without answering (the client sees the
    /// connection closed before any response).
    pub reset_next: u32,
    /// Answer the next N requests with 200, a `Content-Length` of the whole body, and only the
    /// first half of it before the connection closes.
    pub truncate_next: u32,
    /// Carry out the next N writes (any method but GET and HEAD), then drop the connection
    /// instead of answering: the effect is committed, the client never hears of it.
    pub lose_next: u32,
    /// Besides the counted faults: answer this share of requests (0.0 to 1.0) with
    /// `fail_status`, chosen pseudo-randomly per request (for soak runs).
    pub fail_ratio: f64,
    /// Besides the counted faults: drop the connection of this share of requests (0.0 to 1.0)
    /// without answering.
    pub reset_ratio: f64,
    /// Besides the counted faults: carry out this share of writes (0.0 to 1.0), then drop the
    /// connection instead of answering.
    pub lose_ratio: f64,
    /// Paths (prefixes) the faults apply to; empty for all paths. Token endpoints are usually
    /// exempted by the test.
    pub only_paths: Vec<String>,
}

/// The most `traceparent` headers a simulator remembers (the latest ones).
pub const MAX_TRACEPARENTS: usize = 1024;

/// What a simulator has seen.
#[derive(Debug, Default)]
pub struct SimStats {
    total: AtomicU64,
    injected: AtomicU64,
    by_route: Mutex<HashMap<String, u64>>,
    traceparents: Mutex<std::collections::VecDeque<(String, String)>>,
}

impl SimStats {
    /// Requests served since start or the last [`SimStats::reset`].
    pub fn total(&self) -> u64 {
        self.total.load(Ordering::Relaxed)
    }

    /// Requests answered with an injected fault (latency alone does not count) since start or
    /// the last [`SimStats::reset`].
    pub fn injected(&self) -> u64 {
        self.injected.load(Ordering::Relaxed)
    }

    /// Requests whose `METHOD path` starts with `prefix` (e.g. `"GET /api/rest/v1/products"`).
    pub fn count(&self, prefix: &str) -> u64 {
        let map = self.by_route.lock().unwrap_or_else(|e| e.into_inner());
        map.iter()
            .filter(|(k, _)| k.starts_with(prefix))
            .map(|(_, v)| v)
            .sum()
    }

    /// Every `METHOD path` seen, with counts.
    pub fn routes(&self) -> HashMap<String, u64> {
        self.by_route
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The W3C `traceparent` headers requests carried, with their `METHOD path`, oldest first
    /// (the latest [`MAX_TRACEPARENTS`] since start or the last [`SimStats::reset`]).
    pub fn traceparents(&self) -> Vec<(String, String)> {
        self.traceparents
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .cloned()
            .collect()
    }

    /// Forgets all counts.
    pub fn reset(&self) {
        self.total.store(0, Ordering::Relaxed);
        self.injected.store(0, Ordering::Relaxed);
        self.by_route
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        self.traceparents
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    fn record_traceparent(&self, route: &str, value: &str) {
        let mut seen = self.traceparents.lock().unwrap_or_else(|e| e.into_inner());
        if seen.len() >= MAX_TRACEPARENTS {
            seen.pop_front();
        }
        seen.push_back((route.to_owned(), value.to_owned()));
    }

    fn record(&self, key: String) {
        self.total.fetch_add(1, Ordering::Relaxed);
        *self
            .by_route
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(key)
            .or_default() += 1;
    }
}

/// Controls shared by a running simulator and its test.
#[derive(Debug, Clone, Default)]
pub struct SimControl {
    /// Request counts.
    pub stats: Arc<SimStats>,
    plan: Arc<Mutex<FaultPlan>>,
}

impl SimControl {
    /// Replaces the fault plan.
    pub fn set_faults(&self, plan: FaultPlan) {
        *self.plan.lock().unwrap_or_else(|e| e.into_inner()) = plan;
    }

    /// Removes every fault.
    pub fn clear_faults(&self) {
        self.set_faults(FaultPlan::default());
    }

    /// Takes the fault for one request to `path` (a write unless GET or HEAD), counting down
    /// the plan.
    fn next_fault(&self, path: &str, write: bool, seq: u64) -> (Duration, Option<Fault>) {
        let mut plan = self.plan.lock().unwrap_or_else(|e| e.into_inner());
        let jitter = if plan.jitter.is_zero() {
            Duration::ZERO
        } else {
            let nanos = plan.jitter.as_nanos() as u64;
            Duration::from_nanos(crate_mix(seq) % nanos.max(1))
        };
        let delay = plan.latency + jitter;
        if !plan.only_paths.is_empty()
            && !plan.only_paths.iter().any(|p| path.starts_with(p.as_str()))
        {
            return (delay, None);
        }
        let status = plan.fail_status.unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
        // A pseudo-random draw in [0, 1) per request, for the ratios.
        let draw = (crate_mix(seq ^ 0xFA17) >> 11) as f64 / (1u64 << 53) as f64;
        let fault = if plan.hang_next > 0 {
            plan.hang_next -= 1;
            Some(Fault::Hang)
        } else if plan.reset_next > 0 {
            plan.reset_next -= 1;
            Some(Fault::Reset)
        } else if write && plan.lose_next > 0 {
            plan.lose_next -= 1;
            Some(Fault::Lose)
        } else if plan.fail_next > 0 {
            plan.fail_next -= 1;
            Some(Fault::Status(status))
        } else if plan.rate_limit_next > 0 {
            plan.rate_limit_next -= 1;
            Some(Fault::RateLimited(plan.retry_after_secs))
        } else if plan.malformed_next > 0 {
            plan.malformed_next -= 1;
            Some(Fault::Malformed)
        } else if plan.truncate_next > 0 {
            plan.truncate_next -= 1;
            Some(Fault::Truncated)
        } else if draw < plan.fail_ratio {
            Some(Fault::Status(status))
        } else if draw < plan.fail_ratio + plan.reset_ratio {
            Some(Fault::Reset)
        } else if write && draw < plan.fail_ratio + plan.reset_ratio + plan.lose_ratio {
            Some(Fault::Lose)
        } else {
            None
        };
        if fault.is_some() {
            self.stats.injected.fetch_add(1, Ordering::Relaxed);
        }
        (delay, fault)
    }
}

fn crate_mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z ^ (z >> 31)
}

enum Fault {
    Status(StatusCode),
    RateLimited(u32),
    Malformed,
    Truncated,
    Hang,
    Reset,
    Lose,
}

/// The connection a request came on, so a fault can drop it: a second handle on the socket
/// (see [`SimServer::start`]).
#[derive(Clone)]
struct Conn(Option<Arc<socket2::Socket>>);

impl
    axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, tokio::net::TcpListener>>
    for Conn
{
    fn connect_info(stream: axum::serve::IncomingStream<'_, tokio::net::TcpListener>) -> Conn {
        Conn(
            socket2::SockRef::from(stream.io())
                .try_clone()
                .ok()
                .map(Arc::new),
        )
    }
}

impl Conn {
    /// Closes the connection at once with a TCP reset, answering nothing.
    fn reset(&self) {
        if let Some(s) = &self.0 {
            // Linger 0: the close that follows sends RST instead of a graceful FIN.
            let _ = s.set_linger(Some(Duration::ZERO));
            let _ = s.shutdown(std::net::Shutdown::Both);
        }
    }
}

/// A response that never completes: the connection is already dropped under it.
fn dropped() -> Response {
    Response::new(Body::from_stream(futures::stream::pending::<
        Result<bytes::Bytes, std::io::Error>,
    >()))
}

#[derive(Clone)]
struct FaultState {
    control: SimControl,
    errors: VendorErrors,
}

async fn fault_layer(State(state): State<FaultState>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_owned();
    let write = !matches!(*req.method(), Method::GET | Method::HEAD);
    let route = format!("{} {}", req.method(), path);
    if let Some(tp) = req
        .headers()
        .get("traceparent")
        .and_then(|v| v.to_str().ok())
    {
        state.control.stats.record_traceparent(&route, tp);
    }
    state.control.stats.record(route);
    let seq = state.control.stats.total();
    let (delay, fault) = state.control.next_fault(&path, write, seq);
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let conn = req
        .extensions()
        .get::<ConnectInfo<Conn>>()
        .map(|c| c.0.clone());
    match fault {
        None => next.run(req).await,
        Some(Fault::Status(status)) => {
            (state.errors)(status, "injected fault: the service is unavailable")
        }
        Some(Fault::RateLimited(secs)) => {
            let mut resp = (state.errors)(
                StatusCode::TOO_MANY_REQUESTS,
                "injected fault: rate limit exceeded",
            );
            resp.headers_mut()
                .insert("retry-after", HeaderValue::from(secs));
            resp
        }
        Some(Fault::Malformed) => {
            let resp = next.run(req).await;
            let (mut parts, _) = resp.into_parts();
            parts.headers.remove("content-length");
            Response::from_parts(parts, Body::from(r#"{"truncated": [{"id": "#))
        }
        Some(Fault::Truncated) => {
            let resp = next.run(req).await;
            let (mut parts, body) = resp.into_parts();
            let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
                return dropped();
            };
            // Announce the whole body, send half, then end the stream with an error: the
            // server closes the connection mid-body.
            parts.status = StatusCode::OK;
            parts
                .headers
                .insert("content-length", HeaderValue::from(bytes.len()));
            let half = bytes.slice(..bytes.len() / 2);
            let chunks = futures::stream::iter([
                Ok(half),
                Err(std::io::Error::other("injected fault: truncated body")),
            ]);
            Response::from_parts(parts, Body::from_stream(chunks))
        }
        Some(Fault::Hang) => {
            // Long enough for any client deadline; the server's shutdown ends it.
            tokio::time::sleep(Duration::from_secs(3600)).await;
            StatusCode::GATEWAY_TIMEOUT.into_response()
        }
        Some(Fault::Reset) => {
            if let Some(c) = conn {
                c.reset();
            }
            dropped()
        }
        Some(Fault::Lose) => {
            // The vendor carries the write out; the answer never arrives.
            let _ = next.run(req).await;
            if let Some(c) = conn {
                c.reset();
            }
            dropped()
        }
    }
}

/// A running simulator.
#[derive(Debug)]
pub struct SimServer {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Counts and faults.
    pub control: SimControl,
    shutdown: watch::Sender<bool>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl SimServer {
    /// Serves `router` on `127.0.0.1:port` (0 for a free port), wrapped in request counting
    /// and fault injection that answers with `errors`.
    pub async fn start(
        router: Router,
        errors: VendorErrors,
        port: u16,
    ) -> std::io::Result<SimServer> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        let addr = listener.local_addr()?;
        let control = SimControl::default();
        let app = router.layer(middleware::from_fn_with_state(
            FaultState {
                control: control.clone(),
                errors,
            },
            fault_layer,
        ));
        let (shutdown, mut rx) = watch::channel(false);
        let task = tokio::spawn(async move {
            let stop = async move {
                let _ = rx.wait_for(|s| *s).await;
            };
            // Each request carries a handle on its connection, so a fault can drop it.
            let app = app.into_make_service_with_connect_info::<Conn>();
            if let Err(e) = axum::serve(listener, app)
                .with_graceful_shutdown(stop)
                .await
            {
                tracing::error!(error = %e, "simulator stopped with an error");
            }
        });
        Ok(SimServer {
            addr,
            control,
            shutdown,
            task: Some(task),
        })
    }

    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting requests and waits (briefly) for the server task to end.
    pub async fn stop(mut self) {
        let _ = self.shutdown.send(true);
        if let Some(task) = self.task.take() {
            let _ = tokio::time::timeout(Duration::from_secs(2), task).await;
        }
    }
}

impl Drop for SimServer {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// Reads a bearer token from an `Authorization` header value.
pub fn bearer(headers: &axum::http::HeaderMap) -> Option<&str> {
    headers
        .get("authorization")?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
}

/// Issues and checks opaque access tokens for simulators with an OAuth handshake.
#[derive(Debug, Default)]
pub struct TokenIssuer {
    issued: Mutex<std::collections::HashSet<String>>,
    counter: AtomicU64,
}

impl TokenIssuer {
    /// A new token, valid until the simulator stops (or [`TokenIssuer::revoke_all`]).
    pub fn issue(&self, prefix: &str) -> String {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let token = format!("{prefix}{:016x}", crate_mix(n ^ 0x5A5A));
        self.issued
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(token.clone());
        token
    }

    /// Whether `token` was issued and not revoked.
    pub fn is_valid(&self, token: &str) -> bool {
        self.issued
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(token)
    }

    /// Revokes every token (clients must fetch a new one).
    pub fn revoke_all(&self) {
        self.issued
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }
}
