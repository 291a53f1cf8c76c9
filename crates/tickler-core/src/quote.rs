//! Renewal quotes: the rules of a quote's life, `draft → sent → accepted | declined |
//! expired`. The last three are final. Each rule is a pure function, called as
//! `quote::accept(...)`, that returns the status after the action or says why it is refused.

use std::{fmt, str::FromStr};

use jiff::{Span, civil::Date};
use serde::{Deserialize, Serialize};

use crate::{ValidationError, plan::text_enum};

/// Where a quote is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QuoteStatus {
    /// Being written by the team; the customer has not seen it.
    Draft,
    /// With the customer, awaiting an answer until its validity date.
    Sent,
    /// The next term was created from it.
    Accepted,
    /// The customer or the team said no; the contract is not renewed by this quote.
    Declined,
    /// Its validity date passed unanswered.
    Expired,
}

text_enum!(QuoteStatus, "status", {
    QuoteStatus::Draft => "draft",
    QuoteStatus::Sent => "sent",
    QuoteStatus::Accepted => "accepted",
    QuoteStatus::Declined => "declined",
    QuoteStatus::Expired => "expired",
});

impl QuoteStatus {
    /// Every status, in life-cycle order.
    pub const ALL: [QuoteStatus; 5] = [
        QuoteStatus::Draft,
        QuoteStatus::Sent,
        QuoteStatus::Accepted,
        QuoteStatus::Declined,
        QuoteStatus::Expired,
    ];

    /// Accepted, declined and expired are final: no action changes such a quote again (a new
    /// offer is a new quote).
    pub fn is_final(self) -> bool {
        matches!(
            self,
            QuoteStatus::Accepted | QuoteStatus::Declined | QuoteStatus::Expired
        )
    }
}

/// What the rules need to know of a quote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuoteState {
    /// Where the quote is now.
    pub status: QuoteStatus,
    /// The last day the customer can accept it.
    pub valid_until: Date,
    /// The day it was accepted or declined, if it was: the refusals name it.
    pub decided_on: Option<Date>,
}

/// Why an action on a quote is refused; its message is shown to users as it is (on the
/// public link page too).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct QuoteRuleError {
    /// What to tell the user, e.g. "this quote expired on 2027-05-30".
    pub message: String,
}

fn refuse<T>(message: impl Into<String>) -> Result<T, QuoteRuleError> {
    Err(QuoteRuleError {
        message: message.into(),
    })
}

/// " on 2027-05-01", or nothing when the day is not known.
fn on(day: Option<Date>) -> String {
    day.map(|d| format!(" on {d}")).unwrap_or_default()
}

/// A sent quote past its validity date is expired whether or not the periodic run has
/// marked it yet: accepting or declining it is refused the same way.
fn lapsed(state: QuoteState, today: Date) -> bool {
    state.status == QuoteStatus::Expired
        || (state.status == QuoteStatus::Sent && today > state.valid_until)
}

fn expired_message(state: QuoteState) -> String {
    format!("this quote expired on {}", state.valid_until)
}

/// Sending a draft to the customer: it needs at least one line (`line_count`), and a validity
/// date not yet passed, or the customer could never accept it.
pub fn send(
    state: QuoteState,
    line_count: usize,
    today: Date,
) -> Result<QuoteStatus, QuoteRuleError> {
    match state.status {
        QuoteStatus::Draft => {}
        QuoteStatus::Sent => return refuse("this quote was already sent"),
        status => {
            return refuse(format!("only a draft can be sent; this quote is {status}"));
        }
    }
    if line_count == 0 {
        return refuse("a quote needs at least one line before it is sent");
    }
    if today > state.valid_until {
        return refuse(format!(
            "the quote is valid until {}, which has passed: set a later date before sending it",
            state.valid_until
        ));
    }
    Ok(QuoteStatus::Sent)
}

/// Accepting a sent quote, by the customer's link or by the team, on or before its validity
/// date. A decision is taken once: a second acceptance is refused, naming the first.
pub fn accept(state: QuoteState, today: Date) -> Result<QuoteStatus, QuoteRuleError> {
    if lapsed(state, today) {
        return refuse(expired_message(state));
    }
    match state.status {
        QuoteStatus::Sent => Ok(QuoteStatus::Accepted),
        QuoteStatus::Draft => {
            refuse("only a sent quote can be accepted; this quote is a draft (send it first)")
        }
        QuoteStatus::Accepted => refuse(format!(
            "this quote was already accepted{}",
            on(state.decided_on)
        )),
        QuoteStatus::Declined => refuse(format!(
            "this quote was declined{}: it can no longer be accepted",
            on(state.decided_on)
        )),
        QuoteStatus::Expired => refuse(expired_message(state)),
    }
}

/// Declining a sent quote, by the customer's link or by the team, on or before its validity
/// date (after it, the quote has expired, which says the same).
pub fn decline(state: QuoteState, today: Date) -> Result<QuoteStatus, QuoteRuleError> {
    if lapsed(state, today) {
        return refuse(expired_message(state));
    }
    match state.status {
        QuoteStatus::Sent => Ok(QuoteStatus::Declined),
        QuoteStatus::Draft => refuse("only a sent quote can be declined; this quote is a draft"),
        QuoteStatus::Accepted => refuse(format!(
            "this quote was accepted{}: it can no longer be declined",
            on(state.decided_on)
        )),
        QuoteStatus::Declined => refuse(format!(
            "this quote was already declined{}",
            on(state.decided_on)
        )),
        QuoteStatus::Expired => refuse(expired_message(state)),
    }
}

/// Marking a sent quote expired once `today` is past its validity date (the periodic run,
/// which then gives the owner a task).
pub fn expire(state: QuoteState, today: Date) -> Result<QuoteStatus, QuoteRuleError> {
    match state.status {
        QuoteStatus::Sent if today > state.valid_until => Ok(QuoteStatus::Expired),
        QuoteStatus::Sent => refuse(format!("this quote is valid until {}", state.valid_until)),
        status => refuse(format!("only a sent quote expires; this quote is {status}")),
    }
}

/// Only a draft's lines, dates and terms can be changed: once sent, the customer may accept
/// exactly what they were shown.
pub fn check_edit(status: QuoteStatus) -> Result<(), QuoteRuleError> {
    match status {
        QuoteStatus::Draft => Ok(()),
        status => refuse(format!(
            "only a draft can be edited; this quote is {status} (create a new quote instead)"
        )),
    }
}

/// A new quote's validity when none is given: 30 days from `today`, or 9999-12-31 at the
/// calendar's end.
pub fn default_valid_until(today: Date) -> Date {
    today.checked_add(Span::new().days(30)).unwrap_or(Date::MAX)
}

#[cfg(test)]
mod tests {
    use jiff::{ToSpan, civil::date};
    use proptest::prelude::*;

    use super::*;

    const VALID_UNTIL: Date = date(2027, 5, 30);

    fn state(status: QuoteStatus, decided_on: Option<Date>) -> QuoteState {
        QuoteState {
            status,
            valid_until: VALID_UNTIL,
            decided_on,
        }
    }

    fn rule_err<T: fmt::Debug>(result: Result<T, QuoteRuleError>) -> String {
        result.unwrap_err().to_string()
    }

    #[test]
    fn statuses_round_trip_through_text() {
        for status in QuoteStatus::ALL {
            assert_eq!(status.as_str().parse::<QuoteStatus>(), Ok(status));
        }
        assert!("pending".parse::<QuoteStatus>().is_err());
        let final_ones: Vec<QuoteStatus> = QuoteStatus::ALL
            .into_iter()
            .filter(|s| s.is_final())
            .collect();
        assert_eq!(
            final_ones,
            vec![
                QuoteStatus::Accepted,
                QuoteStatus::Declined,
                QuoteStatus::Expired
            ]
        );
    }

    #[test]
    fn a_draft_with_lines_and_a_future_validity_is_sent() {
        let draft = state(QuoteStatus::Draft, None);
        assert_eq!(send(draft, 1, date(2027, 5, 1)), Ok(QuoteStatus::Sent));
        assert_eq!(send(draft, 3, VALID_UNTIL), Ok(QuoteStatus::Sent));
        assert_eq!(
            rule_err(send(draft, 0, date(2027, 5, 1))),
            "a quote needs at least one line before it is sent"
        );
        assert_eq!(
            rule_err(send(draft, 1, date(2027, 5, 31))),
            "the quote is valid until 2027-05-30, which has passed: set a later date before sending it"
        );
        assert_eq!(
            rule_err(send(state(QuoteStatus::Sent, None), 1, date(2027, 5, 1))),
            "this quote was already sent"
        );
        assert_eq!(
            rule_err(send(
                state(QuoteStatus::Accepted, None),
                1,
                date(2027, 5, 1)
            )),
            "only a draft can be sent; this quote is accepted"
        );
    }

    #[test]
    fn a_sent_quote_is_accepted_until_its_validity_date() {
        let sent = state(QuoteStatus::Sent, None);
        assert_eq!(accept(sent, date(2027, 5, 1)), Ok(QuoteStatus::Accepted));
        assert_eq!(accept(sent, VALID_UNTIL), Ok(QuoteStatus::Accepted));
        // Not yet marked expired by the run, but past its date all the same.
        assert_eq!(
            rule_err(accept(sent, date(2027, 5, 31))),
            "this quote expired on 2027-05-30"
        );
        assert_eq!(
            rule_err(accept(state(QuoteStatus::Expired, None), date(2027, 5, 1))),
            "this quote expired on 2027-05-30"
        );
    }

    #[test]
    fn a_decision_is_taken_once() {
        let today = date(2027, 5, 10);
        let accepted = state(QuoteStatus::Accepted, Some(date(2027, 5, 2)));
        assert_eq!(
            rule_err(accept(accepted, today)),
            "this quote was already accepted on 2027-05-02"
        );
        assert_eq!(
            rule_err(accept(state(QuoteStatus::Accepted, None), today)),
            "this quote was already accepted"
        );
        assert_eq!(
            rule_err(decline(accepted, today)),
            "this quote was accepted on 2027-05-02: it can no longer be declined"
        );
        let declined = state(QuoteStatus::Declined, Some(date(2027, 5, 3)));
        assert_eq!(
            rule_err(accept(declined, today)),
            "this quote was declined on 2027-05-03: it can no longer be accepted"
        );
        assert_eq!(
            rule_err(decline(declined, today)),
            "this quote was already declined on 2027-05-03"
        );
        // A decision stays what it was after the validity date too.
        assert_eq!(
            rule_err(accept(accepted, date(2027, 6, 30))),
            "this quote was already accepted on 2027-05-02"
        );
    }

    #[test]
    fn drafts_are_neither_accepted_nor_declined() {
        let draft = state(QuoteStatus::Draft, None);
        let today = date(2027, 5, 1);
        assert_eq!(
            rule_err(accept(draft, today)),
            "only a sent quote can be accepted; this quote is a draft (send it first)"
        );
        assert_eq!(
            rule_err(decline(draft, today)),
            "only a sent quote can be declined; this quote is a draft"
        );
        // Even past its date: a draft never expires, the team sets a new date.
        assert!(accept(draft, date(2028, 1, 1)).is_err());
        assert!(expire(draft, date(2028, 1, 1)).is_err());
    }

    #[test]
    fn a_sent_quote_is_declined_until_its_validity_date() {
        let sent = state(QuoteStatus::Sent, None);
        assert_eq!(decline(sent, VALID_UNTIL), Ok(QuoteStatus::Declined));
        assert_eq!(
            rule_err(decline(sent, date(2027, 5, 31))),
            "this quote expired on 2027-05-30"
        );
    }

    #[test]
    fn a_sent_quote_expires_the_day_after_its_validity_date() {
        let sent = state(QuoteStatus::Sent, None);
        assert_eq!(
            rule_err(expire(sent, VALID_UNTIL)),
            "this quote is valid until 2027-05-30"
        );
        assert_eq!(expire(sent, date(2027, 5, 31)), Ok(QuoteStatus::Expired));
        assert_eq!(
            rule_err(expire(state(QuoteStatus::Accepted, None), date(2028, 1, 1))),
            "only a sent quote expires; this quote is accepted"
        );
        assert_eq!(
            rule_err(expire(state(QuoteStatus::Expired, None), date(2028, 1, 1))),
            "only a sent quote expires; this quote is expired"
        );
    }

    #[test]
    fn only_drafts_are_edited() {
        assert_eq!(check_edit(QuoteStatus::Draft), Ok(()));
        assert_eq!(
            rule_err(check_edit(QuoteStatus::Sent)),
            "only a draft can be edited; this quote is sent (create a new quote instead)"
        );
    }

    #[test]
    fn quotes_are_valid_for_thirty_days_by_default() {
        assert_eq!(default_valid_until(date(2027, 5, 1)), date(2027, 5, 31));
        assert_eq!(default_valid_until(date(2028, 2, 1)), date(2028, 3, 2));
        assert_eq!(default_valid_until(date(9999, 12, 15)), Date::MAX);
    }

    // --- properties -------------------------------------------------------------------

    #[derive(Debug, Clone, Copy)]
    enum Action {
        Send(usize),
        Accept,
        Decline,
        Expire,
        Edit,
    }

    fn any_action() -> impl Strategy<Value = Action> {
        prop_oneof![
            (0usize..3).prop_map(Action::Send),
            Just(Action::Accept),
            Just(Action::Decline),
            Just(Action::Expire),
            Just(Action::Edit),
        ]
    }

    proptest! {
        #[test]
        fn no_action_leaves_a_final_status_and_acceptance_happens_once(
            valid_for in -5i32..40,
            steps in proptest::collection::vec((any_action(), 0i32..10), 0..30),
        ) {
            let mut today = date(2027, 5, 1);
            let mut quote = QuoteState {
                status: QuoteStatus::Draft,
                valid_until: today.checked_add(valid_for.days()).unwrap(),
                decided_on: None,
            };
            let mut acceptances = 0;
            for (action, days_later) in steps {
                // Time only moves forward between actions.
                today = today.checked_add(days_later.days()).unwrap();
                let before = quote.status;
                let result = match action {
                    Action::Send(lines) => send(quote, lines, today),
                    Action::Accept => accept(quote, today),
                    Action::Decline => decline(quote, today),
                    Action::Expire => expire(quote, today),
                    Action::Edit => check_edit(quote.status).map(|()| quote.status),
                };
                match result {
                    Ok(after) => {
                        prop_assert!(!before.is_final(), "{:?} left {}", action, before);
                        let allowed = matches!(
                            (before, after, action),
                            (QuoteStatus::Draft, QuoteStatus::Sent, Action::Send(_))
                                | (QuoteStatus::Draft, QuoteStatus::Draft, Action::Edit)
                                | (QuoteStatus::Sent, QuoteStatus::Accepted, Action::Accept)
                                | (QuoteStatus::Sent, QuoteStatus::Declined, Action::Decline)
                                | (QuoteStatus::Sent, QuoteStatus::Expired, Action::Expire)
                        );
                        prop_assert!(allowed, "{} -> {} by {:?}", before, after, action);
                        // Acceptance and expiry never both apply on one day.
                        match after {
                            QuoteStatus::Accepted | QuoteStatus::Declined => {
                                prop_assert!(today <= quote.valid_until);
                                quote.decided_on = Some(today);
                            }
                            QuoteStatus::Expired => prop_assert!(today > quote.valid_until),
                            _ => {}
                        }
                        if after == QuoteStatus::Accepted {
                            acceptances += 1;
                        }
                        quote.status = after;
                    }
                    Err(err) => prop_assert!(!err.message.is_empty()),
                }
                prop_assert!(acceptances <= 1);
            }
        }

        #[test]
        fn every_action_on_a_final_quote_is_refused(
            status in proptest::sample::select(vec![
                QuoteStatus::Accepted,
                QuoteStatus::Declined,
                QuoteStatus::Expired,
            ]),
            days in -400i32..400,
            lines in 0usize..3,
        ) {
            let quote = state(status, Some(date(2027, 5, 2)));
            let today = VALID_UNTIL.checked_add(days.days()).unwrap();
            prop_assert!(send(quote, lines, today).is_err());
            prop_assert!(accept(quote, today).is_err());
            prop_assert!(decline(quote, today).is_err());
            prop_assert!(expire(quote, today).is_err());
            prop_assert!(check_edit(quote.status).is_err());
        }
    }
}
