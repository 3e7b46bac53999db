//! HTTP calls to Voyado Engage's API (`/api/v3/…`, and `/api/v2/…` where v3 has no
//! equivalent) in its dialect, the wire types, and Voyado's error bodies.
//!
//! Every call carries `apikey: <key>`, the `User-Agent: System/Version` Voyado requires,
//! `Accept: application/json` and `Content-Type: application/json` (Voyado documents the
//! content type as mandatory on every request and answers 500 "An error has occurred"
//! without it). An API key is not a token: there is nothing to refresh, so a 401 is reported
//! at once as [`ErrorKind::Unauthorized`].
//!
//! Voyado resolves one contact per request, so a batch fans out. Every request of a client
//! passes one gate: at most `max_concurrency` in flight, and a token bucket of
//! `requests_per_second` (Voyado asks for fewer than 50 per second and answers 429 above 200).
//!
//! Errors carry a status and an error code, e.g. 404 `ContactNotFound`. The body is read
//! leniently (`errorCode`/`ErrorCode`/`code`, `message`/`Message`/`title`). A 404 counts as
//! "absent" only when its body says `ContactNotFound` (or the resource's own not-found code):
//! a 404 from anything else (a wrong path, a proxy) is an error, not a missing customer.

use crate::config::{CustomKey, VoyadoConfig};
use reqwest::header::{ACCEPT, CONTENT_TYPE, USER_AGENT};
use reqwest::StatusCode;
use samlet_connector::prelude::*;
use serde::Deserialize;
use serde_json::{Map, Value};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio::time::Instant;
use url::Url;

/// The media type Voyado speaks.
pub const JSON: &str = "application/json";
/// The header carrying the API key.
pub const APIKEY_HEADER: &str = "apikey";

// ----- wire types ----------------------------------------------------------------------------

/// A contact as `GET /api/v3/contacts/{contactId}` (and the v2 contact endpoints) return it.
/// Which attributes exist depends on the tenant's configuration, so they stay a JSON map and
/// are read by name in the mapping.
#[derive(Debug, Clone, Deserialize)]
pub struct Contact {
    /// The contact id (a GUID).
    pub id: String,
    /// Standard and tenant-defined attributes (`firstName`, `email`, `memberNumber`, …).
    #[serde(default)]
    pub attributes: Map<String, Value>,
    /// Bookkeeping: `contactType`, `createdOn`, `modifiedOn`, …
    #[serde(default)]
    pub meta: Option<ContactMeta>,
    /// Communication preferences (`acceptsEmail`, `acceptsSms`, `acceptsPostal`).
    #[serde(default)]
    pub preferences: Option<Preferences>,
}

/// `contact.meta`: the fields the connector reads.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContactMeta {
    /// The contact type handle, e.g. `Member` or `Contact`.
    #[serde(default)]
    pub contact_type: Option<String>,
    /// Last change, ISO 8601 with offset.
    #[serde(default)]
    pub modified_on: Option<String>,
}

/// `contact.preferences`: whether the contact accepts marketing per channel. A missing or
/// `null` preference is unknown, not a refusal.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Preferences {
    /// Marketing e-mail.
    #[serde(default)]
    pub accepts_email: Option<bool>,
    /// Marketing SMS.
    #[serde(default)]
    pub accepts_sms: Option<bool>,
    /// Postal mail (not part of the normalised model).
    #[serde(default)]
    pub accepts_postal: Option<bool>,
}

/// The string member `names` of an error body (the first present), if the body is a JSON
/// object.
fn body_field(reply: &Reply, names: &[&str]) -> Option<String> {
    match serde_json::from_slice::<Value>(&reply.body).ok()? {
        Value::Object(map) => names
            .iter()
            .find_map(|n| map.get(*n).and_then(Value::as_str).map(str::to_owned)),
        _ => None,
    }
}

/// The error code of a reply (`errorCode`, `ErrorCode` or `code`), if its body is one of
/// Voyado's error bodies (extra members such as `statusCode` or `correlationId` are ignored).
pub(crate) fn error_code(reply: &Reply) -> Option<String> {
    body_field(reply, &["errorCode", "ErrorCode", "code"])
}

/// The vendor's message from an error reply: `code: message`, or the start of the body when
/// it is not one of Voyado's error bodies.
pub(crate) fn vendor_message(reply: &Reply) -> String {
    let code = error_code(reply);
    let message = body_field(reply, &["message", "Message", "title", "detail"]);
    match (code, message) {
        (Some(c), Some(m)) => format!("{c}: {m}"),
        (Some(c), None) => c,
        (None, Some(m)) => m,
        (None, None) => reply.snippet(200),
    }
}

// ----- the request gate ----------------------------------------------------------------------

/// Bounds one client's requests: a semaphore for concurrency and a token bucket for rate.
#[derive(Debug)]
pub(crate) struct Gate {
    in_flight: Semaphore,
    rate: f64,
    burst: f64,
    bucket: Mutex<(f64, Instant)>,
}

impl Gate {
    /// At most `concurrency` requests at once and `per_second` per second (one second of
    /// burst).
    pub(crate) fn new(concurrency: u32, per_second: u32) -> Gate {
        let rate = f64::from(per_second.max(1));
        Gate {
            in_flight: Semaphore::new(concurrency.max(1) as usize),
            rate,
            burst: rate,
            bucket: Mutex::new((rate, Instant::now())),
        }
    }

    /// Reserves one token and says how long to wait for it. Reservations may drive the bucket
    /// negative; that debt is the queue, served in reservation order at `rate`.
    fn reserve(&self) -> Duration {
        let mut b = self.bucket.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        let refill = now.duration_since(b.1).as_secs_f64() * self.rate;
        b.0 = (b.0 + refill).min(self.burst) - 1.0;
        b.1 = now;
        if b.0 >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-b.0 / self.rate)
        }
    }

    /// Runs `call` once a slot and a token are free.
    pub(crate) async fn run<T>(&self, call: impl std::future::Future<Output = T>) -> T {
        let _permit = self.in_flight.acquire().await;
        let wait = self.reserve();
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
        call.await
    }
}

// ----- the client ----------------------------------------------------------------------------

/// How `GET /api/v3/contacts/id` is asked: by one identifier.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ContactLookup {
    /// `email=` (Voyado compares e-mails without regard to case).
    Email(String),
    /// `mobilePhone=` in E.164.
    MobilePhone(String),
    /// `customKey=`: the tenant's custom key, the `externalId` or the `memberNumber` (see
    /// [`CustomKey`]).
    CustomKey(String),
}

impl ContactLookup {
    fn param(&self) -> (&'static str, &str) {
        match self {
            ContactLookup::Email(v) => ("email", v),
            ContactLookup::MobilePhone(v) => ("mobilePhone", v),
            ContactLookup::CustomKey(v) => ("customKey", v),
        }
    }
}

/// The 400 codes of `GET /api/v3/contacts/id` that mean "this value cannot name a contact":
/// for a batch read, the key is absent rather than the batch failed.
const UNMATCHABLE: &[&str] = &[
    "InvalidEmailAddress",
    "InvalidPhoneNumber",
    "InvalidSocialSecurityNumber",
];

/// A client of Voyado Engage's API for one connector instance: pooled HTTP, deadlines and
/// retries from [`Upstream`], the API key, the `User-Agent`, and the request gate.
#[derive(Debug, Clone)]
pub struct VoyadoClient {
    upstream: Upstream,
    /// The origin (and any path prefix), always ending in `/`.
    base: Url,
    api_key: Secret,
    user_agent: String,
    custom_key: CustomKey,
    gate: Arc<Gate>,
}

impl VoyadoClient {
    /// A client for connector `name`. No network I/O.
    pub fn new(
        name: ConnectorName,
        config: &VoyadoConfig,
        policy: UpstreamPolicy,
    ) -> Result<VoyadoClient, ConnectorError> {
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
        Ok(VoyadoClient {
            upstream: Upstream::new(name, policy)?,
            base,
            api_key: config.api_key.clone(),
            user_agent: config.user_agent.trim().to_owned(),
            custom_key: config.custom_key,
            gate: Arc::new(Gate::new(
                config.max_concurrency,
                config.requests_per_second,
            )),
        })
    }

    /// The connector instance's name.
    pub fn name(&self) -> &ConnectorName {
        self.upstream.name()
    }

    /// What the tenant's `customKey` holds.
    pub fn custom_key(&self) -> CustomKey {
        self.custom_key
    }

    pub(crate) fn error(&self, kind: ErrorKind, message: impl Into<String>) -> ConnectorError {
        ConnectorError::new(kind, self.upstream.name(), message)
    }

    /// `base` + the path `segments` (each percent-encoded as one segment).
    pub(crate) fn endpoint(&self, segments: &[&str]) -> Result<Url, ConnectorError> {
        let mut url = self.base.clone();
        url.path_segments_mut()
            .map_err(|_| self.error(ErrorKind::BadRequest, "base_url cannot carry a path"))?
            .pop_if_empty()
            .extend(segments);
        Ok(url)
    }

    fn headers(&self, rb: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        rb.header(APIKEY_HEADER, self.api_key.expose())
            .header(USER_AGENT, self.user_agent.as_str())
            .header(ACCEPT, JSON)
            .header(CONTENT_TYPE, JSON)
    }

    /// Sends `method url` (with `body`, if any) through the gate. Reads are retried by
    /// [`Upstream`]; writes are sent once.
    pub(crate) async fn call(
        &self,
        method: reqwest::Method,
        url: &Url,
        body: Option<Vec<u8>>,
    ) -> Result<Reply, ConnectorError> {
        let idempotent = method == reqwest::Method::GET;
        self.gate
            .run(self.upstream.send(idempotent, |c| {
                let rb = self.headers(c.request(method.clone(), url.clone()));
                match &body {
                    Some(b) => rb.body(b.clone()),
                    None => rb,
                }
            }))
            .await
    }

    /// The error for a non-success `reply` of the call described by `what` (a method and a
    /// path template, never a URL with values).
    pub(crate) fn fail(&self, what: &str, reply: &Reply) -> ConnectorError {
        let msg = format!("{what}: {}", vendor_message(reply));
        status_error(self.upstream.name(), reply, &msg)
    }

    /// Whether `reply` is a 404 whose body carries one of `codes` (an absent entity).
    pub(crate) fn is_absent(reply: &Reply, codes: &[&str]) -> bool {
        reply.status == StatusCode::NOT_FOUND
            && error_code(reply).is_some_and(|c| codes.iter().any(|k| c.eq_ignore_ascii_case(k)))
    }

    /// The contact id `lookup` names, with `GET /api/v3/contacts/id`; `None` when Voyado
    /// answers 404 `ContactNotFound`, 409 `MultipleMatches` (the key is ambiguous: Voyado
    /// does not say which contacts, so the key is reported absent and a warning is logged), or
    /// 400 for a value that cannot name a contact (e.g. `InvalidEmailAddress`).
    pub async fn contact_id(
        &self,
        lookup: &ContactLookup,
    ) -> Result<Option<String>, ConnectorError> {
        const WHAT: &str = "GET /api/v3/contacts/id";
        let mut url = self.endpoint(&["api", "v3", "contacts", "id"])?;
        let (param, value) = lookup.param();
        url.query_pairs_mut().append_pair(param, value);
        let reply = self.call(reqwest::Method::GET, &url, None).await?;
        if reply.status.is_success() {
            return self.parse_contact_id(&reply, WHAT).map(Some);
        }
        if Self::is_absent(&reply, &["ContactNotFound"]) {
            return Ok(None);
        }
        let code = error_code(&reply).unwrap_or_default();
        if reply.status == StatusCode::CONFLICT && code.eq_ignore_ascii_case("MultipleMatches") {
            tracing::warn!(connector = %self.name(), param, "Voyado holds several contacts for one key; reporting it absent");
            return Ok(None);
        }
        if reply.status == StatusCode::BAD_REQUEST
            && UNMATCHABLE.iter().any(|c| code.eq_ignore_ascii_case(c))
        {
            return Ok(None);
        }
        Err(self.fail(WHAT, &reply))
    }

    /// The body of a successful id lookup: a JSON string holding the GUID (tolerating an
    /// object with `id` or `contactId`).
    fn parse_contact_id(&self, reply: &Reply, what: &str) -> Result<String, ConnectorError> {
        let value: Value = reply.json(self.name(), what)?;
        let id = match &value {
            Value::String(s) => Some(s.as_str()),
            Value::Object(m) => m
                .get("contactId")
                .or_else(|| m.get("id"))
                .and_then(Value::as_str),
            _ => None,
        };
        match id.map(str::trim).filter(|s| is_guid(s)) {
            Some(id) => Ok(id.to_ascii_lowercase()),
            None => Err(self.error(
                ErrorKind::InvalidResponse,
                format!(
                    "{what}: expected a contact id (GUID), got {}",
                    reply.snippet(80)
                ),
            )),
        }
    }

    /// Reads a contact from `url`; `None` on 404 `ContactNotFound`.
    async fn contact_at(&self, url: &Url, what: &str) -> Result<Option<Contact>, ConnectorError> {
        let reply = self.call(reqwest::Method::GET, url, None).await?;
        if reply.status.is_success() {
            let contact: Contact = reply.json(self.name(), what)?;
            if contact.id.trim().is_empty() {
                return Err(self.error(
                    ErrorKind::InvalidResponse,
                    format!("{what}: the contact has no id"),
                ));
            }
            return Ok(Some(contact));
        }
        if Self::is_absent(&reply, &["ContactNotFound"]) {
            return Ok(None);
        }
        Err(self.fail(what, &reply))
    }

    /// The contact with `id`, with `GET /api/v3/contacts/{contactId}`; `None` if Voyado does
    /// not know it.
    pub async fn contact(&self, id: &str) -> Result<Option<Contact>, ConnectorError> {
        let url = self.endpoint(&["api", "v3", "contacts", id])?;
        self.contact_at(&url, "GET /api/v3/contacts/{contactId}")
            .await
    }

    /// The contact of `contact_type` whose (single) key is `key_value`, with
    /// `GET /api/v2/contacts/{contactType}/bykey?keyValue=…` (v3 has no equivalent). For the
    /// member contact type the key is the member number.
    pub async fn contact_by_key(
        &self,
        contact_type: &str,
        key_value: &str,
    ) -> Result<Option<Contact>, ConnectorError> {
        let mut url = self.endpoint(&["api", "v2", "contacts", contact_type, "bykey"])?;
        url.query_pairs_mut().append_pair("keyValue", key_value);
        self.contact_at(&url, "GET /api/v2/contacts/{contactType}/bykey")
            .await
    }

    /// The contact of `contact_type` with `externalId` = `external_id`, with
    /// `GET /api/v2/contacts/{contactType}/byexternalid/{externalId}` (v3 has no equivalent).
    pub async fn contact_by_external_id(
        &self,
        contact_type: &str,
        external_id: &str,
    ) -> Result<Option<Contact>, ConnectorError> {
        let url = self.endpoint(&[
            "api",
            "v2",
            "contacts",
            contact_type,
            "byexternalid",
            external_id,
        ])?;
        self.contact_at(&url, "GET /api/v2/contacts/{contactType}/byexternalid")
            .await
    }
}

/// Whether `s` is a GUID in its 8-4-4-4-12 hex form.
pub(crate) fn is_guid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() == 5
        && parts
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(p, n)| p.len() == n && p.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderMap;

    fn config(base: &str) -> VoyadoConfig {
        toml::from_str(&format!("base_url = \"{base}\"\napi_key = \"k\"\n")).expect("config")
    }

    fn client(base: &str) -> VoyadoClient {
        VoyadoClient::new(
            ConnectorName::new("loyalty"),
            &config(base),
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
    fn error_bodies_become_code_and_message() {
        let r = reply(
            404,
            r#"{"statusCode":404,"errorCode":"ContactNotFound","message":"No contact matches.","correlationId":"x"}"#,
        );
        assert_eq!(vendor_message(&r), "ContactNotFound: No contact matches.");
        assert_eq!(error_code(&r).as_deref(), Some("ContactNotFound"));
        let r = reply(
            401,
            r#"{"Message":"Authorization has been denied for this request."}"#,
        );
        assert_eq!(
            vendor_message(&r),
            "Authorization has been denied for this request."
        );
        assert_eq!(error_code(&r), None);
        assert_eq!(
            vendor_message(&reply(502, "<html>bad gateway")),
            "<html>bad gateway"
        );
    }

    #[test]
    fn only_a_contact_not_found_404_means_absent() {
        let nf = reply(404, r#"{"errorCode":"ContactNotFound","message":"x"}"#);
        assert!(VoyadoClient::is_absent(&nf, &["ContactNotFound"]));
        let route = reply(404, r#"{"message":"No HTTP resource was found"}"#);
        assert!(!VoyadoClient::is_absent(&route, &["ContactNotFound"]));
        let garbage = reply(404, r#"{"truncated": [{"id": "#);
        assert!(!VoyadoClient::is_absent(&garbage, &["ContactNotFound"]));
    }

    #[test]
    fn path_values_are_encoded_as_single_segments() {
        let c = client("https://proxy.example/voyado");
        let url = c
            .endpoint(&["api", "v2", "contacts", "Member", "byexternalid", "C 1/2?x"])
            .expect("url");
        assert_eq!(
            url.as_str(),
            "https://proxy.example/voyado/api/v2/contacts/Member/byexternalid/C%201%2F2%3Fx"
        );
    }

    #[test]
    fn guids_are_recognised() {
        assert!(is_guid("2e40b702-2767-4abe-ae99-aa510108e22b"));
        assert!(is_guid("2E40B702-2767-4ABE-AE99-AA510108E22B"));
        assert!(!is_guid("2e40b702-2767-4abe-ae99-aa510108e22"));
        assert!(!is_guid("not-a-guid"));
    }

    #[tokio::test(start_paused = true)]
    async fn the_gate_spends_a_second_of_burst_then_paces() {
        let gate = Gate::new(100, 10);
        let start = Instant::now();
        for _ in 0..10 {
            gate.run(async {}).await;
        }
        assert_eq!(start.elapsed(), Duration::ZERO, "the burst is free");
        for _ in 0..5 {
            gate.run(async {}).await;
        }
        let paced = start.elapsed();
        assert!(
            paced >= Duration::from_millis(499) && paced <= Duration::from_millis(501),
            "{paced:?}"
        );
    }
}
