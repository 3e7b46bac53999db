//! A simulator of Marketing Cloud Engagement's REST API, serving the world's marketing
//! customer slice ([`CustomerSlice::Marketing`]) as rows of the `Samlet_Customers` data
//! extension, and accepting journey entry events.
//!
//! Dialect, as Marketing Cloud documents it (and, where it does not, as integrations observe
//! it; such points are marked "unverified"):
//! - `POST /v2/token` with a JSON body `{grant_type: "client_credentials", client_id,
//!   client_secret, account_id?}` → `{access_token, token_type, expires_in: 1079, scope,
//!   soap_instance_url, rest_instance_url}`. The instance URLs are this simulator's own base
//!   URL (with a trailing `/`, as Marketing Cloud writes them). Wrong credentials are 401
//!   `invalid_client`, a MID other than [`DEMO_ACCOUNT_ID`] 401 `unauthorized_client`
//!   (unverified), another grant 400 `unsupported_grant_type`; OAuth error bodies
//!   `{error, error_description, error_uri}`.
//! - every API call needs `Authorization: Bearer <token>`; otherwise 401
//!   `{"message":"Not Authorized","errorcode":0,"documentation":…}`. Tokens stay valid until
//!   revoked (`POST /_sim/tokens/revoke`), not for the announced 1079 s.
//! - REST errors are `{message, errorcode, documentation}` with the documented custom codes
//!   (10000–10005 validation, 0 not authorized, 50100 rate limited), also for injected faults.
//! - `GET /data/v1/customobjectdata/key/{key}/rowset` with `$filter`, `$page` (from 1) and
//!   `$pageSize` (1..=2500, default 2500; outside that 400 errorcode 10005, unverified):
//!   `{links: {self, next?, previous?}, requestToken, tokenExpireDateUtc, customObjectId,
//!   customObjectKey, pageSize, page, count, top, items: [{keys, values}]}` with lower-cased
//!   column names and string values (`True`/`False`, `M/D/YYYY h:mm:ss AM`, `""` when
//!   empty). The filter language is in `filter.rs`; comparisons are case-insensitive (SQL
//!   Server collation). An unknown data extension key is 404 (errorcode 10000, unverified);
//!   a request target over [`MAX_REQUEST_TARGET`] bytes is 414 from the "front end".
//! - `POST /interaction/v1/events {ContactKey, EventDefinitionKey, Data}` → 201
//!   `{eventInstanceId}`; a missing field is 400 errorcode 10002, an unknown event definition
//!   key 400 errorcode 10005 (the documented status; the code is unverified). The known key is
//!   [`DEMO_EVENT_DEFINITION_KEY`]; accepted events are kept in memory ([`EventLog`], and
//!   `GET /_sim/interaction/events`, a simulator-only path). Like Marketing Cloud, it does
//!   not deduplicate: every accepted call is one more entry (the connector avoids resending).
//! - rate limits: Marketing Cloud publishes no numbers (it throttles dynamically with 429,
//!   `Retry-After` and errorcode 50100), so nothing is enforced unless
//!   [`SimOptions::rate_limit_per_second`] is set.
//!
//! Not simulated: other grants and scopes (403), token expiry, the `requestToken` paging URLs
//! (`links` are returned, but `/data/v1/customobjectdata/token/…` is not served), `$orderBy`
//! (rows always come in primary-key order), filters that need a scan (every filter must narrow
//! the rows with `eq` on CustomerNumber, Email, MobilePhone or LoyaltyNumber; otherwise 400),
//! `between`, the Contacts API, data extension writes, validation of `Data` against the event's
//! data extension, inactive contacts, and the SOAP API.

mod auth;
mod events;
mod filter;
mod rowset;
mod wire;

pub use wire::vendor_error;

use crate::config::{
    ColumnNames, EventDefinitionKeys, SfmcConfig, DEFAULT_DATA_EXTENSION_KEY,
    DEFAULT_MAX_URL_LENGTH,
};
use axum::routing::{get, post};
use axum::Router;
use chrono::{DateTime, Utc};
use samlet_connector::prelude::Secret;
use samlet_testkit::sim::{SimServer, TokenIssuer};
use samlet_testkit::world::{CustomerSlice, World};
use serde_json::{Map, Value};
use std::sync::{Arc, Mutex, OnceLock};

/// Path prefixes of the data API. The token endpoint `/v2/token` matches none of them.
pub const API_PATHS: &[&str] = &["/data/", "/interaction/", "/contacts/"];
/// The demo package's client id. Demo only: it means nothing to Marketing Cloud.
pub const DEMO_CLIENT_ID: &str = "samlet-demo";
/// The demo package's client secret. Demo only.
pub const DEMO_CLIENT_SECRET: &str = "demo-secret";
/// The demo business unit's MID.
pub const DEMO_ACCOUNT_ID: &str = "100000001";
/// The journey entry event the simulator knows.
pub const DEMO_EVENT_DEFINITION_KEY: &str = "APIEvent-samlet-demo";
/// The customer data extension's external key.
pub const DATA_EXTENSION_KEY: &str = DEFAULT_DATA_EXTENSION_KEY;
/// `expires_in` of issued tokens (Marketing Cloud's tokens live about 18 minutes).
pub const TOKEN_LIFETIME_SECS: u64 = 1079;
/// The largest `$pageSize`.
pub const MAX_PAGE_SIZE: u32 = crate::config::MAX_PAGE_SIZE;
/// The longest path and query the simulator's "front end" accepts, in bytes (414 beyond).
pub const MAX_REQUEST_TARGET: usize = 8_192;
/// The slice of the world Marketing Cloud holds.
pub const SLICE: CustomerSlice = CustomerSlice::Marketing;

/// One journey entry event the simulator accepted.
#[derive(Debug, Clone, PartialEq)]
pub struct AcceptedEvent {
    /// The id returned to the caller.
    pub event_instance_id: String,
    /// `ContactKey`.
    pub contact_key: String,
    /// `EventDefinitionKey`.
    pub event_definition_key: String,
    /// `Data` (empty if none was sent).
    pub data: Map<String, Value>,
    /// When it arrived.
    pub received_at: DateTime<Utc>,
}

/// The accepted journey entry events of a simulator, shared with the test that started it
/// (pass a clone in [`SimOptions::events`]).
#[derive(Debug, Clone, Default)]
pub struct EventLog(Arc<Mutex<Vec<AcceptedEvent>>>);

impl EventLog {
    /// Every accepted event, oldest first.
    pub fn events(&self) -> Vec<AcceptedEvent> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// How many events were accepted.
    pub fn len(&self) -> usize {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Whether none was.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn push(&self, e: AcceptedEvent) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).push(e);
    }
}

/// How a simulator behaves beyond Marketing Cloud's documented dialect.
#[derive(Debug, Clone, Default)]
pub struct SimOptions {
    /// Answer API calls beyond this many per second with 429 (errorcode 50100,
    /// `Retry-After: 1`). Default `None`: Marketing Cloud publishes no limit, so none is
    /// enforced.
    pub rate_limit_per_second: Option<u32>,
    /// Where accepted entry events go; keep a clone to read them.
    pub events: EventLog,
}

/// Shared state of one simulator.
#[derive(Debug)]
pub(crate) struct Sim {
    pub(crate) world: Arc<World>,
    pub(crate) tokens: TokenIssuer,
    pub(crate) rate_limit: auth::RateLimit,
    pub(crate) events: EventLog,
    pub(crate) event_definitions: Vec<String>,
    /// The slice's indexes in order, built on the first unfiltered read.
    slice: OnceLock<Vec<u32>>,
}

impl Sim {
    /// The marketing slice's customer indexes, in primary-key order.
    pub(crate) fn slice(&self) -> &[u32] {
        self.slice
            .get_or_init(|| self.world.slice_indexes(SLICE).collect())
    }
}

fn router(sim: Arc<Sim>) -> Router {
    Router::new()
        .route("/v2/token", post(auth::token))
        .route(
            "/data/v1/customobjectdata/key/{key}/rowset",
            get(rowset::get),
        )
        .route("/interaction/v1/events", post(events::fire))
        .route("/_sim/interaction/events", get(events::list))
        .route("/_sim/tokens/revoke", post(events::revoke))
        .fallback(|| async {
            wire::ApiError::new(
                axum::http::StatusCode::NOT_FOUND,
                wire::code::GENERIC,
                "The requested resource was not found.",
            )
        })
        .method_not_allowed_fallback(|| async {
            wire::ApiError::new(
                axum::http::StatusCode::METHOD_NOT_ALLOWED,
                wire::code::GENERIC,
                "The requested method is not allowed on this resource.",
            )
        })
        .with_state(sim)
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
        tokens: TokenIssuer::default(),
        rate_limit: auth::RateLimit::new(options.rate_limit_per_second),
        events: options.events,
        event_definitions: vec![DEMO_EVENT_DEFINITION_KEY.to_owned()],
        slice: OnceLock::new(),
    });
    SimServer::start(router(sim), vendor_error, port).await
}

/// The body of a TOML table (lines `key = value`, no table header, no `kind` key) that
/// configures the connector against a simulator at `base_url` with the demo credentials.
pub fn demo_toml(base_url: &str) -> String {
    format!(
        "auth_base_url = \"{base_url}\"\nclient_id = \"{DEMO_CLIENT_ID}\"\nclient_secret = \"{DEMO_CLIENT_SECRET}\"\naccount_id = \"{DEMO_ACCOUNT_ID}\"\nevent_definitions = {{ default = \"{DEMO_EVENT_DEFINITION_KEY}\" }}\n"
    )
}

/// The same, but parsed (the config with the demo credentials for `base_url`).
pub fn demo_config(base_url: &str) -> SfmcConfig {
    SfmcConfig {
        auth_base_url: base_url.to_owned(),
        client_id: DEMO_CLIENT_ID.to_owned(),
        client_secret: Secret::new(DEMO_CLIENT_SECRET),
        account_id: Some(DEMO_ACCOUNT_ID.to_owned()),
        data_extension_key: DATA_EXTENSION_KEY.to_owned(),
        columns: ColumnNames::default(),
        page_size: MAX_PAGE_SIZE,
        max_url_length: DEFAULT_MAX_URL_LENGTH,
        event_definitions: EventDefinitionKeys {
            default: Some(DEMO_EVENT_DEFINITION_KEY.to_owned()),
            ..EventDefinitionKeys::default()
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_toml_parses_to_the_demo_config() {
        let base = "http://127.0.0.1:4321";
        let parsed: SfmcConfig = toml::from_str(&demo_toml(base)).expect("parses");
        assert_eq!(parsed, demo_config(base));
        assert!(parsed.validate().is_empty(), "{:?}", parsed.validate());
    }

    #[test]
    fn the_token_endpoint_is_not_an_api_path() {
        assert!(!API_PATHS.iter().any(|p| "/v2/token".starts_with(p)));
    }

    #[test]
    fn the_default_columns_are_the_simulated_ones() {
        let names: Vec<String> = ColumnNames::default()
            .all()
            .iter()
            .map(|(_, n)| n.to_lowercase())
            .collect();
        assert_eq!(names, rowset::COLUMNS);
    }
}
