//! A person's own account over real HTTP: changing their password with the current one, which
//! ends their other sessions and keeps this one; common and short passwords refused wherever
//! a password is set.

mod support;

use reqwest::{Client, StatusCode};
use support::{PASSWORD, TestApp, admin, client, csrf_of, get, location, post};
use tickler_core::user::Role;

const SAM: &str = "sam@firm.example";
const NEW_PASSWORD: &str = "seven quiet renewals in march";

/// Submits the password form in `browser`; the status and the page.
async fn change(
    browser: &Client,
    app: &TestApp,
    current: &str,
    new: &str,
    again: &str,
) -> (StatusCode, String) {
    let response = post(
        browser,
        app,
        "/account/password",
        "/account/password",
        &[
            ("current_password", current),
            ("new_password", new),
            ("new_password_again", again),
        ],
    )
    .await;
    let status = response.status();
    (status, response.text().await.unwrap())
}

/// Logs in from a fresh browser; the status (303 when the password was right).
async fn log_in(app: &TestApp, password: &str) -> StatusCode {
    let browser = client();
    let (_, page) = get(&browser, app, "/login").await;
    browser
        .post(app.url("/login"))
        .form(&[
            ("csrf", csrf_of(&page).as_str()),
            ("email", SAM),
            ("password", password),
        ])
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_user_changes_their_own_password_and_their_other_sessions_end() {
    let app = TestApp::start().await;
    app.user(SAM, Role::Sales).await;
    let laptop = app.login(SAM).await;
    let phone = app.login(SAM).await;

    let (status, page) = get(&laptop, &app, "/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("href=\"/account\""), "{page}");
    let (_, account) = get(&laptop, &app, "/account").await;
    assert!(account.contains("href=\"/account/password\""), "{account}");

    for (current, new, again, says) in [
        (
            "not my password",
            NEW_PASSWORD,
            NEW_PASSWORD,
            "The current password is not right.",
        ),
        (
            PASSWORD,
            "password123",
            "password123",
            "one of the most common passwords",
        ),
        (
            PASSWORD,
            "Qwertyuiop",
            "Qwertyuiop",
            "one of the most common passwords",
        ),
        (PASSWORD, "short", "short", "at least 10 characters"),
        (
            PASSWORD,
            NEW_PASSWORD,
            "something else entirely",
            "The two new passwords differ.",
        ),
    ] {
        let (status, page) = change(&laptop, &app, current, new, again).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{new}: {page}");
        assert!(page.contains(says), "{says}:\n{page}");
    }
    // Nothing changed: both sessions live, the old password works.
    for browser in [&laptop, &phone] {
        assert_eq!(get(browser, &app, "/").await.0, StatusCode::OK);
    }

    let (status, page) = change(&laptop, &app, PASSWORD, NEW_PASSWORD, NEW_PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("Your password is changed"), "{page}");
    assert_eq!(
        get(&laptop, &app, "/").await.0,
        StatusCode::OK,
        "this session stays"
    );
    let ended = phone.get(app.url("/")).send().await.unwrap();
    assert_eq!(
        ended.status(),
        StatusCode::SEE_OTHER,
        "the other session ended"
    );
    assert!(location(&ended).starts_with("/login"));

    assert_eq!(log_in(&app, PASSWORD).await, StatusCode::UNAUTHORIZED);
    assert_eq!(log_in(&app, NEW_PASSWORD).await, StatusCode::SEE_OTHER);
}

#[tokio::test(flavor = "multi_thread")]
async fn nobody_logged_out_reaches_the_password_page() {
    let app = TestApp::start().await;
    app.user(SAM, Role::Sales).await;
    let stranger = client();
    let response = stranger
        .get(app.url("/account/password"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(location(&response).starts_with("/login"));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_admin_cannot_give_a_new_user_a_common_password() {
    let app = TestApp::start().await;
    let admin = admin(&app).await;
    let response = post(
        &admin,
        &app,
        "/users/new",
        "/users",
        &[
            ("email", "kim@firm.example"),
            ("name", "Kim"),
            ("role", "sales"),
            ("password", "letmein123"),
        ],
    )
    .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let page = response.text().await.unwrap();
    assert!(page.contains("most common passwords"), "{page}");
    assert!(
        app.engine
            .user_by_email("kim@firm.example")
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn guesses_at_the_current_password_are_throttled_like_logins() {
    // A stopped clock: the throttle's delays are exact.
    let app = TestApp::start_at("2027-03-01T07:00:00Z".parse().unwrap()).await;
    app.user(SAM, Role::Sales).await;
    let thief = app.login(SAM).await;
    let mut answers = Vec::new();
    for _ in 0..8 {
        let (status, page) = change(&thief, &app, "a guess", NEW_PASSWORD, NEW_PASSWORD).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        answers.push(page.contains("too many times"));
    }
    // Five free guesses, two slowed down, then refused without a look.
    assert_eq!(
        answers,
        [false, false, false, false, false, false, false, true]
    );
    let (_, page) = change(&thief, &app, PASSWORD, NEW_PASSWORD, NEW_PASSWORD).await;
    assert!(page.contains("too many times"), "{page}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_user_sets_their_own_time_zone_and_pages_use_it() {
    let app = TestApp::start().await;
    let id = app.user(SAM, Role::Sales).await;
    let sam = app.login(SAM).await;
    let (status, page) = get(&sam, &app, "/account").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("<option value=\"Asia/Tokyo\">"),
        "the zone picker"
    );

    let refused = support::post(
        &sam,
        &app,
        "/account",
        "/account",
        &[("name", "Sam Sales"), ("time_zone", "Mars/Olympus")],
    )
    .await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    let page = refused.text().await.expect("page");
    assert!(
        page.contains("<p class=\"field-error\" id=\"time_zone-error\">"),
        "beside the field: {page}"
    );
    assert!(page.contains("aria-invalid=\"true\""), "{page}");

    let saved = support::post(
        &sam,
        &app,
        "/account",
        "/account",
        &[("name", "Sam Sales"), ("time_zone", "Asia/Tokyo")],
    )
    .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let user = app.engine.user(id).await.expect("user");
    assert_eq!(user.time_zone.as_deref(), Some("Asia/Tokyo"));
    let (_, page) = get(&sam, &app, "/").await;
    assert!(page.contains("Times in Asia/Tokyo"), "{page}");
}
