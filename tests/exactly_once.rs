//! Exactly-once writes under faults, over real HTTP: 1,000 randomised write attempts (500 per
//! demo stack; seeded) - placeOrder, createOffer, convertOffer, redeemVoucher, addToWishlist -
//! while the systems of record drop connections, answer 503, carry out writes and lose the
//! answer, and add latency. Each client retries with the same idempotency key until it gets an
//! answer. Then the effects are counted in the simulators' own records (orders and quotes in
//! their write journals; vouchers and wishlists read back from the vendor once the faults end):
//! no duplicate, no loss, and no retry answered with a refusal of its own earlier attempt.

#![cfg(feature = "demo")]

mod common;

use common::{roles, Running};
use samlet::demo::Stack;
use samlet_testkit::sim::FaultPlan;
use samlet_testkit::world::CustomerSlice;
use samlet_testkit::World;
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

/// Logical writes per stack.
const WRITES: usize = 500;
/// Concurrent clients per stack (each owns its customers, offers and vouchers).
const CLIENTS: usize = 8;
/// Attempts per logical write before the test gives up on it (a loss).
const MAX_ATTEMPTS: u32 = 40;

/// splitmix64: a small seeded generator, so a failing run can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

const PLACE: &str = r#"mutation($n: String!, $lines: [LineInput!]!, $k: String!) {
  placeOrder(customerNumber: $n, lines: $lines, idempotencyKey: $k,
    fulfilment: { mode: HOME_DELIVERY, address: { street: "Vestergade 1", postalCode: "8000", city: "Aarhus", countryCode: "DK" } }) {
    number } }"#;
const CREATE_OFFER: &str = r#"mutation($n: String!, $lines: [LineInput!]!, $k: String!) {
  createOffer(customerNumber: $n, lines: $lines, validDays: 7, idempotencyKey: $k) { number status } }"#;
const CONVERT: &str = r#"mutation($o: String!, $k: String!) {
  convertOffer(number: $o, idempotencyKey: $k) { number } }"#;
const REDEEM: &str = r#"mutation($c: String!, $k: String!) {
  redeemVoucher(code: $c, idempotencyKey: $k) { code status } }"#;
const WISH: &str = r#"mutation($n: String!, $s: String!, $k: String!) {
  addToWishlist(customerNumber: $n, sku: $s, idempotencyKey: $k) { items { sku } } }"#;

/// What one client did.
#[derive(Default)]
struct Log {
    attempts: u64,
    /// placeOrder successes: order numbers.
    placed: Vec<String>,
    /// createOffer successes: offer numbers.
    offers: Vec<String>,
    /// convertOffer successes: (offer, order).
    converted: Vec<(String, String)>,
    /// redeemVoucher successes: codes.
    redeemed: Vec<String>,
    /// addToWishlist successes: (customer, sku).
    wished: Vec<(String, String)>,
    /// Writes that ended without success: (operation, last answer).
    failures: Vec<(String, Value)>,
}

/// Sends `q` with `vars` until an answer: data for `field` (success), or an error that is not
/// retryable (a failure). Transient errors are retried with the same variables (the same key).
async fn until_answered(
    g: &Running,
    q: &str,
    vars: &Value,
    field: &str,
    log: &mut Log,
) -> Option<Value> {
    let mut last = Value::Null;
    for attempt in 1..=MAX_ATTEMPTS {
        log.attempts += 1;
        let v = g.query_with(q, vars.clone(), &[]).await;
        if !v["data"][field].is_null() {
            return Some(v["data"][field].clone());
        }
        let retryable = v["errors"]
            .as_array()
            .is_some_and(|es| es.iter().all(|e| e["extensions"]["retryable"] == true));
        last = v;
        if !retryable {
            break;
        }
        tokio::time::sleep(Duration::from_millis(u64::from(attempt.min(10)) * 5)).await;
    }
    log.failures.push((field.to_owned(), last));
    None
}

fn lines(w: &World, rng: &mut Rng) -> Value {
    let n = 1 + rng.below(2);
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    while out.len() < n {
        let i = 30 + rng.below(40) as u32;
        if seen.insert(i) {
            out.push(json!({ "sku": w.skus(i)[0].as_str(), "quantity": "1" }));
        }
    }
    Value::Array(out)
}

async fn client(
    g: Arc<Running>,
    id: usize,
    writes: usize,
    customers: Vec<String>,
    mut vouchers: Vec<String>,
    seed: u64,
) -> Log {
    let w = g.world().clone();
    let mut rng = Rng(seed);
    let mut log = Log::default();
    let mut open_offers: Vec<String> = Vec::new();
    for n in 0..writes {
        let key = format!("eo-{id}-{n}-{seed:x}");
        let customer = customers[rng.below(customers.len())].clone();
        let roll = rng.unit();
        if roll < 0.28 {
            let vars = json!({ "n": customer, "lines": lines(&w, &mut rng), "k": key });
            if let Some(o) = until_answered(&g, PLACE, &vars, "placeOrder", &mut log).await {
                log.placed
                    .push(o["number"].as_str().unwrap_or_default().to_owned());
            }
        } else if roll < 0.50 {
            let vars = json!({ "n": customer, "lines": lines(&w, &mut rng), "k": key });
            if let Some(o) = until_answered(&g, CREATE_OFFER, &vars, "createOffer", &mut log).await
            {
                let number = o["number"].as_str().unwrap_or_default().to_owned();
                log.offers.push(number.clone());
                open_offers.push(number);
            }
        } else if roll < 0.66 && !open_offers.is_empty() {
            let offer = open_offers.swap_remove(rng.below(open_offers.len()));
            let vars = json!({ "o": offer, "k": key });
            if let Some(o) = until_answered(&g, CONVERT, &vars, "convertOffer", &mut log).await {
                log.converted
                    .push((offer, o["number"].as_str().unwrap_or_default().to_owned()));
            }
        } else if roll < 0.80 && !vouchers.is_empty() {
            let code = vouchers.pop().unwrap_or_default();
            let vars = json!({ "c": code, "k": key });
            if let Some(v) = until_answered(&g, REDEEM, &vars, "redeemVoucher", &mut log).await {
                assert_eq!(v["status"], "REDEEMED", "{v:#}");
                log.redeemed.push(code);
            }
        } else {
            let sku = w.skus(30 + rng.below(20) as u32)[0].to_string();
            let vars = json!({ "n": customer, "s": sku, "k": key });
            if until_answered(&g, WISH, &vars, "addToWishlist", &mut log)
                .await
                .is_some()
            {
                log.wished.push((customer, sku));
            }
        }
    }
    log
}

/// People held by every customer system, without a company.
fn people(w: &World, n: usize) -> Vec<String> {
    (0..w.customer_count())
        .filter(|&i| CustomerSlice::ALL.iter().all(|s| w.in_slice(*s, i)))
        .filter(|&i| w.customer(i).company_name.is_none())
        .take(n)
        .map(|i| World::customer_number(i).to_string())
        .collect()
}

/// Available voucher codes of loyalty members (read before the faults start).
async fn voucher_codes(g: &Running, want: usize) -> Vec<String> {
    let w = g.world().clone();
    let q = r#"query($n: String!) { customer(customerNumber: $n) { vouchers { code status } } }"#;
    let mut out = Vec::new();
    for i in (0..w.customer_count()).filter(|&i| {
        w.in_slice(CustomerSlice::Marketing, i)
            && matches!(w.customer(i).loyalty_tier, Some("SILVER" | "GOLD"))
    }) {
        if out.len() >= want {
            break;
        }
        let v = g
            .data(q, json!({ "n": World::customer_number(i).as_str() }))
            .await;
        for voucher in v["customer"]["vouchers"].as_array().into_iter().flatten() {
            if voucher["status"] == "AVAILABLE" {
                out.push(voucher["code"].as_str().unwrap_or_default().to_owned());
            }
        }
    }
    out
}

/// Orders and quotes (stack A) in the system of record's own write journal.
fn records(g: &Running) -> (usize, usize) {
    let r = &g.stack.records;
    match (&r.business_central, &r.optimizely) {
        (Some(bc), _) => (bc.orders_created(), bc.quotes_created()),
        (None, Some(o)) => (o.orders_created(), 0),
        (None, None) => panic!("no write records in this stack"),
    }
}

/// The faults every write system of the stack injects during the run.
fn faulty(g: &Running, on: bool) {
    let r = roles(g.stack.stack);
    let mut systems: Vec<&str> = vec![r.commerce, r.marketing, r.crm];
    if g.stack.stack == Stack::B {
        systems.push("loyalty");
    }
    systems.sort();
    systems.dedup();
    for name in systems {
        let m = g.stack.member(name).expect("member");
        m.simulator.control.set_faults(if on {
            FaultPlan {
                latency: Duration::from_millis(1),
                jitter: Duration::from_millis(4),
                fail_ratio: 0.08,
                reset_ratio: 0.08,
                lose_ratio: 0.15,
                only_paths: m.api_paths.iter().map(|p| p.to_string()).collect(),
                ..FaultPlan::default()
            }
        } else {
            FaultPlan::default()
        });
    }
}

async fn exactly_once_under_faults(stack: Stack, seed: u64) {
    let g = Arc::new(
        Running::start_with(stack, |c| {
            for s in &mut c.connectors {
                s.policy.backoff = Duration::from_millis(5);
                s.policy.timeout = Duration::from_secs(5);
                s.policy.breaker.open_for = Duration::from_millis(100);
            }
        })
        .await,
    );
    let w = g.world().clone();
    let customers = people(&w, CLIENTS * 3);
    let codes = voucher_codes(&g, 90).await;
    assert!(codes.len() >= 40, "vouchers to redeem: {}", codes.len());
    let (orders0, quotes0) = records(&g);
    for m in &g.stack.members {
        m.simulator.control.stats.reset();
    }
    faulty(&g, true);
    let started = std::time::Instant::now();
    let mut tasks = Vec::new();
    let per_client_vouchers = codes.len() / CLIENTS;
    for c in 0..CLIENTS {
        let mine: Vec<String> = customers[c * 3..c * 3 + 3].to_vec();
        let vouchers = codes[c * per_client_vouchers..(c + 1) * per_client_vouchers].to_vec();
        let writes = WRITES / CLIENTS + usize::from(c < WRITES % CLIENTS);
        tasks.push(tokio::spawn(client(
            g.clone(),
            c,
            writes,
            mine,
            vouchers,
            seed ^ (c as u64).wrapping_mul(0x1000_0001),
        )));
    }
    let mut logs = Vec::new();
    for t in tasks {
        logs.push(t.await.expect("client"));
    }
    let took = started.elapsed();
    let injected: u64 = g
        .stack
        .members
        .iter()
        .map(|m| m.simulator.control.stats.injected())
        .sum();
    let upstream: u64 = g
        .stack
        .members
        .iter()
        .map(|m| m.simulator.control.stats.total())
        .sum();
    faulty(&g, false);

    let all = |f: fn(&Log) -> usize| logs.iter().map(f).sum::<usize>();
    let attempts: u64 = logs.iter().map(|l| l.attempts).sum();
    let failures: Vec<&(String, Value)> = logs.iter().flat_map(|l| &l.failures).collect();
    let placed: Vec<&String> = logs.iter().flat_map(|l| &l.placed).collect();
    let offers: Vec<&String> = logs.iter().flat_map(|l| &l.offers).collect();
    let converted: Vec<&(String, String)> = logs.iter().flat_map(|l| &l.converted).collect();
    let redeemed: Vec<&String> = logs.iter().flat_map(|l| &l.redeemed).collect();
    let wished: Vec<&(String, String)> = logs.iter().flat_map(|l| &l.wished).collect();
    let logical = all(|l| {
        l.placed.len()
            + l.offers.len()
            + l.converted.len()
            + l.redeemed.len()
            + l.wished.len()
            + l.failures.len()
    });
    eprintln!(
        "[exactly-once stack {stack:?}] {logical} writes ({} placeOrder, {} createOffer, {} convertOffer, {} redeemVoucher, {} addToWishlist) in {attempts} attempts, {:.1} s; upstream requests {upstream}, faults injected {injected}",
        placed.len(),
        offers.len(),
        converted.len(),
        redeemed.len(),
        wished.len(),
        took.as_secs_f64()
    );
    assert_eq!(logical, WRITES);
    assert!(
        failures.is_empty(),
        "writes that never succeeded (each is a loss, or a retry refused by its own first attempt): {:#?}",
        &failures[..failures.len().min(3)]
    );
    assert!(injected > 100, "faults were injected: {injected}");
    assert!(attempts > WRITES as u64, "some writes needed retries");

    // Orders: every placed and converted order exists once in the system of record.
    let mut numbers: HashSet<&str> = placed.iter().map(|s| s.as_str()).collect();
    assert_eq!(
        numbers.len(),
        placed.len(),
        "two placeOrder answers name one order"
    );
    for (_, o) in &converted {
        assert!(
            numbers.insert(o.as_str()),
            "a converted order is also another write's"
        );
    }
    let (orders1, quotes1) = records(&g);
    eprintln!(
        "[exactly-once stack {stack:?}] orders created in the system of record: {} (expected {}); quotes: {}",
        orders1 - orders0,
        placed.len() + converted.len(),
        quotes1 - quotes0
    );
    assert_eq!(
        orders1 - orders0,
        placed.len() + converted.len(),
        "orders in the system of record: one per placeOrder and per convertOffer"
    );
    if stack == Stack::A {
        assert_eq!(
            quotes1 - quotes0,
            offers.len(),
            "quotes in the system of record: one per createOffer"
        );
    }
    let read = |n: &str| {
        let (g, n) = (g.clone(), n.to_owned());
        async move {
            g.data(
                r#"query($n: String!) { order(number: $n) { number } }"#,
                json!({ "n": n }),
            )
            .await["order"]["number"]
                .clone()
        }
    };
    for n in &numbers {
        assert_eq!(
            read(n).await,
            json!(n),
            "order {n} is in the system of record"
        );
    }
    // Offers: each readable once; converted ones name their one order.
    let converted_by: HashMap<&str, &str> = converted
        .iter()
        .map(|(o, n)| (o.as_str(), n.as_str()))
        .collect();
    assert_eq!(
        offers.iter().collect::<HashSet<_>>().len(),
        offers.len(),
        "two createOffer answers name one offer"
    );
    for o in &offers {
        let v = g
            .data(
                r#"query($o: String!) { offer(number: $o) { status orderNumber } }"#,
                json!({ "o": o }),
            )
            .await;
        match converted_by.get(o.as_str()) {
            Some(order) => {
                assert_eq!(v["offer"]["status"], "CONVERTED", "{o}: {v:#}");
                assert_eq!(v["offer"]["orderNumber"], *order, "{o}: {v:#}");
            }
            None => assert_eq!(v["offer"]["status"], "OPEN", "{o}: {v:#}"),
        }
    }
    // Vouchers: each redeemed once (a second redemption would have been refused).
    for code in &redeemed {
        let v = g
            .data(
                r#"query($c: String!) { voucher(code: $c) { status } }"#,
                json!({ "c": code }),
            )
            .await;
        assert_eq!(v["voucher"]["status"], "REDEEMED", "{code}");
    }
    // Wishlists: every SKU added is there, once.
    let mut wanted: HashMap<&str, HashSet<&str>> = HashMap::new();
    for (c, s) in &wished {
        wanted.entry(c.as_str()).or_default().insert(s.as_str());
    }
    for (c, skus) in &wanted {
        let v = g
            .data(
                r#"query($n: String!) { customer(customerNumber: $n) { wishlist { items { sku } } } }"#,
                json!({ "n": c }),
            )
            .await;
        let items: Vec<&str> = v["customer"]["wishlist"]["items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|i| i["sku"].as_str())
            .collect();
        let unique: HashSet<&str> = items.iter().copied().collect();
        assert_eq!(
            unique.len(),
            items.len(),
            "{c}: a SKU twice on the wishlist: {items:?}"
        );
        for s in skus {
            assert!(unique.contains(s), "{c}: {s} added but missing: {items:?}");
        }
    }
    eprintln!(
        "[exactly-once stack {stack:?}] duplicates 0, losses 0: {} orders, {} offers, {} redemptions, {} wishlist entries checked",
        numbers.len(),
        offers.len(),
        redeemed.len(),
        wanted.values().map(HashSet::len).sum::<usize>()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stack_a_five_hundred_writes_under_faults_take_effect_exactly_once() {
    exactly_once_under_faults(Stack::A, 0x5A41).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stack_b_five_hundred_writes_under_faults_take_effect_exactly_once() {
    exactly_once_under_faults(Stack::B, 0x5A42).await;
}
