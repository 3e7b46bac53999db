//! Orders: Optimizely purchase orders.
//!
//! - By number: the site's order number generator writes `{order_number_prefix}{OrderGroupId}`,
//!   so each number is read with `GET /orders/{orderGroupId}` (one request per order, run
//!   `max_concurrent_requests` at a time; the Service API has no filter on order numbers) and
//!   kept only if its `OrderNumber` is the one asked for. The orders' customers are contacts
//!   (`CustomerId`, a GUID); their customer numbers come from one Samlet customer lookup by
//!   contact id for the whole batch.
//! - For customers: one Samlet lookup turns the customer numbers into contact ids, then
//!   `GET /orders/{customerId}/all` per customer; the newest `limit` are kept.

use crate::client::{OptimizelyClient, WirePurchaseOrder};
use crate::mapping;
use samlet_connector::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

impl OptimizelyClient {
    pub(crate) fn map_order(
        &self,
        po: &WirePurchaseOrder,
        customer: CustomerNumber,
    ) -> ConnectorResult<Order> {
        mapping::order(po, customer)
            .map_err(|e| self.error(ErrorKind::InvalidResponse, format!("orders: {e}")))
    }
}

#[async_trait]
impl OrderSource for OptimizelyClient {
    async fn orders(
        &self,
        _cx: &RequestContext,
        numbers: &[OrderNumber],
    ) -> ConnectorResult<HashMap<OrderNumber, Order>> {
        let ids: BTreeMap<OrderNumber, u64> = numbers
            .iter()
            .filter_map(|n| Some((n.clone(), self.config().order_group_id(n.as_str())?)))
            .collect();
        let found: Vec<((OrderNumber, u64), WirePurchaseOrder)> = self
            .each(
                ids.into_iter().collect(),
                "orders/{orderGroupId}",
                |(_, id)| self.url(&["orders", &id.to_string()], &[]),
            )
            .await?;
        let found: Vec<(OrderNumber, WirePurchaseOrder)> = found
            .into_iter()
            .filter(|((n, _), po)| po.order_number.trim() == n.as_str())
            .map(|((n, _), po)| (n, po))
            .collect();
        let contacts: BTreeSet<String> = found
            .iter()
            .map(|(_, po)| po.customer_id.trim().to_ascii_lowercase())
            .filter(|c| !c.is_empty())
            .collect();
        let customers: HashMap<String, CustomerNumber> = self
            .lookup_customers(contacts.into_iter().map(|c| ("contactId", c)).collect())
            .await?
            .into_iter()
            .filter(|w| !w.customer_number.trim().is_empty())
            .map(|w| {
                (
                    w.primary_key_id.trim().to_ascii_lowercase(),
                    CustomerNumber::new(w.customer_number.trim()),
                )
            })
            .collect();
        let mut out = HashMap::with_capacity(found.len());
        for (n, po) in found {
            let contact = po.customer_id.trim().to_ascii_lowercase();
            let customer = match customers.get(&contact) {
                Some(c) => c.clone(),
                None => {
                    tracing::warn!(connector = %self.name(), order = %n, contact = %contact, "the order's contact has no customer number; using the contact id");
                    CustomerNumber::new(contact)
                }
            };
            out.insert(n, self.map_order(&po, customer)?);
        }
        Ok(out)
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
        let wanted: BTreeSet<CustomerNumber> = customers
            .iter()
            .filter(|n| !n.as_str().trim().is_empty())
            .cloned()
            .collect();
        let contacts: Vec<(CustomerNumber, String)> = self
            .lookup_customers(
                wanted
                    .iter()
                    .map(|n| ("customerNumber", n.as_str().to_owned()))
                    .collect(),
            )
            .await?
            .into_iter()
            .map(|w| {
                (
                    CustomerNumber::new(w.customer_number.trim()),
                    w.primary_key_id.trim().to_owned(),
                )
            })
            .filter(|(n, id)| wanted.contains(n) && !id.is_empty())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let found: Vec<((CustomerNumber, String), Vec<WirePurchaseOrder>)> = self
            .each(contacts, "orders/{customerId}/all", |(_, id)| {
                self.url(&["orders", id, "all"], &[])
            })
            .await?;
        let mut out: HashMap<CustomerNumber, Vec<Order>> = HashMap::new();
        for ((number, _), pos) in found {
            for po in &pos {
                let o = self.map_order(po, number.clone())?;
                out.entry(number.clone()).or_default().push(o);
            }
        }
        for list in out.values_mut() {
            list.sort_by(|a, b| b.placed_at.cmp(&a.placed_at).then(b.number.cmp(&a.number)));
            list.dedup_by(|a, b| a.number == b.number);
            list.truncate(limit);
        }
        out.retain(|_, v| !v.is_empty());
        Ok(out)
    }
}
