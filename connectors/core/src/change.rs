//! Change notification: a vendor that calls back when its data changes (a webhook) serves a
//! [`ChangeFeed`]. The gateway registers it at start ([`ChangeFeed::register`]), hands it every
//! request that arrives at `POST /webhooks/{connector}` ([`ChangeFeed::receive`]), and turns the
//! [`Change`]s it reports into fresh subscription events and cache invalidation. Vendors without
//! webhooks serve none; the gateway polls them instead.

use crate::error::ConnectorError;
use crate::ids::{OrderNumber, Sku};
use async_trait::async_trait;

/// What changed in a vendor system, as far as the gateway's feeds care.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Change {
    /// One order (its status, lines or shipments).
    Order(OrderNumber),
    /// Some order, the vendor did not say which (e.g. a collapsed batch of changes).
    AnyOrder,
    /// The stock of one SKU (at any location).
    Stock(Sku),
    /// Stock of unknown SKUs.
    AnyStock,
}

/// An HTTP request that arrived at the connector's webhook endpoint.
#[derive(Debug, Clone, Default)]
pub struct WebhookRequest {
    /// The query string's parameters, decoded.
    pub query: Vec<(String, String)>,
    /// Request headers, names in lower case.
    pub headers: Vec<(String, String)>,
    /// The raw body.
    pub body: bytes::Bytes,
}

impl WebhookRequest {
    /// The first query parameter named `name`.
    pub fn query_param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The first header named `name` (lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// How a connector answers a webhook request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhookReply {
    /// A subscription handshake: answer 200 with this text as the body.
    Validation(String),
    /// A genuine notification: answer 200; these changed.
    Accepted(Vec<Change>),
    /// The sender could not be trusted (wrong shared secret or signature): 401 or 403 with a
    /// message that names what was wrong (never the secret).
    Refused {
        /// 401 or 403.
        status: u16,
        /// Why.
        message: String,
    },
    /// The body is not a notification: 400 with a message naming what is wrong.
    Malformed(String),
}

/// A vendor's outbound change notification.
#[async_trait]
pub trait ChangeFeed: Send + Sync {
    /// Registers the gateway's endpoint with the vendor (a webhook subscription), or renews
    /// the registration made before. Called once the gateway is listening, since vendors
    /// validate the URL while registering it, and again every [`ChangeFeed::renew_every`].
    async fn register(&self) -> Result<(), ConnectorError>;

    /// How often the registration must be renewed (vendors expire subscriptions); `None`:
    /// never.
    fn renew_every(&self) -> Option<std::time::Duration> {
        None
    }

    /// Whether the vendor notifies order changes (else the gateway polls orders).
    fn notifies_orders(&self) -> bool;

    /// Whether the vendor notifies stock changes (else the gateway polls stock).
    fn notifies_stock(&self) -> bool;

    /// Checks and reads one request to the webhook endpoint. May call the vendor to resolve
    /// what a notification names (e.g. a record id to an order number).
    async fn receive(&self, request: &WebhookRequest) -> WebhookReply;
}

/// Compares a secret the caller sent with the configured one in time that does not depend on
/// where they differ (only on their lengths), so the secret cannot be guessed a byte at a time.
pub fn constant_time_eq(sent: &[u8], expected: &[u8]) -> bool {
    let mut diff = u8::from(sent.len() != expected.len());
    // Walk the expected secret whatever was sent, so the time depends on its length only.
    for (i, e) in expected.iter().enumerate() {
        diff |= e ^ sent.get(i).copied().unwrap_or(0);
    }
    diff == 0
}

#[cfg(test)]
mod tests {
    use super::constant_time_eq;

    #[test]
    fn equal_secrets_match_and_others_do_not() {
        assert!(constant_time_eq(b"s3cret-state", b"s3cret-state"));
        assert!(!constant_time_eq(b"s3cret-statX", b"s3cret-state"));
        assert!(!constant_time_eq(b"s3cret", b"s3cret-state"));
        assert!(!constant_time_eq(b"s3cret-state-longer", b"s3cret-state"));
        assert!(!constant_time_eq(b"", b"x"));
    }
}
