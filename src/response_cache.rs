//! Whole answers to anonymous catalogue queries, kept for a short time (`[cache] responses`):
//! a hit skips parsing, validation and execution and answers the stored bytes.
//!
//! Only what can be shared is stored: queries (never mutations) from callers without a token
//! (an anonymous caller can only read the catalogue, so nothing customer-private can be in the
//! answer), answered without errors. The key is everything that can change the answer: the
//! query text (or persisted-query hash), operation name, variables, extensions, the request
//! context (channel, store, locale, currency, customer group) and the `Accept` header (which
//! picks the media type). Whatever invalidates catalogue entries (an order reserving stock, a
//! webhook) empties it, and its time to live is short, so an answer is never older than this
//! TTL plus the capability caches' own.

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use samlet_connector::context::{Caller, RequestContext};
use std::time::Duration;

/// A stored answer.
#[derive(Clone)]
pub struct Stored {
    status: StatusCode,
    content_type: Option<HeaderValue>,
    body: Bytes,
}

impl IntoResponse for Stored {
    fn into_response(self) -> Response {
        let mut r = (self.status, self.body).into_response();
        if let Some(ct) = self.content_type {
            r.headers_mut().insert(axum::http::header::CONTENT_TYPE, ct);
        }
        r
    }
}

/// The cache of whole answers.
pub struct ResponseCache {
    entries: moka::sync::Cache<String, Stored>,
}

impl ResponseCache {
    /// A cache of at most `max_bytes` (keys and bodies) whose entries live `ttl`; `None` when
    /// `ttl` is zero (off).
    pub fn new(ttl: Duration, max_bytes: u64) -> Option<ResponseCache> {
        (!ttl.is_zero()).then(|| ResponseCache {
            entries: moka::sync::Cache::builder()
                .max_capacity(max_bytes)
                .weigher(|k: &String, v: &Stored| {
                    u32::try_from(k.len() + v.body.len() + 96).unwrap_or(u32::MAX)
                })
                .time_to_live(ttl)
                .build(),
        })
    }

    /// The key for a request, or `None` if its answer may not be shared.
    pub fn key(
        headers: &HeaderMap,
        req: &async_graphql::Request,
        cx: &RequestContext,
    ) -> Option<String> {
        if cx.caller != Caller::Anonymous || headers.contains_key("authorization") {
            return None;
        }
        let accept = headers
            .get(axum::http::header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let vars = serde_json::to_string(&req.variables).ok()?;
        let ext = serde_json::to_string(&req.extensions).ok()?;
        let group = cx.customer_group.as_ref().map(|g| g.as_str()).unwrap_or("");
        let store = cx.store.as_ref().map(|s| s.as_str()).unwrap_or("");
        Some(format!(
            "{}\u{1}{}\u{1}{}\u{1}{}\u{1}{}\u{1}{}\u{1}{}\u{1}{}\u{1}{}\u{1}{}",
            cx.channel.as_str(),
            store,
            cx.locale,
            cx.currency.as_str(),
            group,
            accept,
            req.operation_name.as_deref().unwrap_or(""),
            vars,
            ext,
            req.query,
        ))
    }

    /// A stored answer for `key`.
    pub fn get(&self, key: &str) -> Option<Stored> {
        self.entries.get(key)
    }

    /// Stores the answer `response` (already converted for HTTP) under `key` and gives it back.
    pub async fn store(&self, key: String, response: Response) -> Response {
        let (parts, body) = response.into_parts();
        let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        };
        let stored = Stored {
            status: parts.status,
            content_type: parts.headers.get(axum::http::header::CONTENT_TYPE).cloned(),
            body: bytes.clone(),
        };
        self.entries.insert(key, stored);
        Response::from_parts(parts, axum::body::Body::from(bytes))
    }

    /// Forgets every answer (catalogue data changed).
    pub fn clear(&self) {
        self.entries.invalidate_all();
    }
}
