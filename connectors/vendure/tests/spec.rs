//! Spec conformance: every GraphQL operation the Vendure connector sends is valid against
//! Vendure's published Admin API schema (`shared/specs/vendure/schema-admin.json`, the
//! introspection result of Vendure 3.5.4), and every answer fits its selection.
//!
//! The real Vendure test server (seeded with a small world) runs behind a recording proxy
//! while the shared conformance suite drives every declared capability (and the error
//! paths: bad credentials, and faults the proxy injects in front of the recorder). Then each
//! recorded request must be a `POST /admin-api` whose operation parses, names only fields
//! and arguments of the schema with values of their types, declares its variables with
//! input types compatible with where they are used and sends them with values of those
//! types; each answer with `data` must hold every selected field, null only where the schema
//! allows it, scalars and enum values of their types.
//!
//! Documented exception: Vendure generates `customFields` types from the server's
//! configuration; the published schema comes from a server without custom fields, where
//! `customFields` is the `JSON` scalar. The custom fields of `server/vendure-config.js` (the
//! ones the connector reads, see `CustomFieldNames`) are added below as Vendure generates
//! them, and nothing else.

use samlet_connector::prelude::*;
use samlet_testkit::conformance::{run, Harness};
use samlet_testkit::spec::graphql::{self, Schema};
use samlet_testkit::spec::RecordingProxy;
use samlet_testkit::{World, WorldConfig};
use samlet_vendure::server::{self, ServerOptions, VendureServer};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

/// The custom fields of `server/vendure-config.js`, as Vendure adds them to the Admin API:
/// a `<Entity>CustomFields` object type replacing the `JSON` scalar, and filter and sort
/// inputs for the list queries.
const CUSTOM_FIELDS: &str = "
    type ProductCustomFields { code: String }
    extend type Product { customFields: ProductCustomFields }
    extend input ProductFilterParameter { code: StringOperators }
    extend input ProductSortParameter { code: SortOrder }
    type ProductVariantPriceCustomFields { regularPrice: Int }
    extend type ProductVariantPrice { customFields: ProductVariantPriceCustomFields }
    type StockLocationCustomFields {
        code: String kind: String street: String postalCode: String city: String
        countryCode: String clickAndCollect: Boolean
    }
    extend type StockLocation { customFields: StockLocationCustomFields }
    extend input StockLocationFilterParameter {
        code: StringOperators kind: StringOperators street: StringOperators
        postalCode: StringOperators city: StringOperators countryCode: StringOperators
        clickAndCollect: BooleanOperators
    }
    extend input StockLocationSortParameter {
        code: SortOrder kind: SortOrder street: SortOrder postalCode: SortOrder city: SortOrder
        countryCode: SortOrder clickAndCollect: SortOrder
    }
";

fn schema() -> Schema {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/specs/vendure/schema-admin.json");
    let mut schema =
        Schema::from_file(&path).unwrap_or_else(|e| panic!("the Vendure Admin API schema: {e}"));
    schema
        .extend(CUSTOM_FIELDS)
        .unwrap_or_else(|e| panic!("the custom fields: {e}"));
    schema
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_vendure_operation_is_valid_against_the_published_admin_api_schema() {
    let schema = schema();
    let world = Arc::new(World::with_sizes(WorldConfig::default(), 48, 20, 0));
    let vendure = tokio::task::block_in_place(|| {
        VendureServer::start_blocking(&world, &ServerOptions::default())
    })
    .unwrap_or_else(|e| panic!("the Vendure server starts: {e}"));
    let started = Instant::now();
    let proxy = RecordingProxy::start(&vendure.base_url(), server::vendure_error)
        .await
        .expect("the proxy starts");
    let config = server::demo_config(&proxy.base_url());
    let mut wrong = config.clone();
    wrong.password = Secret::new("not-the-password");
    let connect = |c: &samlet_vendure::VendureConfig| {
        samlet_vendure::connect(ConnectorName::new("shop"), c, UpstreamPolicy::default())
            .expect("connects")
    };
    let harness = Harness {
        world,
        connector: connect(&config),
        bad_credentials: connect(&wrong),
        control: proxy.server.control.clone(),
        customer_slice: None,
        api_paths: server::API_PATHS.iter().map(|p| p.to_string()).collect(),
    };
    run(&harness).await;
    let exchanges = proxy.exchanges();
    let report = graphql::check(&schema, &exchanges, "/admin-api");
    eprintln!(
        "vendure: {} exchanges in {:?}\n{}",
        exchanges.len(),
        started.elapsed(),
        report.summary()
    );
    report.assert_clean();
    for op in [
        "mutation Login",
        "query ProductList",
        "query Prices",
        "query Stock",
        "query StockLocations",
    ] {
        assert!(
            report.covered.contains_key(op),
            "{op} was not exercised: {:?}",
            report.covered.keys()
        );
    }
    assert!(report.response_bodies_checked > 0);
    proxy.stop().await;
    vendure.stop();
}
