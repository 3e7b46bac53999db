//! HTTP calls to Klaviyo's server API (`/api/…`) in its dialect, and the wire types.
//!
//! Every call carries `Authorization: Klaviyo-API-Key <private key>`, the pinned `revision`
//! header (required by Klaviyo on every call) and `Accept: application/vnd.api+json`. Bodies
//! are JSON:API documents. Collections are paged by cursor: the connector never builds a
//! cursor itself, it follows `links.next` (re-based onto the configured origin, so the key is
//! never sent to a host named by a response). Errors are `{"errors":[{id, status, code, title,
//! detail, source}]}`; their `code` and `detail` become the error message.
//!
//! A private key is not a token: there is nothing to refresh, so a 401 is reported at once
//! as [`ErrorKind::Unauthorized`] instead of being retried.

use crate::config::KlaviyoConfig;
use crate::events::KlaviyoEvent;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use samlet_connector::prelude::*;
use serde::Deserialize;
use serde_json::{Map, Value};
use url::Url;

/// The JSON:API media type Klaviyo speaks.
pub const JSON_API: &str = "application/vnd.api+json";
/// The largest `page[size]` `GET /api/profiles` accepts.
pub const MAX_PROFILE_PAGE: usize = 100;
/// The most values one `any(field,[…])` filter carries: one page of answers.
pub const MAX_FILTER_VALUES: usize = MAX_PROFILE_PAGE;
/// The `Authorization` scheme for private keys.
const KEY_SCHEME: &str = "Klaviyo-API-Key ";
/// The largest `page[size]` `GET /api/coupon-codes` accepts.
pub const MAX_COUPON_CODE_PAGE: usize = 100;
/// The largest `page[size]` `GET /api/events` accepts.
pub const MAX_EVENT_PAGE: usize = 1000;
/// Guard against a vendor that keeps answering with a `next` link.
const MAX_PAGES: usize = 100_000;

// ----- wire types ----------------------------------------------------------------------------

/// One page of `GET /api/profiles`.
#[derive(Debug, Deserialize)]
pub(crate) struct ProfilePage {
    pub data: Vec<ProfileResource>,
    #[serde(default)]
    pub links: Option<CollectionLinks>,
}

/// JSON:API collection links; only `next` matters to the connector.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct CollectionLinks {
    #[serde(default)]
    pub next: Option<String>,
}

/// A `profile` resource object.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct ProfileResource {
    pub id: String,
    #[serde(default)]
    pub attributes: ProfileAttributes,
}

/// The profile attributes the connector reads. Every field is nullable in the spec.
/// Timestamps stay strings here and are parsed leniently in [`crate::mapping`], so one odd
/// timestamp does not fail a whole page.
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct ProfileAttributes {
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub phone_number: Option<String>,
    #[serde(default)]
    pub external_id: Option<String>,
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    #[serde(default)]
    pub organization: Option<String>,
    #[serde(default)]
    pub updated: Option<String>,
    #[serde(default)]
    pub location: Option<ProfileLocation>,
    #[serde(default)]
    pub properties: Option<Map<String, Value>>,
    /// Present only with `additional-fields[profile]=subscriptions`.
    #[serde(default)]
    pub subscriptions: Option<Subscriptions>,
}

/// `ProfileLocation` (the connector ignores coordinates, region, time zone and IP).
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct ProfileLocation {
    #[serde(default)]
    pub address1: Option<String>,
    #[serde(default)]
    pub address2: Option<String>,
    #[serde(default)]
    pub city: Option<String>,
    #[serde(default)]
    pub country: Option<String>,
    #[serde(default)]
    pub zip: Option<String>,
}

/// `Subscriptions`: consent per channel.
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct Subscriptions {
    #[serde(default)]
    pub email: Option<ChannelSubscriptions>,
    #[serde(default)]
    pub sms: Option<ChannelSubscriptions>,
}

/// `EmailChannel` / `SMSChannel`: the connector reads only `marketing`.
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct ChannelSubscriptions {
    #[serde(default)]
    pub marketing: Option<MarketingConsent>,
}

/// `EmailMarketing` / `SMSMarketing`: `consent` is `SUBSCRIBED`, `UNSUBSCRIBED` or
/// `NEVER_SUBSCRIBED`.
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct MarketingConsent {
    #[serde(default)]
    pub consent: Option<String>,
    #[serde(default)]
    pub consent_timestamp: Option<String>,
    #[serde(default)]
    pub last_updated: Option<String>,
}

/// A `coupon-code` resource (`CouponCodeResponseObjectResource`).
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct CouponCodeResource {
    /// `<coupon id>-<unique code>`.
    pub id: String,
    #[serde(default)]
    pub attributes: CouponCodeAttributes,
    #[serde(default)]
    pub relationships: CouponCodeRelationships,
}

/// Coupon code attributes; all nullable in the spec.
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct CouponCodeAttributes {
    #[serde(default)]
    pub unique_code: Option<String>,
    #[serde(default)]
    pub expires_at: Option<String>,
    /// `ASSIGNED_TO_PROFILE`, `DELETING`, `PROCESSING`, `UNASSIGNED`, `USED`,
    /// `VERSION_NOT_ACTIVE`.
    #[serde(default)]
    pub status: Option<String>,
}

/// The coupon and the profile a code belongs to (either may come with links only).
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct CouponCodeRelationships {
    #[serde(default)]
    pub coupon: Option<Relationship>,
    #[serde(default)]
    pub profile: Option<Relationship>,
}

/// A to-one relationship: `{data: {type, id}, links}`; `data` is absent or null when
/// Klaviyo only links it.
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct Relationship {
    #[serde(default)]
    pub data: Option<ResourceId>,
}

/// A resource identifier object.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct ResourceId {
    pub id: String,
}

impl CouponCodeResource {
    /// The id of the profile the code is assigned to.
    pub(crate) fn profile_id(&self) -> Option<&str> {
        self.relationships
            .profile
            .as_ref()
            .and_then(|r| r.data.as_ref())
            .map(|d| d.id.as_str())
    }

    /// The id of the code's coupon.
    pub(crate) fn coupon_id(&self) -> Option<&str> {
        self.relationships
            .coupon
            .as_ref()
            .and_then(|r| r.data.as_ref())
            .map(|d| d.id.as_str())
    }
}

#[derive(Debug, Deserialize)]
struct CouponCodeDocument {
    data: CouponCodeResource,
}

#[derive(Debug, Deserialize)]
struct CouponCodePage {
    data: Vec<CouponCodeResource>,
    #[serde(default)]
    links: Option<CollectionLinks>,
}

/// An event as `GET /api/events` lists it, with what the connector reads.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct EventResource {
    #[serde(default)]
    pub attributes: EventAttributes,
    #[serde(default)]
    pub relationships: EventRelationships,
}

/// Event attributes.
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct EventAttributes {
    #[serde(default)]
    pub datetime: Option<String>,
    #[serde(default)]
    pub event_properties: Option<Map<String, Value>>,
}

/// An event's metric.
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct EventRelationships {
    #[serde(default)]
    pub metric: Option<Relationship>,
}

/// A `metric` resource included with events (`include=metric`).
#[derive(Debug, Clone, Deserialize)]
struct IncludedMetric {
    #[serde(rename = "type")]
    kind: String,
    id: String,
    #[serde(default)]
    attributes: Option<Map<String, Value>>,
}

#[derive(Debug, Deserialize)]
struct EventPage {
    data: Vec<EventResource>,
    #[serde(default)]
    included: Vec<IncludedMetric>,
    #[serde(default)]
    links: Option<CollectionLinks>,
}

/// What a `PATCH /api/coupon-codes/{id}` came to.
#[derive(Debug)]
pub(crate) enum CodeUpdate {
    /// Updated; the code as it now is.
    Updated(CouponCodeResource),
    /// Klaviyo refused the change as a conflict (409), with its message.
    Conflict(String),
}

/// Klaviyo's error document.
#[derive(Debug, Deserialize)]
struct ErrorBody {
    errors: Vec<ErrorObject>,
}

#[derive(Debug, Deserialize)]
struct ErrorObject {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    detail: Option<String>,
}

/// The vendor's message from an error reply: `code: detail` of each error, or the start of
/// the body when it is not Klaviyo's error document.
pub(crate) fn vendor_message(reply: &Reply) -> String {
    match serde_json::from_slice::<ErrorBody>(&reply.body) {
        Ok(body) if !body.errors.is_empty() => body
            .errors
            .iter()
            .map(|e| {
                let code = e.code.as_deref().unwrap_or("error");
                let text = e.detail.as_deref().or(e.title.as_deref()).unwrap_or("");
                format!("{code}: {text}")
            })
            .collect::<Vec<_>>()
            .join("; "),
        _ => reply.snippet(200),
    }
}

/// A filter string value, double-quoted with `\\` and `"` escaped.
pub(crate) fn quote(v: &str) -> String {
    format!("\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\""))
}

// ----- the client ----------------------------------------------------------------------------

/// A client of Klaviyo's server API for one connector instance: pooled HTTP, deadlines and
/// retries from [`Upstream`], the private key, and the pinned revision.
#[derive(Debug, Clone)]
pub struct KlaviyoClient {
    upstream: Upstream,
    /// The origin (and any path prefix), always ending in `/`.
    base: Url,
    api_key: Secret,
    revision: String,
}

impl KlaviyoClient {
    /// A client for connector `name`. No network I/O.
    pub fn new(
        name: ConnectorName,
        config: &KlaviyoConfig,
        policy: UpstreamPolicy,
    ) -> Result<KlaviyoClient, ConnectorError> {
        let mut raw = config.base_url.trim().to_owned();
        if !raw.ends_with('/') {
            raw.push('/');
        }
        let base = Url::parse(&raw).map_err(|e| {
            ConnectorError::new(
                ErrorKind::BadRequest,
                &name,
                format!("base_url `{}` is not a URL: {e}", config.base_url),
            )
        })?;
        Ok(KlaviyoClient {
            upstream: Upstream::new(name, policy)?,
            base,
            api_key: config.api_key.clone(),
            revision: config.revision.clone(),
        })
    }

    /// The connector instance's name.
    pub fn name(&self) -> &ConnectorName {
        self.upstream.name()
    }

    fn error(&self, kind: ErrorKind, message: impl Into<String>) -> ConnectorError {
        ConnectorError::new(kind, self.upstream.name(), message)
    }

    /// `base` + `path` (a path below the origin, without a leading `/`).
    fn endpoint(&self, path: &str) -> Result<Url, ConnectorError> {
        self.base
            .join(path)
            .map_err(|e| self.error(ErrorKind::BadRequest, format!("bad path {path}: {e}")))
    }

    /// The URL of the first page of `GET /api/profiles/` with `params`.
    pub(crate) fn profiles_url(&self, params: &[(&str, String)]) -> Result<Url, ConnectorError> {
        let mut url = self.endpoint("api/profiles/")?;
        url.query_pairs_mut()
            .extend_pairs(params.iter().map(|(k, v)| (*k, v.as_str())));
        Ok(url)
    }

    /// Turns a `links.next` from a response into the URL to call. A link on our origin is
    /// used as is; any other host is replaced by the configured origin (keeping path and
    /// query), so the key only ever goes where the configuration says.
    pub(crate) fn follow(&self, link: &str) -> Result<Url, ConnectorError> {
        let next = Url::parse(link).map_err(|e| {
            self.error(
                ErrorKind::InvalidResponse,
                format!("links.next is not a URL: {e}"),
            )
        })?;
        if next.origin() == self.base.origin() {
            return Ok(next);
        }
        let mut rebased = self.endpoint(next.path().trim_start_matches('/'))?;
        rebased.set_query(next.query());
        Ok(rebased)
    }

    fn request(&self, rb: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        rb.header(
            AUTHORIZATION,
            format!("{KEY_SCHEME}{}", self.api_key.expose()),
        )
        .header("revision", self.revision.as_str())
        .header(ACCEPT, JSON_API)
    }

    /// Reads one page of profiles at `url`.
    pub(crate) async fn profile_page(&self, url: &Url) -> Result<ProfilePage, ConnectorError> {
        let reply = self
            .upstream
            .send(true, |c| self.request(c.get(url.clone())))
            .await?;
        if !reply.status.is_success() {
            let msg = format!("GET /api/profiles: {}", vendor_message(&reply));
            return Err(status_error(self.upstream.name(), &reply, &msg));
        }
        reply.json(self.upstream.name(), "GET /api/profiles")
    }

    /// Every profile `GET /api/profiles/` answers with `params`, following `links.next`.
    pub(crate) async fn profiles(
        &self,
        params: &[(&str, String)],
    ) -> Result<Vec<ProfileResource>, ConnectorError> {
        let mut url = self.profiles_url(params)?;
        let mut out = Vec::new();
        for _ in 0..MAX_PAGES {
            let page = self.profile_page(&url).await?;
            let empty = page.data.is_empty();
            out.extend(page.data);
            match page.links.and_then(|l| l.next) {
                Some(next) if !empty => url = self.follow(&next)?,
                _ => return Ok(out),
            }
        }
        Err(self.error(
            ErrorKind::InvalidResponse,
            format!("GET /api/profiles: still linking onward after {MAX_PAGES} pages"),
        ))
    }

    /// The URL of `path` with `params` (`path` below the origin, without a leading `/`).
    fn url_with(&self, path: &str, params: &[(&str, String)]) -> Result<Url, ConnectorError> {
        let mut url = self.endpoint(path)?;
        if !params.is_empty() {
            url.query_pairs_mut()
                .extend_pairs(params.iter().map(|(k, v)| (*k, v.as_str())));
        }
        Ok(url)
    }

    /// `api/coupon-codes/<id>/`, the id as one percent-encoded path segment.
    fn coupon_code_url(&self, id: &str) -> Result<Url, ConnectorError> {
        let mut url = self.endpoint("api/coupon-codes/")?;
        url.path_segments_mut()
            .map_err(|()| self.error(ErrorKind::BadRequest, "base_url cannot take a path"))?
            .pop_if_empty()
            .push(id)
            .push("");
        Ok(url)
    }

    /// A GET that answers `None` on 404.
    async fn get_optional<T: serde::de::DeserializeOwned>(
        &self,
        url: &Url,
        what: &str,
    ) -> Result<Option<T>, ConnectorError> {
        let reply = self
            .upstream
            .send(true, |c| self.request(c.get(url.clone())))
            .await?;
        if reply.status == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !reply.status.is_success() {
            let msg = format!("{what}: {}", vendor_message(&reply));
            return Err(status_error(self.upstream.name(), &reply, &msg));
        }
        reply.json(self.upstream.name(), what).map(Some)
    }

    /// `GET /api/coupon-codes/{id}` (`id` = `<coupon id>-<unique code>`); `None` if Klaviyo
    /// knows no such code.
    pub(crate) async fn coupon_code(
        &self,
        id: &str,
    ) -> Result<Option<CouponCodeResource>, ConnectorError> {
        let url = self.coupon_code_url(id)?;
        let doc: Option<CouponCodeDocument> = self
            .get_optional(&url, "GET /api/coupon-codes/{id}")
            .await?;
        Ok(doc.map(|d| d.data))
    }

    /// Every code `GET /api/coupon-codes/` answers for `filter`, following `links.next`.
    pub(crate) async fn coupon_codes(
        &self,
        filter: String,
    ) -> Result<Vec<CouponCodeResource>, ConnectorError> {
        let what = "GET /api/coupon-codes";
        let mut url = self.url_with(
            "api/coupon-codes/",
            &[
                ("filter", filter),
                ("page[size]", MAX_COUPON_CODE_PAGE.to_string()),
            ],
        )?;
        let mut out = Vec::new();
        for _ in 0..MAX_PAGES {
            let reply = self
                .upstream
                .send(true, |c| self.request(c.get(url.clone())))
                .await?;
            if !reply.status.is_success() {
                let msg = format!("{what}: {}", vendor_message(&reply));
                return Err(status_error(self.upstream.name(), &reply, &msg));
            }
            let page: CouponCodePage = reply.json(self.upstream.name(), what)?;
            let empty = page.data.is_empty();
            out.extend(page.data);
            match page.links.and_then(|l| l.next) {
                Some(next) if !empty => url = self.follow(&next)?,
                _ => return Ok(out),
            }
        }
        Err(self.error(
            ErrorKind::InvalidResponse,
            format!("{what}: still linking onward after {MAX_PAGES} pages"),
        ))
    }

    /// `PATCH /api/coupon-codes/{id}` setting `status`. A write: sent once, never retried
    /// (the caller looks the code up before trying again). A 409 is answered as
    /// [`CodeUpdate::Conflict`]; other failures are errors.
    pub(crate) async fn set_coupon_code_status(
        &self,
        id: &str,
        status: &str,
    ) -> Result<CodeUpdate, ConnectorError> {
        let what = "PATCH /api/coupon-codes/{id}";
        let url = self.coupon_code_url(id)?;
        let body = serde_json::to_vec(&serde_json::json!({
            "data": {"type": "coupon-code", "id": id, "attributes": {"status": status}}
        }))
        .map_err(|e| self.error(ErrorKind::BadRequest, format!("cannot encode: {e}")))?;
        let reply = self
            .upstream
            .send(false, |c| {
                self.request(c.patch(url.clone()))
                    .header(CONTENT_TYPE, JSON_API)
                    .body(body.clone())
            })
            .await?;
        if reply.status == reqwest::StatusCode::CONFLICT {
            return Ok(CodeUpdate::Conflict(vendor_message(&reply)));
        }
        if !reply.status.is_success() {
            let msg = format!("{what}: {}", vendor_message(&reply));
            return Err(status_error(self.upstream.name(), &reply, &msg));
        }
        let doc: CouponCodeDocument = reply.json(self.upstream.name(), what)?;
        Ok(CodeUpdate::Updated(doc.data))
    }

    /// The `external_id` of profile `id` (`GET /api/profiles/{id}/?fields[profile]=external_id`);
    /// `Ok(None)` if there is no such profile or it has none.
    pub(crate) async fn profile_external_id(
        &self,
        id: &str,
    ) -> Result<Option<String>, ConnectorError> {
        let mut url = self.endpoint("api/profiles/")?;
        url.path_segments_mut()
            .map_err(|()| self.error(ErrorKind::BadRequest, "base_url cannot take a path"))?
            .pop_if_empty()
            .push(id)
            .push("");
        url.query_pairs_mut()
            .append_pair("fields[profile]", "external_id");
        #[derive(Deserialize)]
        struct Doc {
            data: ProfileResource,
        }
        let doc: Option<Doc> = self.get_optional(&url, "GET /api/profiles/{id}").await?;
        Ok(doc.and_then(|d| d.data.attributes.external_id))
    }

    /// A profile's events of the metric named `metric`, newest first (`GET /api/events/`
    /// filtered by `profile_id`, with `include=metric` to name each event's metric), read
    /// page by page until `stop` says enough or `max_pages` pages were read.
    pub(crate) async fn profile_events(
        &self,
        profile_id: &str,
        metric: &str,
        max_pages: usize,
        mut stop: impl FnMut(&EventResource) -> bool,
    ) -> Result<Vec<EventResource>, ConnectorError> {
        let what = "GET /api/events";
        let mut url = self.url_with(
            "api/events/",
            &[
                (
                    "filter",
                    format!("equals(profile_id,{})", quote(profile_id)),
                ),
                ("sort", "-datetime".to_owned()),
                ("include", "metric".to_owned()),
                ("fields[event]", "datetime,event_properties".to_owned()),
                ("page[size]", MAX_EVENT_PAGE.to_string()),
            ],
        )?;
        let mut out = Vec::new();
        for _ in 0..max_pages.max(1) {
            let reply = self
                .upstream
                .send(true, |c| self.request(c.get(url.clone())))
                .await?;
            if !reply.status.is_success() {
                let msg = format!("{what}: {}", vendor_message(&reply));
                return Err(status_error(self.upstream.name(), &reply, &msg));
            }
            let page: EventPage = reply.json(self.upstream.name(), what)?;
            let wanted: std::collections::HashSet<&str> = page
                .included
                .iter()
                .filter(|m| m.kind == "metric")
                .filter(|m| {
                    m.attributes
                        .as_ref()
                        .and_then(|a| a.get("name"))
                        .and_then(Value::as_str)
                        == Some(metric)
                })
                .map(|m| m.id.as_str())
                .collect();
            let mut done = false;
            for e in &page.data {
                let of_metric = e
                    .relationships
                    .metric
                    .as_ref()
                    .and_then(|r| r.data.as_ref())
                    .is_some_and(|d| wanted.contains(d.id.as_str()));
                if of_metric {
                    done |= stop(e);
                    out.push(e.clone());
                }
            }
            match page.links.and_then(|l| l.next) {
                Some(next) if !done && !page.data.is_empty() => url = self.follow(&next)?,
                _ => return Ok(out),
            }
        }
        Ok(out)
    }

    /// Tracks `event` with `POST /api/events/` (Klaviyo answers 202: accepted and queued, not
    /// yet processed). With a `unique_id` Klaviyo records an event only once per profile and
    /// metric, so the call is then safe to retry and is retried like a read; without one it
    /// is sent exactly once. An event without any profile identifier or metric name is
    /// refused without a request.
    pub async fn create_event(&self, event: &KlaviyoEvent) -> Result<(), ConnectorError> {
        if let Err(why) = event.check() {
            return Err(self.error(ErrorKind::BadRequest, why));
        }
        let body = serde_json::to_vec(&event.to_wire()).map_err(|e| {
            self.error(
                ErrorKind::BadRequest,
                format!("cannot encode the event: {e}"),
            )
        })?;
        let url = self.endpoint("api/events/")?;
        let reply = self
            .upstream
            .send(event.unique_id.is_some(), |c| {
                self.request(c.post(url.clone()))
                    .header(CONTENT_TYPE, JSON_API)
                    .body(body.clone())
            })
            .await?;
        if reply.status.is_success() {
            Ok(())
        } else {
            let msg = format!("POST /api/events: {}", vendor_message(&reply));
            Err(status_error(self.upstream.name(), &reply, &msg))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderMap;
    use reqwest::StatusCode;

    fn client(base: &str) -> KlaviyoClient {
        let config = KlaviyoConfig {
            base_url: base.to_owned(),
            api_key: Secret::new("pk_test"),
            revision: "2026-07-15".to_owned(),
            properties: Default::default(),
            index_loyalty_numbers: true,
            vouchers: Default::default(),
        };
        KlaviyoClient::new(
            ConnectorName::new("mkt"),
            &config,
            UpstreamPolicy::default(),
        )
        .expect("client")
    }

    fn reply(status: u16, body: &str) -> Reply {
        Reply {
            status: StatusCode::from_u16(status).expect("status"),
            headers: HeaderMap::new(),
            body: body.to_owned().into(),
        }
    }

    #[test]
    fn error_documents_become_code_and_detail() {
        let r = reply(
            401,
            r#"{"errors":[{"id":"x","status":401,"code":"not_authenticated","title":"Authentication credentials were not provided.","detail":"Missing or invalid private key.","source":{"pointer":"/data/"}}]}"#,
        );
        assert_eq!(
            vendor_message(&r),
            "not_authenticated: Missing or invalid private key."
        );
        assert_eq!(
            vendor_message(&reply(502, "<html>bad gateway")),
            "<html>bad gateway"
        );
    }

    #[test]
    fn next_links_stay_on_the_configured_origin() {
        let c = client("http://127.0.0.1:9/");
        let same = c
            .follow("http://127.0.0.1:9/api/profiles/?page%5Bcursor%5D=abc")
            .expect("same origin");
        assert_eq!(
            same.as_str(),
            "http://127.0.0.1:9/api/profiles/?page%5Bcursor%5D=abc"
        );
        let foreign = c
            .follow("https://evil.example/api/profiles/?page%5Bcursor%5D=abc")
            .expect("rebased");
        assert_eq!(
            foreign.as_str(),
            "http://127.0.0.1:9/api/profiles/?page%5Bcursor%5D=abc"
        );
        assert_eq!(
            c.follow("not a url").map_err(|e| e.kind).err(),
            Some(ErrorKind::InvalidResponse)
        );
    }

    #[test]
    fn a_path_prefix_in_the_base_url_is_kept() {
        let c = client("https://proxy.example/klaviyo");
        let url = c
            .profiles_url(&[("page[size]", "100".to_owned())])
            .expect("url");
        assert_eq!(
            url.as_str(),
            "https://proxy.example/klaviyo/api/profiles/?page%5Bsize%5D=100"
        );
    }
}
