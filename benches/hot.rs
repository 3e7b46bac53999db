//! Criterion benches for the gateway's hot functions: mapping a vendor page into the model,
//! recognising customers (key normalisation and record matching), building cache keys, and
//! serialising a listing answer. Run with `cargo bench --bench hot`.

#![allow(missing_docs)] // criterion's macros generate undocumented functions

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use samlet_connector::context::{Caller, Channel, Currency, Locale, RequestContext};
use samlet_connector::model::{normalize_email, normalize_phone, MatchKey};
use samlet_testkit::{World, WorldConfig};

/// The body of an axum response, synchronously.
fn body(r: axum::response::Response) -> Vec<u8> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(axum::body::to_bytes(r.into_body(), usize::MAX))
        .unwrap()
        .to_vec()
}

fn map_vendor_page(c: &mut Criterion) {
    use samlet_optimizely::client::WireEntry;
    use samlet_optimizely::mapping;
    let world = World::new(WorldConfig::default());
    let index = samlet_optimizely::simulator::catalog::CatalogIndex::new(&world);
    // One Service API page of catalogue entries (products and their variations).
    let page = body(samlet_optimizely::simulator::catalog::entries_page(
        &world, &index, 0, 150,
    ));
    let config = samlet_optimizely::simulator::demo_config("http://127.0.0.1:1");
    let mut g = c.benchmark_group("map_vendor_page");
    g.throughput(Throughput::Bytes(page.len() as u64));
    g.bench_function("optimizely_entries_150", |b| {
        b.iter(|| {
            let entries: Vec<WireEntry> = serde_json::from_slice(black_box(&page)).unwrap();
            let by_code: std::collections::HashMap<&str, &WireEntry> =
                entries.iter().map(|e| (e.code.as_str(), e)).collect();
            let products: Vec<_> = entries
                .iter()
                .filter(|e| mapping::is_product(e))
                .map(|p| {
                    let children = mapping::child_codes(p);
                    let variants: Vec<&WireEntry> = children
                        .iter()
                        .filter_map(|c| by_code.get(c.as_str()).copied())
                        .collect();
                    mapping::product(&config, p, &variants, &|path| path.to_owned())
                })
                .collect();
            black_box(products)
        })
    });
    g.finish();
}

fn recognise(c: &mut Criterion) {
    let world = World::new(WorldConfig::default());
    let people: Vec<_> = (0..1000).map(|i| world.customer(i)).collect();
    let emails: Vec<String> = people.iter().map(|p| p.email.to_uppercase()).collect();
    let phones: Vec<String> = people
        .iter()
        .filter_map(|p| p.phone.clone())
        .map(|p| p.replace("+45", "0045 ").replace("+46", "+46 (0)"))
        .collect();
    let mut g = c.benchmark_group("recognise");
    g.throughput(Throughput::Elements(emails.len() as u64));
    g.bench_function("normalise_1000_emails", |b| {
        b.iter(|| {
            for e in &emails {
                black_box(normalize_email(black_box(e)));
            }
        })
    });
    g.throughput(Throughput::Elements(phones.len() as u64));
    g.bench_function("normalise_phones", |b| {
        b.iter(|| {
            for p in &phones {
                black_box(normalize_phone(black_box(p), "DK"));
            }
        })
    });
    g.finish();
    let _ = MatchKey::email("x@y.z");
}

fn cache_keys(c: &mut Criterion) {
    let cx = RequestContext {
        channel: Channel::Web,
        store: None,
        locale: Locale::da_dk(),
        currency: Currency::DKK,
        customer_group: None,
        caller: Caller::Anonymous,
    };
    let mut req = async_graphql::Request::new(
        "query($s: String!) { product(sku: $s) { name price { amount { amount currencyCode } } stock { locationCode available } } }",
    );
    req.variables =
        async_graphql::Variables::from_json(serde_json::json!({ "s": "P000042-GREEN" }));
    let headers = axum::http::HeaderMap::new();
    c.bench_function("response_cache_key", |b| {
        b.iter(|| {
            black_box(samlet::response_cache::ResponseCache::key(
                &headers, &req, &cx,
            ))
        })
    });
    let keys: Vec<samlet::gateway::PriceCacheKey> = World::new(WorldConfig::default())
        .skus(42)
        .into_iter()
        .map(|sku| samlet::gateway::PriceCacheKey {
            channel: cx.channel,
            currency: cx.currency,
            group: cx.customer_group.clone(),
            sku,
        })
        .collect();
    c.bench_function("price_cache_key_hash", |b| {
        use std::hash::BuildHasher;
        let state = std::collections::hash_map::RandomState::new();
        b.iter(|| {
            for k in &keys {
                black_box(state.hash_one(k));
            }
        })
    });
}

fn serialise(c: &mut Criterion) {
    // A listing answer of 48 products with price and stock per store, as the graph gives it.
    let world = World::new(WorldConfig::default());
    let nodes: Vec<serde_json::Value> = (0..48)
        .map(|i| {
            let p = world.product(i, "");
            let sku = p.variants[0].sku.clone();
            let price = world
                .price(&sku, samlet_connector::context::PriceChannel::Online, Currency::DKK, None)
                .map(|p| p.amount.amount.to_string());
            let stock: Vec<serde_json::Value> = world
                .stock(&sku)
                .unwrap_or_default()
                .iter()
                .map(|s| serde_json::json!({ "locationCode": s.location.as_str(), "available": s.available() }))
                .collect();
            serde_json::json!({
                "code": p.id.as_str(),
                "name": p.name.0.values().next(),
                "price": { "amount": { "amount": price, "currencyCode": "DKK" } },
                "stock": stock,
            })
        })
        .collect();
    let data =
        async_graphql::Value::from_json(serde_json::json!({ "products": { "nodes": nodes } }))
            .unwrap();
    let resp = async_graphql::Response::new(data);
    let size = serde_json::to_vec(&resp).unwrap().len();
    let mut g = c.benchmark_group("serialise");
    g.throughput(Throughput::Bytes(size as u64));
    g.bench_function("listing_48_products", |b| {
        b.iter(|| black_box(serde_json::to_vec(black_box(&resp)).unwrap()))
    });
    g.finish();
}

criterion_group!(benches, map_vendor_page, recognise, cache_keys, serialise);
criterion_main!(benches);
