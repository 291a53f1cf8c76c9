//! A contract term's dates: validation and the next term on renewal. HELPER: implement.

use jiff::civil::Date;

use crate::ValidationError;

/// A term runs from `start` through `end` (the expiry date, the last day covered).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Term {
    pub start: Date,
    pub end: Date,
}

impl Term {
    /// Refuses an end before the start (field `end`).
    pub fn new(start: Date, end: Date) -> Result<Self, ValidationError> {
        let _ = (start, end);
        todo!("helper")
    }

    /// The term after this one: it starts the day after `end` and, unless `new_end` is
    /// given, lasts as long as this one, computed in months and days from its own start
    /// (a year from 2027-02-01 ends 2028-01-31).
    pub fn next(&self, new_end: Option<Date>) -> Result<Term, ValidationError> {
        let _ = new_end;
        todo!("helper")
    }
}
