//! The API's one error shape: `{"error": {"code", "message", "field"}}` with the status that
//! says what kind of refusal it is (422 for a value refused, naming its field).

use axum::{
    Json,
    http::{HeaderValue, StatusCode, header::WWW_AUTHENTICATE},
    response::{IntoResponse, Response},
};
use serde::Serialize;
use tickler_engine::EngineError;
use utoipa::ToSchema;

/// The body of every refusal.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    error: ErrorDetail,
}

/// The kind of refusal, for programs to branch on; each goes with one status.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// 401: no token, or one that is unknown or revoked.
    Unauthorized,
    /// 403: the token's user's role may not do this.
    Forbidden,
    /// 404
    NotFound,
    /// 409: the resource is not in a state that allows this.
    Conflict,
    /// 412: the `If-Match` version is no longer the current one.
    PreconditionFailed,
    /// 422: a value refused; `field` names it.
    Invalid,
    /// 428: an update without `If-Match`.
    PreconditionRequired,
    /// 503: the database cannot be reached.
    Unavailable,
    /// 500
    Internal,
}

/// What was refused and why.
#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    code: ErrorCode,
    /// Words for a person, in English.
    message: String,
    /// The field, query parameter or header refused, where there is one.
    #[schema(required = true)]
    field: Option<String>,
}

#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: ErrorCode,
    message: String,
    field: Option<String>,
}

impl ApiError {
    pub fn unauthorized(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::UNAUTHORIZED,
            code: ErrorCode::Unauthorized,
            message: message.into(),
            field: None,
        }
    }
}

impl ApiError {
    pub fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::FORBIDDEN,
            code: ErrorCode::Forbidden,
            message: message.into(),
            field: None,
        }
    }

    /// 428: an update must say which version it was made against.
    pub fn precondition_required(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::PRECONDITION_REQUIRED,
            code: ErrorCode::PreconditionRequired,
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
                ErrorCode::Invalid,
                Some(v.field.clone()),
            ),
            EngineError::NotFound { .. } => (StatusCode::NOT_FOUND, ErrorCode::NotFound, None),
            EngineError::Conflict(_) | EngineError::Transition(_) => {
                (StatusCode::CONFLICT, ErrorCode::Conflict, None)
            }
            EngineError::Stale(_) => (
                StatusCode::PRECONDITION_FAILED,
                ErrorCode::PreconditionFailed,
                None,
            ),
            EngineError::Forbidden(_) => (StatusCode::FORBIDDEN, ErrorCode::Forbidden, None),
            EngineError::Link(_) => (StatusCode::NOT_FOUND, ErrorCode::NotFound, None),
            EngineError::Unavailable(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::Unavailable,
                None,
            ),
            EngineError::Template(_) | EngineError::Store(_) | EngineError::Internal(_) => {
                tracing::error!(error = %e, "API request failed");
                (StatusCode::INTERNAL_SERVER_ERROR, ErrorCode::Internal, None)
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
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code,
                message: self.message,
                field: self.field,
            },
        };
        let mut response = (self.status, Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}
