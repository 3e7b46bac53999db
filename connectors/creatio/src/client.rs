//! HTTP calls to one Creatio instance: the OAuth 2.0 client-credentials handshake with the
//! Identity Service, OData 4 `$batch` requests that carry many collection reads in one call,
//! client-driven `$top`/`$skip` paging, wire types, and the vendor's error bodies turned into
//! typed errors.
//!
//! Tokens: the Identity Service answers `{access_token, expires_in, token_type}` (an hour by
//! default); the client keeps a token until shortly before it expires, and when an API call
//! answers 401 anyway (revoked, or the lifetime was shortened) it fetches a new one and repeats
//! the call once.

use crate::config::CreatioConfig;
use crate::mapping::Row;
use crate::query::Query;
use futures::{StreamExt, TryStreamExt};
use reqwest::header::ACCEPT;
use reqwest::StatusCode;
use samlet_connector::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Creatio's cap on requests inside one `$batch` request.
pub const MAX_BATCH_REQUESTS: usize = 100;
/// `$batch` calls of one lookup in flight at once.
const CONCURRENCY: usize = 4;
/// A read that pages more often than this is broken.
const MAX_PAGES: usize = 10_000;
/// Vendor messages in errors are cut to this many characters (filter errors echo the filter).
const MAX_MESSAGE_CHARS: usize = 300;
/// The token lifetime assumed when the Identity Service names none (its default).
const DEFAULT_TOKEN_LIFETIME_SECS: u64 = 3_600;

/// `POST /connect/token` success.
#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    expires_in: Option<u64>,
    #[serde(default)]
    token_type: Option<String>,
}

/// `POST /connect/token` failure: `{"error":"invalid_client"}` (RFC 6749 §5.2).
#[derive(Deserialize)]
struct OAuthError {
    error: String,
    #[serde(default)]
    error_description: Option<String>,
}

/// The OData JSON error body: `{"error":{"code","message"}}`.
#[derive(Deserialize)]
struct ODataError {
    error: ODataErrorDetail,
}

#[derive(Deserialize)]
struct ODataErrorDetail {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
}

/// A JSON `$batch` request body.
#[derive(Serialize)]
struct BatchRequest<'a> {
    requests: Vec<SubRequest<'a>>,
}

#[derive(Serialize)]
struct SubRequest<'a> {
    id: String,
    method: &'static str,
    url: &'a str,
    headers: SubHeaders,
}

#[derive(Serialize)]
struct SubHeaders {
    #[serde(rename = "Accept")]
    accept: &'static str,
}

/// A JSON `$batch` response body.
#[derive(Deserialize)]
struct BatchResponse {
    responses: Vec<SubResponse>,
}

#[derive(Deserialize)]
struct SubResponse {
    id: String,
    status: u16,
    #[serde(default)]
    body: Value,
}

/// One page of an entity set.
#[derive(Debug, Deserialize)]
pub(crate) struct Collection {
    pub value: Vec<Row>,
    /// Creatio pages on the client's request only; a server that pages on its own anyway says
    /// so with a next link, which makes the connector ask for the rows after this page.
    #[serde(rename = "@odata.nextLink", default)]
    pub next_link: Option<String>,
}

/// A client for one instance, shared by the connector's capabilities.
#[derive(Debug)]
pub(crate) struct CreatioClient {
    upstream: Upstream,
    token_url: String,
    client_id: String,
    client_secret: Secret,
    batch_url: String,
    page_size: u32,
    tokens: TokenCache,
}

impl CreatioClient {
    /// A client for `config`; no I/O (the token is fetched on the first call).
    pub(crate) fn new(
        name: ConnectorName,
        config: &CreatioConfig,
        policy: UpstreamPolicy,
    ) -> Result<CreatioClient, ConnectorError> {
        Ok(CreatioClient {
            upstream: Upstream::new(name, policy)?,
            token_url: config.token_url(),
            client_id: config.client_id.clone(),
            client_secret: config.client_secret.clone(),
            batch_url: format!("{}/$batch", config.service_root()),
            page_size: config.page_size,
            tokens: TokenCache::default(),
        })
    }

    pub(crate) fn name(&self) -> &ConnectorName {
        self.upstream.name()
    }

    fn invalid(&self, message: impl Into<String>) -> ConnectorError {
        ConnectorError::new(ErrorKind::InvalidResponse, self.name(), message)
    }

    async fn fetch_token(&self) -> Result<Token, ConnectorError> {
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", self.client_id.as_str()),
            ("client_secret", self.client_secret.expose()),
        ];
        let reply = self
            .upstream
            .send(true, |c| {
                c.post(&self.token_url)
                    .header(ACCEPT, "application/json")
                    .form(&form)
            })
            .await?;
        if !reply.status.is_success() {
            let (code, description) = match serde_json::from_slice::<OAuthError>(&reply.body) {
                Ok(e) => (e.error, e.error_description.unwrap_or_default()),
                Err(_) => (String::new(), reply.snippet(MAX_MESSAGE_CHARS)),
            };
            let mut err = status_error(
                self.name(),
                &reply,
                format!("token request refused: {code} {description}").trim(),
            );
            // OAuth reports bad credentials as 400; they are an auth failure, not a bad request.
            if matches!(
                code.as_str(),
                "invalid_client" | "invalid_grant" | "unauthorized_client" | "invalid_scope"
            ) {
                err.kind = ErrorKind::Unauthorized;
            }
            // No token endpoint there: `identity_url` names the wrong host or path.
            if reply.status == StatusCode::NOT_FOUND {
                err.kind = ErrorKind::BadRequest;
            }
            return Err(err);
        }
        // Decoded by hand: serde's messages can quote values, and this body holds the token.
        let token: TokenResponse = serde_json::from_slice(&reply.body).map_err(|e| {
            self.invalid(format!(
                "token response: malformed body at line {} column {}",
                e.line(),
                e.column()
            ))
        })?;
        if token.access_token.is_empty() {
            return Err(self.invalid("token response: empty access_token"));
        }
        if let Some(t) = token.token_type.as_deref() {
            if !t.eq_ignore_ascii_case("bearer") {
                return Err(self.invalid(format!(
                    "token response: token_type `{}` is not Bearer",
                    t.chars().take(20).collect::<String>()
                )));
            }
        }
        let lifetime = token
            .expires_in
            .filter(|s| *s > 0)
            .unwrap_or(DEFAULT_TOKEN_LIFETIME_SECS);
        Ok(Token {
            access_token: Secret::new(token.access_token),
            expires_at: token_expiry(lifetime),
            instance_url: None,
        })
    }

    /// The error for a failed reply, from the OData error body.
    fn api_error(&self, what: &str, reply: &Reply) -> ConnectorError {
        let (code, message) = match serde_json::from_slice::<ODataError>(&reply.body) {
            Ok(e) => (e.error.code, e.error.message),
            Err(_) => (String::new(), reply.snippet(MAX_MESSAGE_CHARS)),
        };
        let message: String = message.trim().chars().take(MAX_MESSAGE_CHARS).collect();
        let detail = if code.is_empty() {
            format!("{what}: {message}")
        } else {
            format!("{what}: {code}: {message}")
        };
        let mut err = status_error(self.name(), reply, &detail);
        // A read that finds no resource names an entity set or path the instance lacks: a
        // configuration fault, not a missing record.
        if reply.status == StatusCode::NOT_FOUND {
            err.kind = ErrorKind::BadRequest;
        }
        err
    }

    /// One `$batch` call of GET requests (`urls` relative to the service root), with the token;
    /// a 401 renews the token and repeats the call once. Answers each request's page, in order.
    async fn batch(&self, urls: &[String]) -> Result<Vec<Collection>, ConnectorError> {
        let body = BatchRequest {
            requests: urls
                .iter()
                .enumerate()
                .map(|(i, url)| SubRequest {
                    id: format!("r{i}"),
                    method: "GET",
                    url,
                    headers: SubHeaders {
                        accept: "application/json",
                    },
                })
                .collect(),
        };
        let mut refreshed = false;
        let reply = loop {
            let token = self.tokens.get(|| self.fetch_token()).await?;
            let bearer = token.access_token.expose();
            let reply = self
                .upstream
                .send(true, |c| {
                    c.post(&self.batch_url)
                        .bearer_auth(bearer)
                        .header(ACCEPT, "application/json")
                        .json(&body)
                })
                .await?;
            if reply.status == StatusCode::UNAUTHORIZED && !refreshed {
                tracing::debug!(connector = %self.name(), "token refused; fetching a new one");
                self.tokens.invalidate().await;
                refreshed = true;
                continue;
            }
            if !reply.status.is_success() {
                return Err(self.api_error("$batch", &reply));
            }
            break reply;
        };
        let answer: BatchResponse = reply.json(self.name(), "$batch response")?;
        let mut responses: Vec<Option<SubResponse>> =
            answer.responses.into_iter().map(Some).collect();
        let mut pages = Vec::with_capacity(urls.len());
        for i in 0..urls.len() {
            let id = format!("r{i}");
            let sub = responses
                .iter_mut()
                .find(|s| s.as_ref().is_some_and(|s| s.id == id))
                .and_then(Option::take)
                .ok_or_else(|| self.invalid(format!("$batch response lacks request {id}")))?;
            let status = StatusCode::from_u16(sub.status)
                .map_err(|_| self.invalid(format!("$batch {id}: bad status {}", sub.status)))?;
            if !status.is_success() {
                let synthetic = Reply {
                    status,
                    headers: reqwest::header::HeaderMap::new(),
                    body: serde_json::to_vec(&sub.body).unwrap_or_default().into(),
                };
                return Err(self.api_error(&format!("$batch {id}"), &synthetic));
            }
            let page: Collection = serde_json::from_value(sub.body)
                .map_err(|e| self.invalid(format!("$batch {id}: not an entity collection: {e}")))?;
            pages.push(page);
        }
        Ok(pages)
    }

    /// Every row of each query, in order. The first pages of all queries go out together in
    /// `$batch` calls of up to 100 requests; a page that comes back full (or with a next link)
    /// is followed by the page after it (`$skip`), gathered again into `$batch` calls, until
    /// every query is read.
    pub(crate) async fn read_all(
        &self,
        queries: &[Query],
    ) -> Result<Vec<Vec<Row>>, ConnectorError> {
        let top = self.page_size;
        let mut rows: Vec<Vec<Row>> = vec![Vec::new(); queries.len()];
        // (query, rows already read) of every read that needs another page.
        let mut pending: Vec<(usize, usize)> = (0..queries.len()).map(|q| (q, 0)).collect();
        let mut rounds = 0;
        while !pending.is_empty() {
            rounds += 1;
            if rounds > MAX_PAGES {
                return Err(self.invalid("paging does not end"));
            }
            let urls: Vec<String> = pending
                .iter()
                .map(|&(q, skip)| queries[q].url(top, skip))
                .collect();
            // The futures are collected first: a stream over a borrowing closure is not `Send`
            // enough for `async_trait`.
            let calls: Vec<_> = urls
                .chunks(MAX_BATCH_REQUESTS)
                .map(|group| self.batch(group))
                .collect();
            let answers: Vec<Vec<Collection>> = futures::stream::iter(calls)
                .buffered(CONCURRENCY)
                .try_collect()
                .await?;
            let mut next = Vec::new();
            for (&(q, skip), page) in pending.iter().zip(answers.into_iter().flatten()) {
                let got = page.value.len();
                let more = got >= top as usize || page.next_link.is_some();
                rows[q].extend(page.value);
                if more && got > 0 {
                    next.push((q, skip + got));
                }
            }
            pending = next;
        }
        Ok(rows)
    }
}
