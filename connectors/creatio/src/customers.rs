//! `CustomerSource` over Contacts (persons) and Accounts (companies).
//!
//! A batch of match keys becomes one Contact read and one Account read per chunk of
//! `filter_terms` keys (see [`crate::query`]), all sent together in one OData `$batch` call: a
//! batch of up to 800 keys (50 chunks of 16, two reads each, 100 requests) costs one API call,
//! plus one per round of extra pages. Rows are then handed to every key of the batch they answer.

use crate::client::CreatioClient;
use crate::config::CreatioConfig;
use crate::mapping::{self, MapContext};
use crate::query::{self, Entity};
use samlet_connector::prelude::*;
use std::collections::HashSet;
use std::sync::Arc;

/// Customers from one Creatio instance.
pub(crate) struct CreatioCustomers {
    client: Arc<CreatioClient>,
    config: CreatioConfig,
}

impl CreatioCustomers {
    pub(crate) fn new(client: Arc<CreatioClient>, config: CreatioConfig) -> CreatioCustomers {
        CreatioCustomers { client, config }
    }
}

#[async_trait]
impl CustomerSource for CreatioCustomers {
    async fn customers(
        &self,
        _cx: &RequestContext,
        keys: &[MatchKey],
    ) -> ConnectorResult<HashMap<MatchKey, Vec<CustomerRecord>>> {
        let mut found: HashMap<MatchKey, Vec<CustomerRecord>> = HashMap::new();
        let queries = query::plan(&self.config, self.client.name(), keys);
        if queries.is_empty() {
            return Ok(found);
        }
        let results = self.client.read_all(&queries).await?;
        let cx = MapContext {
            connector: self.client.name(),
            columns: &self.config.columns,
        };
        // External ids are filed under the lower-case GUID the rows carry.
        let asked: Vec<(MatchKey, &MatchKey)> = keys
            .iter()
            .map(|k| match k {
                MatchKey::ExternalId { connector, id } => (
                    MatchKey::ExternalId {
                        connector: connector.clone(),
                        id: id.trim().to_ascii_lowercase(),
                    },
                    k,
                ),
                other => (other.clone(), k),
            })
            .collect();
        let wanted: HashMap<&MatchKey, Vec<&MatchKey>> =
            asked.iter().fold(HashMap::new(), |mut m, (norm, orig)| {
                m.entry(norm).or_default().push(*orig);
                m
            });
        let mut seen = HashSet::new();
        for (query, rows) in queries.iter().zip(results) {
            for row in &rows {
                let record = match query.entity {
                    Entity::Contact => mapping::contact(&cx, row),
                    Entity::Account => mapping::account(&cx, row).map(Some),
                }
                .map_err(|m| {
                    ConnectorError::new(
                        ErrorKind::InvalidResponse,
                        self.client.name(),
                        format!("{} row: {m}", query.entity.name()),
                    )
                })?;
                let Some(record) = record else { continue };
                // Chunks may find one row twice (a key in one chunk, another in the next).
                if !seen.insert((query.entity, record.source.native_id.clone())) {
                    continue;
                }
                for key in record.match_keys() {
                    for &asked in wanted.get(&key).into_iter().flatten() {
                        found.entry(asked.clone()).or_default().push(record.clone());
                    }
                }
            }
        }
        Ok(found)
    }
}
