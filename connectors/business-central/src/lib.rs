//! Samlet connector for business-central (work in progress).
