//! The JSON API's front door: bearer tokens made with the engine (as `tickler token create`
//! does), acting as their user; 401 with the one error shape without a good token.

mod support;

use reqwest::StatusCode;
use serde_json::Value;
use support::TestApp;
use tickler_core::user::Role;
use tickler_engine::Actor;

async fn me(app: &TestApp, authorization: Option<&str>) -> (StatusCode, Value, Option<String>) {
    let mut request = reqwest::Client::new().get(app.url("/api/v1/me"));
    if let Some(value) = authorization {
        request = request.header("Authorization", value);
    }
    let response = request.send().await.expect("request");
    let status = response.status();
    let challenge = response
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap_or_default().to_string());
    let body = response.json().await.expect("a JSON body");
    (status, body, challenge)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_acts_as_its_user_until_revoked() {
    let app = TestApp::start().await;
    let id = app.user("kim@firm.example", Role::Sales).await;
    let made = app
        .engine
        .create_token("kim@firm.example", Some("CRM sync"), &Actor::system())
        .await
        .expect("token");
    assert!(made.token.starts_with("tickler_"), "{}", made.token);

    let (status, body, _) = me(&app, Some(&format!("Bearer {}", made.token))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["email"], "kim@firm.example");
    assert_eq!(body["role"], "sales");
    assert_eq!(body["id"], id);
    let listed = app.engine.tokens(Some(id)).await.expect("tokens");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].name, "CRM sync");
    assert!(listed[0].last_used_at.is_some(), "its use is noted");

    // Without a token, with another scheme, or a wrong one: 401, the one error shape.
    for authorization in [
        None,
        Some(format!("Basic {}", made.token)),
        Some("Bearer tickler_not-a-token".to_string()),
        Some("Bearer ".to_string()),
    ] {
        let (status, body, challenge) = me(&app, authorization.as_deref()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{authorization:?}");
        assert_eq!(body["error"]["code"], "unauthorized", "{body}");
        assert!(
            body["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
        assert!(body["error"].get("field").is_some(), "{body}");
        assert_eq!(challenge.as_deref(), Some("Bearer"));
    }

    // Revoked: refused at once; revoking twice is a conflict.
    app.engine
        .revoke_token(made.id, &Actor::system())
        .await
        .expect("revoke");
    let (status, _, _) = me(&app, Some(&format!("Bearer {}", made.token))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        app.engine
            .revoke_token(made.id, &Actor::system())
            .await
            .is_err()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deactivated_users_tokens_stop_working() {
    let app = TestApp::start().await;
    let id = app.user("kim@firm.example", Role::Sales).await;
    let made = app
        .engine
        .create_token("kim@firm.example", None, &Actor::system())
        .await
        .expect("token");
    let user = app.engine.user(id).await.expect("user");
    app.engine
        .update_user(
            id,
            tickler_engine::settings::UserChanges {
                name: &user.name,
                role: user.role,
                active: false,
                time_zone: None,
                language: None,
            },
            &Actor::system(),
        )
        .await
        .expect("deactivate");
    let (status, _, _) = me(&app, Some(&format!("Bearer {}", made.token))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // And a deactivated user gets no new one.
    let refused = app
        .engine
        .create_token("kim@firm.example", None, &Actor::system())
        .await;
    assert!(refused.is_err());
}
