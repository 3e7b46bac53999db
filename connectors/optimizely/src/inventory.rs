//! Stock per location: `GET /entries/{entryCode}/inventories` returns a variation's
//! `WarehouseInventory` in every warehouse (warehouse code = location id). One request per SKU
//! (the Service API has no multi-entry read), `max_concurrent_requests` at a time. On hand is
//! `InStockQuantity`, reserved is `ReservedQuantity`; an unknown SKU (404) is absent.

use crate::client::{OptimizelyClient, WireInventory};
use crate::mapping::stock_level;
use samlet_connector::prelude::*;
use std::collections::BTreeSet;

#[async_trait]
impl InventorySource for OptimizelyClient {
    async fn stock(
        &self,
        _cx: &RequestContext,
        skus: &[Sku],
    ) -> ConnectorResult<HashMap<Sku, Vec<StockLevel>>> {
        let codes: Vec<Sku> = skus
            .iter()
            .cloned()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let found: Vec<(Sku, Vec<WireInventory>)> = self
            .each(codes, "entries/{entryCode}/inventories", |s| {
                self.url(&["entries", s.as_str(), "inventories"], &[])
            })
            .await?;
        found
            .into_iter()
            .map(|(sku, rows)| {
                let levels = rows
                    .iter()
                    .filter(|r| !r.warehouse_code.trim().is_empty())
                    .map(stock_level)
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| {
                        self.error(
                            ErrorKind::InvalidResponse,
                            format!("entries/{sku}/inventories: {e}"),
                        )
                    })?;
                Ok((sku, levels))
            })
            .collect()
    }
}
