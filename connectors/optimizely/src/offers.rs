//! Offers: named carts `Offer-OF{key}` of the customer, in the store market of the offer's
//! currency, converted into a purchase order through `POST /episerverapi/commerce/orders`.
//!
//! Why carts: the Service API has no quote entity (Commerce's B2B quote support lives in the
//! order repository API inside the site, not behind a Service API route), and a named cart is
//! Commerce's own way of keeping a set of priced lines for a customer outside the checkout
//! cart (wish lists and saved carts work the same way). The offer's facts are cart meta fields:
//! `ValidUntil`, `StoreCode`, `CreatedBy`, `IdempotencyKey`, and once converted
//! `ConversionKey` and `OrderNumber`.
//!
//! - Numbers: `OF{key}-{currency}-{customer number}` ([`OfferNumber`]): `key` is a hash of the
//!   customer and the create's idempotency key and names the cart; currency and customer say
//!   where the cart lives, so [`OfferStore::offers`] reads an offer by number alone (one lookup
//!   for the customers, then one cart `GET` per offer).
//! - Create (exactly once): the number follows from the key, so a retry reads the cart the
//!   first attempt wrote (`GET carts/{customerId}/Offer-OF{key}/{market}`) and answers it; only
//!   if it is not there are the lines priced (store prices of the currency, the customer's own
//!   group, through [`PriceSource`]) and the cart written with one `PUT` (a whole-cart replace,
//!   safe to repeat).
//! - Status: `OrderNumber` set -> converted; else past `ValidUntil` by the site's clock (the
//!   `Date` of the answer) -> expired; else open.
//! - Convert (exactly once): read the cart; if it names an order, answer that order when the
//!   `ConversionKey` is this key, else `Conflict` naming the order. An expired offer is a
//!   `Conflict`. Otherwise the offer is claimed by writing `ConversionKey` (a `PUT`), the order
//!   is created at the offer's prices (home delivery from the online warehouse, `StoreCode` =
//!   the offer's store, meta fields `OfferNumber` and `IdempotencyKey` = the conversion key),
//!   and its number recorded on the cart (`OrderNumber`). A retry after a lost answer finds
//!   the claim with its own key, finds the order by key among the customer's orders, and
//!   completes the record; a different key meets the claim and gets a `Conflict` (naming the
//!   order if it exists). The Service API offers no ETag or version check on carts, so two
//!   conversions racing in the same second could both claim; the claim is re-read from the
//!   `PUT`'s answer, which narrows but does not close that window.

use crate::client::{OptimizelyClient, WireCart, WirePurchaseOrder};
use crate::mapping::{
    self, property, OfferNumber, IDEMPOTENCY_KEY, OFFER_CONVERSION_KEY, OFFER_CREATED_BY,
    OFFER_ORDER_NUMBER, OFFER_STORE_CODE, OFFER_VALID_UNTIL, ORDER_OFFER_NUMBER,
};
use crate::placement::{num, prop, Buyer, OrderPlan, PricedLine};
use chrono::{DateTime, Utc};
use futures::stream::{self, StreamExt, TryStreamExt};
use samlet_connector::prelude::*;
use serde_json::{json, Value};
use std::collections::{BTreeSet, HashMap};

const CART_ROUTE: &str = "carts/{customerId}/{offerCart}/{marketId}";

/// Sets (or replaces) a cart meta field.
fn set_property(cart: &mut Value, key: &str, value: &str) {
    if !cart["Properties"].is_array() {
        cart["Properties"] = json!([]);
    }
    if let Some(items) = cart["Properties"].as_array_mut() {
        items.retain(|p| {
            !p["Key"]
                .as_str()
                .is_some_and(|k| k.eq_ignore_ascii_case(key))
        });
        items.push(prop(key, value));
    }
}

fn iso(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

impl OptimizelyClient {
    fn offer_market(&self, number: &OfferNumber) -> ConnectorResult<String> {
        self.config()
            .markets
            .market_for(PriceChannel::Store, number.currency)
            .map(str::to_owned)
            .ok_or_else(|| {
                self.error(
                    ErrorKind::BadRequest,
                    format!("no store market is configured for {}", number.currency),
                )
            })
    }

    fn offer_url(&self, contact: &str, number: &OfferNumber) -> ConnectorResult<url::Url> {
        let market = self.offer_market(number)?;
        Ok(self.url(&["carts", contact, &number.cart_name(), &market], &[]))
    }

    /// The offer's raw cart and the site's clock.
    async fn offer_cart(
        &self,
        contact: &str,
        number: &OfferNumber,
    ) -> ConnectorResult<(Option<Value>, DateTime<Utc>)> {
        self.get_dated(self.offer_url(contact, number)?, CART_ROUTE)
            .await
    }

    fn typed_offer_cart(&self, raw: &Value) -> ConnectorResult<WireCart> {
        serde_json::from_value(raw.clone())
            .map_err(|e| self.error(ErrorKind::InvalidResponse, format!("{CART_ROUTE}: {e}")))
    }

    fn map_offer(
        &self,
        cart: &WireCart,
        number: &OfferNumber,
        now: DateTime<Utc>,
    ) -> ConnectorResult<Offer> {
        mapping::offer(cart, number, now).map_err(|e| self.error(ErrorKind::InvalidResponse, e))
    }

    /// `PUT`s the offer cart; answers the stored cart and the site's clock.
    async fn put_offer_cart(
        &self,
        contact: &str,
        number: &OfferNumber,
        cart: &Value,
    ) -> ConnectorResult<(Value, DateTime<Utc>)> {
        let url = self.offer_url(contact, number)?;
        let reply = self
            .send_write(reqwest::Method::PUT, &url, Some(cart), true)
            .await?;
        if !reply.status.is_success() {
            return Err(self.write_error(&format!("PUT {CART_ROUTE}"), &reply));
        }
        let now = crate::client::site_clock(&reply);
        Ok((reply.json(self.name(), &format!("PUT {CART_ROUTE}"))?, now))
    }

    fn parse_offer_number(&self, number: &str) -> ConnectorResult<OfferNumber> {
        OfferNumber::parse(number).ok_or_else(|| {
            self.error(
                ErrorKind::NotFound,
                format!("`{number}` is not an offer number of this connector"),
            )
        })
    }

    /// The order a converted offer names.
    async fn converted_order(&self, number: &OfferNumber, order: &str) -> ConnectorResult<Order> {
        let id = self.config().order_group_id(order).ok_or_else(|| {
            self.error(
                ErrorKind::InvalidResponse,
                format!("offer {number} names order `{order}`, which is not an order number"),
            )
        })?;
        let po: Option<WirePurchaseOrder> = self
            .get_json(
                self.url(&["orders", &id.to_string()], &[]),
                "orders/{orderGroupId}",
            )
            .await?;
        let po = po.ok_or_else(|| {
            self.error(
                ErrorKind::InvalidResponse,
                format!("offer {number} names order {order}, which the site does not have"),
            )
        })?;
        self.map_order(&po, number.customer.clone())
    }

    /// The order made from `number` for `contact`, if there is one.
    async fn order_from_offer(
        &self,
        contact: &str,
        number: &OfferNumber,
    ) -> ConnectorResult<Option<WirePurchaseOrder>> {
        let all: Vec<WirePurchaseOrder> = self
            .get_json(
                self.url(&["orders", contact, "all"], &[]),
                "orders/{customerId}/all",
            )
            .await?
            .unwrap_or_default();
        let text = number.to_string();
        Ok(all
            .into_iter()
            .filter(|po| property(&po.properties, ORDER_OFFER_NUMBER) == Some(text.as_str()))
            .min_by_key(|po| po.order_group_id))
    }

    /// Records the order on the offer cart.
    async fn record_conversion(
        &self,
        buyer: &Buyer,
        number: &OfferNumber,
        mut cart: Value,
        key: &str,
        order: &str,
    ) -> ConnectorResult<()> {
        set_property(&mut cart, OFFER_CONVERSION_KEY, key);
        set_property(&mut cart, OFFER_ORDER_NUMBER, order);
        self.put_offer_cart(&buyer.contact, number, &cart).await?;
        Ok(())
    }

    fn conflict(&self, message: String) -> ConnectorError {
        self.error(ErrorKind::Conflict, message)
    }
}

#[async_trait]
impl OfferStore for OptimizelyClient {
    async fn create_offer(
        &self,
        cx: &RequestContext,
        draft: &OfferDraft,
        idempotency_key: &str,
    ) -> ConnectorResult<Offer> {
        let key = idempotency_key.trim();
        if key.is_empty() {
            return Err(self.error(ErrorKind::BadRequest, "an idempotency key is required"));
        }
        let number = OfferNumber::new(&draft.customer, cx.currency, key);
        let market = self.offer_market(&number)?;
        let buyer = self.buyer(&draft.customer).await?;
        let (raw, now) = self.offer_cart(&buyer.contact, &number).await?;
        if let Some(raw) = raw {
            let cart = self.typed_offer_cart(&raw)?;
            if property(&cart.properties, IDEMPOTENCY_KEY) != Some(key) {
                return Err(self.conflict(format!(
                    "offer {number} exists and was made by another request"
                )));
            }
            return self.map_offer(&cart, &number, now);
        }
        // Offers are composed in store: store prices, the customer's own group.
        let store_cx = RequestContext {
            channel: match cx.channel.price_channel() {
                PriceChannel::Store => cx.channel,
                PriceChannel::Online => Channel::Store,
            },
            ..cx.clone()
        };
        let lines = self.price_lines(&store_cx, &buyer, &draft.lines).await?;
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
                })
            })
            .collect();
        let store = draft
            .store
            .as_ref()
            .or(cx.store.as_ref())
            .map(|s| s.as_str().trim().to_owned())
            .unwrap_or_default();
        let cart = json!({
            "Name": number.cart_name(),
            "CustomerId": buyer.contact,
            "CustomerName": buyer.name,
            "MarketId": market,
            "BillingCurrency": cx.currency.as_str(),
            "OrderForms": [{ "Name": "Default", "LineItems": items, "Shipments": [], "SubTotal": num(total), "Total": num(total) }],
            "SubTotal": num(total),
            "Total": num(total),
            "Properties": [
                prop(OFFER_VALID_UNTIL, &iso(draft.valid_until)),
                prop(OFFER_STORE_CODE, &store),
                prop(OFFER_CREATED_BY, draft.created_by.as_deref().unwrap_or("")),
                prop(IDEMPOTENCY_KEY, key),
            ],
        });
        let (stored, now) = self.put_offer_cart(&buyer.contact, &number, &cart).await?;
        self.map_offer(&self.typed_offer_cart(&stored)?, &number, now)
    }

    async fn offers(
        &self,
        _cx: &RequestContext,
        numbers: &[String],
    ) -> ConnectorResult<HashMap<String, Offer>> {
        let parsed: Vec<(String, OfferNumber)> = numbers
            .iter()
            .filter_map(|n| Some((n.clone(), OfferNumber::parse(n)?)))
            .filter(|(_, n)| self.offer_market(n).is_ok())
            .collect();
        let customers: BTreeSet<String> = parsed
            .iter()
            .map(|(_, n)| n.customer.as_str().to_owned())
            .collect();
        let contacts: HashMap<String, String> = self
            .lookup_customers(
                customers
                    .into_iter()
                    .map(|c| ("customerNumber", c))
                    .collect(),
            )
            .await?
            .into_iter()
            .map(|w| {
                (
                    w.customer_number.trim().to_owned(),
                    w.primary_key_id.trim().to_owned(),
                )
            })
            .collect();
        let wanted: Vec<(String, OfferNumber, String)> = parsed
            .into_iter()
            .filter_map(|(text, n)| {
                let contact = contacts.get(n.customer.as_str())?.clone();
                Some((text, n, contact))
            })
            .collect();
        let limit = self.config().max_concurrent_requests.max(1) as usize;
        let found: Vec<Option<(String, Offer)>> =
            stream::iter(wanted.into_iter().map(|(text, n, contact)| async move {
                let (raw, now) = self.offer_cart(&contact, &n).await?;
                let Some(raw) = raw else {
                    return Ok::<_, ConnectorError>(None);
                };
                let cart = self.typed_offer_cart(&raw)?;
                Ok(Some((text, self.map_offer(&cart, &n, now)?)))
            }))
            .buffer_unordered(limit)
            .try_collect()
            .await?;
        Ok(found.into_iter().flatten().collect())
    }

    async fn convert_offer(
        &self,
        cx: &RequestContext,
        number: &str,
        idempotency_key: &str,
    ) -> ConnectorResult<Order> {
        let key = idempotency_key.trim();
        if key.is_empty() {
            return Err(self.error(ErrorKind::BadRequest, "an idempotency key is required"));
        }
        let number = self.parse_offer_number(number)?;
        let buyer = self.buyer(&number.customer).await?;
        let (raw, now) = self.offer_cart(&buyer.contact, &number).await?;
        let mut raw = raw.ok_or_else(|| {
            self.error(
                ErrorKind::NotFound,
                format!("offer {number} does not exist"),
            )
        })?;
        let cart = self.typed_offer_cart(&raw)?;
        let claim = property(&cart.properties, OFFER_CONVERSION_KEY).map(str::to_owned);
        if let Some(order) = property(&cart.properties, OFFER_ORDER_NUMBER) {
            if claim.as_deref() == Some(key) {
                return self.converted_order(&number, order).await;
            }
            return Err(self.conflict(format!(
                "offer {number} was already converted to order {order}"
            )));
        }
        if let Some(other) = claim.as_deref().filter(|c| *c != key) {
            // Claimed by another conversion: name its order if it was made.
            return match self.order_from_offer(&buyer.contact, &number).await? {
                Some(po) => {
                    let order = po.order_number.trim().to_owned();
                    self.record_conversion(&buyer, &number, raw, other, &order)
                        .await?;
                    Err(self.conflict(format!(
                        "offer {number} was already converted to order {order}"
                    )))
                }
                None => Err(self.conflict(format!(
                    "offer {number} is being converted by another request"
                ))),
            };
        }
        let offer = self.map_offer(&cart, &number, now)?;
        if offer.status == OfferStatus::Expired {
            return Err(self.conflict(format!(
                "offer {number} expired at {}",
                iso(offer.valid_until)
            )));
        }
        let retry = claim.is_some();
        if !retry {
            set_property(&mut raw, OFFER_CONVERSION_KEY, key);
            let (stored, _) = self.put_offer_cart(&buyer.contact, &number, &raw).await?;
            let stored_cart = self.typed_offer_cart(&stored)?;
            if property(&stored_cart.properties, OFFER_CONVERSION_KEY) != Some(key) {
                return Err(self.conflict(format!(
                    "offer {number} is being converted by another request"
                )));
            }
            raw = stored;
        }
        let existing = if retry {
            self.order_with_key(&buyer.contact, key).await?
        } else {
            None
        };
        let order = match existing {
            Some(po) => self.map_order(&po, number.customer.clone())?,
            None => {
                let lines: Vec<PricedLine> = offer
                    .lines
                    .iter()
                    .map(|l| PricedLine {
                        sku: l.sku.clone(),
                        quantity: l.quantity,
                        unit_price: l.unit_price.amount,
                        line_total: l.line_total.amount,
                    })
                    .collect();
                let plan = OrderPlan {
                    market: cart.market_id.trim().to_owned(),
                    currency: offer.total.currency,
                    warehouse: self.config().online_warehouse.clone(),
                    store: offer.store.as_ref().map(|s| s.as_str().to_owned()),
                    fulfilment: "HomeDelivery",
                    address: None,
                    channel: cx.channel,
                    offer: Some(number.to_string()),
                };
                self.create_order(&number.customer, &buyer, &plan, &lines, key)
                    .await?
            }
        };
        self.record_conversion(&buyer, &number, raw, key, order.number.as_str())
            .await?;
        Ok(order)
    }
}
