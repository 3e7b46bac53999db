//! Samlet connector for sfmc (work in progress).
