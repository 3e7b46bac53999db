//! The Akeneo REST client: the OAuth password grant (client id and secret as HTTP Basic) with
//! refresh-token renewal, bearer-authenticated GETs that renew the token once on a 401, paging
//! that follows `_links.next.href` as Akeneo asks, the wire types of the resources the
//! connector reads, and Akeneo's `{code, message, errors[]}` error bodies.

use reqwest::header::ACCEPT;
use reqwest::StatusCode;
use samlet_connector::prelude::*;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use std::collections::BTreeMap;
use url::Url;

/// The token endpoint (no bearer needed).
pub(crate) const TOKEN_PATH: &str = "/api/oauth/v1/token";
/// Product models: the gateway's products.
pub(crate) const PRODUCT_MODELS_PATH: &str = "/api/rest/v1/product-models";
/// Products by identifier: the gateway's variants (Akeneo *variant products*).
pub(crate) const PRODUCTS_PATH: &str = "/api/rest/v1/products";
/// Where media file binaries are downloaded, `{code}` appended and `/download` after it.
pub(crate) const MEDIA_FILES_PATH: &str = "/api/rest/v1/media-files";

/// A paging loop that has not ended after this many pages is a vendor bug, not a catalogue.
const MAX_PAGES: usize = 10_000;

// ---------------------------------------------------------------------------------------------
// Wire types.

/// One page of a collection: `{_links: {self, first, previous?, next?}, current_page?,
/// _embedded: {items: [...]}}`.
#[derive(Debug, Deserialize)]
pub(crate) struct WirePage<T> {
    #[serde(rename = "_links", default)]
    pub links: PageLinks,
    #[serde(rename = "_embedded")]
    pub embedded: Embedded<T>,
}

/// A page's links; only `next` drives the connector.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct PageLinks {
    #[serde(default)]
    pub next: Option<Link>,
}

/// `{href}`.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Link {
    pub href: String,
}

/// `{items: [...]}`.
#[derive(Debug, Deserialize)]
pub(crate) struct Embedded<T> {
    pub items: Vec<T>,
}

/// Values by attribute code.
pub(crate) type Values = BTreeMap<String, Vec<WireValue>>;

/// A product model (the gateway's product).
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct WireProductModel {
    pub code: String,
    #[serde(default)]
    pub categories: Vec<String>,
    #[serde(default)]
    pub values: Values,
    #[serde(default)]
    pub updated: Option<String>,
}

/// A product (the gateway's variant when it has a parent model). Its `values` include those
/// it inherits from its parent model, as Akeneo returns them.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct WireProduct {
    pub identifier: String,
    #[serde(default = "enabled_by_default")]
    pub enabled: bool,
    #[serde(default)]
    pub parent: Option<String>,
    #[serde(default)]
    pub categories: Vec<String>,
    #[serde(default)]
    pub values: Values,
    #[serde(default)]
    pub updated: Option<String>,
}

fn enabled_by_default() -> bool {
    true
}

/// One product value: `{locale, scope, data, linked_data?, _links?}`.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct WireValue {
    #[serde(default)]
    pub locale: Option<String>,
    #[serde(default)]
    pub scope: Option<String>,
    #[serde(default)]
    pub data: serde_json::Value,
    /// Option labels, with `with_attribute_options=true`.
    #[serde(default)]
    pub linked_data: Option<serde_json::Value>,
    /// `{download: {href}}` on media values.
    #[serde(rename = "_links", default)]
    pub links: Option<ValueLinks>,
}

/// A media value's links.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct ValueLinks {
    #[serde(default)]
    pub download: Option<Link>,
}

/// `POST /api/oauth/v1/token` answer.
#[derive(Deserialize)]
struct TokenReply {
    access_token: String,
    #[serde(default)]
    expires_in: Option<u64>,
    #[serde(default)]
    refresh_token: Option<String>,
}

/// Akeneo's error body: `{code, message}`, plus `errors[]` on validation failures.
#[derive(Deserialize)]
struct ErrorBody {
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    errors: Vec<ErrorDetail>,
}

#[derive(Deserialize)]
struct ErrorDetail {
    #[serde(default)]
    property: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// The client.

/// Credentials of one Akeneo connection.
pub(crate) struct Credentials {
    pub client_id: String,
    pub secret: Secret,
    pub username: String,
    pub password: Secret,
}

/// One connector instance's Akeneo client.
pub(crate) struct AkeneoClient {
    upstream: Upstream,
    base: Url,
    credentials: Credentials,
    tokens: TokenCache,
    /// The refresh token of the last grant; used before falling back to the password grant.
    refresh: tokio::sync::Mutex<Option<Secret>>,
}

impl AkeneoClient {
    /// A client for the PIM at `base` (already validated). No I/O.
    pub(crate) fn new(upstream: Upstream, base: Url, credentials: Credentials) -> AkeneoClient {
        AkeneoClient {
            upstream,
            base,
            credentials,
            tokens: TokenCache::default(),
            refresh: tokio::sync::Mutex::new(None),
        }
    }

    /// The connector instance's name.
    pub(crate) fn name(&self) -> &ConnectorName {
        self.upstream.name()
    }

    /// `<base_url><path>?<query>`.
    pub(crate) fn endpoint(&self, path: &str, query: &[(&str, &str)]) -> Url {
        let mut url = self.base.clone();
        let prefix = self.base.path().trim_end_matches('/');
        url.set_path(&format!("{prefix}{path}"));
        if query.is_empty() {
            url.set_query(None);
        } else {
            url.query_pairs_mut().clear().extend_pairs(query);
        }
        url
    }

    /// The download URL of a media file, for values that carry no `_links.download`.
    pub(crate) fn media_download_url(&self, code: &str) -> String {
        let mut url = self.endpoint(MEDIA_FILES_PATH, &[]);
        if let Ok(mut segments) = url.path_segments_mut() {
            // Akeneo media codes look like `a/b/c/d/<hash>_<name>.jpg`: keep their slashes.
            segments.extend(code.split('/')).push("download");
        }
        url.to_string()
    }

    /// The link Akeneo gave for the next page, re-based onto the configured base URL so a
    /// bearer token never leaves for another host. It must stay on the same collection.
    pub(crate) fn follow(&self, current: &Url, href: &str) -> Result<Url, ConnectorError> {
        let invalid = |why: &str| {
            ConnectorError::new(
                ErrorKind::InvalidResponse,
                self.name(),
                format!("`_links.next`: {why}"),
            )
        };
        let parsed = Url::parse(href)
            .or_else(|_| current.join(href))
            .map_err(|_| invalid("not a URL"))?;
        if parsed.path() != current.path() {
            return Err(invalid("points to another collection"));
        }
        let mut next = current.clone();
        next.set_query(parsed.query());
        if next == *current {
            return Err(invalid("repeats the current page"));
        }
        Ok(next)
    }

    /// GETs `url` and decodes the JSON body, naming `what` in errors.
    pub(crate) async fn get_json<T: DeserializeOwned>(
        &self,
        url: &Url,
        what: &str,
    ) -> Result<T, ConnectorError> {
        let reply = self.get(url).await?;
        reply.json(self.name(), what)
    }

    /// Every item of a collection, following `_links.next.href` until the last page.
    pub(crate) async fn get_all<T: DeserializeOwned>(
        &self,
        first: Url,
        what: &str,
    ) -> Result<Vec<T>, ConnectorError> {
        let mut items = Vec::new();
        let mut url = first;
        for _ in 0..MAX_PAGES {
            let page: WirePage<T> = self.get_json(&url, what).await?;
            let got = page.embedded.items.len();
            items.extend(page.embedded.items);
            match page.links.next {
                // An empty page ends the walk even if it links onward.
                Some(link) if got > 0 => url = self.follow(&url, &link.href)?,
                _ => return Ok(items),
            }
        }
        Err(ConnectorError::new(
            ErrorKind::InvalidResponse,
            self.name(),
            format!("{what}: paging did not end after {MAX_PAGES} pages"),
        ))
    }

    /// A bearer-authenticated GET. A 401 means the token expired or was revoked: forget it,
    /// obtain a new one and try once more.
    async fn get(&self, url: &Url) -> Result<Reply, ConnectorError> {
        let mut renewed = false;
        loop {
            let token = self.token().await?;
            let reply = self
                .upstream
                .send(true, |c| {
                    c.get(url.clone())
                        .bearer_auth(token.access_token.expose())
                        .header(ACCEPT, "application/json")
                })
                .await?;
            if reply.status == StatusCode::UNAUTHORIZED && !renewed {
                tracing::debug!(connector = %self.name(), "access token refused; renewing it");
                self.tokens.invalidate().await;
                renewed = true;
                continue;
            }
            if !reply.status.is_success() {
                let message = self.vendor_message(&reply);
                return Err(status_error(self.name(), &reply, &message));
            }
            return Ok(reply);
        }
    }

    async fn token(&self) -> Result<Token, ConnectorError> {
        self.tokens.get(|| self.fetch_token()).await
    }

    /// A new access token: by refresh token when we hold one, else (or when it is refused) by
    /// the password grant.
    async fn fetch_token(&self) -> Result<Token, ConnectorError> {
        let refresh = self.refresh.lock().await.clone();
        if let Some(refresh) = refresh {
            let body = serde_json::json!({
                "grant_type": "refresh_token",
                "refresh_token": refresh.expose(),
            });
            match self.grant(&body).await {
                Ok(token) => return Ok(token),
                Err(e) if e.kind == ErrorKind::Unauthorized => {
                    tracing::debug!(connector = %self.name(), "refresh token refused; using the password grant");
                    *self.refresh.lock().await = None;
                }
                Err(e) => return Err(e),
            }
        }
        let c = &self.credentials;
        let body = serde_json::json!({
            "grant_type": "password",
            "username": c.username,
            "password": c.password.expose(),
        });
        self.grant(&body).await
    }

    async fn grant(&self, body: &serde_json::Value) -> Result<Token, ConnectorError> {
        let url = self.endpoint(TOKEN_PATH, &[]);
        let c = &self.credentials;
        // Asking for a token has no side effect worth guarding: retry it like a read.
        let reply = self
            .upstream
            .send(true, |client| {
                client
                    .post(url.clone())
                    .basic_auth(&c.client_id, Some(c.secret.expose()))
                    .header(ACCEPT, "application/json")
                    .json(body)
            })
            .await?;
        if !reply.status.is_success() {
            let message = self.vendor_message(&reply);
            // Akeneo answers bad client credentials, users and refresh tokens with 422 (or a
            // 400/401 from the OAuth layer): all mean "these credentials do not work".
            return Err(match reply.status.as_u16() {
                400 | 401 | 403 | 422 => ConnectorError::new(
                    ErrorKind::Unauthorized,
                    self.name(),
                    format!(
                        "token request refused: HTTP {}: {message}",
                        reply.status.as_u16()
                    ),
                ),
                _ => status_error(self.name(), &reply, &message),
            });
        }
        let answer: TokenReply = reply.json(self.name(), "token response")?;
        if let Some(refresh) = answer.refresh_token.filter(|t| !t.is_empty()) {
            *self.refresh.lock().await = Some(Secret::new(refresh));
        }
        Ok(Token {
            access_token: Secret::new(answer.access_token),
            expires_at: token_expiry(answer.expires_in.unwrap_or(3600)),
            instance_url: None,
        })
    }

    /// The vendor's own words from an error body, without anything secret.
    fn vendor_message(&self, reply: &Reply) -> String {
        let raw = match serde_json::from_slice::<ErrorBody>(&reply.body) {
            Ok(body) => {
                let mut message = body.message.unwrap_or_else(|| "no message".into());
                let details: Vec<String> = body
                    .errors
                    .iter()
                    .take(3)
                    .filter_map(|d| {
                        let m = d.message.as_deref()?;
                        Some(match &d.property {
                            Some(p) => format!("{p}: {m}"),
                            None => m.to_owned(),
                        })
                    })
                    .collect();
                if !details.is_empty() {
                    message = format!("{message} ({})", details.join("; "));
                }
                message
            }
            Err(_) => reply.snippet(200),
        };
        scrub(&raw, &self.credentials)
    }
}

/// Removes credentials a misbehaving server might echo into a message.
fn scrub(message: &str, c: &Credentials) -> String {
    let mut out = message.to_owned();
    for secret in [c.secret.expose(), c.password.expose()] {
        if secret.len() >= 4 {
            out = out.replace(secret, "[redacted]");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(base: &str) -> AkeneoClient {
        let name = ConnectorName::new("pim");
        AkeneoClient::new(
            Upstream::new(name, UpstreamPolicy::default()).unwrap(),
            Url::parse(base).unwrap(),
            Credentials {
                client_id: "id".into(),
                secret: Secret::new("s3cr3t-value"),
                username: "u".into(),
                password: Secret::new("hunter2-pw"),
            },
        )
    }

    #[test]
    fn endpoints_keep_a_base_path_prefix() {
        let c = client("https://pim.example.com/pim/");
        let u = c.endpoint(PRODUCTS_PATH, &[("limit", "100")]);
        assert_eq!(
            u.as_str(),
            "https://pim.example.com/pim/api/rest/v1/products?limit=100"
        );
    }

    #[test]
    fn media_urls_keep_the_code_s_slashes() {
        let c = client("https://pim.example.com");
        assert_eq!(
            c.media_download_url("a/b/c/x_p1.jpg"),
            "https://pim.example.com/api/rest/v1/media-files/a/b/c/x_p1.jpg/download"
        );
    }

    #[test]
    fn next_links_are_rebased_and_must_stay_on_the_collection() {
        let c = client("https://pim.example.com");
        let current = c.endpoint(PRODUCTS_PATH, &[("limit", "10")]);
        let next = c
            .follow(
                &current,
                "http://internal:8080/api/rest/v1/products?limit=10&search_after=abc",
            )
            .unwrap();
        assert_eq!(
            next.as_str(),
            "https://pim.example.com/api/rest/v1/products?limit=10&search_after=abc"
        );
        assert!(c
            .follow(&current, "https://evil.example.com/steal?x=1")
            .is_err());
        assert!(c.follow(&current, current.as_str()).is_err());
    }

    #[test]
    fn error_messages_never_echo_credentials() {
        let c = client("https://pim.example.com");
        let reply = Reply {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            headers: Default::default(),
            body: bytes_of(
                r#"{"code":422,"message":"bad password hunter2-pw","errors":[{"property":"values","message":"nope"}]}"#,
            ),
        };
        assert_eq!(
            c.vendor_message(&reply),
            "bad password [redacted] (values: nope)"
        );
    }

    fn bytes_of(s: &str) -> axum::body::Bytes {
        axum::body::Bytes::from(s.to_owned())
    }
}
