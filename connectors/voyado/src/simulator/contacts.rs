//! Contact endpoints: id lookup, contact by id, and the v2 `bykey` / `byexternalid` reads.
//! Every identifier resolves through the world's indexes (e-mail, phone, customer number,
//! loyalty number, id), never by scanning.

use super::wire::{self, contact_id, contact_index, ts, ApiError};
use super::{Sim, SLICE};
use crate::config::CustomKey;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::Duration;
use samlet_connector::prelude::{normalize_email, normalize_phone, ConsentChannel, CustomerNumber};
use samlet_testkit::world::SystemCustomer;
use serde_json::{json, Map, Value};
use std::sync::Arc;

/// The contact types of the simulated tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ContactType {
    /// Loyalty club members.
    Member,
    /// Everyone else (newsletter subscribers, prospects, customers without membership).
    Contact,
}

impl ContactType {
    fn parse(raw: &str) -> Result<ContactType, ApiError> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "member" => Ok(ContactType::Member),
            "contact" => Ok(ContactType::Contact),
            _ => Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "InvalidContactType",
                format!("`{raw}` is not a contact type of this tenant (Member, Contact)."),
            )),
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            ContactType::Member => "Member",
            ContactType::Contact => "Contact",
        }
    }

    fn of(sys: &SystemCustomer) -> ContactType {
        if sys.loyalty_number.is_some() {
            ContactType::Member
        } else {
            ContactType::Contact
        }
    }
}

fn query(raw: Option<String>) -> Vec<(String, String)> {
    url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
        .into_owned()
        .collect()
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Customer `i` if the slice holds them.
fn held(sim: &Sim, i: u32) -> Option<SystemCustomer> {
    sim.world.system_customer(SLICE, i)
}

fn invalid_email(v: &str) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "InvalidEmailAddress",
        format!("`{v}` is not a valid e-mail address."),
    )
}

fn invalid_phone(v: &str) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "InvalidPhoneNumber",
        format!(
            "`{v}` is not a valid mobile phone number (international format, e.g. +46735654321)."
        ),
    )
}

/// Whether `v` passes validation as a Swedish/Finnish personal identity number (10 or 12
/// digits, optionally with a `-` or `+` before the last four).
fn is_ssn(v: &str) -> bool {
    let digits: String = v.chars().filter(|c| !matches!(c, '-' | '+')).collect();
    (digits.len() == 10 || digits.len() == 12) && digits.bytes().all(|b| b.is_ascii_digit())
}

/// The customer `email` names (e-mails compare without case).
fn by_email(sim: &Sim, v: &str) -> Result<Option<u32>, ApiError> {
    let e = normalize_email(v).ok_or_else(|| invalid_email(v))?;
    Ok(sim
        .world
        .customer_by_email(&e)
        .filter(|&i| held(sim, i).is_some_and(|s| s.email.eq_ignore_ascii_case(&e))))
}

/// The customer `mobilePhone` names (international numbers only).
fn by_phone(sim: &Sim, v: &str) -> Result<Option<u32>, ApiError> {
    let p = normalize_phone(v, "").ok_or_else(|| invalid_phone(v))?;
    Ok(sim
        .world
        .customer_by_phone(&p)
        .filter(|&i| held(sim, i).is_some_and(|s| s.phone.as_deref() == Some(p.as_str()))))
}

fn by_external_id_value(sim: &Sim, v: &str) -> Option<u32> {
    sim.world
        .customer_index(&CustomerNumber::new(v.trim()))
        .filter(|&i| sim.world.in_slice(SLICE, i))
}

fn by_member_number(sim: &Sim, v: &str) -> Option<u32> {
    sim.world
        .customer_by_loyalty(v.trim())
        .filter(|&i| held(sim, i).is_some_and(|s| s.loyalty_number.is_some()))
}

fn by_custom_key(sim: &Sim, v: &str) -> Option<u32> {
    match sim.options.custom_key {
        CustomKey::ExternalId => by_external_id_value(sim, v),
        CustomKey::MemberNumber => by_member_number(sim, v),
    }
}

/// `any`: scanned as e-mail, SSN, mobile phone, then custom key; the scan stops at the first
/// attribute the value is valid for, even if nothing matches there.
fn by_any(sim: &Sim, v: &str) -> Option<u32> {
    if normalize_email(v).is_some() {
        return by_email(sim, v).ok().flatten();
    }
    if is_ssn(v) {
        return None;
    }
    if let Ok(found) = by_phone(sim, v) {
        return found;
    }
    by_custom_key(sim, v)
}

/// `GET /api/v3/contacts/id` (and v2): the contact id of the contact every given key names.
pub(crate) async fn find_id(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    match find_id_inner(&sim, &headers, &query(raw)) {
        Ok(i) => wire::json_response(StatusCode::OK, &json!(contact_id(i))),
        Err(e) => e.into_response(),
    }
}

fn find_id_inner(
    sim: &Sim,
    headers: &HeaderMap,
    params: &[(String, String)],
) -> Result<u32, ApiError> {
    sim.admit(headers)?;
    let wanted_type = param(params, "contactType")
        .filter(|t| !t.trim().is_empty())
        .map(ContactType::parse)
        .transpose()?;
    let mut hits: Vec<Option<u32>> = Vec::new();
    for (name, v) in params {
        let hit = match name.to_ascii_lowercase().as_str() {
            "email" => by_email(sim, v)?,
            "mobilephone" => by_phone(sim, v)?,
            "socialsecuritynumber" => {
                if !is_ssn(v) {
                    return Err(ApiError::new(
                        StatusCode::BAD_REQUEST,
                        "InvalidSocialSecurityNumber",
                        format!("`{v}` is not a valid personal identity number."),
                    ));
                }
                None
            }
            "customkey" => by_custom_key(sim, v),
            "any" => by_any(sim, v),
            _ => continue,
        };
        hits.push(hit);
    }
    let Some(first) = hits.first().copied() else {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "InvalidSearchQuery",
            "Give one of email, socialSecurityNumber, mobilePhone, customKey or any.",
        ));
    };
    let i = first
        .filter(|i| hits.iter().all(|h| *h == Some(*i)))
        .ok_or_else(ApiError::contact_not_found)?;
    let sys = held(sim, i).ok_or_else(ApiError::contact_not_found)?;
    if wanted_type.is_some_and(|t| t != ContactType::of(&sys)) {
        return Err(ApiError::contact_not_found());
    }
    Ok(i)
}

/// `GET /api/v3/contacts/{contactId}` (and v2).
pub(crate) async fn get_contact(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let result = sim.admit(&headers).and_then(|()| {
        if !wire::is_guid(&id) {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "InvalidContactId",
                format!("`{id}` is not a contact id (GUID)."),
            ));
        }
        contact_index(&id)
            .and_then(|i| Some((i, held(&sim, i)?)))
            .ok_or_else(ApiError::contact_not_found)
    });
    match result {
        Ok((i, sys)) => wire::json_response(StatusCode::OK, &contact_json(&sim, i, &sys)),
        Err(e) => e.into_response(),
    }
}

/// `GET /api/v2/contacts/{contactType}/bykey?keyValue=…`: `Member` is keyed by the member
/// number, `Contact` by the e-mail.
pub(crate) async fn by_key(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    Path(contact_type): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    let params = query(raw);
    let result = sim.admit(&headers).and_then(|()| {
        let t = ContactType::parse(&contact_type)?;
        let v = param(&params, "keyValue")
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "InvalidSearchQuery",
                    "The keyValue query parameter is required.",
                )
            })?;
        let i = match t {
            ContactType::Member => by_member_number(&sim, v),
            ContactType::Contact => by_email(&sim, v)?,
        };
        found_of_type(&sim, i, t)
    });
    match result {
        Ok((i, sys)) => wire::json_response(StatusCode::OK, &contact_json(&sim, i, &sys)),
        Err(e) => e.into_response(),
    }
}

/// `GET /api/v2/contacts/{contactType}/byexternalid/{externalId}`.
pub(crate) async fn by_external_id(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    Path((contact_type, external_id)): Path<(String, String)>,
) -> Response {
    let result = sim.admit(&headers).and_then(|()| {
        let t = ContactType::parse(&contact_type)?;
        found_of_type(&sim, by_external_id_value(&sim, &external_id), t)
    });
    match result {
        Ok((i, sys)) => wire::json_response(StatusCode::OK, &contact_json(&sim, i, &sys)),
        Err(e) => e.into_response(),
    }
}

fn found_of_type(
    sim: &Sim,
    i: Option<u32>,
    t: ContactType,
) -> Result<(u32, SystemCustomer), ApiError> {
    i.and_then(|i| Some((i, held(sim, i)?)))
        .filter(|(_, sys)| ContactType::of(sys) == t)
        .ok_or_else(ApiError::contact_not_found)
}

fn language(country: &str) -> &'static str {
    match country {
        "DK" => "da",
        "SE" => "sv",
        "NO" => "nb",
        _ => "en",
    }
}

/// The contact document of world customer `i` (held by the slice as `sys`).
pub(crate) fn contact_json(sim: &Sim, i: u32, sys: &SystemCustomer) -> Value {
    let t = ContactType::of(sys);
    let accepts = |ch: ConsentChannel| {
        sys.consents
            .iter()
            .find(|c| c.channel == ch)
            .map(|c| c.granted)
    };
    let mut attributes = Map::new();
    let mut put = |k: &str, v: Value| {
        attributes.insert(k.to_owned(), v);
    };
    put("firstName", json!(sys.first_name));
    put("lastName", json!(sys.last_name));
    put("email", json!(sys.email));
    put("mobilePhone", json!(sys.phone));
    put("careOf", Value::Null);
    put("street", json!(sys.address.street));
    put("zipCode", json!(sys.address.postal_code));
    put("city", json!(sys.address.city));
    put("countryCode", json!(sys.address.country));
    put("externalId", json!(sys.number.as_str()));
    put("socialSecurityNumber", Value::Null);
    put("birthDay", Value::Null);
    put("gender", Value::Null);
    put("language", json!(language(&sys.address.country)));
    put(
        "registrationDate",
        json!(ts(sys.updated_at - Duration::days(400))),
    );
    if t == ContactType::Member {
        put("memberNumber", json!(sys.loyalty_number));
        put(&sim.names.loyalty_level, json!(sys.loyalty_tier));
    }
    put(&sim.names.company_name, json!(sys.company_name));
    json!({
        "id": contact_id(i),
        "attributes": attributes,
        "meta": {
            "contactType": t.as_str(),
            "createdOn": ts(sys.updated_at - Duration::days(400)),
            "modifiedOn": ts(sys.updated_at),
            "isApproved": true,
            "sourceSystem": "Samlet simulator",
        },
        "preferences": {
            "acceptsEmail": accepts(ConsentChannel::Email),
            "acceptsSms": accepts(ConsentChannel::Sms),
            "acceptsPostal": false,
        },
        "consents": [],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ssns_have_ten_or_twelve_digits() {
        assert!(is_ssn("196903027573"));
        assert!(is_ssn("690302-7573"));
        assert!(!is_ssn("71000042"));
        assert!(!is_ssn("C0000042"));
    }
}
