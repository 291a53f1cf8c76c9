//! The team (admins only): who may log in and with which role. Admins create users (with
//! an initial password, or none until one is set), change their name, role, status and
//! display zone, and set a new password. A new role, deactivation or a new password ends the
//! user's sessions at once. The last active admin cannot be demoted or deactivated.

use askama::Template;
use axum::{
    Form, Router,
    extract::{Path, State},
    http::StatusCode,
    response::{Html, IntoResponse, Response},
    routing::{get, post},
};
use serde::Deserialize;
use tickler_core::{ValidationError, access::Action, user::Role};
use tickler_engine::settings::UserChanges;
use tickler_engine::{EngineError, browse::User, directory::NewUser};

use crate::field_errors::FieldErrors;
use crate::{
    AppState, WebError,
    auth::CurrentUser,
    pages::{Layout, redirect_with_notice},
};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/users", get(list).post(create))
        .route("/users/new", get(new_page))
        .route("/users/{id}/edit", get(edit_page).post(edit))
        .route("/users/{id}/password", post(set_password))
}

const ROLES: [&str; 3] = ["admin", "sales", "viewer"];

fn page_response(status: StatusCode, page: Result<String, askama::Error>) -> Response {
    match page {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => WebError::from(e).into_response(),
    }
}

/// The status a refused form is shown again with (400 for a bad value, 409 for a conflict)
/// and its errors; a conflict is about `conflicting`, the field that caused it.
fn refusal(
    user: &CurrentUser,
    error: EngineError,
    conflicting: &'static str,
) -> Result<(StatusCode, FieldErrors), WebError> {
    let (status, refusal) = match error {
        EngineError::Invalid(v) => (StatusCode::BAD_REQUEST, v),
        EngineError::Conflict(message) => (
            StatusCode::CONFLICT,
            ValidationError::new(conflicting, message),
        ),
        other => return Err(other.into()),
    };
    Ok((
        status,
        FieldErrors::of(Some(&refusal), user_field, user.user.language),
    ))
}

/// The element of the users' forms a refused field is typed in.
fn user_field(field: &str) -> Option<&'static str> {
    [
        "email",
        "name",
        "role",
        "time_zone",
        "language",
        "digest",
        "digest_time",
        "password",
    ]
    .into_iter()
    .find(|id| *id == field)
}

struct UserRow {
    id: i64,
    name: String,
    email: String,
    role: &'static str,
    active: bool,
    zone: String,
    is_me: bool,
}

#[derive(Template)]
#[template(path = "users.html")]
struct UsersPage {
    layout: Layout,
    users: Vec<UserRow>,
}

async fn list(State(state): State<AppState>, user: CurrentUser) -> Result<Html<String>, WebError> {
    user.require(Action::Administer, None)?;
    // The team is a handful of people: one page, no pagination.
    let users = state.engine.list_users().await?;
    let page = UsersPage {
        layout: Layout::new(&user, "Users", "users"),
        users: users
            .iter()
            .map(|u| UserRow {
                id: u.id,
                name: u.name.clone(),
                email: u.email.clone(),
                role: u.role.as_str(),
                active: u.active,
                zone: u.time_zone.clone().unwrap_or_default(),
                is_me: u.id == user.user.id,
            })
            .collect(),
    };
    Ok(Html(page.render()?))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct NewUserForm {
    email: String,
    name: String,
    role: String,
    password: String,
    /// `1`: invite them (a one-time link to choose their password) instead of creating them here.
    invite: String,
}

#[derive(Template)]
#[template(path = "users_new.html")]
struct NewUserPage {
    layout: Layout,
    form: NewUserForm,
    roles: [&'static str; 3],
    errors: FieldErrors,
}

async fn new_page(
    State(_state): State<AppState>,
    user: CurrentUser,
) -> Result<Html<String>, WebError> {
    user.require(Action::Administer, None)?;
    let page = NewUserPage {
        layout: Layout::new(&user, "New user", "users"),
        form: NewUserForm {
            role: "sales".to_string(),
            ..NewUserForm::default()
        },
        roles: ROLES,
        errors: FieldErrors::default(),
    };
    Ok(Html(page.render()?))
}

async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(form): Form<NewUserForm>,
) -> Result<Response, WebError> {
    user.require(Action::Administer, None)?;
    if form.invite == "1" {
        return invite(&state, &user, form).await;
    }
    let result = match form.role.parse::<Role>() {
        Ok(role) => {
            let password = Some(form.password.as_str()).filter(|p| !p.is_empty());
            state
                .engine
                .create_user(
                    NewUser {
                        email: form.email.clone(),
                        name: form.name.clone(),
                        role,
                        password_hash: None,
                    },
                    password,
                    &user.actor(),
                )
                .await
        }
        Err(e) => Err(e.into()),
    };
    match result {
        Ok(_) => {
            let how = if form.password.is_empty() {
                "they cannot log in until you set a password"
            } else {
                "they can log in with the password you chose"
            };
            Ok(redirect_with_notice(
                "/users",
                &format!("User {} created; {how}.", form.email.trim()),
            ))
        }
        Err(e) => {
            let (status, errors) = refusal(&user, e, "email")?;
            let page = NewUserPage {
                layout: Layout::new(&user, "New user", "users"),
                form: NewUserForm {
                    password: String::new(),
                    ..form
                },
                roles: ROLES,
                errors,
            };
            Ok(page_response(status, page.render()))
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct EditUserForm {
    name: String,
    role: String,
    active: Option<String>,
    time_zone: String,
    language: String,
    digest: String,
    digest_time: String,
}

#[derive(Template)]
#[template(path = "users_edit.html")]
struct EditUserPage {
    layout: Layout,
    id: i64,
    email: String,
    form: EditUserForm,
    active: bool,
    roles: [&'static str; 3],
    /// (code, name)
    languages: Vec<(&'static str, &'static str)>,
    is_me: bool,
    errors: FieldErrors,
    password_errors: FieldErrors,
}

impl EditUserPage {
    fn new(user: &CurrentUser, target: &User) -> EditUserPage {
        EditUserPage {
            layout: Layout::new(user, format!("User {}", target.name), "users"),
            id: target.id,
            email: target.email.clone(),
            form: EditUserForm {
                name: target.name.clone(),
                role: target.role.as_str().to_string(),
                active: None,
                time_zone: target.time_zone.clone().unwrap_or_default(),
                language: target.language.code().to_string(),
                digest: target.digest.as_str().to_string(),
                digest_time: tickler_core::digest::format_time(target.digest_time),
            },
            active: target.active,
            roles: ROLES,
            languages: crate::pages::language_choices(),
            is_me: target.id == user.user.id,
            errors: FieldErrors::default(),
            password_errors: FieldErrors::default(),
        }
    }
}

async fn edit_page(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Html<String>, WebError> {
    user.require(Action::Administer, None)?;
    let target = state.engine.user(id).await?;
    Ok(Html(EditUserPage::new(&user, &target).render()?))
}

async fn edit(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(form): Form<EditUserForm>,
) -> Result<Response, WebError> {
    user.require(Action::Administer, None)?;
    let target = state.engine.user(id).await?;
    let active = form.active.is_some();
    let result = match (
        form.role.parse::<Role>(),
        crate::pages::person_choices(&form.language, &form.digest),
    ) {
        (Ok(role), Ok((language, digest))) => {
            state
                .engine
                .update_user(
                    id,
                    UserChanges {
                        name: &form.name,
                        role,
                        active,
                        time_zone: Some(form.time_zone.as_str()),
                        language,
                        digest,
                        digest_time: Some(form.digest_time.trim()).filter(|t| !t.is_empty()),
                    },
                    &user.actor(),
                )
                .await
        }
        (Err(e), _) | (_, Err(e)) => Err(e.into()),
    };
    match result {
        Ok(()) => Ok(redirect_with_notice(
            "/users",
            &format!("User {} saved.", target.email),
        )),
        Err(e) => {
            let (status, errors) = refusal(&user, e, "role")?;
            let mut page = EditUserPage::new(&user, &target);
            page.form = form;
            page.active = active;
            page.errors = errors;
            Ok(page_response(status, page.render()))
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct PasswordForm {
    password: String,
    password_again: String,
}

async fn set_password(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(form): Form<PasswordForm>,
) -> Result<Response, WebError> {
    user.require(Action::Administer, None)?;
    let target = state.engine.user(id).await?;
    let result = if form.password != form.password_again {
        Err(refusal(
            &user,
            ValidationError::new("password", "the two passwords differ").into(),
            "password",
        )?)
    } else {
        match state
            .engine
            .set_password(id, &form.password, &user.actor())
            .await
        {
            Ok(()) => Ok(()),
            Err(e) => Err(refusal(&user, e, "password")?),
        }
    };
    match result {
        Ok(()) => Ok(redirect_with_notice(
            &format!("/users/{id}/edit"),
            &format!(
                "New password set for {}; their open sessions were ended.",
                target.email
            ),
        )),
        Err((status, errors)) => {
            let mut page = EditUserPage::new(&user, &target);
            page.password_errors = errors;
            Ok(page_response(status, page.render()))
        }
    }
}

/// Invites the person on the form: they get a one-time link to choose their own password.
async fn invite(
    state: &AppState,
    user: &CurrentUser,
    form: NewUserForm,
) -> Result<Response, WebError> {
    let invited = match form.role.parse::<Role>() {
        Ok(role) => {
            state
                .engine
                .invite_user(&form.email, &form.name, role, &user.actor())
                .await
        }
        Err(e) => Err(e.into()),
    };
    match invited {
        Ok(invitation) => {
            let notice = match &invitation.emailed {
                Ok(_) => format!(
                    "Invitation emailed to {}: their link works once, until {}.",
                    form.email.trim(),
                    crate::format::local(invitation.expires_at, &user.zone)
                ),
                Err(why) => format!(
                    "{} is invited, but the link was not emailed ({why}). Send them this \
                     link, after this site's address; it works once, until {}: {}",
                    form.email.trim(),
                    crate::format::local(invitation.expires_at, &user.zone),
                    invitation.link
                ),
            };
            Ok(redirect_with_notice("/users", &notice))
        }
        Err(e) => {
            let (status, errors) = refusal(user, e, "email")?;
            let page = NewUserPage {
                layout: Layout::new(user, "New user", "users"),
                form: NewUserForm {
                    password: String::new(),
                    ..form
                },
                roles: ROLES,
                errors,
            };
            Ok(page_response(status, page.render()))
        }
    }
}
