//! What a list's search box accepts: at least three characters, because the searched
//! columns are indexed by trigrams (PostgreSQL's pg_trgm, SQLite's FTS5 trigram tokenizer)
//! and a shorter text could only be found by reading every row.

use crate::ValidationError;

/// The fewest characters (not bytes: 東京都 is three) a search may have.
pub const MIN_SEARCH_CHARS: usize = 3;

/// The search typed into `field`, trimmed; `None` when blank; refused, saying so, when
/// shorter than [`MIN_SEARCH_CHARS`].
pub fn search_term(field: &str, text: Option<&str>) -> Result<Option<String>, ValidationError> {
    let Some(text) = text.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    if text.chars().count() < MIN_SEARCH_CHARS {
        return Err(ValidationError::new(
            field,
            format!(
                "\"{text}\" is too short to search for: type at least {MIN_SEARCH_CHARS} \
                 characters"
            ),
        ));
    }
    Ok(Some(text.to_string()))
}

/// Whether `text` (trimmed) is long enough to search for; the store leaves shorter ones out.
pub fn searchable(text: &str) -> bool {
    text.trim().chars().count() >= MIN_SEARCH_CHARS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn searches_need_three_characters_counted_as_characters() {
        assert_eq!(search_term("q", None).unwrap(), None);
        assert_eq!(search_term("q", Some("   ")).unwrap(), None);
        assert_eq!(
            search_term("q", Some(" acme ")).unwrap().as_deref(),
            Some("acme")
        );
        assert_eq!(
            search_term("q", Some("東京都")).unwrap().as_deref(),
            Some("東京都")
        );
        let e = search_term("q", Some(" ab ")).unwrap_err();
        assert_eq!(e.field, "q");
        assert!(e.to_string().contains("at least 3 characters"), "{e}");
        assert!(search_term("q", Some("東京")).is_err());
        assert!(searchable("abc") && !searchable(" ab "));
    }
}
