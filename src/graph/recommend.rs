//! `Product.accessories` and `Customer.recommendations`: computed per request from the PIM's
//! categories and the customer's orders and wishlist (see [`crate::recommend`] for the rules),
//! with each category's candidates from the shared product cache.

use super::errors::{self, connector_error};
use super::loaders::{CategoryKey, CustomerOrders, ProductBySku};
use super::product::Variant;
use super::scope;
use crate::gateway::CategoryProducts;
use crate::recommend::{self, Seed, SeedKind};
use async_graphql::{Context, Enum, Result, SimpleObject};
use samlet_connector::ids::{CustomerNumber, Sku};
use samlet_connector::model;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// A product suggested to go with another.
#[derive(SimpleObject)]
pub struct Accessory {
    /// The variant suggested: the one sharing the product's colour where there is one.
    pub variant: Variant,
    /// Whether it shares the colour (the configured match attribute) of the product asked about.
    pub matching: bool,
    /// The complement category it comes from, e.g. `textiles`.
    pub category: String,
}

/// Why something is recommended.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum RecommendationReason {
    /// It goes with something on the customer's wishlist.
    Wishlisted,
    /// It goes with something the customer bought.
    Purchased,
}

/// A personal recommendation.
#[derive(SimpleObject)]
pub struct Recommendation {
    /// The variant recommended.
    pub variant: Variant,
    /// Whether the SKU it is based on was wishlisted or purchased.
    pub reason: RecommendationReason,
    /// The SKU (wishlisted or purchased) that weighed most for it.
    pub based_on: String,
    /// The summed weight of every wishlisted (2) and purchased (1) SKU it goes with.
    pub score: i32,
}

/// Each complement category's candidates, one batch through the category cache.
async fn candidates(
    ctx: &Context<'_>,
    categories: HashSet<String>,
) -> Result<HashMap<String, CategoryProducts>> {
    let s = scope(ctx)?;
    let got = s
        .loader
        .load_many(categories.into_iter().map(CategoryKey))
        .await
        .map_err(|e| connector_error(&e))?;
    Ok(got.into_iter().map(|(k, v)| (k.0, v)).collect())
}

/// The first `first` accessories of `product` as seen from `variant`.
pub async fn accessories_of(
    ctx: &Context<'_>,
    product: &Arc<model::Product>,
    variant: Option<&model::Variant>,
    first: usize,
) -> Result<Vec<Accessory>> {
    let config = &scope(ctx)?.gateway.recommendations;
    let wanted = config
        .complements_of(&product.categories)
        .into_iter()
        .map(str::to_owned)
        .collect::<HashSet<_>>();
    if wanted.is_empty() || first == 0 {
        return Ok(Vec::new());
    }
    let found = candidates(ctx, wanted).await?;
    Ok(recommend::accessories(config, product, variant, &found)
        .into_iter()
        .take(first)
        .map(|s| Accessory {
            variant: Variant {
                product: s.product,
                sku: s.sku,
            },
            matching: s.matches,
            category: s.category,
        })
        .collect())
}

/// The first `first` recommendations for `customer`, who must be the caller (or someone the
/// caller may act for).
pub async fn recommendations_for(
    ctx: &Context<'_>,
    customer: &CustomerNumber,
    first: usize,
) -> Result<Vec<Recommendation>> {
    let s = scope(ctx)?;
    s.may_access(Some(customer))?;
    let config = &s.gateway.recommendations;
    let (orders, wishlist) = futures::join!(
        s.loader
            .load_one(CustomerOrders(customer.clone(), config.recent_orders)),
        async {
            match &s.gateway.wishlists {
                Some(w) => crate::trace::call(
                    samlet_connector::capability::Capability::Wishlists,
                    &w.connector,
                    w.source.wishlist(&s.cx, customer),
                )
                .await
                .map(Some),
                None => Ok(None),
            }
        },
    );
    let orders = orders.map_err(|e| connector_error(&e))?.unwrap_or_default();
    let wishlist = wishlist.map_err(|e| connector_error(&e))?;
    // Seeds: the wishlist newest first, then the latest orders' lines newest first.
    let mut seen = HashSet::new();
    let mut seeds: Vec<(Sku, SeedKind)> = Vec::new();
    let wished = wishlist.iter().flat_map(|w| w.items.iter().rev());
    for item in wished {
        if seen.insert(item.sku.clone()) {
            seeds.push((item.sku.clone(), SeedKind::Wishlisted));
        }
    }
    for line in orders.iter().flat_map(|o| &o.lines) {
        if seen.insert(line.sku.clone()) {
            seeds.push((line.sku.clone(), SeedKind::Purchased));
        }
    }
    if seeds.is_empty() || first == 0 {
        return Ok(Vec::new());
    }
    let products = s
        .loader
        .load_many(seeds.iter().map(|(sku, _)| ProductBySku(sku.clone())))
        .await
        .map_err(|e| connector_error(&e))?;
    // A SKU the PIM no longer knows seeds nothing.
    let seeds: Vec<Seed> = seeds
        .into_iter()
        .filter_map(|(sku, kind)| {
            let product = products.get(&ProductBySku(sku.clone()))?.clone();
            Some(Seed { sku, product, kind })
        })
        .collect();
    let wanted: HashSet<String> = seeds
        .iter()
        .flat_map(|seed| config.complements_of(&seed.product.categories))
        .map(str::to_owned)
        .collect();
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    let found = candidates(ctx, wanted).await?;
    Ok(recommend::recommend(config, &seeds, &found, first)
        .into_iter()
        .take(first)
        .map(|r| Recommendation {
            variant: Variant {
                product: r.suggestion.product,
                sku: r.suggestion.sku,
            },
            reason: match r.reason {
                SeedKind::Wishlisted => RecommendationReason::Wishlisted,
                SeedKind::Purchased => RecommendationReason::Purchased,
            },
            based_on: r.based_on.to_string(),
            score: i32::try_from(r.score).unwrap_or(i32::MAX),
        })
        .collect())
}

/// The variant `sku` of `product`, or a clear error.
pub fn variant_of<'a>(product: &'a model::Product, sku: &str) -> Result<&'a model::Variant> {
    product.variant(&Sku::new(sku)).ok_or_else(|| {
        errors::user_error(
            errors::BAD_USER_INPUT,
            format!("`{sku}` is not a variant of {}", product.id),
        )
    })
}
