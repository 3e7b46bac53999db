//! Webhook subscriptions as Business Central keeps them: `POST .../api/v2.0/subscriptions`
//! with the `validationToken` handshake, and notifications POSTed to every subscription whose
//! resource covers a changed record.

use super::journal::WebhookSubscription;
use super::{odata_error, Sim};
use crate::client::entity;
use crate::config::DEFAULT_CUSTOM_API;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU64, Ordering};

static TOKENS: AtomicU64 = AtomicU64::new(1);

/// A changed record, as a notification names it.
pub enum Changed<'a> {
    /// A sales order, by SystemId.
    SalesOrder(&'a str),
    /// A row of the extension's stock page.
    Stock {
        /// Item No.
        item: &'a str,
        /// Variant Code.
        variant: &'a str,
        /// Location Code.
        location: &'a str,
    },
}

fn quote(v: &str) -> String {
    format!("'{}'", v.replace('\'', "''"))
}

impl Changed<'_> {
    /// The entity set a subscription names for this record, and the record's resource path.
    fn resources(&self) -> (String, String) {
        let company = format!("companies({})", super::DEMO_COMPANY_ID);
        match self {
            Changed::SalesOrder(id) => {
                let set = format!("api/v2.0/{company}/{}", entity::SALES_ORDERS);
                let one = format!("{set}({id})");
                (set, one)
            }
            Changed::Stock {
                item,
                variant,
                location,
            } => {
                let set = format!("api/{DEFAULT_CUSTOM_API}/{company}/{}", entity::ITEM_STOCK);
                let one = format!(
                    "{set}(itemNumber={},variantCode={},locationCode={})",
                    quote(item),
                    quote(variant),
                    quote(location)
                );
                (set, one)
            }
        }
    }
}

fn etag(s: &WebhookSubscription) -> String {
    format!("W/\"JzQ0O{}{}MTsn\"", s.id, s.version)
}

fn expires(s: &WebhookSubscription) -> String {
    (s.renewed_at + chrono::Duration::days(3)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn subscription_json(s: &WebhookSubscription) -> Value {
    json!({
        "@odata.etag": etag(s),
        "subscriptionId": s.id,
        "notificationUrl": s.notification_url,
        "resource": s.resource,
        "userId": "00000000-0000-0000-0000-000000000001",
        "lastModifiedDateTime": s.renewed_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "clientState": s.client_state,
        "expirationDateTime": expires(s),
    })
}

/// `POST subscriptions`: checks the body, validates the URL (the handshake), stores it.
pub async fn subscribe(sim: &Sim, body: &[u8]) -> Response {
    let bad = |msg: &str| odata_error(StatusCode::BAD_REQUEST, "BadRequest", msg);
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return bad("The request body is not valid JSON.");
    };
    let field = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
    let (url, resource, client_state) = (
        field("notificationUrl"),
        field("resource"),
        field("clientState"),
    );
    if url.is_empty() || resource.is_empty() {
        return bad("notificationUrl and resource are required.");
    }
    let supported = [entity::SALES_ORDERS, entity::ITEM_STOCK];
    if !supported
        .iter()
        .any(|s| resource.ends_with(&format!("/{s}")))
    {
        return bad(&format!(
            "The resource '{resource}' does not support webhooks in this simulator (salesOrders, itemStockByLocation)."
        ));
    }
    if client_state.len() > crate::config::MAX_CLIENT_STATE {
        return bad("clientState is longer than 2048 characters.");
    }
    if let Err(refused) = handshake(sim, &url).await {
        return refused;
    }
    let s = {
        let mut j = sim.journal_mut();
        let renewed_at = j.tick(&sim.world);
        let s = WebhookSubscription {
            id: format!("{:032x}", j.subscriptions.len() + 1),
            notification_url: url,
            resource,
            client_state,
            renewed_at,
            version: 1,
        };
        j.subscriptions.push(s.clone());
        s
    };
    (StatusCode::CREATED, axum::Json(subscription_json(&s))).into_response()
}

/// The validation handshake: the subscriber must echo a fresh token with a 200 within a few
/// seconds, else the subscription is refused with 400.
async fn handshake(sim: &Sim, url: &str) -> Result<(), Response> {
    let token = format!("sim-validation-{}", TOKENS.fetch_add(1, Ordering::Relaxed));
    let answer = sim
        .http
        .post(url)
        .query(&[("validationToken", token.as_str())])
        .timeout(std::time::Duration::from_secs(5))
        .send()
        .await;
    let echoed = match answer {
        Ok(r) if r.status() == reqwest::StatusCode::OK => r.text().await.ok(),
        _ => None,
    };
    if echoed.as_deref().map(str::trim) == Some(token.as_str()) {
        Ok(())
    } else {
        Err(odata_error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            &format!("The subscription was not created: the notification URL '{url}' did not return the validation token."),
        ))
    }
}

/// `PATCH subscriptions('{id}')` with `If-Match`: renews a subscription for three more days
/// (repeating the handshake).
pub async fn renew(sim: &Sim, key: &str, if_match: Option<&str>, body: &[u8]) -> Response {
    let id = key
        .strip_prefix("subscriptions(")
        .and_then(|k| k.strip_suffix(')'))
        .map(|k| k.trim_matches('\''))
        .unwrap_or("");
    let found = sim
        .journal()
        .subscriptions
        .iter()
        .find(|s| s.id == id)
        .cloned();
    let Some(current) = found else {
        return odata_error(
            StatusCode::NOT_FOUND,
            "BadRequest_NotFound",
            &format!("The subscription '{id}' does not exist."),
        );
    };
    if if_match != Some(etag(&current).as_str()) && if_match != Some("*") {
        return odata_error(
            StatusCode::PRECONDITION_FAILED,
            "Request_EntityChanged",
            "Another user has already changed the record.",
        );
    }
    let url = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| {
            v.get("notificationUrl")
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .unwrap_or(current.notification_url.clone());
    if let Err(refused) = handshake(sim, &url).await {
        return refused;
    }
    let mut j = sim.journal_mut();
    let now = j.tick(&sim.world);
    let Some(s) = j.subscriptions.iter_mut().find(|s| s.id == id) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    s.notification_url = url;
    s.renewed_at = now;
    s.version += 1;
    axum::Json(subscription_json(s)).into_response()
}

/// `GET /_sim/subscriptions`: every subscription (simulator control, for tests).
pub fn list(sim: &Sim) -> Response {
    let all: Vec<Value> = sim
        .journal()
        .subscriptions
        .iter()
        .map(subscription_json)
        .collect();
    axum::Json(json!({ "value": all })).into_response()
}

/// Sends a notification of `changed` to every subscription on its entity set, and waits for
/// the answers (so a test's control call returns after delivery). Returns how many were
/// delivered with a 2xx.
pub async fn notify(sim: &Sim, changed: Changed<'_>) -> usize {
    let (set, one) = changed.resources();
    let (targets, now) = {
        let mut j = sim.journal_mut();
        let now = j.tick(&sim.world);
        let t: Vec<WebhookSubscription> = j
            .subscriptions
            .iter()
            .filter(|s| s.resource == set)
            .cloned()
            .collect();
        (t, now)
    };
    let mut delivered = 0;
    for s in targets {
        let body = json!({ "value": [{
            "subscriptionId": s.id,
            "clientState": s.client_state,
            "expirationDateTime": expires(&s),
            "resource": one,
            "changeType": "updated",
            "lastModifiedDateTime": now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        }]});
        match sim
            .http
            .post(&s.notification_url)
            .json(&body)
            .timeout(std::time::Duration::from_secs(10))
            .send()
            .await
        {
            Ok(r) if r.status().is_success() => delivered += 1,
            Ok(r) => {
                tracing::warn!(status = %r.status(), url = %s.notification_url, "notification refused")
            }
            Err(e) => {
                tracing::warn!(error = %e, url = %s.notification_url, "notification not delivered")
            }
        }
    }
    delivered
}
