//! The cross-channel journeys: wishlists, store-to-home offers, click and collect, vouchers and
//! touchpoint events. Every write goes to the system of record that owns the fact, with the
//! caller's idempotency key; the gateway stores none of it.

use super::customer::Customer;
use super::errors::{self, connector_error, user_error};
use super::loaders::Scope;
use super::location::Location;
use super::money::Money;
use super::order::{Order, OrderLine};
use super::scope;
use crate::gateway::Served;
use crate::telemetry::ChannelEvent;
use async_graphql::{Context, Enum, InputObject, Object, Result, SimpleObject};
use rust_decimal::Decimal;
use samlet_connector::capability::Capability;
use samlet_connector::context::RequestContext;
use samlet_connector::ids::{CustomerNumber, LocationId, Sku};
use samlet_connector::model::{self, MatchKey};
use std::sync::Arc;

/// An optional capability nobody is configured to serve.
pub const CAPABILITY_NOT_CONFIGURED: &str = "CAPABILITY_NOT_CONFIGURED";

fn served<'a, T: ?Sized>(s: &'a Option<Served<T>>, what: &str) -> Result<&'a Served<T>> {
    s.as_ref().ok_or_else(|| {
        user_error(
            CAPABILITY_NOT_CONFIGURED,
            format!(
                "no connector serves {what}; name one under [capabilities] in the configuration"
            ),
        )
    })
}

fn idempotency(key: &str) -> Result<&str> {
    let k = key.trim();
    if k.is_empty() || k.len() > 100 {
        return Err(user_error(
            errors::BAD_USER_INPUT,
            "`idempotencyKey` must be 1 to 100 characters",
        ));
    }
    Ok(k)
}

/// One product on a wishlist.
pub struct WishlistItem(pub model::WishlistItem);

#[Object]
impl WishlistItem {
    /// The SKU.
    async fn sku(&self) -> &str {
        self.0.sku.as_str()
    }
    /// When it was added.
    async fn added_at(&self) -> chrono::DateTime<chrono::Utc> {
        self.0.added_at
    }
    /// The channel it was added from.
    async fn channel(&self) -> Option<&str> {
        self.0.channel.map(|c| c.as_str())
    }
    /// The variant, as the PIM describes it.
    async fn variant(&self, ctx: &Context<'_>) -> Result<Option<super::product::Variant>> {
        variant(ctx, &self.0.sku).await
    }
}

async fn variant(ctx: &Context<'_>, sku: &Sku) -> Result<Option<super::product::Variant>> {
    let s = scope(ctx)?;
    let p = s
        .loader
        .load_one(super::loaders::ProductBySku(sku.clone()))
        .await
        .map_err(|e| connector_error(&e))?;
    s.mark_if_stale(
        ctx,
        &super::loaders::Cached::ProductBySku(sku.clone()),
        s.gateway.products.connector.as_str(),
    );
    Ok(p.map(|product| super::product::Variant {
        product,
        sku: sku.clone(),
    }))
}

/// A customer's wishlist, kept in the system that owns it.
pub struct Wishlist(pub model::Wishlist);

#[Object]
impl Wishlist {
    /// Whose.
    async fn customer_number(&self) -> &str {
        self.0.customer.as_str()
    }
    /// Items, oldest first.
    async fn items(&self) -> Vec<WishlistItem> {
        self.0.items.iter().cloned().map(WishlistItem).collect()
    }
}

/// Reads a customer's wishlist.
pub async fn wishlist_of(ctx: &Context<'_>, customer: &CustomerNumber) -> Result<Wishlist> {
    let s = scope(ctx)?;
    s.may_access(Some(customer))?;
    let w = served(&s.gateway.wishlists, "wishlists")?;
    crate::trace::call(
        Capability::Wishlists,
        &w.connector,
        w.source.wishlist(&s.cx, customer),
    )
    .await
    .map(Wishlist)
    .map_err(|e| connector_error(&e))
}

/// Where an offer stands.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum OfferStatus {
    /// Can be converted.
    Open,
    /// Converted to an order.
    Converted,
    /// Past its validity.
    Expired,
}

/// An offer composed in a store, with prices as the customer pays them.
pub struct Offer(pub model::Offer);

#[Object]
impl Offer {
    /// The quote number in the system of record.
    async fn number(&self) -> &str {
        &self.0.number
    }
    /// For whom.
    async fn customer_number(&self) -> &str {
        self.0.customer.as_str()
    }
    /// Lines with the customer's prices.
    async fn lines(&self) -> Vec<OrderLine> {
        self.0.lines.iter().cloned().map(OrderLine).collect()
    }
    /// Total.
    async fn total(&self) -> Money {
        (&self.0.total).into()
    }
    /// Status.
    async fn status(&self) -> OfferStatus {
        match self.0.status {
            model::OfferStatus::Open => OfferStatus::Open,
            model::OfferStatus::Converted(_) => OfferStatus::Converted,
            model::OfferStatus::Expired => OfferStatus::Expired,
        }
    }
    /// The order it became, once converted.
    async fn order_number(&self) -> Option<&str> {
        match &self.0.status {
            model::OfferStatus::Converted(n) => Some(n.as_str()),
            _ => None,
        }
    }
    /// Until when it can be converted.
    async fn valid_until(&self) -> chrono::DateTime<chrono::Utc> {
        self.0.valid_until
    }
    /// When it was composed.
    async fn created_at(&self) -> chrono::DateTime<chrono::Utc> {
        self.0.created_at
    }
    /// The store it was composed in.
    async fn store_code(&self) -> Option<&str> {
        self.0.store.as_ref().map(|s| s.as_str())
    }
    /// The associate who composed it.
    async fn created_by(&self) -> Option<&str> {
        self.0.created_by.as_deref()
    }
}

/// What a voucher is worth.
#[derive(SimpleObject)]
pub struct VoucherValue {
    /// A percentage off, for percentage vouchers.
    pub percent: Option<Decimal>,
    /// An amount off, for amount vouchers.
    pub amount: Option<Money>,
}

/// Where a voucher stands.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum VoucherStatus {
    /// Can be redeemed.
    Available,
    /// Redeemed.
    Redeemed,
    /// Past its validity.
    Expired,
}

/// A loyalty voucher from the marketing or loyalty system.
pub struct Voucher(pub model::Voucher);

#[Object]
impl Voucher {
    /// The code the customer shows.
    async fn code(&self) -> &str {
        &self.0.code
    }
    /// Whose.
    async fn customer_number(&self) -> &str {
        self.0.customer.as_str()
    }
    /// Worth.
    async fn value(&self) -> VoucherValue {
        match &self.0.value {
            model::VoucherValue::Percent(p) => VoucherValue {
                percent: Some(*p),
                amount: None,
            },
            model::VoucherValue::Amount(m) => VoucherValue {
                percent: None,
                amount: Some(m.into()),
            },
        }
    }
    /// Status.
    async fn status(&self) -> VoucherStatus {
        match self.0.status {
            model::VoucherStatus::Available => VoucherStatus::Available,
            model::VoucherStatus::Redeemed { .. } => VoucherStatus::Redeemed,
            model::VoucherStatus::Expired => VoucherStatus::Expired,
        }
    }
    /// When it was redeemed.
    async fn redeemed_at(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        match &self.0.status {
            model::VoucherStatus::Redeemed { at, .. } => Some(*at),
            _ => None,
        }
    }
    /// Until when it can be redeemed.
    async fn valid_until(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        self.0.valid_until
    }
}

/// A customer's vouchers.
pub async fn vouchers_of(ctx: &Context<'_>, customer: &CustomerNumber) -> Result<Vec<Voucher>> {
    let s = scope(ctx)?;
    s.may_access(Some(customer))?;
    let v = served(&s.gateway.vouchers, "vouchers")?;
    let list = crate::trace::call(
        Capability::Vouchers,
        &v.connector,
        v.source.vouchers(&s.cx, customer),
    )
    .await
    .map_err(|e| connector_error(&e))?;
    Ok(list.into_iter().map(Voucher).collect())
}

/// A quantity of one SKU.
#[derive(InputObject)]
pub struct LineInput {
    /// The SKU.
    pub sku: String,
    /// Units (at least 1).
    pub quantity: Decimal,
}

fn lines(input: Vec<LineInput>) -> Result<Vec<model::LineRequest>> {
    if input.is_empty() || input.len() > 100 {
        return Err(user_error(errors::BAD_USER_INPUT, "give 1 to 100 lines"));
    }
    input
        .into_iter()
        .map(|l| {
            if l.quantity <= Decimal::ZERO || l.quantity.fract() != Decimal::ZERO {
                Err(user_error(
                    errors::BAD_USER_INPUT,
                    format!("`{}`: quantity must be a whole number above 0", l.sku),
                ))
            } else {
                Ok(model::LineRequest {
                    sku: Sku::new(l.sku.trim()),
                    quantity: l.quantity,
                })
            }
        })
        .collect()
}

/// How an order reaches the customer.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum FulfilmentMode {
    /// Shipped home from the online warehouse.
    HomeDelivery,
    /// Collected at a store, which reserves the stock.
    ClickAndCollect,
    /// Shipped home from a store's stock.
    ShipFromStore,
}

/// A postal address.
#[derive(InputObject)]
pub struct AddressInput {
    /// Street and number.
    pub street: String,
    /// Postal code.
    pub postal_code: String,
    /// City.
    pub city: String,
    /// ISO 3166-1 alpha-2 country code.
    pub country_code: String,
}

/// Fulfilment of an order.
#[derive(InputObject)]
pub struct FulfilmentInput {
    /// The mode.
    pub mode: FulfilmentMode,
    /// The store (click and collect, ship from store).
    pub store: Option<String>,
    /// The address (home delivery, ship from store).
    pub address: Option<AddressInput>,
}

fn fulfilment(f: FulfilmentInput) -> Result<model::Fulfilment> {
    let address = |a: Option<AddressInput>| -> Result<model::Address> {
        let a = a.ok_or_else(|| {
            user_error(
                errors::BAD_USER_INPUT,
                "`fulfilment.address` is required for delivery",
            )
        })?;
        Ok(model::Address {
            street: a.street,
            postal_code: a.postal_code,
            city: a.city,
            country: a.country_code.to_uppercase(),
        })
    };
    let store = |s: Option<String>| -> Result<LocationId> {
        s.map(|s| LocationId::new(s.trim())).ok_or_else(|| {
            user_error(
                errors::BAD_USER_INPUT,
                "`fulfilment.store` is required for this mode",
            )
        })
    };
    Ok(match f.mode {
        FulfilmentMode::HomeDelivery => model::Fulfilment::HomeDelivery(address(f.address)?),
        FulfilmentMode::ClickAndCollect => model::Fulfilment::ClickAndCollect(store(f.store)?),
        FulfilmentMode::ShipFromStore => model::Fulfilment::ShipFromStore {
            store: store(f.store)?,
            address: address(f.address)?,
        },
    })
}

/// A touchpoint event kind.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum EventKind {
    /// A product page was viewed.
    ProductViewed,
    /// A product was wishlisted.
    Wishlisted,
    /// The basket changed.
    BasketChanged,
    /// The customer visited a store.
    StoreVisit,
    /// The customer bought something.
    Purchase,
}

/// A touchpoint event.
#[derive(InputObject)]
pub struct TrackEventInput {
    /// A unique id; the marketing system deduplicates on it.
    pub id: String,
    /// Who, by customer number...
    pub customer_number: Option<String>,
    /// ...or by e-mail.
    pub email: Option<String>,
    /// What.
    pub kind: EventKind,
    /// The product concerned.
    pub sku: Option<String>,
    /// The value concerned, in the request's currency.
    pub value: Option<Decimal>,
    /// Free-form properties.
    pub properties: Option<async_graphql::Json<serde_json::Value>>,
}

/// What became of a tracked event.
#[derive(SimpleObject)]
pub struct TrackResult {
    /// Whether any marketing system received it.
    pub accepted: bool,
    /// The marketing connectors that received it.
    pub sent_to: Vec<String>,
    /// Why it was not sent, when it was not.
    pub skipped_reason: Option<String>,
}

/// Stock for a basket at one location.
pub struct StoreAvailability {
    location: model::Location,
    missing: Vec<String>,
}

#[Object]
impl StoreAvailability {
    /// The store or warehouse.
    async fn location(&self) -> Location {
        Location(self.location.clone())
    }
    /// Whether every line is available there in the quantity asked.
    async fn available(&self) -> bool {
        self.missing.is_empty()
    }
    /// The SKUs it lacks (in the quantity asked).
    async fn missing_skus(&self) -> &[String] {
        &self.missing
    }
}

/// Availability of a basket at every store (click and collect) and the online warehouse,
/// stores in the request's store's country first.
pub async fn basket_availability(
    ctx: &Context<'_>,
    input: Vec<LineInput>,
) -> Result<Vec<StoreAvailability>> {
    let s = scope(ctx)?;
    let lines = lines(input)?;
    let locations = super::location::all(ctx).await?;
    let stock = s
        .loader
        .load_many(
            lines
                .iter()
                .map(|l| super::loaders::StockKey(l.sku.clone())),
        )
        .await
        .map_err(|e| connector_error(&e))?;
    for l in &lines {
        s.mark_if_stale(
            ctx,
            &super::loaders::Cached::Stock(l.sku.clone()),
            s.gateway.inventory.connector.as_str(),
        );
    }
    let home_country =
        s.cx.store
            .as_ref()
            .and_then(|st| locations.iter().find(|l| &l.id == st))
            .map(|l| l.address.country.clone());
    let mut out: Vec<StoreAvailability> = locations
        .iter()
        .map(|loc| {
            let missing = lines
                .iter()
                .filter(|l| {
                    let have = stock
                        .get(&super::loaders::StockKey(l.sku.clone()))
                        .and_then(|levels| {
                            levels
                                .iter()
                                .find(|x| x.location == loc.id)
                                .map(|x| x.available())
                        })
                        .unwrap_or(0);
                    Decimal::from(have) < l.quantity
                })
                .map(|l| l.sku.to_string())
                .collect();
            StoreAvailability {
                location: loc.clone(),
                missing,
            }
        })
        .collect();
    out.sort_by_key(|a| {
        (
            home_country.as_deref() != Some(a.location.address.country.as_str()),
            !a.missing.is_empty(),
        )
    });
    Ok(out)
}

/// Sends `event` to every marketing system, if the customer consented to marketing (per the
/// marketing system's consent record, through customer merging).
async fn track(ctx: &Context<'_>, s: &Scope, event: model::CustomerEvent) -> Result<TrackResult> {
    if s.gateway.marketing_events.is_empty() {
        return Ok(TrackResult {
            accepted: false,
            sent_to: vec![],
            skipped_reason: Some("no marketing connector is configured".into()),
        });
    }
    let customer =
        super::customer::find(ctx, MatchKey::CustomerNumber(event.customer.clone())).await?;
    let consented = match &customer {
        Some(c) => c.marketing_consent(ctx)?,
        None => None,
    };
    if consented != Some(true) {
        let reason = if customer.is_none() {
            "unknown customer"
        } else {
            "no marketing consent on record"
        };
        return Ok(TrackResult {
            accepted: false,
            sent_to: vec![],
            skipped_reason: Some(reason.into()),
        });
    }
    let mut sent_to = Vec::new();
    for m in &s.gateway.marketing_events {
        crate::trace::call(
            Capability::MarketingEvents,
            &m.connector,
            m.source.track(&s.cx, std::slice::from_ref(&event)),
        )
        .await
        .map_err(|e| connector_error(&e))?;
        sent_to.push(m.connector.to_string());
    }
    Ok(TrackResult {
        accepted: true,
        sent_to,
        skipped_reason: None,
    })
}

fn event(
    cx: &RequestContext,
    id: String,
    customer: CustomerNumber,
    kind: model::EventKind,
) -> model::CustomerEvent {
    model::CustomerEvent {
        id,
        customer,
        email: None,
        kind,
        occurred_at: chrono::Utc::now(),
        channel: cx.channel,
        store: cx.store.clone(),
        sku: None,
        value: None,
        properties: serde_json::json!({}),
    }
}

/// Writes that go through to the systems of record.
pub struct Mutation;

#[Object]
impl Mutation {
    /// Adds a product to a customer's wishlist, in the system that owns wishlists.
    async fn add_to_wishlist(
        &self,
        ctx: &Context<'_>,
        customer_number: String,
        sku: String,
        idempotency_key: String,
    ) -> Result<Wishlist> {
        let s = scope(ctx)?;
        let customer = CustomerNumber::new(customer_number.trim());
        s.may_access(Some(&customer))?;
        let w = served(&s.gateway.wishlists, "wishlists")?;
        let key = idempotency(&idempotency_key)?;
        let list = crate::trace::call(
            Capability::Wishlists,
            &w.connector,
            w.source
                .add_to_wishlist(&s.cx, &customer, &Sku::new(sku.trim()), key),
        )
        .await
        .map_err(|e| connector_error(&e))?;
        s.gateway
            .telemetry
            .record_event(s.cx.channel, ChannelEvent::WishlistAdd);
        Ok(Wishlist(list))
    }

    /// Removes a product from a customer's wishlist.
    async fn remove_from_wishlist(
        &self,
        ctx: &Context<'_>,
        customer_number: String,
        sku: String,
    ) -> Result<Wishlist> {
        let s = scope(ctx)?;
        let customer = CustomerNumber::new(customer_number.trim());
        s.may_access(Some(&customer))?;
        let w = served(&s.gateway.wishlists, "wishlists")?;
        crate::trace::call(
            Capability::Wishlists,
            &w.connector,
            w.source
                .remove_from_wishlist(&s.cx, &customer, &Sku::new(sku.trim())),
        )
        .await
        .map(Wishlist)
        .map_err(|e| connector_error(&e))
    }

    /// A store associate composes an offer for a customer, priced as that customer pays. The
    /// offer lives in the system of record; the marketing system is told to send it.
    async fn create_offer(
        &self,
        ctx: &Context<'_>,
        customer_number: String,
        lines: Vec<LineInput>,
        #[graphql(default = 14, validator(minimum = 1, maximum = 90))] valid_days: i32,
        idempotency_key: String,
    ) -> Result<Offer> {
        let s = scope(ctx)?;
        s.must_be_staff("compose offers")?;
        let customer = CustomerNumber::new(customer_number.trim());
        s.may_access(Some(&customer))?;
        let o = served(&s.gateway.offers, "offers")?;
        let key = idempotency(&idempotency_key)?;
        let draft = model::OfferDraft {
            customer,
            lines: self::lines(lines)?,
            store: s.cx.store.clone(),
            created_by: s.staff_id().map(str::to_owned),
            valid_until: chrono::Utc::now() + chrono::Duration::days(valid_days as i64),
        };
        let offer = crate::trace::call(
            Capability::Offers,
            &o.connector,
            o.source.create_offer(&s.cx, &draft, key),
        )
        .await
        .map_err(|e| connector_error(&e))?;
        s.gateway
            .telemetry
            .record_event(s.cx.channel, ChannelEvent::OfferCreated);
        let mut sent = event(
            &s.cx,
            format!("offer-{}", offer.number),
            offer.customer.clone(),
            model::EventKind::OfferSent,
        );
        sent.value = Some(offer.total);
        sent.properties =
            serde_json::json!({ "offer_number": offer.number, "valid_until": offer.valid_until });
        // Telling the marketing system is best effort: the offer exists either way.
        if let Err(e) = track(ctx, s, sent).await {
            ctx.add_error(ctx.set_error_path(e.into_server_error(ctx.item.pos)));
        }
        Ok(Offer(offer))
    }

    /// The customer converts an offer into an order, exactly once.
    async fn convert_offer(
        &self,
        ctx: &Context<'_>,
        number: String,
        idempotency_key: String,
    ) -> Result<Order> {
        let s = scope(ctx)?;
        s.may_look_up_customers()?;
        let o = served(&s.gateway.offers, "offers")?;
        let key = idempotency(&idempotency_key)?;
        // Whose offer it is decides who may convert it.
        let number = number.trim().to_owned();
        let owner = crate::trace::call(
            Capability::Offers,
            &o.connector,
            o.source.offers(&s.cx, std::slice::from_ref(&number)),
        )
        .await
        .map_err(|e| connector_error(&e))?
        .remove(&number)
        .map(|offer| offer.customer);
        match owner {
            Some(owner) => s.may_access(Some(&owner))?,
            None => {
                return Err(user_error(
                    errors::NOT_FOUND,
                    format!("no offer has number `{number}`"),
                ))
            }
        }
        let order = crate::trace::call(
            Capability::Offers,
            &o.connector,
            o.source.convert_offer(&s.cx, &number, key),
        )
        .await
        .map_err(|e| connector_error(&e))?;
        s.gateway
            .telemetry
            .record_event(s.cx.channel, ChannelEvent::OfferConverted);
        s.gateway
            .telemetry
            .record_event(s.cx.channel, ChannelEvent::OrderPlaced);
        Ok(Order(Arc::new(order)))
    }

    /// Places an order: home delivery, click and collect (reserving the store's stock) or ship
    /// from store.
    async fn place_order(
        &self,
        ctx: &Context<'_>,
        customer_number: String,
        lines: Vec<LineInput>,
        fulfilment: FulfilmentInput,
        idempotency_key: String,
    ) -> Result<Order> {
        let s = scope(ctx)?;
        let customer = CustomerNumber::new(customer_number.trim());
        s.may_access(Some(&customer))?;
        let sink = served(&s.gateway.order_placement, "order placement")?;
        let key = idempotency(&idempotency_key)?;
        let draft = model::OrderDraft {
            customer,
            lines: self::lines(lines)?,
            fulfilment: self::fulfilment(fulfilment)?,
        };
        let collect = matches!(draft.fulfilment, model::Fulfilment::ClickAndCollect(_));
        let order = crate::trace::call(
            Capability::OrderPlacement,
            &sink.connector,
            sink.source.place_order(&s.cx, &draft, key),
        )
        .await
        .map_err(|e| connector_error(&e))?;
        s.gateway
            .telemetry
            .record_event(s.cx.channel, ChannelEvent::OrderPlaced);
        if collect {
            s.gateway
                .telemetry
                .record_event(s.cx.channel, ChannelEvent::ClickAndCollectReservation);
        }
        // Reserved stock must show at once: forget the cached stock of what was ordered.
        for l in &draft.lines {
            s.gateway.caches.stock_changed(&l.sku);
        }
        Ok(Order(Arc::new(order)))
    }

    /// Redeems a loyalty voucher, exactly once (typically at the till).
    async fn redeem_voucher(
        &self,
        ctx: &Context<'_>,
        code: String,
        idempotency_key: String,
    ) -> Result<Voucher> {
        let s = scope(ctx)?;
        s.must_be_staff("redeem vouchers")?;
        let v = served(&s.gateway.vouchers, "vouchers")?;
        let key = idempotency(&idempotency_key)?;
        crate::trace::call(
            Capability::Vouchers,
            &v.connector,
            v.source.redeem_voucher(&s.cx, code.trim(), key),
        )
        .await
        .map(Voucher)
        .map_err(|e| connector_error(&e))
    }

    /// Records a touchpoint event and forwards it to the marketing system(s) in their own event
    /// format, unless the customer has not consented to marketing.
    async fn track_event(&self, ctx: &Context<'_>, input: TrackEventInput) -> Result<TrackResult> {
        let s = scope(ctx)?;
        let customer = match (input.customer_number, input.email) {
            (Some(n), _) => {
                let n = CustomerNumber::new(n.trim());
                s.may_access(Some(&n))?;
                n
            }
            (None, Some(e)) => {
                let key = MatchKey::email(&e).ok_or_else(|| {
                    user_error(
                        errors::BAD_USER_INPUT,
                        format!("`{e}` is not an e-mail address"),
                    )
                })?;
                match super::customer::find(ctx, key)
                    .await?
                    .and_then(|c: Customer| c.0.number.clone())
                {
                    Some(n) => n,
                    None => {
                        return Ok(TrackResult {
                            accepted: false,
                            sent_to: vec![],
                            skipped_reason: Some("unknown customer".into()),
                        })
                    }
                }
            }
            (None, None) => {
                return Err(user_error(
                    errors::BAD_USER_INPUT,
                    "give `customerNumber` or `email`",
                ))
            }
        };
        let kind = match input.kind {
            EventKind::ProductViewed => model::EventKind::ProductViewed,
            EventKind::Wishlisted => model::EventKind::Wishlisted,
            EventKind::BasketChanged => model::EventKind::BasketChanged,
            EventKind::StoreVisit => model::EventKind::StoreVisit,
            EventKind::Purchase => model::EventKind::Purchase,
        };
        let mut e = event(&s.cx, input.id, customer, kind);
        e.sku = input.sku.map(|x| Sku::new(x.trim()));
        e.value = input.value.map(|v| model::Money::new(v, s.cx.currency));
        e.properties = input
            .properties
            .map(|j| j.0)
            .unwrap_or_else(|| serde_json::json!({}));
        track(ctx, s, e).await
    }
}

/// Queries for the journeys.
pub async fn offer(ctx: &Context<'_>, number: &str) -> Result<Option<Offer>> {
    let s = scope(ctx)?;
    s.may_look_up_customers()?;
    let o = served(&s.gateway.offers, "offers")?;
    let mut found = crate::trace::call(
        Capability::Offers,
        &o.connector,
        o.source.offers(&s.cx, &[number.trim().to_owned()]),
    )
    .await
    .map_err(|e| connector_error(&e))?;
    let found = found.remove(number.trim());
    if let Some(offer) = &found {
        s.may_access(Some(&offer.customer))?;
    }
    Ok(found.map(Offer))
}

/// A voucher by code.
pub async fn voucher(ctx: &Context<'_>, code: &str) -> Result<Option<Voucher>> {
    let s = scope(ctx)?;
    s.may_look_up_customers()?;
    let v = served(&s.gateway.vouchers, "vouchers")?;
    let found = crate::trace::call(
        Capability::Vouchers,
        &v.connector,
        v.source.voucher(&s.cx, code.trim()),
    )
    .await
    .map_err(|e| connector_error(&e))?;
    if let Some(voucher) = &found {
        s.may_access(Some(&voucher.customer))?;
    }
    Ok(found.map(Voucher))
}
