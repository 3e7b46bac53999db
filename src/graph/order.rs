//! `Order`, its lines and shipments, the same in every channel.

use super::ids::{encode, NodeType};
use super::loaders::ProductBySku;
use super::location::Location;
use super::money::Money;
use super::product::Variant;
use super::{errors, scope};
use async_graphql::connection::Connection;
use async_graphql::{Context, Enum, Object, Result, SimpleObject, ID};
use rust_decimal::Decimal;
use samlet_connector::model;
use std::sync::Arc;

/// A page of orders.
pub type OrderConnection = Connection<String, Order>;

/// Where an order stands.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum OrderStatus {
    /// Accepted, nothing shipped yet.
    Open,
    /// Some lines shipped.
    PartiallyShipped,
    /// Every line shipped.
    Shipped,
    /// Cancelled.
    Cancelled,
}

/// A parcel on its way.
#[derive(SimpleObject, Clone)]
pub struct Shipment {
    /// Shipment number.
    pub number: String,
    /// Carrier, e.g. `PostNord`.
    pub carrier: String,
    /// The carrier's tracking number.
    pub tracking_number: String,
    /// Where to follow the parcel.
    pub tracking_url: String,
    /// When it left.
    pub shipped_at: chrono::DateTime<chrono::Utc>,
}

/// An order.
pub struct Order(pub Arc<model::Order>);

#[Object]
impl Order {
    /// Global id.
    pub async fn id(&self) -> ID {
        encode(NodeType::Order, self.0.number.as_str())
    }
    /// Order number.
    async fn number(&self) -> &str {
        self.0.number.as_str()
    }
    /// When it was placed (UTC).
    async fn placed_at(&self) -> chrono::DateTime<chrono::Utc> {
        self.0.placed_at
    }
    /// Status.
    async fn status(&self) -> OrderStatus {
        match self.0.status {
            model::OrderStatus::Open => OrderStatus::Open,
            model::OrderStatus::PartiallyShipped => OrderStatus::PartiallyShipped,
            model::OrderStatus::Shipped => OrderStatus::Shipped,
            model::OrderStatus::Cancelled => OrderStatus::Cancelled,
        }
    }
    /// The channel it was placed through, e.g. `web` or `store`.
    async fn channel(&self) -> Option<&str> {
        self.0.channel.map(|c| c.as_str())
    }
    /// The store it was placed in, if any.
    async fn store(&self, ctx: &Context<'_>) -> Result<Option<Location>> {
        let Some(id) = &self.0.store else {
            return Ok(None);
        };
        Ok(super::location::all(ctx)
            .await?
            .iter()
            .find(|l| &l.id == id)
            .cloned()
            .map(Location))
    }
    /// ISO 4217 currency of the order.
    async fn currency_code(&self) -> &str {
        self.0.currency.as_str()
    }
    /// Lines.
    async fn lines(&self) -> Vec<OrderLine> {
        self.0.lines.iter().cloned().map(OrderLine).collect()
    }
    /// Total, tax included.
    async fn total(&self) -> Money {
        (&self.0.total).into()
    }
    /// Shipments with carrier and tracking.
    async fn shipments(&self) -> Vec<Shipment> {
        self.0
            .shipments
            .iter()
            .map(|s| Shipment {
                number: s.number.clone(),
                carrier: s.carrier.clone(),
                tracking_number: s.tracking_number.clone(),
                tracking_url: s.tracking_url.clone(),
                shipped_at: s.shipped_at,
            })
            .collect()
    }
    /// The customer who ordered.
    async fn customer(&self, ctx: &Context<'_>) -> Result<Option<super::customer::Customer>> {
        super::customer::find(
            ctx,
            model::MatchKey::CustomerNumber(self.0.customer.clone()),
        )
        .await
    }
    /// The customer number on the order.
    async fn customer_number(&self) -> &str {
        self.0.customer.as_str()
    }
}

/// One line of an order.
pub struct OrderLine(pub model::OrderLine);

#[Object]
impl OrderLine {
    /// Line number.
    async fn line_number(&self) -> u32 {
        self.0.line_no
    }
    /// The SKU ordered.
    async fn sku(&self) -> &str {
        self.0.sku.as_str()
    }
    /// Line text.
    async fn description(&self) -> &str {
        &self.0.description
    }
    /// Units.
    async fn quantity(&self) -> Decimal {
        self.0.quantity
    }
    /// Price per unit, tax included.
    async fn unit_price(&self) -> Money {
        (&self.0.unit_price).into()
    }
    /// Line total, tax included.
    async fn total(&self) -> Money {
        (&self.0.line_total).into()
    }
    /// The location fulfilling the line.
    async fn location_code(&self) -> Option<&str> {
        self.0.location.as_ref().map(|l| l.as_str())
    }
    /// The variant ordered, as the PIM describes it today.
    async fn variant(&self, ctx: &Context<'_>) -> Result<Option<Variant>> {
        let s = scope(ctx)?;
        let p = s
            .loader
            .load_one(ProductBySku(self.0.sku.clone()))
            .await
            .map_err(|e| errors::connector_error(&e))?;
        s.mark_if_stale(
            ctx,
            &super::loaders::Cached::ProductBySku(self.0.sku.clone()),
            s.gateway.products.connector.as_str(),
        );
        Ok(p.map(|product| Variant {
            product,
            sku: self.0.sku.clone(),
        }))
    }
}
