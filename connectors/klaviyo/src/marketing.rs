//! [`MarketingSink`] over `POST /api/events/`: each model [`CustomerEvent`] becomes one
//! Klaviyo event (`EventCreateQueryV2`), one request per event, sent concurrently (at most
//! [`CONCURRENCY`] at a time).
//!
//! | Klaviyo event | model |
//! |---|---|
//! | `metric.data.attributes.name` | [`EventKind::metric_name`] (`Viewed Product`, `Placed Order`, …) |
//! | `profile.data.attributes.external_id` / `email` | the shared customer number / the e-mail (lower-cased) |
//! | `time` | `occurred_at` |
//! | `value`, `value_currency` | `value` (a JSON number, so a float on the wire) and its currency |
//! | `unique_id` | the event's `id` |
//! | `properties` | the event's own `properties` (an object; any other JSON value goes under `data`), then `sku`, `channel`, `store` |
//!
//! Klaviyo deduplicates on `unique_id` per profile and metric, so sending an event twice
//! records it once; that makes the call safe to retry, and it is retried like a read.
//! Klaviyo's `POST /api/event-bulk-create-jobs` would take many events in one request, but
//! it groups events per profile and is processed as an asynchronous job: not simpler, and
//! for the gateway's handful of events per request, not worth it.

use crate::client::KlaviyoClient;
use crate::events::{EventProfile, KlaviyoEvent};
use futures::stream::{self, StreamExt, TryStreamExt};
use samlet_connector::model::CustomerEvent;
use samlet_connector::prelude::*;
use serde_json::{json, Map, Value};

/// Events in flight at once.
pub const CONCURRENCY: usize = 8;

/// Touchpoint events sent to Klaviyo.
#[derive(Debug)]
pub(crate) struct KlaviyoMarketing {
    client: KlaviyoClient,
}

impl KlaviyoMarketing {
    pub(crate) fn new(client: KlaviyoClient) -> Self {
        KlaviyoMarketing { client }
    }
}

/// The Klaviyo event for a model event.
pub(crate) fn klaviyo_event(e: &CustomerEvent) -> KlaviyoEvent {
    let mut properties = match &e.properties {
        Value::Object(m) => m.clone(),
        Value::Null => Map::new(),
        other => Map::from_iter([("data".to_owned(), other.clone())]),
    };
    if let Some(sku) = &e.sku {
        properties.insert("sku".into(), json!(sku.as_str()));
    }
    properties.insert("channel".into(), json!(e.channel.as_str()));
    if let Some(store) = &e.store {
        properties.insert("store".into(), json!(store.as_str()));
    }
    KlaviyoEvent {
        metric: e.kind.metric_name().to_owned(),
        profile: EventProfile {
            id: None,
            email: e
                .email
                .as_deref()
                .map(str::trim)
                .filter(|m| !m.is_empty())
                .map(str::to_owned),
            phone_number: None,
            external_id: Some(e.customer.clone()),
        },
        properties,
        time: Some(e.occurred_at),
        value: e.value.as_ref().map(|m| m.amount),
        value_currency: e.value.as_ref().map(|m| m.currency),
        unique_id: Some(e.id.clone()),
    }
}

#[async_trait]
impl MarketingSink for KlaviyoMarketing {
    async fn track(&self, _cx: &RequestContext, events: &[CustomerEvent]) -> ConnectorResult<()> {
        stream::iter(events.iter().map(klaviyo_event))
            .map(|e| async move { self.client.create_event(&e).await })
            .buffer_unordered(CONCURRENCY)
            .try_collect::<Vec<()>>()
            .await
            .map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use samlet_connector::model::EventKind;
    use samlet_connector::prelude::{Channel, Currency, CustomerNumber, LocationId, Sku};

    #[test]
    fn a_purchase_becomes_a_placed_order_event() {
        let e = CustomerEvent {
            id: "evt-1".into(),
            customer: CustomerNumber::new("C0000042"),
            email: Some(" Anna@Example.DK ".into()),
            kind: EventKind::Purchase,
            occurred_at: chrono::Utc
                .with_ymd_and_hms(2026, 5, 1, 12, 0, 0)
                .single()
                .expect("time"),
            channel: Channel::Store,
            store: Some(LocationId::new("DK-CPH")),
            sku: Some(Sku::new("P000042-GREEN")),
            value: Some(samlet_connector::model::Money {
                amount: rust_decimal::Decimal::new(129_995, 2),
                currency: Currency::DKK,
            }),
            properties: json!({"order": "SO0000001", "channel": "overridden"}),
        };
        let k = klaviyo_event(&e);
        assert_eq!(k.metric, "Placed Order");
        assert_eq!(k.unique_id.as_deref(), Some("evt-1"));
        assert_eq!(k.profile.external_id, Some(CustomerNumber::new("C0000042")));
        assert_eq!(k.profile.email.as_deref(), Some("Anna@Example.DK"));
        assert_eq!(k.value, Some(rust_decimal::Decimal::new(129_995, 2)));
        assert_eq!(k.value_currency, Some(Currency::DKK));
        assert_eq!(k.properties["order"], "SO0000001");
        assert_eq!(k.properties["sku"], "P000042-GREEN");
        assert_eq!(k.properties["channel"], "store");
        assert_eq!(k.properties["store"], "DK-CPH");
        let wire = k.to_wire();
        assert_eq!(
            wire["data"]["attributes"]["time"],
            "2026-05-01T12:00:00+00:00"
        );
        assert_eq!(
            wire["data"]["attributes"]["profile"]["data"]["attributes"]["email"],
            "anna@example.dk"
        );
    }

    #[test]
    fn odd_properties_are_kept_under_data() {
        let mut e = CustomerEvent {
            id: "evt-2".into(),
            customer: CustomerNumber::new("C0000001"),
            email: None,
            kind: EventKind::ProductViewed,
            occurred_at: chrono::Utc::now(),
            channel: Channel::App,
            store: None,
            sku: None,
            value: None,
            properties: json!([1, 2]),
        };
        assert_eq!(klaviyo_event(&e).properties["data"], json!([1, 2]));
        e.properties = Value::Null;
        let k = klaviyo_event(&e);
        assert_eq!(k.properties.len(), 1);
        assert_eq!(k.value, None);
        assert_eq!(k.profile.email, None);
    }
}
