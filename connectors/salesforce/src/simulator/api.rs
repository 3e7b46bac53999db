//! The data API resources: Query (with server-side cursors for `nextRecordsUrl`), Composite,
//! and single sObject reads. Each resource is a plain function returning the body or a
//! Salesforce error, so a composite subrequest runs exactly what the direct call runs.

use super::records::{self, FieldRef, Held, Obj};
use super::{soql, wishlist, SfError, Sim};
use crate::config::parse_api_version;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};

/// Salesforce's SOQL statement limit.
const MAX_SOQL_CHARS: usize = 100_000;
/// Subrequests per composite request.
const MAX_SUBREQUESTS: usize = 25;
/// Query subrequests per composite request.
const MAX_COMPOSITE_QUERIES: usize = 5;
/// Query cursors kept for `nextRecordsUrl`; older ones are forgotten.
const MAX_CURSORS: usize = 5_000;
/// The versions served.
const VERSIONS: std::ops::RangeInclusive<(u32, u32)> = (38, 0)..=(67, 0);
const DEFAULT_BATCH: usize = 2_000;
const MIN_BATCH: usize = 200;

type Body = Result<Json<Value>, SfError>;

fn check_version(version: &str) -> Result<(), SfError> {
    match version.strip_prefix('v').and_then(parse_api_version) {
        Some(v) if VERSIONS.contains(&v) => Ok(()),
        _ => Err(SfError::not_found()),
    }
}

/// The batch size a `Sforce-Query-Options` value asks for, within Salesforce's bounds.
fn batch_size(options: Option<&str>) -> usize {
    options
        .and_then(|o| {
            o.split(',')
                .find_map(|part| part.trim().strip_prefix("batchSize="))
                .and_then(|n| n.trim().parse::<usize>().ok())
        })
        .map_or(DEFAULT_BATCH, |n| n.clamp(MIN_BATCH, DEFAULT_BATCH))
}

fn header_batch_size(headers: &HeaderMap) -> usize {
    batch_size(
        headers
            .get(crate::client::QUERY_OPTIONS_HEADER)
            .and_then(|v| v.to_str().ok()),
    )
}

fn invalid_field(obj: Obj, name: &str) -> SfError {
    SfError::new(
        StatusCode::BAD_REQUEST,
        "INVALID_FIELD",
        format!(
            "No such column '{name}' on entity '{}'. If you are attempting to use a custom field, \
             be sure to append the '__c' after the custom field name. Please reference your WSDL \
             or the describe call for the appropriate names.",
            obj.name()
        ),
    )
}

fn invalid_locator() -> SfError {
    SfError::new(
        StatusCode::BAD_REQUEST,
        "INVALID_QUERY_LOCATOR",
        "invalid query locator",
    )
}

/// A query's result set, kept for its `nextRecordsUrl`.
enum Cursor {
    /// Customers, rendered page by page from the world.
    Customers {
        obj: Obj,
        select: Vec<FieldRef>,
        found: Vec<u32>,
    },
    /// Rows of a stored object, rendered when the query ran.
    Records(Vec<Value>),
}

impl Cursor {
    fn len(&self) -> usize {
        match self {
            Cursor::Customers { found, .. } => found.len(),
            Cursor::Records(r) => r.len(),
        }
    }

    fn records(&self, sim: &Sim, version: &str, range: std::ops::Range<usize>) -> Vec<Value> {
        match self {
            Cursor::Customers { obj, select, found } => found[range]
                .iter()
                .filter_map(|&i| Held::get(&sim.world, i))
                .map(|h| h.record(*obj, select, version))
                .collect(),
            Cursor::Records(r) => r[range].to_vec(),
        }
    }
}

/// The open query cursors, newest last.
#[derive(Default)]
pub(crate) struct Cursors {
    inner: Mutex<CursorMap>,
}

#[derive(Default)]
struct CursorMap {
    by_id: HashMap<String, Arc<Cursor>>,
    order: VecDeque<String>,
    next: u64,
}

impl Cursors {
    fn open(&self, cursor: Cursor) -> (String, Arc<Cursor>) {
        let mut m = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        m.next += 1;
        let id = format!("01gSa{:013}", m.next);
        let cursor = Arc::new(cursor);
        m.by_id.insert(id.clone(), cursor.clone());
        m.order.push_back(id.clone());
        while m.order.len() > MAX_CURSORS {
            if let Some(old) = m.order.pop_front() {
                m.by_id.remove(&old);
            }
        }
        (id, cursor)
    }

    fn get(&self, id: &str) -> Option<Arc<Cursor>> {
        let m = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        m.by_id.get(id).cloned()
    }
}

/// One page of a result set from `offset`.
fn page(
    sim: &Sim,
    version: &str,
    c: &Cursor,
    locator: Option<&str>,
    offset: usize,
    batch: usize,
) -> Value {
    let end = offset.saturating_add(batch).min(c.len());
    let records = c.records(sim, version, offset.min(end)..end);
    let done = end >= c.len();
    let mut body = json!({ "totalSize": c.len(), "done": done, "records": records });
    if let (false, Some(id)) = (done, locator) {
        body["nextRecordsUrl"] = json!(format!("/services/data/{version}/query/{id}-{end}"));
    }
    body
}

/// Runs a SOQL query: its first page, and a cursor for the rest.
fn run_query(sim: &Sim, version: &str, q: &str, batch: usize) -> Result<Value, SfError> {
    if q.chars().count() > MAX_SOQL_CHARS {
        return Err(SfError::malformed(
            "SOQL statements cannot be longer than 100,000 characters.",
        ));
    }
    let parsed = soql::parse(q).map_err(SfError::malformed)?;
    if wishlist::is_object(&parsed.object) {
        let records = sim.wishlists.query(version, &parsed)?;
        return Ok(open_cursor(sim, version, Cursor::Records(records), batch));
    }
    let obj = Obj::parse(&parsed.object).ok_or_else(|| {
        SfError::new(
            StatusCode::BAD_REQUEST,
            "INVALID_TYPE",
            format!("sObject type '{}' is not supported.", parsed.object),
        )
    })?;
    let mut select = Vec::with_capacity(parsed.fields.len());
    for name in &parsed.fields {
        let f = FieldRef::resolve(obj, name).ok_or_else(|| invalid_field(obj, name))?;
        if select.contains(&f) {
            return Err(SfError::malformed(format!(
                "duplicate field selected: {name}"
            )));
        }
        select.push(f);
    }
    if parsed.filters.is_empty() {
        return Err(SfError::malformed(
            "the simulator answers only queries with a WHERE clause of IN / = conditions joined by OR",
        ));
    }
    if !parsed.order.is_empty() {
        return Err(SfError::malformed(format!(
            "the simulator cannot order {} records",
            obj.name()
        )));
    }
    let mut found = BTreeSet::new();
    for filter in &parsed.filters {
        let field = FieldRef::resolve(obj, &filter.field)
            .ok_or_else(|| invalid_field(obj, &filter.field))?;
        for value in &filter.values {
            match records::lookup(&sim.world, obj, field, value) {
                Ok(Some(held)) => {
                    found.insert(held.index);
                }
                Ok(None) => {}
                Err(()) => {
                    return Err(SfError::malformed(format!(
                        "the simulator cannot filter {} on {}",
                        obj.name(),
                        filter.field
                    )))
                }
            }
        }
    }
    let mut found: Vec<u32> = found.into_iter().collect();
    if let Some(limit) = parsed.limit {
        found.truncate(limit);
    }
    let cursor = Cursor::Customers { obj, select, found };
    Ok(open_cursor(sim, version, cursor, batch))
}

/// The first page of a result set, with a cursor for the rest if there is more.
fn open_cursor(sim: &Sim, version: &str, cursor: Cursor, batch: usize) -> Value {
    if cursor.len() > batch {
        let (id, cursor) = sim.cursors.open(cursor);
        page(sim, version, &cursor, Some(&id), 0, batch)
    } else {
        page(sim, version, &cursor, None, 0, batch)
    }
}

/// The page a `nextRecordsUrl` locator (`01g…-2000`) names.
fn run_query_more(sim: &Sim, version: &str, locator: &str, batch: usize) -> Result<Value, SfError> {
    let (id, offset) = locator.rsplit_once('-').ok_or_else(invalid_locator)?;
    let offset: usize = offset.parse().map_err(|_| invalid_locator())?;
    let cursor = sim.cursors.get(id).ok_or_else(invalid_locator)?;
    if offset > cursor.len() {
        return Err(invalid_locator());
    }
    Ok(page(sim, version, &cursor, Some(id), offset, batch))
}

fn read_sobject(
    sim: &Sim,
    version: &str,
    sobject: &str,
    id: &str,
    fields: Option<&str>,
) -> Result<Value, SfError> {
    if wishlist::is_object(sobject) {
        return sim.wishlists.get_by_id(version, id);
    }
    let obj = Obj::parse(sobject).ok_or_else(SfError::not_found)?;
    let select = match fields {
        None => records::all_fields(obj),
        Some(list) => list
            .split(',')
            .map(|f| {
                FieldRef::resolve(obj, f.trim())
                    .filter(|r| matches!(r, FieldRef::Own(_)))
                    .ok_or_else(|| invalid_field(obj, f.trim()))
            })
            .collect::<Result<_, _>>()?,
    };
    let held = records::parse_id(obj, id)
        .and_then(|i| Held::get(&sim.world, i))
        .filter(|h| h.has(obj))
        .ok_or_else(SfError::not_found)?;
    Ok(held.record(obj, &select, version))
}

fn param(raw: Option<&str>, name: &str) -> Option<String> {
    url::form_urlencoded::parse(raw?.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// `GET /services/data/vXX.X/query?q=…`
pub(crate) async fn query(
    State(sim): State<Arc<Sim>>,
    Path(version): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Body {
    check_version(&version)?;
    let q = param(raw.as_deref(), "q")
        .ok_or_else(|| SfError::malformed("A query string has to be specified"))?;
    run_query(&sim, &version, &q, header_batch_size(&headers)).map(Json)
}

/// `GET /services/data/vXX.X/query/{locator}`
pub(crate) async fn query_more(
    State(sim): State<Arc<Sim>>,
    Path((version, locator)): Path<(String, String)>,
    headers: HeaderMap,
) -> Body {
    check_version(&version)?;
    run_query_more(&sim, &version, &locator, header_batch_size(&headers)).map(Json)
}

/// `GET /services/data/vXX.X/sobjects/{sobject}/{id}[?fields=…]`
pub(crate) async fn sobject(
    State(sim): State<Arc<Sim>>,
    Path((version, sobject, id)): Path<(String, String, String)>,
    RawQuery(raw): RawQuery,
) -> Body {
    check_version(&version)?;
    let fields = param(raw.as_deref(), "fields");
    read_sobject(&sim, &version, &sobject, &id, fields.as_deref()).map(Json)
}

/// Refuses writes to objects the simulator serves read-only, and unknown objects.
fn writable(sobject: &str) -> Result<(), SfError> {
    if wishlist::is_object(sobject) {
        Ok(())
    } else if let Some(obj) = Obj::parse(sobject) {
        Err(SfError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "METHOD_NOT_ALLOWED",
            format!(
                "the simulator serves {} read-only; it writes only {}",
                obj.name(),
                wishlist::OBJECT
            ),
        ))
    } else {
        Err(SfError::not_found())
    }
}

fn json_body(body: &Bytes) -> Result<Value, SfError> {
    serde_json::from_slice(body).map_err(|e| {
        SfError::new(
            StatusCode::BAD_REQUEST,
            "JSON_PARSER_ERROR",
            format!("Unexpected character in the request body: {e}"),
        )
    })
}

/// `POST /services/data/vXX.X/sobjects/{sobject}`: creates a record.
pub(crate) async fn create(
    State(sim): State<Arc<Sim>>,
    Path((version, sobject)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, SfError> {
    check_version(&version)?;
    writable(&sobject)?;
    let created = sim.wishlists.create(&sim.world, &json_body(&body)?)?;
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

/// `DELETE /services/data/vXX.X/sobjects/{sobject}/{id}`.
pub(crate) async fn delete_by_id(
    State(sim): State<Arc<Sim>>,
    Path((version, sobject, id)): Path<(String, String, String)>,
) -> Result<StatusCode, SfError> {
    check_version(&version)?;
    writable(&sobject)?;
    sim.wishlists.delete_by_id(&id)?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /services/data/vXX.X/sobjects/{sobject}/{field}/{value}`: a record by external id.
pub(crate) async fn by_external_id(
    State(sim): State<Arc<Sim>>,
    Path((version, sobject, field, value)): Path<(String, String, String, String)>,
) -> Body {
    check_version(&version)?;
    if !wishlist::is_object(&sobject) {
        return Err(SfError::not_found());
    }
    sim.wishlists.get_by_key(&version, &field, &value).map(Json)
}

/// `PATCH /services/data/vXX.X/sobjects/{sobject}/{field}/{value}`: upsert by external id.
pub(crate) async fn upsert(
    State(sim): State<Arc<Sim>>,
    Path((version, sobject, field, value)): Path<(String, String, String, String)>,
    body: Bytes,
) -> Result<Response, SfError> {
    check_version(&version)?;
    writable(&sobject)?;
    let body = json_body(&body)?;
    let (status, answer) = sim
        .wishlists
        .upsert(&sim.world, &version, &field, &value, &body)?;
    Ok(match answer {
        Some(v) => (status, Json(v)).into_response(),
        None => status.into_response(),
    })
}

/// `DELETE /services/data/vXX.X/sobjects/{sobject}/{field}/{value}`: delete by external id.
pub(crate) async fn delete_by_external_id(
    State(sim): State<Arc<Sim>>,
    Path((version, sobject, field, value)): Path<(String, String, String, String)>,
) -> Result<StatusCode, SfError> {
    check_version(&version)?;
    writable(&sobject)?;
    sim.wishlists.delete_by_key(&field, &value)?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CompositeRequest {
    #[serde(default)]
    all_or_none: bool,
    composite_request: Vec<Subrequest>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Subrequest {
    method: String,
    url: String,
    reference_id: String,
    #[serde(default)]
    http_headers: HashMap<String, String>,
}

fn is_query(url: &str) -> bool {
    let path = url.split('?').next().unwrap_or_default();
    path.split('/').nth(4).is_some_and(|r| r == "query")
}

/// One subrequest, by its path: `/services/data/vXX.X/<resource>`.
fn run_subrequest(sim: &Sim, sub: &Subrequest) -> Result<Value, SfError> {
    if sub.url.contains("@{") {
        return Err(SfError::new(
            StatusCode::BAD_REQUEST,
            "INVALID_INPUT",
            "references between subrequests are not simulated",
        ));
    }
    if !sub.method.eq_ignore_ascii_case("GET") {
        return Err(SfError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "METHOD_NOT_ALLOWED",
            format!(
                "HTTP Method '{}' not allowed (the simulator serves reads only)",
                sub.method
            ),
        ));
    }
    let (path, raw) = match sub.url.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (sub.url.as_str(), None),
    };
    let parts: Vec<&str> = path.split('/').collect();
    let batch = batch_size(
        sub.http_headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(crate::client::QUERY_OPTIONS_HEADER))
            .map(|(_, v)| v.as_str()),
    );
    match parts.as_slice() {
        ["", "services", "data", version, rest @ ..] => {
            check_version(version)?;
            match rest {
                ["query"] | ["query", ""] => {
                    let q = param(raw, "q")
                        .ok_or_else(|| SfError::malformed("A query string has to be specified"))?;
                    run_query(sim, version, &q, batch)
                }
                ["query", locator] => run_query_more(sim, version, locator, batch),
                ["sobjects", sobject, id] => {
                    read_sobject(sim, version, sobject, id, param(raw, "fields").as_deref())
                }
                _ => Err(SfError::not_found()),
            }
        }
        _ => Err(SfError::not_found()),
    }
}

/// `POST /services/data/vXX.X/composite`
pub(crate) async fn composite(
    State(sim): State<Arc<Sim>>,
    Path(version): Path<String>,
    body: Bytes,
) -> Body {
    check_version(&version)?;
    let request: CompositeRequest = serde_json::from_slice(&body)
        .map_err(|e| SfError::new(StatusCode::BAD_REQUEST, "JSON_PARSER_ERROR", e.to_string()))?;
    let subs = request.composite_request;
    let limit_error =
        |message: String| SfError::new(StatusCode::BAD_REQUEST, "LIMIT_EXCEEDED", message);
    if subs.is_empty() {
        return Err(SfError::new(
            StatusCode::BAD_REQUEST,
            "INVALID_INPUT",
            "compositeRequest must hold at least one subrequest",
        ));
    }
    if subs.len() > MAX_SUBREQUESTS {
        return Err(limit_error(format!(
            "A composite request can hold at most {MAX_SUBREQUESTS} subrequests; this one has {}",
            subs.len()
        )));
    }
    let queries = subs.iter().filter(|s| is_query(&s.url)).count();
    if queries > MAX_COMPOSITE_QUERIES {
        return Err(limit_error(format!(
            "A composite request can hold at most {MAX_COMPOSITE_QUERIES} query operations; this one has {queries}"
        )));
    }
    let mut references = HashSet::new();
    for s in &subs {
        let well_formed = !s.reference_id.is_empty()
            && s.reference_id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !well_formed || !references.insert(s.reference_id.as_str()) {
            return Err(SfError::new(
                StatusCode::BAD_REQUEST,
                "INVALID_INPUT",
                format!("Invalid or duplicate referenceId: {}", s.reference_id),
            ));
        }
    }
    let results: Vec<Result<Value, SfError>> =
        subs.iter().map(|s| run_subrequest(&sim, s)).collect();
    let failed = results.iter().any(Result::is_err);
    let halted = SfError::new(
        StatusCode::BAD_REQUEST,
        "PROCESSING_HALTED",
        "The transaction was rolled back since another operation in the same transaction failed.",
    );
    let answers: Vec<Value> = subs
        .iter()
        .zip(results)
        .map(|(s, r)| {
            let r = match r {
                Ok(_) if request.all_or_none && failed => Err(halted.clone()),
                other => other,
            };
            let (status, body) = match r {
                Ok(v) => (200, v),
                Err(e) => (e.status.as_u16(), e.body()),
            };
            json!({ "body": body, "httpHeaders": {}, "httpStatusCode": status, "referenceId": s.reference_id })
        })
        .collect();
    Ok(Json(json!({ "compositeResponse": answers })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_sizes_are_held_to_salesforces_bounds() {
        assert_eq!(batch_size(None), 2000);
        assert_eq!(batch_size(Some("batchSize=1000")), 1000);
        assert_eq!(batch_size(Some("batchSize=5")), 200);
        assert_eq!(batch_size(Some("batchSize=99999")), 2000);
        assert_eq!(batch_size(Some("junk")), 2000);
    }

    #[test]
    fn queries_are_told_from_other_subrequests() {
        assert!(is_query(
            "/services/data/v62.0/query?q=SELECT+Id+FROM+Contact"
        ));
        assert!(is_query(
            "/services/data/v62.0/query/01gSa0000000000001-200"
        ));
        assert!(!is_query("/services/data/v62.0/sobjects/Contact/003"));
    }

    #[test]
    fn versions_outside_the_served_range_are_not_found() {
        assert!(check_version("v62.0").is_ok());
        assert!(check_version("v37.0").is_err());
        assert!(check_version("62.0").is_err());
    }
}
