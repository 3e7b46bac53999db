//! Customer routes of the simulated site, serving the world's ERP slice (everyone who ordered,
//! and every company) as customer contacts:
//!
//! - `GET /episerverapi/commerce/customers/contact/{contactId}`: the Service API's `Contact`
//!   (`PrimaryKeyId`, `FirstName`, `LastName`, `Email`, `RegistrationSource`, `Addresses`).
//! - `GET /episerverapi/commerce/samlet/customers?customerNumber=..&email=..&phone=..&contactId=..`:
//!   the Samlet add-on's lookup. Any mix of keys (repeat a parameter for several values), at
//!   most 50 values, or semantics; e-mails compare without regard to case, phones on their
//!   international form. Answers the contacts with their `CustomerNumber`, `CustomerGroup` and
//!   `Organization` (companies: name and `OrgCustomerGroup`).
//!
//! Contact ids are deterministic GUIDs that carry the customer's index, so a lookup by id is an
//! index lookup, never a scan. E-mails are stored in the ERP slice's casing, phones in its
//! `0045...` form, addresses with three-letter country codes.

use super::{alpha3, bad_request, country_name, guid, guid_number, ok, time};
use axum::response::Response;
use samlet_connector::ids::CustomerNumber;
use samlet_connector::model::{normalize_email, normalize_phone, CustomerKind};
use samlet_testkit::world::{CustomerSlice, SystemCustomer};
use samlet_testkit::World;
use serde_json::{json, Value};

/// Keys one lookup may carry.
pub const MAX_LOOKUP_KEYS: usize = 50;
const CONTACT_SALT: u64 = 0x00C0_4AC7;
const ORGANIZATION_SALT: u64 = 0x0000_46A2;
const ADDRESS_SALT: u64 = 0x0ADD_2E55;

/// The contact id of customer `i`.
pub fn contact_id(i: u32) -> String {
    guid(CONTACT_SALT, i as u64)
}

/// The customer index of a contact id, if it names a customer of the world's ERP slice.
pub fn contact_index(w: &World, id: &str) -> Option<u32> {
    let i = u32::try_from(guid_number(CONTACT_SALT, id)?).ok()?;
    w.in_slice(CustomerSlice::Erp, i).then_some(i)
}

fn address(sys: &SystemCustomer, i: u32) -> Value {
    json!({
        "AddressId": guid(ADDRESS_SALT, i as u64),
        "Modified": time(sys.updated_at),
        "Name": "Primary",
        "FirstName": sys.first_name,
        "LastName": sys.last_name,
        "CountryName": country_name(&sys.address.country),
        "CountryCode": alpha3(&sys.address.country),
        "City": sys.address.city,
        "PostalCode": sys.address.postal_code,
        "Line1": sys.address.street,
        "Line2": "",
        "RegionName": "",
        "RegionCode": "",
        "Email": sys.email,
        "ShippingDefault": true,
        "BillingDefault": true,
        "DaytimePhoneNumber": sys.phone.clone().unwrap_or_default(),
        "EveningPhoneNumber": "",
        "Organization": sys.company_name.clone().unwrap_or_default(),
    })
}

fn record(w: &World, i: u32) -> Option<SystemCustomer> {
    w.system_customer(CustomerSlice::Erp, i)
}

/// The Samlet lookup's view of customer `i`.
pub fn customer_json(w: &World, i: u32) -> Option<Value> {
    let sys = record(w, i)?;
    let organization = (sys.kind == CustomerKind::Company).then(|| {
        json!({
            "PrimaryKeyId": guid(ORGANIZATION_SALT, i as u64),
            "Name": sys.company_name.clone().unwrap_or_default(),
            "OrganizationType": "Organization",
            "OrgCustomerGroup": sys.customer_group.as_ref().map(|g| g.as_str()).unwrap_or(""),
        })
    });
    Some(json!({
        "PrimaryKeyId": contact_id(i),
        "CustomerNumber": sys.number.as_str(),
        "FirstName": sys.first_name,
        "LastName": sys.last_name,
        "Email": sys.email,
        "RegistrationSource": "ERP import",
        "CustomerGroup": sys.customer_group.as_ref().map(|g| g.as_str()).unwrap_or(""),
        "Organization": organization,
        "Addresses": [address(&sys, i)],
        "Modified": time(sys.updated_at),
    }))
}

/// `GET /customers/contact/{contactId}`.
pub fn contact(w: &World, id: &str) -> Response {
    let Some(i) = contact_index(w, id) else {
        return super::not_found();
    };
    let Some(sys) = record(w, i) else {
        return super::not_found();
    };
    ok(&json!({
        "PrimaryKeyId": contact_id(i),
        "Addresses": [address(&sys, i)],
        "FirstName": sys.first_name,
        "LastName": sys.last_name,
        "Email": sys.email,
        "RegistrationSource": "ERP import",
    }))
}

fn by_phone(w: &World, raw: &str) -> Option<u32> {
    let e164 = normalize_phone(raw, "DK")?;
    let i = w.customer_by_phone(&e164)?;
    let sys = record(w, i)?;
    let country = w.customer(i).country;
    sys.phone
        .as_deref()
        .and_then(|p| normalize_phone(p, country))
        .filter(|p| *p == e164)
        .map(|_| i)
}

/// `GET /samlet/customers?...`.
pub fn lookup(w: &World, query: &str) -> Response {
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    if pairs.is_empty() {
        return bad_request("Give at least one of customerNumber, email, phone or contactId.");
    }
    if pairs.len() > MAX_LOOKUP_KEYS {
        return bad_request(&format!(
            "At most {MAX_LOOKUP_KEYS} keys per request; got {}.",
            pairs.len()
        ));
    }
    let mut hits: Vec<u32> = Vec::new();
    for (key, value) in &pairs {
        let found = match key.as_str() {
            "customerNumber" => w.customer_index(&CustomerNumber::new(value.trim())),
            "email" => normalize_email(value).and_then(|e| w.customer_by_email(&e)),
            "phone" => by_phone(w, value),
            "contactId" => contact_index(w, value),
            other => {
                return bad_request(&format!(
                    "Unknown filter '{other}'; use customerNumber, email, phone or contactId."
                ))
            }
        };
        if let Some(i) = found.filter(|&i| w.in_slice(CustomerSlice::Erp, i)) {
            if !hits.contains(&i) {
                hits.push(i);
            }
        }
    }
    let body: Vec<Value> = hits.iter().filter_map(|&i| customer_json(w, i)).collect();
    ok(&Value::Array(body))
}
