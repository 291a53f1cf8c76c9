//! How a cell of `export all` tells NULL from text: CSV has no NULL, and an empty cell must
//! stay the empty string (a customer's empty note is not a missing one). NULL is written
//! `\N` (as PostgreSQL's COPY does); a text that starts with a backslash gets one more in
//! front, so that the text `\N` cannot be read back as NULL. Reading undoes it.

/// What NULL is written as.
pub const NULL: &str = "\\N";

/// The cell that stands for `value`.
pub fn encode_cell(value: Option<&str>) -> std::borrow::Cow<'_, str> {
    match value {
        None => NULL.into(),
        Some(text) if text.starts_with('\\') => format!("\\{text}").into(),
        Some(text) => text.into(),
    }
}

/// The value a cell stands for: `\N` is NULL, a leading `\\` is one backslash. A single
/// leading backslash before anything else is no cell [`encode_cell`] writes: refused, as
/// a file changed by hand or by another program would be misread otherwise.
pub fn decode_cell(cell: &str) -> Result<Option<&str>, String> {
    if cell == NULL {
        return Ok(None);
    }
    match cell.strip_prefix('\\') {
        None => Ok(Some(cell)),
        Some(rest) if rest.starts_with('\\') => Ok(Some(rest)),
        Some(_) => Err(format!(
            "{cell:?} starts with a single backslash: write \\N for NULL, and double a \
             backslash that starts a text"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn null_and_the_empty_text_are_told_apart() {
        assert_eq!(encode_cell(None), "\\N");
        assert_eq!(encode_cell(Some("")), "");
        assert_eq!(decode_cell("\\N"), Ok(None));
        assert_eq!(decode_cell(""), Ok(Some("")));
    }

    #[test]
    fn a_text_that_starts_with_a_backslash_gets_one_more() {
        assert_eq!(encode_cell(Some("\\N")), "\\\\N");
        assert_eq!(encode_cell(Some("\\")), "\\\\");
        assert_eq!(encode_cell(Some("a\\N")), "a\\N");
        assert_eq!(decode_cell("\\\\N"), Ok(Some("\\N")));
        assert!(decode_cell("\\x").is_err());
        assert!(decode_cell("\\").is_err());
    }

    proptest! {
        #[test]
        fn every_value_reads_back_as_written(
            value in proptest::option::of("(\\\\|N|a|é|\n|,|\")*"),
            any_text in proptest::option::of(any::<String>()),
        ) {
            for value in [value, any_text] {
                let cell = encode_cell(value.as_deref());
                prop_assert_eq!(decode_cell(&cell), Ok(value.as_deref()));
            }
        }
    }
}
