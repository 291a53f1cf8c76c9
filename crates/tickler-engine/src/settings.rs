//! The organisation's settings as the admins edit them in the web app. Values stored in the
//! database take precedence over the environment's defaults (the [`Settings`] the engine was
//! built with) and take effect at once, in this process, for every clone of the engine:
//! the dispatcher's messages, new schedules and the pages all read the effective values.
//!
//! Also the administration of users that needs a rule beyond one row: the last active admin
//! cannot be demoted or deactivated.

use std::{
    ops::Deref,
    sync::{Arc, Mutex, OnceLock},
};

use jiff::civil::Time;
use tickler_core::event::{EventAction, EventSubject};
use tickler_core::{
    ValidationError, email::EmailAddress, error::parse_date, iban::Iban,
    invoice::validate_number_prefix, language::Language, schedule::Holidays, time_zone::Zone,
    user::Role,
};
use tickler_mail::{BrandColor, Sender};
use tickler_store::{events, sessions, settings as stored, settings::Holiday, users};

use crate::{Actor, Engine, EngineError, Settings, directory::NewUser, passwords};

/// The keys of the `settings` table.
pub mod keys {
    pub const ORGANISATION_NAME: &str = "organisation_name";
    pub const MAIL_FROM: &str = "mail_from";
    pub const DEFAULT_TIME_ZONE: &str = "default_time_zone";
    pub const DEFAULT_SEND_TIME: &str = "default_send_time";
    pub const BANK_IBAN: &str = "bank_iban";
    pub const BANK_NAME: &str = "bank_name";
    pub const INVOICE_PREFIX: &str = "invoice_prefix";
    pub const PAYMENT_DAYS: &str = "payment_days";
    pub const BRAND_COLOR: &str = "brand_color";
}

/// The colour of HTML emails when the settings name none, for the pages and commands that
/// show it (they do not see the mail crate).
pub const DEFAULT_BRAND_COLOR: &str = BrandColor::DEFAULT;

/// The organisation's settings beyond what [`Settings`] carries.
#[derive(Debug, Clone, Default)]
pub struct Organisation {
    /// The send time shown as the organisation's default for new plan steps; `None`: 09:00.
    pub default_send_time: Option<Time>,
    pub bank_iban: Option<Iban>,
    pub bank_name: Option<String>,
    /// What invoice numbers start with; `None`: `INV-`.
    pub invoice_prefix: Option<String>,
    /// Days from issue to due for sales that do not say; `None`: 14.
    pub payment_days: Option<u32>,
    /// The header band and buttons of HTML emails; `None`: [`BrandColor::DEFAULT`].
    pub brand_color: Option<BrandColor>,
    /// Non-working days with their names, by date.
    pub holidays: Vec<Holiday>,
    /// The same days, as business-day offsets skip them.
    pub holiday_set: Holidays,
}

/// One version of the effective settings. Versions are only ever appended, so a reference
/// to one stays valid as long as the engine lives: readers never lock.
#[derive(Debug)]
struct Version {
    settings: Settings,
    organisation: Organisation,
    next: OnceLock<Arc<Version>>,
}

/// The effective settings, shared by every clone of an engine. Dereferences to the current
/// [`Settings`], so `engine.settings.organisation_name` reads what the admins saved last.
#[derive(Debug, Clone)]
pub(crate) struct Live {
    defaults: Arc<Settings>,
    first: Arc<Version>,
    writer: Arc<Mutex<()>>,
}

impl Live {
    pub(crate) fn new(defaults: Settings) -> Live {
        Live {
            first: Arc::new(Version {
                settings: defaults.clone(),
                organisation: Organisation::default(),
                next: OnceLock::new(),
            }),
            defaults: Arc::new(defaults),
            writer: Arc::new(Mutex::new(())),
        }
    }

    /// The latest version; the chain grows by one per saved change, which admins make rarely.
    fn current(&self) -> &Version {
        let mut version: &Version = &self.first;
        while let Some(next) = version.next.get() {
            version = next;
        }
        version
    }

    fn publish(&self, settings: Settings, organisation: Organisation) {
        let _one_writer = self
            .writer
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let _ = self.current().next.set(Arc::new(Version {
            settings,
            organisation,
            next: OnceLock::new(),
        }));
    }

    pub(crate) fn defaults(&self) -> &Settings {
        &self.defaults
    }

    pub(crate) fn organisation(&self) -> &Organisation {
        &self.current().organisation
    }
}

impl Deref for Live {
    type Target = Settings;

    fn deref(&self) -> &Settings {
        &self.current().settings
    }
}

/// What the admins may change, as typed in the form. An empty field removes the stored value:
/// the environment's default (or nothing) applies again.
#[derive(Debug, Clone, Default)]
pub struct SettingsInput {
    pub organisation_name: String,
    pub mail_from: String,
    pub default_time_zone: String,
    pub default_send_time: String,
    pub bank_iban: String,
    pub bank_name: String,
    /// Empty: `INV-`.
    pub invoice_prefix: String,
    /// Empty: 14.
    pub payment_days: String,
    /// `#RRGGBB`; empty: a sober blue ([`BrandColor::DEFAULT`]).
    pub brand_color: String,
}

/// The settings page's content: effective values, and the environment's defaults beside them.
#[derive(Debug, Clone)]
pub struct SettingsView {
    pub organisation_name: String,
    pub mail_from: String,
    pub default_time_zone: String,
    /// `HH:MM`, or empty when the plans' own times apply.
    pub default_send_time: String,
    /// Grouped in fours, or empty.
    pub bank_iban: String,
    pub bank_name: String,
    /// As stored, or empty when the default `INV-` applies.
    pub invoice_prefix: String,
    /// As stored, or empty when the default 14 applies.
    pub payment_days: String,
    /// As stored (`#rrggbb`), or empty when the default applies.
    pub brand_color: String,
    pub holidays: Vec<Holiday>,
    pub env_organisation_name: String,
    pub env_mail_from: String,
    pub env_default_time_zone: String,
    /// Where mail goes (never the password).
    pub mailer: String,
    pub mailer_is_outbox: bool,
}

/// What saving settings did beyond storing them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SettingsSaved {
    /// Scheduled reminders moved to the new default zone or holiday list.
    pub rescheduled: usize,
    pub cancelled: usize,
}

/// The answer of the mail server to a test message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestEmail {
    pub delivered: bool,
    /// The SMTP reply (or outbox file), or why it failed.
    pub reply: String,
}

/// The checked values of a settings form, as the database stores them (`None`: delete).
struct Checked {
    rows: Vec<(&'static str, Option<String>)>,
    settings: Settings,
    organisation: Organisation,
}

fn optional(text: &str) -> Option<&str> {
    Some(text.trim()).filter(|t| !t.is_empty())
}

fn parse_send_time(field: &str, text: &str) -> Result<Time, ValidationError> {
    let text = text.trim();
    let refuse = || {
        ValidationError::new(
            field,
            format!("\"{text}\" is not a time of day (expected HH:MM, e.g. 09:00)"),
        )
    };
    let (hours, minutes) = text.split_once(':').ok_or_else(refuse)?;
    if hours.is_empty() || hours.len() > 2 || minutes.len() != 2 {
        return Err(refuse());
    }
    let hours: i8 = hours.parse().map_err(|_| refuse())?;
    let minutes: i8 = minutes.parse().map_err(|_| refuse())?;
    Time::new(hours, minutes, 0, 0).map_err(|_| refuse())
}

/// Days from issue to due: 0 (due on receipt) to 366.
pub(crate) fn parse_payment_days(field: &str, text: &str) -> Result<u32, ValidationError> {
    let text = text.trim();
    text.parse::<u32>()
        .ok()
        .filter(|days| *days <= 366)
        .ok_or_else(|| {
            ValidationError::new(
                field,
                format!("\"{text}\" is not a number of days from 0 to 366"),
            )
        })
}

fn text_value(field: &str, text: &str, max: usize) -> Result<Option<String>, ValidationError> {
    let Some(text) = optional(text) else {
        return Ok(None);
    };
    if text.chars().any(char::is_control) {
        return Err(ValidationError::new(
            field,
            "must not contain control characters",
        ));
    }
    if text.chars().count() > max {
        return Err(ValidationError::new(
            field,
            format!("must have at most {max} characters"),
        ));
    }
    Ok(Some(text.to_string()))
}

/// Builds the effective settings from the defaults and stored rows; a stored value that no
/// longer parses (edited by hand) is ignored with a warning rather than stopping the process.
fn effective(
    defaults: &Settings,
    rows: &[(String, String)],
    holidays: Vec<Holiday>,
) -> (Settings, Organisation) {
    let mut settings = defaults.clone();
    let mut organisation = Organisation::default();
    for (key, value) in rows {
        let outcome: Result<(), ValidationError> = (|| {
            match key.as_str() {
                keys::ORGANISATION_NAME => settings.organisation_name = value.clone(),
                keys::MAIL_FROM => settings.mail_from = Sender::parse(value)?,
                keys::DEFAULT_TIME_ZONE => settings.default_time_zone = Zone::parse(key, value)?,
                keys::DEFAULT_SEND_TIME => {
                    organisation.default_send_time = Some(parse_send_time(key, value)?)
                }
                keys::BANK_IBAN => organisation.bank_iban = Some(Iban::parse(key, value)?),
                keys::BANK_NAME => organisation.bank_name = Some(value.clone()),
                keys::INVOICE_PREFIX => {
                    validate_number_prefix(key, value)?;
                    organisation.invoice_prefix = Some(value.clone())
                }
                keys::PAYMENT_DAYS => {
                    organisation.payment_days = Some(parse_payment_days(key, value)?)
                }
                keys::BRAND_COLOR => {
                    organisation.brand_color = Some(BrandColor::parse(key, value)?)
                }
                _ => {}
            }
            Ok(())
        })();
        if let Err(e) = outcome {
            tracing::warn!(setting = %key, error = %e, "stored setting ignored");
        }
    }
    organisation.holiday_set = Holidays(holidays.iter().map(|h| h.day).collect());
    organisation.holidays = holidays;
    (settings, organisation)
}

/// Parses the holiday list as typed: one day a line, `YYYY-MM-DD` then an optional name.
pub fn parse_holidays(text: &str) -> Result<Vec<Holiday>, ValidationError> {
    let mut list: Vec<Holiday> = Vec::new();
    // Every line is read, so that all the bad ones are said at once.
    let mut checks = tickler_core::Checks::default();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let field = format!("holidays line {}", number + 1);
        let (day, name) = match line.split_once(char::is_whitespace) {
            Some((day, name)) => (day, name.trim()),
            None => (line, ""),
        };
        let holiday = parse_date(&field, day).and_then(|day| {
            if name.chars().any(char::is_control) || name.chars().count() > 200 {
                Err(ValidationError::new(
                    field.clone(),
                    "the name must be one line of at most 200 characters",
                ))
            } else if list.iter().any(|h| h.day == day) {
                Err(ValidationError::new(
                    field.clone(),
                    format!("{day} is listed twice"),
                ))
            } else {
                Ok(Holiday {
                    day,
                    name: name.to_string(),
                })
            }
        });
        if let Some(holiday) = checks.check(holiday) {
            list.push(holiday);
        }
    }
    checks.finish()?;
    list.sort_by_key(|h| h.day);
    Ok(list)
}

/// A user as a form or the CLI gives them: every field, the unchanged ones as they were.
#[derive(Debug, Clone)]
pub struct UserChanges<'a> {
    pub name: &'a str,
    pub role: Role,
    pub active: bool,
    /// An IANA zone; empty or `None`: the organisation's.
    pub time_zone: Option<&'a str>,
    /// `None` keeps the user's language.
    pub language: Option<Language>,
    /// `None` keeps how often they get the morning digest.
    pub digest: Option<tickler_core::digest::DigestFrequency>,
    /// "08:00"; `None` keeps their digest's time.
    pub digest_time: Option<&'a str>,
}

impl Engine {
    /// The organisation's settings beyond [`Settings`]: send time, bank, holidays.
    pub fn organisation(&self) -> &Organisation {
        self.settings.organisation()
    }

    /// The colour of HTML emails: the settings' brand colour, else the default blue.
    pub(crate) fn brand_color(&self) -> BrandColor {
        self.organisation().brand_color.clone().unwrap_or_default()
    }

    /// What invoice numbers start with: the settings' prefix, else `INV-`.
    pub(crate) fn invoice_prefix(&self) -> String {
        self.organisation()
            .invoice_prefix
            .clone()
            .unwrap_or_else(|| "INV-".to_string())
    }

    /// The holidays that business-day offsets skip.
    pub(crate) fn holidays(&self) -> &Holidays {
        &self.settings.organisation().holiday_set
    }

    /// Reads the stored settings and makes them effective; call once at start-up.
    pub async fn load_settings(&self) -> Result<(), EngineError> {
        let mut db = self.store.conn().await?;
        let rows = stored::all(&mut db).await?;
        let holidays = stored::holidays(&mut db).await?;
        drop(db);
        let (settings, organisation) = effective(self.settings.defaults(), &rows, holidays);
        self.settings.publish(settings, organisation);
        Ok(())
    }

    /// What the settings page shows.
    pub fn settings_view(&self) -> SettingsView {
        let settings: &Settings = &self.settings;
        let organisation = self.organisation();
        let defaults = self.settings.defaults();
        SettingsView {
            organisation_name: settings.organisation_name.clone(),
            mail_from: settings.mail_from.to_string(),
            default_time_zone: settings.default_time_zone.name().to_string(),
            default_send_time: organisation
                .default_send_time
                .map(|t| t.strftime("%H:%M").to_string())
                .unwrap_or_default(),
            bank_iban: organisation
                .bank_iban
                .as_ref()
                .map(Iban::grouped)
                .unwrap_or_default(),
            bank_name: organisation.bank_name.clone().unwrap_or_default(),
            invoice_prefix: organisation.invoice_prefix.clone().unwrap_or_default(),
            payment_days: organisation
                .payment_days
                .map(|d| d.to_string())
                .unwrap_or_default(),
            brand_color: organisation
                .brand_color
                .as_ref()
                .map(|c| c.as_str().to_string())
                .unwrap_or_default(),
            holidays: organisation.holidays.clone(),
            env_organisation_name: defaults.organisation_name.clone(),
            env_mail_from: defaults.mail_from.to_string(),
            env_default_time_zone: defaults.default_time_zone.name().to_string(),
            mailer: self.mailer.describe(),
            mailer_is_outbox: self.mailer.is_outbox(),
        }
    }

    fn check_settings(&self, input: &SettingsInput) -> Result<Checked, ValidationError> {
        let defaults = self.settings.defaults();
        let mut settings = Settings::clone(&self.settings);
        let mut organisation = self.organisation().clone();
        // Every field is checked, so that all refused values are said at once.
        let mut checks = tickler_core::Checks::default();
        let name = checks.check(text_value(
            keys::ORGANISATION_NAME,
            &input.organisation_name,
            200,
        ));
        let sender = checks.check(
            optional(&input.mail_from)
                .map(|text| {
                    Sender::parse(text)
                        .map_err(|e| ValidationError::new(keys::MAIL_FROM, e.message))
                })
                .transpose(),
        );
        let zone = checks.check(
            optional(&input.default_time_zone)
                .map(|text| Zone::parse(keys::DEFAULT_TIME_ZONE, text))
                .transpose(),
        );
        let send_time = checks.check(
            optional(&input.default_send_time)
                .map(|text| parse_send_time(keys::DEFAULT_SEND_TIME, text))
                .transpose(),
        );
        let iban = checks.check(
            optional(&input.bank_iban)
                .map(|text| Iban::parse(keys::BANK_IBAN, text))
                .transpose(),
        );
        let bank_name = checks.check(text_value(keys::BANK_NAME, &input.bank_name, 200));
        let prefix = checks.check(
            optional(&input.invoice_prefix)
                .map(|text| {
                    validate_number_prefix(keys::INVOICE_PREFIX, text).map(|()| text.to_string())
                })
                .transpose(),
        );
        let payment_days = checks.check(
            optional(&input.payment_days)
                .map(|text| parse_payment_days(keys::PAYMENT_DAYS, text))
                .transpose(),
        );
        let brand_color = checks.check(
            optional(&input.brand_color)
                .map(|text| BrandColor::parse(keys::BRAND_COLOR, text))
                .transpose(),
        );
        checks.then(|| {
            let (name, sender, zone, send_time) = (name?, sender?, zone?, send_time?);
            let (iban, bank_name, prefix) = (iban?, bank_name?, prefix?);
            let (payment_days, brand_color) = (payment_days?, brand_color?);
            settings.organisation_name = name
                .clone()
                .unwrap_or_else(|| defaults.organisation_name.clone());
            settings.mail_from = sender.clone().unwrap_or_else(|| defaults.mail_from.clone());
            settings.default_time_zone = zone
                .clone()
                .unwrap_or_else(|| defaults.default_time_zone.clone());
            organisation.default_send_time = send_time;
            organisation.bank_iban = iban.clone();
            organisation.bank_name = bank_name.clone();
            organisation.invoice_prefix = prefix.clone();
            organisation.payment_days = payment_days;
            organisation.brand_color = brand_color.clone();
            Some(Checked {
                rows: vec![
                    (keys::ORGANISATION_NAME, name),
                    (keys::MAIL_FROM, sender.map(|s| s.to_string())),
                    (keys::DEFAULT_TIME_ZONE, zone.map(|z| z.name().to_string())),
                    (
                        keys::DEFAULT_SEND_TIME,
                        send_time.map(|t| t.strftime("%H:%M").to_string()),
                    ),
                    (keys::BANK_IBAN, iban.map(|i| i.as_str().to_string())),
                    (keys::BANK_NAME, bank_name),
                    (keys::INVOICE_PREFIX, prefix),
                    (keys::PAYMENT_DAYS, payment_days.map(|d| d.to_string())),
                    (
                        keys::BRAND_COLOR,
                        brand_color.map(|c| c.as_str().to_string()),
                    ),
                ],
                settings,
                organisation,
            })
        })
    }

    /// The same engine with other effective settings, to compute schedules inside a
    /// transaction before the new settings are committed and published.
    fn staged(&self, settings: Settings, organisation: Organisation) -> Engine {
        let live = Live::new(self.settings.defaults().clone());
        live.publish(settings, organisation);
        Engine {
            settings: live,
            ..self.clone()
        }
    }

    /// Stores the organisation settings and makes them effective. When the default time
    /// zone changes, the unedited scheduled reminders of customers without a zone of their
    /// own move to it in the same transaction.
    pub async fn save_settings(
        &self,
        input: &SettingsInput,
        actor: &Actor,
    ) -> Result<SettingsSaved, EngineError> {
        let checked = self.check_settings(input)?;
        let zone_changed =
            checked.settings.default_time_zone.name() != self.settings.default_time_zone.name();
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        let before: std::collections::BTreeMap<String, String> =
            stored::all(&mut tx).await?.into_iter().collect();
        let mut changed = Vec::new();
        for (key, value) in &checked.rows {
            match value {
                Some(value) => {
                    if before.get(*key) != Some(value) {
                        stored::put(&mut tx, key, value, now).await?;
                        changed.push(*key);
                    }
                }
                None => {
                    if before.contains_key(*key) {
                        stored::delete(&mut tx, key).await?;
                        changed.push(*key);
                    }
                }
            }
        }
        let mut saved = SettingsSaved::default();
        if zone_changed {
            let staged = self.staged(checked.settings.clone(), checked.organisation.clone());
            for id in stored::active_contracts_without_zone(&mut tx).await? {
                let outcome = staged.resync_contract(&mut tx, id, now).await?;
                saved.rescheduled += outcome.rescheduled;
                saved.cancelled += outcome.cancelled;
            }
        }
        let detail = if changed.is_empty() {
            "nothing changed".to_string()
        } else {
            format!(
                "{}; {} reminders rescheduled",
                changed.join(", "),
                saved.rescheduled
            )
        };
        events::record(
            &mut tx,
            now,
            &actor.0,
            EventSubject::Settings,
            EventAction::Edited,
            &detail,
        )
        .await?;
        tickler_store::commit(tx).await?;
        self.settings
            .publish(checked.settings, checked.organisation);
        tracing::info!(actor = %actor.0, %detail, "settings saved");
        Ok(saved)
    }

    /// Replaces the holiday list; the unedited scheduled reminders of plans counted in
    /// business days move accordingly, in the same transaction.
    pub async fn replace_holidays(
        &self,
        list: Vec<Holiday>,
        actor: &Actor,
    ) -> Result<SettingsSaved, EngineError> {
        let settings = Settings::clone(&self.settings);
        let mut organisation = self.organisation().clone();
        organisation.holiday_set = Holidays(list.iter().map(|h| h.day).collect());
        organisation.holidays = list;
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        stored::replace_holidays(&mut tx, &organisation.holidays).await?;
        let staged = self.staged(settings.clone(), organisation.clone());
        let mut saved = SettingsSaved::default();
        for id in stored::active_contracts_on_business_days(&mut tx).await? {
            let outcome = staged.resync_contract(&mut tx, id, now).await?;
            saved.rescheduled += outcome.rescheduled;
            saved.cancelled += outcome.cancelled;
        }
        events::record(
            &mut tx,
            now,
            &actor.0,
            EventSubject::Settings,
            EventAction::HolidaysReplaced,
            &format!(
                "{} holidays; {} reminders rescheduled",
                organisation.holidays.len(),
                saved.rescheduled
            ),
        )
        .await?;
        tickler_store::commit(tx).await?;
        self.settings.publish(settings, organisation);
        Ok(saved)
    }

    /// Sends a short message through the configured mailer, so an admin can see that mail
    /// leaves; the outcome (the server's reply or the error) is returned and recorded.
    pub async fn send_test_email(&self, to: &str, actor: &Actor) -> Result<TestEmail, EngineError> {
        let to = EmailAddress::parse("to", to)?;
        let settings: &Settings = &self.settings;
        let subject = format!("Test email from {}", settings.organisation_name);
        let body = format!(
            "This is a test email from Tickler for {}, sent by {}.\n\n\
                 Mail leaves through: {}.\nIf you can read this, renewal notices can reach you.\n",
            settings.organisation_name,
            actor.0,
            self.mailer.describe()
        );
        // In both forms, so the admin sees the HTML as customers will, in its colours.
        let message = self.team_email(&to, subject, body);
        let outcome = match self.send_mail(&message).await {
            Ok(delivery) => TestEmail {
                delivered: true,
                reply: delivery.reply,
            },
            Err(e) => TestEmail {
                delivered: false,
                reply: e.to_string(),
            },
        };
        let now = self.clock.now();
        let mut db = self.store.conn().await?;
        events::record(
            &mut db,
            now,
            &actor.0,
            EventSubject::Settings,
            if outcome.delivered {
                EventAction::TestEmailSent
            } else {
                EventAction::TestEmailFailed
            },
            &format!("to {to}: {}", outcome.reply),
        )
        .await?;
        Ok(outcome)
    }

    /// Every user, by name.
    pub async fn list_users(&self) -> Result<Vec<users::User>, EngineError> {
        Ok(users::list(&mut *self.store.conn().await?).await?)
    }

    pub async fn user(&self, id: i64) -> Result<users::User, EngineError> {
        Ok(users::get(&mut *self.store.conn().await?, id).await?)
    }

    /// Creates a user, with an initial password or none (they cannot log in until an admin
    /// sets one). The password is checked before anything is stored, and an email that
    /// differs from an existing user's only in case is refused.
    pub async fn create_user(
        &self,
        new: NewUser,
        password: Option<&str>,
        actor: &Actor,
    ) -> Result<i64, EngineError> {
        if let Some(password) = password {
            passwords::check_strength(password)?;
        }
        // The database's unique index is case-sensitive; logins are not.
        if let Some(existing) = self.user_by_email(&new.email).await? {
            return Err(EngineError::Conflict(format!(
                "a user with email {} already exists",
                existing.email
            )));
        }
        let id = self.add_user(new, actor).await?;
        if let Some(password) = password {
            self.set_password(id, password, actor).await?;
        }
        Ok(id)
    }

    /// Changes a user's name, role, status, zone or language, refusing to demote or
    /// deactivate the last active admin (nobody could administer Tickler afterwards). A new
    /// role or deactivation ends the user's sessions, so the change takes effect at once.
    /// The one way users change: the users page, the profile page, the first admin's setup
    /// and the CLI.
    pub async fn update_user(
        &self,
        id: i64,
        changes: UserChanges<'_>,
        actor: &Actor,
    ) -> Result<(), EngineError> {
        let UserChanges {
            name,
            role,
            active,
            time_zone,
            language,
            digest,
            digest_time,
        } = changes;
        let mut checks = tickler_core::Checks::default();
        let name = checks.check(crate::directory::non_empty("name", name));
        let zone = checks.check(
            time_zone
                .filter(|tz| !tz.trim().is_empty())
                .map(|tz| Zone::parse("time_zone", tz))
                .transpose(),
        );
        let digest_time = checks.check(
            digest_time
                .map(|t| tickler_core::digest::parse_time("digest_time", t))
                .transpose(),
        );
        let (name, zone, digest_time) = checks.then(|| Some((name?, zone?, digest_time?)))?;
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        let before = users::get(&mut tx, id).await?;
        let was_admin = before.active && before.role == Role::Admin;
        if was_admin && (role != Role::Admin || !active) {
            let admins = stored::active_admins(&mut tx).await?;
            if admins.iter().all(|admin| *admin == id) {
                return Err(EngineError::Conflict(format!(
                    "{} is the last active admin: make someone else an admin first",
                    before.email
                )));
            }
        }
        users::update(
            &mut tx,
            &users::User {
                name: name.clone(),
                role,
                active,
                time_zone: zone.as_ref().map(|z| z.name().to_string()),
                language: language.unwrap_or(before.language),
                digest: digest.unwrap_or(before.digest),
                digest_time: digest_time.unwrap_or(before.digest_time),
                ..before.clone()
            },
        )
        .await?;
        if before.role != role || !active {
            sessions::delete_for_user(&mut tx, id).await?;
        }
        let mut what = Vec::new();
        if before.name != name {
            what.push(format!("name {name}"));
        }
        if before.role != role {
            what.push(format!("role {} to {role}", before.role));
        }
        if before.active != active {
            what.push(if active { "reactivated" } else { "deactivated" }.to_string());
        }
        if before.time_zone.as_deref() != zone.as_ref().map(|z| z.name()) {
            what.push(format!(
                "time zone {}",
                zone.as_ref().map(|z| z.name()).unwrap_or("organisation's")
            ));
        }
        if let Some(language) = language.filter(|l| *l != before.language) {
            what.push(format!("language {}", language.english_name()));
        }
        if let Some(digest) = digest.filter(|d| *d != before.digest) {
            what.push(format!("morning digest {digest}"));
        }
        if let Some(time) = digest_time.filter(|t| *t != before.digest_time) {
            what.push(format!(
                "morning digest at {}",
                tickler_core::digest::format_time(time)
            ));
        }
        let detail = if what.is_empty() {
            "nothing changed".to_string()
        } else {
            what.join(", ")
        };
        events::record(
            &mut tx,
            now,
            &actor.0,
            EventSubject::User(id),
            EventAction::Edited,
            &detail,
        )
        .await?;
        tickler_store::commit(tx).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn send_times_are_hours_and_minutes() {
        assert_eq!(
            parse_send_time("t", "09:30").unwrap(),
            Time::constant(9, 30, 0, 0)
        );
        assert_eq!(
            parse_send_time("t", "7:05").unwrap(),
            Time::constant(7, 5, 0, 0)
        );
        for bad in ["24:00", "9", "09:60", "nine", "09:3", "-1:00"] {
            let err = parse_send_time("default_send_time", bad).unwrap_err();
            assert_eq!(err.field, "default_send_time", "{bad}");
        }
    }

    #[test]
    fn holiday_lists_name_the_bad_line() {
        let list = parse_holidays("2026-12-25 Christmas Day\n\n2026-01-01\n").unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(list[0].day.to_string(), "2026-01-01");
        assert_eq!(list[1].name, "Christmas Day");
        let err = parse_holidays("2026-01-01 New Year\n2026-02-30 Nope").unwrap_err();
        assert_eq!(err.field, "holidays line 2");
        let err = parse_holidays("2026-01-01\n2026-01-01 again").unwrap_err();
        assert!(err.message.contains("twice"), "{err}");
    }
}
