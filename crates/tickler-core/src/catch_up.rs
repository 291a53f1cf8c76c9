//! The catch-up rule: of several overdue steps of one sequence (a contract term) only the
//! latest is sent; the others are superseded. HELPER: implement and test.

use jiff::Timestamp;

use crate::reminder::ReminderStatus;

/// A step reminder as the catch-up rule sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SequenceMember {
    pub id: i64,
    /// (contract id, term number): reminders of one sequence.
    pub sequence: (i64, i32),
    pub send_at: Timestamp,
    pub status: ReminderStatus,
}

/// The ids of scheduled members that are due at `now` (send_at <= now) while another member
/// of the same sequence that is scheduled, sending or sent has a later send_at that is also
/// due: those are superseded, so that only the latest overdue step goes out.
pub fn superseded(now: Timestamp, members: &[SequenceMember]) -> Vec<i64> {
    let _ = (now, members);
    todo!("helper")
}
