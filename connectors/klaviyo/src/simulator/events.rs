//! `POST /api/events` (202 Accepted) and `GET /api/events`: accepted events are kept in
//! memory, deduplicated like Klaviyo by `unique_id` per profile and metric, so tests (and the
//! gateway's journeys) can see what was tracked. Events never change profiles here.

use super::limits::EVENTS;
use super::wire::{self, ApiError, Source};
use super::{Sim, SLICE};
use crate::mapping::parse_time;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, SecondsFormat, Utc};
use samlet_connector::prelude::CustomerNumber;
use serde_json::{json, Map, Value};
use std::collections::{HashSet, VecDeque};
use std::sync::Arc;

/// The most events kept; older ones are forgotten (dedup keys included).
const CAPACITY: usize = 100_000;
const DEFAULT_PAGE: usize = 200;
const MAX_PAGE: usize = 1000;
const MAX_METRIC_NAME: usize = 127;

/// One accepted event.
#[derive(Debug, Clone)]
pub(crate) struct StoredEvent {
    uuid: String,
    metric: String,
    profile_id: String,
    properties: Map<String, Value>,
    time: DateTime<Utc>,
    value: Option<Value>,
    unique_id: String,
}

/// Accepted events, oldest first.
#[derive(Debug, Default)]
pub(crate) struct EventStore {
    events: VecDeque<StoredEvent>,
    keys: HashSet<(String, String, String)>,
}

impl EventStore {
    /// Stores `e` unless an event with its profile, metric and `unique_id` is stored.
    fn accept(&mut self, e: StoredEvent) {
        let key = (e.profile_id.clone(), e.metric.clone(), e.unique_id.clone());
        if !self.keys.insert(key) {
            return;
        }
        if self.events.len() == CAPACITY {
            if let Some(old) = self.events.pop_front() {
                self.keys
                    .remove(&(old.profile_id, old.metric, old.unique_id));
            }
        }
        self.events.push_back(e);
    }
}

fn bad(detail: &str, pointer: &str) -> ApiError {
    wire::invalid(detail, Source::Pointer(pointer))
}

fn text<'a>(v: &'a Value, pointer: &str) -> Option<&'a str> {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// The profile an event's identifiers name: a held profile, or a new id for the identifier.
fn resolve_profile(sim: &Sim, body: &Value) -> Result<String, ApiError> {
    const P: &str = "/data/attributes/profile/data";
    let w = &sim.world;
    if let Some(id) = text(body, &format!("{P}/id")) {
        return Ok(id.to_owned());
    }
    let held = |i: u32| w.in_slice(SLICE, i).then(|| wire::profile_id(i));
    if let Some(n) = text(body, &format!("{P}/attributes/external_id")) {
        return Ok(w
            .customer_index(&CustomerNumber::new(n))
            .and_then(held)
            .unwrap_or_else(|| wire::new_profile_id(&format!("x:{n}"))));
    }
    if let Some(e) = text(body, &format!("{P}/attributes/email")) {
        let e = e.to_lowercase();
        return Ok(w
            .customer_by_email(&e)
            .and_then(held)
            .unwrap_or_else(|| wire::new_profile_id(&format!("e:{e}"))));
    }
    if let Some(p) = text(body, &format!("{P}/attributes/phone_number")) {
        if !p.starts_with('+') || p.len() < 8 {
            return Err(bad(
                &format!("Invalid phone number `{p}`: use E.164, e.g. +4512345678."),
                &format!("{P}/attributes/phone_number"),
            ));
        }
        return Ok(w
            .customer_by_phone(p)
            .and_then(held)
            .unwrap_or_else(|| wire::new_profile_id(&format!("p:{p}"))));
    }
    if let Some(a) = text(body, &format!("{P}/attributes/anonymous_id")) {
        return Ok(wire::new_profile_id(&format!("a:{a}")));
    }
    Err(bad(
        "The profile needs at least one identifier: id, email, phone_number, external_id or anonymous_id.",
        &format!("{P}/attributes"),
    ))
}

fn parse_event(sim: &Sim, body: &Value) -> Result<StoredEvent, ApiError> {
    const A: &str = "/data/attributes";
    if body.pointer("/data/type").and_then(Value::as_str) != Some("event") {
        return Err(bad("`data.type` must be \"event\".", "/data/type"));
    }
    let metric = text(body, &format!("{A}/metric/data/attributes/name"))
        .filter(|n| n.chars().count() <= MAX_METRIC_NAME)
        .ok_or_else(|| {
            bad(
                "The metric name is required and must be shorter than 128 characters.",
                &format!("{A}/metric/data/attributes/name"),
            )
        })?
        .to_owned();
    let properties = body
        .pointer(&format!("{A}/properties"))
        .and_then(Value::as_object)
        .cloned()
        .ok_or_else(|| {
            bad(
                "`properties` is required and must be an object.",
                &format!("{A}/properties"),
            )
        })?;
    if properties.len() > 400 {
        return Err(bad(
            "An event may have at most 400 properties.",
            &format!("{A}/properties"),
        ));
    }
    let time = match body.pointer(&format!("{A}/time")) {
        None | Some(Value::Null) => Utc::now(),
        Some(v) => v
            .as_str()
            .and_then(parse_time)
            .ok_or_else(|| bad("`time` must be an ISO 8601 datetime.", &format!("{A}/time")))?,
    };
    let value = match body.pointer(&format!("{A}/value")) {
        None | Some(Value::Null) => None,
        Some(v @ Value::Number(_)) => Some(v.clone()),
        Some(_) => return Err(bad("`value` must be a number.", &format!("{A}/value"))),
    };
    // Without a unique_id Klaviyo uses the event time, to the second.
    let unique_id = text(body, &format!("{A}/unique_id"))
        .map(str::to_owned)
        .unwrap_or_else(|| time.to_rfc3339_opts(SecondsFormat::Secs, true));
    Ok(StoredEvent {
        uuid: wire::event_uuid(),
        metric,
        profile_id: resolve_profile(sim, body)?,
        properties,
        time,
        value,
        unique_id,
    })
}

/// `POST /api/events`.
pub(crate) async fn create(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let admission = match sim.admit(&headers, "create_event", EVENTS) {
        Ok(a) => a,
        Err(e) => return e.into_response(),
    };
    let json_body = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with(wire::JSON_API) || ct.starts_with("application/json"));
    let mut resp = if !json_body {
        wire::error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "Unsupported media type.",
            "Send the event as `Content-Type: application/vnd.api+json`.",
            None,
        )
        .into_response()
    } else {
        match serde_json::from_slice::<Value>(&body) {
            Err(e) => wire::error(
                StatusCode::BAD_REQUEST,
                "parse_error",
                "Malformed request body.",
                &format!("JSON parse error: {e}"),
                None,
            )
            .into_response(),
            Ok(doc) => match parse_event(&sim, &doc) {
                Err(e) => e.into_response(),
                Ok(event) => {
                    sim.events
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .accept(event);
                    StatusCode::ACCEPTED.into_response()
                }
            },
        }
    };
    admission.apply(resp.headers_mut());
    resp
}

fn event_json(e: &StoredEvent, origin: &str) -> Value {
    let mut props = e.properties.clone();
    if let Some(v) = &e.value {
        props.insert("$value".into(), v.clone());
    }
    props.insert("$event_id".into(), json!(e.unique_id));
    json!({
        "type": "event",
        "id": e.uuid,
        "attributes": {
            "timestamp": e.time.timestamp(),
            "event_properties": props,
            "datetime": e.time.to_rfc3339_opts(SecondsFormat::Secs, false),
            "uuid": e.uuid,
        },
        "relationships": {
            "profile": {"data": {"type": "profile", "id": e.profile_id}},
            "metric": {"data": {"type": "metric", "id": wire::metric_id(&e.metric)}},
        },
        "links": {"self": format!("{origin}/api/events/{}/", e.uuid)}
    })
}

/// `GET /api/events`.
pub(crate) async fn list(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let admission = match sim.admit(&headers, "get_events", EVENTS) {
        Ok(a) => a,
        Err(e) => return e.into_response(),
    };
    let params: Vec<(String, String)> =
        url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
            .into_owned()
            .collect();
    let origin = wire::origin(&headers);
    let mut resp = list_inner(&sim, &params, &origin).unwrap_or_else(IntoResponse::into_response);
    admission.apply(resp.headers_mut());
    resp
}

fn list_inner(sim: &Sim, params: &[(String, String)], origin: &str) -> Result<Response, ApiError> {
    let mut size = DEFAULT_PAGE;
    let mut cursor = None;
    let mut descending = false;
    let mut include_metric = false;
    let mut profile = None;
    let mut metric = None;
    for (k, v) in params {
        match k.as_str() {
            "page[size]" => {
                size = v
                    .trim()
                    .parse::<usize>()
                    .ok()
                    .filter(|n| (1..=MAX_PAGE).contains(n))
                    .ok_or_else(|| {
                        wire::invalid(
                            &format!("Invalid page size `{v}`: `page[size]` must be an integer from 1 to {MAX_PAGE}."),
                            Source::Parameter("page[size]"),
                        )
                    })?
            }
            "page[cursor]" => cursor = Some(v.as_str()),
            "sort" => match v.trim() {
                "datetime" | "timestamp" => descending = false,
                "-datetime" | "-timestamp" => descending = true,
                s => {
                    return Err(wire::invalid(
                        &format!("Invalid sort field `{s}`."),
                        Source::Parameter("sort"),
                    ))
                }
            },
            "include" => {
                for inc in v.split(',').map(str::trim) {
                    match inc {
                        "metric" => include_metric = true,
                        "profile" | "attributions" => {
                            return Err(wire::invalid(
                                &format!("`include={inc}` is not supported by this simulator."),
                                Source::Parameter("include"),
                            ))
                        }
                        other => {
                            return Err(wire::invalid(
                                &format!("Invalid include `{other}`."),
                                Source::Parameter("include"),
                            ))
                        }
                    }
                }
            }
            "filter" => {
                let conds = super::filter::parse(v).map_err(|e| {
                    wire::invalid(
                        &format!("Invalid filter provided: {e}"),
                        Source::Parameter("filter"),
                    )
                })?;
                for c in conds {
                    match (c.op.as_str(), c.field.as_str(), c.arg) {
                        ("equals", "profile_id", super::filter::Arg::Str(s)) => profile = Some(s),
                        ("equals", "metric_id", super::filter::Arg::Str(s)) => metric = Some(s),
                        (op, field, _) => {
                            return Err(wire::invalid(
                                &format!("Filtering events with `{op}` on `{field}` is not supported by this simulator."),
                                Source::Parameter("filter"),
                            ))
                        }
                    }
                }
            }
            k if k.starts_with("fields[") => {}
            other => {
                return Err(wire::invalid(
                    &format!("Unknown query parameter `{other}`."),
                    Source::Parameter(other),
                ))
            }
        }
    }
    let start = match cursor {
        Some(c) => wire::read_cursor('e', c).ok_or_else(|| {
            wire::invalid("Invalid page cursor.", Source::Parameter("page[cursor]"))
        })? as usize,
        None => 0,
    };
    let store = sim.events.lock().unwrap_or_else(|e| e.into_inner());
    let mut matching: Vec<&StoredEvent> = store
        .events
        .iter()
        .filter(|e| profile.as_deref().is_none_or(|p| e.profile_id == p))
        .filter(|e| {
            metric
                .as_deref()
                .is_none_or(|m| wire::metric_id(&e.metric) == m)
        })
        .collect();
    matching.sort_by_key(|e| e.time);
    if descending {
        matching.reverse();
    }
    let end = (start + size).min(matching.len());
    let page = matching.get(start.min(end)..end).unwrap_or_default();
    let data: Vec<Value> = page.iter().map(|e| event_json(e, origin)).collect();
    let mut doc = json!({
        "data": data,
        "links": {
            "self": wire::link(origin, "/api/events/", params, cursor),
            "next": (end < matching.len())
                .then(|| wire::link(origin, "/api/events/", params, Some(&wire::cursor('e', end as u64)))),
            "prev": null,
        }
    });
    if include_metric {
        let mut names: Vec<&str> = page.iter().map(|e| e.metric.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        doc["included"] = Value::Array(
            names
                .into_iter()
                .map(|n| {
                    json!({"type": "metric", "id": wire::metric_id(n), "attributes": {"name": n},
                           "links": {"self": format!("{origin}/api/metrics/{}/", wire::metric_id(n))}})
                })
                .collect(),
        );
    }
    Ok(wire::document(StatusCode::OK, &doc))
}
