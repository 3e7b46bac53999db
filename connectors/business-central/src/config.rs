//! Configuration of a Business Central connector instance: where the environment lives, the
//! Entra ID app it signs in as, which company it reads, and the custom API route of the Samlet
//! extension. Parsing is plain serde; [`BusinessCentralConfig::validate`] collects every problem
//! without any I/O.

use samlet_connector::config::{check_not_empty, check_url, ConfigProblem};
use samlet_connector::context::Currency;
use samlet_connector::http::Secret;
use serde::Deserialize;

/// The Business Central API (the same host serves every tenant).
pub const DEFAULT_API_URL: &str = "https://api.businesscentral.dynamics.com";
/// Microsoft Entra ID, which issues the access tokens.
pub const DEFAULT_AUTHORITY_URL: &str = "https://login.microsoftonline.com";
/// The OAuth scope for service-to-service access to Business Central.
pub const DEFAULT_SCOPE: &str = "https://api.businesscentral.dynamics.com/.default";
/// Publisher, group and version of the Samlet extension's custom API pages.
pub const DEFAULT_CUSTOM_API: &str = "samlet/commerce/v1.0";
/// Business Central's largest server-driven page.
pub const MAX_PAGE_SIZE: u32 = 20_000;
/// The warehouse that ships online orders.
pub const DEFAULT_ONLINE_LOCATION: &str = "WH-ONLINE";
/// Business Central expires webhook subscriptions after three days; they are renewed after two.
pub const DEFAULT_WEBHOOK_RENEW_SECONDS: u64 = 2 * 24 * 3600;
/// Three days, in seconds: a renewal must come sooner.
const SUBSCRIPTION_LIFETIME_SECONDS: u64 = 3 * 24 * 3600;
/// The longest `clientState` Business Central accepts on a webhook subscription.
pub const MAX_CLIENT_STATE: usize = 2048;
/// Business Central's documented per-user concurrency: more requests than this queue up.
pub const DEFAULT_MAX_CONCURRENT_REQUESTS: u32 = 5;

/// How the gateway reaches one Business Central company.
///
/// ```toml
/// [connectors.erp]
/// kind = "business-central"
/// tenant = "contoso.onmicrosoft.com"
/// environment = "production"
/// company_id = "6f1c3e2a-1b2c-4d5e-8f90-0a1b2c3d4e5f"
/// client_id = "00000000-0000-0000-0000-000000000000"
/// client_secret = "${BC_CLIENT_SECRET}"
/// ```
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BusinessCentralConfig {
    /// The Entra ID tenant: its id (a GUID) or a verified domain such as
    /// `contoso.onmicrosoft.com`. Used in the token URL and in every API path.
    pub tenant: String,
    /// The Business Central environment name, e.g. `production` or `sandbox`.
    #[serde(default = "default_environment")]
    pub environment: String,
    /// The id (GUID) of the company to read, as `GET /api/v2.0/companies` lists it.
    pub company_id: String,
    /// The application (client) id of the Entra ID app registration. The app needs the
    /// `API.ReadWrite.All` application permission and an entry on Business Central's
    /// "Microsoft Entra Applications" page with read permission sets.
    pub client_id: String,
    /// The app registration's client secret. Write `"${BC_CLIENT_SECRET}"` rather than the
    /// secret itself.
    pub client_secret: Secret,
    /// Base URL of the Business Central API.
    #[serde(default = "default_api_url")]
    pub api_url: String,
    /// Base URL of Microsoft Entra ID (the token endpoint is `{authority_url}/{tenant}/oauth2/v2.0/token`).
    #[serde(default = "default_authority_url")]
    pub authority_url: String,
    /// The OAuth scope requested with the client credentials.
    #[serde(default = "default_scope")]
    pub scope: String,
    /// `publisher/group/version` of the Samlet extension's custom API pages (prices, stock per
    /// location, customers with price group, locations, order tracking). See the crate docs for
    /// the pages the extension must publish.
    #[serde(default = "default_custom_api")]
    pub custom_api: String,
    /// The company's local currency (LCY). Business Central leaves `currencyCode` blank on
    /// documents and price lines in LCY; this says which currency blank means.
    #[serde(default = "default_local_currency")]
    pub local_currency: Currency,
    /// The text between item number and variant code in a SKU: the SKU `P000042-OAK` is item
    /// `P000042`, variant `OAK`; a SKU without the separator is an item without variants. The
    /// SKU is split at the last separator, so variant codes must not contain it.
    #[serde(default = "default_variant_separator")]
    pub variant_separator: String,
    /// Entities per page asked for with `Prefer: odata.maxpagesize` (1 to 20,000). The
    /// connector follows `@odata.nextLink` until a collection is complete.
    #[serde(default = "default_page_size")]
    pub page_size: u32,
    /// Requests in flight at once against this environment. Business Central processes five
    /// per user at a time and queues the rest.
    #[serde(default = "default_max_concurrent_requests")]
    pub max_concurrent_requests: u32,
    /// The location code of the warehouse that ships online orders delivered home (order
    /// lines' `locationId`); click and collect and ship-from-store use the store's location.
    #[serde(default = "default_online_location")]
    pub online_location: String,
    /// Where Business Central sends change notifications: the gateway's public
    /// `/webhooks/{instance name}` URL, e.g. `"https://gateway.example.com/webhooks/erp"`. With
    /// it, the connector registers webhook subscriptions (sales orders and the extension's
    /// stock page) when the gateway starts; without it, order and stock subscriptions are fed
    /// by polling (`[realtime] poll_interval`).
    #[serde(default)]
    pub webhook_url: Option<String>,
    /// The shared secret Business Central echoes as `clientState` in every notification,
    /// checked in constant time; required with `webhook_url` (at most 2048 characters). Write
    /// `"${BC_WEBHOOK_CLIENT_STATE}"` rather than the value itself.
    #[serde(default)]
    pub client_state: Option<Secret>,
    /// Seconds between renewals of the webhook subscriptions (Business Central expires them
    /// after three days), 1..=259199; two days by default.
    #[serde(default = "default_webhook_renew_seconds")]
    pub webhook_renew_seconds: u64,
}

fn default_environment() -> String {
    "production".to_owned()
}
fn default_api_url() -> String {
    DEFAULT_API_URL.to_owned()
}
fn default_authority_url() -> String {
    DEFAULT_AUTHORITY_URL.to_owned()
}
fn default_scope() -> String {
    DEFAULT_SCOPE.to_owned()
}
fn default_custom_api() -> String {
    DEFAULT_CUSTOM_API.to_owned()
}
fn default_local_currency() -> Currency {
    Currency::DKK
}
fn default_variant_separator() -> String {
    "-".to_owned()
}
fn default_page_size() -> u32 {
    5_000
}
fn default_online_location() -> String {
    DEFAULT_ONLINE_LOCATION.to_owned()
}
fn default_webhook_renew_seconds() -> u64 {
    DEFAULT_WEBHOOK_RENEW_SECONDS
}
fn default_max_concurrent_requests() -> u32 {
    DEFAULT_MAX_CONCURRENT_REQUESTS
}

/// Whether `s` is a GUID in its 8-4-4-4-12 hexadecimal form (braces not allowed).
pub(crate) fn is_guid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() == 5
        && parts
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(p, n)| p.len() == n && p.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// A path segment Business Central accepts for tenants, environments and API routes.
fn is_segment(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'))
}

impl BusinessCentralConfig {
    /// Every problem with this configuration; empty when it is usable. Pure: no I/O.
    pub fn validate(&self) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        check_not_empty("tenant", &self.tenant, &mut problems);
        if !self.tenant.trim().is_empty() && !is_segment(&self.tenant) {
            problems.push(ConfigProblem::new(
                "tenant",
                format!(
                    "`{}` is neither a tenant id nor a domain; write the directory (tenant) id, e.g. \"72f988bf-86f1-41af-91ab-2d7cd011db47\", or a domain such as \"contoso.onmicrosoft.com\"",
                    self.tenant
                ),
            ));
        }
        if !is_segment(&self.environment) {
            problems.push(ConfigProblem::new(
                "environment",
                format!(
                    "`{}` is not an environment name; write e.g. \"production\" or \"sandbox\"",
                    self.environment
                ),
            ));
        }
        if !is_guid(&self.company_id) {
            problems.push(ConfigProblem::new(
                "company_id",
                format!(
                    "`{}` is not a company id; write the GUID that GET /api/v2.0/companies lists, e.g. \"6f1c3e2a-1b2c-4d5e-8f90-0a1b2c3d4e5f\"",
                    self.company_id
                ),
            ));
        }
        check_not_empty("client_id", &self.client_id, &mut problems);
        check_not_empty("client_secret", self.client_secret.expose(), &mut problems);
        check_url("api_url", &self.api_url, &mut problems);
        check_url("authority_url", &self.authority_url, &mut problems);
        check_not_empty("scope", &self.scope, &mut problems);
        let route: Vec<&str> = self.custom_api.split('/').collect();
        if route.len() != 3 || !route.iter().all(|s| is_segment(s)) {
            problems.push(ConfigProblem::new(
                "custom_api",
                format!(
                    "`{}` is not an API route; write publisher/group/version as the extension declares them, e.g. \"{DEFAULT_CUSTOM_API}\"",
                    self.custom_api
                ),
            ));
        }
        if self.variant_separator.is_empty() || self.variant_separator.contains('\'') {
            problems.push(ConfigProblem::new(
                "variant_separator",
                "must be a non-empty text without quotes; write e.g. \"-\"",
            ));
        }
        if !(1..=MAX_PAGE_SIZE).contains(&self.page_size) {
            problems.push(ConfigProblem::new(
                "page_size",
                format!(
                    "{} is outside 1..={MAX_PAGE_SIZE}, the page sizes Business Central serves; write e.g. 5000",
                    self.page_size
                ),
            ));
        }
        let loc = self.online_location.trim();
        if loc.is_empty() || loc.len() > 10 || loc.contains('\'') {
            problems.push(ConfigProblem::new(
                "online_location",
                format!(
                    "`{}` is not a location code (at most 10 characters); write the code of the warehouse that ships online orders, e.g. \"{DEFAULT_ONLINE_LOCATION}\"",
                    self.online_location
                ),
            ));
        }
        match (&self.webhook_url, &self.client_state) {
            (Some(url), state) => {
                check_url("webhook_url", url, &mut problems);
                match state.as_ref().map(|s| s.expose().trim().len()) {
                    None | Some(0) => problems.push(ConfigProblem::new(
                        "client_state",
                        "must be set with webhook_url: the secret Business Central echoes in every notification; write \"${BC_WEBHOOK_CLIENT_STATE}\"",
                    )),
                    Some(n) if n > MAX_CLIENT_STATE => problems.push(ConfigProblem::new(
                        "client_state",
                        format!("is {n} characters; Business Central takes at most {MAX_CLIENT_STATE}"),
                    )),
                    Some(_) => {}
                }
            }
            (None, Some(_)) => problems.push(ConfigProblem::new(
                "client_state",
                "is set without webhook_url; give webhook_url too (the gateway's /webhooks/{instance} URL) or remove it",
            )),
            (None, None) => {}
        }
        if !(1..SUBSCRIPTION_LIFETIME_SECONDS).contains(&self.webhook_renew_seconds) {
            problems.push(ConfigProblem::new(
                "webhook_renew_seconds",
                format!(
                    "{} is not below three days ({SUBSCRIPTION_LIFETIME_SECONDS} s), after which Business Central drops a subscription; write e.g. {DEFAULT_WEBHOOK_RENEW_SECONDS}",
                    self.webhook_renew_seconds
                ),
            ));
        }
        if self.max_concurrent_requests == 0 {
            problems.push(ConfigProblem::new(
                "max_concurrent_requests",
                format!("must be at least 1; write {DEFAULT_MAX_CONCURRENT_REQUESTS}"),
            ));
        }
        problems
    }

    /// `{api_url}/v2.0/{tenant}/{environment}/api`, without a trailing slash.
    pub(crate) fn api_root(&self) -> String {
        format!(
            "{}/v2.0/{}/{}/api",
            self.api_url.trim_end_matches('/'),
            self.tenant,
            self.environment
        )
    }

    /// The Entra ID token endpoint for the tenant.
    pub(crate) fn token_url(&self) -> String {
        format!(
            "{}/{}/oauth2/v2.0/token",
            self.authority_url.trim_end_matches('/'),
            self.tenant
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(body: &str) -> BusinessCentralConfig {
        toml::from_str(body).expect("parses")
    }

    const MINIMAL: &str = r#"
tenant = "contoso.onmicrosoft.com"
company_id = "6f1c3e2a-1b2c-4d5e-8f90-0a1b2c3d4e5f"
client_id = "app"
client_secret = "s3cret"
"#;

    #[test]
    fn a_minimal_config_takes_the_documented_defaults() {
        let c = config(MINIMAL);
        assert!(c.validate().is_empty(), "{:?}", c.validate());
        assert_eq!(c.environment, "production");
        assert_eq!(c.custom_api, "samlet/commerce/v1.0");
        assert_eq!(c.local_currency, Currency::DKK);
        assert_eq!(
            c.api_root(),
            "https://api.businesscentral.dynamics.com/v2.0/contoso.onmicrosoft.com/production/api"
        );
        assert_eq!(
            c.token_url(),
            "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token"
        );
        assert_eq!(format!("{:?}", c.client_secret), "[redacted]");
    }

    #[test]
    fn every_problem_is_reported_with_what_to_write() {
        let c = config(
            r#"
tenant = ""
environment = "prod uction"
company_id = "CRONUS"
client_id = "app"
client_secret = ""
api_url = "not a url"
custom_api = "samlet/commerce"
page_size = 50000
max_concurrent_requests = 0
"#,
        );
        let keys: Vec<String> = c.validate().into_iter().map(|p| p.key).collect();
        for key in [
            "tenant",
            "environment",
            "company_id",
            "client_secret",
            "api_url",
            "custom_api",
            "page_size",
            "max_concurrent_requests",
        ] {
            assert!(keys.iter().any(|k| k == key), "{key} missing in {keys:?}");
        }
    }

    #[test]
    fn unknown_keys_are_rejected() {
        let err = toml::from_str::<BusinessCentralConfig>(&format!("{MINIMAL}\ncompany = \"x\""));
        assert!(err.is_err());
    }

    #[test]
    fn guids_are_recognised() {
        assert!(is_guid("6f1c3e2a-1b2c-4d5e-8f90-0a1b2c3d4e5f"));
        assert!(!is_guid("{6f1c3e2a-1b2c-4d5e-8f90-0a1b2c3d4e5f}"));
        assert!(!is_guid("6f1c3e2a1b2c4d5e8f900a1b2c3d4e5f"));
    }
}
