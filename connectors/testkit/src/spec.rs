//! Checking a connector's traffic against its vendor's published API spec.
//!
//! - [`RecordingProxy`]: a reverse proxy (built on [`SimServer`]) that a test puts between a
//!   connector and its simulator (or a real server). It forwards every request as it came
//!   (method, path, query, headers including `Host`, body) and records each [`Exchange`]:
//!   method, path, query, request headers and body, status, response headers and body.
//! - [`OpenApi`]: an OpenAPI 3 or Swagger 2 document (as JSON; a YAML spec is parsed by the
//!   test and handed over as a `serde_json::Value`), with path-template matching
//!   (`/api/rest/v1/products/{code}`, OData's `/companies({company_id})/customers`), `$ref`
//!   resolution and the operation's parameters, request schema and response schemas.
//! - [`validate`]: a JSON-schema subset sufficient for these specs: `type` (and `nullable`,
//!   `x-nullable`), `enum`, `properties`, `required`, `additionalProperties`, `items`,
//!   `allOf`, `anyOf`, `oneOf` (as "at least one branch"), `minLength`/`maxLength`,
//!   `minimum`/`maximum`, `minItems`/`maxItems` and the formats `date-time`, `date` and `uuid`.
//!   Unknown keywords are ignored. Each [`Violation`] names the JSON pointer, what the schema
//!   expected and what the instance had.
//! - [`check`]: every recorded exchange against the spec: the method and path match an
//!   operation (or a documented [`Exception`]), required query and header parameters are
//!   present and every query value fits its parameter's schema, undeclared query parameters
//!   are reported, the request body validates against the request schema, and a 2xx response
//!   body validates against the schema the spec gives for that status.
//! - [`graphql`]: the same for GraphQL: every operation sent is valid against an introspection
//!   schema (fields, arguments, variable and literal types), and answers fit the selection.
//!
//! ```ignore
//! let proxy = RecordingProxy::start(&sim.base_url(), vendor_error).await?;
//! // ... drive the connector at proxy.base_url() ...
//! let spec = OpenApi::from_file("../../../shared/specs/akeneo/akeneo-web-api.json")?;
//! check(&spec, &proxy.exchanges(), &CheckOptions::default()).assert_clean();
//! ```

use crate::sim::{SimServer, VendorErrors};
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::header::{CONNECTION, CONTENT_LENGTH, TRANSFER_ENCODING};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Router;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::{Arc, Mutex};

pub mod graphql;

// ---------------------------------------------------------------------------------------------
// Recording.

/// One request the connector sent and the answer it got.
#[derive(Debug, Clone)]
pub struct Exchange {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The path, percent-encoded as sent, without the query.
    pub path: String,
    /// The raw query string (without `?`), empty if none.
    pub raw_query: String,
    /// Decoded query parameters in order.
    pub query: Vec<(String, String)>,
    /// Request headers, names in lower case.
    pub request_headers: Vec<(String, String)>,
    /// The request body (empty if none).
    pub request_body: Bytes,
    /// The answer's status.
    pub status: u16,
    /// Response headers, names in lower case.
    pub response_headers: Vec<(String, String)>,
    /// The answer's body.
    pub response_body: Bytes,
}

impl Exchange {
    /// `METHOD path`.
    pub fn route(&self) -> String {
        format!("{} {}", self.method, self.path)
    }

    /// The first request header named `name` (case-insensitive).
    pub fn request_header(&self, name: &str) -> Option<&str> {
        find_header(&self.request_headers, name)
    }

    /// The first response header named `name` (case-insensitive).
    pub fn response_header(&self, name: &str) -> Option<&str> {
        find_header(&self.response_headers, name)
    }

    /// The request body as JSON, if it is JSON.
    pub fn request_json(&self) -> Option<Value> {
        serde_json::from_slice(&self.request_body).ok()
    }

    /// The response body as JSON, if it is JSON.
    pub fn response_json(&self) -> Option<Value> {
        serde_json::from_slice(&self.response_body).ok()
    }
}

fn find_header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// The largest body the proxy forwards either way.
const MAX_BODY: usize = 64 << 20;

struct ProxyState {
    client: reqwest::Client,
    base: String,
    errors: VendorErrors,
    log: Arc<Mutex<Vec<Exchange>>>,
}

/// A recording reverse proxy in front of a simulator or server. Point the connector at
/// [`RecordingProxy::base_url`]; read what went through with [`RecordingProxy::exchanges`].
/// Its [`SimServer`] also counts requests and can inject faults (`proxy.server.control`):
/// injected faults answer before the proxy forwards, so they are not recorded.
#[derive(Debug)]
pub struct RecordingProxy {
    /// The proxy's own server.
    pub server: SimServer,
    log: Arc<Mutex<Vec<Exchange>>>,
}

impl RecordingProxy {
    /// Starts a proxy on a free loopback port forwarding to `target_base_url`; `errors` shapes
    /// the proxy's own error answers (an unreachable target) like the vendor's.
    pub async fn start(target_base_url: &str, errors: VendorErrors) -> std::io::Result<Self> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(std::io::Error::other)?;
        let log = Arc::new(Mutex::new(Vec::new()));
        let state = Arc::new(ProxyState {
            client,
            base: target_base_url.trim_end_matches('/').to_owned(),
            errors,
            log: log.clone(),
        });
        let router = Router::new().fallback(forward).with_state(state);
        let server = SimServer::start(router, errors, 0).await?;
        Ok(RecordingProxy { server, log })
    }

    /// `http://127.0.0.1:PORT` of the proxy.
    pub fn base_url(&self) -> String {
        self.server.base_url()
    }

    /// Every exchange recorded so far, in order.
    pub fn exchanges(&self) -> Vec<Exchange> {
        self.log.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Forgets what was recorded.
    pub fn clear(&self) {
        self.log.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    /// Stops the proxy.
    pub async fn stop(self) {
        self.server.stop().await;
    }
}

fn hop_by_hop(name: &axum::http::HeaderName) -> bool {
    name == CONTENT_LENGTH || name == TRANSFER_ENCODING || name == CONNECTION
}

fn header_pairs(headers: &axum::http::HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(n, v)| {
            (
                n.as_str().to_ascii_lowercase(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect()
}

async fn forward(State(state): State<Arc<ProxyState>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let body: Bytes = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(b) => b,
        Err(_) => return (state.errors)(StatusCode::PAYLOAD_TOO_LARGE, "request body too large"),
    };
    let path_and_query = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    // The Host header goes through as it came, so links the target builds from it (Akeneo's
    // `_links`, OData's `@odata.nextLink`) point back at the proxy.
    let mut upstream = state.client.request(
        parts.method.clone(),
        format!("{}{path_and_query}", state.base),
    );
    for (name, value) in parts.headers.iter().filter(|(n, _)| !hop_by_hop(n)) {
        upstream = upstream.header(name, value);
    }
    let answer = match upstream.body(body.clone()).send().await {
        Ok(a) => a,
        Err(_) => return (state.errors)(StatusCode::BAD_GATEWAY, "the target is unreachable"),
    };
    let status = answer.status();
    let headers = answer.headers().clone();
    let bytes = match answer.bytes().await {
        Ok(b) => b,
        Err(_) => return (state.errors)(StatusCode::BAD_GATEWAY, "the target broke off"),
    };
    let raw_query = parts.uri.query().unwrap_or("").to_owned();
    let exchange = Exchange {
        method: parts.method.as_str().to_owned(),
        path: parts.uri.path().to_owned(),
        query: parse_query(&raw_query),
        raw_query,
        request_headers: header_pairs(&parts.headers),
        request_body: body,
        status: status.as_u16(),
        response_headers: header_pairs(&headers),
        response_body: bytes.clone(),
    };
    state
        .log
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(exchange);
    let mut response = Response::new(Body::from(bytes));
    *response.status_mut() = status;
    for (name, value) in headers.iter().filter(|(n, _)| !hop_by_hop(n)) {
        response.headers_mut().append(name, value.clone());
    }
    response
}

/// Decodes an `application/x-www-form-urlencoded` string (a query or a form body).
pub fn parse_query(raw: &str) -> Vec<(String, String)> {
    raw.split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

/// Decodes `%XX` escapes and `+` (as a space).
pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

// ---------------------------------------------------------------------------------------------
// The spec document.

/// An OpenAPI 3 or Swagger 2 document.
#[derive(Debug, Clone)]
pub struct OpenApi {
    root: Value,
    swagger2: bool,
    /// (template, compiled) in document order.
    templates: Vec<(String, Vec<Piece>)>,
}

#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Literal(String),
    Param(String),
}

fn compile_template(template: &str) -> Vec<Piece> {
    let mut out = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        if start > 0 {
            out.push(Piece::Literal(rest[..start].to_owned()));
        }
        let Some(end) = rest[start..].find('}') else {
            out.push(Piece::Literal(rest[start..].to_owned()));
            return out;
        };
        out.push(Piece::Param(rest[start + 1..start + end].to_owned()));
        rest = &rest[start + end + 1..];
    }
    if !rest.is_empty() {
        out.push(Piece::Literal(rest.to_owned()));
    }
    out
}

/// Matches `path` against compiled pieces; a parameter matches one or more characters other
/// than `/`. Returns the parameters' values.
fn match_pieces(pieces: &[Piece], path: &str) -> Option<Vec<(String, String)>> {
    fn go(pieces: &[Piece], path: &str, out: &mut Vec<(String, String)>) -> bool {
        match pieces.first() {
            None => path.is_empty(),
            Some(Piece::Literal(l)) => {
                path.starts_with(l.as_str()) && go(&pieces[1..], &path[l.len()..], out)
            }
            Some(Piece::Param(name)) => {
                let limit = path.find('/').unwrap_or(path.len());
                // Shortest first, so a following literal such as `)` or `'` is found.
                for end in 1..=limit {
                    if !path.is_char_boundary(end) {
                        continue;
                    }
                    out.push((name.clone(), path[..end].to_owned()));
                    if go(&pieces[1..], &path[end..], out) {
                        return true;
                    }
                    out.pop();
                }
                false
            }
        }
    }
    let mut out = Vec::new();
    go(pieces, path, &mut out).then_some(out)
}

/// `(name, value)` of each path parameter.
type PathValues = Vec<(String, String)>;

/// One operation of the spec, with `$ref`s of its parameters resolved.
#[derive(Debug, Clone)]
pub struct Operation<'a> {
    /// The path template, e.g. `/api/rest/v1/products/{code}`.
    pub template: &'a str,
    /// Lower-case method.
    pub method: String,
    /// `operationId`, if any.
    pub operation_id: Option<&'a str>,
    /// Path-level and operation-level parameters (operation-level win), resolved.
    pub parameters: Vec<&'a Value>,
    /// The path parameters' values in the matched path.
    pub path_values: Vec<(String, String)>,
    op: &'a Value,
}

impl Operation<'_> {
    /// `METHOD template`.
    pub fn key(&self) -> String {
        format!("{} {}", self.method.to_uppercase(), self.template)
    }
}

impl OpenApi {
    /// Loads a JSON spec from a file.
    pub fn from_file(path: impl AsRef<std::path::Path>) -> Result<OpenApi, String> {
        let path = path.as_ref();
        let text = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let root: Value =
            serde_json::from_slice(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        OpenApi::from_value(root)
    }

    /// A spec from its parsed document.
    pub fn from_value(root: Value) -> Result<OpenApi, String> {
        let swagger2 = root.get("swagger").and_then(Value::as_str).is_some();
        if !swagger2 && root.get("openapi").and_then(Value::as_str).is_none() {
            return Err("neither `swagger` nor `openapi` at the top".into());
        }
        let paths = root
            .get("paths")
            .and_then(Value::as_object)
            .ok_or("no `paths`")?;
        let templates = paths
            .keys()
            .map(|t| (t.clone(), compile_template(t)))
            .collect();
        Ok(OpenApi {
            root,
            swagger2,
            templates,
        })
    }

    /// The whole document.
    pub fn root(&self) -> &Value {
        &self.root
    }

    /// Whether it is a Swagger 2.0 document.
    pub fn is_swagger2(&self) -> bool {
        self.swagger2
    }

    /// The schema at a local reference such as `#/components/schemas/customer`.
    pub fn pointer(&self, reference: &str) -> Option<&Value> {
        self.root.pointer(reference.strip_prefix('#')?)
    }

    /// Follows `$ref`s until a value without one.
    pub fn resolve<'a>(&'a self, mut v: &'a Value) -> &'a Value {
        for _ in 0..32 {
            match v.get("$ref").and_then(Value::as_str) {
                Some(r) => match self.pointer(r) {
                    Some(t) => v = t,
                    None => return v,
                },
                None => return v,
            }
        }
        v
    }

    /// Every `METHOD template` the spec declares.
    pub fn operations(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (template, item) in self.root["paths"].as_object().into_iter().flatten() {
            for method in item.as_object().into_iter().flat_map(|m| m.keys()) {
                if is_method(method) {
                    out.push(format!("{} {template}", method.to_uppercase()));
                }
            }
        }
        out
    }

    /// The operation for `method` and `path` (already stripped of the server's base path).
    /// When several templates match, the one with the most literal characters wins.
    pub fn find(&self, method: &str, path: &str) -> Option<Operation<'_>> {
        let method = method.to_ascii_lowercase();
        // (literal characters, template, path values) of the best match so far.
        let mut best: Option<(usize, &str, PathValues)> = None;
        for (template, pieces) in &self.templates {
            let item = &self.root["paths"][template.as_str()];
            if item.get(&method).is_none() {
                continue;
            }
            if let Some(values) = match_pieces(pieces, path) {
                let literal: usize = pieces
                    .iter()
                    .map(|p| match p {
                        Piece::Literal(l) => l.len(),
                        Piece::Param(_) => 0,
                    })
                    .sum();
                if best.as_ref().is_none_or(|(l, _, _)| literal > *l) {
                    best = Some((literal, template.as_str(), values));
                }
            }
        }
        let (_, template, path_values) = best?;
        let item = &self.root["paths"][template];
        let op = &item[method.as_str()];
        let mut parameters: Vec<&Value> = Vec::new();
        for list in [&op["parameters"], &item["parameters"]] {
            for p in list.as_array().into_iter().flatten() {
                let p = self.resolve(p);
                let (name, loc) = (&p["name"], &p["in"]);
                if !parameters
                    .iter()
                    .any(|q| &q["name"] == name && &q["in"] == loc)
                {
                    parameters.push(p);
                }
            }
        }
        Some(Operation {
            template,
            method,
            operation_id: op.get("operationId").and_then(Value::as_str),
            parameters,
            path_values,
            op,
        })
    }

    /// The schema for a parameter's value (Swagger 2 puts `type` on the parameter itself).
    pub fn parameter_schema<'a>(&'a self, p: &'a Value) -> &'a Value {
        match p.get("schema") {
            Some(s) => self.resolve(s),
            None => p,
        }
    }

    /// The JSON request-body schema of an operation, and whether a body is required.
    pub fn request_schema<'a>(&'a self, op: &Operation<'a>) -> Option<(&'a Value, bool)> {
        if self.swagger2 {
            let p = op.parameters.iter().find(|p| p["in"] == "body")?;
            return Some((p.get("schema")?, p["required"].as_bool().unwrap_or(false)));
        }
        let body = self.resolve(op.op.get("requestBody")?);
        let schema = json_media(&body["content"])?.get("schema")?;
        Some((schema, body["required"].as_bool().unwrap_or(false)))
    }

    /// The media types an operation's request body may have (OpenAPI 3 `content` keys, or
    /// Swagger 2 `consumes`).
    pub fn request_media_types(&self, op: &Operation<'_>) -> Vec<String> {
        if self.swagger2 {
            let list = op.op.get("consumes").or_else(|| self.root.get("consumes"));
            return strings(list);
        }
        op.op
            .get("requestBody")
            .map(|b| self.resolve(b))
            .and_then(|b| b["content"].as_object())
            .map(|c| c.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// The response object for `status` (exact, then `2XX`-style, then `default`).
    pub fn response<'a>(&'a self, op: &Operation<'a>, status: u16) -> Option<&'a Value> {
        let responses = op.op.get("responses")?;
        let exact = status.to_string();
        let range = format!("{}XX", status / 100);
        let r = responses
            .get(&exact)
            .or_else(|| responses.get(&range))
            .or_else(|| responses.get(range.to_lowercase()))
            .or_else(|| responses.get("default"))?;
        Some(self.resolve(r))
    }

    /// The JSON schema of the response for `status`, if the spec gives one.
    pub fn response_schema<'a>(&'a self, op: &Operation<'a>, status: u16) -> Option<&'a Value> {
        let r = self.response(op, status)?;
        if self.swagger2 {
            r.get("schema")
        } else {
            json_media(&r["content"])?.get("schema")
        }
    }
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect()
}

fn is_method(m: &str) -> bool {
    matches!(
        m,
        "get" | "put" | "post" | "delete" | "options" | "head" | "patch" | "trace"
    )
}

/// The `application/json`-like media entry of an OpenAPI 3 `content` map.
fn json_media(content: &Value) -> Option<&Value> {
    let map = content.as_object()?;
    map.get("application/json")
        .or_else(|| map.iter().find(|(k, _)| k.contains("json")).map(|(_, v)| v))
        .or_else(|| map.get("*/*"))
}

// ---------------------------------------------------------------------------------------------
// Schema validation.

/// One way an instance breaks its schema.
#[derive(Debug, Clone, PartialEq)]
pub struct Violation {
    /// JSON pointer into the instance, e.g. `/_embedded/items/3/values`.
    pub pointer: String,
    /// What the schema wants.
    pub expected: String,
    /// What the instance has.
    pub got: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = if self.pointer.is_empty() {
            "(root)"
        } else {
            &self.pointer
        };
        write!(f, "at {at}: expected {}, got {}", self.expected, self.got)
    }
}

/// Validates `instance` against `schema`, resolving `$ref`s in `spec`. Returns every
/// violation found (several per instance at most per keyword).
pub fn validate(spec: &OpenApi, schema: &Value, instance: &Value) -> Vec<Violation> {
    let mut out = Vec::new();
    validate_at(spec, schema, instance, &mut String::new(), &mut out, 0);
    out
}

fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.len() > 80 {
        let mut end = 77;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}...", &s[..end])
    } else {
        s
    }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn type_matches(ty: &str, v: &Value) -> bool {
    match ty {
        "null" => v.is_null(),
        "boolean" => v.is_boolean(),
        "integer" => match v {
            Value::Number(n) => {
                n.is_i64() || n.is_u64() || n.as_f64().is_some_and(|f| f.fract() == 0.0)
            }
            _ => false,
        },
        "number" => v.is_number(),
        "string" => v.is_string(),
        "array" => v.is_array(),
        "object" => v.is_object(),
        // `file` (Swagger 2) and unknown types: lenient.
        _ => true,
    }
}

fn escape_pointer(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

fn push(out: &mut Vec<Violation>, pointer: &str, expected: impl Into<String>, got: String) {
    out.push(Violation {
        pointer: pointer.to_owned(),
        expected: expected.into(),
        got,
    });
}

fn validate_at(
    spec: &OpenApi,
    schema: &Value,
    v: &Value,
    ptr: &mut String,
    out: &mut Vec<Violation>,
    depth: u32,
) {
    if depth > 64 {
        return;
    }
    let Some(obj) = schema.as_object() else {
        // `true`/`false` schemas.
        if schema == &Value::Bool(false) {
            push(out, ptr, "nothing (false schema)", short(v));
        }
        return;
    };
    if let Some(r) = obj.get("$ref").and_then(Value::as_str) {
        match spec.pointer(r) {
            Some(target) => {
                // A sibling `nullable: true` next to `$ref` (OpenAPI 3.0 in practice) allows null.
                if v.is_null() && nullable(obj) {
                    return;
                }
                validate_at(spec, target, v, ptr, out, depth + 1);
            }
            None => push(out, ptr, format!("a resolvable $ref {r}"), "none".into()),
        }
        return;
    }
    if v.is_null() && nullable(obj) {
        return;
    }
    for sub in obj
        .get("allOf")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        validate_at(spec, sub, v, ptr, out, depth + 1);
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(branches) = obj.get(key).and_then(Value::as_array) {
            let mut best: Option<Vec<Violation>> = None;
            for b in branches {
                let mut errs = Vec::new();
                validate_at(spec, b, v, &mut ptr.clone(), &mut errs, depth + 1);
                if errs.is_empty() {
                    best = None;
                    break;
                }
                if best.as_ref().is_none_or(|e| errs.len() < e.len()) {
                    best = Some(errs);
                }
            }
            if let Some(errs) = best {
                let first = errs.first().map(|e| e.to_string()).unwrap_or_default();
                push(
                    out,
                    ptr,
                    format!(
                        "one of {} alternatives ({key}); the closest fails {first}",
                        branches.len()
                    ),
                    short(v),
                );
            }
        }
    }
    if let Some(ty) = obj.get("type") {
        let types = match ty {
            Value::String(s) => vec![s.as_str()],
            Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        if !types.is_empty() && !types.iter().any(|t| type_matches(t, v)) {
            let got = if v.is_null() {
                "null (the schema is not nullable)".to_owned()
            } else {
                format!("{} {}", kind_of(v), short(v))
            };
            push(out, ptr, format!("type {}", types.join(" or ")), got);
            return;
        }
    }
    if let Some(allowed) = obj.get("enum").and_then(Value::as_array) {
        if !allowed.iter().any(|a| a == v) {
            let list: Vec<String> = allowed.iter().take(12).map(short).collect();
            push(out, ptr, format!("one of [{}]", list.join(", ")), short(v));
        }
    }
    match v {
        Value::String(s) => {
            let len = s.chars().count() as u64;
            if let Some(max) = obj.get("maxLength").and_then(Value::as_u64) {
                if len > max {
                    push(
                        out,
                        ptr,
                        format!("at most {max} characters"),
                        format!("{len}: {}", short(v)),
                    );
                }
            }
            if let Some(min) = obj.get("minLength").and_then(Value::as_u64) {
                if len < min {
                    push(
                        out,
                        ptr,
                        format!("at least {min} characters"),
                        format!("{len}: {}", short(v)),
                    );
                }
            }
            if let Some(format) = obj.get("format").and_then(Value::as_str) {
                if !format_ok(format, s) {
                    push(out, ptr, format!("format {format}"), short(v));
                }
            }
        }
        Value::Number(n) => {
            let x = n.as_f64().unwrap_or(0.0);
            if let Some(max) = obj.get("maximum").and_then(Value::as_f64) {
                if x > max {
                    push(out, ptr, format!("at most {max}"), n.to_string());
                }
            }
            if let Some(min) = obj.get("minimum").and_then(Value::as_f64) {
                if x < min {
                    push(out, ptr, format!("at least {min}"), n.to_string());
                }
            }
        }
        Value::Array(items) => {
            if let Some(max) = obj.get("maxItems").and_then(Value::as_u64) {
                if items.len() as u64 > max {
                    push(
                        out,
                        ptr,
                        format!("at most {max} items"),
                        items.len().to_string(),
                    );
                }
            }
            if let Some(min) = obj.get("minItems").and_then(Value::as_u64) {
                if (items.len() as u64) < min {
                    push(
                        out,
                        ptr,
                        format!("at least {min} items"),
                        items.len().to_string(),
                    );
                }
            }
            if let Some(item_schema) = obj.get("items") {
                for (i, item) in items.iter().enumerate() {
                    let len = ptr.len();
                    ptr.push_str(&format!("/{i}"));
                    validate_at(spec, item_schema, item, ptr, out, depth + 1);
                    ptr.truncate(len);
                }
            }
        }
        Value::Object(map) => {
            for req in obj
                .get("required")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(name) = req.as_str() {
                    if !map.contains_key(name) {
                        push(
                            out,
                            &format!("{ptr}/{}", escape_pointer(name)),
                            "a required property",
                            "none".into(),
                        );
                    }
                }
            }
            let props = obj.get("properties").and_then(Value::as_object);
            let additional = obj.get("additionalProperties");
            for (key, value) in map {
                let len = ptr.len();
                ptr.push('/');
                ptr.push_str(&escape_pointer(key));
                match (props.and_then(|p| p.get(key)), additional) {
                    (Some(s), _) => validate_at(spec, s, value, ptr, out, depth + 1),
                    (None, Some(Value::Bool(false))) => {
                        let known: Vec<&String> =
                            props.map(|p| p.keys().collect()).unwrap_or_default();
                        push(
                            out,
                            ptr,
                            format!("no property outside {known:?} (additionalProperties: false)"),
                            short(value),
                        );
                    }
                    (None, Some(s @ Value::Object(_))) => {
                        validate_at(spec, s, value, ptr, out, depth + 1)
                    }
                    _ => {}
                }
                ptr.truncate(len);
            }
        }
        _ => {}
    }
}

fn nullable(obj: &serde_json::Map<String, Value>) -> bool {
    obj.get("nullable") == Some(&Value::Bool(true))
        || obj.get("x-nullable") == Some(&Value::Bool(true))
        || obj
            .get("type")
            .and_then(Value::as_array)
            .is_some_and(|a| a.iter().any(|t| t == "null"))
}

fn all_digits(s: &str, n: usize) -> bool {
    s.len() == n && s.bytes().all(|b| b.is_ascii_digit())
}

fn date_ok(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() == 3
        && all_digits(parts[0], 4)
        && all_digits(parts[1], 2)
        && all_digits(parts[2], 2)
}

/// RFC 3339 `date-time`, `date` and `uuid`; other formats are not checked.
fn format_ok(format: &str, s: &str) -> bool {
    match format {
        "date" => date_ok(s),
        "date-time" => chrono::DateTime::parse_from_rfc3339(s).is_ok(),
        "uuid" => {
            let groups: Vec<&str> = s.split('-').collect();
            groups.len() == 5
                && groups
                    .iter()
                    .zip([8, 4, 4, 4, 12])
                    .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
        }
        _ => true,
    }
}

// ---------------------------------------------------------------------------------------------
// Checking exchanges.

/// A request the spec does not describe, allowed on purpose.
#[derive(Debug, Clone)]
pub struct Exception {
    /// The method, e.g. `GET`.
    pub method: &'static str,
    /// A path template in the spec's syntax (`{x}` matches one segment or part of one).
    pub path: &'static str,
    /// Why the spec cannot cover it.
    pub reason: &'static str,
}

/// Maps a recorded path to the spec's path (see [`CheckOptions::map_path`]).
pub type PathMap = Box<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// Rewrites a query value before it is checked (see [`CheckOptions::query_value`]).
pub type QueryRewrite = Box<dyn Fn(&str, &str) -> String + Send + Sync>;

/// How [`check`] reads the recorded traffic.
pub struct CheckOptions {
    /// Maps a recorded path to the spec's path (e.g. strips the server's base path);
    /// `None` means the request is outside the spec's API altogether (a violation unless an
    /// [`Exception`] covers it).
    pub map_path: PathMap,
    /// Requests the spec lacks, with reasons. An exception that matched nothing is reported
    /// by [`Report::unused_exceptions`].
    pub exceptions: Vec<Exception>,
    /// Query parameters allowed although the operation does not declare them, with reasons
    /// (name, reason).
    pub extra_query: Vec<(&'static str, &'static str)>,
    /// Rewrites a query value before it is checked against its parameter's schema,
    /// `(name, value) -> value` (e.g. to drop OData's nested `$expand` options).
    pub query_value: QueryRewrite,
    /// Validate 2xx response bodies.
    pub responses: bool,
    /// Also validate non-2xx bodies whose status the spec documents with a schema.
    pub error_responses: bool,
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions {
            map_path: Box::new(|p| Some(p.to_owned())),
            exceptions: Vec::new(),
            extra_query: Vec::new(),
            query_value: Box::new(|_, v| v.to_owned()),
            responses: true,
            error_responses: false,
        }
    }
}

/// What [`check`] found.
#[derive(Debug, Default)]
pub struct Report {
    /// `METHOD template` of each spec operation used, with how many exchanges.
    pub covered: BTreeMap<String, usize>,
    /// Exceptions used, by `METHOD path`, with how many exchanges.
    pub excepted: BTreeMap<String, usize>,
    /// Exchanges whose request body was validated.
    pub request_bodies_checked: usize,
    /// Exchanges whose response body was validated.
    pub response_bodies_checked: usize,
    /// Every problem, as `METHOD path (operation): message`.
    pub violations: Vec<String>,
    exceptions_declared: Vec<String>,
}

impl Report {
    /// Exceptions declared but never used (stale documentation).
    pub fn unused_exceptions(&self) -> Vec<String> {
        self.exceptions_declared
            .iter()
            .filter(|e| !self.excepted.contains_key(*e))
            .cloned()
            .collect()
    }

    /// Panics with every violation if there is any. Violations that differ only in array
    /// indexes and the offending value are grouped, with a count and one example.
    pub fn assert_clean(&self) {
        if self.violations.is_empty() {
            return;
        }
        let mut groups: BTreeMap<String, (usize, &str)> = BTreeMap::new();
        for v in &self.violations {
            let entry = groups.entry(group_key(v)).or_insert((0, v.as_str()));
            entry.0 += 1;
        }
        let lines: Vec<String> = groups
            .iter()
            .take(40)
            .map(|(key, (n, example))| {
                if *n > 1 {
                    format!("  {key}  (x{n}; e.g. {example})")
                } else {
                    format!("  {example}")
                }
            })
            .collect();
        panic!(
            "spec conformance: {} violation(s) of {} kind(s):\n{}{}",
            self.violations.len(),
            groups.len(),
            lines.join("\n"),
            if groups.len() > 40 { "\n  ..." } else { "" }
        );
    }

    /// A summary for the test log.
    pub fn summary(&self) -> String {
        let mut s = String::new();
        for (op, n) in &self.covered {
            s.push_str(&format!("  {op}: {n}\n"));
        }
        for (op, n) in &self.excepted {
            s.push_str(&format!("  (exception) {op}: {n}\n"));
        }
        s.push_str(&format!(
            "  request bodies validated: {}, response bodies validated: {}",
            self.request_bodies_checked, self.response_bodies_checked
        ));
        s
    }
}

/// A violation without array indexes (`/3/` becomes `/*/`) and without the value it got.
fn group_key(v: &str) -> String {
    let v = v.split(", got ").next().unwrap_or(v);
    let mut out = String::with_capacity(v.len());
    let mut rest = v;
    while let Some(i) = rest.find('/') {
        out.push_str(&rest[..=i]);
        rest = &rest[i + 1..];
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits > 0
            && rest[digits..]
                .chars()
                .next()
                .is_none_or(|c| c == '/' || c == ':' || c == ' ')
        {
            out.push('*');
            rest = &rest[digits..];
        }
    }
    out.push_str(rest);
    out
}

/// Calls `f` on every JSON object in `v`, depth first: for applying documented errata to a
/// published spec before checking against it.
pub fn for_each_object_mut(v: &mut Value, f: &mut dyn FnMut(&mut serde_json::Map<String, Value>)) {
    match v {
        Value::Object(map) => {
            f(map);
            for child in map.values_mut() {
                for_each_object_mut(child, f);
            }
        }
        Value::Array(items) => {
            for child in items {
                for_each_object_mut(child, f);
            }
        }
        _ => {}
    }
}

/// Turns a query or header string into the JSON value its parameter schema describes, for
/// validation: integers, numbers and booleans are parsed, arrays split at commas.
fn coerce(spec: &OpenApi, schema: &Value, raw: &str) -> Value {
    let schema = spec.resolve(schema);
    let ty = schema.get("type").and_then(Value::as_str).or_else(|| {
        // A `oneOf`/`anyOf` of scalars: take the first branch's type.
        ["oneOf", "anyOf"].iter().find_map(|k| {
            schema
                .get(*k)?
                .as_array()?
                .iter()
                .find_map(|b| spec.resolve(b)["type"].as_str())
        })
    });
    match ty {
        Some("integer") => raw
            .parse::<i64>()
            .map(Value::from)
            .unwrap_or_else(|_| Value::String(raw.to_owned())),
        Some("number") => raw
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number)
            .unwrap_or_else(|| Value::String(raw.to_owned())),
        Some("boolean") => match raw {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => Value::String(raw.to_owned()),
        },
        Some("array") => {
            let items = schema.get("items").cloned().unwrap_or(Value::Null);
            Value::Array(
                raw.split(',')
                    .map(|part| coerce(spec, &items, part))
                    .collect(),
            )
        }
        _ => Value::String(raw.to_owned()),
    }
}

/// Checks every exchange against `spec` (see the module docs for what is checked).
pub fn check(spec: &OpenApi, exchanges: &[Exchange], options: &CheckOptions) -> Report {
    let mut report = Report {
        exceptions_declared: options
            .exceptions
            .iter()
            .map(|e| format!("{} {}", e.method, e.path))
            .collect(),
        ..Report::default()
    };
    let exceptions: Vec<(&Exception, Vec<Piece>)> = options
        .exceptions
        .iter()
        .map(|e| (e, compile_template(e.path)))
        .collect();
    for x in exchanges {
        let excepted = exceptions.iter().find(|(e, pieces)| {
            e.method.eq_ignore_ascii_case(&x.method) && match_pieces(pieces, &x.path).is_some()
        });
        if let Some((e, _)) = excepted {
            *report
                .excepted
                .entry(format!("{} {}", e.method, e.path))
                .or_default() += 1;
            continue;
        }
        let Some(mapped) = (options.map_path)(&x.path) else {
            report.violations.push(format!(
                "{}: outside the spec's API and not a documented exception",
                x.route()
            ));
            continue;
        };
        let Some(op) = spec.find(&x.method, &mapped) else {
            report.violations.push(format!(
                "{} (as {mapped}): no operation in the spec and not a documented exception",
                x.route()
            ));
            continue;
        };
        *report.covered.entry(op.key()).or_default() += 1;
        let at = format!("{} ({})", x.route(), op.key());
        check_parameters(spec, &op, x, options, &at, &mut report.violations);
        check_request_body(spec, &op, x, &at, &mut report);
        let success = (200..300).contains(&x.status);
        if options.responses && (success || options.error_responses) {
            check_response(spec, &op, x, &at, success, &mut report);
        }
    }
    report
}

fn check_parameters(
    spec: &OpenApi,
    op: &Operation<'_>,
    x: &Exchange,
    options: &CheckOptions,
    at: &str,
    violations: &mut Vec<String>,
) {
    let mut declared_query = BTreeSet::new();
    for p in &op.parameters {
        let name = p["name"].as_str().unwrap_or("");
        let required = p["required"].as_bool().unwrap_or(false);
        let schema = spec.parameter_schema(p);
        match p["in"].as_str() {
            Some("query") => {
                declared_query.insert(name);
                let values: Vec<&String> = x
                    .query
                    .iter()
                    .filter(|(k, _)| k == name)
                    .map(|(_, v)| v)
                    .collect();
                if required && values.is_empty() {
                    violations.push(format!(
                        "{at}: required query parameter `{name}` is missing"
                    ));
                }
                for raw in values {
                    let raw = (options.query_value)(name, raw);
                    for v in validate(spec, schema, &coerce(spec, schema, &raw)) {
                        violations.push(format!("{at}: query parameter `{name}`={raw:?} {v}"));
                    }
                }
            }
            Some("header") => {
                let value = x.request_header(name);
                // Authorization is usually a security scheme; a declared header is checked.
                if required && value.is_none() {
                    violations.push(format!("{at}: required header `{name}` is missing"));
                }
                if let Some(raw) = value {
                    for v in validate(spec, schema, &coerce(spec, schema, raw)) {
                        violations.push(format!("{at}: header `{name}`={raw:?} {v}"));
                    }
                }
            }
            Some("path") => {
                if let Some((_, raw)) = op.path_values.iter().find(|(k, _)| k == name) {
                    let raw = percent_decode(raw);
                    for v in validate(spec, schema, &coerce(spec, schema, &raw)) {
                        violations.push(format!("{at}: path parameter `{name}`={raw:?} {v}"));
                    }
                }
            }
            _ => {}
        }
    }
    let mut undeclared = BTreeSet::new();
    for (k, _) in &x.query {
        if !declared_query.contains(k.as_str()) && !options.extra_query.iter().any(|(n, _)| n == k)
        {
            undeclared.insert(k.as_str());
        }
    }
    for k in undeclared {
        violations.push(format!(
            "{at}: query parameter `{k}` is not declared by the operation"
        ));
    }
}

fn check_request_body(
    spec: &OpenApi,
    op: &Operation<'_>,
    x: &Exchange,
    at: &str,
    report: &mut Report,
) {
    let schema = spec.request_schema(op);
    let has_body = !x.request_body.is_empty();
    match (schema, has_body) {
        (Some((_, true)), false) => report.violations.push(format!(
            "{at}: the operation requires a request body; none sent"
        )),
        (None, true) => {
            let media = spec.request_media_types(op);
            let sent = x.request_header("content-type").unwrap_or("");
            let base = sent.split(';').next().unwrap_or("").trim();
            if !media.iter().any(|m| m == base) {
                report.violations.push(format!(
                    "{at}: a request body ({sent}) the operation does not describe (it takes {media:?})"
                ));
            }
        }
        (Some((schema, _)), true) => {
            let Some(body) = x.request_json() else {
                report.violations.push(format!(
                    "{at}: the request body is not JSON: {}",
                    String::from_utf8_lossy(&x.request_body[..x.request_body.len().min(80)])
                ));
                return;
            };
            report.request_bodies_checked += 1;
            for v in validate(spec, schema, &body) {
                report.violations.push(format!("{at}: request body {v}"));
            }
        }
        (Some((_, false)), false) | (None, false) => {}
    }
}

fn check_response(
    spec: &OpenApi,
    op: &Operation<'_>,
    x: &Exchange,
    at: &str,
    success: bool,
    report: &mut Report,
) {
    if spec.response(op, x.status).is_none() {
        if success {
            report
                .violations
                .push(format!("{at}: status {} is not documented", x.status));
        }
        return;
    }
    let Some(schema) = spec.response_schema(op, x.status) else {
        return;
    };
    let Some(body) = x.response_json() else {
        report
            .violations
            .push(format!("{at}: the {} response body is not JSON", x.status));
        return;
    };
    report.response_bodies_checked += 1;
    for v in validate(spec, schema, &body) {
        report
            .violations
            .push(format!("{at}: {} response body {v}", x.status));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec() -> OpenApi {
        OpenApi::from_value(json!({
            "openapi": "3.0.2",
            "paths": {
                "/api/items/{code}": {"get": {
                    "parameters": [
                        {"name": "revision", "in": "header", "required": true, "schema": {"type": "string"}},
                        {"name": "page[size]", "in": "query", "schema": {"type": "integer", "maximum": 100}},
                        {"name": "fields", "in": "query", "schema": {"type": "array", "items": {"type": "string", "enum": ["a", "b"]}}}
                    ],
                    "responses": {"200": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Item"}}}}}
                }},
                "/companies({company_id})/customers('{id}')": {"get": {"responses": {"200": {}}}},
                "/api/items/special": {"get": {"responses": {"200": {}}}}
            },
            "components": {"schemas": {"Item": {
                "type": "object", "required": ["id"], "additionalProperties": false,
                "properties": {
                    "id": {"type": "string", "format": "uuid"},
                    "n": {"type": "integer", "nullable": true},
                    "tags": {"type": "array", "items": {"enum": ["x", "y"]}},
                    "kind": {"oneOf": [{"type": "string"}, {"type": "integer"}]}
                }
            }}}
        }))
        .expect("a spec")
    }

    #[test]
    fn templates_match_segments_and_odata_keys() {
        let s = spec();
        let op = s.find("GET", "/api/items/P1").expect("matches");
        assert_eq!(op.template, "/api/items/{code}");
        assert_eq!(op.path_values, vec![("code".into(), "P1".into())]);
        assert_eq!(
            s.find("get", "/api/items/special").unwrap().template,
            "/api/items/special"
        );
        assert!(s.find("GET", "/api/items/a/b").is_none());
        assert!(s.find("POST", "/api/items/P1").is_none());
        let op = s
            .find("GET", "/companies(abc-1)/customers('C1')")
            .expect("odata");
        assert_eq!(op.path_values[1], ("id".into(), "C1".into()));
    }

    #[test]
    fn the_validator_reports_pointers() {
        let s = spec();
        let schema = json!({"$ref": "#/components/schemas/Item"});
        assert!(validate(
            &s,
            &schema,
            &json!({"id": "0b6e1c1a-3f3e-4b8e-9c1a-1a2b3c4d5e6f", "n": null, "kind": 3})
        )
        .is_empty());
        let v = validate(
            &s,
            &schema,
            &json!({"n": 1.5, "tags": ["x", "z"], "extra": 1, "kind": []}),
        );
        let pointers: Vec<&str> = v.iter().map(|v| v.pointer.as_str()).collect();
        assert!(pointers.contains(&"/id"), "{v:?}");
        assert!(pointers.contains(&"/n"), "{v:?}");
        assert!(pointers.contains(&"/tags/1"), "{v:?}");
        assert!(pointers.contains(&"/extra"), "{v:?}");
        assert!(pointers.contains(&"/kind"), "{v:?}");
        let v = validate(&s, &schema, &json!({"id": "not-a-uuid"}));
        assert_eq!(v[0].expected, "format uuid");
    }

    fn exchange(
        path: &str,
        query: &str,
        headers: &[(&str, &str)],
        status: u16,
        body: &str,
    ) -> Exchange {
        Exchange {
            method: "GET".into(),
            path: path.into(),
            raw_query: query.into(),
            query: parse_query(query),
            request_headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            request_body: Bytes::new(),
            status,
            response_headers: vec![],
            response_body: Bytes::from(body.to_owned()),
        }
    }

    #[test]
    fn check_finds_missing_headers_bad_queries_and_bad_bodies() {
        let s = spec();
        let good = exchange(
            "/api/items/P1",
            "page%5Bsize%5D=10&fields=a,b",
            &[("revision", "2026-07-15")],
            200,
            r#"{"id":"0b6e1c1a-3f3e-4b8e-9c1a-1a2b3c4d5e6f"}"#,
        );
        let r = check(&s, &[good], &CheckOptions::default());
        assert!(r.violations.is_empty(), "{:?}", r.violations);
        assert_eq!(r.covered["GET /api/items/{code}"], 1);
        let bad = exchange(
            "/api/items/P1",
            "page[size]=500&fields=c&x=1",
            &[],
            200,
            r#"{"id":1}"#,
        );
        let unknown = exchange("/api/other", "", &[], 200, "{}");
        let r = check(&s, &[bad, unknown], &CheckOptions::default());
        let all = r.violations.join("\n");
        for needle in [
            "required header `revision` is missing",
            "`page[size]`=\"500\" at (root): expected at most 100",
            "`fields`=\"c\" at /0",
            "`x` is not declared",
            "200 response body at /id: expected type string, got integer 1",
            "GET /api/other (as /api/other): no operation",
        ] {
            assert!(all.contains(needle), "{needle} not in\n{all}");
        }
        let options = CheckOptions {
            exceptions: vec![Exception {
                method: "GET",
                path: "/api/other",
                reason: "test",
            }],
            ..CheckOptions::default()
        };
        let r = check(&s, &[exchange("/api/other", "", &[], 200, "{}")], &options);
        assert!(r.violations.is_empty());
        assert!(r.unused_exceptions().is_empty());
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("a%20b+c%5B%5D"), "a b c[]");
        assert_eq!(percent_decode("100%"), "100%");
    }
}
