//! The shared connector conformance suite, run against the Marketing Cloud simulator.

use samlet_connector::prelude::*;
use samlet_sfmc::simulator;
use samlet_testkit::conformance::{run, Harness};
use samlet_testkit::world::CustomerSlice;
use samlet_testkit::{World, WorldConfig};
use std::sync::Arc;

#[tokio::test]
async fn sfmc_passes_the_conformance_suite() {
    let world = Arc::new(World::new(WorldConfig::default()));
    let sim = simulator::start(world.clone(), 0).await.expect("simulator");
    let good = simulator::demo_config(&sim.base_url());
    let mut bad = good.clone();
    bad.client_secret = Secret::new("wrong-secret");
    let policy = UpstreamPolicy::default();
    let harness = Harness {
        world,
        connector: samlet_sfmc::connect(ConnectorName::new("marketing"), &good, policy.clone())
            .expect("connect"),
        bad_credentials: samlet_sfmc::connect(ConnectorName::new("marketing"), &bad, policy)
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
