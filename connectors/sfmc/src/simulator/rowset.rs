//! `GET /data/v1/customobjectdata/key/{key}/rowset`: the customer data extension, one row per
//! customer of the world's marketing slice, with the default column names of
//! [`crate::ColumnNames`]. Filters are answered from the world's indexes (customer number,
//! e-mail, phone, loyalty number) and then checked row by row, so a request costs what its
//! keys cost, never a scan of the whole data extension.

use super::filter::{self, Expr};
use super::wire::{self, code, ApiError};
use super::{Sim, DATA_EXTENSION_KEY, MAX_PAGE_SIZE, MAX_REQUEST_TARGET, SLICE};
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Duration, Utc};
use samlet_connector::prelude::{ConsentChannel, CustomerKind, CustomerNumber};
use samlet_testkit::world::SystemCustomer;
use serde_json::{json, Map, Value};
use std::sync::Arc;

/// The data extension's columns, lower-case as the rowset endpoint returns them; the first is
/// the primary key.
pub(crate) const COLUMNS: [&str; 17] = [
    "customernumber",
    "email",
    "mobilephone",
    "firstname",
    "lastname",
    "companyname",
    "customerkind",
    "loyaltynumber",
    "loyaltytier",
    "country",
    "city",
    "postalcode",
    "street",
    "emailoptin",
    "smsoptin",
    "optinupdatedat",
    "modifieddate",
];

/// A Date column value in the en-US culture data extensions print: `3/5/2024 9:30:00 PM`.
fn date(t: DateTime<Utc>) -> String {
    t.format("%-m/%-d/%Y %-I:%M:%S %p").to_string()
}

fn boolean(b: bool) -> String {
    if b { "True" } else { "False" }.to_owned()
}

/// A customer's row: the values of [`COLUMNS`] in order (`""` for an empty column).
pub(crate) fn row(sys: &SystemCustomer) -> [String; 17] {
    let consent = |ch: ConsentChannel| {
        sys.consents
            .iter()
            .find(|c| c.channel == ch)
            .map(|c| boolean(c.granted))
            .unwrap_or_default()
    };
    let consent_time = sys.consents.iter().filter_map(|c| c.updated_at).max();
    [
        sys.number.as_str().to_owned(),
        sys.email.clone(),
        sys.phone.clone().unwrap_or_default(),
        sys.first_name.clone(),
        sys.last_name.clone(),
        sys.company_name.clone().unwrap_or_default(),
        match sys.kind {
            CustomerKind::Company => "Company",
            CustomerKind::Person => "Person",
        }
        .to_owned(),
        sys.loyalty_number.clone().unwrap_or_default(),
        sys.loyalty_tier.unwrap_or_default().to_owned(),
        sys.address.country.clone(),
        sys.address.city.clone(),
        sys.address.postal_code.clone(),
        sys.address.street.clone(),
        consent(ConsentChannel::Email),
        consent(ConsentChannel::Sms),
        consent_time.map(date).unwrap_or_default(),
        date(sys.updated_at),
    ]
}

/// The rowset item of `row`: the key column in `keys`, the rest in `values`.
fn item(row: &[String; 17]) -> Value {
    let mut values = Map::new();
    for (name, value) in COLUMNS.iter().zip(row).skip(1) {
        values.insert((*name).to_owned(), Value::String(value.clone()));
    }
    json!({ "keys": { COLUMNS[0]: row[0] }, "values": values })
}

/// The world index an `eq` on an indexed column finds, compared as the collation does.
fn lookup(sim: &Sim, column: &str, value: &str) -> Option<Option<u32>> {
    let w = &sim.world;
    let v = value.trim_end_matches(' ');
    let hit = match column {
        "customernumber" => w.customer_index(&CustomerNumber::new(v.to_uppercase())),
        "email" => w.customer_by_email(&v.to_lowercase()),
        "mobilephone" => w.customer_by_phone(v),
        "loyaltynumber" => w.customer_by_loyalty(v),
        _ => return None,
    };
    Some(hit.filter(|&i| w.in_slice(SLICE, i)))
}

/// A stable token naming one query, for `requestToken` and the links.
fn request_token(filter: &str) -> String {
    let hash = filter.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    wire::uuid_from(hash)
}

struct Params {
    filter: Option<String>,
    page: u32,
    page_size: u32,
}

fn params(raw: Option<&str>) -> Result<Params, ApiError> {
    let mut p = Params {
        filter: None,
        page: 1,
        page_size: MAX_PAGE_SIZE,
    };
    for (name, value) in url::form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
        let number = |what: &str| {
            value.trim().parse::<u32>().map_err(|_| {
                ApiError::bad(
                    code::INVALID_DATA_TYPE,
                    format!("{what} must be a whole number, not '{value}'"),
                )
            })
        };
        match name.to_ascii_lowercase().as_str() {
            "$filter" => p.filter = Some(value.into_owned()),
            "$page" => p.page = number("$page")?,
            "$pagesize" => p.page_size = number("$pageSize")?,
            // `$orderBy` and `$fields` are accepted; rows always come in primary-key order.
            _ => {}
        }
    }
    if p.page == 0 {
        return Err(ApiError::bad(
            code::INVALID_VALUE,
            "$page must be 1 or more",
        ));
    }
    if !(1..=MAX_PAGE_SIZE).contains(&p.page_size) {
        return Err(ApiError::bad(
            code::INVALID_VALUE,
            format!("$pageSize must be between 1 and {MAX_PAGE_SIZE}"),
        ));
    }
    Ok(p)
}

/// The handler.
pub(crate) async fn get(
    State(sim): State<Arc<Sim>>,
    Path(key): Path<String>,
    uri: Uri,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let target = uri.path_and_query().map_or(0, |p| p.as_str().len());
    if target > MAX_REQUEST_TARGET {
        // The HTTP front end refuses before the API sees the request.
        return Ok((StatusCode::URI_TOO_LONG, "Request-URI Too Long").into_response());
    }
    sim.admit(&headers)?;
    if !key.eq_ignore_ascii_case(DATA_EXTENSION_KEY) {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            code::GENERIC,
            format!("Data extension with key '{key}' was not found."),
        ));
    }
    let p = params(raw.as_deref())?;
    let w = &sim.world;
    let (count, rows): (usize, Vec<[String; 17]>) = match p.filter.as_deref() {
        Some(f) => {
            let expr: Expr = filter::parse(f, &COLUMNS).map_err(|why| {
                ApiError::bad(code::INVALID_VALUE, format!("Invalid filter: {why}"))
            })?;
            let candidates = expr.candidates(&|c, v| lookup(&sim, c, v)).ok_or_else(|| {
                ApiError::bad(
                    code::INVALID_VALUE,
                    "simulator: the filter must narrow the rows with `eq` on CustomerNumber, Email, MobilePhone or LoyaltyNumber",
                )
            })?;
            let matching: Vec<[String; 17]> = candidates
                .into_iter()
                .filter_map(|i| w.system_customer(SLICE, i))
                .map(|sys| row(&sys))
                .filter(|r| {
                    expr.eval(&|c| {
                        COLUMNS
                            .iter()
                            .position(|name| *name == c)
                            .map(|at| r[at].clone())
                    })
                })
                .collect();
            let total = matching.len();
            let start = (p.page as usize - 1).saturating_mul(p.page_size as usize);
            let page = matching
                .into_iter()
                .skip(start)
                .take(p.page_size as usize)
                .collect();
            (total, page)
        }
        None => {
            let all = sim.slice();
            let start = (p.page as usize - 1).saturating_mul(p.page_size as usize);
            let page = all
                .iter()
                .skip(start)
                .take(p.page_size as usize)
                .filter_map(|&i| w.system_customer(SLICE, i))
                .map(|sys| row(&sys))
                .collect();
            (all.len(), page)
        }
    };
    let token = request_token(p.filter.as_deref().unwrap_or(""));
    let link = |page: u32| format!("/v1/customobjectdata/token/{token}/rowset?$page={page}");
    let mut links = json!({ "self": link(p.page) });
    if (p.page as usize).saturating_mul(p.page_size as usize) < count {
        links["next"] = json!(link(p.page + 1));
    }
    if p.page > 1 {
        links["previous"] = json!(link(p.page - 1));
    }
    let body = json!({
        "links": links,
        "requestToken": token,
        "tokenExpireDateUtc": (Utc::now() + Duration::minutes(20))
            .format("%Y-%m-%dT%H:%M:%S%.3f")
            .to_string(),
        "customObjectId": wire::uuid_from(0x5A3E7),
        "customObjectKey": DATA_EXTENSION_KEY,
        "pageSize": p.page_size,
        "page": p.page,
        "count": count,
        "top": 0,
        "items": rows.iter().map(item).collect::<Vec<_>>(),
    });
    Ok(wire::ok(StatusCode::OK, &body))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn dates_print_in_the_us_culture() {
        let t = Utc
            .with_ymd_and_hms(2024, 3, 5, 21, 30, 0)
            .single()
            .expect("time");
        assert_eq!(date(t), "3/5/2024 9:30:00 PM");
        let t = Utc
            .with_ymd_and_hms(2024, 12, 11, 0, 5, 9)
            .single()
            .expect("time");
        assert_eq!(date(t), "12/11/2024 12:05:09 AM");
        assert_eq!(crate::mapping::parse_date(&date(t)), Some(t));
    }

    #[test]
    fn page_parameters_are_checked() {
        assert!(params(Some("$page=0")).is_err());
        assert!(params(Some("$pageSize=2501")).is_err());
        assert!(params(Some("$pagesize=x")).is_err());
        let p = params(Some("$filter=Email%20eq%20%27a%27&$PAGE=3&$pageSize=10")).expect("ok");
        assert_eq!(
            (p.filter.as_deref(), p.page, p.page_size),
            (Some("Email eq 'a'"), 3, 10)
        );
        assert_eq!(params(None).expect("ok").page_size, MAX_PAGE_SIZE);
    }
}
