//! The shared connector conformance suite, run against the Akeneo simulator.

use samlet_akeneo::simulator;
use samlet_connector::http::{Secret, UpstreamPolicy};
use samlet_connector::ids::ConnectorName;
use samlet_testkit::conformance::{run, Harness};
use samlet_testkit::{World, WorldConfig};
use std::sync::Arc;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_akeneo_connector_passes_the_conformance_suite() {
    let world = Arc::new(World::new(WorldConfig::default()));
    let sim = simulator::start(world.clone(), 0)
        .await
        .expect("simulator starts");
    let name = ConnectorName::new("pim");
    let config = simulator::demo_config(&sim.base_url());
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
        control: sim.control.clone(),
        customer_slice: None,
        api_paths: simulator::API_PATHS.iter().map(|p| p.to_string()).collect(),
    };
    run(&harness).await;
    sim.stop().await;
}
