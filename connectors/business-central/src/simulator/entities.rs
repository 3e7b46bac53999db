//! The world's ERP slice as Business Central entities: the standard `salesOrders` (with lines,
//! item variants and locations) and the Samlet extension's custom pages. Rows are generated on
//! demand from world indexes: a filter that pins a key field (customer, item or order number,
//! e-mail, phone) is answered by index lookups, anything else by scanning in index order.

use super::odata::{Expr, Nav};
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
    lookup: fn(&World, &Expr) -> Option<Vec<Value>>,
    groups: fn(&World) -> u64,
    group: fn(&World, u64) -> Vec<Value>,
}

impl EntitySet {
    /// The rows a filter can match.
    pub fn rows(&self, world: &World, filter: Option<&Expr>) -> Rows {
        match filter.and_then(|f| (self.lookup)(world, f)) {
            Some(rows) => Rows::Candidates(rows),
            None => Rows::Scan((self.groups)(world)),
        }
    }

    /// The rows of scan group `g`.
    pub fn group(&self, world: &World, g: u64) -> Vec<Value> {
        (self.group)(world, g)
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

static SETS: [EntitySet; 6] = [
    EntitySet {
        name: "salesOrders",
        type_name: "salesOrder",
        route: Route::Standard,
        fields: &[
            "id",
            "number",
            "externalDocumentNumber",
            "orderDate",
            "postingDate",
            "customerId",
            "customerNumber",
            "customerName",
            "currencyCode",
            "pricesIncludeTax",
            "totalAmountExcludingTax",
            "totalTaxAmount",
            "totalAmountIncludingTax",
            "fullyShipped",
            "status",
            "lastModifiedDateTime",
            "email",
        ],
        lengths: &[("number", 20), ("customerNumber", 20)],
        navs: &[Nav {
            name: "salesOrderLines",
            navs: &LINE_NAVS,
        }],
        lookup: |w, f| orders_lookup(w, f, sales_order),
        groups: |w| u64::from(w.order_count()),
        group: |w, g| vec![sales_order(w, g as u32)],
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
        lookup: customers_lookup,
        groups: |w| u64::from(w.customer_count()),
        group: |w, g| customer(w, g as u32).into_iter().collect(),
    },
    EntitySet {
        name: "itemPrices",
        type_name: "itemPrice",
        route: Route::Custom,
        fields: &[
            "id",
            "itemNumber",
            "variantCode",
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
        lookup: |w, f| items_lookup(w, f, price_rows),
        groups: |w| u64::from(w.product_count()),
        group: |w, g| price_rows(w, g as u32),
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
        lookup: |w, f| items_lookup(w, f, stock_rows),
        groups: |w| u64::from(w.product_count()),
        group: |w, g| stock_rows(w, g as u32),
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
        group: |w, _| location_rows(w),
    },
    EntitySet {
        name: "salesOrderTracking",
        type_name: "salesOrderTracking",
        route: Route::Custom,
        fields: &[
            "id",
            "number",
            "customerNumber",
            "placedAt",
            "salesChannel",
            "storeCode",
            "cancelled",
        ],
        lengths: &[("number", 20), ("customerNumber", 20)],
        navs: &[Nav {
            name: "shipments",
            navs: &[],
        }],
        lookup: |w, f| orders_lookup(w, f, order_tracking),
        groups: |w| u64::from(w.order_count()),
        group: |w, g| vec![order_tracking(w, g as u32)],
    },
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
fn split_sku(sku: &Sku) -> (&str, &str) {
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
    let indexes: Vec<u32> = if let Some(v) = f.pinned("number") {
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
// Items: prices and stock.

fn items_lookup(w: &World, f: &Expr, rows: fn(&World, u32) -> Vec<Value>) -> Option<Vec<Value>> {
    let mut items: Vec<u32> = texts(f.pinned("itemNumber")?)
        .iter()
        .filter_map(|n| w.product_index(&ProductId::new(n.as_str())))
        .collect();
    items.sort_unstable();
    items.dedup();
    Some(items.into_iter().flat_map(|i| rows(w, i)).collect())
}

fn price_rows(w: &World, i: u32) -> Vec<Value> {
    let b2b = samlet_connector::ids::CustomerGroup::new(B2B_GROUP);
    let mut out = Vec::new();
    for sku in w.skus(i) {
        let (item, variant) = split_sku(&sku);
        for channel in [PriceChannel::Online, PriceChannel::Store] {
            for currency in CURRENCIES {
                for group in [None, Some(&b2b)] {
                    let Some(p) = w.price(&sku, channel, currency, group) else {
                        continue;
                    };
                    let n = out.len() as u64 + (u64::from(i) << 8);
                    out.push(json!({
                        "@odata.etag": etag(K_PRICE, n),
                        "id": guid(K_PRICE, n),
                        "itemNumber": item,
                        "variantCode": variant,
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

fn stock_rows(w: &World, i: u32) -> Vec<Value> {
    let mut out = Vec::new();
    for sku in w.skus(i) {
        let (item, variant) = split_sku(&sku);
        for level in w.stock(&sku).unwrap_or_default() {
            out.push(json!({
                "itemNumber": item,
                "variantCode": variant,
                "locationCode": level.location.as_str(),
                "inventory": level.on_hand,
                "reservedQuantity": level.reserved,
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

// ---------------------------------------------------------------------------------------------
// Orders.

fn orders_lookup(w: &World, f: &Expr, row: fn(&World, u32) -> Value) -> Option<Vec<Value>> {
    let mut orders: Vec<u32> = if let Some(v) = f.pinned("number") {
        texts(v)
            .iter()
            .filter_map(|n| w.order_index(&OrderNumber::new(n.as_str())))
            .collect()
    } else if let Some(v) = f.pinned("customerNumber") {
        texts(v)
            .iter()
            .filter_map(|n| w.customer_index(&CustomerNumber::new(n.as_str())))
            .flat_map(|i| w.orders_of(i).iter().copied())
            .collect()
    } else {
        return None;
    };
    orders.sort_unstable();
    orders.dedup();
    Some(orders.into_iter().map(|j| row(w, j)).collect())
}

fn timestamp(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

/// Order `j` as a standard v2.0 `salesOrder` with its lines (navigation properties embedded;
/// the query strips what was not expanded).
fn sales_order(w: &World, j: u32) -> Value {
    let o = w.order(j);
    let ci = w.customer_index(&o.customer).unwrap_or(0);
    let c = w.customer(ci);
    // B2B customers are priced net; consumers with 25 % VAT included.
    let gross = c.customer_group.is_none();
    let vat = Decimal::new(125, 2);
    let partial_units = match (o.status, o.lines.as_slice()) {
        (OrderStatus::PartiallyShipped, [only]) if only.quantity > Decimal::ONE => {
            Some(only.quantity - Decimal::ONE)
        }
        _ => None,
    };
    let mut total_excl = Decimal::ZERO;
    let mut total_incl = Decimal::ZERO;
    let lines: Vec<Value> = o
        .lines
        .iter()
        .enumerate()
        .map(|(n, l)| {
            let (excl, incl) = if gross {
                ((l.line_total.amount / vat).round_dp(2), l.line_total.amount)
            } else {
                (l.line_total.amount, (l.line_total.amount * vat).round_dp(2))
            };
            total_excl += excl;
            total_incl += incl;
            let shipped = match o.status {
                OrderStatus::Shipped => l.quantity,
                OrderStatus::PartiallyShipped if n == 0 && o.lines.len() > 1 => l.quantity,
                OrderStatus::PartiallyShipped if n == 0 => partial_units.unwrap_or(Decimal::ZERO),
                _ => Decimal::ZERO,
            };
            let (item, variant) = split_sku(&l.sku);
            let item_index = w
                .product_index(&ProductId::new(item))
                .map(u64::from)
                .unwrap_or(u64::MAX >> 16);
            let line_id = (u64::from(j) << 3) | n as u64;
            let location = l.location.as_ref().map(|c| location_ref(w, c.as_str()));
            json!({
                "@odata.etag": etag(K_LINE, line_id),
                "id": guid(K_LINE, line_id),
                "documentId": guid(K_ORDER, u64::from(j)),
                "sequence": l.line_no,
                "itemId": guid(K_ITEM, item_index),
                "accountId": "00000000-0000-0000-0000-000000000000",
                "lineType": "Item",
                "lineObjectNumber": item,
                "description": l.description,
                "unitOfMeasureCode": "PCS",
                "quantity": num(l.quantity),
                "unitPrice": num(l.unit_price.amount),
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
                "shipmentDate": o.placed_at.date_naive().to_string(),
                "shippedQuantity": num(shipped),
                "invoicedQuantity": 0,
                "invoiceQuantity": 0,
                "shipQuantity": num(l.quantity - shipped),
                "itemVariantId": guid(K_VARIANT, line_id),
                "locationId": location.as_ref().and_then(|l| l.get("id").cloned()).unwrap_or(Value::Null),
                "itemVariant": if variant.is_empty() { Value::Null } else {
                    json!({ "id": guid(K_VARIANT, line_id), "itemNumber": item, "code": variant })
                },
                "location": location.unwrap_or(Value::Null),
            })
        })
        .collect();
    let fully = o.status == OrderStatus::Shipped;
    json!({
        "@odata.etag": etag(K_ORDER, u64::from(j)),
        "id": guid(K_ORDER, u64::from(j)),
        "number": o.number.as_str(),
        "externalDocumentNumber": "",
        "orderDate": o.placed_at.date_naive().to_string(),
        "postingDate": o.placed_at.date_naive().to_string(),
        "customerId": guid(K_CUSTOMER, u64::from(ci)),
        "customerNumber": o.customer.as_str(),
        "customerName": c.company_name.clone().unwrap_or_else(|| format!("{} {}", c.first_name, c.last_name)),
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
    })
}

/// Order `j` as the extension's `salesOrderTracking` row.
fn order_tracking(w: &World, j: u32) -> Value {
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
    json!({
        "@odata.etag": etag(K_ORDER, u64::from(j)),
        "id": guid(K_ORDER, u64::from(j)),
        "number": o.number.as_str(),
        "customerNumber": o.customer.as_str(),
        "placedAt": timestamp(o.placed_at),
        "salesChannel": o.channel.map(|c| c.as_str()).unwrap_or(""),
        "storeCode": o.store.as_ref().map(|s| s.as_str()).unwrap_or(""),
        "cancelled": o.status == OrderStatus::Cancelled,
        "shipments": shipments,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use samlet_testkit::world::WorldConfig;

    #[test]
    fn rows_carry_exactly_the_declared_fields_and_navigations() {
        let w = World::new(WorldConfig::default());
        for set in &SETS {
            let rows = (0..50u64)
                .flat_map(|g| set.group(&w, g))
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
    fn decimals_are_written_with_their_exact_digits() {
        assert_eq!(num(Decimal::new(849915, 2)).to_string(), "8499.15");
        assert_eq!(num(Decimal::new(129900, 2)).to_string(), "1299");
    }
}
