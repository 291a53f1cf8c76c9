//! How instants, dates and durations look on pages: always in the viewer's zone, saying which.

use jiff::{Timestamp, tz::TimeZone};

/// "2027-01-30 09:00" in `tz`.
pub fn local(ts: Timestamp, tz: &TimeZone) -> String {
    ts.to_zoned_datetime(tz.clone())
        .strftime("%Y-%m-%d %H:%M")
        .to_string()
}

/// The same instant in the customer's zone, "09:00 Tokyo" (with the day, "12-20 09:00
/// Tokyo", when it is another day there), for beside a time in the viewer's zone; empty when
/// both zones show the same time.
pub fn for_customer(ts: Timestamp, customer_zone: &str, viewer: &TimeZone) -> String {
    let Ok(zone) = TimeZone::get(customer_zone) else {
        return String::new();
    };
    let theirs = ts.to_zoned_datetime(zone);
    let ours = ts.to_zoned_datetime(viewer.clone());
    if theirs.datetime() == ours.datetime() {
        return String::new();
    }
    let place = customer_zone
        .rsplit('/')
        .next()
        .unwrap_or(customer_zone)
        .replace('_', " ");
    if theirs.date() == ours.date() {
        format!("{} {place}", theirs.strftime("%H:%M"))
    } else {
        format!("{} {place}", theirs.strftime("%m-%d %H:%M"))
    }
}

/// Where a send time falls in the review queue, in the viewer's days: "Today" (or earlier:
/// due now), "This week" (the next 7 days) or "Later".
pub fn queue_group(ts: Timestamp, now: Timestamp, viewer: &TimeZone) -> &'static str {
    let day = |t: Timestamp| t.to_zoned_datetime(viewer.clone()).date();
    let days = day(now)
        .until(day(ts))
        .map(|span| span.get_days())
        .unwrap_or(i32::MAX);
    match days {
        i32::MIN..=0 => "Today",
        1..=6 => "This week",
        _ => "Later",
    }
}

/// For `<input type="datetime-local">`: "2027-01-30T09:00".
pub fn local_input(ts: Timestamp, tz: &TimeZone) -> String {
    ts.to_zoned_datetime(tz.clone())
        .strftime("%Y-%m-%dT%H:%M")
        .to_string()
}

/// "in 3 days", "in 5 hours", "2 days ago".
pub fn relative(ts: Timestamp, now: Timestamp) -> String {
    let seconds = ts.as_second() - now.as_second();
    let magnitude = seconds.unsigned_abs();
    let text = if magnitude < 60 {
        return if seconds >= 0 {
            "now".to_string()
        } else {
            "just now".to_string()
        };
    } else if magnitude < 3600 {
        plural(magnitude / 60, "minute")
    } else if magnitude < 2 * 86400 {
        plural(magnitude / 3600, "hour")
    } else {
        plural(magnitude / 86400, "day")
    };
    if seconds >= 0 {
        format!("in {text}")
    } else {
        format!("{text} ago")
    }
}

/// A count as a page shows it: "1,234", or "more than 10,000" where counting stopped.
pub fn count(n: i64) -> String {
    if n > tickler_engine::browse::COUNT_CAP {
        return format!("more than {}", thousands(tickler_engine::browse::COUNT_CAP));
    }
    thousands(n)
}

/// "1,234".
pub fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

fn plural(n: u64, unit: &str) -> String {
    if n == 1 {
        format!("1 {unit}")
    } else {
        format!("{n} {unit}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_show_in_the_viewers_zone() {
        let ts: Timestamp = "2027-01-30T00:00:00Z".parse().unwrap();
        let tokyo = TimeZone::get("Asia/Tokyo").unwrap();
        assert_eq!(local(ts, &tokyo), "2027-01-30 09:00");
        assert_eq!(local_input(ts, &tokyo), "2027-01-30T09:00");
    }

    #[test]
    fn the_customers_time_shows_beside_ours_only_when_it_differs() {
        let ts: Timestamp = "2027-01-30T00:00:00Z".parse().unwrap();
        let athens = TimeZone::get("Europe/Athens").unwrap();
        assert_eq!(for_customer(ts, "Asia/Tokyo", &athens), "09:00 Tokyo");
        assert_eq!(
            for_customer(ts, "America/New_York", &athens),
            "01-29 19:00 New York"
        );
        assert_eq!(for_customer(ts, "Europe/Athens", &athens), "");
        assert_eq!(
            for_customer(ts, "Europe/Bucharest", &athens),
            "",
            "same time, other zone"
        );
        assert_eq!(for_customer(ts, "Not/AZone", &athens), "");
    }

    #[test]
    fn queue_groups_follow_the_viewers_days() {
        let now: Timestamp = "2027-01-30T10:00:00Z".parse().unwrap();
        let athens = TimeZone::get("Europe/Athens").unwrap();
        let at = |text: &str| text.parse::<Timestamp>().unwrap();
        assert_eq!(
            queue_group(at("2027-01-29T10:00:00Z"), now, &athens),
            "Today"
        );
        assert_eq!(
            queue_group(at("2027-01-30T21:59:00Z"), now, &athens),
            "Today"
        );
        assert_eq!(
            queue_group(at("2027-01-30T22:00:00Z"), now, &athens),
            "This week"
        );
        assert_eq!(
            queue_group(at("2027-02-05T21:59:00Z"), now, &athens),
            "This week"
        );
        assert_eq!(
            queue_group(at("2027-02-05T22:00:00Z"), now, &athens),
            "Later"
        );
    }

    #[test]
    fn counts_read_naturally() {
        assert_eq!(count(0), "0");
        assert_eq!(count(1234), "1,234");
        assert_eq!(count(10_000), "10,000");
        assert_eq!(count(10_001), "more than 10,000");
    }

    #[test]
    fn relative_times_read_naturally() {
        let now: Timestamp = "2027-01-01T00:00:00Z".parse().unwrap();
        let later = |s: i64| Timestamp::from_second(now.as_second() + s).unwrap();
        assert_eq!(relative(later(30), now), "now");
        assert_eq!(relative(later(-30), now), "just now");
        assert_eq!(relative(later(120), now), "in 2 minutes");
        assert_eq!(relative(later(3600), now), "in 1 hour");
        assert_eq!(relative(later(3 * 86400), now), "in 3 days");
        assert_eq!(relative(later(-5 * 3600), now), "5 hours ago");
    }
}
