//! A recurring sale's billing schedule: how often it is invoiced, and the periods and issue
//! dates that follow from its anchor. See DESIGN.md "Time rules" and "Money and invoices".

use std::{fmt, str::FromStr};

use jiff::{Span, civil::Date};
use serde::{Deserialize, Serialize};

use crate::{ValidationError, plan::text_enum};

/// No schedule yields more periods than this: daily billing for 27 years, monthly for 833.
/// It bounds the work (and memory) a mistyped end date can cause.
pub const MAX_CYCLES: u32 = 10_000;

/// The longest interval accepted, in years; anything longer is almost certainly a typo.
const MAX_INTERVAL_YEARS: u32 = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IntervalUnit {
    Days,
    Weeks,
    Months,
    Years,
}

impl IntervalUnit {
    pub const ALL: [IntervalUnit; 4] = [
        IntervalUnit::Days,
        IntervalUnit::Weeks,
        IntervalUnit::Months,
        IntervalUnit::Years,
    ];

    /// The letter an interval is written with: "3m".
    pub fn letter(self) -> char {
        match self {
            IntervalUnit::Days => 'd',
            IntervalUnit::Weeks => 'w',
            IntervalUnit::Months => 'm',
            IntervalUnit::Years => 'y',
        }
    }

    /// The most of this unit that stays within ten years: 3650d, 520w, 120m, 10y.
    pub fn max_count(self) -> u32 {
        match self {
            IntervalUnit::Days => MAX_INTERVAL_YEARS * 365,
            IntervalUnit::Weeks => MAX_INTERVAL_YEARS * 52,
            IntervalUnit::Months => MAX_INTERVAL_YEARS * 12,
            IntervalUnit::Years => MAX_INTERVAL_YEARS,
        }
    }

    fn from_letter(letter: char) -> Option<Self> {
        match letter.to_ascii_lowercase() {
            'd' => Some(IntervalUnit::Days),
            'w' => Some(IntervalUnit::Weeks),
            'm' => Some(IntervalUnit::Months),
            'y' => Some(IntervalUnit::Years),
            _ => None,
        }
    }
}

/// How often a sale is invoiced: every `count` units. Deserializing checks the same limits
/// as [`BillingInterval::parse`], so a stored interval is as valid as a typed one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "RawInterval")]
pub struct BillingInterval {
    pub count: u32,
    pub unit: IntervalUnit,
}

#[derive(Deserialize)]
struct RawInterval {
    count: u32,
    unit: IntervalUnit,
}

impl TryFrom<RawInterval> for BillingInterval {
    type Error = ValidationError;

    fn try_from(raw: RawInterval) -> Result<Self, Self::Error> {
        BillingInterval::new("interval", raw.count, raw.unit)
    }
}

const INTERVAL_EXAMPLES: &str = "use a count and a unit: 1m, 3m, 2w, 1y, 10d";

impl BillingInterval {
    /// Checks the count: at least 1, and at most ten years' worth of the unit.
    pub fn new(field: &str, count: u32, unit: IntervalUnit) -> Result<Self, ValidationError> {
        let interval = Self { count, unit };
        if count == 0 {
            return Err(ValidationError::new(
                field,
                format!("\"{interval}\": a billing interval must be at least 1"),
            ));
        }
        if count > unit.max_count() {
            return Err(too_long(field, &interval.to_string(), unit));
        }
        Ok(interval)
    }

    /// "1m", "3m", "2w", "1y", "10d" (unit letter case-insensitive, surrounding spaces trimmed).
    pub fn parse(field: &str, text: &str) -> Result<Self, ValidationError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(ValidationError::new(
                field,
                format!("a billing interval is required ({INTERVAL_EXAMPLES})"),
            ));
        }
        let digits_end = text
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len());
        let (number, rest) = text.split_at(digits_end);
        if number.is_empty() {
            return Err(ValidationError::new(
                field,
                format!("\"{text}\" has no number ({INTERVAL_EXAMPLES})"),
            ));
        }
        let unit_text = rest.trim_start();
        let mut letters = unit_text.chars();
        let unit = match (letters.next(), letters.next()) {
            (None, _) => {
                return Err(ValidationError::new(
                    field,
                    format!("\"{text}\" has no unit (use d, w, m or y: {number}m)"),
                ));
            }
            (Some('.' | ','), _) => {
                return Err(ValidationError::new(
                    field,
                    format!("\"{text}\": the count must be a whole number ({INTERVAL_EXAMPLES})"),
                ));
            }
            (Some(letter), None) => IntervalUnit::from_letter(letter),
            (Some(_), Some(_)) => None,
        };
        let Some(unit) = unit else {
            return Err(ValidationError::new(
                field,
                format!("\"{text}\": unknown unit \"{unit_text}\" (use d, w, m or y)"),
            ));
        };
        // Only digits: a parse failure can only mean too many of them.
        let Ok(count) = number.parse::<u32>() else {
            return Err(too_long(field, text, unit));
        };
        if count == 0 {
            return Err(ValidationError::new(
                field,
                format!("\"{text}\": a billing interval must be at least 1"),
            ));
        }
        if count > unit.max_count() {
            return Err(too_long(field, text, unit));
        }
        Ok(Self { count, unit })
    }

    /// Start + `n` intervals, counted from `start` itself so that month ends clamp without
    /// drifting (2027-01-31 + 2 months is 2027-03-31, not 2027-03-28). None past the calendar.
    fn times_from(self, start: Date, n: u32) -> Option<Date> {
        let units = i64::from(self.count) * i64::from(n);
        let span = match self.unit {
            IntervalUnit::Days => Span::new().try_days(units),
            IntervalUnit::Weeks => Span::new().try_days(units.checked_mul(7)?),
            IntervalUnit::Months => Span::new().try_months(units),
            IntervalUnit::Years => Span::new().try_months(units.checked_mul(12)?),
        };
        // A span jiff refuses is longer than its whole calendar, so the date is beyond it too.
        start.checked_add(span.ok()?).ok()
    }
}

fn too_long(field: &str, text: &str, unit: IntervalUnit) -> ValidationError {
    ValidationError::new(
        field,
        format!(
            "\"{text}\" is too long: a billing interval is at most {MAX_INTERVAL_YEARS} years ({}{})",
            unit.max_count(),
            unit.letter()
        ),
    )
}

impl fmt::Display for BillingInterval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.count, self.unit.letter())
    }
}

impl FromStr for BillingInterval {
    type Err = ValidationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse("interval", s)
    }
}

/// Whether a period is invoiced when it begins or once it is over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BillingTiming {
    InAdvance,
    InArrears,
}

text_enum!(BillingTiming, "billing timing", {
    BillingTiming::InAdvance => "in_advance",
    BillingTiming::InArrears => "in_arrears",
});

/// What happens to an invoice when its period's time comes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InvoiceMode {
    /// Issued (numbered) and emailed at once.
    Issue,
    /// Made as a draft that waits for approval: a prepayment can be recorded first.
    Draft,
}

text_enum!(InvoiceMode, "invoice mode", {
    InvoiceMode::Issue => "issue",
    InvoiceMode::Draft => "draft",
});

/// A recurring sale's billing: every `interval` from `start`, for periods starting on or
/// before `end`, at most `cycles` of them when given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BillingSchedule {
    pub interval: BillingInterval,
    pub timing: BillingTiming,
    pub start: Date,
    pub end: Date,
    pub cycles: Option<u32>,
}

/// One invoiced period of a schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BillingPeriod {
    /// 1-based: the first invoice of a sale is cycle 1.
    pub cycle: u32,
    pub start: Date,
    /// Inclusive: the day before the next period starts.
    pub end: Date,
    pub issue_date: Date,
}

impl BillingSchedule {
    /// Every period, in order. Period k starts at `start` + k intervals, computed from `start`
    /// each time, and ends the day before period k+1 starts. A period is billed in full if it
    /// starts on or before `end` (no proration), up to `cycles` and [`MAX_CYCLES`] periods.
    ///
    /// A period whose successor would start beyond 9999-12-31 is left out: its end (and an
    /// in-arrears issue date) would not be on the calendar. An interval of 0 (only possible
    /// by building the struct by hand) yields nothing rather than endless copies of one day.
    pub fn periods(&self) -> Vec<BillingPeriod> {
        if self.interval.count == 0 {
            return Vec::new();
        }
        let limit = self.cycles.map_or(MAX_CYCLES, |c| c.min(MAX_CYCLES));
        let mut periods = Vec::new();
        let mut this_start = self.start;
        for k in 0..limit {
            if this_start > self.end {
                break;
            }
            let Some(next_start) = self.interval.times_from(self.start, k + 1) else {
                break;
            };
            // The interval is at least a day, so the next period starts after this one.
            let Ok(end) = next_start.yesterday() else {
                break;
            };
            let issue_date = match self.timing {
                BillingTiming::InAdvance => this_start,
                BillingTiming::InArrears => next_start,
            };
            periods.push(BillingPeriod {
                cycle: k + 1,
                start: this_start,
                end,
                issue_date,
            });
            this_start = next_start;
        }
        periods
    }
}

/// The end date of a sale billed `cycles` times from `start`: the day before period
/// `cycles` + 1 would start, so that [`BillingSchedule::periods`] yields exactly `cycles`.
pub fn end_after_cycles(
    start: Date,
    interval: BillingInterval,
    cycles: u32,
) -> Result<Date, ValidationError> {
    if cycles == 0 {
        return Err(ValidationError::new(
            "cycles",
            "the number of cycles must be at least 1",
        ));
    }
    if cycles > MAX_CYCLES {
        return Err(ValidationError::new(
            "cycles",
            format!("{cycles} cycles are too many (at most {MAX_CYCLES})"),
        ));
    }
    if interval.count == 0 {
        return Err(ValidationError::new(
            "interval",
            "a billing interval must be at least 1",
        ));
    }
    interval
        .times_from(start, cycles)
        .and_then(|after| after.yesterday().ok())
        .ok_or_else(|| {
            ValidationError::new(
                "cycles",
                format!(
                    "{cycles} cycles of {interval} from {start} would end after {}",
                    Date::MAX
                ),
            )
        })
}

#[cfg(test)]
mod tests {
    use jiff::{ToSpan, civil::date};
    use proptest::prelude::*;

    use super::*;

    fn iv(text: &str) -> BillingInterval {
        BillingInterval::parse("interval", text).unwrap()
    }

    fn parse_err(text: &str) -> String {
        let err = BillingInterval::parse("interval", text).unwrap_err();
        assert_eq!(err.field, "interval");
        err.message
    }

    fn schedule(interval: &str, start: Date, end: Date) -> BillingSchedule {
        BillingSchedule {
            interval: iv(interval),
            timing: BillingTiming::InAdvance,
            start,
            end,
            cycles: None,
        }
    }

    fn starts(schedule: &BillingSchedule) -> Vec<Date> {
        schedule.periods().iter().map(|p| p.start).collect()
    }

    // --- intervals --------------------------------------------------------------------

    #[test]
    fn intervals_parse_in_any_case_and_print_back() {
        let cases = [
            ("1m", 1, IntervalUnit::Months),
            ("3M", 3, IntervalUnit::Months),
            (" 2w ", 2, IntervalUnit::Weeks),
            ("1y", 1, IntervalUnit::Years),
            ("10d", 10, IntervalUnit::Days),
            ("10 D", 10, IntervalUnit::Days),
            ("007m", 7, IntervalUnit::Months),
        ];
        for (text, count, unit) in cases {
            let interval = iv(text);
            assert_eq!(interval, BillingInterval { count, unit }, "{text}");
            assert_eq!(iv(&interval.to_string()), interval);
        }
        assert_eq!(iv("3M").to_string(), "3m");
        assert_eq!(iv("007m").to_string(), "7m");
        assert_eq!("2w".parse::<BillingInterval>(), Ok(iv("2w")));
    }

    #[test]
    fn interval_errors_say_what_is_wrong_quoting_the_text() {
        assert_eq!(
            parse_err("  "),
            "a billing interval is required (use a count and a unit: 1m, 3m, 2w, 1y, 10d)"
        );
        assert_eq!(
            parse_err("m"),
            "\"m\" has no number (use a count and a unit: 1m, 3m, 2w, 1y, 10d)"
        );
        assert_eq!(
            parse_err("-1m"),
            "\"-1m\" has no number (use a count and a unit: 1m, 3m, 2w, 1y, 10d)"
        );
        assert_eq!(parse_err("3"), "\"3\" has no unit (use d, w, m or y: 3m)");
        assert_eq!(
            parse_err("0m"),
            "\"0m\": a billing interval must be at least 1"
        );
        assert_eq!(
            parse_err("5x"),
            "\"5x\": unknown unit \"x\" (use d, w, m or y)"
        );
        assert_eq!(
            parse_err("3 months"),
            "\"3 months\": unknown unit \"months\" (use d, w, m or y)"
        );
        assert_eq!(
            parse_err("1.5m"),
            "\"1.5m\": the count must be a whole number (use a count and a unit: 1m, 3m, 2w, 1y, 10d)"
        );
        assert_eq!(
            parse_err("121m"),
            "\"121m\" is too long: a billing interval is at most 10 years (120m)"
        );
        assert_eq!(
            parse_err("99999999999999999999d"),
            "\"99999999999999999999d\" is too long: a billing interval is at most 10 years (3650d)"
        );
    }

    #[test]
    fn the_longest_intervals_are_ten_years() {
        for text in ["3650d", "520w", "120m", "10y"] {
            assert_eq!(iv(text).to_string(), text);
        }
        for text in ["3651d", "521w", "121m", "11y"] {
            assert!(parse_err(text).contains("is too long"), "{text}");
        }
    }

    #[test]
    fn stored_intervals_are_checked_when_read_back() {
        let json = serde_json::to_string(&iv("3m")).unwrap();
        assert_eq!(json, r#"{"count":3,"unit":"months"}"#);
        assert_eq!(
            serde_json::from_str::<BillingInterval>(&json).unwrap(),
            iv("3m")
        );
        assert!(serde_json::from_str::<BillingInterval>(r#"{"count":0,"unit":"days"}"#).is_err());
        assert!(serde_json::from_str::<BillingInterval>(r#"{"count":11,"unit":"years"}"#).is_err());
        let err = BillingInterval::new("every", 0, IntervalUnit::Weeks).unwrap_err();
        assert_eq!(err.field, "every");
        assert_eq!(err.message, "\"0w\": a billing interval must be at least 1");
    }

    #[test]
    fn timings_round_trip_through_text() {
        for timing in [BillingTiming::InAdvance, BillingTiming::InArrears] {
            assert_eq!(timing.as_str().parse::<BillingTiming>(), Ok(timing));
        }
        assert_eq!(BillingTiming::InArrears.to_string(), "in_arrears");
        let err = "later".parse::<BillingTiming>().unwrap_err();
        assert!(err.message.contains("in_advance, in_arrears"), "{err}");
    }

    // --- periods ----------------------------------------------------------------------

    #[test]
    fn monthly_from_the_31st_lands_on_each_months_last_day_without_drifting() {
        let s = schedule("1m", date(2027, 1, 31), date(2027, 6, 29));
        assert_eq!(
            starts(&s),
            vec![
                date(2027, 1, 31),
                date(2027, 2, 28),
                date(2027, 3, 31),
                date(2027, 4, 30),
                date(2027, 5, 31),
            ]
        );
        let periods = s.periods();
        assert_eq!(periods[0].end, date(2027, 2, 27));
        assert_eq!(periods[1].end, date(2027, 3, 30));
        assert_eq!(periods[4].end, date(2027, 6, 29));
        let cycles: Vec<u32> = periods.iter().map(|p| p.cycle).collect();
        assert_eq!(cycles, vec![1, 2, 3, 4, 5]);
    }

    #[test]
    fn a_leap_day_anchor_comes_back_in_leap_years() {
        let s = schedule("12m", date(2028, 2, 29), date(2032, 12, 31));
        assert_eq!(
            starts(&s),
            vec![
                date(2028, 2, 29),
                date(2029, 2, 28),
                date(2030, 2, 28),
                date(2031, 2, 28),
                date(2032, 2, 29),
            ]
        );
        assert_eq!(
            starts(&schedule("1y", date(2028, 2, 29), date(2032, 12, 31))),
            starts(&s)
        );
        assert_eq!(s.periods()[0].end, date(2029, 2, 27));
        assert_eq!(s.periods()[3].end, date(2032, 2, 28));
    }

    #[test]
    fn quarterly_weekly_and_daily() {
        assert_eq!(
            starts(&schedule("3m", date(2027, 11, 30), date(2028, 9, 1))),
            vec![
                date(2027, 11, 30),
                date(2028, 2, 29),
                date(2028, 5, 30),
                date(2028, 8, 30),
            ]
        );
        assert_eq!(
            starts(&schedule("2w", date(2027, 12, 20), date(2028, 1, 31))),
            vec![
                date(2027, 12, 20),
                date(2028, 1, 3),
                date(2028, 1, 17),
                date(2028, 1, 31),
            ]
        );
        let daily = schedule("10d", date(2027, 2, 25), date(2027, 3, 7));
        assert_eq!(
            daily.periods(),
            vec![
                BillingPeriod {
                    cycle: 1,
                    start: date(2027, 2, 25),
                    end: date(2027, 3, 6),
                    issue_date: date(2027, 2, 25),
                },
                BillingPeriod {
                    cycle: 2,
                    start: date(2027, 3, 7),
                    end: date(2027, 3, 16),
                    issue_date: date(2027, 3, 7),
                },
            ]
        );
    }

    #[test]
    fn the_last_period_is_billed_in_full_even_past_the_end() {
        let s = schedule("1m", date(2027, 1, 1), date(2027, 3, 15));
        let periods = s.periods();
        assert_eq!(periods.len(), 3);
        assert_eq!(periods[2].start, date(2027, 3, 1));
        assert_eq!(periods[2].end, date(2027, 3, 31));
        // A period starting the day after the end is not billed.
        let s = schedule("1m", date(2027, 1, 1), date(2027, 2, 28));
        assert_eq!(s.periods().len(), 2);
    }

    #[test]
    fn in_arrears_issues_the_day_after_a_period_ends() {
        let s = BillingSchedule {
            timing: BillingTiming::InArrears,
            ..schedule("1m", date(2027, 1, 31), date(2027, 3, 31))
        };
        let issues: Vec<Date> = s.periods().iter().map(|p| p.issue_date).collect();
        assert_eq!(
            issues,
            vec![date(2027, 2, 28), date(2027, 3, 31), date(2027, 4, 30)]
        );
    }

    #[test]
    fn cycles_cap_the_number_of_periods() {
        let s = BillingSchedule {
            cycles: Some(2),
            ..schedule("1m", date(2027, 1, 1), date(2030, 1, 1))
        };
        assert_eq!(s.periods().len(), 2);
        let none = BillingSchedule {
            cycles: Some(0),
            ..s
        };
        assert!(none.periods().is_empty());
        // The end still stops a schedule with cycles to spare.
        let short = BillingSchedule {
            cycles: Some(12),
            ..schedule("1m", date(2027, 1, 1), date(2027, 1, 1))
        };
        assert_eq!(short.periods().len(), 1);
    }

    #[test]
    fn an_end_before_the_start_bills_nothing() {
        assert!(
            schedule("1m", date(2027, 1, 1), date(2026, 12, 31))
                .periods()
                .is_empty()
        );
        assert_eq!(
            schedule("1m", date(2027, 1, 1), date(2027, 1, 1))
                .periods()
                .len(),
            1
        );
    }

    #[test]
    fn schedules_are_bounded() {
        let daily = schedule("1d", date(2000, 1, 1), Date::MAX);
        let periods = daily.periods();
        assert_eq!(periods.len(), MAX_CYCLES as usize);
        assert_eq!(periods.last().unwrap().cycle, MAX_CYCLES);
        let capped = BillingSchedule {
            cycles: Some(u32::MAX),
            ..daily
        };
        assert_eq!(capped.periods().len(), MAX_CYCLES as usize);
    }

    #[test]
    fn a_hand_built_zero_interval_yields_nothing() {
        let s = BillingSchedule {
            interval: BillingInterval {
                count: 0,
                unit: IntervalUnit::Days,
            },
            ..schedule("1m", date(2027, 1, 1), date(2028, 1, 1))
        };
        assert!(s.periods().is_empty());
        assert_eq!(
            end_after_cycles(date(2027, 1, 1), s.interval, 3)
                .unwrap_err()
                .field,
            "interval"
        );
    }

    #[test]
    fn periods_stop_at_the_end_of_the_calendar() {
        let s = schedule("10y", date(9980, 6, 1), Date::MAX);
        let periods = s.periods();
        // 9990-06-01 would end on 10000-05-31: not on the calendar.
        assert_eq!(starts(&s), vec![date(9980, 6, 1)]);
        assert_eq!(periods[0].end, date(9990, 5, 31));
        let last_day = schedule("1d", date(9999, 12, 29), Date::MAX);
        assert_eq!(
            starts(&last_day),
            vec![date(9999, 12, 29), date(9999, 12, 30)]
        );
    }

    // --- end after cycles -------------------------------------------------------------

    #[test]
    fn end_after_cycles_is_the_day_before_the_next_period() {
        assert_eq!(
            end_after_cycles(date(2027, 1, 31), iv("1m"), 12),
            Ok(date(2028, 1, 30))
        );
        assert_eq!(
            end_after_cycles(date(2027, 1, 31), iv("1m"), 1),
            Ok(date(2027, 2, 27))
        );
        assert_eq!(
            end_after_cycles(date(2028, 2, 29), iv("1y"), 4),
            Ok(date(2032, 2, 28))
        );
        assert_eq!(
            end_after_cycles(date(2027, 1, 4), iv("2w"), 3),
            Ok(date(2027, 2, 14))
        );
        assert_eq!(
            end_after_cycles(date(2027, 1, 1), iv("1d"), MAX_CYCLES),
            Ok(date(2054, 5, 18))
        );
    }

    #[test]
    fn end_after_cycles_refuses_impossible_counts() {
        let err = end_after_cycles(date(2027, 1, 1), iv("1m"), 0).unwrap_err();
        assert_eq!(err.field, "cycles");
        assert_eq!(err.message, "the number of cycles must be at least 1");
        let err = end_after_cycles(date(2027, 1, 1), iv("1m"), MAX_CYCLES + 1).unwrap_err();
        assert_eq!(err.message, "10001 cycles are too many (at most 10000)");
        let err = end_after_cycles(date(2027, 1, 1), iv("10y"), 800).unwrap_err();
        assert_eq!(
            err.message,
            "800 cycles of 10y from 2027-01-01 would end after 9999-12-31"
        );
        assert!(end_after_cycles(date(9999, 12, 1), iv("1m"), 1).is_err());
        assert_eq!(
            end_after_cycles(date(9999, 11, 1), iv("1m"), 1),
            Ok(date(9999, 11, 30))
        );
    }

    // --- properties -------------------------------------------------------------------

    fn any_date() -> impl Strategy<Value = Date> {
        (1900i16..=2200, 1i8..=12, 1i8..=31)
            .prop_map(|(y, m, d)| date(y, m, d.min(date(y, m, 1).days_in_month())))
    }

    fn any_interval() -> impl Strategy<Value = BillingInterval> {
        proptest::sample::select(IntervalUnit::ALL.to_vec()).prop_flat_map(|unit| {
            (1..=unit.max_count()).prop_map(move |count| BillingInterval { count, unit })
        })
    }

    /// Short intervals, so that a few years hold many periods.
    fn any_common_interval() -> impl Strategy<Value = BillingInterval> {
        (
            1u32..=13,
            proptest::sample::select(IntervalUnit::ALL.to_vec()),
        )
            .prop_map(|(count, unit)| BillingInterval {
                count: count.min(unit.max_count()),
                unit,
            })
    }

    fn any_timing() -> impl Strategy<Value = BillingTiming> {
        proptest::sample::select(vec![BillingTiming::InAdvance, BillingTiming::InArrears])
    }

    fn any_schedule() -> impl Strategy<Value = BillingSchedule> {
        (
            any_common_interval(),
            any_timing(),
            any_date(),
            -30i32..3000,
            proptest::option::of(0u32..60),
        )
            .prop_map(|(interval, timing, start, days, cycles)| BillingSchedule {
                interval,
                timing,
                start,
                end: start.checked_add(days.days()).unwrap(),
                cycles,
            })
    }

    proptest! {
        #[test]
        fn periods_are_contiguous_and_within_the_bounds(s in any_schedule()) {
            let periods = s.periods();
            if s.end >= s.start && s.cycles != Some(0) {
                prop_assert!(!periods.is_empty());
                prop_assert_eq!(periods[0].start, s.start);
            } else {
                prop_assert!(periods.is_empty());
            }
            if let Some(cycles) = s.cycles {
                prop_assert!(periods.len() <= cycles as usize);
            }
            for (i, p) in periods.iter().enumerate() {
                prop_assert_eq!(p.cycle as usize, i + 1);
                prop_assert!(p.start <= s.end);
                prop_assert!(p.start <= p.end);
                prop_assert_eq!(p.start, s.interval.times_from(s.start, i as u32).unwrap());
                match s.timing {
                    BillingTiming::InAdvance => prop_assert_eq!(p.issue_date, p.start),
                    BillingTiming::InArrears => prop_assert_eq!(p.issue_date, p.end.tomorrow().unwrap()),
                }
            }
            for pair in periods.windows(2) {
                prop_assert_eq!(pair[1].start, pair[0].end.tomorrow().unwrap());
            }
            // Nothing billable was left out: the next period starts after the end, or the
            // cycles ran out.
            if let Some(last) = periods.last() {
                let more_allowed = s.cycles.is_none_or(|c| periods.len() < c as usize);
                prop_assert!(!more_allowed || last.end >= s.end);
            }
        }

        #[test]
        fn month_intervals_land_on_the_anchor_day_or_the_months_last(
            start in any_date(),
            count in 1u32..=24,
            years in any::<bool>(),
            timing in any_timing(),
        ) {
            let interval = if years {
                BillingInterval { count: count.min(10), unit: IntervalUnit::Years }
            } else {
                BillingInterval { count, unit: IntervalUnit::Months }
            };
            let months_each = if years { interval.count * 12 } else { interval.count };
            let end = start.checked_add(10.years()).unwrap();
            let s = BillingSchedule { interval, timing, start, end, cycles: None };
            for (k, p) in s.periods().iter().enumerate() {
                prop_assert_eq!(p.start.day(), start.day().min(p.start.days_in_month()));
                let months_from_start = (i32::from(p.start.year()) - i32::from(start.year())) * 12
                    + i32::from(p.start.month()) - i32::from(start.month());
                prop_assert_eq!(months_from_start, k as i32 * months_each as i32);
            }
        }

        #[test]
        fn day_and_week_intervals_are_exact_day_counts(
            start in any_date(),
            count in 1u32..=60,
            weeks in any::<bool>(),
        ) {
            let (unit, days_each) = if weeks {
                (IntervalUnit::Weeks, count * 7)
            } else {
                (IntervalUnit::Days, count)
            };
            let end = start.checked_add(3.years()).unwrap();
            let s = BillingSchedule {
                interval: BillingInterval { count, unit },
                timing: BillingTiming::InAdvance,
                start,
                end,
                cycles: None,
            };
            for p in s.periods() {
                prop_assert_eq!(p.start.until(p.end).unwrap().get_days() + 1, days_each as i32);
            }
        }

        #[test]
        fn billing_until_end_after_cycles_yields_exactly_those_cycles(
            start in any_date(),
            interval in any_common_interval(),
            cycles in 1u32..200,
            timing in any_timing(),
        ) {
            let end = end_after_cycles(start, interval, cycles).unwrap();
            let periods = BillingSchedule { interval, timing, start, end, cycles: None }.periods();
            prop_assert_eq!(periods.len(), cycles as usize);
            prop_assert_eq!(periods.last().unwrap().end, end);
        }

        #[test]
        fn intervals_round_trip_through_text(interval in any_interval(), upper in any::<bool>()) {
            let text = interval.to_string();
            let typed = if upper { text.to_uppercase() } else { text.clone() };
            prop_assert_eq!(BillingInterval::parse("interval", &typed), Ok(interval));
            prop_assert_eq!(BillingInterval::new("interval", interval.count, interval.unit), Ok(interval));
        }

        #[test]
        fn arbitrary_interval_text_never_panics(text in "\\PC{0,12}") {
            match BillingInterval::parse("interval", &text) {
                Ok(interval) => {
                    prop_assert!(interval.count >= 1 && interval.count <= interval.unit.max_count());
                }
                Err(err) => {
                    prop_assert_eq!(err.field, "interval");
                    let trimmed = text.trim();
                    if !trimmed.is_empty() {
                        let quoted = format!("\"{trimmed}\"");
                        prop_assert!(err.message.contains(&quoted), "{}", err.message);
                    }
                }
            }
        }
    }
}
