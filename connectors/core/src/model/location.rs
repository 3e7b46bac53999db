//! Stores and warehouses, and stock per location.

use crate::ids::LocationId;
use serde::{Deserialize, Serialize};

/// A postal address.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Address {
    /// Street and number.
    pub street: String,
    /// Postal code.
    pub postal_code: String,
    /// City.
    pub city: String,
    /// ISO 3166-1 alpha-2 country code.
    pub country: String,
}

/// What a location is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LocationKind {
    /// A physical store customers visit.
    Store,
    /// A warehouse that ships online orders.
    Warehouse,
}

/// A store or warehouse.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Location {
    /// The location code, e.g. `DK-CPH`.
    pub id: LocationId,
    /// Display name.
    pub name: String,
    /// Store or warehouse.
    pub kind: LocationKind,
    /// Postal address.
    pub address: Address,
    /// Whether customers can collect online orders here.
    pub click_and_collect: bool,
}

/// Stock of one variant at one location.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct StockLevel {
    /// Where.
    pub location: LocationId,
    /// Units physically present.
    pub on_hand: i64,
    /// Units promised to open orders.
    pub reserved: i64,
}

impl StockLevel {
    /// Units that can still be sold (never negative).
    pub fn available(&self) -> i64 {
        (self.on_hand - self.reserved).max(0)
    }
}
