//! The connector conformance suite: every connector runs it against its simulator, for every
//! capability it declares. Same inputs, same normalised answers (equal to the world's truth),
//! missing keys absent, the same typed errors for bad credentials, upstream faults and
//! malformed bodies, and paging that walks the whole collection without gaps or repeats.
//!
//! A failure panics with `conformance: <requirement>: <detail>`, naming the broken rule.
//!
//! ```ignore
//! let harness = Harness { world, connector, bad_credentials, control: sim.control.clone(),
//!     customer_slice: Some(CustomerSlice::Crm), api_paths: vec!["/services/data".into()] };
//! samlet_testkit::conformance::run(&harness).await;
//! ```

use crate::sim::{FaultPlan, SimControl};
use crate::world::{CustomerSlice, World, B2B_GROUP};
use samlet_connector::context::{Channel, Currency, Locale, RequestContext};
use samlet_connector::ids::{CustomerGroup, CustomerNumber, OrderNumber, ProductId, Sku};
use samlet_connector::model::{normalize_email, normalize_phone, MatchKey, Product};
use samlet_connector::paging::PageRequest;
use samlet_connector::{Capability, Connector, ConnectorError, ErrorKind};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

/// What the suite needs: a connector wired to its simulator, and a way to break things.
pub struct Harness {
    /// The world the simulator serves.
    pub world: Arc<World>,
    /// The connector, with valid credentials.
    pub connector: Connector,
    /// The same connector with wrong credentials.
    pub bad_credentials: Connector,
    /// The simulator's fault controls.
    pub control: SimControl,
    /// The customer slice the system holds, if it serves customers.
    pub customer_slice: Option<CustomerSlice>,
    /// Path prefixes of the data API (faults are injected there, not on the token endpoint).
    pub api_paths: Vec<String>,
}

fn fail(requirement: &str, detail: impl std::fmt::Display) -> ! {
    panic!("conformance: {requirement}: {detail}")
}

fn cx() -> RequestContext {
    RequestContext::default()
}

/// Evenly spread sample of `n` indexes below `count`.
fn sample(count: u32, n: u32) -> Vec<u32> {
    let step = (count / n.max(1)).max(1);
    (0..count)
        .step_by(step as usize)
        .take(n as usize)
        .map(|i| (i * 7 + 3) % count)
        .collect()
}

/// Runs every check that applies to the connector's declared capabilities.
pub async fn run(h: &Harness) {
    let caps = h.connector.capabilities();
    if caps.is_empty() {
        fail("declares capabilities", "the connector serves nothing");
    }
    for cap in &caps {
        match cap {
            Capability::Customers => customers(h).await,
            Capability::Products => products(h).await,
            Capability::Prices => prices(h).await,
            Capability::Inventory => inventory(h).await,
            Capability::Locations => locations(h).await,
            Capability::Orders => orders(h).await,
            Capability::Wishlists => wishlists(h).await,
            Capability::Offers => offers(h).await,
            Capability::OrderPlacement => order_placement(h).await,
            Capability::MarketingEvents => marketing_events(h).await,
            Capability::Vouchers => vouchers(h).await,
        }
    }
    errors(h).await;
}

/// A cheap call through the connector's first capability; used by the error checks.
async fn probe(c: &Connector, w: &World) -> Result<(), ConnectorError> {
    let sku = w.skus(0)[0].clone();
    if let Some(s) = &c.customers {
        s.customers(
            &cx(),
            &[MatchKey::CustomerNumber(World::customer_number(0))],
        )
        .await
        .map(drop)
    } else if let Some(s) = &c.products {
        s.products(&cx(), &[World::product_id(0)]).await.map(drop)
    } else if let Some(s) = &c.prices {
        s.prices(&cx(), &[sku]).await.map(drop)
    } else if let Some(s) = &c.inventory {
        s.stock(&cx(), &[sku]).await.map(drop)
    } else if let Some(s) = &c.orders {
        s.orders(&cx(), &[World::order_number(0)]).await.map(drop)
    } else if let Some(s) = &c.locations {
        s.locations(&cx()).await.map(drop)
    } else {
        Ok(())
    }
}

async fn errors(h: &Harness) {
    let w = &h.world;
    // Bad credentials are a typed auth failure, not a crash or a generic error.
    match probe(&h.bad_credentials, w).await {
        Err(e) if e.kind == ErrorKind::Unauthorized => {}
        other => fail(
            "bad credentials give UPSTREAM_AUTH",
            format!("{:?}", other.map_err(|e| e.kind)),
        ),
    }
    let only = h.api_paths.clone();
    // One transient 503 on a read is retried away.
    h.control.set_faults(FaultPlan {
        fail_next: 1,
        only_paths: only.clone(),
        ..FaultPlan::default()
    });
    if let Err(e) = probe(&h.connector, w).await {
        fail("a single transient 503 on a read is retried", e);
    }
    // A persistent outage is Unavailable.
    h.control.set_faults(FaultPlan {
        fail_next: 50,
        only_paths: only.clone(),
        ..FaultPlan::default()
    });
    let r = probe(&h.connector, w).await;
    h.control.clear_faults();
    match r {
        Err(e) if e.kind == ErrorKind::Unavailable && e.connector == h.connector.name => {}
        other => fail(
            "a persistent 503 gives UPSTREAM_UNAVAILABLE naming the connector",
            format!("{:?}", other.map_err(|e| (e.kind, e.connector))),
        ),
    }
    // A malformed body is InvalidResponse, with no panic.
    h.control.set_faults(FaultPlan {
        malformed_next: 50,
        only_paths: only.clone(),
        ..FaultPlan::default()
    });
    let r = probe(&h.connector, w).await;
    h.control.clear_faults();
    match r {
        Err(e) if e.kind == ErrorKind::InvalidResponse => {}
        other => fail(
            "a malformed body gives UPSTREAM_INVALID_RESPONSE",
            format!("{:?}", other.map_err(|e| e.kind)),
        ),
    }
    // A long Retry-After is reported, not slept through.
    h.control.set_faults(FaultPlan {
        rate_limit_next: 50,
        retry_after_secs: 30,
        only_paths: only,
        ..FaultPlan::default()
    });
    let r = probe(&h.connector, w).await;
    h.control.clear_faults();
    match r {
        Err(e)
            if e.kind == ErrorKind::RateLimited
                && e.retry_after == Some(Duration::from_secs(30)) => {}
        other => fail(
            "429 with Retry-After gives RATE_LIMITED with retry_after",
            format!("{:?}", other.map_err(|e| (e.kind, e.retry_after))),
        ),
    }
    // And afterwards the connector works again.
    if let Err(e) = probe(&h.connector, w).await {
        fail("the connector recovers after faults clear", e);
    }
}

async fn customers(h: &Harness) {
    let w = &h.world;
    let slice = h.customer_slice.unwrap_or_else(|| {
        fail(
            "customer slice",
            "a customer source must name its CustomerSlice in the harness",
        )
    });
    let src = h.connector.customers.as_ref().expect("declared");
    let held: Vec<u32> = sample(w.customer_count(), 200)
        .into_iter()
        .filter(|&i| w.in_slice(slice, i))
        .take(25)
        .collect();
    let not_held: Vec<u32> = sample(w.customer_count(), 400)
        .into_iter()
        .filter(|&i| !w.in_slice(slice, i))
        .take(5)
        .collect();
    // Keys of every kind, e-mails in a casing no system stores.
    let mut keys = Vec::new();
    for &i in held.iter().chain(&not_held) {
        let truth = w.customer(i);
        keys.push(MatchKey::CustomerNumber(truth.number.clone()));
        keys.push(MatchKey::email(&truth.email.to_uppercase()).expect("valid"));
    }
    keys.push(MatchKey::email("nobody@nowhere.example").expect("valid"));
    keys.push(MatchKey::CustomerNumber(CustomerNumber::new("C9999999")));
    let found = src
        .customers(&cx(), &keys)
        .await
        .unwrap_or_else(|e| fail("customers by number and e-mail", e));
    for &i in &held {
        let truth = w.customer(i);
        let sys = w.system_customer(slice, i).expect("held");
        for key in [
            MatchKey::CustomerNumber(truth.number.clone()),
            MatchKey::Email(truth.email.clone()),
        ] {
            let recs = found.get(&key).unwrap_or_else(|| {
                fail(
                    "a held customer is found by every key",
                    format!("{key:?} missing"),
                )
            });
            let r = recs
                .iter()
                .find(|r| r.number.as_ref() == Some(&truth.number))
                .unwrap_or_else(|| {
                    fail(
                        "records carry the shared customer number",
                        format!("{key:?}: {recs:?}"),
                    )
                });
            let want_phone = sys
                .phone
                .as_deref()
                .and_then(|p| normalize_phone(p, truth.country));
            let checks = [
                (
                    "e-mail is normalised",
                    r.email.as_deref() == normalize_email(&sys.email).as_deref(),
                ),
                ("phone is E.164", r.phone == want_phone),
                ("kind", r.kind == truth.kind),
                (
                    "names",
                    r.first_name.as_deref() == Some(sys.first_name.as_str())
                        && r.last_name.as_deref() == Some(sys.last_name.as_str()),
                ),
                ("company name", r.company_name == sys.company_name),
                ("loyalty number", r.loyalty_number == sys.loyalty_number),
                (
                    "loyalty tier",
                    r.loyalty_tier.as_deref() == sys.loyalty_tier,
                ),
                ("customer group", r.customer_group == sys.customer_group),
                (
                    "address country",
                    r.address.as_ref().map(|a| a.country.as_str()) == Some(truth.country),
                ),
                ("consents", {
                    let mut a: Vec<_> = r.consents.iter().map(|c| (c.channel, c.granted)).collect();
                    let mut b: Vec<_> = sys
                        .consents
                        .iter()
                        .map(|c| (c.channel, c.granted))
                        .collect();
                    a.sort_by_key(|x| format!("{x:?}"));
                    b.sort_by_key(|x| format!("{x:?}"));
                    a == b
                }),
                (
                    "source names the connector",
                    r.source.connector == h.connector.name && !r.source.native_id.is_empty(),
                ),
            ];
            for (what, ok) in checks {
                if !ok {
                    fail(
                        &format!("customer record maps correctly: {what}"),
                        format!("{}: got {r:?}, system holds {sys:?}", truth.number),
                    );
                }
            }
        }
        // Phone and loyalty keys, where this system holds them.
        if let Some(p) = sys
            .phone
            .as_deref()
            .and_then(|p| normalize_phone(p, truth.country))
        {
            let got = src
                .customers(&cx(), &[MatchKey::Phone(p.clone())])
                .await
                .unwrap_or_else(|e| fail("customers by phone", e));
            if !got
                .get(&MatchKey::Phone(p.clone()))
                .is_some_and(|v| v.iter().any(|r| r.number.as_ref() == Some(&truth.number)))
            {
                fail("a held customer is found by phone", format!("{p}: {got:?}"));
            }
        }
        if let Some(l) = &sys.loyalty_number {
            let key = MatchKey::LoyaltyNumber(l.clone());
            let got = src
                .customers(&cx(), std::slice::from_ref(&key))
                .await
                .unwrap_or_else(|e| fail("customers by loyalty number", e));
            if !got
                .get(&key)
                .is_some_and(|v| v.iter().any(|r| r.number.as_ref() == Some(&truth.number)))
            {
                fail(
                    "a held customer is found by loyalty number",
                    format!("{l}: {got:?}"),
                );
            }
        }
    }
    for &i in &not_held {
        let n = World::customer_number(i);
        if found.contains_key(&MatchKey::CustomerNumber(n.clone())) {
            fail("a customer the system does not hold is absent", n);
        }
    }
    for key in [
        MatchKey::email("nobody@nowhere.example").expect("valid"),
        MatchKey::CustomerNumber(CustomerNumber::new("C9999999")),
    ] {
        if found.contains_key(&key) {
            fail("an unknown key is absent, not an error", format!("{key:?}"));
        }
    }
    external_ids(h, &held, &found).await;
    let empty = src
        .customers(&cx(), &[])
        .await
        .unwrap_or_else(|e| fail("an empty batch is answered", e));
    if !empty.is_empty() {
        fail("an empty batch gives an empty map", format!("{empty:?}"));
    }
}

/// Recognition by the id the system gives its own record: every held customer is found by
/// the native id the connector reported (in one batch), as the same record; ids nobody has,
/// malformed ids and other connectors' ids are absent, not errors.
async fn external_ids(
    h: &Harness,
    held: &[u32],
    found: &std::collections::HashMap<MatchKey, Vec<samlet_connector::model::CustomerRecord>>,
) {
    let src = h.connector.customers.as_ref().expect("declared");
    let me = &h.connector.name;
    let id = |connector: &samlet_connector::ids::ConnectorName, id: &str| MatchKey::ExternalId {
        connector: connector.clone(),
        id: id.to_owned(),
    };
    let mut expected = Vec::new();
    for &i in held {
        let number = World::customer_number(i);
        let record = found
            .get(&MatchKey::CustomerNumber(number.clone()))
            .and_then(|v| v.iter().find(|r| r.number.as_ref() == Some(&number)))
            .unwrap_or_else(|| fail("a held customer is found by every key", &number));
        expected.push((id(me, &record.source.native_id), record.clone()));
    }
    let other = samlet_connector::ids::ConnectorName::new(format!("{me}-elsewhere"));
    let absent: Vec<MatchKey> = [
        "00000000-0000-0000-0000-000000000000",
        "003Sa9999999999AAA",
        "01HZZZZZZZZZZZZZZZZZZZZZZZ",
        "C9999999",
        "x' or '1' eq '1",
        "../../contacts",
        "",
    ]
    .iter()
    .map(|v| id(me, v))
    .chain(
        expected
            .iter()
            .map(|(_, r)| id(&other, &r.source.native_id)),
    )
    .collect();
    let keys: Vec<MatchKey> = expected
        .iter()
        .map(|(k, _)| k.clone())
        .chain(absent.iter().cloned())
        .collect();
    let got = src
        .customers(&cx(), &keys)
        .await
        .unwrap_or_else(|e| fail("customers by external id", e));
    for (key, want) in &expected {
        match got.get(key).map(Vec::as_slice) {
            Some([r]) if r == want => {}
            other => fail(
                "a customer is found by the native id the connector reported, as the same record",
                format!("{key:?}: got {other:?}, by number {want:?}"),
            ),
        }
    }
    for key in &absent {
        if let Some(v) = got.get(key) {
            fail(
                "an id nobody has, a malformed id, or another connector's id is absent",
                format!("{key:?}: {v:?}"),
            );
        }
    }
}

fn same_product(got: &Product, want: &Product) -> Result<(), String> {
    let mut diffs = Vec::new();
    if got.id != want.id {
        diffs.push("id");
    }
    if got.name != want.name {
        diffs.push("name (every locale)");
    }
    if got.description != want.description {
        diffs.push("description (every locale)");
    }
    if got.categories != want.categories {
        diffs.push("categories");
    }
    let attrs = |p: &Product| {
        let mut a: Vec<_> = p
            .attributes
            .iter()
            .map(|a| (a.code.clone(), a.value.clone()))
            .collect();
        a.sort_by(|x, y| x.0.cmp(&y.0));
        a
    };
    if attrs(got) != attrs(want) {
        diffs.push("attributes");
    }
    let skus = |p: &Product| {
        p.variants
            .iter()
            .map(|v| (v.sku.clone(), v.name.clone(), v.attributes.clone()))
            .collect::<Vec<_>>()
    };
    if skus(got) != skus(want) {
        diffs.push("variants (sku, name, axes, in order)");
    }
    if got.media.is_empty() || got.variants.iter().any(|v| v.media.is_empty()) {
        diffs.push("media");
    }
    if diffs.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{}: {} differ\n got: {got:?}\nwant: {want:?}",
            want.id,
            diffs.join(", ")
        ))
    }
}

async fn products(h: &Harness) {
    let w = &h.world;
    let src = h.connector.products.as_ref().expect("declared");
    let idx = sample(w.product_count(), 30);
    let mut ids: Vec<ProductId> = idx.iter().map(|&i| World::product_id(i)).collect();
    ids.push(ProductId::new("P999999"));
    let got = src
        .products(&cx(), &ids)
        .await
        .unwrap_or_else(|e| fail("products by id", e));
    for &i in &idx {
        let want = w.product(i, "");
        let p = got
            .get(&want.id)
            .unwrap_or_else(|| fail("every known product is found", &want.id));
        if let Err(d) = same_product(p, &want) {
            fail("products map to the world's truth", d);
        }
    }
    if got.contains_key(&ProductId::new("P999999")) {
        fail("an unknown product is absent", "P999999");
    }
    // By SKU: each SKU answers with the product that holds it.
    let mut skus: Vec<Sku> = idx
        .iter()
        .take(10)
        .map(|&i| w.skus(i).last().cloned().expect("a variant"))
        .collect();
    skus.push(Sku::new("P999999-OAK"));
    let by_sku = src
        .products_by_sku(&cx(), &skus)
        .await
        .unwrap_or_else(|e| fail("products by sku", e));
    for sku in &skus[..skus.len() - 1] {
        let p = by_sku
            .get(sku)
            .unwrap_or_else(|| fail("every known sku finds its product", sku));
        if p.variant(sku).is_none() {
            fail("products_by_sku returns the product holding the sku", sku);
        }
    }
    if by_sku.contains_key(&Sku::new("P999999-OAK")) {
        fail("an unknown sku is absent", "P999999-OAK");
    }
    // Paging: the whole catalogue, no gaps, no repeats; an over-large page size is capped.
    let mut seen = HashSet::new();
    let mut after = None;
    let mut pages = 0;
    loop {
        let page = src
            .list_products(
                &cx(),
                &PageRequest {
                    first: 1000,
                    after: after.clone(),
                },
            )
            .await
            .unwrap_or_else(|e| fail("listing pages", e));
        pages += 1;
        if page.items.is_empty() && page.next.is_some() {
            fail("an empty page is the last page", format!("page {pages}"));
        }
        for p in page.items {
            if !seen.insert(p.id.clone()) {
                fail("paging repeats no product", p.id);
            }
        }
        match page.next {
            Some(n) => after = Some(n),
            None => break,
        }
        if pages > 10_000 {
            fail("paging ends", "more than 10,000 pages");
        }
    }
    if seen.len() != w.product_count() as usize {
        fail(
            "paging reaches every product",
            format!("{} of {}", seen.len(), w.product_count()),
        );
    }
    let small = src
        .list_products(
            &cx(),
            &PageRequest {
                first: 3,
                after: None,
            },
        )
        .await
        .unwrap_or_else(|e| fail("a small page", e));
    if small.items.len() > 3 || small.items.is_empty() || small.next.is_none() {
        fail(
            "a page holds at most `first` items and links onward",
            format!("{} items, next {:?}", small.items.len(), small.next),
        );
    }
    products_in_category(h).await;
}

/// `products_in_category`: every page walked, the answer is exactly the world's products of
/// that category, each whole, none twice; an unknown category is empty.
async fn products_in_category(h: &Harness) {
    let w = &h.world;
    let src = h.connector.products.as_ref().expect("declared");
    let codes: Vec<&str> = World::category_codes().collect();
    // Three categories (first, middle, last) keep the check cheap for connectors that scan.
    for category in [codes[0], codes[codes.len() / 2], codes[codes.len() - 1]] {
        let want: Vec<u32> = (0..w.product_count())
            .filter(|&i| w.category_code(i) == category)
            .collect();
        let mut got: Vec<ProductId> = Vec::new();
        let mut after = None;
        for pages in 1.. {
            let page = src
                .products_in_category(&cx(), category, &PageRequest { first: 40, after })
                .await
                .unwrap_or_else(|e| fail("products in a category", e));
            if page.items.len() > 40 {
                fail(
                    "a category page holds at most `first` items",
                    format!("{category}: {} items", page.items.len()),
                );
            }
            if page.items.is_empty() && page.next.is_some() {
                fail("an empty category page is the last page", category);
            }
            for p in page.items {
                if let Some(i) = w.product_index(&p.id) {
                    if got.len() % 17 == 0 {
                        if let Err(d) = same_product(&p, &w.product(i, "")) {
                            fail("category products map to the world's truth", d);
                        }
                    }
                }
                got.push(p.id);
            }
            match page.next {
                Some(n) => after = Some(n),
                None => break,
            }
            if pages > 1_000 {
                fail("category paging ends", category);
            }
        }
        let distinct: HashSet<&ProductId> = got.iter().collect();
        if distinct.len() != got.len() {
            fail("category paging repeats no product", category);
        }
        let want_ids: HashSet<ProductId> = want.iter().map(|&i| World::product_id(i)).collect();
        let got_ids: HashSet<ProductId> = got.iter().cloned().collect();
        if got_ids != want_ids {
            fail(
                "a category holds exactly the world's products of that category",
                format!(
                    "{category}: {} found, {} expected; missing {:?}, extra {:?}",
                    got_ids.len(),
                    want_ids.len(),
                    want_ids.difference(&got_ids).take(3).collect::<Vec<_>>(),
                    got_ids.difference(&want_ids).take(3).collect::<Vec<_>>()
                ),
            );
        }
    }
    let none = src
        .products_in_category(
            &cx(),
            "no-such-category",
            &PageRequest {
                first: 10,
                after: None,
            },
        )
        .await
        .unwrap_or_else(|e| fail("products in an unknown category", e));
    if !none.items.is_empty() || none.next.is_some() {
        fail(
            "an unknown category is empty",
            format!("{} items, next {:?}", none.items.len(), none.next),
        );
    }
}

fn contexts() -> Vec<RequestContext> {
    let mut out = Vec::new();
    for (channel, currency, group) in [
        (Channel::Web, Currency::DKK, None),
        (Channel::Store, Currency::SEK, None),
        (Channel::App, Currency::NOK, None),
        (Channel::Pos, Currency::EUR, None),
        (
            Channel::Web,
            Currency::DKK,
            Some(CustomerGroup::new(B2B_GROUP)),
        ),
    ] {
        out.push(RequestContext {
            channel,
            currency,
            customer_group: group,
            locale: Locale::en_gb(),
            ..RequestContext::default()
        });
    }
    out
}

async fn prices(h: &Harness) {
    let w = &h.world;
    let src = h.connector.prices.as_ref().expect("declared");
    let mut skus: Vec<Sku> = sample(w.product_count(), 48)
        .into_iter()
        .flat_map(|i| w.skus(i))
        .collect();
    skus.push(Sku::new("P999999-OAK"));
    for cx in contexts() {
        let got = src
            .prices(&cx, &skus)
            .await
            .unwrap_or_else(|e| fail("prices for a batch", e));
        for sku in &skus {
            let want = w.price(
                sku,
                cx.channel.price_channel(),
                cx.currency,
                cx.customer_group.as_ref(),
            );
            if got.get(sku) != want.as_ref() {
                fail(
                    "prices equal the world's for the channel, currency and customer group",
                    format!(
                        "{sku} in {:?}/{}/{:?}: got {:?}, want {want:?}",
                        cx.channel,
                        cx.currency,
                        cx.customer_group,
                        got.get(sku)
                    ),
                );
            }
        }
    }
}

async fn inventory(h: &Harness) {
    let w = &h.world;
    let src = h.connector.inventory.as_ref().expect("declared");
    let mut skus: Vec<Sku> = sample(w.product_count(), 48)
        .into_iter()
        .flat_map(|i| w.skus(i))
        .collect();
    skus.push(Sku::new("P999999-OAK"));
    let got = src
        .stock(&cx(), &skus)
        .await
        .unwrap_or_else(|e| fail("stock for a batch", e));
    for sku in &skus {
        let want = w.stock(sku).map(|mut v| {
            v.sort_by(|a, b| a.location.cmp(&b.location));
            v
        });
        let have = got.get(sku).cloned().map(|mut v| {
            v.sort_by(|a, b| a.location.cmp(&b.location));
            v
        });
        if have != want {
            fail(
                "stock per location equals the world's",
                format!("{sku}: got {have:?}, want {want:?}"),
            );
        }
    }
}

async fn locations(h: &Harness) {
    let w = &h.world;
    let src = h.connector.locations.as_ref().expect("declared");
    let mut got = src
        .locations(&cx())
        .await
        .unwrap_or_else(|e| fail("locations", e));
    got.sort_by(|a, b| a.id.cmp(&b.id));
    let mut want = w.locations().to_vec();
    want.sort_by(|a, b| a.id.cmp(&b.id));
    if got != want {
        fail(
            "locations equal the world's",
            format!("got {got:?}\nwant {want:?}"),
        );
    }
}

async fn orders(h: &Harness) {
    let w = &h.world;
    let src = h.connector.orders.as_ref().expect("declared");
    let idx = sample(w.order_count(), 20);
    let mut numbers: Vec<OrderNumber> = idx.iter().map(|&j| World::order_number(j)).collect();
    numbers.push(OrderNumber::new("SO9999999"));
    let got = src
        .orders(&cx(), &numbers)
        .await
        .unwrap_or_else(|e| fail("orders by number", e));
    for &j in &idx {
        let want = w.order(j);
        let o = got
            .get(&want.number)
            .unwrap_or_else(|| fail("every known order is found", &want.number));
        if o != &want {
            fail(
                "orders equal the world's (lines, totals, status, shipments)",
                format!("got {o:?}\nwant {want:?}"),
            );
        }
    }
    if got.contains_key(&OrderNumber::new("SO9999999")) {
        fail("an unknown order is absent", "SO9999999");
    }
    let customers: Vec<u32> = sample(w.customer_count(), 200)
        .into_iter()
        .filter(|&i| w.orders_of(i).len() >= 2)
        .take(8)
        .collect();
    let numbers: Vec<CustomerNumber> = customers
        .iter()
        .map(|&i| World::customer_number(i))
        .collect();
    let got = src
        .orders_for_customers(&cx(), &numbers, 3)
        .await
        .unwrap_or_else(|e| fail("orders for customers", e));
    for &i in &customers {
        let want: Vec<OrderNumber> = w
            .orders_of(i)
            .iter()
            .rev()
            .take(3)
            .map(|&j| World::order_number(j))
            .collect();
        let have: Vec<OrderNumber> = got
            .get(&World::customer_number(i))
            .map(|v| v.iter().map(|o| o.number.clone()).collect())
            .unwrap_or_default();
        if have != want {
            fail(
                "a customer's latest orders, newest first, at most `limit`",
                format!("C{i}: got {have:?}, want {want:?}"),
            );
        }
    }
}

/// A person the harness's system holds (any customer if it names no slice).
fn held_person(h: &Harness, skip: usize) -> u32 {
    let w = &h.world;
    (0..w.customer_count())
        .filter(|&i| h.customer_slice.is_none_or(|s| w.in_slice(s, i)))
        .filter(|&i| w.customer(i).kind == samlet_connector::model::CustomerKind::Person)
        .nth(skip)
        .unwrap_or_else(|| fail("a held person", "none in the system's slice"))
}

async fn wishlists(h: &Harness) {
    let w = &h.world;
    let src = h.connector.wishlists.as_ref().expect("declared");
    let customer = World::customer_number(held_person(h, 3));
    let (a, b) = (w.skus(5)[0].clone(), w.skus(6)[0].clone());
    let before = src
        .wishlist(&cx(), &customer)
        .await
        .unwrap_or_else(|e| fail("read a wishlist", e));
    if before.items.iter().any(|i| i.sku == a || i.sku == b) {
        fail("a fresh wishlist", format!("{before:?}"));
    }
    src.add_to_wishlist(&cx(), &customer, &a, "conformance-wish-a")
        .await
        .unwrap_or_else(|e| fail("add to a wishlist", e));
    src.add_to_wishlist(&cx(), &customer, &b, "conformance-wish-b")
        .await
        .unwrap_or_else(|e| fail("add to a wishlist", e));
    // A retried add (same key) and a repeated add (new key) change nothing.
    src.add_to_wishlist(&cx(), &customer, &a, "conformance-wish-a")
        .await
        .unwrap_or_else(|e| fail("retry an add", e));
    let list = src
        .add_to_wishlist(&cx(), &customer, &a, "conformance-wish-a2")
        .await
        .unwrap_or_else(|e| fail("repeat an add", e));
    let skus: Vec<&Sku> = list
        .items
        .iter()
        .map(|i| &i.sku)
        .filter(|s| **s == a || **s == b)
        .collect();
    if skus != [&a, &b] {
        fail(
            "a wishlist holds each product once, in the order added",
            format!("{list:?}"),
        );
    }
    let other_channel = RequestContext {
        channel: Channel::Kiosk,
        ..cx()
    };
    let seen = src
        .wishlist(&other_channel, &customer)
        .await
        .unwrap_or_else(|e| fail("read a wishlist", e));
    if seen.items != list.items {
        fail(
            "the same wishlist on every device",
            format!("{seen:?} vs {list:?}"),
        );
    }
    let after = src
        .remove_from_wishlist(&cx(), &customer, &a)
        .await
        .unwrap_or_else(|e| fail("remove from a wishlist", e));
    if after.items.iter().any(|i| i.sku == a) || !after.items.iter().any(|i| i.sku == b) {
        fail(
            "remove takes out exactly that product",
            format!("{after:?}"),
        );
    }
    src.remove_from_wishlist(&cx(), &customer, &a)
        .await
        .unwrap_or_else(|e| fail("removing what is not there changes nothing", e));
}

fn store_cx() -> RequestContext {
    RequestContext {
        channel: Channel::Store,
        currency: Currency::DKK,
        ..cx()
    }
}

async fn offers(h: &Harness) {
    use samlet_connector::model::{LineRequest, OfferDraft, OfferStatus};
    let w = &h.world;
    let src = h.connector.offers.as_ref().expect("declared");
    let customer = World::customer_number(held_person(h, 7));
    let lines = vec![
        LineRequest {
            sku: w.skus(11)[0].clone(),
            quantity: 2.into(),
        },
        LineRequest {
            sku: w.skus(12)[0].clone(),
            quantity: 1.into(),
        },
    ];
    let draft = OfferDraft {
        customer: customer.clone(),
        lines: lines.clone(),
        store: Some(samlet_connector::ids::LocationId::new("DK-CPH")),
        created_by: Some("associate-17".into()),
        valid_until: w.now() + chrono::Duration::days(7),
    };
    let offer = src
        .create_offer(&store_cx(), &draft, "conformance-offer-1")
        .await
        .unwrap_or_else(|e| fail("create an offer", e));
    for (line, want) in offer.lines.iter().zip(&lines) {
        let price = w
            .price(
                &want.sku,
                store_cx().channel.price_channel(),
                store_cx().currency,
                None,
            )
            .expect("priced");
        if line.sku != want.sku
            || line.quantity != want.quantity
            || line.unit_price.amount != price.amount.amount
        {
            fail(
                "an offer carries the customer's prices",
                format!("{line:?} vs {want:?} at {price:?}"),
            );
        }
    }
    if offer.lines.len() != lines.len()
        || offer.status != OfferStatus::Open
        || offer.customer != customer
    {
        fail(
            "an offer has the lines asked for and is open",
            format!("{offer:?}"),
        );
    }
    let again = src
        .create_offer(&store_cx(), &draft, "conformance-offer-1")
        .await
        .unwrap_or_else(|e| fail("retry an offer", e));
    if again.number != offer.number {
        fail(
            "a retried create (same key) makes no second offer",
            format!("{} vs {}", again.number, offer.number),
        );
    }
    let read = src
        .offers(&cx(), std::slice::from_ref(&offer.number))
        .await
        .unwrap_or_else(|e| fail("read offers", e));
    if read.get(&offer.number).map(|o| &o.lines) != Some(&offer.lines) {
        fail("an offer reads back as created", format!("{read:?}"));
    }
    let order = src
        .convert_offer(&cx(), &offer.number, "conformance-convert-1")
        .await
        .unwrap_or_else(|e| fail("convert an offer", e));
    let ordered: Vec<(Sku, rust_decimal::Decimal)> = order
        .lines
        .iter()
        .map(|l| (l.sku.clone(), l.quantity))
        .collect();
    let offered: Vec<(Sku, rust_decimal::Decimal)> = offer
        .lines
        .iter()
        .map(|l| (l.sku.clone(), l.quantity))
        .collect();
    if order.customer != customer || ordered != offered || order.total.amount != offer.total.amount
    {
        fail(
            "a converted offer becomes an order with its lines and total",
            format!("{order:?} from {offer:?}"),
        );
    }
    let retried = src
        .convert_offer(&cx(), &offer.number, "conformance-convert-1")
        .await;
    if retried.as_ref().ok().map(|o| &o.number) != Some(&order.number) {
        fail(
            "a retried convert (same key) answers the same order",
            format!("{:?}", retried.map(|o| o.number)),
        );
    }
    match src
        .convert_offer(&cx(), &offer.number, "conformance-convert-2")
        .await
    {
        Err(e) if e.kind == ErrorKind::Conflict => {}
        other => fail(
            "converting twice is a conflict, never a second order",
            format!("{:?}", other.map(|o| o.number)),
        ),
    }
    let read = src
        .offers(&cx(), std::slice::from_ref(&offer.number))
        .await
        .unwrap_or_else(|e| fail("read offers", e));
    if read.get(&offer.number).map(|o| &o.status)
        != Some(&OfferStatus::Converted(order.number.clone()))
    {
        fail("a converted offer names its order", format!("{read:?}"));
    }
    if let Some(orders) = &h.connector.orders {
        let got = orders
            .orders(&cx(), std::slice::from_ref(&order.number))
            .await
            .unwrap_or_else(|e| fail("read orders", e));
        if !got.contains_key(&order.number) {
            fail(
                "the converted order is in the system of record",
                &order.number,
            );
        }
    }
    let expired = OfferDraft {
        valid_until: w.now() - chrono::Duration::days(1),
        ..draft
    };
    let old = src
        .create_offer(&store_cx(), &expired, "conformance-offer-expired")
        .await
        .unwrap_or_else(|e| fail("create an offer", e));
    match src
        .convert_offer(&cx(), &old.number, "conformance-convert-3")
        .await
    {
        Err(e) if e.kind == ErrorKind::Conflict => {}
        other => fail(
            "an expired offer cannot be converted",
            format!("{:?}", other.map(|o| o.number)),
        ),
    }
}

async fn order_placement(h: &Harness) {
    use samlet_connector::model::{Fulfilment, LineRequest, OrderDraft};
    let w = &h.world;
    let src = h.connector.order_placement.as_ref().expect("declared");
    let store = samlet_connector::ids::LocationId::new("DK-CPH");
    let sku = (100..w.product_count())
        .flat_map(|i| w.skus(i))
        .find(|s| {
            w.stock(s).is_some_and(|levels| {
                levels
                    .iter()
                    .any(|l| l.location == store && l.available() >= 3)
            })
        })
        .unwrap_or_else(|| fail("a SKU in stock", "none at DK-CPH"));
    let customer = World::customer_number(held_person(h, 9));
    let draft = OrderDraft {
        customer: customer.clone(),
        lines: vec![LineRequest {
            sku: sku.clone(),
            quantity: 2.into(),
        }],
        fulfilment: Fulfilment::ClickAndCollect(store.clone()),
    };
    let reserved_before = match &h.connector.inventory {
        Some(inv) => inv
            .stock(&cx(), std::slice::from_ref(&sku))
            .await
            .ok()
            .and_then(|m| {
                m.get(&sku)
                    .and_then(|v| v.iter().find(|l| l.location == store).map(|l| l.reserved))
            }),
        None => None,
    };
    let order = src
        .place_order(&cx(), &draft, "conformance-place-1")
        .await
        .unwrap_or_else(|e| fail("place an order", e));
    if order.customer != customer
        || order.store.as_ref() != Some(&store)
        || order.lines.len() != 1
        || order.lines[0].sku != sku
    {
        fail(
            "a click-and-collect order is placed for the store",
            format!("{order:?}"),
        );
    }
    let again = src
        .place_order(&cx(), &draft, "conformance-place-1")
        .await
        .unwrap_or_else(|e| fail("retry an order", e));
    if again.number != order.number {
        fail(
            "a retried placement (same key) places no second order",
            format!("{} vs {}", again.number, order.number),
        );
    }
    if let (Some(inv), Some(before)) = (&h.connector.inventory, reserved_before) {
        let after = inv
            .stock(&cx(), std::slice::from_ref(&sku))
            .await
            .unwrap_or_else(|e| fail("read stock", e));
        let now = after
            .get(&sku)
            .and_then(|v| v.iter().find(|l| l.location == store).map(|l| l.reserved));
        if now != Some(before + 2) {
            fail(
                "click and collect reserves the stock at the store",
                format!("reserved {before} then {now:?}"),
            );
        }
    }
}

async fn marketing_events(h: &Harness) {
    use samlet_connector::model::{CustomerEvent, EventKind};
    let w = &h.world;
    let src = h.connector.marketing_events.as_ref().expect("declared");
    let i = held_person(h, 2);
    let c = w.customer(i);
    let event = CustomerEvent {
        id: format!("conformance-event-{i}"),
        customer: c.number.clone(),
        email: Some(c.email.clone()),
        kind: EventKind::ProductViewed,
        occurred_at: w.now(),
        channel: Channel::App,
        store: None,
        sku: Some(w.skus(3)[0].clone()),
        value: None,
        properties: serde_json::json!({ "source": "conformance" }),
    };
    src.track(&cx(), std::slice::from_ref(&event))
        .await
        .unwrap_or_else(|e| fail("send an event", e));
    src.track(&cx(), std::slice::from_ref(&event))
        .await
        .unwrap_or_else(|e| fail("a repeated event is accepted (and deduplicated)", e));
}

async fn vouchers(h: &Harness) {
    use samlet_connector::model::VoucherStatus;
    let w = &h.world;
    let src = h.connector.vouchers.as_ref().expect("declared");
    let mut found = None;
    for i in sample(w.customer_count(), 400) {
        if h.customer_slice.is_some_and(|s| !w.in_slice(s, i)) {
            continue;
        }
        let list = src
            .vouchers(&cx(), &World::customer_number(i))
            .await
            .unwrap_or_else(|e| fail("list vouchers", e));
        if let Some(v) = list
            .into_iter()
            .find(|v| v.status == VoucherStatus::Available)
        {
            found = Some(v);
            break;
        }
    }
    let v = found.unwrap_or_else(|| {
        fail(
            "members have available vouchers",
            "none in a sample of 400 customers",
        )
    });
    let read = src
        .voucher(&cx(), &v.code)
        .await
        .unwrap_or_else(|e| fail("read a voucher", e));
    if read.as_ref() != Some(&v) {
        fail("a voucher reads back by code", format!("{read:?} vs {v:?}"));
    }
    if src
        .voucher(&cx(), "NO-SUCH-VOUCHER")
        .await
        .unwrap_or_else(|e| fail("read an unknown voucher", e))
        .is_some()
    {
        fail("an unknown voucher is absent", "NO-SUCH-VOUCHER");
    }
    let pos = RequestContext {
        channel: Channel::Pos,
        ..cx()
    };
    let redeemed = src
        .redeem_voucher(&pos, &v.code, "conformance-redeem-1")
        .await
        .unwrap_or_else(|e| fail("redeem a voucher", e));
    if !matches!(redeemed.status, VoucherStatus::Redeemed { .. }) {
        fail("a redeemed voucher says so", format!("{redeemed:?}"));
    }
    let retried = src
        .redeem_voucher(&pos, &v.code, "conformance-redeem-1")
        .await;
    if retried.is_err() {
        fail(
            "a retried redemption (same key) answers the redemption",
            format!("{retried:?}"),
        );
    }
    match src
        .redeem_voucher(&pos, &v.code, "conformance-redeem-2")
        .await
    {
        Err(e) if e.kind == ErrorKind::Conflict => {}
        other => fail("a voucher is redeemed exactly once", format!("{other:?}")),
    }
}
