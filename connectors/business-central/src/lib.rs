//! Samlet connector for Microsoft Dynamics 365 Business Central (API v2.0), the ERP: customers
//! (debtors, with B2B price groups), prices per channel, currency and customer group, stock per
//! location, locations, and orders with their lines and shipments. Products come from the PIM,
//! so this connector does not serve them.
//!
//! # Capabilities and why
//! | Capability | Served from |
//! |---|---|
//! | `customers` | custom page `customers` (names of the primary contact and the customer price group are not on the standard customer) |
//! | `prices` | custom page `itemPrices` (the standard item has a single `unitPrice`) |
//! | `inventory` | custom page `itemStockByLocation` (the standard item has only the total `inventory`) |
//! | `locations` | custom page `locations` (store/warehouse type and click-and-collect are not standard fields) |
//! | `orders` | standard `salesOrders` + `salesOrderLines`, joined with custom page `salesOrderTracking` |
//!
//! Standard API pages cannot be extended in AL, so every field Business Central does not
//! publish comes from custom API pages of a small extension the retailer installs (below).
//!
//! # Configuration
//! | Key | Default | Meaning |
//! |---|---|---|
//! | `tenant` | (required) | Entra ID tenant id or domain |
//! | `environment` | `"production"` | Business Central environment name |
//! | `company_id` | (required) | company GUID (`GET /api/v2.0/companies`) |
//! | `client_id` | (required) | Entra ID app (client) id |
//! | `client_secret` | (required) | its secret; write `"${BC_CLIENT_SECRET}"` |
//! | `api_url` | `"https://api.businesscentral.dynamics.com"` | API host |
//! | `authority_url` | `"https://login.microsoftonline.com"` | Entra ID host |
//! | `scope` | `"https://api.businesscentral.dynamics.com/.default"` | OAuth scope |
//! | `custom_api` | `"samlet/commerce/v1.0"` | publisher/group/version of the extension's pages |
//! | `local_currency` | `"DKK"` | what a blank `currencyCode` means |
//! | `variant_separator` | `"-"` | SKU = item no. + separator + variant code |
//! | `page_size` | `5000` | `Prefer: odata.maxpagesize` (1..=20000) |
//! | `max_concurrent_requests` | `5` | requests in flight (Business Central runs 5 per user at once) |
//!
//! # The wire
//! - Auth: Entra ID client credentials, `POST {authority_url}/{tenant}/oauth2/v2.0/token`
//!   (form `grant_type=client_credentials`, `client_id`, `client_secret`, `scope`), token cached
//!   until a minute before `expires_in`; a 401 on an API call drops the token and retries once.
//! - Data: `GET {api_url}/v2.0/{tenant}/{environment}/api/v2.0/companies({company_id})/salesOrders`
//!   and `.../api/{custom_api}/companies({company_id})/{customers|itemPrices|itemStockByLocation|locations|salesOrderTracking}`,
//!   with `$filter`, `$expand`, `$orderby`, `Prefer: odata.maxpagesize` and
//!   `Data-Access-Intent: ReadOnly`; `@odata.nextLink` is followed (only on the configured
//!   API host) until a collection is complete.
//! - Batching: keys go in `in (...)` lists (one filter node however long), chunked at
//!   [`client::MAX_IN_LIST_CHARS`] characters; e-mails need `tolower(email) eq '...'` chains
//!   (Business Central compares case-sensitively otherwise), cut at [`client::MAX_OR_TERMS`]
//!   because a filter may have at most 100 nodes; `or` never spans two fields (Business Central
//!   rejects it), so numbers, e-mails and phones are separate requests, sent concurrently.
//!   A batch of 48 products' SKUs is one request for prices and one for stock; 20 orders by
//!   number are two concurrent requests (headers with lines, tracking with shipments).
//! - Errors: OData `{"error":{"code","message"}}` bodies become typed errors with the code
//!   and message; Entra ID's `{"error","error_description"}` on the token endpoint becomes
//!   `UPSTREAM_AUTH`; 429 and 5xx are retried by the shared upstream policy honouring
//!   `Retry-After`.
//!
//! # The Samlet extension: the custom API contract
//! An AL extension publishes these API pages (`APIPublisher = 'samlet'`, `APIGroup =
//! 'commerce'`, `APIVersion = 'v1.0'`, configurable through `custom_api`), read-only,
//! `ODataKeyFields = SystemId` where the source has one:
//! - `customers` (Customer): `id`, `number`, `displayName`, `type` (`Person`/`Company`),
//!   `firstName`, `lastName` (the primary contact's First Name and Surname), `addressLine1`,
//!   `addressLine2`, `city`, `state`, `country`, `postalCode`, `phoneNumber`, `email`,
//!   `customerPriceGroup`, `lastModifiedDateTime`. Filterable on `number`, `email` (with
//!   `tolower`) and `phoneNumber`.
//! - `itemPrices` (Price List Line, resolved to one line per item, variant, channel, currency
//!   and price group): `itemNumber`, `variantCode`, `priceChannel` (`online`/`store`, from the
//!   price list's sales channel), `currencyCode` (blank for LCY), `customerPriceGroup` (blank
//!   for all customers), `unitPrice`, `regularUnitPrice` (the price before a campaign, equal to
//!   `unitPrice` without one), `priceIncludesTax`.
//! - `itemStockByLocation` (Item × Location, with the Location Filter flow filter):
//!   `itemNumber`, `variantCode`, `locationCode`, `inventory` (on hand), `reservedQuantity`.
//! - `locations` (Location): the standard `code`, `displayName`, `addressLine1`,
//!   `addressLine2`, `city`, `state`, `country`, `postalCode`, plus `locationType`
//!   (`Store`/`Warehouse`, a table extension field) and `clickAndCollect` (boolean).
//! - `salesOrderTracking` (Sales Header, document type Order): `number`, `customerNumber`,
//!   `placedAt` (SystemCreatedAt; the standard `orderDate` is a date only), `salesChannel`
//!   (`web`, `app`, `store`, `kiosk`, `pos`, `email`), `storeCode` (Responsibility Center),
//!   `cancelled` (orders cancelled but kept for history), and the part `shipments` (Sales
//!   Shipment Header with Order No. = number): `number`, `shippedAt` (SystemCreatedAt),
//!   `shippingAgentCode`, `shippingAgentName`, `packageTrackingNumber`,
//!   `shippingAgentInternetAddress` (the agent's tracking URL with `%1`).
//!
//! Mapping conventions: a SKU is `{itemNumber}{variant_separator}{variantCode}` (the item
//! number alone without a variant); order amounts are in the order's price basis (with VAT
//! when `pricesIncludeTax`, net for B2B orders); the order status is `Cancelled` if the
//! extension says so, else `Shipped` when `fullyShipped`, else `PartiallyShipped` when any
//! quantity or shipment is posted, else `Open`.
//!
//! # The simulator
//! [`simulator`] serves the world's ERP slice in this dialect: the Entra token endpoint
//! (with AADSTS errors for a wrong tenant, app, secret or scope), bearer checks with
//! `Authentication_InvalidCredentials`, OData filters (`eq`, `ne`, `lt`..`ge`, `and`, `or`,
//! `in`, `not`, `tolower`, `toupper`, `contains`, `startswith`, `endswith`) with Business
//! Central's rules (no `or` across fields, at most 100 nodes, values no longer than their
//! field), `$expand` (nested), `$select`, `$orderby`, `$top`, server-driven paging with
//! `Prefer: odata.maxpagesize` (capped at 20,000, echoed in `Preference-Applied`) and
//! `@odata.nextLink`, and OData error bodies (also for injected faults). Not simulated: writes,
//! `$batch`, `$skip`, `$count`, `$metadata`, single entities by key, webhooks, ETag
//! preconditions, the per-user request quotas (only injected 429s), date-typed filter
//! semantics (dates compare as text), and `$orderby` on an unfiltered scan of a large entity
//! set (answered with 501). The error codes for 429 and 503 are approximations (Microsoft
//! documents the statuses, not the codes).
//!
//! # Known gap
//! Business Central deletes a sales order once it is fully shipped *and* invoiced (it lives on
//! as posted shipments and invoices); this connector then no longer finds it. The simulator
//! keeps every order as a sales order. Serving such history (from `salesInvoices` or the
//! Sales Header Archive through the extension) is a follow-up.

pub mod client;
pub mod config;
mod customers;
mod inventory;
mod locations;
pub mod mapping;
mod orders;
mod prices;
pub mod simulator;

pub use client::BusinessCentralClient;
pub use config::BusinessCentralConfig;

use samlet_connector::prelude::*;

/// The connector kind in configuration.
pub const KIND: &str = "business-central";

/// Capabilities as data, for `samlet check` before connecting.
pub fn capabilities() -> &'static [Capability] {
    &[
        Capability::Customers,
        Capability::Prices,
        Capability::Inventory,
        Capability::Locations,
        Capability::Orders,
    ]
}

/// Builds the connector (no network I/O here: tokens are fetched lazily on first call).
pub fn connect(
    name: ConnectorName,
    config: &BusinessCentralConfig,
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
    let upstream = Upstream::new(name.clone(), policy)?;
    let client = BusinessCentralClient::new(config.clone(), upstream);
    let mut c = Connector::new(name, KIND);
    c.customers = Some(client.clone());
    c.prices = Some(client.clone());
    c.inventory = Some(client.clone());
    c.locations = Some(client.clone());
    c.orders = Some(client);
    Ok(c)
}
