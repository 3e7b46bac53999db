//! Hostile requests over real HTTP against the demo gateway: oversize bodies, deep queries,
//! alias and fragment bombs, huge pages, over-cost queries, batches, persisted queries (automatic,
//! safelist, off), malformed JSON, CSRF-able content types and GET mutations. Each is refused
//! with the GraphQL-over-HTTP status and error shape, and the gateway keeps serving.

#![cfg(feature = "demo")]

mod common;

use common::Running;
use samlet::demo::Stack;
use samlet::graph::persisted::sha256_hex;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The media type that makes request errors 400 (GraphQL over HTTP).
const GQL: &str = "application/graphql-response+json";

/// POSTs raw `body` as `content_type`, accepting `accept`; returns status, headers and JSON.
async fn post_raw(
    g: &Running,
    content_type: &str,
    accept: &str,
    body: impl Into<reqwest::Body>,
) -> (u16, reqwest::header::HeaderMap, Value) {
    let r = g
        .http
        .post(format!("{}/graphql", g.url))
        .header("content-type", content_type)
        .header("accept", accept)
        .body(body)
        .send()
        .await
        .expect("gateway answers");
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let text = r.text().await.expect("a body");
    let v =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{status}: not JSON ({e}): {text}"));
    (status, headers, v)
}

/// POSTs a JSON body accepting `application/graphql-response+json`; returns status and JSON.
async fn post(g: &Running, body: Value) -> (u16, Value) {
    let (s, _, v) = post_raw(g, "application/json", GQL, body.to_string()).await;
    (s, v)
}

/// The one error of a refused request, with `data` absent.
fn only_error(v: &Value) -> &Value {
    assert!(
        v.get("data").is_none(),
        "a refused request has no data: {v:#}"
    );
    let errors = v["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("errors: {v:#}"));
    assert_eq!(errors.len(), 1, "{v:#}");
    &errors[0]
}

/// The gateway still answers an ordinary query.
async fn still_serving(g: &Running) {
    let (s, v) = post(g, json!({ "query": "{ locations { code } }" })).await;
    assert_eq!(s, 200, "{v:#}");
    assert_eq!(
        v["data"]["locations"].as_array().map(Vec::len),
        Some(11),
        "{v:#}"
    );
}

/// A request sent over a bare socket with a chunked body (no `Content-Length` to refuse it by).
async fn chunked_post(g: &Running, body: &[u8]) -> (u16, String) {
    let addr = g.url.trim_start_matches("http://");
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let head = format!(
        "POST /graphql HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n"
    );
    s.write_all(head.as_bytes()).await.expect("write");
    for chunk in body.chunks(16 * 1024) {
        let size = format!("{:x}\r\n", chunk.len());
        // The server may answer and close before the whole body is sent.
        if s.write_all(size.as_bytes()).await.is_err()
            || s.write_all(chunk).await.is_err()
            || s.write_all(b"\r\n").await.is_err()
        {
            break;
        }
    }
    let _ = s.write_all(b"0\r\n\r\n").await;
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out).await;
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no status line: {text}"));
    (status, text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_requests_are_refused_and_the_gateway_keeps_serving() {
    let g = Running::start_with(Stack::A, |c| {
        c.server.max_body_bytes = 64 * 1024;
    })
    .await;
    still_serving(&g).await;

    // Oversize body, with a Content-Length...
    let big = json!({ "query": format!("{{ locations {{ code }} }} #{}", "x".repeat(100 * 1024)) })
        .to_string();
    let (s, h, v) = post_raw(&g, "application/json", GQL, big.clone()).await;
    assert_eq!(s, 413, "{v:#}");
    assert!(h["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    assert!(
        only_error(&v)["message"]
            .as_str()
            .unwrap()
            .contains("max_body_bytes"),
        "{v:#}"
    );
    // ...and streamed without one.
    let (s, text) = chunked_post(&g, big.as_bytes()).await;
    assert_eq!(s, 413, "{text}");
    assert!(text.contains("max_body_bytes"), "{text}");
    still_serving(&g).await;

    // Deeper than max_depth (16): customer -> orders -> nodes -> customer ..., one order a level.
    let mut deep = String::from("customerNumber");
    for _ in 0..6 {
        deep = format!("customer {{ orders(first: 1) {{ nodes {{ {deep} }} }} }}");
    }
    let q = format!("{{ order(number: \"SO0000001\") {{ {deep} }} }}");
    let (s, v) = post(&g, json!({ "query": q })).await;
    assert_eq!(s, 400, "{v:#}");
    assert_eq!(
        only_error(&v)["message"],
        "Query is nested too deep.",
        "{v:#}"
    );
    still_serving(&g).await;

    // An alias bomb: 31 aliases (max_aliases is 30).
    let aliases: String = (0..31).map(|i| format!("a{i}: __typename ")).collect();
    let (s, v) = post(&g, json!({ "query": format!("{{ {aliases} }}") })).await;
    assert_eq!(s, 400, "{v:#}");
    let e = only_error(&v);
    assert_eq!(e["extensions"]["code"], "LIMIT_EXCEEDED", "{v:#}");
    assert!(
        e["message"].as_str().unwrap().contains("31 aliases"),
        "{v:#}"
    );
    still_serving(&g).await;

    // A fragment bomb: 40 fragments each spreading the next twice, 2^41 selections expanded.
    let mut bomb = String::from("query Bomb { ...F0 }\n");
    for i in 0..40 {
        bomb.push_str(&format!(
            "fragment F{i} on Query {{ ...F{n} ...F{n} }}\n",
            n = i + 1
        ));
    }
    bomb.push_str("fragment F40 on Query { locations { code } }\n");
    let (s, v) = post(&g, json!({ "query": bomb })).await;
    assert_eq!(s, 400, "{v:#}");
    let e = only_error(&v);
    assert_eq!(e["extensions"]["code"], "LIMIT_EXCEEDED", "{v:#}");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("at most 2000 are allowed (server.max_selections)"),
        "{v:#}"
    );
    still_serving(&g).await;

    // A page over max_list_size (100), as a literal and through a variable.
    let (s, v) = post(
        &g,
        json!({ "query": "{ products(first: 101) { nodes { code } } }" }),
    )
    .await;
    assert_eq!(s, 400, "{v:#}");
    let e = only_error(&v);
    assert_eq!(e["extensions"]["code"], "BAD_USER_INPUT", "{v:#}");
    assert_eq!(
        e["message"],
        "`first` on `products` is 101; at most 100 items per page are allowed (server.max_list_size)"
    );
    let q = "query($n: Int!) { customer(customerNumber: \"C0000012\") { orders(first: $n) { nodes { number } } } }";
    let (s, v) = post(&g, json!({ "query": q, "variables": { "n": 5000 } })).await;
    assert_eq!(s, 400, "{v:#}");
    assert!(
        only_error(&v)["message"]
            .as_str()
            .unwrap()
            .starts_with("`first` on `orders` is 5000"),
        "{v:#}"
    );
    still_serving(&g).await;

    // Cost counts pages: 100 products x 20 accessories x their fields is over max_complexity
    // (5,000) although every page is within max_list_size; one page of ten is not.
    let q = "{ products(first: 100) { nodes { code accessories(first: 20) { product { code name } variant { sku } } } } }";
    let (s, v) = post(&g, json!({ "query": q })).await;
    assert_eq!(s, 400, "{v:#}");
    assert_eq!(only_error(&v)["message"], "Query is too complex.", "{v:#}");
    let (s, v) = post(
        &g,
        json!({ "query": "{ products(first: 10) { nodes { code } } }" }),
    )
    .await;
    assert_eq!(s, 200, "{v:#}");
    assert_eq!(
        v["data"]["products"]["nodes"].as_array().map(Vec::len),
        Some(10)
    );

    // Batching is off by default: an array is a clear 400.
    let batch = json!([{ "query": "{ locations { code } }" }, { "query": "{ __typename }" }]);
    let (s, v) = post(&g, batch).await;
    assert_eq!(s, 400, "{v:#}");
    let e = only_error(&v);
    assert_eq!(e["extensions"]["code"], "BAD_USER_INPUT", "{v:#}");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("server.max_batch = 0"),
        "{v:#}"
    );
    still_serving(&g).await;

    // Malformed JSON, and JSON that is no GraphQL request.
    for body in ["{\"query\": ", "{\"query\": 42}", "null"] {
        let (s, _, v) = post_raw(&g, "application/json", GQL, body).await;
        assert_eq!(s, 400, "{body}: {v:#}");
        assert!(
            only_error(&v)["message"]
                .as_str()
                .unwrap()
                .starts_with("the request body is not a GraphQL request"),
            "{body}: {v:#}"
        );
    }
    still_serving(&g).await;

    // CSRF: content types a browser sends cross-site without a preflight are refused unread.
    let order = json!({ "query": "mutation { __typename }" }).to_string();
    for ct in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
    ] {
        let (s, _, v) = post_raw(&g, ct, GQL, order.clone()).await;
        assert_eq!(s, 415, "{ct}: {v:#}");
        assert_eq!(
            only_error(&v)["message"],
            "POST /graphql takes Content-Type: application/json"
        );
    }
    still_serving(&g).await;

    // A mutation over GET is refused (a link must not place an order); a query over GET runs.
    let r = g
        .http
        .get(format!("{}/graphql", g.url))
        .query(&[("query", "mutation { __typename }")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
    assert_eq!(r.headers()["allow"], "POST");
    let v: Value = r.json().await.unwrap();
    assert_eq!(
        only_error(&v)["message"],
        "mutations must be sent with POST"
    );
    let r = g
        .http
        .get(format!("{}/graphql", g.url))
        .query(&[("query", "{ locations { code } }")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // Automatic persisted queries: an unknown hash, then register (text + hash), then the hash.
    let q = "{ locations { code name } }";
    let hash = sha256_hex(q);
    let pq = json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } });
    let (_, v) = post(&g, json!({ "extensions": pq })).await;
    assert_eq!(only_error(&v)["message"], "PersistedQueryNotFound", "{v:#}");
    let (s, v) = post(&g, json!({ "query": q, "extensions": pq })).await;
    assert_eq!(s, 200, "{v:#}");
    let registered = v["data"].clone();
    assert_eq!(registered["locations"].as_array().map(Vec::len), Some(11));
    let (s, v) = post(&g, json!({ "extensions": pq })).await;
    assert_eq!(s, 200, "{v:#}");
    assert_eq!(v["data"], registered);

    // A registered mutation named by its hash over GET is refused too, once its text is known.
    let m = "mutation Ping { __typename }";
    let pq = json!({ "persistedQuery": { "version": 1, "sha256Hash": sha256_hex(m) } });
    let (s, v) = post(&g, json!({ "query": m, "extensions": pq })).await;
    assert_eq!(s, 200, "{v:#}");
    assert_eq!(v["data"]["__typename"], "Mutation", "{v:#}");
    let r = g
        .http
        .get(format!("{}/graphql", g.url))
        .header("accept", GQL)
        .query(&[("extensions", pq.to_string())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let v: Value = r.json().await.unwrap();
    let e = only_error(&v);
    assert_eq!(e["extensions"]["code"], "METHOD_NOT_ALLOWED", "{v:#}");
    assert_eq!(e["message"], "mutations must be sent with POST", "{v:#}");
    still_serving(&g).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_are_bounded_and_each_operation_is_limited_and_authorised_alone() {
    let g = Running::start_with(Stack::A, |c| c.server.max_batch = 3).await;
    let ops = |n: usize| -> Value {
        (0..n)
            .map(|_| json!({ "query": "{ __typename }" }))
            .collect()
    };
    let (s, v) = post(&g, ops(4)).await;
    assert_eq!(s, 400, "{v:#}");
    let e = only_error(&v);
    assert_eq!(e["extensions"]["code"], "BAD_USER_INPUT");
    assert_eq!(
        e["message"],
        "the batch holds 4 operations; at most 3 are allowed (server.max_batch)"
    );
    let (s, v) = post(&g, json!([])).await;
    assert_eq!(s, 400, "{v:#}");
    still_serving(&g).await;

    // Three operations, anonymous: the first runs, the second is over the page limit, the third
    // asks for a customer (which an anonymous caller may not see). Each answers for itself.
    let batch = json!([
        { "query": "{ locations { code } }" },
        { "query": "{ products(first: 500) { nodes { code } } }" },
        { "query": "{ customer(customerNumber: \"C0000012\") { email } }" },
    ]);
    let (s, _, v) = post_raw(&g, "application/json", GQL, batch.to_string()).await;
    assert_eq!(s, 200, "{v:#}");
    let answers = v.as_array().unwrap_or_else(|| panic!("an array: {v:#}"));
    assert_eq!(answers.len(), 3);
    assert_eq!(
        answers[0]["data"]["locations"].as_array().map(Vec::len),
        Some(11)
    );
    assert!(answers[0].get("errors").is_none(), "{v:#}");
    assert_eq!(
        only_error(&answers[1])["extensions"]["code"],
        "BAD_USER_INPUT",
        "{v:#}"
    );
    assert_eq!(answers[2]["data"]["customer"], Value::Null, "{v:#}");
    let code = answers[2]["errors"][0]["extensions"]["code"].as_str();
    assert!(
        matches!(code, Some("UNAUTHENTICATED" | "FORBIDDEN")),
        "{v:#}"
    );

    // The same customer operation with the service token (the harness's default) answers.
    let service = g.default_auth.clone().unwrap();
    let r = g
        .http
        .post(format!("{}/graphql", g.url))
        .header("authorization", service)
        .json(
            &json!([{ "query": "{ customer(customerNumber: \"C0000012\") { customerNumber } }" }]),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(
        v[0]["data"]["customer"]["customerNumber"], "C0000012",
        "{v:#}"
    );
    still_serving(&g).await;
}

/// A manifest of `bodies` (all queries) in Apollo's format.
fn manifest(bodies: &[&str]) -> String {
    let ops: Vec<Value> = bodies
        .iter()
        .enumerate()
        .map(|(i, b)| json!({ "id": sha256_hex(b), "name": format!("Op{i}"), "type": "query", "body": b }))
        .collect();
    json!({ "format": "apollo-persisted-query-manifest", "version": 1, "operations": ops })
        .to_string()
}

/// A fresh directory under the system's temporary directory.
fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("samlet-hostile-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn safelist_mode_runs_only_listed_operations_by_hash_or_text() {
    let known = "query Stores { locations { code } }";
    let dir = temp_dir("safelist");
    let path = dir.join("manifest.json");
    std::fs::write(&path, manifest(&[known])).unwrap();
    let g = Running::start_with_config_text(Stack::A, |text| {
        text.replacen(
            "[server]\n",
            &format!(
                "[server]\npersisted_queries = \"safelist\"\nsafelist = \"{}\"\n",
                path.display()
            ),
            1,
        )
    })
    .await;
    let by_hash = |h: &str| json!({ "persistedQuery": { "version": 1, "sha256Hash": h } });

    // Known, as text and by hash alone.
    let (s, v) = post(&g, json!({ "query": known })).await;
    assert_eq!(s, 200, "{v:#}");
    assert_eq!(
        v["data"]["locations"].as_array().map(Vec::len),
        Some(11),
        "{v:#}"
    );
    let (s, v2) = post(&g, json!({ "extensions": by_hash(&sha256_hex(known)) })).await;
    assert_eq!(s, 200, "{v2:#}");
    assert_eq!(v2["data"], v["data"]);

    // Unknown, as text, by hash, and registered (text with its hash): all refused alike.
    let unknown = "{ locations { code name } }";
    for body in [
        json!({ "query": unknown }),
        json!({ "extensions": by_hash(&sha256_hex(unknown)) }),
        json!({ "query": unknown, "extensions": by_hash(&sha256_hex(unknown)) }),
        json!({ "extensions": by_hash(&sha256_hex(unknown)) }),
    ] {
        let (s, v) = post(&g, body.clone()).await;
        assert_eq!(s, 400, "{body}: {v:#}");
        let e = only_error(&v);
        assert_eq!(
            e["extensions"]["code"], "PERSISTED_QUERY_NOT_ALLOWED",
            "{v:#}"
        );
        assert!(e["message"].as_str().unwrap().contains("safelist"), "{v:#}");
    }
    // A known hash sent with other text is refused too.
    let (s, v) = post(
        &g,
        json!({ "query": unknown, "extensions": by_hash(&sha256_hex(known)) }),
    )
    .await;
    assert_eq!(s, 400, "{v:#}");
    assert_eq!(
        only_error(&v)["extensions"]["code"],
        "PERSISTED_QUERY_NOT_ALLOWED"
    );
    // Under the legacy media type the same refusal is a 200 with the same error.
    let (s, _, v) = post_raw(
        &g,
        "application/json",
        "application/json",
        json!({ "query": unknown }).to_string(),
    )
    .await;
    assert_eq!(s, 200, "{v:#}");
    assert_eq!(
        only_error(&v)["extensions"]["code"],
        "PERSISTED_QUERY_NOT_ALLOWED"
    );
    let (s, v) = post(&g, json!({ "extensions": by_hash(&sha256_hex(known)) })).await;
    assert_eq!(s, 200, "still serving: {v:#}");
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn persisted_queries_off_refuses_hashes_and_runs_text() {
    let g = Running::start_with(Stack::A, |c| {
        c.server.persisted_queries = samlet::graph::persisted::PersistedQueries::Off;
    })
    .await;
    let q = "{ locations { code } }";
    let pq = json!({ "persistedQuery": { "version": 1, "sha256Hash": sha256_hex(q) } });
    for body in [
        json!({ "extensions": pq }),
        json!({ "query": q, "extensions": pq }),
    ] {
        let (s, v) = post(&g, body).await;
        assert_eq!(s, 400, "{v:#}");
        assert_eq!(
            only_error(&v)["extensions"]["code"],
            "PERSISTED_QUERY_NOT_SUPPORTED",
            "{v:#}"
        );
    }
    still_serving(&g).await;
}

#[test]
fn a_missing_or_broken_manifest_is_a_config_error_naming_the_file_and_the_problem() {
    let dir = temp_dir("config");
    let file = dir.join("samlet.toml");
    let text = |safelist: &str| {
        format!(
            "[server]\npersisted_queries = \"safelist\"\nsafelist = \"{safelist}\"\n\n[connectors.pim]\nkind = \"akeneo\"\n"
        )
    };
    let problems = |text: String| {
        std::fs::write(&file, text).unwrap();
        samlet::Config::load(&file)
            .expect_err("refused")
            .to_string()
    };
    let e = problems(text("missing.json"));
    let missing = dir.join("missing.json");
    assert!(
        e.contains(&format!(
            "samlet.toml:3:1: server.safelist: {}: cannot read it",
            missing.display()
        )),
        "{e}"
    );
    std::fs::write(dir.join("broken.json"), "{\"format\":\"apollo-persisted-query-manifest\",\"version\":1,\"operations\":[{\"id\":\"00\",\"type\":\"query\",\"body\":\"{ x }\"}]}").unwrap();
    let e = problems(text("broken.json"));
    assert!(
        e.contains("broken.json: operations[0]: `id` is not the sha256 of `body`"),
        "{e}"
    );
    let e = problems("[server]\npersisted_queries = \"safelist\"\n".into());
    assert!(
        e.contains("server.persisted_queries: \"safelist\" needs `safelist ="),
        "{e}"
    );
    let _ = std::fs::remove_dir_all(dir);
}
