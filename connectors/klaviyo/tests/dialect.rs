//! Klaviyo's wire dialect, end to end against the simulator: batching (requests counted by
//! the simulator), cursor paging, the required `revision` header, auth failures, page-size
//! caps, rate-limit headers and throttling, and events.

use samlet_connector::prelude::*;
use samlet_klaviyo::simulator::{self, SimOptions};
use samlet_klaviyo::{EventProfile, KlaviyoClient, KlaviyoConfig, KlaviyoEvent};
use samlet_testkit::sim::SimServer;
use samlet_testkit::world::CustomerSlice;
use samlet_testkit::{World, WorldConfig};
use serde_json::{json, Value};
use std::sync::Arc;

const PROFILES: &str = "GET /api/profiles";
const REVISION: &str = "2026-07-15";

async fn setup() -> (Arc<World>, SimServer) {
    let world = Arc::new(World::new(WorldConfig::default()));
    let sim = simulator::start(world.clone(), 0).await.expect("simulator");
    (world, sim)
}

fn connector(sim: &SimServer, config: impl FnOnce(&mut KlaviyoConfig)) -> Connector {
    let mut c = simulator::demo_config(&sim.base_url());
    config(&mut c);
    samlet_klaviyo::connect(ConnectorName::new("mkt"), &c, UpstreamPolicy::default())
        .expect("connect")
}

fn customers(c: &Connector) -> &dyn CustomerSource {
    c.customers.as_deref().expect("serves customers")
}

/// Indexes of `n` customers the marketing slice holds.
fn held(world: &World, n: usize) -> Vec<u32> {
    world
        .slice_indexes(CustomerSlice::Marketing)
        .take(n)
        .collect()
}

async fn raw_get(
    sim: &SimServer,
    path_and_query: &str,
    headers: &[(&str, &str)],
) -> (u16, reqwest::header::HeaderMap, Value) {
    let mut rb = reqwest::Client::new().get(format!("{}{path_and_query}", sim.base_url()));
    for (k, v) in headers {
        rb = rb.header(*k, *v);
    }
    let resp = rb.send().await.expect("answer");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp.json::<Value>().await.unwrap_or(Value::Null);
    (status, headers, body)
}

const AUTH: (&str, &str) = ("authorization", "Klaviyo-API-Key pk_samlet_demo");

#[tokio::test]
async fn forty_eight_customers_by_email_cost_one_request() {
    let (world, sim) = setup().await;
    let c = connector(&sim, |_| {});
    let keys: Vec<MatchKey> = held(&world, 48)
        .into_iter()
        .map(|i| MatchKey::email(&world.customer(i).email.to_uppercase()).expect("email"))
        .collect();
    sim.control.stats.reset();
    let found = customers(&c)
        .customers(&RequestContext::default(), &keys)
        .await
        .expect("batch");
    assert_eq!(found.len(), 48);
    assert_eq!(sim.control.stats.count(PROFILES), 1);
    assert_eq!(sim.control.stats.total(), 1);
}

#[tokio::test]
async fn a_batch_costs_one_request_per_key_kind_per_hundred_keys() {
    let (world, sim) = setup().await;
    let c = connector(&sim, |_| {});
    let idx = held(&world, 150);
    let emails: Vec<MatchKey> = idx
        .iter()
        .map(|&i| MatchKey::Email(world.customer(i).email))
        .collect();
    sim.control.stats.reset();
    let found = customers(&c)
        .customers(&RequestContext::default(), &emails)
        .await
        .expect("emails");
    assert_eq!(found.len(), 150);
    assert_eq!(
        sim.control.stats.count(PROFILES),
        2,
        "150 e-mails: two filters of <= 100"
    );

    // Numbers, e-mails and phones together: one request per kind.
    let mut mixed = Vec::new();
    for &i in &idx[..30] {
        let sys = world
            .system_customer(CustomerSlice::Marketing, i)
            .expect("held");
        mixed.push(MatchKey::CustomerNumber(sys.number.clone()));
        mixed.push(MatchKey::Email(sys.email.clone()));
        if let Some(p) = sys.phone {
            mixed.push(MatchKey::Phone(p));
        }
    }
    sim.control.stats.reset();
    let found = customers(&c)
        .customers(&RequestContext::default(), &mixed)
        .await
        .expect("mixed");
    assert_eq!(found.len(), mixed.len());
    assert_eq!(sim.control.stats.count(PROFILES), 3);
    for (key, recs) in &found {
        assert_eq!(recs.len(), 1, "{key:?}");
        assert!(
            recs[0].matches(key) || matches!(key, MatchKey::Email(_)),
            "{key:?}"
        );
    }
}

#[tokio::test]
async fn loyalty_numbers_are_found_through_a_walk_that_follows_links_next() {
    // Without enforcement, so a burst 429 (and its retry) cannot change the count.
    let world = Arc::new(World::new(WorldConfig::default()));
    let sim = simulator::start_with(
        world.clone(),
        0,
        SimOptions {
            enforce_rate_limits: false,
        },
    )
    .await
    .expect("simulator");
    let c = connector(&sim, |_| {});
    let members: Vec<(u32, String)> = world
        .slice_indexes(CustomerSlice::Marketing)
        .filter_map(|i| Some((i, world.customer(i).loyalty_number?)))
        .take(5)
        .collect();
    let keys: Vec<MatchKey> = members
        .iter()
        .map(|(_, l)| MatchKey::LoyaltyNumber(l.clone()))
        .collect();
    sim.control.stats.reset();
    let found = customers(&c)
        .customers(&RequestContext::default(), &keys)
        .await
        .expect("loyalty");
    let profiles = world.slice_indexes(CustomerSlice::Marketing).count() as u64;
    // The first lookup walks every profile, 100 per page, following links.next; then one
    // request fetches the hits by id.
    assert_eq!(
        sim.control.stats.count(PROFILES),
        profiles.div_ceil(100) + 1
    );
    for (i, l) in &members {
        let recs = &found[&MatchKey::LoyaltyNumber(l.clone())];
        assert_eq!(recs[0].number, Some(World::customer_number(*i)));
        assert_eq!(recs[0].loyalty_number.as_deref(), Some(l.as_str()));
    }
    // Later lookups need at most a delta and a fetch.
    sim.control.stats.reset();
    let again = customers(&c)
        .customers(&RequestContext::default(), &keys[..1])
        .await
        .expect("again");
    assert_eq!(again.len(), 1);
    assert!(sim.control.stats.count(PROFILES) <= 2);
    // With the index off, loyalty keys are absent and cost nothing.
    let off = connector(&sim, |c| c.index_loyalty_numbers = false);
    sim.control.stats.reset();
    let none = customers(&off)
        .customers(&RequestContext::default(), &keys)
        .await
        .expect("off");
    assert!(none.is_empty());
    assert_eq!(sim.control.stats.total(), 0);
}

#[tokio::test]
async fn the_simulator_pages_with_cursors_in_links_next() {
    let (world, sim) = setup().await;
    let mut url = "/api/profiles/?page%5Bsize%5D=40&fields%5Bprofile%5D=external_id".to_owned();
    let mut seen = Vec::new();
    for _ in 0..3 {
        let (status, headers, body) = raw_get(&sim, &url, &[AUTH, ("revision", REVISION)]).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(headers["content-type"], "application/vnd.api+json");
        let data = body["data"].as_array().expect("data");
        assert_eq!(data.len(), 40);
        for p in data {
            assert_eq!(p["type"], "profile");
            let attrs = p["attributes"].as_object().expect("attributes");
            assert_eq!(attrs.len(), 1, "sparse fieldset: {attrs:?}");
            seen.push(
                p["attributes"]["external_id"]
                    .as_str()
                    .expect("id")
                    .to_owned(),
            );
        }
        let next = body["links"]["next"].as_str().expect("next");
        assert!(next.starts_with(&sim.base_url()), "{next}");
        assert!(next.contains("page%5Bcursor%5D="), "{next}");
        url = next.trim_start_matches(&sim.base_url()).to_owned();
    }
    let want: Vec<String> = held(&world, 120)
        .into_iter()
        .map(|i| World::customer_number(i).0)
        .collect();
    assert_eq!(seen, want, "index order, no gaps, no repeats");
    let (status, _, body) = raw_get(
        &sim,
        "/api/profiles/?page%5Bcursor%5D=garbage",
        &[AUTH, ("revision", REVISION)],
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["errors"][0]["source"]["parameter"], "page[cursor]");
}

#[tokio::test]
async fn a_page_size_over_one_hundred_is_refused_like_klaviyo() {
    let (_, sim) = setup().await;
    let (status, _, body) = raw_get(
        &sim,
        "/api/profiles/?page%5Bsize%5D=101",
        &[AUTH, ("revision", REVISION)],
    )
    .await;
    assert_eq!(status, 400);
    let e = &body["errors"][0];
    assert_eq!(e["code"], "invalid");
    assert_eq!(e["status"], 400);
    assert_eq!(e["source"]["parameter"], "page[size]");
    assert!(e["id"].as_str().is_some_and(|id| id.len() == 36));
}

#[tokio::test]
async fn a_missing_revision_header_is_a_bad_request() {
    let (world, sim) = setup().await;
    let (status, _, body) = raw_get(&sim, "/api/profiles/", &[AUTH]).await;
    assert_eq!(status, 400);
    assert_eq!(body["errors"][0]["code"], "invalid");
    assert_eq!(body["errors"][0]["source"]["parameter"], "revision");
    let (status, _, _) = raw_get(&sim, "/api/profiles/", &[AUTH, ("revision", "2099-01-01")]).await;
    assert_eq!(status, 400, "a revision newer than the simulator's");

    // The connector sends whatever revision it is configured with; an empty one is missing.
    let c = connector(&sim, |c| c.revision = String::new());
    let key = MatchKey::CustomerNumber(World::customer_number(held(&world, 1)[0]));
    let err = customers(&c)
        .customers(&RequestContext::default(), &[key])
        .await
        .expect_err("no revision");
    assert_eq!(err.kind, ErrorKind::BadRequest);
    assert!(err.message.contains("revision"), "{}", err.message);
    assert_eq!(sim.control.stats.count(PROFILES), 3, "a 400 is not retried");
}

#[tokio::test]
async fn a_wrong_key_is_unauthorized_and_never_echoed() {
    let (world, sim) = setup().await;
    let (status, _, body) = raw_get(&sim, "/api/profiles/", &[("revision", REVISION)]).await;
    assert_eq!(status, 401);
    assert_eq!(body["errors"][0]["code"], "not_authenticated");
    let c = connector(&sim, |c| c.api_key = Secret::new("pk_secret_wrong_key"));
    let key = MatchKey::CustomerNumber(World::customer_number(held(&world, 1)[0]));
    let err = customers(&c)
        .customers(&RequestContext::default(), &[key])
        .await
        .expect_err("bad key");
    assert_eq!(err.kind, ErrorKind::Unauthorized);
    assert!(err.message.contains("not_authenticated"), "{}", err.message);
    assert!(!format!("{err} {err:?}").contains("pk_secret_wrong_key"));
    assert_eq!(
        sim.control.stats.total(),
        2,
        "one raw request, one connector request"
    );
}

#[tokio::test]
async fn responses_carry_rate_limit_headers_and_bursts_are_throttled() {
    let (_, sim) = setup().await;
    let (_, headers, _) = raw_get(
        &sim,
        "/api/profiles/?page%5Bsize%5D=1",
        &[AUTH, ("revision", REVISION)],
    )
    .await;
    assert_eq!(headers["ratelimit-limit"], "750");
    assert_eq!(headers["ratelimit-remaining"], "749");
    assert!(headers.contains_key("ratelimit-reset"));
    let client = reqwest::Client::new();
    let url = format!("{}/api/profiles/?page%5Bsize%5D=1", sim.base_url());
    let answers = futures::future::join_all((0..90).map(|_| {
        client
            .get(&url)
            .header(AUTH.0, AUTH.1)
            .header("revision", REVISION)
            .send()
    }))
    .await;
    let throttled: Vec<_> = answers
        .into_iter()
        .filter_map(Result::ok)
        .filter(|r| r.status() == 429)
        .collect();
    // 75 per second: at least 90 + 1 - 75 - 75 (should the window roll mid-way) are refused.
    assert!(!throttled.is_empty());
    for r in &throttled {
        assert!(r.headers().contains_key("retry-after"));
        assert!(!r.headers().contains_key("ratelimit-remaining"));
    }

    let unlimited = simulator::start_with(
        Arc::new(World::new(WorldConfig::default())),
        0,
        SimOptions {
            enforce_rate_limits: false,
        },
    )
    .await
    .expect("simulator");
    let url = format!("{}/api/profiles/?page%5Bsize%5D=1", unlimited.base_url());
    let answers = futures::future::join_all((0..90).map(|_| {
        client
            .get(&url)
            .header(AUTH.0, AUTH.1)
            .header("revision", REVISION)
            .send()
    }))
    .await;
    assert!(answers
        .iter()
        .all(|r| r.as_ref().is_ok_and(|r| r.status() == 200)));
}

#[tokio::test]
async fn events_are_accepted_once_per_unique_id_and_listed() {
    let (world, sim) = setup().await;
    let config = simulator::demo_config(&sim.base_url());
    let client = KlaviyoClient::new(
        ConnectorName::new("mkt"),
        &config,
        UpstreamPolicy::default(),
    )
    .expect("client");
    let i = held(&world, 1)[0];
    let event = |unique: &str| KlaviyoEvent {
        metric: "Placed Order".into(),
        profile: EventProfile {
            external_id: Some(World::customer_number(i)),
            ..EventProfile::default()
        },
        properties: serde_json::Map::from_iter([("OrderId".to_owned(), json!(unique))]),
        time: None,
        value: Some(Decimal::new(129_995, 2)),
        value_currency: Some(Currency::DKK),
        unique_id: Some(unique.into()),
    };
    client.create_event(&event("SO1")).await.expect("accepted");
    client
        .create_event(&event("SO1"))
        .await
        .expect("accepted again");
    client.create_event(&event("SO2")).await.expect("accepted");
    let (status, _, body) = raw_get(
        &sim,
        "/api/events/?include=metric",
        &[AUTH, ("revision", REVISION)],
    )
    .await;
    assert_eq!(status, 200);
    let data = body["data"].as_array().expect("data");
    assert_eq!(data.len(), 2, "SO1 deduplicated: {body}");
    let profile = data[0]["relationships"]["profile"]["data"]["id"]
        .as_str()
        .expect("profile");
    let (_, _, p) = raw_get(
        &sim,
        &format!("/api/profiles/{profile}/"),
        &[AUTH, ("revision", REVISION)],
    )
    .await;
    assert_eq!(
        p["data"]["attributes"]["external_id"],
        World::customer_number(i).as_str()
    );
    assert_eq!(
        data[0]["attributes"]["event_properties"]["$value"],
        json!(1299.95)
    );
    assert_eq!(body["included"][0]["attributes"]["name"], "Placed Order");

    // Refused before any request: no identifier.
    sim.control.stats.reset();
    let mut anonymous = event("SO3");
    anonymous.profile = EventProfile::default();
    let err = client.create_event(&anonymous).await.expect_err("refused");
    assert_eq!(err.kind, ErrorKind::BadRequest);
    assert_eq!(sim.control.stats.total(), 0);
}

#[tokio::test]
async fn unsupported_filters_get_klaviyos_error() {
    let (_, sim) = setup().await;
    for filter in [
        "equals(first_name,%22Anna%22)",
        "any(email,%5B%22a%40b.dk%22",
        "or(equals(id,%22a%22),equals(id,%22b%22))",
    ] {
        let (status, _, body) = raw_get(
            &sim,
            &format!("/api/profiles/?filter={filter}"),
            &[AUTH, ("revision", REVISION)],
        )
        .await;
        assert_eq!(status, 400, "{filter}");
        assert_eq!(body["errors"][0]["source"]["parameter"], "filter");
    }
    let (status, _, body) = raw_get(
        &sim,
        "/api/profiles/01J9SAMQ7XK3N8TWZZZZZZZZZZ/",
        &[AUTH, ("revision", REVISION)],
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(body["errors"][0]["code"], "not_found");
}

#[tokio::test]
async fn profiles_can_be_walked_by_updated_from_a_watermark() {
    let (_, sim) = setup().await;
    let since = "2025-06-01T00:00:00+00:00";
    let path = format!(
        "/api/profiles/?sort=updated&page%5Bsize%5D=100&fields%5Bprofile%5D=updated&filter=greater-than(updated,{})",
        since.replace('+', "%2B")
    );
    let (status, _, body) = raw_get(&sim, &path, &[AUTH, ("revision", REVISION)]).await;
    assert_eq!(status, 200, "{body}");
    let times: Vec<String> = body["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|p| {
            p["attributes"]["updated"]
                .as_str()
                .expect("updated")
                .to_owned()
        })
        .collect();
    assert_eq!(times.len(), 100);
    let parsed: Vec<chrono::DateTime<chrono::FixedOffset>> = times
        .iter()
        .map(|t| chrono::DateTime::parse_from_rfc3339(t).expect("rfc 3339"))
        .collect();
    let since = chrono::DateTime::parse_from_rfc3339(since).expect("since");
    assert!(parsed.windows(2).all(|w| w[0] <= w[1]), "ascending");
    assert!(parsed.iter().all(|t| *t > since), "after the watermark");
    assert!(body["links"]["next"].is_string());
}
