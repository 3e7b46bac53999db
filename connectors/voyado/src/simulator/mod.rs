//! A simulator of Voyado Engage's API, serving the world's marketing customer slice
//! ([`CustomerSlice::Marketing`], the slice Klaviyo serves too) as Voyado contacts, and reward
//! vouchers derived from the world.
//!
//! Dialect, as Voyado documents it (developer.voyado.com):
//! - auth: the `apikey` header; missing or wrong is 401. The demo key is [`DEMO_API_KEY`]
//!   (made up for the simulator; it means nothing to Voyado).
//! - `User-Agent` is required on every call (Voyado asks for `System/Version`); Voyado does
//!   not document the answer without one, the simulator answers 400 `MissingUserAgent`.
//! - `Content-Type: application/json` is documented as mandatory on every request; without it
//!   the answer is 500 "An error has occurred." (no error code), as Voyado documents.
//! - errors: status + error code. Voyado documents the codes, not the body; the simulator
//!   answers `{"statusCode", "errorCode", "message", "correlationId"}` (also for injected
//!   faults, via [`vendor_error`]).
//! - `GET /api/v3/contacts/id` (and `/api/v2/contacts/id`) with `email`, `mobilePhone`,
//!   `socialSecurityNumber`, `customKey` or `any` (scanned in Voyado's order: e-mail, SSN,
//!   mobile phone, custom key; the scan stops at the first attribute the value is valid for),
//!   optionally `contactType`. Several keys must all name the same contact. Answers the
//!   contact id as a JSON string; 400 `InvalidEmailAddress`, `InvalidPhoneNumber`,
//!   `InvalidSocialSecurityNumber`, `InvalidContactType`, `InvalidSearchQuery`; 404
//!   `ContactNotFound`. E-mails compare without case; phones must be international.
//!   `customKey` is the `externalId` (default) or the `memberNumber` ([`SimOptions`]).
//! - `GET /api/v3/contacts/{contactId}` (and v2): 400 `InvalidContactId` for a non-GUID, 404
//!   `ContactNotFound`.
//! - `GET /api/v2/contacts/{contactType}/bykey?keyValue=…`: `Member` is keyed by the member
//!   number, `Contact` by the e-mail; `GET /api/v2/contacts/{contactType}/byexternalid/{id}`.
//! - contact types: `Member` for loyalty club members (with `memberNumber` and the
//!   `loyaltyLevel` attribute), `Contact` for everyone else; companies carry `companyName`.
//! - `GET /api/v3/reward-vouchers[/available|/redeemed]?contactId=…&offset=…&count=…`
//!   (`count` 1..=500, default 100; 400 `InvalidPaging` otherwise), answering
//!   `{count, offset, items, totalCount}`; `POST /api/v3/reward-vouchers/{id}/redeem`: 200,
//!   400 `InvalidRewardVoucherId`, 404 `RewardVoucherNotFound`, 409
//!   `RewardVoucherAlreadyRedeemed` / `RewardVoucherExpired`. Vouchers come from the world:
//!   every GOLD member has an available 250 and an expired 100 voucher, every SILVER member
//!   an available 100 voucher, in the currency of their country (with a EUR local value).
//!   Redemptions are kept in memory for the simulator's lifetime; a redemption's answer can be
//!   "lost" (saved, then 504 `GatewayTimeout`) with [`SimOptions::lose_redeem_answers`].
//! - rate limit: 200 requests per second per key, then 429 with `Retry-After`; enforced only
//!   with [`SimOptions::enforce_rate_limits`] (Voyado sends no rate-limit headers; tests can
//!   lower the limit with [`SimOptions::rate_limit_per_second`]).
//!
//! Not simulated: contact writes (create, update, promote, preferences), `contactoverview`,
//! social security numbers (valid ones are simply not found), consents, receipts, orders,
//! point accounts and transactions, promotions, voucher reactivation, interactions, webhooks,
//! the staging/production host split, and Voyado's 4.5 s redeem timeout.

mod contacts;
mod limits;
mod vouchers;
mod wire;

pub use limits::PER_SECOND as RATE_LIMIT_PER_SECOND;
pub use wire::vendor_error;

use crate::config::{AttributeNames, CustomKey, VoyadoConfig, DEFAULT_USER_AGENT};
use axum::http::{header, HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::Router;
use chrono::{DateTime, Utc};
use limits::Limiter;
use samlet_connector::prelude::Secret;
use samlet_testkit::sim::SimServer;
use samlet_testkit::world::{CustomerSlice, World};
use std::collections::HashMap;
use std::sync::atomic::AtomicU32;
use std::sync::{Arc, Mutex};
use wire::ApiError;

/// Path prefixes of the data API (everything is under `/api/`; an API key has no token
/// endpoint).
pub const API_PATHS: &[&str] = &["/api/"];
/// The simulator's API key. Demo only: it is not and never was a real Voyado key.
pub const DEMO_API_KEY: &str = "samlet-demo-apikey";
/// The slice of the world Voyado holds.
pub const SLICE: CustomerSlice = CustomerSlice::Marketing;

/// How a simulator behaves beyond Voyado's documented dialect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimOptions {
    /// Enforce the rate limit (429 + `Retry-After`). Default off.
    pub enforce_rate_limits: bool,
    /// Requests per second per key when enforced. Default 200, Voyado's documented limit
    /// ([`RATE_LIMIT_PER_SECOND`]); tests may lower it.
    pub rate_limit_per_second: u32,
    /// What the simulated tenant's `customKey` holds. Default `externalId`.
    pub custom_key: CustomKey,
    /// Save the next N redemptions, then answer each 504 `GatewayTimeout` as if the answer
    /// were lost on the way back (Voyado documents 504 for its redeem endpoint, and completes
    /// a redemption past its point of no return). Default 0; for exactly-once tests.
    pub lose_redeem_answers: u32,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            enforce_rate_limits: false,
            rate_limit_per_second: RATE_LIMIT_PER_SECOND,
            custom_key: CustomKey::ExternalId,
            lose_redeem_answers: 0,
        }
    }
}

/// Shared state of one simulator.
#[derive(Debug)]
pub(crate) struct Sim {
    pub(crate) world: Arc<World>,
    pub(crate) options: SimOptions,
    pub(crate) names: AttributeNames,
    limiter: Limiter,
    /// Redeemed voucher ids and when.
    pub(crate) redeemed: Mutex<HashMap<String, DateTime<Utc>>>,
    /// Redemptions still to be answered 504 after saving ([`SimOptions::lose_redeem_answers`]).
    pub(crate) lose_redeem_answers: AtomicU32,
}

impl Sim {
    /// Checks the key, the `User-Agent` and the `Content-Type`, then the rate limit.
    pub(crate) fn admit(&self, headers: &HeaderMap) -> Result<(), ApiError> {
        let text = |name: header::HeaderName| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::trim)
                .unwrap_or("")
        };
        let key = headers
            .get(crate::client::APIKEY_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if key != DEMO_API_KEY {
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "Unauthorized",
                if key.is_empty() {
                    "Missing API key: send the `apikey` header."
                } else {
                    "Authorization has been denied for this request."
                },
            ));
        }
        if text(header::USER_AGENT).is_empty() {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "MissingUserAgent",
                "The User-Agent header is required, as System/Version (e.g. \"AcmePOS/1.5\").",
            ));
        }
        if !text(header::CONTENT_TYPE)
            .to_ascii_lowercase()
            .starts_with("application/json")
        {
            return Err(ApiError::bare(
                StatusCode::INTERNAL_SERVER_ERROR,
                "An error has occurred.",
            ));
        }
        self.limiter.admit().map_err(|secs| {
            ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "TooManyRequests",
                format!(
                    "More than {} requests per second for this API key.",
                    limits::PER_SECOND
                ),
            )
            .retry_after(secs)
        })
    }
}

fn router(sim: Arc<Sim>) -> Router {
    Router::new()
        .route("/api/v3/contacts/id", get(contacts::find_id))
        .route("/api/v3/contacts/{contact_id}", get(contacts::get_contact))
        .route("/api/v2/contacts/id", get(contacts::find_id))
        .route("/api/v2/contacts/{key}", get(contacts::get_contact))
        .route("/api/v2/contacts/{key}/bykey", get(contacts::by_key))
        .route(
            "/api/v2/contacts/{key}/byexternalid/{external_id}",
            get(contacts::by_external_id),
        )
        .route("/api/v3/reward-vouchers", get(vouchers::list_all))
        .route(
            "/api/v3/reward-vouchers/available",
            get(vouchers::list_available),
        )
        .route(
            "/api/v3/reward-vouchers/redeemed",
            get(vouchers::list_redeemed),
        )
        .route(
            "/api/v3/reward-vouchers/{voucher_id}/redeem",
            post(vouchers::redeem),
        )
        .fallback(|| async {
            vendor_error(
                StatusCode::NOT_FOUND,
                "No HTTP resource was found that matches the request URI.",
            )
        })
        .method_not_allowed_fallback(|| async {
            vendor_error(
                StatusCode::METHOD_NOT_ALLOWED,
                "The requested resource does not support this HTTP method.",
            )
        })
        .with_state(sim)
}

/// Starts the simulator serving `world` on 127.0.0.1:`port` (0 = free port), with the default
/// [`SimOptions`] (rate limit not enforced, `customKey` = `externalId`).
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
        lose_redeem_answers: AtomicU32::new(options.lose_redeem_answers),
        world,
        limiter: Limiter::new(options.enforce_rate_limits, options.rate_limit_per_second),
        options,
        names: AttributeNames::default(),
        redeemed: Mutex::new(HashMap::new()),
    });
    SimServer::start(router(sim), vendor_error, port).await
}

/// The body of a TOML table (lines `key = value`, no table header, no `kind` key) that
/// configures the connector against a simulator at `base_url` with the demo key.
pub fn demo_toml(base_url: &str) -> String {
    format!("base_url = \"{base_url}\"\napi_key = \"{DEMO_API_KEY}\"\n")
}

/// The same, but parsed (the config with the demo key for `base_url`).
pub fn demo_config(base_url: &str) -> VoyadoConfig {
    VoyadoConfig {
        base_url: base_url.to_owned(),
        api_key: Secret::new(DEMO_API_KEY),
        user_agent: DEFAULT_USER_AGENT.to_owned(),
        custom_key: CustomKey::ExternalId,
        member_contact_type: "Member".to_owned(),
        contact_types: vec!["Member".to_owned(), "Contact".to_owned()],
        attributes: AttributeNames::default(),
        max_concurrency: crate::config::DEFAULT_MAX_CONCURRENCY,
        requests_per_second: crate::config::DEFAULT_REQUESTS_PER_SECOND,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_toml_parses_to_the_demo_config() {
        let base = "http://127.0.0.1:4321";
        let parsed: VoyadoConfig = toml::from_str(&demo_toml(base)).expect("parses");
        assert_eq!(parsed, demo_config(base));
        assert!(parsed.validate().is_empty());
    }
}
