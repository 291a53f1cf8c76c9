//! Dates written the way a reader of each language expects them in a letter.

use crate::language::Language;
use jiff::civil::Date;

const ENGLISH_MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// Greek dates take the month in the genitive ("31 Μαρτίου 2027", not "Μάρτιος").
const GREEK_MONTHS_GENITIVE: [&str; 12] = [
    "Ιανουαρίου",
    "Φεβρουαρίου",
    "Μαρτίου",
    "Απριλίου",
    "Μαΐου",
    "Ιουνίου",
    "Ιουλίου",
    "Αυγούστου",
    "Σεπτεμβρίου",
    "Οκτωβρίου",
    "Νοεμβρίου",
    "Δεκεμβρίου",
];

/// en "31 March 2027", ja "2027年3月31日", el "31 Μαρτίου 2027".
pub fn format_date(date: Date, language: Language) -> String {
    // jiff guarantees month is 1..=12.
    let month = usize::try_from(date.month() - 1).unwrap_or(0);
    match language {
        Language::En => format!("{} {} {}", date.day(), ENGLISH_MONTHS[month], date.year()),
        Language::Ja => format!("{}年{}月{}日", date.year(), date.month(), date.day()),
        Language::El => format!(
            "{} {} {}",
            date.day(),
            GREEK_MONTHS_GENITIVE[month],
            date.year()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    #[test]
    fn formats_dates_for_each_language() {
        let d = date(2027, 3, 31);
        assert_eq!(format_date(d, Language::En), "31 March 2027");
        assert_eq!(format_date(d, Language::Ja), "2027年3月31日");
        assert_eq!(format_date(d, Language::El), "31 Μαρτίου 2027");
        assert_eq!(
            format_date(date(2026, 1, 5), Language::El),
            "5 Ιανουαρίου 2026"
        );
        assert_eq!(
            format_date(date(2026, 12, 1), Language::En),
            "1 December 2026"
        );
    }
}
