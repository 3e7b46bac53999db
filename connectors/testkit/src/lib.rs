//! `samlet-testkit`: what every connector is tested against.
//!
//! - [`world`]: a deterministic Nordic furniture retailer (stores, catalogue, prices, stock,
//!   customers with overlapping records across CRM, marketing and ERP, orders with shipments),
//!   generated from a seed and a scale factor. Entities are computed on demand from their index,
//!   so a world of any scale is ready in milliseconds and costs little memory.
//! - [`sim`]: plumbing shared by the vendor simulators: a real HTTP server on a free loopback
//!   port, request counting, and fault injection (latency, 5xx, 429, malformed bodies).
//! - [`conformance`]: the suite every connector must pass against its simulator.
//! - [`spec`]: a recording proxy and checks of the recorded traffic against the vendor's
//!   published OpenAPI/Swagger spec or GraphQL schema.

pub mod conformance;
pub mod sim;
pub mod spec;
pub mod world;

pub use world::{World, WorldConfig};
