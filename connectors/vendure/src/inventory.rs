//! `InventorySource` over Vendure's per-location stock (Vendure 2+ `StockLocation`s).
//!
//! One request per batch (cut at `page_size` SKUs): `productVariants` filtered by `sku` `in`,
//! with each variant's `stockLevels { stockOnHand stockAllocated stockLocation { id
//! customFields { code } } }`, so the location codes arrive in the same answer.
//! `stockOnHand` is on hand, `stockAllocated` (units allocated to placed orders) is reserved.

use crate::client::{chunked, VendureClient, WireList, WireVariant};
use crate::config::{CustomFieldNames, VendureConfig};
use crate::mapping::Rules;
use samlet_connector::prelude::*;
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

/// The Vendure inventory source of one connector instance.
pub(crate) struct VendureInventory {
    client: Arc<VendureClient>,
    channel_token: String,
    languages: BTreeMap<String, Locale>,
    fields: CustomFieldNames,
    page_size: u32,
    query: String,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct StockData {
    product_variants: WireList<WireVariant>,
}

impl VendureInventory {
    pub(crate) fn new(client: Arc<VendureClient>, config: &VendureConfig) -> VendureInventory {
        let code = &config.custom_fields.location_code;
        VendureInventory {
            client,
            channel_token: config.channel_token.clone(),
            languages: config.languages.clone(),
            fields: config.custom_fields.clone(),
            page_size: config.page_size,
            query: format!(
                "query Stock($skus: [String!]!, $take: Int!) {{ productVariants(options: \
                 {{filter: {{sku: {{in: $skus}}}}, take: $take}}) {{ totalItems items {{ sku \
                 stockLevels {{ stockLocationId stockOnHand stockAllocated \
                 stockLocation {{ id customFields {{ {code} }} }} }} }} }} }}"
            ),
        }
    }
}

#[async_trait]
impl InventorySource for VendureInventory {
    async fn stock(
        &self,
        _cx: &RequestContext,
        skus: &[Sku],
    ) -> ConnectorResult<HashMap<Sku, Vec<StockLevel>>> {
        let wanted: HashSet<&str> = skus.iter().map(Sku::as_str).collect();
        let keys: Vec<&str> = wanted.iter().copied().collect();
        let pages = chunked(&keys, self.page_size as usize, |chunk| async move {
            let variables = serde_json::json!({ "skus": chunk, "take": chunk.len() });
            self.client
                .query::<StockData>(&self.channel_token, &self.query, variables, "stock")
                .await
        })
        .await?;
        let rules = Rules {
            languages: &self.languages,
            category_facet: "",
            fields: &self.fields,
        };
        Ok(pages
            .into_iter()
            .flat_map(|p| p.product_variants.items)
            .filter(|v| wanted.contains(v.sku.as_str()))
            .map(|v| {
                let levels = v
                    .stock_levels
                    .iter()
                    .map(|s| rules.stock_level(s))
                    .collect();
                (Sku::new(v.sku), levels)
            })
            .collect())
    }
}
