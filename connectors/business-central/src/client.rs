//! The Business Central HTTP client: the Entra ID client-credentials handshake, OData v4
//! collection reads that follow `@odata.nextLink`, the `$filter` dialect Business Central
//! accepts (and its limits), the wire types of the pages we read, and error bodies.
//!
//! Business Central's filter dialect, as documented ("Using filter expressions in OData URIs",
//! "Known limitations with Business Central OData"), shapes every batch read here:
//! - `in (...)` lists are supported and cost one node of the filter tree however long they are;
//! - `or` may only combine conditions on the *same* field ("The 'OR' operator is not supported
//!   on distinct fields"), so keys of different kinds go in separate requests;
//! - a filter tree may have at most 100 nodes, so `or` chains (needed for `tolower(email)`)
//!   are cut at [`MAX_OR_TERMS`] terms;
//! - a filter value longer than its field fails the whole request
//!   (`Application_FilterErrorException`), so such keys are dropped before asking: they cannot
//!   exist.

use crate::config::BusinessCentralConfig;
use crate::mapping::decimal_from_number;
use samlet_connector::prelude::*;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use std::sync::Arc;
use tokio::sync::Semaphore;

/// Characters of one `in (...)` value list before percent-encoding. Together with the rest of
/// the query this keeps a request URL under about 3 KB, well inside the URL limits of the
/// front ends Business Central runs behind (4 KB and up).
pub const MAX_IN_LIST_CHARS: usize = 1_500;
/// Terms of one `or` chain. Each `tolower(email) eq '...'` term is four filter nodes plus the
/// `or` joining it; Business Central's OData stack rejects trees over 100 nodes.
pub const MAX_OR_TERMS: usize = 20;
/// Length of a `Code[20]` field (customer, item, order numbers; location codes).
pub const CODE20: usize = 20;
/// Length of the `email` field (`Text[80]`).
pub const EMAIL_LEN: usize = 80;
/// Length of the `phoneNumber` field (`Text[30]`).
pub const PHONE_LEN: usize = 30;
/// A collection larger than this many pages is treated as a runaway `@odata.nextLink` loop.
const MAX_PAGES: usize = 10_000;

/// Which API route a page belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    /// Microsoft's standard API, `/api/v2.0`.
    Standard,
    /// The Samlet extension's custom API, `/api/{publisher}/{group}/{version}`.
    Custom,
}

/// Entity sets read by this connector.
pub mod entity {
    /// Standard: sales order headers (with `salesOrderLines`).
    pub const SALES_ORDERS: &str = "salesOrders";
    /// Custom: customers with contact names and price group.
    pub const CUSTOMERS: &str = "customers";
    /// Custom: price list lines resolved per channel, currency and price group.
    pub const ITEM_PRICES: &str = "itemPrices";
    /// Custom: inventory and reservations per item, variant and location.
    pub const ITEM_STOCK: &str = "itemStockByLocation";
    /// Custom: locations with store/warehouse type and click-and-collect.
    pub const LOCATIONS: &str = "locations";
    /// Custom: order timestamps, channel, store, cancellation and shipments with tracking.
    pub const ORDER_TRACKING: &str = "salesOrderTracking";
    /// Standard: sales quotes (with `salesQuoteLines`).
    pub const SALES_QUOTES: &str = "salesQuotes";
    /// Standard: item variants (the code behind a line's `itemVariantId`).
    pub const ITEM_VARIANTS: &str = "itemVariants";
    /// Custom: the extension's quote log (store, associate, channel, status, the order a
    /// quote became), which outlives the quote.
    pub const QUOTE_TRACKING: &str = "salesQuoteTracking";
    /// The standard bound action that turns a sales quote into a sales order.
    pub const MAKE_ORDER: &str = "Microsoft.NAV.makeOrder";
}

/// The query options of one collection read.
#[derive(Debug, Clone, Default)]
pub struct Query {
    /// `$filter`.
    pub filter: Option<String>,
    /// `$expand`.
    pub expand: Option<&'static str>,
    /// `$orderby`.
    pub orderby: Option<&'static str>,
    /// Read from the primary database, not a read-only replica: for lookups right after a
    /// write (replicas may lag behind it).
    pub primary: bool,
}

/// An OData string literal: single-quoted, quotes doubled.
pub fn quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// `field in ('a','b')` lists for `values`, each list at most [`MAX_IN_LIST_CHARS`] long.
pub fn in_filters(field: &str, values: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    let mut current: Vec<String> = Vec::new();
    let mut len = 0;
    for v in values {
        let q = quote(v);
        if !current.is_empty() && len + q.len() + 1 > MAX_IN_LIST_CHARS {
            out.push(format!("{field} in ({})", current.join(",")));
            current.clear();
            len = 0;
        }
        len += q.len() + 1;
        current.push(q);
    }
    if !current.is_empty() {
        out.push(format!("{field} in ({})", current.join(",")));
    }
    out
}

/// `tolower(field) eq 'a' or tolower(field) eq 'b'` chains for `values` (already lower
/// case), each at most [`MAX_OR_TERMS`] terms. `tolower` makes Business Central compare without
/// regard to case.
pub fn lowercase_eq_filters(field: &str, values: &[String]) -> Vec<String> {
    values
        .chunks(MAX_OR_TERMS)
        .map(|chunk| {
            chunk
                .iter()
                .map(|v| format!("tolower({field}) eq {}", quote(v)))
                .collect::<Vec<_>>()
                .join(" or ")
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Wire types.

fn de_decimal<'de, D: Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
    let n = serde_json::Number::deserialize(d)?;
    decimal_from_number(&n).map_err(serde::de::Error::custom)
}

fn de_opt_decimal<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Decimal>, D::Error> {
    match Option::<serde_json::Number>::deserialize(d)? {
        Some(n) => decimal_from_number(&n)
            .map(Some)
            .map_err(serde::de::Error::custom),
        None => Ok(None),
    }
}

fn de_text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(Option::<String>::deserialize(d)?.unwrap_or_default())
}

/// One page of an OData collection.
#[derive(Debug, Deserialize)]
struct ODataPage<T> {
    value: Vec<T>,
    #[serde(rename = "@odata.nextLink", default)]
    next_link: Option<String>,
}

/// A customer of the extension's `customers` page: the standard v2.0 customer fields plus the
/// primary contact's names and the customer price group.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireCustomer {
    /// SystemId.
    pub id: String,
    /// Customer No. (the shared customer number).
    pub number: String,
    /// Name.
    #[serde(default, deserialize_with = "de_text")]
    pub display_name: String,
    /// `Person` or `Company`.
    #[serde(rename = "type", default, deserialize_with = "de_text")]
    pub kind: String,
    /// The primary contact's first name.
    #[serde(default, deserialize_with = "de_text")]
    pub first_name: String,
    /// The primary contact's surname.
    #[serde(default, deserialize_with = "de_text")]
    pub last_name: String,
    /// Address.
    #[serde(default, deserialize_with = "de_text")]
    pub address_line1: String,
    /// Address 2.
    #[serde(default, deserialize_with = "de_text")]
    pub address_line2: String,
    /// City.
    #[serde(default, deserialize_with = "de_text")]
    pub city: String,
    /// Country/Region Code.
    #[serde(default, deserialize_with = "de_text")]
    pub country: String,
    /// Post Code.
    #[serde(default, deserialize_with = "de_text")]
    pub postal_code: String,
    /// Phone No., as typed.
    #[serde(default, deserialize_with = "de_text")]
    pub phone_number: String,
    /// E-Mail, as typed.
    #[serde(default, deserialize_with = "de_text")]
    pub email: String,
    /// Customer Price Group (blank for none).
    #[serde(default, deserialize_with = "de_text")]
    pub customer_price_group: String,
    /// Last change.
    #[serde(default, deserialize_with = "de_text")]
    pub last_modified_date_time: String,
}

/// A line of the extension's `itemPrices` page.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireItemPrice {
    /// Item No.
    pub item_number: String,
    /// The item's SystemId.
    #[serde(default, deserialize_with = "de_text")]
    pub item_id: String,
    /// Variant Code (blank for the item itself).
    #[serde(default, deserialize_with = "de_text")]
    pub variant_code: String,
    /// The variant's SystemId (the null GUID for the item itself).
    #[serde(default, deserialize_with = "de_text")]
    pub item_variant_id: String,
    /// `online` or `store`.
    #[serde(default, deserialize_with = "de_text")]
    pub price_channel: String,
    /// Currency Code (blank for LCY).
    #[serde(default, deserialize_with = "de_text")]
    pub currency_code: String,
    /// Customer Price Group (blank for all customers).
    #[serde(default, deserialize_with = "de_text")]
    pub customer_price_group: String,
    /// The price to pay.
    #[serde(deserialize_with = "de_decimal")]
    pub unit_price: Decimal,
    /// The price before a campaign; equal to `unitPrice` when there is none.
    #[serde(default, deserialize_with = "de_opt_decimal")]
    pub regular_unit_price: Option<Decimal>,
    /// Whether the prices include VAT.
    #[serde(default)]
    pub price_includes_tax: bool,
}

/// A line of the extension's `itemStockByLocation` page.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireItemStock {
    /// Item No.
    pub item_number: String,
    /// Variant Code (blank for the item itself).
    #[serde(default, deserialize_with = "de_text")]
    pub variant_code: String,
    /// Location Code.
    pub location_code: String,
    /// Inventory on hand at the location.
    #[serde(deserialize_with = "de_decimal")]
    pub inventory: Decimal,
    /// Quantity reserved for open orders at the location.
    #[serde(deserialize_with = "de_decimal")]
    pub reserved_quantity: Decimal,
}

/// A location of the extension's `locations` page.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireLocation {
    /// SystemId (what document lines reference as `locationId`).
    #[serde(default, deserialize_with = "de_text")]
    pub id: String,
    /// Code.
    pub code: String,
    /// Name.
    #[serde(default, deserialize_with = "de_text")]
    pub display_name: String,
    /// Address.
    #[serde(default, deserialize_with = "de_text")]
    pub address_line1: String,
    /// Address 2.
    #[serde(default, deserialize_with = "de_text")]
    pub address_line2: String,
    /// City.
    #[serde(default, deserialize_with = "de_text")]
    pub city: String,
    /// Country/Region Code.
    #[serde(default, deserialize_with = "de_text")]
    pub country: String,
    /// Post Code.
    #[serde(default, deserialize_with = "de_text")]
    pub postal_code: String,
    /// `Store` or `Warehouse`.
    #[serde(default, deserialize_with = "de_text")]
    pub location_type: String,
    /// Whether customers can collect online orders here.
    #[serde(default)]
    pub click_and_collect: bool,
}

/// The `code` of an expanded navigation property (`itemVariant`, `location`).
#[derive(Debug, Clone, Deserialize)]
pub struct WireCode {
    /// Code.
    #[serde(default, deserialize_with = "de_text")]
    pub code: String,
}

/// A standard v2.0 `salesOrderLine`, with `itemVariant` and `location` expanded.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireSalesOrderLine {
    /// Line No. (10000, 20000, ...).
    pub sequence: u32,
    /// `Item`, `Comment`, `Account`, ...
    #[serde(default, deserialize_with = "de_text")]
    pub line_type: String,
    /// The item number for item lines.
    #[serde(default, deserialize_with = "de_text")]
    pub line_object_number: String,
    /// Description.
    #[serde(default, deserialize_with = "de_text")]
    pub description: String,
    /// Quantity.
    #[serde(deserialize_with = "de_decimal")]
    pub quantity: Decimal,
    /// Unit price, in the order's price basis (`pricesIncludeTax`).
    #[serde(deserialize_with = "de_decimal")]
    pub unit_price: Decimal,
    /// Line amount without VAT.
    #[serde(deserialize_with = "de_decimal")]
    pub amount_excluding_tax: Decimal,
    /// Line amount with VAT.
    #[serde(deserialize_with = "de_decimal")]
    pub amount_including_tax: Decimal,
    /// Quantity shipped so far.
    #[serde(default, deserialize_with = "de_opt_decimal")]
    pub shipped_quantity: Option<Decimal>,
    /// The expanded item variant, if the line has one.
    #[serde(default)]
    pub item_variant: Option<WireCode>,
    /// The expanded location, if the line has one.
    #[serde(default)]
    pub location: Option<WireCode>,
}

/// A standard v2.0 `salesOrder` with `salesOrderLines` expanded.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireSalesOrder {
    /// SystemId.
    pub id: String,
    /// No.
    pub number: String,
    /// Sell-to Customer No.
    pub customer_number: String,
    /// External Document No. (the idempotency reference of an order placed by Samlet).
    #[serde(default, deserialize_with = "de_text")]
    pub external_document_number: String,
    /// Order Date (a date, no time).
    #[serde(default, deserialize_with = "de_text")]
    pub order_date: String,
    /// Currency Code (blank for LCY).
    #[serde(default, deserialize_with = "de_text")]
    pub currency_code: String,
    /// Whether unit prices and line amounts include VAT.
    #[serde(default)]
    pub prices_include_tax: bool,
    /// Total without VAT.
    #[serde(deserialize_with = "de_decimal")]
    pub total_amount_excluding_tax: Decimal,
    /// Total with VAT.
    #[serde(deserialize_with = "de_decimal")]
    pub total_amount_including_tax: Decimal,
    /// Whether every line is shipped.
    #[serde(default)]
    pub fully_shipped: bool,
    /// The lines.
    #[serde(default)]
    pub sales_order_lines: Vec<WireSalesOrderLine>,
}

/// A posted sales shipment of an order, from the extension's `salesOrderTracking` page.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireShipment {
    /// The posted shipment's No.
    pub number: String,
    /// When the shipment was posted (SystemCreatedAt of the Sales Shipment Header), UTC.
    pub shipped_at: String,
    /// Shipping Agent Code.
    #[serde(default, deserialize_with = "de_text")]
    pub shipping_agent_code: String,
    /// The shipping agent's name, e.g. `PostNord`.
    #[serde(default, deserialize_with = "de_text")]
    pub shipping_agent_name: String,
    /// Package Tracking No.
    #[serde(default, deserialize_with = "de_text")]
    pub package_tracking_number: String,
    /// The shipping agent's Internet Address, with `%1` where the tracking number goes.
    #[serde(default, deserialize_with = "de_text")]
    pub shipping_agent_internet_address: String,
}

/// An order's row of the extension's `salesOrderTracking` page.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireOrderTracking {
    /// The order's SystemId (the page's key).
    #[serde(default, deserialize_with = "de_text")]
    pub id: String,
    /// Order No.
    pub number: String,
    /// The order's External Document No. (the idempotency reference of a placed order).
    #[serde(default, deserialize_with = "de_text")]
    pub external_document_number: String,
    /// How the order is fulfilled (`HomeDelivery`, `ClickAndCollect`, `ShipFromStore`),
    /// blank until the connector sets it.
    #[serde(default, deserialize_with = "de_text")]
    pub fulfilment: String,
    /// The quote the order was made from, blank for orders placed directly.
    #[serde(default, deserialize_with = "de_text")]
    pub quote_number: String,
    /// When the order was created (SystemCreatedAt of the Sales Header), UTC.
    pub placed_at: String,
    /// The sales channel the order came through (`web`, `app`, `store`, ...), blank if unknown.
    #[serde(default, deserialize_with = "de_text")]
    pub sales_channel: String,
    /// Responsibility Center: the store the order was placed in, blank for online orders.
    #[serde(default, deserialize_with = "de_text")]
    pub store_code: String,
    /// Whether the order was cancelled (kept for history instead of deleted).
    #[serde(default)]
    pub cancelled: bool,
    /// Posted shipments of the order.
    #[serde(default)]
    pub shipments: Vec<WireShipment>,
}

/// A standard v2.0 `salesQuoteLine`, with `location` expanded.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireSalesQuoteLine {
    /// Line No.
    pub sequence: u32,
    /// `Item`, `Comment`, `Account`, ...
    #[serde(default, deserialize_with = "de_text")]
    pub line_type: String,
    /// The item number for item lines.
    #[serde(default, deserialize_with = "de_text")]
    pub line_object_number: String,
    /// Description.
    #[serde(default, deserialize_with = "de_text")]
    pub description: String,
    /// Quantity.
    #[serde(deserialize_with = "de_decimal")]
    pub quantity: Decimal,
    /// Unit price, in the quote's price basis.
    #[serde(deserialize_with = "de_decimal")]
    pub unit_price: Decimal,
    /// Line amount without VAT.
    #[serde(deserialize_with = "de_decimal")]
    pub amount_excluding_tax: Decimal,
    /// Line amount with VAT.
    #[serde(deserialize_with = "de_decimal")]
    pub amount_including_tax: Decimal,
    /// The variant's SystemId (the null GUID for none); quote lines have no `itemVariant`
    /// navigation property, so its code comes from `itemVariants`.
    #[serde(default, deserialize_with = "de_text")]
    pub item_variant_id: String,
    /// The expanded location, if the line has one.
    #[serde(default)]
    pub location: Option<WireCode>,
}

/// A standard v2.0 `salesQuote` with `salesQuoteLines` expanded.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireSalesQuote {
    /// SystemId.
    pub id: String,
    /// No.
    pub number: String,
    /// External Document No.
    #[serde(default, deserialize_with = "de_text")]
    pub external_document_number: String,
    /// Sell-to Customer No.
    pub customer_number: String,
    /// Document Date.
    #[serde(default, deserialize_with = "de_text")]
    pub document_date: String,
    /// Currency Code (blank for LCY).
    #[serde(default, deserialize_with = "de_text")]
    pub currency_code: String,
    /// Quote Valid Until Date (`0001-01-01` for none).
    #[serde(default, deserialize_with = "de_text")]
    pub valid_until_date: String,
    /// Total without VAT.
    #[serde(deserialize_with = "de_decimal")]
    pub total_amount_excluding_tax: Decimal,
    /// Total with VAT.
    #[serde(deserialize_with = "de_decimal")]
    pub total_amount_including_tax: Decimal,
    /// The lines.
    #[serde(default)]
    pub sales_quote_lines: Vec<WireSalesQuoteLine>,
}

/// A row of the extension's `salesQuoteTracking` page: the quote log, keyed by the quote's
/// SystemId, which outlives the quote (Business Central deletes a quote it makes into an order).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireQuoteTracking {
    /// The row's ETag, for `If-Match`.
    #[serde(rename = "@odata.etag", default, deserialize_with = "de_text")]
    pub etag: String,
    /// The quote's SystemId (the page's key, and the key of `salesQuotes`).
    pub id: String,
    /// The quote's No.
    pub quote_number: String,
    /// The quote's External Document No.
    #[serde(default, deserialize_with = "de_text")]
    pub external_document_number: String,
    /// Sell-to Customer No.
    #[serde(default, deserialize_with = "de_text")]
    pub customer_number: String,
    /// Responsibility Center: the store the quote was composed in.
    #[serde(default, deserialize_with = "de_text")]
    pub store_code: String,
    /// The associate who composed it.
    #[serde(default, deserialize_with = "de_text")]
    pub created_by: String,
    /// The sales channel it was composed through.
    #[serde(default, deserialize_with = "de_text")]
    pub sales_channel: String,
    /// SystemCreatedAt of the quote, UTC.
    pub created_at: String,
    /// Quote Valid Until Date (`0001-01-01` for none).
    #[serde(default, deserialize_with = "de_text")]
    pub valid_until_date: String,
    /// Prices Including VAT.
    #[serde(default)]
    pub prices_include_tax: bool,
    /// `Open`, `Converted` or `Expired`, computed by Business Central on its work date.
    #[serde(default, deserialize_with = "de_text")]
    pub status: String,
    /// The order the quote became, blank before.
    #[serde(default, deserialize_with = "de_text")]
    pub order_number: String,
    /// The idempotency reference of the conversion, set by the connector before
    /// `Microsoft.NAV.makeOrder`.
    #[serde(default, deserialize_with = "de_text")]
    pub conversion_key: String,
}

/// A standard v2.0 `itemVariant`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireItemVariant {
    /// SystemId.
    pub id: String,
    /// Item No.
    #[serde(default, deserialize_with = "de_text")]
    pub item_number: String,
    /// Variant Code.
    pub code: String,
}

/// The header fields of a created document (`salesQuote`, `salesOrder`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireCreated {
    /// SystemId.
    pub id: String,
    /// No.
    pub number: String,
}

#[derive(Debug, Deserialize)]
struct WireToken {
    token_type: String,
    #[serde(deserialize_with = "de_seconds")]
    expires_in: u64,
    access_token: String,
}

fn de_seconds<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Secs {
        N(u64),
        S(String),
    }
    match Secs::deserialize(d)? {
        Secs::N(n) => Ok(n),
        Secs::S(s) => s.trim().parse().map_err(serde::de::Error::custom),
    }
}

#[derive(Debug, Deserialize)]
struct EntraError {
    error: String,
    #[serde(default)]
    error_description: String,
}

#[derive(Debug, Deserialize)]
struct ODataErrorBody {
    error: ODataError,
}

#[derive(Debug, Deserialize)]
struct ODataError {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
}

/// The OData error code of a reply (`Application_DialogException`, ...), if it has one.
pub fn odata_code(reply: &Reply) -> Option<String> {
    serde_json::from_slice::<ODataErrorBody>(&reply.body)
        .ok()
        .map(|b| b.error.code)
        .filter(|c| !c.is_empty())
}

/// The vendor's message of an OData error reply, cut to a readable length.
pub fn odata_message(reply: &Reply) -> String {
    match serde_json::from_slice::<ODataErrorBody>(&reply.body) {
        Ok(b) => cut(&format!("{}: {}", b.error.code, b.error.message), 300),
        Err(_) => format!("unexpected error body: {}", reply.snippet(120)),
    }
}

fn cut(s: &str, max: usize) -> String {
    let mut out: String = s.chars().take(max).collect();
    if s.chars().count() > max {
        out.push('…');
    }
    out
}

// ---------------------------------------------------------------------------------------------
// The client.

/// One Business Central company, reached with one Entra ID app.
#[derive(Debug)]
pub struct BusinessCentralClient {
    upstream: Upstream,
    config: BusinessCentralConfig,
    tokens: TokenCache,
    permits: Semaphore,
    api_origin: Option<url::Origin>,
    standard_base: String,
    custom_base: String,
}

impl BusinessCentralClient {
    /// A client for `config` (which must have validated) under `upstream`.
    pub fn new(config: BusinessCentralConfig, upstream: Upstream) -> Arc<BusinessCentralClient> {
        let api_root = config.api_root();
        let company = format!("companies({})", config.company_id);
        Arc::new(BusinessCentralClient {
            standard_base: format!("{api_root}/v2.0/{company}"),
            custom_base: format!("{api_root}/{}/{company}", config.custom_api),
            api_origin: url::Url::parse(&api_root).ok().map(|u| u.origin()),
            permits: Semaphore::new(config.max_concurrent_requests.max(1) as usize),
            tokens: TokenCache::default(),
            upstream,
            config,
        })
    }

    /// The connector instance's name.
    pub fn name(&self) -> &ConnectorName {
        self.upstream.name()
    }

    /// The configuration in force.
    pub fn config(&self) -> &BusinessCentralConfig {
        &self.config
    }

    fn error(&self, kind: ErrorKind, message: impl Into<String>) -> ConnectorError {
        ConnectorError::new(kind, self.name(), message)
    }

    /// Fetches an access token with the client credentials grant.
    async fn fetch_token(&self) -> Result<Token, ConnectorError> {
        let url = self.config.token_url();
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", self.config.client_id.as_str()),
            ("client_secret", self.config.client_secret.expose()),
            ("scope", self.config.scope.as_str()),
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
            let detail = match serde_json::from_slice::<EntraError>(&reply.body) {
                // The first sentence carries the AADSTS code and the reason; later ones hold
                // trace and correlation ids.
                Ok(e) => format!(
                    "{}: {}",
                    e.error,
                    cut(e.error_description.split(". ").next().unwrap_or(""), 200)
                ),
                Err(_) => format!("unexpected error body: {}", reply.snippet(120)),
            };
            let status = reply.status.as_u16();
            let kind = match status {
                // Entra answers a wrong secret with 401 and an unknown tenant, app or scope
                // with 400: all are credential or registration problems, not request bugs.
                400 | 401 | 403 => ErrorKind::Unauthorized,
                _ => kind_for_status(reply.status),
            };
            return Err(self
                .error(
                    kind,
                    format!("Entra ID token request failed with HTTP {status}: {detail}"),
                )
                .with_retry_after(reply.retry_after()));
        }
        let token: WireToken = reply.json(self.name(), "Entra ID token response")?;
        if !token.token_type.eq_ignore_ascii_case("bearer") || token.access_token.is_empty() {
            return Err(self.error(
                ErrorKind::InvalidResponse,
                format!(
                    "Entra ID token response: expected a Bearer token, got `{}`",
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

    /// Sends one GET with a bearer token; a 401 drops the cached token and tries once more
    /// with a fresh one.
    async fn get(&self, url: &url::Url, primary: bool) -> Result<Reply, ConnectorError> {
        let prefer = format!("odata.maxpagesize={}", self.config.page_size);
        let intent = if primary { "ReadWrite" } else { "ReadOnly" };
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
                            .header("Prefer", prefer.as_str())
                            // Reads may run on a read-only replica of the database, except
                            // lookups that must see our own writes.
                            .header("Data-Access-Intent", intent)
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

    /// The URL of `path` (an entity set, an entity by key, a bound action) under `api`.
    pub fn url(&self, api: Api, path: &str) -> String {
        match api {
            Api::Standard => format!("{}/{path}", self.standard_base),
            Api::Custom => format!("{}/{path}", self.custom_base),
        }
    }

    /// Sends one write (POST or PATCH with a JSON body, `If-Match` where given) exactly once:
    /// the transport never repeats it, because a write whose answer was lost may have
    /// happened; callers look the effect up instead. A 401, which Business Central answers
    /// before doing anything, drops the token and sends the write again with a fresh one.
    pub async fn write(
        &self,
        method: reqwest::Method,
        url: &str,
        body: Option<&serde_json::Value>,
        if_match: Option<&str>,
    ) -> Result<Reply, ConnectorError> {
        let mut refreshed = false;
        loop {
            let token = self.tokens.get(|| self.fetch_token()).await?;
            let reply = {
                let _permit = self.permits.acquire().await.map_err(|_| {
                    self.error(ErrorKind::Unavailable, "the client is shutting down")
                })?;
                self.upstream
                    .send(false, |c| {
                        let mut r = c
                            .request(method.clone(), url)
                            .bearer_auth(token.access_token.expose())
                            .header(reqwest::header::ACCEPT, "application/json");
                        if let Some(tag) = if_match {
                            r = r.header(reqwest::header::IF_MATCH, tag);
                        }
                        match body {
                            Some(b) => r.json(b),
                            None => r.header(reqwest::header::CONTENT_LENGTH, "0"),
                        }
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

    /// The typed error of a failed write, with Business Central's code and message.
    pub fn write_error(&self, what: &str, reply: &Reply) -> ConnectorError {
        status_error(
            self.name(),
            reply,
            &format!("{what}: {}", odata_message(reply)),
        )
    }

    /// Every entity of `entity_set` matching `query`, following `@odata.nextLink` to the end.
    pub async fn collection<T: DeserializeOwned>(
        &self,
        api: Api,
        entity_set: &str,
        query: Query,
    ) -> Result<Vec<T>, ConnectorError> {
        let base = match api {
            Api::Standard => &self.standard_base,
            Api::Custom => &self.custom_base,
        };
        let mut params: Vec<(&str, &str)> = Vec::new();
        if let Some(f) = &query.filter {
            params.push(("$filter", f));
        }
        if let Some(e) = query.expand {
            params.push(("$expand", e));
        }
        if let Some(o) = query.orderby {
            params.push(("$orderby", o));
        }
        let mut url = url::Url::parse_with_params(&format!("{base}/{entity_set}"), &params)
            .map_err(|e| {
                self.error(
                    ErrorKind::BadRequest,
                    format!("cannot build the URL for {entity_set}: {e}"),
                )
            })?;
        let what = format!("GET {entity_set}");
        let mut out = Vec::new();
        for _ in 0..MAX_PAGES {
            let reply = self.get(&url, query.primary).await?;
            if !reply.status.is_success() {
                let mut message = format!("{what}: {}", odata_message(&reply));
                if api == Api::Custom && reply.status == reqwest::StatusCode::NOT_FOUND {
                    message.push_str(&format!(
                        " (is the Samlet extension with the custom API `{}` installed in this environment?)",
                        self.config.custom_api
                    ));
                }
                return Err(status_error(self.name(), &reply, &message));
            }
            let page: ODataPage<T> = reply.json(self.name(), &what)?;
            out.extend(page.value);
            match page.next_link {
                None => return Ok(out),
                Some(next) => url = self.next_url(&url, &next, &what)?,
            }
        }
        Err(self.error(
            ErrorKind::InvalidResponse,
            format!("{what}: more than {MAX_PAGES} pages; stopping a runaway @odata.nextLink"),
        ))
    }

    /// Checks a `@odata.nextLink` before following it: it must point at the configured API
    /// host (the bearer token goes with it) and must move forward.
    fn next_url(
        &self,
        current: &url::Url,
        next: &str,
        what: &str,
    ) -> Result<url::Url, ConnectorError> {
        let url = url::Url::parse(next).or_else(|_| current.join(next));
        match url {
            Ok(u) if Some(u.origin()) == self.api_origin && u.path().starts_with("/v2.0/") && u != *current => Ok(u),
            _ => Err(self.error(
                ErrorKind::InvalidResponse,
                format!("{what}: refusing an @odata.nextLink outside the configured API host or back to the same page"),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_links_must_stay_on_the_configured_api_host() {
        let config = crate::simulator::demo_config("http://127.0.0.1:9");
        let upstream = Upstream::new(ConnectorName::new("erp"), UpstreamPolicy::default()).unwrap();
        let client = BusinessCentralClient::new(config, upstream);
        let current = url::Url::parse(
            "http://127.0.0.1:9/v2.0/samlet-demo-tenant/production/api/v2.0/companies(x)/salesOrders",
        )
        .unwrap();
        let ok = format!("{current}?$skiptoken=1.0.0");
        assert!(client.next_url(&current, &ok, "GET").is_ok());
        for bad in [
            "http://evil.example/v2.0/samlet-demo-tenant/production/api/v2.0/companies(x)/salesOrders?$skiptoken=1",
            "http://127.0.0.1:10/v2.0/x?$skiptoken=1",
            current.as_str(),
        ] {
            let err = client.next_url(&current, bad, "GET").unwrap_err();
            assert_eq!(err.kind, ErrorKind::InvalidResponse);
        }
    }

    #[test]
    fn string_literals_double_their_quotes() {
        assert_eq!(quote("O'Brien"), "'O''Brien'");
    }

    #[test]
    fn in_lists_are_cut_at_the_documented_length() {
        let values: Vec<String> = (0..300).map(|i| format!("C{i:07}")).collect();
        let filters = in_filters("number", &values);
        assert!(filters.len() > 1);
        for f in &filters {
            assert!(
                f.len() <= MAX_IN_LIST_CHARS + "number in ()".len(),
                "{}",
                f.len()
            );
        }
        let joined: usize = filters.iter().map(|f| f.matches('\'').count() / 2).sum();
        assert_eq!(joined, 300);
        assert_eq!(
            in_filters("number", &["A".into(), "B".into()]),
            vec!["number in ('A','B')"]
        );
    }

    #[test]
    fn or_chains_stay_under_the_node_limit() {
        let values: Vec<String> = (0..45).map(|i| format!("a{i}@example.dk")).collect();
        let filters = lowercase_eq_filters("email", &values);
        assert_eq!(filters.len(), 3);
        // tolower + property + literal + eq per term, plus the ors between them.
        let nodes = MAX_OR_TERMS * 4 + MAX_OR_TERMS - 1;
        assert!(nodes <= 100);
        assert_eq!(filters[2].matches(" or ").count(), 4);
    }
}
