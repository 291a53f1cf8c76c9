//! The audit trail's vocabulary: what an event is about and what happened, typed, so that a
//! call site cannot swap the object and the action or misspell either.

use std::{fmt, str::FromStr};

use crate::{ValidationError, plan::text_enum, reminder::ReminderStatus};

/// What an event is about: an object and its id, or one of the organisation-wide things.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventSubject {
    Contract(i64),
    Customer(i64),
    Plan(i64),
    Reminder(i64),
    User(i64),
    Invoice(i64),
    Quote(i64),
    Task(i64),
    /// The team's edited templates (which one is in the detail).
    Templates,
    /// The organisation's settings and holidays.
    Settings,
}

impl EventSubject {
    /// The `subject_type` stored with the event.
    pub fn kind(self) -> &'static str {
        match self {
            EventSubject::Contract(_) => "contract",
            EventSubject::Customer(_) => "customer",
            EventSubject::Plan(_) => "plan",
            EventSubject::Reminder(_) => "reminder",
            EventSubject::User(_) => "user",
            EventSubject::Invoice(_) => "invoice",
            EventSubject::Quote(_) => "quote",
            EventSubject::Task(_) => "task",
            EventSubject::Templates => "template",
            EventSubject::Settings => "settings",
        }
    }

    /// The `subject_id` stored with the event (0 for the organisation-wide ones).
    pub fn id(self) -> i64 {
        match self {
            EventSubject::Contract(id)
            | EventSubject::Customer(id)
            | EventSubject::Plan(id)
            | EventSubject::Reminder(id)
            | EventSubject::User(id)
            | EventSubject::Invoice(id)
            | EventSubject::Quote(id)
            | EventSubject::Task(id) => id,
            EventSubject::Templates | EventSubject::Settings => 0,
        }
    }
}

/// What happened, as the history shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventAction {
    Created,
    Edited,
    Renewed,
    Terminated,
    Scheduled,
    Rescheduled,
    Cancelled,
    Superseded,
    Skipped,
    Reset,
    SendNow,
    Sent,
    Retry,
    Failed,
    OwnerAlerted,
    LeaseExpired,
    PasswordSet,
    StepsChanged,
    Saved,
    HolidaysReplaced,
    TestEmailSent,
    TestEmailFailed,
    Issued,
    Discarded,
    PaymentRecorded,
    Voided,
    /// The customer (through a signed link) or the team answered a renewal email.
    Answered,
    Accepted,
    Declined,
    Expired,
    Done,
    Escalated,
    /// The server secret that signs the customer's links was replaced.
    SecretRotated,
    /// A plan was taken off the list new contracts choose from.
    Archived,
    /// Undone: a skipped email back in the queue, an archived plan back on offer.
    Restored,
    /// A user's API token made (the detail names it; the token itself is never stored).
    TokenCreated,
    TokenRevoked,
    /// A whole installation was imported (`tickler import all`); the detail says from where.
    Imported,
}

text_enum!(EventAction, "event action", {
    EventAction::Created => "created",
    EventAction::Edited => "edited",
    EventAction::Renewed => "renewed",
    EventAction::Terminated => "terminated",
    EventAction::Scheduled => "scheduled",
    EventAction::Rescheduled => "rescheduled",
    EventAction::Cancelled => "cancelled",
    EventAction::Superseded => "superseded",
    EventAction::Skipped => "skipped",
    EventAction::Reset => "reset",
    EventAction::SendNow => "send now",
    EventAction::Sent => "sent",
    EventAction::Retry => "retry",
    EventAction::Failed => "failed",
    EventAction::OwnerAlerted => "owner alerted",
    EventAction::LeaseExpired => "lease expired",
    EventAction::PasswordSet => "password set",
    EventAction::StepsChanged => "steps_changed",
    EventAction::Saved => "saved",
    EventAction::HolidaysReplaced => "holidays replaced",
    EventAction::TestEmailSent => "test email sent",
    EventAction::TestEmailFailed => "test email failed",
    EventAction::Issued => "issued",
    EventAction::Discarded => "discarded",
    EventAction::PaymentRecorded => "payment recorded",
    EventAction::Voided => "voided",
    EventAction::Answered => "answered",
    EventAction::Accepted => "accepted",
    EventAction::Declined => "declined",
    EventAction::Expired => "expired",
    EventAction::Done => "done",
    EventAction::Escalated => "escalated",
    EventAction::SecretRotated => "secret rotated",
    EventAction::Archived => "archived",
    EventAction::Restored => "restored",
    EventAction::TokenCreated => "token created",
    EventAction::TokenRevoked => "token revoked",
    EventAction::Imported => "imported",
});

impl EventAction {
    /// The event of a reminder reaching `status`.
    pub fn reached(status: ReminderStatus) -> EventAction {
        match status {
            ReminderStatus::Scheduled => EventAction::Scheduled,
            // Claimed: the dispatcher records the outcome, not the claim.
            ReminderStatus::Sending => EventAction::SendNow,
            ReminderStatus::Sent => EventAction::Sent,
            ReminderStatus::Failed => EventAction::Failed,
            ReminderStatus::Skipped => EventAction::Skipped,
            ReminderStatus::Cancelled => EventAction::Cancelled,
            ReminderStatus::Superseded => EventAction::Superseded,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_keep_the_words_the_history_has_always_shown() {
        assert_eq!(EventAction::SendNow.as_str(), "send now");
        assert_eq!(EventAction::StepsChanged.as_str(), "steps_changed");
        assert_eq!("owner alerted".parse(), Ok(EventAction::OwnerAlerted));
        for status in ReminderStatus::ALL {
            if status != ReminderStatus::Sending {
                assert_eq!(EventAction::reached(status).as_str(), status.as_str());
            }
        }
    }

    #[test]
    fn subjects_are_stored_as_type_and_id() {
        assert_eq!(EventSubject::Reminder(7).kind(), "reminder");
        assert_eq!(EventSubject::Reminder(7).id(), 7);
        assert_eq!(EventSubject::Templates.kind(), "template");
        assert_eq!(EventSubject::Settings.id(), 0);
    }
}
