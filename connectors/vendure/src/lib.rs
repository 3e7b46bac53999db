//! Samlet connector for Vendure (work in progress).
