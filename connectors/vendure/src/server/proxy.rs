//! A fault-injecting reverse proxy in front of a real Vendure server. A real server cannot be
//! told to fail, so tests put [`SimServer`]'s request counting and fault injection in front of
//! it: every request is forwarded as it came (method, path, query, headers, body) and the
//! answer returned as it went, unless the test's fault plan answers first.

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::header::{CONNECTION, CONTENT_LENGTH, HOST, TRANSFER_ENCODING};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Router;
use samlet_testkit::sim::SimServer;
use std::sync::Arc;

/// The largest request body forwarded (GraphQL queries are a few kilobytes).
const MAX_BODY: usize = 4 << 20;

struct Target {
    client: reqwest::Client,
    base: String,
}

/// Starts a proxy on a free loopback port that forwards to the server at `target_base_url`.
/// Point the connector at the proxy's `base_url()`; use its `control` to count requests and
/// inject faults.
pub async fn fault_proxy(target_base_url: &str) -> std::io::Result<SimServer> {
    let client = reqwest::Client::builder()
        .build()
        .map_err(std::io::Error::other)?;
    let target = Arc::new(Target {
        client,
        base: target_base_url.trim_end_matches('/').to_owned(),
    });
    let router = Router::new().fallback(forward).with_state(target);
    SimServer::start(router, vendure_error, 0).await
}

/// An error answer shaped like Vendure's GraphQL errors: `{"errors": [{"message", "extensions":
/// {"code"}}]}`. What the proxy sends for injected faults and unreachable servers.
pub fn vendure_error(status: StatusCode, message: &str) -> Response {
    let code = match status.as_u16() {
        401 => "UNAUTHORIZED",
        403 => "FORBIDDEN",
        429 => "TOO_MANY_REQUESTS",
        _ => "INTERNAL_SERVER_ERROR",
    };
    let body = serde_json::json!({
        "errors": [{ "message": message, "extensions": { "code": code } }],
        "data": null,
    });
    (status, axum::Json(body)).into_response()
}

fn hop_by_hop(name: &axum::http::HeaderName) -> bool {
    name == HOST || name == CONTENT_LENGTH || name == TRANSFER_ENCODING || name == CONNECTION
}

async fn forward(State(target): State<Arc<Target>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let body: Bytes = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(b) => b,
        Err(_) => return vendure_error(StatusCode::PAYLOAD_TOO_LARGE, "request body too large"),
    };
    let path = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    let mut upstream = target
        .client
        .request(parts.method.clone(), format!("{}{path}", target.base));
    for (name, value) in parts.headers.iter().filter(|(n, _)| !hop_by_hop(n)) {
        upstream = upstream.header(name, value);
    }
    let answer = match upstream.body(body).send().await {
        Ok(a) => a,
        Err(_) => {
            return vendure_error(StatusCode::BAD_GATEWAY, "the Vendure server is unreachable")
        }
    };
    let status = answer.status();
    let headers = answer.headers().clone();
    let bytes = match answer.bytes().await {
        Ok(b) => b,
        Err(_) => return vendure_error(StatusCode::BAD_GATEWAY, "the Vendure server broke off"),
    };
    let mut response = Response::new(Body::from(bytes));
    *response.status_mut() = status;
    for (name, value) in headers.iter().filter(|(n, _)| !hop_by_hop(n)) {
        response.headers_mut().append(name, value.clone());
    }
    response
}
