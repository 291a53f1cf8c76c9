//! Amounts in integer minor units with an ISO 4217 currency, parsed from decimal text and
//! formatted for a language.

use serde::{Deserialize, Serialize};

use crate::{ValidationError, language::Language};

/// An ISO 4217 code (three capital letters) and how many minor digits it has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Currency([u8; 3]);

/// ISO 4217 currencies without minor units.
const ZERO_DIGITS: [&str; 17] = [
    "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND",
    "VUV", "XAF", "XOF", "XPF",
];

/// ISO 4217 currencies with three minor digits.
const THREE_DIGITS: [&str; 7] = ["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"];

impl Currency {
    pub const USD: Currency = Currency(*b"USD");
    pub const EUR: Currency = Currency(*b"EUR");
    pub const GBP: Currency = Currency(*b"GBP");
    pub const JPY: Currency = Currency(*b"JPY");

    /// Accepts three ASCII letters in any case (field `currency`).
    pub fn parse(field: &str, text: &str) -> Result<Self, ValidationError> {
        let trimmed = text.trim();
        match trimmed.as_bytes() {
            &[a, b, c] if [a, b, c].iter().all(u8::is_ascii_alphabetic) => Ok(Self([
                a.to_ascii_uppercase(),
                b.to_ascii_uppercase(),
                c.to_ascii_uppercase(),
            ])),
            _ => Err(ValidationError::new(
                field,
                format!("\"{trimmed}\" is not a currency code (use three letters such as EUR)"),
            )),
        }
    }

    pub fn code(&self) -> &str {
        // Only deserialization can put other bytes here; "XXX" is ISO's "no currency".
        match std::str::from_utf8(&self.0) {
            Ok(code) if self.0.iter().all(u8::is_ascii_uppercase) => code,
            _ => "XXX",
        }
    }

    /// 0 for JPY, KRW..., 3 for BHD, IQD, JOD, KWD, LYD, OMR, TND, 2 otherwise (ISO 4217).
    pub fn minor_digits(&self) -> u32 {
        let code = self.code();
        if ZERO_DIGITS.contains(&code) {
            0
        } else if THREE_DIGITS.contains(&code) {
            3
        } else {
            2
        }
    }
}

/// Why a decimal was refused; each caller words it for its own field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DecimalError {
    NotANumber,
    Negative,
    TooManyDecimals,
    TooLarge,
}

/// Reads "12", "1.5", "-0.125" as an integer scaled by 10^`decimals`: digits, an optional
/// dot, a leading minus only when `signed`; no separators, no exponent. Amounts, quantities
/// and tax rates are all typed this way.
pub(crate) fn parse_scaled(text: &str, decimals: u32, signed: bool) -> Result<i128, DecimalError> {
    let (negative, unsigned) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (whole, fraction) = match unsigned.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (unsigned, None),
    };
    let all_digits = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(whole) || fraction.is_some_and(|f| !all_digits(f)) {
        return Err(DecimalError::NotANumber);
    }
    if negative && !signed {
        return Err(DecimalError::Negative);
    }
    let fraction = fraction.unwrap_or("");
    if fraction.len() > decimals as usize {
        return Err(DecimalError::TooManyDecimals);
    }
    // Every byte is an ASCII digit, so the value is the digits of whole and fraction (the
    // latter padded to `decimals`) read as one integer.
    let padding = decimals as usize - fraction.len();
    let mut magnitude: i128 = 0;
    for b in whole
        .bytes()
        .chain(fraction.bytes())
        .chain(std::iter::repeat_n(b'0', padding))
    {
        magnitude = magnitude
            .checked_mul(10)
            .and_then(|m| m.checked_add(i128::from(b - b'0')))
            .ok_or(DecimalError::TooLarge)?;
    }
    Ok(if negative { -magnitude } else { magnitude })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Money {
    pub minor: i64,
    pub currency: Currency,
}

impl Money {
    /// Parses "1234.5" / "1234.50" / "1234" with at most the currency's minor digits
    /// (field `amount`); no thousands separators, no exponent, no more than fits an i64.
    /// A leading minus is allowed (credit notes, refunds).
    pub fn parse(
        amount_field: &str,
        amount: &str,
        currency: Currency,
    ) -> Result<Self, ValidationError> {
        let text = amount.trim();
        let not_an_amount = || {
            ValidationError::new(
                amount_field,
                format!("\"{text}\" is not an amount (use digits and an optional dot: 1234.50)"),
            )
        };
        let digits = currency.minor_digits();
        let too_large = || {
            ValidationError::new(
                amount_field,
                format!(
                    "\"{text}\" is too large (at most {} {})",
                    Money {
                        minor: i64::MAX,
                        currency
                    }
                    .to_decimal_string(),
                    currency.code()
                ),
            )
        };
        let signed = parse_scaled(text, digits, true).map_err(|e| match e {
            DecimalError::NotANumber | DecimalError::Negative => not_an_amount(),
            DecimalError::TooManyDecimals => ValidationError::new(
                amount_field,
                format!(
                    "\"{text}\" has more decimals than {} allows ({digits})",
                    currency.code()
                ),
            ),
            DecimalError::TooLarge => too_large(),
        })?;
        let minor = i64::try_from(signed).map_err(|_| too_large())?;
        Ok(Self { minor, currency })
    }

    /// Plain decimal text with exactly the currency's minor digits: "1234.50", "-3.00", "1200" (JPY).
    pub fn to_decimal_string(&self) -> String {
        let (sign, whole, fraction) = self.parts();
        match fraction {
            Some(fraction) => format!("{sign}{whole}.{fraction}"),
            None => format!("{sign}{whole}"),
        }
    }

    /// As a reader of `language` expects it: en "$1,234.50", "€1,234.50", "£1,234.50",
    /// "¥1,200", else "CHF 1,234.50"; ja "¥1,200" for yen, else "1,234.50 USD"; el
    /// "1.234,50 €" for euros, else "1.234,50 USD". A negative amount starts with a minus.
    pub fn format(&self, language: Language) -> String {
        let (sign, whole, fraction) = self.parts();
        let code = self.currency.code();
        let (group, point) = match language {
            Language::El => ('.', ','),
            Language::En | Language::Ja => (',', '.'),
        };
        let mut number = group_thousands(&whole, group);
        if let Some(fraction) = fraction {
            number.push(point);
            number.push_str(&fraction);
        }
        match language {
            Language::En => match code {
                "USD" => format!("{sign}${number}"),
                "EUR" => format!("{sign}€{number}"),
                "GBP" => format!("{sign}£{number}"),
                "JPY" => format!("{sign}¥{number}"),
                _ => format!("{sign}{code} {number}"),
            },
            Language::Ja => match code {
                "JPY" => format!("{sign}¥{number}"),
                _ => format!("{sign}{number} {code}"),
            },
            Language::El => match code {
                "EUR" => format!("{sign}{number} €"),
                _ => format!("{sign}{number} {code}"),
            },
        }
    }

    /// The sign ("-" or ""), the whole units and the minor digits (None for a currency
    /// without them), from the magnitude so that i64::MIN has no special case.
    fn parts(&self) -> (&'static str, String, Option<String>) {
        let sign = if self.minor < 0 { "-" } else { "" };
        let magnitude = self.minor.unsigned_abs();
        let digits = self.currency.minor_digits();
        if digits == 0 {
            return (sign, magnitude.to_string(), None);
        }
        let scale = 10u64.pow(digits);
        let fraction = format!("{:0width$}", magnitude % scale, width = digits as usize);
        (sign, (magnitude / scale).to_string(), Some(fraction))
    }
}

/// `digits` are ASCII digits (from an integer's `to_string`), so byte positions are digits.
fn group_thousands(digits: &str, separator: char) -> String {
    // The leading group is the short one; `match` rather than `is_multiple_of`, which is
    // newer than the workspace's rust-version.
    let lead = match digits.len() % 3 {
        0 => 3.min(digits.len()),
        short => short,
    };
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
    grouped.push_str(&digits[..lead]);
    for group in digits.as_bytes()[lead..].chunks(3) {
        grouped.push(separator);
        grouped.extend(group.iter().map(|&b| char::from(b)));
    }
    grouped
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn cur(code: &str) -> Currency {
        Currency::parse("currency", code).unwrap()
    }

    fn money(amount: &str, code: &str) -> Money {
        Money::parse("amount", amount, cur(code)).unwrap()
    }

    fn minor(amount: &str, code: &str) -> i64 {
        money(amount, code).minor
    }

    #[test]
    fn currency_codes_are_three_letters_in_any_case() {
        assert_eq!(cur("eur"), Currency::EUR);
        assert_eq!(cur(" Usd ").code(), "USD");
        for bad in ["", "EU", "EURO", "E1R", "€", "ÉUR", "US D"] {
            let err = Currency::parse("currency", bad).unwrap_err();
            assert_eq!(err.field, "currency");
            assert!(
                err.message.contains(&format!("\"{}\"", bad.trim())),
                "{err}"
            );
        }
    }

    #[test]
    fn minor_digits_follow_iso_4217() {
        assert_eq!(cur("JPY").minor_digits(), 0);
        assert_eq!(cur("KRW").minor_digits(), 0);
        assert_eq!(cur("BHD").minor_digits(), 3);
        assert_eq!(cur("KWD").minor_digits(), 3);
        assert_eq!(cur("JOD").minor_digits(), 3);
        assert_eq!(cur("OMR").minor_digits(), 3);
        assert_eq!(cur("TND").minor_digits(), 3);
        assert_eq!(cur("EUR").minor_digits(), 2);
        assert_eq!(cur("USD").minor_digits(), 2);
        assert_eq!(cur("CHF").minor_digits(), 2);
    }

    #[test]
    fn a_deserialized_garbage_code_reads_as_xxx() {
        let garbage: Currency = serde_json::from_str("[255, 0, 7]").unwrap();
        assert_eq!(garbage.code(), "XXX");
        assert_eq!(
            Money {
                minor: 150,
                currency: garbage
            }
            .to_decimal_string(),
            "1.50"
        );
        let json = serde_json::to_string(&Currency::EUR).unwrap();
        assert_eq!(
            serde_json::from_str::<Currency>(&json).unwrap(),
            Currency::EUR
        );
    }

    #[test]
    fn parses_plain_decimals() {
        assert_eq!(minor("1234.5", "EUR"), 123_450);
        assert_eq!(minor("1234.50", "EUR"), 123_450);
        assert_eq!(minor("1234", "EUR"), 123_400);
        assert_eq!(minor(" 0.07 ", "USD"), 7);
        assert_eq!(minor("-3", "USD"), -300);
        assert_eq!(minor("-0", "USD"), 0);
        assert_eq!(minor("007.10", "USD"), 710);
        assert_eq!(minor("1200", "JPY"), 1200);
        assert_eq!(minor("1.234", "KWD"), 1234);
        assert_eq!(minor("92233720368547758.07", "EUR"), i64::MAX);
        assert_eq!(minor("-92233720368547758.08", "EUR"), i64::MIN);
    }

    #[test]
    fn refuses_what_is_not_a_plain_decimal_quoting_it() {
        for bad in [
            "12,50", "1,234.50", "", "-", ".5", "5.", "1e3", "+5", "1.2.3", "12 50", "$12", "--1",
            "١٢",
        ] {
            let err = Money::parse("amount", bad, Currency::EUR).unwrap_err();
            assert_eq!(err.field, "amount");
            assert_eq!(
                err.message,
                format!(
                    "\"{}\" is not an amount (use digits and an optional dot: 1234.50)",
                    bad.trim()
                ),
            );
        }
    }

    #[test]
    fn refuses_more_decimals_than_the_currency_has() {
        let err = Money::parse("amount", "12.345", Currency::EUR).unwrap_err();
        assert_eq!(err.field, "amount");
        assert_eq!(
            err.message,
            "\"12.345\" has more decimals than EUR allows (2)"
        );
        let err = Money::parse("price", "1200.5", Currency::JPY).unwrap_err();
        assert_eq!(err.field, "price");
        assert_eq!(
            err.message,
            "\"1200.5\" has more decimals than JPY allows (0)"
        );
        assert!(Money::parse("amount", "1.2345", cur("BHD")).is_err());
    }

    #[test]
    fn refuses_what_does_not_fit() {
        for bad in [
            "92233720368547758.08",
            "-92233720368547758.09",
            "99999999999999999999999999999999999999999999",
        ] {
            let err = Money::parse("amount", bad, Currency::EUR).unwrap_err();
            assert!(
                err.message.starts_with(&format!("\"{bad}\" is too large")),
                "{err}"
            );
        }
    }

    #[test]
    fn decimal_strings_have_exactly_the_minor_digits() {
        assert_eq!(money("1234.5", "EUR").to_decimal_string(), "1234.50");
        assert_eq!(money("-3", "USD").to_decimal_string(), "-3.00");
        assert_eq!(money("-0.05", "USD").to_decimal_string(), "-0.05");
        assert_eq!(money("1200", "JPY").to_decimal_string(), "1200");
        assert_eq!(money("1.5", "KWD").to_decimal_string(), "1.500");
        assert_eq!(
            Money {
                minor: i64::MIN,
                currency: Currency::EUR
            }
            .to_decimal_string(),
            "-92233720368547758.08"
        );
    }

    #[test]
    fn formats_for_english_readers() {
        let en = |a: &str, c: &str| money(a, c).format(Language::En);
        assert_eq!(en("1234.5", "USD"), "$1,234.50");
        assert_eq!(en("1234.5", "EUR"), "€1,234.50");
        assert_eq!(en("1234.5", "GBP"), "£1,234.50");
        assert_eq!(en("1200", "JPY"), "¥1,200");
        assert_eq!(en("1234.5", "CHF"), "CHF 1,234.50");
        assert_eq!(en("-1234.5", "USD"), "-$1,234.50");
        assert_eq!(en("-1234.5", "CHF"), "-CHF 1,234.50");
        assert_eq!(en("0.5", "USD"), "$0.50");
        assert_eq!(en("999", "USD"), "$999.00");
        assert_eq!(en("1000", "USD"), "$1,000.00");
        assert_eq!(en("1234567.891", "KWD"), "KWD 1,234,567.891");
    }

    #[test]
    fn formats_for_japanese_readers() {
        let ja = |a: &str, c: &str| money(a, c).format(Language::Ja);
        assert_eq!(ja("1200", "JPY"), "¥1,200");
        assert_eq!(ja("1234567", "JPY"), "¥1,234,567");
        assert_eq!(ja("-1200", "JPY"), "-¥1,200");
        assert_eq!(ja("1234.5", "USD"), "1,234.50 USD");
        assert_eq!(ja("1234.5", "EUR"), "1,234.50 EUR");
        assert_eq!(ja("-1234.5", "EUR"), "-1,234.50 EUR");
    }

    #[test]
    fn formats_for_greek_readers() {
        let el = |a: &str, c: &str| money(a, c).format(Language::El);
        assert_eq!(el("1234.5", "EUR"), "1.234,50 €");
        assert_eq!(el("1234.5", "USD"), "1.234,50 USD");
        assert_eq!(el("-1234.5", "EUR"), "-1.234,50 €");
        assert_eq!(el("1200", "JPY"), "1.200 JPY");
        assert_eq!(el("0.07", "EUR"), "0,07 €");
    }

    #[test]
    fn groups_thousands_at_every_length() {
        let expected = ["1", "12", "123", "1,234", "12,345", "123,456", "1,234,567"];
        for (i, want) in expected.iter().enumerate() {
            assert_eq!(group_thousands(&"1234567"[..=i], ','), *want);
        }
        assert_eq!(
            Money {
                minor: i64::MIN,
                currency: Currency::USD
            }
            .format(Language::En),
            "-$92,233,720,368,547,758.08"
        );
    }

    fn any_currency() -> impl Strategy<Value = Currency> {
        proptest::sample::select(vec!["EUR", "USD", "JPY", "KWD", "CHF", "KRW", "BHD"])
            .prop_map(cur)
    }

    proptest! {
        #[test]
        fn decimal_strings_round_trip(minor in any::<i64>(), currency in any_currency()) {
            let m = Money { minor, currency };
            prop_assert_eq!(Money::parse("amount", &m.to_decimal_string(), currency), Ok(m));
        }

        #[test]
        fn parsed_text_round_trips_to_its_normal_form(
            whole in 0u64..10_000_000_000,
            fraction in proptest::option::of("[0-9]{1,3}"),
            negative in any::<bool>(),
            currency in any_currency(),
        ) {
            let text = format!(
                "{}{whole}{}",
                if negative { "-" } else { "" },
                fraction.as_deref().map(|f| format!(".{f}")).unwrap_or_default(),
            );
            let digits = currency.minor_digits() as usize;
            match Money::parse("amount", &text, currency) {
                Ok(m) => {
                    let f = fraction.unwrap_or_default();
                    prop_assert!(f.len() <= digits);
                    let normal = m.to_decimal_string();
                    prop_assert_eq!(Money::parse("amount", &normal, currency), Ok(m));
                    // Same value: the normal form is the text padded to the currency's digits.
                    let padded = if digits == 0 {
                        whole.to_string()
                    } else {
                        format!("{whole}.{f:0<digits$}")
                    };
                    let zero = whole == 0 && f.bytes().all(|b| b == b'0');
                    let sign = if negative && !zero { "-" } else { "" };
                    prop_assert_eq!(normal, format!("{sign}{padded}"));
                }
                Err(err) => {
                    prop_assert!(fraction.is_some_and(|f| f.len() > digits), "{}", err);
                    let quoted = format!("\"{text}\"");
                    prop_assert!(err.message.contains(&quoted));
                }
            }
        }

        #[test]
        fn formatting_never_loses_digits(minor in any::<i64>(), currency in any_currency()) {
            let m = Money { minor, currency };
            let plain = m.to_decimal_string();
            let digits = |s: &str| s.chars().filter(char::is_ascii_digit).collect::<String>();
            for language in Language::ALL {
                let shown = m.format(language);
                prop_assert_eq!(digits(&shown), digits(&plain));
                prop_assert_eq!(shown.starts_with('-'), minor < 0);
            }
        }

        #[test]
        fn arbitrary_text_never_panics(text in "\\PC{0,30}", currency in any_currency()) {
            if let Err(err) = Money::parse("amount", &text, currency) {
                prop_assert_eq!(err.field, "amount");
                let quoted = format!("\"{}\"", text.trim());
                prop_assert!(err.message.contains(&quoted));
            }
        }
    }
}
