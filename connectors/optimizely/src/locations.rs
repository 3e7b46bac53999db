//! Locations: `GET /warehouses` lists every warehouse in one request; inactive ones are left
//! out. Stores and distribution centres are told apart by their flags (see
//! [`crate::mapping::location`]).

use crate::client::{OptimizelyClient, WireWarehouse};
use crate::mapping;
use samlet_connector::prelude::*;

#[async_trait]
impl LocationSource for OptimizelyClient {
    async fn locations(&self, _cx: &RequestContext) -> ConnectorResult<Vec<Location>> {
        let rows: Vec<WireWarehouse> = self
            .get_json(self.url(&["warehouses"], &[]), "warehouses")
            .await?
            .unwrap_or_default();
        Ok(rows
            .iter()
            .filter(|w| w.is_active && !w.code.trim().is_empty())
            .map(mapping::location)
            .collect())
    }
}
