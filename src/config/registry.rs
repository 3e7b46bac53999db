//! The connector registry: one visible list of connector kinds, each behind its cargo feature.
//! It validates a `[connectors.NAME]` table into that kind's typed config (no I/O), declares the
//! kind's capabilities as data for `samlet check`, and connects.

use super::locate::{self, Located};
use super::UpstreamOverrides;
use samlet_connector::capability::{Capability, Connector};
use samlet_connector::error::ConnectorError;
use samlet_connector::http::UpstreamPolicy;
use samlet_connector::ids::ConnectorName;
use serde::de::DeserializeOwned;

/// A validated connector instance, ready to connect.
#[derive(Debug, Clone)]
pub struct ConnectorSpec {
    /// The instance name (`[connectors.NAME]`).
    pub name: ConnectorName,
    /// The upstream policy after global and per-connector overrides.
    pub policy: UpstreamPolicy,
    config: VendorConfig,
}

/// Declares every compiled-in connector kind once: its feature, crate and config type.
macro_rules! vendors {
    ($( $feature:literal => $variant:ident($krate:ident::$config:ident) ),* $(,)?) => {
        #[derive(Debug, Clone)]
        enum VendorConfig {
            $( #[cfg(feature = $feature)] $variant(Box<$krate::$config>), )*
            /// Keeps the enum inhabited-by-type when a build compiles no connector in.
            #[allow(dead_code)]
            None(std::convert::Infallible),
        }

        /// What a compiled-in connector kind can serve.
        pub fn kind_capabilities(kind: &str) -> Option<&'static [Capability]> {
            match kind {
                $( #[cfg(feature = $feature)] k if k == $krate::KIND => Some($krate::capabilities()), )*
                _ => None,
            }
        }

        /// Each compiled-in kind with the JSON Schema of its `[connectors.NAME]` table (without
        /// `kind` and `upstream`, which every kind takes).
        pub(super) fn kind_schemas(
            generator: &mut schemars::SchemaGenerator,
        ) -> Vec<(&'static str, schemars::Schema)> {
            vec![$( #[cfg(feature = $feature)] (
                $krate::KIND,
                <$krate::$config as schemars::JsonSchema>::json_schema(generator),
            ), )*]
        }

        /// The connector kinds compiled into this binary.
        pub fn connector_kinds() -> Vec<&'static str> {
            vec![$( #[cfg(feature = $feature)] $krate::KIND, )*]
        }

        impl ConnectorSpec {
            /// The vendor kind, e.g. `akeneo`.
            pub fn kind(&self) -> &'static str {
                match &self.config {
                    $( #[cfg(feature = $feature)] VendorConfig::$variant(_) => $krate::KIND, )*
                    VendorConfig::None(never) => match *never {},
                }
            }

            /// What this kind of connector can serve.
            pub fn capabilities(&self) -> &'static [Capability] {
                match &self.config {
                    $( #[cfg(feature = $feature)] VendorConfig::$variant(_) => $krate::capabilities(), )*
                    VendorConfig::None(never) => match *never {},
                }
            }

            /// Builds the connector's clients (no network I/O: tokens are fetched on first use).
            pub fn connect(&self) -> Result<Connector, ConnectorError> {
                match &self.config {
                    $( #[cfg(feature = $feature)] VendorConfig::$variant(c) => $krate::connect(self.name.clone(), c, self.policy.clone()), )*
                    VendorConfig::None(never) => match *never {},
                }
            }
        }

        // Unused parameters only in a build that compiles no connector in.
        #[allow(unused_variables, clippy::ptr_arg)]
        fn typed_config(
            kind: &str,
            table: toml::Table,
            path: &[String],
            text: &str,
            problems: &mut Vec<Located>,
        ) -> Option<VendorConfig> {
            match kind {
                $(
                    #[cfg(feature = $feature)]
                    k if k == $krate::KIND => {
                        let c: $krate::$config = deserialize(table, path, text, problems)?;
                        let found = c.validate();
                        for p in &found {
                            let mut key = path.to_vec();
                            key.extend(p.key.split('.').map(str::to_owned));
                            // A key whose `${VAR}` is unset was reported already.
                            if !problems.iter().any(|x| x.key == key.join(".")) {
                                problems.push(locate::key(text, &key, &p.message));
                            }
                        }
                        found.is_empty().then(|| VendorConfig::$variant(Box::new(c)))
                    }
                )*
                _ => None,
            }
        }
    };
}

vendors! {
    "salesforce" => Salesforce(samlet_salesforce::SalesforceConfig),
    "akeneo" => Akeneo(samlet_akeneo::AkeneoConfig),
    "business-central" => BusinessCentral(samlet_business_central::BusinessCentralConfig),
    "klaviyo" => Klaviyo(samlet_klaviyo::KlaviyoConfig),
    "creatio" => Creatio(samlet_creatio::CreatioConfig),
    "voyado" => Voyado(samlet_voyado::VoyadoConfig),
    "sfmc" => MarketingCloud(samlet_sfmc::SfmcConfig),
    "optimizely" => Optimizely(samlet_optimizely::OptimizelyConfig),
    "vendure" => Vendure(samlet_vendure::VendureConfig),
}

pub(super) fn deserialize<T: DeserializeOwned>(
    table: toml::Table,
    path: &[String],
    text: &str,
    problems: &mut Vec<Located>,
) -> Option<T> {
    match toml::Value::Table(table).try_into::<T>() {
        Ok(c) => Some(c),
        Err(e) => {
            let msg = e.message().trim().replace('\n', " ");
            // Serde names the field in backticks: point at that key if it is in the file.
            let mut key = path.to_vec();
            if let Some(field) = msg
                .split('`')
                .nth(1)
                .filter(|_| msg.starts_with("unknown field"))
            {
                key.push(field.to_owned());
            }
            let hint = if msg.starts_with("missing field") {
                "; add it to the table"
            } else {
                ""
            };
            problems.push(locate::key(text, &key, &format!("{msg}{hint}")));
            None
        }
    }
}

/// Validates one `[connectors.NAME]` table.
pub(super) fn validate_connector(
    name: &str,
    mut table: toml::Table,
    base: &UpstreamPolicy,
    text: &str,
    problems: &mut Vec<Located>,
) -> Option<ConnectorSpec> {
    let path = vec!["connectors".to_owned(), name.to_owned()];
    let kinds = connector_kinds();
    let kind = match table.remove("kind") {
        Some(toml::Value::String(k)) => k,
        Some(_) | None => {
            problems.push(locate::key(
                text,
                &path,
                &format!(
                    "missing `kind`; write kind = \"...\" with one of: {}",
                    kinds.join(", ")
                ),
            ));
            return None;
        }
    };
    if !kinds.contains(&kind.as_str()) {
        let mut key = path.clone();
        key.push("kind".into());
        problems.push(locate::key(
            text,
            &key,
            &format!(
                "unknown connector kind `{kind}`; this build knows: {}",
                kinds.join(", ")
            ),
        ));
        return None;
    }
    let overrides: UpstreamOverrides = match table.remove("upstream") {
        None => UpstreamOverrides::default(),
        Some(v) => {
            let mut key = path.clone();
            key.push("upstream".into());
            deserialize(
                v.as_table().cloned().unwrap_or_default(),
                &key,
                text,
                problems,
            )?
        }
    };
    let config = typed_config(&kind, table, &path, text, problems)?;
    Some(ConnectorSpec {
        name: ConnectorName::new(name),
        policy: overrides.apply(base),
        config,
    })
}
