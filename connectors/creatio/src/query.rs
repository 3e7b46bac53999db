//! OData 4 query text for a batch of match keys: which entity sets to ask, the `$filter` of
//! `or`-joined key comparisons (chunked at `filter_terms`), `$select`, `$expand`, the stable
//! `$orderby` that `$skip` paging needs, and the percent-encoding of it all.
//!
//! Every key kind is asked of both entity sets: a person's keys live on their `Contact`, a
//! company's on its `Account` (the e-mail through the account's primary contact). An external
//! id addressed to this connector is a record's `Id` (a GUID, compared as an unquoted GUID
//! literal, as Creatio's OData 4 wants for `Edm.Guid`); one that is not a GUID cannot be
//! anyone's and is not sent.

use crate::config::{ColumnNames, CreatioConfig, EmailMatch};
use crate::mapping;
use samlet_connector::prelude::*;
use std::collections::HashSet;

/// The entity sets the connector reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Entity {
    /// Persons (and companies' contact persons).
    Contact,
    /// Companies.
    Account,
}

impl Entity {
    /// The entity set name in the URL.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Entity::Contact => "Contact",
            Entity::Account => "Account",
        }
    }
}

/// One filtered read of an entity set (all its pages).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Query {
    /// The entity set.
    pub entity: Entity,
    /// The `$filter` value, not yet encoded.
    pub filter: String,
    /// The `$select`, `$expand` and `$orderby` part of the query string, encoded.
    pub shape: String,
}

impl Query {
    /// The request path relative to the service root, e.g. `Contact?$filter=…&$top=1000`,
    /// for the page starting at `skip`.
    pub(crate) fn url(&self, top: u32, skip: usize) -> String {
        let mut url = format!(
            "{}?$filter={}&{}&$top={top}",
            self.entity.name(),
            encode(&self.filter),
            self.shape
        );
        if skip > 0 {
            url.push_str(&format!("&$skip={skip}"));
        }
        url
    }
}

/// An OData string literal: single quotes, with embedded quotes doubled.
pub(crate) fn literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// Percent-encodes a query option value. Unreserved characters and the punctuation OData
/// syntax is made of (`'(),/:@$`) stay readable; everything else, notably `+` (which a
/// server would read as a space), `&`, `=`, `;`, `#`, `%` and spaces, is encoded.
pub(crate) fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 16);
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~'(),/:@$".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `GivenName,Surname,…`: a `$select` list.
fn select(fields: &[&str]) -> String {
    fields.join(",")
}

/// The expansion of an address detail: the primary flag, street and zip, the city's name and
/// the country's ISO code.
fn address_expand(nav: &str, columns: &ColumnNames) -> String {
    format!(
        "{nav}($select={};$expand={}($select={}),{}($select={}))",
        select(&[mapping::PRIMARY, mapping::ADDRESS, mapping::ZIP]),
        mapping::CITY,
        mapping::NAME,
        mapping::COUNTRY,
        columns.country_code
    )
}

/// The encoded `$select`, `$expand` and `$orderby` options for `entity`.
pub(crate) fn shape(entity: Entity, columns: &ColumnNames) -> String {
    let (fields, expand) = match entity {
        Entity::Contact => (
            vec![
                mapping::ID,
                mapping::GIVEN_NAME,
                mapping::SURNAME,
                mapping::EMAIL,
                mapping::MOBILE_PHONE,
                mapping::PHONE,
                mapping::ACCOUNT_ID,
                columns.customer_number.as_str(),
                columns.loyalty_number.as_str(),
                mapping::MODIFIED_ON,
            ],
            address_expand(mapping::CONTACT_ADDRESSES, columns),
        ),
        Entity::Account => (
            vec![
                mapping::ID,
                mapping::NAME,
                mapping::PHONE,
                columns.customer_number.as_str(),
                columns.loyalty_number.as_str(),
                mapping::MODIFIED_ON,
            ],
            format!(
                "{}($select={}),{}",
                mapping::PRIMARY_CONTACT,
                select(&[mapping::GIVEN_NAME, mapping::SURNAME, mapping::EMAIL]),
                address_expand(mapping::ACCOUNT_ADDRESSES, columns)
            ),
        ),
    };
    format!(
        "$select={}&$expand={}&$orderby={}",
        encode(&select(&fields)),
        encode(&expand),
        mapping::ID
    )
}

/// One comparison of a key with the column that holds it on `entity`.
fn term(
    config: &CreatioConfig,
    me: &ConnectorName,
    entity: Entity,
    key: &MatchKey,
) -> Option<String> {
    let c = &config.columns;
    let (column, value) = match key {
        MatchKey::ExternalId { .. } => {
            let id = key.external_id_for(me)?.trim().to_ascii_lowercase();
            return is_guid(&id).then(|| format!("{} eq {id}", mapping::ID));
        }
        MatchKey::CustomerNumber(n) => (c.customer_number.clone(), n.as_str().to_owned()),
        MatchKey::Phone(p) => (c.phone_e164.clone(), p.clone()),
        MatchKey::LoyaltyNumber(l) => (c.loyalty_number.clone(), l.clone()),
        MatchKey::Email(e) => {
            let column = match entity {
                Entity::Contact => mapping::EMAIL.to_owned(),
                Entity::Account => format!("{}/{}", mapping::PRIMARY_CONTACT, mapping::EMAIL),
            };
            let value = e.trim().to_lowercase();
            if value.is_empty() {
                return None;
            }
            return Some(match config.email_match {
                EmailMatch::Collation => format!("{column} eq {}", literal(&value)),
                EmailMatch::Tolower => format!("tolower({column}) eq {}", literal(&value)),
            });
        }
    };
    let value = value.trim();
    (!value.is_empty()).then(|| format!("{column} eq {}", literal(value)))
}

/// Whether `s` is a GUID in its 8-4-4-4-12 hexadecimal form.
pub(crate) fn is_guid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() == 5
        && parts
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(p, n)| p.len() == n && p.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The reads that answer `keys`: for each entity set, the distinct key comparisons in chunks
/// of `filter_terms`, Contacts first.
pub(crate) fn plan(config: &CreatioConfig, me: &ConnectorName, keys: &[MatchKey]) -> Vec<Query> {
    let per_filter = config.filter_terms.max(1) as usize;
    let mut out = Vec::new();
    for entity in [Entity::Contact, Entity::Account] {
        let mut seen = HashSet::new();
        let terms: Vec<String> = keys
            .iter()
            .filter_map(|k| term(config, me, entity, k))
            .filter(|t| seen.insert(t.clone()))
            .collect();
        let shape = shape(entity, &config.columns);
        for chunk in terms.chunks(per_filter) {
            out.push(Query {
                entity,
                filter: chunk.join(" or "),
                shape: shape.clone(),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{DEFAULT_FILTER_TERMS, DEFAULT_ODATA_PATH, DEFAULT_PAGE_SIZE};

    fn config() -> CreatioConfig {
        CreatioConfig {
            base_url: "https://acme.creatio.com".into(),
            identity_url: "https://acme-is.creatio.com".into(),
            client_id: "id".into(),
            client_secret: Secret::new("s"),
            odata_path: DEFAULT_ODATA_PATH.into(),
            page_size: DEFAULT_PAGE_SIZE,
            filter_terms: DEFAULT_FILTER_TERMS,
            email_match: EmailMatch::Collation,
            columns: ColumnNames::default(),
        }
    }

    fn me() -> ConnectorName {
        ConnectorName::new("crm")
    }

    #[test]
    fn an_external_id_is_asked_by_id_and_only_when_it_is_this_connectors_guid() {
        let id = |c: &str, v: &str| MatchKey::ExternalId {
            connector: ConnectorName::new(c),
            id: v.into(),
        };
        let keys = [
            id("crm", "6F1C3E2A-1B2C-4D5E-8F90-0A1B2C3D4E5F"),
            id("crm", "not-a-guid' or 1 eq 1"),
            id("erp", "7f1c3e2a-1b2c-4d5e-8f90-0a1b2c3d4e5f"),
        ];
        let plan = plan(&config(), &me(), &keys);
        assert_eq!(plan.len(), 2);
        assert_eq!(plan[0].filter, "Id eq 6f1c3e2a-1b2c-4d5e-8f90-0a1b2c3d4e5f");
        assert_eq!(plan[1].filter, plan[0].filter);
        assert!(super::plan(&config(), &me(), &keys[1..]).is_empty());
    }

    #[test]
    fn every_key_kind_is_asked_of_both_entity_sets() {
        let keys = [
            MatchKey::CustomerNumber(CustomerNumber::new("C0000001")),
            MatchKey::Email("o'neil@example.dk".into()),
            MatchKey::Phone("+4520000001".into()),
            MatchKey::LoyaltyNumber("71000001".into()),
        ];
        let plan = plan(&config(), &me(), &keys);
        assert_eq!(plan.len(), 2);
        assert_eq!(plan[0].entity, Entity::Contact);
        assert_eq!(
            plan[0].filter,
            "UsrCustomerNumber eq 'C0000001' or Email eq 'o''neil@example.dk' or \
             UsrPhoneE164 eq '+4520000001' or UsrLoyaltyNumber eq '71000001'"
        );
        assert_eq!(plan[1].entity, Entity::Account);
        assert!(plan[1]
            .filter
            .contains("PrimaryContact/Email eq 'o''neil@example.dk'"));
    }

    #[test]
    fn email_comparison_follows_the_configured_mode() {
        let mut c = config();
        c.email_match = EmailMatch::Tolower;
        let plan = plan(&c, &me(), &[MatchKey::Email("Anna@Example.DK".into())]);
        assert_eq!(plan[0].filter, "tolower(Email) eq 'anna@example.dk'");
        assert_eq!(
            plan[1].filter,
            "tolower(PrimaryContact/Email) eq 'anna@example.dk'"
        );
    }

    #[test]
    fn keys_are_deduplicated_and_chunked() {
        let mut c = config();
        c.filter_terms = 3;
        let mut keys: Vec<MatchKey> = (0..7)
            .map(|i| MatchKey::CustomerNumber(CustomerNumber::new(format!("C{i:07}"))))
            .collect();
        keys.push(keys[0].clone());
        keys.push(MatchKey::LoyaltyNumber("  ".into()));
        let plan = plan(&c, &me(), &keys);
        assert_eq!(plan.len(), 6, "three chunks per entity set");
        assert_eq!(plan[2].filter, "UsrCustomerNumber eq 'C0000006'");
        assert!(super::plan(&c, &me(), &[]).is_empty());
    }

    #[test]
    fn urls_encode_what_a_query_string_would_misread() {
        let q = Query {
            entity: Entity::Contact,
            filter: "UsrPhoneE164 eq '+4520000001' or Email eq 'a&b=c@x.dk'".into(),
            shape: shape(Entity::Contact, &ColumnNames::default()),
        };
        let url = q.url(50, 100);
        assert!(url.starts_with(
            "Contact?$filter=UsrPhoneE164%20eq%20'%2B4520000001'%20or%20Email%20eq%20'a%26b%3Dc@x.dk'&"
        ));
        assert!(url.contains("&$orderby=Id&$top=50&$skip=100"));
        assert!(url.contains(
            "$expand=ContactAddressCollectionByContact($select%3DPrimary,Address,Zip%3B$expand%3DCity($select%3DName),Country($select%3DCode))"
        ));
        assert!(!q.url(50, 0).contains("$skip"));
    }
}
