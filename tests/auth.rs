//! Bearer tokens signed by an identity provider's keys: a JSON Web Key Set served over HTTP
//! (RS256 and ES256 keys), fetched by the gateway, refetched when a token names a key it does
//! not know (rotation), and every kind of bad token refused with a 401 that says why.

#![cfg(feature = "demo")]

mod common;

use axum::routing::get;
use common::Running;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use samlet::demo::Stack;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const ISSUER: &str = "https://id.test.example/";
const AUDIENCE: &str = "samlet-storefront";

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/auth")
            .join(name),
    )
    .unwrap()
}

/// A stand-in identity provider: serves its key set and counts the fetches.
struct Idp {
    url: String,
    jwks: Arc<Mutex<Value>>,
    fetches: Arc<AtomicUsize>,
}

async fn idp() -> Idp {
    let jwks: Value = serde_json::from_slice(&fixture("jwks.json")).unwrap();
    let jwks = Arc::new(Mutex::new(jwks));
    let fetches = Arc::new(AtomicUsize::new(0));
    let (j, f) = (jwks.clone(), fetches.clone());
    let app = axum::Router::new().route(
        "/.well-known/jwks.json",
        get(move || {
            let (j, f) = (j.clone(), f.clone());
            async move {
                f.fetch_add(1, Ordering::SeqCst);
                axum::Json(j.lock().unwrap().clone())
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Idp {
        url: format!("http://{addr}/.well-known/jwks.json"),
        jwks,
        fetches,
    }
}

fn sign(alg: Algorithm, kid: &str, key: &str, claims: Value) -> String {
    let mut header = Header::new(alg);
    header.kid = Some(kid.into());
    let pem = fixture(key);
    let key = match alg {
        Algorithm::RS256 => EncodingKey::from_rsa_pem(&pem).unwrap(),
        Algorithm::ES256 => EncodingKey::from_ec_pem(&pem).unwrap(),
        _ => unreachable!(),
    };
    jsonwebtoken::encode(&header, &claims, &key).unwrap()
}

fn claims(extra: Value) -> Value {
    let now = chrono::Utc::now().timestamp();
    let mut c = json!({ "iss": ISSUER, "aud": AUDIENCE, "iat": now, "exp": now + 300, "role": "service", "sub": "erp-sync" });
    for (k, v) in extra.as_object().unwrap() {
        c[k] = v.clone();
    }
    c
}

async fn gateway(idp: &Idp) -> Running {
    let url = idp.url.clone();
    let mut g = Running::start_with(Stack::A, move |c| {
        c.auth = Some(samlet::auth::AuthConfig {
            issuer: Some(ISSUER.into()),
            audience: Some(AUDIENCE.into()),
            shared_secret: None,
            jwks_url: Some(url),
            jwks_file: None,
            jwks_refresh: Duration::from_secs(600),
            leeway: Duration::from_secs(5),
        })
    })
    .await;
    g.default_auth = None;
    g
}

const CUSTOMER_Q: &str = r#"{ customer(customerNumber: "C0000012") { customerNumber } }"#;

async fn ask(g: &Running, token: &str) -> (u16, Value) {
    let r = g
        .http
        .post(format!("{}/graphql", g.url))
        .bearer_auth(token)
        .json(&json!({ "query": CUSTOMER_Q }))
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rs256_and_es256_tokens_from_the_key_set_are_accepted_and_bad_ones_refused() {
    let idp = idp().await;
    let g = gateway(&idp).await;
    for (alg, kid, key) in [
        (Algorithm::RS256, "test-rsa-1", "rsa-private.pem"),
        (Algorithm::ES256, "test-ec-1", "ec-private.pem"),
    ] {
        let (status, v) = ask(&g, &sign(alg, kid, key, claims(json!({})))).await;
        assert_eq!(status, 200, "{v:#}");
        assert_eq!(v["data"]["customer"]["customerNumber"], "C0000012", "{v:#}");
    }
    // A customer token sees only its own customer.
    let mine = sign(
        Algorithm::ES256,
        "test-ec-1",
        "ec-private.pem",
        claims(json!({ "role": "customer", "sub": "C0000012" })),
    );
    assert_eq!(ask(&g, &mine).await.0, 200);
    let theirs = sign(
        Algorithm::ES256,
        "test-ec-1",
        "ec-private.pem",
        claims(json!({ "role": "customer", "sub": "C0000013" })),
    );
    let (_, v) = ask(&g, &theirs).await;
    assert_eq!(v["errors"][0]["extensions"]["code"], "FORBIDDEN", "{v:#}");
    let now = chrono::Utc::now().timestamp();
    let hs256 = samlet::auth::mint_hs256(
        // The RSA public key's modulus as an HMAC secret: the classic algorithm confusion.
        idp.jwks.lock().unwrap()["keys"][0]["n"].as_str().unwrap(),
        claims(json!({})),
        Duration::from_secs(60),
    );
    for (token, why) in [
        (
            sign(
                Algorithm::RS256,
                "test-rsa-1",
                "rsa-private.pem",
                claims(json!({ "exp": now - 60 })),
            ),
            "expired",
        ),
        (
            sign(
                Algorithm::RS256,
                "test-rsa-1",
                "rsa-private.pem",
                claims(json!({ "nbf": now + 600 })),
            ),
            "not valid yet",
        ),
        (
            sign(
                Algorithm::RS256,
                "test-rsa-1",
                "rsa-private.pem",
                claims(json!({ "iss": "https://evil.example/" })),
            ),
            "issuer",
        ),
        (
            sign(
                Algorithm::ES256,
                "test-ec-1",
                "ec-private.pem",
                claims(json!({ "aud": "someone-else" })),
            ),
            "audience",
        ),
        (
            sign(
                Algorithm::RS256,
                "test-rsa-1",
                "rsa-untrusted.pem",
                claims(json!({})),
            ),
            "signature",
        ),
        (
            sign(
                Algorithm::RS256,
                "test-rsa-1",
                "rsa-private.pem",
                claims(json!({ "role": "root" })),
            ),
            "unknown role",
        ),
        (hs256, "no trusted key"),
        (
            // alg "none": an unsigned token.
            format!(
                "{}.{}.",
                base64_url(br#"{"alg":"none","typ":"JWT"}"#),
                base64_url(claims(json!({})).to_string().as_bytes())
            ),
            "not a JWT",
        ),
    ] {
        let (status, v) = ask(&g, &token).await;
        assert_eq!(status, 401, "{why}: {v:#}");
        let msg = v["errors"][0]["message"].as_str().unwrap();
        assert!(msg.contains(why), "expected `{why}` in `{msg}`");
        assert!(!msg.contains(&token), "the token is not echoed");
        assert_eq!(v["extensions"]["code"], "UNAUTHENTICATED");
    }
}

fn base64_url(b: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_key_is_fetched_once_and_unknown_keys_do_not_hammer_the_provider() {
    let idp = idp().await;
    let g = gateway(&idp).await;
    let (status, _) = ask(
        &g,
        &sign(
            Algorithm::RS256,
            "test-rsa-1",
            "rsa-private.pem",
            claims(json!({})),
        ),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        idp.fetches.load(Ordering::SeqCst),
        1,
        "one fetch, then cached"
    );
    for _ in 0..5 {
        ask(
            &g,
            &sign(
                Algorithm::ES256,
                "test-ec-1",
                "ec-private.pem",
                claims(json!({})),
            ),
        )
        .await;
    }
    assert_eq!(idp.fetches.load(Ordering::SeqCst), 1);
    // The provider rotates: the EC key gets a new id. A token with it makes the gateway
    // fetch again, once.
    {
        let mut j = idp.jwks.lock().unwrap();
        j["keys"][1]["kid"] = json!("test-ec-2");
    }
    let rotated = sign(
        Algorithm::ES256,
        "test-ec-2",
        "ec-private.pem",
        claims(json!({})),
    );
    let (status, v) = ask(&g, &rotated).await;
    assert_eq!(status, 200, "{v:#}");
    assert_eq!(idp.fetches.load(Ordering::SeqCst), 2);
    // A flood of tokens naming a key nobody has: refused, and at most one more fetch.
    let bogus = sign(
        Algorithm::ES256,
        "no-such-key",
        "ec-private.pem",
        claims(json!({})),
    );
    for _ in 0..20 {
        let (status, v) = ask(&g, &bogus).await;
        assert_eq!(status, 401);
        assert!(v["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("no-such-key"));
    }
    assert!(
        idp.fetches.load(Ordering::SeqCst) <= 3,
        "{}",
        idp.fetches.load(Ordering::SeqCst)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_token_the_catalogue_is_open_and_customers_are_not() {
    let idp = idp().await;
    let g = gateway(&idp).await;
    let v: Value = g
        .http
        .post(format!("{}/graphql", g.url))
        .json(&json!({ "query": r#"{ products(first: 2) { nodes { code } } customer(customerNumber: "C0000012") { email } }"# }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["data"]["products"]["nodes"].as_array().unwrap().len(), 2);
    assert!(v["data"]["customer"].is_null());
    assert_eq!(
        v["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
        "{v:#}"
    );
    assert_eq!(v["errors"][0]["path"][0], "customer");
}
