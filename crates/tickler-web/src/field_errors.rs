//! A refused form's errors, each shown beside the field it is about: the field marked for
//! assistive technology and focused, and a summary at the top that links to each one.
//! Every form of the app shows its errors through this one piece (and the macros of
//! `templates/field_errors.html`).

use tickler_core::{ValidationError, language::Language};

use crate::format;

/// One refusal: the form element it is about (empty: none of them) and what to do, in
/// plain words and in the reader's date format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub id: String,
    pub message: String,
}

/// Every refusal of one submitted form, in the order the checks found them.
#[derive(Debug, Clone, Default)]
pub struct FieldErrors {
    errors: Vec<FieldError>,
}

impl FieldErrors {
    /// The errors of `refusal`, each placed on the element `element_of` names for its
    /// field (`None`: no element of this form, so the summary says which field it was).
    pub fn of<S: Into<String>>(
        refusal: Option<&ValidationError>,
        element_of: impl Fn(&str) -> Option<S>,
        language: Language,
    ) -> Self {
        let errors = refusal
            .into_iter()
            .flat_map(ValidationError::all)
            .map(|error| {
                let mut message = format::dates_in(&error.message, language);
                // An item of a list ("line 2") is found by its number: it stays in the text.
                let numbered = error
                    .field
                    .rsplit_once(' ')
                    .is_some_and(|(_, n)| n.parse::<u32>().is_ok());
                if numbered {
                    message = format!("{}: {message}", error.field);
                }
                match element_of(&error.field) {
                    Some(id) => FieldError {
                        id: id.into(),
                        message,
                    },
                    None if numbered => FieldError {
                        id: String::new(),
                        message,
                    },
                    None => FieldError {
                        id: String::new(),
                        message: format!("{}: {message}", error.field),
                    },
                }
            })
            .collect();
        FieldErrors { errors }
    }

    /// A refusal about the form as a whole (a conflict, a rule no field breaks alone).
    pub fn general(message: impl Into<String>) -> Self {
        FieldErrors {
            errors: vec![FieldError {
                id: String::new(),
                message: message.into(),
            }],
        }
    }

    pub fn any(&self) -> bool {
        !self.errors.is_empty()
    }

    pub fn count(&self) -> usize {
        self.errors.len()
    }

    pub fn items(&self) -> &[FieldError] {
        &self.errors
    }

    /// What is wrong with the element `id`, if anything (several refusals of one field are
    /// said together).
    pub fn about(&self, id: impl AsRef<str>) -> Option<String> {
        let id = id.as_ref();
        let messages: Vec<&str> = self
            .errors
            .iter()
            .filter(|e| e.id == id)
            .map(|e| e.message.as_str())
            .collect();
        (!messages.is_empty()).then(|| messages.join(" "))
    }

    /// Whether `id` is the first field refused: the one the page focuses.
    pub fn is_first(&self, id: impl AsRef<str>) -> bool {
        self.errors
            .iter()
            .find(|e| !e.id.is_empty())
            .map(|e| e.id.as_str())
            == Some(id.as_ref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn element(field: &str) -> Option<&'static str> {
        match field {
            "title" => Some("title"),
            "term" | "end" => Some("end"),
            f if f.starts_with("line") => Some("lines"),
            _ => None,
        }
    }

    #[test]
    fn each_error_goes_beside_its_field_and_the_first_is_focused() {
        let mut refusal = ValidationError::new("title", "must not be empty");
        refusal.more = vec![
            ValidationError::new("term", "the end date 2027-02-01 is before the start date"),
            ValidationError::new("custom_fields.po", "too long"),
            ValidationError::new("line 2", "unit price: not a number"),
        ];
        let errors = FieldErrors::of(Some(&refusal), element, Language::En);
        assert_eq!(errors.count(), 4);
        assert_eq!(
            errors.items()[3].message,
            "line 2: unit price: not a number"
        );
        assert_eq!(errors.about("title").as_deref(), Some("must not be empty"));
        assert_eq!(
            errors.about("end").as_deref(),
            Some("the end date 1 February 2027 is before the start date")
        );
        assert!(errors.is_first("title") && !errors.is_first("end"));
        assert_eq!(errors.items()[2].id, "");
        assert_eq!(errors.items()[2].message, "custom_fields.po: too long");
    }

    #[test]
    fn no_refusal_no_errors() {
        let errors = FieldErrors::of(None::<&ValidationError>, element, Language::En);
        assert!(!errors.any());
        assert!(errors.about("title").is_none());
        assert!(!errors.is_first("title"));
    }
}
