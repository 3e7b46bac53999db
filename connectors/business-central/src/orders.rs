//! Orders: the standard v2.0 `salesOrders` with `salesOrderLines` expanded (and, per line,
//! `itemVariant` and `location` for the SKU and fulfilling location), joined by order number
//! with the extension's `salesOrderTracking` page (creation time, sales channel, store,
//! cancellation and posted shipments with shipping agent and package tracking number, none of
//! which the standard entities carry). The two requests of a batch go out concurrently, so a
//! batch costs one round trip.
//!
//! `orders_for_customers` asks once for all orders of the batch's customers
//! (`customerNumber in (...)`, newest first), then groups them and keeps `limit` per customer
//! in the connector: a customer with many open orders costs more pages, not more requests per
//! customer.

use crate::client::{
    entity, in_filters, Api, BusinessCentralClient, Query, WireOrderTracking, WireSalesOrder,
    CODE20,
};
use crate::mapping::{self, OrderMapping};
use futures::future::try_join_all;
use samlet_connector::prelude::*;
use std::collections::BTreeSet;

/// Lines with the two navigation properties that give the SKU's variant code and the line's
/// location code (the lines only carry their GUIDs).
const LINES: &str = "salesOrderLines($expand=itemVariant,location)";
/// Shipments of the tracking page.
const SHIPMENTS: &str = "shipments";
/// Newest first; the order date has no time, so the number breaks ties.
const NEWEST_FIRST: &str = "orderDate desc,number desc";

impl BusinessCentralClient {
    /// Orders with their tracking rows for each filter, both requests per filter at once.
    /// `primary` reads from the primary database (to see a write just made).
    pub(crate) async fn orders_raw_where(
        &self,
        filters: Vec<String>,
        orderby: Option<&'static str>,
        primary: bool,
    ) -> ConnectorResult<Vec<(WireSalesOrder, Option<WireOrderTracking>)>> {
        let calls = filters.into_iter().map(|filter| async move {
            let headers = self.collection::<WireSalesOrder>(
                Api::Standard,
                entity::SALES_ORDERS,
                Query {
                    filter: Some(filter.clone()),
                    expand: Some(LINES),
                    orderby,
                    primary,
                },
            );
            let tracking = self.collection::<WireOrderTracking>(
                Api::Custom,
                entity::ORDER_TRACKING,
                Query {
                    filter: Some(filter),
                    expand: Some(SHIPMENTS),
                    orderby: None,
                    primary,
                },
            );
            futures::try_join!(headers, tracking)
        });
        let mut out = Vec::new();
        for (headers, tracking) in try_join_all(calls).await? {
            let mut tracking: HashMap<String, WireOrderTracking> = tracking
                .into_iter()
                .map(|t| (t.number.clone(), t))
                .collect();
            for so in headers {
                let t = tracking.remove(&so.number);
                out.push((so, t));
            }
        }
        Ok(out)
    }

    /// The normalised order of a `salesOrder` and its tracking row.
    pub(crate) fn map_order(
        &self,
        so: &WireSalesOrder,
        t: Option<&WireOrderTracking>,
    ) -> ConnectorResult<Order> {
        let config = self.config();
        let m = OrderMapping {
            local_currency: config.local_currency,
            variant_separator: &config.variant_separator,
        };
        if t.is_none() {
            tracing::warn!(connector = %self.name(), order = %so.number, "no salesOrderTracking row; placed_at falls back to the order date");
        }
        mapping::order(so, t, &m).map_err(|e| {
            ConnectorError::new(
                ErrorKind::InvalidResponse,
                self.name(),
                format!("salesOrders: {e}"),
            )
        })
    }

    /// Orders and their tracking rows for each filter, mapped.
    async fn orders_where(
        &self,
        filters: Vec<String>,
        orderby: Option<&'static str>,
        primary: bool,
    ) -> ConnectorResult<Vec<Order>> {
        self.orders_raw_where(filters, orderby, primary)
            .await?
            .iter()
            .map(|(so, t)| self.map_order(so, t.as_ref()))
            .collect()
    }

    /// Orders by number from the primary database (right after a write).
    pub(crate) async fn fresh_orders(
        &self,
        numbers: &[String],
    ) -> ConnectorResult<HashMap<OrderNumber, Order>> {
        let numbers = codes(numbers.iter().cloned());
        let orders = self
            .orders_where(in_filters("number", &numbers), None, true)
            .await?;
        Ok(orders.into_iter().map(|o| (o.number.clone(), o)).collect())
    }
}

fn codes(values: impl Iterator<Item = String>) -> Vec<String> {
    values
        .filter(|v| !v.is_empty() && v.len() <= CODE20)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

#[async_trait]
impl OrderSource for BusinessCentralClient {
    async fn orders(
        &self,
        _cx: &RequestContext,
        numbers: &[OrderNumber],
    ) -> ConnectorResult<HashMap<OrderNumber, Order>> {
        let numbers = codes(numbers.iter().map(|n| n.as_str().to_owned()));
        let orders = self
            .orders_where(in_filters("number", &numbers), None, false)
            .await?;
        Ok(orders.into_iter().map(|o| (o.number.clone(), o)).collect())
    }

    async fn orders_for_customers(
        &self,
        _cx: &RequestContext,
        customers: &[CustomerNumber],
        limit: usize,
    ) -> ConnectorResult<HashMap<CustomerNumber, Vec<Order>>> {
        if limit == 0 {
            return Ok(HashMap::new());
        }
        let numbers = codes(customers.iter().map(|n| n.as_str().to_owned()));
        let orders = self
            .orders_where(
                in_filters("customerNumber", &numbers),
                Some(NEWEST_FIRST),
                false,
            )
            .await?;
        let mut out: HashMap<CustomerNumber, Vec<Order>> = HashMap::new();
        for o in orders {
            out.entry(o.customer.clone()).or_default().push(o);
        }
        for list in out.values_mut() {
            list.sort_by(|a, b| b.placed_at.cmp(&a.placed_at).then(b.number.cmp(&a.number)));
            list.truncate(limit);
        }
        Ok(out)
    }
}
