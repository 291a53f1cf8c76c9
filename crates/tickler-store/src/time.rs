use jiff::{Timestamp, civil::Date};

use crate::StoreError;

/// Instants are stored as UTC epoch milliseconds.
pub fn instant_from_millis(ms: i64) -> Result<Timestamp, StoreError> {
    Timestamp::from_millisecond(ms)
        .map_err(|e| StoreError::Corrupt(format!("instant {ms} ms: {e}")))
}

/// Civil dates are stored as ISO `YYYY-MM-DD` text.
pub fn date_from_text(text: &str) -> Result<Date, StoreError> {
    text.parse()
        .map_err(|e| StoreError::Corrupt(format!("date \"{text}\": {e}")))
}

pub(crate) fn millis(t: Timestamp) -> i64 {
    t.as_millisecond()
}
