//! The journeys' records: wishlists, offers (quotes), order drafts with fulfilment, vouchers and
//! touchpoint events. Each lives in the system of record that owns it; the gateway stores none.

use super::{Address, Money, OrderLine};
use crate::context::Channel;
use crate::ids::{CustomerNumber, LocationId, OrderNumber, Sku};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// One product on a wishlist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WishlistItem {
    /// The variant wished for.
    pub sku: Sku,
    /// When it was added.
    pub added_at: DateTime<Utc>,
    /// The channel it was added from, where the system records it.
    pub channel: Option<Channel>,
}

/// A customer's wishlist, the same on every device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Wishlist {
    /// Whose.
    pub customer: CustomerNumber,
    /// Items, oldest first.
    pub items: Vec<WishlistItem>,
}

/// A quantity of one variant, as a customer or associate asks for it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LineRequest {
    /// The variant.
    pub sku: Sku,
    /// Units.
    pub quantity: Decimal,
}

/// An offer a store associate composes for a customer (a sales quote in the ERP).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfferDraft {
    /// For whom.
    pub customer: CustomerNumber,
    /// What.
    pub lines: Vec<LineRequest>,
    /// The store it was composed in.
    pub store: Option<LocationId>,
    /// The associate who composed it.
    pub created_by: Option<String>,
    /// Until when the customer can accept it.
    pub valid_until: DateTime<Utc>,
}

/// Where an offer stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum OfferStatus {
    /// Can be converted.
    Open,
    /// Converted to this order.
    Converted(OrderNumber),
    /// Past its validity.
    Expired,
}

/// An offer as the system of record holds it, with prices as that customer pays them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Offer {
    /// The quote number.
    pub number: String,
    /// For whom.
    pub customer: CustomerNumber,
    /// Lines with the customer's prices.
    pub lines: Vec<OrderLine>,
    /// Total, in the offer's currency.
    pub total: Money,
    /// Status.
    pub status: OfferStatus,
    /// Until when it can be converted.
    pub valid_until: DateTime<Utc>,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// Where it was made.
    pub store: Option<LocationId>,
    /// Who made it.
    pub created_by: Option<String>,
}

/// How an order reaches the customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Fulfilment {
    /// Shipped home from the online warehouse.
    HomeDelivery(Address),
    /// Collected by the customer at a store, which reserves the stock.
    ClickAndCollect(LocationId),
    /// Shipped home from a store's stock.
    ShipFromStore {
        /// The store that ships.
        store: LocationId,
        /// Where to.
        address: Address,
    },
}

/// An order to place.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderDraft {
    /// Who orders.
    pub customer: CustomerNumber,
    /// What.
    pub lines: Vec<LineRequest>,
    /// How it is fulfilled.
    pub fulfilment: Fulfilment,
}

/// What a touchpoint event is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EventKind {
    /// A product page was viewed.
    ProductViewed,
    /// A product was added to the wishlist.
    Wishlisted,
    /// The basket changed.
    BasketChanged,
    /// The customer visited a store.
    StoreVisit,
    /// The customer bought something.
    Purchase,
    /// An offer was composed and should be sent to the customer.
    OfferSent,
}

impl EventKind {
    /// The metric name marketing systems show, e.g. `Viewed Product`.
    pub fn metric_name(self) -> &'static str {
        match self {
            EventKind::ProductViewed => "Viewed Product",
            EventKind::Wishlisted => "Added to Wishlist",
            EventKind::BasketChanged => "Changed Basket",
            EventKind::StoreVisit => "Visited Store",
            EventKind::Purchase => "Placed Order",
            EventKind::OfferSent => "Received Offer",
        }
    }
}

/// A touchpoint event for the marketing system.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CustomerEvent {
    /// Unique id: the marketing system deduplicates on it.
    pub id: String,
    /// Who.
    pub customer: CustomerNumber,
    /// Their e-mail, for systems that identify profiles by it.
    pub email: Option<String>,
    /// What.
    pub kind: EventKind,
    /// When.
    pub occurred_at: DateTime<Utc>,
    /// Where.
    pub channel: Channel,
    /// In which store.
    pub store: Option<LocationId>,
    /// The product concerned.
    pub sku: Option<Sku>,
    /// The value concerned (a purchase's total).
    pub value: Option<Money>,
    /// Free-form properties (an offer number, a basket's size...).
    pub properties: serde_json::Value,
}

/// A loyalty voucher's worth.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum VoucherValue {
    /// A percentage off, e.g. 10.
    Percent(Decimal),
    /// An amount off.
    Amount(Money),
}

/// Where a voucher stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum VoucherStatus {
    /// Can be redeemed.
    Available,
    /// Redeemed (once, for good).
    Redeemed {
        /// When.
        at: DateTime<Utc>,
        /// Through which channel.
        channel: Option<Channel>,
    },
    /// Past its validity.
    Expired,
}

/// A loyalty voucher issued by the marketing or loyalty system.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Voucher {
    /// The code a customer shows.
    pub code: String,
    /// Whose.
    pub customer: CustomerNumber,
    /// Worth.
    pub value: VoucherValue,
    /// Status.
    pub status: VoucherStatus,
    /// Until when.
    pub valid_until: Option<DateTime<Utc>>,
}
