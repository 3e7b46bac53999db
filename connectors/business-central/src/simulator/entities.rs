//! The world's ERP slice as Business Central entities: the standard `salesOrders` (with lines,
//! item variants and locations) and the Samlet extension's custom pages. Rows are generated on
//! demand from world indexes: a filter that pins a key field (customer, item or order number,
//! e-mail, phone) is answered by index lookups, anything else by scanning in index order.

use super::journal::{DocLine, Journal, PlacedOrder, Quote};
use super::odata::{Expr, FilterExt, Nav};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use samlet_connector::context::{Currency, PriceChannel};
use samlet_connector::ids::{CustomerNumber, OrderNumber, ProductId, Sku};
use samlet_connector::model::{normalize_phone, CustomerKind, LocationKind, OrderStatus};
use samlet_testkit::world::{CustomerSlice, World, B2B_GROUP, CURRENCIES};
use serde_json::{json, Value};

/// The simulated company's local currency: documents in it carry a blank currency code.
pub const LCY: Currency = Currency::DKK;

/// Which API route an entity set is published on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// `/api/v2.0`.
    Standard,
    /// The extension's `/api/samlet/commerce/v1.0`.
    Custom,
}

/// What the simulator serves: the world, with what was written through the API on top.
pub struct Db<'a> {
    /// The world.
    pub world: &'a World,
    /// The writes.
    pub journal: &'a Journal,
}

/// Where a filter's rows come from.
pub enum Rows {
    /// The filter pinned a key: exactly these candidates.
    Candidates(Vec<Value>),
    /// Scan groups `0..n` (one per world index) in order.
    Scan(u64),
}

/// One entity set.
pub struct EntitySet {
    /// Entity set name in the URL.
    pub name: &'static str,
    /// Entity type name (for error messages).
    pub type_name: &'static str,
    /// The route publishing it.
    pub route: Route,
    /// Its structural properties (filterable, selectable, sortable).
    pub fields: &'static [&'static str],
    /// Text fields with a maximum length, for Business Central's filter length check.
    pub lengths: &'static [(&'static str, usize)],
    /// Its navigation properties.
    pub navs: &'static [Nav],
    lookup: fn(&Db, &Expr) -> Option<Vec<Value>>,
    groups: fn(&Db) -> u64,
    group: fn(&Db, u64) -> Vec<Value>,
}

impl EntitySet {
    /// The rows a filter can match.
    pub fn rows(&self, db: &Db, filter: Option<&Expr>) -> Rows {
        match filter.and_then(|f| (self.lookup)(db, f)) {
            Some(rows) => Rows::Candidates(rows),
            None => Rows::Scan((self.groups)(db)),
        }
    }

    /// The rows of scan group `g`.
    pub fn group(&self, db: &Db, g: u64) -> Vec<Value> {
        (self.group)(db, g)
    }
}

/// Every entity set the simulator serves.
pub fn entity_set(route: Route, name: &str) -> Option<&'static EntitySet> {
    SETS.iter().find(|s| s.route == route && s.name == name)
}

static LINE_NAVS: [Nav; 2] = [
    Nav {
        name: "itemVariant",
        navs: &[],
    },
    Nav {
        name: "location",
        navs: &[],
    },
];

static QUOTE_LINE_NAVS: [Nav; 1] = [Nav {
    name: "location",
    navs: &[],
}];

/// Fields of a standard v2.0 `salesQuote`.
pub const QUOTE_FIELDS: &[&str] = &[
    "id",
    "number",
    "externalDocumentNumber",
    "documentDate",
    "dueDate",
    "customerId",
    "customerNumber",
    "customerName",
    "currencyCode",
    "salesperson",
    "discountAmount",
    "totalAmountExcludingTax",
    "totalTaxAmount",
    "totalAmountIncludingTax",
    "status",
    "validUntilDate",
    "lastModifiedDateTime",
    "email",
];

/// Fields of a standard v2.0 `salesOrder`.
pub const ORDER_FIELDS: &[&str] = &[
    "id",
    "number",
    "externalDocumentNumber",
    "orderDate",
    "postingDate",
    "customerId",
    "customerNumber",
    "customerName",
    "shipToName",
    "shipToAddressLine1",
    "shipToAddressLine2",
    "shipToCity",
    "shipToCountry",
    "shipToPostCode",
    "currencyCode",
    "pricesIncludeTax",
    "totalAmountExcludingTax",
    "totalTaxAmount",
    "totalAmountIncludingTax",
    "fullyShipped",
    "status",
    "lastModifiedDateTime",
    "email",
];

static SETS: [EntitySet; 9] = [
    EntitySet {
        name: "salesOrders",
        type_name: "salesOrder",
        route: Route::Standard,
        fields: ORDER_FIELDS,
        lengths: &[
            ("number", 20),
            ("customerNumber", 20),
            ("externalDocumentNumber", 35),
        ],
        navs: &[Nav {
            name: "salesOrderLines",
            navs: &LINE_NAVS,
        }],
        lookup: |db, f| orders_lookup(db, f, sales_order),
        groups: order_groups,
        group: |db, g| sales_order(db, g).into_iter().collect(),
    },
    EntitySet {
        name: "salesQuotes",
        type_name: "salesQuote",
        route: Route::Standard,
        fields: QUOTE_FIELDS,
        lengths: &[
            ("number", 20),
            ("customerNumber", 20),
            ("externalDocumentNumber", 35),
        ],
        navs: &[Nav {
            name: "salesQuoteLines",
            navs: &QUOTE_LINE_NAVS,
        }],
        lookup: |db, f| quotes_lookup(db, f, |db, q| q.live().then(|| sales_quote(db.world, q))),
        groups: |db| db.journal.quotes.len() as u64,
        group: |db, g| {
            db.journal
                .quotes
                .get(g as usize)
                .filter(|q| q.live())
                .map(|q| sales_quote(db.world, q))
                .into_iter()
                .collect()
        },
    },
    EntitySet {
        name: "itemVariants",
        type_name: "itemVariant",
        route: Route::Standard,
        fields: &["id", "itemId", "itemNumber", "code", "description"],
        lengths: &[("itemNumber", 20), ("code", 10)],
        navs: &[],
        lookup: variants_lookup,
        groups: |db| u64::from(db.world.product_count()),
        group: |db, g| variant_rows(db.world, g as u32),
    },
    EntitySet {
        name: "customers",
        type_name: "customer",
        route: Route::Custom,
        fields: &[
            "id",
            "number",
            "displayName",
            "type",
            "firstName",
            "lastName",
            "addressLine1",
            "addressLine2",
            "city",
            "state",
            "country",
            "postalCode",
            "phoneNumber",
            "email",
            "customerPriceGroup",
            "lastModifiedDateTime",
        ],
        lengths: &[("number", 20), ("email", 80), ("phoneNumber", 30)],
        navs: &[],
        lookup: |db, f| customers_lookup(db.world, f),
        groups: |db| u64::from(db.world.customer_count()),
        group: |db, g| customer(db.world, g as u32).into_iter().collect(),
    },
    EntitySet {
        name: "itemPrices",
        type_name: "itemPrice",
        route: Route::Custom,
        fields: &[
            "id",
            "itemNumber",
            "itemId",
            "variantCode",
            "itemVariantId",
            "priceChannel",
            "currencyCode",
            "customerPriceGroup",
            "unitPrice",
            "regularUnitPrice",
            "priceIncludesTax",
        ],
        lengths: &[
            ("itemNumber", 20),
            ("variantCode", 10),
            ("customerPriceGroup", 10),
        ],
        navs: &[],
        lookup: |db, f| items_lookup(db, f, price_rows),
        groups: |db| u64::from(db.world.product_count()),
        group: |db, g| price_rows(db, g as u32),
    },
    EntitySet {
        name: "itemStockByLocation",
        type_name: "itemStockByLocation",
        route: Route::Custom,
        fields: &[
            "itemNumber",
            "variantCode",
            "locationCode",
            "inventory",
            "reservedQuantity",
        ],
        lengths: &[
            ("itemNumber", 20),
            ("variantCode", 10),
            ("locationCode", 10),
        ],
        navs: &[],
        lookup: |db, f| items_lookup(db, f, stock_rows),
        groups: |db| u64::from(db.world.product_count()),
        group: |db, g| stock_rows(db, g as u32),
    },
    EntitySet {
        name: "locations",
        type_name: "location",
        route: Route::Custom,
        fields: &[
            "id",
            "code",
            "displayName",
            "contact",
            "addressLine1",
            "addressLine2",
            "city",
            "state",
            "country",
            "postalCode",
            "phoneNumber",
            "email",
            "website",
            "locationType",
            "clickAndCollect",
            "lastModifiedDateTime",
        ],
        lengths: &[("code", 10)],
        navs: &[],
        lookup: |_, _| None,
        groups: |_| 1,
        group: |db, _| location_rows(db.world),
    },
    EntitySet {
        name: "salesOrderTracking",
        type_name: "salesOrderTracking",
        route: Route::Custom,
        fields: &[
            "id",
            "number",
            "externalDocumentNumber",
            "customerNumber",
            "placedAt",
            "salesChannel",
            "storeCode",
            "fulfilment",
            "quoteNumber",
            "cancelled",
        ],
        lengths: &[
            ("number", 20),
            ("customerNumber", 20),
            ("externalDocumentNumber", 35),
        ],
        navs: &[Nav {
            name: "shipments",
            navs: &[],
        }],
        lookup: |db, f| orders_lookup(db, f, order_tracking),
        groups: order_groups,
        group: |db, g| order_tracking(db, g).into_iter().collect(),
    },
    EntitySet {
        name: "salesQuoteTracking",
        type_name: "salesQuoteTracking",
        route: Route::Custom,
        fields: QUOTE_TRACKING_FIELDS,
        lengths: &[
            ("quoteNumber", 20),
            ("externalDocumentNumber", 35),
            ("orderNumber", 20),
            ("conversionKey", 35),
        ],
        navs: &[],
        lookup: |db, f| quotes_lookup(db, f, |db, q| Some(quote_tracking(db.world, q))),
        groups: |db| db.journal.quotes.len() as u64,
        group: |db, g| {
            db.journal
                .quotes
                .get(g as usize)
                .map(|q| quote_tracking(db.world, q))
                .into_iter()
                .collect()
        },
    },
];

/// Fields of the extension's `salesQuoteTracking` page.
pub const QUOTE_TRACKING_FIELDS: &[&str] = &[
    "id",
    "quoteNumber",
    "externalDocumentNumber",
    "customerNumber",
    "storeCode",
    "createdBy",
    "salesChannel",
    "createdAt",
    "validUntilDate",
    "pricesIncludeTax",
    "status",
    "orderNumber",
    "convertedAt",
    "conversionKey",
];

// ---------------------------------------------------------------------------------------------
// Helpers.

/// A deterministic GUID for entity `kind` number `index`.
fn guid(kind: u32, index: u64) -> String {
    format!("{kind:08x}-0000-4000-8000-{index:012x}")
}

/// A weak ETag in Business Central's style.
fn etag(kind: u32, index: u64) -> String {
    format!("W/\"JzE5OzE{kind:x}{index:x}MTsn\"")
}

/// A JSON number with the decimal's exact digits, as Business Central writes decimals.
fn num(d: Decimal) -> Value {
    serde_json::from_str::<serde_json::Number>(&d.normalize().to_string())
        .map(Value::Number)
        .unwrap_or_else(|_| json!(d.to_f64().unwrap_or(0.0)))
}

fn texts(values: Vec<Value>) -> Vec<String> {
    values
        .into_iter()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect()
}

/// A world SKU `P000042-OAK` as item number and variant code.
/// Item No. and Variant Code of a SKU.
pub fn split_sku(sku: &Sku) -> (&str, &str) {
    sku.as_str().split_once('-').unwrap_or((sku.as_str(), ""))
}

const K_CUSTOMER: u32 = 0x18;
const K_ORDER: u32 = 0x24;
const K_LINE: u32 = 0x25;
const K_SHIPMENT: u32 = 0x6e;
const K_ITEM: u32 = 0x1b;
const K_VARIANT: u32 = 0x1c;
const K_LOCATION: u32 = 0x0e;
const K_PRICE: u32 = 0x1b9;
const K_QUOTE: u32 = 0x26;

// ---------------------------------------------------------------------------------------------
// Customers.

fn customer(w: &World, i: u32) -> Option<Value> {
    let c = w.system_customer(CustomerSlice::Erp, i)?;
    let company = c.kind == CustomerKind::Company;
    let display = match (&c.company_name, company) {
        (Some(name), true) => name.clone(),
        _ => format!("{} {}", c.first_name, c.last_name),
    };
    Some(json!({
        "@odata.etag": etag(K_CUSTOMER, u64::from(i)),
        "id": guid(K_CUSTOMER, u64::from(i)),
        "number": c.number.as_str(),
        "displayName": display,
        "type": if company { "Company" } else { "Person" },
        "firstName": c.first_name,
        "lastName": c.last_name,
        "addressLine1": c.address.street,
        "addressLine2": "",
        "city": c.address.city,
        "state": "",
        "country": c.address.country,
        "postalCode": c.address.postal_code,
        "phoneNumber": c.phone.unwrap_or_default(),
        "email": c.email,
        "customerPriceGroup": c.customer_group.map(|g| g.0).unwrap_or_default(),
        "lastModifiedDateTime": c.updated_at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
    }))
}

fn customers_lookup(w: &World, f: &Expr) -> Option<Vec<Value>> {
    let indexes: Vec<u32> = if let Some(v) = f.pinned("id") {
        texts(v)
            .iter()
            .filter_map(|id| parse_guid(K_CUSTOMER, &id.to_ascii_lowercase()))
            .filter_map(|i| u32::try_from(i).ok())
            .collect()
    } else if let Some(v) = f.pinned("number") {
        texts(v)
            .iter()
            .filter_map(|n| w.customer_index(&CustomerNumber::new(n.as_str())))
            .collect()
    } else if let Some(v) = f.pinned("email") {
        texts(v)
            .iter()
            .filter_map(|e| w.customer_by_email(&e.trim().to_lowercase()))
            .collect()
    } else if let Some(v) = f.pinned("phoneNumber") {
        texts(v)
            .iter()
            .filter_map(|p| normalize_phone(p, "DK"))
            .filter_map(|p| w.customer_by_phone(&p))
            .collect()
    } else {
        return None;
    };
    let mut indexes = indexes;
    indexes.sort_unstable();
    indexes.dedup();
    Some(indexes.into_iter().filter_map(|i| customer(w, i)).collect())
}

// ---------------------------------------------------------------------------------------------
// Items: variants, prices and stock.

/// The SystemId of variant `v` of item `i` (the null GUID for an item without variants).
pub fn variant_guid(i: u32, v: u32) -> String {
    guid(K_VARIANT, (u64::from(i) << 8) | u64::from(v))
}

/// The SystemId of item `i`.
pub fn item_guid(i: u32) -> String {
    guid(K_ITEM, u64::from(i))
}

/// The item index behind an item SystemId.
pub fn item_of_guid(w: &World, id: &str) -> Option<u32> {
    let index = u32::try_from(parse_guid(K_ITEM, id)?).ok()?;
    (index < w.product_count()).then_some(index)
}

/// The item and variant index behind a variant SystemId.
pub fn variant_of_guid(w: &World, id: &str) -> Option<(u32, u32)> {
    let index = parse_guid(K_VARIANT, id)?;
    let (i, v) = ((index >> 8) as u32, (index & 0xff) as u32);
    (i < w.product_count() && (v as usize) < w.skus(i).len()).then_some((i, v))
}

/// The index of a GUID made by [`guid`] for `kind`.
fn parse_guid(kind: u32, id: &str) -> Option<u64> {
    let rest = id.strip_prefix(&format!("{kind:08x}-0000-4000-8000-"))?;
    (rest.len() == 12)
        .then(|| u64::from_str_radix(rest, 16).ok())
        .flatten()
}

fn variant_rows(w: &World, i: u32) -> Vec<Value> {
    if i >= w.product_count() {
        return Vec::new();
    }
    w.skus(i)
        .iter()
        .enumerate()
        .filter_map(|(v, sku)| {
            let (item, code) = split_sku(sku);
            (!code.is_empty()).then(|| {
                json!({
                    "@odata.etag": etag(K_VARIANT, (u64::from(i) << 8) | v as u64),
                    "id": variant_guid(i, v as u32),
                    "itemId": item_guid(i),
                    "itemNumber": item,
                    "code": code,
                    "description": variant_description(w, sku),
                })
            })
        })
        .collect()
}

fn variants_lookup(db: &Db, f: &Expr) -> Option<Vec<Value>> {
    let w = db.world;
    let mut pairs: Vec<(u32, u32)> = if let Some(v) = f.pinned("id") {
        texts(v)
            .iter()
            .filter_map(|id| variant_of_guid(w, id))
            .collect()
    } else if let Some(v) = f.pinned("itemNumber") {
        texts(v)
            .iter()
            .filter_map(|n| w.product_index(&ProductId::new(n.as_str())))
            .flat_map(|i| (0..w.skus(i).len() as u32).map(move |v| (i, v)))
            .collect()
    } else {
        return None;
    };
    pairs.sort_unstable();
    pairs.dedup();
    Some(
        pairs
            .into_iter()
            .flat_map(|(i, v)| {
                variant_rows(w, i)
                    .into_iter()
                    .filter(move |r| r["id"] == json!(variant_guid(i, v)))
            })
            .collect(),
    )
}

/// The English name of a variant, which Business Central copies into document lines.
pub fn variant_description(w: &World, sku: &Sku) -> String {
    let Some((i, _)) = w.sku_index(sku) else {
        return String::new();
    };
    w.product(i, "")
        .variants
        .into_iter()
        .find(|v| v.sku == *sku)
        .and_then(|v| {
            v.name
                .get(&samlet_connector::context::Locale::en_gb())
                .map(str::to_owned)
        })
        .unwrap_or_default()
}

fn items_lookup(db: &Db, f: &Expr, rows: fn(&Db, u32) -> Vec<Value>) -> Option<Vec<Value>> {
    let w = db.world;
    let mut items: Vec<u32> = texts(f.pinned("itemNumber")?)
        .iter()
        .filter_map(|n| w.product_index(&ProductId::new(n.as_str())))
        .collect();
    items.sort_unstable();
    items.dedup();
    Some(items.into_iter().flat_map(|i| rows(db, i)).collect())
}

fn price_rows(db: &Db, i: u32) -> Vec<Value> {
    let w = db.world;
    let b2b = samlet_connector::ids::CustomerGroup::new(B2B_GROUP);
    let mut out = Vec::new();
    for (v, sku) in w.skus(i).iter().enumerate() {
        let (item, variant) = split_sku(sku);
        for channel in [PriceChannel::Online, PriceChannel::Store] {
            for currency in CURRENCIES {
                for group in [None, Some(&b2b)] {
                    let Some(p) = w.price(sku, channel, currency, group) else {
                        continue;
                    };
                    let n = out.len() as u64 + (u64::from(i) << 8);
                    out.push(json!({
                        "@odata.etag": etag(K_PRICE, n),
                        "id": guid(K_PRICE, n),
                        "itemNumber": item,
                        "itemId": item_guid(i),
                        "variantCode": variant,
                        "itemVariantId": if variant.is_empty() { NULL_GUID.to_owned() } else { variant_guid(i, v as u32) },
                        "priceChannel": channel.as_str(),
                        "currencyCode": if currency == LCY { "" } else { currency.as_str() },
                        "customerPriceGroup": group.map(|g| g.as_str()).unwrap_or(""),
                        "unitPrice": num(p.amount.amount),
                        "regularUnitPrice": num(p.regular.map(|r| r.amount).unwrap_or(p.amount.amount)),
                        "priceIncludesTax": p.tax_included,
                    }));
                }
            }
        }
    }
    out
}

fn stock_rows(db: &Db, i: u32) -> Vec<Value> {
    let w = db.world;
    let mut out = Vec::new();
    for sku in w.skus(i) {
        let (item, variant) = split_sku(&sku);
        for level in w.stock(&sku).unwrap_or_default() {
            let extra = db.journal.reserved(sku.as_str(), level.location.as_str());
            out.push(json!({
                "itemNumber": item,
                "variantCode": variant,
                "locationCode": level.location.as_str(),
                "inventory": db.journal.on_hand(sku.as_str(), level.location.as_str(), level.on_hand),
                "reservedQuantity": level.reserved + extra,
            }));
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Locations.

fn location_rows(w: &World) -> Vec<Value> {
    w.locations()
        .iter()
        .enumerate()
        .map(|(n, l)| {
            json!({
                "@odata.etag": etag(K_LOCATION, n as u64),
                "id": guid(K_LOCATION, n as u64),
                "code": l.id.as_str(),
                "displayName": l.name,
                "contact": "",
                "addressLine1": l.address.street,
                "addressLine2": "",
                "city": l.address.city,
                "state": "",
                "country": l.address.country,
                "postalCode": l.address.postal_code,
                "phoneNumber": "",
                "email": "",
                "website": "",
                "locationType": match l.kind {
                    LocationKind::Store => "Store",
                    LocationKind::Warehouse => "Warehouse",
                },
                "clickAndCollect": l.click_and_collect,
                "lastModifiedDateTime": "2024-01-01T08:00:00Z",
            })
        })
        .collect()
}

fn location_ref(w: &World, code: &str) -> Value {
    let n = w
        .locations()
        .iter()
        .position(|l| l.id.as_str() == code)
        .unwrap_or(usize::MAX) as u64;
    json!({ "id": guid(K_LOCATION, n), "code": code })
}

/// The code of the location with SystemId `id`.
pub fn location_code_of_guid(w: &World, id: &str) -> Option<String> {
    let n = parse_guid(K_LOCATION, id)?;
    w.locations()
        .get(usize::try_from(n).ok()?)
        .map(|l| l.id.as_str().to_owned())
}

/// The null GUID Business Central writes for an empty reference.
pub const NULL_GUID: &str = "00000000-0000-0000-0000-000000000000";

// ---------------------------------------------------------------------------------------------
// Document lines (orders and quotes).

fn amounts(amount: Decimal, gross: bool) -> (Decimal, Decimal) {
    let vat = Decimal::new(125, 2);
    if gross {
        ((amount / vat).round_dp(2), amount)
    } else {
        (amount, (amount * vat).round_dp(2))
    }
}

/// A document line with its amounts. `doc` is the document's SystemId; `shipped` is `None`
/// for quote lines, which have no shipment fields.
fn line_json(
    w: &World,
    doc: &str,
    line_id: u64,
    l: &DocLine,
    gross: bool,
    shipped: Option<Decimal>,
    date: &str,
) -> (Value, Decimal, Decimal) {
    let (excl, incl) = amounts(l.amount(), gross);
    let sku = if l.variant.is_empty() {
        Sku::new(l.item.as_str())
    } else {
        Sku::new(format!("{}-{}", l.item, l.variant))
    };
    let (item_id, variant_id) = match w.sku_index(&sku) {
        Some((i, v)) => (
            item_guid(i),
            if l.variant.is_empty() {
                NULL_GUID.to_owned()
            } else {
                variant_guid(i, v)
            },
        ),
        None => (guid(K_ITEM, u64::MAX >> 16), NULL_GUID.to_owned()),
    };
    let location = (!l.location.is_empty()).then(|| location_ref(w, &l.location));
    let mut row = json!({
        "@odata.etag": etag(K_LINE, line_id),
        "id": guid(K_LINE, line_id),
        "documentId": doc,
        "sequence": l.sequence,
        "itemId": item_id,
        "accountId": NULL_GUID,
        "lineType": "Item",
        "lineObjectNumber": l.item,
        "description": l.description,
        "unitOfMeasureCode": "PCS",
        "quantity": num(l.quantity),
        "unitPrice": num(l.unit_price),
        "discountAmount": 0,
        "discountPercent": 0,
        "discountAppliedBeforeTax": false,
        "amountExcludingTax": num(excl),
        "taxCode": "VAT25",
        "taxPercent": 25,
        "totalTaxAmount": num(incl - excl),
        "amountIncludingTax": num(incl),
        "netAmount": num(excl),
        "netTaxAmount": num(incl - excl),
        "netAmountIncludingTax": num(incl),
        "itemVariantId": variant_id.clone(),
        "locationId": location.as_ref().and_then(|l| l.get("id").cloned()).unwrap_or(Value::String(NULL_GUID.to_owned())),
        "location": location.unwrap_or(Value::Null),
    });
    if let (Some(shipped), Some(obj)) = (shipped, row.as_object_mut()) {
        obj.insert("shipmentDate".into(), json!(date));
        obj.insert("shippedQuantity".into(), num(shipped));
        obj.insert("invoicedQuantity".into(), json!(0));
        obj.insert("invoiceQuantity".into(), json!(0));
        obj.insert("shipQuantity".into(), num(l.quantity - shipped));
        obj.insert(
            "itemVariant".into(),
            if l.variant.is_empty() {
                Value::Null
            } else {
                json!({ "id": variant_id, "itemNumber": l.item, "code": l.variant })
            },
        );
    }
    (row, excl, incl)
}

// ---------------------------------------------------------------------------------------------
// Orders.

fn order_groups(db: &Db) -> u64 {
    u64::from(db.world.order_count()) + db.journal.orders.len() as u64
}

/// The scan group of a placed order.
/// The SystemId of a placed order.
pub fn placed_order_guid(w: &World, o: &PlacedOrder) -> String {
    guid(K_ORDER, u64::from(w.order_count()) + o.seq)
}

fn placed_index(db: &Db, o: &PlacedOrder) -> u64 {
    u64::from(db.world.order_count()) + o.seq
}

fn orders_lookup(db: &Db, f: &Expr, row: fn(&Db, u64) -> Option<Value>) -> Option<Vec<Value>> {
    let w = db.world;
    let placed = &db.journal.orders;
    let mut orders: Vec<u64> = if let Some(v) = f.pinned("number") {
        texts(v)
            .iter()
            .filter_map(|n| match w.order_index(&OrderNumber::new(n.as_str())) {
                Some(j) => Some(u64::from(j)),
                None => db.journal.order(n).map(|o| placed_index(db, o)),
            })
            .collect()
    } else if let Some(v) = f.pinned("id") {
        let total = u64::from(w.order_count()) + placed.len() as u64;
        texts(v)
            .iter()
            .filter_map(|id| parse_guid(K_ORDER, &id.to_ascii_lowercase()))
            .filter(|&j| j < total)
            .collect()
    } else if let Some(v) = f.pinned("customerNumber") {
        let numbers = texts(v);
        let mut out: Vec<u64> = numbers
            .iter()
            .filter_map(|n| w.customer_index(&CustomerNumber::new(n.as_str())))
            .flat_map(|i| w.orders_of(i).iter().map(|&j| u64::from(j)))
            .collect();
        out.extend(
            placed
                .iter()
                .filter(|o| {
                    numbers
                        .iter()
                        .any(|n| *n == World::customer_number(o.customer).as_str())
                })
                .map(|o| placed_index(db, o)),
        );
        out
    } else if let Some(v) = f.pinned("externalDocumentNumber") {
        // The world's orders have no external document number.
        let refs = texts(v);
        if refs.iter().any(String::is_empty) {
            return None;
        }
        placed
            .iter()
            .filter(|o| {
                refs.iter()
                    .any(|r| r.eq_ignore_ascii_case(&o.external_document_number))
            })
            .map(|o| placed_index(db, o))
            .collect()
    } else {
        return None;
    };
    orders.sort_unstable();
    orders.dedup();
    Some(orders.into_iter().filter_map(|j| row(db, j)).collect())
}

fn timestamp(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

fn customer_name(c: &samlet_testkit::world::WorldCustomer) -> String {
    c.company_name
        .clone()
        .unwrap_or_else(|| format!("{} {}", c.first_name, c.last_name))
}

/// Order `j` (a world order below the world's count, a placed one above) as a standard v2.0
/// `salesOrder` with its lines (navigation properties embedded; the query strips what was
/// not expanded).
fn sales_order(db: &Db, j: u64) -> Option<Value> {
    let w = db.world;
    let count = u64::from(w.order_count());
    if j >= count {
        let o = db.journal.orders.get((j - count) as usize)?;
        return Some(placed_order(w, o, j));
    }
    let j = j as u32;
    let o = w.order(j);
    let ci = w.customer_index(&o.customer).unwrap_or(0);
    let c = w.customer(ci);
    // B2B customers are priced net; consumers with 25 % VAT included.
    let gross = c.customer_group.is_none();
    let partial_units = match (o.status, o.lines.as_slice()) {
        (OrderStatus::PartiallyShipped, [only]) if only.quantity > Decimal::ONE => {
            Some(only.quantity - Decimal::ONE)
        }
        _ => None,
    };
    let doc = guid(K_ORDER, u64::from(j));
    let date = o.placed_at.date_naive().to_string();
    let mut total_excl = Decimal::ZERO;
    let mut total_incl = Decimal::ZERO;
    let lines: Vec<Value> = o
        .lines
        .iter()
        .enumerate()
        .map(|(n, l)| {
            let shipped = match o.status {
                OrderStatus::Shipped => l.quantity,
                OrderStatus::PartiallyShipped if n == 0 && o.lines.len() > 1 => l.quantity,
                OrderStatus::PartiallyShipped if n == 0 => partial_units.unwrap_or(Decimal::ZERO),
                _ => Decimal::ZERO,
            };
            let (item, variant) = split_sku(&l.sku);
            let line = DocLine {
                sequence: l.line_no,
                item: item.to_owned(),
                variant: variant.to_owned(),
                description: l.description.clone(),
                quantity: l.quantity,
                unit_price: l.unit_price.amount,
                location: l
                    .location
                    .as_ref()
                    .map(|c| c.as_str().to_owned())
                    .unwrap_or_default(),
            };
            let line_id = (u64::from(j) << 3) | n as u64;
            let (row, excl, incl) = line_json(w, &doc, line_id, &line, gross, Some(shipped), &date);
            total_excl += excl;
            total_incl += incl;
            row
        })
        .collect();
    let fully = o.status == OrderStatus::Shipped;
    Some(json!({
        "@odata.etag": etag(K_ORDER, u64::from(j)),
        "id": doc,
        "number": o.number.as_str(),
        "externalDocumentNumber": "",
        "orderDate": date,
        "postingDate": date,
        "customerId": guid(K_CUSTOMER, u64::from(ci)),
        "customerNumber": o.customer.as_str(),
        "customerName": customer_name(&c),
        "shipToName": "",
        "shipToAddressLine1": "",
        "shipToAddressLine2": "",
        "shipToCity": "",
        "shipToCountry": "",
        "shipToPostCode": "",
        "currencyCode": if o.currency == LCY { "" } else { o.currency.as_str() },
        "pricesIncludeTax": gross,
        "totalAmountExcludingTax": num(total_excl),
        "totalTaxAmount": num(total_incl - total_excl),
        "totalAmountIncludingTax": num(total_incl),
        "fullyShipped": fully,
        "status": if o.status == OrderStatus::Open || o.status == OrderStatus::Cancelled { "Open" } else { "Released" },
        "lastModifiedDateTime": timestamp(o.shipments.last().map(|s| s.shipped_at).unwrap_or(o.placed_at)),
        "email": c.email,
        "salesOrderLines": lines,
    }))
}

/// A placed order as a standard v2.0 `salesOrder`.
pub fn placed_order(w: &World, o: &PlacedOrder, index: u64) -> Value {
    let c = w.customer(o.customer);
    let doc = guid(K_ORDER, index);
    let date = o.placed_at.date_naive().to_string();
    let mut total_excl = Decimal::ZERO;
    let mut total_incl = Decimal::ZERO;
    let lines: Vec<Value> = o
        .lines
        .iter()
        .enumerate()
        .map(|(n, l)| {
            let line_id = (index << 3) | n as u64;
            let shipped = if o.shipment.is_some() {
                l.quantity
            } else {
                Decimal::ZERO
            };
            let (row, excl, incl) = line_json(w, &doc, line_id, l, o.gross, Some(shipped), &date);
            total_excl += excl;
            total_incl += incl;
            row
        })
        .collect();
    json!({
        "@odata.etag": format!("W/\"JzE5OzE{K_ORDER:x}{index:x}v{}MTsn\"", o.version),
        "id": doc,
        "number": o.number,
        "externalDocumentNumber": o.external_document_number,
        "orderDate": date,
        "postingDate": date,
        "customerId": guid(K_CUSTOMER, u64::from(o.customer)),
        "customerNumber": World::customer_number(o.customer).as_str(),
        "customerName": customer_name(&c),
        "shipToName": o.ship_to.name,
        "shipToAddressLine1": o.ship_to.address_line1,
        "shipToAddressLine2": o.ship_to.address_line2,
        "shipToCity": o.ship_to.city,
        "shipToCountry": o.ship_to.country,
        "shipToPostCode": o.ship_to.post_code,
        "currencyCode": if o.currency == LCY { "" } else { o.currency.as_str() },
        "pricesIncludeTax": o.gross,
        "totalAmountExcludingTax": num(total_excl),
        "totalTaxAmount": num(total_incl - total_excl),
        "totalAmountIncludingTax": num(total_incl),
        "fullyShipped": o.shipment.is_some(),
        "status": if o.shipment.is_some() { "Released" } else { "Open" },
        "lastModifiedDateTime": timestamp(o.shipment.as_ref().map(|s| s.shipped_at).unwrap_or(o.placed_at)),
        "email": c.email,
        "salesOrderLines": lines,
    })
}

/// Order `j` as the extension's `salesOrderTracking` row.
fn order_tracking(db: &Db, j: u64) -> Option<Value> {
    let w = db.world;
    let count = u64::from(w.order_count());
    if j >= count {
        let o = db.journal.orders.get((j - count) as usize)?;
        return Some(placed_tracking(o, j));
    }
    let j = j as u32;
    let o = w.order(j);
    let shipments: Vec<Value> = o
        .shipments
        .iter()
        .enumerate()
        .map(|(n, s)| {
            let id = (u64::from(j) << 2) | n as u64;
            let address = match s.tracking_url.strip_suffix(&s.tracking_number) {
                Some(prefix) => format!("{prefix}%1"),
                None => s.tracking_url.clone(),
            };
            json!({
                "@odata.etag": etag(K_SHIPMENT, id),
                "id": guid(K_SHIPMENT, id),
                "number": s.number,
                "shippedAt": timestamp(s.shipped_at),
                "shippingAgentCode": s.carrier.to_uppercase().chars().take(10).collect::<String>(),
                "shippingAgentName": s.carrier,
                "packageTrackingNumber": s.tracking_number,
                "shippingAgentInternetAddress": address,
            })
        })
        .collect();
    Some(json!({
        "@odata.etag": etag(K_ORDER, u64::from(j)),
        "id": guid(K_ORDER, u64::from(j)),
        "number": o.number.as_str(),
        "externalDocumentNumber": "",
        "customerNumber": o.customer.as_str(),
        "placedAt": timestamp(o.placed_at),
        "salesChannel": o.channel.map(|c| c.as_str()).unwrap_or(""),
        "storeCode": o.store.as_ref().map(|s| s.as_str()).unwrap_or(""),
        "fulfilment": "",
        "quoteNumber": "",
        "cancelled": o.status == OrderStatus::Cancelled,
        "shipments": shipments,
    }))
}

/// A placed order's `salesOrderTracking` row.
pub fn placed_tracking(o: &PlacedOrder, index: u64) -> Value {
    json!({
        "@odata.etag": format!("W/\"JzE5OzE{K_ORDER:x}{index:x}v{}MTsn\"", o.version),
        "id": guid(K_ORDER, index),
        "number": o.number,
        "externalDocumentNumber": o.external_document_number,
        "customerNumber": World::customer_number(o.customer).as_str(),
        "placedAt": timestamp(o.placed_at),
        "salesChannel": o.channel,
        "storeCode": o.store,
        "fulfilment": o.fulfilment,
        "quoteNumber": o.quote_number,
        "cancelled": false,
        "shipments": o.shipment.iter().map(|s| json!({
            "@odata.etag": format!("W/\"JzE5OzE{K_SHIPMENT:x}{index:x}MTsn\""),
            "id": guid(K_SHIPMENT, index << 2),
            "number": s.number,
            "shippedAt": timestamp(s.shipped_at),
            "shippingAgentCode": s.carrier.to_uppercase().chars().take(10).collect::<String>(),
            "shippingAgentName": s.carrier,
            "packageTrackingNumber": s.tracking_number,
            "shippingAgentInternetAddress": s.tracking_address,
        })).collect::<Vec<_>>(),
    })
}

/// The scan index of a placed order's SystemId (for `salesOrderTracking({id})`).
pub fn placed_order_of_guid(w: &World, id: &str) -> Option<usize> {
    let index = parse_guid(K_ORDER, id)?;
    let count = u64::from(w.order_count());
    (index >= count).then(|| (index - count) as usize)
}

// ---------------------------------------------------------------------------------------------
// Quotes.

/// The SystemId of a quote.
pub fn quote_guid(q: &Quote) -> String {
    guid(K_QUOTE, q.seq)
}

/// The quote with SystemId `id`.
pub fn quote_of_guid(id: &str) -> Option<usize> {
    parse_guid(K_QUOTE, id).and_then(|n| usize::try_from(n).ok())
}

fn quote_etag(q: &Quote) -> String {
    format!("W/\"JzE5OzE{K_QUOTE:x}{:x}v{}MTsn\"", q.seq, q.version)
}

fn quotes_lookup(db: &Db, f: &Expr, row: fn(&Db, &Quote) -> Option<Value>) -> Option<Vec<Value>> {
    let quotes = &db.journal.quotes;
    let pick = |field: &str, value: fn(&Quote) -> &str| -> Option<Vec<Value>> {
        let wanted = texts(f.pinned(field)?);
        Some(
            quotes
                .iter()
                .filter(|q| wanted.iter().any(|w| w.eq_ignore_ascii_case(value(q))))
                .filter_map(|q| row(db, q))
                .collect(),
        )
    };
    pick("number", |q| &q.number)
        .or_else(|| pick("quoteNumber", |q| &q.number))
        .or_else(|| pick("externalDocumentNumber", |q| &q.external_document_number))
}

/// A quote as a standard v2.0 `salesQuote` with its lines.
pub fn sales_quote(w: &World, q: &Quote) -> Value {
    let c = w.customer(q.customer);
    let doc = quote_guid(q);
    let date = q.document_date.to_string();
    let mut total_excl = Decimal::ZERO;
    let mut total_incl = Decimal::ZERO;
    let lines: Vec<Value> = q
        .lines
        .iter()
        .enumerate()
        .map(|(n, l)| {
            let line_id = (1u64 << 40) | (q.seq << 8) | n as u64;
            let (row, excl, incl) = line_json(w, &doc, line_id, l, q.gross, None, &date);
            total_excl += excl;
            total_incl += incl;
            row
        })
        .collect();
    json!({
        "@odata.etag": quote_etag(q),
        "id": doc,
        "number": q.number,
        "externalDocumentNumber": q.external_document_number,
        "documentDate": date,
        "dueDate": date,
        "customerId": guid(K_CUSTOMER, u64::from(q.customer)),
        "customerNumber": World::customer_number(q.customer).as_str(),
        "customerName": customer_name(&c),
        "currencyCode": if q.currency == LCY { "" } else { q.currency.as_str() },
        "salesperson": q.salesperson,
        "discountAmount": 0,
        "totalAmountExcludingTax": num(total_excl),
        "totalTaxAmount": num(total_incl - total_excl),
        "totalAmountIncludingTax": num(total_incl),
        "status": "Draft",
        "validUntilDate": q.valid_until.map(|d| d.to_string()).unwrap_or_else(|| "0001-01-01".into()),
        "lastModifiedDateTime": timestamp(q.converted_at.unwrap_or(q.created_at)),
        "email": c.email,
        "salesQuoteLines": lines,
    })
}

/// A quote's row of the extension's `salesQuoteTracking` page (the quote log, which outlives
/// the quote). Its key is the quote's SystemId.
pub fn quote_tracking(w: &World, q: &Quote) -> Value {
    let today = Journal::today(w);
    json!({
        "@odata.etag": quote_etag(q),
        "id": quote_guid(q),
        "quoteNumber": q.number,
        "externalDocumentNumber": q.external_document_number,
        "customerNumber": World::customer_number(q.customer).as_str(),
        "storeCode": q.store,
        "createdBy": q.created_by,
        "salesChannel": q.channel,
        "createdAt": timestamp(q.created_at),
        "validUntilDate": q.valid_until.map(|d| d.to_string()).unwrap_or_else(|| "0001-01-01".into()),
        "pricesIncludeTax": q.gross,
        "status": q.status(today),
        "orderNumber": q.order_number.clone().unwrap_or_default(),
        "convertedAt": q.converted_at.map(timestamp).unwrap_or_else(|| "0001-01-01T00:00:00Z".into()),
        "conversionKey": q.conversion_key,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use samlet_testkit::world::WorldConfig;

    #[test]
    fn rows_carry_exactly_the_declared_fields_and_navigations() {
        let w = World::new(WorldConfig::default());
        let mut journal = Journal::default();
        let line = DocLine {
            sequence: 10_000,
            item: "P000001".into(),
            variant: split_sku(&w.skus(1)[0]).1.to_owned(),
            description: "x".into(),
            quantity: Decimal::ONE,
            unit_price: Decimal::TEN,
            location: "DK-CPH".into(),
        };
        journal.quotes.push(Quote {
            seq: 0,
            number: "SQ0000001".into(),
            external_document_number: "K".into(),
            customer: 1,
            currency: LCY,
            gross: true,
            lines: vec![line.clone()],
            document_date: w.now().date_naive(),
            valid_until: None,
            created_at: w.now(),
            salesperson: String::new(),
            store: String::new(),
            created_by: String::new(),
            channel: String::new(),
            conversion_key: String::new(),
            order_number: None,
            converted_at: None,
            version: 1,
        });
        let db = Db {
            world: &w,
            journal: &journal,
        };
        for set in &SETS {
            let rows = (0..50u64)
                .flat_map(|g| set.group(&db, g))
                .take(3)
                .collect::<Vec<_>>();
            assert!(!rows.is_empty(), "{}", set.name);
            for row in rows {
                let keys: Vec<&String> = row
                    .as_object()
                    .unwrap()
                    .keys()
                    .filter(|k| {
                        !k.starts_with('@') && !set.navs.iter().any(|n| n.name == k.as_str())
                    })
                    .collect();
                for k in &keys {
                    assert!(
                        set.fields.contains(&k.as_str()),
                        "{}: undeclared field {k}",
                        set.name
                    );
                }
                for f in set.fields {
                    assert!(row.get(*f).is_some(), "{}: missing field {f}", set.name);
                }
            }
        }
    }

    #[test]
    fn variant_ids_round_trip() {
        let w = World::new(WorldConfig::default());
        let id = variant_guid(42, 1);
        assert_eq!(variant_of_guid(&w, &id), Some((42, 1)));
        assert_eq!(variant_of_guid(&w, NULL_GUID), None);
        let loc = location_ref(&w, "DK-CPH");
        assert_eq!(
            location_code_of_guid(&w, loc["id"].as_str().unwrap()).as_deref(),
            Some("DK-CPH")
        );
    }

    #[test]
    fn decimals_are_written_with_their_exact_digits() {
        assert_eq!(num(Decimal::new(849915, 2)).to_string(), "8499.15");
        assert_eq!(num(Decimal::new(129900, 2)).to_string(), "1299");
    }
}
