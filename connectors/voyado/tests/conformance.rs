//! The shared connector conformance suite, run against the Voyado simulator.

use samlet_connector::prelude::*;
use samlet_testkit::conformance::{run, Harness};
use samlet_testkit::world::CustomerSlice;
use samlet_testkit::{World, WorldConfig};
use samlet_voyado::simulator;
use std::sync::Arc;

#[tokio::test]
async fn voyado_passes_the_conformance_suite() {
    let world = Arc::new(World::new(WorldConfig::default()));
    let sim = simulator::start(world.clone(), 0).await.expect("simulator");
    let good = simulator::demo_config(&sim.base_url());
    let mut bad = good.clone();
    bad.api_key = Secret::new("not-the-key");
    let policy = UpstreamPolicy::default();
    let harness = Harness {
        world,
        connector: samlet_voyado::connect(ConnectorName::new("loyalty"), &good, policy.clone())
            .expect("connect"),
        bad_credentials: samlet_voyado::connect(ConnectorName::new("loyalty"), &bad, policy)
            .expect("connect"),
        control: sim.control.clone(),
        customer_slice: Some(CustomerSlice::Marketing),
        api_paths: simulator::API_PATHS
            .iter()
            .map(|p| (*p).to_owned())
            .collect(),
    };
    run(&harness).await;
    sim.stop().await;
}
