//! `Product` and `Variant`: PIM data, localised for the request, with price and stock per
//! variant from their own capabilities (each batched through the request's loader).

use super::ids::{encode, NodeType};
use super::loaders::{Cached, PriceKey, StockKey};
use super::location::StockLevel;
use super::money::Price;
use super::{errors, scope};
use async_graphql::{Context, Object, Result, SimpleObject, ID};
use samlet_connector::context::Locale;
use samlet_connector::ids::Sku;
use samlet_connector::model::{self, LocalizedText};
use std::sync::Arc;

/// A localised text in one locale.
#[derive(SimpleObject, Clone)]
pub struct Translation {
    /// BCP 47 locale, e.g. `da-DK`.
    pub locale: String,
    /// The text.
    pub value: String,
}

fn translations(t: &LocalizedText) -> Vec<Translation> {
    t.0.iter()
        .map(|(l, v)| Translation {
            locale: l.to_string(),
            value: v.clone(),
        })
        .collect()
}

fn localise(ctx: &Context<'_>, t: &LocalizedText) -> Result<Option<String>> {
    let locale: &Locale = &scope(ctx)?.cx.locale;
    Ok(t.get(locale).map(str::to_owned))
}

/// A product attribute, in the request's locale.
#[derive(SimpleObject, Clone)]
pub struct Attribute {
    /// Attribute code, e.g. `material`.
    pub code: String,
    /// Value in the request's locale (or the nearest available).
    pub value: Option<String>,
}

fn attributes(ctx: &Context<'_>, attrs: &[model::Attribute]) -> Result<Vec<Attribute>> {
    attrs
        .iter()
        .map(|a| {
            Ok(Attribute {
                code: a.code.clone(),
                value: localise(ctx, &a.value)?,
            })
        })
        .collect()
}

/// An image.
#[derive(SimpleObject, Clone)]
pub struct Media {
    /// Download URL.
    pub url: String,
    /// The PIM's file code.
    pub code: String,
}

fn media(m: &[model::Media]) -> Vec<Media> {
    m.iter()
        .map(|m| Media {
            url: m.url.clone(),
            code: m.code.clone(),
        })
        .collect()
}

/// The price of `sku` in the request's context, through the prices loader.
pub async fn price_of(ctx: &Context<'_>, sku: &Sku) -> Result<Option<Price>> {
    let s = scope(ctx)?;
    let p = s
        .loader
        .load_one(PriceKey(sku.clone()))
        .await
        .map_err(|e| errors::connector_error(&e))?;
    s.mark_if_stale(
        ctx,
        &Cached::Price(sku.clone()),
        s.gateway.prices.connector.as_str(),
    );
    Ok(p.as_ref().map(Price::from))
}

/// Stock of `sku` per location, through the inventory loader.
pub async fn stock_of(ctx: &Context<'_>, sku: &Sku) -> Result<Vec<StockLevel>> {
    let s = scope(ctx)?;
    let levels = s
        .loader
        .load_one(StockKey(sku.clone()))
        .await
        .map_err(|e| errors::connector_error(&e))?;
    s.mark_if_stale(
        ctx,
        &Cached::Stock(sku.clone()),
        s.gateway.inventory.connector.as_str(),
    );
    Ok(levels
        .map(|l| l.iter().cloned().map(StockLevel).collect())
        .unwrap_or_default())
}

/// Which of price and stock a selection set asks for (directly or through `variants`).
pub fn wanted(ahead: &async_graphql::Lookahead<'_>) -> (bool, bool) {
    let wants = |f: &str| ahead.field(f).exists() || ahead.field("variants").field(f).exists();
    (wants("price"), wants("stock") || wants("available"))
}

/// Loads the prices and stock of `skus` as one batch each, into the request's cache, so the
/// fields that need them find them done. Failures are left for those fields to report.
pub async fn prefetch(ctx: &Context<'_>, skus: &[Sku], price: bool, stock: bool) {
    let Ok(s) = scope(ctx) else { return };
    futures::join!(
        async {
            if price {
                let _ = s.loader.load_many(skus.iter().cloned().map(PriceKey)).await;
            }
        },
        async {
            if stock {
                let _ = s.loader.load_many(skus.iter().cloned().map(StockKey)).await;
            }
        },
    );
}

/// A product with its variants, and the variant a query selected (by SKU), if any.
pub struct Product {
    data: Arc<model::Product>,
    selected: Option<Sku>,
}

impl Product {
    /// A product whose first variant stands for it.
    pub fn new(data: Arc<model::Product>) -> Product {
        Product {
            data,
            selected: None,
        }
    }

    /// A product found through one of its SKUs: that variant stands for it.
    pub fn selected(data: Arc<model::Product>, sku: Sku) -> Product {
        Product {
            data,
            selected: Some(sku),
        }
    }

    fn default_variant(&self) -> Option<&model::Variant> {
        self.selected
            .as_ref()
            .and_then(|s| self.data.variant(s))
            .or_else(|| self.data.variants.first())
    }
}

#[Object]
impl Product {
    /// Global id.
    pub async fn id(&self) -> ID {
        encode(NodeType::Product, self.data.id.as_str())
    }
    /// The PIM's product code, e.g. `P000042`.
    async fn code(&self) -> &str {
        self.data.id.as_str()
    }
    /// Name in the request's locale.
    async fn name(&self, ctx: &Context<'_>) -> Result<Option<String>> {
        localise(ctx, &self.data.name)
    }
    /// Description in the request's locale, for the request's channel.
    async fn description(&self, ctx: &Context<'_>) -> Result<Option<String>> {
        localise(ctx, &self.data.description)
    }
    /// The name in every locale the PIM holds.
    async fn name_translations(&self) -> Vec<Translation> {
        translations(&self.data.name)
    }
    /// Category codes.
    async fn categories(&self) -> &[String] {
        &self.data.categories
    }
    /// Attributes in the request's locale.
    async fn attributes(&self, ctx: &Context<'_>) -> Result<Vec<Attribute>> {
        attributes(ctx, &self.data.attributes)
    }
    /// Product images.
    async fn media(&self) -> Vec<Media> {
        media(&self.data.media)
    }
    /// Variants.
    async fn variants(&self) -> Vec<Variant> {
        self.data
            .variants
            .iter()
            .map(|v| Variant {
                product: self.data.clone(),
                sku: v.sku.clone(),
            })
            .collect()
    }
    /// The variant asked for by SKU (else the first variant).
    async fn selected_variant(&self) -> Option<Variant> {
        self.default_variant().map(|v| Variant {
            product: self.data.clone(),
            sku: v.sku.clone(),
        })
    }
    /// The selected variant's price in the request's context (what a listing shows).
    async fn price(&self, ctx: &Context<'_>) -> Result<Option<Price>> {
        match self.default_variant() {
            Some(v) => price_of(ctx, &v.sku).await,
            None => Ok(None),
        }
    }
    /// The selected variant's stock per location.
    async fn stock(&self, ctx: &Context<'_>) -> Result<Vec<StockLevel>> {
        match self.default_variant() {
            Some(v) => stock_of(ctx, &v.sku).await,
            None => Ok(Vec::new()),
        }
    }
    /// When the PIM last changed the product.
    async fn updated_at(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        self.data.updated_at
    }
    /// Matching accessories: products of the categories configured to go with this one's,
    /// each as the variant sharing the colour of `sku` (else of the selected variant), those
    /// that match first. Computed from the PIM's catalogue; nothing is stored.
    #[graphql(complexity = "super::limits::page_cost(first, child_complexity)")]
    async fn accessories(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 4, validator(minimum = 0, maximum = 20))] first: i32,
        sku: Option<String>,
    ) -> Result<Vec<super::recommend::Accessory>> {
        let variant = match &sku {
            Some(sku) => Some(super::recommend::variant_of(&self.data, sku)?),
            None => self.default_variant(),
        };
        super::recommend::accessories_of(ctx, &self.data, variant, first as usize).await
    }
}

/// A sellable variant.
pub struct Variant {
    /// The product it belongs to.
    pub product: Arc<model::Product>,
    /// Its SKU.
    pub sku: Sku,
}

impl Variant {
    fn data(&self) -> Option<&model::Variant> {
        self.product.variant(&self.sku)
    }
}

#[Object]
impl Variant {
    /// Global id.
    pub async fn id(&self) -> ID {
        encode(NodeType::Variant, self.sku.as_str())
    }
    /// The SKU.
    async fn sku(&self) -> &str {
        self.sku.as_str()
    }
    /// Name in the request's locale.
    async fn name(&self, ctx: &Context<'_>) -> Result<Option<String>> {
        match self.data() {
            Some(v) => localise(ctx, &v.name),
            None => Ok(None),
        }
    }
    /// Axis values (colour, size...) in the request's locale.
    async fn attributes(&self, ctx: &Context<'_>) -> Result<Vec<Attribute>> {
        attributes(
            ctx,
            self.data()
                .map(|v| v.attributes.as_slice())
                .unwrap_or_default(),
        )
    }
    /// Variant images.
    async fn media(&self) -> Vec<Media> {
        media(self.data().map(|v| v.media.as_slice()).unwrap_or_default())
    }
    /// Price in the request's channel, currency and customer group.
    async fn price(&self, ctx: &Context<'_>) -> Result<Option<Price>> {
        price_of(ctx, &self.sku).await
    }
    /// Stock per location.
    async fn stock(&self, ctx: &Context<'_>) -> Result<Vec<StockLevel>> {
        stock_of(ctx, &self.sku).await
    }
    /// Units available across all locations.
    async fn available(&self, ctx: &Context<'_>) -> Result<i64> {
        let mut total = 0;
        for l in stock_of(ctx, &self.sku).await? {
            total += l.0.available();
        }
        Ok(total)
    }
    /// The product.
    async fn product(&self) -> Product {
        Product::new(self.product.clone())
    }
}
