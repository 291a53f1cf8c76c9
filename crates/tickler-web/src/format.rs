//! How instants, dates and durations look on pages: always in the viewer's zone, saying which.

use jiff::{Timestamp, tz::TimeZone};
use tickler_core::language::Language;

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

/// A file's size as people read it: "812 KB", "1.4 GB".
pub fn bytes(n: i64) -> String {
    const UNITS: [&str; 4] = ["KB", "MB", "GB", "TB"];
    if n < 1000 {
        return format!("{n} bytes");
    }
    let mut value = n as f64 / 1000.0;
    let mut unit = 0;
    while value >= 1000.0 && unit + 1 < UNITS.len() {
        value /= 1000.0;
        unit += 1;
    }
    if value < 10.0 {
        format!("{value:.1} {}", UNITS[unit])
    } else {
        format!("{value:.0} {}", UNITS[unit])
    }
}

fn plural(n: u64, unit: &str) -> String {
    if n == 1 {
        format!("1 {unit}")
    } else {
        format!("{n} {unit}s")
    }
}

/// A message with each ISO date in it ("2027-02-01") written as the reader writes dates
/// ("1 February 2027", "2027年2月1日"); a date in quotes is what someone typed, and stays
/// as typed.
pub fn dates_in(text: &str, language: Language) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut i = 0;
    while i + 10 <= bytes.len() {
        let bounded = (i == 0 || !bytes[i - 1].is_ascii_alphanumeric() && bytes[i - 1] != b'"')
            && bytes
                .get(i + 10)
                .is_none_or(|b| !b.is_ascii_alphanumeric() && *b != b'"');
        let date = bounded
            .then(|| text.get(i..i + 10))
            .flatten()
            .filter(|t| {
                t.bytes().enumerate().all(|(k, b)| {
                    if k == 4 || k == 7 {
                        b == b'-'
                    } else {
                        b.is_ascii_digit()
                    }
                })
            })
            .and_then(|t| t.parse::<jiff::civil::Date>().ok());
        match date {
            Some(date) => {
                out.push_str(&text[copied..i]);
                out.push_str(&tickler_core::locale::format_date(date, language));
                i += 10;
                copied = i;
            }
            None => i += 1,
        }
    }
    out.push_str(&text[copied..]);
    out
}

/// A template's name as people read it ("Final notice, 7 days before"); a template the
/// team wrote is known by its key.
pub fn template_name(key: &str) -> &str {
    tickler_engine::plan_catalogue::template_name(key).unwrap_or(key)
}

/// A language's name ("Japanese") for its code ("ja"); an unknown code as it is.
pub fn language_name(code: &str) -> &str {
    code.parse::<Language>()
        .map(Language::english_name)
        .unwrap_or(code)
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

    #[test]
    fn dates_in_a_message_read_as_the_reader_writes_them() {
        assert_eq!(
            dates_in(
                "the end date 2027-02-01 is before 2027-03-01.",
                Language::En
            ),
            "the end date 1 February 2027 is before 1 March 2027."
        );
        assert_eq!(
            dates_in("終了日 2027-02-01", Language::Ja),
            "終了日 2027年2月1日"
        );
        // What someone typed stays as typed; impossible dates and longer numbers too.
        for kept in [
            "\"2027-02-01\" is not an instant",
            "2027-02-30 is not a date",
            "12027-02-01",
            "2027-02-011",
            "2027-02-01T09:00",
        ] {
            assert_eq!(dates_in(kept, Language::En), kept);
        }
    }
}
