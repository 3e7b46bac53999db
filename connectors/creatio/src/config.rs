//! The connector's configuration: where the Creatio application and its Identity Service are,
//! the OAuth 2.0 client credentials, the OData 4 path of the build, how big one filtered
//! request may get, how e-mails are compared, and which columns of the instance hold the values
//! the model needs. Parsed with serde (unknown keys are errors), then checked by
//! [`CreatioConfig::validate`] without any I/O.

use samlet_connector::prelude::*;
use serde::Deserialize;

/// The OData 4 service path of Creatio on .NET Framework (`https://acme.creatio.com/0/odata`).
pub const DEFAULT_ODATA_PATH: &str = "/0/odata";
/// The OData 4 service path of Creatio on .NET Core / .NET 8 (no `/0` workspace prefix).
pub const NET_CORE_ODATA_PATH: &str = "/odata";
/// Rows asked for per request (`$top`) when the configuration names no page size.
pub const DEFAULT_PAGE_SIZE: u32 = 1_000;
/// The largest `$top` the connector sends. Creatio documents no page cap; 20,000 is the row
/// limit its data services are commonly configured with (unverified), and the simulator's cap.
pub const MAX_PAGE_SIZE: u32 = 20_000;
/// Key comparisons joined by `or` in one `$filter`. ASP.NET OData, which serves Creatio's
/// OData 4 endpoint, refuses filters of more than 100 syntax-tree nodes by default
/// (`MaxNodeCount`); a comparison costs 3 to 5 nodes (`Field eq 'v'` is 3, a lookup path such
/// as `PrimaryContact/Email` or a `tolower()` adds one each) and every `or` one more, so 16
/// comparisons (at most 16 × 5 + 15 = 95 nodes) always fit.
pub const DEFAULT_FILTER_TERMS: u32 = 16;
/// The most comparisons per filter the configuration may ask for (for instances whose
/// `MaxNodeCount` was raised).
pub const MAX_FILTER_TERMS: u32 = 500;

/// Configuration of a Creatio connector instance.
///
/// ```toml
/// [connectors.crm]
/// kind = "creatio"
/// base_url = "https://acme.creatio.com"
/// identity_url = "https://acme-is.creatio.com"
/// client_id = "8B2F…"
/// client_secret = "${CREATIO_CLIENT_SECRET}"
/// odata_path = "/0/odata"       # optional; "/odata" on .NET Core builds
/// page_size = 1000              # optional
/// filter_terms = 16             # optional
/// email_match = "collation"     # optional; "tolower" on PostgreSQL
///
/// [connectors.crm.columns]      # optional: the instance's custom column names
/// customer_number = "UsrCustomerNumber"
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatioConfig {
    /// The Creatio application URL, e.g. `https://acme.creatio.com`. Data requests go to
    /// `{base_url}{odata_path}/…`.
    pub base_url: String,
    /// The Identity Service URL (built in on Creatio cloud, e.g. `https://acme-is.creatio.com`;
    /// deployed separately on-site). The connector posts to `{identity_url}/connect/token`.
    pub identity_url: String,
    /// Client id of the "OAuth 2.0 integrated application" (System Designer → Import and
    /// integration) with the client-credentials grant.
    pub client_id: String,
    /// Its client secret. Write `"${ENV_VAR}"` rather than the secret itself.
    pub client_secret: Secret,
    /// Path of the OData 4 service: `"/0/odata"` on .NET Framework builds, `"/odata"` on
    /// .NET Core / .NET 8 builds.
    #[serde(default = "default_odata_path")]
    pub odata_path: String,
    /// Rows asked for per request (`$top`), 1 to 20,000. Creatio pages only on the client's
    /// request, so larger results are read with `$skip` while pages come back full.
    #[serde(default = "default_page_size")]
    pub page_size: u32,
    /// Key comparisons joined by `or` in one `$filter`, 1 to 500. The default, 16, keeps every
    /// filter under ASP.NET OData's default limit of 100 nodes; raise it only if the instance's
    /// `MaxNodeCount` was raised.
    #[serde(default = "default_filter_terms")]
    pub filter_terms: u32,
    /// How e-mail keys are compared. `"collation"` sends `Email eq '…'` and relies on the
    /// database comparing text case-insensitively, as Creatio's Microsoft SQL Server databases
    /// do (and it can use the column's index). `"tolower"` sends `tolower(Email) eq '…'`, which
    /// PostgreSQL-based instances need because they compare text case-sensitively.
    #[serde(default)]
    pub email_match: EmailMatch,
    /// Names of the instance's columns that hold the values the model needs.
    #[serde(default)]
    pub columns: ColumnNames,
}

/// How e-mail keys are compared in `$filter`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum EmailMatch {
    /// `Email eq 'anna@example.dk'`: case-insensitive where the database collation is (the
    /// Microsoft SQL Server default in Creatio).
    #[default]
    Collation,
    /// `tolower(Email) eq 'anna@example.dk'`: case-insensitive on any database.
    Tolower,
}

/// Column names of the instance. Standard columns (`GivenName`, `Email`, `ModifiedOn`, …) are
/// fixed; custom columns carry the `Usr` prefix Creatio gives them and differ per instance.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
#[schemars(rename = "CreatioColumnNames")]
pub struct ColumnNames {
    /// Text column with the shared customer number, on `Contact` (persons) and `Account`
    /// (companies).
    pub customer_number: String,
    /// Text column with the loyalty club member number, on `Contact` and `Account`.
    pub loyalty_number: String,
    /// Text column with the phone in E.164 (`+4512345678`), on `Contact` and `Account`, used to
    /// find customers by phone. `MobilePhone` and `Phone` hold what users typed
    /// (`12 34 56 78`), which no filter can match; instances keep this column filled with a
    /// business process or an event listener.
    pub phone_e164: String,
    /// Column of the `Country` lookup that holds the ISO 3166-1 alpha-2 code [unverified: the
    /// standard lookup calls it `Code`; some instances keep the ISO code in a custom column].
    pub country_code: String,
}

impl Default for ColumnNames {
    fn default() -> Self {
        ColumnNames {
            customer_number: "UsrCustomerNumber".into(),
            loyalty_number: "UsrLoyaltyNumber".into(),
            phone_e164: "UsrPhoneE164".into(),
            country_code: "Code".into(),
        }
    }
}

fn default_odata_path() -> String {
    DEFAULT_ODATA_PATH.to_owned()
}

fn default_page_size() -> u32 {
    DEFAULT_PAGE_SIZE
}

fn default_filter_terms() -> u32 {
    DEFAULT_FILTER_TERMS
}

/// Whether `name` can be a Creatio column name. Names go into OData query text unquoted, so
/// this check is also what keeps configuration out of the query grammar.
pub(crate) fn is_column_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_alphabetic())
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && name.len() <= 128
}

fn is_service_path(path: &str) -> bool {
    path.starts_with('/')
        && !path.ends_with('/')
        && path.len() > 1
        && path
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'-' | b'_' | b'.'))
        && !path.contains("//")
}

impl CreatioConfig {
    /// Every problem with this configuration, each naming its key and what to write. Pure:
    /// no I/O.
    pub fn validate(&self) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        check_url("base_url", &self.base_url, &mut problems);
        check_url("identity_url", &self.identity_url, &mut problems);
        check_not_empty("client_id", &self.client_id, &mut problems);
        check_not_empty("client_secret", self.client_secret.expose(), &mut problems);
        if !is_service_path(&self.odata_path) {
            problems.push(ConfigProblem::new(
                "odata_path",
                format!(
                    "`{}` is not a service path; write \"{DEFAULT_ODATA_PATH}\" (.NET Framework) or \"{NET_CORE_ODATA_PATH}\" (.NET Core), with a leading and no trailing slash",
                    self.odata_path
                ),
            ));
        }
        if !(1..=MAX_PAGE_SIZE).contains(&self.page_size) {
            problems.push(ConfigProblem::new(
                "page_size",
                format!(
                    "{} is outside 1 to {MAX_PAGE_SIZE}; write e.g. {DEFAULT_PAGE_SIZE}",
                    self.page_size
                ),
            ));
        }
        if !(1..=MAX_FILTER_TERMS).contains(&self.filter_terms) {
            problems.push(ConfigProblem::new(
                "filter_terms",
                format!(
                    "{} is outside 1 to {MAX_FILTER_TERMS}; write e.g. {DEFAULT_FILTER_TERMS}",
                    self.filter_terms
                ),
            ));
        }
        let c = &self.columns;
        for (key, value) in [
            ("columns.customer_number", &c.customer_number),
            ("columns.loyalty_number", &c.loyalty_number),
            ("columns.phone_e164", &c.phone_e164),
            ("columns.country_code", &c.country_code),
        ] {
            if !is_column_name(value) {
                problems.push(ConfigProblem::new(
                    key,
                    format!(
                        "`{value}` is not a Creatio column name; write letters, digits and underscores, e.g. \"UsrCustomerNumber\""
                    ),
                ));
            }
        }
        problems
    }

    /// `https://acme.creatio.com/0/odata`: the service root every data request starts from.
    pub(crate) fn service_root(&self) -> String {
        format!("{}{}", self.base_url.trim_end_matches('/'), self.odata_path)
    }

    /// The Identity Service token endpoint.
    pub(crate) fn token_url(&self) -> String {
        format!("{}/connect/token", self.identity_url.trim_end_matches('/'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn good() -> CreatioConfig {
        CreatioConfig {
            base_url: "https://acme.creatio.com".into(),
            identity_url: "https://acme-is.creatio.com".into(),
            client_id: "id".into(),
            client_secret: Secret::new("secret"),
            odata_path: DEFAULT_ODATA_PATH.into(),
            page_size: DEFAULT_PAGE_SIZE,
            filter_terms: DEFAULT_FILTER_TERMS,
            email_match: EmailMatch::Collation,
            columns: ColumnNames::default(),
        }
    }

    #[test]
    fn a_complete_config_has_no_problems() {
        assert_eq!(good().validate(), vec![]);
        let mut core = good();
        core.odata_path = NET_CORE_ODATA_PATH.into();
        assert_eq!(core.validate(), vec![]);
    }

    #[test]
    fn every_problem_is_reported_with_its_key() {
        let mut c = good();
        c.base_url = "acme.creatio.com".into();
        c.identity_url = "ftp://is".into();
        c.client_id = " ".into();
        c.client_secret = Secret::new("");
        c.odata_path = "0/odata/".into();
        c.page_size = 0;
        c.filter_terms = 5_000;
        c.columns.customer_number = "UsrNo eq 'x' or Id".into();
        c.columns.country_code = "".into();
        let keys: Vec<String> = c.validate().into_iter().map(|p| p.key).collect();
        assert_eq!(
            keys,
            [
                "base_url",
                "identity_url",
                "client_id",
                "client_secret",
                "odata_path",
                "page_size",
                "filter_terms",
                "columns.customer_number",
                "columns.country_code"
            ]
        );
    }

    #[test]
    fn urls_tolerate_a_trailing_slash() {
        let mut c = good();
        c.base_url.push('/');
        c.identity_url.push('/');
        assert_eq!(c.service_root(), "https://acme.creatio.com/0/odata");
        assert_eq!(c.token_url(), "https://acme-is.creatio.com/connect/token");
    }

    #[test]
    fn service_paths_are_checked() {
        for bad in ["", "/", "odata", "/0/odata/", "/0//odata", "/0/odata?x=1"] {
            assert!(!is_service_path(bad), "{bad}");
        }
        assert!(is_service_path("/0/odata"));
        assert!(is_service_path("/odata"));
    }
}
