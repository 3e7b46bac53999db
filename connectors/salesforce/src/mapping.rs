//! Salesforce records to the normalised model.
//!
//! The org model: a **person** is a Contact carrying the shared customer number; a **company**
//! is a business Account carrying the number, with a lookup to its primary Contact (the
//! company's contact person, whose name and e-mail the record shows). A Contact that belongs
//! to an Account and has no number of its own is such a contact person: it is answered through
//! its Account, not as a customer of its own.
//!
//! Phones are stored as typed (`12 34 56 78`) and normalised to E.164 with the record's ISO
//! country (`MailingCountryCode` / `BillingCountryCode`, which orgs with state and country
//! picklists maintain). E-mails are trimmed and lower-cased.

use crate::config::{FieldNames, WishlistNames};
use chrono::{DateTime, Utc};
use samlet_connector::prelude::*;
use serde_json::{Map, Value};

/// One record as the Query resource returns it.
pub(crate) type Row = Map<String, Value>;

pub(crate) const ID: &str = "Id";
pub(crate) const ACCOUNT_ID: &str = "AccountId";
pub(crate) const NAME: &str = "Name";
pub(crate) const FIRST_NAME: &str = "FirstName";
pub(crate) const LAST_NAME: &str = "LastName";
pub(crate) const EMAIL: &str = "Email";
pub(crate) const PHONE: &str = "Phone";
pub(crate) const LAST_MODIFIED: &str = "LastModifiedDate";
pub(crate) const CREATED: &str = "CreatedDate";
const MAILING: [&str; 4] = [
    "MailingStreet",
    "MailingPostalCode",
    "MailingCity",
    "MailingCountryCode",
];
const BILLING: [&str; 4] = [
    "BillingStreet",
    "BillingPostalCode",
    "BillingCity",
    "BillingCountryCode",
];

/// The Contact fields the mapping reads, in SELECT order.
pub(crate) fn contact_fields(f: &FieldNames) -> Vec<String> {
    let mut out: Vec<String> = [ID, ACCOUNT_ID, FIRST_NAME, LAST_NAME, EMAIL, PHONE]
        .iter()
        .chain(&MAILING)
        .map(|s| (*s).to_owned())
        .collect();
    out.extend([
        f.customer_number.clone(),
        f.loyalty_number.clone(),
        LAST_MODIFIED.to_owned(),
    ]);
    out
}

/// The Account fields the mapping reads (with the primary Contact's, through the lookup).
pub(crate) fn account_fields(f: &FieldNames) -> Vec<String> {
    let mut out: Vec<String> = [ID, NAME, PHONE]
        .iter()
        .chain(&BILLING)
        .map(|s| (*s).to_owned())
        .collect();
    out.extend([f.customer_number.clone(), f.loyalty_number.clone()]);
    out.extend(
        [FIRST_NAME, LAST_NAME, EMAIL]
            .iter()
            .map(|c| format!("{}.{c}", f.primary_contact)),
    );
    out.push(LAST_MODIFIED.to_owned());
    out
}

/// What the mapping needs besides the row.
pub(crate) struct MapContext<'a> {
    pub connector: &'a ConnectorName,
    pub fields: &'a FieldNames,
}

/// A field by API name. Salesforce answers with each field's own spelling, which may differ
/// in case from the configured one; names are case-insensitive in Salesforce.
fn field<'r>(row: &'r Row, name: &str) -> Option<&'r Value> {
    row.get(name).or_else(|| {
        row.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    })
}

/// A text field: `None` when absent, null or empty; an error when it is not text.
fn text<'r>(row: &'r Row, name: &str) -> Result<Option<&'r str>, String> {
    match field(row, name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        Some(other) => Err(format!("field {name} is not text: {}", kind_of(other))),
    }
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

fn id(row: &Row) -> Result<String, String> {
    text(row, ID)?
        .map(str::to_owned)
        .ok_or_else(|| "a record has no Id".to_owned())
}

/// `2024-05-01T10:00:00.000+0000`, as Salesforce writes date-times.
pub(crate) fn parse_datetime(s: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f%z")
        .or_else(|_| DateTime::parse_from_rfc3339(s))
        .map(|d| d.with_timezone(&Utc))
        .map_err(|_| format!("`{s}` is not a date-time"))
}

fn updated_at(row: &Row) -> Result<Option<DateTime<Utc>>, String> {
    text(row, LAST_MODIFIED)?.map(parse_datetime).transpose()
}

/// Street, postal code, city and ISO country from four address fields; `None` if all empty.
fn address(row: &Row, parts: &[&str; 4]) -> Result<Option<Address>, String> {
    let [street, postal, city, country] = [
        text(row, parts[0])?,
        text(row, parts[1])?,
        text(row, parts[2])?,
        text(row, parts[3])?,
    ];
    if street.is_none() && postal.is_none() && city.is_none() && country.is_none() {
        return Ok(None);
    }
    let own = |s: Option<&str>| s.unwrap_or_default().to_owned();
    Ok(Some(Address {
        street: own(street),
        postal_code: own(postal),
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
    let number = text(row, &cx.fields.customer_number)?;
    if number.is_none() && text(row, ACCOUNT_ID)?.is_some() {
        return Ok(None);
    }
    let mut r = record(cx, id(row)?);
    r.kind = CustomerKind::Person;
    r.number = number.map(CustomerNumber::new);
    r.first_name = text(row, FIRST_NAME)?.map(str::to_owned);
    r.last_name = text(row, LAST_NAME)?.map(str::to_owned);
    r.email = text(row, EMAIL)?.and_then(normalize_email);
    r.address = address(row, &MAILING)?;
    let country = r.address.as_ref().map_or("", |a| a.country.as_str());
    r.phone = text(row, PHONE)?.and_then(|p| normalize_phone(p, country));
    r.loyalty_number = text(row, &cx.fields.loyalty_number)?.map(str::to_owned);
    r.updated_at = updated_at(row)?;
    Ok(Some(r))
}

/// An Account row as a company, with its primary Contact as the contact person.
pub(crate) fn account(cx: &MapContext<'_>, row: &Row) -> Result<CustomerRecord, String> {
    let mut r = record(cx, id(row)?);
    r.kind = CustomerKind::Company;
    r.number = text(row, &cx.fields.customer_number)?.map(CustomerNumber::new);
    r.company_name = text(row, NAME)?.map(str::to_owned);
    r.address = address(row, &BILLING)?;
    let country = r.address.as_ref().map_or("", |a| a.country.as_str());
    r.phone = text(row, PHONE)?.and_then(|p| normalize_phone(p, country));
    r.loyalty_number = text(row, &cx.fields.loyalty_number)?.map(str::to_owned);
    r.updated_at = updated_at(row)?;
    let relationship = &cx.fields.primary_contact;
    match field(row, relationship) {
        None | Some(Value::Null) => {}
        Some(Value::Object(person)) => {
            r.first_name = text(person, FIRST_NAME)?.map(str::to_owned);
            r.last_name = text(person, LAST_NAME)?.map(str::to_owned);
            r.email = text(person, EMAIL)?.and_then(normalize_email);
        }
        Some(other) => {
            return Err(format!(
                "relationship {relationship} is not a record: {}",
                kind_of(other)
            ))
        }
    }
    Ok(r)
}

/// One row of the wishlist object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct WishRow {
    /// The record id.
    pub id: String,
    /// The external-id key (`<customer number>|<sku>`), if the row has one: rows made outside
    /// Samlet may not.
    pub key: Option<String>,
    /// The item.
    pub item: WishlistItem,
}

/// A wishlist row; `None` for a row without a SKU (nothing to show). A row without
/// `Added_At__c` (made by hand in Salesforce) counts as added when it was created.
pub(crate) fn wish_row(names: &WishlistNames, row: &Row) -> Result<Option<WishRow>, String> {
    let Some(sku) = text(row, &names.sku)? else {
        return Ok(None);
    };
    let added_at = match text(row, &names.added_at)? {
        Some(t) => parse_datetime(t)?,
        None => text(row, CREATED)?
            .map(parse_datetime)
            .transpose()?
            .ok_or_else(|| format!("a row has neither {} nor {CREATED}", names.added_at))?,
    };
    let channel = text(row, &names.channel)?.and_then(|c| c.parse::<Channel>().ok());
    Ok(Some(WishRow {
        id: id(row)?,
        key: text(row, &names.key)?.map(str::to_owned),
        item: WishlistItem {
            sku: Sku::new(sku),
            added_at,
            channel,
        },
    }))
}

/// A customer's rows in query order (oldest first), rows without a SKU left out.
pub(crate) fn wish_rows(names: &WishlistNames, rows: &[Row]) -> Result<Vec<WishRow>, String> {
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        if let Some(r) = wish_row(names, row)? {
            out.push(r);
        }
    }
    Ok(out)
}

/// The wishlist the rows make, each SKU once: the oldest row of a SKU stands for it when an
/// org holds duplicates made outside Samlet.
pub(crate) fn wishlist(customer: &CustomerNumber, rows: &[WishRow]) -> Wishlist {
    let mut items: Vec<WishlistItem> = Vec::with_capacity(rows.len());
    for r in rows {
        if !items.iter().any(|i| i.sku == r.item.sku) {
            items.push(r.item.clone());
        }
    }
    Wishlist {
        customer: customer.clone(),
        items,
    }
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
        let fields = FieldNames::default();
        f(&MapContext {
            connector: &name,
            fields: &fields,
        })
    }

    #[test]
    fn a_person_contact_maps_with_a_national_phone_made_e164() {
        let r = row(json!({
            "attributes": {"type": "Contact", "url": "/services/data/v62.0/sobjects/Contact/003x"},
            "Id": "003x", "AccountId": null, "FirstName": "Åsa", "LastName": "Berg",
            "Email": "Asa.Berg@Example.SE", "Phone": "070-123 45 67",
            "MailingStreet": "Storgatan 1", "MailingPostalCode": "11122", "MailingCity": "Stockholm",
            "MailingCountryCode": "SE", "Customer_Number__c": "C0000007", "Loyalty_Number__c": null,
            "LastModifiedDate": "2024-05-01T10:00:00.000+0000"
        }));
        let rec = with(|cx| contact(cx, &r)).unwrap().unwrap();
        assert_eq!(rec.kind, CustomerKind::Person);
        assert_eq!(rec.phone.as_deref(), Some("+46701234567"));
        assert_eq!(rec.email.as_deref(), Some("asa.berg@example.se"));
        assert_eq!(rec.number, Some(CustomerNumber::new("C0000007")));
        assert_eq!(rec.loyalty_number, None);
        assert_eq!(rec.address.unwrap().country, "SE");
        assert_eq!(rec.source.native_id, "003x");
        assert_eq!(
            rec.updated_at.unwrap().to_rfc3339(),
            "2024-05-01T10:00:00+00:00"
        );
    }

    #[test]
    fn a_company_contact_person_is_not_a_customer_of_its_own() {
        let r = row(json!({"Id": "003y", "AccountId": "001y", "Customer_Number__c": null}));
        assert_eq!(with(|cx| contact(cx, &r)).unwrap(), None);
    }

    #[test]
    fn an_account_takes_its_names_and_email_from_the_primary_contact() {
        let r = row(json!({
            "Id": "001z", "Name": "Nordisk Møbel A/S", "Phone": "+45 20000001",
            "BillingStreet": "Skovvej 2", "BillingPostalCode": "2100", "BillingCity": "København",
            "BillingCountryCode": "DK", "Customer_Number__c": "C0000010", "Loyalty_Number__c": "71000010",
            "Primary_Contact__r": {"attributes": {"type": "Contact"}, "FirstName": "Mette",
                "LastName": "Holm", "Email": "Mette.10@NordiskMobel.example.com"},
            "LastModifiedDate": "2024-05-01T10:00:00.000+0000"
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
        assert_eq!(rec.loyalty_number.as_deref(), Some("71000010"));
        // Number, e-mail, phone and loyalty number, and the record's own id.
        assert_eq!(rec.match_keys().len(), 5);
    }

    #[test]
    fn field_names_match_case_insensitively() {
        let r = row(json!({"Id": "003q", "customer_number__c": "C0000001"}));
        let rec = with(|cx| contact(cx, &r)).unwrap().unwrap();
        assert_eq!(rec.number, Some(CustomerNumber::new("C0000001")));
    }

    #[test]
    fn wrong_types_and_missing_ids_are_errors_not_panics() {
        let r = row(json!({"Id": "003q", "Email": 42}));
        assert!(with(|cx| contact(cx, &r)).unwrap_err().contains("Email"));
        let r = row(json!({"Name": "x"}));
        assert!(with(|cx| account(cx, &r)).is_err());
        let r = row(json!({"Id": "001q", "Primary_Contact__r": "003q"}));
        assert!(with(|cx| account(cx, &r)).is_err());
        let r = row(json!({"Id": "001q", "LastModifiedDate": "yesterday"}));
        assert!(with(|cx| account(cx, &r)).is_err());
    }

    #[test]
    fn wishlist_rows_map_with_channel_and_fall_back_to_created_date() {
        let names = WishlistNames::default();
        let rows = [
            row(
                json!({"Id": "a0W1", "SKU__c": "P1-OAK", "Added_At__c": "2024-05-01T10:00:00.000+0000",
                "Channel__c": "Kiosk", "Samlet_Key__c": "C1|P1-OAK", "CreatedDate": "2024-05-01T10:00:01.000+0000"}),
            ),
            row(
                json!({"Id": "a0W2", "sku__c": "P2-ASH", "Added_At__c": null, "Channel__c": "by phone",
                "CreatedDate": "2024-05-02T10:00:00.000+0000"}),
            ),
            row(
                json!({"Id": "a0W3", "SKU__c": "P1-OAK", "Added_At__c": "2024-05-03T10:00:00.000+0000"}),
            ),
            row(json!({"Id": "a0W4", "SKU__c": null})),
        ];
        let got = wish_rows(&names, &rows).unwrap();
        assert_eq!(got.len(), 3, "{got:?}");
        let list = wishlist(&CustomerNumber::new("C1"), &got);
        assert_eq!(list.items.len(), 2, "one item per SKU: {list:?}");
        assert_eq!(
            list.items[0].added_at.to_rfc3339(),
            "2024-05-01T10:00:00+00:00"
        );
        assert_eq!(got[0].item.channel, Some(Channel::Kiosk));
        assert_eq!(got[0].key.as_deref(), Some("C1|P1-OAK"));
        assert_eq!(got[1].item.sku, Sku::new("P2-ASH"));
        assert_eq!(got[1].item.channel, None);
        assert_eq!(
            got[1].item.added_at.to_rfc3339(),
            "2024-05-02T10:00:00+00:00"
        );
        let bad = row(json!({"Id": "a0W5", "SKU__c": "P1-OAK"}));
        assert!(wish_row(&names, &bad).unwrap_err().contains("Added_At__c"));
    }

    #[test]
    fn an_unparseable_phone_is_dropped_not_fatal() {
        let r = row(json!({"Id": "003q", "Phone": "ask reception", "MailingCountryCode": "DK"}));
        let rec = with(|cx| contact(cx, &r)).unwrap().unwrap();
        assert_eq!(rec.phone, None);
    }
}
