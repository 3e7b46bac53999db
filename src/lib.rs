//! Samlet: a composable-commerce integration gateway. One GraphQL graph of customers,
//! products and orders in front of the CRM, PIM, ERP and marketing systems a retailer already
//! runs, normalised through connector capability traits, without owning the data.
//!
//! The library holds everything; the binary (`main.rs`) only parses the command line.

pub mod auth;
pub mod cache;
pub mod config;
mod dashboard;
#[cfg(feature = "demo")]
pub mod demo;
pub mod gateway;
pub mod graph;
pub mod intake;
#[cfg(feature = "otel")]
pub mod otel;
pub mod realtime;
pub mod recommend;
pub mod replicas;
pub mod response_cache;
pub mod server;
pub mod telemetry;
pub mod trace;

pub use config::Config;
pub use server::{serve, App};
