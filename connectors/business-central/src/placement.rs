//! Order placement: standard v2.0 `POST salesOrders` with the lines as a deep insert, priced
//! for the customer as they pay in the request's channel and currency ([`crate::prices`]),
//! and the idempotency reference in `externalDocumentNumber`.
//!
//! - Exactly once: the orders are searched for the reference first
//!   (`externalDocumentNumber eq '...'`, on the primary database); a found order is
//!   answered, never placed again. A `POST` whose answer is lost is looked up again before
//!   the error is returned.
//! - Fulfilment: every line's `locationId` is where the stock is taken from: the store for
//!   click and collect and ship-from-store, the online warehouse (`online_location`) for home
//!   delivery; Business Central reserves it there. Ship-to fields carry the delivery address.
//!   The extension's `salesOrderTracking` row gets the sales channel, the store
//!   (Responsibility Center) and the fulfilment (`ClickAndCollect`, `ShipFromStore`,
//!   `HomeDelivery`) with one `PATCH`; standard API pages cannot carry them. A retry that
//!   finds the order without them applies the `PATCH` then.
//! - The answer is the order as [`OrderSource`] reads it (lines, totals, status `Open`).

use crate::client::{
    entity, quote, Api, BusinessCentralClient, WireCreated, WireOrderTracking, WireSalesOrder,
};
use crate::mapping::{currency_code_for, external_reference};
use crate::offers::decimal_number;
use samlet_connector::prelude::*;
use serde_json::{json, Value};

/// Where the stock comes from and what the extension records.
struct Plan<'a> {
    location: String,
    store: String,
    fulfilment: &'static str,
    ship_to: Option<&'a Address>,
}

impl BusinessCentralClient {
    /// The order placed with `reference`, with its tracking row.
    async fn placed(
        &self,
        reference: &str,
    ) -> ConnectorResult<Option<(WireSalesOrder, Option<WireOrderTracking>)>> {
        let filter = format!("externalDocumentNumber eq {}", quote(reference));
        let mut found = self.orders_raw_where(vec![filter], None, true).await?;
        // Orders made from quotes inherit the quote's reference; a placement never is one.
        found.retain(|(so, t)| {
            so.external_document_number_matches(reference)
                && t.as_ref().is_none_or(|t| t.quote_number.is_empty())
        });
        found.sort_by(|a, b| a.0.number.cmp(&b.0.number));
        Ok(found.into_iter().next())
    }

    /// Writes channel, store and fulfilment onto the order's tracking row if missing, and
    /// answers the order.
    async fn complete_order(
        &self,
        cx: &RequestContext,
        so: WireSalesOrder,
        t: Option<WireOrderTracking>,
        plan: &Plan<'_>,
    ) -> ConnectorResult<Order> {
        let t = match t {
            Some(t) if !t.fulfilment.is_empty() => t,
            _ => {
                let url = self.url(
                    Api::Custom,
                    &format!("{}({})", entity::ORDER_TRACKING, so.id),
                );
                let body = json!({
                    "salesChannel": cx.channel.as_str(),
                    "storeCode": plan.store,
                    "fulfilment": plan.fulfilment,
                });
                let reply = self
                    .write(reqwest::Method::PATCH, &url, Some(&body), Some("*"))
                    .await?;
                if !reply.status.is_success() {
                    return Err(self.write_error("PATCH salesOrderTracking", &reply));
                }
                reply.json(self.name(), "PATCH salesOrderTracking")?
            }
        };
        self.map_order(&so, Some(&t))
    }

    fn plan<'a>(&self, cx: &RequestContext, draft: &'a OrderDraft) -> Plan<'a> {
        let online = self.config().online_location.clone();
        match &draft.fulfilment {
            Fulfilment::ClickAndCollect(store) => Plan {
                location: store.as_str().to_ascii_uppercase(),
                store: store.as_str().to_ascii_uppercase(),
                fulfilment: "ClickAndCollect",
                ship_to: None,
            },
            Fulfilment::ShipFromStore { store, address } => Plan {
                location: store.as_str().to_ascii_uppercase(),
                store: store.as_str().to_ascii_uppercase(),
                fulfilment: "ShipFromStore",
                ship_to: Some(address),
            },
            Fulfilment::HomeDelivery(address) => Plan {
                location: online,
                // An order placed in a store for delivery still belongs to that store.
                store: cx
                    .store
                    .as_ref()
                    .map(|s| s.as_str().to_ascii_uppercase())
                    .unwrap_or_default(),
                fulfilment: "HomeDelivery",
                ship_to: Some(address),
            },
        }
    }
}

impl WireSalesOrder {
    fn external_document_number_matches(&self, reference: &str) -> bool {
        self.external_document_number
            .eq_ignore_ascii_case(reference)
    }
}

#[async_trait]
impl OrderSink for BusinessCentralClient {
    async fn place_order(
        &self,
        cx: &RequestContext,
        draft: &OrderDraft,
        idempotency_key: &str,
    ) -> ConnectorResult<Order> {
        let reference = external_reference(idempotency_key);
        let plan = self.plan(cx, draft);
        if let Some((so, t)) = self.placed(&reference).await? {
            return self.complete_order(cx, so, t, &plan).await;
        }
        let pricing = self
            .price_draft(cx, &draft.customer, &draft.lines, true)
            .await?;
        let bad = |m: String| ConnectorError::new(ErrorKind::BadRequest, self.name(), m);
        let location = pricing.locations.get(&plan.location).ok_or_else(|| {
            bad(format!(
                "{} is not a Business Central location",
                plan.location
            ))
        })?;
        if plan.fulfilment == "ClickAndCollect" && !location.click_and_collect {
            return Err(bad(format!(
                "{} does not offer click and collect",
                plan.location
            )));
        }
        if !plan.store.is_empty() && !pricing.locations.contains_key(&plan.store) {
            return Err(bad(format!(
                "{} is not a Business Central location",
                plan.store
            )));
        }
        let lines: Vec<Value> = pricing
            .lines
            .iter()
            .enumerate()
            .map(|(n, l)| {
                json!({
                    "sequence": (n as u32 + 1) * 10_000,
                    "lineType": "Item",
                    "lineObjectNumber": l.item,
                    "itemVariantId": l.variant_id,
                    "quantity": decimal_number(l.quantity),
                    "unitPrice": decimal_number(l.unit_price),
                    "locationId": location.id,
                })
            })
            .collect();
        let mut body = json!({
            "customerNumber": draft.customer.as_str(),
            "externalDocumentNumber": reference,
            "currencyCode": currency_code_for(cx.currency, self.config().local_currency),
            "salesOrderLines": lines,
        });
        if let Some(a) = plan.ship_to {
            body["shipToName"] = Value::String(pricing.customer.display_name.clone());
            body["shipToAddressLine1"] = Value::String(a.street.clone());
            body["shipToCity"] = Value::String(a.city.clone());
            body["shipToPostCode"] = Value::String(a.postal_code.clone());
            body["shipToCountry"] = Value::String(a.country.clone());
        }
        let url = self.url(Api::Standard, entity::SALES_ORDERS);
        let failure = match self
            .write(reqwest::Method::POST, &url, Some(&body), None)
            .await
        {
            Ok(reply) if reply.status.is_success() => {
                // Business Central answers the header; the order is read back below, with
                // its tracking row.
                let _: WireCreated = reply.json(self.name(), "POST salesOrders")?;
                None
            }
            Ok(reply) if !reply.status.is_server_error() && reply.status.as_u16() != 408 => {
                return Err(self.write_error("POST salesOrders", &reply));
            }
            // The answer was lost or the gateway gave up: the order may exist all the same.
            Ok(reply) => Some(self.write_error("POST salesOrders", &reply)),
            Err(e) => Some(e),
        };
        match self.placed(&reference).await? {
            Some((so, t)) => self.complete_order(cx, so, t, &plan).await,
            None => Err(failure.unwrap_or_else(|| {
                ConnectorError::new(
                    ErrorKind::InvalidResponse,
                    self.name(),
                    "POST salesOrders succeeded, but no order with its externalDocumentNumber can be found",
                )
            })),
        }
    }
}
