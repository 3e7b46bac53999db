//! Swapping the commerce platform for software no one here wrote: a real Vendure server (the
//! test installs, seeds and starts it) takes over products, prices, stock and locations from
//! Optimizely in stack B, and the storefront's queries give the same answers. Products 0..39 are
//! the same in the small world seeded into Vendure and the full world the simulators serve,
//! because every entity is a function of its index.

#![cfg(all(feature = "demo", feature = "vendure"))]

mod common;

use common::Running;
use samlet::demo::Stack;
use samlet_testkit::{World, WorldConfig};
use serde_json::{json, Value};

const PRODUCTS: u32 = 40;

const PRODUCT_PAGE: &str = r#"query($code: String!) { product(code: $code) { id code name description categories
    attributes { code value } media { code }
    variants { sku name attributes { code value } price { amount { amount currencyCode } regular { amount } taxIncluded customerGroup }
               stock { locationCode onHand reserved available } } } }"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vendure_serves_the_same_catalogue_as_optimizely_through_the_same_graph() {
    let small = World::with_sizes(WorldConfig::default(), PRODUCTS, 20, 0);
    let vendure = samlet_vendure::server::VendureServer::start(&small)
        .await
        .expect("a real Vendure server starts");
    let settings = samlet_vendure::server::demo_toml(&vendure.base_url());
    let optimizely = Running::start(Stack::B).await;
    let with_vendure = Running::start_with_config_text(Stack::B, move |text| {
        let head = text.split("\n[capabilities]").next().unwrap_or_default().to_owned();
        format!(
            "{head}\n[connectors.platform]\nkind = \"vendure\"\n{settings}\n[capabilities]\n\
             customers = [\"crm\", \"loyalty\", \"commerce\"]\nproducts = \"platform\"\nprices = \"platform\"\n\
             inventory = \"platform\"\nlocations = \"platform\"\norders = \"commerce\"\n"
        )
    })
    .await;
    let contexts: [&[(&str, &str)]; 3] = [
        &[],
        &[
            ("samlet-channel", "store"),
            ("samlet-locale", "sv-SE"),
            ("samlet-currency", "SEK"),
        ],
        &[
            ("samlet-locale", "en-GB"),
            ("samlet-currency", "EUR"),
            ("samlet-customer-group", "B2B"),
        ],
    ];
    for i in (0..PRODUCTS).step_by(3) {
        let code = World::product_id(i);
        for headers in contexts {
            let vars = json!({ "code": code.as_str() });
            let a: Value = optimizely
                .query_with(PRODUCT_PAGE, vars.clone(), headers)
                .await;
            let b: Value = with_vendure.query_with(PRODUCT_PAGE, vars, headers).await;
            assert!(b.get("errors").is_none(), "{b:#}");
            assert_eq!(a, b, "{code} with {headers:?}");
        }
    }
    let q = "{ locations { code name kind clickAndCollect address { street postalCode city countryCode } } }";
    assert_eq!(
        optimizely.data(q, json!({})).await,
        with_vendure.data(q, json!({})).await
    );
    // The platform is visible on the dashboard like any other system.
    let d: Value = with_vendure
        .http
        .get(format!("{}/dashboard/data", with_vendure.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let tile = d["systems"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "platform")
        .expect("a tile for Vendure");
    assert_eq!(tile["kind"], "vendure");
    assert!(tile["calls"].as_u64().unwrap() > 0);
}
