//! `CustomerSource` over Contacts (persons) and business Accounts (companies).
//!
//! A batch of match keys becomes one Contact and one Account query per chunk of keys (see
//! [`crate::soql`]), sent together in one composite request: a batch of up to a few hundred
//! keys costs one API call, plus one per extra 2,000 records. Records are then handed to every
//! key of the batch they answer. An external id addressed to this connector is a record Id
//! (15 or 18 characters): it goes into `Id IN (…)` of the Contact or Account query its key
//! prefix (`003`, `001`) names, within the same composite call.

use crate::client::SalesforceClient;
use crate::config::FieldNames;
use crate::mapping::{self, MapContext};
use crate::soql::{self, SObject};
use samlet_connector::prelude::*;
use std::collections::HashSet;
use std::sync::Arc;

/// Customers from one Salesforce org.
pub(crate) struct SalesforceCustomers {
    client: Arc<SalesforceClient>,
    fields: FieldNames,
}

impl SalesforceCustomers {
    pub(crate) fn new(client: Arc<SalesforceClient>, fields: FieldNames) -> SalesforceCustomers {
        SalesforceCustomers { client, fields }
    }
}

#[async_trait]
impl CustomerSource for SalesforceCustomers {
    async fn customers(
        &self,
        _cx: &RequestContext,
        keys: &[MatchKey],
    ) -> ConnectorResult<HashMap<MatchKey, Vec<CustomerRecord>>> {
        let mut found: HashMap<MatchKey, Vec<CustomerRecord>> = HashMap::new();
        let queries = soql::plan(
            &self.fields,
            self.client.data_path(),
            self.client.name(),
            keys,
        );
        if queries.is_empty() {
            return Ok(found);
        }
        let statements: Vec<&str> = queries.iter().map(|q| q.soql.as_str()).collect();
        let results = self.client.query_all(&statements).await?;
        let cx = MapContext {
            connector: self.client.name(),
            fields: &self.fields,
        };
        let wanted: HashSet<&MatchKey> = keys.iter().collect();
        let mut seen = HashSet::new();
        for (query, rows) in queries.iter().zip(results) {
            for row in &rows {
                let record = match query.object {
                    SObject::Contact => mapping::contact(&cx, row),
                    SObject::Account => mapping::account(&cx, row).map(Some),
                }
                .map_err(|m| {
                    ConnectorError::new(
                        ErrorKind::InvalidResponse,
                        self.client.name(),
                        format!("{} record: {m}", query.object.name()),
                    )
                })?;
                let Some(record) = record else { continue };
                // Chunks may find one record twice (a key in one chunk, another in the next).
                if !seen.insert(record.source.native_id.clone()) {
                    continue;
                }
                let mut answers = record.match_keys();
                // An id may be asked in its 15-character (case-sensitive) form too.
                if let Some(short) = record.source.native_id.get(..15) {
                    answers.push(MatchKey::ExternalId {
                        connector: self.client.name().clone(),
                        id: short.to_owned(),
                    });
                }
                for key in answers {
                    if wanted.contains(&key) {
                        found.entry(key).or_default().push(record.clone());
                    }
                }
            }
        }
        Ok(found)
    }
}
