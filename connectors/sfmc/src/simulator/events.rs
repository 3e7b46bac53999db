//! `POST /interaction/v1/events` (journey entry events, 201 with `eventInstanceId`), and two
//! simulator-only helpers for tests: `GET /_sim/interaction/events` lists the accepted events,
//! `POST /_sim/tokens/revoke` revokes every issued token.

use super::wire::{self, code, ApiError};
use super::{AcceptedEvent, Sim};
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{SecondsFormat, Utc};
use serde_json::{json, Map, Value};
use std::sync::Arc;

fn required<'a>(body: &'a Map<String, Value>, field: &str) -> Result<&'a str, ApiError> {
    match body.get(field) {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s),
        Some(Value::String(_)) | None | Some(Value::Null) => Err(ApiError::bad(
            code::MISSING_REQUIRED_FIELD,
            format!("{field} is required."),
        )),
        Some(_) => Err(ApiError::bad(
            code::INVALID_DATA_TYPE,
            format!("{field} must be a string."),
        )),
    }
}

/// `POST /interaction/v1/events`.
pub(crate) async fn fire(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    sim.admit(&headers)?;
    let body: Map<String, Value> = serde_json::from_slice(&body).map_err(|_| {
        ApiError::bad(
            code::INVALID_MESSAGE_FORMAT,
            "Invalid message format: the body must be a JSON object.",
        )
    })?;
    let contact_key = required(&body, "ContactKey")?;
    let definition_key = required(&body, "EventDefinitionKey")?;
    let data = match body.get("Data") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(_) => {
            return Err(ApiError::bad(
                code::INVALID_DATA_TYPE,
                "Data must be an object of event fields.",
            ))
        }
    };
    if !sim.event_definitions.iter().any(|k| k == definition_key) {
        return Err(ApiError::bad(
            code::INVALID_VALUE,
            format!("Event definition with key '{definition_key}' was not found."),
        ));
    }
    let id = wire::fresh_uuid();
    sim.events.push(AcceptedEvent {
        event_instance_id: id.clone(),
        contact_key: contact_key.to_owned(),
        event_definition_key: definition_key.to_owned(),
        data,
        received_at: Utc::now(),
    });
    Ok(wire::ok(
        StatusCode::CREATED,
        &json!({ "eventInstanceId": id }),
    ))
}

/// `GET /_sim/interaction/events[?contactKey=…]`: accepted events, oldest first.
pub(crate) async fn list(State(sim): State<Arc<Sim>>, RawQuery(raw): RawQuery) -> Response {
    let contact = url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
        .find(|(k, _)| k.eq_ignore_ascii_case("contactKey"))
        .map(|(_, v)| v.into_owned());
    let items: Vec<Value> = sim
        .events
        .events()
        .into_iter()
        .filter(|e| contact.as_deref().is_none_or(|c| c == e.contact_key))
        .map(|e| {
            json!({
                "eventInstanceId": e.event_instance_id,
                "ContactKey": e.contact_key,
                "EventDefinitionKey": e.event_definition_key,
                "Data": e.data,
                "receivedAt": e.received_at.to_rfc3339_opts(SecondsFormat::Millis, true),
            })
        })
        .collect();
    wire::ok(
        StatusCode::OK,
        &json!({ "count": items.len(), "items": items }),
    )
}

/// `POST /_sim/tokens/revoke`: every issued token stops working (clients must renew).
pub(crate) async fn revoke(State(sim): State<Arc<Sim>>) -> Response {
    sim.tokens.revoke_all();
    StatusCode::NO_CONTENT.into_response()
}
