//! The simulator's reading of Akeneo list query parameters (`limit`, `pagination_type`, `page`,
//! `search_after`, `search` on `identifier`, `parent` and `categories`, `scope`, `locales`,
//! `attributes`, `with_attribute_options`) with
//! Akeneo's answers to bad ones, and the `_links` of a collection page.

use super::Refused;
use axum::http::StatusCode;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::{json, Value};
use std::collections::HashSet;

/// Akeneo's default page size.
const DEFAULT_LIMIT: usize = 10;
/// Akeneo's cap; a larger `limit` is answered 422.
pub(crate) const MAX_LIMIT: usize = 100;

/// How the client pages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Paging {
    /// `pagination_type=page` (the default): `page` counts from 1.
    Page(usize),
    /// `pagination_type=search_after`, with the key of the last item seen.
    SearchAfter(Option<String>),
}

/// One `search` criterion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Criterion {
    /// `identifier` (product identifier or product model code) `IN` the list.
    IdentifierIn(HashSet<String>),
    /// `parent` `IN` the list (direct children).
    ParentIn(HashSet<String>),
    /// `parent` `=` a model (all descendants; with one level, the children).
    ParentIs(String),
    /// `parent` `EMPTY`: roots only.
    ParentEmpty,
    /// `parent` `NOT EMPTY`: variants (or sub-models) only.
    ParentNotEmpty,
    /// `categories` `IN` the list: classified in at least one of these categories.
    CategoriesIn(HashSet<String>),
}

/// Which resource a search is for: the filters each supports differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Resource {
    /// `/products`.
    Products,
    /// `/product-models`.
    ProductModels,
}

/// Which values a rendered resource carries.
#[derive(Debug, Clone, Default)]
pub(crate) struct ValueFilter {
    /// `scope`: only this channel's scopable values.
    pub scope: Option<String>,
    /// `locales`: only these locales' localisable values.
    pub locales: Option<HashSet<String>>,
    /// `attributes`: only these attributes.
    pub attributes: Option<HashSet<String>>,
    /// `with_attribute_options`: option labels in `linked_data`.
    pub with_options: bool,
}

impl ValueFilter {
    /// Whether a value of `attribute` for `locale` and `scope` is shown.
    pub(crate) fn shows(&self, attribute: &str, locale: Option<&str>, scope: Option<&str>) -> bool {
        self.attributes
            .as_ref()
            .is_none_or(|a| a.contains(attribute))
            && match (locale, &self.locales) {
                (Some(l), Some(ls)) => ls.contains(l),
                _ => true,
            }
            && match (scope, &self.scope) {
                (Some(s), Some(wanted)) => s == wanted,
                _ => true,
            }
    }
}

/// A parsed list request.
#[derive(Debug, Clone)]
pub(crate) struct ListParams {
    /// The query as sent, for links.
    pub pairs: Vec<(String, String)>,
    /// Items per page.
    pub limit: usize,
    /// Paging mode and position.
    pub paging: Paging,
    /// `search` criteria (all must hold).
    pub criteria: Vec<Criterion>,
    /// Which values to show.
    pub values: ValueFilter,
}

/// The query pairs of a raw query string; a repeated key keeps its last value.
pub(crate) fn pairs(raw: Option<&str>) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for (k, v) in url::form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
        out.retain(|(key, _)| key.as_str() != k);
        out.push((k.into_owned(), v.into_owned()));
    }
    out
}

fn get<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

fn unprocessable(message: &str) -> Refused {
    Refused::new(StatusCode::UNPROCESSABLE_ENTITY, message)
}

/// The value options of a single-resource or list request.
pub(crate) fn value_filter(
    pairs: &[(String, String)],
    channels: &[&str],
) -> Result<ValueFilter, Refused> {
    let list = |key: &str| -> Option<HashSet<String>> {
        get(pairs, key).map(|v| {
            v.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        })
    };
    let scope = get(pairs, "scope").map(str::to_owned);
    if let Some(s) = &scope {
        if !channels.contains(&s.as_str()) {
            return Err(unprocessable(&format!("Scope \"{s}\" does not exist.")));
        }
    }
    Ok(ValueFilter {
        scope,
        locales: list("locales"),
        attributes: list("attributes"),
        with_options: get(pairs, "with_attribute_options") == Some("true"),
    })
}

/// Parses a list request for `resource`, answering bad parameters as Akeneo does.
pub(crate) fn list_params(
    raw: Option<&str>,
    resource: Resource,
    channels: &[&str],
) -> Result<ListParams, Refused> {
    let pairs = pairs(raw);
    let limit = match get(&pairs, "limit") {
        None => DEFAULT_LIMIT,
        Some(v) => match v.parse::<usize>() {
            Ok(n) if n > MAX_LIMIT => {
                return Err(unprocessable(&format!(
                    "You cannot request more than {MAX_LIMIT} items."
                )))
            }
            Ok(n) if n >= 1 => n,
            _ => {
                return Err(unprocessable(&format!(
                    "\"{v}\" is not a valid limit number."
                )))
            }
        },
    };
    let paging = match get(&pairs, "pagination_type") {
        None | Some("page") => {
            let page = match get(&pairs, "page") {
                None => 1,
                Some(v) => match v.parse::<usize>() {
                    Ok(n) if n >= 1 => n,
                    _ => {
                        return Err(unprocessable(&format!(
                            "\"{v}\" is not a valid page number."
                        )))
                    }
                },
            };
            Paging::Page(page)
        }
        Some("search_after") => {
            let key = match get(&pairs, "search_after") {
                None => None,
                Some(token) => Some(
                    decode_token(token)
                        .ok_or_else(|| unprocessable("Parameter \"search_after\" is not valid."))?,
                ),
            };
            Paging::SearchAfter(key)
        }
        Some(_) => return Err(unprocessable("Pagination type does not exist.")),
    };
    let criteria = match get(&pairs, "search") {
        None => Vec::new(),
        Some(raw) => parse_search(raw, resource)?,
    };
    let values = value_filter(&pairs, channels)?;
    Ok(ListParams {
        pairs,
        limit,
        paging,
        criteria,
        values,
    })
}

fn parse_search(raw: &str, resource: Resource) -> Result<Vec<Criterion>, Refused> {
    let invalid_json = || {
        Refused::new(
            StatusCode::BAD_REQUEST,
            "Search query parameter should be valid JSON.",
        )
    };
    let search: Value = serde_json::from_str(raw).map_err(|_| invalid_json())?;
    let Some(search) = search.as_object() else {
        return Err(invalid_json());
    };
    let mut criteria = Vec::new();
    for (property, filters) in search {
        let Some(filters) = filters.as_array() else {
            return Err(unprocessable(&format!(
                "Structure of filter \"{property}\" should respect this structure: {{\"{property}\":[{{\"operator\": \"my_operator\", \"value\": \"my_value\"}}]}}"
            )));
        };
        for f in filters {
            let operator = f.get("operator").and_then(Value::as_str).unwrap_or("");
            let value = f.get("value");
            let strings = || -> Result<HashSet<String>, Refused> {
                value
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .filter_map(Value::as_str)
                            .map(str::to_owned)
                            .collect()
                    })
                    .ok_or_else(|| {
                        unprocessable(&format!(
                            "Property \"{property}\" expects an array as data, \"{}\" given.",
                            value.map_or("NULL".to_owned(), |v| v.to_string())
                        ))
                    })
            };
            let criterion = match (property.as_str(), operator, resource) {
                ("identifier", "IN", _) => Criterion::IdentifierIn(strings()?),
                ("parent", "IN", _) => Criterion::ParentIn(strings()?),
                ("categories", "IN", _) => Criterion::CategoriesIn(strings()?),
                ("parent", "=", Resource::Products) => {
                    match value.and_then(Value::as_str) {
                        Some(code) => Criterion::ParentIs(code.to_owned()),
                        None => {
                            return Err(unprocessable(
                                "Property \"parent\" expects a string as data.",
                            ))
                        }
                    }
                }
                ("parent", "EMPTY", _) => Criterion::ParentEmpty,
                ("parent", "NOT EMPTY", _) => Criterion::ParentNotEmpty,
                _ => {
                    return Err(unprocessable(&format!(
                        "Filter on property \"{property}\" is not supported or does not support operator \"{operator}\""
                    )))
                }
            };
            criteria.push(criterion);
        }
    }
    Ok(criteria)
}

/// The opaque `search_after` token for the key (code or identifier) of the last item.
pub(crate) fn encode_token(key: &str) -> String {
    URL_SAFE_NO_PAD.encode(key)
}

fn decode_token(token: &str) -> Option<String> {
    String::from_utf8(URL_SAFE_NO_PAD.decode(token).ok()?).ok()
}

/// What follows the page being answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Next {
    /// The last page.
    None,
    /// More after the item with this key (search-after mode).
    After(String),
    /// More on the next page number (page mode).
    Page(usize),
}

fn href(base: &str, path: &str, pairs: &[(String, String)]) -> String {
    if pairs.is_empty() {
        return format!("{base}{path}");
    }
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    format!("{base}{path}?{query}")
}

fn with(
    pairs: &[(String, String)],
    drop: &[&str],
    add: Option<(&str, String)>,
) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = pairs
        .iter()
        .filter(|(k, _)| !drop.contains(&k.as_str()))
        .cloned()
        .collect();
    if let Some((k, v)) = add {
        out.push((k.to_owned(), v));
    }
    out
}

/// A collection page in Akeneo's shape.
pub(crate) fn collection(
    base: &str,
    path: &str,
    params: &ListParams,
    items: Vec<Value>,
    next: Next,
) -> Value {
    let mut links = serde_json::Map::new();
    links.insert(
        "self".into(),
        json!({ "href": href(base, path, &params.pairs) }),
    );
    let mut page = json!({});
    match &params.paging {
        Paging::SearchAfter(_) => {
            let first = with(&params.pairs, &["search_after"], None);
            links.insert("first".into(), json!({ "href": href(base, path, &first) }));
            if let Next::After(key) = &next {
                let next = with(
                    &params.pairs,
                    &["search_after"],
                    Some(("search_after", encode_token(key))),
                );
                links.insert("next".into(), json!({ "href": href(base, path, &next) }));
            }
        }
        Paging::Page(n) => {
            let at = |p: usize| {
                href(
                    base,
                    path,
                    &with(&params.pairs, &["page"], Some(("page", p.to_string()))),
                )
            };
            links.insert("first".into(), json!({ "href": at(1) }));
            if *n > 1 {
                links.insert("previous".into(), json!({ "href": at(n - 1) }));
            }
            if let Next::Page(p) = next {
                links.insert("next".into(), json!({ "href": at(p) }));
            }
            page = json!({ "current_page": n });
        }
    }
    let mut out = json!({ "_links": links });
    if let (Some(o), Some(p)) = (out.as_object_mut(), page.as_object()) {
        o.extend(p.clone());
    }
    if let Some(o) = out.as_object_mut() {
        o.insert("_embedded".into(), json!({ "items": items }));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::response::IntoResponse;

    const CHANNELS: [&str; 2] = ["ecommerce", "store"];

    fn parse(q: &str) -> Result<ListParams, StatusCode> {
        list_params(Some(q), Resource::Products, &CHANNELS).map_err(|r| r.into_response().status())
    }

    #[test]
    fn limit_defaults_to_ten_and_is_capped_at_a_hundred() {
        assert_eq!(parse("").unwrap().limit, 10);
        assert_eq!(parse("limit=100").unwrap().limit, 100);
        assert_eq!(
            parse("limit=101").unwrap_err(),
            StatusCode::UNPROCESSABLE_ENTITY
        );
        assert_eq!(
            parse("limit=0").unwrap_err(),
            StatusCode::UNPROCESSABLE_ENTITY
        );
    }

    #[test]
    fn search_is_json_with_supported_filters_only() {
        let p = parse(r#"search={"parent":[{"operator":"IN","value":["P1","P2"]}]}"#).unwrap();
        assert_eq!(
            p.criteria,
            [Criterion::ParentIn(
                ["P1".to_owned(), "P2".to_owned()].into()
            )]
        );
        let p = parse(r#"search={"categories":[{"operator":"IN","value":["sofas"]}]}"#).unwrap();
        assert_eq!(
            p.criteria,
            [Criterion::CategoriesIn(["sofas".to_owned()].into())]
        );
        assert_eq!(
            parse(r#"search={"categories":[{"operator":"IN","value":"sofas"}]}"#).unwrap_err(),
            StatusCode::UNPROCESSABLE_ENTITY
        );
        assert_eq!(
            parse(r#"search={"categories":[{"operator":"IN CHILDREN","value":["x"]}]}"#)
                .unwrap_err(),
            StatusCode::UNPROCESSABLE_ENTITY
        );
        assert_eq!(parse("search={oops").unwrap_err(), StatusCode::BAD_REQUEST);
        assert_eq!(
            parse(r#"search={"family":[{"operator":"IN","value":["x"]}]}"#).unwrap_err(),
            StatusCode::UNPROCESSABLE_ENTITY
        );
    }

    #[test]
    fn search_after_tokens_round_trip_and_bad_ones_are_refused() {
        let t = encode_token("P000042-OAK");
        let p = parse(&format!("pagination_type=search_after&search_after={t}")).unwrap();
        assert_eq!(p.paging, Paging::SearchAfter(Some("P000042-OAK".into())));
        assert_eq!(
            parse("pagination_type=search_after&search_after=%%%").unwrap_err(),
            StatusCode::UNPROCESSABLE_ENTITY
        );
        assert_eq!(
            parse("pagination_type=cursor").unwrap_err(),
            StatusCode::UNPROCESSABLE_ENTITY
        );
    }

    #[test]
    fn links_keep_the_query_and_move_the_cursor() {
        let p = parse("pagination_type=search_after&limit=2&scope=store").unwrap();
        let page = collection(
            "http://h",
            "/api/rest/v1/products",
            &p,
            vec![],
            Next::After("K".into()),
        );
        assert_eq!(
            page["_links"]["next"]["href"],
            "http://h/api/rest/v1/products?pagination_type=search_after&limit=2&scope=store&search_after=Sw"
        );
        assert!(page.get("current_page").is_none());
        let p = parse("page=2&limit=5").unwrap();
        let page = collection("http://h", "/x", &p, vec![], Next::None);
        assert_eq!(page["current_page"], 2);
        assert_eq!(
            page["_links"]["previous"]["href"],
            "http://h/x?limit=5&page=1"
        );
        assert!(page["_links"].get("next").is_none());
    }
}
