//! The gateway's configuration: one TOML file naming the connector instances, which instance
//! serves which capability, and the server's settings. `${ENV}` in any string value is replaced
//! by that environment variable (for secrets). Parsing collects every problem and prints each
//! as `file:line:col: key: what to write`.

mod locate;
mod registry;
mod schema;

pub use locate::Located;
pub use registry::{connector_kinds, ConnectorSpec};
pub use schema::{duration_schema, json_schema};

use samlet_connector::capability::Capability;
use samlet_connector::context::{Channel, Currency, Locale};
use samlet_connector::http::UpstreamPolicy;
use samlet_connector::ids::ConnectorName;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

/// A validated configuration, ready to connect.
#[derive(Debug, Clone)]
pub struct Config {
    /// Server settings.
    pub server: ServerConfig,
    /// The context a request gets when it names none.
    pub defaults: ContextDefaults,
    /// Connector instances by name, in file order.
    pub connectors: Vec<ConnectorSpec>,
    /// Which instances serve each capability; for customers, the order is the precedence
    /// when records disagree.
    pub capabilities: BTreeMap<Capability, Vec<ConnectorName>>,
    /// Per-field precedence overrides for merged customers (field -> instances in order).
    pub customer_precedence: BTreeMap<String, Vec<ConnectorName>>,
    /// The shared cache for catalogue data.
    pub cache: CacheConfig,
    /// Bearer-token verification; without it every caller is anonymous (catalogue only).
    pub auth: Option<crate::auth::AuthConfig>,
    /// The Redis shared by replicas (second-level cache, vendor quotas), if any.
    pub redis: Option<crate::replicas::RedisConfig>,
    /// Accessories and recommendations (`[recommendations]`).
    pub recommendations: crate::recommend::RecommendationsConfig,
    /// Trace export (`[telemetry]`).
    pub telemetry: crate::trace::TelemetryConfig,
    /// How subscriptions are fed (`[realtime]`).
    pub realtime: crate::realtime::RealtimeConfig,
}

/// The shared cache (`[cache]`), per capability. Customer-private data is never cached.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct CacheConfig {
    /// Estimated bytes each capability's cache may hold, e.g. `16777216` (16 MiB).
    pub max_bytes_per_capability: u64,
    /// Vendor calls each capability's cache makes at once, e.g. `4`; misses that arrive while
    /// they are out wait together and go in one call when a slot frees (with the cache off
    /// too).
    pub concurrent_fetches: usize,
    /// Products by id and by SKU: `{ ttl = "60s", stale_for = "60s" }`.
    pub products: crate::cache::CachePolicy,
    /// Prices per channel, currency and customer group.
    pub prices: crate::cache::CachePolicy,
    /// Stock per location (keep it short: no phantom stock).
    pub inventory: crate::cache::CachePolicy,
    /// Stores and warehouses.
    pub locations: crate::cache::CachePolicy,
    /// Whole answers to anonymous catalogue queries: `{ ttl = "1s" }`; `"0s"` turns it off.
    pub responses: crate::cache::CachePolicy,
}

impl Default for CacheConfig {
    fn default() -> Self {
        use crate::cache::CachePolicy;
        let policy = |ttl: u64, stale: u64| CachePolicy {
            ttl: Duration::from_secs(ttl),
            stale_for: Duration::from_secs(stale),
        };
        CacheConfig {
            max_bytes_per_capability: 16 * 1024 * 1024,
            concurrent_fetches: crate::cache::DEFAULT_CONCURRENT_FETCHES,
            products: policy(60, 60),
            prices: policy(30, 0),
            inventory: policy(5, 0),
            locations: policy(300, 300),
            responses: policy(1, 0),
        }
    }
}

/// Server settings (`[server]`).
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Address to listen on, e.g. `"0.0.0.0:4000"`.
    pub listen: SocketAddr,
    /// Serve the GraphiQL IDE at `GET /graphql`. Off by default outside the demo.
    pub ide: bool,
    /// Allow schema introspection. Off by default outside the demo.
    pub introspection: bool,
    /// Largest accepted request body, in bytes.
    pub max_body_bytes: usize,
    /// Deadline for one GraphQL request, e.g. `"15s"`.
    #[serde(with = "duration")]
    #[schemars(schema_with = "duration_schema")]
    pub request_timeout: Duration,
    /// Deepest accepted query nesting.
    pub max_depth: usize,
    /// Highest accepted query complexity (one point per field).
    pub max_complexity: usize,
    /// Most aliases one query may use.
    pub max_aliases: usize,
    /// Most field selections one query may have with its fragment spreads expanded (refused
    /// before validation, so a "fragment bomb" costs no work).
    pub max_selections: usize,
    /// Largest page size (`first`) any field may be asked for.
    pub max_list_size: usize,
    /// Most operations one JSON-array batch request may hold; 0 (the default) turns batching
    /// off.
    pub max_batch: usize,
    /// Most GraphQL requests executed at once (at least 1); further ones wait (within
    /// `request_timeout`) holding only their connection. Bounds memory under many connections;
    /// the gateway's one core is saturated long before.
    pub max_concurrent_requests: usize,
    /// Persisted queries: `"automatic"` (clients register queries by hash; any query runs),
    /// `"safelist"` (only the operations in `safelist` run) or `"off"`.
    pub persisted_queries: crate::graph::persisted::PersistedQueries,
    /// The Apollo persisted-query manifest for `persisted_queries = "safelist"`, relative to
    /// the configuration file, e.g. `"persisted-query-manifest.json"`.
    pub safelist: Option<std::path::PathBuf>,
    /// The operations `safelist` allows, read when the configuration is loaded.
    #[serde(skip)]
    #[schemars(skip)]
    pub safelist_operations: Option<std::sync::Arc<crate::graph::persisted::Safelist>>,
    /// Serve the operations dashboard at `/dashboard` and metrics at `/metrics`.
    pub dashboard: bool,
    /// Act as an Apollo Federation v2 subgraph: `_service { sdl }` gives the federation SDL
    /// (`@key` on Product, Variant, Customer, Order, Location) for composing into a supergraph.
    pub federation: bool,
    /// How often each upstream's address is probed (a TCP connect: no vendor quota), e.g. `"5s"`.
    #[serde(with = "duration")]
    #[schemars(schema_with = "duration_schema")]
    pub probe_interval: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 4000)),
            ide: false,
            introspection: false,
            max_body_bytes: 256 * 1024,
            request_timeout: Duration::from_secs(15),
            max_depth: 16,
            max_complexity: 5_000,
            max_aliases: 30,
            max_selections: 2_000,
            max_list_size: 100,
            max_batch: 0,
            max_concurrent_requests: 256,
            persisted_queries: Default::default(),
            safelist: None,
            safelist_operations: None,
            dashboard: true,
            federation: false,
            probe_interval: Duration::from_secs(5),
        }
    }
}

impl ServerConfig {
    /// Reads the safelist manifest (`safelist`, relative to the directory of `config_file`)
    /// when `persisted_queries = "safelist"`. The error names the key and what is wrong.
    pub fn load_safelist(&mut self, config_file: &str) -> Result<(), (&'static str, String)> {
        use crate::graph::persisted::{PersistedQueries, Safelist};
        match (self.persisted_queries, &self.safelist) {
            (PersistedQueries::Safelist, None) => Err((
                "persisted_queries",
                "\"safelist\" needs `safelist = \"path/to/manifest.json\"` (an Apollo persisted-query manifest)".into(),
            )),
            (PersistedQueries::Safelist, Some(path)) => {
                let full = match std::path::Path::new(config_file).parent() {
                    Some(dir) if path.is_relative() => dir.join(path),
                    _ => path.clone(),
                };
                let list = Safelist::load(&full)
                    .map_err(|e| ("safelist", format!("{}: {e}", full.display())))?;
                self.safelist_operations = Some(std::sync::Arc::new(list));
                Ok(())
            }
            (_, Some(_)) => Err((
                "safelist",
                "a manifest is used only with `persisted_queries = \"safelist\"`".into(),
            )),
            (_, None) => Ok(()),
        }
    }
}

/// Request-context defaults (`[defaults]`), used where a request's headers say nothing.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ContextDefaults {
    /// Channel, e.g. `"web"`.
    pub channel: Channel,
    /// Locale, e.g. `"da-DK"`.
    pub locale: Locale,
    /// Currency, e.g. `"DKK"`.
    pub currency: Currency,
    /// Country assumed for phone numbers written without a country code, e.g. `"DK"`.
    pub phone_country: String,
}

impl Default for ContextDefaults {
    fn default() -> Self {
        ContextDefaults {
            channel: Channel::Web,
            locale: Locale::da_dk(),
            currency: Currency::DKK,
            phone_country: "DK".into(),
        }
    }
}

/// Upstream policy overrides (`[upstream]` for all connectors, `[connectors.NAME.upstream]`
/// for one). Unset fields inherit.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UpstreamOverrides {
    /// Deadline for one upstream attempt, e.g. `"5s"`.
    #[serde(default, with = "opt_duration")]
    #[schemars(schema_with = "duration_schema")]
    pub timeout: Option<Duration>,
    /// Budget for a whole upstream call including retries and waits, e.g. `"8s"`.
    #[serde(default, with = "opt_duration")]
    #[schemars(schema_with = "duration_schema")]
    pub deadline: Option<Duration>,
    /// Extra attempts for idempotent reads.
    pub retries: Option<u32>,
    /// First retry back-off, e.g. `"50ms"` (doubles per attempt, with jitter).
    #[serde(default, with = "opt_duration")]
    #[schemars(schema_with = "duration_schema")]
    pub backoff: Option<Duration>,
    /// Longest `Retry-After` or quota wait honoured inside a call, e.g. `"2s"`.
    #[serde(default, with = "opt_duration")]
    #[schemars(schema_with = "duration_schema")]
    pub max_retry_after: Option<Duration>,
    /// Calls in flight to the upstream at most (the bulkhead).
    pub max_concurrent: Option<usize>,
    /// The vendor's quota: `{ per_second = 10, burst = 20 }`.
    pub quota: Option<QuotaConfig>,
    /// Consecutive failures that open the circuit breaker (0 disables it).
    pub breaker_failures: Option<u32>,
    /// How long an open breaker waits before one probe, e.g. `"5s"`.
    #[serde(default, with = "opt_duration")]
    #[schemars(schema_with = "duration_schema")]
    pub breaker_open_for: Option<Duration>,
}

/// A vendor quota in configuration.
#[derive(Debug, Clone, Copy, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QuotaConfig {
    /// Requests per second, sustained.
    pub per_second: std::num::NonZeroU32,
    /// Requests allowed at once above the steady rate (default: one second's worth).
    pub burst: Option<std::num::NonZeroU32>,
}

impl UpstreamOverrides {
    /// `base` with these overrides applied: the one place where global and per-connector
    /// upstream settings merge.
    pub fn apply(&self, base: &UpstreamPolicy) -> UpstreamPolicy {
        UpstreamPolicy {
            timeout: self.timeout.unwrap_or(base.timeout),
            deadline: self.deadline.unwrap_or(base.deadline),
            retries: self.retries.unwrap_or(base.retries),
            backoff: self.backoff.unwrap_or(base.backoff),
            max_retry_after: self.max_retry_after.unwrap_or(base.max_retry_after),
            max_concurrent: self.max_concurrent.unwrap_or(base.max_concurrent),
            quota: match self.quota {
                Some(q) => Some(samlet_connector::policy::Quota {
                    per_second: q.per_second,
                    burst: q.burst.unwrap_or(q.per_second),
                }),
                None => base.quota,
            },
            breaker: samlet_connector::policy::BreakerPolicy {
                failures: self.breaker_failures.unwrap_or(base.breaker.failures),
                open_for: self.breaker_open_for.unwrap_or(base.breaker.open_for),
            },
            monitor: base.monitor.clone(),
            shared_quota: base.shared_quota.clone(),
        }
    }
}

/// The raw file, before connector tables are validated by their kinds.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(
    rename = "SamletConfig",
    title = "Samlet gateway configuration",
    description = "The gateway's configuration file (samlet.toml). `${NAME}` in a string value of [connectors.*], [auth] or [redis] is replaced by the environment variable NAME."
)]
struct RawConfig {
    #[serde(default)]
    server: ServerConfig,
    #[serde(default)]
    defaults: ContextDefaults,
    #[serde(default)]
    upstream: UpstreamOverrides,
    /// Connector instances by name: `[connectors.NAME]` with `kind` and that kind's settings.
    #[serde(default)]
    #[schemars(schema_with = "schema::connectors")]
    connectors: BTreeMap<String, toml::Table>,
    /// Which instances serve each capability; for customers, the order is the precedence.
    #[serde(default)]
    #[schemars(schema_with = "schema::capabilities")]
    capabilities: BTreeMap<String, OneOrMany>,
    #[serde(default)]
    customers: CustomersSection,
    #[serde(default)]
    cache: CacheConfig,
    /// Bearer-token verification (`[auth]`); without it every caller is anonymous.
    #[serde(default)]
    #[schemars(with = "Option<crate::auth::AuthConfig>")]
    auth: Option<toml::Table>,
    /// The Redis shared by replicas (`[redis]`), if any.
    #[serde(default)]
    #[schemars(with = "Option<crate::replicas::RedisConfig>")]
    redis: Option<toml::Table>,
    /// Matching accessories and recommendations (`[recommendations]`).
    #[serde(default)]
    recommendations: crate::recommend::RecommendationsConfig,
    /// OpenTelemetry trace export over OTLP/HTTP (`[telemetry]`).
    #[serde(default)]
    telemetry: crate::trace::TelemetryConfig,
    /// How subscriptions are fed (`[realtime]`).
    #[serde(default)]
    realtime: crate::realtime::RealtimeConfig,
}

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct CustomersSection {
    /// Per-field precedence: `email = ["marketing", "crm"]`.
    #[serde(default)]
    #[schemars(schema_with = "schema::precedence")]
    precedence: BTreeMap<String, Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

/// Customer fields whose precedence can be configured.
pub const MERGEABLE_FIELDS: &[&str] = &[
    "email",
    "phone",
    "first_name",
    "last_name",
    "company_name",
    "loyalty_number",
    "loyalty_tier",
    "customer_group",
    "address",
    "consents",
];

/// Everything wrong with a configuration file.
#[derive(Debug)]
pub struct ConfigErrors {
    /// The file's name, for messages.
    pub file: String,
    /// Each problem with its position.
    pub problems: Vec<Located>,
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{}:{p}", self.file)?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

impl Config {
    /// Parses and validates a configuration file's text. `file` names it in messages;
    /// `env` looks up `${NAME}` references.
    pub fn parse(
        file: &str,
        text: &str,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigErrors> {
        let errors = |problems| ConfigErrors {
            file: file.to_owned(),
            problems,
        };
        let mut raw: RawConfig =
            toml::from_str(text).map_err(|e| errors(vec![locate::parse_error(text, &e)]))?;
        let mut problems = Vec::new();
        for (name, table) in raw.connectors.iter_mut() {
            let mut path = vec!["connectors".to_owned(), name.clone()];
            interpolate_table(table, text, env, &mut path, &mut problems);
        }
        if let Some(auth) = raw.auth.as_mut() {
            interpolate_table(auth, text, env, &mut vec!["auth".to_owned()], &mut problems);
        }
        if let Some(redis) = raw.redis.as_mut() {
            interpolate_table(
                redis,
                text,
                env,
                &mut vec!["redis".to_owned()],
                &mut problems,
            );
        }
        let mut config = validate(raw, text, &mut problems);
        if let Err((key, p)) = config.server.load_safelist(file) {
            problems.push(locate::key(
                text,
                &["server".to_owned(), key.to_owned()],
                &p,
            ));
        }
        // Report in file order, as an editor would list them.
        problems.sort_by_key(|p| (p.line, p.col));
        if problems.is_empty() {
            Ok(config)
        } else {
            Err(errors(problems))
        }
    }

    /// Reads and parses the file at `path`, interpolating from the process environment.
    pub fn load(path: &std::path::Path) -> Result<Config, ConfigErrors> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ConfigErrors {
            file: file.clone(),
            problems: vec![Located::at(1, 1, "", format!("cannot read the file: {e}"))],
        })?;
        Config::parse(&file, &text, &|k| std::env::var(k).ok())
    }

    /// The connector instances serving `cap`, in precedence order.
    pub fn served_by(&self, cap: Capability) -> &[ConnectorName] {
        self.capabilities
            .get(&cap)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }
}

fn interpolate_table(
    table: &mut toml::Table,
    text: &str,
    env: &dyn Fn(&str) -> Option<String>,
    path: &mut Vec<String>,
    problems: &mut Vec<Located>,
) {
    for (k, v) in table.iter_mut() {
        path.push(k.clone());
        interpolate_value(v, text, env, path, problems);
        path.pop();
    }
}

fn interpolate_value(
    v: &mut toml::Value,
    text: &str,
    env: &dyn Fn(&str) -> Option<String>,
    path: &mut Vec<String>,
    problems: &mut Vec<Located>,
) {
    match v {
        toml::Value::String(s) if s.contains("${") => {
            let mut out = String::with_capacity(s.len());
            let mut rest = s.as_str();
            while let Some(start) = rest.find("${") {
                out.push_str(&rest[..start]);
                let Some(end) = rest[start..].find('}') else {
                    problems.push(locate::key(
                        text,
                        path,
                        "`${` without a closing `}`; write ${NAME}",
                    ));
                    return;
                };
                let name = &rest[start + 2..start + end];
                match env(name) {
                    Some(value) => out.push_str(&value),
                    None => {
                        // Keep the reference, so later checks do not also call it empty.
                        out.push_str(&rest[start..start + end + 1]);
                        problems.push(locate::key(
                        text,
                        path,
                        &format!("environment variable `{name}` is not set; export it or write the value here"),
                    ))
                    }
                }
                rest = &rest[start + end + 1..];
            }
            out.push_str(rest);
            *s = out;
        }
        toml::Value::Table(t) => interpolate_table(t, text, env, path, problems),
        toml::Value::Array(items) => {
            for item in items {
                interpolate_value(item, text, env, path, problems);
            }
        }
        _ => {}
    }
}

fn validate(raw: RawConfig, text: &str, problems: &mut Vec<Located>) -> Config {
    let base_policy = raw.upstream.apply(&UpstreamPolicy::default());
    let mut connectors = Vec::new();
    // Instances already reported as invalid: references to them are not reported again.
    let mut invalid = Vec::new();
    for (name, table) in raw.connectors {
        let kind = table
            .get("kind")
            .and_then(|k| k.as_str())
            .map(str::to_owned);
        match registry::validate_connector(&name, table, &base_policy, text, problems) {
            Some(spec) => connectors.push(spec),
            None => invalid.push((name, kind)),
        }
    }
    let mut capabilities = BTreeMap::new();
    for (cap_name, served) in raw.capabilities {
        let path = ["capabilities".to_owned(), cap_name.clone()];
        let Some(cap) = Capability::parse(&cap_name) else {
            let known: Vec<_> = Capability::ALL.iter().map(|c| c.as_str()).collect();
            problems.push(locate::key(
                text,
                &path,
                &format!("unknown capability; expected one of {}", known.join(", ")),
            ));
            continue;
        };
        let names = match served {
            OneOrMany::One(n) => vec![n],
            OneOrMany::Many(v) => v,
        };
        if names.is_empty() {
            problems.push(locate::key(
                text,
                &path,
                "name at least one connector, e.g. \"erp\"",
            ));
        }
        if names.len() > 1 && !matches!(cap, Capability::Customers | Capability::MarketingEvents) {
            problems.push(locate::key(
                text,
                &path,
                &format!("only customers and marketing_events take several connectors; name one for {cap}"),
            ));
        }
        let mut list = Vec::new();
        for n in names {
            match connectors
                .iter()
                .find(|c: &&ConnectorSpec| c.name.as_str() == n)
            {
                None if invalid.iter().any(|(name, _)| name == &n) => {
                    // Already reported; but a kind that cannot serve this is worth saying too.
                    let kind = invalid
                        .iter()
                        .find(|(name, _)| name == &n)
                        .and_then(|(_, k)| k.as_deref());
                    if let Some((kind, caps)) =
                        kind.and_then(|k| registry::kind_capabilities(k).map(|c| (k, c)))
                    {
                        if !caps.contains(&cap) {
                            problems.push(locate::key(
                                text,
                                &path,
                                &format!("connector `{n}` ({kind}) cannot serve {cap}"),
                            ));
                        }
                    }
                }
                None => problems.push(locate::key(
                    text,
                    &path,
                    &format!(
                        "no connector named `{n}`; define [connectors.{n}] or use one of: {}",
                        names_of(&connectors)
                    ),
                )),
                Some(c) if !c.capabilities().contains(&cap) => problems.push(locate::key(
                    text,
                    &path,
                    &format!(
                        "connector `{n}` ({}) cannot serve {cap}; it serves: {}",
                        c.kind(),
                        c.capabilities()
                            .iter()
                            .map(|c| c.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )),
                Some(c) => list.push(c.name.clone()),
            }
        }
        capabilities.insert(cap, list);
    }
    for cap in Capability::ALL.into_iter().filter(|c| c.required()) {
        if !capabilities.contains_key(&cap) {
            let offer: Vec<_> = connectors
                .iter()
                .filter(|c| c.capabilities().contains(&cap))
                .map(|c| c.name.to_string())
                .collect();
            let hint = if offer.is_empty() {
                "no configured connector can serve it; add one that does".to_owned()
            } else {
                format!("add `{cap} = \"{}\"` under [capabilities]", offer[0])
            };
            problems.push(locate::key(
                text,
                &["capabilities".to_owned()],
                &format!("nobody serves `{cap}`: {hint}"),
            ));
        }
    }
    let mut customer_precedence = BTreeMap::new();
    for (field, names) in raw.customers.precedence {
        let path = [
            "customers".to_owned(),
            "precedence".to_owned(),
            field.clone(),
        ];
        if !MERGEABLE_FIELDS.contains(&field.as_str()) {
            problems.push(locate::key(
                text,
                &path,
                &format!(
                    "unknown customer field; expected one of {}",
                    MERGEABLE_FIELDS.join(", ")
                ),
            ));
            continue;
        }
        let served = capabilities
            .get(&Capability::Customers)
            .cloned()
            .unwrap_or_default();
        let mut list = Vec::new();
        for n in names {
            match served.iter().find(|c| c.as_str() == n) {
                Some(c) => list.push(c.clone()),
                None if invalid.iter().any(|(name, _)| name == &n) => {}
                None => problems.push(locate::key(text, &path, &format!("`{n}` does not serve customers; list instances named under capabilities.customers"))),
            }
        }
        customer_precedence.insert(field, list);
    }
    let auth = raw.auth.and_then(|table| {
        let path = ["auth".to_owned()];
        let auth: crate::auth::AuthConfig = registry::deserialize(table, &path, text, problems)?;
        match auth.problem() {
            Some(p) => {
                problems.push(locate::key(text, &path, p));
                None
            }
            None => Some(auth),
        }
    });
    let redis = raw.redis.and_then(|table| {
        let path = ["redis".to_owned()];
        let redis: crate::replicas::RedisConfig =
            registry::deserialize(table, &path, text, problems)?;
        match redis::Client::open(redis.url.expose()) {
            Ok(_) => Some(redis),
            Err(e) => {
                let mut key = path.to_vec();
                key.push("url".into());
                problems.push(locate::key(
                    text,
                    &key,
                    &format!("not a Redis URL ({e}); write e.g. \"redis://host:6379/0\""),
                ));
                None
            }
        }
    });
    for (path, message) in raw.recommendations.problems() {
        problems.push(locate::key(text, &path, &message));
    }
    for (path, message) in raw.telemetry.problems() {
        problems.push(locate::key(text, &path, &message));
    }
    for (path, message) in raw.realtime.problems() {
        problems.push(locate::key(text, &path, &message));
    }
    if raw.server.max_concurrent_requests == 0 {
        problems.push(locate::key(
            text,
            &["server".to_owned(), "max_concurrent_requests".to_owned()],
            "must be at least 1 (requests beyond it wait their turn)",
        ));
    }
    Config {
        server: raw.server,
        defaults: raw.defaults,
        connectors,
        capabilities,
        customer_precedence,
        cache: raw.cache,
        auth,
        redis,
        recommendations: raw.recommendations,
        telemetry: raw.telemetry,
        realtime: raw.realtime,
    }
}

fn names_of(connectors: &[ConnectorSpec]) -> String {
    if connectors.is_empty() {
        "(none defined)".to_owned()
    } else {
        connectors
            .iter()
            .map(|c| c.name.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Parses durations written as `"250ms"`, `"5s"`, `"2m"`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (n, unit) = s.split_at(split);
    let n: u64 = n
        .parse()
        .map_err(|_| format!("`{s}` is not a duration; write e.g. \"250ms\", \"5s\" or \"2m\""))?;
    match unit {
        "ms" => Ok(Duration::from_millis(n)),
        "s" => Ok(Duration::from_secs(n)),
        "m" => Ok(Duration::from_secs(n * 60)),
        _ => Err(format!(
            "`{s}` has no unit; write e.g. \"250ms\", \"5s\" or \"2m\""
        )),
    }
}

/// A duration as the config file writes it, in the largest unit that is exact: `"2m"`,
/// `"15s"`, `"250ms"` (the inverse of [`parse_duration`]).
pub fn format_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms > 0 && ms % 60_000 == 0 {
        format!("{}m", ms / 60_000)
    } else if ms % 1000 == 0 {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

pub(crate) mod duration {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let s = String::deserialize(d)?;
        super::parse_duration(&s).map_err(serde::de::Error::custom)
    }

    /// Writes the config file's form (the JSON Schema's defaults use it).
    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::format_duration(*d))
    }
}

mod opt_duration {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    /// Writes the config file's form (the JSON Schema's defaults use it).
    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_str(&super::format_duration(*d)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        let s = String::deserialize(d)?;
        super::parse_duration(&s)
            .map(Some)
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests;
