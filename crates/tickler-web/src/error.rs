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
            WebError::Forbidden => StatusCode::FORBIDDEN,
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
            EngineError::Conflict(message) => WebError::Conflict(message),
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

#[cfg(test)]
mod tests {
    use tickler_core::ValidationError;
    use tickler_store::StoreError;

    use super::*;

    async fn answer(error: EngineError) -> (StatusCode, Option<String>, String) {
        let response = WebError::from(error).into_response();
        let status = response.status();
        let retry = response
            .headers()
            .get(header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .expect("body");
        (status, retry, String::from_utf8_lossy(&body).into_owned())
    }

    #[tokio::test]
    async fn an_unreachable_database_is_503_with_retry_after_and_no_internal_text() {
        let lost = StoreError::Unavailable(
            "cannot open database postgres://db.internal:5432/tickler: connection refused"
                .to_string(),
        );
        let (status, retry, body) = answer(EngineError::from(lost)).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(retry.as_deref(), Some("30"));
        assert!(body.contains("cannot be reached"), "{body}");
        assert!(body.contains("reference "), "{body}");
        assert!(!body.contains("db.internal"), "{body}");
    }

    #[tokio::test]
    async fn other_failures_are_500_with_a_reference_only() {
        for error in [
            EngineError::Internal("could not hash the password: argon2 says no".to_string()),
            EngineError::from(StoreError::Corrupt("reminders.send_at = -1".to_string())),
        ] {
            let (status, retry, body) = answer(error).await;
            assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
            assert_eq!(retry, None);
            assert!(body.contains("Something went wrong on our side"), "{body}");
            assert!(
                !body.contains("argon2") && !body.contains("send_at"),
                "{body}"
            );
            let reference = body
                .split("reference ")
                .nth(1)
                .and_then(|rest| rest.get(..8))
                .expect("a reference");
            assert!(reference.chars().all(|c| c.is_ascii_hexdigit()), "{body}");
        }
    }

    #[tokio::test]
    async fn what_the_person_did_wrong_is_still_said() {
        let (status, _, body) =
            answer(ValidationError::new("email", "is not an email address").into()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(body.contains("is not an email address"), "{body}");
    }
}
