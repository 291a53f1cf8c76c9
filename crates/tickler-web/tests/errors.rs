//! The one error-to-HTTP mapping: what a person is told for each kind of engine error.

use axum::{
    http::{StatusCode, header},
    response::IntoResponse,
};
use tickler_core::ValidationError;
use tickler_engine::EngineError;
use tickler_store::StoreError;
use tickler_web::WebError;

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
        "cannot open database postgres://db.internal:5432/tickler: connection refused".to_string(),
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
