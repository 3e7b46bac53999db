//! The normalised commerce model every connector maps into. Money is exact decimal, timestamps
//! are UTC, countries, currencies and locales follow their ISO standards.

mod customer;
mod journey;
mod location;
mod money;
mod order;
mod product;
mod text;

pub use customer::*;
pub use journey::*;
pub use location::*;
pub use money::*;
pub use order::*;
pub use product::*;
pub use text::*;

use crate::ids::ConnectorName;
use serde::{Deserialize, Serialize};

/// Where a record came from: the connector instance, the vendor system and its native id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SourceRef {
    /// The configured connector instance, e.g. `crm`.
    pub connector: ConnectorName,
    /// The vendor system kind, e.g. `salesforce`.
    pub system: String,
    /// The record's id in that system.
    pub native_id: String,
}
