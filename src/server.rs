//! The HTTP server: GraphQL at `/graphql` (POST, and GET for queries and the IDE), `/health`
//! (the process is up) and `/ready` (connectors are wired). `serve` takes its listener and a
//! shutdown future, so tests and the demo run the same server in-process.
//!
//! `/graphql` follows the GraphQL-over-HTTP specification: the response media type is
//! negotiated from `Accept` (`application/graphql-response+json` or `application/json`, 406 when
//! neither is acceptable); with `application/graphql-response+json` a request that fails before
//! execution (parse, validation, variable coercion) is answered 400 without a `data` entry, with
//! `application/json` it is answered 200 (what legacy clients expect). The `graphql-http` audit
//! suite checks this in `tests/graphql_http.rs`. Reading the request (method, content type,
//! body, batches) is [`crate::intake`]; this module authenticates and runs what it read.

use crate::config::{Config, ContextDefaults};
use crate::gateway::Gateway;
use crate::graph::{self, loaders::Scope, CommerceSchema};
use crate::intake::{intake, Intake, Operations};
use async_graphql::http::GraphiQLSource;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use samlet_connector::context::{Caller, Channel, Currency, Locale, RequestContext};
use samlet_connector::ids::{CustomerGroup, LocationId};
use std::future::Future;
use std::sync::Arc;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;

/// Header naming the channel (`web`, `app`, `store`, `kiosk`, `pos`, `email`).
pub const CHANNEL_HEADER: &str = "samlet-channel";
/// Header naming the store code.
pub const STORE_HEADER: &str = "samlet-store";
/// Header naming the locale (else `Accept-Language`).
pub const LOCALE_HEADER: &str = "samlet-locale";
/// Header naming the currency.
pub const CURRENCY_HEADER: &str = "samlet-currency";
/// Header naming the customer group.
pub const CUSTOMER_GROUP_HEADER: &str = "samlet-customer-group";

#[derive(Clone)]
pub(crate) struct AppState {
    pub(crate) schema: CommerceSchema,
    pub(crate) gateway: Arc<Gateway>,
    ide: bool,
    auth: Option<Arc<crate::auth::Authenticator>>,
    /// The feeds behind subscriptions.
    pub(crate) hub: Arc<crate::realtime::Hub>,
    /// The request limits [`intake`] applies.
    server: Arc<crate::config::ServerConfig>,
    max_body_bytes: usize,
}

/// Everything the server needs, built once.
pub struct App {
    state: AppState,
    config: Config,
    /// Background work (connection probes), ended when the app is dropped.
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for App {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl App {
    /// Connects the configured connectors and builds the schema.
    pub fn new(config: Config) -> anyhow::Result<App> {
        let gateway = Arc::new(Gateway::connect(&config)?);
        let schema = graph::build_schema(&config.server, gateway.redis.clone());
        let auth = match &config.auth {
            Some(a) => Some(Arc::new(crate::auth::Authenticator::new(a)?)),
            None => None,
        };
        // Probing needs a runtime; `App::new` outside one (e.g. building a router in a unit
        // test) just skips it.
        let hub = crate::realtime::Hub::new(gateway.clone(), &config.realtime);
        let mut tasks = Vec::new();
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            if config.server.dashboard {
                tasks.push(rt.spawn(gateway.telemetry.clone().probe_loop()));
            }
            // Vendors validate the webhook URL while registering it: this runs beside serving.
            tasks.push(rt.spawn(hub.clone().register_webhooks()));
        }
        Ok(App {
            state: AppState {
                schema,
                gateway,
                ide: config.server.ide,
                auth,
                hub,
                server: Arc::new(config.server.clone()),
                max_body_bytes: config.server.max_body_bytes,
            },
            config,
            tasks,
        })
    }

    /// The router with its layers, outermost first.
    pub fn router(&self) -> Router {
        let mut router = Router::new()
            .route(
                "/graphql",
                get(crate::realtime::transport::get_or_upgrade)
                    .post(graphql_post)
                    // At most so many GraphQL requests at work at once; the others wait their
                    // turn (inside the request deadline). Probes and webhooks never queue.
                    .layer(tower::limit::GlobalConcurrencyLimitLayer::new(
                        self.config.server.max_concurrent_requests,
                    )),
            )
            .route("/health", get(|| async { "ok" }))
            .route("/ready", get(ready))
            .route(
                "/webhooks/{connector}",
                axum::routing::post(crate::realtime::webhooks::receive),
            );
        if self.config.server.dashboard {
            router = router.merge(crate::dashboard::routes());
        }
        router
            .with_state(self.state.clone())
            // Bound the work requests can cause: a deadline for the whole request...
            .layer(TimeoutLayer::with_status_code(
                StatusCode::GATEWAY_TIMEOUT,
                self.config.server.request_timeout,
            ))
            // ...and a cap on the body before it is read...
            .layer(RequestBodyLimitLayer::new(
                self.config.server.max_body_bytes,
            ))
            // ...whose refusal of a declared length is a GraphQL-shaped error too.
            .layer(axum::middleware::map_response(json_413))
    }
}

/// Serves `config` on `listener` until `shutdown` completes, then drains.
pub async fn serve(
    config: Config,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let app = App::new(config)?;
    let hub = app.state.hub.clone();
    axum::serve(listener, app.router())
        .with_graceful_shutdown(async move {
            shutdown.await;
            // Subscriptions end, so their event streams do not hold the drain open.
            hub.close();
        })
        .await?;
    Ok(())
}

fn header<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// The request context from headers, falling back to the configured defaults. A malformed
/// header is an error that names it.
pub fn request_context(
    h: &HeaderMap,
    defaults: &ContextDefaults,
) -> Result<RequestContext, String> {
    let channel = match header(h, CHANNEL_HEADER) {
        Some(v) => v
            .parse::<Channel>()
            .map_err(|e| format!("{CHANNEL_HEADER}: {e}"))?,
        None => defaults.channel,
    };
    let locale = match header(h, LOCALE_HEADER) {
        Some(v) => v
            .parse::<Locale>()
            .map_err(|e| format!("{LOCALE_HEADER}: {e}"))?,
        // The first Accept-Language tag that is a full locale, if any.
        None => header(h, "accept-language")
            .and_then(|v| {
                v.split(',')
                    .find_map(|t| t.split(';').next()?.trim().parse::<Locale>().ok())
            })
            .unwrap_or_else(|| defaults.locale.clone()),
    };
    let currency = match header(h, CURRENCY_HEADER) {
        Some(v) => v
            .parse::<Currency>()
            .map_err(|e| format!("{CURRENCY_HEADER}: {e}"))?,
        None => defaults.currency,
    };
    Ok(RequestContext {
        channel,
        store: header(h, STORE_HEADER).map(LocationId::new),
        locale,
        currency,
        customer_group: header(h, CUSTOMER_GROUP_HEADER).map(CustomerGroup::new),
        caller: Caller::Anonymous,
    })
}

/// A request refused before it runs: a GraphQL error body with `code` in the response's and
/// the error's extensions.
pub(crate) fn refuse(status: StatusCode, code: &'static str, msg: String) -> Response {
    let mut err = async_graphql::ServerError::new(msg, None);
    let mut ext = async_graphql::ErrorExtensionValues::default();
    ext.set("code", code);
    err.extensions = Some(ext);
    let mut resp = async_graphql::Response::from_errors(vec![err]);
    resp.extensions
        .insert("code".into(), async_graphql::Value::from(code));
    let mut out = render(resp, ResponseMedia::Json);
    *out.status_mut() = status;
    if status == StatusCode::UNAUTHORIZED {
        out.headers_mut().insert(
            axum::http::header::WWW_AUTHENTICATE,
            axum::http::HeaderValue::from_static("Bearer error=\"invalid_token\""),
        );
    }
    out
}

/// The caller a request's bearer token proves (anonymous without one), and what the caller
/// fixes in the context: a store associate's store, a customer's group. A customer group or
/// store the caller may not choose is refused.
async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    cx: &mut RequestContext,
) -> Result<(), Response> {
    authorize(state, headers, cx)
        .await
        .map_err(|r| refuse(r.status, r.code, r.message))
}

/// Why a caller was refused before anything ran.
pub(crate) struct Refusal {
    /// 401 or 403.
    pub(crate) status: StatusCode,
    /// The GraphQL error code.
    pub(crate) code: &'static str,
    /// What was wrong (never the token).
    pub(crate) message: String,
}

/// [`authenticate`] for transports that report refusals their own way (WebSocket).
pub(crate) async fn authorize(
    state: &AppState,
    headers: &HeaderMap,
    cx: &mut RequestContext,
) -> Result<(), Refusal> {
    let refuse = |status, code, message| Refusal {
        status,
        code,
        message,
    };
    let token = match header(headers, "authorization") {
        None => None,
        Some(v) => match v.split_once(' ') {
            Some((scheme, t)) if scheme.eq_ignore_ascii_case("bearer") => Some(t.trim()),
            _ => {
                return Err(refuse(
                    StatusCode::UNAUTHORIZED,
                    graph::errors::UNAUTHENTICATED,
                    "Authorization: only `Bearer <token>` is accepted".into(),
                ))
            }
        },
    };
    // The customer group a customer's token carries (anonymous callers have none).
    let mut token_group = None;
    if let Some(token) = token {
        let Some(auth) = &state.auth else {
            return Err(refuse(
                StatusCode::UNAUTHORIZED,
                graph::errors::UNAUTHENTICATED,
                "this gateway verifies no tokens ([auth] is not configured); send none".into(),
            ));
        };
        let id = auth.verify(token).await.map_err(|e| {
            refuse(
                StatusCode::UNAUTHORIZED,
                graph::errors::UNAUTHENTICATED,
                format!("bearer token rejected: {e}"),
            )
        })?;
        cx.caller = id.caller;
        token_group = id.customer_group;
    }
    let forbidden = |msg: String| Refusal {
        status: StatusCode::FORBIDDEN,
        code: graph::errors::FORBIDDEN,
        message: msg,
    };
    match &cx.caller {
        Caller::StoreAssociate { store, .. } => match &cx.store {
            Some(asked) if asked != store => {
                return Err(forbidden(format!(
                    "{STORE_HEADER}: a store associate of {store} cannot act in {asked}"
                )))
            }
            _ => cx.store = Some(store.clone()),
        },
        Caller::Anonymous | Caller::Customer(_) => {
            if let Some(asked) = header(headers, CUSTOMER_GROUP_HEADER) {
                if token_group.as_ref().map(|g| g.as_str()) != Some(asked) {
                    return Err(forbidden(format!(
                        "{CUSTOMER_GROUP_HEADER}: only a store associate or a service chooses the customer group; a customer's token carries theirs"
                    )));
                }
            }
            cx.customer_group = token_group;
        }
        Caller::Service(_) => {}
    }
    Ok(())
}

/// Runs what [`crate::intake::intake`] read inside the request's trace span (see
/// [`crate::trace`]); a subscription asked for as an event stream goes to the SSE transport.
async fn execute(state: &AppState, headers: &HeaderMap, intake: Intake) -> Response {
    use tracing::Instrument as _;
    if intake.stream {
        return match intake.operations {
            Operations::Single(req) => crate::realtime::transport::sse(state, headers, *req).await,
            Operations::Batch(_) => request_error(
                StatusCode::BAD_REQUEST,
                "a batch cannot be answered as an event stream; send one operation",
            ),
        };
    }
    let span = crate::trace::request_span();
    #[cfg(feature = "otel")]
    crate::otel::adopt(&span, headers);
    let out = execute_traced(state, headers, intake)
        .instrument(span.clone())
        .await;
    span.record(
        "http.response.status_code",
        i64::from(out.status().as_u16()),
    );
    if out.status().is_server_error() {
        span.record("otel.status_code", "ERROR");
    }
    out
}

/// The caller is authenticated once, then each operation runs in its own scope, limited and
/// authorised like a single request.
async fn execute_traced(state: &AppState, headers: &HeaderMap, intake: Intake) -> Response {
    let mut cx = match request_context(headers, &state.gateway.defaults) {
        Ok(cx) => cx,
        Err(msg) => {
            return refuse(StatusCode::BAD_REQUEST, graph::errors::BAD_USER_INPUT, msg);
        }
    };
    if let Err(refused) = authenticate(state, headers, &mut cx).await {
        return refused;
    }
    let media = intake.media;
    let ops = match intake.operations {
        Operations::Single(req) => return execute_one(state, headers, *req, cx, media).await,
        Operations::Batch(ops) => ops,
    };
    // A batch: one answer per operation, in order (never from or into the response cache).
    let mut answers = Vec::with_capacity(ops.len());
    for req in ops {
        let resp = run(state, req, cx.clone()).await;
        answers.push(response_body(&resp));
    }
    (
        StatusCode::OK,
        [(axum::http::header::CONTENT_TYPE, media.content_type())],
        serde_json::Value::Array(answers).to_string(),
    )
        .into_response()
}

/// Executes one operation in its own scope and records it.
async fn run(
    state: &AppState,
    req: async_graphql::Request,
    cx: RequestContext,
) -> async_graphql::Response {
    let channel = cx.channel;
    let scope = Scope::new(state.gateway.clone(), cx);
    let recognised = scope.recognised.clone();
    let stale = scope.stale.clone();
    let mut resp = state.schema.execute(req.data(scope)).await;
    graph::mark_stale(&mut resp, &stale);
    let recognised = std::mem::take(&mut *recognised.lock().unwrap_or_else(|e| e.into_inner()));
    state.gateway.telemetry.record_request(channel, &recognised);
    resp
}

async fn execute_one(
    state: &AppState,
    headers: &HeaderMap,
    req: async_graphql::Request,
    cx: RequestContext,
    media: ResponseMedia,
) -> Response {
    let channel = cx.channel;
    tracing::Span::current().record("samlet.channel", channel.as_str());
    // Anonymous catalogue answers may come whole from the response cache.
    let cache = state.gateway.caches.responses.as_ref();
    let cache_key =
        cache.and_then(|_| crate::response_cache::ResponseCache::key(headers, &req, &cx));
    if let (Some(c), Some(k)) = (cache, &cache_key) {
        let hit = c.get(k);
        tracing::Span::current().record(
            "samlet.response_cache",
            if hit.is_some() { "hit" } else { "miss" },
        );
        if let Some(hit) = hit {
            state.gateway.telemetry.record_request(channel, &[]);
            return hit.into_response();
        }
    }
    // Never a mutation's answer (parsed only on a miss).
    let cache_key = cache_key.filter(|_| !is_mutation(&req));
    let mutation = req
        .data
        .get(&std::any::TypeId::of::<graph::limits::Operation>())
        .and_then(|d| d.downcast_ref::<graph::limits::Operation>())
        .map(|op| op.is_mutation.clone());
    let resp = run(state, req, cx).await;
    let ran_mutation = mutation.is_some_and(|m| m.load(std::sync::atomic::Ordering::Relaxed));
    let shareable = resp.errors.is_empty() && !ran_mutation;
    let out = render(resp, media);
    match (cache, cache_key) {
        (Some(c), Some(k)) if shareable && out.status().is_success() => c.store(k, out).await,
        _ => out,
    }
}

/// The media type a GraphQL response is encoded in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseMedia {
    /// `application/graphql-response+json`: HTTP status codes carry request errors.
    GraphqlResponse,
    /// `application/json`: the legacy type; well-formed requests are answered 200.
    Json,
}

impl ResponseMedia {
    /// The `Content-Type` of a response in this media type.
    pub fn content_type(self) -> &'static str {
        match self {
            ResponseMedia::GraphqlResponse => "application/graphql-response+json; charset=utf-8",
            ResponseMedia::Json => "application/json; charset=utf-8",
        }
    }

    /// The most preferred supported type in `Accept` (`application/json` when there is no
    /// `Accept`, or for `*/*` and `application/*`); `None` when nothing listed is supported.
    pub fn negotiate(headers: &HeaderMap) -> Option<ResponseMedia> {
        let accept: Vec<&str> = headers
            .get_all(axum::http::header::ACCEPT)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        if accept.iter().all(|v| v.trim().is_empty()) {
            return Some(ResponseMedia::Json);
        }
        let mut best: Option<(f32, ResponseMedia)> = None;
        for range in accept.iter().flat_map(|v| v.split(',')) {
            let mut parts = range.split(';');
            let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = parts
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            let found = match media.as_str() {
                "application/graphql-response+json" => ResponseMedia::GraphqlResponse,
                "application/json" | "application/*" | "*/*" => ResponseMedia::Json,
                _ => continue,
            };
            // The first listed wins among equals.
            if q > 0.0 && best.is_none_or(|(bq, _)| q > bq) {
                best = Some((q, found));
            }
        }
        best.map(|(_, m)| m)
    }
}

/// Whether a response is a request error: nothing was executed (the document did not parse or
/// validate, variables did not coerce, a limit refused it), so no error has a field path.
fn is_request_error(resp: &async_graphql::Response) -> bool {
    resp.data == async_graphql::Value::Null
        && !resp.errors.is_empty()
        && resp.errors.iter().all(|e| e.path.is_empty())
}

/// A GraphQL response as JSON: without `data` when it is a request error.
fn response_body(resp: &async_graphql::Response) -> serde_json::Value {
    let mut body = serde_json::to_value(resp).unwrap_or_else(|_| serde_json::json!({}));
    if is_request_error(resp) {
        // No execution, so no `data` entry (GraphQL spec, "Response Format").
        if let Some(map) = body.as_object_mut() {
            map.remove("data");
        }
    }
    body
}

/// Encodes a GraphQL response in `media` with the status code the spec asks for.
fn render(resp: async_graphql::Response, media: ResponseMedia) -> Response {
    let status = if is_request_error(&resp) && media == ResponseMedia::GraphqlResponse {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let body = response_body(&resp);
    let mut out = (
        status,
        [(axum::http::header::CONTENT_TYPE, media.content_type())],
        body.to_string(),
    )
        .into_response();
    if resp.is_ok() {
        if let Some(value) = resp
            .cache_control
            .value()
            .and_then(|v| axum::http::HeaderValue::from_str(&v).ok())
        {
            out.headers_mut()
                .insert(axum::http::header::CACHE_CONTROL, value);
        }
    }
    out.headers_mut().extend(resp.http_headers);
    out
}

/// A request the server refuses before GraphQL sees it, as a GraphQL-shaped JSON error.
pub(crate) fn request_error(status: StatusCode, message: &str) -> Response {
    (
        status,
        [(
            axum::http::header::CONTENT_TYPE,
            ResponseMedia::Json.content_type(),
        )],
        serde_json::json!({ "errors": [{ "message": message }] }).to_string(),
    )
        .into_response()
}

/// Whether the operation a request would run is a mutation (by its text: a request naming a
/// persisted query by hash alone is checked once the schema resolved it, see
/// [`graph::limits::Operation`]).
pub(crate) fn is_mutation(req: &async_graphql::Request) -> bool {
    async_graphql::parser::parse_query(&req.query)
        .is_ok_and(|doc| graph::limits::runs_mutation(&doc, req.operation_name.as_deref()))
}

/// Turns the body limit's own 413 (a declared `Content-Length` over the limit) into the
/// GraphQL-shaped error every other refusal is.
async fn json_413(resp: Response) -> Response {
    let json = resp
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if resp.status() == StatusCode::PAYLOAD_TOO_LARGE && !json {
        return crate::intake::payload_too_large();
    }
    resp
}

async fn graphql_post(State(state): State<AppState>, req: axum::extract::Request) -> Response {
    let (parts, body) = req.into_parts();
    let limit = state.max_body_bytes;
    let body = match axum::body::to_bytes(body, limit).await {
        Ok(b) => b,
        Err(e) => {
            // The limit's error, however deep the body wrappers nest it.
            let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(&e);
            let mut too_large = false;
            while let Some(c) = cause {
                too_large |= c.is::<http_body_util::LengthLimitError>();
                cause = c.source();
            }
            return if too_large {
                crate::intake::payload_too_large()
            } else {
                request_error(
                    StatusCode::BAD_REQUEST,
                    &format!("the request body could not be read: {e}"),
                )
            };
        }
    };
    match intake(&parts.method, &parts.headers, None, &body, &state.server) {
        Ok(i) => execute(&state, &parts.headers, i).await,
        Err(refused) => *refused,
    }
}

pub(crate) async fn graphql_get(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: axum::http::Uri,
) -> Response {
    let query = uri.query().unwrap_or("");
    if query.is_empty() {
        return if state.ide {
            Html(
                GraphiQLSource::build()
                    .endpoint("/graphql")
                    // Subscriptions over WebSocket; the Headers tab goes into connection_init.
                    .subscription_endpoint("/graphql")
                    .title("Samlet")
                    .finish(),
            )
            .into_response()
        } else {
            (
                StatusCode::NOT_FOUND,
                "the GraphQL IDE is off; POST queries to /graphql",
            )
                .into_response()
        };
    }
    match intake(
        &axum::http::Method::GET,
        &headers,
        Some(query),
        &[],
        &state.server,
    ) {
        Ok(i) => execute(&state, &headers, i).await,
        Err(refused) => *refused,
    }
}

async fn ready(State(state): State<AppState>) -> impl IntoResponse {
    let connectors: Vec<_> = state
        .gateway
        .connectors
        .iter()
        .map(|c| {
            serde_json::json!({
                "name": c.name.as_str(),
                "kind": c.kind,
                "capabilities": c.capabilities().iter().map(|c| c.as_str()).collect::<Vec<_>>(),
            })
        })
        .collect();
    Json(serde_json::json!({ "status": "ready", "connectors": connectors }))
}
