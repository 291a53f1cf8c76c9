//! The window of `tickler preview --from DATE --to DATE`: a span of whole days, both
//! included, in the organisation's time zone, as the half-open range of instants
//! `[start, end)` that the dispatcher's clock will pass through.

use jiff::{
    Timestamp, ToSpan,
    civil::{Date, Time},
    tz::TimeZone,
};

use crate::{
    ValidationError,
    error::{parse_date, parse_instant},
    schedule::local_instant,
};

/// The instants `[start, end)` a preview covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendWindow {
    pub start: Timestamp,
    /// The first instant after the window.
    pub end: Timestamp,
}

impl SendWindow {
    pub fn contains(&self, at: Timestamp) -> bool {
        self.start <= at && at < self.end
    }
}

/// Where a local day begins in `tz`: its midnight, or the first instant after a midnight
/// that does not exist (a zone that springs forward at 00:00).
pub fn start_of_day(date: Date, tz: &TimeZone) -> Timestamp {
    local_instant(date, Time::midnight(), tz)
}

/// One end of a window as the user typed it, read in `field` (`--from`, `--to`).
enum Bound {
    Day(Date),
    Instant(Timestamp),
}

fn bound(field: &str, text: &str) -> Result<Bound, ValidationError> {
    let text = text.trim();
    if text.len() > 10 {
        return parse_instant(field, text).map(Bound::Instant).map_err(|_| {
            ValidationError::new(
                field,
                format!(
                    "\"{text}\" is neither a date (YYYY-MM-DD) nor an RFC 3339 instant \
                         (e.g. 2027-01-30T09:00:00Z)"
                ),
            )
        });
    }
    parse_date(field, text).map(Bound::Day)
}

/// The window from `--from` to `--to`, both included: a date stands for the whole local day
/// in `tz`, an RFC 3339 instant for itself (`--to` an instant: up to and including that
/// millisecond, the store's precision). `--to` before `--from` is refused, naming `--to`.
pub fn send_window(from: &str, to: &str, tz: &TimeZone) -> Result<SendWindow, ValidationError> {
    let from_bound = bound("--from", from);
    let to_bound = bound("--to", to);
    let (from_bound, to_bound) = match (from_bound, to_bound) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(a), Err(b)) => return Err(a.and(b)),
        (Err(e), _) | (_, Err(e)) => return Err(e),
    };
    let start = match from_bound {
        Bound::Day(date) => start_of_day(date, tz),
        Bound::Instant(at) => at,
    };
    let end = match to_bound {
        Bound::Day(date) => match date.checked_add(1.day()) {
            Ok(next) => start_of_day(next, tz),
            Err(_) => Timestamp::MAX,
        },
        Bound::Instant(at) => at
            .checked_add(jiff::SignedDuration::from_millis(1))
            .unwrap_or(Timestamp::MAX),
    };
    if end <= start {
        return Err(ValidationError::new(
            "--to",
            format!(
                "\"{}\" is before --from \"{}\" (the window runs from --from to --to, both \
                 included)",
                to.trim(),
                from.trim()
            ),
        ));
    }
    Ok(SendWindow { start, end })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const ZONES: [&str; 7] = [
        "UTC",
        "Asia/Tokyo",
        "Europe/Athens",
        "America/New_York",
        "America/Santiago",
        "Australia/Lord_Howe",
        "Pacific/Chatham",
    ];

    fn tz(name: &str) -> TimeZone {
        TimeZone::get(name).unwrap()
    }

    fn any_date() -> impl Strategy<Value = Date> {
        (2000i16..=2060, 1i8..=12, 1i8..=31).prop_map(|(y, m, d)| {
            let first = Date::new(y, m, 1).unwrap();
            Date::new(y, m, d.min(first.days_in_month())).unwrap()
        })
    }

    #[test]
    fn one_day_in_tokyo_is_the_utc_day_before_from_15_00() {
        let window = send_window("2027-03-01", "2027-03-01", &tz("Asia/Tokyo")).unwrap();
        assert_eq!(window.start, "2027-02-28T15:00:00Z".parse().unwrap());
        assert_eq!(window.end, "2027-03-01T15:00:00Z".parse().unwrap());
    }

    #[test]
    fn a_day_that_springs_forward_is_23_hours_long() {
        // Athens moves its clocks from 03:00 to 04:00 on the last Sunday of March.
        let window = send_window("2027-03-28", "2027-03-28", &tz("Europe/Athens")).unwrap();
        assert_eq!(window.start.duration_until(window.end).as_hours(), 23);
    }

    #[test]
    fn instants_are_taken_as_they_are_and_to_is_included() {
        let window = send_window(
            "2027-03-01T09:00:00Z",
            "2027-03-01T10:00:00+01:00",
            &tz("Asia/Tokyo"),
        )
        .unwrap();
        assert_eq!(window.start, "2027-03-01T09:00:00Z".parse().unwrap());
        assert!(window.contains("2027-03-01T09:00:00Z".parse().unwrap()));
        assert!(window.contains("2027-03-01T09:00:00.000Z".parse().unwrap()));
        assert!(!window.contains("2027-03-01T09:00:00.001Z".parse().unwrap()));
        let one = send_window(
            "2027-03-01T09:00:00Z",
            "2027-03-01T09:00:00Z",
            &TimeZone::UTC,
        )
        .unwrap();
        assert!(one.contains("2027-03-01T09:00:00Z".parse().unwrap()));
    }

    #[test]
    fn mistakes_name_the_flag() {
        let utc = TimeZone::UTC;
        let err = send_window("2027-03-10", "2027-03-09", &utc).unwrap_err();
        assert_eq!(err.field, "--to");
        assert!(err.message.contains("before --from"), "{err}");
        let err = send_window("2027-02-30", "2027-03-09", &utc).unwrap_err();
        assert_eq!(err.field, "--from");
        assert!(err.to_string().contains("2027-02-30"), "{err}");
        let err = send_window("2027-03-01", "next week", &utc).unwrap_err();
        assert_eq!(err.field, "--to");
        let err = send_window("tomorrow", "2027-13-01", &utc).unwrap_err();
        assert_eq!(err.field, "--from");
        assert!(err.about("--to").is_some(), "{err}");
    }

    proptest! {
        #[test]
        fn every_local_instant_of_the_days_is_inside_and_nothing_else(
            zone in proptest::sample::select(ZONES.to_vec()),
            from in any_date(),
            days in 0i32..40,
            hour in 0i8..24,
            minute in 0i8..60,
        ) {
            let zone = tz(zone);
            let to = from.checked_add(days.days()).unwrap();
            let window = send_window(&from.to_string(), &to.to_string(), &zone).unwrap();
            for date in [from, to] {
                let at = local_instant(date, Time::new(hour, minute, 0, 0).unwrap(), &zone);
                prop_assert!(window.contains(at), "{date} {hour}:{minute} {window:?}");
            }
            let before = window.start.checked_sub(jiff::SignedDuration::from_nanos(1)).unwrap();
            prop_assert!(before.to_zoned_datetime(zone.clone()).date() < from);
            prop_assert_eq!(window.end.to_zoned_datetime(zone.clone()).date(), to.tomorrow().unwrap());
            prop_assert_eq!(window.start.to_zoned_datetime(zone).date(), from);
        }

        #[test]
        fn consecutive_windows_tile_without_gap_or_overlap(
            zone in proptest::sample::select(ZONES.to_vec()),
            a in any_date(),
            first in 0i32..20,
            second in 0i32..20,
        ) {
            let zone = tz(zone);
            let b = a.checked_add(first.days()).unwrap();
            let c = b.checked_add((second + 1).days()).unwrap();
            let one = send_window(&a.to_string(), &b.to_string(), &zone).unwrap();
            let two = send_window(&b.tomorrow().unwrap().to_string(), &c.to_string(), &zone).unwrap();
            let whole = send_window(&a.to_string(), &c.to_string(), &zone).unwrap();
            prop_assert_eq!(one.end, two.start);
            prop_assert_eq!((one.start, two.end), (whole.start, whole.end));
        }

        #[test]
        fn to_before_from_is_always_refused(
            zone in proptest::sample::select(ZONES.to_vec()),
            to in any_date(),
            back in 1i32..400,
        ) {
            let from = to.checked_add(back.days()).unwrap();
            let err = send_window(&from.to_string(), &to.to_string(), &tz(zone)).unwrap_err();
            prop_assert_eq!(err.field, "--to");
        }
    }
}
