//! The Vendure Admin API client: the `login` mutation whose session token arrives in the
//! `vendure-auth-token` response header and goes back as `Authorization: Bearer`, GraphQL POSTs
//! with the `vendure-token` channel header, Vendure's GraphQL error bodies
//! (`errors[].extensions.code`) mapped to [`ErrorKind`], and the wire types of what the
//! connector reads.

use reqwest::header::{ACCEPT, CONTENT_TYPE};
use reqwest::StatusCode;
use samlet_connector::prelude::*;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use url::Url;

/// The response header that carries a new session token (Vendure `authOptions.authTokenHeaderKey`).
pub(crate) const AUTH_TOKEN_HEADER: &str = "vendure-auth-token";
/// The request header that selects a channel (Vendure `apiOptions.channelTokenKey`).
pub(crate) const CHANNEL_TOKEN_HEADER: &str = "vendure-token";
/// How long a session is used before logging in again. Vendure sessions last a year by
/// default (`authOptions.sessionDuration`), and a revoked one is answered `FORBIDDEN`, which
/// renews it anyway; an hour keeps a password change from going unnoticed for long.
const SESSION_REUSE_SECS: u64 = 3600;

const LOGIN: &str = "mutation Login($username: String!, $password: String!) { \
    login(username: $username, password: $password, rememberMe: false) { \
    __typename ... on CurrentUser { id } ... on ErrorResult { errorCode message } } }";

// ---------------------------------------------------------------------------------------------
// Wire types.

/// A GraphQL response: `{data, errors}`.
#[derive(Debug, Deserialize)]
struct GqlResponse {
    #[serde(default)]
    data: Option<serde_json::Value>,
    #[serde(default)]
    errors: Vec<GqlError>,
}

/// One GraphQL error: `{message, path, extensions: {code}}`.
#[derive(Debug, Deserialize)]
pub(crate) struct GqlError {
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub extensions: Option<GqlExtensions>,
}

/// `extensions` of a GraphQL error; Vendure puts its error code here.
#[derive(Debug, Deserialize)]
pub(crate) struct GqlExtensions {
    #[serde(default)]
    pub code: Option<String>,
}

#[derive(Deserialize)]
struct LoginData {
    login: LoginResult,
}

/// `NativeAuthenticationResult`: `CurrentUser` or an `ErrorResult`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LoginResult {
    #[serde(rename = "__typename")]
    typename: String,
    #[serde(default)]
    error_code: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

/// `PaginatedList { items, totalItems }`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WireList<T> {
    pub items: Vec<T>,
    pub total_items: u64,
}

/// `{languageCode, name, description?}` of a translation.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WireTranslation {
    pub language_code: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
}

/// Anything with a `code`.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct WireCode {
    pub code: String,
}

/// A facet value with its facet.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct WireFacetValue {
    pub code: String,
    pub facet: WireCode,
    #[serde(default)]
    pub translations: Vec<WireTranslation>,
}

/// An asset: `name` is the uploaded file's name, `source` its URL.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct WireAsset {
    pub name: String,
    pub source: String,
}

/// A product option (a variant's axis value) with its group.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct WireOption {
    pub group: WireCode,
    #[serde(default)]
    pub translations: Vec<WireTranslation>,
}

/// Custom fields, by name (their names are configured, so they stay dynamic).
pub(crate) type CustomFields = serde_json::Map<String, serde_json::Value>;

/// A product with what the connector maps.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WireProduct {
    pub slug: String,
    #[serde(default)]
    pub updated_at: Option<String>,
    #[serde(default)]
    pub custom_fields: Option<CustomFields>,
    #[serde(default)]
    pub translations: Vec<WireTranslation>,
    #[serde(default)]
    pub facet_values: Vec<WireFacetValue>,
    #[serde(default)]
    pub featured_asset: Option<WireAsset>,
    #[serde(default)]
    pub assets: Vec<WireAsset>,
    #[serde(default)]
    pub variants: Vec<WireVariant>,
}

/// A product variant; each query selects the fields it needs.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WireVariant {
    #[serde(default)]
    pub id: String,
    pub sku: String,
    #[serde(default)]
    pub translations: Vec<WireTranslation>,
    #[serde(default)]
    pub options: Vec<WireOption>,
    #[serde(default)]
    pub featured_asset: Option<WireAsset>,
    #[serde(default)]
    pub assets: Vec<WireAsset>,
    #[serde(default)]
    pub stock_levels: Vec<WireStockLevel>,
    #[serde(default)]
    pub prices: Vec<WirePrice>,
}

/// Stock of a variant at one stock location.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WireStockLevel {
    pub stock_location_id: String,
    pub stock_on_hand: i64,
    pub stock_allocated: i64,
    #[serde(default)]
    pub stock_location: Option<WireStockLocation>,
}

/// A stock location.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WireStockLocation {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub custom_fields: Option<CustomFields>,
}

/// A variant's price in one currency of the active channel, in minor units (Vendure `Money`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WirePrice {
    pub currency_code: String,
    pub price: serde_json::Number,
    #[serde(default)]
    pub custom_fields: Option<CustomFields>,
}

// ---------------------------------------------------------------------------------------------
// The client.

/// One connector instance's Vendure Admin API client.
pub(crate) struct VendureClient {
    upstream: Upstream,
    endpoint: Url,
    username: String,
    password: Secret,
    tokens: TokenCache,
}

impl VendureClient {
    /// A client for the Admin API at `endpoint` (already validated). No I/O.
    pub(crate) fn new(
        upstream: Upstream,
        endpoint: Url,
        username: String,
        password: Secret,
    ) -> VendureClient {
        VendureClient {
            upstream,
            endpoint,
            username,
            password,
            tokens: TokenCache::default(),
        }
    }

    /// The connector instance's name.
    pub(crate) fn name(&self) -> &ConnectorName {
        self.upstream.name()
    }

    /// Runs a GraphQL query in the channel `channel_token` (empty: the default channel) and
    /// decodes its `data` as `T`, naming `what` in errors. A `FORBIDDEN` answer (or HTTP 401)
    /// means the session expired or was revoked: log in again and try once more.
    pub(crate) async fn query<T: DeserializeOwned>(
        &self,
        channel_token: &str,
        query: &str,
        variables: serde_json::Value,
        what: &str,
    ) -> Result<T, ConnectorError> {
        let body = serde_json::json!({ "query": query, "variables": variables });
        let mut renewed = false;
        loop {
            let token = self.tokens.get(|| self.login()).await?;
            let reply = self
                .upstream
                .send(true, |c| {
                    let req = c
                        .post(self.endpoint.clone())
                        .bearer_auth(token.access_token.expose())
                        .header(ACCEPT, "application/json")
                        .header(CONTENT_TYPE, "application/json")
                        .body(body.to_string());
                    if channel_token.is_empty() {
                        req
                    } else {
                        req.header(CHANNEL_TOKEN_HEADER, channel_token)
                    }
                })
                .await?;
            if reply.status == StatusCode::UNAUTHORIZED && !renewed {
                self.tokens.invalidate().await;
                renewed = true;
                continue;
            }
            if !reply.status.is_success() {
                let message = self.vendor_message(&reply);
                return Err(status_error(self.name(), &reply, &message));
            }
            let response: GqlResponse = reply.json(self.name(), what)?;
            if let Some(error) = response.errors.first() {
                let kind = kind_for_code(error_code(error));
                if kind == ErrorKind::Unauthorized && !renewed {
                    tracing::debug!(connector = %self.name(), "session refused; logging in again");
                    self.tokens.invalidate().await;
                    renewed = true;
                    continue;
                }
                return Err(self.graphql_error(what, error, response.errors.len()));
            }
            let data = response.data.ok_or_else(|| {
                ConnectorError::new(
                    ErrorKind::InvalidResponse,
                    self.name(),
                    format!("{what}: a GraphQL answer without data or errors"),
                )
            })?;
            return serde_json::from_value(data).map_err(|e| {
                ConnectorError::new(
                    ErrorKind::InvalidResponse,
                    self.name(),
                    format!("{what}: unexpected data: {e}"),
                )
            });
        }
    }

    /// Logs in with the `login` mutation; the session token is the `vendure-auth-token`
    /// response header (the server's `authOptions.tokenMethod` must include `"bearer"`).
    async fn login(&self) -> Result<Token, ConnectorError> {
        let body = serde_json::json!({
            "query": LOGIN,
            "variables": { "username": self.username, "password": self.password.expose() },
        })
        .to_string();
        // Logging in has no side effect worth guarding beyond a new session: retry it like a read.
        let reply = self
            .upstream
            .send(true, |c| {
                c.post(self.endpoint.clone())
                    .header(ACCEPT, "application/json")
                    .header(CONTENT_TYPE, "application/json")
                    .body(body.clone())
            })
            .await?;
        if !reply.status.is_success() {
            let message = self.vendor_message(&reply);
            return Err(status_error(self.name(), &reply, &message));
        }
        let response: GqlResponse = reply.json(self.name(), "login")?;
        if let Some(error) = response.errors.first() {
            return Err(self.graphql_error("login", error, response.errors.len()));
        }
        let data: LoginData = response
            .data
            .ok_or_else(|| self.invalid("login: an answer without data"))
            .and_then(|d| {
                serde_json::from_value(d)
                    .map_err(|e| self.invalid(&format!("login: unexpected data: {e}")))
            })?;
        if data.login.typename != "CurrentUser" {
            let code = data.login.error_code.unwrap_or(data.login.typename);
            let message = scrub(
                data.login.message.as_deref().unwrap_or("login refused"),
                &self.password,
            );
            return Err(ConnectorError::new(
                ErrorKind::Unauthorized,
                self.name(),
                format!("login refused: {code}: {message}"),
            ));
        }
        let token = reply
            .headers
            .get(AUTH_TOKEN_HEADER)
            .and_then(|v| v.to_str().ok())
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                self.invalid(
                    "login: no vendure-auth-token header; set the server's authOptions.tokenMethod to include \"bearer\"",
                )
            })?;
        Ok(Token {
            access_token: Secret::new(token),
            expires_at: token_expiry(SESSION_REUSE_SECS),
            instance_url: None,
        })
    }

    fn invalid(&self, message: &str) -> ConnectorError {
        ConnectorError::new(ErrorKind::InvalidResponse, self.name(), message)
    }

    fn graphql_error(&self, what: &str, error: &GqlError, count: usize) -> ConnectorError {
        let code = error_code(error).unwrap_or("NO_CODE");
        let more = if count > 1 {
            format!(" (and {} more errors)", count - 1)
        } else {
            String::new()
        };
        ConnectorError::new(
            kind_for_code(Some(code)),
            self.name(),
            format!(
                "{what}: {code}: {}{more}",
                scrub(&error.message, &self.password)
            ),
        )
    }

    /// The server's own words from a non-success reply (a GraphQL error body, or the start of
    /// whatever a proxy answered), without anything secret.
    fn vendor_message(&self, reply: &Reply) -> String {
        let raw = match serde_json::from_slice::<GqlResponse>(&reply.body) {
            Ok(r) if !r.errors.is_empty() => {
                let e = &r.errors[0];
                match error_code(e) {
                    Some(code) => format!("{code}: {}", e.message),
                    None => e.message.clone(),
                }
            }
            _ => reply.snippet(200),
        };
        scrub(&raw, &self.password)
    }
}

/// Vendure documents no concurrency cap; batches cut into several requests run at most this
/// many at a time, so one gateway request cannot monopolise the server's connection pool.
pub(crate) const MAX_CONCURRENT_CALLS: usize = 4;

/// Runs `call` for each chunk of at most `size` keys, at most [`MAX_CONCURRENT_CALLS`] at once,
/// and collects the results.
pub(crate) async fn chunked<T, F, Fut>(
    keys: &[&str],
    size: usize,
    call: F,
) -> Result<Vec<T>, ConnectorError>
where
    F: Fn(Vec<String>) -> Fut,
    Fut: std::future::Future<Output = Result<T, ConnectorError>>,
{
    use futures::stream::{self, StreamExt, TryStreamExt};
    let chunks: Vec<Vec<String>> = keys
        .chunks(size.max(1))
        .map(|c| c.iter().map(|k| (*k).to_owned()).collect())
        .collect();
    stream::iter(chunks.into_iter().map(call))
        .buffer_unordered(MAX_CONCURRENT_CALLS)
        .try_collect()
        .await
}

fn error_code(error: &GqlError) -> Option<&str> {
    error.extensions.as_ref()?.code.as_deref()
}

/// The kind of a Vendure GraphQL error code (`extensions.code`).
pub(crate) fn kind_for_code(code: Option<&str>) -> ErrorKind {
    match code {
        Some("FORBIDDEN" | "UNAUTHORIZED" | "UNAUTHENTICATED") => ErrorKind::Unauthorized,
        Some("ENTITY_NOT_FOUND") => ErrorKind::NotFound,
        Some("INTERNAL_SERVER_ERROR") => ErrorKind::Unavailable,
        // CHANNEL_NOT_FOUND (a wrong channel token), USER_INPUT_ERROR (e.g. a `take` above the
        // server's list limit), GRAPHQL_VALIDATION_FAILED (e.g. a custom field the server does
        // not have), BAD_USER_INPUT: the request or the configuration is wrong.
        _ => ErrorKind::BadRequest,
    }
}

/// Removes the password should a misbehaving server echo it.
fn scrub(message: &str, password: &Secret) -> String {
    let secret = password.expose();
    if secret.len() >= 4 {
        message.replace(secret, "[redacted]")
    } else {
        message.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client() -> VendureClient {
        VendureClient::new(
            Upstream::new(ConnectorName::new("shop"), UpstreamPolicy::default()).unwrap(),
            Url::parse("http://127.0.0.1:9/admin-api").unwrap(),
            "superadmin".into(),
            Secret::new("hunter2-pw"),
        )
    }

    #[test]
    fn vendure_codes_map_to_kinds() {
        assert_eq!(kind_for_code(Some("FORBIDDEN")), ErrorKind::Unauthorized);
        assert_eq!(
            kind_for_code(Some("CHANNEL_NOT_FOUND")),
            ErrorKind::BadRequest
        );
        assert_eq!(
            kind_for_code(Some("INTERNAL_SERVER_ERROR")),
            ErrorKind::Unavailable
        );
        assert_eq!(
            kind_for_code(Some("GRAPHQL_VALIDATION_FAILED")),
            ErrorKind::BadRequest
        );
        assert_eq!(kind_for_code(None), ErrorKind::BadRequest);
    }

    #[test]
    fn error_messages_name_the_code_and_never_echo_the_password() {
        let c = client();
        let reply = Reply {
            status: StatusCode::BAD_REQUEST,
            headers: Default::default(),
            body: r#"{"errors":[{"message":"bad password hunter2-pw","extensions":{"code":"BAD_USER_INPUT"}}]}"#
                .as_bytes()
                .to_vec()
                .into(),
        };
        assert_eq!(
            c.vendor_message(&reply),
            "BAD_USER_INPUT: bad password [redacted]"
        );
        let plain = Reply {
            status: StatusCode::BAD_GATEWAY,
            headers: Default::default(),
            body: "<html>bad gateway</html>".as_bytes().to_vec().into(),
        };
        assert_eq!(c.vendor_message(&plain), "<html>bad gateway</html>");
    }
}
