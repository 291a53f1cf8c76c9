use std::fmt;

use serde::{Deserialize, Serialize};

use crate::ValidationError;

/// An email address that is safe to put into a header: one `@`, a plain local part, a domain
/// of letters, digits and hyphens, and no whitespace or control characters anywhere.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(try_from = "String", into = "String")]
pub struct EmailAddress(String);

impl EmailAddress {
    pub fn parse(field: &str, text: &str) -> Result<Self, ValidationError> {
        let address = text.trim();
        check(address).map_err(|why| {
            ValidationError::new(
                field,
                format!("\"{address}\" is not a valid email address: {why}"),
            )
        })?;
        Ok(Self(address.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn check(address: &str) -> Result<(), &'static str> {
    if address.is_empty() {
        return Err("it is empty");
    }
    if address.len() > 254 {
        return Err("it is longer than 254 characters");
    }
    if address.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err("it contains spaces or control characters");
    }
    let (local, domain) = address.rsplit_once('@').ok_or("it has no @")?;
    if local.is_empty() || local.len() > 64 {
        return Err("the part before @ must have 1 to 64 characters");
    }
    let local_ok = local
        .chars()
        .all(|c| c.is_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c));
    if !local_ok || local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return Err("the part before @ has characters that are not allowed");
    }
    if domain.is_empty() {
        return Err("it has no domain after @");
    }
    for label in domain.split('.') {
        let label_ok = !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.chars().all(|c| c.is_alphanumeric() || c == '-');
        if !label_ok {
            return Err("the domain is not a valid host name");
        }
    }
    Ok(())
}

impl TryFrom<String> for EmailAddress {
    type Error = ValidationError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse("email", &value)
    }
}

impl From<EmailAddress> for String {
    fn from(value: EmailAddress) -> Self {
        value.0
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_addresses() {
        for ok in [
            "a@example.com",
            "first.last+tag@sub.example.co.jp",
            "x@localhost",
        ] {
            assert!(EmailAddress::parse("email", ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn refuses_broken_and_header_injecting_addresses() {
        for bad in [
            "",
            "no-at.example.com",
            "@example.com",
            "a@",
            "a b@example.com",
            "a@example.com\r\nBcc: evil@example.com",
            "a..b@example.com",
            "a@-example.com",
            "a@exa_mple.com",
        ] {
            let err = EmailAddress::parse("email", bad).unwrap_err();
            assert_eq!(err.field, "email");
        }
    }
}
