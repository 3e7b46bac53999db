//! Stock per location: the extension's `itemStockByLocation` page (Item with its `Location
//! Filter` flow filter applied per location: inventory on hand and reserved quantity); the
//! standard v2.0 item only has the total `inventory`. One `itemNumber in (...)` request covers
//! a batch; every variant of the items comes back and the wanted SKUs are kept.

use crate::client::{entity, in_filters, Api, BusinessCentralClient, Query, WireItemStock, CODE20};
use crate::mapping::{item_of, sku_of, stock_level};
use futures::future::try_join_all;
use samlet_connector::prelude::*;
use std::collections::{BTreeSet, HashSet};

#[async_trait]
impl InventorySource for BusinessCentralClient {
    async fn stock(
        &self,
        _cx: &RequestContext,
        skus: &[Sku],
    ) -> ConnectorResult<HashMap<Sku, Vec<StockLevel>>> {
        let sep = self.config().variant_separator.as_str();
        let wanted: HashSet<&Sku> = skus.iter().collect();
        let items: Vec<String> = skus
            .iter()
            .map(|s| item_of(s, sep))
            .filter(|i| !i.is_empty() && i.len() <= CODE20)
            .map(str::to_owned)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let requests = in_filters("itemNumber", &items).into_iter().map(|filter| {
            self.collection::<WireItemStock>(
                Api::Custom,
                entity::ITEM_STOCK,
                Query {
                    filter: Some(filter),
                    ..Query::default()
                },
            )
        });
        let rows = try_join_all(requests).await?;
        let mut out: HashMap<Sku, Vec<StockLevel>> = HashMap::new();
        for row in rows.into_iter().flatten() {
            let sku = sku_of(row.item_number.trim(), row.variant_code.trim(), sep);
            if wanted.contains(&sku) {
                out.entry(sku).or_default().push(stock_level(&row));
            }
        }
        Ok(out)
    }
}
