//! OpenTelemetry over OTLP/HTTP, end to end: the real binary serves the demo's simulators with
//! `[telemetry]` pointing at a receiver in this test (an axum server decoding
//! `ExportTraceServiceRequest`s). One product query continues a caller's `traceparent`; the
//! exported spans show the request, a capability load per batch and a span per upstream call
//! with connector, capability and cache attributes; a second query is served from the cache and
//! its trace says so; a call the ERP fails once is one span with its retry counted (and the
//! JSON log line of the retry names the trace); the simulators saw the upstream spans'
//! `traceparent`; no credential appears in any exported attribute; and `/metrics` carries the
//! per-connector figures.

#![cfg(all(feature = "demo", feature = "otel"))]

mod common;

use axum::body::Bytes;
use common::{free_port, Kill};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message as _;
use samlet::demo::{DemoStack, Stack};
use samlet_testkit::WorldConfig;
use serde_json::json;
use std::collections::HashMap;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Every export request the receiver got, decoded.
type Received = Arc<Mutex<Vec<ExportTraceServiceRequest>>>;

/// A local OTLP/HTTP trace receiver; returns its base URL.
async fn receiver(got: Received) -> String {
    let app = axum::Router::new().route(
        "/v1/traces",
        axum::routing::post(move |headers: axum::http::HeaderMap, body: Bytes| {
            let got = got.clone();
            async move {
                assert_eq!(
                    headers.get("content-type").and_then(|v| v.to_str().ok()),
                    Some("application/x-protobuf"),
                    "OTLP/HTTP with protobuf"
                );
                let req = ExportTraceServiceRequest::decode(body).expect("a protobuf export");
                got.lock().unwrap().push(req);
                // An empty ExportTraceServiceResponse: everything accepted.
                (
                    [(axum::http::header::CONTENT_TYPE, "application/x-protobuf")],
                    Vec::<u8>::new(),
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn text(v: &Option<AnyValue>) -> String {
    match v.as_ref().and_then(|v| v.value.as_ref()) {
        Some(any_value::Value::StringValue(s)) => s.clone(),
        Some(any_value::Value::IntValue(i)) => i.to_string(),
        Some(any_value::Value::BoolValue(b)) => b.to_string(),
        Some(any_value::Value::DoubleValue(d)) => d.to_string(),
        Some(other) => format!("{other:?}"),
        None => String::new(),
    }
}

fn attr(span: &Span, key: &str) -> Option<String> {
    span.attributes
        .iter()
        .find(|kv| kv.key == key)
        .map(|kv| text(&kv.value))
}

/// Every string value in the configuration under a key that names a credential.
fn credentials(config: &str) -> Vec<String> {
    fn walk(v: &toml::Value, key: &str, out: &mut Vec<String>) {
        match v {
            toml::Value::Table(t) => t.iter().for_each(|(k, v)| walk(v, k, out)),
            toml::Value::String(s)
                if ["secret", "password", "key", "token"]
                    .iter()
                    .any(|w| key.contains(w)) =>
            {
                out.push(s.clone())
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(
        &toml::Value::Table(toml::from_str(config).unwrap()),
        "",
        &mut out,
    );
    out
}

const PAGE: &str = "query ProductPage($s: String!) { product(sku: $s) { name price { amount { amount currencyCode } } stock { locationCode available } } }";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_query_exports_its_spans_and_the_vendors_see_its_trace() {
    let got: Received = Arc::default();
    let collector = receiver(got.clone()).await;

    let port = free_port();
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let stack = DemoStack::start(Stack::A, WorldConfig::default(), addr)
        .await
        .expect("demo stack");
    let config_text = format!(
        "{}\n[telemetry]\notlp_endpoint = \"{collector}\"\nservice_name = \"samlet-otlp-test\"\n",
        stack.config_text
    );
    let secrets = credentials(&config_text);
    assert!(
        secrets.contains(&stack.auth_secret) && secrets.len() >= 4,
        "{secrets:?}"
    );
    let dir = std::env::temp_dir().join(format!("samlet-otlp-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("samlet.toml");
    std::fs::write(&file, &config_text).unwrap();
    let log_file = dir.join("stderr.jsonl");

    let mut child = Kill(
        Command::new(env!("CARGO_BIN_EXE_samlet"))
            .args(["--log-format", "json", "serve", "--config"])
            .arg(&file)
            .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
            .env_remove("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
            .env_remove("OTEL_SERVICE_NAME")
            // The connector's retry notes are debug events, logged inside the request.
            .env("RUST_LOG", "info,samlet_connector=debug")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log_file).unwrap())
            .spawn()
            .expect("run samlet serve"),
    );
    let base = format!("http://{addr}");
    let http = reqwest::Client::new();
    let mut up = false;
    for _ in 0..200 {
        if http
            .get(format!("{base}/health"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(up, "the gateway did not start");

    let sku = stack.world.skus(77)[0].to_string();
    // The caller's trace: the gateway must continue it.
    let (caller_trace, caller_span) = ("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7");
    let first: serde_json::Value = http
        .post(format!("{base}/graphql"))
        .header("traceparent", format!("00-{caller_trace}-{caller_span}-01"))
        .json(&json!({ "query": PAGE, "variables": { "s": sku } }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(first.get("errors").is_none(), "{first:#}");

    // The same product again, with a token (never answered from the whole-response cache):
    // the product comes from the gateway's capability cache.
    let second_trace = "0af7651916cd43dd8448eb211c80319c";
    let token = stack.mint(json!({ "role": "service", "sub": "otlp-test" }));
    let second: serde_json::Value = http
        .post(format!("{base}/graphql"))
        .header(
            "traceparent",
            format!("00-{second_trace}-b7ad6b7169203331-01"),
        )
        .header("authorization", format!("Bearer {token}"))
        .json(&json!({ "query": PAGE, "variables": { "s": sku } }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(second["data"], first["data"]);

    // A product nobody asked for yet, while the ERP fails its next request once: the call is
    // retried, and its span says so.
    let third_trace = "5b8aa5a2d2c872e8321cf37308d69df2";
    stack
        .simulator("erp")
        .unwrap()
        .control
        .set_faults(samlet_testkit::sim::FaultPlan {
            fail_next: 1,
            only_paths: vec!["/v2.0/".into()],
            ..Default::default()
        });
    let other = stack.world.skus(78)[0].to_string();
    let third: serde_json::Value = http
        .post(format!("{base}/graphql"))
        .header(
            "traceparent",
            format!("00-{third_trace}-53995c3f42cd8ad8-01"),
        )
        .json(&json!({ "query": PAGE, "variables": { "s": other } }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(third.get("errors").is_none(), "{third:#}");
    assert_eq!(stack.simulator("erp").unwrap().control.stats.injected(), 1);

    // Prometheus figures for the same traffic.
    let metrics = http
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();

    // SIGTERM: the gateway drains and sends its last batch before it exits.
    let status = Command::new("kill")
        .args(["-TERM", &child.0.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let mut exited = None;
    for _ in 0..300 {
        if let Some(s) = child.0.try_wait().unwrap() {
            exited = Some(s);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let exit = exited.expect("samlet exits after SIGTERM");
    assert!(exit.success(), "samlet exited with {exit}");

    let exports = got.lock().unwrap().clone();
    assert!(!exports.is_empty(), "nothing was exported");
    let service: Vec<String> = exports
        .iter()
        .flat_map(|e| &e.resource_spans)
        .filter_map(|r| r.resource.as_ref())
        .flat_map(|r| &r.attributes)
        .filter(|kv| kv.key == "service.name")
        .map(|kv| text(&kv.value))
        .collect();
    assert!(
        !service.is_empty() && service.iter().all(|s| s == "samlet-otlp-test"),
        "{service:?}"
    );
    let spans: Vec<Span> = exports
        .iter()
        .flat_map(|e| &e.resource_spans)
        .flat_map(|r| &r.scope_spans)
        .flat_map(|s| s.spans.clone())
        .collect();
    // Each attribute once per span (values recorded once, when known).
    for s in &spans {
        let mut keys: Vec<&str> = s.attributes.iter().map(|kv| kv.key.as_str()).collect();
        let n = keys.len();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), n, "an attribute recorded twice: {s:#?}");
    }
    let by_id: HashMap<String, &Span> = spans.iter().map(|s| (hex(&s.span_id), s)).collect();
    let in_trace =
        |t: &str| -> Vec<&Span> { spans.iter().filter(|s| hex(&s.trace_id) == t).collect() };

    // The request span continues the caller's trace, under the caller's span.
    let first_spans = in_trace(caller_trace);
    let request = first_spans
        .iter()
        .find(|s| attr(s, "samlet.channel").is_some())
        .unwrap_or_else(|| panic!("no request span in the caller's trace: {spans:#?}"));
    assert_eq!(hex(&request.parent_span_id), caller_span);
    assert_eq!(request.name, "query ProductPage");
    assert_eq!(
        attr(request, "graphql.operation.name").as_deref(),
        Some("ProductPage")
    );
    assert_eq!(
        attr(request, "graphql.operation.type").as_deref(),
        Some("query")
    );
    assert_eq!(attr(request, "samlet.channel").as_deref(), Some("web"));
    assert_eq!(
        attr(request, "http.response.status_code").as_deref(),
        Some("200")
    );

    // Every span of the trace hangs under the request span.
    let under_request = |s: &Span| -> bool {
        let mut at = s;
        for _ in 0..16 {
            if std::ptr::eq(at, *request) {
                return true;
            }
            match by_id.get(&hex(&at.parent_span_id)) {
                Some(p) => at = p,
                None => return false,
            }
        }
        false
    };
    let upstream: Vec<&Span> = first_spans
        .iter()
        .copied()
        .filter(|s| attr(s, "http.response.status_code").is_some() && !std::ptr::eq(*s, *request))
        .collect();
    let calls = |connector: &str, capability: &str| {
        upstream
            .iter()
            .filter(|s| {
                attr(s, "samlet.connector").as_deref() == Some(connector)
                    && attr(s, "samlet.capability").as_deref() == Some(capability)
            })
            .count()
    };
    assert!(calls("pim", "products") >= 1, "{upstream:#?}");
    assert!(calls("erp", "prices") >= 1, "{upstream:#?}");
    assert!(calls("erp", "inventory") >= 1, "{upstream:#?}");
    for s in &upstream {
        assert!(under_request(s), "{s:#?} is not under the request span");
        assert_eq!(attr(s, "samlet.cache").as_deref(), Some("miss"), "{s:#?}");
        assert_eq!(attr(s, "samlet.retries").as_deref(), Some("0"), "{s:#?}");
        assert_eq!(
            attr(s, "samlet.breaker").as_deref(),
            Some("closed"),
            "{s:#?}"
        );
        assert_eq!(attr(s, "http.response.status_code").as_deref(), Some("200"));
        assert_eq!(s.kind, 3, "a client span: {s:#?}");
    }
    let loads: Vec<&Span> = first_spans
        .iter()
        .copied()
        .filter(|s| attr(s, "samlet.keys").is_some())
        .collect();
    assert!(
        loads.iter().any(
            |s| attr(s, "samlet.capability").as_deref() == Some("products")
                && attr(s, "samlet.cache").as_deref() == Some("miss")
        ),
        "{loads:#?}"
    );

    // The second query's product load is a cache hit and calls nobody for it.
    let second_spans = in_trace(second_trace);
    let product_loads: Vec<&&Span> = second_spans
        .iter()
        .filter(|s| {
            attr(s, "samlet.keys").is_some()
                && attr(s, "samlet.capability").as_deref() == Some("products")
        })
        .collect();
    assert!(!product_loads.is_empty(), "{second_spans:#?}");
    for s in &product_loads {
        assert_eq!(attr(s, "samlet.cache").as_deref(), Some("hit"), "{s:#?}");
        assert_eq!(attr(s, "samlet.connector").as_deref(), Some("pim"));
    }
    assert!(!second_spans.iter().any(|s| {
        attr(s, "http.response.status_code").is_some()
            && attr(s, "samlet.capability").as_deref() == Some("products")
    }));

    // The retried call: one span for both attempts, with the retry counted and the answer
    // that came in the end.
    let retried: Vec<&Span> = in_trace(third_trace)
        .into_iter()
        .filter(|s| attr(s, "samlet.retries").is_some_and(|r| r != "0"))
        .collect();
    assert_eq!(retried.len(), 1, "{:#?}", in_trace(third_trace));
    assert_eq!(attr(retried[0], "samlet.retries").as_deref(), Some("1"));
    assert_eq!(attr(retried[0], "samlet.connector").as_deref(), Some("erp"));
    assert_eq!(
        attr(retried[0], "http.response.status_code").as_deref(),
        Some("200")
    );
    assert_eq!(
        attr(retried[0], "samlet.breaker").as_deref(),
        Some("closed")
    );

    // The JSON log line of that retry names the trace it belongs to.
    let logs = std::fs::read_to_string(&log_file).unwrap();
    let retry_lines: Vec<serde_json::Value> = logs
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|l| l["message"] == "retrying upstream call")
        .collect();
    assert_eq!(retry_lines.len(), 1, "{logs}");
    assert!(
        retry_lines[0]["spans"]
            .as_array()
            .is_some_and(|spans| spans.iter().any(|s| s["trace_id"] == third_trace)),
        "{:#}",
        retry_lines[0]
    );

    // The vendors saw the trace: each request carried the traceparent of its upstream span.
    let mut seen = 0;
    for sim in ["pim", "erp"] {
        for (route, tp) in stack.simulator(sim).unwrap().control.stats.traceparents() {
            let parts: Vec<&str> = tp.split('-').collect();
            assert_eq!(parts.len(), 4, "{tp}");
            if parts[1] != caller_trace {
                continue;
            }
            seen += 1;
            let span = by_id
                .get(parts[2])
                .unwrap_or_else(|| panic!("{sim} {route}: {tp} names no exported span"));
            assert_eq!(
                attr(span, "samlet.connector").as_deref(),
                Some(sim),
                "{route}"
            );
            assert_eq!(parts[3], "01", "sampled");
        }
    }
    assert!(
        seen >= 3,
        "the simulators saw {seen} requests of the caller's trace"
    );

    // No credential, and not the caller's token, in any exported attribute.
    let mut values: Vec<String> = Vec::new();
    let mut collect = |kvs: &[KeyValue]| values.extend(kvs.iter().map(|kv| text(&kv.value)));
    for s in &spans {
        collect(&s.attributes);
        for e in &s.events {
            collect(&e.attributes);
        }
    }
    for e in &exports {
        for r in &e.resource_spans {
            if let Some(res) = &r.resource {
                collect(&res.attributes);
            }
        }
    }
    assert!(!values.is_empty());
    for secret in secrets.iter().chain([&token]) {
        assert!(
            !values.iter().any(|v| v.contains(secret.as_str())),
            "a credential was exported"
        );
    }

    // Per connector: latency histograms, errors, breaker state, rate-limit waits; per
    // capability: the cache hit ratio.
    for needle in [
        "samlet_upstream_request_duration_seconds_bucket{connector=\"pim\",kind=\"akeneo\",le=\"+Inf\"}",
        "samlet_upstream_errors_total{connector=\"erp\",kind=\"business-central\"} 1",
        "samlet_upstream_errors_total{connector=\"pim\",kind=\"akeneo\"} 0",
        "samlet_upstream_retries_total{connector=\"erp\",kind=\"business-central\"} 1",
        "samlet_upstream_breaker_state{connector=\"erp\",kind=\"business-central\",state=\"closed\"} 1",
        "samlet_upstream_breaker_state{connector=\"erp\",kind=\"business-central\",state=\"open\"} 0",
        "samlet_upstream_quota_waits_total{connector=\"pim\",kind=\"akeneo\"}",
        "samlet_upstream_retries_total{connector=\"pim\",kind=\"akeneo\"} 0",
        "samlet_upstream_rate_limited_total{connector=\"pim\",kind=\"akeneo\"} 0",
        // One hit (the second query) in three lookups.
        "samlet_cache_hit_ratio{capability=\"products_by_sku\"} 0.333",
    ] {
        assert!(metrics.contains(needle), "{needle} missing from\n{metrics}");
    }
}

/// A trace endpoint that is not a URL is reported, naming the variable, and the gateway serves
/// all the same (telemetry never keeps it from starting).
#[test]
fn a_bad_endpoint_in_the_environment_is_named_and_the_gateway_serves() {
    use std::io::BufRead as _;
    let mut child = Kill(
        Command::new(env!("CARGO_BIN_EXE_samlet"))
            .args(["demo", "--port", "0"])
            .env("OTEL_EXPORTER_OTLP_ENDPOINT", "collector")
            .env_remove("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run samlet demo"),
    );
    let stdout = child.0.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if line.starts_with("GraphQL and IDE:") {
                let _ = tx.send(());
            }
        }
    });
    let serving = rx.recv_timeout(Duration::from_secs(60)).is_ok();
    let _ = child.0.kill();
    let _ = child.0.wait();
    let _ = reader.join();
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.0.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(serving, "the demo did not serve: {stderr}");
    assert!(
        stderr.contains("OTEL_EXPORTER_OTLP_ENDPOINT: `collector` is not a URL"),
        "{stderr}"
    );
}
