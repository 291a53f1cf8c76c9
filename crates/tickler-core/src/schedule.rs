//! The time rules: from a plan step and a term's dates to the UTC instant a reminder goes out.
//! See DESIGN.md "Time rules".

use std::collections::BTreeSet;

use jiff::{
    Span, Timestamp,
    civil::{Date, Time, Weekday},
    tz::TimeZone,
};

use crate::plan::{Anchor, Offset, OffsetUnit, Plan};

/// The organisation's non-working days, skipped (with weekends) by business-day offsets.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Holidays(pub BTreeSet<Date>);

/// The dates a term or invoice offers as anchors; a step whose anchor is absent is not planned.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AnchorDates {
    pub start_date: Option<Date>,
    pub end_date: Option<Date>,
    pub notice_date: Option<Date>,
    pub next_invoice_date: Option<Date>,
    pub invoice_due_date: Option<Date>,
}

impl AnchorDates {
    pub fn term(start: Date, end: Date) -> Self {
        Self {
            start_date: Some(start),
            end_date: Some(end),
            ..Self::default()
        }
    }

    /// A contract term's dates as its renewal type offers them: an auto-renewing term has a
    /// notice date; an evergreen one shows no end (its yearly terms roll on unseen), so
    /// nothing is planned from its end date.
    pub fn contract_term(start: Date, end: Date, renewal: crate::renewal::Renewal) -> Self {
        Self {
            start_date: Some(start),
            end_date: (renewal.kind != crate::renewal::RenewalType::Evergreen).then_some(end),
            notice_date: renewal.notice_date(end),
            ..Self::default()
        }
    }

    pub fn get(&self, anchor: Anchor) -> Option<Date> {
        match anchor {
            Anchor::StartDate => self.start_date,
            Anchor::EndDate => self.end_date,
            Anchor::NoticeDate => self.notice_date,
            Anchor::NextInvoiceDate => self.next_invoice_date,
            Anchor::InvoiceDueDate => self.invoice_due_date,
        }
    }
}

/// One step of a plan placed in time for one term.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedReminder {
    /// The step's index in the plan (its order in the sequence).
    pub position: usize,
    pub step_key: String,
    /// The civil date the step falls on (anchor + offset).
    pub date: Date,
    pub send_at: Timestamp,
}

/// The anchor date moved by the offset (calendar days, or business days skipping weekends
/// and holidays).
///
/// Business days count only the days stepped onto: +1 from a Friday is the next Monday,
/// -1 from a Monday the Friday before, +1 from a Saturday the Monday. Offset 0 keeps the
/// anchor date itself even when it is a weekend or a holiday: "on the expiry date" must not
/// silently become another day, and a step that wants a working day says -1 or +1.
///
/// A date that would leave jiff's range (years -9999..=9999) stops at its edge rather than
/// panicking: such an offset is a typo, better shown in the review queue as a reminder in
/// year 9999 than taking down the run that computes it.
pub fn step_date(anchor: Date, offset: Offset, holidays: &Holidays) -> Date {
    match offset.unit {
        OffsetUnit::CalendarDays => add_calendar_days(anchor, offset.days),
        OffsetUnit::BusinessDays => add_business_days(anchor, offset.days, holidays),
    }
}

/// Whether `date` counts as a business day: a weekday that is not a holiday.
pub fn is_business_day(date: Date, holidays: &Holidays) -> bool {
    !matches!(date.weekday(), Weekday::Saturday | Weekday::Sunday) && !holidays.0.contains(&date)
}

fn add_calendar_days(anchor: Date, days: i32) -> Date {
    match Span::new().try_days(days) {
        Ok(span) => anchor.saturating_add(span),
        // An i32 beyond a Span's day range is far beyond the calendar's range as well.
        Err(_) if days < 0 => Date::MIN,
        Err(_) => Date::MAX,
    }
}

fn add_business_days(anchor: Date, days: i32, holidays: &Holidays) -> Date {
    let forward = days > 0;
    let mut remaining = days.unsigned_abs();
    let mut date = anchor;
    while remaining > 0 {
        let stepped = if forward {
            date.tomorrow()
        } else {
            date.yesterday()
        };
        match stepped {
            Ok(next) => date = next,
            Err(_) => break,
        }
        if is_business_day(date, holidays) {
            remaining -= 1;
        }
    }
    date
}

/// A local date and time in `tz` as a UTC instant: a time that does not exist (spring
/// forward) moves later, one that occurs twice takes the first ("compatible").
///
/// The conversion happens once, from the civil date and time, so a 09:00 step is at 09:00
/// whatever DST changes lie between it and its anchor.
pub fn local_instant(date: Date, time: Time, tz: &TimeZone) -> Timestamp {
    tz.to_ambiguous_timestamp(date.to_datetime(time))
        .compatible()
        // Only the first and last days of jiff's range can fall outside Timestamp's.
        .unwrap_or(if date.year() < 0 {
            Timestamp::MIN
        } else {
            Timestamp::MAX
        })
}

/// Every step of `plan` whose anchor `dates` has, placed in time in `tz`.
pub fn plan_reminders(
    plan: &Plan,
    dates: &AnchorDates,
    tz: &TimeZone,
    holidays: &Holidays,
) -> Vec<PlannedReminder> {
    plan.steps
        .iter()
        .enumerate()
        .filter_map(|(position, step)| {
            let anchor = dates.get(step.anchor)?;
            let date = step_date(anchor, step.offset, holidays);
            Some(PlannedReminder {
                position,
                step_key: step.key.clone(),
                date,
                send_at: local_instant(date, step.send_time, tz),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use jiff::{
        ToSpan,
        civil::{DateTime, date, time},
        tz::AmbiguousOffset,
    };
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn a_term_offers_a_notice_date_only_when_auto_and_no_end_when_evergreen() {
        use crate::renewal::{Renewal, RenewalType};
        let (start, end) = (date(2027, 1, 1), date(2027, 12, 31));
        let expires = AnchorDates::contract_term(start, end, Renewal::EXPIRES);
        assert_eq!(expires, AnchorDates::term(start, end));
        let auto = Renewal {
            kind: RenewalType::Auto,
            notice_days: Some(30),
        };
        let dates = AnchorDates::contract_term(start, end, auto);
        assert_eq!(dates.get(Anchor::NoticeDate), Some(date(2027, 12, 1)));
        assert_eq!(dates.get(Anchor::EndDate), Some(end));
        let evergreen = Renewal {
            kind: RenewalType::Evergreen,
            notice_days: None,
        };
        let dates = AnchorDates::contract_term(start, end, evergreen);
        assert_eq!(dates.get(Anchor::EndDate), None);
        assert_eq!(dates.get(Anchor::NoticeDate), None);
        assert_eq!(dates.get(Anchor::StartDate), Some(start));
    }
    use crate::plan::{Mode, Recipients, Step, default_renewal_plan};

    fn tz(name: &str) -> TimeZone {
        TimeZone::get(name).unwrap()
    }

    fn utc(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn no_holidays() -> Holidays {
        Holidays::default()
    }

    fn cal(anchor: Date, days: i32) -> Date {
        step_date(anchor, Offset::calendar(days), &no_holidays())
    }

    fn biz(anchor: Date, days: i32, holidays: &Holidays) -> Date {
        step_date(anchor, Offset::business(days), holidays)
    }

    fn step(key: &str, anchor: Anchor, offset: Offset, send_time: Time) -> Step {
        Step {
            key: key.to_string(),
            label: key.to_string(),
            anchor,
            offset,
            send_time,
            recipients: Recipients::CUSTOMER_CC_OWNER,
            mode: Mode::Auto,
            template: key.to_string(),
            reply_to: None,
        }
    }

    // --- calendar offsets -------------------------------------------------------------

    #[test]
    fn renewal_offsets_from_a_month_end() {
        let end = date(2027, 3, 31);
        assert_eq!(cal(end, -60), date(2027, 1, 30));
        assert_eq!(cal(end, -30), date(2027, 3, 1));
        assert_eq!(cal(end, -7), date(2027, 3, 24));
        assert_eq!(cal(end, 7), date(2027, 4, 7));
        assert_eq!(cal(end, 0), end);
    }

    #[test]
    fn renewal_offsets_around_february() {
        let end = date(2027, 2, 28);
        assert_eq!(cal(end, -60), date(2026, 12, 30));
        assert_eq!(cal(end, -30), date(2027, 1, 29));
        assert_eq!(cal(end, -7), date(2027, 2, 21));
        assert_eq!(cal(end, 7), date(2027, 3, 7));
        // 2027 is not a leap year: a week before 2027-03-03 is 2027-02-24.
        assert_eq!(cal(date(2027, 3, 3), -7), date(2027, 2, 24));
    }

    #[test]
    fn renewal_offsets_from_a_leap_day() {
        let end = date(2028, 2, 29);
        assert_eq!(cal(end, -60), date(2027, 12, 31));
        assert_eq!(cal(end, -30), date(2028, 1, 30));
        assert_eq!(cal(end, -7), date(2028, 2, 22));
        assert_eq!(cal(end, 7), date(2028, 3, 7));
        assert_eq!(cal(date(2028, 3, 1), -1), date(2028, 2, 29));
        assert_eq!(cal(date(2028, 3, 7), -7), date(2028, 2, 29));
    }

    #[test]
    fn renewal_offsets_across_year_boundaries() {
        assert_eq!(cal(date(2027, 12, 31), 7), date(2028, 1, 7));
        assert_eq!(cal(date(2027, 12, 28), 7), date(2028, 1, 4));
        let end = date(2028, 1, 5);
        assert_eq!(cal(end, -7), date(2027, 12, 29));
        assert_eq!(cal(end, -30), date(2027, 12, 6));
        assert_eq!(cal(end, -60), date(2027, 11, 6));
        assert_eq!(cal(date(2028, 1, 1), -1), date(2027, 12, 31));
    }

    #[test]
    fn calendar_offsets_saturate_at_the_ends_of_the_calendar() {
        assert_eq!(cal(date(9999, 12, 25), 30), Date::MAX);
        assert_eq!(cal(date(-9999, 1, 5), -30), Date::MIN);
        assert_eq!(cal(date(2027, 1, 1), i32::MAX), Date::MAX);
        assert_eq!(cal(date(2027, 1, 1), i32::MIN), Date::MIN);
    }

    // --- business-day offsets ---------------------------------------------------------

    #[test]
    fn business_days_step_over_weekends_in_both_directions() {
        let none = no_holidays();
        let friday = date(2027, 3, 5);
        let saturday = date(2027, 3, 6);
        let sunday = date(2027, 3, 7);
        let monday = date(2027, 3, 8);
        assert_eq!(friday.weekday(), Weekday::Friday);
        assert_eq!(monday.weekday(), Weekday::Monday);

        assert_eq!(biz(friday, 1, &none), monday);
        assert_eq!(biz(monday, -1, &none), friday);
        assert_eq!(biz(saturday, 1, &none), monday);
        assert_eq!(biz(sunday, 1, &none), monday);
        assert_eq!(biz(saturday, -1, &none), friday);
        assert_eq!(biz(sunday, -1, &none), friday);
        assert_eq!(biz(friday, 5, &none), date(2027, 3, 12));
        assert_eq!(biz(friday, 6, &none), date(2027, 3, 15));
        assert_eq!(biz(monday, -5, &none), date(2027, 3, 1));
        assert_eq!(biz(monday, -6, &none), date(2027, 2, 26));
        // Twenty business days are four whole weeks.
        assert_eq!(biz(date(2027, 3, 3), 20, &none), date(2027, 3, 31));
        assert_eq!(biz(date(2027, 3, 31), -20, &none), date(2027, 3, 3));
    }

    #[test]
    fn business_offset_zero_keeps_the_anchor_even_on_a_non_business_day() {
        let holidays = Holidays([date(2027, 12, 24)].into_iter().collect());
        let saturday = date(2027, 3, 6);
        assert_eq!(biz(saturday, 0, &holidays), saturday);
        assert_eq!(biz(date(2027, 12, 24), 0, &holidays), date(2027, 12, 24));
        assert_eq!(biz(date(2027, 3, 3), 0, &holidays), date(2027, 3, 3));
    }

    #[test]
    fn business_days_step_over_holidays_in_both_directions() {
        let holidays = Holidays(
            [
                date(2027, 12, 24),
                date(2027, 12, 27),
                date(2027, 12, 28),
                date(2027, 12, 31),
                date(2028, 1, 3),
            ]
            .into_iter()
            .collect(),
        );
        let thursday = date(2027, 12, 23);
        assert_eq!(thursday.weekday(), Weekday::Thursday);
        assert_eq!(biz(thursday, 1, &holidays), date(2027, 12, 29));
        assert_eq!(biz(thursday, 2, &holidays), date(2027, 12, 30));
        // Past a holiday, a weekend and another holiday.
        assert_eq!(biz(thursday, 3, &holidays), date(2028, 1, 4));
        assert_eq!(biz(date(2028, 1, 4), -1, &holidays), date(2027, 12, 30));
        assert_eq!(biz(date(2028, 1, 4), -3, &holidays), thursday);
        // Anchored on a holiday.
        assert_eq!(biz(date(2027, 12, 24), 1, &holidays), date(2027, 12, 29));
        assert_eq!(biz(date(2027, 12, 24), -1, &holidays), thursday);
        // The same steps without holidays only skip the weekend.
        assert_eq!(biz(thursday, 3, &no_holidays()), date(2027, 12, 28));
    }

    #[test]
    fn business_days_stop_at_the_end_of_the_calendar() {
        assert_eq!(biz(date(9999, 12, 20), 30, &no_holidays()), Date::MAX);
        assert_eq!(biz(date(-9999, 1, 10), -30, &no_holidays()), Date::MIN);
    }

    // --- local instants ---------------------------------------------------------------

    #[test]
    fn new_york_spring_forward_gap_moves_later() {
        let ny = tz("America/New_York");
        let at = local_instant(date(2027, 3, 14), time(2, 30, 0, 0), &ny);
        assert_eq!(at, utc("2027-03-14T07:30:00Z"));
        assert_eq!(ny.to_datetime(at), date(2027, 3, 14).at(3, 30, 0, 0));
        assert_eq!(ny.to_offset(at).seconds(), -4 * 3600, "EDT");
    }

    #[test]
    fn new_york_fall_back_fold_takes_the_first() {
        let ny = tz("America/New_York");
        let at = local_instant(date(2027, 11, 7), time(1, 30, 0, 0), &ny);
        assert_eq!(at, utc("2027-11-07T05:30:00Z"));
        assert_eq!(ny.to_offset(at).seconds(), -4 * 3600, "EDT");
        // The second 01:30 (EST) is an hour later and shows the same wall time.
        assert_eq!(
            ny.to_datetime(utc("2027-11-07T06:30:00Z")),
            date(2027, 11, 7).at(1, 30, 0, 0)
        );
    }

    #[test]
    fn athens_gap_and_fold() {
        let athens = tz("Europe/Athens");
        let gap = local_instant(date(2027, 3, 28), time(3, 30, 0, 0), &athens);
        assert_eq!(gap, utc("2027-03-28T01:30:00Z"));
        assert_eq!(athens.to_datetime(gap), date(2027, 3, 28).at(4, 30, 0, 0));
        let fold = local_instant(date(2027, 10, 31), time(3, 30, 0, 0), &athens);
        assert_eq!(fold, utc("2027-10-31T00:30:00Z"), "the first 03:30, EEST");
        assert_eq!(athens.to_datetime(fold), date(2027, 10, 31).at(3, 30, 0, 0));
    }

    #[test]
    fn tokyo_has_no_dst() {
        let tokyo = tz("Asia/Tokyo");
        for day in [
            date(2027, 1, 15),
            date(2027, 3, 14),
            date(2027, 7, 1),
            date(2027, 11, 7),
        ] {
            let at = local_instant(day, time(9, 0, 0, 0), &tokyo);
            assert_eq!(
                at,
                day.to_datetime(time(0, 0, 0, 0))
                    .to_zoned_datetime(TimeZone::UTC)
                    .unwrap()
                    .timestamp()
            );
        }
    }

    #[test]
    fn a_nine_oclock_plan_in_athens_stays_at_nine_across_dst() {
        let athens = tz("Europe/Athens");
        let plan = default_renewal_plan();
        // 60 and 30 days before 2027-04-15 are in winter time, 7 before and after in summer.
        let planned = plan_reminders(
            &plan,
            &AnchorDates::term(date(2026, 4, 16), date(2027, 4, 15)),
            &athens,
            &no_holidays(),
        );
        let instants: Vec<Timestamp> = planned.iter().map(|p| p.send_at).collect();
        assert_eq!(
            instants,
            vec![
                utc("2027-02-14T07:00:00Z"),
                utc("2027-03-16T07:00:00Z"),
                utc("2027-04-08T06:00:00Z"),
                utc("2027-04-22T06:00:00Z"),
                // The call to the customer, 46 days before: winter time.
                utc("2027-02-28T07:00:00Z"),
            ]
        );
        for p in &planned {
            assert_eq!(athens.to_datetime(p.send_at).time(), time(9, 0, 0, 0));
        }
        // 23 days minus the hour the clocks went forward: not a multiple of 24 hours.
        let between = instants[2].duration_since(instants[1]);
        assert_eq!(between, jiff::SignedDuration::from_hours(23 * 24 - 1));
    }

    #[test]
    fn planned_reminders_keep_plan_positions_and_skip_absent_anchors() {
        let plan = Plan {
            name: "mixed".to_string(),
            description: String::new(),
            steps: vec![
                step(
                    "notice",
                    Anchor::NoticeDate,
                    Offset::calendar(-3),
                    time(10, 0, 0, 0),
                ),
                step(
                    "before_7",
                    Anchor::EndDate,
                    Offset::calendar(-7),
                    time(9, 0, 0, 0),
                ),
                step(
                    "invoice",
                    Anchor::InvoiceDueDate,
                    Offset::business(1),
                    time(9, 0, 0, 0),
                ),
                step(
                    "welcome",
                    Anchor::StartDate,
                    Offset::business(2),
                    time(14, 30, 0, 0),
                ),
            ],
        };
        let dates = AnchorDates::term(date(2027, 3, 5), date(2028, 3, 4));
        let tokyo = tz("Asia/Tokyo");
        let planned = plan_reminders(&plan, &dates, &tokyo, &no_holidays());
        assert_eq!(
            planned,
            vec![
                PlannedReminder {
                    position: 1,
                    step_key: "before_7".to_string(),
                    date: date(2028, 2, 26),
                    send_at: utc("2028-02-26T00:00:00Z"),
                },
                PlannedReminder {
                    position: 3,
                    step_key: "welcome".to_string(),
                    date: date(2027, 3, 9),
                    send_at: utc("2027-03-09T05:30:00Z"),
                },
            ]
        );
        let all = AnchorDates {
            notice_date: Some(date(2028, 1, 4)),
            invoice_due_date: Some(date(2027, 4, 30)),
            ..dates
        };
        let positions: Vec<usize> = plan_reminders(&plan, &all, &tokyo, &no_holidays())
            .iter()
            .map(|p| p.position)
            .collect();
        assert_eq!(positions, vec![0, 1, 2, 3]);
        assert!(plan_reminders(&plan, &AnchorDates::default(), &tokyo, &no_holidays()).is_empty());
    }

    // --- properties -------------------------------------------------------------------

    const ZONES: [&str; 9] = [
        "America/New_York",
        "Europe/Athens",
        "Asia/Tokyo",
        "UTC",
        "Australia/Lord_Howe",
        "America/Santiago",
        "Pacific/Chatham",
        "Asia/Kolkata",
        "Pacific/Apia",
    ];

    fn any_date(years: std::ops::RangeInclusive<i16>) -> impl Strategy<Value = Date> {
        (years, 1i8..=12, 1i8..=31).prop_map(|(y, m, d)| {
            let first = date(y, m, 1);
            date(y, m, d.min(first.days_in_month()))
        })
    }

    fn any_time() -> impl Strategy<Value = Time> {
        (0i8..24, 0i8..60).prop_map(|(h, m)| time(h, m, 0, 0))
    }

    fn any_holidays() -> impl Strategy<Value = Holidays> {
        proptest::collection::btree_set(any_date(2026..=2029), 0..40).prop_map(Holidays)
    }

    /// Checks one instant against the time rules: the wall time as asked, or, in a gap, the
    /// wall time read with the offset before the gap (the same wall time moved later by the
    /// gap's length); in a fold, the first of the two.
    fn check_local(dt: DateTime, zone: &TimeZone, at: Timestamp) -> Result<(), TestCaseError> {
        let shown = zone.to_datetime(at);
        match zone.to_ambiguous_timestamp(dt).offset() {
            AmbiguousOffset::Unambiguous { offset } => {
                prop_assert_eq!(shown, dt);
                prop_assert_eq!(offset.to_timestamp(dt).unwrap(), at);
            }
            AmbiguousOffset::Gap { before, after } => {
                prop_assert_eq!(before.to_timestamp(dt).unwrap(), at);
                let gap = i64::from(after.seconds() - before.seconds());
                prop_assert!(gap > 0);
                prop_assert_eq!(shown, dt.checked_add(gap.seconds()).unwrap());
            }
            AmbiguousOffset::Fold { before, after } => {
                prop_assert_eq!(shown, dt);
                prop_assert_eq!(before.to_timestamp(dt).unwrap(), at);
                prop_assert!(after.to_timestamp(dt).unwrap() > at);
            }
        }
        Ok(())
    }

    proptest! {
        #[test]
        fn calendar_offsets_are_exact_day_counts(anchor in any_date(1800..=2300), n in -20_000i32..20_000) {
            let stepped = cal(anchor, n);
            prop_assert_eq!(anchor.until(stepped).unwrap().get_days(), n);
            prop_assert_eq!(cal(stepped, -n), anchor);
        }

        #[test]
        fn business_offsets_count_exactly_the_business_days_passed(
            anchor in any_date(2026..=2029),
            n in -60i32..60,
            holidays in any_holidays(),
        ) {
            let stepped = biz(anchor, n, &holidays);
            if n == 0 {
                prop_assert_eq!(stepped, anchor);
                return Ok(());
            }
            prop_assert!(is_business_day(stepped, &holidays));
            let (from, to) = if n > 0 { (anchor, stepped) } else { (stepped, anchor) };
            prop_assert!(from < to);
            // Business days in (anchor, stepped] forwards, [stepped, anchor) backwards.
            let counted = from
                .series(1.day())
                .take_while(|d| *d <= to)
                .filter(|d| if n > 0 { *d != from } else { *d != to })
                .filter(|d| is_business_day(*d, &holidays))
                .count();
            prop_assert_eq!(counted, n.unsigned_abs() as usize);
        }

        #[test]
        fn every_send_at_is_the_step_time_in_its_zone(
            end in any_date(1990..=2060),
            zone in proptest::sample::select(ZONES.to_vec()),
            send_time in any_time(),
            offsets in proptest::collection::vec(-400i32..400, 1..6),
            business in any::<bool>(),
        ) {
            let zone = tz(zone);
            let plan = Plan {
                name: "p".to_string(),
                description: String::new(),
                steps: offsets
                    .iter()
                    .map(|&days| {
                        let offset = if business { Offset::business(days) } else { Offset::calendar(days) };
                        step(&format!("s{days}"), Anchor::EndDate, offset, send_time)
                    })
                    .collect(),
            };
            let dates = AnchorDates::term(end, end);
            let planned = plan_reminders(&plan, &dates, &zone, &no_holidays());
            prop_assert_eq!(planned.len(), plan.steps.len());
            for (i, p) in planned.iter().enumerate() {
                prop_assert_eq!(p.position, i);
                prop_assert_eq!(p.date, step_date(end, plan.steps[i].offset, &no_holidays()));
                check_local(p.date.to_datetime(send_time), &zone, p.send_at)?;
            }
        }

        #[test]
        fn local_instants_follow_the_rules_near_transitions(
            day in any_date(2020..=2035),
            zone in proptest::sample::select(ZONES.to_vec()),
            hour in 0i8..24,
            minute in proptest::sample::select(vec![0i8, 15, 30, 45, 59]),
        ) {
            let zone = tz(zone);
            let dt = day.at(hour, minute, 0, 0);
            check_local(dt, &zone, local_instant(day, dt.time(), &zone))?;
        }

        #[test]
        fn local_instants_follow_the_rules_at_real_transitions(
            zone in proptest::sample::select(ZONES.to_vec()),
            nth in 0usize..40,
            minutes in -180i64..=180,
        ) {
            // Random dates rarely hit a transition; these wall times sit on both sides of one.
            let zone = tz(zone);
            let Some(transition) = zone.following(utc("2005-01-01T00:00:00Z")).nth(nth) else {
                return Ok(());
            };
            let wall = zone.to_datetime(transition.timestamp()).checked_add(minutes.minutes()).unwrap();
            check_local(wall, &zone, local_instant(wall.date(), wall.time(), &zone))?;
        }

        #[test]
        fn recomputation_is_idempotent(
            end in any_date(2000..=2050),
            start_back in 1i32..800,
            zone in proptest::sample::select(ZONES.to_vec()),
            holidays in any_holidays(),
        ) {
            let zone = tz(zone);
            let plan = default_renewal_plan();
            let dates = AnchorDates::term(cal(end, -start_back), end);
            let first = plan_reminders(&plan, &dates, &zone, &holidays);
            let again = plan_reminders(&plan, &dates, &zone, &holidays.clone());
            prop_assert_eq!(&first, &again);
            // Recomputing each reminder from its own date lands on the same instant.
            for p in &first {
                let step = &plan.steps[p.position];
                prop_assert_eq!(local_instant(p.date, step.send_time, &zone), p.send_at);
            }
        }
    }

    #[test]
    fn apia_skipped_a_whole_day() {
        // Samoa jumped over 2011-12-30; a step on that date goes out a day later, at 09:00.
        let apia = tz("Pacific/Apia");
        let at = local_instant(date(2011, 12, 30), time(9, 0, 0, 0), &apia);
        assert_eq!(apia.to_datetime(at), date(2011, 12, 31).at(9, 0, 0, 0));
    }
}
