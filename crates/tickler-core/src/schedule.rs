//! The time rules: from a plan step and a term's dates to the UTC instant a reminder goes out.
//! See DESIGN.md "Time rules". HELPER: implement the bodies and the tests.

use std::collections::BTreeSet;

use jiff::{
    Timestamp,
    civil::{Date, Time},
    tz::TimeZone,
};

use crate::plan::{Anchor, Offset, Plan};

/// The organisation's non-working days, skipped (with weekends) by business-day offsets.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Holidays(pub BTreeSet<Date>);

/// The dates a term or invoice offers as anchors; a step whose anchor is absent is not planned.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AnchorDates {
    pub start_date: Option<Date>,
    pub end_date: Option<Date>,
    pub notice_date: Option<Date>,
    pub next_invoice_date: Option<Date>,
    pub invoice_due_date: Option<Date>,
}

impl AnchorDates {
    pub fn term(start: Date, end: Date) -> Self {
        Self {
            start_date: Some(start),
            end_date: Some(end),
            ..Self::default()
        }
    }

    pub fn get(&self, anchor: Anchor) -> Option<Date> {
        match anchor {
            Anchor::StartDate => self.start_date,
            Anchor::EndDate => self.end_date,
            Anchor::NoticeDate => self.notice_date,
            Anchor::NextInvoiceDate => self.next_invoice_date,
            Anchor::InvoiceDueDate => self.invoice_due_date,
        }
    }
}

/// One step of a plan placed in time for one term.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedReminder {
    /// The step's index in the plan (its order in the sequence).
    pub position: usize,
    pub step_key: String,
    /// The civil date the step falls on (anchor + offset).
    pub date: Date,
    pub send_at: Timestamp,
}

/// The anchor date moved by the offset (calendar days, or business days skipping weekends
/// and holidays).
pub fn step_date(anchor: Date, offset: Offset, holidays: &Holidays) -> Date {
    let _ = (anchor, offset, holidays);
    todo!("helper")
}

/// A local date and time in `tz` as a UTC instant: a time that does not exist (spring
/// forward) moves later, one that occurs twice takes the first ("compatible").
pub fn local_instant(date: Date, time: Time, tz: &TimeZone) -> Timestamp {
    let _ = (date, time, tz);
    todo!("helper")
}

/// Every step of `plan` whose anchor `dates` has, placed in time in `tz`.
pub fn plan_reminders(
    plan: &Plan,
    dates: &AnchorDates,
    tz: &TimeZone,
    holidays: &Holidays,
) -> Vec<PlannedReminder> {
    let _ = (plan, dates, tz, holidays);
    todo!("helper")
}
