//! The one rule that keeps a subject's reminders in step with its plan: which to create,
//! which to move, which to cancel, given the steps planned now and the reminders that exist.
//! Pure, so that every kind of subject shares it and its promises are property-tested: it
//! is idempotent, never overwrites what a person edited, and never touches a reminder that
//! is no longer scheduled (sending, sent, skipped, ...).

use jiff::Timestamp;

use crate::reminder::ReminderStatus;

/// A step as planned now for one subject: where it falls and to whom it would go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedStep {
    pub step_key: String,
    pub send_at: Timestamp,
    pub to: Vec<String>,
    pub cc: Vec<String>,
}

/// An existing step reminder of the subject, as far as the rule needs to know it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExistingReminder {
    pub id: i64,
    pub step_key: String,
    pub status: ReminderStatus,
    pub send_at: Timestamp,
    /// A person set the send time: it is kept when the plan's instant moves.
    pub send_at_edited: bool,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    /// A person set the recipients: they are kept when the computed ones change.
    pub recipients_edited: bool,
}

/// Why a reminder is cancelled by the rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelReason {
    /// Its step is planned before `now` the first time it is planned: entering an old
    /// subject must not mail the customer about dates long gone.
    PassedWhenPlanned,
    /// The subject changed and the step's new instant is already past.
    NewTimePassed,
    /// Its step is no longer planned: it left the plan, or the subject stopped.
    NoLongerPlanned,
}

/// One change to bring the reminders in line with the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A planned step without a reminder: create one (`planned` indexes the planned steps).
    /// When `cancel_at_once` is set, it is created and cancelled as
    /// [`CancelReason::PassedWhenPlanned`], so the review queue shows what was not sent.
    Create {
        planned: usize,
        cancel_at_once: bool,
    },
    /// Move a scheduled reminder (a person's send time or recipients kept as they were).
    Reschedule {
        id: i64,
        from: Timestamp,
        send_at: Timestamp,
        to: Vec<String>,
        cc: Vec<String>,
    },
    Cancel {
        id: i64,
        reason: CancelReason,
    },
}

/// The changes that bring `existing` in line with `planned` at `now`, in a stable order: the
/// planned steps' creations and moves in plan order, then the cancellations of scheduled
/// reminders whose step is no longer planned.
pub fn reconcile(
    planned: &[PlannedStep],
    existing: &[ExistingReminder],
    now: Timestamp,
) -> Vec<Change> {
    let mut changes = Vec::new();
    for (index, step) in planned.iter().enumerate() {
        match existing.iter().find(|r| r.step_key == step.step_key) {
            None => changes.push(Change::Create {
                planned: index,
                cancel_at_once: step.send_at < now,
            }),
            Some(reminder) if reminder.status == ReminderStatus::Scheduled => {
                let send_at = if reminder.send_at_edited {
                    reminder.send_at
                } else {
                    step.send_at
                };
                let (to, cc) = if reminder.recipients_edited {
                    (reminder.to.clone(), reminder.cc.clone())
                } else {
                    (step.to.clone(), step.cc.clone())
                };
                if send_at == reminder.send_at && to == reminder.to && cc == reminder.cc {
                    continue;
                }
                changes.push(if send_at < now {
                    Change::Cancel {
                        id: reminder.id,
                        reason: CancelReason::NewTimePassed,
                    }
                } else {
                    Change::Reschedule {
                        id: reminder.id,
                        from: reminder.send_at,
                        send_at,
                        to,
                        cc,
                    }
                });
            }
            // Sending, sent or closed: out of the plan's hands.
            Some(_) => {}
        }
    }
    for reminder in existing
        .iter()
        .filter(|r| r.status == ReminderStatus::Scheduled)
    {
        if !planned.iter().any(|p| p.step_key == reminder.step_key) {
            changes.push(Change::Cancel {
                id: reminder.id,
                reason: CancelReason::NoLongerPlanned,
            });
        }
    }
    changes
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn at(hours: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + hours * 3600).unwrap()
    }

    fn planned(key: &str, hours: i64, to: &str) -> PlannedStep {
        PlannedStep {
            step_key: key.to_string(),
            send_at: at(hours),
            to: vec![to.to_string()],
            cc: vec!["owner@firm.example".to_string()],
        }
    }

    fn reminder_of(id: i64, step: &PlannedStep, status: ReminderStatus) -> ExistingReminder {
        ExistingReminder {
            id,
            step_key: step.step_key.clone(),
            status,
            send_at: step.send_at,
            send_at_edited: false,
            to: step.to.clone(),
            cc: step.cc.clone(),
            recipients_edited: false,
        }
    }

    /// What the store does with the changes: the reminders afterwards.
    fn apply(
        planned: &[PlannedStep],
        existing: &[ExistingReminder],
        changes: &[Change],
    ) -> Vec<ExistingReminder> {
        let mut after = existing.to_vec();
        let mut next_id = existing.iter().map(|r| r.id).max().unwrap_or(0) + 1;
        for change in changes {
            match change {
                Change::Create {
                    planned: index,
                    cancel_at_once,
                } => {
                    let status = if *cancel_at_once {
                        ReminderStatus::Cancelled
                    } else {
                        ReminderStatus::Scheduled
                    };
                    after.push(reminder_of(next_id, &planned[*index], status));
                    next_id += 1;
                }
                Change::Reschedule {
                    id,
                    send_at,
                    to,
                    cc,
                    ..
                } => {
                    let r = after.iter_mut().find(|r| r.id == *id).unwrap();
                    r.send_at = *send_at;
                    r.to = to.clone();
                    r.cc = cc.clone();
                }
                Change::Cancel { id, .. } => {
                    after.iter_mut().find(|r| r.id == *id).unwrap().status =
                        ReminderStatus::Cancelled;
                }
            }
        }
        after
    }

    #[test]
    fn a_new_subject_gets_one_reminder_per_step_and_past_ones_cancelled() {
        let steps = [
            planned("before_60", -5, "c@x"),
            planned("before_30", 5, "c@x"),
        ];
        assert_eq!(
            reconcile(&steps, &[], at(0)),
            vec![
                Change::Create {
                    planned: 0,
                    cancel_at_once: true
                },
                Change::Create {
                    planned: 1,
                    cancel_at_once: false
                },
            ]
        );
    }

    #[test]
    fn an_edited_send_time_is_kept_while_new_recipients_follow() {
        let old = planned("before_30", 10, "old@x");
        let mut reminder = reminder_of(7, &old, ReminderStatus::Scheduled);
        reminder.send_at = at(20);
        reminder.send_at_edited = true;
        let new = planned("before_30", 12, "new@x");
        assert_eq!(
            reconcile(std::slice::from_ref(&new), &[reminder], at(0)),
            vec![Change::Reschedule {
                id: 7,
                from: at(20),
                send_at: at(20),
                to: vec!["new@x".to_string()],
                cc: new.cc.clone(),
            }]
        );
    }

    #[test]
    fn a_move_into_the_past_cancels() {
        let step = planned("before_7", 10, "c@x");
        let reminder = reminder_of(3, &step, ReminderStatus::Scheduled);
        let moved = planned("before_7", -1, "c@x");
        assert_eq!(
            reconcile(&[moved], &[reminder], at(0)),
            vec![Change::Cancel {
                id: 3,
                reason: CancelReason::NewTimePassed
            }]
        );
    }

    #[test]
    fn steps_that_left_the_plan_are_cancelled_unless_already_out() {
        let step = planned("after_7", 10, "c@x");
        let scheduled = reminder_of(1, &step, ReminderStatus::Scheduled);
        let sent = reminder_of(2, &planned("before_7", -10, "c@x"), ReminderStatus::Sent);
        assert_eq!(
            reconcile(&[], &[scheduled, sent], at(0)),
            vec![Change::Cancel {
                id: 1,
                reason: CancelReason::NoLongerPlanned
            }]
        );
    }

    fn any_planned() -> impl Strategy<Value = Vec<PlannedStep>> {
        proptest::collection::vec((-50i64..50, 0usize..3), 0..6).prop_map(|steps| {
            steps
                .into_iter()
                .enumerate()
                .map(|(i, (hours, who))| {
                    planned(&format!("step_{i}"), hours, ["a@x", "b@x", "c@x"][who])
                })
                .collect()
        })
    }

    fn any_existing() -> impl Strategy<Value = Vec<ExistingReminder>> {
        proptest::collection::vec(
            (
                0usize..8,
                proptest::sample::select(ReminderStatus::ALL.to_vec()),
                -50i64..50,
                any::<bool>(),
                0usize..3,
                any::<bool>(),
            ),
            0..8,
        )
        .prop_map(|rows| {
            let mut seen = std::collections::HashSet::new();
            rows.into_iter()
                .enumerate()
                // One reminder per (subject, step): the store's unique key.
                .filter(|(_, row)| seen.insert(row.0))
                .map(
                    |(i, (step, status, hours, time_edited, who, recipients_edited))| {
                        let mut r = reminder_of(
                            i as i64 + 1,
                            &planned(&format!("step_{step}"), hours, ["a@x", "b@x", "c@x"][who]),
                            status,
                        );
                        r.send_at_edited = time_edited;
                        r.recipients_edited = recipients_edited;
                        r
                    },
                )
                .collect()
        })
    }

    proptest! {
        #[test]
        fn reconciling_twice_changes_nothing_the_second_time(
            planned in any_planned(),
            existing in any_existing(),
            now in -50i64..50,
        ) {
            let now = at(now);
            let after = apply(&planned, &existing, &reconcile(&planned, &existing, now));
            prop_assert_eq!(reconcile(&planned, &after, now), vec![]);
        }

        #[test]
        fn a_persons_edit_is_never_overwritten(
            planned in any_planned(),
            existing in any_existing(),
            now in -50i64..50,
        ) {
            for change in reconcile(&planned, &existing, at(now)) {
                if let Change::Reschedule { id, send_at, to, cc, .. } = change {
                    let before = existing.iter().find(|r| r.id == id).unwrap();
                    if before.send_at_edited {
                        prop_assert_eq!(send_at, before.send_at);
                    }
                    if before.recipients_edited {
                        prop_assert_eq!(&to, &before.to);
                        prop_assert_eq!(&cc, &before.cc);
                    }
                }
            }
        }

        #[test]
        fn only_scheduled_reminders_are_touched_and_none_twice(
            planned in any_planned(),
            existing in any_existing(),
            now in -50i64..50,
        ) {
            let mut touched = std::collections::HashSet::new();
            for change in reconcile(&planned, &existing, at(now)) {
                let id = match change {
                    Change::Reschedule { id, .. } | Change::Cancel { id, .. } => id,
                    Change::Create { .. } => continue,
                };
                let before = existing.iter().find(|r| r.id == id).unwrap();
                prop_assert_eq!(before.status, ReminderStatus::Scheduled);
                prop_assert!(touched.insert(id), "touched twice: {}", id);
            }
        }

        #[test]
        fn afterwards_every_planned_step_has_one_reminder_and_nothing_pending_is_in_the_past(
            planned in any_planned(),
            existing in any_existing(),
            now in -50i64..50,
        ) {
            let now = at(now);
            let after = apply(&planned, &existing, &reconcile(&planned, &existing, now));
            for step in &planned {
                prop_assert_eq!(after.iter().filter(|r| r.step_key == step.step_key).count(), 1);
            }
            for r in after.iter().filter(|r| r.status == ReminderStatus::Scheduled) {
                prop_assert!(planned.iter().any(|p| p.step_key == r.step_key), "unplanned left pending");
                let unchanged = existing.iter().any(|e| e.id == r.id && e.send_at == r.send_at);
                prop_assert!(r.send_at >= now || unchanged, "moved into the past");
            }
        }
    }
}
