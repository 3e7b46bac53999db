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
