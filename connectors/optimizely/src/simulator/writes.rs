//! The simulated site's write side: named carts and purchase orders created through the
//! Service API, kept in memory beside the (read-only) world.
//!
//! - `GET /episerverapi/commerce/carts/{customerId}/{cartName}/{marketId}`: the cart, or a bare
//!   404 when the customer has no cart of that name in that market.
//! - `PUT .../carts/{customerId}/{cartName}/{marketId}`: creates or replaces the cart with the
//!   body (a Service API `Cart`: `OrderForms` -> `LineItems`, `Properties`). The site assigns
//!   `OrderGroupId` (shared with purchase orders, as order groups are in Commerce),
//!   `LineItemId`s for new lines (`0` or missing), `Created` and `Modified`; `CustomerId`,
//!   `Name` and `MarketId` come from the route. Answers 200 with the stored cart.
//! - `DELETE .../carts/{customerId}/{cartName}/{marketId}`: 204 (404 if there is none).
//! - `POST /episerverapi/commerce/orders`: creates a purchase order from the body (a Service
//!   API `PurchaseOrder`). The site's order number generator writes `SO{OrderGroupId:07}`;
//!   `Created` is the simulator's clock; line items get their `DisplayName` from the catalogue
//!   when the body has none; every line of a shipment reserves its quantity in the shipment's
//!   warehouse (`ReservedQuantity` of that `WarehouseInventory` grows). Answers
//!   `201 Created` with `Location: /episerverapi/commerce/orders/{OrderGroupId}` and the order.
//!   An unknown customer, SKU or warehouse is a 400 with Web API's model-state message.
//!
//! Created orders are read back through `GET /orders/{orderGroupId}`, `/orders/{customerId}/all`
//! and `/orders/search/{start}/{maxCount}` like the world's own. The simulator's clock is the
//! world's "now", one second later for every write; every answer carries it in its `Date`
//! header, as a site sends its own clock. [`Writes::lose_next_answers`] (and
//! [`Writes::lose_next_order_answers`], for order creations only) makes the next writes
//! happen but answers them with a 502, as a proxy that lost the site's answer would, so tests
//! can see a client recover without doing a write twice.
//!
//! Not simulated: cart validation and promotion calculation, the serializable carts switch,
//! cart search, payments, inventory processing on order status changes (reservations stay),
//! and concurrency checks on carts (the last `PUT` wins, as in the Service API).

use super::customers::contact_index;
use super::{bad_request, json_response, ok, time, web_api_error, DEMO_ORDER_NUMBER_PREFIX};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Duration, Utc};
use rust_decimal::Decimal;
use samlet_connector::context::Locale;
use samlet_connector::ids::{LocationId, Sku};
use samlet_testkit::World;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;

/// The in-memory write state of one simulated site.
#[derive(Debug)]
pub struct Writes {
    state: Mutex<State>,
    lose: AtomicU32,
    lose_orders: AtomicU32,
}

#[derive(Debug, Default)]
struct State {
    ticks: i64,
    next_id: u64,
    carts: HashMap<(String, String, String), Value>,
    orders: Vec<Value>,
    by_contact: HashMap<u32, Vec<usize>>,
    reserved: HashMap<(String, String), i64>,
}

impl Writes {
    /// Empty write state over `world` (new order groups are numbered after the world's orders).
    pub fn new(world: &World) -> Writes {
        Writes {
            state: Mutex::new(State {
                next_id: u64::from(world.order_count()),
                ..State::default()
            }),
            lose: AtomicU32::new(0),
            lose_orders: AtomicU32::new(0),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Carry out the next `n` writes but answer each with a 502 (the answer is lost).
    pub fn lose_next_answers(&self, n: u32) {
        self.lose.store(n, Ordering::SeqCst);
    }

    /// Carry out the next `n` order creations (`POST /orders`) but answer each with a 502.
    pub fn lose_next_order_answers(&self, n: u32) {
        self.lose_orders.store(n, Ordering::SeqCst);
    }

    /// Whether this write's answer is to be lost (counts one down).
    pub(crate) fn take_lost(&self, order: bool) -> bool {
        let down = |c: &AtomicU32| {
            c.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok()
        };
        (order && down(&self.lose_orders)) || down(&self.lose)
    }

    /// Purchase orders created so far.
    pub fn orders_created(&self) -> usize {
        self.state().orders.len()
    }

    /// The simulator's clock.
    pub fn now(&self, w: &World) -> DateTime<Utc> {
        w.now() + Duration::seconds(self.state().ticks)
    }

    /// Units of `sku` reserved in `warehouse` by created orders.
    pub fn reserved(&self, sku: &str, warehouse: &str) -> i64 {
        self.state()
            .reserved
            .get(&(sku.to_owned(), warehouse.to_owned()))
            .copied()
            .unwrap_or(0)
    }

    /// A created purchase order by OrderGroupId.
    pub fn order(&self, w: &World, id: u64) -> Option<Value> {
        if id < u64::from(w.order_count()) {
            return None;
        }
        self.state()
            .orders
            .iter()
            .find(|o| o["OrderGroupId"].as_u64() == Some(id))
            .cloned()
    }

    /// Created purchase orders of customer `i`, oldest first.
    pub fn orders_of(&self, i: u32) -> Vec<Value> {
        let s = self.state();
        s.by_contact
            .get(&i)
            .map(|v| v.iter().filter_map(|&k| s.orders.get(k).cloned()).collect())
            .unwrap_or_default()
    }

    /// The warehouse ships created order `number` (every shipment): the order becomes
    /// `Completed`, its shipments `Shipped` with the carrier, tracking number and tracking URL
    /// template, as the site's order process records them. False if no created order has that
    /// number.
    pub fn ship(&self, w: &World, number: &str, carrier: &str, tracking: &str, url: &str) -> bool {
        let mut s = self.state();
        s.ticks += 1;
        let now = super::time(w.now() + Duration::seconds(s.ticks));
        let template = url
            .strip_suffix(tracking)
            .map(|u| format!("{u}{{0}}"))
            .unwrap_or_else(|| url.to_owned());
        let Some(po) = s
            .orders
            .iter_mut()
            .find(|o| o["OrderNumber"].as_str() == Some(number))
        else {
            return false;
        };
        po["Status"] = json!("Completed");
        po["Modified"] = json!(now);
        if let Some(forms) = po["OrderForms"].as_array_mut() {
            for form in forms {
                if let Some(ships) = form["Shipments"].as_array_mut() {
                    for ship in ships {
                        ship["PrevStatus"] = ship["Status"].clone();
                        ship["Status"] = json!("Shipped");
                        ship["ShippingMethodName"] = json!(carrier);
                        ship["ShipmentTrackingNumber"] = json!(tracking);
                        ship["Properties"] = json!([
                            super::orders::property("ShipmentNumber", &format!("SH-{number}")),
                            super::orders::property("ShippedDate", &now),
                            super::orders::property("Carrier", carrier),
                            super::orders::property("CarrierTrackingUrl", &template),
                        ]);
                    }
                }
            }
        }
        true
    }

    /// Created purchase orders with OrderGroupId in `from..to`.
    pub fn orders_between(&self, from: u64, to: u64) -> Vec<Value> {
        self.state()
            .orders
            .iter()
            .filter(|o| {
                o["OrderGroupId"]
                    .as_u64()
                    .is_some_and(|id| id >= from && id < to)
            })
            .cloned()
            .collect()
    }
}

fn key(customer: &str, name: &str, market: &str) -> (String, String, String) {
    (
        customer.trim().to_ascii_lowercase(),
        name.to_owned(),
        market.to_ascii_uppercase(),
    )
}

/// `GET /carts/{customerId}/{cartName}/{marketId}`.
pub fn get_cart(w: &World, writes: &Writes, customer: &str, name: &str, market: &str) -> Response {
    if contact_index(w, customer).is_none() {
        return super::not_found();
    }
    match writes.state().carts.get(&key(customer, name, market)) {
        Some(cart) => ok(cart),
        None => super::not_found(),
    }
}

/// `DELETE /carts/{customerId}/{cartName}/{marketId}`.
pub fn delete_cart(writes: &Writes, customer: &str, name: &str, market: &str) -> Response {
    let mut s = writes.state();
    match s.carts.remove(&key(customer, name, market)) {
        Some(_) => {
            s.ticks += 1;
            StatusCode::NO_CONTENT.into_response()
        }
        None => super::not_found(),
    }
}

fn next_id(s: &mut State) -> u64 {
    let id = s.next_id;
    s.next_id += 1;
    id
}

fn number_field(v: &Value, name: &str) -> Option<Decimal> {
    match v.get(name)? {
        Value::Number(n) => n.to_string().parse().ok(),
        Value::String(t) => t.trim().parse().ok(),
        _ => None,
    }
}

/// Every line item of a cart or order body, mutable (order form lines and shipment lines).
fn line_items_mut(body: &mut Value) -> Vec<&mut Value> {
    let mut out = Vec::new();
    if let Some(forms) = body.get_mut("OrderForms").and_then(Value::as_array_mut) {
        for form in forms {
            let Some(form) = form.as_object_mut() else {
                continue;
            };
            for (k, v) in form.iter_mut() {
                match k.as_str() {
                    "LineItems" => {
                        if let Some(lines) = v.as_array_mut() {
                            out.extend(lines.iter_mut());
                        }
                    }
                    "Shipments" => {
                        if let Some(ships) = v.as_array_mut() {
                            for s in ships {
                                if let Some(lines) =
                                    s.get_mut("LineItems").and_then(Value::as_array_mut)
                                {
                                    out.extend(lines.iter_mut());
                                }
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    out
}

/// `PUT /carts/{customerId}/{cartName}/{marketId}`.
pub fn put_cart(
    w: &World,
    writes: &Writes,
    customer: &str,
    name: &str,
    market: &str,
    body: &[u8],
) -> Response {
    let Some(i) = contact_index(w, customer) else {
        return bad_request(&format!("'{customer}' is not a customer contact."));
    };
    let Ok(mut cart) = serde_json::from_slice::<Value>(body) else {
        return bad_request("The request body is not a cart.");
    };
    if !cart.is_object() {
        return bad_request("The request body is not a cart.");
    }
    for line in line_items_mut(&mut cart) {
        let code = line.get("Code").and_then(Value::as_str).unwrap_or("");
        if w.sku_index(&Sku::new(code)).is_none() {
            return bad_request(&format!("'{code}' is not a catalog entry code."));
        }
        if number_field(line, "Quantity").is_none_or(|q| q <= Decimal::ZERO) {
            return bad_request(&format!("The quantity of '{code}' must be positive."));
        }
    }
    let mut s = writes.state();
    s.ticks += 1;
    let now = time(w.now() + Duration::seconds(s.ticks));
    let k = key(customer, name, market);
    let (id, created, mut line_id) = match s.carts.get(&k) {
        Some(old) => (
            old["OrderGroupId"].as_u64().unwrap_or(0),
            old["Created"].clone(),
            old["NextLineItemId"].as_i64().unwrap_or(1),
        ),
        None => {
            let id = next_id(&mut s);
            (id, Value::String(now.clone()), (id as i64) * 100)
        }
    };
    for line in line_items_mut(&mut cart) {
        if line.get("LineItemId").and_then(Value::as_i64).unwrap_or(0) <= 0 {
            line_id += 1;
            line["LineItemId"] = json!(line_id);
        }
    }
    cart["OrderGroupId"] = json!(id);
    cart["CustomerId"] = json!(super::customers::contact_id(i));
    cart["Name"] = json!(name);
    cart["MarketId"] = json!(market);
    cart["Created"] = created;
    cart["Modified"] = json!(now);
    cart["NextLineItemId"] = json!(line_id);
    let answer = cart.clone();
    s.carts.insert(k, cart);
    let mut body = answer;
    if let Some(o) = body.as_object_mut() {
        o.remove("NextLineItemId");
    }
    ok(&body)
}

fn variant_name(w: &World, sku: &Sku) -> String {
    let Some((pi, _)) = w.sku_index(sku) else {
        return String::new();
    };
    w.product(pi, "")
        .variants
        .into_iter()
        .find(|v| v.sku == *sku)
        .and_then(|v| v.name.get(&Locale::en_gb()).map(str::to_owned))
        .unwrap_or_default()
}

/// `POST /orders`.
pub fn post_order(w: &World, writes: &Writes, body: &[u8]) -> Response {
    let Ok(mut po) = serde_json::from_slice::<Value>(body) else {
        return bad_request("The request body is not a purchase order.");
    };
    if !po.is_object() {
        return bad_request("The request body is not a purchase order.");
    }
    let customer = po["CustomerId"].as_str().unwrap_or("").to_owned();
    let Some(i) = contact_index(w, &customer) else {
        return bad_request(&format!(
            "CustomerId '{customer}' is not a customer contact."
        ));
    };
    if po["Name"].as_str().unwrap_or("").trim().is_empty() {
        return bad_request("The Name field is required.");
    }
    // Reservations: every shipment line in its shipment's warehouse.
    let mut reservations: Vec<(String, String, i64)> = Vec::new();
    for form in po["OrderForms"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[])
    {
        for s in form["Shipments"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or(&[])
        {
            let warehouse = s["WarehouseCode"].as_str().unwrap_or("").to_owned();
            if !w
                .locations()
                .iter()
                .any(|l| l.id == LocationId::new(&warehouse))
            {
                return bad_request(&format!("'{warehouse}' is not a warehouse code."));
            }
            for line in s["LineItems"].as_array().map(Vec::as_slice).unwrap_or(&[]) {
                let code = line["Code"].as_str().unwrap_or("");
                if w.sku_index(&Sku::new(code)).is_none() {
                    return bad_request(&format!("'{code}' is not a catalog entry code."));
                }
                let Some(q) = number_field(line, "Quantity").filter(|q| *q > Decimal::ZERO) else {
                    return bad_request(&format!("The quantity of '{code}' must be positive."));
                };
                let units = i64::try_from(q.ceil().mantissa()).unwrap_or(0);
                reservations.push((code.to_owned(), warehouse.clone(), units));
            }
        }
    }
    let names: Vec<String> = line_items_mut(&mut po)
        .iter()
        .map(|l| {
            let given = l["DisplayName"].as_str().unwrap_or("");
            if given.is_empty() {
                variant_name(w, &Sku::new(l["Code"].as_str().unwrap_or("")))
            } else {
                given.to_owned()
            }
        })
        .collect();
    let mut s = writes.state();
    s.ticks += 1;
    let now = time(w.now() + Duration::seconds(s.ticks));
    let id = next_id(&mut s);
    let mut line_id = (id as i64) * 100;
    for (line, name) in line_items_mut(&mut po).into_iter().zip(names) {
        line_id += 1;
        line["LineItemId"] = json!(line_id);
        line["DisplayName"] = json!(name);
    }
    let mut shipment_id = (id as i64) * 10;
    if let Some(forms) = po["OrderForms"].as_array_mut() {
        for (f, form) in forms.iter_mut().enumerate() {
            form["OrderFormId"] = json!(id * 10 + f as u64);
            if let Some(ships) = form["Shipments"].as_array_mut() {
                for ship in ships {
                    shipment_id += 1;
                    ship["ShipmentId"] = json!(shipment_id);
                }
            }
        }
    }
    po["OrderGroupId"] = json!(id);
    po["OrderNumber"] = json!(format!("{DEMO_ORDER_NUMBER_PREFIX}{id:07}"));
    po["CustomerId"] = json!(super::customers::contact_id(i));
    po["Created"] = json!(now);
    po["Modified"] = json!(now);
    if po["Status"].as_str().unwrap_or("").is_empty() {
        po["Status"] = json!("InProgress");
    }
    for (sku, warehouse, units) in reservations {
        *s.reserved.entry((sku, warehouse)).or_default() += units;
    }
    let k = s.orders.len();
    s.orders.push(po.clone());
    s.by_contact.entry(i).or_default().push(k);
    drop(s);
    let mut resp = json_response(StatusCode::CREATED, &po);
    if let Ok(v) = HeaderValue::from_str(&format!("/episerverapi/commerce/orders/{id}")) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    resp
}

/// The 502 a proxy sends when the site's answer is lost.
pub fn lost() -> Response {
    web_api_error(
        StatusCode::BAD_GATEWAY,
        "The gateway lost the site's answer (simulated).",
    )
}
