//! Marketing Cloud's wire dialect, end to end against the simulator: batching (requests
//! counted by the simulator), rowset paging, the token handshake and its failures, token
//! reuse and renewal, error bodies, throttling, and journey entry events.

use samlet_connector::prelude::*;
use samlet_sfmc::simulator::{self, SimOptions};
use samlet_sfmc::{SfmcClient, SfmcConfig};
use samlet_testkit::sim::{FaultPlan, SimServer};
use samlet_testkit::world::CustomerSlice;
use samlet_testkit::{World, WorldConfig};
use serde_json::{json, Value};
use std::sync::Arc;

const ROWSET: &str = "GET /data/v1/customobjectdata/key/";
const TOKEN: &str = "POST /v2/token";
const EVENTS: &str = "POST /interaction/v1/events";

async fn setup() -> (Arc<World>, SimServer) {
    let world = Arc::new(World::new(WorldConfig::default()));
    let sim = simulator::start(world.clone(), 0).await.expect("simulator");
    (world, sim)
}

fn connector(sim: &SimServer, config: impl FnOnce(&mut SfmcConfig)) -> Connector {
    let mut c = simulator::demo_config(&sim.base_url());
    config(&mut c);
    samlet_sfmc::connect(ConnectorName::new("mkt"), &c, UpstreamPolicy::default()).expect("connect")
}

fn client(sim: &SimServer) -> SfmcClient {
    SfmcClient::new(
        ConnectorName::new("mkt"),
        &simulator::demo_config(&sim.base_url()),
        UpstreamPolicy::default(),
    )
    .expect("client")
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

fn email_key(world: &World, i: u32) -> MatchKey {
    MatchKey::email(&world.customer(i).email.to_uppercase()).expect("email")
}

async fn lookup(c: &Connector, keys: &[MatchKey]) -> HashMap<MatchKey, Vec<CustomerRecord>> {
    customers(c)
        .customers(&RequestContext::default(), keys)
        .await
        .expect("batch")
}

async fn raw_token(sim: &SimServer) -> String {
    let resp: Value = reqwest::Client::new()
        .post(format!("{}/v2/token", sim.base_url()))
        .json(&json!({
            "grant_type": "client_credentials",
            "client_id": simulator::DEMO_CLIENT_ID,
            "client_secret": simulator::DEMO_CLIENT_SECRET,
            "account_id": simulator::DEMO_ACCOUNT_ID,
        }))
        .send()
        .await
        .expect("answer")
        .json()
        .await
        .expect("json");
    resp["access_token"].as_str().expect("token").to_owned()
}

async fn raw_get(
    sim: &SimServer,
    path_and_query: &str,
    token: Option<&str>,
) -> (u16, reqwest::header::HeaderMap, Value) {
    let mut rb = reqwest::Client::new().get(format!("{}{path_and_query}", sim.base_url()));
    if let Some(t) = token {
        rb = rb.bearer_auth(t);
    }
    let resp = rb.send().await.expect("answer");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp.json::<Value>().await.unwrap_or(Value::Null);
    (status, headers, body)
}

// ----- batching ------------------------------------------------------------------------------

#[tokio::test]
async fn forty_eight_customers_by_email_cost_one_request() {
    let (world, sim) = setup().await;
    let c = connector(&sim, |_| {});
    let keys: Vec<MatchKey> = held(&world, 48)
        .into_iter()
        .map(|i| email_key(&world, i))
        .collect();
    sim.control.stats.reset();
    let found = lookup(&c, &keys).await;
    assert_eq!(found.len(), 48);
    assert_eq!(sim.control.stats.count(ROWSET), 1);
    assert_eq!(sim.control.stats.count(TOKEN), 1);
    assert_eq!(sim.control.stats.total(), 2);
}

#[tokio::test]
async fn forty_eight_customers_by_number_cost_one_request() {
    let (world, sim) = setup().await;
    let c = connector(&sim, |_| {});
    let keys: Vec<MatchKey> = held(&world, 48)
        .into_iter()
        .map(|i| MatchKey::CustomerNumber(World::customer_number(i)))
        .collect();
    let found = lookup(&c, &keys).await;
    assert_eq!(found.len(), 48);
    assert_eq!(sim.control.stats.count(ROWSET), 1);
}

#[tokio::test]
async fn a_batch_of_every_key_kind_costs_one_request() {
    let (world, sim) = setup().await;
    let c = connector(&sim, |_| {});
    let mut keys = Vec::new();
    for i in held(&world, 30) {
        let sys = world
            .system_customer(CustomerSlice::Marketing, i)
            .expect("held");
        keys.push(MatchKey::CustomerNumber(sys.number.clone()));
        keys.push(email_key(&world, i));
        if let Some(p) = &sys.phone {
            keys.push(MatchKey::Phone(p.clone()));
        }
        if let Some(l) = &sys.loyalty_number {
            keys.push(MatchKey::LoyaltyNumber(l.clone()));
        }
    }
    let found = lookup(&c, &keys).await;
    assert_eq!(found.len(), keys.len(), "every key finds its customer");
    assert_eq!(sim.control.stats.count(ROWSET), 1);
}

#[tokio::test]
async fn a_large_batch_is_split_only_by_request_length() {
    let (world, sim) = setup().await;
    let c = connector(&sim, |_| {});
    let keys: Vec<MatchKey> = held(&world, 400)
        .into_iter()
        .map(|i| email_key(&world, i))
        .collect();
    let found = lookup(&c, &keys).await;
    assert_eq!(found.len(), 400);
    let requests = sim.control.stats.count(ROWSET);
    // About 60 bytes per encoded e-mail term: 400 terms fill three 8000-byte requests.
    assert!((3..=5).contains(&requests), "{requests} requests");
    println!("400 e-mails: {requests} rowset requests");

    // A smaller bound means more, shorter requests, and still every answer.
    let small = connector(&sim, |c| c.max_url_length = 2_000);
    sim.control.stats.reset();
    let found = lookup(&small, &keys).await;
    assert_eq!(found.len(), 400);
    assert!(sim.control.stats.count(ROWSET) > requests);
}

#[tokio::test]
async fn answers_spanning_pages_are_read_page_by_page() {
    let (world, sim) = setup().await;
    let c = connector(&sim, |c| c.page_size = 2);
    let keys: Vec<MatchKey> = held(&world, 5)
        .into_iter()
        .map(|i| MatchKey::CustomerNumber(World::customer_number(i)))
        .collect();
    let found = lookup(&c, &keys).await;
    assert_eq!(found.len(), 5);
    assert_eq!(sim.control.stats.count(ROWSET), 3, "pages of 2, 2 and 1");
}

#[tokio::test]
async fn unknown_and_awkward_keys_are_absent_not_errors() {
    let (world, sim) = setup().await;
    let c = connector(&sim, |_| {});
    let not_held = (0..world.customer_count())
        .find(|&i| !world.in_slice(CustomerSlice::Marketing, i))
        .expect("someone is not in marketing");
    let keys = vec![
        MatchKey::email("o'neil@example.com").expect("email"),
        MatchKey::CustomerNumber(World::customer_number(not_held)),
        MatchKey::email(&world.customer(not_held).email).expect("email"),
        MatchKey::LoyaltyNumber("7999999999".into()),
        MatchKey::Phone("12 34 56 78".into()),
    ];
    assert!(lookup(&c, &keys).await.is_empty());
    assert!(lookup(&c, &[]).await.is_empty());
}

// ----- auth ----------------------------------------------------------------------------------

#[tokio::test]
async fn bad_credentials_are_upstream_auth_and_never_reach_the_data_api() {
    let (_, sim) = setup().await;
    for change in [
        |c: &mut SfmcConfig| c.client_secret = Secret::new("not-the-secret"),
        |c: &mut SfmcConfig| c.client_id = "someone-else".into(),
        |c: &mut SfmcConfig| c.account_id = Some("999".into()),
    ] {
        let c = connector(&sim, change);
        let err = customers(&c)
            .customers(
                &RequestContext::default(),
                &[MatchKey::CustomerNumber(World::customer_number(1))],
            )
            .await
            .expect_err("refused");
        assert_eq!(err.kind, ErrorKind::Unauthorized, "{err}");
        assert_eq!(err.kind.code(), "UPSTREAM_AUTH");
        assert!(!err.message.contains("not-the-secret"), "{err}");
    }
    assert_eq!(sim.control.stats.count(ROWSET), 0);
}

#[tokio::test]
async fn a_token_serves_many_batches() {
    let (world, sim) = setup().await;
    let c = connector(&sim, |_| {});
    for i in held(&world, 3) {
        lookup(&c, &[email_key(&world, i)]).await;
    }
    assert_eq!(sim.control.stats.count(TOKEN), 1);
    assert_eq!(sim.control.stats.count(ROWSET), 3);
}

#[tokio::test]
async fn a_refused_token_is_renewed_and_the_call_repeated_once() {
    let (world, sim) = setup().await;
    let c = connector(&sim, |_| {});
    let key = email_key(&world, held(&world, 1)[0]);
    lookup(&c, std::slice::from_ref(&key)).await;
    reqwest::Client::new()
        .post(format!("{}/_sim/tokens/revoke", sim.base_url()))
        .send()
        .await
        .expect("revoked");
    sim.control.stats.reset();
    assert_eq!(lookup(&c, &[key]).await.len(), 1);
    assert_eq!(sim.control.stats.count(TOKEN), 1);
    assert_eq!(sim.control.stats.count(ROWSET), 2, "the 401 and the repeat");
}

#[tokio::test]
async fn the_token_endpoint_speaks_oauth() {
    let (_, sim) = setup().await;
    let http = reqwest::Client::new();
    let url = format!("{}/v2/token", sim.base_url());
    let ok: Value = http
        .post(&url)
        .json(
            &json!({"grant_type": "client_credentials", "client_id": "samlet-demo",
                      "client_secret": "demo-secret", "account_id": "100000001"}),
        )
        .send()
        .await
        .expect("answer")
        .json()
        .await
        .expect("json");
    assert_eq!(ok["token_type"], "Bearer");
    assert_eq!(ok["expires_in"], 1079);
    assert_eq!(ok["rest_instance_url"], format!("{}/", sim.base_url()));
    assert!(ok["soap_instance_url"].is_string());
    let bad = http
        .post(&url)
        .json(
            &json!({"grant_type": "client_credentials", "client_id": "samlet-demo",
                      "client_secret": "nope"}),
        )
        .send()
        .await
        .expect("answer");
    assert_eq!(bad.status().as_u16(), 401);
    let body: Value = bad.json().await.expect("json");
    assert_eq!(body["error"], "invalid_client");
    let grant = http
        .post(&url)
        .json(&json!({"grant_type": "password"}))
        .send()
        .await
        .expect("answer");
    assert_eq!(grant.status().as_u16(), 400);
}

// ----- the rowset endpoint -----------------------------------------------------------------

#[tokio::test]
async fn the_rowset_answers_in_marketing_clouds_shape() {
    let (world, sim) = setup().await;
    let token = raw_token(&sim).await;
    let i = held(&world, 1)[0];
    let email = world.customer(i).email.to_uppercase();
    let filter = format!("Email%20eq%20%27{email}%27");
    let (status, _, body) = raw_get(
        &sim,
        &format!("/data/v1/customobjectdata/key/Samlet_Customers/rowset?$filter={filter}"),
        Some(&token),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["count"], 1, "e-mail comparison ignores case: {body}");
    assert_eq!(
        (body["page"].clone(), body["pageSize"].clone()),
        (json!(1), json!(2500))
    );
    assert!(body["requestToken"].is_string());
    assert!(body["links"]["self"].is_string());
    let item = &body["items"][0];
    assert_eq!(
        item["keys"]["customernumber"],
        World::customer_number(i).as_str()
    );
    assert_eq!(item["values"]["email"], world.customer(i).email);
    assert!(matches!(
        item["values"]["emailoptin"].as_str(),
        Some("True" | "False")
    ));

    // Unfiltered: the whole data extension, page by page.
    let (_, _, all) = raw_get(
        &sim,
        "/data/v1/customobjectdata/key/Samlet_Customers/rowset?$page=2&$pageSize=10",
        Some(&token),
    )
    .await;
    let held_count = world.slice_indexes(CustomerSlice::Marketing).count();
    assert_eq!(all["count"], held_count);
    assert_eq!(all["items"].as_array().map(Vec::len), Some(10));
    assert!(all["links"]["next"].is_string() && all["links"]["previous"].is_string());
}

#[tokio::test]
async fn rowset_errors_use_marketing_clouds_error_body() {
    let (_, sim) = setup().await;
    let token = raw_token(&sim).await;
    let base = "/data/v1/customobjectdata/key/Samlet_Customers/rowset";
    let (status, _, body) = raw_get(&sim, base, None).await;
    assert_eq!((status, body["errorcode"].clone()), (401, json!(0)));
    assert_eq!(body["message"], "Not Authorized");
    assert!(body["documentation"].is_string());
    let (status, _, body) = raw_get(&sim, &format!("{base}?$pageSize=2501"), Some(&token)).await;
    assert_eq!((status, body["errorcode"].clone()), (400, json!(10005)));
    let (status, _, body) = raw_get(
        &sim,
        &format!("{base}?$filter=Shoe%20eq%20%2742%27"),
        Some(&token),
    )
    .await;
    assert_eq!((status, body["errorcode"].clone()), (400, json!(10005)));
    let (status, _, _) = raw_get(
        &sim,
        "/data/v1/customobjectdata/key/Nope/rowset",
        Some(&token),
    )
    .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn a_missing_data_extension_is_a_configuration_error() {
    let (_, sim) = setup().await;
    let c = connector(&sim, |c| c.data_extension_key = "Not_There".into());
    let err = customers(&c)
        .customers(
            &RequestContext::default(),
            &[MatchKey::CustomerNumber(World::customer_number(1))],
        )
        .await
        .expect_err("no such data extension");
    assert_eq!(err.kind, ErrorKind::BadRequest);
    assert!(err.message.contains("data_extension_key"), "{err}");
}

#[tokio::test]
async fn throttling_is_opt_in_and_answers_errorcode_50100() {
    let world = Arc::new(World::new(WorldConfig::default()));
    let sim = simulator::start_with(
        world,
        0,
        SimOptions {
            rate_limit_per_second: Some(1),
            ..SimOptions::default()
        },
    )
    .await
    .expect("simulator");
    let token = raw_token(&sim).await;
    let path = "/data/v1/customobjectdata/key/Samlet_Customers/rowset?$pageSize=1";
    let (first, _, _) = raw_get(&sim, path, Some(&token)).await;
    let (second, headers, body) = raw_get(&sim, path, Some(&token)).await;
    assert_eq!((first, second), (200, 429));
    assert_eq!(body["errorcode"], 50100);
    assert_eq!(body["message"], "Rate limit exceeded");
    assert_eq!(body["retryAfter"], 1);
    assert_eq!(
        headers.get("retry-after").and_then(|v| v.to_str().ok()),
        Some("1")
    );
}

#[tokio::test]
async fn a_long_throttle_is_reported_with_its_retry_after() {
    let (world, sim) = setup().await;
    let c = connector(&sim, |_| {});
    lookup(&c, &[email_key(&world, 1)]).await;
    sim.control.set_faults(FaultPlan {
        rate_limit_next: 10,
        retry_after_secs: 30,
        only_paths: vec!["/data/".into()],
        ..FaultPlan::default()
    });
    let err = customers(&c)
        .customers(&RequestContext::default(), &[email_key(&world, 2)])
        .await
        .expect_err("throttled");
    assert_eq!(err.kind, ErrorKind::RateLimited);
    assert_eq!(err.retry_after, Some(std::time::Duration::from_secs(30)));
    assert!(err.message.contains("errorcode 50100"), "{err}");
}

// ----- journey entry events ------------------------------------------------------------------

#[tokio::test]
async fn an_entry_event_is_accepted_and_can_be_read_back() {
    let world = Arc::new(World::new(WorldConfig::default()));
    let log = simulator::EventLog::default();
    let sim = simulator::start_with(
        world,
        0,
        SimOptions {
            events: log.clone(),
            ..SimOptions::default()
        },
    )
    .await
    .expect("simulator");
    let id = client(&sim)
        .fire_entry_event(
            "C0000042",
            simulator::DEMO_EVENT_DEFINITION_KEY,
            json!({"CustomerNumber": "C0000042", "EventType": "cart_abandoned", "Value": 1299.5}),
        )
        .await
        .expect("accepted");
    assert_eq!(id.as_str().len(), 36, "UUID-shaped: {id}");
    let events = log.events();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].event_instance_id, id.as_str());
    assert_eq!(events[0].contact_key, "C0000042");
    assert_eq!(events[0].data["EventType"], "cart_abandoned");
    let (status, _, listed) =
        raw_get(&sim, "/_sim/interaction/events?contactKey=C0000042", None).await;
    assert_eq!(status, 200);
    assert_eq!(listed["count"], 1);
    assert_eq!(listed["items"][0]["eventInstanceId"], id.as_str());
}

#[tokio::test]
async fn an_unknown_event_definition_key_is_rejected() {
    let world = Arc::new(World::new(WorldConfig::default()));
    let log = simulator::EventLog::default();
    let sim = simulator::start_with(
        world,
        0,
        SimOptions {
            events: log.clone(),
            ..SimOptions::default()
        },
    )
    .await
    .expect("simulator");
    let c = client(&sim);
    let err = c
        .fire_entry_event("C0000042", "APIEvent-unknown", json!({}))
        .await
        .expect_err("unknown key");
    assert_eq!(err.kind, ErrorKind::BadRequest);
    assert!(err.message.contains("errorcode 10005"), "{err}");
    assert!(log.is_empty());
    // Refused before any request: a period in the key, non-object data, no contact.
    for (contact, key, data) in [
        ("C1", "Acme.Event", json!({})),
        ("C1", simulator::DEMO_EVENT_DEFINITION_KEY, json!([1])),
        (" ", simulator::DEMO_EVENT_DEFINITION_KEY, Value::Null),
    ] {
        let err = c
            .fire_entry_event(contact, key, data)
            .await
            .expect_err("refused");
        assert_eq!(err.kind, ErrorKind::BadRequest);
    }
    assert_eq!(sim.control.stats.count(EVENTS), 1);
}

#[tokio::test]
async fn an_entry_event_is_never_sent_twice() {
    let (_, sim) = setup().await;
    let c = client(&sim);
    // Take the token first, so the fault hits the event.
    c.fire_entry_event("C1", simulator::DEMO_EVENT_DEFINITION_KEY, Value::Null)
        .await
        .expect("accepted");
    sim.control.set_faults(FaultPlan {
        fail_next: 1,
        only_paths: vec!["/interaction/".into()],
        ..FaultPlan::default()
    });
    sim.control.stats.reset();
    let err = c
        .fire_entry_event("C1", simulator::DEMO_EVENT_DEFINITION_KEY, Value::Null)
        .await
        .expect_err("the outage is reported");
    assert_eq!(err.kind, ErrorKind::Unavailable);
    assert_eq!(sim.control.stats.count(EVENTS), 1, "not retried");
}

#[tokio::test]
async fn the_front_end_refuses_a_request_longer_than_it_accepts() {
    let (world, sim) = setup().await;
    let c = connector(&sim, |c| c.max_url_length = 50_000);
    let keys: Vec<MatchKey> = held(&world, 400)
        .into_iter()
        .map(|i| email_key(&world, i))
        .collect();
    let err = customers(&c)
        .customers(&RequestContext::default(), &keys)
        .await
        .expect_err("414");
    assert_eq!(err.kind, ErrorKind::BadRequest);
    assert!(err.message.contains("HTTP 414"), "{err}");
}

// ----- the marketing sink ----------------------------------------------------------------

async fn setup_with_log() -> (Arc<World>, SimServer, simulator::EventLog) {
    let world = Arc::new(World::new(WorldConfig::default()));
    let log = simulator::EventLog::default();
    let sim = simulator::start_with(
        world.clone(),
        0,
        SimOptions {
            events: log.clone(),
            ..SimOptions::default()
        },
    )
    .await
    .expect("simulator");
    (world, sim, log)
}

fn sink(c: &Connector) -> &dyn MarketingSink {
    c.marketing_events
        .as_deref()
        .expect("serves marketing events")
}

fn touchpoint(world: &World, i: u32, id: &str, kind: EventKind) -> CustomerEvent {
    let c = world.customer(i);
    CustomerEvent {
        id: id.to_owned(),
        customer: c.number.clone(),
        email: Some(c.email.to_uppercase()),
        kind,
        occurred_at: world.now(),
        channel: Channel::Store,
        store: Some(LocationId::new("DK-CPH")),
        sku: Some(world.skus(7)[0].clone()),
        value: Some(Money::new(Decimal::new(2_485_130, 2), Currency::SEK)),
        properties: json!({"offer": "Q-1"}),
    }
}

#[tokio::test]
async fn touchpoint_events_fire_entry_events_in_marketing_clouds_shape() {
    let (world, sim, log) = setup_with_log().await;
    let c = connector(&sim, |_| {});
    let i = held(&world, 1)[0];
    let events: Vec<CustomerEvent> = [
        EventKind::ProductViewed,
        EventKind::Purchase,
        EventKind::OfferSent,
    ]
    .into_iter()
    .enumerate()
    .map(|(n, k)| touchpoint(&world, i, &format!("evt-{n}"), k))
    .collect();
    sim.control.stats.reset();
    sink(&c)
        .track(&RequestContext::default(), &events)
        .await
        .expect("sent");
    assert_eq!(sim.control.stats.count(EVENTS), 3, "one request per event");
    let got = log.events();
    assert_eq!(got.len(), 3);
    let purchase = got
        .iter()
        .find(|e| e.data["EventId"] == "evt-1")
        .expect("the purchase");
    assert_eq!(purchase.contact_key, world.customer(i).number.as_str());
    assert_eq!(
        purchase.event_definition_key,
        simulator::DEMO_EVENT_DEFINITION_KEY
    );
    let d = &purchase.data;
    assert_eq!(d["Kind"], "Purchase");
    assert_eq!(d["Email"], world.customer(i).email.to_lowercase());
    assert_eq!(
        (&d["Channel"], &d["Store"]),
        (&json!("store"), &json!("DK-CPH"))
    );
    assert_eq!(
        (&d["Value"], &d["Currency"]),
        (&json!("24851.30"), &json!("SEK"))
    );
    assert_eq!(d["Sku"], world.skus(7)[0].as_str());
    assert!(d["OccurredAt"].as_str().is_some_and(|t| t.ends_with('Z')));
    assert_eq!(d["Properties"], "{\"offer\":\"Q-1\"}");
}

#[tokio::test]
async fn a_known_event_id_is_not_sent_again() {
    let (world, sim, log) = setup_with_log().await;
    let c = connector(&sim, |_| {});
    let i = held(&world, 1)[0];
    let e = touchpoint(&world, i, "evt-once", EventKind::StoreVisit);
    sim.control.stats.reset();
    // Twice in one batch, then again in another call.
    sink(&c)
        .track(&RequestContext::default(), &[e.clone(), e.clone()])
        .await
        .expect("sent");
    sink(&c)
        .track(&RequestContext::default(), std::slice::from_ref(&e))
        .await
        .expect("accepted, not resent");
    assert_eq!(sim.control.stats.count(EVENTS), 1);
    assert_eq!(log.len(), 1);
}

#[tokio::test]
async fn a_failed_event_is_sent_again_on_retry_and_the_rest_of_the_batch_goes_through() {
    let (world, sim, log) = setup_with_log().await;
    let c = connector(&sim, |_| {});
    let i = held(&world, 1)[0];
    // Take the token first, so the fault hits an event.
    sink(&c)
        .track(
            &RequestContext::default(),
            &[touchpoint(&world, i, "warm-up", EventKind::ProductViewed)],
        )
        .await
        .expect("sent");
    let batch = [
        touchpoint(&world, i, "evt-a", EventKind::BasketChanged),
        touchpoint(&world, i, "evt-b", EventKind::Wishlisted),
    ];
    sim.control.set_faults(FaultPlan {
        fail_next: 1,
        only_paths: vec!["/interaction/".into()],
        ..FaultPlan::default()
    });
    sim.control.stats.reset();
    let err = sink(&c)
        .track(&RequestContext::default(), &batch)
        .await
        .expect_err("one failed");
    assert_eq!(err.kind, ErrorKind::Unavailable);
    assert_eq!(
        sim.control.stats.count(EVENTS),
        2,
        "each sent once, none retried"
    );
    assert_eq!(log.len(), 2, "the warm-up and the event that went through");
    sink(&c)
        .track(&RequestContext::default(), &batch)
        .await
        .expect("the retry sends only the failed event");
    assert_eq!(sim.control.stats.count(EVENTS), 3);
    let mut ids: Vec<String> = log
        .events()
        .iter()
        .map(|e| e.data["EventId"].as_str().unwrap_or_default().to_owned())
        .collect();
    ids.sort();
    assert_eq!(ids, ["evt-a", "evt-b", "warm-up"]);
}

#[tokio::test]
async fn event_definition_keys_are_chosen_per_kind() {
    let (world, sim, log) = setup_with_log().await;
    let i = held(&world, 1)[0];
    // Purchases go to their own (here unknown) entry event; the rest to the default.
    let c = connector(&sim, |c| {
        c.event_definitions.purchase = Some("APIEvent-purchases".into());
    });
    sink(&c)
        .track(
            &RequestContext::default(),
            &[touchpoint(&world, i, "v-1", EventKind::ProductViewed)],
        )
        .await
        .expect("default key");
    let err = sink(&c)
        .track(
            &RequestContext::default(),
            &[touchpoint(&world, i, "p-1", EventKind::Purchase)],
        )
        .await
        .expect_err("the purchase key is unknown to the tenant");
    assert_eq!(err.kind, ErrorKind::BadRequest);
    assert!(err.message.contains("errorcode 10005"), "{err}");
    assert_eq!(log.len(), 1);

    // Without any key, nothing is sent.
    let none = connector(&sim, |c| c.event_definitions = Default::default());
    sim.control.stats.reset();
    let err = sink(&none)
        .track(
            &RequestContext::default(),
            &[touchpoint(&world, i, "v-2", EventKind::ProductViewed)],
        )
        .await
        .expect_err("not configured");
    assert_eq!(err.kind, ErrorKind::BadRequest);
    assert!(err.message.contains("event_definitions.default"), "{err}");
    assert_eq!(sim.control.stats.total(), 0);
}
