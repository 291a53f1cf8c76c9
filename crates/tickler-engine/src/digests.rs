//! The morning digests: each dispatch run queues the digests that came due (one per reader
//! per local day, ever, whichever dispatcher is first), written from the team's lists as
//! they stand at the digest's instant; the dispatcher then sends them like any reminder.
//! An admin's digest covers the whole team, grouped by owner, with yesterday's counts.

use std::collections::{BTreeMap, HashMap, HashSet};

use jiff::{SignedDuration, Timestamp, ToSpan, civil::Date, tz::TimeZone};
use serde::Serialize;
use tickler_core::{
    digest::{
        self, DayCounts, Digest, DigestFrequency, DigestLine, DigestLists, DigestSchedule,
        OwnerPart,
    },
    event::EventAction,
    plan::Mode,
    reminder::{ReminderKind, ReminderStatus},
    subject::{SubjectKind, SubjectRef},
    user::{Role, User},
};
use tickler_mail::Rendered;
use tickler_store::{
    Db,
    digests::{self, DigestRow},
    reminders::{self, NewReminder, Reminder},
    users,
};

use crate::{
    Engine, EngineError,
    dispatch::{Delivery, Outcome, reminder_event},
};

/// The most lines a digest list shows; the rest are counted.
const MOST_LINES: usize = 20;

/// A digest's step label, in the review queue and the sent-mail log.
pub const DIGEST_LABEL: &str = "Morning digest";

/// A digest that will go out, as `tickler preview` lists it.
#[derive(Debug, Clone, Serialize)]
pub struct PlannedDigest {
    pub user_id: i64,
    pub day: Date,
    pub send_at: Timestamp,
    pub time_zone: String,
    pub to: String,
    pub subject: String,
    pub body: String,
}

/// The team's lists at one instant, before they are split by reader.
struct TeamLists {
    going_out: Vec<DigestRow>,
    awaiting: Vec<DigestRow>,
    failed: Vec<DigestRow>,
    tasks: Vec<DigestRow>,
    expiring: Vec<DigestRow>,
    overdue: Vec<DigestRow>,
    answers: Vec<DigestRow>,
}

impl Engine {
    /// When `user` gets their digest: their frequency and time, in their zone (the
    /// organisation's when they have none).
    pub fn digest_schedule(&self, user: &User) -> DigestSchedule {
        DigestSchedule {
            frequency: if user.active {
                user.digest
            } else {
                DigestFrequency::Off
            },
            time: user.digest_time,
            zone: self.user_zone(user),
        }
    }

    fn user_zone(&self, user: &User) -> TimeZone {
        user.time_zone
            .as_deref()
            .and_then(|name| TimeZone::get(name).ok())
            .unwrap_or_else(|| self.settings().default_time_zone.tz().clone())
    }

    /// Queues the digests due now that no dispatcher has decided yet: a reminder for each
    /// that has something to say, a record "nothing to say" for the others. Returns how many
    /// were queued.
    pub(crate) async fn queue_digests(&self) -> Result<usize, EngineError> {
        let now = self.clock.now();
        let mut db = self.store.conn().await?;
        let readers = users::list(&mut db).await?;
        let since = now - SignedDuration::from_hours(72);
        let decided: HashSet<(i64, Date)> = digests::decided_since(&mut db, since)
            .await?
            .into_iter()
            .collect();
        let mut due: BTreeMap<Timestamp, Vec<(User, Date)>> = BTreeMap::new();
        for reader in &readers {
            if let Some((day, at)) = self.digest_schedule(reader).due(now)
                && !decided.contains(&(reader.id, day))
            {
                due.entry(at).or_default().push((reader.clone(), day));
            }
        }
        drop(db);
        let mut queued = 0;
        for (at, group) in due {
            let sends = self
                .going_out(&readers, at, at + SignedDuration::from_hours(3 * 24))
                .await?;
            let composed = self.compose(&readers, &group, at, &sends).await?;
            let mut tx = self.store.begin().await?;
            for (reader, day, digest) in composed {
                if !digests::record(&mut tx, reader.id, day, None, now).await? {
                    continue;
                }
                if digest.is_empty() {
                    continue;
                }
                let (subject, body) =
                    digest::write(&digest, reader.language, &self.user_zone(&reader));
                let step_key = digest::step_key(day);
                let id = reminders::insert(
                    &mut tx,
                    &NewReminder {
                        about: SubjectRef {
                            kind: SubjectKind::Digest,
                            id: reader.id,
                        },
                        anchor: None,
                        contract_id: None,
                        kind: ReminderKind::Notice,
                        step_key: &step_key,
                        position: -1,
                        label: DIGEST_LABEL,
                        template: "digest",
                        offset_days: 0,
                        mode: Mode::Internal,
                        send_at: at,
                        to: std::slice::from_ref(&reader.email),
                        cc: &[],
                        subject: Some(&subject),
                        body: Some(&body),
                        message_id: &self.new_message_id(),
                    },
                    now,
                )
                .await?;
                digests::attach_reminder(&mut tx, reader.id, day, id).await?;
                reminder_event(
                    &mut tx,
                    now,
                    id,
                    EventAction::Scheduled,
                    &format!("morning digest of {day} to {}", reader.email),
                )
                .await?;
                queued += 1;
            }
            tickler_store::commit(tx).await?;
        }
        Ok(queued)
    }

    /// The digests that will go out from `from` to `until` as the lists stand now: what a
    /// dispatcher running all along would send (for `tickler preview`). `owner` keeps one
    /// reader's.
    pub async fn planned_digests(
        &self,
        from: Timestamp,
        until: Timestamp,
        owner: Option<i64>,
    ) -> Result<Vec<PlannedDigest>, EngineError> {
        let now = self.clock.now();
        let mut db = self.store.conn().await?;
        let readers = users::list(&mut db).await?;
        let mut decided = HashSet::new();
        for reader in &readers {
            for (day, _) in self.digest_schedule(reader).between(from, until) {
                if digests::is_decided(&mut db, reader.id, day).await? {
                    decided.insert((reader.id, day));
                }
            }
        }
        drop(db);
        let mut due: BTreeMap<Timestamp, Vec<(User, Date)>> = BTreeMap::new();
        for reader in readers.iter().filter(|r| owner.is_none_or(|o| o == r.id)) {
            let schedule = self.digest_schedule(reader);
            for (day, at) in schedule.between(from, until) {
                // One already past and not decided: the next dispatch run decides it now if it
                // is today's, else never (too late to catch up).
                let past_due = at < now && schedule.due(now) != Some((day, at));
                if !decided.contains(&(reader.id, day)) && !past_due {
                    due.entry(at).or_default().push((reader.clone(), day));
                }
            }
        }
        // From now: an invoice issued before a digest's day has its payment reminders then.
        let sends = self
            .going_out(
                &readers,
                now.min(from),
                until + SignedDuration::from_hours(3 * 24),
            )
            .await?;
        let mut planned = Vec::new();
        for (at, group) in due {
            for (reader, day, digest) in self.compose(&readers, &group, at, &sends).await? {
                if digest.is_empty() {
                    continue;
                }
                let zone = self.user_zone(&reader);
                let (subject, body) = digest::write(&digest, reader.language, &zone);
                planned.push(PlannedDigest {
                    user_id: reader.id,
                    day,
                    send_at: at,
                    time_zone: zone.iana_name().unwrap_or("UTC").to_string(),
                    to: reader.email.clone(),
                    subject,
                    body,
                });
            }
        }
        Ok(planned)
    }

    /// The digests of `group` at `at`, each written from the team's lists as they stand.
    async fn compose(
        &self,
        team: &[User],
        group: &[(User, Date)],
        at: Timestamp,
        sends: &[DigestRow],
    ) -> Result<Vec<(User, Date, Digest)>, EngineError> {
        let mut db = self.store.conn().await?;
        // Wide enough for every reader's "today and tomorrow", whatever their zone.
        let mut lists = read_team_lists(&mut db, at).await?;
        lists.going_out = sends.to_vec();
        if at > self.clock.now() {
            // Written in advance: the steps that become tasks before `at` will be open then.
            lists
                .tasks
                .extend(digests::tasks_to_come(&mut db, at).await?);
        }
        let names: HashMap<i64, &User> = team.iter().map(|u| (u.id, u)).collect();
        let mut composed = Vec::with_capacity(group.len());
        for (reader, day) in group {
            let zone = self.user_zone(reader);
            let bounds = DayBounds::new(*day, &zone);
            let digest = if reader.role == Role::Admin {
                let yesterday = bounds.yesterday();
                let counts =
                    digests::day_counts(&mut db, yesterday.start, yesterday.end, yesterday.day)
                        .await?;
                let mut owners: Vec<Option<i64>> = lists.owners();
                owners.sort_by_key(|owner| {
                    (
                        owner.is_none(),
                        owner
                            .and_then(|id| names.get(&id))
                            .map(|u| u.name.clone())
                            .unwrap_or_default(),
                    )
                });
                Digest {
                    reader: reader.name.clone(),
                    day: *day,
                    parts: owners
                        .into_iter()
                        .map(|owner| OwnerPart {
                            owner: Some(
                                owner
                                    .and_then(|id| names.get(&id))
                                    .map(|u| format!("{} <{}>", u.name, u.email))
                                    .unwrap_or_else(|| "No owner".to_string()),
                            ),
                            lists: self.lists_for(&lists, owner, at, &bounds),
                        })
                        .collect(),
                    yesterday: Some(DayCounts {
                        sent: counts.sent,
                        failed: counts.failed,
                        skipped: counts.skipped,
                        answered: counts.answered,
                        invoices_issued: counts.invoices_issued,
                        invoices_paid: counts.invoices_paid,
                    }),
                }
            } else {
                Digest {
                    reader: reader.name.clone(),
                    day: *day,
                    parts: vec![OwnerPart {
                        owner: None,
                        lists: self.lists_for(&lists, Some(reader.id), at, &bounds),
                    }],
                    yesterday: None,
                }
            };
            composed.push((reader.clone(), *day, digest));
        }
        Ok(composed)
    }

    /// The emails to customers that go out from `start` to `end` (for a digest: wide enough
    /// for every reader's "today and tomorrow"): what `tickler preview` lists, so that a
    /// digest written at its time and one previewed before agree (a reminder that a renewal
    /// or an invoice will cancel first is not going out; an invoice's email still to be made
    /// is).
    async fn going_out(
        &self,
        team: &[User],
        start: Timestamp,
        end: Timestamp,
    ) -> Result<Vec<DigestRow>, EngineError> {
        let scope = crate::outgoing::OutgoingScope {
            window: tickler_core::send_window::SendWindow { start, end },
            owner_id: None,
            now: self.clock.now(),
        };
        let owners: HashMap<&str, i64> = team.iter().map(|u| (u.email.as_str(), u.id)).collect();
        Ok(self
            .sends_over(&scope)
            .await?
            .into_iter()
            .filter(|item| item.mode == Mode::Auto)
            .map(|item| DigestRow {
                // 0: an email the dispatcher has yet to make (an invoice's).
                id: item.reminder_id.unwrap_or(0),
                owner_id: item
                    .owner
                    .as_deref()
                    .and_then(|email| owners.get(email).copied()),
                contract_id: item.contract_id,
                at: Some(item.send_at),
                day: None,
                customer: item.customer.unwrap_or_default(),
                contract: item.contract_title.unwrap_or_default(),
                what: item.label,
            })
            .collect())
    }

    /// One owner's lists (`None`: the contracts nobody owns), for a digest at `at` on the
    /// reader's day `bounds`.
    fn lists_for(
        &self,
        team: &TeamLists,
        owner: Option<i64>,
        at: Timestamp,
        bounds: &DayBounds,
    ) -> DigestLists {
        let link = |path: String| match self.public_url() {
            Ok(base) => format!("{}{path}", base.trim_end_matches('/')),
            Err(_) => path,
        };
        let about = |row: &DigestRow| match (row.customer.is_empty(), row.contract.is_empty()) {
            (false, false) => format!("{} · {}", row.customer, row.contract),
            (true, false) => row.contract.clone(),
            _ => row.customer.clone(),
        };
        let step = |row: &DigestRow| format!("{} · {}", about(row), row.what);
        let review = |row: &DigestRow| match (row.id, row.contract_id) {
            (0, Some(contract)) => format!("/contracts/{contract}"),
            (id, _) => format!("/review/{id}"),
        };
        let contract = |row: &DigestRow| format!("/contracts/{}", row.id);
        let last_expiry = bounds.day.saturating_add(30.days());
        let since = at - SignedDuration::from_hours(24);
        let mut lists = DigestLists::default();
        // The team's rows, which of them belong to this digest, the list they go to, the
        // line's text, its page, whether it is late.
        let sources: [Source; 7] = [
            (
                &team.going_out,
                &|r| r.at.is_some_and(|t| t >= at && t < bounds.end_of_tomorrow),
                &mut lists.going_out,
                &step,
                &review,
                &|_| false,
            ),
            (
                &team.awaiting,
                &|r| r.at.is_some_and(|t| t < bounds.end_of_today),
                &mut lists.awaiting_approval,
                &step,
                &review,
                &|_| false,
            ),
            (
                &team.failed,
                &|_| true,
                &mut lists.failed,
                &step,
                &|r| format!("/sent/{}", r.id),
                &|_| false,
            ),
            (
                &team.tasks,
                &|_| true,
                &mut lists.tasks,
                &|r| match about(r) {
                    about if about.is_empty() => r.what.clone(),
                    about => format!("{} · {about}", r.what),
                },
                &|_| "/tasks".to_string(),
                &|r| r.day.is_some_and(|d| d < bounds.day),
            ),
            (
                &team.expiring,
                &|r| r.day.is_some_and(|d| d >= bounds.day && d <= last_expiry),
                &mut lists.expiring,
                &about,
                &contract,
                &|_| false,
            ),
            (
                &team.overdue,
                &|r| r.day.is_some_and(|d| d < bounds.day),
                &mut lists.overdue_invoices,
                &|r| format!("{} · {}", r.what, about(r)),
                &|r| format!("/invoices/{}", r.id),
                &|_| true,
            ),
            (
                &team.answers,
                &|r| r.at.is_some_and(|t| t >= since),
                &mut lists.answers,
                &|r| format!("{}: {}", about(r), r.what),
                &contract,
                &|_| false,
            ),
        ];
        for (rows, belongs, list, text, page, late) in sources {
            for row in rows.iter().filter(|r| r.owner_id == owner && belongs(r)) {
                list.push(
                    DigestLine {
                        at: row.at,
                        day: row.day,
                        text: text(row),
                        overdue: late(row),
                        link: link(page(row)),
                    },
                    MOST_LINES,
                );
            }
        }
        lists
    }

    /// Sends a queued digest: written when it was queued, so nothing is read but its
    /// reader, who may have been deactivated or turned digests off since.
    pub(crate) async fn try_deliver_digest(
        &self,
        reminder: &Reminder,
    ) -> Result<Delivery, EngineError> {
        let reader = {
            let mut db = self.store.conn().await?;
            users::get(&mut db, reminder.about.id).await?
        };
        let stop = if !reader.active {
            Some("the user was deactivated")
        } else if reader.digest == DigestFrequency::Off {
            Some("the user turned the morning digest off")
        } else {
            None
        };
        if let Some(reason) = stop {
            let outcome = Outcome::Cancelled {
                reason: reason.to_string(),
            };
            return self
                .finish(reminder, ReminderStatus::Cancelled, reason, None, outcome)
                .await
                .map(Delivery::Recorded);
        }
        let rendered = Rendered {
            subject: reminder.subject.clone().unwrap_or_default(),
            body: reminder.body.clone().unwrap_or_default(),
            language: reader.language,
        };
        let (subject_line, body) = (rendered.subject.clone(), rendered.body.clone());
        match self.outgoing(reminder, rendered, Vec::new(), &[], self.clock.now()) {
            Ok(message) => {
                self.send_prepared(reminder, None, &message, subject_line, body)
                    .await
            }
            Err(e) => {
                let reason = format!("bad recipient: {e}");
                self.fail(reminder, None, &subject_line, &reason)
                    .await
                    .map(Delivery::Recorded)
            }
        }
    }
}

type Text<'a> = &'a dyn Fn(&DigestRow) -> String;
type Test<'a> = &'a dyn Fn(&DigestRow) -> bool;
type Source<'a> = (
    &'a [DigestRow],
    Test<'a>,
    &'a mut tickler_core::digest::Listed,
    Text<'a>,
    Text<'a>,
    Test<'a>,
);

/// A reader's local day as instants.
struct DayBounds {
    day: Date,
    end_of_today: Timestamp,
    end_of_tomorrow: Timestamp,
    zone: TimeZone,
}

/// One local day as instants.
struct Day {
    day: Date,
    start: Timestamp,
    end: Timestamp,
}

impl DayBounds {
    fn new(day: Date, zone: &TimeZone) -> DayBounds {
        let start =
            |d: Date| tickler_core::schedule::local_instant(d, jiff::civil::Time::MIN, zone);
        DayBounds {
            day,
            end_of_today: start(day.saturating_add(1.day())),
            end_of_tomorrow: start(day.saturating_add(2.days())),
            zone: zone.clone(),
        }
    }

    fn yesterday(&self) -> Day {
        let start =
            |d: Date| tickler_core::schedule::local_instant(d, jiff::civil::Time::MIN, &self.zone);
        let day = self.day.saturating_sub(1.day());
        Day {
            day,
            start: start(day),
            end: start(self.day),
        }
    }
}

impl TeamLists {
    /// Every owner with something in a list.
    fn owners(&self) -> Vec<Option<i64>> {
        let mut owners: Vec<Option<i64>> = [
            &self.going_out,
            &self.awaiting,
            &self.failed,
            &self.tasks,
            &self.expiring,
            &self.overdue,
            &self.answers,
        ]
        .into_iter()
        .flatten()
        .map(|row| row.owner_id)
        .collect();
        owners.sort_unstable();
        owners.dedup();
        owners
    }
}

/// The team's lists for digests at `at`, wide enough for a reader in any zone: each reader's
/// own day bounds narrow them.
async fn read_team_lists(db: &mut Db, at: Timestamp) -> Result<TeamLists, EngineError> {
    let day = at.to_zoned_datetime(TimeZone::UTC).date();
    let far = at + SignedDuration::from_hours(3 * 24);
    Ok(TeamLists {
        going_out: Vec::new(),
        awaiting: digests::awaiting_approval(db, far).await?,
        failed: digests::failed(db, at - SignedDuration::from_hours(24), at).await?,
        tasks: digests::open_tasks(db).await?,
        expiring: digests::expiring_unanswered(
            db,
            day.saturating_sub(2.days()),
            day.saturating_add(33.days()),
        )
        .await?,
        overdue: digests::overdue_invoices(db, day.saturating_add(2.days())).await?,
        answers: digests::answers(db, at - SignedDuration::from_hours(24), at).await?,
    })
}
