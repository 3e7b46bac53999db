//! Samlet connector for **Klaviyo** (marketing), with a simulator of its API.
//!
//! # What it serves
//! [`Capability::Customers`] only: Klaviyo profiles as [`CustomerRecord`]s, with the
//! marketing consents only the marketing system holds. Klaviyo has no product, price, stock,
//! location or order API worth reading (orders are events there), so nothing else is declared.
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
//!   for e-mail, phone and customer-number keys. One request per key kind per 100 keys
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
//! - `POST /api/events/` via [`KlaviyoClient::create_event`] (not a capability yet).
//!
//! Every call sends `Authorization: Klaviyo-API-Key <api_key>`, `revision: <revision>`
//! and `Accept: application/vnd.api+json`. A 400 (e.g. a missing or unknown revision) is
//! [`ErrorKind::BadRequest`], 401/403 [`ErrorKind::Unauthorized`] (a private key cannot be
//! refreshed, so there is no retry), 429 [`ErrorKind::RateLimited`] with `Retry-After`
//! (short waits are retried by [`Upstream`]), 5xx [`ErrorKind::Unavailable`]. Messages carry
//! Klaviyo's `code: detail`, never the key.
//!
//! # Configuration ([`KlaviyoConfig`])
//! `api_key` (required, a `pk_…` private key with `profiles:read`, plus `events:write` for
//! events), `base_url` (default `https://a.klaviyo.com`), `revision` (default `2026-07-15`),
//! `index_loyalty_numbers` (default `true`), `properties = { loyalty_number, loyalty_tier,
//! customer_kind }` (the custom property names).
//!
//! # Simulator
//! [`simulator`] serves the world's marketing slice in Klaviyo's dialect (its module docs list
//! the details): private-key auth with the demo key `pk_samlet_demo` (demo only), the
//! required `revision` header, JSON:API bodies and error documents, `page[size]` caps, cursor
//! paging via absolute `links.next`, the identifier and `updated` filters, subscriptions,
//! rate limits with `RateLimit-*` headers and 429 + `Retry-After` (enforced by `start`,
//! optional with `start_with`), and `POST`/`GET /api/events` with `unique_id` deduplication.
//! Profiles carry the default custom property names. Not simulated: OAuth, scopes, profile
//! writes, the other filters and sorts (`created`, `_kx`, suppressions; answered with 400),
//! `include`d profile relationships, predictive analytics, and event processing (events never
//! change profiles).
//!
//! # Exported API
//! [`KIND`], [`capabilities`], [`KlaviyoConfig`] with [`KlaviyoConfig::validate`],
//! [`connect`], [`simulator`] (`start`, `start_with`, `demo_toml`, `demo_config`,
//! `API_PATHS`), and for events [`KlaviyoClient`], [`KlaviyoEvent`], [`EventProfile`].

pub mod client;
pub mod config;
mod customers;
pub mod events;
mod mapping;
pub mod simulator;

pub use client::KlaviyoClient;
pub use config::{KlaviyoConfig, PropertyNames};
pub use events::{EventProfile, KlaviyoEvent};

use samlet_connector::prelude::*;
use std::sync::Arc;

/// The vendor kind in configuration (`kind = "klaviyo"`).
pub const KIND: &str = "klaviyo";

/// Capabilities as data, for `samlet check` before connecting.
pub fn capabilities() -> &'static [Capability] {
    &[Capability::Customers]
}

/// Builds the connector (no network I/O here: the first call makes the first request).
pub fn connect(
    name: ConnectorName,
    config: &KlaviyoConfig,
    policy: UpstreamPolicy,
) -> Result<Connector, ConnectorError> {
    let client = KlaviyoClient::new(name.clone(), config, policy)?;
    let mut connector = Connector::new(name, KIND);
    connector.customers = Some(Arc::new(customers::KlaviyoCustomers::new(
        client,
        config.properties.clone(),
        config.index_loyalty_numbers,
    )));
    Ok(connector)
}
