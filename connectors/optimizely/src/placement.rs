//! Order placement: one Service API `POST /episerverapi/commerce/orders` with the whole
//! purchase order (customer contact, market, currency, one order form with one shipment whose
//! `WarehouseCode` is where the stock is taken from, the lines at the customer's prices, and
//! the order meta fields), answered by the site with the created order (`201 Created`).
//!
//! - Buyer: one Samlet customer lookup turns the customer number into the contact id
//!   (`CustomerId`) and the customer's own price group.
//! - Prices: the crate's own price resolution ([`PriceSource`]) for the request's channel and
//!   currency and the customer's own group: `PlacedPrice` per unit, `ExtendedPrice` per line.
//! - Fulfilment: click and collect and ship from store take the stock from the store's
//!   warehouse (`WarehouseCode` = store, `StoreCode` = store); home delivery from the
//!   `online_warehouse` (`StoreCode` = the request's store, if any). Meta fields
//!   `SalesChannel`, `StoreCode` and `Fulfilment` (`ClickAndCollect`, `ShipFromStore`,
//!   `HomeDelivery`); a delivery address is the order address `Shipping`.
//! - Exactly once: the idempotency key is the order meta field `IdempotencyKey`. Before
//!   creating, the customer's orders (`GET /orders/{customerId}/all`) are searched for it; a
//!   found order is answered and nothing is created. The `POST` is never retried blindly
//!   (`Upstream::send(false, ..)`); when its answer is lost (transport error, 5xx) the
//!   customer's orders are searched again, and only if the order is not there is the error
//!   returned.
//! - The site's order number generator writes `{order_number_prefix}{OrderGroupId}`; the
//!   answer is mapped like [`OrderSource`] reads it (status open, no shipments yet).

use crate::client::{OptimizelyClient, WirePurchaseOrder};
use crate::mapping::{
    self, property, IDEMPOTENCY_KEY, ORDER_FULFILMENT, ORDER_OFFER_NUMBER, ORDER_SALES_CHANNEL,
    ORDER_STORE_CODE,
};
use samlet_connector::prelude::*;
use serde_json::{json, Value};

/// The customer as the commerce site knows them.
#[derive(Debug, Clone)]
pub(crate) struct Buyer {
    /// The contact id (a GUID).
    pub contact: String,
    /// Their own price group.
    pub group: Option<CustomerGroup>,
    /// Their name, for `CustomerName`.
    pub name: String,
}

/// What an order is made of, besides its lines.
#[derive(Debug, Clone)]
pub(crate) struct OrderPlan {
    pub market: String,
    pub currency: Currency,
    pub warehouse: String,
    pub store: Option<String>,
    pub fulfilment: &'static str,
    pub address: Option<Address>,
    pub channel: Channel,
    pub offer: Option<String>,
}

/// A line to order at a known price.
#[derive(Debug, Clone)]
pub(crate) struct PricedLine {
    pub sku: Sku,
    pub quantity: Decimal,
    pub unit_price: Decimal,
    pub line_total: Decimal,
}

/// A decimal as a JSON number (its exact text).
pub(crate) fn num(d: Decimal) -> Value {
    serde_json::from_str::<serde_json::Number>(&d.normalize().to_string())
        .map(Value::Number)
        .unwrap_or(Value::Null)
}

/// A `PropertyItem`.
pub(crate) fn prop(key: &str, value: &str) -> Value {
    json!({ "Key": key, "Value": value })
}

fn alpha3(country: &str) -> String {
    match country.trim().to_ascii_uppercase().as_str() {
        "DK" => "DNK".to_owned(),
        "SE" => "SWE".to_owned(),
        "NO" => "NOR".to_owned(),
        "FI" => "FIN".to_owned(),
        "DE" => "DEU".to_owned(),
        "GB" => "GBR".to_owned(),
        other => other.to_owned(),
    }
}

/// The purchase order body for `lines` under `plan`.
pub(crate) fn order_body(
    buyer: &Buyer,
    plan: &OrderPlan,
    lines: &[PricedLine],
    idempotency_key: &str,
) -> Value {
    let total: Decimal = lines.iter().map(|l| l.line_total).sum();
    let items: Vec<Value> = lines
        .iter()
        .map(|l| {
            json!({
                "LineItemId": 0,
                "Code": l.sku.as_str(),
                "Quantity": num(l.quantity),
                "PlacedPrice": num(l.unit_price),
                "ExtendedPrice": num(l.line_total),
                "DiscountedPrice": num(l.line_total),
                "InventoryTrackingStatus": "Enabled",
                "IsGift": false,
            })
        })
        .collect();
    let mut properties = vec![
        prop(ORDER_SALES_CHANNEL, plan.channel.as_str()),
        prop(ORDER_STORE_CODE, plan.store.as_deref().unwrap_or("")),
        prop(ORDER_FULFILMENT, plan.fulfilment),
        prop(IDEMPOTENCY_KEY, idempotency_key),
    ];
    if let Some(offer) = &plan.offer {
        properties.push(prop(ORDER_OFFER_NUMBER, offer));
    }
    let addresses: Vec<Value> = plan
        .address
        .iter()
        .map(|a| {
            json!({
                "Name": "Shipping",
                "Line1": a.street,
                "City": a.city,
                "PostalCode": a.postal_code,
                "CountryCode": alpha3(&a.country),
            })
        })
        .collect();
    let shipping_address = plan.address.as_ref().map(|_| "Shipping");
    json!({
        "Name": "Default",
        "CustomerId": buyer.contact,
        "CustomerName": buyer.name,
        "MarketId": plan.market,
        "BillingCurrency": plan.currency.as_str(),
        "Status": "InProgress",
        "OrderAddresses": addresses,
        "OrderForms": [{
            "Name": "Default",
            "LineItems": [],
            "Shipments": [{
                "ShipmentId": 0,
                "ShippingMethodName": if plan.fulfilment == "ClickAndCollect" { "Click and collect" } else { "Standard" },
                "ShippingAddressId": shipping_address,
                "WarehouseCode": plan.warehouse,
                "Status": "AwaitingInventory",
                "SubTotal": num(total),
                "LineItems": items,
                "Properties": [],
            }],
            "SubTotal": num(total),
            "Total": num(total),
            "Status": "InProgress",
        }],
        "SubTotal": num(total),
        "ShippingTotal": 0,
        "HandlingTotal": 0,
        "TaxTotal": 0,
        "Total": num(total),
        "Properties": properties,
    })
}

impl OptimizelyClient {
    /// The contact, price group and name of a customer number; `NotFound` if the site has no
    /// such customer.
    pub(crate) async fn buyer(&self, customer: &CustomerNumber) -> ConnectorResult<Buyer> {
        let number = customer.as_str().trim();
        let found = self
            .lookup_customers(vec![("customerNumber", number.to_owned())])
            .await?;
        let w = found
            .iter()
            .find(|w| w.customer_number.trim() == number && !w.primary_key_id.trim().is_empty())
            .ok_or_else(|| {
                self.error(
                    ErrorKind::NotFound,
                    format!("customer {number} is not a customer contact of the commerce site"),
                )
            })?;
        let record = mapping::customer(w, self.name());
        Ok(Buyer {
            contact: w.primary_key_id.trim().to_owned(),
            group: record.customer_group,
            name: format!("{} {}", w.first_name.trim(), w.last_name.trim())
                .trim()
                .to_owned(),
        })
    }

    /// `lines` priced as the buyer pays them in `cx` (their own group); a SKU without a price
    /// there is a bad request.
    pub(crate) async fn price_lines(
        &self,
        cx: &RequestContext,
        buyer: &Buyer,
        lines: &[LineRequest],
    ) -> ConnectorResult<Vec<PricedLine>> {
        if lines.is_empty() {
            return Err(self.error(ErrorKind::BadRequest, "an order needs at least one line"));
        }
        if let Some(l) = lines.iter().find(|l| l.quantity <= Decimal::ZERO) {
            return Err(self.error(
                ErrorKind::BadRequest,
                format!("the quantity of {} must be positive", l.sku),
            ));
        }
        let pcx = RequestContext {
            customer_group: buyer.group.clone(),
            ..cx.clone()
        };
        let skus: Vec<Sku> = lines.iter().map(|l| l.sku.clone()).collect();
        let prices = self.prices(&pcx, &skus).await?;
        lines
            .iter()
            .map(|l| {
                let p = prices.get(&l.sku).ok_or_else(|| {
                    self.error(
                        ErrorKind::BadRequest,
                        format!(
                            "{} has no price in {} for this customer ({} prices)",
                            l.sku,
                            cx.currency,
                            cx.channel.price_channel().as_str()
                        ),
                    )
                })?;
                Ok(PricedLine {
                    sku: l.sku.clone(),
                    quantity: l.quantity,
                    unit_price: p.amount.amount,
                    line_total: p.amount.amount * l.quantity,
                })
            })
            .collect()
    }

    /// The order of `contact` whose `IdempotencyKey` is `key`, if one was placed.
    pub(crate) async fn order_with_key(
        &self,
        contact: &str,
        key: &str,
    ) -> ConnectorResult<Option<WirePurchaseOrder>> {
        let all: Vec<WirePurchaseOrder> = self
            .get_json(
                self.url(&["orders", contact, "all"], &[]),
                "orders/{customerId}/all",
            )
            .await?
            .unwrap_or_default();
        Ok(all
            .into_iter()
            .filter(|po| property(&po.properties, IDEMPOTENCY_KEY) == Some(key))
            .min_by_key(|po| po.order_group_id))
    }

    /// Creates the purchase order (exactly once per key, see the module docs) and maps it.
    pub(crate) async fn create_order(
        &self,
        customer: &CustomerNumber,
        buyer: &Buyer,
        plan: &OrderPlan,
        lines: &[PricedLine],
        key: &str,
    ) -> ConnectorResult<Order> {
        let body = order_body(buyer, plan, lines, key);
        let url = self.url(&["orders"], &[]);
        let sent = self
            .send_write(reqwest::Method::POST, &url, Some(&body), false)
            .await;
        let failure = match sent {
            Ok(reply) if reply.status.is_success() => {
                let po: WirePurchaseOrder = reply.json(self.name(), "POST orders")?;
                return self.map_order(&po, customer.clone());
            }
            // The site refused the order: nothing was created.
            Ok(reply) if reply.status.is_client_error() => {
                return Err(self.write_error("POST orders", &reply));
            }
            Ok(reply) => self.write_error("POST orders", &reply),
            Err(e) => e,
        };
        // The answer was lost: the order may exist. Look before giving up.
        tracing::warn!(connector = %self.name(), error = %failure, "POST orders failed; looking the order up by its idempotency key");
        match self.order_with_key(&buyer.contact, key).await {
            Ok(Some(po)) => self.map_order(&po, customer.clone()),
            Ok(None) => Err(failure),
            Err(e) => {
                tracing::warn!(connector = %self.name(), error = %e, "the order lookup after a failed POST failed too");
                Err(failure)
            }
        }
    }

    fn plan(&self, cx: &RequestContext, draft: &OrderDraft) -> ConnectorResult<OrderPlan> {
        let config = self.config();
        let market = config
            .markets
            .market_for(cx.channel.price_channel(), cx.currency)
            .ok_or_else(|| {
                self.error(
                    ErrorKind::BadRequest,
                    format!(
                        "no market is configured for {} prices in {}",
                        cx.channel.price_channel().as_str(),
                        cx.currency
                    ),
                )
            })?
            .to_owned();
        let store_code = |s: &LocationId| s.as_str().trim().to_owned();
        let (warehouse, store, fulfilment, address) = match &draft.fulfilment {
            Fulfilment::ClickAndCollect(store) => (
                store_code(store),
                Some(store_code(store)),
                "ClickAndCollect",
                None,
            ),
            Fulfilment::ShipFromStore { store, address } => (
                store_code(store),
                Some(store_code(store)),
                "ShipFromStore",
                Some(address.clone()),
            ),
            Fulfilment::HomeDelivery(address) => (
                config.online_warehouse.clone(),
                cx.store.as_ref().map(store_code),
                "HomeDelivery",
                Some(address.clone()),
            ),
        };
        Ok(OrderPlan {
            market,
            currency: cx.currency,
            warehouse,
            store,
            fulfilment,
            address,
            channel: cx.channel,
            offer: None,
        })
    }
}

#[async_trait]
impl OrderSink for OptimizelyClient {
    async fn place_order(
        &self,
        cx: &RequestContext,
        draft: &OrderDraft,
        idempotency_key: &str,
    ) -> ConnectorResult<Order> {
        let key = idempotency_key.trim();
        if key.is_empty() {
            return Err(self.error(ErrorKind::BadRequest, "an idempotency key is required"));
        }
        let plan = self.plan(cx, draft)?;
        let buyer = self.buyer(&draft.customer).await?;
        if let Some(po) = self.order_with_key(&buyer.contact, key).await? {
            return self.map_order(&po, draft.customer.clone());
        }
        let lines = self.price_lines(cx, &buyer, &draft.lines).await?;
        self.create_order(&draft.customer, &buyer, &plan, &lines, key)
            .await
    }
}
