//! Customers: the commerce site's customer contacts (people who bought, and the contact persons
//! of business customers, whose organization carries the company name and the `B2B` customer
//! group). The Service API reads contacts by id only and does not expose the `CustomerNumber`
//! meta field, so keys are looked up through the Samlet add-on's
//! `GET /episerverapi/commerce/samlet/customers?customerNumber=..&email=..&phone=..` (any mix of
//! keys, or semantics, at most [`crate::client::MAX_KEYS_PER_LOOKUP`] per request): a batch of
//! up to 50 keys is one request. An external id addressed to this connector is the contact's
//! `PrimaryKeyId` (a GUID) and goes into the same request as `contactId=`; a value that is not
//! a GUID cannot be one and is not sent. Loyalty numbers are not kept in commerce: such keys are
//! answered as absent without a request.

use crate::client::OptimizelyClient;
use crate::mapping;
use samlet_connector::prelude::*;
use std::collections::{BTreeSet, HashSet};

/// The contact id `key` asks this connector (`me`) for: a GUID, lower-cased; `None` for any
/// other key, another connector's id, or a value that cannot be a contact id.
fn contact_id(me: &ConnectorName, key: &MatchKey) -> Option<String> {
    let id = key.external_id_for(me)?.trim().to_ascii_lowercase();
    let parts: Vec<&str> = id.split('-').collect();
    let guid = parts.len() == 5
        && parts
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(p, n)| p.len() == n && p.bytes().all(|b| b.is_ascii_hexdigit()));
    guid.then_some(id)
}

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
                MatchKey::ExternalId { .. } => {
                    if let Some(id) = contact_id(self.name(), key) {
                        filters.insert(("contactId", id));
                    }
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
            let asked_id = contact_id(self.name(), &probe);
            let hits: Vec<CustomerRecord> = records
                .iter()
                .filter(|r| match &asked_id {
                    // GUIDs compare without regard to case.
                    Some(id) => r.source.native_id.eq_ignore_ascii_case(id),
                    None => !matches!(probe, MatchKey::ExternalId { .. }) && r.matches(&probe),
                })
                .cloned()
                .collect();
            if !hits.is_empty() {
                out.insert(key.clone(), hits);
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_this_connectors_guids_are_contact_ids() {
        let me = ConnectorName::new("commerce");
        let id = |c: &str, v: &str| MatchKey::ExternalId {
            connector: ConnectorName::new(c),
            id: v.into(),
        };
        assert_eq!(
            contact_id(
                &me,
                &id("commerce", " 6F1C3E2A-1B2C-4D5E-8F90-0A1B2C3D4E5F ")
            )
            .as_deref(),
            Some("6f1c3e2a-1b2c-4d5e-8f90-0a1b2c3d4e5f")
        );
        assert_eq!(contact_id(&me, &id("commerce", "C0000042")), None);
        assert_eq!(
            contact_id(&me, &id("erp", "6f1c3e2a-1b2c-4d5e-8f90-0a1b2c3d4e5f")),
            None
        );
        assert_eq!(contact_id(&me, &MatchKey::Email("a@b.dk".into())), None);
    }
}
