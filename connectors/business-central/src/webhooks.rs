//! Business Central webhooks: the gateway's change feed for orders and stock.
//!
//! - Registering: `POST {api_url}/v2.0/{tenant}/{environment}/api/v2.0/subscriptions` with
//!   `{notificationUrl, resource, clientState}`, once for the standard `salesOrders` and once
//!   for the extension's `itemStockByLocation` page. Business Central validates the URL before
//!   it answers: it calls `notificationUrl?validationToken=...` and expects the token back with
//!   a 200 ([`WebhookReply::Validation`]).
//! - Notifications: `{"value": [{subscriptionId, clientState, expirationDateTime, resource,
//!   changeType, lastModifiedDateTime}]}`. Every entry's `clientState` must equal the
//!   configured `client_state` (compared in constant time), else the whole request is refused.
//!   `resource` names one record: `.../salesOrders({SystemId})` (resolved to order numbers
//!   with one `id in (...)` read) or `.../itemStockByLocation(itemNumber='..',variantCode='..',
//!   locationCode='..')` (the extension page's key, which is the SKU); `changeType`
//!   `collection` names the entity set with a `$filter` (more than 1,000 changes collapsed),
//!   read as "some order" or "some stock".
//!
//! - Renewing: Business Central drops a subscription after three days, so every
//!   `webhook_renew_seconds` (two days by default) each one is renewed with `PATCH
//!   .../api/v2.0/subscriptions('{subscriptionId}')` and `If-Match` (which repeats the
//!   handshake); one Business Central no longer knows (404) is created afresh. A restarted
//!   gateway creates new subscriptions; the old ones expire on their own.

use crate::client::{entity, in_filters, Api, BusinessCentralClient, Query};
use samlet_connector::prelude::*;
use serde::Deserialize;
use std::sync::Arc;

/// The Business Central change feed of one connector instance.
pub struct BusinessCentralWebhooks {
    client: Arc<BusinessCentralClient>,
    notification_url: String,
    client_state: Secret,
    /// The subscriptions made, by resource: `(subscriptionId, @odata.etag)`.
    made: tokio::sync::Mutex<HashMap<String, (String, String)>>,
}

#[derive(Deserialize)]
struct Made {
    #[serde(rename = "subscriptionId")]
    id: String,
    #[serde(rename = "@odata.etag", default)]
    etag: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Notification {
    #[serde(default)]
    client_state: Option<String>,
    resource: String,
    #[serde(default)]
    change_type: String,
}

#[derive(Deserialize)]
struct Notifications {
    value: Vec<Notification>,
}

#[derive(Deserialize)]
struct OrderNumberOnly {
    number: String,
}

impl BusinessCentralWebhooks {
    /// The feed for `client`, sending notifications to `notification_url` with `client_state`.
    pub fn new(
        client: Arc<BusinessCentralClient>,
        notification_url: String,
        client_state: Secret,
    ) -> BusinessCentralWebhooks {
        BusinessCentralWebhooks {
            client,
            notification_url,
            client_state,
            made: tokio::sync::Mutex::new(HashMap::new()),
        }
    }

    /// The resources subscribed to, relative to the API root as Business Central names them.
    fn resources(&self) -> [String; 2] {
        let c = self.client.config();
        [
            format!(
                "api/v2.0/companies({})/{}",
                c.company_id,
                entity::SALES_ORDERS
            ),
            format!(
                "api/{}/companies({})/{}",
                c.custom_api,
                c.company_id,
                entity::ITEM_STOCK
            ),
        ]
    }

    /// Order numbers of sales order SystemIds (one read per 38-odd ids).
    async fn order_numbers(&self, ids: &[String]) -> ConnectorResult<Vec<OrderNumber>> {
        let mut out = Vec::new();
        for filter in in_filters("id", ids) {
            let rows: Vec<OrderNumberOnly> = self
                .client
                .collection(
                    Api::Standard,
                    entity::SALES_ORDERS,
                    Query {
                        filter: Some(filter),
                        expand: None,
                        orderby: None,
                        primary: true,
                    },
                )
                .await?;
            out.extend(rows.into_iter().map(|r| OrderNumber::new(r.number)));
        }
        Ok(out)
    }
}

/// `name='value'` pairs of an OData composite key, quotes undoubled.
fn key_values(key: &str) -> Option<Vec<(&str, String)>> {
    let mut out = Vec::new();
    let mut rest = key;
    while !rest.is_empty() {
        let (name, after) = rest.split_once("='")?;
        // The value ends at the first quote that is not doubled.
        let bytes = after.as_bytes();
        let mut i = 0;
        let mut value = String::new();
        loop {
            match bytes.get(i)? {
                b'\'' if bytes.get(i + 1) == Some(&b'\'') => {
                    value.push('\'');
                    i += 2;
                }
                b'\'' => break,
                _ => {
                    let ch = after[i..].chars().next()?;
                    value.push(ch);
                    i += ch.len_utf8();
                }
            }
        }
        out.push((name.trim(), value));
        rest = after[i + 1..].trim_start_matches(',');
    }
    Some(out)
}

/// What one notification's `resource` names.
enum Named {
    Order(String),
    AnyOrder,
    Stock(Sku),
    AnyStock,
}

fn parse_resource(resource: &str, separator: &str) -> Option<Named> {
    // The last path segment: `salesOrders(…)`, `itemStockByLocation(…)` or a bare set name,
    // possibly with a query (`collection` notifications carry a `$filter`).
    let path = resource.split('?').next().unwrap_or(resource);
    let last = path.rsplit('/').next()?;
    let (set, key) = match last.split_once('(') {
        Some((set, key)) => (set, Some(key.strip_suffix(')')?)),
        None => (last, None),
    };
    match (set, key) {
        (entity::SALES_ORDERS, None) => Some(Named::AnyOrder),
        (entity::SALES_ORDERS, Some(id)) => {
            let id = id.trim_matches('\'');
            crate::config::is_guid(id).then(|| Named::Order(id.to_ascii_lowercase()))
        }
        (entity::ITEM_STOCK, None) => Some(Named::AnyStock),
        (entity::ITEM_STOCK, Some(key)) => {
            let pairs = key_values(key)?;
            let get = |n: &str| pairs.iter().find(|(k, _)| *k == n).map(|(_, v)| v.clone());
            let item = get("itemNumber").filter(|i| !i.is_empty())?;
            let variant = get("variantCode").unwrap_or_default();
            Some(Named::Stock(crate::mapping::sku_of(
                &item, &variant, separator,
            )))
        }
        _ => None,
    }
}

#[async_trait]
impl ChangeFeed for BusinessCentralWebhooks {
    async fn register(&self) -> ConnectorResult<()> {
        let root = format!("{}/v2.0/subscriptions", self.client.config().api_root());
        let mut made = self.made.lock().await;
        for resource in self.resources() {
            let body = serde_json::json!({
                "notificationUrl": self.notification_url,
                "resource": resource,
                "clientState": self.client_state.expose(),
            });
            let mut reply = None;
            if let Some((id, etag)) = made.get(&resource) {
                let url = format!("{root}({})", crate::client::quote(id));
                let renewed = self
                    .client
                    .write(reqwest::Method::PATCH, &url, Some(&body), Some(etag))
                    .await?;
                // Gone (expired or deleted): made afresh below.
                if renewed.status != reqwest::StatusCode::NOT_FOUND {
                    reply = Some(("renewing", renewed));
                }
            }
            let (what, reply) = match reply {
                Some(r) => r,
                None => (
                    "registering",
                    self.client
                        .write(reqwest::Method::POST, &root, Some(&body), None)
                        .await?,
                ),
            };
            if !reply.status.is_success() {
                return Err(self.client.write_error(
                    &format!("{what} the webhook subscription for {resource}"),
                    &reply,
                ));
            }
            let m: Made = reply.json(self.client.name(), "a webhook subscription")?;
            made.insert(resource.clone(), (m.id, m.etag));
            tracing::info!(
                connector = %self.client.name(),
                %resource,
                "Business Central webhook subscription {}",
                if what == "renewing" { "renewed" } else { "registered" }
            );
        }
        Ok(())
    }

    fn renew_every(&self) -> Option<std::time::Duration> {
        Some(std::time::Duration::from_secs(
            self.client.config().webhook_renew_seconds,
        ))
    }

    fn notifies_orders(&self) -> bool {
        true
    }

    fn notifies_stock(&self) -> bool {
        true
    }

    async fn receive(&self, request: &WebhookRequest) -> WebhookReply {
        if let Some(token) = request.query_param("validationToken") {
            return WebhookReply::Validation(token.to_owned());
        }
        let parsed: Notifications = match serde_json::from_slice(&request.body) {
            Ok(n) => n,
            Err(e) => {
                return WebhookReply::Malformed(format!(
                    "the body is not a Business Central notification ({{\"value\": [{{\"clientState\", \"resource\", \"changeType\", ...}}]}}): {e}"
                ))
            }
        };
        let expected = self.client_state.expose().as_bytes();
        for (i, n) in parsed.value.iter().enumerate() {
            match &n.client_state {
                None => {
                    return WebhookReply::Refused {
                        status: 401,
                        message: format!("value[{i}] has no clientState"),
                    }
                }
                Some(sent) if !constant_time_eq(sent.as_bytes(), expected) => {
                    return WebhookReply::Refused {
                        status: 403,
                        message: format!(
                            "value[{i}].clientState does not match this connector's client_state"
                        ),
                    }
                }
                Some(_) => {}
            }
        }
        let separator = &self.client.config().variant_separator;
        let mut changes = Vec::new();
        let mut order_ids = Vec::new();
        for (i, n) in parsed.value.iter().enumerate() {
            match parse_resource(&n.resource, separator) {
                Some(Named::Order(id)) => order_ids.push(id),
                Some(Named::AnyOrder) => changes.push(Change::AnyOrder),
                Some(Named::Stock(sku)) => changes.push(Change::Stock(sku)),
                Some(Named::AnyStock) => changes.push(Change::AnyStock),
                None => {
                    return WebhookReply::Malformed(format!(
                    "value[{i}].resource `{}` ({}) names neither a sales order nor the stock page",
                    n.resource, n.change_type
                ))
                }
            }
        }
        if !order_ids.is_empty() {
            match self.order_numbers(&order_ids).await {
                // Deleted orders are gone from the API: nothing to refresh for them.
                Ok(numbers) => changes.extend(numbers.into_iter().map(Change::Order)),
                Err(e) => {
                    tracing::warn!(connector = %self.client.name(), error = %e, "could not resolve notified sales orders; refreshing every watched order");
                    changes.push(Change::AnyOrder);
                }
            }
        }
        WebhookReply::Accepted(changes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resources_name_orders_and_stock() {
        let id = "00000024-0000-4000-8000-00000000c351";
        assert!(matches!(
            parse_resource(&format!("api/v2.0/companies(x)/salesOrders({id})"), "-"),
            Some(Named::Order(o)) if o == id
        ));
        assert!(matches!(
            parse_resource(
                "api/v2.0/companies(x)/salesOrders?$filter=lastModifiedDateTime gt 2026-01-01",
                "-"
            ),
            Some(Named::AnyOrder)
        ));
        assert!(matches!(
            parse_resource("api/samlet/commerce/v1.0/companies(x)/itemStockByLocation(itemNumber='P0042',variantCode='GREEN',locationCode='DK-CPH')", "-"),
            Some(Named::Stock(s)) if s.as_str() == "P0042-GREEN"
        ));
        assert!(matches!(
            parse_resource("api/samlet/commerce/v1.0/companies(x)/itemStockByLocation(itemNumber='O''NEIL',variantCode='',locationCode='A')", "-"),
            Some(Named::Stock(s)) if s.as_str() == "O'NEIL"
        ));
        assert!(parse_resource("api/v2.0/companies(x)/customers(1)", "-").is_none());
        assert!(parse_resource("api/v2.0/companies(x)/salesOrders(not-a-guid)", "-").is_none());
    }
}
