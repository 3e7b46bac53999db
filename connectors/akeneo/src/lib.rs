//! `samlet-akeneo`: the Samlet connector for the Akeneo PIM REST API, with a simulator of it.
//!
//! # What it serves, and why
//! Only [`Capability::Products`]: a PIM is the system of record for product information (names,
//! descriptions, attributes, media, categories), not for prices, stock or customers.
//!
//! - A gateway **product** is an Akeneo *product model* (`code` = product id, e.g. `P000042`);
//!   its **variants** are the model's *variant products* (`identifier` = SKU, e.g.
//!   `P000042-OAK`, `parent` = the model code). Family variants with one level of variation
//!   are supported; simple products (without a parent) and sub-models are not read.
//! - Names, descriptions and attributes come in every locale the PIM holds (Akeneo `da_DK`
//!   becomes `da-DK`; a non-localisable value is filed under `en-GB`). Scopable values (the
//!   description) are read for the Akeneo channel the request's channel maps to (`scopes`).
//! - Variant axes (e.g. `color`) are simple selects read with `with_attribute_options=true`, so
//!   the option labels arrive per locale in the same response (no attribute-options calls).
//! - Media are `pim_catalog_image` values: [`Media::code`](samlet_connector::model::Media) is the
//!   media file code and the URL is Akeneo's `…/api/rest/v1/media-files/{code}/download` link
//!   (which, as in Akeneo, needs a bearer token to fetch).
//! - Disabled variant products are left out of their product.
//!
//! # Endpoints used
//! - `POST /api/oauth/v1/token`: password grant with the client id and secret as HTTP Basic,
//!   JSON body; renewal with `grant_type=refresh_token`, falling back to the password grant when
//!   the refresh token is refused. Tokens are fetched lazily, cached until a minute before
//!   `expires_in`, and renewed once when a data call answers 401.
//! - `GET /api/rest/v1/products?search={"parent":[{"operator":"IN","value":[…]}]}` (and
//!   `{"identifier":[IN …]}` for SKUs), `pagination_type=search_after`, `limit` ≤ 100,
//!   `scope`, `attributes` (only the mapped ones), `with_attribute_options=true`; pages are
//!   followed through `_links.next.href`, never built. The identifier-based `/products`
//!   endpoint is used rather than `/products-uuid` because the gateway's key is the SKU, which
//!   *is* the product identifier: the answer carries it as `identifier` without knowing the
//!   catalogue's identifier attribute, and filters take it directly.
//! - `GET /api/rest/v1/product-models?pagination_type=search_after&limit=…` for listing, with
//!   `scope` and `attributes` (not `with_attribute_options`, which the spec gives products only);
//!   with `search={"categories":[{"operator":"IN","value":[…]}]}` for one category's products
//!   (`products_in_category`), so the PIM filters rather than the gateway.
//!
//! # Request budget
//! - `products(ids)`: one request per 100 variant products of the asked models (Akeneo returns
//!   a variant product with the values it inherits from its model, so the models themselves
//!   need no request). 48 products of about 2.5 variants each: 2 requests.
//! - `products_by_sku(skus)`: one request per 100 SKUs to learn their models, then as above.
//! - `list_products` and `products_in_category`: one request for a page of models plus one per
//!   100 of their variants.
//!   The `after` cursor wraps Akeneo's own `search_after` token from `_links.next.href`.
//! - Batches of more than 100 keys are cut at Akeneo's 100-item cap and run at most 4 chunks
//!   at a time (Akeneo SaaS serves 4 concurrent calls per connection); all share one token.
//!
//! # Configuration
//! ```toml
//! [connectors.pim]
//! kind = "akeneo"
//! base_url = "https://acme.cloud.akeneo.com"   # the PIM, without /api
//! client_id = "1_abc"                          # the Connection's credentials
//! secret = "${AKENEO_SECRET}"
//! username = "samlet_1234"
//! password = "${AKENEO_PASSWORD}"
//! page_size = 100                              # 1..=100, default 100
//! # Akeneo channel (scope) per gateway channel; defaults shown.
//! scopes = { online = "ecommerce", store = "store", channels = { kiosk = "kiosk" } }
//! # Attribute codes; defaults shown.
//! attributes = { name = "name", description = "description", image = "image", variant_name = "variant_name", variant_image = "variant_image", product = ["material", "collection"], axes = ["color"] }
//! ```
//! `scopes.online` serves web, app and e-mail, `scopes.store` serves store, kiosk and POS, and
//! `scopes.channels` overrides single channels.
//!
//! # The simulator
//! [`simulator::start`] serves the world's catalogue as an Akeneo PIM: the token endpoint
//! (password and refresh-token grants, Basic client authentication, Akeneo's 422 bodies for bad
//! credentials), `GET` on `/products`, `/products/{identifier}`, `/product-models`,
//! `/product-models/{code}` (search filters `identifier`, `parent` and `categories` with `IN`,
//! `parent` with `=`; `search_after` and page pagination; `limit` above 100 answered 422 as Akeneo does;
//! `scope`, `locales`, `attributes`, `with_attribute_options`), and `/media-files/{code}` with
//! `/download`. Errors are Akeneo's `{code, message}` bodies; 401s say why
//! (missing, invalid, expired token). Not simulated: writes, the `/products-uuid` endpoints,
//! other reference data (families, attributes, channels, categories), sub-models, filters on
//! other properties (answered 422), `with_count`, a real rate limiter (429 + `Retry-After`
//! come from fault injection), and permissions (403).

pub mod config;
pub mod simulator;

mod client;
mod mapping;
mod products;

pub use config::{AkeneoConfig, AttributeMapping, ScopeMapping};

use samlet_connector::prelude::*;
use std::sync::Arc;

/// The vendor kind, as written in configuration (`kind = "akeneo"`).
pub const KIND: &str = "akeneo";

/// Capabilities as data, for `samlet check` before connecting.
pub fn capabilities() -> &'static [Capability] {
    &[Capability::Products]
}

/// Builds the connector (no network I/O here: tokens are fetched lazily on first call).
pub fn connect(
    name: ConnectorName,
    config: &AkeneoConfig,
    policy: UpstreamPolicy,
) -> Result<Connector, ConnectorError> {
    let products = product_source(&name, config, policy)?;
    let mut connector = Connector::new(name, KIND);
    connector.products = Some(Arc::new(products));
    Ok(connector)
}

/// The product source [`connect`] serves, after checking `config`.
fn product_source(
    name: &ConnectorName,
    config: &AkeneoConfig,
    policy: UpstreamPolicy,
) -> Result<products::AkeneoProducts, ConnectorError> {
    let problems = config.validate();
    if !problems.is_empty() {
        let list: Vec<String> = problems.iter().map(ToString::to_string).collect();
        return Err(ConnectorError::new(
            ErrorKind::BadRequest,
            name,
            format!("invalid configuration: {}", list.join("; ")),
        ));
    }
    let base = url::Url::parse(&config.base_url).map_err(|e| {
        ConnectorError::new(ErrorKind::BadRequest, name, "invalid base_url").with_source(e)
    })?;
    let upstream = Upstream::new(name.clone(), policy)?;
    let client = client::AkeneoClient::new(
        upstream,
        base,
        client::Credentials {
            client_id: config.client_id.clone(),
            secret: config.secret.clone(),
            username: config.username.clone(),
            password: config.password.clone(),
        },
    );
    Ok(products::AkeneoProducts {
        client: Arc::new(client),
        scopes: config.scopes.clone(),
        attributes: config.attributes.clone(),
        page_size: config.page_size,
        hints: products::ModelHints::default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_connector_serves_what_it_declares() {
        let c = connect(
            ConnectorName::new("pim"),
            &simulator::demo_config("http://127.0.0.1:9"),
            UpstreamPolicy::default(),
        )
        .unwrap();
        assert_eq!(c.kind, KIND);
        assert_eq!(c.capabilities(), capabilities());
    }

    #[test]
    fn an_invalid_config_is_refused_before_any_request() {
        let mut cfg = simulator::demo_config("http://127.0.0.1:9");
        cfg.base_url = "nowhere".into();
        let e = connect(ConnectorName::new("pim"), &cfg, UpstreamPolicy::default()).unwrap_err();
        assert_eq!(e.kind, ErrorKind::BadRequest);
        assert!(e.message.contains("base_url"), "{}", e.message);
    }
}
