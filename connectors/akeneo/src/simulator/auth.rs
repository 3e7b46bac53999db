//! The simulator's OAuth: `POST /api/oauth/v1/token` with the client id and secret as HTTP
//! Basic and a JSON or form body (password and refresh-token grants), answered as Akeneo does
//! (422 `{code, message}` for bad clients, users and refresh tokens), and the bearer check in
//! front of the REST API (401 saying whether the token is missing, unknown or expired).

use super::{
    akeneo_error, Refused, SimState, DEMO_CLIENT_ID, DEMO_PASSWORD, DEMO_SECRET, DEMO_USERNAME,
};
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use samlet_testkit::sim::{bearer, TokenIssuer};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Issued tokens, their expiry, and grant counts.
#[derive(Debug, Default)]
pub(crate) struct TokenStore {
    issuer: TokenIssuer,
    access: Mutex<HashMap<String, Instant>>,
    refresh: Mutex<HashSet<String>>,
    password_grants: AtomicU64,
    refresh_grants: AtomicU64,
}

/// A test's handle on the simulator's tokens: revoke them, count grants.
#[derive(Debug, Clone, Default)]
pub struct TokenControl(Arc<TokenStore>);

impl TokenControl {
    /// Revokes every access token (refresh tokens stay valid), as when a PIM admin revokes a
    /// connection's sessions or tokens expire early.
    pub fn revoke_access_tokens(&self) {
        lock(&self.0.access).clear();
    }

    /// Revokes every refresh token too, so only the password grant works.
    pub fn revoke_all(&self) {
        self.revoke_access_tokens();
        lock(&self.0.refresh).clear();
    }

    /// Successful password grants so far.
    pub fn password_grants(&self) -> u64 {
        self.0.password_grants.load(Ordering::Relaxed)
    }

    /// Successful refresh-token grants so far.
    pub fn refresh_grants(&self) -> u64 {
        self.0.refresh_grants.load(Ordering::Relaxed)
    }

    pub(crate) fn store(&self) -> &TokenStore {
        &self.0
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Why a bearer token was refused.
enum TokenProblem {
    Missing,
    Invalid,
    Expired,
}

impl TokenStore {
    fn issue(&self, ttl: Duration) -> (String, String) {
        let access = self.issuer.issue("ak-at-");
        let refresh = self.issuer.issue("ak-rt-");
        lock(&self.access).insert(access.clone(), Instant::now() + ttl);
        lock(&self.refresh).insert(refresh.clone());
        (access, refresh)
    }

    fn check(&self, token: Option<&str>) -> Result<(), TokenProblem> {
        let token = token.ok_or(TokenProblem::Missing)?;
        match lock(&self.access).get(token) {
            None => Err(TokenProblem::Invalid),
            Some(until) if *until <= Instant::now() => Err(TokenProblem::Expired),
            Some(_) => Ok(()),
        }
    }

    fn redeem_refresh(&self, token: &str) -> bool {
        lock(&self.refresh).remove(token)
    }
}

/// Rejects REST calls without a valid bearer token.
pub(crate) async fn require_bearer(
    State(state): State<Arc<SimState>>,
    req: Request,
    next: Next,
) -> Response {
    match state.tokens.store().check(bearer(req.headers())) {
        Ok(()) => next.run(req).await,
        Err(TokenProblem::Missing) => {
            akeneo_error(StatusCode::UNAUTHORIZED, "Authentication is required")
        }
        Err(TokenProblem::Invalid) => akeneo_error(
            StatusCode::UNAUTHORIZED,
            "The access token provided is invalid.",
        ),
        Err(TokenProblem::Expired) => akeneo_error(
            StatusCode::UNAUTHORIZED,
            "The access token provided has expired.",
        ),
    }
}

/// The client id and secret from `Authorization: Basic base64(id:secret)`.
fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value.strip_prefix("Basic ")?;
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    Some((id.to_owned(), secret.to_owned()))
}

/// The body's fields, from JSON or a form.
fn fields(headers: &HeaderMap, body: &Bytes) -> Result<HashMap<String, String>, Refused> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if content_type.starts_with("application/json") {
        let value: serde_json::Value = serde_json::from_slice(body)
            .map_err(|_| Refused::new(StatusCode::BAD_REQUEST, "Invalid json message received"))?;
        let Some(object) = value.as_object() else {
            return Err(Refused::new(
                StatusCode::BAD_REQUEST,
                "Invalid json message received",
            ));
        };
        Ok(object
            .iter()
            .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
            .collect())
    } else if content_type.starts_with("application/x-www-form-urlencoded") {
        Ok(url::form_urlencoded::parse(body)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect())
    } else if content_type.is_empty() {
        Err(Refused::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "The ‘Content-type’ header is missing. ‘application/json’ has to specified as value.",
        ))
    } else {
        Err(Refused::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("‘{content_type}’ in ‘Content-type’ header is not valid.  Only ‘application/json’ is allowed."),
        ))
    }
}

/// `POST /api/oauth/v1/token`.
pub(crate) async fn token(
    State(state): State<Arc<SimState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let fields = match fields(&headers, &body) {
        Ok(f) => f,
        Err(r) => return r.into_response(),
    };
    let client_ok = basic_credentials(&headers)
        .is_some_and(|(id, secret)| id == DEMO_CLIENT_ID && secret == DEMO_SECRET);
    if !client_ok {
        return akeneo_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Parameter \"client_id\" is missing or does not match any client, or secret is invalid",
        );
    }
    let field = |k: &str| fields.get(k).map(String::as_str).filter(|v| !v.is_empty());
    let store = state.tokens.store();
    match field("grant_type") {
        Some("password") => match (field("username"), field("password")) {
            (Some(DEMO_USERNAME), Some(DEMO_PASSWORD)) => {
                store.password_grants.fetch_add(1, Ordering::Relaxed);
            }
            (Some(_), Some(_)) => {
                return akeneo_error(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "No user found for the given username and password",
                )
            }
            _ => {
                return akeneo_error(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "Parameter \"username\" or \"password\" is missing or empty",
                )
            }
        },
        Some("refresh_token") => match field("refresh_token") {
            Some(t) if store.redeem_refresh(t) => {
                store.refresh_grants.fetch_add(1, Ordering::Relaxed);
            }
            _ => return akeneo_error(StatusCode::UNPROCESSABLE_ENTITY, "Invalid refresh token"),
        },
        _ => {
            return akeneo_error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Parameter \"grant_type\" is missing or is not \"password\" or \"refresh_token\"",
            )
        }
    }
    let (access, refresh) = store.issue(state.options.token_ttl);
    Json(serde_json::json!({
        "access_token": access,
        "expires_in": state.options.token_ttl.as_secs().max(1),
        "token_type": "bearer",
        "scope": null,
        "refresh_token": refresh,
    }))
    .into_response()
}
