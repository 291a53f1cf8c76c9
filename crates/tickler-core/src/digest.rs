//! The morning digest: when each member of the team gets it, and what it says. One email a
//! day at a local time in the reader's zone, listing what goes out in their name, what waits
//! for them and what is at stake; none on a day when every list is empty.

use std::{fmt, str::FromStr};

use jiff::{
    Timestamp, ToSpan,
    civil::{Date, Time, Weekday},
    tz::TimeZone,
};
use serde::Serialize;

use crate::{ValidationError, language::Language, locale::format_date, plan::text_enum, schedule};

/// How often a member of the team gets the digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DigestFrequency {
    #[default]
    Daily,
    /// Monday to Friday in the reader's zone.
    Weekdays,
    Off,
}

text_enum!(DigestFrequency, "digest", {
    DigestFrequency::Daily => "daily",
    DigestFrequency::Weekdays => "weekdays",
    DigestFrequency::Off => "off",
});

/// When the digest goes out unless the reader chose another time.
pub const DEFAULT_TIME: Time = Time::constant(8, 0, 0, 0);

/// The reader's digest settings, in their zone.
#[derive(Debug, Clone, PartialEq)]
pub struct DigestSchedule {
    pub frequency: DigestFrequency,
    pub time: Time,
    pub zone: TimeZone,
}

/// Parses a digest time, "08:00" or "8:00".
pub fn parse_time(field: &str, text: &str) -> Result<Time, ValidationError> {
    let bad = || ValidationError::new(field, format!("\"{text}\" is not a time like 08:00"));
    let (hour, minute) = text.trim().split_once(':').ok_or_else(bad)?;
    let hour: i8 = hour.parse().map_err(|_| bad())?;
    let minute: i8 = minute.parse().map_err(|_| bad())?;
    Time::new(hour, minute, 0, 0).map_err(|_| bad())
}

/// A digest time in JSON: "08:00".
pub fn serialize_time<S: serde::Serializer>(time: &Time, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&format_time(*time))
}

/// A digest time as stored and shown: "08:00".
pub fn format_time(time: Time) -> String {
    format!("{:02}:{:02}", time.hour(), time.minute())
}

impl DigestSchedule {
    /// Whether the reader gets a digest on `day` (a local date).
    pub fn sends_on(&self, day: Date) -> bool {
        match self.frequency {
            DigestFrequency::Daily => true,
            DigestFrequency::Weekdays => {
                !matches!(day.weekday(), Weekday::Saturday | Weekday::Sunday)
            }
            DigestFrequency::Off => false,
        }
    }

    /// The instant of `day`'s digest (a local time that does not exist that day moves
    /// later, as every local time in Tickler).
    pub fn instant(&self, day: Date) -> Timestamp {
        schedule::local_instant(day, self.time, &self.zone)
    }

    /// The digest due at `now`: today's (in the reader's zone) once its time has come. A
    /// digest missed (no dispatcher ran at its time) goes out late, as any reminder, but only
    /// on its own day: the next morning its "today and tomorrow" would be about days gone by,
    /// and that day's own digest follows.
    pub fn due(&self, now: Timestamp) -> Option<(Date, Timestamp)> {
        let today = now.to_zoned_datetime(self.zone.clone()).date();
        let at = self.instant(today);
        (self.sends_on(today) && at <= now).then_some((today, at))
    }

    /// Every digest instant in `[from, until]`, in order: what a dispatcher running all along
    /// would send.
    pub fn between(&self, from: Timestamp, until: Timestamp) -> Vec<(Date, Timestamp)> {
        let mut day = from
            .to_zoned_datetime(self.zone.clone())
            .date()
            .saturating_sub(1.day());
        let last = until.to_zoned_datetime(self.zone.clone()).date();
        let mut found = Vec::new();
        while day <= last {
            let at = self.instant(day);
            if self.sends_on(day) && at >= from && at <= until {
                found.push((day, at));
            }
            day = day.saturating_add(1.day());
        }
        found
    }
}

/// The key of a reader's digest of `day` among their digest reminders: once per day, ever.
pub fn step_key(day: Date) -> String {
    format!("digest:{day}")
}

/// One line of a digest list: what it is about and where to look at it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DigestLine {
    /// When it happens, if at an instant (a send), shown in the reader's zone.
    pub at: Option<Timestamp>,
    /// The day it is about, if a day (a task's due date, a contract's end, an invoice's due).
    pub day: Option<Date>,
    /// Who and what: "Acme Ltd · Maintenance 2027 · Final notice, 7 days before".
    pub text: String,
    /// Past its day (a task or an invoice).
    pub overdue: bool,
    /// The app's page for it ("/review/12"), made absolute when the public address is known.
    pub link: String,
}

/// The lists of one owner's part of a digest, each capped; `more` counts what was left out.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DigestLists {
    pub going_out: Listed,
    pub awaiting_approval: Listed,
    pub failed: Listed,
    pub tasks: Listed,
    pub expiring: Listed,
    pub overdue_invoices: Listed,
    pub answers: Listed,
}

/// A list and how many more there were beyond what it shows.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Listed {
    pub lines: Vec<DigestLine>,
    pub more: usize,
}

impl Listed {
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty() && self.more == 0
    }

    pub fn len(&self) -> usize {
        self.lines.len() + self.more
    }

    /// Adds a line unless `cap` lines are shown already (then it is counted in `more`).
    pub fn push(&mut self, line: DigestLine, cap: usize) {
        if self.lines.len() < cap {
            self.lines.push(line);
        } else {
            self.more += 1;
        }
    }
}

impl DigestLists {
    pub fn is_empty(&self) -> bool {
        self.sections().iter().all(|(_, list)| list.is_empty())
    }

    fn sections(&self) -> [(Section, &Listed); 7] {
        [
            (Section::GoingOut, &self.going_out),
            (Section::AwaitingApproval, &self.awaiting_approval),
            (Section::Failed, &self.failed),
            (Section::Tasks, &self.tasks),
            (Section::Expiring, &self.expiring),
            (Section::OverdueInvoices, &self.overdue_invoices),
            (Section::Answers, &self.answers),
        ]
    }
}

/// Yesterday across the team, for the admins' digest.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct DayCounts {
    pub sent: i64,
    pub failed: i64,
    pub skipped: i64,
    pub answered: i64,
    pub invoices_issued: i64,
    pub invoices_paid: i64,
}

impl DayCounts {
    pub fn is_zero(&self) -> bool {
        *self == DayCounts::default()
    }
}

/// One owner's part of a digest: the reader's own, or one of the team's in an admin's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OwnerPart {
    /// `None` for the reader themself (an owner's digest has one part).
    pub owner: Option<String>,
    pub lists: DigestLists,
}

/// A whole digest, ready to be written out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Digest {
    pub reader: String,
    pub day: Date,
    pub parts: Vec<OwnerPart>,
    /// Yesterday's counts: an admin's digest only.
    pub yesterday: Option<DayCounts>,
}

impl Digest {
    /// Nothing to say: not sent.
    pub fn is_empty(&self) -> bool {
        self.parts.iter().all(|p| p.lists.is_empty())
            && self.yesterday.is_none_or(|counts| counts.is_zero())
    }
}

#[derive(Debug, Clone, Copy)]
enum Section {
    GoingOut,
    AwaitingApproval,
    Failed,
    Tasks,
    Expiring,
    OverdueInvoices,
    Answers,
}

/// The words of a digest in one language.
struct Words {
    subject: &'static str,
    greeting: &'static str,
    intro: &'static str,
    overdue: &'static str,
    more: &'static str,
    yesterday: &'static str,
    counts: [&'static str; 6],
    sign_off: &'static str,
}

fn words(language: Language) -> Words {
    match language {
        Language::En => Words {
            subject: "Your Tickler digest for",
            greeting: "Good morning",
            intro: "Here is what goes out in your name, what waits for you and what is at stake.",
            overdue: "overdue",
            more: "more",
            yesterday: "Yesterday across the team",
            counts: [
                "sent",
                "failed",
                "skipped",
                "answered",
                "invoices issued",
                "invoices paid",
            ],
            sign_off: "Tickler",
        },
        Language::Ja => Words {
            subject: "Tickler 本日のダイジェスト",
            greeting: "おはようございます",
            intro: "あなたの名前で送信されるメール、あなたの対応を待つもの、注意が必要なものの一覧です。",
            overdue: "期限超過",
            more: "件ほか",
            yesterday: "昨日のチーム全体",
            counts: [
                "送信",
                "失敗",
                "スキップ",
                "回答",
                "発行した請求書",
                "入金済みの請求書",
            ],
            sign_off: "Tickler",
        },
        Language::El => Words {
            subject: "Η σύνοψη του Tickler για",
            greeting: "Καλημέρα",
            intro: "Τι φεύγει με το όνομά σας, τι περιμένει εσάς και τι διακυβεύεται.",
            overdue: "εκπρόθεσμο",
            more: "ακόμη",
            yesterday: "Χθες σε όλη την ομάδα",
            counts: [
                "στάλθηκαν",
                "απέτυχαν",
                "παραλείφθηκαν",
                "απαντήσεις",
                "τιμολόγια εκδόθηκαν",
                "τιμολόγια εξοφλήθηκαν",
            ],
            sign_off: "Tickler",
        },
    }
}

fn heading(section: Section, language: Language) -> &'static str {
    use Section::*;
    match (language, section) {
        (Language::En, GoingOut) => "Going out today and tomorrow",
        (Language::En, AwaitingApproval) => "Waiting for your approval",
        (Language::En, Failed) => "Failed to send",
        (Language::En, Tasks) => "Open tasks",
        (Language::En, Expiring) => "Expiring within 30 days, no answer yet",
        (Language::En, OverdueInvoices) => "Overdue invoices",
        (Language::En, Answers) => "Customers' answers since yesterday",
        (Language::Ja, GoingOut) => "今日と明日送信されるメール",
        (Language::Ja, AwaitingApproval) => "承認待ちのメール",
        (Language::Ja, Failed) => "送信に失敗したメール",
        (Language::Ja, Tasks) => "未完了のタスク",
        (Language::Ja, Expiring) => "30日以内に満了し回答のない契約",
        (Language::Ja, OverdueInvoices) => "支払期限を過ぎた請求書",
        (Language::Ja, Answers) => "昨日からのお客様の回答",
        (Language::El, GoingOut) => "Φεύγουν σήμερα και αύριο",
        (Language::El, AwaitingApproval) => "Περιμένουν την έγκρισή σας",
        (Language::El, Failed) => "Απέτυχε η αποστολή",
        (Language::El, Tasks) => "Ανοιχτές εργασίες",
        (Language::El, Expiring) => "Λήγουν σε 30 ημέρες χωρίς απάντηση",
        (Language::El, OverdueInvoices) => "Ληξιπρόθεσμα τιμολόγια",
        (Language::El, Answers) => "Απαντήσεις πελατών από χθες",
    }
}

/// The digest as a subject line and a plain-text body (its HTML twin is made from the text,
/// as every message's is), in `language`, times in `zone`.
pub fn write(digest: &Digest, language: Language, zone: &TimeZone) -> (String, String) {
    let w = words(language);
    let date = format_date(digest.day, language);
    let counts: Vec<String> = summary(digest, language);
    let subject = if counts.is_empty() {
        format!("{} {date}", w.subject)
    } else {
        format!("{} {date}: {}", w.subject, counts.join(", "))
    };
    let mut body = format!("{}, {}.\n\n{}\n", w.greeting, digest.reader, w.intro);
    for part in &digest.parts {
        if let Some(owner) = &part.owner {
            if part.lists.is_empty() {
                continue;
            }
            body.push_str(&format!("\n== {owner} ==\n"));
        }
        for (section, list) in part.lists.sections() {
            if list.is_empty() {
                continue;
            }
            body.push_str(&format!(
                "\n{} ({})\n",
                heading(section, language),
                list.len()
            ));
            for line in &list.lines {
                body.push_str(&format!("- {}\n", line_text(line, &w, language, zone)));
                body.push_str(&format!("  {}\n", line.link));
            }
            if list.more > 0 {
                body.push_str(&format!("- … {} {}\n", list.more, w.more));
            }
        }
    }
    if let Some(counts) = digest.yesterday {
        let figures = [
            counts.sent,
            counts.failed,
            counts.skipped,
            counts.answered,
            counts.invoices_issued,
            counts.invoices_paid,
        ];
        let listed: Vec<String> = w
            .counts
            .iter()
            .zip(figures)
            .map(|(label, n)| format!("{label}: {n}"))
            .collect();
        body.push_str(&format!("\n{}\n{}\n", w.yesterday, listed.join(" · ")));
    }
    body.push_str(&format!("\n--\n{}\n", w.sign_off));
    (subject, body)
}

/// The subject line's short count: "2 going out, 1 waiting for approval".
fn summary(digest: &Digest, language: Language) -> Vec<String> {
    let total = |pick: fn(&DigestLists) -> &Listed| -> usize {
        digest.parts.iter().map(|p| pick(&p.lists).len()).sum()
    };
    let figures = [
        (total(|l| &l.going_out), Section::GoingOut),
        (total(|l| &l.awaiting_approval), Section::AwaitingApproval),
        (total(|l| &l.failed), Section::Failed),
    ];
    figures
        .into_iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, section)| {
            let name = match (language, section) {
                (Language::En, Section::GoingOut) => "going out",
                (Language::En, Section::AwaitingApproval) => "waiting for approval",
                (Language::En, _) => "failed",
                (Language::Ja, Section::GoingOut) => "送信予定",
                (Language::Ja, Section::AwaitingApproval) => "承認待ち",
                (Language::Ja, _) => "失敗",
                (Language::El, Section::GoingOut) => "φεύγουν",
                (Language::El, Section::AwaitingApproval) => "περιμένουν έγκριση",
                (Language::El, _) => "απέτυχαν",
            };
            match language {
                Language::Ja => format!("{name} {n}件"),
                _ => format!("{n} {name}"),
            }
        })
        .collect()
}

fn line_text(line: &DigestLine, w: &Words, language: Language, zone: &TimeZone) -> String {
    let mut text = String::new();
    if let Some(at) = line.at {
        let local = at.to_zoned_datetime(zone.clone());
        text.push_str(&format!(
            "{} {:02}:{:02}  ",
            format_date(local.date(), language),
            local.hour(),
            local.minute()
        ));
    } else if let Some(day) = line.day {
        text.push_str(&format!("{}  ", format_date(day, language)));
    }
    text.push_str(&line.text);
    if line.overdue {
        text.push_str(&format!(" ({})", w.overdue));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::{
        SignedDuration,
        civil::{date, time},
    };
    use proptest::prelude::*;

    fn tokyo(frequency: DigestFrequency) -> DigestSchedule {
        DigestSchedule {
            frequency,
            time: DEFAULT_TIME,
            zone: TimeZone::get("Asia/Tokyo").unwrap(),
        }
    }

    fn ts(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    #[test]
    fn the_digest_is_due_from_eight_in_the_readers_zone() {
        let s = tokyo(DigestFrequency::Daily);
        // 08:00 in Tokyo is 23:00 UTC the day before.
        // 07:59 on the 11th: the 10th's is a day gone by.
        assert_eq!(s.due(ts("2027-01-10T22:59:59Z")), None);
        assert_eq!(
            s.due(ts("2027-01-10T23:00:00Z")),
            Some((date(2027, 1, 11), ts("2027-01-10T23:00:00Z")))
        );
        // Late on its own day: still due.
        assert_eq!(
            s.due(ts("2027-01-11T14:59:59Z")).map(|d| d.0),
            Some(date(2027, 1, 11))
        );
        let off = tokyo(DigestFrequency::Off);
        assert_eq!(off.due(ts("2027-01-10T23:00:00Z")), None);
    }

    #[test]
    fn weekdays_only_skips_the_weekend() {
        let s = tokyo(DigestFrequency::Weekdays);
        // Friday 8 January 2027, 09:00 Tokyo; then Saturday.
        assert_eq!(
            s.due(ts("2027-01-08T00:00:00Z")),
            Some((date(2027, 1, 8), ts("2027-01-07T23:00:00Z")))
        );
        assert_eq!(s.due(ts("2027-01-09T00:00:00Z")), None);
        let week = s.between(ts("2027-01-04T00:00:00Z"), ts("2027-01-11T00:00:00Z"));
        let days: Vec<Date> = week.iter().map(|d| d.0).collect();
        assert_eq!(
            days,
            // Monday the 4th's is before `from` (08:00 Tokyo is 23:00 UTC the day before);
            // Monday the 11th's is at 23:00 UTC on the 10th, inside.
            vec![
                date(2027, 1, 5),
                date(2027, 1, 6),
                date(2027, 1, 7),
                date(2027, 1, 8),
                date(2027, 1, 11)
            ]
        );
    }

    #[test]
    fn times_parse_and_print() {
        assert_eq!(parse_time("digest_time", "8:05"), Ok(time(8, 5, 0, 0)));
        assert_eq!(format_time(time(8, 5, 0, 0)), "08:05");
        assert!(parse_time("digest_time", "25:00").is_err());
        assert!(parse_time("digest_time", "eight").is_err());
        assert_eq!("weekdays".parse(), Ok(DigestFrequency::Weekdays));
        assert!("hourly".parse::<DigestFrequency>().is_err());
    }

    fn line(text: &str) -> DigestLine {
        DigestLine {
            at: Some(ts("2027-01-11T00:30:00Z")),
            day: None,
            text: text.to_string(),
            overdue: false,
            link: "/review/1".to_string(),
        }
    }

    #[test]
    fn an_empty_digest_is_not_sent_and_a_full_one_says_what_it_holds() {
        let mut digest = Digest {
            reader: "Hana".to_string(),
            day: date(2027, 1, 11),
            parts: vec![OwnerPart {
                owner: None,
                lists: DigestLists::default(),
            }],
            yesterday: None,
        };
        assert!(digest.is_empty());
        digest.yesterday = Some(DayCounts::default());
        assert!(digest.is_empty());
        digest.parts[0]
            .lists
            .going_out
            .push(line("Acme · Renewal notice"), 20);
        assert!(!digest.is_empty());
        let zone = TimeZone::get("Asia/Tokyo").unwrap();
        let (subject, body) = write(&digest, Language::En, &zone);
        assert_eq!(
            subject,
            "Your Tickler digest for 11 January 2027: 1 going out"
        );
        assert!(body.contains("Going out today and tomorrow (1)"), "{body}");
        assert!(
            body.contains("11 January 2027 09:30  Acme · Renewal notice"),
            "{body}"
        );
        let (subject, body) = write(&digest, Language::Ja, &zone);
        assert_eq!(
            subject,
            "Tickler 本日のダイジェスト 2027年1月11日: 送信予定 1件"
        );
        assert!(body.contains("今日と明日送信されるメール (1)"), "{body}");
        let (subject, _) = write(&digest, Language::El, &zone);
        assert!(subject.starts_with("Η σύνοψη του Tickler για 11 Ιανουαρίου 2027"));
    }

    #[test]
    fn a_capped_list_counts_the_rest() {
        let mut list = Listed::default();
        for i in 0..5 {
            list.push(line(&format!("item {i}")), 3);
        }
        assert_eq!((list.lines.len(), list.more, list.len()), (3, 2, 5));
    }

    proptest! {
        /// Whatever the zone, time and moment, a due digest is today's (in the reader's zone),
        /// at or before now, on a day the reader takes digests; and `between` lists it last.
        #[test]
        fn the_due_digest_is_the_latest_listed_one(
            secs in 1_700_000_000i64..1_900_000_000,
            hour in 0i8..24, minute in 0i8..60,
            zone in prop::sample::select(vec!["UTC", "Asia/Tokyo", "Europe/Athens", "America/New_York", "Australia/Lord_Howe"]),
            weekdays in any::<bool>(),
        ) {
            let s = DigestSchedule {
                frequency: if weekdays { DigestFrequency::Weekdays } else { DigestFrequency::Daily },
                time: Time::new(hour, minute, 0, 0).unwrap(),
                zone: TimeZone::get(zone).unwrap(),
            };
            let now = Timestamp::from_second(secs).unwrap();
            let listed = s.between(now - SignedDuration::from_hours(24), now);
            let today = now.to_zoned_datetime(s.zone.clone()).date();
            let todays: Vec<_> = listed.iter().filter(|(day, _)| *day == today).copied().collect();
            match s.due(now) {
                Some((day, at)) => {
                    prop_assert!(at <= now && day == today && s.sends_on(day));
                    prop_assert_eq!(todays, vec![(day, at)]);
                }
                None => prop_assert!(todays.is_empty()),
            }
        }
    }
}
