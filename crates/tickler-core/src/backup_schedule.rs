//! When `serve` takes its daily backup and which old backups it removes: pure, so that the
//! daylight-saving days and the pruning are tested without waiting or touching files.

use jiff::{Timestamp, ToSpan, civil::Time, tz::TimeZone};

use crate::schedule::local_instant;

/// The first instant after `now` at which the wall clock in `tz` reads `at`. On a day where
/// that time does not exist (spring forward) it is taken later, as every other local time in
/// Tickler is; never more than a day and an hour ahead.
pub fn next_daily(now: Timestamp, at: Time, tz: &TimeZone) -> Timestamp {
    let today = now.to_zoned_datetime(tz.clone()).date();
    let mut day = today;
    loop {
        let candidate = local_instant(day, at, tz);
        if candidate > now {
            return candidate;
        }
        day = day.saturating_add(1.day());
    }
}

/// Whether a backup is due at start-up: none has ever finished, or the latest is older than
/// a day (the instance was down at the last backup time).
pub fn overdue_at_start(last_done: Option<Timestamp>, now: Timestamp) -> bool {
    match last_done {
        None => true,
        Some(last) => now.duration_since(last) > jiff::SignedDuration::from_hours(24),
    }
}

/// Of the backup files `names` (the schedule's own, whose names sort by the time they were
/// taken), the ones to delete so that the newest `keep` remain. Keeping none is not a
/// choice: the newest is always kept.
pub fn to_prune(mut names: Vec<String>, keep: usize) -> Vec<String> {
    names.sort();
    let keep = keep.max(1);
    let excess = names.len().saturating_sub(keep);
    names.truncate(excess);
    names
}

/// The name of a scheduled backup taken at `at` (UTC, so that names sort by time whatever
/// the zone's clock did).
pub fn file_name(at: Timestamp) -> String {
    format!("tickler-{}.db", at.strftime("%Y%m%dT%H%M%SZ"))
}

/// Whether `name` is one of the schedule's backups (others in the folder are never pruned).
pub fn is_scheduled_backup(name: &str) -> bool {
    name.strip_prefix("tickler-")
        .and_then(|rest| rest.strip_suffix("Z.db"))
        .is_some_and(|stamp| {
            stamp.len() == 15
                && stamp
                    .char_indices()
                    .all(|(i, c)| if i == 8 { c == 'T' } else { c.is_ascii_digit() })
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::time;
    use proptest::prelude::*;

    fn tz(name: &str) -> TimeZone {
        TimeZone::get(name).expect("zone")
    }

    fn at(text: &str) -> Timestamp {
        text.parse().expect("instant")
    }

    #[test]
    fn the_next_backup_is_today_if_its_time_is_still_ahead_else_tomorrow() {
        let tokyo = tz("Asia/Tokyo");
        assert_eq!(
            next_daily(at("2027-03-01T16:00:00Z"), time(2, 0, 0, 0), &tokyo),
            at("2027-03-01T17:00:00Z")
        );
        assert_eq!(
            next_daily(at("2027-03-01T17:00:00Z"), time(2, 0, 0, 0), &tokyo),
            at("2027-03-02T17:00:00Z")
        );
    }

    #[test]
    fn a_time_the_spring_forward_skips_is_taken_later_that_day() {
        // 02:30 does not exist in Berlin on 2027-03-28: the clock jumps from 02:00 to 03:00.
        let berlin = tz("Europe/Berlin");
        assert_eq!(
            next_daily(at("2027-03-27T12:00:00Z"), time(2, 30, 0, 0), &berlin),
            at("2027-03-28T01:30:00Z")
        );
    }

    #[test]
    fn a_backup_is_due_at_start_when_none_finished_in_the_last_day() {
        let now = at("2027-03-02T10:00:00Z");
        assert!(overdue_at_start(None, now));
        assert!(overdue_at_start(Some(at("2027-03-01T09:59:00Z")), now));
        assert!(!overdue_at_start(Some(at("2027-03-01T10:01:00Z")), now));
    }

    #[test]
    fn pruning_keeps_the_newest_and_never_all() {
        let names: Vec<String> = ["tickler-20270103T010000Z.db", "tickler-20270101T010000Z.db"]
            .into_iter()
            .chain(["tickler-20270102T010000Z.db"])
            .map(String::from)
            .collect();
        assert_eq!(
            to_prune(names.clone(), 2),
            vec!["tickler-20270101T010000Z.db"]
        );
        assert_eq!(to_prune(names.clone(), 0).len(), 2);
        assert!(to_prune(names, 5).is_empty());
    }

    #[test]
    fn only_the_schedules_own_files_are_recognised() {
        assert!(is_scheduled_backup(&file_name(at("2027-01-02T03:04:05Z"))));
        assert!(is_scheduled_backup("tickler-20270102T030405Z.db"));
        assert!(!is_scheduled_backup("tickler.db"));
        assert!(!is_scheduled_backup("tickler-before-upgrade.db"));
        assert!(!is_scheduled_backup("tickler-20270102T030405Z.db-wal"));
    }

    proptest! {
        #[test]
        fn the_next_backup_is_ahead_within_a_day_and_an_hour_at_the_local_time(
            seconds in 1_700_000_000i64..2_100_000_000,
            hour in 0i8..24,
            minute in 0i8..60,
            zone in prop::sample::select(vec![
                "UTC", "Asia/Tokyo", "Europe/Athens", "America/New_York", "Australia/Lord_Howe",
            ]),
        ) {
            let now = Timestamp::from_second(seconds).expect("instant");
            let zone = tz(zone);
            let next = next_daily(now, time(hour, minute, 0, 0), &zone);
            prop_assert!(next > now);
            prop_assert!(next.duration_since(now) <= jiff::SignedDuration::from_hours(25));
            // Where the time was skipped, it moved later by the gap (at most an hour).
            let moved = next.to_zoned_datetime(zone).time().duration_since(time(hour, minute, 0, 0));
            prop_assert!(moved >= jiff::SignedDuration::ZERO);
            prop_assert!(moved <= jiff::SignedDuration::from_hours(1));
        }

        #[test]
        fn pruning_leaves_exactly_the_newest_keep(count in 0usize..20, keep in 0usize..10) {
            let names: Vec<String> = (0..count)
                .map(|i| file_name(Timestamp::from_second(1_800_000_000 + i as i64 * 86_400).expect("instant")))
                .collect();
            let pruned = to_prune(names.clone(), keep);
            prop_assert_eq!(pruned.len(), count.saturating_sub(keep.max(1)));
            prop_assert!(pruned.iter().all(|p| names[..pruned.len()].contains(p)));
        }
    }
}
