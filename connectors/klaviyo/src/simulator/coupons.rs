//! Coupon codes (`GET /api/coupon-codes`, `GET` and `PATCH /api/coupon-codes/{id}`), seeded
//! from the world: every profile of the marketing slice whose loyalty tier is `SILVER` or
//! `GOLD` has the code `L10-<customer number>` of the coupon `LOYALTY10`, assigned to it and
//! valid for ten years from the world's "now"; `GOLD` profiles also have last season's
//! `L10-<customer number>-OLD`, which expired 30 days before the world's "now". Codes are
//! computed from their id on demand (no scan); writes (`status`, `expires_at`) are kept in
//! an overlay. Marking a `USED` code `USED` again is answered with 409 `conflict`.

use super::filter::{self, Arg};
use super::limits::COUPON_CODES;
use super::wire::{self, profile_id, profile_index, ApiError, Source};
use super::{Sim, SLICE};
use crate::config::DEFAULT_LOYALTY_COUPON;
use crate::mapping::parse_time;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use samlet_testkit::world::World;
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// The seeded coupon.
pub(crate) const COUPON: &str = DEFAULT_LOYALTY_COUPON;
/// The unique codes' prefix.
const CODE_PREFIX: &str = "L10-";
/// The suffix of GOLD members' expired codes.
const EXPIRED_SUFFIX: &str = "-OLD";
const DEFAULT_PAGE: usize = 100;
const MAX_PAGE: usize = 100;
const STATUSES: [&str; 6] = [
    "ASSIGNED_TO_PROFILE",
    "DELETING",
    "PROCESSING",
    "UNASSIGNED",
    "USED",
    "VERSION_NOT_ACTIVE",
];

/// Changes made through `PATCH`, by code id.
#[derive(Debug, Default)]
pub(crate) struct CouponState {
    changed: HashMap<String, Change>,
}

#[derive(Debug, Clone, Default)]
struct Change {
    status: Option<&'static str>,
    expires_at: Option<DateTime<Utc>>,
}

/// One seeded code: its customer and whether it is last season's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Seeded {
    index: u32,
    expired: bool,
}

/// The codes customer `i` holds.
fn codes_of(sim: &Sim, i: u32) -> Vec<Seeded> {
    let tier = sim
        .world
        .system_customer(SLICE, i)
        .and_then(|c| c.loyalty_tier);
    match tier {
        Some("GOLD") => vec![
            Seeded {
                index: i,
                expired: false,
            },
            Seeded {
                index: i,
                expired: true,
            },
        ],
        Some("SILVER") => vec![Seeded {
            index: i,
            expired: false,
        }],
        _ => Vec::new(),
    }
}

fn unique_code(s: Seeded) -> String {
    let n = World::customer_number(s.index);
    let suffix = if s.expired { EXPIRED_SUFFIX } else { "" };
    format!("{CODE_PREFIX}{}{suffix}", n.as_str())
}

fn code_id(s: Seeded) -> String {
    format!("{COUPON}-{}", unique_code(s))
}

/// The seeded code a code id names.
fn seeded(sim: &Sim, id: &str) -> Option<Seeded> {
    let rest = id
        .strip_prefix(COUPON)?
        .strip_prefix('-')?
        .strip_prefix(CODE_PREFIX)?;
    let (number, expired) = match rest.strip_suffix(EXPIRED_SUFFIX) {
        Some(n) => (n, true),
        None => (rest, false),
    };
    let i = sim
        .world
        .customer_index(&samlet_connector::prelude::CustomerNumber::new(number))?;
    let s = Seeded { index: i, expired };
    codes_of(sim, i).contains(&s).then_some(s)
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, false)
}

/// The code's current `(status, expires_at)`.
fn current(sim: &Sim, s: Seeded) -> (&'static str, DateTime<Utc>) {
    let now = sim.world.now();
    let seeded_expiry = if s.expired {
        now - Duration::days(30)
    } else {
        now + Duration::days(3650)
    };
    let state = sim.coupons.lock().unwrap_or_else(|e| e.into_inner());
    let change = state.changed.get(&code_id(s)).cloned().unwrap_or_default();
    (
        change.status.unwrap_or("ASSIGNED_TO_PROFILE"),
        change.expires_at.unwrap_or(seeded_expiry),
    )
}

fn resource(sim: &Sim, s: Seeded, origin: &str, fields: Option<&HashSet<String>>) -> Value {
    let id = code_id(s);
    let (status, expires) = current(sim, s);
    let mut attributes = json!({
        "unique_code": unique_code(s),
        "expires_at": ts(expires),
        "status": status,
    });
    if let (Some(keep), Some(map)) = (fields, attributes.as_object_mut()) {
        map.retain(|k, _| keep.contains(k));
    }
    let pid = profile_id(s.index);
    json!({
        "type": "coupon-code",
        "id": id,
        "attributes": attributes,
        "relationships": {
            "coupon": {
                "data": {"type": "coupon", "id": COUPON},
                "links": {
                    "self": format!("{origin}/api/coupon-codes/{id}/relationships/coupon/"),
                    "related": format!("{origin}/api/coupon-codes/{id}/coupon/"),
                }
            },
            "profile": {
                "data": {"type": "profile", "id": pid},
                "links": {
                    "self": format!("{origin}/api/coupon-codes/{id}/relationships/profile/"),
                    "related": format!("{origin}/api/profiles/{pid}/"),
                }
            }
        },
        "links": {"self": format!("{origin}/api/coupon-codes/{id}/")}
    })
}

fn coupon_resource(origin: &str) -> Value {
    json!({
        "type": "coupon",
        "id": COUPON,
        "attributes": {
            "external_id": COUPON,
            "description": "10% off for SILVER and GOLD loyalty members",
            "monitor_configuration": null,
        },
        "links": {"self": format!("{origin}/api/coupons/{COUPON}/")}
    })
}

fn not_simulated(what: &str, param: &str) -> ApiError {
    wire::invalid(
        &format!("{what} is valid for Klaviyo but not supported by this simulator."),
        Source::Parameter(param),
    )
}

fn not_found(id: &str) -> ApiError {
    wire::error(
        StatusCode::NOT_FOUND,
        "not_found",
        "Not found.",
        &format!("A coupon code with id {id} does not exist."),
        Some(Source::Parameter("id")),
    )
}

/// The common query parameters of the coupon-code reads.
#[derive(Debug, Default)]
struct Shape {
    include_coupon: bool,
    fields: Option<HashSet<String>>,
}

fn shape(k: &str, v: &str, s: &mut Shape) -> Result<bool, ApiError> {
    match k {
        "include" => {
            for inc in v.split(',').map(str::trim).filter(|x| !x.is_empty()) {
                if inc != "coupon" {
                    return Err(wire::invalid(
                        &format!("Invalid include `{inc}`: supported value is 'coupon'."),
                        Source::Parameter("include"),
                    ));
                }
                s.include_coupon = true;
            }
            Ok(true)
        }
        "fields[coupon-code]" => {
            s.fields = Some(
                v.split(',')
                    .map(str::trim)
                    .filter(|x| !x.is_empty())
                    .map(str::to_owned)
                    .collect(),
            );
            Ok(true)
        }
        "fields[coupon]" => Ok(true),
        _ => Ok(false),
    }
}

fn params_of(raw: Option<String>) -> Vec<(String, String)> {
    url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
        .into_owned()
        .collect()
}

fn strings(arg: Arg) -> Result<Vec<String>, ApiError> {
    match arg {
        Arg::Str(s) => Ok(vec![s]),
        Arg::List(l) => Ok(l),
        Arg::Bare(b) => Err(wire::invalid(
            &format!("Invalid filter provided: `{b}` must be a quoted string."),
            Source::Parameter("filter"),
        )),
    }
}

/// `GET /api/coupon-codes`.
pub(crate) async fn list(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let admission = match sim.admit(&headers, "get_coupon_codes", COUPON_CODES) {
        Ok(a) => a,
        Err(e) => return e.into_response(),
    };
    let params = params_of(raw);
    let origin = wire::origin(&headers);
    let mut resp = list_inner(&sim, &params, &origin).unwrap_or_else(IntoResponse::into_response);
    admission.apply(resp.headers_mut());
    resp
}

fn list_inner(sim: &Sim, params: &[(String, String)], origin: &str) -> Result<Response, ApiError> {
    let mut shp = Shape::default();
    let mut size = DEFAULT_PAGE;
    let mut cursor = None;
    let mut profiles: Option<Vec<String>> = None;
    let mut coupons: Option<Vec<String>> = None;
    let mut status: Option<String> = None;
    let mut filtered = false;
    for (k, v) in params {
        if shape(k, v, &mut shp)? {
            continue;
        }
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
            "filter" => {
                filtered = true;
                let conds = filter::parse(v).map_err(|e| {
                    wire::invalid(
                        &format!("Invalid filter provided: {e}"),
                        Source::Parameter("filter"),
                    )
                })?;
                for c in conds {
                    match (c.op.as_str(), c.field.as_str()) {
                        ("equals" | "any", "profile.id") => profiles = Some(strings(c.arg)?),
                        ("equals" | "any", "coupon.id") => coupons = Some(strings(c.arg)?),
                        ("equals", "status") => {
                            let s = strings(c.arg)?.concat();
                            if !STATUSES.contains(&s.as_str()) {
                                return Err(wire::invalid(
                                    &format!("Invalid filter provided: `{s}` is not a coupon code status."),
                                    Source::Parameter("filter"),
                                ));
                            }
                            status = Some(s);
                        }
                        (
                            "greater-or-equal" | "greater-than" | "less-or-equal" | "less-than",
                            "expires_at",
                        ) => return Err(not_simulated("Filtering on `expires_at`", "filter")),
                        (op, field) => {
                            return Err(wire::invalid(
                                &format!("Invalid filter provided: operator `{op}` is not allowed on field `{field}`."),
                                Source::Parameter("filter"),
                            ))
                        }
                    }
                }
            }
            other => {
                return Err(wire::invalid(
                    &format!("Unknown query parameter `{other}`."),
                    Source::Parameter(other),
                ))
            }
        }
    }
    let Some(profiles) = profiles else {
        if filtered && coupons.is_some() {
            return Err(not_simulated(
                "Listing a coupon's codes without `profile.id`",
                "filter",
            ));
        }
        return Err(wire::invalid(
            "A coupon/coupons or a profile/profiles must be provided as required filter params.",
            Source::Parameter("filter"),
        ));
    };
    let start = match cursor {
        Some(c) => wire::read_cursor('k', c).ok_or_else(|| {
            wire::invalid("Invalid page cursor.", Source::Parameter("page[cursor]"))
        })? as usize,
        None => 0,
    };
    let mut seen = HashSet::new();
    let matching: Vec<Seeded> = profiles
        .iter()
        .filter(|p| seen.insert(p.as_str()))
        .filter_map(|p| profile_index(p))
        .filter(|&i| sim.world.in_slice(SLICE, i))
        .flat_map(|i| codes_of(sim, i))
        .filter(|_| {
            coupons
                .as_ref()
                .is_none_or(|c| c.iter().any(|c| c == COUPON))
        })
        .filter(|s| status.as_deref().is_none_or(|st| current(sim, *s).0 == st))
        .collect();
    let end = (start + size).min(matching.len());
    let page = matching.get(start.min(end)..end).unwrap_or_default();
    let data: Vec<Value> = page
        .iter()
        .map(|s| resource(sim, *s, origin, shp.fields.as_ref()))
        .collect();
    let path = "/api/coupon-codes/";
    let mut doc = json!({
        "data": data,
        "links": {
            "self": wire::link(origin, path, params, cursor),
            "next": (end < matching.len())
                .then(|| wire::link(origin, path, params, Some(&wire::cursor('k', end as u64)))),
            "prev": null,
        }
    });
    if shp.include_coupon {
        doc["included"] = json!(if page.is_empty() {
            vec![]
        } else {
            vec![coupon_resource(origin)]
        });
    }
    Ok(wire::document(StatusCode::OK, &doc))
}

/// `GET /api/coupon-codes/{id}`.
pub(crate) async fn get_one(
    State(sim): State<Arc<Sim>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let admission = match sim.admit(&headers, "get_coupon_code", COUPON_CODES) {
        Ok(a) => a,
        Err(e) => return e.into_response(),
    };
    let origin = wire::origin(&headers);
    let result = (|| {
        let mut shp = Shape::default();
        for (k, v) in params_of(raw) {
            if !shape(&k, &v, &mut shp)? {
                return Err(wire::invalid(
                    &format!("Unknown query parameter `{k}`."),
                    Source::Parameter("query"),
                ));
            }
        }
        let s = seeded(&sim, &id).ok_or_else(|| not_found(&id))?;
        let mut doc = json!({
            "data": resource(&sim, s, &origin, shp.fields.as_ref()),
            "links": {"self": format!("{origin}/api/coupon-codes/{id}/")},
        });
        if shp.include_coupon {
            doc["included"] = json!([coupon_resource(&origin)]);
        }
        Ok(wire::document(StatusCode::OK, &doc))
    })();
    let mut resp = result.unwrap_or_else(IntoResponse::into_response);
    admission.apply(resp.headers_mut());
    resp
}

/// `PATCH /api/coupon-codes/{id}`: `status` (`USED` or `ASSIGNED_TO_PROFILE`) and
/// `expires_at`.
pub(crate) async fn update(
    State(sim): State<Arc<Sim>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let admission = match sim.admit(&headers, "update_coupon_code", COUPON_CODES) {
        Ok(a) => a,
        Err(e) => return e.into_response(),
    };
    let origin = wire::origin(&headers);
    let json_body = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with(wire::JSON_API) || ct.starts_with("application/json"));
    let result = if json_body {
        update_inner(&sim, &id, &body, &origin)
    } else {
        Err(wire::error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "Unsupported media type.",
            "Send the update as `Content-Type: application/vnd.api+json`.",
            None,
        ))
    };
    let mut resp = result.unwrap_or_else(IntoResponse::into_response);
    admission.apply(resp.headers_mut());
    resp
}

fn bad(detail: &str, pointer: &str) -> ApiError {
    wire::invalid(detail, Source::Pointer(pointer))
}

fn update_inner(sim: &Sim, id: &str, body: &[u8], origin: &str) -> Result<Response, ApiError> {
    let doc: Value = serde_json::from_slice(body).map_err(|e| {
        wire::error(
            StatusCode::BAD_REQUEST,
            "parse_error",
            "Malformed request body.",
            &format!("JSON parse error: {e}"),
            None,
        )
    })?;
    if doc.pointer("/data/type").and_then(Value::as_str) != Some("coupon-code") {
        return Err(bad("`data.type` must be \"coupon-code\".", "/data/type"));
    }
    if doc.pointer("/data/id").and_then(Value::as_str) != Some(id) {
        return Err(bad(
            "`data.id` is required and must match the id in the path.",
            "/data/id",
        ));
    }
    let attrs = doc
        .pointer("/data/attributes")
        .and_then(Value::as_object)
        .ok_or_else(|| bad("`data.attributes` is required.", "/data/attributes"))?;
    let s = seeded(sim, id).ok_or_else(|| not_found(id))?;
    let status = match attrs.get("status") {
        None | Some(Value::Null) => None,
        Some(Value::String(v)) => match STATUSES.iter().find(|s| **s == v.as_str()) {
            Some(&st @ ("USED" | "ASSIGNED_TO_PROFILE")) => Some(st),
            Some(other) => {
                return Err(bad(
                    &format!("Setting status `{other}` is valid for Klaviyo but not supported by this simulator."),
                    "/data/attributes/status",
                ))
            }
            None => {
                return Err(bad(
                    &format!("`{v}` is not a valid coupon code status."),
                    "/data/attributes/status",
                ))
            }
        },
        Some(_) => return Err(bad("`status` must be a string.", "/data/attributes/status")),
    };
    let expires_at = match attrs.get("expires_at") {
        None => None,
        // Klaviyo: "If not specified or set to null, it will be automatically set to 1 year."
        Some(Value::Null) => Some(sim.world.now() + Duration::days(365)),
        Some(v) => Some(v.as_str().and_then(parse_time).ok_or_else(|| {
            bad(
                "`expires_at` must be an ISO 8601 datetime.",
                "/data/attributes/expires_at",
            )
        })?),
    };
    {
        let mut state = sim.coupons.lock().unwrap_or_else(|e| e.into_inner());
        let change = state.changed.entry(id.to_owned()).or_default();
        if status == Some("USED") && change.status == Some("USED") {
            return Err(wire::error(
                StatusCode::CONFLICT,
                "conflict",
                "Conflict.",
                &format!("Coupon code {id} has already been used."),
                Some(Source::Pointer("/data/attributes/status")),
            ));
        }
        if let Some(st) = status {
            change.status = Some(st);
        }
        if let Some(t) = expires_at {
            change.expires_at = Some(t);
        }
    }
    Ok(wire::document(
        StatusCode::OK,
        &json!({
            "data": resource(sim, s, origin, None),
            "links": {"self": format!("{origin}/api/coupon-codes/{id}/")},
        }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_named_by_customer_number() {
        let s = Seeded {
            index: 42,
            expired: false,
        };
        assert_eq!(unique_code(s), "L10-C0000042");
        assert_eq!(code_id(s), "LOYALTY10-L10-C0000042");
        assert_eq!(
            code_id(Seeded {
                index: 42,
                expired: true
            }),
            "LOYALTY10-L10-C0000042-OLD"
        );
    }
}
