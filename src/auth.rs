//! Who is calling: bearer tokens (JWT) verified against a shared secret (HS256) or a JSON Web
//! Key Set (RS256, ES256), with issuer, audience, expiry and not-before checked, mapped to a
//! [`Caller`]. The role comes from the `role` claim:
//!
//! | role              | identity claims                                 | may                                      |
//! |-------------------|-------------------------------------------------|------------------------------------------|
//! | (no token)        | -                                               | the catalogue: products, prices, stock, stores |
//! | `customer`        | `customer_number` (else `sub`), `customer_group`? | their own customer record, orders, wishlist, offers, vouchers |
//! | `store_associate` | `sub` (staff id), `store`                       | act for any customer in their store's channels (store, POS) |
//! | `service`         | `sub`                                           | everything                               |
//!
//! The graph enforces these where it reads data (see `graph::access`), so nested fields and
//! `node(id:)` cannot reach what the top level would refuse. Tokens are never logged; a rejected
//! token is answered with why (expired, wrong issuer, unknown key, bad signature), not with it.

use jsonwebtoken::jwk::{AlgorithmParameters, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use samlet_connector::context::Caller;
use samlet_connector::http::Secret;
use samlet_connector::ids::{CustomerGroup, CustomerNumber, LocationId};
use serde::Deserialize;
use std::time::{Duration, Instant};
use tokio::sync::{Mutex, RwLock};

/// The `[auth]` section.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    /// The `iss` every token must carry, e.g. `"https://id.example.com/"`.
    pub issuer: Option<String>,
    /// The `aud` every token must carry, e.g. `"samlet"`.
    pub audience: Option<String>,
    /// A shared secret for HS256 tokens (write `${NAME}` to take it from the environment).
    pub shared_secret: Option<Secret>,
    /// Where the identity provider publishes its signing keys (RS256/ES256), e.g.
    /// `"https://id.example.com/.well-known/jwks.json"`.
    pub jwks_url: Option<String>,
    /// A key set on disk instead of a URL.
    pub jwks_file: Option<std::path::PathBuf>,
    /// How long fetched keys are used before they are fetched again, e.g. `"10m"`. A token
    /// signed by an unknown key id triggers an earlier refetch (at most every 30 s).
    #[serde(default = "default_refresh", with = "crate::config::duration")]
    #[schemars(schema_with = "crate::config::duration_schema")]
    pub jwks_refresh: Duration,
    /// Clock skew tolerated on `exp` and `nbf`, e.g. `"30s"`.
    #[serde(default = "default_leeway", with = "crate::config::duration")]
    #[schemars(schema_with = "crate::config::duration_schema")]
    pub leeway: Duration,
}

fn default_refresh() -> Duration {
    Duration::from_secs(600)
}

fn default_leeway() -> Duration {
    Duration::from_secs(30)
}

impl AuthConfig {
    /// What is wrong with this section, if anything (exactly one key source).
    pub fn problem(&self) -> Option<&'static str> {
        let sources = [
            self.shared_secret.is_some(),
            self.jwks_url.is_some(),
            self.jwks_file.is_some(),
        ]
        .iter()
        .filter(|b| **b)
        .count();
        match sources {
            0 => Some("name where keys come from: shared_secret, jwks_url or jwks_file"),
            1 => None,
            _ => Some("name one key source: shared_secret, jwks_url or jwks_file"),
        }
    }
}

/// A verified identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// Who is calling.
    pub caller: Caller,
    /// The customer group a customer's token names (their B2B prices), if any.
    pub customer_group: Option<CustomerGroup>,
}

/// Why a token was refused. The message is safe to show the caller.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Rejected(pub String);

fn rejected(msg: impl Into<String>) -> Rejected {
    Rejected(msg.into())
}

struct Key {
    kid: Option<String>,
    alg: Algorithm,
    key: DecodingKey,
}

struct KeySet {
    keys: Vec<Key>,
    fetched: Option<Instant>,
}

enum Keys {
    Shared(DecodingKey),
    Jwks {
        source: JwksSource,
        set: RwLock<KeySet>,
        /// One fetch at a time; when an unknown key id last caused one.
        fetching: Mutex<Option<Instant>>,
        refresh: Duration,
    },
}

enum JwksSource {
    Url(reqwest::Client, String),
    File(std::path::PathBuf),
}

/// Verifies bearer tokens.
pub struct Authenticator {
    keys: Keys,
    issuer: Option<String>,
    audience: Option<String>,
    leeway: Duration,
}

/// The least time between two key-set fetches caused by unknown key ids.
const MIN_REFETCH: Duration = Duration::from_secs(30);

impl Authenticator {
    /// An authenticator for `config`. A key set on disk is read now, so a bad file fails start-up.
    pub fn new(config: &AuthConfig) -> anyhow::Result<Authenticator> {
        if let Some(p) = config.problem() {
            anyhow::bail!("[auth]: {p}");
        }
        let keys = if let Some(secret) = &config.shared_secret {
            if secret.expose().len() < 32 {
                anyhow::bail!("[auth] shared_secret: use at least 32 characters");
            }
            Keys::Shared(DecodingKey::from_secret(secret.expose().as_bytes()))
        } else {
            let (source, set) = match (&config.jwks_url, &config.jwks_file) {
                (Some(url), _) => {
                    url::Url::parse(url)
                        .map_err(|e| anyhow::anyhow!("[auth] jwks_url `{url}`: {e}"))?;
                    let http = reqwest::Client::builder()
                        .timeout(Duration::from_secs(5))
                        .build()?;
                    (
                        JwksSource::Url(http, url.clone()),
                        KeySet {
                            keys: Vec::new(),
                            fetched: None,
                        },
                    )
                }
                (None, Some(path)) => {
                    let text = std::fs::read_to_string(path)
                        .map_err(|e| anyhow::anyhow!("[auth] jwks_file {}: {e}", path.display()))?;
                    let keys = parse_jwks(&text)
                        .map_err(|e| anyhow::anyhow!("[auth] jwks_file {}: {e}", path.display()))?;
                    (
                        JwksSource::File(path.clone()),
                        KeySet {
                            keys,
                            fetched: Some(Instant::now()),
                        },
                    )
                }
                (None, None) => unreachable!("checked by problem()"),
            };
            Keys::Jwks {
                source,
                set: RwLock::new(set),
                fetching: Mutex::new(None),
                refresh: config.jwks_refresh,
            }
        };
        Ok(Authenticator {
            keys,
            issuer: config.issuer.clone(),
            audience: config.audience.clone(),
            leeway: config.leeway,
        })
    }

    /// The identity a bearer token proves, or why it proves none.
    pub async fn verify(&self, token: &str) -> Result<Identity, Rejected> {
        let header = jsonwebtoken::decode_header(token)
            .map_err(|_| rejected("the bearer token is not a JWT"))?;
        let claims = match &self.keys {
            Keys::Shared(key) => {
                if header.alg != Algorithm::HS256 {
                    return Err(rejected(format!(
                        "tokens must be signed with HS256, not {:?}",
                        header.alg
                    )));
                }
                self.decode(token, key, Algorithm::HS256)?
            }
            Keys::Jwks { .. } => {
                let kid = header.kid.clone();
                if let Some(claims) = self.with_key(token, &kid, header.alg).await? {
                    claims
                } else {
                    // An unknown key id: the provider may have rotated; fetch again (bounded).
                    self.refetch(true).await;
                    self.with_key(token, &kid, header.alg)
                        .await?
                        .ok_or_else(|| {
                            rejected(match &kid {
                                Some(k) => {
                                    format!("no trusted key has id `{k}` for {:?}", header.alg)
                                }
                                None => format!("no trusted key for {:?}", header.alg),
                            })
                        })?
                }
            }
        };
        identity(claims)
    }

    /// Verifies with the key named `kid` (or the only key of `alg`); `None` if there is none.
    async fn with_key(
        &self,
        token: &str,
        kid: &Option<String>,
        alg: Algorithm,
    ) -> Result<Option<serde_json::Map<String, serde_json::Value>>, Rejected> {
        let Keys::Jwks { set, refresh, .. } = &self.keys else {
            return Ok(None);
        };
        let stale = set
            .read()
            .await
            .fetched
            .is_none_or(|t| t.elapsed() > *refresh);
        if stale {
            self.refetch(false).await;
        }
        let set = set.read().await;
        let candidates: Vec<&Key> = set
            .keys
            .iter()
            .filter(|k| k.alg == alg && (kid.is_none() || &k.kid == kid))
            .collect();
        match candidates.as_slice() {
            [] => Ok(None),
            [k] => self.decode(token, &k.key, alg).map(Some),
            _ if kid.is_none() => Err(rejected(
                "the token names no key id (`kid`) and several keys could have signed it",
            )),
            [k, ..] => self.decode(token, &k.key, alg).map(Some),
        }
    }

    /// Fetches the key set again. For a token naming an unknown key id (the provider may have
    /// rotated), at most once per 30 seconds, so a flood of made-up ids cannot hammer the
    /// provider; otherwise when the keys are older than `jwks_refresh` (one caller fetches,
    /// the others wait and use the result). Keeps the old keys when the fetch fails.
    async fn refetch(&self, unknown_kid: bool) {
        let Keys::Jwks {
            source,
            set,
            fetching,
            refresh,
        } = &self.keys
        else {
            return;
        };
        let mut last_unknown = fetching.lock().await;
        if unknown_kid {
            if last_unknown.is_some_and(|t| t.elapsed() < MIN_REFETCH) {
                return;
            }
            *last_unknown = Some(Instant::now());
        } else if set
            .read()
            .await
            .fetched
            .is_some_and(|t| t.elapsed() <= *refresh)
        {
            // Another caller refreshed while this one waited for the lock.
            return;
        }
        let text = match source {
            JwksSource::Url(http, url) => {
                match http
                    .get(url)
                    .send()
                    .await
                    .and_then(|r| r.error_for_status())
                {
                    Ok(resp) => resp.text().await.map_err(|e| e.to_string()),
                    Err(e) => Err(e.to_string()),
                }
            }
            JwksSource::File(path) => std::fs::read_to_string(path).map_err(|e| e.to_string()),
        };
        match text.and_then(|t| parse_jwks(&t)) {
            Ok(keys) => {
                let mut set = set.write().await;
                set.keys = keys;
                set.fetched = Some(Instant::now());
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not refresh the JSON Web Key Set; keeping the keys already known");
                // Try again after the short interval rather than on every request.
                set.write().await.fetched =
                    Instant::now().checked_sub(refresh.saturating_sub(MIN_REFETCH));
            }
        }
    }

    fn decode(
        &self,
        token: &str,
        key: &DecodingKey,
        alg: Algorithm,
    ) -> Result<serde_json::Map<String, serde_json::Value>, Rejected> {
        let mut v = Validation::new(alg);
        v.leeway = self.leeway.as_secs();
        v.validate_nbf = true;
        v.set_required_spec_claims(&["exp"]);
        match &self.issuer {
            Some(iss) => v.set_issuer(&[iss]),
            None => v.iss = None,
        }
        match &self.audience {
            Some(aud) => v.set_audience(&[aud]),
            None => v.validate_aud = false,
        }
        jsonwebtoken::decode::<serde_json::Map<String, serde_json::Value>>(token, key, &v)
            .map(|d| d.claims)
            .map_err(|e| {
                use jsonwebtoken::errors::ErrorKind as K;
                rejected(match e.kind() {
                    K::ExpiredSignature => "the token has expired".to_owned(),
                    K::ImmatureSignature => "the token is not valid yet (nbf)".to_owned(),
                    K::InvalidIssuer => {
                        "the token's issuer (iss) is not the configured one".to_owned()
                    }
                    K::InvalidAudience => {
                        "the token's audience (aud) is not the configured one".to_owned()
                    }
                    K::InvalidSignature => "the token's signature does not verify".to_owned(),
                    K::MissingRequiredClaim(c) => format!("the token has no `{c}` claim"),
                    K::InvalidAlgorithm => {
                        "the token's algorithm does not match its key".to_owned()
                    }
                    _ => "the bearer token is malformed".to_owned(),
                })
            })
    }
}

/// The signing keys in a JWKS document (RSA for RS256, EC P-256 for ES256; others skipped).
fn parse_jwks(text: &str) -> Result<Vec<Key>, String> {
    let set: JwkSet =
        serde_json::from_str(text).map_err(|e| format!("not a JSON Web Key Set: {e}"))?;
    let mut keys = Vec::new();
    for jwk in &set.keys {
        let alg = match &jwk.algorithm {
            AlgorithmParameters::RSA(_) => Algorithm::RS256,
            AlgorithmParameters::EllipticCurve(ec)
                if ec.curve == jsonwebtoken::jwk::EllipticCurve::P256 =>
            {
                Algorithm::ES256
            }
            _ => continue,
        };
        // A key restricted to encryption is not for verifying signatures.
        if matches!(
            jwk.common.public_key_use,
            Some(jsonwebtoken::jwk::PublicKeyUse::Encryption)
        ) {
            continue;
        }
        let key =
            DecodingKey::from_jwk(jwk).map_err(|e| format!("key {:?}: {e}", jwk.common.key_id))?;
        keys.push(Key {
            kid: jwk.common.key_id.clone(),
            alg,
            key,
        });
    }
    if keys.is_empty() {
        return Err("the key set holds no RS256 or ES256 signing key".into());
    }
    Ok(keys)
}

fn claim<'a>(
    claims: &'a serde_json::Map<String, serde_json::Value>,
    name: &str,
) -> Option<&'a str> {
    claims
        .get(name)
        .and_then(|v| v.as_str())
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// The identity verified claims describe.
fn identity(claims: serde_json::Map<String, serde_json::Value>) -> Result<Identity, Rejected> {
    let role = claim(&claims, "role").ok_or_else(|| {
        rejected("the token has no `role` claim (customer, store_associate or service)")
    })?;
    let sub = claim(&claims, "sub");
    let caller = match role {
        "customer" => Caller::Customer(CustomerNumber::new(
            claim(&claims, "customer_number")
                .or(sub)
                .ok_or_else(|| rejected("a customer token needs `customer_number` or `sub`"))?,
        )),
        "store_associate" => Caller::StoreAssociate {
            staff_id: sub
                .ok_or_else(|| rejected("a store associate token needs `sub` (the staff id)"))?
                .to_owned(),
            store: LocationId::new(
                claim(&claims, "store")
                    .ok_or_else(|| rejected("a store associate token needs `store`"))?,
            ),
        },
        "service" => Caller::Service(
            sub.ok_or_else(|| rejected("a service token needs `sub`"))?
                .to_owned(),
        ),
        other => {
            return Err(rejected(format!(
                "unknown role `{other}`; expected customer, store_associate or service"
            )))
        }
    };
    let customer_group = match caller {
        Caller::Customer(_) => claim(&claims, "customer_group").map(CustomerGroup::new),
        _ => None,
    };
    Ok(Identity {
        caller,
        customer_group,
    })
}

/// Signs an HS256 token: for the demo's ready-made tokens and for tests. `ttl` from now.
pub fn mint_hs256(secret: &str, claims: serde_json::Value, ttl: Duration) -> String {
    let mut claims = claims;
    let now = chrono::Utc::now().timestamp();
    if let Some(map) = claims.as_object_mut() {
        map.entry("iat").or_insert(now.into());
        map.entry("exp")
            .or_insert((now + ttl.as_secs() as i64).into());
    }
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("HS256 signing cannot fail")
}

/// A random secret for the demo (64 hex characters).
pub fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    getrandom::getrandom(&mut bytes).expect("the OS gives random bytes");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "0123456789abcdef0123456789abcdef-test";

    fn auth() -> Authenticator {
        Authenticator::new(&AuthConfig {
            issuer: Some("iss".into()),
            audience: Some("samlet".into()),
            shared_secret: Some(Secret::new(SECRET)),
            jwks_url: None,
            jwks_file: None,
            jwks_refresh: default_refresh(),
            leeway: Duration::ZERO,
        })
        .expect("valid")
    }

    fn token(claims: serde_json::Value) -> String {
        mint_hs256(SECRET, claims, Duration::from_secs(60))
    }

    #[tokio::test]
    async fn roles_map_to_callers() {
        let a = auth();
        let base = serde_json::json!({ "iss": "iss", "aud": "samlet" });
        let with = |extra: serde_json::Value| {
            let mut c = base.clone();
            c.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            token(c)
        };
        let c = a
            .verify(&with(
                serde_json::json!({ "role": "customer", "sub": "C1", "customer_group": "B2B" }),
            ))
            .await
            .unwrap();
        assert_eq!(c.caller, Caller::Customer(CustomerNumber::new("C1")));
        assert_eq!(c.customer_group, Some(CustomerGroup::new("B2B")));
        let s = a
            .verify(&with(
                serde_json::json!({ "role": "store_associate", "sub": "s-7", "store": "DK-CPH" }),
            ))
            .await
            .unwrap();
        assert_eq!(
            s.caller,
            Caller::StoreAssociate {
                staff_id: "s-7".into(),
                store: LocationId::new("DK-CPH")
            }
        );
        let e = a
            .verify(&with(
                serde_json::json!({ "role": "store_associate", "sub": "s-7" }),
            ))
            .await
            .unwrap_err();
        assert!(e.0.contains("`store`"), "{e}");
        let e = a
            .verify(&with(serde_json::json!({ "role": "admin", "sub": "x" })))
            .await
            .unwrap_err();
        assert!(e.0.contains("unknown role"), "{e}");
    }

    #[tokio::test]
    async fn issuer_audience_expiry_and_signature_are_checked() {
        let a = auth();
        let e = a
            .verify(&token(serde_json::json!({ "iss": "other", "aud": "samlet", "role": "service", "sub": "x" })))
            .await
            .unwrap_err();
        assert!(e.0.contains("issuer"), "{e}");
        let e = a
            .verify(&token(
                serde_json::json!({ "iss": "iss", "aud": "else", "role": "service", "sub": "x" }),
            ))
            .await
            .unwrap_err();
        assert!(e.0.contains("audience"), "{e}");
        let old = token(
            serde_json::json!({ "iss": "iss", "aud": "samlet", "role": "service", "sub": "x", "exp": 1_000 }),
        );
        assert!(a.verify(&old).await.unwrap_err().0.contains("expired"));
        let forged = mint_hs256(
            "another-secret-another-secret-another",
            serde_json::json!({ "iss": "iss", "aud": "samlet", "role": "service", "sub": "x" }),
            Duration::from_secs(60),
        );
        assert!(a.verify(&forged).await.unwrap_err().0.contains("signature"));
        assert!(a.verify("not.a.jwt").await.is_err());
    }
}
