//! The Salesforce dialect, end to end against the simulator: batching into one composite call,
//! `nextRecordsUrl` paging, chunking under the URL cap, the session handshake and its renewal,
//! the daily allocation, and the simulator's own answers on the wire.

use samlet_connector::prelude::*;
use samlet_salesforce::simulator::{self, SimOptions};
use samlet_salesforce::SalesforceConfig;
use samlet_testkit::sim::{SimServer, TokenIssuer};
use samlet_testkit::world::CustomerSlice;
use samlet_testkit::{World, WorldConfig};
use serde_json::{json, Value};
use std::sync::{Arc, OnceLock};

const COMPOSITE: &str = "POST /services/data/v62.0/composite";
const QUERY_MORE: &str = "GET /services/data/v62.0/query/";
const DATA: &str = "GET /services/data";
const TOKEN: &str = "POST /services/oauth2/token";

fn world() -> Arc<World> {
    static WORLD: OnceLock<Arc<World>> = OnceLock::new();
    WORLD
        .get_or_init(|| Arc::new(World::new(WorldConfig::default())))
        .clone()
}

fn connect(config: &SalesforceConfig) -> Connector {
    samlet_salesforce::connect(ConnectorName::new("crm"), config, UpstreamPolicy::default())
        .expect("valid config")
}

fn source(c: &Connector) -> Arc<dyn CustomerSource> {
    c.customers.clone().expect("serves customers")
}

fn is_company(w: &World, i: u32) -> bool {
    w.customer(i).kind == CustomerKind::Company
}

/// Requests to the data API (composite, queries, pages, reads).
fn data_calls(sim: &SimServer) -> u64 {
    sim.control.stats.count(COMPOSITE) + sim.control.stats.count(DATA)
}

#[tokio::test]
async fn a_batch_of_48_emails_costs_one_data_api_request() {
    let w = world();
    let sim = simulator::start(w.clone(), 0).await.unwrap();
    let crm = connect(&simulator::demo_config(&sim.base_url()));
    assert_eq!(sim.control.stats.total(), 0, "connect does no I/O");
    // Persons and companies alike, e-mails in a casing the CRM does not store.
    let picked: Vec<u32> = (0..48).map(|k| k * 97 + 5).collect();
    assert!(picked.iter().any(|&i| is_company(&w, i)));
    let keys: Vec<MatchKey> = picked
        .iter()
        .map(|&i| MatchKey::email(&w.customer(i).email.to_uppercase()).unwrap())
        .collect();
    let found = source(&crm)
        .customers(&RequestContext::default(), &keys)
        .await
        .unwrap();
    for (&i, key) in picked.iter().zip(&keys) {
        let recs = found
            .get(key)
            .unwrap_or_else(|| panic!("{key:?} not found"));
        assert_eq!(recs.len(), 1, "{key:?}");
        assert_eq!(recs[0].number, Some(World::customer_number(i)));
        assert_eq!(recs[0].kind, w.customer(i).kind);
    }
    let stats = &sim.control.stats;
    assert_eq!(stats.count(COMPOSITE), 1, "{:?}", stats.routes());
    assert_eq!(data_calls(&sim), 1, "{:?}", stats.routes());
    assert_eq!(stats.count(TOKEN), 1);
    // The session is reused.
    source(&crm)
        .customers(&RequestContext::default(), &keys[..3])
        .await
        .unwrap();
    assert_eq!(stats.count(TOKEN), 1);
    assert_eq!(data_calls(&sim), 2);
}

#[tokio::test]
async fn results_beyond_the_batch_size_are_followed_through_next_records_url() {
    let w = world();
    let sim = simulator::start(w.clone(), 0).await.unwrap();
    let mut config = simulator::demo_config(&sim.base_url());
    config.query_batch_size = 200;
    let crm = connect(&config);
    let keys: Vec<MatchKey> = (0..300)
        .map(|i| MatchKey::CustomerNumber(World::customer_number(i)))
        .collect();
    let persons = (0..300).filter(|&i| !is_company(&w, i)).count();
    assert!(persons > 200, "the Contact query must span two pages");
    let found = source(&crm)
        .customers(&RequestContext::default(), &keys)
        .await
        .unwrap();
    assert_eq!(found.len(), 300, "every customer found across pages");
    for (i, key) in keys.iter().enumerate() {
        assert_eq!(found[key][0].number, Some(World::customer_number(i as u32)));
    }
    let stats = &sim.control.stats;
    assert_eq!(stats.count(COMPOSITE), 1, "{:?}", stats.routes());
    assert_eq!(stats.count(QUERY_MORE), 1, "{:?}", stats.routes());
}

#[tokio::test]
async fn a_large_batch_is_chunked_and_packed_five_queries_per_composite_call() {
    let w = world();
    let sim = simulator::start(w.clone(), 0).await.unwrap();
    let crm = connect(&simulator::demo_config(&sim.base_url()));
    let keys: Vec<MatchKey> = (0..2000)
        .map(|i| MatchKey::Email(w.customer(i).email))
        .collect();
    let found = source(&crm)
        .customers(&RequestContext::default(), &keys)
        .await
        .unwrap();
    assert_eq!(found.len(), 2000);
    // ~40 encoded characters per e-mail: about six chunks of two queries, five per call.
    let calls = sim.control.stats.count(COMPOSITE);
    assert!((2..=4).contains(&calls), "{calls} composite calls");
    assert_eq!(sim.control.stats.count(QUERY_MORE), 0);
}

#[tokio::test]
async fn a_query_left_alone_in_the_last_group_goes_out_as_a_plain_query() {
    let w = world();
    let sim = simulator::start(w.clone(), 0).await.unwrap();
    let crm = connect(&simulator::demo_config(&sim.base_url()));
    // About 350 e-mails per chunk: three chunks, six queries, five in the composite call.
    let keys: Vec<MatchKey> = (0..1000)
        .map(|i| MatchKey::Email(w.customer(i).email))
        .collect();
    let found = source(&crm)
        .customers(&RequestContext::default(), &keys)
        .await
        .unwrap();
    assert_eq!(found.len(), 1000);
    let stats = &sim.control.stats;
    assert_eq!(stats.count(COMPOSITE), 1, "{:?}", stats.routes());
    assert_eq!(
        stats.count("GET /services/data/v62.0/query"),
        1,
        "{:?}",
        stats.routes()
    );
}

#[tokio::test]
async fn phone_and_loyalty_keys_find_persons_and_companies() {
    let w = world();
    let sim = simulator::start(w.clone(), 0).await.unwrap();
    let crm = connect(&simulator::demo_config(&sim.base_url()));
    let mut keys = Vec::new();
    let mut want = Vec::new();
    for i in 0..400 {
        let sys = w.system_customer(CustomerSlice::Crm, i).unwrap();
        let country = &sys.address.country;
        if let Some(p) = sys
            .phone
            .as_deref()
            .and_then(|p| normalize_phone(p, country))
        {
            keys.push(MatchKey::Phone(p));
            want.push(i);
        }
        if let Some(l) = &sys.loyalty_number {
            keys.push(MatchKey::LoyaltyNumber(l.clone()));
            want.push(i);
        }
    }
    assert!(want.iter().any(|&i| is_company(&w, i)));
    let found = source(&crm)
        .customers(&RequestContext::default(), &keys)
        .await
        .unwrap();
    for (key, i) in keys.iter().zip(want) {
        let recs = found
            .get(key)
            .unwrap_or_else(|| panic!("{key:?} not found"));
        assert!(recs
            .iter()
            .any(|r| r.number == Some(World::customer_number(i))));
    }
}

#[tokio::test]
async fn bad_client_credentials_are_unauthorized_and_never_reach_the_data_api() {
    let sim = simulator::start(world(), 0).await.unwrap();
    let good = simulator::demo_config(&sim.base_url());
    let mut bad_secret = good.clone();
    bad_secret.client_secret = Secret::new("nope");
    let mut bad_id = good.clone();
    bad_id.client_id = "someone-else".into();
    for config in [bad_secret, bad_id] {
        let err = source(&connect(&config))
            .customers(
                &RequestContext::default(),
                &[MatchKey::CustomerNumber(World::customer_number(1))],
            )
            .await
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::Unauthorized, "{err}");
        assert!(!err.message.contains("nope"), "no secret in {err}");
    }
    assert_eq!(data_calls(&sim), 0);
}

#[tokio::test]
async fn an_expired_session_is_renewed_once_and_the_call_repeated() {
    let sessions = Arc::new(TokenIssuer::default());
    let sim = simulator::start_with(
        world(),
        0,
        SimOptions {
            sessions: sessions.clone(),
            ..SimOptions::default()
        },
    )
    .await
    .unwrap();
    let crm = connect(&simulator::demo_config(&sim.base_url()));
    let keys = [MatchKey::CustomerNumber(World::customer_number(3))];
    source(&crm)
        .customers(&RequestContext::default(), &keys)
        .await
        .unwrap();
    sessions.revoke_all();
    let found = source(&crm)
        .customers(&RequestContext::default(), &keys)
        .await
        .unwrap();
    assert!(found.contains_key(&keys[0]));
    assert_eq!(sim.control.stats.count(TOKEN), 2);
    assert_eq!(data_calls(&sim), 3, "first call, the 401, and its repeat");
}

#[tokio::test]
async fn a_spent_daily_allocation_is_rate_limited_and_not_retried() {
    let sim = simulator::start_with(
        world(),
        0,
        SimOptions {
            api_limit: Some(1),
            ..SimOptions::default()
        },
    )
    .await
    .unwrap();
    let crm = connect(&simulator::demo_config(&sim.base_url()));
    let keys = [MatchKey::CustomerNumber(World::customer_number(3))];
    source(&crm)
        .customers(&RequestContext::default(), &keys)
        .await
        .unwrap();
    let err = source(&crm)
        .customers(&RequestContext::default(), &keys)
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::RateLimited, "{err}");
    assert!(err.message.contains("REQUEST_LIMIT_EXCEEDED"), "{err}");
    assert_eq!(data_calls(&sim), 2);
}

#[tokio::test]
async fn a_misnamed_custom_field_is_a_bad_request_naming_it() {
    let sim = simulator::start(world(), 0).await.unwrap();
    let mut config = simulator::demo_config(&sim.base_url());
    config.fields.loyalty_number = "Member_No__c".into();
    let err = source(&connect(&config))
        .customers(
            &RequestContext::default(),
            &[MatchKey::CustomerNumber(World::customer_number(3))],
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::BadRequest, "{err}");
    assert!(err.message.contains("INVALID_FIELD") && err.message.contains("Member_No__c"));
}

#[tokio::test]
async fn an_invalid_config_is_refused_at_connect() {
    let mut config = simulator::demo_config("http://127.0.0.1:1");
    config.query_batch_size = 10;
    let err = samlet_salesforce::connect(
        ConnectorName::new("crm"),
        &config,
        UpstreamPolicy::default(),
    )
    .unwrap_err();
    assert_eq!(err.kind, ErrorKind::BadRequest);
    assert!(err.message.contains("query_batch_size"));
}

#[test]
fn the_demo_toml_parses_to_the_demo_config() {
    let base = "http://127.0.0.1:4321";
    let parsed: SalesforceConfig = toml::from_str(&simulator::demo_toml(base)).unwrap();
    assert_eq!(parsed, simulator::demo_config(base));
    assert!(parsed.validate().is_empty());
    let custom: SalesforceConfig = toml::from_str(&format!(
        "{}query_batch_size = 500\n[fields]\ncustomer_number = \"CustNo__c\"\n",
        simulator::demo_toml(base)
    ))
    .unwrap();
    assert_eq!(custom.fields.customer_number, "CustNo__c");
    assert_eq!(custom.fields.phone_e164, "Phone_E164__c");
    let unknown = format!("{}batchsize = 5\n", simulator::demo_toml(base));
    assert!(toml::from_str::<SalesforceConfig>(&unknown).is_err());
}

// ----- the simulator on the wire ---------------------------------------------------------------

struct Raw {
    sim: SimServer,
    http: reqwest::Client,
    token: String,
}

impl Raw {
    async fn start() -> Raw {
        let sim = simulator::start(world(), 0).await.unwrap();
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
        assert_eq!(body["token_type"], "Bearer");
        assert_eq!(body["instance_url"], sim.base_url());
        assert!(body["issued_at"].is_string() && body["signature"].is_string());
        assert!(body.get("expires_in").is_none());
        Raw {
            http,
            token: body["access_token"].as_str().unwrap().to_owned(),
            sim,
        }
    }

    async fn get(&self, path_and_query: &str) -> (u16, reqwest::header::HeaderMap, Value) {
        let resp = self
            .http
            .get(format!("{}{path_and_query}", self.sim.base_url()))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        (status, headers, resp.json().await.unwrap_or(Value::Null))
    }

    async fn query(&self, soql: &str) -> (u16, Value) {
        let q: String = url::form_urlencoded::byte_serialize(soql.as_bytes()).collect();
        let (s, _, v) = self.get(&format!("/services/data/v62.0/query?q={q}")).await;
        (s, v)
    }

    async fn composite(&self, body: Value) -> (u16, Value) {
        let resp = self
            .http
            .post(format!(
                "{}/services/data/v62.0/composite",
                self.sim.base_url()
            ))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .unwrap();
        (resp.status().as_u16(), resp.json().await.unwrap())
    }
}

#[tokio::test]
async fn the_token_endpoint_answers_like_salesforce() {
    let sim = simulator::start(world(), 0).await.unwrap();
    let http = reqwest::Client::new();
    let url = format!("{}/services/oauth2/token", sim.base_url());
    for (form, error) in [
        (
            [
                ("grant_type", "password"),
                ("client_id", "samlet-demo"),
                ("client_secret", "demo-secret"),
            ],
            "unsupported_grant_type",
        ),
        (
            [
                ("grant_type", "client_credentials"),
                ("client_id", "x"),
                ("client_secret", "demo-secret"),
            ],
            "invalid_client_id",
        ),
        (
            [
                ("grant_type", "client_credentials"),
                ("client_id", "samlet-demo"),
                ("client_secret", "x"),
            ],
            "invalid_client",
        ),
    ] {
        let resp = http.post(&url).form(&form).send().await.unwrap();
        assert_eq!(resp.status().as_u16(), 400);
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["error"], error);
        assert!(body["error_description"].is_string());
    }
}

#[tokio::test]
async fn data_calls_need_a_session_and_report_api_usage() {
    let raw = Raw::start().await;
    let resp = raw
        .http
        .get(format!(
            "{}/services/data/v62.0/sobjects/Contact/003Sa0000000001AAA",
            raw.sim.base_url()
        ))
        .bearer_auth("00Dforged")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(
        body,
        json!([{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}])
    );
    let (status, headers, _) = raw
        .get("/services/data/v62.0/sobjects/Contact/003Sa0000000001AAA")
        .await;
    assert_eq!(status, 200);
    let usage = headers["sforce-limit-info"].to_str().unwrap();
    assert!(
        usage.starts_with("api-usage=") && usage.ends_with("/100000"),
        "{usage}"
    );
    let (_, _, versions) = raw.get("/services/data").await;
    assert!(versions
        .as_array()
        .unwrap()
        .iter()
        .any(|v| v["version"] == "62.0"));
}

#[tokio::test]
async fn single_record_reads_serve_contacts_and_accounts() {
    let raw = Raw::start().await;
    let w = world();
    let company = (0..100).find(|&i| is_company(&w, i)).unwrap();
    let person = (0..100).find(|&i| !is_company(&w, i)).unwrap();
    let id = |prefix: &str, i: u32| format!("{prefix}Sa{i:010}AAA");
    let (s, _, c) = raw
        .get(&format!(
            "/services/data/v62.0/sobjects/Contact/{}",
            id("003", person)
        ))
        .await;
    assert_eq!(s, 200);
    assert_eq!(c["attributes"]["type"], "Contact");
    assert_eq!(
        c["Customer_Number__c"],
        World::customer_number(person).as_str()
    );
    assert!(c["AccountId"].is_null());
    let (s, _, a) = raw
        .get(&format!(
            "/services/data/v62.0/sobjects/Account/{}?fields=Id,Name",
            id("001", company)
        ))
        .await;
    assert_eq!(s, 200);
    assert_eq!(
        a["Name"],
        w.customer(company).company_name.unwrap().as_str()
    );
    assert!(a.get("Phone").is_none(), "only the fields asked for");
    let (s, _, e) = raw
        .get(&format!(
            "/services/data/v62.0/sobjects/Account/{}",
            id("001", person)
        ))
        .await;
    assert_eq!(s, 404);
    assert_eq!(e[0]["errorCode"], "NOT_FOUND");
    let (s, _, _) = raw.get("/services/data/v12.0/sobjects/Contact/x").await;
    assert_eq!(s, 404);
}

#[tokio::test]
async fn soql_compares_emails_case_insensitively_and_phones_through_the_e164_field() {
    let raw = Raw::start().await;
    let w = world();
    let (i, sys) = (0..100)
        .map(|i| (i, w.system_customer(CustomerSlice::Crm, i).unwrap()))
        .find(|(i, s)| {
            !is_company(&w, *i) && s.phone.as_deref().is_some_and(|p| !p.starts_with('+'))
        })
        .unwrap();
    let (s, body) = raw
        .query(&format!(
            "select Id, Email, Phone from contact where Email = '{}'",
            sys.email.to_uppercase()
        ))
        .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["totalSize"], 1);
    assert_eq!(body["done"], true);
    assert_eq!(body["records"][0]["Email"], sys.email.as_str());
    let e164 = normalize_phone(sys.phone.as_deref().unwrap(), &sys.address.country).unwrap();
    let (_, body) = raw
        .query(&format!("SELECT Id FROM Contact WHERE Phone = '{e164}'"))
        .await;
    assert_eq!(
        body[0]["errorCode"], "MALFORMED_QUERY",
        "raw phones are not filterable"
    );
    let (_, body) = raw
        .query(&format!(
            "SELECT Id, Phone FROM Contact WHERE Phone_E164__c IN ('{e164}')"
        ))
        .await;
    assert_eq!(body["records"][0]["Id"], format!("003Sa{i:010}AAA"));
    assert_ne!(
        body["records"][0]["Phone"],
        e164.as_str(),
        "Phone stays as typed"
    );
}

#[tokio::test]
async fn unsupported_soql_and_unknown_fields_get_salesforce_errors() {
    let raw = Raw::start().await;
    for (soql, code) in [
        (
            "SELECT Id FROM Contact WHERE Email = 'a@b.dk' AND LastName = 'x'",
            "MALFORMED_QUERY",
        ),
        ("SELECT Id FROM Contact", "MALFORMED_QUERY"),
        (
            "SELECT Id, Shoe_Size__c FROM Contact WHERE Email = 'a@b.dk'",
            "INVALID_FIELD",
        ),
        ("SELECT Id FROM Opportunity WHERE Id = 'x'", "INVALID_TYPE"),
    ] {
        let (s, body) = raw.query(soql).await;
        assert_eq!(s, 400, "{soql}");
        assert_eq!(body[0]["errorCode"], code, "{soql}: {body}");
        assert!(body[0]["message"].is_string());
    }
    let (s, _, body) = raw
        .get("/services/data/v62.0/query/01gSa9999999999999-200")
        .await;
    assert_eq!(s, 400);
    assert_eq!(body[0]["errorCode"], "INVALID_QUERY_LOCATOR");
    let long = format!(
        "SELECT Id FROM Contact WHERE Email IN ('{}')",
        "a".repeat(17_000)
    );
    let (s, _) = raw.query(&long).await;
    assert_eq!(s, 414);
}

#[tokio::test]
async fn composite_calls_hold_at_most_five_queries_and_answer_per_subrequest() {
    let raw = Raw::start().await;
    let sub = |n: usize, url: String| json!({"method": "GET", "url": url, "referenceId": format!("r{n}")});
    let q = "/services/data/v62.0/query?q=SELECT+Id+FROM+Contact+WHERE+Customer_Number__c+%3D+%27C0000001%27";
    let six: Vec<Value> = (0..6).map(|n| sub(n, q.to_owned())).collect();
    let (s, body) = raw.composite(json!({"compositeRequest": six})).await;
    assert_eq!(s, 400);
    assert_eq!(body[0]["errorCode"], "LIMIT_EXCEEDED");
    let (s, body) = raw
        .composite(json!({"compositeRequest": [
            sub(0, q.to_owned()),
            sub(1, "/services/data/v62.0/sobjects/Contact/nope".to_owned()),
        ]}))
        .await;
    assert_eq!(s, 200, "the call succeeds even when a subrequest fails");
    let answers = body["compositeResponse"].as_array().unwrap();
    assert_eq!(answers[0]["httpStatusCode"], 200);
    assert_eq!(answers[0]["body"]["records"][0]["Id"], "003Sa0000000001AAA");
    assert_eq!(answers[1]["httpStatusCode"], 404);
    assert_eq!(answers[1]["body"][0]["errorCode"], "NOT_FOUND");
    assert_eq!(answers[1]["referenceId"], "r1");
}

#[tokio::test]
async fn paging_ends_exactly_at_the_batch_boundary() {
    let raw = Raw::start().await;
    let w = world();
    let persons: Vec<String> = (0..400)
        .filter(|&i| !is_company(&w, i))
        .map(|i| format!("'{}'", World::customer_number(i)))
        .collect();
    let page = |n: usize| {
        let soql = format!(
            "SELECT Id FROM Contact WHERE Customer_Number__c IN ({})",
            persons[..n].join(",")
        );
        let q: String = url::form_urlencoded::byte_serialize(soql.as_bytes()).collect();
        raw.http
            .get(format!(
                "{}/services/data/v62.0/query?q={q}",
                raw.sim.base_url()
            ))
            .bearer_auth(&raw.token)
            .header("Sforce-Query-Options", "batchSize=200")
    };
    let exact: Value = page(200).send().await.unwrap().json().await.unwrap();
    assert_eq!(exact["done"], true);
    assert!(exact.get("nextRecordsUrl").is_none());
    let over: Value = page(201).send().await.unwrap().json().await.unwrap();
    assert_eq!(
        (over["done"].clone(), over["totalSize"].clone()),
        (json!(false), json!(201))
    );
    assert_eq!(over["records"].as_array().unwrap().len(), 200);
    let next = over["nextRecordsUrl"].as_str().unwrap();
    assert!(next.starts_with("/services/data/v62.0/query/01g") && next.ends_with("-200"));
    let (s, _, rest) = raw.get(next).await;
    assert_eq!(s, 200);
    assert_eq!(rest["done"], true);
    assert_eq!(rest["records"].as_array().unwrap().len(), 1);
}

// ----- a broken org: the connector's guards ----------------------------------------------------

/// An org whose every query answers `page`, directly or inside a composite call; with
/// `drop_subrequests` its composite answers name no subrequest of the call.
async fn broken_org(page: Value, drop_subrequests: bool) -> SimServer {
    use axum::routing::{get, post};
    let token = post(|headers: axum::http::HeaderMap| async move {
        let host = headers["host"].to_str().unwrap_or_default().to_owned();
        axum::Json(json!({"access_token": "t", "instance_url": format!("http://{host}")}))
    });
    let direct = page.clone();
    let query = get(move || {
        let page = direct.clone();
        async move { axum::Json(page) }
    });
    let composite = post(move |axum::Json(request): axum::Json<Value>| {
        let page = page.clone();
        async move {
            let answers: Vec<Value> = request["compositeRequest"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .iter()
                .filter(|_| !drop_subrequests)
                .map(|sub| json!({"body": page, "httpStatusCode": 200, "referenceId": sub["referenceId"]}))
                .collect();
            axum::Json(json!({ "compositeResponse": answers }))
        }
    });
    let router = axum::Router::new()
        .route("/services/oauth2/token", token)
        .route("/services/data/v62.0/query", query)
        .route("/services/data/v62.0/composite", composite);
    fn errors(status: axum::http::StatusCode, _: &str) -> axum::response::Response {
        axum::response::IntoResponse::into_response(status)
    }
    SimServer::start(router, errors, 0).await.unwrap()
}

async fn lookup(sim: &SimServer, keys: &[MatchKey]) -> Result<usize, ConnectorError> {
    let crm = connect(&simulator::demo_config(&sim.base_url()));
    source(&crm)
        .customers(&RequestContext::default(), keys)
        .await
        .map(|m| m.len())
}

#[tokio::test]
async fn a_next_records_url_off_the_data_api_is_not_followed() {
    let sim = broken_org(
        json!({
            "totalSize": 2, "done": false, "records": [],
            "nextRecordsUrl": "http://elsewhere.example/services/data/v62.0/query/01g-1"
        }),
        false,
    )
    .await;
    let err = lookup(&sim, &[MatchKey::Email("a@b.dk".into())])
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidResponse, "{err}");
    assert_eq!(
        sim.control.stats.count("GET /services/data/v62.0/query/"),
        0
    );
}

#[tokio::test]
async fn a_page_that_is_not_done_without_a_next_link_is_invalid() {
    let sim = broken_org(json!({"totalSize": 2, "done": false, "records": []}), false).await;
    let err = lookup(&sim, &[MatchKey::Email("a@b.dk".into())])
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidResponse, "{err}");
    assert!(err.message.contains("nextRecordsUrl"), "{err}");
}

#[tokio::test]
async fn a_composite_answer_missing_a_subrequest_is_invalid() {
    let sim = broken_org(json!({}), true).await;
    let err = lookup(&sim, &[MatchKey::Email("a@b.dk".into())])
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidResponse, "{err}");
    assert!(err.message.contains("q0"), "{err}");
}
