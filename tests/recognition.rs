//! Recognition by an external id, over real HTTP on both demo stacks: a customer asked for by
//! the id any one system gives its record of them (`customer(externalId: { connector, id })`)
//! is the same merged customer, every system's record included, as when asked for by e-mail.

#![cfg(feature = "demo")]

mod common;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use common::{roles, Running};
use samlet::demo::Stack;
use samlet_connector::model::CustomerKind;
use samlet_testkit::world::CustomerSlice;
use serde_json::{json, Value};
use std::collections::BTreeSet;

const CUSTOMER: &str = r#"query($email: String, $x: ExternalIdInput) {
  customer(email: $email, externalId: $x) {
    id customerNumber kind email phone firstName lastName companyName loyaltyNumber loyaltyTier customerGroup
    address { street postalCode city countryCode }
    consents { channel granted updatedAt source }
    sources { connector system nativeId email phone updatedAt }
  }
}"#;

fn by_id(connector: &str, id: &str) -> Value {
    json!({ "x": { "connector": connector, "id": id } })
}

fn code(v: &Value) -> &str {
    v["errors"][0]["extensions"]["code"].as_str().unwrap_or("")
}

/// Customers spread over the world: persons and companies, in one, two or three systems.
fn sample(g: &Running) -> Vec<u32> {
    let w = g.world();
    (0..w.customer_count()).step_by(613).take(12).collect()
}

async fn each_systems_id_finds_the_customer_the_email_finds(stack: Stack) {
    let g = Running::start(stack).await;
    let w = g.world().clone();
    let mut systems_seen = BTreeSet::new();
    let mut companies = 0;
    let mut in_all_three = 0;
    for i in sample(&g) {
        let truth = w.customer(i);
        let by_email = g.data(CUSTOMER, json!({ "email": truth.email })).await;
        assert_eq!(
            by_email["customer"]["customerNumber"],
            truth.number.as_str()
        );
        let sources = by_email["customer"]["sources"].as_array().unwrap().clone();
        if truth.kind == CustomerKind::Company {
            companies += 1;
        }
        if CustomerSlice::ALL.iter().all(|s| w.in_slice(*s, i)) {
            in_all_three += 1;
        }
        for s in &sources {
            let (connector, native) = (
                s["connector"].as_str().unwrap(),
                s["nativeId"].as_str().unwrap(),
            );
            systems_seen.insert(connector.to_owned());
            let got = g.data(CUSTOMER, by_id(connector, native)).await;
            assert_eq!(
                got, by_email,
                "{} by {connector} id {native} differs from by e-mail",
                truth.number
            );
        }
        // Surrounding blanks (a pasted id) do not matter.
        let s = &sources[0];
        let padded = format!("  {}\t", s["nativeId"].as_str().unwrap());
        let got = g
            .data(CUSTOMER, by_id(s["connector"].as_str().unwrap(), &padded))
            .await;
        assert_eq!(got, by_email);
    }
    let r = roles(stack);
    let all: BTreeSet<String> = [r.crm, r.marketing, r.buyers]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(systems_seen, all, "every customer system's ids were tried");
    assert!(companies > 0, "the sample should include a company");
    assert!(
        in_all_three > 0,
        "the sample should include someone every system holds"
    );
}

async fn a_global_id_of_a_record_finds_the_customer(stack: Stack) {
    let g = Running::start(stack).await;
    let truth = g.world().customer(42);
    let d = g.data(CUSTOMER, json!({ "email": truth.email })).await;
    let s = &d["customer"]["sources"][0];
    // The global id of a customer no system numbered: `Customer:<connector>/<native id>`.
    let id = URL_SAFE_NO_PAD.encode(format!(
        "Customer:{}/{}",
        s["connector"].as_str().unwrap(),
        s["nativeId"].as_str().unwrap()
    ));
    let d = g
        .data(
            "query($id: ID!) { node(id: $id) { ... on Customer { customerNumber } } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(d["node"]["customerNumber"], truth.number.as_str());
}

async fn an_id_nobody_has_is_null(stack: Stack) {
    let g = Running::start(stack).await;
    let r = roles(stack);
    for connector in [r.crm, r.marketing, r.buyers] {
        for id in [
            "00000000-0000-0000-0000-000000000000",
            "003Sa9999999999AAA",
            "01HZZZZZZZZZZZZZZZZZZZZZZZ",
            "C9999999",
            "x' or '1' eq '1",
        ] {
            let d = g.data(CUSTOMER, by_id(connector, id)).await;
            assert_eq!(d["customer"], Value::Null, "{connector} {id}");
        }
    }
}

async fn malformed_input_is_a_clear_error(stack: Stack) {
    let g = Running::start(stack).await;
    let r = roles(stack);
    let v = g.query_with(CUSTOMER, by_id("nosuch", "003Sa"), &[]).await;
    assert_eq!(code(&v), "BAD_USER_INPUT", "{v:#}");
    let msg = v["errors"][0]["message"].as_str().unwrap();
    for name in [r.crm, r.marketing, r.buyers] {
        assert!(msg.contains(&format!("`{name}`")), "{msg}");
    }
    if r.products != r.buyers {
        assert!(!msg.contains(&format!("`{}`", r.products)), "{msg}");
    }
    let v = g.query_with(CUSTOMER, by_id(r.crm, "   "), &[]).await;
    assert_eq!(code(&v), "BAD_USER_INPUT", "{v:#}");
    let v = g
        .query_with(CUSTOMER, by_id(r.crm, &"0".repeat(256)), &[])
        .await;
    assert_eq!(code(&v), "BAD_USER_INPUT", "{v:#}");
    let mut both = by_id(r.crm, "003Sa0000000001AAA");
    both["email"] = json!("anna@example.dk");
    let v = g.query_with(CUSTOMER, both, &[]).await;
    assert_eq!(code(&v), "BAD_USER_INPUT", "{v:#}");
    // An input without `id` does not pass GraphQL validation.
    let v = g
        .query_with(CUSTOMER, json!({ "x": { "connector": r.crm } }), &[])
        .await;
    assert!(
        v["errors"].as_array().is_some_and(|e| !e.is_empty()),
        "{v:#}"
    );
    assert_eq!(v["data"]["customer"], Value::Null);
}

async fn access_rules_hold_for_external_ids(stack: Stack) {
    let g = Running::start(stack).await;
    let r = roles(stack);
    let w = g.world().clone();
    let (me, other) = (w.customer(7), w.customer(8));
    let crm_id = |d: &Value| -> String {
        d["customer"]["sources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["connector"] == r.crm)
            .unwrap()["nativeId"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let mine = crm_id(&g.data(CUSTOMER, json!({ "email": me.email })).await);
    let theirs = crm_id(&g.data(CUSTOMER, json!({ "email": other.email })).await);
    let token = g.bearer(json!({ "role": "customer", "sub": me.number.as_str() }));
    let as_me = [("authorization", token.as_str()), ("samlet-channel", "app")];
    let v = g.query_with(CUSTOMER, by_id(r.crm, &mine), &as_me).await;
    assert!(v.get("errors").is_none(), "{v:#}");
    assert_eq!(v["data"]["customer"]["customerNumber"], me.number.as_str());
    // Someone else's id answers exactly as an id nobody has: no way to probe who is a customer.
    let someone = g.query_with(CUSTOMER, by_id(r.crm, &theirs), &as_me).await;
    let nobody = g
        .query_with(CUSTOMER, by_id(r.crm, "003Sa9999999999AAA"), &as_me)
        .await;
    assert_eq!(code(&someone), "FORBIDDEN", "{someone:#}");
    assert_eq!(someone["data"], nobody["data"]);
    assert_eq!(code(&someone), code(&nobody));
    assert_eq!(
        someone["errors"][0]["message"],
        nobody["errors"][0]["message"]
    );
    // Anonymous callers learn nothing, not even the connector names.
    let mut g = g;
    g.default_auth = None;
    for vars in [by_id(r.crm, &mine), by_id("nosuch", "1")] {
        let v = g.query_with(CUSTOMER, vars, &[]).await;
        assert_eq!(code(&v), "UNAUTHENTICATED", "{v:#}");
        assert!(!v.to_string().contains(&format!("`{}`", r.crm)), "{v:#}");
    }
}

/// Ten customers asked for by their CRM ids in one query: one batch to the CRM, then one
/// batch by customer number to each system that did not answer.
async fn ids_of_one_system_cost_one_batch(stack: Stack) {
    let g = Running::start(stack).await;
    let r = roles(stack);
    let w = g.world().clone();
    let people: Vec<u32> = (100..110).collect();
    let mut ids = Vec::new();
    for &i in &people {
        let d = g
            .data(CUSTOMER, json!({ "email": w.customer(i).email }))
            .await;
        let s = d["customer"]["sources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["connector"] == r.crm)
            .unwrap()
            .clone();
        ids.push(s["nativeId"].as_str().unwrap().to_owned());
    }
    let fields: Vec<String> = ids
        .iter()
        .enumerate()
        .map(|(n, id)| {
            format!(
                r#"c{n}: customer(externalId: {{ connector: "{}", id: "{id}" }}) {{ customerNumber sources {{ connector }} }}"#,
                r.crm
            )
        })
        .collect();
    g.reset_counts();
    let d = g
        .data(&format!("{{ {} }}", fields.join(" ")), json!({}))
        .await;
    for (n, &i) in people.iter().enumerate() {
        assert_eq!(
            d[format!("c{n}")]["customerNumber"],
            w.customer(i).number.as_str()
        );
    }
    assert_eq!(g.data_requests(r.crm), 1, "one CRM batch for ten ids");
    match stack {
        // Klaviyo: one `any(external_id,[…])`; Business Central: one `number in (…)`.
        Stack::A => {
            assert_eq!(g.data_requests(r.marketing), 1);
            assert_eq!(g.data_requests(r.buyers), 1);
        }
        // Voyado resolves one key per request: a lookup per number, a read per contact found.
        Stack::B => {
            let held = people
                .iter()
                .filter(|&&i| w.in_slice(CustomerSlice::Marketing, i))
                .count() as u64;
            assert_eq!(g.data_requests(r.marketing), people.len() as u64 + held);
            assert_eq!(g.data_requests(r.buyers), 1);
        }
    }
}

macro_rules! both_stacks {
    ($($name:ident),* $(,)?) => {
        mod stack_a {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(samlet::demo::Stack::A).await })*
        }
        mod stack_b {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(samlet::demo::Stack::B).await })*
        }
    };
}

both_stacks!(
    each_systems_id_finds_the_customer_the_email_finds,
    a_global_id_of_a_record_finds_the_customer,
    an_id_nobody_has_is_null,
    malformed_input_is_a_clear_error,
    access_rules_hold_for_external_ids,
    ids_of_one_system_cost_one_batch,
);
