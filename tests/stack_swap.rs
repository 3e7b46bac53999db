//! The promise to agencies: swapping vendors is a change of configuration. The same query set
//! runs against stack A (Salesforce, Akeneo, Business Central, Klaviyo) and stack B (Creatio,
//! Optimizely, Voyado, Marketing Cloud); the answers have the same shape and the same facts.
//! Only what names a system (a record's connector, system and native id) may differ.

#![cfg(feature = "demo")]

mod common;

use common::Running;
use samlet::demo::Stack;
use serde_json::{json, Value};

/// Storefront queries: product page, listing, customer home, order tracking, store finder.
const QUERIES: &[(&str, &str)] = &[
    (
        "product page",
        r#"{ product(sku: "P000042-GREEN") { id code name description categories attributes { code value }
             selectedVariant { sku name attributes { code value } }
             variants { id sku name price { amount { amount currencyCode } regular { amount } taxIncluded }
                        stock { locationCode onHand reserved available } available } } }"#,
    ),
    (
        "listing",
        r#"{ products(first: 48) { edges { cursor node { code name price { amount { amount currencyCode } }
             stock { locationCode available } } } pageInfo { hasNextPage endCursor } } }"#,
    ),
    (
        "customer home",
        r#"{ customer(email: "OLE.PEDERSEN12@MAIL.EXAMPLE.COM") { id customerNumber kind email phone firstName
             lastName companyName loyaltyNumber loyaltyTier customerGroup address { street postalCode city countryCode }
             consents { channel granted }
             orders(first: 3) { edges { node { number status placedAt total { amount currencyCode } } } } } }"#,
    ),
    (
        "order tracking",
        r#"{ order(number: "SO0039014") { id number status placedAt channel currencyCode store { code }
             total { amount currencyCode } lines { lineNumber sku quantity unitPrice { amount } total { amount } }
             shipments { carrier trackingNumber trackingUrl shippedAt } customer { customerNumber } } }"#,
    ),
    (
        "stores",
        r#"{ locations { id code name kind clickAndCollect address { street postalCode city countryCode } } }"#,
    ),
];

/// Headers for each query: a Swedish store context and a B2B web context, besides the default.
const CONTEXTS: &[&[(&str, &str)]] = &[
    &[],
    &[
        ("samlet-channel", "store"),
        ("samlet-locale", "sv-SE"),
        ("samlet-currency", "SEK"),
    ],
    &[
        ("samlet-locale", "en-GB"),
        ("samlet-currency", "EUR"),
        ("samlet-customer-group", "B2B"),
    ],
];

/// Cursors are opaque and wrap each vendor's own continuation, so they differ by design.
fn without_cursors(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .filter(|(k, _)| k != "cursor" && k != "endCursor")
                .map(|(k, v)| (k, without_cursors(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.into_iter().map(without_cursors).collect()),
        other => other,
    }
}

/// The path and values of the first place two answers differ.
fn first_difference(a: &Value, b: &Value, path: &str) -> String {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for (k, va) in x {
                let vb = y.get(k).unwrap_or(&Value::Null);
                if va != vb {
                    return first_difference(va, vb, &format!("{path}.{k}"));
                }
            }
            format!(
                "{path}: keys {:?} vs {:?}",
                x.keys().collect::<Vec<_>>(),
                y.keys().collect::<Vec<_>>()
            )
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (va, vb)) in x.iter().zip(y).enumerate() {
                if va != vb {
                    return first_difference(va, vb, &format!("{path}[{i}]"));
                }
            }
            unreachable!("arrays differ")
        }
        _ => format!("{path}: stack A {a} vs stack B {b}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stack_a_and_stack_b_answer_the_same_queries_with_the_same_facts() {
    let a = Running::start(Stack::A).await;
    let b = Running::start(Stack::B).await;
    let mut compared = 0;
    for (name, q) in QUERIES {
        for headers in CONTEXTS {
            let (va, vb): (Value, Value) = (
                a.query_with(q, json!({}), headers).await,
                b.query_with(q, json!({}), headers).await,
            );
            assert!(va.get("errors").is_none(), "{name} on stack A: {va:#}");
            assert!(vb.get("errors").is_none(), "{name} on stack B: {vb:#}");
            let (va, vb) = (without_cursors(va), without_cursors(vb));
            if va != vb {
                panic!(
                    "{name} with {headers:?} differs between stacks:\n{}",
                    first_difference(&va, &vb, "$")
                );
            }
            compared += 1;
        }
    }
    assert_eq!(compared, QUERIES.len() * CONTEXTS.len());
    // What names a system differs, by design: each stack shows its own records.
    let q = r#"{ customer(customerNumber: "C0000012") { sources { connector system } } }"#;
    let systems = |v: Value| -> Vec<String> {
        v["data"]["customer"]["sources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["system"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        systems(a.query_with(q, json!({}), &[]).await),
        ["salesforce", "klaviyo", "business-central"]
    );
    assert_eq!(
        systems(b.query_with(q, json!({}), &[]).await),
        ["creatio", "voyado", "optimizely"]
    );
}
