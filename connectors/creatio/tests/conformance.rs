//! The shared connector conformance suite, run against the Creatio simulator.

use samlet_connector::http::{Secret, UpstreamPolicy};
use samlet_connector::ids::ConnectorName;
use samlet_creatio::simulator;
use samlet_testkit::conformance::{run, Harness};
use samlet_testkit::world::CustomerSlice;
use samlet_testkit::{World, WorldConfig};
use std::sync::Arc;

#[tokio::test]
async fn the_creatio_connector_passes_the_conformance_suite() {
    let world = Arc::new(World::new(WorldConfig::default()));
    let sim = simulator::start(world.clone(), 0)
        .await
        .expect("simulator starts");
    let good = simulator::demo_config(&sim.base_url());
    let mut bad = good.clone();
    bad.client_secret = Secret::new("wrong-secret");
    let name = ConnectorName::new("crm");
    let harness = Harness {
        world,
        connector: samlet_creatio::connect(name.clone(), &good, UpstreamPolicy::default())
            .expect("connects"),
        bad_credentials: samlet_creatio::connect(name, &bad, UpstreamPolicy::default())
            .expect("connects"),
        control: sim.control.clone(),
        customer_slice: Some(CustomerSlice::Crm),
        api_paths: simulator::API_PATHS.iter().map(|p| p.to_string()).collect(),
    };
    run(&harness).await;
    sim.stop().await;
}
