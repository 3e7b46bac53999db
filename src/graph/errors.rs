//! The one mapping from failures to GraphQL errors: `extensions.code` from a fixed list,
//! plus the connector's name, whether a retry may help and the vendor's requested back-off.
//! Internal detail stays in the logs; the message names the connector and the kind of failure.

use async_graphql::{Error, ErrorExtensions};
use samlet_connector::{ConnectorError, ErrorKind};

/// A query named something that does not exist.
pub const NOT_FOUND: &str = "NOT_FOUND";
/// A query's arguments are malformed (e.g. a bad global id).
pub const BAD_USER_INPUT: &str = "BAD_USER_INPUT";
/// The field needs a signed-in caller and the request had no (valid) bearer token.
pub const UNAUTHENTICATED: &str = "UNAUTHENTICATED";
/// The caller is known but may not see or do this.
pub const FORBIDDEN: &str = "FORBIDDEN";

/// The message a client sees for a connector failure of `kind`.
fn public_message(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::NotFound => "the upstream system does not know this record",
        ErrorKind::Unauthorized => "the upstream system refused the gateway's credentials",
        ErrorKind::RateLimited => "the upstream system's rate limit was reached",
        ErrorKind::Unavailable => "the upstream system is unavailable",
        ErrorKind::Timeout => "the upstream system did not answer in time",
        ErrorKind::InvalidResponse => {
            "the upstream system sent a response the gateway could not read"
        }
        ErrorKind::Conflict => "the upstream system reported a conflicting change",
        ErrorKind::BadRequest => "the upstream system rejected the gateway's request",
    }
}

/// Converts a connector failure into a GraphQL error.
pub fn connector_error(e: &ConnectorError) -> Error {
    tracing::warn!(connector = %e.connector, code = e.kind.code(), detail = %e.message, "upstream call failed");
    Error::new(format!("{}: {}", e.connector, public_message(e.kind))).extend_with(|_, ext| {
        ext.set("code", e.kind.code());
        ext.set("connector", e.connector.as_str());
        ext.set("retryable", e.is_retryable());
        if let Some(after) = e.retry_after {
            ext.set("retryAfterMs", after.as_millis() as u64);
        }
    })
}

/// A client error with a code.
pub fn user_error(code: &'static str, message: impl Into<String>) -> Error {
    Error::new(message).extend_with(|_, ext| ext.set("code", code))
}

#[cfg(test)]
mod tests {
    use super::*;
    use samlet_connector::ids::ConnectorName;
    use std::time::Duration;

    fn ext(e: &Error) -> serde_json::Value {
        serde_json::to_value(e.extensions.as_ref().expect("extensions")).expect("json")
    }

    #[test]
    fn every_kind_maps_to_its_code_and_names_the_connector() {
        let name = ConnectorName::new("erp");
        for (kind, code) in [
            (ErrorKind::NotFound, "NOT_FOUND"),
            (ErrorKind::Unauthorized, "UPSTREAM_AUTH"),
            (ErrorKind::RateLimited, "RATE_LIMITED"),
            (ErrorKind::Unavailable, "UPSTREAM_UNAVAILABLE"),
            (ErrorKind::Timeout, "UPSTREAM_TIMEOUT"),
            (ErrorKind::InvalidResponse, "UPSTREAM_INVALID_RESPONSE"),
            (ErrorKind::Conflict, "CONFLICT"),
            (ErrorKind::BadRequest, "UPSTREAM_BAD_REQUEST"),
        ] {
            let e = connector_error(&ConnectorError::new(kind, &name, "secret detail token=abc"));
            let x = ext(&e);
            assert_eq!(x["code"], code);
            assert_eq!(x["connector"], "erp");
            assert!(
                !e.message.contains("token=abc"),
                "detail leaked: {}",
                e.message
            );
            assert!(e.message.starts_with("erp: "));
        }
    }

    #[test]
    fn rate_limits_carry_retry_after() {
        let e = ConnectorError::new(ErrorKind::RateLimited, &ConnectorName::new("crm"), "x")
            .with_retry_after(Some(Duration::from_secs(3)));
        let x = ext(&connector_error(&e));
        assert_eq!(x["retryAfterMs"], 3000);
        assert_eq!(x["retryable"], true);
    }
}
