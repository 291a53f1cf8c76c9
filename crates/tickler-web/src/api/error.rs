//! The API's one error shape: `{"error": {"code", "message", "field"}}` with the status that
//! says what kind of refusal it is (422 for a value refused, naming its field).

use axum::{
    Json,
    http::{HeaderValue, StatusCode, header::WWW_AUTHENTICATE},
    response::{IntoResponse, Response},
};
use serde_json::json;
use tickler_engine::EngineError;

#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    field: Option<String>,
}

impl ApiError {
    pub fn unauthorized(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::UNAUTHORIZED,
            code: "unauthorized",
            message: message.into(),
            field: None,
        }
    }
}

impl ApiError {
    pub fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::FORBIDDEN,
            code: "forbidden",
            message: message.into(),
            field: None,
        }
    }

    /// 428: an update must say which version it was made against.
    pub fn precondition_required(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::PRECONDITION_REQUIRED,
            code: "precondition_required",
            message: message.into(),
            field: Some("If-Match".to_string()),
        }
    }
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> Self {
        let (status, code, field) = match &e {
            EngineError::Invalid(v) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid",
                Some(v.field.clone()),
            ),
            EngineError::NotFound { .. } => (StatusCode::NOT_FOUND, "not_found", None),
            EngineError::Conflict(_) | EngineError::Transition(_) => {
                (StatusCode::CONFLICT, "conflict", None)
            }
            EngineError::Stale(_) => (StatusCode::PRECONDITION_FAILED, "precondition_failed", None),
            EngineError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden", None),
            EngineError::Link(_) => (StatusCode::NOT_FOUND, "not_found", None),
            EngineError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable", None),
            EngineError::Template(_) | EngineError::Store(_) | EngineError::Internal(_) => {
                tracing::error!(error = %e, "API request failed");
                (StatusCode::INTERNAL_SERVER_ERROR, "internal", None)
            }
        };
        let message = match status {
            // The database's or a library's words are for the log, not for the caller.
            StatusCode::INTERNAL_SERVER_ERROR => "Tickler failed; the log says why".to_string(),
            StatusCode::SERVICE_UNAVAILABLE => {
                "the database cannot be reached; try again shortly".to_string()
            }
            _ => match &e {
                EngineError::Invalid(v) => v.message.clone(),
                other => other.to_string(),
            },
        };
        ApiError {
            status,
            code,
            message,
            field,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({
            "error": {"code": self.code, "message": self.message, "field": self.field}
        });
        let mut response = (self.status, Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}
