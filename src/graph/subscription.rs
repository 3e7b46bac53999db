//! Subscriptions: an order's status and shipments, a SKU's stock. Each starts with the current
//! value and then sends every change, from the shared feed of its key (see `realtime`).
//! The access rules are the queries': a customer watches only their own orders (a customer
//! asking for anyone else's, or for an order that does not exist, gets `FORBIDDEN` alike);
//! anyone, anonymous included, may watch stock.

use super::errors::{self, user_error};
use super::location::StockLevel;
use super::order::Order;
use super::scope;
use crate::realtime::{FeedValue, Hub, WatchError};
use async_graphql::{Context, Object, Result, Subscription};
use futures::{Stream, StreamExt};
use samlet_connector::context::Caller;
use samlet_connector::ids::{LocationId, OrderNumber, Sku};
use samlet_connector::model;
use std::sync::Arc;
use tokio::sync::watch;

/// Live updates.
pub struct Subscription;

fn hub<'a>(ctx: &Context<'a>) -> Result<&'a Arc<Hub>> {
    ctx.data::<Arc<Hub>>().map_err(|_| {
        async_graphql::Error::new("subscriptions are served over WebSocket or server-sent events")
    })
}

fn watch_error(e: WatchError) -> async_graphql::Error {
    match e {
        WatchError::TooMany(n) => user_error(
            "RATE_LIMITED",
            format!("the gateway watches {n} orders and SKUs already ([realtime] max_feeds); try again later"),
        ),
        WatchError::Upstream(e) => errors::connector_error(&e),
    }
}

/// Every value of a feed after the current one, mapped by `f` (`None`: skip it).
fn changes<V, T, F>(rx: watch::Receiver<FeedValue<V>>, f: F) -> impl Stream<Item = T>
where
    V: Clone + Send + Sync + 'static,
    T: Send + 'static,
    F: FnMut(V) -> Option<T> + Send + 'static,
{
    futures::stream::unfold((rx, f), |(mut rx, mut f)| async move {
        loop {
            rx.changed().await.ok()?;
            let value = match &*rx.borrow_and_update() {
                Some(Ok(v)) => v.clone(),
                _ => continue,
            };
            if let Some(out) = f(value) {
                return Some((out, (rx, f)));
            }
        }
    })
}

/// The stock of one SKU, as a subscription sends it.
pub struct StockUpdate {
    sku: Sku,
    levels: Vec<model::StockLevel>,
}

#[Object]
impl StockUpdate {
    /// The SKU.
    async fn sku(&self) -> &str {
        self.sku.as_str()
    }
    /// Stock per location (only the location asked for, if one was).
    async fn levels(&self) -> Vec<StockLevel> {
        self.levels.iter().cloned().map(StockLevel).collect()
    }
    /// Units that can be sold, summed over `levels`.
    async fn available(&self) -> i64 {
        self.levels.iter().map(|l| l.available()).sum()
    }
}

#[Subscription]
impl Subscription {
    /// An order's status and shipments: the order as it is now, then again whenever it
    /// changes (e.g. `OPEN` to `SHIPPED` with its shipment), fed by the order system's
    /// webhooks or by polling it.
    async fn order_status(
        &self,
        ctx: &Context<'_>,
        number: String,
    ) -> Result<impl Stream<Item = Order>> {
        let s = scope(ctx)?;
        s.may_look_up_customers()?;
        let number = OrderNumber::new(number.trim());
        let hub = hub(ctx)?;
        let mut rx = hub
            .orders
            .watch(number.clone())
            .await
            .map_err(watch_error)?;
        let current = match &*rx.borrow_and_update() {
            Some(Ok(v)) => v.clone(),
            _ => None,
        };
        let Some(order) = current else {
            return Err(match s.caller() {
                // Whether someone else's order exists is not the customer's business.
                Caller::Customer(_) => user_error(
                    errors::FORBIDDEN,
                    "a customer may only see and change their own records",
                ),
                _ => user_error(errors::NOT_FOUND, format!("no order is numbered {number}")),
            });
        };
        s.may_access(Some(&order.customer))?;
        let first = futures::stream::once(async move { Order(order) });
        Ok(first
            .chain(changes(rx, |o: Option<Arc<model::Order>>| o.map(Order)))
            .take_until(hub.closed()))
    }

    /// A SKU's stock per location (only at `location`, e.g. `DK-CPH`, when given): the stock
    /// now, then again whenever it changes, fed by the stock system's webhooks or by polling.
    async fn stock(
        &self,
        ctx: &Context<'_>,
        sku: String,
        location: Option<String>,
    ) -> Result<impl Stream<Item = StockUpdate>> {
        let sku = Sku::new(sku.trim());
        let location = location.map(|l| LocationId::new(l.trim()));
        let hub = hub(ctx)?;
        let mut rx = hub.stock.watch(sku.clone()).await.map_err(watch_error)?;
        let pick = {
            let location = location.clone();
            move |levels: &[model::StockLevel]| -> Vec<model::StockLevel> {
                levels
                    .iter()
                    .filter(|l| location.as_ref().is_none_or(|at| &l.location == at))
                    .cloned()
                    .collect()
            }
        };
        let levels = match &*rx.borrow_and_update() {
            Some(Ok(v)) => pick(v),
            _ => Vec::new(),
        };
        if let Some(at) = &location {
            if levels.is_empty() {
                return Err(user_error(
                    errors::BAD_USER_INPUT,
                    format!("{sku} is not stocked at {at} (or either does not exist)"),
                ));
            }
        }
        let mut last = levels.clone();
        let first_sku = sku.clone();
        let first = futures::stream::once(async move {
            StockUpdate {
                sku: first_sku,
                levels,
            }
        });
        // A change at another location is no news to a subscriber of one location.
        let rest = changes(rx, move |all: Arc<Vec<model::StockLevel>>| {
            let now = pick(&all);
            (now != last).then(|| {
                last = now.clone();
                StockUpdate {
                    sku: sku.clone(),
                    levels: now,
                }
            })
        });
        Ok(first.chain(rest).take_until(hub.closed()))
    }
}
