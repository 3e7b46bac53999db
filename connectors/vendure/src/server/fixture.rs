//! The world slice a Vendure server is seeded with, as the JSON fixture `server/seed.js` reads:
//! already in Vendure's terms (language codes `da`, `sv`, `nb`, `en`; currency codes; prices
//! in integer minor units), so the Node side only calls Vendure's services.
//!
//! - Channels: `online` (Vendure's default channel, token [`ONLINE_TOKEN`]), `store`
//!   ([`STORE_TOKEN`]) and `b2b` ([`B2B_TOKEN`], `pricesIncludeTax: false`), each with the four
//!   currencies. The online channel holds campaign prices with their regular price in the
//!   `regularPrice` custom field; B2B prices are the world's B2B prices.
//! - Stock locations are the world's locations; stock on hand and allocated per location.
//! - Facets: `category` (the world's category codes) and one facet per product attribute
//!   (`material`, `collection`), valued in the locales the world has them in.
//! - One option group per variant axis (`color`).
//! - Besides the superadmin, an administrator ([`READER_USERNAME`]) whose role may only read
//!   the catalogue and stock locations.

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use samlet_connector::context::{Currency, PriceChannel};
use samlet_connector::ids::CustomerGroup;
use samlet_connector::model::{LocalizedText, LocationKind};
use samlet_testkit::world::{B2B_GROUP, CURRENCIES};
use samlet_testkit::World;
use serde_json::{json, Map, Value};

/// The token of the online price channel (the server's default channel).
pub const ONLINE_TOKEN: &str = "samlet-online";
/// The token of the in-store price channel.
pub const STORE_TOKEN: &str = "samlet-store";
/// The token of the B2B price channel (prices without VAT).
pub const B2B_TOKEN: &str = "samlet-b2b";
/// The facet whose values are the products' categories.
pub const CATEGORY_FACET: &str = "category";
/// An administrator whose role may only read the catalogue and stock locations, on every
/// channel: what the connector needs, nothing more. **Test-only.**
pub const READER_USERNAME: &str = "reader@samlet.test";
/// The reader's password. **Test-only.**
pub const READER_PASSWORD: &str = "reader-test-only";

/// Vendure language code of a locale: its language (`da-DK` -> `da`).
fn language(locale: &samlet_connector::context::Locale) -> String {
    locale.as_str().split('-').next().unwrap_or("en").to_owned()
}

/// `{languageCode: value}` of a localised text.
fn names(text: &LocalizedText) -> Value {
    Value::Object(
        text.0
            .iter()
            .map(|(l, v)| (language(l), Value::String(v.clone())))
            .collect::<Map<_, _>>(),
    )
}

/// A code for a value: its English (else first) text, lower-cased, runs of anything but
/// letters and digits as `-`.
fn code_of(text: &LocalizedText) -> String {
    let raw = text
        .get(&samlet_connector::context::Locale::en_gb())
        .unwrap_or_default()
        .to_lowercase();
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        if c.is_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_owned()
}

/// An exact amount in minor units (two decimals, Vendure's default money strategy).
fn minor(amount: Decimal) -> Result<i64, String> {
    let m = amount * Decimal::from(100);
    if !m.fract().is_zero() {
        return Err(format!("{amount} has more than two decimals"));
    }
    m.to_i64()
        .ok_or_else(|| format!("{amount} does not fit in minor units"))
}

fn country_name(code: &str) -> &str {
    match code {
        "DK" => "Denmark",
        "SE" => "Sweden",
        "NO" => "Norway",
        "FI" => "Finland",
        other => other,
    }
}

/// The fixture for `world`: every product, its variants, prices and stock, and every location.
pub(crate) fn fixture(world: &World) -> Result<Value, String> {
    let b2b = CustomerGroup::new(B2B_GROUP);
    let mut countries: Vec<&str> = vec!["DK", "SE", "NO"];
    for l in world.locations() {
        if !countries.contains(&l.address.country.as_str()) {
            countries.push(&l.address.country);
        }
    }
    let locations: Vec<Value> = world
        .locations()
        .iter()
        .map(|l| {
            let kind = match l.kind {
                LocationKind::Store => "store",
                LocationKind::Warehouse => "warehouse",
            };
            json!({
                "code": l.id.as_str(),
                "name": l.name,
                "description": format!("{}, {} {}, {}", l.address.street, l.address.postal_code, l.address.city, l.address.country),
                "kind": kind,
                "street": l.address.street,
                "postalCode": l.address.postal_code,
                "city": l.address.city,
                "countryCode": l.address.country,
                "clickAndCollect": l.click_and_collect,
            })
        })
        .collect();

    // Facets: categories first, then one per product attribute, values deduplicated by code.
    let mut facets: Vec<(String, Vec<(String, Value)>)> = vec![(
        CATEGORY_FACET.to_owned(),
        World::category_codes()
            .map(|c| (c.to_owned(), json!({ "en": c })))
            .collect(),
    )];
    let mut add_value = |facet: &str, code: &str, value: Value| {
        let idx = match facets.iter().position(|(f, _)| f == facet) {
            Some(i) => i,
            None => {
                facets.push((facet.to_owned(), Vec::new()));
                facets.len() - 1
            }
        };
        let values = &mut facets[idx].1;
        if !values.iter().any(|(c, _)| c == code) {
            values.push((code.to_owned(), value));
        }
    };

    let mut products = Vec::with_capacity(world.product_count() as usize);
    for i in 0..world.product_count() {
        let p = world.product(i, "");
        let mut facet_values: Vec<Value> = p
            .categories
            .iter()
            .map(|c| json!([CATEGORY_FACET, c]))
            .collect();
        for a in &p.attributes {
            let code = code_of(&a.value);
            add_value(&a.code, &code, names(&a.value));
            facet_values.push(json!([a.code, code]));
        }
        let mut option_groups: Vec<String> = Vec::new();
        let mut variants = Vec::with_capacity(p.variants.len());
        for v in &p.variants {
            let options: Vec<Value> = v
                .attributes
                .iter()
                .map(|a| {
                    if !option_groups.contains(&a.code) {
                        option_groups.push(a.code.clone());
                    }
                    json!({ "group": a.code, "code": code_of(&a.value), "names": names(&a.value) })
                })
                .collect();
            let mut prices = Vec::with_capacity(12);
            for (channel, price_channel, group) in [
                ("online", PriceChannel::Online, None),
                ("store", PriceChannel::Store, None),
                ("b2b", PriceChannel::Online, Some(&b2b)),
            ] {
                for currency in CURRENCIES {
                    let Some(price) = world.price(&v.sku, price_channel, currency, group) else {
                        continue;
                    };
                    let regular = price.regular.map(|r| minor(r.amount)).transpose()?;
                    prices.push(json!({
                        "channel": channel,
                        "currency": currency.as_str(),
                        "price": minor(price.amount.amount)?,
                        "regularPrice": regular,
                    }));
                }
            }
            let stock: Vec<Value> = world
                .stock(&v.sku)
                .unwrap_or_default()
                .iter()
                .map(|s| json!({ "location": s.location.as_str(), "onHand": s.on_hand, "allocated": s.reserved }))
                .collect();
            variants.push(json!({
                "sku": v.sku.as_str(),
                "names": names(&v.name),
                "options": options,
                "asset": v.media.first().map(|m| m.code.clone()).unwrap_or_else(|| format!("{}.jpg", v.sku.as_str().to_lowercase())),
                "prices": prices,
                "stock": stock,
            }));
        }
        let translations: Map<String, Value> = p
            .name
            .0
            .iter()
            .map(|(l, name)| {
                let description = p.description.0.get(l).cloned().unwrap_or_default();
                (
                    language(l),
                    json!({ "name": name, "description": description }),
                )
            })
            .collect();
        products.push(json!({
            "code": p.id.as_str(),
            "slug": p.id.as_str().to_lowercase(),
            "translations": translations,
            "facetValues": facet_values,
            "asset": p.media.first().map(|m| m.code.clone()).unwrap_or_else(|| format!("{}.jpg", p.id.as_str().to_lowercase())),
            "optionGroups": option_groups.iter().map(|g| json!({ "code": g, "names": { "en": g } })).collect::<Vec<_>>(),
            "variants": variants,
        }));
    }

    let languages: Vec<&str> = vec!["en", "da", "sv", "nb"];
    Ok(json!({
        "languages": languages,
        "currencies": CURRENCIES.iter().map(Currency::as_str).collect::<Vec<_>>(),
        "zone": "Nordics",
        "taxRatePercent": 25,
        "countries": countries.iter().map(|c| json!({ "code": c, "names": { "en": country_name(c) } })).collect::<Vec<_>>(),
        "channels": [
            { "code": "online", "token": ONLINE_TOKEN, "pricesIncludeTax": true, "default": true },
            { "code": "store", "token": STORE_TOKEN, "pricesIncludeTax": true },
            { "code": "b2b", "token": B2B_TOKEN, "pricesIncludeTax": false },
        ],
        "administrators": [{
            "identifier": READER_USERNAME,
            "password": READER_PASSWORD,
            "firstName": "Samlet",
            "lastName": "Reader",
            "role": "samlet-reader",
            "permissions": ["ReadCatalog", "ReadStockLocation"],
        }],
        "locations": locations,
        "facets": facets.into_iter().map(|(code, values)| json!({
            "code": code,
            "names": { "en": code },
            "values": values.into_iter().map(|(code, names)| json!({ "code": code, "names": names })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "products": products,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use samlet_testkit::WorldConfig;

    #[test]
    fn the_fixture_carries_every_product_price_and_stock_level() {
        let w = World::with_sizes(WorldConfig::default(), 12, 1, 0);
        let f = fixture(&w).unwrap();
        let products = f["products"].as_array().unwrap();
        assert_eq!(products.len(), 12);
        let v = &products[0]["variants"][0];
        assert_eq!(
            v["prices"].as_array().unwrap().len(),
            12,
            "3 channels x 4 currencies"
        );
        assert_eq!(v["stock"].as_array().unwrap().len(), w.locations().len());
        assert_eq!(products[0]["translations"].as_object().unwrap().len(), 4);
        let collection = f["facets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["code"] == "collection")
            .unwrap();
        assert_eq!(
            collection["values"][0]["names"].as_object().unwrap().len(),
            1,
            "collections are English only"
        );
    }

    #[test]
    fn minor_units_are_exact() {
        assert_eq!(minor(Decimal::new(129900, 2)).unwrap(), 129900);
        assert_eq!(minor(Decimal::from(1299)).unwrap(), 129900);
        assert!(minor(Decimal::new(12345, 3)).is_err());
    }

    #[test]
    fn codes_are_lower_case_words() {
        let mut t = LocalizedText::default();
        t.insert("en-GB".parse().unwrap(), "Garden chair");
        assert_eq!(code_of(&t), "garden-chair");
    }
}
