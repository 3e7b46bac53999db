//! Akeneo's wire dialect, end to end against the simulator: request budgets of batch reads,
//! `search_after` paging through `_links.next`, the 100-item cap, the OAuth handshake with its
//! failures and renewals, scopes per channel, and media links.

use samlet_akeneo::simulator::{self, SimOptions, TokenControl};
use samlet_akeneo::AkeneoConfig;
use samlet_connector::prelude::*;
use samlet_testkit::sim::SimServer;
use samlet_testkit::{World, WorldConfig};
use serde_json::Value;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

const DATA: &str = "GET /api/rest/v1";
const TOKEN: &str = "POST /api/oauth/v1/token";

struct Setup {
    world: Arc<World>,
    sim: SimServer,
    tokens: TokenControl,
}

async fn setup(options: SimOptions) -> Setup {
    let world = Arc::new(World::new(WorldConfig::default()));
    let tokens = options.tokens.clone();
    let sim = simulator::start_with(world.clone(), 0, options)
        .await
        .expect("simulator starts");
    Setup { world, sim, tokens }
}

fn connector(config: &AkeneoConfig) -> Connector {
    samlet_akeneo::connect(ConnectorName::new("pim"), config, UpstreamPolicy::default())
        .expect("connects")
}

fn products(c: &Connector) -> &dyn ProductSource {
    c.products.as_deref().expect("serves products")
}

/// 48 products spread over the catalogue.
fn sample(world: &World) -> Vec<u32> {
    (0..48)
        .map(|k| (k * 41 + 5) % world.product_count())
        .collect()
}

/// A token straight from the simulator, for raw calls.
async fn raw_token(http: &reqwest::Client, base: &str) -> String {
    let reply: Value = http
        .post(format!("{base}/api/oauth/v1/token"))
        .basic_auth(simulator::DEMO_CLIENT_ID, Some(simulator::DEMO_SECRET))
        .json(&serde_json::json!({
            "grant_type": "password",
            "username": simulator::DEMO_USERNAME,
            "password": simulator::DEMO_PASSWORD,
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(reply["token_type"], "bearer");
    assert_eq!(reply["expires_in"], 3600);
    assert!(reply["scope"].is_null());
    assert!(reply["refresh_token"].as_str().is_some());
    reply["access_token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn forty_eight_products_by_id_cost_at_most_two_data_requests_and_one_token() {
    let s = setup(SimOptions::default()).await;
    let c = connector(&simulator::demo_config(&s.sim.base_url()));
    let idx = sample(&s.world);
    let ids: Vec<ProductId> = idx.iter().map(|&i| World::product_id(i)).collect();
    let variants: usize = idx.iter().map(|&i| s.world.skus(i).len()).sum();
    assert!(
        variants > 100,
        "the sample spans two pages of variants ({variants})"
    );

    let got = products(&c)
        .products(&RequestContext::default(), &ids)
        .await
        .unwrap();

    assert_eq!(got.len(), 48);
    for &i in &idx {
        let want = s.world.product(i, "");
        let p = &got[&want.id];
        assert_eq!(p.name, want.name);
        assert_eq!(p.description, want.description);
        assert_eq!(p.attributes, want.attributes);
        assert_eq!(p.categories, want.categories);
        assert_eq!(p.updated_at, want.updated_at);
        let skus: Vec<&Sku> = p.variants.iter().map(|v| &v.sku).collect();
        let want_skus: Vec<&Sku> = want.variants.iter().map(|v| &v.sku).collect();
        assert_eq!(skus, want_skus);
    }
    let stats = &s.sim.control.stats;
    assert!(stats.count(DATA) <= 2, "{:?}", stats.routes());
    assert_eq!(stats.count(TOKEN), 1, "{:?}", stats.routes());
    assert_eq!(stats.count("GET /api/rest/v1/product-models"), 0);
}

#[tokio::test]
async fn forty_eight_skus_cost_one_request_for_the_skus_and_one_per_hundred_variants() {
    let s = setup(SimOptions::default()).await;
    let c = connector(&simulator::demo_config(&s.sim.base_url()));
    let idx: Vec<u32> = sample(&s.world).into_iter().take(30).collect();
    let skus: Vec<Sku> = idx.iter().flat_map(|&i| s.world.skus(i)).take(48).collect();
    let got = products(&c)
        .products_by_sku(&RequestContext::default(), &skus)
        .await
        .unwrap();
    assert_eq!(got.len(), 48);
    for sku in &skus {
        assert!(got[sku].variant(sku).is_some(), "{sku}");
    }
    let stats = &s.sim.control.stats;
    // 48 SKUs fit one identifier search; their (at most 30) models' variants fit two pages.
    assert!(stats.count(DATA) <= 3, "{:?}", stats.routes());
    assert_eq!(stats.count(TOKEN), 1);
}

#[tokio::test]
async fn a_sku_seen_before_costs_one_request_its_family() {
    let s = setup(SimOptions::default()).await;
    let c = connector(&simulator::demo_config(&s.sim.base_url()));
    let cx = RequestContext::default();
    let stats = &s.sim.control.stats;
    let idx = sample(&s.world);
    let first: Vec<Sku> = idx[..10]
        .iter()
        .map(|&i| s.world.skus(i)[0].clone())
        .collect();

    let cold = products(&c).products_by_sku(&cx, &first).await.unwrap();
    assert_eq!(stats.count(DATA), 2, "identifiers, then families");
    let warm = products(&c).products_by_sku(&cx, &first).await.unwrap();
    assert_eq!(stats.count(DATA), 3, "the models are known: families only");
    assert_eq!(warm.len(), 10);
    for sku in &first {
        assert_eq!(warm[sku], cold[sku], "{sku}");
    }

    // A listing page teaches every variant it shows: any of them is one request away.
    let page = products(&c)
        .list_products(
            &cx,
            &PageRequest {
                first: 5,
                after: None,
            },
        )
        .await
        .unwrap();
    let listed: Vec<Sku> = page
        .items
        .iter()
        .map(|p| p.variants.last().unwrap().sku.clone())
        .collect();
    let before = stats.count(DATA);
    let got = products(&c).products_by_sku(&cx, &listed).await.unwrap();
    assert_eq!(stats.count(DATA), before + 1, "{:?}", stats.routes());
    for (sku, p) in listed.iter().zip(&page.items) {
        assert_eq!(got[sku].id, p.id, "{sku}");
    }

    // Known and unknown SKUs together: the families of the known go beside the lookup of the
    // unknown, and every SKU is answered.
    let mixed: Vec<Sku> = first[..3]
        .iter()
        .cloned()
        .chain(idx[20..23].iter().map(|&i| s.world.skus(i)[0].clone()))
        .collect();
    let got = products(&c).products_by_sku(&cx, &mixed).await.unwrap();
    assert_eq!(got.len(), 6);
    for sku in &mixed {
        assert!(got[sku].variant(sku).is_some(), "{sku}");
    }
    // Unknown SKUs are absent, hinted or not.
    let none = products(&c)
        .products_by_sku(&cx, &[Sku::new("NO-SUCH-SKU")])
        .await
        .unwrap();
    assert!(none.is_empty());
}

#[tokio::test]
async fn batches_beyond_a_hundred_keys_are_chunked_at_akeneo_s_cap() {
    let s = setup(SimOptions::default()).await;
    let c = connector(&simulator::demo_config(&s.sim.base_url()));
    let idx: Vec<u32> = (0..250).map(|k| k * 7).collect();
    let ids: Vec<ProductId> = idx.iter().map(|&i| World::product_id(i)).collect();
    let got = products(&c)
        .products(&RequestContext::default(), &ids)
        .await
        .unwrap();
    assert_eq!(got.len(), 250);
    // Each chunk of 100 models costs one request per 100 of its variants.
    let budget: usize = idx
        .chunks(100)
        .map(|chunk| {
            let variants: usize = chunk.iter().map(|&i| s.world.skus(i).len()).sum();
            variants.div_ceil(100)
        })
        .sum();
    assert_eq!(s.sim.control.stats.count(DATA) as usize, budget);
    assert_eq!(
        s.sim.control.stats.count(TOKEN),
        1,
        "concurrent chunks share one token"
    );
}

#[tokio::test]
async fn an_empty_batch_costs_no_request() {
    let s = setup(SimOptions::default()).await;
    let c = connector(&simulator::demo_config(&s.sim.base_url()));
    let cx = RequestContext::default();
    assert!(products(&c).products(&cx, &[]).await.unwrap().is_empty());
    assert!(products(&c)
        .products_by_sku(&cx, &[])
        .await
        .unwrap()
        .is_empty());
    assert_eq!(s.sim.control.stats.total(), 0);
}

#[tokio::test]
async fn search_after_pages_link_onward_until_the_catalogue_ends() {
    let s = setup(SimOptions::default()).await;
    let base = s.sim.base_url();
    let http = reqwest::Client::new();
    let token = raw_token(&http, &base).await;
    let mut href =
        format!("{base}/api/rest/v1/product-models?pagination_type=search_after&limit=100");
    let mut codes = Vec::new();
    let mut pages = 0;
    loop {
        let page: Value = http
            .get(&href)
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        pages += 1;
        assert!(
            page.get("current_page").is_none(),
            "no page numbers in search_after mode"
        );
        assert_eq!(page["_links"]["self"]["href"], href.as_str());
        assert!(page["_links"]["first"]["href"]
            .as_str()
            .is_some_and(|f| !f.contains("search_after=")));
        for item in page["_embedded"]["items"].as_array().unwrap() {
            codes.push(item["code"].as_str().unwrap().to_owned());
        }
        match page["_links"]["next"]["href"].as_str() {
            Some(next) => {
                assert!(next.contains("search_after="), "{next}");
                href = next.to_owned();
            }
            None => break,
        }
    }
    assert_eq!(pages, 20);
    let want: Vec<String> = (0..s.world.product_count())
        .map(|i| World::product_id(i).0)
        .collect();
    assert_eq!(codes, want, "every model once, in creation order");
}

#[tokio::test]
async fn the_connector_pages_with_opaque_cursors_in_the_pim_s_order() {
    let s = setup(SimOptions::default()).await;
    let c = connector(&simulator::demo_config(&s.sim.base_url()));
    let cx = RequestContext::default();
    let mut after = None;
    let mut seen = Vec::new();
    for _ in 0..3 {
        let page = products(&c)
            .list_products(
                &cx,
                &PageRequest {
                    first: 7,
                    after: after.clone(),
                },
            )
            .await
            .unwrap();
        assert_eq!(page.items.len(), 7);
        seen.extend(page.items.into_iter().map(|p| p.id));
        after = page.next;
        assert!(after.is_some());
    }
    let want: Vec<ProductId> = (0..21).map(World::product_id).collect();
    assert_eq!(seen, want);
    // A page of models and one request for their variants, each.
    assert_eq!(s.sim.control.stats.count(DATA), 6);
    // A cursor the connector did not issue is refused, not sent to the PIM as is.
    let e = products(&c)
        .list_products(
            &cx,
            &PageRequest {
                first: 7,
                after: Some("P000003".into()),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::BadRequest);
}

#[tokio::test]
async fn a_limit_above_a_hundred_is_answered_422_as_akeneo_does() {
    let s = setup(SimOptions::default()).await;
    let base = s.sim.base_url();
    let http = reqwest::Client::new();
    let token = raw_token(&http, &base).await;
    for path in ["products", "product-models"] {
        let reply = http
            .get(format!("{base}/api/rest/v1/{path}?limit=101"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status(), 422);
        let body: Value = reply.json().await.unwrap();
        assert_eq!(
            body,
            serde_json::json!({"code": 422, "message": "You cannot request more than 100 items."})
        );
    }
    // The connector never asks for more, whatever the page size the gateway wants.
    let c = connector(&simulator::demo_config(&base));
    let page = products(&c)
        .list_products(
            &RequestContext::default(),
            &PageRequest {
                first: 5000,
                after: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(page.items.len(), 100);
    // And a config asking for more is refused before any request.
    let mut cfg = simulator::demo_config(&base);
    cfg.page_size = 250;
    assert_eq!(cfg.validate()[0].key, "page_size");
}

#[tokio::test]
async fn unsupported_filters_and_bad_search_json_get_akeneo_s_errors() {
    let s = setup(SimOptions::default()).await;
    let base = s.sim.base_url();
    let http = reqwest::Client::new();
    let token = raw_token(&http, &base).await;
    let get = |q: &str| {
        http.get(format!("{base}/api/rest/v1/products?{q}"))
            .bearer_auth(&token)
            .send()
    };
    let r = get("search=%7Bnope").await.unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().await.unwrap()["code"], 400);
    let r = get("search=%7B%22family%22%3A%5B%7B%22operator%22%3A%22IN%22%2C%22value%22%3A%5B%22sofas%22%5D%7D%5D%7D")
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
}

#[tokio::test]
async fn requests_without_a_valid_bearer_token_get_akeneo_s_401_bodies() {
    let s = setup(SimOptions::default()).await;
    let base = s.sim.base_url();
    let http = reqwest::Client::new();
    let url = format!("{base}/api/rest/v1/products");
    let r = http.get(&url).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        serde_json::json!({"code": 401, "message": "Authentication is required"})
    );
    let r = http.get(&url).bearer_auth("forged").send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(
        r.json::<Value>().await.unwrap()["message"],
        "The access token provided is invalid."
    );
}

#[tokio::test]
async fn bad_credentials_are_422_at_the_token_endpoint_and_upstream_auth_in_the_connector() {
    let s = setup(SimOptions::default()).await;
    let base = s.sim.base_url();
    let http = reqwest::Client::new();
    let r = http
        .post(format!("{base}/api/oauth/v1/token"))
        .basic_auth(simulator::DEMO_CLIENT_ID, Some("wrong-secret"))
        .json(&serde_json::json!({"grant_type": "password", "username": "samlet", "password": "demo-password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    assert_eq!(
        r.json::<Value>().await.unwrap()["message"],
        "Parameter \"client_id\" is missing or does not match any client, or secret is invalid"
    );
    // The form-encoded body Akeneo also accepts, with a wrong password.
    let r = http
        .post(format!("{base}/api/oauth/v1/token"))
        .basic_auth(simulator::DEMO_CLIENT_ID, Some(simulator::DEMO_SECRET))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=password&username=samlet&password=nope")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    assert_eq!(
        r.json::<Value>().await.unwrap()["message"],
        "No user found for the given username and password"
    );

    let mut cfg = simulator::demo_config(&base);
    cfg.secret = Secret::new("wrong-secret-value");
    let e = products(&connector(&cfg))
        .products(&RequestContext::default(), &[World::product_id(1)])
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unauthorized);
    assert!(e.message.contains("client_id"), "{}", e.message);
    assert!(!e.to_string().contains("wrong-secret-value"));
    assert_eq!(
        s.sim.control.stats.count(DATA),
        0,
        "no data call without a token"
    );
}

#[tokio::test]
async fn a_revoked_access_token_is_renewed_once_with_the_refresh_token() {
    let s = setup(SimOptions::default()).await;
    let c = connector(&simulator::demo_config(&s.sim.base_url()));
    let cx = RequestContext::default();
    let ids = [World::product_id(3)];
    products(&c).products(&cx, &ids).await.unwrap();
    s.tokens.revoke_access_tokens();
    let got = products(&c).products(&cx, &ids).await.unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(s.tokens.password_grants(), 1);
    assert_eq!(s.tokens.refresh_grants(), 1);
    // The refused call, then the same call with the new token.
    assert_eq!(s.sim.control.stats.count(DATA), 3);
}

#[tokio::test]
async fn when_the_refresh_token_is_refused_the_password_grant_takes_over() {
    let s = setup(SimOptions::default()).await;
    let c = connector(&simulator::demo_config(&s.sim.base_url()));
    let cx = RequestContext::default();
    let ids = [World::product_id(3)];
    products(&c).products(&cx, &ids).await.unwrap();
    s.tokens.revoke_all();
    products(&c).products(&cx, &ids).await.unwrap();
    assert_eq!(s.tokens.password_grants(), 2);
    assert_eq!(s.tokens.refresh_grants(), 0);
}

#[tokio::test]
async fn an_expiring_token_is_refreshed_before_it_is_refused() {
    let s = setup(SimOptions {
        token_ttl: Duration::from_secs(1),
        ..SimOptions::default()
    })
    .await;
    let c = connector(&simulator::demo_config(&s.sim.base_url()));
    let cx = RequestContext::default();
    let ids = [World::product_id(3)];
    products(&c).products(&cx, &ids).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    products(&c).products(&cx, &ids).await.unwrap();
    assert_eq!(s.tokens.refresh_grants(), 1);
    assert_eq!(s.tokens.password_grants(), 1);
    assert_eq!(s.sim.control.stats.count(DATA), 2, "no call was refused");
}

#[tokio::test]
async fn the_request_channel_picks_the_akeneo_scope() {
    let s = setup(SimOptions::default()).await;
    let mut cfg = simulator::demo_config(&s.sim.base_url());
    // A scope the PIM does not have: only requests from in-store channels use it.
    cfg.scopes.store = "print".into();
    let c = connector(&cfg);
    let ids = [World::product_id(9)];
    let web = RequestContext::default();
    assert_eq!(products(&c).products(&web, &ids).await.unwrap().len(), 1);
    let pos = RequestContext {
        channel: Channel::Pos,
        ..RequestContext::default()
    };
    let e = products(&c).products(&pos, &ids).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::BadRequest);
    assert!(
        e.message.contains("Scope \"print\" does not exist"),
        "{}",
        e.message
    );
}

#[tokio::test]
async fn media_are_the_world_s_files_behind_akeneo_download_links() {
    let s = setup(SimOptions::default()).await;
    let base = s.sim.base_url();
    let c = connector(&simulator::demo_config(&base));
    let id = World::product_id(42);
    let got = products(&c)
        .products(&RequestContext::default(), std::slice::from_ref(&id))
        .await
        .unwrap();
    let p = &got[&id];
    let want = s.world.product(42, "");
    assert_eq!(p.media[0].code, want.media[0].code);
    assert_eq!(
        p.media[0].url,
        format!("{base}/api/rest/v1/media-files/p000042.jpg/download")
    );
    for (v, w) in p.variants.iter().zip(&want.variants) {
        assert_eq!(v.media[0].code, w.media[0].code);
        assert_eq!(v.name, w.name);
        assert_eq!(v.attributes, w.attributes, "colour labels per locale");
    }
    let http = reqwest::Client::new();
    let token = raw_token(&http, &base).await;
    let r = http
        .get(&p.variants[0].media[0].url)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "image/jpeg");
    let meta: Value = http
        .get(format!("{base}/api/rest/v1/media-files/p000042.jpg"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(meta["mime_type"], "image/jpeg");
    assert_eq!(meta["_links"]["download"]["href"], p.media[0].url.as_str());
}

#[tokio::test]
async fn unknown_keys_are_absent_and_single_resources_answer_404() {
    let s = setup(SimOptions::default()).await;
    let base = s.sim.base_url();
    let c = connector(&simulator::demo_config(&base));
    let cx = RequestContext::default();
    let got = products(&c)
        .products(&cx, &[ProductId::new("P999999"), ProductId::new("nope")])
        .await
        .unwrap();
    assert!(got.is_empty());
    let got = products(&c)
        .products_by_sku(&cx, &[Sku::new("P000001-PLAID")])
        .await
        .unwrap();
    assert!(got.is_empty());
    let http = reqwest::Client::new();
    let token = raw_token(&http, &base).await;
    let r = http
        .get(format!("{base}/api/rest/v1/products/P999999-OAK"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let sku = &s.world.skus(5)[0];
    let one: Value = http
        .get(format!(
            "{base}/api/rest/v1/products/{sku}?with_attribute_options=true"
        ))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(one["identifier"], sku.as_str());
    assert_eq!(one["parent"], "P000005");
    assert!(one["values"]["color"][0]["linked_data"]["labels"]["da_DK"].is_string());
    let seen: HashSet<&str> = one["values"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert!(
        seen.contains("name") && seen.contains("variant_name"),
        "{seen:?}"
    );
}

#[tokio::test]
async fn demo_toml_parses_to_demo_config() {
    let parsed: AkeneoConfig = toml::from_str(&simulator::demo_toml("http://127.0.0.1:1")).unwrap();
    assert_eq!(parsed, simulator::demo_config("http://127.0.0.1:1"));
    assert!(parsed.validate().is_empty());
}
