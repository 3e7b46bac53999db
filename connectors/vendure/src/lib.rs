//! `samlet-vendure`: the Samlet connector for [Vendure](https://vendure.io) 3, a headless
//! commerce platform, read through its GraphQL Admin API; and a real Vendure server to test it
//! against (no simulator: [`server`]).
//!
//! # What it serves, and why
//! - [`Capability::Products`]: products with their variants, translations, facets and assets.
//!   A gateway product is a Vendure `Product` whose product-code custom field (default `code`)
//!   holds the shared product id (e.g. `P000042`; the slug if the field is empty); its variants
//!   are the product's `ProductVariant`s (`sku`), in creation order. Names and descriptions come
//!   from `translations` in every mapped language (`da`, `sv`, `nb`, `en` -> `da-DK`, `sv-SE`,
//!   `nb-NO`, `en-GB` by default). Facet values of the `category` facet are categories (their
//!   codes); every other facet is an attribute (facet code -> the value's translations). A
//!   variant's options are its axes (option group code -> the option's translations). Assets
//!   are media (`code` = file name, `url` = `source`).
//! - [`Capability::Prices`]: each price list is a Vendure channel holding one price per variant
//!   and currency (`ProductVariantPrice`): `price_channels.online` for web, app and e-mail,
//!   `price_channels.store` for store, kiosk and POS, and one channel per customer group
//!   (`price_channels.groups`, e.g. B2B). The channel's `pricesIncludeTax` is
//!   [`Price::tax_included`](samlet_connector::model::Price); Vendure has no compare-at price,
//!   so a `ProductVariantPrice` custom field (default `regularPrice`, int, minor units) holds
//!   the regular price while a reduced one is in force. Money is integer minor units
//!   (`129900` = 1,299.00), converted exactly.
//! - [`Capability::Inventory`]: a variant's `stockLevels` per `StockLocation` (Vendure 2+):
//!   `stockOnHand` is on hand, `stockAllocated` (allocated to placed orders) is reserved.
//! - [`Capability::Locations`]: `stockLocations`. Vendure keeps only a name and a description,
//!   so custom fields hold the location's code, kind (`store`/`warehouse`), address and
//!   click-and-collect flag (names configurable under `custom_fields`).
//!
//! Not served: customers (Vendure's customers are shop accounts without the shared customer
//! number or loyalty data the gateway matches on) and orders (the demo world's order history
//! would have to be replayed through Vendure's order process to exist there).
//!
//! # Endpoints used
//! Everything is a GraphQL `POST <base_url>/<admin_api_path>` (default `/admin-api`):
//! - `mutation login(username, password)`: the session token is the `vendure-auth-token`
//!   response header (the server's `authOptions.tokenMethod` must include `"bearer"`) and
//!   goes back as `Authorization: Bearer`. Sessions are fetched lazily, reused for an hour, and
//!   renewed once when a call answers `FORBIDDEN` (or HTTP 401). An `InvalidCredentialsError`
//!   is [`ErrorKind::Unauthorized`].
//! - `products(options: {filter: {code: {in}}})` (products by id), `products(options: {filter:
//!   {sku: {in}}})` (products by SKU), `products(options: {skip, take, sort: {id: ASC}})`
//!   (listing; the cursor wraps the offset, `totalItems` ends it).
//! - `productVariants(options: {filter: {sku: {in}}})` with `prices` and `activeChannel {
//!   pricesIncludeTax }`, in the price list's channel (`vendure-token` header), and with
//!   `stockLevels { stockLocation { customFields } }` for stock.
//! - `stockLocations(options: {skip, take})`.
//!
//! GraphQL errors map by `extensions.code`: `FORBIDDEN`/`UNAUTHORIZED` -> Unauthorized,
//! `INTERNAL_SERVER_ERROR` -> Unavailable, `CHANNEL_NOT_FOUND`, `USER_INPUT_ERROR`,
//! `GRAPHQL_VALIDATION_FAILED` (e.g. a custom field the server lacks) -> BadRequest; HTTP
//! statuses as usual (429 with `Retry-After` -> RateLimited, 5xx -> Unavailable).
//!
//! # Request budget
//! One request per batch of up to `page_size` keys (default 100; the list's `take`, at most the
//! server's `adminListQueryLimit`, 1000 by default): 48 SKUs' prices or stock are one request,
//! 30 products one request, plus one `login` per hour. Larger batches run their chunks at most
//! 4 at a time. Listing costs one request per page.
//!
//! # Configuration
//! ```toml
//! [connectors.shop]
//! kind = "vendure"
//! base_url = "https://shop.example.com"        # the server's root, without /admin-api
//! username = "samlet"                           # an administrator with read permissions
//! password = "${VENDURE_PASSWORD}"
//! admin_api_path = "admin-api"                  # apiOptions.adminApiPath; default shown
//! channel_token = ""                            # catalogue/stock channel; "" = default channel
//! price_channels = { online = "web", store = "stores", groups = { B2B = "b2b" } }
//! languages = { da = "da-DK", sv = "sv-SE", nb = "nb-NO", en = "en-GB" }   # default shown
//! category_facet = "category"                   # default shown
//! page_size = 100                               # 1..=1000, default 100
//! # Custom field names; defaults shown.
//! custom_fields = { product_code = "code", regular_price = "regularPrice", location_code = "code", location_kind = "kind", location_street = "street", location_postal_code = "postalCode", location_city = "city", location_country = "countryCode", location_click_and_collect = "clickAndCollect" }
//! ```
//! An empty price channel token means the server's default channel.
//!
//! # The server customisation the connector needs
//! In the Vendure config: `authOptions.tokenMethod` including `"bearer"`, and these custom
//! fields (see `server/vendure-config.js`): `Product.code` (string, unique),
//! `ProductVariantPrice.regularPrice` (int, nullable), `StockLocation.code` (string, unique),
//! `StockLocation.kind`, `street`, `postalCode`, `city`, `countryCode` (strings) and
//! `StockLocation.clickAndCollect` (boolean).
//!
//! # The test server
//! [`server::VendureServer`] runs a real Vendure 3.7 (`connectors/vendure/server`, Node 20+,
//! `@vendure/core` with the pure-JS `sql.js` SQLite driver, an in-memory database, the job
//! queue in-process, telemetry off) seeded with a [`samlet_testkit::World`] slice through
//! Vendure's own services: tax zone and rate first, then channels (`samlet-online` = the default
//! channel, `samlet-store`, `samlet-b2b` without VAT, each with DKK, SEK, NOK and EUR), stock
//! locations, facets, products, variants with prices per channel and currency, stock on hand
//! and allocated per location, and placeholder images (kept in memory, served under
//! `/assets/`). Its superadmin is `superadmin` / `superadmin-test-only`, and a read-only
//! administrator `reader@samlet.test` / `reader-test-only` (role: `ReadCatalog`,
//! `ReadStockLocation` on every channel) shows what the connector needs: **test-only**. It
//! needs `npm ci` in that directory once (done by [`server::VendureServer::start`] when
//! `node_modules` is missing). Nothing is simulated there; what the world has that the server
//! does not hold is customers and orders.

pub mod config;
pub mod server;

mod client;
mod inventory;
mod locations;
mod mapping;
mod prices;
mod products;

pub use config::{CustomFieldNames, PriceChannels, VendureConfig};

use samlet_connector::prelude::*;
use std::sync::Arc;

/// The vendor kind, as written in configuration (`kind = "vendure"`).
pub const KIND: &str = "vendure";

/// Capabilities as data, for `samlet check` before connecting.
pub fn capabilities() -> &'static [Capability] {
    &[
        Capability::Products,
        Capability::Prices,
        Capability::Inventory,
        Capability::Locations,
    ]
}

/// Builds the connector (no network I/O here: the session is opened lazily on first call).
pub fn connect(
    name: ConnectorName,
    config: &VendureConfig,
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
    let invalid = |e: url::ParseError| {
        ConnectorError::new(ErrorKind::BadRequest, &name, "invalid base_url").with_source(e)
    };
    let mut endpoint = url::Url::parse(&config.base_url).map_err(invalid)?;
    let prefix = endpoint.path().trim_end_matches('/').to_owned();
    endpoint.set_path(&format!(
        "{prefix}/{}",
        config.admin_api_path.trim_matches('/')
    ));
    let upstream = Upstream::new(name.clone(), policy)?;
    let client = Arc::new(client::VendureClient::new(
        upstream,
        endpoint,
        config.username.clone(),
        config.password.clone(),
    ));
    let mut connector = Connector::new(name, KIND);
    connector.products = Some(Arc::new(products::VendureProducts::new(
        client.clone(),
        config,
    )));
    connector.prices = Some(Arc::new(prices::VendurePrices::new(client.clone(), config)));
    connector.inventory = Some(Arc::new(inventory::VendureInventory::new(
        client.clone(),
        config,
    )));
    connector.locations = Some(Arc::new(locations::VendureLocations::new(client, config)));
    Ok(connector)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_connector_serves_what_it_declares() {
        let c = connect(
            ConnectorName::new("shop"),
            &server::demo_config("http://127.0.0.1:9"),
            UpstreamPolicy::default(),
        )
        .unwrap();
        assert_eq!(c.kind, KIND);
        assert_eq!(c.capabilities(), capabilities());
    }

    #[test]
    fn an_invalid_config_is_refused_before_any_request() {
        let mut cfg = server::demo_config("http://127.0.0.1:9");
        cfg.base_url = "nowhere".into();
        let e = connect(ConnectorName::new("shop"), &cfg, UpstreamPolicy::default()).unwrap_err();
        assert_eq!(e.kind, ErrorKind::BadRequest);
        assert!(e.message.contains("base_url"), "{}", e.message);
    }
}
