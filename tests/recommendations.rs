//! Matching accessories and personal recommendations over HTTP against both demo stacks:
//! the answers equal what the world says (categories, colours), recommendations come from the
//! customer's own wishlist and orders and leave out what they already have, and the upstream
//! cost is bounded and cached.

#![cfg(feature = "demo")]

mod common;

use common::{roles, Running};
use samlet::demo::Stack;
use samlet_testkit::world::CustomerSlice;
use samlet_testkit::World;
use serde_json::{json, Value};
use std::collections::HashSet;

/// The demo configuration's `[recommendations]` (see `src/demo.rs`).
const MAX_CANDIDATES: usize = 48;
fn complements(category: &str) -> &'static [&'static str] {
    match category {
        "sofas" => &["textiles", "lamps", "rugs"],
        "chairs" => &["textiles", "rugs"],
        "tables" => &["lamps", "accessories"],
        "beds" => &["textiles", "lamps"],
        "storage" => &["accessories", "lamps"],
        "outdoor" => &["textiles", "lamps"],
        "rugs" => &["textiles"],
        "lamps" => &["accessories"],
        _ => &[],
    }
}

fn colour_of(sku: &str) -> String {
    sku.rsplit_once('-').expect("SKU-COLOUR").1.to_lowercase()
}

fn product_of(w: &World, sku: &str) -> u32 {
    w.sku_index(&samlet_connector::ids::Sku::new(sku))
        .expect("a world SKU")
        .0
}

/// The world's answer for the accessories of the variant `sku`: per complement category, its
/// first products in catalogue order, each as the variant of the same colour (else its first);
/// same-colour ones first, the categories taking turns in configured order.
fn expected_accessories(w: &World, sku: &str) -> Vec<(String, bool, String)> {
    let i = product_of(w, sku);
    let colour = colour_of(sku);
    let mut matching = Vec::new();
    let mut others = Vec::new();
    for category in complements(w.category_code(i)) {
        let (mut m, mut o) = (Vec::new(), Vec::new());
        for j in (0..w.product_count())
            .filter(|&j| w.category_code(j) == *category)
            .take(MAX_CANDIDATES)
        {
            let skus = w.skus(j);
            match skus.iter().find(|s| colour_of(s.as_str()) == colour) {
                Some(s) => m.push((s.to_string(), true, category.to_string())),
                None => o.push((skus[0].to_string(), false, category.to_string())),
            }
        }
        matching.push(m);
        others.push(o);
    }
    let turns = |lists: Vec<Vec<(String, bool, String)>>| {
        let longest = lists.iter().map(Vec::len).max().unwrap_or(0);
        (0..longest)
            .flat_map(|n| lists.iter().filter_map(move |l| l.get(n).cloned()))
            .collect::<Vec<_>>()
    };
    let mut out = turns(matching);
    out.extend(turns(others));
    out
}

/// A sofa with at least two variants (so the colour asked for can change).
fn sofa(w: &World) -> u32 {
    (0..w.product_count())
        .find(|&i| w.category_code(i) == "sofas" && w.skus(i).len() >= 2)
        .expect("a sofa in two colours")
}

const ACCESSORIES: &str = r#"query($s: String!, $first: Int!, $v: String) {
  product(sku: $s) { accessories(first: $first, sku: $v) { variant { sku name } matching category } }
}"#;

fn shape(data: &Value) -> Vec<(String, bool, String)> {
    data["product"]["accessories"]
        .as_array()
        .expect("accessories")
        .iter()
        .map(|a| {
            (
                a["variant"]["sku"].as_str().unwrap().to_owned(),
                a["matching"].as_bool().unwrap(),
                a["category"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

async fn accessories_of_a_sofa_are_textiles_lamps_and_rugs_in_its_colour_first(stack: Stack) {
    let g = Running::start(stack).await;
    let w = g.world().clone();
    let i = sofa(&w);
    let skus = w.skus(i);
    for sku in [&skus[0], &skus[1]] {
        let want = expected_accessories(&w, sku.as_str());
        assert!(
            want.iter().filter(|a| a.1).count() >= 6,
            "the world has same-colour accessories for {sku}"
        );
        let data = g
            .data(ACCESSORIES, json!({ "s": sku.as_str(), "first": 9 }))
            .await;
        let got = shape(&data);
        assert_eq!(got, want[..9], "{stack:?} accessories of {sku}");
        // The first three: one of each complement category, all in the sofa's colour.
        let cats: HashSet<&str> = got[..3].iter().map(|a| a.2.as_str()).collect();
        assert_eq!(cats, HashSet::from(["textiles", "lamps", "rugs"]));
        assert!(got[..3]
            .iter()
            .all(|a| colour_of(&a.0) == colour_of(sku.as_str())));
        assert!(got.iter().all(|a| product_of(&w, &a.0) != i));
        // Names come localised from the PIM like any variant's.
        assert!(data["product"]["accessories"][0]["variant"]["name"].is_string());
    }
    // `sku:` picks the variant whose colour to match; the product's first variant otherwise.
    let by_second = g
        .data(
            ACCESSORIES,
            json!({ "s": skus[0].as_str(), "first": 5, "v": skus[1].as_str() }),
        )
        .await;
    assert_eq!(
        shape(&by_second),
        expected_accessories(&w, skus[1].as_str())[..5]
    );
    let by_code = g
        .data(
            "query($c: String!) { product(code: $c) { accessories { variant { sku } } } }",
            json!({ "c": World::product_id(i).as_str() }),
        )
        .await;
    let first_four: Vec<String> = expected_accessories(&w, skus[0].as_str())[..4]
        .iter()
        .map(|a| a.0.clone())
        .collect();
    let got: Vec<&str> = by_code["product"]["accessories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["variant"]["sku"].as_str().unwrap())
        .collect();
    assert_eq!(
        got, first_four,
        "the default is four, from the first variant"
    );
    // A SKU of another product is a clear input error.
    let other = w.skus((i + 1) % w.product_count())[0].clone();
    let v = g
        .query_with(
            ACCESSORIES,
            json!({ "s": skus[0].as_str(), "first": 3, "v": other.as_str() }),
            &[],
        )
        .await;
    assert_eq!(
        v["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{v:#}"
    );
    // A category nothing accessorises has no accessories (and costs no category call).
    let vase = (0..w.product_count())
        .find(|&j| w.category_code(j) == "accessories")
        .unwrap();
    let data = g
        .data(
            ACCESSORIES,
            json!({ "s": w.skus(vase)[0].as_str(), "first": 4 }),
        )
        .await;
    assert_eq!(data["product"]["accessories"], json!([]));
}

async fn accessory_candidates_cost_one_call_per_category_and_then_come_from_the_cache(
    stack: Stack,
) {
    let g = Running::start(stack).await;
    let w = g.world().clone();
    let pim = roles(stack).products;
    let sofas: Vec<u32> = (0..w.product_count())
        .filter(|&i| w.category_code(i) == "sofas")
        .take(3)
        .collect();
    let plain = "query($s: String!) { product(sku: $s) { name } }";
    // What looking the product up costs on its own.
    g.reset_counts();
    g.data(plain, json!({ "s": w.skus(sofas[1])[0].as_str() }))
        .await;
    let lookup = g.data_requests(pim);
    assert!(lookup >= 1);
    g.reset_counts();
    g.data(
        ACCESSORIES,
        json!({ "s": w.skus(sofas[0])[0].as_str(), "first": 4 }),
    )
    .await;
    let cold = g.data_requests(pim);
    // A third sofa, as unknown as the second was: same three complement categories, now
    // cached: only its own lookup.
    g.reset_counts();
    g.data(
        ACCESSORIES,
        json!({ "s": w.skus(sofas[2])[0].as_str(), "first": 4 }),
    )
    .await;
    let warm = g.data_requests(pim);
    eprintln!("{stack:?}: product lookup {lookup}, accessories cold {cold}, warm {warm} requests to {pim}");
    assert_eq!(warm, lookup, "{stack:?}: cached categories cost nothing");
    assert!(
        cold > lookup,
        "{stack:?}: the cold query read the categories"
    );
    if stack == Stack::A {
        // Akeneo filters by category: per category one page of models and the variants of
        // 48 products (about 120, so at most two requests of 100).
        assert!(
            cold <= lookup + 3 * 3,
            "{stack:?}: {cold} requests for three categories"
        );
    }
}

/// A person in every customer system with at least two orders.
fn buyer(w: &World) -> u32 {
    (0..w.customer_count())
        .filter(|&i| CustomerSlice::ALL.iter().all(|s| w.in_slice(*s, i)))
        .filter(|&i| w.customer(i).company_name.is_none())
        .find(|&i| w.orders_of(i).len() >= 2)
        .expect("a buyer")
}

const RECOMMENDATIONS: &str = r#"query($n: String!) {
  customer(customerNumber: $n) { recommendations(first: 8) { variant { sku name price { amount { amount } } } reason basedOn score } }
}"#;

async fn recommendations_come_from_the_wishlist_and_orders_and_leave_out_what_they_have(
    stack: Stack,
) {
    let g = Running::start(stack).await;
    let w = g.world().clone();
    let c = buyer(&w);
    let number = World::customer_number(c);
    let n = number.as_str();
    // They wish for a sofa (the wishlist keeps whatever it already held).
    let wished_sofa = w.skus(sofa(&w))[1].to_string();
    let add = r#"mutation($n: String!, $s: String!, $k: String!) { addToWishlist(customerNumber: $n, sku: $s, idempotencyKey: $k) { items { sku } } }"#;
    g.data(add, json!({ "n": n, "s": wished_sofa, "k": "reco-wish-1" }))
        .await;

    let data = recommendations_checked(&g, c).await;
    let recs = data["customer"]["recommendations"].as_array().unwrap();
    // The wishlisted sofa weighs 2 against a purchase's 1: its accessories are there, in
    // its colour.
    let sofa_recs: Vec<&Value> = recs
        .iter()
        .filter(|r| r["basedOn"] == wished_sofa.as_str())
        .collect();
    assert!(!sofa_recs.is_empty(), "{stack:?}: {data:#}");
    assert!(sofa_recs.iter().all(|r| r["reason"] == "WISHLISTED"));
    assert!(sofa_recs.iter().all(|r| r["score"].as_i64().unwrap() >= 2));
    assert!(sofa_recs
        .iter()
        .any(|r| colour_of(r["variant"]["sku"].as_str().unwrap()) == colour_of(&wished_sofa)));

    // Signed in, `me` gives the customer the same list.
    let token = g.bearer(json!({ "role": "customer", "sub": n }));
    let v = g
        .query_with(
            &RECOMMENDATIONS
                .replace("query($n: String!)", "query")
                .replace("customer(customerNumber: $n)", "me"),
            json!({}),
            &[("authorization", &token)],
        )
        .await;
    assert!(v.get("errors").is_none(), "{v:#}");
    assert_eq!(
        v["data"]["me"]["recommendations"],
        data["customer"]["recommendations"]
    );

    // Wishlisting the top recommendation takes it off the list...
    let top = recs[0]["variant"]["sku"].as_str().unwrap().to_owned();
    g.data(add, json!({ "n": n, "s": top, "k": "reco-wish-2" }))
        .await;
    let data = recommendations_checked(&g, c).await;
    assert!(!skus_of(&data).any(|s| product_of(&w, s) == product_of(&w, &top)));
    // ...and so does buying the next one.
    let next = skus_of(&data).next().unwrap().to_owned();
    let place = r#"mutation($n: String!, $s: String!, $k: String!) { placeOrder(customerNumber: $n, lines: [{ sku: $s, quantity: "1" }], fulfilment: { mode: HOME_DELIVERY, address: { street: "Vestergade 1", postalCode: "8000", city: "Aarhus", countryCode: "DK" } }, idempotencyKey: $k) { number } }"#;
    g.data(place, json!({ "n": n, "s": next, "k": "reco-order-1" }))
        .await;
    let data = recommendations_checked(&g, c).await;
    assert!(!skus_of(&data).any(|s| product_of(&w, s) == product_of(&w, &next)));

    // Removing the sofa from the wishlist takes its recommendations with it.
    let remove = r#"mutation($n: String!, $s: String!) { removeFromWishlist(customerNumber: $n, sku: $s) { items { sku } } }"#;
    g.data(remove, json!({ "n": n, "s": wished_sofa })).await;
    let after = recommendations_checked(&g, c).await;
    assert!(after["customer"]["recommendations"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["basedOn"] != wished_sofa.as_str()));
}

fn skus_of(data: &Value) -> impl Iterator<Item = &str> {
    data["customer"]["recommendations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["variant"]["sku"].as_str().unwrap())
}

/// Customer `c`'s recommendations, each checked against what the simulators hold now: based
/// on a wishlisted or recently bought SKU (as its reason says), in a category configured to go
/// with that SKU's, and of no product they already wished for or bought; best first.
async fn recommendations_checked(g: &Running, c: u32) -> Value {
    let w = g.world();
    let number = World::customer_number(c);
    let data = g
        .data(RECOMMENDATIONS, json!({ "n": number.as_str() }))
        .await;
    // The truth, from the gateway's plain reads (checked against the world elsewhere).
    let have = g
        .data(
            "query($n: String!) { customer(customerNumber: $n) { wishlist { items { sku } } orders(first: 5) { edges { node { lines { sku } } } } } }",
            json!({ "n": number.as_str() }),
        )
        .await;
    let wished: HashSet<String> = have["customer"]["wishlist"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["sku"].as_str().unwrap().to_owned())
        .collect();
    let bought: HashSet<String> = have["customer"]["orders"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|e| e["node"]["lines"].as_array().unwrap().iter())
        .map(|l| l["sku"].as_str().unwrap().to_owned())
        .collect();
    assert!(!bought.is_empty(), "they have orders");
    let owned: HashSet<u32> = bought
        .iter()
        .chain(&wished)
        .map(|s| product_of(w, s))
        .collect();
    let recs = data["customer"]["recommendations"].as_array().unwrap();
    assert_eq!(recs.len(), 8, "{data:#}");
    let mut last_score = i64::MAX;
    for r in recs {
        let sku = r["variant"]["sku"].as_str().unwrap();
        let based_on = r["basedOn"].as_str().unwrap();
        let score = r["score"].as_i64().unwrap();
        assert!(score <= last_score, "best first: {data:#}");
        last_score = score;
        match r["reason"].as_str().unwrap() {
            "WISHLISTED" => assert!(wished.contains(based_on), "{based_on} is wishlisted"),
            "PURCHASED" => {
                assert!(bought.contains(based_on), "{based_on} was bought");
                assert!(!wished.contains(based_on));
            }
            other => panic!("reason {other}"),
        }
        let seed_category = w.category_code(product_of(w, based_on));
        let category = w.category_code(product_of(w, sku));
        assert!(
            complements(seed_category).contains(&category),
            "{sku} ({category}) goes with {based_on} ({seed_category})"
        );
        assert!(
            !owned.contains(&product_of(w, sku)),
            "{sku} is already theirs: {data:#}"
        );
        assert!(r["variant"]["price"]["amount"]["amount"].is_string());
    }
    data
}

macro_rules! on_both_stacks {
    ($($name:ident),* $(,)?) => {
        mod stack_a {
            $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
               async fn $name() { super::$name(super::Stack::A).await } )*
        }
        mod stack_b {
            $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
               async fn $name() { super::$name(super::Stack::B).await } )*
        }
    };
}

on_both_stacks!(
    accessories_of_a_sofa_are_textiles_lamps_and_rugs_in_its_colour_first,
    accessory_candidates_cost_one_call_per_category_and_then_come_from_the_cache,
    recommendations_come_from_the_wishlist_and_orders_and_leave_out_what_they_have,
);
