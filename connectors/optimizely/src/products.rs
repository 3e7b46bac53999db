//! `ProductSource` over the catalog: a gateway product is an Optimizely *product* entry (code =
//! product id), its variants are the product's *variation* entries (code = SKU), linked through
//! `ChildCatalogEntries`.
//!
//! The Service API returns one entry per `GET /entries/{code}` and has no filter on several
//! codes, so a batch costs one request per product plus one per variation, run
//! `max_concurrent_requests` at a time. By SKU costs one request per SKU first (its
//! `ParentCatalogEntry` names the product), then the products and their other variations.
//! Listing pages through `GET /entries/{startPage}/{pageSize}`, which returns products and
//! variations in catalog order: variations on the same page are used as they are, and only
//! those beyond the page's end are fetched one by one.

use crate::client::{OptimizelyClient, WireEntry};
use crate::mapping::{self, child_codes, is_product, is_variation, link_code};
use samlet_connector::prelude::*;
use std::collections::HashSet;

/// Marks cursors of this connector version, so a foreign or stale cursor is refused.
const CURSOR_PREFIX: &str = "op1.";
/// Pages of variations only are skipped; a listing call reads at most this many pages.
const MAX_PAGES_PER_CALL: u32 = 20;

fn distinct(keys: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut seen = HashSet::new();
    keys.into_iter()
        .filter(|k| seen.insert(k.clone()))
        .collect()
}

/// `op1.{pageSize}.{startPage}`: the page size is part of the cursor because pages are
/// positional; the next call must ask for the same size.
fn encode_cursor(page_size: u32, start_page: u32) -> String {
    format!("{CURSOR_PREFIX}{page_size}.{start_page}")
}

fn decode_cursor(cursor: &str, max_page_size: u32) -> Option<(u32, u32)> {
    let (size, page) = cursor.strip_prefix(CURSOR_PREFIX)?.split_once('.')?;
    let size: u32 = size.parse().ok()?;
    let page: u32 = page.parse().ok()?;
    (1..=max_page_size).contains(&size).then_some((size, page))
}

impl OptimizelyClient {
    /// Entries by code, keyed by the code asked for; codes the site does not know are absent.
    async fn entries(&self, codes: Vec<String>) -> ConnectorResult<HashMap<String, WireEntry>> {
        let found = self
            .each(codes, "entries/{entryCode}", |c| {
                self.url(&["entries", c.as_str()], &[])
            })
            .await?;
        Ok(found.into_iter().collect())
    }

    /// Whole products from product entries (in order); `known` holds variation entries
    /// already read, the others are fetched.
    async fn assemble(
        &self,
        products: &[WireEntry],
        mut known: HashMap<String, WireEntry>,
    ) -> ConnectorResult<Vec<Product>> {
        let missing = distinct(
            products
                .iter()
                .flat_map(child_codes)
                .filter(|c| !known.contains_key(c)),
        );
        known.extend(self.entries(missing).await?);
        let absolute = |href: &str| self.absolute(href);
        Ok(products
            .iter()
            .map(|p| {
                let codes = child_codes(p);
                let variants: Vec<&WireEntry> = codes
                    .iter()
                    .filter_map(|c| known.get(c))
                    .filter(|v| is_variation(v))
                    .collect();
                mapping::product(self.config(), p, &variants, &absolute)
            })
            .collect())
    }
}

#[async_trait]
impl ProductSource for OptimizelyClient {
    async fn products(
        &self,
        _cx: &RequestContext,
        ids: &[ProductId],
    ) -> ConnectorResult<HashMap<ProductId, Product>> {
        let codes = distinct(ids.iter().map(|i| i.as_str().to_owned()));
        let found = self.entries(codes).await?;
        let (asked, entries): (Vec<String>, Vec<WireEntry>) = found
            .into_iter()
            .filter(|(_, e)| is_product(e) && e.is_active)
            .unzip();
        let products = self.assemble(&entries, HashMap::new()).await?;
        Ok(asked
            .into_iter()
            .map(ProductId::new)
            .zip(products)
            .collect())
    }

    async fn products_by_sku(
        &self,
        _cx: &RequestContext,
        skus: &[Sku],
    ) -> ConnectorResult<HashMap<Sku, Product>> {
        let codes = distinct(skus.iter().map(|s| s.as_str().to_owned()));
        let variations: HashMap<String, WireEntry> = self
            .entries(codes)
            .await?
            .into_iter()
            .filter(|(_, e)| is_variation(e))
            .collect();
        let parent_of: HashMap<String, String> = variations
            .iter()
            .filter_map(|(sku, e)| {
                Some((sku.clone(), link_code(e.parent_catalog_entry.as_ref()?)?))
            })
            .collect();
        let parents: Vec<WireEntry> = self
            .entries(distinct(parent_of.values().cloned()))
            .await?
            .into_values()
            .filter(|e| is_product(e) && e.is_active)
            .collect();
        let known: HashMap<String, WireEntry> = variations
            .into_values()
            .map(|e| (e.code.clone(), e))
            .collect();
        let products = self.assemble(&parents, known).await?;
        let by_code: HashMap<&str, &Product> =
            products.iter().map(|p| (p.id.as_str(), p)).collect();
        let mut out = HashMap::new();
        for (sku, parent) in &parent_of {
            let sku = Sku::new(sku.clone());
            if let Some(p) = by_code.get(parent.as_str()) {
                // An inactive variation is not part of its product, so it finds nothing.
                if p.variant(&sku).is_some() {
                    out.insert(sku, (*p).clone());
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
        let max = self.config().page_size;
        let (size, mut start) = match &page.after {
            None => ((page.first.clamp(1, max as usize)) as u32, 0),
            Some(cursor) => decode_cursor(cursor, max).ok_or_else(|| {
                self.error(
                    ErrorKind::BadRequest,
                    "the `after` cursor was not issued by this connector",
                )
            })?,
        };
        for _ in 0..MAX_PAGES_PER_CALL {
            let (start_s, size_s) = (start.to_string(), size.to_string());
            let url = self.url(&["entries", &start_s, &size_s], &[]);
            let entries: Vec<WireEntry> = self
                .get_json(url, "entries/{startPage}/{pageSize}")
                .await?
                .unwrap_or_default();
            let next = (entries.len() >= size as usize).then(|| encode_cursor(size, start + 1));
            let (products, others): (Vec<WireEntry>, Vec<WireEntry>) =
                entries.into_iter().partition(is_product);
            let products: Vec<WireEntry> = products.into_iter().filter(|p| p.is_active).collect();
            if products.is_empty() && next.is_some() {
                start += 1;
                continue;
            }
            let known = others
                .into_iter()
                .filter(is_variation)
                .map(|e| (e.code.clone(), e))
                .collect();
            let items = self.assemble(&products, known).await?;
            return Ok(Page { items, next });
        }
        // A long run of pages without a product: stop rather than read the whole catalogue in
        // one call (an empty page may not link onward).
        Err(self.error(
            ErrorKind::InvalidResponse,
            format!(
                "entries: {MAX_PAGES_PER_CALL} consecutive pages of {size} entries hold no product"
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_carry_page_size_and_page_and_refuse_foreign_ones() {
        let c = encode_cursor(500, 3);
        assert_eq!(decode_cursor(&c, 500), Some((500, 3)));
        assert_eq!(decode_cursor(&c, 100), None);
        assert_eq!(decode_cursor("ak1.xyz", 500), None);
        assert_eq!(decode_cursor("op1.0.1", 500), None);
        assert_eq!(decode_cursor("op1.5", 500), None);
    }
}
