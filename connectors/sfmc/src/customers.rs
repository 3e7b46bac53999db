//! [`CustomerSource`] over the customer data extension.
//!
//! Every key of a batch becomes one comparison on its column (`CustomerNumber eq 'C0000042'`,
//! `Email eq 'anna@example.dk'`, `MobilePhone eq '+4520000042'`, `LoyaltyNumber eq '71000042'`)
//! and the comparisons are joined with `or` into the `$filter` of one
//! `GET /data/v1/customobjectdata/key/{key}/rowset` request. Marketing Cloud documents no cap
//! on the number of terms, so a batch is split only when the request's path and query would
//! exceed `max_url_length`; the requests of one batch run concurrently (at most four at a
//! time), and a filter whose rows span pages is read page by page (`$page`).
//!
//! An external id addressed to this connector is the row's primary key (the customer number
//! column, which is also the ContactKey and the record's native id), so it becomes a
//! `CustomerNumber eq '…'` term of the same filter: no extra request.
//!
//! E-mail keys match whatever casing the data extension stores: data extension text
//! comparisons use SQL Server's case-insensitive collation. String literals are quoted with
//! `'`, a quote inside doubled (`''`).

use crate::client::{encode, rowset_path, RowsetItem, SfmcClient};
use crate::config::ColumnNames;
use crate::mapping::{customer_record, Row};
use futures::{StreamExt, TryStreamExt};
use samlet_connector::prelude::*;
use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;

/// Rowset requests of one batch in flight at once.
const CONCURRENCY: usize = 4;
/// A filter that pages more often than this is broken (2,500 × 1,000 rows).
const MAX_PAGES: u32 = 1_000;
/// `" or "`, percent-encoded.
const OR_ENCODED_LEN: usize = "%20or%20".len();

/// Customer records from one data extension.
#[derive(Debug)]
pub(crate) struct SfmcCustomers {
    client: Arc<SfmcClient>,
    key: String,
    columns: ColumnNames,
    page_size: u32,
    max_url_length: usize,
}

impl SfmcCustomers {
    /// A source reading data extension `key` through `client`.
    pub(crate) fn new(
        client: Arc<SfmcClient>,
        key: String,
        columns: ColumnNames,
        page_size: u32,
        max_url_length: usize,
    ) -> SfmcCustomers {
        SfmcCustomers {
            client,
            key,
            columns,
            page_size,
            max_url_length,
        }
    }

    /// Every row `filter` selects, page by page.
    async fn rows(&self, filter: &str) -> ConnectorResult<Vec<RowsetItem>> {
        let mut rows = Vec::new();
        for page in 1..=MAX_PAGES {
            let path = rowset_path(&self.key, Some(filter), page, self.page_size);
            let answer = self.client.rowset(&path).await?;
            let n = answer.items.len() as u64;
            rows.extend(answer.items);
            let seen = u64::from(page) * u64::from(self.page_size);
            let more = match answer.count {
                Some(count) => seen < count,
                None => n >= u64::from(self.page_size),
            };
            if n == 0 || !more {
                return Ok(rows);
            }
        }
        Err(ConnectorError::new(
            ErrorKind::InvalidResponse,
            self.client.name(),
            format!("rowset: still more rows after {MAX_PAGES} pages"),
        ))
    }
}

/// `value` as a filter string literal: `'…'`, quotes doubled.
pub(crate) fn literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// Joins `terms` with `or` into as few filters as keep each request's path and query within
/// `max_len` bytes. A term too long to fit any request is left out (no key that long can be
/// in a data extension column) and counted in the second result.
pub(crate) fn pack(
    key: &str,
    terms: &[String],
    page_size: u32,
    max_len: usize,
) -> (Vec<String>, usize) {
    // The request without a filter, with room for a five-digit page number.
    let fixed = rowset_path(key, Some(""), 99_999, page_size).len();
    let mut filters = Vec::new();
    let mut dropped = 0;
    let (mut current, mut len) = (Vec::<&str>::new(), fixed);
    for term in terms {
        let term_len = encode(term).len();
        if fixed + term_len > max_len {
            dropped += 1;
            continue;
        }
        if !current.is_empty() && len + OR_ENCODED_LEN + term_len > max_len {
            filters.push(current.join(" or "));
            current.clear();
            len = fixed;
        }
        if !current.is_empty() {
            len += OR_ENCODED_LEN;
        }
        len += term_len;
        current.push(term);
    }
    if !current.is_empty() {
        filters.push(current.join(" or "));
    }
    (filters, dropped)
}

/// The normalised form of a key, as the data extension stores it; `None` for a key that
/// cannot match anything (e.g. a phone number that is not international).
fn normalised(me: &ConnectorName, key: &MatchKey) -> Option<MatchKey> {
    Some(match key {
        MatchKey::ExternalId { .. } => MatchKey::ExternalId {
            connector: me.clone(),
            id: key.external_id_for(me)?.trim().to_owned(),
        },
        MatchKey::Email(e) => MatchKey::Email(normalize_email(e)?),
        // The data extension holds E.164; without a country only international numbers work.
        MatchKey::Phone(p) => MatchKey::Phone(normalize_phone(p, "")?),
        MatchKey::LoyaltyNumber(l) => MatchKey::LoyaltyNumber(l.trim().to_owned()),
        MatchKey::CustomerNumber(n) => {
            MatchKey::CustomerNumber(CustomerNumber::new(n.as_str().trim()))
        }
    })
    .filter(|k| match k {
        MatchKey::LoyaltyNumber(s) => !s.is_empty(),
        MatchKey::CustomerNumber(n) => !n.as_str().is_empty(),
        MatchKey::ExternalId { id, .. } => !id.is_empty(),
        _ => true,
    })
}

impl SfmcCustomers {
    /// The filter term that finds `key`.
    fn term(&self, key: &MatchKey) -> String {
        let (column, value) = match key {
            MatchKey::Email(e) => (&self.columns.email, e.as_str()),
            MatchKey::Phone(p) => (&self.columns.mobile_phone, p.as_str()),
            MatchKey::LoyaltyNumber(l) => (&self.columns.loyalty_number, l.as_str()),
            MatchKey::CustomerNumber(n) => (&self.columns.customer_number, n.as_str()),
            // The primary key column is the native id.
            MatchKey::ExternalId { id, .. } => (&self.columns.customer_number, id.as_str()),
        };
        format!("{column} eq {}", literal(value))
    }
}

#[async_trait]
impl CustomerSource for SfmcCustomers {
    async fn customers(
        &self,
        _cx: &RequestContext,
        keys: &[MatchKey],
    ) -> ConnectorResult<HashMap<MatchKey, Vec<CustomerRecord>>> {
        let wanted: Vec<(&MatchKey, MatchKey)> = keys
            .iter()
            .filter_map(|k| Some((k, normalised(self.client.name(), k)?)))
            .collect();
        let terms: Vec<String> = wanted
            .iter()
            .map(|(_, k)| self.term(k))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let (filters, dropped) = pack(&self.key, &terms, self.page_size, self.max_url_length);
        if dropped > 0 {
            tracing::debug!(connector = %self.client.name(), dropped, "keys too long for any request");
        }
        // The futures are collected first: a stream over a borrowing closure is not `Send`
        // enough for `async_trait`.
        let calls: Vec<_> = filters.iter().map(|f| self.rows(f)).collect();
        let pages: Vec<Vec<RowsetItem>> = futures::stream::iter(calls)
            .buffer_unordered(CONCURRENCY)
            .try_collect()
            .await?;
        let mut seen = HashSet::new();
        let records: Vec<CustomerRecord> = pages
            .iter()
            .flatten()
            .filter_map(|item| customer_record(self.client.name(), &self.columns, &Row::new(item)))
            .filter(|r| seen.insert(r.source.native_id.clone()))
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

    #[test]
    fn literals_double_their_quotes() {
        assert_eq!(literal("o'neil@x.dk"), "'o''neil@x.dk'");
        assert_eq!(literal("C1"), "'C1'");
    }

    #[test]
    fn terms_pack_into_as_few_filters_as_fit() {
        let terms: Vec<String> = (0..100)
            .map(|i| format!("Email eq 'someone.{i:03}@example.com'"))
            .collect();
        let (one, dropped) = pack("Samlet_Customers", &terms, 2500, 8000);
        assert_eq!((one.len(), dropped), (1, 0));
        assert_eq!(one[0].matches(" or ").count(), 99);
        let (several, _) = pack("Samlet_Customers", &terms, 2500, 1000);
        assert!(several.len() > 1);
        for f in &several {
            let path = rowset_path("Samlet_Customers", Some(f), 99_999, 2500);
            assert!(path.len() <= 1000, "{} > 1000", path.len());
        }
        let rejoined: Vec<&str> = several.iter().flat_map(|f| f.split(" or ")).collect();
        assert_eq!(rejoined.len(), 100, "no term lost or repeated");
    }

    #[test]
    fn a_term_that_fits_no_request_is_dropped() {
        let huge = format!("Email eq '{}@x.dk'", "a".repeat(2000));
        let (filters, dropped) = pack("K", &[huge, "Email eq 'b@x.dk'".into()], 2500, 600);
        assert_eq!(filters, vec!["Email eq 'b@x.dk'".to_owned()]);
        assert_eq!(dropped, 1);
    }

    #[test]
    fn keys_are_normalised_before_querying() {
        let me = ConnectorName::new("marketing");
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
            normalised(&me, &id("marketing", " C0000042 ")),
            Some(id("marketing", "C0000042"))
        );
        assert_eq!(normalised(&me, &id("crm", "C0000042")), None);
    }
}
