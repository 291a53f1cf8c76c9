use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};

use crate::ValidationError;

/// The languages Tickler ships templates for. A customer's notices are rendered in their
/// language, falling back to English where a template has no translation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    #[default]
    En,
    Ja,
    El,
}

impl Language {
    pub const ALL: [Language; 3] = [Language::En, Language::Ja, Language::El];

    pub fn code(self) -> &'static str {
        match self {
            Language::En => "en",
            Language::Ja => "ja",
            Language::El => "el",
        }
    }

    /// The language's name in English, for pages that list languages ("Greek", not `el`).
    pub fn english_name(self) -> &'static str {
        match self {
            Language::En => "English",
            Language::Ja => "Japanese",
            Language::El => "Greek",
        }
    }

    pub fn parse(field: &str, text: &str) -> Result<Self, ValidationError> {
        text.parse().map_err(|_| {
            ValidationError::new(
                field,
                format!(
                    "unknown language \"{}\" (expected en, ja or el)",
                    text.trim()
                ),
            )
        })
    }
}

impl FromStr for Language {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "en" => Ok(Language::En),
            "ja" => Ok(Language::Ja),
            "el" => Ok(Language::El),
            _ => Err(()),
        }
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_unknown_ones_are_named() {
        for language in Language::ALL {
            assert_eq!(Language::parse("language", language.code()), Ok(language));
        }
        let err = Language::parse("language", "fr").unwrap_err();
        assert_eq!(err.field, "language");
        assert!(err.message.contains("\"fr\""));
    }
}
