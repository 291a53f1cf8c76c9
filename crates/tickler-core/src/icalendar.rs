//! Calendar feeds as iCalendar text (RFC 5545): the events a salesperson's calendar shows
//! (expiries, cancel-by dates, scheduled sends, task due dates). Each event keeps its UID
//! from one feed to the next, so that a calendar app updates it rather than adding another.

use jiff::{SignedDuration, Timestamp, civil::Date};

/// When an event is: a whole day, or an instant (shown for [`TIMED_LENGTH`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    Day(Date),
    At(Timestamp),
}

/// How long a timed event (a scheduled send) lasts in the calendar.
pub const TIMED_LENGTH: SignedDuration = SignedDuration::from_mins(15);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarEvent {
    /// Stable across feeds: the same thing always has the same UID.
    pub uid: String,
    pub when: When,
    pub summary: String,
    pub description: String,
    /// Where the team's app shows it.
    pub url: Option<String>,
    /// A word calendar apps can colour by: "expiry", "notice", "email", "task".
    pub category: &'static str,
}

/// A whole feed: `VCALENDAR` with its events, lines folded at 75 octets and ended by CRLF.
pub fn calendar(name: &str, stamp: Timestamp, events: &[CalendarEvent]) -> String {
    let mut out = String::new();
    let mut line = |text: String| {
        out.push_str(&fold(&text));
        out.push_str("\r\n");
    };
    line("BEGIN:VCALENDAR".into());
    line("VERSION:2.0".into());
    line("PRODID:-//Tickler//Timed emails//EN".into());
    line("CALSCALE:GREGORIAN".into());
    line("METHOD:PUBLISH".into());
    line(format!("X-WR-CALNAME:{}", escape(name)));
    let stamp = utc(stamp);
    for event in events {
        line("BEGIN:VEVENT".into());
        line(format!("UID:{}", escape(&event.uid)));
        line(format!("DTSTAMP:{stamp}"));
        match event.when {
            When::Day(day) => {
                line(format!("DTSTART;VALUE=DATE:{}", day.strftime("%Y%m%d")));
                // The end of an all-day event is the next day, excluded.
                if let Ok(next) = day.tomorrow() {
                    line(format!("DTEND;VALUE=DATE:{}", next.strftime("%Y%m%d")));
                }
                line("TRANSP:TRANSPARENT".into());
            }
            When::At(at) => {
                line(format!("DTSTART:{}", utc(at)));
                let end = at.checked_add(TIMED_LENGTH).unwrap_or(at);
                line(format!("DTEND:{}", utc(end)));
                line("TRANSP:TRANSPARENT".into());
            }
        }
        line(format!("SUMMARY:{}", escape(&event.summary)));
        if !event.description.is_empty() {
            line(format!("DESCRIPTION:{}", escape(&event.description)));
        }
        if let Some(url) = &event.url {
            line(format!("URL:{url}"));
        }
        line(format!("CATEGORIES:{}", escape(event.category)));
        line("END:VEVENT".into());
    }
    line("END:VCALENDAR".into());
    out
}

/// "20270130T090000Z".
fn utc(at: Timestamp) -> String {
    at.strftime("%Y%m%dT%H%M%SZ").to_string()
}

/// A TEXT value: backslashes, semicolons, commas and line breaks escaped; other control
/// characters dropped.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// A content line folded so that no line is longer than 75 octets: a fold is a CRLF and a
/// space, never inside a character.
fn fold(line: &str) -> String {
    const LIMIT: usize = 75;
    let mut out = String::with_capacity(line.len() + line.len() / LIMIT * 3);
    let mut width = 0;
    for c in line.chars() {
        let size = c.len_utf8();
        // Continuation lines start with the space, which counts.
        if width + size > LIMIT {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += size;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;
    use proptest::prelude::*;

    fn unfold(text: &str) -> String {
        text.replace("\r\n ", "")
    }

    fn event(when: When, summary: &str) -> CalendarEvent {
        CalendarEvent {
            uid: "contract-7-term-1-expiry@tickler".to_string(),
            when,
            summary: summary.to_string(),
            description: "Acme; PBX, line 1\nline 2".to_string(),
            url: Some("https://tickler.example/contracts/7".to_string()),
            category: "expiry",
        }
    }

    #[test]
    fn a_feed_has_its_events_in_rfc_5545_form() {
        let stamp: Timestamp = "2026-12-06T10:00:00Z".parse().unwrap();
        let feed = calendar(
            "Tickler: Sam",
            stamp,
            &[
                event(When::Day(date(2027, 3, 31)), "Expires: PBX, Acme"),
                event(
                    When::At("2027-01-30T00:00:00Z".parse().unwrap()),
                    "Email: renewal",
                ),
            ],
        );
        assert!(
            feed.starts_with("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n"),
            "{feed}"
        );
        assert!(feed.ends_with("END:VCALENDAR\r\n"));
        assert!(feed.contains("DTSTART;VALUE=DATE:20270331\r\nDTEND;VALUE=DATE:20270401\r\n"));
        assert!(feed.contains("DTSTART:20270130T000000Z\r\nDTEND:20270130T001500Z\r\n"));
        assert!(feed.contains("DTSTAMP:20261206T100000Z\r\n"));
        assert!(feed.contains("SUMMARY:Expires: PBX\\, Acme\r\n"));
        assert!(feed.contains("DESCRIPTION:Acme\\; PBX\\, line 1\\nline 2\r\n"));
        assert_eq!(feed.matches("BEGIN:VEVENT").count(), 2);
        assert!(
            !feed.replace("\r\n", "").contains('\n'),
            "every line ends in CRLF"
        );
    }

    proptest! {
        #[test]
        fn folded_lines_stay_within_75_octets_and_unfold_to_the_line(
            line in "[a-zé日本 ;,:]{0,300}"
        ) {
            let folded = fold(&line);
            for part in folded.split("\r\n") {
                prop_assert!(part.len() <= 75, "{} octets: {part:?}", part.len());
            }
            prop_assert_eq!(unfold(&folded), line);
        }

        #[test]
        fn escaped_text_has_no_bare_separator(text in "[a-z;,\\\\\n]{0,40}") {
            let escaped = escape(&text);
            prop_assert!(!escaped.contains('\n'));
            let mut chars = escaped.chars();
            while let Some(c) = chars.next() {
                if c == '\\' {
                    let next = chars.next();
                    prop_assert!(matches!(next, Some('\\' | ';' | ',' | 'n')), "{escaped:?}");
                } else {
                    prop_assert!(c != ';' && c != ',', "{escaped:?}");
                }
            }
        }
    }
}
