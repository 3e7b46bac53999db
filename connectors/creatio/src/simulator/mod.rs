//! A simulator of a Creatio instance's OData 4 API and its Identity Service, serving the
//! world's CRM slice (`CustomerSlice::Crm`, the same customers the Salesforce simulator
//! serves).
//!
//! What it serves, in Creatio's dialect:
//! - `POST /connect/token` (the Identity Service, on the same address): the client-credentials
//!   grant with the credentials in the form body or as HTTP Basic. Good credentials get
//!   `{access_token, expires_in: 3600, token_type: "Bearer", scope}`; bad ones 400
//!   `{"error":"invalid_client"}`; other grants 400 `unsupported_grant_type`.
//! - `GET /0/odata` (or `/odata` for a .NET Core instance, [`SimOptions::odata_path`]): the
//!   service document.
//! - `GET /0/odata/{Set}?$filter&$select&$expand&$orderby&$top&$skip&$count`: collections of
//!   `Contact`, `Account`, `ContactAddress`, `AccountAddress`, `Country`, `City` and
//!   `AddressType`, as `{"@odata.context", "value": […]}`. Paging is client-driven only: a page
//!   holds `$top` rows (at most 20,000) and no `@odata.nextLink` is sent.
//! - `GET /0/odata/{Set}({guid})`: one entity.
//! - `POST /0/odata/$batch` (`Content-Type: application/json`): up to 100 GET sub-requests,
//!   answered as `{"responses": [{id, status, headers, body}]}`; without
//!   `Prefer: continue-on-error` the first failing sub-request ends the batch.
//!
//! Creatio's conventions: empty text columns are `""`, empty lookups the zero GUID, lookups
//! plain `…Id` columns unless expanded by navigation name (`Country`, `PrimaryContact`,
//! `ContactAddressCollectionByContact`). Text comparison follows the database
//! ([`SimOptions::database`]): case-insensitive on Microsoft SQL Server (the default),
//! case-sensitive on PostgreSQL, where only `tolower(Email) eq '…'` finds an e-mail in any
//! casing. `$filter` trees over 100 nodes are refused as ASP.NET OData does by default.
//!
//! Every data call needs `Authorization: Bearer` with an issued token, else 401 with an OData
//! error body and `WWW-Authenticate: Bearer error="invalid_token"`. Errors are OData's
//! `{"error":{"code","message"}}`, also for injected faults.
//!
//! Not simulated: writes (POST/PATCH/DELETE, `atomicityGroup`), multipart `$batch`,
//! `$metadata`, property and `$count` path segments, the `in` operator and lambda operators,
//! options other than `$select`/`$expand` inside `$expand`, date-typed comparison (dates compare
//! as text), the legacy forms authentication (`AuthService.svc/Login`, `BPMCSRF`) and rate
//! limits (Creatio publishes none; only injected 429s).

mod entities;
mod odata;
mod service;

use crate::config::{
    ColumnNames, CreatioConfig, EmailMatch, DEFAULT_FILTER_TERMS, DEFAULT_ODATA_PATH,
    DEFAULT_PAGE_SIZE,
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
use std::sync::{Arc, OnceLock};

pub use odata::{DEFAULT_MAX_NODE_COUNT, MAX_TOP};

/// Path prefixes of the data API (fault injection goes here; the token endpoint stays healthy).
pub const API_PATHS: &[&str] = &["/0/odata"];
/// The simulator's client id. Demo only: it opens nothing but the simulator.
pub const DEMO_CLIENT_ID: &str = "samlet-demo";
/// The simulator's client secret. Demo only: it opens nothing but the simulator.
pub const DEMO_CLIENT_SECRET: &str = "demo-secret";
/// The lifetime of the tokens it issues, the Identity Service's default.
pub const TOKEN_LIFETIME_SECS: u64 = 3_600;

/// The database behind the simulated instance, which decides how text compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Database {
    /// Microsoft SQL Server: case-insensitive collation, `Email eq 'anna@x.dk'` finds
    /// `Anna@X.dk`.
    #[default]
    MsSql,
    /// PostgreSQL: case-sensitive comparison; only `tolower(Email) eq …` ignores case.
    PostgreSql,
}

/// Options beyond the defaults of [`start`], for tests.
#[derive(Debug, Clone)]
pub struct SimOptions {
    /// The database (text comparison rules). Default: Microsoft SQL Server.
    pub database: Database,
    /// The OData 4 service path: `"/0/odata"` (.NET Framework, the default) or `"/odata"`.
    pub odata_path: String,
    /// The `$filter` node limit (ASP.NET OData's `MaxNodeCount`), 100 by default.
    pub max_node_count: usize,
    /// The tokens the Identity Service issues; keep a clone to revoke them.
    pub tokens: Arc<TokenIssuer>,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            database: Database::MsSql,
            odata_path: DEFAULT_ODATA_PATH.to_owned(),
            max_node_count: DEFAULT_MAX_NODE_COUNT,
            tokens: Arc::default(),
        }
    }
}

/// The simulator's shared state.
pub(crate) struct Sim {
    pub(crate) world: Arc<World>,
    pub(crate) collation: odata::Collation,
    pub(crate) odata_path: String,
    pub(crate) max_node_count: usize,
    tokens: Arc<TokenIssuer>,
    companies: OnceLock<Vec<u32>>,
}

impl Sim {
    /// The indexes of every company, ascending (built on first use).
    pub(crate) fn companies(&self) -> &[u32] {
        self.companies.get_or_init(|| {
            (0..self.world.customer_count())
                .filter(|&i| {
                    self.world.customer(i).kind == samlet_connector::model::CustomerKind::Company
                })
                .collect()
        })
    }
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
    let path = options.odata_path.trim_end_matches('/').to_owned();
    let sim = Arc::new(Sim {
        world,
        collation: match options.database {
            Database::MsSql => odata::Collation::CaseInsensitive,
            Database::PostgreSql => odata::Collation::CaseSensitive,
        },
        odata_path: if path.starts_with('/') {
            path
        } else {
            format!("/{path}")
        },
        max_node_count: options.max_node_count,
        tokens: options.tokens,
        companies: OnceLock::new(),
    });
    SimServer::start(router(sim), vendor_error, port).await
}

/// The body of a TOML table that configures the connector against a simulator at `base_url`
/// with the simulator's demo credentials (the Identity Service at the same address).
pub fn demo_toml(base_url: &str) -> String {
    format!(
        "base_url = \"{base_url}\"\n\
         identity_url = \"{base_url}\"\n\
         client_id = \"{DEMO_CLIENT_ID}\"\n\
         client_secret = \"{DEMO_CLIENT_SECRET}\"\n\
         odata_path = \"{DEFAULT_ODATA_PATH}\"\n"
    )
}

/// The configuration of [`demo_toml`], parsed.
pub fn demo_config(base_url: &str) -> CreatioConfig {
    CreatioConfig {
        base_url: base_url.to_owned(),
        identity_url: base_url.to_owned(),
        client_id: DEMO_CLIENT_ID.to_owned(),
        client_secret: Secret::new(DEMO_CLIENT_SECRET),
        odata_path: DEFAULT_ODATA_PATH.to_owned(),
        page_size: DEFAULT_PAGE_SIZE,
        filter_terms: DEFAULT_FILTER_TERMS,
        email_match: EmailMatch::Collation,
        columns: ColumnNames::default(),
    }
}

fn router(sim: Arc<Sim>) -> Router {
    let p = sim.odata_path.clone();
    let data = Router::new()
        .route(&p, get(service::root))
        .route(&format!("{p}/"), get(service::root))
        .route(&format!("{p}/$batch"), post(service::batch))
        .route(&format!("{p}/{{resource}}"), get(service::resource))
        .route_layer(middleware::from_fn_with_state(sim.clone(), authorize));
    Router::new()
        .route("/connect/token", post(token))
        .merge(data)
        .fallback(not_found)
        .with_state(sim)
}

fn odata_error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        Json(json!({ "error": { "code": code, "message": message } })),
    )
        .into_response()
}

/// The error body for an injected fault.
fn vendor_error(status: StatusCode, message: &str) -> Response {
    let code = match status.as_u16() {
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "NotFound",
        429 => "TooManyRequests",
        503 => "ServiceUnavailable",
        400..=499 => "BadRequest",
        _ => "InternalServerError",
    };
    odata_error(status, code, message)
}

async fn not_found() -> Response {
    odata_error(
        StatusCode::NOT_FOUND,
        "",
        "No HTTP resource was found that matches the request URI.",
    )
}

/// Checks the bearer token of every data call.
async fn authorize(State(sim): State<Arc<Sim>>, req: Request, next: Next) -> Response {
    if bearer(req.headers()).is_some_and(|t| sim.tokens.is_valid(t)) {
        return next.run(req).await;
    }
    let mut resp = odata_error(
        StatusCode::UNAUTHORIZED,
        "Unauthorized",
        "Authorization has been denied for this request.",
    );
    resp.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer error=\"invalid_token\""),
    );
    resp
}

fn oauth_error(error: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        [(header::CACHE_CONTROL, "no-store")],
        Json(json!({ "error": error })),
    )
        .into_response()
}

/// Client credentials from an HTTP Basic `Authorization` header.
fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    use base64_lite::decode;
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = v.strip_prefix("Basic ")?;
    let decoded = String::from_utf8(decode(encoded.trim())?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    let unescape = |s: &str| {
        url::form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    Some((unescape(id), unescape(secret)))
}

/// `POST /connect/token` with `grant_type=client_credentials`.
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
    if let Some((basic_id, basic_secret)) = basic_credentials(&headers) {
        id = Some(basic_id);
        secret = Some(basic_secret);
    }
    if grant.as_deref() != Some("client_credentials") {
        return oauth_error("unsupported_grant_type");
    }
    if id.as_deref() != Some(DEMO_CLIENT_ID) || secret.as_deref() != Some(DEMO_CLIENT_SECRET) {
        return oauth_error("invalid_client");
    }
    let access_token = sim.tokens.issue("eyJhbGciOiJSUzI1NiJ9.sim.");
    (
        [(header::CACHE_CONTROL, "no-store")],
        Json(json!({
            "access_token": access_token,
            "expires_in": TOKEN_LIFETIME_SECS,
            "token_type": "Bearer",
            "scope": "ApplicationAccess_5a11e7c0ffee",
        })),
    )
        .into_response()
}

/// A small standard base64 decoder for HTTP Basic credentials (the crate avoids a dependency
/// for these few lines).
mod base64_lite {
    fn value(c: u8) -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    }

    /// Decodes padded or unpadded standard base64; `None` on any other character.
    pub(super) fn decode(s: &str) -> Option<Vec<u8>> {
        let s = s.trim_end_matches('=');
        let mut out = Vec::with_capacity(s.len() * 3 / 4);
        let mut acc = 0u32;
        let mut bits = 0;
        for c in s.bytes() {
            acc = (acc << 6) | value(c)?;
            bits += 6;
            if bits >= 8 {
                bits -= 8;
                out.push((acc >> bits) as u8);
                acc &= (1 << bits) - 1;
            }
        }
        Some(out)
    }

    #[cfg(test)]
    mod tests {
        #[test]
        fn basic_credentials_decode() {
            assert_eq!(
                super::decode("c2FtbGV0LWRlbW86ZGVtby1zZWNyZXQ=").unwrap(),
                b"samlet-demo:demo-secret"
            );
            assert_eq!(super::decode("!!"), None);
        }
    }
}
