//! One-line confirmations after an action ("Contract entered."), carried by the session
//! and shown once by the next page. Never by the URL: a `?notice=` link could make any
//! page say anything ("Session expired, call +1 ...") in the app's own voice.
//!
//! A handler answers with [`crate::pages::redirect_with_notice`], which marks its response;
//! [`keep`] stores the mark in the requester's session; the next page's `CurrentUser` takes
//! it (GET only) and `Layout` shows it.

use axum::{
    extract::{Request, State},
    middleware::Next,
    response::Response,
};
use axum_extra::extract::cookie::CookieJar;

use crate::{AppState, auth::SESSION_COOKIE};

/// A notice a handler's response asks to be shown on the next page.
#[derive(Debug, Clone)]
pub(crate) struct Notice(pub String);

/// Moves a response's [`Notice`] into the session of the request's cookie. Without a
/// session there is nobody to show it to, and it is dropped.
pub async fn keep(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let token = CookieJar::from_headers(request.headers())
        .get(SESSION_COOKIE)
        .map(|cookie| cookie.value().to_string());
    let mut response = next.run(request).await;
    if let (Some(Notice(notice)), Some(token)) = (response.extensions_mut().remove(), token)
        && let Err(e) = state.engine.set_notice(&token, &notice).await
    {
        // The action itself is done; only its confirmation is lost.
        tracing::warn!(error = %e, "the notice could not be kept for the next page");
    }
    response
}
