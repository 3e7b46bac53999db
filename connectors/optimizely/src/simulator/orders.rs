//! Purchase order routes of the simulated site, generated from the world's orders:
//!
//! - `GET /episerverapi/commerce/orders/{orderGroupId}`: order `j` has `OrderGroupId` `j` and
//!   `OrderNumber` `SO{j:07}` (the site's order number generator writes the prefix and the id).
//! - `GET /episerverapi/commerce/orders/{customerId}/all`: every order of a customer contact,
//!   oldest first.
//! - `GET /episerverapi/commerce/orders/search/{start}/{maxCount}`: orders by id from `start`
//!   (at most 1,000); the search filters (`OrderShipmentStatus`, `Status`, `ModifiedFrom`,
//!   `ShippingMethodId`) are not simulated.
//!
//! Each order has one order form. Its lines sit in one shipment per fulfilment state: a shipped
//! order has one `Shipped` shipment with tracking number, carrier and tracking URL meta fields;
//! a partly shipped order with several lines has a `Shipped` shipment with the first half and a
//! `Released` one with the rest; open orders await inventory; cancelled ones are cancelled.
//! Order meta fields `SalesChannel` and `StoreCode` say where the order was placed.

use super::customers::{contact_id, contact_index};
use super::writes::Writes;
use super::{alpha3, bad_request, country_name, guid, num, ok, time};
use axum::response::Response;
use rust_decimal::Decimal;
use samlet_connector::context::Currency;
use samlet_connector::model::{Order, OrderLine, OrderStatus};
use samlet_testkit::World;
use serde_json::{json, Value};

/// The most orders one search answers.
pub const MAX_SEARCH: u32 = 1_000;
const SHIPPING_METHOD_SALT: u64 = 0x0005_41FF;
const INSTANCE_ID: &str = "6d1e3c2b-4a5f-4e8d-9b0c-1a2b3c4d5e6f";

fn online_market(currency: Currency) -> &'static str {
    match currency.as_str() {
        "DKK" => "DK",
        "SEK" => "SE",
        "NOK" => "NO",
        _ => "EU",
    }
}

fn line_item(j: u32, k: usize, l: &OrderLine) -> Value {
    json!({
        "LineItemId": (j as i64) * 8 + k as i64,
        "Code": l.sku.as_str(),
        "DisplayName": l.description,
        "PlacedPrice": num(l.unit_price.amount),
        "ExtendedPrice": num(l.line_total.amount),
        "DiscountedPrice": num(l.line_total.amount),
        "Quantity": num(l.quantity),
        "ReturnQuantity": 0,
        "InventoryTrackingStatus": "Enabled",
        "IsInventoryAllocated": true,
        "IsGift": false,
    })
}

pub(crate) fn property(key: &str, value: &str) -> Value {
    json!({ "Key": key, "Value": value })
}

fn shipment(j: u32, o: &Order, part: usize, status: &str, lines: &[(usize, &OrderLine)]) -> Value {
    let warehouse = lines
        .first()
        .and_then(|(_, l)| l.location.as_ref())
        .map(|l| l.as_str().to_owned())
        .unwrap_or_default();
    let subtotal: Decimal = lines.iter().map(|(_, l)| l.line_total.amount).sum();
    let shipped = (status == "Shipped").then(|| o.shipments.first()).flatten();
    let mut properties = Vec::new();
    let (method, tracking) = match shipped {
        Some(s) => {
            let template = s
                .tracking_url
                .strip_suffix(s.tracking_number.as_str())
                .map(|u| format!("{u}{{0}}"))
                .unwrap_or_else(|| s.tracking_url.clone());
            properties = vec![
                property("ShipmentNumber", &s.number),
                property("ShippedDate", &time(s.shipped_at)),
                property("Carrier", &s.carrier),
                property("CarrierTrackingUrl", &template),
            ];
            (s.carrier.clone(), s.tracking_number.clone())
        }
        None => ("Standard".to_owned(), String::new()),
    };
    json!({
        "Discounts": [],
        "ShipmentId": (j as i64) * 2 + part as i64,
        "ShippingMethodId": guid(SHIPPING_METHOD_SALT, method.len() as u64 * 31 + method.bytes().map(u64::from).sum::<u64>()),
        "ShippingMethodName": method,
        "ShippingTax": 0,
        "ShippingAddressId": "Shipping",
        "ShipmentTrackingNumber": tracking,
        "ShippingDiscountAmount": 0,
        "ShippingSubTotal": 0,
        "ShippingTotal": 0,
        "Status": status,
        "PrevStatus": if status == "Shipped" { "Released" } else { "" },
        "PickListId": null,
        "SubTotal": num(subtotal),
        "WarehouseCode": warehouse,
        "LineItems": lines.iter().map(|(k, l)| line_item(j, *k, l)).collect::<Vec<_>>(),
        "Properties": properties,
    })
}

/// Purchase order `j`.
pub fn purchase_order(w: &World, j: u32) -> Value {
    let o = w.order(j);
    let ci = w.customer_index(&o.customer).unwrap_or(0);
    let customer = w.customer(ci);
    let lines: Vec<(usize, &OrderLine)> = o.lines.iter().enumerate().collect();
    let (status, shipments) = match o.status {
        OrderStatus::Open => (
            "InProgress",
            vec![shipment(j, &o, 0, "AwaitingInventory", &lines)],
        ),
        OrderStatus::Cancelled => ("Cancelled", vec![shipment(j, &o, 0, "Cancelled", &lines)]),
        OrderStatus::Shipped => ("Completed", vec![shipment(j, &o, 0, "Shipped", &lines)]),
        OrderStatus::PartiallyShipped if lines.len() >= 2 => {
            let half = lines.len().div_ceil(2);
            (
                "PartiallyShipped",
                vec![
                    shipment(j, &o, 0, "Shipped", &lines[..half]),
                    shipment(j, &o, 1, "Released", &lines[half..]),
                ],
            )
        }
        OrderStatus::PartiallyShipped => (
            "PartiallyShipped",
            vec![shipment(j, &o, 0, "Shipped", &lines)],
        ),
    };
    // B2B orders are net; consumer prices include 25 % VAT.
    let tax = if customer.customer_group.is_some() {
        (o.total.amount * Decimal::new(25, 2)).round_dp(2)
    } else {
        (o.total.amount * Decimal::new(20, 2)).round_dp(2)
    };
    let market = match &o.store {
        Some(_) => format!("{}-STORE", online_market(o.currency)),
        None => online_market(o.currency).to_owned(),
    };
    let mut properties = vec![property(
        "SalesChannel",
        o.channel.map(|c| c.as_str()).unwrap_or(""),
    )];
    if let Some(s) = &o.store {
        properties.push(property("StoreCode", s.as_str()));
    }
    json!({
        "AddressId": "Billing",
        "AffiliateId": "00000000-0000-0000-0000-000000000000",
        "BillingCurrency": o.currency.as_str(),
        "CustomerId": contact_id(ci),
        "CustomerName": format!("{} {}", customer.first_name, customer.last_name),
        "HandlingTotal": 0,
        "InstanceId": INSTANCE_ID,
        "MarketId": market,
        "Name": "Default",
        "OrderNumber": o.number.as_str(),
        "OrderAddresses": [{
            "OrderGroupAddressId": (j as i64) * 2,
            "Name": "Billing",
            "FirstName": customer.first_name,
            "LastName": customer.last_name,
            "Organization": customer.company_name.clone().unwrap_or_default(),
            "Line1": customer.address.street,
            "Line2": "",
            "City": customer.address.city,
            "State": "",
            "CountryCode": alpha3(customer.country),
            "CountryName": country_name(customer.country),
            "PostalCode": customer.address.postal_code,
            "RegionCode": "",
            "RegionName": "",
            "DaytimePhoneNumber": "",
            "EveningPhoneNumber": "",
            "FaxNumber": "",
            "Email": customer.email,
        }],
        "OrderForms": [{
            "Shipments": shipments,
            "LineItems": [],
            "Discounts": [],
            "ReturnComment": null,
            "ReturnType": null,
            "ReturnAuthCode": null,
            "OrderFormId": j,
            "Name": "Default",
            "BillingAddressId": "Billing",
            "ShippingTotal": 0,
            "HandlingTotal": 0,
            "TaxTotal": num(tax),
            "DiscountAmount": 0,
            "SubTotal": num(o.total.amount),
            "Total": num(o.total.amount),
            "Status": status,
            "RmaNumber": null,
            "AuthorizedPaymentTotal": num(o.total.amount),
            "CapturedPaymentTotal": if status == "Completed" { num(o.total.amount) } else { json!(0) },
            "Properties": [],
        }],
        "OrderGroupId": j,
        "OrderNotes": [],
        "Owner": null,
        "OwnerOrg": null,
        "ProviderId": "FrontEnd",
        "ShippingTotal": 0,
        "Status": status,
        "SubTotal": num(o.total.amount),
        "TaxTotal": num(tax),
        "Total": num(o.total.amount),
        "Modified": time(o.shipments.last().map(|s| s.shipped_at).unwrap_or(o.placed_at)),
        "Created": time(o.placed_at),
        "Properties": properties,
    })
}

/// `GET /orders/{orderGroupId}`.
pub fn order(w: &World, writes: &Writes, id: u64) -> Response {
    match u32::try_from(id).ok().filter(|&j| j < w.order_count()) {
        Some(j) => ok(&purchase_order(w, j)),
        None => match writes.order(w, id) {
            Some(po) => ok(&po),
            None => super::not_found(),
        },
    }
}

/// `GET /orders/{customerId}/all`.
pub fn of_customer(w: &World, writes: &Writes, customer: &str) -> Response {
    let orders: Vec<Value> = match contact_index(w, customer) {
        Some(i) => w
            .orders_of(i)
            .iter()
            .map(|&j| purchase_order(w, j))
            .chain(writes.orders_of(i))
            .collect(),
        None => Vec::new(),
    };
    ok(&Value::Array(orders))
}

/// `GET /orders/search/{start}/{maxCount}`.
pub fn search(w: &World, writes: &Writes, start: u32, max: u32) -> Response {
    if !(1..=MAX_SEARCH).contains(&max) {
        return bad_request(&format!(
            "maxCount must be between 1 and {MAX_SEARCH} (a limit of this simulator)."
        ));
    }
    let end = start.saturating_add(max).min(w.order_count());
    let mut orders: Vec<Value> = (start.min(end)..end)
        .map(|j| purchase_order(w, j))
        .collect();
    let from = u64::from(start.max(w.order_count()));
    let left = u64::from(max) - orders.len() as u64;
    orders.extend(
        writes
            .orders_between(from, u64::MAX)
            .into_iter()
            .take(left as usize),
    );
    ok(&Value::Array(orders))
}
