//! [`CustomerSource`] over Voyado Engage contacts.
//!
//! Voyado cannot batch: it resolves one identifier per request and has no documented search
//! that takes several keys. A batch therefore costs requests per key, in two concurrent
//! phases (bounded by the client's request gate: `max_concurrency` in flight,
//! `requests_per_second`):
//!
//! 1. one lookup per distinct key:
//!    - e-mail, phone, and the key the tenant's `customKey` holds:
//!      `GET /api/v3/contacts/id?email=|mobilePhone=|customKey=` answers the contact id;
//!    - the other key (member number when `custom_key = "externalId"`):
//!      `GET /api/v2/contacts/{member_contact_type}/bykey?keyValue=` answers the contact;
//!    - or (customer number when `custom_key = "memberNumber"`): one
//!      `GET /api/v2/contacts/{type}/byexternalid/{externalId}` per `contact_types` entry;
//! 2. one `GET /api/v3/contacts/{contactId}` per distinct contact id found in phase 1 and not
//!    already read there, and per external id addressed to this connector (the contact id
//!    itself, a GUID; a value that is not a GUID cannot be one and costs nothing).
//!
//! So with the default setup a batch of `k` e-mail/phone/number keys naming `m` distinct
//! contacts costs `k + m` requests, a member-number key costs 1, and a contact id costs 1. Keys Voyado does not
//! know (404 `ContactNotFound`) are absent, not errors. Records are matched back to keys by
//! their normalised values, so a lookup that resolves to another contact never yields it.

use crate::client::{is_guid, Contact, ContactLookup, VoyadoClient};
use crate::config::{AttributeNames, CustomKey};
use crate::mapping::customer_record;
use futures::future::try_join_all;
use samlet_connector::prelude::*;
use std::collections::HashSet;

/// Customer records from Voyado contacts.
#[derive(Debug)]
pub(crate) struct VoyadoCustomers {
    client: VoyadoClient,
    names: AttributeNames,
    member_contact_type: String,
    contact_types: Vec<String>,
}

/// A phase-1 lookup that answers a whole contact.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Direct {
    /// `GET /api/v2/contacts/{type}/bykey?keyValue=`.
    ByKey(String, String),
    /// `GET /api/v2/contacts/{type}/byexternalid/{externalId}`.
    ByExternalId(String, String),
}

impl VoyadoCustomers {
    pub(crate) fn new(
        client: VoyadoClient,
        names: AttributeNames,
        member_contact_type: String,
        contact_types: Vec<String>,
    ) -> Self {
        VoyadoCustomers {
            client,
            names,
            member_contact_type,
            contact_types,
        }
    }

    /// The phase-1 lookups for one normalised key.
    fn plan(&self, key: &MatchKey, ids: &mut Vec<ContactLookup>, direct: &mut Vec<Direct>) {
        let custom = self.client.custom_key();
        let mut id = |l: ContactLookup| {
            if !ids.contains(&l) {
                ids.push(l);
            }
        };
        let mut whole = |d: Direct| {
            if !direct.contains(&d) {
                direct.push(d);
            }
        };
        match key {
            MatchKey::Email(e) => id(ContactLookup::Email(e.clone())),
            MatchKey::Phone(p) => id(ContactLookup::MobilePhone(p.clone())),
            MatchKey::CustomerNumber(n) => match custom {
                CustomKey::ExternalId => id(ContactLookup::CustomKey(n.as_str().to_owned())),
                CustomKey::MemberNumber => {
                    for t in &self.contact_types {
                        whole(Direct::ByExternalId(t.clone(), n.as_str().to_owned()));
                    }
                }
            },
            MatchKey::LoyaltyNumber(l) => match custom {
                CustomKey::MemberNumber => id(ContactLookup::CustomKey(l.clone())),
                CustomKey::ExternalId => {
                    whole(Direct::ByKey(self.member_contact_type.clone(), l.clone()))
                }
            },
            // Read in phase 2 by id (normalised keys name only this connector).
            MatchKey::ExternalId { .. } => {}
        }
    }

    async fn direct(&self, d: &Direct) -> ConnectorResult<Option<Contact>> {
        match d {
            Direct::ByKey(t, v) => self.client.contact_by_key(t, v).await,
            Direct::ByExternalId(t, v) => self.client.contact_by_external_id(t, v).await,
        }
    }
}

/// The normalised form of a key, as the connector queries and compares it; `None` for a key
/// that cannot match anything (e.g. a phone number that is not international).
fn normalised(me: &ConnectorName, key: &MatchKey) -> Option<MatchKey> {
    Some(match key {
        MatchKey::ExternalId { .. } => {
            let id = key.external_id_for(me)?.trim().to_ascii_lowercase();
            if !is_guid(&id) {
                return None;
            }
            MatchKey::ExternalId {
                connector: me.clone(),
                id,
            }
        }
        MatchKey::Email(e) => MatchKey::Email(normalize_email(e)?),
        // Voyado stores mobile phones in E.164; without a country only international numbers
        // can be asked for.
        MatchKey::Phone(p) => MatchKey::Phone(normalize_phone(p, "")?),
        MatchKey::LoyaltyNumber(l) => MatchKey::LoyaltyNumber(l.trim().to_owned()),
        MatchKey::CustomerNumber(n) => {
            MatchKey::CustomerNumber(CustomerNumber::new(n.as_str().trim()))
        }
    })
    .filter(|k| match k {
        MatchKey::LoyaltyNumber(s) => !s.is_empty(),
        MatchKey::CustomerNumber(n) => !n.as_str().is_empty(),
        _ => true,
    })
}

#[async_trait]
impl CustomerSource for VoyadoCustomers {
    async fn customers(
        &self,
        _cx: &RequestContext,
        keys: &[MatchKey],
    ) -> ConnectorResult<HashMap<MatchKey, Vec<CustomerRecord>>> {
        let wanted: Vec<(&MatchKey, MatchKey)> = keys
            .iter()
            .filter_map(|k| Some((k, normalised(self.client.name(), k)?)))
            .collect();
        let (mut lookups, mut direct) = (Vec::new(), Vec::new());
        let mut by_id: Vec<String> = Vec::new();
        for (_, k) in &wanted {
            match k {
                MatchKey::ExternalId { id, .. } => {
                    if !by_id.contains(id) {
                        by_id.push(id.clone());
                    }
                }
                _ => self.plan(k, &mut lookups, &mut direct),
            }
        }
        // Phase 1: every lookup at once (the client's gate bounds them).
        let (ids, found) = futures::try_join!(
            try_join_all(lookups.iter().map(|l| self.client.contact_id(l))),
            try_join_all(direct.iter().map(|d| self.direct(d))),
        )?;
        let mut contacts: Vec<Contact> = Vec::new();
        let mut have: HashSet<String> = HashSet::new();
        for c in found.into_iter().flatten() {
            if have.insert(c.id.trim().to_ascii_lowercase()) {
                contacts.push(c);
            }
        }
        // Phase 2: each contact not read yet, once.
        let mut missing: Vec<String> = Vec::new();
        for id in ids.into_iter().flatten().chain(by_id) {
            if !have.contains(&id) && !missing.contains(&id) {
                missing.push(id);
            }
        }
        let fetched = try_join_all(missing.iter().map(|id| self.client.contact(id))).await?;
        for c in fetched.into_iter().flatten() {
            if have.insert(c.id.trim().to_ascii_lowercase()) {
                contacts.push(c);
            }
        }
        let records: Vec<CustomerRecord> = contacts
            .iter()
            .map(|c| customer_record(self.client.name(), &self.names, c))
            .collect();
        let mut out: HashMap<MatchKey, Vec<CustomerRecord>> = HashMap::new();
        for (original, key) in wanted {
            let hits: Vec<CustomerRecord> = records
                .iter()
                .filter(|r| r.matches(&key))
                .cloned()
                .collect();
            if !hits.is_empty() {
                out.insert(original.clone(), hits);
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::VoyadoConfig;

    fn source(custom_key: &str) -> VoyadoCustomers {
        let config: VoyadoConfig = toml::from_str(&format!(
            "base_url = \"http://127.0.0.1:9\"\napi_key = \"k\"\ncustom_key = \"{custom_key}\"\ncontact_types = [\"Member\", \"Contact\"]\n"
        ))
        .expect("config");
        let client = VoyadoClient::new(
            ConnectorName::new("loyalty"),
            &config,
            UpstreamPolicy::default(),
        )
        .expect("client");
        VoyadoCustomers::new(
            client,
            config.attributes,
            config.member_contact_type,
            config.contact_types,
        )
    }

    fn plan(s: &VoyadoCustomers, keys: &[MatchKey]) -> (Vec<ContactLookup>, Vec<Direct>) {
        let (mut ids, mut direct) = (Vec::new(), Vec::new());
        for k in keys {
            s.plan(k, &mut ids, &mut direct);
        }
        (ids, direct)
    }

    #[test]
    fn keys_are_normalised_before_querying() {
        let me = ConnectorName::new("loyalty");
        assert_eq!(
            normalised(&me, &MatchKey::Email("Anna@Example.DK".into())),
            Some(MatchKey::Email("anna@example.dk".into()))
        );
        assert_eq!(
            normalised(&me, &MatchKey::Phone("+45 20 00 00 42".into())),
            Some(MatchKey::Phone("+4520000042".into()))
        );
        assert_eq!(
            normalised(&me, &MatchKey::Phone("20 00 00 42".into())),
            None
        );
        assert_eq!(normalised(&me, &MatchKey::LoyaltyNumber(" ".into())), None);
        let id = |c: &str, v: &str| MatchKey::ExternalId {
            connector: ConnectorName::new(c),
            id: v.into(),
        };
        assert_eq!(
            normalised(&me, &id("loyalty", " 2E40B702-2767-4ABE-AE99-AA510108E22B")),
            Some(id("loyalty", "2e40b702-2767-4abe-ae99-aa510108e22b"))
        );
        assert_eq!(normalised(&me, &id("loyalty", "../vouchers")), None);
        assert_eq!(
            normalised(&me, &id("crm", "2e40b702-2767-4abe-ae99-aa510108e22b")),
            None
        );
    }

    #[test]
    fn the_custom_key_decides_how_numbers_are_looked_up() {
        let keys = [
            MatchKey::CustomerNumber(CustomerNumber::new("C1")),
            MatchKey::LoyaltyNumber("71".into()),
            MatchKey::Email("a@b.dk".into()),
            MatchKey::Email("a@b.dk".into()),
        ];
        let (ids, direct) = plan(&source("externalId"), &keys);
        assert_eq!(
            ids,
            [
                ContactLookup::CustomKey("C1".into()),
                ContactLookup::Email("a@b.dk".into())
            ]
        );
        assert_eq!(direct, [Direct::ByKey("Member".into(), "71".into())]);
        let (ids, direct) = plan(&source("memberNumber"), &keys);
        assert_eq!(
            ids,
            [
                ContactLookup::CustomKey("71".into()),
                ContactLookup::Email("a@b.dk".into())
            ]
        );
        assert_eq!(
            direct,
            [
                Direct::ByExternalId("Member".into(), "C1".into()),
                Direct::ByExternalId("Contact".into(), "C1".into())
            ]
        );
    }
}
