//! How instants, dates and durations look on pages: always in the viewer's zone, saying which.

use jiff::{Timestamp, tz::TimeZone};

/// "2027-01-30 09:00" in `tz`.
pub fn local(ts: Timestamp, tz: &TimeZone) -> String {
    ts.to_zoned_datetime(tz.clone())
        .strftime("%Y-%m-%d %H:%M")
        .to_string()
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
