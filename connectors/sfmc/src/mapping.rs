//! Data extension rows -> the normalised [`CustomerRecord`].
//!
//! What needs care:
//! - column names come back lower-cased in `keys`/`values` (and a data extension's names are
//!   case-insensitive anyway), so columns are looked up without regard to case;
//! - every value is a string; an empty string is an empty column;
//! - Boolean columns read `True`/`False` (also `1`/`0`, `Y`/`N`, `Yes`/`No`); anything else is
//!   no consent rather than a guess;
//! - Date columns read like `3/5/2024 9:30:00 AM` (the account's en-US culture); ISO 8601 is
//!   accepted too. Data extensions store no time zone: the integration writes UTC, so values
//!   are read as UTC; an unreadable date is dropped (the record is still returned);
//! - the phone is normalised to E.164 with the row's country; e-mails are lower-cased.

use crate::client::RowsetItem;
use crate::config::ColumnNames;
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use samlet_connector::prelude::*;
use serde_json::Value;

/// The system name in [`SourceRef::system`].
pub const SYSTEM: &str = crate::KIND;

/// One row's columns, by lower-cased name, as trimmed non-empty text.
pub(crate) struct Row(HashMap<String, String>);

impl Row {
    /// The columns of `item` (`keys` and `values` together).
    pub(crate) fn new(item: &RowsetItem) -> Row {
        let mut columns = HashMap::new();
        for (name, value) in item.keys.iter().chain(item.values.iter()) {
            if let Some(text) = text(value) {
                columns.insert(name.to_lowercase(), text);
            }
        }
        Row(columns)
    }

    /// The value of column `name`, if it is not empty.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0.get(&name.to_lowercase()).map(String::as_str)
    }

    fn owned(&self, name: &str) -> Option<String> {
        self.get(name).map(str::to_owned)
    }
}

/// A column value as text: strings trimmed, numbers and booleans printed; null, empty strings,
/// objects and arrays are no value.
fn text(v: &Value) -> Option<String> {
    let s = match v {
        Value::String(s) => s.trim().to_owned(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => if *b { "True" } else { "False" }.to_owned(),
        _ => return None,
    };
    (!s.is_empty()).then_some(s)
}

/// Maps one row. `None` for a row without a customer number (the primary key, which is also
/// the ContactKey and the record's native id).
pub(crate) fn customer_record(
    connector: &ConnectorName,
    columns: &ColumnNames,
    row: &Row,
) -> Option<CustomerRecord> {
    let number = row.owned(&columns.customer_number)?;
    let mut r = CustomerRecord::new(SourceRef {
        connector: connector.clone(),
        system: SYSTEM.to_owned(),
        native_id: number.clone(),
    });
    r.number = Some(CustomerNumber::new(number));
    r.kind = match row.get(&columns.customer_kind) {
        Some(k) if is_company(k) => CustomerKind::Company,
        _ => CustomerKind::Person,
    };
    r.email = row.get(&columns.email).and_then(normalize_email);
    r.address = address(row, columns);
    let country = r.address.as_ref().map_or("", |a| a.country.as_str());
    r.phone = row
        .get(&columns.mobile_phone)
        .and_then(|p| normalize_phone(p, country));
    r.first_name = row.owned(&columns.first_name);
    r.last_name = row.owned(&columns.last_name);
    r.company_name = row.owned(&columns.company_name);
    r.loyalty_number = row.owned(&columns.loyalty_number);
    r.loyalty_tier = row.owned(&columns.loyalty_tier);
    let consent_time = row.get(&columns.opt_in_updated_at).and_then(parse_date);
    r.consents = [
        (ConsentChannel::Email, &columns.email_opt_in),
        (ConsentChannel::Sms, &columns.sms_opt_in),
    ]
    .into_iter()
    .filter_map(|(channel, column)| {
        Some(Consent {
            channel,
            granted: parse_bool(row.get(column)?)?,
            updated_at: consent_time,
        })
    })
    .collect();
    r.updated_at = row.get(&columns.modified_date).and_then(parse_date);
    Some(r)
}

fn is_company(kind: &str) -> bool {
    ["company", "business", "b2b"]
        .iter()
        .any(|k| kind.eq_ignore_ascii_case(k))
}

fn address(row: &Row, columns: &ColumnNames) -> Option<Address> {
    let part = |c: &str| row.owned(c).unwrap_or_default();
    let a = Address {
        street: part(&columns.street),
        postal_code: part(&columns.postal_code),
        city: part(&columns.city),
        country: part(&columns.country).to_ascii_uppercase(),
    };
    (a != Address::default()).then_some(a)
}

/// A Boolean column's value.
pub(crate) fn parse_bool(v: &str) -> Option<bool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "y" | "yes" => Some(true),
        "false" | "0" | "n" | "no" => Some(false),
        _ => None,
    }
}

/// A Date column's value, read as UTC: `M/D/YYYY h:mm:ss AM`, `M/D/YYYY`, RFC 3339 or an
/// offset-less ISO 8601 date-time.
pub(crate) fn parse_date(v: &str) -> Option<DateTime<Utc>> {
    let v = v.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(v) {
        return Some(t.with_timezone(&Utc));
    }
    for format in [
        "%m/%d/%Y %I:%M:%S %p",
        "%m/%d/%Y %H:%M:%S",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(v, format) {
            return Some(t.and_utc());
        }
    }
    ["%m/%d/%Y", "%Y-%m-%d"]
        .iter()
        .find_map(|f| NaiveDate::parse_from_str(v, f).ok())
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use serde_json::json;

    fn item(v: Value) -> RowsetItem {
        serde_json::from_value(v).expect("item")
    }

    fn map(v: Value) -> Option<CustomerRecord> {
        customer_record(
            &ConnectorName::new("mkt"),
            &ColumnNames::default(),
            &Row::new(&item(v)),
        )
    }

    #[test]
    fn a_full_row_maps_every_field() {
        let r = map(json!({
            "keys": {"customernumber": "C0000042"},
            "values": {
                "email": "Anna.Hansen42@Example.DK", "mobilephone": "+45 20 00 02 94",
                "firstname": "Anna", "lastname": "Hansen", "companyname": "",
                "customerkind": "Person", "loyaltynumber": "71000042", "loyaltytier": "GOLD",
                "country": "dk", "city": "Aarhus", "postalcode": "8000", "street": "Skovvej 3",
                "emailoptin": "True", "smsoptin": "False",
                "optinupdatedat": "3/5/2024 9:30:00 PM", "modifieddate": "2024-03-06T08:00:00Z"
            }
        }))
        .expect("record");
        assert_eq!(r.number, Some(CustomerNumber::new("C0000042")));
        assert_eq!(r.source.native_id, "C0000042");
        assert_eq!(r.source.system, "salesforce-marketing-cloud");
        assert_eq!(r.email.as_deref(), Some("anna.hansen42@example.dk"));
        assert_eq!(r.phone.as_deref(), Some("+4520000294"));
        assert_eq!(r.kind, CustomerKind::Person);
        assert_eq!(r.company_name, None);
        assert_eq!(r.loyalty_tier.as_deref(), Some("GOLD"));
        assert_eq!(r.address.as_ref().map(|a| a.country.as_str()), Some("DK"));
        let when = Utc.with_ymd_and_hms(2024, 3, 5, 21, 30, 0).single();
        assert_eq!(
            r.consents,
            vec![
                Consent {
                    channel: ConsentChannel::Email,
                    granted: true,
                    updated_at: when
                },
                Consent {
                    channel: ConsentChannel::Sms,
                    granted: false,
                    updated_at: when
                },
            ]
        );
        assert_eq!(
            r.updated_at,
            Utc.with_ymd_and_hms(2024, 3, 6, 8, 0, 0).single()
        );
    }

    #[test]
    fn column_names_match_in_any_case() {
        let r = map(json!({
            "keys": {"CustomerNumber": "C1"},
            "values": {"EMAIL": "a@b.dk", "CustomerKind": "company", "CompanyName": "Bo A/S"}
        }))
        .expect("record");
        assert_eq!(r.email.as_deref(), Some("a@b.dk"));
        assert_eq!(r.kind, CustomerKind::Company);
        assert_eq!(r.company_name.as_deref(), Some("Bo A/S"));
    }

    #[test]
    fn a_row_without_its_key_is_skipped_and_empty_columns_are_none() {
        assert!(map(json!({"keys": {}, "values": {"email": "a@b.dk"}})).is_none());
        assert!(map(json!({"keys": {"customernumber": " "}, "values": {}})).is_none());
        let r = map(json!({
            "keys": {"customernumber": "C2"},
            "values": {"email": "", "mobilephone": "not a phone", "emailoptin": "maybe",
                       "country": "", "city": "", "optinupdatedat": "someday"}
        }))
        .expect("record");
        assert_eq!((r.email, r.phone, r.address), (None, None, None));
        assert!(r.consents.is_empty());
    }

    #[test]
    fn booleans_and_dates_in_their_data_extension_forms() {
        for (v, want) in [
            ("True", Some(true)),
            ("false", Some(false)),
            ("1", Some(true)),
            ("N", Some(false)),
            ("", None),
            ("perhaps", None),
        ] {
            assert_eq!(parse_bool(v), want, "{v}");
        }
        let want = Utc.with_ymd_and_hms(2024, 12, 1, 0, 5, 9).single();
        assert_eq!(parse_date("12/1/2024 12:05:09 AM"), want);
        assert_eq!(parse_date("12/01/2024 00:05:09"), want);
        assert_eq!(parse_date("2024-12-01T00:05:09"), want);
        assert_eq!(parse_date("2024-12-01T01:05:09+01:00"), want);
        assert_eq!(
            parse_date("12/1/2024"),
            Utc.with_ymd_and_hms(2024, 12, 1, 0, 0, 0).single()
        );
        assert_eq!(parse_date("13/45/2024 1:00:00 PM"), None);
    }
}
