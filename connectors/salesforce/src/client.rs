//! HTTP calls to one Salesforce org: the OAuth 2.0 client-credentials handshake, the Query
//! resource with `nextRecordsUrl` paging, the Composite resource that carries several queries
//! in one call, wire types, and the vendor's error bodies turned into typed errors.
//!
//! Sessions: Salesforce access tokens carry no `expires_in`; a session lives until it has been
//! idle for the org's timeout or is revoked. The client keeps its token until an API call
//! answers 401 `INVALID_SESSION_ID`, then fetches a new one and repeats the call once (with a
//! day's lifetime as a backstop).

use crate::config::SalesforceConfig;
use crate::mapping::Row;
use crate::soql;
use futures::{StreamExt, TryStreamExt};
use reqwest::StatusCode;
use samlet_connector::prelude::*;
use serde::Deserialize;
use std::time::{Duration, Instant};

/// The request header that sets how many records a query response holds.
pub const QUERY_OPTIONS_HEADER: &str = "Sforce-Query-Options";
/// The response header with the org's API usage in the rolling 24 hours: `api-usage=18/15000`.
pub const LIMIT_INFO_HEADER: &str = "Sforce-Limit-Info";
/// At most this many query subrequests go into one composite request (Salesforce allows 25
/// subrequests, of which at most 5 may be queries).
pub const MAX_COMPOSITE_QUERIES: usize = 5;
/// Composite requests (or paging calls) of one batch in flight at once.
const CONCURRENCY: usize = 4;
/// A session is dropped after this long even without a 401.
const SESSION_BACKSTOP: Duration = Duration::from_secs(24 * 3600);
/// A query that pages more often than this is broken (2,000 × 10,000 records).
const MAX_PAGES: usize = 10_000;
/// Vendor messages in errors are cut to this many characters (query errors echo the query).
const MAX_MESSAGE_CHARS: usize = 300;

/// `POST /services/oauth2/token` success.
#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    instance_url: String,
}

/// `POST /services/oauth2/token` failure: `{"error":"invalid_client","error_description":…}`.
#[derive(Deserialize)]
struct OAuthError {
    error: String,
    #[serde(default)]
    error_description: String,
}

/// One element of the REST API's error array: `[{"message","errorCode","fields"}]`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ApiError {
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub error_code: String,
}

/// A page of query results.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct QueryResult {
    done: bool,
    #[serde(default)]
    next_records_url: Option<String>,
    records: Vec<Row>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CompositeResponse {
    composite_response: Vec<CompositeSubresponse>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CompositeSubresponse {
    #[serde(default)]
    body: serde_json::Value,
    http_status_code: u16,
    reference_id: String,
}

enum Call<'a> {
    Get(&'a str),
    PostJson(&'a str, &'a serde_json::Value),
    PatchJson(&'a str, &'a serde_json::Value),
    Delete(&'a str),
}

/// The body of a successful upsert (`201`, and `200` from API 46.0 on): `{"id","success",
/// "errors","created"}`. Before 46.0 an update answers `204` without a body.
#[derive(Debug, Deserialize)]
struct UpsertResult {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    success: Option<bool>,
    #[serde(default)]
    created: Option<bool>,
}

/// What an upsert did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Upserted {
    /// The record's id, when the answer names it.
    pub id: Option<String>,
    /// Whether the record was created (else an existing one was updated).
    pub created: bool,
}

/// A record id or external-id value as one path segment: everything but unreserved
/// characters percent-encoded (`C0000012|P1-OAK` → `C0000012%7CP1-OAK`). Dots are encoded too,
/// so a value ending in `.json` or `.xml` is not read as a format suffix.
pub(crate) fn path_segment(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A client for one org, shared by the connector's capabilities.
#[derive(Debug)]
pub(crate) struct SalesforceClient {
    upstream: Upstream,
    token_url: String,
    client_id: String,
    client_secret: Secret,
    data_path: String,
    query_options: String,
    tokens: TokenCache,
}

impl SalesforceClient {
    /// A client for `config`; no I/O (the token is fetched on the first call).
    pub(crate) fn new(
        name: ConnectorName,
        config: &SalesforceConfig,
        policy: UpstreamPolicy,
    ) -> Result<SalesforceClient, ConnectorError> {
        Ok(SalesforceClient {
            upstream: Upstream::new(name, policy)?,
            token_url: config.token_url(),
            client_id: config.client_id.clone(),
            client_secret: config.client_secret.clone(),
            data_path: config.data_path(),
            query_options: format!("batchSize={}", config.query_batch_size),
            tokens: TokenCache::default(),
        })
    }

    pub(crate) fn name(&self) -> &ConnectorName {
        self.upstream.name()
    }

    /// `/services/data/v62.0`.
    pub(crate) fn data_path(&self) -> &str {
        &self.data_path
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
            .send(true, |c| c.post(&self.token_url).form(&form))
            .await?;
        if !reply.status.is_success() {
            let (code, description) = match serde_json::from_slice::<OAuthError>(&reply.body) {
                Ok(e) => (e.error, e.error_description),
                Err(_) => (String::new(), reply.snippet(MAX_MESSAGE_CHARS)),
            };
            let mut err = status_error(
                self.name(),
                &reply,
                &format!("token request refused: {code}: {description}"),
            );
            // OAuth reports bad credentials as 400; they are an auth failure, not a bad request.
            if matches!(
                code.as_str(),
                "invalid_client" | "invalid_client_id" | "invalid_grant" | "unauthorized_client"
            ) {
                err.kind = ErrorKind::Unauthorized;
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
        let instance = token.instance_url.trim_end_matches('/').to_owned();
        match url::Url::parse(&instance) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {}
            _ => return Err(self.invalid("token response: instance_url is not an http(s) URL")),
        }
        if token.access_token.is_empty() {
            return Err(self.invalid("token response: empty access_token"));
        }
        Ok(Token {
            access_token: Secret::new(token.access_token),
            expires_at: Instant::now() + SESSION_BACKSTOP,
            instance_url: Some(instance),
        })
    }

    /// The error for a failed API reply, from Salesforce's error array.
    fn api_error(&self, what: &str, reply: &Reply) -> ConnectorError {
        let (code, message) = match serde_json::from_slice::<Vec<ApiError>>(&reply.body) {
            Ok(errors) if !errors.is_empty() => {
                let first = &errors[0];
                (first.error_code.clone(), first.message.clone())
            }
            _ => (String::new(), reply.snippet(MAX_MESSAGE_CHARS)),
        };
        let message: String = message.trim().chars().take(MAX_MESSAGE_CHARS).collect();
        let mut err = status_error(self.name(), reply, &format!("{what}: {code}: {message}"));
        match (reply.status.as_u16(), code.as_str()) {
            // The org's rolling 24-hour API allocation is spent.
            (_, "REQUEST_LIMIT_EXCEEDED") => err.kind = ErrorKind::RateLimited,
            // A unique field already holds this value on another record.
            (_, "DUPLICATE_VALUE") => err.kind = ErrorKind::Conflict,
            // An upsert's external id matched several records (the answer lists them).
            (300, _) => err.kind = ErrorKind::Conflict,
            // A batch read that finds no resource has the wrong API version or path.
            (404, _) => err.kind = ErrorKind::BadRequest,
            _ => {}
        }
        err
    }

    fn note_limits(&self, reply: &Reply) {
        if let Some(usage) = reply
            .headers
            .get(LIMIT_INFO_HEADER)
            .and_then(|v| v.to_str().ok())
        {
            tracing::debug!(connector = %self.name(), usage, "salesforce api usage");
        }
    }

    /// One API call with the session; a 401 refreshes the session and repeats the call once.
    async fn call(&self, what: &str, call: Call<'_>) -> Result<Reply, ConnectorError> {
        let reply = self.exchange(call).await?;
        if !reply.status.is_success() {
            return Err(self.api_error(what, &reply));
        }
        Ok(reply)
    }

    /// [`Self::call`] without judging the status: the reply of the (possibly repeated) call.
    ///
    /// Every call here is idempotent, so the shared policy may retry transient failures: reads,
    /// an upsert by external id (the same body applied twice leaves the record as once) and a
    /// delete by external id or record id (a second delete finds nothing, which counts as done).
    async fn exchange(&self, call: Call<'_>) -> Result<Reply, ConnectorError> {
        let mut refreshed = false;
        loop {
            let token = self.tokens.get(|| self.fetch_token()).await?;
            let base = token.instance_url.as_deref().unwrap_or_default();
            let bearer = token.access_token.expose();
            let reply = self
                .upstream
                .send(true, |c| {
                    let request = match &call {
                        Call::Get(path) => c
                            .get(format!("{base}{path}"))
                            .header(QUERY_OPTIONS_HEADER, &self.query_options),
                        Call::PostJson(path, body) => c.post(format!("{base}{path}")).json(body),
                        Call::PatchJson(path, body) => c.patch(format!("{base}{path}")).json(body),
                        Call::Delete(path) => c.delete(format!("{base}{path}")),
                    };
                    request.bearer_auth(bearer)
                })
                .await?;
            if reply.status == StatusCode::UNAUTHORIZED && !refreshed {
                tracing::debug!(connector = %self.name(), "session expired; fetching a new token");
                self.tokens.invalidate().await;
                refreshed = true;
                continue;
            }
            self.note_limits(&reply);
            return Ok(reply);
        }
    }

    /// Upserts a record by external id: `PATCH {data}/sobjects/{object}/{field}/{value}` with
    /// `body` (fields only, without the external id itself). `201` created; `200` (with
    /// `created: false`) or, before API 46.0, `204` updated. A `300` (the value matches several
    /// records) is a conflict.
    pub(crate) async fn upsert(
        &self,
        object: &str,
        field: &str,
        value: &str,
        body: &serde_json::Value,
    ) -> Result<Upserted, ConnectorError> {
        let path = format!(
            "{}/sobjects/{object}/{field}/{}",
            self.data_path,
            path_segment(value)
        );
        let reply = self.call("upsert", Call::PatchJson(&path, body)).await?;
        if reply.status == StatusCode::NO_CONTENT {
            return Ok(Upserted {
                id: None,
                created: false,
            });
        }
        let result: UpsertResult = reply.json(self.name(), "upsert result")?;
        if result.success == Some(false) {
            return Err(self.invalid("upsert result: success is false on a 2xx answer"));
        }
        Ok(Upserted {
            id: result.id,
            created: result
                .created
                .unwrap_or(reply.status == StatusCode::CREATED),
        })
    }

    /// Deletes a record: `DELETE {data}/sobjects/{object}/{id}`, or by external id with
    /// `Some(field)`: `…/{object}/{field}/{value}`. A record that is not there (404
    /// `NOT_FOUND`, or `ENTITY_IS_DELETED`) counts as deleted: removing what is not there
    /// changes nothing. Returns whether this call deleted it.
    pub(crate) async fn delete(
        &self,
        object: &str,
        field: Option<&str>,
        value: &str,
    ) -> Result<bool, ConnectorError> {
        let path = match field {
            Some(field) => format!(
                "{}/sobjects/{object}/{field}/{}",
                self.data_path,
                path_segment(value)
            ),
            None => format!(
                "{}/sobjects/{object}/{}",
                self.data_path,
                path_segment(value)
            ),
        };
        let reply = self.exchange(Call::Delete(&path)).await?;
        if reply.status.is_success() {
            return Ok(true);
        }
        if let Ok(errors) = serde_json::from_slice::<Vec<ApiError>>(&reply.body) {
            let gone = errors.first().is_some_and(|e| {
                // A missing object or external-id field is a setup problem, not a missing row.
                (e.error_code == "NOT_FOUND" && !e.message.contains("external ID field"))
                    || e.error_code == "ENTITY_IS_DELETED"
            });
            if gone && matches!(reply.status.as_u16(), 404 | 400) {
                return Ok(false);
            }
        }
        Err(self.api_error("delete", &reply))
    }

    /// Runs SOQL statements and returns every record of each, in order, following
    /// `nextRecordsUrl` to the end. Up to five statements share one composite request.
    pub(crate) async fn query_all(&self, soqls: &[&str]) -> Result<Vec<Vec<Row>>, ConnectorError> {
        // The futures are collected first: a stream over a borrowing closure is not `Send`
        // enough for `async_trait`.
        let calls: Vec<_> = soqls
            .chunks(MAX_COMPOSITE_QUERIES)
            .map(|group| self.first_pages(group))
            .collect();
        let firsts: Vec<Vec<QueryResult>> = futures::stream::iter(calls)
            .buffered(CONCURRENCY)
            .try_collect()
            .await?;
        let rests: Vec<_> = firsts
            .into_iter()
            .flatten()
            .map(|page| self.rest_of(page))
            .collect();
        futures::stream::iter(rests)
            .buffered(CONCURRENCY)
            .try_collect()
            .await
    }

    /// The first page of each statement: a plain query for one, a composite request for more.
    async fn first_pages(&self, group: &[&str]) -> Result<Vec<QueryResult>, ConnectorError> {
        if let [one] = group {
            let reply = self
                .call("query", Call::Get(&soql::query_path(&self.data_path, one)))
                .await?;
            return Ok(vec![reply.json(self.name(), "query result")?]);
        }
        let subrequests: Vec<serde_json::Value> = group
            .iter()
            .enumerate()
            .map(|(i, q)| {
                serde_json::json!({
                    "method": "GET",
                    "url": soql::query_path(&self.data_path, q),
                    "referenceId": format!("q{i}"),
                    "httpHeaders": { QUERY_OPTIONS_HEADER: self.query_options },
                })
            })
            .collect();
        let body = serde_json::json!({ "allOrNone": false, "compositeRequest": subrequests });
        let path = format!("{}/composite", self.data_path);
        let reply = self.call("composite", Call::PostJson(&path, &body)).await?;
        let mut answer: CompositeResponse = reply.json(self.name(), "composite response")?;
        let mut pages = Vec::with_capacity(group.len());
        for i in 0..group.len() {
            let reference = format!("q{i}");
            let at = answer
                .composite_response
                .iter()
                .position(|s| s.reference_id == reference)
                .ok_or_else(|| self.invalid(format!("composite response lacks {reference}")))?;
            let sub = answer.composite_response.swap_remove(at);
            let status = StatusCode::from_u16(sub.http_status_code).map_err(|_| {
                self.invalid(format!(
                    "composite {reference}: bad status {}",
                    sub.http_status_code
                ))
            })?;
            if !status.is_success() {
                let synthetic = Reply {
                    status,
                    headers: reqwest::header::HeaderMap::new(),
                    body: serde_json::to_vec(&sub.body).unwrap_or_default().into(),
                };
                return Err(self.api_error(&format!("composite {reference}"), &synthetic));
            }
            let page = serde_json::from_value(sub.body)
                .map_err(|e| self.invalid(format!("composite {reference}: query result: {e}")))?;
            pages.push(page);
        }
        Ok(pages)
    }

    /// Every record of a query from its first page on.
    async fn rest_of(&self, first: QueryResult) -> Result<Vec<Row>, ConnectorError> {
        let mut records = first.records;
        let (mut done, mut next) = (first.done, first.next_records_url);
        let mut pages = 1;
        while !done {
            let url = next
                .take()
                .ok_or_else(|| self.invalid("query result: not done, but no nextRecordsUrl"))?;
            // The session token goes only to the org's own data API.
            if !url.starts_with("/services/data/") {
                return Err(self.invalid("query result: nextRecordsUrl is not a data API path"));
            }
            pages += 1;
            if pages > MAX_PAGES {
                return Err(self.invalid("query result: paging does not end"));
            }
            let reply = self.call("query more", Call::Get(&url)).await?;
            let page: QueryResult = reply.json(self.name(), "query result")?;
            records.extend(page.records);
            done = page.done;
            next = page.next_records_url;
        }
        Ok(records)
    }
}
