//! The whole-answer cache for anonymous catalogue queries, over HTTP: a repeated query costs
//! no upstream call; anything that changes the answer (context, identity, an order reserving
//! stock, a failed upstream) is never answered from another request's entry.

#![cfg(feature = "demo")]

mod common;

use common::Running;
use samlet::demo::Stack;
use serde_json::{json, Value};

async fn anonymous(g: &Running, q: &str, vars: Value, headers: &[(&str, &str)]) -> Value {
    let mut req = g
        .http
        .post(format!("{}/graphql", g.url))
        .json(&json!({ "query": q, "variables": vars }));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req.send().await.unwrap().json().await.unwrap()
}

fn upstream(g: &Running) -> u64 {
    ["pim", "erp"].iter().map(|s| g.data_requests(s)).sum()
}

const PAGE: &str = "query($s: String!) { product(sku: $s) { name price { amount { amount currencyCode } } stock { locationCode available reserved } } }";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_anonymous_queries_are_answered_whole_and_changes_are_not_hidden() {
    // Capability caches off: every call the response cache saves is visible at the simulators.
    // (The ERP's breaker off too, so the injected failure below ends when the fault does.)
    let g = Running::start_with(Stack::A, |c| {
        let off = samlet::cache::CachePolicy {
            ttl: std::time::Duration::ZERO,
            stale_for: std::time::Duration::ZERO,
        };
        c.cache.products = off;
        c.cache.prices = off;
        c.cache.inventory = off;
        c.cache.locations = off;
        for spec in &mut c.connectors {
            spec.policy.breaker.failures = 0;
        }
    })
    .await;
    let sku = g.world().skus(77)[0].to_string();
    let vars = json!({ "s": sku });
    g.reset_counts();
    let first = anonymous(&g, PAGE, vars.clone(), &[]).await;
    assert!(first.get("errors").is_none(), "{first:#}");
    let cold = upstream(&g);
    assert!(cold > 0);
    let second = anonymous(&g, PAGE, vars.clone(), &[]).await;
    assert_eq!(second, first);
    assert_eq!(upstream(&g), cold, "the repeat cost no upstream call");

    // Another currency is another answer.
    let sek = anonymous(&g, PAGE, vars.clone(), &[("samlet-currency", "SEK")]).await;
    assert_eq!(
        sek["data"]["product"]["price"]["amount"]["currencyCode"],
        "SEK"
    );
    assert!(upstream(&g) > cold);

    // A caller with a token is never answered from the shared entries.
    let before = upstream(&g);
    let v = g.query_with(PAGE, vars.clone(), &[]).await;
    assert_eq!(v["data"], first["data"]);
    assert!(upstream(&g) > before, "a token's answer is computed for it");

    // An order reserving the SKU's stock empties the cache: the next anonymous answer shows it.
    let n = samlet_testkit::World::customer_number(12);
    let at = |v: &Value| -> i64 {
        v["data"]["product"]["stock"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["reserved"].as_i64().unwrap())
            .sum()
    };
    let place = r#"mutation($n: String!, $s: String!) { placeOrder(customerNumber: $n, lines: [{ sku: $s, quantity: "1" }], fulfilment: { mode: CLICK_AND_COLLECT, store: "DK-CPH" }, idempotencyKey: "rc-1") { number } }"#;
    let stocked = (0..200)
        .flat_map(|i| g.world().skus(i))
        .find(|s| {
            g.world()
                .stock(s)
                .unwrap()
                .iter()
                .any(|l| l.location.as_str() == "DK-CPH" && l.available() >= 1)
        })
        .unwrap()
        .to_string();
    let svars = json!({ "s": stocked });
    let before = anonymous(&g, PAGE, svars.clone(), &[]).await;
    let placed = g
        .query_with(place, json!({ "n": n.as_str(), "s": stocked }), &[])
        .await;
    assert!(placed.get("errors").is_none(), "{placed:#}");
    let after = anonymous(&g, PAGE, svars, &[]).await;
    assert_eq!(at(&after), at(&before) + 1);

    // A failed upstream's partial answer is not kept.
    let fresh = g.world().skus(91)[0].to_string();
    let fvars = json!({ "s": fresh });
    g.stack
        .simulator("erp")
        .unwrap()
        .control
        .set_faults(samlet_testkit::sim::FaultPlan {
            // More failures than the connector retries.
            fail_next: 20,
            only_paths: vec!["/v2.0/".into()],
            ..Default::default()
        });
    let failed = anonymous(&g, PAGE, fvars.clone(), &[]).await;
    assert!(failed.get("errors").is_some(), "{failed:#}");
    g.stack.simulator("erp").unwrap().control.clear_faults();
    let healed = anonymous(&g, PAGE, fvars, &[]).await;
    assert!(healed.get("errors").is_none(), "{healed:#}");
}
