//! `WishlistStore` over a custom object the retailer creates (`Wishlist_Item__c` by default):
//! one record per customer and SKU, with a lookup to the person's Contact or the company's
//! Account, the customer number, the SKU, when and from which channel it was added, and a
//! unique external id `Samlet_Key__c = "<customer number>|<sku>"`.
//!
//! Why the calls are shaped as they are:
//! - **Reading** is one SOQL query by customer number, oldest first, following
//!   `nextRecordsUrl`.
//! - **Adding** reads first, in one composite call that also finds the customer's Contact and
//!   Account ids (the lookup the record needs). An item already on the list is left alone: an
//!   upsert on an existing record would overwrite `Added_At__c` and `Channel__c` with this
//!   request's values, and adding what is there must change nothing. Otherwise the item is
//!   upserted by its external id (`PATCH …/sobjects/Wishlist_Item__c/Samlet_Key__c/{key}`),
//!   which can never make a second record for the same customer and SKU, whatever request
//!   or retry sends it. So the request's idempotency key is not needed: the external id is
//!   the idempotency key, derived from what is added. The body is fixed before the first
//!   attempt, so a retried PATCH (the answer to the first lost) writes the same values again.
//! - **Removing** reads the list; an item not on it needs no call. Otherwise the row is
//!   deleted by its external id (or by record id for a row made outside Samlet without one);
//!   a 404 `NOT_FOUND` (someone removed it meanwhile) counts as done.
//!
//! Add costs 2 API calls (1 if the item is already there); remove 2 (1 if it is not there);
//! reading 1 per 2,000 items.

use crate::client::SalesforceClient;
use crate::config::{FieldNames, WishlistNames};
use crate::mapping::{self, WishRow};
use crate::soql::{self, SObject, MAX_LITERAL_CHARS};
use chrono::{DateTime, Utc};
use samlet_connector::prelude::*;
use serde_json::{Map, Value};
use std::sync::Arc;

/// Joins the customer number and the SKU in the external id.
pub(crate) const KEY_SEPARATOR: char = '|';

/// Wishlists in one Salesforce org.
pub(crate) struct SalesforceWishlists {
    client: Arc<SalesforceClient>,
    fields: FieldNames,
    names: WishlistNames,
}

/// `<customer number>|<sku>`: the external id of a customer's item.
pub(crate) fn item_key(customer: &CustomerNumber, sku: &Sku) -> String {
    format!("{}{KEY_SEPARATOR}{}", customer.as_str(), sku.as_str())
}

/// Now, to the millisecond Salesforce keeps, so the item answered equals the item read back.
fn now_millis() -> DateTime<Utc> {
    let now = Utc::now();
    DateTime::from_timestamp_millis(now.timestamp_millis()).unwrap_or(now)
}

impl SalesforceWishlists {
    pub(crate) fn new(
        client: Arc<SalesforceClient>,
        fields: FieldNames,
        names: WishlistNames,
    ) -> SalesforceWishlists {
        SalesforceWishlists {
            client,
            fields,
            names,
        }
    }

    fn error(&self, kind: ErrorKind, message: impl Into<String>) -> ConnectorError {
        ConnectorError::new(kind, self.client.name(), message)
    }

    /// The external id, if it fits the 255-character text field.
    fn key(&self, customer: &CustomerNumber, sku: &Sku) -> Result<String, ConnectorError> {
        let key = item_key(customer, sku);
        if customer.as_str().is_empty() || sku.as_str().is_empty() {
            return Err(self.error(
                ErrorKind::BadRequest,
                "a wishlist item needs a customer number and a SKU",
            ));
        }
        if key.chars().count() > MAX_LITERAL_CHARS {
            return Err(self.error(
                ErrorKind::BadRequest,
                format!(
                    "customer number and SKU are too long for {} ({MAX_LITERAL_CHARS} characters)",
                    self.names.key
                ),
            ));
        }
        Ok(key)
    }

    fn rows_of(&self, rows: &[mapping::Row]) -> Result<Vec<WishRow>, ConnectorError> {
        mapping::wish_rows(&self.names, rows).map_err(|m| {
            self.error(
                ErrorKind::InvalidResponse,
                format!("{} record: {m}", self.names.object),
            )
        })
    }

    /// The customer's rows, oldest first: one query.
    async fn rows(&self, customer: &CustomerNumber) -> Result<Vec<WishRow>, ConnectorError> {
        let q = soql::wishlist(&self.names, customer.as_str());
        let rows = self.client.query_all(&[q.as_str()]).await?;
        self.rows_of(rows.first().map_or(&[][..], Vec::as_slice))
    }

    /// [`Self::rows`], or none without a call for a number no record can hold.
    async fn rows_or_empty(
        &self,
        customer: &CustomerNumber,
    ) -> Result<Vec<WishRow>, ConnectorError> {
        let n = customer.as_str();
        if n.is_empty() || n.chars().count() > MAX_LITERAL_CHARS {
            return Ok(Vec::new());
        }
        self.rows(customer).await
    }

    /// The fields of a new item, with the lookup to whoever owns the list.
    fn body(
        &self,
        owner: (&str, &str),
        customer: &CustomerNumber,
        sku: &Sku,
        added_at: DateTime<Utc>,
        channel: Channel,
    ) -> Value {
        let n = &self.names;
        let mut m = Map::new();
        m.insert(owner.0.to_owned(), Value::String(owner.1.to_owned()));
        m.insert(n.customer_number.clone(), customer.as_str().into());
        m.insert(n.sku.clone(), sku.as_str().into());
        m.insert(
            n.added_at.clone(),
            added_at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string().into(),
        );
        m.insert(n.channel.clone(), channel.as_str().into());
        Value::Object(m)
    }
}

fn first_id(rows: &[mapping::Row]) -> Option<&str> {
    rows.iter()
        .find_map(|r| r.get(mapping::ID).and_then(Value::as_str))
        .filter(|id| !id.is_empty())
}

#[async_trait]
impl WishlistStore for SalesforceWishlists {
    async fn wishlist(
        &self,
        _cx: &RequestContext,
        customer: &CustomerNumber,
    ) -> ConnectorResult<Wishlist> {
        let rows = self.rows_or_empty(customer).await?;
        Ok(mapping::wishlist(customer, &rows))
    }

    async fn add_to_wishlist(
        &self,
        cx: &RequestContext,
        customer: &CustomerNumber,
        sku: &Sku,
        _idempotency_key: &str,
    ) -> ConnectorResult<Wishlist> {
        let key = self.key(customer, sku)?;
        let statements = [
            soql::wishlist(&self.names, customer.as_str()),
            soql::owner(SObject::Contact, &self.fields, customer.as_str()),
            soql::owner(SObject::Account, &self.fields, customer.as_str()),
        ];
        let refs: Vec<&str> = statements.iter().map(String::as_str).collect();
        let results = self.client.query_all(&refs).await?;
        let [items, contacts, accounts] =
            <[Vec<mapping::Row>; 3]>::try_from(results).map_err(|_| {
                self.error(
                    ErrorKind::InvalidResponse,
                    "composite: expected three query results",
                )
            })?;
        let mut rows = self.rows_of(&items)?;
        if rows.iter().any(|r| r.item.sku == *sku) {
            return Ok(mapping::wishlist(customer, &rows));
        }
        // A person's number is on their Contact, a company's on its Account.
        let owner = match (first_id(&contacts), first_id(&accounts)) {
            (Some(id), _) => (self.names.contact.as_str(), id),
            (None, Some(id)) => (self.names.account.as_str(), id),
            (None, None) => {
                return Err(self.error(
                    ErrorKind::NotFound,
                    format!("customer {customer} has no Contact or Account in the CRM"),
                ))
            }
        };
        let added_at = now_millis();
        let body = self.body(owner, customer, sku, added_at, cx.channel);
        let done = self
            .client
            .upsert(&self.names.object, &self.names.key, &key, &body)
            .await?;
        match (done.created, done.id) {
            (true, Some(id)) => {
                let row = WishRow {
                    id,
                    key: Some(key),
                    item: WishlistItem {
                        sku: sku.clone(),
                        added_at,
                        channel: Some(cx.channel),
                    },
                };
                // Where `ORDER BY Added_At__c, Id` puts it.
                let at = rows
                    .iter()
                    .position(|r| (r.item.added_at, &r.id) > (row.item.added_at, &row.id))
                    .unwrap_or(rows.len());
                rows.insert(at, row);
            }
            // Someone added it between the read and the upsert: read what is there now.
            _ => rows = self.rows(customer).await?,
        }
        Ok(mapping::wishlist(customer, &rows))
    }

    async fn remove_from_wishlist(
        &self,
        _cx: &RequestContext,
        customer: &CustomerNumber,
        sku: &Sku,
    ) -> ConnectorResult<Wishlist> {
        let key = item_key(customer, sku);
        let mut rows = self.rows_or_empty(customer).await?;
        let (gone, kept): (Vec<WishRow>, Vec<WishRow>) =
            rows.drain(..).partition(|r| r.item.sku == *sku);
        for row in &gone {
            if row.key.as_deref() == Some(key.as_str()) {
                self.client
                    .delete(&self.names.object, Some(&self.names.key), &key)
                    .await?;
            } else {
                self.client
                    .delete(&self.names.object, None, &row.id)
                    .await?;
            }
        }
        Ok(mapping::wishlist(customer, &kept))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_joins_number_and_sku() {
        assert_eq!(
            item_key(&CustomerNumber::new("C0000012"), &Sku::new("P000042-GREEN")),
            "C0000012|P000042-GREEN"
        );
    }

    #[test]
    fn added_at_keeps_milliseconds_only() {
        let t = now_millis();
        assert_eq!(t.timestamp_subsec_nanos() % 1_000_000, 0);
    }
}
