//! The shared conformance suite against the Optimizely simulator: the connector's answers equal
//! the world's truth for every capability (the commerce site holds the ERP customer slice), and
//! bad credentials, outages, malformed bodies and rate limits come back as the typed errors the
//! gateway expects.

use samlet_connector::http::{Secret, UpstreamPolicy};
use samlet_connector::ids::ConnectorName;
use samlet_optimizely::{connect, simulator};
use samlet_testkit::conformance::{run, Harness};
use samlet_testkit::world::CustomerSlice;
use samlet_testkit::{World, WorldConfig};
use std::sync::Arc;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn optimizely_passes_the_conformance_suite() {
    let world = Arc::new(World::new(WorldConfig::default()));
    let sim = simulator::start(world.clone(), 0)
        .await
        .expect("simulator starts");
    let config = simulator::demo_config(&sim.base_url());
    let connector = connect(
        ConnectorName::new("commerce"),
        &config,
        UpstreamPolicy::default(),
    )
    .expect("connects");
    let mut wrong = config.clone();
    wrong.password = Secret::new("not-the-password");
    let bad_credentials = connect(
        ConnectorName::new("commerce"),
        &wrong,
        UpstreamPolicy::default(),
    )
    .expect("connects lazily");
    let harness = Harness {
        world,
        connector,
        bad_credentials,
        control: sim.control.clone(),
        customer_slice: Some(CustomerSlice::Erp),
        api_paths: simulator::API_PATHS.iter().map(|p| p.to_string()).collect(),
    };
    run(&harness).await;
    sim.stop().await;
}
