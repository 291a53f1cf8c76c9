//! The JSON API under `/api/v1`, for other programs: each request carries a bearer token
//! (`tickler token create`), acts as the token's user with their role, and every refusal
//! has one shape, `{"error": {"code", "message", "field"}}`. Handlers call the same engine
//! functions as the pages and the CLI.

mod error;
mod resources;

use axum::{
    Json, Router,
    extract::FromRequestParts,
    http::{header::AUTHORIZATION, request::Parts},
    routing::get,
};
use serde::Serialize;
use tickler_core::access::Viewer;
use tickler_engine::browse::User;

pub use error::ApiError;

use crate::AppState;

/// Where the API's paths start.
pub const PREFIX: &str = "/api/";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/me", get(me))
        .merge(resources::routes())
}

/// The user a request's bearer token acts as.
pub struct ApiUser {
    pub user: User,
    pub viewer: Viewer,
}

impl FromRequestParts<AppState> for ApiUser {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .unwrap_or("");
        let token = match header.split_once(' ') {
            Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token.trim(),
            _ => {
                return Err(ApiError::unauthorized(
                    "send the header Authorization: Bearer TOKEN (make a token with \
                     `tickler token create` or on your account page)",
                ));
            }
        };
        match state.engine.user_for_token(token).await? {
            Some(user) => Ok(ApiUser {
                viewer: Viewer {
                    user_id: user.id,
                    role: user.role,
                },
                user,
            }),
            None => Err(ApiError::unauthorized(
                "the token is unknown or revoked, or its user is deactivated",
            )),
        }
    }
}

/// Who the token acts as.
#[derive(Serialize)]
struct Me {
    id: i64,
    email: String,
    name: String,
    role: &'static str,
    time_zone: Option<String>,
    language: &'static str,
}

async fn me(api: ApiUser) -> Json<Me> {
    let user = api.user;
    Json(Me {
        id: user.id,
        email: user.email,
        name: user.name,
        role: user.role.as_str(),
        time_zone: user.time_zone,
        language: user.language.code(),
    })
}
