//! [`VoucherStore`] over Voyado reward vouchers.
//!
//! # The voucher code
//! Voyado lists reward vouchers **per contact** only (`GET /api/v3/reward-vouchers?contactId=`)
//! and redeems them by their GUID; no documented endpoint finds a voucher by the number printed
//! on it (`voucherNumber`, `checkNumber` in v2). A till therefore identifies the member first
//! and then picks the voucher, and the model's code carries both: **`{customer number}:{voucher
//! number}`**, e.g. `C0000012:2500000000192` (the voucher number is what a till scans; the
//! customer number is the shared key the tenant holds as `externalId`). A code whose second
//! part is the voucher's GUID is accepted too. Any other code names no voucher.
//!
//! # Requests
//! - `vouchers(customer)`: the contact id (`GET /api/v3/contacts/id?customKey=`, or with
//!   `custom_key = "memberNumber"` one `GET /api/v2/contacts/{type}/byexternalid/{id}` per
//!   contact type until found), then `GET /api/v3/reward-vouchers?contactId=…` (paged by
//!   `offset`/`count`): **2 requests** for a member with fewer than 100 vouchers. A customer
//!   Voyado does not hold has no vouchers.
//! - `voucher(code)`: the same 2 requests, then the voucher is picked by number.
//! - `redeem_voucher(code, key)`: the same 2 requests (the voucher's state), `POST
//!   /api/v3/reward-vouchers/{id}/redeem` (sent once, never retried blindly), and one more
//!   listing to answer the voucher as Voyado now holds it: **4 requests**.
//!
//! # Exactly once
//! Voyado's redeem takes no idempotency key and answers 409 `RewardVoucherAlreadyRedeemed` to
//! any second redemption, including a retry of a redemption whose answer was lost. So the
//! connector remembers, per process, the idempotency key of every redemption it sent (with
//! the code it redeems), and always reads the voucher's state before redeeming:
//! - redeemed, and the key is one of ours: an earlier attempt with this key took effect (its
//!   answer may have been lost); the redeemed voucher is the answer, without a second `POST`;
//! - redeemed, and the key is new: [`ErrorKind::Conflict`] (`RewardVoucherAlreadyRedeemed`);
//! - expired: [`ErrorKind::Conflict`] (`RewardVoucherExpired`), without a `POST`;
//! - available: the `POST` is sent. With a key of ours, a 409 `RewardVoucherAlreadyRedeemed`
//!   then means the earlier attempt landed late (Voyado completes a redemption past its point
//!   of no return even after its 4.5 s timeout), and it is answered as a success.
//!
//! A definite refusal (4xx) forgets the key. The memory is bounded (the last
//! [`REMEMBERED_KEYS`] keys) and per process: a retry from another process after a lost answer
//! is reported as a conflict, because Voyado records no key to tell the two apart. Voyado
//! records no redemption channel for reward vouchers, so [`VoucherStatus::Redeemed`] has
//! `channel: None`.

use crate::client::{ContactLookup, VoyadoClient};
use crate::config::CustomKey;
use crate::vouchers::{RewardVoucher, VoucherStatus as Listing};
use chrono::{DateTime, Utc};
use samlet_connector::model::{Voucher, VoucherStatus, VoucherValue};
use samlet_connector::prelude::*;
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

/// How many idempotency keys of redemptions sent are remembered.
pub const REMEMBERED_KEYS: usize = 10_000;

/// The separator between the customer number and the voucher number in a code.
const SEPARATOR: char = ':';

/// Vouchers from Voyado reward vouchers.
#[derive(Debug)]
pub(crate) struct VoyadoVouchers {
    client: VoyadoClient,
    contact_types: Vec<String>,
    pending: Mutex<Pending>,
}

/// Idempotency keys of the redemptions sent (not refused), with the code each redeems.
#[derive(Debug, Default)]
struct Pending {
    codes: HashMap<String, String>,
    order: VecDeque<String>,
}

impl Pending {
    fn get(&self, key: &str) -> Option<&String> {
        self.codes.get(key)
    }

    fn insert(&mut self, key: &str, code: &str) {
        if self.codes.insert(key.to_owned(), code.to_owned()).is_none() {
            self.order.push_back(key.to_owned());
        }
        while self.order.len() > REMEMBERED_KEYS {
            if let Some(old) = self.order.pop_front() {
                self.codes.remove(&old);
            }
        }
    }

    fn remove(&mut self, key: &str) {
        if self.codes.remove(key).is_some() {
            self.order.retain(|k| k != key);
        }
    }
}

/// A code's parts: the customer number and the voucher number (or id).
fn parse_code(code: &str) -> Option<(CustomerNumber, &str)> {
    let (customer, voucher) = code.trim().rsplit_once(SEPARATOR)?;
    let (customer, voucher) = (customer.trim(), voucher.trim());
    (!customer.is_empty() && !voucher.is_empty()).then(|| (CustomerNumber::new(customer), voucher))
}

/// The code of `v`, held by `customer`.
fn code_of(customer: &CustomerNumber, v: &RewardVoucher) -> String {
    let number = if v.voucher_number.trim().is_empty() {
        v.id.as_str()
    } else {
        v.voucher_number.trim()
    };
    format!("{}{SEPARATOR}{number}", customer.as_str())
}

/// Whether `v` is the voucher `part` of a code names (its number, or its id).
fn is_named(v: &RewardVoucher, part: &str) -> bool {
    (!v.voucher_number.trim().is_empty() && v.voucher_number.trim() == part)
        || v.id.eq_ignore_ascii_case(part)
}

/// Whether `v` is past its validity at `now` (and not redeemed).
fn is_expired(v: &RewardVoucher, now: DateTime<Utc>) -> bool {
    !v.redeemed && v.expires_on.is_some_and(|t| t <= now)
}

/// A reward voucher as a model voucher. Its value is in the tenant's currency for the member
/// (`value`); a redeemed voucher without `redeemedOn` is dated at the Unix epoch.
pub(crate) fn to_voucher(
    customer: &CustomerNumber,
    v: &RewardVoucher,
    now: DateTime<Utc>,
) -> Voucher {
    let status = if v.redeemed {
        VoucherStatus::Redeemed {
            at: v.redeemed_on.unwrap_or(DateTime::<Utc>::UNIX_EPOCH),
            channel: None,
        }
    } else if is_expired(v, now) {
        VoucherStatus::Expired
    } else {
        VoucherStatus::Available
    };
    Voucher {
        code: code_of(customer, v),
        customer: customer.clone(),
        value: VoucherValue::Amount(v.value),
        status,
        valid_until: v.expires_on,
    }
}

/// Whether `e` is Voyado's 409 for a voucher redeemed already.
fn already_redeemed(e: &ConnectorError) -> bool {
    e.kind == ErrorKind::Conflict && e.message.contains("RewardVoucherAlreadyRedeemed")
}

/// Whether `e` means the request may have taken effect (no definite answer was read).
fn outcome_unknown(e: &ConnectorError) -> bool {
    matches!(
        e.kind,
        ErrorKind::Timeout | ErrorKind::Unavailable | ErrorKind::InvalidResponse
    )
}

impl VoyadoVouchers {
    pub(crate) fn new(client: VoyadoClient, contact_types: Vec<String>) -> Self {
        VoyadoVouchers {
            client,
            contact_types,
            pending: Mutex::new(Pending::default()),
        }
    }

    fn pending(&self) -> std::sync::MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn not_found(&self, code: &str) -> ConnectorError {
        self.client.error(
            ErrorKind::NotFound,
            format!("no reward voucher has the code `{code}`"),
        )
    }

    /// The contact id of the customer numbered `customer`, the way the customer source looks
    /// customer numbers up.
    async fn contact_id(&self, customer: &CustomerNumber) -> ConnectorResult<Option<String>> {
        match self.client.custom_key() {
            CustomKey::ExternalId => {
                self.client
                    .contact_id(&ContactLookup::CustomKey(customer.as_str().to_owned()))
                    .await
            }
            CustomKey::MemberNumber => {
                for t in &self.contact_types {
                    if let Some(c) = self
                        .client
                        .contact_by_external_id(t, customer.as_str())
                        .await?
                    {
                        return Ok(Some(c.id.trim().to_ascii_lowercase()));
                    }
                }
                Ok(None)
            }
        }
    }

    /// Every reward voucher of contact `contact`, or `None` if Voyado does not know it.
    async fn contact_vouchers(&self, contact: &str) -> ConnectorResult<Option<Vec<RewardVoucher>>> {
        match self.client.reward_vouchers(contact, Listing::All).await {
            Ok(list) => Ok(Some(list)),
            // The contact went away between the two calls.
            Err(e) if e.kind == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Every reward voucher of the customer, or `None` if Voyado does not hold them.
    async fn reward_vouchers(
        &self,
        customer: &CustomerNumber,
    ) -> ConnectorResult<Option<Vec<RewardVoucher>>> {
        match self.contact_id(customer).await? {
            Some(contact) => self.contact_vouchers(&contact).await,
            None => Ok(None),
        }
    }

    /// The reward voucher a code names, with its customer and contact id.
    async fn find(&self, code: &str) -> ConnectorResult<Option<Found>> {
        let Some((customer, part)) = parse_code(code) else {
            return Ok(None);
        };
        let Some(contact) = self.contact_id(&customer).await? else {
            return Ok(None);
        };
        let list = self.contact_vouchers(&contact).await?.unwrap_or_default();
        Ok(list
            .into_iter()
            .find(|v| is_named(v, part))
            .map(|voucher| Found {
                customer,
                contact,
                voucher,
            }))
    }

    /// The voucher `part` names among contact `contact`'s, read again.
    async fn reread(&self, contact: &str, part: &str) -> ConnectorResult<Option<RewardVoucher>> {
        let list = self.contact_vouchers(contact).await?.unwrap_or_default();
        Ok(list.into_iter().find(|v| is_named(v, part)))
    }
}

/// A voucher found by code.
struct Found {
    customer: CustomerNumber,
    contact: String,
    voucher: RewardVoucher,
}

#[async_trait]
impl VoucherStore for VoyadoVouchers {
    async fn vouchers(
        &self,
        _cx: &RequestContext,
        customer: &CustomerNumber,
    ) -> ConnectorResult<Vec<Voucher>> {
        let now = Utc::now();
        Ok(self
            .reward_vouchers(customer)
            .await?
            .unwrap_or_default()
            .iter()
            .map(|v| to_voucher(customer, v, now))
            .collect())
    }

    async fn voucher(&self, _cx: &RequestContext, code: &str) -> ConnectorResult<Option<Voucher>> {
        let now = Utc::now();
        Ok(self
            .find(code)
            .await?
            .map(|f| to_voucher(&f.customer, &f.voucher, now)))
    }

    async fn redeem_voucher(
        &self,
        _cx: &RequestContext,
        code: &str,
        idempotency_key: &str,
    ) -> ConnectorResult<Voucher> {
        let key = idempotency_key.trim();
        if key.is_empty() {
            return Err(self
                .client
                .error(ErrorKind::BadRequest, "redeem: empty idempotency key"));
        }
        let ours = match self.pending().get(key) {
            Some(c) if c != code.trim() => {
                return Err(self.client.error(
                    ErrorKind::BadRequest,
                    "redeem: the idempotency key was used for another voucher",
                ))
            }
            Some(_) => true,
            None => false,
        };
        let Found {
            customer,
            contact,
            voucher: v,
        } = self.find(code).await?.ok_or_else(|| self.not_found(code))?;
        let now = Utc::now();
        if v.redeemed {
            if ours {
                // An earlier attempt with this key took effect (its answer may have been lost).
                return Ok(to_voucher(&customer, &v, now));
            }
            let on = v
                .redeemed_on
                .map(|t| format!(" on {}", t.to_rfc3339()))
                .unwrap_or_default();
            return Err(self.client.error(
                ErrorKind::Conflict,
                format!("RewardVoucherAlreadyRedeemed: voucher `{code}` was redeemed{on}"),
            ));
        }
        if is_expired(&v, now) {
            self.pending().remove(key);
            return Err(self.client.error(
                ErrorKind::Conflict,
                format!("RewardVoucherExpired: voucher `{code}` has expired"),
            ));
        }
        self.pending().insert(key, code.trim());
        match self.client.redeem_reward_voucher(&v.id).await {
            Ok(()) => {}
            // An earlier attempt with this key landed after its answer was lost.
            Err(e) if ours && already_redeemed(&e) => {}
            Err(e) => {
                if !outcome_unknown(&e) {
                    self.pending().remove(key);
                }
                return Err(e);
            }
        }
        // Redeemed. The key stays remembered: a retry finds the voucher redeemed and answers it.
        let part = if v.voucher_number.trim().is_empty() {
            v.id.clone()
        } else {
            v.voucher_number.trim().to_owned()
        };
        // The redemption stands; a failed read-back does not fail it.
        let after = self.reread(&contact, &part).await.ok().flatten();
        let now = Utc::now();
        Ok(match after {
            Some(after) if after.redeemed => to_voucher(&customer, &after, now),
            // Voyado has not caught up yet: answer what it accepted.
            _ => Voucher {
                status: VoucherStatus::Redeemed {
                    at: now,
                    channel: None,
                },
                ..to_voucher(&customer, &v, now)
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::Decimal;

    fn voucher(redeemed: bool, expires: Option<&str>) -> RewardVoucher {
        RewardVoucher {
            id: "af61c5c8-7ff8-1234-9b67-c75300738cd3".into(),
            voucher_number: "2511233093766".into(),
            name: "Bonus".into(),
            value: Money::new(Decimal::from(195), Currency::SEK),
            local_values: Vec::new(),
            redeemed,
            redeemed_on: redeemed.then(|| "2024-05-01T10:00:00Z".parse().expect("time")),
            expires_on: expires.map(|t| t.parse().expect("time")),
            points: None,
        }
    }

    #[test]
    fn codes_carry_the_customer_and_the_voucher_number() {
        let c = CustomerNumber::new("C0000012");
        let v = voucher(false, None);
        assert_eq!(code_of(&c, &v), "C0000012:2511233093766");
        let (customer, part) = parse_code(" C0000012:2511233093766 ").expect("code");
        assert_eq!((customer.as_str(), part), ("C0000012", "2511233093766"));
        assert!(is_named(&v, part));
        assert!(is_named(&v, "AF61C5C8-7FF8-1234-9B67-C75300738CD3"));
        assert!(parse_code("NO-SUCH-VOUCHER").is_none());
        assert!(parse_code(":2511233093766").is_none());
        assert!(parse_code("C1:").is_none());
    }

    #[test]
    fn statuses_follow_redemption_and_expiry() {
        let c = CustomerNumber::new("C1");
        let now: DateTime<Utc> = "2025-01-01T00:00:00Z".parse().expect("time");
        let available = to_voucher(&c, &voucher(false, Some("2026-01-01T00:00:00Z")), now);
        assert_eq!(available.status, VoucherStatus::Available);
        assert_eq!(
            available.value,
            VoucherValue::Amount(Money::new(Decimal::from(195), Currency::SEK))
        );
        let expired = to_voucher(&c, &voucher(false, Some("2024-01-01T00:00:00Z")), now);
        assert_eq!(expired.status, VoucherStatus::Expired);
        let redeemed = to_voucher(&c, &voucher(true, Some("2024-01-01T00:00:00Z")), now);
        assert!(matches!(
            redeemed.status,
            VoucherStatus::Redeemed { channel: None, .. }
        ));
        assert_eq!(to_voucher(&c, &voucher(false, None), now).valid_until, None);
    }

    #[test]
    fn pending_keys_are_bounded() {
        let mut p = Pending::default();
        for i in 0..REMEMBERED_KEYS + 5 {
            p.insert(&format!("k{i}"), "C1:1");
        }
        assert_eq!(p.codes.len(), REMEMBERED_KEYS);
        assert!(p.get("k0").is_none());
        assert!(p.get(&format!("k{}", REMEMBERED_KEYS + 4)).is_some());
        p.remove("k10");
        assert!(p.get("k10").is_none());
        assert_eq!(p.order.len(), REMEMBERED_KEYS - 1);
    }
}
