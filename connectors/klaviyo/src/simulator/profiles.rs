//! `GET /api/profiles` and `GET /api/profiles/{id}`: the marketing slice of the world as
//! Klaviyo profiles. Identifier filters resolve through the world's indexes (e-mail, phone,
//! customer number, profile id), never by scanning; unfiltered listings page by index range;
//! `updated` filters and sorts use an index of profiles by `updated` built on first use.

use super::filter::{self, Arg};
use super::limits::PROFILES;
use super::wire::{self, profile_id, profile_index, ApiError, Source};
use super::{Sim, SLICE};
use crate::mapping::parse_time;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use samlet_connector::prelude::CustomerNumber;
use samlet_testkit::world::SystemCustomer;
use serde_json::{json, Map, Value};
use std::collections::HashSet;
use std::sync::Arc;

const PATH: &str = "/api/profiles/";
const DEFAULT_PAGE: usize = 20;
const MAX_PAGE: usize = 100;
/// Query parameters `GET /api/profiles` knows (the spec's list).
const KNOWN: &[&str] = &[
    "additional-fields[profile]",
    "fields[conversation]",
    "fields[profile]",
    "fields[push-token]",
    "filter",
    "include",
    "page[cursor]",
    "page[size]",
    "sort",
];

/// The identifier fields that take `any` and `equals`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum IdField {
    Id,
    Email,
    Phone,
    ExternalId,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sort {
    /// No `sort`: index (= id) order, or `updated` order when filtering on `updated`.
    Default,
    Id,
    Updated,
    UpdatedDesc,
}

#[derive(Debug)]
struct Query {
    page_size: usize,
    cursor: Option<String>,
    sort: Sort,
    subscriptions: bool,
    predictive: bool,
    fields: Option<HashSet<String>>,
    ident: Option<(IdField, Vec<String>)>,
    /// `greater-than(updated, …)`, Unix seconds.
    after: Option<i64>,
    /// `less-than(updated, …)`, Unix seconds.
    before: Option<i64>,
}

fn csv(v: &str) -> impl Iterator<Item = &str> {
    v.split(',').map(str::trim).filter(|s| !s.is_empty())
}

fn not_simulated(what: &str, param: &str) -> ApiError {
    wire::invalid(
        &format!("{what} is valid for Klaviyo but not supported by this simulator."),
        Source::Parameter(param),
    )
}

fn parse_query(params: &[(String, String)]) -> Result<Query, ApiError> {
    let mut q = Query {
        page_size: DEFAULT_PAGE,
        cursor: None,
        sort: Sort::Default,
        subscriptions: false,
        predictive: false,
        fields: None,
        ident: None,
        after: None,
        before: None,
    };
    for (k, v) in params {
        match k.as_str() {
            "page[size]" => {
                q.page_size = v
                    .trim()
                    .parse::<usize>()
                    .ok()
                    .filter(|n| (1..=MAX_PAGE).contains(n))
                    .ok_or_else(|| {
                        wire::invalid(
                            &format!("Invalid page size `{v}`: `page[size]` must be an integer from 1 to {MAX_PAGE}."),
                            Source::Parameter("page[size]"),
                        )
                    })?;
            }
            "page[cursor]" => q.cursor = Some(v.clone()),
            "sort" => {
                q.sort = match v.trim() {
                    "id" => Sort::Id,
                    "updated" => Sort::Updated,
                    "-updated" => Sort::UpdatedDesc,
                    s @ ("-id" | "created" | "-created" | "email" | "-email") => {
                        return Err(not_simulated(&format!("Sort `{s}`"), "sort"))
                    }
                    s if s.starts_with("subscriptions.") || s.starts_with("-subscriptions.") => {
                        return Err(not_simulated(&format!("Sort `{s}`"), "sort"))
                    }
                    s => {
                        return Err(wire::invalid(
                            &format!("Invalid sort field `{s}`."),
                            Source::Parameter("sort"),
                        ))
                    }
                }
            }
            "additional-fields[profile]" => {
                for f in csv(v) {
                    match f {
                        "subscriptions" => q.subscriptions = true,
                        "predictive_analytics" => q.predictive = true,
                        other => {
                            return Err(wire::invalid(
                                &format!("Invalid additional field `{other}`: supported values are 'subscriptions', 'predictive_analytics'."),
                                Source::Parameter("additional-fields[profile]"),
                            ))
                        }
                    }
                }
            }
            "fields[profile]" => q.fields = Some(csv(v).map(str::to_owned).collect()),
            "include" => return Err(not_simulated("`include`", "include")),
            "filter" => apply_filter(&mut q, v)?,
            k if KNOWN.contains(&k) => {}
            other => {
                return Err(wire::invalid(
                    &format!("Unknown query parameter `{other}`."),
                    Source::Parameter(other),
                ))
            }
        }
    }
    Ok(q)
}

fn bad_filter(detail: &str) -> ApiError {
    wire::invalid(
        &format!("Invalid filter provided: {detail}"),
        Source::Parameter("filter"),
    )
}

fn apply_filter(q: &mut Query, raw: &str) -> Result<(), ApiError> {
    let conds = filter::parse(raw).map_err(|e| bad_filter(&e))?;
    for c in conds {
        let id_field = match c.field.as_str() {
            "id" => Some(IdField::Id),
            "email" => Some(IdField::Email),
            "phone_number" => Some(IdField::Phone),
            "external_id" => Some(IdField::ExternalId),
            _ => None,
        };
        match (id_field, c.op.as_str(), c.arg) {
            (Some(f), "any", Arg::List(values)) | (Some(f), "equals", Arg::List(values)) => {
                set_ident(q, f, values)?
            }
            (Some(f), "equals", Arg::Str(v)) => set_ident(q, f, vec![v])?,
            (Some(_), op, _) => {
                return Err(bad_filter(&format!(
                    "`{op}` with this value is not allowed on `{}`; use any(field,[\"…\"]) or equals(field,\"…\").",
                    c.field
                )))
            }
            (None, op @ ("greater-than" | "less-than"), arg) if c.field == "updated" => {
                let raw = match arg {
                    Arg::Bare(s) | Arg::Str(s) => s,
                    Arg::List(_) => return Err(bad_filter("`updated` takes one datetime")),
                };
                let t = parse_time(&raw)
                    .ok_or_else(|| bad_filter(&format!("`{raw}` is not a datetime")))?
                    .timestamp();
                if op == "greater-than" {
                    q.after = Some(q.after.map_or(t, |a| a.max(t)));
                } else {
                    q.before = Some(q.before.map_or(t, |b| b.min(t)));
                }
            }
            (None, _, _)
                if c.field == "created"
                    || c.field == "_kx"
                    || c.field.starts_with("subscriptions.") =>
            {
                return Err(not_simulated(&format!("Filtering on `{}`", c.field), "filter"))
            }
            (None, op, _) => {
                return Err(bad_filter(&format!(
                    "`{op}` is not allowed on field `{}`.",
                    c.field
                )))
            }
        }
    }
    Ok(())
}

fn set_ident(q: &mut Query, field: IdField, values: Vec<String>) -> Result<(), ApiError> {
    if q.ident.is_some() {
        return Err(not_simulated(
            "More than one identifier condition",
            "filter",
        ));
    }
    q.ident = Some((field, values));
    Ok(())
}

/// The index of the profile `field = value` names, if the marketing slice holds it.
fn lookup(sim: &Sim, field: IdField, value: &str) -> Option<u32> {
    let w = &sim.world;
    match field {
        IdField::Id => profile_index(value).filter(|&i| w.in_slice(SLICE, i)),
        IdField::ExternalId => w
            .customer_index(&CustomerNumber::new(value))
            .filter(|&i| w.in_slice(SLICE, i)),
        // Stored values compare exactly: e-mails are stored lower-case, phones in E.164.
        IdField::Email => w.customer_by_email(value).and_then(|i| {
            w.system_customer(SLICE, i)
                .filter(|s| s.email == value)
                .map(|_| i)
        }),
        IdField::Phone => w.customer_by_phone(value).and_then(|i| {
            w.system_customer(SLICE, i)
                .filter(|s| s.phone.as_deref() == Some(value))
                .map(|_| i)
        }),
    }
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, false)
}

fn locale_and_zone(country: &str) -> (&'static str, &'static str) {
    match country {
        "DK" => ("da-DK", "Europe/Copenhagen"),
        "SE" => ("sv-SE", "Europe/Stockholm"),
        "NO" => ("nb-NO", "Europe/Oslo"),
        _ => ("en-GB", "Europe/London"),
    }
}

fn subscriptions(sys: &SystemCustomer) -> Value {
    use samlet_connector::prelude::ConsentChannel;
    let of = |ch: ConsentChannel| sys.consents.iter().find(|c| c.channel == ch);
    let state = |ch: ConsentChannel| match of(ch) {
        Some(c) if c.granted => ("SUBSCRIBED", c.updated_at.map(ts)),
        Some(c) => ("UNSUBSCRIBED", c.updated_at.map(ts)),
        None => ("NEVER_SUBSCRIBED", None),
    };
    let (email, email_at) = state(ConsentChannel::Email);
    let (sms, sms_at) = state(ConsentChannel::Sms);
    json!({
        "email": {"marketing": {
            "can_receive_email_marketing": email == "SUBSCRIBED",
            "consent": email,
            "consent_timestamp": email_at,
            "last_updated": email_at,
            "method": if email_at.is_some() { Some("PREFERENCE_PAGE") } else { None },
            "method_detail": "",
            "custom_method_detail": null,
            "double_optin": null,
            "suppression": [],
            "list_suppressions": []
        }},
        "sms": {
            "marketing": {
                "can_receive_sms_marketing": sms == "SUBSCRIBED" && sys.phone.is_some(),
                "consent": sms,
                "consent_timestamp": sms_at,
                "method": if sms_at.is_some() { Some("TEXT") } else { None },
                "method_detail": "",
                "last_updated": sms_at
            },
            "transactional": null
        },
        "mobile_push": null,
        "whatsapp": null
    })
}

/// The `profile` resource object of world customer `i` (held by the slice as `sys`).
fn resource(sim: &Sim, i: u32, sys: &SystemCustomer, origin: &str, q: &Query) -> Value {
    let id = profile_id(i);
    let (locale, zone) = locale_and_zone(&sys.address.country);
    let p = &sim.props;
    let mut props = Map::new();
    if let Some(n) = &sys.loyalty_number {
        props.insert(p.loyalty_number.clone(), json!(n));
    }
    if let Some(t) = sys.loyalty_tier {
        props.insert(p.loyalty_tier.clone(), json!(t));
    }
    let kind = match sys.kind {
        samlet_connector::prelude::CustomerKind::Company => "company",
        samlet_connector::prelude::CustomerKind::Person => "person",
    };
    props.insert(p.customer_kind.clone(), json!(kind));
    let mut attributes = json!({
        "email": sys.email,
        "phone_number": sys.phone,
        "external_id": sys.number.as_str(),
        "first_name": sys.first_name,
        "last_name": sys.last_name,
        "organization": sys.company_name,
        "locale": locale,
        "title": null,
        "image": null,
        "created": ts(sys.updated_at - Duration::days(30)),
        "updated": ts(sys.updated_at),
        "last_event_date": null,
        "location": {
            "address1": sys.address.street,
            "address2": null,
            "city": sys.address.city,
            "country": sys.address.country,
            "latitude": null,
            "longitude": null,
            "region": null,
            "zip": sys.address.postal_code,
            "timezone": zone,
            "ip": null
        },
        "properties": props,
    });
    if let (Some(fields), Some(obj)) = (&q.fields, attributes.as_object_mut()) {
        obj.retain(|k, _| {
            fields.iter().any(|f| {
                f == k
                    || f.strip_prefix(k.as_str())
                        .is_some_and(|r| r.starts_with('.'))
            })
        });
    }
    if q.subscriptions {
        attributes["subscriptions"] = subscriptions(sys);
    }
    if q.predictive {
        attributes["predictive_analytics"] = Value::Null;
    }
    let rel = |name: &str| {
        json!({"links": {
            "self": format!("{origin}{PATH}{id}/relationships/{name}/"),
            "related": format!("{origin}{PATH}{id}/{name}/"),
        }})
    };
    json!({
        "type": "profile",
        "id": id,
        "attributes": attributes,
        "relationships": {
            "lists": rel("lists"),
            "segments": rel("segments"),
            "push-tokens": rel("push-tokens"),
        },
        "links": {"self": format!("{origin}{PATH}{id}/")}
    })
}

fn bad_cursor() -> ApiError {
    wire::invalid("Invalid page cursor.", Source::Parameter("page[cursor]"))
}

/// The indexes of one page and the cursor of the next, per listing mode.
fn page(sim: &Sim, q: &Query) -> Result<(Vec<u32>, Option<String>), ApiError> {
    let w = &sim.world;
    let in_window = |t: i64| q.after.is_none_or(|a| t > a) && q.before.is_none_or(|b| t < b);
    let by_offset = |mode: char, items: &[u32]| -> Result<(Vec<u32>, Option<String>), ApiError> {
        let start = match &q.cursor {
            Some(c) => wire::read_cursor(mode, c).ok_or_else(bad_cursor)? as usize,
            None => 0,
        };
        let end = (start + q.page_size).min(items.len());
        let page = items.get(start..end).unwrap_or_default().to_vec();
        let next = (end < items.len()).then(|| wire::cursor(mode, end as u64));
        Ok((page, next))
    };
    if let Some((field, values)) = &q.ident {
        let mut hits: Vec<u32> = values
            .iter()
            .filter_map(|v| lookup(sim, *field, v))
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let updated = |i: u32| w.customer(i).updated_at.timestamp();
        if q.after.is_some() || q.before.is_some() {
            hits.retain(|&i| in_window(updated(i)));
        }
        match q.sort {
            Sort::Updated => hits.sort_by_key(|&i| (updated(i), i)),
            Sort::UpdatedDesc => hits.sort_by_key(|&i| std::cmp::Reverse((updated(i), i))),
            Sort::Default | Sort::Id => hits.sort_unstable(),
        }
        return by_offset('k', &hits);
    }
    let windowed = q.after.is_some() || q.before.is_some();
    if matches!(q.sort, Sort::Updated | Sort::UpdatedDesc) || (windowed && q.sort == Sort::Default)
    {
        let all = sim.by_updated();
        let lo = q.after.map_or(0, |a| all.partition_point(|&(t, _)| t <= a));
        let hi = q
            .before
            .map_or(all.len(), |b| all.partition_point(|&(t, _)| t < b))
            .max(lo);
        let desc = q.sort == Sort::UpdatedDesc;
        let mode = if desc { 'd' } else { 'u' };
        let start = match &q.cursor {
            Some(c) => wire::read_cursor(mode, c).ok_or_else(bad_cursor)? as usize,
            None => 0,
        };
        let len = hi - lo;
        let end = (start + q.page_size).min(len);
        let page: Vec<u32> = (start.min(end)..end)
            .map(|k| all[if desc { hi - 1 - k } else { lo + k }].1)
            .collect();
        let next = (end < len).then(|| wire::cursor(mode, end as u64));
        return Ok((page, next));
    }
    // Index order, by index range: the cursor is the next index to look at.
    let mut i = match &q.cursor {
        Some(c) => u32::try_from(wire::read_cursor('i', c).ok_or_else(bad_cursor)?)
            .map_err(|_| bad_cursor())?,
        None => 0,
    };
    let mut out = Vec::with_capacity(q.page_size);
    let count = w.customer_count();
    while i < count {
        let held =
            w.in_slice(SLICE, i) && (!windowed || in_window(w.customer(i).updated_at.timestamp()));
        if held {
            if out.len() == q.page_size {
                return Ok((out, Some(wire::cursor('i', u64::from(i)))));
            }
            out.push(i);
        }
        i += 1;
    }
    Ok((out, None))
}

/// `GET /api/profiles`.
pub(crate) async fn list(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let admission = match sim.admit(&headers, "get_profiles", PROFILES) {
        Ok(a) => a,
        Err(e) => return e.into_response(),
    };
    let params: Vec<(String, String)> =
        url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
            .into_owned()
            .collect();
    let origin = wire::origin(&headers);
    let mut resp = match parse_query(&params).and_then(|q| {
        let (indexes, next) = page(&sim, &q)?;
        let data: Vec<Value> = indexes
            .into_iter()
            .filter_map(|i| {
                let sys = sim.world.system_customer(SLICE, i)?;
                Some(resource(&sim, i, &sys, &origin, &q))
            })
            .collect();
        let this = wire::link(&origin, PATH, &params, q.cursor.as_deref());
        let next = next.map(|c| wire::link(&origin, PATH, &params, Some(&c)));
        let prev = q
            .cursor
            .as_ref()
            .map(|_| wire::link(&origin, PATH, &params, None));
        Ok(wire::document(
            StatusCode::OK,
            &json!({"data": data, "links": {"self": this, "next": next, "prev": prev}}),
        ))
    }) {
        Ok(r) => r,
        Err(e) => e.into_response(),
    };
    admission.apply(resp.headers_mut());
    resp
}

/// `GET /api/profiles/{id}`.
pub(crate) async fn get_one(
    State(sim): State<Arc<Sim>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let admission = match sim.admit(&headers, "get_profile", PROFILES) {
        Ok(a) => a,
        Err(e) => return e.into_response(),
    };
    let params: Vec<(String, String)> =
        url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
            .into_owned()
            .filter(|(k, _)| k.starts_with("fields[") || k.starts_with("additional-fields["))
            .collect();
    let origin = wire::origin(&headers);
    let mut resp = match parse_query(&params) {
        Err(e) => e.into_response(),
        Ok(q) => {
            match profile_index(&id).and_then(|i| Some((i, sim.world.system_customer(SLICE, i)?))) {
                Some((i, sys)) => {
                    let data = resource(&sim, i, &sys, &origin, &q);
                    let this = format!("{origin}{PATH}{id}/");
                    wire::document(
                        StatusCode::OK,
                        &json!({"data": data, "links": {"self": this}}),
                    )
                }
                None => wire::error(
                    StatusCode::NOT_FOUND,
                    "not_found",
                    "Not found.",
                    &format!("A profile with id {id} does not exist."),
                    Some(Source::Parameter("id")),
                )
                .into_response(),
            }
        }
    };
    admission.apply(resp.headers_mut());
    resp
}
