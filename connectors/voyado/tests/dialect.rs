//! Voyado's wire dialect, end to end against the simulator: what a batch costs (Voyado cannot
//! batch, so requests are counted per key), bounded concurrency, the mandatory headers, auth
//! failures, 404 as an absent key, the tenant's `customKey` setups, the opt-in rate limit, and
//! reward vouchers.

use samlet_connector::prelude::*;
use samlet_testkit::sim::{FaultPlan, SimServer};
use samlet_testkit::world::CustomerSlice;
use samlet_testkit::{World, WorldConfig};
use samlet_voyado::simulator::{self, SimOptions};
use samlet_voyado::{ContactLookup, CustomKey, VoucherStatus, VoyadoClient, VoyadoConfig};
use serde_json::Value;
use std::sync::Arc;
use std::time::{Duration, Instant};

const ID_LOOKUP: &str = "GET /api/v3/contacts/id";
const SLICE: CustomerSlice = CustomerSlice::Marketing;

async fn setup_with(options: SimOptions) -> (Arc<World>, SimServer) {
    let world = Arc::new(World::new(WorldConfig::default()));
    let sim = simulator::start_with(world.clone(), 0, options)
        .await
        .expect("simulator");
    (world, sim)
}

async fn setup() -> (Arc<World>, SimServer) {
    setup_with(SimOptions::default()).await
}

fn config(sim: &SimServer, edit: impl FnOnce(&mut VoyadoConfig)) -> VoyadoConfig {
    let mut c = simulator::demo_config(&sim.base_url());
    // Tests count requests, not seconds: lift the client-side budget to Voyado's hard limit.
    c.requests_per_second = 200;
    edit(&mut c);
    c
}

fn connector(sim: &SimServer, edit: impl FnOnce(&mut VoyadoConfig)) -> Connector {
    samlet_voyado::connect(
        ConnectorName::new("loyalty"),
        &config(sim, edit),
        UpstreamPolicy::default(),
    )
    .expect("connect")
}

fn client(sim: &SimServer) -> VoyadoClient {
    VoyadoClient::new(
        ConnectorName::new("loyalty"),
        &config(sim, |_| {}),
        UpstreamPolicy::default(),
    )
    .expect("client")
}

fn customers(c: &Connector) -> &dyn samlet_connector::capability::CustomerSource {
    c.customers.as_deref().expect("serves customers")
}

/// Indexes of `n` customers the marketing slice holds, filtered by `keep`.
fn held(world: &World, n: usize, keep: impl Fn(u32) -> bool) -> Vec<u32> {
    world
        .slice_indexes(SLICE)
        .filter(|&i| keep(i))
        .take(n)
        .collect()
}

/// Requests to `GET /api/v3/contacts/{contactId}` (every v3 contact path but the id lookup).
fn contact_reads(sim: &SimServer) -> u64 {
    sim.control
        .stats
        .routes()
        .iter()
        .filter(|(k, _)| k.starts_with("GET /api/v3/contacts/") && !k.starts_with(ID_LOOKUP))
        .map(|(_, n)| n)
        .sum()
}

const DEMO_HEADERS: [(&str, &str); 3] = [
    ("apikey", "samlet-demo-apikey"),
    ("user-agent", "SamletTests/1.0"),
    ("content-type", "application/json"),
];

async fn raw(
    sim: &SimServer,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> (u16, reqwest::header::HeaderMap, Value) {
    // reqwest's default client sends no User-Agent of its own; one pooled client for all.
    static CLIENT: std::sync::OnceLock<reqwest::Client> = std::sync::OnceLock::new();
    let client = CLIENT.get_or_init(reqwest::Client::new);
    let url = format!("{}{path}", sim.base_url());
    let mut rb = match method {
        "POST" => client.post(url),
        _ => client.get(url),
    };
    for (k, v) in headers {
        rb = rb.header(*k, *v);
    }
    let resp = rb.send().await.expect("answer");
    let status = resp.status().as_u16();
    let h = resp.headers().clone();
    let body = resp.json::<Value>().await.unwrap_or(Value::Null);
    (status, h, body)
}

#[tokio::test]
async fn forty_eight_customers_by_email_cost_one_lookup_and_one_read_each() {
    let (world, sim) = setup().await;
    let c = connector(&sim, |_| {});
    let keys: Vec<MatchKey> = held(&world, 48, |_| true)
        .into_iter()
        .map(|i| MatchKey::email(&world.customer(i).email.to_uppercase()).expect("email"))
        .collect();
    sim.control.stats.reset();
    let found = customers(&c)
        .customers(&RequestContext::default(), &keys)
        .await
        .expect("batch");
    assert_eq!(found.len(), 48);
    assert_eq!(sim.control.stats.count(ID_LOOKUP), 48);
    assert_eq!(contact_reads(&sim), 48);
    assert_eq!(
        sim.control.stats.total(),
        96,
        "Voyado cannot batch: 2 requests per customer"
    );
}

#[tokio::test]
async fn a_customer_asked_for_by_several_keys_is_read_once() {
    let (world, sim) = setup().await;
    let c = connector(&sim, |_| {});
    let i = held(&world, 1, |i| {
        world
            .system_customer(SLICE, i)
            .is_some_and(|s| s.phone.is_some() && s.loyalty_number.is_some())
    })[0];
    let sys = world.system_customer(SLICE, i).expect("held");
    let keys = vec![
        MatchKey::CustomerNumber(sys.number.clone()),
        MatchKey::Email(sys.email.clone()),
        MatchKey::email(&sys.email.to_uppercase()).expect("email"),
        MatchKey::Phone(sys.phone.clone().expect("phone")),
        MatchKey::LoyaltyNumber(sys.loyalty_number.clone().expect("member")),
    ];
    sim.control.stats.reset();
    let found = customers(&c)
        .customers(&RequestContext::default(), &keys)
        .await
        .expect("batch");
    // number, e-mail (once, whatever the casing) and phone: 3 id lookups; the member number:
    // 1 v2 bykey read that returns the contact, so no v3 read is needed at all.
    assert_eq!(sim.control.stats.count(ID_LOOKUP), 3);
    assert_eq!(
        sim.control.stats.count("GET /api/v2/contacts/Member/bykey"),
        1
    );
    assert_eq!(contact_reads(&sim), 0);
    assert_eq!(sim.control.stats.total(), 4);
    let records: Vec<&CustomerRecord> = keys.iter().map(|k| &found[k][0]).collect();
    assert!(
        records.windows(2).all(|w| w[0] == w[1]),
        "one contact for every key"
    );
    assert_eq!(records[0].loyalty_tier.as_deref(), sys.loyalty_tier);
}

#[tokio::test]
async fn a_404_contact_not_found_is_an_absent_key_not_an_error() {
    let (world, sim) = setup().await;
    let c = connector(&sim, |_| {});
    let not_held = (0..world.customer_count())
        .find(|&i| !world.in_slice(SLICE, i))
        .expect("someone outside the slice");
    let keys = vec![
        MatchKey::email("nobody@nowhere.example").expect("email"),
        MatchKey::Phone("+4599999999".into()),
        MatchKey::CustomerNumber(World::customer_number(not_held)),
        MatchKey::LoyaltyNumber("79999999".into()),
    ];
    sim.control.stats.reset();
    let found = customers(&c)
        .customers(&RequestContext::default(), &keys)
        .await
        .expect("absent keys are not errors");
    assert!(found.is_empty(), "{found:?}");
    assert_eq!(sim.control.stats.total(), 4, "one lookup per key, no reads");
    let (status, _, body) = raw(
        &sim,
        "GET",
        "/api/v3/contacts/id?email=nobody%40nowhere.example",
        &DEMO_HEADERS,
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(body["errorCode"], "ContactNotFound");
}

#[tokio::test]
async fn a_404_from_a_wrong_path_is_an_error_not_an_absent_key() {
    let (world, sim) = setup().await;
    let c = connector(&sim, |c| c.base_url = format!("{}/not-voyado", c.base_url));
    let i = held(&world, 1, |_| true)[0];
    let err = customers(&c)
        .customers(
            &RequestContext::default(),
            &[MatchKey::Email(world.customer(i).email)],
        )
        .await
        .expect_err("a route 404 is not ContactNotFound");
    assert_eq!(err.kind, ErrorKind::NotFound);
}

#[tokio::test]
async fn a_bad_api_key_is_upstream_auth_and_never_echoed() {
    let (_, sim) = setup().await;
    let c = connector(&sim, |c| c.api_key = Secret::new("secret-key-123"));
    let err = customers(&c)
        .customers(
            &RequestContext::default(),
            &[MatchKey::CustomerNumber(World::customer_number(1))],
        )
        .await
        .expect_err("401");
    assert_eq!(err.kind, ErrorKind::Unauthorized);
    assert_eq!(err.kind.code(), "UPSTREAM_AUTH");
    assert!(!format!("{err} {err:?}").contains("secret-key-123"));
    assert_eq!(sim.control.stats.total(), 1, "an API key is not retried");
    let (status, _, body) = raw(
        &sim,
        "GET",
        "/api/v3/contacts/id?customKey=C0000001",
        &DEMO_HEADERS[1..],
    )
    .await;
    assert_eq!(
        (status, body["errorCode"].as_str()),
        (401, Some("Unauthorized"))
    );
}

#[tokio::test]
async fn the_user_agent_and_content_type_are_mandatory() {
    let (world, sim) = setup().await;
    let i = held(&world, 1, |_| true)[0];
    let path = format!(
        "/api/v3/contacts/id?customKey={}",
        World::customer_number(i)
    );
    let (status, _, body) = raw(&sim, "GET", &path, &[DEMO_HEADERS[0], DEMO_HEADERS[2]]).await;
    assert_eq!(
        (status, body["errorCode"].as_str()),
        (400, Some("MissingUserAgent"))
    );
    let (status, _, body) = raw(&sim, "GET", &path, &DEMO_HEADERS[..2]).await;
    assert_eq!(status, 500);
    assert_eq!(body["message"], "An error has occurred.");
    assert!(body.get("errorCode").is_none());
    let (status, _, body) = raw(&sim, "GET", &path, &DEMO_HEADERS).await;
    assert_eq!(status, 200);
    assert!(
        body.as_str().is_some_and(|id| id.len() == 36),
        "a GUID as a JSON string: {body}"
    );
    // The connector sends both (the conformance suite passes), with the configured agent.
    let c = connector(&sim, |c| c.user_agent = "AcmeGateway/2.1".into());
    customers(&c)
        .customers(
            &RequestContext::default(),
            &[MatchKey::CustomerNumber(World::customer_number(i))],
        )
        .await
        .expect("headers accepted");
}

#[tokio::test]
async fn id_lookups_follow_voyados_rules() {
    let (world, sim) = setup().await;
    let [a, b]: [u32; 2] = held(&world, 2, |_| true).try_into().expect("two");
    let (ea, eb) = (world.customer(a).email, world.customer(b).email);
    let na = World::customer_number(a);
    let get = |q: String| {
        let sim = &sim;
        async move {
            raw(
                sim,
                "GET",
                &format!("/api/v3/contacts/id?{q}"),
                &DEMO_HEADERS,
            )
            .await
        }
    };
    let id_a = get(format!("email={}", ea.to_uppercase())).await.2;
    assert!(id_a.is_string());
    assert_eq!(
        get(format!("any={ea}")).await.2,
        id_a,
        "any scans the e-mail first"
    );
    assert_eq!(
        get(format!("any={na}")).await.2,
        id_a,
        "then the custom key"
    );
    assert_eq!(get(format!("email={ea}&customKey={na}")).await.2, id_a);
    assert_eq!(
        get(format!("email={eb}&customKey={na}")).await.0,
        404,
        "keys must agree"
    );
    let (s, _, body) = get("email=not-an-email".into()).await;
    assert_eq!(
        (s, body["errorCode"].as_str()),
        (400, Some("InvalidEmailAddress"))
    );
    let (s, _, body) = get("mobilePhone=12345678".into()).await;
    assert_eq!(
        (s, body["errorCode"].as_str()),
        (400, Some("InvalidPhoneNumber"))
    );
    let (s, _, body) = get("contactType=Member".into()).await;
    assert_eq!(
        (s, body["errorCode"].as_str()),
        (400, Some("InvalidSearchQuery"))
    );
    let (s, _, body) = get(format!("customKey={na}&contactType=Prospect")).await;
    assert_eq!(
        (s, body["errorCode"].as_str()),
        (400, Some("InvalidContactType"))
    );
    let (s, _, body) = raw(&sim, "GET", "/api/v3/contacts/not-a-guid", &DEMO_HEADERS).await;
    assert_eq!(
        (s, body["errorCode"].as_str()),
        (400, Some("InvalidContactId"))
    );
    let id = id_a.as_str().expect("id");
    let (s, _, contact) = raw(
        &sim,
        "GET",
        &format!("/api/v3/contacts/{id}"),
        &DEMO_HEADERS,
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(contact["id"], id_a);
    assert_eq!(contact["attributes"]["externalId"], na.as_str());
    let member = contact["attributes"].get("memberNumber").is_some();
    assert_eq!(
        contact["meta"]["contactType"],
        if member { "Member" } else { "Contact" }
    );
}

#[tokio::test]
async fn a_member_number_tenant_looks_numbers_up_by_external_id_per_contact_type() {
    let (world, sim) = setup_with(SimOptions {
        custom_key: CustomKey::MemberNumber,
        ..SimOptions::default()
    })
    .await;
    let c = connector(&sim, |c| c.custom_key = CustomKey::MemberNumber);
    let idx = held(&world, 10, |i| {
        world
            .system_customer(SLICE, i)
            .is_some_and(|s| s.loyalty_number.is_some())
    });
    let mut keys = Vec::new();
    for &i in &idx[..5] {
        keys.push(MatchKey::CustomerNumber(World::customer_number(i)));
    }
    for &i in &idx[5..] {
        let sys = world.system_customer(SLICE, i).expect("held");
        keys.push(MatchKey::LoyaltyNumber(sys.loyalty_number.expect("member")));
    }
    sim.control.stats.reset();
    let found = customers(&c)
        .customers(&RequestContext::default(), &keys)
        .await
        .expect("batch");
    assert_eq!(found.len(), 10);
    // 5 numbers x 2 contact types (Member, Contact); 5 member numbers: lookup + read.
    assert_eq!(
        sim.control
            .stats
            .count("GET /api/v2/contacts/Member/byexternalid"),
        5
    );
    assert_eq!(
        sim.control
            .stats
            .count("GET /api/v2/contacts/Contact/byexternalid"),
        5
    );
    assert_eq!(sim.control.stats.count(ID_LOOKUP), 5);
    assert_eq!(contact_reads(&sim), 5);
    assert_eq!(sim.control.stats.total(), 20);
    for (key, recs) in &found {
        assert!(recs.len() == 1 && recs[0].matches(key), "{key:?}");
    }
}

#[tokio::test]
async fn requests_in_flight_are_bounded() {
    let (world, sim) = setup().await;
    let keys: Vec<MatchKey> = held(&world, 6, |_| true)
        .into_iter()
        .map(|i| MatchKey::Email(world.customer(i).email))
        .collect();
    sim.control.set_faults(FaultPlan {
        latency: Duration::from_millis(60),
        ..FaultPlan::default()
    });
    let narrow = connector(&sim, |c| c.max_concurrency = 2);
    let t = Instant::now();
    let found = customers(&narrow)
        .customers(&RequestContext::default(), &keys)
        .await
        .expect("batch");
    let bounded = t.elapsed();
    assert_eq!(found.len(), 6);
    // 6 lookups then 6 reads, 2 at a time: at least 6 rounds of 60 ms.
    assert!(bounded >= Duration::from_millis(360), "{bounded:?}");
    let wide = connector(&sim, |c| c.max_concurrency = 12);
    let t = Instant::now();
    customers(&wide)
        .customers(&RequestContext::default(), &keys)
        .await
        .expect("batch");
    assert!(t.elapsed() < bounded, "{:?} vs {bounded:?}", t.elapsed());
    sim.control.clear_faults();
}

#[tokio::test]
async fn the_rate_limit_is_enforced_only_when_asked() {
    let (world, sim) = setup_with(SimOptions {
        enforce_rate_limits: true,
        rate_limit_per_second: 10,
        ..SimOptions::default()
    })
    .await;
    let i = held(&world, 1, |_| true)[0];
    let path = format!(
        "/api/v3/contacts/id?customKey={}",
        World::customer_number(i)
    );
    let mut answers = Vec::new();
    for _ in 0..30 {
        answers.push(raw(&sim, "GET", &path, &DEMO_HEADERS).await);
    }
    let ok = answers.iter().filter(|(s, _, _)| *s == 200).count();
    assert!((10..30).contains(&ok), "{ok} admitted");
    let (_, headers, body) = answers
        .iter()
        .find(|(s, _, _)| *s == 429)
        .expect("throttled once over the limit");
    assert_eq!(body["errorCode"], "TooManyRequests");
    assert!(headers.get("retry-after").is_some());
    // The connector reports it as RATE_LIMITED with the wait (a wait longer than the policy
    // allows is not slept through).
    let policy = UpstreamPolicy {
        max_retry_after: Duration::ZERO,
        ..UpstreamPolicy::default()
    };
    let c = samlet_voyado::connect(ConnectorName::new("loyalty"), &config(&sim, |_| {}), policy)
        .expect("connect");
    let mut limited = None;
    for _ in 0..30 {
        let r = customers(&c)
            .customers(
                &RequestContext::default(),
                &[MatchKey::CustomerNumber(World::customer_number(i))],
            )
            .await;
        if let Err(e) = r {
            limited = Some(e);
            break;
        }
    }
    let e = limited.expect("the connector hits the limit too");
    assert_eq!(e.kind, ErrorKind::RateLimited);
    assert!(e.retry_after.is_some_and(|d| d >= Duration::from_secs(1)));

    // Off by default: Voyado's 200/s would only get in the way of benchmarks.
    let (_, open) = setup().await;
    let answers =
        futures::future::join_all((0..260).map(|_| raw(&open, "GET", &path, &DEMO_HEADERS))).await;
    assert!(answers.iter().all(|(s, _, _)| *s == 200));
}

#[tokio::test]
async fn reward_vouchers_page_and_redeem_once() {
    let (world, sim) = setup().await;
    let vc = client(&sim);
    let gold = held(&world, 1, |i| {
        world
            .system_customer(SLICE, i)
            .is_some_and(|s| s.loyalty_tier == Some("GOLD") && s.loyalty_number.is_some())
    })[0];
    let id = vc
        .contact_id(&ContactLookup::CustomKey(
            World::customer_number(gold).to_string(),
        ))
        .await
        .expect("lookup")
        .expect("held");
    let all = vc
        .reward_vouchers(&id, VoucherStatus::All)
        .await
        .expect("all");
    assert_eq!(all.len(), 2);
    let available = vc
        .reward_vouchers(&id, VoucherStatus::Available)
        .await
        .expect("available");
    assert_eq!(available.len(), 1);
    let v = &available[0];
    assert_eq!(v.value.amount, Decimal::from(250));
    assert!(!v.redeemed);

    vc.redeem_reward_voucher(&v.id)
        .await
        .expect("first redemption");
    let again = vc.redeem_reward_voucher(&v.id).await.expect_err("second");
    assert_eq!(again.kind, ErrorKind::Conflict);
    assert!(
        again.message.contains("RewardVoucherAlreadyRedeemed"),
        "{}",
        again.message
    );
    let redeemed = vc
        .reward_vouchers(&id, VoucherStatus::Redeemed)
        .await
        .expect("redeemed");
    assert_eq!(redeemed.len(), 1);
    assert!(redeemed[0].redeemed && redeemed[0].redeemed_on.is_some());
    assert!(vc
        .reward_vouchers(&id, VoucherStatus::Available)
        .await
        .expect("available")
        .is_empty());

    let expired = all.iter().find(|x| x.id != v.id).expect("expired voucher");
    let err = vc
        .redeem_reward_voucher(&expired.id)
        .await
        .expect_err("expired");
    assert!(err.kind == ErrorKind::Conflict && err.message.contains("RewardVoucherExpired"));
    let unknown = vc
        .redeem_reward_voucher("2e40b702-2767-4abe-ae99-aa510108e22b")
        .await
        .expect_err("unknown");
    assert_eq!(unknown.kind, ErrorKind::NotFound);

    // offset/count paging and its cap.
    let page = raw(
        &sim,
        "GET",
        &format!("/api/v3/reward-vouchers?contactId={id}&offset=1&count=1"),
        &DEMO_HEADERS,
    )
    .await
    .2;
    assert_eq!(
        (page["count"].as_u64(), page["totalCount"].as_u64()),
        (Some(1), Some(2))
    );
    let (s, _, body) = raw(
        &sim,
        "GET",
        &format!("/api/v3/reward-vouchers?contactId={id}&count=501"),
        &DEMO_HEADERS,
    )
    .await;
    assert_eq!(
        (s, body["errorCode"].as_str()),
        (400, Some("InvalidPaging"))
    );
}

// ----- the voucher store -----------------------------------------------------------------

const REDEEM: &str = "POST /api/v3/reward-vouchers/";

fn vouchers(c: &Connector) -> &dyn samlet_connector::capability::VoucherStore {
    c.vouchers.as_deref().expect("serves vouchers")
}

/// A GOLD member of the slice (an available 250 and an expired 100 voucher).
fn gold_member(world: &World, skip: usize) -> CustomerNumber {
    let i = held(world, skip + 1, |i| {
        world
            .system_customer(SLICE, i)
            .is_some_and(|s| s.loyalty_tier == Some("GOLD") && s.loyalty_number.is_some())
    })[skip];
    World::customer_number(i)
}

fn pos() -> RequestContext {
    RequestContext {
        channel: Channel::Pos,
        ..RequestContext::default()
    }
}

#[tokio::test]
async fn vouchers_read_by_code_and_redeem_exactly_once() {
    use samlet_connector::model::{VoucherStatus as Status, VoucherValue};
    let (world, sim) = setup().await;
    let c = connector(&sim, |_| {});
    let store = vouchers(&c);
    let member = gold_member(&world, 0);

    sim.control.stats.reset();
    let list = store.vouchers(&pos(), &member).await.expect("list");
    assert_eq!(
        sim.control.stats.total(),
        2,
        "{:?}",
        sim.control.stats.routes()
    );
    assert_eq!(sim.control.stats.count(ID_LOOKUP), 1);
    assert_eq!(list.len(), 2);
    let available = list
        .iter()
        .find(|v| v.status == Status::Available)
        .expect("available")
        .clone();
    let expired = list
        .iter()
        .find(|v| v.status == Status::Expired)
        .expect("expired")
        .clone();
    let VoucherValue::Amount(value) = &available.value else {
        panic!("an amount: {available:?}");
    };
    assert_eq!(value.amount, Decimal::from(250));
    let (prefix, number) = available.code.split_once(':').expect("customer:number");
    assert_eq!(prefix, member.as_str());
    assert!(number.len() == 13 && number.starts_with("25"), "{number}");
    assert!(available
        .valid_until
        .is_some_and(|t| t > chrono::Utc::now()));

    // By code: the same two requests; codes that name nothing cost none or one listing.
    sim.control.stats.reset();
    let read = store.voucher(&pos(), &available.code).await.expect("read");
    assert_eq!(read.as_ref(), Some(&available));
    assert_eq!(sim.control.stats.total(), 2);
    sim.control.stats.reset();
    assert!(store
        .voucher(&pos(), "NO-SUCH-VOUCHER")
        .await
        .expect("read")
        .is_none());
    assert_eq!(sim.control.stats.total(), 0);
    let other = format!("{}:2599999999999", member.as_str());
    assert!(store.voucher(&pos(), &other).await.expect("read").is_none());
    assert!(store
        .voucher(&pos(), "C9999999:2500000000000")
        .await
        .expect("read")
        .is_none());

    // Redeem: state, one POST, read back.
    sim.control.stats.reset();
    let redeemed = store
        .redeem_voucher(&pos(), &available.code, "till-7-receipt-1")
        .await
        .expect("redeem");
    assert!(matches!(
        redeemed.status,
        Status::Redeemed { channel: None, .. }
    ));
    assert_eq!(redeemed.code, available.code);
    assert_eq!(sim.control.stats.count(REDEEM), 1);
    assert_eq!(
        sim.control.stats.total(),
        4,
        "{:?}",
        sim.control.stats.routes()
    );

    // The same key again: answered from Voyado's state, no second POST.
    sim.control.stats.reset();
    let again = store
        .redeem_voucher(&pos(), &available.code, "till-7-receipt-1")
        .await
        .expect("a retry answers the redemption");
    assert_eq!(again, redeemed);
    assert_eq!(sim.control.stats.count(REDEEM), 0);

    // Another key: a second redemption, refused before any POST.
    sim.control.stats.reset();
    let err = store
        .redeem_voucher(&pos(), &available.code, "till-8-receipt-9")
        .await
        .expect_err("exactly once");
    assert_eq!(err.kind, ErrorKind::Conflict);
    assert!(
        err.message.contains("RewardVoucherAlreadyRedeemed"),
        "{}",
        err.message
    );
    assert_eq!(sim.control.stats.count(REDEEM), 0);
    // The key of one voucher cannot redeem another.
    let err = store
        .redeem_voucher(&pos(), &expired.code, "till-7-receipt-1")
        .await
        .expect_err("key reuse");
    assert_eq!(err.kind, ErrorKind::BadRequest);

    // Expired: a conflict, no POST. Unknown: not found.
    let err = store
        .redeem_voucher(&pos(), &expired.code, "till-7-receipt-2")
        .await
        .expect_err("expired");
    assert!(err.kind == ErrorKind::Conflict && err.message.contains("RewardVoucherExpired"));
    assert_eq!(sim.control.stats.count(REDEEM), 0);
    let err = store
        .redeem_voucher(&pos(), &other, "till-7-receipt-3")
        .await
        .expect_err("unknown");
    assert_eq!(err.kind, ErrorKind::NotFound);

    // Reads reflect the write.
    let now = store.voucher(&pos(), &available.code).await.expect("read");
    assert_eq!(now, Some(redeemed));
    sim.stop().await;
}

#[tokio::test]
async fn a_redemption_whose_answer_was_lost_is_not_sent_again() {
    let (world, sim) = setup_with(SimOptions {
        lose_redeem_answers: 1,
        ..SimOptions::default()
    })
    .await;
    let c = connector(&sim, |_| {});
    let store = vouchers(&c);
    let member = gold_member(&world, 1);
    let code = store
        .vouchers(&pos(), &member)
        .await
        .expect("list")
        .into_iter()
        .find(|v| v.status == samlet_connector::model::VoucherStatus::Available)
        .expect("available")
        .code;

    // Saved by Voyado, answered 504: the outcome is unknown, and the write is not retried.
    sim.control.stats.reset();
    let lost = store
        .redeem_voucher(&pos(), &code, "k-1")
        .await
        .expect_err("lost answer");
    // Voyado's 504 GatewayTimeout.
    assert_eq!(lost.kind, ErrorKind::Timeout, "{lost:?}");
    assert_eq!(sim.control.stats.count(REDEEM), 1);

    // The retry looks the voucher up first and answers the redemption that took effect.
    let retried = store
        .redeem_voucher(&pos(), &code, "k-1")
        .await
        .expect("the retry answers the first redemption");
    assert!(matches!(
        retried.status,
        samlet_connector::model::VoucherStatus::Redeemed { .. }
    ));
    assert_eq!(sim.control.stats.count(REDEEM), 1, "no second POST");
    let other = store
        .redeem_voucher(&pos(), &code, "k-2")
        .await
        .expect_err("another key");
    assert_eq!(other.kind, ErrorKind::Conflict);
    sim.stop().await;
}

#[tokio::test]
async fn a_redemption_that_never_arrived_is_sent_again_on_retry() {
    let (world, sim) = setup().await;
    let policy = UpstreamPolicy {
        timeout: Duration::from_millis(300),
        deadline: Duration::from_millis(600),
        ..UpstreamPolicy::default()
    };
    let c = samlet_voyado::connect(ConnectorName::new("loyalty"), &config(&sim, |_| {}), policy)
        .expect("connect");
    let store = vouchers(&c);
    let member = gold_member(&world, 2);
    let code = store
        .vouchers(&pos(), &member)
        .await
        .expect("list")
        .into_iter()
        .find(|v| v.status == samlet_connector::model::VoucherStatus::Available)
        .expect("available")
        .code;
    sim.control.set_faults(FaultPlan {
        hang_next: 1,
        only_paths: vec!["/api/v3/reward-vouchers/".to_owned()],
        ..FaultPlan::default()
    });
    sim.control.stats.reset();
    let err = store
        .redeem_voucher(&pos(), &code, "k-1")
        .await
        .expect_err("timed out");
    assert_eq!(err.kind, ErrorKind::Timeout, "{err:?}");
    assert_eq!(sim.control.stats.count(REDEEM), 1, "sent once, not retried");
    // The hung request never reached Voyado: the voucher is still available, so the retry
    // redeems it.
    let redeemed = store
        .redeem_voucher(&pos(), &code, "k-1")
        .await
        .expect("redeemed on retry");
    assert!(matches!(
        redeemed.status,
        samlet_connector::model::VoucherStatus::Redeemed { .. }
    ));
    assert_eq!(sim.control.stats.count(REDEEM), 2);
    sim.stop().await;
}
