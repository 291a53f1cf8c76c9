use std::fmt;

/// A value a user gave that the domain refuses, with the field it came from, so that every
/// front end (CLI, CSV import, web form, API) can say exactly what and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationError {
    pub field: String,
    pub message: String,
}

impl ValidationError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

impl std::error::Error for ValidationError {}

/// Parses a civil date written `YYYY-MM-DD`, refusing impossible days such as `2027-02-30`.
pub fn parse_date(field: &str, text: &str) -> Result<jiff::civil::Date, ValidationError> {
    let trimmed = text.trim();
    let well_formed = trimmed.len() == 10
        && trimmed.char_indices().all(|(i, c)| {
            if i == 4 || i == 7 {
                c == '-'
            } else {
                c.is_ascii_digit()
            }
        });
    if !well_formed {
        return Err(ValidationError::new(
            field,
            format!("\"{trimmed}\" is not a date (expected YYYY-MM-DD)"),
        ));
    }
    trimmed.parse::<jiff::civil::Date>().map_err(|_| {
        ValidationError::new(
            field,
            format!("\"{trimmed}\" is not a date on the calendar"),
        )
    })
}

/// Parses an RFC 3339 instant such as `2027-01-30T00:00:00Z` or `2027-01-30T09:00:00+09:00`.
pub fn parse_instant(field: &str, text: &str) -> Result<jiff::Timestamp, ValidationError> {
    text.trim().parse::<jiff::Timestamp>().map_err(|_| {
        ValidationError::new(
            field,
            format!(
                "\"{}\" is not an RFC 3339 instant (e.g. 2027-01-30T09:00:00Z)",
                text.trim()
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn impossible_dates_are_refused_with_the_field() {
        let err = parse_date("end", "2027-02-30").unwrap_err();
        assert_eq!(err.field, "end");
        assert!(err.message.contains("2027-02-30"), "{err}");
        assert!(parse_date("end", "2027-2-3").is_err());
        assert!(parse_date("end", "2028-02-29").is_ok());
        assert!(parse_date("end", "2027-02-29").is_err());
    }

    #[test]
    fn instants_need_an_offset() {
        assert!(parse_instant("now", "2027-01-30T00:00:00Z").is_ok());
        assert!(parse_instant("now", "2027-01-30T09:00:00+09:00").is_ok());
        assert!(parse_instant("now", "2027-01-30T00:00:00").is_err());
    }
}
