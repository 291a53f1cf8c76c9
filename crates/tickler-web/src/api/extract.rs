//! axum's `Path` and `Query`, refusing in the API's one error shape (422 naming the
//! parameter) instead of axum's plain-text 400, so that a client parses every refusal the
//! same way and the OpenAPI document tells the truth about them.

use axum::{
    extract::{FromRequestParts, Path, Query},
    http::request::Parts,
};
use serde::de::DeserializeOwned;
use tickler_core::ValidationError;
use tickler_engine::EngineError;

use super::ApiError;

/// The `{id}` of a path such as `/api/v1/contracts/{id}`.
pub struct IdPath(pub i64);

impl<S: Send + Sync> FromRequestParts<S> for IdPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Path::<i64>::from_request_parts(parts, state).await {
            Ok(Path(id)) => Ok(IdPath(id)),
            Err(_) => Err(invalid(
                "id",
                "must be a whole number, the id this API gave",
            )),
        }
    }
}

/// A query string read into `T`.
pub struct ApiQuery<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(value)) => Ok(ApiQuery(value)),
            Err(rejection) => {
                let text = rejection.body_text();
                let (field, reason) = refused_parameter(&text);
                Err(invalid(field, &format!("is not as documented: {reason}")))
            }
        }
    }
}

/// The parameter and reason in axum's words for a query it could not read: "Failed to
/// deserialize query string: limit: invalid digit found in string" names `limit`, and
/// "...: duplicate field `q`" names `q`; "query" when they name none.
fn refused_parameter(text: &str) -> (&str, &str) {
    let is_name = |name: &str| {
        !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    };
    let detail = text
        .split_once(": ")
        .map_or(text, |(_, detail)| detail)
        .trim();
    if let Some((name, reason)) = detail.split_once(": ")
        && is_name(name)
    {
        return (name, reason);
    }
    match detail.split('`').nth(1) {
        Some(name) if is_name(name) => (name, detail),
        _ => ("query", detail),
    }
}

fn invalid(field: &str, message: &str) -> ApiError {
    EngineError::Invalid(ValidationError::new(field, message)).into()
}

#[cfg(test)]
mod tests {
    use super::refused_parameter;

    #[test]
    fn the_refused_parameter_is_named_when_axum_names_it() {
        assert_eq!(
            refused_parameter(
                "Failed to deserialize query string: limit: invalid digit found in string"
            ),
            ("limit", "invalid digit found in string")
        );
        assert_eq!(
            refused_parameter("Failed to deserialize query string: duplicate field `q`"),
            ("q", "duplicate field `q`")
        );
        assert_eq!(
            refused_parameter("Failed to deserialize query string: expected something"),
            ("query", "expected something")
        );
    }
}
