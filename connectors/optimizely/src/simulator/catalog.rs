//! Catalog routes of the simulated Service API, generated from the world on demand:
//!
//! - `GET /episerverapi/commerce/entries/{entryCode}`: a product (code = product id) or a
//!   variation (code = SKU) with meta fields in every language (`da`, `sv`, `no`, `en`):
//!   `DisplayName`, `Description`, `Material`, `Collection` (not culture specific) on products,
//!   `DisplayName` and `Color` on variations; child variations, parent product, catalog nodes
//!   (categories) and assets as `ResourceLink`s.
//! - `GET /episerverapi/commerce/entries/{startPage}/{pageSize}`: every entry in catalog order
//!   (each product followed by its variations), page `startPage` counted from 0. The Service API
//!   documents no page-size cap; the simulator refuses sizes outside 1..=1000 with a 400.
//! - `GET /episerverapi/commerce/entries/{entryCode}/prices`: every price of a variation: a
//!   list price for all customers per online market (`DK`, `SE`, `NO`, `EU`) and store market
//!   (`DK-STORE`, ...), a campaign price beside the list price in the online markets when the
//!   world runs an online campaign, the `B2B` price-group price in every market, a B2B volume
//!   price from 10 units, and an expired price from 2023.
//! - `GET /episerverapi/commerce/entries/{entryCode}/inventories`: stock in every warehouse.
//! - `GET /episerverapi/commerce/warehouses` and `/warehouses/{code}`: stores and the online
//!   warehouse with their flags and addresses (three-letter country codes).

use super::{alpha3, country_name, num, ok};
use axum::response::Response;
use rust_decimal::Decimal;
use samlet_connector::context::{Currency, PriceChannel};
use samlet_connector::ids::{CustomerGroup, ProductId, Sku};
use samlet_connector::model::{LocalizedText, LocationKind, Product};
use samlet_testkit::world::{B2B_GROUP, CURRENCIES};
use samlet_testkit::World;
use serde_json::{json, Value};

/// The largest listing page the simulator serves.
pub const MAX_LISTING_PAGE: u32 = 1_000;
const ENTRIES: &str = "/episerverapi/commerce/entries";
const APPLICATION_ID: &str = "b0a3e5c2-7f4d-4a6b-9c1e-2d8f0a6b3c51";
const LIST_FROM: &str = "2023-01-01T00:00:00Z";

/// Where each product's entry sits in catalog order: product `i` is entry `start[i]`, its
/// variations follow. Built once at start (one pass over the products' variant counts).
#[derive(Debug)]
pub struct CatalogIndex {
    start: Vec<u32>,
}

impl CatalogIndex {
    /// The index of `world`'s catalogue.
    pub fn new(world: &World) -> CatalogIndex {
        let mut start = Vec::with_capacity(world.product_count() as usize + 1);
        let mut at = 0u32;
        for i in 0..world.product_count() {
            start.push(at);
            at += 1 + world.skus(i).len() as u32;
        }
        start.push(at);
        CatalogIndex { start }
    }

    /// Entries in the catalogue.
    pub fn total(&self) -> u32 {
        self.start.last().copied().unwrap_or(0)
    }

    /// Entry `k`: its product and, for a variation, the variant index.
    fn at(&self, k: u32) -> Option<(u32, Option<u32>)> {
        if k >= self.total() {
            return None;
        }
        let i = self.start.partition_point(|&s| s <= k).checked_sub(1)? as u32;
        let offset = k - self.start[i as usize];
        Some((i, offset.checked_sub(1)))
    }
}

/// The Optimizely content language of a world locale.
fn language(locale: &str) -> &'static str {
    match locale {
        "da-DK" => "da",
        "sv-SE" => "sv",
        "nb-NO" => "no",
        _ => "en",
    }
}

fn meta_field(name: &str, kind: &str, text: &LocalizedText) -> Value {
    let only_english = text.0.len() == 1 && text.0.keys().all(|l| l.as_str() == "en-GB");
    let data: Vec<Value> = if only_english {
        // Not culture specific: one value, no language.
        text.0
            .values()
            .map(|v| json!({ "Language": null, "Value": v }))
            .collect()
    } else {
        text.0
            .iter()
            .map(|(l, v)| json!({ "Language": language(l.as_str()), "Value": v }))
            .collect()
    };
    json!({ "Name": name, "Type": kind, "Data": data })
}

fn pascal(code: &str) -> String {
    let mut c = code.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

fn english(text: &LocalizedText) -> String {
    text.get(&samlet_connector::context::Locale::en_gb())
        .unwrap_or_default()
        .to_owned()
}

fn link(title: &str, kind: &str, href: String) -> Value {
    json!({ "Title": title, "Type": kind, "Href": href, "Properties": [] })
}

fn asset(code: &str) -> Value {
    json!({
        "Title": code,
        "Type": "episerver.core.icontentimage",
        "Href": format!("/globalassets/catalog/{code}"),
        "Properties": [{ "Name": "GroupName", "Value": "default" }],
    })
}

fn node(code: &str) -> Value {
    link(
        &pascal(code),
        "Node",
        format!("/episerverapi/commerce/nodes/{code}"),
    )
}

fn seo(name: &LocalizedText, code: &str) -> Vec<Value> {
    name.0
        .iter()
        .map(|(l, v)| {
            let lang = language(l.as_str());
            let segment = code.to_lowercase();
            json!({
                "Title": v,
                "Uri": format!("{segment}.aspx"),
                "UriSegment": segment,
                "Description": "",
                "Keywords": "",
                "LanguageCode": lang,
            })
        })
        .collect()
}

fn product_entry(p: &Product) -> Value {
    let mut fields = vec![
        meta_field("DisplayName", "LongString", &p.name),
        meta_field("Description", "LongHtmlString", &p.description),
    ];
    for a in &p.attributes {
        fields.push(meta_field(&pascal(&a.code), "ShortString", &a.value));
    }
    json!({
        "Code": p.id.as_str(),
        "ApplicationId": APPLICATION_ID,
        "Name": english(&p.name),
        "ParentCatalogEntry": null,
        "StartDate": LIST_FROM,
        "EndDate": "2033-01-01T00:00:00Z",
        "IsActive": true,
        "MetaClass": "FurnitureProduct",
        "Catalog": "Samlet",
        "MetaFields": fields,
        "SeoInformation": seo(&p.name, p.id.as_str()),
        "Prices": [],
        "EntryType": "Product",
        "ChildCatalogEntries": p.variants.iter().map(|v| {
            link(&english(&v.name), "Variation", format!("{ENTRIES}/{}", v.sku))
        }).collect::<Vec<_>>(),
        "InventoryStatus": "Disabled",
        "WarehouseInventories": [],
        "Associations": [],
        "Assets": p.media.iter().map(|m| asset(&m.code)).collect::<Vec<_>>(),
        "Nodes": p.categories.iter().map(|c| node(c)).collect::<Vec<_>>(),
        "Variation": null,
    })
}

fn variant_entry(p: &Product, v: usize) -> Value {
    let Some(var) = p.variants.get(v) else {
        return Value::Null;
    };
    let sku = var.sku.as_str();
    let mut fields = vec![meta_field("DisplayName", "LongString", &var.name)];
    for a in &var.attributes {
        fields.push(meta_field(&pascal(&a.code), "ShortString", &a.value));
    }
    json!({
        "Code": sku,
        "ApplicationId": APPLICATION_ID,
        "Name": english(&var.name),
        "ParentCatalogEntry": link(&english(&p.name), "Product", format!("{ENTRIES}/{}", p.id)),
        "StartDate": LIST_FROM,
        "EndDate": "2033-01-01T00:00:00Z",
        "IsActive": true,
        "MetaClass": "FurnitureVariation",
        "Catalog": "Samlet",
        "MetaFields": fields,
        "SeoInformation": seo(&var.name, sku),
        "Prices": [link("Prices", "Price", format!("{ENTRIES}/{sku}/prices"))],
        "EntryType": "Variation",
        "ChildCatalogEntries": [],
        "InventoryStatus": "Enabled",
        "WarehouseInventories": [link("Inventories", "WarehouseInventory", format!("{ENTRIES}/{sku}/inventories"))],
        "Associations": [],
        "Assets": var.media.iter().map(|m| asset(&m.code)).collect::<Vec<_>>(),
        "Nodes": p.categories.iter().map(|c| node(c)).collect::<Vec<_>>(),
        "Variation": { "MinQuantity": 1, "MaxQuantity": 100, "Weight": 12.5, "TaxCategory": "Standard" },
    })
}

/// `GET /entries/{entryCode}`.
pub fn entry(w: &World, code: &str) -> Response {
    if let Some(i) = w.product_index(&ProductId::new(code)) {
        return ok(&product_entry(&w.product(i, "")));
    }
    match w.sku_index(&Sku::new(code)) {
        Some((i, v)) => ok(&variant_entry(&w.product(i, ""), v as usize)),
        None => super::not_found(),
    }
}

/// `GET /entries/{startPage}/{pageSize}`.
pub fn entries_page(w: &World, index: &CatalogIndex, start: u32, size: u32) -> Response {
    if !(1..=MAX_LISTING_PAGE).contains(&size) {
        return super::bad_request(&format!(
            "pageSize must be between 1 and {MAX_LISTING_PAGE} (a limit of this simulator)."
        ));
    }
    let from = start.saturating_mul(size);
    let to = from.saturating_add(size).min(index.total());
    let mut out = Vec::with_capacity(to.saturating_sub(from) as usize);
    let mut current: Option<(u32, Product)> = None;
    for k in from..to {
        let Some((i, v)) = index.at(k) else { break };
        if current.as_ref().is_none_or(|(ci, _)| *ci != i) {
            current = Some((i, w.product(i, "")));
        }
        if let Some((_, p)) = &current {
            out.push(match v {
                None => product_entry(p),
                Some(v) => variant_entry(p, v as usize),
            });
        }
    }
    ok(&Value::Array(out))
}

// ---------------------------------------------------------------------------------------------
// Prices.

fn market(channel: PriceChannel, currency: Currency) -> String {
    let country = match currency.as_str() {
        "DKK" => "DK",
        "SEK" => "SE",
        "NOK" => "NO",
        _ => "EU",
    };
    match channel {
        PriceChannel::Online => country.to_owned(),
        PriceChannel::Store => format!("{country}-STORE"),
    }
}

struct PriceRow<'a> {
    market: String,
    currency: Currency,
    kind: &'a str,
    code: &'a str,
    from: &'a str,
    until: Option<&'a str>,
    min_quantity: u32,
    amount: Decimal,
}

/// `GET /entries/{entryCode}/prices`.
pub fn prices(w: &World, code: &str) -> Response {
    let sku = Sku::new(code);
    let Some((i, v)) = w.sku_index(&sku) else {
        return super::not_found();
    };
    let b2b = CustomerGroup::new(B2B_GROUP);
    let mut rows: Vec<PriceRow<'_>> = Vec::new();
    for currency in CURRENCIES {
        for channel in [PriceChannel::Online, PriceChannel::Store] {
            let m = market(channel, currency);
            let row = |kind, code, from, until, min_quantity, amount| PriceRow {
                market: m.clone(),
                currency,
                kind,
                code,
                from,
                until,
                min_quantity,
                amount,
            };
            if let Some(p) = w.price(&sku, channel, currency, None) {
                match p.regular {
                    Some(regular) => {
                        rows.push(row("AllCustomers", "", LIST_FROM, None, 0, regular.amount));
                        rows.push(row(
                            "AllCustomers",
                            "",
                            "2024-01-01T00:00:00Z",
                            None,
                            0,
                            p.amount.amount,
                        ));
                    }
                    None => rows.push(row("AllCustomers", "", LIST_FROM, None, 0, p.amount.amount)),
                }
                if channel == PriceChannel::Online {
                    // Last year's sale, long over.
                    rows.push(row(
                        "AllCustomers",
                        "",
                        "2022-11-01T00:00:00Z",
                        Some("2023-01-01T00:00:00Z"),
                        0,
                        (p.amount.amount / Decimal::TWO).round_dp(2),
                    ));
                }
            }
            if let Some(p) = w.price(&sku, channel, currency, Some(&b2b)) {
                rows.push(row(
                    "PriceGroup",
                    B2B_GROUP,
                    LIST_FROM,
                    None,
                    0,
                    p.amount.amount,
                ));
                if channel == PriceChannel::Online {
                    rows.push(row(
                        "PriceGroup",
                        B2B_GROUP,
                        LIST_FROM,
                        None,
                        10,
                        (p.amount.amount * Decimal::new(95, 2)).round_dp(2),
                    ));
                }
            }
        }
    }
    let base = ((i as i64) * 8 + v as i64) * 64;
    let body: Vec<Value> = rows
        .iter()
        .enumerate()
        .map(|(k, r)| {
            json!({
                "PriceValueId": base + k as i64,
                "CatalogEntryCode": code,
                "MarketId": r.market,
                "PriceTypeId": r.kind,
                "PriceCode": r.code,
                "ValidFrom": r.from,
                "ValidUntil": r.until,
                "MinQuantity": r.min_quantity,
                "UnitPrice": num(r.amount),
                "CurrencyCode": r.currency.as_str(),
            })
        })
        .collect();
    ok(&Value::Array(body))
}

// ---------------------------------------------------------------------------------------------
// Stock and warehouses.

/// `GET /entries/{entryCode}/inventories`.
/// `reserved(sku, warehouse)` adds the units reserved by orders placed through the API.
pub fn inventories(w: &World, code: &str, reserved: &dyn Fn(&str, &str) -> i64) -> Response {
    let Some(levels) = w.stock(&Sku::new(code)) else {
        return super::not_found();
    };
    let body: Vec<Value> = levels
        .iter()
        .map(|s| {
            json!({
                "CatalogEntryCode": code,
                "WarehouseCode": s.location.as_str(),
                "WarehouseLink": link(s.location.as_str(), "Warehouse", format!("/episerverapi/commerce/warehouses/{}", s.location)),
                "InStockQuantity": s.on_hand,
                "ReservedQuantity": s.reserved + reserved(code, s.location.as_str()),
                "ReorderMinQuantity": 2,
                "PreorderQuantity": 0,
                "BackorderQuantity": 0,
                "AllowBackorder": false,
                "AllowPreorder": false,
                "InventoryStatus": "Enabled",
                "PreorderAvailabilityDate": null,
                "BackorderAvailabilityDate": null,
                "PurchaseAvailableDate": LIST_FROM,
            })
        })
        .collect();
    ok(&Value::Array(body))
}

fn warehouse_json(w: &World, k: usize) -> Value {
    let l = &w.locations()[k];
    let store = l.kind == LocationKind::Store;
    json!({
        "ApplicationId": APPLICATION_ID,
        "Name": l.name,
        "IsActive": true,
        "IsPrimary": !store,
        "SortOrder": k,
        "Code": l.id.as_str(),
        "FulfillmentPriorityOrder": if store { 1 } else { 0 },
        "IsFulfillmentCenter": !store,
        "IsPickupLocation": l.click_and_collect,
        "IsDeliveryLocation": store,
        "FirstName": "",
        "LastName": "",
        "Organization": "Samlet",
        "Line1": l.address.street,
        "Line2": "",
        "City": l.address.city,
        "State": "",
        "CountryCode": alpha3(&l.address.country),
        "CountryName": country_name(&l.address.country),
        "PostalCode": l.address.postal_code,
        "RegionCode": "",
        "RegionName": "",
        "DaytimePhoneNumber": "",
        "EveningPhoneNumber": "",
        "FaxNumber": "",
        "Email": format!("{}@samlet.example", l.id.as_str().to_lowercase()),
    })
}

/// `GET /warehouses`.
pub fn warehouses(w: &World) -> Response {
    let all: Vec<Value> = (0..w.locations().len())
        .map(|k| warehouse_json(w, k))
        .collect();
    ok(&Value::Array(all))
}

/// `GET /warehouses/{code}`.
pub fn warehouse(w: &World, code: &str) -> Response {
    match w.locations().iter().position(|l| l.id.as_str() == code) {
        Some(k) => ok(&warehouse_json(w, k)),
        None => super::not_found(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use samlet_testkit::WorldConfig;

    #[test]
    fn the_index_places_products_and_variations_in_catalog_order() {
        let w = World::new(WorldConfig::default());
        let idx = CatalogIndex::new(&w);
        let n0 = w.skus(0).len() as u32;
        assert_eq!(idx.at(0), Some((0, None)));
        assert_eq!(idx.at(1), Some((0, Some(0))));
        assert_eq!(idx.at(n0), Some((0, Some(n0 - 1))));
        assert_eq!(idx.at(n0 + 1), Some((1, None)));
        let total: u32 = (0..w.product_count())
            .map(|i| 1 + w.skus(i).len() as u32)
            .sum();
        assert_eq!(idx.total(), total);
        assert_eq!(
            idx.at(total - 1).map(|(i, _)| i),
            Some(w.product_count() - 1)
        );
        assert_eq!(idx.at(total), None);
    }
}
