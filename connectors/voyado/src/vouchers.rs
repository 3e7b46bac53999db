//! Reward vouchers (Voyado's loyalty payouts) as client methods. The connector's
//! [`VoucherStore`] is built on them (see `voucher_store.rs` for codes and exactly-once
//! redemption); they stay public for loyalty integrations that work with Voyado's own ids:
//!
//! - `GET /api/v3/reward-vouchers[/available|/redeemed]?contactId=…&offset=…&count=…`, paged
//!   by `offset`/`count` until `totalCount` ([`VoyadoClient::reward_vouchers`]);
//! - `POST /api/v3/reward-vouchers/{rewardVoucherId}/redeem`
//!   ([`VoyadoClient::redeem_reward_voucher`]): 409 `RewardVoucherAlreadyRedeemed` or
//!   `RewardVoucherExpired` become [`ErrorKind::Conflict`], 404 `RewardVoucherNotFound`
//!   [`ErrorKind::NotFound`]. A redemption is a write: it is sent once, never retried (a
//!   retry after a lost answer would report the first redemption as a conflict; the voucher
//!   store reads the voucher's state before it redeems again). Voyado
//!   gives up on a redemption after 4.5 s unless it is past its point of no return, and
//!   advises client timeouts of 60 s so a late success is not mistaken for a failure: give
//!   this connector's upstream policy a long timeout if it redeems.
//!
//! Voucher values are JSON numbers in Voyado (`"amount": 19.5`) and are read exactly as
//! decimals, never through a float.

use crate::client::{is_guid, VoyadoClient};
use crate::mapping::parse_time;
use chrono::{DateTime, Utc};
use samlet_connector::prelude::*;
use serde::Deserialize;
use serde_json::Number;

/// The page size asked for when listing vouchers.
pub const VOUCHER_PAGE: usize = 100;
/// Guard against a vendor that never reaches `totalCount`.
const MAX_PAGES: usize = 10_000;

/// Which of a contact's vouchers to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VoucherStatus {
    /// Available, redeemed and expired (`GET /api/v3/reward-vouchers`).
    All,
    /// Not redeemed and not expired (`…/available`).
    Available,
    /// Redeemed only (`…/redeemed`).
    Redeemed,
}

/// A reward voucher of one contact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RewardVoucher {
    /// The voucher id (a GUID), used to redeem it.
    pub id: String,
    /// The number printed on the voucher (what a till scans).
    pub voucher_number: String,
    /// The voucher's display name.
    pub name: String,
    /// Its value in the tenant's base currency.
    pub value: Money,
    /// Its value in other currencies.
    pub local_values: Vec<Money>,
    /// Whether it has been used.
    pub redeemed: bool,
    /// When it was used.
    pub redeemed_on: Option<DateTime<Utc>>,
    /// When it stops being valid.
    pub expires_on: Option<DateTime<Utc>>,
    /// The reward points it was paid out for, if Voyado says.
    pub points: Option<Decimal>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct VoucherPage {
    #[serde(default)]
    items: Vec<WireVoucher>,
    #[serde(default)]
    total_count: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireVoucher {
    id: String,
    #[serde(default)]
    voucher_number: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    redeemed: bool,
    #[serde(default)]
    redeemed_on: Option<String>,
    #[serde(default)]
    expires_on: Option<String>,
    value: WireMoney,
    #[serde(default)]
    local_values: Vec<WireMoney>,
    #[serde(default)]
    points: Option<Number>,
}

#[derive(Debug, Deserialize)]
struct WireMoney {
    currency: String,
    amount: Number,
}

/// A JSON number as an exact decimal (its shortest text form, never through `f64`).
fn decimal(n: &Number) -> Option<Decimal> {
    let s = n.to_string();
    s.parse::<Decimal>()
        .ok()
        .or_else(|| Decimal::from_scientific(&s).ok())
}

impl WireMoney {
    fn money(&self) -> Result<Money, String> {
        let currency: Currency = self.currency.trim().parse()?;
        let amount =
            decimal(&self.amount).ok_or_else(|| format!("`{}` is not an amount", self.amount))?;
        Ok(Money::new(amount, currency))
    }
}

impl WireVoucher {
    fn voucher(&self) -> Result<RewardVoucher, String> {
        Ok(RewardVoucher {
            id: self.id.trim().to_ascii_lowercase(),
            voucher_number: self.voucher_number.clone().unwrap_or_default(),
            name: self.name.clone().unwrap_or_default(),
            value: self.value.money()?,
            local_values: self
                .local_values
                .iter()
                .map(WireMoney::money)
                .collect::<Result<_, _>>()?,
            redeemed: self.redeemed,
            redeemed_on: self.redeemed_on.as_deref().and_then(parse_time),
            expires_on: self.expires_on.as_deref().and_then(parse_time),
            points: self.points.as_ref().and_then(decimal),
        })
    }
}

impl VoyadoClient {
    /// Every voucher of contact `contact_id` in `status`, walking the `offset`/`count` pages.
    /// An unknown contact is [`ErrorKind::NotFound`].
    pub async fn reward_vouchers(
        &self,
        contact_id: &str,
        status: VoucherStatus,
    ) -> Result<Vec<RewardVoucher>, ConnectorError> {
        let (segments, what): (&[&str], &str) = match status {
            VoucherStatus::All => (
                &["api", "v3", "reward-vouchers"],
                "GET /api/v3/reward-vouchers",
            ),
            VoucherStatus::Available => (
                &["api", "v3", "reward-vouchers", "available"],
                "GET /api/v3/reward-vouchers/available",
            ),
            VoucherStatus::Redeemed => (
                &["api", "v3", "reward-vouchers", "redeemed"],
                "GET /api/v3/reward-vouchers/redeemed",
            ),
        };
        let mut out = Vec::new();
        for _ in 0..MAX_PAGES {
            let mut url = self.endpoint(segments)?;
            url.query_pairs_mut()
                .append_pair("contactId", contact_id)
                .append_pair("offset", &out.len().to_string())
                .append_pair("count", &VOUCHER_PAGE.to_string());
            let reply = self.call(reqwest::Method::GET, &url, None).await?;
            if !reply.status.is_success() {
                return Err(self.fail(what, &reply));
            }
            let page: VoucherPage = reply.json(self.name(), what)?;
            let got = page.items.len();
            for v in &page.items {
                out.push(v.voucher().map_err(|e| {
                    self.error(
                        ErrorKind::InvalidResponse,
                        format!("{what}: voucher {}: {e}", v.id),
                    )
                })?);
            }
            let total = page.total_count.unwrap_or(out.len() as u64);
            if got == 0 || out.len() as u64 >= total {
                return Ok(out);
            }
        }
        Err(self.error(
            ErrorKind::InvalidResponse,
            format!("{what}: totalCount not reached after {MAX_PAGES} pages"),
        ))
    }

    /// Marks voucher `voucher_id` as used. Sent once (see the module docs).
    pub async fn redeem_reward_voucher(&self, voucher_id: &str) -> Result<(), ConnectorError> {
        const WHAT: &str = "POST /api/v3/reward-vouchers/{rewardVoucherId}/redeem";
        if !is_guid(voucher_id.trim()) {
            return Err(self.error(
                ErrorKind::BadRequest,
                format!("{WHAT}: a voucher id is a GUID"),
            ));
        }
        let url = self.endpoint(&["api", "v3", "reward-vouchers", voucher_id.trim(), "redeem"])?;
        let reply = self.call(reqwest::Method::POST, &url, None).await?;
        if reply.status.is_success() {
            Ok(())
        } else {
            Err(self.fail(WHAT, &reply))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn voucher_amounts_are_exact_decimals() {
        let page: VoucherPage = serde_json::from_str(
            r#"{"count":1,"offset":0,"totalCount":1,"items":[{"id":"AF61C5C8-7FF8-1234-9B67-C75300738CD3","voucherNumber":"2511233093766","name":"Bonus payment","redeemedOn":null,"redeemed":false,"expiresOn":"2023-02-08T12:15:59.212Z","value":{"currency":"SEK","amount":195},"localValues":[{"currency":"EUR","amount":19.5},{"currency":"NOK","amount":0.1}],"points":4869}]}"#,
        )
        .expect("page");
        let v = page.items[0].voucher().expect("voucher");
        assert_eq!(v.id, "af61c5c8-7ff8-1234-9b67-c75300738cd3");
        assert_eq!(v.value, Money::new(Decimal::from(195), Currency::SEK));
        assert_eq!(
            v.local_values[0],
            Money::new(Decimal::new(195, 1), Currency::EUR)
        );
        assert_eq!(v.local_values[1].amount, Decimal::new(1, 1));
        assert_eq!(v.points, Some(Decimal::from(4869)));
        assert!(!v.redeemed && v.redeemed_on.is_none() && v.expires_on.is_some());
    }

    #[test]
    fn a_bad_currency_is_reported() {
        let w: WireVoucher =
            serde_json::from_str(r#"{"id":"x","value":{"currency":"kronor","amount":1}}"#)
                .expect("voucher");
        assert!(w.voucher().is_err());
    }
}
