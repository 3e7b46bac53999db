//! The Optimizely Service API client: the OWIN password-grant handshake at
//! `/episerverapi/token`, bearer-authenticated reads under `/episerverapi/commerce`, the wire
//! types of the resources we read (catalog entries, prices, warehouse inventories, warehouses,
//! purchase orders, and the Samlet customer lookup), and ASP.NET Web API error bodies.
//!
//! The Service API reads one catalog entry per call and has no multi-code filter, so batch
//! reads fan out: [`OptimizelyClient::each`] runs one call per key, at most
//! `max_concurrent_requests` at a time (a semaphore also bounds calls across concurrent
//! batches). A 404 on an entity route means the key does not exist and leaves it out of the
//! answer; a 404 naming no HTTP resource means the route itself is missing and is an error.

use crate::config::OptimizelyConfig;
use crate::mapping::decimal_from_number;
use futures::stream::{self, StreamExt, TryStreamExt};
use samlet_connector::prelude::*;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use std::sync::Arc;
use tokio::sync::Semaphore;
use url::Url;

/// The OAuth token endpoint, relative to the site.
pub const TOKEN_PATH: &str = "/episerverapi/token";
/// The root of the commerce resources, relative to the site.
pub const COMMERCE_PATH: &str = "/episerverapi/commerce";
/// Path segments (below [`COMMERCE_PATH`]) of the Samlet customer lookup: a controller of the
/// Samlet add-on that finds customer contacts by customer number, e-mail, phone or contact id
/// (the Service API's own contact routes read by id only and carry no customer number).
pub const CUSTOMER_LOOKUP: [&str; 2] = ["samlet", "customers"];
/// Keys per customer lookup request (the add-on's cap, which keeps URLs short).
pub const MAX_KEYS_PER_LOOKUP: usize = 50;

// ---------------------------------------------------------------------------------------------
// Wire types. Field names are the Service API's (PascalCase, as ASP.NET serialises them).

fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

fn de_decimal<'de, D: Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Num {
        N(serde_json::Number),
        S(String),
    }
    match Num::deserialize(d)? {
        Num::N(n) => decimal_from_number(&n).map_err(serde::de::Error::custom),
        Num::S(s) => s
            .trim()
            .parse::<Decimal>()
            .map_err(|e| serde::de::Error::custom(format!("`{s}` is not a decimal: {e}"))),
    }
}

/// A name and value (`NameValue`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NameValue {
    /// Name.
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
    /// Value.
    #[serde(default, deserialize_with = "null_as_default")]
    pub value: String,
}

/// A link to another resource (`ResourceLink`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ResourceLink {
    /// The linked resource's title (name or file name).
    #[serde(default, deserialize_with = "null_as_default")]
    pub title: String,
    /// The linked resource's type.
    #[serde(rename = "Type", default, deserialize_with = "null_as_default")]
    pub kind: String,
    /// Where it lives: an API route or, for assets, the media URL.
    #[serde(default, deserialize_with = "null_as_default")]
    pub href: String,
    /// Extra properties.
    #[serde(default, deserialize_with = "null_as_default")]
    pub properties: Vec<NameValue>,
}

/// One language's value of a meta field (`MetaFieldData`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MetaFieldData {
    /// The content language, `null` for fields that are not culture specific.
    #[serde(default)]
    pub language: Option<String>,
    /// The value as text.
    #[serde(default)]
    pub value: Option<String>,
}

/// A meta field with its values per language (`MetaFieldProperty`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MetaFieldProperty {
    /// The meta field's name, e.g. `DisplayName`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
    /// Its meta type, e.g. `LongString`.
    #[serde(rename = "Type", default, deserialize_with = "null_as_default")]
    pub kind: String,
    /// Values per language.
    #[serde(default, deserialize_with = "null_as_default")]
    pub data: Vec<MetaFieldData>,
}

/// A catalog entry (`Entry`): a product, variation, package or bundle.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct WireEntry {
    /// The entry code: the product id for products, the SKU for variations.
    pub code: String,
    /// The entry's (master language) name.
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
    /// The parent product of a variation.
    #[serde(default)]
    pub parent_catalog_entry: Option<ResourceLink>,
    /// Whether the entry is published as active.
    #[serde(default = "yes")]
    pub is_active: bool,
    /// `Product`, `Variation`, `Package`, `Bundle` or `DynamicPackage`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub entry_type: String,
    /// Meta fields with values in every language.
    #[serde(default, deserialize_with = "null_as_default")]
    pub meta_fields: Vec<MetaFieldProperty>,
    /// A product's variations, in their sort order.
    #[serde(default, deserialize_with = "null_as_default")]
    pub child_catalog_entries: Vec<ResourceLink>,
    /// Linked media.
    #[serde(default, deserialize_with = "null_as_default")]
    pub assets: Vec<ResourceLink>,
    /// Catalog nodes (categories) the entry belongs to.
    #[serde(default, deserialize_with = "null_as_default")]
    pub nodes: Vec<ResourceLink>,
}

fn yes() -> bool {
    true
}

/// A price of a catalog entry (`Price`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct WirePrice {
    /// The price's id.
    #[serde(default)]
    pub price_value_id: Option<i64>,
    /// The entry code.
    #[serde(default, deserialize_with = "null_as_default")]
    pub catalog_entry_code: String,
    /// The market the price applies in.
    #[serde(default, deserialize_with = "null_as_default")]
    pub market_id: String,
    /// `AllCustomers`, `PriceGroup` (also seen as `CustomerPriceGroup`) or `UserName`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub price_type_id: String,
    /// The price group or user name the price is for; empty for all customers.
    #[serde(default, deserialize_with = "null_as_default")]
    pub price_code: String,
    /// Start of validity.
    #[serde(default, deserialize_with = "null_as_default")]
    pub valid_from: String,
    /// End of validity, if any.
    #[serde(default)]
    pub valid_until: Option<String>,
    /// The quantity from which the price applies.
    #[serde(deserialize_with = "de_decimal")]
    pub min_quantity: Decimal,
    /// The price per unit.
    #[serde(deserialize_with = "de_decimal")]
    pub unit_price: Decimal,
    /// ISO 4217 currency.
    #[serde(default, deserialize_with = "null_as_default")]
    pub currency_code: String,
}

/// Stock of an entry in one warehouse (`WarehouseInventory`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct WireInventory {
    /// The entry code.
    #[serde(default, deserialize_with = "null_as_default")]
    pub catalog_entry_code: String,
    /// The warehouse code.
    pub warehouse_code: String,
    /// Units in stock.
    #[serde(deserialize_with = "de_decimal")]
    pub in_stock_quantity: Decimal,
    /// Units reserved for orders.
    #[serde(deserialize_with = "de_decimal")]
    pub reserved_quantity: Decimal,
    /// `Enabled`, `Disabled` or `Ignored`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub inventory_status: String,
}

/// A warehouse (`Warehouse`): a store, a pickup point or a distribution centre.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct WireWarehouse {
    /// The warehouse code.
    pub code: String,
    /// Display name.
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
    /// Whether it is in use.
    #[serde(default = "yes")]
    pub is_active: bool,
    /// Whether it ships orders.
    #[serde(default)]
    pub is_fulfillment_center: bool,
    /// Whether customers collect orders there.
    #[serde(default)]
    pub is_pickup_location: bool,
    /// Whether orders can be delivered to it (a store customers visit).
    #[serde(default)]
    pub is_delivery_location: bool,
    /// Street.
    #[serde(default, deserialize_with = "null_as_default")]
    pub line1: String,
    /// Street, second line.
    #[serde(default, deserialize_with = "null_as_default")]
    pub line2: String,
    /// City.
    #[serde(default, deserialize_with = "null_as_default")]
    pub city: String,
    /// Postal code.
    #[serde(default, deserialize_with = "null_as_default")]
    pub postal_code: String,
    /// ISO country code (two or three letters).
    #[serde(default, deserialize_with = "null_as_default")]
    pub country_code: String,
}

/// A custom key/value on an order, order form or shipment (`PropertyItem`): the meta fields
/// the site adds to its order meta classes.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PropertyItem {
    /// The meta field name.
    #[serde(default, deserialize_with = "null_as_default")]
    pub key: String,
    /// Its value as text.
    #[serde(default)]
    pub value: Option<String>,
}

/// A line item (`LineItem`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct WireLineItem {
    /// The line item's id.
    pub line_item_id: i64,
    /// The variation code (SKU).
    #[serde(default, deserialize_with = "null_as_default")]
    pub code: String,
    /// The name printed on the line.
    #[serde(default, deserialize_with = "null_as_default")]
    pub display_name: String,
    /// Price per unit before discounts.
    #[serde(deserialize_with = "de_decimal")]
    pub placed_price: Decimal,
    /// Line total after line and order discounts.
    #[serde(deserialize_with = "de_decimal")]
    pub extended_price: Decimal,
    /// Units.
    #[serde(deserialize_with = "de_decimal")]
    pub quantity: Decimal,
    /// Line item meta fields (a wishlist line's `AddedAt` and `Channel`).
    #[serde(default, deserialize_with = "null_as_default")]
    pub properties: Vec<PropertyItem>,
}

/// A shipment of an order form (`Shipment`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct WireShipment {
    /// The shipment's id.
    pub shipment_id: i64,
    /// The shipping method's name, e.g. `PostNord`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub shipping_method_name: String,
    /// The carrier's tracking number.
    #[serde(default, deserialize_with = "null_as_default")]
    pub shipment_tracking_number: String,
    /// `AwaitingInventory`, `Cancelled`, `InventoryAssigned`, `OnHold`, `Packing`, `Released`
    /// or `Shipped`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub status: String,
    /// The warehouse that fulfils it.
    #[serde(default, deserialize_with = "null_as_default")]
    pub warehouse_code: String,
    /// Its lines.
    #[serde(default, deserialize_with = "null_as_default")]
    pub line_items: Vec<WireLineItem>,
    /// Shipment meta fields.
    #[serde(default, deserialize_with = "null_as_default")]
    pub properties: Vec<PropertyItem>,
}

/// An order form (`OrderForm`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct WireOrderForm {
    /// Shipments with their lines.
    #[serde(default, deserialize_with = "null_as_default")]
    pub shipments: Vec<WireShipment>,
    /// Lines not (yet) in a shipment (older order structures).
    #[serde(default, deserialize_with = "null_as_default")]
    pub line_items: Vec<WireLineItem>,
}

/// A purchase order (`PurchaseOrder`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct WirePurchaseOrder {
    /// The order group id (the route key).
    pub order_group_id: i64,
    /// The order number customers see.
    #[serde(default, deserialize_with = "null_as_default")]
    pub order_number: String,
    /// The customer contact's id (a GUID).
    #[serde(default, deserialize_with = "null_as_default")]
    pub customer_id: String,
    /// The market the order was placed in.
    #[serde(default, deserialize_with = "null_as_default")]
    pub market_id: String,
    /// ISO 4217 currency of the amounts.
    #[serde(default, deserialize_with = "null_as_default")]
    pub billing_currency: String,
    /// `InProgress`, `PartiallyShipped`, `Completed`, `Cancelled`, `OnHold` or
    /// `AwaitingExchange`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub status: String,
    /// When the order was created.
    #[serde(default, deserialize_with = "null_as_default")]
    pub created: String,
    /// Order total.
    #[serde(deserialize_with = "de_decimal")]
    pub total: Decimal,
    /// Order forms with shipments and lines.
    #[serde(default, deserialize_with = "null_as_default")]
    pub order_forms: Vec<WireOrderForm>,
    /// Order meta fields.
    #[serde(default, deserialize_with = "null_as_default")]
    pub properties: Vec<PropertyItem>,
}

/// A cart (`Cart`): an order group before it is a purchase order. Named carts are how Commerce
/// keeps wish lists and saved carts; this connector also keeps offers in them.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct WireCart {
    /// The order group id the site assigned.
    #[serde(default)]
    pub order_group_id: i64,
    /// The cart's name (`Wishlist`, `Offer-...`).
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
    /// The customer contact's id (a GUID).
    #[serde(default, deserialize_with = "null_as_default")]
    pub customer_id: String,
    /// The market the cart belongs to.
    #[serde(default, deserialize_with = "null_as_default")]
    pub market_id: String,
    /// ISO 4217 currency of the amounts.
    #[serde(default, deserialize_with = "null_as_default")]
    pub billing_currency: String,
    /// When the cart was created.
    #[serde(default, deserialize_with = "null_as_default")]
    pub created: String,
    /// Its last change.
    #[serde(default, deserialize_with = "null_as_default")]
    pub modified: String,
    /// Order forms with their lines.
    #[serde(default, deserialize_with = "null_as_default")]
    pub order_forms: Vec<WireOrderForm>,
    /// Cart meta fields.
    #[serde(default, deserialize_with = "null_as_default")]
    pub properties: Vec<PropertyItem>,
}

/// An address of a contact (`Address`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct WireAddress {
    /// Street.
    #[serde(default, deserialize_with = "null_as_default")]
    pub line1: String,
    /// City.
    #[serde(default, deserialize_with = "null_as_default")]
    pub city: String,
    /// Postal code.
    #[serde(default, deserialize_with = "null_as_default")]
    pub postal_code: String,
    /// ISO country code.
    #[serde(default, deserialize_with = "null_as_default")]
    pub country_code: String,
    /// Phone, as typed.
    #[serde(default, deserialize_with = "null_as_default")]
    pub daytime_phone_number: String,
    /// Evening phone, as typed.
    #[serde(default, deserialize_with = "null_as_default")]
    pub evening_phone_number: String,
    /// Whether this is the default billing address.
    #[serde(default)]
    pub billing_default: bool,
    /// Whether this is the default shipping address.
    #[serde(default)]
    pub shipping_default: bool,
}

/// The organization a business contact belongs to.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct WireOrganization {
    /// The organization's id.
    #[serde(default, deserialize_with = "null_as_default")]
    pub primary_key_id: String,
    /// The company name.
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
    /// The organization's customer group (e.g. `B2B`).
    #[serde(default, deserialize_with = "null_as_default")]
    pub org_customer_group: String,
}

/// A customer contact as the Samlet lookup returns it: the Service API `Contact` plus the
/// contact's `CustomerNumber` meta field, its customer group and its organization.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct WireCustomer {
    /// The contact's id (a GUID).
    pub primary_key_id: String,
    /// The shared customer number (meta field `CustomerNumber`).
    #[serde(default, deserialize_with = "null_as_default")]
    pub customer_number: String,
    /// Given name.
    #[serde(default, deserialize_with = "null_as_default")]
    pub first_name: String,
    /// Family name.
    #[serde(default, deserialize_with = "null_as_default")]
    pub last_name: String,
    /// E-mail, as typed.
    #[serde(default, deserialize_with = "null_as_default")]
    pub email: String,
    /// The contact's customer group (prices and promotions), empty for none.
    #[serde(default, deserialize_with = "null_as_default")]
    pub customer_group: String,
    /// The organization of a business customer.
    #[serde(default)]
    pub organization: Option<WireOrganization>,
    /// Addresses.
    #[serde(default, deserialize_with = "null_as_default")]
    pub addresses: Vec<WireAddress>,
    /// Last change.
    #[serde(default)]
    pub modified: Option<String>,
}

#[derive(Debug, Deserialize)]
struct WireToken {
    access_token: String,
    #[serde(default)]
    token_type: String,
    #[serde(default = "default_expiry")]
    expires_in: u64,
}

fn default_expiry() -> u64 {
    1199
}

#[derive(Debug, Deserialize)]
struct OAuthError {
    error: String,
    #[serde(default)]
    error_description: Option<String>,
}

/// ASP.NET Web API's error body (`HttpError`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ApiError {
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    message_detail: Option<String>,
    #[serde(default)]
    exception_message: Option<String>,
}

fn cut(s: &str, max: usize) -> String {
    let mut out: String = s.chars().take(max).collect();
    if s.chars().count() > max {
        out.push('…');
    }
    out
}

/// The vendor's message in a Web API error reply.
fn api_message(reply: &Reply) -> String {
    if reply.body.is_empty() {
        return "(no body)".to_owned();
    }
    match serde_json::from_slice::<ApiError>(&reply.body) {
        Ok(e) => {
            let parts: Vec<&str> = [&e.message, &e.message_detail, &e.exception_message]
                .into_iter()
                .filter_map(|p| p.as_deref())
                .filter(|p| !p.is_empty())
                .collect();
            if parts.is_empty() {
                format!("unexpected error body: {}", reply.snippet(120))
            } else {
                cut(&parts.join(" "), 300)
            }
        }
        Err(_) => format!("unexpected error body: {}", reply.snippet(120)),
    }
}

/// The site's clock: the answer's `Date` header, else the local clock.
pub(crate) fn site_clock(reply: &Reply) -> chrono::DateTime<chrono::Utc> {
    reply
        .headers
        .get(reqwest::header::DATE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| chrono::DateTime::parse_from_rfc2822(v).ok())
        .map(|d| d.with_timezone(&chrono::Utc))
        .unwrap_or_else(chrono::Utc::now)
}

/// Whether a 404 says the route does not exist (rather than the entity).
fn route_missing(reply: &Reply) -> bool {
    serde_json::from_slice::<ApiError>(&reply.body)
        .ok()
        .and_then(|e| e.message)
        .is_some_and(|m| m.starts_with("No HTTP resource was found"))
}

// ---------------------------------------------------------------------------------------------
// The client.

/// One Optimizely site's Service API, signed in as one user.
#[derive(Debug)]
pub struct OptimizelyClient {
    upstream: Upstream,
    config: OptimizelyConfig,
    tokens: TokenCache,
    permits: Semaphore,
    commerce: Url,
}

impl OptimizelyClient {
    /// A client for `config` (which must have validated) under `upstream`.
    pub fn new(
        config: OptimizelyConfig,
        upstream: Upstream,
    ) -> Result<Arc<OptimizelyClient>, ConnectorError> {
        let commerce = Url::parse(&format!("{}{COMMERCE_PATH}", config.site())).map_err(|e| {
            ConnectorError::new(
                ErrorKind::BadRequest,
                upstream.name(),
                format!("site_url does not make a URL: {e}"),
            )
        })?;
        Ok(Arc::new(OptimizelyClient {
            permits: Semaphore::new(config.max_concurrent_requests.max(1) as usize),
            tokens: TokenCache::default(),
            commerce,
            upstream,
            config,
        }))
    }

    /// The connector instance's name.
    pub fn name(&self) -> &ConnectorName {
        self.upstream.name()
    }

    /// The configuration in force.
    pub fn config(&self) -> &OptimizelyConfig {
        &self.config
    }

    pub(crate) fn error(&self, kind: ErrorKind, message: impl Into<String>) -> ConnectorError {
        ConnectorError::new(kind, self.name(), message)
    }

    /// `{site}/episerverapi/commerce/{segments...}?{query}`, each segment percent-encoded.
    pub fn url(&self, segments: &[&str], query: &[(&str, &str)]) -> Url {
        let mut url = self.commerce.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        url
    }

    /// An absolute URL for a link the site returned (media hrefs are site-relative).
    pub fn absolute(&self, href: &str) -> String {
        if href.starts_with("http://") || href.starts_with("https://") {
            href.to_owned()
        } else if href.starts_with('/') {
            format!("{}{href}", self.config.site())
        } else {
            format!("{}/{href}", self.config.site())
        }
    }

    /// Fetches an access token with the password grant.
    async fn fetch_token(&self) -> Result<Token, ConnectorError> {
        let url = format!("{}{TOKEN_PATH}", self.config.site());
        let form = [
            ("grant_type", "password"),
            ("username", self.config.username.as_str()),
            ("password", self.config.password.expose()),
        ];
        let reply = self
            .upstream
            .send(true, |c| {
                c.post(&url)
                    .header(reqwest::header::ACCEPT, "application/json")
                    .form(&form)
            })
            .await?;
        if !reply.status.is_success() {
            let status = reply.status.as_u16();
            let detail = match serde_json::from_slice::<OAuthError>(&reply.body) {
                Ok(e) => match e.error_description {
                    Some(d) if !d.is_empty() => format!("{}: {}", e.error, cut(&d, 200)),
                    _ => e.error,
                },
                Err(_) => api_message(&reply),
            };
            let kind = match status {
                // The OWIN authorization server answers a wrong user or password with 400
                // `invalid_grant`: a credential problem, not a bug in the request.
                400 | 401 | 403 => ErrorKind::Unauthorized,
                _ => kind_for_status(reply.status),
            };
            return Err(self
                .error(
                    kind,
                    format!("Service API token request failed with HTTP {status}: {detail}"),
                )
                .with_retry_after(reply.retry_after()));
        }
        let token: WireToken = reply.json(self.name(), "Service API token response")?;
        if !token.token_type.eq_ignore_ascii_case("bearer") || token.access_token.is_empty() {
            return Err(self.error(
                ErrorKind::InvalidResponse,
                format!(
                    "Service API token response: expected a bearer token, got `{}`",
                    token.token_type
                ),
            ));
        }
        Ok(Token {
            access_token: Secret::new(token.access_token),
            expires_at: token_expiry(token.expires_in),
            instance_url: None,
        })
    }

    /// One GET with a bearer token; a 401 drops the cached token and tries once more.
    async fn send_get(&self, url: &Url) -> Result<Reply, ConnectorError> {
        let mut refreshed = false;
        loop {
            let token = self.tokens.get(|| self.fetch_token()).await?;
            let reply = {
                let _permit = self.permits.acquire().await.map_err(|_| {
                    self.error(ErrorKind::Unavailable, "the client is shutting down")
                })?;
                self.upstream
                    .send(true, |c| {
                        c.get(url.clone())
                            .bearer_auth(token.access_token.expose())
                            .header(reqwest::header::ACCEPT, "application/json")
                    })
                    .await?
            };
            if reply.status == reqwest::StatusCode::UNAUTHORIZED && !refreshed {
                self.tokens.invalidate().await;
                refreshed = true;
                continue;
            }
            return Ok(reply);
        }
    }

    /// GETs `url` and decodes the body; `None` when the entity does not exist (404).
    pub async fn get_json<T: DeserializeOwned>(
        &self,
        url: Url,
        what: &str,
    ) -> Result<Option<T>, ConnectorError> {
        let reply = self.send_get(&url).await?;
        if reply.status == reqwest::StatusCode::NOT_FOUND && !route_missing(&reply) {
            return Ok(None);
        }
        if !reply.status.is_success() {
            let mut message = format!("GET {what}: {}", api_message(&reply));
            if reply.status == reqwest::StatusCode::NOT_FOUND {
                message.push_str(" (is the Service API, and for customer lookups the Samlet add-on, installed on this site?)");
            }
            return Err(status_error(self.name(), &reply, &message));
        }
        reply.json(self.name(), &format!("GET {what}")).map(Some)
    }

    /// GETs `url` and decodes the body, with the site's clock from the answer's `Date` header
    /// (the local clock if it sends none); `None` when the entity does not exist (404).
    pub async fn get_dated<T: DeserializeOwned>(
        &self,
        url: Url,
        what: &str,
    ) -> Result<(Option<T>, chrono::DateTime<chrono::Utc>), ConnectorError> {
        let reply = self.send_get(&url).await?;
        let now = site_clock(&reply);
        if reply.status == reqwest::StatusCode::NOT_FOUND && !route_missing(&reply) {
            return Ok((None, now));
        }
        if !reply.status.is_success() {
            let message = format!("GET {what}: {}", api_message(&reply));
            return Err(status_error(self.name(), &reply, &message));
        }
        Ok((reply.json(self.name(), &format!("GET {what}"))?, now))
    }

    /// One write (`PUT`, `POST`, `DELETE`) with a JSON body and a bearer token. `idempotent`
    /// says whether the shared policy may retry it (a `PUT` of a whole cart may be; a `POST`
    /// that creates an order never is). A 401 means the site did not act: the token is dropped
    /// and the write sent once more. Any answer is returned as it came.
    pub async fn send_write(
        &self,
        method: reqwest::Method,
        url: &Url,
        body: Option<&serde_json::Value>,
        idempotent: bool,
    ) -> Result<Reply, ConnectorError> {
        let mut refreshed = false;
        loop {
            let token = self.tokens.get(|| self.fetch_token()).await?;
            let reply = {
                let _permit = self.permits.acquire().await.map_err(|_| {
                    self.error(ErrorKind::Unavailable, "the client is shutting down")
                })?;
                self.upstream
                    .send(idempotent, |c| {
                        let mut rb = c
                            .request(method.clone(), url.clone())
                            .bearer_auth(token.access_token.expose())
                            .header(reqwest::header::ACCEPT, "application/json");
                        if let Some(b) = body {
                            rb = rb.json(b);
                        }
                        rb
                    })
                    .await?
            };
            if reply.status == reqwest::StatusCode::UNAUTHORIZED && !refreshed {
                self.tokens.invalidate().await;
                refreshed = true;
                continue;
            }
            return Ok(reply);
        }
    }

    /// The error for a write the site refused, with its Web API message.
    pub(crate) fn write_error(&self, what: &str, reply: &Reply) -> ConnectorError {
        status_error(
            self.name(),
            reply,
            &format!("{what}: {}", api_message(reply)),
        )
    }

    /// One GET per key, at most `max_concurrent_requests` at once; keys the site does not know
    /// (404) are left out. Fails as a whole on the first other error.
    pub async fn each<K, T, F>(
        &self,
        keys: Vec<K>,
        what: &str,
        url_of: F,
    ) -> Result<Vec<(K, T)>, ConnectorError>
    where
        K: Send,
        T: DeserializeOwned + Send,
        F: Fn(&K) -> Url,
    {
        let limit = self.config.max_concurrent_requests.max(1) as usize;
        stream::iter(keys.into_iter().map(|k| {
            let url = url_of(&k);
            async move { Ok::<_, ConnectorError>((k, self.get_json::<T>(url, what).await?)) }
        }))
        .buffer_unordered(limit)
        .try_filter_map(|(k, found)| async move { Ok(found.map(|t| (k, t))) })
        .try_collect()
        .await
    }

    /// Customer contacts matching any of `filters` (`customerNumber`, `email`, `phone`,
    /// `contactId` pairs) through the Samlet lookup, [`MAX_KEYS_PER_LOOKUP`] keys per request,
    /// the requests sent concurrently.
    pub async fn lookup_customers(
        &self,
        filters: Vec<(&'static str, String)>,
    ) -> Result<Vec<WireCustomer>, ConnectorError> {
        if filters.is_empty() {
            return Ok(Vec::new());
        }
        let urls: Vec<Url> = filters
            .chunks(MAX_KEYS_PER_LOOKUP)
            .map(|chunk| {
                let pairs: Vec<(&str, &str)> =
                    chunk.iter().map(|(k, v)| (*k, v.as_str())).collect();
                self.url(&CUSTOMER_LOOKUP, &pairs)
            })
            .collect();
        let limit = self.config.max_concurrent_requests.max(1) as usize;
        let pages: Vec<Vec<WireCustomer>> = stream::iter(urls.into_iter().map(|url| async move {
            Ok::<_, ConnectorError>(
                self.get_json::<Vec<WireCustomer>>(url, "samlet/customers")
                    .await?
                    .unwrap_or_default(),
            )
        }))
        .buffer_unordered(limit)
        .try_collect()
        .await?;
        Ok(pages.into_iter().flatten().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Bytes;

    fn reply(status: u16, body: &str) -> Reply {
        Reply {
            status: reqwest::StatusCode::from_u16(status).unwrap(),
            headers: Default::default(),
            body: Bytes::from(body.to_owned()),
        }
    }

    #[test]
    fn web_api_error_bodies_give_their_message() {
        let r = reply(
            404,
            r#"{"Message":"No HTTP resource was found that matches the request URI 'x'.","MessageDetail":"No type was found that matches the controller named 'samlet'."}"#,
        );
        assert!(route_missing(&r));
        assert!(api_message(&r).contains("controller named 'samlet'"));
        let r = reply(404, "");
        assert!(!route_missing(&r));
        assert_eq!(api_message(&r), "(no body)");
        let r = reply(500, "<html>oops</html>");
        assert!(api_message(&r).starts_with("unexpected error body"));
    }

    #[test]
    fn urls_encode_codes_as_path_segments() {
        let config = crate::simulator::demo_config("http://127.0.0.1:9/");
        let upstream = Upstream::new(ConnectorName::new("oc"), UpstreamPolicy::default()).unwrap();
        let client = OptimizelyClient::new(config, upstream).unwrap();
        let url = client.url(&["entries", "A B/C", "prices"], &[]);
        assert_eq!(
            url.as_str(),
            "http://127.0.0.1:9/episerverapi/commerce/entries/A%20B%2FC/prices"
        );
        let url = client.url(&CUSTOMER_LOOKUP, &[("phone", "+4520000049")]);
        assert_eq!(
            url.as_str(),
            "http://127.0.0.1:9/episerverapi/commerce/samlet/customers?phone=%2B4520000049"
        );
        assert_eq!(
            client.absolute("/globalassets/a.jpg"),
            "http://127.0.0.1:9/globalassets/a.jpg"
        );
    }
}
