//! [`MarketingSink`] over journey entry events: each model [`CustomerEvent`] fires the entry
//! event configured for its kind, `POST /interaction/v1/events`, one request per event (the
//! endpoint takes one contact per call), at most [`CONCURRENCY`] in flight.
//!
//! | entry event | model |
//! |---|---|
//! | `ContactKey` | the shared customer number (the contact key integrations push) |
//! | `EventDefinitionKey` | `event_definitions.<kind>`, else `event_definitions.default` |
//! | `Data.EventId` | the event's `id` |
//! | `Data.Kind` | `ProductViewed`, `Wishlisted`, `BasketChanged`, `StoreVisit`, `Purchase`, `OfferSent` |
//! | `Data.Email` | the e-mail, lower-cased (left out when unknown) |
//! | `Data.Channel` | `web`, `app`, `store`, `kiosk`, `pos`, `email` |
//! | `Data.Store`, `Data.Sku` | the store code, the SKU (left out when none) |
//! | `Data.Value`, `Data.Currency` | the value as an exact decimal string (`"1299.50"`) and its ISO 4217 code |
//! | `Data.OccurredAt` | ISO 8601 in UTC (`2024-05-01T10:00:00Z`) |
//! | `Data.Properties` | the event's own properties as JSON text (left out when empty) |
//!
//! The event's data extension needs these fields (Marketing Cloud validates `Data` against
//! it); `EventId` (Text 64) is the one to make its primary key.
//!
//! # Deduplication, honestly
//! Marketing Cloud has **no** unique-id deduplication for entry events: every accepted call
//! enters the contact again. The connector therefore remembers, per process, the ids of the
//! events it fired (the last [`REMEMBERED_EVENTS`]) and does not send a known id again; an
//! id repeated within one batch is sent once. An id is claimed before its request and given
//! up again if the request fails, so a retry after a failure sends it again: if that failure
//! was a lost answer (a timeout or 5xx after Marketing Cloud accepted the event), the contact
//! is entered twice. Another process, or a restart, does not know the ids either. The
//! journey's re-entry settings and `EventId` as the event data extension's primary key are
//! the tenant's guards beyond that; the simulator does not model either.
//!
//! A batch is validated before anything is sent (every kind needs a configured key);
//! then every event is attempted, and the first failure is returned after the rest were
//! sent, so a retried batch only resends what failed.

use crate::client::SfmcClient;
use crate::config::EventDefinitionKeys;
use chrono::SecondsFormat;
use futures::stream::{self, StreamExt};
use samlet_connector::model::{CustomerEvent, EventKind};
use samlet_connector::prelude::*;
use serde_json::{json, Map, Value};
use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex};

/// Events in flight at once.
pub const CONCURRENCY: usize = 4;
/// How many fired event ids are remembered.
pub const REMEMBERED_EVENTS: usize = 100_000;

/// Touchpoint events fired as journey entry events.
#[derive(Debug)]
pub(crate) struct SfmcMarketing {
    client: Arc<SfmcClient>,
    keys: EventDefinitionKeys,
    sent: Mutex<Sent>,
}

/// Ids of the events fired (or being fired), oldest first.
#[derive(Debug, Default)]
struct Sent {
    ids: HashSet<String>,
    order: VecDeque<String>,
}

impl Sent {
    /// Claims `id`; false if it is known.
    fn claim(&mut self, id: &str) -> bool {
        if !self.ids.insert(id.to_owned()) {
            return false;
        }
        self.order.push_back(id.to_owned());
        while self.order.len() > REMEMBERED_EVENTS {
            if let Some(old) = self.order.pop_front() {
                self.ids.remove(&old);
            }
        }
        true
    }

    /// Gives up a claim (the event was not sent).
    fn release(&mut self, id: &str) {
        if self.ids.remove(id) {
            if let Some(at) = self.order.iter().rposition(|k| k == id) {
                self.order.remove(at);
            }
        }
    }
}

/// The `Data.Kind` of an event kind.
pub(crate) fn kind_code(kind: EventKind) -> &'static str {
    match kind {
        EventKind::ProductViewed => "ProductViewed",
        EventKind::Wishlisted => "Wishlisted",
        EventKind::BasketChanged => "BasketChanged",
        EventKind::StoreVisit => "StoreVisit",
        EventKind::Purchase => "Purchase",
        EventKind::OfferSent => "OfferSent",
    }
}

/// The entry event's `Data` for a model event.
pub(crate) fn event_data(e: &CustomerEvent) -> Value {
    let mut data = Map::new();
    data.insert("EventId".into(), json!(e.id));
    data.insert("Kind".into(), json!(kind_code(e.kind)));
    if let Some(email) = e
        .email
        .as_deref()
        .map(|m| m.trim().to_lowercase())
        .filter(|m| !m.is_empty())
    {
        data.insert("Email".into(), json!(email));
    }
    data.insert("Channel".into(), json!(e.channel.as_str()));
    if let Some(store) = &e.store {
        data.insert("Store".into(), json!(store.as_str()));
    }
    if let Some(sku) = &e.sku {
        data.insert("Sku".into(), json!(sku.as_str()));
    }
    if let Some(value) = &e.value {
        data.insert("Value".into(), json!(value.amount.to_string()));
        data.insert("Currency".into(), json!(value.currency.to_string()));
    }
    data.insert(
        "OccurredAt".into(),
        json!(e.occurred_at.to_rfc3339_opts(SecondsFormat::Secs, true)),
    );
    let empty = match &e.properties {
        Value::Null => true,
        Value::Object(m) => m.is_empty(),
        _ => false,
    };
    if !empty {
        data.insert("Properties".into(), json!(e.properties.to_string()));
    }
    Value::Object(data)
}

impl SfmcMarketing {
    pub(crate) fn new(client: Arc<SfmcClient>, keys: EventDefinitionKeys) -> Self {
        SfmcMarketing {
            client,
            keys,
            sent: Mutex::new(Sent::default()),
        }
    }

    fn sent(&self) -> std::sync::MutexGuard<'_, Sent> {
        self.sent.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Fires one event whose id this call claimed; gives the claim up if it fails.
    async fn fire(&self, e: &CustomerEvent, key: &str) -> ConnectorResult<()> {
        let outcome = self
            .client
            .fire_entry_event(e.customer.as_str().trim(), key, event_data(e))
            .await;
        match outcome {
            Ok(id) => {
                tracing::debug!(connector = %self.client.name(), event = %e.id, instance = %id, "entry event fired");
                Ok(())
            }
            Err(err) => {
                self.sent().release(&e.id);
                Err(err)
            }
        }
    }
}

#[async_trait]
impl MarketingSink for SfmcMarketing {
    async fn track(&self, _cx: &RequestContext, events: &[CustomerEvent]) -> ConnectorResult<()> {
        let mut planned: Vec<(&CustomerEvent, &str)> = Vec::with_capacity(events.len());
        for e in events {
            if e.id.trim().is_empty() {
                return Err(ConnectorError::new(
                    ErrorKind::BadRequest,
                    self.client.name(),
                    "entry event: an event needs an id",
                ));
            }
            let key = self.keys.key(e.kind).ok_or_else(|| {
                ConnectorError::new(
                    ErrorKind::BadRequest,
                    self.client.name(),
                    format!(
                        "no journey entry event is configured for {} events: set `event_definitions.default` (or `event_definitions.<kind>`)",
                        kind_code(e.kind)
                    ),
                )
            })?;
            planned.push((e, key));
        }
        // Claim the ids: known ones (and repeats within the batch) are not sent again.
        let todo: Vec<(&CustomerEvent, &str)> = {
            let mut sent = self.sent();
            planned
                .into_iter()
                .filter(|(e, _)| sent.claim(&e.id))
                .collect()
        };
        let fires: Vec<_> = todo.iter().map(|(e, key)| self.fire(e, key)).collect();
        let outcomes: Vec<ConnectorResult<()>> =
            stream::iter(fires).buffered(CONCURRENCY).collect().await;
        outcomes.into_iter().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn event() -> CustomerEvent {
        CustomerEvent {
            id: "evt-1".into(),
            customer: CustomerNumber::new("C0000042"),
            email: Some(" Anna@Example.DK ".into()),
            kind: EventKind::Purchase,
            occurred_at: chrono::Utc
                .with_ymd_and_hms(2024, 5, 1, 10, 0, 0)
                .single()
                .expect("time"),
            channel: Channel::Pos,
            store: Some(LocationId::new("DK-CPH")),
            sku: Some(Sku::new("P000042-GREEN")),
            value: Some(Money::new(Decimal::new(129950, 2), Currency::DKK)),
            properties: json!({"receipt": "R-1"}),
        }
    }

    #[test]
    fn data_carries_the_event_exactly() {
        assert_eq!(
            event_data(&event()),
            json!({
                "EventId": "evt-1",
                "Kind": "Purchase",
                "Email": "anna@example.dk",
                "Channel": "pos",
                "Store": "DK-CPH",
                "Sku": "P000042-GREEN",
                "Value": "1299.50",
                "Currency": "DKK",
                "OccurredAt": "2024-05-01T10:00:00Z",
                "Properties": "{\"receipt\":\"R-1\"}",
            })
        );
        let bare = CustomerEvent {
            email: None,
            store: None,
            sku: None,
            value: None,
            properties: json!({}),
            kind: EventKind::ProductViewed,
            ..event()
        };
        let data = event_data(&bare);
        let mut keys: Vec<&String> = data.as_object().expect("object").keys().collect();
        keys.sort();
        assert_eq!(keys, ["Channel", "EventId", "Kind", "OccurredAt"]);
    }

    #[test]
    fn remembered_ids_are_bounded_and_released_on_failure() {
        let mut s = Sent::default();
        assert!(s.claim("a"));
        assert!(!s.claim("a"));
        s.release("a");
        assert!(s.claim("a"));
        for i in 0..REMEMBERED_EVENTS {
            s.claim(&format!("e{i}"));
        }
        assert_eq!(s.ids.len(), REMEMBERED_EVENTS);
        assert!(s.claim("a"), "the oldest id was forgotten");
    }
}
