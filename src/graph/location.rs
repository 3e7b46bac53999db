//! `Location` (stores and warehouses) and `StockLevel`.

use super::ids::{encode, NodeType};
use super::loaders::{AllLocations, Cached};
use super::{errors, scope};
use async_graphql::{Context, Enum, Object, Result, SimpleObject, ID};
use samlet_connector::model;

/// Store or warehouse.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum LocationKind {
    /// A store customers visit.
    Store,
    /// A warehouse that ships online orders.
    Warehouse,
}

/// A postal address.
#[derive(SimpleObject, Clone)]
pub struct Address {
    /// Street and number.
    pub street: String,
    /// Postal code.
    pub postal_code: String,
    /// City.
    pub city: String,
    /// ISO 3166-1 alpha-2 country code.
    pub country_code: String,
}

impl From<&model::Address> for Address {
    fn from(a: &model::Address) -> Address {
        Address {
            street: a.street.clone(),
            postal_code: a.postal_code.clone(),
            city: a.city.clone(),
            country_code: a.country.clone(),
        }
    }
}

/// A store or warehouse.
pub struct Location(pub model::Location);

#[Object]
impl Location {
    /// Global id.
    pub async fn id(&self) -> ID {
        encode(NodeType::Location, self.0.id.as_str())
    }
    /// Location code, e.g. `DK-CPH`.
    async fn code(&self) -> &str {
        self.0.id.as_str()
    }
    /// Display name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Store or warehouse.
    async fn kind(&self) -> LocationKind {
        match self.0.kind {
            model::LocationKind::Store => LocationKind::Store,
            model::LocationKind::Warehouse => LocationKind::Warehouse,
        }
    }
    /// Postal address.
    async fn address(&self) -> Address {
        (&self.0.address).into()
    }
    /// Whether online orders can be collected here.
    async fn click_and_collect(&self) -> bool {
        self.0.click_and_collect
    }
}

/// All locations, through the locations capability.
pub async fn all(ctx: &Context<'_>) -> Result<std::sync::Arc<Vec<model::Location>>> {
    let s = scope(ctx)?;
    let found = s
        .loader
        .load_one(AllLocations)
        .await
        .map_err(|e| errors::connector_error(&e))?;
    s.mark_if_stale(
        ctx,
        &Cached::Locations,
        s.gateway.locations.connector.as_str(),
    );
    Ok(found.unwrap_or_default())
}

/// Stock of one variant at one location.
pub struct StockLevel(pub model::StockLevel);

#[Object]
impl StockLevel {
    /// The location.
    async fn location(&self, ctx: &Context<'_>) -> Result<Option<Location>> {
        Ok(all(ctx)
            .await?
            .iter()
            .find(|l| l.id == self.0.location)
            .cloned()
            .map(Location))
    }
    /// The location's code.
    async fn location_code(&self) -> &str {
        self.0.location.as_str()
    }
    /// Units on hand.
    async fn on_hand(&self) -> i64 {
        self.0.on_hand
    }
    /// Units reserved for open orders.
    async fn reserved(&self) -> i64 {
        self.0.reserved
    }
    /// Units that can be sold.
    async fn available(&self) -> i64 {
        self.0.available()
    }
}
