//! A simulator of Business Central API v2.0 and the Samlet extension's custom API, with the
//! Microsoft Entra ID token endpoint in front, serving the world's ERP slice.
//!
//! - `POST /{tenant}/oauth2/v2.0/token`: client credentials; wrong tenant, app, secret or
//!   scope answer like Entra ID (`AADSTS90002`, `AADSTS700016`, `AADSTS7000215`,
//!   `AADSTS70011`).
//! - `GET /v2.0/{tenant}/{environment}/api/v2.0/companies` and
//!   `.../api/v2.0/companies({id})/salesOrders`: the standard API.
//! - `GET /v2.0/{tenant}/{environment}/api/samlet/commerce/v1.0/companies({id})/{customers|itemPrices|itemStockByLocation|locations|salesOrderTracking|salesQuoteTracking}`:
//!   the extension's pages.
//! - `GET .../api/v2.0/companies({id})/{salesQuotes|itemVariants}`, and the writes in
//!   `writes`: `POST salesQuotes`, `POST salesOrders` (deep inserts), `POST
//!   salesQuotes({id})/Microsoft.NAV.makeOrder`, `PATCH salesQuoteTracking({id})` and
//!   `PATCH salesOrderTracking({id})`, over the write state in `journal`.
//!
//! Query options, filter rules and paging are in [`odata`](self) (see the crate docs for what
//! is not simulated). Error bodies are OData's `{"error":{"code","message"}}`, and injected
//! faults use the same shape.

mod entities;
mod journal;
mod odata;
mod webhooks;
mod writes;

use crate::config::{BusinessCentralConfig, DEFAULT_CUSTOM_API, DEFAULT_SCOPE};
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::Method;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, post};
use axum::Router;
use entities::{entity_set, Db, Route, Rows};
use journal::Journal;
use odata::{FilterExt, ODataError, Position};
use samlet_testkit::sim::{bearer, SimServer, TokenIssuer};
use samlet_testkit::World;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// Path prefixes of the data API (used by fault-injection tests so token endpoints stay healthy).
pub const API_PATHS: &[&str] = &["/v2.0/"];
/// The simulator's Entra ID tenant.
pub const DEMO_TENANT: &str = "samlet-demo-tenant";
/// The simulator's environment.
pub const DEMO_ENVIRONMENT: &str = "production";
/// The simulator's one company.
pub const DEMO_COMPANY_ID: &str = "5a3c1e9b-7f2d-4c8e-9b1a-0d6e2f4a8c10";
/// The app registration the simulator accepts.
pub const DEMO_CLIENT_ID: &str = "samlet-demo";
/// Its secret.
pub const DEMO_CLIENT_SECRET: &str = "demo-secret";
/// Lifetime of issued tokens, as Entra ID reports it.
pub const TOKEN_LIFETIME_SECS: u64 = 3599;

#[derive(Clone)]
struct Sim {
    world: Arc<World>,
    tokens: Arc<TokenIssuer>,
    journal: Arc<RwLock<Journal>>,
    /// Sends webhook handshakes and notifications.
    http: reqwest::Client,
}

impl Sim {
    /// The write state, for reading (reads run in parallel).
    fn journal(&self) -> RwLockReadGuard<'_, Journal> {
        self.journal.read().unwrap_or_else(|e| e.into_inner())
    }

    /// The write state, for a write.
    fn journal_mut(&self) -> RwLockWriteGuard<'_, Journal> {
        self.journal.write().unwrap_or_else(|e| e.into_inner())
    }
}

/// A handle on the simulator's write state, for tests: lose the responses of coming writes
/// (the write commits, the client never hears of it) and count what was written.
#[derive(Clone)]
pub struct SimWrites {
    journal: Arc<RwLock<Journal>>,
}

impl SimWrites {
    fn journal(&self) -> RwLockWriteGuard<'_, Journal> {
        self.journal.write().unwrap_or_else(|e| e.into_inner())
    }

    /// The next `n` writes (POST, PATCH, bound actions) commit, and then their response is
    /// lost: the client gets Business Central's 504 `GatewayTimeout` instead, as when the
    /// front end gives up on a request the server went on to finish.
    pub fn lose_next_responses(&self, n: u32) {
        self.journal().lose_next = n;
    }

    /// Sales quotes created so far (converted ones included).
    pub fn quotes_created(&self) -> usize {
        self.journal().quotes.len()
    }

    /// Sales orders created so far (placed or converted from quotes).
    pub fn orders_created(&self) -> usize {
        self.journal().orders.len()
    }
}

/// Starts the simulator serving `world` on 127.0.0.1:`port` (0 = free port).
pub async fn start(world: Arc<World>, port: u16) -> std::io::Result<SimServer> {
    Ok(start_with_tokens(world, port).await?.0)
}

/// Like [`start`], and also returns the token issuer, so a test can revoke every issued token
/// (to see the connector fetch a new one after a 401).
pub async fn start_with_tokens(
    world: Arc<World>,
    port: u16,
) -> std::io::Result<(SimServer, Arc<TokenIssuer>)> {
    let (server, tokens, _) = start_full(world, port).await?;
    Ok((server, tokens))
}

/// Like [`start`], and also returns the handle on the write state.
pub async fn start_with_writes(
    world: Arc<World>,
    port: u16,
) -> std::io::Result<(SimServer, SimWrites)> {
    let (server, _, writes) = start_full(world, port).await?;
    Ok((server, writes))
}

async fn start_full(
    world: Arc<World>,
    port: u16,
) -> std::io::Result<(SimServer, Arc<TokenIssuer>, SimWrites)> {
    let tokens = Arc::new(TokenIssuer::default());
    let journal = Arc::new(RwLock::new(Journal::default()));
    let sim = Sim {
        world,
        tokens: tokens.clone(),
        journal: journal.clone(),
        http: reqwest::Client::new(),
    };
    let router = Router::new()
        .route("/{tenant}/oauth2/v2.0/token", post(token))
        .route("/v2.0/{*rest}", any(api))
        .route("/_sim/orders/{number}/ship", post(ship))
        .route("/_sim/stock/{sku}", post(count_stock))
        .route(
            "/_sim/subscriptions",
            axum::routing::get(|State(sim): State<Sim>| async move { webhooks::list(&sim) }),
        )
        .fallback(|uri: Uri| async move {
            odata_error(
                StatusCode::NOT_FOUND,
                "BadRequest_ResourceNotFound",
                &format!(
                    "No HTTP resource was found that matches the request URI '{}'.",
                    uri.path()
                ),
            )
        })
        .with_state(sim);
    let server = SimServer::start(router, vendor_errors, port).await?;
    Ok((server, tokens, SimWrites { journal }))
}

/// The simulator's stand-in for the warehouse: posts a shipment of a placed order (all lines),
/// as Business Central does when the warehouse ships it. Not part of Business Central's API:
/// `POST /_sim/orders/{number}/ship` with `{"carrier", "trackingNumber", "trackingUrl"}`.
async fn ship(
    State(sim): State<Sim>,
    axum::extract::Path(number): axum::extract::Path<String>,
    axum::Json(body): axum::Json<serde_json::Value>,
) -> Response {
    let field = |k: &str| {
        body.get(k)
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_owned()
    };
    let (carrier, tracking_number, url) = (
        field("carrier"),
        field("trackingNumber"),
        field("trackingUrl"),
    );
    if carrier.is_empty() || tracking_number.is_empty() {
        return (StatusCode::BAD_REQUEST, "give carrier and trackingNumber").into_response();
    }
    let id = {
        let mut j = sim.journal_mut();
        let now = j.tick(&sim.world);
        let Some(o) = j.orders.iter_mut().find(|o| o.number == number) else {
            return (StatusCode::NOT_FOUND, "no placed order has that number").into_response();
        };
        o.shipment = Some(journal::PostedShipment {
            number: format!("PS-{number}"),
            shipped_at: now,
            carrier,
            tracking_address: match url.strip_suffix(&tracking_number) {
                Some(prefix) => format!("{prefix}%1"),
                None => url,
            },
            tracking_number,
        });
        o.version += 1;
        entities::placed_order_guid(&sim.world, o)
    };
    // Business Central notifies subscribers of the changed sales order.
    webhooks::notify(&sim, webhooks::Changed::SalesOrder(&id)).await;
    StatusCode::NO_CONTENT.into_response()
}

/// The simulator's stand-in for a stock count: sets the on-hand quantity of a SKU at a
/// location (as posting an item journal would) and notifies webhook subscribers of the
/// extension's stock page. Not part of Business Central's API: `POST /_sim/stock/{sku}` with
/// `{"location": "DK-CPH", "onHand": 12}`.
async fn count_stock(
    State(sim): State<Sim>,
    axum::extract::Path(sku): axum::extract::Path<String>,
    axum::Json(body): axum::Json<serde_json::Value>,
) -> Response {
    let location = body
        .get("location")
        .and_then(|v| v.as_str())
        .unwrap_or("")
        .to_owned();
    let Some(on_hand) = body
        .get("onHand")
        .and_then(|v| v.as_i64())
        .filter(|n| *n >= 0)
    else {
        return (StatusCode::BAD_REQUEST, "give onHand, a whole number >= 0").into_response();
    };
    let stocked = sim
        .world
        .stock(&samlet_connector::ids::Sku::new(sku.as_str()))
        .is_some_and(|levels| levels.iter().any(|l| l.location.as_str() == location));
    if !stocked {
        return (
            StatusCode::NOT_FOUND,
            "no stock row for that SKU and location",
        )
            .into_response();
    }
    sim.journal_mut()
        .counted
        .insert((sku.clone(), location.clone()), on_hand);
    let sku = samlet_connector::ids::Sku::new(sku.as_str());
    let (item, variant) = entities::split_sku(&sku);
    webhooks::notify(
        &sim,
        webhooks::Changed::Stock {
            item,
            variant,
            location: &location,
        },
    )
    .await;
    StatusCode::NO_CONTENT.into_response()
}

/// The body of a TOML table (lines `key = value`, no table header, no `kind` key) that
/// configures the connector against a simulator at `base_url` with the simulator's demo credentials.
pub fn demo_toml(base_url: &str) -> String {
    let base = base_url.trim_end_matches('/');
    format!(
        "tenant = \"{DEMO_TENANT}\"\n\
         environment = \"{DEMO_ENVIRONMENT}\"\n\
         company_id = \"{DEMO_COMPANY_ID}\"\n\
         client_id = \"{DEMO_CLIENT_ID}\"\n\
         client_secret = \"{DEMO_CLIENT_SECRET}\"\n\
         api_url = \"{base}\"\n\
         authority_url = \"{base}\"\n\
         custom_api = \"{DEFAULT_CUSTOM_API}\"\n\
         local_currency = \"DKK\"\n"
    )
}

/// The same, but parsed (the config with demo credentials for `base_url`).
pub fn demo_config(base_url: &str) -> BusinessCentralConfig {
    toml::from_str(&demo_toml(base_url)).expect("the demo TOML is a valid configuration")
}

// ---------------------------------------------------------------------------------------------
// Error bodies.

static CORRELATION: AtomicU64 = AtomicU64::new(1);

fn correlation_id() -> String {
    let n = CORRELATION.fetch_add(1, Ordering::Relaxed);
    format!("c0ffee00-0000-4000-8000-{n:012x}")
}

fn odata_error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = json!({
        "error": {
            "code": code,
            "message": format!("{message}  CorrelationId:  {}.", correlation_id()),
        }
    });
    let mut resp = (status, axum::Json(body)).into_response();
    if status == StatusCode::UNAUTHORIZED {
        resp.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static(
                "Bearer authorization_uri=\"https://login.microsoftonline.com/common/oauth2/authorize\", resource_id=\"https://api.businesscentral.dynamics.com\"",
            ),
        );
    }
    resp
}

/// Business Central's error body for an HTTP status (used for injected faults too). Codes
/// follow the documented families (`BadRequest_*`, `Authentication_*`, `Internal_*`, ...);
/// the ones for 429 and 503, which the documentation does not list, are approximations.
fn vendor_errors(status: StatusCode, message: &str) -> Response {
    let code = match status.as_u16() {
        400 => "BadRequest",
        401 => "Authentication_InvalidCredentials",
        403 => "Authorization_InsufficientPermissions",
        404 => "BadRequest_ResourceNotFound",
        408 => "RequestTimeout",
        409 => "Request_EntityChanged",
        429 => "TooManyRequests",
        503 => "Internal_ServiceUnavailable",
        504 => "GatewayTimeout",
        _ => "Internal_ServerError",
    };
    odata_error(status, code, message)
}

fn answer(e: ODataError) -> Response {
    odata_error(e.status, e.code, &e.message)
}

fn entra_error(status: StatusCode, error: &str, code: u32, description: &str) -> Response {
    let trace = correlation_id();
    let body = json!({
        "error": error,
        "error_description": format!(
            "AADSTS{code}: {description} Trace ID: {trace} Correlation ID: {trace} Timestamp: 2025-01-01 00:00:00Z"
        ),
        "error_codes": [code],
        "timestamp": "2025-01-01 00:00:00Z",
        "trace_id": trace,
        "correlation_id": trace,
        "error_uri": format!("https://login.microsoftonline.com/error?code={code}"),
    });
    (status, axum::Json(body)).into_response()
}

// ---------------------------------------------------------------------------------------------
// Entra ID.

async fn token(State(sim): State<Sim>, Path(tenant): Path<String>, body: String) -> Response {
    let form: std::collections::HashMap<String, String> =
        url::form_urlencoded::parse(body.as_bytes())
            .into_owned()
            .collect();
    let field = |k: &str| form.get(k).map(String::as_str).unwrap_or("");
    if tenant != DEMO_TENANT {
        return entra_error(
            StatusCode::BAD_REQUEST,
            "invalid_tenant",
            90002,
            &format!("Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud."),
        );
    }
    if field("grant_type").is_empty() {
        return entra_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'grant_type'.",
        );
    }
    if field("grant_type") != "client_credentials" {
        return entra_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            70003,
            "The app requested an unsupported grant type.",
        );
    }
    if field("client_id") != DEMO_CLIENT_ID {
        return entra_error(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            700016,
            &format!(
                "Application with identifier '{}' was not found in the directory '{tenant}'.",
                field("client_id")
            ),
        );
    }
    if field("client_secret") != DEMO_CLIENT_SECRET {
        return entra_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            7000215,
            &format!("Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{DEMO_CLIENT_ID}'."),
        );
    }
    if field("scope") != DEFAULT_SCOPE {
        return entra_error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            70011,
            &format!(
                "The provided value for the input parameter 'scope' is not valid. The scope {} is not valid.",
                field("scope")
            ),
        );
    }
    let access_token = sim
        .tokens
        .issue("eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.sim.");
    axum::Json(json!({
        "token_type": "Bearer",
        "expires_in": TOKEN_LIFETIME_SECS,
        "ext_expires_in": TOKEN_LIFETIME_SECS,
        "access_token": access_token,
    }))
    .into_response()
}

// ---------------------------------------------------------------------------------------------
// The API.

fn not_found(uri: &Uri) -> Response {
    odata_error(
        StatusCode::NOT_FOUND,
        "BadRequest_ResourceNotFound",
        &format!(
            "No HTTP resource was found that matches the request URI '{}'.",
            uri.path()
        ),
    )
}

async fn api(
    State(sim): State<Sim>,
    Path(rest): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if !bearer(&headers).is_some_and(|t| sim.tokens.is_valid(t)) {
        return odata_error(
            StatusCode::UNAUTHORIZED,
            "Authentication_InvalidCredentials",
            "The server has rejected the client credentials.",
        );
    }
    let seg: Vec<&str> = rest.split('/').collect();
    if seg.len() < 4 || seg[2] != "api" {
        return not_found(&uri);
    }
    if seg[0] != DEMO_TENANT {
        return odata_error(
            StatusCode::UNAUTHORIZED,
            "Authentication_InvalidCredentials",
            "The server has rejected the client credentials.",
        );
    }
    if seg[1] != DEMO_ENVIRONMENT {
        return odata_error(
            StatusCode::NOT_FOUND,
            "BadRequest_ResourceNotFound",
            &format!(
                "Environment '{}' was not found for tenant '{DEMO_TENANT}'.",
                seg[1]
            ),
        );
    }
    let custom: Vec<&str> = DEFAULT_CUSTOM_API.split('/').collect();
    let (route, path) = if seg[3] == "v2.0" {
        (Route::Standard, &seg[4..])
    } else if seg.len() >= 6 && seg[3..6] == custom[..] {
        (Route::Custom, &seg[6..])
    } else {
        return not_found(&uri);
    };
    match path {
        ["companies"] if route == Route::Standard && method == Method::GET => {
            companies(&uri, &headers)
        }
        ["subscriptions"] if route == Route::Standard && method == Method::POST => {
            webhooks::subscribe(&sim, &body).await
        }
        [one]
            if route == Route::Standard
                && method == Method::PATCH
                && one.starts_with("subscriptions(") =>
        {
            let if_match = headers.get(header::IF_MATCH).and_then(|v| v.to_str().ok());
            webhooks::renew(&sim, one, if_match, &body).await
        }
        [company, rest @ ..] if method != Method::GET => {
            if let Some(resp) = check_company(company, &uri) {
                return resp;
            }
            writes::handle(&sim, &method, route, rest, &uri, &headers, &body)
        }
        [company, entity] => {
            let id = company
                .strip_prefix("companies(")
                .and_then(|c| c.strip_suffix(')'));
            match id {
                Some(id) if id == DEMO_COMPANY_ID => {}
                Some(_) => {
                    return odata_error(
                        StatusCode::NOT_FOUND,
                        "Internal_CompanyNotFound",
                        "Cannot process the request because the specified company cannot be found.",
                    )
                }
                None => return not_found(&uri),
            }
            let name = entity.split('(').next().unwrap_or(entity);
            let Some(set) = entity_set(route, name) else {
                return odata_error(
                    StatusCode::NOT_FOUND,
                    "BadRequest_ResourceNotFound",
                    &format!("Resource not found for the segment '{name}'."),
                );
            };
            if name != *entity {
                return answer(ODataError::not_implemented(
                    "The simulator serves collections only, not single entities by key.",
                ));
            }
            let journal = sim.journal();
            let db = Db {
                world: &sim.world,
                journal: &journal,
            };
            match collection(&db, set, &uri, &headers) {
                Ok(resp) => resp,
                Err(e) => answer(e),
            }
        }
        _ => not_found(&uri),
    }
}

/// `None` when `segment` is `companies({the demo company})`, else the error to answer.
fn check_company(segment: &str, uri: &Uri) -> Option<Response> {
    let id = segment
        .strip_prefix("companies(")
        .and_then(|c| c.strip_suffix(')'));
    match id {
        Some(id) if id == DEMO_COMPANY_ID => None,
        Some(_) => Some(odata_error(
            StatusCode::NOT_FOUND,
            "Internal_CompanyNotFound",
            "Cannot process the request because the specified company cannot be found.",
        )),
        None => Some(not_found(uri)),
    }
}

fn host(headers: &HeaderMap) -> String {
    headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1")
        .to_owned()
}

fn json_response(body: Value, preference: Option<usize>) -> Response {
    let mut resp = Response::new(Body::from(body.to_string()));
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; odata.metadata=minimal; odata.streaming=true"),
    );
    h.insert("odata-version", HeaderValue::from_static("4.0"));
    if let Some(n) = preference {
        if let Ok(v) = HeaderValue::from_str(&format!("odata.maxpagesize={n}")) {
            h.insert("preference-applied", v);
        }
    }
    resp
}

fn companies(uri: &Uri, headers: &HeaderMap) -> Response {
    let context = format!(
        "http://{}{}/$metadata#companies",
        host(headers),
        uri.path().trim_end_matches("/companies")
    );
    json_response(
        json!({
            "@odata.context": context,
            "value": [{
                "id": DEMO_COMPANY_ID,
                "systemVersion": "25.0.23364.25215",
                "timestamp": 3205,
                "name": "Samlet Demo A/S",
                "displayName": "Samlet Demo A/S",
                "businessProfileId": "",
                "systemCreatedAt": "2024-01-01T08:00:00Z",
                "systemCreatedBy": "00000000-0000-0000-0000-000000000001",
                "systemModifiedAt": "2024-01-01T08:00:00Z",
                "systemModifiedBy": "00000000-0000-0000-0000-000000000001",
            }],
        }),
        None,
    )
}

/// Answers a collection request: validates the query options the way Business Central does,
/// selects rows, sorts, pages, shapes and links to the next page.
fn collection(
    db: &Db,
    set: &entities::EntitySet,
    uri: &Uri,
    headers: &HeaderMap,
) -> Result<Response, ODataError> {
    let raw_query = uri.query().unwrap_or("");
    let params: Vec<(String, String)> = url::form_urlencoded::parse(raw_query.as_bytes())
        .into_owned()
        .collect();
    let mut filter = None;
    let mut expand = Vec::new();
    let mut select: Option<Vec<String>> = None;
    let mut orderby = Vec::new();
    let mut top = None;
    let mut position = Position::default();
    for (k, v) in &params {
        match k.as_str() {
            "$filter" => filter = Some(odata::parse_filter(v)?),
            "$expand" => expand = odata::parse_expand(v)?,
            "$select" => select = Some(odata::parse_list(v)),
            "$orderby" => orderby = odata::parse_orderby(v)?,
            "$top" => {
                top = Some(v.parse::<usize>().map_err(|_| {
                    ODataError::bad_request(
                        "BadRequest_InvalidRequestUrl",
                        format!("Invalid value '{v}' for $top query option found."),
                    )
                })?)
            }
            "$skiptoken" => position = Position::parse(v)?,
            "$skip" | "$count" | "$search" | "$apply" | "$compute" => {
                return Err(ODataError::not_implemented(format!(
                    "The simulator does not implement the {k} query option."
                )))
            }
            k if k.starts_with('$') => {
                return Err(ODataError::bad_request(
                    "BadRequest_InvalidRequestUrl",
                    format!("The query parameter '{k}' is not supported."),
                ))
            }
            _ => {}
        }
    }
    let unknown = |name: &str| {
        ODataError::bad_request(
            "BadRequest_NotFound",
            format!(
                "Could not find a property named '{name}' on type 'Microsoft.NAV.{}'.",
                set.type_name
            ),
        )
    };
    if let Some(f) = &filter {
        if f.node_count(&odata::DIALECT) > odata::MAX_NODE_COUNT {
            return Err(ODataError::bad_request(
                "BadRequest_InvalidRequestUrl",
                format!(
                    "The node count limit of '{}' has been exceeded. To increase the limit, set the 'MaxNodeCount' property on EnableQueryAttribute or ODataValidationSettings.",
                    odata::MAX_NODE_COUNT
                ),
            ));
        }
        let mut props = std::collections::BTreeSet::new();
        f.properties(&mut props);
        if let Some(p) = props.iter().find(|p| !set.fields.contains(&p.as_str())) {
            return Err(unknown(p));
        }
        f.check_or()?;
        let mut texts = Vec::new();
        f.compared_texts(&mut texts);
        for (field, value) in texts {
            if let Some((_, max)) = set.lengths.iter().find(|(f, _)| *f == field) {
                let n = value.chars().count();
                if n > *max {
                    return Err(ODataError::bad_request(
                        "Application_FilterErrorException",
                        format!(
                            "The filter \"'{value}'\" is not valid for the {field} field on the {} table. The length of the string is {n}, but it must be less than or equal to {max} characters. Value: {value}",
                            set.type_name
                        ),
                    ));
                }
            }
        }
    }
    if let Some((f, _)) = orderby
        .iter()
        .find(|(f, _)| !set.fields.contains(&f.as_str()))
    {
        return Err(unknown(f));
    }
    odata::check_expand(&expand, set.navs, set.type_name)?;
    if let Some(s) = &select {
        if let Some(f) = s.iter().find(|f| {
            !set.fields.contains(&f.as_str()) && !set.navs.iter().any(|n| n.name == f.as_str())
        }) {
            return Err(unknown(f));
        }
    }

    let prefer = headers.get("prefer").and_then(|p| p.to_str().ok());
    let (page, asked) = odata::page_size(prefer);
    let remaining = top.map(|t| t.saturating_sub(position.emitted));
    let take = remaining.map_or(page, |r| r.min(page));
    let mut out = Vec::new();
    let mut next = None;
    let rows = match set.rows(db, filter.as_ref()) {
        Rows::Scan(1) => Rows::Candidates(set.group(db, 0)),
        other => other,
    };
    match rows {
        Rows::Candidates(mut rows) => {
            if let Some(f) = &filter {
                rows.retain(|r| f.matches(r));
            }
            odata::sort_rows(&mut rows, &orderby);
            for (k, r) in rows.into_iter().enumerate().skip(position.group as usize) {
                if out.len() == take {
                    next = Some(Position {
                        group: k as u64,
                        offset: 0,
                        emitted: position.emitted + out.len(),
                    });
                    break;
                }
                out.push(r);
            }
        }
        Rows::Scan(groups) => {
            if !orderby.is_empty() {
                return Err(ODataError::not_implemented(
                    "The simulator sorts only filtered results (filter on a key field) or small entity sets.",
                ));
            }
            let mut g = position.group;
            let mut skip = position.offset;
            'scan: while g < groups {
                for (o, r) in set.group(db, g).into_iter().enumerate().skip(skip) {
                    if !filter.as_ref().is_none_or(|f| f.matches(&r)) {
                        continue;
                    }
                    if out.len() == take {
                        next = Some(Position {
                            group: g,
                            offset: o,
                            emitted: position.emitted + out.len(),
                        });
                        break 'scan;
                    }
                    out.push(r);
                }
                skip = 0;
                g += 1;
            }
        }
    }
    if remaining.is_some_and(|r| out.len() >= r) {
        next = None;
    }
    for r in &mut out {
        odata::shape(r, set.navs, &expand, select.as_deref());
    }
    let host = host(headers);
    let path = uri.path();
    let company_path = path.rsplit_once('/').map(|(p, _)| p).unwrap_or(path);
    let (api_root, company) = company_path.rsplit_once('/').unwrap_or((company_path, ""));
    let mut body = json!({
        "@odata.context": format!("http://{host}{api_root}/$metadata#{company}/{}", set.name),
        "value": out,
    });
    if let Some(pos) = next {
        let kept: Vec<&str> = raw_query
            .split('&')
            .filter(|p| {
                !p.is_empty()
                    && url::form_urlencoded::parse(p.as_bytes())
                        .next()
                        .is_none_or(|(k, _)| k != "$skiptoken")
            })
            .collect();
        let mut query = kept.join("&");
        if !query.is_empty() {
            query.push('&');
        }
        query.push_str(&format!("%24skiptoken={}", pos.token()));
        body["@odata.nextLink"] = Value::String(format!("http://{host}{path}?{query}"));
    }
    Ok(json_response(body, asked.then_some(page)))
}
