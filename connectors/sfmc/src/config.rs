//! The `[connectors.<name>]` table of a Salesforce Marketing Cloud Engagement connector: the
//! tenant's auth base URL, the installed package's API-integration credentials, the business
//! unit (MID), and the data extension (and its column names) that holds the customer
//! attributes the gateway reads.
//!
//! It also names the journey entry events ([`EventDefinitionKeys`]) that touchpoint events
//! fire, per event kind with a default.
//!
//! Parsing is plain serde (unknown keys are errors); [`SfmcConfig::validate`] collects every
//! problem without I/O.

use samlet_connector::model::EventKind;
use samlet_connector::prelude::*;
use serde::Deserialize;

/// The data extension external key used when the configuration names none.
pub const DEFAULT_DATA_EXTENSION_KEY: &str = "Samlet_Customers";
/// The largest `$pageSize` the rowset endpoint serves (community-reported cap; the connector
/// asks for full pages so a batch answer rarely needs a second page).
pub const MAX_PAGE_SIZE: u32 = 2_500;
/// The default bound on the path and query of one rowset request, in bytes.
pub const DEFAULT_MAX_URL_LENGTH: usize = 8_000;
/// The smallest `max_url_length` accepted: enough for the path and a few filter terms.
pub const MIN_MAX_URL_LENGTH: usize = 512;
/// The token path below `auth_base_url`.
pub const TOKEN_PATH: &str = "/v2/token";

/// Configuration of one Marketing Cloud Engagement connector instance.
///
/// ```toml
/// [connectors.marketing]
/// kind = "salesforce-marketing-cloud"
/// auth_base_url = "https://mc563885gzs27c5t9-63k636ttgm.auth.marketingcloudapis.com"
/// client_id = "${SFMC_CLIENT_ID}"
/// client_secret = "${SFMC_CLIENT_SECRET}"
/// account_id = "100000001"               # optional: the business unit's MID
/// data_extension_key = "Samlet_Customers" # optional
/// page_size = 2500                        # optional
/// max_url_length = 8000                   # optional
///
/// [connectors.marketing.columns]          # optional: the data extension's column names
/// email = "EmailAddress"
///
/// [connectors.marketing.event_definitions] # journey entry events for touchpoint events
/// default = "APIEvent-3f2c…"              # every kind without its own key
/// purchase = "APIEvent-8a1d…"             # optional, per kind
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SfmcConfig {
    /// The tenant's authentication base URI, as shown on the installed package's API
    /// integration component: `https://{subdomain}.auth.marketingcloudapis.com`. The connector
    /// posts to `{auth_base_url}/v2/token`; data calls go to the `rest_instance_url` that the
    /// token response names.
    pub auth_base_url: String,
    /// Client id of the installed package's server-to-server API integration.
    pub client_id: String,
    /// Its client secret. Write `"${ENV_VAR}"` rather than the secret itself.
    pub client_secret: Secret,
    /// The MID of the business unit to work in (`account_id` in the token request). Leave it
    /// out to work in the package's own business unit.
    #[serde(default)]
    pub account_id: Option<String>,
    /// External key (customer key) of the data extension that holds one row per customer,
    /// with the customer number as its primary key. Default `Samlet_Customers`.
    #[serde(default = "default_data_extension_key")]
    pub data_extension_key: String,
    /// Column names of that data extension.
    #[serde(default)]
    pub columns: ColumnNames,
    /// Rows per rowset page (`$pageSize`), 1 to 2500. Default 2500.
    #[serde(default = "default_page_size")]
    pub page_size: u32,
    /// The longest path and query (in bytes, percent-encoded) of one rowset request. A batch
    /// of keys is split into as few `or`-filters as fit. Marketing Cloud documents no limit;
    /// 8000 stays under the common 8 KB request-line limit of HTTP front ends. Default 8000.
    #[serde(default = "default_max_url_length")]
    pub max_url_length: usize,
    /// The journey entry events (`EventDefinitionKey`s) touchpoint events fire. Without any
    /// key, sending an event is refused as a configuration error.
    #[serde(default)]
    pub event_definitions: EventDefinitionKeys,
}

/// The `EventDefinitionKey` of the journey entry event each kind of touchpoint event fires
/// (Journey Builder → Event Administration shows the key, e.g. `APIEvent-3f2c…`), with a
/// default for the kinds without their own.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct EventDefinitionKeys {
    /// The key for every kind that has none of its own.
    pub default: Option<String>,
    /// A product page was viewed.
    pub product_viewed: Option<String>,
    /// A product was added to the wishlist.
    pub wishlisted: Option<String>,
    /// The basket changed.
    pub basket_changed: Option<String>,
    /// The customer visited a store.
    pub store_visit: Option<String>,
    /// The customer bought something.
    pub purchase: Option<String>,
    /// An offer was composed and should be sent.
    pub offer_sent: Option<String>,
}

impl EventDefinitionKeys {
    /// The key for `kind`: its own, else the default.
    pub fn key(&self, kind: EventKind) -> Option<&str> {
        let own = match kind {
            EventKind::ProductViewed => &self.product_viewed,
            EventKind::Wishlisted => &self.wishlisted,
            EventKind::BasketChanged => &self.basket_changed,
            EventKind::StoreVisit => &self.store_visit,
            EventKind::Purchase => &self.purchase,
            EventKind::OfferSent => &self.offer_sent,
        };
        own.as_deref().or(self.default.as_deref()).map(str::trim)
    }

    /// Every key given, with its configuration key.
    fn all(&self) -> [(&'static str, Option<&str>); 7] {
        [
            ("event_definitions.default", self.default.as_deref()),
            (
                "event_definitions.product_viewed",
                self.product_viewed.as_deref(),
            ),
            ("event_definitions.wishlisted", self.wishlisted.as_deref()),
            (
                "event_definitions.basket_changed",
                self.basket_changed.as_deref(),
            ),
            ("event_definitions.store_visit", self.store_visit.as_deref()),
            ("event_definitions.purchase", self.purchase.as_deref()),
            ("event_definitions.offer_sent", self.offer_sent.as_deref()),
        ]
    }
}

/// Column names of the customer data extension. Marketing Cloud compares column names
/// case-insensitively; the connector does too.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
#[schemars(rename = "SfmcColumnNames")]
pub struct ColumnNames {
    /// Primary key: the shared customer number, also the customer's ContactKey.
    /// Default `CustomerNumber`.
    pub customer_number: String,
    /// E-mail address (an EmailAddress column). Default `Email`.
    pub email: String,
    /// Mobile phone in E.164 (a Phone column). Default `MobilePhone`.
    pub mobile_phone: String,
    /// Given name. Default `FirstName`.
    pub first_name: String,
    /// Family name. Default `LastName`.
    pub last_name: String,
    /// Company name. Default `CompanyName`.
    pub company_name: String,
    /// `Company` for business customers, `Person` otherwise. Default `CustomerKind`.
    pub customer_kind: String,
    /// Loyalty club member number. Default `LoyaltyNumber`.
    pub loyalty_number: String,
    /// Loyalty tier, e.g. `GOLD`. Default `LoyaltyTier`.
    pub loyalty_tier: String,
    /// ISO 3166-1 alpha-2 country code. Default `Country`.
    pub country: String,
    /// City. Default `City`.
    pub city: String,
    /// Postal code. Default `PostalCode`.
    pub postal_code: String,
    /// Street and number. Default `Street`.
    pub street: String,
    /// Marketing e-mail consent (a Boolean column). Default `EmailOptIn`.
    pub email_opt_in: String,
    /// Marketing SMS consent (a Boolean column). Default `SmsOptIn`.
    pub sms_opt_in: String,
    /// When the consents last changed (a Date column, written in UTC). Default
    /// `OptInUpdatedAt`.
    pub opt_in_updated_at: String,
    /// When the row last changed (a Date column, written in UTC). Default `ModifiedDate`.
    pub modified_date: String,
}

impl Default for ColumnNames {
    fn default() -> Self {
        ColumnNames {
            customer_number: "CustomerNumber".into(),
            email: "Email".into(),
            mobile_phone: "MobilePhone".into(),
            first_name: "FirstName".into(),
            last_name: "LastName".into(),
            company_name: "CompanyName".into(),
            customer_kind: "CustomerKind".into(),
            loyalty_number: "LoyaltyNumber".into(),
            loyalty_tier: "LoyaltyTier".into(),
            country: "Country".into(),
            city: "City".into(),
            postal_code: "PostalCode".into(),
            street: "Street".into(),
            email_opt_in: "EmailOptIn".into(),
            sms_opt_in: "SmsOptIn".into(),
            opt_in_updated_at: "OptInUpdatedAt".into(),
            modified_date: "ModifiedDate".into(),
        }
    }
}

impl ColumnNames {
    /// Every column with its configuration key, in a stable order.
    pub fn all(&self) -> [(&'static str, &str); 17] {
        [
            ("columns.customer_number", &self.customer_number),
            ("columns.email", &self.email),
            ("columns.mobile_phone", &self.mobile_phone),
            ("columns.first_name", &self.first_name),
            ("columns.last_name", &self.last_name),
            ("columns.company_name", &self.company_name),
            ("columns.customer_kind", &self.customer_kind),
            ("columns.loyalty_number", &self.loyalty_number),
            ("columns.loyalty_tier", &self.loyalty_tier),
            ("columns.country", &self.country),
            ("columns.city", &self.city),
            ("columns.postal_code", &self.postal_code),
            ("columns.street", &self.street),
            ("columns.email_opt_in", &self.email_opt_in),
            ("columns.sms_opt_in", &self.sms_opt_in),
            ("columns.opt_in_updated_at", &self.opt_in_updated_at),
            ("columns.modified_date", &self.modified_date),
        ]
    }
}

fn default_data_extension_key() -> String {
    DEFAULT_DATA_EXTENSION_KEY.to_owned()
}

fn default_page_size() -> u32 {
    MAX_PAGE_SIZE
}

fn default_max_url_length() -> usize {
    DEFAULT_MAX_URL_LENGTH
}

/// Whether `name` can go unquoted into a rowset `$filter`: a letter or underscore, then
/// letters, digits and underscores, at most 128 characters. (Data extensions allow more,
/// e.g. spaces, but such names cannot be filtered on.)
pub(crate) fn is_column_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && name.len() <= 128
}

impl SfmcConfig {
    /// `{auth_base_url}/v2/token`.
    pub fn token_url(&self) -> String {
        format!(
            "{}{TOKEN_PATH}",
            self.auth_base_url.trim().trim_end_matches('/')
        )
    }

    /// Every problem with this configuration, each naming its key and what to write. Pure:
    /// no I/O.
    pub fn validate(&self) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        check_url("auth_base_url", &self.auth_base_url, &mut problems);
        if let Ok(u) = url::Url::parse(&self.auth_base_url) {
            if u.path().trim_end_matches('/').ends_with(TOKEN_PATH) {
                problems.push(ConfigProblem::new(
                    "auth_base_url",
                    "write the base URI only, without `/v2/token` (e.g. \"https://SUBDOMAIN.auth.marketingcloudapis.com\")",
                ));
            }
            if u.query().is_some() {
                problems.push(ConfigProblem::new(
                    "auth_base_url",
                    "must not carry a query string",
                ));
            }
        }
        check_not_empty("client_id", &self.client_id, &mut problems);
        check_not_empty("client_secret", self.client_secret.expose(), &mut problems);
        if let Some(mid) = &self.account_id {
            if mid.is_empty() || !mid.bytes().all(|b| b.is_ascii_digit()) || mid.len() > 18 {
                problems.push(ConfigProblem::new(
                    "account_id",
                    format!(
                        "`{mid}` is not a business unit MID (digits only, e.g. \"100000001\"); leave the key out to use the package's own business unit"
                    ),
                ));
            }
        }
        let key = self.data_extension_key.trim();
        if key.is_empty() {
            problems.push(ConfigProblem::new(
                "data_extension_key",
                format!("must not be empty; write the data extension's external key, e.g. \"{DEFAULT_DATA_EXTENSION_KEY}\""),
            ));
        } else if key.len() != self.data_extension_key.len() || key.contains(['/', '?', '#']) {
            problems.push(ConfigProblem::new(
                "data_extension_key",
                "must not contain `/`, `?`, `#` or surrounding spaces",
            ));
        }
        if !(1..=MAX_PAGE_SIZE).contains(&self.page_size) {
            problems.push(ConfigProblem::new(
                "page_size",
                format!(
                    "{} is outside what the rowset endpoint serves; write a number from 1 to {MAX_PAGE_SIZE}",
                    self.page_size
                ),
            ));
        }
        if self.max_url_length < MIN_MAX_URL_LENGTH {
            problems.push(ConfigProblem::new(
                "max_url_length",
                format!(
                    "{} is too small for a rowset request; write at least {MIN_MAX_URL_LENGTH} (default {DEFAULT_MAX_URL_LENGTH})",
                    self.max_url_length
                ),
            ));
        }
        for (key, value) in self.event_definitions.all() {
            if let Some(v) = value {
                if v.trim().is_empty() || v.contains('.') {
                    problems.push(ConfigProblem::new(
                        key,
                        format!("`{v}` is not an EventDefinitionKey; write the key Event Administration shows (no period), e.g. \"APIEvent-3f2c…\""),
                    ));
                }
            }
        }
        let columns = self.columns.all();
        for (i, (key, name)) in columns.iter().enumerate() {
            if !is_column_name(name) {
                problems.push(ConfigProblem::new(
                    *key,
                    format!(
                        "`{name}` cannot be used in a rowset filter; write letters, digits and underscores, e.g. \"CustomerNumber\""
                    ),
                ));
            } else if columns[..i]
                .iter()
                .any(|(_, other)| other.eq_ignore_ascii_case(name))
            {
                problems.push(ConfigProblem::new(
                    *key,
                    format!("`{name}` is already used for another column; each needs its own"),
                ));
            }
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(body: &str) -> SfmcConfig {
        toml::from_str(body).expect("parses")
    }

    const MINIMAL: &str = r#"
        auth_base_url = "https://abc.auth.marketingcloudapis.com"
        client_id = "id"
        client_secret = "secret"
    "#;

    #[test]
    fn defaults_fill_everything_but_the_credentials() {
        let c = config(MINIMAL);
        assert_eq!(c.data_extension_key, DEFAULT_DATA_EXTENSION_KEY);
        assert_eq!(c.columns, ColumnNames::default());
        assert_eq!(c.page_size, MAX_PAGE_SIZE);
        assert_eq!(c.max_url_length, DEFAULT_MAX_URL_LENGTH);
        assert_eq!(c.account_id, None);
        assert!(c.validate().is_empty(), "{:?}", c.validate());
        assert_eq!(
            c.token_url(),
            "https://abc.auth.marketingcloudapis.com/v2/token"
        );
    }

    #[test]
    fn unknown_keys_are_rejected() {
        assert!(toml::from_str::<SfmcConfig>(&format!("{MINIMAL}\nsubdomain = \"x\"")).is_err());
        assert!(
            toml::from_str::<SfmcConfig>(&format!("{MINIMAL}\ncolumns = {{ mail = \"E\" }}"))
                .is_err()
        );
    }

    #[test]
    fn every_problem_is_reported_with_its_key() {
        let c = config(
            r#"
            auth_base_url = "https://abc.auth.marketingcloudapis.com/v2/token"
            client_id = ""
            client_secret = " "
            account_id = "MID-1"
            data_extension_key = "a/b"
            page_size = 5000
            max_url_length = 100
            columns = { email = "E mail", mobile_phone = "customernumber" }
            event_definitions = { default = "", purchase = "Acme.Purchase" }
            "#,
        );
        let keys: Vec<String> = c.validate().into_iter().map(|p| p.key).collect();
        assert_eq!(
            keys,
            [
                "auth_base_url",
                "client_id",
                "client_secret",
                "account_id",
                "data_extension_key",
                "page_size",
                "max_url_length",
                "event_definitions.default",
                "event_definitions.purchase",
                "columns.email",
                "columns.mobile_phone"
            ]
        );
    }

    #[test]
    fn the_token_url_tolerates_a_trailing_slash() {
        let mut c = config(MINIMAL);
        c.auth_base_url.push('/');
        assert_eq!(
            c.token_url(),
            "https://abc.auth.marketingcloudapis.com/v2/token"
        );
    }

    #[test]
    fn event_kinds_fall_back_to_the_default_key() {
        let c = config(&format!(
            "{MINIMAL}\n[event_definitions]\ndefault = \"APIEvent-a\"\npurchase = \"APIEvent-p\"\n"
        ));
        assert_eq!(
            c.event_definitions.key(EventKind::Purchase),
            Some("APIEvent-p")
        );
        assert_eq!(
            c.event_definitions.key(EventKind::StoreVisit),
            Some("APIEvent-a")
        );
        assert!(c.validate().is_empty());
        assert_eq!(
            config(MINIMAL).event_definitions.key(EventKind::Purchase),
            None
        );
        assert!(toml::from_str::<SfmcConfig>(&format!(
            "{MINIMAL}\nevent_definitions = {{ purchases = \"x\" }}"
        ))
        .is_err());
    }

    #[test]
    fn column_names_must_be_filterable() {
        assert!(is_column_name("Email"));
        assert!(is_column_name("_Opt_In2"));
        assert!(!is_column_name("2Email"));
        assert!(!is_column_name("Email Address"));
        assert!(!is_column_name("Email'--"));
        assert!(!is_column_name(""));
    }
}
