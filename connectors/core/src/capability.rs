//! Capability traits: a connector implements only what its system really has.
//!
//! Reads take a batch of keys and return what they found keyed by input, so the gateway never
//! issues N calls where one will do. A key the vendor does not know is absent from the map;
//! an error means the call as a whole failed. Every call carries the [`RequestContext`].

use crate::context::RequestContext;
use crate::error::ConnectorError;
use crate::ids::{ConnectorName, CustomerNumber, OrderNumber, ProductId, Sku};
use crate::model::{CustomerRecord, Location, MatchKey, Order, Price, Product, StockLevel};
use crate::paging::{Page, PageRequest};
use async_trait::async_trait;
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

/// A result of a capability call.
pub type ConnectorResult<T> = Result<T, ConnectorError>;

/// What a connector can do, declared as data so configuration can be checked before any
/// request is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Capability {
    /// [`CustomerSource`]: customer records by match key.
    Customers,
    /// [`ProductSource`]: products and variants.
    Products,
    /// [`PriceSource`]: prices per channel, currency and customer group.
    Prices,
    /// [`InventorySource`]: stock per location.
    Inventory,
    /// [`LocationSource`]: stores and warehouses.
    Locations,
    /// [`OrderSource`]: orders, lines and shipments.
    Orders,
}

impl Capability {
    /// Every capability, in a stable order.
    pub const ALL: [Capability; 6] = [
        Capability::Customers,
        Capability::Products,
        Capability::Prices,
        Capability::Inventory,
        Capability::Locations,
        Capability::Orders,
    ];

    /// The name used in configuration (`[capabilities] products = "pim"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Capability::Customers => "customers",
            Capability::Products => "products",
            Capability::Prices => "prices",
            Capability::Inventory => "inventory",
            Capability::Locations => "locations",
            Capability::Orders => "orders",
        }
    }

    /// Parses a configuration name.
    pub fn parse(name: &str) -> Option<Capability> {
        Capability::ALL.into_iter().find(|c| c.as_str() == name)
    }
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Customer records by match key (CRM, marketing, ERP debtors, commerce accounts).
#[async_trait]
pub trait CustomerSource: Send + Sync {
    /// The records matching each key. A system may hold several records for one key (e.g. a
    /// person and their company share a phone); keys with no match are absent.
    async fn customers(
        &self,
        cx: &RequestContext,
        keys: &[MatchKey],
    ) -> ConnectorResult<HashMap<MatchKey, Vec<CustomerRecord>>>;
}

/// Products and their variants (PIM, commerce platform).
#[async_trait]
pub trait ProductSource: Send + Sync {
    /// Products by product id.
    async fn products(
        &self,
        cx: &RequestContext,
        ids: &[ProductId],
    ) -> ConnectorResult<HashMap<ProductId, Product>>;

    /// The products that contain each SKU as a variant.
    async fn products_by_sku(
        &self,
        cx: &RequestContext,
        skus: &[Sku],
    ) -> ConnectorResult<HashMap<Sku, Product>>;

    /// The catalogue, a page at a time, in the vendor's stable order.
    async fn list_products(
        &self,
        cx: &RequestContext,
        page: &PageRequest,
    ) -> ConnectorResult<Page<Product>>;
}

/// Prices for the context's channel, currency and customer group (ERP, commerce platform).
#[async_trait]
pub trait PriceSource: Send + Sync {
    /// The price of each SKU that has one in this context.
    async fn prices(
        &self,
        cx: &RequestContext,
        skus: &[Sku],
    ) -> ConnectorResult<HashMap<Sku, Price>>;
}

/// Stock per location (ERP, warehouse, commerce platform).
#[async_trait]
pub trait InventorySource: Send + Sync {
    /// Stock of each SKU at every location that stocks it.
    async fn stock(
        &self,
        cx: &RequestContext,
        skus: &[Sku],
    ) -> ConnectorResult<HashMap<Sku, Vec<StockLevel>>>;
}

/// Stores and warehouses.
#[async_trait]
pub trait LocationSource: Send + Sync {
    /// Every location.
    async fn locations(&self, cx: &RequestContext) -> ConnectorResult<Vec<Location>>;
}

/// Orders with their lines and shipments (ERP, commerce platform).
#[async_trait]
pub trait OrderSource: Send + Sync {
    /// Orders by number.
    async fn orders(
        &self,
        cx: &RequestContext,
        numbers: &[OrderNumber],
    ) -> ConnectorResult<HashMap<OrderNumber, Order>>;

    /// Each customer's most recent orders, newest first, at most `limit` each.
    async fn orders_for_customers(
        &self,
        cx: &RequestContext,
        customers: &[CustomerNumber],
        limit: usize,
    ) -> ConnectorResult<HashMap<CustomerNumber, Vec<Order>>>;
}

/// A connected connector instance: its name, vendor kind and the capabilities it serves.
#[derive(Clone)]
pub struct Connector {
    /// The configured instance name.
    pub name: ConnectorName,
    /// The vendor kind, e.g. `akeneo`.
    pub kind: &'static str,
    /// Customer records, if served.
    pub customers: Option<Arc<dyn CustomerSource>>,
    /// Products, if served.
    pub products: Option<Arc<dyn ProductSource>>,
    /// Prices, if served.
    pub prices: Option<Arc<dyn PriceSource>>,
    /// Stock, if served.
    pub inventory: Option<Arc<dyn InventorySource>>,
    /// Locations, if served.
    pub locations: Option<Arc<dyn LocationSource>>,
    /// Orders, if served.
    pub orders: Option<Arc<dyn OrderSource>>,
}

impl Connector {
    /// A connector named `name` of `kind` that serves nothing yet.
    pub fn new(name: ConnectorName, kind: &'static str) -> Connector {
        Connector {
            name,
            kind,
            customers: None,
            products: None,
            prices: None,
            inventory: None,
            locations: None,
            orders: None,
        }
    }

    /// The capabilities this instance serves.
    pub fn capabilities(&self) -> Vec<Capability> {
        let served = [
            (Capability::Customers, self.customers.is_some()),
            (Capability::Products, self.products.is_some()),
            (Capability::Prices, self.prices.is_some()),
            (Capability::Inventory, self.inventory.is_some()),
            (Capability::Locations, self.locations.is_some()),
            (Capability::Orders, self.orders.is_some()),
        ];
        served
            .into_iter()
            .filter(|(_, on)| *on)
            .map(|(c, _)| c)
            .collect()
    }
}

impl fmt::Debug for Connector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connector")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("capabilities", &self.capabilities())
            .finish()
    }
}
