//! The logged-in person's API tokens (`/account/tokens`): make one (shown once, on the page
//! that answers the form, never kept in the session), see when each was last used, revoke
//! one.

use askama::Template;
use axum::{
    Form, Router,
    extract::{Path, State},
    http::StatusCode,
    response::{Html, IntoResponse, Response},
    routing::{get, post},
};
use serde::Deserialize;
use tickler_engine::EngineError;

use crate::{
    AppState, WebError,
    auth::CurrentUser,
    field_errors::FieldErrors,
    format,
    pages::{Layout, redirect_with_notice},
};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/account/tokens", get(tokens_page).post(create))
        .route("/account/tokens/{id}/revoke", post(revoke))
}

struct TokenRow {
    id: i64,
    name: String,
    made: String,
    last_used: String,
    /// Empty while it works.
    revoked: String,
}

#[derive(Template)]
#[template(path = "account_tokens.html")]
struct TokensPage {
    layout: Layout,
    tokens: Vec<TokenRow>,
    /// The token just made: shown this once.
    made: Option<String>,
    name: String,
    errors: FieldErrors,
}

async fn page(
    state: &AppState,
    user: &CurrentUser,
    made: Option<String>,
    name: String,
    errors: FieldErrors,
) -> Result<TokensPage, WebError> {
    let tokens = state
        .engine
        .tokens(Some(user.user.id))
        .await?
        .into_iter()
        .map(|t| TokenRow {
            id: t.id,
            name: t.name,
            made: format::local(t.created_at, &user.zone),
            last_used: t
                .last_used_at
                .map_or_else(|| "never".to_string(), |at| format::local(at, &user.zone)),
            revoked: t
                .revoked_at
                .map(|at| format::local(at, &user.zone))
                .unwrap_or_default(),
        })
        .collect();
    Ok(TokensPage {
        layout: Layout::new(user, "Your API tokens", "account"),
        tokens,
        made,
        name,
        errors,
    })
}

async fn tokens_page(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Html<String>, WebError> {
    let shown = page(&state, &user, None, String::new(), FieldErrors::default()).await?;
    Ok(Html(shown.render()?))
}

#[derive(Deserialize)]
struct NewTokenForm {
    #[serde(default)]
    name: String,
}

async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(form): Form<NewTokenForm>,
) -> Result<Response, WebError> {
    let made = state
        .engine
        .create_token(&user.user.email, Some(&form.name), &user.actor())
        .await;
    match made {
        // Answered here, not by a redirect: the token must not wait in the session.
        Ok(made) => {
            let shown = page(
                &state,
                &user,
                Some(made.token),
                String::new(),
                FieldErrors::default(),
            )
            .await?;
            Ok(Html(shown.render()?).into_response())
        }
        Err(EngineError::Invalid(refusal)) => {
            let errors = FieldErrors::of(
                Some(&refusal),
                |field| (field == "name").then_some("name"),
                user.user.language,
            );
            let shown = page(&state, &user, None, form.name, errors).await?;
            Ok((StatusCode::BAD_REQUEST, Html(shown.render()?)).into_response())
        }
        Err(other) => Err(other.into()),
    }
}

async fn revoke(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    // Someone else's token is not found here, as if it did not exist.
    let token = state.engine.token(id).await?;
    if token.user_id != user.user.id {
        return Err(WebError::NotFound(format!("API token {id}")));
    }
    state.engine.revoke_token(id, &user.actor()).await?;
    Ok(redirect_with_notice(
        "/account/tokens",
        &format!("Token \"{}\" revoked: it no longer works.", token.name),
    ))
}
