//! [`VoucherStore`] over Klaviyo coupon codes.
//!
//! A voucher is a coupon code assigned to a profile. Klaviyo keeps coupons (`/api/coupons`,
//! an id and a description) and their unique codes (`/api/coupon-codes`, id
//! `<coupon id>-<unique code>`, `status`, `expires_at`, relationships to the coupon and the
//! profile). It does not keep what a coupon is worth: that is configured per coupon
//! ([`crate::VoucherConfig`], default `LOYALTY10` = 10 %), and only codes of configured
//! coupons are vouchers.
//!
//! - `vouchers(customer)`: the profile id of the customer number
//!   (`GET /api/profiles/?filter=equals(external_id,"…")`, cached), then
//!   `GET /api/coupon-codes/?filter=equals(profile.id,"…"),any(coupon.id,[…])`: 2 requests
//!   (1 once the profile id is cached), plus 1 `GET /api/events` if a code is `USED` (for
//!   the redemption time and channel).
//! - `voucher(code)`: `GET /api/coupon-codes/<coupon>-<code>/` for each configured coupon
//!   until one exists (Klaviyo's list filter has no `unique_code`), then the profile's
//!   `external_id` (`GET /api/profiles/{id}/`, cached): 2 requests with one coupon.
//! - `redeem_voucher(code, key)`: read the code (as above); an expired code is a
//!   [`ErrorKind::Conflict`]; an available one is redeemed by tracking a redemption event
//!   (`POST /api/events/`, metric `redemption_metric`, `unique_id` = `<code id>:<key>`,
//!   properties `coupon_code`, `coupon_code_id`, `coupon_id`, `channel`, `store`,
//!   `redemption_key`) and then `PATCH /api/coupon-codes/{id}/` to `status: USED` (sent once,
//!   never retried). A 409 from the PATCH is a conflict. 3 requests (+ the profile lookup).
//!
//! Exactly once: Klaviyo's PATCH takes no idempotency key, so the redemption event is the
//! vendor-side record of the key, written before the code is marked. A code already `USED`
//! is answered as redeemed when the profile's redemption events hold one for this code with
//! this key (a retry whose first answer was lost), and as a conflict otherwise. Caveats:
//! events are processed asynchronously by Klaviyo (a retry within moments of the first
//! attempt may not see its event yet and gets a conflict), only the newest
//! [`REDEMPTION_PAGES`] pages of the profile's events are searched, and when two different
//! keys race for one code both events exist, so the loser's later retry would be answered
//! as redeemed (its first answer was the conflict).

use crate::client::{quote, CodeUpdate, CouponCodeResource, EventResource, KlaviyoClient};
use crate::config::{parse_voucher_value, VoucherConfig};
use crate::events::{EventProfile, KlaviyoEvent};
use crate::mapping::{self, parse_time, Redemption, CODE_ASSIGNED, CODE_USED};
use chrono::{DateTime, Timelike, Utc};
use samlet_connector::model::{Voucher, VoucherValue};
use samlet_connector::prelude::*;
use serde_json::{json, Map, Value};
use std::sync::Mutex;

/// Pages of a profile's events (1000 each, newest first) searched for redemption events.
pub const REDEMPTION_PAGES: usize = 3;
/// Profile ids remembered (customer number <-> profile id) before the cache starts over.
const CACHE_CAP: usize = 100_000;

/// Redemption event property names.
const P_CODE: &str = "coupon_code";
const P_CODE_ID: &str = "coupon_code_id";
const P_COUPON: &str = "coupon_id";
const P_CHANNEL: &str = "channel";
const P_STORE: &str = "store";
const P_KEY: &str = "redemption_key";

/// Customer number <-> profile id, both ways (neither changes for a profile).
#[derive(Debug, Default)]
struct ProfileCache {
    by_number: HashMap<CustomerNumber, String>,
    by_profile: HashMap<String, CustomerNumber>,
}

impl ProfileCache {
    fn insert(&mut self, number: CustomerNumber, profile: String) {
        if self.by_number.len() >= CACHE_CAP {
            *self = ProfileCache::default();
        }
        self.by_profile.insert(profile.clone(), number.clone());
        self.by_number.insert(number, profile);
    }
}

/// A coupon code found for a code or a customer, with whose it is.
struct Found {
    code: CouponCodeResource,
    coupon: String,
    profile: String,
    customer: CustomerNumber,
}

/// Loyalty vouchers from Klaviyo coupon codes.
#[derive(Debug)]
pub(crate) struct KlaviyoVouchers {
    client: KlaviyoClient,
    /// Configured coupons and their worth, by coupon id.
    coupons: Vec<(String, VoucherValue)>,
    metric: String,
    cache: Mutex<ProfileCache>,
}

impl KlaviyoVouchers {
    /// A store over `client`; coupons whose worth does not parse are left out (the
    /// configuration's `validate` reports them).
    pub(crate) fn new(client: KlaviyoClient, config: &VoucherConfig) -> Self {
        KlaviyoVouchers {
            client,
            coupons: config
                .coupons
                .iter()
                .filter_map(|(id, v)| Some((id.trim().to_owned(), parse_voucher_value(v).ok()?)))
                .filter(|(id, _)| !id.is_empty())
                .collect(),
            metric: config.redemption_metric.trim().to_owned(),
            cache: Mutex::new(ProfileCache::default()),
        }
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, ProfileCache> {
        self.cache.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn value_of(&self, coupon: &str) -> Option<&VoucherValue> {
        self.coupons
            .iter()
            .find(|(id, _)| id == coupon)
            .map(|(_, v)| v)
    }

    /// The configured coupon a code belongs to: its relationship, else the id's prefix.
    fn coupon_of(&self, code: &CouponCodeResource) -> Option<String> {
        if let Some(c) = code.coupon_id() {
            return self.value_of(c).map(|_| c.to_owned());
        }
        self.coupons
            .iter()
            .find(|(id, _)| {
                code.id
                    .strip_prefix(id.as_str())
                    .is_some_and(|r| r.starts_with('-'))
            })
            .map(|(id, _)| id.clone())
    }

    /// The profile id holding `customer` as its `external_id`.
    async fn profile_of(&self, customer: &CustomerNumber) -> ConnectorResult<Option<String>> {
        if let Some(id) = self.cache().by_number.get(customer) {
            return Ok(Some(id.clone()));
        }
        let params = [
            (
                "filter",
                format!("equals(external_id,{})", quote(customer.as_str())),
            ),
            ("fields[profile]", "external_id".to_owned()),
        ];
        let found = self.client.profiles(&params).await?;
        let id = found
            .into_iter()
            .find(|p| p.attributes.external_id.as_deref() == Some(customer.as_str()))
            .map(|p| p.id);
        if let Some(id) = &id {
            self.cache().insert(customer.clone(), id.clone());
        }
        Ok(id)
    }

    /// The customer number of profile `id`.
    async fn customer_of(&self, profile: &str) -> ConnectorResult<Option<CustomerNumber>> {
        if let Some(n) = self.cache().by_profile.get(profile) {
            return Ok(Some(n.clone()));
        }
        let number = self
            .client
            .profile_external_id(profile)
            .await?
            .map(|n| n.trim().to_owned())
            .filter(|n| !n.is_empty())
            .map(CustomerNumber::new);
        if let Some(n) = &number {
            self.cache().insert(n.clone(), profile.to_owned());
        }
        Ok(number)
    }

    /// The code `code` of a configured coupon, assigned to a customer's profile.
    async fn find(&self, code: &str) -> ConnectorResult<Option<Found>> {
        let code = code.trim();
        if code.is_empty() {
            return Ok(None);
        }
        for (coupon, _) in &self.coupons {
            let Some(found) = self.client.coupon_code(&format!("{coupon}-{code}")).await? else {
                continue;
            };
            let Some(profile) = found.profile_id().map(str::to_owned) else {
                return Ok(None);
            };
            let Some(customer) = self.customer_of(&profile).await? else {
                return Ok(None);
            };
            return Ok(Some(Found {
                code: found,
                coupon: coupon.clone(),
                profile,
                customer,
            }));
        }
        Ok(None)
    }

    /// Redemption events of `profile`, newest first, as (code id, key, redemption); stops
    /// at the first one `stop` accepts.
    async fn redemptions(
        &self,
        profile: &str,
        stop: impl Fn(&str, &str) -> bool,
    ) -> ConnectorResult<Vec<(String, String, Redemption)>> {
        let events = self
            .client
            .profile_events(profile, &self.metric, REDEMPTION_PAGES, |e| {
                redemption_of(e).is_some_and(|(id, key, _)| stop(&id, &key))
            })
            .await?;
        Ok(events.iter().filter_map(redemption_of).collect())
    }

    fn voucher(&self, f: &Found, redemption: Option<&Redemption>) -> Option<Voucher> {
        let value = self.value_of(&f.coupon)?.clone();
        mapping::voucher(
            &f.code,
            &f.coupon,
            f.customer.clone(),
            value,
            redemption,
            Utc::now(),
        )
    }
}

/// `(code id, key, redemption)` of a redemption event.
fn redemption_of(e: &EventResource) -> Option<(String, String, Redemption)> {
    let props = e.attributes.event_properties.as_ref()?;
    let text = |k: &str| props.get(k).and_then(Value::as_str).map(str::to_owned);
    let at = e.attributes.datetime.as_deref().and_then(parse_time)?;
    Some((
        text(P_CODE_ID)?,
        text(P_KEY).unwrap_or_default(),
        Redemption {
            at,
            channel: text(P_CHANNEL).and_then(|c| c.parse().ok()),
        },
    ))
}

fn status(code: &CouponCodeResource) -> &str {
    code.attributes.status.as_deref().map_or("", str::trim)
}

#[async_trait]
impl VoucherStore for KlaviyoVouchers {
    async fn vouchers(
        &self,
        _cx: &RequestContext,
        customer: &CustomerNumber,
    ) -> ConnectorResult<Vec<Voucher>> {
        let Some(profile) = self.profile_of(customer).await? else {
            return Ok(Vec::new());
        };
        let coupons: Vec<String> = self.coupons.iter().map(|(id, _)| quote(id)).collect();
        let filter = format!(
            "equals(profile.id,{}),any(coupon.id,[{}])",
            quote(&profile),
            coupons.join(",")
        );
        let codes = self.client.coupon_codes(filter).await?;
        let redemptions = if codes.iter().any(|c| status(c) == CODE_USED) {
            self.redemptions(&profile, |_, _| false).await?
        } else {
            Vec::new()
        };
        let mut out: Vec<Voucher> = codes
            .into_iter()
            .filter(|c| c.profile_id().is_none_or(|p| p == profile))
            .filter_map(|code| {
                let coupon = self.coupon_of(&code)?;
                let r = redemptions
                    .iter()
                    .find(|(id, _, _)| *id == code.id)
                    .map(|(_, _, r)| r);
                let f = Found {
                    code,
                    coupon,
                    profile: profile.clone(),
                    customer: customer.clone(),
                };
                self.voucher(&f, r)
            })
            .collect();
        out.sort_by(|a, b| a.code.cmp(&b.code));
        Ok(out)
    }

    async fn voucher(&self, _cx: &RequestContext, code: &str) -> ConnectorResult<Option<Voucher>> {
        let Some(f) = self.find(code).await? else {
            return Ok(None);
        };
        let redemption = if status(&f.code) == CODE_USED {
            let id = f.code.id.clone();
            self.redemptions(&f.profile, |c, _| c == id)
                .await?
                .into_iter()
                .find(|(c, _, _)| *c == id)
                .map(|(_, _, r)| r)
        } else {
            None
        };
        Ok(self.voucher(&f, redemption.as_ref()))
    }

    async fn redeem_voucher(
        &self,
        cx: &RequestContext,
        code: &str,
        idempotency_key: &str,
    ) -> ConnectorResult<Voucher> {
        let name = self.client.name();
        let not_found = || {
            ConnectorError::new(
                ErrorKind::NotFound,
                name,
                format!("no voucher `{}`", code.trim()),
            )
        };
        let conflict = |why: &str| {
            ConnectorError::new(
                ErrorKind::Conflict,
                name,
                format!("voucher `{}` {why}", code.trim()),
            )
        };
        let key = idempotency_key.trim();
        if key.is_empty() {
            return Err(ConnectorError::new(
                ErrorKind::BadRequest,
                name,
                "a redemption needs an idempotency key",
            ));
        }
        let f = self.find(code).await?.ok_or_else(not_found)?;
        let id = f.code.id.clone();
        match status(&f.code) {
            CODE_USED => {
                let mine = self
                    .redemptions(&f.profile, |c, k| c == id && k == key)
                    .await?
                    .into_iter()
                    .find(|(c, k, _)| *c == id && k == key);
                return match mine {
                    Some((_, _, r)) => self.voucher(&f, Some(&r)).ok_or_else(not_found),
                    None => Err(conflict("has already been redeemed")),
                };
            }
            CODE_ASSIGNED => {}
            _ => return Err(not_found()),
        }
        let current = self.voucher(&f, None).ok_or_else(not_found)?;
        if current.status == samlet_connector::model::VoucherStatus::Expired {
            return Err(conflict("has expired"));
        }
        // Klaviyo keeps event times to the second.
        let at: DateTime<Utc> = Utc::now().with_nanosecond(0).unwrap_or_else(Utc::now);
        let mut properties = Map::new();
        properties.insert(P_CODE.into(), json!(current.code));
        properties.insert(P_CODE_ID.into(), json!(id));
        properties.insert(P_COUPON.into(), json!(f.coupon));
        properties.insert(P_CHANNEL.into(), json!(cx.channel.as_str()));
        if let Some(store) = &cx.store {
            properties.insert(P_STORE.into(), json!(store.as_str()));
        }
        properties.insert(P_KEY.into(), json!(key));
        let event = KlaviyoEvent {
            metric: self.metric.clone(),
            profile: EventProfile {
                id: Some(f.profile.clone()),
                external_id: Some(f.customer.clone()),
                ..EventProfile::default()
            },
            properties,
            time: Some(at),
            value: None,
            value_currency: None,
            unique_id: Some(format!("{id}:{key}")),
        };
        self.client.create_event(&event).await?;
        match self.client.set_coupon_code_status(&id, CODE_USED).await? {
            CodeUpdate::Updated(mut updated) => {
                // Answered without a status (all attributes are nullable): it is what we set.
                updated
                    .attributes
                    .status
                    .get_or_insert_with(|| CODE_USED.to_owned());
                let f = Found { code: updated, ..f };
                let r = Redemption {
                    at,
                    channel: Some(cx.channel),
                };
                self.voucher(&f, Some(&r)).ok_or_else(not_found)
            }
            CodeUpdate::Conflict(msg) => Err(conflict(&format!("cannot be redeemed: {msg}"))),
        }
    }
}
