//! The connector's configuration: where the org's token endpoint is, the connected app's
//! credentials, the REST API version, and which fields of the org hold the values the model
//! needs. Parsed with serde (unknown keys are errors), then checked by
//! [`SalesforceConfig::validate`] without any I/O.

use samlet_connector::prelude::*;
use serde::Deserialize;

/// The REST API version used when the configuration names none (Winter '25).
pub const DEFAULT_API_VERSION: &str = "62.0";
/// The oldest API version the connector accepts: the `/composite` resource it batches with
/// exists from 38.0 on.
pub const MIN_API_VERSION: (u32, u32) = (38, 0);
/// Salesforce's default, and largest, query batch (records per response).
pub const MAX_QUERY_BATCH_SIZE: u32 = 2_000;
/// The smallest query batch Salesforce accepts in `Sforce-Query-Options`.
pub const MIN_QUERY_BATCH_SIZE: u32 = 200;

/// Configuration of a Salesforce connector instance.
///
/// ```toml
/// [connectors.crm]
/// kind = "salesforce"
/// login_url = "https://acme.my.salesforce.com"
/// client_id = "3MVG9…"
/// client_secret = "${SALESFORCE_CLIENT_SECRET}"
/// api_version = "62.0"          # optional
/// query_batch_size = 2000       # optional
///
/// [connectors.crm.fields]       # optional: the org's field API names
/// customer_number = "Customer_Number__c"
///
/// [connectors.crm.wishlist]     # optional: the wishlist custom object's API names
/// object = "Wishlist_Item__c"
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SalesforceConfig {
    /// Base URL of the org's OAuth token endpoint: its My Domain URL, e.g.
    /// `https://acme.my.salesforce.com` (the client-credentials flow is not served by
    /// `login.salesforce.com`). The connector posts to `{login_url}/services/oauth2/token`;
    /// API calls go to the `instance_url` the token response names.
    pub login_url: String,
    /// Consumer key of the connected app (or external client app) with the client-credentials
    /// flow enabled and a "run as" user.
    pub client_id: String,
    /// Consumer secret of that app. Write `"${ENV_VAR}"` rather than the secret itself.
    pub client_secret: Secret,
    /// REST API version without the `v`, e.g. `"62.0"`; at least 38.0.
    #[serde(default = "default_api_version")]
    pub api_version: String,
    /// Records per query response (`Sforce-Query-Options: batchSize`), 200 to 2000. Larger
    /// results are fetched by following `nextRecordsUrl`.
    #[serde(default = "default_batch_size")]
    pub query_batch_size: u32,
    /// API names of the org's fields that hold the values the model needs.
    #[serde(default)]
    pub fields: FieldNames,
    /// API names of the custom object (and its fields) that holds wishlist items.
    #[serde(default)]
    pub wishlist: WishlistNames,
}

/// API names of the custom fields and relationships the connector reads. Standard fields
/// (`FirstName`, `Email`, `MailingCountryCode`, …) are fixed; these differ per org.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct FieldNames {
    /// External-id text field holding the shared customer number, on both Contact (persons)
    /// and Account (companies).
    pub customer_number: String,
    /// Text field holding the loyalty club member number, on Contact and Account.
    pub loyalty_number: String,
    /// Field holding the phone in E.164 (`+4512345678`), on Contact and Account, used to find
    /// customers by phone. `Phone` itself holds whatever users typed (`12 34 56 78`), which
    /// no filter can match; orgs add a formula or a trigger-maintained field for this.
    pub phone_e164: String,
    /// Relationship name of the Account's lookup to its primary Contact (the company's
    /// contact person), e.g. `Primary_Contact__r` for the field `Primary_Contact__c`.
    pub primary_contact: String,
}

impl Default for FieldNames {
    fn default() -> Self {
        FieldNames {
            customer_number: "Customer_Number__c".into(),
            loyalty_number: "Loyalty_Number__c".into(),
            phone_e164: "Phone_E164__c".into(),
            primary_contact: "Primary_Contact__r".into(),
        }
    }
}

/// API names of the custom object a retailer creates for wishlists (Salesforce has no standard
/// one): one record per customer and SKU, keyed by a unique external id so that adding is an
/// idempotent upsert. All are custom (`__c`) names; the defaults are what the setup guide in
/// the crate documentation creates.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct WishlistNames {
    /// The custom object, one record per wished-for SKU.
    pub object: String,
    /// Lookup to the Contact of a person customer (left empty for companies).
    pub contact: String,
    /// Lookup to the business Account of a company customer (left empty for persons).
    pub account: String,
    /// Text field with the shared customer number; the wishlist is read by it.
    pub customer_number: String,
    /// Text field with the SKU wished for.
    pub sku: String,
    /// Date/time field with when the item was added; set on create, never updated.
    pub added_at: String,
    /// Picklist (text) field with the channel it was added from: `web`, `app`, `store`,
    /// `kiosk`, `pos` or `email`.
    pub channel: String,
    /// Unique, external-id text field (255 characters) holding `<customer number>|<sku>`,
    /// the key adds are upserted and removes deleted by.
    pub key: String,
}

impl Default for WishlistNames {
    fn default() -> Self {
        WishlistNames {
            object: "Wishlist_Item__c".into(),
            contact: "Contact__c".into(),
            account: "Account__c".into(),
            customer_number: "Customer_Number__c".into(),
            sku: "SKU__c".into(),
            added_at: "Added_At__c".into(),
            channel: "Channel__c".into(),
            key: "Samlet_Key__c".into(),
        }
    }
}

impl WishlistNames {
    /// Every name with its configuration key, in a stable order.
    fn entries(&self) -> [(&'static str, &String); 8] {
        [
            ("wishlist.object", &self.object),
            ("wishlist.contact", &self.contact),
            ("wishlist.account", &self.account),
            ("wishlist.customer_number", &self.customer_number),
            ("wishlist.sku", &self.sku),
            ("wishlist.added_at", &self.added_at),
            ("wishlist.channel", &self.channel),
            ("wishlist.key", &self.key),
        ]
    }
}

fn default_api_version() -> String {
    DEFAULT_API_VERSION.to_owned()
}

fn default_batch_size() -> u32 {
    MAX_QUERY_BATCH_SIZE
}

/// Parses `"62.0"` into `(62, 0)`.
pub(crate) fn parse_api_version(v: &str) -> Option<(u32, u32)> {
    let (major, minor) = v.split_once('.')?;
    let digits = |s: &str| !s.is_empty() && s.len() <= 3 && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(major) || !digits(minor) {
        return None;
    }
    Some((major.parse().ok()?, minor.parse().ok()?))
}

/// Whether `name` can be a Salesforce field or relationship API name. Names go into SOQL
/// text unquoted, so this check is also what keeps configuration out of the query grammar.
pub(crate) fn is_api_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_alphabetic())
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && name.len() <= 80
        && !name.ends_with('_')
}

impl SalesforceConfig {
    /// Every problem with this configuration, each naming its key and what to write. Pure:
    /// no I/O.
    pub fn validate(&self) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        check_url("login_url", &self.login_url, &mut problems);
        check_not_empty("client_id", &self.client_id, &mut problems);
        check_not_empty("client_secret", self.client_secret.expose(), &mut problems);
        match parse_api_version(&self.api_version) {
            Some(v) if v >= MIN_API_VERSION => {}
            Some(_) => problems.push(ConfigProblem::new(
                "api_version",
                format!(
                    "`{}` is too old: the connector needs 38.0 or later; write e.g. \"{DEFAULT_API_VERSION}\"",
                    self.api_version
                ),
            )),
            None => problems.push(ConfigProblem::new(
                "api_version",
                format!(
                    "`{}` is not an API version; write it without the `v`, e.g. \"{DEFAULT_API_VERSION}\"",
                    self.api_version
                ),
            )),
        }
        if !(MIN_QUERY_BATCH_SIZE..=MAX_QUERY_BATCH_SIZE).contains(&self.query_batch_size) {
            problems.push(ConfigProblem::new(
                "query_batch_size",
                format!(
                    "{} is outside what Salesforce accepts; write a number from {MIN_QUERY_BATCH_SIZE} to {MAX_QUERY_BATCH_SIZE}",
                    self.query_batch_size
                ),
            ));
        }
        let f = &self.fields;
        for (key, value) in [
            ("fields.customer_number", &f.customer_number),
            ("fields.loyalty_number", &f.loyalty_number),
            ("fields.phone_e164", &f.phone_e164),
            ("fields.primary_contact", &f.primary_contact),
        ] {
            if !is_api_name(value) {
                problems.push(ConfigProblem::new(
                    key,
                    format!(
                        "`{value}` is not a Salesforce API name; write letters, digits and underscores, e.g. \"Customer_Number__c\""
                    ),
                ));
            }
        }
        if f.primary_contact.ends_with("__c") {
            problems.push(ConfigProblem::new(
                "fields.primary_contact",
                format!(
                    "`{}` is the lookup field; write its relationship name, ending in `__r` (e.g. \"Primary_Contact__r\")",
                    f.primary_contact
                ),
            ));
        }
        let mut seen: Vec<String> = Vec::new();
        for (key, value) in self.wishlist.entries() {
            if !is_api_name(value) || !value.ends_with("__c") {
                problems.push(ConfigProblem::new(
                    key,
                    format!(
                        "`{value}` is not the API name of a custom object or field; write letters, digits and underscores ending in `__c`, e.g. \"Wishlist_Item__c\""
                    ),
                ));
            } else if key != "wishlist.object" {
                let lower = value.to_ascii_lowercase();
                if seen.contains(&lower) {
                    problems.push(ConfigProblem::new(
                        key,
                        format!("`{value}` is already used for another wishlist field; each field needs its own name"),
                    ));
                }
                seen.push(lower);
            }
        }
        problems
    }

    /// `/services/data/v62.0`: the prefix of every data API path.
    pub(crate) fn data_path(&self) -> String {
        format!("/services/data/v{}", self.api_version)
    }

    /// The token endpoint.
    pub(crate) fn token_url(&self) -> String {
        format!(
            "{}/services/oauth2/token",
            self.login_url.trim_end_matches('/')
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn good() -> SalesforceConfig {
        SalesforceConfig {
            login_url: "https://acme.my.salesforce.com".into(),
            client_id: "id".into(),
            client_secret: Secret::new("secret"),
            api_version: "62.0".into(),
            query_batch_size: 2000,
            fields: FieldNames::default(),
            wishlist: WishlistNames::default(),
        }
    }

    #[test]
    fn a_complete_config_has_no_problems() {
        assert_eq!(good().validate(), vec![]);
    }

    #[test]
    fn every_problem_is_reported_with_its_key() {
        let mut c = good();
        c.login_url = "acme".into();
        c.client_id = " ".into();
        c.client_secret = Secret::new("");
        c.api_version = "v62".into();
        c.query_batch_size = 50;
        c.fields.customer_number = "Number__c) OR Id != (".into();
        c.fields.primary_contact = "Primary_Contact__c".into();
        c.wishlist.object = "Wishlist".into();
        c.wishlist.channel = "sku__c".into();
        let keys: Vec<String> = c.validate().into_iter().map(|p| p.key).collect();
        assert_eq!(
            keys,
            [
                "login_url",
                "client_id",
                "client_secret",
                "api_version",
                "query_batch_size",
                "fields.customer_number",
                "fields.primary_contact",
                "wishlist.object",
                "wishlist.channel"
            ]
        );
    }

    #[test]
    fn old_api_versions_are_refused() {
        let mut c = good();
        c.api_version = "37.0".into();
        assert_eq!(c.validate()[0].key, "api_version");
        c.api_version = "38.0".into();
        assert!(c.validate().is_empty());
    }

    #[test]
    fn token_url_tolerates_a_trailing_slash() {
        let mut c = good();
        c.login_url.push('/');
        assert_eq!(
            c.token_url(),
            "https://acme.my.salesforce.com/services/oauth2/token"
        );
        assert_eq!(c.data_path(), "/services/data/v62.0");
    }
}
