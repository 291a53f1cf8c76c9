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
    invoice::InvoiceStatus,
    plan::{Anchor, text_enum},
    schedule::AnchorDates,
};

/// The kinds of things reminders can be about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubjectKind {
    /// One term of a contract (start date to end date): the renewal emails.
    ContractTerm,
    /// One planned period of a recurring sale: the notice that its invoice is about to be
    /// issued.
    BillingPeriod,
    /// An issued invoice: its email and its payment reminders (dunning).
    Invoice,
    Quote,
    Task,
    Digest,
}

text_enum!(SubjectKind, "subject type", {
    SubjectKind::ContractTerm => "contract_term",
    SubjectKind::BillingPeriod => "billing_period",
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
            SubjectKind::ContractTerm => &[Anchor::EndDate, Anchor::StartDate, Anchor::NoticeDate],
            SubjectKind::BillingPeriod => &[Anchor::NextInvoiceDate],
            SubjectKind::Invoice => &[Anchor::InvoiceDueDate],
            // Not scheduled from plans yet: they offer nothing until they are.
            SubjectKind::Quote | SubjectKind::Task | SubjectKind::Digest => &[],
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

/// A planned billing period as a subject: its notice counts from the day its invoice is
/// issued, and is pointless once that invoice exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeriodSubject {
    pub issue_date: Date,
    /// Its invoice was made (whatever became of it since).
    pub invoiced: bool,
    /// It will never be billed (the sale ended early, its dates changed).
    pub cancelled: bool,
    pub contract_terminated: bool,
}

impl PeriodSubject {
    pub fn anchor_dates(&self) -> AnchorDates {
        AnchorDates {
            next_invoice_date: Some(self.issue_date),
            ..AnchorDates::default()
        }
    }

    pub fn stop_reason(&self) -> Option<String> {
        if self.invoiced {
            return Some("the invoice was already issued".to_string());
        }
        if self.contract_terminated {
            return Some("the contract was terminated".to_string());
        }
        if self.cancelled {
            return Some("the period is no longer billed".to_string());
        }
        None
    }
}

/// An invoice as a subject: its payment reminders count from its due date and stop the
/// moment it is paid or voided (DESIGN.md: re-checked at send time).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvoiceSubject {
    pub status: InvoiceStatus,
    pub due_date: Date,
}

impl InvoiceSubject {
    pub fn anchor_dates(&self) -> AnchorDates {
        AnchorDates {
            invoice_due_date: Some(self.due_date),
            ..AnchorDates::default()
        }
    }

    /// The reason words are the statuses themselves ("paid", "void"): what the issue's
    /// lists and the review queue show.
    pub fn stop_reason(&self) -> Option<String> {
        match self.status {
            InvoiceStatus::Paid => Some("paid".to_string()),
            InvoiceStatus::Void => Some("void".to_string()),
            InvoiceStatus::Draft | InvoiceStatus::Issued => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_through_text() {
        for kind in [
            SubjectKind::ContractTerm,
            SubjectKind::BillingPeriod,
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
    fn a_contract_term_offers_its_start_end_and_notice_date() {
        let kind = SubjectKind::ContractTerm;
        assert!(kind.offers(Anchor::EndDate) && kind.offers(Anchor::StartDate));
        assert!(kind.offers(Anchor::NoticeDate));
        for anchor in [Anchor::NextInvoiceDate, Anchor::InvoiceDueDate] {
            assert!(!kind.offers(anchor), "{anchor}");
        }
        let dates = AnchorDates::contract_term(
            Date::constant(2026, 1, 1),
            Date::constant(2026, 12, 31),
            crate::renewal::Renewal {
                kind: crate::renewal::RenewalType::Auto,
                notice_days: Some(30),
            },
        );
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

    #[test]
    fn an_upcoming_invoice_notice_stops_once_the_invoice_exists() {
        let period = PeriodSubject {
            issue_date: Date::constant(2027, 3, 1),
            invoiced: false,
            cancelled: false,
            contract_terminated: false,
        };
        assert_eq!(period.stop_reason(), None);
        assert_eq!(
            period.anchor_dates().get(Anchor::NextInvoiceDate),
            Some(Date::constant(2027, 3, 1))
        );
        let invoiced = PeriodSubject {
            invoiced: true,
            ..period
        };
        assert_eq!(
            invoiced.stop_reason().as_deref(),
            Some("the invoice was already issued")
        );
        for anchor in SubjectKind::BillingPeriod.anchors() {
            assert!(period.anchor_dates().get(*anchor).is_some());
        }
    }

    #[test]
    fn payment_reminders_stop_when_paid_or_void() {
        let due = Date::constant(2027, 3, 15);
        let open = |status| InvoiceSubject {
            status,
            due_date: due,
        };
        assert_eq!(open(InvoiceStatus::Issued).stop_reason(), None);
        assert_eq!(
            open(InvoiceStatus::Paid).stop_reason().as_deref(),
            Some("paid")
        );
        assert_eq!(
            open(InvoiceStatus::Void).stop_reason().as_deref(),
            Some("void")
        );
        assert_eq!(
            open(InvoiceStatus::Issued)
                .anchor_dates()
                .get(Anchor::InvoiceDueDate),
            Some(due)
        );
    }
}
