//! `LocationSource` over Vendure's Admin API `stockLocations`: every stock location of the
//! channel, `page_size` per request, sorted by id, with the custom fields that hold the
//! location's code, kind, address and click-and-collect flag.

use crate::client::{VendureClient, WireList, WireStockLocation};
use crate::config::{CustomFieldNames, VendureConfig};
use crate::mapping::Rules;
use samlet_connector::prelude::*;
use std::collections::BTreeMap;
use std::sync::Arc;

/// A paging loop that has not ended after this many pages is a server bug, not a chain of stores.
const MAX_PAGES: u64 = 1000;

/// The Vendure location source of one connector instance.
pub(crate) struct VendureLocations {
    client: Arc<VendureClient>,
    channel_token: String,
    languages: BTreeMap<String, Locale>,
    fields: CustomFieldNames,
    page_size: u32,
    query: String,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct LocationsData {
    stock_locations: WireList<WireStockLocation>,
}

impl VendureLocations {
    pub(crate) fn new(client: Arc<VendureClient>, config: &VendureConfig) -> VendureLocations {
        let fields = config.custom_fields.location_selection();
        VendureLocations {
            client,
            channel_token: config.channel_token.clone(),
            languages: config.languages.clone(),
            fields: config.custom_fields.clone(),
            page_size: config.page_size,
            query: format!(
                "query StockLocations($skip: Int!, $take: Int!) {{ stockLocations(options: \
                 {{skip: $skip, take: $take, sort: {{id: ASC}}}}) {{ totalItems \
                 items {{ id name customFields {{ {fields} }} }} }} }}"
            ),
        }
    }
}

#[async_trait]
impl LocationSource for VendureLocations {
    async fn locations(&self, _cx: &RequestContext) -> ConnectorResult<Vec<Location>> {
        let rules = Rules {
            languages: &self.languages,
            category_facet: "",
            fields: &self.fields,
        };
        let mut out = Vec::new();
        let mut skip = 0u64;
        for _ in 0..MAX_PAGES {
            let variables = serde_json::json!({ "skip": skip, "take": self.page_size });
            let data: LocationsData = self
                .client
                .query(
                    &self.channel_token,
                    &self.query,
                    variables,
                    "stock locations",
                )
                .await?;
            let list = data.stock_locations;
            let got = list.items.len() as u64;
            out.extend(list.items.iter().map(|l| rules.location(l)));
            skip += got;
            if got == 0 || skip >= list.total_items {
                return Ok(out);
            }
        }
        Err(ConnectorError::new(
            ErrorKind::InvalidResponse,
            self.client.name(),
            format!("stock locations: paging did not end after {MAX_PAGES} pages"),
        ))
    }
}
