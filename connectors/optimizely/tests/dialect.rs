//! The Service API dialect, end to end against the simulator: per-entry reads cost one request
//! per key and run at most `max_concurrent_requests` at a time, customer keys batch through the
//! Samlet lookup, orders resolve by number through their OrderGroupId, listing pages split
//! between a product and its variations still give whole products, the password grant fails
//! with a typed error that never echoes the password, and a revoked token is replaced once.

use samlet_connector::prelude::*;
use samlet_optimizely::simulator::{self, DEMO_PASSWORD, DEMO_USERNAME};
use samlet_optimizely::{connect, OptimizelyConfig};
use samlet_testkit::sim::{FaultPlan, SimServer};
use samlet_testkit::world::CustomerSlice;
use samlet_testkit::{World, WorldConfig};
use std::sync::Arc;
use std::time::{Duration, Instant};

const TOKEN: &str = "POST /episerverapi/token";
const API: &str = "GET /episerverapi/commerce";
const LOOKUP: &str = "GET /episerverapi/commerce/samlet/customers";

fn world() -> Arc<World> {
    Arc::new(World::new(WorldConfig::default()))
}

fn connector(config: &OptimizelyConfig) -> Connector {
    connect(
        ConnectorName::new("commerce"),
        config,
        UpstreamPolicy::default(),
    )
    .expect("connects")
}

async fn setup() -> (Arc<World>, SimServer, Connector) {
    let w = world();
    let sim = simulator::start(w.clone(), 0).await.expect("starts");
    let c = connector(&simulator::demo_config(&sim.base_url()));
    (w, sim, c)
}

/// Requests whose route ends with `suffix`.
fn count_ending(sim: &SimServer, suffix: &str) -> u64 {
    sim.control
        .stats
        .routes()
        .iter()
        .filter(|(k, _)| k.starts_with(API) && k.ends_with(suffix))
        .map(|(_, v)| v)
        .sum()
}

/// 48 SKUs spread over the catalogue.
fn skus_48(w: &World) -> Vec<Sku> {
    (0..48u32)
        .map(|k| w.skus(k * 41 % w.product_count())[0].clone())
        .collect()
}

#[tokio::test]
async fn a_batch_of_48_skus_costs_48_price_requests_and_one_token() {
    let (w, sim, c) = setup().await;
    let skus = skus_48(&w);
    let cx = RequestContext::default();
    let prices = c.prices.as_ref().unwrap().prices(&cx, &skus).await.unwrap();
    assert_eq!(prices.len(), 48);
    for s in &skus {
        let want = w.price(s, cx.channel.price_channel(), cx.currency, None);
        assert_eq!(prices.get(s), want.as_ref(), "{s}");
    }
    // The Service API reads one entry's prices per call: the documented figure is N for N.
    assert_eq!(count_ending(&sim, "/prices"), 48);
    assert_eq!(sim.control.stats.count(TOKEN), 1);
    let stock = c
        .inventory
        .as_ref()
        .unwrap()
        .stock(&cx, &skus)
        .await
        .unwrap();
    assert_eq!(stock.len(), 48);
    assert_eq!(count_ending(&sim, "/inventories"), 48);
    // The token is reused.
    assert_eq!(sim.control.stats.count(TOKEN), 1);
}

#[tokio::test]
async fn per_entry_reads_run_at_most_max_concurrent_requests_at_once() {
    let w = world();
    let sim = simulator::start(w.clone(), 0).await.unwrap();
    let mut config = simulator::demo_config(&sim.base_url());
    config.max_concurrent_requests = 16;
    let c = connector(&config);
    let skus = skus_48(&w);
    // Fetch the token first so only data calls are timed.
    c.locations
        .as_ref()
        .unwrap()
        .locations(&RequestContext::default())
        .await
        .unwrap();
    sim.control.set_faults(FaultPlan {
        latency: Duration::from_millis(100),
        ..FaultPlan::default()
    });
    let started = Instant::now();
    let got = c
        .prices
        .as_ref()
        .unwrap()
        .prices(&RequestContext::default(), &skus)
        .await
        .unwrap();
    let took = started.elapsed();
    sim.control.clear_faults();
    assert_eq!(got.len(), 48);
    // 48 calls, 16 at a time: three waves of 100 ms, never one wave and never 48.
    assert!(took >= Duration::from_millis(290), "{took:?}");
    assert!(took < Duration::from_millis(2_000), "{took:?}");
}

#[tokio::test]
async fn unknown_skus_and_contexts_without_a_market_are_absent() {
    let (w, sim, c) = setup().await;
    let mut skus = w.skus(7);
    skus.push(Sku::new("P999999-OAK"));
    let prices = c.prices.as_ref().unwrap();
    let got = prices
        .prices(&RequestContext::default(), &skus)
        .await
        .unwrap();
    assert_eq!(got.len(), skus.len() - 1);
    assert!(!got.contains_key(&Sku::new("P999999-OAK")));
    // No market for the currency: no prices, and no request.
    let mut config = simulator::demo_config(&sim.base_url());
    config.markets.online.remove(&Currency::EUR);
    let c2 = connector(&config);
    sim.control.stats.reset();
    let cx = RequestContext {
        currency: Currency::EUR,
        ..RequestContext::default()
    };
    let got = c2
        .prices
        .as_ref()
        .unwrap()
        .prices(&cx, &skus)
        .await
        .unwrap();
    assert!(got.is_empty());
    assert_eq!(sim.control.stats.total(), 0);
}

#[tokio::test]
async fn customer_keys_of_every_kind_share_one_lookup_per_50_keys() {
    let (w, sim, c) = setup().await;
    let held: Vec<u32> = (0..w.customer_count())
        .filter(|&i| {
            w.system_customer(CustomerSlice::Erp, i)
                .is_some_and(|c| c.phone.is_some())
        })
        .take(12)
        .collect();
    let mut keys = Vec::new();
    for &i in &held {
        let t = w.customer(i);
        keys.push(MatchKey::CustomerNumber(t.number.clone()));
        keys.push(MatchKey::email(&t.email.to_uppercase()).unwrap());
        keys.push(MatchKey::Phone(t.phone.clone().unwrap()));
        keys.push(MatchKey::LoyaltyNumber(format!("7{}", 1_000_000 + i)));
    }
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
            let recs = got.get(&key).unwrap_or_else(|| panic!("{key:?} missing"));
            assert_eq!(recs[0].number.as_ref(), Some(&t.number));
        }
        assert!(!got.contains_key(&MatchKey::LoyaltyNumber(format!("7{}", 1_000_000 + i))));
    }
    // 36 keys with a value in commerce: one request.
    assert_eq!(sim.control.stats.count(LOOKUP), 1);
    // A company carries its organization and the B2B group.
    let company = (0..w.customer_count())
        .find(|&i| w.customer(i).company_name.is_some())
        .unwrap();
    let key = MatchKey::CustomerNumber(World::customer_number(company));
    let got = c
        .customers
        .as_ref()
        .unwrap()
        .customers(&RequestContext::default(), std::slice::from_ref(&key))
        .await
        .unwrap();
    let r = &got[&key][0];
    assert_eq!(r.kind, CustomerKind::Company);
    assert_eq!(r.company_name, w.customer(company).company_name);
    assert_eq!(r.customer_group, Some(CustomerGroup::new("B2B")));
}

#[tokio::test]
async fn twenty_orders_by_number_cost_twenty_reads_and_one_customer_lookup() {
    let (w, sim, c) = setup().await;
    let mut numbers: Vec<OrderNumber> =
        (0..20u32).map(|k| World::order_number(k * 2_477)).collect();
    // Another generator's numbers and unknown ids are absent; the first costs no request.
    numbers.push(OrderNumber::new("PO123456"));
    numbers.push(OrderNumber::new("SO9999999"));
    let got = c
        .orders
        .as_ref()
        .unwrap()
        .orders(&RequestContext::default(), &numbers)
        .await
        .unwrap();
    assert_eq!(got.len(), 20);
    for n in &numbers[..20] {
        let j = w.order_index(n).unwrap();
        assert_eq!(got[n], w.order(j));
    }
    let order_reads: u64 = sim
        .control
        .stats
        .routes()
        .iter()
        .filter(|(k, _)| k.starts_with("GET /episerverapi/commerce/orders/"))
        .map(|(_, v)| v)
        .sum();
    assert_eq!(order_reads, 21);
    assert_eq!(sim.control.stats.count(LOOKUP), 1);
}

#[tokio::test]
async fn orders_for_eight_customers_are_one_lookup_and_eight_reads_cut_to_the_limit() {
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
    assert_eq!(sim.control.stats.count(LOOKUP), 1);
    assert_eq!(count_ending(&sim, "/all"), 8);
}

#[tokio::test]
async fn listing_pages_that_split_a_product_from_its_variations_give_whole_products() {
    let w = world();
    let sim = simulator::start(w.clone(), 0).await.unwrap();
    let mut config = simulator::demo_config(&sim.base_url());
    config.page_size = 4;
    let c = connector(&config);
    let src = c.products.as_ref().unwrap();
    let mut after = None;
    let mut seen = Vec::new();
    for _ in 0..12 {
        let page = src
            .list_products(
                &RequestContext::default(),
                &PageRequest {
                    first: 50,
                    after: after.clone(),
                },
            )
            .await
            .unwrap();
        assert!(page.items.len() <= 4);
        seen.extend(page.items);
        after = page.next;
    }
    assert!(seen.len() >= 10, "{}", seen.len());
    for (k, p) in seen.iter().enumerate() {
        assert_eq!(p, &as_seen(&w, k as u32, &sim.base_url()));
    }
    let err = src
        .list_products(
            &RequestContext::default(),
            &PageRequest {
                first: 3,
                after: Some("ak1.bogus".into()),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::BadRequest);
}

/// The world's product as this connector sees it: media under the site's asset folder, no
/// change date (catalog entries carry none).
fn as_seen(w: &World, i: u32, site: &str) -> Product {
    let mut p = w.product(i, &format!("{site}/globalassets/catalog"));
    p.updated_at = None;
    p
}

#[tokio::test]
async fn a_wrong_password_is_unauthorized_and_never_echoed() {
    let (w, sim, _) = setup().await;
    let mut config = simulator::demo_config(&sim.base_url());
    config.password = Secret::new("hunter2-wrong");
    let err = connector(&config)
        .prices
        .unwrap()
        .prices(&RequestContext::default(), &w.skus(0))
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Unauthorized);
    assert_eq!(err.kind.code(), "UPSTREAM_AUTH");
    assert!(err.message.contains("invalid_grant"), "{}", err.message);
    assert!(!err.to_string().contains("hunter2"));
    assert_eq!(sim.control.stats.count(API), 0);
}

#[tokio::test]
async fn a_revoked_token_is_replaced_once() {
    let w = world();
    let (sim, tokens) = simulator::start_with_tokens(w.clone(), 0).await.unwrap();
    let c = connector(&simulator::demo_config(&sim.base_url()));
    let locations = c.locations.as_ref().unwrap();
    let first = locations
        .locations(&RequestContext::default())
        .await
        .unwrap();
    assert_eq!(first.len(), w.locations().len());
    tokens.revoke_all();
    locations
        .locations(&RequestContext::default())
        .await
        .unwrap();
    assert_eq!(sim.control.stats.count(TOKEN), 2);
    assert_eq!(
        sim.control
            .stats
            .count("GET /episerverapi/commerce/warehouses"),
        3
    );
}

// ---------------------------------------------------------------------------------------------
// The simulator's dialect, spoken raw.

async fn raw_token(base: &str, password: &str, grant: &str) -> (u16, serde_json::Value) {
    let resp = reqwest::Client::new()
        .post(format!("{base}/episerverapi/token"))
        .form(&[
            ("grant_type", grant),
            ("username", DEMO_USERNAME),
            ("password", password),
        ])
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap())
}

async fn raw_get(base: &str, token: &str, path: &str) -> (u16, String) {
    let resp = reqwest::Client::new()
        .get(format!("{base}/episerverapi/commerce/{path}"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

#[tokio::test]
async fn the_simulator_speaks_the_service_api_dialect() {
    let (_, sim, _) = setup().await;
    let base = sim.base_url();
    let (status, body) = raw_token(&base, "nope", "password").await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "invalid_grant");
    let (status, body) = raw_token(&base, DEMO_PASSWORD, "client_credentials").await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "unsupported_grant_type");
    let (status, body) = raw_token(&base, DEMO_PASSWORD, "password").await;
    assert_eq!(status, 200);
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["expires_in"], 1199);
    let t = body["access_token"].as_str().unwrap().to_owned();

    let (status, body) = raw_get(&base, "not-a-token", "warehouses").await;
    assert_eq!(status, 401);
    assert!(body.contains("Authorization has been denied"), "{body}");
    // An unknown entity is a bare 404; an unknown route names the missing resource.
    let (status, body) = raw_get(&base, &t, "entries/NOPE").await;
    assert_eq!((status, body.as_str()), (404, ""));
    let (status, body) = raw_get(&base, &t, "shoes/42").await;
    assert_eq!(status, 404);
    assert!(body.contains("No HTTP resource was found"), "{body}");
    // Entries: a product links its variations; listing pages are positional.
    let (status, body) = raw_get(&base, &t, "entries/P000000").await;
    assert_eq!(status, 200);
    let entry: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(entry["EntryType"], "Product");
    assert!(entry["ChildCatalogEntries"][0]["Href"]
        .as_str()
        .unwrap()
        .starts_with("/episerverapi/commerce/entries/P000000-"));
    let (_, body) = raw_get(&base, &t, "entries/0/5").await;
    let page: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(page.as_array().unwrap().len(), 5);
    assert_eq!(page[0]["Code"], "P000000");
    let (status, _) = raw_get(&base, &t, "entries/0/0").await;
    assert_eq!(status, 400);
    // The lookup caps its keys.
    let many: Vec<String> = (0..51).map(|i| format!("customerNumber=C{i:07}")).collect();
    let (status, body) = raw_get(&base, &t, &format!("samlet/customers?{}", many.join("&"))).await;
    assert_eq!(status, 400);
    assert!(body.contains("At most 50"), "{body}");
    let (status, body) = raw_get(&base, &t, "samlet/customers?shoeSize=42").await;
    assert_eq!(status, 400);
    assert!(body.contains("shoeSize"), "{body}");
}
