//! International bank account numbers (ISO 13616): the organisation's bank details that
//! templates print on renewal notices, checked before they reach a customer.

use std::fmt;

use crate::ValidationError;

/// A checked IBAN, kept in its compact electronic form (`GR1601101250000000012300695`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Iban(String);

/// Lengths of the IBANs of countries whose customers this firm most often has; other
/// countries get the general checks only (2 letters, 2 digits, 15 to 34 characters, mod 97).
const LENGTHS: &[(&str, usize)] = &[
    ("AT", 20),
    ("BE", 16),
    ("BG", 22),
    ("CH", 21),
    ("CY", 28),
    ("CZ", 24),
    ("DE", 22),
    ("DK", 18),
    ("EE", 20),
    ("ES", 24),
    ("FI", 18),
    ("FR", 27),
    ("GB", 22),
    ("GR", 27),
    ("HR", 21),
    ("HU", 28),
    ("IE", 22),
    ("IT", 27),
    ("LT", 20),
    ("LU", 20),
    ("LV", 21),
    ("MT", 31),
    ("NL", 18),
    ("NO", 15),
    ("PL", 28),
    ("PT", 25),
    ("RO", 24),
    ("SE", 24),
    ("SI", 19),
    ("SK", 24),
];

impl Iban {
    /// Parses an IBAN as people write it: spaces allowed, any case.
    pub fn parse(field: &str, text: &str) -> Result<Iban, ValidationError> {
        let compact: String = text
            .chars()
            .filter(|c| !c.is_whitespace())
            .map(|c| c.to_ascii_uppercase())
            .collect();
        let refuse = |why: String| Err(ValidationError::new(field, why));
        if compact.is_empty() {
            return refuse("is empty".to_string());
        }
        if let Some(bad) = compact.chars().find(|c| !c.is_ascii_alphanumeric()) {
            return refuse(format!(
                "\"{}\" is not an IBAN: it contains \"{bad}\" (only letters and digits)",
                text.trim()
            ));
        }
        let bytes = compact.as_bytes();
        if bytes.len() < 4
            || !bytes[..2].iter().all(u8::is_ascii_uppercase)
            || !bytes[2..4].iter().all(u8::is_ascii_digit)
        {
            return refuse(format!(
                "\"{}\" is not an IBAN: it starts with a country code and two check digits, e.g. GR16...",
                text.trim()
            ));
        }
        let country = &compact[..2];
        match LENGTHS.iter().find(|(code, _)| *code == country) {
            Some((_, len)) if compact.len() != *len => {
                return refuse(format!(
                    "\"{}\" is not an IBAN: {country} IBANs have {len} characters, this one has {}",
                    text.trim(),
                    compact.len()
                ));
            }
            None if !(15..=34).contains(&compact.len()) => {
                return refuse(format!(
                    "\"{}\" is not an IBAN: it has {} characters (15 to 34 expected)",
                    text.trim(),
                    compact.len()
                ));
            }
            _ => {}
        }
        if mod97(&compact) != 1 {
            return refuse(format!(
                "\"{}\" is not a valid IBAN: its check digits do not match (a typo?)",
                text.trim()
            ));
        }
        Ok(Iban(compact))
    }

    /// The compact form, without spaces.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Groups of four, as printed on paper: `GR16 0110 1250 ...`.
    pub fn grouped(&self) -> String {
        self.0
            .as_bytes()
            .chunks(4)
            .map(|chunk| String::from_utf8_lossy(chunk).into_owned())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

impl fmt::Display for Iban {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.grouped())
    }
}

/// The ISO 7064 mod-97 remainder of the IBAN with its first four characters moved to the end
/// and letters counted as 10..=35, computed digit by digit (the number has up to 68 digits).
fn mod97(compact: &str) -> u32 {
    let rearranged = compact[4..].chars().chain(compact[..4].chars());
    let mut remainder: u32 = 0;
    for c in rearranged {
        let value = match c.to_digit(36) {
            Some(v) => v,
            None => return 0,
        };
        remainder = if value < 10 {
            (remainder * 10 + value) % 97
        } else {
            (remainder * 100 + value) % 97
        };
    }
    remainder
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_ibans_of_several_countries_pass() {
        for (text, compact) in [
            ("DE89 3704 0044 0532 0130 00", "DE89370400440532013000"),
            (
                "GR16 0110 1250 0000 0001 2300 695",
                "GR1601101250000000012300695",
            ),
            ("GB29 NWBK 6016 1331 9268 19", "GB29NWBK60161331926819"),
            ("gb82west12345698765432", "GB82WEST12345698765432"),
            ("NO9386011117947", "NO9386011117947"),
        ] {
            let iban = Iban::parse("bank_iban", text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(iban.as_str(), compact);
        }
        assert_eq!(
            Iban::parse("iban", "DE89370400440532013000")
                .unwrap()
                .to_string(),
            "DE89 3704 0044 0532 0130 00"
        );
    }

    #[test]
    fn a_wrong_check_digit_or_typo_is_refused() {
        for text in [
            "DE88 3704 0044 0532 0130 00",
            "DE89 3704 0044 0532 0130 01",
            "GR16 0110 1250 0000 0001 2300 659",
            "GB29 NWBK 6016 1331 9268 18",
        ] {
            let err = Iban::parse("bank_iban", text).unwrap_err();
            assert_eq!(err.field, "bank_iban");
            assert!(err.message.contains("check digits"), "{text}: {err}");
        }
    }

    #[test]
    fn bad_characters_lengths_and_shapes_are_refused() {
        let err = Iban::parse("bank_iban", "DE89-3704-0044-0532-0130-00").unwrap_err();
        assert!(err.message.contains("\"-\""), "{err}");
        let err = Iban::parse("bank_iban", "DE89 3704 0044 0532 0130 0Ä").unwrap_err();
        assert!(err.message.contains("only letters and digits"), "{err}");
        let err = Iban::parse("bank_iban", "DE89 3704 0044 0532 0130").unwrap_err();
        assert!(err.message.contains("22 characters"), "{err}");
        assert!(Iban::parse("bank_iban", "8937040044053201300").is_err());
        assert!(Iban::parse("bank_iban", "DEXX370400440532013000").is_err());
        assert!(Iban::parse("bank_iban", "   ").is_err());
        assert!(Iban::parse("bank_iban", "XX12").is_err());
    }
}
