//! Samlet connector for salesforce (work in progress).
