//! The request path from HTTP to GraphQL, without a socket: method, headers and body bytes in,
//! the GraphQL request(s) to run (and the response media type) out, or the GraphQL-over-HTTP
//! error response that refuses them. The server calls [`intake`] for every `/graphql` request;
//! the fuzz target (`fuzz/`) calls it with arbitrary bytes.
//!
//! In order: the method (GET or POST); for POST the content type (CSRF prevention: a browser
//! sends a cross-site POST without a preflight only with a "simple" content type, so only
//! JSON is accepted), the body size and the JSON body, one operation or (when
//! `server.max_batch` allows) an array of them; for GET the query string, which may not hold a
//! mutation; then `Accept` negotiation; and every operation must carry a `query` (or name a
//! persisted query). Document limits, persisted-query modes, validation and authorisation follow
//! in the schema and the resolvers, per operation.

use crate::config::ServerConfig;
use crate::graph::errors::BAD_USER_INPUT;
use crate::graph::limits::Operation;
use crate::server::{is_mutation, refuse, request_error, ResponseMedia};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::Response;

/// A refusal: the GraphQL-over-HTTP error response to send (boxed: it is large).
pub type Refusal = Box<Response>;

/// What a request asks to run.
#[derive(Debug)]
pub enum Operations {
    /// One operation (a JSON object, or a GET query string).
    Single(Box<async_graphql::Request>),
    /// A JSON-array batch, answered with an array in the same order.
    Batch(Vec<async_graphql::Request>),
}

/// A request ready for the schema.
#[derive(Debug)]
pub struct Intake {
    /// The media type to answer in.
    pub media: ResponseMedia,
    /// The caller asked for `text/event-stream` (a subscription over server-sent events).
    pub stream: bool,
    /// The operations to run.
    pub operations: Operations,
}

/// Whether a POST's content type is one a GraphQL request is sent with (never a type a
/// browser may send cross-site without a preflight).
fn json_content_type(headers: &HeaderMap) -> bool {
    let ct = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let media = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    matches!(
        media.as_str(),
        "application/json" | "application/graphql-response+json" | "application/graphql"
    )
}

/// Reads one `/graphql` request. `query_string` is the URI's query (GET); `body` the bytes of a
/// POST. Refusals are GraphQL-shaped JSON errors with the status GraphQL over HTTP asks for.
pub fn intake(
    method: &Method,
    headers: &HeaderMap,
    query_string: Option<&str>,
    body: &[u8],
    server: &ServerConfig,
) -> Result<Intake, Refusal> {
    let operations = if method == Method::POST {
        if !json_content_type(headers) {
            return Err(Box::new(request_error(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "POST /graphql takes Content-Type: application/json",
            )));
        }
        if body.len() > server.max_body_bytes {
            return Err(Box::new(payload_too_large()));
        }
        read_body(body, server.max_batch)?
    } else if method == Method::GET {
        let req =
            async_graphql::http::parse_query_string(query_string.unwrap_or("")).map_err(|e| {
                request_error(
                    StatusCode::BAD_REQUEST,
                    &format!("malformed GraphQL GET request: {e}"),
                )
            })?;
        // GraphQL over HTTP: GET may not change anything (and a link must not place an order).
        if is_mutation(&req) {
            let mut resp = request_error(
                StatusCode::METHOD_NOT_ALLOWED,
                "mutations must be sent with POST",
            );
            resp.headers_mut()
                .insert(axum::http::header::ALLOW, HeaderValue::from_static("POST"));
            return Err(Box::new(resp));
        }
        Operations::Single(Box::new(req.data(Operation {
            via_get: true,
            ..Operation::default()
        })))
    } else {
        let mut resp = request_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "/graphql takes GET (queries) and POST",
        );
        resp.headers_mut().insert(
            axum::http::header::ALLOW,
            HeaderValue::from_static("GET, POST"),
        );
        return Err(Box::new(resp));
    };
    // An event stream is answered by the SSE transport; anything else in a GraphQL response
    // media type.
    let stream = crate::realtime::transport::wants_event_stream(headers);
    let media = match ResponseMedia::negotiate(headers) {
        Some(m) => m,
        None if stream => ResponseMedia::Json,
        None => return Err(Box::new(not_acceptable())),
    };
    // A request without a document runs nothing: unless it names a persisted query, it is a
    // malformed GraphQL-over-HTTP request.
    let empty = |r: &async_graphql::Request| {
        r.query.trim().is_empty() && !r.extensions.contains_key("persistedQuery")
    };
    match &operations {
        Operations::Single(r) if empty(r) => {
            return Err(Box::new(request_error(
                StatusCode::BAD_REQUEST,
                "the request has no `query`; send {\"query\": \"{ ... }\"}",
            )))
        }
        Operations::Batch(ops) => {
            if let Some(i) = ops.iter().position(empty) {
                return Err(Box::new(request_error(
                    StatusCode::BAD_REQUEST,
                    &format!("operation {i} of the batch has no `query`; send {{\"query\": \"{{ ... }}\"}}"),
                )));
            }
        }
        Operations::Single(_) => {}
    }
    Ok(Intake {
        media,
        stream,
        operations,
    })
}

/// Attaches [`Operation`] (by POST) to a request read from a body.
fn posted(r: async_graphql::Request) -> async_graphql::Request {
    r.data(Operation::default())
}

/// A POST body: one JSON object, or (batching on) a JSON array of at most `max_batch`.
fn read_body(body: &[u8], max_batch: usize) -> Result<Operations, Refusal> {
    let not_graphql = |e: serde_json::Error| {
        Box::new(request_error(
            StatusCode::BAD_REQUEST,
            &format!("the request body is not a GraphQL request: {e}"),
        ))
    };
    let is_array = body
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| *b == b'[');
    if !is_array {
        return serde_json::from_slice(body)
            .map(|r| Operations::Single(Box::new(posted(r))))
            .map_err(not_graphql);
    }
    if max_batch == 0 {
        return Err(Box::new(refuse(
            StatusCode::BAD_REQUEST,
            BAD_USER_INPUT,
            "batched requests (a JSON array) are off (server.max_batch = 0); send one operation per request".into(),
        )));
    }
    let ops: Vec<async_graphql::Request> = serde_json::from_slice(body).map_err(not_graphql)?;
    if ops.is_empty() {
        return Err(Box::new(refuse(
            StatusCode::BAD_REQUEST,
            BAD_USER_INPUT,
            "the batch is empty; send at least one operation".into(),
        )));
    }
    if ops.len() > max_batch {
        return Err(Box::new(refuse(
            StatusCode::BAD_REQUEST,
            BAD_USER_INPUT,
            format!(
                "the batch holds {} operations; at most {max_batch} are allowed (server.max_batch)",
                ops.len()
            ),
        )));
    }
    Ok(Operations::Batch(ops.into_iter().map(posted).collect()))
}

/// 413 for a body over `server.max_body_bytes`.
pub fn payload_too_large() -> Response {
    request_error(
        StatusCode::PAYLOAD_TOO_LARGE,
        "the request body is larger than server.max_body_bytes",
    )
}

/// 406 when `Accept` names no type a GraphQL response is sent in.
fn not_acceptable() -> Response {
    request_error(
        StatusCode::NOT_ACCEPTABLE,
        "GraphQL responses are application/graphql-response+json or application/json; accept one of them",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn post(ct: &str, body: &str, max_batch: usize) -> Result<Intake, Refusal> {
        let mut h = HeaderMap::new();
        h.insert("content-type", HeaderValue::from_str(ct).unwrap());
        let server = ServerConfig {
            max_batch,
            ..ServerConfig::default()
        };
        intake(&Method::POST, &h, None, body.as_bytes(), &server)
    }

    #[test]
    fn bodies_are_read_or_refused_with_the_status_that_fits() {
        let status = |r: Result<Intake, Refusal>| r.err().map(|e| e.status());
        assert_eq!(
            status(post("application/json", r#"{"query":"{ a }"}"#, 0)),
            None
        );
        assert_eq!(
            status(post("text/plain", r#"{"query":"{ a }"}"#, 0)),
            Some(StatusCode::UNSUPPORTED_MEDIA_TYPE)
        );
        assert_eq!(
            status(post("application/json", "{", 0)),
            Some(StatusCode::BAD_REQUEST)
        );
        assert_eq!(
            status(post("application/json", "{}", 0)),
            Some(StatusCode::BAD_REQUEST)
        );
        let batch = r#" [{"query":"{ a }"},{"query":"{ b }"}]"#;
        assert_eq!(
            status(post("application/json", batch, 0)),
            Some(StatusCode::BAD_REQUEST)
        );
        assert_eq!(
            status(post("application/json", batch, 1)),
            Some(StatusCode::BAD_REQUEST)
        );
        match post("application/json", batch, 2).unwrap().operations {
            Operations::Batch(ops) => assert_eq!(ops.len(), 2),
            other => panic!("{other:?}"),
        }
        let big = format!(r#"{{"query":"{}"}}"#, " ".repeat(300 * 1024));
        assert_eq!(
            status(post("application/json", &big, 0)),
            Some(StatusCode::PAYLOAD_TOO_LARGE)
        );
    }
}
