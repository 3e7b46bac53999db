//! The SOQL the connector sends: one `SELECT … WHERE f IN (…) OR g IN (…)` per sObject for a
//! batch of match keys, with values quoted and escaped, chunked so that every query's URL stays
//! under [`MAX_QUERY_URL_LEN`].
//!
//! Why 16,000: a query travels in a URL (`GET /query?q=…`, or a composite subrequest's `url`),
//! and Salesforce's web tier refuses request URIs longer than 16,384 bytes. The SOQL limit
//! itself (100,000 characters) is far above that. Chunks are sized by an upper bound of the
//! encoded length, so no URL ever crosses the cap whatever the keys hold.

use crate::config::{FieldNames, WishlistNames};
use crate::mapping;
use samlet_connector::ids::ConnectorName;
use samlet_connector::model::MatchKey;
use std::collections::HashSet;

/// The longest query URL (path and encoded `q`) the connector builds.
pub const MAX_QUERY_URL_LEN: usize = 16_000;
/// Keys longer than this cannot be stored in any Salesforce text field (255 characters at
/// most; `Email` holds 80), so they cannot match and are not sent.
pub const MAX_LITERAL_CHARS: usize = 255;
/// What `,` costs in an encoded IN-list.
const COMMA_COST: usize = 3;

/// The sObjects customers live in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SObject {
    /// Persons (and companies' contact persons).
    Contact,
    /// Companies (business accounts).
    Account,
}

impl SObject {
    pub(crate) fn name(self) -> &'static str {
        match self {
            SObject::Contact => "Contact",
            SObject::Account => "Account",
        }
    }

    /// The key prefix every record id of this sObject starts with (fixed by Salesforce for
    /// standard objects).
    fn key_prefix(self) -> &'static str {
        match self {
            SObject::Contact => "003",
            SObject::Account => "001",
        }
    }

    /// The sObject a record id belongs to, if it is a well-formed Contact or Account id (15
    /// or 18 alphanumeric characters). Salesforce fails a whole query over a malformed id
    /// ("invalid ID field"), so only these are sent.
    pub(crate) fn of_id(id: &str) -> Option<SObject> {
        if !matches!(id.len(), 15 | 18) || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return None;
        }
        [SObject::Contact, SObject::Account]
            .into_iter()
            .find(|o| id.starts_with(o.key_prefix()))
    }
}

/// One SOQL statement and the sObject it reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Query {
    pub object: SObject,
    pub soql: String,
}

/// A SOQL string literal: `'O\'Brien'`.
pub(crate) fn quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('\'');
    for c in value.chars() {
        match c {
            '\'' => out.push_str("\\'"),
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            _ => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// `application/x-www-form-urlencoded` encoding, as a query string value.
pub(crate) fn encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The path of the Query resource for `soql`: `/services/data/v62.0/query?q=SELECT+…`.
pub(crate) fn query_path(data_path: &str, soql: &str) -> String {
    format!("{data_path}/query?q={}", encode(soql))
}

/// A customer's wishlist rows, oldest first: `SELECT Id, SKU__c, Added_At__c, Channel__c,
/// Samlet_Key__c, CreatedDate FROM Wishlist_Item__c WHERE Customer_Number__c = '…' ORDER BY
/// Added_At__c, Id`.
pub(crate) fn wishlist(names: &WishlistNames, customer: &str) -> String {
    format!(
        "SELECT {id}, {sku}, {added}, {channel}, {key}, {created} FROM {object} WHERE {number} = {value} ORDER BY {added}, {id}",
        id = mapping::ID,
        sku = names.sku,
        added = names.added_at,
        channel = names.channel,
        key = names.key,
        created = mapping::CREATED,
        object = names.object,
        number = names.customer_number,
        value = quote(customer),
    )
}

/// The record of `object` that carries the customer number (a person's Contact, a company's
/// Account): `SELECT Id FROM Contact WHERE Customer_Number__c = '…'`.
pub(crate) fn owner(object: SObject, fields: &FieldNames, customer: &str) -> String {
    format!(
        "SELECT {} FROM {} WHERE {} = {}",
        mapping::ID,
        object.name(),
        fields.customer_number,
        quote(customer)
    )
}

/// The keys of one chunk, by the field they filter on.
#[derive(Debug, Default)]
struct Chunk {
    numbers: Vec<String>,
    emails: Vec<String>,
    phones: Vec<String>,
    loyalty: Vec<String>,
    /// Record ids (Contact and Account ids together; each statement takes its own).
    ids: Vec<String>,
}

impl Chunk {
    fn is_empty(&self) -> bool {
        self.numbers.is_empty()
            && self.emails.is_empty()
            && self.phones.is_empty()
            && self.loyalty.is_empty()
            && self.ids.is_empty()
    }
}

fn select(object: SObject, fields: &FieldNames) -> String {
    let list = match object {
        SObject::Contact => mapping::contact_fields(fields),
        SObject::Account => mapping::account_fields(fields),
    };
    format!("SELECT {} FROM {}", list.join(", "), object.name())
}

/// The fields each key kind filters on: numbers, e-mails, phones, loyalty numbers, ids.
fn filter_fields(object: SObject, fields: &FieldNames) -> [String; 5] {
    let email = match object {
        SObject::Contact => mapping::EMAIL.to_owned(),
        SObject::Account => format!("{}.{}", fields.primary_contact, mapping::EMAIL),
    };
    [
        fields.customer_number.clone(),
        email,
        fields.phone_e164.clone(),
        fields.loyalty_number.clone(),
        mapping::ID.to_owned(),
    ]
}

/// The statement for `object` over one chunk; `None` if no key of the chunk can be on it.
fn statement(object: SObject, fields: &FieldNames, chunk: &Chunk) -> Option<String> {
    let names = filter_fields(object, fields);
    let ids: Vec<String> = chunk
        .ids
        .iter()
        .filter(|id| SObject::of_id(id) == Some(object))
        .cloned()
        .collect();
    let lists = [
        &chunk.numbers,
        &chunk.emails,
        &chunk.phones,
        &chunk.loyalty,
        &ids,
    ];
    let conditions: Vec<String> = names
        .iter()
        .zip(lists)
        .filter(|(_, values)| !values.is_empty())
        .map(|(field, values)| {
            let quoted: Vec<String> = values.iter().map(|v| quote(v)).collect();
            format!("{field} IN ({})", quoted.join(","))
        })
        .collect();
    (!conditions.is_empty()).then(|| {
        format!(
            "{} WHERE {}",
            select(object, fields),
            conditions.join(" OR ")
        )
    })
}

/// The encoded length of a query for `object` with every condition present and every list
/// empty: what a chunk costs before its values.
fn fixed_len(object: SObject, fields: &FieldNames, data_path: &str) -> usize {
    let conditions: Vec<String> = filter_fields(object, fields)
        .iter()
        .map(|f| format!("{f} IN ()"))
        .collect();
    let soql = format!(
        "{} WHERE {}",
        select(object, fields),
        conditions.join(" OR ")
    );
    query_path(data_path, &soql).len()
}

/// The queries that find every customer answering one of `keys`: a Contact and an Account
/// query per chunk of keys (a chunk of record ids only asks the sObject they belong to).
/// Duplicate keys are sent once; keys no record can hold (and other connectors'
/// external ids) are not sent at all, and so are simply not found.
pub(crate) fn plan(
    fields: &FieldNames,
    data_path: &str,
    me: &ConnectorName,
    keys: &[MatchKey],
) -> Vec<Query> {
    let fixed = fixed_len(SObject::Contact, fields, data_path).max(fixed_len(
        SObject::Account,
        fields,
        data_path,
    ));
    let budget = MAX_QUERY_URL_LEN.saturating_sub(fixed);
    let mut seen = HashSet::new();
    let mut chunks = Vec::new();
    let mut chunk = Chunk::default();
    let mut used = 0;
    for key in keys {
        if !seen.insert(key) {
            continue;
        }
        let value = match key {
            MatchKey::CustomerNumber(n) => n.as_str(),
            MatchKey::Email(e) => e.as_str(),
            MatchKey::Phone(p) => p.as_str(),
            MatchKey::LoyaltyNumber(l) => l.as_str(),
            MatchKey::ExternalId { .. } => match key.external_id_for(me) {
                Some(id) if SObject::of_id(id).is_some() => id,
                _ => continue,
            },
        };
        if value.is_empty() || value.chars().count() > MAX_LITERAL_CHARS {
            continue;
        }
        let cost = encode(&quote(value)).len() + COMMA_COST;
        if used + cost > budget && !chunk.is_empty() {
            chunks.push(std::mem::take(&mut chunk));
            used = 0;
        }
        used += cost;
        let list = match key {
            MatchKey::CustomerNumber(_) => &mut chunk.numbers,
            MatchKey::Email(_) => &mut chunk.emails,
            MatchKey::Phone(_) => &mut chunk.phones,
            MatchKey::LoyaltyNumber(_) => &mut chunk.loyalty,
            MatchKey::ExternalId { .. } => &mut chunk.ids,
        };
        list.push(value.to_owned());
    }
    if !chunk.is_empty() {
        chunks.push(chunk);
    }
    chunks
        .iter()
        .flat_map(|c| {
            [SObject::Contact, SObject::Account]
                .into_iter()
                .filter_map(|object| {
                    Some(Query {
                        object,
                        soql: statement(object, fields, c)?,
                    })
                })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use samlet_connector::ids::CustomerNumber;

    fn me() -> ConnectorName {
        ConnectorName::new("crm")
    }

    #[test]
    fn record_ids_go_only_to_their_own_sobject() {
        let id = |c: &str, v: &str| MatchKey::ExternalId {
            connector: ConnectorName::new(c),
            id: v.into(),
        };
        let data = "/services/data/v62.0";
        let q = plan(
            &FieldNames::default(),
            data,
            &me(),
            &[
                id("crm", "003Sa0000000042AAA"),
                id("crm", "003Sa0000000042"),
                id("crm", "003Sa00000' OR Id != '"),
                id("marketing", "001Sa0000000007AAA"),
            ],
        );
        assert_eq!(q.len(), 1, "{q:?}");
        assert_eq!(q[0].object, SObject::Contact);
        assert!(q[0]
            .soql
            .ends_with("FROM Contact WHERE Id IN ('003Sa0000000042AAA','003Sa0000000042')"));
        let q = plan(
            &FieldNames::default(),
            data,
            &me(),
            &[id("crm", "001Sa0000000007AAA")],
        );
        assert_eq!(q.len(), 1);
        assert!(q[0]
            .soql
            .ends_with("FROM Account WHERE Id IN ('001Sa0000000007AAA')"));
        assert!(plan(
            &FieldNames::default(),
            data,
            &me(),
            &[id("crm", "00QSa0000000007AAA")]
        )
        .is_empty());
    }

    #[test]
    fn quotes_and_backslashes_are_escaped() {
        assert_eq!(quote("o'brien@x.dk"), r"'o\'brien@x.dk'");
        assert_eq!(quote(r"a\b"), r"'a\\b'");
    }

    #[test]
    fn one_chunk_gives_a_contact_and_an_account_query() {
        let keys = [
            MatchKey::CustomerNumber(CustomerNumber::new("C0000001")),
            MatchKey::Email("anna@example.dk".into()),
            MatchKey::Email("anna@example.dk".into()),
            MatchKey::Phone("+4512345678".into()),
        ];
        let q = plan(&FieldNames::default(), "/services/data/v62.0", &me(), &keys);
        assert_eq!(q.len(), 2);
        assert_eq!(q[0].object, SObject::Contact);
        assert!(q[0].soql.ends_with(
            "FROM Contact WHERE Customer_Number__c IN ('C0000001') OR Email IN ('anna@example.dk') OR Phone_E164__c IN ('+4512345678')"
        ), "{}", q[0].soql);
        assert!(q[1]
            .soql
            .contains("Primary_Contact__r.Email IN ('anna@example.dk')"));
        assert!(!q[1].soql.contains("Loyalty_Number__c IN"));
    }

    #[test]
    fn long_batches_are_chunked_under_the_url_cap_without_losing_keys() {
        let keys: Vec<MatchKey> = (0..3000)
            .map(|i| {
                MatchKey::Email(format!(
                    "a.rather.long.local.part.{i}@some-domain.example.com"
                ))
            })
            .collect();
        let data = "/services/data/v62.0";
        let q = plan(&FieldNames::default(), data, &me(), &keys);
        assert!(q.len() > 2, "expected several chunks");
        let mut found = 0;
        for query in &q {
            assert!(query_path(data, &query.soql).len() <= MAX_QUERY_URL_LEN);
            if query.object == SObject::Contact {
                found += query.soql.matches("@some-domain").count();
            }
        }
        assert_eq!(found, 3000);
    }

    #[test]
    fn a_wishlist_is_read_oldest_first_by_customer_number() {
        assert_eq!(
            wishlist(&WishlistNames::default(), "C0000001"),
            "SELECT Id, SKU__c, Added_At__c, Channel__c, Samlet_Key__c, CreatedDate FROM Wishlist_Item__c \
             WHERE Customer_Number__c = 'C0000001' ORDER BY Added_At__c, Id"
        );
        assert_eq!(
            owner(SObject::Account, &FieldNames::default(), "C'1"),
            r"SELECT Id FROM Account WHERE Customer_Number__c = 'C\'1'"
        );
    }

    #[test]
    fn unmatchable_keys_are_not_sent() {
        let keys = [MatchKey::LoyaltyNumber("x".repeat(300))];
        assert!(plan(&FieldNames::default(), "/services/data/v62.0", &me(), &keys).is_empty());
    }
}
