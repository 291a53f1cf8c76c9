use askama::Template;
use axum::{
    http::{HeaderValue, StatusCode, header},
    response::{Html, IntoResponse, Response},
};
use tickler_engine::EngineError;

/// How long a browser or client is asked to wait before trying again while the database
/// cannot be reached: long enough for a restart, short enough that nobody gives up.
const RETRY_AFTER_SECONDS: u32 = 30;

/// Why a request was refused or failed, as the page (and status) the person sees.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error("{0}")]
    BadRequest(String),
    #[error("you are not allowed to do that")]
    Forbidden,
    /// 403 with the reason shown: allowed in general, not here.
    #[error("{0}")]
    ForbiddenBecause(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("too many attempts; wait a few minutes and try again")]
    TooManyRequests,
    /// The database cannot be reached (503). What it holds is logged, never shown.
    #[error("the database cannot be reached: {0}")]
    Unavailable(String),
    /// A fault on our side (500). What it holds is logged, never shown.
    #[error("something went wrong on our side: {0}")]
    Internal(String),
}

impl WebError {
    pub fn status(&self) -> StatusCode {
        match self {
            WebError::BadRequest(_) => StatusCode::BAD_REQUEST,
            WebError::Forbidden | WebError::ForbiddenBecause(_) => StatusCode::FORBIDDEN,
            WebError::NotFound(_) => StatusCode::NOT_FOUND,
            WebError::Conflict(_) => StatusCode::CONFLICT,
            WebError::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            WebError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            WebError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// What the person is told. A fault on our side is logged with a short reference and
    /// only the reference is shown: internal text can hold table names, paths or addresses
    /// that are nobody's business, and the reference finds the log line.
    fn public_message(&self) -> String {
        let detail = match self {
            WebError::Unavailable(detail) | WebError::Internal(detail) => detail,
            _ => return self.to_string(),
        };
        let reference = reference();
        tracing::error!(%reference, status = self.status().as_u16(), error = %detail, "request failed");
        match self {
            WebError::Unavailable(_) => format!(
                "The database cannot be reached at the moment; please try again in a minute. \
                 If this goes on, tell your administrator the reference {reference}."
            ),
            _ => format!(
                "Something went wrong on our side. If this goes on, tell your administrator \
                 the reference {reference}."
            ),
        }
    }
}

/// Eight random hexadecimal digits: enough to find one log line, short enough to read out.
fn reference() -> String {
    format!("{:08x}", rand::random::<u32>())
}

impl From<EngineError> for WebError {
    fn from(e: EngineError) -> Self {
        match e {
            EngineError::Invalid(v) => WebError::BadRequest(v.to_string()),
            EngineError::NotFound { what, id } => {
                WebError::NotFound(format!("{what} {id} does not exist"))
            }
            EngineError::Conflict(message) | EngineError::Stale(message) => {
                WebError::Conflict(message)
            }
            EngineError::Forbidden(message) => WebError::ForbiddenBecause(message),
            EngineError::Link(refusal) => WebError::BadRequest(refusal.to_string()),
            EngineError::Transition(t) => WebError::Conflict(t.to_string()),
            EngineError::Template(t) => WebError::BadRequest(t.to_string()),
            EngineError::Unavailable(s) => WebError::Unavailable(s.to_string()),
            EngineError::Store(s) => WebError::Internal(format!("database error: {s}")),
            EngineError::Internal(message) => WebError::Internal(message),
        }
    }
}

impl From<askama::Error> for WebError {
    fn from(e: askama::Error) -> Self {
        WebError::Internal(format!("page template: {e}"))
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    status: u16,
    title: &'a str,
    message: String,
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let status = self.status();
        let message = self.public_message();
        let page = ErrorPage {
            status: status.as_u16(),
            title: status.canonical_reason().unwrap_or("Error"),
            message,
        };
        let mut response = match page.render() {
            Ok(html) => (status, Html(html)).into_response(),
            Err(_) => (status, page.message).into_response(),
        };
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECONDS));
        }
        response
    }
}
