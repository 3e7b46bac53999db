//! Wishlists: Commerce's convention of a named cart `Wishlist` per customer, read and written
//! through the Service API's carts by customer, name and market:
//! `GET` and `PUT /episerverapi/commerce/carts/{customerId}/Wishlist/{wishlist_market}`.
//!
//! - One wishlist per customer, the same in every channel and currency: it lives in the one
//!   configured `wishlist_market` (default `DEFAULT`).
//! - Lines are line items (`Code` = SKU, `Quantity` 1, no price) with the line meta fields
//!   `AddedAt` (the site's clock, from the `Date` of the read) and `Channel`; they keep the
//!   order they were added in.
//! - Add: one lookup (customer number -> contact id), the cart `GET` (404: none yet), and, if
//!   the SKU is not on it, a `PUT` of the whole cart with the new line appended. Adding what is
//!   there changes nothing and costs no write; a retried add with the same key finds its line.
//!   Remove: the same, `PUT` without the SKU's lines; removing what is not there writes
//!   nothing. The `PUT` replaces the cart as a whole, so repeating it is harmless and the
//!   shared policy may retry it.
//! - The Service API has no concurrency check on carts: two devices adding at the same moment
//!   can lose one add (the last `PUT` wins).

use crate::client::{OptimizelyClient, WireCart};
use crate::mapping::{self, LINE_ADDED_AT, LINE_CHANNEL, WISHLIST_CART};
use crate::placement::prop;
use samlet_connector::prelude::*;
use serde_json::{json, Value};

impl OptimizelyClient {
    fn wishlist_url(&self, contact: &str) -> url::Url {
        self.url(
            &[
                "carts",
                contact,
                WISHLIST_CART,
                &self.config().wishlist_market,
            ],
            &[],
        )
    }

    /// The raw wishlist cart (`None`: none yet) and the site's clock.
    async fn wishlist_cart(
        &self,
        contact: &str,
    ) -> ConnectorResult<(Option<Value>, chrono::DateTime<chrono::Utc>)> {
        self.get_dated(
            self.wishlist_url(contact),
            "carts/{customerId}/Wishlist/{marketId}",
        )
        .await
    }

    fn typed_cart(&self, raw: &Value, what: &str) -> ConnectorResult<WireCart> {
        serde_json::from_value(raw.clone())
            .map_err(|e| self.error(ErrorKind::InvalidResponse, format!("{what}: {e}")))
    }

    fn map_wishlist(
        &self,
        raw: Option<&Value>,
        customer: &CustomerNumber,
    ) -> ConnectorResult<Wishlist> {
        let cart = raw
            .map(|r| self.typed_cart(r, "wishlist cart"))
            .transpose()?;
        mapping::wishlist(cart.as_ref(), customer)
            .map_err(|e| self.error(ErrorKind::InvalidResponse, e))
    }

    /// `PUT`s the wishlist cart and maps the stored cart the site answers.
    async fn put_wishlist(
        &self,
        contact: &str,
        cart: &Value,
        customer: &CustomerNumber,
    ) -> ConnectorResult<Wishlist> {
        let reply = self
            .send_write(
                reqwest::Method::PUT,
                &self.wishlist_url(contact),
                Some(cart),
                true,
            )
            .await?;
        if !reply.status.is_success() {
            return Err(self.write_error("PUT carts/{customerId}/Wishlist/{marketId}", &reply));
        }
        let stored: Value =
            reply.json(self.name(), "PUT carts/{customerId}/Wishlist/{marketId}")?;
        self.map_wishlist(Some(&stored), customer)
    }
}

/// Appends a line to the cart's first order form (making one if it has none).
fn push_line(cart: &mut Value, line: Value) {
    if !cart["OrderForms"].is_array() || cart["OrderForms"].as_array().is_some_and(Vec::is_empty) {
        cart["OrderForms"] = json!([{ "Name": "Default", "LineItems": [], "Shipments": [] }]);
    }
    let form = &mut cart["OrderForms"][0];
    if !form["LineItems"].is_array() {
        form["LineItems"] = json!([]);
    }
    if let Some(lines) = form["LineItems"].as_array_mut() {
        lines.push(line);
    }
}

/// Takes every line of `sku` out of the cart's order forms and shipments.
fn remove_lines(cart: &mut Value, sku: &Sku) {
    let keep = |l: &Value| l["Code"].as_str().map(str::trim) != Some(sku.as_str());
    if let Some(forms) = cart["OrderForms"].as_array_mut() {
        for form in forms {
            if let Some(lines) = form["LineItems"].as_array_mut() {
                lines.retain(keep);
            }
            if let Some(ships) = form["Shipments"].as_array_mut() {
                for s in ships {
                    if let Some(lines) = s["LineItems"].as_array_mut() {
                        lines.retain(keep);
                    }
                }
            }
        }
    }
}

#[async_trait]
impl WishlistStore for OptimizelyClient {
    async fn wishlist(
        &self,
        _cx: &RequestContext,
        customer: &CustomerNumber,
    ) -> ConnectorResult<Wishlist> {
        let buyer = self.buyer(customer).await?;
        let (raw, _) = self.wishlist_cart(&buyer.contact).await?;
        self.map_wishlist(raw.as_ref(), customer)
    }

    async fn add_to_wishlist(
        &self,
        cx: &RequestContext,
        customer: &CustomerNumber,
        sku: &Sku,
        _idempotency_key: &str,
    ) -> ConnectorResult<Wishlist> {
        let buyer = self.buyer(customer).await?;
        let (raw, now) = self.wishlist_cart(&buyer.contact).await?;
        let current = self.map_wishlist(raw.as_ref(), customer)?;
        if current.items.iter().any(|i| i.sku == *sku) {
            return Ok(current);
        }
        let mut cart = raw.unwrap_or_else(|| {
            json!({
                "Name": WISHLIST_CART,
                "CustomerId": buyer.contact,
                "MarketId": self.config().wishlist_market,
                "BillingCurrency": cx.currency.as_str(),
                "OrderForms": [{ "Name": "Default", "LineItems": [], "Shipments": [] }],
                "Properties": [],
            })
        });
        push_line(
            &mut cart,
            json!({
                "LineItemId": 0,
                "Code": sku.as_str(),
                "Quantity": 1,
                "PlacedPrice": 0,
                "ExtendedPrice": 0,
                "Properties": [
                    prop(LINE_ADDED_AT, &now.format("%Y-%m-%dT%H:%M:%SZ").to_string()),
                    prop(LINE_CHANNEL, cx.channel.as_str()),
                ],
            }),
        );
        self.put_wishlist(&buyer.contact, &cart, customer).await
    }

    async fn remove_from_wishlist(
        &self,
        _cx: &RequestContext,
        customer: &CustomerNumber,
        sku: &Sku,
    ) -> ConnectorResult<Wishlist> {
        let buyer = self.buyer(customer).await?;
        let (raw, _) = self.wishlist_cart(&buyer.contact).await?;
        let current = self.map_wishlist(raw.as_ref(), customer)?;
        let Some(mut cart) = raw.filter(|_| current.items.iter().any(|i| i.sku == *sku)) else {
            return Ok(current);
        };
        remove_lines(&mut cart, sku);
        self.put_wishlist(&buyer.contact, &cart, customer).await
    }
}
