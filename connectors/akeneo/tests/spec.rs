//! Spec conformance: every request the Akeneo connector sends, and every answer the
//! simulator gives, checked against Akeneo's published Swagger 2.0 spec
//! (`shared/specs/akeneo/akeneo-web-api.json`).
//!
//! A recording proxy sits between the connector and the simulator while the shared
//! conformance suite drives every declared capability (and the error paths: bad credentials,
//! injected faults, which the proxy answers itself and so does not record). Then each
//! exchange must match a spec operation, carry the operation's required parameters with
//! values of the declared types (and no undeclared query parameter), send a body valid
//! against the request schema, and get a 2xx body (and documented error bodies) valid
//! against the response schema for its status.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use samlet_akeneo::simulator;
use samlet_connector::http::{Secret, UpstreamPolicy};
use samlet_connector::ids::ConnectorName;
use samlet_testkit::conformance::{run, Harness};
use samlet_testkit::spec::{check, for_each_object_mut, CheckOptions, OpenApi, RecordingProxy};
use samlet_testkit::{World, WorldConfig};
use serde_json::Value;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

fn spec_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/specs/akeneo/akeneo-web-api.json")
}

/// The published spec, with errata: places where the Swagger file contradicts Akeneo's own
/// documentation of the same API (and the real API's answers). Each is applied by shape, so a
/// new place in the spec that needs one fails the test instead of being waved through.
///
/// 1. Product values (`{scope, locale, data}`): the Swagger file types `data` as `object`,
///    but "Products > The data format" documents it per attribute type: a string for text and
///    simple selects, an array for multi-selects and prices, a number or string for numbers,
///    a boolean for yes/no, an object for metrics. `data` is left untyped.
/// 2. The same values have `"scope": null` for attributes not scopable and `"locale": null`
///    for attributes not localizable (every example in the documentation shows them so);
///    Swagger 2.0 cannot say `nullable`, so `x-nullable` is added.
/// 3. `parent` is `null` for a product without a parent model and for a root product model
///    (documented examples show `"parent": null`); `x-nullable` is added.
/// 4. The token answer's `scope` is typed `string` and described as "Unused, always equal to
///    null"; the spec's own example has `"scope": null`. `x-nullable` is added.
fn akeneo_spec() -> OpenApi {
    let text = std::fs::read(spec_path()).unwrap_or_else(|e| panic!("the Akeneo spec: {e}"));
    let mut root: Value = serde_json::from_slice(&text).expect("the Akeneo spec is JSON");
    let mut patched = [0usize; 4];
    for_each_object_mut(&mut root, &mut |schema| {
        let Some(Value::Object(props)) = schema.get_mut("properties") else {
            return;
        };
        if props.contains_key("scope") && props.contains_key("locale") && props.contains_key("data")
        {
            if let Some(Value::Object(data)) = props.get_mut("data") {
                data.remove("type");
                patched[0] += 1;
            }
            for key in ["scope", "locale"] {
                if let Some(Value::Object(p)) = props.get_mut(key) {
                    p.insert("x-nullable".into(), Value::Bool(true));
                    patched[1] += 1;
                }
            }
        }
        if props.contains_key("access_token") {
            if let Some(Value::Object(scope)) = props.get_mut("scope") {
                scope.insert("x-nullable".into(), Value::Bool(true));
                patched[3] += 1;
            }
        }
        if let Some(Value::Object(parent)) = props.get_mut("parent") {
            if parent.get("type") == Some(&Value::String("string".into())) {
                parent.insert("x-nullable".into(), Value::Bool(true));
                patched[2] += 1;
            }
        }
    });
    assert!(
        patched.iter().all(|&n| n > 0),
        "every erratum applies somewhere: {patched:?}"
    );
    OpenApi::from_value(root).unwrap_or_else(|e| panic!("the Akeneo spec loads: {e}"))
}

/// Akeneo's error body for faults the proxy injects (the simulator's own, `{code, message}`).
fn akeneo_error(status: StatusCode, message: &str) -> Response {
    (
        status,
        axum::Json(serde_json::json!({ "code": status.as_u16(), "message": message })),
    )
        .into_response()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_akeneo_request_and_answer_conforms_to_the_published_spec() {
    let started = Instant::now();
    let spec = akeneo_spec();
    let world = Arc::new(World::new(WorldConfig::default()));
    let sim = simulator::start(world.clone(), 0)
        .await
        .expect("simulator starts");
    let proxy = RecordingProxy::start(&sim.base_url(), akeneo_error)
        .await
        .expect("proxy starts");
    let name = ConnectorName::new("pim");
    let config = simulator::demo_config(&proxy.base_url());
    let connector =
        samlet_akeneo::connect(name.clone(), &config, UpstreamPolicy::default()).expect("connects");
    let mut wrong = config.clone();
    wrong.password = Secret::new("not-the-password");
    let bad_credentials =
        samlet_akeneo::connect(name, &wrong, UpstreamPolicy::default()).expect("connects");
    let harness = Harness {
        world,
        connector,
        bad_credentials,
        // Faults are injected by the proxy, in front of the recorder.
        control: proxy.server.control.clone(),
        customer_slice: None,
        api_paths: simulator::API_PATHS.iter().map(|p| p.to_string()).collect(),
    };
    run(&harness).await;
    let exchanges = proxy.exchanges();
    let report = check(
        &spec,
        &exchanges,
        &CheckOptions {
            // The spec's paths are absolute (`/api/rest/v1/...`, `/api/oauth/v1/token`): the
            // connector's base URL is the server's root. No exceptions: Akeneo documents
            // every endpoint the connector uses, the token endpoint included.
            error_responses: true,
            ..CheckOptions::default()
        },
    );
    eprintln!(
        "akeneo: {} exchanges in {:?}\n{}",
        exchanges.len(),
        started.elapsed(),
        report.summary()
    );
    report.assert_clean();
    for op in ["POST /api/oauth/v1/token", "GET /api/rest/v1/products"] {
        assert!(
            report.covered.contains_key(op),
            "{op} was not exercised: {:?}",
            report.covered.keys()
        );
    }
    assert!(report.response_bodies_checked > 0 && report.request_bodies_checked > 0);
    proxy.stop().await;
    sim.stop().await;
}
