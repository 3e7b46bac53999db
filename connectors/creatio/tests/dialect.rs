//! The Creatio dialect, end to end against the simulator: batching into one `$batch` call,
//! `$top`/`$skip` paging, chunking under the filter node limit, the Identity Service handshake
//! and its renewal, e-mail matching on both databases, configuration faults, and the
//! simulator's own answers on the wire.

use samlet_connector::prelude::*;
use samlet_creatio::simulator::{self, Database, SimOptions};
use samlet_creatio::{CreatioConfig, EmailMatch};
use samlet_testkit::sim::{SimServer, TokenIssuer};
use samlet_testkit::world::CustomerSlice;
use samlet_testkit::{World, WorldConfig};
use serde_json::{json, Value};
use std::sync::{Arc, OnceLock};

const BATCH: &str = "POST /0/odata/$batch";
const DATA: &str = "GET /0/odata";
const TOKEN: &str = "POST /connect/token";

fn world() -> Arc<World> {
    static WORLD: OnceLock<Arc<World>> = OnceLock::new();
    WORLD
        .get_or_init(|| Arc::new(World::new(WorldConfig::default())))
        .clone()
}

fn connect(config: &CreatioConfig) -> Connector {
    samlet_creatio::connect(ConnectorName::new("crm"), config, UpstreamPolicy::default())
        .expect("valid config")
}

fn source(c: &Connector) -> Arc<dyn CustomerSource> {
    c.customers.clone().expect("serves customers")
}

fn is_company(w: &World, i: u32) -> bool {
    w.customer(i).kind == CustomerKind::Company
}

/// Requests to the data API (`$batch` calls and direct reads).
fn data_calls(sim: &SimServer) -> u64 {
    sim.control.stats.count(BATCH) + sim.control.stats.count(DATA)
}

async fn lookup(
    config: &CreatioConfig,
    keys: &[MatchKey],
) -> Result<HashMap<MatchKey, Vec<CustomerRecord>>, ConnectorError> {
    source(&connect(config))
        .customers(&RequestContext::default(), keys)
        .await
}

fn upper_email_keys(w: &World, picked: &[u32]) -> Vec<MatchKey> {
    picked
        .iter()
        .map(|&i| MatchKey::email(&w.customer(i).email.to_uppercase()).unwrap())
        .collect()
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
    let keys = upper_email_keys(&w, &picked);
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
    assert_eq!(stats.count(BATCH), 1, "{:?}", stats.routes());
    assert_eq!(data_calls(&sim), 1, "{:?}", stats.routes());
    assert_eq!(stats.count(TOKEN), 1);
    // The token is reused.
    source(&crm)
        .customers(&RequestContext::default(), &keys[..3])
        .await
        .unwrap();
    assert_eq!(stats.count(TOKEN), 1);
    assert_eq!(data_calls(&sim), 2);
}

#[tokio::test]
async fn full_pages_are_continued_with_skip_until_a_short_page() {
    let w = world();
    let sim = simulator::start(w.clone(), 0).await.unwrap();
    let mut config = simulator::demo_config(&sim.base_url());
    config.page_size = 5;
    let keys: Vec<MatchKey> = (0..16)
        .map(|i| MatchKey::CustomerNumber(World::customer_number(i)))
        .collect();
    let found = lookup(&config, &keys).await.unwrap();
    assert_eq!(found.len(), 16, "every customer found across pages");
    for (i, key) in keys.iter().enumerate() {
        assert_eq!(found[key][0].number, Some(World::customer_number(i as u32)));
    }
    // One chunk per entity set; a read of n rows takes n / 5 + 1 pages (a full last page is
    // followed by an empty one), and each round of pages is one `$batch` call.
    let companies = (0..16).filter(|&i| is_company(&w, i)).count();
    let persons = 16 - companies;
    let rounds = (persons / 5 + 1).max(companies / 5 + 1) as u64;
    assert!(rounds >= 3);
    assert_eq!(sim.control.stats.count(BATCH), rounds);
}

#[tokio::test]
async fn a_large_batch_is_split_at_one_hundred_requests_per_batch_call() {
    let w = world();
    let sim = simulator::start(w.clone(), 0).await.unwrap();
    let keys: Vec<MatchKey> = (0..1000)
        .map(|i| MatchKey::Email(w.customer(i).email))
        .collect();
    let found = lookup(&simulator::demo_config(&sim.base_url()), &keys)
        .await
        .unwrap();
    assert_eq!(found.len(), 1000);
    // 1000 keys: 63 chunks of 16 per entity set, 126 requests, two `$batch` calls.
    assert_eq!(sim.control.stats.count(BATCH), 2);
}

#[tokio::test]
async fn phone_and_loyalty_keys_find_persons_and_companies() {
    let w = world();
    let sim = simulator::start(w.clone(), 0).await.unwrap();
    let mut keys = Vec::new();
    let mut want = Vec::new();
    for i in 0..200 {
        let sys = w.system_customer(CustomerSlice::Crm, i).unwrap();
        if let Some(p) = sys
            .phone
            .as_deref()
            .and_then(|p| normalize_phone(p, &sys.address.country))
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
    let found = lookup(&simulator::demo_config(&sim.base_url()), &keys)
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
    assert_eq!(sim.control.stats.count(BATCH), 1);
}

#[tokio::test]
async fn the_primary_address_is_chosen_over_a_delivery_address() {
    let w = world();
    let sim = simulator::start(w.clone(), 0).await.unwrap();
    // Every fourth person also has a delivery address, listed first by the simulator.
    let i = (0..100)
        .find(|&i| i % 4 == 1 && !is_company(&w, i))
        .unwrap();
    let key = MatchKey::CustomerNumber(World::customer_number(i));
    let found = lookup(
        &simulator::demo_config(&sim.base_url()),
        std::slice::from_ref(&key),
    )
    .await
    .unwrap();
    assert_eq!(
        found[&key][0].address.as_ref(),
        Some(&w.customer(i).address)
    );
}

#[tokio::test]
async fn on_postgresql_only_tolower_finds_emails_typed_in_another_casing() {
    let w = world();
    let sim = simulator::start_with(
        w.clone(),
        0,
        SimOptions {
            database: Database::PostgreSql,
            ..SimOptions::default()
        },
    )
    .await
    .unwrap();
    let picked: Vec<u32> = (0..48).map(|k| k * 31 + 2).collect();
    let stored_capitalised = picked
        .iter()
        .filter(|&&i| {
            let sys = w.system_customer(CustomerSlice::Crm, i).unwrap();
            sys.email != w.customer(i).email
        })
        .count();
    assert!(stored_capitalised > 0);
    let keys = upper_email_keys(&w, &picked);
    let mut config = simulator::demo_config(&sim.base_url());
    let exact = lookup(&config, &keys).await.unwrap();
    assert_eq!(
        exact.len(),
        picked.len() - stored_capitalised,
        "a case-sensitive database misses e-mails stored capitalised"
    );
    config.email_match = EmailMatch::Tolower;
    let folded = lookup(&config, &keys).await.unwrap();
    assert_eq!(folded.len(), picked.len());
    assert_eq!(sim.control.stats.count(BATCH), 2, "one call each");
}

#[tokio::test]
async fn bad_client_credentials_are_unauthorized_and_never_reach_the_data_api() {
    let sim = simulator::start(world(), 0).await.unwrap();
    let good = simulator::demo_config(&sim.base_url());
    let mut bad_secret = good.clone();
    bad_secret.client_secret = Secret::new("nope-nope");
    let mut bad_id = good.clone();
    bad_id.client_id = "someone-else".into();
    for config in [bad_secret, bad_id] {
        let err = lookup(
            &config,
            &[MatchKey::CustomerNumber(World::customer_number(1))],
        )
        .await
        .unwrap_err();
        assert_eq!(err.kind, ErrorKind::Unauthorized, "{err}");
        assert!(err.message.contains("invalid_client"), "{err}");
        assert!(!err.message.contains("nope-nope"), "no secret in {err}");
    }
    assert_eq!(data_calls(&sim), 0);
    assert_eq!(sim.control.stats.count(TOKEN), 2, "not retried");
}

#[tokio::test]
async fn a_revoked_token_is_renewed_once_and_the_call_repeated() {
    let tokens = Arc::new(TokenIssuer::default());
    let sim = simulator::start_with(
        world(),
        0,
        SimOptions {
            tokens: tokens.clone(),
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
    tokens.revoke_all();
    let found = source(&crm)
        .customers(&RequestContext::default(), &keys)
        .await
        .unwrap();
    assert!(found.contains_key(&keys[0]));
    assert_eq!(sim.control.stats.count(TOKEN), 2);
    assert_eq!(data_calls(&sim), 3, "first call, the 401, and its repeat");
}

#[tokio::test]
async fn filters_beyond_the_node_limit_are_refused_naming_it() {
    let w = world();
    let sim = simulator::start(w.clone(), 0).await.unwrap();
    let mut config = simulator::demo_config(&sim.base_url());
    config.filter_terms = 30;
    let keys: Vec<MatchKey> = (0..30)
        .map(|i| MatchKey::CustomerNumber(World::customer_number(i)))
        .collect();
    let err = lookup(&config, &keys).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::BadRequest, "{err}");
    assert!(err.message.contains("node count limit"), "{err}");
    // An instance whose MaxNodeCount was raised takes them.
    let raised = simulator::start_with(
        w,
        0,
        SimOptions {
            max_node_count: 200,
            ..SimOptions::default()
        },
    )
    .await
    .unwrap();
    config.base_url = raised.base_url();
    config.identity_url = raised.base_url();
    assert_eq!(lookup(&config, &keys).await.unwrap().len(), 30);
}

#[tokio::test]
async fn a_misnamed_custom_column_is_a_bad_request_naming_it() {
    let sim = simulator::start(world(), 0).await.unwrap();
    let mut config = simulator::demo_config(&sim.base_url());
    config.columns.loyalty_number = "UsrMemberNo".into();
    let err = lookup(
        &config,
        &[MatchKey::CustomerNumber(World::customer_number(3))],
    )
    .await
    .unwrap_err();
    assert_eq!(err.kind, ErrorKind::BadRequest, "{err}");
    assert!(err.message.contains("UsrMemberNo"), "{err}");
}

#[tokio::test]
async fn the_odata_path_follows_the_build() {
    let w = world();
    let core = simulator::start_with(
        w.clone(),
        0,
        SimOptions {
            odata_path: samlet_creatio::NET_CORE_ODATA_PATH.into(),
            ..SimOptions::default()
        },
    )
    .await
    .unwrap();
    let mut config = simulator::demo_config(&core.base_url());
    let key = MatchKey::CustomerNumber(World::customer_number(7));
    // The .NET Framework path on a .NET Core instance finds nothing there: a setup fault.
    let err = lookup(&config, std::slice::from_ref(&key))
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::BadRequest, "{err}");
    config.odata_path = samlet_creatio::NET_CORE_ODATA_PATH.into();
    let found = lookup(&config, std::slice::from_ref(&key)).await.unwrap();
    assert!(found.contains_key(&key));
    assert_eq!(core.control.stats.count("POST /odata/$batch"), 1);
}

#[tokio::test]
async fn a_wrong_identity_url_is_a_bad_request_not_a_missing_customer() {
    let sim = simulator::start(world(), 0).await.unwrap();
    let mut config = simulator::demo_config(&sim.base_url());
    config.identity_url = format!("{}/identity", sim.base_url());
    let err = lookup(
        &config,
        &[MatchKey::CustomerNumber(World::customer_number(1))],
    )
    .await
    .unwrap_err();
    assert_eq!(err.kind, ErrorKind::BadRequest, "{err}");
    assert!(err.message.contains("token request refused"), "{err}");
}

#[tokio::test]
async fn an_invalid_config_is_refused_at_connect() {
    let mut config = simulator::demo_config("http://127.0.0.1:1");
    config.page_size = 50_000;
    let err = samlet_creatio::connect(
        ConnectorName::new("crm"),
        &config,
        UpstreamPolicy::default(),
    )
    .unwrap_err();
    assert_eq!(err.kind, ErrorKind::BadRequest);
    assert!(err.message.contains("page_size"));
}

#[tokio::test]
async fn an_empty_batch_sends_nothing() {
    let sim = simulator::start(world(), 0).await.unwrap();
    let found = lookup(&simulator::demo_config(&sim.base_url()), &[])
        .await
        .unwrap();
    assert!(found.is_empty());
    assert_eq!(sim.control.stats.total(), 0);
}

#[test]
fn the_demo_toml_parses_to_the_demo_config() {
    let base = "http://127.0.0.1:4321";
    let parsed: CreatioConfig = toml::from_str(&simulator::demo_toml(base)).unwrap();
    assert_eq!(parsed, simulator::demo_config(base));
    assert!(parsed.validate().is_empty());
    let custom: CreatioConfig = toml::from_str(&format!(
        "{}email_match = \"tolower\"\nfilter_terms = 10\n[columns]\ncustomer_number = \"UsrCustNo\"\n",
        simulator::demo_toml(base)
    ))
    .unwrap();
    assert_eq!(custom.email_match, EmailMatch::Tolower);
    assert_eq!(custom.columns.customer_number, "UsrCustNo");
    assert_eq!(custom.columns.phone_e164, "UsrPhoneE164");
    for unknown in ["pagesize = 5\n", "email_match = \"upper\"\n"] {
        let text = format!("{}{unknown}", simulator::demo_toml(base));
        assert!(toml::from_str::<CreatioConfig>(&text).is_err(), "{unknown}");
    }
}

// ----- the simulator on the wire ---------------------------------------------------------------

struct Raw {
    sim: SimServer,
    http: reqwest::Client,
    token: String,
}

impl Raw {
    async fn start() -> Raw {
        Raw::start_with(SimOptions::default()).await
    }

    async fn start_with(options: SimOptions) -> Raw {
        let sim = simulator::start_with(world(), 0, options).await.unwrap();
        let http = reqwest::Client::new();
        let resp = http
            .post(format!("{}/connect/token", sim.base_url()))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", simulator::DEMO_CLIENT_ID),
                ("client_secret", simulator::DEMO_CLIENT_SECRET),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 200);
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["token_type"], "Bearer");
        assert_eq!(body["expires_in"], simulator::TOKEN_LIFETIME_SECS);
        Raw {
            http,
            token: body["access_token"].as_str().unwrap().to_owned(),
            sim,
        }
    }

    async fn get(&self, path_and_query: &str) -> (u16, Value) {
        let resp = self
            .http
            .get(format!("{}{path_and_query}", self.sim.base_url()))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        (
            resp.status().as_u16(),
            resp.json().await.unwrap_or(Value::Null),
        )
    }

    async fn batch(&self, body: Value, prefer: Option<&str>) -> (u16, Value) {
        let mut req = self
            .http
            .post(format!("{}/0/odata/$batch", self.sim.base_url()))
            .bearer_auth(&self.token)
            .json(&body);
        if let Some(p) = prefer {
            req = req.header("Prefer", p);
        }
        let resp = req.send().await.unwrap();
        (
            resp.status().as_u16(),
            resp.json().await.unwrap_or(Value::Null),
        )
    }
}

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test]
async fn the_identity_service_answers_like_identityserver() {
    let sim = simulator::start(world(), 0).await.unwrap();
    let http = reqwest::Client::new();
    let url = format!("{}/connect/token", sim.base_url());
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
            "invalid_client",
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
        assert_eq!(body, json!({ "error": error }));
    }
    // Client credentials as HTTP Basic work too.
    let resp = http
        .post(&url)
        .basic_auth("samlet-demo", Some("demo-secret"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
}

#[tokio::test]
async fn data_calls_need_a_valid_bearer_token() {
    let raw = Raw::start().await;
    let resp = raw
        .http
        .get(format!("{}/0/odata/Contact?$top=1", raw.sim.base_url()))
        .bearer_auth("forged")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    assert!(resp.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .starts_with("Bearer"));
    let body: Value = resp.json().await.unwrap();
    assert!(body["error"]["message"].is_string());
    let (s, doc) = raw.get("/0/odata").await;
    assert_eq!(s, 200);
    assert!(doc["value"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["name"] == "Contact"));
}

#[tokio::test]
async fn skip_pages_walk_an_entity_set_without_gaps_or_next_links() {
    let raw = Raw::start().await;
    let mut ids = Vec::new();
    let mut skip = 0;
    loop {
        let (s, page) = raw
            .get(&format!(
                "/0/odata/Account?$select=Id,Name&$orderby=Id&$top=250&$skip={skip}&$count=true"
            ))
            .await;
        assert_eq!(s, 200, "{page}");
        assert!(
            page.get("@odata.nextLink").is_none(),
            "client-driven paging only"
        );
        let rows = page["value"].as_array().unwrap();
        ids.extend(rows.iter().map(|r| r["Id"].as_str().unwrap().to_owned()));
        assert_eq!(
            rows[0].as_object().unwrap().len(),
            2,
            "only the selected columns"
        );
        let total = page["@odata.count"].as_u64().unwrap() as usize;
        skip += rows.len();
        if rows.len() < 250 {
            assert_eq!(skip, total);
            break;
        }
    }
    let companies = (0..world().customer_count())
        .filter(|&i| is_company(&world(), i))
        .count();
    assert_eq!(ids.len(), companies);
    let mut sorted = ids.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted, ids, "ordered by Id, no repeats");
}

#[tokio::test]
async fn rows_carry_creatio_empty_values_and_expand_their_lookups() {
    let raw = Raw::start().await;
    let w = world();
    let person = (0..100)
        .find(|&i| !is_company(&w, i) && w.customer(i).loyalty_number.is_none())
        .unwrap();
    let company = (0..100).find(|&i| is_company(&w, i)).unwrap();
    let (s, body) = raw
        .get(&format!(
            "/0/odata/Contact?$filter={}&$expand={}",
            enc(&format!(
                "UsrCustomerNumber eq '{}'",
                World::customer_number(person)
            )),
            enc("Account,Country($select=Code)")
        ))
        .await;
    assert_eq!(s, 200, "{body}");
    let c = &body["value"][0];
    assert_eq!(c["AccountId"], "00000000-0000-0000-0000-000000000000");
    assert_eq!(c["Account"], Value::Null);
    assert_eq!(c["UsrLoyaltyNumber"], "");
    assert_eq!(c["Country"]["Code"], w.customer(person).country);
    // A company: its contact person carries no keys; the account has them.
    let (_, body) = raw
        .get(&format!(
            "/0/odata/Account?$filter={}&$expand={}",
            enc(&format!(
                "UsrCustomerNumber eq '{}'",
                World::customer_number(company)
            )),
            enc("PrimaryContact($select=Email,UsrCustomerNumber,AccountId)")
        ))
        .await;
    let a = &body["value"][0];
    assert_eq!(a["PrimaryContact"]["UsrCustomerNumber"], "");
    assert_eq!(a["PrimaryContact"]["AccountId"], a["Id"]);
    let (s, one) = raw
        .get(&format!(
            "/0/odata/Account({})?$select=Name",
            a["Id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(s, 200);
    assert_eq!(
        one["Name"],
        w.customer(company).company_name.unwrap().as_str()
    );
}

#[tokio::test]
async fn unsupported_queries_get_odata_errors() {
    let raw = Raw::start().await;
    for (query, status, needle) in [
        (
            "/0/odata/Contact?$filter=Email in ('a@b.dk')",
            501,
            "'in' operator",
        ),
        (
            "/0/odata/Contact?$filter=UsrShoeSize eq 'x'",
            400,
            "UsrShoeSize",
        ),
        ("/0/odata/Contact?$filter=Email eq 'a", 400, "Syntax error"),
        ("/0/odata/Contact?$expand=Owner", 400, "Owner"),
        ("/0/odata/Contact?$top=x", 400, "$top"),
        ("/0/odata/Opportunity", 404, "Opportunity"),
    ] {
        let (s, body) = raw.get(query).await;
        assert_eq!(s, status, "{query}: {body}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains(needle), "{query}: {message}");
    }
}

#[tokio::test]
async fn a_batch_stops_at_its_first_failure_unless_told_to_continue() {
    let raw = Raw::start().await;
    let get = |id: &str, url: &str| json!({"id": id, "method": "GET", "url": url});
    let body = json!({"requests": [
        get("a", "Contact?$top=1"),
        get("b", "Contact?$filter=Nope eq 1"),
        get("c", "/0/odata/Country?$select=Code"),
    ]});
    let (s, stopped) = raw.batch(body.clone(), None).await;
    assert_eq!(s, 200);
    let responses = stopped["responses"].as_array().unwrap();
    assert_eq!(responses.len(), 2);
    assert_eq!(responses[0]["status"], 200);
    assert_eq!(responses[1]["status"], 400);
    assert!(responses[1]["body"]["error"]["message"].is_string());
    let (_, all) = raw.batch(body, Some("continue-on-error")).await;
    let responses = all["responses"].as_array().unwrap();
    assert_eq!(responses.len(), 3);
    assert_eq!(responses[2]["id"], "c");
    assert_eq!(responses[2]["body"]["value"].as_array().unwrap().len(), 6);
    let too_many: Vec<Value> = (0..101).map(|i| get(&format!("r{i}"), "Country")).collect();
    let (s, body) = raw.batch(json!({ "requests": too_many }), None).await;
    assert_eq!(s, 400);
    assert!(body["error"]["message"].as_str().unwrap().contains("100"));
    let write = json!({"requests": [{"id": "w", "method": "POST", "url": "City", "body": {"Name": "Burbank"}}]});
    let (_, body) = raw.batch(write, None).await;
    assert_eq!(body["responses"][0]["status"], 501);
}

#[tokio::test]
async fn text_comparison_follows_the_database() {
    let w = world();
    let (i, stored) = (0..200)
        .map(|i| (i, w.system_customer(CustomerSlice::Crm, i).unwrap().email))
        .find(|(i, e)| *e != w.customer(*i).email)
        .unwrap();
    let lower = w.customer(i).email;
    let q = |filter: &str| format!("/0/odata/Contact?$select=Email&$filter={}", enc(filter));
    let mssql = Raw::start().await;
    let (_, body) = mssql.get(&q(&format!("Email eq '{lower}'"))).await;
    assert_eq!(body["value"][0]["Email"], stored.as_str());
    let pg = Raw::start_with(SimOptions {
        database: Database::PostgreSql,
        ..SimOptions::default()
    })
    .await;
    let (_, body) = pg.get(&q(&format!("Email eq '{lower}'"))).await;
    assert_eq!(body["value"].as_array().unwrap().len(), 0);
    let (_, body) = pg.get(&q(&format!("tolower(Email) eq '{lower}'"))).await;
    assert_eq!(body["value"][0]["Email"], stored.as_str());
}

// ----- a broken instance: the connector's guards ------------------------------------------------

/// An instance whose `$batch` answers with `answer(request)`.
async fn broken_instance(answer: fn(&Value) -> Value) -> SimServer {
    use axum::routing::post;
    let token = post(|| async {
        axum::Json(json!({"access_token": "t", "expires_in": 3600, "token_type": "Bearer"}))
    });
    let batch = post(move |axum::Json(request): axum::Json<Value>| async move {
        axum::Json(answer(&request))
    });
    let router = axum::Router::new()
        .route("/connect/token", token)
        .route("/0/odata/$batch", batch);
    fn errors(status: axum::http::StatusCode, _: &str) -> axum::response::Response {
        axum::response::IntoResponse::into_response(status)
    }
    SimServer::start(router, errors, 0).await.unwrap()
}

fn ids(request: &Value) -> Vec<Value> {
    request["requests"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|r| r["id"].clone())
        .collect()
}

#[tokio::test]
async fn a_batch_answer_missing_a_request_is_invalid() {
    let sim = broken_instance(|_| json!({"responses": []})).await;
    let err = lookup(
        &simulator::demo_config(&sim.base_url()),
        &[MatchKey::Email("a@b.dk".into())],
    )
    .await
    .unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidResponse, "{err}");
    assert!(err.message.contains("r0"), "{err}");
}

#[tokio::test]
async fn a_sub_response_that_is_no_collection_is_invalid() {
    let sim = broken_instance(|req| {
        let responses: Vec<Value> = ids(req)
            .into_iter()
            .map(|id| json!({"id": id, "status": 200, "body": {"value": "nope"}}))
            .collect();
        json!({ "responses": responses })
    })
    .await;
    let err = lookup(
        &simulator::demo_config(&sim.base_url()),
        &[MatchKey::Email("a@b.dk".into())],
    )
    .await
    .unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidResponse, "{err}");
}

#[tokio::test]
async fn a_next_link_on_a_short_page_is_followed_with_skip() {
    // A server paging on its own: one row per page, a next link while rows remain.
    let sim = broken_instance(|req| {
        let responses: Vec<Value> = req["requests"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|r| {
                let url = r["url"].as_str().unwrap_or_default();
                let skip: usize = url
                    .split("$skip=")
                    .nth(1)
                    .and_then(|s| s.split('&').next())
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0);
                let contact = url.starts_with("Contact");
                let mut body = json!({"value": []});
                if contact && skip < 2 {
                    body = json!({"value": [{
                        "Id": format!("c{skip}"), "UsrCustomerNumber": format!("C000000{skip}"),
                        "Email": "", "AccountId": "00000000-0000-0000-0000-000000000000"
                    }]});
                    if skip == 0 {
                        body["@odata.nextLink"] = json!("Contact?$skiptoken=1");
                    }
                }
                json!({"id": r["id"], "status": 200, "body": body})
            })
            .collect();
        json!({ "responses": responses })
    })
    .await;
    let keys: Vec<MatchKey> = (0..2)
        .map(|i| MatchKey::CustomerNumber(CustomerNumber::new(format!("C000000{i}"))))
        .collect();
    let found = lookup(&simulator::demo_config(&sim.base_url()), &keys)
        .await
        .unwrap();
    assert_eq!(found.len(), 2, "{found:?}");
    assert_eq!(sim.control.stats.count("POST /0/odata/$batch"), 2);
}
