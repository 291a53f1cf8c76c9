//! Cells of the CSV files Tickler writes, made safe to open in a spreadsheet, and read back.
//!
//! A spreadsheet runs a cell that starts with `=`, `+`, `-` or `@` (or a tab or a carriage
//! return before one) as a formula: a customer named `=HYPERLINK(...)` would run in the
//! office's spreadsheet. Such a cell is written with a `'` in front, which spreadsheets show
//! as text and do not display, and an import takes the `'` off again. A cell that already
//! starts with `'`s before such a character gets one more, so that every cell reads back
//! exactly as it was.

/// The characters that make a spreadsheet read a cell as a formula.
const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

fn looks_like_a_formula(cell: &str) -> bool {
    cell.trim_start_matches('\'').starts_with(FORMULA_STARTS)
}

/// `cell` as a spreadsheet may open it without running anything.
pub fn to_spreadsheet(cell: &str) -> std::borrow::Cow<'_, str> {
    if looks_like_a_formula(cell) {
        std::borrow::Cow::Owned(format!("'{cell}"))
    } else {
        std::borrow::Cow::Borrowed(cell)
    }
}

/// A cell written by [`to_spreadsheet`] as it was before.
pub fn from_spreadsheet(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if looks_like_a_formula(cell) => rest,
        _ => cell,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn formulas_are_written_as_text() {
        assert_eq!(to_spreadsheet("=1+1"), "'=1+1");
        assert_eq!(to_spreadsheet("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(to_spreadsheet("-12.00"), "'-12.00");
        assert_eq!(to_spreadsheet("+30 21 0000"), "'+30 21 0000");
        assert_eq!(to_spreadsheet("\t=cmd"), "'\t=cmd");
        assert_eq!(to_spreadsheet("\r=cmd"), "'\r=cmd");
        assert_eq!(to_spreadsheet("Acme = best"), "Acme = best");
        assert_eq!(to_spreadsheet("'quoted'"), "'quoted'");
        assert_eq!(to_spreadsheet("'=x"), "''=x");
        assert_eq!(to_spreadsheet(""), "");
    }

    #[test]
    fn an_import_takes_the_quote_off_again() {
        assert_eq!(from_spreadsheet("'=1+1"), "=1+1");
        assert_eq!(from_spreadsheet("''=x"), "'=x");
        assert_eq!(from_spreadsheet("'quoted'"), "'quoted'");
        assert_eq!(from_spreadsheet("plain"), "plain");
    }

    proptest! {
        #[test]
        fn every_cell_reads_back_as_it_was(cell in "['=+@\\t\\r -]{0,3}[a-z0-9 ='@-]{0,8}") {
            let written = to_spreadsheet(&cell);
            prop_assert!(!written.starts_with(FORMULA_STARTS), "{written:?} would run");
            prop_assert_eq!(from_spreadsheet(&written), cell.as_str());
        }
    }
}
