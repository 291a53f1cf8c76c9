//! What a timed email is about: its subject. A contract term today; an invoice, a quote, a
//! task and a digest as they come. The scheduler, the review queue, the catch-up rule and the
//! dispatcher know a reminder's subject only through this: its kind and id (the reminder's
//! unique key and catch-up sequence), the anchor dates its plan steps count from, and the
//! stop rules re-checked before sending.

use std::{fmt, str::FromStr};

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::{
    ValidationError,
    plan::{Anchor, text_enum},
    schedule::AnchorDates,
};

/// The kinds of things reminders can be about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubjectKind {
    /// One term of a contract (start date to end date): the renewal emails.
    ContractTerm,
    Invoice,
    Quote,
    Task,
    Digest,
}

text_enum!(SubjectKind, "subject type", {
    SubjectKind::ContractTerm => "contract_term",
    SubjectKind::Invoice => "invoice",
    SubjectKind::Quote => "quote",
    SubjectKind::Task => "task",
    SubjectKind::Digest => "digest",
});

impl SubjectKind {
    /// The anchor dates a subject of this kind offers its plan's steps. A step anchored
    /// elsewhere could never be scheduled, so a plan that has one is refused when saved.
    pub fn anchors(self) -> &'static [Anchor] {
        match self {
            SubjectKind::ContractTerm => &[Anchor::EndDate, Anchor::StartDate],
            // Not scheduled from plans yet: they offer nothing until they are.
            SubjectKind::Invoice | SubjectKind::Quote | SubjectKind::Task | SubjectKind::Digest => {
                &[]
            }
        }
    }

    pub fn offers(self, anchor: Anchor) -> bool {
        self.anchors().contains(&anchor)
    }

    /// The anchors as text, for messages: "end_date, start_date".
    pub fn anchor_list(self) -> String {
        self.anchors()
            .iter()
            .map(|a| a.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// A reminder's subject: its kind and its id among the subjects of that kind. Reminders are
/// unique per (subject, step), and the steps of one subject form one catch-up sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SubjectRef {
    pub kind: SubjectKind,
    pub id: i64,
}

impl SubjectRef {
    pub fn contract_term(term_id: i64) -> SubjectRef {
        SubjectRef {
            kind: SubjectKind::ContractTerm,
            id: term_id,
        }
    }
}

impl fmt::Display for SubjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kind, self.id)
    }
}

/// A contract term as a subject: what its reminders are planned from and stopped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TermSubject {
    pub term_number: i32,
    pub start_date: Date,
    pub end_date: Date,
    /// The contract's current term: a reminder of an earlier one is pointless.
    pub current_term_number: i32,
    pub contract_terminated: bool,
}

impl TermSubject {
    pub fn anchor_dates(&self) -> AnchorDates {
        AnchorDates::term(self.start_date, self.end_date)
    }

    /// Why the term's step reminders must no longer go out (DESIGN.md: the stop rules are
    /// re-checked at send time), or `None` while they still should.
    pub fn stop_reason(&self) -> Option<String> {
        if self.contract_terminated {
            return Some("the contract was terminated".to_string());
        }
        if self.term_number != self.current_term_number {
            return Some(format!(
                "the contract was renewed (now in term {})",
                self.current_term_number
            ));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_through_text() {
        for kind in [
            SubjectKind::ContractTerm,
            SubjectKind::Invoice,
            SubjectKind::Quote,
            SubjectKind::Task,
            SubjectKind::Digest,
        ] {
            assert_eq!(kind.as_str().parse::<SubjectKind>(), Ok(kind));
        }
        assert!("contract".parse::<SubjectKind>().is_err());
    }

    #[test]
    fn a_contract_term_offers_its_start_and_end() {
        let kind = SubjectKind::ContractTerm;
        assert!(kind.offers(Anchor::EndDate) && kind.offers(Anchor::StartDate));
        for anchor in [
            Anchor::NoticeDate,
            Anchor::NextInvoiceDate,
            Anchor::InvoiceDueDate,
        ] {
            assert!(!kind.offers(anchor), "{anchor}");
        }
        let dates = AnchorDates::term(Date::constant(2026, 1, 1), Date::constant(2026, 12, 31));
        for anchor in kind.anchors() {
            assert!(
                dates.get(*anchor).is_some(),
                "{anchor} is offered and given"
            );
        }
    }

    #[test]
    fn a_term_stops_when_terminated_or_renewed() {
        let term = TermSubject {
            term_number: 1,
            start_date: Date::constant(2026, 1, 1),
            end_date: Date::constant(2026, 12, 31),
            current_term_number: 1,
            contract_terminated: false,
        };
        assert_eq!(term.stop_reason(), None);
        let renewed = TermSubject {
            current_term_number: 2,
            ..term
        };
        assert_eq!(
            renewed.stop_reason().as_deref(),
            Some("the contract was renewed (now in term 2)")
        );
        let terminated = TermSubject {
            contract_terminated: true,
            ..renewed
        };
        assert_eq!(
            terminated.stop_reason().as_deref(),
            Some("the contract was terminated")
        );
    }
}
