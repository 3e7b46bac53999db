//! The write side in Business Central's dialect, end to end against the simulator: the
//! request shapes of quotes and orders (deep insert, `externalDocumentNumber` as the
//! idempotency reference, prices the customer pays, `locationId` per fulfilment), exactly
//! once when a write's response is lost after it committed, the conflicts of converting a
//! quote twice or too late, and reservations and orders that read back through the read
//! capabilities.

use samlet_business_central::simulator::{
    self, SimWrites, DEMO_COMPANY_ID, DEMO_ENVIRONMENT, DEMO_TENANT,
};
use samlet_business_central::{connect, mapping};
use samlet_connector::prelude::*;
use samlet_testkit::sim::SimServer;
use samlet_testkit::spec::{Exchange, RecordingProxy};
use samlet_testkit::world::{CustomerSlice, B2B_GROUP};
use samlet_testkit::{World, WorldConfig};
use serde_json::Value;
use std::sync::Arc;

fn odata_error(status: axum::http::StatusCode, message: &str) -> axum::response::Response {
    use axum::response::IntoResponse;
    let body =
        serde_json::json!({"error": {"code": "Internal_ServiceUnavailable", "message": message}});
    (status, axum::Json(body)).into_response()
}

struct Setup {
    world: Arc<World>,
    sim: SimServer,
    writes: SimWrites,
    proxy: RecordingProxy,
    c: Connector,
}

async fn setup() -> Setup {
    let world = Arc::new(World::new(WorldConfig::default()));
    let (sim, writes) = simulator::start_with_writes(world.clone(), 0)
        .await
        .expect("starts");
    let proxy = RecordingProxy::start(&sim.base_url(), odata_error)
        .await
        .expect("proxy starts");
    let c = connect(
        ConnectorName::new("erp"),
        &simulator::demo_config(&proxy.base_url()),
        UpstreamPolicy::default(),
    )
    .expect("connects");
    Setup {
        world,
        sim,
        writes,
        proxy,
        c,
    }
}

fn store_cx() -> RequestContext {
    RequestContext {
        channel: Channel::Store,
        currency: Currency::DKK,
        ..RequestContext::default()
    }
}

/// The `n`-th person (or company) the ERP holds.
fn erp_customer(w: &World, kind: CustomerKind, n: usize) -> u32 {
    w.slice_indexes(CustomerSlice::Erp)
        .filter(|&i| w.customer(i).kind == kind)
        .nth(n)
        .expect("the ERP holds such a customer")
}

/// A SKU of product `i` with at least `units` available at `store`.
fn sku_in_stock(w: &World, store: &str, units: i64) -> Sku {
    (200..w.product_count())
        .flat_map(|i| w.skus(i))
        .find(|s| {
            w.stock(s).is_some_and(|levels| {
                levels
                    .iter()
                    .any(|l| l.location.as_str() == store && l.available() >= units)
            })
        })
        .expect("a SKU in stock")
}

fn writes_to(x: &[Exchange], method: &str, suffix: &str) -> Vec<Exchange> {
    x.iter()
        .filter(|e| e.method == method && e.path.ends_with(suffix))
        .cloned()
        .collect()
}

fn count(x: &[Exchange], method: &str, entity: &str) -> usize {
    x.iter()
        .filter(|e| {
            e.method == method
                && e.path
                    .rsplit('/')
                    .next()
                    .is_some_and(|p| p.starts_with(entity))
        })
        .count()
}

fn offer_draft(w: &World, customer: CustomerNumber) -> OfferDraft {
    OfferDraft {
        customer,
        lines: vec![
            LineRequest {
                sku: w.skus(21)[0].clone(),
                quantity: 2.into(),
            },
            LineRequest {
                sku: w.skus(22)[0].clone(),
                quantity: 1.into(),
            },
        ],
        store: Some(LocationId::new("DK-CPH")),
        created_by: Some("associate-17".into()),
        valid_until: w.now() + chrono::Duration::days(14),
    }
}

#[tokio::test]
async fn a_quote_is_a_deep_insert_with_the_key_as_external_document_number() {
    let s = setup().await;
    let w = &s.world;
    let customer = World::customer_number(erp_customer(w, CustomerKind::Person, 4));
    let draft = offer_draft(w, customer.clone());
    let offers = s.c.offers.as_ref().unwrap();
    let offer = offers
        .create_offer(&store_cx(), &draft, "dialect-offer-1")
        .await
        .expect("creates");
    let x = s.proxy.exchanges();
    let posts = writes_to(&x, "POST", "/salesQuotes");
    assert_eq!(posts.len(), 1);
    let body = posts[0].request_json().expect("a JSON body");
    assert_eq!(body["externalDocumentNumber"], "DIALECT-OFFER-1");
    assert_eq!(body["customerNumber"], customer.as_str());
    assert_eq!(
        body["validUntilDate"],
        draft.valid_until.date_naive().to_string()
    );
    assert_eq!(body["currencyCode"], "", "the local currency is blank");
    let lines = body["salesQuoteLines"].as_array().expect("deep insert");
    assert_eq!(lines.len(), 2);
    for (line, want) in lines.iter().zip(&draft.lines) {
        assert_eq!(line["lineType"], "Item");
        let (item, _) = want.sku.as_str().split_once('-').unwrap();
        assert_eq!(line["lineObjectNumber"], item);
        assert!(line["itemVariantId"]
            .as_str()
            .is_some_and(|v| v.len() == 36));
        assert!(line["locationId"].as_str().is_some_and(|v| v.len() == 36));
        let price = w
            .price(&want.sku, PriceChannel::Store, Currency::DKK, None)
            .unwrap();
        assert_eq!(
            line["unitPrice"].to_string().parse::<Decimal>().unwrap(),
            price.amount.amount
        );
    }
    // The store, associate and channel go onto the extension's quote log.
    let patches = writes_to(&x, "PATCH", ")");
    assert_eq!(patches.len(), 1);
    assert!(patches[0].path.contains("/salesQuoteTracking("));
    assert_eq!(patches[0].request_header("if-match"), Some("*"));
    let patch = patches[0].request_json().unwrap();
    assert_eq!(patch["storeCode"], "DK-CPH");
    assert_eq!(patch["createdBy"], "associate-17");
    assert_eq!(patch["salesChannel"], "store");
    assert_eq!(offer.store, Some(LocationId::new("DK-CPH")));
    assert_eq!(offer.created_by.as_deref(), Some("associate-17"));
    assert_eq!(offer.status, OfferStatus::Open);
    assert_eq!(offer.lines.len(), 2);
    assert_eq!(
        offer.lines[0].location,
        Some(LocationId::new("DK-CPH")),
        "quote lines are for the store's location"
    );
    // Lookup, then customer + prices + locations at once, POST, PATCH, read back (quote and
    // log at once; the variant codes are already known from the prices).
    assert_eq!(count(&x, "GET", "salesQuoteTracking"), 2);
    assert_eq!(count(&x, "GET", "customers"), 1);
    assert_eq!(count(&x, "GET", "itemPrices"), 1);
    assert_eq!(count(&x, "GET", "locations"), 1);
    assert_eq!(count(&x, "GET", "salesQuotes"), 1);
    assert_eq!(count(&x, "GET", "itemVariants"), 0);
    assert_eq!(s.writes.quotes_created(), 1);
    s.sim.stop().await;
}

#[tokio::test]
async fn a_quote_carries_the_customers_own_price_group() {
    let s = setup().await;
    let w = &s.world;
    let i = erp_customer(w, CustomerKind::Company, 2);
    assert_eq!(
        w.customer(i).customer_group.as_ref().map(|g| g.as_str()),
        Some(B2B_GROUP)
    );
    let draft = offer_draft(w, World::customer_number(i));
    // The request context names no group: the ERP's customer record decides.
    let offer =
        s.c.offers
            .as_ref()
            .unwrap()
            .create_offer(&store_cx(), &draft, "dialect-offer-b2b")
            .await
            .expect("creates");
    let b2b = CustomerGroup::new(B2B_GROUP);
    for (line, want) in offer.lines.iter().zip(&draft.lines) {
        let price = w
            .price(&want.sku, PriceChannel::Store, Currency::DKK, Some(&b2b))
            .unwrap();
        assert_eq!(line.unit_price.amount, price.amount.amount);
        assert!(!price.tax_included);
        assert_eq!(line.line_total.amount, price.amount.amount * want.quantity);
    }
    s.sim.stop().await;
}

#[tokio::test]
async fn a_lost_quote_response_and_a_retry_make_exactly_one_quote() {
    let s = setup().await;
    let w = &s.world;
    let customer = World::customer_number(erp_customer(w, CustomerKind::Person, 5));
    let draft = offer_draft(w, customer);
    let offers = s.c.offers.as_ref().unwrap();
    // The POST and then the PATCH commit, and neither answer arrives.
    s.writes.lose_next_responses(2);
    let first = offers
        .create_offer(&store_cx(), &draft, "dialect-offer-lost")
        .await;
    let err = first.expect_err("the PATCH's answer was lost");
    assert!(err.is_retryable(), "{err}");
    assert_eq!(s.writes.quotes_created(), 1);
    let retried = offers
        .create_offer(&store_cx(), &draft, "dialect-offer-lost")
        .await
        .expect("the retry finds the quote");
    let again = offers
        .create_offer(&store_cx(), &draft, "dialect-offer-lost")
        .await
        .expect("and again");
    assert_eq!(retried.number, again.number);
    assert_eq!(retried.store, Some(LocationId::new("DK-CPH")));
    assert_eq!(s.writes.quotes_created(), 1, "exactly one quote");
    assert_eq!(count(&s.proxy.exchanges(), "POST", "salesQuotes"), 1);
    // A lost POST alone is healed within the call: the quote is looked up and completed.
    s.writes.lose_next_responses(1);
    let healed = offers
        .create_offer(&store_cx(), &draft, "dialect-offer-lost-2")
        .await
        .expect("looked up after the lost answer");
    assert_eq!(healed.created_by.as_deref(), Some("associate-17"));
    assert_eq!(s.writes.quotes_created(), 2);
    s.sim.stop().await;
}

#[tokio::test]
async fn converting_is_make_order_once_and_conflicts_name_the_order() {
    let s = setup().await;
    let w = &s.world;
    let customer = World::customer_number(erp_customer(w, CustomerKind::Person, 6));
    let offers = s.c.offers.as_ref().unwrap();
    let offer = offers
        .create_offer(
            &store_cx(),
            &offer_draft(w, customer.clone()),
            "dialect-offer-conv",
        )
        .await
        .unwrap();
    s.proxy.clear();
    // The PATCH of the conversion reference and makeOrder both commit, and neither answer
    // arrives; the log row says what happened each time.
    s.writes.lose_next_responses(2);
    let cx = RequestContext::default();
    let order = offers
        .convert_offer(&cx, &offer.number, "dialect-convert-1")
        .await
        .expect("converted");
    let x = s.proxy.exchanges();
    let actions = writes_to(&x, "POST", "/Microsoft.NAV.makeOrder");
    assert_eq!(actions.len(), 1);
    assert!(
        actions[0].path.contains("/api/v2.0/"),
        "the standard bound action"
    );
    let patch = writes_to(&x, "PATCH", ")");
    assert_eq!(
        patch.len(),
        1,
        "the conversion reference goes on the log first"
    );
    assert_ne!(
        patch[0].request_header("if-match"),
        Some("*"),
        "with the row's ETag"
    );
    assert_eq!(
        patch[0].request_json().unwrap()["conversionKey"],
        "DIALECT-CONVERT-1"
    );
    assert_eq!(order.customer, customer);
    assert_eq!(order.total, offer.total);
    assert_eq!(order.status, OrderStatus::Open);
    assert_eq!(order.store, Some(LocationId::new("DK-CPH")));
    let same = offers
        .convert_offer(&cx, &offer.number, "dialect-convert-1")
        .await
        .expect("a retry answers the same order");
    assert_eq!(same.number, order.number);
    let err = offers
        .convert_offer(&cx, &offer.number, "dialect-convert-2")
        .await
        .expect_err("a second conversion");
    assert_eq!(err.kind, ErrorKind::Conflict);
    assert!(err.message.contains(order.number.as_str()), "{err}");
    assert_eq!(s.writes.orders_created(), 1);
    let read = offers
        .offers(&cx, std::slice::from_ref(&offer.number))
        .await
        .unwrap();
    let converted = &read[&offer.number];
    assert_eq!(
        converted.status,
        OfferStatus::Converted(order.number.clone())
    );
    assert_eq!(converted.lines, offer.lines);
    assert_eq!(converted.store, offer.store);
    s.sim.stop().await;
}

async fn token(base: &str) -> String {
    let resp: Value = reqwest::Client::new()
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
    resp["access_token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn the_simulator_answers_make_order_like_business_central() {
    let s = setup().await;
    let w = &s.world;
    let customer = World::customer_number(erp_customer(w, CustomerKind::Person, 7));
    let offers = s.c.offers.as_ref().unwrap();
    let mut draft = offer_draft(w, customer);
    draft.valid_until = w.now() - chrono::Duration::days(2);
    let expired = offers
        .create_offer(&store_cx(), &draft, "dialect-offer-old")
        .await
        .unwrap();
    assert_eq!(expired.status, OfferStatus::Expired);
    draft.valid_until = w.now() + chrono::Duration::days(2);
    let open = offers
        .create_offer(&store_cx(), &draft, "dialect-offer-new")
        .await
        .unwrap();
    let ids: Vec<String> = writes_to(&s.proxy.exchanges(), "PATCH", ")")
        .iter()
        .map(|x| {
            let (_, rest) = x.path.rsplit_once('(').unwrap();
            rest.trim_end_matches(')').to_owned()
        })
        .collect();
    let base = s.sim.base_url();
    let bearer = token(&base).await;
    let make_order = |id: &str| {
        reqwest::Client::new()
            .post(format!(
                "{base}/v2.0/{DEMO_TENANT}/{DEMO_ENVIRONMENT}/api/v2.0/companies({DEMO_COMPANY_ID})/salesQuotes({id})/Microsoft.NAV.makeOrder"
            ))
            .bearer_auth(&bearer)
            .send()
    };
    let resp = make_order(&ids[0]).await.unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "Application_DialogException");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains(&expired.number));
    let resp = make_order(&ids[1]).await.unwrap();
    assert_eq!(resp.status().as_u16(), 204);
    let resp = make_order(&ids[1]).await.unwrap();
    assert_eq!(resp.status().as_u16(), 404, "the converted quote is gone");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "Internal_RecordNotFound");
    // The connector turns the expired quote's refusal into a conflict.
    let err = offers
        .convert_offer(
            &RequestContext::default(),
            &expired.number,
            "dialect-convert-old",
        )
        .await
        .expect_err("expired");
    assert_eq!(err.kind, ErrorKind::Conflict);
    assert!(err.message.contains("expired"), "{err}");
    // Converted outside Samlet (no conversion reference): any conversion is a conflict.
    let err = offers
        .convert_offer(
            &RequestContext::default(),
            &open.number,
            "dialect-convert-x",
        )
        .await
        .expect_err("already converted");
    assert_eq!(err.kind, ErrorKind::Conflict);
    s.sim.stop().await;
}

#[tokio::test]
async fn click_and_collect_reserves_at_the_store_and_reads_back() {
    let s = setup().await;
    let w = &s.world;
    let store = LocationId::new("DK-CPH");
    let sku = sku_in_stock(w, store.as_str(), 3);
    let ci = erp_customer(w, CustomerKind::Person, 11);
    let customer = World::customer_number(ci);
    let cx = RequestContext {
        channel: Channel::App,
        ..RequestContext::default()
    };
    let reserved = |m: &HashMap<Sku, Vec<StockLevel>>| {
        m[&sku]
            .iter()
            .find(|l| l.location == store)
            .map(|l| l.reserved)
            .unwrap()
    };
    let inventory = s.c.inventory.as_ref().unwrap();
    let before = reserved(
        &inventory
            .stock(&cx, std::slice::from_ref(&sku))
            .await
            .unwrap(),
    );
    let draft = OrderDraft {
        customer: customer.clone(),
        lines: vec![LineRequest {
            sku: sku.clone(),
            quantity: 2.into(),
        }],
        fulfilment: Fulfilment::ClickAndCollect(store.clone()),
    };
    s.proxy.clear();
    let sink = s.c.order_placement.as_ref().unwrap();
    let order = sink
        .place_order(&cx, &draft, "dialect-place-1")
        .await
        .expect("placed");
    let x = s.proxy.exchanges();
    let posts = writes_to(&x, "POST", "/salesOrders");
    assert_eq!(posts.len(), 1);
    let body = posts[0].request_json().unwrap();
    assert_eq!(body["externalDocumentNumber"], "DIALECT-PLACE-1");
    assert!(
        body.get("shipToAddressLine1").is_none(),
        "collected, not shipped"
    );
    let line = &body["salesOrderLines"][0];
    let price = w
        .price(&sku, PriceChannel::Online, Currency::DKK, None)
        .unwrap();
    assert_eq!(
        line["unitPrice"].to_string().parse::<Decimal>().unwrap(),
        price.amount.amount,
        "the app buys at online prices"
    );
    let locations =
        s.c.locations
            .as_ref()
            .unwrap()
            .locations(&cx)
            .await
            .unwrap();
    assert!(locations.iter().any(|l| l.id == store));
    let patch = writes_to(&x, "PATCH", ")");
    assert_eq!(patch.len(), 1);
    let patch = patch[0].request_json().unwrap();
    assert_eq!(patch["fulfilment"], "ClickAndCollect");
    assert_eq!(patch["storeCode"], "DK-CPH");
    assert_eq!(patch["salesChannel"], "app");
    // Lookup (orders + tracking), customer + prices + locations, POST, the order read back
    // with its tracking row, PATCH.
    assert_eq!(
        x.len(),
        2 + 3 + 1 + 2 + 1,
        "{:?}",
        x.iter().map(Exchange::route).collect::<Vec<_>>()
    );

    assert_eq!(order.status, OrderStatus::Open);
    assert!(order.shipments.is_empty());
    assert_eq!(order.channel, Some(Channel::App));
    assert_eq!(order.store, Some(store.clone()));
    assert_eq!(order.lines[0].location, Some(store.clone()));
    assert_eq!(order.lines[0].quantity, Decimal::from(2));
    assert!(order.placed_at > w.now() - chrono::Duration::seconds(1));
    let after = reserved(
        &inventory
            .stock(&cx, std::slice::from_ref(&sku))
            .await
            .unwrap(),
    );
    assert_eq!(after, before + 2, "the store's stock is reserved");

    let orders = s.c.orders.as_ref().unwrap();
    let read = orders
        .orders(&cx, std::slice::from_ref(&order.number))
        .await
        .unwrap();
    assert_eq!(read.get(&order.number), Some(&order));
    let latest = orders
        .orders_for_customers(&cx, std::slice::from_ref(&customer), 3)
        .await
        .unwrap();
    assert_eq!(latest[&customer][0].number, order.number, "newest first");
    s.sim.stop().await;
}

#[tokio::test]
async fn a_lost_order_response_and_a_retry_place_exactly_one_order() {
    let s = setup().await;
    let w = &s.world;
    let store = LocationId::new("DK-CPH");
    let sku = sku_in_stock(w, store.as_str(), 1);
    let customer = World::customer_number(erp_customer(w, CustomerKind::Person, 12));
    let address = Address {
        street: "Vestergade 1".into(),
        postal_code: "1456".into(),
        city: "København K".into(),
        country: "DK".into(),
    };
    let draft = OrderDraft {
        customer,
        lines: vec![LineRequest {
            sku: sku.clone(),
            quantity: 1.into(),
        }],
        fulfilment: Fulfilment::HomeDelivery(address),
    };
    let sink = s.c.order_placement.as_ref().unwrap();
    let cx = RequestContext::default();
    // POST and PATCH commit; neither answer arrives.
    s.writes.lose_next_responses(2);
    let err = sink
        .place_order(&cx, &draft, "dialect-place-lost")
        .await
        .expect_err("the PATCH's answer was lost");
    assert!(err.is_retryable(), "{err}");
    let first = sink
        .place_order(&cx, &draft, "dialect-place-lost")
        .await
        .expect("the retry finds the order");
    let second = sink
        .place_order(&cx, &draft, "dialect-place-lost")
        .await
        .expect("and again");
    assert_eq!(first.number, second.number);
    assert_eq!(s.writes.orders_created(), 1, "exactly one order");
    let x = s.proxy.exchanges();
    assert_eq!(count(&x, "POST", "salesOrders"), 1);
    assert_eq!(
        count(&x, "PATCH", "salesOrderTracking"),
        1,
        "the retry does not rewrite"
    );
    // Home delivery ships from the online warehouse to the address.
    let body = writes_to(&x, "POST", "/salesOrders")[0]
        .request_json()
        .unwrap();
    assert_eq!(body["shipToAddressLine1"], "Vestergade 1");
    assert_eq!(body["shipToCountry"], "DK");
    assert_eq!(first.lines[0].location, Some(LocationId::new("WH-ONLINE")));
    assert_eq!(first.store, None);
    assert_eq!(first.channel, Some(Channel::Web));
    // A lost POST alone is healed within the call.
    s.writes.lose_next_responses(1);
    let healed = sink
        .place_order(&cx, &draft, "dialect-place-lost-2")
        .await
        .expect("looked up after the lost answer");
    assert_ne!(healed.number, first.number);
    assert_eq!(s.writes.orders_created(), 2);
    s.sim.stop().await;
}

#[tokio::test]
async fn writes_are_checked_like_business_central_checks_them() {
    let s = setup().await;
    let w = &s.world;
    let sink = s.c.order_placement.as_ref().unwrap();
    let cx = RequestContext::default();
    let unknown = OrderDraft {
        customer: CustomerNumber::new("C9999999"),
        lines: vec![LineRequest {
            sku: w.skus(3)[0].clone(),
            quantity: 1.into(),
        }],
        fulfilment: Fulfilment::ClickAndCollect(LocationId::new("DK-CPH")),
    };
    let err = sink
        .place_order(&cx, &unknown, "dialect-bad-1")
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::NotFound);
    let customer = World::customer_number(erp_customer(w, CustomerKind::Person, 13));
    let warehouse = OrderDraft {
        customer,
        fulfilment: Fulfilment::ClickAndCollect(LocationId::new("WH-ONLINE")),
        ..unknown
    };
    let err = sink
        .place_order(&cx, &warehouse, "dialect-bad-2")
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::BadRequest);
    assert!(err.message.contains("click and collect"), "{err}");
    assert_eq!(s.writes.orders_created(), 0);

    // The simulator rejects what Business Central rejects.
    let base = s.sim.base_url();
    let bearer = token(&base).await;
    let post = |body: Value| {
        reqwest::Client::new()
            .post(format!(
                "{base}/v2.0/{DEMO_TENANT}/{DEMO_ENVIRONMENT}/api/v2.0/companies({DEMO_COMPANY_ID})/salesOrders"
            ))
            .bearer_auth(&bearer)
            .json(&body)
            .send()
    };
    let resp = post(serde_json::json!({"customerNumber": "C0000001", "frobnicate": 1}))
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    let resp = post(serde_json::json!({
        "customerNumber": World::customer_number(erp_customer(w, CustomerKind::Person, 1)).as_str(),
        "externalDocumentNumber": "X".repeat(36),
    }))
    .await
    .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "Application_StringExceededLength");
    assert_eq!(s.writes.orders_created(), 0);
    s.sim.stop().await;
}

#[test]
fn idempotency_keys_fit_the_external_document_number() {
    assert_eq!(mapping::external_reference("checkout-42"), "CHECKOUT-42");
    let uuid = "3f2b8c1e-6a4d-4b7e-9c2a-1d5e8f0a7b36";
    let r = mapping::external_reference(uuid);
    assert_eq!(r.len(), 33);
    assert!(r.starts_with('K'));
    assert_eq!(r, mapping::external_reference(uuid), "stable");
    assert_ne!(
        r,
        mapping::external_reference("3f2b8c1e-6a4d-4b7e-9c2a-1d5e8f0a7b37")
    );
    assert!(mapping::external_reference("kø 1").starts_with('K'));
}
