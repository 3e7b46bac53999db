//! The write side's dialect against the simulator: wishlist carts (`GET`/`PUT` of the named cart
//! `Wishlist`), purchase orders (`POST /orders` with the idempotency key as a meta field, looked
//! up before creating and after a lost answer, stock reserved in the shipment's warehouse) and
//! offers as named carts converted exactly once.

use rust_decimal::Decimal;
use samlet_connector::model::{
    Address, CustomerKind, Fulfilment, LineRequest, OfferDraft, OfferStatus, OrderDraft,
    OrderStatus,
};
use samlet_connector::prelude::*;
use samlet_optimizely::connect;
use samlet_optimizely::simulator::{self, writes::Writes};
use samlet_testkit::sim::{FaultPlan, SimServer};
use samlet_testkit::world::{CustomerSlice, B2B_GROUP};
use samlet_testkit::{World, WorldConfig};
use std::sync::Arc;

const CARTS: &str = "/episerverapi/commerce/carts";
const ORDERS: &str = "/episerverapi/commerce/orders";

async fn setup() -> (Arc<World>, SimServer, Arc<Writes>, Connector) {
    let w = Arc::new(World::new(WorldConfig::default()));
    let (sim, _, writes) = simulator::start_with_state(w.clone(), 0)
        .await
        .expect("starts");
    let c = connect(
        ConnectorName::new("commerce"),
        &simulator::demo_config(&sim.base_url()),
        UpstreamPolicy::default(),
    )
    .expect("connects");
    (w, sim, writes, c)
}

/// The `skip`-th customer of the commerce slice of `kind`.
fn held(w: &World, kind: CustomerKind, skip: usize) -> u32 {
    (0..w.customer_count())
        .filter(|&i| w.in_slice(CustomerSlice::Erp, i) && w.customer(i).kind == kind)
        .nth(skip)
        .expect("a held customer")
}

fn count(sim: &SimServer, prefix: &str) -> u64 {
    sim.control.stats.count(prefix)
}

fn cx() -> RequestContext {
    RequestContext::default()
}

fn store_cx() -> RequestContext {
    RequestContext {
        channel: Channel::Store,
        ..cx()
    }
}

/// A SKU with at least `n` available at `location`.
fn in_stock(w: &World, location: &str, n: i64) -> Sku {
    (50..w.product_count())
        .flat_map(|i| w.skus(i))
        .find(|s| {
            w.stock(s).is_some_and(|levels| {
                levels
                    .iter()
                    .any(|l| l.location.as_str() == location && l.available() >= n)
            })
        })
        .expect("a SKU in stock")
}

async fn reserved(c: &Connector, sku: &Sku, location: &str) -> i64 {
    let stock = c
        .inventory
        .as_ref()
        .unwrap()
        .stock(&cx(), std::slice::from_ref(sku))
        .await
        .unwrap();
    stock[sku]
        .iter()
        .find(|l| l.location.as_str() == location)
        .map(|l| l.reserved)
        .expect("stocked there")
}

#[tokio::test]
async fn a_wishlist_is_the_named_cart_wishlist_written_with_one_put_per_change() {
    let (w, sim, _, c) = setup().await;
    let store = c.wishlists.as_ref().unwrap();
    let customer = World::customer_number(held(&w, CustomerKind::Person, 1));
    let (a, b) = (w.skus(20)[0].clone(), w.skus(21)[0].clone());
    let empty = store.wishlist(&cx(), &customer).await.unwrap();
    assert!(empty.items.is_empty());
    sim.control.stats.reset();
    let app = RequestContext {
        channel: Channel::App,
        ..cx()
    };
    let list = store
        .add_to_wishlist(&app, &customer, &a, "k1")
        .await
        .unwrap();
    // Lookup, cart GET, cart PUT.
    assert_eq!(count(&sim, &format!("GET {CARTS}/")), 1);
    assert_eq!(count(&sim, &format!("PUT {CARTS}/")), 1);
    let routes = sim.control.stats.routes();
    assert!(
        routes
            .keys()
            .any(|k| k.starts_with(&format!("PUT {CARTS}/")) && k.ends_with("/Wishlist/DEFAULT")),
        "{routes:?}"
    );
    assert_eq!(list.items.len(), 1);
    assert_eq!(list.items[0].channel, Some(Channel::App));
    // The site's clock: the world's "now" plus a second per write.
    assert!(list.items[0].added_at >= w.now());
    store
        .add_to_wishlist(&cx(), &customer, &b, "k2")
        .await
        .unwrap();
    sim.control.stats.reset();
    let again = store
        .add_to_wishlist(&cx(), &customer, &a, "k3")
        .await
        .unwrap();
    assert_eq!(
        count(&sim, &format!("PUT {CARTS}/")),
        0,
        "re-adding writes nothing"
    );
    let skus: Vec<&Sku> = again.items.iter().map(|i| &i.sku).collect();
    assert_eq!(skus, [&a, &b]);
    let after = store
        .remove_from_wishlist(&cx(), &customer, &a)
        .await
        .unwrap();
    assert_eq!(after.items.len(), 1);
    assert_eq!(after.items[0], again.items[1]);
    sim.control.stats.reset();
    store
        .remove_from_wishlist(&cx(), &customer, &a)
        .await
        .unwrap();
    assert_eq!(
        count(&sim, &format!("PUT {CARTS}/")),
        0,
        "removing nothing writes nothing"
    );
    let unknown = store
        .wishlist(&cx(), &CustomerNumber::new("C9999999"))
        .await
        .unwrap_err();
    assert_eq!(unknown.kind, ErrorKind::NotFound);
}

#[tokio::test]
async fn a_lost_order_answer_is_recovered_by_looking_the_key_up_never_by_a_second_post() {
    let (w, sim, writes, c) = setup().await;
    let sink = c.order_placement.as_ref().unwrap();
    let i = held(&w, CustomerKind::Person, 4);
    let customer = World::customer_number(i);
    let sku = in_stock(&w, "DK-AAR", 3);
    let before = reserved(&c, &sku, "DK-AAR").await;
    let draft = OrderDraft {
        customer: customer.clone(),
        lines: vec![LineRequest {
            sku: sku.clone(),
            quantity: 3.into(),
        }],
        fulfilment: Fulfilment::ClickAndCollect(LocationId::new("DK-AAR")),
    };
    sim.control.stats.reset();
    writes.lose_next_answers(1);
    let order = sink
        .place_order(&store_cx(), &draft, "lost-1")
        .await
        .unwrap();
    assert_eq!(
        count(&sim, &format!("POST {ORDERS}")),
        1,
        "never posted twice"
    );
    assert_eq!(writes.orders_created(), 1);
    let again = sink
        .place_order(&store_cx(), &draft, "lost-1")
        .await
        .unwrap();
    assert_eq!(again, order);
    assert_eq!(count(&sim, &format!("POST {ORDERS}")), 1);
    assert_eq!(writes.orders_created(), 1);
    assert_eq!(reserved(&c, &sku, "DK-AAR").await, before + 3);
    // Priced as the customer pays in store.
    let price = w
        .price(&sku, PriceChannel::Store, Currency::DKK, None)
        .unwrap();
    assert_eq!(order.lines[0].unit_price, price.amount);
    assert_eq!(order.total.amount, price.amount.amount * Decimal::from(3));
    assert_eq!(order.status, OrderStatus::Open);
    assert!(order.shipments.is_empty());
    assert_eq!(order.store, Some(LocationId::new("DK-AAR")));
    assert_eq!(order.channel, Some(Channel::Store));
    assert_eq!(order.lines[0].location, Some(LocationId::new("DK-AAR")));
    assert!(order.placed_at > w.now());
    assert!(!order.lines[0].description.is_empty());
    // Readable as orders are: by number, and first among the customer's orders.
    let orders = c.orders.as_ref().unwrap();
    let read = orders
        .orders(&cx(), std::slice::from_ref(&order.number))
        .await
        .unwrap();
    assert_eq!(read.get(&order.number), Some(&order));
    let latest = orders
        .orders_for_customers(&cx(), std::slice::from_ref(&customer), 2)
        .await
        .unwrap();
    assert_eq!(latest[&customer][0].number, order.number);
}

#[tokio::test]
async fn home_delivery_reserves_the_online_warehouse_at_the_customers_own_prices() {
    let (w, sim, writes, c) = setup().await;
    let sink = c.order_placement.as_ref().unwrap();
    let i = held(&w, CustomerKind::Company, 0);
    assert_eq!(
        w.customer(i).customer_group.as_ref().map(|g| g.as_str()),
        Some(B2B_GROUP)
    );
    let sku = in_stock(&w, "WH-ONLINE", 1);
    let before = reserved(&c, &sku, "WH-ONLINE").await;
    let draft = OrderDraft {
        customer: World::customer_number(i),
        lines: vec![LineRequest {
            sku: sku.clone(),
            quantity: 1.into(),
        }],
        fulfilment: Fulfilment::HomeDelivery(Address {
            street: "Vestergade 1".into(),
            postal_code: "8000".into(),
            city: "Aarhus".into(),
            country: "DK".into(),
        }),
    };
    sim.control.stats.reset();
    let order = sink.place_order(&cx(), &draft, "home-1").await.unwrap();
    // Lookup, the customer's orders, one price read, one POST.
    assert_eq!(count(&sim, &format!("POST {ORDERS}")), 1);
    assert_eq!(count(&sim, &format!("GET {ORDERS}/")), 1);
    let want = w
        .price(
            &sku,
            PriceChannel::Online,
            Currency::DKK,
            Some(&CustomerGroup::new(B2B_GROUP)),
        )
        .unwrap();
    assert_eq!(order.lines[0].unit_price, want.amount);
    assert_eq!(order.store, None);
    assert_eq!(order.lines[0].location, Some(LocationId::new("WH-ONLINE")));
    assert_eq!(reserved(&c, &sku, "WH-ONLINE").await, before + 1);
    assert_eq!(writes.orders_created(), 1);
    // A SKU the site does not sell is refused, and nothing is created.
    let bad = OrderDraft {
        lines: vec![LineRequest {
            sku: Sku::new("NO-SUCH-SKU"),
            quantity: 1.into(),
        }],
        ..draft
    };
    let e = sink.place_order(&cx(), &bad, "home-2").await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::BadRequest);
    assert_eq!(writes.orders_created(), 1);
}

fn offer_draft(w: &World, customer: CustomerNumber, days: i64) -> OfferDraft {
    OfferDraft {
        customer,
        lines: vec![
            LineRequest {
                sku: w.skus(30)[0].clone(),
                quantity: 2.into(),
            },
            LineRequest {
                sku: w.skus(31)[0].clone(),
                quantity: 1.into(),
            },
        ],
        store: Some(LocationId::new("DK-CPH")),
        created_by: Some("associate-3".into()),
        valid_until: w.now() + chrono::Duration::days(days),
    }
}

#[tokio::test]
async fn an_offer_is_a_named_cart_converted_exactly_once_even_after_a_lost_answer() {
    let (w, sim, writes, c) = setup().await;
    let offers = c.offers.as_ref().unwrap();
    let customer = World::customer_number(held(&w, CustomerKind::Person, 5));
    let draft = offer_draft(&w, customer.clone(), 3);
    sim.control.stats.reset();
    let offer = offers
        .create_offer(&store_cx(), &draft, "offer-a")
        .await
        .unwrap();
    assert_eq!(count(&sim, &format!("PUT {CARTS}/")), 1);
    let routes = sim.control.stats.routes();
    let cart = format!("/Offer-{}/DK-STORE", &offer.number[..12]);
    assert!(
        routes
            .keys()
            .any(|k| k.starts_with("PUT") && k.ends_with(&cart)),
        "{routes:?}"
    );
    assert!(offer.number.ends_with(&format!("-DKK-{customer}")));
    assert_eq!(offer.status, OfferStatus::Open);
    assert_eq!(offer.created_by.as_deref(), Some("associate-3"));
    assert_eq!(offer.store, Some(LocationId::new("DK-CPH")));
    // The same key: the same offer, no second write.
    let again = offers
        .create_offer(&store_cx(), &draft, "offer-a")
        .await
        .unwrap();
    assert_eq!(again, offer);
    assert_eq!(count(&sim, &format!("PUT {CARTS}/")), 1);
    // Another key: another offer.
    let other = offers
        .create_offer(&store_cx(), &draft, "offer-b")
        .await
        .unwrap();
    assert_ne!(other.number, offer.number);

    // The order's answer is lost: the conversion looks the order up by its key and answers
    // it; nothing is posted twice.
    writes.lose_next_order_answers(1);
    let order = offers
        .convert_offer(&cx(), &offer.number, "convert-a")
        .await
        .unwrap();
    assert_eq!(count(&sim, &format!("POST {ORDERS}")), 1);
    assert_eq!(writes.orders_created(), 1);
    assert_eq!(order.total.amount, offer.total.amount);
    assert_eq!(order.store, Some(LocationId::new("DK-CPH")));
    assert_eq!(order.lines[0].location, Some(LocationId::new("WH-ONLINE")));
    let retried = offers
        .convert_offer(&cx(), &offer.number, "convert-a")
        .await
        .unwrap();
    assert_eq!(retried, order);
    let e = offers
        .convert_offer(&cx(), &offer.number, "convert-b")
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Conflict);
    assert!(e.to_string().contains(order.number.as_str()), "{e}");
    assert_eq!(count(&sim, &format!("POST {ORDERS}")), 1);
    let read = offers
        .offers(
            &cx(),
            &[
                offer.number.clone(),
                other.number.clone(),
                "OF0000000000-DKK-C1".into(),
                "nonsense".into(),
            ],
        )
        .await
        .unwrap();
    assert_eq!(read.len(), 2);
    assert_eq!(
        read[&offer.number].status,
        OfferStatus::Converted(order.number.clone())
    );
    assert_eq!(read[&offer.number].lines, offer.lines);
    assert_eq!(read[&other.number].status, OfferStatus::Open);
}

#[tokio::test]
async fn a_conversion_that_failed_after_its_post_is_completed_by_the_retry_with_one_order() {
    let (w, sim, writes, c) = setup().await;
    let offers = c.offers.as_ref().unwrap();
    let customer = World::customer_number(held(&w, CustomerKind::Person, 6));
    let offer = offers
        .create_offer(&store_cx(), &offer_draft(&w, customer, 3), "offer-lost")
        .await
        .unwrap();
    // The claim is written and the order created, but the POST's answer is lost and the
    // lookup that follows fails too: the call fails with the offer claimed, not recorded.
    writes.lose_next_order_answers(1);
    sim.control.set_faults(FaultPlan {
        fail_next: 50,
        only_paths: vec![format!("{ORDERS}/")],
        ..FaultPlan::default()
    });
    let failed = offers
        .convert_offer(&cx(), &offer.number, "convert-lost")
        .await;
    sim.control.clear_faults();
    assert!(failed.is_err());
    assert_eq!(writes.orders_created(), 1);
    // Another key meets the claim and is told which order the offer became.
    let e = offers
        .convert_offer(&cx(), &offer.number, "convert-other")
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Conflict);
    // The retry with the first key finds its order by key and completes the offer.
    let order = offers
        .convert_offer(&cx(), &offer.number, "convert-lost")
        .await
        .unwrap();
    assert!(e.to_string().contains(order.number.as_str()), "{e}");
    assert_eq!(writes.orders_created(), 1, "exactly one order");
    let read = offers
        .offers(&cx(), std::slice::from_ref(&offer.number))
        .await
        .unwrap();
    assert_eq!(
        read[&offer.number].status,
        OfferStatus::Converted(order.number.clone())
    );
    assert_eq!(count(&sim, &format!("POST {ORDERS}")), 1);
}

#[tokio::test]
async fn expired_and_unknown_offers_are_refused() {
    let (w, _sim, writes, c) = setup().await;
    let offers = c.offers.as_ref().unwrap();
    let customer = World::customer_number(held(&w, CustomerKind::Person, 7));
    let old = offers
        .create_offer(
            &store_cx(),
            &offer_draft(&w, customer.clone(), -1),
            "offer-old",
        )
        .await
        .unwrap();
    assert_eq!(old.status, OfferStatus::Expired);
    let e = offers
        .convert_offer(&cx(), &old.number, "convert-old")
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Conflict);
    assert!(e.to_string().contains("expired"), "{e}");
    assert_eq!(writes.orders_created(), 0);
    let e = offers
        .convert_offer(&cx(), "SO0000001", "convert-x")
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound);
    let missing = format!("OF0123456789-DKK-{customer}");
    let e = offers
        .convert_offer(&cx(), &missing, "convert-y")
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound);
}
