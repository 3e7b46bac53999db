//! Lagerbox passes the shared conformance suite against its simulator.

use samlet_connector::http::{Secret, UpstreamPolicy};
use samlet_connector::ids::ConnectorName;
use samlet_example_lagerbox::{connect, simulator, LagerboxConfig};
use samlet_testkit::conformance::{run, Harness};
use samlet_testkit::{World, WorldConfig};
use std::sync::Arc;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lagerbox_passes_the_conformance_suite() {
    let world = Arc::new(World::new(WorldConfig::default()));
    let sim = simulator::start(world.clone(), 0)
        .await
        .expect("simulator starts");
    let config = LagerboxConfig {
        base_url: sim.base_url(),
        api_key: Secret::new(simulator::DEMO_API_KEY),
    };
    assert!(config.validate().is_empty());
    let wrong = LagerboxConfig {
        api_key: Secret::new("wrong"),
        ..config.clone()
    };
    let harness = Harness {
        connector: connect(
            ConnectorName::new("stock"),
            &config,
            UpstreamPolicy::default(),
        )
        .expect("connects"),
        bad_credentials: connect(
            ConnectorName::new("stock"),
            &wrong,
            UpstreamPolicy::default(),
        )
        .expect("connects"),
        world,
        control: sim.control.clone(),
        customer_slice: None,
        api_paths: simulator::API_PATHS.iter().map(|p| p.to_string()).collect(),
    };
    run(&harness).await;
    // Batching: 48 products' SKUs in one request.
    sim.control.stats.reset();
    let skus: Vec<_> = (0..48).flat_map(|i| harness.world.skus(i)).collect();
    let got = harness
        .connector
        .inventory
        .as_ref()
        .unwrap()
        .stock(&Default::default(), &skus)
        .await
        .expect("stock");
    assert_eq!(got.len(), skus.len());
    assert_eq!(sim.control.stats.count("GET /v1/stock"), 1);
}
