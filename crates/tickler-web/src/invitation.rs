//! The page an invited member of the team opens from their link, to choose their password.
//! Public (they cannot log in yet); the link works once, for 72 hours.

use askama::Template;
use axum::{
    Form, Router,
    extract::{Path, State},
    http::StatusCode,
    response::{Html, IntoResponse, Response},
    routing::get,
};
use axum_extra::extract::cookie::CookieJar;
use serde::Deserialize;
use tickler_engine::{EngineError, passwords::MIN_LENGTH};

use crate::{AppState, WebError, auth::pre_session_token};

pub fn routes() -> Router<AppState> {
    Router::new().route("/invite/{token}", get(show).post(accept))
}

#[derive(Template)]
#[template(path = "invitation.html")]
struct InvitationPage {
    csrf: String,
    token: String,
    name: String,
    email: String,
    min_length: usize,
    error: Option<String>,
    /// The password is set: the page says so and links to the login.
    done: bool,
}

async fn show(
    State(state): State<AppState>,
    jar: CookieJar,
    Path(token): Path<String>,
) -> Result<Response, WebError> {
    let person = state.engine.open_invitation(&token).await?;
    let (jar, csrf) = pre_session_token(&state, jar);
    let page = InvitationPage {
        csrf,
        token,
        name: person.name,
        email: person.email,
        min_length: MIN_LENGTH,
        error: None,
        done: false,
    };
    Ok((jar, Html(page.render()?)).into_response())
}

#[derive(Deserialize)]
struct PasswordForm {
    password: String,
    password_again: String,
}

async fn accept(
    State(state): State<AppState>,
    jar: CookieJar,
    Path(token): Path<String>,
    Form(form): Form<PasswordForm>,
) -> Result<Response, WebError> {
    let person = state.engine.open_invitation(&token).await?;
    let refuse = |jar: CookieJar, error: String| -> Result<Response, WebError> {
        let (jar, csrf) = pre_session_token(&state, jar);
        let page = InvitationPage {
            csrf,
            token: token.clone(),
            name: person.name.clone(),
            email: person.email.clone(),
            min_length: MIN_LENGTH,
            error: Some(error),
            done: false,
        };
        Ok((StatusCode::BAD_REQUEST, jar, Html(page.render()?)).into_response())
    };
    if form.password != form.password_again {
        return refuse(jar, "The two passwords differ.".to_string());
    }
    match state.engine.accept_invitation(&token, &form.password).await {
        Ok(_) => {
            let page = InvitationPage {
                csrf: String::new(),
                token: String::new(),
                name: person.name,
                email: person.email,
                min_length: MIN_LENGTH,
                error: None,
                done: true,
            };
            Ok(Html(page.render()?).into_response())
        }
        Err(EngineError::Invalid(refusal)) => {
            refuse(jar, format!("The password {}.", refusal.message))
        }
        Err(other) => Err(other.into()),
    }
}
