//! `samlet-connector`: the contract between the Samlet gateway and the systems it fronts.
//!
//! A connector maps one vendor's API into the normalised [`model`] and implements only the
//! [`capability`] traits its system really has. Reads are batch-first: each takes the request
//! [`RequestContext`] and a slice of keys and returns what it found keyed by input; a key that
//! does not exist is absent from the map, never an error. Failures are [`ConnectorError`]s whose
//! [`ErrorKind`] tells the gateway whether to retry, serve stale data or answer partially.
//!
//! Connector authors start from [`prelude`].

pub mod capability;
pub mod change;
pub mod config;
pub mod context;
pub mod error;
pub mod http;
pub mod ids;
pub mod model;
pub mod paging;
pub mod policy;
pub mod telemetry;
pub mod trace;

pub use capability::{Capability, Connector};
pub use context::{Channel, RequestContext};
pub use error::{ConnectorError, ErrorKind};

/// Everything a connector author needs, in one import.
pub mod prelude {
    pub use crate::capability::*;
    pub use crate::change::*;
    pub use crate::config::*;
    pub use crate::context::*;
    pub use crate::error::*;
    pub use crate::http::*;
    pub use crate::ids::*;
    pub use crate::model::*;
    pub use crate::paging::*;
    pub use crate::policy::*;
    pub use async_trait::async_trait;
    pub use rust_decimal::Decimal;
    pub use std::collections::HashMap;
}
