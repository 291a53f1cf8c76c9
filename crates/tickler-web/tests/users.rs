//! The users pages over real HTTP: admins create users, change roles, deactivate and set
//! passwords; changes end sessions at once; the last active admin stays; other roles get 403.

mod support;

use reqwest::StatusCode;
use support::{PASSWORD, TestApp, client, csrf_of, get, location, post};
use tickler_core::user::Role;

const ADMIN: &str = "ada@firm.example";

/// Tries to log in with `password`; the status of the attempt (303 when it worked).
async fn try_login(app: &TestApp, email: &str, password: &str) -> StatusCode {
    let browser = client();
    let (_, page) = get(&browser, app, "/login").await;
    let csrf = csrf_of(&page);
    browser
        .post(app.url("/login"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("email", email),
            ("password", password),
            ("next", "/"),
        ])
        .send()
        .await
        .expect("POST /login")
        .status()
}

fn edit_fields<'a>(
    name: &'a str,
    role: &'a str,
    active: bool,
    zone: &'a str,
) -> Vec<(&'a str, &'a str)> {
    let mut fields = vec![("name", name), ("role", role), ("time_zone", zone)];
    if active {
        fields.push(("active", "1"));
    }
    fields
}

#[tokio::test(flavor = "multi_thread")]
async fn admins_list_and_create_users_with_or_without_a_password() {
    let app = TestApp::start().await;
    app.user(ADMIN, Role::Admin).await;
    let admin = app.login(ADMIN).await;
    let (status, page) = get(&admin, &app, "/users").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(ADMIN) && page.contains("(you)"), "{page}");
    let (status, form) = get(&admin, &app, "/users/new").await;
    assert_eq!(status, StatusCode::OK);
    assert!(form.contains("name=\"password\"") && form.contains("<label for=\"role\">"));

    let created = post(
        &admin,
        &app,
        "/users/new",
        "/users",
        &[
            ("email", "Sam@Firm.example"),
            ("name", "Sam Seller"),
            ("role", "sales"),
            ("password", PASSWORD),
        ],
    )
    .await;
    assert_eq!(created.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&created), "/users");
    let (_, list) = get(&admin, &app, &location(&created)).await;
    assert!(
        list.contains("Sam Seller") && list.contains("created"),
        "{list}"
    );
    assert_eq!(
        try_login(&app, "sam@firm.example", PASSWORD).await,
        StatusCode::SEE_OTHER
    );
    let sam = app
        .engine
        .user_by_email("sam@firm.example")
        .await
        .unwrap()
        .expect("created");
    assert_eq!(sam.role, Role::Sales);

    let invited = post(
        &admin,
        &app,
        "/users/new",
        "/users",
        &[
            ("email", "vic@firm.example"),
            ("name", "Vic Viewer"),
            ("role", "viewer"),
            ("password", ""),
        ],
    )
    .await;
    assert_eq!(invited.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&invited), "/users");
    let (_, list) = get(&admin, &app, "/users").await;
    assert!(list.contains("set a password"), "the notice: {list}");
    assert_eq!(
        try_login(&app, "vic@firm.example", "").await,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_new_users_are_refused_naming_the_field_and_nothing_is_created() {
    let app = TestApp::start().await;
    app.user(ADMIN, Role::Admin).await;
    let admin = app.login(ADMIN).await;
    for (fields, status, named) in [
        (
            [
                ("email", "not-an-address"),
                ("name", "X"),
                ("role", "sales"),
                ("password", ""),
            ],
            StatusCode::BAD_REQUEST,
            "email",
        ),
        (
            [
                ("email", "short@firm.example"),
                ("name", "Short"),
                ("role", "sales"),
                ("password", "short"),
            ],
            StatusCode::BAD_REQUEST,
            "password",
        ),
        (
            [
                ("email", "norole@firm.example"),
                ("name", "No Role"),
                ("role", "owner"),
                ("password", ""),
            ],
            StatusCode::BAD_REQUEST,
            "role",
        ),
        (
            [
                ("email", "noname@firm.example"),
                ("name", "  "),
                ("role", "sales"),
                ("password", ""),
            ],
            StatusCode::BAD_REQUEST,
            "name",
        ),
        (
            [
                ("email", "ADA@firm.example"),
                ("name", "Twin"),
                ("role", "sales"),
                ("password", ""),
            ],
            StatusCode::CONFLICT,
            "already exists",
        ),
    ] {
        let response = post(&admin, &app, "/users/new", "/users", &fields).await;
        assert_eq!(response.status(), status, "{fields:?}");
        let page = response.text().await.expect("body");
        assert!(page.contains(named), "{fields:?}: {page}");
        assert!(
            page.contains(&format!("value=\"{}\"", fields[0].1)),
            "email kept"
        );
    }
    assert_eq!(app.engine.list_users().await.unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_role_ends_the_users_sessions_and_takes_effect() {
    let app = TestApp::start().await;
    app.user(ADMIN, Role::Admin).await;
    let sam_id = app.user("sam@firm.example", Role::Sales).await;
    let admin = app.login(ADMIN).await;
    let sam = app.login("sam@firm.example").await;
    assert_eq!(get(&sam, &app, "/").await.0, StatusCode::OK);

    let edit_path = format!("/users/{sam_id}/edit");
    let (status, page) = get(&admin, &app, &edit_path).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("value=\"sales\" selected"), "{page}");
    assert!(page.contains("name=\"active\" value=\"1\" checked"));

    let saved = post(
        &admin,
        &app,
        &edit_path,
        &edit_path,
        &edit_fields("Sam Admin", "admin", true, "Asia/Tokyo"),
    )
    .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let user = app.engine.user(sam_id).await.unwrap();
    assert_eq!(
        (user.role, user.name.as_str(), user.time_zone.as_deref()),
        (Role::Admin, "Sam Admin", Some("Asia/Tokyo"))
    );
    // The old session is gone: the next request goes to the login page.
    let after = sam.get(app.url("/")).send().await.unwrap();
    assert_eq!(after.status(), StatusCode::SEE_OTHER);
    assert!(location(&after).starts_with("/login"));
    // Logged in again, Sam is an admin who sees times in Tokyo.
    let sam = app.login("sam@firm.example").await;
    let (status, page) = get(&sam, &app, "/users").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Times in Asia/Tokyo"));

    let bad_zone = post(
        &admin,
        &app,
        &edit_path,
        &edit_path,
        &edit_fields("Sam Admin", "admin", true, "Mars/Olympus"),
    )
    .await;
    assert_eq!(bad_zone.status(), StatusCode::BAD_REQUEST);
    let page = bad_zone.text().await.unwrap();
    assert!(
        page.contains("time_zone") && page.contains("Mars/Olympus"),
        "{page}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_admin_sets_when_a_user_gets_the_morning_digest() {
    use tickler_core::digest::{DigestFrequency, format_time};
    let app = TestApp::start().await;
    app.user(ADMIN, Role::Admin).await;
    let sam_id = app.user("sam@firm.example", Role::Sales).await;
    let admin = app.login(ADMIN).await;
    let edit_path = format!("/users/{sam_id}/edit");
    let (_, page) = get(&admin, &app, &edit_path).await;
    assert!(page.contains("Their morning digest"), "{page}");
    assert!(
        page.contains("value=\"off\" selected"),
        "the tests' users start with it off"
    );

    let mut fields = edit_fields("Sam", "sales", true, "Asia/Tokyo");
    fields.extend([("digest", "weekdays"), ("digest_time", "07:30")]);
    let saved = post(&admin, &app, &edit_path, &edit_path, &fields).await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let sam = app.engine.user(sam_id).await.unwrap();
    assert_eq!(sam.digest, DigestFrequency::Weekdays);
    assert_eq!(format_time(sam.digest_time), "07:30");
    let (_, page) = get(&admin, &app, &edit_path).await;
    assert!(page.contains("value=\"weekdays\" selected") && page.contains("value=\"07:30\""));

    for (field, value) in [("digest", "hourly"), ("digest_time", "25:00")] {
        let mut fields = edit_fields("Sam Renamed", "sales", true, "Asia/Tokyo");
        fields.push((field, value));
        let refused = post(&admin, &app, &edit_path, &edit_path, &fields).await;
        assert_eq!(refused.status(), StatusCode::BAD_REQUEST, "{field}={value}");
        let page = refused.text().await.unwrap();
        assert!(page.contains(value), "the refusal names {value}: {page}");
        assert!(
            page.contains(&format!("href=\"#{field}\"")),
            "links to {field}: {page}"
        );
        let sam = app.engine.user(sam_id).await.unwrap();
        assert_eq!(
            (sam.name.as_str(), sam.digest),
            ("Sam", DigestFrequency::Weekdays)
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deactivated_user_is_logged_out_and_cannot_log_in() {
    let app = TestApp::start().await;
    app.user(ADMIN, Role::Admin).await;
    let vic_id = app.user("vic@firm.example", Role::Viewer).await;
    let admin = app.login(ADMIN).await;
    let vic = app.login("vic@firm.example").await;
    let edit_path = format!("/users/{vic_id}/edit");
    let saved = post(
        &admin,
        &app,
        &edit_path,
        &edit_path,
        &edit_fields("vic", "viewer", false, ""),
    )
    .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let (_, list) = get(&admin, &app, "/users").await;
    assert!(list.contains("deactivated"), "{list}");
    let after = vic.get(app.url("/")).send().await.unwrap();
    assert_eq!(after.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        try_login(&app, "vic@firm.example", PASSWORD).await,
        StatusCode::UNAUTHORIZED
    );
    // Reactivated, the same password works again.
    let back = post(
        &admin,
        &app,
        &edit_path,
        &edit_path,
        &edit_fields("vic", "viewer", true, ""),
    )
    .await;
    assert_eq!(back.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        try_login(&app, "vic@firm.example", PASSWORD).await,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_last_active_admin_cannot_demote_or_deactivate_themselves() {
    let app = TestApp::start().await;
    let ada_id = app.user(ADMIN, Role::Admin).await;
    let admin = app.login(ADMIN).await;
    let edit_path = format!("/users/{ada_id}/edit");
    for fields in [
        edit_fields("ada", "sales", true, ""),
        edit_fields("ada", "admin", false, ""),
    ] {
        let refused = post(&admin, &app, &edit_path, &edit_path, &fields).await;
        assert_eq!(refused.status(), StatusCode::CONFLICT, "{fields:?}");
        let page = refused.text().await.unwrap();
        assert!(page.contains("last active admin"), "{page}");
    }
    let ada = app.engine.user(ada_id).await.unwrap();
    assert!(ada.active && ada.role == Role::Admin);
    assert_eq!(
        get(&admin, &app, "/users").await.0,
        StatusCode::OK,
        "still logged in"
    );

    // With a second admin, stepping down is allowed.
    app.user("bea@firm.example", Role::Admin).await;
    let stepped_down = post(
        &admin,
        &app,
        &edit_path,
        &edit_path,
        &edit_fields("ada", "sales", true, ""),
    )
    .await;
    assert_eq!(stepped_down.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.engine.user(ada_id).await.unwrap().role, Role::Sales);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_admin_sets_a_new_password_that_ends_the_old_sessions() {
    let app = TestApp::start().await;
    app.user(ADMIN, Role::Admin).await;
    let sam_id = app.user("sam@firm.example", Role::Sales).await;
    let admin = app.login(ADMIN).await;
    let sam = app.login("sam@firm.example").await;
    let edit_path = format!("/users/{sam_id}/edit");
    let password_path = format!("/users/{sam_id}/password");
    let new_password = "a different long password";

    let differ = post(
        &admin,
        &app,
        &edit_path,
        &password_path,
        &[
            ("password", new_password),
            ("password_again", "something else!"),
        ],
    )
    .await;
    assert_eq!(differ.status(), StatusCode::BAD_REQUEST);
    assert!(differ.text().await.unwrap().contains("differ"));
    let short = post(
        &admin,
        &app,
        &edit_path,
        &password_path,
        &[("password", "short"), ("password_again", "short")],
    )
    .await;
    assert_eq!(short.status(), StatusCode::BAD_REQUEST);
    assert!(
        short
            .text()
            .await
            .unwrap()
            .contains("must have at least 10")
    );
    assert_eq!(
        get(&sam, &app, "/").await.0,
        StatusCode::OK,
        "nothing changed yet"
    );

    let set = post(
        &admin,
        &app,
        &edit_path,
        &password_path,
        &[("password", new_password), ("password_again", new_password)],
    )
    .await;
    assert_eq!(set.status(), StatusCode::SEE_OTHER);
    assert!(location(&set).starts_with(&edit_path));
    let (_, page) = get(&admin, &app, &location(&set)).await;
    assert!(
        page.contains("New password set for sam@firm.example"),
        "{page}"
    );
    assert_eq!(
        sam.get(app.url("/")).send().await.unwrap().status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        try_login(&app, "sam@firm.example", PASSWORD).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        try_login(&app, "sam@firm.example", new_password).await,
        StatusCode::SEE_OTHER
    );
    // A user who does not exist.
    let (status, _) = get(&admin, &app, "/users/9999/edit").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread")]
async fn sales_and_viewers_get_403_on_every_users_page_and_action() {
    let app = TestApp::start().await;
    let ada_id = app.user(ADMIN, Role::Admin).await;
    app.user("sam@firm.example", Role::Sales).await;
    let vic_id = app.user("vic@firm.example", Role::Viewer).await;
    let before = app.engine.list_users().await.unwrap();
    for email in ["sam@firm.example", "vic@firm.example"] {
        let browser = app.login(email).await;
        for path in [
            "/users".to_string(),
            "/users/new".to_string(),
            format!("/users/{ada_id}/edit"),
        ] {
            let (status, page) = get(&browser, &app, &path).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{email} GET {path}");
            assert!(!page.contains(ADMIN), "{email} GET {path} leaks users");
        }
        let attempts: Vec<(String, Vec<(&str, &str)>)> = vec![
            (
                "/users".to_string(),
                vec![
                    ("email", "mallory@evil.example"),
                    ("name", "Mallory"),
                    ("role", "admin"),
                    ("password", PASSWORD),
                ],
            ),
            (
                format!("/users/{ada_id}/edit"),
                vec![("name", "ada"), ("role", "viewer"), ("time_zone", "")],
            ),
            (
                format!("/users/{vic_id}/edit"),
                vec![
                    ("name", "vic"),
                    ("role", "admin"),
                    ("active", "1"),
                    ("time_zone", ""),
                ],
            ),
            (
                format!("/users/{ada_id}/password"),
                vec![
                    ("password", "taken over password"),
                    ("password_again", "taken over password"),
                ],
            ),
        ];
        for (path, fields) in &attempts {
            let response = post(&browser, &app, "/", path, fields).await;
            assert_eq!(
                response.status(),
                StatusCode::FORBIDDEN,
                "{email} POST {path}"
            );
        }
    }
    let after = app.engine.list_users().await.unwrap();
    assert_eq!(
        format!("{before:?}"),
        format!("{after:?}"),
        "a refused request changed users"
    );
    assert_eq!(
        try_login(&app, ADMIN, PASSWORD).await,
        StatusCode::SEE_OTHER
    );
}
