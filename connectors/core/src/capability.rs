//! Capability traits: a connector implements only what its system really has.
//!
//! Reads take a batch of keys and return what they found keyed by input, so the gateway never
//! issues N calls where one will do. A key the vendor does not know is absent from the map;
//! an error means the call as a whole failed. Every call carries the [`RequestContext`].

use crate::context::RequestContext;
use crate::error::ConnectorError;
use crate::ids::{ConnectorName, CustomerNumber, OrderNumber, ProductId, Sku};
use crate::model::{
    CustomerEvent, CustomerRecord, Location, MatchKey, Offer, OfferDraft, Order, OrderDraft, Price,
    Product, StockLevel, Voucher, Wishlist,
};
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
    /// [`WishlistStore`]: wishlists kept in a system of record (optional).
    Wishlists,
    /// [`OfferStore`]: offers (quotes) composed in store and converted at home (optional).
    Offers,
    /// [`OrderSink`]: placing orders, with click and collect (optional).
    OrderPlacement,
    /// [`MarketingSink`]: touchpoint events for the marketing system (optional).
    MarketingEvents,
    /// [`VoucherStore`]: loyalty vouchers (optional).
    Vouchers,
}

impl Capability {
    /// Every capability, in a stable order.
    pub const ALL: [Capability; 11] = [
        Capability::Customers,
        Capability::Products,
        Capability::Prices,
        Capability::Inventory,
        Capability::Locations,
        Capability::Orders,
        Capability::Wishlists,
        Capability::Offers,
        Capability::OrderPlacement,
        Capability::MarketingEvents,
        Capability::Vouchers,
    ];

    /// Whether every configuration must name a connector for it (the reads the graph is built
    /// on); the journeys' capabilities are optional, and their mutations say when unserved.
    pub fn required(self) -> bool {
        matches!(
            self,
            Capability::Customers
                | Capability::Products
                | Capability::Prices
                | Capability::Inventory
                | Capability::Locations
                | Capability::Orders
        )
    }

    /// The name used in configuration (`[capabilities] products = "pim"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Capability::Customers => "customers",
            Capability::Products => "products",
            Capability::Prices => "prices",
            Capability::Inventory => "inventory",
            Capability::Locations => "locations",
            Capability::Orders => "orders",
            Capability::Wishlists => "wishlists",
            Capability::Offers => "offers",
            Capability::OrderPlacement => "order_placement",
            Capability::MarketingEvents => "marketing_events",
            Capability::Vouchers => "vouchers",
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

    /// The products classified in `category` (a code as [`Product::categories`] holds it), a
    /// page at a time, in the same stable order as [`ProductSource::list_products`].
    ///
    /// The default pages through the whole catalogue and keeps the matches: correct for every
    /// connector, but it reads up to the whole catalogue for a small category. Override it where
    /// the vendor filters by category itself (Akeneo's `categories` search filter).
    async fn products_in_category(
        &self,
        cx: &RequestContext,
        category: &str,
        page: &PageRequest,
    ) -> ConnectorResult<Page<Product>> {
        let first = page.first.max(1);
        let (mut inner, mut skip) = match &page.after {
            None => (None, 0),
            Some(c) => category_cursor::decode(c),
        };
        let mut items = Vec::with_capacity(first.min(64));
        loop {
            let listed = self
                .list_products(
                    cx,
                    &PageRequest {
                        first: category_cursor::SCAN_PAGE,
                        after: inner.clone(),
                    },
                )
                .await?;
            let read = listed.items.len();
            for (i, p) in listed.items.into_iter().enumerate().skip(skip) {
                if !p.categories.iter().any(|c| c == category) {
                    continue;
                }
                if items.len() == first {
                    // A match beyond this page: resume at it.
                    return Ok(Page {
                        items,
                        next: Some(category_cursor::encode(inner.as_deref(), i)),
                    });
                }
                items.push(p);
            }
            skip = 0;
            match listed.next {
                // An empty page is the last, whatever it links to (no endless walk).
                Some(next) if read > 0 => inner = Some(next),
                _ => return Ok(Page { items, next: None }),
            }
        }
    }
}

/// The continuation of the default [`ProductSource::products_in_category`]: the catalogue page
/// to read again and how many of its items were already looked at.
mod category_cursor {
    /// Items asked of `list_products` per page while scanning (connectors cap it at theirs).
    /// Always the same, so re-reading a page from its cursor gives the same items.
    pub(super) const SCAN_PAGE: usize = 500;
    const PREFIX: &str = "cat1.";

    pub(super) fn encode(inner: Option<&str>, skip: usize) -> String {
        format!("{PREFIX}{skip}.{}", inner.unwrap_or(""))
    }

    /// A cursor this module did not issue is handed to `list_products` as it is, which
    /// refuses it with the connector's own error if it is not one of its cursors either.
    pub(super) fn decode(cursor: &str) -> (Option<String>, usize) {
        let parsed = cursor.strip_prefix(PREFIX).and_then(|rest| {
            let (skip, inner) = rest.split_once('.')?;
            Some((
                (!inner.is_empty()).then(|| inner.to_owned()),
                skip.parse().ok()?,
            ))
        });
        parsed.unwrap_or_else(|| (Some(cursor.to_owned()), 0))
    }

    #[cfg(test)]
    mod tests {
        #[test]
        fn cursors_round_trip_and_foreign_ones_pass_through() {
            use super::{decode, encode};
            assert_eq!(decode(&encode(None, 3)), (None, 3));
            assert_eq!(
                decode(&encode(Some("ak1.x.y"), 0)),
                (Some("ak1.x.y".into()), 0)
            );
            assert_eq!(decode("op1.5.1"), (Some("op1.5.1".into()), 0));
            assert_eq!(decode("cat1.x.y"), (Some("cat1.x.y".into()), 0));
        }
    }
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

/// Wishlists kept in the system that owns them (a commerce platform or the CRM).
#[async_trait]
pub trait WishlistStore: Send + Sync {
    /// The customer's wishlist (empty if they have none).
    async fn wishlist(
        &self,
        cx: &RequestContext,
        customer: &CustomerNumber,
    ) -> ConnectorResult<Wishlist>;

    /// Adds `sku` (adding what is already there changes nothing). `idempotency_key` identifies
    /// this request across retries.
    async fn add_to_wishlist(
        &self,
        cx: &RequestContext,
        customer: &CustomerNumber,
        sku: &Sku,
        idempotency_key: &str,
    ) -> ConnectorResult<Wishlist>;

    /// Removes `sku` (removing what is not there changes nothing).
    async fn remove_from_wishlist(
        &self,
        cx: &RequestContext,
        customer: &CustomerNumber,
        sku: &Sku,
    ) -> ConnectorResult<Wishlist>;
}

/// Offers (sales quotes): composed by a store associate, converted by the customer at home.
#[async_trait]
pub trait OfferStore: Send + Sync {
    /// Creates an offer with the customer's prices. The same `idempotency_key` never creates a
    /// second offer.
    async fn create_offer(
        &self,
        cx: &RequestContext,
        draft: &OfferDraft,
        idempotency_key: &str,
    ) -> ConnectorResult<Offer>;

    /// Offers by number.
    async fn offers(
        &self,
        cx: &RequestContext,
        numbers: &[String],
    ) -> ConnectorResult<HashMap<String, Offer>>;

    /// Converts an open offer into an order, exactly once: converting a converted offer fails
    /// with [`crate::ErrorKind::Conflict`] naming the existing order; an expired one fails with
    /// `Conflict` too.
    async fn convert_offer(
        &self,
        cx: &RequestContext,
        number: &str,
        idempotency_key: &str,
    ) -> ConnectorResult<Order>;
}

/// Placing orders in the system of record, with click and collect reserving store stock.
#[async_trait]
pub trait OrderSink: Send + Sync {
    /// Places the order. The same `idempotency_key` never places a second order: a retry
    /// answers the order the first attempt placed.
    async fn place_order(
        &self,
        cx: &RequestContext,
        draft: &OrderDraft,
        idempotency_key: &str,
    ) -> ConnectorResult<Order>;
}

/// Touchpoint events for the marketing system, in its native event format.
#[async_trait]
pub trait MarketingSink: Send + Sync {
    /// Sends the events; the system deduplicates on each event's id.
    async fn track(&self, cx: &RequestContext, events: &[CustomerEvent]) -> ConnectorResult<()>;
}

/// Loyalty vouchers issued by the marketing or loyalty system.
#[async_trait]
pub trait VoucherStore: Send + Sync {
    /// A customer's vouchers.
    async fn vouchers(
        &self,
        cx: &RequestContext,
        customer: &CustomerNumber,
    ) -> ConnectorResult<Vec<Voucher>>;

    /// A voucher by code.
    async fn voucher(&self, cx: &RequestContext, code: &str) -> ConnectorResult<Option<Voucher>>;

    /// Redeems a voucher exactly once: a second redemption fails with
    /// [`crate::ErrorKind::Conflict`]; an expired voucher too.
    async fn redeem_voucher(
        &self,
        cx: &RequestContext,
        code: &str,
        idempotency_key: &str,
    ) -> ConnectorResult<Voucher>;
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
    /// Wishlists, if served.
    pub wishlists: Option<Arc<dyn WishlistStore>>,
    /// Offers, if served.
    pub offers: Option<Arc<dyn OfferStore>>,
    /// Order placement, if served.
    pub order_placement: Option<Arc<dyn OrderSink>>,
    /// Marketing events, if served.
    pub marketing_events: Option<Arc<dyn MarketingSink>>,
    /// Vouchers, if served.
    pub vouchers: Option<Arc<dyn VoucherStore>>,
    /// Change notification (webhooks), if the vendor has it and it is configured.
    pub change_feed: Option<Arc<dyn crate::change::ChangeFeed>>,
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
            wishlists: None,
            offers: None,
            order_placement: None,
            marketing_events: None,
            vouchers: None,
            change_feed: None,
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
            (Capability::Wishlists, self.wishlists.is_some()),
            (Capability::Offers, self.offers.is_some()),
            (Capability::OrderPlacement, self.order_placement.is_some()),
            (Capability::MarketingEvents, self.marketing_events.is_some()),
            (Capability::Vouchers, self.vouchers.is_some()),
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
