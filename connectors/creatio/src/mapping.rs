//! Creatio OData 4 rows to the normalised model.
//!
//! The instance model: a **person** is a `Contact` carrying the shared customer number; a
//! **company** is an `Account` carrying the number, whose `PrimaryContact` lookup names the
//! company's contact person (whose names and e-mail the record shows). A Contact that belongs
//! to an Account (`AccountId` set) and has no number of its own is such a contact person: it is
//! answered through its Account, not as a customer of its own.
//!
//! Creatio's conventions on the wire: empty text columns are `""`, empty lookups are the zero
//! GUID, lookups are plain `…Id` GUID columns unless `$expand`ed by their navigation name.
//!
//! Addresses live in the `ContactAddress` / `AccountAddress` details, expanded through
//! `ContactAddressCollectionByContact` / `AccountAddressCollectionByAccount`: the row flagged
//! `Primary` is the address (the first row if none is flagged), with the `City` lookup's name
//! and the `Country` lookup's ISO code. Phones are stored as typed (`MobilePhone`, else `Phone`,
//! for persons; `Phone` for companies) and normalised to E.164 with that country. E-mails are
//! trimmed and lower-cased.

use crate::config::ColumnNames;
use chrono::{DateTime, Utc};
use samlet_connector::prelude::*;
use serde_json::{Map, Value};

/// One entity as an OData 4 collection returns it.
pub(crate) type Row = Map<String, Value>;

pub(crate) const ID: &str = "Id";
pub(crate) const NAME: &str = "Name";
pub(crate) const GIVEN_NAME: &str = "GivenName";
pub(crate) const SURNAME: &str = "Surname";
pub(crate) const EMAIL: &str = "Email";
pub(crate) const MOBILE_PHONE: &str = "MobilePhone";
pub(crate) const PHONE: &str = "Phone";
pub(crate) const ACCOUNT_ID: &str = "AccountId";
pub(crate) const MODIFIED_ON: &str = "ModifiedOn";
pub(crate) const PRIMARY_CONTACT: &str = "PrimaryContact";
pub(crate) const CONTACT_ADDRESSES: &str = "ContactAddressCollectionByContact";
pub(crate) const ACCOUNT_ADDRESSES: &str = "AccountAddressCollectionByAccount";
pub(crate) const PRIMARY: &str = "Primary";
pub(crate) const ADDRESS: &str = "Address";
pub(crate) const ZIP: &str = "Zip";
pub(crate) const CITY: &str = "City";
pub(crate) const COUNTRY: &str = "Country";

/// The GUID Creatio writes for an empty lookup.
pub(crate) const EMPTY_GUID: &str = "00000000-0000-0000-0000-000000000000";

/// What the mapping needs besides the row.
pub(crate) struct MapContext<'a> {
    pub connector: &'a ConnectorName,
    pub columns: &'a ColumnNames,
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "text",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A text column: `None` when absent, null or empty (Creatio's empty text is `""`); an error
/// when it is not text.
fn text<'r>(row: &'r Row, name: &str) -> Result<Option<&'r str>, String> {
    match row.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        Some(other) => Err(format!("column {name} is not text: {}", kind_of(other))),
    }
}

/// A lookup column (`AccountId`): `None` when absent, null or the zero GUID.
fn lookup(row: &Row, name: &str) -> Result<Option<String>, String> {
    Ok(text(row, name)?
        .filter(|id| *id != EMPTY_GUID)
        .map(str::to_owned))
}

/// An expanded single-valued navigation property: `None` when absent or null.
fn nav<'r>(row: &'r Row, name: &str) -> Result<Option<&'r Row>, String> {
    match row.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(o)) => Ok(Some(o)),
        Some(other) => Err(format!("{name} is not an entity: {}", kind_of(other))),
    }
}

fn id(row: &Row) -> Result<String, String> {
    text(row, ID)?
        .map(str::to_owned)
        .ok_or_else(|| "a row has no Id".to_owned())
}

/// `2024-05-01T10:00:00Z` or with an offset and fractions, as OData writes `DateTimeOffset`.
pub(crate) fn parse_datetime(s: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(s)
        .map(|d| d.with_timezone(&Utc))
        .map_err(|_| format!("`{s}` is not a date-time"))
}

fn updated_at(row: &Row) -> Result<Option<DateTime<Utc>>, String> {
    text(row, MODIFIED_ON)?.map(parse_datetime).transpose()
}

/// The primary row of an expanded address detail, as an address; `None` without rows.
fn address(cx: &MapContext<'_>, row: &Row, detail: &str) -> Result<Option<Address>, String> {
    let rows = match row.get(detail) {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Array(rows)) => rows,
        Some(other) => return Err(format!("{detail} is not a collection: {}", kind_of(other))),
    };
    let mut chosen: Option<&Row> = None;
    for r in rows {
        let Value::Object(r) = r else {
            return Err(format!("{detail} holds {}", kind_of(r)));
        };
        let primary = match r.get(PRIMARY) {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(other) => return Err(format!("{PRIMARY} is not a boolean: {}", kind_of(other))),
        };
        if primary {
            chosen = Some(r);
            break;
        }
        chosen = chosen.or(Some(r));
    }
    let Some(a) = chosen else { return Ok(None) };
    let city = nav(a, CITY)?.map(|c| text(c, NAME)).transpose()?.flatten();
    let country = nav(a, COUNTRY)?
        .map(|c| text(c, &cx.columns.country_code))
        .transpose()?
        .flatten();
    let own = |s: Option<&str>| s.unwrap_or_default().trim().to_owned();
    Ok(Some(Address {
        street: own(text(a, ADDRESS)?),
        postal_code: own(text(a, ZIP)?),
        city: own(city),
        country: own(country).to_ascii_uppercase(),
    }))
}

fn record(cx: &MapContext<'_>, native_id: String) -> CustomerRecord {
    CustomerRecord::new(SourceRef {
        connector: cx.connector.clone(),
        system: crate::KIND.to_owned(),
        native_id,
    })
}

/// A Contact row as a person, or `None` for a company's contact person (answered through
/// the company's Account).
pub(crate) fn contact(cx: &MapContext<'_>, row: &Row) -> Result<Option<CustomerRecord>, String> {
    let number = text(row, &cx.columns.customer_number)?;
    if number.is_none() && lookup(row, ACCOUNT_ID)?.is_some() {
        return Ok(None);
    }
    let mut r = record(cx, id(row)?);
    r.kind = CustomerKind::Person;
    r.number = number.map(|n| CustomerNumber::new(n.trim()));
    r.first_name = text(row, GIVEN_NAME)?.map(str::to_owned);
    r.last_name = text(row, SURNAME)?.map(str::to_owned);
    r.email = text(row, EMAIL)?.and_then(normalize_email);
    r.address = address(cx, row, CONTACT_ADDRESSES)?;
    let country = r.address.as_ref().map_or("", |a| a.country.as_str());
    let mobile = text(row, MOBILE_PHONE)?.and_then(|p| normalize_phone(p, country));
    r.phone = match mobile {
        Some(p) => Some(p),
        None => text(row, PHONE)?.and_then(|p| normalize_phone(p, country)),
    };
    r.loyalty_number = text(row, &cx.columns.loyalty_number)?.map(|l| l.trim().to_owned());
    r.updated_at = updated_at(row)?;
    Ok(Some(r))
}

/// An Account row as a company, with its primary contact as the contact person.
pub(crate) fn account(cx: &MapContext<'_>, row: &Row) -> Result<CustomerRecord, String> {
    let mut r = record(cx, id(row)?);
    r.kind = CustomerKind::Company;
    r.number = text(row, &cx.columns.customer_number)?.map(|n| CustomerNumber::new(n.trim()));
    r.company_name = text(row, NAME)?.map(str::to_owned);
    r.address = address(cx, row, ACCOUNT_ADDRESSES)?;
    let country = r.address.as_ref().map_or("", |a| a.country.as_str());
    r.phone = text(row, PHONE)?.and_then(|p| normalize_phone(p, country));
    r.loyalty_number = text(row, &cx.columns.loyalty_number)?.map(|l| l.trim().to_owned());
    r.updated_at = updated_at(row)?;
    if let Some(person) = nav(row, PRIMARY_CONTACT)? {
        r.first_name = text(person, GIVEN_NAME)?.map(str::to_owned);
        r.last_name = text(person, SURNAME)?.map(str::to_owned);
        r.email = text(person, EMAIL)?.and_then(normalize_email);
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn row(v: Value) -> Row {
        match v {
            Value::Object(m) => m,
            _ => unreachable!("test rows are objects"),
        }
    }

    fn with<T>(f: impl FnOnce(&MapContext<'_>) -> T) -> T {
        let name = ConnectorName::new("crm");
        let columns = ColumnNames::default();
        f(&MapContext {
            connector: &name,
            columns: &columns,
        })
    }

    #[test]
    fn a_person_maps_with_the_primary_address_and_a_national_phone_made_e164() {
        let r = row(json!({
            "Id": "0000002a-0001-4000-8000-5a11e7c0ffee", "GivenName": "Åsa", "Surname": "Berg",
            "Email": "Asa.Berg@Example.SE", "MobilePhone": "070-123 45 67", "Phone": "",
            "AccountId": EMPTY_GUID, "UsrCustomerNumber": "C0000042", "UsrLoyaltyNumber": "",
            "ModifiedOn": "2024-05-01T10:00:00Z",
            "ContactAddressCollectionByContact": [
                {"Primary": false, "Address": "Lagerväg 9", "Zip": "41101",
                 "City": {"Name": "Göteborg"}, "Country": {"Code": "SE"}},
                {"Primary": true, "Address": "Storgatan 1", "Zip": "11122",
                 "City": {"Name": "Stockholm"}, "Country": {"Code": "se"}}
            ]
        }));
        let rec = with(|cx| contact(cx, &r)).unwrap().unwrap();
        assert_eq!(rec.kind, CustomerKind::Person);
        assert_eq!(rec.phone.as_deref(), Some("+46701234567"));
        assert_eq!(rec.email.as_deref(), Some("asa.berg@example.se"));
        assert_eq!(rec.number, Some(CustomerNumber::new("C0000042")));
        assert_eq!(rec.loyalty_number, None);
        let a = rec.address.clone().unwrap();
        assert_eq!(
            (a.street.as_str(), a.city.as_str(), a.country.as_str()),
            ("Storgatan 1", "Stockholm", "SE")
        );
        assert_eq!(
            rec.updated_at.unwrap().to_rfc3339(),
            "2024-05-01T10:00:00+00:00"
        );
        // Number, e-mail and phone, and the record's own id.
        assert_eq!(rec.match_keys().len(), 4);
    }

    #[test]
    fn a_company_contact_person_is_not_a_customer_of_its_own() {
        let r = row(
            json!({"Id": "x", "AccountId": "0000002a-0002-4000-8000-5a11e7c0ffee",
            "UsrCustomerNumber": ""}),
        );
        assert_eq!(with(|cx| contact(cx, &r)).unwrap(), None);
    }

    #[test]
    fn an_account_takes_its_names_and_email_from_the_primary_contact() {
        let r = row(json!({
            "Id": "a1", "Name": "Nordisk Møbel A/S", "Phone": "+45 20000001",
            "UsrCustomerNumber": "C0000010", "UsrLoyaltyNumber": "71000010",
            "ModifiedOn": "2024-05-01T10:00:00.000+02:00",
            "PrimaryContact": {"GivenName": "Mette", "Surname": "Holm",
                "Email": "Mette.10@NordiskMobel.example.com"},
            "AccountAddressCollectionByAccount": [
                {"Primary": true, "Address": "Skovvej 2", "Zip": "2100",
                 "City": {"Name": "København"}, "Country": {"Code": "DK"}}
            ]
        }));
        let rec = with(|cx| account(cx, &r)).unwrap();
        assert_eq!(rec.kind, CustomerKind::Company);
        assert_eq!(rec.company_name.as_deref(), Some("Nordisk Møbel A/S"));
        assert_eq!(rec.first_name.as_deref(), Some("Mette"));
        assert_eq!(
            rec.email.as_deref(),
            Some("mette.10@nordiskmobel.example.com")
        );
        assert_eq!(rec.phone.as_deref(), Some("+4520000001"));
        assert_eq!(
            rec.updated_at.unwrap().to_rfc3339(),
            "2024-05-01T08:00:00+00:00"
        );
        // Number, e-mail, phone and loyalty number, and the record's own id.
        assert_eq!(rec.match_keys().len(), 5);
    }

    #[test]
    fn without_a_primary_flag_the_first_address_counts_and_empty_lookups_are_blank() {
        let r = row(json!({
            "Id": "c1", "UsrCustomerNumber": "C1", "AccountId": null,
            "ContactAddressCollectionByContact": [
                {"Address": "Skovvej 1", "Zip": "", "City": null, "Country": {"Code": "dk"}},
                {"Address": "Skovvej 2", "Primary": false}
            ]
        }));
        let rec = with(|cx| contact(cx, &r)).unwrap().unwrap();
        let a = rec.address.unwrap();
        assert_eq!((a.street.as_str(), a.city.as_str()), ("Skovvej 1", ""));
        assert_eq!(a.country, "DK");
        let r = row(json!({"Id": "c2", "ContactAddressCollectionByContact": []}));
        assert_eq!(with(|cx| contact(cx, &r)).unwrap().unwrap().address, None);
    }

    #[test]
    fn wrong_types_and_missing_ids_are_errors_not_panics() {
        let r = row(json!({"Id": "c", "Email": 42}));
        assert!(with(|cx| contact(cx, &r)).unwrap_err().contains("Email"));
        let r = row(json!({"Name": "x"}));
        assert!(with(|cx| account(cx, &r)).is_err());
        let r = row(json!({"Id": "a", "PrimaryContact": "c"}));
        assert!(with(|cx| account(cx, &r)).is_err());
        let r = row(json!({"Id": "a", "ModifiedOn": "yesterday"}));
        assert!(with(|cx| account(cx, &r)).is_err());
        let r = row(json!({"Id": "a", "AccountAddressCollectionByAccount": {"Address": "x"}}));
        assert!(with(|cx| account(cx, &r)).is_err());
        let r = row(json!({"Id": "a", "AccountAddressCollectionByAccount": [{"Primary": "yes"}]}));
        assert!(with(|cx| account(cx, &r)).is_err());
    }

    #[test]
    fn an_unparseable_phone_is_dropped_not_fatal() {
        let r = row(json!({"Id": "c", "MobilePhone": "ask reception", "Phone": "+45 12 34 56 78"}));
        let rec = with(|cx| contact(cx, &r)).unwrap().unwrap();
        assert_eq!(rec.phone.as_deref(), Some("+4512345678"), "Phone stands in");
        let r = row(json!({"Id": "c", "MobilePhone": "ask reception"}));
        assert_eq!(with(|cx| contact(cx, &r)).unwrap().unwrap().phone, None);
    }
}
