//! A simulator of an Optimizely Customized Commerce site's Service API (and the Samlet add-on's
//! customer lookup), serving the world's commerce slice: the catalogue, prices, stock per
//! warehouse, warehouses, customer contacts of the ERP slice (people who bought, and companies)
//! and their purchase orders.
//!
//! - `POST /episerverapi/token`: the OWIN password grant (`grant_type=password&username&password`,
//!   form encoded) -> `{access_token, token_type: "bearer", expires_in}`; a wrong user or
//!   password is `400 {"error":"invalid_grant","error_description":...}`.
//! - `GET /episerverapi/commerce/...` with `Authorization: Bearer`: see [`catalog`], [`orders`]
//!   and [`customers`] for the routes; carts (`GET`/`PUT`/`DELETE`) and `POST /orders` are in
//!   [`writes`]. A missing or unknown token is
//!   `401 {"Message":"Authorization has been denied for this request."}`; an unknown entity is a
//!   bare 404 (Web API's `NotFound()`); an unknown route is 404 with Web API's
//!   "No HTTP resource was found" message. Error bodies (also of injected faults) are Web API's
//!   `{"Message": ...}`.
//!
//! The Service API publishes no rate limits (it runs inside the customer's site) and sends no
//! rate-limit headers, so none are simulated; 429s come from fault injection only.

pub mod catalog;
pub mod customers;
pub mod orders;
pub mod writes;

use crate::config::OptimizelyConfig;
use axum::body::Body;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, post};
use axum::Router;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use samlet_testkit::sim::{bearer, SimServer, TokenIssuer};
use samlet_testkit::World;
use serde_json::{json, Value};
use std::sync::Arc;

/// Path prefixes of the data API (used by fault-injection tests so token endpoints stay healthy).
pub const API_PATHS: &[&str] = &["/episerverapi/commerce"];
/// The API user the simulator accepts.
pub const DEMO_USERNAME: &str = "samlet-demo";
/// Its password.
pub const DEMO_PASSWORD: &str = "demo-password";
/// Lifetime of issued tokens (the OWIN authorization server's default of 20 minutes, less the
/// second it reports).
pub const TOKEN_LIFETIME_SECS: u64 = 1199;
/// The order number prefix of the simulated site's order number generator.
pub const DEMO_ORDER_NUMBER_PREFIX: &str = "SO";

#[derive(Clone)]
pub(crate) struct Sim {
    pub(crate) world: Arc<World>,
    pub(crate) tokens: Arc<TokenIssuer>,
    pub(crate) catalog: Arc<catalog::CatalogIndex>,
    pub(crate) writes: Arc<writes::Writes>,
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
    let (server, tokens, _) = start_with_state(world, port).await?;
    Ok((server, tokens))
}

/// Like [`start`], and also returns the token issuer and the write state (created carts and
/// orders, reservations, and the switch that loses the answers of the next writes).
pub async fn start_with_state(
    world: Arc<World>,
    port: u16,
) -> std::io::Result<(SimServer, Arc<TokenIssuer>, Arc<writes::Writes>)> {
    let tokens = Arc::new(TokenIssuer::default());
    let state = Arc::new(writes::Writes::new(&world));
    let sim = Sim {
        catalog: Arc::new(catalog::CatalogIndex::new(&world)),
        world,
        tokens: tokens.clone(),
        writes: state.clone(),
    };
    let router = Router::new()
        .route("/episerverapi/token", post(token))
        .route("/episerverapi/commerce/{*rest}", any(api))
        .route("/_sim/orders/{number}/ship", post(ship))
        .fallback(|uri: Uri, headers: HeaderMap| async move { no_route(&uri, &headers) })
        .with_state(sim);
    let server = SimServer::start(router, vendor_errors, port).await?;
    Ok((server, tokens, state))
}

/// The simulator's stand-in for the warehouse: ships a created order (see
/// [`writes::Writes::ship`]). Not part of the Service API: `POST /_sim/orders/{number}/ship`
/// with `{"carrier", "trackingNumber", "trackingUrl"}`.
async fn ship(
    State(sim): State<Sim>,
    axum::extract::Path(number): axum::extract::Path<String>,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    let field = |k: &str| body.get(k).and_then(|v| v.as_str()).unwrap_or("");
    let (carrier, tracking) = (field("carrier"), field("trackingNumber"));
    if carrier.is_empty() || tracking.is_empty() {
        return (StatusCode::BAD_REQUEST, "give carrier and trackingNumber").into_response();
    }
    if sim
        .writes
        .ship(&sim.world, &number, carrier, tracking, field("trackingUrl"))
    {
        StatusCode::NO_CONTENT.into_response()
    } else {
        (StatusCode::NOT_FOUND, "no created order has that number").into_response()
    }
}

/// The body of a TOML table (lines `key = value`, no table header, no `kind` key) that
/// configures the connector against a simulator at `base_url` with the simulator's demo credentials.
pub fn demo_toml(base_url: &str) -> String {
    let base = base_url.trim_end_matches('/');
    format!(
        "site_url = \"{base}\"\n\
         username = \"{DEMO_USERNAME}\"\n\
         password = \"{DEMO_PASSWORD}\"\n\
         order_number_prefix = \"{DEMO_ORDER_NUMBER_PREFIX}\"\n"
    )
}

/// The same, but parsed (the config with demo credentials for `base_url`). Built through serde
/// from the same keys as [`demo_toml`] (a test checks both agree), so the library needs no TOML
/// parser.
pub fn demo_config(base_url: &str) -> OptimizelyConfig {
    serde_json::from_value(json!({
        "site_url": base_url.trim_end_matches('/'),
        "username": DEMO_USERNAME,
        "password": DEMO_PASSWORD,
        "order_number_prefix": DEMO_ORDER_NUMBER_PREFIX,
    }))
    .expect("the demo configuration is valid")
}

// ---------------------------------------------------------------------------------------------
// Wire helpers shared by the routes.

/// A JSON response as ASP.NET Web API sends it.
pub(crate) fn json_response(status: StatusCode, body: &Value) -> Response {
    let mut resp = Response::new(Body::from(body.to_string()));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    resp
}

/// `200` with `body`.
pub(crate) fn ok(body: &Value) -> Response {
    json_response(StatusCode::OK, body)
}

/// Web API's `HttpError` body.
pub(crate) fn web_api_error(status: StatusCode, message: &str) -> Response {
    json_response(status, &json!({ "Message": message }))
}

/// Web API's bare `NotFound()`: an entity that does not exist.
pub(crate) fn not_found() -> Response {
    StatusCode::NOT_FOUND.into_response()
}

/// A 400 with Web API's model-state style message.
pub(crate) fn bad_request(detail: &str) -> Response {
    json_response(
        StatusCode::BAD_REQUEST,
        &json!({ "Message": "The request is invalid.", "MessageDetail": detail }),
    )
}

/// The Service API's error body for an HTTP status (used for injected faults too).
fn vendor_errors(status: StatusCode, message: &str) -> Response {
    web_api_error(status, message)
}

fn host(headers: &HeaderMap) -> String {
    headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1")
        .to_owned()
}

fn no_route(uri: &Uri, headers: &HeaderMap) -> Response {
    let full = format!("http://{}{}", host(headers), uri.path());
    json_response(
        StatusCode::NOT_FOUND,
        &json!({
            "Message": format!("No HTTP resource was found that matches the request URI '{full}'."),
            "MessageDetail": format!("No route providing a controller name was found to match request URI '{full}'"),
        }),
    )
}

/// A decimal as a JSON number, the way Json.NET writes a `decimal`.
pub(crate) fn num(d: Decimal) -> Value {
    serde_json::from_str::<serde_json::Number>(&d.normalize().to_string())
        .map(Value::Number)
        .unwrap_or(Value::Null)
}

/// A UTC `DateTime` as Json.NET writes it.
pub(crate) fn time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// The three-letter country code Optimizely stores for a world (alpha-2) country.
pub(crate) fn alpha3(country: &str) -> &'static str {
    match country {
        "DK" => "DNK",
        "SE" => "SWE",
        "NO" => "NOR",
        "FI" => "FIN",
        _ => "DNK",
    }
}

/// The English name of a world country.
pub(crate) fn country_name(country: &str) -> &'static str {
    match country {
        "DK" => "Denmark",
        "SE" => "Sweden",
        "NO" => "Norway",
        "FI" => "Finland",
        _ => "Denmark",
    }
}

/// splitmix64, for deterministic ids.
pub(crate) fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A deterministic GUID that carries `n` in its last group, salted per kind of record.
pub(crate) fn guid(salt: u64, n: u64) -> String {
    let h = mix(n ^ salt.rotate_left(17));
    format!(
        "{:08x}-{:04x}-4{:03x}-{:x}{:03x}-{:012x}",
        (h >> 32) as u32,
        (h >> 16) & 0xffff,
        h & 0xfff,
        8 + ((h >> 12) & 3),
        (h >> 20) & 0xfff,
        n & 0xffff_ffff_ffff
    )
}

/// The `n` of a GUID made by [`guid`] with `salt`, if it is one.
pub(crate) fn guid_number(salt: u64, id: &str) -> Option<u64> {
    let id = id.trim().trim_start_matches('{').trim_end_matches('}');
    let last = id.rsplit('-').next()?;
    let n = u64::from_str_radix(last, 16).ok()?;
    (guid(salt, n).eq_ignore_ascii_case(id)).then_some(n)
}

// ---------------------------------------------------------------------------------------------
// The OWIN token endpoint.

fn oauth_error(error: &str, description: Option<&str>) -> Response {
    let mut body = json!({ "error": error });
    if let Some(d) = description {
        body["error_description"] = Value::String(d.to_owned());
    }
    let mut resp = json_response(StatusCode::BAD_REQUEST, &body);
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    resp
}

async fn token(State(sim): State<Sim>, body: String) -> Response {
    let form: std::collections::HashMap<String, String> =
        url::form_urlencoded::parse(body.as_bytes())
            .into_owned()
            .collect();
    let field = |k: &str| form.get(k).map(String::as_str).unwrap_or("");
    match field("grant_type") {
        "password" => {}
        "" => return oauth_error("invalid_request", None),
        _ => return oauth_error("unsupported_grant_type", None),
    }
    if field("username") != DEMO_USERNAME || field("password") != DEMO_PASSWORD {
        return oauth_error(
            "invalid_grant",
            Some("The user name or password is incorrect."),
        );
    }
    let access_token = sim.tokens.issue("svcapi.");
    let now = Utc::now();
    let mut resp = ok(&json!({
        "access_token": access_token,
        "token_type": "bearer",
        "expires_in": TOKEN_LIFETIME_SECS,
        "userName": DEMO_USERNAME,
        ".issued": now.format("%a, %d %b %Y %H:%M:%S GMT").to_string(),
        ".expires": (now + chrono::Duration::seconds(TOKEN_LIFETIME_SECS as i64))
            .format("%a, %d %b %Y %H:%M:%S GMT")
            .to_string(),
    }));
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    resp
}

// ---------------------------------------------------------------------------------------------
// The commerce API.

async fn api(
    State(sim): State<Sim>,
    Path(rest): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut resp = route(&sim, &rest, &method, &uri, &headers, &body);
    // The site's clock, as every ASP.NET answer carries it.
    let date = sim
        .writes
        .now(&sim.world)
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string();
    if let Ok(v) = HeaderValue::from_str(&date) {
        resp.headers_mut().insert(header::DATE, v);
    }
    resp
}

fn route(
    sim: &Sim,
    rest: &str,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Response {
    if !bearer(headers).is_some_and(|t| sim.tokens.is_valid(t)) {
        let mut resp = web_api_error(
            StatusCode::UNAUTHORIZED,
            "Authorization has been denied for this request.",
        );
        resp.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        return resp;
    }
    let seg: Vec<&str> = rest.trim_end_matches('/').split('/').collect();
    let w = &sim.world;
    let wr = &sim.writes;
    if *method != Method::GET {
        let answer = match (method.as_str(), seg.as_slice()) {
            ("PUT", ["carts", customer, name, market]) => {
                Some(writes::put_cart(w, wr, customer, name, market, body))
            }
            ("DELETE", ["carts", customer, name, market]) => {
                Some(writes::delete_cart(wr, customer, name, market))
            }
            ("POST", ["orders"]) => Some(writes::post_order(w, wr, body)),
            _ => None,
        };
        return match answer {
            Some(resp)
                if resp.status().is_success()
                    && wr.take_lost(matches!(seg.as_slice(), ["orders"])) =>
            {
                writes::lost()
            }
            Some(resp) => resp,
            None => web_api_error(
                StatusCode::METHOD_NOT_ALLOWED,
                &format!(
                    "The requested resource does not support http method '{}'.",
                    method.as_str()
                ),
            ),
        };
    }
    let reserved = |sku: &str, warehouse: &str| wr.reserved(sku, warehouse);
    let answer = match seg.as_slice() {
        ["entries", a, "prices"] => Some(catalog::prices(w, a)),
        ["entries", a, "inventories"] => Some(catalog::inventories(w, a, &reserved)),
        ["entries", a, b] => match (a.parse::<u32>(), b.parse::<u32>()) {
            (Ok(start), Ok(size)) => Some(catalog::entries_page(w, &sim.catalog, start, size)),
            _ => None,
        },
        ["entries", code] => Some(catalog::entry(w, code)),
        ["warehouses"] => Some(catalog::warehouses(w)),
        ["warehouses", code] => Some(catalog::warehouse(w, code)),
        ["orders", "search", start, max] => match (start.parse::<u32>(), max.parse::<u32>()) {
            (Ok(start), Ok(max)) => Some(orders::search(w, wr, start, max)),
            _ => None,
        },
        ["orders", customer, "all"] => Some(orders::of_customer(w, wr, customer)),
        ["orders", id] => id.parse::<u64>().ok().map(|id| orders::order(w, wr, id)),
        ["carts", customer, name, market] => Some(writes::get_cart(w, wr, customer, name, market)),
        ["customers", "contact", id] => Some(customers::contact(w, id)),
        ["samlet", "customers"] => Some(customers::lookup(w, uri.query().unwrap_or(""))),
        _ => None,
    };
    answer.unwrap_or_else(|| no_route(uri, headers))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guids_carry_their_number_and_check_their_salt() {
        let g = guid(1, 42);
        assert_eq!(g.len(), 36);
        assert_eq!(guid_number(1, &g), Some(42));
        assert_eq!(guid_number(1, &g.to_uppercase()), Some(42));
        assert_eq!(guid_number(2, &g), None);
        assert_eq!(guid_number(1, "not-a-guid"), None);
    }

    #[test]
    fn the_demo_config_validates_and_matches_the_demo_toml() {
        let c = demo_config("http://127.0.0.1:1234/");
        assert!(c.validate().is_empty(), "{:?}", c.validate());
        let parsed: OptimizelyConfig =
            toml::from_str(&demo_toml("http://127.0.0.1:1234/")).expect("valid TOML");
        assert_eq!(parsed, c);
    }
}
