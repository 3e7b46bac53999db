//! Wire -> model: catalog entries to products, price lists to the price of a context, warehouse
//! inventories to stock levels, warehouses to locations, customer contacts to customer records
//! and purchase orders to orders. Pure functions; the tricky rules are unit-tested here.
//!
//! Conventions (see the crate docs for the full contract):
//! - meta field values are localised through [`OptimizelyConfig::languages`]; a value without a
//!   language (a field that is not culture specific) is filed under `en-GB`;
//! - a price is resolved like Optimizely's default price filter: prices of the context's market
//!   and currency, valid now, for a quantity of one; a price of the customer's price group wins
//!   over prices for all customers; among the winners the lowest is paid, and a higher one valid
//!   at the same time (the list price under a campaign price) is reported as the regular price;
//! - a warehouse is a store unless it is a fulfilment centre that takes no deliveries (a
//!   distribution centre customers never visit); pickup locations offer click and collect;
//! - Optimizely line items carry no line number: lines are numbered 10000, 20000, ... in
//!   `LineItemId` order.

use crate::client::{
    MetaFieldProperty, PropertyItem, ResourceLink, WireCustomer, WireEntry, WireInventory,
    WireLineItem, WirePrice, WirePurchaseOrder, WireWarehouse,
};
use crate::config::OptimizelyConfig;
use chrono::{DateTime, NaiveDateTime, Utc};
use rust_decimal::prelude::ToPrimitive;
use samlet_connector::prelude::*;
use std::collections::HashSet;

/// The system name in [`SourceRef`]s.
pub const SYSTEM: &str = "optimizely";

/// Order meta field: the sales channel the order came through (`web`, `app`, `store`, ...).
pub const ORDER_SALES_CHANNEL: &str = "SalesChannel";
/// Order meta field: the store (warehouse code) the order was placed in; empty online.
pub const ORDER_STORE_CODE: &str = "StoreCode";
/// Shipment meta field: the shipment's number as printed on the delivery note.
pub const SHIPMENT_NUMBER: &str = "ShipmentNumber";
/// Shipment meta field: when the shipment left (ISO 8601, UTC).
pub const SHIPMENT_SHIPPED_DATE: &str = "ShippedDate";
/// Shipment meta field: the carrier; the shipping method's name when absent.
pub const SHIPMENT_CARRIER: &str = "Carrier";
/// Shipment meta field: the carrier's tracking page with `{0}` for the tracking number.
pub const SHIPMENT_TRACKING_URL: &str = "CarrierTrackingUrl";

/// Parses a JSON number as an exact decimal (through its text, never through a float).
pub fn decimal_from_number(n: &serde_json::Number) -> Result<Decimal, String> {
    let text = n.to_string();
    text.parse::<Decimal>()
        .or_else(|_| Decimal::from_scientific(&text))
        .map_err(|e| format!("`{text}` is not a decimal amount: {e}"))
}

/// Parses an ASP.NET date: ISO 8601 with `Z` or an offset, or without one (read as UTC).
pub fn parse_time(s: &str) -> Result<DateTime<Utc>, String> {
    let t = s.trim();
    if let Ok(d) = DateTime::parse_from_rfc3339(t) {
        return Ok(d.with_timezone(&Utc));
    }
    NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S%.f")
        .map(|n| n.and_utc())
        .map_err(|_| format!("`{s}` is not a date and time"))
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
            if let Ok(b) = u8::from_str_radix(hex, 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The code a link points at: the last segment of its href, percent-decoded
/// (`/episerverapi/commerce/entries/P000042-OAK` -> `P000042-OAK`).
pub fn link_code(link: &ResourceLink) -> Option<String> {
    let path = link.href.split(['?', '#']).next().unwrap_or("");
    path.trim_end_matches('/')
        .rsplit('/')
        .next()
        .filter(|s| !s.is_empty())
        .map(percent_decode)
}

/// ISO 3166-1 alpha-2 for a country code Optimizely stores as alpha-3 (its usual form) or
/// alpha-2.
pub fn country_alpha2(code: &str) -> String {
    let c = code.trim().to_ascii_uppercase();
    let two = match c.as_str() {
        "DNK" => "DK",
        "SWE" => "SE",
        "NOR" => "NO",
        "FIN" => "FI",
        "ISL" => "IS",
        "DEU" => "DE",
        "GBR" => "GB",
        "NLD" => "NL",
        "POL" => "PL",
        "FRA" => "FR",
        "USA" => "US",
        "EST" => "EE",
        "LVA" => "LV",
        "LTU" => "LT",
        _ => return c,
    };
    two.to_owned()
}

// ---------------------------------------------------------------------------------------------
// Catalog.

fn meta<'a>(entry: &'a WireEntry, name: &str) -> Option<&'a MetaFieldProperty> {
    entry
        .meta_fields
        .iter()
        .find(|f| f.name.eq_ignore_ascii_case(name))
}

/// A meta field's values per gateway locale.
pub fn localized(field: &MetaFieldProperty, config: &OptimizelyConfig) -> LocalizedText {
    let mut text = LocalizedText::default();
    for d in &field.data {
        let Some(value) = d.value.as_deref().filter(|v| !v.is_empty()) else {
            continue;
        };
        let locale = match d.language.as_deref().map(str::trim) {
            None | Some("") => Some(Locale::en_gb()),
            Some(lang) => config.locale_of(lang),
        };
        if let Some(l) = locale {
            text.insert(l, value);
        }
    }
    text
}

fn field_text(entry: &WireEntry, name: &str, config: &OptimizelyConfig) -> LocalizedText {
    meta(entry, name)
        .map(|f| localized(f, config))
        .unwrap_or_default()
}

/// The configured attributes an entry has, in the order of its meta fields (the meta class's
/// order, which the configuration, a map, cannot keep).
fn attributes(
    entry: &WireEntry,
    fields: &std::collections::BTreeMap<String, String>,
    config: &OptimizelyConfig,
) -> Vec<Attribute> {
    let mut seen = HashSet::new();
    entry
        .meta_fields
        .iter()
        .filter_map(|f| {
            let (code, _) = fields
                .iter()
                .find(|(_, name)| name.eq_ignore_ascii_case(&f.name))?;
            if !seen.insert(code.as_str()) {
                return None;
            }
            let value = localized(f, config);
            (!value.is_empty()).then(|| Attribute {
                code: code.clone(),
                value,
            })
        })
        .collect()
}

fn name_of(entry: &WireEntry, config: &OptimizelyConfig) -> LocalizedText {
    let mut name = field_text(entry, &config.meta_fields.display_name, config);
    if name.is_empty() && !entry.name.is_empty() {
        name.insert(Locale::en_gb(), entry.name.clone());
    }
    name
}

/// The media of an entry; `absolute` turns a site-relative href into a URL.
pub fn media(entry: &WireEntry, absolute: &dyn Fn(&str) -> String) -> Vec<Media> {
    entry
        .assets
        .iter()
        .filter(|a| !a.href.is_empty())
        .map(|a| Media {
            url: absolute(&a.href),
            code: if a.title.is_empty() {
                link_code(a).unwrap_or_default()
            } else {
                a.title.clone()
            },
        })
        .collect()
}

/// Whether an entry is a product (as opposed to a variation, package or bundle).
pub fn is_product(entry: &WireEntry) -> bool {
    entry.entry_type.eq_ignore_ascii_case("Product")
}

/// Whether an entry is a variation (a sellable SKU).
pub fn is_variation(entry: &WireEntry) -> bool {
    entry.entry_type.eq_ignore_ascii_case("Variation")
        || entry.entry_type.eq_ignore_ascii_case("Variant")
}

/// The codes of a product's variations, in their sort order.
pub fn child_codes(product: &WireEntry) -> Vec<String> {
    product
        .child_catalog_entries
        .iter()
        .filter_map(link_code)
        .collect()
}

/// A product from its entry and its variation entries (in the product's order). Inactive
/// variations are left out.
pub fn product(
    config: &OptimizelyConfig,
    entry: &WireEntry,
    variants: &[&WireEntry],
    absolute: &dyn Fn(&str) -> String,
) -> Product {
    let variants = variants
        .iter()
        .filter(|v| v.is_active)
        .map(|v| Variant {
            sku: Sku::new(v.code.clone()),
            name: name_of(v, config),
            attributes: attributes(v, &config.meta_fields.variant_attributes, config),
            media: media(v, absolute),
        })
        .collect();
    Product {
        id: ProductId::new(entry.code.clone()),
        name: name_of(entry, config),
        description: field_text(entry, &config.meta_fields.description, config),
        categories: entry.nodes.iter().filter_map(link_code).collect(),
        attributes: attributes(entry, &config.meta_fields.product_attributes, config),
        media: media(entry, absolute),
        variants,
        updated_at: None,
    }
}

// ---------------------------------------------------------------------------------------------
// Prices.

/// What a price is resolved for.
#[derive(Debug, Clone)]
pub struct PriceContext<'a> {
    /// The market of the request's price channel and currency.
    pub market: &'a str,
    /// The currency.
    pub currency: Currency,
    /// The customer's price group, if any.
    pub group: Option<&'a CustomerGroup>,
    /// The moment prices must be valid at.
    pub now: DateTime<Utc>,
    /// Whether general prices include VAT.
    pub prices_include_tax: bool,
    /// Price groups whose prices are net of VAT.
    pub net_price_groups: &'a [String],
}

fn is_group_price(p: &WirePrice) -> bool {
    p.price_type_id.eq_ignore_ascii_case("PriceGroup")
        || p.price_type_id.eq_ignore_ascii_case("CustomerPriceGroup")
}

fn is_general_price(p: &WirePrice) -> bool {
    p.price_type_id.eq_ignore_ascii_case("AllCustomers")
}

fn applies(p: &WirePrice, cx: &PriceContext<'_>) -> Result<bool, String> {
    if !p.market_id.trim().eq_ignore_ascii_case(cx.market)
        || !p
            .currency_code
            .trim()
            .eq_ignore_ascii_case(cx.currency.as_str())
        || p.min_quantity > Decimal::ONE
    {
        return Ok(false);
    }
    if !p.valid_from.trim().is_empty() && parse_time(&p.valid_from)? > cx.now {
        return Ok(false);
    }
    match p.valid_until.as_deref().map(str::trim) {
        Some(u) if !u.is_empty() => Ok(parse_time(u)? > cx.now),
        _ => Ok(true),
    }
}

/// The price of one entry in `cx`, from all its prices; `None` when none applies.
pub fn select_price(prices: &[WirePrice], cx: &PriceContext<'_>) -> Result<Option<Price>, String> {
    let mut group_tier = Vec::new();
    let mut general = Vec::new();
    for p in prices {
        if !applies(p, cx)? {
            continue;
        }
        if let Some(g) = cx.group {
            if is_group_price(p) && p.price_code.trim().eq_ignore_ascii_case(g.as_str()) {
                group_tier.push(p.unit_price);
                continue;
            }
        }
        if is_general_price(p) {
            general.push(p.unit_price);
        }
    }
    let (tier, group) = if group_tier.is_empty() {
        (general, None)
    } else {
        (group_tier, cx.group)
    };
    let (Some(low), Some(high)) = (tier.iter().min().copied(), tier.iter().max().copied()) else {
        return Ok(None);
    };
    let tax_included = match group {
        Some(g)
            if cx
                .net_price_groups
                .iter()
                .any(|n| n.eq_ignore_ascii_case(g.as_str())) =>
        {
            false
        }
        _ => cx.prices_include_tax,
    };
    Ok(Some(Price {
        amount: Money::new(low, cx.currency),
        regular: (high > low).then(|| Money::new(high, cx.currency)),
        tax_included,
        customer_group: group.cloned(),
    }))
}

// ---------------------------------------------------------------------------------------------
// Stock and locations.

fn whole(d: Decimal, what: &str) -> Result<i64, String> {
    d.trunc()
        .to_i64()
        .ok_or_else(|| format!("{what} `{d}` is not a whole number of units"))
}

/// Stock of one entry in one warehouse.
pub fn stock_level(row: &WireInventory) -> Result<StockLevel, String> {
    Ok(StockLevel {
        location: LocationId::new(row.warehouse_code.trim()),
        on_hand: whole(row.in_stock_quantity, "InStockQuantity")?,
        reserved: whole(row.reserved_quantity, "ReservedQuantity")?,
    })
}

/// A location from a warehouse.
pub fn location(w: &WireWarehouse) -> Location {
    let kind = if w.is_fulfillment_center && !w.is_delivery_location {
        LocationKind::Warehouse
    } else {
        LocationKind::Store
    };
    let street = if w.line2.trim().is_empty() {
        w.line1.trim().to_owned()
    } else {
        format!("{}, {}", w.line1.trim(), w.line2.trim())
    };
    Location {
        id: LocationId::new(w.code.trim()),
        name: w.name.clone(),
        kind,
        address: Address {
            street,
            postal_code: w.postal_code.trim().to_owned(),
            city: w.city.trim().to_owned(),
            country: country_alpha2(&w.country_code),
        },
        click_and_collect: w.is_pickup_location,
    }
}

// ---------------------------------------------------------------------------------------------
// Customers.

fn non_empty(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_owned())
}

/// A customer record from a contact of the Samlet lookup.
pub fn customer(w: &WireCustomer, connector: &ConnectorName) -> CustomerRecord {
    let address = w
        .addresses
        .iter()
        .find(|a| a.billing_default)
        .or_else(|| w.addresses.iter().find(|a| a.shipping_default))
        .or_else(|| w.addresses.first());
    let country = address.map(|a| country_alpha2(&a.country_code));
    let mut r = CustomerRecord::new(SourceRef {
        connector: connector.clone(),
        system: SYSTEM.to_owned(),
        native_id: w.primary_key_id.clone(),
    });
    r.number = non_empty(&w.customer_number).map(CustomerNumber::new);
    r.email = normalize_email(&w.email);
    r.phone = address.and_then(|a| {
        [&a.daytime_phone_number, &a.evening_phone_number]
            .into_iter()
            .filter(|p| !p.trim().is_empty())
            .find_map(|p| normalize_phone(p, country.as_deref().unwrap_or("")))
    });
    r.first_name = non_empty(&w.first_name);
    r.last_name = non_empty(&w.last_name);
    if let Some(org) = &w.organization {
        r.kind = CustomerKind::Company;
        r.company_name = non_empty(&org.name);
    }
    r.customer_group = non_empty(&w.customer_group)
        .or_else(|| {
            w.organization
                .as_ref()
                .and_then(|o| non_empty(&o.org_customer_group))
        })
        .map(CustomerGroup::new);
    r.address = address.map(|a| Address {
        street: a.line1.trim().to_owned(),
        postal_code: a.postal_code.trim().to_owned(),
        city: a.city.trim().to_owned(),
        country: country.clone().unwrap_or_default(),
    });
    r.updated_at = w.modified.as_deref().and_then(|m| parse_time(m).ok());
    r
}

// ---------------------------------------------------------------------------------------------
// Orders.

pub(crate) fn property<'a>(items: &'a [PropertyItem], key: &str) -> Option<&'a str> {
    items
        .iter()
        .find(|p| p.key.eq_ignore_ascii_case(key))
        .and_then(|p| p.value.as_deref())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

fn is_shipped(status: &str) -> bool {
    status.trim().eq_ignore_ascii_case("Shipped")
}

/// The order status from the purchase order's status and its shipments.
pub fn order_status(po: &WirePurchaseOrder) -> OrderStatus {
    let shipments: Vec<&str> = po
        .order_forms
        .iter()
        .flat_map(|f| &f.shipments)
        .map(|s| s.status.trim())
        .filter(|s| !s.eq_ignore_ascii_case("Cancelled"))
        .collect();
    match po.status.trim() {
        s if s.eq_ignore_ascii_case("Cancelled") => OrderStatus::Cancelled,
        s if s.eq_ignore_ascii_case("Completed") => OrderStatus::Shipped,
        s if s.eq_ignore_ascii_case("PartiallyShipped") => OrderStatus::PartiallyShipped,
        _ => {
            let shipped = shipments.iter().filter(|s| is_shipped(s)).count();
            if shipped == 0 {
                OrderStatus::Open
            } else if shipped == shipments.len() {
                OrderStatus::Shipped
            } else {
                OrderStatus::PartiallyShipped
            }
        }
    }
}

/// An order from a purchase order, for the customer with `customer` number.
pub fn order(po: &WirePurchaseOrder, customer: CustomerNumber) -> Result<Order, String> {
    let number = &po.order_number;
    let currency: Currency = po
        .billing_currency
        .trim()
        .parse()
        .map_err(|e| format!("order {number}: BillingCurrency: {e}"))?;
    let placed_at = parse_time(&po.created).map_err(|e| format!("order {number}: Created: {e}"))?;
    let mut seen = HashSet::new();
    let mut items: Vec<(&WireLineItem, Option<&str>)> = Vec::new();
    for form in &po.order_forms {
        for s in &form.shipments {
            let warehouse = Some(s.warehouse_code.trim()).filter(|w| !w.is_empty());
            for li in &s.line_items {
                if seen.insert(li.line_item_id) {
                    items.push((li, warehouse));
                }
            }
        }
        for li in &form.line_items {
            if seen.insert(li.line_item_id) {
                items.push((li, None));
            }
        }
    }
    items.sort_by_key(|(li, _)| li.line_item_id);
    let lines = items
        .into_iter()
        .enumerate()
        .map(|(k, (li, warehouse))| OrderLine {
            line_no: (k as u32 + 1) * 10_000,
            sku: Sku::new(li.code.trim()),
            description: li.display_name.clone(),
            quantity: li.quantity,
            unit_price: Money::new(li.placed_price, currency),
            line_total: Money::new(li.extended_price, currency),
            location: warehouse.map(LocationId::new),
        })
        .collect();
    let mut shipments = Vec::new();
    for s in po.order_forms.iter().flat_map(|f| &f.shipments) {
        if !is_shipped(&s.status) {
            continue;
        }
        let shipped_at = match property(&s.properties, SHIPMENT_SHIPPED_DATE) {
            Some(d) => parse_time(d)
                .map_err(|e| format!("order {number}: {SHIPMENT_SHIPPED_DATE}: {e}"))?,
            None => placed_at,
        };
        let tracking = s.shipment_tracking_number.trim().to_owned();
        shipments.push(Shipment {
            number: property(&s.properties, SHIPMENT_NUMBER)
                .map(str::to_owned)
                .unwrap_or_else(|| s.shipment_id.to_string()),
            carrier: property(&s.properties, SHIPMENT_CARRIER)
                .map(str::to_owned)
                .unwrap_or_else(|| s.shipping_method_name.trim().to_owned()),
            tracking_url: property(&s.properties, SHIPMENT_TRACKING_URL)
                .map(|t| t.replace("{0}", &tracking))
                .unwrap_or_default(),
            tracking_number: tracking,
            shipped_at,
        });
    }
    shipments.sort_by(|a, b| {
        a.shipped_at
            .cmp(&b.shipped_at)
            .then(a.number.cmp(&b.number))
    });
    Ok(Order {
        number: OrderNumber::new(number.trim()),
        customer,
        placed_at,
        status: order_status(po),
        channel: property(&po.properties, ORDER_SALES_CHANNEL).and_then(|c| c.parse().ok()),
        store: property(&po.properties, ORDER_STORE_CODE).map(LocationId::new),
        currency,
        lines,
        shipments,
        total: Money::new(po.total, currency),
    })
}

// ---------------------------------------------------------------------------------------------
// The journeys: wishlist carts, offer carts and the purchase orders the connector places.

/// The name of a customer's wishlist cart.
pub const WISHLIST_CART: &str = "Wishlist";
/// The name of an offer's cart is this prefix and the offer's key (see [`OfferNumber`]).
pub const OFFER_CART_PREFIX: &str = "Offer-";
/// Line item meta field: when a wishlist line was added (ISO 8601, UTC).
pub const LINE_ADDED_AT: &str = "AddedAt";
/// Line item meta field: the channel a wishlist line was added from.
pub const LINE_CHANNEL: &str = "Channel";
/// Order meta field: `ClickAndCollect`, `ShipFromStore` or `HomeDelivery`.
pub const ORDER_FULFILMENT: &str = "Fulfilment";
/// Order and offer cart meta field: the idempotency key that created it.
pub const IDEMPOTENCY_KEY: &str = "IdempotencyKey";
/// Order meta field: the offer an order was converted from.
pub const ORDER_OFFER_NUMBER: &str = "OfferNumber";
/// Offer cart meta field: until when the offer can be converted (ISO 8601, UTC).
pub const OFFER_VALID_UNTIL: &str = "ValidUntil";
/// Offer cart meta field: the store it was composed in.
pub const OFFER_STORE_CODE: &str = "StoreCode";
/// Offer cart meta field: the associate who composed it.
pub const OFFER_CREATED_BY: &str = "CreatedBy";
/// Offer cart meta field: the key of the conversion that claimed the offer.
pub const OFFER_CONVERSION_KEY: &str = "ConversionKey";
/// Offer cart meta field: the order the offer became.
pub const OFFER_ORDER_NUMBER: &str = "OrderNumber";

/// The lines of an order form set (order form lines, then shipment lines), each once, in the
/// order the site keeps them.
pub fn form_lines(forms: &[crate::client::WireOrderForm]) -> Vec<&WireLineItem> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for form in forms {
        for li in form
            .line_items
            .iter()
            .chain(form.shipments.iter().flat_map(|s| &s.line_items))
        {
            if seen.insert(li.line_item_id) {
                out.push(li);
            }
        }
    }
    out
}

/// A customer's wishlist from their `Wishlist` cart (`None`: they have none yet).
pub fn wishlist(
    cart: Option<&crate::client::WireCart>,
    customer: &CustomerNumber,
) -> Result<Wishlist, String> {
    let mut items: Vec<WishlistItem> = Vec::new();
    if let Some(cart) = cart {
        let modified = parse_time(&cart.modified).ok();
        for li in form_lines(&cart.order_forms) {
            let sku = Sku::new(li.code.trim());
            if sku.as_str().is_empty() || items.iter().any(|i| i.sku == sku) {
                continue;
            }
            let added_at = match property(&li.properties, LINE_ADDED_AT) {
                Some(t) => parse_time(t).map_err(|e| format!("wishlist line {sku}: {e}"))?,
                None => {
                    modified.ok_or_else(|| format!("wishlist line {sku}: no {LINE_ADDED_AT}"))?
                }
            };
            items.push(WishlistItem {
                channel: property(&li.properties, LINE_CHANNEL).and_then(|c| c.parse().ok()),
                added_at,
                sku,
            });
        }
    }
    Ok(Wishlist {
        customer: customer.clone(),
        items,
    })
}

/// An offer number: `OF{key}-{currency}-{customer number}`. The key (ten hex digits) is a hash
/// of the customer and the idempotency key that created the offer, and names the offer's cart
/// (`Offer-OF{key}`); currency and customer name its market and owner, so an offer is read by
/// number alone (the Service API reads carts by customer, name and market only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfferNumber {
    /// The ten hex digits.
    pub key: String,
    /// The offer's currency (its market is the store market of that currency).
    pub currency: Currency,
    /// For whom.
    pub customer: CustomerNumber,
}

impl OfferNumber {
    /// The number of the offer `idempotency_key` creates for `customer`.
    pub fn new(
        customer: &CustomerNumber,
        currency: Currency,
        idempotency_key: &str,
    ) -> OfferNumber {
        // FNV-1a, 64 bits: stable across releases and platforms.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in customer
            .as_str()
            .bytes()
            .chain([0u8])
            .chain(idempotency_key.bytes())
        {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        OfferNumber {
            key: format!("{:010X}", h >> 24),
            currency,
            customer: customer.clone(),
        }
    }

    /// Parses a number made by [`OfferNumber::new`].
    pub fn parse(number: &str) -> Option<OfferNumber> {
        let rest = number.trim().strip_prefix("OF")?;
        let (key, rest) = rest.split_once('-')?;
        let (currency, customer) = rest.split_once('-')?;
        if key.len() != 10 || !key.bytes().all(|b| b.is_ascii_hexdigit()) || customer.is_empty() {
            return None;
        }
        Some(OfferNumber {
            key: key.to_ascii_uppercase(),
            currency: currency.parse().ok()?,
            customer: CustomerNumber::new(customer),
        })
    }

    /// The offer's cart name.
    pub fn cart_name(&self) -> String {
        format!("{OFFER_CART_PREFIX}OF{}", self.key)
    }
}

impl std::fmt::Display for OfferNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "OF{}-{}-{}", self.key, self.currency, self.customer)
    }
}

/// Lines of a cart or order body, numbered 10000, 20000, ... in the site's order.
pub fn lines_of(
    forms: &[crate::client::WireOrderForm],
    currency: Currency,
    location: Option<&LocationId>,
) -> Vec<OrderLine> {
    form_lines(forms)
        .into_iter()
        .enumerate()
        .map(|(k, li)| OrderLine {
            line_no: (k as u32 + 1) * 10_000,
            sku: Sku::new(li.code.trim()),
            description: li.display_name.clone(),
            quantity: li.quantity,
            unit_price: Money::new(li.placed_price, currency),
            line_total: Money::new(li.extended_price, currency),
            location: location.cloned(),
        })
        .collect()
}

/// An offer from its cart, as of the site's clock `now`.
pub fn offer(
    cart: &crate::client::WireCart,
    number: &OfferNumber,
    now: DateTime<Utc>,
) -> Result<Offer, String> {
    let currency: Currency = cart
        .billing_currency
        .trim()
        .parse()
        .map_err(|e| format!("offer {number}: BillingCurrency: {e}"))?;
    let valid_until = property(&cart.properties, OFFER_VALID_UNTIL)
        .ok_or_else(|| format!("offer {number}: no {OFFER_VALID_UNTIL}"))
        .and_then(|t| {
            parse_time(t).map_err(|e| format!("offer {number}: {OFFER_VALID_UNTIL}: {e}"))
        })?;
    let created_at =
        parse_time(&cart.created).map_err(|e| format!("offer {number}: Created: {e}"))?;
    let store = property(&cart.properties, OFFER_STORE_CODE).map(LocationId::new);
    let lines = lines_of(&cart.order_forms, currency, store.as_ref());
    let total = Money::new(lines.iter().map(|l| l.line_total.amount).sum(), currency);
    let status = match property(&cart.properties, OFFER_ORDER_NUMBER) {
        Some(n) => OfferStatus::Converted(OrderNumber::new(n)),
        None if now > valid_until => OfferStatus::Expired,
        None => OfferStatus::Open,
    };
    Ok(Offer {
        number: number.to_string(),
        customer: number.customer.clone(),
        lines,
        total,
        status,
        valid_until,
        created_at,
        store,
        created_by: property(&cart.properties, OFFER_CREATED_BY).map(str::to_owned),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::{MetaFieldData, WireOrderForm, WireShipment};

    fn dec(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn config() -> OptimizelyConfig {
        crate::simulator::demo_config("http://127.0.0.1:9")
    }

    fn price(market: &str, kind: &str, code: &str, amount: &str) -> WirePrice {
        WirePrice {
            price_value_id: Some(1),
            catalog_entry_code: "P1-OAK".into(),
            market_id: market.into(),
            price_type_id: kind.into(),
            price_code: code.into(),
            valid_from: "2023-01-01T00:00:00Z".into(),
            valid_until: None,
            min_quantity: Decimal::ZERO,
            unit_price: dec(amount),
            currency_code: "DKK".into(),
        }
    }

    fn cx<'a>(group: Option<&'a CustomerGroup>, net: &'a [String]) -> PriceContext<'a> {
        PriceContext {
            market: "DK",
            currency: Currency::DKK,
            group,
            now: parse_time("2025-06-01T00:00:00Z").unwrap(),
            prices_include_tax: true,
            net_price_groups: net,
        }
    }

    #[test]
    fn json_numbers_and_dates_parse_exactly() {
        let n: serde_json::Number = serde_json::from_str("1104.15").unwrap();
        assert_eq!(decimal_from_number(&n).unwrap(), dec("1104.15"));
        for s in [
            "2024-01-01T08:00:00Z",
            "2024-01-01T09:00:00+01:00",
            "2024-01-01T08:00:00",
            "2024-01-01T08:00:00.0000000",
        ] {
            assert_eq!(
                parse_time(s).unwrap(),
                parse_time("2024-01-01T08:00:00Z").unwrap(),
                "{s}"
            );
        }
        assert!(parse_time("yesterday").is_err());
    }

    #[test]
    fn a_campaign_price_is_paid_and_the_list_price_is_regular() {
        let net = vec!["B2B".to_owned()];
        let mut expired = price("DK", "AllCustomers", "", "10.00");
        expired.valid_until = Some("2024-01-01T00:00:00Z".into());
        let mut future = price("DK", "AllCustomers", "", "11.00");
        future.valid_from = "2030-01-01T00:00:00Z".into();
        let mut tier = price("DK", "AllCustomers", "", "12.00");
        tier.min_quantity = dec("10");
        let prices = vec![
            price("DK", "AllCustomers", "", "1299.00"),
            price("DK", "AllCustomers", "", "1104.15"),
            price("DK-STORE", "AllCustomers", "", "999.00"),
            expired,
            future,
            tier,
        ];
        let p = select_price(&prices, &cx(None, &net)).unwrap().unwrap();
        assert_eq!(p.amount.amount, dec("1104.15"));
        assert_eq!(p.regular.unwrap().amount, dec("1299"));
        assert!(p.tax_included);
        assert_eq!(p.customer_group, None);
    }

    #[test]
    fn a_price_group_price_wins_and_is_net_for_net_groups() {
        let net = vec!["B2B".to_owned()];
        let b2b = CustomerGroup::new("B2B");
        let prices = vec![
            price("DK", "AllCustomers", "", "1299.00"),
            price("DK", "PriceGroup", "B2B", "831.36"),
            price("DK", "PriceGroup", "VIP", "700.00"),
        ];
        let p = select_price(&prices, &cx(Some(&b2b), &net))
            .unwrap()
            .unwrap();
        assert_eq!(p.amount.amount, dec("831.36"));
        assert_eq!(p.regular, None);
        assert!(!p.tax_included);
        assert_eq!(p.customer_group, Some(b2b));
        // A group without its own prices pays the general price.
        let other = CustomerGroup::new("STAFF");
        let p = select_price(&prices, &cx(Some(&other), &net))
            .unwrap()
            .unwrap();
        assert_eq!(p.amount.amount, dec("1299"));
        assert_eq!(p.customer_group, None);
        // No price in the market: none.
        let mut c = cx(None, &net);
        c.market = "SE";
        assert_eq!(select_price(&prices, &c).unwrap(), None);
    }

    #[test]
    fn a_bad_validity_date_is_an_error() {
        let mut p = price("DK", "AllCustomers", "", "1.00");
        p.valid_from = "soon".into();
        assert!(select_price(&[p], &cx(None, &[])).is_err());
    }

    #[test]
    fn meta_fields_are_localised_and_unlocalised_values_go_to_english() {
        let c = config();
        let f = MetaFieldProperty {
            name: "Material".into(),
            kind: "ShortString".into(),
            data: vec![
                MetaFieldData {
                    language: Some("da".into()),
                    value: Some("træ".into()),
                },
                MetaFieldData {
                    language: Some("no".into()),
                    value: Some("tre".into()),
                },
                MetaFieldData {
                    language: Some("fi".into()),
                    value: Some("puu".into()),
                },
                MetaFieldData {
                    language: None,
                    value: Some("wood".into()),
                },
                MetaFieldData {
                    language: Some("sv".into()),
                    value: None,
                },
            ],
        };
        let t = localized(&f, &c);
        assert_eq!(t.0.len(), 3);
        assert_eq!(t.get(&"nb-NO".parse().unwrap()), Some("tre"));
        assert_eq!(t.get(&Locale::en_gb()), Some("wood"));
    }

    #[test]
    fn links_name_their_codes() {
        let l = ResourceLink {
            href: "/episerverapi/commerce/entries/P000042-OAK".into(),
            ..Default::default()
        };
        assert_eq!(link_code(&l).as_deref(), Some("P000042-OAK"));
        let l = ResourceLink {
            href: "http://x/episerverapi/commerce/nodes/garden%20chairs/?lang=da".into(),
            ..Default::default()
        };
        assert_eq!(link_code(&l).as_deref(), Some("garden chairs"));
        assert_eq!(link_code(&ResourceLink::default()), None);
    }

    #[test]
    fn warehouses_become_stores_or_warehouses() {
        let w = WireWarehouse {
            code: "WH-ONLINE".into(),
            name: "Online".into(),
            is_fulfillment_center: true,
            country_code: "DNK".into(),
            ..Default::default()
        };
        let l = location(&w);
        assert_eq!(l.kind, LocationKind::Warehouse);
        assert_eq!(l.address.country, "DK");
        assert!(!l.click_and_collect);
        let s = WireWarehouse {
            code: "DK-CPH".into(),
            is_fulfillment_center: true,
            is_delivery_location: true,
            is_pickup_location: true,
            country_code: "DK".into(),
            ..Default::default()
        };
        let l = location(&s);
        assert_eq!(l.kind, LocationKind::Store);
        assert!(l.click_and_collect);
    }

    fn line(id: i64, code: &str) -> WireLineItem {
        WireLineItem {
            line_item_id: id,
            code: code.into(),
            display_name: code.into(),
            placed_price: dec("100.00"),
            extended_price: dec("200.00"),
            quantity: dec("2"),
            properties: Vec::new(),
        }
    }

    fn shipment(id: i64, status: &str, lines: Vec<WireLineItem>) -> WireShipment {
        WireShipment {
            shipment_id: id,
            shipping_method_name: "PostNord".into(),
            shipment_tracking_number: if status == "Shipped" {
                "PO1".into()
            } else {
                String::new()
            },
            status: status.into(),
            warehouse_code: "WH-ONLINE".into(),
            line_items: lines,
            properties: Vec::new(),
        }
    }

    fn po(status: &str, shipments: Vec<WireShipment>) -> WirePurchaseOrder {
        WirePurchaseOrder {
            order_group_id: 7,
            order_number: "SO0000007".into(),
            customer_id: "x".into(),
            market_id: "DK".into(),
            billing_currency: "DKK".into(),
            status: status.into(),
            created: "2024-01-01T08:00:00Z".into(),
            total: dec("400.00"),
            order_forms: vec![WireOrderForm {
                shipments,
                line_items: Vec::new(),
            }],
            properties: Vec::new(),
        }
    }

    #[test]
    fn lines_are_numbered_in_line_item_order_across_shipments() {
        let o = order(
            &po(
                "InProgress",
                vec![
                    shipment(2, "Released", vec![line(12, "B")]),
                    shipment(1, "Shipped", vec![line(11, "A")]),
                ],
            ),
            CustomerNumber::new("C1"),
        )
        .unwrap();
        let shape: Vec<(u32, &str)> = o
            .lines
            .iter()
            .map(|l| (l.line_no, l.sku.as_str()))
            .collect();
        assert_eq!(shape, [(10_000, "A"), (20_000, "B")]);
        assert_eq!(o.status, OrderStatus::PartiallyShipped);
        assert_eq!(o.shipments.len(), 1);
        assert_eq!(o.shipments[0].number, "1");
        assert_eq!(o.shipments[0].carrier, "PostNord");
        assert_eq!(o.shipments[0].shipped_at, o.placed_at);
    }

    #[test]
    fn order_statuses_follow_the_order_and_its_shipments() {
        let s = |st| vec![shipment(1, st, vec![line(1, "A")])];
        assert_eq!(
            order_status(&po("Completed", s("Shipped"))),
            OrderStatus::Shipped
        );
        assert_eq!(
            order_status(&po("Cancelled", s("Cancelled"))),
            OrderStatus::Cancelled
        );
        assert_eq!(
            order_status(&po("InProgress", s("AwaitingInventory"))),
            OrderStatus::Open
        );
        assert_eq!(
            order_status(&po("OnHold", s("Shipped"))),
            OrderStatus::Shipped
        );
        assert_eq!(
            order_status(&po("PartiallyShipped", s("Shipped"))),
            OrderStatus::PartiallyShipped
        );
    }

    #[test]
    fn shipment_meta_fields_give_number_carrier_and_tracking_url() {
        let mut s = shipment(1, "Shipped", vec![line(1, "A")]);
        s.properties = vec![
            PropertyItem {
                key: SHIPMENT_NUMBER.into(),
                value: Some("SH0000007".into()),
            },
            PropertyItem {
                key: SHIPMENT_TRACKING_URL.into(),
                value: Some("https://track.example/?id={0}".into()),
            },
            PropertyItem {
                key: SHIPMENT_SHIPPED_DATE.into(),
                value: Some("2024-01-02T10:00:00Z".into()),
            },
        ];
        let mut p = po("Completed", vec![s]);
        p.properties = vec![
            PropertyItem {
                key: ORDER_SALES_CHANNEL.into(),
                value: Some("store".into()),
            },
            PropertyItem {
                key: ORDER_STORE_CODE.into(),
                value: Some("DK-CPH".into()),
            },
        ];
        let o = order(&p, CustomerNumber::new("C1")).unwrap();
        assert_eq!(o.shipments[0].number, "SH0000007");
        assert_eq!(o.shipments[0].tracking_url, "https://track.example/?id=PO1");
        assert_eq!(o.channel, Some(Channel::Store));
        assert_eq!(o.store, Some(LocationId::new("DK-CPH")));
        let mut bad = p.clone();
        bad.billing_currency = "kroner".into();
        assert!(order(&bad, CustomerNumber::new("C1")).is_err());
    }
}

#[cfg(test)]
mod journey_tests {
    use super::*;

    #[test]
    fn offer_numbers_round_trip_and_depend_on_customer_and_key() {
        let c = CustomerNumber::new("C0000042");
        let n = OfferNumber::new(&c, Currency::DKK, "key-1");
        let text = n.to_string();
        assert!(
            text.starts_with("OF") && text.ends_with("-DKK-C0000042"),
            "{text}"
        );
        assert_eq!(OfferNumber::parse(&text), Some(n.clone()));
        assert_eq!(n, OfferNumber::new(&c, Currency::DKK, "key-1"));
        assert_ne!(n.key, OfferNumber::new(&c, Currency::DKK, "key-2").key);
        assert_ne!(
            n.key,
            OfferNumber::new(&CustomerNumber::new("C0000043"), Currency::DKK, "key-1").key
        );
        assert_eq!(n.cart_name(), format!("Offer-OF{}", n.key));
        assert_eq!(OfferNumber::parse("SO0000001"), None);
        assert_eq!(OfferNumber::parse("OFXYZ-DKK-C1"), None);
        assert_eq!(OfferNumber::parse("OF0123456789-12-C1"), None);
    }
}
