//! Samlet connector for optimizely (work in progress).
