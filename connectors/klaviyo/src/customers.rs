//! [`CustomerSource`] over Klaviyo profiles.
//!
//! `GET /api/profiles` filters with `any(field,[…])` on `email`, `phone_number`,
//! `external_id` and `id` (the spec's `filter` parameter), up to 100 values per request (the
//! `page[size]` cap, so one filter's answers fit one page). An external id addressed to this
//! connector is the profile id and goes to `any(id,[…])`. Klaviyo's filter language has no
//! `or`, so a batch costs one request per key kind per 100 keys; the requests of one batch
//! run concurrently. Every request asks for `additional-fields[profile]=subscriptions` so
//! consents come along.
//!
//! Loyalty numbers live in a custom property, which no Klaviyo endpoint can filter on. When
//! `index_loyalty_numbers` is on, the connector keeps a [`LoyaltyIndex`] (loyalty number ->
//! profile id) and fetches the indexed profiles by `id`; see its docs for the cost.

use crate::client::{quote, KlaviyoClient, ProfileResource, MAX_FILTER_VALUES, MAX_PROFILE_PAGE};
use crate::config::PropertyNames;
use crate::mapping::{self, customer_record};
use chrono::{DateTime, SecondsFormat, Utc};
use futures::future::try_join_all;
use samlet_connector::prelude::*;
use std::collections::{BTreeSet, HashSet};
use std::time::{Duration, Instant};

/// Asks Klaviyo to include consents.
const SUBSCRIPTIONS: (&str, &str) = ("additional-fields[profile]", "subscriptions");
/// A loyalty index refreshed this recently is used without another delta request.
const INDEX_FRESHNESS: Duration = Duration::from_secs(1);

/// Customer records from Klaviyo profiles.
#[derive(Debug)]
pub(crate) struct KlaviyoCustomers {
    client: KlaviyoClient,
    props: PropertyNames,
    loyalty: Option<LoyaltyIndex>,
}

impl KlaviyoCustomers {
    /// A source over `client`; `index_loyalty` turns loyalty-number lookups on.
    pub(crate) fn new(client: KlaviyoClient, props: PropertyNames, index_loyalty: bool) -> Self {
        KlaviyoCustomers {
            client,
            props,
            loyalty: index_loyalty.then(LoyaltyIndex::default),
        }
    }

    /// Profiles whose `field` is any of `values`: one request per 100 values, concurrently.
    async fn profiles_by(
        &self,
        field: &str,
        values: &[String],
    ) -> ConnectorResult<Vec<ProfileResource>> {
        let calls = values.chunks(MAX_FILTER_VALUES).map(|chunk| {
            let params = [
                ("filter", any_filter(field, chunk)),
                ("page[size]", MAX_PROFILE_PAGE.to_string()),
                (SUBSCRIPTIONS.0, SUBSCRIPTIONS.1.to_owned()),
            ];
            async move { self.client.profiles(&params).await }
        });
        Ok(try_join_all(calls).await?.into_iter().flatten().collect())
    }

    /// Profiles holding `numbers` as their loyalty number, via the index.
    async fn profiles_by_loyalty(
        &self,
        numbers: &[String],
    ) -> ConnectorResult<Vec<ProfileResource>> {
        let Some(index) = &self.loyalty else {
            return Ok(Vec::new());
        };
        if numbers.is_empty() {
            return Ok(Vec::new());
        }
        let ids = index.resolve(&self.client, &self.props, numbers).await?;
        self.profiles_by("id", &ids).await
    }
}

/// `any(field,["a","b"])`, strings quoted and escaped.
pub(crate) fn any_filter(field: &str, values: &[String]) -> String {
    let quoted: Vec<String> = values.iter().map(|v| quote(v)).collect();
    format!("any({field},[{}])", quoted.join(","))
}

/// The normalised form of a key, as the connector stores and compares it; `None` for a key
/// that cannot match anything (e.g. a phone number that is not international).
fn normalised(me: &ConnectorName, key: &MatchKey) -> Option<MatchKey> {
    Some(match key {
        MatchKey::ExternalId { .. } => MatchKey::ExternalId {
            connector: me.clone(),
            id: key.external_id_for(me)?.trim().to_owned(),
        },
        MatchKey::Email(e) => MatchKey::Email(normalize_email(e)?),
        // Klaviyo stores E.164; without a country, only international numbers can be read.
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

#[async_trait]
impl CustomerSource for KlaviyoCustomers {
    async fn customers(
        &self,
        _cx: &RequestContext,
        keys: &[MatchKey],
    ) -> ConnectorResult<HashMap<MatchKey, Vec<CustomerRecord>>> {
        let wanted: Vec<(&MatchKey, MatchKey)> = keys
            .iter()
            .filter_map(|k| Some((k, normalised(self.client.name(), k)?)))
            .collect();
        let (mut emails, mut phones, mut numbers, mut loyalty, mut ids) = (
            BTreeSet::new(),
            BTreeSet::new(),
            BTreeSet::new(),
            BTreeSet::new(),
            BTreeSet::new(),
        );
        for (_, k) in &wanted {
            match k {
                MatchKey::Email(e) => emails.insert(e.clone()),
                MatchKey::Phone(p) => phones.insert(p.clone()),
                MatchKey::CustomerNumber(n) => numbers.insert(n.as_str().to_owned()),
                MatchKey::LoyaltyNumber(l) => loyalty.insert(l.clone()),
                MatchKey::ExternalId { id, .. } => ids.insert(id.clone()),
            };
        }
        let [emails, phones, numbers, loyalty, ids] =
            [emails, phones, numbers, loyalty, ids].map(|s| s.into_iter().collect::<Vec<_>>());
        let (by_email, by_phone, by_number, by_loyalty, by_id) = futures::try_join!(
            self.profiles_by("email", &emails),
            self.profiles_by("phone_number", &phones),
            self.profiles_by("external_id", &numbers),
            self.profiles_by_loyalty(&loyalty),
            self.profiles_by("id", &ids),
        )?;
        let mut seen = HashSet::new();
        let records: Vec<CustomerRecord> = [by_email, by_phone, by_number, by_loyalty, by_id]
            .into_iter()
            .flatten()
            .filter(|p| seen.insert(p.id.clone()))
            .map(|p| customer_record(self.client.name(), &self.props, &p))
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

/// Loyalty number -> profile id, for a vendor that cannot filter on custom properties.
///
/// Built by walking `GET /api/profiles?sort=updated&fields[profile]=properties,updated`
/// page by page (one request per 100 profiles), then kept current by asking only for
/// profiles with `greater-than(updated, <latest seen - 1 s>)` before each lookup batch
/// (usually one request; skipped if the index was refreshed within the last second).
/// Because the walk is ordered by `updated`, an interrupted walk (e.g. by Klaviyo's steady
/// rate limit on a large account) resumes where it stopped on the next lookup. Lookups fail
/// with the walk's error until it has completed once, rather than answering "absent" for a
/// number not yet indexed. Fetched profiles are checked against the key, so a stale entry
/// never yields a wrong customer. Memory: two map entries per member profile.
#[derive(Debug, Default)]
pub(crate) struct LoyaltyIndex {
    state: tokio::sync::Mutex<IndexState>,
}

#[derive(Debug, Default)]
struct IndexState {
    by_number: HashMap<String, String>,
    by_profile: HashMap<String, String>,
    /// The latest `updated` seen: everything updated up to it is indexed.
    watermark: Option<DateTime<Utc>>,
    /// When the last walk reached the end of the collection.
    refreshed: Option<Instant>,
}

impl IndexState {
    fn record(&mut self, profile: &str, number: Option<String>) {
        let old = match &number {
            Some(n) => self.by_profile.insert(profile.to_owned(), n.clone()),
            None => self.by_profile.remove(profile),
        };
        if let Some(old) = old.filter(|o| Some(o) != number.as_ref()) {
            if self.by_number.get(&old).map(String::as_str) == Some(profile) {
                self.by_number.remove(&old);
            }
        }
        if let Some(n) = number {
            self.by_number.insert(n, profile.to_owned());
        }
    }
}

impl LoyaltyIndex {
    /// The profile ids of `numbers` that are indexed, after bringing the index up to date.
    async fn resolve(
        &self,
        client: &KlaviyoClient,
        props: &PropertyNames,
        numbers: &[String],
    ) -> ConnectorResult<Vec<String>> {
        let mut state = self.state.lock().await;
        let fresh = state
            .refreshed
            .is_some_and(|t| t.elapsed() < INDEX_FRESHNESS);
        if !fresh {
            Self::catch_up(&mut state, client, props).await?;
        }
        let mut ids: Vec<String> = numbers
            .iter()
            .filter_map(|n| state.by_number.get(n).cloned())
            .collect();
        ids.sort();
        ids.dedup();
        Ok(ids)
    }

    /// Walks every profile updated since the watermark, oldest change first.
    async fn catch_up(
        state: &mut IndexState,
        client: &KlaviyoClient,
        props: &PropertyNames,
    ) -> ConnectorResult<()> {
        let mut params = vec![
            ("sort", "updated".to_owned()),
            ("fields[profile]", "properties,updated".to_owned()),
            ("page[size]", MAX_PROFILE_PAGE.to_string()),
        ];
        if let Some(w) = state.watermark {
            // One second of overlap: profiles changed within the watermark's second may not
            // all have been seen. Klaviyo wants datetimes unquoted in filters.
            let since =
                (w - chrono::Duration::seconds(1)).to_rfc3339_opts(SecondsFormat::Secs, false);
            params.push(("filter", format!("greater-than(updated,{since})")));
        }
        let mut url = client.profiles_url(&params)?;
        loop {
            let page = client.profile_page(&url).await?;
            for p in &page.data {
                let number = p
                    .attributes
                    .properties
                    .as_ref()
                    .and_then(|m| mapping::property_text(m, &props.loyalty_number));
                state.record(&p.id, number);
                if let Some(t) = p
                    .attributes
                    .updated
                    .as_deref()
                    .and_then(mapping::parse_time)
                {
                    state.watermark = state.watermark.max(Some(t));
                }
            }
            match page.links.and_then(|l| l.next) {
                Some(next) if !page.data.is_empty() => url = client.follow(&next)?,
                _ => break,
            }
        }
        state.refreshed = Some(Instant::now());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_quote_and_escape_values() {
        assert_eq!(
            any_filter("email", &["a@x.dk".into(), "b\"c@x.dk".into()]),
            r#"any(email,["a@x.dk","b\"c@x.dk"])"#
        );
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
        let id = |c: &str, id: &str| MatchKey::ExternalId {
            connector: ConnectorName::new(c),
            id: id.into(),
        };
        assert_eq!(
            normalised(&me, &id("marketing", " 01J0PROFILE ")),
            Some(id("marketing", "01J0PROFILE"))
        );
        assert_eq!(normalised(&me, &id("crm", "01J0PROFILE")), None);
        assert_eq!(normalised(&me, &id("marketing", "  ")), None);
    }

    #[test]
    fn the_index_forgets_a_number_that_moved() {
        let mut s = IndexState::default();
        s.record("p1", Some("7001".into()));
        s.record("p1", Some("7002".into()));
        assert_eq!(s.by_number.get("7001"), None);
        assert_eq!(s.by_number.get("7002").map(String::as_str), Some("p1"));
        s.record("p2", Some("7002".into()));
        s.record("p1", None);
        assert_eq!(s.by_number.get("7002").map(String::as_str), Some("p2"));
    }
}
