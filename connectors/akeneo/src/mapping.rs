//! Akeneo wire shapes to the normalised model.
//!
//! A gateway product is an Akeneo *product model*; its variants are the model's *variant
//! products*. Akeneo returns a variant product with the values it inherits from its model, so a
//! product can be assembled from its variants alone (what batch reads do, to save a request) or
//! from the model plus its variants (what listing does, as it pages through models anyway).
//!
//! Values: `locale: null` (a non-localisable attribute) lands under `en-GB`, as the model
//! stores language-neutral text; Akeneo locale codes (`da_DK`) become BCP 47 (`da-DK`); of a
//! scopable attribute only the request's scope is read; simple and multi selects read with
//! `with_attribute_options=true` yield their option labels per locale.

use crate::client::{Values, WireProduct, WireProductModel, WireValue};
use crate::config::AttributeMapping;
use chrono::{DateTime, Utc};
use samlet_connector::prelude::*;
use serde_json::Value;
use std::collections::BTreeMap;

/// What a mapping needs besides the wire data.
pub(crate) struct Rules<'a> {
    /// Attribute codes.
    pub attributes: &'a AttributeMapping,
    /// The Akeneo channel code the request reads scopable values of.
    pub scope: &'a str,
    /// The download URL of a media file code, for values without `_links.download`.
    pub media_url: &'a (dyn Fn(&str) -> String + Sync),
}

/// Assembles the product `code` from its model (when fetched) and its variant products, in
/// the PIM's order. Disabled variants are left out. `None` when there is nothing to build from:
/// no model and no enabled variant.
pub(crate) fn product(
    rules: &Rules<'_>,
    code: &str,
    model: Option<&WireProductModel>,
    variants: &[&WireProduct],
) -> Option<Product> {
    let enabled: Vec<&WireProduct> = variants.iter().copied().filter(|v| v.enabled).collect();
    let (values, categories, updated_at): (&Values, &[String], Option<DateTime<Utc>>) = match model
    {
        Some(m) => (&m.values, &m.categories, timestamp(m.updated.as_deref())),
        None => {
            let first = enabled.first()?;
            // Without the model, its last change is at least the latest variant's.
            let updated = enabled
                .iter()
                .filter_map(|v| timestamp(v.updated.as_deref()))
                .max();
            (&first.values, &first.categories, updated)
        }
    };
    let a = rules.attributes;
    Some(Product {
        id: ProductId::new(code),
        name: text(rules, values.get(&a.name)),
        description: text(rules, values.get(&a.description)),
        categories: categories.to_vec(),
        attributes: attributes(rules, values, &a.product),
        media: media(rules, values.get(&a.image)),
        variants: enabled.iter().map(|v| variant(rules, v)).collect(),
        updated_at,
    })
}

/// A variant product as a variant: its axes, own name and own image.
pub(crate) fn variant(rules: &Rules<'_>, p: &WireProduct) -> Variant {
    let a = rules.attributes;
    Variant {
        sku: Sku::new(p.identifier.as_str()),
        name: text(rules, p.values.get(&a.variant_name)),
        attributes: attributes(rules, &p.values, &a.axes),
        media: media(rules, p.values.get(&a.variant_image)),
    }
}

fn attributes(rules: &Rules<'_>, values: &Values, codes: &[String]) -> Vec<Attribute> {
    codes
        .iter()
        .filter_map(|code| {
            let value = text(rules, values.get(code));
            (!value.is_empty()).then(|| Attribute {
                code: code.clone(),
                value,
            })
        })
        .collect()
}

fn timestamp(raw: Option<&str>) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(raw?)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

fn in_scope(rules: &Rules<'_>, v: &WireValue) -> bool {
    v.scope.as_deref().is_none_or(|s| s == rules.scope)
}

/// An Akeneo locale code as a locale; `None` for codes the model cannot represent.
fn locale(code: &str) -> Option<Locale> {
    code.parse().ok()
}

/// The value's locale: its own, or `en-GB` for a non-localisable value.
fn value_locale(v: &WireValue) -> Option<Locale> {
    match v.locale.as_deref() {
        None => Some(Locale::en_gb()),
        Some(code) => locale(code),
    }
}

/// A value as text per locale.
pub(crate) fn text(rules: &Rules<'_>, values: Option<&Vec<WireValue>>) -> LocalizedText {
    let mut out = LocalizedText::default();
    for v in values.into_iter().flatten().filter(|v| in_scope(rules, v)) {
        if let Some(labels) = option_labels(v) {
            match v.locale.as_deref() {
                // A localisable select: this value speaks for its own locale only.
                Some(code) => {
                    if let (Some(l), Some(label)) = (locale(code), labels.get(code)) {
                        out.insert(l, label.clone());
                    }
                }
                None => {
                    for (code, label) in labels {
                        if let Some(l) = locale(&code) {
                            out.insert(l, label);
                        }
                    }
                }
            }
            continue;
        }
        if let (Some(l), Some(s)) = (value_locale(v), scalar(&v.data)) {
            out.insert(l, s);
        }
    }
    out
}

/// Option labels per Akeneo locale code from `linked_data`, for a simple select
/// (`{attribute, code, labels}`) or a multi select (`{code: {attribute, code, labels}}`, joined
/// in the value's order). `None` when the value carries no labels.
fn option_labels(v: &WireValue) -> Option<BTreeMap<String, String>> {
    let linked = v.linked_data.as_ref()?.as_object()?;
    let labels_of = |o: &serde_json::Map<String, Value>| -> BTreeMap<String, String> {
        o.get("labels")
            .and_then(Value::as_object)
            .map(|l| {
                l.iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                    .collect()
            })
            .unwrap_or_default()
    };
    let labels = if linked.contains_key("labels") {
        labels_of(linked)
    } else {
        let codes = v.data.as_array()?;
        let mut joined: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for code in codes.iter().filter_map(Value::as_str) {
            let Some(option) = linked.get(code).and_then(Value::as_object) else {
                continue;
            };
            for (l, label) in labels_of(option) {
                joined.entry(l).or_default().push(label);
            }
        }
        joined.into_iter().map(|(l, v)| (l, v.join(", "))).collect()
    };
    (!labels.is_empty()).then_some(labels)
}

/// A value's data as text: strings, numbers and booleans as written, lists joined, metrics as
/// `amount unit`. Other shapes (price collections, tables) have no single text form.
fn scalar(data: &Value) -> Option<String> {
    match data {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Array(items) => {
            let parts: Option<Vec<String>> = items
                .iter()
                .map(|i| match i {
                    Value::Array(_) | Value::Object(_) | Value::Null => None,
                    other => scalar(other),
                })
                .collect();
            parts.filter(|p| !p.is_empty()).map(|p| p.join(", "))
        }
        Value::Object(o) => {
            let amount = o.get("amount").and_then(scalar)?;
            let unit = o.get("unit").and_then(Value::as_str)?;
            Some(format!("{amount} {unit}"))
        }
        Value::Null => None,
    }
}

/// Media file values as media: the file code and its download link.
fn media(rules: &Rules<'_>, values: Option<&Vec<WireValue>>) -> Vec<Media> {
    let mut out: Vec<Media> = Vec::new();
    for v in values.into_iter().flatten().filter(|v| in_scope(rules, v)) {
        let Some(code) = v.data.as_str().filter(|c| !c.is_empty()) else {
            continue;
        };
        if out.iter().any(|m| m.code == code) {
            continue;
        }
        let url = v
            .links
            .as_ref()
            .and_then(|l| l.download.as_ref())
            .map(|d| d.href.clone())
            .unwrap_or_else(|| (rules.media_url)(code));
        out.push(Media {
            url,
            code: code.to_owned(),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rules_with<'a>(attributes: &'a AttributeMapping, scope: &'a str) -> Rules<'a> {
        static MEDIA: fn(&str) -> String = |code| format!("https://pim/media/{code}/download");
        Rules {
            attributes,
            scope,
            media_url: &MEDIA,
        }
    }

    fn values(v: serde_json::Value) -> Vec<WireValue> {
        serde_json::from_value(v).unwrap()
    }

    fn lt(pairs: &[(&str, &str)]) -> LocalizedText {
        let mut t = LocalizedText::default();
        for (l, v) in pairs {
            t.insert(l.parse().unwrap(), *v);
        }
        t
    }

    #[test]
    fn a_non_localisable_value_is_stored_under_english() {
        let a = AttributeMapping::default();
        let r = rules_with(&a, "ecommerce");
        let v = values(json!([{"locale": null, "scope": null, "data": "Aarhus"}]));
        assert_eq!(text(&r, Some(&v)), lt(&[("en-GB", "Aarhus")]));
    }

    #[test]
    fn only_the_request_s_scope_of_a_scopable_value_is_read() {
        let a = AttributeMapping::default();
        let v = values(json!([
            {"locale": "da_DK", "scope": "ecommerce", "data": "online"},
            {"locale": "da_DK", "scope": "store", "data": "butik"},
            {"locale": "xx", "scope": "store", "data": "ignored: not a locale"},
        ]));
        assert_eq!(
            text(&rules_with(&a, "store"), Some(&v)),
            lt(&[("da-DK", "butik")])
        );
        assert_eq!(
            text(&rules_with(&a, "ecommerce"), Some(&v)),
            lt(&[("da-DK", "online")])
        );
    }

    #[test]
    fn simple_select_options_yield_their_labels_per_locale() {
        let a = AttributeMapping::default();
        let r = rules_with(&a, "ecommerce");
        let v = values(json!([{
            "locale": null, "scope": null, "data": "oak",
            "linked_data": {"attribute": "color", "code": "oak",
                            "labels": {"da_DK": "eg", "en_GB": "oak", "sv_SE": null}}
        }]));
        assert_eq!(text(&r, Some(&v)), lt(&[("da-DK", "eg"), ("en-GB", "oak")]));
        // Without labels, the option code is all there is.
        let bare = values(json!([{"locale": null, "scope": null, "data": "oak"}]));
        assert_eq!(text(&r, Some(&bare)), lt(&[("en-GB", "oak")]));
    }

    #[test]
    fn multi_select_labels_are_joined_in_the_value_s_order() {
        let a = AttributeMapping::default();
        let r = rules_with(&a, "ecommerce");
        let v = values(json!([{
            "locale": null, "scope": null, "data": ["wood", "wool"],
            "linked_data": {
                "wool": {"attribute": "m", "code": "wool", "labels": {"en_GB": "Wool"}},
                "wood": {"attribute": "m", "code": "wood", "labels": {"en_GB": "Wood"}}
            }
        }]));
        assert_eq!(text(&r, Some(&v)), lt(&[("en-GB", "Wood, Wool")]));
    }

    #[test]
    fn scalars_of_other_types_become_text() {
        assert_eq!(scalar(&json!(12.5)).as_deref(), Some("12.5"));
        assert_eq!(scalar(&json!(true)).as_deref(), Some("true"));
        assert_eq!(
            scalar(&json!({"amount": "25.45", "unit": "CENTIMETER"})).as_deref(),
            Some("25.45 CENTIMETER")
        );
        assert_eq!(
            scalar(&json!([{"amount": "1", "currency": "EUR"}])),
            None,
            "prices have no text form"
        );
    }

    fn wire_variant(sku: &str, enabled: bool) -> WireProduct {
        serde_json::from_value(json!({
            "identifier": sku, "enabled": enabled, "parent": "P1", "categories": ["sofas"],
            "updated": "2024-03-01T10:00:00+02:00",
            "values": {
                "name": [{"locale": "en_GB", "scope": null, "data": "Sofa"}],
                "description": [{"locale": "en_GB", "scope": "ecommerce", "data": "Soft."}],
                "collection": [{"locale": null, "scope": null, "data": "Aarhus"}],
                "image": [{"locale": null, "scope": null, "data": "p1.jpg",
                           "_links": {"download": {"href": "https://pim/api/rest/v1/media-files/p1.jpg/download"}}}],
                "variant_name": [{"locale": "en_GB", "scope": null, "data": format!("Sofa {sku}")}],
                "variant_image": [{"locale": null, "scope": null, "data": format!("{sku}.jpg")}],
                "color": [{"locale": null, "scope": null, "data": "oak",
                           "linked_data": {"attribute": "color", "code": "oak", "labels": {"en_GB": "oak"}}}]
            }
        }))
        .unwrap()
    }

    #[test]
    fn a_product_assembles_from_its_variants_inherited_values() {
        let a = AttributeMapping::default();
        let r = rules_with(&a, "ecommerce");
        let (v1, v2, off) = (
            wire_variant("P1-OAK", true),
            wire_variant("P1-ASH", true),
            wire_variant("P1-OFF", false),
        );
        let p = product(&r, "P1", None, &[&v1, &off, &v2]).unwrap();
        assert_eq!(p.id.as_str(), "P1");
        assert_eq!(p.name, lt(&[("en-GB", "Sofa")]));
        assert_eq!(p.description, lt(&[("en-GB", "Soft.")]));
        assert_eq!(p.categories, ["sofas"]);
        assert_eq!(
            p.attributes,
            [Attribute {
                code: "collection".into(),
                value: lt(&[("en-GB", "Aarhus")])
            }]
        );
        assert_eq!(
            p.media[0].url,
            "https://pim/api/rest/v1/media-files/p1.jpg/download"
        );
        let skus: Vec<&str> = p.variants.iter().map(|v| v.sku.as_str()).collect();
        assert_eq!(skus, ["P1-OAK", "P1-ASH"], "disabled variants are left out");
        let v = &p.variants[0];
        assert_eq!(v.name, lt(&[("en-GB", "Sofa P1-OAK")]));
        assert_eq!(v.attributes[0].code, "color");
        assert_eq!(
            v.media[0].url, "https://pim/media/P1-OAK.jpg/download",
            "no _links: built from the code"
        );
        assert_eq!(
            p.updated_at.map(|t| t.to_rfc3339()).as_deref(),
            Some("2024-03-01T08:00:00+00:00")
        );
        assert!(product(&r, "P1", None, &[&off]).is_none());
    }

    #[test]
    fn a_fetched_model_supplies_the_model_level_values() {
        let a = AttributeMapping::default();
        let r = rules_with(&a, "ecommerce");
        let model: WireProductModel = serde_json::from_value(json!({
            "code": "P1", "categories": ["beds"], "updated": "2024-01-01T00:00:00+00:00",
            "values": {"name": [{"locale": "da_DK", "scope": null, "data": "Seng"}]}
        }))
        .unwrap();
        let p = product(&r, "P1", Some(&model), &[]).unwrap();
        assert_eq!(p.name, lt(&[("da-DK", "Seng")]));
        assert_eq!(p.categories, ["beds"]);
        assert!(p.variants.is_empty());
    }
}
