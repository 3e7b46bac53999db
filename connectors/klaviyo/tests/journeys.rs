//! The write side against the simulator: touchpoint events (`POST /api/events`, one per
//! event, deduplicated by `unique_id`) and loyalty vouchers from coupon codes (listing,
//! reads, redemption exactly once, the 409 of a second `PATCH`, a retry after a lost
//! answer), with the simulator's request counts.

use samlet_connector::model::{CustomerEvent, EventKind, Money, VoucherStatus, VoucherValue};
use samlet_connector::prelude::*;
use samlet_klaviyo::simulator;
use samlet_testkit::sim::SimServer;
use samlet_testkit::world::CustomerSlice;
use samlet_testkit::{World, WorldConfig};
use serde_json::{json, Value};
use std::sync::Arc;

const AUTH: &str = "Klaviyo-API-Key pk_samlet_demo";
const REVISION: &str = "2026-07-15";

async fn setup() -> (Arc<World>, SimServer, Connector) {
    let world = Arc::new(World::new(WorldConfig::default()));
    let sim = simulator::start(world.clone(), 0).await.expect("simulator");
    let config = simulator::demo_config(&sim.base_url());
    let c = samlet_klaviyo::connect(
        ConnectorName::new("mkt"),
        &config,
        UpstreamPolicy::default(),
    )
    .expect("connect");
    (world, sim, c)
}

/// The `n`th profile of the marketing slice with loyalty tier `tier`.
fn member(world: &World, tier: &str, n: usize) -> u32 {
    world
        .slice_indexes(CustomerSlice::Marketing)
        .filter(|&i| {
            world
                .system_customer(CustomerSlice::Marketing, i)
                .and_then(|c| c.loyalty_tier)
                == Some(tier)
        })
        .nth(n)
        .expect("a member")
}

async fn raw(
    sim: &SimServer,
    method: reqwest::Method,
    path_and_query: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut rb = reqwest::Client::new()
        .request(method, format!("{}{path_and_query}", sim.base_url()))
        .header("authorization", AUTH)
        .header("revision", REVISION)
        .header("accept", "application/vnd.api+json");
    if let Some(b) = body {
        rb = rb
            .header("content-type", "application/vnd.api+json")
            .body(b.to_string());
    }
    let resp = rb.send().await.expect("answer");
    let status = resp.status().as_u16();
    (status, resp.json::<Value>().await.unwrap_or(Value::Null))
}

fn ctx(channel: Channel) -> RequestContext {
    RequestContext {
        channel,
        store: Some(LocationId::new("DK-CPH")),
        ..RequestContext::default()
    }
}

#[tokio::test]
async fn events_are_sent_one_request_each_in_klaviyos_shape_and_deduplicated() {
    let (world, sim, c) = setup().await;
    let sink = c.marketing_events.as_deref().expect("marketing events");
    let i = member(&world, "GOLD", 0);
    let truth = world.customer(i);
    let event = |n: u32, kind: EventKind| CustomerEvent {
        id: format!("evt-{n}"),
        customer: truth.number.clone(),
        email: Some(truth.email.to_uppercase()),
        kind,
        occurred_at: world.now(),
        channel: Channel::Store,
        store: Some(LocationId::new("DK-CPH")),
        sku: Some(world.skus(1)[0].clone()),
        value: (kind == EventKind::Purchase).then(|| Money {
            amount: rust_decimal::Decimal::new(24_995, 2),
            currency: Currency::DKK,
        }),
        properties: json!({"offer": "Q-1"}),
    };
    let events = [
        event(1, EventKind::ProductViewed),
        event(2, EventKind::Purchase),
        event(3, EventKind::StoreVisit),
    ];
    sim.control.stats.reset();
    sink.track(&ctx(Channel::Store), &events)
        .await
        .expect("tracked");
    assert_eq!(sim.control.stats.count("POST /api/events"), 3);
    assert_eq!(sim.control.stats.total(), 3);
    // Again: accepted, and Klaviyo keeps one of each.
    sink.track(&ctx(Channel::Store), &events)
        .await
        .expect("tracked again");
    sink.track(&ctx(Channel::Store), &[])
        .await
        .expect("nothing to send");
    assert_eq!(sim.control.stats.total(), 6);

    let profile = {
        let (_, doc) = raw(
            &sim,
            reqwest::Method::GET,
            &format!(
                "/api/profiles/?filter=equals(external_id,%22{}%22)",
                truth.number.as_str()
            ),
            None,
        )
        .await;
        doc["data"][0]["id"].as_str().expect("profile").to_owned()
    };
    let (status, doc) = raw(
        &sim,
        reqwest::Method::GET,
        &format!(
            "/api/events/?filter=equals(profile_id,%22{profile}%22)&include=metric&sort=datetime"
        ),
        None,
    )
    .await;
    assert_eq!(status, 200);
    let data = doc["data"].as_array().expect("events");
    assert_eq!(data.len(), 3, "deduplicated by unique_id: {doc}");
    let names: Vec<&str> = doc["included"]
        .as_array()
        .expect("metrics")
        .iter()
        .filter_map(|m| m["attributes"]["name"].as_str())
        .collect();
    for name in ["Viewed Product", "Placed Order", "Visited Store"] {
        assert!(names.contains(&name), "{name} in {names:?}");
    }
    let purchase = data
        .iter()
        .find(|e| e["attributes"]["event_properties"]["$event_id"] == "evt-2")
        .expect("the purchase");
    let props = &purchase["attributes"]["event_properties"];
    assert_eq!(props["$value"], json!(249.95));
    assert_eq!(props["sku"], world.skus(1)[0].as_str());
    assert_eq!(props["channel"], "store");
    assert_eq!(props["store"], "DK-CPH");
    assert_eq!(props["offer"], "Q-1");
    sim.stop().await;
}

#[tokio::test]
async fn a_members_vouchers_are_listed_from_their_coupon_codes() {
    let (world, sim, c) = setup().await;
    let store = c.vouchers.as_deref().expect("vouchers");
    let gold = World::customer_number(member(&world, "GOLD", 1));
    sim.control.stats.reset();
    let list = store
        .vouchers(&ctx(Channel::Web), &gold)
        .await
        .expect("vouchers");
    assert_eq!(sim.control.stats.count("GET /api/profiles"), 1);
    assert_eq!(sim.control.stats.count("GET /api/coupon-codes"), 1);
    assert_eq!(sim.control.stats.total(), 2);
    let ten = VoucherValue::Percent(10.into());
    assert_eq!(list.len(), 2, "{list:?}");
    assert_eq!(list[0].code, format!("L10-{}", gold.as_str()));
    assert_eq!(list[0].status, VoucherStatus::Available);
    assert_eq!(list[0].value, ten);
    assert_eq!(list[0].customer, gold);
    assert_eq!(
        list[0].valid_until,
        Some(world.now() + chrono::Duration::days(3650))
    );
    assert_eq!(list[1].code, format!("L10-{}-OLD", gold.as_str()));
    assert_eq!(list[1].status, VoucherStatus::Expired);
    // The profile id is remembered: the next listing is one request.
    store
        .vouchers(&ctx(Channel::Web), &gold)
        .await
        .expect("again");
    assert_eq!(sim.control.stats.total(), 3);

    let silver = World::customer_number(member(&world, "SILVER", 0));
    let list = store
        .vouchers(&ctx(Channel::Web), &silver)
        .await
        .expect("vouchers");
    assert_eq!(list.len(), 1);
    let bronze = World::customer_number(member(&world, "BRONZE", 0));
    assert!(store
        .vouchers(&ctx(Channel::Web), &bronze)
        .await
        .expect("none")
        .is_empty());
    let unknown = CustomerNumber::new("C9999999");
    assert!(store
        .vouchers(&ctx(Channel::Web), &unknown)
        .await
        .expect("none")
        .is_empty());

    // By code: the code, then the profile's external id (a new connector has no cache).
    let config = simulator::demo_config(&sim.base_url());
    let fresh = samlet_klaviyo::connect(
        ConnectorName::new("mkt2"),
        &config,
        UpstreamPolicy::default(),
    )
    .expect("connect");
    sim.control.stats.reset();
    let code = format!("L10-{}", silver.as_str());
    let v = fresh
        .vouchers
        .as_deref()
        .expect("vouchers")
        .voucher(&ctx(Channel::Web), &code)
        .await
        .expect("read")
        .expect("found");
    assert_eq!(v.customer, silver);
    assert_eq!(
        sim.control.stats.count("GET /api/coupon-codes/LOYALTY10-"),
        1
    );
    assert_eq!(sim.control.stats.count("GET /api/profiles/"), 1);
    assert_eq!(sim.control.stats.total(), 2);
    assert_eq!(
        store
            .voucher(&ctx(Channel::Web), "L10-C9999999")
            .await
            .expect("read"),
        None
    );
    assert_eq!(
        store.voucher(&ctx(Channel::Web), "  ").await.expect("read"),
        None
    );
    sim.stop().await;
}

#[tokio::test]
async fn a_voucher_is_redeemed_exactly_once_and_recorded_as_an_event() {
    let (world, sim, c) = setup().await;
    let store = c.vouchers.as_deref().expect("vouchers");
    let n = World::customer_number(member(&world, "SILVER", 2));
    let code = format!("L10-{}", n.as_str());
    let pos = ctx(Channel::Pos);
    sim.control.stats.reset();
    let redeemed = store
        .redeem_voucher(&pos, &code, "till-7-receipt-1")
        .await
        .expect("redeemed");
    let VoucherStatus::Redeemed { at, channel } = redeemed.status.clone() else {
        panic!("{redeemed:?}");
    };
    assert_eq!(channel, Some(Channel::Pos));
    // Read the code, look up its profile, track the redemption, mark the code.
    assert_eq!(sim.control.stats.count("GET /api/coupon-codes/"), 1);
    assert_eq!(sim.control.stats.count("GET /api/profiles/"), 1);
    assert_eq!(sim.control.stats.count("POST /api/events"), 1);
    assert_eq!(sim.control.stats.count("PATCH /api/coupon-codes/"), 1);
    assert_eq!(sim.control.stats.total(), 4);

    // Klaviyo now holds the code as USED and the redemption event with the key.
    let id = format!("LOYALTY10-{code}");
    let (status, doc) = raw(
        &sim,
        reqwest::Method::GET,
        &format!("/api/coupon-codes/{id}/"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(doc["data"]["attributes"]["status"], "USED");
    let profile = doc["data"]["relationships"]["profile"]["data"]["id"]
        .as_str()
        .expect("profile")
        .to_owned();
    let (_, events) = raw(
        &sim,
        reqwest::Method::GET,
        &format!("/api/events/?filter=equals(profile_id,%22{profile}%22)"),
        None,
    )
    .await;
    let props = &events["data"][0]["attributes"]["event_properties"];
    assert_eq!(props["redemption_key"], "till-7-receipt-1");
    assert_eq!(props["coupon_code"], code.as_str());
    assert_eq!(props["coupon_code_id"], id.as_str());
    assert_eq!(props["channel"], "pos");
    assert_eq!(props["store"], "DK-CPH");

    // A retry with the same key answers the redemption; reads say so too.
    let again = store
        .redeem_voucher(&pos, &code, "till-7-receipt-1")
        .await
        .expect("retry");
    assert_eq!(again, redeemed);
    let read = store
        .voucher(&ctx(Channel::Web), &code)
        .await
        .expect("read")
        .expect("found");
    assert_eq!(
        read.status,
        VoucherStatus::Redeemed {
            at,
            channel: Some(Channel::Pos)
        }
    );
    let listed = store.vouchers(&ctx(Channel::Web), &n).await.expect("list");
    assert_eq!(listed, vec![read]);

    // Another key: a conflict, without a second PATCH.
    sim.control.stats.reset();
    let e = store
        .redeem_voucher(&pos, &code, "till-9-receipt-4")
        .await
        .expect_err("used");
    assert_eq!(e.kind, ErrorKind::Conflict, "{e}");
    assert_eq!(sim.control.stats.count("PATCH"), 0);
    assert_eq!(sim.control.stats.count("POST"), 0);

    // Expired and unknown codes.
    let gold = World::customer_number(member(&world, "GOLD", 3));
    let e = store
        .redeem_voucher(&pos, &format!("L10-{}-OLD", gold.as_str()), "k-old")
        .await
        .expect_err("expired");
    assert_eq!(e.kind, ErrorKind::Conflict);
    let e = store
        .redeem_voucher(&pos, "NO-SUCH-CODE", "k-none")
        .await
        .expect_err("unknown");
    assert_eq!(e.kind, ErrorKind::NotFound);
    sim.stop().await;
}

#[tokio::test]
async fn marking_a_used_code_used_again_is_klaviyos_409_and_a_lost_answer_is_recovered() {
    let (world, sim, c) = setup().await;
    let store = c.vouchers.as_deref().expect("vouchers");
    let n = World::customer_number(member(&world, "GOLD", 5));
    let code = format!("L10-{}", n.as_str());
    let id = format!("LOYALTY10-{code}");
    let profile = {
        let (_, doc) = raw(
            &sim,
            reqwest::Method::GET,
            &format!("/api/coupon-codes/{id}"),
            None,
        )
        .await;
        doc["data"]["relationships"]["profile"]["data"]["id"]
            .as_str()
            .expect("profile")
            .to_owned()
    };
    // A first attempt whose answer was lost: the connector tracked the redemption and the
    // PATCH went through, but the caller never heard back.
    let (status, _) = raw(
        &sim,
        reqwest::Method::POST,
        "/api/events/",
        Some(json!({"data": {"type": "event", "attributes": {
            "properties": {"coupon_code": code, "coupon_code_id": id, "coupon_id": "LOYALTY10",
                           "channel": "kiosk", "redemption_key": "kiosk-1"},
            "time": "2026-06-01T10:00:00+00:00",
            "metric": {"data": {"type": "metric", "attributes": {"name": "Redeemed Coupon"}}},
            "profile": {"data": {"type": "profile", "id": profile}},
            "unique_id": format!("{id}:kiosk-1"),
        }}})),
    )
    .await;
    assert_eq!(status, 202);
    let patch =
        json!({"data": {"type": "coupon-code", "id": id, "attributes": {"status": "USED"}}});
    let (status, doc) = raw(
        &sim,
        reqwest::Method::PATCH,
        &format!("/api/coupon-codes/{id}/"),
        Some(patch.clone()),
    )
    .await;
    assert_eq!(status, 200, "{doc}");
    assert_eq!(doc["data"]["attributes"]["status"], "USED");
    // The same PATCH again: Klaviyo's error document with 409.
    let (status, doc) = raw(
        &sim,
        reqwest::Method::PATCH,
        &format!("/api/coupon-codes/{id}/"),
        Some(patch),
    )
    .await;
    assert_eq!(status, 409);
    assert_eq!(doc["errors"][0]["code"], "conflict");
    assert_eq!(doc["errors"][0]["status"], 409);

    // The retry with the lost attempt's key finds its event and answers the redemption.
    let v = store
        .redeem_voucher(&ctx(Channel::Kiosk), &code, "kiosk-1")
        .await
        .expect("recovered");
    assert_eq!(
        v.status,
        VoucherStatus::Redeemed {
            at: "2026-06-01T10:00:00Z".parse().expect("time"),
            channel: Some(Channel::Kiosk)
        }
    );
    let e = store
        .redeem_voucher(&ctx(Channel::Kiosk), &code, "kiosk-2")
        .await
        .expect_err("used");
    assert_eq!(e.kind, ErrorKind::Conflict);
    sim.stop().await;
}

#[tokio::test]
async fn coupon_code_requests_get_klaviyos_errors() {
    let (_world, sim, _c) = setup().await;
    // The filter is required, and this simulator needs a profile.
    let (status, doc) = raw(&sim, reqwest::Method::GET, "/api/coupon-codes/", None).await;
    assert_eq!(status, 400);
    assert_eq!(doc["errors"][0]["code"], "invalid");
    assert_eq!(doc["errors"][0]["source"]["parameter"], "filter");
    let (status, _) = raw(
        &sim,
        reqwest::Method::GET,
        "/api/coupon-codes/?filter=equals(email,%22x%22)",
        None,
    )
    .await;
    assert_eq!(status, 400);
    let (status, _) = raw(
        &sim,
        reqwest::Method::GET,
        "/api/coupon-codes/?filter=equals(profile.id,%22x%22)&page[size]=101",
        None,
    )
    .await;
    assert_eq!(status, 400);
    let (status, doc) = raw(
        &sim,
        reqwest::Method::GET,
        "/api/coupon-codes/LOYALTY10-NOPE/",
        None,
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(doc["errors"][0]["code"], "not_found");
    // A PATCH whose body names another code, or sets a status not simulated.
    let (status, _) = raw(
        &sim,
        reqwest::Method::PATCH,
        "/api/coupon-codes/LOYALTY10-L10-C0000001/",
        Some(json!({"data": {"type": "coupon-code", "id": "other", "attributes": {"status": "USED"}}})),
    )
    .await;
    assert_eq!(status, 400);
    sim.stop().await;
}
