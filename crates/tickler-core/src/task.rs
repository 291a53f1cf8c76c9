//! Tasks: to-dos for a person (call the customer, prepare a quote), due on a date, and
//! escalated once to the admins when left open too long.

use std::{fmt, str::FromStr};

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::{
    ValidationError,
    plan::{Offset, text_enum},
    schedule::{Holidays, step_date},
};

/// Whether a task still waits for someone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    /// Waiting for its owner; shown on the dashboard, escalated when left too long.
    Open,
    /// Handled: no longer shown as open, never escalated.
    Done,
    /// Made pointless (the customer answered, the contract was renewed): gone from the lists.
    Cancelled,
}

text_enum!(TaskStatus, "status", {
    TaskStatus::Open => "open",
    TaskStatus::Done => "done",
    TaskStatus::Cancelled => "cancelled",
});

/// How long an open task waits past its due date before the admins are told: business days,
/// so that a task due on a Friday is not escalated over the weekend.
pub const ESCALATION_BUSINESS_DAYS: i32 = 3;

/// The day an open task is escalated: 3 business days after its due date (weekends and the
/// organisation's holidays skipped, as plan offsets skip them).
pub fn escalation_date(due: Date, holidays: &Holidays) -> Date {
    step_date(due, Offset::business(ESCALATION_BUSINESS_DAYS), holidays)
}

/// Whether a task must be escalated now: still open, not escalated before (it is escalated
/// once), and `today` (the organisation's date) has reached its escalation date. A run that
/// was down on that day escalates on the next.
pub fn needs_escalation(
    status: TaskStatus,
    due: Date,
    escalated: bool,
    today: Date,
    holidays: &Holidays,
) -> bool {
    status == TaskStatus::Open && !escalated && today >= escalation_date(due, holidays)
}

#[cfg(test)]
mod tests {
    use jiff::{
        ToSpan,
        civil::{Weekday, date},
    };
    use proptest::prelude::*;

    use super::*;
    use crate::schedule::is_business_day;

    fn none() -> Holidays {
        Holidays::default()
    }

    #[test]
    fn statuses_round_trip_through_text() {
        for status in [TaskStatus::Open, TaskStatus::Done, TaskStatus::Cancelled] {
            assert_eq!(status.as_str().parse::<TaskStatus>(), Ok(status));
        }
        assert_eq!(
            "closed".parse::<TaskStatus>().unwrap_err().message,
            "unknown status \"closed\" (expected open, done, cancelled)"
        );
    }

    #[test]
    fn escalation_skips_weekends_and_holidays() {
        let wednesday = date(2027, 3, 3);
        assert_eq!(wednesday.weekday(), Weekday::Wednesday);
        assert_eq!(escalation_date(wednesday, &none()), date(2027, 3, 8));
        let friday = date(2027, 3, 5);
        assert_eq!(escalation_date(friday, &none()), date(2027, 3, 10));
        // Due on a Saturday: Monday, Tuesday, Wednesday.
        assert_eq!(
            escalation_date(date(2027, 3, 6), &none()),
            date(2027, 3, 10)
        );
        let christmas = Holidays(
            [date(2027, 12, 24), date(2027, 12, 27)]
                .into_iter()
                .collect(),
        );
        // Thursday 23rd: past the 24th, the weekend and the 27th.
        assert_eq!(
            escalation_date(date(2027, 12, 23), &christmas),
            date(2027, 12, 30)
        );
    }

    #[test]
    fn an_open_task_escalates_once_from_its_escalation_date() {
        let due = date(2027, 3, 3);
        let on = date(2027, 3, 8);
        let check =
            |status, escalated, today| needs_escalation(status, due, escalated, today, &none());
        assert!(!check(TaskStatus::Open, false, date(2027, 3, 7)));
        assert!(check(TaskStatus::Open, false, on));
        assert!(
            check(TaskStatus::Open, false, date(2027, 4, 1)),
            "late, after downtime"
        );
        assert!(!check(TaskStatus::Open, true, on), "only once");
        assert!(!check(TaskStatus::Done, false, on));
    }

    fn any_date() -> impl Strategy<Value = Date> {
        (2026i16..=2029, 1i8..=12, 1i8..=31)
            .prop_map(|(y, m, d)| date(y, m, d.min(date(y, m, 1).days_in_month())))
    }

    fn any_holidays() -> impl Strategy<Value = Holidays> {
        proptest::collection::btree_set(any_date(), 0..60).prop_map(Holidays)
    }

    proptest! {
        #[test]
        fn the_escalation_date_is_three_business_days_after_the_due_date(
            due in any_date(),
            holidays in any_holidays(),
        ) {
            let on = escalation_date(due, &holidays);
            prop_assert!(on > due);
            prop_assert!(is_business_day(on, &holidays));
            let business_days_between = due
                .series(1.day())
                .skip(1)
                .take_while(|d| *d <= on)
                .filter(|d| is_business_day(*d, &holidays))
                .count();
            prop_assert_eq!(business_days_between, 3);
        }

        #[test]
        fn an_open_task_escalates_once_three_business_days_have_passed(
            due in any_date(),
            holidays in any_holidays(),
            today in any_date(),
            done in any::<bool>(),
            escalated in any::<bool>(),
        ) {
            let status = if done { TaskStatus::Done } else { TaskStatus::Open };
            // Counted here from the definition, not through escalation_date.
            let passed = due
                .series(1.day())
                .skip(1)
                .take_while(|d| *d <= today)
                .filter(|d| is_business_day(*d, &holidays))
                .count();
            prop_assert_eq!(
                needs_escalation(status, due, escalated, today, &holidays),
                !done && !escalated && passed >= 3
            );
        }
    }
}
