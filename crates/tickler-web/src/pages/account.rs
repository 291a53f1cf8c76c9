//! The logged-in person's own account: changing their password, with the current one.

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
use tickler_engine::{EngineError, passwords::MIN_LENGTH};

use crate::{
    AppState, WebError,
    auth::{CurrentUser, SESSION_COOKIE},
    client::Client,
    pages::Layout,
};

pub fn routes() -> Router<AppState> {
    Router::new().route(
        "/account/password",
        get(password_page).post(change_password),
    )
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
