//! The version of an email a person read: a fingerprint of its subject, body and recipients
//! as shown, carried by the form that sends or approves it. Sending compares it with the
//! email as it would go out now, so a reminder or template edited in between (or contract
//! data the text quotes) is a conflict naming what changed, not a send of text nobody read.

use sha2::{Digest, Sha256};

use crate::ValidationError;

/// Hex digits kept of each part's SHA-256: 48 bits, plenty to tell two versions of one
/// email apart, short enough for a form field or a command line.
const DIGITS: usize = 12;

/// The parts of an email a person approves, fingerprinted one by one so a conflict can say
/// which changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenVersion {
    subject: String,
    body: String,
    recipients: String,
}

fn digest(parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        // The length first, so ["ab", "c"] and ["a", "bc"] differ.
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part.as_bytes());
    }
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>()[..DIGITS]
        .to_string()
}

impl SeenVersion {
    /// The version of an email with this subject, body and recipients.
    pub fn of(subject: &str, body: &str, to: &[String], cc: &[String]) -> SeenVersion {
        let mut recipients: Vec<&str> = to.iter().map(String::as_str).collect();
        // An empty part between the lists, so moving an address from To to Cc is a change.
        recipients.push("");
        recipients.extend(cc.iter().map(String::as_str));
        SeenVersion {
            subject: digest(&[subject]),
            body: digest(&[body]),
            recipients: digest(&recipients),
        }
    }

    /// The text a form or command line carries: `subject-body-recipients` fingerprints.
    pub fn token(&self) -> String {
        format!("{}-{}-{}", self.subject, self.body, self.recipients)
    }

    /// Reads a token made by [`SeenVersion::token`]; `field` names where it came from.
    pub fn parse(field: &str, text: &str) -> Result<SeenVersion, ValidationError> {
        let bad = || {
            ValidationError::new(
                field,
                format!(
                    "\"{}\" is not an email version (three groups of {DIGITS} hex digits \
                     joined by '-', as the email's page or `reminder show` gives it)",
                    text.trim()
                ),
            )
        };
        let parts: Vec<&str> = text.trim().split('-').collect();
        let [subject, body, recipients] = parts.as_slice() else {
            return Err(bad());
        };
        let well_formed = |p: &str| {
            p.len() == DIGITS
                && p.chars()
                    .all(|c| c.is_ascii_hexdigit() && !c.is_uppercase())
        };
        if ![subject, body, recipients].iter().all(|p| well_formed(p)) {
            return Err(bad());
        }
        Ok(SeenVersion {
            subject: subject.to_string(),
            body: body.to_string(),
            recipients: recipients.to_string(),
        })
    }

    /// What differs in `self` (the email now) from `seen` (what the person read): "subject",
    /// "body", "recipients", in that order; empty when it is the same email.
    pub fn changes_since(&self, seen: &SeenVersion) -> Vec<&'static str> {
        [
            ("subject", self.subject != seen.subject),
            ("body", self.body != seen.body),
            ("recipients", self.recipients != seen.recipients),
        ]
        .into_iter()
        .filter_map(|(part, changed)| changed.then_some(part))
        .collect()
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn list(addresses: &[&str]) -> Vec<String> {
        addresses.iter().map(|a| a.to_string()).collect()
    }

    #[test]
    fn moving_an_address_from_to_to_cc_is_a_change() {
        let a = SeenVersion::of("S", "B", &list(&["a@x.example", "b@x.example"]), &[]);
        let b = SeenVersion::of("S", "B", &list(&["a@x.example"]), &list(&["b@x.example"]));
        assert_eq!(b.changes_since(&a), ["recipients"]);
    }

    #[test]
    fn tokens_that_are_not_versions_are_refused_naming_the_field() {
        for text in [
            "",
            "abc",
            "0123456789ab-0123456789ab",
            "0123456789ab-0123456789ab-0123456789aZ",
        ] {
            let e = SeenVersion::parse("version", text).unwrap_err();
            assert_eq!(e.field, "version");
            assert!(e.to_string().contains("not an email version"), "{e}");
        }
    }

    proptest! {
        #[test]
        fn tokens_round_trip(s in ".*", b in ".*", to in proptest::collection::vec(".*", 0..3)) {
            let v = SeenVersion::of(&s, &b, &to, &[]);
            prop_assert_eq!(SeenVersion::parse("version", &v.token()).unwrap(), v);
        }

        #[test]
        fn only_what_changed_is_named(s in ".*", b in ".*", extra in ".+") {
            let to = list(&["a@x.example"]);
            let seen = SeenVersion::of(&s, &b, &to, &[]);
            prop_assert!(SeenVersion::of(&s, &b, &to, &[]).changes_since(&seen).is_empty());
            let body = format!("{b}{extra}");
            prop_assert_eq!(SeenVersion::of(&s, &body, &to, &[]).changes_since(&seen), vec!["body"]);
            let subject = format!("{s}{extra}");
            prop_assert_eq!(
                SeenVersion::of(&subject, &body, &to, &[]).changes_since(&seen),
                vec!["subject", "body"]
            );
        }
    }
}
