//! `PriceSource` over Vendure channels: each price list is a channel (online, in-store, and
//! one per customer group such as B2B) holding one price per variant and currency.
//!
//! One request per batch (cut at `page_size` SKUs): `productVariants` filtered by `sku` `in`,
//! with each variant's `prices { currencyCode price customFields { regularPrice } }` in the
//! channel the `vendure-token` header selects, and the same request reads the channel's
//! `pricesIncludeTax`. The request's currency picks one of the prices; a variant without a
//! price in that currency, or not sold in the channel, is absent.

use crate::client::{chunked, VendureClient, WireList, WireVariant};
use crate::config::{CustomFieldNames, PriceChannels, VendureConfig};
use crate::mapping::Rules;
use samlet_connector::prelude::*;
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

/// The Vendure price source of one connector instance.
pub(crate) struct VendurePrices {
    client: Arc<VendureClient>,
    channels: PriceChannels,
    languages: BTreeMap<String, Locale>,
    fields: CustomFieldNames,
    page_size: u32,
    query: String,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct PricesData {
    active_channel: ActiveChannel,
    product_variants: WireList<WireVariant>,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct ActiveChannel {
    prices_include_tax: bool,
}

impl VendurePrices {
    pub(crate) fn new(client: Arc<VendureClient>, config: &VendureConfig) -> VendurePrices {
        let regular = &config.custom_fields.regular_price;
        VendurePrices {
            client,
            channels: config.price_channels.clone(),
            languages: config.languages.clone(),
            fields: config.custom_fields.clone(),
            page_size: config.page_size,
            query: format!(
                "query Prices($skus: [String!]!, $take: Int!) {{ activeChannel {{ pricesIncludeTax }} \
                 productVariants(options: {{filter: {{sku: {{in: $skus}}}}, take: $take}}) {{ totalItems \
                 items {{ sku prices {{ currencyCode price customFields {{ {regular} }} }} }} }} }}"
            ),
        }
    }
}

#[async_trait]
impl PriceSource for VendurePrices {
    async fn prices(
        &self,
        cx: &RequestContext,
        skus: &[Sku],
    ) -> ConnectorResult<HashMap<Sku, Price>> {
        let wanted: HashSet<&str> = skus.iter().map(Sku::as_str).collect();
        let keys: Vec<&str> = wanted.iter().copied().collect();
        let (token, group) = self.channels.token_for(
            cx.channel.price_channel(),
            cx.customer_group.as_ref().map(CustomerGroup::as_str),
        );
        let pages = chunked(&keys, self.page_size as usize, |chunk| async move {
            let variables = serde_json::json!({ "skus": chunk, "take": chunk.len() });
            self.client
                .query::<PricesData>(token, &self.query, variables, "prices")
                .await
        })
        .await?;
        let rules = Rules {
            languages: &self.languages,
            category_facet: "",
            fields: &self.fields,
        };
        let mut out = HashMap::with_capacity(wanted.len());
        for page in pages {
            let tax_included = page.active_channel.prices_include_tax;
            for v in page.product_variants.items {
                if !wanted.contains(v.sku.as_str()) {
                    continue;
                }
                let price = rules
                    .price(&v.prices, cx.currency, tax_included, group)
                    .map_err(|e| {
                        ConnectorError::new(
                            ErrorKind::InvalidResponse,
                            self.client.name(),
                            format!("prices of {}: {e}", v.sku),
                        )
                    })?;
                if let Some(price) = price {
                    out.insert(Sku::new(v.sku), price);
                }
            }
        }
        Ok(out)
    }
}
