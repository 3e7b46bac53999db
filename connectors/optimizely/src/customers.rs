//! Customers: the commerce site's customer contacts (people who bought, and the contact persons
//! of business customers, whose organization carries the company name and the `B2B` customer
//! group). The Service API reads contacts by id only and does not expose the `CustomerNumber`
//! meta field, so keys are looked up through the Samlet add-on's
//! `GET /episerverapi/commerce/samlet/customers?customerNumber=..&email=..&phone=..` (any mix of
//! keys, or semantics, at most [`crate::client::MAX_KEYS_PER_LOOKUP`] per request): a batch of
//! up to 50 keys is one request. Loyalty numbers are not kept in commerce: such keys are
//! answered as absent without a request.

use crate::client::OptimizelyClient;
use crate::mapping;
use samlet_connector::prelude::*;
use std::collections::{BTreeSet, HashSet};

#[async_trait]
impl CustomerSource for OptimizelyClient {
    async fn customers(
        &self,
        _cx: &RequestContext,
        keys: &[MatchKey],
    ) -> ConnectorResult<HashMap<MatchKey, Vec<CustomerRecord>>> {
        let mut filters: BTreeSet<(&'static str, String)> = BTreeSet::new();
        for key in keys {
            match key {
                MatchKey::CustomerNumber(n) if !n.as_str().trim().is_empty() => {
                    filters.insert(("customerNumber", n.as_str().trim().to_owned()));
                }
                MatchKey::Email(e) => {
                    if let Some(e) = normalize_email(e) {
                        filters.insert(("email", e));
                    }
                }
                MatchKey::Phone(p) if !p.trim().is_empty() => {
                    filters.insert(("phone", p.trim().to_owned()));
                }
                _ => {}
            }
        }
        let found = self.lookup_customers(filters.into_iter().collect()).await?;
        let mut seen = HashSet::new();
        let records: Vec<CustomerRecord> = found
            .iter()
            .filter(|w| seen.insert(w.primary_key_id.to_ascii_lowercase()))
            .map(|w| mapping::customer(w, self.name()))
            .collect();
        let mut out = HashMap::new();
        for key in keys {
            let probe = match key {
                MatchKey::Email(e) => normalize_email(e).map(MatchKey::Email),
                other => Some(other.clone()),
            };
            let Some(probe) = probe else { continue };
            let hits: Vec<CustomerRecord> = records
                .iter()
                .filter(|r| r.matches(&probe))
                .cloned()
                .collect();
            if !hits.is_empty() {
                out.insert(key.clone(), hits);
            }
        }
        Ok(out)
    }
}
