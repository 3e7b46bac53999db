//! `ProductSource` over Akeneo: products are product models, variants are their variant
//! products.
//!
//! Batch reads skip the product-models endpoint: Akeneo returns each variant product with the
//! values it inherits from its model, so `GET /products?search={"parent":[IN ...]}` alone yields
//! whole products, one request per 100 variants (Akeneo's page cap), following `_links.next`.
//! By SKU needs each SKU's model first. The connector remembers the model of every variant it
//! has seen ([`ModelHints`]), so a known SKU costs the one family read; an unknown one costs one
//! more request before it, to learn its model. Listing pages through the
//! product models with `pagination_type=search_after` (the stable order Akeneo recommends for
//! big catalogues) and fetches the page's variants by parent.

use crate::client::{
    AkeneoClient, WireProduct, WireProductModel, PRODUCTS_PATH, PRODUCT_MODELS_PATH,
};
use crate::config::{AttributeMapping, ScopeMapping, MAX_PAGE_SIZE};
use crate::mapping::{self, Rules};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use futures::stream::{self, StreamExt, TryStreamExt};
use samlet_connector::prelude::*;
use std::collections::HashSet;
use std::future::Future;
use std::sync::Arc;
use url::Url;

/// The longest `IN` list sent in one `search` filter: Akeneo's page size, so one page can
/// hold the answer for every key of an identifier search.
const MAX_KEYS_PER_FILTER: usize = MAX_PAGE_SIZE as usize;

/// Akeneo SaaS serves at most 4 concurrent calls per connection: batches of more than 100 keys
/// run their chunks at most this many at a time.
const MAX_CONCURRENT_CALLS: usize = 4;

/// How many SKUs' models [`ModelHints`] remembers (about 100 bytes each).
const MODEL_HINTS: u64 = 50_000;

/// Marks cursors of this connector version, so a foreign or stale cursor is refused.
const CURSOR_PREFIX: &str = "ak1.";

/// Runs `calls` (one per chunk of keys), at most [`MAX_CONCURRENT_CALLS`] at once.
async fn bounded<T, Fut>(calls: Vec<Fut>) -> ConnectorResult<Vec<T>>
where
    Fut: Future<Output = ConnectorResult<T>>,
{
    stream::iter(calls)
        .buffer_unordered(MAX_CONCURRENT_CALLS)
        .try_collect()
        .await
}

/// The Akeneo product source of one connector instance.
pub(crate) struct AkeneoProducts {
    pub(crate) client: Arc<AkeneoClient>,
    pub(crate) scopes: ScopeMapping,
    pub(crate) attributes: AttributeMapping,
    pub(crate) page_size: u32,
    pub(crate) hints: ModelHints,
}

/// The model each SKU belonged to when it was last seen, learnt from every variant read.
///
/// Only a hint, never an answer: a read by SKU asks for the hinted model's family straight away,
/// beside nothing else, and takes the SKU from it only if the family (read now) still holds it.
/// A SKU moved to another model, or deleted, is looked up afresh. So the hint saves a round trip
/// and can never make an answer stale.
pub(crate) struct ModelHints(moka::sync::Cache<String, Arc<str>>);

impl Default for ModelHints {
    fn default() -> Self {
        ModelHints(moka::sync::Cache::new(MODEL_HINTS))
    }
}

impl ModelHints {
    fn get(&self, sku: &str) -> Option<Arc<str>> {
        self.0.get(sku)
    }

    fn learn<'a>(&self, variants: impl IntoIterator<Item = &'a WireProduct>) {
        for v in variants {
            if let Some(parent) = &v.parent {
                if self.0.get(&v.identifier).as_deref() != Some(parent.as_str()) {
                    self.0
                        .insert(v.identifier.clone(), Arc::from(parent.as_str()));
                }
            }
        }
    }
}

/// Models read with their variants: the assembled products by model code, and the model each
/// variant read belongs to now (disabled ones too).
#[derive(Default)]
struct Families {
    products: HashMap<String, Product>,
    parent_of: HashMap<String, String>,
}

impl Families {
    fn merge(mut self, other: Families) -> Families {
        self.products.extend(other.products);
        self.parent_of.extend(other.parent_of);
        self
    }

    /// The product `sku` is a variant of, if it is one of these families' enabled variants.
    fn holding(&self, sku: &Sku) -> Option<&Product> {
        let p = self.products.get(self.parent_of.get(sku.as_str())?)?;
        // A disabled variant is not part of its product, so it finds nothing.
        p.variant(sku).is_some().then_some(p)
    }
}

impl AkeneoProducts {
    fn scope(&self, cx: &RequestContext) -> &str {
        self.scopes.scope_for(cx.channel)
    }

    /// Query parameters every product-model read carries: the channel's scope and only the
    /// mapped attributes. (Akeneo documents `with_attribute_options` for products only.)
    fn model_read_params(&self, cx: &RequestContext) -> Vec<(&'static str, String)> {
        vec![
            ("scope", self.scope(cx).to_owned()),
            ("attributes", self.attributes.all_codes().join(",")),
        ]
    }

    /// Query parameters every product read carries: those of a model read, and option labels
    /// for the variant axes (simple selects).
    fn read_params(&self, cx: &RequestContext) -> Vec<(&'static str, String)> {
        let mut params = self.model_read_params(cx);
        params.push(("with_attribute_options", "true".into()));
        params
    }

    fn url(&self, path: &str, params: &[(&'static str, String)]) -> Url {
        let pairs: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
        self.client.endpoint(path, &pairs)
    }

    fn in_filter(property: &str, values: &[&str]) -> String {
        serde_json::json!({ property: [{ "operator": "IN", "value": values }] }).to_string()
    }

    /// Every product whose `property` is one of `values`, all pages.
    async fn products_where(
        &self,
        cx: &RequestContext,
        property: &str,
        values: &[&str],
    ) -> ConnectorResult<Vec<WireProduct>> {
        let mut params = vec![
            ("search", Self::in_filter(property, values)),
            ("pagination_type", "search_after".into()),
            ("limit", self.page_size.to_string()),
        ];
        params.extend(self.read_params(cx));
        let url = self.url(PRODUCTS_PATH, &params);
        self.client.get_all(url, "products").await
    }

    fn rules<'a>(
        &'a self,
        cx: &'a RequestContext,
        media_url: &'a (dyn Fn(&str) -> String + Sync),
    ) -> Rules<'a> {
        Rules {
            attributes: &self.attributes,
            scope: self.scope(cx),
            media_url,
        }
    }

    /// The products of models `codes` (at most [`MAX_KEYS_PER_FILTER`]), assembled from their
    /// variant products.
    async fn by_model_codes(
        &self,
        cx: &RequestContext,
        codes: &[&str],
    ) -> ConnectorResult<Families> {
        let variants = self.products_where(cx, "parent", codes).await?;
        self.hints.learn(&variants);
        let media_url = |code: &str| self.client.media_download_url(code);
        let rules = self.rules(cx, &media_url);
        let mut out = Families::default();
        for (code, members) in group_by_parent(&variants) {
            if let Some(p) = mapping::product(&rules, code, None, &members) {
                out.products.insert(code.to_owned(), p);
            }
        }
        out.parent_of = variants
            .into_iter()
            .filter_map(|v| Some((v.identifier, v.parent?)))
            .collect();
        Ok(out)
    }

    /// The families of models `codes`, any number, in chunks of [`MAX_KEYS_PER_FILTER`].
    async fn families(&self, cx: &RequestContext, codes: &[&str]) -> ConnectorResult<Families> {
        let calls = codes
            .chunks(MAX_KEYS_PER_FILTER)
            .map(|chunk| self.by_model_codes(cx, chunk))
            .collect();
        Ok(bounded(calls)
            .await?
            .into_iter()
            .fold(Families::default(), Families::merge))
    }

    /// Products by SKU without hints: first the SKUs themselves, to learn their models, then
    /// each model's whole family of variants.
    async fn by_sku_unhinted(
        &self,
        cx: &RequestContext,
        skus: &[&str],
    ) -> ConnectorResult<HashMap<Sku, Product>> {
        if skus.is_empty() {
            return Ok(HashMap::new());
        }
        let calls = skus
            .chunks(MAX_KEYS_PER_FILTER)
            .map(|chunk| self.products_where(cx, "identifier", chunk))
            .collect();
        // (The families read next teach the hints, disabled variants too.)
        let found = bounded(calls).await?;
        let models = distinct(found.iter().flatten().filter_map(|p| p.parent.as_deref()));
        let families = self.families(cx, &models).await?;
        Ok(skus
            .iter()
            .map(|s| Sku::new(*s))
            .filter_map(|sku| Some((sku.clone(), families.holding(&sku)?.clone())))
            .collect())
    }

    /// A page of product models (those `search` selects, if given) with their variants.
    async fn list_models(
        &self,
        cx: &RequestContext,
        page: &PageRequest,
        search: Option<String>,
    ) -> ConnectorResult<Page<Product>> {
        let limit = page.first.clamp(1, self.page_size as usize);
        let mut params = vec![
            ("pagination_type", "search_after".to_owned()),
            ("limit", limit.to_string()),
        ];
        if let Some(after) = &page.after {
            let token = decode_cursor(after).ok_or_else(|| {
                ConnectorError::new(
                    ErrorKind::BadRequest,
                    self.client.name(),
                    "the `after` cursor was not issued by this connector",
                )
            })?;
            params.push(("search_after", token));
        }
        if let Some(search) = search {
            params.push(("search", search));
        }
        params.extend(self.model_read_params(cx));
        let url = self.url(PRODUCT_MODELS_PATH, &params);
        let models: crate::client::WirePage<WireProductModel> =
            self.client.get_json(&url, "product models").await?;
        let models = models_page(models);
        if models.items.is_empty() {
            return Ok(Page {
                items: Vec::new(),
                next: None,
            });
        }
        let codes: Vec<&str> = models.items.iter().map(|m| m.code.as_str()).collect();
        let variants = self.products_where(cx, "parent", &codes).await?;
        self.hints.learn(&variants);
        let groups: HashMap<&str, Vec<&WireProduct>> =
            group_by_parent(&variants).into_iter().collect();
        let media_url = |code: &str| self.client.media_download_url(code);
        let rules = self.rules(cx, &media_url);
        let items = models
            .items
            .iter()
            .filter_map(|m| {
                let members = groups
                    .get(m.code.as_str())
                    .map(Vec::as_slice)
                    .unwrap_or(&[]);
                mapping::product(&rules, &m.code, Some(m), members)
            })
            .collect();
        let next = match models.next {
            None => None,
            Some(href) => Some(encode_cursor(&search_after_of(&href).ok_or_else(|| {
                ConnectorError::new(
                    ErrorKind::InvalidResponse,
                    self.client.name(),
                    "product models: `_links.next` carries no search_after",
                )
            })?)),
        };
        Ok(Page { items, next })
    }
}

/// Variant products grouped by parent model, in the order Akeneo returned them.
fn group_by_parent(variants: &[WireProduct]) -> Vec<(&str, Vec<&WireProduct>)> {
    let mut groups: Vec<(&str, Vec<&WireProduct>)> = Vec::new();
    let mut index: HashMap<&str, usize> = HashMap::new();
    for v in variants {
        let Some(parent) = v.parent.as_deref() else {
            continue;
        };
        let slot = *index.entry(parent).or_insert_with(|| {
            groups.push((parent, Vec::new()));
            groups.len() - 1
        });
        groups[slot].1.push(v);
    }
    groups
}

/// The keys without repeats, in first-seen order.
fn distinct<'a>(keys: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    let mut seen = HashSet::new();
    keys.into_iter().filter(|k| seen.insert(*k)).collect()
}

fn encode_cursor(search_after: &str) -> String {
    format!("{CURSOR_PREFIX}{}", URL_SAFE_NO_PAD.encode(search_after))
}

fn decode_cursor(cursor: &str) -> Option<String> {
    let raw = URL_SAFE_NO_PAD
        .decode(cursor.strip_prefix(CURSOR_PREFIX)?)
        .ok()?;
    String::from_utf8(raw).ok().filter(|s| !s.is_empty())
}

/// Akeneo's own `search_after` token from a next link (carried, never built).
fn search_after_of(href: &str) -> Option<String> {
    let url = Url::parse(href)
        .or_else(|_| Url::parse("http://relative.invalid").and_then(|b| b.join(href)))
        .ok()?;
    url.query_pairs()
        .find(|(k, _)| k == "search_after")
        .map(|(_, v)| v.into_owned())
}

#[async_trait]
impl ProductSource for AkeneoProducts {
    async fn products(
        &self,
        cx: &RequestContext,
        ids: &[ProductId],
    ) -> ConnectorResult<HashMap<ProductId, Product>> {
        let codes = distinct(ids.iter().map(ProductId::as_str));
        Ok(self
            .families(cx, &codes)
            .await?
            .products
            .into_iter()
            .map(|(code, p)| (ProductId::new(code), p))
            .collect())
    }

    async fn products_by_sku(
        &self,
        cx: &RequestContext,
        skus: &[Sku],
    ) -> ConnectorResult<HashMap<Sku, Product>> {
        let wanted = distinct(skus.iter().map(Sku::as_str));
        let (hinted, unknown): (Vec<_>, Vec<_>) = wanted
            .iter()
            .map(|sku| (*sku, self.hints.get(sku)))
            .partition(|(_, model)| model.is_some());
        let unknown: Vec<&str> = unknown.into_iter().map(|(sku, _)| sku).collect();
        let models = distinct(hinted.iter().filter_map(|(_, m)| m.as_deref()));
        // The hinted models' families and the unknown SKUs' lookups go out together.
        let (families, mut out) = futures::try_join!(
            self.families(cx, &models),
            self.by_sku_unhinted(cx, &unknown)
        )?;
        let mut moved = Vec::new();
        for (sku, _) in hinted {
            let sku = Sku::new(sku);
            match families.holding(&sku) {
                Some(p) => {
                    out.insert(sku, p.clone());
                }
                // Read now as a variant of its hinted model, but disabled: not found.
                None if families.parent_of.contains_key(sku.as_str()) => {}
                // No longer among its hinted model's variants: look it up afresh.
                None => moved.push(sku),
            }
        }
        let moved: Vec<&str> = moved.iter().map(Sku::as_str).collect();
        out.extend(self.by_sku_unhinted(cx, &moved).await?);
        Ok(out)
    }

    async fn list_products(
        &self,
        cx: &RequestContext,
        page: &PageRequest,
    ) -> ConnectorResult<Page<Product>> {
        self.list_models(cx, page, None).await
    }

    /// Akeneo filters product models by category itself (`search={"categories":[{"operator":
    /// "IN","value":[...]}]}`), so a category costs what a listing page costs.
    async fn products_in_category(
        &self,
        cx: &RequestContext,
        category: &str,
        page: &PageRequest,
    ) -> ConnectorResult<Page<Product>> {
        let search = Self::in_filter("categories", &[category]);
        self.list_models(cx, page, Some(search)).await
    }
}

/// A page of models and the link to the next one.
struct ModelsPage {
    items: Vec<WireProductModel>,
    next: Option<String>,
}

fn models_page(page: crate::client::WirePage<WireProductModel>) -> ModelsPage {
    ModelsPage {
        next: page.links.next.map(|l| l.href),
        items: page.embedded.items,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A hint gone wrong (the SKU moved to another model since it was learnt) costs requests,
    /// never a wrong answer.
    #[tokio::test]
    async fn a_sku_whose_hinted_model_no_longer_holds_it_is_looked_up_afresh() {
        use crate::simulator;
        use samlet_testkit::{World, WorldConfig};
        let world = Arc::new(World::new(WorldConfig::default()));
        let sim = simulator::start_with(world.clone(), 0, Default::default())
            .await
            .unwrap();
        let source = crate::product_source(
            &ConnectorName::new("pim"),
            &simulator::demo_config(&sim.base_url()),
            UpstreamPolicy::default(),
        )
        .unwrap();
        let cx = RequestContext::default();
        let sku = world.skus(7)[0].clone();
        let elsewhere = World::product_id(8);
        source
            .hints
            .0
            .insert(sku.as_str().to_owned(), Arc::from(elsewhere.as_str()));

        let got = source
            .products_by_sku(&cx, std::slice::from_ref(&sku))
            .await
            .unwrap();
        assert_eq!(got[&sku].id, World::product_id(7));
        let data = |s: &samlet_testkit::sim::SimServer| s.control.stats.count("GET /api/rest/v1");
        // The wrong family, then the SKU itself, then its real family.
        assert_eq!(data(&sim), 3);
        assert_eq!(
            source.hints.get(sku.as_str()).as_deref(),
            Some(World::product_id(7).as_str())
        );
        source
            .products_by_sku(&cx, std::slice::from_ref(&sku))
            .await
            .unwrap();
        assert_eq!(data(&sim), 4, "learnt anew: one request");
    }

    #[test]
    fn cursors_wrap_akeneo_s_token_and_refuse_foreign_ones() {
        let c = encode_cursor("WyJQMDAwMDQyIl0=");
        assert_eq!(decode_cursor(&c).as_deref(), Some("WyJQMDAwMDQyIl0="));
        assert_eq!(decode_cursor("42"), None);
        assert_eq!(decode_cursor("ak1.!!"), None);
        assert_eq!(decode_cursor("ak1."), None);
    }

    #[test]
    fn the_search_after_token_is_read_from_the_next_link() {
        assert_eq!(
            search_after_of("https://pim/api/rest/v1/product-models?pagination_type=search_after&search_after=qg%3D%3D&limit=3")
                .as_deref(),
            Some("qg==")
        );
        assert_eq!(search_after_of("/api/rest/v1/product-models?page=2"), None);
    }

    #[test]
    fn variants_group_by_parent_in_arrival_order() {
        let v = |sku: &str, parent: Option<&str>| WireProduct {
            identifier: sku.into(),
            enabled: true,
            parent: parent.map(Into::into),
            categories: vec![],
            values: Default::default(),
            updated: None,
        };
        let all = [
            v("B-1", Some("B")),
            v("A-1", Some("A")),
            v("simple", None),
            v("B-2", Some("B")),
        ];
        let groups = group_by_parent(&all);
        let shape: Vec<(&str, Vec<&str>)> = groups
            .iter()
            .map(|(p, m)| (*p, m.iter().map(|v| v.identifier.as_str()).collect()))
            .collect();
        assert_eq!(shape, [("B", vec!["B-1", "B-2"]), ("A", vec!["A-1"])]);
    }
}
