//! `POST /webhooks/{connector}`: where vendors deliver change notifications. The named
//! connector's [`ChangeFeed`](samlet_connector::change::ChangeFeed) checks and reads the
//! request (handshake, shared secret or signature, body); the changes it reports go to
//! [`Hub::apply`](super::Hub::apply) before the vendor gets its answer, so a query sent after
//! the vendor's call returned sees the fresh value.
//!
//! Answers: 200 with the token as `text/plain` for a handshake; 200 `{"accepted": n}` for a
//! notification; 400 for a body that is not one, 401/403 for a sender that proves nothing or
//! the wrong thing, 404 for a connector that takes no webhooks. Errors are JSON
//! `{"error": "..."}` naming what is wrong, never echoing a secret; the body is never logged.

use crate::server::AppState;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use samlet_connector::change::{WebhookReply, WebhookRequest};

fn error(status: StatusCode, message: String) -> Response {
    (status, axum::Json(serde_json::json!({ "error": message }))).into_response()
}

/// The handler of `POST /webhooks/{connector}`.
pub(crate) async fn receive(
    State(state): State<AppState>,
    Path(name): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let gateway = &state.gateway;
    let Some(connector) = gateway.connectors.iter().find(|c| c.name.as_str() == name) else {
        let takes: Vec<&str> = gateway
            .connectors
            .iter()
            .filter(|c| c.change_feed.is_some())
            .map(|c| c.name.as_str())
            .collect();
        return error(
            StatusCode::NOT_FOUND,
            format!(
                "no connector is named `{name}`; webhooks are received for: {}",
                if takes.is_empty() {
                    "none".to_owned()
                } else {
                    takes.join(", ")
                }
            ),
        );
    };
    let Some(feed) = &connector.change_feed else {
        return error(
            StatusCode::NOT_FOUND,
            format!(
                "connector `{name}` ({}) receives no webhooks (none configured for it); its changes are polled",
                connector.kind
            ),
        );
    };
    let request = WebhookRequest {
        query: uri
            .query()
            .map(|q| {
                url::form_urlencoded::parse(q.as_bytes())
                    .into_owned()
                    .collect()
            })
            .unwrap_or_default(),
        headers: headers
            .iter()
            .filter_map(|(k, v)| Some((k.as_str().to_owned(), v.to_str().ok()?.to_owned())))
            .collect(),
        body,
    };
    match feed.receive(&request).await {
        WebhookReply::Validation(token) => (
            StatusCode::OK,
            [(
                axum::http::header::CONTENT_TYPE,
                "text/plain; charset=utf-8",
            )],
            token,
        )
            .into_response(),
        WebhookReply::Accepted(changes) => {
            tracing::debug!(connector = %name, changes = changes.len(), "webhook notification");
            state.hub.apply(&changes);
            axum::Json(serde_json::json!({ "accepted": changes.len() })).into_response()
        }
        WebhookReply::Refused { status, message } => {
            tracing::warn!(connector = %name, status, %message, "webhook refused");
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::FORBIDDEN);
            error(status, format!("webhook for `{name}` refused: {message}"))
        }
        WebhookReply::Malformed(message) => {
            tracing::warn!(connector = %name, %message, "malformed webhook");
            error(
                StatusCode::BAD_REQUEST,
                format!("webhook for `{name}`: {message}"),
            )
        }
    }
}
