use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};

use crate::{ValidationError, plan::text_enum};

/// Where a reminder is in its life cycle (see DESIGN.md, "Reminder life cycle").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReminderStatus {
    Scheduled,
    Sending,
    Sent,
    Failed,
    Skipped,
    Cancelled,
    Superseded,
}

text_enum!(ReminderStatus, "status", {
    ReminderStatus::Scheduled => "scheduled",
    ReminderStatus::Sending => "sending",
    ReminderStatus::Sent => "sent",
    ReminderStatus::Failed => "failed",
    ReminderStatus::Skipped => "skipped",
    ReminderStatus::Cancelled => "cancelled",
    ReminderStatus::Superseded => "superseded",
});

/// A step of its subject's plan, or a notice Tickler raised itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReminderKind {
    /// One step of the subject's plan.
    Step,
    /// A notice Tickler itself raised, e.g. to the owner after a delivery failure.
    Notice,
}

text_enum!(ReminderKind, "reminder kind", {
    ReminderKind::Step => "step",
    ReminderKind::Notice => "notice",
});

/// Why a requested change to a reminder is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("reminder {id} is {status}: {why}")]
pub struct TransitionError {
    pub id: i64,
    pub status: ReminderStatus,
    pub why: &'static str,
}

impl ReminderStatus {
    /// Every status, in life-cycle order.
    pub const ALL: [ReminderStatus; 7] = [
        ReminderStatus::Scheduled,
        ReminderStatus::Sending,
        ReminderStatus::Sent,
        ReminderStatus::Failed,
        ReminderStatus::Skipped,
        ReminderStatus::Cancelled,
        ReminderStatus::Superseded,
    ];

    /// A reminder that will still go out unless someone acts.
    pub fn is_pending(self) -> bool {
        matches!(self, ReminderStatus::Scheduled)
    }

    /// No transition leaves these.
    pub fn is_final(self) -> bool {
        !matches!(self, ReminderStatus::Scheduled | ReminderStatus::Sending)
    }

    /// Checks that a person may act on the reminder now (edit, send early, skip): only a
    /// scheduled one; once claimed by the dispatcher or finished it is out of human hands.
    pub fn check_open_to_people(self, id: i64) -> Result<(), TransitionError> {
        let why = match self {
            ReminderStatus::Scheduled => return Ok(()),
            ReminderStatus::Sending => "it is being sent right now",
            ReminderStatus::Sent => "sent reminders cannot be changed",
            ReminderStatus::Failed => "it failed permanently; see its SMTP reply",
            ReminderStatus::Skipped => "it was skipped",
            ReminderStatus::Cancelled => "it was cancelled",
            ReminderStatus::Superseded => "a later step of the same term replaced it",
        };
        Err(TransitionError {
            id,
            status: self,
            why,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_scheduled_reminders_accept_human_actions() {
        for status in ReminderStatus::ALL {
            assert_eq!(
                status.check_open_to_people(1).is_ok(),
                status == ReminderStatus::Scheduled
            );
        }
        let err = ReminderStatus::Sent.check_open_to_people(7).unwrap_err();
        assert_eq!(
            err.to_string(),
            "reminder 7 is sent: sent reminders cannot be changed"
        );
    }

    #[test]
    fn statuses_round_trip() {
        for status in ReminderStatus::ALL {
            assert_eq!(status.as_str().parse::<ReminderStatus>(), Ok(status));
            assert_eq!(
                status.is_final(),
                !matches!(status, ReminderStatus::Scheduled | ReminderStatus::Sending)
            );
        }
    }
}
