//! `Customer`: one person or company merged from every customer source that knows them. Each
//! field comes from the first record (in configured precedence) that has a value; `sources`
//! shows every system's own record, so disagreements stay visible.

use super::ids::{encode, NodeType};
use super::loaders::Scope;
use super::loaders::{CustomerOrders, UnifiedCustomer};
use super::location::Address;
use super::order::{Order, OrderConnection};
use super::{errors, ids, scope};
use async_graphql::connection::{Connection, Edge};
use async_graphql::{Context, Enum, InputObject, Object, Result, SimpleObject, ID};
use samlet_connector::ids::ConnectorName;
use samlet_connector::model::{self, CustomerRecord};
use std::sync::Arc;

/// Person or company.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum CustomerKind {
    /// A consumer.
    Person,
    /// A business customer.
    Company,
}

/// What a consent covers.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum ConsentChannel {
    /// Marketing e-mail.
    Email,
    /// Marketing SMS.
    Sms,
}

/// A marketing consent.
#[derive(SimpleObject, Clone)]
pub struct Consent {
    /// E-mail or SMS.
    pub channel: ConsentChannel,
    /// Whether the customer agreed.
    pub granted: bool,
    /// When it last changed.
    pub updated_at: Option<chrono::DateTime<chrono::Utc>>,
    /// The connector instance holding it.
    pub source: String,
}

/// One system's own record of the customer.
#[derive(SimpleObject, Clone)]
pub struct SourceRecord {
    /// The connector instance, e.g. `crm`.
    pub connector: String,
    /// The vendor system, e.g. `salesforce`.
    pub system: String,
    /// The record's id in that system.
    pub native_id: String,
    /// E-mail as that system holds it (normalised).
    pub email: Option<String>,
    /// Phone as that system holds it (E.164).
    pub phone: Option<String>,
    /// When that system last changed the record.
    pub updated_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// The id one system gives its own record of a customer.
#[derive(InputObject, Clone)]
pub struct ExternalIdInput {
    /// The configured connector instance, e.g. `crm` (as `sources { connector }` shows it).
    pub connector: String,
    /// The record's id in that system (as `sources { nativeId }` shows it), e.g. a Salesforce
    /// Contact Id or a Klaviyo profile id.
    pub id: String,
}

/// The longest record id any connected system uses is far below this; a longer one is a
/// mistake, answered as such rather than sent upstream.
const MAX_EXTERNAL_ID_CHARS: usize = 255;

/// The match key for `externalId`: the id, trimmed, addressed to a configured customer
/// connector. An unknown connector name, or an empty or overlong id, is bad input (told only
/// to callers who may look customers up).
pub fn external_id_key(s: &Scope, input: &ExternalIdInput) -> Result<model::MatchKey> {
    // Connector names are configuration: only callers who may look customers up learn them.
    s.may_look_up_customers()?;
    let name = input.connector.trim();
    let known: Vec<&str> = s
        .gateway
        .customers
        .iter()
        .map(|c| c.connector.as_str())
        .collect();
    if !known.contains(&name) {
        return Err(errors::user_error(
            errors::BAD_USER_INPUT,
            if known.is_empty() {
                format!("`{name}` is not a customer connector; none is configured")
            } else {
                format!(
                    "`{name}` is not a customer connector; `externalId.connector` is one of {}",
                    known
                        .iter()
                        .map(|k| format!("`{k}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            },
        ));
    }
    let id = input.id.trim();
    if id.is_empty() || id.chars().count() > MAX_EXTERNAL_ID_CHARS {
        return Err(errors::user_error(
            errors::BAD_USER_INPUT,
            format!("`externalId.id` must hold 1 to {MAX_EXTERNAL_ID_CHARS} characters"),
        ));
    }
    Ok(model::MatchKey::ExternalId {
        connector: ConnectorName::new(name),
        id: id.to_owned(),
    })
}

/// The match key a customer's global id names: its customer number, or for a customer no
/// system gave a number, `<connector>/<native id>` of the record it was found by.
pub fn node_key(s: &Scope, key: String) -> model::MatchKey {
    if let Some((connector, id)) = key.split_once('/') {
        if s.gateway
            .customers
            .iter()
            .any(|c| c.connector.as_str() == connector)
        {
            return model::MatchKey::ExternalId {
                connector: ConnectorName::new(connector),
                id: id.to_owned(),
            };
        }
    }
    model::MatchKey::CustomerNumber(samlet_connector::ids::CustomerNumber::new(key))
}

/// A customer, recognised across systems.
pub struct Customer(pub Arc<UnifiedCustomer>);

impl Customer {
    /// The value of `field` from the first record that has one, in the precedence configured
    /// for that field (else the customer sources' order).
    fn pick<T>(
        &self,
        ctx: &Context<'_>,
        field: &str,
        get: impl Fn(&CustomerRecord) -> Option<T>,
    ) -> Result<Option<T>> {
        let order: Option<&Vec<ConnectorName>> = scope(ctx)?.gateway.customer_precedence.get(field);
        let records = &self.0.records;
        if let Some(order) = order {
            for name in order {
                if let Some(v) = records
                    .iter()
                    .filter(|r| &r.source.connector == name)
                    .find_map(&get)
                {
                    return Ok(Some(v));
                }
            }
        }
        Ok(records.iter().find_map(get))
    }
}

impl Customer {
    /// Whether the marketing consent on record (the configured consent source first) allows
    /// marketing e-mail; `None` when no system holds a consent.
    pub fn marketing_consent(&self, ctx: &Context<'_>) -> Result<Option<bool>> {
        let consents = self.pick(ctx, "consents", |r| {
            (!r.consents.is_empty()).then(|| r.consents.clone())
        })?;
        Ok(consents.and_then(|list| {
            list.iter()
                .find(|c| c.channel == model::ConsentChannel::Email)
                .map(|c| c.granted)
        }))
    }
}

#[Object]
impl Customer {
    /// The wishlist, the same on every device (from the system that owns wishlists).
    async fn wishlist(&self, ctx: &Context<'_>) -> Result<Option<super::journey::Wishlist>> {
        match &self.0.number {
            Some(n) => super::journey::wishlist_of(ctx, n).await.map(Some),
            None => Ok(None),
        }
    }
    /// Personal recommendations: accessories of what the customer wishlisted and recently
    /// bought, wishlisted things weighing more, leaving out what they already have. Computed
    /// per request from their orders, wishlist and the PIM; nothing is stored.
    #[graphql(complexity = "super::limits::page_cost(first, child_complexity)")]
    async fn recommendations(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 8, validator(minimum = 0, maximum = 50))] first: i32,
    ) -> Result<Vec<super::recommend::Recommendation>> {
        match &self.0.number {
            Some(n) => super::recommend::recommendations_for(ctx, n, first as usize).await,
            None => Ok(Vec::new()),
        }
    }
    /// Loyalty vouchers.
    async fn vouchers(&self, ctx: &Context<'_>) -> Result<Vec<super::journey::Voucher>> {
        match &self.0.number {
            Some(n) => super::journey::vouchers_of(ctx, n).await,
            None => Ok(Vec::new()),
        }
    }
    /// Global id.
    pub async fn id(&self) -> ID {
        match &self.0.number {
            Some(n) => encode(NodeType::Customer, n.as_str()),
            None => encode(
                NodeType::Customer,
                &format!(
                    "{}/{}",
                    self.0.records[0].source.connector, self.0.records[0].source.native_id
                ),
            ),
        }
    }
    /// The customer number every system shares.
    async fn customer_number(&self) -> Option<&str> {
        self.0.number.as_ref().map(|n| n.as_str())
    }
    /// Person or company.
    async fn kind(&self) -> CustomerKind {
        let company = self
            .0
            .records
            .iter()
            .any(|r| r.kind == model::CustomerKind::Company);
        if company {
            CustomerKind::Company
        } else {
            CustomerKind::Person
        }
    }
    /// E-mail, normalised to lower case.
    async fn email(&self, ctx: &Context<'_>) -> Result<Option<String>> {
        self.pick(ctx, "email", |r| r.email.clone())
    }
    /// Phone in E.164.
    async fn phone(&self, ctx: &Context<'_>) -> Result<Option<String>> {
        self.pick(ctx, "phone", |r| r.phone.clone())
    }
    /// Given name.
    async fn first_name(&self, ctx: &Context<'_>) -> Result<Option<String>> {
        self.pick(ctx, "first_name", |r| r.first_name.clone())
    }
    /// Family name.
    async fn last_name(&self, ctx: &Context<'_>) -> Result<Option<String>> {
        self.pick(ctx, "last_name", |r| r.last_name.clone())
    }
    /// Company name (companies).
    async fn company_name(&self, ctx: &Context<'_>) -> Result<Option<String>> {
        self.pick(ctx, "company_name", |r| r.company_name.clone())
    }
    /// Loyalty club member number.
    async fn loyalty_number(&self, ctx: &Context<'_>) -> Result<Option<String>> {
        self.pick(ctx, "loyalty_number", |r| r.loyalty_number.clone())
    }
    /// Loyalty tier, e.g. `GOLD`.
    async fn loyalty_tier(&self, ctx: &Context<'_>) -> Result<Option<String>> {
        self.pick(ctx, "loyalty_tier", |r| r.loyalty_tier.clone())
    }
    /// Price group, e.g. `B2B`.
    async fn customer_group(&self, ctx: &Context<'_>) -> Result<Option<String>> {
        self.pick(ctx, "customer_group", |r| {
            r.customer_group.as_ref().map(|g| g.to_string())
        })
    }
    /// Postal address.
    async fn address(&self, ctx: &Context<'_>) -> Result<Option<Address>> {
        self.pick(ctx, "address", |r| r.address.as_ref().map(Address::from))
    }
    /// Marketing consents, from the first system that holds any.
    async fn consents(&self, ctx: &Context<'_>) -> Result<Vec<Consent>> {
        let picked = self.pick(ctx, "consents", |r| {
            (!r.consents.is_empty()).then(|| (r.source.connector.clone(), r.consents.clone()))
        })?;
        Ok(picked
            .map(|(src, list)| {
                list.into_iter()
                    .map(|c| Consent {
                        channel: match c.channel {
                            model::ConsentChannel::Email => ConsentChannel::Email,
                            model::ConsentChannel::Sms => ConsentChannel::Sms,
                        },
                        granted: c.granted,
                        updated_at: c.updated_at,
                        source: src.to_string(),
                    })
                    .collect()
            })
            .unwrap_or_default())
    }
    /// Every system's own record of this customer.
    async fn sources(&self) -> Vec<SourceRecord> {
        self.0
            .records
            .iter()
            .map(|r| SourceRecord {
                connector: r.source.connector.to_string(),
                system: r.source.system.clone(),
                native_id: r.source.native_id.clone(),
                email: r.email.clone(),
                phone: r.phone.clone(),
                updated_at: r.updated_at,
            })
            .collect()
    }
    /// The customer's orders, newest first (at most `server.max_list_size` per page).
    #[graphql(complexity = "super::limits::page_cost(first, child_complexity)")]
    async fn orders(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 10, validator(minimum = 0))] first: i32,
        after: Option<String>,
    ) -> Result<OrderConnection> {
        let Some(number) = &self.0.number else {
            return Ok(Connection::new(false, false));
        };
        let offset: usize = match after {
            None => 0,
            Some(c) => ids::decode_cursor(&c)
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| {
                    errors::user_error(
                        errors::BAD_USER_INPUT,
                        "`after` is not a cursor from this connection",
                    )
                })?,
        };
        let first = first as usize;
        let s = scope(ctx)?;
        s.may_access(Some(number))?;
        let orders = s
            .loader
            .load_one(CustomerOrders(number.clone(), offset + first + 1))
            .await
            .map_err(|e| errors::connector_error(&e))?
            .unwrap_or_default();
        let mut conn = Connection::new(offset > 0, orders.len() > offset + first);
        conn.edges.extend(
            orders
                .iter()
                .enumerate()
                .skip(offset)
                .take(first)
                .map(|(i, o)| {
                    Edge::new(
                        ids::encode_cursor(&(i + 1).to_string()),
                        Order(Arc::new(o.clone())),
                    )
                }),
        );
        Ok(conn)
    }
}

/// The best customer `key` finds, recognised across every customer source. When some sources
/// fail but others answer, the customer is returned with an error per failed source on this
/// path (a partial answer); when all that could answer failed, the field fails.
pub async fn find(ctx: &Context<'_>, key: model::MatchKey) -> Result<Option<Customer>> {
    let s = scope(ctx)?;
    s.may_look_up_customers()?;
    // A customer may only find themselves; asking for anyone else gets the same answer
    // whether that person exists or not (no way to probe who is a customer).
    let own_only = matches!(s.caller(), samlet_connector::context::Caller::Customer(_));
    let found = s
        .loader
        .load_one(key)
        .await
        .map_err(|e| errors::connector_error(&e))?;
    let Some(found) = found else {
        return if own_only {
            s.may_access(None).map(|_| None)
        } else {
            Ok(None)
        };
    };
    match found.customers.first() {
        Some(c) => {
            s.may_access(c.number.as_ref())?;
            if let Some(n) = &c.number {
                s.recognised
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(n.clone());
            }
            for f in &found.failures {
                ctx.add_error(
                    ctx.set_error_path(errors::connector_error(f).into_server_error(ctx.item.pos)),
                );
            }
            Ok(Some(Customer(c.clone())))
        }
        None => match found.failures.first() {
            Some(f) => Err(errors::connector_error(f)),
            None if own_only => s.may_access(None).map(|_| None),
            None => Ok(None),
        },
    }
}
