//! `POST /v2/token` (the client-credentials grant with a JSON body) and the checks every API
//! call passes: a bearer token this simulator issued, then the optional rate limit.

use super::wire::{self, ApiError};
use super::{Sim, DEMO_ACCOUNT_ID, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, TOKEN_LIFETIME_SECS};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use samlet_testkit::sim::bearer;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The scopes the demo package grants.
const SCOPE: &str = "data_extensions_read data_extensions_write journeys_execute journeys_read list_and_subscribers_read";

/// A fixed one-second window of admitted API calls.
#[derive(Debug)]
pub(crate) struct RateLimit {
    per_second: Option<u32>,
    window: Mutex<(Instant, u32)>,
}

impl RateLimit {
    /// Admits at most `per_second` calls per second (`None`: everything).
    pub(crate) fn new(per_second: Option<u32>) -> RateLimit {
        RateLimit {
            per_second,
            window: Mutex::new((Instant::now(), 0)),
        }
    }

    /// `Err(seconds to wait)` when the window is full.
    fn admit(&self) -> Result<(), u64> {
        let Some(limit) = self.per_second else {
            return Ok(());
        };
        let mut w = self.window.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        if now.duration_since(w.0) >= Duration::from_secs(1) {
            *w = (now, 0);
        }
        if w.1 >= limit {
            return Err(1);
        }
        w.1 += 1;
        Ok(())
    }
}

impl Sim {
    /// Checks the bearer token, then the rate limit.
    pub(crate) fn admit(&self, headers: &HeaderMap) -> Result<(), ApiError> {
        match bearer(headers) {
            Some(t) if self.tokens.is_valid(t) => {}
            _ => return Err(ApiError::not_authorized()),
        }
        self.rate_limit.admit().map_err(ApiError::rate_limited)
    }
}

fn text<'a>(body: &'a Value, field: &str) -> Option<&'a str> {
    body.get(field).and_then(Value::as_str)
}

/// The handler.
pub(crate) async fn token(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return wire::oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "The request body must be a JSON object.",
        );
    };
    match text(&body, "grant_type") {
        Some("client_credentials") => {}
        Some(_) => {
            return wire::oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "Use \"authorization_code\" or \"refresh_token\" or \"client_credentials\" or \"urn:ietf:params:oauth:grant-type:jwt-bearer\" as the grant_type.",
            )
        }
        None => {
            return wire::oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "The grant_type parameter is required.",
            )
        }
    }
    if text(&body, "client_id") != Some(DEMO_CLIENT_ID)
        || text(&body, "client_secret") != Some(DEMO_CLIENT_SECRET)
    {
        return wire::oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Invalid client ID. Use the client ID in Marketing Cloud Installed Packages.",
        );
    }
    match body.get("account_id") {
        None | Some(Value::Null) => {}
        Some(mid)
            if mid.as_str() == Some(DEMO_ACCOUNT_ID)
                || mid.as_u64().map(|n| n.to_string()).as_deref() == Some(DEMO_ACCOUNT_ID) => {}
        Some(_) => {
            return wire::oauth_error(
                StatusCode::UNAUTHORIZED,
                "unauthorized_client",
                "The client does not have access to the requested account (MID).",
            )
        }
    }
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
        return wire::oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Missing Host header.",
        );
    };
    // One simulator plays both the auth and the REST host; real tenants have
    // `{subdomain}.auth…`, `{subdomain}.rest…` and `{subdomain}.soap…`.
    let base = format!("http://{host}/");
    wire::ok(
        StatusCode::OK,
        &json!({
            "access_token": sim.tokens.issue("eyJhbGciOiJIUzI1NiJ9.sim."),
            "token_type": "Bearer",
            "expires_in": TOKEN_LIFETIME_SECS,
            "scope": SCOPE,
            "soap_instance_url": base,
            "rest_instance_url": base,
        }),
    )
}
