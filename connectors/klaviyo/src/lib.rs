//! Samlet connector for **Klaviyo** (marketing), with a simulator of its API.
//!
//! # What it serves
//! - [`Capability::Customers`]: Klaviyo profiles as [`CustomerRecord`]s, with the marketing
//!   consents only the marketing system holds.
//! - [`Capability::MarketingEvents`]: touchpoint events as Klaviyo events (`marketing.rs`).
//! - [`Capability::Vouchers`]: loyalty vouchers as Klaviyo coupon codes assigned to profiles,
//!   redeemed by marking the code `USED` (`vouchers.rs`).
//!
//! Klaviyo has no product, price, stock, location or order API worth reading (orders are
//! events there), so nothing else is declared.
//!
//! | model field | Klaviyo profile |
//! |---|---|
//! | `number` | `external_id` (the shared customer number pushed by the integration) |
//! | `email` | `email`, lower-cased (keys are lower-cased before querying, too) |
//! | `phone` | `phone_number` (E.164) |
//! | `first_name`, `last_name`, `company_name` | `first_name`, `last_name`, `organization` |
//! | `address` | `location.address1` (+ `address2`), `zip`, `city`, `country` (ISO code; country names are translated) |
//! | `loyalty_number`, `loyalty_tier` | custom properties, names configurable (default `loyalty_number`, `loyalty_tier`) |
//! | `kind` | custom property `customer_kind` (configurable): `company` -> company, else person |
//! | `consents` | `subscriptions.{email,sms}.marketing.consent` (`SUBSCRIBED` = granted; `UNSUBSCRIBED`, `NEVER_SUBSCRIBED` = not granted), time `consent_timestamp` |
//! | `customer_group` | none (Klaviyo has no price groups) |
//! | `updated_at` | `updated` |
//!
//! # Endpoints used
//! - `GET /api/profiles/?filter=any(<field>,[…])&page[size]=100&additional-fields[profile]=subscriptions`
//!   for e-mail, phone and customer-number keys, and `any(id,[…])` for profile ids (external
//!   ids of this connector; the spec lists `id` with `any`). One request per key kind per 100 keys
//!   (Klaviyo's filter language has no `or`, and 100 is the `page[size]` cap); the requests
//!   of one batch run concurrently, and `links.next` is followed if an answer spans pages.
//!   48 customers by e-mail: 1 request; 150: 2; a batch of numbers and e-mails: 2.
//! - Loyalty numbers are a custom property, which no Klaviyo endpoint filters on. With
//!   `index_loyalty_numbers` (default on) the connector keeps an in-memory index built from
//!   `GET /api/profiles/?sort=updated&fields[profile]=properties,updated` (one walk of every
//!   profile, 1 request per 100 profiles, resumable), refreshed by a
//!   `greater-than(updated,…)` delta before each loyalty batch, and fetches hits with
//!   `any(id,[…])`. Cost after the first walk: about 2 requests per loyalty batch. With the
//!   option off, loyalty keys are absent without any request. See `customers.rs`.
//! - Events ([`MarketingSink`]): `POST /api/events/` (`EventCreateQueryV2`), one request per
//!   event (Klaviyo's endpoint takes one), at most 8 in flight, 202 Accepted. Metric name from
//!   [`EventKind::metric_name`](samlet_connector::model::EventKind::metric_name), profile by
//!   `external_id` (the customer number) and `email`, `time`, `value` + `value_currency`,
//!   `unique_id` = the event id (Klaviyo's deduplication key, which also makes the call safe
//!   to retry), properties = the event's own plus `sku`, `channel`, `store`.
//! - Vouchers ([`VoucherStore`]): `GET /api/coupon-codes/?filter=equals(profile.id,…),any(coupon.id,[…])`
//!   (after resolving the customer number to a profile id, cached), `GET /api/coupon-codes/{coupon}-{code}/`,
//!   `GET /api/profiles/{id}/?fields[profile]=external_id` (cached), and for a redemption
//!   `POST /api/events/` (metric `Redeemed Coupon`, the record of the idempotency key) then
//!   `PATCH /api/coupon-codes/{id}/` with `status: USED` (sent once, never retried). A code
//!   already `USED` is looked up in the profile's redemption events
//!   (`GET /api/events/?filter=equals(profile_id,…)&include=metric&sort=-datetime`): with
//!   this key it is the answer to a retry, otherwise a [`ErrorKind::Conflict`]; a 409 from
//!   the PATCH is a conflict too. Klaviyo coupons carry no discount value: each coupon's
//!   worth is configured (`vouchers.coupons`, default `LOYALTY10 = "10%"`). Klaviyo has no
//!   expired status and no redemption time: `ASSIGNED_TO_PROFILE` past `expires_at` is
//!   expired, and the redemption time and channel come from the redemption event (a code
//!   marked `USED` by another integration, without one, reads as redeemed at the Unix epoch).
//!   Request counts: listing 2 (1 with the profile id cached, +1 if a code is used), reading
//!   by code 2 (1 per configured coupon tried + 1 uncached profile), redeeming 3 (code,
//!   event, PATCH) + 1 uncached profile; a retry or a conflict 2 (code, events). See
//!   `vouchers.rs` for the exactly-once caveats.
//!
//! Every call sends `Authorization: Klaviyo-API-Key <api_key>`, `revision: <revision>`
//! and `Accept: application/vnd.api+json`. A 400 (e.g. a missing or unknown revision) is
//! [`ErrorKind::BadRequest`], 401/403 [`ErrorKind::Unauthorized`] (a private key cannot be
//! refreshed, so there is no retry), 429 [`ErrorKind::RateLimited`] with `Retry-After`
//! (short waits are retried by [`Upstream`]), 5xx [`ErrorKind::Unavailable`]. Messages carry
//! Klaviyo's `code: detail`, never the key.
//!
//! # Configuration ([`KlaviyoConfig`])
//! `api_key` (required, a `pk_…` private key with `profiles:read`, `events:read` and
//! `events:write`, `coupon-codes:read` and `coupon-codes:write`), `base_url` (default
//! `https://a.klaviyo.com`), `revision` (default `2026-07-15`), `index_loyalty_numbers`
//! (default `true`), `properties = { loyalty_number, loyalty_tier, customer_kind }` (the
//! custom property names), `vouchers = { coupons = { <coupon id> = "10%" | "100 DKK" },
//! redemption_metric = "Redeemed Coupon" }`.
//!
//! # Simulator
//! [`simulator`] serves the world's marketing slice in Klaviyo's dialect (its module docs list
//! the details): private-key auth with the demo key `pk_samlet_demo` (demo only), the
//! required `revision` header, JSON:API bodies and error documents, `page[size]` caps, cursor
//! paging via absolute `links.next`, the identifier and `updated` filters, subscriptions,
//! rate limits with `RateLimit-*` headers and 429 + `Retry-After` (enforced by `start`,
//! optional with `start_with`), `POST`/`GET /api/events` with `unique_id` deduplication, and
//! coupon codes: every SILVER or GOLD member of the marketing slice holds `L10-<customer
//! number>` of coupon `LOYALTY10`, valid for ten years from the world's "now" (not 60 days:
//! the world's clock is fixed in the past, and the connector compares `expires_at` with the
//! real clock), GOLD members also last season's `L10-<number>-OLD`, expired; `PATCH` status
//! changes are kept in memory (a second `USED` is a 409). Profiles carry the default custom
//! property names. Not simulated: OAuth, scopes, profile
//! writes, the other filters and sorts (`created`, `_kx`, suppressions; answered with 400),
//! `include`d profile relationships, predictive analytics, and event processing (events never
//! change profiles).
//!
//! # Exported API
//! [`KIND`], [`capabilities`], [`KlaviyoConfig`] with [`KlaviyoConfig::validate`],
//! [`connect`], [`simulator`] (`start`, `start_with`, `demo_toml`, `demo_config`,
//! `API_PATHS`), [`VoucherConfig`], and for events sent directly [`KlaviyoClient`],
//! [`KlaviyoEvent`], [`EventProfile`].

pub mod client;
pub mod config;
mod customers;
pub mod events;
mod mapping;
mod marketing;
pub mod simulator;
mod vouchers;

pub use client::KlaviyoClient;
pub use config::{KlaviyoConfig, PropertyNames, VoucherConfig};
pub use events::{EventProfile, KlaviyoEvent};

use samlet_connector::prelude::*;
use std::sync::Arc;

/// The vendor kind in configuration (`kind = "klaviyo"`).
pub const KIND: &str = "klaviyo";

/// Capabilities as data, for `samlet check` before connecting.
pub fn capabilities() -> &'static [Capability] {
    &[
        Capability::Customers,
        Capability::MarketingEvents,
        Capability::Vouchers,
    ]
}

/// Builds the connector (no network I/O here: the first call makes the first request).
pub fn connect(
    name: ConnectorName,
    config: &KlaviyoConfig,
    policy: UpstreamPolicy,
) -> Result<Connector, ConnectorError> {
    let client = KlaviyoClient::new(name.clone(), config, policy)?;
    let mut connector = Connector::new(name, KIND);
    connector.marketing_events = Some(Arc::new(marketing::KlaviyoMarketing::new(client.clone())));
    connector.vouchers = Some(Arc::new(vouchers::KlaviyoVouchers::new(
        client.clone(),
        &config.vouchers,
    )));
    connector.customers = Some(Arc::new(customers::KlaviyoCustomers::new(
        client,
        config.properties.clone(),
        config.index_loyalty_numbers,
    )));
    Ok(connector)
}
