//! Samlet connector for akeneo (work in progress).
