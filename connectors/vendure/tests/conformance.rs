//! The shared connector conformance suite against a REAL Vendure server (no simulator), and
//! tests of the connector's dialect: batch request counts, paging, the login handshake and
//! error mapping.
//!
//! One Vendure server (`server/server.js`, seeded with a small world) serves every test in
//! this binary; it stops when the test process exits. Each test talks to it through its own
//! fault-injecting proxy ([`server::fault_proxy`]), which counts requests and lets the suite
//! inject 503s, 429s and malformed bodies in front of the real server.

use samlet_connector::prelude::*;
use samlet_testkit::conformance::{run, Harness};
use samlet_testkit::sim::SimServer;
use samlet_testkit::{World, WorldConfig};
use samlet_vendure::server::{self, ServerOptions, VendureServer};
use samlet_vendure::VendureConfig;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

/// Products in the seeded world: enough for the suite's samples (30 products, 48 for prices
/// and stock), few enough to seed in seconds.
const PRODUCTS: u32 = 48;

struct Shared {
    world: Arc<World>,
    server: VendureServer,
}

/// The one server of this test binary, started on first use.
fn shared() -> &'static Shared {
    static SHARED: OnceLock<Shared> = OnceLock::new();
    static START: Mutex<()> = Mutex::new(());
    if let Some(s) = SHARED.get() {
        return s;
    }
    let _one = START.lock().unwrap_or_else(|e| e.into_inner());
    SHARED.get_or_init(|| {
        let world = Arc::new(World::with_sizes(WorldConfig::default(), PRODUCTS, 20, 0));
        let server = tokio::task::block_in_place(|| {
            VendureServer::start_blocking(&world, &ServerOptions::default())
        })
        .unwrap_or_else(|e| panic!("the Vendure server starts: {e}"));
        let t = server.timings();
        eprintln!(
            "vendure server: npm ci {:?}, boot {:?}, seed {:?} ({PRODUCTS} products), ready after {:?}",
            t.npm_install, t.boot, t.seed, t.ready
        );
        Shared { world, server }
    })
}

async fn proxy() -> SimServer {
    server::fault_proxy(&shared().server.base_url())
        .await
        .expect("the proxy starts")
}

fn connector(config: &VendureConfig) -> Connector {
    samlet_vendure::connect(
        ConnectorName::new("shop"),
        config,
        UpstreamPolicy::default(),
    )
    .expect("connects")
}

fn sample_skus(w: &World, products: u32) -> Vec<Sku> {
    (0..products).flat_map(|i| w.skus(i)).collect()
}

const ADMIN_API: &str = "POST /admin-api";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_vendure_connector_passes_the_conformance_suite_against_a_real_server() {
    let world = shared().world.clone();
    let proxy = proxy().await;
    let config = server::demo_config(&proxy.base_url());
    let mut wrong = config.clone();
    wrong.password = Secret::new("not-the-password");
    let harness = Harness {
        world,
        connector: connector(&config),
        bad_credentials: connector(&wrong),
        control: proxy.control.clone(),
        customer_slice: None,
        api_paths: server::API_PATHS.iter().map(|p| p.to_string()).collect(),
    };
    let started = Instant::now();
    run(&harness).await;
    eprintln!(
        "conformance suite against Vendure: {:?}, {} requests",
        started.elapsed(),
        proxy.control.stats.total()
    );
    proxy.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_of_skus_is_one_graphql_request_per_capability() {
    let w = &shared().world;
    let proxy = proxy().await;
    let c = connector(&server::demo_config(&proxy.base_url()));
    let cx = RequestContext::default();
    // Log in first, so the counts below are data requests only.
    c.locations.as_ref().unwrap().locations(&cx).await.unwrap();
    let skus = sample_skus(w, 20);
    assert!(skus.len() >= 40, "{}", skus.len());
    let skus = &skus[..40];

    proxy.control.stats.reset();
    let prices = c.prices.as_ref().unwrap().prices(&cx, skus).await.unwrap();
    assert_eq!(prices.len(), skus.len());
    assert_eq!(proxy.control.stats.count(ADMIN_API), 1, "prices");

    proxy.control.stats.reset();
    let stock = c
        .inventory
        .as_ref()
        .unwrap()
        .stock(&cx, skus)
        .await
        .unwrap();
    assert_eq!(stock.len(), skus.len());
    assert_eq!(proxy.control.stats.count(ADMIN_API), 1, "stock");

    proxy.control.stats.reset();
    let by_sku = c
        .products
        .as_ref()
        .unwrap()
        .products_by_sku(&cx, skus)
        .await
        .unwrap();
    assert_eq!(by_sku.len(), skus.len());
    assert_eq!(proxy.control.stats.count(ADMIN_API), 1, "products by sku");

    proxy.control.stats.reset();
    let ids: Vec<ProductId> = (0..30).map(World::product_id).collect();
    let products = c
        .products
        .as_ref()
        .unwrap()
        .products(&cx, &ids)
        .await
        .unwrap();
    assert_eq!(products.len(), 30);
    assert_eq!(proxy.control.stats.count(ADMIN_API), 1, "products by id");
    proxy.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_larger_than_the_page_size_are_cut_into_chunks() {
    let w = &shared().world;
    let proxy = proxy().await;
    let mut config = server::demo_config(&proxy.base_url());
    config.page_size = 10;
    let c = connector(&config);
    let cx = RequestContext::default();
    let skus = sample_skus(w, 20);
    let n = skus.len();
    proxy.control.stats.reset();
    let stock = c
        .inventory
        .as_ref()
        .unwrap()
        .stock(&cx, &skus)
        .await
        .unwrap();
    assert_eq!(stock.len(), n);
    // ceil(n / 10) data requests plus the login.
    assert_eq!(
        proxy.control.stats.count(ADMIN_API) as usize,
        n.div_ceil(10) + 1
    );
    proxy.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listing_walks_the_catalogue_in_pages_of_at_most_first() {
    let w = &shared().world;
    let proxy = proxy().await;
    let c = connector(&server::demo_config(&proxy.base_url()));
    let src = c.products.as_ref().unwrap();
    let cx = RequestContext::default();
    let mut after = None;
    let mut ids = Vec::new();
    let mut pages = 0;
    loop {
        let page = src
            .list_products(
                &cx,
                &PageRequest {
                    first: 7,
                    after: after.clone(),
                },
            )
            .await
            .unwrap();
        pages += 1;
        assert!(page.items.len() <= 7);
        ids.extend(page.items.into_iter().map(|p| p.id));
        match page.next {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    let want: Vec<ProductId> = (0..w.product_count()).map(World::product_id).collect();
    assert_eq!(ids, want, "every product once, in Vendure's id order");
    assert_eq!(pages, (w.product_count() as usize).div_ceil(7));
    let e = src
        .list_products(
            &cx,
            &PageRequest {
                first: 7,
                after: Some("ak1.abc".into()),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::BadRequest);
    proxy.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_credentials_are_refused_at_login_without_leaking_the_password() {
    let proxy = proxy().await;
    let mut config = server::demo_config(&proxy.base_url());
    config.password = Secret::new("wrong-password-123");
    let c = connector(&config);
    let e = c
        .locations
        .as_ref()
        .unwrap()
        .locations(&RequestContext::default())
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unauthorized);
    assert!(
        e.message.contains("INVALID_CREDENTIALS_ERROR"),
        "{}",
        e.message
    );
    assert!(!e.to_string().contains("wrong-password-123"));
    proxy.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configuration_the_server_does_not_match_is_a_bad_request() {
    let w = &shared().world;
    let proxy = proxy().await;
    let cx = RequestContext::default();
    let skus = sample_skus(w, 1);

    let mut config = server::demo_config(&proxy.base_url());
    config.price_channels.online = "no-such-channel".into();
    let e = connector(&config)
        .prices
        .as_ref()
        .unwrap()
        .prices(&cx, &skus)
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::BadRequest);
    assert!(e.message.contains("CHANNEL_NOT_FOUND"), "{}", e.message);

    let mut config = server::demo_config(&proxy.base_url());
    config.custom_fields.regular_price = "compareAt".into();
    let e = connector(&config)
        .prices
        .as_ref()
        .unwrap()
        .prices(&cx, &skus)
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::BadRequest);
    assert!(e.message.contains("compareAt"), "{}", e.message);
    proxy.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prices_follow_the_channel_currency_and_customer_group() {
    let w = &shared().world;
    let proxy = proxy().await;
    let c = connector(&server::demo_config(&proxy.base_url()));
    let src = c.prices.as_ref().unwrap();
    let skus = sample_skus(w, w.product_count());
    // Every campaign product is found with its regular price online, and without it in store.
    let online = src.prices(&RequestContext::default(), &skus).await.unwrap();
    let store_cx = RequestContext {
        channel: Channel::Kiosk,
        ..RequestContext::default()
    };
    let store = src.prices(&store_cx, &skus).await.unwrap();
    let campaigns = online.values().filter(|p| p.regular.is_some()).count();
    assert!(campaigns > 0, "the world has online campaigns");
    assert!(store
        .values()
        .all(|p| p.regular.is_none() && p.tax_included));
    for sku in &skus {
        let want = w.price(sku, PriceChannel::Store, Currency::DKK, None);
        assert_eq!(store.get(sku), want.as_ref(), "{sku}");
    }
    proxy.stop().await;
}

/// Logs `username` in and out directly at the server: Vendure's `logout` ends every session of
/// that administrator, including the connector's.
async fn log_everyone_out(username: &str, password: &str) {
    let url = format!("{}/admin-api", shared().server.base_url());
    let http = reqwest::Client::new();
    let login = http
        .post(&url)
        .json(&serde_json::json!({
            "query": "mutation($u: String!, $p: String!) { login(username: $u, password: $p) { __typename } }",
            "variables": { "u": username, "p": password },
        }))
        .send()
        .await
        .expect("login answers");
    let token = login
        .headers()
        .get("vendure-auth-token")
        .and_then(|v| v.to_str().ok())
        .expect("a session token")
        .to_owned();
    let logout: serde_json::Value = http
        .post(&url)
        .bearer_auth(token)
        .json(&serde_json::json!({ "query": "mutation { logout { success } }" }))
        .send()
        .await
        .expect("logout answers")
        .json()
        .await
        .expect("a JSON answer");
    assert_eq!(logout["data"]["logout"]["success"], true, "{logout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_administrator_suffices_and_an_ended_session_is_renewed_once() {
    let w = &shared().world;
    let proxy = proxy().await;
    let mut config = server::demo_config(&proxy.base_url());
    config.username = server::READER_USERNAME.into();
    config.password = Secret::new(server::READER_PASSWORD);
    let c = connector(&config);
    let cx = RequestContext::default();
    let skus = sample_skus(w, 3);
    // Every capability works with the reader's role (ReadCatalog, ReadStockLocation).
    assert_eq!(
        c.locations
            .as_ref()
            .unwrap()
            .locations(&cx)
            .await
            .unwrap()
            .len(),
        w.locations().len()
    );
    assert_eq!(
        c.products
            .as_ref()
            .unwrap()
            .products_by_sku(&cx, &skus)
            .await
            .unwrap()
            .len(),
        skus.len()
    );
    assert_eq!(
        c.inventory
            .as_ref()
            .unwrap()
            .stock(&cx, &skus)
            .await
            .unwrap()
            .len(),
        skus.len()
    );
    assert_eq!(
        c.prices
            .as_ref()
            .unwrap()
            .prices(&cx, &skus)
            .await
            .unwrap()
            .len(),
        skus.len()
    );
    // The server forgets the session: the next call is answered FORBIDDEN, the connector logs
    // in again and repeats the call (data, login, data).
    log_everyone_out(server::READER_USERNAME, server::READER_PASSWORD).await;
    proxy.control.stats.reset();
    let stock = c
        .inventory
        .as_ref()
        .unwrap()
        .stock(&cx, &skus)
        .await
        .unwrap();
    assert_eq!(stock.len(), skus.len());
    assert_eq!(proxy.control.stats.count(ADMIN_API), 3);
    proxy.stop().await;
}
