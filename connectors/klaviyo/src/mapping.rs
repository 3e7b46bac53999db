//! Klaviyo profiles -> the normalised [`CustomerRecord`], and coupon codes -> [`Voucher`]s.
//!
//! What needs care:
//! - `location.country` is free text in Klaviyo ("Country name"): ISO codes pass through,
//!   common names and alpha-3 codes of the countries the retailer sells in become ISO codes.
//! - custom properties may hold a loyalty number as a JSON string or a number.
//! - subscriptions: `SUBSCRIBED` is a granted consent; `UNSUBSCRIBED` and `NEVER_SUBSCRIBED`
//!   are consents not granted (the customer was asked, or never opted in); other values are
//!   unknown and yield no consent rather than a guess. The consent time is
//!   `consent_timestamp`, else `last_updated`.
//! - timestamps are RFC 3339; an offset-less timestamp is read as UTC; an unreadable one is
//!   dropped (the record is still returned).
//! - coupon codes (see [`voucher`]): Klaviyo has no "expired" status and no redemption time,
//!   so expiry is `expires_at` against the clock, and the redemption time and channel come
//!   from the redemption event the connector tracks when it redeems.

use crate::client::{CouponCodeResource, MarketingConsent, ProfileLocation, ProfileResource};
use crate::config::PropertyNames;
use chrono::{DateTime, NaiveDateTime, Utc};
use samlet_connector::model::{Voucher, VoucherStatus, VoucherValue};
use samlet_connector::prelude::*;
use serde_json::{Map, Value};

/// The system name in [`SourceRef::system`].
pub const SYSTEM: &str = "klaviyo";

/// Maps one profile. `connector` names the instance; `props` says which custom properties
/// hold the loyalty number, tier and customer kind.
pub(crate) fn customer_record(
    connector: &ConnectorName,
    props: &PropertyNames,
    profile: &ProfileResource,
) -> CustomerRecord {
    let a = &profile.attributes;
    let mut r = CustomerRecord::new(SourceRef {
        connector: connector.clone(),
        system: SYSTEM.to_owned(),
        native_id: profile.id.clone(),
    });
    let custom = a.properties.as_ref();
    r.number = non_empty(a.external_id.as_deref()).map(CustomerNumber::new);
    r.kind = match custom.and_then(|p| property_text(p, &props.customer_kind)) {
        Some(k) if is_company(&k) => CustomerKind::Company,
        _ => CustomerKind::Person,
    };
    r.email = a.email.as_deref().and_then(normalize_email);
    r.address = a.location.as_ref().and_then(address);
    let country = r.address.as_ref().map_or("", |ad| ad.country.as_str());
    r.phone = a
        .phone_number
        .as_deref()
        .and_then(|p| normalize_phone(p, country));
    r.first_name = non_empty(a.first_name.as_deref());
    r.last_name = non_empty(a.last_name.as_deref());
    r.company_name = non_empty(a.organization.as_deref());
    r.loyalty_number = custom.and_then(|p| property_text(p, &props.loyalty_number));
    r.loyalty_tier = custom.and_then(|p| property_text(p, &props.loyalty_tier));
    if let Some(s) = &a.subscriptions {
        let channels = [
            (
                ConsentChannel::Email,
                s.email.as_ref().and_then(|c| c.marketing.as_ref()),
            ),
            (
                ConsentChannel::Sms,
                s.sms.as_ref().and_then(|c| c.marketing.as_ref()),
            ),
        ];
        r.consents = channels
            .into_iter()
            .filter_map(|(channel, m)| consent(channel, m?))
            .collect();
    }
    r.updated_at = a.updated.as_deref().and_then(parse_time);
    r
}

fn non_empty(s: Option<&str>) -> Option<String> {
    s.map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

fn is_company(kind: &str) -> bool {
    ["company", "business", "b2b"]
        .iter()
        .any(|k| kind.eq_ignore_ascii_case(k))
}

/// A custom property as text: strings trimmed, integral numbers without a fraction; booleans,
/// objects, arrays, null and empty strings are no value.
pub(crate) fn property_text(props: &Map<String, Value>, name: &str) -> Option<String> {
    match props.get(name)? {
        Value::String(s) => non_empty(Some(s)),
        Value::Number(n) => Some(match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => i.to_string(),
            (_, Some(u), _) => u.to_string(),
            (_, _, Some(f)) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{f:.0}"),
            _ => n.to_string(),
        }),
        _ => None,
    }
}

fn consent(channel: ConsentChannel, m: &MarketingConsent) -> Option<Consent> {
    let granted = match m.consent.as_deref()?.trim().to_ascii_uppercase().as_str() {
        "SUBSCRIBED" => true,
        "UNSUBSCRIBED" | "NEVER_SUBSCRIBED" => false,
        _ => return None,
    };
    let updated_at = m
        .consent_timestamp
        .as_deref()
        .and_then(parse_time)
        .or_else(|| m.last_updated.as_deref().and_then(parse_time));
    Some(Consent {
        channel,
        granted,
        updated_at,
    })
}

fn address(loc: &ProfileLocation) -> Option<Address> {
    let line1 = non_empty(loc.address1.as_deref());
    let line2 = non_empty(loc.address2.as_deref());
    let street = match (line1, line2) {
        (Some(a), Some(b)) => format!("{a}, {b}"),
        (Some(a), None) | (None, Some(a)) => a,
        (None, None) => String::new(),
    };
    let city = non_empty(loc.city.as_deref()).unwrap_or_default();
    let postal_code = non_empty(loc.zip.as_deref()).unwrap_or_default();
    let country = loc.country.as_deref().map(iso_country).unwrap_or_default();
    if street.is_empty() && city.is_empty() && postal_code.is_empty() && country.is_empty() {
        return None;
    }
    Some(Address {
        street,
        postal_code,
        city,
        country,
    })
}

/// Country names and alpha-3 codes of the markets the gateway serves, with their alpha-2 code.
const COUNTRY_NAMES: &[(&str, &[&str])] = &[
    ("DK", &["denmark", "danmark", "dnk"]),
    ("SE", &["sweden", "sverige", "swe"]),
    ("NO", &["norway", "norge", "noreg", "nor"]),
    ("FI", &["finland", "suomi", "fin"]),
    ("IS", &["iceland", "ísland", "island", "isl"]),
    ("DE", &["germany", "deutschland", "deu"]),
    (
        "GB",
        &["united kingdom", "great britain", "uk", "england", "gbr"],
    ),
    (
        "NL",
        &["netherlands", "the netherlands", "nederland", "nld"],
    ),
    ("PL", &["poland", "polska", "pol"]),
    ("US", &["united states", "united states of america", "usa"]),
];

/// Klaviyo's free-text country as an ISO 3166-1 alpha-2 code. Two letters are taken as a
/// code; known names and alpha-3 codes are translated; anything else is kept as written
/// (trimmed) rather than lost.
pub(crate) fn iso_country(raw: &str) -> String {
    let t = raw.trim();
    if t.len() == 2 && t.bytes().all(|b| b.is_ascii_alphabetic()) {
        // "UK" is the one common two-letter name that is not the ISO code.
        return if t.eq_ignore_ascii_case("uk") {
            "GB".to_owned()
        } else {
            t.to_ascii_uppercase()
        };
    }
    let lower = t.to_lowercase();
    COUNTRY_NAMES
        .iter()
        .find(|(_, names)| names.contains(&lower.as_str()))
        .map_or_else(|| t.to_owned(), |(code, _)| (*code).to_owned())
}

/// An RFC 3339 timestamp, or an offset-less ISO 8601 one read as UTC.
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

/// A coupon code assigned to a profile (`ASSIGNED_TO_PROFILE`).
pub(crate) const CODE_ASSIGNED: &str = "ASSIGNED_TO_PROFILE";
/// A coupon code that has been used.
pub(crate) const CODE_USED: &str = "USED";

/// What the connector knows of a code's redemption (from its redemption event).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Redemption {
    /// The event's time.
    pub at: DateTime<Utc>,
    /// The channel it was redeemed through.
    pub channel: Option<Channel>,
}

/// The voucher a coupon code is, for `customer`, worth `value`, at `now`:
/// - `ASSIGNED_TO_PROFILE` is available until `expires_at`, expired after;
/// - `USED` is redeemed, at the time and through the channel of `redemption`; a code used
///   without a redemption event (marked `USED` by another integration) has no known time:
///   it is reported at the Unix epoch with no channel;
/// - other statuses (`UNASSIGNED`, `PROCESSING`, `DELETING`, `VERSION_NOT_ACTIVE`) are not
///   a customer's voucher: `None`.
///
/// The code is `unique_code`, else the id after `<coupon id>-`.
pub(crate) fn voucher(
    code: &CouponCodeResource,
    coupon_id: &str,
    customer: CustomerNumber,
    value: VoucherValue,
    redemption: Option<&Redemption>,
    now: DateTime<Utc>,
) -> Option<Voucher> {
    let a = &code.attributes;
    let unique = a
        .unique_code
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .or_else(|| code.id.strip_prefix(coupon_id)?.strip_prefix('-'))?
        .to_owned();
    let valid_until = a.expires_at.as_deref().and_then(parse_time);
    let status = match a.status.as_deref().map(str::trim) {
        Some(CODE_USED) => VoucherStatus::Redeemed {
            at: redemption.map_or(DateTime::UNIX_EPOCH, |r| r.at),
            channel: redemption.and_then(|r| r.channel),
        },
        Some(CODE_ASSIGNED) if valid_until.is_some_and(|t| t <= now) => VoucherStatus::Expired,
        Some(CODE_ASSIGNED) => VoucherStatus::Available,
        _ => return None,
    };
    Some(Voucher {
        code: unique,
        customer,
        value,
        status,
        valid_until,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use serde_json::json;

    fn code(attributes: Value) -> CouponCodeResource {
        serde_json::from_value(json!({
            "type": "coupon-code", "id": "LOYALTY10-L10-C0000042", "attributes": attributes,
            "relationships": {"coupon": {"data": {"type": "coupon", "id": "LOYALTY10"}},
                              "profile": {"data": {"type": "profile", "id": "01P"}}},
            "links": {"self": "x"}
        }))
        .expect("coupon code")
    }

    #[test]
    fn coupon_codes_map_to_vouchers_by_status_and_expiry() {
        let now = Utc
            .with_ymd_and_hms(2026, 6, 1, 0, 0, 0)
            .single()
            .expect("now");
        let ten = VoucherValue::Percent(10.into());
        let c = CustomerNumber::new("C0000042");
        let map = |attrs: Value, r: Option<&Redemption>| {
            let code = code(attrs);
            assert_eq!(code.coupon_id(), Some("LOYALTY10"));
            assert_eq!(code.profile_id(), Some("01P"));
            voucher(&code, "LOYALTY10", c.clone(), ten.clone(), r, now)
        };
        let v = map(json!({"unique_code": "L10-C0000042", "expires_at": "2026-07-01T00:00:00+00:00", "status": "ASSIGNED_TO_PROFILE"}), None)
            .expect("voucher");
        assert_eq!(v.code, "L10-C0000042");
        assert_eq!(v.status, VoucherStatus::Available);
        assert_eq!(
            v.valid_until,
            Utc.with_ymd_and_hms(2026, 7, 1, 0, 0, 0).single()
        );
        assert_eq!(v.value, ten);
        let v = map(
            json!({"expires_at": "2026-05-01T00:00:00Z", "status": "ASSIGNED_TO_PROFILE"}),
            None,
        )
        .expect("voucher");
        assert_eq!(v.code, "L10-C0000042", "the code falls back to the id");
        assert_eq!(v.status, VoucherStatus::Expired);
        let r = Redemption {
            at: now,
            channel: Some(Channel::Pos),
        };
        let v = map(json!({"unique_code": "L10-C0000042", "expires_at": "2026-05-01T00:00:00Z", "status": "USED"}), Some(&r))
            .expect("voucher");
        assert_eq!(
            v.status,
            VoucherStatus::Redeemed {
                at: now,
                channel: Some(Channel::Pos)
            }
        );
        let v = map(
            json!({"unique_code": "L10-C0000042", "status": "USED"}),
            None,
        )
        .expect("voucher");
        assert_eq!(
            v.status,
            VoucherStatus::Redeemed {
                at: DateTime::UNIX_EPOCH,
                channel: None
            }
        );
        assert_eq!(v.valid_until, None);
        for other in [
            "UNASSIGNED",
            "PROCESSING",
            "DELETING",
            "VERSION_NOT_ACTIVE",
            "NEW",
        ] {
            assert_eq!(
                map(json!({"unique_code": "x", "status": other}), None),
                None,
                "{other}"
            );
        }
        assert_eq!(map(json!({"unique_code": "x", "status": null}), None), None);
    }

    fn profile(attributes: Value) -> ProfileResource {
        serde_json::from_value(json!({"type": "profile", "id": "01ABC", "attributes": attributes}))
            .expect("profile")
    }

    fn map(attributes: Value) -> CustomerRecord {
        customer_record(
            &ConnectorName::new("mkt"),
            &PropertyNames::default(),
            &profile(attributes),
        )
    }

    #[test]
    fn a_full_profile_maps_field_by_field() {
        let r = map(json!({
            "email": "Anna.Hansen@Example.DK",
            "phone_number": "+4520000042",
            "external_id": "C0000042",
            "first_name": "Anna",
            "last_name": "Hansen",
            "organization": "Bord & Stol A/S",
            "updated": "2024-03-01T10:00:00+00:00",
            "location": {"address1": "Skovvej 1", "address2": null, "city": "Aarhus", "zip": "8000", "country": "Denmark", "latitude": null},
            "properties": {"loyalty_number": "71000042", "loyalty_tier": "GOLD", "customer_kind": "company"},
            "subscriptions": {
                "email": {"marketing": {"can_receive_email_marketing": true, "consent": "SUBSCRIBED", "consent_timestamp": "2024-02-01T09:00:00+00:00"}},
                "sms": {"marketing": {"can_receive_sms_marketing": false, "consent": "NEVER_SUBSCRIBED", "consent_timestamp": null}},
                "mobile_push": null
            }
        }));
        assert_eq!(r.source.native_id, "01ABC");
        assert_eq!(r.source.system, "klaviyo");
        assert_eq!(r.number, Some(CustomerNumber::new("C0000042")));
        assert_eq!(r.kind, CustomerKind::Company);
        assert_eq!(r.email.as_deref(), Some("anna.hansen@example.dk"));
        assert_eq!(r.phone.as_deref(), Some("+4520000042"));
        assert_eq!(r.company_name.as_deref(), Some("Bord & Stol A/S"));
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
                    updated_at: Utc.with_ymd_and_hms(2024, 2, 1, 9, 0, 0).single()
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
    fn a_sparse_profile_maps_to_a_person_with_no_extras() {
        let r = map(
            json!({"email": null, "properties": {}, "location": {"address1": null, "city": null, "country": null, "zip": null}}),
        );
        assert_eq!(r.kind, CustomerKind::Person);
        assert_eq!(r.email, None);
        assert_eq!(r.address, None);
        assert!(r.consents.is_empty());
        assert_eq!(r.number, None);
    }

    #[test]
    fn loyalty_numbers_may_be_numbers() {
        let props =
            json!({"a": 71000042, "b": 71000042.0, "c": " 7x ", "d": true, "e": "", "f": null});
        let p = props.as_object().expect("object");
        assert_eq!(property_text(p, "a").as_deref(), Some("71000042"));
        assert_eq!(property_text(p, "b").as_deref(), Some("71000042"));
        assert_eq!(property_text(p, "c").as_deref(), Some("7x"));
        for k in ["d", "e", "f", "missing"] {
            assert_eq!(property_text(p, k), None, "{k}");
        }
    }

    #[test]
    fn countries_become_iso_codes() {
        for (raw, want) in [
            ("DK", "DK"),
            ("se", "SE"),
            ("Norway", "NO"),
            ("Sverige", "SE"),
            ("DNK", "DK"),
            ("UK", "GB"),
            (" United Kingdom ", "GB"),
            ("Atlantis", "Atlantis"),
        ] {
            assert_eq!(iso_country(raw), want, "{raw}");
        }
    }

    #[test]
    fn unknown_consent_values_give_no_consent_and_timestamps_fall_back() {
        let r = map(json!({"subscriptions": {
            "email": {"marketing": {"consent": "UNSUBSCRIBED", "consent_timestamp": null, "last_updated": "2024-05-06T07:08:09"}},
            "sms": {"marketing": {"consent": "MAYBE"}}
        }}));
        assert_eq!(
            r.consents,
            vec![Consent {
                channel: ConsentChannel::Email,
                granted: false,
                updated_at: Utc.with_ymd_and_hms(2024, 5, 6, 7, 8, 9).single()
            }]
        );
    }

    #[test]
    fn national_phone_numbers_use_the_profile_country() {
        let r = map(json!({"phone_number": "070-123 45 67", "location": {"country": "SE"}}));
        assert_eq!(r.phone.as_deref(), Some("+46701234567"));
    }
}
