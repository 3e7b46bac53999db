//! Samlet connector for creatio (work in progress).
