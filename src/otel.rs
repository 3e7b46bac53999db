//! OpenTelemetry: the gateway's trace spans (see [`crate::trace`]) exported over OTLP/HTTP
//! (protobuf, `POST <endpoint>/v1/traces`) in batches, and W3C Trace Context propagated both
//! ways: an incoming `traceparent` on `/graphql` continues the caller's trace, and every
//! upstream request carries the `traceparent` of its own `upstream` span.
//!
//! Nothing here runs unless an endpoint is configured (`[telemetry] otlp_endpoint` or
//! `OTEL_EXPORTER_OTLP_ENDPOINT`): then the binary adds [`Exporter::layer`] to its `tracing`
//! subscriber. Without one the spans stay plain `tracing` spans, no trace context is read or
//! written, and nothing is sent.
//!
//! The exporter sends with the gateway's own reqwest client (no second HTTP stack, no gRPC):
//! the SDK's batch processor runs on its own thread, so each export is handed to the tokio
//! runtime that started the exporter.

use crate::trace::TraceExport;
use opentelemetry::propagation::TextMapPropagator as _;
use opentelemetry::trace::{TraceContextExt as _, TracerProvider as _};
use opentelemetry_http::{Bytes, HeaderExtractor, HeaderInjector, HttpClient, HttpError};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider};
use opentelemetry_sdk::Resource;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

/// Whether an exporter runs (trace context is read and written only then).
static ACTIVE: AtomicBool = AtomicBool::new(false);

/// How long one export may take, and how long shutdown waits for the last batch.
const EXPORT_TIMEOUT: Duration = Duration::from_secs(10);

/// A running trace exporter. Call [`Exporter::shutdown`] before the process exits so the last
/// batch is sent.
pub struct Exporter {
    provider: SdkTracerProvider,
}

/// Sends the exporter's requests with reqwest on the tokio runtime (see the module docs).
#[derive(Debug)]
struct Client {
    http: reqwest::Client,
    runtime: tokio::runtime::Handle,
    /// Whether the last export failed (a failure is logged once, not every batch).
    failing: AtomicBool,
    /// Where spans go, for the log.
    url: String,
}

impl Client {
    /// Logs when exports start failing and when they work again.
    fn note(&self, problem: Option<String>) {
        match problem {
            Some(p) if !self.failing.swap(true, Ordering::Relaxed) => {
                tracing::warn!(url = %self.url, problem = %p, "cannot export traces; will keep trying");
            }
            None if self.failing.swap(false, Ordering::Relaxed) => {
                tracing::info!("exporting traces again");
            }
            _ => {}
        }
    }
}

#[async_trait::async_trait]
impl HttpClient for Client {
    async fn send_bytes(
        &self,
        request: opentelemetry_http::Request<Bytes>,
    ) -> Result<opentelemetry_http::Response<Bytes>, HttpError> {
        let request = reqwest::Request::try_from(request)?;
        let http = self.http.clone();
        let sent = self.runtime.spawn(async move {
            let resp = http.execute(request).await?;
            let (status, headers) = (resp.status(), resp.headers().clone());
            let body = resp.bytes().await?;
            let mut out = opentelemetry_http::Response::new(body);
            *out.status_mut() = status;
            *out.headers_mut() = headers;
            Ok::<_, reqwest::Error>(out)
        });
        let outcome = sent.await?.map_err(|e| e.without_url());
        self.note(match &outcome {
            Ok(r) if r.status().is_success() => None,
            Ok(r) => Some(format!(
                "the collector answered HTTP {}",
                r.status().as_u16()
            )),
            Err(e) => Some(e.to_string()),
        });
        Ok(outcome?)
    }
}

impl Exporter {
    /// Starts exporting to `export`; must be called inside a tokio runtime.
    pub fn start(export: &TraceExport) -> anyhow::Result<Exporter> {
        let http = reqwest::Client::builder()
            .timeout(EXPORT_TIMEOUT)
            .user_agent(concat!("samlet/", env!("CARGO_PKG_VERSION")))
            .build()?;
        let client = Client {
            http,
            runtime: tokio::runtime::Handle::try_current()?,
            failing: AtomicBool::new(false),
            url: export.traces_url.clone(),
        };
        use opentelemetry_otlp::{WithExportConfig as _, WithHttpConfig as _};
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_http_client(client)
            .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
            .with_endpoint(export.traces_url.clone())
            .with_timeout(EXPORT_TIMEOUT)
            .build()?;
        let sampler =
            Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(export.sampling_ratio)));
        let provider = SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_sampler(sampler)
            .with_resource(
                Resource::builder()
                    .with_service_name(export.service_name.clone())
                    .build(),
            )
            .build();
        samlet_connector::trace::set_propagator(inject_current);
        ACTIVE.store(true, Ordering::Relaxed);
        Ok(Exporter { provider })
    }

    /// The `tracing` layer that turns the gateway's spans (targets `samlet*`, INFO and up)
    /// into OpenTelemetry spans; other crates' spans and events are not exported.
    pub fn layer<S>(&self) -> impl Layer<S> + Send + Sync + 'static
    where
        S: tracing::Subscriber + for<'a> LookupSpan<'a> + Send + Sync,
    {
        tracing_opentelemetry::layer()
            .with_tracer(self.provider.tracer("samlet"))
            .with_location(false)
            .with_threads(false)
            .with_tracked_inactivity(false)
            .with_target(false)
            .with_filter(Targets::new().with_target("samlet", tracing::Level::INFO))
    }

    /// Sends what is still batched and stops (off the async workers: the SDK blocks).
    pub async fn shutdown(self) {
        ACTIVE.store(false, Ordering::Relaxed);
        let provider = self.provider;
        let done =
            tokio::task::spawn_blocking(move || provider.shutdown_with_timeout(EXPORT_TIMEOUT))
                .await;
        if let Ok(Err(e)) = done {
            tracing::warn!(error = %e, "the last trace batch was not exported");
        }
    }
}

/// Writes the current span's trace context (`traceparent`) into an upstream request.
fn inject_current(headers: &mut reqwest::header::HeaderMap) {
    let cx = Span::current().context();
    TraceContextPropagator::new().inject_context(&cx, &mut HeaderInjector(headers));
}

/// Continues the caller's trace when the request carries a `traceparent`, and notes the
/// trace id on `span` (so JSON log lines inside the request show it). Nothing without an
/// exporter.
pub(crate) fn adopt(span: &Span, headers: &axum::http::HeaderMap) {
    if !ACTIVE.load(Ordering::Relaxed) || span.is_disabled() {
        return;
    }
    let parent = TraceContextPropagator::new().extract(&HeaderExtractor(headers));
    if parent.span().span_context().is_valid() {
        let _ = span.set_parent(parent);
    }
    let id = span.context().span().span_context().trace_id();
    if id != opentelemetry::trace::TraceId::INVALID {
        span.record("trace_id", tracing::field::display(id));
    }
}

/// Renames `span`'s exported span (it may have started under its first name already).
pub(crate) fn rename(span: &Span, name: String) {
    if ACTIVE.load(Ordering::Relaxed) && !span.is_disabled() {
        span.context().span().update_name(name);
    }
}
