//! Wire to model: Business Central's entities as the normalised model. The tricky parts are
//! tested here: JSON numbers as exact decimals, blank currency codes meaning the local
//! currency, SKUs as item number plus variant code, the order status derived from shipped
//! quantities, shipments and the cancel flag, and amounts in the order's price basis.

use crate::client::{
    WireCustomer, WireItemPrice, WireItemStock, WireLocation, WireOrderTracking, WireQuoteTracking,
    WireSalesOrder, WireSalesQuote, WireShipment,
};
use chrono::{DateTime, NaiveDate, Utc};
use samlet_connector::prelude::*;

/// The system name in [`SourceRef`]s.
pub const SYSTEM: &str = "business-central";

/// An exact decimal from a JSON number as Business Central writes it (`1397.3`, `12`,
/// occasionally `1E-05`).
pub fn decimal_from_number(n: &serde_json::Number) -> Result<Decimal, String> {
    let text = n.to_string();
    text.parse::<Decimal>()
        .or_else(|_| Decimal::from_scientific(&text))
        .map_err(|e| format!("`{text}` is not a decimal amount: {e}"))
}

/// The currency of a Business Central currency code; blank is the local currency.
pub fn currency_of(code: &str, local: Currency) -> Result<Currency, String> {
    if code.trim().is_empty() {
        Ok(local)
    } else {
        code.trim().parse()
    }
}

/// The currency code Business Central stores for `currency`: blank for the local currency.
pub fn currency_code_for(currency: Currency, local: Currency) -> String {
    if currency == local {
        String::new()
    } else {
        currency.as_str().to_owned()
    }
}

/// The SKU of an item and variant: `P000042-OAK`, or the item number for an item without
/// variants.
pub fn sku_of(item: &str, variant: &str, separator: &str) -> Sku {
    if variant.is_empty() {
        Sku::new(item)
    } else {
        Sku::new(format!("{item}{separator}{variant}"))
    }
}

/// The item number a SKU belongs to: everything before the last separator, or the whole SKU
/// when it has none.
pub fn item_of<'a>(sku: &'a Sku, separator: &str) -> &'a str {
    let s = sku.as_str();
    match s.rfind(separator) {
        Some(at) if at > 0 => &s[..at],
        _ => s,
    }
}

fn non_empty(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_owned())
}

/// A UTC timestamp from an OData `DateTimeOffset`.
pub fn timestamp(s: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(s.trim())
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("`{s}` is not a timestamp: {e}"))
}

/// A customer record from the extension's `customers` page.
pub fn customer(w: &WireCustomer, connector: &ConnectorName) -> CustomerRecord {
    let mut r = CustomerRecord::new(SourceRef {
        connector: connector.clone(),
        system: SYSTEM.to_owned(),
        native_id: w.id.clone(),
    });
    r.number = non_empty(&w.number).map(CustomerNumber::new);
    r.kind = if w.kind.eq_ignore_ascii_case("company") {
        CustomerKind::Company
    } else {
        CustomerKind::Person
    };
    r.first_name = non_empty(&w.first_name);
    r.last_name = non_empty(&w.last_name);
    if r.kind == CustomerKind::Company {
        r.company_name = non_empty(&w.display_name);
    }
    r.email = normalize_email(&w.email);
    r.phone = normalize_phone(&w.phone_number, w.country.trim());
    r.customer_group = non_empty(&w.customer_price_group).map(CustomerGroup::new);
    let street = match (non_empty(&w.address_line1), non_empty(&w.address_line2)) {
        (Some(a), Some(b)) => format!("{a}, {b}"),
        (Some(a), None) | (None, Some(a)) => a,
        (None, None) => String::new(),
    };
    let address = Address {
        street,
        postal_code: w.postal_code.trim().to_owned(),
        city: w.city.trim().to_owned(),
        country: w.country.trim().to_ascii_uppercase(),
    };
    if address != Address::default() {
        r.address = Some(address);
    }
    // Business Central writes 0001-01-01T00:00:00Z for "never".
    r.updated_at = timestamp(&w.last_modified_date_time)
        .ok()
        .filter(|t| t.timestamp() > 0);
    r
}

/// The price of a resolved price line.
pub fn price(w: &WireItemPrice, local: Currency) -> Result<Price, String> {
    let currency = currency_of(&w.currency_code, local)?;
    let regular = w
        .regular_unit_price
        .filter(|r| *r > w.unit_price)
        .map(|r| Money::new(r, currency));
    Ok(Price {
        amount: Money::new(w.unit_price, currency),
        regular,
        tax_included: w.price_includes_tax,
        customer_group: non_empty(&w.customer_price_group).map(CustomerGroup::new),
    })
}

/// Stock at one location. Business Central keeps quantities as decimals; whole units are
/// reported (fractions of a unit cannot be sold from the shelf).
pub fn stock_level(w: &WireItemStock) -> StockLevel {
    let whole = |d: Decimal| i64::try_from(d.trunc()).unwrap_or(0);
    StockLevel {
        location: LocationId::new(w.location_code.trim()),
        on_hand: whole(w.inventory),
        reserved: whole(w.reserved_quantity),
    }
}

/// A location from the extension's `locations` page.
pub fn location(w: &WireLocation) -> Result<Location, String> {
    let kind = match w.location_type.trim().to_ascii_lowercase().as_str() {
        "store" => LocationKind::Store,
        "warehouse" => LocationKind::Warehouse,
        other => {
            return Err(format!(
                "location {}: unknown locationType `{other}` (expected Store or Warehouse)",
                w.code
            ))
        }
    };
    let street = match (non_empty(&w.address_line1), non_empty(&w.address_line2)) {
        (Some(a), Some(b)) => format!("{a}, {b}"),
        (Some(a), None) | (None, Some(a)) => a,
        (None, None) => String::new(),
    };
    Ok(Location {
        id: LocationId::new(w.code.trim()),
        name: w.display_name.clone(),
        kind,
        address: Address {
            street,
            postal_code: w.postal_code.trim().to_owned(),
            city: w.city.trim().to_owned(),
            country: w.country.trim().to_ascii_uppercase(),
        },
        click_and_collect: w.click_and_collect,
    })
}

/// The tracking URL from a shipping agent's Internet Address: `%1` is replaced by the
/// package tracking number, as Business Central's "Track Package" action does.
pub fn tracking_url(internet_address: &str, tracking_number: &str) -> String {
    internet_address.replace("%1", tracking_number)
}

fn shipment(w: &WireShipment) -> Result<Shipment, String> {
    Ok(Shipment {
        number: w.number.clone(),
        carrier: non_empty(&w.shipping_agent_name).unwrap_or_else(|| w.shipping_agent_code.clone()),
        tracking_url: tracking_url(
            &w.shipping_agent_internet_address,
            &w.package_tracking_number,
        ),
        tracking_number: w.package_tracking_number.clone(),
        shipped_at: timestamp(&w.shipped_at)
            .map_err(|e| format!("shipment {}: shippedAt: {e}", w.number))?,
    })
}

/// The order status: cancelled orders say so; otherwise fully shipped orders are shipped,
/// orders with shipped quantities or posted shipments are partially shipped, the rest open.
pub fn order_status(
    cancelled: bool,
    fully_shipped: bool,
    any_shipped: bool,
    shipments: usize,
) -> OrderStatus {
    if cancelled {
        OrderStatus::Cancelled
    } else if fully_shipped {
        OrderStatus::Shipped
    } else if any_shipped || shipments > 0 {
        OrderStatus::PartiallyShipped
    } else {
        OrderStatus::Open
    }
}

/// Mapping settings that come from configuration.
#[derive(Debug, Clone)]
pub struct OrderMapping<'a> {
    /// What a blank currency code means.
    pub local_currency: Currency,
    /// Between item number and variant code in a SKU.
    pub variant_separator: &'a str,
}

/// An order from the standard `salesOrders` entity (lines expanded) and its row of the
/// extension's `salesOrderTracking` page. Amounts are in the order's price basis: with VAT
/// when `pricesIncludeTax` (consumer orders), without for B2B orders priced net. Only item
/// lines become order lines (comment lines carry no SKU).
pub fn order(
    so: &WireSalesOrder,
    tracking: Option<&WireOrderTracking>,
    m: &OrderMapping<'_>,
) -> Result<Order, String> {
    let currency = currency_of(&so.currency_code, m.local_currency)
        .map_err(|e| format!("order {}: currencyCode: {e}", so.number))?;
    let money = |d: Decimal| Money::new(d, currency);
    let gross = so.prices_include_tax;
    let mut lines = Vec::with_capacity(so.sales_order_lines.len());
    let mut any_shipped = false;
    for l in &so.sales_order_lines {
        if l.shipped_quantity.is_some_and(|q| q > Decimal::ZERO) {
            any_shipped = true;
        }
        if !l.line_type.eq_ignore_ascii_case("item") {
            continue;
        }
        let variant = l
            .item_variant
            .as_ref()
            .map(|v| v.code.as_str())
            .unwrap_or("");
        lines.push(OrderLine {
            line_no: l.sequence,
            sku: sku_of(
                l.line_object_number.trim(),
                variant.trim(),
                m.variant_separator,
            ),
            description: l.description.clone(),
            quantity: l.quantity,
            unit_price: money(l.unit_price),
            line_total: money(if gross {
                l.amount_including_tax
            } else {
                l.amount_excluding_tax
            }),
            location: l
                .location
                .as_ref()
                .and_then(|c| non_empty(&c.code))
                .map(LocationId::new),
        });
    }
    let mut shipments = match tracking {
        Some(t) => t
            .shipments
            .iter()
            .map(shipment)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("order {}: {e}", so.number))?,
        None => Vec::new(),
    };
    shipments.sort_by(|a, b| {
        a.shipped_at
            .cmp(&b.shipped_at)
            .then(a.number.cmp(&b.number))
    });
    let placed_at = match tracking {
        Some(t) => {
            timestamp(&t.placed_at).map_err(|e| format!("order {}: placedAt: {e}", so.number))?
        }
        // Without the extension's row only the order date is known: midnight UTC.
        None => NaiveDate::parse_from_str(so.order_date.trim(), "%Y-%m-%d")
            .map_err(|e| format!("order {}: orderDate `{}`: {e}", so.number, so.order_date))?
            .and_hms_opt(0, 0, 0)
            .map(|t| t.and_utc())
            .ok_or_else(|| format!("order {}: orderDate out of range", so.number))?,
    };
    let status = order_status(
        tracking.is_some_and(|t| t.cancelled),
        so.fully_shipped,
        any_shipped,
        shipments.len(),
    );
    Ok(Order {
        number: OrderNumber::new(so.number.clone()),
        customer: CustomerNumber::new(so.customer_number.clone()),
        placed_at,
        status,
        channel: tracking
            .and_then(|t| non_empty(&t.sales_channel))
            .and_then(|c| c.parse::<Channel>().ok()),
        store: tracking
            .and_then(|t| non_empty(&t.store_code))
            .map(LocationId::new),
        currency,
        lines,
        shipments,
        total: money(if gross {
            so.total_amount_including_tax
        } else {
            so.total_amount_excluding_tax
        }),
    })
}

/// Length of `External Document No.` (`Code[35]`), where idempotency keys go.
pub const EXTERNAL_REFERENCE_LEN: usize = 35;

/// The null GUID Business Central writes for an empty reference.
pub const NULL_GUID: &str = "00000000-0000-0000-0000-000000000000";

/// 64-bit FNV-1a of `text` after `seed` (stable across runs and builds, unlike `std`'s hasher).
fn fnv1a(seed: u64, text: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ seed;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// The `External Document No.` that carries an idempotency key. The field is a `Code[35]`:
/// Business Central stores it in upper case, so a key of at most 35 printable ASCII
/// characters is sent upper-cased (keys that differ only in case are the same key); longer
/// keys (a UUID with hyphens is 36) or keys with other characters are replaced by `K` and 32
/// hexadecimal digits of two 64-bit FNV-1a hashes of the key.
pub fn external_reference(key: &str) -> String {
    let fits = !key.is_empty()
        && key.len() <= EXTERNAL_REFERENCE_LEN
        && key.bytes().all(|b| b.is_ascii_graphic());
    if fits {
        key.to_ascii_uppercase()
    } else {
        format!(
            "K{:016X}{:016X}",
            fnv1a(0, key),
            fnv1a(0x9E37_79B9_7F4A_7C15, key)
        )
    }
}

/// A quote's validity as a moment: through the end of its `Quote Valid Until Date` (UTC).
/// `0001-01-01` (Business Central's blank date) means no limit.
pub fn valid_until(date: &str) -> Result<DateTime<Utc>, String> {
    let d = NaiveDate::parse_from_str(date.trim(), "%Y-%m-%d")
        .map_err(|e| format!("`{date}` is not a date: {e}"))?;
    if Some(d) == NaiveDate::from_ymd_opt(1, 1, 1) {
        return Ok(DateTime::<Utc>::MAX_UTC);
    }
    d.and_hms_opt(23, 59, 59)
        .map(|t| t.and_utc())
        .ok_or_else(|| format!("`{date}` is out of range"))
}

/// The status of an offer from its row of the quote log.
pub fn offer_status(t: Option<&WireQuoteTracking>) -> OfferStatus {
    match t {
        Some(t) if !t.order_number.trim().is_empty() => {
            OfferStatus::Converted(OrderNumber::new(t.order_number.trim()))
        }
        Some(t) if t.status.eq_ignore_ascii_case("expired") => OfferStatus::Expired,
        _ => OfferStatus::Open,
    }
}

/// When the quote was made: the log's `createdAt`, else the document date.
fn offer_created_at(
    t: Option<&WireQuoteTracking>,
    document_date: &str,
) -> Result<DateTime<Utc>, String> {
    match t {
        Some(t) => timestamp(&t.created_at).map_err(|e| format!("createdAt: {e}")),
        None => NaiveDate::parse_from_str(document_date.trim(), "%Y-%m-%d")
            .map_err(|e| format!("documentDate `{document_date}`: {e}"))?
            .and_hms_opt(0, 0, 0)
            .map(|t| t.and_utc())
            .ok_or_else(|| "documentDate out of range".to_owned()),
    }
}

/// An offer from a live `salesQuote` (lines expanded) and its row of the quote log.
/// `variants` maps variant SystemIds to codes (quote lines carry only the id). Amounts are
/// in the quote's price basis (with VAT when the log says `pricesIncludeTax`).
pub fn offer(
    q: &WireSalesQuote,
    t: Option<&WireQuoteTracking>,
    variants: &HashMap<String, String>,
    m: &OrderMapping<'_>,
) -> Result<Offer, String> {
    let currency = currency_of(&q.currency_code, m.local_currency)
        .map_err(|e| format!("quote {}: currencyCode: {e}", q.number))?;
    let money = |d: Decimal| Money::new(d, currency);
    let gross = t.is_none_or(|t| t.prices_include_tax);
    let mut lines = Vec::with_capacity(q.sales_quote_lines.len());
    for l in &q.sales_quote_lines {
        if !l.line_type.eq_ignore_ascii_case("item") {
            continue;
        }
        let id = l.item_variant_id.trim();
        let variant = if id.is_empty() || id == NULL_GUID {
            ""
        } else {
            variants.get(id).map(String::as_str).ok_or_else(|| {
                format!(
                    "quote {} line {}: unknown itemVariantId {id}",
                    q.number, l.sequence
                )
            })?
        };
        lines.push(OrderLine {
            line_no: l.sequence,
            sku: sku_of(
                l.line_object_number.trim(),
                variant.trim(),
                m.variant_separator,
            ),
            description: l.description.clone(),
            quantity: l.quantity,
            unit_price: money(l.unit_price),
            line_total: money(if gross {
                l.amount_including_tax
            } else {
                l.amount_excluding_tax
            }),
            location: l
                .location
                .as_ref()
                .and_then(|c| non_empty(&c.code))
                .map(LocationId::new),
        });
    }
    Ok(Offer {
        number: q.number.clone(),
        customer: CustomerNumber::new(q.customer_number.clone()),
        lines,
        total: money(if gross {
            q.total_amount_including_tax
        } else {
            q.total_amount_excluding_tax
        }),
        status: offer_status(t),
        valid_until: valid_until(&q.valid_until_date)
            .map_err(|e| format!("quote {}: validUntilDate: {e}", q.number))?,
        created_at: offer_created_at(t, &q.document_date)
            .map_err(|e| format!("quote {}: {e}", q.number))?,
        store: t
            .and_then(|t| non_empty(&t.store_code))
            .map(LocationId::new),
        created_by: t.and_then(|t| non_empty(&t.created_by)),
    })
}

/// An offer that became `order`: Business Central deleted the quote, so its lines and total
/// are the order's (made from the quote's lines), and the rest comes from the quote log.
pub fn converted_offer(t: &WireQuoteTracking, order: &Order) -> Result<Offer, String> {
    Ok(Offer {
        number: t.quote_number.clone(),
        customer: CustomerNumber::new(t.customer_number.clone()),
        lines: order.lines.clone(),
        total: order.total,
        status: offer_status(Some(t)),
        valid_until: valid_until(&t.valid_until_date)
            .map_err(|e| format!("quote {}: validUntilDate: {e}", t.quote_number))?,
        created_at: offer_created_at(Some(t), "")
            .map_err(|e| format!("quote {}: {e}", t.quote_number))?,
        store: non_empty(&t.store_code).map(LocationId::new),
        created_by: non_empty(&t.created_by),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::{WireCode, WireSalesOrderLine};
    use std::str::FromStr;

    fn dec(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn json_numbers_become_exact_decimals() {
        let v: serde_json::Value = serde_json::from_str("[1397.3, 12, 8499.15, 1E-05]").unwrap();
        let got: Vec<Decimal> = v
            .as_array()
            .unwrap()
            .iter()
            .map(|n| decimal_from_number(n.as_number().unwrap()).unwrap())
            .collect();
        assert_eq!(
            got,
            vec![dec("1397.3"), dec("12"), dec("8499.15"), dec("0.00001")]
        );
    }

    #[test]
    fn a_blank_currency_code_is_the_local_currency() {
        assert_eq!(currency_of("", Currency::DKK), Ok(Currency::DKK));
        assert_eq!(currency_of("SEK", Currency::DKK), Ok(Currency::SEK));
        assert!(currency_of("KR", Currency::DKK).is_err());
        assert_eq!(currency_code_for(Currency::DKK, Currency::DKK), "");
        assert_eq!(currency_code_for(Currency::EUR, Currency::DKK), "EUR");
    }

    #[test]
    fn skus_are_item_number_and_variant_code() {
        assert_eq!(sku_of("P000042", "OAK", "-"), Sku::new("P000042-OAK"));
        assert_eq!(sku_of("1996-S", "", "-"), Sku::new("1996-S"));
        assert_eq!(item_of(&Sku::new("P000042-OAK"), "-"), "P000042");
        assert_eq!(item_of(&Sku::new("1996-S-RED"), "-"), "1996-S");
        assert_eq!(item_of(&Sku::new("LAMP"), "-"), "LAMP");
        assert_eq!(item_of(&Sku::new("-X"), "-"), "-X");
    }

    #[test]
    fn customers_normalise_email_and_phone_by_their_country() {
        let w = WireCustomer {
            id: "guid".into(),
            number: "C0000007".into(),
            display_name: "Nordlys Design A/S".into(),
            kind: "Company".into(),
            first_name: "Anna".into(),
            last_name: "Hansen".into(),
            address_line1: "Skovvej 1".into(),
            address_line2: String::new(),
            city: "Aarhus".into(),
            country: "DK".into(),
            postal_code: "8000".into(),
            phone_number: "004520000049".into(),
            email: "ANNA.7@NORDLYSDESIGN.EXAMPLE.COM".into(),
            customer_price_group: "B2B".into(),
            last_modified_date_time: "0001-01-01T00:00:00Z".into(),
        };
        let r = customer(&w, &ConnectorName::new("erp"));
        assert_eq!(r.kind, CustomerKind::Company);
        assert_eq!(r.company_name.as_deref(), Some("Nordlys Design A/S"));
        assert_eq!(r.email.as_deref(), Some("anna.7@nordlysdesign.example.com"));
        assert_eq!(r.phone.as_deref(), Some("+4520000049"));
        assert_eq!(r.customer_group, Some(CustomerGroup::new("B2B")));
        assert_eq!(r.updated_at, None);
        assert_eq!(r.address.unwrap().street, "Skovvej 1");
    }

    #[test]
    fn a_regular_price_is_only_reported_above_the_price_paid() {
        let mut w = WireItemPrice {
            item_number: "P1".into(),
            item_id: String::new(),
            item_variant_id: String::new(),
            variant_code: "OAK".into(),
            price_channel: "online".into(),
            currency_code: String::new(),
            customer_price_group: String::new(),
            unit_price: dec("849.15"),
            regular_unit_price: Some(dec("999")),
            price_includes_tax: true,
        };
        let p = price(&w, Currency::DKK).unwrap();
        assert_eq!(p.regular.map(|m| m.amount), Some(dec("999")));
        assert_eq!(p.amount.currency, Currency::DKK);
        w.regular_unit_price = Some(dec("849.15"));
        assert_eq!(price(&w, Currency::DKK).unwrap().regular, None);
    }

    #[test]
    fn status_follows_cancel_flag_then_shipped_quantities_then_shipments() {
        assert_eq!(order_status(true, false, false, 0), OrderStatus::Cancelled);
        assert_eq!(order_status(false, true, true, 1), OrderStatus::Shipped);
        assert_eq!(
            order_status(false, false, true, 1),
            OrderStatus::PartiallyShipped
        );
        // A one-unit line cannot be part-shipped, but a posted shipment still says so.
        assert_eq!(
            order_status(false, false, false, 1),
            OrderStatus::PartiallyShipped
        );
        assert_eq!(order_status(false, false, false, 0), OrderStatus::Open);
    }

    #[test]
    fn a_quote_is_valid_through_the_end_of_its_date() {
        assert_eq!(
            valid_until("2026-06-30").unwrap().to_rfc3339(),
            "2026-06-30T23:59:59+00:00"
        );
        assert_eq!(valid_until("0001-01-01").unwrap(), DateTime::<Utc>::MAX_UTC);
        assert!(valid_until("30.06.2026").is_err());
    }

    #[test]
    fn idempotency_keys_become_external_document_numbers() {
        assert_eq!(external_reference("web-1"), "WEB-1");
        let long = "x".repeat(36);
        let r = external_reference(&long);
        assert!(r.len() <= EXTERNAL_REFERENCE_LEN && r.starts_with('K'));
        assert_ne!(r, external_reference(&"y".repeat(36)));
    }

    #[test]
    fn tracking_urls_fill_the_agents_placeholder() {
        assert_eq!(
            tracking_url("https://tracking.bring.com/tracking/%1", "BR0000000042"),
            "https://tracking.bring.com/tracking/BR0000000042"
        );
    }

    fn line(variant: &str, incl: &str, excl: &str) -> WireSalesOrderLine {
        WireSalesOrderLine {
            sequence: 10_000,
            line_type: "Item".into(),
            line_object_number: "P000001".into(),
            description: "Aarhus sofa, oak".into(),
            quantity: dec("2"),
            unit_price: dec("500"),
            amount_excluding_tax: dec(excl),
            amount_including_tax: dec(incl),
            shipped_quantity: Some(Decimal::ZERO),
            item_variant: Some(WireCode {
                code: variant.into(),
            }),
            location: Some(WireCode {
                code: "WH-ONLINE".into(),
            }),
        }
    }

    #[test]
    fn orders_report_amounts_in_their_price_basis() {
        let mut so = WireSalesOrder {
            id: "g".into(),
            number: "SO1".into(),
            customer_number: "C1".into(),
            external_document_number: String::new(),
            order_date: "2024-03-01".into(),
            currency_code: "SEK".into(),
            prices_include_tax: true,
            total_amount_excluding_tax: dec("800"),
            total_amount_including_tax: dec("1000"),
            fully_shipped: false,
            sales_order_lines: vec![line("OAK", "1000", "800")],
        };
        let m = OrderMapping {
            local_currency: Currency::DKK,
            variant_separator: "-",
        };
        let o = order(&so, None, &m).unwrap();
        assert_eq!(o.currency, Currency::SEK);
        assert_eq!(o.total.amount, dec("1000"));
        assert_eq!(o.lines[0].sku, Sku::new("P000001-OAK"));
        assert_eq!(o.lines[0].line_total.amount, dec("1000"));
        assert_eq!(o.placed_at.to_rfc3339(), "2024-03-01T00:00:00+00:00");
        assert_eq!(o.status, OrderStatus::Open);
        so.prices_include_tax = false;
        let o = order(&so, None, &m).unwrap();
        assert_eq!(o.total.amount, dec("800"));
        assert_eq!(o.lines[0].line_total.amount, dec("800"));
    }

    #[test]
    fn tracking_supplies_time_channel_store_and_shipments() {
        let so = WireSalesOrder {
            id: "g".into(),
            number: "SO2".into(),
            customer_number: "C1".into(),
            external_document_number: String::new(),
            order_date: "2024-03-01".into(),
            currency_code: String::new(),
            prices_include_tax: true,
            total_amount_excluding_tax: dec("800"),
            total_amount_including_tax: dec("1000"),
            fully_shipped: true,
            sales_order_lines: vec![line("", "1000", "800")],
        };
        let t = WireOrderTracking {
            id: "g".into(),
            number: "SO2".into(),
            external_document_number: String::new(),
            fulfilment: String::new(),
            quote_number: String::new(),
            placed_at: "2024-03-01T09:15:02Z".into(),
            sales_channel: "store".into(),
            store_code: "DK-CPH".into(),
            cancelled: false,
            shipments: vec![WireShipment {
                number: "SH2".into(),
                shipped_at: "2024-03-02T07:00:00Z".into(),
                shipping_agent_code: "GLS".into(),
                shipping_agent_name: "GLS".into(),
                package_tracking_number: "GL1".into(),
                shipping_agent_internet_address: "https://gls-group.com/track/%1".into(),
            }],
        };
        let m = OrderMapping {
            local_currency: Currency::DKK,
            variant_separator: "-",
        };
        let o = order(&so, Some(&t), &m).unwrap();
        assert_eq!(o.currency, Currency::DKK);
        assert_eq!(o.channel, Some(Channel::Store));
        assert_eq!(o.store, Some(LocationId::new("DK-CPH")));
        assert_eq!(o.status, OrderStatus::Shipped);
        assert_eq!(o.lines[0].sku, Sku::new("P000001"));
        assert_eq!(
            o.shipments[0].tracking_url,
            "https://gls-group.com/track/GL1"
        );
        assert_eq!(o.placed_at.to_rfc3339(), "2024-03-01T09:15:02+00:00");
    }
}
