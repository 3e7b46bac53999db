//! A simulator of the Akeneo PIM REST API serving the world's catalogue: a real HTTP server
//! (through [`SimServer`]) that speaks Akeneo's dialect: the OAuth password and refresh-token
//! grants, bearer checks with Akeneo's 401 bodies, `search` filters, `search_after` and page
//! pagination with `_links`, the 100-item page cap (422 above it), and `{code, message}` error
//! bodies, also for injected faults. See the crate docs for what is not simulated.

mod auth;
mod catalog;
mod query;

pub use auth::TokenControl;

use crate::config::AkeneoConfig;
use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{middleware, Json, Router};
use samlet_connector::http::Secret;
use samlet_testkit::sim::SimServer;
use samlet_testkit::World;
use std::sync::Arc;
use std::time::Duration;

/// Path prefixes of the data API (used by fault-injection tests so token endpoints stay healthy).
pub const API_PATHS: &[&str] = &["/api/rest/v1"];

/// The demo connection's client id.
pub const DEMO_CLIENT_ID: &str = "samlet-demo";
/// The demo connection's secret.
pub const DEMO_SECRET: &str = "demo-secret";
/// The demo API user.
pub const DEMO_USERNAME: &str = "samlet";
/// The demo API user's password.
pub const DEMO_PASSWORD: &str = "demo-password";

/// How the simulator behaves beyond the defaults.
#[derive(Debug, Clone)]
pub struct SimOptions {
    /// Lifetime of access tokens (`expires_in`); Akeneo's is one hour.
    pub token_ttl: Duration,
    /// A handle on issued tokens, for tests that revoke them or count grants.
    pub tokens: TokenControl,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            token_ttl: Duration::from_secs(3600),
            tokens: TokenControl::default(),
        }
    }
}

/// What every handler shares.
#[derive(Debug)]
pub(crate) struct SimState {
    pub(crate) world: Arc<World>,
    pub(crate) options: SimOptions,
    pub(crate) tokens: TokenControl,
}

/// Akeneo's error body, `{code, message}`, with `status`.
pub(crate) fn akeneo_error(status: StatusCode, message: &str) -> Response {
    (
        status,
        Json(serde_json::json!({ "code": status.as_u16(), "message": message })),
    )
        .into_response()
}

/// A request the simulator refuses, rendered as Akeneo's error body.
#[derive(Debug)]
pub(crate) struct Refused {
    status: StatusCode,
    message: String,
}

impl Refused {
    /// A refusal with `status` and Akeneo's `message`.
    pub(crate) fn new(status: StatusCode, message: impl Into<String>) -> Refused {
        Refused {
            status,
            message: message.into(),
        }
    }
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        akeneo_error(self.status, &self.message)
    }
}

async fn no_route(method: Method, uri: Uri) -> Response {
    akeneo_error(
        StatusCode::NOT_FOUND,
        &format!("No route found for \"{method} {}\"", uri.path()),
    )
}

async fn wrong_method(method: Method, uri: Uri) -> Response {
    akeneo_error(
        StatusCode::METHOD_NOT_ALLOWED,
        &format!(
            "No route found for \"{method} {}\": Method Not Allowed",
            uri.path()
        ),
    )
}

/// The simulator's routes over `world`.
fn router(world: Arc<World>, options: SimOptions) -> Router {
    let state = Arc::new(SimState {
        world,
        tokens: options.tokens.clone(),
        options,
    });
    let api = Router::new()
        .route("/api/rest/v1/products", get(catalog::list_products))
        .route("/api/rest/v1/products/{code}", get(catalog::get_product))
        .route("/api/rest/v1/product-models", get(catalog::list_models))
        .route(
            "/api/rest/v1/product-models/{code}",
            get(catalog::get_model),
        )
        .route("/api/rest/v1/media-files/{*path}", get(catalog::media_file))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            auth::require_bearer,
        ));
    Router::new()
        .route("/api/oauth/v1/token", post(auth::token))
        .merge(api)
        .fallback(no_route)
        .method_not_allowed_fallback(wrong_method)
        .with_state(state)
}

/// Starts the simulator serving `world` on 127.0.0.1:`port` (0 = free port).
pub async fn start(world: Arc<World>, port: u16) -> std::io::Result<SimServer> {
    start_with(world, port, SimOptions::default()).await
}

/// [`start`] with non-default behaviour (short-lived tokens, a token handle for tests).
pub async fn start_with(
    world: Arc<World>,
    port: u16,
    options: SimOptions,
) -> std::io::Result<SimServer> {
    SimServer::start(router(world, options), akeneo_error, port).await
}

/// The body of a TOML table (lines `key = value`, no table header, no `kind` key) that
/// configures the connector against a simulator at `base_url` with the simulator's demo credentials.
pub fn demo_toml(base_url: &str) -> String {
    format!(
        "base_url = \"{base_url}\"\n\
         client_id = \"{DEMO_CLIENT_ID}\"\n\
         secret = \"{DEMO_SECRET}\"\n\
         username = \"{DEMO_USERNAME}\"\n\
         password = \"{DEMO_PASSWORD}\"\n\
         scopes = {{ online = \"ecommerce\", store = \"store\" }}\n"
    )
}

/// The same, but parsed (the config with demo credentials for `base_url`).
pub fn demo_config(base_url: &str) -> AkeneoConfig {
    AkeneoConfig {
        base_url: base_url.to_owned(),
        client_id: DEMO_CLIENT_ID.to_owned(),
        secret: Secret::new(DEMO_SECRET),
        username: DEMO_USERNAME.to_owned(),
        password: Secret::new(DEMO_PASSWORD),
        scopes: Default::default(),
        attributes: Default::default(),
        page_size: crate::config::MAX_PAGE_SIZE,
    }
}
