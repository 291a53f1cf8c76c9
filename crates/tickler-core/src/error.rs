use std::fmt;

/// A value a user gave that the domain refuses, with the field it came from, so that every
/// front end (CLI, CSV import, web form, API) can say exactly what and where.
///
/// A check of several independent fields reports every refused field at once: the first
/// is this error's own `field` and `message`, the others are in `more` (see [`Checks`]),
/// so that a person fixes a form in one go rather than one error per submission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationError {
    pub field: String,
    pub message: String,
    pub more: Vec<ValidationError>,
}

impl ValidationError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
            more: Vec::new(),
        }
    }

    /// Every refused field with its message, the first one first.
    pub fn all(&self) -> impl Iterator<Item = &ValidationError> {
        std::iter::once(self).chain(self.more.iter())
    }

    /// The same refusals, each passed through `f` (to rename a field as the caller's input
    /// names it, say).
    pub fn map_each(self, f: impl Fn(ValidationError) -> ValidationError) -> ValidationError {
        let mut all = self.all_owned().map(f);
        let mut first = all.next().unwrap_or_else(|| ValidationError::new("", ""));
        first.more = all.collect();
        first
    }

    /// Every refusal as its own error, the first one first.
    fn all_owned(mut self) -> impl Iterator<Item = ValidationError> {
        let more = std::mem::take(&mut self.more);
        std::iter::once(self).chain(more)
    }

    /// This refusal and `other`'s, said together.
    pub fn and(mut self, mut other: ValidationError) -> ValidationError {
        let rest = std::mem::take(&mut other.more);
        self.more.push(other);
        self.more.extend(rest);
        self
    }

    /// The message about `field`, if this error refuses it.
    pub fn about(&self, field: &str) -> Option<&str> {
        self.all()
            .find(|e| e.field == field)
            .map(|e| e.message.as_str())
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, error) in self.all().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{}: {}", error.field, error.message)?;
        }
        Ok(())
    }
}

impl std::error::Error for ValidationError {}

/// Collects the errors of independent checks, so that all of them are reported together.
#[derive(Debug, Default)]
pub struct Checks {
    errors: Vec<ValidationError>,
}

impl Checks {
    /// The value if the check passed; else the error is kept and `None` returned, so that
    /// the checks that do not depend on this value still run.
    pub fn check<T>(&mut self, result: Result<T, ValidationError>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(mut error) => {
                // Kept flat: an error that itself holds several is several.
                // A refusal two checks share (a bad currency refuses the billing and the
                // amount) is said once.
                let more = std::mem::take(&mut error.more);
                for error in std::iter::once(error).chain(more) {
                    if !self.errors.contains(&error) {
                        self.errors.push(error);
                    }
                }
                None
            }
        }
    }

    /// Whether every check so far passed.
    pub fn passed(&self) -> bool {
        self.errors.is_empty()
    }

    /// Every error kept, as one: `Ok` when there was none.
    pub fn finish(self) -> Result<(), ValidationError> {
        let mut errors = self.errors.into_iter();
        match errors.next() {
            None => Ok(()),
            Some(mut first) => {
                first.more.extend(errors);
                Err(first)
            }
        }
    }

    /// The value built from checked parts, or every error kept. `build` runs only when every
    /// check passed, so it may rely on every part being there.
    pub fn then<T>(self, build: impl FnOnce() -> Option<T>) -> Result<T, ValidationError> {
        self.finish()?;
        build().ok_or_else(|| ValidationError::new("form", "a check failed without saying why"))
    }
}

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

    #[test]
    fn checks_report_every_refused_field_in_order() {
        let mut checks = Checks::default();
        let title: Option<String> = checks.check(Err(ValidationError::new("title", "is required")));
        let start = checks.check(parse_date("start", "2027-01-30"));
        let end = checks.check(parse_date("end", "soon"));
        assert!(title.is_none() && start.is_some() && end.is_none());
        assert!(!checks.passed());
        let err = checks.finish().unwrap_err();
        let fields: Vec<&str> = err.all().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["title", "end"]);
        assert_eq!(err.about("title"), Some("is required"));
        assert!(err.about("start").is_none());
        assert!(
            err.to_string().starts_with("title: is required; end: "),
            "{err}"
        );
    }

    #[test]
    fn each_refusal_can_be_renamed() {
        let mut refusal = ValidationError::new("name", "must not be empty");
        refusal.more = vec![ValidationError::new("email", "is not an address")];
        let renamed = refusal.map_each(|e| {
            let field = format!("customer_{}", e.field);
            ValidationError::new(field, e.message)
        });
        let fields: Vec<&str> = renamed.all().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["customer_name", "customer_email"]);
    }

    #[test]
    fn checks_without_errors_pass() {
        let mut checks = Checks::default();
        assert_eq!(checks.check(Ok::<_, ValidationError>(3)), Some(3));
        assert!(checks.passed());
        assert_eq!(checks.then(|| Some(3)), Ok(3));
    }
}
