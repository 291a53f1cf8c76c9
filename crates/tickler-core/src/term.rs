//! A contract term's dates: validation and the next term on renewal.

use jiff::{Span, civil::Date};

use crate::ValidationError;

/// A term runs from `start` through `end` (the expiry date, the last day covered).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Term {
    pub start: Date,
    pub end: Date,
}

/// A term's length as renewal repeats it: whole months, then days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TermLength {
    pub months: i32,
    pub days: i32,
}

impl Term {
    /// Refuses an end before the start (field `end`).
    pub fn new(start: Date, end: Date) -> Result<Self, ValidationError> {
        if end < start {
            return Err(ValidationError::new(
                "end",
                format!("the end date {end} is before the start date {start}"),
            ));
        }
        Ok(Self { start, end })
    }

    /// The term after this one: it starts the day after `end` and, unless `new_end` is
    /// given, lasts as long as this one, computed in months and days from its own start
    /// (a year from 2027-02-01 ends 2028-01-31).
    pub fn next(&self, new_end: Option<Date>) -> Result<Term, ValidationError> {
        let start = self.end.tomorrow().map_err(|_| beyond_calendar(self.end))?;
        let end = match new_end {
            Some(end) => end,
            None => {
                let length = self.length();
                add_months(start, length.months)
                    .and_then(|d| d.checked_add(Span::new().try_days(length.days).ok()?).ok())
                    .and_then(|d| d.yesterday().ok())
                    .ok_or_else(|| beyond_calendar(self.end))?
            }
        };
        Term::new(start, end)
    }

    /// How long the term is, for renewing it: the whole months and remaining days from
    /// `start` to the day after `end`, each month counted from `start` itself (so that
    /// 2027-01-31 + 1 month is 2027-02-28 but + 2 months is 2027-03-31).
    ///
    /// One exception: a term whose start day does not exist in its end month, such as
    /// 2024-02-29..2025-02-28 or 2025-03-31..2025-04-30, measures "N months and 1 day" from
    /// its start, yet is exactly N months counted back from its end, which is what its owner
    /// meant; it is taken as N whole months, so that renewals neither grow by a day nor drift.
    pub fn length(&self) -> TermLength {
        let Ok(after_end) = self.end.tomorrow() else {
            // A term ending on the last day of the calendar cannot be renewed anyway; `next`
            // reports that.
            return TermLength { months: 0, days: 0 };
        };
        let months_guess = i32::from(after_end.year() - self.start.year()) * 12
            + i32::from(after_end.month() - self.start.month());
        // Counted from the start, `months_guess` lands in the month of `after_end`, possibly
        // on a later day; one month fewer never passes it.
        let months = (months_guess - 1..=months_guess)
            .rev()
            .find(|&m| m >= 0 && add_months(self.start, m).is_some_and(|d| d <= after_end))
            .unwrap_or(0);
        let from_start = add_months(self.start, months).unwrap_or(self.start);
        let days = span_days(from_start, after_end);
        if days != 0 {
            // Only an exact step back counts: a clamped one (03-30 minus a month is 02-28)
            // would call a 28-day term a month.
            let back = add_months(self.end, -months).filter(|d| d.day() == self.end.day());
            if back.and_then(|d| d.tomorrow().ok()) == Some(self.start) {
                return TermLength { months, days: 0 };
            }
        }
        TermLength { months, days }
    }
}

fn add_months(date: Date, months: i32) -> Option<Date> {
    date.checked_add(Span::new().try_months(months).ok()?).ok()
}

fn span_days(from: Date, to: Date) -> i32 {
    from.until(to).map(|span| span.get_days()).unwrap_or(0)
}

fn beyond_calendar(end: Date) -> ValidationError {
    ValidationError::new(
        "end",
        format!("the term ending {end} cannot be renewed: the next one would end after 9999-12-31"),
    )
}

#[cfg(test)]
mod tests {
    use jiff::{ToSpan, civil::date};
    use proptest::prelude::*;

    use super::*;

    fn term(start: Date, end: Date) -> Term {
        Term::new(start, end).unwrap()
    }

    fn renewed(start: Date, end: Date) -> Term {
        term(start, end).next(None).unwrap()
    }

    #[test]
    fn an_end_before_the_start_is_refused_naming_both_dates() {
        let err = Term::new(date(2027, 5, 1), date(2027, 4, 30)).unwrap_err();
        assert_eq!(err.field, "end");
        assert!(err.message.contains("2027-04-30"), "{err}");
        assert!(err.message.contains("2027-05-01"), "{err}");
    }

    #[test]
    fn a_one_day_term_is_allowed_and_renews_for_a_day() {
        let day = date(2027, 5, 1);
        assert_eq!(
            term(day, day).next(None),
            Ok(term(date(2027, 5, 2), date(2027, 5, 2)))
        );
    }

    #[test]
    fn yearly_terms_renew_for_a_year() {
        assert_eq!(
            renewed(date(2027, 1, 1), date(2027, 12, 31)),
            term(date(2028, 1, 1), date(2028, 12, 31))
        );
        assert_eq!(
            renewed(date(2027, 2, 1), date(2028, 1, 31)),
            term(date(2028, 2, 1), date(2029, 1, 31))
        );
        // The renewal covers 2028-02-29 without losing or gaining a day.
        assert_eq!(
            renewed(date(2027, 3, 1), date(2028, 2, 29)),
            term(date(2028, 3, 1), date(2029, 2, 28))
        );
        assert_eq!(
            renewed(date(2027, 7, 15), date(2028, 7, 14)),
            term(date(2028, 7, 15), date(2029, 7, 14))
        );
    }

    #[test]
    fn a_term_starting_on_a_leap_day() {
        // A year back from 2025-02-28 is 2024-02-29: a year, not a year and a day.
        let leap = term(date(2024, 2, 29), date(2025, 2, 28));
        assert_eq!(
            leap.length(),
            TermLength {
                months: 12,
                days: 0
            }
        );
        let next = leap.next(None).unwrap();
        assert_eq!(next, term(date(2025, 3, 1), date(2026, 2, 28)));
        assert_eq!(
            next.next(None),
            Ok(term(date(2026, 3, 1), date(2027, 2, 28)))
        );
        // 12 months from 2024-02-29 counted forwards end on 2025-02-27.
        assert_eq!(
            renewed(date(2024, 2, 29), date(2025, 2, 27)),
            term(date(2025, 2, 28), date(2026, 2, 27))
        );
        // Four years from a leap day end the day before the next leap day.
        assert_eq!(
            renewed(date(2024, 2, 29), date(2028, 2, 28)),
            term(date(2028, 2, 29), date(2032, 2, 28))
        );
    }

    #[test]
    fn monthly_and_odd_terms() {
        assert_eq!(
            renewed(date(2027, 1, 1), date(2027, 1, 31)),
            term(date(2027, 2, 1), date(2027, 2, 28))
        );
        // A month from 03-31 ends 04-30 counted back; the next month is May.
        assert_eq!(
            renewed(date(2025, 3, 31), date(2025, 4, 30)),
            term(date(2025, 5, 1), date(2025, 5, 31))
        );
        // 30 days is not a month, even in a month of 31.
        let days_30 = term(date(2027, 3, 1), date(2027, 3, 30));
        assert_eq!(
            days_30.length(),
            TermLength {
                months: 0,
                days: 30
            }
        );
        assert_eq!(
            days_30.next(None),
            Ok(term(date(2027, 3, 31), date(2027, 4, 29)))
        );
        // Three months and ten days.
        let odd = term(date(2027, 1, 10), date(2027, 4, 19));
        assert_eq!(
            odd.length(),
            TermLength {
                months: 3,
                days: 10
            }
        );
        assert_eq!(
            odd.next(None),
            Ok(term(date(2027, 4, 20), date(2027, 7, 29)))
        );
    }

    #[test]
    fn an_explicit_new_end_is_checked() {
        let current = term(date(2027, 1, 1), date(2027, 12, 31));
        assert_eq!(
            current.next(Some(date(2028, 6, 30))),
            Ok(term(date(2028, 1, 1), date(2028, 6, 30)))
        );
        assert_eq!(
            current.next(Some(date(2028, 1, 1))),
            Ok(term(date(2028, 1, 1), date(2028, 1, 1)))
        );
        let err = current.next(Some(date(2027, 12, 31))).unwrap_err();
        assert_eq!(err.field, "end");
        assert!(
            err.message.contains("2027-12-31") && err.message.contains("2028-01-01"),
            "{err}"
        );
    }

    #[test]
    fn renewing_past_the_end_of_the_calendar_is_an_error_not_a_panic() {
        let err = term(date(9999, 1, 1), date(9999, 12, 31))
            .next(None)
            .unwrap_err();
        assert_eq!(err.field, "end");
        assert!(
            term(date(9998, 1, 1), date(9998, 12, 31))
                .next(None)
                .is_err()
        );
    }

    fn any_date() -> impl Strategy<Value = Date> {
        (1900i16..=2200, 1i8..=12, 1i8..=31)
            .prop_map(|(y, m, d)| date(y, m, d.min(date(y, m, 1).days_in_month())))
    }

    proptest! {
        #[test]
        fn the_next_term_is_contiguous_and_never_overlaps(start in any_date(), days in 0i32..2000) {
            let current = term(start, start.checked_add(days.days()).unwrap());
            let next = current.next(None).unwrap();
            prop_assert_eq!(next.start, current.end.tomorrow().unwrap());
            prop_assert!(next.start > current.end);
            prop_assert!(next.end >= next.start);
            // The current length, in months then days, laid from the new start.
            let length = current.length();
            let expected_end = next
                .start
                .checked_add(length.months.months())
                .and_then(|d| d.checked_add(length.days.days()))
                .and_then(|d| d.yesterday())
                .unwrap();
            prop_assert_eq!(next.end, expected_end);
            // A term shorter than any month keeps its exact number of days.
            if days < 27 {
                prop_assert_eq!(next.start.until(next.end).unwrap().get_days(), days);
            }
        }

        #[test]
        fn the_next_of_a_whole_months_term_is_as_many_months(start in any_date(), months in 1i32..=60) {
            let end = start.checked_add(months.months()).unwrap().yesterday().unwrap();
            let next = term(start, end).next(None).unwrap();
            prop_assert_eq!(next.start, end.tomorrow().unwrap());
            prop_assert_eq!(next.end, next.start.checked_add(months.months()).unwrap().yesterday().unwrap());
        }

        #[test]
        fn the_next_of_a_twelve_month_term_is_twelve_months(start in any_date()) {
            let end = start.checked_add(12.months()).unwrap().yesterday().unwrap();
            let next = term(start, end).next(None).unwrap();
            prop_assert_eq!(next.length(), TermLength { months: 12, days: 0 });
            prop_assert_eq!(next.next(None).unwrap().length(), TermLength { months: 12, days: 0 });
        }

        #[test]
        fn renewal_is_a_pure_function(start in any_date(), days in 0i32..800) {
            let current = term(start, start.checked_add(days.days()).unwrap());
            prop_assert_eq!(current.next(None), current.next(None));
        }

        #[test]
        fn an_explicit_end_is_taken_or_refused(start in any_date(), days in 0i32..800, new_days in -5i32..800) {
            let current = term(start, start.checked_add(days.days()).unwrap());
            let new_end = current.end.checked_add(new_days.days()).unwrap();
            match current.next(Some(new_end)) {
                Ok(next) => {
                    prop_assert!(new_days >= 1);
                    prop_assert_eq!(next, term(current.end.tomorrow().unwrap(), new_end));
                }
                Err(err) => {
                    prop_assert!(new_days < 1);
                    prop_assert_eq!(err.field, "end");
                }
            }
        }
    }
}
