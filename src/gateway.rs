//! The connected gateway: which connector instance serves each capability, built once at start
//! from a validated [`Config`] and shared by every request.

use crate::cache::{BatchGroup, CapabilityCache, SecondLevel};
use crate::config::{Config, ContextDefaults};
use crate::graph::loaders::Failure;
use anyhow::{anyhow, Context as _};
use samlet_connector::capability::{
    Capability, Connector, CustomerSource, InventorySource, LocationSource, MarketingSink,
    OfferStore, OrderSink, OrderSource, PriceSource, ProductSource, VoucherStore, WishlistStore,
};
use samlet_connector::context::{Channel, Currency};
use samlet_connector::ids::ConnectorName;
use samlet_connector::ids::{CustomerGroup, ProductId, Sku};
use samlet_connector::model::{Location, Price, Product, StockLevel};
use std::collections::BTreeMap;
use std::sync::Arc;

/// A capability served by one connector instance.
#[derive(Clone)]
pub struct Served<T: ?Sized> {
    /// The instance's name, for errors and telemetry.
    pub connector: ConnectorName,
    /// The capability.
    pub source: Arc<T>,
}

/// A product cache key: the channel selects the PIM's scope (texts per channel).
pub type ProductKey<K> = (Channel, K);

impl<K> BatchGroup for ProductKey<K> {
    type Group = Channel;
    fn group(&self) -> Channel {
        self.0
    }
}

/// Stock is the same in every context.
impl BatchGroup for Sku {
    type Group = ();
    fn group(&self) {}
}

/// There is one list of locations.
impl BatchGroup for () {
    type Group = ();
    fn group(&self) {}
}

impl BatchGroup for PriceCacheKey {
    type Group = (Channel, Currency, Option<CustomerGroup>);
    fn group(&self) -> Self::Group {
        (self.channel, self.currency, self.group.clone())
    }
}

/// A category's products in the PIM's order.
pub type CategoryProducts = Arc<Vec<Arc<Product>>>;

/// A price cache key: everything that changes a price, and nothing else.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
pub struct PriceCacheKey {
    /// The channel (price lists differ online and in store).
    pub channel: Channel,
    /// The currency.
    pub currency: Currency,
    /// The customer group.
    pub group: Option<CustomerGroup>,
    /// The SKU.
    pub sku: Sku,
}

/// The shared caches, one per catalogue capability.
pub struct Caches {
    /// Products by id.
    pub products: Arc<CapabilityCache<ProductKey<ProductId>, Arc<Product>, Failure>>,
    /// Products by one of their SKUs.
    pub products_by_sku: Arc<CapabilityCache<ProductKey<Sku>, Arc<Product>, Failure>>,
    /// The first products of a category (accessory candidates), by category code.
    pub categories: Arc<CapabilityCache<ProductKey<String>, CategoryProducts, Failure>>,
    /// Prices.
    pub prices: Arc<CapabilityCache<PriceCacheKey, Price, Failure>>,
    /// Stock per location (the same in every context).
    pub stock: Arc<CapabilityCache<Sku, Arc<Vec<StockLevel>>, Failure>>,
    /// Locations.
    pub locations: Arc<CapabilityCache<(), Arc<Vec<Location>>, Failure>>,
    /// Whole answers to anonymous catalogue queries (`None`: off).
    pub responses: Option<crate::response_cache::ResponseCache>,
}

impl Caches {
    /// The caches `c` configures, each backed by `redis` (shared with the other replicas) when
    /// given.
    fn new(c: &crate::config::CacheConfig, redis: Option<&Arc<crate::replicas::Redis>>) -> Caches {
        let max = c.max_bytes_per_capability;
        Caches {
            products: CapabilityCache::configured(
                c.products,
                max,
                c.concurrent_fetches,
                SecondLevel::json_opt(redis, "products"),
            ),
            products_by_sku: CapabilityCache::configured(
                c.products,
                max,
                c.concurrent_fetches,
                SecondLevel::json_opt(redis, "products-by-sku"),
            ),
            categories: CapabilityCache::configured(
                c.products,
                max,
                c.concurrent_fetches,
                SecondLevel::json_opt(redis, "categories"),
            ),
            prices: CapabilityCache::configured(
                c.prices,
                max,
                c.concurrent_fetches,
                SecondLevel::json_opt(redis, "prices"),
            ),
            stock: CapabilityCache::configured(
                c.inventory,
                max,
                c.concurrent_fetches,
                SecondLevel::json_opt(redis, "stock"),
            ),
            locations: CapabilityCache::configured(
                c.locations,
                max,
                c.concurrent_fetches,
                SecondLevel::json_opt(redis, "locations"),
            ),
            responses: crate::response_cache::ResponseCache::new(c.responses.ttl, max),
        }
    }

    /// `sku`'s stock changed (an order reserved it, a vendor said so): forget it, and every
    /// whole answer that may show it.
    pub fn stock_changed(&self, sku: &Sku) {
        self.stock.invalidate(sku);
        if let Some(r) = &self.responses {
            r.clear();
        }
    }
}

/// Every capability, wired to the instance that serves it.
pub struct Gateway {
    /// Customer sources, in precedence order.
    pub customers: Vec<Served<dyn CustomerSource>>,
    /// Products.
    pub products: Served<dyn ProductSource>,
    /// Prices.
    pub prices: Served<dyn PriceSource>,
    /// Stock.
    pub inventory: Served<dyn InventorySource>,
    /// Locations.
    pub locations: Served<dyn LocationSource>,
    /// Orders.
    pub orders: Served<dyn OrderSource>,
    /// Wishlists, where configured.
    pub wishlists: Option<Served<dyn WishlistStore>>,
    /// Offers, where configured.
    pub offers: Option<Served<dyn OfferStore>>,
    /// Order placement, where configured.
    pub order_placement: Option<Served<dyn OrderSink>>,
    /// Marketing systems that receive touchpoint events (all of them get each event).
    pub marketing_events: Vec<Served<dyn MarketingSink>>,
    /// Vouchers, where configured.
    pub vouchers: Option<Served<dyn VoucherStore>>,
    /// Per-field precedence overrides for merged customers.
    pub customer_precedence: BTreeMap<String, Vec<ConnectorName>>,
    /// Request-context defaults.
    pub defaults: ContextDefaults,
    /// Every connected instance.
    pub connectors: Vec<Connector>,
    /// The shared catalogue caches.
    pub caches: Caches,
    /// Accessories and recommendations.
    pub recommendations: crate::recommend::RecommendationsConfig,
    /// The gateway's own counters.
    pub telemetry: Arc<crate::telemetry::Telemetry>,
    /// The Redis shared with other replicas, if configured.
    pub redis: Option<Arc<crate::replicas::Redis>>,
}

fn pick<T: ?Sized>(
    connectors: &[Connector],
    name: &ConnectorName,
    cap: Capability,
    get: impl Fn(&Connector) -> Option<Arc<T>>,
) -> anyhow::Result<Served<T>> {
    let c = connectors
        .iter()
        .find(|c| &c.name == name)
        .ok_or_else(|| anyhow!("connector `{name}` is not configured"))?;
    let source =
        get(c).ok_or_else(|| anyhow!("connector `{name}` ({}) does not serve {cap}", c.kind))?;
    Ok(Served {
        connector: name.clone(),
        source,
    })
}

/// An optional capability: served by the configured instance, or `None`.
fn optional<T: ?Sized>(
    connectors: &[Connector],
    config: &Config,
    cap: Capability,
    get: impl Fn(&Connector) -> Option<Arc<T>>,
) -> anyhow::Result<Option<Served<T>>> {
    config
        .served_by(cap)
        .first()
        .map(|n| pick(connectors, n, cap, get))
        .transpose()
}

impl Gateway {
    /// Connects every configured instance and wires capabilities.
    pub fn connect(config: &Config) -> anyhow::Result<Gateway> {
        let redis = config
            .redis
            .as_ref()
            .map(crate::replicas::Redis::new)
            .transpose()?;
        let mut connectors = Vec::new();
        let mut systems = Vec::new();
        for spec in &config.connectors {
            // Every upstream client the connector builds reports into its monitor.
            let monitor = samlet_connector::telemetry::UpstreamMonitor::new();
            let mut monitored = spec.clone();
            monitored.policy.monitor = Some(monitor.clone());
            // With a shared Redis, each vendor's quota holds across every replica.
            if let Some(r) = &redis {
                monitored.policy.shared_quota =
                    Some(r.clone() as Arc<dyn samlet_connector::policy::SharedQuota>);
            }
            let connector = monitored
                .connect()
                .with_context(|| format!("connecting `{}`", spec.name))?;
            systems.push(crate::telemetry::SystemMonitor::new(
                spec.name.clone(),
                spec.kind(),
                connector.capabilities(),
                monitor,
                spec.policy.quota,
            ));
            connectors.push(connector);
        }
        let one = |cap: Capability| -> anyhow::Result<&ConnectorName> {
            config
                .served_by(cap)
                .first()
                .ok_or_else(|| anyhow!("nobody serves {cap}"))
        };
        let customers = config
            .served_by(Capability::Customers)
            .iter()
            .map(|n| {
                pick(&connectors, n, Capability::Customers, |c| {
                    c.customers.clone()
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(Gateway {
            customers,
            products: pick(
                &connectors,
                one(Capability::Products)?,
                Capability::Products,
                |c| c.products.clone(),
            )?,
            prices: pick(
                &connectors,
                one(Capability::Prices)?,
                Capability::Prices,
                |c| c.prices.clone(),
            )?,
            inventory: pick(
                &connectors,
                one(Capability::Inventory)?,
                Capability::Inventory,
                |c| c.inventory.clone(),
            )?,
            locations: pick(
                &connectors,
                one(Capability::Locations)?,
                Capability::Locations,
                |c| c.locations.clone(),
            )?,
            orders: pick(
                &connectors,
                one(Capability::Orders)?,
                Capability::Orders,
                |c| c.orders.clone(),
            )?,
            wishlists: optional(&connectors, config, Capability::Wishlists, |c| {
                c.wishlists.clone()
            })?,
            offers: optional(&connectors, config, Capability::Offers, |c| {
                c.offers.clone()
            })?,
            order_placement: optional(&connectors, config, Capability::OrderPlacement, |c| {
                c.order_placement.clone()
            })?,
            marketing_events: config
                .served_by(Capability::MarketingEvents)
                .iter()
                .map(|n| {
                    pick(&connectors, n, Capability::MarketingEvents, |c| {
                        c.marketing_events.clone()
                    })
                })
                .collect::<anyhow::Result<Vec<_>>>()?,
            vouchers: optional(&connectors, config, Capability::Vouchers, |c| {
                c.vouchers.clone()
            })?,
            customer_precedence: config.customer_precedence.clone(),
            defaults: config.defaults.clone(),
            connectors,
            caches: Caches::new(&config.cache, redis.as_ref()),
            recommendations: config.recommendations.clone(),
            telemetry: Arc::new(crate::telemetry::Telemetry::new(
                systems,
                config.server.probe_interval,
            )),
            redis,
        })
    }
}
