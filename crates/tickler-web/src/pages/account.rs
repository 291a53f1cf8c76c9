//! The logged-in person's own account: their name and the time zone pages show times in,
//! and their password (changed with the current one).

use askama::Template;
use axum::{
    Form, Router,
    extract::State,
    http::StatusCode,
    response::{Html, IntoResponse, Response},
    routing::get,
};
use axum_extra::extract::cookie::CookieJar;
use serde::Deserialize;
use tickler_core::ValidationError;
use tickler_engine::settings::UserChanges;
use tickler_engine::{EngineError, passwords::MIN_LENGTH};

use crate::field_errors::FieldErrors;
use crate::{
    AppState, WebError,
    auth::{CurrentUser, SESSION_COOKIE},
    client::Client,
    pages::Layout,
};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/account", get(profile_page).post(save_profile))
        .route(
            "/account/calendar/revoke",
            axum::routing::post(revoke_calendar),
        )
        .route(
            "/account/password",
            get(password_page).post(change_password),
        )
}

#[derive(Template)]
#[template(path = "account.html")]
struct ProfilePage {
    layout: Layout,
    name: String,
    email: String,
    /// The zone typed or stored; empty: the organisation's.
    time_zone: String,
    organisation_zone: String,
    /// Every zone the time zone database knows, for the searchable picker.
    zones: Vec<String>,
    language: String,
    /// (code, name)
    languages: Vec<(&'static str, &'static str)>,
    /// daily, weekdays or off.
    digest: String,
    /// "08:00"
    digest_time: String,
    errors: FieldErrors,
    /// The address of their calendar feed.
    calendar: String,
}

/// The element of the profile form a refused field is typed in.
fn profile_field(field: &str) -> Option<&'static str> {
    ["name", "time_zone", "language", "digest", "digest_time"]
        .into_iter()
        .find(|id| *id == field)
}

async fn profile(
    state: &AppState,
    user: &CurrentUser,
    form: ProfileForm,
    error: Option<&ValidationError>,
) -> Result<ProfilePage, WebError> {
    let mut zones: Vec<String> = jiff::tz::db().available().map(|n| n.to_string()).collect();
    zones.sort_unstable();
    let calendar = state.engine.calendar_url(&user.user.email).await?;
    Ok(ProfilePage {
        layout: Layout::new(user, "Your account", "account"),
        name: form.name,
        email: user.user.email.clone(),
        time_zone: form.time_zone,
        organisation_zone: state.engine.settings().default_time_zone.name().to_string(),
        zones,
        language: form.language,
        languages: crate::pages::language_choices(),
        digest: form.digest,
        digest_time: form.digest_time,
        errors: FieldErrors::of(error, profile_field, user.user.language),
        calendar,
    })
}

async fn profile_page(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Html<String>, WebError> {
    let form = ProfileForm {
        name: user.user.name.clone(),
        time_zone: user.user.time_zone.clone().unwrap_or_default(),
        language: user.user.language.code().to_string(),
        digest: user.user.digest.as_str().to_string(),
        digest_time: tickler_core::digest::format_time(user.user.digest_time),
    };
    let page = profile(&state, &user, form, None).await?;
    Ok(Html(page.render()?))
}

#[derive(Deserialize)]
struct ProfileForm {
    name: String,
    #[serde(default)]
    time_zone: String,
    #[serde(default)]
    language: String,
    #[serde(default)]
    digest: String,
    #[serde(default)]
    digest_time: String,
}

/// Saves the person's own name and time zone (their role and status are an admin's to change).
async fn save_profile(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(form): Form<ProfileForm>,
) -> Result<Response, WebError> {
    let me = &user.user;
    let saved = match crate::pages::person_choices(&form.language, &form.digest) {
        Ok((language, digest)) => {
            state
                .engine
                .update_user(
                    me.id,
                    UserChanges {
                        name: &form.name,
                        role: me.role,
                        active: me.active,
                        time_zone: Some(form.time_zone.trim()),
                        language,
                        digest,
                        digest_time: Some(form.digest_time.trim()).filter(|t| !t.is_empty()),
                    },
                    &user.actor(),
                )
                .await
        }
        Err(e) => Err(e.into()),
    };
    match saved {
        Ok(()) => Ok(crate::pages::redirect_with_notice(
            "/account",
            "Saved: pages show times in your time zone, and dates in your language.",
        )),
        Err(EngineError::Invalid(refusal)) => {
            let page = profile(&state, &user, form, Some(&refusal)).await?;
            Ok((StatusCode::BAD_REQUEST, Html(page.render()?)).into_response())
        }
        Err(other) => Err(other.into()),
    }
}

/// Gives the person a new calendar feed address; the old one stops working.
async fn revoke_calendar(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Response, WebError> {
    state
        .engine
        .revoke_calendar(&user.user.email, &user.actor())
        .await?;
    Ok(crate::pages::redirect_with_notice(
        "/account",
        "Your calendar has a new address: the old one no longer works. Subscribe again with the new one.",
    ))
}

#[derive(Template)]
#[template(path = "account_password.html")]
struct PasswordPage {
    layout: Layout,
    min_length: usize,
    error: Option<String>,
}

fn render(
    user: &CurrentUser,
    status: StatusCode,
    notice: Option<&str>,
    error: Option<String>,
) -> Result<Response, WebError> {
    let mut layout = Layout::new(user, "Your password", "account");
    // The change is confirmed on the page the POST answers with, not by a redirect.
    if let Some(notice) = notice {
        layout.notice = Some(notice.to_string());
    }
    let page = PasswordPage {
        layout,
        min_length: MIN_LENGTH,
        error,
    };
    Ok((status, Html(page.render()?)).into_response())
}

async fn password_page(user: CurrentUser) -> Result<Response, WebError> {
    render(&user, StatusCode::OK, None, None)
}

#[derive(Deserialize)]
struct PasswordForm {
    current_password: String,
    new_password: String,
    new_password_again: String,
}

async fn change_password(
    State(state): State<AppState>,
    user: CurrentUser,
    client: Client,
    jar: CookieJar,
    Form(form): Form<PasswordForm>,
) -> Result<Response, WebError> {
    if form.new_password != form.new_password_again {
        let error = "The two new passwords differ.".to_string();
        return render(&user, StatusCode::BAD_REQUEST, None, Some(error));
    }
    // A logged-in request has its session cookie: `CurrentUser` came from it.
    let token = jar
        .get(SESSION_COOKIE)
        .map(|cookie| cookie.value().to_string())
        .unwrap_or_default();
    let changed = state
        .engine
        .change_own_password(
            user.user.id,
            &form.current_password,
            &form.new_password,
            &token,
            client.address,
        )
        .await;
    match changed {
        Ok(()) => render(
            &user,
            StatusCode::OK,
            Some("Your password is changed. Your other sessions have ended."),
            None,
        ),
        Err(EngineError::Invalid(refusal)) => {
            let error = if refusal.field == "current_password" {
                format!("The current password {}.", refusal.message)
            } else {
                format!("The new password {}.", refusal.message)
            };
            render(&user, StatusCode::BAD_REQUEST, None, Some(error))
        }
        Err(other) => Err(other.into()),
    }
}
