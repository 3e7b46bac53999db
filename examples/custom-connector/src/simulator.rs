//! Lagerbox's simulator: a real HTTP server that speaks the API documented in the crate docs,
//! serving the world's locations and stock. Testkit's [`SimServer`] adds request counting and
//! fault injection; this file only supplies the vendor's routes and its error body.

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use samlet_connector::ids::Sku;
use samlet_connector::model::LocationKind;
use samlet_testkit::sim::SimServer;
use samlet_testkit::World;
use serde_json::json;
use std::collections::HashMap;
use std::sync::Arc;

/// The simulator's only valid API key.
pub const DEMO_API_KEY: &str = "lagerbox-demo-key";
/// Path prefixes of the data API.
pub const API_PATHS: &[&str] = &["/v1/"];

/// Lagerbox's error body.
pub fn vendor_error(status: StatusCode, message: &str) -> Response {
    let kind = match status.as_u16() {
        401 => "auth",
        429 => "rate_limit",
        400..=499 => "request",
        _ => "server",
    };
    (
        status,
        Json(json!({ "error": { "type": kind, "message": message } })),
    )
        .into_response()
}

fn authorised(h: &HeaderMap) -> bool {
    h.get("x-lagerbox-key").and_then(|v| v.to_str().ok()) == Some(DEMO_API_KEY)
}

fn unauthorised() -> Response {
    vendor_error(StatusCode::UNAUTHORIZED, "missing or unknown API key")
}

async fn sites(State(world): State<Arc<World>>, h: HeaderMap) -> Response {
    if !authorised(&h) {
        return unauthorised();
    }
    let sites: Vec<_> = world
        .locations()
        .iter()
        .map(|l| {
            json!({
                "code": l.id.as_str(), "name": l.name,
                "type": if l.kind == LocationKind::Warehouse { "warehouse" } else { "store" },
                "street": l.address.street, "zip": l.address.postal_code, "city": l.address.city,
                "country": l.address.country, "pickup": l.click_and_collect,
            })
        })
        .collect();
    Json(json!({ "sites": sites })).into_response()
}

async fn stock(
    State(world): State<Arc<World>>,
    h: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if !authorised(&h) {
        return unauthorised();
    }
    let skus: Vec<&str> = q
        .get("skus")
        .map(|s| s.split(',').filter(|s| !s.is_empty()).collect())
        .unwrap_or_default();
    if skus.len() > crate::MAX_SKUS {
        return vendor_error(StatusCode::BAD_REQUEST, "at most 200 skus per request");
    }
    let mut rows = Vec::new();
    for sku in skus {
        for level in world.stock(&Sku::new(sku)).unwrap_or_default() {
            rows.push(json!({ "sku": sku, "site": level.location.as_str(), "on_hand": level.on_hand, "reserved": level.reserved }));
        }
    }
    Json(json!({ "stock": rows })).into_response()
}

/// Starts the simulator on `127.0.0.1:port` (0 for a free port).
pub async fn start(world: Arc<World>, port: u16) -> std::io::Result<SimServer> {
    let router = Router::new()
        .route("/v1/sites", get(sites))
        .route("/v1/stock", get(stock))
        .with_state(world);
    SimServer::start(router, vendor_error, port).await
}

/// The connector settings for a simulator at `base_url`.
pub fn demo_toml(base_url: &str) -> String {
    format!("base_url = \"{base_url}\"\napi_key = \"{DEMO_API_KEY}\"\n")
}
