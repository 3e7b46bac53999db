//! The permission matrix: every query and mutation against every role, over HTTP against the
//! demo stack. A forbidden cell must answer `UNAUTHENTICATED` or `FORBIDDEN` with no data at
//! that path and must not write anything upstream; an allowed cell must not be refused. Nested
//! paths (`order { customer { wishlist } }`) and `node(id:)` are cells of their own.

#![cfg(feature = "demo")]

mod common;

use common::Running;
use samlet::demo::Stack;
use samlet_testkit::world::CustomerSlice;
use samlet_testkit::World;
use serde_json::{json, Value};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Role {
    Anonymous,
    /// The customer whose records the cells touch.
    Owner,
    /// Another signed-in customer.
    OtherCustomer,
    /// A store associate in their store, on the store tablet.
    Associate,
    /// The same associate from the web channel (not where associates act).
    AssociateOnWeb,
    Service,
}

const ROLES: [Role; 6] = [
    Role::Anonymous,
    Role::Owner,
    Role::OtherCustomer,
    Role::Associate,
    Role::AssociateOnWeb,
    Role::Service,
];

use Role::*;

/// Who may run a cell.
#[derive(Clone, Copy)]
enum Rule {
    Everyone,
    /// The owner, an associate in their store, a service.
    OwnerOrStaff,
    /// An associate in their store, a service.
    StaffOnly,
}

impl Rule {
    fn allows(self, r: Role) -> bool {
        match self {
            Rule::Everyone => true,
            Rule::OwnerOrStaff => matches!(r, Owner | Associate | Service),
            Rule::StaffOnly => matches!(r, Associate | Service),
        }
    }
}

struct Fixture {
    owner: String,
    other: String,
    email: String,
    order: String,
    offer: String,
    voucher: String,
    sku: String,
}

fn auth_codes(v: &Value) -> Vec<String> {
    v["errors"]
        .as_array()
        .map(|errs| {
            errs.iter()
                .filter_map(|e| e["extensions"]["code"].as_str())
                .filter(|c| *c == "UNAUTHENTICATED" || *c == "FORBIDDEN")
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// Write requests (anything but GET) the simulators received since the last reset.
fn upstream_writes(g: &Running) -> u64 {
    g.stack
        .members
        .iter()
        .flat_map(|m| m.simulator.control.stats.routes())
        .filter(|(route, _)| !route.starts_with("GET ") && !route.contains("token"))
        // Reads sent as POST: Salesforce composite/query batches, Creatio/BC $batch, GraphQL.
        .filter(|(route, _)| {
            !route.contains("composite")
                && !route.contains("$batch")
                && !route.contains("graphql")
                && !route.contains("/search")
        })
        .map(|(_, n)| n)
        .sum()
}

async fn matrix(stack: Stack) {
    let g = Running::start(stack).await;
    let w = g.world().clone();
    // A member held by every system, with orders and a loyalty voucher.
    let i = (0..w.customer_count())
        .find(|&i| {
            CustomerSlice::ALL.iter().all(|s| w.in_slice(*s, i))
                && w.customer(i).company_name.is_none()
                && matches!(w.customer(i).loyalty_tier, Some("SILVER" | "GOLD"))
                && !w.orders_of(i).is_empty()
        })
        .expect("such a customer");
    let owner = World::customer_number(i).to_string();
    let other = World::customer_number(i + 1).to_string();
    let sku = w.skus(50)[0].to_string();
    // Set up as a service: the owner's latest order, an offer for them, their voucher.
    let order = World::order_number(w.orders_of(i)[0]).to_string();
    let offer = g
        .data(
            r#"mutation($n: String!, $s: String!) { createOffer(customerNumber: $n, lines: [{ sku: $s, quantity: "1" }], idempotencyKey: "matrix-offer") { number } }"#,
            json!({ "n": owner, "s": sku }),
        )
        .await["createOffer"]["number"]
        .as_str()
        .unwrap()
        .to_owned();
    let vouchers = g
        .data(
            r#"query($n: String!) { customer(customerNumber: $n) { email vouchers { code status } } }"#,
            json!({ "n": owner }),
        )
        .await;
    let email = vouchers["customer"]["email"].as_str().unwrap().to_owned();
    let voucher = vouchers["customer"]["vouchers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["status"] == "AVAILABLE")
        .expect("an available voucher")["code"]
        .as_str()
        .unwrap()
        .to_owned();
    let f = Fixture {
        owner,
        other,
        email,
        order,
        offer,
        voucher,
        sku,
    };
    let customer_id = samlet::graph::ids::encode(samlet::graph::ids::NodeType::Customer, &f.owner);
    let order_id = samlet::graph::ids::encode(samlet::graph::ids::NodeType::Order, &f.order);

    // (name, rule, is a write, query, variables; `$k` gets a fresh idempotency key per cell)
    let cells: Vec<(&str, Rule, bool, &str, Value)> = vec![
        ("products", Rule::Everyone, false, "{ products(first: 3) { nodes { code name } } }", json!({})),
        ("product with price and stock", Rule::Everyone, false, "query($s: String!) { product(sku: $s) { name price { amount { amount } } stock { available } } }", json!({ "s": f.sku })),
        ("product.accessories", Rule::Everyone, false, "query($s: String!) { product(sku: $s) { accessories(first: 2) { variant { sku price { amount { amount } } } matching } } }", json!({ "s": f.sku })),
        ("locations", Rule::Everyone, false, "{ locations { code } }", json!({})),
        ("basketAvailability", Rule::Everyone, false, r#"query($s: String!) { basketAvailability(lines: [{ sku: $s, quantity: "1" }]) { available } }"#, json!({ "s": f.sku })),
        ("customer by number", Rule::OwnerOrStaff, false, "query($n: String!) { customer(customerNumber: $n) { email } }", json!({ "n": f.owner })),
        ("customer by e-mail", Rule::OwnerOrStaff, false, "query($e: String!) { customer(email: $e) { customerNumber } }", json!({ "e": f.email.to_uppercase() })),
        ("node(id:) customer", Rule::OwnerOrStaff, false, "query($id: ID!) { node(id: $id) { ... on Customer { email } } }", json!({ "id": customer_id })),
        ("customer.orders", Rule::OwnerOrStaff, false, "query($n: String!) { customer(customerNumber: $n) { orders(first: 2) { edges { node { number } } } } }", json!({ "n": f.owner })),
        ("customer.wishlist", Rule::OwnerOrStaff, false, "query($n: String!) { customer(customerNumber: $n) { wishlist { items { sku } } } }", json!({ "n": f.owner })),
        ("customer.recommendations", Rule::OwnerOrStaff, false, "query($n: String!) { customer(customerNumber: $n) { recommendations(first: 3) { variant { sku } reason basedOn } } }", json!({ "n": f.owner })),
        ("order.customer.recommendations (nested)", Rule::OwnerOrStaff, false, "query($o: String!) { order(number: $o) { customer { recommendations(first: 2) { variant { sku } } } } }", json!({ "o": f.order })),
        ("customer.vouchers", Rule::OwnerOrStaff, false, "query($n: String!) { customer(customerNumber: $n) { vouchers { code } } }", json!({ "n": f.owner })),
        ("order", Rule::OwnerOrStaff, false, "query($o: String!) { order(number: $o) { status total { amount } } }", json!({ "o": f.order })),
        ("node(id:) order", Rule::OwnerOrStaff, false, "query($id: ID!) { node(id: $id) { ... on Order { total { amount } } } }", json!({ "id": order_id })),
        ("order.customer.wishlist (nested)", Rule::OwnerOrStaff, false, "query($o: String!) { order(number: $o) { customer { email wishlist { items { sku } } } } }", json!({ "o": f.order })),
        ("offer", Rule::OwnerOrStaff, false, "query($o: String!) { offer(number: $o) { total { amount } } }", json!({ "o": f.offer })),
        ("voucher", Rule::OwnerOrStaff, false, "query($c: String!) { voucher(code: $c) { status } }", json!({ "c": f.voucher })),
        ("addToWishlist", Rule::OwnerOrStaff, true, "mutation($n: String!, $s: String!, $k: String!) { addToWishlist(customerNumber: $n, sku: $s, idempotencyKey: $k) { items { sku } } }", json!({ "n": f.owner, "s": f.sku })),
        ("removeFromWishlist", Rule::OwnerOrStaff, true, "mutation($n: String!, $s: String!) { removeFromWishlist(customerNumber: $n, sku: $s) { items { sku } } }", json!({ "n": f.owner, "s": f.sku })),
        ("createOffer", Rule::StaffOnly, true, r#"mutation($n: String!, $s: String!, $k: String!) { createOffer(customerNumber: $n, lines: [{ sku: $s, quantity: "1" }], idempotencyKey: $k) { number } }"#, json!({ "n": f.owner, "s": f.sku })),
        ("convertOffer", Rule::OwnerOrStaff, true, "mutation($o: String!, $k: String!) { convertOffer(number: $o, idempotencyKey: $k) { number } }", json!({ "o": f.offer })),
        ("placeOrder", Rule::OwnerOrStaff, true, r#"mutation($n: String!, $s: String!, $k: String!) { placeOrder(customerNumber: $n, lines: [{ sku: $s, quantity: "1" }], fulfilment: { mode: HOME_DELIVERY, address: { street: "Vestergade 1", postalCode: "8000", city: "Aarhus", countryCode: "DK" } }, idempotencyKey: $k) { number } }"#, json!({ "n": f.owner, "s": f.sku })),
        ("redeemVoucher", Rule::StaffOnly, true, "mutation($c: String!, $k: String!) { redeemVoucher(code: $c, idempotencyKey: $k) { status } }", json!({ "c": f.voucher })),
        ("trackEvent", Rule::OwnerOrStaff, true, "mutation($n: String!, $k: String!) { trackEvent(input: { id: $k, customerNumber: $n, kind: STORE_VISIT }) { accepted } }", json!({ "n": f.owner })),
    ];

    let mut denied = 0;
    let mut allowed = 0;
    for role in ROLES {
        let (channel, auth) = match role {
            Anonymous => ("web", None),
            Owner => ("app", Some(json!({ "role": "customer", "sub": f.owner }))),
            OtherCustomer => ("app", Some(json!({ "role": "customer", "sub": f.other }))),
            Associate => (
                "store",
                Some(json!({ "role": "store_associate", "sub": "associate-3", "store": "DK-CPH" })),
            ),
            AssociateOnWeb => (
                "web",
                Some(json!({ "role": "store_associate", "sub": "associate-3", "store": "DK-CPH" })),
            ),
            Service => ("web", Some(json!({ "role": "service", "sub": "matrix" }))),
        };
        let bearer = auth.map(|c| g.bearer(c));
        for (n, (name, rule, write, query, vars)) in cells.iter().enumerate() {
            let mut vars = vars.clone();
            vars["k"] = json!(format!("matrix-{role:?}-{n}"));
            let mut headers = vec![("samlet-channel", channel)];
            g.reset_counts();
            let v = match &bearer {
                Some(b) => {
                    headers.push(("authorization", b.as_str()));
                    g.query_with(query, vars, &headers).await
                }
                // Without the harness's default service token.
                None => anonymous(&g, query, vars, &headers).await,
            };
            let refused = auth_codes(&v);
            if rule.allows(role) {
                allowed += 1;
                assert!(
                    refused.is_empty(),
                    "{stack:?} {role:?} may run `{name}` but was refused: {v:#}"
                );
                // Reads answer; a write may meet the state an earlier cell left (an offer
                // already converted, a voucher already redeemed), never a refusal.
                if !write {
                    assert!(
                        v.get("errors").is_none(),
                        "{stack:?} {role:?} `{name}`: {v:#}"
                    );
                }
            } else {
                denied += 1;
                assert!(
                    !refused.is_empty(),
                    "{stack:?} {role:?} must not run `{name}`: {v:#}"
                );
                // Nothing of the customer's leaks beside the error.
                let data = serde_json::to_string(&v["data"]).unwrap();
                for secret in [&f.email, &f.voucher] {
                    assert!(
                        !data.to_lowercase().contains(&secret.to_lowercase()),
                        "{stack:?} {role:?} `{name}` leaked {secret}: {v:#}"
                    );
                }
                if *write {
                    assert_eq!(
                        upstream_writes(&g),
                        0,
                        "{stack:?} {role:?} `{name}` was refused but wrote upstream"
                    );
                }
            }
        }
    }
    // me: the owner gets themselves; everyone else gets null, without an error.
    for role in ROLES {
        let v = match role {
            Anonymous => anonymous(&g, "{ me { customerNumber } }", json!({}), &[]).await,
            Owner => {
                let b = g.bearer(json!({ "role": "customer", "sub": f.owner }));
                g.query_with(
                    "{ me { customerNumber } }",
                    json!({}),
                    &[("authorization", &b)],
                )
                .await
            }
            _ => continue,
        };
        assert!(v.get("errors").is_none(), "{v:#}");
        match role {
            Owner => assert_eq!(v["data"]["me"]["customerNumber"], f.owner.as_str()),
            _ => assert!(v["data"]["me"].is_null()),
        }
    }
    eprintln!(
        "{stack:?}: {} cells, {allowed} allowed, {denied} denied",
        allowed + denied
    );
}

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

/// Context a caller may not choose is refused before anything runs.
async fn context_the_caller_may_not_choose(stack: Stack) {
    let g = Running::start(stack).await;
    let q = r#"{ products(first: 1) { nodes { code } } }"#;
    // Anonymous B2B prices.
    let r = g
        .http
        .post(format!("{}/graphql", g.url))
        .header("samlet-customer-group", "B2B")
        .json(&json!({ "query": q }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["extensions"]["code"], "FORBIDDEN", "{v:#}");
    // A store associate in another store.
    let b = g.bearer(json!({ "role": "store_associate", "sub": "a-1", "store": "DK-CPH" }));
    let v = g
        .query_with(
            q,
            json!({}),
            &[
                ("authorization", &b),
                ("samlet-store", "DK-AAR"),
                ("samlet-channel", "store"),
            ],
        )
        .await;
    assert_eq!(v["extensions"]["code"], "FORBIDDEN", "{v:#}");
    // A service may choose the group; a customer's token carries their own.
    let v = g
        .query_with(q, json!({}), &[("samlet-customer-group", "B2B")])
        .await;
    assert!(v.get("errors").is_none(), "{v:#}");
    let b = g.bearer(json!({ "role": "customer", "sub": "C0000001", "customer_group": "B2B" }));
    let v = g
        .query_with(
            "{ context { customerGroup } }",
            json!({}),
            &[("authorization", &b)],
        )
        .await;
    assert_eq!(v["data"]["context"]["customerGroup"], "B2B", "{v:#}");
    // A malformed or unverifiable token is a 401 that says why.
    for (auth, why) in [
        ("Basic dXNlcjpwYXNz", "only `Bearer"),
        ("Bearer not-a-token", "not a JWT"),
    ] {
        let r = g
            .http
            .post(format!("{}/graphql", g.url))
            .header("authorization", auth)
            .json(&json!({ "query": q }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
        assert!(r.headers().contains_key("www-authenticate"));
        let v: Value = r.json().await.unwrap();
        assert!(
            v["errors"][0]["message"].as_str().unwrap().contains(why),
            "{v:#}"
        );
    }
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

on_both_stacks!(matrix, context_the_caller_may_not_choose);
