//! Samlet connector for Microsoft Dynamics 365 Business Central (API v2.0), the ERP: customers
//! (debtors, with B2B price groups), prices per channel, currency and customer group, stock per
//! location, locations, and orders with their lines and shipments; and on the write side,
//! offers (sales quotes) and order placement with click and collect. Products come from the
//! PIM, so this connector does not serve them.
//!
//! # Capabilities and why
//! | Capability | Served from |
//! |---|---|
//! | `customers` | custom page `customers` (names of the primary contact and the customer price group are not on the standard customer) |
//! | `prices` | custom page `itemPrices` (the standard item has a single `unitPrice`) |
//! | `inventory` | custom page `itemStockByLocation` (the standard item has only the total `inventory`) |
//! | `locations` | custom page `locations` (store/warehouse type and click-and-collect are not standard fields) |
//! | `orders` | standard `salesOrders` + `salesOrderLines`, joined with custom page `salesOrderTracking` |
//! | `offers` | standard `salesQuotes` (+ `salesQuoteLines`, deep insert) and `Microsoft.NAV.makeOrder`, with custom page `salesQuoteTracking` (the quote log) |
//! | `order_placement` | standard `salesOrders` (+ `salesOrderLines`, deep insert), with custom page `salesOrderTracking` |
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
//! | `online_location` | `"WH-ONLINE"` | location code of the warehouse that ships home deliveries |
//! | `webhook_url` | none | the gateway's `/webhooks/{instance}` URL: with it, webhook subscriptions for `salesOrders` and `itemStockByLocation` are registered at start (see [`webhooks`]) |
//! | `webhook_renew_seconds` | `172800` (two days) | how often the subscriptions are renewed (`PATCH`; Business Central drops them after three days) |
//! | `client_state` | none | the secret echoed in every notification (required with `webhook_url`); write `"${BC_WEBHOOK_CLIENT_STATE}"` |
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
//! # The write side
//! Writes go out once (`Upstream::send(false, ..)`, never retried by the transport; a 401,
//! answered before anything happens, is resent once with a fresh token). Every create is
//! preceded by a lookup of its idempotency reference on the primary database
//! (`Data-Access-Intent: ReadWrite`), and a create without an answer (lost, 408, 5xx) is
//! looked up again before its error is returned, so the same key never makes a second
//! document, also when the first answer was lost after the write committed.
//!
//! - Idempotency reference: the key goes into `externalDocumentNumber`, a `Code[35]` that
//!   Business Central upper-cases (see [`mapping::external_reference`]: keys longer than 35
//!   characters, such as hyphenated UUIDs, become `K` + 32 hex digits of a stable hash; keys
//!   that differ only in case are one key).
//! - Prices: each line's `unitPrice` is what that customer pays in the request's channel and
//!   currency: the price group comes from the customer's ERP record (custom `customers`
//!   page), and the group's `itemPrices` line wins over the general one. Customer, price
//!   lines (every group) and locations are read in one concurrent round trip.
//! - Offers: `POST salesQuotes` with `customerNumber`, `externalDocumentNumber`,
//!   `validUntilDate` (the date of `valid_until`; read back as the end of that day, UTC),
//!   `currencyCode` and `salesQuoteLines` (`lineType` `Item`, `lineObjectNumber`,
//!   `itemVariantId`, `quantity`, `unitPrice`, `locationId` of the store). Store, associate
//!   (`createdBy`; associates are not salesperson codes, which Business Central validates
//!   against its Salesperson table) and channel: `PATCH salesQuoteTracking({quote id})`.
//!   Read: `salesQuotes?$expand=salesQuoteLines($expand=location)` with the log rows, the
//!   variant codes from `itemVariants` (quote lines have no `itemVariant` navigation), and for
//!   converted quotes, which Business Central deletes, the order they became (its lines and
//!   total are the quote's). Status: the log's `Open`/`Expired` (computed by Business Central
//!   on its work date) or `Converted` with the order number.
//! - Converting: `PATCH salesQuoteTracking({id})` with `If-Match: {etag}` writes the
//!   conversion reference (`conversionKey`), then `POST salesQuotes({id})/Microsoft.NAV.makeOrder`
//!   (204). The log row then names the order; a retry with the same key answers it, another
//!   key gets `Conflict` naming it, and so does an expired quote. Business Central's own
//!   refusal of the action (`Application_*` errors) is a `Conflict` too.
//! - Orders: `POST salesOrders` with `customerNumber`, `externalDocumentNumber`,
//!   `currencyCode`, ship-to fields (home delivery and ship-from-store) and `salesOrderLines`
//!   whose `locationId` is the store's location (click and collect, ship from store) or
//!   `online_location` (home delivery); then `PATCH salesOrderTracking({order id})` with
//!   `salesChannel`, `storeCode` (the store; for home delivery the request's store, if any) and
//!   `fulfilment` (`ClickAndCollect`, `ShipFromStore`, `HomeDelivery`). The order is answered
//!   as `orders` reads it. Requests: a fresh placement is 9 (lookup 2, pricing 3, POST, read
//!   back 2, PATCH) in 5 round trips, a retry 2; a fresh quote 8 (lookup, pricing 3, POST,
//!   PATCH, read back 2), a conversion 6 (log, PATCH, makeOrder, log, order 2).
//!
//! # The Samlet extension: the custom API contract
//! An AL extension publishes these API pages (`APIPublisher = 'samlet'`, `APIGroup =
//! 'commerce'`, `APIVersion = 'v1.0'`, configurable through `custom_api`), read-only,
//! `ODataKeyFields = SystemId` where the source has one:
//! - `customers` (Customer): `id`, `number`, `displayName`, `type` (`Person`/`Company`),
//!   `firstName`, `lastName` (the primary contact's First Name and Surname), `addressLine1`,
//!   `addressLine2`, `city`, `state`, `country`, `postalCode`, `phoneNumber`, `email`,
//!   `customerPriceGroup`, `lastModifiedDateTime`. Filterable on `id` (the SystemId: an
//!   external id of this connector is read with `id in ('…')`, one request per 38 ids,
//!   beside the other key kinds' requests), `number`, `email` (with `tolower`) and
//!   `phoneNumber`.
//! - `itemPrices` (Price List Line, resolved to one line per item, variant, channel, currency
//!   and price group): `itemNumber`, `itemId` and `itemVariantId` (the SystemIds document
//!   lines reference), `variantCode`, `priceChannel` (`online`/`store`, from the
//!   price list's sales channel), `currencyCode` (blank for LCY), `customerPriceGroup` (blank
//!   for all customers), `unitPrice`, `regularUnitPrice` (the price before a campaign, equal to
//!   `unitPrice` without one), `priceIncludesTax`.
//! - `itemStockByLocation` (Item × Location, with the Location Filter flow filter):
//!   `itemNumber`, `variantCode`, `locationCode`, `inventory` (on hand), `reservedQuantity`.
//! - `locations` (Location): the standard `id`, `code`, `displayName`, `addressLine1`,
//!   `addressLine2`, `city`, `state`, `country`, `postalCode`, plus `locationType`
//!   (`Store`/`Warehouse`, a table extension field) and `clickAndCollect` (boolean).
//! - `salesOrderTracking` (Sales Header, document type Order; key `id` = the order's
//!   SystemId): `number`, `externalDocumentNumber`, `customerNumber`,
//!   `placedAt` (SystemCreatedAt; the standard `orderDate` is a date only), `salesChannel`
//!   (`web`, `app`, `store`, `kiosk`, `pos`, `email`), `storeCode` (Responsibility Center),
//!   `fulfilment` (`HomeDelivery`, `ClickAndCollect`, `ShipFromStore`; a table extension
//!   field), `quoteNumber` (Quote No.), `cancelled` (orders cancelled but kept for history);
//!   `salesChannel`, `storeCode` and `fulfilment` are writable (PATCH with `If-Match`); and
//!   the part `shipments` (Sales
//!   Shipment Header with Order No. = number): `number`, `shippedAt` (SystemCreatedAt),
//!   `shippingAgentCode`, `shippingAgentName`, `packageTrackingNumber`,
//!   `shippingAgentInternetAddress` (the agent's tracking URL with `%1`).
//! - `salesQuoteTracking` (the extension's own table "Samlet Quote Log", one row per sales
//!   quote, written by event subscribers when a quote is inserted and when "Sales-Quote to
//!   Order" runs, so it outlives the quote; key `id` = the quote's SystemId): `quoteNumber`,
//!   `externalDocumentNumber`, `customerNumber`, `storeCode`, `createdBy` (`Text[50]`),
//!   `salesChannel`, `createdAt`, `validUntilDate`, `pricesIncludeTax`, `status` (`Open`,
//!   `Expired` past Quote Valid Until Date on the work date, `Converted`), `orderNumber`,
//!   `convertedAt`, and `conversionKey` (`Code[35]`). `storeCode`, `createdBy`,
//!   `salesChannel` and `conversionKey` are writable (PATCH with `If-Match`);
//!   `conversionKey` is frozen once the quote is converted.
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
//! `@odata.nextLink`, and OData error bodies (also for injected faults). Not simulated:
//! `$batch`, `$skip`, `$count`, `$metadata`, single entities by key, ETag
//! preconditions on GET, the per-user request quotas (only injected 429s), date-typed filter
//! semantics (dates compare as text), and `$orderby` on an unfiltered scan of a large entity
//! set (answered with 501). The error codes for 429 and 503 are approximations (Microsoft
//! documents the statuses, not the codes).
//!
//! Webhooks: `POST .../api/v2.0/subscriptions` does the `validationToken` handshake with the
//! notification URL before it answers 201 (a URL that does not echo the token is refused with
//! 400), and the simulator POSTs notifications to every matching subscription when the
//! warehouse stand-in ships an order (`POST /_sim/orders/{number}/ship`: the sales order) or
//! stock is counted (`POST /_sim/stock/{sku}` with `{"location", "onHand"}`: the
//! `itemStockByLocation` row). It delivers at once, one notification per change, rather
//! than batched after ~30 s; `PATCH subscriptions('{id}')` with `If-Match` renews (with the
//! handshake); subscriptions do not actually expire, and failed deliveries are not retried. `GET /_sim/subscriptions` lists
//! the subscriptions (tests wait for the gateway's).
//!
//! Writes: the simulator keeps quotes, placed orders and reservations in memory behind a
//! lock, layered over the world (numbers `SQ0000001`.. and `SO` after the world's orders, ids
//! from counters, its clock the world's "now" plus one second per write), and reads show
//! them: `salesOrders`, `salesOrderTracking` and `orders_for_customers` include placed
//! orders, `itemStockByLocation` adds their reservations (an order reserves what is
//! available of each line at the line's location, as automatic reservation does). It checks
//! bodies (unknown or read-only properties, customers, items, variants and locations that
//! do not exist, text longer than its field, `If-Match` on PATCH) with OData error bodies.
//! [`simulator::SimWrites::lose_next_responses`] makes the next writes commit and then
//! answer 504 `GatewayTimeout`, the lost answer the exactly-once tests need. Simplified:
//! item lines only; no VAT setup (25 % throughout; consumers gross, B2B net, as the world
//! prices them); no price calculation of its own (the unit price sent is kept; without one
//! the online price applies); `makeOrder` copies store and channel from the quote log; no
//! number series, posting, `PATCH`/`DELETE` of documents, or single entities by key on GET.
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
mod offers;
mod orders;
mod placement;
mod prices;
pub mod simulator;
pub mod webhooks;

pub use client::BusinessCentralClient;
pub use config::BusinessCentralConfig;

use samlet_connector::prelude::*;
use std::sync::Arc;

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
        Capability::Offers,
        Capability::OrderPlacement,
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
    c.orders = Some(client.clone());
    c.offers = Some(client.clone());
    if let (Some(url), Some(state)) = (&config.webhook_url, &config.client_state) {
        c.change_feed = Some(Arc::new(webhooks::BusinessCentralWebhooks::new(
            client.clone(),
            url.clone(),
            state.clone(),
        )));
    }
    c.order_placement = Some(client);
    Ok(c)
}
