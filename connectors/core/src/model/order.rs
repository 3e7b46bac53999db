//! Orders, their lines and shipments, as the ERP or commerce platform records them.

use super::Money;
use crate::context::{Channel, Currency};
use crate::ids::{CustomerNumber, LocationId, OrderNumber, Sku};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// Where an order stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
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

/// One line of an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderLine {
    /// Line number within the order.
    pub line_no: u32,
    /// The variant ordered.
    pub sku: Sku,
    /// The text printed on the line.
    pub description: String,
    /// Units ordered.
    pub quantity: Decimal,
    /// Price per unit, tax included.
    pub unit_price: Money,
    /// `quantity * unit_price` less discounts, tax included.
    pub line_total: Money,
    /// The location that fulfils the line.
    pub location: Option<LocationId>,
}

/// A parcel on its way.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shipment {
    /// Shipment number.
    pub number: String,
    /// Carrier, e.g. `PostNord`.
    pub carrier: String,
    /// The carrier's tracking number.
    pub tracking_number: String,
    /// Where the customer can follow the parcel.
    pub tracking_url: String,
    /// When it left.
    pub shipped_at: DateTime<Utc>,
}

/// An order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    /// Order number.
    pub number: OrderNumber,
    /// Who ordered.
    pub customer: CustomerNumber,
    /// When.
    pub placed_at: DateTime<Utc>,
    /// Status.
    pub status: OrderStatus,
    /// The channel it was placed through, where the system records it.
    pub channel: Option<Channel>,
    /// The store it was placed in or is collected from.
    pub store: Option<LocationId>,
    /// The order's currency.
    pub currency: Currency,
    /// Lines.
    pub lines: Vec<OrderLine>,
    /// Shipments, oldest first.
    pub shipments: Vec<Shipment>,
    /// Total, tax included.
    pub total: Money,
}
