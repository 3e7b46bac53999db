//! The org's data, computed from the world on demand: one Contact per customer (a person, or a
//! company's contact person) and one business Account per company, with the fields an org
//! set up for Samlet has, looked up through the world's indexes.

use samlet_connector::model::{normalize_phone, CustomerKind};
use samlet_testkit::world::{CustomerSlice, SystemCustomer, World};
use serde_json::{Map, Value};

/// The sObjects the simulator serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Obj {
    Contact,
    Account,
}

impl Obj {
    pub(crate) fn parse(name: &str) -> Option<Obj> {
        if name.eq_ignore_ascii_case("Contact") {
            Some(Obj::Contact)
        } else if name.eq_ignore_ascii_case("Account") {
            Some(Obj::Account)
        } else {
            None
        }
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Obj::Contact => "Contact",
            Obj::Account => "Account",
        }
    }

    fn key_prefix(self) -> &'static str {
        match self {
            Obj::Contact => "003",
            Obj::Account => "001",
        }
    }

    fn fields(self) -> &'static [&'static str] {
        match self {
            Obj::Contact => &CONTACT_FIELDS,
            Obj::Account => &ACCOUNT_FIELDS,
        }
    }
}

/// The lookup from Account to its primary Contact.
pub(crate) const PRIMARY_CONTACT_FIELD: &str = "Primary_Contact__c";
/// Its relationship name, for `Primary_Contact__r.Email` in SOQL.
pub(crate) const PRIMARY_CONTACT_REL: &str = "Primary_Contact__r";

const CONTACT_FIELDS: [&str; 17] = [
    "Id",
    "AccountId",
    "FirstName",
    "LastName",
    "Name",
    "Email",
    "Phone",
    "MailingStreet",
    "MailingPostalCode",
    "MailingCity",
    "MailingCountry",
    "MailingCountryCode",
    "Customer_Number__c",
    "Loyalty_Number__c",
    "Phone_E164__c",
    "CreatedDate",
    "LastModifiedDate",
];

const ACCOUNT_FIELDS: [&str; 16] = [
    "Id",
    "Name",
    "Type",
    "Phone",
    "BillingStreet",
    "BillingPostalCode",
    "BillingCity",
    "BillingCountry",
    "BillingCountryCode",
    "Customer_Number__c",
    "Loyalty_Number__c",
    "Phone_E164__c",
    PRIMARY_CONTACT_FIELD,
    "CreatedDate",
    "LastModifiedDate",
    "IsPersonAccount",
];

/// A field of a query's select list or filter, by its canonical name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FieldRef {
    /// A field of the record itself.
    Own(&'static str),
    /// A field of an Account's primary Contact.
    PrimaryContact(&'static str),
}

impl FieldRef {
    /// Resolves a (case-insensitive) name on `obj`; `None` if the org has no such field.
    pub(crate) fn resolve(obj: Obj, name: &str) -> Option<FieldRef> {
        let find = |list: &[&'static str], n: &str| {
            list.iter().copied().find(|f| f.eq_ignore_ascii_case(n))
        };
        match name.split_once('.') {
            None => find(obj.fields(), name).map(FieldRef::Own),
            Some((rel, field))
                if obj == Obj::Account && rel.eq_ignore_ascii_case(PRIMARY_CONTACT_REL) =>
            {
                find(&CONTACT_FIELDS, field).map(FieldRef::PrimaryContact)
            }
            Some(_) => None,
        }
    }
}

/// Every own field of `obj`, for a single-record read without `fields`.
pub(crate) fn all_fields(obj: Obj) -> Vec<FieldRef> {
    obj.fields().iter().map(|f| FieldRef::Own(f)).collect()
}

/// The 18-character record id of customer `i`'s Contact or Account.
pub(crate) fn record_id(obj: Obj, i: u32) -> String {
    format!("{}Sa{i:010}AAA", obj.key_prefix())
}

/// The customer index behind a record id (15- or 18-character form).
pub(crate) fn parse_id(obj: Obj, id: &str) -> Option<u32> {
    let rest = id.strip_prefix(obj.key_prefix())?.strip_prefix("Sa")?;
    let digits = match rest.len() {
        10 => rest,
        13 => rest.strip_suffix("AAA")?,
        _ => return None,
    };
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

fn country_name(code: &str) -> &'static str {
    match code {
        "DK" => "Denmark",
        "SE" => "Sweden",
        "NO" => "Norway",
        "FI" => "Finland",
        "DE" => "Germany",
        _ => "",
    }
}

fn datetime(t: chrono::DateTime<chrono::Utc>) -> Value {
    Value::String(t.format("%Y-%m-%dT%H:%M:%S%.3f+0000").to_string())
}

fn text(s: Option<&str>) -> Value {
    s.map_or(Value::Null, |s| Value::String(s.to_owned()))
}

/// One customer as the org holds it.
pub(crate) struct Held {
    pub index: u32,
    pub customer: SystemCustomer,
}

impl Held {
    /// Customer `i`, if the world has it.
    pub(crate) fn get(world: &World, i: u32) -> Option<Held> {
        world
            .system_customer(CustomerSlice::Crm, i)
            .map(|customer| Held { index: i, customer })
    }

    fn is_company(&self) -> bool {
        self.customer.kind == CustomerKind::Company
    }

    /// Whether `obj` has a record for this customer: a Contact for everyone, an Account for
    /// companies.
    pub(crate) fn has(&self, obj: Obj) -> bool {
        obj == Obj::Contact || self.is_company()
    }

    /// Whether `obj` holds this customer's number, phone and loyalty number: the Contact for
    /// a person, the Account for a company.
    pub(crate) fn holds_keys(&self, obj: Obj) -> bool {
        (obj == Obj::Account) == self.is_company()
    }

    /// The phone as typed, normalised to E.164 (what `Phone_E164__c` computes).
    pub(crate) fn phone_e164(&self) -> Option<String> {
        let c = &self.customer;
        c.phone
            .as_deref()
            .and_then(|p| normalize_phone(p, &c.address.country))
    }

    fn value(&self, obj: Obj, field: &str) -> Value {
        let c = &self.customer;
        let keys = self.holds_keys(obj);
        let a = &c.address;
        match (obj, field) {
            (_, "Id") => Value::String(record_id(obj, self.index)),
            (Obj::Contact, "AccountId") => match self.is_company() {
                true => Value::String(record_id(Obj::Account, self.index)),
                false => Value::Null,
            },
            (Obj::Contact, "FirstName") => text(Some(&c.first_name)),
            (Obj::Contact, "LastName") => text(Some(&c.last_name)),
            (Obj::Contact, "Name") => Value::String(format!("{} {}", c.first_name, c.last_name)),
            (Obj::Contact, "Email") => text(Some(&c.email)),
            (Obj::Account, "Name") => text(c.company_name.as_deref()),
            (Obj::Account, "Type") => Value::String("Customer".into()),
            (Obj::Account, "IsPersonAccount") => Value::Bool(false),
            (Obj::Account, PRIMARY_CONTACT_FIELD) => {
                Value::String(record_id(Obj::Contact, self.index))
            }
            (_, "Phone") => text(c.phone.as_deref().filter(|_| keys)),
            (_, "Phone_E164__c") => text(self.phone_e164().as_deref().filter(|_| keys)),
            (_, "Customer_Number__c") => text(Some(c.number.as_str()).filter(|_| keys)),
            (_, "Loyalty_Number__c") => text(c.loyalty_number.as_deref().filter(|_| keys)),
            (_, "MailingStreet" | "BillingStreet") => text(Some(&a.street)),
            (_, "MailingPostalCode" | "BillingPostalCode") => text(Some(&a.postal_code)),
            (_, "MailingCity" | "BillingCity") => text(Some(&a.city)),
            (_, "MailingCountry" | "BillingCountry") => text(Some(country_name(&a.country))),
            (_, "MailingCountryCode" | "BillingCountryCode") => text(Some(&a.country)),
            (_, "CreatedDate") => datetime(c.updated_at - chrono::Duration::days(400)),
            (_, "LastModifiedDate") => datetime(c.updated_at),
            _ => Value::Null,
        }
    }

    fn attributes(obj: Obj, index: u32, version: &str) -> Value {
        serde_json::json!({
            "type": obj.name(),
            "url": format!("/services/data/{version}/sobjects/{}/{}", obj.name(), record_id(obj, index)),
        })
    }

    /// The record of `obj` with the `select`ed fields, as the Query resource returns it.
    pub(crate) fn record(&self, obj: Obj, select: &[FieldRef], version: &str) -> Value {
        let mut m = Map::new();
        m.insert(
            "attributes".into(),
            Held::attributes(obj, self.index, version),
        );
        for f in select {
            match *f {
                FieldRef::Own(name) => {
                    m.insert(name.into(), self.value(obj, name));
                }
                FieldRef::PrimaryContact(name) => {
                    let nested = m.entry(PRIMARY_CONTACT_REL).or_insert_with(|| {
                        let mut n = Map::new();
                        n.insert(
                            "attributes".into(),
                            Held::attributes(Obj::Contact, self.index, version),
                        );
                        Value::Object(n)
                    });
                    if let Value::Object(n) = nested {
                        n.insert(name.into(), self.value(Obj::Contact, name));
                    }
                }
            }
        }
        Value::Object(m)
    }
}

/// The customer whose `obj` record has `value` in the filterable `field`; `Err` if the
/// simulator cannot filter on that field.
pub(crate) fn lookup(
    world: &World,
    obj: Obj,
    field: FieldRef,
    value: &str,
) -> Result<Option<Held>, ()> {
    use samlet_connector::ids::CustomerNumber;
    let held = |i: Option<u32>| i.and_then(|i| Held::get(world, i));
    let found = match (obj, field) {
        (_, FieldRef::Own("Id")) => held(parse_id(obj, value)).filter(|h| h.has(obj)),
        (_, FieldRef::Own("Customer_Number__c")) => {
            held(world.customer_index(&CustomerNumber::new(value))).filter(|h| h.holds_keys(obj))
        }
        (_, FieldRef::Own("Loyalty_Number__c")) => held(world.customer_by_loyalty(value))
            .filter(|h| h.holds_keys(obj) && h.customer.loyalty_number.as_deref() == Some(value)),
        (_, FieldRef::Own("Phone_E164__c")) => held(world.customer_by_phone(value))
            .filter(|h| h.holds_keys(obj) && h.phone_e164().as_deref() == Some(value)),
        // SOQL compares text case-insensitively; the world indexes lower-case e-mails.
        (Obj::Contact, FieldRef::Own("Email"))
        | (Obj::Account, FieldRef::PrimaryContact("Email")) => {
            held(world.customer_by_email(&value.to_lowercase())).filter(|h| h.has(obj))
        }
        (Obj::Contact, FieldRef::Own("AccountId")) => {
            held(parse_id(Obj::Account, value)).filter(|h| h.has(Obj::Account))
        }
        (Obj::Account, FieldRef::Own(PRIMARY_CONTACT_FIELD)) => {
            held(parse_id(Obj::Contact, value)).filter(|h| h.has(Obj::Account))
        }
        _ => return Err(()),
    };
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_ids_round_trip_in_both_lengths() {
        let id = record_id(Obj::Contact, 42);
        assert_eq!(id.len(), 18);
        assert_eq!(parse_id(Obj::Contact, &id), Some(42));
        assert_eq!(parse_id(Obj::Contact, &id[..15]), Some(42));
        assert_eq!(parse_id(Obj::Account, &id), None);
        assert_eq!(parse_id(Obj::Contact, "003SaABCDEFGHIJAAA"), None);
    }

    #[test]
    fn relationship_fields_resolve_only_on_accounts() {
        assert_eq!(
            FieldRef::resolve(Obj::Account, "primary_contact__r.email"),
            Some(FieldRef::PrimaryContact("Email"))
        );
        assert_eq!(
            FieldRef::resolve(Obj::Contact, "Primary_Contact__r.Email"),
            None
        );
        assert_eq!(FieldRef::resolve(Obj::Contact, "Shoe_Size__c"), None);
    }
}
