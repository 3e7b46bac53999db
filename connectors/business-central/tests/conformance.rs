//! The shared conformance suite against the Business Central simulator: the connector's answers
//! equal the world's ERP slice, and bad credentials, outages, malformed bodies and rate limits
//! come back as the typed errors the gateway expects.

use samlet_business_central::{connect, simulator};
use samlet_connector::http::{Secret, UpstreamPolicy};
use samlet_connector::ids::ConnectorName;
use samlet_testkit::conformance::{run, Harness};
use samlet_testkit::world::CustomerSlice;
use samlet_testkit::{World, WorldConfig};
use std::sync::Arc;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn business_central_passes_the_conformance_suite() {
    let world = Arc::new(World::new(WorldConfig::default()));
    let sim = simulator::start(world.clone(), 0)
        .await
        .expect("simulator starts");
    let config = simulator::demo_config(&sim.base_url());
    let connector = connect(
        ConnectorName::new("erp"),
        &config,
        UpstreamPolicy::default(),
    )
    .expect("connects");
    let mut wrong = config.clone();
    wrong.client_secret = Secret::new("not-the-secret");
    let bad_credentials = connect(ConnectorName::new("erp"), &wrong, UpstreamPolicy::default())
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
