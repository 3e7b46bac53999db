//! The writes the simulator accepts, in Business Central's dialect:
//!
//! - `POST .../api/v2.0/companies({id})/salesQuotes` and `.../salesOrders`, with the lines as
//!   a deep insert (`salesQuoteLines` / `salesOrderLines`), answered with `201 Created`, the
//!   entity (expanded as the URL's `$expand` asks), `Location` and `ETag`;
//! - `POST .../salesQuotes({id})/Microsoft.NAV.makeOrder`, answered with `204 No Content`:
//!   the quote becomes a sales order and is deleted (the extension's quote log keeps its row);
//!   an expired quote fails with `Application_DialogException`, a converted (deleted) one with
//!   `Internal_RecordNotFound`;
//! - `PATCH .../api/samlet/commerce/v1.0/companies({id})/salesQuoteTracking({id})` and
//!   `.../salesOrderTracking({id})` for the extension's fields, with `If-Match` required.
//!
//! Bodies are checked like Business Central checks them: unknown or read-only properties,
//! customers, items, variants and locations that do not exist, and text longer than its
//! field are rejected with OData error bodies. Orders reserve what is available of each line
//! at the line's location.

use super::entities::{self, Route, LCY, NULL_GUID};
use super::journal::{DocLine, Journal, PlacedOrder, Quote, ShipTo};
use super::odata::{self, ODataError};
use super::{json_response, Sim};
use axum::body::Bytes;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use rust_decimal::Decimal;
use samlet_connector::context::{Channel, Currency, PriceChannel};
use samlet_connector::ids::{CustomerNumber, Sku};
use samlet_testkit::world::{CustomerSlice, CURRENCIES};
use samlet_testkit::World;
use serde_json::{Map, Value};

type Answer = Result<Response, ODataError>;

fn fail(status: StatusCode, code: &'static str, message: impl Into<String>) -> ODataError {
    ODataError {
        status,
        code,
        message: message.into(),
    }
}

fn bad(code: &'static str, message: impl Into<String>) -> ODataError {
    fail(StatusCode::BAD_REQUEST, code, message)
}

fn dialog(message: impl Into<String>) -> ODataError {
    bad("Application_DialogException", message)
}

/// The key inside `name(key)`.
fn keyed<'a>(segment: &'a str, name: &str) -> Option<&'a str> {
    segment
        .strip_prefix(name)?
        .strip_prefix('(')?
        .strip_suffix(')')
}

/// Answers a write request (anything but GET) below `companies({id})`.
pub(super) fn handle(
    sim: &Sim,
    method: &Method,
    route: Route,
    path: &[&str],
    uri: &Uri,
    headers: &HeaderMap,
    body: &Bytes,
) -> Response {
    let outcome = match (method.as_str(), route, path) {
        ("POST", Route::Standard, ["salesQuotes"]) => create_quote(sim, uri, body),
        ("POST", Route::Standard, ["salesOrders"]) => create_order(sim, uri, body),
        ("POST", Route::Standard, [quote, "Microsoft.NAV.makeOrder"]) => {
            match keyed(quote, "salesQuotes") {
                Some(id) => make_order(sim, id),
                None => Err(not_found(uri)),
            }
        }
        ("PATCH", Route::Custom, [row]) => {
            if let Some(id) = keyed(row, "salesQuoteTracking") {
                patch_quote_tracking(sim, id, headers, body)
            } else if let Some(id) = keyed(row, "salesOrderTracking") {
                patch_order_tracking(sim, id, headers, body)
            } else {
                Err(unsupported(method, uri))
            }
        }
        _ => Err(unsupported(method, uri)),
    };
    outcome.unwrap_or_else(super::answer)
}

fn not_found(uri: &Uri) -> ODataError {
    fail(
        StatusCode::NOT_FOUND,
        "BadRequest_ResourceNotFound",
        format!(
            "No HTTP resource was found that matches the request URI '{}'.",
            uri.path()
        ),
    )
}

fn unsupported(method: &Method, uri: &Uri) -> ODataError {
    ODataError::not_implemented(format!(
        "The simulator does not implement {method} on '{}'.",
        uri.path()
    ))
}

/// The answer when a committed write's response is lost on the way back: the gateway's
/// timeout (the body Business Central's front end sends, as for injected faults).
fn lost() -> ODataError {
    fail(
        StatusCode::GATEWAY_TIMEOUT,
        "GatewayTimeout",
        "The request timed out at the gateway before Business Central answered.",
    )
}

// ---------------------------------------------------------------------------------------------
// Body parsing.

fn parse_body(body: &Bytes) -> Result<Map<String, Value>, ODataError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(bad(
            "BadRequest",
            "The request body is not a valid JSON object for this entity.",
        )),
    }
}

/// Rejects properties the entity type does not have or does not let clients write.
fn check_props(
    obj: &Map<String, Value>,
    writable: &[&str],
    type_name: &str,
) -> Result<(), ODataError> {
    match obj.keys().find(|k| !writable.contains(&k.as_str())) {
        Some(k) => Err(bad(
            "BadRequest",
            format!("The property '{k}' does not exist on type 'Microsoft.NAV.{type_name}' or is read-only. Make sure to only use property names that are defined by the type."),
        )),
        None => Ok(()),
    }
}

/// A text property, at most `max` characters (blank when absent).
fn text(obj: &Map<String, Value>, field: &str, max: usize) -> Result<String, ODataError> {
    let value = match obj.get(field) {
        None | Some(Value::Null) => return Ok(String::new()),
        Some(Value::String(s)) => s.clone(),
        Some(other) => {
            return Err(bad(
                "BadRequest",
                format!("Cannot convert the literal '{other}' to the expected type 'Edm.String' of '{field}'."),
            ))
        }
    };
    let n = value.chars().count();
    if n > max {
        return Err(bad(
            "Application_StringExceededLength",
            format!("The length of the string is {n}, but it must be less than or equal to {max} characters. Value: {value}"),
        ));
    }
    Ok(value)
}

fn decimal(obj: &Map<String, Value>, field: &str) -> Result<Option<Decimal>, ODataError> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => {
            let t = n.to_string();
            t.parse::<Decimal>()
                .or_else(|_| Decimal::from_scientific(&t))
                .map(Some)
                .map_err(|_| bad("BadRequest", format!("Cannot convert '{t}' to Edm.Decimal for '{field}'.")))
        }
        Some(other) => Err(bad(
            "BadRequest",
            format!("Cannot convert the literal '{other}' to the expected type 'Edm.Decimal' of '{field}'."),
        )),
    }
}

fn date(obj: &Map<String, Value>, field: &str) -> Result<Option<chrono::NaiveDate>, ODataError> {
    let t = text(obj, field, 10)?;
    if t.is_empty() {
        return Ok(None);
    }
    chrono::NaiveDate::parse_from_str(&t, "%Y-%m-%d")
        .map(Some)
        .map_err(|_| {
            bad(
                "BadRequest",
                format!("Cannot convert the literal '{t}' to the expected type 'Edm.Date' of '{field}'."),
            )
        })
}

fn customer_of(w: &World, obj: &Map<String, Value>) -> Result<u32, ODataError> {
    let number = text(obj, "customerNumber", 20)?;
    w.customer_index(&CustomerNumber::new(number.as_str()))
        .filter(|&i| w.in_slice(CustomerSlice::Erp, i))
        .ok_or_else(|| {
            dialog(format!(
                "The Customer does not exist. Identification fields and values: No.='{number}'"
            ))
        })
}

fn currency_of(obj: &Map<String, Value>) -> Result<Currency, ODataError> {
    let code = text(obj, "currencyCode", 10)?;
    if code.is_empty() {
        return Ok(LCY);
    }
    code.parse::<Currency>()
        .ok()
        .filter(|c| CURRENCIES.contains(c))
        .ok_or_else(|| {
            dialog(format!(
                "The Currency does not exist. Identification fields and values: Code='{code}'"
            ))
        })
}

const LINE_WRITABLE: &[&str] = &[
    "sequence",
    "lineType",
    "itemId",
    "lineObjectNumber",
    "description",
    "quantity",
    "unitPrice",
    "itemVariantId",
    "locationId",
];

/// The deep-inserted lines of a document.
fn parse_lines(
    w: &World,
    value: Option<&Value>,
    type_name: &str,
    currency: Currency,
    customer: u32,
) -> Result<Vec<DocLine>, ODataError> {
    let items = match value {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(items)) => items,
        Some(_) => {
            return Err(bad(
                "BadRequest",
                format!("The navigation property for '{type_name}' must be an array."),
            ))
        }
    };
    let group = w.customer(customer).customer_group;
    let mut out: Vec<DocLine> = Vec::with_capacity(items.len());
    for (n, item) in items.iter().enumerate() {
        let Value::Object(obj) = item else {
            return Err(bad(
                "BadRequest",
                format!("A {type_name} must be a JSON object."),
            ));
        };
        check_props(obj, LINE_WRITABLE, type_name)?;
        let line_type = text(obj, "lineType", 20)?;
        if !line_type.is_empty() && line_type != "Item" {
            return Err(ODataError::not_implemented(format!(
                "The simulator accepts item lines only, not lineType '{line_type}'."
            )));
        }
        let number = text(obj, "lineObjectNumber", 20)?;
        let item_id = text(obj, "itemId", 36)?;
        let index = if !number.is_empty() {
            w.product_index(&samlet_connector::ids::ProductId::new(number.as_str()))
        } else {
            entities::item_of_guid(w, &item_id)
        };
        let Some(index) = index else {
            return Err(dialog("Item does not exist."));
        };
        let variant_id = text(obj, "itemVariantId", 36)?;
        let skus = w.skus(index);
        let sku: Sku = if variant_id.is_empty() || variant_id == NULL_GUID {
            Sku::new(World::product_id(index).as_str())
        } else {
            match entities::variant_of_guid(w, &variant_id) {
                Some((i, v)) if i == index => skus[v as usize].clone(),
                _ => {
                    return Err(dialog(format!(
                        "The Item Variant does not exist. Identification fields and values: Item No.='{}'",
                        World::product_id(index).as_str()
                    )))
                }
            }
        };
        let location_id = text(obj, "locationId", 36)?;
        let location = if location_id.is_empty() || location_id == NULL_GUID {
            String::new()
        } else {
            entities::location_code_of_guid(w, &location_id)
                .ok_or_else(|| dialog("The Location does not exist."))?
        };
        let quantity = decimal(obj, "quantity")?.unwrap_or(Decimal::ZERO);
        if quantity <= Decimal::ZERO {
            return Err(dialog("Quantity must be positive."));
        }
        let unit_price = match decimal(obj, "unitPrice")? {
            Some(p) if p < Decimal::ZERO => return Err(dialog("Unit Price must not be negative.")),
            Some(p) => p,
            // Without a price, Business Central takes the best price of the customer's price
            // lists; the simulator takes the online one.
            None => w
                .price(&sku, PriceChannel::Online, currency, group.as_ref())
                .map(|p| p.amount.amount)
                .unwrap_or(Decimal::ZERO),
        };
        let sequence = match obj.get("sequence").and_then(Value::as_u64) {
            Some(s) => u32::try_from(s).map_err(|_| dialog("The sequence is out of range."))?,
            None => (n as u32 + 1) * 10_000,
        };
        if out.iter().any(|l| l.sequence == sequence) {
            return Err(dialog(format!(
                "The Sales Line already exists. Identification fields and values: Line No.='{sequence}'"
            )));
        }
        let description = match text(obj, "description", 100)? {
            d if d.is_empty() => entities::variant_description(w, &sku),
            d => d,
        };
        let (item, variant) = sku.as_str().split_once('-').unwrap_or((sku.as_str(), ""));
        out.push(DocLine {
            sequence,
            item: item.to_owned(),
            variant: variant.to_owned(),
            description,
            quantity,
            unit_price,
            location,
        });
    }
    Ok(out)
}

fn created(uri: &Uri, set_name: &str, id: &str, mut row: Value) -> Answer {
    let set = entities::entity_set(Route::Standard, set_name).ok_or_else(|| not_found(uri))?;
    let expand = match uri.query().and_then(|q| {
        url::form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == "$expand")
            .map(|(_, v)| v.into_owned())
    }) {
        Some(v) => {
            let items = odata::parse_expand(&v)?;
            odata::check_expand(&items, set.navs, set.type_name)?;
            items
        }
        None => Vec::new(),
    };
    odata::shape(&mut row, set.navs, &expand, None);
    let etag = row
        .get("@odata.etag")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    let mut resp = json_response(row, None);
    *resp.status_mut() = StatusCode::CREATED;
    let location = format!("{}({id})", uri.path());
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&location) {
        h.insert(header::LOCATION, v);
    }
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    Ok(resp)
}

// ---------------------------------------------------------------------------------------------
// Quotes.

const QUOTE_WRITABLE: &[&str] = &[
    "customerNumber",
    "externalDocumentNumber",
    "documentDate",
    "validUntilDate",
    "currencyCode",
    "salesperson",
    "salesQuoteLines",
];

fn create_quote(sim: &Sim, uri: &Uri, body: &Bytes) -> Answer {
    let w = &sim.world;
    let obj = parse_body(body)?;
    check_props(&obj, QUOTE_WRITABLE, "salesQuote")?;
    let customer = customer_of(w, &obj)?;
    // Code fields are stored in upper case.
    let external = text(&obj, "externalDocumentNumber", 35)?.to_uppercase();
    let currency = currency_of(&obj)?;
    let valid_until = date(&obj, "validUntilDate")?;
    let document_date = date(&obj, "documentDate")?;
    let salesperson = text(&obj, "salesperson", 20)?.to_uppercase();
    let lines = parse_lines(
        w,
        obj.get("salesQuoteLines"),
        "salesQuoteLine",
        currency,
        customer,
    )?;
    let mut j = sim.journal_mut();
    let now = j.tick(w);
    let q = Quote {
        seq: j.quotes.len() as u64,
        number: j.next_quote_number(),
        external_document_number: external,
        customer,
        currency,
        gross: w.customer(customer).customer_group.is_none(),
        lines,
        document_date: document_date.unwrap_or_else(|| Journal::today(w)),
        valid_until,
        created_at: now,
        salesperson,
        store: String::new(),
        created_by: String::new(),
        channel: String::new(),
        conversion_key: String::new(),
        order_number: None,
        converted_at: None,
        version: 1,
    };
    j.quotes.push(q.clone());
    if j.take_lost_response() {
        return Err(lost());
    }
    drop(j);
    created(
        uri,
        "salesQuotes",
        &entities::quote_guid(&q),
        entities::sales_quote(w, &q),
    )
}

fn make_order(sim: &Sim, id: &str) -> Answer {
    let w = &sim.world;
    let mut j = sim.journal_mut();
    let Some(index) = entities::quote_of_guid(id).filter(|&i| i < j.quotes.len()) else {
        return Err(fail(
            StatusCode::NOT_FOUND,
            "BadRequest_ResourceNotFound",
            format!("The salesQuote with id '{id}' does not exist."),
        ));
    };
    let q = j.quotes[index].clone();
    if !q.live() {
        // Converting deletes the quote: a second conversion finds nothing to convert.
        return Err(fail(
            StatusCode::NOT_FOUND,
            "Internal_RecordNotFound",
            format!(
                "The Sales Header does not exist. Identification fields and values: Document Type='Quote',No.='{}'",
                q.number
            ),
        ));
    }
    let today = Journal::today(w);
    if let Some(until) = q.valid_until.filter(|d| *d < today) {
        return Err(dialog(format!(
            "Sales Quote {} expired on {until} (Quote Valid Until Date) and cannot be made into an order. Extend the date or make a new quote.",
            q.number
        )));
    }
    let now = j.tick(w);
    let number = j.next_order_number(w);
    j.reserve(w, &q.lines);
    let order = PlacedOrder {
        seq: j.orders.len() as u64,
        number: number.clone(),
        external_document_number: q.external_document_number.clone(),
        customer: q.customer,
        currency: q.currency,
        gross: q.gross,
        lines: q.lines.clone(),
        placed_at: now,
        ship_to: ShipTo::default(),
        channel: q.channel.clone(),
        store: q.store.clone(),
        fulfilment: String::new(),
        quote_number: q.number.clone(),
        version: 1,
        shipment: None,
    };
    j.orders.push(order);
    let quote = &mut j.quotes[index];
    quote.order_number = Some(number);
    quote.converted_at = Some(now);
    quote.version += 1;
    if j.take_lost_response() {
        return Err(lost());
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

// ---------------------------------------------------------------------------------------------
// Orders.

const ORDER_WRITABLE: &[&str] = &[
    "customerNumber",
    "externalDocumentNumber",
    "currencyCode",
    "shipToName",
    "shipToAddressLine1",
    "shipToAddressLine2",
    "shipToCity",
    "shipToCountry",
    "shipToPostCode",
    "salesOrderLines",
];

fn create_order(sim: &Sim, uri: &Uri, body: &Bytes) -> Answer {
    let w = &sim.world;
    let obj = parse_body(body)?;
    check_props(&obj, ORDER_WRITABLE, "salesOrder")?;
    let customer = customer_of(w, &obj)?;
    let external = text(&obj, "externalDocumentNumber", 35)?.to_uppercase();
    let currency = currency_of(&obj)?;
    let ship_to = ShipTo {
        name: text(&obj, "shipToName", 100)?,
        address_line1: text(&obj, "shipToAddressLine1", 100)?,
        address_line2: text(&obj, "shipToAddressLine2", 50)?,
        city: text(&obj, "shipToCity", 30)?,
        post_code: text(&obj, "shipToPostCode", 20)?.to_uppercase(),
        country: text(&obj, "shipToCountry", 10)?.to_uppercase(),
    };
    let lines = parse_lines(
        w,
        obj.get("salesOrderLines"),
        "salesOrderLine",
        currency,
        customer,
    )?;
    let mut j = sim.journal_mut();
    let now = j.tick(w);
    let number = j.next_order_number(w);
    j.reserve(w, &lines);
    let order = PlacedOrder {
        seq: j.orders.len() as u64,
        number,
        external_document_number: external,
        customer,
        currency,
        gross: w.customer(customer).customer_group.is_none(),
        lines,
        placed_at: now,
        ship_to,
        channel: String::new(),
        store: String::new(),
        fulfilment: String::new(),
        quote_number: String::new(),
        version: 1,
        shipment: None,
    };
    let index = u64::from(w.order_count()) + order.seq;
    j.orders.push(order.clone());
    if j.take_lost_response() {
        return Err(lost());
    }
    drop(j);
    let row = entities::placed_order(w, &order, index);
    let id = row["id"].as_str().unwrap_or_default().to_owned();
    created(uri, "salesOrders", &id, row)
}

// ---------------------------------------------------------------------------------------------
// The extension's tracking pages.

/// Checks `If-Match` against the row's ETag: required, `*` or the current one.
fn check_if_match(headers: &HeaderMap, current: &str) -> Result<(), ODataError> {
    match headers.get(header::IF_MATCH).and_then(|v| v.to_str().ok()) {
        None => Err(bad(
            "BadRequest",
            "Could not find an If-Match header on the request; an update needs the record's ETag or '*'.",
        )),
        Some("*") => Ok(()),
        Some(tag) if tag == current => Ok(()),
        Some(_) => Err(fail(
            StatusCode::CONFLICT,
            "Request_EntityChanged",
            "Another user has already changed the record.",
        )),
    }
}

fn store_code(w: &World, obj: &Map<String, Value>) -> Result<Option<String>, ODataError> {
    if !obj.contains_key("storeCode") {
        return Ok(None);
    }
    let code = text(obj, "storeCode", 10)?.to_uppercase();
    if !code.is_empty() && !w.locations().iter().any(|l| l.id.as_str() == code) {
        return Err(dialog(format!(
            "The Location does not exist. Identification fields and values: Code='{code}'"
        )));
    }
    Ok(Some(code))
}

fn channel(obj: &Map<String, Value>) -> Result<Option<String>, ODataError> {
    if !obj.contains_key("salesChannel") {
        return Ok(None);
    }
    let c = text(obj, "salesChannel", 20)?;
    if !c.is_empty() && c.parse::<Channel>().is_err() {
        return Err(dialog(format!(
            "'{c}' is not a sales channel; use web, app, store, kiosk, pos or email."
        )));
    }
    Ok(Some(c.to_lowercase()))
}

fn tracking_answer(row: Value) -> Response {
    let etag = row
        .get("@odata.etag")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    let mut resp = json_response(row, None);
    if let Ok(v) = HeaderValue::from_str(&etag) {
        resp.headers_mut().insert(header::ETAG, v);
    }
    resp
}

fn patch_quote_tracking(sim: &Sim, id: &str, headers: &HeaderMap, body: &Bytes) -> Answer {
    let w = &sim.world;
    let obj = parse_body(body)?;
    check_props(
        &obj,
        &["storeCode", "createdBy", "salesChannel", "conversionKey"],
        "salesQuoteTracking",
    )?;
    let mut j = sim.journal_mut();
    let Some(index) = entities::quote_of_guid(id).filter(|&i| i < j.quotes.len()) else {
        return Err(fail(
            StatusCode::NOT_FOUND,
            "BadRequest_ResourceNotFound",
            format!("The salesQuoteTracking with id '{id}' does not exist."),
        ));
    };
    let current = entities::quote_tracking(w, &j.quotes[index]);
    check_if_match(headers, current["@odata.etag"].as_str().unwrap_or(""))?;
    let store = store_code(w, &obj)?;
    let channel = channel(&obj)?;
    let created_by = obj
        .contains_key("createdBy")
        .then(|| text(&obj, "createdBy", 50))
        .transpose()?;
    let key = obj
        .contains_key("conversionKey")
        .then(|| text(&obj, "conversionKey", 35).map(|k| k.to_uppercase()))
        .transpose()?;
    let q = &mut j.quotes[index];
    if let (Some(key), Some(order)) = (&key, &q.order_number) {
        if *key != q.conversion_key {
            return Err(dialog(format!(
                "Sales Quote {} was made into order {order}; its conversion key cannot change.",
                q.number
            )));
        }
    }
    if let Some(s) = store {
        q.store = s;
    }
    if let Some(c) = channel {
        q.channel = c;
    }
    if let Some(c) = created_by {
        q.created_by = c;
    }
    if let Some(k) = key {
        q.conversion_key = k;
    }
    q.version += 1;
    let row = entities::quote_tracking(w, q);
    if j.take_lost_response() {
        return Err(lost());
    }
    Ok(tracking_answer(row))
}

fn patch_order_tracking(sim: &Sim, id: &str, headers: &HeaderMap, body: &Bytes) -> Answer {
    let w = &sim.world;
    let obj = parse_body(body)?;
    check_props(
        &obj,
        &["storeCode", "salesChannel", "fulfilment"],
        "salesOrderTracking",
    )?;
    let mut j = sim.journal_mut();
    let Some(index) = entities::placed_order_of_guid(w, id).filter(|&i| i < j.orders.len()) else {
        return Err(ODataError::not_implemented(format!(
            "The simulator keeps the world's orders read-only; '{id}' is not an order placed through the API."
        )));
    };
    let scan = u64::from(w.order_count()) + index as u64;
    let current = entities::placed_tracking(&j.orders[index], scan);
    check_if_match(headers, current["@odata.etag"].as_str().unwrap_or(""))?;
    let store = store_code(w, &obj)?;
    let channel = channel(&obj)?;
    let fulfilment = if obj.contains_key("fulfilment") {
        let f = text(&obj, "fulfilment", 20)?;
        if !["", "HomeDelivery", "ClickAndCollect", "ShipFromStore"].contains(&f.as_str()) {
            return Err(dialog(format!(
                "'{f}' is not a fulfilment; use HomeDelivery, ClickAndCollect or ShipFromStore."
            )));
        }
        Some(f)
    } else {
        None
    };
    let o = &mut j.orders[index];
    if let Some(s) = store {
        o.store = s;
    }
    if let Some(c) = channel {
        o.channel = c;
    }
    if let Some(f) = fulfilment {
        o.fulfilment = f;
    }
    o.version += 1;
    let row = entities::placed_tracking(o, scan);
    if j.take_lost_response() {
        return Err(lost());
    }
    Ok(tracking_answer(row))
}
