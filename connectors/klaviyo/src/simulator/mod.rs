//! A simulator of Klaviyo's server API, serving the world's marketing customer slice
//! ([`CustomerSlice::Marketing`]) as Klaviyo profiles, and accepting events.
//!
//! Dialect, as documented by Klaviyo's OpenAPI spec (revision 2026-07-15):
//! - auth: `Authorization: Klaviyo-API-Key <private key>`; anything else is 401
//!   `not_authenticated`. The demo key is [`DEMO_API_KEY`] (a made-up key for the simulator;
//!   it means nothing to Klaviyo).
//! - `revision: YYYY-MM-DD[.suffix]` is required on every call: missing, malformed or newer
//!   than 2026-07-15 is 400 `invalid` with `source.parameter = "revision"`.
//! - JSON:API documents (`application/vnd.api+json`), Klaviyo's error document
//!   `{"errors":[{id,status,code,title,detail,source}]}`, also for injected faults.
//! - `GET /api/profiles`: `filter` with `any`/`equals` on `id`, `email`, `phone_number`,
//!   `external_id` and `greater-than`/`less-than` on `updated`; `sort` `id` or `updated`
//!   (ascending or descending for `updated`); `page[size]` 1..=100 (default 20, otherwise
//!   400); cursor paging through absolute `links.next`; `fields[profile]` sparse fieldsets
//!   (top-level attribute names); `additional-fields[profile]=subscriptions`.
//! - `GET /api/profiles/{id}`; 404 `not_found` for unknown ids.
//! - `POST /api/events` (202, no body), deduplicated by `unique_id` per profile and metric
//!   (Klaviyo's default `unique_id` is the event time to the second); `GET /api/events` lists
//!   accepted events (filter `equals(profile_id,…)` / `equals(metric_id,…)`, `include=metric`,
//!   `page[size]` 1..=1000, default 200), so tests and the gateway can see what was tracked.
//! - coupon codes (seeding: see `coupons.rs`): `GET /api/coupon-codes`
//!   with the required `filter` (`equals`/`any` on `profile.id` and `coupon.id`, `equals` on
//!   `status`), `page[size]` 1..=100 (default 100), cursor paging, `include=coupon`,
//!   `fields[coupon-code]`; `GET /api/coupon-codes/{id}` (404 `not_found`); `PATCH
//!   /api/coupon-codes/{id}` setting `status` (`USED`, `ASSIGNED_TO_PROFILE`) and
//!   `expires_at`, answering 409 `conflict` when a `USED` code is marked `USED` again (Klaviyo
//!   does not document what it answers there; this is the simulator's choice).
//! - rate limits per operation from `x-klaviyo-ratelimit` (profiles 75/s and 750/m, events
//!   and coupon codes 350/s and 3500/m), enforced by [`start`]; `RateLimit-Limit/Remaining/Reset` on admitted
//!   responses, 429 `throttled` with `Retry-After` otherwise. [`start_with`] can turn
//!   enforcement off (e.g. for throughput benchmarks).
//!
//! Not simulated: OAuth bearer tokens, scopes (403), the other profile filters and sorts
//! (`created`, `_kx`, suppressions, `email` sort: answered with 400 naming the simulator),
//! `include`d relationships of profiles, `predictive_analytics` (always null), writes to
//! profiles, the processing of events (they never change a profile; an event for an unknown
//! identifier gets a profile id but no listed profile), the `/client/…` APIs, `/api/coupons`
//! (the coupon itself; only `include=coupon` shows it), coupon-code creation, deletion and
//! bulk jobs, listing a coupon's codes without `profile.id`, `expires_at` filters, and the
//! other status changes (`UNASSIGNED`, `DELETING`, …: answered with 400).

mod coupons;
mod events;
mod filter;
mod limits;
mod profiles;
mod wire;

pub use limits::{
    Limit, COUPON_CODES as COUPON_CODE_LIMIT, EVENTS as EVENT_LIMIT, PROFILES as PROFILE_LIMIT,
};
pub use wire::vendor_error;

use crate::config::{KlaviyoConfig, PropertyNames, DEFAULT_REVISION};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use axum::Router;
use limits::{Admission, Limiter};
use samlet_connector::prelude::Secret;
use samlet_testkit::sim::SimServer;
use samlet_testkit::world::{CustomerSlice, World};
use std::sync::{Arc, Mutex, OnceLock};
use wire::{ApiError, Source};

/// Path prefixes of the data API (everything is under `/api/`; Klaviyo has no token
/// endpoint for private keys).
pub const API_PATHS: &[&str] = &["/api/"];
/// The simulator's private key. Demo only: it is not and never was a real Klaviyo key.
pub const DEMO_API_KEY: &str = "pk_samlet_demo";
/// The slice of the world Klaviyo holds.
pub const SLICE: CustomerSlice = CustomerSlice::Marketing;

/// How a simulator behaves beyond Klaviyo's documented dialect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimOptions {
    /// Enforce Klaviyo's burst and steady rate limits (429 + `Retry-After`). The headers are
    /// sent either way. Default `true`.
    pub enforce_rate_limits: bool,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            enforce_rate_limits: true,
        }
    }
}

/// Shared state of one simulator.
#[derive(Debug)]
pub(crate) struct Sim {
    pub(crate) world: Arc<World>,
    pub(crate) props: PropertyNames,
    limiter: Limiter,
    /// `(updated as Unix seconds, index)` of every profile, sorted; built on first use.
    by_updated: OnceLock<Vec<(i64, u32)>>,
    pub(crate) events: Mutex<events::EventStore>,
    pub(crate) coupons: Mutex<coupons::CouponState>,
}

impl Sim {
    /// Checks the key and the revision header, then the rate limit of `op`.
    pub(crate) fn admit(
        &self,
        headers: &HeaderMap,
        op: &'static str,
        limit: Limit,
    ) -> Result<Admission, ApiError> {
        let auth = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if auth.strip_prefix("Klaviyo-API-Key ") != Some(DEMO_API_KEY) {
            let (title, detail) = if auth.is_empty() {
                (
                    "Authentication credentials were not provided.",
                    "Missing `Authorization` header: send `Authorization: Klaviyo-API-Key <private key>`.",
                )
            } else {
                (
                    "Incorrect authentication credentials.",
                    "Missing or invalid private key.",
                )
            };
            return Err(wire::error(
                StatusCode::UNAUTHORIZED,
                "not_authenticated",
                title,
                detail,
                None,
            ));
        }
        let revision = headers
            .get("revision")
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .unwrap_or("");
        if revision.is_empty() {
            return Err(wire::invalid(
                "The `revision` header is required, e.g. `revision: 2026-07-15`.",
                Source::Parameter("revision"),
            ));
        }
        let date = revision.split('.').next().unwrap_or("");
        if !crate::config::is_revision(revision) || date > DEFAULT_REVISION {
            return Err(wire::invalid(
                &format!(
                    "Invalid revision `{revision}`: the latest revision is {DEFAULT_REVISION}."
                ),
                Source::Parameter("revision"),
            ));
        }
        match self.limiter.admit(op, limit) {
            Admission::Throttled { retry_after } => Err(wire::error(
                StatusCode::TOO_MANY_REQUESTS,
                "throttled",
                "Request was throttled.",
                &format!(
                    "Request was throttled. Expected available in {retry_after} second{}.",
                    if retry_after == 1 { "" } else { "s" }
                ),
                None,
            )
            .retry_after(retry_after)),
            admitted => Ok(admitted),
        }
    }

    /// Profiles ordered by `updated` (then index).
    pub(crate) fn by_updated(&self) -> &[(i64, u32)] {
        self.by_updated.get_or_init(|| {
            let mut v: Vec<(i64, u32)> = self
                .world
                .slice_indexes(SLICE)
                .map(|i| (self.world.customer(i).updated_at.timestamp(), i))
                .collect();
            v.sort_unstable();
            v
        })
    }
}

fn router(sim: Arc<Sim>) -> Router {
    Router::new()
        .route("/api/profiles", get(profiles::list))
        .route("/api/profiles/", get(profiles::list))
        .route("/api/profiles/{id}", get(profiles::get_one))
        .route("/api/profiles/{id}/", get(profiles::get_one))
        .route("/api/events", get(events::list).post(events::create))
        .route("/api/events/", get(events::list).post(events::create))
        .route("/api/coupon-codes", get(coupons::list))
        .route("/api/coupon-codes/", get(coupons::list))
        .route(
            "/api/coupon-codes/{id}",
            get(coupons::get_one).patch(coupons::update),
        )
        .route(
            "/api/coupon-codes/{id}/",
            get(coupons::get_one).patch(coupons::update),
        )
        .fallback(|| async {
            vendor_error(StatusCode::NOT_FOUND, "The requested path was not found.")
        })
        .method_not_allowed_fallback(|| async {
            vendor_error(
                StatusCode::METHOD_NOT_ALLOWED,
                "Method not allowed on this path.",
            )
        })
        .with_state(sim)
}

/// Starts the simulator serving `world` on 127.0.0.1:`port` (0 = free port), enforcing
/// Klaviyo's documented rate limits.
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
        props: PropertyNames::default(),
        limiter: Limiter::new(options.enforce_rate_limits),
        by_updated: OnceLock::new(),
        events: Mutex::new(events::EventStore::default()),
        coupons: Mutex::new(coupons::CouponState::default()),
    });
    SimServer::start(router(sim), vendor_error, port).await
}

/// The body of a TOML table (lines `key = value`, no table header, no `kind` key) that
/// configures the connector against a simulator at `base_url` with the demo key.
pub fn demo_toml(base_url: &str) -> String {
    format!(
        "base_url = \"{base_url}\"\napi_key = \"{DEMO_API_KEY}\"\nrevision = \"{DEFAULT_REVISION}\"\n"
    )
}

/// The same, but parsed (the config with the demo key for `base_url`).
pub fn demo_config(base_url: &str) -> KlaviyoConfig {
    KlaviyoConfig {
        base_url: base_url.to_owned(),
        api_key: Secret::new(DEMO_API_KEY),
        revision: DEFAULT_REVISION.to_owned(),
        properties: PropertyNames::default(),
        index_loyalty_numbers: true,
        vouchers: Default::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_toml_parses_to_the_demo_config() {
        let base = "http://127.0.0.1:4321";
        let parsed: KlaviyoConfig = toml::from_str(&demo_toml(base)).expect("parses");
        assert_eq!(parsed, demo_config(base));
        assert!(parsed.validate().is_empty());
    }
}
