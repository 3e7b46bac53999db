//! Samlet connector for voyado (work in progress).
