//! The `[connectors.<name>]` table of a Voyado Engage connector: the tenant's API origin, the
//! API key, the `User-Agent` Voyado requires, how the tenant is set up (which identifier its
//! `customKey` holds, which contact type is keyed by the member number), the names of the
//! tenant-defined contact attributes the connector reads, and the client-side request budget
//! Voyado asks integrations to keep.
//!
//! Parsing is plain serde; [`VoyadoConfig::validate`] collects every problem without I/O.

use samlet_connector::prelude::*;
use serde::Deserialize;

/// The `User-Agent` sent when none is configured: Voyado asks for `System/Version`.
pub const DEFAULT_USER_AGENT: &str = concat!("Samlet/", env!("CARGO_PKG_VERSION"));
/// Requests in flight per connector instance, by default.
pub const DEFAULT_MAX_CONCURRENCY: u32 = 8;
/// Voyado's recommended ceiling for normal operation (the hard limit, 200/s, answers 429).
pub const DEFAULT_REQUESTS_PER_SECOND: u32 = 50;
/// Voyado's hard limit per API key.
pub const HARD_LIMIT_PER_SECOND: u32 = 200;

/// Which identifier the tenant's `customKey` lookup parameter holds. Voyado configures this
/// per tenant ("either a contact's memberNumber or externalId, depending on how your tenant is
/// set up").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default, schemars::JsonSchema)]
pub enum CustomKey {
    /// `customKey` is the contact's `externalId` (the shared customer number). Member numbers
    /// are then looked up with `GET /api/v2/contacts/{member_contact_type}/bykey`.
    #[default]
    #[serde(rename = "externalId")]
    ExternalId,
    /// `customKey` is the contact's `memberNumber`. Customer numbers are then looked up with
    /// `GET /api/v2/contacts/{type}/byexternalid/{externalId}`, once per `contact_types` entry.
    #[serde(rename = "memberNumber")]
    MemberNumber,
}

impl CustomKey {
    /// The attribute name as Voyado spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            CustomKey::ExternalId => "externalId",
            CustomKey::MemberNumber => "memberNumber",
        }
    }
}

/// Configuration of one Voyado Engage connector instance.
///
/// ```toml
/// kind = "voyado"
/// base_url = "https://acme.voyado.com"
/// api_key = "${VOYADO_API_KEY}"
/// # optional:
/// user_agent = "Samlet/0.1.0"
/// custom_key = "externalId"
/// member_contact_type = "Member"
/// contact_types = ["Member", "Contact"]
/// attributes = { loyalty_level = "loyaltyLevel", company_name = "companyName" }
/// max_concurrency = 8
/// requests_per_second = 50
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VoyadoConfig {
    /// The tenant's API origin, without `/api`: `https://<client>.voyado.com` in production,
    /// `https://<client>.staging.voyado.com` for staging.
    pub base_url: String,
    /// The tenant's API key, sent as the `apikey` header.
    pub api_key: Secret,
    /// The `User-Agent` header Voyado requires on every call, `System/Version` (Voyado uses it
    /// to tell integrations apart). Default `Samlet/<version>`.
    #[serde(default = "default_user_agent")]
    pub user_agent: String,
    /// What the tenant's `customKey` lookup holds: `"externalId"` (default) or
    /// `"memberNumber"`. Ask the tenant's Voyado team; it decides how customer numbers and
    /// member numbers are looked up (see the crate docs for the cost of each).
    #[serde(default)]
    pub custom_key: CustomKey,
    /// The contact type keyed by the member number, used for member-number lookups when
    /// `custom_key = "externalId"`. Default `Member`.
    #[serde(default = "default_member_contact_type")]
    pub member_contact_type: String,
    /// The contact types searched by `externalId` when `custom_key = "memberNumber"` (one
    /// request per type per key). Default `["Member", "Contact"]`.
    #[serde(default = "default_contact_types")]
    pub contact_types: Vec<String>,
    /// Names of the tenant-defined contact attributes the connector reads.
    #[serde(default)]
    pub attributes: AttributeNames,
    /// Requests in flight at once per connector instance (Voyado resolves one contact per
    /// request, so a batch fans out). 1 to 50, default 8.
    #[serde(default = "default_max_concurrency")]
    pub max_concurrency: u32,
    /// Client-side request budget per second (a token bucket with one second of burst).
    /// Voyado asks integrations to stay below 50 per second and answers 429 above 200.
    /// 1 to 200, default 50.
    #[serde(default = "default_requests_per_second")]
    pub requests_per_second: u32,
}

/// Tenant-defined contact attribute names (`contact.attributes.<name>`). Voyado has no
/// standard attribute for these; each tenant configures its own data model.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct AttributeNames {
    /// The member's loyalty level (tier), e.g. `GOLD`. Default `loyaltyLevel`.
    pub loyalty_level: String,
    /// The company name of a business contact. A contact with a non-empty company name is a
    /// company ([`CustomerKind::Company`]); without one it is a person. Default `companyName`.
    pub company_name: String,
}

impl Default for AttributeNames {
    fn default() -> Self {
        AttributeNames {
            loyalty_level: "loyaltyLevel".to_owned(),
            company_name: "companyName".to_owned(),
        }
    }
}

fn default_user_agent() -> String {
    DEFAULT_USER_AGENT.to_owned()
}

fn default_member_contact_type() -> String {
    "Member".to_owned()
}

fn default_contact_types() -> Vec<String> {
    vec!["Member".to_owned(), "Contact".to_owned()]
}

fn default_max_concurrency() -> u32 {
    DEFAULT_MAX_CONCURRENCY
}

fn default_requests_per_second() -> u32 {
    DEFAULT_REQUESTS_PER_SECOND
}

/// Whether `ua` has the `System/Version` form Voyado asks for (a product token, a slash, a
/// version, optionally followed by comments), in visible ASCII.
pub(crate) fn is_user_agent(ua: &str) -> bool {
    let first = ua.split_whitespace().next().unwrap_or("");
    let (system, version) = match first.split_once('/') {
        Some(p) => p,
        None => return false,
    };
    let token = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?={}".contains(&b))
    };
    token(system) && token(version) && ua.bytes().all(|b| (0x20..0x7f).contains(&b))
}

/// Whether `name` can be a contact type handle (it goes into a URL path).
fn is_contact_type(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

impl VoyadoConfig {
    /// Every problem with this configuration, each naming its key; empty when it is usable.
    pub fn validate(&self) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        check_url("base_url", &self.base_url, &mut problems);
        if let Ok(u) = url::Url::parse(&self.base_url) {
            if u.path().trim_end_matches('/').ends_with("/api") {
                problems.push(ConfigProblem::new(
                    "base_url",
                    "write the origin only, without `/api` (e.g. \"https://acme.voyado.com\")",
                ));
            }
        }
        if self.api_key.expose().trim().is_empty() {
            problems.push(ConfigProblem::new(
                "api_key",
                "must not be empty; write the tenant's API key, e.g. \"${VOYADO_API_KEY}\"",
            ));
        }
        if !is_user_agent(&self.user_agent) {
            problems.push(ConfigProblem::new(
                "user_agent",
                format!(
                    "`{}` is not of the form System/Version that Voyado requires; write e.g. \"{DEFAULT_USER_AGENT}\"",
                    self.user_agent
                ),
            ));
        }
        if !is_contact_type(&self.member_contact_type) {
            problems.push(ConfigProblem::new(
                "member_contact_type",
                "must be a contact type handle (letters, digits, `_`), e.g. \"Member\"",
            ));
        }
        if self.contact_types.is_empty() {
            problems.push(ConfigProblem::new(
                "contact_types",
                "must name at least one contact type, e.g. [\"Member\", \"Contact\"]",
            ));
        }
        for (i, t) in self.contact_types.iter().enumerate() {
            if !is_contact_type(t) {
                problems.push(ConfigProblem::new(
                    format!("contact_types[{i}]"),
                    format!("`{t}` is not a contact type handle (letters, digits, `_`)"),
                ));
            } else if self.contact_types[..i].contains(t) {
                problems.push(ConfigProblem::new(
                    format!("contact_types[{i}]"),
                    format!("`{t}` is listed twice"),
                ));
            }
        }
        let names = [
            ("attributes.loyalty_level", &self.attributes.loyalty_level),
            ("attributes.company_name", &self.attributes.company_name),
        ];
        for (key, name) in names {
            check_not_empty(key, name, &mut problems);
        }
        if !names[0].1.trim().is_empty() && names[0].1 == names[1].1 {
            problems.push(ConfigProblem::new(
                "attributes.company_name",
                format!(
                    "`{}` is already the loyalty level attribute; each needs its own",
                    names[1].1
                ),
            ));
        }
        if !(1..=50).contains(&self.max_concurrency) {
            problems.push(ConfigProblem::new(
                "max_concurrency",
                format!(
                    "{} is out of range; write 1 to 50 (default {DEFAULT_MAX_CONCURRENCY})",
                    self.max_concurrency
                ),
            ));
        }
        if !(1..=HARD_LIMIT_PER_SECOND).contains(&self.requests_per_second) {
            problems.push(ConfigProblem::new(
                "requests_per_second",
                format!(
                    "{} is out of range; write 1 to {HARD_LIMIT_PER_SECOND} (Voyado recommends at most {DEFAULT_REQUESTS_PER_SECOND})",
                    self.requests_per_second
                ),
            ));
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(toml_body: &str) -> VoyadoConfig {
        toml::from_str(toml_body).expect("parses")
    }

    const MINIMAL: &str = "base_url = \"https://acme.voyado.com\"\napi_key = \"k\"\n";

    #[test]
    fn defaults_fill_everything_but_the_origin_and_key() {
        let c = config(MINIMAL);
        assert_eq!(c.user_agent, DEFAULT_USER_AGENT);
        assert_eq!(c.custom_key, CustomKey::ExternalId);
        assert_eq!(c.member_contact_type, "Member");
        assert_eq!(c.contact_types, ["Member", "Contact"]);
        assert_eq!(c.attributes, AttributeNames::default());
        assert_eq!(c.max_concurrency, 8);
        assert_eq!(c.requests_per_second, 50);
        assert!(c.validate().is_empty(), "{:?}", c.validate());
    }

    #[test]
    fn the_custom_key_is_spelled_as_voyado_spells_it() {
        let c = config(&format!("{MINIMAL}custom_key = \"memberNumber\"\n"));
        assert_eq!(c.custom_key, CustomKey::MemberNumber);
        assert!(
            toml::from_str::<VoyadoConfig>(&format!("{MINIMAL}custom_key = \"email\"\n")).is_err()
        );
    }

    #[test]
    fn unknown_keys_are_rejected() {
        assert!(toml::from_str::<VoyadoConfig>(&format!("{MINIMAL}page_size = 5\n")).is_err());
        assert!(toml::from_str::<VoyadoConfig>(&format!(
            "{MINIMAL}attributes = {{ tier = \"x\" }}\n"
        ))
        .is_err());
    }

    #[test]
    fn every_problem_is_reported_with_its_key() {
        let c = config(
            r#"
            base_url = "https://acme.voyado.com/api"
            api_key = " "
            user_agent = "samlet"
            member_contact_type = "Mem ber"
            contact_types = ["Member", "Member", "a/b"]
            attributes = { loyalty_level = "x", company_name = "x" }
            max_concurrency = 0
            requests_per_second = 500
            "#,
        );
        let keys: Vec<String> = c.validate().into_iter().map(|p| p.key).collect();
        assert_eq!(
            keys,
            [
                "base_url",
                "api_key",
                "user_agent",
                "member_contact_type",
                "contact_types[1]",
                "contact_types[2]",
                "attributes.company_name",
                "max_concurrency",
                "requests_per_second"
            ]
        );
    }

    #[test]
    fn user_agents_must_name_a_system_and_a_version() {
        assert!(is_user_agent("AcmePOS/1.5"));
        assert!(is_user_agent("Samlet/0.1.0 (gateway)"));
        assert!(!is_user_agent(""));
        assert!(!is_user_agent("AcmePOS"));
        assert!(!is_user_agent("/1.5"));
        assert!(!is_user_agent("Acme/"));
        assert!(!is_user_agent("Acme/1\u{7}"));
    }
}
