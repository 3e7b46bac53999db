//! The public GraphQL graph: thin types that hold a key or a loaded model value and resolve
//! everything else through the request's loaders.

pub mod access;
pub mod batch;
pub mod customer;
pub mod errors;
pub mod ids;
pub mod journey;
pub mod limits;
pub mod loaders;
pub mod location;
pub mod money;
pub mod order;
pub mod persisted;
pub mod product;
pub mod recommend;
pub mod subscription;

use crate::config::ServerConfig;
use async_graphql::connection::{Connection, Edge};
use async_graphql::extensions::apollo_persisted_queries::ApolloPersistedQueries;
use async_graphql::{Context, Interface, Object, Result, Schema, ID};
use customer::Customer;
use ids::NodeType;
use loaders::{Cached, ProductBySku, Scope};
use location::Location;
use order::Order;
use product::{Product, Variant};
use samlet_connector::ids::{CustomerNumber, LocationId, OrderNumber, ProductId, Sku};
use samlet_connector::model::{normalize_phone, MatchKey};
use samlet_connector::paging::PageRequest;
use std::sync::Arc;

/// The schema type.
pub type CommerceSchema = Schema<Query, journey::Mutation, subscription::Subscription>;

/// The most vendor pages one `products` page may walk (vendors with tiny page caps).
const MAX_VENDOR_PAGES: usize = 100;

/// The request scope of a resolver.
pub fn scope<'a>(ctx: &Context<'a>) -> Result<&'a Scope> {
    ctx.data::<Scope>()
}

/// Anything with a global id.
#[derive(Interface)]
#[graphql(field(name = "id", ty = "ID", desc = "Global id."))]
pub enum Node {
    /// A product.
    Product(Product),
    /// A variant.
    Variant(Variant),
    /// A customer.
    Customer(Customer),
    /// An order.
    Order(Order),
    /// A location.
    Location(Location),
}

/// The request context as the gateway resolved it from headers and defaults.
pub struct RequestContextView;

#[Object]
impl RequestContextView {
    /// Channel, from the `samlet-channel` header.
    async fn channel(&self, ctx: &Context<'_>) -> Result<&str> {
        Ok(scope(ctx)?.cx.channel.as_str())
    }
    /// Store code, from the `samlet-store` header.
    async fn store(&self, ctx: &Context<'_>) -> Result<Option<String>> {
        Ok(scope(ctx)?.cx.store.as_ref().map(|s| s.to_string()))
    }
    /// Locale, from `samlet-locale` or `Accept-Language`.
    async fn locale(&self, ctx: &Context<'_>) -> Result<String> {
        Ok(scope(ctx)?.cx.locale.to_string())
    }
    /// Currency, from the `samlet-currency` header.
    async fn currency_code(&self, ctx: &Context<'_>) -> Result<String> {
        Ok(scope(ctx)?.cx.currency.to_string())
    }
    /// Customer group, from the `samlet-customer-group` header.
    async fn customer_group(&self, ctx: &Context<'_>) -> Result<Option<String>> {
        Ok(scope(ctx)?
            .cx
            .customer_group
            .as_ref()
            .map(|g| g.to_string()))
    }
}

/// Read access to customers, products, orders and locations.
pub struct Query;

fn bad_input(message: impl Into<String>) -> async_graphql::Error {
    errors::user_error(errors::BAD_USER_INPUT, message)
}

async fn product_by_id(ctx: &Context<'_>, id: ProductId) -> Result<Option<Product>> {
    let s = scope(ctx)?;
    let p = s
        .loader
        .load_one(id.clone())
        .await
        .map_err(|e| errors::connector_error(&e))?;
    s.mark_if_stale(
        ctx,
        &Cached::Product(id),
        s.gateway.products.connector.as_str(),
    );
    Ok(p.map(Product::new))
}

async fn variant_by_sku(ctx: &Context<'_>, sku: Sku) -> Result<Option<Variant>> {
    let s = scope(ctx)?;
    let p = s
        .loader
        .load_one(ProductBySku(sku.clone()))
        .await
        .map_err(|e| errors::connector_error(&e))?;
    s.mark_if_stale(
        ctx,
        &Cached::ProductBySku(sku.clone()),
        s.gateway.products.connector.as_str(),
    );
    Ok(p.map(|product| Variant { product, sku }))
}

async fn order_by_number(ctx: &Context<'_>, number: OrderNumber) -> Result<Option<Order>> {
    let s = scope(ctx)?;
    s.may_look_up_customers()?;
    let o = s
        .loader
        .load_one(number)
        .await
        .map_err(|e| errors::connector_error(&e))?;
    if let Some(o) = &o {
        s.may_access(Some(&o.customer))?;
    }
    Ok(o.map(Order))
}

async fn location_by_code(ctx: &Context<'_>, code: &LocationId) -> Result<Option<Location>> {
    Ok(location::all(ctx)
        .await?
        .iter()
        .find(|l| &l.id == code)
        .cloned()
        .map(Location))
}

#[Object]
impl Query {
    /// Any object by its global id.
    async fn node(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Node>> {
        let (t, key) =
            ids::decode(&id).ok_or_else(|| bad_input("`id` is not a global id from this graph"))?;
        Ok(match t {
            NodeType::Product => product_by_id(ctx, ProductId::new(key))
                .await?
                .map(Node::Product),
            NodeType::Variant => variant_by_sku(ctx, Sku::new(key)).await?.map(Node::Variant),
            NodeType::Customer => customer::find(ctx, customer::node_key(scope(ctx)?, key))
                .await?
                .map(Node::Customer),
            NodeType::Order => order_by_number(ctx, OrderNumber::new(key))
                .await?
                .map(Node::Order),
            NodeType::Location => location_by_code(ctx, &LocationId::new(key))
                .await?
                .map(Node::Location),
        })
    }

    /// A product by its code, or the product holding a SKU. When the query asks for price or
    /// stock by SKU, those calls start at once beside the PIM call instead of after it.
    async fn product(
        &self,
        ctx: &Context<'_>,
        code: Option<String>,
        sku: Option<String>,
    ) -> Result<Option<Product>> {
        match (code, sku) {
            (Some(code), None) => product_by_id(ctx, ProductId::new(code)).await,
            (None, Some(sku)) => {
                let s = scope(ctx)?;
                let sku = Sku::new(sku);
                let (price, stock) = product::wanted(&ctx.look_ahead());
                // The SKU is known now: price and stock start beside the PIM call.
                let (found, _) = futures::join!(
                    s.loader.load_one(ProductBySku(sku.clone())),
                    product::prefetch(ctx, std::slice::from_ref(&sku), price, stock),
                );
                let found = found.map_err(|e| errors::connector_error(&e))?;
                s.mark_if_stale(
                    ctx,
                    &Cached::ProductBySku(sku.clone()),
                    s.gateway.products.connector.as_str(),
                );
                Ok(found.map(|p| Product::selected(p, sku)))
            }
            _ => Err(bad_input("give exactly one of `code` or `sku`")),
        }
    }

    /// The catalogue, a page at a time, in the PIM's order (at most `server.max_list_size` per
    /// page).
    #[graphql(complexity = "limits::page_cost(first, child_complexity)")]
    async fn products(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20, validator(minimum = 1))] first: i32,
        after: Option<String>,
    ) -> Result<Connection<String, Product>> {
        let s = scope(ctx)?;
        // A cursor is "<vendor continuation>|<items to skip>", so every edge can be resumed from.
        let (vendor_after, skip) = match after {
            None => (None, 0usize),
            Some(c) => {
                let raw = ids::decode_cursor(&c)
                    .ok_or_else(|| bad_input("`after` is not a cursor from this connection"))?;
                let (v, n) = raw
                    .rsplit_once('|')
                    .ok_or_else(|| bad_input("`after` is not a cursor from this connection"))?;
                let n = n
                    .parse()
                    .map_err(|_| bad_input("`after` is not a cursor from this connection"))?;
                ((!v.is_empty()).then(|| v.to_owned()), n)
            }
        };
        let first = first as usize;
        // Vendors may answer fewer items than asked (their page cap): follow their pages until
        // the connection is full. Each item remembers where the page after it starts: its
        // vendor page and how many of that page's items to skip.
        let mut items: Vec<(String, usize, samlet_connector::model::Product)> =
            Vec::with_capacity(first);
        let mut page_start = vendor_after.clone();
        let mut to_skip = skip;
        let mut has_next = false;
        for _ in 0..MAX_VENDOR_PAGES {
            let want = to_skip + (first - items.len());
            let products = &s.gateway.products;
            let request = PageRequest {
                first: want,
                after: page_start.clone(),
            };
            let page = crate::trace::call(
                samlet_connector::capability::Capability::Products,
                &products.connector,
                products.source.list_products(&s.cx, &request),
            )
            .await
            .map_err(|e| errors::connector_error(&e))?;
            let n = page.items.len();
            let start = page_start.clone().unwrap_or_default();
            for (i, p) in page.items.into_iter().enumerate().skip(to_skip) {
                if items.len() == first {
                    has_next = true;
                    break;
                }
                // After the last item of a vendor page, the next page starts clean: a client
                // paging with `endCursor` then costs one vendor page per connection page, not
                // ever longer prefixes to skip.
                let (resume, skip) = match &page.next {
                    Some(next) if i + 1 == n => (next.clone(), 0),
                    _ => (start.clone(), i + 1),
                };
                items.push((resume, skip, p));
            }
            to_skip = to_skip.saturating_sub(n);
            match page.next {
                Some(next) if items.len() < first && n > 0 => page_start = Some(next),
                Some(_) => {
                    has_next = true;
                    break;
                }
                None => break,
            }
        }
        let mut conn = Connection::new(skip > 0 || vendor_after.is_some(), has_next);
        // One batch per upstream for the whole page, whatever the executor's timing.
        let ahead = ctx.look_ahead();
        let (price, stock) = product::wanted(&ahead.field("edges").field("node"));
        let (price2, stock2) = product::wanted(&ahead.field("nodes"));
        let skus: Vec<Sku> = items
            .iter()
            .filter_map(|(_, _, p)| p.variants.first().map(|v| v.sku.clone()))
            .collect();
        product::prefetch(ctx, &skus, price || price2, stock || stock2).await;
        for (resume, skip, p) in items {
            let cursor = format!("{resume}|{skip}");
            conn.edges.push(Edge::new(
                ids::encode_cursor(&cursor),
                Product::new(Arc::new(p)),
            ));
        }
        Ok(conn)
    }

    /// A customer by any match key: customer number, e-mail (any casing), phone (any common
    /// format; national numbers in the configured default country), loyalty number, or the id
    /// one system gives its record of them (`externalId`, as `sources { connector nativeId }`
    /// shows it). Every system's record of that customer comes back, whichever key found them.
    async fn customer(
        &self,
        ctx: &Context<'_>,
        customer_number: Option<String>,
        email: Option<String>,
        phone: Option<String>,
        loyalty_number: Option<String>,
        external_id: Option<customer::ExternalIdInput>,
    ) -> Result<Option<Customer>> {
        let s = scope(ctx)?;
        let key = match (customer_number, email, phone, loyalty_number, external_id) {
            (Some(n), None, None, None, None) => {
                MatchKey::CustomerNumber(CustomerNumber::new(n.trim()))
            }
            (None, Some(e), None, None, None) => MatchKey::email(&e)
                .ok_or_else(|| bad_input(format!("`{e}` is not an e-mail address")))?,
            (None, None, Some(p), None, None) => MatchKey::Phone(
                normalize_phone(&p, &s.gateway.defaults.phone_country)
                    .ok_or_else(|| bad_input(format!("`{p}` is not a phone number")))?,
            ),
            (None, None, None, Some(l), None) => MatchKey::LoyaltyNumber(l.trim().to_owned()),
            (None, None, None, None, Some(x)) => customer::external_id_key(s, &x)?,
            _ => {
                return Err(bad_input(
                    "give exactly one of `customerNumber`, `email`, `phone`, `loyaltyNumber` or `externalId`",
                ))
            }
        };
        customer::find(ctx, key).await
    }

    /// The signed-in customer (null for any other caller).
    async fn me(&self, ctx: &Context<'_>) -> Result<Option<Customer>> {
        match scope(ctx)?.caller() {
            samlet_connector::context::Caller::Customer(n) => {
                customer::find(ctx, MatchKey::CustomerNumber(n.clone())).await
            }
            _ => Ok(None),
        }
    }

    /// An order by number.
    async fn order(&self, ctx: &Context<'_>, number: String) -> Result<Option<Order>> {
        order_by_number(ctx, OrderNumber::new(number)).await
    }

    /// Every store and warehouse.
    async fn locations(&self, ctx: &Context<'_>) -> Result<Vec<Location>> {
        Ok(location::all(ctx)
            .await?
            .iter()
            .cloned()
            .map(Location)
            .collect())
    }

    /// A location by code, e.g. `DK-CPH`.
    async fn location(&self, ctx: &Context<'_>, code: String) -> Result<Option<Location>> {
        location_by_code(ctx, &LocationId::new(code)).await
    }

    /// An offer by its quote number.
    async fn offer(&self, ctx: &Context<'_>, number: String) -> Result<Option<journey::Offer>> {
        journey::offer(ctx, &number).await
    }

    /// A loyalty voucher by code (any channel may check one before redeeming it).
    async fn voucher(&self, ctx: &Context<'_>, code: String) -> Result<Option<journey::Voucher>> {
        journey::voucher(ctx, &code).await
    }

    /// Where a basket can be collected: every location with whether it has every line in the
    /// quantity asked, stores in the request's store's country first.
    async fn basket_availability(
        &self,
        ctx: &Context<'_>,
        lines: Vec<journey::LineInput>,
    ) -> Result<Vec<journey::StoreAvailability>> {
        journey::basket_availability(ctx, lines).await
    }

    /// The request context the gateway resolved (channel, store, locale, currency).
    async fn context(&self) -> RequestContextView {
        RequestContextView
    }

    // Apollo Federation entities (`_entities`): another subgraph's reference to a product,
    // variant, customer, order or store resolves here, through the same loaders and the same
    // access checks as the fields above.

    #[graphql(entity)]
    async fn find_product_by_code(
        &self,
        ctx: &Context<'_>,
        code: String,
    ) -> Result<Option<Product>> {
        product_by_id(ctx, ProductId::new(code)).await
    }

    #[graphql(entity)]
    async fn find_variant_by_sku(&self, ctx: &Context<'_>, sku: String) -> Result<Option<Variant>> {
        variant_by_sku(ctx, Sku::new(sku)).await
    }

    #[graphql(entity)]
    async fn find_customer_by_customer_number(
        &self,
        ctx: &Context<'_>,
        customer_number: String,
    ) -> Result<Option<Customer>> {
        customer::find(
            ctx,
            MatchKey::CustomerNumber(CustomerNumber::new(customer_number)),
        )
        .await
    }

    #[graphql(entity)]
    async fn find_order_by_number(
        &self,
        ctx: &Context<'_>,
        number: String,
    ) -> Result<Option<Order>> {
        order_by_number(ctx, OrderNumber::new(number)).await
    }

    #[graphql(entity)]
    async fn find_location_by_code(
        &self,
        ctx: &Context<'_>,
        code: String,
    ) -> Result<Option<Location>> {
        location_by_code(ctx, &LocationId::new(code)).await
    }
}

/// Lists the fields answered from stale cache entries under the response's
/// `extensions.stale` (`[{ path, connector, ageSeconds }]`, at most
/// [`loaders::MAX_STALE_PATHS`]; `extensions.staleOmitted` counts the rest).
pub fn mark_stale(resp: &mut async_graphql::Response, log: &loaders::StaleLog) {
    if let Some((list, omitted)) = log.take() {
        if let Ok(v) = async_graphql::Value::from_json(list) {
            resp.extensions.insert("stale".into(), v);
        }
        if omitted > 0 {
            resp.extensions
                .insert("staleOmitted".into(), async_graphql::Value::from(omitted));
        }
    }
}

/// Builds the schema with the server's limits; persisted queries are shared through `redis`
/// when given.
pub fn build_schema(
    server: &ServerConfig,
    redis: Option<Arc<crate::replicas::Redis>>,
) -> CommerceSchema {
    let mut b = Schema::build(Query, journey::Mutation, subscription::Subscription)
        .register_output_type::<Node>()
        .limit_depth(server.max_depth)
        .extension(limits::Documents::new(limits::DocumentLimits {
            max_aliases: server.max_aliases,
            max_selections: server.max_selections,
            max_list_size: server.max_list_size,
        }))
        .limit_complexity(server.max_complexity);
    b = match (server.persisted_queries, &server.safelist_operations) {
        // Automatic persisted queries: clients send a query's hash instead of its text.
        (persisted::PersistedQueries::Automatic, _) => b.extension(ApolloPersistedQueries::new(
            crate::replicas::PersistedQueries::new(redis),
        )),
        (persisted::PersistedQueries::Safelist, Some(list)) => {
            b.extension(persisted::Gate::Safelist(list.clone()))
        }
        // A safelist without its manifest (a config built in code) allows nothing.
        (persisted::PersistedQueries::Safelist, None) => b.extension(persisted::Gate::Safelist(
            Arc::new(persisted::Safelist::empty()),
        )),
        (persisted::PersistedQueries::Off, _) => b.extension(persisted::Gate::Off),
    };
    // Names the request's trace span after its operation.
    b = b.extension(crate::trace::OperationNames);
    if !server.introspection {
        b = b.disable_introspection();
    }
    if server.federation {
        b = b.enable_federation();
    }
    b.finish()
}

/// The schema's SDL, as checked in at `schema/commerce.graphql`.
pub fn sdl() -> String {
    Schema::build(Query, journey::Mutation, subscription::Subscription)
        .register_output_type::<Node>()
        .finish()
        .sdl()
}
