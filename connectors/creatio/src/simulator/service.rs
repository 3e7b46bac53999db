//! The OData 4 service resources: entity set collections (`GET /0/odata/Contact?$filter=…`),
//! single entities by key (`GET /0/odata/Contact(guid)`), the service document, and JSON
//! `$batch` requests. Each resource is a plain function from a request path to a body or an
//! OData error, so a `$batch` sub-request runs exactly what the direct call runs.

use super::entities::{self, Rec, Set};
use super::odata::{self, Collation, ODataError, Options, Pinned, MAX_TOP};
use super::Sim;
use crate::client::MAX_BATCH_REQUESTS;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::sync::Arc;

impl IntoResponse for ODataError {
    fn into_response(self) -> Response {
        let body = json!({ "error": { "code": self.code, "message": self.message } });
        (self.status, Json(body)).into_response()
    }
}

/// `http://host/0/odata`: the service root as clients address it.
pub(crate) fn service_root(sim: &Sim, headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1");
    format!("http://{host}{}", sim.odata_path)
}

/// Splits `Contact(0000…)` into the set name and the key, if any.
fn split_key(resource: &str) -> Result<(&str, Option<&str>), ODataError> {
    match resource.find('(') {
        None => Ok((resource, None)),
        Some(at) if resource.ends_with(')') => {
            let key = resource[at + 1..resource.len() - 1].trim();
            let key = key.trim_start_matches("guid'").trim_matches('\'');
            Ok((&resource[..at], Some(key)))
        }
        Some(_) => Err(ODataError::invalid_query(format!(
            "Bad key segment in '{resource}'."
        ))),
    }
}

fn collation(sim: &Sim) -> Collation {
    sim.collation
}

/// Rows of `set` passing the filter, in `$orderby` order (else `Id` order), with columns.
fn matching(sim: &Sim, set: Set, o: &Options) -> Vec<(Rec, serde_json::Map<String, Value>)> {
    let candidates: Vec<Rec> = match o.filter.as_ref().and_then(|f| f.pinned()) {
        Some(pins) => {
            let mut found = BTreeSet::new();
            let mut indexed = true;
            for (path, value) in &pins {
                match entities::lookup(sim, set, path, value) {
                    Some(recs) => found.extend(recs),
                    None => {
                        indexed = false;
                        break;
                    }
                }
            }
            if indexed {
                found.into_iter().collect()
            } else {
                entities::scan(sim, set)
            }
        }
        None => entities::scan(sim, set),
    };
    let c = collation(sim);
    let mut rows: Vec<(Rec, serde_json::Map<String, Value>)> = candidates
        .into_iter()
        .filter_map(|r| r.columns(sim).map(|row| (r, row)))
        .filter(|(r, row)| match &o.filter {
            None => true,
            Some(f) => f
                .eval(&|p: &[String]| r.value_at(sim, row, p), &odata::DIALECT, c)
                .as_bool()
                .unwrap_or(false),
        })
        .collect();
    if !o.orderby.is_empty() {
        rows.sort_by(|(ra, a), (rb, b)| {
            for (path, desc) in &o.orderby {
                let ord = odata::compare(&ra.value_at(sim, a, path), &rb.value_at(sim, b, path), c);
                let ord = if *desc { ord.reverse() } else { ord };
                if ord.is_ne() {
                    return ord;
                }
            }
            std::cmp::Ordering::Equal
        });
    }
    rows
}

/// An entity set read without a filter in `Id` order: only the page's rows are computed.
fn is_plain_scan(o: &Options) -> bool {
    o.filter.is_none()
        && match o.orderby.as_slice() {
            [] => true,
            [(path, false)] => path.len() == 1 && path[0] == "Id",
            _ => false,
        }
}

/// Runs one GET: `Contact?$filter=…`, `Contact(guid)?$select=…`, or the service document.
/// `relative` is the path below the service root with its (still encoded) query string.
pub(crate) fn execute(sim: &Sim, root: &str, relative: &str) -> Result<Value, ODataError> {
    let (path, raw) = match relative.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (relative, None),
    };
    let path = path.trim_matches('/');
    if path.is_empty() {
        return Ok(service_document(root));
    }
    if path == "$metadata" {
        return Err(ODataError::not_simulated("The $metadata document"));
    }
    if path.contains('/') {
        return Err(ODataError::not_simulated(format!(
            "The resource path '{path}' (properties, $count, navigation)"
        )));
    }
    let (name, key) = split_key(path)?;
    let set = Set::parse(name).ok_or_else(|| ODataError::not_found(name))?;
    let o = odata::parse_options(raw, sim.max_node_count)?;
    set.check_shape(o.select.as_deref(), &o.expand)?;
    let mut paths = Vec::new();
    if let Some(f) = &o.filter {
        f.paths(&mut paths);
    }
    for (p, _) in &o.orderby {
        paths.push(p);
    }
    for p in paths {
        set.check_path(p)?;
    }
    if let Some(key) = key {
        let rec = entities::parse_guid(key)
            .filter(|r| r.set == set)
            .ok_or_else(|| ODataError::not_found(name))?;
        let row = rec
            .columns(sim)
            .ok_or_else(|| ODataError::not_found(name))?;
        let mut body = rec.render(sim, row, o.select.as_deref(), &o.expand);
        if let Value::Object(m) = &mut body {
            m.insert(
                "@odata.context".into(),
                json!(format!("{root}/$metadata#{name}/$entity")),
            );
        }
        return Ok(body);
    }
    let top = o.top.unwrap_or(MAX_TOP).min(MAX_TOP);
    let (count, page) = if is_plain_scan(&o) {
        let all = entities::scan(sim, set);
        let page: Vec<Value> = all
            .iter()
            .skip(o.skip)
            .take(top)
            .filter_map(|r| r.columns(sim).map(|row| (*r, row)))
            .map(|(r, row)| r.render(sim, row, o.select.as_deref(), &o.expand))
            .collect();
        (all.len(), page)
    } else {
        let rows = matching(sim, set, &o);
        let count = rows.len();
        let page = rows
            .into_iter()
            .skip(o.skip)
            .take(top)
            .map(|(r, row)| r.render(sim, row, o.select.as_deref(), &o.expand))
            .collect();
        (count, page)
    };
    let mut body = serde_json::Map::new();
    body.insert(
        "@odata.context".into(),
        json!(format!("{root}/$metadata#{name}")),
    );
    if o.count {
        body.insert("@odata.count".into(), json!(count));
    }
    body.insert("value".into(), Value::Array(page));
    Ok(Value::Object(body))
}

fn service_document(root: &str) -> Value {
    let sets: Vec<Value> = Set::ALL
        .iter()
        .map(|s| json!({"name": s.name(), "kind": "EntitySet", "url": s.name()}))
        .collect();
    json!({ "@odata.context": format!("{root}/$metadata"), "value": sets })
}

fn ok_json(body: Value) -> Response {
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            "application/json; odata.metadata=minimal; odata.streaming=true",
        )],
        Json(body),
    )
        .into_response()
}

/// `GET {odata}/` and `GET {odata}`: the service document.
pub(crate) async fn root(State(sim): State<Arc<Sim>>, headers: HeaderMap) -> Response {
    ok_json(service_document(&service_root(&sim, &headers)))
}

/// `GET {odata}/{resource}`: a collection or one entity.
pub(crate) async fn resource(
    State(sim): State<Arc<Sim>>,
    Path(resource): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Response {
    let relative = match raw {
        Some(q) => format!("{resource}?{q}"),
        None => resource,
    };
    match execute(&sim, &service_root(&sim, &headers), &relative) {
        Ok(body) => ok_json(body),
        Err(e) => e.into_response(),
    }
}

#[derive(Deserialize)]
struct BatchRequest {
    requests: Vec<SubRequest>,
}

#[derive(Deserialize)]
struct SubRequest {
    id: String,
    method: String,
    url: String,
    #[serde(default)]
    #[serde(rename = "atomicityGroup")]
    atomicity_group: Option<String>,
}

/// The sub-request URL below the service root: relative (`Contact?…`), absolute-path
/// (`/0/odata/Contact?…`) or absolute (`http://host/0/odata/Contact?…`).
fn below_root<'u>(sim: &Sim, url: &'u str) -> Result<&'u str, ODataError> {
    let path = match url.find("://") {
        Some(at) => {
            let rest = &url[at + 3..];
            rest.find('/').map_or("/", |p| &rest[p..])
        }
        None => url,
    };
    if path.starts_with('/') {
        path.strip_prefix(sim.odata_path.as_str())
            .filter(|r| r.is_empty() || r.starts_with('/') || r.starts_with('?'))
            .ok_or_else(|| {
                ODataError::invalid_query(format!(
                    "The request URL '{url}' is not below the service root."
                ))
            })
    } else {
        Ok(path)
    }
}

/// `POST {odata}/$batch` with a JSON body: the GET sub-requests run in order; without
/// `Prefer: continue-on-error` the first failing one ends the batch (later ones get no
/// response), as Creatio documents.
pub(crate) async fn batch(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let json_body = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().starts_with("application/json"));
    if !json_body {
        return ODataError::not_simulated(
            "A $batch request other than Content-Type: application/json (multipart/mixed)",
        )
        .into_response();
    }
    let request: BatchRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return ODataError {
                status: StatusCode::BAD_REQUEST,
                code: "",
                message: format!("The $batch request body is not valid JSON batch format: {e}"),
            }
            .into_response()
        }
    };
    if request.requests.len() > MAX_BATCH_REQUESTS {
        return ODataError {
            status: StatusCode::BAD_REQUEST,
            code: "",
            message: format!(
                "The number of requests in the batch ({}) exceeds the limit of {MAX_BATCH_REQUESTS}.",
                request.requests.len()
            ),
        }
        .into_response();
    }
    let continue_on_error = headers
        .get_all("prefer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| {
            v.split(',')
                .any(|p| p.trim().eq_ignore_ascii_case("continue-on-error"))
        });
    let root = service_root(&sim, &headers);
    let mut responses = Vec::with_capacity(request.requests.len());
    for sub in &request.requests {
        let outcome = if sub.atomicity_group.is_some() || !sub.method.eq_ignore_ascii_case("GET") {
            Err(ODataError::not_simulated(format!(
                "A {} request (the simulator serves reads only)",
                sub.method
            )))
        } else {
            below_root(&sim, &sub.url).and_then(|rel| execute(&sim, &root, rel))
        };
        let failed = outcome.is_err();
        let (status, body) = match outcome {
            Ok(b) => (200, b),
            Err(e) => (
                e.status.as_u16(),
                json!({ "error": { "code": e.code, "message": e.message } }),
            ),
        };
        responses.push(json!({
            "id": sub.id,
            "status": status,
            "headers": { "content-type": "application/json; odata.metadata=minimal; odata.streaming=true", "odata-version": "4.0" },
            "body": body,
        }));
        if failed && !continue_on_error {
            break;
        }
    }
    ok_json(json!({ "responses": responses }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_split_from_their_set() {
        assert_eq!(split_key("Contact").unwrap(), ("Contact", None));
        assert_eq!(
            split_key("Contact(0000002a-c0c7-4000-8000-5a11e7c0ffee)").unwrap(),
            ("Contact", Some("0000002a-c0c7-4000-8000-5a11e7c0ffee"))
        );
        assert!(split_key("Contact(x").is_err());
    }

    #[test]
    fn plain_scans_are_told_from_filtered_reads() {
        assert!(is_plain_scan(&Options::default()));
        let by_name = Options {
            orderby: vec![(vec!["Name".into()], false)],
            ..Options::default()
        };
        assert!(!is_plain_scan(&by_name));
    }
}
