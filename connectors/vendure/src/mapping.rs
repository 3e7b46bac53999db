//! Vendure wire shapes -> the normalised model.
//!
//! - A product's id is its product-code custom field (falling back to its slug when unset);
//!   names and descriptions come from its `translations`, one locale per mapped language code.
//! - Facet values of the category facet are categories (their codes); every other facet value
//!   is an attribute named after its facet, valued by its translations.
//! - A variant's options are its axes: attribute = option group code, value = the option's
//!   translations. Variants keep Vendure's creation order (ascending id).
//! - Assets are media: `code` = the asset's file name, `url` = its `source`.
//! - Money is integer minor units: `129900` is `1299.00`, converted exactly.

use crate::client::{
    CustomFields, WireAsset, WirePrice, WireProduct, WireStockLevel, WireStockLocation,
    WireTranslation, WireVariant,
};
use crate::config::CustomFieldNames;
use chrono::{DateTime, Utc};
use samlet_connector::prelude::*;
use std::collections::BTreeMap;

/// What mapping needs from the configuration.
pub(crate) struct Rules<'a> {
    /// Vendure language code -> locale.
    pub languages: &'a BTreeMap<String, Locale>,
    /// The facet whose values are categories.
    pub category_facet: &'a str,
    /// Custom field names.
    pub fields: &'a CustomFieldNames,
}

impl Rules<'_> {
    /// The translations' `pick` values in every mapped language.
    fn text(
        &self,
        translations: &[WireTranslation],
        pick: impl Fn(&WireTranslation) -> Option<&str>,
    ) -> LocalizedText {
        let mut out = LocalizedText::default();
        for t in translations {
            if let (Some(locale), Some(value)) = (self.languages.get(&t.language_code), pick(t)) {
                out.insert(locale.clone(), value);
            }
        }
        out
    }

    fn names(&self, translations: &[WireTranslation]) -> LocalizedText {
        self.text(translations, |t| Some(t.name.as_str()))
    }

    /// The gateway's id of a product: its product code, else its slug.
    pub(crate) fn product_id(&self, p: &WireProduct) -> ProductId {
        ProductId::new(
            string_field(p.custom_fields.as_ref(), &self.fields.product_code).unwrap_or(&p.slug),
        )
    }

    /// A product with its variants.
    pub(crate) fn product(&self, p: &WireProduct) -> Product {
        let mut categories = Vec::new();
        let mut attributes: Vec<Attribute> = Vec::new();
        for fv in &p.facet_values {
            if fv.facet.code == self.category_facet {
                categories.push(fv.code.clone());
            } else if !attributes.iter().any(|a| a.code == fv.facet.code) {
                attributes.push(Attribute {
                    code: fv.facet.code.clone(),
                    value: self.names(&fv.translations),
                });
            }
        }
        let mut variants: Vec<&WireVariant> = p.variants.iter().collect();
        variants.sort_by_key(|v| id_order(&v.id));
        Product {
            id: self.product_id(p),
            name: self.names(&p.translations),
            // Vendure stores a missing description as "": that is no description.
            description: self.text(&p.translations, |t| {
                t.description.as_deref().filter(|d| !d.is_empty())
            }),
            categories,
            attributes,
            media: media(p.featured_asset.as_ref(), &p.assets),
            variants: variants.into_iter().map(|v| self.variant(v)).collect(),
            updated_at: p.updated_at.as_deref().and_then(timestamp),
        }
    }

    fn variant(&self, v: &WireVariant) -> Variant {
        Variant {
            sku: Sku::new(v.sku.clone()),
            name: self.names(&v.translations),
            attributes: v
                .options
                .iter()
                .map(|o| Attribute {
                    code: o.group.code.clone(),
                    value: self.names(&o.translations),
                })
                .collect(),
            media: media(v.featured_asset.as_ref(), &v.assets),
        }
    }

    /// A stock location's code: its location-code custom field, else its Vendure id.
    fn location_id(&self, id: &str, l: Option<&WireStockLocation>) -> LocationId {
        LocationId::new(
            string_field(
                l.and_then(|l| l.custom_fields.as_ref()),
                &self.fields.location_code,
            )
            .unwrap_or(id),
        )
    }

    /// A stock level: on hand and allocated to open orders.
    pub(crate) fn stock_level(&self, s: &WireStockLevel) -> StockLevel {
        StockLevel {
            location: self.location_id(&s.stock_location_id, s.stock_location.as_ref()),
            on_hand: s.stock_on_hand,
            reserved: s.stock_allocated,
        }
    }

    /// A stock location. Without a kind it is a warehouse (what Vendure's stock locations are
    /// by default); without address fields the address stays empty.
    pub(crate) fn location(&self, l: &WireStockLocation) -> Location {
        let cf = l.custom_fields.as_ref();
        let f = self.fields;
        let text = |name: &str| string_field(cf, name).unwrap_or_default().to_owned();
        Location {
            id: self.location_id(&l.id, Some(l)),
            name: l.name.clone(),
            kind: match string_field(cf, &f.location_kind) {
                Some(k) if k.eq_ignore_ascii_case("store") => LocationKind::Store,
                _ => LocationKind::Warehouse,
            },
            address: Address {
                street: text(&f.location_street),
                postal_code: text(&f.location_postal_code),
                city: text(&f.location_city),
                country: text(&f.location_country).to_ascii_uppercase(),
            },
            click_and_collect: cf
                .and_then(|m| m.get(&f.location_click_and_collect))
                .and_then(serde_json::Value::as_bool)
                .unwrap_or(false),
        }
    }

    /// The price in `currency` of a variant's prices in one channel, or `None` if the
    /// channel has none in that currency. `Err` names a malformed amount.
    pub(crate) fn price(
        &self,
        prices: &[WirePrice],
        currency: Currency,
        tax_included: bool,
        group: Option<&str>,
    ) -> Result<Option<Price>, String> {
        let Some(p) = prices
            .iter()
            .find(|p| p.currency_code.eq_ignore_ascii_case(currency.as_str()))
        else {
            return Ok(None);
        };
        let amount = minor_units(&p.price)?;
        let regular = match p
            .custom_fields
            .as_ref()
            .and_then(|m| m.get(&self.fields.regular_price))
        {
            None | Some(serde_json::Value::Null) => None,
            Some(serde_json::Value::Number(n)) => Some(minor_units(n)?),
            Some(other) => {
                return Err(format!(
                    "{} is not an amount in minor units: {other}",
                    self.fields.regular_price
                ))
            }
        };
        Ok(Some(Price {
            amount: Money::new(amount, currency),
            // A "regular" price equal to the price is no reduction.
            regular: regular
                .filter(|r| *r != amount)
                .map(|r| Money::new(r, currency)),
            tax_included,
            customer_group: group.map(CustomerGroup::new),
        }))
    }
}

/// Vendure `Money` (integer minor units, two decimal places with the default money strategy)
/// as an exact decimal.
pub(crate) fn minor_units(n: &serde_json::Number) -> Result<Decimal, String> {
    let raw = n.to_string();
    let minor: Decimal = raw
        .parse()
        .map_err(|_| format!("`{raw}` is not an amount in minor units"))?;
    Ok(minor * Decimal::new(1, 2))
}

fn string_field<'a>(fields: Option<&'a CustomFields>, name: &str) -> Option<&'a str> {
    fields?
        .get(name)?
        .as_str()
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// Vendure's default ids are auto-increment integers: order numerically, else as text.
fn id_order(id: &str) -> (u64, &str) {
    (id.parse().unwrap_or(u64::MAX), id)
}

fn media(featured: Option<&WireAsset>, assets: &[WireAsset]) -> Vec<Media> {
    let mut out: Vec<Media> = Vec::with_capacity(assets.len() + 1);
    for a in featured.into_iter().chain(assets) {
        if !out.iter().any(|m| m.url == a.source) {
            out.push(Media {
                url: a.source.clone(),
                code: a.name.clone(),
            });
        }
    }
    out
}

fn timestamp(raw: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(raw)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::default_languages;

    fn rules<'a>(
        languages: &'a BTreeMap<String, Locale>,
        fields: &'a CustomFieldNames,
    ) -> Rules<'a> {
        Rules {
            languages,
            category_facet: "category",
            fields,
        }
    }

    fn product() -> WireProduct {
        serde_json::from_value(serde_json::json!({
            "slug": "p000007", "updatedAt": "2026-01-02T03:04:05.000Z",
            "customFields": {"code": "P000007"},
            "translations": [
                {"languageCode": "da", "name": "Sofa", "description": "En sofa"},
                {"languageCode": "en", "name": "Sofa", "description": "A sofa"},
                {"languageCode": "de", "name": "Sofa", "description": "Ein Sofa"}
            ],
            "facetValues": [
                {"code": "sofas", "facet": {"code": "category"}, "translations": []},
                {"code": "aarhus", "facet": {"code": "collection"},
                 "translations": [{"languageCode": "en", "name": "Aarhus"}]}
            ],
            "featuredAsset": {"name": "p7.jpg", "source": "http://x/p7.jpg"},
            "assets": [{"name": "p7.jpg", "source": "http://x/p7.jpg"}],
            "variants": [
                {"id": "12", "sku": "P000007-OAK", "translations": [{"languageCode": "en", "name": "Sofa, oak"}],
                 "options": [{"code": "oak", "group": {"code": "color"},
                              "translations": [{"languageCode": "da", "name": "eg"}, {"languageCode": "en", "name": "oak"}]}],
                 "featuredAsset": {"name": "v.jpg", "source": "http://x/v.jpg"}, "assets": []},
                {"id": "9", "sku": "P000007-BLACK", "translations": [], "options": [], "assets": []}
            ]
        }))
        .unwrap()
    }

    #[test]
    fn a_product_maps_its_translations_facets_options_and_assets() {
        let (languages, fields) = (default_languages(), CustomFieldNames::default());
        let p = rules(&languages, &fields).product(&product());
        assert_eq!(p.id.as_str(), "P000007");
        assert_eq!(p.name.0.len(), 2, "the unmapped `de` is ignored");
        assert_eq!(
            p.description.get(&"da-DK".parse().unwrap()),
            Some("En sofa")
        );
        assert_eq!(p.categories, ["sofas"]);
        assert_eq!(p.attributes.len(), 1);
        assert_eq!(p.attributes[0].code, "collection");
        assert_eq!(
            p.attributes[0]
                .value
                .0
                .keys()
                .map(Locale::as_str)
                .collect::<Vec<_>>(),
            ["en-GB"]
        );
        assert_eq!(p.media.len(), 1, "the featured asset is not repeated");
        let skus: Vec<&str> = p.variants.iter().map(|v| v.sku.as_str()).collect();
        assert_eq!(
            skus,
            ["P000007-BLACK", "P000007-OAK"],
            "ids order numerically"
        );
        assert_eq!(p.variants[1].attributes[0].code, "color");
        assert_eq!(p.variants[1].media[0].code, "v.jpg");
        assert!(p.updated_at.is_some());
    }

    #[test]
    fn a_product_without_a_code_is_known_by_its_slug() {
        let (languages, fields) = (default_languages(), CustomFieldNames::default());
        let mut w = product();
        w.custom_fields = None;
        assert_eq!(
            rules(&languages, &fields).product_id(&w).as_str(),
            "p000007"
        );
    }

    #[test]
    fn minor_units_convert_exactly() {
        let n = |v: serde_json::Value| match v {
            serde_json::Value::Number(n) => n,
            _ => unreachable!(),
        };
        assert_eq!(
            minor_units(&n(serde_json::json!(129900))).unwrap(),
            Decimal::new(129900, 2)
        );
        assert_eq!(
            minor_units(&n(serde_json::json!(1995)))
                .unwrap()
                .to_string(),
            "19.95"
        );
        assert_eq!(
            minor_units(&n(serde_json::json!(-5))).unwrap().to_string(),
            "-0.05"
        );
    }

    #[test]
    fn prices_pick_the_currency_and_keep_a_real_regular_price() {
        let (languages, fields) = (default_languages(), CustomFieldNames::default());
        let r = rules(&languages, &fields);
        let prices: Vec<WirePrice> = serde_json::from_value(serde_json::json!([
            {"currencyCode": "DKK", "price": 110415, "customFields": {"regularPrice": 129900}},
            {"currencyCode": "SEK", "price": 188900, "customFields": {"regularPrice": 188900}},
            {"currencyCode": "EUR", "price": 18595, "customFields": {"regularPrice": null}}
        ]))
        .unwrap();
        let dkk = r
            .price(&prices, Currency::DKK, true, None)
            .unwrap()
            .unwrap();
        assert_eq!(dkk.amount.amount.to_string(), "1104.15");
        assert_eq!(dkk.regular.unwrap().amount.to_string(), "1299.00");
        let sek = r
            .price(&prices, Currency::SEK, true, None)
            .unwrap()
            .unwrap();
        assert_eq!(sek.regular, None);
        let eur = r
            .price(&prices, Currency::EUR, false, Some("B2B"))
            .unwrap()
            .unwrap();
        assert_eq!(eur.customer_group.unwrap().as_str(), "B2B");
        assert!(!eur.tax_included);
        assert_eq!(r.price(&prices, Currency::NOK, true, None).unwrap(), None);
        let bad: Vec<WirePrice> = serde_json::from_value(serde_json::json!([
            {"currencyCode": "DKK", "price": 1, "customFields": {"regularPrice": "cheap"}}
        ]))
        .unwrap();
        assert!(r.price(&bad, Currency::DKK, true, None).is_err());
    }

    #[test]
    fn locations_read_their_custom_fields() {
        let (languages, fields) = (default_languages(), CustomFieldNames::default());
        let l: WireStockLocation = serde_json::from_value(serde_json::json!({
            "id": "3", "name": "Samlet Oslo",
            "customFields": {"code": "NO-OSL", "kind": "store", "street": "Karl Johans gate 20",
                             "postalCode": "0159", "city": "Oslo", "countryCode": "no", "clickAndCollect": true}
        }))
        .unwrap();
        let got = rules(&languages, &fields).location(&l);
        assert_eq!(got.id.as_str(), "NO-OSL");
        assert_eq!(got.kind, LocationKind::Store);
        assert_eq!(got.address.country, "NO");
        assert!(got.click_and_collect);
        let bare: WireStockLocation =
            serde_json::from_value(serde_json::json!({"id": "1", "name": "Default"})).unwrap();
        let got = rules(&languages, &fields).location(&bare);
        assert_eq!(
            (got.id.as_str(), got.kind, got.click_and_collect),
            ("1", LocationKind::Warehouse, false)
        );
    }
}
