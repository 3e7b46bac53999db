//! Locations: the extension's `locations` page, which carries the standard v2.0 location
//! fields plus `locationType` (Store or Warehouse) and `clickAndCollect`, neither of which
//! the standard entity has. One request; the list is small.

use crate::client::{entity, Api, BusinessCentralClient, Query, WireLocation};
use crate::mapping;
use samlet_connector::prelude::*;

#[async_trait]
impl LocationSource for BusinessCentralClient {
    async fn locations(&self, _cx: &RequestContext) -> ConnectorResult<Vec<Location>> {
        let rows: Vec<WireLocation> = self
            .collection(Api::Custom, entity::LOCATIONS, Query::default())
            .await?;
        rows.iter()
            .map(|w| {
                mapping::location(w).map_err(|e| {
                    ConnectorError::new(
                        ErrorKind::InvalidResponse,
                        self.name(),
                        format!("locations: {e}"),
                    )
                })
            })
            .collect()
    }
}
