//! The `[connectors.<name>]` table of an Akeneo connector: where the PIM is, the connection's
//! credentials, which Akeneo channel (scope) serves which gateway channel, and which attribute
//! codes hold the values the normalised product model needs. Parsing is plain serde;
//! [`AkeneoConfig::validate`] collects every problem without any I/O.

use samlet_connector::config::{check_not_empty, check_url, ConfigProblem};
use samlet_connector::context::Channel;
use samlet_connector::http::Secret;
use serde::Deserialize;
use std::collections::HashMap;

/// Akeneo never returns more than this many items per page; a larger `limit` is answered 422.
pub const MAX_PAGE_SIZE: u32 = 100;

/// Configuration of one Akeneo PIM connection (an Akeneo *Connection* of the "Connector" kind:
/// client id and secret plus the API user's username and password).
#[derive(Debug, Clone, PartialEq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AkeneoConfig {
    /// The PIM's base URL without any path, e.g. `"https://acme.cloud.akeneo.com"`. The
    /// connector calls `<base_url>/api/oauth/v1/token` and `<base_url>/api/rest/v1/...`.
    pub base_url: String,
    /// The connection's client id (Akeneo: Connect > Connection settings > Credentials).
    pub client_id: String,
    /// The connection's secret. Write `"${AKENEO_SECRET}"` to read it from the environment.
    pub secret: Secret,
    /// The connection's API username.
    pub username: String,
    /// The API user's password. Write `"${AKENEO_PASSWORD}"` to read it from the environment.
    pub password: Secret,
    /// Which Akeneo channel (scope) the scopable values are read from, per gateway channel.
    #[serde(default)]
    pub scopes: ScopeMapping,
    /// The attribute codes that hold names, descriptions, images and the attributes to expose.
    #[serde(default)]
    pub attributes: AttributeMapping,
    /// Items per upstream page, 1 to 100 (Akeneo's cap). Listing pages never exceed it, and
    /// batch reads fetch variant products this many at a time. Default 100.
    #[serde(default = "default_page_size")]
    pub page_size: u32,
}

fn default_page_size() -> u32 {
    MAX_PAGE_SIZE
}

/// Akeneo channel codes per gateway channel. Scopable attributes (e.g. `description`) hold one
/// value per Akeneo channel; the request's channel picks which one the gateway sees.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ScopeMapping {
    /// The Akeneo channel for online touchpoints: web, app and e-mail. Default `"ecommerce"`.
    pub online: String,
    /// The Akeneo channel for in-store touchpoints: store tablet, kiosk and POS. Default `"store"`.
    pub store: String,
    /// Per-channel exceptions, e.g. `{ kiosk = "kiosk" }`; keys are gateway channels (web, app,
    /// store, kiosk, pos, email). Empty by default.
    pub channels: HashMap<Channel, String>,
}

impl Default for ScopeMapping {
    fn default() -> Self {
        ScopeMapping {
            online: "ecommerce".into(),
            store: "store".into(),
            channels: HashMap::new(),
        }
    }
}

impl ScopeMapping {
    /// The Akeneo channel code for a gateway channel.
    pub fn scope_for(&self, channel: Channel) -> &str {
        if let Some(code) = self.channels.get(&channel) {
            return code;
        }
        match channel.price_channel() {
            samlet_connector::context::PriceChannel::Online => &self.online,
            samlet_connector::context::PriceChannel::Store => &self.store,
        }
    }
}

/// Attribute codes of the catalogue's families. Products are Akeneo *product models* with one
/// level of variants (*variant products*); model-level attributes are read from the model (or
/// from a variant, which carries its model's values), variant-level ones from each variant.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct AttributeMapping {
    /// Model-level product name (text, usually localisable). Default `"name"`.
    pub name: String,
    /// Model-level description (textarea, localisable and scopable). Default `"description"`.
    pub description: String,
    /// Model-level image (`pim_catalog_image`). Default `"image"`.
    pub image: String,
    /// Variant-level name, e.g. "Sofa, oak". Default `"variant_name"`.
    pub variant_name: String,
    /// Variant-level image. Default `"variant_image"`.
    pub variant_image: String,
    /// Model-level attributes exposed as product attributes. Default `["material", "collection"]`.
    pub product: Vec<String>,
    /// The family variants' axes, exposed as variant attributes (simple selects are read with
    /// their option labels). Default `["color"]`.
    pub axes: Vec<String>,
}

impl Default for AttributeMapping {
    fn default() -> Self {
        AttributeMapping {
            name: "name".into(),
            description: "description".into(),
            image: "image".into(),
            variant_name: "variant_name".into(),
            variant_image: "variant_image".into(),
            product: vec!["material".into(), "collection".into()],
            axes: vec!["color".into()],
        }
    }
}

impl AttributeMapping {
    /// Every attribute code the connector reads, for the `attributes` query parameter.
    pub fn all_codes(&self) -> Vec<&str> {
        let mut codes: Vec<&str> = [
            &self.name,
            &self.description,
            &self.image,
            &self.variant_name,
            &self.variant_image,
        ]
        .into_iter()
        .chain(&self.product)
        .chain(&self.axes)
        .map(String::as_str)
        .collect();
        let mut seen = std::collections::HashSet::new();
        codes.retain(|c| seen.insert(*c));
        codes
    }
}

/// Akeneo codes (attributes, channels) are letters, digits and underscores.
fn is_code(value: &str) -> bool {
    !value.is_empty()
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

fn check_code(key: &str, value: &str, problems: &mut Vec<ConfigProblem>) {
    if !is_code(value) {
        problems.push(ConfigProblem::new(
            key,
            format!(
                "`{value}` is not an Akeneo code: use letters, digits and underscores, e.g. \"ecommerce\""
            ),
        ));
    }
}

/// Checks every code of a list, reporting the list's key (config locators find keys, not items).
fn check_codes(key: &str, values: &[String], problems: &mut Vec<ConfigProblem>) {
    for value in values.iter().filter(|v| !is_code(v)) {
        problems.push(ConfigProblem::new(
            key,
            format!(
                "`{value}` is not an Akeneo attribute code: use letters, digits and underscores, e.g. [\"material\", \"collection\"]"
            ),
        ));
    }
}

impl AkeneoConfig {
    /// Every problem with this configuration; empty when it is usable. Pure: no I/O.
    pub fn validate(&self) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        check_url("base_url", &self.base_url, &mut problems);
        if let Ok(u) = url::Url::parse(&self.base_url) {
            if u.query().is_some() || u.fragment().is_some() {
                problems.push(ConfigProblem::new(
                    "base_url",
                    "must not carry a query or fragment; write the PIM's address only, e.g. \"https://acme.cloud.akeneo.com\"",
                ));
            }
        }
        check_not_empty("client_id", &self.client_id, &mut problems);
        check_not_empty("secret", self.secret.expose(), &mut problems);
        check_not_empty("username", &self.username, &mut problems);
        check_not_empty("password", self.password.expose(), &mut problems);
        if !(1..=MAX_PAGE_SIZE).contains(&self.page_size) {
            problems.push(ConfigProblem::new(
                "page_size",
                format!(
                    "{} is out of range: Akeneo serves 1 to {MAX_PAGE_SIZE} items per page; write e.g. 100",
                    self.page_size
                ),
            ));
        }
        check_code("scopes.online", &self.scopes.online, &mut problems);
        check_code("scopes.store", &self.scopes.store, &mut problems);
        let mut overrides: Vec<_> = self.scopes.channels.iter().collect();
        overrides.sort_by_key(|(channel, _)| channel.as_str());
        for (channel, code) in overrides {
            check_code(&format!("scopes.channels.{channel}"), code, &mut problems);
        }
        let a = &self.attributes;
        for (key, code) in [
            ("attributes.name", &a.name),
            ("attributes.description", &a.description),
            ("attributes.image", &a.image),
            ("attributes.variant_name", &a.variant_name),
            ("attributes.variant_image", &a.variant_image),
        ] {
            check_code(key, code, &mut problems);
        }
        check_codes("attributes.product", &a.product, &mut problems);
        check_codes("attributes.axes", &a.axes, &mut problems);
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> AkeneoConfig {
        AkeneoConfig {
            base_url: "https://pim.example.com".into(),
            client_id: "id".into(),
            secret: Secret::new("s"),
            username: "u".into(),
            password: Secret::new("p"),
            scopes: ScopeMapping::default(),
            attributes: AttributeMapping::default(),
            page_size: 100,
        }
    }

    #[test]
    fn a_complete_config_has_no_problems() {
        assert!(config().validate().is_empty());
    }

    #[test]
    fn every_problem_is_reported_with_its_key() {
        let mut c = config();
        c.base_url = "pim.example.com".into();
        c.password = Secret::new(" ");
        c.page_size = 500;
        c.scopes.online = "e-commerce".into();
        c.attributes.axes = vec!["".into()];
        let keys: Vec<String> = c.validate().into_iter().map(|p| p.key).collect();
        assert_eq!(
            keys,
            [
                "base_url",
                "password",
                "page_size",
                "scopes.online",
                "attributes.axes"
            ]
        );
    }

    #[test]
    fn channels_pick_their_family_scope_unless_overridden() {
        let mut s = ScopeMapping::default();
        assert_eq!(s.scope_for(Channel::Web), "ecommerce");
        assert_eq!(s.scope_for(Channel::Email), "ecommerce");
        assert_eq!(s.scope_for(Channel::Pos), "store");
        s.channels.insert(Channel::Kiosk, "kiosk".into());
        assert_eq!(s.scope_for(Channel::Kiosk), "kiosk");
        assert_eq!(s.scope_for(Channel::Store), "store");
    }

    #[test]
    fn all_codes_lists_each_attribute_once() {
        let mut a = AttributeMapping::default();
        a.product.push("name".into());
        assert_eq!(
            a.all_codes(),
            [
                "name",
                "description",
                "image",
                "variant_name",
                "variant_image",
                "material",
                "collection",
                "color"
            ]
        );
    }
}
