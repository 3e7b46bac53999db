//! HTTP calls to one Marketing Cloud Engagement tenant: the OAuth 2.0 client-credentials
//! handshake (`POST {auth_base_url}/v2/token` with a JSON body), data extension rowset reads,
//! journey entry events, the wire types, and the vendor's error bodies turned into typed
//! errors.
//!
//! Tokens live about 18 minutes (`expires_in` ≈ 1080 s). The client caches one and renews it
//! a minute before it expires (Marketing Cloud asks integrations to reuse tokens rather than
//! fetch one per call); an API call answered 401 (`errorcode` 0, "Not Authorized") drops the
//! token, fetches a new one and repeats the call once. API calls go to the
//! `rest_instance_url` of the token response, never to a host named anywhere else.
//!
//! Errors: the REST API answers `{"message", "errorcode", "documentation"}`; the token
//! endpoint answers OAuth's `{"error", "error_description", "error_uri"}`. Both become
//! [`ConnectorError`]s whose message carries the vendor's code and text, never a credential.

use crate::config::SfmcConfig;
use reqwest::StatusCode;
use samlet_connector::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::fmt;
use std::time::Duration;

/// `POST /interaction/v1/events`.
pub const EVENTS_PATH: &str = "/interaction/v1/events";
/// Vendor messages in errors are cut to this many characters.
const MAX_MESSAGE_CHARS: usize = 300;

// ----- wire types ----------------------------------------------------------------------------

/// The body of `POST /v2/token`.
#[derive(Serialize)]
struct TokenRequest<'a> {
    grant_type: &'a str,
    client_id: &'a str,
    client_secret: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    account_id: Option<&'a str>,
}

/// `POST /v2/token` success (the connector ignores `token_type`, `scope` and
/// `soap_instance_url`).
#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    expires_in: u64,
    rest_instance_url: String,
}

/// `POST /v2/token` failure: `{"error":"invalid_client","error_description":…,"error_uri":…}`.
#[derive(Deserialize)]
struct OAuthError {
    error: String,
    #[serde(default)]
    error_description: String,
}

/// The REST API's error body: `{"message", "errorcode", "documentation"}`, plus `retryAfter`
/// on 429 and `additionalErrors` on aggregate validation errors (not read).
#[derive(Debug, Deserialize)]
struct VendorError {
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    errorcode: Option<Value>,
    #[serde(default, rename = "retryAfter")]
    retry_after: Option<Value>,
}

/// One page of `GET /data/v1/customobjectdata/key/{key}/rowset`. The connector does not follow
/// `links.next` (a `requestToken` URL); it asks for `$page` n + 1 on the same URL instead.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RowsetPage {
    /// Rows matching the filter, over all pages.
    #[serde(default)]
    pub count: Option<u64>,
    /// This page's rows.
    #[serde(default)]
    pub items: Vec<RowsetItem>,
}

/// One data extension row: primary-key columns in `keys`, the others in `values`. Column
/// names come back lower-cased; values are strings (`"True"`, `"3/5/2024 9:30:00 AM"`), with
/// `""` for an empty column.
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct RowsetItem {
    #[serde(default)]
    pub keys: Map<String, Value>,
    #[serde(default)]
    pub values: Map<String, Value>,
}

/// `POST /interaction/v1/events` success: `{"eventInstanceId": "…"}`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EventResponse {
    event_instance_id: String,
}

/// The id Marketing Cloud gives one accepted journey entry event.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EventInstanceId(pub String);

impl EventInstanceId {
    /// The raw id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EventInstanceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Percent-encodes `s` for a URL path segment or query value, spaces as `%20` (as Marketing
/// Cloud's own examples write filters), everything but `A-Za-z0-9*-._` escaped.
pub(crate) fn encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

/// The vendor's code and message from an error reply, or the start of the body.
fn vendor_message(reply: &Reply) -> (Option<i64>, String) {
    match serde_json::from_slice::<VendorError>(&reply.body) {
        Ok(e) if e.message.is_some() || e.errorcode.is_some() => {
            let code = e.errorcode.as_ref().and_then(|c| match c {
                Value::Number(n) => n.as_i64(),
                Value::String(s) => s.trim().parse().ok(),
                _ => None,
            });
            let text = e.message.unwrap_or_default();
            (code, text.trim().chars().take(MAX_MESSAGE_CHARS).collect())
        }
        _ => (None, reply.snippet(MAX_MESSAGE_CHARS)),
    }
}

/// `retryAfter` (seconds) from a 429 body, for a reply without a `Retry-After` header.
fn body_retry_after(reply: &Reply) -> Option<Duration> {
    let e = serde_json::from_slice::<VendorError>(&reply.body).ok()?;
    let secs = match e.retry_after? {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => s.trim().parse().ok()?,
        _ => return None,
    };
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs))
}

enum Call<'a> {
    Get(&'a str),
    PostJson(&'a str, &'a Value),
}

// ----- the client ----------------------------------------------------------------------------

/// A client of one Marketing Cloud Engagement tenant's REST API, shared by the connector's
/// capabilities. Build one with [`SfmcClient::new`] to fire journey entry events.
#[derive(Debug)]
pub struct SfmcClient {
    upstream: Upstream,
    token_url: String,
    client_id: String,
    client_secret: Secret,
    account_id: Option<String>,
    tokens: TokenCache,
}

impl SfmcClient {
    /// A client for `config`; no I/O (the token is fetched on the first call).
    pub fn new(
        name: ConnectorName,
        config: &SfmcConfig,
        policy: UpstreamPolicy,
    ) -> Result<SfmcClient, ConnectorError> {
        Ok(SfmcClient {
            upstream: Upstream::new(name, policy)?,
            token_url: config.token_url(),
            client_id: config.client_id.trim().to_owned(),
            client_secret: config.client_secret.clone(),
            account_id: config.account_id.clone(),
            tokens: TokenCache::default(),
        })
    }

    /// The connector instance's name.
    pub fn name(&self) -> &ConnectorName {
        self.upstream.name()
    }

    fn error(&self, kind: ErrorKind, message: impl Into<String>) -> ConnectorError {
        ConnectorError::new(kind, self.name(), message)
    }

    async fn fetch_token(&self) -> Result<Token, ConnectorError> {
        let body = TokenRequest {
            grant_type: "client_credentials",
            client_id: &self.client_id,
            client_secret: self.client_secret.expose(),
            account_id: self.account_id.as_deref(),
        };
        let reply = self
            .upstream
            .send(true, |c| c.post(&self.token_url).json(&body))
            .await?;
        if !reply.status.is_success() {
            let (code, description) = match serde_json::from_slice::<OAuthError>(&reply.body) {
                Ok(e) => (e.error, e.error_description),
                Err(_) => (String::new(), reply.snippet(MAX_MESSAGE_CHARS)),
            };
            let description: String = description.chars().take(MAX_MESSAGE_CHARS).collect();
            let mut err = status_error(
                self.name(),
                &reply,
                &format!("token request refused: {code}: {description}"),
            );
            // OAuth may answer bad credentials with 400; they are an auth failure all the same.
            if matches!(
                code.as_str(),
                "invalid_client" | "invalid_grant" | "unauthorized_client" | "access_denied"
            ) {
                err.kind = ErrorKind::Unauthorized;
            }
            return Err(err);
        }
        // Decoded by hand: serde's messages can quote values, and this body holds the token.
        let token: TokenResponse = serde_json::from_slice(&reply.body).map_err(|e| {
            self.error(
                ErrorKind::InvalidResponse,
                format!(
                    "token response: malformed body at line {} column {}",
                    e.line(),
                    e.column()
                ),
            )
        })?;
        let instance = token
            .rest_instance_url
            .trim()
            .trim_end_matches('/')
            .to_owned();
        match url::Url::parse(&instance) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {}
            _ => {
                return Err(self.error(
                    ErrorKind::InvalidResponse,
                    "token response: rest_instance_url is not an http(s) URL",
                ))
            }
        }
        if token.access_token.is_empty() {
            return Err(self.error(
                ErrorKind::InvalidResponse,
                "token response: empty access_token",
            ));
        }
        Ok(Token {
            access_token: Secret::new(token.access_token),
            expires_at: token_expiry(token.expires_in),
            instance_url: Some(instance),
        })
    }

    /// The error for a failed API reply, from the vendor's error body.
    fn api_error(&self, what: &str, reply: &Reply) -> ConnectorError {
        let (code, message) = vendor_message(reply);
        let code = code.map_or_else(|| "-".to_owned(), |c| c.to_string());
        let mut err = status_error(
            self.name(),
            reply,
            &format!("{what}: errorcode {code}: {message}"),
        );
        if err.kind == ErrorKind::RateLimited && err.retry_after.is_none() {
            err.retry_after = body_retry_after(reply);
        }
        err
    }

    /// One API call with the cached token; a 401 renews the token and repeats the call once.
    /// `idempotent` calls are retried by [`Upstream`] after transient failures.
    async fn call(
        &self,
        what: &str,
        call: Call<'_>,
        idempotent: bool,
    ) -> Result<Reply, ConnectorError> {
        let mut renewed = false;
        loop {
            let token = self.tokens.get(|| self.fetch_token()).await?;
            let base = token.instance_url.as_deref().unwrap_or_default();
            let bearer = token.access_token.expose();
            let reply = self
                .upstream
                .send(idempotent, |c| {
                    let request = match &call {
                        Call::Get(path) => c.get(format!("{base}{path}")),
                        Call::PostJson(path, body) => c.post(format!("{base}{path}")).json(body),
                    };
                    request.bearer_auth(bearer)
                })
                .await?;
            if reply.status == StatusCode::UNAUTHORIZED && !renewed {
                tracing::debug!(connector = %self.name(), "token refused; fetching a new one");
                self.tokens.invalidate().await;
                renewed = true;
                continue;
            }
            if !reply.status.is_success() {
                return Err(self.api_error(what, &reply));
            }
            return Ok(reply);
        }
    }

    /// One page of a data extension's rows: `GET /data/v1/customobjectdata/key/{key}/rowset`
    /// with `path_and_query` built by [`rowset_path`]. A 404 (no such data extension) is a
    /// configuration error, not a missing customer.
    pub(crate) async fn rowset(&self, path_and_query: &str) -> Result<RowsetPage, ConnectorError> {
        const WHAT: &str = "GET /data/v1/customobjectdata rowset";
        let reply = self
            .call(WHAT, Call::Get(path_and_query), true)
            .await
            .map_err(|mut e| {
                if e.kind == ErrorKind::NotFound {
                    e.kind = ErrorKind::BadRequest;
                    e.message
                        .push_str(" (check data_extension_key: no data extension has that key)");
                }
                e
            })?;
        reply.json(self.name(), WHAT)
    }

    /// Fires a journey entry event: `POST /interaction/v1/events` with `ContactKey`,
    /// `EventDefinitionKey` and `Data` (the event data extension's fields; an object, or
    /// `null` for none). Marketing Cloud answers 201 with the event's id; 400 when the event
    /// definition key is unknown, the contact is inactive or `Data` names fields the event's
    /// data extension lacks ([`ErrorKind::BadRequest`]).
    ///
    /// The call is not idempotent (each accepted call enters the contact once more), so it is
    /// sent once and never retried after a transient failure; only a 401 (the request was
    /// refused, not processed) is repeated with a new token. An empty key, a key with a period
    /// (which Marketing Cloud forbids) or non-object `data` is refused without a request.
    pub async fn fire_entry_event(
        &self,
        contact_key: &str,
        event_definition_key: &str,
        data: Value,
    ) -> Result<EventInstanceId, ConnectorError> {
        const WHAT: &str = "POST /interaction/v1/events";
        if contact_key.trim().is_empty() {
            return Err(self.error(ErrorKind::BadRequest, "entry event: empty ContactKey"));
        }
        if event_definition_key.trim().is_empty() || event_definition_key.contains('.') {
            return Err(self.error(
                ErrorKind::BadRequest,
                "entry event: the EventDefinitionKey must be non-empty and contain no period",
            ));
        }
        let mut body = json!({
            "ContactKey": contact_key,
            "EventDefinitionKey": event_definition_key,
        });
        match data {
            Value::Null => {}
            Value::Object(fields) => body["Data"] = Value::Object(fields),
            _ => {
                return Err(self.error(
                    ErrorKind::BadRequest,
                    "entry event: Data must be a JSON object",
                ))
            }
        }
        let reply = self
            .call(WHAT, Call::PostJson(EVENTS_PATH, &body), false)
            .await?;
        let answer: EventResponse = reply.json(self.name(), WHAT)?;
        if answer.event_instance_id.trim().is_empty() {
            return Err(self.error(
                ErrorKind::InvalidResponse,
                format!("{WHAT}: empty eventInstanceId"),
            ));
        }
        Ok(EventInstanceId(answer.event_instance_id))
    }
}

/// `/data/v1/customobjectdata/key/{key}/rowset?$filter=…&$page=…&$pageSize=…`, the key and
/// the filter percent-encoded. `$` stays literal in parameter names, as Marketing Cloud's own
/// examples write them.
pub(crate) fn rowset_path(key: &str, filter: Option<&str>, page: u32, page_size: u32) -> String {
    let mut path = format!("/data/v1/customobjectdata/key/{}/rowset?", encode(key));
    if let Some(f) = filter {
        path.push_str("$filter=");
        path.push_str(&encode(f));
        path.push('&');
    }
    path.push_str(&format!("$page={page}&$pageSize={page_size}"));
    path
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderMap;

    fn reply(status: u16, body: &str) -> Reply {
        Reply {
            status: StatusCode::from_u16(status).expect("status"),
            headers: HeaderMap::new(),
            body: body.to_owned().into(),
        }
    }

    #[test]
    fn error_bodies_give_code_and_message() {
        let r = reply(
            401,
            r#"{"documentation":"https://developer.salesforce.com/docs/atlas.en-us.mc-apis.meta/mc-apis/error-handling.htm","errorcode":0,"message":"Not Authorized"}"#,
        );
        assert_eq!(vendor_message(&r), (Some(0), "Not Authorized".to_owned()));
        assert_eq!(
            vendor_message(&reply(502, "<html>bad gateway")),
            (None, "<html>bad gateway".to_owned())
        );
    }

    #[test]
    fn a_429_body_may_say_when_to_come_back() {
        let r = reply(
            429,
            r#"{"message":"Rate limit exceeded","errorcode":50100,"retryAfter":5,"documentation":""}"#,
        );
        assert_eq!(body_retry_after(&r), Some(Duration::from_secs(5)));
        assert_eq!(
            body_retry_after(&reply(
                429,
                r#"{"message":"Your requests are temporarily blocked.","errorcode":50200}"#
            )),
            None
        );
    }

    #[test]
    fn rowset_paths_encode_key_and_filter() {
        assert_eq!(
            rowset_path(
                "Samlet Customers",
                Some("Email eq 'a+b@x.dk' or CustomerNumber eq 'C1'"),
                2,
                2500
            ),
            "/data/v1/customobjectdata/key/Samlet%20Customers/rowset?$filter=Email%20eq%20%27a%2Bb%40x.dk%27%20or%20CustomerNumber%20eq%20%27C1%27&$page=2&$pageSize=2500"
        );
        assert_eq!(
            rowset_path("K", None, 1, 10),
            "/data/v1/customobjectdata/key/K/rowset?$page=1&$pageSize=10"
        );
    }
}
