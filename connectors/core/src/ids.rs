//! Identifier newtypes: no bare `String` key crosses a crate boundary.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl $name {
            /// Wraps a raw identifier.
            pub fn new(raw: impl Into<String>) -> Self {
                Self(raw.into())
            }
            /// The raw identifier.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&str> for $name {
            fn from(raw: &str) -> Self {
                Self(raw.to_owned())
            }
        }
    };
}

id_type!(
    /// A sellable variant's stock-keeping unit, shared by PIM, ERP and commerce systems.
    Sku
);
id_type!(
    /// A product (the parent of its variants), e.g. an Akeneo product model code.
    ProductId
);
id_type!(
    /// A location: a store or a warehouse, e.g. `DK-CPH` or `WH-ONLINE`.
    LocationId
);
id_type!(
    /// The customer number every system of record shares for one person or company
    /// (Salesforce external id field, Klaviyo `external_id`, Business Central customer number).
    CustomerNumber
);
id_type!(
    /// An order number as the order's system of record knows it.
    OrderNumber
);
id_type!(
    /// The name of a configured connector instance, e.g. `crm` or `salesforce`.
    ConnectorName
);
id_type!(
    /// A customer group that prices can depend on, e.g. `B2B`.
    CustomerGroup
);
