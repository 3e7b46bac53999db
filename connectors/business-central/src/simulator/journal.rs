//! The simulator's write state, layered over the read-only world: sales quotes created through
//! `POST salesQuotes` (with the Samlet extension's quote log behind `salesQuoteTracking`),
//! sales orders created through `POST salesOrders` or `Microsoft.NAV.makeOrder`, and the
//! reservations those orders make. Numbers and ids come from counters, so a run is
//! deterministic. Reads merge this state with the world's rows.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use rust_decimal::Decimal;
use samlet_connector::context::Currency;
use samlet_testkit::World;
use std::collections::HashMap;

/// Quote numbers start here (`SQ0000001`).
const QUOTE_PREFIX: &str = "SQ";

/// One line of a simulated quote or order.
#[derive(Debug, Clone, PartialEq)]
pub struct DocLine {
    /// Line No. (10000, 20000, ...).
    pub sequence: u32,
    /// Item No.
    pub item: String,
    /// Variant Code (blank for none).
    pub variant: String,
    /// Description (copied from the item variant, as Business Central does).
    pub description: String,
    /// Quantity.
    pub quantity: Decimal,
    /// Unit price in the document's price basis.
    pub unit_price: Decimal,
    /// Location Code (blank for none).
    pub location: String,
}

impl DocLine {
    /// `quantity * unit_price`, in the document's price basis.
    pub fn amount(&self) -> Decimal {
        self.quantity * self.unit_price
    }
}

/// A ship-to address of an order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ShipTo {
    /// Ship-to Name.
    pub name: String,
    /// Ship-to Address.
    pub address_line1: String,
    /// Ship-to Address 2.
    pub address_line2: String,
    /// Ship-to City.
    pub city: String,
    /// Ship-to Post Code.
    pub post_code: String,
    /// Ship-to Country/Region Code.
    pub country: String,
}

/// A sales quote (and, after conversion, its row in the extension's quote log).
#[derive(Debug, Clone)]
pub struct Quote {
    /// Counter behind the SystemId.
    pub seq: u64,
    /// No.
    pub number: String,
    /// External Document No. (upper case: a Code field).
    pub external_document_number: String,
    /// Sell-to customer (world index).
    pub customer: u32,
    /// Currency.
    pub currency: Currency,
    /// Prices Including VAT.
    pub gross: bool,
    /// Lines.
    pub lines: Vec<DocLine>,
    /// Document Date.
    pub document_date: NaiveDate,
    /// Quote Valid Until Date.
    pub valid_until: Option<NaiveDate>,
    /// SystemCreatedAt.
    pub created_at: DateTime<Utc>,
    /// Salesperson Code.
    pub salesperson: String,
    /// Extension: store (Responsibility Center).
    pub store: String,
    /// Extension: who composed it.
    pub created_by: String,
    /// Extension: sales channel.
    pub channel: String,
    /// Extension: the conversion's idempotency reference.
    pub conversion_key: String,
    /// Extension: the order it became (the quote itself is deleted then).
    pub order_number: Option<String>,
    /// Extension: when it was converted.
    pub converted_at: Option<DateTime<Utc>>,
    /// Bumped by every change (for ETags).
    pub version: u64,
}

impl Quote {
    /// Whether the quote still exists as a sales quote (Business Central deletes it when it
    /// becomes an order).
    pub fn live(&self) -> bool {
        self.order_number.is_none()
    }

    /// `Open`, `Converted` or `Expired`, as the extension computes it on `today`.
    pub fn status(&self, today: NaiveDate) -> &'static str {
        if self.order_number.is_some() {
            "Converted"
        } else if self.valid_until.is_some_and(|d| d < today) {
            "Expired"
        } else {
            "Open"
        }
    }
}

/// A sales order placed through the API.
#[derive(Debug, Clone)]
pub struct PlacedOrder {
    /// Counter behind the SystemId (after the world's orders).
    pub seq: u64,
    /// No.
    pub number: String,
    /// External Document No.
    pub external_document_number: String,
    /// Sell-to customer (world index).
    pub customer: u32,
    /// Currency.
    pub currency: Currency,
    /// Prices Including VAT.
    pub gross: bool,
    /// Lines.
    pub lines: Vec<DocLine>,
    /// SystemCreatedAt.
    pub placed_at: DateTime<Utc>,
    /// Ship-to address.
    pub ship_to: ShipTo,
    /// Extension: sales channel.
    pub channel: String,
    /// Extension: store (Responsibility Center).
    pub store: String,
    /// Extension: `HomeDelivery`, `ClickAndCollect`, `ShipFromStore` or blank.
    pub fulfilment: String,
    /// Extension: the quote it was made from.
    pub quote_number: String,
    /// Bumped by every change (for ETags).
    pub version: u64,
    /// The posted shipment, once the warehouse has shipped the order.
    pub shipment: Option<PostedShipment>,
}

/// A posted sales shipment of a placed order (the whole order, in one parcel).
#[derive(Debug, Clone)]
pub struct PostedShipment {
    /// Posted shipment No.
    pub number: String,
    /// When it was posted.
    pub shipped_at: DateTime<Utc>,
    /// Shipping agent.
    pub carrier: String,
    /// Package tracking No.
    pub tracking_number: String,
    /// The agent's tracking address, `%1` standing for the tracking number.
    pub tracking_address: String,
}

/// A webhook subscription.
#[derive(Debug, Clone)]
pub struct WebhookSubscription {
    /// `subscriptionId`.
    pub id: String,
    /// Where notifications go.
    pub notification_url: String,
    /// The entity set watched, e.g. `api/v2.0/companies(..)/salesOrders`.
    pub resource: String,
    /// Echoed in every notification.
    pub client_state: String,
    /// When it was made or last renewed (it expires three days later).
    pub renewed_at: DateTime<Utc>,
    /// Bumped by every renewal (for ETags).
    pub version: u64,
}

/// Everything written through the simulator.
#[derive(Debug, Default)]
pub struct Journal {
    /// Quotes, in creation order (converted ones stay, for the extension's log).
    pub quotes: Vec<Quote>,
    /// Orders placed, in creation order.
    pub orders: Vec<PlacedOrder>,
    /// Reserved quantity per (SKU, location code) on top of the world's.
    reserved: HashMap<(String, String), i64>,
    /// On-hand quantity per (SKU, location code) counted through `/_sim/stock`, replacing the
    /// world's.
    pub counted: HashMap<(String, String), i64>,
    /// Webhook subscriptions (`POST subscriptions`).
    pub subscriptions: Vec<WebhookSubscription>,
    /// Seconds the simulator's clock has moved past the world's "now".
    ticks: i64,
    /// Responses of this many coming writes are lost after the write commits.
    pub lose_next: u32,
}

impl Journal {
    /// The simulator's clock: the world's "now", one second later for every write.
    pub fn tick(&mut self, world: &World) -> DateTime<Utc> {
        self.ticks += 1;
        world.now() + Duration::seconds(self.ticks)
    }

    /// The date Business Central compares validity dates with (its work date).
    pub fn today(world: &World) -> NaiveDate {
        world.now().date_naive()
    }

    /// The next quote number.
    pub fn next_quote_number(&self) -> String {
        format!("{QUOTE_PREFIX}{:07}", self.quotes.len() + 1)
    }

    /// The next order number: after the world's.
    pub fn next_order_number(&self, world: &World) -> String {
        World::order_number(world.order_count() + self.orders.len() as u32)
            .as_str()
            .to_owned()
    }

    /// A placed order by number.
    pub fn order(&self, number: &str) -> Option<&PlacedOrder> {
        self.orders.iter().find(|o| o.number == number)
    }

    /// Reserved quantity added by placed orders.
    pub fn reserved(&self, sku: &str, location: &str) -> i64 {
        self.reserved
            .get(&(sku.to_owned(), location.to_owned()))
            .copied()
            .unwrap_or(0)
    }

    /// On-hand quantity: as counted through `/_sim/stock`, else the world's `world_on_hand`.
    pub fn on_hand(&self, sku: &str, location: &str, world_on_hand: i64) -> i64 {
        self.counted
            .get(&(sku.to_owned(), location.to_owned()))
            .copied()
            .unwrap_or(world_on_hand)
    }

    /// Reserves what is available of each line at its location (Business Central's automatic
    /// reservation reserves what it can; the rest stays unreserved).
    pub fn reserve(&mut self, world: &World, lines: &[DocLine]) {
        for l in lines.iter().filter(|l| !l.location.is_empty()) {
            let sku = if l.variant.is_empty() {
                l.item.clone()
            } else {
                format!("{}-{}", l.item, l.variant)
            };
            let level = world
                .stock(&samlet_connector::ids::Sku::new(sku.as_str()))
                .and_then(|v| v.into_iter().find(|s| s.location.as_str() == l.location));
            let Some(level) = level else { continue };
            let already = self.reserved(&sku, &l.location);
            let on_hand = self.on_hand(&sku, &l.location, level.on_hand);
            let available = (on_hand - level.reserved - already).max(0);
            let wanted = i64::try_from(l.quantity.trunc()).unwrap_or(0).max(0);
            let take = wanted.min(available);
            if take > 0 {
                *self.reserved.entry((sku, l.location.clone())).or_default() += take;
            }
        }
    }

    /// Whether the response of the write that just committed is to be lost.
    pub fn take_lost_response(&mut self) -> bool {
        if self.lose_next > 0 {
            self.lose_next -= 1;
            true
        } else {
            false
        }
    }
}
