//! `samlet-sfmc`: Salesforce Marketing Cloud Engagement (REST API) as a Samlet customer
//! source and marketing sink (journey entry events), and a simulator of both.
//!
//! # What it serves, and why
//! [`Capability::Customers`]: the marketing system's view of a customer (names, e-mail,
//! mobile phone, address, loyalty number and tier) and the marketing consents only it holds.
//!
//! [`Capability::MarketingEvents`]: touchpoint events ([`CustomerEvent`]) fire **journey
//! entry events** (`POST /interaction/v1/events`), so a journey can react to a product
//! viewed, a store visit, a purchase or an offer composed in store.
//!
//! Marketing Cloud has no product, price, stock, location or order API worth reading, so
//! nothing else is declared.
//!
//! # The account model it expects
//! Integrations push the shared customer number into Marketing Cloud as the **ContactKey**
//! (the CRM id / customer key, as is common practice) and keep the attributes in a data
//! extension with one row per customer, the customer number as its primary key. Reading that
//! data extension is what real integrations do to read attributes by key: the Contacts API
//! (`/contacts/v1/addresses/email/search`, `/contacts/v1/attributes/search`) answers contact
//! keys and attribute-group values one value at a time, whereas the data extension rowset
//! endpoint filters on any column with `or`.
//!
//! | model field | data extension column (default name, configurable) |
//! |---|---|
//! | `number`, `source.native_id` | `CustomerNumber` (primary key = ContactKey) |
//! | `email` | `Email`, lower-cased |
//! | `phone` | `MobilePhone`, normalised to E.164 with `Country` |
//! | `first_name`, `last_name`, `company_name` | `FirstName`, `LastName`, `CompanyName` |
//! | `kind` | `CustomerKind`: `Company` → company, else person |
//! | `loyalty_number`, `loyalty_tier` | `LoyaltyNumber`, `LoyaltyTier` |
//! | `address` | `Street`, `PostalCode`, `City`, `Country` (ISO 3166-1 alpha-2) |
//! | `consents` | `EmailOptIn`, `SmsOptIn` (Boolean), time `OptInUpdatedAt` |
//! | `updated_at` | `ModifiedDate` |
//! | `customer_group` | none (no price groups in marketing) |
//!
//! # Endpoints used
//! - `POST {auth_base_url}/v2/token`, JSON body `{grant_type: "client_credentials",
//!   client_id, client_secret, account_id}` → `access_token`, `expires_in` (≈ 1080 s) and
//!   `rest_instance_url`, where every data call goes with `Authorization: Bearer`. The token
//!   is cached until a minute before it expires (Marketing Cloud asks for token reuse); a
//!   401 drops it, and the call is repeated once with a new one.
//! - `GET {rest_instance_url}/data/v1/customobjectdata/key/{data_extension_key}/rowset
//!   ?$filter=…&$page=n&$pageSize=2500`: a batch of keys becomes one filter,
//!   `CustomerNumber eq 'C0000042' or Email eq 'anna@example.dk' or MobilePhone eq '+45…'
//!   or LoyaltyNumber eq '7…'` (an external id of this connector is the primary key, so it is a
//!   `CustomerNumber eq` term too). **One request per batch**, split only when the request's
//!   path and query would exceed `max_url_length` (default 8000 bytes): 48 customers by
//!   e-mail or by number cost 1 request (plus one token request per ~18 minutes); 30
//!   customers by number, e-mail, phone and loyalty number together (about 100 keys) cost 1;
//!   400 e-mails cost 3 (see `tests/dialect.rs`). Requests of one batch run concurrently
//!   (four at a time); answers spanning pages are read with `$page` n + 1 while
//!   `page × pageSize < count`.
//! - `POST {rest_instance_url}/interaction/v1/events` `{ContactKey, EventDefinitionKey,
//!   Data}` → 201 `{eventInstanceId}`, via [`SfmcClient::fire_entry_event`]: **one request
//!   per touchpoint event** (the endpoint enters one contact per call), at most
//!   [`EVENT_CONCURRENCY`] in flight, never retried blindly (each accepted call enters the
//!   contact again). `ContactKey` is the customer number; `EventDefinitionKey` is
//!   `event_definitions.<kind>` or `event_definitions.default`; `Data` is `{EventId, Kind,
//!   Email, Channel, Store, Sku, Value, Currency, OccurredAt, Properties}` (fields without a
//!   value are left out; `Value` is an exact decimal string, `OccurredAt` ISO 8601 UTC,
//!   `Properties` the event's properties as JSON text). The event's data extension must have
//!   these fields; make `EventId` its primary key.
//!
//! **Deduplication, honestly:** Marketing Cloud does not deduplicate entry events on any id.
//! The connector remembers, per process, the ids of the events it fired (the last
//! [`REMEMBERED_EVENTS`]) and does not send a known id again (nor an id repeated within a
//! batch): a repeated `track` is accepted and sends nothing. An id whose request failed is
//! forgotten, so a retry sends it again; after a *lost* answer (a timeout or 5xx after
//! Marketing Cloud accepted the event) that enters the contact twice, and another process or
//! a restart knows no ids. The simulator does not deduplicate either.
//!
//! **What the documentation says about the filter, honestly:** the rowset read
//! (`/data/v1/customobjectdata/key/{key}/rowset`) is what integrations use to read data
//! extension rows, but Salesforce's REST reference does not describe its `$filter` grammar or
//! any limit on it. Integrations in the field send `Column eq 'value'`, combine with
//! `and`/`or`, and use `like` and `between`; there is no `in`. The connector therefore sends
//! `or` chains, quotes literals with `'` (a quote doubled), and splits only by request length,
//! the one limit every HTTP front end has. If a tenant misbehaves with long chains, lower
//! `max_url_length`. E-mail comparison relies on data extension text comparisons being
//! case-insensitive (SQL Server collation), which the simulator reproduces. The page-size cap
//! of 2500 and the lower-cased column names in answers are community-reported, not
//! documented; the connector reads column names case-insensitively either way.
//!
//! Errors: REST bodies `{message, errorcode, documentation}` become typed errors with the
//! code in the message: 401 (errorcode 0) and 403 [`ErrorKind::Unauthorized`], 429 (errorcode
//! 50100 with `Retry-After`/`retryAfter`, or 50200 "temporarily blocked")
//! [`ErrorKind::RateLimited`], 5xx [`ErrorKind::Unavailable`] (retried by the shared upstream
//! policy for reads), 404 on the rowset (no such data extension) [`ErrorKind::BadRequest`]
//! naming `data_extension_key`. Token errors (`invalid_client`, `unauthorized_client`, …)
//! are [`ErrorKind::Unauthorized`]. Messages never carry the secret or a token.
//!
//! # Configuration ([`SfmcConfig`], `kind = "salesforce-marketing-cloud"`)
//! | key | default | meaning |
//! |---|---|---|
//! | `auth_base_url` | (required) | `https://{subdomain}.auth.marketingcloudapis.com` |
//! | `client_id`, `client_secret` | (required) | the installed package's API integration (write `"${ENV}"`) |
//! | `account_id` | none | MID of the business unit to work in |
//! | `data_extension_key` | `"Samlet_Customers"` | external key of the customer data extension |
//! | `page_size` | `2500` | rows per rowset page (1–2500) |
//! | `max_url_length` | `8000` | longest path + query of one rowset request |
//! | `event_definitions.default` | none | the `EventDefinitionKey` every kind of touchpoint event fires (without any key, `track` is refused as a configuration error) |
//! | `event_definitions.<kind>` | none | per kind: `product_viewed`, `wishlisted`, `basket_changed`, `store_visit`, `purchase`, `offer_sent` |
//! | `columns.*` | see the table above | `customer_number`, `email`, `mobile_phone`, `first_name`, `last_name`, `company_name`, `customer_kind`, `loyalty_number`, `loyalty_tier`, `country`, `city`, `postal_code`, `street`, `email_opt_in`, `sms_opt_in`, `opt_in_updated_at`, `modified_date` |
//!
//! # Simulator
//! [`simulator`] serves the world's marketing slice as the `Samlet_Customers` data extension
//! in this dialect (its module docs list the details): the token endpoint with demo
//! credentials (`samlet-demo` / `demo-secret`, MID `100000001`; demo only), rowset paging and
//! page-size cap, the filter language with case-insensitive comparisons, Marketing Cloud's
//! error bodies, optional 429 throttling ([`simulator::SimOptions`]), and entry events for the
//! key `APIEvent-samlet-demo` (the demo configuration's `event_definitions.default`), kept in
//! memory behind a mutex ([`simulator::EventLog`], `GET /_sim/interaction/events`; every
//! accepted call is one entry, as in Marketing Cloud). Not simulated: token expiry,
//! `requestToken` paging URLs, `$orderBy`, filters that need a full scan, the Contacts API,
//! data extension writes, event `Data` validation against the event's data extension (and
//! so its primary key), journeys and their re-entry settings.
//!
//! # Exported API
//! [`KIND`], [`capabilities`], [`SfmcConfig`] (with [`ColumnNames`]) and
//! [`SfmcConfig::validate`], [`connect`], [`simulator`] (`start`, `start_with`,
//! `demo_toml`, `demo_config`, `API_PATHS`), [`EventDefinitionKeys`], [`EVENT_CONCURRENCY`],
//! [`REMEMBERED_EVENTS`], and for entry events of other shapes [`SfmcClient`] with
//! [`SfmcClient::fire_entry_event`] and [`EventInstanceId`].

mod client;
mod config;
mod customers;
mod mapping;
mod marketing;
pub mod simulator;

pub use client::{EventInstanceId, SfmcClient};
pub use config::{
    ColumnNames, EventDefinitionKeys, SfmcConfig, DEFAULT_DATA_EXTENSION_KEY,
    DEFAULT_MAX_URL_LENGTH, MAX_PAGE_SIZE,
};
pub use marketing::{CONCURRENCY as EVENT_CONCURRENCY, REMEMBERED_EVENTS};

use samlet_connector::prelude::*;
use std::sync::Arc;

/// The connector kind named in configuration.
pub const KIND: &str = "salesforce-marketing-cloud";

/// Capabilities as data, for `samlet check` before connecting.
pub fn capabilities() -> &'static [Capability] {
    &[Capability::Customers, Capability::MarketingEvents]
}

/// Builds the connector (no network I/O here: the token is fetched on the first call). A
/// configuration with problems is refused with [`ErrorKind::BadRequest`] listing them.
pub fn connect(
    name: ConnectorName,
    config: &SfmcConfig,
    policy: UpstreamPolicy,
) -> Result<Connector, ConnectorError> {
    let problems = config.validate();
    if !problems.is_empty() {
        let list: Vec<String> = problems.iter().map(ToString::to_string).collect();
        return Err(ConnectorError::new(
            ErrorKind::BadRequest,
            &name,
            format!("invalid configuration: {}", list.join("; ")),
        ));
    }
    let client = Arc::new(SfmcClient::new(name.clone(), config, policy)?);
    let mut connector = Connector::new(name, KIND);
    connector.marketing_events = Some(Arc::new(marketing::SfmcMarketing::new(
        client.clone(),
        config.event_definitions.clone(),
    )));
    connector.customers = Some(Arc::new(customers::SfmcCustomers::new(
        client,
        config.data_extension_key.clone(),
        config.columns.clone(),
        config.page_size,
        config.max_url_length,
    )));
    Ok(connector)
}
