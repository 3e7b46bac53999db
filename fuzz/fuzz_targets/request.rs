//! The request path from HTTP bytes to a validated query: `samlet::intake::intake` (method,
//! content type, Accept, body or query string) and then the schema with every limit the server
//! builds it with (document limits, persisted queries, depth, complexity, validation).
//!
//! Input: byte 0 picks the method, byte 1 the content type, byte 2 the `Accept` header; the
//! rest is the POST body (or, for GET, the URI's query string). Resolvers run without a
//! request scope, so no upstream is ever called: a field that passes validation answers with
//! a field error. Every refusal must be a 4xx GraphQL-over-HTTP error; nothing may panic.

#![no_main]

use axum::http::{HeaderMap, HeaderValue, Method};
use libfuzzer_sys::fuzz_target;
use samlet::config::ServerConfig;
use samlet::graph::CommerceSchema;
use samlet::intake::{intake, Operations};
use std::sync::OnceLock;

struct Harness {
    rt: tokio::runtime::Runtime,
    schema: CommerceSchema,
    server: ServerConfig,
}

fn harness() -> &'static Harness {
    static H: OnceLock<Harness> = OnceLock::new();
    H.get_or_init(|| {
        // The defaults, with batching on so the batch path is reached too.
        let server = ServerConfig {
            max_batch: 4,
            ..ServerConfig::default()
        };
        Harness {
            rt: tokio::runtime::Builder::new_current_thread()
                .build()
                .expect("a runtime"),
            schema: samlet::graph::build_schema(&server, None),
            server,
        }
    })
}

const METHODS: [Method; 3] = [Method::POST, Method::GET, Method::PUT];
const CONTENT_TYPES: [&str; 7] = [
    "application/json",
    "application/json; charset=utf-8",
    "application/graphql-response+json",
    "application/graphql",
    "text/plain",
    "application/x-www-form-urlencoded",
    "",
];
const ACCEPTS: [&str; 6] = [
    "",
    "application/json",
    "application/graphql-response+json",
    "application/graphql-response+json;q=0.9, application/json",
    "text/html",
    "*/*;q=0",
];

fuzz_target!(|data: &[u8]| {
    let [m, ct, acc, rest @ ..] = data else {
        return;
    };
    let h = harness();
    let method = &METHODS[*m as usize % METHODS.len()];
    let mut headers = HeaderMap::new();
    let ct = CONTENT_TYPES[*ct as usize % CONTENT_TYPES.len()];
    if !ct.is_empty() {
        headers.insert("content-type", HeaderValue::from_static(ct));
    }
    let acc = ACCEPTS[*acc as usize % ACCEPTS.len()];
    if !acc.is_empty() {
        headers.insert("accept", HeaderValue::from_static(acc));
    }
    let query_string = (method == Method::GET).then(|| String::from_utf8_lossy(rest));
    let body: &[u8] = if method == Method::GET { &[] } else { rest };
    match intake(method, &headers, query_string.as_deref(), body, &h.server) {
        Err(refused) => {
            let status = refused.status();
            assert!(status.is_client_error(), "a refusal with status {status}");
        }
        Ok(read) => {
            let ops = match read.operations {
                Operations::Single(r) => vec![*r],
                Operations::Batch(ops) => ops,
            };
            for op in ops {
                let resp = h.rt.block_on(h.schema.execute(op));
                serde_json::to_string(&resp).expect("a response serialises");
            }
        }
    }
});
