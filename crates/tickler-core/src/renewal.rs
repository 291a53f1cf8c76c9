//! How a contract renews: it expires unless renewed, renews itself unless cancelled by its
//! notice date, or runs with no end at all; and the customer's answer to a renewal email.

use std::{fmt, str::FromStr};

use jiff::{Span, civil::Date};
use serde::{Deserialize, Serialize};

use crate::{ValidationError, plan::text_enum};

/// What happens at the end of a contract's term unless someone acts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RenewalType {
    /// The contract ends with its term unless renewed (the default).
    Expires,
    /// The next term starts by itself unless the contract is declined by its notice date.
    Auto,
    /// No end date: no expiry emails, invoices go on.
    Evergreen,
}

text_enum!(RenewalType, "renewal", {
    RenewalType::Expires => "expires",
    RenewalType::Auto => "auto",
    RenewalType::Evergreen => "evergreen",
});

/// A contract's renewal type with its notice period, built only valid by [`Renewal::parse`]:
/// `notice_days` is `Some` exactly when `kind` is [`RenewalType::Auto`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Renewal {
    /// What happens at the term's end.
    pub kind: RenewalType,
    /// Days before the end date by which the customer must cancel an auto-renewing term.
    pub notice_days: Option<u32>,
}

impl Renewal {
    /// The default: the contract expires with its term.
    pub const EXPIRES: Renewal = Renewal {
        kind: RenewalType::Expires,
        notice_days: None,
    };

    /// Reads `--renewal` and `--notice-days` as typed (blank is absent, as a web form sends
    /// an empty field) against the term they are for: `None` for an evergreen contract, which
    /// has no end date, else `(start, end)` of a valid term.
    ///
    /// Refused, naming the field: an unknown type (`renewal`); a notice period without `auto`,
    /// `auto` without one, one that is not a whole number, or one so long that the notice date
    /// would fall before the term starts (`notice_days`); an end date with `evergreen`, or no
    /// end date without it (`end`).
    pub fn parse(
        kind: Option<&str>,
        notice_days: Option<&str>,
        term: Option<(Date, Date)>,
    ) -> Result<Renewal, ValidationError> {
        let kind = match present(kind) {
            Some(text) => text.parse::<RenewalType>()?,
            None => RenewalType::Expires,
        };
        let notice_text = present(notice_days);
        if notice_text.is_some() && kind != RenewalType::Auto {
            return Err(ValidationError::new(
                "notice_days",
                "--notice-days needs --renewal auto",
            ));
        }
        let (start, end) = match (kind, term) {
            (RenewalType::Evergreen, None) => {
                return Ok(Renewal {
                    kind,
                    notice_days: None,
                });
            }
            (RenewalType::Evergreen, Some(_)) => {
                return Err(ValidationError::new(
                    "end",
                    "an evergreen contract has no end date: leave --end out",
                ));
            }
            (_, None) => {
                return Err(ValidationError::new(
                    "end",
                    format!("a contract with --renewal {kind} needs an end date (--end)"),
                ));
            }
            (_, Some(term)) => term,
        };
        if kind == RenewalType::Expires {
            return Ok(Renewal::EXPIRES);
        }
        let Some(text) = notice_text else {
            return Err(ValidationError::new(
                "notice_days",
                "--renewal auto needs --notice-days N: the days before the end date by which \
                 the customer must cancel",
            ));
        };
        let days = parse_days(text)?;
        // The notice date must fall inside the term, or the customer could never cancel in
        // time: a notice as long as the term puts it on the start date, the last allowed.
        let term_days = start.until(end).map(|s| s.get_days()).unwrap_or(0);
        if i64::from(days) > i64::from(term_days) {
            return Err(ValidationError::new(
                "notice_days",
                format!(
                    "{} of notice is longer than the term {start} to {end} ({})",
                    day_count(i64::from(days)),
                    day_count(i64::from(term_days))
                ),
            ));
        }
        Ok(Renewal {
            kind,
            notice_days: Some(days),
        })
    }

    /// The last day the customer can cancel an auto-renewing term ending `end`; `None` for the
    /// other types, which have no notice date.
    pub fn notice_date(&self, end: Date) -> Option<Date> {
        match (self.kind, self.notice_days) {
            (RenewalType::Auto, Some(days)) => Some(notice_date(end, days)),
            _ => None,
        }
    }
}

/// Text as typed, blank taken as absent.
fn present(text: Option<&str>) -> Option<&str> {
    text.map(str::trim).filter(|t| !t.is_empty())
}

/// "30" as a number of days: digits only, 0 or more.
fn parse_days(text: &str) -> Result<u32, ValidationError> {
    let refuse = |why: &str| ValidationError::new("notice_days", format!("\"{text}\" {why}"));
    if !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(refuse("is not a whole number of days (0 or more)"));
    }
    text.parse::<u32>()
        .map_err(|_| refuse("is too many days of notice"))
}

fn day_count(days: i64) -> String {
    if days == 1 {
        "1 day".to_string()
    } else {
        format!("{days} days")
    }
}

/// The notice date of an auto-renewing term: `notice_days` calendar days before its end
/// (a notice period is a legal delay, counted in calendar days, not business days), or
/// -9999-01-01 when that is before the calendar's start.
pub fn notice_date(end: Date, notice_days: u32) -> Date {
    Span::new()
        .try_days(i64::from(notice_days))
        .ok()
        .and_then(|span| end.checked_sub(span).ok())
        .unwrap_or(Date::MIN)
}

/// How long each term of an evergreen contract runs: a year. An evergreen contract has no
/// end date for anyone to see; its terms roll on silently so that invoices, which are planned
/// per term, go on.
pub fn evergreen_term_end(start: Date) -> Date {
    start
        .checked_add(Span::new().years(1))
        .and_then(|d| d.yesterday())
        .unwrap_or(Date::MAX)
}

/// Whether a term's end starts the next term by itself: an auto-renewing contract's unless
/// the customer declined, and an evergreen one's (whose yearly terms roll on unseen), never a
/// terminated contract's. An `expires` term renews only by a decision (an answer, a quote).
pub fn renews_at_end(kind: RenewalType, declined: bool, terminated: bool) -> bool {
    kind != RenewalType::Expires && !declined && !terminated
}

/// The customer's decision on a renewal email, given through a signed link or recorded by
/// the team.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Answer {
    /// Start the next term.
    Renew,
    /// Do not renew: the pre-expiry emails stop.
    Decline,
    /// Send a renewal quote first: the owner gets a task.
    Quote,
}

text_enum!(Answer, "answer", {
    Answer::Renew => "renew",
    Answer::Decline => "decline",
    Answer::Quote => "quote",
});

#[cfg(test)]
mod tests {
    use jiff::{ToSpan, civil::date};
    use proptest::prelude::*;

    use super::*;

    const YEAR_2027: Option<(Date, Date)> = Some((date(2027, 1, 1), date(2027, 12, 31)));

    fn err(
        kind: Option<&str>,
        notice: Option<&str>,
        term: Option<(Date, Date)>,
    ) -> (String, String) {
        let err = Renewal::parse(kind, notice, term).unwrap_err();
        (err.field, err.message)
    }

    #[test]
    fn the_default_is_expires() {
        assert_eq!(Renewal::parse(None, None, YEAR_2027), Ok(Renewal::EXPIRES));
        assert_eq!(
            Renewal::parse(Some(" "), Some(""), YEAR_2027),
            Ok(Renewal::EXPIRES)
        );
        assert_eq!(
            Renewal::parse(Some("expires"), None, YEAR_2027),
            Ok(Renewal::EXPIRES)
        );
        assert_eq!(Renewal::EXPIRES.notice_date(date(2027, 12, 31)), None);
    }

    #[test]
    fn auto_takes_a_notice_period_inside_the_term() {
        let auto = Renewal::parse(Some("auto"), Some(" 30 "), YEAR_2027).unwrap();
        assert_eq!(
            auto,
            Renewal {
                kind: RenewalType::Auto,
                notice_days: Some(30)
            }
        );
        assert_eq!(
            auto.notice_date(date(2027, 12, 31)),
            Some(date(2027, 12, 1))
        );
        // No notice at all is a notice date on the end date.
        let zero = Renewal::parse(Some("auto"), Some("0"), YEAR_2027).unwrap();
        assert_eq!(
            zero.notice_date(date(2027, 12, 31)),
            Some(date(2027, 12, 31))
        );
        // As long as the term: the notice date is the start date, the last one allowed.
        let short = Some((date(2027, 1, 1), date(2027, 2, 28)));
        assert!(Renewal::parse(Some("auto"), Some("58"), short).is_ok());
        assert_eq!(
            err(Some("auto"), Some("59"), short),
            (
                "notice_days".to_string(),
                "59 days of notice is longer than the term 2027-01-01 to 2027-02-28 (58 days)"
                    .to_string()
            )
        );
        assert_eq!(
            err(Some("auto"), Some("90"), short).1,
            "90 days of notice is longer than the term 2027-01-01 to 2027-02-28 (58 days)"
        );
        let two_days = Some((date(2027, 1, 1), date(2027, 1, 2)));
        assert_eq!(
            err(Some("auto"), Some("2"), two_days).1,
            "2 days of notice is longer than the term 2027-01-01 to 2027-01-02 (1 day)"
        );
    }

    #[test]
    fn auto_needs_a_whole_number_of_days() {
        let (field, message) = err(Some("auto"), None, YEAR_2027);
        assert_eq!(field, "notice_days");
        assert!(
            message.starts_with("--renewal auto needs --notice-days"),
            "{message}"
        );
        for bad in ["-3", "1.5", "30d", "+5", "thirty"] {
            assert_eq!(
                err(Some("auto"), Some(bad), YEAR_2027),
                (
                    "notice_days".to_string(),
                    format!("\"{bad}\" is not a whole number of days (0 or more)")
                ),
            );
        }
        assert_eq!(
            err(Some("auto"), Some("99999999999"), YEAR_2027).1,
            "\"99999999999\" is too many days of notice"
        );
    }

    #[test]
    fn notice_days_need_auto() {
        for kind in [None, Some("expires"), Some("evergreen")] {
            assert_eq!(
                err(kind, Some("30"), YEAR_2027),
                (
                    "notice_days".to_string(),
                    "--notice-days needs --renewal auto".to_string()
                )
            );
        }
    }

    #[test]
    fn evergreen_has_no_end_date_and_the_others_need_one() {
        assert_eq!(
            Renewal::parse(Some("evergreen"), None, None),
            Ok(Renewal {
                kind: RenewalType::Evergreen,
                notice_days: None
            })
        );
        assert_eq!(
            err(Some("evergreen"), None, YEAR_2027),
            (
                "end".to_string(),
                "an evergreen contract has no end date: leave --end out".to_string()
            )
        );
        assert_eq!(
            err(None, None, None),
            (
                "end".to_string(),
                "a contract with --renewal expires needs an end date (--end)".to_string()
            )
        );
        assert_eq!(err(Some("auto"), Some("30"), None).0, "end");
    }

    #[test]
    fn unknown_types_list_the_known_ones() {
        assert_eq!(
            err(Some("sometimes"), None, YEAR_2027),
            (
                "renewal".to_string(),
                "unknown renewal \"sometimes\" (expected expires, auto, evergreen)".to_string()
            )
        );
    }

    #[test]
    fn enums_round_trip_through_text() {
        for kind in [
            RenewalType::Expires,
            RenewalType::Auto,
            RenewalType::Evergreen,
        ] {
            assert_eq!(kind.as_str().parse::<RenewalType>(), Ok(kind));
            assert_eq!(
                serde_json::to_string(&kind).unwrap(),
                format!("\"{}\"", kind.as_str())
            );
        }
        for answer in [Answer::Renew, Answer::Decline, Answer::Quote] {
            assert_eq!(answer.as_str().parse::<Answer>(), Ok(answer));
            assert_eq!(
                serde_json::to_string(&answer).unwrap(),
                format!("\"{}\"", answer.as_str())
            );
        }
        assert!("maybe".parse::<Answer>().is_err());
    }

    #[test]
    fn undeclined_running_auto_and_evergreen_contracts_renew_by_themselves() {
        assert!(renews_at_end(RenewalType::Auto, false, false));
        assert!(renews_at_end(RenewalType::Evergreen, false, false));
        assert!(!renews_at_end(RenewalType::Auto, true, false));
        assert!(!renews_at_end(RenewalType::Auto, false, true));
        assert!(!renews_at_end(RenewalType::Evergreen, false, true));
        assert!(!renews_at_end(RenewalType::Expires, false, false));
    }

    #[test]
    fn evergreen_terms_run_a_year() {
        assert_eq!(evergreen_term_end(date(2027, 1, 1)), date(2027, 12, 31));
        assert_eq!(evergreen_term_end(date(2028, 2, 29)), date(2029, 2, 27));
        assert_eq!(evergreen_term_end(Date::MAX), Date::MAX);
    }

    #[test]
    fn notice_dates_count_calendar_days_and_stop_at_the_calendar() {
        assert_eq!(notice_date(date(2027, 3, 31), 30), date(2027, 3, 1));
        assert_eq!(notice_date(date(2028, 3, 1), 1), date(2028, 2, 29));
        assert_eq!(notice_date(date(-9999, 1, 10), 30), Date::MIN);
        assert_eq!(notice_date(date(2027, 1, 1), u32::MAX), Date::MIN);
    }

    fn any_date() -> impl Strategy<Value = Date> {
        (1900i16..=2200, 1i8..=12, 1i8..=31)
            .prop_map(|(y, m, d)| date(y, m, d.min(date(y, m, 1).days_in_month())))
    }

    proptest! {
        #[test]
        fn an_accepted_notice_date_falls_inside_the_term(
            start in any_date(),
            length in 0i32..2000,
            notice in 0u32..2500,
        ) {
            let end = start.checked_add(length.days()).unwrap();
            match Renewal::parse(Some("auto"), Some(&notice.to_string()), Some((start, end))) {
                Ok(renewal) => {
                    let on = renewal.notice_date(end).unwrap();
                    prop_assert!(start <= on && on <= end);
                    prop_assert_eq!(on.until(end).unwrap().get_days(), notice as i32);
                }
                Err(err) => {
                    prop_assert_eq!(err.field, "notice_days");
                    prop_assert!(notice as i32 > length);
                }
            }
        }

        #[test]
        fn arbitrary_text_never_panics(
            kind in proptest::option::of("\\PC{0,12}"),
            notice in proptest::option::of("\\PC{0,12}"),
            evergreen in any::<bool>(),
        ) {
            let term = (!evergreen).then_some((date(2027, 1, 1), date(2027, 12, 31)));
            if let Ok(renewal) = Renewal::parse(kind.as_deref(), notice.as_deref(), term) {
                prop_assert_eq!(renewal.notice_days.is_some(), renewal.kind == RenewalType::Auto);
                prop_assert_eq!(renewal.kind == RenewalType::Evergreen, evergreen);
            }
        }
    }
}
