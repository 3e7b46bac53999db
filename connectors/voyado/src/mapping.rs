//! Voyado contacts -> the normalised [`CustomerRecord`].
//!
//! | model field | Voyado contact |
//! |---|---|
//! | `source.native_id` | `id` (the contact GUID) |
//! | `number` | `attributes.externalId` (the shared customer number) |
//! | `email` | `attributes.email`, normalised (lower case) |
//! | `phone` | `attributes.mobilePhone`, E.164 (national numbers read with `countryCode`) |
//! | `first_name`, `last_name` | `attributes.firstName`, `attributes.lastName` |
//! | `company_name`, `kind` | tenant attribute `companyName` (configurable): non-empty = company |
//! | `loyalty_number` | `attributes.memberNumber` |
//! | `loyalty_tier` | tenant attribute `loyaltyLevel` (configurable) |
//! | `address` | `attributes.street` (with `careOf` as `c/o` prefix), `zipCode`, `city`, `countryCode` |
//! | `consents` | `preferences.acceptsEmail`, `preferences.acceptsSms` (no timestamp in Voyado) |
//! | `customer_group` | none (Voyado has no price groups) |
//! | `updated_at` | `meta.modifiedOn` |
//!
//! What needs care: attribute values may be strings or numbers (a member number is often
//! numeric); empty strings are no value; a `null` preference is unknown and yields no consent
//! rather than a refusal; timestamps carry an offset (`2023-10-23T10:30:07+02:00`) and become
//! UTC, an offset-less one is read as UTC and an unreadable one is dropped.

use crate::client::Contact;
use crate::config::AttributeNames;
use chrono::{DateTime, NaiveDateTime, Utc};
use samlet_connector::prelude::*;
use serde_json::{Map, Value};

/// The system name in [`SourceRef::system`].
pub const SYSTEM: &str = "voyado";

/// Maps one contact. `connector` names the instance; `names` says which tenant attributes hold
/// the loyalty level and the company name.
pub(crate) fn customer_record(
    connector: &ConnectorName,
    names: &AttributeNames,
    contact: &Contact,
) -> CustomerRecord {
    let a = &contact.attributes;
    let mut r = CustomerRecord::new(SourceRef {
        connector: connector.clone(),
        system: SYSTEM.to_owned(),
        native_id: contact.id.trim().to_ascii_lowercase(),
    });
    r.number = text(a, "externalId").map(CustomerNumber::new);
    r.company_name = text(a, &names.company_name);
    r.kind = if r.company_name.is_some() {
        CustomerKind::Company
    } else {
        CustomerKind::Person
    };
    r.email = text(a, "email").as_deref().and_then(normalize_email);
    r.address = address(a);
    let country = text(a, "countryCode").unwrap_or_default();
    r.phone = text(a, "mobilePhone")
        .as_deref()
        .and_then(|p| normalize_phone(p, &country));
    r.first_name = text(a, "firstName");
    r.last_name = text(a, "lastName");
    r.loyalty_number = text(a, "memberNumber");
    r.loyalty_tier = text(a, &names.loyalty_level);
    if let Some(p) = &contact.preferences {
        r.consents = [
            (ConsentChannel::Email, p.accepts_email),
            (ConsentChannel::Sms, p.accepts_sms),
        ]
        .into_iter()
        .filter_map(|(channel, accepts)| {
            Some(Consent {
                channel,
                granted: accepts?,
                updated_at: None,
            })
        })
        .collect();
    }
    r.updated_at = contact
        .meta
        .as_ref()
        .and_then(|m| m.modified_on.as_deref())
        .and_then(parse_time);
    r
}

/// An attribute as text: strings trimmed, integral numbers without a fraction; booleans,
/// objects, arrays, null and empty strings are no value.
pub(crate) fn text(attributes: &Map<String, Value>, name: &str) -> Option<String> {
    match attributes.get(name)? {
        Value::String(s) => Some(s.trim()).filter(|s| !s.is_empty()).map(str::to_owned),
        Value::Number(n) => Some(match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => i.to_string(),
            (_, Some(u)) => u.to_string(),
            _ => n.to_string(),
        }),
        _ => None,
    }
}

fn address(a: &Map<String, Value>) -> Option<Address> {
    let street = match (text(a, "careOf"), text(a, "street")) {
        (Some(co), Some(s)) => format!("c/o {co}, {s}"),
        (None, Some(s)) => s,
        (Some(co), None) => format!("c/o {co}"),
        (None, None) => String::new(),
    };
    let postal_code = text(a, "zipCode").unwrap_or_default();
    let city = text(a, "city").unwrap_or_default();
    let country = text(a, "countryCode")
        .map(|c| c.to_ascii_uppercase())
        .unwrap_or_default();
    if street.is_empty() && postal_code.is_empty() && city.is_empty() && country.is_empty() {
        return None;
    }
    Some(Address {
        street,
        postal_code,
        city,
        country,
    })
}

/// An ISO 8601 timestamp with offset, or an offset-less one read as UTC.
pub(crate) fn parse_time(raw: &str) -> Option<DateTime<Utc>> {
    let t = raw.trim();
    DateTime::parse_from_rfc3339(t)
        .map(|d| d.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S%.f")
                .ok()
                .map(|n| n.and_utc())
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use serde_json::json;

    fn map(contact: Value) -> CustomerRecord {
        let c: Contact = serde_json::from_value(contact).expect("contact");
        customer_record(
            &ConnectorName::new("loyalty"),
            &AttributeNames::default(),
            &c,
        )
    }

    #[test]
    fn a_full_member_maps_field_by_field() {
        let r = map(json!({
            "id": "2E40B702-2767-4ABE-AE99-AA510108E22B",
            "attributes": {
                "firstName": "Anna", "lastName": "Hansen",
                "email": "Anna.Hansen@Example.DK", "mobilePhone": "+4520000042",
                "street": "Skovvej 1", "careOf": null, "zipCode": "8000", "city": "Aarhus",
                "countryCode": "dk", "externalId": "C0000042", "memberNumber": 71000042,
                "loyaltyLevel": "GOLD", "companyName": "Bord & Stol A/S", "bonusPoints": 208
            },
            "meta": {"contactType": "Member", "createdOn": "2024-01-01T08:00:00+01:00", "modifiedOn": "2024-03-01T11:00:00+01:00"},
            "preferences": {"acceptsEmail": true, "acceptsSms": false, "acceptsPostal": null}
        }));
        assert_eq!(r.source.native_id, "2e40b702-2767-4abe-ae99-aa510108e22b");
        assert_eq!(r.source.system, "voyado");
        assert_eq!(r.number, Some(CustomerNumber::new("C0000042")));
        assert_eq!(r.kind, CustomerKind::Company);
        assert_eq!(r.company_name.as_deref(), Some("Bord & Stol A/S"));
        assert_eq!(r.email.as_deref(), Some("anna.hansen@example.dk"));
        assert_eq!(r.phone.as_deref(), Some("+4520000042"));
        assert_eq!(r.loyalty_number.as_deref(), Some("71000042"));
        assert_eq!(r.loyalty_tier.as_deref(), Some("GOLD"));
        assert_eq!(r.customer_group, None);
        let a = r.address.expect("address");
        assert_eq!(
            (
                a.street.as_str(),
                a.postal_code.as_str(),
                a.city.as_str(),
                a.country.as_str()
            ),
            ("Skovvej 1", "8000", "Aarhus", "DK")
        );
        assert_eq!(
            r.consents,
            vec![
                Consent {
                    channel: ConsentChannel::Email,
                    granted: true,
                    updated_at: None
                },
                Consent {
                    channel: ConsentChannel::Sms,
                    granted: false,
                    updated_at: None
                },
            ]
        );
        assert_eq!(
            r.updated_at,
            Utc.with_ymd_and_hms(2024, 3, 1, 10, 0, 0).single()
        );
    }

    #[test]
    fn a_sparse_contact_is_a_person_with_no_extras() {
        let r = map(
            json!({"id": "x", "attributes": {"email": "", "companyName": " ", "street": null}, "preferences": {"acceptsEmail": null}}),
        );
        assert_eq!(r.kind, CustomerKind::Person);
        assert_eq!(
            (r.email, r.company_name, r.address, r.number),
            (None, None, None, None)
        );
        assert!(
            r.consents.is_empty(),
            "null preferences are unknown, not refusals"
        );
        let r = map(json!({"id": "x"}));
        assert!(r.consents.is_empty());
        assert_eq!(r.updated_at, None);
    }

    #[test]
    fn national_phone_numbers_use_the_contact_country() {
        let r = map(
            json!({"id": "x", "attributes": {"mobilePhone": "070-123 45 67", "countryCode": "SE"}}),
        );
        assert_eq!(r.phone.as_deref(), Some("+46701234567"));
    }

    #[test]
    fn care_of_is_kept_in_the_street_line() {
        let r = map(
            json!({"id": "x", "attributes": {"careOf": "Holm", "street": "Storgatan 3", "city": "Umeå"}}),
        );
        assert_eq!(r.address.expect("address").street, "c/o Holm, Storgatan 3");
    }

    #[test]
    fn timestamps_with_and_without_offsets() {
        assert_eq!(
            parse_time("2023-10-23T10:30:07+02:00"),
            Utc.with_ymd_and_hms(2023, 10, 23, 8, 30, 7).single()
        );
        assert_eq!(
            parse_time("2023-10-23T10:30:07.123"),
            Utc.with_ymd_and_hms(2023, 10, 23, 10, 30, 7)
                .single()
                .map(|t| t + chrono::Duration::milliseconds(123))
        );
        assert_eq!(parse_time("yesterday"), None);
    }
}
