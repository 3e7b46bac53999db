//! A complete small connector, for reading in one sitting: **Lagerbox**, an invented warehouse
//! system that knows stores and warehouses and the stock of every SKU in them.
//!
//! Lagerbox's API (the vendor's "documentation", which [`simulator`] implements):
//! - every request carries `X-Lagerbox-Key: <api key>`; a wrong key answers
//!   `401 {"error": {"type": "auth", "message": "..."}}`;
//! - `GET /v1/sites` lists sites: `{"sites": [{"code", "name", "type": "store"|"warehouse",
//!   "street", "zip", "city", "country", "pickup": bool}]}`;
//! - `GET /v1/stock?skus=A,B,C` (at most 200 SKUs) answers
//!   `{"stock": [{"sku", "site", "on_hand", "reserved"}]}`; unknown SKUs are simply absent;
//! - errors use the same `{"error": {...}}` body; `429` carries `Retry-After`.
//!
//! The connector declares two capabilities, [`Capability::Inventory`] and
//! [`Capability::Locations`], maps Lagerbox's rows into the model, and batches: one stock request
//! per 200 SKUs. `tests/conformance.rs` runs the shared suite against the simulator.
//!
//! To add it to the gateway: add the crate as an optional dependency and one line to the
//! `vendors!` list in `src/config/registry.rs`.

pub mod simulator;

use samlet_connector::prelude::*;
use serde::Deserialize;
use std::sync::Arc;

/// The kind name used in configuration: `kind = "lagerbox"`.
pub const KIND: &str = "lagerbox";
/// Lagerbox's documented cap on SKUs per stock request.
pub const MAX_SKUS: usize = 200;

/// What Lagerbox can serve.
pub fn capabilities() -> &'static [Capability] {
    &[Capability::Inventory, Capability::Locations]
}

/// `[connectors.NAME]` settings for `kind = "lagerbox"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LagerboxConfig {
    /// Base URL, e.g. `"https://api.lagerbox.example"`.
    pub base_url: String,
    /// The API key (`X-Lagerbox-Key`).
    pub api_key: Secret,
}

impl LagerboxConfig {
    /// Every problem with the settings, without I/O.
    pub fn validate(&self) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        check_url("base_url", &self.base_url, &mut problems);
        check_not_empty("api_key", self.api_key.expose(), &mut problems);
        problems
    }
}

/// Builds the connector; no network I/O.
pub fn connect(
    name: ConnectorName,
    config: &LagerboxConfig,
    policy: UpstreamPolicy,
) -> Result<Connector, ConnectorError> {
    let client = Arc::new(Lagerbox {
        upstream: Upstream::new(name.clone(), policy)?,
        base: config.base_url.trim_end_matches('/').to_owned(),
        key: config.api_key.clone(),
    });
    let mut c = Connector::new(name, KIND);
    c.inventory = Some(client.clone());
    c.locations = Some(client);
    Ok(c)
}

/// The HTTP client.
struct Lagerbox {
    upstream: Upstream,
    base: String,
    key: Secret,
}

// Wire types: Lagerbox's JSON, exactly as documented above.
#[derive(Deserialize)]
struct Sites {
    sites: Vec<Site>,
}
#[derive(Deserialize)]
struct Site {
    code: String,
    name: String,
    r#type: String,
    street: String,
    zip: String,
    city: String,
    country: String,
    pickup: bool,
}
#[derive(Deserialize)]
struct Stock {
    stock: Vec<StockRow>,
}
#[derive(Deserialize)]
struct StockRow {
    sku: String,
    site: String,
    on_hand: i64,
    reserved: i64,
}
#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorDetail,
}
#[derive(Deserialize)]
struct ErrorDetail {
    message: String,
}

impl Lagerbox {
    /// GETs `path` (idempotent, so retried on transient failures) and decodes `T`.
    async fn get<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        what: &str,
    ) -> ConnectorResult<T> {
        let url = format!("{}{path}", self.base);
        let reply = self
            .upstream
            .send(true, |http| {
                http.get(&url).header("x-lagerbox-key", self.key.expose())
            })
            .await?;
        if !reply.status.is_success() {
            // Use the vendor's own message where its error body is readable.
            let message = serde_json::from_slice::<ErrorBody>(&reply.body)
                .map(|b| b.error.message)
                .unwrap_or_else(|_| reply.snippet(200));
            return Err(status_error(self.upstream.name(), &reply, &message));
        }
        reply.json(self.upstream.name(), what)
    }
}

#[async_trait]
impl LocationSource for Lagerbox {
    async fn locations(&self, _cx: &RequestContext) -> ConnectorResult<Vec<Location>> {
        let sites: Sites = self.get("/v1/sites", "sites").await?;
        Ok(sites
            .sites
            .into_iter()
            .map(|s| Location {
                id: LocationId::new(s.code),
                name: s.name,
                kind: if s.r#type == "warehouse" {
                    LocationKind::Warehouse
                } else {
                    LocationKind::Store
                },
                address: Address {
                    street: s.street,
                    postal_code: s.zip,
                    city: s.city,
                    country: s.country,
                },
                click_and_collect: s.pickup,
            })
            .collect())
    }
}

#[async_trait]
impl InventorySource for Lagerbox {
    async fn stock(
        &self,
        _cx: &RequestContext,
        skus: &[Sku],
    ) -> ConnectorResult<HashMap<Sku, Vec<StockLevel>>> {
        let mut out: HashMap<Sku, Vec<StockLevel>> = HashMap::new();
        // One request per 200 SKUs, the vendor's cap. (Commas are not allowed in SKUs.)
        let wanted: Vec<&str> = skus
            .iter()
            .map(Sku::as_str)
            .filter(|s| !s.contains(','))
            .collect();
        for chunk in wanted.chunks(MAX_SKUS) {
            let stock: Stock = self
                .get(&format!("/v1/stock?skus={}", chunk.join(",")), "stock")
                .await?;
            for row in stock.stock {
                let level = StockLevel {
                    location: LocationId::new(row.site),
                    on_hand: row.on_hand,
                    reserved: row.reserved,
                };
                out.entry(Sku::new(row.sku)).or_default().push(level);
            }
        }
        Ok(out)
    }
}
