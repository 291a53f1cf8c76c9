//! The organisation's settings (admins only): name, sender, default zone and send time,
//! bank details, the holiday list, and where mail goes with a button to send a test email.
//! Secrets are never shown: the SMTP password lives only in the environment and the page
//! shows the mailer's description, which leaves it out.

use askama::Template;
use axum::{
    Form, Router,
    extract::State,
    http::StatusCode,
    response::{Html, IntoResponse, Response},
    routing::{get, post},
};
use serde::Deserialize;
use tickler_core::access::Action;
use tickler_engine::{
    EngineError,
    settings::{DEFAULT_BRAND_COLOR, SettingsInput, parse_holidays},
};

use crate::field_errors::FieldErrors;
use crate::{
    AppState, WebError,
    auth::CurrentUser,
    pages::{Layout, redirect_with_notice},
};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/settings", get(settings_page).post(save_settings))
        .route("/settings/holidays", post(save_holidays))
        .route("/settings/test-email", post(test_email))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct SettingsForm {
    organisation_name: String,
    mail_from: String,
    default_time_zone: String,
    default_send_time: String,
    bank_iban: String,
    bank_name: String,
    invoice_prefix: String,
    payment_days: String,
    brand_color: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct HolidaysForm {
    holidays: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct TestEmailForm {
    to: String,
}

#[derive(Template)]
#[template(path = "settings.html")]
struct SettingsPage {
    layout: Layout,
    form: SettingsForm,
    holidays: String,
    holiday_count: usize,
    env_organisation_name: String,
    env_mail_from: String,
    env_default_time_zone: String,
    mailer: String,
    mailer_is_outbox: bool,
    default_brand_color: &'static str,
    test_to: String,
    /// The refused values or failed action of the form sent.
    errors: FieldErrors,
    /// Which form the errors belong to: "settings", "holidays" or "test".
    error_in: &'static str,
    /// The reader's language, for the dates in errors.
    layout_language: tickler_core::language::Language,
}

/// The element of the settings page a refused field is typed in: the settings form's
/// fields are named as their keys; a holiday line is in the holiday list.
fn settings_element(field: &str) -> Option<&'static str> {
    const FIELDS: [&str; 11] = [
        "organisation_name",
        "mail_from",
        "default_time_zone",
        "default_send_time",
        "bank_iban",
        "bank_name",
        "invoice_prefix",
        "payment_days",
        "brand_color",
        "holidays",
        "to",
    ];
    if field.starts_with("holidays") {
        return Some("holidays");
    }
    FIELDS.into_iter().find(|id| *id == field)
}

impl SettingsPage {
    fn new(state: &AppState, user: &CurrentUser) -> SettingsPage {
        let view = state.engine.settings_view();
        let holidays = view
            .holidays
            .iter()
            .map(|h| {
                if h.name.is_empty() {
                    h.day.to_string()
                } else {
                    format!("{} {}", h.day, h.name)
                }
            })
            .collect::<Vec<_>>()
            .join("\n");
        SettingsPage {
            layout: Layout::new(user, "Settings", "settings"),
            form: SettingsForm {
                organisation_name: view.organisation_name,
                mail_from: view.mail_from,
                default_time_zone: view.default_time_zone,
                default_send_time: view.default_send_time,
                bank_iban: view.bank_iban,
                bank_name: view.bank_name,
                invoice_prefix: view.invoice_prefix,
                payment_days: view.payment_days,
                brand_color: view.brand_color,
            },
            holiday_count: view.holidays.len(),
            holidays,
            env_organisation_name: view.env_organisation_name,
            env_mail_from: view.env_mail_from,
            env_default_time_zone: view.env_default_time_zone,
            mailer: view.mailer,
            mailer_is_outbox: view.mailer_is_outbox,
            default_brand_color: DEFAULT_BRAND_COLOR,
            test_to: user.user.email.clone(),
            layout_language: user.user.language,
            errors: FieldErrors::default(),
            error_in: "",
        }
    }

    fn failed(
        mut self,
        status: StatusCode,
        error_in: &'static str,
        errors: FieldErrors,
    ) -> Response {
        self.errors = errors;
        self.error_in = error_in;
        match self.render() {
            Ok(html) => (status, Html(html)).into_response(),
            Err(e) => WebError::from(e).into_response(),
        }
    }
}

/// The page again with what was typed, for a refused value (400) or a conflict (409).
fn refused(
    page: SettingsPage,
    error_in: &'static str,
    error: EngineError,
) -> Result<Response, WebError> {
    match error {
        EngineError::Invalid(v) => {
            let errors = FieldErrors::of(Some(&v), settings_element, page.layout_language);
            Ok(page.failed(StatusCode::BAD_REQUEST, error_in, errors))
        }
        EngineError::Conflict(message) => Ok(page.failed(
            StatusCode::CONFLICT,
            error_in,
            FieldErrors::general(message),
        )),
        other => Err(other.into()),
    }
}

async fn settings_page(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Html<String>, WebError> {
    user.require(Action::Administer, None)?;
    Ok(Html(SettingsPage::new(&state, &user).render()?))
}

async fn save_settings(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(form): Form<SettingsForm>,
) -> Result<Response, WebError> {
    user.require(Action::Administer, None)?;
    let input = SettingsInput {
        organisation_name: form.organisation_name.clone(),
        mail_from: form.mail_from.clone(),
        default_time_zone: form.default_time_zone.clone(),
        default_send_time: form.default_send_time.clone(),
        bank_iban: form.bank_iban.clone(),
        bank_name: form.bank_name.clone(),
        invoice_prefix: form.invoice_prefix.clone(),
        payment_days: form.payment_days.clone(),
        brand_color: form.brand_color.clone(),
    };
    match state.engine.save_settings(&input, &user.actor()).await {
        Ok(saved) if saved.rescheduled + saved.cancelled > 0 => Ok(redirect_with_notice(
            "/settings",
            &format!(
                "Settings saved; {} scheduled reminders moved to the new time zone, {} cancelled.",
                saved.rescheduled, saved.cancelled
            ),
        )),
        Ok(_) => Ok(redirect_with_notice("/settings", "Settings saved.")),
        Err(e) => {
            let mut page = SettingsPage::new(&state, &user);
            page.form = form;
            refused(page, "settings", e)
        }
    }
}

async fn save_holidays(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(form): Form<HolidaysForm>,
) -> Result<Response, WebError> {
    user.require(Action::Administer, None)?;
    let result = match parse_holidays(&form.holidays) {
        Ok(list) => state.engine.replace_holidays(list, &user.actor()).await,
        Err(e) => Err(e.into()),
    };
    match result {
        Ok(saved) => {
            let count = state.engine.organisation().holidays.len();
            Ok(redirect_with_notice(
                "/settings",
                &format!(
                    "Holiday list saved ({count} days); {} scheduled reminders moved.",
                    saved.rescheduled
                ),
            ))
        }
        Err(e) => {
            let mut page = SettingsPage::new(&state, &user);
            page.holidays = form.holidays;
            refused(page, "holidays", e)
        }
    }
}

async fn test_email(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(form): Form<TestEmailForm>,
) -> Result<Response, WebError> {
    user.require(Action::Administer, None)?;
    match state.engine.send_test_email(&form.to, &user.actor()).await {
        Ok(outcome) if outcome.delivered => Ok(redirect_with_notice(
            "/settings",
            &format!(
                "Test email sent to {}. The server answered: {}",
                form.to.trim(),
                outcome.reply
            ),
        )),
        Ok(outcome) => {
            let mut page = SettingsPage::new(&state, &user);
            page.test_to = form.to.clone();
            Ok(page.failed(
                StatusCode::BAD_GATEWAY,
                "test",
                FieldErrors::general(format!(
                    "The test email to {} was not sent: {}",
                    form.to.trim(),
                    outcome.reply
                )),
            ))
        }
        Err(e) => {
            let mut page = SettingsPage::new(&state, &user);
            page.test_to = form.to;
            refused(page, "test", e)
        }
    }
}
