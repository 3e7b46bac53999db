//! What an upstream call's trace span knows besides the call itself, and how the trace goes on
//! to the vendor.
//!
//! [`crate::http::Upstream::send`] opens one `upstream` span per call (connector, method, host,
//! HTTP status, retries, breaker state). The capability the call serves and what the gateway's
//! cache made of it are not known down there, so the gateway sets them for the calls a future
//! makes with [`tagged`]; the span reads them with [`current_tags`]. Connectors need no code of
//! their own for any of this.
//!
//! Outgoing requests carry the W3C `traceparent` of their span when the gateway installed a
//! propagator with [`set_propagator`] (it does when traces are exported); without one nothing is
//! added and the cost is one atomic load per request.

use crate::capability::Capability;
use std::future::Future;
use std::sync::OnceLock;

/// The `tracing` target of the `upstream` spans.
pub const SPAN_TARGET: &str = "samlet_connector::span";

/// What the gateway tells an upstream call's span about the call.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CallTags {
    /// The capability the call serves.
    pub capability: Option<Capability>,
    /// What the gateway's cache made of the keys behind the call: `"miss"` (fetched for a
    /// request), `"refresh"` (a stale entry refreshed in the background), `"off"` (the
    /// capability's cache is turned off), or `None` for a capability that is never cached.
    pub cache: Option<&'static str>,
}

tokio::task_local! {
    static TAGS: CallTags;
}

/// Runs `fut` with `tags` for every upstream call it makes.
pub fn tagged<F: Future>(tags: CallTags, fut: F) -> impl Future<Output = F::Output> {
    TAGS.scope(tags, fut)
}

/// The tags in force for the code running now (empty outside [`tagged`]).
pub fn current_tags() -> CallTags {
    TAGS.try_with(|t| *t).unwrap_or_default()
}

/// Writes the current trace context into an outgoing request's headers.
pub type Propagator = fn(&mut reqwest::header::HeaderMap);

static PROPAGATOR: OnceLock<Propagator> = OnceLock::new();

/// Installs the function that writes `traceparent` (and whatever else the trace format needs)
/// into every upstream request, inside that request's span. The first installation wins.
pub fn set_propagator(p: Propagator) {
    let _ = PROPAGATOR.set(p);
}

/// Writes the current trace context into `headers`, if a propagator is installed.
pub(crate) fn inject(headers: &mut reqwest::header::HeaderMap) {
    if let Some(p) = PROPAGATOR.get() {
        p(headers);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn tags_hold_inside_the_future_only() {
        assert_eq!(current_tags(), CallTags::default());
        let tags = CallTags {
            capability: Some(Capability::Prices),
            cache: Some("miss"),
        };
        let seen = tagged(tags, async { current_tags() }).await;
        assert_eq!(seen, tags);
        assert_eq!(current_tags(), CallTags::default());
    }
}
