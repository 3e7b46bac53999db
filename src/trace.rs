//! Trace spans of the gateway's own work, and the `[telemetry]` settings that export them.
//!
//! Three kinds of span make a request's trace:
//! - `graphql.request`, one per request to `/graphql` (`otel.kind` server): the operation's type
//!   and name, the channel, whether the whole answer came from the response cache, the HTTP
//!   status. Never the query text, variables, tokens or who the caller is.
//! - `capability`, one per capability load (one DataLoader batch, or one direct call): the
//!   capability, the connector serving it, how many keys, and what the shared cache made of
//!   them (`hit`, `stale`, `miss`, or `off`).
//! - `upstream`, one per upstream HTTP call, opened by `samlet_connector::http::Upstream` (see
//!   `samlet_connector::trace`): connector, capability, cache, retries, breaker state, method,
//!   host and HTTP status.
//!
//! The spans are plain `tracing` spans under the targets [`SPAN_TARGET`] and
//! `samlet_connector::trace::SPAN_TARGET`. With the `otel` feature and an OTLP endpoint
//! configured, `crate::otel` exports them and propagates W3C `traceparent` both ways, and JSON
//! log lines carry their fields (the trace id among them). Without an exporter the binary turns
//! those targets off unless `RUST_LOG` names them, so a request pays nothing for its spans.

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextExecute, NextParseQuery,
};
use async_graphql::parser::types::{DocumentOperations, ExecutableDocument, OperationType};
use async_graphql::{ServerResult, Variables};
use samlet_connector::capability::Capability;
use samlet_connector::ids::ConnectorName;
use samlet_connector::trace::{tagged, CallTags};
use serde::Deserialize;
use std::future::Future;
use std::sync::{Arc, Mutex};
use tracing::field::Empty;
use tracing::{Instrument as _, Span};

/// The `tracing` target of the gateway's request and capability spans (`RUST_LOG` can name it;
/// without an exporter the binary turns it off by default).
pub const SPAN_TARGET: &str = "samlet::span";

/// `[telemetry]`: where traces go.
#[derive(Debug, Clone, PartialEq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct TelemetryConfig {
    /// The OTLP/HTTP collector, e.g. `"http://otel-collector:4318"`: spans are sent as protobuf
    /// to `<endpoint>/v1/traces`. Without it the environment's `OTEL_EXPORTER_OTLP_ENDPOINT`
    /// (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, the whole URL) is used; without either,
    /// nothing is exported.
    pub otlp_endpoint: Option<String>,
    /// The `service.name` traces carry (else `OTEL_SERVICE_NAME`, else `samlet`).
    pub service_name: Option<String>,
    /// The share of new traces recorded, 0.0 to 1.0. A request that continues a caller's
    /// trace (`traceparent`) follows the caller's sampling decision instead.
    pub sampling_ratio: f64,
}

impl Default for TelemetryConfig {
    fn default() -> Self {
        TelemetryConfig {
            otlp_endpoint: None,
            service_name: None,
            sampling_ratio: 1.0,
        }
    }
}

/// Where and how traces are exported, once the file and the environment are read.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceExport {
    /// The full URL spans are POSTed to (`.../v1/traces`).
    pub traces_url: String,
    /// `service.name`.
    pub service_name: String,
    /// Share of new traces recorded.
    pub sampling_ratio: f64,
}

fn checked_url(url: &str) -> Result<(), String> {
    match url::Url::parse(url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => Ok(()),
        Ok(_) => Err(format!(
            "`{url}` is not an http(s) URL; write e.g. \"http://otel-collector:4318\""
        )),
        Err(e) => Err(format!(
            "`{url}` is not a URL ({e}); write e.g. \"http://otel-collector:4318\""
        )),
    }
}

impl TelemetryConfig {
    /// Problems with the section, each with its key path.
    pub fn problems(&self) -> Vec<(Vec<String>, String)> {
        let at = |k: &str| vec!["telemetry".to_owned(), k.to_owned()];
        let mut out = Vec::new();
        if let Some(e) = &self.otlp_endpoint {
            if let Err(msg) = checked_url(e) {
                out.push((at("otlp_endpoint"), msg));
            }
        }
        if !(0.0..=1.0).contains(&self.sampling_ratio) {
            out.push((
                at("sampling_ratio"),
                "write a share from 0.0 (none) to 1.0 (every new trace)".to_owned(),
            ));
        }
        if self
            .service_name
            .as_deref()
            .is_some_and(|s| s.trim().is_empty())
        {
            out.push((
                at("service_name"),
                "name the service, e.g. \"samlet\", or leave the key out".to_owned(),
            ));
        }
        out
    }

    /// Where traces go: the file's endpoint, else the standard OTel environment variables read
    /// through `env`; `None` when neither names one. An unusable URL in the environment is an
    /// error naming the variable.
    pub fn export(
        &self,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Option<TraceExport>, String> {
        let non_empty = |k: &str| env(k).filter(|v| !v.trim().is_empty());
        let traces_url = match &self.otlp_endpoint {
            Some(base) => format!("{}/v1/traces", base.trim_end_matches('/')),
            None => match (
                non_empty("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"),
                non_empty("OTEL_EXPORTER_OTLP_ENDPOINT"),
            ) {
                (Some(full), _) => {
                    checked_url(full.trim())
                        .map_err(|e| format!("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: {e}"))?;
                    full.trim().to_owned()
                }
                (None, Some(base)) => {
                    checked_url(base.trim())
                        .map_err(|e| format!("OTEL_EXPORTER_OTLP_ENDPOINT: {e}"))?;
                    format!("{}/v1/traces", base.trim().trim_end_matches('/'))
                }
                (None, None) => return Ok(None),
            },
        };
        let service_name = self
            .service_name
            .clone()
            .or_else(|| non_empty("OTEL_SERVICE_NAME"))
            .unwrap_or_else(|| "samlet".to_owned());
        Ok(Some(TraceExport {
            traces_url,
            service_name,
            sampling_ratio: self.sampling_ratio,
        }))
    }
}

/// The span of one GraphQL request. Its fields are filled in as the request goes (see
/// [`OperationNames`] and `server::execute`).
pub fn request_span() -> Span {
    tracing::info_span!(
        target: SPAN_TARGET,
        "graphql.request",
        otel.name = "graphql",
        otel.kind = "server",
        otel.status_code = Empty,
        samlet.channel = Empty,
        graphql.operation.type = Empty,
        graphql.operation.name = Empty,
        samlet.response_cache = Empty,
        http.response.status_code = Empty,
        trace_id = Empty,
    )
}

/// Runs one capability load inside its `capability` span, with the capability told to the
/// upstream calls it makes. The cache records what it made of the keys on this span.
pub async fn load<F: Future>(
    capability: Capability,
    connector: Option<&ConnectorName>,
    keys: usize,
    fut: F,
) -> F::Output {
    let span = tracing::info_span!(
        target: SPAN_TARGET,
        "capability",
        otel.name = %format_args!("load {}", capability.as_str()),
        samlet.capability = capability.as_str(),
        samlet.connector = connector.map(|c| c.as_str()),
        samlet.keys = keys as i64,
        samlet.cache = Empty,
        samlet.cache.hits = Empty,
        samlet.cache.misses = Empty,
    );
    let tags = CallTags {
        capability: Some(capability),
        cache: None,
    };
    tagged(tags, fut).instrument(span).await
}

/// One direct capability call (a write, or a read outside the loaders) inside its
/// `capability` span, like [`load`] with one key.
pub async fn call<F: Future>(
    capability: Capability,
    connector: &ConnectorName,
    fut: F,
) -> F::Output {
    load(capability, Some(connector), 1, fut).await
}

/// Records what the cache made of one load's keys on the current (`capability`) span.
pub(crate) fn record_cache(enabled: bool, hits: usize, stale: usize, misses: usize) {
    let span = Span::current();
    if span.is_disabled() {
        return;
    }
    let result = if !enabled {
        "off"
    } else if misses > 0 {
        "miss"
    } else if stale > 0 {
        "stale"
    } else {
        "hit"
    };
    span.record("samlet.cache", result);
    span.record("samlet.cache.hits", (hits + stale) as i64);
    span.record("samlet.cache.misses", misses as i64);
}

/// An async-graphql extension that names the request span after the operation it runs
/// (`query ProductPage`), from the parsed document: the query text is never recorded.
pub struct OperationNames;

impl ExtensionFactory for OperationNames {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(OperationNamesExtension::default())
    }
}

#[derive(Default)]
struct OperationNamesExtension {
    /// The document's operations: name (none for an anonymous one) and type.
    ops: Mutex<Vec<(Option<String>, &'static str)>>,
}

fn type_name(t: OperationType) -> &'static str {
    match t {
        OperationType::Query => "query",
        OperationType::Mutation => "mutation",
        OperationType::Subscription => "subscription",
    }
}

fn name_span(span: &Span, name: Option<&str>, ty: &str) {
    span.record("graphql.operation.type", ty);
    if let Some(n) = name {
        span.record("graphql.operation.name", n);
    }
    // The exported span is named like the operation (`query ProductPage`).
    #[cfg(feature = "otel")]
    crate::otel::rename(
        span,
        match name {
            Some(n) => format!("{ty} {n}"),
            None => ty.to_owned(),
        },
    );
}

#[async_trait::async_trait]
impl Extension for OperationNamesExtension {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let doc = next.run(ctx, query, variables).await?;
        let ops: Vec<(Option<String>, &'static str)> = match &doc.operations {
            DocumentOperations::Single(op) => vec![(None, type_name(op.node.ty))],
            DocumentOperations::Multiple(ops) => ops
                .iter()
                .map(|(n, op)| (Some(n.to_string()), type_name(op.node.ty)))
                .collect(),
        };
        if let [(name, ty)] = ops.as_slice() {
            name_span(&Span::current(), name.as_deref(), ty);
        }
        *self.ops.lock().unwrap_or_else(|e| e.into_inner()) = ops;
        Ok(doc)
    }

    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> async_graphql::Response {
        if let Some(asked) = operation_name {
            let ops = self.ops.lock().unwrap_or_else(|e| e.into_inner()).clone();
            if ops.len() > 1 {
                if let Some((_, ty)) = ops.iter().find(|(n, _)| n.as_deref() == Some(asked)) {
                    name_span(&Span::current(), Some(asked), ty);
                }
            }
        }
        next.run(ctx, operation_name).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_wins_over_the_environment_and_bad_urls_say_where() {
        let env = |k: &str| match k {
            "OTEL_EXPORTER_OTLP_ENDPOINT" => Some("http://collector:4318/".to_owned()),
            "OTEL_SERVICE_NAME" => Some("from-env".to_owned()),
            _ => None,
        };
        let none = |_: &str| None;
        let default = TelemetryConfig::default();
        assert_eq!(default.export(&none).unwrap(), None);
        let from_env = default.export(&env).unwrap().unwrap();
        assert_eq!(from_env.traces_url, "http://collector:4318/v1/traces");
        assert_eq!(from_env.service_name, "from-env");
        let file = TelemetryConfig {
            otlp_endpoint: Some("http://127.0.0.1:4318".into()),
            service_name: Some("gw".into()),
            sampling_ratio: 0.25,
        };
        let e = file.export(&env).unwrap().unwrap();
        assert_eq!(e.traces_url, "http://127.0.0.1:4318/v1/traces");
        assert_eq!((e.service_name.as_str(), e.sampling_ratio), ("gw", 0.25));
        let full = |k: &str| {
            (k == "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT").then(|| "http://c:9/traces".to_owned())
        };
        assert_eq!(
            default.export(&full).unwrap().unwrap().traces_url,
            "http://c:9/traces"
        );
        let bad = |k: &str| (k == "OTEL_EXPORTER_OTLP_ENDPOINT").then(|| "collector".to_owned());
        assert!(default
            .export(&bad)
            .unwrap_err()
            .starts_with("OTEL_EXPORTER_OTLP_ENDPOINT: `collector` is not a URL"));
        let wrong = TelemetryConfig {
            otlp_endpoint: Some("ftp://x".into()),
            sampling_ratio: 2.0,
            service_name: Some(" ".into()),
        };
        let keys: Vec<String> = wrong
            .problems()
            .into_iter()
            .map(|(k, _)| k[1].clone())
            .collect();
        assert_eq!(keys, ["otlp_endpoint", "sampling_ratio", "service_name"]);
    }

    #[test]
    fn bad_telemetry_settings_name_their_line() {
        let text = "[telemetry]\notlp_endpoint = \"collector:4318\"\nsampling_ratio = 1.5\n";
        let e = crate::Config::parse("t.toml", text, &|_| None)
            .unwrap_err()
            .to_string();
        let line = |n: &str, key: &str| {
            e.lines()
                .any(|l| l.starts_with(&format!("t.toml:{n}:")) && l.contains(key))
        };
        assert!(line("2", "telemetry.otlp_endpoint"), "{e}");
        assert!(e.contains("is not an http(s) URL"), "{e}");
        assert!(line("3", "telemetry.sampling_ratio"), "{e}");
    }
}
