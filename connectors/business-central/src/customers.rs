//! Customers: the ERP's debtors, read from the extension's `customers` page (the standard
//! v2.0 customer has neither the contact person's names nor the customer price group, and API
//! pages cannot be extended). Keys of one kind go in one filtered request; Business Central
//! cannot `or` across fields, so a batch with numbers, e-mails, phones and record ids costs up
//! to four requests, sent concurrently. A record id (an external id addressed to this
//! connector) is the customer's SystemId GUID, read with `id in ('…','…')`; a value that is
//! not a GUID cannot be one and is not sent. Loyalty numbers are not kept in the ERP: such keys
//! are answered as absent without a request.

use crate::client::{
    entity, in_filters, lowercase_eq_filters, Api, BusinessCentralClient, Query, WireCustomer,
    CODE20, EMAIL_LEN, PHONE_LEN,
};
use crate::config::is_guid;
use crate::mapping;
use futures::future::try_join_all;
use samlet_connector::prelude::*;
use std::collections::{BTreeSet, HashSet};

/// The stored forms an E.164 phone key may have in the ERP: as entered with `+`, or with the
/// international `00` prefix, which is how Business Central users commonly type them.
fn phone_forms(e164: &str) -> Vec<String> {
    match e164.strip_prefix('+') {
        Some(digits) => vec![e164.to_owned(), format!("00{digits}")],
        None => vec![e164.to_owned()],
    }
}

#[async_trait]
impl CustomerSource for BusinessCentralClient {
    async fn customers(
        &self,
        _cx: &RequestContext,
        keys: &[MatchKey],
    ) -> ConnectorResult<HashMap<MatchKey, Vec<CustomerRecord>>> {
        let mut numbers = BTreeSet::new();
        let mut emails = BTreeSet::new();
        let mut phones = BTreeSet::new();
        let mut ids = BTreeSet::new();
        for key in keys {
            if let Some(id) = key.external_id_for(self.name()) {
                let id = id.trim().to_ascii_lowercase();
                if is_guid(&id) {
                    ids.insert(id);
                }
                continue;
            }
            // Values longer than the field cannot exist, and Business Central would fail the
            // whole request over them.
            match key {
                MatchKey::CustomerNumber(n)
                    if !n.as_str().is_empty() && n.as_str().len() <= CODE20 =>
                {
                    numbers.insert(n.as_str().to_owned());
                }
                MatchKey::Email(e) => {
                    if let Some(e) = normalize_email(e).filter(|e| e.chars().count() <= EMAIL_LEN) {
                        emails.insert(e);
                    }
                }
                MatchKey::Phone(p) => {
                    phones.extend(phone_forms(p).into_iter().filter(|f| f.len() <= PHONE_LEN));
                }
                MatchKey::CustomerNumber(_)
                | MatchKey::LoyaltyNumber(_)
                | MatchKey::ExternalId { .. } => {}
            }
        }
        let numbers: Vec<String> = numbers.into_iter().collect();
        let emails: Vec<String> = emails.into_iter().collect();
        let phones: Vec<String> = phones.into_iter().collect();
        let ids: Vec<String> = ids.into_iter().collect();
        let mut filters = in_filters("number", &numbers);
        filters.extend(in_filters("id", &ids));
        filters.extend(lowercase_eq_filters("email", &emails));
        filters.extend(in_filters("phoneNumber", &phones));
        let pages = try_join_all(filters.into_iter().map(|filter| {
            self.collection::<WireCustomer>(
                Api::Custom,
                entity::CUSTOMERS,
                Query {
                    filter: Some(filter),
                    ..Query::default()
                },
            )
        }))
        .await?;
        let mut seen = HashSet::new();
        let records: Vec<CustomerRecord> = pages
            .into_iter()
            .flatten()
            .filter(|w| seen.insert(w.id.clone()))
            .map(|w| mapping::customer(&w, self.name()))
            .collect();
        let mut out = HashMap::new();
        for key in keys {
            let normalised = match key {
                MatchKey::Email(e) => normalize_email(e).map(MatchKey::Email),
                MatchKey::ExternalId { connector, id } => Some(MatchKey::ExternalId {
                    connector: connector.clone(),
                    id: id.trim().to_ascii_lowercase(),
                }),
                other => Some(other.clone()),
            };
            let Some(probe) = normalised else { continue };
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_keys_are_looked_up_in_both_international_forms() {
        assert_eq!(
            phone_forms("+4520000049"),
            vec!["+4520000049", "004520000049"]
        );
    }
}
