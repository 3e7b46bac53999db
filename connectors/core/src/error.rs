//! Typed connector errors. Each says whose fault it is and whether a retry can help, so the
//! gateway can choose between retrying, serving stale data and answering partially. Messages
//! describe the failure for operators; they never contain credentials or tokens.

use crate::ids::ConnectorName;
use std::time::Duration;

/// What went wrong, from the gateway's point of view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The vendor says the thing asked for does not exist (for single-entity calls only;
    /// batch reads leave missing keys out of their map instead).
    NotFound,
    /// The vendor refused our credentials or their scope.
    Unauthorized,
    /// The vendor's rate limit was hit; `retry_after` says when to come back if it told us.
    RateLimited,
    /// The vendor could not be reached or answered with a server error.
    Unavailable,
    /// The vendor did not answer within the deadline.
    Timeout,
    /// The vendor answered with a body we could not understand.
    InvalidResponse,
    /// The vendor rejected a write because the record changed or already exists.
    Conflict,
    /// The vendor rejected the request as malformed: a bug in the connector or bad input.
    BadRequest,
}

impl ErrorKind {
    /// The stable code used in GraphQL `extensions.code` and in metrics.
    pub fn code(self) -> &'static str {
        match self {
            ErrorKind::NotFound => "NOT_FOUND",
            ErrorKind::Unauthorized => "UPSTREAM_AUTH",
            ErrorKind::RateLimited => "RATE_LIMITED",
            ErrorKind::Unavailable => "UPSTREAM_UNAVAILABLE",
            ErrorKind::Timeout => "UPSTREAM_TIMEOUT",
            ErrorKind::InvalidResponse => "UPSTREAM_INVALID_RESPONSE",
            ErrorKind::Conflict => "CONFLICT",
            ErrorKind::BadRequest => "UPSTREAM_BAD_REQUEST",
        }
    }
}

/// A failure of one connector call.
#[derive(Debug, thiserror::Error)]
#[error("{connector}: {kind:?}: {message}")]
pub struct ConnectorError {
    /// What kind of failure.
    pub kind: ErrorKind,
    /// The connector instance that failed.
    pub connector: ConnectorName,
    /// A description for operators, free of secrets.
    pub message: String,
    /// When the vendor asked us to come back (from `Retry-After` or a body field).
    pub retry_after: Option<Duration>,
    /// The underlying cause, if any.
    #[source]
    pub source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl ConnectorError {
    /// A new error of `kind` raised by `connector`.
    pub fn new(kind: ErrorKind, connector: &ConnectorName, message: impl Into<String>) -> Self {
        ConnectorError {
            kind,
            connector: connector.clone(),
            message: message.into(),
            retry_after: None,
            source: None,
        }
    }

    /// Attaches the vendor's requested back-off.
    pub fn with_retry_after(mut self, after: Option<Duration>) -> Self {
        self.retry_after = after;
        self
    }

    /// Attaches the underlying cause.
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    /// Whether repeating the same idempotent call may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self.kind,
            ErrorKind::RateLimited | ErrorKind::Unavailable | ErrorKind::Timeout
        )
    }

    /// Clones the error without its source (sources are rarely `Clone`); used when one failed
    /// batch call must be reported on many GraphQL paths.
    pub fn shallow_clone(&self) -> ConnectorError {
        ConnectorError {
            kind: self.kind,
            connector: self.connector.clone(),
            message: self.message.clone(),
            retry_after: self.retry_after,
            source: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_transient_failures_are_retryable() {
        let c = ConnectorName::new("crm");
        for kind in [
            ErrorKind::RateLimited,
            ErrorKind::Unavailable,
            ErrorKind::Timeout,
        ] {
            assert!(
                ConnectorError::new(kind, &c, "x").is_retryable(),
                "{kind:?}"
            );
        }
        for kind in [
            ErrorKind::NotFound,
            ErrorKind::Unauthorized,
            ErrorKind::InvalidResponse,
            ErrorKind::Conflict,
            ErrorKind::BadRequest,
        ] {
            assert!(
                !ConnectorError::new(kind, &c, "x").is_retryable(),
                "{kind:?}"
            );
        }
    }

    #[test]
    fn display_names_the_connector() {
        let e = ConnectorError::new(ErrorKind::Timeout, &ConnectorName::new("erp"), "after 5s");
        assert_eq!(e.to_string(), "erp: Timeout: after 5s");
    }
}
