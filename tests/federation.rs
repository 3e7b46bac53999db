//! Samlet as an Apollo Federation v2 subgraph: its `_service { sdl }` is composed with a second
//! small subgraph (reviews, which references products and customers) by
//! `@theguild/federation-composition`, and queries cross both through a real Apollo Gateway
//! (npm). Needs `node` and `npm`; the test runs `npm ci` in tests/federation itself.

#![cfg(feature = "demo")]

mod common;

use async_graphql::{EmptyMutation, EmptySubscription, Object, Schema, SimpleObject};
use common::{Kill, Running};
use samlet::demo::Stack;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

// --- The second subgraph: reviews of Samlet's products, written by Samlet's customers. -----

struct ReviewsQuery;

/// A product as the reviews subgraph knows it: its key and its reviews.
#[derive(Clone)]
struct ReviewedProduct {
    code: String,
}

/// A customer as the reviews subgraph knows it: the key only.
#[derive(Clone, SimpleObject)]
#[graphql(name = "Customer")]
struct Author {
    customer_number: String,
}

#[derive(Clone, SimpleObject)]
struct Review {
    stars: i32,
    text: String,
    product: ReviewedProduct,
    author: Author,
}

fn reviews_of(code: &str) -> Vec<Review> {
    let n: i32 = code.bytes().map(i32::from).sum();
    (0..2)
        .map(|k| Review {
            stars: 1 + (n + k) % 5,
            text: format!("review {k} of {code}"),
            product: ReviewedProduct {
                code: code.to_owned(),
            },
            author: Author {
                customer_number: format!("C{:07}", 12 + k),
            },
        })
        .collect()
}

#[Object(name = "Product")]
impl ReviewedProduct {
    async fn code(&self) -> &str {
        &self.code
    }
    async fn reviews(&self) -> Vec<Review> {
        reviews_of(&self.code)
    }
}

#[Object(name = "Query")]
impl ReviewsQuery {
    /// The latest reviews.
    async fn top_reviews(&self) -> Vec<Review> {
        reviews_of("P000042")
    }
    #[graphql(entity)]
    async fn find_product_by_code(&self, code: String) -> ReviewedProduct {
        ReviewedProduct { code }
    }
    #[graphql(entity)]
    async fn find_customer_by_customer_number(&self, customer_number: String) -> Author {
        Author { customer_number }
    }
}

async fn reviews_subgraph() -> String {
    let schema = Schema::build(ReviewsQuery, EmptyMutation, EmptySubscription)
        .enable_federation()
        .finish();
    let app = axum::Router::new().route(
        "/graphql",
        axum::routing::post_service(async_graphql_axum::GraphQL::new(schema)),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}/graphql")
}

// --- The gateway. ----------------------------------------------------------------------------

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/federation")
}

fn npm_ci() {
    let d = dir();
    let stamp = d.join("node_modules/.package-lock.json");
    let fresh = std::fs::metadata(&stamp)
        .and_then(|s| s.modified())
        .ok()
        .zip(
            std::fs::metadata(d.join("package-lock.json"))
                .and_then(|l| l.modified())
                .ok(),
        )
        .is_some_and(|(s, l)| s >= l);
    if !fresh {
        let out = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&d)
            .output()
            .expect("npm is installed");
        assert!(
            out.status.success(),
            "npm ci in tests/federation failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

async fn gateway(subgraphs: Value) -> (Kill, String, PathBuf) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let tmp = std::env::temp_dir().join(format!("samlet-federation-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let (out, err) = (tmp.join("gateway.out"), tmp.join("gateway.err"));
    let child = Command::new("node")
        .arg("gateway.mjs")
        .current_dir(dir())
        .env("SUBGRAPHS", subgraphs.to_string())
        .env("PORT", port.to_string())
        .env("SUPERGRAPH_OUT", tmp.join("supergraph.graphql"))
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap())
        .stdin(Stdio::null())
        .spawn()
        .expect("node is installed");
    let mut child = Kill(child);
    for _ in 0..600 {
        let printed = std::fs::read_to_string(&out).unwrap_or_default();
        if printed.contains("ready ") {
            return (child, format!("http://127.0.0.1:{port}/"), tmp);
        }
        if let Ok(Some(status)) = child.0.try_wait() {
            panic!(
                "the gateway exited ({status}): {}{}",
                printed,
                std::fs::read_to_string(&err).unwrap_or_default()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "the gateway did not start: {}",
        std::fs::read_to_string(&err).unwrap_or_default()
    );
}

async fn post(http: &reqwest::Client, url: &str, query: &str, auth: Option<&str>) -> Value {
    let mut req = http.post(url).json(&json!({ "query": query }));
    if let Some(a) = auth {
        req = req.header("authorization", a);
    }
    req.send().await.unwrap().json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn samlet_composes_into_a_supergraph_and_answers_through_apollo_gateway() {
    npm_ci();
    let mut g = Running::start_with(Stack::A, |c| c.server.federation = true).await;
    let service = g.default_auth.take().unwrap();
    let reviews = reviews_subgraph().await;
    // The subgraph SDL carries the federation v2 link and the entity keys.
    let sdl = post(
        &g.http,
        &format!("{}/graphql", g.url),
        "{ _service { sdl } }",
        None,
    )
    .await;
    let sdl = sdl["data"]["_service"]["sdl"].as_str().unwrap().to_owned();
    assert!(
        sdl.contains("https://specs.apollo.dev/federation/v2"),
        "{sdl}"
    );
    for key in [
        r#"type Product implements Node @key(fields: "code")"#,
        r#"type Variant implements Node @key(fields: "sku")"#,
        r#"type Customer implements Node @key(fields: "customerNumber")"#,
        r#"type Order implements Node @key(fields: "number")"#,
        r#"type Location implements Node @key(fields: "code")"#,
    ] {
        assert!(
            sdl.contains(key),
            "missing `{key}` in the subgraph SDL: {:?}",
            sdl.lines()
                .filter(|l| l.contains("@key"))
                .collect::<Vec<_>>()
        );
    }
    let (_gw, url, tmp) = gateway(json!([
        { "name": "samlet", "url": format!("{}/graphql", g.url) },
        { "name": "reviews", "url": reviews },
    ]))
    .await;
    let supergraph = std::fs::read_to_string(tmp.join("supergraph.graphql")).unwrap();
    assert!(
        supergraph.contains("join__graph(name: \"samlet\""),
        "{supergraph}"
    );
    assert!(
        supergraph.contains("join__graph(name: \"reviews\""),
        "{supergraph}"
    );

    // Samlet's product, with the reviews subgraph's reviews beside its price and stock.
    let direct = g
        .query_with(
            r#"{ product(code: "P000042") { name price { amount { amount currencyCode } } } }"#,
            json!({}),
            &[],
        )
        .await;
    let v = post(
        &g.http,
        &url,
        r#"{ product(code: "P000042") { code name price { amount { amount currencyCode } } reviews { stars text } } }"#,
        None,
    )
    .await;
    assert!(v.get("errors").is_none(), "{v:#}");
    assert_eq!(
        v["data"]["product"]["name"],
        direct["data"]["product"]["name"]
    );
    assert_eq!(
        v["data"]["product"]["price"],
        direct["data"]["product"]["price"]
    );
    assert_eq!(v["data"]["product"]["reviews"].as_array().unwrap().len(), 2);

    // The other way: reviews from the second subgraph, their products resolved by Samlet's
    // `_entities`.
    let v = post(
        &g.http,
        &url,
        "{ topReviews { stars product { code name price { amount { amount } } } } }",
        None,
    )
    .await;
    assert!(v.get("errors").is_none(), "{v:#}");
    assert_eq!(v["data"]["topReviews"][0]["product"]["code"], "P000042");
    assert_eq!(
        v["data"]["topReviews"][0]["product"]["name"],
        direct["data"]["product"]["name"]
    );

    // Customer entities keep Samlet's access rules through the gateway: anonymous callers get
    // no author details; the caller's token, forwarded by the gateway, opens them.
    let q = "{ topReviews { stars author { customerNumber email } } }";
    let v = post(&g.http, &url, q, None).await;
    assert!(
        v["data"]["topReviews"][0]["author"]["email"].is_null(),
        "{v:#}"
    );
    assert!(
        v["errors"]
            .as_array()
            .is_some_and(|e| e.iter().any(|e| e.to_string().contains("UNAUTHENTICATED"))),
        "{v:#}"
    );
    let v = post(&g.http, &url, q, Some(&service)).await;
    assert!(v.get("errors").is_none(), "{v:#}");
    assert!(v["data"]["topReviews"][0]["author"]["email"]
        .as_str()
        .is_some_and(|e| e.contains('@')));
}
