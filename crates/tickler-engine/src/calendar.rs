//! Calendar feeds: each member of the team subscribes their calendar app to a secret
//! address that lists, for the contracts they own (an admin: all), the expiries, the
//! cancel-by dates of automatic renewals, the timed emails still to go out and the open
//! tasks' due dates. The address is derived from the link secret and a per-user number,
//! so it is the same every time it is asked for, and a revocation changes it.

use jiff::{SignedDuration, ToSpan};
use tickler_core::{
    ValidationError,
    answer_link::{feed_token, feed_token_matches},
    event::{EventAction, EventSubject},
    icalendar::{CalendarEvent, calendar},
    user::Role,
};
use tickler_store::{events, users};

use crate::{
    Actor, Engine, EngineError,
    agenda::{AgendaQuery, Notices},
};

/// Where feed addresses start.
pub const CALENDAR_PATH: &str = "/calendar/";

/// How far back and ahead a feed reaches.
const DAYS_BACK: i64 = 30;
const DAYS_AHEAD: i64 = 400;

/// The most events of each kind a feed holds (an admin's feed of a large team).
const MOST_OF_A_KIND: i64 = 5000;

impl Engine {
    async fn user_named(&self, email: &str) -> Result<users::User, EngineError> {
        self.user_by_email(email).await?.ok_or_else(|| {
            ValidationError::new("user", format!("no user has the email {email}")).into()
        })
    }

    /// The path of a user's feed (`/calendar/ID/TOKEN.ics`), and the whole address when
    /// `TICKLER_PUBLIC_URL` is set.
    pub async fn calendar_url(&self, email: &str) -> Result<String, EngineError> {
        let user = self.user_named(email).await?;
        let mut db = self.store.conn().await?;
        let secret = self.link_secret(&mut db).await?;
        let generation = users::calendar_generation(&mut db, user.id).await?;
        let path = format!(
            "{CALENDAR_PATH}{}/{}.ics",
            user.id,
            feed_token(&secret, user.id, generation)
        );
        Ok(match self.public_url() {
            Ok(base) => format!("{}{path}", base.trim_end_matches('/')),
            Err(_) => path,
        })
    }

    /// Gives a user a new feed address: the old one stops working at once.
    pub async fn revoke_calendar(&self, email: &str, actor: &Actor) -> Result<(), EngineError> {
        let user = self.user_named(email).await?;
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        users::next_calendar_generation(&mut tx, user.id).await?;
        events::record(
            &mut tx,
            now,
            &actor.0,
            EventSubject::User(user.id),
            EventAction::TokenRevoked,
            "calendar feed address",
        )
        .await?;
        tickler_store::commit(tx).await?;
        Ok(())
    }

    /// The feed of user `user_id` if `token` is theirs and they are active; `NotFound`
    /// otherwise, so that a guess learns nothing.
    pub async fn calendar_feed(&self, user_id: i64, token: &str) -> Result<String, EngineError> {
        let not_found = || EngineError::NotFound {
            what: "calendar feed",
            id: user_id.to_string(),
        };
        let mut db = self.store.conn().await?;
        let user = match users::get(&mut db, user_id).await {
            Ok(user) if user.active => user,
            _ => return Err(not_found()),
        };
        let secret = self.link_secret(&mut db).await?;
        let generation = users::calendar_generation(&mut db, user.id).await?;
        if !feed_token_matches(token, &secret, user.id, generation) {
            return Err(not_found());
        }
        drop(db);
        let owner = (user.role != Role::Admin).then_some(user.id);
        let now = self.clock.now();
        let zone = self.settings().default_time_zone.tz().clone();
        let today = now.to_zoned_datetime(zone).date();
        let from = today.checked_sub(DAYS_BACK.days()).unwrap_or(today);
        let until = today.checked_add(DAYS_AHEAD.days()).unwrap_or(today);
        let agenda = self
            .agenda(&AgendaQuery {
                owner_id: owner,
                from,
                until,
                sends_from: now - SignedDuration::from_hours(24 * DAYS_BACK),
                sends_until: now + SignedDuration::from_hours(24 * DAYS_AHEAD),
                notices: Notices::OfExpiries,
                tasks_in_days: false,
                invoices: false,
                rendered_subjects: true,
                most_of_a_kind: MOST_OF_A_KIND,
            })
            .await?;
        let base = self.public_url().ok();
        let feed: Vec<CalendarEvent> = agenda
            .items
            .into_iter()
            .map(|item| CalendarEvent {
                uid: item.uid,
                when: item.when,
                summary: item.summary,
                description: item.description,
                url: base
                    .as_ref()
                    .map(|base| format!("{}{}", base.trim_end_matches('/'), item.path)),
                category: item.kind.as_str(),
            })
            .collect();
        Ok(calendar(&format!("Tickler: {}", user.name), now, &feed))
    }
}
