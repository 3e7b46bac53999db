//! Business Central's wire dialect, end to end against the simulator: batch reads cost one
//! request per key kind, `@odata.nextLink` paging is followed, the Entra ID handshake fails
//! with typed errors that never echo the secret, a revoked token is replaced once, and the
//! simulator enforces Business Central's filter rules.

use samlet_business_central::simulator::{self, DEMO_COMPANY_ID, DEMO_ENVIRONMENT, DEMO_TENANT};
use samlet_business_central::{connect, BusinessCentralConfig};
use samlet_connector::prelude::*;
use samlet_testkit::sim::SimServer;
use samlet_testkit::{World, WorldConfig};
use std::sync::Arc;

fn world() -> Arc<World> {
    Arc::new(World::new(WorldConfig::default()))
}

fn custom(entity: &str) -> String {
    format!(
        "GET /v2.0/{DEMO_TENANT}/{DEMO_ENVIRONMENT}/api/samlet/commerce/v1.0/companies({DEMO_COMPANY_ID})/{entity}"
    )
}

fn standard(entity: &str) -> String {
    format!(
        "GET /v2.0/{DEMO_TENANT}/{DEMO_ENVIRONMENT}/api/v2.0/companies({DEMO_COMPANY_ID})/{entity}"
    )
}

const TOKEN: &str = "POST /samlet-demo-tenant/oauth2/v2.0/token";

fn connector(config: &BusinessCentralConfig) -> Connector {
    connect(ConnectorName::new("erp"), config, UpstreamPolicy::default()).expect("connects")
}

async fn setup() -> (Arc<World>, SimServer, Connector) {
    let w = world();
    let sim = simulator::start(w.clone(), 0).await.expect("starts");
    let c = connector(&simulator::demo_config(&sim.base_url()));
    (w, sim, c)
}

/// The SKUs of 48 products spread over the catalogue (about 120 SKUs).
fn skus_of_48_products(w: &World) -> Vec<Sku> {
    (0..48u32)
        .flat_map(|k| w.skus(k * 41 % w.product_count()))
        .collect()
}

#[tokio::test]
async fn prices_and_stock_for_48_products_cost_one_request_each() {
    let (w, sim, c) = setup().await;
    let skus = skus_of_48_products(&w);
    assert!(skus.len() > 90, "{}", skus.len());
    let cx = RequestContext::default();
    let prices = c.prices.as_ref().unwrap().prices(&cx, &skus).await.unwrap();
    assert_eq!(prices.len(), skus.len());
    assert_eq!(sim.control.stats.count(&custom("itemPrices")), 1);
    assert!(sim.control.stats.count(TOKEN) <= 1);
    let stock = c
        .inventory
        .as_ref()
        .unwrap()
        .stock(&cx, &skus)
        .await
        .unwrap();
    assert_eq!(stock.len(), skus.len());
    assert_eq!(sim.control.stats.count(&custom("itemStockByLocation")), 1);
    // The token is reused.
    assert_eq!(sim.control.stats.count(TOKEN), 1);
}

#[tokio::test]
async fn twenty_orders_by_number_are_one_round_trip_of_two_requests() {
    let (w, sim, c) = setup().await;
    let numbers: Vec<OrderNumber> = (0..20u32).map(|k| World::order_number(k * 2_477)).collect();
    let got = c
        .orders
        .as_ref()
        .unwrap()
        .orders(&RequestContext::default(), &numbers)
        .await
        .unwrap();
    assert_eq!(got.len(), 20);
    for n in &numbers {
        let j = w.order_index(n).unwrap();
        assert_eq!(got[n], w.order(j));
    }
    assert_eq!(sim.control.stats.count(&standard("salesOrders")), 1);
    assert_eq!(sim.control.stats.count(&custom("salesOrderTracking")), 1);
}

#[tokio::test]
async fn orders_for_eight_customers_are_two_requests_cut_to_the_limit() {
    let (w, sim, c) = setup().await;
    let customers: Vec<u32> = (0..w.customer_count())
        .filter(|&i| w.orders_of(i).len() >= 4)
        .take(8)
        .collect();
    let numbers: Vec<CustomerNumber> = customers
        .iter()
        .map(|&i| World::customer_number(i))
        .collect();
    let got = c
        .orders
        .as_ref()
        .unwrap()
        .orders_for_customers(&RequestContext::default(), &numbers, 2)
        .await
        .unwrap();
    for &i in &customers {
        let want: Vec<Order> = w
            .orders_of(i)
            .iter()
            .rev()
            .take(2)
            .map(|&j| w.order(j))
            .collect();
        assert_eq!(got[&World::customer_number(i)], want);
    }
    assert_eq!(sim.control.stats.count(&standard("salesOrders")), 1);
    assert_eq!(sim.control.stats.count(&custom("salesOrderTracking")), 1);
}

#[tokio::test]
async fn customer_keys_cost_one_request_per_kind_and_loyalty_keys_none() {
    let (w, sim, c) = setup().await;
    let held: Vec<u32> = (0..w.customer_count())
        .filter(|&i| {
            w.system_customer(samlet_testkit::world::CustomerSlice::Erp, i)
                .is_some_and(|c| c.phone.is_some())
        })
        .take(25)
        .collect();
    let mut keys = Vec::new();
    for &i in &held {
        let t = w.customer(i);
        keys.push(MatchKey::CustomerNumber(t.number.clone()));
        keys.push(MatchKey::email(&t.email.to_uppercase()).unwrap());
        keys.push(MatchKey::Phone(t.phone.clone().unwrap()));
        keys.push(MatchKey::LoyaltyNumber(format!("7{}", 1_000_000 + i)));
    }
    // A key longer than the field cannot exist; it must not fail the batch.
    keys.push(MatchKey::CustomerNumber(CustomerNumber::new(
        "C".repeat(30),
    )));
    let got = c
        .customers
        .as_ref()
        .unwrap()
        .customers(&RequestContext::default(), &keys)
        .await
        .unwrap();
    for &i in &held {
        let t = w.customer(i);
        for key in [
            MatchKey::CustomerNumber(t.number.clone()),
            MatchKey::Email(t.email.clone()),
            MatchKey::Phone(t.phone.clone().unwrap()),
        ] {
            assert!(got.contains_key(&key), "{key:?}");
        }
        assert!(!got.contains_key(&MatchKey::LoyaltyNumber(format!("7{}", 1_000_000 + i))));
    }
    // Numbers and phones in one `in` list each; 25 e-mails in two `or` chains of at most 20.
    assert_eq!(sim.control.stats.count(&custom("customers")), 4);
}

#[tokio::test]
async fn small_pages_are_followed_through_next_links() {
    let w = world();
    let sim = simulator::start(w.clone(), 0).await.unwrap();
    let mut config = simulator::demo_config(&sim.base_url());
    config.page_size = 7;
    let c = connector(&config);
    let skus: Vec<Sku> = (0..5u32).flat_map(|i| w.skus(i * 13)).collect();
    let got = c
        .inventory
        .as_ref()
        .unwrap()
        .stock(&RequestContext::default(), &skus)
        .await
        .unwrap();
    let rows: usize = skus.iter().map(|s| w.stock(s).unwrap().len()).sum();
    for s in &skus {
        let mut have = got[s].clone();
        have.sort_by(|a, b| a.location.cmp(&b.location));
        let mut want = w.stock(s).unwrap();
        want.sort_by(|a, b| a.location.cmp(&b.location));
        assert_eq!(have, want);
    }
    assert_eq!(
        sim.control.stats.count(&custom("itemStockByLocation")) as usize,
        rows.div_ceil(7)
    );
    let locations = c
        .locations
        .as_ref()
        .unwrap()
        .locations(&RequestContext::default())
        .await
        .unwrap();
    assert_eq!(locations.len(), w.locations().len());
    assert_eq!(sim.control.stats.count(&custom("locations")), 2);
}

#[tokio::test]
async fn a_wrong_secret_is_unauthorized_and_never_echoed() {
    let (w, sim, _) = setup().await;
    let mut config = simulator::demo_config(&sim.base_url());
    config.client_secret = Secret::new("hunter2-wrong");
    let err = connector(&config)
        .prices
        .unwrap()
        .prices(&RequestContext::default(), &w.skus(0))
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Unauthorized);
    assert!(err.message.contains("AADSTS7000215"), "{}", err.message);
    assert!(!err.to_string().contains("hunter2"));
    let mut config = simulator::demo_config(&sim.base_url());
    config.tenant = "someone-else".into();
    let err = connector(&config)
        .locations
        .unwrap()
        .locations(&RequestContext::default())
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Unauthorized);
    assert!(err.message.contains("AADSTS90002"), "{}", err.message);
}

#[tokio::test]
async fn a_revoked_token_is_replaced_once() {
    let w = world();
    let (sim, tokens) = simulator::start_with_tokens(w.clone(), 0).await.unwrap();
    let c = connector(&simulator::demo_config(&sim.base_url()));
    let locations = c.locations.as_ref().unwrap();
    locations
        .locations(&RequestContext::default())
        .await
        .unwrap();
    tokens.revoke_all();
    locations
        .locations(&RequestContext::default())
        .await
        .unwrap();
    assert_eq!(sim.control.stats.count(TOKEN), 2);
    assert_eq!(sim.control.stats.count(&custom("locations")), 3);
}

#[tokio::test]
async fn a_missing_extension_says_what_to_install() {
    let (_, sim, _) = setup().await;
    let mut config = simulator::demo_config(&sim.base_url());
    config.custom_api = "contoso/retail/v2.0".into();
    let err = connector(&config)
        .locations
        .unwrap()
        .locations(&RequestContext::default())
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::NotFound);
    assert!(
        err.message.contains("BadRequest_ResourceNotFound"),
        "{}",
        err.message
    );
    assert!(
        err.message.contains("contoso/retail/v2.0"),
        "{}",
        err.message
    );
}

// ---------------------------------------------------------------------------------------------
// The simulator's dialect, spoken raw.

async fn token(base: &str) -> String {
    let resp: serde_json::Value = reqwest::Client::new()
        .post(format!("{base}/{DEMO_TENANT}/oauth2/v2.0/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", simulator::DEMO_CLIENT_ID),
            ("client_secret", simulator::DEMO_CLIENT_SECRET),
            ("scope", "https://api.businesscentral.dynamics.com/.default"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(resp["token_type"], "Bearer");
    resp["access_token"].as_str().unwrap().to_owned()
}

async fn get(
    base: &str,
    token: &str,
    path: &str,
    filter: &str,
    prefer: Option<&str>,
) -> (u16, serde_json::Value) {
    let mut req = reqwest::Client::new()
        .get(format!(
            "{base}/v2.0/{DEMO_TENANT}/{DEMO_ENVIRONMENT}/api/{path}"
        ))
        .bearer_auth(token);
    if !filter.is_empty() {
        req = req.query(&[("$filter", filter)]);
    }
    if let Some(p) = prefer {
        req = req.header("Prefer", p);
    }
    let resp = req.send().await.unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap())
}

#[tokio::test]
async fn the_simulator_enforces_business_central_filter_rules() {
    let (_, sim, _) = setup().await;
    let base = sim.base_url();
    let t = token(&base).await;
    let customers = format!("samlet/commerce/v1.0/companies({DEMO_COMPANY_ID})/customers");
    let (status, body) = get(
        &base,
        &t,
        &customers,
        "number eq 'C0000010' or email eq 'a@b.dk'",
        None,
    )
    .await;
    assert_eq!(status, 400);
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("distinct fields"));
    let chain: Vec<String> = (0..21)
        .map(|i| format!("tolower(email) eq 'a{i}@b.dk'"))
        .collect();
    let (status, body) = get(&base, &t, &customers, &chain.join(" or "), None).await;
    assert_eq!(status, 400);
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("node count limit"));
    let (status, body) = get(
        &base,
        &t,
        &customers,
        &format!("number eq '{}'", "C".repeat(21)),
        None,
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "Application_FilterErrorException");
    let (status, body) = get(&base, &t, &customers, "shoeSize eq 42", None).await;
    assert_eq!(status, 400);
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("shoeSize"));
    let (status, body) = get(&base, "not-a-token", &customers, "", None).await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], "Authentication_InvalidCredentials");
}

#[tokio::test]
async fn the_simulator_pages_with_maxpagesize_and_next_links() {
    let (w, sim, _) = setup().await;
    let base = sim.base_url();
    let t = token(&base).await;
    let path = format!("samlet/commerce/v1.0/companies({DEMO_COMPANY_ID})/locations");
    let (status, body) = get(&base, &t, &path, "", Some("odata.maxpagesize=4")).await;
    assert_eq!(status, 200);
    assert_eq!(body["value"].as_array().unwrap().len(), 4);
    let mut next = body["@odata.nextLink"].as_str().map(str::to_owned);
    let mut seen = 4;
    while let Some(link) = next {
        let resp = reqwest::Client::new()
            .get(&link)
            .bearer_auth(&t)
            .header("Prefer", "odata.maxpagesize=4")
            .send()
            .await
            .unwrap();
        assert_eq!(
            resp.headers()["preference-applied"].to_str().unwrap(),
            "odata.maxpagesize=4"
        );
        let body: serde_json::Value = resp.json().await.unwrap();
        seen += body["value"].as_array().unwrap().len();
        next = body["@odata.nextLink"].as_str().map(str::to_owned);
    }
    assert_eq!(seen, w.locations().len());
}
