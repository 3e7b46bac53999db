//! The embedded demo: a stack of vendor simulators in-process on free ports, serving one
//! generated world, and a configuration that points the real connectors at them over real
//! HTTP. The demo goes through the same config path as a production deployment.
//!
//! - Stack A: Salesforce (CRM), Akeneo (PIM), Business Central (ERP), Klaviyo (marketing).
//! - Stack B: Creatio (CRM), Optimizely (commerce: catalogue, prices, stock, orders),
//!   Voyado (loyalty and marketing), Salesforce Marketing Cloud (marketing).
//!
//! Both stacks serve the same world, so the same queries give answers of the same shape with
//! the same facts: swapping vendors is swapping configuration.

use crate::config::Config;
use samlet_testkit::sim::SimServer;
use samlet_testkit::{World, WorldConfig};
use std::fmt::Write as _;
use std::sync::Arc;

/// Which demo stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Stack {
    /// Salesforce, Akeneo, Business Central, Klaviyo.
    A,
    /// Creatio, Optimizely, Voyado, Salesforce Marketing Cloud.
    B,
}

/// One simulated vendor in a stack.
pub struct Member {
    /// The connector instance name in the generated config.
    pub name: &'static str,
    /// The connector kind.
    pub kind: &'static str,
    /// The running simulator.
    pub simulator: SimServer,
    /// The connector's settings for this simulator.
    settings: String,
    /// Path prefixes of the simulator's data API (for fault injection).
    pub api_paths: &'static [&'static str],
    /// What the connector kind can serve.
    pub capabilities: &'static [samlet_connector::Capability],
}

/// A running demo stack.
pub struct DemoStack {
    /// Which stack.
    pub stack: Stack,
    /// The world the simulators serve.
    pub world: Arc<World>,
    /// The simulated vendors.
    pub members: Vec<Member>,
    /// The generated configuration text.
    pub config_text: String,
    /// The HS256 secret the demo's `[auth]` section trusts (random per start).
    pub auth_secret: String,
    /// Handles on the simulators' own write records, for exactly-once tests.
    pub records: Records,
}

/// The write state of the stack's simulators that keep one (the others are read back through
/// their APIs).
#[derive(Default)]
pub struct Records {
    /// Stack A's Business Central: sales quotes and orders created, and lost answers.
    pub business_central: Option<samlet_business_central::simulator::SimWrites>,
    /// Stack B's Optimizely: purchase orders and carts created, and lost answers.
    pub optimizely: Option<Arc<samlet_optimizely::simulator::writes::Writes>>,
}

/// The issuer and audience of the demo's tokens.
pub const DEMO_ISSUER: &str = "samlet-demo";
/// The audience of the demo's tokens.
pub const DEMO_AUDIENCE: &str = "samlet";

macro_rules! member {
    ($name:literal, $krate:ident, $world:expr) => {{
        let simulator = $krate::simulator::start($world.clone(), 0).await?;
        member!($name, $krate, started simulator)
    }};
    ($name:literal, $krate:ident, started $simulator:ident) => {{
        let simulator = $simulator;
        Member {
            name: $name,
            kind: $krate::KIND,
            settings: $krate::simulator::demo_toml(&simulator.base_url()),
            api_paths: $krate::simulator::API_PATHS,
            capabilities: $krate::capabilities(),
            simulator,
        }
    }};
}

impl DemoStack {
    /// Generates the world and starts the stack's simulators. `listen` is the gateway address
    /// written into the config.
    pub async fn start(
        stack: Stack,
        world: WorldConfig,
        listen: std::net::SocketAddr,
    ) -> anyhow::Result<DemoStack> {
        let world = Arc::new(World::new(world));
        // The journeys' capabilities, wired where the stack's connector serves them.
        let optional: &[(samlet_connector::Capability, &str)] = match stack {
            Stack::A => &[
                (samlet_connector::Capability::Wishlists, "crm"),
                (samlet_connector::Capability::Offers, "erp"),
                (samlet_connector::Capability::OrderPlacement, "erp"),
                (samlet_connector::Capability::MarketingEvents, "marketing"),
                (samlet_connector::Capability::Vouchers, "marketing"),
            ],
            Stack::B => &[
                (samlet_connector::Capability::Wishlists, "commerce"),
                (samlet_connector::Capability::Offers, "commerce"),
                (samlet_connector::Capability::OrderPlacement, "commerce"),
                (samlet_connector::Capability::MarketingEvents, "marketing"),
                (samlet_connector::Capability::Vouchers, "loyalty"),
            ],
        };
        let mut records = Records::default();
        let (members, capabilities) = match stack {
            Stack::A => (
                vec![
                    member!("crm", samlet_salesforce, world),
                    member!("pim", samlet_akeneo, world),
                    {
                        let (erp, writes) =
                            samlet_business_central::simulator::start_with_writes(world.clone(), 0)
                                .await?;
                        records.business_central = Some(writes);
                        member!("erp", samlet_business_central, started erp)
                    },
                    member!("marketing", samlet_klaviyo, world),
                ],
                r#"customers = ["crm", "marketing", "erp"]
products = "pim"
prices = "erp"
inventory = "erp"
locations = "erp"
orders = "erp"
"#,
            ),
            Stack::B => (
                vec![
                    member!("crm", samlet_creatio, world),
                    {
                        let (commerce, _, writes) =
                            samlet_optimizely::simulator::start_with_state(world.clone(), 0)
                                .await?;
                        records.optimizely = Some(writes);
                        member!("commerce", samlet_optimizely, started commerce)
                    },
                    member!("loyalty", samlet_voyado, world),
                    member!("marketing", samlet_sfmc, world),
                ],
                r#"customers = ["crm", "loyalty", "commerce"]
products = "commerce"
prices = "commerce"
inventory = "commerce"
locations = "commerce"
orders = "commerce"
"#,
            ),
        };
        // Business Central calls the gateway back: subscriptions see an order ship at once.
        let mut members = members;
        let callback = if listen.ip().is_unspecified() {
            std::net::SocketAddr::new(std::net::Ipv4Addr::LOCALHOST.into(), listen.port())
        } else {
            listen
        };
        for m in members
            .iter_mut()
            .filter(|m| m.kind == samlet_business_central::KIND)
        {
            let _ = write!(
                m.settings,
                "webhook_url = \"http://{callback}/webhooks/{}\"\nclient_state = \"{}\"\n",
                m.name,
                crate::auth::random_secret()
            );
        }
        let auth_secret = crate::auth::random_secret();
        let mut config_text = format!(
            r#"# Generated by `samlet demo --stack {stack}`: simulated vendors on loopback.
[server]
listen = "{listen}"
ide = true
introspection = true
probe_interval = "1s"

# Tokens for this secret: printed by `samlet demo`, or DemoStack::mint in tests.
[auth]
issuer = "{DEMO_ISSUER}"
audience = "{DEMO_AUDIENCE}"
shared_secret = "{auth_secret}"

[defaults]
channel = "web"
locale = "da-DK"
currency = "DKK"

# Matching accessories and recommendations: which categories go with which.
[recommendations]
max_candidates = 48
match_attribute = "color"
recent_orders = 5
[recommendations.complements]
sofas = ["textiles", "lamps", "rugs"]
chairs = ["textiles", "rugs"]
tables = ["lamps", "accessories"]
beds = ["textiles", "lamps"]
storage = ["accessories", "lamps"]
outdoor = ["textiles", "lamps"]
rugs = ["textiles"]
lamps = ["accessories"]

# Subscriptions (orderStatus, stock): vendors with webhooks call back (stack A's ERP, see
# its webhook_url); the others are read every poll_interval while someone watches.
[realtime]
poll_interval = "2s"
"#,
            stack = if stack == Stack::A { "a" } else { "b" },
        );
        for m in &members {
            let _ = write!(
                config_text,
                "\n[connectors.{}]\nkind = \"{}\"\n{}",
                m.name, m.kind, m.settings
            );
        }
        let _ = write!(config_text, "\n[capabilities]\n{capabilities}");
        for (cap, name) in optional {
            if members
                .iter()
                .any(|m| m.name == *name && m.capabilities.contains(cap))
            {
                let _ = writeln!(config_text, "{cap} = \"{name}\"");
            }
        }
        Ok(DemoStack {
            stack,
            world,
            members,
            config_text,
            auth_secret,
            records,
        })
    }

    /// The demo configuration, parsed and validated like any other.
    pub fn config(&self) -> anyhow::Result<Config> {
        Config::parse("<demo>", &self.config_text, &|_| None).map_err(|e| anyhow::anyhow!("{e}"))
    }

    /// A token the demo gateway trusts, for `claims` (e.g. `{"role": "customer", "sub":
    /// "C000001"}`), valid for a day.
    pub fn mint(&self, claims: serde_json::Value) -> String {
        let mut claims = claims;
        if let Some(map) = claims.as_object_mut() {
            map.insert("iss".into(), DEMO_ISSUER.into());
            map.insert("aud".into(), DEMO_AUDIENCE.into());
        }
        crate::auth::mint_hs256(
            &self.auth_secret,
            claims,
            std::time::Duration::from_secs(24 * 3600),
        )
    }

    /// Ready-made tokens for trying the demo: a service, a store associate in the first store,
    /// and the first customer.
    pub fn sample_tokens(&self) -> Vec<(String, String)> {
        let store = self
            .world
            .locations()
            .first()
            .map(|l| l.id.to_string())
            .unwrap_or_default();
        let customer = World::customer_number(0).to_string();
        vec![
            (
                "service".into(),
                self.mint(serde_json::json!({ "role": "service", "sub": "demo" })),
            ),
            (
                format!("store associate in {store}"),
                self.mint(serde_json::json!({ "role": "store_associate", "sub": "associate-1", "store": store })),
            ),
            (
                format!("customer {customer}"),
                self.mint(serde_json::json!({ "role": "customer", "sub": customer })),
            ),
        ]
    }

    /// The member behind a connector instance name.
    pub fn member(&self, name: &str) -> Option<&Member> {
        self.members.iter().find(|m| m.name == name)
    }

    /// The simulator behind a connector instance name.
    pub fn simulator(&self, name: &str) -> Option<&SimServer> {
        self.member(name).map(|m| &m.simulator)
    }
}
