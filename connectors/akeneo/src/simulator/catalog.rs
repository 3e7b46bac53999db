//! The simulator's catalogue: the world's products served as Akeneo product models (one per
//! product, `code` = product id) with one level of variant products (`identifier` = SKU,
//! `parent` = model code), in Akeneo's standard format, generated on demand from the world.
//!
//! The family variant puts `name`, `description` (localisable and scopable: one value per
//! channel), `material` (localisable), `collection` (not localisable) and `image` on the model;
//! `variant_name` (localisable), the axis `color` (a simple select whose option labels come with
//! `with_attribute_options=true`) and `variant_image` on the variant products. A variant product
//! carries its model's values too, as Akeneo returns them. Both collections are ordered by
//! creation (the world's index), which is the order `search_after` walks.

use super::query::{self, Criterion, ListParams, Next, Paging, Resource, ValueFilter};
use super::{akeneo_error, SimState};
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use samlet_connector::context::Locale;
use samlet_connector::ids::{ProductId, Sku};
use samlet_connector::model::{LocalizedText, Product};
use samlet_testkit::World;
use serde_json::{json, Map, Value};
use std::collections::BTreeSet;
use std::sync::Arc;

/// The PIM's channels (scopes): online touchpoints and the shops.
pub(crate) const CHANNELS: [&str; 2] = ["ecommerce", "store"];
/// Model attributes that are not localisable: the world keeps them under `en-GB`.
const NOT_LOCALISABLE: [&str; 1] = ["collection"];
/// When the catalogue was imported.
const CREATED: &str = "2023-11-20T09:00:00+00:00";

const MODELS_PATH: &str = "/api/rest/v1/product-models";
const PRODUCTS_PATH: &str = "/api/rest/v1/products";
const MEDIA_PATH: &str = "/api/rest/v1/media-files";

/// `http://host:port` as the client addressed us, for `_links`.
fn base_url(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    format!("http://{host}")
}

fn download_href(base: &str, code: &str) -> String {
    format!("{base}{MEDIA_PATH}/{code}/download")
}

/// Appends one value to `values` if the filter shows it.
fn push(
    values: &mut Map<String, Value>,
    filter: &ValueFilter,
    attribute: &str,
    locale: Option<&str>,
    scope: Option<&str>,
    data: Value,
    extra: Option<(&str, Value)>,
) {
    if !filter.shows(attribute, locale, scope) {
        return;
    }
    let mut value = json!({ "locale": locale, "scope": scope, "data": data });
    if let (Some((key, x)), Some(o)) = (extra, value.as_object_mut()) {
        o.insert(key.to_owned(), x);
    }
    if let Some(list) = values
        .entry(attribute.to_owned())
        .or_insert_with(|| json!([]))
        .as_array_mut()
    {
        list.push(value);
    }
}

fn push_text(
    values: &mut Map<String, Value>,
    filter: &ValueFilter,
    attribute: &str,
    text: &LocalizedText,
    scope: Option<&str>,
) {
    for (locale, s) in &text.0 {
        push(
            values,
            filter,
            attribute,
            Some(&locale.underscored()),
            scope,
            json!(s),
            None,
        );
    }
}

fn push_media(
    values: &mut Map<String, Value>,
    filter: &ValueFilter,
    attribute: &str,
    code: &str,
    base: &str,
) {
    let links = json!({ "download": { "href": download_href(base, code) } });
    push(
        values,
        filter,
        attribute,
        None,
        None,
        json!(code),
        Some(("_links", links)),
    );
}

/// The model-level values of product `p`.
fn model_values(p: &Product, filter: &ValueFilter, base: &str) -> Map<String, Value> {
    let mut values = Map::new();
    push_text(&mut values, filter, "name", &p.name, None);
    for scope in CHANNELS {
        // The world has one description; the PIM keeps it per channel.
        push_text(
            &mut values,
            filter,
            "description",
            &p.description,
            Some(scope),
        );
    }
    for a in &p.attributes {
        if NOT_LOCALISABLE.contains(&a.code.as_str()) {
            if let Some(v) = a.value.get(&Locale::en_gb()) {
                push(&mut values, filter, &a.code, None, None, json!(v), None);
            }
        } else {
            push_text(&mut values, filter, &a.code, &a.value, None);
        }
    }
    if let Some(m) = p.media.first() {
        push_media(&mut values, filter, "image", &m.code, base);
    }
    values
}

/// The option code of an axis value: its English label, as a code.
fn option_code(label: &LocalizedText) -> String {
    label
        .get(&Locale::en_gb())
        .unwrap_or_default()
        .to_lowercase()
        .replace(' ', "_")
}

/// Product model `i` in Akeneo's standard format.
fn model_json(world: &World, i: u32, p: &Product, filter: &ValueFilter, base: &str) -> Value {
    let family = world.category_code(i);
    json!({
        "_links": { "self": { "href": format!("{base}{MODELS_PATH}/{}", p.id) } },
        "code": p.id.as_str(),
        "family": family,
        "family_variant": format!("{family}_by_color"),
        "parent": null,
        "categories": p.categories,
        "values": model_values(p, filter, base),
        "created": CREATED,
        "updated": updated(p),
        "associations": {},
        "quantified_associations": {},
    })
}

fn updated(p: &Product) -> Option<String> {
    p.updated_at
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, false))
}

/// Product `i` of the world with its model-level values rendered once for all its variants.
struct Model {
    i: u32,
    product: Product,
    values: Map<String, Value>,
}

impl Model {
    fn new(world: &World, i: u32, filter: &ValueFilter, base: &str) -> Model {
        let product = world.product(i, "");
        let values = model_values(&product, filter, base);
        Model { i, product, values }
    }
}

/// Variant product `v` of `model`, with the values it inherits from its model.
fn variant_json(
    world: &World,
    model: &Model,
    v: u32,
    filter: &ValueFilter,
    base: &str,
) -> Option<Value> {
    let (i, p) = (model.i, &model.product);
    let variant = p.variants.get(v as usize)?;
    let mut values = model.values.clone();
    push_text(&mut values, filter, "variant_name", &variant.name, None);
    for axis in &variant.attributes {
        let code = option_code(&axis.value);
        let labels: Map<String, Value> = axis
            .value
            .0
            .iter()
            .map(|(l, s)| (l.underscored(), json!(s)))
            .collect();
        let linked = filter.with_options.then(|| {
            (
                "linked_data",
                json!({ "attribute": axis.code, "code": code, "labels": labels }),
            )
        });
        push(
            &mut values,
            filter,
            &axis.code,
            None,
            None,
            json!(code),
            linked,
        );
    }
    if let Some(m) = variant.media.first() {
        push_media(&mut values, filter, "variant_image", &m.code, base);
    }
    let family = world.category_code(i);
    Some(json!({
        "_links": { "self": { "href": format!("{base}{PRODUCTS_PATH}/{}", variant.sku) } },
        "uuid": format!("{i:08x}-0000-4000-8000-{v:012x}"),
        "identifier": variant.sku.as_str(),
        "enabled": true,
        "family": family,
        "categories": p.categories,
        "groups": [],
        "parent": p.id.as_str(),
        "values": values,
        "created": CREATED,
        "updated": updated(p),
        "associations": {},
        "quantified_associations": {},
    }))
}

fn not_found(what: &str, code: &str) -> Response {
    akeneo_error(
        StatusCode::NOT_FOUND,
        &format!("{what} \"{code}\" does not exist or you do not have permission to access it."),
    )
}

fn invalid_cursor() -> Response {
    akeneo_error(
        StatusCode::UNPROCESSABLE_ENTITY,
        "Parameter \"search_after\" is not valid.",
    )
}

/// Items after the paging position: `limit` of them, and whether more follow.
fn window<T: Copy>(positions: impl Iterator<Item = T>, params: &ListParams) -> (Vec<T>, bool) {
    let offset = match params.paging {
        Paging::Page(n) => (n - 1).saturating_mul(params.limit),
        Paging::SearchAfter(_) => 0,
    };
    let mut page: Vec<T> = positions.skip(offset).take(params.limit + 1).collect();
    let more = page.len() > params.limit;
    page.truncate(params.limit);
    (page, more)
}

fn next_of(params: &ListParams, more: bool, last_key: Option<String>) -> Next {
    match (&params.paging, more, last_key) {
        (Paging::SearchAfter(_), true, Some(key)) => Next::After(key),
        (Paging::Page(n), true, _) => Next::Page(n + 1),
        _ => Next::None,
    }
}

/// The products classified in one of `codes` (the world classifies each in one category).
fn in_categories<'a>(
    world: &'a World,
    codes: &'a std::collections::HashSet<String>,
) -> impl Iterator<Item = u32> + 'a {
    (0..world.product_count()).filter(|&i| codes.contains(world.category_code(i)))
}

/// `GET /api/rest/v1/product-models`.
pub(crate) async fn list_models(
    State(state): State<Arc<SimState>>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let params = match query::list_params(raw.as_deref(), Resource::ProductModels, &CHANNELS) {
        Ok(p) => p,
        Err(r) => return r.into_response(),
    };
    let world = &state.world;
    // `None`: every model. All models are roots: none has a parent.
    let mut chosen: Option<BTreeSet<u32>> = None;
    for c in &params.criteria {
        let these: Option<BTreeSet<u32>> = match c {
            Criterion::IdentifierIn(codes) => Some(
                codes
                    .iter()
                    .filter_map(|c| world.product_index(&ProductId::new(c.as_str())))
                    .collect(),
            ),
            Criterion::ParentIn(_) | Criterion::ParentIs(_) | Criterion::ParentNotEmpty => {
                Some(BTreeSet::new())
            }
            Criterion::ParentEmpty => None,
            Criterion::CategoriesIn(codes) => Some(in_categories(world, codes).collect()),
        };
        chosen = match (chosen, these) {
            (None, t) => t,
            (c, None) => c,
            (Some(a), Some(b)) => Some(a.intersection(&b).copied().collect()),
        };
    }
    let after = match &params.paging {
        Paging::SearchAfter(Some(key)) => {
            match world.product_index(&ProductId::new(key.as_str())) {
                Some(i) => Some(i),
                None => return invalid_cursor(),
            }
        }
        _ => None,
    };
    let start = after.map_or(0, |i| i + 1);
    let (page, more) = match chosen {
        None => window(start..world.product_count(), &params),
        Some(set) => window(set.range(start..).copied(), &params),
    };
    let base = base_url(&headers);
    let items = page
        .iter()
        .map(|&i| model_json(world, i, &world.product(i, ""), &params.values, &base))
        .collect();
    let next = next_of(&params, more, page.last().map(|&i| World::product_id(i).0));
    Json(query::collection(&base, MODELS_PATH, &params, items, next)).into_response()
}

/// `GET /api/rest/v1/products`.
pub(crate) async fn list_products(
    State(state): State<Arc<SimState>>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let params = match query::list_params(raw.as_deref(), Resource::Products, &CHANNELS) {
        Ok(p) => p,
        Err(r) => return r.into_response(),
    };
    let world = &state.world;
    let children = |code: &str| -> Vec<(u32, u32)> {
        world
            .product_index(&ProductId::new(code))
            .map(|i| (0..world.skus(i).len() as u32).map(|v| (i, v)).collect())
            .unwrap_or_default()
    };
    // `None`: every variant product. The world has no simple products.
    let mut chosen: Option<BTreeSet<(u32, u32)>> = None;
    for c in &params.criteria {
        let these: Option<BTreeSet<(u32, u32)>> = match c {
            Criterion::IdentifierIn(skus) => Some(
                skus.iter()
                    .filter_map(|s| world.sku_index(&Sku::new(s.as_str())))
                    .collect(),
            ),
            Criterion::ParentIn(codes) => Some(codes.iter().flat_map(|c| children(c)).collect()),
            Criterion::ParentIs(code) => Some(children(code).into_iter().collect()),
            Criterion::ParentEmpty => Some(BTreeSet::new()),
            Criterion::ParentNotEmpty => None,
            // A variant product is classified where its model is (Akeneo merges the two).
            Criterion::CategoriesIn(codes) => Some(
                in_categories(world, codes)
                    .flat_map(|i| (0..world.skus(i).len() as u32).map(move |v| (i, v)))
                    .collect(),
            ),
        };
        chosen = match (chosen, these) {
            (None, t) => t,
            (c, None) => c,
            (Some(a), Some(b)) => Some(a.intersection(&b).copied().collect()),
        };
    }
    let after = match &params.paging {
        Paging::SearchAfter(Some(key)) => match world.sku_index(&Sku::new(key.as_str())) {
            Some(pos) => Some(pos),
            None => return invalid_cursor(),
        },
        _ => None,
    };
    let (page, more) = match chosen {
        Some(set) => match after {
            Some(a) => window(
                set.range((std::ops::Bound::Excluded(a), std::ops::Bound::Unbounded))
                    .copied(),
                &params,
            ),
            None => window(set.iter().copied(), &params),
        },
        None => {
            let (first_model, skip_first) = match after {
                Some((i, v)) => (i, v + 1),
                None => (0, 0),
            };
            let all = (first_model..world.product_count()).flat_map(move |i| {
                let from = if i == first_model { skip_first } else { 0 };
                (from..world.skus(i).len() as u32).map(move |v| (i, v))
            });
            window(all, &params)
        }
    };
    let base = base_url(&headers);
    let mut items = Vec::with_capacity(page.len());
    let mut current: Option<Model> = None;
    for &(i, v) in &page {
        if current.as_ref().is_none_or(|m| m.i != i) {
            current = Some(Model::new(world, i, &params.values, &base));
        }
        if let Some(model) = &current {
            if let Some(item) = variant_json(world, model, v, &params.values, &base) {
                items.push(item);
            }
        }
    }
    let last_key = match (page.last(), &current) {
        (Some(&(_, v)), Some(m)) => m.product.variants.get(v as usize).map(|x| x.sku.0.clone()),
        _ => None,
    };
    let next = next_of(&params, more, last_key);
    Json(query::collection(
        &base,
        PRODUCTS_PATH,
        &params,
        items,
        next,
    ))
    .into_response()
}

/// `GET /api/rest/v1/product-models/{code}`.
pub(crate) async fn get_model(
    State(state): State<Arc<SimState>>,
    headers: HeaderMap,
    Path(code): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    let world = &state.world;
    let Some(i) = world.product_index(&ProductId::new(code.as_str())) else {
        return not_found("Product model", &code);
    };
    let filter = match query::value_filter(&query::pairs(raw.as_deref()), &CHANNELS) {
        Ok(f) => f,
        Err(r) => return r.into_response(),
    };
    let base = base_url(&headers);
    Json(model_json(world, i, &world.product(i, ""), &filter, &base)).into_response()
}

/// `GET /api/rest/v1/products/{identifier}`.
pub(crate) async fn get_product(
    State(state): State<Arc<SimState>>,
    headers: HeaderMap,
    Path(code): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    let world = &state.world;
    let Some((i, v)) = world.sku_index(&Sku::new(code.as_str())) else {
        return not_found("Product", &code);
    };
    let filter = match query::value_filter(&query::pairs(raw.as_deref()), &CHANNELS) {
        Ok(f) => f,
        Err(r) => return r.into_response(),
    };
    let base = base_url(&headers);
    match variant_json(
        world,
        &Model::new(world, i, &filter, &base),
        v,
        &filter,
        &base,
    ) {
        Some(item) => Json(item).into_response(),
        None => not_found("Product", &code),
    }
}

/// Whether `code` names a media file of the world: `p000042.jpg` (a model's image) or
/// `p000042-oak.jpg` (a variant's).
fn media_exists(world: &World, code: &str) -> bool {
    let Some(stem) = code.strip_suffix(".jpg") else {
        return false;
    };
    let key = stem.to_uppercase();
    if key.contains('-') {
        world.sku_index(&Sku::new(key)).is_some()
    } else {
        world.product_index(&ProductId::new(key)).is_some()
    }
}

/// Placeholder bytes for every image: a JPEG's start and end markers around a comment.
const PLACEHOLDER_JPEG: &[u8] = b"\xFF\xD8\xFF\xFE\x00\x10samlet-sim-img\xFF\xD9";

/// `GET /api/rest/v1/media-files/{code}` and `…/{code}/download`.
pub(crate) async fn media_file(
    State(state): State<Arc<SimState>>,
    headers: HeaderMap,
    Path(path): Path<String>,
) -> Response {
    let (code, download) = match path.strip_suffix("/download") {
        Some(code) => (code, true),
        None => (path.as_str(), false),
    };
    if !media_exists(&state.world, code) {
        return not_found("Media file", code);
    }
    if download {
        return (
            [
                (header::CONTENT_TYPE, "image/jpeg".to_owned()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{code}\""),
                ),
            ],
            PLACEHOLDER_JPEG,
        )
            .into_response();
    }
    let base = base_url(&headers);
    Json(json!({
        "_links": { "download": { "href": download_href(&base, code) } },
        "code": code,
        "original_filename": code,
        "mime_type": "image/jpeg",
        "size": PLACEHOLDER_JPEG.len(),
        "extension": "jpg",
    }))
    .into_response()
}
