use askama::Template;
use axum::{
    http::StatusCode,
    response::{Html, IntoResponse, Response},
};
use tickler_engine::EngineError;

/// Why a request was refused or failed, as the page (and status) the person sees.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error("{0}")]
    BadRequest(String),
    #[error("you are not allowed to do that")]
    Forbidden,
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("too many attempts; wait a few minutes and try again")]
    TooManyRequests,
    #[error("something went wrong on our side: {0}")]
    Internal(String),
}

impl WebError {
    pub fn status(&self) -> StatusCode {
        match self {
            WebError::BadRequest(_) => StatusCode::BAD_REQUEST,
            WebError::Forbidden => StatusCode::FORBIDDEN,
            WebError::NotFound(_) => StatusCode::NOT_FOUND,
            WebError::Conflict(_) => StatusCode::CONFLICT,
            WebError::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            WebError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<EngineError> for WebError {
    fn from(e: EngineError) -> Self {
        match e {
            EngineError::Invalid(v) => WebError::BadRequest(v.to_string()),
            EngineError::NotFound { what, id } => {
                WebError::NotFound(format!("{what} {id} does not exist"))
            }
            EngineError::Conflict(message) => WebError::Conflict(message),
            EngineError::Transition(t) => WebError::Conflict(t.to_string()),
            EngineError::Template(t) => WebError::BadRequest(t.to_string()),
            EngineError::Store(s) => {
                tracing::error!(error = %s, "database error");
                WebError::Internal("the database could not be reached".to_string())
            }
        }
    }
}

impl From<tickler_store::StoreError> for WebError {
    fn from(e: tickler_store::StoreError) -> Self {
        WebError::from(EngineError::from(e))
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
        let page = ErrorPage {
            status: status.as_u16(),
            title: status.canonical_reason().unwrap_or("Error"),
            message: self.to_string(),
        };
        match page.render() {
            Ok(html) => (status, Html(html)).into_response(),
            Err(_) => (status, self.to_string()).into_response(),
        }
    }
}
