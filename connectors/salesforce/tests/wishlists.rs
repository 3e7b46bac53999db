//! The wishlist write dialect, end to end against the simulator: the upsert by external id and
//! its body, idempotent re-adds (no write, `Added_At__c` untouched), deletes by external id
//! where a missing record counts as removed, Salesforce's answers to upserts (201 / 200 / 204)
//! and to bad writes (`DUPLICATE_VALUE`, `INVALID_FIELD`, …), paging of long lists, and the
//! configurable object and field names.

use samlet_connector::prelude::*;
use samlet_salesforce::simulator;
use samlet_salesforce::SalesforceConfig;
use samlet_testkit::sim::{FaultPlan, SimServer};
use samlet_testkit::{World, WorldConfig};
use serde_json::{json, Value};
use std::sync::{Arc, OnceLock};

const COMPOSITE: &str = "POST /services/data/v62.0/composite";
const QUERY: &str = "GET /services/data/v62.0/query";
const UPSERT: &str = "PATCH /services/data/v62.0/sobjects/Wishlist_Item__c/Samlet_Key__c/";
const DELETE: &str = "DELETE /services/data/v62.0/sobjects/Wishlist_Item__c/";
const ITEMS: &str = "/services/data/v62.0/sobjects/Wishlist_Item__c";

fn world() -> Arc<World> {
    static WORLD: OnceLock<Arc<World>> = OnceLock::new();
    WORLD
        .get_or_init(|| Arc::new(World::new(WorldConfig::default())))
        .clone()
}

fn store(config: &SalesforceConfig) -> Arc<dyn WishlistStore> {
    samlet_salesforce::connect(ConnectorName::new("crm"), config, UpstreamPolicy::default())
        .expect("valid config")
        .wishlists
        .expect("serves wishlists")
}

fn cx(channel: Channel) -> RequestContext {
    RequestContext {
        channel,
        ..RequestContext::default()
    }
}

/// The first customer of `kind` the CRM holds, from index `from` on.
fn customer(w: &World, kind: CustomerKind, from: u32) -> u32 {
    (from..w.customer_count())
        .find(|&i| {
            w.customer(i).kind == kind
                && w.system_customer(samlet_testkit::world::CustomerSlice::Crm, i)
                    .is_some()
        })
        .expect("a customer of that kind")
}

/// `C0000012|P000042-GREEN`, percent-encoded as one path segment.
fn key_path(customer: &CustomerNumber, sku: &Sku) -> String {
    format!("{}%7C{}", customer.as_str(), sku.as_str())
}

/// Plain HTTP against the simulator with a session of its own.
struct Raw {
    http: reqwest::Client,
    token: String,
    base: String,
}

impl Raw {
    async fn new(sim: &SimServer) -> Raw {
        let http = reqwest::Client::new();
        let body: Value = http
            .post(format!("{}/services/oauth2/token", sim.base_url()))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", simulator::DEMO_CLIENT_ID),
                ("client_secret", simulator::DEMO_CLIENT_SECRET),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        Raw {
            http,
            token: body["access_token"].as_str().unwrap().to_owned(),
            base: sim.base_url(),
        }
    }

    async fn send(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn item(&self, customer: &CustomerNumber, sku: &Sku) -> (u16, Value) {
        self.send(
            "GET",
            &format!("{ITEMS}/Samlet_Key__c/{}", key_path(customer, sku)),
            None,
        )
        .await
    }
}

#[tokio::test]
async fn an_add_reads_in_one_composite_call_and_upserts_by_external_id_with_the_contact() {
    let w = world();
    let sim = simulator::start(w.clone(), 0).await.unwrap();
    let wishes = store(&simulator::demo_config(&sim.base_url()));
    let person = World::customer_number(customer(&w, CustomerKind::Person, 10));
    let sku = w.skus(21)[0].clone();
    let list = wishes
        .add_to_wishlist(&cx(Channel::App), &person, &sku, "k1")
        .await
        .unwrap();
    assert_eq!(list.items.len(), 1);
    assert_eq!(list.items[0].sku, sku);
    assert_eq!(list.items[0].channel, Some(Channel::App));
    let stats = &sim.control.stats;
    assert_eq!(stats.count(COMPOSITE), 1, "{:?}", stats.routes());
    assert_eq!(stats.count(UPSERT), 1, "{:?}", stats.routes());
    assert_eq!(
        stats.count(&format!("{UPSERT}{}", key_path(&person, &sku))),
        1,
        "the key travels percent-encoded: {:?}",
        stats.routes()
    );
    assert_eq!(stats.count("GET /services/data/v62.0/query"), 0);
    // What the org holds: the person's Contact, no Account, the fields of the item.
    let raw = Raw::new(&sim).await;
    let (status, rec) = raw.item(&person, &sku).await;
    assert_eq!(status, 200, "{rec}");
    let i = w.customer_index(&person).unwrap();
    assert_eq!(rec["Contact__c"], format!("003Sa{i:010}AAA"));
    assert_eq!(rec["Account__c"], Value::Null);
    assert_eq!(rec["Customer_Number__c"], person.as_str());
    assert_eq!(rec["SKU__c"], sku.as_str());
    assert_eq!(rec["Channel__c"], "app");
    assert_eq!(
        rec["Samlet_Key__c"],
        format!("{}|{}", person.as_str(), sku.as_str())
    );
    let added = list.items[0]
        .added_at
        .format("%Y-%m-%dT%H:%M:%S%.3f+0000")
        .to_string();
    assert_eq!(rec["Added_At__c"], added);
    // And the read gives back exactly what the add answered.
    let read = wishes.wishlist(&cx(Channel::Web), &person).await.unwrap();
    assert_eq!(read, list);
    assert_eq!(
        stats.count(QUERY),
        1,
        "one plain query: {:?}",
        stats.routes()
    );
}

#[tokio::test]
async fn a_companys_item_looks_up_its_account() {
    let w = world();
    let sim = simulator::start(w.clone(), 0).await.unwrap();
    let wishes = store(&simulator::demo_config(&sim.base_url()));
    let company = World::customer_number(customer(&w, CustomerKind::Company, 0));
    let sku = w.skus(22)[0].clone();
    wishes
        .add_to_wishlist(&cx(Channel::Store), &company, &sku, "k1")
        .await
        .unwrap();
    let (_, rec) = Raw::new(&sim).await.item(&company, &sku).await;
    let i = w.customer_index(&company).unwrap();
    assert_eq!(rec["Account__c"], format!("001Sa{i:010}AAA"));
    assert_eq!(rec["Contact__c"], Value::Null);
}

#[tokio::test]
async fn adding_again_writes_nothing_and_keeps_when_and_where_it_was_added() {
    let w = world();
    let sim = simulator::start(w.clone(), 0).await.unwrap();
    let wishes = store(&simulator::demo_config(&sim.base_url()));
    let person = World::customer_number(customer(&w, CustomerKind::Person, 20));
    let sku = w.skus(23)[0].clone();
    let first = wishes
        .add_to_wishlist(&cx(Channel::Web), &person, &sku, "k1")
        .await
        .unwrap();
    let raw = Raw::new(&sim).await;
    let (_, before) = raw.item(&person, &sku).await;
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let stats = &sim.control.stats;
    stats.reset();
    // A retry (same key) and a repeat from another device (new key).
    for (channel, key) in [(Channel::Web, "k1"), (Channel::Kiosk, "k2")] {
        let again = wishes
            .add_to_wishlist(&cx(channel), &person, &sku, key)
            .await
            .unwrap();
        assert_eq!(again, first);
    }
    assert_eq!(stats.count(COMPOSITE), 2, "{:?}", stats.routes());
    assert_eq!(stats.count(UPSERT), 0, "{:?}", stats.routes());
    let (_, after) = raw.item(&person, &sku).await;
    assert_eq!(after, before, "the record is untouched");
}

#[tokio::test]
async fn an_add_whose_answer_was_lost_is_not_written_twice() {
    let w = world();
    let sim = simulator::start(w.clone(), 0).await.unwrap();
    let wishes = store(&simulator::demo_config(&sim.base_url()));
    let person = World::customer_number(customer(&w, CustomerKind::Person, 30));
    let i = w.customer_index(&person).unwrap();
    let sku = w.skus(24)[0].clone();
    // The first attempt's upsert reached the org; its answer never came back.
    let raw = Raw::new(&sim).await;
    let (status, _) = raw
        .send(
            "PATCH",
            &format!("{ITEMS}/Samlet_Key__c/{}", key_path(&person, &sku)),
            Some(json!({
                "Contact__c": format!("003Sa{i:010}AAA"), "Customer_Number__c": person.as_str(),
                "SKU__c": sku.as_str(), "Added_At__c": "2024-05-01T10:00:00.000Z", "Channel__c": "app"
            })),
        )
        .await;
    assert_eq!(status, 201);
    sim.control.stats.reset();
    let list = wishes
        .add_to_wishlist(&cx(Channel::Web), &person, &sku, "k1")
        .await
        .unwrap();
    assert_eq!(list.items.len(), 1);
    assert_eq!(list.items[0].channel, Some(Channel::App));
    assert_eq!(
        list.items[0].added_at.to_rfc3339(),
        "2024-05-01T10:00:00+00:00"
    );
    assert_eq!(sim.control.stats.count(UPSERT), 0);
}

#[tokio::test]
async fn a_transient_failure_of_the_upsert_is_retried_into_one_record() {
    let w = world();
    let sim = simulator::start(w.clone(), 0).await.unwrap();
    let wishes = store(&simulator::demo_config(&sim.base_url()));
    let person = World::customer_number(customer(&w, CustomerKind::Person, 40));
    let sku = w.skus(25)[0].clone();
    sim.control.set_faults(FaultPlan {
        fail_next: 1,
        only_paths: vec![ITEMS.into()],
        ..FaultPlan::default()
    });
    let list = wishes
        .add_to_wishlist(&cx(Channel::Web), &person, &sku, "k1")
        .await
        .unwrap();
    sim.control.clear_faults();
    assert_eq!(
        sim.control.stats.count(UPSERT),
        2,
        "503, then the same PATCH"
    );
    assert_eq!(list.items.len(), 1);
    let read = wishes.wishlist(&cx(Channel::Web), &person).await.unwrap();
    assert_eq!(read, list);
}

#[tokio::test]
async fn items_come_back_oldest_first_and_removal_takes_out_exactly_one() {
    let w = world();
    let sim = simulator::start(w.clone(), 0).await.unwrap();
    let wishes = store(&simulator::demo_config(&sim.base_url()));
    let person = World::customer_number(customer(&w, CustomerKind::Person, 50));
    let skus: Vec<Sku> = (30..34).map(|p| w.skus(p)[0].clone()).collect();
    for sku in &skus {
        wishes
            .add_to_wishlist(&cx(Channel::Web), &person, sku, sku.as_str())
            .await
            .unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    let read = wishes.wishlist(&cx(Channel::Web), &person).await.unwrap();
    let order: Vec<&Sku> = read.items.iter().map(|i| &i.sku).collect();
    assert_eq!(order, skus.iter().collect::<Vec<_>>());
    sim.control.stats.reset();
    let after = wishes
        .remove_from_wishlist(&cx(Channel::Web), &person, &skus[1])
        .await
        .unwrap();
    let left: Vec<&Sku> = after.items.iter().map(|i| &i.sku).collect();
    assert_eq!(left, [&skus[0], &skus[2], &skus[3]]);
    let stats = &sim.control.stats;
    assert_eq!(stats.count(QUERY), 1, "{:?}", stats.routes());
    assert_eq!(
        stats.count(&format!(
            "{DELETE}Samlet_Key__c/{}",
            key_path(&person, &skus[1])
        )),
        1,
        "{:?}",
        stats.routes()
    );
    assert_eq!(
        wishes.wishlist(&cx(Channel::Web), &person).await.unwrap(),
        after
    );
}

#[tokio::test]
async fn removing_what_is_not_there_succeeds_without_a_delete() {
    let w = world();
    let sim = simulator::start(w.clone(), 0).await.unwrap();
    let wishes = store(&simulator::demo_config(&sim.base_url()));
    let person = World::customer_number(customer(&w, CustomerKind::Person, 60));
    let sku = w.skus(35)[0].clone();
    let list = wishes
        .remove_from_wishlist(&cx(Channel::Web), &person, &sku)
        .await
        .unwrap();
    assert!(list.items.is_empty());
    assert_eq!(sim.control.stats.count(DELETE), 0);
    // The org itself answers a delete of a missing key with 404 NOT_FOUND, and a second
    // delete of a record by id with ENTITY_IS_DELETED.
    let raw = Raw::new(&sim).await;
    let (status, body) = raw
        .send(
            "DELETE",
            &format!("{ITEMS}/Samlet_Key__c/{}", key_path(&person, &sku)),
            None,
        )
        .await;
    assert_eq!(status, 404);
    assert_eq!(
        body,
        json!([{"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}])
    );
    wishes
        .add_to_wishlist(&cx(Channel::Web), &person, &sku, "k")
        .await
        .unwrap();
    let (_, rec) = raw.item(&person, &sku).await;
    let by_id = format!("{ITEMS}/{}", rec["Id"].as_str().unwrap());
    assert_eq!(raw.send("DELETE", &by_id, None).await.0, 204);
    let (status, body) = raw.send("DELETE", &by_id, None).await;
    assert_eq!(status, 404);
    assert_eq!(body[0]["errorCode"], "ENTITY_IS_DELETED");
}

#[tokio::test]
async fn upserts_answer_201_then_200_and_204_before_api_46() {
    let w = world();
    let sim = simulator::start(w.clone(), 0).await.unwrap();
    let raw = Raw::new(&sim).await;
    let body = json!({"Customer_Number__c": "C0000001", "SKU__c": "P000001-OAK",
        "Added_At__c": "2024-05-01T10:00:00.000Z", "Channel__c": "web"});
    let path = format!("{ITEMS}/Samlet_Key__c/C0000001%7CP000001-OAK");
    let (status, created) = raw.send("PATCH", &path, Some(body.clone())).await;
    assert_eq!(status, 201);
    assert_eq!(created["created"], true);
    assert_eq!(created["success"], true);
    assert_eq!(created["errors"], json!([]));
    let (status, updated) = raw.send("PATCH", &path, Some(body.clone())).await;
    assert_eq!(status, 200);
    assert_eq!(updated["created"], false);
    assert_eq!(updated["id"], created["id"]);
    let old = path.replace("v62.0", "v45.0");
    // An upsert writes what it is sent: this is why the connector never upserts an item that
    // is already on the list.
    let (status, _) = raw
        .send(
            "PATCH",
            &old,
            Some(json!({"Added_At__c": "2025-01-01T00:00:00.000Z"})),
        )
        .await;
    assert_eq!(status, 204);
    let (_, rec) = raw.send("GET", &path, None).await;
    assert_eq!(rec["Added_At__c"], "2025-01-01T00:00:00.000+0000");
    // Upserts go by an external-id field only.
    let (status, body) = raw
        .send("PATCH", &format!("{ITEMS}/SKU__c/P1"), Some(json!({})))
        .await;
    assert_eq!(status, 404);
    assert_eq!(body[0]["errorCode"], "NOT_FOUND");
}

#[tokio::test]
async fn the_simulator_refuses_bad_writes_with_salesforces_codes() {
    let w = world();
    let sim = simulator::start(w.clone(), 0).await.unwrap();
    let raw = Raw::new(&sim).await;
    let good = json!({"Customer_Number__c": "C0000002", "SKU__c": "P000002-OAK", "Samlet_Key__c": "C0000002|P000002-OAK"});
    assert_eq!(raw.send("POST", ITEMS, Some(good.clone())).await.0, 201);
    let (status, body) = raw.send("POST", ITEMS, Some(good)).await;
    assert_eq!(status, 400);
    assert_eq!(body[0]["errorCode"], "DUPLICATE_VALUE", "{body}");
    assert_eq!(body[0]["fields"], json!(["Samlet_Key__c"]));
    let path = format!("{ITEMS}/Samlet_Key__c/C0000003%7CP1");
    for (write, code) in [
        (json!({"SKU__c": "P1"}), "REQUIRED_FIELD_MISSING"),
        (
            json!({"Customer_Number__c": "C0000003", "SKU__c": "P1", "Colour__c": "red"}),
            "INVALID_FIELD",
        ),
        (
            json!({"Customer_Number__c": "C0000003", "SKU__c": "P1", "CreatedDate": "2024-01-01T00:00:00Z"}),
            "INVALID_FIELD_FOR_INSERT_UPDATE",
        ),
        (
            json!({"Customer_Number__c": "C0000003", "SKU__c": "P1", "Channel__c": "fax"}),
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
        ),
        (
            json!({"Customer_Number__c": "C0000003", "SKU__c": "P1", "Added_At__c": "yesterday"}),
            "JSON_PARSER_ERROR",
        ),
        (
            json!({"Customer_Number__c": "C0000003", "SKU__c": "P1", "Contact__c": "001Sa0000000001AAA"}),
            "FIELD_INTEGRITY_EXCEPTION",
        ),
        (
            json!({"Customer_Number__c": "C0000003", "SKU__c": "P1", "Contact__c": "003Sa0009999999AAA"}),
            "INVALID_CROSS_REFERENCE_KEY",
        ),
        (
            json!({"Customer_Number__c": "C0000003", "SKU__c": "x".repeat(256)}),
            "STRING_TOO_LONG",
        ),
    ] {
        let (status, body) = raw.send("PATCH", &path, Some(write.clone())).await;
        assert_eq!(status, 400, "{write}: {body}");
        assert_eq!(body[0]["errorCode"], code, "{write}: {body}");
    }
    assert_eq!(
        raw.item(&CustomerNumber::new("C0000003"), &Sku::new("P1"))
            .await
            .0,
        404
    );
    // Contacts and Accounts are read-only here.
    let (status, _) = raw
        .send(
            "PATCH",
            "/services/data/v62.0/sobjects/Contact/Customer_Number__c/C0000001",
            Some(json!({})),
        )
        .await;
    assert_eq!(status, 405);
}

#[tokio::test]
async fn a_long_wishlist_is_read_across_pages() {
    let w = world();
    let sim = simulator::start(w.clone(), 0).await.unwrap();
    let raw = Raw::new(&sim).await;
    let person = World::customer_number(customer(&w, CustomerKind::Person, 70));
    let n = 205;
    for k in 0..n {
        let sku = Sku::new(format!("P{k:06}-OAK"));
        let (status, _) = raw
            .send(
                "PATCH",
                &format!("{ITEMS}/Samlet_Key__c/{}", key_path(&person, &sku)),
                Some(json!({
                    "Customer_Number__c": person.as_str(), "SKU__c": sku.as_str(),
                    // Added in reverse order of SKU: the list must follow Added_At__c.
                    "Added_At__c": format!("2024-05-01T10:{:02}:{:02}.000Z", (n - k) / 60, (n - k) % 60),
                })),
            )
            .await;
        assert_eq!(status, 201);
    }
    let mut config = simulator::demo_config(&sim.base_url());
    config.query_batch_size = 200;
    sim.control.stats.reset();
    let list = store(&config)
        .wishlist(&cx(Channel::Web), &person)
        .await
        .unwrap();
    assert_eq!(list.items.len(), n as usize);
    assert_eq!(list.items[0].sku, Sku::new(format!("P{:06}-OAK", n - 1)));
    assert!(list.items.windows(2).all(|p| p[0].added_at < p[1].added_at));
    let stats = &sim.control.stats;
    assert_eq!(
        stats.count("GET /services/data/v62.0/query/"),
        1,
        "{:?}",
        stats.routes()
    );
    assert_eq!(stats.count(QUERY), 2, "{:?}", stats.routes());
}

#[tokio::test]
async fn a_customer_the_crm_does_not_hold_cannot_add() {
    let w = world();
    let sim = simulator::start(w.clone(), 0).await.unwrap();
    let wishes = store(&simulator::demo_config(&sim.base_url()));
    let err = wishes
        .add_to_wishlist(
            &cx(Channel::Web),
            &CustomerNumber::new("C9999999"),
            &w.skus(1)[0],
            "k",
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::NotFound, "{err}");
    assert_eq!(sim.control.stats.count(UPSERT), 0);
    let empty = wishes
        .wishlist(&cx(Channel::Web), &CustomerNumber::new("C9999999"))
        .await
        .unwrap();
    assert!(empty.items.is_empty());
}

#[tokio::test]
async fn the_object_and_field_names_come_from_configuration() {
    let w = world();
    let sim = simulator::start(w.clone(), 0).await.unwrap();
    let mut config = simulator::demo_config(&sim.base_url());
    config.wishlist.object = "Wish__c".into();
    let err = store(&config)
        .wishlist(&cx(Channel::Web), &World::customer_number(1))
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::BadRequest, "{err}");
    assert!(err.message.contains("Wish__c"), "{err}");
    let parsed: SalesforceConfig = toml::from_str(&format!(
        "{}\n[wishlist]\nobject = \"Onskeliste__c\"\nkey = \"Noegle__c\"\n",
        simulator::demo_toml(&sim.base_url())
    ))
    .unwrap();
    assert_eq!(parsed.wishlist.object, "Onskeliste__c");
    assert_eq!(parsed.wishlist.key, "Noegle__c");
    assert_eq!(
        parsed.wishlist.sku, "SKU__c",
        "the rest keep their defaults"
    );
    assert!(toml::from_str::<SalesforceConfig>(&format!(
        "{}\n[wishlist]\ncolour = \"Colour__c\"\n",
        simulator::demo_toml(&sim.base_url())
    ))
    .is_err());
}

// ----- an org that answers what the simulator cannot: the connector's handling -------------

/// An org holding one wishlist row for SKU `P1-OAK` (key `C1|P1-OAK`), whose Contact query
/// finds `003x`, whose upsert answers `upsert` and whose delete answers `delete`.
async fn scripted_org(upsert: (u16, Value), delete: (u16, Value)) -> SimServer {
    use axum::http::StatusCode;
    use axum::response::IntoResponse;
    use axum::routing::{get, patch, post};
    let token = post(|headers: axum::http::HeaderMap| async move {
        let host = headers["host"].to_str().unwrap_or_default().to_owned();
        axum::Json(json!({"access_token": "t", "instance_url": format!("http://{host}")}))
    });
    let row = json!({"Id": "a0W1", "SKU__c": "P1-OAK", "Added_At__c": "2024-05-01T10:00:00.000+0000",
        "Channel__c": "web", "Samlet_Key__c": "C1|P1-OAK", "CreatedDate": "2024-05-01T10:00:00.000+0000"});
    let page =
        |records: Vec<Value>| json!({"totalSize": records.len(), "done": true, "records": records});
    let list = page(vec![row]);
    let direct = list.clone();
    let query = get(move || {
        let list = direct.clone();
        async move { axum::Json(list) }
    });
    let composite = post(move |axum::Json(request): axum::Json<Value>| {
        let answers: Vec<Value> = request["compositeRequest"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .enumerate()
            .map(|(i, sub)| {
                let body = match i {
                    0 => list.clone(),
                    1 => page(vec![json!({"Id": "003x"})]),
                    _ => page(vec![]),
                };
                json!({"body": body, "httpStatusCode": 200, "referenceId": sub["referenceId"]})
            })
            .collect();
        async move { axum::Json(json!({ "compositeResponse": answers })) }
    });
    let answer = |(status, body): (u16, Value)| {
        move || {
            let body = body.clone();
            async move {
                let status = StatusCode::from_u16(status).unwrap();
                (status, axum::Json(body)).into_response()
            }
        }
    };
    let router = axum::Router::new()
        .route("/services/oauth2/token", token)
        .route("/services/data/v62.0/query", query)
        .route("/services/data/v62.0/composite", composite)
        .route(
            "/services/data/v62.0/sobjects/Wishlist_Item__c/Samlet_Key__c/{value}",
            patch(answer(upsert)).delete(answer(delete)),
        );
    fn errors(status: StatusCode, _: &str) -> axum::response::Response {
        status.into_response()
    }
    SimServer::start(router, errors, 0).await.unwrap()
}

#[tokio::test]
async fn a_delete_that_finds_nothing_counts_as_removed() {
    let sim = scripted_org(
        (500, json!(null)),
        (
            404,
            json!([{"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}]),
        ),
    )
    .await;
    let wishes = store(&simulator::demo_config(&sim.base_url()));
    let list = wishes
        .remove_from_wishlist(
            &cx(Channel::Web),
            &CustomerNumber::new("C1"),
            &Sku::new("P1-OAK"),
        )
        .await
        .unwrap();
    assert!(list.items.is_empty());
    assert_eq!(sim.control.stats.count(DELETE), 1);
}

#[tokio::test]
async fn a_missing_external_id_field_is_a_setup_error_not_a_removal() {
    let sim = scripted_org(
        (500, json!(null)),
        (
            404,
            json!([{"message": "Provided external ID field does not exist or is not accessible: Samlet_Key__c", "errorCode": "NOT_FOUND"}]),
        ),
    )
    .await;
    let wishes = store(&simulator::demo_config(&sim.base_url()));
    let err = wishes
        .remove_from_wishlist(
            &cx(Channel::Web),
            &CustomerNumber::new("C1"),
            &Sku::new("P1-OAK"),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::BadRequest, "{err}");
}

#[tokio::test]
async fn a_duplicate_value_or_an_ambiguous_external_id_is_a_conflict() {
    let duplicate = (
        400,
        json!([{"message": "duplicate value found: Samlet_Key__c duplicates value on record with id: a0W1",
            "errorCode": "DUPLICATE_VALUE", "fields": ["Samlet_Key__c"]}]),
    );
    let sim = scripted_org(duplicate, (204, json!(null))).await;
    let wishes = store(&simulator::demo_config(&sim.base_url()));
    let err = wishes
        .add_to_wishlist(
            &cx(Channel::Web),
            &CustomerNumber::new("C1"),
            &Sku::new("P2-ASH"),
            "k",
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Conflict, "{err}");
    assert!(err.message.contains("DUPLICATE_VALUE"), "{err}");
    // Several records with one external id: Salesforce answers 300 with their URLs.
    let sim = scripted_org(
        (
            300,
            json!([
                "/services/data/v62.0/sobjects/Wishlist_Item__c/a0W1",
                "/services/data/v62.0/sobjects/Wishlist_Item__c/a0W2"
            ]),
        ),
        (204, json!(null)),
    )
    .await;
    let wishes = store(&simulator::demo_config(&sim.base_url()));
    let err = wishes
        .add_to_wishlist(
            &cx(Channel::Web),
            &CustomerNumber::new("C1"),
            &Sku::new("P2-ASH"),
            "k",
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Conflict, "{err}");
}

#[tokio::test]
async fn an_upsert_that_updated_instead_of_created_is_answered_from_a_fresh_read() {
    // Before API 46.0 an update answers 204; either way someone else made the record between
    // the read and the upsert, so the list is read again rather than assumed.
    let sim = scripted_org((204, json!(null)), (204, json!(null))).await;
    let wishes = store(&simulator::demo_config(&sim.base_url()));
    let list = wishes
        .add_to_wishlist(
            &cx(Channel::Web),
            &CustomerNumber::new("C1"),
            &Sku::new("P2-ASH"),
            "k",
        )
        .await
        .unwrap();
    let skus: Vec<&str> = list.items.iter().map(|i| i.sku.as_str()).collect();
    assert_eq!(skus, ["P1-OAK"], "what the org holds");
    assert_eq!(sim.control.stats.count(UPSERT), 1);
    assert_eq!(
        sim.control.stats.count(QUERY),
        1,
        "{:?}",
        sim.control.stats.routes()
    );
}
