//! Localised text: one value per locale, resolved for a request's locale with a fallback.

use crate::context::Locale;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A text in several languages.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct LocalizedText(pub BTreeMap<Locale, String>);

impl LocalizedText {
    /// Adds or replaces the value for `locale`.
    pub fn insert(&mut self, locale: Locale, value: impl Into<String>) {
        self.0.insert(locale, value.into());
    }

    /// The value for `locale`, else the same language in another country, else English,
    /// else any value.
    pub fn get(&self, locale: &Locale) -> Option<&str> {
        if let Some(v) = self.0.get(locale) {
            return Some(v);
        }
        let lang = &locale.as_str()[..2];
        self.0
            .iter()
            .find(|(l, _)| l.as_str().starts_with(lang))
            .or_else(|| self.0.iter().find(|(l, _)| l.as_str().starts_with("en")))
            .or_else(|| self.0.iter().next())
            .map(|(_, v)| v.as_str())
    }

    /// Whether no locale has a value.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn falls_back_to_english_then_anything() {
        let mut t = LocalizedText::default();
        t.insert("en-GB".parse().unwrap(), "Sofa");
        t.insert("da-DK".parse().unwrap(), "Sofa (da)");
        assert_eq!(t.get(&"da-DK".parse().unwrap()), Some("Sofa (da)"));
        assert_eq!(t.get(&"sv-SE".parse().unwrap()), Some("Sofa"));
        assert_eq!(t.get(&"en-US".parse().unwrap()), Some("Sofa"));
    }
}
