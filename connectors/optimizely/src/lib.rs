//! `samlet-optimizely`: the Samlet connector for Optimizely (EPiServer) Customized Commerce, read
//! through its Service API (`EPiServer.ServiceApi.Commerce`, under `{site}/episerverapi/...`),
//! with a simulator of it.
//!
//! # Capabilities and why
//! Optimizely Customized Commerce is the commerce platform of record in "stack B": it holds the
//! catalogue, price lists, stock per warehouse, the stores (warehouses), the customers who buy
//! and their purchase orders. So it serves every read capability, and the journeys that write
//! into commerce (wishlists, offers, order placement):
//!
//! | Capability | Served from |
//! |---|---|
//! | `products` | catalog entries: product entries (code = product id) with their variation entries (code = SKU) |
//! | `prices` | `GET /entries/{code}/prices`, resolved per market, currency and customer price group |
//! | `inventory` | `GET /entries/{code}/inventories` (`WarehouseInventory` per warehouse) |
//! | `locations` | `GET /warehouses` |
//! | `orders` | purchase orders: `GET /orders/{orderGroupId}`, `GET /orders/{customerId}/all` |
//! | `customers` | customer contacts (and their organizations), through the Samlet add-on's lookup |
//! | `wishlists` | the customer's named cart `Wishlist`: `GET`/`PUT /carts/{customerId}/Wishlist/{marketId}` |
//! | `offers` | a named cart `Offer-OF{key}` per offer, converted with `POST /orders` (see below) |
//! | `order_placement` | `POST /orders`: a purchase order with one shipment from the fulfilling warehouse |
//!
//! # Configuration
//! | Key | Default | Meaning |
//! |---|---|---|
//! | `site_url` | (required) | the site hosting the Service API, e.g. `"https://shop.example.com"` |
//! | `username` | (required) | API user (needs the Service API read permission) |
//! | `password` | (required) | its password; write `"${OPTIMIZELY_PASSWORD}"` |
//! | `max_concurrent_requests` | `16` | requests in flight (1..=64); per-entry reads fan out this wide |
//! | `page_size` | `500` | entries per listing page (1..=1000) |
//! | `languages` | `{ da = "da-DK", sv = "sv-SE", no = "nb-NO", nb = "nb-NO", en = "en-GB" }` | content language -> locale |
//! | `markets.online` | `{ DKK = "DK", SEK = "SE", NOK = "NO", EUR = "EU" }` | market per currency for web, app, e-mail |
//! | `markets.store` | `{ DKK = "DK-STORE", SEK = "SE-STORE", NOK = "NO-STORE", EUR = "EU-STORE" }` | market per currency for store, kiosk, POS |
//! | `prices_include_tax` | `true` | whether prices for all customers include VAT |
//! | `net_price_groups` | `["B2B"]` | customer price groups whose prices are net of VAT |
//! | `meta_fields.display_name` | `"DisplayName"` | localised name of products and variations |
//! | `meta_fields.description` | `"Description"` | product description (one text for every channel) |
//! | `meta_fields.product_attributes` | `{ material = "Material", collection = "Collection" }` | attribute code -> product meta field |
//! | `meta_fields.variant_attributes` | `{ color = "Color" }` | axis code -> variation meta field |
//! | `order_number_prefix` | `"PO"` | order numbers are `{prefix}{OrderGroupId}` (see below) |
//! | `online_warehouse` | `"WH-ONLINE"` | the warehouse home deliveries are shipped (and reserved) from |
//! | `wishlist_market` | `"DEFAULT"` | the market of the `Wishlist` carts (one wishlist in every channel) |
//!
//! # The wire
//! - Auth: `POST {site}/episerverapi/token`, form `grant_type=password&username&password`
//!   (the Service API's OWIN authorization server) -> `{access_token, token_type: "bearer",
//!   expires_in}`; the token is cached until a minute before it expires, and a 401 on a data
//!   call drops it and retries once. A wrong user or password (`400 invalid_grant`) is
//!   `UPSTREAM_AUTH`.
//! - Data: `GET {site}/episerverapi/commerce/...` with `Authorization: Bearer` and
//!   `Accept: application/json`: `entries/{entryCode}`, `entries/{startPage}/{pageSize}`,
//!   `entries/{entryCode}/prices`, `entries/{entryCode}/inventories`, `warehouses`,
//!   `orders/{orderGroupId}`, `orders/{customerId}/all`, and the Samlet add-on's
//!   `samlet/customers`. Errors are ASP.NET Web API `{"Message", "MessageDetail"}` bodies; a
//!   bare 404 on an entity route means the key does not exist (absent from the answer), a 404
//!   saying "No HTTP resource was found" means the route is missing (an error). 429 and 5xx are
//!   retried by the shared upstream policy, honouring `Retry-After`.
//!
//! # Batching: what this API can and cannot do
//! The Service API reads **one catalog entry per call** and has no filter on several entry
//! codes or order numbers (entry search is paging only; order search filters by status, date and
//! shipping method, not by number). So:
//! - prices and stock cost **one request per SKU** (48 SKUs = 48 requests, plus at most one
//!   token request), run `max_concurrent_requests` (default 16) at a time: with 16 in flight a
//!   batch of 48 costs three round trips of latency;
//! - products cost one request per product plus one per variation (by SKU: one per SKU first);
//! - orders by number cost one request per order plus one customer lookup for the batch;
//!   orders for customers cost one lookup plus one request per customer;
//! - customers cost one request per 50 keys (the Samlet lookup batches; contact ids asked as
//!   external ids of this connector go in the same request as `contactId=`);
//! - locations cost one request; listing one request per page plus one per variation that spills
//!   past the page's end.
//!
//! The Content Delivery API Commerce add-on (`EPiServer.ContentDeliveryApi.Commerce`) was
//! considered for batch reads: it serves catalog content, prices, inventory and warehouses to
//! front ends, but keys them by content reference or GUID rather than entry code, needs its own
//! OpenID Connect client, and we could not verify a documented multi-entry price or inventory
//! route. The connector therefore speaks the Service API only.
//!
//! # Conventions the site follows (the integration contract)
//! - Catalogue: products and variations are linked by product-variation relations; texts and
//!   attributes are meta fields (names configurable): `DisplayName` (culture specific),
//!   `Description`, `Material`, `Collection` (not culture specific), and `Color` on variations.
//!   Categories are the catalog nodes an entry belongs to (node code = category code); media are
//!   the entry's assets (URL made absolute against `site_url`).
//! - Prices: online and in-store price lists live in separate markets per country (see
//!   `markets`); consumer prices are `AllCustomers` prices, B2B prices are `PriceGroup` prices
//!   with `PriceCode` = the customer group (`B2B`). A campaign is a second `AllCustomers` price
//!   valid beside the list price: the lowest valid price is paid and the list price reported as
//!   the regular price. Prices for quantities above one (volume tiers) and prices outside
//!   their validity are ignored.
//! - Locations: warehouse code = location id; a fulfilment centre that takes no deliveries is a
//!   warehouse, everything else a store; `IsPickupLocation` = click and collect.
//! - Orders: the site registers an order number generator that writes
//!   `{order_number_prefix}{OrderGroupId}` (zero padding allowed; the default Optimizely
//!   generator appends random digits, which makes numbers unreadable by id). Order meta fields
//!   `SalesChannel` (`web`, `app`, `store`, ...) and `StoreCode`; shipment meta fields
//!   `ShipmentNumber`, `ShippedDate` (UTC), `Carrier` (else the shipping method's name) and
//!   `CarrierTrackingUrl` (with `{0}` for the tracking number, as in Optimizely's own samples).
//!   Status: `Cancelled` -> cancelled, `Completed` -> shipped, `PartiallyShipped` -> partially
//!   shipped, otherwise from the shipments (none shipped -> open). Shipments are those with
//!   status `Shipped`. Lines are numbered 10000, 20000, ... in `LineItemId` order, with the
//!   shipment's warehouse as their location.
//! - Customers: each contact has a `CustomerNumber` meta field (the shared customer number); a
//!   business customer is a contact in an organization whose name is the company name and whose
//!   `OrgCustomerGroup` (or the contact's `CustomerGroup`) is the price group. The Service API's
//!   contact routes read by id only and do not expose meta fields, so the Samlet add-on (a Web API
//!   controller in the site, behind the same bearer authentication) serves
//!   `GET /episerverapi/commerce/samlet/customers?customerNumber=..&email=..&phone=..&contactId=..`:
//!   any mix of at most 50 keys, or semantics, e-mails case-insensitive, phones compared in their
//!   international form, answering the Service API `Contact` plus `CustomerNumber`,
//!   `CustomerGroup` and `Organization {PrimaryKeyId, Name, OrgCustomerGroup}`. Phones come from
//!   the default billing address (three-letter country codes are converted).
//!
//! # The write side (journeys)
//! Writes go through the Service API's carts and purchase orders, with `Upstream::send(false,
//! ..)` for the order `POST` (never retried blindly) and whole-cart `PUT`s that are safe to
//! repeat. Line, cart and order meta fields carry what the model needs.
//! - **Wishlists** (`src/wishlists.rs`): Commerce's convention of a named cart
//!   `Wishlist` per customer contact, in `wishlist_market`. Add = lookup + `GET` cart (404 =
//!   none) + `PUT` with the line appended (`Code` = SKU, `Quantity` 1, line meta fields
//!   `AddedAt` from the site's clock and `Channel`); re-adding writes nothing; remove `PUT`s
//!   the cart without the SKU (removing a missing item writes nothing). Items keep their order.
//!   3 requests per change (plus a token), 2 per read or no-op.
//! - **Order placement** (`src/placement.rs`): lookup (contact id and the
//!   customer's own price group), `GET /orders/{customerId}/all` to find an order already
//!   placed with the idempotency key (order meta field `IdempotencyKey`), one price read per SKU
//!   (the crate's own price resolution for the request's channel and currency and the
//!   customer's group), then one `POST /orders`: one order form, one shipment whose
//!   `WarehouseCode` is the store (click and collect, ship from store) or `online_warehouse`
//!   (home delivery), `PlacedPrice`/`ExtendedPrice` per line, order meta fields
//!   `SalesChannel`, `StoreCode`, `Fulfilment` and `IdempotencyKey`. A lost answer (transport
//!   error, 5xx) is followed by the same lookup, and only if no order carries the key is the
//!   error returned. 3 + N requests for N SKUs.
//! - **Offers** (`src/offers.rs`): the Service API has no quote route (Commerce's
//!   quote support is an in-site order repository feature), so an offer is a named cart
//!   `Offer-OF{key}` of the customer in the store market of its currency, with cart meta fields
//!   `ValidUntil`, `StoreCode`, `CreatedBy`, `IdempotencyKey`, and after conversion
//!   `ConversionKey` and `OrderNumber`. The offer number `OF{key}-{currency}-{customer}` is
//!   derived from the customer and the create's idempotency key, so a retried create finds the
//!   cart its first attempt wrote, and an offer is read by number alone. Prices are store
//!   prices of the currency for the customer's own group. Conversion claims the offer by
//!   writing `ConversionKey`, posts the order at the offer's prices (home delivery from
//!   `online_warehouse`, `StoreCode` = the offer's store, order meta field `OfferNumber`), then
//!   writes `OrderNumber`; the same key answers the same order, another key or an expired
//!   offer (by the site's clock, the `Date` header) is a `Conflict` naming the order. The
//!   Service API has no ETag or version on carts: the claim narrows, but cannot close, the
//!   window in which two conversions with different keys racing in the same instant both
//!   proceed.
//!
//! # The simulator
//! [`simulator`] serves the world as such a site: the token endpoint, the routes above, plus
//! `customers/contact/{id}`, `warehouses/{code}` and `orders/search/{start}/{maxCount}`, and the
//! write side in memory ([`simulator::writes`]): named carts by customer, name and market
//! (`GET`/`PUT`/`DELETE`) and `POST /orders`, which numbers orders `SO{OrderGroupId:07}`, stamps
//! them with the simulator's clock (the world's "now", a second later per write; sent as
//! `Date` on every answer), and reserves the shipment lines' quantities in their warehouse
//! (`ReservedQuantity` grows). Created orders read back like the world's. Not simulated:
//! cart validation and promotions, payments, XML responses, `Accept-Language` filtering,
//! catalogs and nodes routes, entry relations and associations, cart search, markets,
//! organizations routes, the order search filters, common drafts, bulk import/export jobs, and permissions (403). The Service API
//! publishes no rate limits, so the simulator sends no rate-limit headers and enforces none (429
//! comes from fault injection). The listing page size and order search size are capped at 1,000
//! by the simulator only. `startPage` is counted from 0 (the documentation does not say).

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
mod products;
pub mod simulator;
mod wishlists;

pub use client::OptimizelyClient;
pub use config::OptimizelyConfig;

use samlet_connector::prelude::*;

/// The connector kind in configuration.
pub const KIND: &str = "optimizely";

/// Capabilities as data, for `samlet check` before connecting.
pub fn capabilities() -> &'static [Capability] {
    &[
        Capability::Customers,
        Capability::Products,
        Capability::Prices,
        Capability::Inventory,
        Capability::Locations,
        Capability::Orders,
        Capability::Wishlists,
        Capability::Offers,
        Capability::OrderPlacement,
    ]
}

/// Builds the connector (no network I/O here: tokens are fetched lazily on first call).
pub fn connect(
    name: ConnectorName,
    config: &OptimizelyConfig,
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
    let client = OptimizelyClient::new(config.clone(), upstream)?;
    let mut c = Connector::new(name, KIND);
    c.customers = Some(client.clone());
    c.products = Some(client.clone());
    c.prices = Some(client.clone());
    c.inventory = Some(client.clone());
    c.locations = Some(client.clone());
    c.orders = Some(client.clone());
    c.wishlists = Some(client.clone());
    c.offers = Some(client.clone());
    c.order_placement = Some(client);
    Ok(c)
}
