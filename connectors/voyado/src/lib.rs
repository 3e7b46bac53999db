//! Samlet connector for **Voyado Engage** (marketing and loyalty), with a simulator of its API.
//!
//! # What it serves
//! [`Capability::Customers`]: Voyado contacts as [`CustomerRecord`]s, with the marketing
//! preferences and the loyalty membership (member number, loyalty level) that the marketing
//! system holds. It serves the same slice of customers as the Klaviyo connector, so swapping
//! one for the other in a stack gives the same merged customer.
//!
//! [`Capability::Vouchers`]: Voyado **reward vouchers** as [`Voucher`]s (the loyalty payouts
//! a member redeems in store or online), redeemed exactly once. Voyado's receipts, point
//! accounts and promotions have no capability in `samlet-connector`.
//!
//! | model field | Voyado contact |
//! |---|---|
//! | `source.native_id` | `id` (the contact GUID) |
//! | `number` | `attributes.externalId` (the shared customer number pushed by the integration) |
//! | `email` | `attributes.email`, lower-cased |
//! | `phone` | `attributes.mobilePhone` (E.164) |
//! | `first_name`, `last_name` | `attributes.firstName`, `attributes.lastName` |
//! | `kind`, `company_name` | tenant attribute `companyName` (configurable): a contact with a company name is a company, otherwise a person. Contact types keep Voyado's meaning: `Member` for loyalty club members, `Contact` for everyone else |
//! | `loyalty_number` | `attributes.memberNumber` |
//! | `loyalty_tier` | tenant attribute `loyaltyLevel` (configurable; Voyado has no standard level attribute) |
//! | `address` | `attributes.street` (+ `careOf`), `zipCode`, `city`, `countryCode` |
//! | `consents` | `preferences.acceptsEmail` / `acceptsSms` (granted or not; Voyado keeps no timestamp, so `updated_at` is `None`) |
//! | `customer_group` | none |
//! | `updated_at` | `meta.modifiedOn` |
//!
//! # Endpoints used, and what a batch costs
//! Voyado **cannot batch**: every lookup names one identifier, and no documented search takes
//! several keys. A batch fans out, concurrently, through one gate per connector instance
//! (`max_concurrency` requests in flight, default 8, and a token bucket of
//! `requests_per_second`, default 50, because Voyado asks integrations to stay under 50
//! requests per second and answers 429 above 200):
//! - `GET /api/v3/contacts/id?email=…`, `?mobilePhone=…`, `?customKey=…`: one request per
//!   distinct e-mail, phone, and customer number (the tenant's `customKey` is the `externalId`
//!   by default); the answer is the contact id (a JSON string);
//! - `GET /api/v3/contacts/{contactId}`: one request per distinct contact found, and per
//!   contact id asked as an external id of this connector (a GUID; anything else is absent
//!   without a request);
//! - `GET /api/v2/contacts/{member_contact_type}/bykey?keyValue=…` (v3 has no equivalent): one
//!   request per member number, answering the whole contact;
//! - with `custom_key = "memberNumber"` the roles swap: member numbers go through
//!   `customKey`, and each customer number costs one
//!   `GET /api/v2/contacts/{type}/byexternalid/{externalId}` per `contact_types` entry.
//!
//! So 48 customers by e-mail cost 96 requests (48 id lookups, then 48 contact reads), a
//! customer asked for by number and e-mail in one batch costs 3 (two lookups, one read), and a
//! member number or a contact id costs 1. 404 `ContactNotFound` is an absent key, as are 409 `MultipleMatches`
//! (logged) and 400 `InvalidEmailAddress`/`InvalidPhoneNumber`; a 404 without Voyado's
//! not-found code is an error.
//!
//! # Vouchers (the write side)
//! | model field | Voyado reward voucher |
//! |---|---|
//! | `code` | `{customer number}:{voucherNumber}`, e.g. `C0000012:2500000000192` (the number a till scans, qualified by the member: Voyado lists vouchers per contact only and finds none by number) |
//! | `customer` | the customer number asked for (the contact's `externalId`) |
//! | `value` | `Amount(value)`: `value.amount` in `value.currency`, the member's currency (exact decimal) |
//! | `status` | `redeemed` → `Redeemed { at: redeemedOn, channel: None }` (Voyado records no channel), else `expiresOn` passed → `Expired`, else `Available` |
//! | `valid_until` | `expiresOn` |
//!
//! - `vouchers(customer)`: the contact id (`GET /api/v3/contacts/id?customKey=…`, or the v2
//!   `byexternalid` read per contact type when `custom_key = "memberNumber"`), then
//!   `GET /api/v3/reward-vouchers?contactId=…&offset=…&count=100`: 2 requests;
//!   `voucher(code)`: the same 2 (a code that is not `customer:number` costs none and is
//!   absent).
//! - `redeem_voucher(code, key)`: the same 2 (the voucher's state), then
//!   `POST /api/v3/reward-vouchers/{id}/redeem` once (never retried blindly), then one more
//!   listing for the answer: 4 requests. A voucher redeemed already is
//!   [`ErrorKind::Conflict`] (`RewardVoucherAlreadyRedeemed`), an expired one too
//!   (`RewardVoucherExpired`), both found before any `POST`.
//! - **Exactly once:** Voyado's redeem takes no idempotency key, so the connector remembers
//!   the keys of the redemptions it sent (per process, the last [`REMEMBERED_KEYS`]). A retry
//!   with a remembered key (after a lost answer: timeout, 5xx such as Voyado's 504
//!   `GatewayTimeout`) reads the voucher first and answers it if redeemed, without a second
//!   `POST`; a 409 `RewardVoucherAlreadyRedeemed` to a retry whose first attempt's outcome
//!   was unknown is taken as that attempt having landed late. A redeemed voucher asked for
//!   with a new key is a conflict. Limit: a retry from another gateway process after a lost
//!   answer is reported as a conflict, because Voyado keeps no key to tell the two apart.
//!
//! Every call sends `apikey: <key>`, `User-Agent: <user_agent>` (Voyado requires
//! `System/Version`), `Accept: application/json` and `Content-Type: application/json`
//! (documented as mandatory on every request). 401/403 are [`ErrorKind::Unauthorized`] (an
//! API key cannot be refreshed, so there is no retry), 429 [`ErrorKind::RateLimited`] with
//! `Retry-After` if sent (short waits are retried by [`Upstream`]), 5xx
//! [`ErrorKind::Unavailable`], 409 [`ErrorKind::Conflict`]. Messages carry Voyado's
//! `errorCode: message`, never the key.
//!
//! # Configuration ([`VoyadoConfig`])
//! `base_url` (required, the tenant origin `https://<client>.voyado.com`), `api_key`
//! (required), `user_agent` (default `Samlet/<version>`), `custom_key` (`"externalId"`, the
//! default, or `"memberNumber"`: what the tenant's `customKey` holds), `member_contact_type`
//! (default `Member`), `contact_types` (default `["Member", "Contact"]`),
//! `attributes = { loyalty_level, company_name }` (tenant attribute names, default
//! `loyaltyLevel`, `companyName`), `max_concurrency` (1–50, default 8),
//! `requests_per_second` (1–200, default 50).
//!
//! # Simulator
//! [`simulator`] serves the world's marketing slice as Voyado contacts (its module docs list
//! the details): the `apikey` header with the demo key `samlet-demo-apikey` (demo only), the
//! mandatory `User-Agent` (400 without it) and `Content-Type` (500 "An error has occurred"
//! without it), contact-id lookups with Voyado's validation and error codes, contacts by id,
//! the v2 `bykey` and `byexternalid` reads, reward vouchers with `offset`/`count` paging and
//! stateful redemption (kept in memory behind a mutex, layered over the world's vouchers:
//! every GOLD member holds an available 250 and an expired 100 voucher, every SILVER member
//! an available 100, in their country's currency; a redemption's answer can be lost on
//! purpose with [`simulator::SimOptions::lose_redeem_answers`]), and Voyado's 200 requests
//! per second per key (429), enforced only when asked with [`simulator::start_with`] (which
//! can also simulate a tenant whose `customKey` is the member number). Not simulated: writes
//! to contacts, the `socialSecurityNumber` key (always 404), `contactoverview`, consents,
//! receipts, point accounts, promotions, voucher reactivation, Voyado's 4.5 s redeem
//! timeout, webhooks, and Voyado's exact error body (Voyado documents codes, not
//! the body; the simulator answers `{"statusCode", "errorCode", "message", "correlationId"}`).
//!
//! # Exported API
//! [`KIND`], [`capabilities`], [`VoyadoConfig`] with [`VoyadoConfig::validate`], [`connect`],
//! [`simulator`] (`start`, `start_with`, `demo_toml`, `demo_config`, `API_PATHS`), and for
//! loyalty integrations [`VoyadoClient`] with [`RewardVoucher`] and [`VoucherStatus`].

pub mod client;
pub mod config;
mod customers;
mod mapping;
pub mod simulator;
mod voucher_store;
pub mod vouchers;

pub use client::{Contact, ContactLookup, VoyadoClient};
pub use config::{AttributeNames, CustomKey, VoyadoConfig};
pub use voucher_store::REMEMBERED_KEYS;
pub use vouchers::{RewardVoucher, VoucherStatus};

use samlet_connector::prelude::*;
use std::sync::Arc;

/// The vendor kind in configuration (`kind = "voyado"`).
pub const KIND: &str = "voyado";

/// Capabilities as data, for `samlet check` before connecting.
pub fn capabilities() -> &'static [Capability] {
    &[Capability::Customers, Capability::Vouchers]
}

/// Builds the connector (no network I/O here: the first call makes the first request).
pub fn connect(
    name: ConnectorName,
    config: &VoyadoConfig,
    policy: UpstreamPolicy,
) -> Result<Connector, ConnectorError> {
    let client = VoyadoClient::new(name.clone(), config, policy)?;
    let mut connector = Connector::new(name, KIND);
    connector.vouchers = Some(Arc::new(voucher_store::VoyadoVouchers::new(
        client.clone(),
        config.contact_types.clone(),
    )));
    connector.customers = Some(Arc::new(customers::VoyadoCustomers::new(
        client,
        config.attributes.clone(),
        config.member_contact_type.clone(),
        config.contact_types.clone(),
    )));
    Ok(connector)
}
