//! Subscriptions on the wire.
//!
//! - WebSocket, `graphql-transport-ws` (the `graphql-ws` npm client; the older
//!   `subscriptions-transport-ws` is accepted too) on `GET /graphql` with `Upgrade: websocket`.
//!   The bearer token and the `samlet-*` context headers come from the upgrade request or, as
//!   browsers cannot set headers there, from the `connection_init` payload
//!   (`{"Authorization": "Bearer ...", "samlet-channel": "app"}`; the payload wins). A bad token
//!   closes the socket with the reason.
//! - Server-sent events, GraphQL over SSE in "distinct connections" mode: `POST /graphql` (or
//!   `GET` for queries and subscriptions) with `Accept: text/event-stream`; each result is an
//!   `event: next` with the JSON result as `data`, and `event: complete` ends the stream.
//!   Queries and mutations work the same way (one `next`).

use super::Hub;
use crate::graph::loaders::Scope;
use crate::server::{authorize, request_context, AppState};
use async_graphql::Data;
use async_graphql_axum::{GraphQLProtocol, GraphQLWebSocket};
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{FromRequestParts, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use std::sync::Arc;

/// Whether the client asked for a server-sent event stream.
pub fn wants_event_stream(headers: &HeaderMap) -> bool {
    headers
        .get_all(axum::http::header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|m| {
            m.split(';')
                .next()
                .is_some_and(|m| m.trim().eq_ignore_ascii_case("text/event-stream"))
        })
}

fn is_websocket_upgrade(headers: &HeaderMap) -> bool {
    headers
        .get(axum::http::header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
}

/// `GET /graphql`: a WebSocket upgrade, or a query (or the IDE) as before.
pub(crate) async fn get_or_upgrade(
    State(state): State<AppState>,
    req: axum::extract::Request,
) -> Response {
    let (mut parts, _body) = req.into_parts();
    if !is_websocket_upgrade(&parts.headers) {
        return crate::server::graphql_get(State(state), parts.headers, parts.uri).await;
    }
    let Ok(protocol) = GraphQLProtocol::from_request_parts(&mut parts, &state).await else {
        return crate::server::request_error(
            StatusCode::BAD_REQUEST,
            "Sec-WebSocket-Protocol: offer graphql-transport-ws (or graphql-ws)",
        );
    };
    let upgrade = match WebSocketUpgrade::from_request_parts(&mut parts, &state).await {
        Ok(u) => u,
        Err(rejection) => return rejection.into_response(),
    };
    let headers = parts.headers;
    upgrade
        .protocols(async_graphql::http::ALL_WEBSOCKET_PROTOCOLS)
        .on_upgrade(move |socket| async move {
            let schema = state.schema.clone();
            GraphQLWebSocket::new(socket, schema, protocol)
                .on_connection_init(move |payload| connection_data(state, headers, payload))
                .serve()
                .await
        })
}

/// The connection's data: the upgrade request's headers, overridden by the `connection_init`
/// payload's string entries, checked exactly like an HTTP request's.
async fn connection_data(
    state: AppState,
    mut headers: HeaderMap,
    payload: serde_json::Value,
) -> async_graphql::Result<Data> {
    if let Some(map) = payload.as_object() {
        for (k, v) in map {
            let Some(v) = v.as_str() else {
                return Err(async_graphql::Error::new(format!(
                    "connection_init payload: `{k}` must be a string"
                )));
            };
            let name = HeaderName::from_bytes(k.to_ascii_lowercase().as_bytes()).map_err(|_| {
                async_graphql::Error::new(format!(
                    "connection_init payload: `{k}` is not a header name"
                ))
            })?;
            let value = HeaderValue::from_str(v).map_err(|_| {
                async_graphql::Error::new(format!(
                    "connection_init payload: the value of `{k}` is not a header value"
                ))
            })?;
            headers.insert(name, value);
        }
    }
    let mut cx =
        request_context(&headers, &state.gateway.defaults).map_err(async_graphql::Error::new)?;
    authorize(&state, &headers, &mut cx)
        .await
        .map_err(|r| async_graphql::Error::new(format!("{}: {}", r.code, r.message)))?;
    let mut data = Data::default();
    data.insert(Scope::new(state.gateway.clone(), cx));
    data.insert(state.hub.clone());
    Ok(data)
}

/// A GraphQL request answered as a server-sent event stream.
pub(crate) async fn sse(
    state: &AppState,
    headers: &HeaderMap,
    req: async_graphql::Request,
) -> Response {
    if req.query.trim().is_empty() && !req.extensions.contains_key("persistedQuery") {
        return crate::server::request_error(
            StatusCode::BAD_REQUEST,
            "the request has no `query`; send {\"query\": \"subscription { ... }\"}",
        );
    }
    let mut cx = match request_context(headers, &state.gateway.defaults) {
        Ok(cx) => cx,
        Err(msg) => {
            return crate::server::refuse(
                StatusCode::BAD_REQUEST,
                crate::graph::errors::BAD_USER_INPUT,
                msg,
            )
        }
    };
    if let Err(r) = authorize(state, headers, &mut cx).await {
        return crate::server::refuse(r.status, r.code, r.message);
    }
    let scope = Scope::new(state.gateway.clone(), cx);
    let hub: Arc<Hub> = state.hub.clone();
    let results = state
        .schema
        .execute_stream(req.data(scope).data(hub))
        .map(|resp| {
            let json = serde_json::to_string(&resp).unwrap_or_else(|_| "{}".into());
            Ok::<_, std::convert::Infallible>(Event::default().event("next").data(json))
        })
        .chain(futures::stream::once(async {
            Ok(Event::default().event("complete").data(""))
        }));
    Sse::new(results)
        .keep_alive(KeepAlive::default())
        .into_response()
}
