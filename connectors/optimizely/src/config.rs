//! The `[connectors.<name>]` table of an Optimizely connector: which site hosts the Service API,
//! the API user it signs in as, and the conventions that tie Optimizely's commerce data to the
//! gateway's model (languages, markets per price channel and currency, meta field names, the
//! order number format). Parsing is plain serde; [`OptimizelyConfig::validate`] collects every
//! problem without any I/O.

use samlet_connector::config::{check_not_empty, check_url, ConfigProblem};
use samlet_connector::context::{Currency, Locale, PriceChannel};
use samlet_connector::http::Secret;
use serde::Deserialize;
use std::collections::BTreeMap;

/// Requests in flight at once against the site, by default. The Service API runs inside the
/// customer's own web application and publishes no limit; 16 keeps a fan-out of per-entry reads
/// fast without monopolising the site's request threads.
pub const DEFAULT_MAX_CONCURRENT_REQUESTS: u32 = 16;
/// The most requests in flight this connector allows itself to configure.
pub const MAX_CONCURRENT_REQUESTS: u32 = 64;
/// Entries per page when listing the catalogue, by default.
pub const DEFAULT_PAGE_SIZE: u32 = 500;
/// The largest listing page this connector asks for (the Service API documents no cap; a page
/// of 1,000 full entries in every language is already a few megabytes).
pub const MAX_PAGE_SIZE: u32 = 1_000;
/// Optimizely market ids are at most eight characters.
pub const MARKET_ID_LEN: usize = 8;

/// How the gateway reaches one Optimizely Customized Commerce site through its Service API.
///
/// ```toml
/// [connectors.commerce]
/// kind = "optimizely"
/// site_url = "https://shop.example.com"
/// username = "samlet-integration"
/// password = "${OPTIMIZELY_PASSWORD}"
/// order_number_prefix = "SO"
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OptimizelyConfig {
    /// The site that hosts the Service API, without a path, e.g. `"https://shop.example.com"`.
    /// The connector calls `{site_url}/episerverapi/token` and `{site_url}/episerverapi/commerce/...`.
    pub site_url: String,
    /// The user the connector signs in as (password grant). It needs the Service API read
    /// permission (`EPiServerServiceApiRead`) in the site's permissions for functions.
    pub username: String,
    /// That user's password. Write `"${OPTIMIZELY_PASSWORD}"` rather than the password itself.
    pub password: Secret,
    /// Requests in flight at once (1 to 64). The Service API reads one catalog entry per call,
    /// so batches of SKUs fan out into this many concurrent calls. Default 16.
    #[serde(default = "default_max_concurrent_requests")]
    pub max_concurrent_requests: u32,
    /// Entries per page when listing the catalogue (`/entries/{startPage}/{pageSize}`), 1 to
    /// 1,000. Default 500.
    #[serde(default = "default_page_size")]
    pub page_size: u32,
    /// Optimizely content language -> gateway locale, for meta field values. Defaults:
    /// `da = "da-DK"`, `sv = "sv-SE"`, `no = "nb-NO"`, `nb = "nb-NO"`, `en = "en-GB"`. A value in
    /// a language not listed here is ignored; a value without a language (a field that is not
    /// culture specific) is filed under `en-GB`.
    #[serde(default = "default_languages")]
    pub languages: BTreeMap<String, Locale>,
    /// The market whose prices serve each price channel and currency.
    #[serde(default)]
    pub markets: MarketMapping,
    /// Whether prices of customers in general (`AllCustomers`) include VAT, as the markets'
    /// "prices include tax" setting says. Default `true`.
    #[serde(default = "default_true")]
    pub prices_include_tax: bool,
    /// Customer price groups whose prices are net of VAT (B2B price lists). Default `["B2B"]`.
    #[serde(default = "default_net_price_groups")]
    pub net_price_groups: Vec<String>,
    /// Names of the catalog meta fields that hold texts and attributes.
    #[serde(default)]
    pub meta_fields: MetaFieldMapping,
    /// The text before the digits of an order number. The site's order number generator writes
    /// `{order_number_prefix}{OrderGroupId}` (zero padding allowed), so the connector can read an
    /// order by number with `GET /orders/{orderGroupId}`. Default `"PO"`.
    #[serde(default = "default_order_number_prefix")]
    pub order_number_prefix: String,
    /// The warehouse that ships home deliveries (orders placed for home delivery reserve stock
    /// there). Default `"WH-ONLINE"`.
    #[serde(default = "default_online_warehouse")]
    pub online_warehouse: String,
    /// The market of the customers' `Wishlist` carts (one wishlist per customer, the same in
    /// every channel and currency). Default `"DEFAULT"` (Commerce's default market).
    #[serde(default = "default_wishlist_market")]
    pub wishlist_market: String,
}

fn default_online_warehouse() -> String {
    "WH-ONLINE".to_owned()
}

fn default_wishlist_market() -> String {
    "DEFAULT".to_owned()
}

/// Market ids per price channel and currency. Optimizely keeps prices per market and currency
/// and knows nothing of sales channels, so online and in-store price lists live in separate
/// markets (a store market per country).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct MarketMapping {
    /// Markets for web, app and e-mail, by currency. Default
    /// `{ DKK = "DK", SEK = "SE", NOK = "NO", EUR = "EU" }`.
    pub online: BTreeMap<Currency, String>,
    /// Markets for store, kiosk and POS, by currency. Default
    /// `{ DKK = "DK-STORE", SEK = "SE-STORE", NOK = "NO-STORE", EUR = "EU-STORE" }`.
    pub store: BTreeMap<Currency, String>,
}

impl Default for MarketMapping {
    fn default() -> Self {
        let pairs = |suffix: &str| {
            [
                (Currency::DKK, "DK"),
                (Currency::SEK, "SE"),
                (Currency::NOK, "NO"),
                (Currency::EUR, "EU"),
            ]
            .into_iter()
            .map(|(c, m)| (c, format!("{m}{suffix}")))
            .collect()
        };
        MarketMapping {
            online: pairs(""),
            store: pairs("-STORE"),
        }
    }
}

impl MarketMapping {
    /// The market for a price channel and currency, if one is configured.
    pub fn market_for(&self, channel: PriceChannel, currency: Currency) -> Option<&str> {
        match channel {
            PriceChannel::Online => &self.online,
            PriceChannel::Store => &self.store,
        }
        .get(&currency)
        .map(String::as_str)
    }
}

/// Meta field names of the catalog's content types. Product-level texts and attributes are read
/// from the product entry, axes from each variation entry.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct MetaFieldMapping {
    /// The localised name of products and variations. Default `"DisplayName"` (Optimizely's
    /// built-in culture-specific name; the entry's `Name` is the fallback).
    pub display_name: String,
    /// The product description (the same text serves every channel). Default `"Description"`.
    pub description: String,
    /// Product attributes: gateway attribute code -> meta field name. Default
    /// `{ material = "Material", collection = "Collection" }`.
    pub product_attributes: BTreeMap<String, String>,
    /// Variant axes: gateway attribute code -> meta field name. Default `{ color = "Color" }`.
    pub variant_attributes: BTreeMap<String, String>,
}

impl Default for MetaFieldMapping {
    fn default() -> Self {
        let map = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
                .collect()
        };
        MetaFieldMapping {
            display_name: "DisplayName".into(),
            description: "Description".into(),
            product_attributes: map(&[("material", "Material"), ("collection", "Collection")]),
            variant_attributes: map(&[("color", "Color")]),
        }
    }
}

fn default_max_concurrent_requests() -> u32 {
    DEFAULT_MAX_CONCURRENT_REQUESTS
}
fn default_page_size() -> u32 {
    DEFAULT_PAGE_SIZE
}
fn default_true() -> bool {
    true
}
fn default_net_price_groups() -> Vec<String> {
    vec!["B2B".to_owned()]
}
fn default_order_number_prefix() -> String {
    "PO".to_owned()
}
fn default_languages() -> BTreeMap<String, Locale> {
    [
        ("da", "da-DK"),
        ("sv", "sv-SE"),
        ("no", "nb-NO"),
        ("nb", "nb-NO"),
        ("en", "en-GB"),
    ]
    .into_iter()
    .filter_map(|(l, loc)| Some((l.to_owned(), loc.parse().ok()?)))
    .collect()
}

impl OptimizelyConfig {
    /// Every problem with this configuration; empty when it is usable. Pure: no I/O.
    pub fn validate(&self) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        check_url("site_url", &self.site_url, &mut problems);
        if let Ok(u) = url::Url::parse(&self.site_url) {
            if u.query().is_some() || u.fragment().is_some() {
                problems.push(ConfigProblem::new(
                    "site_url",
                    "must not carry a query or fragment; write the site's root, e.g. \"https://shop.example.com\"",
                ));
            }
        }
        check_not_empty("username", &self.username, &mut problems);
        check_not_empty("password", self.password.expose(), &mut problems);
        if !(1..=MAX_CONCURRENT_REQUESTS).contains(&self.max_concurrent_requests) {
            problems.push(ConfigProblem::new(
                "max_concurrent_requests",
                format!(
                    "{} is outside 1..={MAX_CONCURRENT_REQUESTS}; write e.g. {DEFAULT_MAX_CONCURRENT_REQUESTS}",
                    self.max_concurrent_requests
                ),
            ));
        }
        if !(1..=MAX_PAGE_SIZE).contains(&self.page_size) {
            problems.push(ConfigProblem::new(
                "page_size",
                format!(
                    "{} is outside 1..={MAX_PAGE_SIZE}; write e.g. {DEFAULT_PAGE_SIZE}",
                    self.page_size
                ),
            ));
        }
        if self.languages.is_empty() {
            problems.push(ConfigProblem::new(
                "languages",
                "must map at least one content language; write e.g. { da = \"da-DK\", en = \"en-GB\" }",
            ));
        }
        for lang in self.languages.keys() {
            if lang.trim().is_empty() {
                problems.push(ConfigProblem::new(
                    "languages",
                    "a language code must not be empty; write e.g. da = \"da-DK\"",
                ));
            }
        }
        for (table, markets) in [
            ("markets.online", &self.markets.online),
            ("markets.store", &self.markets.store),
        ] {
            for (currency, market) in markets {
                let m = market.trim();
                if m.is_empty() || m.len() > MARKET_ID_LEN || m.contains('/') {
                    problems.push(ConfigProblem::new(
                        format!("{table}.{currency}"),
                        format!(
                            "`{market}` is not a market id (1 to {MARKET_ID_LEN} characters, no '/'); write e.g. \"DK\""
                        ),
                    ));
                }
            }
        }
        if self.net_price_groups.iter().any(|g| g.trim().is_empty()) {
            problems.push(ConfigProblem::new(
                "net_price_groups",
                "a price group must not be empty; write e.g. [\"B2B\"]",
            ));
        }
        let m = &self.meta_fields;
        check_not_empty("meta_fields.display_name", &m.display_name, &mut problems);
        check_not_empty("meta_fields.description", &m.description, &mut problems);
        for (table, attrs) in [
            ("meta_fields.product_attributes", &m.product_attributes),
            ("meta_fields.variant_attributes", &m.variant_attributes),
        ] {
            for (code, field) in attrs {
                if code.trim().is_empty() || field.trim().is_empty() {
                    problems.push(ConfigProblem::new(
                        table,
                        "attribute codes and meta field names must not be empty; write e.g. material = \"Material\"",
                    ));
                }
            }
        }
        check_not_empty("online_warehouse", &self.online_warehouse, &mut problems);
        let m = self.wishlist_market.trim();
        if m.is_empty() || m.len() > MARKET_ID_LEN || m.contains('/') {
            problems.push(ConfigProblem::new(
                "wishlist_market",
                format!(
                    "`{}` is not a market id (1 to {MARKET_ID_LEN} characters, no '/'); write e.g. \"DEFAULT\"",
                    self.wishlist_market
                ),
            ));
        }
        if self.order_number_prefix.chars().any(|c| c.is_ascii_digit()) {
            problems.push(ConfigProblem::new(
                "order_number_prefix",
                format!(
                    "`{}` contains digits, so the OrderGroupId cannot be told from the prefix; write the letters before the id, e.g. \"PO\"",
                    self.order_number_prefix
                ),
            ));
        }
        problems
    }

    /// The site root without a trailing slash.
    pub(crate) fn site(&self) -> &str {
        self.site_url.trim_end_matches('/')
    }

    /// The gateway locale of an Optimizely content language (`da`, `sv-SE`, ...), if mapped.
    /// A full culture name not in [`OptimizelyConfig::languages`] maps through its language.
    pub fn locale_of(&self, language: &str) -> Option<Locale> {
        let lang = language.trim();
        if let Some(l) = self.languages.get(lang) {
            return Some(l.clone());
        }
        let lower = lang.to_ascii_lowercase();
        if let Some(l) = self.languages.get(&lower) {
            return Some(l.clone());
        }
        let base = lower.split(['-', '_']).next().unwrap_or("");
        (base != lower)
            .then(|| self.languages.get(base).cloned())
            .flatten()
    }

    /// The OrderGroupId an order number stands for under the configured convention.
    pub fn order_group_id(&self, number: &str) -> Option<u64> {
        let digits = number.strip_prefix(self.order_number_prefix.as_str())?;
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        digits.parse().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(body: &str) -> OptimizelyConfig {
        toml::from_str(body).expect("parses")
    }

    const MINIMAL: &str = r#"
site_url = "https://shop.example.com/"
username = "integration"
password = "s3cret"
"#;

    #[test]
    fn a_minimal_config_takes_the_documented_defaults() {
        let c = config(MINIMAL);
        assert!(c.validate().is_empty(), "{:?}", c.validate());
        assert_eq!(c.site(), "https://shop.example.com");
        assert_eq!(c.max_concurrent_requests, 16);
        assert_eq!(c.page_size, 500);
        assert_eq!(
            c.markets.market_for(PriceChannel::Online, Currency::SEK),
            Some("SE")
        );
        assert_eq!(
            c.markets.market_for(PriceChannel::Store, Currency::EUR),
            Some("EU-STORE")
        );
        assert_eq!(c.net_price_groups, vec!["B2B"]);
        assert_eq!(c.meta_fields.variant_attributes["color"], "Color");
        assert_eq!(c.order_number_prefix, "PO");
        assert_eq!(format!("{:?}", c.password), "[redacted]");
    }

    #[test]
    fn languages_map_codes_and_cultures_to_locales() {
        let c = config(MINIMAL);
        assert_eq!(c.locale_of("no").unwrap().as_str(), "nb-NO");
        assert_eq!(c.locale_of("nb").unwrap().as_str(), "nb-NO");
        assert_eq!(c.locale_of("sv-SE").unwrap().as_str(), "sv-SE");
        assert_eq!(c.locale_of("EN").unwrap().as_str(), "en-GB");
        assert_eq!(c.locale_of("fi"), None);
    }

    #[test]
    fn markets_can_be_overridden_per_currency() {
        let c = config(&format!(
            "{MINIMAL}\n[markets.store]\nDKK = \"DKSHOP\"\n[markets.online]\nDKK = \"DEN\"\n"
        ));
        assert!(c.validate().is_empty(), "{:?}", c.validate());
        assert_eq!(
            c.markets.market_for(PriceChannel::Store, Currency::DKK),
            Some("DKSHOP")
        );
        assert_eq!(
            c.markets.market_for(PriceChannel::Online, Currency::SEK),
            None
        );
    }

    #[test]
    fn every_problem_is_reported_with_what_to_write() {
        let c = config(
            r#"
site_url = "not a url"
username = ""
password = ""
max_concurrent_requests = 0
page_size = 5000
languages = {}
net_price_groups = [""]
order_number_prefix = "SO1"
[markets.online]
DKK = "DENMARK-ONLINE"
"#,
        );
        let keys: Vec<String> = c.validate().into_iter().map(|p| p.key).collect();
        for key in [
            "site_url",
            "username",
            "password",
            "max_concurrent_requests",
            "page_size",
            "languages",
            "net_price_groups",
            "order_number_prefix",
            "markets.online.DKK",
        ] {
            assert!(keys.iter().any(|k| k == key), "{key} missing in {keys:?}");
        }
    }

    #[test]
    fn unknown_keys_are_rejected() {
        assert!(
            toml::from_str::<OptimizelyConfig>(&format!("{MINIMAL}\nbase_url = \"x\"")).is_err()
        );
        assert!(toml::from_str::<OptimizelyConfig>(&format!(
            "{MINIMAL}\n[markets]\nkiosk = {{ DKK = \"K\" }}"
        ))
        .is_err());
    }

    #[test]
    fn order_numbers_give_their_order_group_id() {
        let c = config(&format!("{MINIMAL}\norder_number_prefix = \"SO\""));
        assert_eq!(c.order_group_id("SO0000042"), Some(42));
        assert_eq!(c.order_group_id("SO"), None);
        assert_eq!(c.order_group_id("PO0000042"), None);
        assert_eq!(c.order_group_id("SO12a"), None);
    }
}
