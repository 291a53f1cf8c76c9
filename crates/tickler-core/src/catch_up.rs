//! The catch-up rule: of several overdue steps of one sequence (the steps of one subject,
//! such as a contract term) only the latest is sent; the others are superseded.

use std::collections::HashMap;

use jiff::Timestamp;

use crate::{reminder::ReminderStatus, subject::SubjectRef};

/// A step reminder as the catch-up rule sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SequenceMember {
    pub id: i64,
    /// The subject whose steps form the sequence.
    pub sequence: SubjectRef,
    pub send_at: Timestamp,
    pub status: ReminderStatus,
}

/// The ids of scheduled members that are due at `now` (send_at <= now) while another member
/// of the same sequence that is scheduled, sending or sent has a later send_at that is also
/// due: those are superseded, so that only the latest overdue step goes out.
///
/// A member sending or sent counts as the latest step too, so that an older scheduled step
/// found after a later one went out is not sent behind it. Members with equal send_at do not
/// supersede each other: neither is later. The ids come back sorted ascending.
pub fn superseded(now: Timestamp, members: &[SequenceMember]) -> Vec<i64> {
    let mut latest_due: HashMap<SubjectRef, Timestamp> = HashMap::new();
    for member in members {
        let counts = matches!(
            member.status,
            ReminderStatus::Scheduled | ReminderStatus::Sending | ReminderStatus::Sent
        );
        if counts && member.send_at <= now {
            latest_due
                .entry(member.sequence)
                .and_modify(|latest| *latest = (*latest).max(member.send_at))
                .or_insert(member.send_at);
        }
    }
    let mut ids: Vec<i64> = members
        .iter()
        .filter(|member| {
            member.status == ReminderStatus::Scheduled
                && member.send_at <= now
                && latest_due
                    .get(&member.sequence)
                    .is_some_and(|&latest| member.send_at < latest)
        })
        .map(|member| member.id)
        .collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn at(hours: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + hours * 3600).unwrap()
    }

    /// A sequence named by (subject id, kind index), as short as the tests need.
    fn seq((id, kind): (i64, i32)) -> SubjectRef {
        use crate::subject::SubjectKind;
        SubjectRef {
            kind: [SubjectKind::ContractTerm, SubjectKind::Invoice][kind as usize % 2],
            id,
        }
    }

    fn member(id: i64, sequence: (i64, i32), hours: i64, status: ReminderStatus) -> SequenceMember {
        SequenceMember {
            id,
            sequence: seq(sequence),
            send_at: at(hours),
            status,
        }
    }

    fn scheduled(id: i64, sequence: (i64, i32), hours: i64) -> SequenceMember {
        member(id, sequence, hours, ReminderStatus::Scheduled)
    }

    #[test]
    fn only_the_latest_overdue_step_is_left() {
        let members = [
            scheduled(4, (1, 1), -60 * 24),
            scheduled(2, (1, 1), -30 * 24),
            scheduled(3, (1, 1), -7 * 24),
            scheduled(1, (1, 1), 7 * 24),
        ];
        assert_eq!(superseded(at(0), &members), vec![2, 4]);
    }

    #[test]
    fn nothing_is_superseded_without_downtime() {
        assert!(superseded(at(0), &[]).is_empty());
        assert!(superseded(at(0), &[scheduled(1, (1, 1), -1)]).is_empty());
        let members = [scheduled(1, (1, 1), -1), scheduled(2, (1, 1), 5)];
        assert!(
            superseded(at(0), &members).is_empty(),
            "the later step is not due yet"
        );
    }

    #[test]
    fn a_step_due_exactly_now_counts_as_due() {
        let members = [scheduled(1, (1, 1), -3), scheduled(2, (1, 1), 0)];
        assert_eq!(superseded(at(0), &members), vec![1]);
    }

    #[test]
    fn sequences_never_affect_each_other() {
        let members = [
            scheduled(1, (1, 1), -10),
            scheduled(2, (1, 2), -5),
            scheduled(3, (2, 1), -1),
            scheduled(4, (1, 1), -8),
        ];
        assert_eq!(superseded(at(0), &members), vec![1]);
    }

    #[test]
    fn a_later_step_being_sent_or_sent_supersedes() {
        for status in [ReminderStatus::Sending, ReminderStatus::Sent] {
            let members = [scheduled(1, (1, 1), -10), member(2, (1, 1), -5, status)];
            assert_eq!(superseded(at(0), &members), vec![1], "{status}");
        }
    }

    #[test]
    fn a_later_step_that_will_not_go_out_does_not_supersede() {
        for status in [
            ReminderStatus::Failed,
            ReminderStatus::Skipped,
            ReminderStatus::Cancelled,
            ReminderStatus::Superseded,
        ] {
            let members = [scheduled(1, (1, 1), -10), member(2, (1, 1), -5, status)];
            assert!(superseded(at(0), &members).is_empty(), "{status}");
        }
    }

    #[test]
    fn only_scheduled_members_are_superseded() {
        for status in ReminderStatus::ALL
            .into_iter()
            .filter(|s| *s != ReminderStatus::Scheduled)
        {
            let members = [member(1, (1, 1), -10, status), scheduled(2, (1, 1), -5)];
            assert!(superseded(at(0), &members).is_empty(), "{status}");
        }
    }

    #[test]
    fn steps_due_at_the_same_instant_do_not_supersede_each_other() {
        let members = [
            scheduled(1, (1, 1), -5),
            scheduled(2, (1, 1), -5),
            scheduled(3, (1, 1), -9),
        ];
        assert_eq!(superseded(at(0), &members), vec![3]);
    }

    #[test]
    fn ids_come_back_sorted() {
        let members: Vec<SequenceMember> =
            (0..20).map(|i| scheduled(100 - i, (1, 1), -i)).collect();
        let ids = superseded(at(0), &members);
        assert_eq!(ids, (81..=99).collect::<Vec<_>>());
    }

    fn any_member() -> impl Strategy<Value = SequenceMember> {
        (
            0i64..1000,
            (0i64..3, 0i32..2),
            -48i64..48,
            proptest::sample::select(ReminderStatus::ALL.to_vec()),
        )
            .prop_map(|(id, sequence, hours, status)| member(id, sequence, hours, status))
    }

    proptest! {
        #[test]
        fn superseded_members_are_due_scheduled_and_behind_a_later_due_one(
            members in proptest::collection::vec(any_member(), 0..30),
            now in -48i64..48,
        ) {
            let now = at(now);
            let ids = superseded(now, &members);
            prop_assert!(ids.windows(2).all(|w| w[0] < w[1]), "sorted, no duplicates");
            prop_assert!(ids.iter().all(|id| members.iter().any(|m| m.id == *id)));
            for m in &members {
                if ids.contains(&m.id) {
                    // Ids are random and may repeat; some member with this id qualifies.
                    let qualifies = members.iter().filter(|x| x.id == m.id).any(|x| {
                        x.status == ReminderStatus::Scheduled
                            && x.send_at <= now
                            && members.iter().any(|later| {
                                later.sequence == x.sequence
                                    && later.send_at > x.send_at
                                    && later.send_at <= now
                                    && matches!(
                                        later.status,
                                        ReminderStatus::Scheduled | ReminderStatus::Sending | ReminderStatus::Sent
                                    )
                            })
                    });
                    prop_assert!(qualifies, "{:?}", m);
                }
            }
        }

        #[test]
        fn one_overdue_scheduled_member_per_sequence_is_left(
            // Distinct send instants, as a plan's steps have.
            hours in proptest::collection::btree_set(-200i64..200, 0..25),
            sequences in proptest::collection::vec((0i64..3, 0i32..2), 25),
            now in -200i64..200,
        ) {
            let members: Vec<SequenceMember> = hours
                .iter()
                .zip(&sequences)
                .enumerate()
                .map(|(i, (&h, &seq))| scheduled(i as i64, seq, h))
                .collect();
            let now = at(now);
            let ids = superseded(now, &members);
            let mut left_per_sequence = std::collections::HashMap::new();
            for m in &members {
                if m.send_at <= now && !ids.contains(&m.id) {
                    *left_per_sequence.entry(m.sequence).or_insert(0) += 1;
                }
                if m.send_at > now {
                    prop_assert!(!ids.contains(&m.id), "not yet due");
                }
            }
            prop_assert!(left_per_sequence.values().all(|&n| n == 1));
            // And one is left in every sequence that has anything overdue.
            let overdue: std::collections::HashSet<_> =
                members.iter().filter(|m| m.send_at <= now).map(|m| m.sequence).collect();
            prop_assert_eq!(overdue.len(), left_per_sequence.len());
        }

        #[test]
        fn the_rule_is_the_same_whatever_the_order(
            members in proptest::collection::vec(any_member(), 0..30),
            now in -48i64..48,
        ) {
            let mut reversed = members.clone();
            reversed.reverse();
            prop_assert_eq!(superseded(at(now), &members), superseded(at(now), &reversed));
        }
    }
}
