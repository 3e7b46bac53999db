//! The `[connectors.<name>]` table of a Vendure connector: where the server is, the
//! administrator's credentials, which Vendure channel serves which price list, how Vendure's
//! language codes map to locales, and the names of the custom fields the connector reads.
//! Parsing is plain serde; [`VendureConfig::validate`] collects every problem without any I/O.

use samlet_connector::config::{check_not_empty, check_url, ConfigProblem};
use samlet_connector::context::{Locale, PriceChannel};
use samlet_connector::http::Secret;
use serde::Deserialize;
use std::collections::BTreeMap;

/// Vendure's default `adminListQueryLimit`: a list query with a larger `take` is refused.
pub const MAX_PAGE_SIZE: u32 = 1000;

/// Configuration of one Vendure server, read through its Admin API.
#[derive(Debug, Clone, PartialEq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VendureConfig {
    /// The server's root URL, without the API path, e.g. `"https://shop.example.com"`. The
    /// connector posts GraphQL to `<base_url>/<admin_api_path>`.
    pub base_url: String,
    /// The Admin API's path (Vendure `apiOptions.adminApiPath`). Default `"admin-api"`.
    #[serde(default = "default_admin_api_path")]
    pub admin_api_path: String,
    /// The administrator's identifier (user name or e-mail) for the `login` mutation. Give
    /// it a role with `ReadCatalog` and `ReadStockLocation` on every channel below.
    pub username: String,
    /// The administrator's password. Write `"${VENDURE_PASSWORD}"` to read it from the
    /// environment.
    pub password: Secret,
    /// The channel token (`vendure-token` header) for catalogue, stock and location reads.
    /// Empty (the default) reads the server's default channel.
    #[serde(default)]
    pub channel_token: String,
    /// Which Vendure channel holds which price list.
    #[serde(default)]
    pub price_channels: PriceChannels,
    /// Vendure language code -> locale, e.g. `{ da = "da-DK" }`. Translations in languages
    /// not listed are ignored. Default: `da`, `sv`, `nb` and `en` as `da-DK`, `sv-SE`, `nb-NO`
    /// and `en-GB`.
    #[serde(default = "default_languages")]
    pub languages: BTreeMap<String, Locale>,
    /// The code of the facet whose values are the product's categories; every other facet
    /// becomes a product attribute. Default `"category"`.
    #[serde(default = "default_category_facet")]
    pub category_facet: String,
    /// The names of the custom fields the connector reads (they must be configured on the
    /// server: see the crate documentation).
    #[serde(default)]
    pub custom_fields: CustomFieldNames,
    /// Items per list query, 1 to 1000 (Vendure's default `adminListQueryLimit`; lower it if
    /// the server's limit is lower). Batch reads send at most this many keys per request.
    /// Default 100.
    #[serde(default = "default_page_size")]
    pub page_size: u32,
}

fn default_admin_api_path() -> String {
    "admin-api".into()
}

fn default_category_facet() -> String {
    "category".into()
}

fn default_page_size() -> u32 {
    100
}

/// `da`, `sv`, `nb`, `en` as `da-DK`, `sv-SE`, `nb-NO`, `en-GB`.
pub fn default_languages() -> BTreeMap<String, Locale> {
    [
        ("da", "da-DK"),
        ("sv", "sv-SE"),
        ("nb", "nb-NO"),
        ("en", "en-GB"),
    ]
    .into_iter()
    .filter_map(|(code, locale)| Some((code.to_owned(), locale.parse().ok()?)))
    .collect()
}

/// Channel tokens per price list. Vendure keeps one price per variant, channel and currency,
/// so each price list is a channel with every currency the shop sells in; the channel's
/// `pricesIncludeTax` says whether its prices include VAT.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct PriceChannels {
    /// The channel of online prices (web, app, e-mail). Empty: the server's default channel.
    pub online: String,
    /// The channel of in-store prices (store, kiosk, POS). Empty: the server's default channel.
    pub store: String,
    /// Customer group -> channel of that group's prices, e.g. `{ B2B = "b2b" }`. A group
    /// not listed gets the consumer prices of its price channel.
    pub groups: BTreeMap<String, String>,
}

impl PriceChannels {
    /// The channel token for a price channel and customer group, and the group it prices for
    /// (`None` for consumer prices).
    pub fn token_for<'a>(
        &'a self,
        channel: PriceChannel,
        group: Option<&'a str>,
    ) -> (&'a str, Option<&'a str>) {
        if let Some((g, token)) = group.and_then(|g| self.groups.get_key_value(g)) {
            return (token, Some(g));
        }
        match channel {
            PriceChannel::Online => (&self.online, None),
            PriceChannel::Store => (&self.store, None),
        }
    }
}

/// The custom fields the connector reads. Vendure has no field for a product code shared with
/// other systems, a compare-at price or a location's address, so the server declares them in
/// its `customFields` configuration.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct CustomFieldNames {
    /// `Product` string field with the product code shared with other systems (the gateway's
    /// product id, e.g. `P000042`). Default `"code"`.
    pub product_code: String,
    /// `ProductVariantPrice` int field with the regular (compare-at) price in minor units,
    /// set while the price is a reduced one. Default `"regularPrice"`.
    pub regular_price: String,
    /// `StockLocation` string field with the location code (e.g. `DK-CPH`). Default `"code"`.
    pub location_code: String,
    /// `StockLocation` string field, `store` or `warehouse`. Default `"kind"`.
    pub location_kind: String,
    /// `StockLocation` string field with street and number. Default `"street"`.
    pub location_street: String,
    /// `StockLocation` string field with the postal code. Default `"postalCode"`.
    pub location_postal_code: String,
    /// `StockLocation` string field with the city. Default `"city"`.
    pub location_city: String,
    /// `StockLocation` string field with the ISO 3166-1 alpha-2 country. Default `"countryCode"`.
    pub location_country: String,
    /// `StockLocation` boolean field: customers can collect online orders here. Default
    /// `"clickAndCollect"`.
    pub location_click_and_collect: String,
}

impl Default for CustomFieldNames {
    fn default() -> Self {
        CustomFieldNames {
            product_code: "code".into(),
            regular_price: "regularPrice".into(),
            location_code: "code".into(),
            location_kind: "kind".into(),
            location_street: "street".into(),
            location_postal_code: "postalCode".into(),
            location_city: "city".into(),
            location_country: "countryCode".into(),
            location_click_and_collect: "clickAndCollect".into(),
        }
    }
}

impl CustomFieldNames {
    /// `(key, name)` of every field, for validation.
    fn entries(&self) -> [(&'static str, &str); 9] {
        [
            ("custom_fields.product_code", &self.product_code),
            ("custom_fields.regular_price", &self.regular_price),
            ("custom_fields.location_code", &self.location_code),
            ("custom_fields.location_kind", &self.location_kind),
            ("custom_fields.location_street", &self.location_street),
            (
                "custom_fields.location_postal_code",
                &self.location_postal_code,
            ),
            ("custom_fields.location_city", &self.location_city),
            ("custom_fields.location_country", &self.location_country),
            (
                "custom_fields.location_click_and_collect",
                &self.location_click_and_collect,
            ),
        ]
    }

    /// The `StockLocation` custom fields, in one GraphQL selection.
    pub fn location_selection(&self) -> String {
        [
            &self.location_code,
            &self.location_kind,
            &self.location_street,
            &self.location_postal_code,
            &self.location_city,
            &self.location_country,
            &self.location_click_and_collect,
        ]
        .into_iter()
        .fold(Vec::<&str>::new(), |mut names, n| {
            if !names.contains(&n.as_str()) {
                names.push(n);
            }
            names
        })
        .join(" ")
    }
}

/// A GraphQL name: `[_A-Za-z][_0-9A-Za-z]*`. Custom field names are spliced into queries, so
/// nothing else may pass.
pub(crate) fn is_graphql_name(value: &str) -> bool {
    let mut bytes = value.bytes();
    matches!(bytes.next(), Some(b) if b == b'_' || b.is_ascii_alphabetic())
        && bytes.all(|b| b == b'_' || b.is_ascii_alphanumeric())
}

impl VendureConfig {
    /// Every problem with this configuration; empty when it is usable. Pure: no I/O.
    pub fn validate(&self) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        check_url("base_url", &self.base_url, &mut problems);
        if let Ok(u) = url::Url::parse(&self.base_url) {
            if u.query().is_some() || u.fragment().is_some() {
                problems.push(ConfigProblem::new(
                    "base_url",
                    "must not carry a query or fragment; write the server's root, e.g. \"https://shop.example.com\"",
                ));
            }
        }
        let path = self.admin_api_path.trim_matches('/');
        if path.is_empty()
            || !path
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'/' | b'.'))
        {
            problems.push(ConfigProblem::new(
                "admin_api_path",
                format!(
                    "`{}` is not a URL path; write the server's apiOptions.adminApiPath, e.g. \"admin-api\"",
                    self.admin_api_path
                ),
            ));
        }
        check_not_empty("username", &self.username, &mut problems);
        check_not_empty("password", self.password.expose(), &mut problems);
        let tokens = [
            ("channel_token".to_owned(), &self.channel_token),
            (
                "price_channels.online".to_owned(),
                &self.price_channels.online,
            ),
            (
                "price_channels.store".to_owned(),
                &self.price_channels.store,
            ),
        ];
        let groups = self
            .price_channels
            .groups
            .iter()
            .map(|(g, t)| (format!("price_channels.groups.{g}"), t));
        for (key, token) in tokens.into_iter().chain(groups) {
            if token.chars().any(|c| c.is_control() || c.is_whitespace()) {
                problems.push(ConfigProblem::new(
                    key,
                    "a channel token has no spaces or control characters; copy it from Settings > Channels",
                ));
            }
        }
        for (group, token) in &self.price_channels.groups {
            if token.is_empty() {
                problems.push(ConfigProblem::new(
                    format!("price_channels.groups.{group}"),
                    "must name the channel token of the group's prices, e.g. \"b2b\"",
                ));
            }
        }
        if self.languages.is_empty() {
            problems.push(ConfigProblem::new(
                "languages",
                "must map at least one Vendure language code, e.g. { en = \"en-GB\" }",
            ));
        }
        for code in self.languages.keys() {
            if code.len() < 2 || !code.bytes().all(|b| b.is_ascii_alphabetic() || b == b'_') {
                problems.push(ConfigProblem::new(
                    "languages",
                    format!(
                        "`{code}` is not a Vendure language code; write e.g. \"da\" or \"pt_BR\""
                    ),
                ));
            }
        }
        check_not_empty("category_facet", &self.category_facet, &mut problems);
        for (key, name) in self.custom_fields.entries() {
            if !is_graphql_name(name) {
                problems.push(ConfigProblem::new(
                    key,
                    format!("`{name}` is not a GraphQL field name; write the custom field's name, e.g. \"code\""),
                ));
            }
        }
        if !(1..=MAX_PAGE_SIZE).contains(&self.page_size) {
            problems.push(ConfigProblem::new(
                "page_size",
                format!(
                    "{} is out of range: Vendure's Admin API serves 1 to {MAX_PAGE_SIZE} items per list by default; write e.g. 100",
                    self.page_size
                ),
            ));
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> VendureConfig {
        toml::from_str(
            r#"
            base_url = "http://127.0.0.1:3000"
            username = "superadmin"
            password = "pw"
            price_channels = { online = "online", store = "store", groups = { B2B = "b2b" } }
            "#,
        )
        .unwrap()
    }

    #[test]
    fn defaults_fill_everything_but_the_server_and_credentials() {
        let c = config();
        assert!(c.validate().is_empty(), "{:?}", c.validate());
        assert_eq!(c.admin_api_path, "admin-api");
        assert_eq!(c.page_size, 100);
        assert_eq!(c.languages.len(), 4);
        assert_eq!(c.languages["nb"].as_str(), "nb-NO");
        assert_eq!(c.custom_fields.regular_price, "regularPrice");
    }

    #[test]
    fn every_problem_is_reported_with_its_key() {
        let mut c = config();
        c.base_url = "shop.example.com".into();
        c.password = Secret::new("");
        c.price_channels.store = "has space".into();
        c.custom_fields.product_code = "code { id }".into();
        c.page_size = 5000;
        let keys: Vec<String> = c.validate().into_iter().map(|p| p.key).collect();
        assert_eq!(
            keys,
            [
                "base_url",
                "password",
                "price_channels.store",
                "custom_fields.product_code",
                "page_size"
            ]
        );
    }

    #[test]
    fn unknown_keys_are_refused() {
        let r: Result<VendureConfig, _> = toml::from_str(
            "base_url = \"http://x\"\nusername = \"u\"\npassword = \"p\"\nchannel = \"x\"",
        );
        assert!(r.is_err());
    }

    #[test]
    fn groups_pick_their_channel_and_others_fall_back_to_consumer_prices() {
        let c = config().price_channels;
        assert_eq!(c.token_for(PriceChannel::Online, None), ("online", None));
        assert_eq!(c.token_for(PriceChannel::Store, None), ("store", None));
        assert_eq!(
            c.token_for(PriceChannel::Store, Some("B2B")),
            ("b2b", Some("B2B"))
        );
        assert_eq!(
            c.token_for(PriceChannel::Store, Some("VIP")),
            ("store", None)
        );
    }

    #[test]
    fn location_fields_are_selected_once_each() {
        let f = CustomFieldNames {
            location_city: "code".into(),
            ..CustomFieldNames::default()
        };
        assert_eq!(
            f.location_selection(),
            "code kind street postalCode countryCode clickAndCollect"
        );
    }

    #[test]
    fn graphql_names_are_strict() {
        assert!(is_graphql_name("regularPrice"));
        assert!(is_graphql_name("_x1"));
        assert!(!is_graphql_name("1x"));
        assert!(!is_graphql_name("a b"));
        assert!(!is_graphql_name(""));
    }
}
