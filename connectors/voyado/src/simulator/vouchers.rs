//! Reward vouchers: listed per contact with `offset`/`count` paging, redeemed once. Which
//! vouchers a contact has is a pure function of the world (by loyalty level); which have been
//! redeemed is the simulator's only state.

use super::wire::{self, contact_index, ts, voucher_id, voucher_index, ApiError};
use super::{Sim, SLICE};
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Duration, TimeZone, Utc};
use rust_decimal::Decimal;
use serde_json::{json, Value};
use std::str::FromStr;
use std::sync::atomic::Ordering;
use std::sync::Arc;

const DEFAULT_COUNT: usize = 100;
const MAX_COUNT: usize = 500;

/// One voucher a contact holds in the world.
struct WorldVoucher {
    n: u8,
    name: &'static str,
    amount: Decimal,
    expires: DateTime<Utc>,
    points: u32,
}

/// The vouchers of customer `i`: `None` if the slice does not hold them. GOLD members have an
/// available 250 and an expired 100 voucher, SILVER members an available 100, in the currency
/// of their country.
fn world_vouchers(sim: &Sim, i: u32) -> Option<(Vec<WorldVoucher>, &'static str)> {
    let sys = sim.world.system_customer(SLICE, i)?;
    let currency = match sys.address.country.as_str() {
        "DK" => "DKK",
        "SE" => "SEK",
        "NO" => "NOK",
        _ => "EUR",
    };
    let long_valid = sim.world.now() + Duration::days(3650);
    let expired = Utc
        .with_ymd_and_hms(2023, 12, 31, 23, 0, 0)
        .single()
        .unwrap_or(DateTime::<Utc>::MIN_UTC);
    let vouchers = match sys.loyalty_tier.filter(|_| sys.loyalty_number.is_some()) {
        Some("GOLD") => vec![
            WorldVoucher {
                n: 0,
                name: "Gold member reward",
                amount: Decimal::from(250),
                expires: long_valid,
                points: 2500,
            },
            WorldVoucher {
                n: 1,
                name: "Welcome gift",
                amount: Decimal::from(100),
                expires: expired,
                points: 1000,
            },
        ],
        Some("SILVER") => vec![WorldVoucher {
            n: 0,
            name: "Silver member reward",
            amount: Decimal::from(100),
            expires: long_valid,
            points: 1000,
        }],
        _ => Vec::new(),
    };
    Some((vouchers, currency))
}

/// A decimal as a JSON number, as Voyado writes amounts.
fn number(d: Decimal) -> Value {
    serde_json::Number::from_str(&d.normalize().to_string())
        .map(Value::Number)
        .unwrap_or(Value::Null)
}

fn eur(amount: Decimal, currency: &str) -> Decimal {
    let rate = match currency {
        "DKK" => Decimal::new(134, 3),
        "SEK" => Decimal::new(87, 3),
        "NOK" => Decimal::new(85, 3),
        _ => Decimal::ONE,
    };
    (amount * rate).round_dp(2)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Which {
    All,
    Available,
    Redeemed,
}

fn list(sim: &Sim, headers: &HeaderMap, raw: Option<String>, which: Which) -> Response {
    match list_inner(sim, headers, raw, which) {
        Ok(v) => wire::json_response(StatusCode::OK, &v),
        Err(e) => e.into_response(),
    }
}

fn list_inner(
    sim: &Sim,
    headers: &HeaderMap,
    raw: Option<String>,
    which: Which,
) -> Result<Value, ApiError> {
    sim.admit(headers)?;
    let params: Vec<(String, String)> =
        url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
            .into_owned()
            .collect();
    let get = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim())
    };
    let id = get("contactId").unwrap_or("");
    if !wire::is_guid(id) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "InvalidContactId",
            "The contactId query parameter must be a contact id (GUID).",
        ));
    }
    let paging =
        |name: &str, default: usize, range: std::ops::RangeInclusive<usize>| match get(name) {
            None | Some("") => Ok(default),
            Some(v) => v
                .parse::<usize>()
                .ok()
                .filter(|n| range.contains(n))
                .ok_or_else(|| {
                    ApiError::new(
                        StatusCode::BAD_REQUEST,
                        "InvalidPaging",
                        format!(
                            "`{name}` must be an integer from {} to {}.",
                            range.start(),
                            range.end()
                        ),
                    )
                }),
        };
    let offset = paging("offset", 0, 0..=usize::MAX)?;
    let count = paging("count", DEFAULT_COUNT, 1..=MAX_COUNT)?;
    let i = contact_index(id).ok_or_else(ApiError::contact_not_found)?;
    let (vouchers, currency) = world_vouchers(sim, i).ok_or_else(ApiError::contact_not_found)?;
    let now = Utc::now();
    let redeemed = sim.redeemed.lock().unwrap_or_else(|e| e.into_inner());
    let items: Vec<Value> = vouchers
        .iter()
        .filter_map(|v| {
            let vid = voucher_id(i, v.n);
            let used = redeemed.get(&vid).copied();
            let keep = match which {
                Which::All => true,
                Which::Available => used.is_none() && v.expires > now,
                Which::Redeemed => used.is_some(),
            };
            keep.then(|| {
                json!({
                    "id": vid,
                    "voucherNumber": format!("25{:011}", u64::from(i) * 16 + u64::from(v.n)),
                    "name": v.name,
                    "redeemedOn": used.map(ts),
                    "redeemed": used.is_some(),
                    "expiresOn": ts(v.expires),
                    "value": {"currency": currency, "amount": number(v.amount)},
                    "localValues": [{"currency": "EUR", "amount": number(eur(v.amount, currency))}],
                    "points": v.points,
                })
            })
        })
        .collect();
    let total = items.len();
    let page: Vec<Value> = items.into_iter().skip(offset).take(count).collect();
    Ok(json!({
        "count": page.len(),
        "offset": offset,
        "items": page,
        "totalCount": total,
    }))
}

/// `GET /api/v3/reward-vouchers`.
pub(crate) async fn list_all(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    list(&sim, &headers, raw, Which::All)
}

/// `GET /api/v3/reward-vouchers/available`.
pub(crate) async fn list_available(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    list(&sim, &headers, raw, Which::Available)
}

/// `GET /api/v3/reward-vouchers/redeemed`.
pub(crate) async fn list_redeemed(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    list(&sim, &headers, raw, Which::Redeemed)
}

/// `POST /api/v3/reward-vouchers/{rewardVoucherId}/redeem`.
pub(crate) async fn redeem(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    match redeem_inner(&sim, &headers, &id) {
        Ok(()) => StatusCode::OK.into_response(),
        Err(e) => e.into_response(),
    }
}

fn redeem_inner(sim: &Sim, headers: &HeaderMap, id: &str) -> Result<(), ApiError> {
    sim.admit(headers)?;
    if !wire::is_guid(id) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "InvalidRewardVoucherId",
            format!("`{id}` is not a reward voucher id (GUID)."),
        ));
    }
    let not_found = || {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "RewardVoucherNotFound",
            "No reward voucher has this id.",
        )
    };
    let (i, n) = voucher_index(id).ok_or_else(not_found)?;
    let (vouchers, _) = world_vouchers(sim, i).ok_or_else(not_found)?;
    let v = vouchers.iter().find(|v| v.n == n).ok_or_else(not_found)?;
    let vid = voucher_id(i, n);
    let mut redeemed = sim.redeemed.lock().unwrap_or_else(|e| e.into_inner());
    if redeemed.contains_key(&vid) {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "RewardVoucherAlreadyRedeemed",
            "The reward voucher has already been redeemed.",
        ));
    }
    if v.expires <= Utc::now() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "RewardVoucherExpired",
            "The reward voucher has expired.",
        ));
    }
    redeemed.insert(vid, Utc::now());
    drop(redeemed);
    let lose = sim
        .lose_redeem_answers
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok();
    if lose {
        return Err(ApiError::new(
            StatusCode::GATEWAY_TIMEOUT,
            "GatewayTimeout",
            "The request timed out.",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_written_as_plain_json_numbers() {
        assert_eq!(number(Decimal::new(25000, 2)).to_string(), "250");
        assert_eq!(number(Decimal::new(335, 1)).to_string(), "33.5");
        assert_eq!(eur(Decimal::from(250), "DKK"), Decimal::new(335, 1));
    }
}
