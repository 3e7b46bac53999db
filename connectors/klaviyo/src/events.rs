//! Events tracked in Klaviyo (`POST /api/events`): the metric that happened, to whom, when,
//! with which properties and value, sent with [`crate::KlaviyoClient::create_event`]. The
//! [`MarketingSink`](samlet_connector::capability::MarketingSink) capability (`marketing.rs`) and voucher
//! redemptions (`vouchers.rs`) build these.

use chrono::{DateTime, SecondsFormat, Utc};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use samlet_connector::prelude::{Currency, CustomerNumber};
use serde_json::{json, Map, Value};

/// The longest metric name Klaviyo accepts (it must be shorter than 128 characters).
const MAX_METRIC_NAME: usize = 127;

/// Who an event is about: at least one identifier must be set. Klaviyo attaches the event to
/// the profile with these identifiers, creating the profile if there is none.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventProfile {
    /// Klaviyo's own profile id.
    pub id: Option<String>,
    /// E-mail (sent lower-cased, as the connector stores e-mails).
    pub email: Option<String>,
    /// Phone in E.164.
    pub phone_number: Option<String>,
    /// The shared customer number (Klaviyo `external_id`).
    pub external_id: Option<CustomerNumber>,
}

/// One event to track.
#[derive(Debug, Clone, PartialEq)]
pub struct KlaviyoEvent {
    /// The metric name, e.g. `Placed Order` (created in Klaviyo on first use).
    pub metric: String,
    /// The profile the event happened to.
    pub profile: EventProfile,
    /// Event properties (at most 400; Klaviyo's size limits apply).
    pub properties: Map<String, Value>,
    /// When it happened; Klaviyo uses the time it received the event when `None`.
    pub time: Option<DateTime<Utc>>,
    /// A monetary value. Klaviyo's `value` is a JSON number, so this exact decimal becomes a
    /// binary float on the wire: fine for Klaviyo's reporting, never read back as money.
    pub value: Option<Decimal>,
    /// The currency of `value`.
    pub value_currency: Option<Currency>,
    /// A deduplication key: Klaviyo records an event with a repeated `unique_id` for the same
    /// profile and metric only once, which also makes sending it idempotent.
    pub unique_id: Option<String>,
}

impl KlaviyoEvent {
    /// Why Klaviyo would refuse this event, if it would.
    pub(crate) fn check(&self) -> Result<(), String> {
        let name = self.metric.trim();
        if name.is_empty() || name.chars().count() > MAX_METRIC_NAME {
            return Err(format!(
                "an event needs a metric name of 1 to {MAX_METRIC_NAME} characters"
            ));
        }
        let p = &self.profile;
        if p.id.is_none()
            && p.email.is_none()
            && p.phone_number.is_none()
            && p.external_id.is_none()
        {
            return Err(
                "an event needs a profile identifier (id, email, phone_number or external_id)"
                    .to_owned(),
            );
        }
        Ok(())
    }

    /// The `EventCreateQueryV2` document.
    pub(crate) fn to_wire(&self) -> Value {
        let mut profile_attrs = Map::new();
        if let Some(e) = &self.profile.email {
            profile_attrs.insert("email".into(), json!(e.trim().to_lowercase()));
        }
        if let Some(p) = &self.profile.phone_number {
            profile_attrs.insert("phone_number".into(), json!(p));
        }
        if let Some(n) = &self.profile.external_id {
            profile_attrs.insert("external_id".into(), json!(n.as_str()));
        }
        let mut profile = json!({"type": "profile", "attributes": profile_attrs});
        if let Some(id) = &self.profile.id {
            profile["id"] = json!(id);
        }
        let mut attributes = json!({
            "properties": self.properties,
            "metric": {"data": {"type": "metric", "attributes": {"name": self.metric.trim()}}},
            "profile": {"data": profile},
        });
        if let Some(t) = self.time {
            attributes["time"] = json!(t.to_rfc3339_opts(SecondsFormat::Secs, false));
        }
        if let Some(v) = self
            .value
            .and_then(|v| v.to_f64())
            .and_then(serde_json::Number::from_f64)
        {
            attributes["value"] = Value::Number(v);
        }
        if let Some(c) = self.value_currency {
            attributes["value_currency"] = json!(c.as_str());
        }
        if let Some(u) = &self.unique_id {
            attributes["unique_id"] = json!(u);
        }
        json!({"data": {"type": "event", "attributes": attributes}})
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn event() -> KlaviyoEvent {
        KlaviyoEvent {
            metric: "Placed Order".into(),
            profile: EventProfile {
                email: Some("Anna@Example.DK".into()),
                external_id: Some(CustomerNumber::new("C0000042")),
                ..EventProfile::default()
            },
            properties: Map::from_iter([("OrderId".to_owned(), json!("SO0000001"))]),
            time: Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).single(),
            value: Some(Decimal::new(129_995, 2)),
            value_currency: Some(Currency::DKK),
            unique_id: Some("SO0000001".into()),
        }
    }

    #[test]
    fn events_serialise_as_event_create_query_v2() {
        let w = event().to_wire();
        let a = &w["data"]["attributes"];
        assert_eq!(w["data"]["type"], "event");
        assert_eq!(a["metric"]["data"]["attributes"]["name"], "Placed Order");
        assert_eq!(
            a["profile"]["data"]["attributes"]["email"],
            "anna@example.dk"
        );
        assert_eq!(
            a["profile"]["data"]["attributes"]["external_id"],
            "C0000042"
        );
        assert_eq!(a["time"], "2026-01-02T03:04:05+00:00");
        assert_eq!(a["value"], json!(1299.95));
        assert_eq!(a["value_currency"], "DKK");
        assert_eq!(a["unique_id"], "SO0000001");
        assert_eq!(a["properties"]["OrderId"], "SO0000001");
    }

    #[test]
    fn events_need_a_metric_and_a_profile_identifier() {
        assert!(event().check().is_ok());
        let mut e = event();
        e.metric = "  ".into();
        assert!(e.check().is_err());
        let mut e = event();
        e.profile = EventProfile::default();
        assert!(e.check().is_err());
    }
}
