//! The `[connectors.<name>]` table of a Klaviyo connector: where the API is, the private key,
//! the API revision to pin, and the names of the custom profile properties that carry what
//! Klaviyo has no standard field for (loyalty number and tier, person or company).
//!
//! It also says what the loyalty coupons are worth: Klaviyo keeps coupon codes and their
//! assignment to profiles, but a coupon carries only an id and a description, never its
//! discount, so the value of each coupon is configured here (`[vouchers] coupons`).
//!
//! Parsing is plain serde; [`KlaviyoConfig::validate`] collects every problem without I/O.

use samlet_connector::model::{Money, VoucherValue};
use samlet_connector::prelude::*;
use serde::Deserialize;
use std::collections::BTreeMap;

/// The Klaviyo API origin.
pub const DEFAULT_BASE_URL: &str = "https://a.klaviyo.com";
/// The API revision this connector is written and tested against (the spec's `info.version`).
pub const DEFAULT_REVISION: &str = "2026-07-15";

/// Configuration of one Klaviyo connector instance.
///
/// ```toml
/// kind = "klaviyo"
/// api_key = "${KLAVIYO_PRIVATE_KEY}"
/// # optional:
/// base_url = "https://a.klaviyo.com"
/// revision = "2026-07-15"
/// index_loyalty_numbers = true
/// properties = { loyalty_number = "loyalty_number", loyalty_tier = "loyalty_tier", customer_kind = "customer_kind" }
/// vouchers = { coupons = { LOYALTY10 = "10%" }, redemption_metric = "Redeemed Coupon" }
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KlaviyoConfig {
    /// The API origin, without `/api`. Default `https://a.klaviyo.com`.
    #[serde(default = "default_base_url")]
    pub base_url: String,
    /// A private API key (`pk_…`) with the scopes `profiles:read`, `events:read`,
    /// `events:write`, `coupon-codes:read` and `coupon-codes:write`. Sent as
    /// `Authorization: Klaviyo-API-Key …`.
    pub api_key: Secret,
    /// The `revision` header sent with every call (`YYYY-MM-DD[.suffix]`). Klaviyo answers in
    /// the shapes of the pinned revision, so only change it together with the connector.
    /// Default `2026-07-15`.
    #[serde(default = "default_revision")]
    pub revision: String,
    /// Names of the custom profile properties the connector reads.
    #[serde(default)]
    pub properties: PropertyNames,
    /// Klaviyo cannot filter profiles by a custom property, so loyalty-number lookups use an
    /// in-memory index (loyalty number -> profile id) that the connector builds by walking all
    /// profiles ordered by `updated` once, then keeps current with one `updated`-delta request
    /// per lookup batch. The first lookup costs one request per 100 profiles. `false` turns
    /// loyalty lookups off: loyalty keys are then always absent. Default `true`.
    #[serde(default = "default_true")]
    pub index_loyalty_numbers: bool,
    /// Which Klaviyo coupons are loyalty vouchers, what each is worth, and the metric a
    /// redemption is tracked as.
    #[serde(default)]
    pub vouchers: VoucherConfig,
}

/// The loyalty vouchers kept as Klaviyo coupon codes.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct VoucherConfig {
    /// Coupon id (Klaviyo's `coupon.id`, equal to its `external_id`) -> its worth: a
    /// percentage (`"10%"`) or an amount and currency (`"100 DKK"`). Only codes of these
    /// coupons are vouchers; a code is looked up by its unique code under each of these
    /// coupons, in name order. Default `{ LOYALTY10 = "10%" }`.
    pub coupons: BTreeMap<String, String>,
    /// The metric a redemption is tracked as (`POST /api/events`, `unique_id` derived from
    /// the redemption's idempotency key): the record of who redeemed a code, when, through
    /// which channel and under which key. Default `Redeemed Coupon`.
    pub redemption_metric: String,
}

/// The coupon the simulator seeds and the default configuration values.
pub const DEFAULT_LOYALTY_COUPON: &str = "LOYALTY10";
/// The default redemption metric.
pub const DEFAULT_REDEMPTION_METRIC: &str = "Redeemed Coupon";

impl Default for VoucherConfig {
    fn default() -> Self {
        VoucherConfig {
            coupons: BTreeMap::from([(DEFAULT_LOYALTY_COUPON.to_owned(), "10%".to_owned())]),
            redemption_metric: DEFAULT_REDEMPTION_METRIC.to_owned(),
        }
    }
}

/// Reads a coupon's configured worth: `"10%"` or `"100 DKK"`.
pub(crate) fn parse_voucher_value(raw: &str) -> Result<VoucherValue, String> {
    let t = raw.trim();
    if let Some(p) = t.strip_suffix('%') {
        let v: rust_decimal::Decimal = p
            .trim()
            .parse()
            .map_err(|_| format!("`{raw}` is not a percentage like \"10%\""))?;
        if v <= rust_decimal::Decimal::ZERO || v > rust_decimal::Decimal::ONE_HUNDRED {
            return Err(format!("`{raw}` must be more than 0% and at most 100%"));
        }
        return Ok(VoucherValue::Percent(v));
    }
    let (amount, currency) = t.split_once(' ').ok_or_else(|| {
        format!("`{raw}` is neither a percentage (\"10%\") nor an amount (\"100 DKK\")")
    })?;
    let amount: rust_decimal::Decimal = amount
        .trim()
        .parse()
        .map_err(|_| format!("`{amount}` in `{raw}` is not a decimal amount"))?;
    let currency: Currency = currency
        .trim()
        .parse()
        .map_err(|_| format!("`{currency}` in `{raw}` is not an ISO 4217 currency code"))?;
    if amount <= rust_decimal::Decimal::ZERO {
        return Err(format!("`{raw}` must be a positive amount"));
    }
    Ok(VoucherValue::Amount(Money { amount, currency }))
}

/// Custom profile property names (`profile.attributes.properties.<name>`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct PropertyNames {
    /// The loyalty club member number. Default `loyalty_number`.
    pub loyalty_number: String,
    /// The loyalty tier, e.g. `GOLD`. Default `loyalty_tier`.
    pub loyalty_tier: String,
    /// `company` for business customers, `person` (or absent) for consumers, since a Klaviyo
    /// profile is always a person (`organization` alone is also a person's employer).
    /// Default `customer_kind`.
    pub customer_kind: String,
}

impl Default for PropertyNames {
    fn default() -> Self {
        PropertyNames {
            loyalty_number: "loyalty_number".to_owned(),
            loyalty_tier: "loyalty_tier".to_owned(),
            customer_kind: "customer_kind".to_owned(),
        }
    }
}

fn default_base_url() -> String {
    DEFAULT_BASE_URL.to_owned()
}

fn default_revision() -> String {
    DEFAULT_REVISION.to_owned()
}

fn default_true() -> bool {
    true
}

/// Whether `rev` has the form `YYYY-MM-DD[.suffix]`.
pub(crate) fn is_revision(rev: &str) -> bool {
    let (date, suffix) = match rev.split_once('.') {
        Some((d, s)) => (d, Some(s)),
        None => (rev, None),
    };
    let suffix_ok = suffix
        .is_none_or(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
    suffix_ok && chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").is_ok() && date.len() == 10
}

impl KlaviyoConfig {
    /// Every problem with this configuration, each naming its key; empty when it is usable.
    pub fn validate(&self) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        check_url("base_url", &self.base_url, &mut problems);
        if let Ok(u) = url::Url::parse(&self.base_url) {
            if u.path().trim_end_matches('/').ends_with("/api") {
                problems.push(ConfigProblem::new(
                    "base_url",
                    "write the origin only, without `/api` (e.g. \"https://a.klaviyo.com\")",
                ));
            }
        }
        let key = self.api_key.expose().trim();
        if key.is_empty() {
            problems.push(ConfigProblem::new(
                "api_key",
                "must not be empty; write a private API key, e.g. \"${KLAVIYO_PRIVATE_KEY}\"",
            ));
        } else if !key.starts_with("pk_") {
            problems.push(ConfigProblem::new(
                "api_key",
                "is not a Klaviyo private API key (they start with `pk_`); a public key (site id) cannot read profiles",
            ));
        }
        if !is_revision(&self.revision) {
            problems.push(ConfigProblem::new(
                "revision",
                format!(
                    "`{}` is not a revision of the form YYYY-MM-DD[.suffix]; write e.g. \"{DEFAULT_REVISION}\"",
                    self.revision
                ),
            ));
        }
        let names = [
            ("properties.loyalty_number", &self.properties.loyalty_number),
            ("properties.loyalty_tier", &self.properties.loyalty_tier),
            ("properties.customer_kind", &self.properties.customer_kind),
        ];
        for (i, (key, name)) in names.iter().enumerate() {
            check_not_empty(key, name, &mut problems);
            if names[..i].iter().any(|(_, other)| other == name) && !name.trim().is_empty() {
                problems.push(ConfigProblem::new(
                    *key,
                    format!("`{name}` is already used by another property; each needs its own"),
                ));
            }
        }
        if self.vouchers.coupons.is_empty() {
            problems.push(ConfigProblem::new(
                "vouchers.coupons",
                "must name at least one coupon, e.g. { LOYALTY10 = \"10%\" }",
            ));
        }
        for (id, worth) in &self.vouchers.coupons {
            let key = format!("vouchers.coupons.{id}");
            if id.trim().is_empty() || id.contains('/') {
                problems.push(ConfigProblem::new(key.as_str(), "is not a coupon id"));
            } else if let Err(why) = parse_voucher_value(worth) {
                problems.push(ConfigProblem::new(key.as_str(), why));
            }
        }
        let metric = self.vouchers.redemption_metric.trim();
        if metric.is_empty() || metric.chars().count() > 127 {
            problems.push(ConfigProblem::new(
                "vouchers.redemption_metric",
                "must be a metric name of 1 to 127 characters",
            ));
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(toml_body: &str) -> KlaviyoConfig {
        toml::from_str(toml_body).expect("parses")
    }

    #[test]
    fn defaults_fill_everything_but_the_key() {
        let c = config(r#"api_key = "pk_abc""#);
        assert_eq!(c.base_url, DEFAULT_BASE_URL);
        assert_eq!(c.revision, DEFAULT_REVISION);
        assert_eq!(c.properties, PropertyNames::default());
        assert!(c.index_loyalty_numbers);
        assert!(c.validate().is_empty(), "{:?}", c.validate());
    }

    #[test]
    fn unknown_keys_are_rejected() {
        assert!(toml::from_str::<KlaviyoConfig>("api_key = \"pk_a\"\npage_size = 5").is_err());
        assert!(toml::from_str::<KlaviyoConfig>(
            "api_key = \"pk_a\"\nproperties = { tier = \"x\" }"
        )
        .is_err());
    }

    #[test]
    fn every_problem_is_reported_with_its_key() {
        let c = config(
            r#"
            base_url = "a.klaviyo.com"
            api_key = "AbC123"
            revision = "2026-7-15"
            properties = { loyalty_number = "club", loyalty_tier = "club", customer_kind = "" }
            "#,
        );
        let keys: Vec<String> = c.validate().into_iter().map(|p| p.key).collect();
        assert_eq!(
            keys,
            [
                "base_url",
                "api_key",
                "revision",
                "properties.loyalty_tier",
                "properties.customer_kind"
            ]
        );
    }

    #[test]
    fn revisions_may_carry_a_suffix() {
        assert!(is_revision("2026-07-15"));
        assert!(is_revision("2024-10-15.pre"));
        assert!(!is_revision(""));
        assert!(!is_revision("2026-13-01"));
        assert!(!is_revision("2026-07-15."));
        assert!(!is_revision("latest"));
    }

    #[test]
    fn voucher_values_are_percentages_or_amounts() {
        assert_eq!(
            parse_voucher_value("10%"),
            Ok(VoucherValue::Percent(10.into()))
        );
        assert_eq!(
            parse_voucher_value(" 12.5 % "),
            Ok(VoucherValue::Percent(rust_decimal::Decimal::new(125, 1)))
        );
        assert_eq!(
            parse_voucher_value("100 DKK"),
            Ok(VoucherValue::Amount(Money {
                amount: 100.into(),
                currency: Currency::DKK
            }))
        );
        for bad in ["", "10", "0%", "150%", "ten%", "100 DKKR", "-5 DKK"] {
            assert!(parse_voucher_value(bad).is_err(), "{bad}");
        }
        let c = config(
            "api_key = \"pk_a\"\nvouchers = { coupons = { GIFT = \"lots\" }, redemption_metric = \"\" }",
        );
        let keys: Vec<String> = c.validate().into_iter().map(|p| p.key).collect();
        assert_eq!(
            keys,
            ["vouchers.coupons.GIFT", "vouchers.redemption_metric"]
        );
        let c = config("api_key = \"pk_a\"\n[vouchers]\ncoupons = {}");
        assert_eq!(c.validate()[0].key, "vouchers.coupons");
        assert_eq!(c.vouchers.redemption_metric, DEFAULT_REDEMPTION_METRIC);
    }

    #[test]
    fn a_base_url_with_the_api_path_is_refused() {
        let c = config("api_key = \"pk_a\"\nbase_url = \"https://a.klaviyo.com/api/\"");
        assert_eq!(c.validate()[0].key, "base_url");
    }
}
