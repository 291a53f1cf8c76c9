//! The pages a customer reaches from a renewal email's one-click links: no login, one
//! question, one button. A GET only shows the question; the button's POST answers it, once.

use std::time::Instant;

use askama::Template;
use axum::{
    Router,
    extract::{Path, Request, State},
    http::StatusCode,
    middleware::Next,
    response::{Html, IntoResponse, Response},
    routing::get,
};
use tickler_core::answer_link::{LinkAction, LinkError};
use tickler_engine::{
    EngineError,
    answers::{LinkPage, LinkRefusal},
};

use crate::{AppState, WebError};

/// Where the links point: `/answer/{token}` (the engine builds them the same way).
pub const ANSWER_PREFIX: &str = "/answer/";

pub fn routes() -> Router<AppState> {
    Router::new().route("/answer/{token}", get(show).post(confirm))
}

/// Whether a request is for a public page: the security guard lets their POST through
/// without a session's form token, since the signed token in the path is the capability.
pub fn is_public_answer(path: &str) -> bool {
    path.starts_with(ANSWER_PREFIX)
}

/// Refuses a client that asks for public pages too often (429, with the app's headers).
pub async fn limit(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if is_public_answer(request.uri().path()) {
        // Behind a proxy, the client the proxy vouches for: not the proxy, which every
        // customer would share.
        let client =
            crate::client::Client::of_request(request.extensions(), request.headers(), &state)
                .address;
        if !state.public_limiter.allow(client, Instant::now()) {
            tracing::warn!(%client, "public page rate limit reached");
            return WebError::TooManyRequests.into_response();
        }
    }
    next.run(request).await
}

#[derive(Template)]
#[template(path = "answer.html")]
struct AnswerPage {
    organisation: String,
    heading: String,
    contract: String,
    customer: String,
    term: String,
    notice_date: Option<String>,
    /// For a quote: its number, total and validity.
    quote: Option<(String, String, String)>,
    question: String,
    button: String,
    /// Shown instead of the button when the question is settled.
    decided: Option<String>,
    /// Shown after the button was pressed.
    done: Option<String>,
}

#[derive(Template)]
#[template(path = "answer_refused.html")]
struct RefusedPage {
    heading: &'static str,
    message: String,
}

async fn show(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Response, WebError> {
    match state.engine.inspect_link(&token).await {
        Ok(page) => Ok(render(&page, None)?),
        Err(e) => refused(e),
    }
}

async fn confirm(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Response, WebError> {
    match state.engine.confirm_link(&token).await {
        Ok(outcome) => {
            let done = outcome.changed.then(|| thanks(outcome.page.action));
            Ok(render(&outcome.page, done)?)
        }
        Err(e) => refused(e),
    }
}

fn render(page: &LinkPage, done: Option<String>) -> Result<Response, WebError> {
    let (heading, question, button) = wording(page.action);
    let html = AnswerPage {
        organisation: page.organisation.clone(),
        heading: heading.to_string(),
        contract: page.contract_title.clone(),
        customer: page.customer.clone(),
        term: format!("{} to {}", page.term_start, page.term_end),
        notice_date: page.notice_date.map(|d| d.to_string()),
        quote: page
            .quote
            .as_ref()
            .map(|q| (q.number.clone(), q.total.clone(), q.valid_until.to_string())),
        question: question.to_string(),
        button: button.to_string(),
        decided: if done.is_some() {
            None
        } else {
            page.decided.as_ref().map(|d| d.summary.clone())
        },
        done,
    }
    .render()?;
    Ok((
        [(axum::http::header::CACHE_CONTROL, "no-store")],
        Html(html),
    )
        .into_response())
}

fn wording(action: LinkAction) -> (&'static str, &'static str, &'static str) {
    match action {
        LinkAction::Renew => (
            "Renew your contract",
            "Would you like to renew this contract for another term, on the same terms?",
            "Yes, renew",
        ),
        LinkAction::Decline => (
            "Do not renew",
            "You are telling us you do not wish to renew this contract. We will stop the \
             renewal reminders.",
            "Confirm: do not renew",
        ),
        LinkAction::Quote => (
            "Ask for a renewal quote",
            "Would you like us to send you a quote for the next term before you decide?",
            "Yes, send me a quote",
        ),
        LinkAction::AcceptQuote => (
            "Accept the quote",
            "Would you like to accept this renewal quote?",
            "Accept the quote",
        ),
        LinkAction::DeclineQuote => (
            "Decline the quote",
            "You are declining this renewal quote.",
            "Confirm: decline the quote",
        ),
    }
}

fn thanks(action: LinkAction) -> String {
    match action {
        LinkAction::Renew => "Thank you: your contract is renewed. We have let your contact know.",
        LinkAction::Decline => {
            "Thank you for letting us know. You will receive no more renewal reminders."
        }
        LinkAction::Quote => "Thank you: we are preparing a renewal quote and will send it soon.",
        LinkAction::AcceptQuote => "Thank you: the quote is accepted and your next term is set.",
        LinkAction::DeclineQuote => "Thank you for letting us know; the quote is declined.",
    }
    .to_string()
}

/// A link that opens no question: a clear page, with the status a browser and a checker can
/// tell apart, and nothing changed.
fn refused(e: EngineError) -> Result<Response, WebError> {
    let (status, heading, message) = match e {
        EngineError::Link(LinkRefusal::Invalid(LinkError::Expired { on })) => (
            StatusCode::GONE,
            "This link has expired",
            format!(
                "This link stopped working after {}. Please reply to the email you received, \
                 or contact us, and we will be glad to help.",
                on
            ),
        ),
        EngineError::Link(LinkRefusal::Invalid(_)) => (
            StatusCode::BAD_REQUEST,
            "This link is not valid",
            "This link is not one we sent, or part of it is missing. Please open it again \
             from the email (some mail programs cut long links), or reply to the email."
                .to_string(),
        ),
        EngineError::Link(LinkRefusal::Gone(what)) => (
            StatusCode::NOT_FOUND,
            "This link no longer leads anywhere",
            format!("{what} it was about no longer exists. Please reply to the email."),
        ),
        EngineError::NotFound { .. } => (
            StatusCode::NOT_FOUND,
            "This link no longer leads anywhere",
            "What it was about no longer exists. Please reply to the email.".to_string(),
        ),
        EngineError::Conflict(message) => (StatusCode::CONFLICT, "Nothing to do", message),
        other => return Err(other.into()),
    };
    let html = RefusedPage { heading, message }.render()?;
    Ok((status, Html(html)).into_response())
}
