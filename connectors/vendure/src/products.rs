//! `ProductSource` over Vendure's Admin API `products` list query.
//!
//! One GraphQL request answers a whole batch: products by code filter on the product-code custom
//! field with `in`, products by SKU use the product list's `sku` filter (Vendure joins the
//! variants) with `in`, and each answer carries the product's translations, facet values,
//! assets and variants with their options and assets. Batches are cut at `page_size` keys (the
//! list's `take`, capped at the server's `adminListQueryLimit`). Listing pages with
//! `skip`/`take` sorted by id; the cursor wraps the offset.

use crate::client::{chunked, VendureClient, WireList, WireProduct};
use crate::config::{CustomFieldNames, VendureConfig};
use crate::mapping::Rules;
use samlet_connector::prelude::*;
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

/// Marks cursors of this connector version, so a foreign or stale cursor is refused.
const CURSOR_PREFIX: &str = "vdr1.";

/// The Vendure product source of one connector instance.
pub(crate) struct VendureProducts {
    client: Arc<VendureClient>,
    channel_token: String,
    languages: BTreeMap<String, Locale>,
    category_facet: String,
    fields: CustomFieldNames,
    page_size: u32,
    by_code: String,
    by_sku: String,
    list: String,
}

/// `{ products: PaginatedList }`.
#[derive(serde::Deserialize)]
struct ProductsData {
    products: WireList<WireProduct>,
}

impl VendureProducts {
    pub(crate) fn new(client: Arc<VendureClient>, config: &VendureConfig) -> VendureProducts {
        let fields = product_selection(&config.custom_fields);
        let code = &config.custom_fields.product_code;
        VendureProducts {
            client,
            channel_token: config.channel_token.clone(),
            languages: config.languages.clone(),
            category_facet: config.category_facet.clone(),
            fields: config.custom_fields.clone(),
            page_size: config.page_size,
            by_code: format!(
                "query ProductsByCode($keys: [String!]!, $take: Int!) {{ products(options: \
                 {{filter: {{{code}: {{in: $keys}}}}, take: $take}}) {{ totalItems items {{ {fields} }} }} }}"
            ),
            by_sku: format!(
                "query ProductsBySku($keys: [String!]!, $take: Int!) {{ products(options: \
                 {{filter: {{sku: {{in: $keys}}}}, take: $take}}) {{ totalItems items {{ {fields} }} }} }}"
            ),
            list: format!(
                "query ProductList($skip: Int!, $take: Int!) {{ products(options: \
                 {{skip: $skip, take: $take, sort: {{id: ASC}}}}) {{ totalItems items {{ {fields} }} }} }}"
            ),
        }
    }

    fn rules(&self) -> Rules<'_> {
        Rules {
            languages: &self.languages,
            category_facet: &self.category_facet,
            fields: &self.fields,
        }
    }

    /// The products `query` finds for `keys`, one request per `page_size` keys.
    async fn where_in(&self, query: &str, keys: &[&str]) -> ConnectorResult<Vec<WireProduct>> {
        let pages = chunked(keys, self.page_size as usize, |chunk| async move {
            let variables = serde_json::json!({ "keys": chunk, "take": chunk.len() });
            let data: ProductsData = self
                .client
                .query(&self.channel_token, query, variables, "products")
                .await?;
            Ok(data.products.items)
        })
        .await?;
        Ok(pages.into_iter().flatten().collect())
    }
}

/// The product fields the connector maps, as a GraphQL selection.
fn product_selection(fields: &CustomFieldNames) -> String {
    let asset = "{ name source }";
    let names = "{ languageCode name }";
    format!(
        "slug updatedAt customFields {{ {code} }} \
         translations {{ languageCode name description }} \
         facetValues {{ code facet {{ code }} translations {names} }} \
         featuredAsset {asset} assets {asset} \
         variants {{ id sku translations {names} \
         options {{ group {{ code }} translations {names} }} \
         featuredAsset {asset} assets {asset} }}",
        code = fields.product_code
    )
}

fn encode_cursor(skip: u64) -> String {
    format!("{CURSOR_PREFIX}{skip}")
}

fn decode_cursor(name: &ConnectorName, cursor: &str) -> ConnectorResult<u64> {
    cursor
        .strip_prefix(CURSOR_PREFIX)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| {
            ConnectorError::new(
                ErrorKind::BadRequest,
                name,
                "not a cursor of this Vendure connector",
            )
        })
}

#[async_trait]
impl ProductSource for VendureProducts {
    async fn products(
        &self,
        _cx: &RequestContext,
        ids: &[ProductId],
    ) -> ConnectorResult<HashMap<ProductId, Product>> {
        let wanted: HashSet<&str> = ids.iter().map(ProductId::as_str).collect();
        let keys: Vec<&str> = wanted.iter().copied().collect();
        let found = self.where_in(&self.by_code, &keys).await?;
        let rules = self.rules();
        Ok(found
            .iter()
            .filter(|p| wanted.contains(rules.product_id(p).as_str()))
            .map(|p| {
                let product = rules.product(p);
                (product.id.clone(), product)
            })
            .collect())
    }

    async fn products_by_sku(
        &self,
        _cx: &RequestContext,
        skus: &[Sku],
    ) -> ConnectorResult<HashMap<Sku, Product>> {
        let wanted: HashSet<&Sku> = skus.iter().collect();
        let keys: Vec<&str> = wanted.iter().map(|s| s.as_str()).collect();
        let found = self.where_in(&self.by_sku, &keys).await?;
        let rules = self.rules();
        let mut out = HashMap::with_capacity(wanted.len());
        for p in &found {
            let product = rules.product(p);
            for v in &product.variants {
                if wanted.contains(&v.sku) {
                    out.insert(v.sku.clone(), product.clone());
                }
            }
        }
        Ok(out)
    }

    async fn list_products(
        &self,
        _cx: &RequestContext,
        page: &PageRequest,
    ) -> ConnectorResult<Page<Product>> {
        let skip = match &page.after {
            Some(cursor) => decode_cursor(self.client.name(), cursor)?,
            None => 0,
        };
        let take = page.first.clamp(1, self.page_size as usize);
        let variables = serde_json::json!({ "skip": skip, "take": take });
        let data: ProductsData = self
            .client
            .query(&self.channel_token, &self.list, variables, "product list")
            .await?;
        let list = data.products;
        let rules = self.rules();
        let got = list.items.len() as u64;
        let next = (got > 0 && skip + got < list.total_items).then(|| encode_cursor(skip + got));
        Ok(Page {
            items: list.items.iter().map(|p| rules.product(p)).collect(),
            next,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_foreign_ones_are_refused() {
        let name = ConnectorName::new("shop");
        assert_eq!(decode_cursor(&name, &encode_cursor(300)).unwrap(), 300);
        let e = decode_cursor(&name, "ak1.abc").unwrap_err();
        assert_eq!(e.kind, ErrorKind::BadRequest);
    }

    #[test]
    fn the_selection_reads_the_configured_code_field() {
        let f = CustomFieldNames {
            product_code: "sharedCode".into(),
            ..CustomFieldNames::default()
        };
        assert!(product_selection(&f).contains("customFields { sharedCode }"));
    }
}
