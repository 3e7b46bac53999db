//! Subscriptions over real WebSocket (`graphql-transport-ws`) and server-sent events, fed by
//! the Business Central simulator's webhooks (stack A) or by polling Optimizely (stack B):
//! a shipped order reaches subscribed clients, a webhook refreshes the cache, access rules
//! hold on subscribe, the webhook endpoint refuses what it cannot trust, and many subscribers
//! of one order share one feed.

#![cfg(feature = "demo")]

mod common;

use common::Running;
use futures::{SinkExt, StreamExt};
use samlet::demo::Stack;
use samlet_testkit::World;
use serde_json::{json, Value};
use std::time::Duration;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

/// A guard against a hang (a missing event fails the test instead), not a performance bound.
const PATIENCE: Duration = Duration::from_secs(30);

async fn within<T>(what: &str, f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(PATIENCE, f)
        .await
        .unwrap_or_else(|_| panic!("{what}: nothing within {PATIENCE:?}"))
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A `graphql-transport-ws` connection, initialised with `payload`.
async fn ws_connect(g: &Running, payload: Value) -> Result<Ws, String> {
    let url = format!("{}/graphql", g.url.replacen("http", "ws", 1));
    let mut req = url.into_client_request().unwrap();
    req.headers_mut().insert(
        "sec-websocket-protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    let (mut ws, resp) = tokio_tungstenite::connect_async(req).await.unwrap();
    assert_eq!(
        resp.headers()
            .get("sec-websocket-protocol")
            .and_then(|v| v.to_str().ok()),
        Some("graphql-transport-ws")
    );
    ws.send(Message::text(
        json!({ "type": "connection_init", "payload": payload }).to_string(),
    ))
    .await
    .unwrap();
    loop {
        match within("connection_ack", ws.next()).await {
            Some(Ok(Message::Text(t))) => {
                let v: Value = serde_json::from_str(&t).unwrap();
                if v["type"] == "connection_ack" {
                    return Ok(ws);
                }
            }
            Some(Ok(Message::Close(frame))) => {
                return Err(frame.map(|f| f.reason.to_string()).unwrap_or_default())
            }
            Some(Ok(_)) => {}
            other => return Err(format!("{other:?}")),
        }
    }
}

async fn ws_subscribe(ws: &mut Ws, id: &str, query: &str, variables: Value) {
    ws.send(Message::text(
        json!({ "id": id, "type": "subscribe", "payload": { "query": query, "variables": variables } })
            .to_string(),
    ))
    .await
    .unwrap();
}

/// The next message for subscription `id`: `next` (its payload), `error` or `complete`.
async fn ws_next(ws: &mut Ws, id: &str) -> (String, Value) {
    loop {
        match within("a subscription message", ws.next()).await {
            Some(Ok(Message::Text(t))) => {
                let v: Value = serde_json::from_str(&t).unwrap();
                if v["id"] == id {
                    return (v["type"].as_str().unwrap().to_owned(), v["payload"].clone());
                }
            }
            Some(Ok(_)) => {}
            other => panic!("the socket ended: {other:?}"),
        }
    }
}

/// A GraphQL-over-SSE response being read event by event.
struct EventStream {
    resp: reqwest::Response,
    buf: String,
}

impl EventStream {
    async fn open(g: &Running, query: &str, variables: Value, auth: Option<&str>) -> EventStream {
        let mut req = g
            .http
            .post(format!("{}/graphql", g.url))
            .header("accept", "text/event-stream")
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), 200);
        assert!(resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream"));
        EventStream {
            resp,
            buf: String::new(),
        }
    }

    /// The next event's name and data (keep-alive comments skipped).
    async fn next(&mut self) -> (String, String) {
        within("a server-sent event", self.read_event()).await
    }

    async fn read_event(&mut self) -> (String, String) {
        loop {
            if let Some(end) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..end + 2).collect();
                let mut event = String::new();
                let mut data = String::new();
                for line in block.lines() {
                    if let Some(e) = line.strip_prefix("event:") {
                        event = e.trim().to_owned();
                    } else if let Some(d) = line.strip_prefix("data:") {
                        data.push_str(d.strip_prefix(' ').unwrap_or(d));
                    }
                }
                if !event.is_empty() {
                    return (event, data);
                }
                continue;
            }
            let chunk = self
                .resp
                .chunk()
                .await
                .unwrap()
                .expect("the event stream ended");
            self.buf.push_str(&String::from_utf8_lossy(&chunk));
        }
    }

    async fn next_data(&mut self) -> Value {
        let (event, data) = self.next().await;
        assert_eq!(event, "next", "{data}");
        serde_json::from_str(&data).unwrap()
    }
}

/// Waits until the gateway's webhook subscriptions are registered with the ERP simulator.
async fn webhooks_registered(g: &Running) {
    let erp = g.stack.simulator("erp").unwrap().base_url();
    within("webhook registration", async {
        loop {
            let v: Value = g
                .http
                .get(format!("{erp}/_sim/subscriptions"))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            if v["value"].as_array().map_or(0, Vec::len) >= 2 {
                return v;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
}

/// Places a home-delivery order for customer `i` (as the service) and returns its number.
async fn place_order(g: &Running, i: u32, key: &str) -> String {
    let n = World::customer_number(i);
    let sku = g.world().skus(77)[0].to_string();
    let place = r#"mutation($n: String!, $lines: [LineInput!]!, $k: String!) {
      placeOrder(customerNumber: $n, lines: $lines, idempotencyKey: $k,
        fulfilment: { mode: HOME_DELIVERY, address: { street: "Strøget 1", postalCode: "1160", city: "København", countryCode: "DK" } }) {
        number status } }"#;
    let d = g
        .data(
            place,
            json!({ "n": n.as_str(), "lines": [{ "sku": sku, "quantity": "1" }], "k": key }),
        )
        .await;
    assert_eq!(d["placeOrder"]["status"], "OPEN");
    d["placeOrder"]["number"].as_str().unwrap().to_owned()
}

async fn ship(g: &Running, sim: &str, number: &str) {
    let base = g.stack.simulator(sim).unwrap().base_url();
    let r = g
        .http
        .post(format!("{base}/_sim/orders/{number}/ship"))
        .json(&json!({ "carrier": "PostNord", "trackingNumber": "00370712345678901234", "trackingUrl": "https://tracking.postnord.com/dk/?id=00370712345678901234" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
}

const ORDER_STATUS: &str = "subscription($n: String!) { orderStatus(number: $n) { number status shipments { carrier trackingNumber } } }";
const ORDER_QUERY: &str = "query($n: String!) { order(number: $n) { status } }";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_shipped_in_the_erp_reaches_websocket_and_sse_subscribers() {
    let g = Running::start(Stack::A).await;
    webhooks_registered(&g).await;
    let number = place_order(&g, 12, "rt-ws-sse-1").await;
    let me = g.bearer(json!({ "role": "customer", "sub": World::customer_number(12).as_str() }));

    // The customer watches their order in the app (WebSocket) and on the web (SSE).
    let mut ws = ws_connect(&g, json!({ "Authorization": me, "samlet-channel": "app" }))
        .await
        .unwrap();
    ws_subscribe(&mut ws, "1", ORDER_STATUS, json!({ "n": number })).await;
    let (kind, first) = ws_next(&mut ws, "1").await;
    assert_eq!(kind, "next", "{first:#}");
    assert_eq!(first["data"]["orderStatus"]["status"], "OPEN", "{first:#}");
    let mut sse = EventStream::open(&g, ORDER_STATUS, json!({ "n": number }), Some(&me)).await;
    let first = sse.next_data().await;
    assert_eq!(first["data"]["orderStatus"]["status"], "OPEN", "{first:#}");

    let before = g
        .query_with(
            ORDER_QUERY,
            json!({ "n": number }),
            &[("authorization", &me)],
        )
        .await;
    assert_eq!(before["data"]["order"]["status"], "OPEN");

    // The warehouse ships it; Business Central notifies the gateway.
    ship(&g, "erp", &number).await;

    let (kind, shipped) = ws_next(&mut ws, "1").await;
    assert_eq!(kind, "next");
    let o = &shipped["data"]["orderStatus"];
    assert_eq!(o["number"], number.as_str());
    assert_eq!(o["status"], "SHIPPED", "{shipped:#}");
    assert_eq!(o["shipments"][0]["carrier"], "PostNord");
    assert_eq!(o["shipments"][0]["trackingNumber"], "00370712345678901234");
    let shipped = sse.next_data().await;
    assert_eq!(
        shipped["data"]["orderStatus"]["status"], "SHIPPED",
        "{shipped:#}"
    );

    let after = g
        .query_with(
            ORDER_QUERY,
            json!({ "n": number }),
            &[("authorization", &me)],
        )
        .await;
    assert_eq!(after["data"]["order"]["status"], "SHIPPED");

    // Completing the subscription ends it on the server too.
    ws.send(Message::text(
        json!({ "id": "1", "type": "complete" }).to_string(),
    ))
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stock_webhook_refreshes_the_cache_and_reaches_stock_subscribers() {
    // Stock cached for an hour: only the webhook can make the next query see a new count.
    let g = Running::start_with(Stack::A, |c| {
        c.cache.inventory = samlet::cache::CachePolicy {
            ttl: Duration::from_secs(3600),
            stale_for: Duration::ZERO,
        };
    })
    .await;
    webhooks_registered(&g).await;
    let sku = g.world().skus(77)[0].to_string();
    let q = r#"query($s: String!) { product(sku: $s) { stock { locationCode onHand } } }"#;
    let on_hand = |v: &Value, at: &str| -> i64 {
        v["product"]["stock"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["locationCode"] == at)
            .unwrap()["onHand"]
            .as_i64()
            .unwrap()
    };
    let first = g.data(q, json!({ "s": sku })).await;
    let at = first["product"]["stock"][0]["locationCode"]
        .as_str()
        .unwrap()
        .to_owned();
    let was = on_hand(&first, &at);
    g.reset_counts();
    let again = g.data(q, json!({ "s": sku })).await;
    assert_eq!(on_hand(&again, &at), was);
    assert_eq!(
        g.data_requests("erp"),
        0,
        "the stock was served from the cache"
    );

    // The store counts its stock in the ERP; Business Central notifies the gateway. Nobody
    // subscribes to the SKU yet: only the webhook can have emptied the cached entry.
    let erp = g.stack.simulator("erp").unwrap().base_url();
    let count = |on_hand: i64| {
        g.http
            .post(format!("{erp}/_sim/stock/{sku}"))
            .json(&json!({ "location": at, "onHand": on_hand }))
            .send()
    };
    assert_eq!(count(was + 7).await.unwrap().status(), 204);
    let fresh = g.data(q, json!({ "s": sku })).await;
    assert_eq!(
        on_hand(&fresh, &at),
        was + 7,
        "the webhook emptied the cached entry"
    );

    // An anonymous shopper watches the SKU at that store over SSE, and sees the next count.
    let sub = "subscription($s: String!, $at: String) { stock(sku: $s, location: $at) { sku available levels { locationCode onHand } } }";
    let mut sse = EventStream::open(&g, sub, json!({ "s": sku, "at": at }), None).await;
    let now = sse.next_data().await;
    assert_eq!(
        now["data"]["stock"]["levels"][0]["onHand"],
        was + 7,
        "{now:#}"
    );
    assert_eq!(now["data"]["stock"]["levels"].as_array().unwrap().len(), 1);
    assert_eq!(count(was + 3).await.unwrap().status(), 204);
    let update = sse.next_data().await;
    assert_eq!(update["data"]["stock"]["sku"], sku.as_str());
    assert_eq!(
        update["data"]["stock"]["levels"][0]["onHand"],
        was + 3,
        "{update:#}"
    );
    let after = g.data(q, json!({ "s": sku })).await;
    assert_eq!(on_hand(&after, &at), was + 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscriptions_follow_the_access_rules_of_queries() {
    let g = Running::start(Stack::A).await;
    let w = g.world().clone();
    let theirs = World::order_number(w.orders_of(12)[0]).to_string();
    let other = g.bearer(json!({ "role": "customer", "sub": World::customer_number(13).as_str() }));
    let owner = g.bearer(json!({ "role": "customer", "sub": World::customer_number(12).as_str() }));

    // Another customer: FORBIDDEN, and the same for an order that does not exist. (A
    // refusal is an execution result with errors and no data, then the end of the operation.)
    let mut ws = ws_connect(&g, json!({ "Authorization": other }))
        .await
        .unwrap();
    for (id, n) in [("1", theirs.as_str()), ("2", "SO9999999")] {
        ws_subscribe(&mut ws, id, ORDER_STATUS, json!({ "n": n })).await;
        let (kind, payload) = ws_next(&mut ws, id).await;
        assert_eq!(kind, "next", "{payload:#}");
        assert_eq!(payload["data"], Value::Null, "{payload:#}");
        assert_eq!(
            payload["errors"][0]["extensions"]["code"], "FORBIDDEN",
            "{payload:#}"
        );
        assert_eq!(ws_next(&mut ws, id).await.0, "complete");
    }
    // The owner may.
    let mut ws = ws_connect(&g, json!({ "Authorization": owner }))
        .await
        .unwrap();
    ws_subscribe(&mut ws, "1", ORDER_STATUS, json!({ "n": theirs })).await;
    let (kind, payload) = ws_next(&mut ws, "1").await;
    assert_eq!(kind, "next", "{payload:#}");
    assert_eq!(payload["data"]["orderStatus"]["number"], theirs.as_str());

    // Anonymous: no orders (over SSE: an error result, then complete), but stock.
    let mut sse = EventStream::open(&g, ORDER_STATUS, json!({ "n": theirs }), None).await;
    let refused = sse.next_data().await;
    assert_eq!(
        refused["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
        "{refused:#}"
    );
    assert_eq!(sse.next().await.0, "complete");
    let mut anon = ws_connect(&g, json!({})).await.unwrap();
    let sku = w.skus(5)[0].to_string();
    ws_subscribe(
        &mut anon,
        "s",
        "subscription($s: String!) { stock(sku: $s) { sku levels { locationCode available } } }",
        json!({ "s": sku }),
    )
    .await;
    let (kind, payload) = ws_next(&mut anon, "s").await;
    assert_eq!(kind, "next", "{payload:#}");
    assert_eq!(payload["data"]["stock"]["sku"], sku.as_str());

    // A bad token in connection_init closes the socket, saying why (never echoing the token).
    let err = ws_connect(&g, json!({ "Authorization": "Bearer not-a-jwt" }))
        .await
        .unwrap_err();
    assert!(
        err.contains("UNAUTHENTICATED") && err.contains("bearer token rejected"),
        "{err}"
    );
    assert!(!err.contains("not-a-jwt"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_webhook_endpoint_refuses_what_it_cannot_trust_and_keeps_serving() {
    let g = Running::start(Stack::A).await;
    let hook = format!("{}/webhooks/erp", g.url);
    let state = g
        .stack
        .config_text
        .lines()
        .find_map(|l| l.strip_prefix("client_state = \""))
        .and_then(|l| l.strip_suffix('"'))
        .unwrap()
        .to_owned();

    // The validation handshake: the token comes back as the body.
    let r = g
        .http
        .post(format!("{hook}?validationToken=abc%20123"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), "abc 123");

    let note = |client_state: Option<&str>| {
        let mut n = json!({
            "subscriptionId": "1",
            "expirationDateTime": "2026-12-08T00:00:00Z",
            "resource": "api/samlet/commerce/v1.0/companies(x)/itemStockByLocation(itemNumber='P000005',variantCode='',locationCode='DK-CPH')",
            "changeType": "updated",
            "lastModifiedDateTime": "2026-12-05T00:00:00Z",
        });
        if let Some(s) = client_state {
            n["clientState"] = json!(s);
        }
        json!({ "value": [n] })
    };
    let post = |body: Value| g.http.post(&hook).json(&body).send();
    let error_of = |v: Value| v["error"].as_str().unwrap_or("").to_owned();

    let wrong = post(note(Some("not-the-state"))).await.unwrap();
    assert_eq!(wrong.status(), 403);
    let msg = error_of(wrong.json().await.unwrap());
    assert!(msg.contains("value[0].clientState does not match"), "{msg}");
    assert!(
        !msg.contains(&state) && !msg.contains("not-the-state"),
        "{msg}"
    );

    let missing = post(note(None)).await.unwrap();
    assert_eq!(missing.status(), 401);
    assert!(error_of(missing.json().await.unwrap()).contains("no clientState"));

    let garbage = g
        .http
        .post(&hook)
        .body("{\"value\": 5")
        .send()
        .await
        .unwrap();
    assert_eq!(garbage.status(), 400);
    assert!(error_of(garbage.json().await.unwrap()).contains("not a Business Central notification"));
    let wrong_shape = post(json!({ "value": [{ "clientState": state }] }))
        .await
        .unwrap();
    assert_eq!(wrong_shape.status(), 400);
    assert!(error_of(wrong_shape.json().await.unwrap()).contains("resource"));
    let elsewhere = post(json!({ "value": [{ "clientState": state, "resource": "api/v2.0/companies(x)/customers(1)" }] })).await.unwrap();
    assert_eq!(elsewhere.status(), 400);
    assert!(error_of(elsewhere.json().await.unwrap()).contains("value[0].resource"));

    let nobody = g
        .http
        .post(format!("{}/webhooks/nobody", g.url))
        .send()
        .await
        .unwrap();
    assert_eq!(nobody.status(), 404);
    assert!(error_of(nobody.json().await.unwrap()).contains("received for: erp"));
    let crm = g
        .http
        .post(format!("{}/webhooks/crm", g.url))
        .send()
        .await
        .unwrap();
    assert_eq!(crm.status(), 404);
    assert!(error_of(crm.json().await.unwrap()).contains("receives no webhooks"));

    // The genuine article is accepted, and the gateway still serves.
    let ok = post(note(Some(&state))).await.unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.json::<Value>().await.unwrap()["accepted"], 1);
    let d = g.data("{ locations { code } }", json!({})).await;
    assert!(!d["locations"].as_array().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vendor_without_webhooks_is_polled() {
    // Optimizely's Service API has no change notification: the order is read every 200 ms
    // while someone watches it.
    let g = Running::start_with(Stack::B, |c| {
        c.realtime.poll_interval = Duration::from_millis(200);
    })
    .await;
    let number = place_order(&g, 12, "rt-poll-1").await;
    let service = g.default_auth.clone().unwrap();
    let mut ws = ws_connect(&g, json!({ "Authorization": service }))
        .await
        .unwrap();
    ws_subscribe(&mut ws, "1", ORDER_STATUS, json!({ "n": number })).await;
    let (_, first) = ws_next(&mut ws, "1").await;
    assert_eq!(first["data"]["orderStatus"]["status"], "OPEN", "{first:#}");
    ship(&g, "commerce", &number).await;
    let (kind, shipped) = ws_next(&mut ws, "1").await;
    assert_eq!(kind, "next");
    assert_eq!(
        shipped["data"]["orderStatus"]["status"], "SHIPPED",
        "{shipped:#}"
    );
    assert_eq!(
        shipped["data"]["orderStatus"]["shipments"][0]["trackingNumber"],
        "00370712345678901234"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_subscribers_of_one_order_share_one_feed() {
    const CLIENTS: usize = 8;
    let g = Running::start(Stack::A).await;
    webhooks_registered(&g).await;
    let number = place_order(&g, 12, "rt-many-1").await;
    let service = g.default_auth.clone().unwrap();
    let mut sockets = Vec::new();
    for _ in 0..CLIENTS {
        let mut ws = ws_connect(&g, json!({ "Authorization": service }))
            .await
            .unwrap();
        ws_subscribe(&mut ws, "1", ORDER_STATUS, json!({ "n": number })).await;
        let (_, first) = ws_next(&mut ws, "1").await;
        assert_eq!(first["data"]["orderStatus"]["status"], "OPEN");
        sockets.push(ws);
    }
    g.reset_counts();
    ship(&g, "erp", &number).await;
    for ws in &mut sockets {
        let (_, shipped) = ws_next(ws, "1").await;
        assert_eq!(shipped["data"]["orderStatus"]["status"], "SHIPPED");
    }
    // One notification resolved (one read of the order's id) and one feed read (the order and
    // its tracking row), plus the ship control itself; a feed per subscriber would be 2 x 8.
    let reads = g.data_requests("erp");
    assert!(
        reads <= 4,
        "{reads} ERP requests for {CLIENTS} subscribers of one order"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_streams_over_get_end_when_the_gateway_shuts_down() {
    let g = Running::start(Stack::A).await;
    let sku = g.world().skus(9)[0].to_string();
    // GET works for subscriptions too (never for mutations).
    let query = "subscription($s: String!) { stock(sku: $s) { sku } }";
    let resp = g
        .http
        .get(format!("{}/graphql", g.url))
        .query(&[
            ("query", query.to_owned()),
            ("variables", json!({ "s": sku }).to_string()),
        ])
        .header("accept", "text/event-stream")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let mut sse = EventStream {
        resp,
        buf: String::new(),
    };
    let first = sse.next_data().await;
    assert_eq!(first["data"]["stock"]["sku"], sku.as_str(), "{first:#}");
    // Shutting down ends the subscription with `complete` instead of holding the drain open.
    drop(g);
    assert_eq!(sse.next().await.0, "complete");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn business_central_subscriptions_are_renewed_not_duplicated() {
    // Renewed every second here (every two days by default; Business Central drops them
    // after three).
    let g = Running::start_with_config_text(Stack::A, |text| {
        text.replace(
            "client_state = ",
            "webhook_renew_seconds = 1\nclient_state = ",
        )
    })
    .await;
    webhooks_registered(&g).await;
    let erp = g.stack.simulator("erp").unwrap().base_url();
    let list = || async {
        let v: Value = g
            .http
            .get(format!("{erp}/_sim/subscriptions"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        v["value"].as_array().unwrap().clone()
    };
    let first = list().await;
    let etags = |l: &[Value]| -> Vec<String> {
        l.iter()
            .map(|s| s["@odata.etag"].as_str().unwrap().to_owned())
            .collect()
    };
    let renewed = within("a renewal of both subscriptions", async {
        loop {
            let now = list().await;
            if etags(&now).iter().zip(etags(&first)).all(|(a, b)| *a != b) {
                return now;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
    assert_eq!(renewed.len(), 2, "renewed in place: {renewed:#?}");
    for (a, b) in renewed.iter().zip(&first) {
        assert_eq!(a["subscriptionId"], b["subscriptionId"]);
        assert!(a["expirationDateTime"].as_str() > b["expirationDateTime"].as_str());
    }
    // Notifications still arrive.
    let number = place_order(&g, 12, "rt-renew-1").await;
    let service = g.default_auth.clone().unwrap();
    let mut ws = ws_connect(&g, json!({ "Authorization": service }))
        .await
        .unwrap();
    ws_subscribe(&mut ws, "1", ORDER_STATUS, json!({ "n": number })).await;
    assert_eq!(
        ws_next(&mut ws, "1").await.1["data"]["orderStatus"]["status"],
        "OPEN"
    );
    ship(&g, "erp", &number).await;
    assert_eq!(
        ws_next(&mut ws, "1").await.1["data"]["orderStatus"]["status"],
        "SHIPPED"
    );
}
