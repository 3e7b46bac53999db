//! Samlet connector for klaviyo (work in progress).
