//! Shared end-to-end harness: the demo stack's simulators and a gateway serving it on a free
//! port, queried over real HTTP.

#![allow(dead_code)]

use samlet::demo::{DemoStack, Stack};
use samlet_testkit::{World, WorldConfig};
use serde_json::{json, Value};
use std::sync::Arc;

/// A running gateway over the demo stack.
pub struct Running {
    pub stack: DemoStack,
    pub url: String,
    pub http: reqwest::Client,
    /// The `Authorization` header sent when a request names none: a service token by default
    /// (the tests that are not about authorisation see everything); `None` for anonymous.
    pub default_auth: Option<String>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Running {
    /// The demo stack with its default configuration (caches on).
    pub async fn start(which: Stack) -> Running {
        Running::start_with(which, |_| {}).await
    }

    /// The demo stack without the shared cache: every query reaches the simulators.
    pub async fn start_uncached(which: Stack) -> Running {
        Running::start_with(which, |c| {
            let off = samlet::cache::CachePolicy {
                ttl: std::time::Duration::ZERO,
                stale_for: std::time::Duration::ZERO,
            };
            c.cache.products = off;
            c.cache.prices = off;
            c.cache.inventory = off;
            c.cache.locations = off;
        })
        .await
    }

    /// The demo stack's simulators with a gateway whose configuration text is `edit`ed.
    pub async fn start_with_config_text(
        which: Stack,
        edit: impl FnOnce(&str) -> String,
    ) -> Running {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let stack = DemoStack::start(which, WorldConfig::default(), addr)
            .await
            .expect("demo stack");
        let text = edit(&stack.config_text);
        let config = samlet::Config::parse("<test>", &text, &|_| None)
            .unwrap_or_else(|e| panic!("{e}\n{text}"));
        let webhooks = text.contains("webhook_url");
        Running::serve(stack, listener, config)
            .settled(webhooks)
            .await
    }

    /// Waits (a few seconds at most) until the gateway has registered its webhooks with the
    /// ERP simulator, then zeroes the simulators' counts, so tests that count upstream
    /// requests never see the registration.
    async fn settled(self, webhooks: bool) -> Running {
        if let (true, Some(erp)) = (webhooks, self.stack.simulator("erp")) {
            let url = format!("{}/_sim/subscriptions", erp.base_url());
            for _ in 0..200 {
                let listed = match self.http.get(&url).send().await {
                    Ok(r) => r.json::<Value>().await.ok(),
                    Err(_) => None,
                };
                if listed.is_some_and(|v| v["value"].as_array().is_some_and(|a| a.len() >= 2)) {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(25)).await;
            }
            self.reset_counts();
        }
        self
    }

    fn serve(
        stack: DemoStack,
        listener: tokio::net::TcpListener,
        config: samlet::Config,
    ) -> Running {
        let addr = listener.local_addr().expect("addr");
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            samlet::serve(config, listener, async move {
                let _ = rx.await;
            })
            .await
            .expect("serve");
        });
        let service = stack.mint(json!({ "role": "service", "sub": "tests" }));
        Running {
            stack,
            url: format!("http://{addr}"),
            http: reqwest::Client::new(),
            default_auth: Some(format!("Bearer {service}")),
            stop: Some(tx),
        }
    }

    /// The demo stack with its configuration changed by `edit`.
    pub async fn start_with(which: Stack, edit: impl FnOnce(&mut samlet::Config)) -> Running {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let stack = DemoStack::start(which, WorldConfig::default(), addr)
            .await
            .expect("demo stack");
        let mut config = stack.config().expect("demo config is valid");
        edit(&mut config);
        let webhooks = stack.config_text.contains("webhook_url");
        Running::serve(stack, listener, config)
            .settled(webhooks)
            .await
    }

    /// `Bearer <token>` for `claims` (see `DemoStack::mint`).
    pub fn bearer(&self, claims: Value) -> String {
        format!("Bearer {}", self.stack.mint(claims))
    }

    pub fn world(&self) -> &Arc<World> {
        &self.stack.world
    }

    /// POSTs a query with extra headers; returns the whole JSON response.
    pub async fn query_with(
        &self,
        query: &str,
        variables: Value,
        headers: &[(&str, &str)],
    ) -> Value {
        let mut req = self
            .http
            .post(format!("{}/graphql", self.url))
            .json(&json!({ "query": query, "variables": variables }));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(auth) = &self.default_auth {
            if !headers
                .iter()
                .any(|(k, _)| k.eq_ignore_ascii_case("authorization"))
            {
                req = req.header("authorization", auth);
            }
        }
        let resp = req.send().await.expect("gateway answers");
        resp.json().await.expect("gateway answers JSON")
    }

    /// POSTs a query; panics on GraphQL errors; returns `data`.
    pub async fn data(&self, query: &str, variables: Value) -> Value {
        let v = self.query_with(query, variables, &[]).await;
        assert!(v.get("errors").is_none(), "unexpected errors: {v:#}");
        v["data"].clone()
    }

    /// Data-API requests a simulator served since its stats were reset (token calls excluded).
    pub fn data_requests(&self, sim: &str) -> u64 {
        let s = self.stack.simulator(sim).expect("simulator");
        s.control
            .stats
            .routes()
            .iter()
            .filter(|(route, _)| !route.contains("token"))
            .map(|(_, n)| n)
            .sum()
    }

    /// A plain GET of `path` (e.g. `"/health"`) on the gateway.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path}", self.url))
            .send()
            .await
            .expect("gateway answers")
    }

    pub fn reset_counts(&self) {
        for m in &self.stack.members {
            m.simulator.control.stats.reset();
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}

/// Which connector instance of a stack plays each role.
pub struct Roles {
    /// The CRM (customers: everyone).
    pub crm: &'static str,
    /// The marketing or loyalty system (customers: most, with consents and loyalty tiers).
    pub marketing: &'static str,
    /// The system holding buyers and companies (ERP or commerce platform).
    pub buyers: &'static str,
    /// The product source.
    pub products: &'static str,
    /// The price, stock, location and order source.
    pub commerce: &'static str,
}

/// The roles in each demo stack.
pub fn roles(which: Stack) -> Roles {
    match which {
        Stack::A => Roles {
            crm: "crm",
            marketing: "marketing",
            buyers: "erp",
            products: "pim",
            commerce: "erp",
        },
        Stack::B => Roles {
            crm: "crm",
            marketing: "loyalty",
            buyers: "commerce",
            products: "commerce",
            commerce: "commerce",
        },
    }
}

/// A child process (a server the test started), killed and reaped when dropped.
pub struct Kill(pub std::process::Child);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A loopback port nothing listens on now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
