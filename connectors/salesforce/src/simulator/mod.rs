//! A simulator of the Salesforce Platform REST API serving the world's CRM slice.
//!
//! What it serves, in Salesforce's dialect:
//! - `POST /services/oauth2/token`: the client-credentials flow (form body). Good credentials
//!   get `{access_token, instance_url, id, token_type, issued_at, signature, scope}` with the
//!   simulator's own address as `instance_url`; bad ones 400 `invalid_client_id` /
//!   `invalid_client`; other grants 400 `unsupported_grant_type`.
//! - `GET /services/data`: the API versions served (38.0 to 67.0).
//! - `GET /services/data/vXX.X/query?q=SOQL`: the SOQL subset below, paged at the
//!   `Sforce-Query-Options: batchSize=N` of the request (200 to 2000, default 2000), with
//!   `nextRecordsUrl` = `/services/data/vXX.X/query/01g…-N` until `done`.
//! - `GET /services/data/vXX.X/query/{locator}`: the next page.
//! - `POST /services/data/vXX.X/composite`: up to 25 GET subrequests (queries, query pages,
//!   sObject reads), at most 5 of them queries, answered as `compositeResponse`.
//! - `GET /services/data/vXX.X/sobjects/{Contact|Account}/{Id}[?fields=…]`: one record.
//! - The wishlist custom object `Wishlist_Item__c` (`wishlist.rs`): `POST …/sobjects/
//!   Wishlist_Item__c`, `GET|DELETE …/sobjects/Wishlist_Item__c/{Id}`, and `GET|PATCH|DELETE
//!   …/sobjects/Wishlist_Item__c/Samlet_Key__c/{value}` (upsert: 201 created, 200 updated
//!   from API 46.0, 204 before), rows kept in memory, readable through SOQL with `ORDER BY`.
//!
//! The SOQL subset: `SELECT f, g, Primary_Contact__r.Email FROM Contact|Account WHERE f IN
//! ('a','b') OR g = 'c' [LIMIT n]`, filtering on Id, AccountId, Primary_Contact__c, the
//! customer number, `Email` (case-insensitively) / `Primary_Contact__r.Email`, `Phone_E164__c`
//! and the loyalty number; for `Wishlist_Item__c` also `ORDER BY f [ASC|DESC] [NULLS
//! FIRST|LAST], …`, filtering on Id, `Samlet_Key__c` and the customer number. Anything else
//! is 400 `MALFORMED_QUERY`, unknown fields 400 `INVALID_FIELD`.
//!
//! Every data API call needs `Authorization: Bearer` with an issued token (else 401
//! `INVALID_SESSION_ID`), counts against the org's allocation and answers with
//! `Sforce-Limit-Info: api-usage=N/100000`. Errors are Salesforce's JSON array
//! `[{"message","errorCode"}]`. Request URIs over 16,384 bytes get 414; SOQL over 100,000
//! characters is `MALFORMED_QUERY`.
//!
//! Not simulated: writes to anything but the wishlist object, writes inside composite calls
//! and `@{reference}` chaining, `queryAll`, describe, SOSL, any SOQL beyond the subset,
//! `Sforce-Query-Options` on the
//! composite request itself (give it per subrequest in `httpHeaders`), cursor expiry by time
//! (the newest 5,000 query cursors are kept), and the concurrent long-running request limit.
//! The daily allocation is only enforced when [`SimOptions::api_limit`] is set.

mod api;
mod records;
mod soql;
mod wishlist;

use crate::config::{
    FieldNames, SalesforceConfig, WishlistNames, DEFAULT_API_VERSION, MAX_QUERY_BATCH_SIZE,
};
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use samlet_connector::http::Secret;
use samlet_testkit::sim::{bearer, SimServer, TokenIssuer};
use samlet_testkit::World;
use serde_json::json;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Path prefixes of the data API (fault injection goes here; the token endpoint stays healthy).
pub const API_PATHS: &[&str] = &["/services/data"];
/// The simulator's client id. Demo only: it opens nothing but the simulator.
pub const DEMO_CLIENT_ID: &str = "samlet-demo";
/// The simulator's client secret. Demo only: it opens nothing but the simulator.
pub const DEMO_CLIENT_SECRET: &str = "demo-secret";
/// The allocation `Sforce-Limit-Info` reports when none is set.
pub const DEFAULT_API_ALLOCATION: u64 = 100_000;
/// The longest request URI the simulator (like Salesforce's web tier) accepts.
pub const MAX_URI_LEN: usize = 16_384;

/// Options beyond the defaults of [`start`], for tests.
#[derive(Debug, Default, Clone)]
pub struct SimOptions {
    /// Enforce this rolling API allocation: calls beyond it get 403 `REQUEST_LIMIT_EXCEEDED`.
    /// `None` counts calls against [`DEFAULT_API_ALLOCATION`] without refusing any.
    pub api_limit: Option<u64>,
    /// The sessions the simulator issues; keep a clone to revoke them (a session timeout).
    pub sessions: Arc<TokenIssuer>,
}

/// The simulator's shared state.
pub(crate) struct Sim {
    world: Arc<World>,
    sessions: Arc<TokenIssuer>,
    api_limit: Option<u64>,
    usage: AtomicU64,
    cursors: api::Cursors,
    wishlists: wishlist::Wishlists,
}

/// Starts the simulator serving `world` on 127.0.0.1:`port` (0 = free port).
pub async fn start(world: Arc<World>, port: u16) -> std::io::Result<SimServer> {
    start_with(world, port, SimOptions::default()).await
}

/// [`start`] with [`SimOptions`].
pub async fn start_with(
    world: Arc<World>,
    port: u16,
    options: SimOptions,
) -> std::io::Result<SimServer> {
    let sim = Arc::new(Sim {
        world,
        sessions: options.sessions,
        api_limit: options.api_limit,
        usage: AtomicU64::new(0),
        cursors: api::Cursors::default(),
        wishlists: wishlist::Wishlists::default(),
    });
    SimServer::start(router(sim), vendor_error, port).await
}

/// The body of a TOML table that configures the connector against a simulator at `base_url`
/// with the simulator's demo credentials.
pub fn demo_toml(base_url: &str) -> String {
    format!(
        "login_url = \"{base_url}\"\n\
         client_id = \"{DEMO_CLIENT_ID}\"\n\
         client_secret = \"{DEMO_CLIENT_SECRET}\"\n\
         api_version = \"{DEFAULT_API_VERSION}\"\n"
    )
}

/// The configuration of [`demo_toml`], parsed.
pub fn demo_config(base_url: &str) -> SalesforceConfig {
    SalesforceConfig {
        login_url: base_url.to_owned(),
        client_id: DEMO_CLIENT_ID.to_owned(),
        client_secret: Secret::new(DEMO_CLIENT_SECRET),
        api_version: DEFAULT_API_VERSION.to_owned(),
        query_batch_size: MAX_QUERY_BATCH_SIZE,
        fields: FieldNames::default(),
        wishlist: WishlistNames::default(),
    }
}

fn router(sim: Arc<Sim>) -> Router {
    let data = Router::new()
        .route("/services/data/{version}/query", get(api::query))
        .route("/services/data/{version}/query/", get(api::query))
        .route(
            "/services/data/{version}/query/{locator}",
            get(api::query_more),
        )
        .route("/services/data/{version}/composite", post(api::composite))
        .route(
            "/services/data/{version}/sobjects/{sobject}",
            post(api::create),
        )
        .route(
            "/services/data/{version}/sobjects/{sobject}/{id}",
            get(api::sobject).delete(api::delete_by_id),
        )
        .route(
            "/services/data/{version}/sobjects/{sobject}/{field}/{value}",
            get(api::by_external_id)
                .patch(api::upsert)
                .delete(api::delete_by_external_id),
        )
        .route_layer(middleware::from_fn_with_state(sim.clone(), session));
    Router::new()
        .route("/services/oauth2/token", post(token))
        .route("/services/data", get(versions))
        .route("/services/data/", get(versions))
        .merge(data)
        .fallback(not_found)
        .with_state(sim)
}

/// A Salesforce error: the status and the one entry of its error array.
#[derive(Debug, Clone)]
pub(crate) struct SfError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// The fields a write error concerns (`"fields"` in the body), if any.
    pub fields: Vec<String>,
}

impl SfError {
    pub(crate) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        SfError {
            status,
            code,
            message: message.into(),
            fields: Vec::new(),
        }
    }

    /// A write error about `fields`.
    pub(crate) fn on_fields(mut self, fields: &[&str]) -> Self {
        self.fields = fields.iter().map(|f| (*f).to_owned()).collect();
        self
    }

    pub(crate) fn malformed(message: impl Into<String>) -> Self {
        SfError::new(StatusCode::BAD_REQUEST, "MALFORMED_QUERY", message)
    }

    pub(crate) fn not_found() -> Self {
        SfError::new(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            "The requested resource does not exist",
        )
    }

    pub(crate) fn body(&self) -> serde_json::Value {
        if self.fields.is_empty() {
            json!([{ "message": self.message, "errorCode": self.code }])
        } else {
            json!([{ "message": self.message, "errorCode": self.code, "fields": self.fields }])
        }
    }
}

impl IntoResponse for SfError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body())).into_response()
    }
}

/// The error body for an injected fault.
fn vendor_error(status: StatusCode, message: &str) -> Response {
    let code = match status.as_u16() {
        401 => "INVALID_SESSION_ID",
        403 | 429 => "REQUEST_LIMIT_EXCEEDED",
        404 => "NOT_FOUND",
        400..=499 => "BAD_REQUEST",
        503 => "SERVER_UNAVAILABLE",
        _ => "UNKNOWN_EXCEPTION",
    };
    SfError::new(status, code, message).into_response()
}

async fn not_found() -> SfError {
    SfError::not_found()
}

/// Checks the session, counts the call against the allocation and reports usage.
async fn session(State(sim): State<Arc<Sim>>, req: Request, next: Next) -> Response {
    if req.uri().to_string().len() > MAX_URI_LEN {
        return SfError::new(
            StatusCode::URI_TOO_LONG,
            "URI_TOO_LONG",
            format!("The request URI is longer than {MAX_URI_LEN} bytes"),
        )
        .into_response();
    }
    if !bearer(req.headers()).is_some_and(|t| sim.sessions.is_valid(t)) {
        return SfError::new(
            StatusCode::UNAUTHORIZED,
            "INVALID_SESSION_ID",
            "Session expired or invalid",
        )
        .into_response();
    }
    let used = sim.usage.fetch_add(1, Ordering::Relaxed) + 1;
    let allocation = sim.api_limit.unwrap_or(DEFAULT_API_ALLOCATION);
    let mut resp = if sim.api_limit.is_some_and(|limit| used > limit) {
        SfError::new(
            StatusCode::FORBIDDEN,
            "REQUEST_LIMIT_EXCEEDED",
            "TotalRequests Limit exceeded.",
        )
        .into_response()
    } else {
        next.run(req).await
    };
    if let Ok(v) = HeaderValue::from_str(&format!("api-usage={used}/{allocation}")) {
        resp.headers_mut().insert("sforce-limit-info", v);
    }
    resp
}

/// The versions `GET /services/data` lists (the simulator serves 38.0 and later too).
const LISTED_VERSIONS: [(&str, &str); 6] = [
    ("62.0", "Winter '25"),
    ("63.0", "Spring '25"),
    ("64.0", "Summer '25"),
    ("65.0", "Winter '26"),
    ("66.0", "Spring '26"),
    ("67.0", "Summer '26"),
];

async fn versions() -> Json<serde_json::Value> {
    Json(
        LISTED_VERSIONS
            .iter()
            .map(|(v, label)| json!({"label": label, "url": format!("/services/data/v{v}"), "version": v}))
            .collect(),
    )
}

fn oauth_error(error: &str, description: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({ "error": error, "error_description": description })),
    )
        .into_response()
}

/// `POST /services/oauth2/token` with `grant_type=client_credentials`.
async fn token(State(sim): State<Arc<Sim>>, headers: HeaderMap, body: Bytes) -> Response {
    let mut grant = None;
    let mut id = None;
    let mut secret = None;
    for (k, v) in url::form_urlencoded::parse(&body) {
        match k.as_ref() {
            "grant_type" => grant = Some(v.into_owned()),
            "client_id" => id = Some(v.into_owned()),
            "client_secret" => secret = Some(v.into_owned()),
            _ => {}
        }
    }
    if grant.as_deref() != Some("client_credentials") {
        return oauth_error("unsupported_grant_type", "grant type not supported");
    }
    if id.as_deref() != Some(DEMO_CLIENT_ID) {
        return oauth_error("invalid_client_id", "client identifier invalid");
    }
    if secret.as_deref() != Some(DEMO_CLIENT_SECRET) {
        return oauth_error("invalid_client", "invalid client credentials");
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1");
    let instance = format!("http://{host}");
    let access_token = sim.sessions.issue("00DSa0000000001!AR");
    let issued_at = chrono::Utc::now().timestamp_millis().to_string();
    let signature: String = access_token
        .bytes()
        .rev()
        .map(|b| char::from(b'A' + b % 26))
        .take(43)
        .collect();
    Json(json!({
        "access_token": access_token,
        "signature": format!("{signature}="),
        "scope": "api",
        "instance_url": instance,
        "id": format!("{instance}/id/00DSa0000000001AAA/005Sa0000000001AAA"),
        "token_type": "Bearer",
        "issued_at": issued_at,
    }))
    .into_response()
}
