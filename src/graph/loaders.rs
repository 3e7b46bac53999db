//! Per-request loaders ([`Batcher`]), one key type per capability: every key a query asks for in one
//! tick of the executor is gathered into one batch call per upstream, so a listing of 48
//! products with price and stock costs one call per upstream, not 48. Results are cached for
//! the request, which also lets a resolver start a load early (see `Query::product`) and the
//! field that needs it later find it done.

use super::batch::{BatchLost, Batcher};
use crate::gateway::{Gateway, PriceCacheKey};
use async_graphql::dataloader::Loader;
use futures::future::join_all;
use samlet_connector::context::RequestContext;
use samlet_connector::ids::{ConnectorName, CustomerNumber, OrderNumber, ProductId, Sku};
use samlet_connector::model::{CustomerRecord, MatchKey, Order, Price, Product, StockLevel};
use samlet_connector::ConnectorError;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// A shared connector failure (a failed batch is reported on every field that needed it).
pub type Failure = Arc<ConnectorError>;

/// Everything one request needs: the gateway, the request context, and its loader.
pub struct Scope {
    /// The connected gateway.
    pub gateway: Arc<Gateway>,
    /// The request's context.
    pub cx: RequestContext,
    /// The request's loader.
    pub loader: Batcher<Traced>,
    /// Customers this request recognised (for the channel figures).
    pub recognised: Arc<std::sync::Mutex<Vec<CustomerNumber>>>,
    /// Cached answers this request was served stale, and the paths they answered.
    pub stale: Arc<StaleLog>,
}

impl Scope {
    /// A fresh scope for one request.
    pub fn new(gateway: Arc<Gateway>, cx: RequestContext) -> Scope {
        let stale = Arc::new(StaleLog::default());
        // Batches run as tasks of their own, inside the request's trace span.
        let loader = Batcher::new(
            Traced(Upstreams {
                gateway: gateway.clone(),
                cx: cx.clone(),
                stale: stale.clone(),
            }),
            tracing::Span::current(),
        );
        Scope {
            gateway,
            cx,
            loader,
            recognised: Arc::default(),
            stale,
        }
    }

    /// Marks the field at `ctx`'s path as answered from a stale cache entry, if the load of
    /// `key` was (see [`StaleLog`]).
    pub fn mark_if_stale(&self, ctx: &async_graphql::Context<'_>, key: &Cached, connector: &str) {
        self.stale.mark(ctx, key, connector);
    }
}

/// A cached value a field may have been answered from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Cached {
    /// A product by id.
    Product(ProductId),
    /// The product holding a SKU.
    ProductBySku(Sku),
    /// A SKU's price (in the request's context).
    Price(Sku),
    /// A SKU's stock.
    Stock(Sku),
    /// The locations.
    Locations,
}

/// The most paths one response lists under `extensions.stale`.
pub const MAX_STALE_PATHS: usize = 100;

/// What one request was served from stale cache entries: the loaders note each stale key with
/// its age, the fields that used one note their path, and the server lists them in the
/// response's `extensions.stale` as `{ path, connector, ageSeconds }`.
#[derive(Debug, Default)]
pub struct StaleLog {
    keys: std::sync::Mutex<HashMap<Cached, std::time::Duration>>,
    paths: std::sync::Mutex<Vec<serde_json::Value>>,
    more: std::sync::atomic::AtomicUsize,
}

impl StaleLog {
    fn note<K>(&self, stale: Vec<(K, std::time::Duration)>, key: impl Fn(K) -> Cached) {
        if stale.is_empty() {
            return;
        }
        let mut keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
        for (k, age) in stale {
            keys.insert(key(k), age);
        }
    }

    fn mark(&self, ctx: &async_graphql::Context<'_>, key: &Cached, connector: &str) {
        let Some(age) = self
            .keys
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(key)
            .copied()
        else {
            return;
        };
        let mut paths = self.paths.lock().unwrap_or_else(|e| e.into_inner());
        if paths.len() >= MAX_STALE_PATHS {
            self.more.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            return;
        }
        paths.push(serde_json::json!({
            "path": ctx.path_node.as_ref().map(serde_json::to_value).and_then(Result::ok),
            "connector": connector,
            "ageSeconds": age.as_secs(),
        }));
    }

    /// The `extensions.stale` list (sorted by path), or `None` when nothing was stale; and how
    /// many further paths were left out past [`MAX_STALE_PATHS`].
    pub fn take(&self) -> Option<(serde_json::Value, usize)> {
        let mut paths = std::mem::take(&mut *self.paths.lock().unwrap_or_else(|e| e.into_inner()));
        if paths.is_empty() {
            return None;
        }
        paths.sort_by_key(|p| p["path"].to_string());
        Some((
            serde_json::Value::Array(paths),
            self.more.load(std::sync::atomic::Ordering::Relaxed),
        ))
    }
}

/// The batch loader behind every key type.
pub struct Upstreams {
    gateway: Arc<Gateway>,
    cx: RequestContext,
    stale: Arc<StaleLog>,
}

/// Key: the price of a SKU in the request's context.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PriceKey(pub Sku);

/// Key: the stock of a SKU per location.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StockKey(pub Sku);

/// Key: the product holding a SKU.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ProductBySku(pub Sku);

/// Key: a customer's latest orders, at most `limit`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CustomerOrders(pub CustomerNumber, pub usize);

impl From<BatchLost> for Failure {
    fn from(_: BatchLost) -> Self {
        Arc::new(ConnectorError::new(
            samlet_connector::ErrorKind::Unavailable,
            &ConnectorName::new("gateway"),
            "the batch loading this data stopped before it answered",
        ))
    }
}

fn shared<T>(r: Result<T, ConnectorError>) -> Result<T, Failure> {
    r.map_err(Arc::new)
}

impl Loader<ProductId> for Upstreams {
    type Value = Arc<Product>;
    type Error = Failure;
    async fn load(&self, keys: &[ProductId]) -> Result<HashMap<ProductId, Arc<Product>>, Failure> {
        let channel = self.cx.channel;
        let (source, cx) = (self.gateway.products.source.clone(), self.cx.clone());
        let cache_keys: Vec<_> = keys.iter().map(|k| (channel, k.clone())).collect();
        let (got, stale) = self
            .gateway
            .caches
            .products
            .get_many_aged(&cache_keys, move |keys: Vec<(_, ProductId)>| {
                let (source, cx) = (source.clone(), cx.clone());
                async move {
                    let ids: Vec<ProductId> = keys.into_iter().map(|(_, id)| id).collect();
                    let found = shared(source.products(&cx, &ids).await)?;
                    Ok(found
                        .into_iter()
                        .map(|(k, v)| ((cx.channel, k), Arc::new(v)))
                        .collect())
                }
            })
            .await?;
        self.stale.note(stale, |(_, k)| Cached::Product(k));
        Ok(got.into_iter().map(|((_, k), v)| (k, v)).collect())
    }
}

impl Loader<ProductBySku> for Upstreams {
    type Value = Arc<Product>;
    type Error = Failure;
    async fn load(
        &self,
        keys: &[ProductBySku],
    ) -> Result<HashMap<ProductBySku, Arc<Product>>, Failure> {
        let channel = self.cx.channel;
        let (source, cx) = (self.gateway.products.source.clone(), self.cx.clone());
        let cache_keys: Vec<_> = keys.iter().map(|k| (channel, k.0.clone())).collect();
        let (got, stale) = self
            .gateway
            .caches
            .products_by_sku
            .get_many_aged(&cache_keys, move |keys: Vec<(_, Sku)>| {
                let (source, cx) = (source.clone(), cx.clone());
                async move {
                    let skus: Vec<Sku> = keys.into_iter().map(|(_, s)| s).collect();
                    let found = shared(source.products_by_sku(&cx, &skus).await)?;
                    Ok(found
                        .into_iter()
                        .map(|(k, v)| ((cx.channel, k), Arc::new(v)))
                        .collect())
                }
            })
            .await?;
        self.stale.note(stale, |(_, k)| Cached::ProductBySku(k));
        Ok(got
            .into_iter()
            .map(|((_, k), v)| (ProductBySku(k), v))
            .collect())
    }
}

/// Key: the first products of a category (`[recommendations] max_candidates` of them).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CategoryKey(pub String);

/// The most vendor pages read for one category's candidates (vendors with tiny page caps).
const MAX_CATEGORY_PAGES: usize = 10;

/// The first `want` products of `category`, following the connector's pages.
async fn first_of_category(
    source: &dyn samlet_connector::capability::ProductSource,
    cx: &RequestContext,
    category: &str,
    want: usize,
) -> Result<Vec<Arc<Product>>, ConnectorError> {
    let mut out: Vec<Arc<Product>> = Vec::with_capacity(want);
    let mut after = None;
    for _ in 0..MAX_CATEGORY_PAGES {
        let page = source
            .products_in_category(
                cx,
                category,
                &samlet_connector::paging::PageRequest {
                    first: want - out.len(),
                    after,
                },
            )
            .await?;
        let n = page.items.len();
        out.extend(page.items.into_iter().map(Arc::new));
        out.truncate(want);
        match page.next {
            Some(next) if out.len() < want && n > 0 => after = Some(next),
            _ => break,
        }
    }
    Ok(out)
}

impl Loader<CategoryKey> for Upstreams {
    type Value = crate::gateway::CategoryProducts;
    type Error = Failure;
    async fn load(
        &self,
        keys: &[CategoryKey],
    ) -> Result<HashMap<CategoryKey, Self::Value>, Failure> {
        let channel = self.cx.channel;
        let (source, cx) = (self.gateway.products.source.clone(), self.cx.clone());
        let want = self.gateway.recommendations.max_candidates;
        let cache_keys: Vec<_> = keys.iter().map(|k| (channel, k.0.clone())).collect();
        let got = self
            .gateway
            .caches
            .categories
            .get_many(&cache_keys, move |keys: Vec<(_, String)>| {
                let (source, cx) = (source.clone(), cx.clone());
                async move {
                    // One capability call per category, all at once.
                    let lists = join_all(
                        keys.iter()
                            .map(|(_, c)| first_of_category(source.as_ref(), &cx, c, want)),
                    )
                    .await;
                    let mut out = HashMap::with_capacity(keys.len());
                    for (k, list) in keys.into_iter().zip(lists) {
                        out.insert(k, Arc::new(shared(list)?));
                    }
                    Ok(out)
                }
            })
            .await?;
        Ok(got
            .into_iter()
            .map(|((_, k), v)| (CategoryKey(k), v))
            .collect())
    }
}

impl Loader<PriceKey> for Upstreams {
    type Value = Price;
    type Error = Failure;
    async fn load(&self, keys: &[PriceKey]) -> Result<HashMap<PriceKey, Price>, Failure> {
        let key = |sku: Sku| PriceCacheKey {
            channel: self.cx.channel,
            currency: self.cx.currency,
            group: self.cx.customer_group.clone(),
            sku,
        };
        let (source, cx) = (self.gateway.prices.source.clone(), self.cx.clone());
        let cache_keys: Vec<_> = keys.iter().map(|k| key(k.0.clone())).collect();
        let (got, stale) = self
            .gateway
            .caches
            .prices
            .get_many_aged(&cache_keys, move |keys: Vec<PriceCacheKey>| {
                let (source, cx) = (source.clone(), cx.clone());
                async move {
                    let skus: Vec<Sku> = keys.iter().map(|k| k.sku.clone()).collect();
                    let found = shared(source.prices(&cx, &skus).await)?;
                    Ok(keys
                        .into_iter()
                        .filter_map(|k| found.get(&k.sku).cloned().map(|p| (k, p)))
                        .collect())
                }
            })
            .await?;
        self.stale.note(stale, |k| Cached::Price(k.sku));
        Ok(got.into_iter().map(|(k, v)| (PriceKey(k.sku), v)).collect())
    }
}

impl Loader<StockKey> for Upstreams {
    type Value = Arc<Vec<StockLevel>>;
    type Error = Failure;
    async fn load(
        &self,
        keys: &[StockKey],
    ) -> Result<HashMap<StockKey, Arc<Vec<StockLevel>>>, Failure> {
        let (source, cx) = (self.gateway.inventory.source.clone(), self.cx.clone());
        let skus: Vec<Sku> = keys.iter().map(|k| k.0.clone()).collect();
        let (got, stale) = self
            .gateway
            .caches
            .stock
            .get_many_aged(&skus, move |skus: Vec<Sku>| {
                let (source, cx) = (source.clone(), cx.clone());
                async move {
                    let found = shared(source.stock(&cx, &skus).await)?;
                    Ok(found.into_iter().map(|(k, v)| (k, Arc::new(v))).collect())
                }
            })
            .await?;
        self.stale.note(stale, Cached::Stock);
        Ok(got.into_iter().map(|(k, v)| (StockKey(k), v)).collect())
    }
}

impl Loader<OrderNumber> for Upstreams {
    type Value = Arc<Order>;
    type Error = Failure;
    async fn load(
        &self,
        keys: &[OrderNumber],
    ) -> Result<HashMap<OrderNumber, Arc<Order>>, Failure> {
        let got = shared(self.gateway.orders.source.orders(&self.cx, keys).await)?;
        Ok(got.into_iter().map(|(k, v)| (k, Arc::new(v))).collect())
    }
}

impl Loader<CustomerOrders> for Upstreams {
    type Value = Arc<Vec<Order>>;
    type Error = Failure;
    async fn load(
        &self,
        keys: &[CustomerOrders],
    ) -> Result<HashMap<CustomerOrders, Arc<Vec<Order>>>, Failure> {
        // One call for the largest limit asked; smaller asks are cut from it.
        let limit = keys.iter().map(|k| k.1).max().unwrap_or(0);
        let mut customers: Vec<CustomerNumber> = keys.iter().map(|k| k.0.clone()).collect();
        customers.sort();
        customers.dedup();
        let got = shared(
            self.gateway
                .orders
                .source
                .orders_for_customers(&self.cx, &customers, limit)
                .await,
        )?;
        Ok(keys
            .iter()
            .map(|k| {
                let orders = got
                    .get(&k.0)
                    .map(|v| v.iter().take(k.1).cloned().collect())
                    .unwrap_or_default();
                (k.clone(), Arc::new(orders))
            })
            .collect())
    }
}

/// One person or company, as every customer source that knows them records them.
#[derive(Debug, Clone)]
pub struct UnifiedCustomer {
    /// The shared customer number, if any record carries it.
    pub number: Option<CustomerNumber>,
    /// Records in source precedence order.
    pub records: Vec<CustomerRecord>,
    /// Sources that failed while looking this customer up.
    pub failures: Vec<Failure>,
}

/// Everyone a match key found.
#[derive(Debug, Clone, Default)]
pub struct CustomerMatch {
    /// The customers, best first.
    pub customers: Vec<Arc<UnifiedCustomer>>,
    /// Sources that failed.
    pub failures: Vec<Failure>,
}

impl Loader<MatchKey> for Upstreams {
    type Value = Arc<CustomerMatch>;
    type Error = Failure;

    /// Recognition at query time: ask every customer source for the keys at once (an
    /// external id only of the connector it names); then, for each customer number found, ask
    /// the sources that did not answer for that customer by number (one batch per source), so
    /// a phone or a record id held by one system still finds the records of the others.
    async fn load(
        &self,
        keys: &[MatchKey],
    ) -> Result<HashMap<MatchKey, Arc<CustomerMatch>>, Failure> {
        let sources = &self.gateway.customers;
        let first = join_all(sources.iter().map(|s| {
            let mine: Vec<MatchKey> = keys
                .iter()
                .filter(|k| k.is_for(&s.connector))
                .cloned()
                .collect();
            async move {
                if mine.is_empty() {
                    Ok(HashMap::new())
                } else {
                    s.source.customers(&self.cx, &mine).await
                }
            }
        }))
        .await;
        let mut failures: Vec<Failure> = Vec::new();
        let mut found: Vec<HashMap<MatchKey, Vec<CustomerRecord>>> =
            Vec::with_capacity(sources.len());
        for r in first {
            match r {
                Ok(m) => found.push(m),
                Err(e) => {
                    failures.push(Arc::new(e));
                    found.push(HashMap::new());
                }
            }
        }
        let failed: HashSet<ConnectorName> = failures.iter().map(|f| f.connector.clone()).collect();
        // Numbers each source still has to be asked for.
        let mut numbers: HashSet<CustomerNumber> = HashSet::new();
        for m in &found {
            for recs in m.values() {
                numbers.extend(recs.iter().filter_map(|r| r.number.clone()));
            }
        }
        let second = join_all(sources.iter().zip(&found).map(|(s, m)| {
            let have: HashSet<&CustomerNumber> = m
                .values()
                .flatten()
                .filter_map(|r| r.number.as_ref())
                .collect();
            let missing: Vec<MatchKey> = numbers
                .iter()
                .filter(|n| !have.contains(n))
                .map(|n| MatchKey::CustomerNumber(n.clone()))
                .collect();
            let skip = missing.is_empty() || failed.contains(&s.connector);
            async move {
                if skip {
                    Ok(HashMap::new())
                } else {
                    s.source.customers(&self.cx, &missing).await
                }
            }
        }))
        .await;
        let mut by_number: Vec<HashMap<CustomerNumber, Vec<CustomerRecord>>> =
            Vec::with_capacity(sources.len());
        for (m, extra) in found.iter().zip(second) {
            let mut idx: HashMap<CustomerNumber, Vec<CustomerRecord>> = HashMap::new();
            for r in m.values().flatten() {
                if let Some(n) = &r.number {
                    push_unique(idx.entry(n.clone()).or_default(), r);
                }
            }
            match extra {
                Ok(extra) => {
                    for r in extra.values().flatten() {
                        if let Some(n) = &r.number {
                            push_unique(idx.entry(n.clone()).or_default(), r);
                        }
                    }
                }
                Err(e) => failures.push(Arc::new(e)),
            }
            by_number.push(idx);
        }
        let mut out = HashMap::new();
        for key in keys {
            let mut customers: Vec<Arc<UnifiedCustomer>> = Vec::new();
            let mut seen = HashSet::new();
            for m in &found {
                for r in m.get(key).into_iter().flatten() {
                    match &r.number {
                        Some(n) if seen.insert(n.clone()) => {
                            let records = by_number
                                .iter()
                                .flat_map(|b| b.get(n).cloned().unwrap_or_default())
                                .collect();
                            customers.push(Arc::new(UnifiedCustomer {
                                number: Some(n.clone()),
                                records,
                                failures: failures.clone(),
                            }));
                        }
                        Some(_) => {}
                        None => customers.push(Arc::new(UnifiedCustomer {
                            number: None,
                            records: vec![r.clone()],
                            failures: failures.clone(),
                        })),
                    }
                }
            }
            if !customers.is_empty() || !failures.is_empty() {
                out.insert(
                    key.clone(),
                    Arc::new(CustomerMatch {
                        customers,
                        failures: failures.clone(),
                    }),
                );
            }
        }
        Ok(out)
    }
}

fn push_unique(list: &mut Vec<CustomerRecord>, r: &CustomerRecord) {
    if !list.iter().any(|x| x.source == r.source) {
        list.push(r.clone());
    }
}

/// Key: every location (loaded once per request).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AllLocations;

impl Loader<AllLocations> for Upstreams {
    type Value = Arc<Vec<samlet_connector::model::Location>>;
    type Error = Failure;
    async fn load(
        &self,
        _: &[AllLocations],
    ) -> Result<HashMap<AllLocations, Self::Value>, Failure> {
        let (source, cx) = (self.gateway.locations.source.clone(), self.cx.clone());
        let (got, stale) = self
            .gateway
            .caches
            .locations
            .get_many_aged(&[()], move |_| {
                let (source, cx) = (source.clone(), cx.clone());
                async move {
                    Ok(HashMap::from([(
                        (),
                        Arc::new(shared(source.locations(&cx).await)?),
                    )]))
                }
            })
            .await?;
        self.stale.note(stale, |()| Cached::Locations);
        Ok(got.into_values().map(|v| (AllLocations, v)).collect())
    }
}

/// The loader the request's DataLoader drives: [`Upstreams`], with every batch inside its
/// `capability` trace span (see [`crate::trace::load`]).
pub struct Traced(Upstreams);

/// The capability a key type loads, and the connector instance serving it.
pub trait Traceable {
    /// The capability.
    const CAPABILITY: samlet_connector::capability::Capability;
    /// The instance asked (`None` when several are: customers).
    fn connector(gateway: &Gateway) -> Option<&ConnectorName>;
}

macro_rules! traceable {
    ($($key:ty => $cap:ident, $field:ident;)*) => {$(
        impl Traceable for $key {
            const CAPABILITY: samlet_connector::capability::Capability =
                samlet_connector::capability::Capability::$cap;
            fn connector(gateway: &Gateway) -> Option<&ConnectorName> {
                Some(&gateway.$field.connector)
            }
        }
    )*};
}

traceable! {
    ProductId => Products, products;
    ProductBySku => Products, products;
    CategoryKey => Products, products;
    PriceKey => Prices, prices;
    StockKey => Inventory, inventory;
    OrderNumber => Orders, orders;
    CustomerOrders => Orders, orders;
    AllLocations => Locations, locations;
}

impl Traceable for MatchKey {
    const CAPABILITY: samlet_connector::capability::Capability =
        samlet_connector::capability::Capability::Customers;
    fn connector(_: &Gateway) -> Option<&ConnectorName> {
        None
    }
}

impl<K> Loader<K> for Traced
where
    K: Traceable + Send + Sync + std::hash::Hash + Eq + Clone + 'static,
    Upstreams: Loader<K>,
{
    type Value = <Upstreams as Loader<K>>::Value;
    type Error = <Upstreams as Loader<K>>::Error;
    async fn load(&self, keys: &[K]) -> Result<HashMap<K, Self::Value>, Self::Error> {
        let connector = K::connector(&self.0.gateway);
        crate::trace::load(K::CAPABILITY, connector, keys.len(), self.0.load(keys)).await
    }
}
