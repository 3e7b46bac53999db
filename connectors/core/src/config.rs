//! Helpers for validating connector configuration. A connector's config type is plain serde
//! (`deny_unknown_fields`, documented fields); its `validate` collects every problem as a
//! [`ConfigProblem`] naming the key and saying what to write, without any I/O.

use std::fmt;

/// One thing wrong with a connector's configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    /// The key, relative to the connector's table (e.g. `base_url`).
    pub key: String,
    /// What is wrong and what to write instead.
    pub message: String,
}

impl ConfigProblem {
    /// A problem with `key`.
    pub fn new(key: impl Into<String>, message: impl Into<String>) -> ConfigProblem {
        ConfigProblem {
            key: key.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.key, self.message)
    }
}

/// Checks that `value` is an absolute http(s) URL; pushes a problem for `key` otherwise.
pub fn check_url(key: &str, value: &str, problems: &mut Vec<ConfigProblem>) {
    match url::Url::parse(value) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {}
        _ => problems.push(ConfigProblem::new(
            key,
            format!("`{value}` is not an absolute http(s) URL; write e.g. \"https://vendor.example.com\""),
        )),
    }
}

/// Checks that `value` is not empty; pushes a problem for `key` otherwise.
pub fn check_not_empty(key: &str, value: &str, problems: &mut Vec<ConfigProblem>) {
    if value.trim().is_empty() {
        problems.push(ConfigProblem::new(key, "must not be empty"));
    }
}
